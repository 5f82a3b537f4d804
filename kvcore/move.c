// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/move.c - pages move between size classes (memcached's slab
 * rebalancer and its global page pool).
 *
 * A class gives up a page in three steps, each under the class lock and
 * each a redo transaction (tx.c), so a death anywhere leaves a state the
 * next step resumes from (the state lives in the class, not the slot):
 *   1. start: one of the class's pages leaves its page list (and its
 *      carve pointer and CLOCK hand, if they were on it): the one with
 *      the fewest live items to rescue or evict (kv_move_pick; ties,
 *      and pages all alike, go to the oldest, memcached's choice); cl->mv
 *      names it with
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
 *      takes its first from a class with two or more, else as in the
 *      other modes (memcached gives every class a first page past its
 *      soft -m);
 *   1 (default): a class out of chunks with no page in the pool takes a
 *      page from another class when it has no page at all, when the
 *      other class has more than two pages' worth of free chunks (its
 *      live items on the page are rescued into them: memcached's mode
 *      1 rule), when the other class has taken no chunk for longer
 *      than twice the idle time of the items the needy class evicts
 *      and KV_MOVE_AGE_MIN seconds (memcached's age rule) or for
 *      KV_MOVE_IDLE seconds, or when any class has a page holding no
 *      live item (expired, flushed or freed: kv_move_worth), or when
 *      the class lent pages it may take back (Loans, below);
 *   2: on every allocation that would evict, a page is moved instead.
 * In modes 1 and 2 a class whose eviction finds nothing (all its chunks
 * being rebuilt or retired by other calls) also takes a page.
 * The victim is a class rich in free chunks, else the one whose last
 * chunk take is oldest, with at least two pages, no move of its own in
 * progress; a class's last page goes only when it holds no live item,
 * or for a class with no page when no class has two (kv_move_first:
 * a page with no live item, else none while a move runs, else the
 * fewest live items).
 * Freed pages go to the pool, where the next class that runs out takes
 * them.
 *
 * Loans: memory that deletes, expiry or flush_all freed goes to any
 * class that needs it at once; the class it came from may take it back
 * for KV_MOVE_LOAN seconds (kv_move_lend, kv_move_owed), as memcached's
 * class keeps its free chunks for its automove window.
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
#define KV_MOVE_LOAN	 30 /* seconds a class may take back what it gave */
#define KV_MOVE_LOOK	 8  /* pages a move weighs: the newest 7, the oldest */
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
 * Items a move of the page at @addr (chunks of @sz bytes) must rescue or
 * evict: the linked ones with @linked, else the live ones in the caller's
 * key space and flush rule (a dead one is only unlinked); counted up to
 * @stop. Read without locks, the chunks maybe changing: a hint.
 */
static u64 kv_page_cost(struct kv_ctx *c, u64 addr, u64 sz, int linked,
			u64 stop)
{
	u64 i, n = 0;

	for (i = 0; i + sz <= KV_PAGE_SIZE && n < stop; i += sz) {
		const struct kv_item *it = (const struct kv_item *)(addr + i);

		if ((__atomic_load_n(&it->iflags, __ATOMIC_RELAXED) &
		     KV_IT_LINKED) &&
		    (linked || kv_item_live(c, it)))
			n++;
	}
	return n;
}

#define KV_MOVE_RWALK 4096 /* retired items kv_move_held looks at */

/*
 * Mark in @held[] which of the @n pages @pg[] (index + 1) hold a chunk on
 * the retired list of another slot in use. Such a chunk comes back only
 * in its owner's next calls, and an owner that went idle (a plmcd worker
 * after a batch of deletes) holds it, and a move of its page, until it
 * calls again: the move waits, and its class can start no other. Lists
 * are short (a slot frees its own once it holds KV_RETIRE_BATCH items or
 * KV_RETIRE_BYTES: the newest unlinks); free slots' lists are adopted by
 * the move's own reclaim. Read without the owners' consent: every
 * address is checked to lie on a page before it is read, and the walk
 * is bounded; a hint.
 */
static void kv_move_held(struct kv_ctx *c, const u64 *pg, u64 n, u8 *held)
{
	u64 lo = c->geo->pages, hi = lo + c->geo->npages * KV_PAGE_SIZE;
	u64 i, j, left = KV_MOVE_RWALK;

	for (i = 0; i < PLMC_MAX_SLOTS && left; i++) {
		struct plmc_slot *s = kv_slot_rec(i);
		u64 p;

		if (i == c->slot || !__atomic_load_n(&s->state, __ATOMIC_RELAXED))
			continue;
		p = __atomic_load_n(&kv_slot(s)->rhead, __ATOMIC_RELAXED);
		for (; p >= lo && p + KV_ITEM_HDR <= hi && !(p & 7) && left;
		     left--) {
			u64 at = (p - lo) / KV_PAGE_SIZE + 1;

			for (j = 0; j < n; j++)
				held[j] |= pg[j] == at;
			p = kv_rl_next(__atomic_load_n(
				&((const struct kv_item *)p)->rlink,
				__ATOMIC_RELAXED));
		}
	}
}

/*
 * The page of class @v a move should take: of its newest KV_MOVE_LOOK - 1
 * pages and its oldest, the one with the fewest items to evict (those
 * of kv_page_cost's, each counted up to @stop, beyond the class's free
 * chunks, which rescues take); among those alike, one that no other
 * slot's retired list holds a chunk of (kv_move_held), then the one
 * with the fewest items to rescue or evict, then the older: among pages
 * alike the oldest, memcached's choice (its mover takes a class's first
 * page, "most likely to contain the oldest items"). A page that
 * deletes, expiry or flush_all emptied then moves for nothing where the
 * oldest would cost a page of rescues or evictions. Looks at
 * KV_MOVE_LOOK pages at most (a walk of a page costs a load per chunk).
 * Read without the class lock: a hint (kv_move_start takes the page
 * only if it is still the class's).
 * Return: its index + 1 (0: no page); *@cost its count.
 */
static u64 kv_move_pick(struct kv_ctx *c, int v, int linked, u64 stop,
			u64 *cost)
{
	const struct kv_class *cl = kv_cls(v);
	u64 sz = kv_class_size(v), pg[KV_MOVE_LOOK], best = 0, bc = stop;
	u64 n = 0, i, p = __atomic_load_n(&cl->pages, __ATOMIC_RELAXED);
	u8 held[KV_MOVE_LOOK] = {0}, bh = 1;
	u64 nf = __atomic_load_n(&cl->nfree, __ATOMIC_RELAXED), bl = ~0ULL;
	u64 room = __atomic_load_n(&cl->carve_end, __ATOMIC_RELAXED) -
		   __atomic_load_n(&cl->carve, __ATOMIC_RELAXED);

	/* A look for a free page (@stop 1) passes over the carve page while
	 * it has room and the class has older pages: the class is filling
	 * it (a page slabs reassign just gave is all room, and would go
	 * straight back to the pool: t/slabs_reassign.t). A class's only
	 * page is looked at, as any oldest one (test_tenant's pin). */
	if (stop == 1 && room >= sz && room <= KV_PAGE_SIZE && p &&
	    __atomic_load_n(&cl->npages, __ATOMIC_RELAXED) > 1)
		p = __atomic_load_n(&c->geo->pnext[p - 1], __ATOMIC_RELAXED);
	for (i = 0; p && p <= c->geo->npages && i < c->geo->npages; i++) {
		u64 nx = __atomic_load_n(&c->geo->pnext[p - 1],
					 __ATOMIC_RELAXED);

		if (n < KV_MOVE_LOOK - 1 || !nx)
			pg[n < KV_MOVE_LOOK ? n++ : n - 1] = p;
		p = nx;
	}
	if (n > 1)
		kv_move_held(c, pg, n, held);
	for (i = 0; i < n; i++) {
		u64 k = kv_page_cost(c, kv_mv_addr(c->geo, pg[i]), sz, linked,
				     stop);
		u64 loss = k > nf ? k - nf : 0;

		/* Fewer items the class's free chunks cannot take (evicted)
		 * first, whatever holds the page: a held page's move only
		 * waits, an eviction loses data (a dead page held by an
		 * appender's retired list beat by a page of 1,000 live items
		 * lost them all); then a page not held (its move ends now:
		 * t/slabs-reassign2.t's mover waits on an idle worker's
		 * deletes otherwise); then fewer items, then the older. */
		if (!best || loss < bl ||
		    (loss == bl && (held[i] < bh ||
				    (held[i] == bh && k <= bc)))) {
			best = pg[i];
			bc = k;
			bh = held[i];
			bl = loss;
		}
		if (stop == 1 && !bc && !bh)
			break; /* a dead page: all a look wants */
	}
	*cost = bc;
	return best;
}

/*
 * Loans. memcached keeps a class's free chunks in the class: its
 * automove gives a page back only after a window of 30 one-second
 * samples without an eviction or a new page, so a class whose items
 * were flushed or expired finds its memory there when it stores again.
 * Here such memory goes to whichever class needs it at once (the pool,
 * the dead-page rule); the class it came from may take as many pages
 * back, for KV_MOVE_LOAN seconds after it last gave one, when it is
 * short of chunks: a page of another class (kv_move_victim's) moves to
 * it instead of an eviction of its own items (kv_move_for). So a class
 * that flush_all emptied, then refilled while others took its memory,
 * keeps its new items as memcached's does (sizeshift.py's flush
 * shift), where it kept one page's worth before (885 of 10,000 1 KB
 * items in 16 MiB).
 * kv_area.lent[v]: pages class @v gave as free memory (a page with no
 * live item, or one of a class with chunks to spare) and has not taken
 * back (alloc.c: kv_move_repaid, for every page the class links);
 * lent_at[v]: store seconds of the last one given. Hints outside the
 * redo log, relaxed: a death or a race leaves them off by one.
 */
static void kv_move_lend(struct kv_ctx *c, int v)
{
	struct kv_area *a = kv_area();
	u32 at = __atomic_load_n(&a->lent_at[v], __ATOMIC_RELAXED);
	u32 n = __atomic_load_n(&a->lent[v], __ATOMIC_RELAXED);

	if ((u32)c->now - at > KV_MOVE_LOAN)
		n = 0; /* the loans before are over */
	__atomic_store_n(&a->lent[v], n + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&a->lent_at[v], (u32)c->now, __ATOMIC_RELAXED);
}

/* Nonzero if class @k may take a page back (a loan still open). */
static int kv_move_owed(const struct kv_ctx *c, int k)
{
	const struct kv_area *a = kv_area();

	return __atomic_load_n(&a->lent[k], __ATOMIC_RELAXED) &&
	       (u32)c->now - __atomic_load_n(&a->lent_at[k],
					      __ATOMIC_RELAXED) <=
		       KV_MOVE_LOAN;
}

/* Class @k linked a page (alloc.c, under its lock): one loan repaid. */
void kv_move_repaid(int k)
{
	u32 *n = &kv_area()->lent[k];
	u32 v = __atomic_load_n(n, __ATOMIC_RELAXED);

	if (KV_UNLIKELY(v))
		__atomic_store_n(n, v - 1, __ATOMIC_RELAXED);
}

static int kv_move_spare(u64 cls);

/*
 * Step 1: take a page of class @cls (kv_move_pick's, by live items, or
 * linked ones with @linked; else the oldest) off its list into a move,
 * bound for class @dst (index + 1; 0 = the pool). A page with no live
 * item, or one of a class with chunks to spare, is free memory the class
 * lends (kv_move_lend).
 * @most: the most items (as kv_move_pick counts them) the move may
 * rescue or evict; ~0 for any. A caller that found a free page (no
 * live item: @most 0) gets that page or none: the look is a hint, and
 * between it and the lock the page may fill, leave the list or be held
 * by a retired list while an older page of live items is there.
 * Return: PLMC_REASSIGN_OK, _BUSY (a move of @cls runs) or _NOSPARE
 * (fewer than @min pages, or none within @most).
 * Context: no lock held.
 */
static int kv_move_start(struct kv_ctx *c, int cls, u64 min, u64 dst,
			 int linked, u64 most)
{
	struct kv_class *cl = kv_cls(cls);
	u64 sz = kv_class_size(cls), prev = 0, pg, n, addr, carved, cost;
	u64 want = kv_move_pick(c, cls, linked, ~0ULL, &cost);
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
	pg = cl->pages; /* newest first: walk to @want, else the tail */
	for (n = 1; pg != want && n < cl->npages && c->geo->pnext[pg - 1];
	     n++) {
		prev = pg;
		pg = c->geo->pnext[pg - 1];
	}
	if (most != ~0ULL && (pg != want || cost > most)) {
		rc = PLMC_REASSIGN_NOSPARE; /* no move may evict: none */
		goto out;
	}
	addr = c->geo->pages + (pg - 1) * KV_PAGE_SIZE;
	carved = KV_PAGE_SIZE / sz;
	kv_tx_init(&t, c->ks);
	if (prev)
		kv_tx_set32(&t, &c->geo->pnext[prev - 1], c->geo->pnext[pg - 1]);
	else
		kv_tx_set(&t, &cl->pages, c->geo->pnext[pg - 1]);
	kv_tx_set(&t, &cl->npages, cl->npages - 1);
	if (cl->carve_end == addr + KV_PAGE_SIZE) {
		/* The carve page (the newest): the carve moves to the next
		 * newest, fully carved as every older page is (check.c), so
		 * the next take that needs room links a new page. */
		u64 nx = c->geo->pnext[pg - 1];
		u64 end = nx ? kv_mv_addr(c->geo, nx) + KV_PAGE_SIZE : 0;

		carved = (cl->carve - addr) / sz;
		kv_tx_set(&t, &cl->carve, end);
		kv_tx_set(&t, &cl->carve_end, end);
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
	if (pg == want && (!cost || kv_move_spare((u64)cls)))
		kv_move_lend(c, cls);
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
 * @min pages, with @lenders 0 no loan open) whose last chunk take is the
 * oldest; ties: the most pages.
 * Return: its index, or -1. Read without locks: a hint.
 */
static int kv_move_victim(const struct kv_ctx *c, int k, u64 min,
			  int lenders)
{
	struct kv_area *a = kv_area();
	u64 best_t = ~0ULL, best_n = 0, i;
	int v = -1;

	for (i = 0; i < a->ncls; i++) {
		struct kv_class *cl = &a->cls[i];
		u64 n = __atomic_load_n(&cl->npages, __ATOMIC_RELAXED);
		u64 t = __atomic_load_n(&cl->last_take, __ATOMIC_RELAXED);

		if ((int)i == k || n < min || !n ||
		    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED) ||
		    (!lenders && kv_move_owed(c, (int)i)))
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

/*
 * Nonzero if one of the pages a move of class @v weighs (kv_move_pick)
 * holds no item that counts: with @linked, no linked item at all (a move
 * of it evicts nobody, whoever's items the class holds); else no live
 * item (in the caller's key space and flush rule: a free move). A page
 * of live items costs one chunk's look. Read without its lock: a hint.
 */
static int kv_move_page_dead_as(struct kv_ctx *c, int v, int linked)
{
	u64 cost;

	return kv_move_pick(c, v, linked, 1, &cost) && !cost;
}

static int kv_move_page_dead(struct kv_ctx *c, int v)
{
	return kv_move_page_dead_as(c, v, 0);
}

/*
 * Mode 1, class @k (with pages) short of chunks: the class whose page is
 * worth more to @k than an eviction in @k, or -1. @v (kv_move_victim's,
 * -1: none with two pages) if it has chunks to spare, or its newest item
 * is older (it has taken no chunk since) than twice the idle time of
 * the items @k last evicted and KV_MOVE_AGE_MIN seconds (memcached's age
 * rule, with the store's second clock: a class that stores every second
 * is never a donor this way; memcached decides over a window of
 * samples, so a class that paused for a second is not one either:
 * t/slabs_reassign.t, slowed by TLS, saw its big class give pages to
 * the small one before that one had evicted), or KV_MOVE_IDLE. Else
 * any class with a page that holds no live item (kv_move_page_dead):
 * expired or flushed memory is free, whichever class holds it and
 * however recently that class stored (the age rule's donor alone was
 * looked at before, so a class busy storing kept its dead pages), its
 * last page included (*@min = 1), and only that page (*@most = 0:
 * kv_move_start). That look walks pages: after one that
 * found none, not again within the second.
 */
static int kv_move_worth(struct kv_ctx *c, int k, int v, u64 *min,
			 u64 *most)
{
	struct kv_class *kc = kv_cls(k);
	u64 age = __atomic_load_n(&kc->evicted_time, __ATOMIC_RELAXED), i;

	if (v >= 0) {
		u64 t = __atomic_load_n(&kv_cls(v)->last_take,
					__ATOMIC_RELAXED);
		u64 idle = c->now > t ? c->now - t : 0;

		if (idle >= KV_MOVE_IDLE ||
		    (idle >= KV_MOVE_AGE_MIN && idle > 2 * age + 1) ||
		    kv_move_spare((u64)v))
			return v;
	}
	if (__atomic_load_n(&kc->mv_tried, __ATOMIC_RELAXED) == c->now)
		return -1; /* found live items this second: evict instead */
	for (i = 0; i < kv_area()->ncls; i++) {
		const struct kv_class *cl = kv_cls((int)i);

		if ((int)i == k ||
		    !__atomic_load_n(&cl->npages, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
			continue;
		if (kv_move_page_dead(c, (int)i)) {
			*min = 1;
			*most = 0; /* that page or none (kv_move_start) */
			return (int)i;
		}
	}
	__atomic_store_n(&kc->mv_tried, c->now, __ATOMIC_RELAXED);
	return -1;
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
 * (not @k, no move running) with a page holding no linked item (its
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
		if (kv_move_start(c, (int)i, 1, 0, 1,
				  kv_move_spare(i) ? ~0ULL : 0) !=
		    PLMC_REASSIGN_OK)
			continue;
		return kv_move_step(c, (int)i) > 0 ? 1 : -1;
	}
	/* Nothing to give: evict (own items only) until a second passes. */
	__atomic_store_n(&kc->mv_tried, c->now, __ATOMIC_RELAXED);
	return r;
}

/*
 * Class @k has no page, no class has two and none is left: the class
 * whose page a first page for @k takes. A page with no live item if a
 * class has one (*@most 0: a move that evicts nobody); else none while
 * a move runs (@r < 0: its page comes, libpl retries); else the page
 * with the fewest live items of all (*@most ~0: they are evicted).
 * memcached's first page past -m evicts nobody; this rule evicted the
 * idlest class's page before, 1,000 live items in a 64 MiB store whose
 * pages a growing appended key had spread over its classes, while other
 * classes' pages held nothing live (test_move's first_free). A page walk
 * per class, each stopped at the best so far; only on this path.
 * Return: the class, or -1.
 */
static int kv_move_first(struct kv_ctx *c, int k, int r, u64 *most)
{
	u64 i, best = ~0ULL, cost;
	int v = -1;

	for (i = 0; i < kv_area()->ncls && best; i++) {
		const struct kv_class *cl = kv_cls((int)i);

		if ((int)i == k ||
		    !__atomic_load_n(&cl->npages, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
			continue;
		if (kv_move_pick(c, (int)i, 0, best, &cost) &&
		    (v < 0 || cost < best)) {
			v = (int)i;
			best = cost;
		}
	}
	if (v >= 0 && best && r < 0)
		return -1;
	*most = best ? ~0ULL : 0;
	return v;
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
 * Return: 1 if a page reached the pool (allocate again), -2 if the move
 * this call started for @k waits for readers (the page comes soon), -1
 * if another move waits, 0 if no page will come (evict).
 * Context: no lock held.
 */
int kv_move_for(struct kv_ctx *c, int k, int starved)
{
	int mode = kv_automove(), r = kv_move_steps(c), v;
	u64 np, min = 2, most = ~0ULL;

	if (r > 0)
		return r;
	np = __atomic_load_n(&kv_cls(k)->npages, __ATOMIC_RELAXED);
	/* Mode 0 moves nothing on its own, but for a class without a page:
	 * memcached gives every class its first page even past -m (its
	 * limit is soft); a store's size is not, so that page comes from a
	 * class with two or more, as a reassign would take it, else as in
	 * the other modes (below). Not with tenants: there mode 0 means no
	 * move that evicts (tenant.c). */
	if (!mode && (np || kv_area()->tenants))
		return kv_move_unpin_on() ? kv_move_unpin(c, k, r) : r;
	v = kv_move_victim(c, k, 2, 1);
	/* A first page takes a class's last one only when no class has
	 * two: a store with as many pages as classes in use (docs/store.md,
	 * "Small stores"); memcached's first page past -m takes nobody's.
	 * In every mode, 0 too: refusing every set of a size for good is
	 * worse than evicting a class's few items. */
	if (v < 0 && !np) {
		v = kv_move_first(c, k, r, &most);
		min = 1;
		if (v < 0)
			return r;
	}
	/* Mode 1: a page moves if this class lent pages it may take back
	 * (kv_move_owed), from a class with no loan open (two lenders
	 * would take pages back and forth), else if it is worth more than
	 * an eviction here. */
	if (mode == 1 && np && !starved) {
		int w = kv_move_owed(c, k) ? kv_move_victim(c, k, 2, 0) : -1;

		v = w >= 0 ? w : kv_move_worth(c, k, v, &min, &most);
	}
	if (v < 0 || kv_move_start(c, v, min, 0, 0, most) != PLMC_REASSIGN_OK)
		return r;
	return kv_move_step(c, v) > 0 ? 1 : -2;
}

/*
 * memcached's automove 1, without its thread: once the store has no
 * untouched page and the pool is empty, a class with more than two
 * pages' worth of free chunks (expired, flushed or deleted items the
 * scan and the readers reclaimed) gives a page to the pool (the cheapest),
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
	if (kv_move_start(c, (int)k, 2, 0, 0, ~0ULL) == PLMC_REASSIGN_OK)
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
	s = src == -1 ? kv_move_victim(c, (int)dst - 1, 2, 1) : (int)src - 1;
	if (s < 0)
		return PLMC_REASSIGN_NOSPARE;
	rc = kv_move_start(c, s, 2, dst, 0, ~0ULL);
	if (rc == PLMC_REASSIGN_OK)
		kv_move_step(c, s);
	return rc;
}

/*
 * Class @k's page to give back now (memcached's background mover): the
 * class has more than two pages' worth of free chunks and two pages or
 * more (the moving page's live items are rescued into them), or one of
 * its pages holds no live item (expired, flushed: a move that evicts
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
 * automove does whether or not memory ran out: a class's cheapest page
 * (kv_move_pick) when the class has pages' worth of free chunks to
 * spare, or when a page holds only dead items; at most @max pages a
 * call. The writers'
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

			/* w 1: a dead page, so a move that evicts none */
			if (!w || kv_move_start(c, (int)i, (u64)w, 0, 0,
						w == 1 ? 0 : ~0ULL) !=
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
