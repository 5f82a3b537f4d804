// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/meta.c - memcached 1.6.18's meta commands (PLMC_OP_META): mg,
 * ms, md, ma, me, with their per-item state: stale (KV_IT_STALE, set by
 * md with I and by an ms with I whose CAS is older), win token sent
 * (KV_IT_WON), and the binary-key mark (KV_IT_BINKEY, for key echo).
 *
 * Who wins is decided under the key's stripe lock, so one caller gets W
 * per token: a vivify (N) links the empty item with WON already set; a
 * recache (R) or a stale hit sets WON with one atomic or. md with I
 * re-links a copy (stale, WON clear, new CAS) so the published item stays
 * immutable but for the single stores kv.h allows (exptime, iflags): T
 * on mg is one 4-byte store, W one atomic or, each valid alone, so a
 * death between the two leaves nothing to repair (as touch).
 *
 * Everything else follows ops.c and shares its code: items are built
 * before the lock, no client memory is touched under it, optimistic
 * copy-then-swap for the paths that read the old value (append and
 * prepend are kv_concat, ma is kv_arith, md with I is kv_swap), which
 * take the old item's expiry and marks under the lock.
 */
#include "kv.h"

_Static_assert(sizeof(struct plmc_meta) == PLMC_META_SIZE, "plmc_meta layout");

/* Request fields each command may use (the rest must be 0). */
#define MF_GET                                                                 \
	(PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_VIVIFY | PLMC_MF_RECACHE |     \
	 PLMC_MF_NOBUMP | PLMC_MF_VALUE | PLMC_MF_N_AFTER_T |                  \
	 PLMC_MF_R_AFTER_T | PLMC_MF_NOWIN | PLMC_MF_TOUCH)
#define MF_SET (PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_CAS | PLMC_MF_STALE)
#define MF_DEL (PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_CAS | PLMC_MF_STALE)
#define MF_ARITH                                                               \
	(PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_VIVIFY | PLMC_MF_CAS |         \
	 PLMC_MF_N_AFTER_T)
#define MF_DEBUG PLMC_MF_BINKEY

/* Check the copied-in request against its command. Return: 0 or INVAL. */
static int kv_meta_valid(const struct plmc_meta *m, const struct plmc_req *r)
{
	u32 ok, f = m->mflags;
	int get = m->cmd == PLMC_META_GET, set = m->cmd == PLMC_META_SET;

	switch (m->cmd) {
	case PLMC_META_GET:
		ok = MF_GET;
		break;
	case PLMC_META_SET:
		ok = MF_SET;
		break;
	case PLMC_META_DELETE:
		ok = MF_DEL;
		break;
	case PLMC_META_ARITH:
		ok = MF_ARITH;
		break;
	case PLMC_META_DEBUG:
		ok = MF_DEBUG;
		break;
	default:
		return PLMC_E_INVAL;
	}
	if (f & ~ok)
		return PLMC_E_INVAL;
	if ((set && m->mode > PLMC_MS_PREPEND) ||
	    (m->cmd == PLMC_META_ARITH && m->mode > PLMC_MA_DECR) ||
	    (!set && m->cmd != PLMC_META_ARITH && m->mode))
		return PLMC_E_INVAL;
	if ((!set && m->cflags) || (!(f & PLMC_MF_TTL) && m->ttl) ||
	    (!(f & PLMC_MF_VIVIFY) && m->vivify_ttl) ||
	    (!(f & PLMC_MF_RECACHE) && m->recache) ||
	    (!(f & PLMC_MF_CAS) && m->cas_in) ||
	    (m->cmd != PLMC_META_ARITH && (m->delta || m->initial)))
		return PLMC_E_INVAL;
	return kv_req_only(r, RQ_KEYS | RQ_OUT | (set ? RQ_VAL | RQ_VLEN : 0) |
				      (get ? RQ_BUF | RQ_BUFLEN : 0));
}

/* Copy the key in, then check it: 1..250 bytes; a text key (no b) has
 * no byte <= 0x20 and no 0x7f, a binary one may hold any byte. */
static int kv_meta_key(const struct plmc_req *r, u32 mflags, char *key)
{
	u32 i;

	if (!r->klen || r->klen > KV_KEY_MAX)
		return PLMC_E_KEY;
	if (!kv_user_ok(r->key, r->klen))
		return PLMC_E_FAULT;
	memcpy(key, (const void *)r->key, r->klen);
	if (mflags & PLMC_MF_BINKEY)
		return 0;
	for (i = 0; i < r->klen; i++)
		if ((u8)key[i] <= 0x20 || (u8)key[i] == 0x7f)
			return PLMC_E_KEY;
	return 0;
}

/* Seconds left of an absolute expiry, as memcached's t reports it. */
static s64 kv_ttl_left(const struct kv_ctx *c, u64 exp)
{
	return exp ? (s64)exp - (s64)c->now : -1;
}

/* The item's metadata as found (before this call changes anything). */
static void kv_meta_fill(const struct kv_ctx *c, struct plmc_meta *m,
			 const struct kv_item *it)
{
	u8 f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);
	u32 at = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);

	m->cas = it->cas;
	m->vlen = it->vlen;
	m->flags = it->flags;
	m->ttl_left =
		kv_ttl_left(c, __atomic_load_n(&it->exptime, __ATOMIC_RELAXED));
	m->la = (u32)c->now > at ? (u32)c->now - at : 0;
	m->size = KV_ITEM_HDR + it->klen + it->vlen;
	m->cls = it->cls;
	m->rbits = (f & KV_IT_FETCHED ? PLMC_MR_FETCHED : 0) |
		   (f & KV_IT_STALE ? PLMC_MR_STALE : 0) |
		   (f & KV_IT_WON ? PLMC_MR_TOKEN : 0) |
		   (f & KV_IT_BINKEY ? PLMC_MR_BINKEY : 0);
}

/* The expiry a created item ends with: T and N apply in line order. */
static u32 kv_meta_viv_exp(const struct kv_ctx *c, const struct plmc_meta *m)
{
	u64 t = kv_exptime(c, m->ttl), n = kv_exptime(c, m->vivify_ttl);

	if (!(m->mflags & PLMC_MF_VIVIFY))
		return (m->mflags & PLMC_MF_TTL) ? (u32)t : 0;
	if ((m->mflags & PLMC_MF_TTL) && !(m->mflags & PLMC_MF_N_AFTER_T))
		return (u32)t;
	return (u32)n;
}

/*
 * Under the stripe lock, on the live item @it: T, then the win decision
 * (R: not yet won, has an expiry, and it is sooner than R's; stale: not
 * yet won). Return: nonzero if this caller won.
 */
static int kv_meta_hit_locked(struct kv_ctx *c, const struct plmc_meta *m,
			      struct kv_item *it)
{
	u8 f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);
	u64 exp = it->exptime, rexp = exp;
	int won = 0;

	if (m->mflags & PLMC_MF_TTL) {
		u64 t = kv_exptime(c, m->ttl);

		if (m->mflags & PLMC_MF_R_AFTER_T)
			rexp = t;
		/* One 4-byte store, as touch: readers see old or new. */
		__atomic_store_n(&it->exptime, (u32)t, __ATOMIC_RELAXED);
		kv_crash(c, PLMC_CRASH_META_TTL);
	}
	if ((m->mflags & PLMC_MF_RECACHE) && !(f & KV_IT_WON) && rexp &&
	    rexp < kv_exptime(c, m->recache))
		won = 1;
	if ((f & KV_IT_STALE) && !(f & KV_IT_WON))
		won = 1;
	if (m->mflags & PLMC_MF_NOWIN)
		return 0;
	if (won)
		__atomic_fetch_or(&it->iflags, (u8)KV_IT_WON,
				  __ATOMIC_RELAXED);
	return won;
}

/* mg. Return: PLMC_OK (hit or created), PLMC_NOT_FOUND, or an error. */
static long kv_meta_get(struct kv_ctx *c, struct plmc_meta *m, const char *key,
			u32 klen, u64 buf, u64 buflen)
{
	u32 hash = kv_hash(key, klen);
	int locked = !!(m->mflags &
			(PLMC_MF_TTL | PLMC_MF_VIVIFY | PLMC_MF_RECACHE));
	struct kv_item *it = kv_find_read(c, key, klen, hash), *nit = 0;
	struct kv_wr w;
	int err;

	if (it && !locked &&
	    !(__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) & KV_IT_STALE)) {
		kv_meta_fill(c, m, it); /* the lock-free hit */
		goto hit;
	}
	if (!it && !(m->mflags & PLMC_MF_VIVIFY))
		goto miss;
	if (!it) {
		nit = kv_item_new(c, key, klen, hash, 0, 0, &err);
		if (!nit)
			return err;
		nit->exptime = kv_meta_viv_exp(c, m);
		/* Not yet visible: plain store. The creator holds the token. */
		nit->iflags |= KV_IT_WON;
	}
	kv_wr_begin(c, &w, key, klen, hash);
	it = 0;
	if (kv_wr_live(&w)) {
		it = w.old;
		kv_meta_fill(c, m, it);
		if (kv_meta_hit_locked(c, m, it))
			m->rbits |= PLMC_MR_WON;
	} else if (nit) {
		kv_wr_link(c, &w, nit);
		it = nit;
		nit = 0;
		kv_meta_fill(c, m, it);
		m->rbits = PLMC_MR_WON | PLMC_MR_CREATED;
		m->ttl_left = -1; /* as created: no expiry until N/T apply */
	} else if (w.old) {
		kv_wr_link(c, &w, 0); /* lazy reclaim */
	}
	kv_wr_end(c, &w);
	if (nit)
		kv_free_own(c, nit); /* someone else's item came first */
	if (!it)
		goto miss;
hit:
	/* memcached's counters: a hit with T (mg T, a binary gat) is a
	 * touch, cmd_touch and touch_hits only; any other a get */
	kv_add(m->mflags & PLMC_MF_TTL ? &c->st->cmd_touch : &c->st->cmd_get,
	       1);
	if (m->mflags & PLMC_MF_TTL) {
		kv_add(&c->st->touch_hits, 1);
		kv_cls_add(it->cls, &kv_ccmd(it->cls)->touch_hits, 1);
	} else {
		kv_add(kv_hits(c, it->cls), 1); /* the store's: the sum */
	}
	if (m->mflags & PLMC_MF_TTL)
		m->ttl_set = kv_ttl_left(c, kv_exptime(c, m->ttl));
	if (m->mflags & PLMC_MF_VIVIFY)
		m->ttl_viv = kv_ttl_left(c, kv_exptime(c, m->vivify_ttl));
	if (!(m->mflags & PLMC_MF_NOBUMP))
		kv_item_fetched(c, it);
	if (m->mflags & PLMC_MF_VALUE) {
		if (it->vlen > buflen)
			return PLMC_E_SMALLBUF;
		/* No lock: the epoch keeps @it readable. */
		memcpy((void *)buf, it->data + it->klen, it->vlen);
	}
	return PLMC_OK;
miss:
	/* mg's miss is a get miss, T or not (memcached sets ttl_set only
	 * on a hit); the binary touch and gat's a touch miss */
	if (m->mflags & PLMC_MF_TOUCH) {
		kv_add(&c->st->cmd_touch, 1);
		kv_add(&c->st->touch_misses, 1);
	} else {
		kv_add(&c->st->cmd_get, 1);
		kv_add(&c->st->get_misses, 1);
	}
	return PLMC_NOT_FOUND;
}

/*
 * ms: memcached's do_store_item for meta. A C makes set and replace a
 * cas; a C with I that is older than the item's CAS stores the value as
 * stale, keeping the item's expiry and token state.
 */
static long kv_meta_decide(struct kv_ctx *c, const struct plmc_meta *m,
			   struct kv_wr *w, struct kv_item *it)
{
	u64 cas = (m->mflags & PLMC_MF_CAS) ? m->cas_in : 0;
	int as_cas = (m->mflags & PLMC_MF_CAS) &&
		     (m->mode == PLMC_MS_SET || m->mode == PLMC_MS_REPLACE);
	struct kv_item *old = w->old;

	if (!kv_wr_live(w)) {
		if (as_cas) {
			kv_add(&c->st->cas_misses, 1);
			return PLMC_NOT_FOUND;
		}
		return m->mode == PLMC_MS_REPLACE ? PLMC_NOT_STORED
						  : PLMC_STORED;
	}
	if (m->mode == PLMC_MS_ADD)
		return PLMC_NOT_STORED;
	if (!as_cas)
		return PLMC_STORED;
	if (cas && cas == old->cas) {
		kv_add(&c->st->cas_hits, 1);
		kv_cls_add(old->cls, &kv_ccmd(old->cls)->cas_hits, 1);
		return PLMC_STORED;
	}
	if (cas && (m->mflags & PLMC_MF_STALE) && cas < old->cas) {
		/* @it is not published yet: plain stores. */
		it->exptime = old->exptime;
		it->iflags |= KV_IT_STALE |
			      (__atomic_load_n(&old->iflags, __ATOMIC_RELAXED) &
			       KV_IT_WON);
		kv_add(&c->st->cas_hits, 1);
		kv_cls_add(old->cls, &kv_ccmd(old->cls)->cas_hits, 1);
		return PLMC_STORED;
	}
	kv_add(&c->st->cas_badval, 1);
	kv_cls_add(old->cls, &kv_ccmd(old->cls)->cas_badval, 1);
	return PLMC_EXISTS;
}

static long kv_meta_set(struct kv_ctx *c, struct plmc_meta *m, const char *key,
			u32 klen, u64 val, u64 vlen)
{
	u32 hash = kv_hash(key, klen);
	struct kv_item *it;
	struct kv_wr w;
	long rc;
	int err;

	if (!kv_item_fits(c, klen, vlen, m->cflags))
		return PLMC_E_TOOBIG;
	if (!kv_user_ok(val, vlen))
		return PLMC_E_FAULT;
	kv_add(&c->st->cmd_set, 1);
	if (m->mode == PLMC_MS_APPEND || m->mode == PLMC_MS_PREPEND) {
		u64 cas = 0;

		kv_count_piece(c, klen, vlen);
		rc = kv_concat(c, m->mode == PLMC_MS_APPEND, key, klen,
			       (const void *)val, vlen,
			       (m->mflags & PLMC_MF_CAS) ? m->cas_in : 0, &cas);
		m->cas = cas;
		return rc;
	}
	it = kv_item_new(c, key, klen, hash, vlen, m->cflags, &err);
	if (!it)
		return err;
	kv_cls_add(it->cls, &kv_ccmd(it->cls)->cmd_set, 1);
	memcpy(it->data + klen, (const void *)val, vlen);
	/* An exptime in the past links an item that is already dead: the
	 * next lookup reclaims it, as memcached's would. */
	it->exptime =
		(m->mflags & PLMC_MF_TTL) ? (u32)kv_exptime(c, m->ttl) : 0;
	if (m->mflags & PLMC_MF_BINKEY)
		it->iflags |= KV_IT_BINKEY;
	kv_crash(c, PLMC_CRASH_BUILT);
	kv_wr_begin(c, &w, key, klen, hash);
	rc = kv_meta_decide(c, m, &w, it);
	if (rc == PLMC_STORED) {
		kv_wr_link(c, &w, it);
		m->cas = it->cas;
	} else if (w.old && !kv_wr_live(&w)) {
		kv_wr_link(c, &w, 0);
	}
	kv_wr_end(c, &w);
	if (rc != PLMC_STORED)
		kv_free_own(c, it);
	return rc;
}

/* md with I: re-link a copy marked stale, token cleared, new CAS; the
 * item's link time and access time stay (flush_all and la see the
 * original). */
static long kv_meta_invalidate(struct kv_ctx *c, struct plmc_meta *m,
			       const char *key, u32 klen)
{
	u32 hash = kv_hash(key, klen);

	for (;;) {
		struct kv_item *old = kv_find_live(c, key, klen, hash), *it;
		int err, rc;
		u32 carry;

		if (!old) {
			kv_add(&c->st->delete_misses, 1);
			return PLMC_NOT_FOUND;
		}
		if ((m->mflags & PLMC_MF_CAS) && old->cas != m->cas_in) {
			kv_add(&c->st->delete_misses, 1);
			return PLMC_EXISTS;
		}
		c->pin = old;
		it = kv_item_copy(c, old, old->vlen, &err);
		c->pin = 0;
		if (!it)
			return err;
		memcpy(it->data + klen, old->data + klen, old->vlen);
		/* Stale, the token cleared; fetched and the key's form are
		 * taken under the lock (kv_swap), and the expiry unless T
		 * sets it. */
		it->iflags |= KV_IT_STALE;
		it->time = old->time;
		it->atime = __atomic_load_n(&old->atime, __ATOMIC_RELAXED);
		carry = KV_IT_FETCHED | KV_IT_BINKEY | KV_CARRY_EXP;
		if (m->mflags & PLMC_MF_TTL) {
			it->exptime = (u32)kv_exptime(c, m->ttl);
			carry &= ~KV_CARRY_EXP;
		}
		rc = kv_swap(c, old, hash, it, carry);
		if (rc > 0) {
			m->cas = it->cas;
			return PLMC_DELETED;
		}
	}
}

static long kv_meta_delete(struct kv_ctx *c, struct plmc_meta *m,
			   const char *key, u32 klen)
{
	u32 hash = kv_hash(key, klen);
	struct kv_wr w;
	long rc;

	if (m->mflags & PLMC_MF_STALE)
		return kv_meta_invalidate(c, m, key, klen);
	kv_wr_begin(c, &w, key, klen, hash);
	if (!kv_wr_live(&w)) {
		rc = PLMC_NOT_FOUND;
		if (w.old)
			kv_wr_link(c, &w, 0);
	} else if ((m->mflags & PLMC_MF_CAS) && w.old->cas != m->cas_in) {
		rc = PLMC_EXISTS;
	} else {
		rc = PLMC_DELETED;
		kv_cls_add(w.old->cls, &kv_ccmd(w.old->cls)->delete_hits, 1);
		kv_wr_link(c, &w, 0);
	}
	kv_wr_end(c, &w);
	kv_add(rc == PLMC_DELETED ? &c->st->delete_hits : &c->st->delete_misses,
	       1);
	return rc;
}

/* ma's vivify: link @initial's digits if the key is still not there.
 * Return: 1 created, 0 raced (an item appeared; the caller retries). */
static int kv_meta_arith_create(struct kv_ctx *c, struct plmc_meta *m,
				const char *key, u32 klen, int *err)
{
	char digits[20];
	u32 n = kv_utoa(m->initial, digits), hash = kv_hash(key, klen);
	struct kv_item *it = kv_item_new(c, key, klen, hash, n, 0, err);
	struct kv_wr w;
	int done = 0;

	if (!it)
		return -1;
	memcpy(it->data + klen, digits, n);
	it->exptime = kv_meta_viv_exp(c, m);
	kv_wr_begin(c, &w, key, klen, hash);
	if (!kv_wr_live(&w)) {
		kv_wr_link(c, &w, it);
		done = 1;
	}
	kv_wr_end(c, &w);
	if (!done) {
		kv_free_own(c, it);
		return 0;
	}
	kv_meta_fill(c, m, it);
	m->ttl_left = -1;
	m->rbits |= PLMC_MR_CREATED;
	m->number = m->initial;
	return 1;
}

/* ma: incr/decr (kv_arith, as incr), plus C, N/J and T. */
static long kv_meta_arith(struct kv_ctx *c, struct plmc_meta *m,
			  const char *key, u32 klen)
{
	struct kv_arith a = {
		.incr = m->mode == PLMC_MA_INCR,
		.set_exp = !!(m->mflags & PLMC_MF_TTL),
		.exp = (u32)kv_exptime(c, m->ttl),
		.delta = m->delta,
		.cas = (m->mflags & PLMC_MF_CAS) ? m->cas_in : 0,
	};
	long rc;
	int err;

	for (;;) {
		rc = kv_arith(c, key, klen, &a);
		if (rc != PLMC_NOT_FOUND)
			break;
		if (!(m->mflags & PLMC_MF_VIVIFY)) {
			kv_add(a.incr ? &c->st->incr_misses
				      : &c->st->decr_misses,
			       1);
			return PLMC_NOT_FOUND;
		}
		rc = kv_meta_arith_create(c, m, key, klen, &err);
		if (rc < 0)
			return err;
		if (rc > 0)
			goto done;
	}
	if (rc != PLMC_OK)
		return rc;
	kv_meta_fill(c, m, a.old); /* as found */
	m->cas = a.it->cas;
	m->vlen = a.it->vlen;
	m->number = a.value;
	m->rbits = 0;
done:
	if (m->mflags & PLMC_MF_TTL)
		m->ttl_set = kv_ttl_left(c, kv_exptime(c, m->ttl));
	if (m->mflags & PLMC_MF_VIVIFY)
		m->ttl_viv = kv_ttl_left(c, kv_exptime(c, m->vivify_ttl));
	return PLMC_OK;
}

/* me: what the store knows of the item; nothing changes. */
static long kv_meta_debug(struct kv_ctx *c, struct plmc_meta *m,
			  const char *key, u32 klen)
{
	struct kv_item *it = kv_find_read(c, key, klen, kv_hash(key, klen));

	if (!it)
		return PLMC_NOT_FOUND;
	kv_meta_fill(c, m, it);
	return PLMC_OK;
}

/*
 * PLMC_OP_META: out = struct plmc_meta, copied in once, checked, run,
 * and copied back whole (its in-fields as read, the out-fields set).
 */
long kv_op_meta(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_meta m;
	char key[KV_KEY_MAX];
	long rc;

	if (!r->out || !kv_user_ok(r->out, sizeof(m)))
		return PLMC_E_FAULT;
	memcpy(&m, (const void *)r->out, sizeof(m));
	rc = kv_meta_valid(&m, r);
	if (rc)
		return rc;
	if (!kv_user_ok(r->buf, r->buflen))
		return PLMC_E_FAULT;
	rc = kv_meta_key(r, m.mflags, key);
	if (rc)
		return rc;
	m.cas = m.vlen = m.number = m.size = 0;
	m.ttl_left = m.ttl_set = m.ttl_viv = -1;
	m.flags = m.rbits = m.la = m.cls = 0;
	switch (m.cmd) {
	case PLMC_META_GET:
		rc = kv_meta_get(c, &m, key, r->klen, r->buf, r->buflen);
		break;
	case PLMC_META_SET:
		rc = kv_meta_set(c, &m, key, r->klen, r->val, r->vlen);
		kv_table_step(c); /* ms grows the table as set does */
		break;
	case PLMC_META_DELETE:
		rc = kv_meta_delete(c, &m, key, r->klen);
		break;
	case PLMC_META_ARITH:
		rc = kv_meta_arith(c, &m, key, r->klen);
		break;
	default:
		rc = kv_meta_debug(c, &m, key, r->klen);
		break;
	}
	memcpy((void *)r->out, &m, sizeof(m));
	return rc;
}
