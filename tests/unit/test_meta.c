// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_meta.c - the store's meta op (plmc_meta): vivify,
 * recache and stale tokens (one winner, also under a thread race), the
 * ms modes and CAS rules, md with I, ma with N/J/D/C/T, me, binary keys,
 * and the request checks. Expected answers follow memcached 1.6.18.
 */
#include <pthread.h>
#include <stdlib.h>
#include "util.h"
#include "../../libpl/pl.h"

static void setup(void)
{
	ut_store_up("meta");
}

static void teardown(void)
{
	ut_store_down();
}

#define S(x) x, strlen(x)

static char vbuf[4096];

static int mg(const char *key, struct plmc_meta *m)
{
	m->cmd = PLMC_META_GET;
	return plmc_meta(S(key), m, NULL, 0, vbuf, sizeof(vbuf));
}

static int ms(const char *key, const char *val, struct plmc_meta *m)
{
	m->cmd = PLMC_META_SET;
	return plmc_meta(S(key), m, S(val), NULL, 0);
}

static int md(const char *key, struct plmc_meta *m)
{
	m->cmd = PLMC_META_DELETE;
	return plmc_meta(S(key), m, NULL, 0, NULL, 0);
}

static int ma(const char *key, struct plmc_meta *m)
{
	m->cmd = PLMC_META_ARITH;
	return plmc_meta(S(key), m, NULL, 0, NULL, 0);
}

/* A fresh request each time: unused fields must be 0. */
#define M(...) (&(struct plmc_meta){__VA_ARGS__})

START_TEST(get_flags_and_value)
{
	struct plmc_meta m = {.mflags = PLMC_MF_VALUE};

	ut_rc(mg("a", &m), PLMC_NOT_FOUND);
	ut_rc(ms("a", "hello",
		 M(.cflags = 7, .mflags = PLMC_MF_TTL, .ttl = 100)),
	      PLMC_STORED);
	memset(&m, 0, sizeof(m));
	m.mflags = PLMC_MF_VALUE;
	ut_rc(mg("a", &m), PLMC_OK);
	ck_assert_uint_eq(m.vlen, 5);
	ck_assert(!memcmp(vbuf, "hello", 5));
	ck_assert_uint_eq(m.flags, 7);
	ck_assert_int_eq(m.ttl_left, 100);
	ck_assert_uint_ne(m.cas, 0);
	ck_assert_uint_eq(m.rbits & PLMC_MR_FETCHED, 0); /* h0: first read */
	memset(&m, 0, sizeof(m));
	ut_rc(mg("a", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_FETCHED, PLMC_MR_FETCHED);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_TOKEN), 0);
}
END_TEST

START_TEST(nobump_leaves_unfetched)
{
	struct plmc_meta m = {.mflags = PLMC_MF_NOBUMP};

	ut_rc(ms("a", "x", M(0)), PLMC_STORED);
	ut_rc(mg("a", &m), PLMC_OK);
	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_DEBUG;
	ut_rc(plmc_meta(S("a"), &m, NULL, 0, NULL, 0), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_FETCHED, 0);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("a", &m), PLMC_OK);
	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_DEBUG;
	ut_rc(plmc_meta(S("a"), &m, NULL, 0, NULL, 0), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_FETCHED, PLMC_MR_FETCHED);
	ck_assert_uint_eq(m.size, PLMC_ITEM_HDR + 1 + 1);
	ck_assert_int_eq(m.ttl_left, -1);
}
END_TEST

START_TEST(ttl_update)
{
	struct plmc_meta m = {.mflags = PLMC_MF_TTL, .ttl = 5};

	ut_rc(ms("a", "x", M(0)), PLMC_STORED);
	ut_rc(mg("a", &m), PLMC_OK);
	ck_assert_int_eq(m.ttl_left, -1); /* as found */
	ck_assert_int_eq(m.ttl_set, 5);
	ut_rc(plmc_clock_advance(6), PLMC_OK);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("a", &m), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(vivify_once)
{
	struct plmc_meta m = {.mflags = PLMC_MF_VIVIFY | PLMC_MF_VALUE,
			      .vivify_ttl = 30};

	ut_rc(mg("v", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits, PLMC_MR_WON | PLMC_MR_CREATED);
	ck_assert_uint_eq(m.vlen, 0);
	ck_assert_int_eq(m.ttl_viv, 30);
	memset(&m, 0, sizeof(m));
	m.mflags = PLMC_MF_VIVIFY;
	m.vivify_ttl = 30;
	ut_rc(mg("v", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_CREATED), 0);
	ck_assert_uint_eq(m.rbits & PLMC_MR_TOKEN, PLMC_MR_TOKEN);
	ck_assert_int_eq(m.ttl_left, 30);
	/* The winner's set replaces the placeholder: no token any more. */
	ut_rc(ms("v", "data", M(0)), PLMC_STORED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("v", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_TOKEN | PLMC_MR_WON), 0);
}
END_TEST

START_TEST(vivify_ttl_order)
{
	/* N then T on the line: T's TTL is the one the item keeps. */
	struct plmc_meta m = {.mflags = PLMC_MF_VIVIFY | PLMC_MF_TTL,
			      .vivify_ttl = 30,
			      .ttl = 90};

	ut_rc(mg("v", &m), PLMC_OK);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("v", &m), PLMC_OK);
	ck_assert_int_eq(m.ttl_left, 90);
	m = (struct plmc_meta){.mflags = PLMC_MF_VIVIFY | PLMC_MF_TTL |
					 PLMC_MF_N_AFTER_T,
			       .vivify_ttl = 30,
			       .ttl = 90};
	ut_rc(mg("w", &m), PLMC_OK);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("w", &m), PLMC_OK);
	ck_assert_int_eq(m.ttl_left, 30);
}
END_TEST

START_TEST(recache_win)
{
	struct plmc_meta m = {.mflags = PLMC_MF_RECACHE, .recache = 50};

	ut_rc(ms("r", "x", M(.mflags = PLMC_MF_TTL, .ttl = 100)), PLMC_STORED);
	ut_rc(mg("r", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_WON, 0); /* 100 s left > 50 */
	m = (struct plmc_meta){.mflags = PLMC_MF_RECACHE, .recache = 200};
	ut_rc(mg("r", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_TOKEN), PLMC_MR_WON);
	m = (struct plmc_meta){.mflags = PLMC_MF_RECACHE, .recache = 200};
	ut_rc(mg("r", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_TOKEN),
			  PLMC_MR_TOKEN);
	/* No expiry: R never wins. */
	ut_rc(ms("n", "x", M(0)), PLMC_STORED);
	m = (struct plmc_meta){.mflags = PLMC_MF_RECACHE, .recache = 9999};
	ut_rc(mg("n", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_WON, 0);
	/* R after T sees T's TTL. */
	m = (struct plmc_meta){.mflags = PLMC_MF_RECACHE | PLMC_MF_TTL |
					 PLMC_MF_R_AFTER_T,
			       .recache = 100,
			       .ttl = 10};
	ut_rc(mg("n", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_WON, PLMC_MR_WON);
}
END_TEST

START_TEST(invalidate_stale)
{
	struct plmc_meta m = {0};
	uint64_t cas0, cas1;

	ut_rc(ms("s", "old", M(0)), PLMC_STORED);
	ut_rc(mg("s", &m), PLMC_OK);
	cas0 = m.cas;
	ut_rc(md("s", M(.mflags = PLMC_MF_STALE | PLMC_MF_TTL, .ttl = 30)),
	      PLMC_DELETED);
	m = (struct plmc_meta){.mflags = PLMC_MF_VALUE};
	ut_rc(mg("s", &m), PLMC_OK);
	cas1 = m.cas;
	ck_assert_uint_gt(cas1, cas0); /* md I takes a new CAS */
	ck_assert(!memcmp(vbuf, "old", 3));
	ck_assert_int_eq(m.ttl_left, 30);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_STALE | PLMC_MR_WON |
				     PLMC_MR_TOKEN | PLMC_MR_FETCHED),
			  PLMC_MR_STALE | PLMC_MR_WON | PLMC_MR_FETCHED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits &
				  (PLMC_MR_STALE | PLMC_MR_WON | PLMC_MR_TOKEN),
			  PLMC_MR_STALE | PLMC_MR_TOKEN);
	/* A set with the pre-invalidation CAS and I: stored, still stale,
	 * token state kept. Without I: EXISTS. */
	ut_rc(ms("s", "mid", M(.mflags = PLMC_MF_CAS, .cas_in = cas0)),
	      PLMC_EXISTS);
	ut_rc(ms("s", "new",
		 M(.mflags = PLMC_MF_CAS | PLMC_MF_STALE, .cas_in = cas0)),
	      PLMC_STORED);
	m = (struct plmc_meta){.mflags = PLMC_MF_VALUE};
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert(!memcmp(vbuf, "new", 3));
	ck_assert_uint_eq(m.rbits & (PLMC_MR_STALE | PLMC_MR_TOKEN),
			  PLMC_MR_STALE | PLMC_MR_TOKEN);
	ck_assert_int_eq(m.ttl_left, 30);
	/* The current CAS clears it: a plain item again. */
	ut_rc(ms("s", "fresh", M(.mflags = PLMC_MF_CAS, .cas_in = m.cas)),
	      PLMC_STORED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_STALE | PLMC_MR_TOKEN), 0);
	ck_assert_int_eq(m.ttl_left, -1);
	/* md I again: the token is free again; a NOWIN look leaves it. */
	ut_rc(md("s", M(.mflags = PLMC_MF_STALE)), PLMC_DELETED);
	m = (struct plmc_meta){.mflags = PLMC_MF_NOWIN};
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_TOKEN), 0);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_WON, PLMC_MR_WON);
	ut_rc(md("s", M(.mflags = PLMC_MF_STALE)), PLMC_DELETED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("s", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & (PLMC_MR_WON | PLMC_MR_TOKEN), PLMC_MR_WON);
	ut_rc(md("nope", M(.mflags = PLMC_MF_STALE)), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(set_modes_and_cas)
{
	struct plmc_meta m = {.mflags = PLMC_MF_VALUE};
	uint64_t cas;

	ut_rc(ms("k", "x", M(.mode = PLMC_MS_REPLACE)), PLMC_NOT_STORED);
	ut_rc(ms("k", "x", M(.mode = PLMC_MS_APPEND)), PLMC_NOT_STORED);
	ut_rc(ms("k", "x", M(.mflags = PLMC_MF_CAS, .cas_in = 5)),
	      PLMC_NOT_FOUND);
	ut_rc(ms("k", "b", M(.mode = PLMC_MS_ADD, .cflags = 3)), PLMC_STORED);
	ut_rc(ms("k", "z", M(.mode = PLMC_MS_ADD)), PLMC_NOT_STORED);
	ut_rc(ms("k", "c", M(.mode = PLMC_MS_APPEND, .cflags = 9)),
	      PLMC_STORED);
	ut_rc(ms("k", "a", M(.mode = PLMC_MS_PREPEND)), PLMC_STORED);
	ut_rc(mg("k", &m), PLMC_OK);
	ck_assert_uint_eq(m.vlen, 3);
	ck_assert(!memcmp(vbuf, "abc", 3));
	ck_assert_uint_eq(m.flags, 3); /* append keeps the flags */
	cas = m.cas;
	ut_rc(ms("k", "q",
		 M(.mode = PLMC_MS_APPEND, .mflags = PLMC_MF_CAS,
		   .cas_in = cas + 1)),
	      PLMC_EXISTS);
	ut_rc(ms("k", "q", M(.mflags = PLMC_MF_CAS, .cas_in = cas + 1)),
	      PLMC_EXISTS);
	/* C0: a cas with nothing to match. */
	ut_rc(ms("k", "q", M(.mflags = PLMC_MF_CAS)), PLMC_EXISTS);
	m = (struct plmc_meta){.mflags = PLMC_MF_CAS, .cas_in = cas};
	ut_rc(ms("k", "new", &m), PLMC_STORED);
	ck_assert_uint_gt(m.cas, cas);
	ut_rc(ms("k", "r", M(.mode = PLMC_MS_REPLACE)), PLMC_STORED);
	m = (struct plmc_meta){.mflags = PLMC_MF_VALUE};
	ut_rc(mg("k", &m), PLMC_OK);
	ck_assert(m.vlen == 1 && vbuf[0] == 'r');
	/* An exptime in the past: stored, and gone. */
	ut_rc(ms("k", "r", M(.mflags = PLMC_MF_TTL, .ttl = -1)), PLMC_STORED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("k", &m), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(delete_cases)
{
	struct plmc_meta m = {0};

	ut_rc(md("d", M(0)), PLMC_NOT_FOUND);
	ut_rc(ms("d", "x", M(0)), PLMC_STORED);
	ut_rc(mg("d", &m), PLMC_OK);
	ut_rc(md("d", M(.mflags = PLMC_MF_CAS, .cas_in = m.cas + 1)),
	      PLMC_EXISTS);
	ut_rc(md("d", M(.mflags = PLMC_MF_CAS)), PLMC_EXISTS);
	ut_rc(md("d", M(.mflags = PLMC_MF_CAS, .cas_in = m.cas)), PLMC_DELETED);
	memset(&m, 0, sizeof(m));
	ut_rc(mg("d", &m), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(arith_cases)
{
	struct plmc_meta m = {.delta = 1};

	ut_rc(ma("n", &m), PLMC_NOT_FOUND);
	m = (struct plmc_meta){.mflags = PLMC_MF_VIVIFY,
			       .initial = 7,
			       .delta = 1,
			       .vivify_ttl = 50};
	ut_rc(ma("n", &m), PLMC_OK);
	ck_assert_uint_eq(m.number, 7); /* created with J, D not applied */
	ck_assert_uint_eq(m.rbits & PLMC_MR_CREATED, PLMC_MR_CREATED);
	ck_assert_int_eq(m.ttl_viv, 50);
	m = (struct plmc_meta){.delta = 5};
	ut_rc(ma("n", &m), PLMC_OK);
	ck_assert_uint_eq(m.number, 12);
	ck_assert_int_eq(m.ttl_left, 50);
	m = (struct plmc_meta){.mode = PLMC_MA_DECR,
			       .delta = 100,
			       .mflags = PLMC_MF_TTL,
			       .ttl = 9};
	ut_rc(ma("n", &m), PLMC_OK);
	ck_assert_uint_eq(m.number, 0);
	ck_assert_int_eq(m.ttl_set, 9);
	ut_rc(ma("n",
		 M(.delta = 1, .mflags = PLMC_MF_CAS, .cas_in = m.cas + 1)),
	      PLMC_EXISTS);
	m = (struct plmc_meta){.mflags = PLMC_MF_VALUE};
	ut_rc(mg("n", &m), PLMC_OK);
	ck_assert_int_eq(m.ttl_left, 9);
	ck_assert(vbuf[0] == '0');
	/* A number that grows longer: memcached's T is lost (it lands on
	 * the replaced item); the reply still says T's TTL. */
	ut_rc(ms("g", "7", M(0)), PLMC_STORED);
	m = (struct plmc_meta){.delta = 3, .mflags = PLMC_MF_TTL, .ttl = 100};
	ut_rc(ma("g", &m), PLMC_OK);
	ck_assert_uint_eq(m.number, 10);
	ck_assert_int_eq(m.ttl_set, 100);
	m = (struct plmc_meta){0};
	ut_rc(mg("g", &m), PLMC_OK);
	ck_assert_int_eq(m.ttl_left, -1);
	ut_rc(ms("t", "abc", M(0)), PLMC_STORED);
	ut_rc(ma("t", M(.delta = 1)), PLMC_E_NONNUMERIC);
	ut_rc(ms("e", "", M(0)), PLMC_STORED);
	/* An empty value is not a number, before any CAS compare. */
	ut_rc(ma("e", M(.delta = 1, .mflags = PLMC_MF_CAS, .cas_in = 1)),
	      PLMC_E_NONNUMERIC);
}
END_TEST

START_TEST(binary_keys)
{
	static const char key[] = {0, 1, 2, ' ', '\n'};
	struct plmc_meta m = {.cmd = PLMC_META_SET};

	ut_rc(plmc_meta(key, sizeof(key), &m, "v", 1, NULL, 0), PLMC_E_KEY);
	m = (struct plmc_meta){.cmd = PLMC_META_SET, .mflags = PLMC_MF_BINKEY};
	ut_rc(plmc_meta(key, sizeof(key), &m, "v", 1, NULL, 0), PLMC_STORED);
	m = (struct plmc_meta){.cmd = PLMC_META_DEBUG,
			       .mflags = PLMC_MF_BINKEY};
	ut_rc(plmc_meta(key, sizeof(key), &m, NULL, 0, NULL, 0), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_BINKEY, PLMC_MR_BINKEY);
	/* The same namespace as text keys: "ab" stored binary is "ab". */
	m = (struct plmc_meta){.cmd = PLMC_META_SET, .mflags = PLMC_MF_BINKEY};
	ut_rc(plmc_meta(S("ab"), &m, "w", 1, NULL, 0), PLMC_STORED);
	m = (struct plmc_meta){0};
	ut_rc(mg("ab", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_BINKEY, PLMC_MR_BINKEY);
	ut_rc(ms("ab", "t", M(0)), PLMC_STORED);
	m = (struct plmc_meta){0};
	ut_rc(mg("ab", &m), PLMC_OK);
	ck_assert_uint_eq(m.rbits & PLMC_MR_BINKEY, 0);
}
END_TEST

/* Every field a command does not use must be 0; nothing changes. */
START_TEST(request_checks)
{
	struct plmc_meta m;
	struct plmc_req r = {0};

	ut_rc(ms("k", "v", M(0)), PLMC_STORED);
	ut_rc(mg("k", M(.cflags = 1)), PLMC_E_INVAL);
	ut_rc(mg("k", M(.delta = 1)), PLMC_E_INVAL);
	ut_rc(mg("k", M(.mflags = PLMC_MF_CAS)), PLMC_E_INVAL);
	ut_rc(mg("k", M(.ttl = 5)), PLMC_E_INVAL); /* no PLMC_MF_TTL */
	ut_rc(mg("k", M(.mflags = 0x8000)), PLMC_E_INVAL);
	ut_rc(mg("k", M(.mode = 1)), PLMC_E_INVAL);
	ut_rc(md("k", M(.mflags = PLMC_MF_VALUE)), PLMC_E_INVAL);
	ut_rc(md("k", M(.initial = 3)), PLMC_E_INVAL);
	ut_rc(ms("k", "w", M(.mode = 5)), PLMC_E_INVAL);
	ut_rc(ms("k", "w", M(.mflags = PLMC_MF_VIVIFY, .vivify_ttl = 1)),
	      PLMC_E_INVAL);
	ut_rc(ma("k", M(.mode = 2)), PLMC_E_INVAL);
	ut_rc(ma("k", M(.mflags = PLMC_MF_RECACHE, .recache = 1)),
	      PLMC_E_INVAL);
	m = (struct plmc_meta){.cmd = 9};
	ut_rc(plmc_meta(S("k"), &m, NULL, 0, NULL, 0), PLMC_E_INVAL);
	m = (struct plmc_meta){.cmd = PLMC_META_DELETE};
	ut_rc(plmc_meta(S("k"), &m, "x", 1, NULL, 0), PLMC_E_INVAL);
	m = (struct plmc_meta){.cmd = PLMC_META_SET};
	ut_rc(plmc_meta(S("k"), &m, "x", 1, vbuf, 8), PLMC_E_INVAL);
	/* Raw requests: the classic fields stay 0; pointers are checked. */
	m = (struct plmc_meta){.cmd = PLMC_META_DELETE};
	r.key = (uint64_t)(uintptr_t) "k";
	r.klen = 1;
	r.out = (uint64_t)(uintptr_t)&m;
	r.flags = 1;
	ut_rc((int)pl_call(PLMC_OP_META, &r), PLMC_E_INVAL);
	r.flags = 0;
	r.exptime = 1;
	ut_rc((int)pl_call(PLMC_OP_META, &r), PLMC_E_INVAL);
	r.exptime = 0;
	r.out = PLMC_STORE_ADDR;
	ut_rc((int)pl_call(PLMC_OP_META, &r), PLMC_E_FAULT);
	r.out = 0;
	ut_rc((int)pl_call(PLMC_OP_META, &r), PLMC_E_FAULT);
	r.out = (uint64_t)(uintptr_t)&m;
	r.key = PLMC_STORE_ADDR;
	ut_rc((int)pl_call(PLMC_OP_META, &r), PLMC_E_FAULT);
	m = (struct plmc_meta){.cmd = PLMC_META_GET, .mflags = PLMC_MF_VALUE};
	ut_rc(plmc_meta(S("k"), &m, NULL, 0, vbuf, 0), PLMC_E_SMALLBUF);
	m = (struct plmc_meta){.mflags = PLMC_MF_VALUE};
	ut_rc(mg("k", &m), PLMC_OK);
	ck_assert(m.vlen == 1 && vbuf[0] == 'v');
}
END_TEST

/* Many threads race a vivify, a recache and a stale hit on one key:
 * exactly one of them gets W each time. */
#define RACERS 8

static pthread_barrier_t bar;
static struct plmc_meta racem[RACERS];

static void *racer(void *arg)
{
	struct plmc_meta *m = arg;
	int rc;

	pthread_barrier_wait(&bar);
	m->cmd = PLMC_META_GET;
	rc = plmc_meta(S("race"), m, NULL, 0, NULL, 0);
	ck_assert_int_eq(rc, PLMC_OK);
	plmc_nop();
	return NULL;
}

static int race(struct plmc_meta proto)
{
	pthread_t t[RACERS];
	int won = 0;

	pthread_barrier_init(&bar, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		racem[i] = proto;
		pthread_create(&t[i], NULL, racer, &racem[i]);
	}
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		won += !!(racem[i].rbits & PLMC_MR_WON);
	}
	pthread_barrier_destroy(&bar);
	return won;
}

START_TEST(one_winner_race)
{
	for (int round = 0; round < 20; round++) {
		ut_rc(md("race", M(0)), round ? PLMC_DELETED : PLMC_NOT_FOUND);
		ck_assert_int_eq(
			race((struct plmc_meta){.mflags = PLMC_MF_VIVIFY,
						.vivify_ttl = 30}),
			1);
		ut_rc(ms("race", "x", M(.mflags = PLMC_MF_TTL, .ttl = 10)),
		      PLMC_STORED);
		ck_assert_int_eq(
			race((struct plmc_meta){.mflags = PLMC_MF_RECACHE,
						.recache = 60}),
			1);
		ut_rc(md("race", M(.mflags = PLMC_MF_STALE)), PLMC_DELETED);
		ck_assert_int_eq(race((struct plmc_meta){0}), 1);
	}
}
END_TEST

START_TEST(check_after)
{
	struct plmc_check ck = {.size = sizeof(ck)};
	struct plmc_meta m;

	for (int i = 0; i < 200; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i % 37);
		m = (struct plmc_meta){.mflags = PLMC_MF_VIVIFY,
				       .vivify_ttl = 30};
		ut_rc(mg(k, &m), PLMC_OK);
		ut_rc(md(k, M(.mflags = PLMC_MF_STALE)), PLMC_DELETED);
		ut_rc(ms(k, "12", M(.mode = PLMC_MS_APPEND)), PLMC_STORED);
		m = (struct plmc_meta){.delta = 3};
		ut_rc(ma(k, &m), PLMC_OK);
		if (i % 3 == 0)
			ut_rc(md(k, M(0)), PLMC_DELETED);
	}
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 1);
}
END_TEST

/*
 * memcached's counters: mg with T that hits is a touch (cmd_touch,
 * touch_hits), its miss a get miss; with PLMC_MF_TOUCH (the binary gat)
 * the miss is a touch miss; plmc_gat is a touch, never a get.
 */
START_TEST(touch_counters)
{
	struct plmc_stats a = {.size = sizeof(a)}, b = {.size = sizeof(b)};
	size_t vlen;

	ut_rc(ms("t", "v", M(0)), PLMC_STORED);
	ut_rc(plmc_stats(&a), PLMC_OK);
	ut_rc(mg("t", M(.mflags = PLMC_MF_TTL, .ttl = 50)), PLMC_OK);
	ut_rc(mg("nx", M(.mflags = PLMC_MF_TTL, .ttl = 50)), PLMC_NOT_FOUND);
	ut_rc(mg("nx", M(.mflags = PLMC_MF_TTL | PLMC_MF_TOUCH, .ttl = 50)),
	      PLMC_NOT_FOUND);
	ut_rc(mg("t", M(0)), PLMC_OK);
	ut_rc(plmc_gat(S("t"), 50, vbuf, sizeof(vbuf), &vlen, NULL, NULL),
	      PLMC_OK);
	ut_rc(plmc_gat(S("nx"), 50, vbuf, sizeof(vbuf), &vlen, NULL, NULL),
	      PLMC_NOT_FOUND);
	ut_rc(plmc_stats(&b), PLMC_OK);
	ck_assert_uint_eq(b.cmd_get - a.cmd_get, 2);
	ck_assert_uint_eq(b.get_hits - a.get_hits, 1);
	ck_assert_uint_eq(b.get_misses - a.get_misses, 1);
	ck_assert_uint_eq(b.cmd_touch - a.cmd_touch, 4);
	ck_assert_uint_eq(b.touch_hits - a.touch_hits, 2);
	ck_assert_uint_eq(b.touch_misses - a.touch_misses, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("meta");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, get_flags_and_value);
	tcase_add_test(tc, nobump_leaves_unfetched);
	tcase_add_test(tc, ttl_update);
	tcase_add_test(tc, vivify_once);
	tcase_add_test(tc, vivify_ttl_order);
	tcase_add_test(tc, recache_win);
	tcase_add_test(tc, invalidate_stale);
	tcase_add_test(tc, set_modes_and_cas);
	tcase_add_test(tc, delete_cases);
	tcase_add_test(tc, arith_cases);
	tcase_add_test(tc, binary_keys);
	tcase_add_test(tc, request_checks);
	tcase_add_test(tc, one_winner_race);
	tcase_add_test(tc, check_after);
	tcase_add_test(tc, touch_counters);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
