// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_stress.c - 4 processes x 2 threads, every kind of
 * command at once on a small store under constant eviction and expiry,
 * then the store's full structural check (plmc_check: every chain
 * well-formed, counts and bytes add up, no chunk both free and used, no
 * lock held) and stats that agree with it.
 *
 * Values say which key they belong to ("k<N>|" then a fill byte), so a
 * read that ever returns another key's bytes or a torn value fails.
 * Counters ("c<N>") only ever see incr/decr/set of digits, so they must
 * always parse. STRESS_OPS=N sets the ops per thread (default 40000).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "util.h"

#define NPROC 4
#define NTHR  2
#define NKEYS 40000
#define NCTRS 64
#define VMAX  700

static int nops = 40000;

static void teardown(void)
{
	ut_store_down();
}

struct worker {
	unsigned seed;
	long bad;
};

#define BAD(w, ...)                                                            \
	do {                                                                   \
		fprintf(stderr, __VA_ARGS__);                                  \
		(w)->bad++;                                                    \
	} while (0)

static int storing(int rc)
{
	return rc == PLMC_STORED || rc == PLMC_NOT_STORED ||
	       rc == PLMC_EXISTS || rc == PLMC_NOT_FOUND;
}

/* One value command on key @k. */
static void op_value(struct worker *w, int k, int op)
{
	static __thread char v[VMAX + 64], buf[VMAX * 4];
	char key[16];
	size_t kl = (size_t)snprintf(key, sizeof(key), "k%d", k), vlen;
	uint64_t cas;
	int rc, exp = rand_r(&w->seed) % 8 ? 0 : 1 + rand_r(&w->seed) % 3;

	vlen = ut_mkval(v, k, 8 + (size_t)(rand_r(&w->seed) % VMAX));
	switch (op) {
	case 0:
	case 1:
		rc = plmc_set(key, kl, v, vlen, (uint32_t)k, exp);
		if (rc != PLMC_STORED)
			BAD(w, "set %s: %s\n", key, plmc_strerror(rc));
		return;
	case 2:
		rc = plmc_add(key, kl, v, vlen, (uint32_t)k, exp);
		break;
	case 3:
		rc = plmc_replace(key, kl, v, vlen, (uint32_t)k, exp);
		break;
	case 4: /* append/prepend fill bytes, kept short */
		memset(v, 'a' + k % 26, 4);
		rc = rand_r(&w->seed) % 2 ? plmc_append(key, kl, v, 4)
					  : PLMC_STORED;
		break;
	case 5:
		rc = plmc_get(key, kl, buf, sizeof(buf), &vlen, NULL, &cas);
		if (rc == PLMC_OK && vlen < VMAX)
			rc = plmc_cas(key, kl, v, ut_mkval(v, k, vlen + 1),
				      (uint32_t)k, 0, cas);
		else if (rc == PLMC_OK)
			rc = PLMC_STORED;
		break;
	case 6:
		rc = plmc_delete(key, kl);
		if (rc != PLMC_DELETED && rc != PLMC_NOT_FOUND)
			BAD(w, "delete %s: %s\n", key, plmc_strerror(rc));
		return;
	case 7:
		rc = plmc_touch(key, kl, exp);
		if (rc != PLMC_TOUCHED && rc != PLMC_NOT_FOUND)
			BAD(w, "touch %s: %s\n", key, plmc_strerror(rc));
		return;
	default: {
		uint32_t fl = 0;

		rc = op == 8 ? plmc_gat(key, kl, 0, buf, sizeof(buf), &vlen,
					&fl, NULL)
			     : plmc_get(key, kl, buf, sizeof(buf), &vlen, &fl,
					NULL);
		if (rc == PLMC_OK &&
		    (!ut_val_ok(buf, vlen, k) || fl != (uint32_t)k))
			BAD(w, "get %s: foreign or torn value (%zu: %.16s)\n",
			    key, vlen, buf);
		else if (rc != PLMC_OK && rc != PLMC_NOT_FOUND)
			BAD(w, "get %s: %s\n", key, plmc_strerror(rc));
		return;
	}
	}
	if (!storing(rc))
		BAD(w, "op %d on %s: %s\n", op, key, plmc_strerror(rc));
}

/* incr/decr/set on a counter: it must stay a number. */
static void op_counter(struct worker *w)
{
	char key[16];
	int c = rand_r(&w->seed) % NCTRS, r = rand_r(&w->seed) % 4;
	size_t kl = (size_t)snprintf(key, sizeof(key), "c%d", c);
	uint64_t v;
	int rc;

	if (r == 0)
		rc = plmc_set(key, kl, "100", 3, 0, 0) == PLMC_STORED
			     ? PLMC_OK
			     : -1;
	else
		rc = (r == 1 ? plmc_decr : plmc_incr)(key, kl, 7, &v);
	if (rc != PLMC_OK && rc != PLMC_NOT_FOUND)
		BAD(w, "counter %s: %s\n", key, plmc_strerror(rc));
}

/* A multi-get of 10 keys: each entry checked on its own. */
static void op_mget(struct worker *w)
{
	static __thread char bufs[10][VMAX * 4];
	char keys[10][16];
	struct plmc_mget m[10];
	int i, k[10], rc;

	memset(m, 0, sizeof(m));
	for (i = 0; i < 10; i++) {
		k[i] = rand_r(&w->seed) % NKEYS;
		m[i].klen = (uint32_t)snprintf(keys[i], 16, "k%d", k[i]);
		m[i].key = keys[i];
		m[i].buf = bufs[i];
		m[i].buflen = sizeof(bufs[i]);
	}
	rc = plmc_mget(m, 10);
	if (rc != PLMC_OK) {
		BAD(w, "mget: %s\n", plmc_strerror(rc));
		return;
	}
	for (i = 0; i < 10; i++)
		if ((m[i].rc == PLMC_OK &&
		     !ut_val_ok(bufs[i], m[i].vlen, k[i])) ||
		    (m[i].rc != PLMC_OK && m[i].rc != PLMC_NOT_FOUND))
			BAD(w, "mget k%d: rc %d\n", k[i], m[i].rc);
}

static void *work(void *arg)
{
	struct worker w = {.seed = (unsigned)(uintptr_t)arg * 7919 +
				   (unsigned)getpid() * 31};
	int i;

	for (i = 0; i < nops; i++) {
		int r = rand_r(&w.seed) % 100;

		if (r < 8)
			op_counter(&w);
		else if (r < 11)
			op_mget(&w);
		else if (r == 11 && !(i % 64))
			plmc_clock_advance(1); /* expiry comes to every key */
		else
			op_value(&w, rand_r(&w.seed) % NKEYS,
				 rand_r(&w.seed) % 11);
	}
	return (void *)w.bad;
}

START_TEST(mixed_4x2)
{
	struct plmc_check ck = {.size = sizeof(ck)};
	struct plmc_stats st;

	if (getenv("STRESS_OPS"))
		nops = atoi(getenv("STRESS_OPS"));
	ut_make_name("stress");
	/* 16 MiB: 14 pages for the 11 classes the values span. */
	ut_rc(ut_create(ut_name, 16ULL << 20), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_procs(work, NPROC, NTHR);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 1);
	ck_assert_uint_eq(ck.locks_held, 0);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, ck.items);
	ck_assert_uint_eq(st.bytes, ck.bytes);
	/* The default run fills the store many times over and moves the
	 * clock: it must have evicted and expired. (The VM's short run,
	 * STRESS_OPS=1500 under TCG, checks the structure only.) */
	if (nops >= 20000) {
		ck_assert_uint_gt(st.evictions, 1000);
		ck_assert_uint_gt(st.reclaimed, 0);
	}
	ck_assert_uint_eq(st.dead_slots, 0);
	fprintf(stderr,
		"stress: %d ops, %llu items, %llu evictions, %llu reclaimed, "
		"check: %s\n",
		NPROC * NTHR * nops, (unsigned long long)st.curr_items,
		(unsigned long long)st.evictions,
		(unsigned long long)st.reclaimed, ck.msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("stress");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mixed_4x2);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
