// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_slots.c - thread slots: released at thread exit and at
 * detach, NOSLOT when every slot is held, and a slot held by another
 * process is skipped (the gate answers BUSY, libpl moves on).
 */
#include <pthread.h>
#include <sys/wait.h>
#include "util.h"
#include <plmc/layout.h>

static void setup(void)
{
	ut_store_up("slots");
}

static void teardown(void)
{
	ut_store_down();
}

static void *one_set(void *arg)
{
	char key[32];
	int n = snprintf(key, sizeof(key), "t%ld", (long)(intptr_t)arg);

	return (void *)(intptr_t)plmc_set(key, (size_t)n, "v", 1, 0, 0);
}

static uint64_t slots_busy(void)
{
	struct plmc_stats st;

	ck_assert_int_eq(plmc_stats(&st), PLMC_OK);
	return st.slots_busy;
}

START_TEST(many_short_threads)
{
	struct plmc_stats st;
	long i;

	for (i = 0; i < PLMC_MAX_SLOTS + 44; i++) {
		pthread_t t;
		void *rc;

		ck_assert_int_eq(pthread_create(&t, NULL, one_set, (void *)i),
				 0);
		ck_assert_int_eq(pthread_join(t, &rc), 0);
		ck_assert_msg((intptr_t)rc == PLMC_STORED, "thread %ld: %s", i,
			      plmc_strerror((int)(intptr_t)rc));
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, PLMC_MAX_SLOTS + 44);
	ck_assert_uint_eq(st.slots_busy, 1);
}
END_TEST

/* Threads that stay alive, each holding its slot, until released. */
static pthread_barrier_t hold_in, hold_out;

static void *hold_slot(void *arg)
{
	int *rc = arg;

	*rc = plmc_nop();
	pthread_barrier_wait(&hold_in);
	pthread_barrier_wait(&hold_out);
	return NULL;
}

static void *nop_thread(void *arg)
{
	return (void *)(intptr_t)plmc_nop();
}

START_TEST(noslot_when_full)
{
	enum { N = PLMC_MAX_SLOTS - 1 }; /* plus this thread: all slots */
	static pthread_t t[N];
	static int rc[N];
	pthread_t extra;
	void *xrc;
	int i;

	ut_rc(plmc_nop(), PLMC_OK);
	pthread_barrier_init(&hold_in, NULL, N + 1);
	pthread_barrier_init(&hold_out, NULL, N + 1);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hold_slot, &rc[i]),
				 0);
	pthread_barrier_wait(&hold_in);
	for (i = 0; i < N; i++)
		ut_rc(rc[i], PLMC_OK);
	ck_assert_uint_eq(slots_busy(), PLMC_MAX_SLOTS);
	ck_assert_int_eq(pthread_create(&extra, NULL, nop_thread, NULL), 0);
	pthread_join(extra, &xrc);
	ut_rc((int)(intptr_t)xrc, PLMC_E_NOSLOT);
	pthread_barrier_wait(&hold_out);
	for (i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(slots_busy(), 1);
	ck_assert_int_eq(pthread_create(&extra, NULL, nop_thread, NULL), 0);
	pthread_join(extra, &xrc);
	ut_rc((int)(intptr_t)xrc, PLMC_OK);
}
END_TEST

/*
 * A child process holds slot 0 (its first thread's) while the parent,
 * freshly attached, makes its first call: the gate says BUSY on index 0
 * and libpl moves to the next index.
 */
START_TEST(foreign_slot_skipped)
{
	int up[2], down[2], st;
	pid_t pid;
	char c;

	ut_rc(plmc_detach(), 0);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = plmc_attach(ut_name, PLMC_USE_AUTO) != 0;

		bad |= plmc_nop() != PLMC_OK; /* takes slot 0 */
		bad |= write(up[1], "u", 1) != 1;
		bad |= read(down[0], &c, 1) != 1;
		bad |= plmc_detach() != 0;
		_exit(bad);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	ck_assert_uint_eq(slots_busy(), 2);
	ck_assert_int_eq(write(down[1], "d", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The child's detach gave its slot back. */
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

START_TEST(detach_releases)
{
	pthread_t t;
	void *rc;

	ck_assert_int_eq(pthread_create(&t, NULL, nop_thread, NULL), 0);
	pthread_join(t, &rc);
	ut_rc(plmc_nop(), PLMC_OK);
	ck_assert_uint_eq(slots_busy(), 1);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	/* Only the slot of this call: the old attachment's went back. */
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("slots");
	TCase *tc = tcase_create("slots");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, many_short_threads);
	tcase_add_test(tc, noslot_when_full);
	tcase_add_test(tc, foreign_slot_skipped);
	tcase_add_test(tc, detach_releases);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
