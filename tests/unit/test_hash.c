// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_hash.c - the keyed hash (hash flooding) and the
 * word-wide key paths (copy, check, compare).
 *
 * A test-only view: on the none backend the store is mapped readable in
 * this process, so the tests walk the bucket array themselves (kvcore's
 * private layout, kv.h) to see which chain each key landed on. Nothing
 * here goes through a production interface that would show the bucket
 * or the secret to a client.
 *
 * The flood: keys an outsider computes offline for one bucket. With the
 * old unkeyed function (FNV-1a and a fixed mix, reproduced here) they
 * must scatter; the control computes the same flood with the store's own
 * secret (readable here, never through the API) and SipHash-1-3, and the
 * chain must then hold every one of them: the view sees floods, and the
 * store really hashes with that secret.
 */
#include <stdint.h>
#include "util.h"
#include "../../kvcore/kv.h"

#define HT_STORE_SIZE (8ULL << 20)
#define HT_FLOOD      100

static struct plmc_store_hdr *hdr(void)
{
	return (struct plmc_store_hdr *)PLMC_STORE_ADDR;
}

static uint64_t nbuckets(void)
{
	struct plmc_stats st = {.size = sizeof(st)};

	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert(st.hash_buckets >= 1024 &&
		  !(st.hash_buckets & (st.hash_buckets - 1)));
	return st.hash_buckets;
}

static const uint64_t *buckets(void)
{
	return (const uint64_t *)(PLMC_KV_ADDR + KV_AREA_HDR);
}

static uint64_t chain_len(uint64_t b)
{
	uint64_t n = 0, p = buckets()[b];

	for (; p; p = ((const struct kv_item *)p)->next)
		n++;
	return n;
}

/* The bucket holding @key, by walking every chain; -1 if none. */
static int64_t bucket_of(const char *key, uint32_t klen)
{
	uint64_t b, n = nbuckets(), p;

	for (b = 0; b < n; b++)
		for (p = buckets()[b]; p;
		     p = ((const struct kv_item *)p)->next) {
			const struct kv_item *it = (const void *)p;

			if (it->klen == klen && !memcmp(it->data, key, klen))
				return (int64_t)b;
		}
	return -1;
}

/* What the store used before: 64-bit FNV-1a, then a fixed mix. */
static uint32_t old_hash(const char *key, uint32_t klen)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < klen; i++)
		h = (h ^ (uint8_t)key[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);      \
		v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                         \
		v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                         \
		v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);      \
	} while (0)

/* SipHash-1-3, written from the paper's description (bytewise tail). */
static uint32_t sip13(const uint64_t k[2], const char *key, uint32_t klen)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
	uint64_t m;
	uint32_t i, j;

	for (i = 0; i + 8 <= klen; i += 8) {
		memcpy(&m, key + i, 8);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	m = (uint64_t)klen << 56;
	for (j = 0; i + j < klen; j++)
		m |= (uint64_t)(uint8_t)key[i + j] << (8 * j);
	v3 ^= m;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (uint32_t)(v0 ^ v1 ^ v2 ^ v3);
}

static void store_up(void)
{
	int rc;

	ut_make_name("hash");
	rc = plmc_create(ut_name, HT_STORE_SIZE, 0600, PLMC_USE_AUTO);
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

/* @n keys "flood:<i>" whose hash by @fn (old: NULL key) picks bucket 0. */
static void flood_keys(char (*keys)[32], int n, const uint64_t *k)
{
	uint64_t mask = nbuckets() - 1, i = 0;
	int got = 0;

	while (got < n) {
		int len = snprintf(keys[got], 32, "flood:%llu",
				   (unsigned long long)i++);
		uint32_t h = k ? sip13(k, keys[got], (uint32_t)len)
			       : old_hash(keys[got], (uint32_t)len);

		if (!(h & mask))
			got++;
	}
}

static uint64_t store_flood(char (*keys)[32], int n)
{
	uint64_t b, max = 0;

	for (int i = 0; i < n; i++)
		ut_rc(plmc_set(keys[i], strlen(keys[i]), "v", 1, 0, 0),
		      PLMC_STORED);
	for (b = 0; b < nbuckets(); b++)
		if (chain_len(b) > max)
			max = chain_len(b);
	return max;
}

/* A flood computed with the old unkeyed function scatters. */
START_TEST(flood_unkeyed_scatters)
{
	static char keys[HT_FLOOD][32];
	uint64_t max;

	store_up();
	flood_keys(keys, HT_FLOOD, NULL);
	max = store_flood(keys, HT_FLOOD);
	ck_assert_msg(max < 8, "longest chain %llu of %d flood keys",
		      (unsigned long long)max, HT_FLOOD);
	ut_store_down();
}
END_TEST

/* Control: the same flood made with the store's secret lands on one
 * chain (the view sees it; the store hashes with that secret). */
START_TEST(flood_with_secret_collides)
{
	static char keys[HT_FLOOD][32];
	uint64_t k[2];

	store_up();
	memcpy(k, hdr()->hash_key, sizeof(k));
	ck_assert(k[0] || k[1]);
	flood_keys(keys, HT_FLOOD, k);
	ck_assert_uint_eq(store_flood(keys, HT_FLOOD), HT_FLOOD);
	ck_assert_uint_eq(chain_len(0), HT_FLOOD);
	ut_store_down();
}
END_TEST

/* Two stores of one size: each has its own secret, and the same keys
 * land in different buckets; the secret is in no stats word. */
START_TEST(two_stores_differ)
{
	struct plmc_stats st = {.size = sizeof(st)};
	int64_t where[2][32];
	uint64_t key[2][2], w[sizeof(st) / 8];
	char k[32];
	int s, i, differ = 0;

	for (s = 0; s < 2; s++) {
		store_up();
		memcpy(key[s], hdr()->hash_key, sizeof(key[s]));
		for (i = 0; i < 32; i++) {
			snprintf(k, sizeof(k), "same-key-%d", i);
			ut_rc(plmc_set(k, strlen(k), "v", 1, 0, 0),
			      PLMC_STORED);
		}
		for (i = 0; i < 32; i++) {
			snprintf(k, sizeof(k), "same-key-%d", i);
			where[s][i] = bucket_of(k, (uint32_t)strlen(k));
			ck_assert(where[s][i] >= 0);
		}
		ut_rc(plmc_stats(&st), PLMC_OK);
		memcpy(w, &st, sizeof(w));
		for (i = 0; i < (int)(sizeof(w) / 8); i++)
			ck_assert(w[i] != key[s][0] && w[i] != key[s][1]);
		ut_store_down();
	}
	ck_assert(key[0][0] != key[1][0] || key[0][1] != key[1][1]);
	for (i = 0; i < 32; i++)
		differ += where[0][i] != where[1][i];
	ck_assert_msg(differ >= 28, "only %d of 32 keys moved", differ);
}
END_TEST

/* Keys of every length 1..250 that differ in one byte at any position
 * are told apart (the word-wide compare and hash, overlapping tails). */
START_TEST(keys_every_length)
{
	char a[256], b[256], buf[8];
	size_t vlen;

	ut_store_up("hash");
	memset(a, 'a', sizeof(a));
	for (uint32_t n = 1; n <= 250; n += (n < 40 ? 1 : 13)) {
		memcpy(b, a, sizeof(b));
		ut_rc(plmc_set(a, n, "A", 1, 0, 0), PLMC_STORED);
		for (uint32_t i = 0; i < n; i++) {
			b[i] = 'b';
			ut_rc(plmc_get(b, n, buf, sizeof(buf), &vlen, NULL,
				       NULL),
			      PLMC_NOT_FOUND);
			b[i] = 'a';
		}
		ut_rc(plmc_get(a, n, buf, sizeof(buf), &vlen, NULL, NULL),
		      PLMC_OK);
		ck_assert(vlen == 1 && buf[0] == 'A');
		ut_rc(plmc_delete(a, n), PLMC_DELETED);
	}
	ut_store_down();
}
END_TEST

/*
 * The 48-byte item header's retired link (kv.h, store layout 3): the
 * successor as an offset and the retire epoch's low 27 bits in one
 * word. The packing round-trips at the store's first and last possible
 * item and keeps the epoch when the successor is set; in a live store
 * every slot's retired list, followed through the packed links, has
 * rcount items inside the pages, ends at rtail, and holds the item just
 * deleted, with an epoch not after the global one.
 */
START_TEST(retired_links)
{
	const uint64_t last = PLMC_STORE_ADDR + ((PLMC_STORE_MAX - 8) & ~7ULL);
	const uint64_t eps[] = {0, 1, KV_RL_EPOCH_MASK, 0x5a5a5a5aULL};
	struct kv_area *a;
	char key[16];
	int found = 0;

	ck_assert_uint_eq(sizeof(struct kv_item), 48);
	ck_assert_uint_eq(__builtin_offsetof(struct kv_item, rlink), 8);
	ck_assert_uint_eq(__builtin_offsetof(struct kv_item, klen), 44);
	ck_assert_uint_eq(__builtin_offsetof(struct kv_item, cls), 46);
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		uint64_t r = eps[i], e = r & KV_RL_EPOCH_MASK;
		uint64_t rl = kv_rl_make(0, r);

		ck_assert_uint_eq(kv_rl_next(rl), 0);
		ck_assert_uint_eq(kv_rl_epoch(rl), e);
		rl = kv_rl_link(rl, last);
		ck_assert_uint_eq(kv_rl_next(rl), last);
		ck_assert_uint_eq(kv_rl_epoch(rl), e);
		rl = kv_rl_link(rl, PLMC_STORE_ADDR + 8);
		ck_assert_uint_eq(kv_rl_next(rl), PLMC_STORE_ADDR + 8);
		ck_assert_uint_eq(kv_rl_epoch(rl), e);
	}

	ut_store_up("hash");
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "rl%02d", i);
		ut_rc(plmc_set(key, 4, "value", 5, 0, 0), PLMC_STORED);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "rl%02d", i);
		ut_rc(plmc_delete(key, 4), PLMC_DELETED);
	}
	a = kv_area();
	for (uint64_t s = 0; s < PLMC_MAX_SLOTS; s++) {
		const struct kv_slot *ks = kv_slot(kv_slot_rec(s));
		uint64_t p = ks->rhead, prev = 0, n = 0;

		for (; p && n <= ks->rcount; prev = p, p = kv_rl_next(
				     ((const struct kv_item *)p)->rlink), n++) {
			const struct kv_item *it = (const void *)p;

			ck_assert_uint_ge(p, a->geo.pages);
			ck_assert_uint_lt(p, PLMC_STORE_ADDR + UT_STORE_SIZE);
			if (a->epoch <= KV_RL_EPOCH_MASK)
				ck_assert_uint_le(kv_rl_epoch(it->rlink),
						  a->epoch);
			if (it->klen == 4 && !memcmp(it->data, "rl19", 4))
				found = 1;
		}
		ck_assert_uint_eq(n, ks->rcount);
		ck_assert_uint_eq(prev, ks->rtail);
	}
	ck_assert_int_eq(found, 1);
	ut_store_down();
}
END_TEST

/* A bad byte at any position of keys 1..40 long is refused (the
 * word-wide check), and nothing is stored. */
START_TEST(key_bad_byte_anywhere)
{
	static const unsigned char bad[] = {0x00, 0x01, 0x1f, 0x20, 0x7f};
	unsigned char k[64];
	struct plmc_stats st = {.size = sizeof(st)};

	ut_store_up("hash");
	for (uint32_t n = 1; n <= 40; n++)
		for (uint32_t i = 0; i < n; i++)
			for (size_t j = 0; j < sizeof(bad); j++) {
				memset(k, 0x80 + (int)(i % 64), sizeof(k));
				k[i] = bad[j];
				ck_assert_msg(plmc_set(k, n, "v", 1, 0, 0) ==
						      PLMC_E_KEY,
					      "len %u pos %u byte 0x%02x", n, i,
					      bad[j]);
			}
	/* The bytes next to the bad ones are fine on their own. */
	for (unsigned c = 0x21; c < 0x100; c++) {
		if (c == 0x7f)
			continue;
		memset(k, (int)c, sizeof(k));
		ut_rc(plmc_set(k, 9, "v", 1, 0, 0), PLMC_STORED);
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, 0x100 - 0x21 - 1);
	ut_store_down();
}
END_TEST

/*
 * The read paths take a key in on their own (get and mget: copy, check
 * and hash in one pass): every length 1..250, a bad byte at any
 * position is PLMC_E_KEY for both, and a good key of every length is
 * found again by both; the items' stored hashes agree with the store's
 * own hash of their keys (plmc_check recomputes each one).
 */
START_TEST(read_keys_every_length)
{
	static const unsigned char bad[] = {0x00, 0x20, 0x7f};
	unsigned char k[256];
	char buf[8];
	struct plmc_mget m;
	struct plmc_check ck = {.size = sizeof(ck)};
	size_t vlen;

	ut_store_up("hash");
	for (uint32_t n = 1; n <= 250; n++) {
		memset(k, 0x21 + (int)(n % 90), sizeof(k));
		ut_rc(plmc_set(k, n, "V", 1, 0, 0), PLMC_STORED);
		ut_rc(plmc_get(k, n, buf, sizeof(buf), &vlen, NULL, NULL),
		      PLMC_OK);
		ck_assert(vlen == 1 && buf[0] == 'V');
		m = (struct plmc_mget){.key = k, .klen = n, .buf = buf,
				       .buflen = sizeof(buf)};
		ut_rc(plmc_mget(&m, 1), PLMC_OK);
		ck_assert_int_eq(m.rc, PLMC_OK);
		for (uint32_t i = 0; i < n; i++)
			for (size_t j = 0; j < sizeof(bad); j++) {
				unsigned char was = k[i];

				k[i] = bad[j];
				ck_assert_msg(plmc_get(k, n, buf, sizeof(buf),
						       &vlen, NULL,
						       NULL) == PLMC_E_KEY,
					      "get len %u pos %u 0x%02x", n, i,
					      bad[j]);
				m = (struct plmc_mget){.key = k, .klen = n,
						       .buf = buf,
						       .buflen = sizeof(buf)};
				ut_rc(plmc_mget(&m, 1), PLMC_OK);
				ck_assert_msg(m.rc == PLMC_E_KEY,
					      "mget len %u pos %u 0x%02x", n, i,
					      bad[j]);
				k[i] = was;
			}
	}
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "%s", ck.msg);
	ck_assert_uint_eq(ck.items, 250);
	ut_store_down();
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (strcmp(ut_backend(), "none")) { /* the view reads the store */
		printf("test_hash: backend none only, skipped\n");
		return 0;
	}
	s = suite_create("hash");
	tc = tcase_create("hash");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, flood_unkeyed_scatters);
	tcase_add_test(tc, flood_with_secret_collides);
	tcase_add_test(tc, two_stores_differ);
	tcase_add_test(tc, keys_every_length);
	tcase_add_test(tc, retired_links);
	tcase_add_test(tc, key_bad_byte_anywhere);
	tcase_add_test(tc, read_keys_every_length);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
