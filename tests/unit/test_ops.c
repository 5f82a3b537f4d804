// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_ops.c - set/get/delete round trips, overwrite, flags,
 * CAS, stats counters, exptime.
 */
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <plmc/gate.h>
#include "util.h"

static void setup(void)
{
	ut_store_up("ops");
}

static void teardown(void)
{
	ut_store_down();
}

static int get_rc(const char *key)
{
	char buf[256];
	size_t vlen;

	return plmc_get(key, strlen(key), buf, sizeof(buf), &vlen, NULL, NULL);
}

START_TEST(roundtrip)
{
	ck_assert_str_eq(plmc_backend(), ut_backend());
	ut_rc(plmc_nop(), PLMC_OK);
	ut_rc(plmc_set("alpha", 5, "one", 3, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("beta", 4, "two!", 4, 42, 0), PLMC_STORED);
	ut_get_is("alpha", "one", 0);
	ut_get_is("beta", "two!", 42);
	ut_rc(get_rc("gamma"), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(overwrite_flags_cas)
{
	uint64_t c1, c2, c3;

	ut_rc(plmc_set("k", 1, "first", 5, 1, 0), PLMC_STORED);
	c1 = ut_get_is("k", "first", 1);
	ut_rc(plmc_set("k", 1, "second value", 12, 0xdeadbeef, 0), PLMC_STORED);
	c2 = ut_get_is("k", "second value", 0xdeadbeef);
	ck_assert_uint_gt(c2, c1);
	ut_rc(plmc_set("other", 5, "x", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("k", 1, "", 0, 7, 0), PLMC_STORED);
	c3 = ut_get_is("k", "", 7);
	ck_assert_uint_gt(c3, c2);
	/* A read does not change the CAS. */
	ck_assert_uint_eq(ut_get_is("k", "", 7), c3);
}
END_TEST

START_TEST(delete_then_miss)
{
	ut_rc(plmc_set("gone", 4, "soon", 4, 0, 0), PLMC_STORED);
	ut_get_is("gone", "soon", 0);
	ut_rc(plmc_delete("gone", 4), PLMC_DELETED);
	ut_rc(get_rc("gone"), PLMC_NOT_FOUND);
	ut_rc(plmc_delete("gone", 4), PLMC_NOT_FOUND);
	ut_rc(plmc_set("gone", 4, "back", 4, 0, 0), PLMC_STORED);
	ut_get_is("gone", "back", 0);
}
END_TEST

START_TEST(stats_move)
{
	struct plmc_stats a, b;

	memset(&a, 0xff, sizeof(a));
	ut_rc(plmc_stats(&a), PLMC_OK);
	ck_assert_uint_eq(a.size, sizeof(a));
	ck_assert_uint_eq(a.curr_items, 0);
	ck_assert_uint_eq(a.nattach, 1);
	ck_assert_uint_gt(a.limit_maxbytes, 0);
	ck_assert_uint_le(a.limit_maxbytes, UT_STORE_SIZE);
	ck_assert_uint_ge(a.time, (uint64_t)time(NULL) - 5);
	ck_assert_uint_ge(a.slots_busy, 1);

	ut_rc(plmc_set("s1", 2, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("s2", 2, "vv", 2, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("s1", 2, "v1", 2, 0, 0), PLMC_STORED);
	ut_rc(get_rc("s1"), PLMC_OK);
	ut_rc(get_rc("s2"), PLMC_OK);
	ut_rc(get_rc("nope"), PLMC_NOT_FOUND);
	ut_rc(plmc_delete("s2", 2), PLMC_DELETED);
	ut_rc(plmc_delete("s2", 2), PLMC_NOT_FOUND);

	ut_rc(plmc_stats(&b), PLMC_OK);
	ck_assert_uint_eq(b.curr_items, 1);
	ck_assert_uint_eq(b.total_items - a.total_items, 3);
	ck_assert_uint_eq(b.cmd_set - a.cmd_set, 3);
	ck_assert_uint_eq(b.cmd_get - a.cmd_get, 3);
	ck_assert_uint_eq(b.get_hits - a.get_hits, 2);
	ck_assert_uint_eq(b.get_misses - a.get_misses, 1);
	ck_assert_uint_eq(b.delete_hits - a.delete_hits, 1);
	ck_assert_uint_eq(b.delete_misses - a.delete_misses, 1);
	ck_assert_uint_gt(b.bytes, a.bytes);
	ck_assert_uint_eq(b.evictions, 0);
}
END_TEST

START_TEST(exptime_negative)
{
	ut_rc(plmc_set("neg", 3, "v", 1, 0, -1), PLMC_STORED);
	ut_rc(get_rc("neg"), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(exptime_relative)
{
	ut_rc(plmc_set("rel", 3, "v", 1, 0, 10), PLMC_STORED);
	ut_rc(plmc_set("never", 5, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(get_rc("rel"), PLMC_OK);
	ut_rc(plmc_clock_advance(5), PLMC_OK);
	ut_rc(get_rc("rel"), PLMC_OK);
	ut_rc(plmc_clock_advance(6), PLMC_OK);
	ut_rc(get_rc("rel"), PLMC_NOT_FOUND);
	ut_rc(get_rc("never"), PLMC_OK);
}
END_TEST

START_TEST(exptime_absolute)
{
	int32_t now = (int32_t)time(NULL);

	ut_rc(plmc_set("past", 4, "v", 1, 0, now - 100), PLMC_STORED);
	ut_rc(get_rc("past"), PLMC_NOT_FOUND);
	ut_rc(plmc_set("future", 6, "v", 1, 0, now + 3600), PLMC_STORED);
	ut_rc(get_rc("future"), PLMC_OK);
	ut_rc(plmc_clock_advance(3601), PLMC_OK);
	ut_rc(get_rc("future"), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(many_keys)
{
	char key[32], val[64], buf[64];
	size_t vlen;
	int i;

	for (i = 0; i < 20000; i++) {
		int kl = snprintf(key, sizeof(key), "key:%d", i);
		int vl = snprintf(val, sizeof(val), "value-%d-%d", i, i * 7);

		ut_rc(plmc_set(key, (size_t)kl, val, (size_t)vl, (uint32_t)i,
			       0),
		      PLMC_STORED);
	}
	for (i = 0; i < 20000; i++) {
		int kl = snprintf(key, sizeof(key), "key:%d", i);
		int vl = snprintf(val, sizeof(val), "value-%d-%d", i, i * 7);
		uint32_t fl;

		ut_rc(plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen, &fl,
			       NULL),
		      PLMC_OK);
		ck_assert_uint_eq(vlen, (size_t)vl);
		ck_assert(memcmp(buf, val, vlen) == 0);
		ck_assert_uint_eq(fl, (uint32_t)i);
	}
}
END_TEST

/*
 * A store created without PLMC_CREATE_TEST_IMAGE runs the production
 * image: it refuses the test-only ops with PLMC_E_TESTONLY and changes
 * nothing (the clock stays, an arm never fires). The same calls on the
 * test image (every other test here) succeed.
 */
START_TEST(prod_refuses_test_ops)
{
	char buf[8];
	size_t vlen;
	int i;

	ut_make_name("prod");
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_AUTO), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 100), PLMC_STORED);
	ut_rc(plmc_clock_advance(3600), PLMC_E_TESTONLY);
	ut_rc(plmc_clock_advance(-3600), PLMC_E_TESTONLY);
	ut_rc(plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL), PLMC_OK);
	for (i = 1; i < PLMC_CRASH_COUNT; i++)
		ut_rc(plmc_crash_arm(i), PLMC_E_TESTONLY);
	/* Every point would have fired somewhere in these. */
	ut_rc(plmc_set("k", 1, "w", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_touch("k", 1, 10), PLMC_TOUCHED);
	ut_rc(plmc_delete("k", 1), PLMC_DELETED);
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ck_assert_str_eq(plmc_strerror(PLMC_E_TESTONLY),
			 "test-only operation: the store runs the production "
			 "image (create it with the test image)");
	ut_store_down();
}
END_TEST

START_TEST(create_flags_checked)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = UT_STORE_SIZE,
		.mode = 0600,
		/* the lowest bit above every known flag (0x2 is now
		 * PLMC_CREATE_GROUP) */
		.flags = (PLMC_CREATE_FLAGS << 1) & ~PLMC_CREATE_FLAGS,
	};

	ut_make_name("flags");
	ut_rc(plmc_create_ex(ut_name, &o), -EINVAL);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -ENOENT);
	/* a gid without PLMC_CREATE_GROUP is a mistake, not ignored */
	o.flags = 0;
	o.gid = 100;
	ut_rc(plmc_create_ex(ut_name, &o), -EINVAL);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -ENOENT);
}
END_TEST

/* PLMC_CREATE_GROUP: the store's group (none: the file's), mode as given;
 * without it the caller's egid. Root may name any group. */
START_TEST(create_group)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = UT_STORE_SIZE,
		.mode = 0660,
		.flags = PLMC_CREATE_GROUP,
		.gid = 4242,
	};
	char path[128];
	struct stat st;

	if (geteuid() != 0)
		return; /* another user may name only its own groups */
	ut_make_name("group");
	ut_rc(plmc_create_ex(ut_name, &o), 0);
	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", ut_name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_gid, 4242);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
	o.flags = 0;
	o.gid = 0;
	ut_rc(plmc_create_ex(ut_name, &o), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_gid, getegid());
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");
	TCase *tp = tcase_create("prod");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, overwrite_flags_cas);
	tcase_add_test(tc, delete_then_miss);
	tcase_add_test(tc, stats_move);
	tcase_add_test(tc, exptime_negative);
	tcase_add_test(tc, exptime_relative);
	tcase_add_test(tc, exptime_absolute);
	tcase_add_test(tc, many_keys);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 30);
	tcase_add_test(tp, prod_refuses_test_ops);
	tcase_add_test(tp, create_flags_checked);
	tcase_add_test(tp, create_group);
	suite_add_tcase(s, tp);
	return ut_run(s);
}
