// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_watch.c - the none backend's death watcher (libpl/live.c).
 *
 * It must not wake while nothing happens (it blocks in poll on inotify),
 * nor while only other processes call (it parks while this one makes no
 * call), and it must still mark a dead attachment's slots on its own, with no
 * call from this process to prompt it: a survivor spinning on a dead
 * holder's lock depends on that. The store is read directly (none
 * backend: mapped readable here) to see the mark.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include "util.h"
#include <plmc/layout.h>

static void setup(void)
{
	ut_store_up("watch");
}

static void teardown(void)
{
	ut_store_down();
}

/* Context switches of the watcher: the one thread of this process that
 * is not the caller (the test runs single-threaded). -1 if none. */
static long watcher_switches(void)
{
	char path[320], line[256];
	long n = -1, v;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	FILE *f;

	ck_assert(dir);
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || atoi(d->d_name) == (int)gettid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) ==
				    1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %ld",
				   &v) == 1)
				n += v;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* Idle: the watcher sleeps through 300 ms (it woke 150 times before). */
START_TEST(watcher_idle)
{
	struct timespec ts = {0, 300 * 1000 * 1000};
	long a, b;

	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	nanosleep(&ts, NULL); /* past the start-up scan */
	a = watcher_switches();
	ck_assert_int_ge(a, 0);
	nanosleep(&ts, NULL);
	b = watcher_switches();
	ck_assert_msg(b - a <= 2, "watcher woke %ld times while idle", b - a);
}
END_TEST

/*
 * Parked: once this process stops calling, its watcher sleeps with no
 * timeout even while another attachment calls without pause (before, it
 * woke every 16 ms then to ask /proc about that caller: 60 a second).
 * Control: a call of this process wakes it again.
 */
START_TEST(watcher_parks)
{
	struct timespec settle = {1, 200 * 1000 * 1000};
	struct timespec ms100 = {0, 100 * 1000 * 1000};
	long a, b;
	int st;
	/* Shared: the child calls until told to stop (its exit would
	 * wake the watcher: a close event). */
	int *stop = mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ck_assert(stop != MAP_FAILED);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) { /* calls without a pause */
		char buf[8];
		size_t len;

		/* A failed assert ends the parent: end with it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) ||
		    plmc_attach(ut_name, PLMC_USE_AUTO))
			_exit(2);
		while (!__atomic_load_n(stop, __ATOMIC_RELAXED))
			plmc_get("k", 1, buf, sizeof(buf), &len, NULL, NULL);
		_exit(0);
	}
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	nanosleep(&settle, NULL); /* two looks: the second one parks */
	a = watcher_switches();
	ck_assert_int_ge(a, 0);
	nanosleep(&settle, NULL);
	b = watcher_switches();
	ck_assert_msg(b - a <= 1, "watcher woke %ld times while parked", b - a);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	nanosleep(&ms100, NULL);
	ck_assert_msg(watcher_switches() > b, "a call did not wake it");
	__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && !WEXITSTATUS(st));
}
END_TEST

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL + b->tv_nsec - a->tv_nsec;
}

static uint64_t store_clock_ns(void)
{
	const struct plmc_store_hdr *h =
		(const struct plmc_store_hdr *)PLMC_STORE_ADDR;

	return __atomic_load_n(&h->clock_ns, __ATOMIC_RELAXED);
}

/*
 * While this process calls without a pause, the store's clock keeps
 * moving: the watcher publishes it every tick (a call reads no clock
 * then: the first call after a pause reads it and wakes the parked
 * watcher, which ticks from then on). A watcher that does not publish
 * while calls believe it ticks leaves the clock where that first call
 * put it. Sized by the store's own clock: calls until it moved 20 ms
 * (10 ticks) and the watcher ran, or 3 s of the host's went by (on a
 * loaded host the watcher may not get a CPU within the first 20 ms).
 */
START_TEST(clock_moves_while_calling)
{
	struct timespec settle = {1, 200 * 1000 * 1000};
	struct timespec t0, t;
	char buf[8];
	size_t len;
	uint64_t c0, n = 0;
	long w0;

	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	nanosleep(&settle, NULL); /* parked, as in watcher_parks */
	ut_rc(plmc_get("k", 1, buf, sizeof(buf), &len, NULL, NULL), PLMC_OK);
	c0 = store_clock_ns();
	w0 = watcher_switches();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ut_rc(plmc_get("k", 1, buf, sizeof(buf), &len, NULL, NULL),
		      PLMC_OK);
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((store_clock_ns() - c0 < 20 * 1000 * 1000 ||
		  watcher_switches() <= w0) &&
		 ns_between(&t0, &t) < 3000000000LL);
	ck_assert_msg(store_clock_ns() - c0 >= 20 * 1000 * 1000,
		      "the store clock moved %llu ns in %llu calls",
		      (unsigned long long)(store_clock_ns() - c0),
		      (unsigned long long)n);
	/* The watcher ran meanwhile (it keeps the clock). */
	ck_assert_int_gt(watcher_switches(), w0);
}
END_TEST

static const struct plmc_slot *slot_rec(int i)
{
	return (const struct plmc_slot *)(PLMC_STORE_ADDR + PLMC_SLOTS_OFF +
					  (uint64_t)i * PLMC_SLOT_SIZE);
}

/* Return: how many slot records carry a dead mark. */
static int dead_marks(void)
{
	int i, n = 0;

	for (i = 0; i < PLMC_MAX_SLOTS; i++)
		n += __atomic_load_n(&slot_rec(i)->dead, __ATOMIC_ACQUIRE) != 0;
	return n;
}

/* A child attaches, takes a slot and is killed: the parent's watcher,
 * asleep until then, marks the child's slot dead by itself. Control:
 * no mark while the child lives. */
START_TEST(watcher_sees_death)
{
	int go[2], i, st;
	char c;
	pid_t pid;

	ck_assert(!pipe(go));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		close(go[0]);
		if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
		    plmc_set("child", 5, "v", 1, 0, 0) != PLMC_STORED)
			_exit(2);
		if (write(go[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(go[1]);
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	usleep(100 * 1000);
	ck_assert_int_eq(dead_marks(), 0);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	for (i = 0; i < 500 && !dead_marks(); i++)
		usleep(10 * 1000);
	ck_assert_msg(dead_marks() > 0, "no dead mark 5 s after the death");
	/* The survivor carries on and recovers the slot. */
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (strcmp(ut_backend(), "none")) { /* reads the slot records */
		printf("test_watch: backend none only, skipped\n");
		return 0;
	}
	s = suite_create("watch");
	tc = tcase_create("watch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, watcher_idle);
	tcase_add_test(tc, watcher_sees_death);
	tcase_add_test(tc, watcher_parks);
	tcase_add_test(tc, clock_moves_while_calling);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
