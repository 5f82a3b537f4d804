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
#include <linux/kref.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <asm/ptrace.h>
#include <asm/special_insns.h>
#include "plmc_kmod.h"

bool plmc_tasks_guard = true;
module_param_named(tasks_guard, plmc_tasks_guard, bool, 0644);
MODULE_PARM_DESC(tasks_guard,
		 "every task of an attached mm is part of the attachment (0: only the attaching process; reopens holes)");

/*
 * Closing the store key in every task of the mm at attach.
 *
 * PKRU is per task: the attaching thread closes the key (libpl does, and
 * so does plmc_tasks_close() for a raw PLMC_IOC_ATTACH), but any other
 * task of the mm keeps what it had, and before attach nothing stopped it
 * from running WRPKRU(0), or from getting PKRU 0 another way. The
 * invariant, from a successful attach on: no task of the mm runs a user
 * instruction, or makes a kernel access to user memory on its behalf,
 * with the store key open outside the gate. So attach, before the store
 * can be mapped:
 *
 *   - closes the key (AD and WD) in the caller, and queues a task_work
 *     doing the same on every other task whose mm is this mm (threads,
 *     CLONE_VM processes, a vfork child), TWA_SIGNAL: a task running in
 *     user mode is kicked into the kernel, an interruptible sleep is
 *     broken; the work runs on the task's way back to user mode (after
 *     whatever its current syscall still writes), or in its exit;
 *   - waits until every such work has run (bounded: PLMC_CLOSE_WAIT; a
 *     task that cannot get there in time, stopped or in an uninterruptible
 *     sleep, fails the attach with -EAGAIN and nothing mapped). Off CPU is
 *     not enough: a task asleep in a syscall may still write the user
 *     memory it was given once it wakes;
 *   - walks again until a walk finds no task it has not closed: a task
 *     cloned before its parent's work ran copied the parent's open PKRU,
 *     and is on the task list before that work runs (the wait orders it);
 *   - refuses (-EBUSY) while the mm has io_uring threads (PF_IO_WORKER:
 *     SQPOLL, io-wq) or other user workers: they act for the process with
 *     a PKRU of their own that cannot be set from outside. Those made after
 *     attach copy the creating task's PKRU, closed.
 *
 * attach_close=0 (module parameter) leaves every task, the caller too, as
 * it is (the attack suite shows with it what this closes).
 */
#define PLMC_CLOSE_WAIT (2 * HZ)
#define PLMC_CLOSE_ROUNDS 16

#ifdef PF_USER_WORKER
#define PLMC_PF_WORKERS (PF_IO_WORKER | PF_USER_WORKER)
#else
#define PLMC_PF_WORKERS PF_IO_WORKER
#endif

bool plmc_attach_close = true;
module_param_named(attach_close, plmc_attach_close, bool, 0644);
MODULE_PARM_DESC(attach_close,
		 "attach closes the store key in every task of the mm (0: in none, the caller included; reopens holes)");

struct plmc_close {
	struct kref ref;
	atomic_t pending;	/* works queued and not yet run */
	wait_queue_head_t wq;
	u32 bits;		/* AD and WD of the store key */
};

struct plmc_close_work {
	struct callback_head cb;
	struct plmc_close *c;
};

static void plmc_close_free(struct kref *ref)
{
	kfree(container_of(ref, struct plmc_close, ref));
}

/* The running task's PKRU is live in the register (x86 switches it
 * eagerly, and the FPU restore on the way out leaves it alone). */
static void plmc_close_current(u32 bits)
{
	if (cpu_feature_enabled(X86_FEATURE_OSPKE))
		wrpkru(rdpkru() | bits);
}

/* In the task, on its way to user mode or in its exit. */
static void plmc_close_fn(struct callback_head *cb)
{
	struct plmc_close_work *w = container_of(cb, struct plmc_close_work,
						 cb);
	struct plmc_close *c = w->c;

	plmc_close_current(c->bits);
	/* Fully ordered: pairs with the waiter's read in plmc_tasks_close();
	 * whatever this task did before (a clone) is seen by its next walk. */
	if (atomic_dec_and_test(&c->pending))
		wake_up(&c->wq);
	kref_put(&c->ref, plmc_close_free);
	kfree(w);
}

struct plmc_close_seen {
	struct task_struct **t;
	unsigned int n, cap;
};

static bool plmc_close_was_seen(const struct plmc_close_seen *s,
				const struct task_struct *t)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (s->t[i] == t)
			return true;
	return false;
}

/*
 * Queue the work on @t (seen, referenced). A task whose works are sealed
 * (-ESRCH) is past its exit's last user access.
 * Return: 0 or -ENOMEM. Context: RCU (atomic).
 */
static int plmc_close_queue(struct plmc_close *c, struct task_struct *t)
{
	struct plmc_close_work *w = kmalloc(sizeof(*w), GFP_ATOMIC);

	if (!w)
		return -ENOMEM;
	init_task_work(&w->cb, plmc_close_fn);
	w->c = c;
	kref_get(&c->ref);
	atomic_inc(&c->pending);
	if (task_work_add(t, &w->cb, TWA_SIGNAL)) {
		atomic_dec(&c->pending);
		kref_put(&c->ref, plmc_close_free);
		kfree(w);
	}
	return 0;
}

/*
 * One walk: queue the work on every task of @mm not seen yet.
 * Return: how many were new, or -EBUSY (an io_uring or user worker),
 * -ENOMEM. Context: may sleep (grows @s outside RCU).
 */
static int plmc_close_walk(struct plmc_close *c, struct mm_struct *mm,
			   struct plmc_close_seen *s)
{
	struct task_struct *p, *t;
	int added = 0, rc = 0;

	/* Pairs with the ordering of plmc_close_fn()'s decrement (and,
	 * for the first walk, with the clone's list insertion): a task made
	 * before that is on the list here. */
	smp_mb();
	rcu_read_lock();
	for_each_process_thread(p, t) {
		if (READ_ONCE(t->mm) != mm || t == current ||
		    (t->flags & PF_KTHREAD) || plmc_close_was_seen(s, t))
			continue;
		if (t->flags & PLMC_PF_WORKERS) {
			rc = -EBUSY;
			break;
		}
		if (s->n == s->cap) {
			rc = -EAGAIN; /* grow and walk again */
			break;
		}
		rc = plmc_close_queue(c, t);
		if (rc)
			break;
		get_task_struct(t);
		s->t[s->n++] = t;
		added++;
	}
	rcu_read_unlock();
	if (rc == -EAGAIN) {
		struct task_struct **n = krealloc_array(s->t, s->cap * 2 + 16,
						       sizeof(*n), GFP_KERNEL);

		if (!n)
			return -ENOMEM;
		s->t = n;
		s->cap = s->cap * 2 + 16;
		return added + 1; /* not done: walk again */
	}
	return rc ? rc : added;
}

/*
 * plmc_tasks_close() - close store key @pkey in every task of current's
 * mm (see above). Context: process context, no locks that a task of the
 * mm could need on its way to user mode.
 * Return: 0, -EBUSY (io_uring or user worker threads), -EAGAIN (a task did
 * not get there in time), -EINTR, -ENOMEM. On failure the tasks reached
 * keep the key closed (it was allocated for the store; nothing of the
 * store is mapped).
 */
int plmc_tasks_close(u32 pkey)
{
	struct plmc_close_seen s = {};
	struct plmc_close *c;
	unsigned int i, round;
	long left;
	int rc;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	kref_init(&c->ref);
	init_waitqueue_head(&c->wq);
	c->bits = 3U << (2 * pkey);
	rc = 0;
	if (!READ_ONCE(plmc_attach_close))
		goto out;
	plmc_close_current(c->bits);
	for (round = 0; round < PLMC_CLOSE_ROUNDS; round++) {
		rc = plmc_close_walk(c, current->mm, &s);
		if (rc <= 0)
			break;
		left = wait_event_interruptible_timeout(
			c->wq, !atomic_read(&c->pending), PLMC_CLOSE_WAIT);
		rc = left < 0 ? -EINTR : left ? 0 : -EAGAIN;
		if (rc)
			break;
	}
	if (round == PLMC_CLOSE_ROUNDS)
		rc = -EAGAIN; /* still cloning: give up */
	if (rc)
		pr_info_ratelimited(PLMC_DRV ": pid %d: attach could not close the store key in every task (%d)\n",
				    task_tgid_nr(current), rc);
out:
	for (i = 0; i < s.n; i++)
		put_task_struct(s.t[i]);
	kfree(s.t);
	kref_put(&c->ref, plmc_close_free);
	return rc;
}

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
