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

#define KV_USER_MIN 0x10000ULL	 /* below mmap_min_addr: never mapped */
#define KV_USER_END (1ULL << 56) /* top of user space, 5-level paging */

/* Return: nonzero if [p, p + len) is client memory we may touch. */
static int kv_user_ok(u64 p, u64 len)
{
	if (!len)
		return 1;
	if (p < KV_USER_MIN || len > KV_USER_END || p > KV_USER_END - len)
		return 0;
	return p + len <= PLMC_BASE || p >= PLMC_BASE + PLMC_SPAN;
}

static void kv_count(u64 *ctr)
{
	kv_add(ctr, 1);
}

/* Copy the key to @key (stack), then check it: 1..250 bytes, no byte
 * <= 0x20 (space, control) and no 0x7f. */
static int kv_key_in(const struct plmc_req *r, char *key)
{
	u32 i;

	if (!r->klen || r->klen > KV_KEY_MAX)
		return PLMC_E_KEY;
	if (!kv_user_ok(r->key, r->klen))
		return PLMC_E_FAULT;
	memcpy(key, (const void *)r->key, r->klen);
	for (i = 0; i < r->klen; i++)
		if ((u8)key[i] <= 0x20 || (u8)key[i] == 0x7f)
			return PLMC_E_KEY;
	return 0;
}

static long kv_op_get(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_resp resp = {0};
	struct kv_item *it;
	char key[KV_KEY_MAX];
	long rc;

	if (r->val || r->vlen || r->exptime || r->cas || r->flags)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->buf, r->buflen) || !r->out ||
	    !kv_user_ok(r->out, sizeof(resp)))
		return PLMC_E_FAULT;
	rc = kv_key_in(r, key);
	if (rc)
		return rc;
	kv_count(&c->ks->cmd_get);
	it = kv_lookup(c, key, r->klen, kv_hash(key, r->klen));
	if (!it || !kv_item_live(c, it)) {
		kv_count(&c->ks->get_misses);
		return PLMC_NOT_FOUND;
	}
	kv_count(&c->ks->get_hits);
	resp.vlen = it->vlen;
	resp.cas = it->cas;
	resp.flags = it->flags;
	rc = PLMC_E_SMALLBUF;
	if (it->vlen <= r->buflen) {
		memcpy((void *)r->buf, it->data + it->klen, it->vlen);
		rc = PLMC_OK;
	}
	memcpy((void *)r->out, &resp, sizeof(resp));
	return rc;
}

static long kv_op_set(struct kv_ctx *c, const struct plmc_req *r)
{
	struct kv_item *it;
	char key[KV_KEY_MAX];
	u64 hash, exp;
	int rc;

	if (r->buf || r->buflen || r->out || r->cas)
		return PLMC_E_INVAL;
	rc = kv_key_in(r, key);
	if (rc)
		return rc;
	if (r->vlen > KV_ITEM_MAX ||
	    KV_ITEM_HDR + r->klen + r->vlen > KV_ITEM_MAX)
		return PLMC_E_TOOBIG;
	if (!kv_user_ok(r->val, r->vlen))
		return PLMC_E_FAULT;
	kv_count(&c->ks->cmd_set);
	hash = kv_hash(key, r->klen);
	exp = kv_exptime(c, r->exptime);
	if (exp == 1) { /* already expired: the key just goes away */
		kv_remove(c, key, r->klen, hash);
		return PLMC_STORED;
	}
	it = kv_item_new(c, key, r->klen, r->vlen, &rc);
	if (!it)
		return rc;
	memcpy(it->data + r->klen, (const void *)r->val, r->vlen);
	it->hash = hash;
	it->flags = r->flags;
	it->exptime = exp;
	kv_count(&c->ks->total_items);
	return kv_store(c, it);
}

static long kv_op_delete(struct kv_ctx *c, const struct plmc_req *r)
{
	char key[KV_KEY_MAX];
	int rc;

	if (r->val || r->buf || r->out || r->vlen || r->buflen || r->exptime ||
	    r->cas || r->flags)
		return PLMC_E_INVAL;
	rc = kv_key_in(r, key);
	if (rc)
		return rc;
	rc = kv_remove(c, key, r->klen, kv_hash(key, r->klen));
	kv_count(rc == PLMC_DELETED ? &c->ks->delete_hits
				    : &c->ks->delete_misses);
	return rc;
}

/* buflen is the caller's sizeof(struct plmc_stats): an older, smaller
 * struct gets its prefix; .size says how many bytes were written. */
static long kv_op_stats(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_stats st;
	u64 n = r->buflen < sizeof(st) ? r->buflen : sizeof(st);

	if (r->key || r->val || r->buf || r->vlen || r->exptime || r->cas ||
	    r->klen || r->flags)
		return PLMC_E_INVAL;
	if (n < sizeof(st.size))
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, n))
		return PLMC_E_FAULT;
	kv_stats_fill(c, &st);
	st.size = n;
	memcpy((void *)r->out, &st, n);
	return PLMC_OK;
}

static long kv_op_clock(struct kv_ctx *c, const struct plmc_req *r)
{
	if (r->key || r->val || r->buf || r->out || r->vlen || r->buflen ||
	    r->cas || r->klen || r->flags)
		return PLMC_E_INVAL;
	__atomic_add_fetch(&kv_area()->clock_off, r->exptime, __ATOMIC_RELAXED);
	return PLMC_OK;
}

/* Check the store header; fill in geometry and time. */
static int kv_ctx_init(struct kv_ctx *c)
{
	const struct plmc_store_hdr *h = kv_hdr();
	u64 size = h->store_size;

	if (h->magic != PLMC_STORE_MAGIC || h->layout != PLMC_LAYOUT_VERSION ||
	    h->hdr_size != sizeof(*h) || size < PLMC_STORE_MIN ||
	    size > PLMC_STORE_MAX || size & (PLMC_STORE_ALIGN - 1))
		return PLMC_E_CORRUPT;
	c->now = __atomic_load_n(&h->clock_sec, __ATOMIC_RELAXED) +
		 (u64)__atomic_load_n(&kv_area()->clock_off, __ATOMIC_RELAXED);
	return kv_geo_init(&c->geo, size);
}

static long kv_op(struct kv_ctx *c, u64 op, const struct plmc_req *r)
{
	switch (op) {
	case PLMC_OP_GET:
		return kv_op_get(c, r);
	case PLMC_OP_SET:
		return kv_op_set(c, r);
	case PLMC_OP_DELETE:
		return kv_op_delete(c, r);
	case PLMC_OP_STATS:
		return kv_op_stats(c, r);
	case PLMC_OP_CLOCK:
		return kv_op_clock(c, r);
	}
	return PLMC_E_BADOP;
}

/*
 * The gate's target. @slot < PLMC_MAX_SLOTS is checked and claimed by
 * gate.S. Return: a status (>= 0) or a PLMC_E_* error.
 */
long kv_dispatch(u64 op, u64 req, u64 slot)
{
	struct kv_ctx c;
	struct plmc_req r;
	long rc;

	if (op == PLMC_OP_NOP)
		return PLMC_OK;
	c.slot = slot;
	c.rec = kv_slot_rec(slot);
	c.ks = kv_slot(c.rec);
	if (op == PLMC_OP_RELEASE) {
		c.rec->exit_state = 0; /* the gate frees the slot on exit */
		return PLMC_OK;
	}
	if (op >= PLMC_OP_COUNT)
		return PLMC_E_BADOP;
	if (!kv_user_ok(req, sizeof(r)))
		return PLMC_E_FAULT;
	memcpy(&r, (const void *)req, sizeof(r));
	rc = kv_ctx_init(&c);
	if (rc)
		return rc;
	kv_epoch_enter(c.rec);
	rc = kv_op(&c, op, &r);
	kv_epoch_exit(c.rec);
	if (c.ks->rcount >= KV_RETIRE_BATCH)
		kv_reclaim(&c);
	return rc;
}
