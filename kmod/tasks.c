// SPDX-License-Identifier: GPL-2.0
/*
 * tasks.c - every task that shares an attached mm is part of the
 * attachment.
 *
 * A clone(CLONE_VM) child without CLONE_THREAD, or a vfork child before it
 * execs, runs in the attached mm with the attachment's ppage: it can call
 * the library and hold a slot, a reader epoch and a store lock, but it is
 * a thread group of its own. Killed there, it dies alone: its mm (and so
 * the attachment) lives on in its relatives and its death is never marked,
 * so nothing it held is ever recovered. Refusing such tasks is not an
 * option: glibc's posix_spawn() and system() use CLONE_VM | CLONE_VFORK.
 * So they are members (stop.c), and:
 *
 *   - a member that exits with its user ip in the image, or with PKRU
 *     opening a store key of its mm, died inside the library: every
 *     member outside its thread group is sent SIGKILL at once (inside one
 *     thread group a fatal signal already kills every thread). stop.c
 *     marks the death once none of them can run user code again, so the
 *     survivors recover the slots, epoch and locks within a period;
 *   - such a member leaves no register state behind: its saved user
 *     registers are cleared before PF_EXITING shows (the /proc stat
 *     fields kstkeip/kstkesp read them from then on), its ip set to the
 *     image's first byte so that every "inside" test (defer.c's tracer
 *     refusals, introspect.c) still holds for it;
 *   - a task that joins a watched mm from outside its parent's thread
 *     group makes stop.c walk every task of the system until a walk finds
 *     none (plmc_stop_foreign()).
 *
 * tasks_guard=0 (module parameter) turns the first and the last off
 * (the attack suite shows with it what they close).
 *
 * Context of the probes: do_exit() runs in the dying task, process
 * context with preemption enabled, but a kprobe handler runs with
 * preemption off: only RCU and the signal code here.
 */
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <asm/ptrace.h>
#include <asm/special_insns.h>
#include "plmc_kmod.h"

bool plmc_tasks_guard = true;
module_param_named(tasks_guard, plmc_tasks_guard, bool, 0644);
MODULE_PARM_DESC(tasks_guard,
		 "every task of an attached mm is part of the attachment (0: only the attaching process; reopens holes)");

/* Kill every member of @mm outside current's thread group. RCU. */
static void plmc_tasks_kill_relatives(struct mm_struct *mm)
{
	struct task_struct *p, *t;

	rcu_read_lock();
	for_each_process_thread(p, t)
		if (!(t->flags & (PF_KTHREAD | PF_IO_WORKER)) &&
		    READ_ONCE(t->mm) == mm && !same_thread_group(t, current))
			send_sig(SIGKILL, t, 1);
	rcu_read_unlock();
}

/* The dying task's user registers say nothing any more. */
static void plmc_tasks_scrub(struct pt_regs *u)
{
	unsigned long cs = u->cs, ss = u->ss, flags = u->flags;

	memset(u, 0, sizeof(*u));
	u->cs = cs;
	u->ss = ss;
	u->flags = flags;
	u->orig_ax = -1;
	u->ip = PLMC_BASE; /* still inside for every check */
}

/* do_exit(code), in the dying task: did it die inside the library? */
static int plmc_pre_do_exit(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;
	u32 mask;

	if (!mm || (current->flags & (PF_KTHREAD | PF_IO_WORKER)))
		return 0;
	mask = plmc_guard_mask(mm);
	if (!mask)
		return 0;
	if (!plmc_task_inside(current) && (rdpkru() & mask) == mask)
		return 0;
	plmc_tasks_scrub(task_pt_regs(current));
	if (!READ_ONCE(plmc_tasks_guard))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d died inside the library: its mm's other processes killed\n",
			    task_pid_nr(current));
	plmc_tasks_kill_relatives(mm);
	return 0;
}

/* wake_up_new_task(p), in the parent: a new member of a watched mm? */
static int plmc_pre_new_member(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;

	if (thread_group_leader(t) && t->mm && plmc_guard_mask(t->mm))
		plmc_stop_foreign();
	return 0;
}

static struct kprobe plmc_kp_do_exit = {
	.symbol_name = "do_exit",
	.pre_handler = plmc_pre_do_exit,
};

static struct kprobe plmc_kp_new_member = {
	.symbol_name = "wake_up_new_task",
	.pre_handler = plmc_pre_new_member,
};

static struct kprobe *plmc_tasks_kprobes[] = {
	&plmc_kp_do_exit,
	&plmc_kp_new_member,
};

int plmc_tasks_init(void)
{
	int rc = register_kprobes(plmc_tasks_kprobes,
				  ARRAY_SIZE(plmc_tasks_kprobes));

	if (rc)
		pr_err(PLMC_DRV ": kprobes do_exit/wake_up_new_task: %d\n", rc);
	return rc;
}

void plmc_tasks_exit(void)
{
	unregister_kprobes(plmc_tasks_kprobes, ARRAY_SIZE(plmc_tasks_kprobes));
}
