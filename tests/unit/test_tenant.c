// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_tenant.c - tenants (docs/tenants.md) on the none
 * backend: every key operation of one tenant misses another's items,
 * flush_all flushes one tenant, a tenant at its quota evicts its own
 * items only, the counters are per tenant, and only the owner, root or a
 * proxy may do what the store reserves to them.
 *
 * One process plays several tenants through plmc_as_tenant(), which the
 * creator (the owner) may call as a proxy does. A forked child that
 * drops to another uid plays an ordinary tenant (skipped when the test
 * does not run as root).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include "util.h"
#include <plmc/layout.h>

#define TA 10001u
#define TB 10002u
#define NOBODY 65534

static void tenant_store(unsigned tenants, uint64_t size)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = size,
		.mode = 0666,
		.use = PLMC_USE_AUTO,
		.flags = PLMC_CREATE_TEST_IMAGE,
		.tenants = tenants,
	};
	int rc;

	ut_make_name("tenant");
	rc = plmc_create_ex(ut_name, &o);
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

static void setup(void)
{
	tenant_store(4, UT_STORE_SIZE);
}

static void teardown(void)
{
	ut_store_down();
}

static int get_str(const char *k, char *buf, size_t len, uint64_t *cas)
{
	size_t vlen = 0;
	int rc = plmc_get(k, strlen(k), buf, len - 1, &vlen, NULL, cas);

	buf[rc == PLMC_OK ? vlen : 0] = 0;
	return rc;
}

static void as(uint32_t id)
{
	ut_rc(plmc_as_tenant(id), PLMC_OK);
}

static void set_str(const char *k, const char *v)
{
	ut_rc(plmc_set(k, strlen(k), v, strlen(v), 0, 0), PLMC_STORED);
}

/* The same key names two items, one per tenant; no key operation of
 * one reaches the other's. */
START_TEST(keys_apart)
{
	char buf[64];
	uint64_t cas_a = 0, v = 0;
	struct plmc_meta m;

	as(TA);
	set_str("k", "alpha");
	set_str("n", "10");
	ut_rc(get_str("k", buf, sizeof(buf), &cas_a), PLMC_OK);
	as(TB);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
	ut_rc(plmc_delete("k", 1), PLMC_NOT_FOUND);
	ut_rc(plmc_touch("k", 1, 100), PLMC_NOT_FOUND);
	ut_rc(plmc_incr("n", 1, 5, &v), PLMC_NOT_FOUND);
	ut_rc(plmc_cas("k", 1, "evil", 4, 0, 0, cas_a), PLMC_NOT_FOUND);
	ut_rc(plmc_replace("k", 1, "evil", 4, 0, 0), PLMC_NOT_STORED);
	ut_rc(plmc_append("k", 1, "evil", 4), PLMC_NOT_STORED);
	ut_rc(plmc_add("k", 1, "beta", 4, 0, 0), PLMC_STORED);
	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_DELETE;
	ut_rc(plmc_meta("n", 1, &m, NULL, 0, NULL, 0), PLMC_NOT_FOUND);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_OK);
	ck_assert_str_eq(buf, "beta");
	/* A's items are as A left them. */
	as(TA);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_OK);
	ck_assert_str_eq(buf, "alpha");
	ut_rc(plmc_incr("n", 1, 5, &v), PLMC_OK);
	ck_assert_uint_eq(v, 15);
	ut_rc(plmc_delete("k", 1), PLMC_DELETED);
	as(TB);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_OK);
	ck_assert_str_eq(buf, "beta");
	/* The owner's own key space is a third one. */
	as(PLMC_TENANT_SELF);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
}
END_TEST

/* The item walk (cachedump, metadump) lists the caller's key space only:
 * a walk by B never shows A's keys, the owner's never shows either. */
static unsigned walk_count(const char *prefix)
{
	static struct plmc_walk w;
	uint64_t cur = 0, after = 0;
	unsigned n = 0;

	do {
		ut_rc(plmc_walk(cur, after, 0, 0, &w), PLMC_OK);
		for (uint32_t i = 0; i < w.n; i++)
			n += !strncmp(w.ent[i].key, prefix, strlen(prefix));
		cur = w.next;
		after = w.next_after;
	} while (!w.done);
	return n;
}

START_TEST(walk_apart)
{
	char k[32];

	as(TA);
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "wa-%d", i);
		set_str(k, "a");
	}
	as(TB);
	set_str("wb-0", "b");
	ck_assert_uint_eq(walk_count("wa-"), 0);
	ck_assert_uint_eq(walk_count("wb-"), 1);
	as(TA);
	ck_assert_uint_eq(walk_count("wa-"), 20); /* the control */
	ck_assert_uint_eq(walk_count("wb-"), 0);
	as(PLMC_TENANT_SELF);
	ck_assert_uint_eq(walk_count("w"), 0);
}
END_TEST

/* mget and meta get look in the caller's key space too. */
START_TEST(mget_apart)
{
	char ba[16], bb[16];
	struct plmc_mget e[2] = {
		{.key = "x", .klen = 1, .buf = ba, .buflen = sizeof(ba)},
		{.key = "y", .klen = 1, .buf = bb, .buflen = sizeof(bb)},
	};
	struct plmc_meta m;

	as(TA);
	set_str("x", "ax");
	as(TB);
	set_str("y", "by");
	ut_rc(plmc_mget(e, 2), PLMC_OK);
	ck_assert_int_eq(e[0].rc, PLMC_NOT_FOUND);
	ck_assert_int_eq(e[1].rc, PLMC_OK);
	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_GET;
	m.mflags = PLMC_MF_VALUE;
	ut_rc(plmc_meta("x", 1, &m, NULL, 0, ba, sizeof(ba)), PLMC_NOT_FOUND);
	as(TA);
	ut_rc(plmc_meta("x", 1, &m, NULL, 0, ba, sizeof(ba)), PLMC_OK);
}
END_TEST

/* flush_all flushes the caller's tenant; the owner's flush_store all. */
START_TEST(flush_own)
{
	char buf[64];

	as(TA);
	set_str("a", "1");
	as(TB);
	set_str("b", "2");
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ut_rc(get_str("b", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
	set_str("b2", "after");
	as(TA);
	ut_rc(get_str("a", buf, sizeof(buf), NULL), PLMC_OK);
	/* Items stored after the flush stay (the CAS mark is B's). */
	as(TB);
	ut_rc(get_str("b2", buf, sizeof(buf), NULL), PLMC_OK);
	/* The owner's call, in its own key space (acting for a tenant it
	 * has the tenant's rights: as_tenant_rights). */
	as(PLMC_TENANT_SELF);
	ut_rc(plmc_flush_store(0), PLMC_OK);
	as(TB);
	ut_rc(get_str("b2", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
	as(TA);
	ut_rc(get_str("a", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
}
END_TEST

static struct plmc_tenant *find(struct plmc_tenant *t, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].id == id)
			return &t[i];
	return NULL;
}

/* Every row: the owner in its own key space (acting for a tenant, it
 * would see that tenant's row only). Ends acting as itself. */
static void list(struct plmc_tenant *t, size_t *n)
{
	as(PLMC_TENANT_SELF);
	ut_rc(plmc_tenant_list(t, PLMC_TENANT_MAX, n), PLMC_OK);
}

/*
 * A at a 2 MiB quota writes 20 MiB: every set succeeds (A evicts its
 * own), A never holds more than its quota, and every one of B's items
 * is still there. Without the quota (or if A evicted B's items) B's
 * items would go first: they are the oldest.
 */
START_TEST(quota_evicts_own)
{
	enum { NB = 2000, NA = 100000 };
	struct plmc_tenant t[PLMC_TENANT_MAX], *a, *b;
	char k[32], v[200], buf[256];
	size_t n, vlen;
	int i;

	memset(v, 'v', sizeof(v));
	ut_rc(plmc_tenant_set(TA, 2ULL << 20, 0), PLMC_OK);
	as(TB);
	for (i = 0; i < NB; i++) {
		snprintf(k, sizeof(k), "b:%d", i);
		ut_rc(plmc_set(k, strlen(k), v, sizeof(v), 0, 0), PLMC_STORED);
	}
	as(TA);
	for (i = 0; i < NA; i++) {
		snprintf(k, sizeof(k), "a:%d", i);
		ut_rc(plmc_set(k, strlen(k), v, sizeof(v), 0, 0), PLMC_STORED);
	}
	list(t, &n);
	a = find(t, n, TA);
	b = find(t, n, TB);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->quota, 2ULL << 20);
	ck_assert_int_le(a->mem, (int64_t)(2ULL << 20));
	ck_assert_uint_gt(a->evictions, NA / 2);
	ck_assert_int_eq(b->items, NB);
	ck_assert_uint_eq(b->evictions, 0);
	/* The newest of A's are there. */
	as(TA);
	snprintf(k, sizeof(k), "a:%d", NA - 1);
	ut_rc(plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_OK);
	as(TB);
	for (i = 0; i < NB; i++) {
		snprintf(k, sizeof(k), "b:%d", i);
		ut_rc(plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL,
			       NULL),
		      PLMC_OK);
	}
}
END_TEST

/* An item larger than the whole quota: NOMEM, counted, nothing else
 * changes. */
START_TEST(quota_too_small)
{
	struct plmc_tenant t[PLMC_TENANT_MAX], *a;
	static char v[200000];
	size_t n;

	ut_rc(plmc_tenant_set(TA, 100000, 0), PLMC_OK);
	as(TA);
	set_str("small", "1");
	ut_rc(plmc_set("big", 3, v, sizeof(v), 0, 0), PLMC_E_NOMEM);
	list(t, &n);
	a = find(t, n, TA);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->outofmemory, 1);
	ck_assert_int_eq(a->items, 1);
}
END_TEST

/*
 * A full store (quotas as large as the store): A may take the chunks of
 * B's dead items (B flushed them), never of B's live ones. Without the
 * dead-item rule A's writes fail once the store is full.
 */
START_TEST(full_takes_dead_only)
{
	struct plmc_stats st = {.size = sizeof(st)};
	struct plmc_tenant t[PLMC_TENANT_MAX], *b;
	char k[32], v[200];
	size_t n;
	int64_t items;
	int i, nb = 0, rc = 0;

	ut_rc(plmc_stats(&st), PLMC_OK);
	ut_rc(plmc_tenant_set(TA, st.limit_maxbytes, 0), PLMC_OK);
	ut_rc(plmc_tenant_set(TB, st.limit_maxbytes, 0), PLMC_OK);
	memset(v, 'v', sizeof(v));
	as(TB);
	/* B fills the store: until it evicts its own items (its STATS
	 * are its own). */
	st.evictions = 0;
	for (i = 0; i < 400000 && !st.evictions; i++) {
		snprintf(k, sizeof(k), "b:%d", i);
		ut_rc(plmc_set(k, strlen(k), v, sizeof(v), 0, 0), PLMC_STORED);
		if (!(i % 512))
			ut_rc(plmc_stats(&st), PLMC_OK);
	}
	ck_assert_int_lt(i, 400000);
	list(t, &n);
	b = find(t, n, TB);
	ck_assert_ptr_nonnull(b);
	items = b->items;
	/* B's live items: A gets NOMEM rather than evict one (once the
	 * chunks B's own evictions retired are used up). */
	as(TA);
	for (i = 0; i < 200 && rc != PLMC_E_NOMEM; i++) {
		snprintf(k, sizeof(k), "a:%d", i);
		rc = plmc_set(k, strlen(k), v, sizeof(v), 0, 0);
		ck_assert_msg(rc == PLMC_STORED || rc == PLMC_E_NOMEM,
			      "A's set: %s", plmc_strerror(rc));
	}
	ck_assert_int_eq(rc, PLMC_E_NOMEM);
	list(t, &n);
	b = find(t, n, TB);
	ck_assert_int_eq(b->items, items);
	as(TB);
	ut_rc(plmc_flush_all(0), PLMC_OK);
	as(TA);
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "a:%d", i);
		ut_rc(plmc_set(k, strlen(k), v, sizeof(v), 0, 0), PLMC_STORED);
	}
	/* B's items stored after its flush are live: A leaves them. */
	as(TB);
	for (i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "c:%d", i);
		if (plmc_set(k, strlen(k), v, sizeof(v), 0, 0) == PLMC_STORED)
			nb++;
	}
	ck_assert_int_eq(nb, 50);
}
END_TEST

/* Counters per tenant; the table lists every tenant to the owner. */
START_TEST(counters)
{
	struct plmc_tenant t[PLMC_TENANT_MAX], *a, *b;
	char buf[16];
	size_t n;

	as(TA);
	set_str("k", "v");
	set_str("k2", "v");
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_OK);
	ut_rc(get_str("nope", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
	as(TB);
	set_str("k", "vv");
	list(t, &n);
	ck_assert_uint_eq(n, 2); /* the owner takes no entry */
	a = find(t, n, TA);
	b = find(t, n, TB);
	ck_assert_int_eq(a->items, 2);
	ck_assert_uint_eq(a->cmd_set, 2);
	ck_assert_uint_eq(a->cmd_get, 2);
	ck_assert_uint_eq(a->get_hits, 1);
	ck_assert_int_eq(b->items, 1);
	ck_assert_int_eq(b->bytes, PLMC_ITEM_HDR + 1 + 2);
	ck_assert_uint_eq(b->cmd_get, 0);
	/* The default quota: a quarter of the pages (4 tenants). */
	ck_assert_uint_gt(a->quota, UT_STORE_SIZE / 4 - (4ULL << 20));
	ck_assert_uint_le(a->quota, UT_STORE_SIZE / 4);
}
END_TEST

/* The table holds .tenants entries; one more is refused. */
START_TEST(table_full)
{
	ut_rc(plmc_as_tenant(1), PLMC_OK);
	ut_rc(plmc_as_tenant(2), PLMC_OK);
	ut_rc(plmc_as_tenant(4), PLMC_OK);
	ut_rc(plmc_as_tenant(3), PLMC_OK);
	ut_rc(plmc_as_tenant(5), PLMC_E_NOTENANT);
	ut_rc(plmc_tenant_set(5, 0, 0), PLMC_E_PERM); /* acting for 3 */
	/* Still tenant 3: its own key space works. */
	set_str("k", "v");
	as(PLMC_TENANT_SELF); /* the owner's calls, in its own key space */
	ut_rc(plmc_tenant_set(5, 0, 0), PLMC_E_NOTENANT);
	ut_rc(plmc_tenant_set(1, 0, 0x80), PLMC_E_INVAL);
	ut_rc(plmc_tenant_set(PLMC_TENANT_SELF, 0, 0), PLMC_E_INVAL);
}
END_TEST

/*
 * In a child as uid nobody (an ordinary tenant; ut_child_as): its own
 * entry appears on its first call, it sees only its own keys and its
 * own row, and the owner's calls are refused. Exit status: the number
 * of the first check that failed.
 */
static int child_tenant(void)
{
	struct plmc_tenant t[PLMC_TENANT_MAX];
	struct plmc_stats st = {.size = sizeof(st)};
	char buf[16];
	size_t n = 0, vlen;

	if (plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL) !=
	    PLMC_NOT_FOUND)
		return 3;
	if (plmc_set("k", 1, "mine", 4, 0, 0) != PLMC_STORED)
		return 4;
	if (plmc_tenant_list(t, PLMC_TENANT_MAX, &n) || n != 1 ||
	    t[0].id != NOBODY || t[0].items != 1)
		return 5;
	if (plmc_tenant_set(NOBODY, 1 << 30, PLMC_TENANT_PROXY) !=
	    PLMC_E_PERM)
		return 6;
	if (plmc_as_tenant(TA) != PLMC_E_PERM)
		return 7;
	if (plmc_flush_store(0) != PLMC_E_PERM)
		return 8;
	if (plmc_stats_reset() != PLMC_E_PERM)
		return 9;
	if (plmc_slabs_automove(1) != PLMC_E_PERM)
		return 10;
	/* STATS: its own items only (A's two are not counted). */
	if (plmc_stats(&st) || st.curr_items != 1)
		return 11;
	if (plmc_flush_all(0) != PLMC_OK ||
	    plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL) !=
		    PLMC_NOT_FOUND)
		return 12;
	return 0;
}

START_TEST(other_uid)
{
	char buf[16];

	if (getuid() != 0)
		return; /* cannot become another uid */
	as(TA);
	set_str("k", "alpha");
	set_str("k2", "alpha");
	ut_child_as(NOBODY, child_tenant);
	ut_rc(get_str("k", buf, sizeof(buf), NULL), PLMC_OK);
	ck_assert_str_eq(buf, "alpha");
}
END_TEST

/* A child as uid nobody (ut_child_as), marked a proxy: it may act for
 * A. */
static int child_proxy(void)
{
	char buf[16];
	size_t vlen;

	if (plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL) !=
	    PLMC_NOT_FOUND)
		return 3;
	if (plmc_as_tenant(TA) != PLMC_OK)
		return 4;
	if (plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL) != PLMC_OK ||
	    vlen != 5)
		return 5;
	if (plmc_flush_store(0) != PLMC_E_PERM) /* a proxy is no owner */
		return 6;
	{
		struct plmc_tenant t[PLMC_TENANT_MAX];
		size_t n = 0;

		/* Acting for A, it sees A's row only. */
		if (plmc_tenant_list(t, PLMC_TENANT_MAX, &n) || n != 1 ||
		    t[0].id != TA)
			return 8;
	}
	if (plmc_as_tenant(PLMC_TENANT_SELF) != PLMC_OK ||
	    plmc_get("k", 1, buf, sizeof(buf), &vlen, NULL, NULL) !=
		    PLMC_NOT_FOUND)
		return 7;
	return 0;
}

START_TEST(proxy_uid)
{
	if (getuid() != 0)
		return;
	as(TA);
	set_str("k", "alpha");
	as(PLMC_TENANT_SELF);
	ut_rc(plmc_tenant_set(NOBODY, 0, PLMC_TENANT_PROXY), PLMC_OK);
	ut_child_as(NOBODY, child_proxy);
}
END_TEST

/* The owner's own flush_all (no tenant chosen) is the whole store's. */
START_TEST(owner_flush)
{
	char buf[16];

	as(TA);
	set_str("a", "1");
	as(PLMC_TENANT_SELF);
	set_str("o", "1");
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ut_rc(get_str("o", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
	as(TA);
	ut_rc(get_str("a", buf, sizeof(buf), NULL), PLMC_NOT_FOUND);
}
END_TEST

/* A store without tenants has no tenant calls; nothing else changes. */
START_TEST(no_tenants)
{
	struct plmc_tenant t[4];
	size_t n;

	ut_store_down();
	ut_store_up("notenant");
	ut_rc(plmc_tenant_list(t, 4, &n), PLMC_E_INVAL);
	ut_rc(plmc_as_tenant(TA), PLMC_E_INVAL);
	ut_rc(plmc_tenant_set(TA, 0, 0), PLMC_E_INVAL);
	ut_rc(plmc_flush_store(0), PLMC_E_INVAL);
	set_str("k", "v");
}
END_TEST

/* Bad settings at create: more tenants than the table has. */
START_TEST(create_range)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = UT_STORE_SIZE,
		.mode = 0600,
		.use = PLMC_USE_AUTO,
		.tenants = PLMC_TENANT_MAX + 1,
	};

	ck_assert_int_eq(plmc_create_ex("ut-tenant-bad", &o), -EINVAL);
}
END_TEST

/*
 * Pages a class holds without live items go back to the pool for any
 * tenant that needs one (the red team's pin: docs/tenants.md "Quota and
 * eviction"). On a 16 MiB store, A stores one item in every size class
 * and deletes it at once (each class keeps its page), then B, under its
 * 6 MiB quota, stores 1,100 items of 4,000 bytes (~5 MiB) and items of
 * new classes: without the moves B keeps ~230 and its new classes find
 * the store full.
 */
static char big_v[900000];

static void pin_store(void)
{
	ut_store_down();
	tenant_store(4, 16ULL << 20);
	ut_rc(plmc_tenant_set(TA, 6 << 20, 0), PLMC_OK);
	ut_rc(plmc_tenant_set(TB, 6 << 20, 0), PLMC_OK);
	memset(big_v, 'p', sizeof(big_v));
}

static void pin_b_sets(int from, int to)
{
	char k[32];
	int i;

	as(TB);
	for (i = from; i < to; i++) {
		snprintf(k, sizeof(k), "h-%d", i);
		ut_rc(plmc_set(k, strlen(k), big_v, 4000, 0, 0), PLMC_STORED);
	}
}

/* B reads back all of its @n items, and stores values of new classes. */
static void pin_b_check(int n)
{
	static const size_t sz[] = {300, 50000, 200000};
	char k[32];
	size_t vl, j;
	int i, got = 0;

	as(TB);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "h-%d", i);
		got += plmc_get(k, strlen(k), big_v + 400000, 8192, &vl, NULL,
				NULL) == PLMC_OK;
	}
	ck_assert_int_eq(got, n);
	for (j = 0; j < 3; j++)
		ut_rc(plmc_set("newsize", 7, big_v, sz[j], 0, 0), PLMC_STORED);
}

START_TEST(pin_empty_pages)
{
	char k[32];
	double sz;
	int i = 0;

	pin_store();
	pin_b_sets(0, 50);
	as(TA);
	for (sz = 1; sz < 900000; sz = sz * 1.12 + 1, i++) {
		int rc;

		snprintf(k, sizeof(k), "p-%d", i);
		rc = plmc_set(k, strlen(k), big_v, (size_t)sz, 0, 0);
		ck_assert_msg(rc == PLMC_STORED || rc == PLMC_E_NOMEM ||
				      rc == PLMC_E_TOOBIG,
			      "A's set of %zu: %s", (size_t)sz,
			      plmc_strerror(rc));
		plmc_delete(k, strlen(k));
	}
	pin_b_sets(50, 1100);
	pin_b_check(1100);
}
END_TEST

/* The benign case: A overwrites two 900 KB keys 120 times (new chunks
 * are taken before the retired ones are freed, so the 1 MB class grows
 * by several pages), then B stores its 1,100 items. */
START_TEST(pin_overwrites)
{
	int i;

	pin_store();
	pin_b_sets(0, 50);
	as(TA);
	for (i = 0; i < 240; i++)
		ut_rc(plmc_set(i & 1 ? "big1" : "big0", 4, big_v,
			       sizeof(big_v), 0, 0),
		      PLMC_STORED);
	pin_b_sets(50, 1100);
	pin_b_check(1100);
	as(TA); /* A's two items are still there */
	ut_rc(plmc_touch("big0", 4, 0), PLMC_TOUCHED);
	ut_rc(plmc_touch("big1", 4, 0), PLMC_TOUCHED);
}
END_TEST

/*
 * Acting for a tenant (plmc_as_tenant, as plmcd's tenant= does) gives
 * that tenant's rights only, even to the owner: the owner-only calls are
 * refused, and so are the whole-store check and the class item counts
 * (a tenant sees the classes' geometry only). Control: the same calls in
 * the owner's own key space work and show B's items.
 */
START_TEST(as_tenant_rights)
{
	struct plmc_class_stats cs[64];
	struct plmc_check ck = {.size = sizeof(ck)};
	char k[32], v[3333];
	size_t n = 0, i;
	uint64_t number = 0;
	int j;

	memset(v, 's', sizeof(v));
	as(TB);
	for (j = 0; j < 37; j++) {
		snprintf(k, sizeof(k), "secret-%d", j);
		ut_rc(plmc_set(k, strlen(k), v, sizeof(v), 0, 0), PLMC_STORED);
	}
	as(TA);
	ut_rc(plmc_stats_reset(), PLMC_E_PERM);
	ut_rc(plmc_slabs_automove(1), PLMC_E_PERM);
	ut_rc(plmc_slabs_reassign(-1, 0), PLMC_E_PERM);
	ut_rc(plmc_tenant_set(TA, 1 << 30, 0), PLMC_E_PERM);
	ut_rc(plmc_flush_store(0), PLMC_E_PERM);
	ut_rc(plmc_check(&ck), PLMC_E_PERM);
	ck_assert_int_ge(plmc_class_stats(cs, 64, &n), 0);
	ck_assert_uint_gt(n, 0);
	for (i = 0; i < n && i < 64; i++) {
		ck_assert_uint_gt(cs[i].chunk_size, 0);
		ck_assert_uint_gt(cs[i].total_pages, 0);
		ck_assert_uint_eq(cs[i].number, 0);
		ck_assert_uint_eq(cs[i].mem_requested, 0);
		ck_assert_uint_eq(cs[i].used_chunks, 0);
		ck_assert_uint_eq(cs[i].age, 0);
	}
	ut_rc(plmc_as_tenant(PLMC_TENANT_SELF), PLMC_OK);
	ck_assert_int_ge(plmc_class_stats(cs, 64, &n), 0);
	for (i = 0; i < n && i < 64; i++)
		number += cs[i].number;
	ck_assert_uint_ge(number, 37);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_uint_ge(ck.items, 37);
	ut_rc(plmc_stats_reset(), PLMC_OK);
	ut_rc(plmc_slabs_automove(0), PLMC_OK);
	ut_rc(plmc_tenant_set(TA, 1 << 20, 0), PLMC_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tenant");
	TCase *tc = tcase_create("tenant");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, keys_apart);
	tcase_add_test(tc, mget_apart);
	tcase_add_test(tc, walk_apart);
	tcase_add_test(tc, flush_own);
	tcase_add_test(tc, quota_evicts_own);
	tcase_add_test(tc, quota_too_small);
	tcase_add_test(tc, counters);
	tcase_add_test(tc, full_takes_dead_only);
	tcase_add_test(tc, table_full);
	tcase_add_test(tc, other_uid);
	tcase_add_test(tc, proxy_uid);
	tcase_add_test(tc, owner_flush);
	tcase_add_test(tc, no_tenants);
	tcase_add_test(tc, create_range);
	tcase_add_test(tc, pin_empty_pages);
	tcase_add_test(tc, pin_overwrites);
	tcase_add_test(tc, as_tenant_rights);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
