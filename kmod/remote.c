// SPDX-License-Identifier: GPL-2.0
/*
 * remote.c - writes into a guarded mm from outside it.
 *
 *   poke     writes through __access_remote_vm (/proc/pid/mem, ptrace
 *            POKE*, both FOLL_FORCE: they can write read-only text) are
 *            refused: 0 bytes, the caller sees EIO.
 */
#include <linux/kprobes.h>
#include <linux/mm.h>
#include "plmc_kmod.h"

/* __access_remote_vm(mm, addr, buf, len, gup_flags) */
static int plmc_pre_access_remote(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;

	if (!(regs->r8 & FOLL_WRITE) || !plmc_guard_mask(mm) ||
	    plmc_int3_patching())
		return 0; /* int3.c's own int3s go in this way */
	return plmc_refuse(regs, plmc_ret_zero);
}

static struct kprobe plmc_kp_remote = {
	.symbol_name = "__access_remote_vm",
	.pre_handler = plmc_pre_access_remote,
};

/* Context: module init. Return: 0 or the registration error. */
int plmc_remote_init(void)
{
	int rc;

	rc = register_kprobe(&plmc_kp_remote);
	if (rc)
		pr_err(PLMC_DRV ": kprobe (remote writes): %d\n", rc);
	return rc;
}

void plmc_remote_exit(void)
{
	unregister_kprobe(&plmc_kp_remote);
}
