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
 * Crash: each change is one 8-byte store, so a death under the lock
 * leaves a well-formed chain (the old or the new item reachable) plus a
 * held lock and maybe an unretired item (recovery: a later issue).
 */
#include "kv.h"

/* 64-bit FNV-1a, then a final mix so the low bits pick buckets well. */
u64 kv_hash(const char *key, u32 klen)
{
	u64 h = 0xcbf29ce484222325ULL;
	u32 i;

	for (i = 0; i < klen; i++)
		h = (h ^ (u8)key[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static u64 *kv_bucket(struct kv_ctx *c, u64 hash)
{
	return &c->geo.buckets[hash & (c->geo.nbuckets - 1)];
}

static kv_lock_t *kv_stripe(struct kv_ctx *c, u64 hash)
{
	return &kv_area()
			->locks[hash & (c->geo.nbuckets - 1) & (KV_NLOCKS - 1)];
}

static int kv_match(const struct kv_item *it, const char *key, u32 klen,
		    u64 hash)
{
	return it->hash == hash && it->klen == klen &&
	       !memcmp(it->data, key, klen);
}

/* Context: epoch announced. Return: the item for @key, or NULL. */
struct kv_item *kv_lookup(struct kv_ctx *c, const char *key, u32 klen, u64 hash)
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
static u64 *kv_find_link(struct kv_ctx *c, const char *key, u32 klen, u64 hash)
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

/*
 * Publish @it (hash, key, value, flags, exptime filled in): replaces the
 * item with the same key, if any. Gives @it its CAS unique.
 * Return: PLMC_STORED.
 */
int kv_store(struct kv_ctx *c, struct kv_item *it)
{
	kv_lock_t *l = kv_stripe(c, it->hash);
	struct kv_item *old;
	u64 *link;

	it->cas = __atomic_add_fetch(&kv_area()->cas_seq, 1, __ATOMIC_RELAXED);
	kv_lock(c, l);
	link = kv_find_link(c, it->data, it->klen, it->hash);
	old = (struct kv_item *)*link;
	it->next = old ? old->next : 0;
	__atomic_store_n(link, (u64)it, __ATOMIC_RELEASE);
	kv_unlock(c, l);

	kv_add(&c->ks->bytes, kv_item_bytes(it));
	if (old) {
		kv_add(&c->ks->bytes, -kv_item_bytes(old));
		kv_retire(c, old);
	} else {
		kv_add(&c->ks->items, 1);
	}
	return PLMC_STORED;
}

/*
 * Unlink @key's item, expired or not.
 * Return: PLMC_DELETED if a live item was removed, else PLMC_NOT_FOUND.
 */
int kv_remove(struct kv_ctx *c, const char *key, u32 klen, u64 hash)
{
	kv_lock_t *l = kv_stripe(c, hash);
	struct kv_item *old;
	u64 *link;
	int rc;

	kv_lock(c, l);
	link = kv_find_link(c, key, klen, hash);
	old = (struct kv_item *)*link;
	if (old)
		__atomic_store_n(link, old->next, __ATOMIC_RELEASE);
	kv_unlock(c, l);
	if (!old)
		return PLMC_NOT_FOUND;
	rc = kv_item_live(c, old) ? PLMC_DELETED : PLMC_NOT_FOUND;
	kv_add(&c->ks->items, -1);
	kv_add(&c->ks->bytes, -kv_item_bytes(old));
	kv_retire(c, old);
	return rc;
}
