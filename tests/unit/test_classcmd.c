// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_classcmd.c - memcached's per-class command counters
 * (plmc_class_stats' get_hits .. touch_hits, plmcd's "stats slabs").
 *
 * The store counts them, so a local library client's commands count as
 * a remote one's would: each lands in the class of the item it found
 * (cmd_set: of the item built; append's: of the piece), the classes add
 * up to plmc_stats' totals, threads on different slots all count, and
 * stats reset zeroes them. The raw cases check the entry size the image
 * writes: a caller that names an older, shorter entry gets no byte past
 * it.
 */
#include "util.h"
#include "../../libpl/pl.h"

static void setup(void)
{
	ut_store_up("ccmd");
}

static void teardown(void)
{
	ut_store_down();
}

static struct plmc_class_stats cs[64];
static size_t ncs;

static void classes(void)
{
	ut_rc(plmc_class_stats(cs, 64, &ncs), PLMC_OK);
	ck_assert_uint_le(ncs, 64);
}

/* The entry of the class an item of @klen + @vlen bytes is stored in:
 * the smallest chunk holding its header (PLMC_ITEM_HDR), key and value. */
static const struct plmc_class_stats *class_for(size_t klen, size_t vlen)
{
	const struct plmc_class_stats *best = NULL;
	size_t i;

	for (i = 0; i < ncs; i++)
		if (cs[i].chunk_size >= PLMC_ITEM_HDR + klen + vlen &&
		    (!best || cs[i].chunk_size < best->chunk_size))
			best = &cs[i];
	ck_assert_msg(best, "no class with pages holds %zu bytes",
		      PLMC_ITEM_HDR + klen + vlen);
	return best;
}

#define SUM(field)                                                             \
	({                                                                     \
		uint64_t s_ = 0;                                               \
		for (size_t i_ = 0; i_ < ncs; i_++)                            \
			s_ += cs[i_].field;                                    \
		s_;                                                            \
	})

static char big[3000];

/* One of every counted command, in two classes. */
static void commands(void)
{
	char b[4096];
	size_t n;
	uint64_t cas, v;
	struct plmc_mget m[3] = {
		{.key = "a", .klen = 1, .buf = b, .buflen = sizeof(b)},
		{.key = "big", .klen = 3, .buf = b, .buflen = sizeof(b)},
		{.key = "nope", .klen = 4, .buf = b, .buflen = sizeof(b)},
	};

	memset(big, 'x', sizeof(big));
	ut_rc(plmc_set("a", 1, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("big", 3, big, sizeof(big), 0, 0), PLMC_STORED);
	ut_rc(plmc_set("n", 1, "10", 2, 0, 0), PLMC_STORED);
	ut_rc(plmc_get("a", 1, b, sizeof(b), &n, NULL, &cas), PLMC_OK);
	ut_rc(plmc_get("big", 3, b, sizeof(b), &n, NULL, NULL), PLMC_OK);
	ut_rc(plmc_get("nope", 4, b, sizeof(b), &n, NULL, NULL),
	      PLMC_NOT_FOUND);
	ut_rc(plmc_mget(m, 3), PLMC_OK); /* a and big hit, nope misses */
	ut_rc(plmc_gat("big", 3, 100, b, sizeof(b), &n, NULL, NULL), PLMC_OK);
	ut_rc(plmc_touch("a", 1, 100), PLMC_TOUCHED);
	ut_rc(plmc_touch("nope", 4, 100), PLMC_NOT_FOUND);
	ut_rc(plmc_incr("n", 1, 5, &v), PLMC_OK);
	ut_rc(plmc_decr("n", 1, 1, &v), PLMC_OK);
	ut_rc(plmc_incr("nope", 4, 1, &v), PLMC_NOT_FOUND);
	ut_rc(plmc_cas("a", 1, "w", 1, 0, 0, cas + 1000), PLMC_EXISTS);
	ut_rc(plmc_cas("a", 1, "w", 1, 0, 0, cas), PLMC_STORED);
	ut_rc(plmc_append("big", 3, "yz", 2), PLMC_STORED);
	ut_rc(plmc_delete("n", 1), PLMC_DELETED);
	ut_rc(plmc_delete("n", 1), PLMC_NOT_FOUND);
}

START_TEST(per_class)
{
	const struct plmc_class_stats *s, *l;

	commands();
	classes();
	s = class_for(1, 2); /* a, n and the append's piece: class 1 */
	l = class_for(3, sizeof(big) + 2);
	ck_assert_ptr_ne(s, l);
	ck_assert_uint_eq(s->get_hits, 2); /* get a, mget a */
	ck_assert_uint_eq(l->get_hits, 2); /* get big, mget big (gat: touch) */
	ck_assert_uint_eq(s->cmd_set, 5);  /* a, n, the cas pair, the piece */
	ck_assert_uint_eq(l->cmd_set, 1);  /* big */
	ck_assert_uint_eq(s->touch_hits, 1); /* touch a */
	ck_assert_uint_eq(l->touch_hits, 1); /* gat big */
	ck_assert_uint_eq(s->incr_hits, 1);
	ck_assert_uint_eq(s->decr_hits, 1);
	ck_assert_uint_eq(s->cas_hits, 1);
	ck_assert_uint_eq(s->cas_badval, 1);
	ck_assert_uint_eq(s->delete_hits, 1);
	ck_assert_uint_eq(l->incr_hits + l->decr_hits + l->cas_hits +
				  l->cas_badval + l->delete_hits,
			  0);
}
END_TEST

/* The classes add up to the store's totals, which count misses apart. */
START_TEST(sums_are_totals)
{
	struct plmc_stats st = {.size = sizeof(st)};

	commands();
	classes();
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(SUM(get_hits), st.get_hits);
	ck_assert_uint_eq(st.get_hits, 4);
	ck_assert_uint_eq(st.get_misses, 2);
	ck_assert_uint_eq(SUM(cmd_set), st.cmd_set);
	ck_assert_uint_eq(SUM(delete_hits), st.delete_hits);
	ck_assert_uint_eq(SUM(incr_hits), st.incr_hits);
	ck_assert_uint_eq(SUM(decr_hits), st.decr_hits);
	ck_assert_uint_eq(SUM(cas_hits), st.cas_hits);
	ck_assert_uint_eq(SUM(cas_badval), st.cas_badval);
	ck_assert_uint_eq(SUM(touch_hits), st.touch_hits);
}
END_TEST

#define NTHR 6
#define NGET 2000

static void *getter(void *arg)
{
	char b[16];
	size_t n;
	long bad = 0;
	int i;

	(void)arg;
	for (i = 0; i < NGET; i++)
		bad += plmc_get("a", 1, b, sizeof(b), &n, NULL, NULL) !=
		       PLMC_OK;
	return (void *)bad;
}

/* Every slot's hits count (each thread its own slot; summed at stats
 * time), and stats reset starts them all from 0. */
START_TEST(threads_and_reset)
{
	struct plmc_stats st = {.size = sizeof(st)};

	ut_rc(plmc_set("a", 1, "v", 1, 0, 0), PLMC_STORED);
	ck_assert_int_eq(ut_threads(getter, NTHR), 0);
	classes();
	ck_assert_uint_eq(class_for(1, 1)->get_hits, NTHR * NGET);
	ut_rc(plmc_stats_reset(), PLMC_OK);
	classes();
	ck_assert_uint_eq(SUM(get_hits) + SUM(cmd_set) + SUM(touch_hits), 0);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.get_hits, 0);
	ck_assert_int_eq(getter(NULL) == NULL, 1);
	classes();
	ck_assert_uint_eq(class_for(1, 1)->get_hits, NGET);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.get_hits, NGET);
}
END_TEST

/* PLMC_OP_CLASSES writes each entry's first vlen bytes, vlen apart: an
 * older caller's entry (PLMC_CLASS_STATS_V1, vlen 0) gets nothing past
 * it; a size below that, unaligned or past 4 KiB is refused. */
START_TEST(entry_size)
{
	unsigned char raw[4 * PLMC_CLASS_STATS_V1 + 64];
	struct plmc_req r = {.out = (__u64)(uintptr_t)raw, .buflen = 4};
	const struct plmc_class_stats *e;
	long n;

	ut_rc(plmc_set("a", 1, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("big", 3, big, sizeof(big), 0, 0), PLMC_STORED);
	memset(raw, 0xee, sizeof(raw));
	n = pl_call(PLMC_OP_CLASSES, &r);
	ck_assert_int_eq(n, 2);
	/* the second entry starts V1 bytes in; past the two, untouched */
	e = (const void *)(raw + PLMC_CLASS_STATS_V1);
	ck_assert_uint_gt(e->id, ((const struct plmc_class_stats *)raw)->id);
	ck_assert_uint_gt(e->chunk_size, sizeof(big));
	ck_assert_uint_eq(raw[2 * PLMC_CLASS_STATS_V1], 0xee);
	ck_assert_uint_eq(raw[sizeof(raw) - 1], 0xee);
	r.vlen = PLMC_CLASS_STATS_V1 - 8;
	ut_rc((int)pl_call(PLMC_OP_CLASSES, &r), PLMC_E_INVAL);
	r.vlen = sizeof(struct plmc_class_stats) + 4;
	ut_rc((int)pl_call(PLMC_OP_CLASSES, &r), PLMC_E_INVAL);
	r.vlen = 4096 + 8;
	ut_rc((int)pl_call(PLMC_OP_CLASSES, &r), PLMC_E_INVAL);
	/* a newer caller's longer entry: the image's fields, the rest as
	 * it was */
	memset(raw, 0xee, sizeof(raw));
	r.vlen = sizeof(struct plmc_class_stats) + 8;
	r.buflen = 1;
	ck_assert_int_eq(pl_call(PLMC_OP_CLASSES, &r), 2);
	ck_assert_uint_eq(raw[sizeof(struct plmc_class_stats)], 0xee);
	ck_assert_uint_eq(((const struct plmc_class_stats *)raw)->cmd_set, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("classcmd");
	TCase *tc = tcase_create("classcmd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, per_class);
	tcase_add_test(tc, sums_are_totals);
	tcase_add_test(tc, threads_and_reset);
	tcase_add_test(tc, entry_size);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
