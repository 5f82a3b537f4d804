// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/table.c - the hash table grows online, across processes.
 *
 * memcached's table starts at 2^16 buckets and doubles once it holds 1.5
 * items a bucket, its items moved bucket by bucket by a thread. Here
 * there is no thread: writers do it, a few buckets per SET (kv_scan
 * calls kv_table_step), and readers never wait or retry.
 *
 * Tables. The first lives in the geometry (plmc/geometry.h); a grown one
 * in 1 MiB pages from the page allocator, listed in a directory (one
 * offset from geo.buckets per 2^17 buckets, kv_tbucket). tdesc[0..1]
 * describe two tables; tstate says which one readers walk first (CUR)
 * and whether its items are moving into the other (GROWING). A growth:
 *
 *  1. prep (page_lock): pages for the doubled table are taken one per
 *     step (pool first, then untouched ones: both zeroed) into the other
 *     directory; tg.treserve of the pages are kept from the items
 *     (kv_pages_left), so they are there. With the last, one
 *     transaction writes the other descriptor and tstate = CUR|GROWING
 *     (release), and tgrace = MARK; then tgrace = a new epoch.
 *  2. grace: no item moves until every call that may have read the old
 *     tstate (announced an epoch <= tgrace) has left: a reader or
 *     writer that thinks the table is not growing looks in one table.
 *  3. move (stripe lock of bucket tcursor): the old bucket's items go,
 *     the chain's TAIL first, to the HEAD of their new bucket, in one
 *     transaction of three stores each: x.next = new head; new head =
 *     x; the link to x = 0. A reader walks the old bucket first, then,
 *     on a miss, the new one (kv_lookup). An item is on the old chain
 *     until after it is on the new one, and only the tail leaves, so a
 *     reader on the old chain misses nothing still there (at worst it
 *     walks from a moved tail into a new chain: extra compares), and
 *     what left before the reader got there is on the new chain before
 *     the reader looks at it (the release of the link store, read with
 *     acquire, orders the earlier store of the new head). Writers lock
 *     the same stripe for a key in both tables (bucket mod KV_NLOCKS is
 *     hash mod KV_NLOCKS: every table has >= KV_NLOCKS buckets), look in
 *     the old chain then the new, and link new keys into the new one.
 *     The bucket's last transaction moves tcursor on; the last
 *     bucket's also sets tstate = the new table, not growing.
 *  4. retire: tgrace = MARK, then an epoch; once every call that may
 *     have read the growing tstate has left, the old table's pages
 *     (all buckets 0 now: already zeroed) go to the global pool, one
 *     per step, and tgrace = 0 closes the growth. Only then may the next
 *     begin (it reuses that descriptor).
 *
 * Crash: every step is a redo transaction under page_lock or a stripe
 * lock (tx.c), and every step reads where to go on from the shared
 * state, so a death anywhere leaves a state the next writer's step
 * goes on from. The grace epoch is taken after the tstate store it
 * covers (kv_table_mark): a death between leaves MARK, which the next
 * step replaces.
 */
#include "kv.h"

#define KV_T_LOAD(x)  __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KV_TMOVE_STEP 4	 /* old buckets moved per write call */
#define KV_TCHECK     31 /* sets between looks at the item count - 1 */

/* Pages table @v holds: 0 for one in the geometry's first table, else
 * one per 2^KV_TPAGE_SHIFT buckets, at least one. */
u64 kv_table_pages(const struct kv_ctx *c, struct kv_tview v)
{
	if (v.dir[0] < c->geo->nbuckets * sizeof(u64))
		return 0;
	return (v.mask >> KV_TPAGE_SHIFT) + 1;
}

/*
 * Where a table of @mask + 1 buckets goes: into the geometry's first
 * table, at bucket mask + 1 (so it never overlaps the smaller ones
 * before it), when it fits there; that happens only in the test image,
 * which starts smaller (kv_geo_init). Else into pages.
 * Return: the pages it needs (0: the first table's room).
 */
static u64 kv_table_need(const struct kv_ctx *c, u64 mask)
{
	if (2 * (mask + 1) <= c->geo->nbuckets)
		return 0;
	return (mask >> KV_TPAGE_SHIFT) + 1;
}

/*
 * A new store's first table as the current one (tbase, tmask), by the
 * first call (kv_derive), before any call is served. Racing or late
 * derivers change nothing: both words only go from 0, and never return
 * to it (a mask is >= 1023; a base is an address, or 1).
 */
void kv_table_init(const struct kv_geo *g)
{
	struct kv_area *a = kv_area();
	u64 zero = 0;

	/* Relaxed: published by kv_derive()'s release of geo_key. */
	__atomic_compare_exchange_n(&a->tmask, &zero, g->mask0, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	zero = 0;
	__atomic_compare_exchange_n(&a->tbase, &zero, (u64)g->buckets, 0,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Live items (the class counters: write paths' locked adds). */
static u64 kv_table_items(void)
{
	const struct kv_area *a = kv_area();
	s64 n = 0;
	u64 i;

	for (i = 0; i < a->ncls; i++)
		n += (s64)KV_T_LOAD(a->cls[i].items);
	return n > 0 ? (u64)n : 0;
}

/*
 * Take the grace epoch of the tstate store just made (tgrace is its
 * MARK): a call that announces a later epoch reads the new tstate.
 * Invariant: the epoch is taken only by a call that has seen that store.
 * The transaction stores the mark before tstate (tx.c applies in order),
 * so a step that found the mark could run between the two stores: an
 * epoch it took then would let a reader announce a later one and still
 * read the old tstate, and the grace would end under it (moves start
 * while it walks one table; the old table's pages go while it walks
 * them). Such a step takes nothing: the writer of the store marks after
 * its commit, and a later step after a death (recovery applied it all).
 */
static void kv_table_mark(void)
{
	struct kv_area *a = kv_area();
	u64 mark = KV_T_LOAD(a->tgrace), r;

	/* Acquire (kv_tstate): pairs with the release store of tstate in
	 * kv_table_prep's or kv_table_move's transaction. */
	if (!KV_T_IS_MARK(mark) || kv_tstate() != (mark & 3))
		return;
	/* Seq_cst: after that load saw the store; pairs with
	 * kv_epoch_enter()'s acquire load of the epoch, as kv_retire()
	 * does for an unlink. */
	r = __atomic_add_fetch(&a->epoch, 1, __ATOMIC_SEQ_CST);
	/* Relaxed: racing markers all took epochs after the store. */
	__atomic_compare_exchange_n(&a->tgrace, &mark, r, 0, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

/* Nonzero once no other call can still hold what tgrace covers. */
static int kv_table_grace_past(struct kv_ctx *c, u64 g)
{
	if (KV_T_IS_MARK(g)) {
		kv_table_mark();
		return 0;
	}
	return kv_epoch_min(c) > g;
}

/*
 * Step 1: take one page for the table after the current (tstate @s),
 * and publish it once it has them all. Context: page_lock held.
 */
static void kv_table_prep(struct kv_ctx *c, u64 s)
{
	struct kv_area *a = kv_area();
	u64 k = !(s & KV_T_CUR), n = a->tprep, mask, pg;
	struct kv_tview v = kv_tview(c, s & KV_T_CUR);
	u64 *dir = a->tg.dirs + k * a->tg.tdir;
	struct kv_tx t;

	mask = v.mask << 1 | 1;
	kv_tx_init(&t, c->ks);
	if (n < kv_table_need(c, mask)) {
		if (a->pool) {
			pg = a->pool - 1;
			kv_tx_set(&t, &a->pool, c->geo->pnext[pg]);
			kv_tx_set(&t, &a->npool, a->npool - 1);
		} else if (a->pages_used < c->geo->npages) {
			pg = a->pages_used;
			kv_tx_set(&t, &a->pages_used, pg + 1);
		} else {
			return; /* every page in use: a later step tries */
		}
		kv_tx_set(&t, &dir[n],
			  c->geo->pages + pg * KV_PAGE_SIZE -
				  (u64)c->geo->buckets);
		kv_tx_set(&t, &a->tprep, n + 1);
		kv_tx_set(&t, &a->tpages, a->tpages + 1);
		kv_tx_commit(c, &t, PLMC_CRASH_TABLE_PAGE_TX);
		return;
	}
	if (!kv_table_need(c, mask))
		kv_tx_set(&t, &dir[0], (mask + 1) * sizeof(u64));
	kv_tx_set(&t, &a->tdesc[k].mask_x, mask ^ c->geo->mask0);
	kv_tx_set(&t, &a->tdesc[k].dir_x, (u64)dir ^ (u64)&a->tdir0);
	kv_tx_set(&t, &a->tcursor, 0);
	kv_tx_set(&t, &a->tprep, 0);
	kv_tx_set(&t, &a->tgrace, KV_T_MARK(s | KV_T_GROWING));
	/* Last: the release store that starts the growth. */
	kv_tx_set(&t, &a->tstate, s | KV_T_GROWING);
	kv_tx_commit(c, &t, PLMC_CRASH_TABLE_GO_TX);
}

/*
 * Step 4: give one page of the retired table (the one after the current)
 * to the global pool, or close the growth when none is left.
 * Context: page_lock held; the grace period is past.
 */
static void kv_table_free(struct kv_ctx *c, u64 s)
{
	struct kv_area *a = kv_area();
	u64 k = !(s & KV_T_CUR), n = a->tfree, pg;
	struct kv_tview v = kv_tview(c, k);
	struct kv_tx t;

	kv_tx_init(&t, c->ks);
	if (n < kv_table_pages(c, v)) {
		pg = ((u64)c->geo->buckets + v.dir[n] - c->geo->pages) /
		     KV_PAGE_SIZE;
		kv_tx_set32(&t, &c->geo->pnext[pg], (u32)a->pool);
		kv_tx_set(&t, &a->pool, pg + 1);
		kv_tx_set(&t, &a->npool, a->npool + 1);
		kv_tx_set(&t, &a->tpages, a->tpages - 1);
		kv_tx_set(&t, &a->tfree, n + 1);
	} else {
		kv_tx_set(&t, &a->tfree, 0);
		kv_tx_set(&t, &a->tgrace, 0);
	}
	kv_tx_commit(c, &t, PLMC_CRASH_TABLE_FREE_TX);
}

/* Nonzero if the table (tstate @s) holds 1.5 items a bucket and may
 * still double. */
static int kv_table_full(const struct kv_ctx *c, u64 s)
{
	u64 mask = kv_tview(c, s & KV_T_CUR).mask;

	return mask + 1 < kv_area()->tg.maxbkt &&
	       kv_table_items() > (mask + 1) + (mask + 1) / 2;
}

/* Steps 1 and 4, under page_lock (tstate is read again under it). */
static void kv_table_paged(struct kv_ctx *c, int free)
{
	struct kv_area *a = kv_area();
	u64 s;

	kv_lock(c, &a->page_lock);
	s = KV_T_LOAD(a->tstate);
	if (!(s & KV_T_GROWING)) {
		if (free && a->tgrace && !KV_T_IS_MARK(a->tgrace))
			kv_table_free(c, s);
		else if (!free && !a->tgrace &&
			 (a->tprep || kv_table_full(c, s)))
			kv_table_prep(c, s);
	}
	kv_unlock(c, &a->page_lock);
	/* A death between the tstate store and here leaves MARK: any
	 * later step takes the epoch (kv_table_grace_past). */
	if (KV_T_IS_MARK(KV_T_LOAD(a->tgrace)))
		kv_table_mark();
}

/* The link that points at the tail of the chain at @link (or @link). */
static u64 *kv_table_tail(u64 *link)
{
	u64 p;

	while ((p = *link) && ((struct kv_item *)p)->next)
		link = &((struct kv_item *)p)->next;
	return link;
}

/*
 * Step 3 for old bucket @b: move its items into the new table, tail
 * first (see the top of this file), then move tcursor on; the last
 * bucket switches to the new table. Context: @b's stripe lock held,
 * tstate == @s and tcursor == @b read under it.
 * Return: nonzero if this was the last bucket.
 */
static int kv_table_move(struct kv_ctx *c, u64 s, u64 b)
{
	struct kv_area *a = kv_area();
	struct kv_tview o = kv_tview(c, s & KV_T_CUR);
	struct kv_tview n = kv_tview(c, !(s & KV_T_CUR));
	u64 *head = kv_tbucket(c, o, b), *link, *nb;
	struct kv_item *x;
	struct kv_tx t;

	while (*head) {
		link = kv_table_tail(head);
		x = (struct kv_item *)*link;
		/* Items keep no hash (kv.h): a linked item's key is fixed. */
		nb = kv_tbucket(c, n, kv_hash(x->data, x->klen));
		kv_tx_init(&t, c->ks);
		kv_tx_set(&t, &x->next, *nb);
		kv_tx_set(&t, nb, (u64)x); /* on the new chain ... */
		kv_tx_set(&t, link, 0);	   /* ... before off the old one */
		kv_tx_commit(c, &t, PLMC_CRASH_TABLE_MOVE_TX);
	}
	kv_tx_init(&t, c->ks);
	kv_tx_set(&t, &a->tcursor, b + 1);
	if (b == o.mask) {
		/* one array (a page or less): its address; else odd */
		kv_tx_set(&t, &a->tbase,
			  n.mask >> KV_TPAGE_SHIFT
				  ? 1
				  : (u64)c->geo->buckets + n.dir[0]);
		kv_tx_set(&t, &a->tmask, n.mask);
		kv_tx_set(&t, &a->tgrace, KV_T_MARK(!(s & KV_T_CUR)));
		/* Last: the release store that ends the growth. */
		kv_tx_set(&t, &a->tstate, !(s & KV_T_CUR));
	}
	kv_tx_commit(c, &t, PLMC_CRASH_TABLE_DONE_TX);
	return b == o.mask;
}

/* Step 3: move up to KV_TMOVE_STEP old buckets (growing, @s). */
static void kv_table_moves(struct kv_ctx *c, u64 s)
{
	struct kv_area *a = kv_area();
	u64 i, b, g = KV_T_LOAD(a->tgrace);
	kv_lock_t *l;
	int last;

	if (g) {
		if (!kv_table_grace_past(c, g))
			return;
		/* Relaxed: any racer clears the same value. */
		__atomic_compare_exchange_n(&a->tgrace, &g, 0, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	for (i = 0; i < KV_TMOVE_STEP; i++) {
		b = KV_T_LOAD(a->tcursor);
		l = &a->locks[b & (KV_NLOCKS - 1)];
		kv_lock(c, l);
		/* Under the lock: nobody else moves @b meanwhile, and no
		 * write to its keys is half done. */
		last = -1;
		if (kv_tstate() == s && KV_T_LOAD(a->tcursor) == b &&
		    !KV_T_LOAD(a->tgrace))
			last = kv_table_move(c, s, b);
		kv_unlock(c, l);
		if (last) {
			if (last > 0)
				kv_table_mark();
			return;
		}
	}
}

static __attribute__((noinline)) void kv_table_work(struct kv_ctx *c, u64 s)
{
	u64 g = KV_T_LOAD(kv_area()->tgrace);

	if (s & KV_T_GROWING)
		kv_table_moves(c, s);
	else if (g)
		kv_table_paged(c, kv_table_grace_past(c, g));
	else if (KV_T_LOAD(kv_area()->tprep) || kv_table_full(c, s))
		kv_table_paged(c, 0);
}

/*
 * A write call's share of the table's growth: a growth in progress goes
 * one step on; else every KV_TCHECK + 1 sets of a slot look at the item
 * count. Context: epoch announced, no lock held, no item referenced.
 */
void kv_table_step(struct kv_ctx *c)
{
	const struct kv_area *a = kv_area();
	u64 s = KV_T_LOAD(a->tstate);

	if (KV_LIKELY(!(s & KV_T_GROWING) && !KV_T_LOAD(a->tgrace) &&
		      !KV_T_LOAD(a->tprep) && (c->st->cmd_set & KV_TCHECK)))
		return;
	kv_table_work(c, s);
}
