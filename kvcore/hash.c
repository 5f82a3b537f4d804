// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/hash.c - the hash table: RCU readers, striped-lock writers.
 *
 * A bucket is a singly linked chain of immutable items (absolute
 * addresses, 0 ends it). Readers (kv_lookup) take no lock and write
 * nothing shared: they follow links with acquire loads, inside an
 * announced epoch (epoch.c) that keeps what they see from being freed.
 * Writers take the bucket's stripe lock (bucket index mod KV_NLOCKS),
 * change links with release stores, and retire what they unlink after
 * dropping the lock.
 *
 * Invariants:
 *  - A published item is fully written before the release store that
 *    makes it reachable; after that only its .next changes (under lock).
 *  - A chain holds at most one item per key (replace is one store).
 *  - An unlinked item keeps its .next, so a reader standing on it still
 *    reaches the rest of the chain.
 * Every write path goes kv_wr_begin (lock, find) -> kv_wr_link (the one
 * release store that changes the chain) -> kv_wr_end (unlock, account,
 * retire). Deciding (add/replace/cas checks) happens between begin and
 * link on what begin found; building the new item happens before begin.
 * Crash: each change is one redo transaction (kv_wr_link, tx.c) whose
 * last store is the link; a death under the lock leaves a well-formed
 * chain, the lock (named in the slot record) and maybe a committed log;
 * recover.c finishes the log, frees the lock and retires what the dead
 * call had unlinked (ks->pending) or built (ks->chunk).
 */
#include "kv.h"

/* The hash: SipHash-1-3 keyed with the store's secret, a word at a
 * time (kv.h: the rounds, and why that function). */

/* The initial state from the secret, once per store (kv_derive, with
 * the geometry: published before geo_key). */
void kv_hash_init(const struct plmc_store_hdr *h, u64 *sip)
{
	u64 k0 = h->hash_key[0], k1 = h->hash_key[1];

	sip[0] = k0 ^ 0x736f6d6570736575ULL;
	sip[1] = k1 ^ 0x646f72616e646f6dULL;
	sip[2] = k0 ^ 0x6c7967656e657261ULL;
	sip[3] = k1 ^ 0x7465646279746573ULL;
}

/* Context: after kv_ctx_init (the kv area's sip[] is derived). */
u32 kv_hash(const void *key, u32 klen)
{
	const u64 *sip = kv_area()->sip;
	u64 v0 = sip[0], v1 = sip[1], v2 = sip[2], v3 = sip[3];
	const u8 *p = key, *end = p + (klen & ~7U);
	u32 rem = klen & 7;
	u64 m;

	for (; p < end; p += 8) {
		m = kv_ld64(p);
		KV_SIP_WORD(m);
	}
	/* The last 0..7 bytes: the end of the last whole word, shifted
	 * down, when there is one (no byte past the key is read). */
	if (!rem)
		m = 0;
	else if (klen >= 8)
		m = kv_ld64(p + rem - 8) >> (64 - 8 * rem);
	else
		m = kv_ld_short(p, rem);
	m |= (u64)klen << 56;
	KV_SIP_WORD(m);
	KV_SIP_END;
	return (u32)(v0 ^ v1 ^ v2 ^ v3);
}

/* Out of line, for the ops off the hot path (kv.h: kv_key_take_in). */
long kv_key_take(u64 kp, u32 klen, char *key)
{
	return kv_key_take_in(kp, klen, key);
}

_Static_assert(KV_KEY_BUF >= ((KV_KEY_MAX & ~7) + 8) && KV_KEY_BUF % 8 == 0,
	       "kv_key_take: room for the last word");

int kv_key_eq(const void *a, const void *b, u32 n)
{
	return kv_key_eq_inline(a, b, n);
}

/* A key's stripe lock: the same in every table (each has at least
 * KV_NLOCKS buckets, so bucket mod KV_NLOCKS is hash mod KV_NLOCKS). */
static kv_lock_t *kv_stripe(struct kv_ctx *c, u32 hash)
{
	return &kv_area()->locks[hash & (KV_NLOCKS - 1)];
}

/* While the table grows: the old table, then, on a miss, the new one
 * (after it: the order table.c's moves rely on). Out of line, so the
 * common lookup keeps few registers. */
__attribute__((noinline, cold)) struct kv_item *
kv_lookup_growing(struct kv_ctx *c, const char *key, u32 klen, u32 hash, u64 s)
{
	u32 tk = kv_tkey(c, klen);
	struct kv_item *it = kv_walk(kv_tcur(c, s, hash), key, klen, tk, hash);

	if (it)
		return it;
	return kv_walk(kv_tbucket(c, kv_tview(c, !(s & KV_T_CUR)), hash), key,
		       klen, tk, hash);
}

/* Context: epoch announced. Return: the item for @key, or NULL. Out of
 * line for the write paths; the read paths inline it (kv.h). */
struct kv_item *kv_lookup(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	return kv_lookup_in(c, key, klen, hash);
}

/* The link on the chain at @link that points at @key's item, or the
 * chain's last link (0). Context: stripe lock held. */
static inline __attribute__((always_inline)) u64 *
kv_chain_link(u64 *link, const char *key, u32 klen, u32 tk, u32 hash)
{
	u64 p;

	while ((p = *link)) {
		struct kv_item *it = (struct kv_item *)p;

		if (kv_match(it, key, klen, tk, (u8)(hash >> 24)))
			return link;
		link = &it->next;
	}
	return link;
}

/* Context: stripe lock held. Return: the link that points at @key's item
 * (its value is 0 if there is none: then it is the chain's last link).
 * tstate is read under the lock: while the table grows the key's item
 * may be in either table, and a new one goes into the new table. */
static u64 *kv_find_link(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	u64 s = kv_tstate();
	u32 tk = kv_tkey(c, klen);
	u64 *link = kv_chain_link(kv_tcur(c, s, hash), key, klen, tk, hash);

	if (*link || !(s & KV_T_GROWING))
		return link;
	return kv_chain_link(kv_tbucket(c, kv_tview(c, !(s & KV_T_CUR)), hash),
			     key, klen, tk, hash);
}

static s64 kv_item_bytes(const struct kv_item *it)
{
	return (s64)(KV_ITEM_HDR + it->klen + it->vlen);
}

/* The class counters of a link: @it in, @old out. An overwrite in the
 * same class (the common set) is one add, or none at the same size. */
static void kv_wr_count(const struct kv_item *it, const struct kv_item *old)
{
	if (it)
		kv_lru_count(it, 1);
	if (old)
		kv_lru_count(old, -1);
	if (it && old && it->cls == old->cls) {
		s64 d = kv_item_bytes(it) - kv_item_bytes(old);

		if (d)
			kv_cls_add(it->cls, &kv_cls(it->cls)->requested, d);
		return;
	}
	if (it) {
		kv_cls_add(it->cls, &kv_cls(it->cls)->items, 1);
		kv_cls_add(it->cls, &kv_cls(it->cls)->requested,
			   kv_item_bytes(it));
	}
	if (old) {
		kv_cls_add(old->cls, &kv_cls(old->cls)->items, -1);
		kv_cls_add(old->cls, &kv_cls(old->cls)->requested,
			   -kv_item_bytes(old));
	}
}

/* Take @key's stripe lock and find its link (w->old: what is there). */
void kv_wr_begin(struct kv_ctx *c, struct kv_wr *w, const char *key, u32 klen,
		 u32 hash)
{
	w->lock = kv_stripe(c, hash);
	w->gone = 0;
	w->put = 0;
	w->keep_cas = 0;
	kv_lock(c, w->lock);
	kv_crash(c, PLMC_CRASH_WR_LOCKED);
	w->link = kv_find_link(c, key, klen, hash);
	w->old = (struct kv_item *)*w->link;
	w->state = w->old ? kv_item_state(c, w->old) : KV_LIVE;
}

/*
 * Put @it (complete but for its CAS, and this slot's ks->chunk) in place
 * of w->old, or unlink w->old if @it is NULL. At most once per
 * kv_wr_begin. Context: stripe lock held.
 * One transaction (tx.c): the link store, this slot's items/bytes
 * counters, the chunk record (now published) and the pending record
 * (the unlinked item, retired by kv_wr_end): a death anywhere leaves
 * either none of it or, after recovery, all of it.
 */
void kv_wr_link(struct kv_ctx *c, struct kv_wr *w, struct kv_item *it)
{
	struct kv_item *old = w->old;
	u64 next = old ? old->next : 0;
	s64 items = 0, bytes = 0;
	struct kv_tx t;

	if (!it && !old)
		return;
	kv_tx_init(&t, c->ks);
	if (it) {
		if (!w->keep_cas)
			it->cas = __atomic_add_fetch(&kv_area()->cas_seq, 1,
						     __ATOMIC_RELAXED);
		it->next = next;
		/* Not yet visible: plain store. New items are HOT (0), or
		 * TEMP by their TTL (lru.c). */
		it->iflags |= KV_IT_LINKED | kv_lru_temp(c, it);
		items++;
		bytes += kv_item_bytes(it);
		kv_tx_set(&t, &c->ks->chunk, 0);
	}
	if (old) {
		items--;
		bytes -= kv_item_bytes(old);
		kv_tx_set(&t, &c->ks->pending, (u64)old);
	}
	/* An overwrite (one in, one out) leaves items as it is, and one
	 * of the same size bytes too: no store to log (an absolute store
	 * of the value already there changes nothing, replayed or not). */
	if (items)
		kv_tx_set(&t, &c->st->items, (u64)(c->st->items + items));
	if (bytes)
		kv_tx_set(&t, &c->st->bytes, (u64)(c->st->bytes + bytes));
	/* Last: the release store that publishes @it. */
	kv_tx_set(&t, w->link, it ? (u64)it : next);
	kv_tx_commit(c, &t, PLMC_CRASH_LINK_TX);
	if (old)
		__atomic_fetch_and(&old->iflags, (u8)~KV_IT_LINKED,
				   __ATOMIC_RELAXED);
	kv_wr_count(it, old);
	/* The tenant's counters, as the class counters (kv.h). Both items
	 * are c->tenant's: the chain search matched it, a new item takes
	 * it, and a call working on another tenant's item switches to that
	 * tenant first (kv_as_enter). */
	if (KV_UNLIKELY(c->tenant)) {
		if (it)
			kv_tenant_charge(it, 1);
		if (old)
			kv_tenant_charge(old, -1);
	}
	w->gone = old;
	w->put = it;
	kv_crash(c, PLMC_CRASH_LINKED);
}

/* Count why an unlinked item went (lazy expiry, or a flush: memcached
 * counts both as reclaimed when it frees one); then retire it. */
static void kv_wr_account_gone(struct kv_ctx *c, struct kv_wr *w)
{
	struct kv_item *old = w->gone;

	if (w->state != KV_LIVE) {
		struct kv_class *cl = kv_cls(old->cls);

		kv_add(&c->st->reclaimed, 1);
		kv_cls_add(old->cls, &cl->reclaimed, 1);
		if (!(old->iflags & KV_IT_FETCHED)) {
			kv_add(&c->st->expired_unfetched, 1);
			kv_cls_add(old->cls, &cl->expired_unfetched, 1);
		}
	}
	kv_retire(c, c->ks, PLMC_CRASH_RETIRE_TX);
}

/* Drop the stripe lock; then account and retire (no lock held). */
void kv_wr_end(struct kv_ctx *c, struct kv_wr *w)
{
	kv_unlock(c, w->lock);
	if (w->put)
		kv_add(&c->st->total_items, 1);
	if (w->gone) {
		kv_crash(c, PLMC_CRASH_UNLOCKED);
		kv_wr_account_gone(c, w);
	}
}

/*
 * Unlink @key's item, expired or not; *@cls (unless NULL) gets the class
 * of a live one removed.
 * Return: PLMC_DELETED if a live item was removed, else PLMC_NOT_FOUND.
 */
int kv_remove(struct kv_ctx *c, const char *key, u32 klen, u32 hash, int *cls)
{
	struct kv_wr w;
	int rc;

	kv_wr_begin(c, &w, key, klen, hash);
	rc = kv_wr_live(&w) ? PLMC_DELETED : PLMC_NOT_FOUND;
	if (rc == PLMC_DELETED && cls)
		*cls = w.old->cls;
	kv_wr_link(c, &w, 0);
	kv_wr_end(c, &w);
	return rc;
}
