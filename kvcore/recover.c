// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/recover.c - finishing the calls of dead clients.
 *
 * A client may die at any instruction, holding a slot (state names its
 * attach id), maybe a lock, maybe a committed redo log, an item it built
 * (ks->chunk) or unlinked (ks->pending). The backend marks it: slot.dead
 * = its id, then hdr->generation++ (the module at file release; libpl's
 * watcher under none). Recovery then, for each dead slot:
 *   1. claims it: cmpxchg state from the dead id to this caller's id|1.
 *      Only one recoverer works on a slot; if the recoverer dies, the
 *      backend marks the slot dead again (its state names the recoverer)
 *      and the next one starts over;
 *   2. withdraws its epoch announcement (a dead call reads nothing);
 *   3. applies its committed log again (tx.c: idempotent);
 *   4. frees its lock if the lock word still names it;
 *   5. retires its unlinked item, then its unpublished chunk (as a
 *      retired item: no reader can reach it, the next owner's reclaim
 *      frees it), each a transaction logged in the dead slot's record;
 *   6. disarms its crash point, clears dead, frees the slot (state 0).
 * Every step is idempotent, takes no lock and only writes memory the
 * claimed slot owns, so a recoverer never waits and readers never notice.
 * The retired list and the spare page stay in the record: they pass to
 * the slot's next owner, as on a normal release.
 *
 * Triggers: any call whose entry sees hdr->generation != kv.rec_gen (one
 * load on the fast path) scans all slots; a writer spinning on a lock
 * whose owner is dead recovers that owner; PLMC_OP_RECOVER scans now;
 * a claim in the gate that takes over a dead owner's slot (gate.S)
 * recovers that record in place (kv_recover_own) before its call runs,
 * so a newcomer whose every free slot is gone is served by the corpses'.
 */
#include "kv.h"

/* Nonzero if @s is owned by an attachment the backend marked dead. */
int kv_slot_dead(const struct plmc_slot *s)
{
	/* Acquire: pairs with the backend's dead mark (kmod: WRITE_ONCE
	 * before smp_store_release of generation; live.c: a release store)
	 * and recovery's release store clearing it. */
	u64 dead = __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE);

	return dead &&
	       (__atomic_load_n(&s->state, __ATOMIC_RELAXED) >> 1) == dead;
}

/* The lock word a slot record names, if it is one of kvcore's locks. */
static kv_lock_t *kv_lock_of(u64 l)
{
	if (l < PLMC_KV_ADDR || l >= PLMC_KV_ADDR + KV_AREA_HDR || l & 7)
		return 0;
	return (kv_lock_t *)l;
}

/* Turn the dead call's unpublished chunk into its pending item. */
static void kv_recover_chunk(const struct kv_ctx *c, struct kv_slot *ks)
{
	u64 ch = ks->chunk;
	struct kv_item *it = (struct kv_item *)KV_CHUNK_ADDR(ch);
	struct kv_tx t;

	if (!ch)
		return;
	kv_tx_init(&t, ks);
	/* klen 0: the evictor skips it; cls: reclaim frees it there (one
	 * word from klen on: klen, tenant 0, cls, iflags 0). */
	kv_tx_set(&t, (u8 *)it + __builtin_offsetof(struct kv_item, klen),
		  (u64)KV_CHUNK_CLS(ch)
			  << (8 * (__builtin_offsetof(struct kv_item, cls) -
				   __builtin_offsetof(struct kv_item, klen))));
	kv_tx_set(&t, &ks->pending, (u64)it);
	kv_tx_set(&t, &ks->chunk, 0);
	kv_tx_commit(c, &t, PLMC_CRASH_RECOVER_TX);
	kv_retire(c, ks, PLMC_CRASH_RECOVER_TX);
}

/*
 * Steps 2 to 5 on slot @i's record @s, claimed by this call (its state
 * names this caller), whether by kv_recover_slot or by the gate's
 * takeover. Leaves dead set: the caller clears it.
 */
static void kv_recover_record(struct kv_ctx *c, u64 i, struct plmc_slot *s)
{
	struct kv_slot *ks = kv_slot(s);
	kv_lock_t *l;

	c->recovered++;
	/* Pairs with kv_epoch_min()'s acquire load: a withdrawn
	 * announcement no longer holds back reclamation. */
	__atomic_store_n(&s->epoch, 0, __ATOMIC_RELEASE);
	kv_crash(c, PLMC_CRASH_RECOVER_CLAIMED);
	kv_tx_replay(ks);
	l = kv_lock_of(ks->held_lock);
	/* Acquire pairs with kv_lock()'s acquire cmpxchg by the dead holder
	 * (its word is read after the log it wrote under it); the release
	 * store pairs with the next kv_lock()'s acquire cmpxchg. */
	if (l && __atomic_load_n(l, __ATOMIC_ACQUIRE) == i + 1)
		__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ks->held_lock, 0, __ATOMIC_RELAXED);
	kv_crash(c, PLMC_CRASH_RECOVER_REPLAYED);
	kv_retire(c, ks, PLMC_CRASH_RECOVER_TX);
	kv_recover_chunk(c, ks);
	__atomic_store_n(&ks->crash_at, 0, __ATOMIC_RELAXED);
}

/* Return: 1 if this call recovered slot @i, else 0. */
int kv_recover_slot(struct kv_ctx *c, u64 i)
{
	struct plmc_slot *s = kv_slot_rec(i);
	u64 id = ((const struct plmc_ppage *)PLMC_PPAGE_ADDR)->attach_id;
	/* Acquire: pairs with the release store of state by the gate's exit
	 * or a recoverer's free, so the record read below is complete. */
	u64 st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	/* Acquire: pairs with the backend's dead mark (kmod: WRITE_ONCE
	 * then smp_store_release of generation; live.c: release store). */
	u64 dead = __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE);

	if (i == c->slot || !dead || st >> 1 != dead)
		return 0;
	/* The claim; acq_rel pairs with the gate's lock cmpxchg claims and
	 * with the release stores that free the slot. */
	if (!__atomic_compare_exchange_n(&s->state, &st, id << 1 | 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	kv_recover_record(c, i, s);
	kv_orphan_note(kv_slot(s));
	/* The uid first: a claimer counting uids never sees a free slot's
	 * stale uid (gate.S). Release stores pair with the gate's claim
	 * (lock cmpxchg) and kv_slot_dead()'s acquire load of dead. */
	__atomic_store_n(&s->uid, ~0U, __ATOMIC_RELAXED);
	__atomic_store_n(&s->dead, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
	return 1;
}

/*
 * The gate took this call's slot over from a dead owner (state names
 * us, dead still names it): recover its record first, then clear the
 * mark. Its crash arm is the dead one's, disarmed before any point.
 * If this call dies in here, the backend marks the slot dead again (its
 * state names us) and the next recoverer starts over: every step is
 * idempotent.
 */
void kv_recover_own(struct kv_ctx *c)
{
	__atomic_store_n(&c->ks->crash_at, 0, __ATOMIC_RELAXED);
	kv_recover_record(c, c->slot, c->rec);
	/* Release: pairs with kv_slot_dead()'s acquire load. */
	__atomic_store_n(&c->rec->dead, 0, __ATOMIC_RELEASE);
}

/* Recover every dead slot. Return: how many this call has recovered
 * (at its entry included). */
long kv_recover_all(struct kv_ctx *c)
{
	/* Acquire: pairs with the backend's release of generation, so the
	 * scan below sees every dead mark made before it. */
	u64 gen = __atomic_load_n(&kv_hdr()->generation, __ATOMIC_ACQUIRE);
	u64 *seen = &kv_area()->rec_gen, cur, i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++)
		kv_recover_slot(c, i);
	/* Marks come before the generation bump (release), so this scan
	 * saw every mark of @gen; later deaths bump it again. */
	cur = __atomic_load_n(seen, __ATOMIC_RELAXED);
	/* Release: the recoveries above come before the new rec_gen; it
	 * pairs with no acquire on purpose: the fast path's relaxed load of
	 * rec_gen only decides whether to scan, and a stale value only
	 * scans again. */
	while (cur < gen &&
	       !__atomic_compare_exchange_n(seen, &cur, gen, 0,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	return c->recovered;
}
