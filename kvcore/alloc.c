// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/alloc.c - store geometry and the item allocator.
 *
 * Geometry is a pure function of store_size (no init step): the kv area
 * header, then the bucket array, then 1 MiB pages up to the store's end.
 *
 * Size classes grow by the store's factor (default 1.25) from 64 B to
 * 1 MiB (8-byte aligned; kv_classes_init). Pages
 * come from a bump counter (pages_used, cmpxchg so it never passes the
 * end); a class carves its current page into chunks; freed chunks go on
 * the class's free list (linked through the chunk's first word). Each
 * class has its own lock; no other lock is held while taking it.
 *
 * Each class keeps its pages on a list (newest first, linked through
 * geo.pnext, one u32 per page after the bucket array); the CLOCK hand of
 * evict.c walks it from the oldest page up (kv_clock_next).
 *
 * Crash: every change is a redo transaction (tx.c) that also records
 * what the slot now owns (ks->chunk, ks->spare), so a death leaks
 * nothing: recover.c finishes the transaction, frees the lock, and
 * retires an owned chunk. Pages are taken under page_lock, never while a
 * class lock is held (one lock per slot at a time), into the slot's
 * spare, then given to the class under its lock.
 */
#include "kv.h"

#define KV_MC_FIRST 96 /* memcached's first chunk: 48-byte header + -n 48 */

/* cls_tab[i]: the smallest class holding (i + 1) * 8 bytes. Every
 * chunk size is a multiple of 8, so that is the class of every size in
 * (i * 8, (i + 1) * 8]. The last class (a page) holds them all. */
static void kv_cls_tab_init(struct kv_area *a, u64 ncls)
{
	u64 i, k = 0;

	for (i = 0; i < KV_CLS_TAB; i++) {
		while (k < ncls - 1 && a->csize[k] < (i + 1) * 8)
			k++;
		__atomic_store_n(&a->cls_tab[i], (u8)k, __ATOMIC_RELAXED);
	}
}

/*
 * The class sizes for the header's settings (memcached's -f and -n):
 * the smallest holds a 48-byte item header plus slab_min bytes; each
 * next is the last times the factor, truncated, then rounded up to 8
 * bytes (memcached's arithmetic; at least 8 more); the last is one page
 * (the largest item). Two sizes of memcached's own default ladder are
 * joined when the ladder passes them: its first chunk (96: 48-byte
 * header + its -n 48) and its largest (half a page, slab_chunk_max).
 * So from 96 up to half a page the classes are memcached 1.6's with the
 * same -f, and since an item here takes 11 to 15 bytes less than there
 * (48-byte header; memcached 48 + 8 CAS + 1 + 2, + 4 with flags), every
 * item lands in a chunk no larger than memcached's. With the defaults
 * (-n 16): 64, 80, 96, 120, 152, ... 394840, 524288, 655360, 819200, 1024000,
 * 1048576 (45 classes). A small factor stops at KV_NCLASSES - 1 and
 * leaves the rest to the page class, as memcached stops at its 63.
 *
 * Built into kv_area.csize by the first call that finds ctab differing
 * from the settings' key. Concurrent builders write the same values;
 * ctab is published last (release), read with acquire.
 */
void kv_classes_init(const struct plmc_store_hdr *h)
{
	struct kv_area *a = kv_area();
	u64 f = h->slab_factor ? h->slab_factor : PLMC_CFG_FACTOR_DEF;
	u64 m = h->slab_min ? h->slab_min : PLMC_CFG_MIN_DEF;
	u64 key = 1ULL << 63 | f << 32 | m, sz, n = 0;

	/* Acquire: pairs with the release store of ctab below (another
	 * builder's): the sizes it published are seen whole. */
	if (KV_LIKELY(__atomic_load_n(&a->ctab, __ATOMIC_ACQUIRE) == key))
		return;
	sz = (KV_ITEM_HDR + m + 7) & ~7ULL;
	while (sz < KV_PAGE_SIZE && n < KV_NCLASSES - 1) {
		u64 next = (sz * f / 1000 + 7) & ~7ULL;

		__atomic_store_n(&a->csize[n++], (u32)sz, __ATOMIC_RELAXED);
		if (sz < KV_MC_FIRST && next > KV_MC_FIRST)
			next = KV_MC_FIRST;
		if (sz < KV_PAGE_SIZE / 2 && next > KV_PAGE_SIZE / 2)
			next = KV_PAGE_SIZE / 2;
		sz = next > sz + 8 ? next : sz + 8;
	}
	__atomic_store_n(&a->csize[n++], (u32)KV_PAGE_SIZE, __ATOMIC_RELAXED);
	__atomic_store_n(&a->ncls, n, __ATOMIC_RELAXED);
	kv_cls_tab_init(a, n);
	/* Release: pairs with the acquire load of ctab above (every
	 * caller's): the sizes and ncls before it are seen with it. */
	__atomic_store_n(&a->ctab, key, __ATOMIC_RELEASE);
}

/* Return: 0, or PLMC_E_CORRUPT if the store is too small for its table.
 * The layout is plmc/geometry.h's, the one libpl sizes stores with. */
int kv_geo_init(struct kv_geo *g, struct kv_tgeo *tg, u64 store_size)
{
	struct plmc_geometry pg;

	if (plmc_geometry(store_size, &pg))
		return PLMC_E_CORRUPT;
	g->nbuckets = pg.nbuckets;
	g->buckets = (u64 *)(PLMC_STORE_ADDR + pg.table_off);
	g->mask0 = pg.nbuckets - 1;
#ifdef PLMC_TEST_IMAGE
	/*
	 * The test image starts at the smallest table, so every store the
	 * tests make grows its table (table.c) several times: inside the
	 * first table's room, then in pages. Its step from there into pages
	 * holds a page more than the geometry keeps (half a page used, then
	 * the next): one item page less.
	 */
	g->mask0 = PLMC_GEO_MIN_BKTS - 1;
	pg.treserve++;
	pg.ipages--;
#endif
	tg->maxbkt = pg.max_buckets;
	tg->dirs = (u64 *)(PLMC_STORE_ADDR + pg.dir_off);
	tg->tdir = pg.tdir;
	tg->treserve = pg.treserve;
	tg->ipages = pg.ipages;
	g->pnext = (u32 *)(PLMC_STORE_ADDR + pg.pnext_off);
	g->pages = PLMC_STORE_ADDR + pg.pages_off;
	g->npages = pg.npages;
	return 0;
}

/*
 * Pages a class may still take (untouched or pooled): all free pages
 * but those the table's growth is promised (tg.treserve less what the
 * tables hold), so items never hold more than tg.ipages and the table
 * can always double (table.c). Exact under page_lock, else a hint.
 */
u64 kv_pages_left(const struct kv_ctx *c)
{
	const struct kv_area *a = kv_area();
	u64 free = c->geo->npages -
		   __atomic_load_n(&a->pages_used, __ATOMIC_RELAXED) +
		   __atomic_load_n(&a->npool, __ATOMIC_RELAXED);
	u64 held = __atomic_load_n(&a->tpages, __ATOMIC_RELAXED);
	u64 keep = a->tg.treserve > held ? a->tg.treserve - held : 0;

	return free > keep ? free - keep : 0;
}

/* Return: the smallest class holding @size bytes, or -1 if too big. */
int kv_class_of(u64 size)
{
	const struct kv_area *a = kv_area();
	int lo = 0, hi = (int)a->ncls - 1;

	if (KV_LIKELY(size - 1 < KV_CLS_TAB * 8ULL))
		return a->cls_tab[(size - 1) / 8];
	if (hi < 0 || size > a->csize[hi])
		return -1;
	while (lo < hi) { /* csize is increasing */
		int mid = (lo + hi) / 2;

		if (size <= a->csize[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Chunk size of class @cls; 0 for a class the settings do not use. */
u64 kv_class_size(int cls)
{
	return (u64)cls < kv_area()->ncls ? kv_area()->csize[cls] : 0;
}

/* Chunks carved (or to be carved) from class @cls's pages: a bound for
 * one CLOCK revolution. Read without the lock: a hint. */
u64 kv_class_chunks(int cls)
{
	u64 n = __atomic_load_n(&kv_area()->cls[cls].npages, __ATOMIC_RELAXED);

	return n ? n * (KV_PAGE_SIZE / kv_class_size(cls)) : 0;
}

/*
 * Make sure this slot has a spare page: take one under the page lock,
 * from the global pool (zeroed pages moves gave back) or, while the
 * store has untouched pages, from the bump counter; never one of the
 * pages kept for the table (kv_pages_left).
 * Return: nonzero if it has one. Context: no lock held.
 */
static int kv_page_take(struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	struct kv_tx t;
	u64 n, left;

	if (c->ks->spare)
		return 1;
	kv_lock(c, &a->page_lock);
	n = a->pages_used;
	left = kv_pages_left(c); /* none: the rest is the table's */
	/* the global pool first: pages moves gave back */
	if (left && a->pool) {
		u64 pg = a->pool - 1;

		kv_tx_init(&t, c->ks);
		kv_tx_set(&t, &a->pool, c->geo->pnext[pg]);
		kv_tx_set(&t, &a->npool, a->npool - 1);
		kv_tx_set(&t, &c->ks->spare, c->geo->pages + pg * KV_PAGE_SIZE);
		kv_tx_commit(c, &t, PLMC_CRASH_PAGE_TX);
	} else if (left && n < c->geo->npages) {
		kv_tx_init(&t, c->ks);
		kv_tx_set(&t, &a->pages_used, n + 1);
		kv_tx_set(&t, &c->ks->spare, c->geo->pages + n * KV_PAGE_SIZE);
		kv_tx_commit(c, &t, PLMC_CRASH_PAGE_TX);
	}
	kv_unlock(c, &a->page_lock);
	return c->ks->spare != 0;
}

/*
 * Log, into @t, this slot's spare page becoming @cl's newest (the head
 * of its page list), carved from @carve on. Only when the old carve page
 * has no room for one more chunk, so every older page is fully carved
 * (check.c counts on it). Context: @cl's lock held.
 */
static void kv_page_link(struct kv_ctx *c, struct kv_class *cl,
			 struct kv_tx *t, u64 carve)
{
	u64 p = c->ks->spare, pg = (p - c->geo->pages) / KV_PAGE_SIZE;

	kv_tx_set32(t, &c->geo->pnext[pg], (u32)cl->pages);
	kv_tx_set(t, &cl->pages, pg + 1);
	kv_tx_set(t, &cl->npages, cl->npages + 1);
	kv_tx_set(t, &cl->carve, carve);
	kv_tx_set(t, &cl->carve_end, p + KV_PAGE_SIZE);
	kv_tx_set(t, &c->ks->spare, 0);
	kv_move_repaid((int)(cl - kv_area()->cls)); /* a hint: move.c */
}

/*
 * Log the take of one chunk of class @k into @t: from the free list,
 * else from the carve page, else from this slot's spare page (which
 * becomes the class's newest page; the old carve page has no room for
 * one more chunk, so every older page is fully carved: check.c counts
 * on it). Return: the chunk, or 0. Context: class lock held.
 */
static u64 kv_chunk_take(struct kv_ctx *c, struct kv_class *cl, int k,
			 struct kv_tx *t)
{
	u64 sz = kv_class_size(k), p = cl->free;

	if (p) {
		kv_tx_set(t, &cl->free, *(u64 *)p);
		kv_tx_set(t, &cl->nfree, cl->nfree - 1);
		return p;
	}
	if (cl->carve && sz <= cl->carve_end - cl->carve) {
		p = cl->carve;
		kv_tx_set(t, &cl->carve, p + sz);
		return p;
	}
	p = c->ks->spare;
	if (!p)
		return 0;
	kv_page_link(c, cl, t, p + sz);
	return p;
}

/*
 * Return: a chunk of at least @size bytes (its class in *cls), or NULL.
 * The chunk is recorded as this slot's (ks->chunk) in the same
 * transaction that takes it: kv_wr_link or kv_free clears the record.
 * @page: 0 = only what the class has (a page move's rescue, move.c: a
 * new page would undo the move), else a new page if needed.
 */
void *kv_alloc_in(struct kv_ctx *c, u64 size, int *cls, int page)
{
	struct kv_class *cl;
	struct kv_tx t;
	int k = kv_class_of(size), tries;
	u64 p = 0;

	if (k < 0)
		return 0;
	cl = &kv_area()->cls[k];
	for (tries = 0; tries < 1 + !!page && !p; tries++) {
		kv_lock(c, &cl->lock);
		kv_crash(c, PLMC_CRASH_ALLOC_LOCKED);
		kv_move_skim(c, cl);
		if (cl->last_take != c->now) /* automove's idleness clock */
			__atomic_store_n(&cl->last_take, c->now,
					 __ATOMIC_RELAXED);
		kv_tx_init(&t, c->ks);
		p = kv_chunk_take(c, cl, k, &t);
		if (p) {
			kv_tx_set(&t, &c->ks->chunk, p | (u64)k << 56);
			kv_tx_commit(c, &t, PLMC_CRASH_ALLOC_TX);
		}
		kv_unlock(c, &cl->lock);
		if (!p && (!page || !kv_page_take(c)))
			break;
	}
	*cls = k;
	return (void *)p;
}

void *kv_alloc(struct kv_ctx *c, u64 size, int *cls)
{
	return kv_alloc_in(c, size, cls, 1);
}

/*
 * memcached's "slabs reassign SRC DST" hands the page to DST: a free page
 * (the pool's first: the one a move just put there) becomes class @k's
 * newest, uncarved, if @k's carve page is full; else @k has room and
 * the page stays in the pool. One transaction, as a chunk take that
 * needs a page (the same crash point). Return: 1 if given.
 * Context: no lock held, this slot has no spare.
 */
int kv_page_give(struct kv_ctx *c, int k)
{
	struct kv_class *cl = kv_cls(k);
	u64 sz = kv_class_size(k);
	struct kv_tx t;
	int done = 0;

	if (!sz || !kv_page_take(c))
		return 0;
	kv_lock(c, &cl->lock);
	if (!cl->carve || sz > cl->carve_end - cl->carve) {
		kv_tx_init(&t, c->ks);
		kv_page_link(c, cl, &t, c->ks->spare);
		kv_tx_commit(c, &t, PLMC_CRASH_ALLOC_TX);
		done = 1;
	}
	kv_unlock(c, &cl->lock);
	kv_pool_put(c); /* not given: back to the pool */
	return done;
}

/*
 * Free chunk @p of class @cls, with @t's stores (the caller's record
 * of the chunk: ks->chunk or its retired list) in the same transaction.
 * Context: no reader can reach @p any more (see epoch.c); no lock held.
 */
void kv_free(struct kv_ctx *c, void *p, int cls, struct kv_tx *t, int point)
{
	struct kv_class *cl = &kv_area()->cls[cls];

	kv_lock(c, &cl->lock);
	if (KV_UNLIKELY(kv_move_owns(cl, (u64)p, c->geo))) {
		kv_move_take(t, cl); /* its page is leaving: not reused */
	} else {
		kv_tx_set(t, p, cl->free);
		kv_tx_set(t, &cl->free, (u64)p);
		kv_tx_set(t, &cl->nfree, cl->nfree + 1);
	}
	kv_tx_commit(c, t, point);
	kv_unlock(c, &cl->lock);
}

/* Address of the page with index + 1 = @n, or 0 for n == 0. */
static u64 kv_page_addr(struct kv_ctx *c, u64 n)
{
	return n ? c->geo->pages + (n - 1) * KV_PAGE_SIZE : 0;
}

/*
 * The page next newer than page @pg (index + 1) on @cl's list (newest
 * first): the one that links to it, 0 at the head; with @pg = 0, the
 * tail (the oldest). A walk from the head, bounded by the store's pages
 * (a broken list cannot hold us): the hand takes it once per page it
 * leaves, so it costs npages / chunks-per-page loads per chunk visited.
 * Context: @cl's lock held.
 */
static u64 kv_page_newer(struct kv_ctx *c, const struct kv_class *cl, u64 pg)
{
	u64 n = cl->pages, left = c->geo->npages;

	if (n == pg)
		return 0;
	while (n && n <= c->geo->npages && left--) {
		u64 nx = c->geo->pnext[n - 1];

		if (nx == pg)
			return n;
		n = nx;
	}
	return 0;
}

/*
 * Put class @cls's hand back on chunk @p, which kv_clock_next gave, so
 * the next visit starts there (evict.c, kv_reap_dead: a look that is
 * not an eviction passes no live item); unless @p's page left the class
 * meanwhile (moving, or off its list). A single store: a hint.
 */
void kv_clock_back(struct kv_ctx *c, int cls, u64 p)
{
	struct kv_class *cl = &kv_area()->cls[cls];
	u64 pg = (p - c->geo->pages) / KV_PAGE_SIZE + 1;

	kv_lock(c, &cl->lock);
	if (!kv_move_owns(cl, p, c->geo) &&
	    (pg == cl->pages || kv_page_newer(c, cl, pg)))
		__atomic_store_n(&cl->hand, p, __ATOMIC_RELAXED);
	kv_unlock(c, &cl->lock);
}

/*
 * Move class @cls's CLOCK hand one chunk on: over its pages from the
 * oldest to the newest (the list's tail to its head), each in carve
 * order, then from the oldest again. So after a pass has cleared the
 * reference bits, the hand evicts in the order the chunks were first
 * filled: memcached's LRU order for a class filled once (t/lru.t), where
 * walking the list from its head took the newest item first. Chunks past
 * a page's carve point are zero (pages come zeroed: fresh, or zeroed by
 * the move that freed them), so they read as unlinked. Return: the chunk
 * the hand was on, or 0 if the class has no page.
 */
u64 kv_clock_next(struct kv_ctx *c, int cls)
{
	return kv_cursor_next(c, cls, &kv_area()->cls[cls].hand);
}

/*
 * kv_clock_next for any cursor over class @cls's chunks (*@cur, 0 =
 * start at the oldest page): the hand, or the LRU's rescue sweep
 * (lru.c). A cursor the class's page moves do not keep up (only the
 * hand is) may name a chunk of a page that left the class: the chunk
 * read there is a hint its user checks under the stripe lock, and the
 * step after it starts over at the oldest page (that page is on no
 * list of the class: kv_page_newer finds nothing). Return: as
 * kv_clock_next.
 */
u64 kv_cursor_next(struct kv_ctx *c, int cls, u64 *cur)
{
	struct kv_class *cl = &kv_area()->cls[cls];
	u64 sz = kv_class_size(cls), p, pg, end, h;

	kv_lock(c, &cl->lock);
	p = *cur ? *cur : kv_page_addr(c, kv_page_newer(c, cl, 0));
	if (p) {
		pg = (p - c->geo->pages) / KV_PAGE_SIZE;
		end = c->geo->pages + (pg + 1) * KV_PAGE_SIZE;
		h = p + sz;
		/* The next newer page, or 0: the oldest; also past the
		 * carve page's uncarved end (zero chunks: nothing there). */
		if (h + sz > end || (p >= cl->carve && p < cl->carve_end))
			h = kv_page_addr(c, kv_page_newer(c, cl, pg + 1));
		__atomic_store_n(cur, h, __ATOMIC_RELAXED);
		kv_lru_push(cls, cur == &cl->hand, p, h);
	}
	kv_crash(c, PLMC_CRASH_EVICT); /* one store: nothing to log */
	kv_unlock(c, &cl->lock);
	return p;
}
