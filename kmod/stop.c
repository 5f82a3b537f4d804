// SPDX-License-Identifier: GPL-2.0
/*
 * stop.c - no task keeps the library's resources past a grace.
 *
 * A thread inside a library call holds its slot and its announced reader
 * epoch (and maybe a store lock) until the call returns. Held up there it
 * never returns, and no memory retired after its epoch can be reused by
 * anyone. A live process is not a dead one, so the survivors cannot
 * recover it. The policy: an attachment whose mm has a task held up inside
 * the library for stop_grace_ms is killed: every task of the mm gets
 * SIGKILL, and its death is marked as soon as none of them can run
 * another user instruction (not when the exit finishes: a task blocked
 * for good in the kernel would hold the death back for ever).
 *
 * Members: every user task whose mm is the attached mm, whatever its
 * thread group: the attaching process's threads, a clone(CLONE_VM) child
 * (its own thread group), a vfork child before it execs. They all run
 * with the attachment's ppage and slots, so they are one attachment
 * (tasks.c kills them all when one dies inside the library).
 *
 * "Held up inside", judged for each member at each check (hole 14: a
 * state is only a sample; a thread woken in a loop looks runnable at
 * every check and still never moves):
 *
 *   in a call   the member's user ip (task_pt_regs: saved at its
 *               kernel entry, so current while it is in the kernel and at
 *               most one tick old while it runs user code on a CPU with a
 *               tick) is in the image and its sp on slot i's stack: it is
 *               in call number kv[PLMC_KV_SEQ] of slot i (kvcore bumps it
 *               at every call's entry). Judged by progress, whatever its
 *               state, on its CPU or not: seen in the same call of the
 *               same slot at every walk for stop_grace_ms without running
 *               any library code (its user time, t->utime, unchanged: not
 *               one timer tick found it in user mode) it is held up, and
 *               killed like a stopped one. Any user time restarts its
 *               clock. A call needs microseconds of CPU; one that lasts
 *               the grace and runs no instruction of it waits on client
 *               memory (a fault served slowly, or woken and never served:
 *               such a thread loops in the kernel's fault path, on its CPU
 *               or off it, and never gets back to user mode), is stopped,
 *               or gets no CPU at all (SCHED_IDLE beside a spinner, hole
 *               8's last case). All of them hold the slot, the epoch and
 *               maybe a lock as long as they last, so all are killed. A
 *               thread that really runs a call (a check of a big store),
 *               even slowly on a loaded host, is found in user mode by
 *               some tick and lives. On a nohz_full CPU a task alone in
 *               user mode gets no tick: vtime says it is there (VTIME_USER)
 *               and it is not judged. The clock is kept per task (tid),
 *               so a task that jumps into the image with its sp on another
 *               thread's slot stack is judged on its own and cannot
 *               restart that thread's clock; tracked afresh at each walk
 *               (att->calls: this walk's and the last one's), at most
 *               PLMC_CALLS of them, and a walk that finds more counts as
 *               finding a held task (the second rule).
 *     except    a lock waiter: the slot's kv[PLMC_KV_HELD_LOCK] names a
 *               lock whose word names another slot, and the member is not
 *               stopped, traced or frozen. The image's waiter naps in
 *               nanosleep or sched_yield (kvcore/lock.c) for at most 1 ms
 *               between looks; it moves as soon as the holder does. A
 *               slot holds at most one lock and takes no other while it
 *               holds one, so the holder is never itself a waiter: it is
 *               judged on its own (in its own attachment), killed if
 *               held up, and then the waiter recovers it. The waiter's
 *               clock starts again after each such check.
 *   otherwise   inside the image (the gate's first and last instructions,
 *               off a slot stack: no call is under way yet, or any more)
 *               and stopped or traced, frozen by the cgroup v2 freezer
 *               (task->frozen), or asleep (TASK_INTERRUPTIBLE or
 *               TASK_UNINTERRUPTIBLE): held, as before hole 14 (a thread
 *               that jumps into the image and sleeps there kills its
 *               process).
 *               Not the legacy freezer (TASK_FROZEN alone): system
 *               suspend and hibernation freeze every client wherever it
 *               is.
 *
 * progress_guard=0 (module parameter) judges members in a call by the
 * second rule too (their state only), as before hole 14 was closed: the
 * attack suite shows with it what the first rule closes.
 *
 * "Can never run user code again", for one member: it is dying (SIGKILL
 * pending, a group exit under way, or PF_EXITING) and it is not on a CPU.
 * Every return to user mode passes exit_to_user_mode_loop(), which reads
 * the thread flags after any schedule() and delivers the pending SIGKILL
 * first; a task off its CPU can only come back through there. A task on a
 * CPU might be between that check and user mode, so it is looked at again
 * at the next period. Dying tasks cannot create new members (copy_process
 * refuses with a fatal signal pending).
 *
 * Which tasks are walked: the attaching process's threads, and every
 * task of the system while a member may sit outside that thread group.
 * tasks.c bumps plmc_stop_seq whenever a task of a watched mm starts
 * outside its parent's thread group (and attach bumps it: members may
 * predate it); a whole walk that finds no foreign member, with the seq
 * unchanged since before it, lets the later periods walk the one process.
 *
 * The check is a delayed work every PLMC_STOP_PERIOD_MS while anything is
 * attached, off every path a client's calls take. An attachment's held
 * time grows by the time since the last check (at most two periods: a
 * suspend, or a late work, does not count) while some member is held
 * inside at each check, and falls back to 0 at the first check that finds
 * none (the second rule above). A call's clock (the first) is kept per
 * task, from one walk to the next: its slot and call, its user time, when
 * it was seen and for how long without running; it starts again whenever
 * the task shows another call, has run, or was not seen in a call.
 *
 * Locking: plmc_stop_lock (mutex) guards plmc_stops and the per
 * attachment counters; it may be taken under mmap_lock (death in
 * vm_close). Under it: RCU, the signal code (send_sig), and att->lock ->
 * seg->lock (plmc_att_mark_dead). Tasks are walked under rcu_read_lock().
 * The list holds no reference: every way an attachment ends removes it,
 * plmc_att_free() last, so the work never sees a freed one.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/workqueue.h>
#include <asm/ptrace.h>
#include <plmc/layout.h>
#include "compat.h"
#include "plmc_kmod.h"

static unsigned int plmc_stop_grace_ms = 2000;
module_param_named(stop_grace_ms, plmc_stop_grace_ms, uint, 0644);
MODULE_PARM_DESC(stop_grace_ms,
		 "SIGKILL an attachment with a task held up inside the library this long, in ms (0: never)");

static bool plmc_progress_guard = true;
module_param_named(progress_guard, plmc_progress_guard, bool, 0644);
MODULE_PARM_DESC(progress_guard,
		 "judge a task inside a library call by its progress (0: by its state only; reopens hole 14)");

#define PLMC_STOP_PERIOD_MS 100

/*
 * Tasks tracked in a call per attachment and walk: one per slot, twice
 * over (a sampled walk may meet a thread that just left a slot and the
 * one that took it). More means tasks that jumped into the image with
 * their sp on slot stacks: the walk counts as finding a held task.
 */
#define PLMC_CALLS (2 * PLMC_MAX_SLOTS)

/* One task in one call, as a walk saw it. Under plmc_stop_lock. */
struct plmc_call {
	u64 seq;     /* kv[PLMC_KV_SEQ] of its slot when seen */
	u64 utime;   /* its user time when seen */
	u32 seen_ms; /* seen in this call without running, ms */
	u32 slot;
	pid_t tid;
};

/* The calls one walk saw; att->calls holds two (16 KiB each), the last
 * walk's and the one being built. */
struct plmc_calls {
	unsigned int n;
	unsigned long when; /* jiffies of that walk */
	struct plmc_call c[PLMC_CALLS];
};

static DEFINE_MUTEX(plmc_stop_lock);
static LIST_HEAD(plmc_stops); /* plmc_att.stop_node */
static unsigned long plmc_stop_last; /* jiffies of the last check */

/*
 * Bumped (full barrier: atomic_inc_return) after a task outside its
 * parent's thread group joins a watched mm, and at every attach. Read
 * (acquire) before a whole walk: a bump the read sees comes after the new
 * task was put on the task list, so the walk sees the task; a bump it
 * does not see keeps the next period walking everything.
 */
static atomic_t plmc_stop_seq = ATOMIC_INIT(1);
static int plmc_stop_clean_seq; /* under plmc_stop_lock */
static atomic_t plmc_stop_n = ATOMIC_INIT(0); /* attachments listed */

static void plmc_stop_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(plmc_stop_work, plmc_stop_fn);

static unsigned long plmc_stop_period(void)
{
	return max(msecs_to_jiffies(PLMC_STOP_PERIOD_MS), 1UL);
}

void plmc_stop_foreign(void)
{
	atomic_inc_return(&plmc_stop_seq);
}

/* What one walk of an attachment's members found. */
struct plmc_members {
	bool held;    /* a member held up inside the library (state) */
	bool stalled; /* a member in one call past the grace, no progress */
	bool live;    /* a member that may run user code again */
	bool foreign; /* a member outside the attaching thread group */
	bool kill;    /* send SIGKILL to every member met */
	unsigned int grace;  /* stop_grace_ms of this period (0: no judging) */
	unsigned long now;   /* jiffies of this period */
	u32 stalled_ms;	     /* the stalled call: seen for so long */
	const struct plmc_calls *prev; /* the last walk's calls */
	struct plmc_calls *next;       /* this walk's */
};

int plmc_stop_alloc(struct plmc_att *att)
{
	att->calls = kvcalloc(2, sizeof(*att->calls), GFP_KERNEL);
	return att->calls ? 0 : -ENOMEM;
}

void plmc_stop_free(struct plmc_att *att)
{
	kvfree(att->calls);
	att->calls = NULL;
}

/* Context: RCU read side. A task that runs user code of @mm? */
static bool plmc_is_member(struct task_struct *t, struct mm_struct *mm)
{
	return !(t->flags & (PF_KTHREAD | PF_IO_WORKER)) &&
	       READ_ONCE(t->mm) == mm;
}

/* Is anything attached on the system? Any context, NMI included. */
bool plmc_stop_any(void)
{
	return atomic_read(&plmc_stop_n) != 0;
}

/*
 * Is @t's user ip in the image window? Context: @t's stack pinned (RCU:
 * vmapped stacks are freed after a grace period; or @t is current).
 */
bool plmc_task_inside(struct task_struct *t)
{
	return task_pt_regs(t)->ip - PLMC_BASE < PLMC_IMAGE_MAX;
}

/* Context: RCU read side. */
static bool plmc_held_inside(struct task_struct *t)
{
	unsigned int state = READ_ONCE(t->__state);

	if (!task_is_stopped_or_traced(t) && !t->frozen &&
	    !(state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)))
		return false;
	return plmc_task_inside(t);
}

/* The slot record @i of @seg's store (the kernel's view). */
static struct plmc_slot *plmc_stop_slot(struct plmc_seg *seg, u64 i)
{
	return (struct plmc_slot *)((char *)seg->hdr + PLMC_SLOTS_OFF) + i;
}

/*
 * Is the call on slot @i waiting for a lock another slot holds? Its
 * held_lock must name an aligned word of the store's kv area (kvcore
 * writes it; a bad one is no lock); the word is the holder's slot + 1.
 */
static bool plmc_call_waits(struct plmc_seg *seg, u64 i)
{
	u64 l = READ_ONCE(plmc_stop_slot(seg, i)->kv[PLMC_KV_HELD_LOCK]);
	u64 off = l - PLMC_STORE_ADDR, w;

	if (!l || (l & 7) || off < PLMC_KV_OFF || off > seg->store_size - 8)
		return false;
	w = READ_ONCE(*(u64 *)((char *)seg->hdr + off));
	return w && w - 1 != i;
}

/* @tid in the last walk's calls, or NULL. */
static const struct plmc_call *plmc_call_find(const struct plmc_calls *p,
					      pid_t tid)
{
	unsigned int k;

	for (k = 0; k < p->n; k++)
		if (p->c[k].tid == tid)
			return &p->c[k];
	return NULL;
}

/*
 * Judge @t by its call (see the top, "in a call"). Return: is @t in a
 * call (judged here, not by its state)? Context: RCU read side,
 * plmc_stop_lock held.
 */
static bool plmc_call_visit(struct task_struct *t, struct plmc_att *att,
			    struct plmc_members *m)
{
	struct pt_regs *r = task_pt_regs(t);
	u64 i = (r->sp - 1 - PLMC_STACKS_ADDR) / PLMC_STACK_SIZE;
	const struct plmc_call *p;
	struct plmc_call *c;

	if (r->ip - PLMC_BASE >= PLMC_IMAGE_MAX || r->sp <= PLMC_STACKS_ADDR ||
	    i >= PLMC_MAX_SLOTS)
		return false;
	/* On a nohz_full CPU, running user code with no tick to say so. */
	if (READ_ONCE(t->on_cpu) && plmc_task_vtime_user(t))
		return false;
	if (m->next->n == PLMC_CALLS) {
		m->held = true;
		return true;
	}
	c = &m->next->c[m->next->n++];
	c->tid = t->pid;
	c->slot = i;
	c->seq = READ_ONCE(plmc_stop_slot(att->seg, i)->kv[PLMC_KV_SEQ]);
	c->utime = READ_ONCE(t->utime);
	c->seen_ms = 0;
	p = plmc_call_find(m->prev, c->tid);
	/* Another call, or it ran library code since: the clock restarts. */
	if (!p || p->slot != c->slot || p->seq != c->seq || p->utime != c->utime)
		return true;
	/* A waiter napping on a holder: judged through the holder. */
	if (plmc_call_waits(att->seg, i) && !task_is_stopped_or_traced(t) &&
	    !t->frozen)
		return true;
	c->seen_ms = p->seen_ms +
		     jiffies_to_msecs(min(m->next->when - m->prev->when,
					  2 * plmc_stop_period()));
	if (c->seen_ms >= m->grace) {
		m->stalled = true;
		m->stalled_ms = c->seen_ms;
	}
	return true;
}

/* Context: RCU read side. See the top: "can never run user code again". */
static bool plmc_task_done(struct task_struct *t)
{
	bool dying = (t->flags & PF_EXITING) || __fatal_signal_pending(t) ||
		     (READ_ONCE(t->signal->flags) & SIGNAL_GROUP_EXIT);

	return dying && !READ_ONCE(t->on_cpu);
}

/* Context: RCU read side. */
static void plmc_member_visit(struct task_struct *t, struct plmc_att *att,
			      struct plmc_members *m)
{
	if (!plmc_is_member(t, att->mm))
		return;
	if (task_tgid(t) != att->pid)
		m->foreign = true;
	if (m->kill)
		send_sig(SIGKILL, t, 1); /* the whole thread group */
	if (!plmc_task_done(t))
		m->live = true;
	if (m->next && plmc_call_visit(t, att, m))
		return;
	if (plmc_held_inside(t))
		m->held = true;
}

/* Walk @att's members: its own process, or everything (@all). */
static void plmc_members_walk(struct plmc_att *att, bool all,
			      struct plmc_members *m)
{
	struct task_struct *p, *t;

	rcu_read_lock();
	if (all) {
		for_each_process_thread(p, t)
			plmc_member_visit(t, att, m);
	} else {
		p = pid_task(att->pid, PIDTYPE_TGID);
		if (p)
			for_each_thread(p, t)
				plmc_member_visit(t, att, m);
	}
	rcu_read_unlock();
}

/* Send SIGKILL to every member of @att. Context: plmc_stop_lock held. */
static void plmc_stop_kill(struct plmc_att *att, bool all)
{
	struct plmc_members m = {.kill = true};

	att->stop_killed = true;
	plmc_members_walk(att, all, &m);
}

/*
 * One attachment, one period: count its held time, kill it past the
 * grace, mark its death once no member can run user code. Return: did
 * the walk find a member outside the attaching process?
 */
static bool plmc_stop_one(struct plmc_att *att, bool all, unsigned int grace,
			  unsigned long step)
{
	struct plmc_members m = {.grace = grace, .now = jiffies};

	if (att->stop_marked)
		return false;
	if (grace && READ_ONCE(plmc_progress_guard)) {
		m.prev = &att->calls[att->calls_prev];
		m.next = &att->calls[!att->calls_prev];
		m.next->n = 0;
		m.next->when = m.now;
	} else {
		/* Judged again later: from nothing, not a stale walk. */
		att->calls[0].n = 0;
		att->calls[1].n = 0;
	}
	plmc_members_walk(att, all, &m);
	if (m.next)
		att->calls_prev = !att->calls_prev;
	if (!m.live && READ_ONCE(plmc_tasks_guard)) {
		/* Every member killed (by us or anyone) and off its CPU, or
		 * none left: the survivors may recover it now. */
		att->stop_marked = true;
		plmc_att_mark_dead(att);
		return m.foreign;
	}
	if (att->stop_killed) {
		/*
		 * Again, for a member the first walk could not see yet. (It
		 * does not free one a tracer holds in its exit stop: a dying
		 * group takes no more signals. The early mark above is what
		 * lets the survivors go on.)
		 */
		if (READ_ONCE(plmc_tasks_guard))
			plmc_stop_kill(att, all);
		return m.foreign;
	}
	if (m.stalled) {
		pr_info_ratelimited(PLMC_DRV ": pid %d: a task in one library call for %u ms without running: killed\n",
				    att->tgid, m.stalled_ms);
		plmc_stop_kill(att, all);
		return m.foreign;
	}
	if (!grace || !m.held) {
		att->stopped_ms = 0;
		return m.foreign;
	}
	att->stopped_ms += jiffies_to_msecs(step);
	if (att->stopped_ms < grace)
		return m.foreign;
	pr_info_ratelimited(PLMC_DRV ": pid %d: a task held up inside the library for %llu ms: killed\n",
			    att->tgid, att->stopped_ms);
	plmc_stop_kill(att, all);
	return m.foreign;
}

/* Context: workqueue. Re-arms itself while any attachment is listed. */
static void plmc_stop_fn(struct work_struct *work)
{
	unsigned int grace = READ_ONCE(plmc_stop_grace_ms);
	unsigned long now = jiffies, step;
	bool all, foreign = false;
	struct plmc_att *att;
	int seq;

	mutex_lock(&plmc_stop_lock);
	step = min(now - plmc_stop_last, 2 * plmc_stop_period());
	plmc_stop_last = now;
	/* Pairs with the full barrier of the bump in plmc_stop_foreign(). */
	seq = atomic_read_acquire(&plmc_stop_seq);
	all = READ_ONCE(plmc_tasks_guard) && seq != plmc_stop_clean_seq;
	list_for_each_entry(att, &plmc_stops, stop_node)
		foreign |= plmc_stop_one(att, all, grace, step);
	if (all && !foreign)
		plmc_stop_clean_seq = seq;
	if (!list_empty(&plmc_stops))
		schedule_delayed_work(&plmc_stop_work, plmc_stop_period());
	mutex_unlock(&plmc_stop_lock);
}

/* The attachment is complete: watch its mm. Context: may sleep. */
void plmc_stop_add(struct plmc_att *att)
{
	plmc_stop_foreign(); /* CLONE_VM relatives may predate the attach */
	mutex_lock(&plmc_stop_lock);
	if (list_empty(&plmc_stops)) {
		plmc_stop_last = jiffies;
		schedule_delayed_work(&plmc_stop_work, plmc_stop_period());
	}
	list_add_tail(&att->stop_node, &plmc_stops);
	atomic_inc(&plmc_stop_n);
	mutex_unlock(&plmc_stop_lock);
}

/* Idempotent: every way an attachment ends calls it. May sleep. */
void plmc_stop_del(struct plmc_att *att)
{
	mutex_lock(&plmc_stop_lock);
	if (!list_empty(&att->stop_node)) {
		list_del_init(&att->stop_node);
		atomic_dec(&plmc_stop_n);
	}
	mutex_unlock(&plmc_stop_lock);
}

/* Module exit: nothing is attached, so the work does not re-arm. */
void plmc_stop_exit(void)
{
	cancel_delayed_work_sync(&plmc_stop_work);
}
