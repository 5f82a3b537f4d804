// SPDX-License-Identifier: GPL-2.0
/*
 * rseq.c - no rseq fix-up moves a thread out of the library.
 *
 * A thread registers a restartable-sequence area (glibc does, for every
 * thread) and names in it a critical section and an abort address. When
 * the thread is preempted, migrated or signalled inside the section, the
 * kernel, on its way back to user mode, sets the thread's ip to the abort
 * address. A client that names the image as its section and its own code
 * as the abort got a thread out of the library mid-call with the store
 * open (PKRU 0), on the slot stack, with the library's registers: full
 * read and write of the store, no WRPKRU, no signal frame.
 *
 * So the fix-up (__rseq_handle_notify_resume, every rseq path) is skipped
 * for a thread of a guarded mm that is inside the library: its user ip is
 * in the plmc window, or its PKRU opens the store. The library uses no
 * rseq of its own, so nothing it runs needs the abort; the cpu and node
 * ids the skipped call would have refreshed are refreshed at the next
 * return to user mode after the gate's exit.
 *
 * Locking: none; the pre-handler reads the mm's guard mask (guard.c's
 * lock) and the thread's own registers. A crash leaves nothing.
 */
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <asm/special_insns.h>
#include "plmc_kmod.h"

/* What a skipped __rseq_handle_notify_resume() does: nothing. */
static noinline void plmc_rseq_skip(void)
{
}

/* __rseq_handle_notify_resume(ksig, regs): regs are the user's. */
static int plmc_pre_rseq(struct kprobe *p, struct pt_regs *regs)
{
	struct pt_regs *uregs = (struct pt_regs *)regs_get_kernel_argument(regs, 1);
	u32 mask = plmc_guard_mask(current->mm);
	unsigned long ip;

	if (!mask || !uregs)
		return 0;
	ip = uregs->ip;
	if ((ip < PLMC_BASE || ip >= PLMC_BASE + PLMC_SPAN) &&
	    (rdpkru() & mask) == mask)
		return 0; /* outside, store closed: the fix-up is the client's */
	regs->ip = (unsigned long)plmc_rseq_skip;
	return 1; /* ip changed: the function does not run */
}

static struct kprobe plmc_kp_rseq = {
	.symbol_name = "__rseq_handle_notify_resume",
	.pre_handler = plmc_pre_rseq,
};

int plmc_rseq_init(void)
{
	int rc = register_kprobe(&plmc_kp_rseq);

	if (rc)
		pr_err(PLMC_DRV ": kprobe __rseq_handle_notify_resume: %d\n", rc);
	return rc;
}

void plmc_rseq_exit(void)
{
	unregister_kprobe(&plmc_kp_rseq);
}
