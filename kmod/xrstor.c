// SPDX-License-Identifier: GPL-2.0
/*
 * xrstor.c - watch the XRSTOR and WRPKRU instructions of an attached
 * process.
 *
 * XRSTOR with bit 9 (PKRU) in EDX:EAX loads PKRU from memory the client
 * controls; WRPKRU loads it from EAX. The attach scan cannot refuse XRSTOR
 * (static glibc carries two) nor a WRPKRU in file text (Debian's dynamic
 * libc carries one, in pkey_set), so every thread of a guarded process
 * gets a hardware execute breakpoint on each one the scan found (and on
 * each prefix byte that could start the same instruction): a thread that
 * reaches an XRSTOR with EAX bit 9 set, or a WRPKRU whose EAX would let it
 * at the store's key, is killed before the instruction runs. Threads made later get
 * theirs from a task_work queued when they are first woken, which runs
 * before their first user instruction.
 *
 * Locking: plmc_xbp_lock (mutex) guards plmc_xbps. Breakpoints are
 * registered and unregistered outside it. A crash leaves nothing: the
 * events go with the attachment (plmc_xbp_unwatch_mm()).
 */
#include <linux/hw_breakpoint.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <plmc/image.h>
#include "plmc_kmod.h"

#define PLMC_XBP_PKRU (1UL << 9) /* XFEATURE_PKRU in the XRSTOR mask */
#define PLMC_XBP_THREADS 64	 /* threads watched at attach, at most */

struct plmc_xbp {
	struct list_head node;
	struct task_struct *task; /* identity only */
	struct mm_struct *mm;	  /* identity only */
	unsigned int n;
	struct perf_event *ev[PLMC_XSITES];
};

static DEFINE_MUTEX(plmc_xbp_lock);
static LIST_HEAD(plmc_xbps);

/*
 * What the watched bytes at @ip start: past any prefixes (the scan only
 * watches starts whose prefixes cannot change the instruction), an XRSTOR
 * or a WRPKRU. The text cannot change after attach (exec.c), so the bytes
 * read here are the bytes the scan found. Return: 1 XRSTOR, 2 WRPKRU, 0
 * unreadable or neither.
 */
static int plmc_xbp_kind(unsigned long ip)
{
	u8 b[15 + 3];
	int i = 0;

	if (copy_from_user_nofault(b, (const void __user *)ip, sizeof(b)))
		return 0;
	while (i < 15 && ((b[i] >= 0x40 && b[i] <= 0x4f) || b[i] == 0x26 ||
			  b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e ||
			  b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x67))
		i++;
	if (plmc_image_is_xrstor(b + i))
		return 1;
	if (plmc_image_is_wrpkru(b + i))
		return 2;
	return 0;
}

/*
 * Context: #DB from user mode, before the instruction runs. The event's
 * context is the store's pkey. An XRSTOR with EAX bit 9 would load PKRU
 * from client memory; a WRPKRU whose EAX clears the store key's
 * access-disable bit would open the store. Either, or bytes that cannot be
 * read, kill the process first (fail closed).
 */
static void plmc_xbp_hit(struct perf_event *bp, struct perf_sample_data *d,
			 struct pt_regs *regs)
{
	u32 pkey = (u32)(unsigned long)bp->overflow_handler_context;
	int kind = plmc_xbp_kind(regs->ip);

	if (kind == 1 && !(regs->ax & PLMC_XBP_PKRU))
		return;
	if (kind == 2 && (regs->ax & (1UL << (2 * pkey))))
		return; /* the store key stays access-disabled */
	pr_info_ratelimited(PLMC_DRV ": pid %d: %s opening the store killed\n",
			    task_tgid_nr(current),
			    kind == 2 ? "WRPKRU" : "XRSTOR of PKRU");
	force_sig(SIGKILL);
}

static bool plmc_xbp_watched(struct task_struct *tsk)
{
	struct plmc_xbp *x;

	lockdep_assert_held(&plmc_xbp_lock);
	list_for_each_entry(x, &plmc_xbps, node)
		if (x->task == tsk)
			return true;
	return false;
}

static void plmc_xbp_free(struct plmc_xbp *x)
{
	while (x->n)
		unregister_hw_breakpoint(x->ev[--x->n]);
	kfree(x);
}

/*
 * plmc_xbp_watch() - put a breakpoint on each site in @tsk.
 * Context: process context, may sleep. Return: 0 or -errno.
 */
/*
 * Drop the breakpoints of @mm's threads that are exiting or gone. Their
 * events hold the task_struct (so reading its flags is safe) and with it
 * about 14 KiB each: kept until the attachment ended, a client making
 * threads in a loop grew unreclaimable kernel memory without bound. A
 * thread with PF_EXITING never runs user code again. Reaped whenever a
 * thread of the mm is watched, so what is kept is bounded by the live
 * threads plus those that exited since the last one was made.
 * Context: may sleep.
 */
static void plmc_xbp_reap(struct mm_struct *mm)
{
	struct plmc_xbp *x, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&plmc_xbp_lock);
	list_for_each_entry_safe(x, tmp, &plmc_xbps, node)
		if (x->mm == mm && (READ_ONCE(x->task->flags) & PF_EXITING))
			list_move(&x->node, &gone);
	mutex_unlock(&plmc_xbp_lock);
	list_for_each_entry_safe(x, tmp, &gone, node) {
		list_del(&x->node);
		plmc_xbp_free(x);
	}
}

int plmc_xbp_watch(struct task_struct *tsk, struct mm_struct *mm,
		   const unsigned long *sites, unsigned int n, u32 pkey)
{
	struct perf_event_attr attr;
	struct perf_event *ev;
	struct plmc_xbp *x;
	int rc = 0;

	if (!n)
		return 0;
	plmc_xbp_reap(mm);
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	x->task = tsk;
	x->mm = mm;
	while (x->n < n) {
		hw_breakpoint_init(&attr);
		attr.bp_addr = sites[x->n];
		attr.bp_len = sizeof(long); /* what x86 wants for exec */
		attr.bp_type = HW_BREAKPOINT_X;
		ev = register_user_hw_breakpoint(&attr, plmc_xbp_hit,
						 (void *)(unsigned long)pkey, tsk);
		if (IS_ERR(ev)) {
			rc = PTR_ERR(ev);
			goto err_free;
		}
		x->ev[x->n++] = ev;
	}
	mutex_lock(&plmc_xbp_lock);
	if (plmc_xbp_watched(tsk)) {
		mutex_unlock(&plmc_xbp_lock);
		plmc_xbp_free(x); /* raced with the other path: keep one */
		return 0;
	}
	list_add(&x->node, &plmc_xbps);
	mutex_unlock(&plmc_xbp_lock);
	return 0;

err_free:
	plmc_xbp_free(x);
	return rc;
}

/* Every thread of the current process. Context: may sleep. */
int plmc_xbp_watch_all(const unsigned long *sites, unsigned int n, u32 pkey)
{
	struct task_struct *t, *arr[PLMC_XBP_THREADS];
	unsigned int nt = 0, i;
	bool many = false;
	int rc = 0;

	if (!n)
		return 0;
	rcu_read_lock();
	for_each_thread(current, t) {
		if (nt == PLMC_XBP_THREADS) {
			many = true;
			break;
		}
		get_task_struct(t);
		arr[nt++] = t;
	}
	rcu_read_unlock();
	for (i = 0; i < nt; i++) {
		if (!rc && !many)
			rc = plmc_xbp_watch(arr[i], current->mm, sites, n,
					    pkey);
		put_task_struct(arr[i]);
	}
	return many ? -EPERM : rc;
}

/* Drop every breakpoint of @mm. Context: may sleep. */
void plmc_xbp_unwatch_mm(struct mm_struct *mm)
{
	struct plmc_xbp *x, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&plmc_xbp_lock);
	list_for_each_entry_safe(x, tmp, &plmc_xbps, node)
		if (x->mm == mm)
			list_move(&x->node, &gone);
	mutex_unlock(&plmc_xbp_lock);
	list_for_each_entry_safe(x, tmp, &gone, node) {
		list_del(&x->node);
		plmc_xbp_free(x);
	}
}

struct plmc_xbp_work {
	struct callback_head cb;
};

/* Runs in the new thread before its first user instruction. */
static void plmc_xbp_work_fn(struct callback_head *cb)
{
	unsigned long sites[PLMC_XSITES];
	unsigned int n;
	u32 pkey = 0;

	kfree(container_of(cb, struct plmc_xbp_work, cb));
	n = plmc_guard_xsites(current->mm, sites, &pkey);
	if (plmc_xbp_watch(current, current->mm, sites, n, pkey))
		force_sig(SIGKILL); /* fail closed */
}

/* wake_up_new_task(p): a thread (or CLONE_VM child) of a guarded mm. */
static int plmc_pre_new_task(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;
	unsigned long sites[PLMC_XSITES];
	struct plmc_xbp_work *w;

	u32 pkey;

	if (!t->mm || !plmc_guard_xsites(t->mm, sites, &pkey))
		return 0;
	w = kmalloc(sizeof(*w), GFP_ATOMIC);
	if (w) {
		init_task_work(&w->cb, plmc_xbp_work_fn);
		if (!task_work_add(t, &w->cb, TWA_RESUME))
			return 0;
		kfree(w);
	}
	send_sig(SIGKILL, t, 1); /* fail closed */
	return 0;
}

static struct kprobe plmc_kp_new_task = {
	.symbol_name = "wake_up_new_task",
	.pre_handler = plmc_pre_new_task,
};

int plmc_xbp_init(void)
{
	int rc = register_kprobe(&plmc_kp_new_task);

	if (rc)
		pr_err(PLMC_DRV ": kprobe wake_up_new_task: %d\n", rc);
	return rc;
}

void plmc_xbp_exit(void)
{
	unregister_kprobe(&plmc_kp_new_task);
}
