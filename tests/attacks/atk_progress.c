/* SPDX-License-Identifier: MIT */
/*
 * atk_progress - a thread inside one library call is judged by its
 * progress, not by its state (SECURITY.md, hole 14).
 *
 * The attacks run as uid 12345 against the root-created store, first with
 * progress_guard=0 (the module judges a thread by its state only, as
 * before the fix), where they must get through, then with it on, where
 * the client must be killed after stop_grace_ms. After each, another
 * client overwrites three times the store: with the attack alive (its
 * call still in flight: required) its sets fail once the parked
 * thread's epoch keeps a store's worth of retired memory (reported),
 * after the kill all of them must be stored.
 *
 *   - woken loop: a thread copies a 500 KB value out into a buffer
 *     registered with userfaultfd (UFFD_USER_MODE_ONLY); nobody serves the
 *     fault, but another thread wakes it every 100 us (UFFDIO_WAKE). It
 *     never moves, yet it is runnable at some checks, and a state judge
 *     restarts its clock at each of those (at some runs it is asleep at
 *     every check and the state judge kills it too: with the defence off
 *     this row only reports what happened);
 *   - the same with the parked thread at SCHED_IDLE and pinned to the
 *     CPU of a spinner of its own: once woken it stays runnable, starved;
 *   - the same woken with no pause: the thread mostly runs the kernel's
 *     fault path, so it is on its CPU at most checks.
 *
 * Controls (the module on):
 *   - a waiter on a held-up holder: H stops inside holding a size-class
 *     lock (the crash point alloc_locked, traced: the SIGILL stops it);
 *     W's set of that class waits on the lock, napping in the image. H
 *     is killed after the grace; W lives, and its set is stored once H's
 *     lock is recovered. (With progress_guard=0 the state judge may kill
 *     W too, since it naps inside: reported, not required.)
 *   - a stopped waiter is no waiter: W, waiting on H's lock, is stopped
 *     inside by its tracer; both are killed after the grace;
 *   - a long call that runs: a check of a store holding many items,
 *     beside eight spinners on the same CPU (so it runs a ninth of the
 *     time, off its CPU at most checks), that outlasts stop_grace_ms (as
 *     it was, or lowered from earlier such checks: see long_caller()):
 *     it gains user time and lives.
 */
/* The waiter control stops a holder at a crash point: the test image. */
#define ATK_TEST_IMAGE 1
/*
 * A bound per row, not a verdict: each row runs two attacks with their
 * kills, writers and fresh stores; beside two CPU hogs on the host
 * (6.12) the woken rows passed 60 s.
 */
#define VM_LIMIT_S 180
#include "park.h"
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/syscall.h>

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void *spinner(void *arg)
{
	pin((int)(long)arg);
	for (;;)
		__asm__ volatile("" ::: "memory");
	return NULL;
}

/* The woken-loop attacker's fault: its fd and range; wake with no pause. */
static int wk_fd, wk_tight;
static char *wk_buf;
static size_t wk_len;

/* Wake the parked thread every 100 us, or with no pause (the woken
 * thread then mostly runs the kernel's fault path, on its CPU); never
 * serve its fault. */
static void *waker(void *arg)
{
	struct uffdio_range r = {.start = (uintptr_t)wk_buf, .len = wk_len};
	struct uffd_msg m;

	pin(0);
	for (;;) {
		while (read(wk_fd, &m, sizeof(m)) == sizeof(m))
			;
		ioctl(wk_fd, UFFDIO_WAKE, &r);
		if (!wk_tight)
			usleep(100);
	}
	return NULL;
}

enum { W_PLAIN, W_IDLE, W_TIGHT };

/* A: parks inside a get on a userfaultfd buffer, woken in a loop. */
static void parker_woken(int go, int mode)
{
	struct sched_param sp = {0};
	pthread_t t;
	size_t vlen;

	wk_len = PARK_BUF_LEN;
	wk_buf = park_prepare(O_NONBLOCK, &wk_fd);
	if (pthread_create(&t, NULL, waker, NULL))
		_exit(3);
	wk_tight = mode == W_TIGHT;
	if (mode == W_IDLE) {
		if (pthread_create(&t, NULL, spinner, (void *)1L))
			_exit(4);
		pin(1);
		if (sched_setscheduler(0, SCHED_IDLE, &sp))
			_exit(5);
	}
	vm_signal_fd(go);
	plmc_get("park-big", 8, wk_buf, BIG, &vlen, NULL, NULL);
	_exit(6); /* never: nobody serves the fault */
}

/*
 * How long after the grace a parked or stopped client may be killed: a
 * bound on the wait, not a verdict. The module counts at most 200 ms a
 * walk, so walks late on a loaded host make the kill later (atk_signal
 * allows as much).
 */
#define KILL_WAIT 15000

/* Slots busy in the store now (a call in flight), or -1. */
static int busy_slots(void)
{
	struct plmc_stats st;
	pid_t c = fork();

	if (c == 0) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		if (vm_attach(ATK_STORE) || plmc_stats(&st))
			_exit(255);
		_exit((int)st.slots_busy);
	}
	c = c < 0 ? -1 : vm_reap(c);
	return c != -1 && WIFEXITED(c) ? WEXITSTATUS(c) : -1;
}

/* One run of a woken-loop attack. @arg: mode | on << 4. */
static int woken_run(int arg)
{
	int st, ms, done, rc, waited, grace = atk_grace_ms();
	int mode = arg & 15, on = arg >> 4;
	struct timespec t0;
	uint64_t d0 = 0;
	pid_t a = park_start(parker_woken, mode, &d0);

	if (a < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Off: alive the grace and 3 s more; on: killed (KILL_WAIT). */
	st = atk_wait_end(a, grace + (on ? KILL_WAIT : 3000));
	waited = atk_ms_since(&t0);
	if (!on) {
		int busy = busy_slots();
		char *out = obs->off;

		rc = atk_writer(8, &ms, &done);
		atk_kill_reap(a);
		snprintf(out, sizeof(obs->off), "%s %d ms, %d busy, %d sets %s",
			 st == -1 ? "alive" : "killed", waited, busy, done,
			 rc == 1 ? "stall"
			 : rc	 ? "NOMEM"
				 : "ok");
		/*
		 * Alive with its call in flight (its slot and the stats
		 * child's): what the progress judge is there to end. Woken
		 * every 100 us, or woken with no pause (mostly on its CPU),
		 * the thread is asleep at some runs' every check, and the
		 * state judge kills it then (the tight one at 2.1 and 4.9 s
		 * in two runs): reported only. The idle one (SCHED_IDLE
		 * beside a spinner, the shape found from outside) is the
		 * row that must get through the state judge.
		 */
		if (mode == W_IDLE && (st != -1 || busy < 2))
			return VM_FAIL("progress_guard=0: %s (ended 0x%x): "
				       "the attack is not real",
				       out, st);
		return 0;
	}
	return park_killed(a, st, waited, d0, "woken in a loop inside");
}

/* progress_guard=0 (the attack gets through), then 1 (killed). */
static int woken(int mode)
{
	if (atk_grace_ms() <= 0)
		return VM_FAIL("no stop_grace_ms");
	if (off_then_on("progress_guard", 0, 1, woken_run, mode))
		return -1;
	return ATK_REFUSED("off: %s; on: %s", obs->off, obs->on);
}

static int woken_inside(void)
{
	return woken(W_PLAIN);
}

static int woken_idle_inside(void)
{
	return woken(W_IDLE);
}

static int woken_tight_inside(void)
{
	return woken(W_TIGHT);
}

/* H: stops inside holding a class lock (traced: SIGILL stops it). */
static void holder(int go)
{
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) || vm_attach(ATK_STORE))
		_exit(1);
	vm_signal_fd(go);
	/* Same class as W's value: 4000 bytes. */
	plmc_crash_arm(PLMC_CRASH_ALLOC_LOCKED);
	plmc_set("lock-new", 8, big, 4000, 0, 0);
	_exit(2); /* the crash point did not fire */
}

/*
 * Make the pipe @go and H, and wait until H stopped at its crash point.
 * Return: H's pid, or -1 (VM_FAIL said why).
 */
static pid_t holder_start(int go[2])
{
	pid_t h;
	int st;

	if (pipe(go))
		return VM_FAIL("pipe");
	h = fork();
	if (h == 0)
		holder(go[1]);
	if (h < 0 || vm_wait_fd(go[0]) || waitpid(h, &st, 0) != h ||
	    !WIFSTOPPED(st) || WSTOPSIG(st) != SIGILL) {
		atk_kill_reap(h);
		return VM_FAIL("the holder did not stop at its crash point");
	}
	return h;
}

/*
 * W: one set of that class, its end timed from @t0: the parent's clock
 * just before W's fork, H already stopped (W's own fork and attach, slow
 * on a loaded host, must not shorten the time it is seen to wait).
 */
static void waiter(int go, bool traced, const struct timespec *t0)
{
	if ((traced && ptrace(PTRACE_TRACEME, 0, 0, 0)) || vm_attach(ATK_STORE))
		_exit(1);
	vm_signal_fd(go);
	obs->w_rc = plmc_set("w-key", 5, big, 4000, 0, 0);
	obs->w_ms = atk_ms_since(t0);
	obs->w_done = 1;
	_exit(0);
}

/* One run of the waiter control. @on: progress_guard. */
static int waiter_run(int on)
{
	int go[2], sth, stw, waited, grace = atk_grace_ms();
	char *out = on ? obs->on : obs->off;
	struct timespec t0;
	pid_t h, w;

	obs->w_done = 0;
	h = holder_start(go);
	if (h < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = fork();
	if (w == 0)
		waiter(go[1], false, &t0);
	close(go[1]);
	if (w < 0 || vm_wait_fd(go[0])) {
		atk_kill_reap(h);
		atk_kill_reap(w);
		return VM_FAIL("the waiter did not attach");
	}
	sth = atk_wait_end(h, grace + KILL_WAIT);
	waited = atk_ms_since(&t0);
	stw = atk_wait_end(w, KILL_WAIT);
	snprintf(out, sizeof(obs->on), "holder %s %d ms, waiter %s, %s %d ms",
		 atk_killed(sth) ? "killed" : "alive", waited,
		 atk_killed(stw) ? "killed"
		 : stw == -1 ? "alive"
			     : "done",
		 !obs->w_done ? "not done" : plmc_strerror(obs->w_rc),
		 obs->w_ms);
	atk_kill_reap(h);
	atk_kill_reap(w);
	if (!on)
		return 0;
	if (!atk_killed(sth) || waited < grace - 300)
		return VM_FAIL("holder stopped inside with a lock: %s", out);
	if (stw == -1 || !WIFEXITED(stw) || !obs->w_done ||
	    obs->w_rc != PLMC_STORED || obs->w_ms < grace - 300)
		return VM_FAIL("waiter on the held lock: %s", out);
	return 0;
}

static int waiter_survives(void)
{
	if (atk_grace_ms() <= 0)
		return VM_FAIL("no stop_grace_ms");
	if (off_then_on("progress_guard", 0, 1, waiter_run, 0))
		return -1;
	return ATK_REFUSED("on: %s (off: %s)", obs->on, obs->off);
}

/*
 * A stopped waiter is no waiter: H stops holding the lock, W waits on it
 * and is then stopped inside by its tracer (the test). H is killed after
 * the grace; W, stopped with its epoch announced and nobody left to free
 * the lock it waits on, must be killed too (the waiter rule spares only a
 * waiter that can move when the lock does).
 */
static int stopped_waiter_run(int unused)
{
	int go[2], sth, stw, waited, grace = atk_grace_ms();
	struct timespec t0;
	pid_t h, w;

	h = holder_start(go);
	if (h < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = fork();
	if (w == 0)
		waiter(go[1], true, &t0);
	if (w < 0 || vm_wait_fd(go[0])) {
		atk_kill_reap(h);
		atk_kill_reap(w);
		return VM_FAIL("the waiter did not attach");
	}
	usleep(300000); /* napping on the lock by now */
	if (atk_stop_inside(w)) {
		atk_kill_reap(h);
		atk_kill_reap(w);
		return VM_FAIL("the waiter never stopped inside");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sth = atk_wait_end(h, grace + KILL_WAIT);
	stw = atk_wait_end(w, grace + KILL_WAIT);
	waited = atk_ms_since(&t0);
	atk_kill_reap(h);
	atk_kill_reap(w);
	if (!atk_killed(sth) || !atk_killed(stw) || obs->w_done)
		return VM_FAIL("holder %s, stopped waiter %s after %d ms",
			       atk_killed(sth) ? "killed" : "not killed",
			       atk_killed(stw) ? "killed" : "not killed", waited);
	snprintf(obs->on, sizeof(obs->on),
		 "holder and stopped waiter killed, %d ms after the stop",
		 waited);
	return 0;
}

static int stopped_waiter(void)
{
	obs = atk_shared(sizeof(*obs));
	if (!obs || atk_grace_ms() <= 0)
		return VM_FAIL("no shared page or grace");
	if (atk_fresh_store() || atk_as_user(stopped_waiter_run, 0))
		return -1;
	return ATK_REFUSED("%s", obs->on);
}

/* Fill the store with @n small items. Return: 0 or -1. */
static int fill(int from, int n)
{
	char k[32];
	int i, kl;

	for (i = from; i < from + n; i++) {
		kl = snprintf(k, sizeof(k), "fill-%d", i);
		if (plmc_set(k, kl, "x", 1, 0, 0) != PLMC_STORED)
			return -1;
	}
	return 0;
}

/* One check, timed in ms; -1 if it did not answer ok. */
static int check_ms(void)
{
	struct plmc_check c;
	struct timespec t0;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plmc_check(&c) || c.errors)
		return -1;
	return atk_ms_since(&t0);
}

/*
 * L: a check of a store holding many items, on CPU 1 beside LONG_SPIN
 * spinners (so it runs about a ninth of the time and is off its CPU at
 * most of the module's walks), must live through a grace it outlasts by
 * LONG_MARGIN ms. The walks come every 100 ms: the first that sees the
 * call is at most 100 ms into it, and the call lasts past that walk plus
 * the grace plus one more, so a judge that ignored its progress (its
 * user time) would find it in the same call for the whole grace and
 * kill it.
 *
 * How long the check lasts beside the spinners is not known beforehand:
 * under TCG it scales with the host's load, and a lone check is no guide
 * (218 ms alone, then 1,052 ms beside eight spinners, on a host at load
 * 6). So the grace comes from the checks beside the spinners themselves.
 * The first runs under the grace as it was (2,000 ms by default); while a
 * check falls short of the grace in effect plus LONG_MARGIN, L asks the
 * root side for long_grace() of the longer of that check and the one
 * before (the grace only goes down, and no further than it must: beside
 * two CPU hogs on the host, checks of 1,832 then 701 ms took it to 400
 * ms, and the module, given fewer ticks by the starved test host, found
 * L 520 ms without a user tick) and checks again, LONG_TRIES checks at
 * most; a check too short even for the lowest grace lowers nothing and
 * gets as many items again (20,000 at least, LONG_ITEMS in all; filled
 * on CPU 0, away from the spinners). A check counts only under a grace of
 * LONG_MIN_GRACE or more that read the same before and after it.
 *
 * The grace stays two thirds of a check like the one to come: the
 * longer the call, the longer the grace, and a false kill needs grace /
 * 100 walks in a row without one user tick (25 / (LONG_SPIN + 1) ticks a
 * walk at HZ 250 on a quiet host: about e^-8 for 300 ms, e^-28 for 1,000;
 * a host that starves the test host's CPUs delivers fewer ticks: L's
 * trace notes CPU 1's user time during each check, a ninth of it L's).
 */
#define LONG_SPIN      8
#define LONG_MARGIN    200
#define LONG_MIN_GRACE 300
#define LONG_TRIES     8
#define LONG_ITEMS     240000 /* about a full 16 MiB store of small items */
#define LONG_STEP      20000

/* The grace to ask for after a check of @ms beside the spinners. */
static int long_grace(int ms)
{
	int g = ms * 2 / 3 / 100 * 100;

	return g < LONG_MIN_GRACE ? LONG_MIN_GRACE : g;
}

/*
 * CPU 1's user time so far, in ms, from its tick-sampled counters
 * (/proc/stat): what the module's judge sees of L and its spinners. A
 * check's share of it is a ninth; at HZ 250 a tick is 4 ms. Reported
 * only: a host that starves the test host's CPUs gives fewer ticks.
 */
static long cpu1_user_ms(void)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long u = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "cpu1 ", 5) &&
		    sscanf(line + 5, "%llu", &u) != 1)
			u = 0;
	fclose(f);
	return (long)(u * 1000 / sysconf(_SC_CLK_TCK));
}

/* Add " @ms/@grace/@user" to L's trace of its checks (obs->off). */
static void long_note(int ms, int grace, long user)
{
	size_t l = strlen(obs->off);

	snprintf(obs->off + l, sizeof(obs->off) - l, " %d/%d/%ld", ms, grace,
		 user);
}

/* Ask the root side for grace @g (obs->w_ms) and wait until it holds. */
static int long_set_grace(int g)
{
	int k;

	obs->w_ms = g;
	for (k = 0; k < 500 && atk_grace_ms() != g; k++)
		usleep(10000);
	return atk_grace_ms() == g ? 0 : -1;
}

/*
 * Fill until a lone check lasts 150 ms or the store holds LONG_ITEMS (a
 * start: the checks beside the spinners decide), and note "alone N ms,
 * M items; ms/grace" in L's trace. Return: the items, or -1.
 */
static int long_fill(void)
{
	int n = 0, ms;

	while ((ms = check_ms()) >= 0 && ms < 150 && n < LONG_ITEMS) {
		if (fill(n, LONG_STEP))
			return -1;
		n += LONG_STEP;
	}
	snprintf(obs->off, sizeof(obs->off),
		 "alone %d ms, %d items; ms/grace/cpu1 user", ms, n);
	return ms < 0 ? -1 : n;
}

/*
 * L, as the test user. Exits 0 once a check outlasted its grace (the
 * check's ms in obs->w_rc, the grace in obs->w_done), 7 if none did in
 * LONG_TRIES checks; 1 to 5 on a failure to attach, fill, spin, check or
 * get a grace set.
 */
static void long_caller(void)
{
	int n, k, ms, g, want, prev = 0, more;
	long user;
	pthread_t t;

	if (vm_attach(ATK_STORE))
		_exit(1);
	pin(0);
	n = long_fill();
	if (n < 0)
		_exit(2);
	for (k = 0; k < LONG_SPIN; k++)
		if (pthread_create(&t, NULL, spinner, (void *)1L))
			_exit(3);
	for (k = 0; k < LONG_TRIES;) {
		pin(1);
		g = atk_grace_ms();
		user = cpu1_user_ms();
		ms = check_ms();
		if (ms < 0)
			_exit(4);
		long_note(ms, g, cpu1_user_ms() - user);
		if (g >= LONG_MIN_GRACE && atk_grace_ms() == g &&
		    ms >= g + LONG_MARGIN) {
			obs->w_rc = ms;
			obs->w_done = g;
			_exit(0);
		}
		/*
		 * Too short even for the lowest grace: more items (as many
		 * again), the grace kept (a check of an empty store took 360
		 * ms alone on a starved host, then 0 ms: no grace is lowered
		 * on such a check). Not a try: the fills are bounded.
		 */
		if (ms < LONG_MIN_GRACE + LONG_MARGIN + 100 && n < LONG_ITEMS) {
			more = n > LONG_STEP ? n : LONG_STEP;
			if (more > LONG_ITEMS - n)
				more = LONG_ITEMS - n;
			pin(0);
			if (fill(n, more))
				_exit(2);
			n += more;
			continue;
		}
		k++;
		want = long_grace(ms > prev ? ms : prev);
		prev = ms;
		if ((want < g || g < LONG_MIN_GRACE) && long_set_grace(want))
			_exit(5);
	}
	_exit(7);
}

/* The user side: L's verdict (the grace it outlasted, checked again). */
static int long_call_run(int unused)
{
	pid_t l = fork();
	int st;

	if (l == 0)
		long_caller();
	if (l < 0)
		return VM_FAIL("fork");
	/* A bound on a hung run, not a verdict: L ends by itself. */
	st = atk_wait_end(l, 120000);
	if (st == -1) {
		atk_kill_reap(l);
		return VM_FAIL("L still checking after 120 s (%s)", obs->off);
	}
	if (atk_killed(st))
		return VM_FAIL("L killed (%s)",
			       obs->off[0] ? obs->off : "while filling");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 7)
		return VM_FAIL("no check outlasted its grace by %d ms (%s)",
			       LONG_MARGIN, obs->off);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || obs->w_done < LONG_MIN_GRACE ||
	    obs->w_rc < obs->w_done + LONG_MARGIN)
		return VM_FAIL("L ended 0x%x (%s)", st, obs->off);
	snprintf(obs->on, sizeof(obs->on),
		 "check %d ms beside %d spinners, grace %d: lives", obs->w_rc,
		 LONG_SPIN, obs->w_done);
	return 0;
}

/* Root side: sets the grace L asks for (obs->w_ms), puts it back after. */
static int long_call(void)
{
	int was = atk_grace_ms(), rc, set = 0, want, top;
	pid_t u;

	obs = atk_shared(sizeof(*obs));
	if (!obs || was <= 0 || atk_fresh_store())
		return VM_FAIL("no shared page, grace or store");
	/* L only lowers the grace (or raises one under the floor to it). */
	top = was > LONG_MIN_GRACE ? was : LONG_MIN_GRACE;
	u = fork();
	if (u == 0) {
		for (;;) { /* until killed after the run */
			want = obs->w_ms;
			if (want != set && want >= LONG_MIN_GRACE &&
			    want <= top &&
			    !atk_param_set("stop_grace_ms", want))
				set = want;
			usleep(10000);
		}
	}
	rc = u < 0 ? VM_FAIL("fork") : atk_as_user(long_call_run, 0);
	atk_kill_reap(u);
	atk_param_set("stop_grace_ms", was);
	if (rc)
		return -1;
	return ATK_REFUSED("%s (%s)", obs->on, obs->off);
}

int main(void)
{
	atk_init();
	atk_run("progress.uffd_woken_inside",
		"killed after the grace; others' sets stored", woken_inside,
		NULL);
	atk_run("progress.uffd_woken_idle_inside",
		"killed after the grace; others' sets stored",
		woken_idle_inside, NULL);
	atk_run("progress.uffd_woken_tight_inside",
		"killed after the grace; others' sets stored",
		woken_tight_inside, NULL);
	atk_run("progress.waiter_survives_held_holder",
		"holder killed after the grace; the waiter's set stored",
		waiter_survives, NULL);
	atk_run("progress.stopped_waiter_killed",
		"holder and stopped waiter killed after the grace",
		stopped_waiter, NULL);
	atk_run("progress.long_call_survives",
		"a check longer than the grace, off its CPU, lives", long_call,
		NULL);
	return vm_done();
}
