// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_table.c - the hash table grows online (kvcore/table.c).
 *
 *  - grows: the table doubles as memcached's does (more than 1.5 items a
 *    bucket), up to the store's most; every key reads back after each
 *    doubling, the store checks clean, and the table's pages are not
 *    item memory (total_malloced, limit_maxbytes);
 *  - production: the production image starts at 2^16 buckets, doubles
 *    into pages, and at a million-item scale holds memcached's table;
 *  - readers: threads read a fixed set of keys without a miss while
 *    other threads' stores make the table double several times (a
 *    reader that looked in one table only, or a move that took a chain's
 *    head first, misses keys here);
 *  - table_points: a client dies at each step of a growth (the crash
 *    points); the next calls go on from there, nothing acknowledged is
 *    lost and the store checks clean, the table's pages counted.
 */
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include "util.h"
#include <plmc/gate.h>

#define MIB (1ULL << 20)

/*
 * Sized for the host by default; on the test host (STRESS_OPS set, TCG)
 * an 8 MiB store whose table grows 1024 -> 2^14 (its most), the last
 * doubling into a page, with a tenth of the stores.
 */
static unsigned tmb = 64;	/* store MiB, test image */
static uint64_t tmax = 1 << 17; /* its most buckets: tmb MiB / 512 */
static int tn = 200000;		/* stores that take it there */

static void scale(void)
{
	if (!getenv("STRESS_OPS"))
		return;
	tmb = 8;
	tmax = 1 << 14;
	tn = 30000;
}

static void store(unsigned mb, int test_image)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = (uint64_t)mb * MIB,
		.mode = 0600,
		.use = PLMC_USE_AUTO,
		.flags = test_image ? PLMC_CREATE_TEST_IMAGE : 0,
	};
	int rc;

	ut_make_name("table");
	rc = plmc_create_ex(ut_name, &o);
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

static void teardown(void)
{
	ut_store_down();
}

static void stats(struct plmc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ut_rc(plmc_stats(st), PLMC_OK);
}

static int key(char *k, const char *tag, int i)
{
	return snprintf(k, 32, "%s:%d", tag, i);
}

static int put(const char *tag, int i)
{
	char k[32], v[16];
	int kl = key(k, tag, i), vl = snprintf(v, sizeof(v), "v%d", i);

	return plmc_set(k, (size_t)kl, v, (size_t)vl, (uint32_t)i, 0);
}

/* Nonzero if @tag:@i reads back with its value and flags. */
static int has(const char *tag, int i)
{
	char k[32], v[16], buf[32];
	int kl = key(k, tag, i), vl = snprintf(v, sizeof(v), "v%d", i);
	size_t got = 0;
	uint32_t fl = 0;

	return plmc_get(k, (size_t)kl, buf, sizeof(buf), &got, &fl, NULL) ==
		       PLMC_OK &&
	       got == (size_t)vl && !memcmp(buf, v, got) && fl == (uint32_t)i;
}

static void check_clean(void)
{
	struct plmc_check ck;

	memset(&ck, 0, sizeof(ck));
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert(ck.quiescent);
}

/* ---- growth, test image (starts at 1024 buckets) ---- */

START_TEST(grows)
{
	struct plmc_stats st;
	uint64_t buckets = 0, doublings = 0;
	int i, j, n = tn;

	store(tmb, 1);
	stats(&st);
	ck_assert_uint_eq(st.hash_buckets, 1024);
	for (i = 0; i < n; i++) {
		ut_rc(put("g", i), PLMC_STORED);
		if (i % 5000)
			continue;
		stats(&st);
		if (st.hash_buckets != buckets) {
			/* a new size: every key so far reads back */
			for (j = 0; j <= i; j++)
				ck_assert_msg(has("g", j), "g:%d lost", j);
			buckets = st.hash_buckets;
			doublings++;
		}
		/* memcached's rule, give or take the steps of a growth */
		ck_assert_uint_le(st.curr_items, 3 * st.hash_buckets + 5000);
	}
	stats(&st);
	/* the most is store / 512 buckets: 2^17 for 64 MiB */
	ck_assert_uint_eq(st.hash_buckets, tmax);
	ck_assert_uint_ge(doublings, tmb == 64 ? 7 : 4);
	/* the table's page is not item memory */
	ck_assert_uint_le(st.total_malloced, st.limit_maxbytes);
	for (j = 0; j < n; j++)
		ck_assert_msg(has("g", j), "g:%d lost", j);
	check_clean();
}
END_TEST

/*
 * The production image: the first table (2^16 buckets) in the geometry,
 * then 2^17 in a page once there are more than 98,304 items (its items
 * moved 4 buckets a store, so done 16,384 stores later); limit_
 * maxbytes is exactly what plmc_store_size_for was asked for, and
 * stays so.
 */
START_TEST(production)
{
	struct plmc_stats st;
	uint64_t size = plmc_store_size_for(64 * MIB);
	int i, n = 140000;

	ck_assert_uint_eq(size % MIB, 0);
	store((unsigned)(size / MIB), 0);
	stats(&st);
	ck_assert_uint_eq(st.hash_buckets, 1ULL << 16);
	ck_assert_uint_eq(st.limit_maxbytes, 64 * MIB);
	for (i = 0; i < n; i++)
		ut_rc(put("p", i), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.hash_buckets, 1ULL << 17);
	ck_assert_uint_eq(st.limit_maxbytes, 64 * MIB);
	ck_assert_uint_eq(st.evictions, 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(has("p", i), "p:%d lost", i);
	check_clean();
}
END_TEST

/* ---- readers never miss while the table grows ---- */

#define RKEYS 2000

static volatile int stop;
static long misses, reads;

static void *reader(void *arg)
{
	long m = 0, r = 0;
	int i;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		for (i = 0; i < RKEYS; i++, r++)
			m += !has("r", i);
	__atomic_add_fetch(&misses, m, __ATOMIC_RELAXED);
	__atomic_add_fetch(&reads, r, __ATOMIC_RELAXED);
	return NULL;
}

static void *writer(void *arg)
{
	int i, base = (int)(long)arg * 1000000;

	for (i = 0; i < (tmb == 64 ? 75000 : 10000); i++)
		if (put("w", base + i) != PLMC_STORED)
			abort();
	return NULL;
}

START_TEST(readers)
{
	struct plmc_stats st;
	pthread_t r[2], w[2];
	int i;

	store(tmb, 1);
	for (i = 0; i < RKEYS; i++)
		ut_rc(put("r", i), PLMC_STORED);
	stats(&st);
	ck_assert_uint_le(st.hash_buckets, 2048);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(
			pthread_create(&w[i], NULL, writer, (void *)(long)i),
			0);
	for (i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	stats(&st);
	/* 152,000 items (2,000 small): doubled from 1024 to the most
	 * while they read. The last doubling starts at 98,304 items and
	 * moves a few buckets per set: 122,000 left it unfinished in 1
	 * of 3 runs once the store's writes could wait (retired chunks) */
	ck_assert_uint_eq(st.hash_buckets, tmax);
	ck_assert_uint_gt(reads, RKEYS);
	ck_assert_msg(misses == 0, "%ld misses in %ld reads", misses, reads);
	check_clean();
}
END_TEST

/* ---- a death at each step of a growth ---- */

static void grow_work(void)
{
	int i;

	for (i = 0; i < tn; i++)
		if (put("c", i) != PLMC_STORED)
			_exit(11);
}

static void grow_crash(int point, int before)
{
	struct plmc_stats st;
	int i;

	store(tmb, 1);
	for (i = 0; i < before; i++) /* a table with items to move */
		ut_rc(put("b", i), PLMC_STORED);
	ut_die_at(point, grow_work);
	check_clean();
	/* Later calls go on from the dead one's step, to the largest table. */
	for (i = 0; i < tn; i++)
		ut_rc(put("n", i), PLMC_STORED);
	stats(&st);
	ck_assert_msg(st.hash_buckets == tmax, "%s: %llu buckets",
		      plmc_crash_name(point),
		      (unsigned long long)st.hash_buckets);
	for (i = 0; i < before; i++)
		ck_assert_msg(has("b", i), "%s: b:%d lost",
			      plmc_crash_name(point), i);
	for (i = 0; i < tn; i += 7)
		ck_assert(has("n", i));
	check_clean();
}

START_TEST(table_points)
{
	static const int p[] = {
		PLMC_CRASH_TABLE_PAGE_TX, PLMC_CRASH_TABLE_GO_TX,
		PLMC_CRASH_TABLE_MOVE_TX, PLMC_CRASH_TABLE_DONE_TX,
		PLMC_CRASH_TABLE_FREE_TX,
	};

	/* With 60,000 items (2^16 buckets, in a page) the child's first
	 * doubling is 2^16 -> 2^17, page to page (the free point gives a
	 * page back); with 100 it starts inside the first table's room. */
	grow_crash(p[_i % 5], _i < 5 && tmb == 64 ? 60000 : 100);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	scale();
	s = suite_create("table");
	tc = tcase_create("table");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, grows);
	tcase_add_test(tc, production);
	tcase_add_test(tc, readers);
	tcase_add_loop_test(tc, table_points, 0, 10);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
