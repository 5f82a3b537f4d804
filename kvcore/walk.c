// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/walk.c - every item's metadata, bucket by bucket (PLMC_OP_WALK):
 * memcached's "lru_crawler metadump", "stats cachedump" and, with
 * reclaim, "lru_crawler crawl".
 *
 * Lock-free, as kv_lookup: the walk follows chains with acquire loads
 * inside the call's epoch (kv_dispatch), takes no lock to read and
 * writes nothing shared, so writers never wait for it. A call reads at
 * most KV_WALK_BUCKETS buckets and PLMC_WALK_MAX items; it stops before
 * a bucket whose items would not all fit, so the caller's cursor always
 * names a whole bucket (only a first bucket longer than PLMC_WALK_MAX
 * items is cut, its tail skipped). What is seen is what kv_lookup would
 * have seen at that instant: no snapshot across buckets.
 *
 * Reclaim: a dead item (expired, flushed) met is unlinked through
 * kv_reap, which takes the stripe lock and checks under it that the
 * chain still holds a dead item for that key; the walk then goes on from
 * the unlinked item's .next, which it keeps (hash.c). Counted as the
 * class's crawler_reclaimed (memcached's crawler counts it so).
 *
 * Client memory: the result goes straight to @out, checked whole first;
 * no lock is held while it is written.
 */
#include "kv.h"

#define KV_WALK_BUCKETS 4096 /* buckets read per call at most */

/* struct plmc_walk's head (the whole is too big for the slot's stack). */
struct kv_walk_hdr {
	u64 next;
	u32 n, reclaimed, done, pad;
};

_Static_assert(sizeof(struct kv_walk_hdr) ==
		       __builtin_offsetof(struct plmc_walk, ent),
	       "plmc_walk head");
_Static_assert(sizeof(struct plmc_walk_item) == 296, "plmc_walk_item layout");

/* Nonzero if @it is one the walk reports: live, of class @cls (memcached
 * number, 0 = any). */
static int kv_walk_wants(const struct kv_ctx *c, const struct kv_item *it,
			 u64 cls)
{
	return (!cls || (u64)it->cls + 1 == cls) && kv_item_live(c, it);
}

/* Fill one entry from @it (a linked item: immutable but for exptime,
 * atime, iflags and next; klen bounded anyway). */
static void kv_walk_fill(const struct kv_item *it, struct plmc_walk_item *e)
{
	u32 klen = it->klen;
	u16 f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);

	if (klen > KV_KEY_MAX)
		klen = KV_KEY_MAX;
	memset(e, 0, sizeof(*e));
	e->cas = it->cas;
	e->exptime = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);
	e->atime = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);
	e->time = it->time;
	e->flags = it->flags;
	e->vlen = it->vlen;
	e->size = (u32)(KV_ITEM_HDR + klen + it->vlen);
	e->klen = (u8)klen;
	e->cls = (u8)(it->cls + 1);
	e->fetched = !!(f & KV_IT_FETCHED);
	e->binkey = !!(f & KV_IT_BINKEY);
	memcpy(e->key, it->data, klen);
}

/* Unlink @it if it is dead. Context: epoch announced, no lock held.
 * Return: 1 if it was reaped. */
static int kv_walk_reap(struct kv_ctx *c, const struct kv_item *it)
{
	char key[KV_KEY_MAX];
	u32 klen = it->klen;
	int cls = it->cls;

	if (kv_item_live(c, it) || !klen || klen > KV_KEY_MAX ||
	    (u64)cls >= kv_area()->ncls)
		return 0;
	memcpy(key, it->data, klen);
	if (!kv_reap(c, key, klen, it->hash))
		return 0;
	kv_cls_add(cls, &kv_cls(cls)->crawler_reclaimed, 1);
	return 1;
}

/* Items of bucket @b the walk reports (an upper bound by the time they
 * are copied: the chain may change meanwhile). */
static u32 kv_walk_count(const struct kv_ctx *c, u64 b, u64 cls)
{
	u64 p = __atomic_load_n(&c->geo.buckets[b], __ATOMIC_ACQUIRE);
	u32 n = 0;

	for (; p && n <= PLMC_WALK_MAX;
	     p = __atomic_load_n(&((struct kv_item *)p)->next,
				 __ATOMIC_ACQUIRE))
		n += kv_walk_wants(c, (const struct kv_item *)p, cls);
	return n;
}

/* One bucket: reap (if asked), then copy what fits from ent[*n] on. */
static void kv_walk_bucket(struct kv_ctx *c, u64 b, u64 cls, u64 reclaim,
			   struct plmc_walk *out, u32 *n, u32 *reaped)
{
	struct plmc_walk_item e;
	u64 p;

	/* Acquire (each link): pairs with kv_wr_link()'s release store, so
	 * a linked item is read as it was built. */
	p = __atomic_load_n(&c->geo.buckets[b], __ATOMIC_ACQUIRE);
	for (; p; p = __atomic_load_n(&((struct kv_item *)p)->next,
				      __ATOMIC_ACQUIRE)) {
		const struct kv_item *it = (const struct kv_item *)p;

		if (reclaim && kv_walk_reap(c, it)) {
			(*reaped)++;
			continue;
		}
		if (*n == PLMC_WALK_MAX || !kv_walk_wants(c, it, cls))
			continue;
		kv_walk_fill(it, &e);
		memcpy(&out->ent[*n], &e, sizeof(e));
		(*n)++;
	}
}

/*
 * PLMC_OP_WALK: r->cas = the first bucket, r->exptime = class (0 all),
 * r->flags = reclaim (0 or 1), r->out = struct plmc_walk, r->buflen =
 * its size. Return: PLMC_OK or PLMC_E_INVAL / PLMC_E_FAULT (nothing
 * read or changed).
 */
long kv_op_walk(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_walk *out = (struct plmc_walk *)r->out;
	u64 b = r->cas, cls = (u64)r->exptime, end;
	struct kv_walk_hdr hdr;
	u32 n = 0, reaped = 0;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN | RQ_CAS | RQ_EXPTIME | RQ_FLAGS))
		return PLMC_E_INVAL;
	if (r->buflen != sizeof(*out) || r->flags > 1 || r->exptime < 0 ||
	    cls > kv_area()->ncls || b > c->geo.nbuckets)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, sizeof(*out)))
		return PLMC_E_FAULT;
	end = b + KV_WALK_BUCKETS < c->geo.nbuckets ? b + KV_WALK_BUCKETS
						    : c->geo.nbuckets;
	for (; b < end; b++) {
		/* A bucket is reported whole or not at all (but the first) */
		if (n && n + kv_walk_count(c, b, cls) > PLMC_WALK_MAX)
			break;
		kv_walk_bucket(c, b, cls, r->flags, out, &n, &reaped);
	}
	hdr = (struct kv_walk_hdr){
		.next = b,
		.n = n,
		.reclaimed = reaped,
		.done = b == c->geo.nbuckets,
	};
	memcpy(out, &hdr, sizeof(hdr));
	return PLMC_OK;
}
