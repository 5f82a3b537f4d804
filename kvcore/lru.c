// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/lru.c - memcached's segmented LRU, named on the CLOCK.
 *
 * memcached keeps four queues per class: new items enter HOT; its
 * maintainer thread moves HOT's tail to COLD when HOT holds more than
 * hot_lru_pct (20) of the class, or to WARM if it was read twice
 * ("active"); WARM (at most warm_lru_pct, 40) keeps active items, its
 * unread tail going to COLD; an active COLD item goes to WARM; the
 * allocator evicts from COLD's tail. TEMP holds items whose TTL is at
 * most temporary_ttl: never evicted, only expired.
 *
 * The store keeps no queues (an item header has no room for two more
 * links, and every link and unlink would pay a redo-logged store under
 * a class lock): the class's chunks in CLOCK order (alloc.c: oldest
 * page first) are the one order, and each item carries its segment in
 * two bits of .iflags (kv.h, KV_IT_SEG). The reference bit is ACTIVE
 * (kv_item_fetched sets it on a second read). A visit by the hand does
 * at an item what memcached's maintainer does at a queue's tail:
 *
 *   HOT   active: to WARM (moves_to_warm); else to COLD (moves_to_cold)
 *   WARM  active: stays, REF cleared (moves_within_lru); else to COLD
 *         if WARM is over its cap or the item idle for twice what
 *         COLD keeps (kv_lru_warm_stale), otherwise passed
 *   COLD  active: to WARM (moves_to_warm); else evicted (evict.c)
 *   TEMP  passed while it lives
 *
 * Who visits: the writer that evicts (kv_evict, evict.c), and the
 * maintainer step (kv_lru_juggle, PLMC_OP_MAINTAIN: plmcd's thread
 * calls it once a second). The juggle's cursor (kv_lru.dpos) walks ahead
 * of the hand while HOT is over its cap and moves the HOT items it meets
 * (the oldest first: it starts where the hand is); then a second cursor
 * (kv_lru.jpos) sweeps for active COLD items and moves them to WARM, as
 * memcached's asynchronous bump does, so a read item leaves COLD before
 * the hand reaches it. Neither moves the hand.
 *
 * Crash safety: a segment changes under the item's stripe lock by one
 * compare-and-swap of .iflags (a reader's REF or FETCHED beside it is
 * kept), so an item is always in exactly one segment; the per-class
 * counts (kv_lru.n) follow under the same lock, so unlinks count what
 * they remove, and a death between a change and its count leaves a
 * count off by one. Nothing here is redo-logged: no invariant of the
 * store depends on a segment, and stats items counts the bits afresh
 * (stats.c). Readers never wait: they never look at a segment.
 *
 * Locks: the class lock inside kv_cursor_next, then an item's stripe
 * lock, never both. No client memory is touched.
 */
#include "kv.h"

#define KV_JUGGLE_MAX  500 /* hand visits per class and juggle */
#define KV_RESCUE_MAX  256 /* rescue sweep items per class and juggle */
#define KV_RESCUE_SKIP 32  /* ... and chunks per item at most */

/* The class's counted items: all but TEMP (the caps' base). */
static s64 kv_lru_base(int cls)
{
	const struct kv_lru *l = &kv_area()->lru[cls];
	s64 items = __atomic_load_n(&kv_cls(cls)->items, __ATOMIC_RELAXED);

	return items - __atomic_load_n(&l->n[3], __ATOMIC_RELAXED);
}

/* Segment @s (1 warm, 0 hot) holds more than its share of class @cls. */
static int kv_lru_over(int cls, int s)
{
	const struct kv_lru *l = &kv_area()->lru[cls];
	s64 base = kv_lru_base(cls), n;

	if (s) {
		n = __atomic_load_n(&l->n[1], __ATOMIC_RELAXED);
		return n * 100 > base * KV_WARM_PCT;
	}
	n = base - __atomic_load_n(&l->n[1], __ATOMIC_RELAXED) -
	    __atomic_load_n(&l->n[2], __ATOMIC_RELAXED);
	return n * 100 > base * KV_HOT_PCT;
}

/*
 * A WARM item idle for longer than warm_max_factor (2) times what COLD
 * keeps an item: memcached compares with its COLD tail's age; the store
 * keeps no tail, and takes the idle time of the class's last evicted
 * item (evicted_time), 0 before any eviction (then no WARM item ages).
 */
static int kv_lru_warm_stale(const struct kv_ctx *c, int cls,
			     const struct kv_item *it)
{
	u64 et = __atomic_load_n(&kv_cls(cls)->evicted_time, __ATOMIC_RELAXED);
	u32 at = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);

	return et && (u32)c->now - at > 2 * et;
}

/* The segment a visit gives @it (iflags @f), or -1 to leave it as it
 * is. @juggle: HOT unread moves only over the cap. */
static int kv_lru_next_seg(const struct kv_ctx *c, int cls,
			   const struct kv_item *it, u8 f, int juggle)
{
	u8 s = f & KV_IT_SEG;

	if (s == KV_IT_TEMP)
		return -1;
	if (f & KV_IT_REF) /* active: to WARM, or stays there */
		return KV_IT_WARM;
	if (s == KV_IT_HOT)
		return !juggle || kv_lru_over(cls, 0) ? KV_IT_COLD : -1;
	if (s == KV_IT_WARM)
		return kv_lru_over(cls, 1) || kv_lru_warm_stale(c, cls, it)
			       ? KV_IT_COLD
			       : -1;
	return -1; /* COLD unread: the evictor's */
}

/* Move @it (linked, stripe lock held) to segment @to, REF cleared. */
static void kv_lru_move(struct kv_item *it, int cls, u8 to)
{
	struct kv_lru *l = &kv_area()->lru[cls];
	u8 o = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED), n;
	u8 from = o & KV_IT_SEG;

	/* Readers may set FETCHED or REF meanwhile (relaxed RMWs of the
	 * same byte): the CAS keeps FETCHED and the other bits, and
	 * consumes REF, which the move just acted on (a read racing it is
	 * lost, as one racing the CLOCK's clear was). Relaxed: the
	 * segment is decided and read under the stripe lock; elsewhere it
	 * is a hint. */
	do
		n = (u8)((o & ~(KV_IT_SEG | KV_IT_REF)) | to);
	while (!__atomic_compare_exchange_n(
		&it->iflags, &o, n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	if (from == to) {
		kv_cls_add(cls, &l->moves_within_lru, 1);
		return;
	}
	if (from)
		kv_cls_add(cls, &l->n[from >> 6], -1);
	kv_cls_add(cls, &l->n[to >> 6], 1);
	kv_cls_add(cls,
		   to == KV_IT_COLD ? &l->moves_to_cold : &l->moves_to_warm, 1);
}

/*
 * One visit of the hand (or the rescue sweep) at @it, a chunk of class
 * @cls read without a lock: under its key's stripe lock, if the chain
 * still holds it and it is live, move it as the table atop says.
 * @juggle: the maintainer's (HOT moves only over its cap).
 * Return: 1 if it moved (within WARM too), 0 if left as it is.
 */
static int kv_lru_visit_own(struct kv_ctx *c, struct kv_item *it, int cls,
			    int juggle)
{
	char key[KV_KEY_MAX];
	u32 klen = __atomic_load_n(&it->klen, __ATOMIC_RELAXED);
	struct kv_wr w;
	int to = -1;

	/* A stale klen must not read past the chunk (kv_evict_one). */
	if (!klen || klen > KV_KEY_MAX ||
	    KV_ITEM_HDR + klen > kv_class_size(cls))
		return 0;
	memcpy(key, it->data, klen);
	kv_wr_begin(c, &w, key, klen, kv_hash(key, klen));
	/* cls: a cursor left on a page another class took since (only the
	 * hand is kept off such pages) finds that class's items. */
	if (w.old == it && w.state == KV_LIVE && it->cls == cls) {
		to = kv_lru_next_seg(
			c, cls, it,
			__atomic_load_n(&it->iflags, __ATOMIC_RELAXED), juggle);
		if (to >= 0)
			kv_lru_move(it, cls, (u8)to);
	}
	kv_wr_end(c, &w);
	return to >= 0;
}

/* kv_lru_visit_own in @it's tenant's key space (kv_evict_as). */
int kv_lru_visit(struct kv_ctx *c, struct kv_item *it, int cls, int juggle)
{
	u32 t = __atomic_load_n(&it->tenant, __ATOMIC_RELAXED);
	struct kv_as as;
	int done;

	if (KV_LIKELY(t == c->tenant))
		return kv_lru_visit_own(c, it, cls, juggle);
	if (t > kv_area()->tenants)
		return 0;
	kv_as_enter(c, t, &as);
	done = kv_lru_visit_own(c, it, cls, juggle);
	kv_as_exit(c, &as);
	return done;
}

/*
 * The maintainer's demotion, while HOT is over its cap: a cursor of its
 * own (kv_lru.dpos) walks ahead of the hand, starting where the hand is
 * (the oldest items: HOT's tail), and moves the HOT items it meets (to
 * COLD, or WARM if active); the rest it passes. The hand itself does not
 * move: the items demoted stay where the evictor meets them next, in
 * the CLOCK's order, and the writers' look for dead items before a new
 * page (evict.c, kv_reap_dead) still starts at the oldest. When the hand
 * gets to the cursor it pushes it on (kv_lru_push), so the cursor never
 * falls behind into the newest items.
 */
static void kv_lru_demote(struct kv_ctx *c, int cls)
{
	u64 *cur = &kv_area()->lru[cls].dpos;
	int n;

	if (!__atomic_load_n(cur, __ATOMIC_RELAXED))
		__atomic_store_n(
			cur,
			__atomic_load_n(&kv_cls(cls)->hand, __ATOMIC_RELAXED),
			__ATOMIC_RELAXED);
	for (n = 0; n < KV_JUGGLE_MAX && kv_lru_over(cls, 0); n++) {
		struct kv_item *it =
			(struct kv_item *)kv_cursor_next(c, cls, cur);
		u8 f;

		if (!it)
			return;
		f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);
		if ((f & (KV_IT_LINKED | KV_IT_SEG)) !=
			    (KV_IT_LINKED | KV_IT_HOT) ||
		    !kv_item_live(c, it))
			continue;
		kv_lru_visit(c, it, cls, 1);
	}
}

/* The rescue sweep: active COLD items to WARM, over KV_RESCUE_MAX
 * linked items of class @cls (KV_RESCUE_SKIP times that in chunks at
 * most: the newest page's uncarved end is zero) from where the last
 * sweep stopped. */
static void kv_lru_rescue(struct kv_ctx *c, int cls)
{
	u64 *cur = &kv_area()->lru[cls].jpos;
	int n, seen = 0;

	for (n = 0; n < KV_RESCUE_MAX * KV_RESCUE_SKIP && seen < KV_RESCUE_MAX;
	     n++) {
		struct kv_item *it =
			(struct kv_item *)kv_cursor_next(c, cls, cur);
		u8 f;

		if (!it)
			return;
		f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);
		if (!(f & KV_IT_LINKED))
			continue;
		seen++;
		if ((f & (KV_IT_SEG | KV_IT_REF)) == (KV_IT_COLD | KV_IT_REF))
			kv_lru_visit(c, it, cls, 1);
	}
}

/*
 * memcached's LRU maintainer, one step (PLMC_OP_MAINTAIN, before the
 * page mover's): for every class with items, HOT's overflow to COLD or
 * WARM, then active COLD items to WARM; each class so juggled counts in
 * lru_maintainer_juggles. Context: no lock held; the owner's call (not
 * a tenant's: kv_op_slabs).
 */
void kv_lru_juggle(struct kv_ctx *c)
{
	u64 i, ncls = kv_area()->ncls;

	for (i = 0; i < ncls && i < KV_NCLASSES; i++) {
		if (__atomic_load_n(&kv_cls((int)i)->items, __ATOMIC_RELAXED) <=
		    0)
			continue;
		kv_lru_demote(c, (int)i);
		kv_lru_rescue(c, (int)i);
		__atomic_add_fetch(&kv_area()->juggles, 1, __ATOMIC_RELAXED);
	}
}
