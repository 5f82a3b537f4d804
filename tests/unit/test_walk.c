// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_walk.c - plmc_walk(): the store's item walk behind
 * memcached's "lru_crawler metadump", "stats cachedump" and
 * "lru_crawler crawl".
 *
 * Every live item is reported exactly once when nothing changes, with
 * its metadata; dead (expired, flushed) ones are not; a class filter
 * keeps only that class; reclaim unlinks the dead ones, counts them per
 * class and frees their chunks; bad requests change nothing; and a walk
 * run while writers store and delete never blocks them and never
 * reports a key twice when nothing is replaced.
 */
#include <pthread.h>
#include "util.h"
#include <plmc/layout.h>

#define NKEYS 5000

static void setup(void)
{
	ut_store_up("walk");
}

static void teardown(void)
{
	ut_store_down();
}

/* Every item of a whole walk into @seen (index from the key "k<i>"). */
static long walk_all(int cls, int reclaim, unsigned char *seen, long *reaped)
{
	struct plmc_walk *w = malloc(sizeof(*w));
	uint64_t cur = 0, after = 0;
	long n = 0, calls = 0;

	ck_assert(w);
	if (reaped)
		*reaped = 0;
	do {
		ut_rc(plmc_walk(cur, after, cls, reclaim, w), PLMC_OK);
		ck_assert_uint_le(w->n, PLMC_WALK_MAX);
		for (uint32_t i = 0; i < w->n; i++) {
			const struct plmc_walk_item *e = &w->ent[i];
			int k;

			/* a block's items come in CAS order, above the
			 * cursor's: never in bucket order (no bucket leaks) */
			ck_assert_uint_gt(e->cas,
					  i ? w->ent[i - 1].cas : after);

			ck_assert_uint_eq(strlen(e->key), e->klen);
			if (seen && sscanf(e->key, "k%d", &k) == 1 && k >= 0 &&
			    k < NKEYS) {
				ck_assert_msg(!seen[k], "k%d reported twice",
					      k);
				seen[k] = 1;
			}
			n++;
		}
		if (reaped)
			*reaped += w->reclaimed;
		ck_assert(w->next > cur || w->done ||
			  (w->next == cur && w->next_after > after));
		cur = w->next;
		after = w->next_after;
		ck_assert_int_lt(++calls, 1 << 22);
	} while (!w->done);
	free(w);
	return n;
}

START_TEST(walk_reports_every_live_item)
{
	static unsigned char seen[NKEYS];
	char key[32], val[600];
	struct plmc_walk *w = malloc(sizeof(*w));
	int i, found = 0;

	memset(val, 'v', sizeof(val));
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		/* two value sizes: two classes */
		ut_rc(plmc_set(key, strlen(key), val, i % 2 ? 500 : 5,
			       (uint32_t)i, i % 3 ? 0 : 3600),
		      PLMC_STORED);
	}
	ck_assert_int_eq(walk_all(0, 0, seen, NULL), NKEYS);
	for (i = 0; i < NKEYS; i++)
		ck_assert_msg(seen[i], "k%d not reported", i);

	/* metadata of one item, as stored */
	{
		uint64_t cas;
		size_t vlen;
		uint32_t fl;
		char buf[600];
		uint64_t cur = 0, after = 0;

		ut_rc(plmc_get("k9", 2, buf, sizeof(buf), &vlen, &fl, &cas),
		      PLMC_OK);
		do {
			ut_rc(plmc_walk(cur, after, 0, 0, w), PLMC_OK);
			for (uint32_t j = 0; j < w->n; j++) {
				const struct plmc_walk_item *e = &w->ent[j];

				if (strcmp(e->key, "k9"))
					continue;
				found = 1;
				ck_assert_uint_eq(e->cas, cas);
				ck_assert_uint_eq(e->flags, 9);
				ck_assert_uint_eq(e->vlen, 500);
				ck_assert_uint_eq(e->size, PLMC_ITEM_HDR + 2 + 500);
				ck_assert_uint_ne(e->exptime,
						  0); /* 9 % 3 == 0 */
				ck_assert_uint_eq(e->fetched, 1);
				ck_assert_uint_ge(e->cls, 1);
			}
			cur = w->next;
			after = w->next_after;
		} while (!w->done);
	}
	ck_assert(found);
	free(w);
}
END_TEST

/* The class filter: the two classes partition the items. */
START_TEST(walk_class_filter)
{
	struct plmc_class_stats cs[64];
	char key[32], val[600] = {0};
	size_t n = 0, i;
	long total = 0;

	for (int k = 0; k < 1000; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		ut_rc(plmc_set(key, strlen(key), val, k % 2 ? 500 : 5, 0, 0),
		      PLMC_STORED);
	}
	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (i = 0; i < n; i++) {
		long got = walk_all((int)cs[i].id, 0, NULL, NULL);

		ck_assert_int_eq(got, (long)cs[i].number);
		total += got;
	}
	ck_assert_int_eq(total, 1000);
}
END_TEST

/* Expired and flushed items are not reported; reclaim unlinks them,
 * counts them as crawler_reclaimed and frees their chunks. */
START_TEST(walk_skips_and_reclaims_dead)
{
	struct plmc_class_stats cs[64];
	char key[32];
	size_t n = 0, i;
	uint64_t used0 = 0, used1 = 0, recl = 0;
	long reaped;

	for (int k = 0; k < 300; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		ut_rc(plmc_set(key, strlen(key), "ok", 2, 0, k < 100 ? 0 : 2),
		      PLMC_STORED);
	}
	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (i = 0; i < n; i++)
		used0 += cs[i].used_chunks;
	ut_rc(plmc_clock_advance(5), PLMC_OK);
	ck_assert_int_eq(walk_all(0, 0, NULL, &reaped), 100);
	ck_assert_int_eq(reaped, 0);
	ck_assert_int_eq(walk_all(0, 1, NULL, &reaped), 100);
	ck_assert_int_eq(reaped, 200);
	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (i = 0; i < n; i++) {
		used1 += cs[i].used_chunks;
		recl += cs[i].crawler_reclaimed;
	}
	ck_assert_uint_eq(recl, 200);
	ck_assert_uint_eq(used0 - used1, 200); /* freed, not only unlinked */
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ck_assert_int_eq(walk_all(0, 0, NULL, NULL), 0);
}
END_TEST

/* Bad requests: refused, nothing written. */
START_TEST(walk_refuses_bad_requests)
{
	struct plmc_walk *w = malloc(sizeof(*w));

	memset(w, 0xa5, sizeof(*w));
	ut_rc(plmc_walk(0, 0, 64, 0, w), PLMC_E_INVAL); /* no such class */
	ut_rc(plmc_walk(0, 0, -1, 0, w), PLMC_E_INVAL);
	ut_rc(plmc_walk(0, 0, 0, 2, w), PLMC_E_INVAL); /* reclaim: 0 or 1 */
	/* past the table */
	ut_rc(plmc_walk(1ULL << 40, 0, 0, 0, w), PLMC_E_INVAL);
	ut_rc(plmc_walk(0, 0, 0, 0, NULL), PLMC_E_INVAL);
	ck_assert_uint_eq(w->n, 0xa5a5a5a5u);
	/* an output inside the store's window: the confused deputy */
	ut_rc(plmc_walk(0, 0, 0, 0, (struct plmc_walk *)(uintptr_t)PLMC_BASE),
	      PLMC_E_FAULT);
	free(w);
}
END_TEST

static volatile int stop_writers;

static void *writer(void *arg)
{
	char key[32];
	long id = (long)(intptr_t)arg;
	unsigned x = (unsigned)id * 2654435761u + 1;

	while (!stop_writers) {
		x = x * 1103515245u + 12345u;
		snprintf(key, sizeof(key), "w%ld-%u", id, (x >> 8) % 4000);
		if (x & 1)
			ck_assert_int_eq(
				plmc_set(key, strlen(key), "x", 1, 0, 0),
				PLMC_STORED);
		else
			plmc_delete(key, strlen(key));
	}
	return NULL;
}

/* Walks while writers store and delete: every key set before and never
 * touched is reported exactly once each time. */
START_TEST(walk_under_writers)
{
	static unsigned char seen[NKEYS];
	pthread_t t[2];
	char key[32];

	for (int k = 0; k < NKEYS; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		ut_rc(plmc_set(key, strlen(key), "v", 1, 0, 0), PLMC_STORED);
	}
	stop_writers = 0;
	for (long i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer,
						(void *)(intptr_t)i),
				 0);
	for (int round = 0; round < 5; round++) {
		memset(seen, 0, sizeof(seen));
		walk_all(0, 0, seen, NULL);
		for (int k = 0; k < NKEYS; k++)
			ck_assert_msg(seen[k], "k%d missed in round %d", k,
				      round);
	}
	stop_writers = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
END_TEST

/* A walk across the table's growth (table.c): the 60,000 keys stored
 * before it are each reported exactly once, though 120,000 more stored
 * early in it double the table under it. */
#define NGROW 60000

START_TEST(walk_across_growth)
{
	static unsigned char seen[NGROW];
	struct plmc_walk *w = malloc(sizeof(*w));
	struct plmc_stats st0 = {.size = sizeof(st0)};
	struct plmc_stats st1 = {.size = sizeof(st1)};
	uint64_t cur = 0, after = 0;
	long calls = 0;
	char key[32];
	int k, grown = 0;

	ck_assert(w);
	for (k = 0; k < NGROW; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		ut_rc(plmc_set(key, strlen(key), "v", 1, 0, 0), PLMC_STORED);
	}
	ut_rc(plmc_stats(&st0), PLMC_OK);
	do {
		ut_rc(plmc_walk(cur, after, 0, 0, w), PLMC_OK);
		for (uint32_t i = 0; i < w->n; i++)
			if (sscanf(w->ent[i].key, "k%d", &k) == 1 && k >= 0 &&
			    k < NGROW) {
				ck_assert_msg(!seen[k], "k%d reported twice",
					      k);
				seen[k] = 1;
			}
		cur = w->next;
		after = w->next_after;
		if (++calls == 3 && !grown) { /* early on: grow */
			for (k = 0; k < 120000; k++) {
				snprintf(key, sizeof(key), "g%d", k);
				ut_rc(plmc_set(key, strlen(key), "v", 1, 0, 0),
				      PLMC_STORED);
			}
			grown = 1;
		}
	} while (!w->done);
	ut_rc(plmc_stats(&st1), PLMC_OK);
	ck_assert_msg(st1.hash_buckets > st0.hash_buckets,
		      "the table did not grow (%llu buckets)",
		      (unsigned long long)st1.hash_buckets);
	for (k = 0; k < NGROW; k++)
		ck_assert_msg(seen[k], "k%d missed", k);
	free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walk");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, walk_reports_every_live_item);
	tcase_add_test(tc, walk_class_filter);
	tcase_add_test(tc, walk_skips_and_reclaims_dead);
	tcase_add_test(tc, walk_refuses_bad_requests);
	tcase_add_test(tc, walk_under_writers);
	tcase_add_test(tc, walk_across_growth);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
