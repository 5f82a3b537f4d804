// SPDX-License-Identifier: GPL-2.0
/*
 * introspect.c - nothing reads a thread's state while it is inside.
 *
 * Inside the library a thread's registers, its slot stack and its XSAVE
 * state (PKRU open) are the library's. Besides signal frames and tracers
 * (defer.c), the kernel shows a thread's user state through:
 *
 *   perf samples  PERF_SAMPLE_REGS_USER, _STACK_USER (up to 64 KiB read
 *                 from the user sp, with the sampled thread's PKRU: the
 *                 slot stack, and what lies past it), _CALLCHAIN, _IP,
 *                 _ADDR. Any event: the thread's own (perf_event_paranoid
 *                 <= 2), a CPU-wide one (<= 0), a breakpoint, a tracepoint.
 *                 Every sample taken while the current task's user ip is
 *                 in the image window is dropped: the default overflow
 *                 handlers (perf_event_output_forward/_backward) and
 *                 perf_event_output() return without writing. Checked in
 *                 NMI context, so lock-free: the ip alone (no per-mm
 *                 lookup), and only while something is attached.
 *   dumpability   attach clears MMF_DUMPABLE (no core file, no same-uid
 *                 ptrace or /proc access). Nothing may set it again while
 *                 the mm is guarded: set_dumpable() with any other value
 *                 is skipped for a guarded mm (prctl, and commit_creds()
 *                 on a uid change with suid_dumpable set), and
 *                 prctl(PR_SET_DUMPABLE, 1) answers EPERM.
 *   core dumps    none for a guarded mm, whatever suid_dumpable says (2
 *                 writes root-owned cores of non-dumpable processes): the
 *                 signal still kills (do_coredump() skipped).
 *   /proc         every view of another task that checks
 *                 ptrace_may_access() (syscall, stat's kstkeip/kstkesp,
 *                 wchan, stack, mem, environ...) is refused while the
 *                 task's user ip is in the image, for every caller, its
 *                 own thread group included (which the kernel always
 *                 lets through); and /proc/PID/syscall, which reads the
 *                 registers after that check, answers "running" when the
 *                 ip it read is in the image (kretprobe on
 *                 task_current_syscall()). A thread that dies inside has
 *                 its saved registers cleared first (tasks.c), for the
 *                 views that read an exiting task.
 *
 * introspect_guard=0 (module parameter) turns all of it off (the attack
 * suite shows with it what it closes).
 */
#include <linux/hw_breakpoint.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/perf_event.h>
#include <linux/prctl.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/task_stack.h>
#include <asm/ptrace.h>
#include "plmc_kmod.h"

static bool plmc_intro_guard = true;
module_param_named(introspect_guard, plmc_intro_guard, bool, 0644);
MODULE_PARM_DESC(introspect_guard,
		 "hide the state of threads inside the library from perf, cores, /proc (0: off; reopens holes)");

static bool plmc_intro_on(void)
{
	return READ_ONCE(plmc_intro_guard);
}

static bool plmc_ip_inside(unsigned long ip)
{
	return ip - PLMC_BASE < PLMC_IMAGE_MAX;
}

/*
 * perf_event_output_forward/_backward(event, data, regs), and
 * perf_event_output(event, data, regs): @regs interrupted the current
 * task. Context: NMI, IRQ or task; no locks.
 */
static int plmc_pre_perf_output(struct kprobe *p, struct pt_regs *regs)
{
	struct pt_regs *at = (struct pt_regs *)regs->dx;
	unsigned long ip;

	if (!plmc_intro_on() || !plmc_stop_any())
		return 0;
	if (user_mode(at))
		ip = at->ip;
	else if (current->mm && !(current->flags & (PF_KTHREAD | PF_IO_WORKER)))
		ip = task_pt_regs(current)->ip;
	else
		return 0;
	if (!plmc_ip_inside(ip))
		return 0;
	return plmc_refuse(regs, plmc_ret_zero);
}

/* set_dumpable(mm, value) */
static int plmc_pre_set_dumpable(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;

	if (!plmc_intro_on() || (int)regs->si == SUID_DUMP_DISABLE ||
	    !plmc_guard_mask(mm))
		return 0;
	return plmc_refuse(regs, plmc_ret_zero);
}

/* prctl(option, arg2...): the syscall's user registers, 64-bit or ia32. */
static int plmc_prctl_check(struct pt_regs *regs, unsigned long option,
			    unsigned long arg2)
{
	if (!plmc_intro_on() || option != PR_SET_DUMPABLE ||
	    arg2 == SUID_DUMP_DISABLE || !plmc_guard_mask(current->mm))
		return 0;
	return plmc_refuse(regs, plmc_ret_eperm);
}

static int plmc_pre_prctl64(struct kprobe *p, struct pt_regs *regs)
{
	const struct pt_regs *u = (const struct pt_regs *)regs->di;

	return plmc_prctl_check(regs, u->di, u->si);
}

static int plmc_pre_prctl32(struct kprobe *p, struct pt_regs *regs)
{
	const struct pt_regs *u = (const struct pt_regs *)regs->di;

	return plmc_prctl_check(regs, (u32)u->bx, (u32)u->cx);
}

/* do_coredump(siginfo), in the dumping task. */
static int plmc_pre_coredump(struct kprobe *p, struct pt_regs *regs)
{
	if (!plmc_intro_on() || !plmc_guard_mask(current->mm))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: no core dump of an attached process\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_zero);
}

/*
 * ptrace_may_access(task, mode): false while @task is inside. Its own
 * thread group (let through by the kernel at every mode) is refused the
 * PTRACE_MODE_ATTACH views only (syscall, stack, mem): the READ ones
 * (maps, stat, wchan...) show no user register of a live task, and a
 * program reading its own /proc/self/maps must not fail because its main
 * thread happens to be inside.
 */
static int plmc_pre_may_access(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;
	unsigned int mode = (unsigned int)regs->si;
	bool inside;

	if (!plmc_intro_on() || t == current ||
	    (same_thread_group(t, current) && !(mode & PTRACE_MODE_ATTACH)) ||
	    !plmc_guard_mask(READ_ONCE(t->mm)))
		return 0;
	rcu_read_lock(); /* the stack of a task that exits meanwhile */
	inside = plmc_task_inside(t);
	rcu_read_unlock();
	if (!inside)
		return 0;
	return plmc_refuse(regs, plmc_ret_zero);
}

/* task_current_syscall(target, info): what it read, judged after. */
static int plmc_syscall_entry(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	*(struct syscall_info **)ri->data = (struct syscall_info *)regs->si;
	return 0;
}

static int plmc_syscall_ret(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct syscall_info *info = *(struct syscall_info **)ri->data;

	if (!plmc_intro_on() || regs->ax ||
	    !plmc_ip_inside(info->data.instruction_pointer))
		return 0;
	memset(info, 0, sizeof(*info));
	regs->ax = (unsigned long)-EAGAIN; /* /proc shows "running" */
	return 0;
}

/*
 * register_perf_hw_breakpoint(bp): a data breakpoint (read or write) on an
 * address in the plmc window counts, or samples, the library's accesses to
 * the store made for the client: its control flow over store data. Refused
 * (-EPERM) when the calling or the watched task's mm is guarded. The
 * module's own breakpoint is execute-only (defer.c).
 */
static int plmc_pre_hw_breakpoint(struct kprobe *p, struct pt_regs *regs)
{
	struct perf_event *bp = (struct perf_event *)regs->di;
	struct task_struct *t = bp->hw.target;
	u64 a = bp->attr.bp_addr;

	if (!plmc_intro_on() ||
	    !(bp->attr.bp_type & (HW_BREAKPOINT_R | HW_BREAKPOINT_W)) ||
	    a + bp->attr.bp_len <= PLMC_BASE || a >= PLMC_BASE + PLMC_SPAN)
		return 0;
	if (!plmc_guard_mask(current->mm) &&
	    !(t && plmc_guard_mask(READ_ONCE(t->mm))))
		return 0;
	return plmc_refuse(regs, plmc_ret_eperm);
}

static struct kprobe plmc_kp_hw_breakpoint = {
	.symbol_name = "register_perf_hw_breakpoint",
	.pre_handler = plmc_pre_hw_breakpoint,
};

static struct kprobe plmc_kp_out_fwd = {
	.symbol_name = "perf_event_output_forward",
	.pre_handler = plmc_pre_perf_output,
};

static struct kprobe plmc_kp_out_bwd = {
	.symbol_name = "perf_event_output_backward",
	.pre_handler = plmc_pre_perf_output,
};

static struct kprobe plmc_kp_out = {
	.symbol_name = "perf_event_output",
	.pre_handler = plmc_pre_perf_output,
};

static struct kprobe plmc_kp_set_dumpable = {
	.symbol_name = "set_dumpable",
	.pre_handler = plmc_pre_set_dumpable,
};

static struct kprobe plmc_kp_prctl64 = {
	.symbol_name = "__x64_sys_prctl",
	.pre_handler = plmc_pre_prctl64,
};

static struct kprobe plmc_kp_prctl32 = {
	.symbol_name = "__ia32_sys_prctl",
	.pre_handler = plmc_pre_prctl32,
};

static struct kprobe plmc_kp_coredump = {
	.symbol_name = "do_coredump",
	.pre_handler = plmc_pre_coredump,
};

static struct kprobe plmc_kp_may_access = {
	.symbol_name = "ptrace_may_access",
	.pre_handler = plmc_pre_may_access,
};

static struct kprobe *plmc_intro_kprobes[] = {
	&plmc_kp_out_fwd,  &plmc_kp_out_bwd,	&plmc_kp_out,
	&plmc_kp_set_dumpable, &plmc_kp_prctl64, &plmc_kp_prctl32,
	&plmc_kp_coredump, &plmc_kp_may_access, &plmc_kp_hw_breakpoint,
};

static struct kretprobe plmc_krp_syscall = {
	.kp.symbol_name = "task_current_syscall",
	.entry_handler = plmc_syscall_entry,
	.handler = plmc_syscall_ret,
	.data_size = sizeof(struct syscall_info *),
	.maxactive = 16,
};

int plmc_intro_init(void)
{
	int rc = register_kprobes(plmc_intro_kprobes,
				  ARRAY_SIZE(plmc_intro_kprobes));

	if (rc) {
		pr_err(PLMC_DRV ": introspection kprobes: %d\n", rc);
		return rc;
	}
	rc = register_kretprobe(&plmc_krp_syscall);
	if (rc) {
		pr_err(PLMC_DRV ": kretprobe task_current_syscall: %d\n", rc);
		unregister_kprobes(plmc_intro_kprobes,
				   ARRAY_SIZE(plmc_intro_kprobes));
	}
	return rc;
}

void plmc_intro_exit(void)
{
	unregister_kretprobe(&plmc_krp_syscall);
	unregister_kprobes(plmc_intro_kprobes, ARRAY_SIZE(plmc_intro_kprobes));
}
