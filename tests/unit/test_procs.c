// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_procs.c - two processes share one store; many threads in
 * each work on it at once; a final check reads everything back.
 *
 * Keys "P:T:i" belong to one thread of one process (value derived from the
 * key, so any reader can check it). Keys "shared:j" are written by every
 * thread; each value carries its own checksum, so a torn or mixed value
 * shows. A fork()ed child attaches on its own (the parent's attachment is
 * not inherited).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "util.h"

#define NTHREADS 8
#define NOPS	 10000
#define NKEYS	 1000 /* per thread: each key written NOPS / NKEYS times */
#define NSHARED	 16

struct worker {
	int proc, thread;
	int bad;
	pthread_t tid;
};

static int own_value(char *v, size_t len, int p, int t, int i)
{
	return snprintf(v, len, "value-%d-%d-%d-%x", p, t, i,
			(unsigned)(p * 7919 + t * 104729 + i * 31));
}

/* Shared values: "w<writer>-<n>-<sum>", sum = writer * 1000003 + n. */
static int shared_value(char *v, size_t len, int w, int n)
{
	return snprintf(v, len, "w%d-%d-%lld", w, n,
			(long long)w * 1000003 + n);
}

static int shared_ok(const char *v, size_t len)
{
	char tmp[64];
	int w, n;
	long long sum;

	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	if (sscanf(tmp, "w%d-%d-%lld", &w, &n, &sum) != 3)
		return 0;
	return sum == (long long)w * 1000003 + n;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char key[64], val[64], buf[64];
	size_t vlen;
	int i;

	for (i = 0; i < NOPS; i++) {
		int k = i % NKEYS;
		int kl = snprintf(key, sizeof(key), "%d:%d:%d", w->proc,
				  w->thread, k);
		int vl = own_value(val, sizeof(val), w->proc, w->thread, k);

		w->bad += plmc_set(key, (size_t)kl, val, (size_t)vl, 0, 0) !=
			  PLMC_STORED;
		if (plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen, NULL,
			     NULL) != PLMC_OK ||
		    vlen != (size_t)vl || memcmp(buf, val, vlen))
			w->bad++;
		if (i % 10 == 0) {
			kl = snprintf(key, sizeof(key), "shared:%d",
				      (i / 10) % NSHARED);
			vl = shared_value(val, sizeof(val),
					  w->proc * 100 + w->thread, i);
			w->bad += plmc_set(key, (size_t)kl, val, (size_t)vl, 0,
					   0) != PLMC_STORED;
		}
	}
	return NULL;
}

/* Run NTHREADS workers as process @proc; return the number of failures. */
static int run_workers(int proc)
{
	struct worker w[NTHREADS];
	int i, bad = 0;

	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.proc = proc, .thread = i};
		if (pthread_create(&w[i].tid, NULL, work, &w[i]))
			return 1000000;
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		bad += w[i].bad;
	}
	return bad;
}

/* Everything process @proc wrote is there, intact. */
static int check_proc(int proc)
{
	char key[64], val[64], buf[64];
	size_t vlen;
	int t, k, bad = 0;

	for (t = 0; t < NTHREADS; t++)
		for (k = 0; k < NKEYS; k++) {
			int kl = snprintf(key, sizeof(key), "%d:%d:%d", proc, t,
					  k);
			int vl = own_value(val, sizeof(val), proc, t, k);

			if (plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen,
				     NULL, NULL) != PLMC_OK ||
			    vlen != (size_t)vl || memcmp(buf, val, vlen))
				bad++;
		}
	for (k = 0; k < NSHARED; k++) {
		int kl = snprintf(key, sizeof(key), "shared:%d", k);

		if (plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen, NULL,
			     NULL) != PLMC_OK ||
		    !shared_ok(buf, vlen))
			bad++;
	}
	return bad;
}

static void setup(void)
{
	ut_store_up("procs");
}

static void teardown(void)
{
	ut_store_down();
}

/* Child: attach, run @fn(arg), detach; exit status = failures (capped). */
static pid_t spawn(int (*fn)(int), int arg, int go_fd)
{
	pid_t pid = fork();
	char c;
	int bad;

	if (pid)
		return pid;
	if (go_fd >= 0 && read(go_fd, &c, 1) != 1)
		_exit(100);
	if (plmc_attach(ut_name, PLMC_USE_AUTO))
		_exit(101);
	bad = fn(arg);
	if (plmc_detach())
		bad++;
	_exit(bad > 99 ? 99 : bad);
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int set_one(int v)
{
	char val[16];
	int n = snprintf(val, sizeof(val), "child%d", v);

	return plmc_set("from-child", 10, val, (size_t)n, (uint32_t)v, 0) !=
	       PLMC_STORED;
}

static int check_parent_key(int unused)
{
	char buf[16];
	size_t vlen;

	return plmc_get("from-parent", 11, buf, sizeof(buf), &vlen, NULL,
			NULL) != PLMC_OK ||
	       vlen != 6 || memcmp(buf, "parent", 6);
}

START_TEST(child_and_parent)
{
	char buf[16];
	size_t vlen;
	uint32_t fl;
	struct plmc_stats st;

	ck_assert_int_eq(reap(spawn(set_one, 77, -1)), 0);
	ut_rc(plmc_get("from-child", 10, buf, sizeof(buf), &vlen, &fl, NULL),
	      PLMC_OK);
	ck_assert(vlen == 7 && !memcmp(buf, "child77", 7));
	ck_assert_uint_eq(fl, 77);
	ut_rc(plmc_set("from-parent", 11, "parent", 6, 0, 0), PLMC_STORED);
	ck_assert_int_eq(reap(spawn(check_parent_key, 0, -1)), 0);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.nattach, 1);
	ck_assert_uint_eq(st.curr_items, 2);
}
END_TEST

START_TEST(threads_two_processes)
{
	int go[2], bad;
	pid_t pid;

	ck_assert_int_eq(pipe(go), 0);
	pid = spawn(run_workers, 1, go[0]);
	ck_assert_int_gt(pid, 0);
	/* Start both sides together. */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	bad = run_workers(0);
	ck_assert_int_eq(reap(pid), 0);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(check_proc(0), 0);
	ck_assert_int_eq(check_proc(1), 0);
	/* And the other way round: a new process reads what the parent and
	 * the first child wrote. */
	ck_assert_int_eq(reap(spawn(check_proc, 0, -1)), 0);
	ck_assert_int_eq(reap(spawn(check_proc, 1, -1)), 0);
}
END_TEST

START_TEST(stats_after_threads)
{
	struct plmc_stats st;

	ck_assert_int_eq(run_workers(0), 0);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, NTHREADS * NKEYS + NSHARED);
	ck_assert_uint_eq(st.cmd_get, NTHREADS * NOPS);
	ck_assert_uint_eq(st.get_hits, NTHREADS * NOPS);
	ck_assert_uint_eq(st.cmd_set, NTHREADS * (NOPS + NOPS / 10));
	/* The workers' slots went back at thread exit; only ours is owned. */
	ck_assert_uint_eq(st.slots_busy, 1);
}
END_TEST

/* Child: attach, set, then leave by @how without plmc_detach. */
static pid_t spawn_leave(int how)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
	    plmc_set("leaver", 6, "v", 1, 0, 0) != PLMC_STORED)
		_exit(101);
	if (how)
		_exit(0); /* no atexit: the attachment dies owning its slot */
	exit(0); /* a return from main: libpl detaches at exit */
}

/*
 * A process that returns from main (or calls exit) without plmc_detach
 * detaches: no death counted, nattach back to this process alone. The
 * control, _exit (no atexit handlers), still counts as the death it is,
 * so the count above is not blind. Every backend: the module (in the
 * test host's run) counts only an end that leaves a slot owned, as
 * libpl's watcher does under none and pku.
 */
START_TEST(exit_is_a_detach)
{
	struct plmc_stats st = { .size = sizeof(st) };

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(reap(spawn_leave(0)), 0);
	plmc_recover();
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.deaths, 0);
	ck_assert_uint_eq(st.nattach, 1);
	ck_assert_uint_eq(st.dead_slots, 0);
	ck_assert_int_eq(reap(spawn_leave(1)), 0);
	for (int i = 0; i < 200 && st.deaths == 0; i++) {
		usleep(10000);
		plmc_recover();
		ut_rc(plmc_stats(&st), PLMC_OK);
	}
	ck_assert_uint_eq(st.deaths, 1);
	ck_assert_uint_eq(st.nattach, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("procs");
	TCase *tc = tcase_create("procs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, child_and_parent);
	tcase_add_test(tc, threads_two_processes);
	tcase_add_test(tc, stats_after_threads);
	tcase_add_test(tc, exit_is_a_detach);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
