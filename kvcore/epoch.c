// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/epoch.c - reclamation across processes.
 *
 * Readers take no lock and write no shared line, so a writer that unlinks
 * an item cannot know who still reads it. Epochs answer that:
 *   - kv_area.epoch (g) is the global epoch. On entry a call announces
 *     slot.epoch = g + 1 (so 0 means "outside"), with a full barrier
 *     before it reads the table; on exit it stores 0.
 *   - A writer unlinks an item, then bumps g with a locked add that
 *     returns the item's retire epoch r = old g + 1, and appends the item
 *     to its slot's retired list (oldest first: r only grows).
 *   - An item with retire epoch r is freed once every other live slot
 *     announces 0 or an epoch > r.
 * Why that is safe: a reader announcing a > r read g after the bump,
 *   which followed the unlink, so its walk cannot reach the item. A
 *   reader whose announcement the scan missed (read as 0) made it visible
 *   after the scan, and its walk comes after that (full barrier), hence
 *   after the unlink. An announcement read stale-low only delays a free.
 * Slots owned by an attachment marked dead (slot.dead == owner id) are
 *   skipped: a dead process reads nothing.
 * Retired lists live in the slot records, so a later recovery pass can
 *   adopt a dead slot's list; a slot's list passes to its next owner.
 */
#include "kv.h"

void kv_epoch_enter(struct plmc_slot *s)
{
	u64 g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);

	/* xchg: a full barrier between the announcement and the walk. */
	__atomic_exchange_n(&s->epoch, g + 1, __ATOMIC_SEQ_CST);
}

void kv_epoch_exit(struct plmc_slot *s)
{
	__atomic_store_n(&s->epoch, 0, __ATOMIC_RELEASE);
}

/* Context: @it is unlinked (no new reader can find it); no lock held. */
void kv_retire(struct kv_ctx *c, struct kv_item *it)
{
	struct kv_slot *ks = c->ks;

	it->repoch = __atomic_add_fetch(&kv_area()->epoch, 1, __ATOMIC_SEQ_CST);
	it->rnext = 0;
	if (ks->rtail)
		((struct kv_item *)ks->rtail)->rnext = (u64)it;
	else
		ks->rhead = (u64)it;
	ks->rtail = (u64)it;
	ks->rcount++;
}

static int kv_slot_dead(const struct plmc_slot *s)
{
	u64 dead = __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE);

	return dead &&
	       (__atomic_load_n(&s->state, __ATOMIC_RELAXED) >> 1) == dead;
}

/* The oldest epoch any other live slot may still read in; ~0 if none. */
static u64 kv_epoch_min(struct kv_ctx *c)
{
	u64 min = ~0ULL, e, i;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);

		if (i == c->slot)
			continue;
		e = __atomic_load_n(&s->epoch, __ATOMIC_ACQUIRE);
		if (e && e < min && !kv_slot_dead(s))
			min = e;
	}
	return min;
}

/*
 * Free what this slot retired and nobody can still read.
 * Context: this slot holds no item reference and no lock.
 * Return: the number of items freed.
 */
int kv_reclaim(struct kv_ctx *c)
{
	struct kv_slot *ks = c->ks;
	u64 min;
	int n = 0;

	if (!ks->rhead)
		return 0;
	min = kv_epoch_min(c);
	while (ks->rhead) {
		struct kv_item *it = (struct kv_item *)ks->rhead;

		if (it->repoch >= min)
			break;
		/* Unlink first: a crash here leaks one item, never frees twice.
		 */
		ks->rhead = it->rnext;
		if (!ks->rhead)
			ks->rtail = 0;
		ks->rcount--;
		kv_free(c, it, it->cls);
		n++;
	}
	return n;
}
