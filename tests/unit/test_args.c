// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_args.c - bad arguments: NULL buffers, buffers inside the
 * protected window or wrapping around the address space, small buffers.
 * Each case also checks that the store did not change.
 *
 * The raw cases go around the typed wrappers (pl_call from libpl's private
 * header) to show that the store itself refuses what a hostile client
 * could pass: libpl is untrusted code.
 */
#include <errno.h>
#include <stdint.h>
#include "util.h"
#include "../../libpl/pl.h"

#define WIN_LO	  ((void *)PLMC_BASE)
#define WIN_STORE ((void *)PLMC_STORE_ADDR)
#define WIN_HI	  ((void *)(PLMC_BASE + PLMC_SPAN - 1))
#define WRAP	  ((void *)(uintptr_t)-16)

static void setup(void)
{
	ut_store_up("args");
	ut_rc(plmc_set("key", 3, "value", 5, 5, 0), PLMC_STORED);
}

static void teardown(void)
{
	ut_store_down();
}

/* The store still holds exactly key=value (flags 5) and nothing else. */
static void store_unchanged(void)
{
	struct plmc_stats st;
	char buf[16];
	size_t vlen = 0;
	uint32_t fl = 0;

	ut_rc(plmc_get("key", 3, buf, sizeof(buf), &vlen, &fl, NULL), PLMC_OK);
	ck_assert_uint_eq(vlen, 5);
	ck_assert(memcmp(buf, "value", 5) == 0);
	ck_assert_uint_eq(fl, 5);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, 1);
	if (!strcmp(ut_backend(), "none")) /* pku: the key shuts it */
		ck_assert_uint_eq(
			((struct plmc_store_hdr *)PLMC_STORE_ADDR)->magic,
			PLMC_STORE_MAGIC);
}

START_TEST(null_with_length)
{
	char buf[8];
	size_t vlen;

	ut_rc(plmc_set(NULL, 3, "v", 1, 0, 0), PLMC_E_INVAL);
	ut_rc(plmc_set("key", 3, NULL, 5, 0, 0), PLMC_E_INVAL);
	ut_rc(plmc_get(NULL, 3, buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_E_INVAL);
	ut_rc(plmc_get("key", 3, NULL, 8, &vlen, NULL, NULL), PLMC_E_INVAL);
	ut_rc(plmc_delete(NULL, 3), PLMC_E_INVAL);
	ut_rc(plmc_stats(NULL), PLMC_E_INVAL);
	store_unchanged();
}
END_TEST

START_TEST(key_in_window)
{
	void *const bad[] = {WIN_LO, WIN_STORE, WIN_HI, WRAP,
			     (void *)(PLMC_BASE - 2)};
	char buf[8];
	size_t vlen, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t kl = bad[i] == WRAP ? 64 : 3;

		ut_rc(plmc_set(bad[i], kl, "v", 1, 0, 0), PLMC_E_FAULT);
		ut_rc(plmc_get(bad[i], kl, buf, sizeof(buf), &vlen, NULL, NULL),
		      PLMC_E_FAULT);
		ut_rc(plmc_delete(bad[i], kl), PLMC_E_FAULT);
	}
	store_unchanged();
}
END_TEST

START_TEST(value_in_window)
{
	ut_rc(plmc_set("key", 3, WIN_LO, 5, 0, 0), PLMC_E_FAULT);
	ut_rc(plmc_set("key", 3, WIN_STORE, 64, 0, 0), PLMC_E_FAULT);
	ut_rc(plmc_set("key", 3, WIN_HI, 1, 0, 0), PLMC_E_FAULT);
	ut_rc(plmc_set("key", 3, WRAP, 64, 0, 0), PLMC_E_FAULT);
	/* Ends just inside the window. */
	ut_rc(plmc_set("key", 3, (void *)(PLMC_BASE - 4), 5, 0, 0),
	      PLMC_E_FAULT);
	ut_rc(plmc_set("new", 3, WIN_STORE, 64, 0, 0), PLMC_E_FAULT);
	store_unchanged();
}
END_TEST

START_TEST(buf_in_window)
{
	size_t vlen;

	ut_rc(plmc_get("key", 3, WIN_LO, 64, &vlen, NULL, NULL), PLMC_E_FAULT);
	ut_rc(plmc_get("key", 3, WIN_STORE, 64, &vlen, NULL, NULL),
	      PLMC_E_FAULT);
	ut_rc(plmc_get("key", 3, WIN_HI, 2, &vlen, NULL, NULL), PLMC_E_FAULT);
	ut_rc(plmc_get("key", 3, WRAP, 64, &vlen, NULL, NULL), PLMC_E_FAULT);
	store_unchanged();
}
END_TEST

START_TEST(stats_out_in_window)
{
	ut_rc(plmc_stats((struct plmc_stats *)WIN_STORE), PLMC_E_FAULT);
	ut_rc(plmc_stats((struct plmc_stats *)WIN_HI), PLMC_E_FAULT);
	ut_rc(plmc_stats((struct plmc_stats *)WRAP), PLMC_E_FAULT);
	store_unchanged();
}
END_TEST

/* Straight to the gate, as a client that bypasses the wrappers would. */
START_TEST(raw_requests)
{
	struct plmc_resp resp;
	char buf[16];
	struct plmc_req r;

	memset(&r, 0, sizeof(r));
	r.key = (uintptr_t) "key";
	r.klen = 3;
	r.buf = (uintptr_t)buf;
	r.buflen = sizeof(buf);
	r.out = PLMC_STORE_ADDR; /* GET result into the store header */
	ut_rc((int)pl_call(PLMC_OP_GET, &r), PLMC_E_FAULT);
	r.out = (uintptr_t)&resp;
	r.klen = 251;
	ut_rc((int)pl_call(PLMC_OP_GET, &r), PLMC_E_KEY);
	r.klen = 0xffffffffU;
	ut_rc((int)pl_call(PLMC_OP_GET, &r), PLMC_E_KEY);
	r.klen = 3;
	ut_rc((int)pl_call(PLMC_OP_COUNT, &r), PLMC_E_BADOP);
	ut_rc((int)pl_call(~0ULL, &r), PLMC_E_BADOP);
	ut_rc((int)pl_call(PLMC_OP_GET, &r), PLMC_OK);
	ck_assert_uint_eq(resp.vlen, 5);
	/* Value length that wraps the address space. */
	memset(&r, 0, sizeof(r));
	r.key = (uintptr_t) "key";
	r.klen = 3;
	r.val = (uintptr_t)buf;
	r.vlen = ~0ULL - 8;
	ck_assert_int_lt((int)pl_call(PLMC_OP_SET, &r), 0);
	store_unchanged();
}
END_TEST

/*
 * A client that sets EFLAGS.AC (alignment checking: Linux enables it in
 * CR0, so user code with AC set faults on an unaligned load) before it
 * calls: the gate clears AC for the store's run, whose word loads of
 * keys, values and buffers at any alignment must not fault (a #AC
 * inside would kill the call with the slot claimed). Keys, values and
 * buffers at odd addresses; only the raw calls run with AC set.
 */
START_TEST(alignment_check_flag)
{
	static char kb[32], vb[160], ob[160];
	struct plmc_resp resp = {0};
	struct plmc_req s, g;
	long a, b;

	memcpy(kb + 1, "odd-key-of-21-bytes!!", 21);
	memset(vb + 3, 'v', 100);
	memset(&s, 0, sizeof(s));
	s.key = (uintptr_t)(kb + 1);
	s.klen = 21;
	s.val = (uintptr_t)(vb + 3);
	s.vlen = 100;
	memset(&g, 0, sizeof(g));
	g.key = (uintptr_t)(kb + 1);
	g.klen = 21;
	g.buf = (uintptr_t)(ob + 5);
	g.buflen = 150;
	g.out = (uintptr_t)&resp;
	asm volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
	a = pl_call(PLMC_OP_SET, &s);
	b = pl_call(PLMC_OP_GET, &g);
	asm volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory",
		     "cc");
	ut_rc((int)a, PLMC_STORED);
	ut_rc((int)b, PLMC_OK);
	ck_assert_uint_eq(resp.vlen, 100);
	ck_assert(memcmp(ob + 5, vb + 3, 100) == 0);
}
END_TEST

START_TEST(small_buffer)
{
	char buf[4] = {'x', 'x', 'x', 'x'};
	size_t vlen = 0;

	ut_rc(plmc_get("key", 3, buf, 3, &vlen, NULL, NULL), PLMC_E_SMALLBUF);
	ck_assert_uint_eq(vlen, 5);
	vlen = 0;
	ut_rc(plmc_get("key", 3, NULL, 0, &vlen, NULL, NULL), PLMC_E_SMALLBUF);
	ck_assert_uint_eq(vlen, 5);
	ut_rc(plmc_get("key", 3, buf, 4, &vlen, NULL, NULL), PLMC_E_SMALLBUF);
	ck_assert_uint_eq(vlen, 5);
	store_unchanged();
}
END_TEST

START_TEST(detached_calls)
{
	char buf[8];
	size_t vlen;

	ut_rc(plmc_detach(), 0);
	ck_assert_ptr_null(plmc_backend());
	ut_rc(plmc_nop(), PLMC_E_DETACHED);
	ut_rc(plmc_set("key", 3, "v", 1, 0, 0), PLMC_E_DETACHED);
	ut_rc(plmc_get("key", 3, buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_E_DETACHED);
	ut_rc(plmc_detach(), PLMC_E_DETACHED);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	store_unchanged();
}
END_TEST

START_TEST(strerror_names)
{
	ck_assert_str_eq(plmc_strerror(PLMC_OK), "ok");
	ck_assert_str_eq(plmc_strerror(PLMC_NOT_FOUND), "not found");
	ck_assert(strstr(plmc_strerror(PLMC_E_FAULT), "protected window"));
	ck_assert(strstr(plmc_strerror(PLMC_E_IMAGE), "image"));
	ck_assert_str_eq(plmc_strerror(-ENOENT), "No such file or directory");
	ck_assert_str_eq(plmc_strerror(PLMC_E_INVAL - 50),
			 "unknown plmc error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("args");
	TCase *tc = tcase_create("args");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, null_with_length);
	tcase_add_test(tc, key_in_window);
	tcase_add_test(tc, value_in_window);
	tcase_add_test(tc, buf_in_window);
	tcase_add_test(tc, stats_out_in_window);
	tcase_add_test(tc, raw_requests);
	tcase_add_test(tc, small_buffer);
	tcase_add_test(tc, alignment_check_flag);
	tcase_add_test(tc, detached_calls);
	tcase_add_test(tc, strerror_names);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
