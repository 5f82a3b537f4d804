// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_recover.c - crash recovery, one crash point at a time.
 *
 * A child process attaches, arms a crash point and runs the write that
 * reaches it; it must die there (SIGILL). The parent (attached all
 * along) then recovers and checks: the dead slot is gone, the store's
 * check is clean and exact, the key holds its old or its new value, and
 * every lock is free (a write to the same key goes through).
 * Also: a death is acted on before the dead process's exit ends, no
 * chunk stays stranded on the retired list of a slot nobody owns, and
 * the liveness files of dead attachments go (none and pku backends).
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <utime.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <plmc/gate.h>
#include "util.h"

static void setup(void)
{
	ut_store_up("recover");
}

static void teardown(void)
{
	ut_store_down();
}

static void get_str(const char *key, char *buf, size_t len, int *rc)
{
	size_t vl = 0;

	*rc = plmc_get(key, strlen(key), buf, len - 1, &vl, NULL, NULL);
	buf[*rc == PLMC_OK ? vl : 0] = 0;
}

/* Child: attach, run @op on "k" with the point armed; never returns. */
static void child(int point, int op)
{
	int i;

	if (plmc_attach(ut_name, PLMC_USE_AUTO))
		_exit(10);
	if (plmc_crash_arm(point) != PLMC_OK)
		_exit(11);
	for (i = 0; i < 100; i++) {
		if (op == 0)
			plmc_set("k", 1, "new", 3, 0, 0);
		else if (op == 1)
			plmc_add("k", 1, "new", 3, 0, 0);
		else if (op == 2)
			plmc_delete("k", 1);
		else if (op == 3)
			plmc_touch("k", 1, 0);
		else
			plmc_flush_all(0);
	}
	_exit(0); /* the point was never reached */
}

/* Run a child that must die at @point doing @op; then recover + check. */
static void crash_at(int point, int op)
{
	struct plmc_check ck;
	char v[16];
	pid_t pid;
	int st, rc, n;

	ut_rc(plmc_set("k", 1, "old", 3, 0, 0), PLMC_STORED);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child(point, op);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGILL,
		      "%s: child did not die at the point (status %#x)",
		      plmc_crash_name(point), st);
	n = plmc_recover();
	ck_assert_msg(n >= 1, "%s: recovered %d", plmc_crash_name(point), n);
	memset(&ck, 0, sizeof(ck));
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(!ck.errors && ck.quiescent && !ck.dead_slots &&
			      !ck.locks_held,
		      "%s: check: %s", plmc_crash_name(point), ck.msg);
	get_str("k", v, sizeof(v), &rc);
	if (op == 2 || op == 4)
		ck_assert_msg(rc == PLMC_NOT_FOUND || !strcmp(v, "old"),
			      "%s: %d '%s'", plmc_crash_name(point), rc, v);
	else
		ck_assert_msg(rc == PLMC_OK &&
				      (!strcmp(v, "old") || !strcmp(v, "new")),
			      "%s: %d '%s'", plmc_crash_name(point), rc, v);
	/* Nothing is left locked: the same key takes a write. */
	ut_rc(plmc_set("k", 1, "after", 5, 0, 0), PLMC_STORED);
	get_str("k", v, sizeof(v), &rc);
	ck_assert_str_eq(v, "after");
}

START_TEST(points_on_set)
{
	static const int p[] = {
		PLMC_CRASH_ALLOC_LOCKED, PLMC_CRASH_ALLOC_TX,
		PLMC_CRASH_BUILT,	 PLMC_CRASH_WR_LOCKED,
		PLMC_CRASH_LINK_TX,	 PLMC_CRASH_LINKED,
		PLMC_CRASH_UNLOCKED,	 PLMC_CRASH_RETIRE_TX,
	};
	size_t i;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		crash_at(p[i], 0);
}
END_TEST

START_TEST(points_on_add_delete_touch_flush)
{
	crash_at(PLMC_CRASH_FREE_TX, 1); /* add refused: chunk freed */
	crash_at(PLMC_CRASH_LINK_TX, 2); /* delete */
	crash_at(PLMC_CRASH_RETIRE_TX, 2);
	crash_at(PLMC_CRASH_TOUCH, 3);
	crash_at(PLMC_CRASH_FLUSH, 4);
}
END_TEST

/* A live writer waiting on a dead writer's lock recovers it itself. */
START_TEST(dead_lock_holder_does_not_block)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0)
		child(PLMC_CRASH_WR_LOCKED, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGILL);
	/* No plmc_recover: the watcher marks, the gate or lock recovers. */
	ut_rc(plmc_set("k", 1, "live", 4, 0, 0), PLMC_STORED);
	ut_rc(plmc_delete("k", 1), PLMC_DELETED);
}
END_TEST

/*
 * A check that finds a lock held by a slot whose death no call has
 * recovered yet (plctl check racing a client's death) says recovery is
 * pending, not FAILED: the next call releases it. The outside check saw
 * "FAILED: lock held by a dead slot" 4 times in 1,500 checks, the next
 * one ok. Once recovered, the check is clean and no lock is held.
 */
START_TEST(check_dead_holder_pending)
{
	struct plmc_check ck;
	pid_t pid;
	int st, i;

	/* This thread's own slot first: a first call after the death could
	 * take over the dead one's, and recover it before the check. */
	ut_rc(plmc_nop(), PLMC_OK);
	pid = fork();
	if (pid == 0)
		child(PLMC_CRASH_WR_LOCKED, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGILL);
	/* CHECK recovers nothing. The death is marked by an attach (none
	 * and pku backends: libpl's scan, before any call; the module at
	 * the process's exit), which here makes no call: nothing recovers. */
	pid = fork();
	if (pid == 0)
		_exit(plmc_attach(ut_name, PLMC_USE_AUTO) ? 2 : 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < 500; i++) {
		memset(&ck, 0, sizeof(ck));
		ck.size = sizeof(ck);
		ut_rc(plmc_check(&ck), PLMC_OK);
		if (ck.dead_slots)
			break;
		usleep(10000);
	}
	ck_assert_uint_ge(ck.dead_slots, 1);
	ck_assert_uint_ge(ck.locks_held, 1);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 0);
	ck_assert_msg(strstr(ck.msg, "recovery pending"), "msg: %s", ck.msg);
	ck_assert_int_ge(plmc_recover(), 1);
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.locks_held, 0);
	ck_assert_uint_eq(ck.quiescent, 1);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *set_k(void *arg)
{
	return (void *)(intptr_t)plmc_set("k", 1, "w", 1, 0, 0);
}

/*
 * A client dies holding a stripe lock while its process's exit cannot
 * finish: a child it made without libpl (a raw clone, as a program that
 * forks behind the library's back) holds its liveness lock. The death is
 * known anyway (the process is gone: /proc), so two waiters on the lock
 * are served in well under a second, not when the child goes. (none and
 * pku backends; the module sees the death at its own file release.)
 */
START_TEST(death_known_before_exit_ends)
{
	pthread_t t[2];
	int p[2], st, i;
	pid_t pid, orphan = 0;
	double t0, dt;
	void *rc;

	if (!strcmp(plmc_backend(), "kmod"))
		return;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		long c;

		if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
		    plmc_crash_arm(PLMC_CRASH_WR_LOCKED) != PLMC_OK)
			_exit(10);
		c = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		if (c == 0)
			for (;;)
				syscall(SYS_pause);
		if (write(p[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(11);
		plmc_set("k", 1, "x", 1, 0, 0); /* dies holding the lock */
		_exit(12);
	}
	{
		long c;

		ck_assert_int_eq(read(p[0], &c, sizeof(c)), sizeof(c));
		orphan = (pid_t)c;
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGILL);
	t0 = now_s();
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, set_k, NULL);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &rc);
		ut_rc((int)(intptr_t)rc, PLMC_STORED);
	}
	dt = now_s() - t0;
	kill(orphan, SIGKILL);
	waitpid(orphan, NULL, 0);
	fprintf(stderr,
		"death_known_before_exit_ends: waiters served in "
		"%.3f s\n",
		dt);
	ck_assert_msg(dt < 1.0, "waiters took %.3f s", dt);
}
END_TEST

static int hold_pipe = -1;

/* SIGILL at the armed point, holding the stripe lock: say so, hold it
 * 400 ms (alive), then die. */
static void hold_then_die(int sig)
{
	struct timespec ts = {0, 400 * 1000 * 1000};

	(void)sig;
	if (write(hold_pipe, "h", 1) != 1)
		_exit(3);
	nanosleep(&ts, NULL);
	_exit(0);
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int race_cpu = -1, waiter_done;
static double waiter_cpu, rival_cpu;

static void pin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(race_cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *waiter(void *arg)
{
	double t0;
	long rc;

	pin();
	t0 = thread_cpu_s();
	rc = plmc_set("k", 1, "w", 1, 0, 0);
	waiter_cpu = thread_cpu_s() - t0;
	__atomic_store_n(&waiter_done, 1, __ATOMIC_RELEASE);
	return (void *)rc;
}

static void *rival(void *arg)
{
	double t0;

	pin();
	t0 = thread_cpu_s();
	while (!__atomic_load_n(&waiter_done, __ATOMIC_ACQUIRE))
		;
	rival_cpu = thread_cpu_s() - t0;
	return NULL;
}

/*
 * A waiter on a lock whose live holder keeps it 400 ms gives the CPU
 * away: pinned to one CPU with a busy rival thread, it uses a small
 * fraction of the rival's CPU time (a pure spin takes an equal share).
 * (none only: the holder sits in its SIGILL handler at the point, on
 * the slot stack, which only the none backend leaves writable to it.)
 */
START_TEST(waiter_yields)
{
	pthread_t w, r;
	int p[2], st;
	pid_t pid;
	void *rc;
	char c;

	if (strcmp(plmc_backend(), "none"))
		return;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		hold_pipe = p[1];
		signal(SIGILL, hold_then_die);
		if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
		    plmc_crash_arm(PLMC_CRASH_WR_LOCKED) != PLMC_OK)
			_exit(10);
		plmc_set("k", 1, "x", 1, 0, 0);
		_exit(11);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1); /* the lock is held */
	race_cpu = sched_getcpu();
	waiter_done = 0;
	pthread_create(&r, NULL, rival, NULL);
	pthread_create(&w, NULL, waiter, NULL);
	pthread_join(w, &rc);
	pthread_join(r, NULL);
	ut_rc((int)(intptr_t)rc, PLMC_STORED);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	fprintf(stderr, "waiter_yields: waiter %.3f s CPU, rival %.3f s\n",
		waiter_cpu, rival_cpu);
	ck_assert_msg(waiter_cpu * 4 < rival_cpu,
		      "waiter %.3f s of CPU against the rival's %.3f s",
		      waiter_cpu, rival_cpu);
}
END_TEST

/* A child: store and delete @n keys of its own, then wait to be killed. */
static void churn_child(int n, int ready)
{
	char key[32];
	int i;

	if (plmc_attach(ut_name, PLMC_USE_AUTO))
		_exit(1);
	for (i = 0; i < n; i++) {
		int kl = snprintf(key, sizeof(key), "c%d", i);

		if (plmc_set(key, (size_t)kl, "v", 1, 0, 0) != PLMC_STORED ||
		    plmc_delete(key, (size_t)kl) != PLMC_DELETED)
			_exit(2);
	}
	if (write(ready, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static void *churn_thread(void *arg)
{
	char key[32];
	long bad = 0;
	int i;

	for (i = 0; i < 300; i++) {
		int kl = snprintf(key, sizeof(key), "t%ld.%d", (long)arg, i);

		bad += plmc_set(key, (size_t)kl, "v", 1, 0, 0) != PLMC_STORED;
		bad += plmc_delete(key, (size_t)kl) != PLMC_DELETED;
	}
	return (void *)bad;
}

/*
 * Every key deleted leaves no chunk on a retired list of a slot nobody
 * owns: 8 threads that exited (their slots released) and a process
 * killed after deleting its keys (its slot recovered) retired items; a
 * thousand calls of this thread later, all are free.
 */
START_TEST(no_chunks_stranded)
{
	struct plmc_check ck;
	int p[2], st, i;
	pid_t pid;
	char c;

	ut_rc(ut_threads(churn_thread, 8), 0);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		churn_child(300, p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_ge(plmc_recover(), 1);
	for (i = 0; i < 1000; i++)
		ut_rc(plmc_get("none", 4, NULL, 0, NULL, NULL, NULL),
		      PLMC_NOT_FOUND);
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(!ck.errors && ck.quiescent, "check: %s", ck.msg);
	ck_assert_msg(ck.retired == 0 && ck.items == 0 &&
			      ck.free == ck.chunks - ck.held,
		      "retired %llu, items %llu, free %llu of %llu chunks",
		      (unsigned long long)ck.retired,
		      (unsigned long long)ck.items, (unsigned long long)ck.free,
		      (unsigned long long)ck.chunks);
}
END_TEST

/* How many liveness files of store @name are in /dev/shm; the first's
 * name into @first. */
static int live_files(const char *name, char *first, size_t n)
{
	char pre[96];
	struct dirent *d;
	DIR *dir = opendir("/dev/shm");
	int k = 0;

	snprintf(pre, sizeof(pre), ".plmc.%s.", name);
	ck_assert_ptr_nonnull(dir);
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, pre, strlen(pre))) {
			if (!k && first)
				snprintf(first, n, "%.100s", d->d_name);
			k++;
		}
	closedir(dir);
	return k;
}

static void plant(const char *name, const char *tail, int old)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/.plmc.%s.%s", name, tail);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	if (old) {
		struct utimbuf u = {.actime = time(NULL) - 3600,
				    .modtime = time(NULL) - 3600};

		ck_assert_int_eq(utime(path, &u), 0);
	}
}

/* A child attached to ut_name that made a call and waits to be killed.
 * Return: its pid, once it is attached. */
static pid_t spawn_attached(void)
{
	int up[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(up), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (plmc_attach(ut_name, PLMC_USE_AUTO) || plmc_nop() ||
		    write(up[1], "u", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	close(up[0]);
	close(up[1]);
	return pid;
}

/*
 * Liveness files (none and pku): those of attachments that died before
 * anyone looked (planted here, and clients killed at random points of
 * attach and detach) are removed, nattach counts exactly the attached,
 * and destroy --force removes every file, held ones included.
 */
START_TEST(liveness_files_cleaned)
{
	struct plmc_stats sts;
	char first[128];
	int i, st;
	pid_t pid;

	if (!strcmp(plmc_backend(), "kmod"))
		return;
	plant(ut_name, "999999.live", 0);
	plant(ut_name, "999998.live.1.tmp", 1);
	srand(7);
	for (i = 0; i < 30; i++) {
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			for (;;) {
				plmc_attach(ut_name, PLMC_USE_AUTO);
				plmc_nop();
				plmc_detach();
			}
		usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	}
	ck_assert_int_ge(plmc_recover(), 0);
	ut_rc(plmc_stats(&sts), PLMC_OK);
	ck_assert_uint_eq(sts.nattach, 1);
	ck_assert_msg(live_files(ut_name, first, sizeof(first)) == 1,
		      "%d files, first %s", live_files(ut_name, NULL, 0),
		      first);
	/* A live attachment's file, then destroy --force. */
	pid = spawn_attached();
	ut_rc(plmc_stats(&sts), PLMC_OK);
	ck_assert_uint_eq(sts.nattach, 2);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_destroy(ut_name, 1, PLMC_USE_AUTO), 0);
	ck_assert_int_eq(live_files(ut_name, NULL, 0), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/*
 * destroy (not forced) refuses while a client is attached, and not after
 * the last one died with nobody attached to recount nattach: the held
 * liveness files decide. (none and pku)
 */
START_TEST(destroy_after_deaths)
{
	pid_t pid;

	if (!strcmp(plmc_backend(), "kmod"))
		return;
	pid = spawn_attached();
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), -EBUSY);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
	ck_assert_int_eq(live_files(ut_name, NULL, 0), 0);
}
END_TEST

/* The check counts what is there; a bad arm is refused. */
START_TEST(check_counts_and_arm_bounds)
{
	struct plmc_check ck;
	char key[16];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		ut_rc(plmc_set(key, strlen(key), "v", 1, 0, 0), PLMC_STORED);
	}
	ut_rc(plmc_delete("key7", 4), PLMC_DELETED);
	memset(&ck, 0, sizeof(ck));
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(!ck.errors, "%s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 1);
	ck_assert_uint_eq(ck.items, 99);
	ck_assert_uint_eq(ck.chunks, ck.items + ck.free + ck.retired);
	ck_assert_str_eq(ck.msg, "ok");
	ut_rc(plmc_crash_arm(PLMC_CRASH_COUNT), PLMC_E_INVAL);
	ut_rc(plmc_crash_arm(-1), PLMC_E_INVAL);
	ut_rc(plmc_crash_arm(0), PLMC_OK);
	ut_rc(plmc_recover(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("recover");
	TCase *tc = tcase_create("recover");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, points_on_set);
	tcase_add_test(tc, points_on_add_delete_touch_flush);
	tcase_add_test(tc, dead_lock_holder_does_not_block);
	tcase_add_test(tc, check_dead_holder_pending);
	tcase_add_test(tc, check_counts_and_arm_bounds);
	tcase_add_test(tc, death_known_before_exit_ends);
	tcase_add_test(tc, waiter_yields);
	tcase_add_test(tc, no_chunks_stranded);
	tcase_add_test(tc, liveness_files_cleaned);
	tcase_add_test(tc, destroy_after_deaths);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
