// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/move.c - pages move between size classes (memcached's slab
 * rebalancer and its global page pool).
 *
 * A class gives up a page in three steps, each under the class lock and
 * each a redo transaction (tx.c), so a death anywhere leaves a state the
 * next step resumes from (the state lives in the class, not the slot):
 *   1. start: the class's oldest page leaves its page list (and its carve
 *      pointer and CLOCK hand, if they were on it); cl->mv names it with
 *      the number of chunks carved from it, cl->mv_got = 0. From then on
 *      no chunk of it is handed out again: the allocator takes the
 *      page's free chunks off the free list into the move (kv_move_skim)
 *      and kv_free puts freed ones into it (kv_move_take) instead of the
 *      free list; each counts in mv_got.
 *   2. drain (no lock): every chunk of the page still linked is copied
 *      into a free chunk of the class if it has one (memcached's rescue,
 *      kv_move_rescue) or else unlinked (kv_evict_item), both through the
 *      ordinary write path (stripe lock, redo link, retire); then this
 *      slot's retired items are reclaimed once no other call can read
 *      them (epoch.c): that frees them, into the move. Items another
 *      call is still building (allocated before the start) get linked
 *      later: the next step unlinks them.
 *   3. finish: when mv_got equals the carved count, every chunk is back
 *      and none is reachable (a free chunk passed its grace period before
 *      it was freed; a retired one is freed only after it). The page is
 *      zeroed (a death halfway: the next step zeroes it again), handed to
 *      this slot's spare (mv = 0 in the same transaction), then pushed on
 *      the global pool under page_lock. kv_page_take takes pool pages
 *      before untouched ones.
 * Readers never wait: they never look at cl->mv, and a reader standing
 * on an item of the page keeps it from being freed (and so the page from
 * being zeroed) through the epoch, as for any unlinked item. A step that
 * finds the page still in use returns and a later one (any slot's) goes
 * on: moves in progress are stepped by the allocator when it runs out,
 * and by the write-path scan; the page walk (step 2's unlinks) runs at
 * most once a second per move after the first.
 *
 * Policy (kv_move_for, memcached's slab_automove modes; and in modes 1
 * and 2 kv_move_giveback, memcached's background rule, from the scan):
 *   0: only plmc_slabs_reassign starts moves, and a class with no page
 *      takes its first from a class with two or more (memcached gives
 *      every class a first page past its soft -m);
 *   1 (default): a class out of chunks with no page in the pool takes a
 *      page from another class when it has no page at all, when the
 *      other class has more than two pages' worth of free chunks (its
 *      live items on the page are rescued into them: memcached's mode
 *      1 rule), when the other class has taken no chunk for longer
 *      than twice the idle time of the items the needy class evicts
 *      and KV_MOVE_AGE_MIN seconds (memcached's age rule) or for
 *      KV_MOVE_IDLE seconds, or when that
 *      class's oldest page holds no live item (expired, flushed or
 *      empty: looked at most once a second per class);
 *   2: on every allocation that would evict, a page is moved instead.
 * In modes 1 and 2 a class whose eviction finds nothing (all its chunks
 * being rebuilt or retired by other calls) also takes a page.
 * The victim is a class rich in free chunks, else the one whose last
 * chunk take is oldest, with at least two pages (one, when the needing
 * class has none), no move of its own in progress. Freed pages go to
 * the pool, where the next class that runs out takes them.
 *
 * Invariant (what makes the finish safe): a chunk of the page counts in
 * mv_got at most once, and once counted it is on no free list and owned
 * by nobody. The free list is the only way a freed chunk is used again,
 * and the finish empties it of the page's chunks (kv_move_filter) under
 * the same lock hold that compares mv_got with the carved count; the
 * skim and kv_free's diversion only save that walk work (and the skim
 * keeps a rescue's chunk off the page).
 *
 * Locks: one at a time, as everywhere (the class lock, a stripe lock in
 * kv_evict_item, page_lock in kv_pool_put).
 */
#include "kv.h"

#define KV_MOVE_IDLE	 30 /* seconds without a chunk take: a donor */
#define KV_MOVE_AGE_MIN	 5  /* ... by the age rule, at least this long */
#define KV_MV_PG(mv)	 ((mv) & 0xffffffffULL) /* page index + 1 */
#define KV_MV_CARVED(mv) ((mv) >> 32)

static u64 kv_mv_addr(const struct kv_geo *g, u64 mv)
{
	return g->pages + (KV_MV_PG(mv) - 1) * KV_PAGE_SIZE;
}

static void kv_mv_count(u64 *ctr)
{
	__atomic_add_fetch(ctr, 1, __ATOMIC_RELAXED);
}

/* Nonzero if chunk @p lies on the page @cl is giving up.
 * Context: @cl's lock held. */
int kv_move_owns(const struct kv_class *cl, u64 p, const struct kv_geo *g)
{
	u64 mv = cl->mv;

	return KV_UNLIKELY(mv) && p - kv_mv_addr(g, mv) < KV_PAGE_SIZE;
}

/* Log one more chunk of the moving page as taken back.
 * Context: @cl's lock held, the chunk unreachable. */
void kv_move_take(struct kv_tx *t, struct kv_class *cl)
{
	kv_tx_set(t, &cl->mv_got, cl->mv_got + 1);
}

/* Take the moving page's chunk *@link (on @cl's free list) into the
 * move: one transaction. Context: @cl's lock held. */
static void kv_move_unfree(struct kv_ctx *c, struct kv_class *cl, u64 *link)
{
	u64 p = *link;
	struct kv_tx t;

	kv_tx_init(&t, c->ks);
	kv_tx_set(&t, link, *(u64 *)p);
	kv_tx_set(&t, &cl->nfree, cl->nfree - 1);
	kv_move_take(&t, cl);
	kv_tx_commit(c, &t, PLMC_CRASH_MOVE_TAKE_TX);
	kv_mv_count(&kv_area()->mv_inline);
}

/* Before a take from the free list: its head must not be on the moving
 * page. Context: @cl's lock held. */
void kv_move_skim(struct kv_ctx *c, struct kv_class *cl)
{
	while (KV_UNLIKELY(cl->mv) && cl->free &&
	       kv_move_owns(cl, cl->free, c->geo))
		kv_move_unfree(c, cl, &cl->free);
}

/* Every free chunk of the moving page off the free list.
 * Context: @cl's lock held. */
static void kv_move_filter(struct kv_ctx *c, struct kv_class *cl)
{
	u64 *link = &cl->free, n = cl->nfree + 1;

	while (*link && n--) { /* n: a broken list cannot hold us */
		if (kv_move_owns(cl, *link, c->geo))
			kv_move_unfree(c, cl, link);
		else
			link = (u64 *)*link;
	}
}

/* Push this slot's spare page (zeroed) on the global pool. */
void kv_pool_put(struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	u64 p = c->ks->spare, pg;
	struct kv_tx t;

	if (!p)
		return;
	pg = (p - c->geo->pages) / KV_PAGE_SIZE;
	kv_lock(c, &a->page_lock);
	kv_tx_init(&t, c->ks);
	kv_tx_set32(&t, &c->geo->pnext[pg], (u32)a->pool);
	kv_tx_set(&t, &a->pool, pg + 1);
	kv_tx_set(&t, &a->npool, a->npool + 1);
	kv_tx_set(&t, &c->ks->spare, 0);
	kv_tx_commit(c, &t, PLMC_CRASH_POOL_TX);
	kv_unlock(c, &a->page_lock);
}

/*
 * Step 1: take class @cls's oldest page off its list into a move, bound
 * for class @dst (index + 1; 0 = the pool).
 * Return: PLMC_REASSIGN_OK, _BUSY (a move of @cls runs) or _NOSPARE
 * (fewer than @min pages). Context: no lock held.
 */
static int kv_move_start(struct kv_ctx *c, int cls, u64 min, u64 dst)
{
	struct kv_class *cl = kv_cls(cls);
	u64 sz = kv_class_size(cls), prev = 0, pg, n, addr, carved;
	struct kv_tx t;
	int rc = PLMC_REASSIGN_OK;

	kv_lock(c, &cl->lock);
	if (cl->mv) {
		rc = PLMC_REASSIGN_BUSY;
		goto out;
	}
	if (!cl->npages || cl->npages < min) {
		rc = PLMC_REASSIGN_NOSPARE;
		goto out;
	}
	pg = cl->pages; /* newest first: walk to the tail */
	for (n = 1; n < cl->npages && c->geo->pnext[pg - 1]; n++) {
		prev = pg;
		pg = c->geo->pnext[pg - 1];
	}
	addr = c->geo->pages + (pg - 1) * KV_PAGE_SIZE;
	carved = KV_PAGE_SIZE / sz;
	kv_tx_init(&t, c->ks);
	if (prev)
		kv_tx_set32(&t, &c->geo->pnext[prev - 1], c->geo->pnext[pg - 1]);
	else
		kv_tx_set(&t, &cl->pages, c->geo->pnext[pg - 1]);
	kv_tx_set(&t, &cl->npages, cl->npages - 1);
	if (cl->carve_end == addr + KV_PAGE_SIZE) { /* the carve page */
		carved = (cl->carve - addr) / sz;
		kv_tx_set(&t, &cl->carve, 0);
		kv_tx_set(&t, &cl->carve_end, 0);
	}
	if (cl->hand - addr < KV_PAGE_SIZE)
		kv_tx_set(&t, &cl->hand, 0);
	kv_tx_set(&t, &cl->mv, pg | carved << 32);
	kv_tx_set(&t, &cl->mv_got, 0);
	kv_tx_commit(c, &t, PLMC_CRASH_MOVE_START_TX);
	/* A hint outside the log (every start sets it, so none is stale):
	 * a death before the finish reads it leaves the page in the pool. */
	__atomic_store_n(&cl->mv_dst, dst, __ATOMIC_RELAXED);
	__atomic_store_n(&cl->mv_poll, 0, __ATOMIC_RELAXED); /* walk now */
	/* A hint for the write-path scan; kv_move_poll corrects it. */
	kv_mv_count(&kv_area()->mv_running);
out:
	kv_unlock(c, &cl->lock);
	return rc;
}

/* Step 3, all chunks back: zero the page, close the move into this
 * slot's spare. Context: @cl's lock held; this slot has no spare. */
static void kv_move_finish(struct kv_ctx *c, struct kv_class *cl, u64 addr)
{
	struct kv_tx t;

	memset((void *)addr, 0, KV_PAGE_SIZE / 2);
	kv_crash(c, PLMC_CRASH_MOVE_ZERO);
	memset((void *)(addr + KV_PAGE_SIZE / 2), 0, KV_PAGE_SIZE / 2);
	kv_tx_init(&t, c->ks);
	kv_tx_set(&t, &cl->mv, 0);
	kv_tx_set(&t, &cl->mv_got, 0);
	kv_tx_set(&t, &c->ks->spare, addr);
	kv_tx_commit(c, &t, PLMC_CRASH_MOVE_DONE_TX);
}

/*
 * memcached's rescue: copy linked item @it off the moving page into a
 * free chunk of its class (never one on that page: kv_move_skim), and
 * put the copy in its place, CAS and times kept, through the ordinary
 * write path. The copy is made under the stripe lock, where the only
 * field that changes in a published item besides the link (the expiry:
 * touch) cannot change. Return: 1 if rescued; 0 if no free chunk was to
 * be had without evicting, or @it left its chain meanwhile.
 * Context: no lock held.
 */
static int kv_move_rescue(struct kv_ctx *c, struct kv_item *it, int cls)
{
	u32 klen = __atomic_load_n(&it->klen, __ATOMIC_RELAXED);
	u64 size = KV_ITEM_HDR + klen + kv_it_vlen_racy(it);
	char key[KV_KEY_MAX];
	struct kv_item *nw;
	struct kv_wr w;
	int k, done = 0;

	if (!klen || klen > KV_KEY_MAX || size > kv_class_size(cls))
		return 0; /* a stale read: leave it to the eviction */
	/* Only into chunks the class has: a fresh page would undo the
	 * move (and could be the very page the move is for). None free:
	 * a dead item elsewhere in the class gives its chunk (expired
	 * items wait for the scan or a read to be unlinked; memcached's
	 * crawler has usually freed them by the time its mover runs). */
	if (c->ks->spare)
		return 0;
	if (!__atomic_load_n(&kv_cls(cls)->nfree, __ATOMIC_RELAXED) &&
	    !kv_evict_dead(c, cls))
		return 0;
	nw = kv_alloc_in(c, size, &k, 0);
	if (!nw)
		return 0;
	nw->cls = (u8)k; /* kv_free_own frees it there if not used */
	memcpy(key, it->data, klen);
	kv_wr_begin(c, &w, key, klen, kv_hash(key, klen));
	/* Under the lock a linked @it is whole and fixed: its size now,
	 * not the one read before (the chunk may have held an item still
	 * being built then). */
	size = KV_ITEM_HDR + it->klen + it->vlen;
	if (w.old == it && k == cls && size <= kv_class_size(cls)) {
		/* The copy keeps the item's LRU segment and bits (lru.c):
		 * its place on the hand's route is new, its age is not. */
		memcpy(nw, it, size);
		w.keep_cas = 1;
		kv_wr_link(c, &w, nw);
		done = 1;
	}
	kv_wr_end(c, &w);
	if (done)
		kv_add(&c->st->total_items, -1); /* not a new item */
	else
		kv_free_own(c, nw);
	return done;
}

/* Rescue or evict @it off a moving page, in its tenant's key space and
 * by its tenant's flush rule (a stale tenant byte finds nothing). */
static void kv_move_item(struct kv_ctx *c, struct kv_item *it, int cls)
{
	u32 t = __atomic_load_n(&it->tenant, __ATOMIC_RELAXED);
	struct kv_as as;

	if (t > kv_area()->tenants)
		return;
	kv_as_enter(c, t, &as);
	if (kv_item_live(c, it) && kv_move_rescue(c, it, cls))
		kv_mv_count(&kv_area()->mv_rescues);
	else
		kv_evict_item(c, it, cls, 1);
	kv_as_exit(c, &as);
}

/*
 * Steps 2 and 3 for class @cls's move.
 * Return: 1 if its page reached the pool, 0 if it is still in use, -1
 * if no move of @cls runs. Context: no lock held.
 */
static int kv_move_step(struct kv_ctx *c, int cls)
{
	struct kv_class *cl = kv_cls(cls);
	u64 mv = __atomic_load_n(&cl->mv, __ATOMIC_RELAXED), sz, addr, i;
	int done = 0;

	if (!mv)
		return -1;
	sz = kv_class_size(cls);
	addr = kv_mv_addr(c->geo, mv);
	/* The walk costs a load per chunk (16384 for the smallest class):
	 * once per second per move is enough for the items linked late
	 * (built from chunks taken before the start). */
	if (__atomic_load_n(&cl->mv_poll, __ATOMIC_RELAXED) == c->now)
		goto take;
	__atomic_store_n(&cl->mv_poll, c->now, __ATOMIC_RELAXED);
	for (i = 0; i < KV_MV_CARVED(mv); i++) {
		struct kv_item *it = (struct kv_item *)(addr + i * sz);

		if (!(__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) &
		      KV_IT_LINKED) ||
		    it == c->pin)
			continue;
		kv_move_item(c, it, cls);
	}
take:
	kv_reclaim(c, 1);
	kv_pool_put(c); /* kv_move_finish needs the spare free */
	kv_lock(c, &cl->lock);
	if (cl->mv == mv) {
		kv_move_filter(c, cl);
		if (cl->mv_got >= KV_MV_CARVED(mv)) {
			kv_move_finish(c, cl, addr);
			done = 1;
		} else {
			kv_mv_count(&kv_area()->mv_busy);
		}
	}
	kv_unlock(c, &cl->lock);
	if (done) {
		u64 dst = __atomic_exchange_n(&cl->mv_dst, 0, __ATOMIC_RELAXED);

		kv_pool_put(c);
		kv_mv_count(&kv_area()->slabs_moved);
		__atomic_sub_fetch(&kv_area()->mv_running, 1, __ATOMIC_RELAXED);
		if (dst && dst <= kv_area()->ncls) /* slabs reassign's DST */
			kv_page_give(c, (int)dst - 1);
	}
	return done;
}

/* The slab_automove mode (0..2). */
int kv_automove(void)
{
	u64 m = __atomic_load_n(&kv_area()->automove, __ATOMIC_RELAXED);

	/* Tenants: pages move only when the owner asks (docs/tenants.md):
	 * a move started for one tenant's class may evict another's. */
	if (!m)
		return kv_area()->tenants ? 0 : 1;
	return (int)(m - 1);
}

/* Nonzero if class @cls has more than two pages' worth of free chunks
 * (memcached's mode 1 gives such a page back): its page's live items
 * can be rescued into them instead of evicted. A hint. */
static int kv_move_spare(u64 cls)
{
	u64 nf = __atomic_load_n(&kv_cls((int)cls)->nfree, __ATOMIC_RELAXED);

	return nf > 2 * (KV_PAGE_SIZE / kv_class_size((int)cls));
}

/*
 * The donor for class @k: a class with more than two pages of free
 * chunks, else the class (not @k, no move running, at least
 * @min pages) whose last chunk take is the oldest; ties: the most pages.
 * Return: its index, or -1. Read without locks: a hint.
 */
static int kv_move_victim(int k, u64 min)
{
	struct kv_area *a = kv_area();
	u64 best_t = ~0ULL, best_n = 0, i;
	int v = -1;

	for (i = 0; i < a->ncls; i++) {
		struct kv_class *cl = &a->cls[i];
		u64 n = __atomic_load_n(&cl->npages, __ATOMIC_RELAXED);
		u64 t = __atomic_load_n(&cl->last_take, __ATOMIC_RELAXED);

		if ((int)i == k || n < min || !n ||
		    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
			continue;
		if (kv_move_spare(i)) /* memcached's mode 1 rule */
			t = 0;
		if (t < best_t || (t == best_t && n > best_n)) {
			best_t = t;
			best_n = n;
			v = (int)i;
		}
	}
	return v;
}

/* The address of class @v's oldest page (the one a move takes), or 0.
 * Read without its lock: a hint. */
static u64 kv_move_oldest(const struct kv_ctx *c, int v)
{
	struct kv_class *cl = kv_cls(v);
	u64 pg = __atomic_load_n(&cl->pages, __ATOMIC_RELAXED), n;

	for (n = 1; pg && pg <= c->geo->npages && n < c->geo->npages; n++) {
		u64 nx = __atomic_load_n(&c->geo->pnext[pg - 1],
					 __ATOMIC_RELAXED);

		if (!nx)
			break;
		pg = nx;
	}
	if (!pg || pg > c->geo->npages)
		return 0;
	return c->geo->pages + (pg - 1) * KV_PAGE_SIZE;
}

/*
 * Nonzero if class @v's oldest page holds no item that counts: with
 * @linked, no linked item at all (a move of it evicts nobody, whoever's
 * items the class holds); else no live item (in the caller's key space
 * and flush rule: a free move). Read without its lock: a hint; the
 * move itself re-checks nothing.
 */
static int kv_move_page_dead_as(struct kv_ctx *c, int v, int linked)
{
	u64 addr = kv_move_oldest(c, v), sz = kv_class_size(v), i;

	if (!addr)
		return 0;
	for (i = 0; i + sz <= KV_PAGE_SIZE; i += sz) {
		const struct kv_item *it = (const struct kv_item *)(addr + i);

		if ((__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) &
		     KV_IT_LINKED) &&
		    (linked || kv_item_live(c, it)))
			return 0;
	}
	return 1;
}

static int kv_move_page_dead(struct kv_ctx *c, int v)
{
	return kv_move_page_dead_as(c, v, 0);
}

/*
 * Mode 1: is a page of @v worth more to @k than an eviction in @k? Yes
 * if @v has chunks to spare, or its newest item is older (it has taken
 * no chunk since) than twice the idle time of the items @k last evicted
 * and KV_MOVE_AGE_MIN seconds (memcached's age rule, with the store's
 * second clock: a class that stores every second is never a donor this
 * way; memcached decides over a window of samples, so a class that
 * paused for a second is not one either: t/slabs_reassign.t, slowed by
 * TLS, saw its big class give pages to the small one before that one
 * had evicted), or KV_MOVE_IDLE, or its oldest page is dead.
 */
static int kv_move_worth(struct kv_ctx *c, int k, int v)
{
	struct kv_class *kc = kv_cls(k);
	u64 t = __atomic_load_n(&kv_cls(v)->last_take, __ATOMIC_RELAXED);
	u64 age = __atomic_load_n(&kc->evicted_time, __ATOMIC_RELAXED);
	u64 idle = c->now > t ? c->now - t : 0;

	if (idle >= KV_MOVE_IDLE ||
	    (idle >= KV_MOVE_AGE_MIN && idle > 2 * age + 1) ||
	    kv_move_spare((u64)v))
		return 1;
	if (__atomic_load_n(&kc->mv_tried, __ATOMIC_RELAXED) == c->now)
		return 0; /* found live items this second: evict instead */
	if (kv_move_page_dead(c, v))
		return 1;
	__atomic_store_n(&kc->mv_tried, c->now, __ATOMIC_RELAXED);
	return 0;
}

/* Nonzero in a store with tenants whose owner has not set slab_automove:
 * there, moves that evict nobody still run (kv_move_unpin). An owner
 * who sets 0 asks that no page ever move on its own. */
static int kv_move_unpin_on(void)
{
	return kv_area()->tenants &&
	       !__atomic_load_n(&kv_area()->automove, __ATOMIC_RELAXED);
}

/*
 * A store with tenants, automatic moves off (the default there): class
 * @k is out of chunks and no page is left. Pages a class holds beyond
 * what its live items need go back anyway, since moving them evicts
 * nobody (docs/tenants.md "Quota and eviction"): the donor is a class
 * (not @k, no move running) whose oldest page holds no linked item (its
 * items were deleted, or retired and reclaimed), or that has more than
 * two pages' worth of free chunks, so the page's few live items are
 * rescued into them (kv_move_rescue) rather than evicted. Looked for at
 * most once a second per needing class (a page walk per class).
 * Return: as kv_move_for; @r is what stepping the running moves gave.
 */
static int kv_move_unpin(struct kv_ctx *c, int k, int r)
{
	struct kv_class *kc = kv_cls(k);
	u64 i, n = kv_area()->ncls;

	if (__atomic_load_n(&kc->mv_tried, __ATOMIC_RELAXED) == c->now)
		return r;
	for (i = 0; i < n; i++) {
		struct kv_class *cl = kv_cls((int)i);

		if ((int)i == k || !__atomic_load_n(&cl->npages,
						     __ATOMIC_RELAXED) ||
		    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
			continue;
		if (!kv_move_spare(i) && !kv_move_page_dead_as(c, (int)i, 1))
			continue;
		if (kv_move_start(c, (int)i, 1, 0) != PLMC_REASSIGN_OK)
			continue;
		return kv_move_step(c, (int)i) > 0 ? 1 : -1;
	}
	/* Nothing to give: evict (own items only) until a second passes. */
	__atomic_store_n(&kc->mv_tried, c->now, __ATOMIC_RELAXED);
	return r;
}

/* Step every running move. Return: 1 if a page reached the pool, -1 if
 * one is still in use, 0 if none runs. */
static int kv_move_steps(struct kv_ctx *c)
{
	u64 i, n = kv_area()->ncls;
	int waiting = 0, r;

	for (i = 0; i < n; i++) {
		if (!__atomic_load_n(&kv_cls((int)i)->mv, __ATOMIC_RELAXED))
			continue;
		r = kv_move_step(c, (int)i);
		if (r > 0)
			return 1;
		waiting |= r == 0;
	}
	return waiting ? -1 : 0;
}

/*
 * Class @k is out of chunks and no page is left (the allocator's slow
 * path): finish running moves, or start one if the policy says so;
 * @starved: the class found nothing to evict (every chunk in flight in
 * other calls), so mode 1 moves a page too.
 * Return: 1 if a page reached the pool (allocate again), -1 if a move
 * waits for readers (retry later), 0 if no page will come (evict).
 * Context: no lock held.
 */
int kv_move_for(struct kv_ctx *c, int k, int starved)
{
	int mode = kv_automove(), r = kv_move_steps(c), v;
	u64 np, min;

	if (r > 0)
		return r;
	np = __atomic_load_n(&kv_cls(k)->npages, __ATOMIC_RELAXED);
	/* Mode 0 moves nothing on its own, but for a class without a page:
	 * memcached gives every class its first page even past -m (its
	 * limit is soft); a store's size is not, so that page comes from a
	 * class with two or more, as a reassign would take it. Not with
	 * tenants: there mode 0 means no move that evicts (tenant.c). */
	if (!mode && (np || kv_area()->tenants))
		return kv_move_unpin_on() ? kv_move_unpin(c, k, r) : r;
	min = np || !mode ? 2 : 1;
	v = kv_move_victim(k, min);
	if (v < 0 || (mode == 1 && np && !starved && !kv_move_worth(c, k, v)))
		return r;
	if (kv_move_start(c, v, min, 0) != PLMC_REASSIGN_OK)
		return r;
	return kv_move_step(c, v) > 0 ? 1 : -1;
}

/*
 * memcached's automove 1, without its thread: once the store has no
 * untouched page and the pool is empty, a class with more than two
 * pages' worth of free chunks (expired, flushed or deleted items the
 * scan and the readers reclaimed) gives its oldest page to the pool,
 * its live items rescued into those chunks. One class is looked at per
 * store, round robin on this slot's scan cursor: a few loads.
 */
static void kv_move_giveback(struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	struct kv_class *cl;
	u64 k;

	/* The store-wide test first: a store with pages to take (untouched,
	 * or in the pool, past the table's reserve) needs none given back. */
	if (KV_LIKELY(kv_pages_left(c)) || !kv_automove())
		return;
	k = (c->st->scan_pos >> 1) % a->ncls;
	cl = &a->cls[k];
	if (!kv_move_spare(k) ||
	    __atomic_load_n(&cl->npages, __ATOMIC_RELAXED) < 2 ||
	    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
		return;
	if (kv_move_start(c, (int)k, 2, 0) == PLMC_REASSIGN_OK)
		kv_move_step(c, (int)k);
}

/*
 * The write-path scan's share: give pages back (above), and step running
 * moves (a walk at most once a second per class), so a move started by
 * plmc_slabs_reassign ends even when no allocation runs out. Corrects
 * the mv_running hint when it finds none (a death between a start and
 * its count leaves it high).
 * Context: no lock held, no chunk owned, no item pinned.
 */
void kv_move_poll(struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	u64 hint, i;
	int any = 0;

	kv_move_giveback(c);
	hint = __atomic_load_n(&a->mv_running, __ATOMIC_RELAXED);
	if (KV_LIKELY(!hint))
		return;
	for (i = 0; i < a->ncls; i++) {
		struct kv_class *cl = &a->cls[i];

		if (!__atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
			continue;
		any = 1;
		if (__atomic_load_n(&cl->mv_poll, __ATOMIC_RELAXED) != c->now)
			kv_move_step(c, (int)i); /* sets mv_poll */
	}
	if (!any)
		__atomic_compare_exchange_n(&a->mv_running, &hint, 0, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Return: the number of classes with a move in progress. */
u64 kv_move_running(void)
{
	u64 i, n = 0;

	for (i = 0; i < kv_area()->ncls; i++)
		n += __atomic_load_n(&kv_cls((int)i)->mv, __ATOMIC_RELAXED) !=
		     0;
	return n;
}

/*
 * memcached's "slabs reassign SRC DST": classes in memcached's numbering
 * (1 = the smallest), SRC -1 = any, DST 0 = the global pool. The page
 * goes through the pool; with a DST, whoever finishes the move hands it
 * on to DST (kv_page_give) when DST's carve page is full, as memcached
 * gives it to DST directly (a DST with room leaves it in the pool, where
 * the next class that runs out takes it). The move keeps DST in mv_dst,
 * a hint outside the redo log (kv_move_start).
 * Return: PLMC_REASSIGN_*. Context: no lock held.
 */
long kv_reassign(struct kv_ctx *c, s64 src, u64 dst)
{
	s64 n = (s64)kv_area()->ncls;
	int s, rc;

	if (src != -1 && (src < 0 || src > n))
		return PLMC_REASSIGN_BADCLASS;
	if (dst > (u64)n)
		return PLMC_REASSIGN_BADCLASS;
	if (src == (s64)dst)
		return PLMC_REASSIGN_SAME;
	/* SRC 0 is the global pool, as in memcached: fewer than two pages
	 * there is NOSPARE (memcached's rule for any SRC); else its first
	 * page goes to DST (kv_page_give: it stays in the pool if DST has
	 * room). */
	if (!src) {
		if (__atomic_load_n(&kv_area()->npool, __ATOMIC_RELAXED) < 2)
			return PLMC_REASSIGN_NOSPARE;
		kv_page_give(c, (int)dst - 1);
		return PLMC_REASSIGN_OK;
	}
	s = src == -1 ? kv_move_victim((int)dst - 1, 2) : (int)src - 1;
	if (s < 0)
		return PLMC_REASSIGN_NOSPARE;
	rc = kv_move_start(c, s, 2, dst);
	if (rc == PLMC_REASSIGN_OK)
		kv_move_step(c, s);
	return rc;
}

/*
 * Class @k's page to give back now (memcached's background mover): the
 * class has more than two pages' worth of free chunks and two pages or
 * more (its oldest page's live items are rescued into them), or its
 * oldest page holds no live item (expired, flushed: a move that evicts
 * nobody). Read without locks: a hint.
 */
static int kv_maintain_wants(struct kv_ctx *c, int k)
{
	struct kv_class *cl = kv_cls(k);
	u64 n = __atomic_load_n(&cl->npages, __ATOMIC_RELAXED);

	if (!n || __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
		return 0;
	if (n >= 2 && kv_move_spare((u64)k))
		return 2;
	return kv_move_page_dead(c, k) ? 1 : 0;
}

/*
 * memcached's LRU maintainer and automove threads, one call's worth, for
 * a client with idle time to give (plmcd calls it once a second): step
 * running moves, then give pages back to the pool, as memcached's
 * automove does whether or not memory ran out: a class's oldest page
 * when the class has pages' worth of free chunks to spare, or when that
 * page holds only dead items; at most @max pages a call. The writers'
 * own giveback (kv_move_giveback) waits for an empty pool and moves a
 * page only when someone stores; this one fills the pool ahead of need,
 * so memory that deletes, expiry or flush_all freed is there for any
 * class at once.
 * In automove mode 0 it only steps running moves.
 * Return: the pages moved (>= 0). Context: no lock held.
 */
long kv_maintain(struct kv_ctx *c, u64 max)
{
	const struct kv_area *a = kv_area();
	long moved = 0;
	u64 i, rounds;

	if (kv_move_steps(c) > 0)
		moved++;
	if (!kv_automove())
		return moved;
	for (rounds = 0; rounds < max && (u64)moved < max; rounds++) {
		int any = 0;

		for (i = 0; i < a->ncls && (u64)moved < max; i++) {
			int w = kv_maintain_wants(c, (int)i);

			if (!w || kv_move_start(c, (int)i, (u64)w, 0) !=
					  PLMC_REASSIGN_OK)
				continue;
			any = 1;
			moved += kv_move_step(c, (int)i) > 0;
		}
		if (!any)
			break;
	}
	return moved;
}
