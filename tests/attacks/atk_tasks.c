/* SPDX-License-Identifier: MIT */
/*
 * atk_tasks - every task that shares the attached mm, and tasks held up
 * inside the library in any state (issue 13, items 3 and 4).
 *
 * Each attack runs as uid 12345 against the root-created store, twice:
 * first with the defence turned off (a module parameter, root only), where
 * the attack must get through (so the attack is real), then with it on,
 * where it must be refused. After each, another client overwrites three
 * times the store (6,000 sets of 4 KiB): all must be stored.
 *
 * CLONE_VM members: process A attaches and makes a clone(CLONE_VM) child
 * C in a thread group of its own (CLONE_PARENT: C is the test's child, so
 * the test can trace it), or a vfork child (CLONE_VM | CLONE_VFORK).
 *   - C stopped inside a 500 KB get: A and C are killed after
 *     stop_grace_ms (tasks_guard=0: C is never seen, nobody is killed);
 *   - C SIGKILLed while stopped inside: A is killed at once, well before
 *     the grace (tasks_guard=0: A lives on, C's slot and epoch stay held);
 *   - C dies holding a size-class lock (crash point alloc_locked): A is
 *     killed at once and the lock recovered (tasks_guard=0: every set of
 *     that class spins until A exits);
 *   - a vfork child stopped inside a 500 KB get: both killed after the
 *     grace (tasks_guard=0: never).
 * Control: an attached process vforks and posix_spawns (the child execs
 * or exits without entering the library): it lives on and its calls work.
 *
 * Held inside in a fault: A's thread copies a value out into a buffer
 * registered with userfaultfd (UFFD_USER_MODE_ONLY, unprivileged) that
 * nobody serves: it sleeps inside the library for good. Killed after the
 * grace, recovered (stop_grace_ms=0: never). Control: a thread parked on
 * such a buffer in its own code, for twice the grace, lives on.
 */
/* The class-lock case dies at a crash point: the test image. */
#define ATK_TEST_IMAGE 1
#include "park.h"
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/syscall.h>

static char cstack[256 * 1024] __attribute__((aligned(64)));
static int go_w;

enum { M_STOP, M_KILL, M_LOCK, M_VFORK };

/* C: traced by the test (stop modes), then gets, or dies holding a lock. */
static int member(void *arg)
{
	int mode = (int)(long)arg;
	pid_t me = (pid_t)syscall(SYS_getpid);
	size_t vlen;

	if (mode != M_LOCK && ptrace(PTRACE_TRACEME, 0, 0, 0))
		syscall(SYS_exit, 2);
	if (write(go_w, &me, sizeof(me)) != sizeof(me))
		syscall(SYS_exit, 3);
	if (mode == M_LOCK) {
		/* Same class as the writer's values: 4000 bytes. */
		plmc_crash_arm(PLMC_CRASH_ALLOC_LOCKED);
		plmc_set("lock-new", 8, big, 4000, 0, 0);
		syscall(SYS_exit, 4); /* the crash point did not fire */
	}
	for (;;)
		plmc_get("park-big", 8, big, sizeof(big), &vlen, NULL, NULL);
	return 0;
}

/* A: attaches, makes C, waits to be killed. */
static void attacker(int mode)
{
	int flags = CLONE_VM | CLONE_PARENT | SIGCHLD;

	if (vm_attach(ATK_STORE) ||
	    plmc_set("park-big", 8, big, sizeof(big), 0, 0) != PLMC_STORED)
		_exit(1);
	if (mode == M_VFORK)
		flags |= CLONE_VFORK;
	if (clone(member, cstack + sizeof(cstack), flags, (void *)(long)mode) <
	    0)
		_exit(2);
	for (;;)
		pause();
}

static const char *mode_name(int mode)
{
	static const char *const n[] = {"C stopped inside", "C killed inside",
					"C died holding a class lock",
					"vfork child stopped inside"};
	return n[mode];
}

/*
 * One run of a member attack as uid 12345. @arg: the mode, | RUN_ON with
 * the defence on. Records what happened in obs->on / obs->off.
 */
static int member_run(int arg)
{
	int mode = arg & 15, on = arg >> 4, grace = atk_grace_ms();
	int go[2], sta, stc, ms, done, rc, waited;
	char *out = on ? obs->on : obs->off;
	struct timespec t0;
	pid_t a, c = -1;

	if (pipe(go))
		return VM_FAIL("pipe");
	a = fork();
	if (a == 0) {
		go_w = go[1];
		attacker(mode);
	}
	close(go[1]); /* a member that never starts: read() sees EOF */
	if (a < 0 || read(go[0], &c, sizeof(c)) != sizeof(c)) {
		atk_kill_reap(a);
		return VM_FAIL("%s: no member", mode_name(mode));
	}
	if (mode != M_LOCK && atk_stop_inside(c)) {
		atk_kill_reap(c);
		atk_kill_reap(a);
		return VM_FAIL("%s: never stopped inside", mode_name(mode));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mode == M_KILL)
		kill(c, SIGKILL);
	/* Killed inside: at once. Stopped inside: after the grace. */
	sta = atk_wait_end(a,
		       mode == M_KILL || mode == M_LOCK ? 1500 : grace + 1500);
	waited = atk_ms_since(&t0);
	stc = atk_wait_end(c, 1000);
	if (on && (!atk_killed(sta) || (stc != -1 && !WIFSIGNALED(stc)))) {
		atk_kill_reap(c);
		atk_kill_reap(a);
		return VM_FAIL("%s: A %s after %d ms", mode_name(mode),
			       sta == -1 ? "alive" : "ended otherwise", waited);
	}
	if (on && (mode == M_STOP || mode == M_VFORK) && waited < grace - 300) {
		atk_kill_reap(c);
		return VM_FAIL("%s: killed after %d ms, before the grace %d",
			       mode_name(mode), waited, grace);
	}
	if (on && (mode == M_KILL || mode == M_LOCK) && waited >= grace) {
		atk_kill_reap(c);
		return VM_FAIL("%s: A killed after %d ms, not at once",
			       mode_name(mode), waited);
	}
	if (!on && sta != -1) {
		atk_kill_reap(c);
		return VM_FAIL("defence off, %s: A ended 0x%x", mode_name(mode),
			       sta);
	}
	/* Another client's sets: the damage, or its absence. */
	rc = atk_writer(on ? 20 : 8, &ms, &done);
	if (!on) {
		atk_kill_reap(c);
		atk_kill_reap(a);
		snprintf(out, sizeof(obs->off),
			 "A alive %d ms, %d sets stored (%s)", waited, done,
			 rc == 1 ? "stall"
			 : rc	 ? "NOMEM"
				 : "ok");
		if (!rc)
			return VM_FAIL("defence off, %s: the attack did not "
				       "hurt (every set stored)",
				       mode_name(mode));
		return 0;
	}
	atk_kill_reap(c);
	if (rc)
		return VM_FAIL("%s, then %d sets stored (%s) in %d ms",
			       mode_name(mode), done,
			       rc == 1 ? "stall" : vm_sh->note, ms);
	snprintf(out, sizeof(obs->on),
		 "A killed after %d ms, all "
		 "sets in %d ms",
		 waited, ms);
	return 0;
}

/* tasks_guard=0 (the attack gets through), then 1 (refused). */
static int run_member(int mode)
{
	if (off_then_on("tasks_guard", 0, 1, member_run, mode))
		return -1;
	return ATK_REFUSED("tasks_guard=0: %s; on: %s", obs->off, obs->on);
}

static int clone_stopped(void)
{
	return run_member(M_STOP);
}

static int clone_killed(void)
{
	return run_member(M_KILL);
}

static int clone_class_lock(void)
{
	return run_member(M_LOCK);
}

static int vfork_stopped(void)
{
	return run_member(M_VFORK);
}

/*
 * An attached process spawns: vfork + _exit, vfork + exec, posix_spawn
 * (CLONE_VM | CLONE_VFORK in glibc). Neither child enters the library:
 * the parent lives on, its calls work, no death is counted.
 */
/* A vfork child that execs (@exec) or exits. Return: its status, -1. */
static __attribute__((noinline)) int vfork_once(int exec)
{
	pid_t c = vfork();

	if (c == 0) {
		if (exec)
			execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	}
	return c < 0 ? -1 : vm_reap(c);
}

static int spawn_user(int unused)
{
	char *argv[] = {"true", NULL};
	uint64_t d0 = 0, d1 = 0;
	int i, st;
	pid_t c;

	if (vm_attach(ATK_STORE) || atk_deaths(&d0))
		return -1;
	for (i = 0; i < 20; i++) {
		st = vfork_once(i & 1);
		if (st == -1 || !WIFEXITED(st))
			return VM_FAIL("vfork %d: 0x%x", i, st);
		if (posix_spawn(&c, "/bin/true", NULL, NULL, argv, NULL))
			return VM_FAIL("posix_spawn %d: %s", i,
				       strerror(errno));
		st = vm_reap(c);
		if (!WIFEXITED(st))
			return VM_FAIL("spawned child %d: 0x%x", i, st);
		if (vm_roundtrip("spawn-key", "spawn-val"))
			return -1;
	}
	if (atk_deaths(&d1) || d1 != d0)
		return VM_FAIL("%lld deaths counted", (long long)(d1 - d0));
	return ATK_REFUSED("20 vforks and 20 posix_spawns, calls ok, no death");
}

static int spawn_survives(void)
{
	return atk_as_user(spawn_user, 0);
}

/*
 * A: parks on a userfaultfd buffer, inside the library (a get copying out
 * into it) or in its own code (a plain read of it).
 */
static void parker_uffd(int go, int inside)
{
	char *buf = park_prepare(0, NULL);
	size_t vlen;

	vm_signal_fd(go);
	if (inside)
		plmc_get("park-big", 8, buf, BIG, &vlen, NULL, NULL);
	else
		*(volatile char *)buf;
	_exit(3); /* never: nobody serves the fault */
}

/* @on (RUN_ON or 0): stop_grace_ms as set (the kill) or 0 (no kill). */
static int uffd_run(int on)
{
	int st, ms, done, rc, waited, grace = atk_grace_ms();
	struct timespec t0;
	uint64_t d0 = 0;
	pid_t a = park_start(parker_uffd, 1, &d0);

	if (a < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = atk_wait_end(a, on ? grace + 3000 : 3000);
	waited = atk_ms_since(&t0);
	if (!on) {
		char *out = obs->off;

		rc = atk_writer(8, &ms, &done);
		atk_kill_reap(a);
		snprintf(out, sizeof(obs->off),
			 "alive at %d ms, %d sets stored (%s)", waited, done,
			 rc == 1 ? "stall"
			 : rc	 ? "NOMEM"
				 : "ok");
		if (st != -1 || !rc)
			return VM_FAIL("stop_grace_ms=0: %s", out);
		return 0;
	}
	return park_killed(a, st, waited, d0, "parked inside on userfaultfd");
}

static int uffd_parked_inside(void)
{
	int was = atk_param_get("stop_grace_ms");

	if (was <= 0)
		return VM_FAIL("stop_grace_ms %d", was);
	if (off_then_on("stop_grace_ms", 0, was, uffd_run, 0))
		return -1;
	return ATK_REFUSED("grace 0: %s; %d: %s", obs->off, was, obs->on);
}

/* Control: parked on userfaultfd in its own code: never killed. */
static int uffd_outside_user(int unused)
{
	int grace = atk_grace_ms(), st;
	pid_t a = park_start(parker_uffd, 0, NULL);

	if (a < 0)
		return -1;
	st = atk_wait_end(a, 2 * grace);
	atk_kill_reap(a);
	if (st != -1)
		return VM_FAIL("parked in its own code: ended 0x%x", st);
	return ATK_REFUSED("parked on userfaultfd in its own code %d ms: "
			   "alive",
			   2 * grace);
}

static int uffd_parked_outside(void)
{
	return atk_as_user(uffd_outside_user, 0);
}

/*
 * A client stopped inside, traced with PTRACE_O_TRACEEXIT: the module's
 * SIGKILL sends it into its exit, where its tracer holds it for as long
 * as it likes (the exit stop comes before its mappings go, and a dying
 * process takes no more SIGKILL). Its death must be marked anyway, since
 * it can never run user code again. @on: tasks_guard (off: no early mark,
 * the death waits for the exit).
 */
static void traced_getter(int go, int unused)
{
	atk_traced_getter(go, big, sizeof(big));
}

static int exit_stop_run(int on)
{
	int st, ms, done, rc, waited;
	char *out = on ? obs->on : obs->off;
	struct timespec t0;
	uint64_t d0 = 0, d1 = 0;
	pid_t a = park_start(traced_getter, 0, &d0);

	if (a < 0)
		return -1;
	if (atk_stop_inside(a) ||
	    ptrace(PTRACE_SETOPTIONS, a, 0, PTRACE_O_TRACEEXIT)) {
		atk_kill_reap(a);
		return VM_FAIL("client never stopped inside, traced");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The module's kill ends the stop; the exit stop is ours to hold. */
	if (waitpid(a, &st, 0) != a || !WIFSTOPPED(st) ||
	    st >> 16 != PTRACE_EVENT_EXIT) {
		atk_kill_reap(a);
		return VM_FAIL("no exit stop (0x%x)", st);
	}
	waited = atk_ms_since(&t0);
	usleep(500000); /* held in its exit stop */
	atk_deaths(&d1);
	rc = atk_writer(on ? 20 : 8, &ms, &done);
	/* A dying process takes no SIGKILL: only its tracer lets it go. */
	ptrace(PTRACE_CONT, a, 0, 0);
	vm_reap(a);
	snprintf(out, sizeof(obs->on),
		 "exit stop at %d ms, %lld deaths, "
		 "%d sets stored (%s)",
		 waited, (long long)(d1 - d0), done,
		 rc == 1 ? "stall"
		 : rc	 ? "NOMEM"
			 : "ok");
	if (on && (d1 != d0 + 1 || rc))
		return VM_FAIL("%s", out);
	if (!on && !rc)
		return VM_FAIL("tasks_guard=0: %s (the attack is not real)",
			       out);
	return 0;
}

static int exit_stop(void)
{
	if (off_then_on("tasks_guard", 0, 1, exit_stop_run, 0))
		return -1;
	return ATK_REFUSED("off: %s; on: %s", obs->off, obs->on);
}

int main(void)
{
	atk_init();
	atk_run("tasks.clone_vm_stopped_inside",
		"A and C killed after the grace; others' sets stored",
		clone_stopped, NULL);
	atk_run("tasks.clone_vm_killed_inside",
		"A killed at once; others' sets stored", clone_killed, NULL);
	atk_run("tasks.clone_vm_dies_holding_class_lock",
		"A killed at once, lock recovered; others' sets stored",
		clone_class_lock, NULL);
	atk_run("tasks.vfork_stopped_inside",
		"parent and child killed after the grace; others' sets stored",
		vfork_stopped, NULL);
	atk_run("tasks.spawn_survives", "vfork/posix_spawn work",
		spawn_survives, NULL);
	atk_run("tasks.uffd_parked_inside",
		"killed after the grace; others' sets stored",
		uffd_parked_inside, NULL);
	atk_run("tasks.killed_held_in_exit_stop",
		"death marked while its tracer holds its exit", exit_stop,
		NULL);
	atk_run("tasks.uffd_parked_outside_survives", "survives",
		uffd_parked_outside, NULL);
	return vm_done();
}
