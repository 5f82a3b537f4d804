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

/* Put keys from @from on until the store has evicted @n items more;
 * return the next key. */
static int put_until_evicted(int from, uint64_t n)
{
	struct plmc_stats st;
	uint64_t e0;

	ut_rc(plmc_stats(&st), PLMC_OK);
	e0 = st.evictions;
	do {
		put(from++);
		ut_rc(plmc_stats(&st), PLMC_OK);
	} while (st.evictions < e0 + n);
	ck_assert_uint_eq(st.evictions, e0 + n);
	return from;
}

/* A class filled once evicts in the order it was filled (memcached's
 * LRU; t/lru.t). The hand walking the newest page first fails it. */
START_TEST(lru_order)
{
	int first = put_until_evicted(0, 1), i, k = 1000;

	ck_assert_msg(!present(0), "the oldest key went first");
	for (i = 0; i < k; i++)
		put(first + i);
	for (i = 0; i <= k; i++)
		ck_assert_msg(!present(i), "key %d (old) still there", i);
	for (i = k + 1; i < first + k; i++)
		ck_assert_msg(present(i), "key %d (newer) evicted", i);
}
END_TEST

/* Read the eviction log from *cur until it has no more; names the
 * keys it read in @keys (up to @max), returns how many, adds the
 * skipped count to *skipped. */
static int evlog_drain(uint64_t *cur, int *keys, int max, uint64_t *skipped)
{
	struct plmc_evlog l;
	int n = 0;

	do {
		ut_rc(plmc_evictions(*cur, 60, &l), PLMC_OK);
		*skipped += l.skipped;
		for (uint32_t i = 0; i < l.n; i++, n++) {
			const struct plmc_evict_ent *e = &l.ent[i];

			ck_assert_uint_eq(e->klen, 12);
			ck_assert_uint_eq(e->size, 100);
			ck_assert_int_eq(e->ttl, -1);
			ck_assert_uint_eq(e->fetched, 0);
			ck_assert_uint_ge(e->clsid, 1);
			if (n < max)
				keys[n] = atoi(e->key + 4);
		}
		ck_assert_uint_eq(l.next, *cur + l.n + l.skipped);
		*cur = l.next;
	} while (l.n);
	return n;
}

/* The eviction log: nothing written while nobody reads it; with a
 * reader, each evicted key once, in order; a lapped ring counts the
 * lines lost; bad requests change nothing. */
START_TEST(eviction_log)
{
	uint64_t cur, off, skipped = 0;
	struct plmc_evlog l;
	int keys[64], next, n, i;

	ut_rc(plmc_evictions(0, 0, &l), PLMC_OK); /* reads, keeps it off */
	off = l.next;
	ck_assert_uint_eq(l.n, 0);
	next = put_until_evicted(0, 40);
	ut_rc(plmc_evictions(off, 0, &l), PLMC_OK);
	ck_assert_uint_eq(l.n + l.skipped, 0); /* off: no line written */
	ck_assert_uint_eq(l.next, off);

	ut_rc(plmc_evictions(0, 60, &l), PLMC_OK); /* on from now */
	cur = l.next;
	next = put_until_evicted(next, 10);
	n = evlog_drain(&cur, keys, 64, &skipped);
	ck_assert_int_eq(n, 10);
	ck_assert_uint_eq(skipped, 0);
	for (i = 0; i < n; i++) {
		ck_assert_msg(!present(keys[i]), "logged key %d is there",
			      keys[i]);
		ck_assert_int_eq(keys[i], 40 + i); /* LRU order */
	}
	put_until_evicted(next, 100); /* laps the ring of 32 */
	n = evlog_drain(&cur, keys, 64, &skipped);
	ck_assert_int_le(n, 32);
	ck_assert_uint_eq(n + skipped, 100);

	ck_assert_int_eq(plmc_evictions(cur, 3601, &l), PLMC_E_INVAL);
	ck_assert_int_eq(plmc_evictions(cur, 0, NULL), PLMC_E_INVAL);
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
	tcase_add_test(tc, lru_order);
	tcase_add_test(tc, eviction_log);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
