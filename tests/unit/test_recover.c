// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_recover.c - crash recovery, one crash point at a time.
 *
 * A child process attaches, arms a crash point and runs the write that
 * reaches it; it must die there (SIGILL). The parent (attached all
 * along) then recovers and checks: the dead slot is gone, the store's
 * check is clean and exact, the key holds its old or its new value, and
 * every lock is free (a write to the same key goes through).
 */
#include <signal.h>
#include <stdlib.h>
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
	tcase_add_test(tc, check_counts_and_arm_bounds);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
