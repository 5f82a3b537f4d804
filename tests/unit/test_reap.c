// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_reap.c - a class uses its dead items' chunks before it
 * takes a new page (memcached's t/issue_14.t: total_malloced stays).
 *
 * Ten items of about 65 KiB (twelve to a page) expire; ten more of the
 * same class then fit in the page the first ones had. The control: the
 * same with items that never expire takes a second page. Flushed items
 * count as dead too.
 */
#include "util.h"

static void setup(void)
{
	ut_store_up("reap");
}

static void teardown(void)
{
	ut_store_down();
}

static char val[66560];

static void put(int from, int to, int32_t ttl)
{
	char k[32];
	int i;

	for (i = from; i < to; i++) {
		int kl = snprintf(k, sizeof(k), "key%d", i);

		ut_rc(plmc_set(k, (size_t)kl, val, sizeof(val), 0, ttl),
		      PLMC_STORED);
	}
}

static uint64_t malloced(void)
{
	struct plmc_stats st = {.size = sizeof(st)};

	ut_rc(plmc_stats(&st), PLMC_OK);
	return st.total_malloced;
}

/*
 * Ten items with @ttl, then @between, then ten more with @ttl.
 * Return: how far total_malloced moved over the second ten.
 */
static int64_t refill_growth(int32_t ttl, void (*between)(void))
{
	uint64_t before;

	put(0, 10, ttl);
	before = malloced();
	between();
	put(10, 20, ttl);
	return (int64_t)(malloced() - before);
}

static void pass_4s(void)
{
	ut_rc(plmc_clock_advance(4), PLMC_OK);
}

static void flush_mid(void)
{
	ut_rc(plmc_clock_advance(2), PLMC_OK);
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ut_rc(plmc_clock_advance(2), PLMC_OK);
}

START_TEST(expired_first)
{
	int64_t grew = refill_growth(2, pass_4s);

	ck_assert_msg(grew == 0, "malloced moved by %lld", (long long)grew);
}
END_TEST

START_TEST(flushed_first)
{
	int64_t grew = refill_growth(0, flush_mid);

	ck_assert_msg(grew == 0, "malloced moved by %lld", (long long)grew);
}
END_TEST

/* The control: live items keep their chunks, so the class grows. */
START_TEST(live_stay)
{
	char b[16];
	size_t n;

	ck_assert_int_gt(refill_growth(100, pass_4s), 0);
	ut_rc(plmc_get("key0", 4, b, sizeof(b), &n, NULL, NULL),
	      PLMC_E_SMALLBUF);
	ck_assert_uint_eq(n, sizeof(val));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reap");
	TCase *tc = tcase_create("reap");

	memset(val, 'B', sizeof(val));
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, expired_first);
	tcase_add_test(tc, flushed_first);
	tcase_add_test(tc, live_stay);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
