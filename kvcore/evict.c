// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/evict.c - making room: CLOCK eviction within a size class.
 *
 * When a class has no free chunk and no page is left, the writer evicts
 * from that class. The hand (alloc.c) walks the class's chunks in page
 * order, oldest page first. A chunk that is not linked is skipped; a
 * live linked one with its reference bit set loses the bit and is
 * skipped (second chance); otherwise (expired, flushed, or not
 * referenced since the last pass) it is unlinked through the ordinary
 * write path (kv_wr_*) and retired, then kv_reclaim frees it once no
 * other slot can still read it.
 *
 * The reference bit: readers set it on a second hit, only when clear,
 * but not on the item linked last in the store (kv.h, kv_item_fetched:
 * in LRU order that hit moves nothing). It is memcached's ACTIVE. The
 * hand evicts only COLD items without it; what it does with the others
 * is the segmented LRU's (lru.c): a HOT item goes to COLD (or WARM if
 * active), a COLD active one to WARM, TEMP ones are passed while they
 * live. So a new item, HOT, is evicted at the hand's second visit at the
 * earliest, wherever its chunk lies on the hand's route.
 *
 * The evictor reads chunks it does not own: their words may be changing
 * (a chunk being rebuilt by another writer). Nothing read there is
 * trusted: the key is bounded and copied, and the item is unlinked only
 * if, under its stripe lock, the chain for that key really holds this
 * chunk. A chunk linked at that moment is a whole item (published items
 * do not change but for .next, .exptime and .iflags).
 *
 * Locks: the class lock inside kv_clock_next, then the stripe lock in
 * kv_wr_begin, never both. No client memory is touched.
 */
#include "kv.h"

#define KV_EVICT_TRIES 64 /* evict+reclaim rounds per allocation */
#define KV_EVICT_MOVES 64 /* segment moves per eviction before HOT goes */

/* Unlink @it (a chunk of class @cls) if it is still linked under its
 * key; @move: for a page move (move.c), counted as memcached's
 * slab_reassign_evictions_nomem, not as an eviction; KV_EV_DEAD: only
 * if it is dead (expired or flushed). Return: 1 if done. */
#define KV_EV_MOVE 1
#define KV_EV_DEAD 2

static int kv_evict_one(struct kv_ctx *c, struct kv_item *it, int cls,
			int how)
{
	int move = how & KV_EV_MOVE;
	char key[KV_KEY_MAX];
	u32 klen = __atomic_load_n(&it->klen, __ATOMIC_RELAXED);
	struct kv_wr w;
	int done = 0;

	/* A stale klen must not read past the chunk (or the store). */
	if (!klen || klen > KV_KEY_MAX ||
	    KV_ITEM_HDR + klen > kv_class_size(cls))
		return 0;
	/* The copy may be stale (the chunk rebuilt meanwhile): then the
	 * chain found does not hold @it, and nothing is done. */
	memcpy(key, it->data, klen);
	kv_wr_begin(c, &w, key, klen, kv_hash(key, klen));
	if (w.old == it && (!(how & KV_EV_DEAD) || w.state != KV_LIVE)) {
		kv_wr_link(c, &w, 0);
		done = 1;
	}
	/* Count before kv_wr_end retires it (state says why it went). */
	if (done && move)
		__atomic_add_fetch(w.state == KV_LIVE ? &kv_area()->mv_evictions
						      : &kv_area()->mv_dead,
				   1, __ATOMIC_RELAXED);
	else if (done && w.state == KV_LIVE) {
		struct kv_class *cl = kv_cls(cls);

		kv_evlog(c, it);
		kv_add(&c->st->evictions, 1);
		kv_cls_add(cls, &cl->evicted, 1);
		if (it->exptime)
			kv_cls_add(cls, &cl->evicted_nonzero, 1);
		__atomic_store_n(&cl->evicted_time, c->now - it->atime,
				 __ATOMIC_RELAXED);
		if (!(it->iflags & KV_IT_FETCHED)) {
			kv_add(&c->st->evicted_unfetched, 1);
			kv_cls_add(cls, &cl->evicted_unfetched, 1);
		}
		if (it->iflags & KV_IT_REF) /* read again as it went */
			kv_cls_add(cls, &kv_area()->lru[cls].evicted_active, 1);
		if (c->tenant)
			kv_tenant_count(c, __builtin_offsetof(struct kv_tenant,
							      evictions));
	}
	kv_wr_end(c, &w);
	return done;
}

/*
 * kv_evict_one in @it's tenant's key space (and by its flush rule): the
 * chunk's tenant byte is read like its key (maybe stale; a wrong one
 * finds no such item under the lock, and nothing happens).
 */
static int kv_evict_as(struct kv_ctx *c, struct kv_item *it, int cls, int how)
{
	u32 t = __atomic_load_n(&it->tenant, __ATOMIC_RELAXED);
	struct kv_as as;
	int done;

	if (KV_LIKELY(t == c->tenant))
		return kv_evict_one(c, it, cls, how);
	if (t > kv_area()->tenants)
		return 0;
	kv_as_enter(c, t, &as);
	done = kv_evict_one(c, it, cls, how);
	kv_as_exit(c, &as);
	return done;
}

int kv_evict_item(struct kv_ctx *c, struct kv_item *it, int cls, int move)
{
	return kv_evict_as(c, it, cls, move ? KV_EV_MOVE : 0);
}

/*
 * Make a free chunk in class @cls for a page move's rescue (move.c): the
 * hand looks at up to two pages' worth of chunks for a dead (expired or
 * flushed) linked item, unlinks it (counted in reclaimed, as the scan's
 * reap), and reclaims it. The moving page is off the class's list, so
 * the hand never lands there. Return: nonzero if the class has a free
 * chunk now. Context: no lock held.
 */
int kv_evict_dead(struct kv_ctx *c, int cls)
{
	struct kv_class *cl = kv_cls(cls);
	u64 n, max = 2 * (KV_PAGE_SIZE / kv_class_size(cls));

	for (n = 0; n < max; n++) {
		struct kv_item *it = (struct kv_item *)kv_clock_next(c, cls);

		if (!it)
			return 0;
		if (!(__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) &
		      KV_IT_LINKED) ||
		    it == c->pin ||
		    (it->tenant == c->tenant && kv_item_live(c, it)))
			continue;
		if (kv_evict_as(c, it, cls, KV_EV_DEAD)) {
			kv_cls_add(cls, &cl->reclaimed, 1);
			kv_add(&c->st->reclaimed, 1);
			break;
		}
	}
	kv_reclaim(c, 0);
	return __atomic_load_n(&cl->nfree, __ATOMIC_RELAXED) != 0;
}

/*
 * Evict one item of class @cls (expired ones first come as they come;
 * of the live ones only COLD unreferenced ones, lru.c moving the rest).
 * Context: no lock held; c->pin is not evicted.
 * Return: the chunk of the item unlinked (and retired), 0 if none found.
 */
u64 kv_evict(struct kv_ctx *c, int cls)
{
	/* Three revolutions: a WARM active item loses REF in the first,
	 * goes to COLD in the second (WARM over its cap), out in the
	 * third; a HOT one needs two. */
	u64 n, max = 3 * kv_class_chunks(cls) + 2, first = 0;
	int moved = 0;

	for (n = 0; n < max; n++) {
		struct kv_item *it = (struct kv_item *)kv_clock_next(c, cls);
		u8 f;

		if (!it)
			return 0;
		f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);
		if (!(f & KV_IT_LINKED) || it == c->pin)
			continue;
		/* A tenant evicts its own items only (docs/tenants.md); of
		 * another tenant's it takes only dead ones (expired, or
		 * flushed by that tenant). Without tenants both are 0. */
		if (__atomic_load_n(&it->tenant, __ATOMIC_RELAXED) !=
		    c->tenant) {
			if (kv_evict_as(c, it, cls, KV_EV_DEAD))
				return 1;
			continue;
		}
		/* Dead items go first; of the live ones, COLD unreferenced
		 * ones (the segments, lru.c: the others move on). A hint:
		 * the move decides again under the item's stripe lock. */
		if (kv_item_live(c, it) &&
		    ((f & KV_IT_SEG) != KV_IT_COLD || (f & KV_IT_REF))) {
			if ((f & KV_IT_SEG) == KV_IT_TEMP)
				continue;
			if (!kv_lru_visit(c, it, cls, 0))
				continue;
			if (!first &&
			    (f & (KV_IT_SEG | KV_IT_REF)) == KV_IT_HOT)
				first = (u64)it; /* the oldest moved to COLD */
			/* No COLD item near the hand (the maintainer step has
			 * not run): after KV_EVICT_MOVES moves the first
			 * unread HOT item this call moved to COLD goes, as
			 * memcached's allocator evicts the HOT tail it pulls
			 * into an empty COLD, and the hand goes back to it:
			 * the ones moved after it go next, in order. A call
			 * never sweeps a whole class. */
			if (++moved <= KV_EVICT_MOVES || !first)
				continue;
			it = (struct kv_item *)first;
			first = 0;
			kv_clock_back(c, cls, (u64)it);
		}
		if (kv_evict_item(c, it, cls, 0)) {
			kv_cls_add(cls, &kv_area()->lru[cls].direct, 1);
			return (u64)it;
		}
	}
	return 0;
}

/*
 * Amortized expiry (memcached's LRU crawler, done by writers instead of a
 * thread): every store looks at the next KV_SCAN_STEP buckets after this
 * slot's cursor (its own counter block: no shared write) and unlinks the
 * first dead item it finds there, through the normal write path. A table
 * of B buckets is covered every B / KV_SCAN_STEP stores of a slot.
 * Context: epoch announced, no lock held, no item referenced.
 */
#define KV_SCAN_STEP 2

/* Reap @it (linked: read complete) if it is dead; in its tenant's key
 * space and by its tenant's flush. Return: 1 if it was reaped. */
static int kv_scan_reap(struct kv_ctx *c, struct kv_item *it)
{
	char key[KV_KEY_MAX];
	u32 klen = it->klen;
	int cls = it->cls;

	if (kv_item_live(c, it) || !klen || (u64)cls >= kv_area()->ncls)
		return 0;
	memcpy(key, it->data, klen);
	kv_reap(c, key, klen, kv_hash(key, klen));
	kv_cls_add(cls, &kv_cls(cls)->crawler_reclaimed, 1);
	return 1;
}

static inline __attribute__((always_inline)) int
kv_scan_item(struct kv_ctx *c, struct kv_item *it)
{
	struct kv_as as;
	int done;

	/* The common case inline: the call's own key space, a live item. */
	if (KV_LIKELY(it->tenant == c->tenant))
		return kv_item_live(c, it) ? 0 : kv_scan_reap(c, it);
	if (it->tenant > kv_area()->tenants)
		return 0;
	kv_as_enter(c, it->tenant, &as);
	done = kv_scan_reap(c, it);
	kv_as_exit(c, &as);
	return done;
}

void kv_scan(struct kv_ctx *c)
{
	u64 b = c->st->scan_pos, i, s;

	kv_table_step(c); /* the table's growth (table.c) */
#ifdef KV_BENCH_NO_SCAN /* bench only: the scan's cost (docs/store.md) */
	return;
#endif
	kv_move_poll(c);
	kv_add(&c->st->scan_pos, KV_SCAN_STEP);
	/* The table readers walk first (growing: the old one). */
	s = kv_tstate();
	for (i = 0; i < KV_SCAN_STEP; i++) {
		/* Acquire, as kv_lookup: pairs with kv_wr_link()'s release
		 * of the link, so a linked item is read complete. */
		u64 p = __atomic_load_n(kv_tcur(c, s, b + i), __ATOMIC_ACQUIRE);

		for (; p; p = __atomic_load_n(&((struct kv_item *)p)->next,
					      __ATOMIC_ACQUIRE)) {
			if (kv_scan_item(c, (struct kv_item *)p))
				return;
		}
	}
}

/*
 * Before class @cls takes a new page: reap the dead items (expired,
 * flushed) among the next KV_REAP_LOOK chunks of its CLOCK hand (at most
 * a page's worth), so their chunks are used first. memcached's
 * maintainer reclaims expired items at its LRU tails before they cost a
 * page; pages are the store's, and one a class takes is no other
 * class's. The look stops at the first live item, the hand left on it
 * (its reference bit as it was). At most once a second per class (kv_area.reap_at): a look on
 * every allocation would cost up to KV_REAP_LOOK chunks each and turn
 * the hand faster than readers set reference bits.
 * Return: the number of items reaped (retired by this call).
 */
#define KV_REAP_LOOK 64

static int kv_reap_dead(struct kv_ctx *c, int cls)
{
	u64 n, max = KV_PAGE_SIZE / kv_class_size(cls);
	u32 *at = &kv_area()->reap_at[cls];
	int got = 0;

	if (__atomic_load_n(at, __ATOMIC_RELAXED) == (u32)c->now)
		return 0;
	__atomic_store_n(at, (u32)c->now, __ATOMIC_RELAXED);

	if (max > KV_REAP_LOOK)
		max = KV_REAP_LOOK;
	for (n = 0; n < max; n++) {
		struct kv_item *it = (struct kv_item *)kv_clock_next(c, cls);

		if (!it)
			break;
		if (!(__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) &
		      KV_IT_LINKED) ||
		    it == c->pin)
			continue;
		/* A hint only (the chunk may be changing): kv_evict_as
		 * decides under the stripe lock. The hand stays on a live
		 * item: passed here, it would lose its turn in the hand's
		 * LRU order (alloc.c) to items filled after it. */
		if (__atomic_load_n(&it->tenant, __ATOMIC_RELAXED) ==
			    c->tenant &&
		    kv_item_live(c, it)) {
			kv_clock_back(c, cls, (u64)it);
			break;
		}
		got += kv_evict_as(c, it, cls, KV_EV_DEAD);
	}
	return got;
}

/* Give a reader that holds back reclamation a moment to leave. */
static void kv_relax(void)
{
	int i;

	for (i = 0; i < 256; i++)
		__builtin_ia32_pause();
}

#define KV_IN_FLIGHT_MIN 2 /* chunks out before waiting beats evicting */
#define KV_IN_FLIGHT_WAIT 1 /* seconds a class waits before it evicts */

/*
 * Nonzero while class @k may go on waiting for memory about to come back
 * (chunks in flight, a page a move is freeing): KV_IN_FLIGHT_WAIT
 * seconds of the store's clock from the wait's start (cwait), which the
 * class's next allocation that succeeds ends (kv_class_got). A wait
 * that ended otherwise (the call gave up: NOMEM) leaves its start, and
 * the next shortage evicts at once.
 */
static int kv_class_wait(struct kv_ctx *c, int k)
{
	u32 *w = &kv_area()->cwait[k];
	u32 since = __atomic_load_n(w, __ATOMIC_RELAXED);

	if (!since) { /* the clock is unix time: never 0 */
		__atomic_store_n(w, (u32)c->now, __ATOMIC_RELAXED);
		return 1;
	}
	return (s32)((u32)c->now - since) <= KV_IN_FLIGHT_WAIT;
}

/*
 * Nonzero if an eighth of class @k's chunks (2 at least) are neither
 * linked nor free: they are retired items (this call's reclaim already
 * freed its own) on other slots' lists, which their owners free at the
 * end of their calls once the calls that may read them are over
 * (epoch.c). Evicting a live item then frees nothing sooner (its chunk
 * is retired too, behind the same readers) and loses it: the caller
 * waits instead (PLMC_E_AGAIN: libpl yields and retries), as memcached's
 * allocator never evicts for memory its other threads are about to free.
 * A list whose owner went idle frees nothing by waiting, so a class
 * waits KV_IN_FLIGHT_WAIT seconds at most (kv_class_wait) and then
 * evicts as before. Counters read without the lock: a hint.
 */
static int kv_class_in_flight(struct kv_ctx *c, int k)
{
	const struct kv_class *cl = kv_cls(k);
	u64 all = kv_class_chunks(k);
	s64 items = __atomic_load_n(&cl->items, __ATOMIC_RELAXED);
	u64 nfree = __atomic_load_n(&cl->nfree, __ATOMIC_RELAXED);
	u64 held = (u64)(items > 0 ? items : 0) + nfree;
	u64 out = all > held ? all - held : 0;

	if (out < KV_IN_FLIGHT_MIN || out <= all / 8)
		return 0;
	return kv_class_wait(c, k);
}

/*
 * Before class @k evicts: 1 if it has a free chunk now (the other calls
 * freed one: take it, evict none), -1 if its chunks are in flight
 * (kv_class_in_flight: wait), 0 if eviction it is. Asked before the page
 * mover's step and again after it, right before the eviction: between
 * the two the class may have changed entirely. test_move shared_append
 * lost its appended key so: a call found the key's next class without
 * a page (nothing in flight: all = 0), went to the mover, and meanwhile
 * another appender got that class a page and linked the key there; the
 * eviction then took the key, the class's only item, with the other
 * appenders' copies about to come back.
 */
static int kv_class_short(struct kv_ctx *c, int k)
{
	if (__atomic_load_n(&kv_cls(k)->nfree, __ATOMIC_RELAXED))
		return 1;
	return kv_class_in_flight(c, k) ? -1 : 0;
}

/*
 * Class @k gave a chunk: a wait for it (kv_class_in_flight) is over,
 * and the next one starts its clock afresh. Every way out of
 * kv_alloc_evict with a chunk ends the wait: one that came from this
 * slot's own retired list or straight from the class's free list left
 * the wait's start in place, and the class's next shortage, seconds
 * later, found its bound passed at once and evicted.
 */
static void kv_class_got(int k)
{
	u32 *w = &kv_area()->cwait[k];

	if (KV_UNLIKELY(__atomic_load_n(w, __ATOMIC_RELAXED)))
		__atomic_store_n(w, 0, __ATOMIC_RELAXED);
}

/*
 * kv_alloc, making room when the class is out of chunks: first what this
 * slot retired, then dead items of the class (kv_reap_dead), then a new
 * page; with none left, free what this slot retired, then take a page
 * from another class if the automove policy says so (move.c), else evict
 * from the class.
 * Return: the chunk, or NULL with *err = PLMC_E_NOMEM (nothing to evict)
 * or PLMC_E_AGAIN (evicted memory still readable by another slot's call:
 * the store cannot sleep, libpl yields and retries).
 */
void *kv_alloc_evict(struct kv_ctx *c, u64 size, int *cls, int *err)
{
	int k = kv_class_of(size), n, m = 0;
	void *p = k >= 0 ? kv_reuse(c, k) : 0;
	u64 ev = 0;

	if (p) { /* a chunk of this slot's own retired list */
		*cls = k;
		kv_class_got(k);
		return p;
	}
	if (k < 0)
		return kv_alloc(c, size, cls);
	/* What the class has; else, while a page is left to take, its dead
	 * items' chunks first (with none left, eviction takes dead items
	 * first anyway). */
	p = kv_alloc_in(c, size, cls, 0);
	if (!p && kv_pages_left(c) && kv_reap_dead(c, k) && kv_reclaim(c, 0))
		p = kv_alloc_in(c, size, cls, 0);
	if (p) {
		kv_class_got(k);
		return p;
	}
	for (n = 0; n < KV_EVICT_TRIES; n++) {
		p = kv_alloc(c, size, cls);
		if (p || k < 0) {
			if (p)
				kv_class_got(k);
			return p;
		}
		if (kv_reclaim(c, 1))
			continue;
		m = kv_class_short(c, k);
		if (!m) {
			m = kv_move_for(c, k, 0); /* a page from another class? */
			if (m > 0)
				continue;
			/* The move started for this class waits for readers:
			 * its page comes soon, wait for it as for chunks in
			 * flight (an eviction now would lose an item to no
			 * end). Else again: the move's step took time (a
			 * page walk), in which the class may have got back
			 * its chunks, or a page and the items of other
			 * calls. */
			m = m == -2 && kv_class_wait(c, k) ? -1
							   : kv_class_short(c, k);
		}
		if (m > 0)
			continue;
		if (m < 0)
			break; /* AGAIN: the class's chunks come back */
		ev = kv_evict(c, k);
		if (!ev) {
			m = kv_move_for(c, k, 1);
			if (m > 0)
				continue;
			/* Pages but nothing linked: every chunk is being
			 * built or retired by other calls, which free them
			 * soon (unless what is left is our own pin). A
			 * tenant finds only other tenants' items: NOMEM. */
			if (kv_class_chunks(k) && !c->pin && !kv_area()->tenants)
				m = -1;
			break;
		}
		if (!kv_reclaim(c, 0))
			kv_relax();
	}
	p = kv_alloc(c, size, cls);
	/* AGAIN: memory waits on another call (retired items, or a page
	 * move held by readers): libpl yields and retries. */
	*err = c->ks->rhead || m < 0 ? PLMC_E_AGAIN : PLMC_E_NOMEM;
	if (!p && *err == PLMC_E_NOMEM)
		kv_cls_add(k, &kv_cls(k)->outofmemory, 1);
	return p;
}
