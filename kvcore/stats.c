// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/stats.c - PLMC_OP_STATS: per-slot counters summed, plus what the
 * store header and the slot table say. Lock-free and approximate while
 * other slots run (each counter is read once, relaxed).
 */
#include "kv.h"

#define KV_LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

/* Sum one slot's counters into @st; items/bytes deltas into @ib. */
static void kv_stats_add(struct plmc_stats *st, const struct kv_stat *k,
			 s64 *ib)
{
	st->get_hits += KV_LOAD(&k->get_hits);
	st->get_misses += KV_LOAD(&k->get_misses);
	st->cmd_get += KV_LOAD(&k->cmd_get);
	st->cmd_set += KV_LOAD(&k->cmd_set);
	st->delete_hits += KV_LOAD(&k->delete_hits);
	st->delete_misses += KV_LOAD(&k->delete_misses);
	st->total_items += KV_LOAD(&k->total_items);
	ib[0] += KV_LOAD(&k->items);
	ib[1] += KV_LOAD(&k->bytes);
	st->cmd_touch += KV_LOAD(&k->cmd_touch);
	st->touch_hits += KV_LOAD(&k->touch_hits);
	st->touch_misses += KV_LOAD(&k->touch_misses);
	st->incr_hits += KV_LOAD(&k->incr_hits);
	st->incr_misses += KV_LOAD(&k->incr_misses);
	st->decr_hits += KV_LOAD(&k->decr_hits);
	st->decr_misses += KV_LOAD(&k->decr_misses);
	st->cas_hits += KV_LOAD(&k->cas_hits);
	st->cas_misses += KV_LOAD(&k->cas_misses);
	st->cas_badval += KV_LOAD(&k->cas_badval);
	st->get_expired += KV_LOAD(&k->get_expired);
	st->get_flushed += KV_LOAD(&k->get_flushed);
	st->cmd_flush += KV_LOAD(&k->cmd_flush);
	st->reclaimed += KV_LOAD(&k->reclaimed);
	st->expired_unfetched += KV_LOAD(&k->expired_unfetched);
	st->evicted_unfetched += KV_LOAD(&k->evicted_unfetched);
	st->evictions += KV_LOAD(&k->evictions);
}

static void kv_stats_slots(struct plmc_stats *st)
{
	s64 ib[2] = {0, 0};
	u64 i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);
		u64 state = KV_LOAD(&s->state), dead = KV_LOAD(&s->dead);

		kv_stats_add(st, &kv_area()->st[i], ib);
		if (state)
			st->slots_busy++;
		if (dead && state >> 1 == dead)
			st->dead_slots++;
	}
	st->curr_items = ib[0] > 0 ? (u64)ib[0] : 0;
	st->bytes = ib[1] > 0 ? (u64)ib[1] : 0;
}

void kv_stats_fill(struct kv_ctx *c, struct plmc_stats *st)
{
	const struct plmc_store_hdr *h = kv_hdr();

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	kv_stats_slots(st);
	st->limit_maxbytes = c->geo.npages * KV_PAGE_SIZE;
	st->time = c->now;
	st->generation = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
	st->deaths = KV_LOAD(&h->deaths);
	st->nattach = KV_LOAD(&h->nattach);
}
