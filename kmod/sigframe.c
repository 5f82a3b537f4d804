// SPDX-License-Identifier: GPL-2.0
/*
 * sigframe.c - signal frames built while the store is open, and the
 * sigreturn check.
 *
 *   signals  a signal frame built while the store is open (a thread in
 *            the library) records the interrupted registers, and the
 *            handler then runs with the store closed (x86 keeps PKRU
 *            across delivery: it would run with the store open). A
 *            second line: defer.c refuses such frames and kills first.
 *   failed   a frame that fails half way closes the store keys (6.12
 *            opened them all to write it; see plmc_pre_setup_done()).
 *   sigreturn a sigreturn that leaves PKRU with the store key readable is
 *            SIGKILLed unless it resumes exactly the registers recorded
 *            for a frame, flags included (kretprobes on
 *            copy_fpstate_to_sigframe and fpu__restore_sig).
 *
 * Locking: plmc_frame_lock (spinlock, irqsave: the probes run in any
 * context) guards the records; it is innermost. A record holds its mm for
 * identity only: plmc_frames_forget() clears a mm's records before the
 * attachment drops its reference to that mm (attach.c).
 */
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <asm/special_insns.h>
#include "plmc_kmod.h"
#include "compat.h"

static DEFINE_SPINLOCK(plmc_frame_lock);

/* Register state saved when a frame was built with the store open. At
 * most PLMC_FRAMES_PER_MM per process, so one cannot fill the table
 * (with frames it never returns from) for everyone. */
#define PLMC_FRAMES 64
#define PLMC_FRAMES_PER_MM 8
struct plmc_frame {
	struct task_struct *task; /* identity only; NULL: free */
	struct mm_struct *mm;
	struct pt_regs regs;
};
static struct plmc_frame plmc_frames[PLMC_FRAMES];

/* Drop every record of @mm. Any context. */
void plmc_frames_forget(struct mm_struct *mm)
{
	unsigned long flags;
	int i;

	spin_lock_irqsave(&plmc_frame_lock, flags);
	for (i = 0; i < PLMC_FRAMES; i++)
		if (plmc_frames[i].mm == mm) {
			plmc_frames[i].task = NULL;
			plmc_frames[i].mm = NULL;
		}
	spin_unlock_irqrestore(&plmc_frame_lock, flags);
}

/* A store is readable when its key's access-disable bit is clear. */
static bool plmc_pkru_opens(u32 pkru, u32 mask)
{
	return (pkru & mask) != mask;
}

/*
 * Flags a sigreturn restores that steer the library: the arithmetic ones
 * (an edited ZF or CF after a compare turns a bounds check around), DF
 * (string direction), TF (single-step: a register trace) and AC.
 */
#define PLMC_FLAGS_SAME                                                       \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF |       \
	 X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF |       \
	 X86_EFLAGS_AC)

/* The state a sigreturn will resume: every GPR, ip, sp and the flags. */
static bool plmc_regs_same(const struct pt_regs *a, const struct pt_regs *b)
{
	return !((a->flags ^ b->flags) & PLMC_FLAGS_SAME) &&
	       a->ip == b->ip && a->sp == b->sp && a->ax == b->ax &&
	       a->bx == b->bx && a->cx == b->cx && a->dx == b->dx &&
	       a->si == b->si && a->di == b->di && a->bp == b->bp &&
	       a->r8 == b->r8 && a->r9 == b->r9 && a->r10 == b->r10 &&
	       a->r11 == b->r11 && a->r12 == b->r12 && a->r13 == b->r13 &&
	       a->r14 == b->r14 && a->r15 == b->r15;
}

/*
 * copy_fpstate_to_sigframe(): a signal frame is being built. With the
 * store open (a thread inside the library), remember the interrupted
 * registers for the sigreturn check, and have the return handler close
 * the store: x86 keeps PKRU across signal delivery, so the client's
 * handler would otherwise run with the store open.
 */
static int plmc_enter_sigframe(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;
	u32 mask = plmc_guard_mask(mm);
	unsigned long flags;
	int i, mine = 0;

	*(u32 *)ri->data = 0;
	if (!mask || !plmc_pkru_opens(plmc_sigframe_user_pkru(regs), mask))
		return 0;
	*(u32 *)ri->data = mask;
	spin_lock_irqsave(&plmc_frame_lock, flags);
	for (i = 0; i < PLMC_FRAMES; i++)
		mine += plmc_frames[i].mm == mm;
	for (i = 0; i < PLMC_FRAMES && mine < PLMC_FRAMES_PER_MM; i++)
		if (!plmc_frames[i].task) {
			plmc_frames[i].task = current;
			plmc_frames[i].mm = mm;
			plmc_frames[i].regs = *current_pt_regs();
			break;
		}
	spin_unlock_irqrestore(&plmc_frame_lock, flags);
	/* Table or share full: that sigreturn will be killed (fail closed). */
	return 0;
}

/* The frame holds the trusted PKRU; the handler gets the store closed. */
static int plmc_ret_sigframe(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	u32 mask = *(u32 *)ri->data;

	if (mask) /* access- and write-disable for every store key */
		wrpkru(rdpkru() | mask | (mask << 1));
	return 0;
}

/* Consume the record this sigreturn resumes. Return: found. */
static bool plmc_frame_take(void)
{
	const struct pt_regs *now = current_pt_regs();
	unsigned long flags;
	bool found = false;
	int i;

	spin_lock_irqsave(&plmc_frame_lock, flags);
	for (i = 0; i < PLMC_FRAMES && !found; i++) {
		if (plmc_frames[i].task != current ||
		    plmc_frames[i].mm != current->mm ||
		    !plmc_regs_same(&plmc_frames[i].regs, now))
			continue;
		plmc_frames[i].task = NULL;
		plmc_frames[i].mm = NULL;
		found = true;
	}
	spin_unlock_irqrestore(&plmc_frame_lock, flags);
	return found;
}

/*
 * fpu__restore_sig() returned: registers and PKRU are what user gets.
 *
 * RFLAGS.RF comes from the frame too, and it suppresses instruction
 * breakpoints for the instruction execution resumes at: a forged frame
 * with RF set once resumed onto a WRPKRU watched by a hardware breakpoint
 * and ran it unseen. The sites are int3s now (int3.c), which RF does not
 * skip; RF is still cleared for a guarded process (no debugger there
 * wants it), so the gate-exit breakpoint of defer.c cannot be skipped
 * either.
 */
static int plmc_ret_restore_sig(struct kretprobe_instance *ri,
				struct pt_regs *regs)
{
	u32 mask = plmc_guard_mask(current->mm);

	if (mask)
		current_pt_regs()->flags &= ~X86_EFLAGS_RF;
	if (!mask || !plmc_pkru_opens(rdpkru(), mask) || plmc_frame_take())
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: forged sigreturn killed\n",
			    task_tgid_nr(current));
	force_sig(SIGKILL);
	return 0;
}

/*
 * A frame that fails half way. 6.12's get_sigframe() opens every key
 * (PKRU 0) to write the XSAVE area; when a later part of the frame then
 * faults, the kernel forces SIGSEGV with PKRU still 0, and nothing closes
 * it: a tracer that cancels the SIGSEGV, or a SIGSEGV handler on another
 * stack (its frame records PKRU 0, its sigreturn restores it and matches
 * the record) returns to user code with the store open. So a failed frame
 * setup in a guarded process closes every store key of the mm before
 * anything else happens (signal_setup_done(failed, ...), the one place
 * every frame setup of every kernel reports to). Inside the library that
 * is fail-closed: the library faults on the store and dies there.
 *
 * sigfail_close=0 (module parameter) turns it off (the attack suite shows
 * with it what this closes).
 */
static bool plmc_sigfail_close = true;
module_param_named(sigfail_close, plmc_sigfail_close, bool, 0644);
MODULE_PARM_DESC(sigfail_close,
		 "a failed signal frame closes the store keys (0: reopens a hole on 6.12)");

static int plmc_pre_setup_done(struct kprobe *p, struct pt_regs *regs)
{
	u32 mask;

	if (!regs->di || !READ_ONCE(plmc_sigfail_close))
		return 0; /* the frame was built */
	mask = plmc_guard_mask(current->mm);
	if (mask && cpu_feature_enabled(X86_FEATURE_OSPKE))
		wrpkru(rdpkru() | mask | (mask << 1));
	return 0;
}

static struct kprobe plmc_kp_setup_done = {
	.symbol_name = "signal_setup_done",
	.pre_handler = plmc_pre_setup_done,
};

static struct kretprobe plmc_krp_restore = {
	.kp.symbol_name = "fpu__restore_sig",
	.handler = plmc_ret_restore_sig,
	.maxactive = 64,
};

static struct kretprobe plmc_krp_sigframe = {
	.kp.symbol_name = "copy_fpstate_to_sigframe",
	.entry_handler = plmc_enter_sigframe,
	.handler = plmc_ret_sigframe,
	.data_size = sizeof(u32),
	.maxactive = 64,
};

static struct kretprobe *plmc_kretprobes[] = {
	&plmc_krp_restore,
	&plmc_krp_sigframe,
};

/* Context: module init. Return: 0 or the registration error. */
int plmc_sigframe_init(void)
{
	int rc;

	rc = register_kretprobes(plmc_kretprobes, ARRAY_SIZE(plmc_kretprobes));
	if (rc) {
		pr_err(PLMC_DRV ": kretprobes: %d\n", rc);
		return rc;
	}
	rc = register_kprobe(&plmc_kp_setup_done);
	if (rc) {
		pr_err(PLMC_DRV ": kprobe signal_setup_done: %d\n", rc);
		unregister_kretprobes(plmc_kretprobes,
				      ARRAY_SIZE(plmc_kretprobes));
	}
	return rc;
}

void plmc_sigframe_exit(void)
{
	unregister_kprobe(&plmc_kp_setup_done);
	unregister_kretprobes(plmc_kretprobes, ARRAY_SIZE(plmc_kretprobes));
}
