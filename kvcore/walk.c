// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/walk.c - every item's metadata (PLMC_OP_WALK): memcached's
 * "lru_crawler metadump", "stats cachedump" and, with reclaim,
 * "lru_crawler crawl".
 *
 * Lock-free, as kv_lookup: the walk follows chains with acquire loads
 * inside the call's epoch (kv_dispatch), takes no lock to read and
 * writes nothing shared, so writers never wait for it.
 *
 * What it must not tell: which keys share a bucket (hash.c keeps that
 * inside the library, against flooding; SECURITY.md). So the table is
 * walked in blocks, and the items of a block come out in CAS order,
 * never in bucket order: a call returns the PLMC_WALK_MAX live items of
 * its block with the smallest CAS above the caller's, and the caller
 * goes on from the last one's CAS, then from the next block. A client
 * learns which block a key is in, nothing finer. CAS uniques are never
 * shared by two live items (a relink that keeps one moves it to the
 * item's replacement), so the order is strict; an item replaced during
 * the walk may be seen twice (its new CAS is higher) or, removed, not at
 * all: no snapshot, as memcached's crawler.
 *
 * The table grows online (table.c), so a block is not a range of one
 * table's buckets but a set of hash values: with N the size of the
 * table when the walk began (the cursor carries log2 N), block k holds
 * the items whose hash & (N - 1) lies in [k * B, (k + 1) * B), B =
 * min(KV_WALK_BUCKETS, N). Tables only double, so in a table of M >= N
 * buckets those are buckets j * N + k * B + r: a call reads every table
 * readers may walk (growing: both; an item moving between them is seen
 * in one or both, kept once), and no item present throughout is missed
 * across a growth.
 *
 * Reclaim: on the first call of a block, the dead items (expired,
 * flushed) of the class asked for are unlinked through kv_reap, which
 * takes the stripe lock and checks under it that the chain still holds
 * a dead item for that key; the walk goes on from the unlinked item's
 * .next, which it keeps (hash.c). Counted as the class's
 * crawler_reclaimed, as memcached's crawler counts them.
 *
 * Client memory: the result goes straight to @out, checked whole first;
 * no lock is held while it is written.
 */
#include "kv.h"

#define KV_WALK_BUCKETS 4096 /* buckets per block, at most */

/* struct plmc_walk's head (the whole is too big for the slot's stack). */
struct kv_walk_hdr {
	u64 next, next_after;
	u32 n, reclaimed, done, held; /* held: kv_call sets it */
};

_Static_assert(sizeof(struct kv_walk_hdr) ==
		       __builtin_offsetof(struct plmc_walk, ent),
	       "plmc_walk head");
_Static_assert(sizeof(struct plmc_walk_item) == 296, "plmc_walk_item layout");

/* The block's smallest CAS uniques above the cursor, ascending. */
struct kv_walk_sel {
	u32 n;
	u32 more; /* a qualifying item did not fit */
	u64 cas[PLMC_WALK_MAX];
	const struct kv_item *it[PLMC_WALK_MAX];
};

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
	if (!kv_reap(c, key, klen, kv_hash(key, klen)))
		return 0;
	kv_cls_add(cls, &kv_cls(cls)->crawler_reclaimed, 1);
	return 1;
}

/* Keep @it in @s if its CAS is among the smallest (insertion, ascending;
 * the largest falls off a full set). */
static void kv_walk_keep(struct kv_walk_sel *s, const struct kv_item *it,
			 u64 cas)
{
	u32 i;

	for (i = 0; i < s->n; i++)
		if (s->cas[i] == cas)
			return; /* met in both tables while it moves */
	if (s->n == PLMC_WALK_MAX) {
		s->more = 1;
		if (cas >= s->cas[PLMC_WALK_MAX - 1])
			return;
		s->n--;
	}
	for (i = s->n; i && s->cas[i - 1] > cas; i--) {
		s->cas[i] = s->cas[i - 1];
		s->it[i] = s->it[i - 1];
	}
	s->cas[i] = cas;
	s->it[i] = it;
	s->n++;
}

/* One bucket: reap (if asked) and select. */
static void kv_walk_bucket(struct kv_ctx *c, u64 *bkt, u64 cls, int reclaim,
			   u64 after, struct kv_walk_sel *s, u32 *reaped)
{
	/* Acquire (each link): pairs with kv_wr_link()'s release store, so
	 * a linked item is read as it was built. */
	u64 p = __atomic_load_n(bkt, __ATOMIC_ACQUIRE);

	for (; p; p = __atomic_load_n(&((struct kv_item *)p)->next,
				      __ATOMIC_ACQUIRE)) {
		const struct kv_item *it = (const struct kv_item *)p;
		u64 cas = it->cas;

		/* Only the caller's key space: a tenant walks its own items
		 * (the owner and root their own, tenant 0), never another's
		 * keys, sizes or times (docs/tenants.md). */
		if (it->tenant != c->tenant)
			continue;
		if (reclaim && (!cls || (u64)it->cls + 1 == cls) &&
		    kv_walk_reap(c, it)) {
			(*reaped)++;
			continue;
		}
		if (cas > after && kv_walk_wants(c, it, cls))
			kv_walk_keep(s, it, cas);
	}
}

/* Block @blk (B buckets) of a walk begun at @nb buckets, in table @v. */
static void kv_walk_table(struct kv_ctx *c, struct kv_tview v, u64 nb, u64 bs,
			  u64 blk, u64 cls, const struct plmc_req *r,
			  struct kv_walk_sel *s, u32 *reaped)
{
	u64 j, b;

	if (v.mask + 1 < nb)
		return; /* not a table of this walk's (tables only grow) */
	for (j = 0; j <= v.mask; j += nb)
		for (b = j + blk * bs; b < j + (blk + 1) * bs; b++)
			kv_walk_bucket(c, kv_tbucket(c, v, b), cls,
				       r->flags && !r->cas, r->cas, s, reaped);
}

/*
 * PLMC_OP_WALK: r->vlen = the cursor (0 to begin; then log2 N << 48 |
 * block), r->cas = the CAS to go on after (0: the block's start),
 * r->exptime = class (0 all), r->flags = reclaim (0 or 1), r->out =
 * struct plmc_walk, r->buflen = its size.
 * Return: PLMC_OK or PLMC_E_INVAL / PLMC_E_FAULT (nothing read or
 * changed).
 */
long kv_op_walk(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_walk *out = (struct plmc_walk *)r->out;
	u64 st = kv_tstate(), cls = (u64)r->exptime;
	struct kv_tview v = kv_tview(c, st & KV_T_CUR);
	struct kv_tview o = kv_tview(c, !(st & KV_T_CUR));
	u64 bits = r->vlen >> 48, blk = r->vlen & ((1ULL << 48) - 1);
	u64 nb, bs, nblocks;
	struct kv_walk_sel s;
	struct plmc_walk_item e;
	struct kv_walk_hdr hdr;
	u32 reaped = 0, i;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN | RQ_VLEN | RQ_CAS | RQ_EXPTIME |
				   RQ_FLAGS))
		return PLMC_E_INVAL;
	if (!r->vlen) /* a new walk: the table readers walk first */
		bits = (u64)__builtin_ctzll(v.mask + 1);
	nb = bits < 63 ? 1ULL << bits : 0;
	bs = nb < KV_WALK_BUCKETS ? nb : KV_WALK_BUCKETS;
	nblocks = bs ? nb / bs : 0;
	if (r->buflen != sizeof(*out) || r->flags > 1 || r->exptime < 0 ||
	    cls > kv_area()->ncls || nb < PLMC_GEO_MIN_BKTS ||
	    nb > kv_area()->tg.maxbkt || blk >= nblocks)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, sizeof(*out)))
		return PLMC_E_FAULT;
	s.n = s.more = 0;
	kv_walk_table(c, v, nb, bs, blk, cls, r, &s, &reaped);
	if (st & KV_T_GROWING) /* items move from v into o meanwhile */
		kv_walk_table(c, o, nb, bs, blk, cls, r, &s, &reaped);
	for (i = 0; i < s.n; i++) {
		kv_walk_fill(s.it[i], &e);
		memcpy(&out->ent[i], &e, sizeof(e));
	}
	hdr = (struct kv_walk_hdr){
		.next = bits << 48 | (s.more ? blk : blk + 1),
		.next_after = s.more ? s.cas[s.n - 1] : 0,
		.n = s.n,
		.reclaimed = reaped,
		.done = !s.more && blk + 1 == nblocks,
	};
	memcpy(out, &hdr, sizeof(hdr));
	return PLMC_OK;
}
