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
 * Locking: plmc_defer_lock (spinlock, irqsave) guards plmc_defers; it is
 * innermost. A record lives from the block to the disarm work; one left
 * by a thread killed while holding (its breakpoint never hit) stays until
 * module unload: freeing it earlier could race with its queued work.
 */
#include <linux/hw_breakpoint.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <asm/special_insns.h>
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
	sigset_t hold;
	u32 mask;

	if (current->flags & (PF_KTHREAD | PF_IO_WORKER))
		return 0; /* never runs client code */
	mask = plmc_guard_mask(current->mm);
	if (!mask || (rdpkru() & mask) == mask)
		return 0; /* not guarded, or the store is closed */
	if (current->pending.signal.sig[0] & PLMC_SYNC_SIGS)
		return 0; /* a fault of its own: let it kill */
	addr = plmc_guard_exit_addr(current->mm);
	if (!addr)
		return 0;
	spin_lock_irqsave(&plmc_defer_lock, flags);
	d = plmc_defer_find(current);
	spin_unlock_irqrestore(&plmc_defer_lock, flags);
	if (d)
		return 0; /* already holding */
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
	siginitsetinv(&hold, sigmask(SIGKILL) | sigmask(SIGSTOP) |
			     PLMC_SYNC_SIGS);
	sigprocmask(SIG_BLOCK, &hold, &d->saved);
	return 0;
}

static struct kprobe plmc_kp_get_signal = {
	.symbol_name = "get_signal",
	.pre_handler = plmc_pre_get_signal,
};

int plmc_defer_init(void)
{
	int rc = register_kprobe(&plmc_kp_get_signal);

	if (rc)
		pr_err(PLMC_DRV ": kprobe get_signal: %d\n", rc);
	return rc;
}

/*
 * Module exit: no attachment is left, so every queued work has run; what
 * remains was left by threads killed while holding signals.
 */
void plmc_defer_exit(void)
{
	struct plmc_defer *d, *tmp;

	unregister_kprobe(&plmc_kp_get_signal);
	list_for_each_entry_safe(d, tmp, &plmc_defers, node) {
		list_del(&d->node);
		if (d->bp)
			unregister_hw_breakpoint(d->bp);
		kfree(d);
	}
}
