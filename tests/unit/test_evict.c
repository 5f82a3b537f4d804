// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_evict.c - a full store evicts (CLOCK within the size
 * class) instead of failing, keeps what is read, and counts it.
 */
#include <stdlib.h>
#include "util.h"

#define SMALL_STORE (4ULL << 20)

static void setup(void)
{
	int rc;

	ut_make_name("evict");
	rc = ut_create(ut_name, SMALL_STORE);
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

static void teardown(void)
{
	ut_store_down();
}

static int key_of(char *k, int i)
{
	return snprintf(k, 32, "key:%08d", i);
}

static int present(int i)
{
	char k[32], buf[128];
	size_t vlen;
	int kl = key_of(k, i);

	return plmc_get(k, (size_t)kl, buf, sizeof(buf), &vlen, NULL, NULL) ==
	       PLMC_OK;
}

static void put(int i)
{
	char k[32], v[100];
	int kl = key_of(k, i);

	memset(v, 'a' + i % 26, sizeof(v));
	ut_rc(plmc_set(k, (size_t)kl, v, sizeof(v), (uint32_t)i, 0),
	      PLMC_STORED);
}

/* 100k items of ~180 bytes through a 4 MiB store: every set succeeds,
 * the newest survive, counts add up. */
START_TEST(fill_evicts)
{
	enum { N = 100000 };
	struct plmc_stats st;
	uint64_t hits = 0;
	int i;

	for (i = 0; i < N; i++)
		put(i);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, N / 2);
	ck_assert_uint_eq(st.evicted_unfetched, st.evictions);
	ck_assert_uint_eq(st.curr_items + st.evictions, N);
	for (i = N - 100; i < N; i++)
		ck_assert_msg(present(i), "recent key %d evicted", i);
	for (i = 0; i < N; i++)
		hits += (uint64_t)present(i);
	ck_assert_uint_eq(hits, st.curr_items);
	ck_assert_uint_le(st.bytes, st.limit_maxbytes);
}
END_TEST

/* A key read between hand passes keeps its reference bit and stays. */
START_TEST(hot_key_stays)
{
	struct plmc_stats st;
	int i;

	put(-1);
	for (i = 0; i < 120000; i++) {
		put(i);
		if (i % 200 == 0)
			ck_assert_msg(present(-1), "hot key evicted at %d", i);
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 50000);
	ck_assert(present(-1));
	ck_assert_uint_lt(st.evicted_unfetched, st.evictions + 1);
}
END_TEST

/* Large items: one per page; overwriting and new keys keep working. */
START_TEST(large_values)
{
	size_t len = 400 * 1024;
	char *v = malloc(len), *buf = malloc(len), k[32];
	struct plmc_stats st;
	size_t vlen;
	int i;

	ck_assert(v && buf);
	for (i = 0; i < 40; i++) {
		int kl = key_of(k, i);

		memset(v, 'A' + i % 26, len);
		ut_rc(plmc_set(k, (size_t)kl, v, len, 0, 0), PLMC_STORED);
		ut_rc(plmc_get(k, (size_t)kl, buf, len, &vlen, NULL, NULL),
		      PLMC_OK);
		ck_assert_uint_eq(vlen, len);
		ck_assert(!memcmp(buf, v, len));
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 0);
	free(v);
	free(buf);
}
END_TEST

/* Expired items found by the hand are reclaimed, not counted evicted. */
START_TEST(expired_first)
{
	struct plmc_stats st;
	char k[32], v[100];
	int i, n;

	memset(v, 'x', sizeof(v));
	ut_rc(plmc_stats(&st), PLMC_OK);
	n = (int)(st.limit_maxbytes / 176 * 9 / 10); /* 90% of the store */
	for (i = 0; i < n; i++) {
		int kl = key_of(k, i);

		ut_rc(plmc_set(k, (size_t)kl, v, sizeof(v), 0, 5), PLMC_STORED);
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.evictions, 0);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	for (i = n; i < 2 * n; i++)
		put(i);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_gt(st.reclaimed, 0);
	ck_assert_uint_eq(st.expired_unfetched, st.reclaimed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evict");
	TCase *tc = tcase_create("evict");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fill_evicts);
	tcase_add_test(tc, hot_key_stays);
	tcase_add_test(tc, large_values);
	tcase_add_test(tc, expired_first);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
