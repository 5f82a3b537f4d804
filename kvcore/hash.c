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

/* 64-bit FNV-1a, then a final mix so the low bits pick buckets well;
 * items keep the low 32 bits (enough for 2^32 buckets). */
u32 kv_hash(const char *key, u32 klen)
{
	u64 h = 0xcbf29ce484222325ULL;
	u32 i;

	for (i = 0; i < klen; i++)
		h = (h ^ (u8)key[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (u32)h;
}

static u64 *kv_bucket(struct kv_ctx *c, u32 hash)
{
	return &c->geo.buckets[hash & (c->geo.nbuckets - 1)];
}

static kv_lock_t *kv_stripe(struct kv_ctx *c, u32 hash)
{
	return &kv_area()
			->locks[hash & (c->geo.nbuckets - 1) & (KV_NLOCKS - 1)];
}

static int kv_match(const struct kv_item *it, const char *key, u32 klen,
		    u32 hash)
{
	return it->hash == hash && it->klen == klen &&
	       !memcmp(it->data, key, klen);
}

/* Context: epoch announced. Return: the item for @key, or NULL. */
struct kv_item *kv_lookup(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	u64 p = __atomic_load_n(kv_bucket(c, hash), __ATOMIC_ACQUIRE);

	while (p) {
		struct kv_item *it = (struct kv_item *)p;

		if (kv_match(it, key, klen, hash))
			return it;
		p = __atomic_load_n(&it->next, __ATOMIC_ACQUIRE);
	}
	return 0;
}

/* Context: stripe lock held. Return: the link that points at @key's item
 * (its value is 0 if there is none: then it is the chain's last link). */
static u64 *kv_find_link(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	u64 *link = kv_bucket(c, hash);
	u64 p;

	while ((p = *link)) {
		struct kv_item *it = (struct kv_item *)p;

		if (kv_match(it, key, klen, hash))
			return link;
		link = &it->next;
	}
	return link;
}

static s64 kv_item_bytes(const struct kv_item *it)
{
	return (s64)(KV_ITEM_HDR + it->klen + it->vlen);
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
	kv_tx_init(&t);
	if (it) {
		if (!w->keep_cas)
			it->cas = __atomic_add_fetch(&kv_area()->cas_seq, 1,
						     __ATOMIC_RELAXED);
		it->next = next;
		/* Not yet visible: plain store. REF: a new item gets one
		 * pass of the CLOCK hand before it can be evicted. */
		it->iflags |= KV_IT_LINKED | KV_IT_REF;
		items++;
		bytes += kv_item_bytes(it);
		kv_tx_set(&t, &c->ks->chunk, 0);
	}
	if (old) {
		items--;
		bytes -= kv_item_bytes(old);
		kv_tx_set(&t, &c->ks->pending, (u64)old);
	}
	kv_tx_set(&t, &c->st->items, (u64)(c->st->items + items));
	kv_tx_set(&t, &c->st->bytes, (u64)(c->st->bytes + bytes));
	/* Last: the release store that publishes @it. */
	kv_tx_set(&t, w->link, it ? (u64)it : next);
	kv_tx_commit(c, c->ks, &t, PLMC_CRASH_LINK_TX);
	if (it) {
		kv_cls_add(it->cls, &kv_cls(it->cls)->items, 1);
		kv_cls_add(it->cls, &kv_cls(it->cls)->requested,
			   kv_item_bytes(it));
	}
	if (old) {
		__atomic_fetch_and(&old->iflags, (u16)~KV_IT_LINKED,
				   __ATOMIC_RELAXED);
		kv_cls_add(old->cls, &kv_cls(old->cls)->items, -1);
		kv_cls_add(old->cls, &kv_cls(old->cls)->requested,
			   -kv_item_bytes(old));
	}
	w->gone = old;
	w->put = it;
	kv_crash(c, PLMC_CRASH_LINKED);
}

/* Count why an unlinked item went (lazy expiry); then retire it. */
static void kv_wr_account_gone(struct kv_ctx *c, struct kv_wr *w)
{
	struct kv_item *old = w->gone;

	if (w->state == KV_EXPIRED) {
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
 * Publish @it (hash, key, value, flags, exptime filled in): replaces the
 * item with the same key, if any. Gives @it its CAS unique.
 * Return: PLMC_STORED.
 */
int kv_store(struct kv_ctx *c, struct kv_item *it)
{
	struct kv_wr w;

	kv_wr_begin(c, &w, it->data, it->klen, it->hash);
	kv_wr_link(c, &w, it);
	kv_wr_end(c, &w);
	return PLMC_STORED;
}

/*
 * Unlink @key's item, expired or not.
 * Return: PLMC_DELETED if a live item was removed, else PLMC_NOT_FOUND.
 */
int kv_remove(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	struct kv_wr w;
	int rc;

	kv_wr_begin(c, &w, key, klen, hash);
	rc = kv_wr_live(&w) ? PLMC_DELETED : PLMC_NOT_FOUND;
	kv_wr_link(c, &w, 0);
	kv_wr_end(c, &w);
	return rc;
}
