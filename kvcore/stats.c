// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/stats.c - PLMC_OP_STATS, PLMC_OP_CLASSES, PLMC_OP_STATS_RESET.
 *
 * Per-slot counters summed, plus what the store header, the classes and
 * the slot table say. Lock-free and approximate while other slots run
 * (each counter is read once, relaxed).
 *
 * stats reset: a slot's counters are written by their owner alone (no
 * locked op), so nobody else may zero them. The reset instead stores the
 * sums of the moment in kv_area.st_base (the class command counters'
 * in cst_base), and every later sum subtracts it (curr_items and bytes
 * excepted: they are state, not counts). The other class counters are
 * locked adds, so the reset zeroes them in place.
 * Resets take stat_lock so two cannot interleave their snapshots.
 */
#include "kv.h"

#define KV_LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define KV_STAT_WORDS (sizeof(struct kv_stat) / sizeof(u64))

/* Every slot's counters added up, word by word (items/bytes included:
 * their s64 deltas add up in two's complement). */
static void kv_stats_sum(struct kv_stat *sum)
{
	u64 *d = (u64 *)sum, i, j;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		const u64 *s = (const u64 *)&kv_area()->st[i];

		for (j = 0; j < KV_STAT_WORDS; j++)
			d[j] += KV_LOAD(&s[j]);
	}
}

/* The counters since the last reset: sum - base, but for items/bytes. */
static void kv_stats_since_reset(struct kv_stat *k)
{
	const u64 *b = (const u64 *)&kv_area()->st_base;
	s64 items, bytes;
	u64 *d = (u64 *)k, j;

	kv_stats_sum(k);
	items = k->items;
	bytes = k->bytes;
	for (j = 0; j < KV_STAT_WORDS; j++)
		d[j] -= KV_LOAD(&b[j]);
	k->items = items;
	k->bytes = bytes;
}

void kv_count_piece(struct kv_ctx *c, u32 klen, u64 vlen)
{
	int cls = kv_class_of(KV_ITEM_HDR + klen + vlen);

	if (cls >= 0)
		kv_cls_add(cls, &kv_ccmd(cls)->cmd_set, 1);
}

static void kv_stats_copy(struct plmc_stats *st, const struct kv_stat *k)
{
	st->get_misses = k->get_misses;
	st->cmd_get = k->cmd_get;
	st->cmd_set = k->cmd_set;
	st->delete_hits = k->delete_hits;
	st->delete_misses = k->delete_misses;
	st->total_items = k->total_items;
	st->curr_items = k->items > 0 ? (u64)k->items : 0;
	st->bytes = k->bytes > 0 ? (u64)k->bytes : 0;
	st->cmd_touch = k->cmd_touch;
	st->touch_hits = k->touch_hits;
	st->touch_misses = k->touch_misses;
	st->incr_hits = k->incr_hits;
	st->incr_misses = k->incr_misses;
	st->decr_hits = k->decr_hits;
	st->decr_misses = k->decr_misses;
	st->cas_hits = k->cas_hits;
	st->cas_misses = k->cas_misses;
	st->cas_badval = k->cas_badval;
	st->get_expired = k->get_expired;
	st->get_flushed = k->get_flushed;
	st->cmd_flush = k->cmd_flush;
	st->reclaimed = k->reclaimed;
	st->expired_unfetched = k->expired_unfetched;
	st->evicted_unfetched = k->evicted_unfetched;
	st->evictions = k->evictions;
}

static void kv_stats_slots(struct plmc_stats *st)
{
	u64 i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);
		u64 state = KV_LOAD(&s->state), dead = KV_LOAD(&s->dead);

		if (state)
			st->slots_busy++;
		if (dead && state >> 1 == dead)
			st->dead_slots++;
	}
}

/* The segmented LRU's counters, summed over the classes (lru.c). */
static void kv_stats_lru(struct plmc_stats *st)
{
	const struct kv_area *a = kv_area();
	u64 i;

	for (i = 0; i < KV_NCLASSES; i++) {
		const struct kv_lru *l = &a->lru[i];

		st->moves_to_cold += KV_LOAD(&l->moves_to_cold);
		st->moves_to_warm += KV_LOAD(&l->moves_to_warm);
		st->moves_within_lru += KV_LOAD(&l->moves_within_lru);
		st->evicted_active += KV_LOAD(&l->evicted_active);
		st->direct_reclaims += KV_LOAD(&l->direct);
	}
	st->lru_maintainer_juggles = KV_LOAD(&a->juggles);
	st->temporary_ttl = KV_LOAD(&a->temp_ttl);
	st->hot_lru_pct = KV_HOT_PCT;
	st->warm_lru_pct = KV_WARM_PCT;
}

static void kv_stats_settings(struct kv_ctx *c, struct plmc_stats *st)
{
	const struct plmc_store_hdr *h = kv_hdr();
	const struct kv_area *a = kv_area();
	u64 i;

	st->item_size_max = c->item_max;
	st->growth_factor = h->slab_factor ? h->slab_factor
					   : PLMC_CFG_FACTOR_DEF;
	st->chunk_size = h->slab_min ? h->slab_min : PLMC_CFG_MIN_DEF;
	st->slab_page_size = KV_PAGE_SIZE;
	st->slab_classes = a->ncls;
	for (i = 0; i < a->ncls; i++)
		st->active_slabs += KV_LOAD(&a->cls[i].npages) != 0;
	/* memcached's total_malloced: item memory, not the table's */
	st->total_malloced =
		(KV_LOAD(&a->pages_used) - KV_LOAD(&a->tpages)) * KV_PAGE_SIZE;
	st->hash_buckets = kv_tview(c, kv_tstate() & KV_T_CUR).mask + 1;
	st->reset_time = KV_LOAD(&a->stat_reset);
	st->slab_reassign_rescues = KV_LOAD(&a->mv_rescues);
	st->slab_reassign_evictions_nomem = KV_LOAD(&a->mv_evictions);
	st->slab_reassign_inline_reclaim = KV_LOAD(&a->mv_inline);
	st->slab_reassign_busy_items = KV_LOAD(&a->mv_busy);
	st->slab_reassign_busy_deletes = KV_LOAD(&a->mv_dead);
	st->slab_reassign_running = kv_move_running();
	st->slabs_moved = KV_LOAD(&a->slabs_moved);
	st->slab_global_page_pool = KV_LOAD(&a->npool);
	st->slab_automove = (u64)kv_automove();
	kv_stats_lru(st);
}

static u64 kv_get_hits(void);

void kv_stats_fill(struct kv_ctx *c, struct plmc_stats *st)
{
	const struct plmc_store_hdr *h = kv_hdr();
	struct kv_stat k;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	kv_stats_since_reset(&k);
	kv_stats_copy(st, &k);
	st->get_hits = kv_get_hits();
	kv_stats_slots(st);
	kv_stats_settings(c, st);
	st->limit_maxbytes = kv_area()->tg.ipages * KV_PAGE_SIZE;
	st->time = c->now;
	/* Acquire: pairs with the backend's release of generation (as in
	 * kv_dispatch); the deaths read with it are at least as new. */
	st->generation = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
	st->deaths = KV_LOAD(&h->deaths);
	st->nattach = KV_LOAD(&h->nattach);
}

/*
 * Seconds since the least recent access among class @cls's linked items
 * (o->age), and per LRU segment (o->age_hot, o->age_warm), and the items
 * of each segment (o->number_*): a read-only walk of its carved chunks
 * (stats items only; memcached reads its LRU tails and keeps the sizes).
 * The segment counts are the items' own bits, counted afresh: whatever
 * a death left in the running counts (lru.c), these are right. Chunks
 * are read racily: a chunk reused under the walk gives a plausible
 * time, never a fault (pages stay).
 */
static void kv_class_walk(struct kv_ctx *c, int cls, const struct kv_class *cl,
			  struct plmc_class_stats *o)
{
	u64 sz = kv_class_size(cls), n = KV_LOAD(&cl->pages);
	u64 left = c->geo->npages; /* a racy list cannot loop us forever */
	u64 num[4] = {0}, old[4], i;

	for (i = 0; i < 4; i++)
		old[i] = c->now;
	while (n && n <= c->geo->npages && left--) {
		u64 pg = c->geo->pages + (n - 1) * KV_PAGE_SIZE, p;

		for (p = pg; p + sz <= pg + KV_PAGE_SIZE; p += sz) {
			const struct kv_item *it = (const struct kv_item *)p;
			u8 f = KV_LOAD(&it->iflags);
			u32 at;

			if (!(f & KV_IT_LINKED))
				continue;
			num[KV_SEG_IDX(f)]++;
			at = KV_LOAD(&it->atime);
			if (at < old[KV_SEG_IDX(f)])
				old[KV_SEG_IDX(f)] = at;
		}
		n = KV_LOAD(&c->geo->pnext[n - 1]);
	}
	o->number_hot = num[0];
	o->number_warm = num[1];
	o->number_cold = num[2];
	o->number_temp = num[3];
	o->age_hot = c->now - old[0];
	o->age_warm = c->now - old[1];
	for (i = 1; i < 4; i++)
		if (old[i] < old[0])
			old[0] = old[i];
	o->age = c->now - old[0];
}

static void kv_class_lru(int cls, struct plmc_class_stats *o)
{
	const struct kv_lru *l = &kv_area()->lru[cls];

	o->moves_to_cold = KV_LOAD(&l->moves_to_cold);
	o->moves_to_warm = KV_LOAD(&l->moves_to_warm);
	o->moves_within_lru = KV_LOAD(&l->moves_within_lru);
	o->evicted_active = KV_LOAD(&l->evicted_active);
	o->direct_reclaims = KV_LOAD(&l->direct);
}

/* Class @cls's get_hits: every slot's, ever (a stats reset leaves them
 * and takes their sum into get_hits_base). */
static u64 kv_class_hits(int cls)
{
	const struct kv_area *a = kv_area();
	u64 sum = 0, i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++)
		sum += KV_LOAD(&a->get_hits[i][cls]);
	return sum;
}

/* The store's get_hits since the last stats reset: only the classes
 * count them (a get pays one counter, not two). */
static u64 kv_get_hits(void)
{
	const struct kv_area *a = kv_area();
	u64 sum = 0, cls;

	for (cls = 0; cls < KV_NCLASSES; cls++)
		sum += kv_class_hits((int)cls) -
		       KV_LOAD(&a->get_hits_base[cls]);
	return sum;
}

static void kv_class_cmds(int cls, struct plmc_class_stats *o)
{
	const struct kv_ccmd *k = kv_ccmd(cls);

	o->get_hits =
		kv_class_hits(cls) - KV_LOAD(&kv_area()->get_hits_base[cls]);
	o->cmd_set = KV_LOAD(&k->cmd_set);
	o->delete_hits = KV_LOAD(&k->delete_hits);
	o->incr_hits = KV_LOAD(&k->incr_hits);
	o->decr_hits = KV_LOAD(&k->decr_hits);
	o->cas_hits = KV_LOAD(&k->cas_hits);
	o->cas_badval = KV_LOAD(&k->cas_badval);
	o->touch_hits = KV_LOAD(&k->touch_hits);
}

static void kv_class_fill(struct kv_ctx *c, int cls, struct plmc_class_stats *o)
{
	const struct kv_class *cl = &kv_area()->cls[cls];
	u64 sz = kv_class_size(cls), carve = KV_LOAD(&cl->carve);
	u64 end = KV_LOAD(&cl->carve_end);
	s64 items = (s64)KV_LOAD(&cl->items), req = (s64)KV_LOAD(&cl->requested);

	memset(o, 0, sizeof(*o));
	o->id = (u32)cls + 1;
	o->chunk_size = (u32)sz;
	o->chunks_per_page = KV_PAGE_SIZE / sz;
	o->total_pages = KV_LOAD(&cl->npages);
	o->free_chunks = KV_LOAD(&cl->nfree);
	o->free_chunks_end = carve && end > carve ? (end - carve) / sz : 0;
	o->total_chunks = o->total_pages * o->chunks_per_page;
	if (o->total_chunks >= o->free_chunks + o->free_chunks_end)
		o->used_chunks = o->total_chunks - o->free_chunks -
				 o->free_chunks_end;
	o->number = items > 0 ? (u64)items : 0;
	o->mem_requested = req > 0 ? (u64)req : 0;
	if (o->number)
		kv_class_walk(c, cls, cl, o);
	kv_class_lru(cls, o);
	o->evicted = KV_LOAD(&cl->evicted);
	o->evicted_nonzero = KV_LOAD(&cl->evicted_nonzero);
	o->evicted_unfetched = KV_LOAD(&cl->evicted_unfetched);
	o->evicted_time = KV_LOAD(&cl->evicted_time);
	o->reclaimed = KV_LOAD(&cl->reclaimed);
	o->expired_unfetched = KV_LOAD(&cl->expired_unfetched);
	o->outofmemory = KV_LOAD(&cl->outofmemory);
	o->crawler_reclaimed = KV_LOAD(&cl->crawler_reclaimed);
	kv_class_cmds(cls, o);
}

/*
 * A tenant's call sees a class's geometry (chunk size, its pages) and
 * nothing of the items in it: the counts, sizes and ages there are every
 * tenant's (docs/tenants.md "What a tenant can observe").
 */
static void kv_class_geometry_only(struct plmc_class_stats *o)
{
	u64 pages = o->total_pages, per = o->chunks_per_page;
	u32 id = o->id, csz = o->chunk_size;

	memset(o, 0, sizeof(*o));
	o->id = id;
	o->chunk_size = csz;
	o->chunks_per_page = per;
	o->total_pages = pages;
	o->total_chunks = pages * per;
}

/*
 * Write one entry per class that has a page, up to @n, to client memory
 * @out (checked by the caller), @size bytes apart: each entry's first
 * min(@size, sizeof) bytes (a caller built with an older plmc.h knows
 * fewer fields; one built with a newer, more: those stay as they were).
 * Return: the number of such classes.
 */
long kv_classes_out(struct kv_ctx *c, u64 out, u64 n, u64 size)
{
	struct plmc_class_stats o;
	long count = 0;
	u64 i, ncls = kv_area()->ncls;
	u64 w = size < sizeof(o) ? size : sizeof(o);

	for (i = 0; i < ncls && i < KV_NCLASSES; i++) {
		if (!KV_LOAD(&kv_area()->cls[i].npages))
			continue;
		if ((u64)count < n) {
			kv_class_fill(c, (int)i, &o);
			if (c->tenant)
				kv_class_geometry_only(&o);
			memcpy((void *)(out + (u64)count * size), &o, w);
		}
		count++;
	}
	return count;
}

/* memcached's "stats reset" (see the top of this file). */
/* The LRU's counters of one class (not its counts, nor its cursor). */
static void kv_lru_reset(struct kv_lru *l)
{
	__atomic_store_n(&l->moves_to_cold, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->moves_to_warm, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->moves_within_lru, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->evicted_active, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->direct, 0, __ATOMIC_RELAXED);
}

void kv_stats_reset(struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	struct kv_stat now;
	u64 *b = (u64 *)&a->st_base, j, i;
	const u64 *s = (const u64 *)&now;

	kv_lock(c, &a->stat_lock);
	kv_stats_sum(&now);
	for (j = 0; j < KV_STAT_WORDS; j++)
		__atomic_store_n(&b[j], s[j], __ATOMIC_RELAXED);
	for (i = 0; i < KV_NCLASSES; i++) {
		struct kv_class *cl = &a->cls[i];
		u64 *k = (u64 *)kv_ccmd((int)i);

		__atomic_store_n(&a->get_hits_base[i], kv_class_hits((int)i),
				 __ATOMIC_RELAXED);
		for (j = 0; j < sizeof(struct kv_ccmd) / sizeof(u64); j++)
			__atomic_store_n(&k[j], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->evicted, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->evicted_nonzero, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->evicted_unfetched, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->evicted_time, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->reclaimed, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->expired_unfetched, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->outofmemory, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&cl->crawler_reclaimed, 0, __ATOMIC_RELAXED);
		kv_lru_reset(&a->lru[i]);
	}
	__atomic_store_n(&a->juggles, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&a->stat_reset, c->now, __ATOMIC_RELAXED);
	kv_unlock(c, &a->stat_lock);
}
