// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_limits.c - key and value limits.
 */
#include <stdlib.h>
#include "util.h"

/*
 * The largest value the store accepts with a key of @klen bytes and
 * nonzero flags: memcached 1.6's rule (kvcore/item.c kv_item_fits,
 * docs/store.md), 59 bytes of its overhead + key + value, 4 more when
 * the flags are not 0, may be PLMC_ITEM_MAX bytes. Measured against
 * memcached 1.6.18 -I 1m: with a 10-byte key, values up to 1048507
 * bytes (flags 0) and 1048503 (flags 1) are stored.
 */
static size_t vmax(size_t klen)
{
	return PLMC_ITEM_MAX - 59 - 4 - klen;
}

static void setup(void)
{
	ut_store_up("lim");
}

static void teardown(void)
{
	ut_store_down();
}

START_TEST(key_lengths)
{
	char key[300], buf[8];
	size_t vlen;

	memset(key, 'k', sizeof(key));
	ut_rc(plmc_set(key, 250, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_get(key, 250, buf, sizeof(buf), &vlen, NULL, NULL), PLMC_OK);
	ut_rc(plmc_delete(key, 250), PLMC_DELETED);
	ut_rc(plmc_set(key, 251, "v", 1, 0, 0), PLMC_E_KEY);
	ut_rc(plmc_get(key, 251, buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_E_KEY);
	ut_rc(plmc_delete(key, 251), PLMC_E_KEY);
	ut_rc(plmc_set(key, 1, "v", 1, 0, 0), PLMC_STORED);
}
END_TEST

START_TEST(key_empty)
{
	char buf[8];
	size_t vlen;

	ut_rc(plmc_set("", 0, "v", 1, 0, 0), PLMC_E_KEY);
	ut_rc(plmc_set(NULL, 0, "v", 1, 0, 0), PLMC_E_KEY);
	ut_rc(plmc_get("", 0, buf, sizeof(buf), &vlen, NULL, NULL), PLMC_E_KEY);
	ut_rc(plmc_delete("", 0), PLMC_E_KEY);
}
END_TEST

START_TEST(key_bad_chars)
{
	static const char bad[] = {' ',	 '\n', '\r', '\t',
				   0x7f, 0x01, 0x1f, 0x00};
	struct plmc_stats st;
	char key[8];
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memcpy(key, "ab_cd", 5);
		key[2] = bad[i];
		ck_assert_msg(plmc_set(key, 5, "v", 1, 0, 0) == PLMC_E_KEY,
			      "key with byte 0x%02x accepted",
			      (unsigned char)bad[i]);
		key[0] = bad[i]; /* at the edges too */
		ut_rc(plmc_set(key, 1, "v", 1, 0, 0), PLMC_E_KEY);
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, 0);
	/* Bytes >= 0x80 are fine (memcached allows UTF-8 keys). */
	ut_rc(plmc_set("caf\xc3\xa9", 5, "v", 1, 0, 0), PLMC_STORED);
}
END_TEST

START_TEST(value_max)
{
	size_t klen = 8, max = vmax(klen), vlen = 0;
	char *v = malloc(max + 8), *buf = malloc(max + 8);
	uint32_t fl;

	ck_assert(v && buf);
	for (size_t i = 0; i < max + 8; i++)
		v[i] = (char)(i * 31 + 7);
	ut_rc(plmc_set("bigvalue", klen, v, max, 3, 0), PLMC_STORED);
	ut_rc(plmc_get("bigvalue", klen, buf, max + 1, &vlen, &fl, NULL),
	      PLMC_OK);
	ck_assert_uint_eq(vlen, max);
	ck_assert_uint_eq(fl, 3);
	ck_assert(memcmp(v, buf, max) == 0);
	ut_rc(plmc_set("bigvalu2", klen, v, max + 1, 3, 0), PLMC_E_TOOBIG);
	/* Flags 0 leave 4 bytes more, as in memcached. */
	ut_rc(plmc_set("bigvalu3", klen, v, max + 5, 0, 0), PLMC_E_TOOBIG);
	ut_rc(plmc_set("bigvalu3", klen, v, max + 4, 0, 0), PLMC_STORED);
	ut_rc(plmc_get("bigvalu3", klen, buf, max + 5, &vlen, NULL, NULL),
	      PLMC_OK);
	ck_assert_uint_eq(vlen, max + 4);
	ut_rc(plmc_get("bigvalu2", klen, buf, max + 1, &vlen, NULL, NULL),
	      PLMC_NOT_FOUND);
	/* memcached's rule: a set too big to store removes the old value
	 * (no stale value outlives a failed write); add and replace keep
	 * it. */
	ut_rc(plmc_replace("bigvalue", klen, v, max + 1, 3, 0), PLMC_E_TOOBIG);
	ut_rc(plmc_add("bigvalue", klen, v, max + 1, 3, 0), PLMC_E_TOOBIG);
	ut_rc(plmc_get("bigvalue", klen, buf, max + 1, &vlen, NULL, NULL),
	      PLMC_OK);
	ck_assert_uint_eq(vlen, max);
	ut_rc(plmc_set("bigvalue", klen, v, max + 1, 3, 0), PLMC_E_TOOBIG);
	ut_rc(plmc_get("bigvalue", klen, buf, max + 1, &vlen, NULL, NULL),
	      PLMC_NOT_FOUND);
	ut_rc(plmc_set("huge", 4, v, (size_t)1 << 40, 0, 0), PLMC_E_TOOBIG);
	free(v);
	free(buf);
}
END_TEST

START_TEST(value_empty)
{
	size_t vlen = 99;
	uint32_t fl = 0;

	ut_rc(plmc_set("empty", 5, "", 0, 9, 0), PLMC_STORED);
	ut_rc(plmc_set("empty2", 6, NULL, 0, 0, 0), PLMC_STORED);
	ut_rc(plmc_get("empty", 5, NULL, 0, &vlen, &fl, NULL), PLMC_OK);
	ck_assert_uint_eq(vlen, 0);
	ck_assert_uint_eq(fl, 9);
	vlen = 99;
	ut_rc(plmc_get("empty2", 6, NULL, 0, &vlen, NULL, NULL), PLMC_OK);
	ck_assert_uint_eq(vlen, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, key_lengths);
	tcase_add_test(tc, key_empty);
	tcase_add_test(tc, key_bad_chars);
	tcase_add_test(tc, value_max);
	tcase_add_test(tc, value_empty);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
