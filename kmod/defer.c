// SPDX-License-Identifier: GPL-2.0
/*
 * defer.c - hold signals that arrive while a thread is inside the library.
 *
 * A signal delivered while the store is open (the thread is between the
 * gate's WRPKRUs) would build its frame on the protected slot stack and
 * run the handler there. Instead, at get_signal() with PKRU opening the
 * store, the thread's asynchronous signals are blocked (all but KILL,
 * STOP and the synchronous faults, which must still kill) and a task_work
 * arms a hardware execute breakpoint just after the gate's exit WRPKRU
 * (image site 1 + 3). When the thread gets there, PKRU is closed and rsp
 * is the client's again: the handler restores the old mask and the held
 * signals are delivered right there, on the client's stack. Another
 * task_work removes the breakpoint.
 *
 * Single-step: a client that sets EFLAGS.TF (popf, or a tracer's
 * PTRACE_SINGLESTEP) before calling the gate gets a SIGTRAP after every
 * instruction inside, each with the library's registers in its frame (or
 * in the tracer's GETREGS). The first such trap inside clears TF in the
 * thread's user registers and is held like an asynchronous signal: the
 * client sees one SIGTRAP, after the gate's exit.
 *
 * No frame from inside: what is not held (a fault of the library's own,
 * on a bad client buffer; a fault signal sent by the client to itself; a
 * signal that could not be held) would get a frame written while the
 * store is open, holding the library's registers at that instruction, and
 * a handler that could read them, edit them, return into the library or
 * siglongjmp out and leave the call (its slot, its reader epoch) hanging.
 * So copy_fpstate_to_sigframe(), the first write of every x86 frame, is
 * refused while the store is open and the process is killed: no byte of
 * the frame is written, no handler runs. A fault inside the library
 * kills its caller, as the API says.
 *
 * Tracers: a tracee can be stopped inside the library (SIGSTOP cannot be
 * held; PTRACE_TRACEME needs no permission), and its registers there
 * hold the library's data. Requests that read a guarded tracee's
 * registers are refused (EPERM) while its ip is in the image.
 *
 * Locking: plmc_defer_lock (spinlock, irqsave) guards plmc_defers; it is
 * innermost. A record lives from the block to the disarm work; one left
 * by a thread killed while holding (its breakpoint never hit) stays until
 * module unload: freeing it earlier could race with its queued work.
 */
#include <linux/hw_breakpoint.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <asm/special_insns.h>
#include "compat.h"
#include "plmc_kmod.h"

struct plmc_defer {
	struct list_head node;
	struct task_struct *task; /* identity only */
	struct mm_struct *mm;	  /* identity only */
	unsigned long addr;	  /* user address: after the exit WRPKRU */
	sigset_t saved;		  /* the mask to give back */
	struct perf_event *bp;	  /* set by the arm work */
	struct callback_head arm, disarm;
	bool released;		  /* mask given back */
};

static DEFINE_SPINLOCK(plmc_defer_lock);
static LIST_HEAD(plmc_defers);

/* Faults raised by the thread itself: never held (they would recur). */
#define PLMC_SYNC_SIGS                                                        \
	(sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) |                \
	 sigmask(SIGFPE) | sigmask(SIGTRAP) | sigmask(SIGSYS))

static struct plmc_defer *plmc_defer_find(struct task_struct *t)
{
	struct plmc_defer *d;

	lockdep_assert_held(&plmc_defer_lock);
	list_for_each_entry(d, &plmc_defers, node)
		if (d->task == t)
			return d;
	return NULL;
}

static void plmc_defer_unlink(struct plmc_defer *d)
{
	unsigned long flags;

	spin_lock_irqsave(&plmc_defer_lock, flags);
	list_del_init(&d->node);
	spin_unlock_irqrestore(&plmc_defer_lock, flags);
}

/* Give the thread its mask back: the held signals become deliverable. */
static void plmc_defer_release(struct plmc_defer *d)
{
	if (d->released)
		return;
	d->released = true;
	sigprocmask(SIG_SETMASK, &d->saved, NULL);
}

/* Task work: the breakpoint has done its job. */
static void plmc_defer_disarm_fn(struct callback_head *cb)
{
	struct plmc_defer *d = container_of(cb, struct plmc_defer, disarm);

	plmc_defer_unlink(d);
	if (d->bp)
		unregister_hw_breakpoint(d->bp);
	kfree(d);
}

/* #DB at the exit: PKRU is closed, rsp is the client's. */
static void plmc_defer_hit(struct perf_event *bp, struct perf_sample_data *sd,
			   struct pt_regs *regs)
{
	struct plmc_defer *d;
	unsigned long flags;

	spin_lock_irqsave(&plmc_defer_lock, flags);
	d = plmc_defer_find(current);
	spin_unlock_irqrestore(&plmc_defer_lock, flags);
	if (!d || d->released || d->bp != bp)
		return;
	plmc_defer_release(d);
	init_task_work(&d->disarm, plmc_defer_disarm_fn);
	if (task_work_add(current, &d->disarm, TWA_RESUME))
		return; /* exiting: plmc_defer_drop_mm() frees it */
}

/* Task work, before the thread returns to the library: arm the exit. */
static void plmc_defer_arm_fn(struct callback_head *cb)
{
	struct plmc_defer *d = container_of(cb, struct plmc_defer, arm);
	struct perf_event_attr attr;
	struct perf_event *bp;

	hw_breakpoint_init(&attr);
	attr.bp_addr = d->addr;
	attr.bp_len = sizeof(long);
	attr.bp_type = HW_BREAKPOINT_X;
	bp = register_user_hw_breakpoint(&attr, plmc_defer_hit, NULL, current);
	if (IS_ERR(bp)) {
		/* No breakpoint: deliver now (on the protected stack). */
		plmc_defer_release(d);
		plmc_defer_unlink(d);
		kfree(d);
		return;
	}
	WRITE_ONCE(d->bp, bp);
}

/* get_signal(ksig): about to deliver. Inside the library? Hold it. */
static int plmc_pre_get_signal(struct kprobe *p, struct pt_regs *regs)
{
	struct plmc_defer *d;
	unsigned long flags, addr;
	struct pt_regs *uregs = current_pt_regs();
	sigset_t hold;
	unsigned long sync, keep;
	u32 mask;

	if (current->flags & (PF_KTHREAD | PF_IO_WORKER))
		return 0; /* never runs client code */
	mask = plmc_guard_mask(current->mm);
	if (!mask || (rdpkru() & mask) == mask)
		return 0; /* not guarded, or the store is closed */
	keep = PLMC_SYNC_SIGS;
	sync = current->pending.signal.sig[0] & PLMC_SYNC_SIGS;
	if (sync == sigmask(SIGTRAP) && (uregs->flags & X86_EFLAGS_TF)) {
		/* A single-step trap (no other fault pending): stop the
		 * stepping, hold the trap; it cannot recur without TF. */
		uregs->flags &= ~X86_EFLAGS_TF;
		keep &= ~sigmask(SIGTRAP);
		sync = 0;
	}
	if (sync)
		return 0; /* a fault of its own: let it kill */
	addr = plmc_guard_exit_addr(current->mm);
	if (!addr)
		return 0;
	spin_lock_irqsave(&plmc_defer_lock, flags);
	d = plmc_defer_find(current);
	spin_unlock_irqrestore(&plmc_defer_lock, flags);
	if (d) { /* already holding: add the trap to what is held */
		if (!(keep & sigmask(SIGTRAP)) && !d->released) {
			sigemptyset(&hold);
			sigaddset(&hold, SIGTRAP);
			sigprocmask(SIG_BLOCK, &hold, NULL);
		}
		return 0;
	}
	d = kzalloc(sizeof(*d), GFP_ATOMIC);
	if (!d)
		return 0;
	d->task = current;
	d->mm = current->mm;
	d->addr = addr;
	init_task_work(&d->arm, plmc_defer_arm_fn);
	if (task_work_add(current, &d->arm, TWA_RESUME)) {
		kfree(d);
		return 0;
	}
	spin_lock_irqsave(&plmc_defer_lock, flags);
	list_add(&d->node, &plmc_defers);
	spin_unlock_irqrestore(&plmc_defer_lock, flags);
	siginitsetinv(&hold, sigmask(SIGKILL) | sigmask(SIGSTOP) | keep);
	sigprocmask(SIG_BLOCK, &hold, &d->saved);
	return 0;
}

static struct kprobe plmc_kp_get_signal = {
	.symbol_name = "get_signal",
	.pre_handler = plmc_pre_get_signal,
};

/* What a refused copy_fpstate_to_sigframe() returns: failure. */
static noinline bool plmc_defer_no_frame(void)
{
	return false;
}

/*
 * copy_fpstate_to_sigframe(buf, fx, size...): a frame with the store open?
 * The interrupted PKRU is the live register up to 6.11, an argument from
 * 6.12 (compat.h).
 */
/*
 * Does a frame around @buf (the frame proper, below) and @buf_fx (its
 * XSAVE area, @size bytes, above) touch the plmc window? From 6.12 the
 * kernel writes frames with PKRU 0, so a client pointing its stack or its
 * sigaltstack into the store would have the kernel write the frame there:
 * its own registers over the store. The frame below buf_fx is under 4 KiB
 * (siginfo, ucontext, red zone); 8 KiB is counted.
 */
static bool plmc_frame_in_window(struct pt_regs *regs)
{
	unsigned long buf = regs_get_kernel_argument(regs, 0);
	unsigned long fx = regs_get_kernel_argument(regs, 1);
	unsigned long size = regs_get_kernel_argument(regs, 2);
	unsigned long lo = min(buf, fx) - min(min(buf, fx), 8192UL);
	unsigned long hi = max(buf, fx) + (size & 0xffffffffUL);

	return lo < PLMC_BASE + PLMC_SPAN && hi > PLMC_BASE;
}

static int plmc_pre_sigframe(struct kprobe *p, struct pt_regs *regs)
{
	u32 mask = plmc_guard_mask(current->mm);

	if (!mask)
		return 0;
	if (plmc_frame_in_window(regs)) {
		pr_info_ratelimited(PLMC_DRV ": pid %d: signal frame in the plmc window: killed\n",
				    task_tgid_nr(current));
	} else if ((plmc_sigframe_user_pkru(regs) & mask) == mask) {
		return 0;
	} else {
		pr_info_ratelimited(PLMC_DRV ": pid %d: signal frame inside the library: killed\n",
				    task_tgid_nr(current));
	}
	force_sig(SIGKILL);
	regs->ip = (unsigned long)plmc_defer_no_frame;
	return 1; /* ip changed: the function does not run */
}

static struct kprobe plmc_kp_sigframe = {
	.symbol_name = "copy_fpstate_to_sigframe",
	.pre_handler = plmc_pre_sigframe,
};

static noinline long plmc_defer_eperm(void)
{
	return -EPERM;
}

/* Requests that read registers (GPRs, FPU/XSAVE, debug, syscall info). */
static bool plmc_ptrace_reads(long request)
{
	switch (request) {
	case PTRACE_PEEKUSR:
	case PTRACE_GETREGS:
	case PTRACE_GETFPREGS:
	case PTRACE_GETFPXREGS:
	case PTRACE_GETREGSET:
	case PTRACE_GET_SYSCALL_INFO:
		return true;
	default:
		return false;
	}
}

static struct kprobe plmc_kp_ptrace_read32; /* below: tells the ABIs apart */

/* arch_ptrace(child, request, ...), compat_arch_ptrace(): child stopped. */
static int plmc_pre_ptrace_read(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *child = (struct task_struct *)regs->di;
	long request = p == &plmc_kp_ptrace_read32 ? (long)(int)regs->si
						   : (long)regs->si;

	if (!plmc_ptrace_reads(request) ||
	    !plmc_guard_mask(READ_ONCE(child->mm)) ||
	    task_pt_regs(child)->ip - PLMC_BASE >= PLMC_IMAGE_MAX)
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: register read of a tracee inside the library refused\n",
			    task_tgid_nr(current));
	regs->ip = (unsigned long)plmc_defer_eperm;
	return 1;
}

static struct kprobe plmc_kp_ptrace_read64 = {
	.symbol_name = "arch_ptrace",
	.pre_handler = plmc_pre_ptrace_read,
};

static struct kprobe plmc_kp_ptrace_read32 = {
	.symbol_name = "compat_arch_ptrace",
	.pre_handler = plmc_pre_ptrace_read,
};

static struct kprobe *plmc_defer_kprobes[] = {
	&plmc_kp_get_signal,
	&plmc_kp_sigframe,
	&plmc_kp_ptrace_read64,
	&plmc_kp_ptrace_read32,
};

int plmc_defer_init(void)
{
	int rc = register_kprobes(plmc_defer_kprobes,
				  ARRAY_SIZE(plmc_defer_kprobes));

	if (rc)
		pr_err(PLMC_DRV ": kprobes get_signal/sigframe: %d\n", rc);
	return rc;
}

/*
 * Module exit: no attachment is left, so every queued work has run; what
 * remains was left by threads killed while holding signals.
 */
void plmc_defer_exit(void)
{
	struct plmc_defer *d, *tmp;

	unregister_kprobes(plmc_defer_kprobes, ARRAY_SIZE(plmc_defer_kprobes));
	list_for_each_entry_safe(d, tmp, &plmc_defers, node) {
		list_del(&d->node);
		if (d->bp)
			unregister_hw_breakpoint(d->bp);
		kfree(d);
	}
}
