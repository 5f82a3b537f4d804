// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_lru.c - the segmented LRU (kvcore/lru.c): an item read
 * twice ("active") outlives the unread ones the hand evicts, a TEMP item
 * is never evicted while it lives, the maintainer step keeps HOT at its
 * cap, a writer's eviction moves a bounded number of items, the counters
 * agree with the items, and a death inside the step leaves the store
 * clean.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <plmc/gate.h>
#include "util.h"

#define SMALL_STORE (4ULL << 20)
#define VLEN	    100

static void setup(void)
{
	int rc;

	ut_make_name("lru");
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
	return snprintf(k, 32, "lru:%08d", i);
}

static void put_exp(int i, uint32_t exptime)
{
	char k[32], v[VLEN];
	int kl = key_of(k, i);

	memset(v, 'a' + (i & 15), sizeof(v));
	ut_rc(plmc_set(k, (size_t)kl, v, sizeof(v), 0, exptime), PLMC_STORED);
}

static void put(int i)
{
	put_exp(i, 0);
}

static int present(int i)
{
	char k[32], buf[VLEN];
	size_t vlen;
	int kl = key_of(k, i);

	return plmc_get(k, (size_t)kl, buf, sizeof(buf), &vlen, NULL, NULL) ==
	       PLMC_OK;
}

/* The class the test's items live in (all the same size). */
static struct plmc_class_stats cls_of_items(void)
{
	struct plmc_class_stats cs[64], best;
	size_t n = 0, i;

	memset(&best, 0, sizeof(best));
	ck_assert_int_ge(plmc_class_stats(cs, 64, &n), 0);
	for (i = 0; i < n && i < 64; i++)
		if (cs[i].number + cs[i].evicted > best.number + best.evicted)
			best = cs[i];
	ck_assert_uint_gt(best.number, 0);
	return best;
}

/* The counts are the items' own: they add up to the class's items. */
static void counts_add_up(const struct plmc_class_stats *c)
{
	ck_assert_uint_eq(c->number_hot + c->number_warm + c->number_cold +
				  c->number_temp,
			  c->number);
}

/*
 * Stores keys 1..N after key A (read twice: active) and key B (read
 * once), until the hand has evicted the oldest unread keys: A stays (to
 * WARM, not evicted), B goes with keys 1..1000 (read once is not
 * active: the control that shows the second read is what keeps A).
 */
START_TEST(active_survives)
{
	struct plmc_stats st;
	struct plmc_class_stats c;
	int i, n = 0;

	put(-1); /* A */
	put(-2); /* B */
	for (i = 1; i <= 1000; i++)
		put(i);
	ck_assert(present(-1));
	ck_assert(present(-1)); /* second read: active */
	ck_assert(present(-2)); /* one read only */
	for (i = 1001; i <= 60000; i++)
		put(i);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 20000); /* more than a revolution */
	ck_assert_msg(present(-1), "an active item was evicted");
	ck_assert_msg(!present(-2), "an item read once outlived a revolution");
	for (i = 1; i <= 1000; i++)
		n += present(i);
	ck_assert_int_eq(n, 0);
	c = cls_of_items();
	ck_assert_uint_ge(c.moves_to_warm, 1);
	ck_assert_uint_gt(c.moves_to_cold, st.evictions);
	ck_assert_uint_ge(c.number_warm, 1);
	ck_assert_uint_eq(c.direct_reclaims, c.evicted);
	counts_add_up(&c);
	ck_assert_uint_eq(st.moves_to_warm, c.moves_to_warm);
	ck_assert_uint_eq(st.moves_to_cold, c.moves_to_cold);
}
END_TEST

/*
 * With temporary_ttl 60, an unread key with a 30 s TTL is TEMP: it
 * outlives several revolutions that evict everything else, and goes
 * when it expires. Without the setting the same key is evicted (the
 * control).
 */
START_TEST(temp_never_evicted)
{
	struct plmc_class_stats c;
	struct plmc_stats st;
	int i;

	put_exp(-3, 30); /* before the setting: not TEMP */
	ut_rc(plmc_lru_temp_ttl(60), PLMC_OK);
	put_exp(-1, 30);
	put_exp(-2, 3600); /* TTL over 60: HOT */
	c = cls_of_items();
	ck_assert_uint_eq(c.number_temp, 1);
	ck_assert_uint_eq(c.number_hot, 2);
	for (i = 1; i <= 60000; i++)
		put_exp(i, 3600);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 20000);
	ck_assert_uint_eq(st.temporary_ttl, 60);
	ck_assert_msg(present(-1), "a TEMP item was evicted");
	ck_assert_msg(!present(-2), "an unread HOT item outlived a revolution");
	ck_assert_msg(!present(-3), "TEMP applied before it was set");
	c = cls_of_items();
	ck_assert_uint_eq(c.number_temp, 1);
	counts_add_up(&c);
	/* Expired, it goes as any item does. */
	ut_rc(plmc_clock_advance(31), PLMC_OK);
	ck_assert(!present(-1));
	c = cls_of_items();
	ck_assert_uint_eq(c.number_temp, 0);
	/* Off again: new short-TTL items are HOT. */
	ut_rc(plmc_lru_temp_ttl(0), PLMC_OK);
	put_exp(-4, 30);
	c = cls_of_items();
	ck_assert_uint_eq(c.number_temp, 0);
	/* Bad input: refused, the setting kept. */
	ut_rc(plmc_lru_temp_ttl(60), PLMC_OK);
	ut_rc(plmc_lru_temp_ttl(60 * 60 * 24 * 30 + 1), PLMC_E_INVAL);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.temporary_ttl, 60);
}
END_TEST

/*
 * The maintainer step (plmc_slabs_maintain) on a class of HOT items,
 * nothing evicted: HOT's overflow goes to COLD until HOT is at its cap
 * (20%), each class juggled counts; then two reads of a COLD key move it
 * to WARM at the next step (the rescue sweep), before any eviction.
 */
START_TEST(maintainer_juggles)
{
	struct plmc_class_stats c;
	struct plmc_stats st;
	int i;

	for (i = 1; i <= 2000; i++)
		put(i);
	c = cls_of_items();
	ck_assert_uint_eq(c.number_hot, 2000);
	ck_assert_uint_eq(c.moves_to_cold, 0);
	/* 500 hand visits a step (memcached's juggle): 1600 moves take 4 */
	for (i = 0; i < 4; i++)
		ck_assert_int_ge(plmc_slabs_maintain(1), 0);
	c = cls_of_items();
	ck_assert_uint_le(c.number_hot, 2000 * 20 / 100);
	ck_assert_uint_eq(c.number_cold, 2000 - c.number_hot);
	ck_assert_uint_eq(c.moves_to_cold, c.number_cold);
	ck_assert_uint_eq(c.evicted, 0);
	counts_add_up(&c);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_ge(st.lru_maintainer_juggles, 4);
	ck_assert_uint_eq(st.hot_lru_pct, 20);
	ck_assert_uint_eq(st.warm_lru_pct, 40);
	/* key 1 is COLD (the oldest): two reads make it active */
	ck_assert(present(1));
	ck_assert(present(1));
	/* the rescue sweep covers 256 chunks a step: 2000 take 8 */
	for (i = 0; i < 8; i++)
		ck_assert_int_ge(plmc_slabs_maintain(1), 0);
	c = cls_of_items();
	ck_assert_uint_eq(c.number_warm, 1);
	ck_assert_uint_eq(c.moves_to_warm, 1);
	counts_add_up(&c);
	/* stats reset zeroes the moves, not the counts */
	ut_rc(plmc_stats_reset(), PLMC_OK);
	c = cls_of_items();
	ck_assert_uint_eq(c.moves_to_cold + c.moves_to_warm, 0);
	ck_assert_uint_eq(c.number_warm, 1);
}
END_TEST

/*
 * Without the maintainer step, a class of HOT items meets its first
 * eviction: the writer moves at most 64 of them to COLD (the store's
 * KV_EVICT_MOVES) and evicts the oldest, not a sweep of the whole class
 * (about 15,000 items here), and the ones after it go next, in order.
 */
START_TEST(first_eviction_bounded)
{
	struct plmc_stats st;
	int i;

	for (i = 1;; i++) {
		put(i);
		ut_rc(plmc_stats(&st), PLMC_OK);
		if (st.evictions)
			break;
		ck_assert_int_lt(i, 100000);
	}
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_uint_le(st.moves_to_cold, 65);
	ck_assert_uint_gt(i, 5000); /* the class was large */
	ck_assert_msg(!present(1), "not the oldest went first");
	ck_assert(present(2));
	put(++i);
	put(++i);
	ck_assert(!present(2));
	ck_assert(!present(3));
	ck_assert(present(4));
}
END_TEST

static void juggle_forever(void)
{
	int i;

	for (i = 0; i < 100; i++)
		plmc_slabs_maintain(1);
}

/*
 * A death inside the maintainer step (at its hand's move, the class lock
 * held): recovery frees the lock, the store checks clean, later steps
 * go on, and the counts shown are the items' own.
 */
START_TEST(death_in_juggle)
{
	struct plmc_class_stats c;
	struct plmc_check ck = {.size = sizeof(ck)};
	int i;

	for (i = 1; i <= 2000; i++)
		put(i);
	ut_die_at(PLMC_CRASH_EVICT, juggle_forever);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 1);
	juggle_forever();
	c = cls_of_items();
	ck_assert_uint_le(c.number_hot, 2000 * 20 / 100 + 1);
	ck_assert_uint_eq(c.number, 2000);
	counts_add_up(&c);
	for (i = 1; i <= 2000; i++)
		ck_assert(present(i));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lru");
	TCase *tc = tcase_create("lru");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, active_survives);
	tcase_add_test(tc, temp_never_evicted);
	tcase_add_test(tc, maintainer_juggles);
	tcase_add_test(tc, first_eviction_bounded);
	tcase_add_test(tc, death_in_juggle);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
