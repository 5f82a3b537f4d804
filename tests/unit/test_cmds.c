// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_cmds.c - memcached's commands beyond get/set/delete:
 * add, replace, append, prepend, cas, incr/decr, touch, gat, flush_all,
 * version, mget, and their counters. Expected answers follow memcached
 * 1.6.18 (see docs/store.md for the few deliberate differences).
 */
#include <stdlib.h>
#include <time.h>
#include "util.h"
#include "../../libpl/pl.h"

static void setup(void)
{
	ut_store_up("cmd");
}

static void teardown(void)
{
	ut_store_down();
}

#define S(x) x, strlen(x)

static int miss(const char *key)
{
	char buf[8];
	size_t vlen;

	return plmc_get(S(key), buf, sizeof(buf), &vlen, NULL, NULL) ==
	       PLMC_NOT_FOUND;
}

static struct plmc_stats stats(void)
{
	struct plmc_stats st;

	ut_rc(plmc_stats(&st), PLMC_OK);
	return st;
}

START_TEST(add_cases)
{
	ut_rc(plmc_add(S("a"), S("one"), 1, 0), PLMC_STORED);
	ut_get_is("a", "one", 1);
	ut_rc(plmc_add(S("a"), S("two"), 2, 0), PLMC_NOT_STORED);
	ut_get_is("a", "one", 1);
	/* An expired item does not count as there. */
	ut_rc(plmc_set(S("e"), S("old"), 0, 5), PLMC_STORED);
	ut_rc(plmc_clock_advance(6), PLMC_OK);
	ut_rc(plmc_add(S("e"), S("new"), 3, 0), PLMC_STORED);
	ut_get_is("e", "new", 3);
	/* Already expired: stored, and then not there. */
	ut_rc(plmc_add(S("neg"), S("v"), 0, -1), PLMC_STORED);
	ck_assert(miss("neg"));
	ut_rc(plmc_add(S("a"), S("v"), 0, -1), PLMC_NOT_STORED);
	ut_get_is("a", "one", 1);
	ut_rc(plmc_delete(S("a")), PLMC_DELETED);
	ut_rc(plmc_add(S("a"), S("three"), 0, 0), PLMC_STORED);
	ut_get_is("a", "three", 0);
}
END_TEST

START_TEST(replace_cases)
{
	ut_rc(plmc_replace(S("r"), S("x"), 0, 0), PLMC_NOT_STORED);
	ck_assert(miss("r"));
	ut_rc(plmc_set(S("r"), S("x"), 1, 0), PLMC_STORED);
	ut_rc(plmc_replace(S("r"), S("yy"), 9, 0), PLMC_STORED);
	ut_get_is("r", "yy", 9);
	ut_rc(plmc_set(S("t"), S("x"), 0, 2), PLMC_STORED);
	ut_rc(plmc_clock_advance(3), PLMC_OK);
	ut_rc(plmc_replace(S("t"), S("z"), 0, 0), PLMC_NOT_STORED);
	ck_assert(miss("t"));
	/* Replace with an expiry in the past removes the key. */
	ut_rc(plmc_replace(S("r"), S("z"), 0, -1), PLMC_STORED);
	ck_assert(miss("r"));
}
END_TEST

START_TEST(append_prepend)
{
	uint64_t c1, c2;

	ut_rc(plmc_append(S("k"), S("x")), PLMC_NOT_STORED);
	ut_rc(plmc_prepend(S("k"), S("x")), PLMC_NOT_STORED);
	ck_assert(miss("k"));
	ut_rc(plmc_set(S("k"), S("mid"), 77, 100), PLMC_STORED);
	c1 = ut_get_is("k", "mid", 77);
	ut_rc(plmc_append(S("k"), S("-end")), PLMC_STORED);
	ut_rc(plmc_prepend(S("k"), S("start-")), PLMC_STORED);
	c2 = ut_get_is("k", "start-mid-end", 77);
	ck_assert_uint_gt(c2, c1);
	ut_rc(plmc_append(S("k"), "", 0), PLMC_STORED);
	ck_assert_uint_gt(ut_get_is("k", "start-mid-end", 77), c2);
	/* exptime kept: the item still expires 100 s after the set. (Some
	 * seconds of slack: the store clock also moves in real time, and
	 * the VM runs this under TCG.) */
	ut_rc(plmc_clock_advance(95), PLMC_OK);
	ut_get_is("k", "start-mid-end", 77);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	ck_assert(miss("k"));
	ut_rc(plmc_append(S("k"), S("x")), PLMC_NOT_STORED);
}
END_TEST

START_TEST(append_too_big)
{
	size_t big = PLMC_ITEM_MAX - 59 - 1 - 10; /* flags 0: memcached's rule */
	char *v = calloc(1, big + 64);

	ck_assert_ptr_nonnull(v);
	memset(v, 'b', big);
	ut_rc(plmc_set(S("b"), v, big, 0, 0), PLMC_STORED);
	ut_rc(plmc_append(S("b"), "0123456789", 10), PLMC_STORED);
	/* The join would not fit: memcached's NOT_STORED, the value stays. */
	ut_rc(plmc_append(S("b"), "!", 1), PLMC_NOT_STORED);
	ut_rc(plmc_prepend(S("b"), "!", 1), PLMC_NOT_STORED);
	/* A piece too big on its own: too large, as memcached says. */
	ut_rc(plmc_append(S("b"), v, big + 11), PLMC_E_TOOBIG);
	ut_rc(plmc_append(S("b"), "", 0), PLMC_STORED); /* still there */
	free(v);
}
END_TEST

START_TEST(cas_cases)
{
	struct plmc_stats a = stats(), b;
	uint64_t c;

	ut_rc(plmc_cas(S("c"), S("v"), 0, 0, 1), PLMC_NOT_FOUND);
	ut_rc(plmc_set(S("c"), S("v1"), 1, 0), PLMC_STORED);
	c = ut_get_is("c", "v1", 1);
	ut_rc(plmc_cas(S("c"), S("bad"), 0, 0, c + 1000), PLMC_EXISTS);
	ut_rc(plmc_cas(S("c"), S("bad"), 0, 0, 0), PLMC_EXISTS);
	ut_get_is("c", "v1", 1);
	ut_rc(plmc_cas(S("c"), S("v2"), 2, 0, c), PLMC_STORED);
	ck_assert_uint_gt(ut_get_is("c", "v2", 2), c);
	/* The old unique is spent. */
	ut_rc(plmc_cas(S("c"), S("v3"), 3, 0, c), PLMC_EXISTS);
	ut_get_is("c", "v2", 2);
	/* cas on an expired item: NOT_FOUND. */
	c = ut_get_is("c", "v2", 2);
	ut_rc(plmc_cas(S("c"), S("v4"), 0, 1, c), PLMC_STORED);
	ut_rc(plmc_clock_advance(2), PLMC_OK);
	ut_rc(plmc_cas(S("c"), S("v5"), 0, 0, c), PLMC_NOT_FOUND);
	b = stats();
	ck_assert_uint_eq(b.cas_misses - a.cas_misses, 2);
	ck_assert_uint_eq(b.cas_badval - a.cas_badval, 3);
	ck_assert_uint_eq(b.cas_hits - a.cas_hits, 2);
}
END_TEST

/* CAS never reused: every mutation, whatever the command, gets a larger
 * unique. */
START_TEST(cas_grows)
{
	uint64_t prev = 0, c, v;

	ut_rc(plmc_set(S("n"), S("1"), 0, 0), PLMC_STORED);
	for (int i = 0; i < 7; i++) {
		switch (i) {
		case 0:
			ut_rc(plmc_incr(S("n"), 1, &v), PLMC_OK);
			break;
		case 1:
			ut_rc(plmc_decr(S("n"), 1, &v), PLMC_OK);
			break;
		case 2:
			ut_rc(plmc_append(S("n"), S("0")), PLMC_STORED);
			break;
		case 3:
			ut_rc(plmc_prepend(S("n"), S("1")), PLMC_STORED);
			break;
		case 4:
			ut_rc(plmc_replace(S("n"), S("5"), 0, 0), PLMC_STORED);
			break;
		case 5:
			ut_rc(plmc_cas(S("n"), S("6"), 0, 0, prev),
			      PLMC_STORED);
			break;
		case 6:
			ut_rc(plmc_set(S("n"), S("7"), 0, 0), PLMC_STORED);
			break;
		}
		ut_rc(plmc_get(S("n"), NULL, 0, NULL, NULL, &c),
		      PLMC_E_SMALLBUF);
		ck_assert_uint_gt(c, prev);
		prev = c;
	}
}
END_TEST

START_TEST(incr_decr_basic)
{
	uint64_t v = 0;
	struct plmc_stats a = stats(), b;

	ut_rc(plmc_incr(S("nope"), 1, &v), PLMC_NOT_FOUND);
	ut_rc(plmc_decr(S("nope"), 1, &v), PLMC_NOT_FOUND);
	ut_rc(plmc_set(S("n"), S("10"), 5, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("n"), 5, &v), PLMC_OK);
	ck_assert_uint_eq(v, 15);
	ut_get_is("n", "15", 5);
	ut_rc(plmc_decr(S("n"), 3, &v), PLMC_OK);
	ck_assert_uint_eq(v, 12);
	ut_rc(plmc_decr(S("n"), 100, &v), PLMC_OK); /* stops at 0 */
	ck_assert_uint_eq(v, 0);
	/* memcached pads a shorter number with spaces */
	ut_get_is("n", "0 ", 5);
	ut_rc(plmc_incr(S("n"), 0, NULL), PLMC_OK);
	b = stats();
	ck_assert_uint_eq(b.incr_hits - a.incr_hits, 2);
	ck_assert_uint_eq(b.incr_misses - a.incr_misses, 1);
	ck_assert_uint_eq(b.decr_hits - a.decr_hits, 2);
	ck_assert_uint_eq(b.decr_misses - a.decr_misses, 1);
}
END_TEST

START_TEST(incr_wrap_and_length)
{
	uint64_t v;

	ut_rc(plmc_set(S("w"), S("18446744073709551615"), 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("w"), 1, &v), PLMC_OK);
	ck_assert_uint_eq(v, 0);
	ut_get_is("w", "0                   ", 0);
	ut_rc(plmc_set(S("w"), S("18446744073709551610"), 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("w"), 10, &v), PLMC_OK);
	ck_assert_uint_eq(v, 4);
	ut_rc(plmc_set(S("w"), S("5"), 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("w"), UINT64_MAX, &v), PLMC_OK);
	ck_assert_uint_eq(v, 4);
	/* A longer number makes the value exactly its digits. */
	ut_rc(plmc_set(S("l"), S("99"), 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("l"), 1, &v), PLMC_OK);
	ut_get_is("l", "100", 0);
	ut_rc(plmc_decr(S("l"), 1, &v), PLMC_OK);
	ut_get_is("l", "99 ", 0);
	ut_rc(plmc_incr(S("l"), 1, &v), PLMC_OK);
	ut_get_is("l", "100", 0);
	/* Largest value, decr. */
	ut_rc(plmc_set(S("m"), S("18446744073709551615"), 0, 0), PLMC_STORED);
	ut_rc(plmc_decr(S("m"), 1, &v), PLMC_OK);
	ck_assert_uint_eq(v, UINT64_MAX - 1);
}
END_TEST

START_TEST(incr_nonnumeric)
{
	static const char *const bad[] = {"",	"abc",	"12abc",
					  "-5", "0x10", " ",
					  "+",	"1.5",	"18446744073709551616",
					  "1e3"};
	static const char *const good[] = {" 12", "12 ", "+7",	  "-0",
					   "007", "3 x", "\t\n4", "8\r\n"};
	static const uint64_t gv[] = {13, 13, 8, 1, 8, 4, 5, 9};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ut_rc(plmc_set(S("x"), S(bad[i]), 0, 0), PLMC_STORED);
		ck_assert_msg(plmc_incr(S("x"), 1, &v) == PLMC_E_NONNUMERIC,
			      "incr of '%s' accepted", bad[i]);
		ut_rc(plmc_decr(S("x"), 1, &v), PLMC_E_NONNUMERIC);
		ut_get_is("x", bad[i], 0); /* untouched */
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ut_rc(plmc_set(S("x"), S(good[i]), 0, 0), PLMC_STORED);
		ck_assert_msg(plmc_incr(S("x"), 1, &v) == PLMC_OK,
			      "incr of '%s' refused", good[i]);
		ck_assert_uint_eq(v, gv[i]);
	}
	/* A NUL ends the number too. */
	ut_rc(plmc_set(S("z"), "42\0zz", 5, 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("z"), 1, &v), PLMC_OK);
	ck_assert_uint_eq(v, 43);
	/* Sign-wrapped negatives that strtoull leaves positive pass. */
	ut_rc(plmc_set(S("s"), S("-18446744073709551615"), 0, 0), PLMC_STORED);
	ut_rc(plmc_incr(S("s"), 1, &v), PLMC_OK);
	ck_assert_uint_eq(v, 2);
}
END_TEST

START_TEST(incr_keeps_flags_exptime)
{
	uint64_t v;

	ut_rc(plmc_set(S("f"), S("1"), 1234, 50), PLMC_STORED);
	ut_rc(plmc_incr(S("f"), 9, &v), PLMC_OK);
	ut_get_is("f", "10", 1234);
	ut_rc(plmc_clock_advance(45), PLMC_OK); /* slack for real seconds */
	ut_get_is("f", "10", 1234);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	ck_assert(miss("f"));
	ut_rc(plmc_incr(S("f"), 1, &v), PLMC_NOT_FOUND);
}
END_TEST

START_TEST(touch_cases)
{
	struct plmc_stats a = stats(), b;
	uint64_t c1;

	ut_rc(plmc_touch(S("t"), 10), PLMC_NOT_FOUND);
	ut_rc(plmc_set(S("t"), S("v"), 3, 10), PLMC_STORED);
	c1 = ut_get_is("t", "v", 3);
	ut_rc(plmc_touch(S("t"), 100), PLMC_TOUCHED);
	ck_assert_uint_eq(ut_get_is("t", "v", 3), c1); /* touch keeps the CAS */
	ut_rc(plmc_clock_advance(50), PLMC_OK);
	ut_get_is("t", "v", 3);
	ut_rc(plmc_touch(S("t"), 0), PLMC_TOUCHED); /* never expires now */
	ut_rc(plmc_clock_advance(1000), PLMC_OK);
	ut_get_is("t", "v", 3);
	ut_rc(plmc_touch(S("t"), -1), PLMC_TOUCHED); /* expires at once */
	ck_assert(miss("t"));
	ut_rc(plmc_touch(S("t"), 10), PLMC_NOT_FOUND);
	b = stats();
	ck_assert_uint_eq(b.cmd_touch - a.cmd_touch, 5);
	ck_assert_uint_eq(b.touch_hits - a.touch_hits, 3);
	ck_assert_uint_eq(b.touch_misses - a.touch_misses, 2);
}
END_TEST

START_TEST(gat_cases)
{
	char buf[16];
	size_t vlen = 0;
	uint32_t fl = 0;
	uint64_t cas = 0, c1;

	ut_rc(plmc_gat(S("g"), 10, buf, sizeof(buf), &vlen, &fl, &cas),
	      PLMC_NOT_FOUND);
	ut_rc(plmc_set(S("g"), S("val"), 8, 5), PLMC_STORED);
	c1 = ut_get_is("g", "val", 8);
	ut_rc(plmc_gat(S("g"), 100, buf, sizeof(buf), &vlen, &fl, &cas),
	      PLMC_OK);
	ck_assert_uint_eq(vlen, 3);
	ck_assert(!memcmp(buf, "val", 3));
	ck_assert_uint_eq(fl, 8);
	ck_assert_uint_eq(cas, c1);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	ut_get_is("g", "val", 8); /* would have expired at +5 */
	ut_rc(plmc_gat(S("g"), 0, NULL, 0, &vlen, NULL, NULL), PLMC_E_SMALLBUF);
	ck_assert_uint_eq(vlen, 3);
	ut_rc(plmc_gat(S("g"), -1, buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_OK); /* returned, then gone */
	ck_assert(miss("g"));
}
END_TEST

START_TEST(flush_now)
{
	struct plmc_stats st;

	ut_rc(plmc_set(S("a"), S("1"), 0, 0), PLMC_STORED);
	ut_rc(plmc_set(S("b"), S("2"), 0, 1000), PLMC_STORED);
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ck_assert(miss("a"));
	ck_assert(miss("b"));
	ut_rc(plmc_add(S("a"), S("3"), 0, 0), PLMC_STORED);
	ut_get_is("a", "3", 0); /* same second, after the flush: visible */
	ut_rc(plmc_replace(S("b"), S("x"), 0, 0), PLMC_NOT_STORED);
	ut_rc(plmc_incr(S("b"), 1, NULL), PLMC_NOT_FOUND);
	ut_rc(plmc_flush_all(-5), PLMC_OK); /* negative: now */
	ck_assert(miss("a"));
	st = stats();
	ck_assert_uint_eq(st.cmd_flush, 2);
	ck_assert_uint_ge(st.get_flushed, 2);
}
END_TEST

/* memcached: "flush_all N" makes items stored up to now + N - 1 vanish
 * once that second comes. */
START_TEST(flush_delayed)
{
	/* The store clock is real time plus the offset: the 9 s between
	 * +90 and the flush point are slack for a loaded host under TCG. */
	ut_rc(plmc_set(S("a"), S("1"), 0, 0), PLMC_STORED);
	ut_rc(plmc_flush_all(100), PLMC_OK);
	ut_rc(plmc_clock_advance(50), PLMC_OK);
	ut_rc(plmc_set(S("b"), S("2"), 0, 0), PLMC_STORED);
	ut_rc(plmc_clock_advance(40), PLMC_OK); /* +90 */
	ut_get_is("a", "1", 0);
	ut_get_is("b", "2", 0);
	ut_rc(plmc_clock_advance(9), PLMC_OK); /* +99: the flush point */
	ck_assert(miss("a"));
	ck_assert(miss("b"));
	ut_rc(plmc_clock_advance(1), PLMC_OK);
	ut_rc(plmc_set(S("c"), S("3"), 0, 0), PLMC_STORED);
	ut_get_is("c", "3", 0);
}
END_TEST

START_TEST(version_str)
{
	char buf[64], tiny[4];

	ut_rc(plmc_version(buf, sizeof(buf)), PLMC_OK);
	ck_assert_str_eq(buf, "1.6.18-plmc");
	ut_rc(plmc_version(tiny, sizeof(tiny)), PLMC_E_SMALLBUF);
	ut_rc(plmc_version(NULL, 0), PLMC_E_SMALLBUF);
	ut_rc(plmc_version((char *)PLMC_STORE_ADDR, 64), PLMC_E_FAULT);
}
END_TEST

START_TEST(mget_mixed)
{
	struct plmc_mget k[6];
	char b[6][16], badkey[] = "a b";
	struct plmc_stats a = stats(), s;
	int i;

	ut_rc(plmc_set(S("m1"), S("one"), 1, 0), PLMC_STORED);
	ut_rc(plmc_set(S("m2"), S("two-long-value"), 2, 0), PLMC_STORED);
	memset(k, 0x5a, sizeof(k));
	for (i = 0; i < 6; i++) {
		k[i].buf = b[i];
		k[i].buflen = sizeof(b[i]);
		k[i].key = "m1";
		k[i].klen = 2;
	}
	k[1].key = "m2";
	k[2].key = "zz";
	k[3].key = badkey;
	k[3].klen = 3;
	k[4].key = "m2";
	k[4].buflen = 4; /* too small */
	k[5].key = "m1";
	k[5].buf = (void *)PLMC_STORE_ADDR; /* inside the window */
	ut_rc(plmc_mget(k, 6), PLMC_OK);
	ut_rc(k[0].rc, PLMC_OK);
	ck_assert_uint_eq(k[0].vlen, 3);
	ck_assert(!memcmp(b[0], "one", 3));
	ck_assert_uint_eq(k[0].flags, 1);
	ck_assert_uint_ne(k[0].cas, 0);
	ut_rc(k[1].rc, PLMC_OK);
	ck_assert(!memcmp(b[1], "two-long-value", 14));
	ck_assert_uint_eq(k[1].flags, 2);
	ut_rc(k[2].rc, PLMC_NOT_FOUND);
	ut_rc(k[3].rc, PLMC_E_KEY);
	ut_rc(k[4].rc, PLMC_E_SMALLBUF);
	ck_assert_uint_eq(k[4].vlen, 14);
	ut_rc(k[5].rc, PLMC_E_FAULT);
	s = stats();
	ck_assert_uint_eq(s.cmd_get - a.cmd_get, 4);
	ck_assert_uint_eq(s.get_hits - a.get_hits, 3);
	ck_assert_uint_eq(s.get_misses - a.get_misses, 1);
}
END_TEST

/* More keys than one batch: libpl splits, each key still answered. */
START_TEST(mget_many)
{
	enum { N = 257 };
	static struct plmc_mget k[N];
	static char keys[N][16], bufs[N][16];
	int i;

	for (i = 0; i < N; i++) {
		int kl = snprintf(keys[i], sizeof(keys[i]), "k%d", i);

		if (i % 3)
			ut_rc(plmc_set(keys[i], (size_t)kl, keys[i], (size_t)kl,
				       (uint32_t)i, 0),
			      PLMC_STORED);
		k[i].key = keys[i];
		k[i].klen = (uint32_t)kl;
		k[i].buf = bufs[i];
		k[i].buflen = sizeof(bufs[i]);
	}
	ut_rc(plmc_mget(k, N), PLMC_OK);
	for (i = 0; i < N; i++) {
		if (i % 3 == 0) {
			ut_rc(k[i].rc, PLMC_NOT_FOUND);
			continue;
		}
		ut_rc(k[i].rc, PLMC_OK);
		ck_assert_uint_eq(k[i].vlen, k[i].klen);
		ck_assert(!memcmp(bufs[i], keys[i], k[i].klen));
		ck_assert_uint_eq(k[i].flags, (uint32_t)i);
	}
	ut_rc(plmc_mget(k, 0), PLMC_OK);
	ut_rc(plmc_mget(NULL, 1), PLMC_E_INVAL);
}
END_TEST

/* The gate itself refuses bad batches (libpl is untrusted). */
START_TEST(mget_raw)
{
	struct plmc_mget_ent e[PLMC_MGET_MAX + 1];
	struct plmc_req r = {0};

	memset(e, 0, sizeof(e));
	r.out = (uint64_t)(uintptr_t)e;
	r.buflen = PLMC_MGET_MAX + 1;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_E_INVAL);
	r.buflen = 0;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_E_INVAL);
	r.buflen = 2;
	r.out = PLMC_STORE_ADDR;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_E_FAULT);
	r.out = (uint64_t)-16;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_E_FAULT);
	r.out = (uint64_t)(uintptr_t)e;
	r.klen = 1;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_E_INVAL);
	r.klen = 0;
	ut_rc((int)pl_call(PLMC_OP_MGET, &r), PLMC_OK);
	ut_rc(e[0].rc, PLMC_E_KEY); /* klen 0 */
}
END_TEST

/* Unused request fields must be zero for the new ops too. */
START_TEST(raw_unused_fields)
{
	uint64_t v;
	struct plmc_req r = {0};

	ut_rc(plmc_set(S("k"), S("1"), 0, 0), PLMC_STORED);
	r.key = (uint64_t)(uintptr_t) "k";
	r.klen = 1;
	r.out = (uint64_t)(uintptr_t)&v;
	r.vlen = 1;
	r.flags = 1;
	ut_rc((int)pl_call(PLMC_OP_INCR, &r), PLMC_E_INVAL);
	r.flags = 0;
	r.out = PLMC_STORE_ADDR;
	ut_rc((int)pl_call(PLMC_OP_INCR, &r), PLMC_E_FAULT);
	r.out = 0;
	ut_rc((int)pl_call(PLMC_OP_INCR, &r), PLMC_E_FAULT);
	memset(&r, 0, sizeof(r));
	r.key = (uint64_t)(uintptr_t) "k";
	r.klen = 1;
	r.exptime = 5;
	r.flags = 3;
	ut_rc((int)pl_call(PLMC_OP_APPEND, &r), PLMC_E_INVAL);
	ut_rc((int)pl_call(PLMC_OP_TOUCH, &r), PLMC_E_INVAL);
	r.cas = 9;
	r.flags = 0;
	ut_rc((int)pl_call(PLMC_OP_ADD, &r), PLMC_E_INVAL);
	r.key = 0;
	r.klen = 0;
	ut_rc((int)pl_call(PLMC_OP_FLUSH, &r), PLMC_E_INVAL);
	ut_get_is("k", "1", 0);
	ut_rc((int)pl_call(PLMC_OP_COUNT, &r), PLMC_E_BADOP);
}
END_TEST

START_TEST(expiry_counters)
{
	struct plmc_stats a = stats(), b;

	ut_rc(plmc_set(S("u"), S("v"), 0, 2), PLMC_STORED); /* never read */
	ut_rc(plmc_set(S("f"), S("v"), 0, 2), PLMC_STORED);
	ut_get_is("f", "v", 0);
	ut_rc(plmc_clock_advance(3), PLMC_OK);
	ck_assert(miss("u"));
	ck_assert(miss("f"));
	ck_assert(miss("f")); /* unlinked by the first miss */
	b = stats();
	ck_assert_uint_eq(b.get_expired - a.get_expired, 2);
	ck_assert_uint_eq(b.reclaimed - a.reclaimed, 2);
	ck_assert_uint_eq(b.expired_unfetched - a.expired_unfetched, 1);
	ck_assert_uint_eq(b.curr_items, 0);
	ck_assert_uint_eq(b.size, sizeof(b));
}
END_TEST

/* An old caller's smaller struct gets the prefix it knows. */
START_TEST(stats_old_size)
{
	struct plmc_stats st;
	struct plmc_req r = {0};

	memset(&st, 0xab, sizeof(st));
	r.out = (uint64_t)(uintptr_t)&st;
	r.buflen = offsetof(struct plmc_stats, cmd_touch);
	ut_rc((int)pl_call(PLMC_OP_STATS, &r), PLMC_OK);
	ck_assert_uint_eq(st.size, offsetof(struct plmc_stats, cmd_touch));
	ck_assert_uint_eq(st.cmd_touch, 0xababababababababULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cmds");
	TCase *tc = tcase_create("cmds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, add_cases);
	tcase_add_test(tc, replace_cases);
	tcase_add_test(tc, append_prepend);
	tcase_add_test(tc, append_too_big);
	tcase_add_test(tc, cas_cases);
	tcase_add_test(tc, cas_grows);
	tcase_add_test(tc, incr_decr_basic);
	tcase_add_test(tc, incr_wrap_and_length);
	tcase_add_test(tc, incr_nonnumeric);
	tcase_add_test(tc, incr_keeps_flags_exptime);
	tcase_add_test(tc, touch_cases);
	tcase_add_test(tc, gat_cases);
	tcase_add_test(tc, flush_now);
	tcase_add_test(tc, flush_delayed);
	tcase_add_test(tc, version_str);
	tcase_add_test(tc, mget_mixed);
	tcase_add_test(tc, mget_many);
	tcase_add_test(tc, mget_raw);
	tcase_add_test(tc, raw_unused_fields);
	tcase_add_test(tc, expiry_counters);
	tcase_add_test(tc, stats_old_size);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
