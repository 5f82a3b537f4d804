// SPDX-License-Identifier: MIT
/*
 * vm_death.c - the module notices an attached process die: a client that
 * owns a slot (it made a call) is SIGKILLed; the survivors see deaths and
 * generation go up, its slot marked dead, nattach back down, and their own
 * data intact. A client SIGKILLed while it is inside a call (parked in its
 * copy-out) counts one death and its slot is recovered. A normal exit
 * (libpl's exit handler gives the slots back) is no death, though the
 * module still marks it (generation moves); an _exit owning a slot is one.
 * A client killed holding every slot of a store leaves no one to recover
 * them: a newcomer's claim takes a dead slot over and is served.
 */
#include "harness.h"
#include <poll.h>
#include <pthread.h>

static int stats(struct plmc_stats *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = plmc_stats(st);
	return rc == PLMC_OK ? 0 : VM_FAIL("stats: %s", plmc_strerror(rc));
}

/* Attach, make calls (owning a slot), say so, then wait to be killed. */
static void victim(int ready, int in_loop)
{
	char key[32];
	int i = 0;

	if (vm_attach("death") || vm_roundtrip("victim.key", "v"))
		_exit(1);
	vm_signal_fd(ready);
	if (!in_loop)
		for (;;)
			pause();
	/* Calling all the time: the kill may land inside the gate. */
	for (;;) {
		snprintf(key, sizeof(key), "victim.%d", i++ % 64);
		plmc_set(key, strlen(key), "x", 1, 0, 0);
	}
}

/* Fork @fn(ready, @arg), a victim that writes a byte on ready once it
 * is where it is to be killed, and wait for that. Return: its pid, or -1
 * (why set; the victim is reaped). */
static pid_t victim_start(void (*fn)(int, int), int arg)
{
	int ready[2], st;
	pid_t pid;

	if (pipe(ready))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		fn(ready[1], arg);
	close(ready[1]);
	if (pid < 0 || vm_wait_fd(ready[0])) {
		close(ready[0]);
		st = pid < 0 ? -1 : vm_reap(pid);
		return VM_FAIL("victim did not start (0x%x): %s", st,
			       vm_sh->why);
	}
	close(ready[0]);
	return pid;
}

/* SIGKILL @pid, check that the kill ended it, then the stats into @b.
 * Return: 0 or -1 (why set). */
static int victim_kill(pid_t pid, struct plmc_stats *b)
{
	int st;

	kill(pid, SIGKILL);
	st = vm_reap(pid);
	VM_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		 "victim ended 0x%x", st);
	return stats(b);
}

static int kill_one(int in_loop)
{
	struct plmc_stats a, b;
	pid_t pid;

	if (vm_attach("death") || vm_roundtrip("survivor.key", "mine") ||
	    stats(&a))
		return -1;
	VM_CHECK(a.nattach == 1, "nattach %llu before the victim",
		 (unsigned long long)a.nattach);
	pid = victim_start(victim, in_loop);
	if (pid < 0)
		return -1;
	if (in_loop)
		usleep(20000);
	if (victim_kill(pid, &b))
		return -1;
	VM_CHECK(b.deaths > a.deaths, "deaths %llu -> %llu",
		 (unsigned long long)a.deaths, (unsigned long long)b.deaths);
	VM_CHECK(b.generation > a.generation, "generation %llu -> %llu",
		 (unsigned long long)a.generation,
		 (unsigned long long)b.generation);
	/* Earlier tests' processes may own dead slots too: count up. */
	VM_CHECK(b.dead_slots >= 1 && b.dead_slots > a.dead_slots,
		 "dead_slots %llu -> %llu after the kill",
		 (unsigned long long)a.dead_slots,
		 (unsigned long long)b.dead_slots);
	VM_CHECK(b.nattach == 1, "nattach %llu after the kill",
		 (unsigned long long)b.nattach);
	if (vm_expect_value("survivor.key", "mine") ||
	    vm_expect_value("victim.key", "v") || vm_roundtrip("still", "here"))
		return -1;
	vm_note("deaths %llu->%llu, generation %llu->%llu, dead_slots "
		"%llu->%llu",
		(unsigned long long)a.deaths, (unsigned long long)b.deaths,
		(unsigned long long)a.generation,
		(unsigned long long)b.generation,
		(unsigned long long)a.dead_slots,
		(unsigned long long)b.dead_slots);
	return 0;
}

static int t_sigkill_idle(void)
{
	return kill_one(0);
}

static int t_sigkill_busy(void)
{
	return kill_one(1);
}

/* A child that attaches, makes a call (owning a slot) and ends: by
 * exit() (libpl's exit handler gives its slot back) or by _exit (it
 * dies owning it). Return: 0, or -1 (why set). */
static int child_ends(int by_exit, const char *key)
{
	pid_t pid = fork();
	int st, bad;

	if (pid == 0) {
		bad = vm_attach("death") || vm_roundtrip(key, "bye");
		if (by_exit)
			exit(bad);
		_exit(bad);
	}
	st = vm_reap(pid);
	VM_CHECK(st == 0, "child ended 0x%x: %s", st, vm_sh->why);
	return 0;
}

/*
 * A normal exit is a detach: the module still marks the end (generation
 * moves, nattach goes back) but counts no death. The control, _exit
 * owning a slot, counts one: the count is not blind.
 */
static int t_clean_exit(void)
{
	struct plmc_stats a, b, c;

	if (vm_attach("death") || stats(&a) || child_ends(1, "exit.key") ||
	    stats(&b))
		return -1;
	VM_CHECK(b.generation > a.generation,
		 "generation %llu -> %llu after an exit",
		 (unsigned long long)a.generation,
		 (unsigned long long)b.generation);
	VM_CHECK(b.nattach == a.nattach, "nattach %llu -> %llu",
		 (unsigned long long)a.nattach, (unsigned long long)b.nattach);
	VM_CHECK(b.deaths == a.deaths, "deaths %llu -> %llu after an exit",
		 (unsigned long long)a.deaths, (unsigned long long)b.deaths);
	if (child_ends(0, "_exit.key") || stats(&c))
		return -1;
	VM_CHECK(c.deaths == b.deaths + 1, "deaths %llu -> %llu after _exit",
		 (unsigned long long)b.deaths, (unsigned long long)c.deaths);
	VM_CHECK(c.nattach == a.nattach, "nattach %llu -> %llu after _exit",
		 (unsigned long long)a.nattach, (unsigned long long)c.nattach);
	if (vm_expect_value("exit.key", "bye") ||
	    vm_expect_value("_exit.key", "bye"))
		return -1;
	vm_note("exit: deaths %llu -> %llu; _exit: -> %llu",
		(unsigned long long)a.deaths, (unsigned long long)b.deaths,
		(unsigned long long)c.deaths);
	return 0;
}

#define PARK_LEN 200000

static int park_fd;

/* Says "inside" on @arg's fd once the copy-out faulted on the buffer:
 * nothing else touches it, so the get is then inside the library. */
static void *park_watch(void *arg)
{
	struct pollfd p = {.fd = park_fd, .events = POLLIN};
	struct uffd_msg m;

	if (poll(&p, 1, -1) != 1 || read(park_fd, &m, sizeof(m)) != sizeof(m) ||
	    m.event != UFFD_EVENT_PAGEFAULT)
		_exit(4);
	vm_signal_fd((int)(long)arg);
	for (;;)
		pause();
	return NULL;
}

/* Attach, store a big value, then get it into a buffer nobody serves:
 * the get's copy-out sleeps inside the library for good. */
static void parked_victim(int ready, int unused)
{
	static char big[PARK_LEN];
	pthread_t t;
	size_t vlen;
	char *buf;

	memset(big, 'p', sizeof(big));
	if (vm_attach("death") ||
	    plmc_set("park.key", 8, big, sizeof(big), 0, 0) != PLMC_STORED)
		_exit(1);
	buf = vm_uffd_buffer((PARK_LEN + 8191) & ~4095UL, 0, &park_fd);
	if (!buf || pthread_create(&t, NULL, park_watch, (void *)(long)ready))
		_exit(2);
	plmc_get("park.key", 8, buf, PARK_LEN, &vlen, NULL, NULL);
	_exit(3); /* never: nobody serves the fault */
}

/* The store's own check: no error, no dead slot left. Return: 0 or -1. */
static int check_clean(void)
{
	struct plmc_check ck;
	int rc;

	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	rc = plmc_check(&ck);
	VM_CHECK(rc == PLMC_OK && !ck.errors && !ck.dead_slots,
		 "check %d: %s, %llu dead slots", rc, ck.msg,
		 (unsigned long long)ck.dead_slots);
	return 0;
}

/* After the parked victim's kill: its slot recovered, the check clean,
 * the value its get was reading whole. */
static int parked_recovered(void)
{
	static char got[PARK_LEN];
	size_t vlen = 0, i;
	int n = plmc_recover();
	int rc;

	VM_CHECK(n >= 1, "plmc_recover: %d slots", n);
	if (check_clean())
		return -1;
	rc = plmc_get("park.key", 8, got, sizeof(got), &vlen, NULL, NULL);
	VM_CHECK(rc == PLMC_OK && vlen == PARK_LEN, "get park.key: %s, %zu",
		 plmc_strerror(rc), vlen);
	for (i = 0; i < PARK_LEN; i++)
		VM_CHECK(got[i] == 'p', "park.key byte %zu is 0x%02x", i,
			 (unsigned char)got[i]);
	return 0;
}

/*
 * A client SIGKILLed while inside a call (its get's copy-out parked on a
 * userfaultfd page) is a death: deaths goes up by one, its slot is marked
 * dead, nattach goes back, and recovery frees the slot with the store
 * sound.
 */
static int t_sigkill_inside_call(void)
{
	struct plmc_stats a, b;
	pid_t pid;

	if (vm_attach("death") || stats(&a))
		return -1;
	pid = victim_start(parked_victim, 0);
	if (pid < 0 || victim_kill(pid, &b))
		return -1;
	VM_CHECK(b.deaths == a.deaths + 1, "deaths %llu -> %llu",
		 (unsigned long long)a.deaths, (unsigned long long)b.deaths);
	VM_CHECK(b.dead_slots > a.dead_slots, "dead_slots %llu -> %llu",
		 (unsigned long long)a.dead_slots,
		 (unsigned long long)b.dead_slots);
	VM_CHECK(b.nattach == a.nattach, "nattach %llu -> %llu",
		 (unsigned long long)a.nattach, (unsigned long long)b.nattach);
	if (parked_recovered())
		return -1;
	vm_note("deaths %llu -> %llu, dead_slots %llu, recovered, check "
		"clean",
		(unsigned long long)a.deaths, (unsigned long long)b.deaths,
		(unsigned long long)b.dead_slots);
	return 0;
}

static pthread_barrier_t hold_in, hold_out;

static void *hold_slot(void *arg)
{
	*(long *)arg = plmc_nop();
	pthread_barrier_wait(&hold_in);
	pthread_barrier_wait(&hold_out);
	return NULL;
}

/* Attach to @name and hold every slot (256 threads), then wait. */
static void hog_all(const char *name, int ready)
{
	static pthread_t t[PLMC_MAX_SLOTS];
	static long rc[PLMC_MAX_SLOTS];
	int i;

	if (vm_attach(name) || vm_roundtrip("hog.key", "v"))
		_exit(1);
	pthread_barrier_init(&hold_in, NULL, PLMC_MAX_SLOTS);
	pthread_barrier_init(&hold_out, NULL, PLMC_MAX_SLOTS);
	for (i = 0; i < PLMC_MAX_SLOTS - 1; i++)
		if (pthread_create(&t[i], NULL, hold_slot, &rc[i]))
			_exit(1);
	pthread_barrier_wait(&hold_in);
	for (i = 0; i < PLMC_MAX_SLOTS - 1; i++)
		if (rc[i] != PLMC_OK)
			_exit(1);
	vm_signal_fd(ready);
	for (;;)
		pause();
}

static int t_dead_slots_taken_over(void)
{
	int ready[2], rc;
	pid_t pid;

	plmc_destroy("death-all", 1, PLMC_USE_KMOD);
	rc = plmc_create_quota("death-all", VM_STORE_SIZE, 0600, PLMC_MAX_SLOTS,
			       PLMC_USE_KMOD);
	if (rc)
		return VM_FAIL("create: %s", plmc_strerror(rc));
	if (pipe(ready))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		hog_all("death-all", ready[1]);
	if (vm_wait_fd(ready[0])) {
		vm_reap(pid);
		return VM_FAIL("hog did not take every slot");
	}
	kill(pid, SIGKILL);
	vm_reap(pid);
	/* No one else was attached: only the newcomer's claim can help. */
	if (vm_attach("death-all") || vm_roundtrip("late", "served") ||
	    vm_expect_value("hog.key", "v"))
		return -1;
	plmc_recover();
	if (check_clean())
		return -1;
	plmc_detach();
	plmc_destroy("death-all", 1, PLMC_USE_KMOD);
	vm_note("256 dead slots, newcomer served, check clean");
	return 0;
}

int main(void)
{
	vm_init();
	if (vm_fresh("death", 0600)) {
		printf("FAIL death.setup: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("death.sigkill_idle_client", t_sigkill_idle);
	vm_run("death.sigkill_calling_client", t_sigkill_busy);
	vm_run("death.sigkill_inside_call_counted", t_sigkill_inside_call);
	vm_run("death.clean_exit_no_death", t_clean_exit);
	vm_run("death.dead_slots_taken_over", t_dead_slots_taken_over);
	plmc_destroy("death", 1, PLMC_USE_KMOD);
	return vm_done();
}
