// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/dispatch.c - the C side of the gate: check the request, run the
 * op.
 *
 * Called by gate.S on the slot's stack, with the slot claimed (state =
 * id<<1|1) and PKRU open. Nothing in client memory is trusted or read
 * twice:
 *  - the 72-byte struct plmc_req is copied in once, after its pointer is
 *    checked, and only the copy is used;
 *  - every client pointer is checked against the protected window
 *    [PLMC_BASE, PLMC_BASE + PLMC_SPAN), the low never-mapped range and
 *    wrap-around before anything is copied from or to it (the confused
 *    deputy); a zero length is never dereferenced and always passes;
 *  - the key is copied to the stack before it is validated;
 *  - no lock is held while client memory is touched, so a bad (unmapped)
 *    pointer kills only its caller, holding no lock.
 * Fields an op does not use must be zero (PLMC_E_INVAL otherwise), which
 * keeps them free for later ops. NOP and RELEASE ignore the request.
 */
#include "kv.h"

int kv_user_ok(u64 p, u64 len)
{
	return kv_user_ok_in(p, len);
}

#define kv_user_ok kv_user_ok_in

static void kv_count(u64 *ctr)
{
	kv_add(ctr, 1);
}

/* A request's key, taken in (kv.h, kv_key_take_in): copied, checked and
 * hashed in one pass. Return: the hash, or a PLMC_E_* error (< 0). */
static long kv_key_in(const struct plmc_req *r, char *key)
{
	return kv_key_take(r->key, r->klen, key);
}

/*
 * Copy @it's value to [buf, buf + buflen) (checked) and its metadata to
 * @resp. No lock held: the epoch keeps @it readable.
 * Return: PLMC_OK, or PLMC_E_SMALLBUF (nothing copied, resp filled).
 */
static inline __attribute__((always_inline)) long
kv_value_out(struct kv_ctx *c, struct kv_item *it, u64 buf,
			 u64 buflen, struct plmc_resp *resp)
{
	kv_item_fetched(c, it);
	resp->vlen = it->vlen;
	resp->cas = it->cas;
	resp->flags = it->flags;
	if (it->vlen > buflen)
		return PLMC_E_SMALLBUF;
	memcpy((void *)buf, it->data + it->klen, it->vlen);
	return PLMC_OK;
}

/*
 * Write a response or an mget entry back to client memory a word at a
 * time, each word built from the fields as they were stored: reading
 * the stack copy back as whole words would make the CPU merge 4-byte
 * stores into an 8-byte load (a store-forwarding stall, ~12 cycles, per
 * such word).
 */
static inline void kv_resp_out(u64 out, const struct plmc_resp *r)
{
	kv_st64((void *)out, r->vlen);
	kv_st64((void *)(out + 8), r->cas);
	kv_st64((void *)(out + 16), r->flags); /* pad 0 */
}

static inline void kv_ent_out(struct plmc_mget_ent *u,
			      const struct plmc_mget_ent *e)
{
	kv_copy_words(u, e, 40); /* key .. cas: 8-byte fields */
	kv_st64(&u->klen, e->klen | (u64)e->flags << 32);
	kv_st64(&u->rc, (u32)e->rc | (u64)e->pad << 32);
}

_Static_assert(__builtin_offsetof(struct plmc_mget_ent, klen) == 40 &&
		       __builtin_offsetof(struct plmc_mget_ent, rc) == 48,
	       "kv_ent_out: entry layout");

/* GET and GAT (touch first, with r->exptime). */
static inline __attribute__((always_inline)) long
kv_op_get(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	struct plmc_resp resp = {0};
	struct kv_item *it;
	char key[KV_KEY_BUF];
	long rc, h;

	if (kv_req_only(r, RQ_KEYS | RQ_BUF | RQ_BUFLEN | RQ_OUT |
				   (op == PLMC_OP_GAT ? RQ_EXPTIME : 0)))
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->buf, r->buflen) || !r->out ||
	    !kv_user_ok(r->out, sizeof(resp)))
		return PLMC_E_FAULT;
	h = kv_key_take_in(r->key, r->klen, key); /* inline: the hot path */
	if (h < 0)
		return h;
	if (op == PLMC_OP_GAT)
		it = kv_touch(c, key, r->klen, kv_exptime(c, r->exptime));
	else
		it = kv_find_read(c, key, r->klen, (u32)h);
	/* A gat is memcached's touch (cmd_touch and touch_hits|misses,
	 * kv_touch), not a get. get_hits only per class: the store's is
	 * their sum (stats.c). */
	if (op == PLMC_OP_GET) {
		kv_count(&c->st->cmd_get);
		kv_count(it ? kv_hits(c, it->cls) : &c->st->get_misses);
	}
	if (KV_UNLIKELY(c->tenant))
		kv_tenant_get(c, it);
	if (!it)
		return PLMC_NOT_FOUND;
	rc = kv_value_out(c, it, r->buf, r->buflen, &resp);
	kv_resp_out(r->out, &resp);
	return rc;
}

/*
 * MGET runs its entries in batches of KV_MGET_BATCH, in three passes,
 * so the cache misses of a batch overlap instead of following one
 * another: (1) copy each entry in, take its key in (copy, check, hash)
 * and prefetch its bucket; (2) prefetch the first item of each chain;
 * (3) look each key up, copy its value out and its entry back. The
 * slot's counters are added once per batch (a hit's class counter
 * as it is found). Only loads and prefetches run
 * ahead: everything a pass decides is decided on the copies.
 */
#define KV_MGET_BATCH 8

struct kv_mget_in {
	struct plmc_mget_ent e; /* the entry, copied in */
	const u64 *bucket;	/* its bucket, or NULL (no prefetch) */
	long h;			/* the key's hash, or a PLMC_E_* error */
	char key[KV_KEY_BUF];
};

/* Pass 1 for one entry at @u (client memory, checked by the caller). */
static inline __attribute__((always_inline)) void
kv_mget_take(struct kv_ctx *c, struct kv_mget_in *m,
	     const struct plmc_mget_ent *u, u64 s)
{
	kv_copy_words(&m->e, u, sizeof(m->e));
	m->bucket = 0;
	m->h = kv_key_take_in(m->e.key, m->e.klen, m->key);
	if (m->h >= 0 && !kv_user_ok(m->e.buf, m->e.buflen))
		m->h = PLMC_E_FAULT;
	if (m->h < 0 || (s & KV_T_GROWING))
		return;
	m->bucket = kv_tcur(c, s, (u32)m->h);
	__builtin_prefetch(m->bucket);
}

/* Pass 3 for one entry: its results into m->e. Return: 1 on a hit. */
static inline __attribute__((always_inline)) int
kv_mget_run(struct kv_ctx *c, struct kv_mget_in *m)
{
	struct plmc_mget_ent *e = &m->e;
	struct plmc_resp resp = {0};
	struct kv_item *it;

	if (m->h < 0) {
		e->rc = (s32)m->h;
		return 0;
	}
	it = kv_find_read(c, m->key, e->klen, (u32)m->h);
	/* get_hits only per class: the store's is their sum (stats.c) */
	if (it)
		kv_count(kv_hits(c, it->cls));
	if (KV_UNLIKELY(c->tenant))
		kv_tenant_get(c, it);
	e->rc = PLMC_NOT_FOUND;
	if (it)
		e->rc = (s32)kv_value_out(c, it, e->buf, e->buflen, &resp);
	e->vlen = resp.vlen;
	e->cas = resp.cas;
	e->flags = resp.flags;
	return !!it;
}

/* MGET: out = array of buflen entries; each is copied in, run, and
 * copied back whole (its in-fields as read). An entry's own error (key,
 * buffer) is in its rc; the call's is for the array. Out of line: the
 * batch (2.6 KiB) is on the slot's stack only during an mget, not under
 * every other op's frame (16 KiB a slot, no guard page). */
static __attribute__((noinline)) long kv_op_mget(struct kv_ctx *c,
						 const struct plmc_req *r)
{
	struct kv_mget_in b[KV_MGET_BATCH];
	struct plmc_mget_ent *u = (struct plmc_mget_ent *)r->out;
	u64 i, j, k, n = r->buflen, s, hit, bad;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN))
		return PLMC_E_INVAL;
	if (!n || n > PLMC_MGET_MAX)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, n * sizeof(*u)))
		return PLMC_E_FAULT;
	for (i = 0; i < n; i += k) {
		k = n - i < KV_MGET_BATCH ? n - i : KV_MGET_BATCH;
		s = kv_tstate();
		for (j = 0; j < k; j++)
			kv_mget_take(c, &b[j], &u[i + j], s);
		for (j = 0; j < k; j++)
			if (b[j].bucket)
				__builtin_prefetch((const void *)__atomic_load_n(
					b[j].bucket, __ATOMIC_RELAXED));
		hit = 0;
		bad = 0;
		for (j = 0; j < k; j++) {
			bad += b[j].h < 0;
			hit += kv_mget_run(c, &b[j]);
			kv_ent_out(&u[i + j], &b[j].e);
		}
		/* cmd_get counts the keys looked up (a bad one is not) */
		kv_add(&c->st->cmd_get, (s64)(k - bad));
		kv_add(&c->st->get_misses, (s64)(k - bad - hit));
	}
	return PLMC_OK;
}

/* Check and copy a store command's value (its key is in, hashed: @hash);
 * build the item. One
 * whose exptime says "already expired" is built and linked too, as
 * memcached links it: the next read of the key counts it in get_expired
 * (and reclaims it), the write-path scan reclaims it otherwise. @key:
 * the request's, copied and checked; @hash: its hash. */
static inline __attribute__((always_inline)) long
kv_build(struct kv_ctx *c, const struct plmc_req *r,
		     const char *key, u32 hash, struct kv_item **out)
{
	struct kv_item *it;
	u64 exp;
	int rc;

	*out = 0;
	if (!kv_item_fits(c, r->klen, r->vlen, r->flags))
		return PLMC_E_TOOBIG;
	if (!kv_user_ok(r->val, r->vlen))
		return PLMC_E_FAULT;
	exp = kv_exptime(c, r->exptime);
	it = kv_item_new(c, key, r->klen, hash, r->vlen, r->flags, &rc);
	if (!it)
		return rc;
	memcpy(it->data + r->klen, (const void *)r->val, r->vlen);
	it->exptime = (u32)exp;
	*out = it;
	return 0;
}

/* SET, ADD, REPLACE, CAS. */
static inline __attribute__((always_inline)) long
kv_op_set(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	struct kv_item *it;
	char key[KV_KEY_BUF];
	long rc, h;

	if (kv_req_only(r, RQ_KEYS | RQ_VAL | RQ_VLEN | RQ_EXPTIME | RQ_FLAGS |
				   (op == PLMC_OP_CAS ? RQ_CAS : 0)))
		return PLMC_E_INVAL;
	h = kv_key_take_in(r->key, r->klen, key); /* hashed once */
	if (h < 0)
		return h;
	rc = kv_build(c, r, key, (u32)h, &it);
	/*
	 * memcached's rule: a set that cannot be stored (too large, out of
	 * memory) unlinks the key's old item, so no stale value outlives
	 * a failed write. add/replace/cas leave it, and so does a length
	 * no memcached command line can carry (over 2^31 - 3: memcached
	 * calls that a bad command line and changes nothing).
	 */
	if ((rc == PLMC_E_TOOBIG || rc == PLMC_E_NOMEM) && op == PLMC_OP_SET &&
	    r->vlen <= 0x7ffffffdULL)
		kv_remove(c, key, r->klen, (u32)h, 0);
	if (rc)
		return rc;
	kv_count(&c->st->cmd_set);
	if (it)
		kv_cls_add(it->cls, &kv_ccmd(it->cls)->cmd_set, 1);
	if (KV_UNLIKELY(c->tenant))
		kv_tenant_count(c, __builtin_offsetof(struct kv_tenant, cmd_set));
	rc = kv_put(c, op, it, key, r->klen, (u32)h, r->cas);
	kv_scan(c);
	return rc;
}

/* APPEND, PREPEND. */
static long kv_op_concat(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	char key[KV_KEY_BUF];
	u64 cas;
	long rc;

	if (kv_req_only(r, RQ_KEYS | RQ_VAL | RQ_VLEN))
		return PLMC_E_INVAL;
	rc = kv_key_in(r, key);
	if (rc < 0)
		return rc;
	/* memcached first makes an item of the piece alone (flags 0 here) */
	if (!kv_item_fits(c, r->klen, r->vlen, 0))
		return PLMC_E_TOOBIG;
	if (!kv_user_ok(r->val, r->vlen))
		return PLMC_E_FAULT;
	kv_count(&c->st->cmd_set);
	kv_count_piece(c, r->klen, r->vlen);
	return kv_concat(c, op == PLMC_OP_APPEND, key, r->klen,
			 (const void *)r->val, r->vlen, 0, &cas);
}

/* INCR, DECR: vlen = delta, out = __u64 result. */
static long kv_op_delta(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	char key[KV_KEY_BUF];
	u64 v = 0;
	long rc;

	if (kv_req_only(r, RQ_KEYS | RQ_VLEN | RQ_OUT))
		return PLMC_E_INVAL;
	if (!r->out || !kv_user_ok(r->out, sizeof(v)))
		return PLMC_E_FAULT;
	rc = kv_key_in(r, key);
	if (rc < 0)
		return rc;
	rc = kv_delta(c, op == PLMC_OP_INCR, key, r->klen, r->vlen, &v);
	if (rc == PLMC_OK)
		memcpy((void *)r->out, &v, sizeof(v));
	return rc;
}

static long kv_op_touch(struct kv_ctx *c, const struct plmc_req *r)
{
	char key[KV_KEY_BUF];
	long rc;

	if (kv_req_only(r, RQ_KEYS | RQ_EXPTIME))
		return PLMC_E_INVAL;
	rc = kv_key_in(r, key);
	if (rc < 0)
		return rc;
	return kv_touch(c, key, r->klen, kv_exptime(c, r->exptime))
		       ? PLMC_TOUCHED
		       : PLMC_NOT_FOUND;
}

static long kv_op_delete(struct kv_ctx *c, const struct plmc_req *r)
{
	char key[KV_KEY_BUF];
	long rc;
	int cls = 0;

	if (kv_req_only(r, RQ_KEYS))
		return PLMC_E_INVAL;
	rc = kv_key_in(r, key);
	if (rc < 0)
		return rc;
	rc = kv_remove(c, key, r->klen, (u32)rc, &cls);
	kv_count(rc == PLMC_DELETED ? &c->st->delete_hits
				    : &c->st->delete_misses);
	if (rc == PLMC_DELETED)
		kv_cls_add(cls, &kv_ccmd(cls)->delete_hits, 1);
	return rc;
}

static long kv_op_flush(struct kv_ctx *c, const struct plmc_req *r)
{
	if (kv_req_only(r, RQ_EXPTIME))
		return PLMC_E_INVAL;
	kv_flush(c, r->exptime);
	return PLMC_OK;
}

/* VERSION: the NUL-terminated string into buf. */
static long kv_op_version(const struct plmc_req *r)
{
	static const char v[] = KV_VERSION;

	if (kv_req_only(r, RQ_BUF | RQ_BUFLEN))
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->buf, r->buflen))
		return PLMC_E_FAULT;
	if (r->buflen < sizeof(v))
		return PLMC_E_SMALLBUF;
	memcpy((void *)r->buf, v, sizeof(v));
	return PLMC_OK;
}

/* buflen is the caller's sizeof(struct plmc_stats): an older, smaller
 * struct gets its prefix; .size says how many bytes were written. */
static long kv_op_stats(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_stats st;
	u64 n = r->buflen < sizeof(st) ? r->buflen : sizeof(st);

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN))
		return PLMC_E_INVAL;
	if (n < sizeof(st.size))
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, n))
		return PLMC_E_FAULT;
	kv_stats_fill(c, &st);
	if (c->tenant) /* a tenant's call: its own counters */
		kv_tenant_stats(c, &st);
	st.size = n;
	memcpy((void *)r->out, &st, n);
	return PLMC_OK;
}

/* CLASSES: out = struct plmc_class_stats[buflen], 0 <= buflen <= 64,
 * vlen = the caller's sizeof(struct plmc_class_stats) (0: the first
 * version's, PLMC_CLASS_STATS_V1; at least that, at most 4 KiB).
 * Return: the number of classes with pages (entries beyond buflen are
 * not written). */
static long kv_op_classes(struct kv_ctx *c, const struct plmc_req *r)
{
	u64 size = r->vlen ? r->vlen : PLMC_CLASS_STATS_V1;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN | RQ_VLEN))
		return PLMC_E_INVAL;
	if (r->buflen > KV_NCLASSES || size < PLMC_CLASS_STATS_V1 ||
	    size > 4096 || size % 8)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, r->buflen * size))
		return PLMC_E_FAULT;
	return kv_classes_out(c, r->out, r->buflen, size);
}

static long kv_op_stats_reset(struct kv_ctx *c, const struct plmc_req *r)
{
	if (kv_req_only(r, 0))
		return PLMC_E_INVAL;
	/* Every tenant's counters: the owner's call in its own key space
	 * only; acting for a tenant (plmc_as_tenant, plmcd's tenant=) has
	 * that tenant's rights, whoever the process is. */
	if (c->tenant)
		return PLMC_E_PERM;
	kv_stats_reset(c);
	return PLMC_OK;
}

/* REASSIGN: exptime = src (-1 any), vlen = dst. AUTOMOVE: vlen = mode.
 * MAINTAIN: vlen = the most pages to move (1..64). LRU: vlen =
 * temporary_ttl (0..30 days). */
static long kv_op_slabs(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	if (kv_req_only(r, RQ_EXPTIME | RQ_VLEN))
		return PLMC_E_INVAL;
	/* A page move may evict any tenant's items: the owner's call, in
	 * its own key space (not while acting for a tenant). */
	if (c->tenant)
		return PLMC_E_PERM;
	if (op == PLMC_OP_REASSIGN)
		return kv_reassign(c, r->exptime, r->vlen);
	if (op == PLMC_OP_MAINTAIN) {
		u64 max = r->vlen & ~(u64)PLMC_MAINTAIN_NO_LRU;

		if (r->exptime || max < 1 || max > 64)
			return PLMC_E_INVAL;
		if (!(r->vlen & PLMC_MAINTAIN_NO_LRU))
			kv_lru_juggle(c); /* the LRU maintainer (lru.c) */
		return kv_maintain(c, max);
	}
	if (op == PLMC_OP_LRU) {
		if (r->exptime || r->vlen > KV_REL_MAX)
			return PLMC_E_INVAL;
		__atomic_store_n(&kv_area()->temp_ttl, r->vlen,
				 __ATOMIC_RELAXED);
		return PLMC_OK;
	}
	if (r->exptime || r->vlen > 2)
		return PLMC_E_INVAL;
	__atomic_store_n(&kv_area()->automove, r->vlen + 1, __ATOMIC_RELAXED);
	return PLMC_OK;
}

#ifdef PLMC_TEST_IMAGE
/* CLOCK (test image): move the store's clock by exptime seconds. */
static long kv_op_clock(struct kv_ctx *c, const struct plmc_req *r)
{
	if (kv_req_only(r, RQ_EXPTIME))
		return PLMC_E_INVAL;
	__atomic_add_fetch(&kv_area()->clock_off, r->exptime, __ATOMIC_RELAXED);
	return PLMC_OK;
}

/* The test clock offset; the production image has none (always 0). */
static u64 kv_clock_off(void)
{
	return (u64)__atomic_load_n(&kv_area()->clock_off, __ATOMIC_RELAXED);
}
#else
static u64 kv_clock_off(void)
{
	return 0;
}
#endif

/*
 * Check the store header and derive what follows from it (classes,
 * geometry, the item limit) into the kv area: once per store, not per
 * call. The header's settings are written once at create, before anyone
 * attaches; store_size is compared on every call all the same (a
 * changed size derives and checks again). Racing derivers write the
 * same values; geo_key is published last (release), read with acquire.
 */
static int kv_derive(const struct plmc_store_hdr *h)
{
	struct kv_area *a = kv_area();
	u64 size = h->store_size;
	struct kv_geo g;
	struct kv_tgeo tg;

	if (h->magic != PLMC_STORE_MAGIC || h->layout != PLMC_LAYOUT_VERSION ||
	    h->hdr_size != sizeof(*h) || size < PLMC_STORE_MIN ||
	    size > PLMC_STORE_MAX || size & (PLMC_STORE_ALIGN - 1) ||
	    !plmc_cfg_ok(h->item_max, h->slab_factor, h->slab_min) ||
	    h->tenants > PLMC_TENANT_MAX)
		return PLMC_E_CORRUPT;
	if (kv_geo_init(&g, &tg, size))
		return PLMC_E_CORRUPT;
	kv_classes_init(h);
	kv_hash_init(h, a->sip);
	a->tenants = h->tenants;
	a->geo = g;
	a->tg = tg;
	kv_table_init(&g);
	a->item_max = h->item_max ? h->item_max : PLMC_CFG_ITEM_MAX;
	/* Release: pairs with kv_ctx_init()'s acquire load of geo_key, so
	 * a caller that sees the key sees the geometry and classes. Bit 1:
	 * the store has tenants (kv_ctx_slow). */
	__atomic_store_n(&a->geo_key, size | (h->tenants ? 3 : 1),
			 __ATOMIC_RELEASE);
	return 0;
}

/* Fill in the item limit (derived once, kv_derive) and time. */
static inline __attribute__((always_inline)) void
kv_ctx_fill(struct kv_ctx *c, const struct plmc_store_hdr *h,
	    const struct kv_area *a)
{
	c->item_max = a->item_max;
	c->now = __atomic_load_n(&h->clock_sec, __ATOMIC_RELAXED) +
		 kv_clock_off();
	/* Acquire: pairs with kv_flush()'s release store of flush_time,
	 * so the flush_cas stored before it is read below. */
	c->flush_time = __atomic_load_n(&a->flush_time, __ATOMIC_ACQUIRE);
	c->flush_cas = __atomic_load_n(&a->flush_cas, __ATOMIC_RELAXED);
}

/*
 * geo_key says store_size | 1 (derived, no tenants), store_size | 3
 * (derived, tenants) or anything else (derive now). A store with tenants
 * always comes here: its calls pick their tenant (tenant.c), and a store
 * without them pays nothing for it.
 */
static __attribute__((noinline)) int kv_ctx_slow(struct kv_ctx *c, u64 key)
{
	const struct plmc_store_hdr *h = kv_hdr();
	const struct kv_area *a = kv_area();
	int rc;

	if (key != (h->store_size | 3)) {
		rc = kv_derive(h);
		if (rc)
			return rc;
	}
	kv_ctx_fill(c, h, a);
	return a->tenants ? kv_tenant_enter(c) : 0;
}

static inline __attribute__((always_inline)) int kv_ctx_init(struct kv_ctx *c)
{
	const struct plmc_store_hdr *h = kv_hdr();
	const struct kv_area *a = kv_area();
	/* Acquire: pairs with kv_derive()'s release store of geo_key. */
	u64 key = __atomic_load_n(&a->geo_key, __ATOMIC_ACQUIRE);

	if (KV_UNLIKELY(key != (h->store_size | 1)))
		return kv_ctx_slow(c, key);
	kv_ctx_fill(c, h, a);
	return 0;
}

/* CHECK: out = struct plmc_check; buflen = the caller's sizeof. */
static long kv_op_check(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_check ck;
	u64 n = r->buflen < sizeof(ck) ? r->buflen : sizeof(ck);

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN))
		return PLMC_E_INVAL;
	if (n < sizeof(ck.size))
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, n))
		return PLMC_E_FAULT;
	/* Whole-store items and bytes count every tenant's items: the
	 * owner's call in its own key space (docs/tenants.md). */
	if (c->tenant)
		return PLMC_E_PERM;
	kv_check(c, &ck);
	ck.size = n;
	memcpy((void *)r->out, &ck, n);
	return PLMC_OK;
}

#ifdef PLMC_TEST_IMAGE
/* CRASH (test image): arm crash point vlen in this slot; 0 disarms. */
static long kv_op_crash(struct kv_ctx *c, const struct plmc_req *r)
{
	if (kv_req_only(r, RQ_VLEN))
		return PLMC_E_INVAL;
	if (r->vlen >= PLMC_CRASH_COUNT)
		return PLMC_E_INVAL;
	__atomic_store_n(&c->ks->crash_at, r->vlen, __ATOMIC_RELAXED);
	return PLMC_OK;
}
#else
/*
 * The production image serves no test-only op (layout.h: the store's
 * clock is never the client's; no client may choose where a call dies).
 * Refused before anything is read or changed.
 */
#define kv_op_clock(c, r) PLMC_E_TESTONLY
#define kv_op_crash(c, r) PLMC_E_TESTONLY
#endif

static inline __attribute__((always_inline)) long
kv_op(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	switch (op) {
	case PLMC_OP_CHECK:
		return kv_op_check(c, r);
	case PLMC_OP_RECOVER:
		if (kv_req_only(r, 0))
			return PLMC_E_INVAL;
		return kv_recover_all(c);
	case PLMC_OP_CRASH:
		return kv_op_crash(c, r);
	case PLMC_OP_GET:
	case PLMC_OP_GAT:
		return kv_op_get(c, op, r);
	case PLMC_OP_MGET:
		return kv_op_mget(c, r);
	case PLMC_OP_SET:
	case PLMC_OP_ADD:
	case PLMC_OP_REPLACE:
	case PLMC_OP_CAS:
		return kv_op_set(c, op, r);
	case PLMC_OP_APPEND:
	case PLMC_OP_PREPEND:
		return kv_op_concat(c, op, r);
	case PLMC_OP_INCR:
	case PLMC_OP_DECR:
		return kv_op_delta(c, op, r);
	case PLMC_OP_TOUCH:
		return kv_op_touch(c, r);
	case PLMC_OP_FLUSH:
		return kv_op_flush(c, r);
	case PLMC_OP_VERSION:
		return kv_op_version(r);
	case PLMC_OP_DELETE:
		return kv_op_delete(c, r);
	case PLMC_OP_STATS:
		return kv_op_stats(c, r);
	case PLMC_OP_CLASSES:
		return kv_op_classes(c, r);
	case PLMC_OP_STATS_RESET:
		return kv_op_stats_reset(c, r);
	case PLMC_OP_CLOCK:
		return kv_op_clock(c, r);
	case PLMC_OP_META:
		return kv_op_meta(c, r);
	case PLMC_OP_REASSIGN:
	case PLMC_OP_AUTOMOVE:
	case PLMC_OP_MAINTAIN:
	case PLMC_OP_LRU:
		return kv_op_slabs(c, op, r);
	case PLMC_OP_WALK:
		return kv_op_walk(c, r);
	case PLMC_OP_TENANT:
		return kv_op_tenant(c, r);
	case PLMC_OP_EVLOG:
		return kv_op_evlog(c, r);
	}
	return PLMC_E_BADOP;
}

/*
 * One call: @slot < PLMC_MAX_SLOTS is checked and claimed by gate.S.
 * Inline, so that kv_call_get below is this body with op == GET folded
 * in (a small function of its own, its registers its own).
 */
static inline __attribute__((always_inline)) long kv_call(u64 op, u64 req,
							  u64 slot)
{
	struct kv_ctx c;
	struct plmc_req r;
	long rc;

	c.slot = slot;
	c.rec = kv_slot_rec(slot);
	c.ks = kv_slot(c.rec);
	c.st = &kv_area()->st[slot];
	c.pin = 0;
	c.recovered = 0;
	c.reused = 0;
	c.tenant = 0; /* c.tadmin: read only where tenants are (tenant.c) */
	/* Set before anything can use it: RELEASE and a dead owner's
	 * recovery run before kv_ctx_init (and free chunks, which looks at
	 * the page geometry). The one derived per store (kv_derive); a
	 * store no call has derived yet has no chunk to free. */
	c.geo = &kv_area()->geo;
	/* Before anything of this call can change the store: a check that
	 * reads seq unchanged after its walk saw no call of this slot run
	 * (check.c; x86 keeps stores in order, and the epoch xchg below is
	 * a full barrier before the op's first store). */
	__atomic_store_n(&c.ks->seq, c.ks->seq + 1, __ATOMIC_RELAXED);
	/* A slot the gate took over from a dead owner: its record first,
	 * whatever the op. Acquire pairs with the backend's dead mark. */
	if (KV_UNLIKELY(__atomic_load_n(&c.rec->dead, __ATOMIC_ACQUIRE)))
		kv_recover_own(&c);
	if (op == PLMC_OP_NOP)
		return PLMC_OK;
	if (op == PLMC_OP_RELEASE) {
		c.ks->crash_at = 0; /* an arm never outlives its owner */
		/* Nor a proxy's choice of tenant (tenant.c): the next thread
		 * of this process to take the slot starts as itself. */
		__atomic_store_n(&kv_tslot(&c)->tas, 0, __ATOMIC_RELAXED);
		/* What the slot retired goes now if nobody reads it, else
		 * the list is an orphan's: noted for adoption. */
		kv_reclaim(&c, 0);
		kv_orphan_note(c.ks);
		/* Before the gate's release store of state (x86 keeps the
		 * order): a claimer never counts a free slot's uid. */
		__atomic_store_n(&c.rec->uid, ~0U, __ATOMIC_RELAXED);
		c.rec->exit_state = 0; /* the gate frees the slot on exit */
		return PLMC_OK;
	}
	if (op >= PLMC_OP_COUNT)
		return PLMC_E_BADOP;
	if (!kv_user_ok(req, sizeof(r)))
		return PLMC_E_FAULT;
	kv_copy_words(&r, (const void *)req, sizeof(r));
	rc = kv_ctx_init(&c);
	if (rc)
		return rc;
	/* The one load of the fast path that notices a death. STATS and
	 * CHECK observe the store as they find it (dead slots included).
	 * Acquire: pairs with the backend's release of generation (kmod:
	 * smp_store_release in plmc_seg_mark_dead; live.c: live_mark), so
	 * every dead mark made before the bump is seen by the recovery. */
	if (KV_UNLIKELY(__atomic_load_n(&kv_hdr()->generation,
					__ATOMIC_ACQUIRE) !=
			__atomic_load_n(&kv_area()->rec_gen,
					__ATOMIC_RELAXED)) &&
	    op != PLMC_OP_STATS && op != PLMC_OP_CHECK)
		kv_recover_all(&c);
	kv_epoch_enter(c.rec, slot);
	rc = kv_op(&c, op, &r);
	kv_epoch_exit(c.rec);
	/* Own list a little per call (kv_reclaim_step): once due, and
	 * every 64th call whatever its length (a short list, such as one
	 * taken over from a dead owner, must not wait for more retires);
	 * orphans (free slots' lists, epoch.c) every 64th call while the
	 * hint says there are. */
	if (KV_UNLIKELY(kv_reclaim_heavy(c.ks)))
		kv_reclaim(&c, 0); /* large chunks: bound the bytes held */
	else if (c.st->rscan || c.st->rfree || kv_reclaim_due(c.ks) ||
		 KV_UNLIKELY(!(c.ks->seq & 63) && c.ks->rhead))
		kv_reclaim_step(&c, !(c.ks->seq & 63));
	if (KV_UNLIKELY(!(c.ks->seq & 63)) &&
	    __atomic_load_n(&kv_area()->orphans, __ATOMIC_RELAXED))
		kv_reclaim(&c, 1);
	/* A walk that reclaimed (lru_crawler crawl) frees what it
	 * unlinked now, as memcached's crawler does: its used_chunks fall
	 * at once (a walk is rare: the whole list's scan is affordable). */
	if (KV_UNLIKELY(op == PLMC_OP_WALK) && c.ks->rhead) {
		kv_reclaim(&c, 0);
		/* A call still inside since before the unlink (a thread off
		 * its CPU) keeps them: say so, the caller calls again. Out
		 * was checked whole by kv_op_walk when it answered OK. */
		if (rc == PLMC_OK && c.ks->rhead) {
			u32 held = 1;

			memcpy((char *)r.out + __builtin_offsetof(
						       struct plmc_walk, held),
			       &held, sizeof(held));
		}
	}
	return rc;
}

/* GET, the hot path: kv_call with the op a constant. */
static __attribute__((noinline)) long kv_call_get(u64 req, u64 slot)
{
	return kv_call(PLMC_OP_GET, req, slot);
}

/* SET, the common write: the same with its op folded in. */
static __attribute__((noinline)) long kv_call_set(u64 req, u64 slot)
{
	return kv_call(PLMC_OP_SET, req, slot);
}

/* Every other op (and NOP, RELEASE). */
static __attribute__((noinline)) long kv_call_any(u64 op, u64 req, u64 slot)
{
	return kv_call(op, req, slot);
}

/*
 * The gate's target: tail calls, so a get (or a set) pays for nothing
 * the other ops need. Return: a status (>= 0) or a PLMC_E_* error.
 */
long kv_dispatch(u64 op, u64 req, u64 slot)
{
	if (KV_LIKELY(op == PLMC_OP_GET))
		return kv_call_get(req, slot);
	if (op == PLMC_OP_SET)
		return kv_call_set(req, slot);
	return kv_call_any(op, req, slot);
}
