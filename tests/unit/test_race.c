// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_race.c - read-modify-write commands racing across
 * processes and threads: no lost update (cas retry loops, incr, append),
 * and eviction under concurrent readers and writers never hands out a
 * torn or foreign value.
 *
 * 2 processes (fork, each attaches on its own) x 2 threads.
 * The appended log stays small (1.5 KB): a value that grows through many
 * size classes while its old copies wait for reclamation can starve a
 * class of pages, as there is no page rebalancing yet (docs/store.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "util.h"

#define NPROC 2
#define NTHR  2
#define NOPS  3000

static void teardown(void)
{
	ut_store_down();
}

static void setup(void)
{
	ut_store_up("race");
}

/* gets + cas until it sticks: one increment of the decimal in "ctr". */
static int cas_bump(void)
{
	for (;;) {
		char buf[32];
		size_t vlen;
		uint64_t cas;
		int rc = plmc_get("ctr", 3, buf, sizeof(buf) - 1, &vlen, NULL,
				  &cas);

		if (rc != PLMC_OK)
			return 0;
		buf[vlen] = 0;
		vlen = (size_t)snprintf(buf, sizeof(buf), "%llu",
					strtoull(buf, NULL, 10) + 1);
		rc = plmc_cas("ctr", 3, buf, vlen, 0, 0, cas);
		if (rc == PLMC_STORED)
			return 1;
		if (rc != PLMC_EXISTS)
			return 0;
	}
}

static void *rmw(void *arg)
{
	long bad = 0;
	int i;

	for (i = 0; i < NOPS; i++) {
		int a = cas_bump(), b = plmc_incr("n", 1, 1, NULL),
		    c = i % 8 ? PLMC_STORED : plmc_append("log", 3, "x", 1);

		if (!a || b != PLMC_OK || c != PLMC_STORED) {
			fprintf(stderr, "rmw %d: cas %d, incr %s, append %s\n",
				i, a, plmc_strerror(b), plmc_strerror(c));
			bad++;
		}
	}
	return (void *)bad;
}

/* Fork NPROC children that attach and run @fn in NTHR threads. */
static void run_procs(void *(*fn)(void *))
{
	ut_procs(fn, NPROC, NTHR);
}

START_TEST(no_lost_updates)
{
	enum { TOTAL = NPROC * NTHR * NOPS };
	static char buf[TOTAL + 16];
	size_t vlen;
	uint64_t v;
	struct plmc_stats st;

	ut_rc(plmc_set("ctr", 3, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("n", 1, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("log", 3, "", 0, 0, 0), PLMC_STORED);
	run_procs(rmw);
	ut_rc(plmc_get("ctr", 3, buf, sizeof(buf) - 1, &vlen, NULL, NULL),
	      PLMC_OK);
	buf[vlen] = 0;
	ck_assert_uint_eq(strtoull(buf, NULL, 10), TOTAL);
	ut_rc(plmc_incr("n", 1, 0, &v), PLMC_OK);
	ck_assert_uint_eq(v, TOTAL);
	ut_rc(plmc_get("log", 3, buf, sizeof(buf), &vlen, NULL, NULL), PLMC_OK);
	ck_assert_uint_eq(vlen, TOTAL / 8);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, 3);
	ck_assert_uint_eq(st.cas_hits, TOTAL);
}
END_TEST

/* Values say which key they belong to: "<key>|<fill of key's byte>". */
static size_t mkval(char *v, int k, int len)
{
	int n = snprintf(v, 64, "k%d|", k), i;

	for (i = n; i < len; i++)
		v[i] = (char)('a' + k % 26);
	return (size_t)len;
}

static int val_ok(const char *v, size_t len, int k)
{
	char want[1024];

	return len >= 8 && len < sizeof(want) &&
	       mkval(want, k, (int)len) == len && !memcmp(v, want, len);
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7777 + (unsigned)getpid();
	char key[32], v[1024], buf[1024];
	long bad = 0;
	int i;

	for (i = 0; i < 20000; i++) {
		int k = rand_r(&seed) % 20000, op = rand_r(&seed) % 4;
		int kl = snprintf(key, sizeof(key), "k%d", k);
		size_t vlen;
		int rc;

		if (op < 2) {
			vlen = mkval(v, k, 8 + rand_r(&seed) % 900);
			rc = plmc_set(key, (size_t)kl, v, vlen, 0, 0);
			if (rc != PLMC_STORED) {
				fprintf(stderr, "set %s: %s\n", key,
					plmc_strerror(rc));
				bad++;
			}
			continue;
		}
		if (op == 3 && !(i % 8)) {
			plmc_delete(key, (size_t)kl);
			continue;
		}
		rc = plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen, NULL,
			      NULL);
		if ((rc == PLMC_OK && !val_ok(buf, vlen, k)) ||
		    (rc != PLMC_OK && rc != PLMC_NOT_FOUND)) {
			fprintf(stderr, "get %s: %s (%zu bytes: %.12s)\n", key,
				plmc_strerror(rc), vlen, buf);
			bad++;
		}
	}
	return (void *)bad;
}

/* A 16 MiB store under constant eviction from 4 writers/readers. Values
 * span 12 size classes, fewer than its 14 pages: every class gets a page
 * before the store fills (there is no page rebalancing between classes
 * yet, see docs/store.md). */
START_TEST(evict_churn)
{
	struct plmc_stats st;

	ut_store_down();
	ut_make_name("race-small");
	ut_rc(ut_create(ut_name, 16ULL << 20), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	run_procs(churn);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 1000);
	ck_assert_uint_le(st.bytes, st.limit_maxbytes);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race");
	TCase *tc = tcase_create("race");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, no_lost_updates);
	tcase_add_test(tc, evict_churn);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
