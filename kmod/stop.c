// SPDX-License-Identifier: GPL-2.0
/*
 * stop.c - a client stopped inside the library is killed after a grace.
 *
 * A thread inside a library call holds its slot and its announced reader
 * epoch (and maybe a store lock) until the call returns. Stopped there
 * (SIGSTOP, or the group stop another thread's SIGTSTP starts, neither
 * of which defer.c can hold; a tracer the client chose with
 * PTRACE_TRACEME; a cgroup v2 freezer it owns) it never returns, and no
 * memory retired after its epoch can be reused by anyone. A live process
 * is not a dead one, so the survivors cannot recover it. The policy:
 * a process with a thread that stays stopped inside the library for
 * stop_grace_ms is sent SIGKILL. From there it is an ordinary death
 * (attach.c marks its slots dead, the survivors recover them).
 *
 * "Stopped inside", for one thread of the attached mm:
 *   stopped  task_is_stopped_or_traced() (job control and every ptrace
 *            stop), or frozen by the cgroup v2 freezer (task->frozen).
 *            Not the legacy freezer (TASK_FROZEN): system suspend and
 *            hibernation freeze every client wherever it is.
 *   inside   its user ip (task_pt_regs, saved at kernel entry and stable
 *            while it is stopped) is in the image window, as defer.c's
 *            tracer-read refusal judges it. The library makes no call
 *            out of the image, so a thread holding a slot has its ip
 *            there; one only descheduled, or blocked in a syscall of its
 *            own code, is not stopped or not inside, and is never counted.
 *
 * The check is a delayed work every PLMC_STOP_PERIOD_MS while anything is
 * attached, off every path a client's calls take. A process's stopped
 * time grows by the time since the last check (at most two periods: a
 * suspend, or a late work, does not count as being stopped) while some
 * thread is stopped inside at each check, and falls back to 0 at the first
 * check that finds none. A reading taken while a thread wakes is only one
 * sample: a kill needs every sample over the whole grace.
 *
 * Locking: plmc_stop_lock (mutex) guards plmc_stops and the per
 * attachment counters; it may be taken under mmap_lock (death in
 * vm_close), and nothing but RCU and the signal code (kill_pid) is taken
 * under it. Threads are walked under rcu_read_lock(). The list holds no
 * reference: every way an attachment ends removes it, plmc_att_free()
 * last, so the work never sees a freed one.
 */
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/workqueue.h>
#include <asm/ptrace.h>
#include "plmc_kmod.h"

static unsigned int plmc_stop_grace_ms = 2000;
module_param_named(stop_grace_ms, plmc_stop_grace_ms, uint, 0644);
MODULE_PARM_DESC(stop_grace_ms,
		 "SIGKILL a client with a thread stopped inside the library this long, in ms (0: never)");

#define PLMC_STOP_PERIOD_MS 100

static DEFINE_MUTEX(plmc_stop_lock);
static LIST_HEAD(plmc_stops); /* plmc_att.stop_node */
static unsigned long plmc_stop_last; /* jiffies of the last check */

static void plmc_stop_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(plmc_stop_work, plmc_stop_fn);

static unsigned long plmc_stop_period(void)
{
	return max(msecs_to_jiffies(PLMC_STOP_PERIOD_MS), 1UL);
}

/* Context: RCU read side. */
static bool plmc_stopped_inside(struct task_struct *t, struct mm_struct *mm)
{
	if ((t->flags & (PF_KTHREAD | PF_IO_WORKER)) || READ_ONCE(t->mm) != mm)
		return false; /* no user registers, or not this mm (exiting) */
	if (!task_is_stopped_or_traced(t) && !t->frozen)
		return false;
	return task_pt_regs(t)->ip - PLMC_BASE < PLMC_IMAGE_MAX;
}

/* Does a thread of @att's process sit stopped inside the library? */
static bool plmc_stop_check(struct plmc_att *att)
{
	struct task_struct *p, *t;
	bool found = false;

	rcu_read_lock();
	p = pid_task(att->pid, PIDTYPE_TGID);
	if (p)
		for_each_thread(p, t)
			if (plmc_stopped_inside(t, att->mm)) {
				found = true;
				break;
			}
	rcu_read_unlock();
	return found;
}

/* Context: workqueue. Re-arms itself while any attachment is listed. */
static void plmc_stop_fn(struct work_struct *work)
{
	unsigned int grace = READ_ONCE(plmc_stop_grace_ms);
	unsigned long now = jiffies, step;
	struct plmc_att *att;

	mutex_lock(&plmc_stop_lock);
	step = min(now - plmc_stop_last, 2 * plmc_stop_period());
	plmc_stop_last = now;
	list_for_each_entry(att, &plmc_stops, stop_node) {
		if (att->stop_killed)
			continue;
		if (!grace || !plmc_stop_check(att)) {
			att->stopped_ms = 0;
			continue;
		}
		att->stopped_ms += jiffies_to_msecs(step);
		if (att->stopped_ms < grace)
			continue;
		att->stop_killed = true;
		pr_info_ratelimited(PLMC_DRV ": pid %d: stopped inside the library for %llu ms: killed\n",
				    att->tgid, att->stopped_ms);
		kill_pid(att->pid, SIGKILL, 1);
	}
	if (!list_empty(&plmc_stops))
		schedule_delayed_work(&plmc_stop_work, plmc_stop_period());
	mutex_unlock(&plmc_stop_lock);
}

/* The attachment is complete: watch its process. Context: may sleep. */
void plmc_stop_add(struct plmc_att *att)
{
	mutex_lock(&plmc_stop_lock);
	if (list_empty(&plmc_stops)) {
		plmc_stop_last = jiffies;
		schedule_delayed_work(&plmc_stop_work, plmc_stop_period());
	}
	list_add_tail(&att->stop_node, &plmc_stops);
	mutex_unlock(&plmc_stop_lock);
}

/* Idempotent: every way an attachment ends calls it. May sleep. */
void plmc_stop_del(struct plmc_att *att)
{
	mutex_lock(&plmc_stop_lock);
	if (!list_empty(&att->stop_node))
		list_del_init(&att->stop_node);
	mutex_unlock(&plmc_stop_lock);
}

/* Module exit: nothing is attached, so the work does not re-arm. */
void plmc_stop_exit(void)
{
	cancel_delayed_work_sync(&plmc_stop_work);
}
