// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/stats.c - PLMC_OP_STATS: per-slot counters summed, plus what the
 * store header and the slot table say. Lock-free and approximate while
 * other slots run (each counter is read once, relaxed).
 */
#include "kv.h"

#define KV_LOAD(p) __atomic_load_n(p, __ATOMIC_RELAXED)

static void kv_stats_slots(struct plmc_stats *st)
{
	s64 items = 0, bytes = 0;
	u64 i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);
		struct kv_slot *k = kv_slot(s);
		u64 state = KV_LOAD(&s->state), dead = KV_LOAD(&s->dead);

		st->get_hits += KV_LOAD(&k->get_hits);
		st->get_misses += KV_LOAD(&k->get_misses);
		st->cmd_get += KV_LOAD(&k->cmd_get);
		st->cmd_set += KV_LOAD(&k->cmd_set);
		st->delete_hits += KV_LOAD(&k->delete_hits);
		st->delete_misses += KV_LOAD(&k->delete_misses);
		st->total_items += KV_LOAD(&k->total_items);
		items += KV_LOAD(&k->items);
		bytes += KV_LOAD(&k->bytes);
		if (state)
			st->slots_busy++;
		if (dead && state >> 1 == dead)
			st->dead_slots++;
	}
	st->curr_items = items > 0 ? (u64)items : 0;
	st->bytes = bytes > 0 ? (u64)bytes : 0;
}

void kv_stats_fill(struct kv_ctx *c, struct plmc_stats *st)
{
	const struct plmc_store_hdr *h = kv_hdr();

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	kv_stats_slots(st);
	st->limit_maxbytes = c->geo.npages * KV_PAGE_SIZE;
	st->evictions = 0; /* no eviction yet */
	st->time = c->now;
	st->generation = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
	st->deaths = KV_LOAD(&h->deaths);
	st->nattach = KV_LOAD(&h->nattach);
}
