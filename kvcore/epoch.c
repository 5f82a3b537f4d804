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
 * Scans read slots [0, kv_area.slot_hi) only (the slots ever claimed:
 *   a store used by two threads scans two). gate.S raises slot_hi with
 *   a lock cmpxchg when it claims a free or dead slot, before that
 *   slot's first announcement (its own idle slot was claimed so
 *   before; adoption and recovery give the slots they claim back
 *   free, so no slot reaches "idle, ours" another way), and a scan
 *   loads slot_hi after its seq_cst fence: Dekker again, so a scan
 *   that finds slot_hi <= i is one slot i's announcement follows,
 *   exactly the case of an announcement read as 0 above. The bound
 *   only grows (a slot index once used may be owned again). The test
 *   image traps on an announcement above it (kv_epoch_enter).
 * Items keep only r's low 27 bits (in .rlink, beside the list link:
 *   the header is 48 bytes). kv_repoch() widens them to the newest u64
 *   <= g with those bits: that is r itself unless r is 2^27 or more
 *   retirements old, and then it is newer than r, which only delays the
 *   free. Never early.
 * Spread over calls (kv_reclaim_step): a scan started at a fence with
 *   g0 read after it, covering the slots a chunk per call, gives the
 *   bound safe = min(every announcement it read, g0 + 1). An item of
 *   this slot's list with r < safe was retired (so unlinked) before
 *   the fence: a reader the scan saw announces more than r, one it
 *   missed announced after its slot was read, hence walks after the
 *   unlink, exactly as for the one-call scan. Later calls only make
 *   it truer, so the bound is kept (kv_stat.rsafe) and the items under
 *   it are freed a few per call: no call pays for a whole batch. Items
 *   retired later (by this slot, or appended by a recoverer) take
 *   r > g0, above the bound.
 * Retired lists live in the slot records and pass to the slot's next
 *   owner; recovery (recover.c) appends a dead call's unretired item to
 *   its slot's list, so a dead slot's memory is freed by whoever owns
 *   that slot next. List changes are redo transactions (tx.c).
 */
#include "kv.h"

/* @it's retire epoch, widened against the global epoch @g (see above). */
static u64 kv_repoch(const struct kv_item *it, u64 g)
{
	/* (g - rlink) & mask: the high bits (the link) drop out. */
	return g - ((g - it->rlink) & KV_RL_EPOCH_MASK);
}

/*
 * Put ks->pending (unlinked: no new reader can find it) at the tail of
 * @ks's retired list, in one transaction logged in @ks. Its retire epoch
 * is taken now, after the unlink (the order the proof above needs).
 * Context: @ks is this call's slot, or a dead one it has claimed.
 */
void kv_retire(const struct kv_ctx *c, struct kv_slot *ks, int point)
{
	struct kv_item *it = (struct kv_item *)ks->pending;
	struct kv_tx t;
	u64 r;

	if (!it)
		return;
	/* Seq_cst: after the unlink (kv_wr_end's release of the stripe
	 * lock came before); pairs with kv_epoch_enter()'s acquire load and
	 * kv_reclaim()'s acquire load of the epoch. */
	r = __atomic_add_fetch(&kv_area()->epoch, 1, __ATOMIC_SEQ_CST);
	kv_tx_init(&t, ks);
	/* The item's epoch and "no successor" in one store; the tail's
	 * successor keeps the tail's epoch bits. */
	kv_tx_set(&t, &it->rlink, kv_rl_make(0, r));
	if (ks->rtail) {
		struct kv_item *tl = (struct kv_item *)ks->rtail;

		kv_tx_set(&t, &tl->rlink, kv_rl_link(tl->rlink, (u64)it));
	} else
		kv_tx_set(&t, &ks->rhead, (u64)it);
	kv_tx_set(&t, &ks->rtail, (u64)it);
	kv_tx_set(&t, &ks->rcount, ks->rcount + 1);
	kv_tx_set(&t, &ks->pending, 0);
	kv_tx_commit(c, &t, point);
}

/* The oldest epoch any other live slot may still read in; ~0 if none. */
u64 kv_epoch_min(struct kv_ctx *c)
{
	u64 min = ~0ULL, e, i, hi;

	/* Pairs with kv_epoch_enter()'s xchg (see there) and with
	 * gate.S's raise of slot_hi, and orders this call's unlinks and
	 * retirements before the scan. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	hi = kv_slot_hi();
	for (i = 0; i < hi; i++) {
		struct plmc_slot *s = kv_slot_rec(i);

		if (i == c->slot)
			continue;
		/* Acquire: pairs with kv_epoch_exit()'s release store and
		 * recovery's (recover.c) withdrawal of a dead announcement. */
		e = __atomic_load_n(&s->epoch, __ATOMIC_ACQUIRE);
		if (e && e < min && !kv_slot_dead(s))
			min = e;
	}
	return min;
}

/*
 * Free what slot record @ks retired and nobody can still read (@min, @g:
 * the oldest epoch read, the global epoch). @ks is this call's own, or an
 * orphan it claimed; the transactions are logged in this call's record
 * (kv_free), which is right either way: both records name this caller's
 * id, so if it dies the recoverer replays the log of its own slot.
 * Frees @max items at most.
 * Return: the number of items freed.
 */
static int kv_reclaim_list(struct kv_ctx *c, struct kv_slot *ks, u64 min,
			   u64 g, int max)
{
	int n = 0;

	while (ks->rhead && n < max) {
		struct kv_item *it = (struct kv_item *)ks->rhead;
		struct kv_tx t;

		if (kv_repoch(it, g) >= min)
			break;
		/* The list pop and the free are one transaction. */
		kv_tx_init(&t, c->ks); /* kv_free commits in c->ks */
		kv_tx_set(&t, &ks->rhead, kv_rl_next(it->rlink));
		if (!kv_rl_next(it->rlink))
			kv_tx_set(&t, &ks->rtail, 0);
		kv_tx_set(&t, &ks->rcount, ks->rcount - 1);
		kv_free(c, it, it->cls, &t, PLMC_CRASH_RECLAIM_TX);
		n++;
	}
	return n;
}

/*
 * A slot went free with a retired list (RELEASE, recovery): count it in
 * kv_area.orphans, the hint that makes callers adopt such lists (nobody
 * may own that slot again, and its chunks must not stay stranded).
 */
void kv_orphan_note(const struct kv_slot *ks)
{
	if (__atomic_load_n(&ks->rhead, __ATOMIC_RELAXED))
		__atomic_add_fetch(&kv_area()->orphans, 1, __ATOMIC_RELAXED);
}

#define KV_ADOPT_MAX 4 /* orphan lists one call adopts at most */

/*
 * Adopt the retired lists of free slots: claim the slot as a recoverer
 * does (cmpxchg 0 -> our id | busy: nobody else may touch its record
 * meanwhile, and a death of ours leaves it marked with our id for
 * recovery), free what nobody reads, give the slot back (uid ~0 first,
 * as gate.S wants). A scan that finds no orphan clears the hint, unless
 * a new one was noted meanwhile (the cmpxchg).
 *
 * Invariant: a call frees an item another slot retired only below its
 * own announcement too. @min (kv_epoch_min) leaves this call's slot out,
 * which is right for its own list alone: what this call unlinked itself
 * it holds no pointer to (c->pin keeps the item a read-modify-write
 * copies from its own unlinks: move.c, evict.c). An orphan list is
 * another slot's, filled while this call ran: append, incr and the meta
 * commands hold the item they read (found without a lock) across the
 * allocation, whose reclaim adopts (kv_alloc_evict, kv_move_step). Freed
 * there, the chunk was reused or zeroed (a page move's finish) under
 * them: kv_swap then found the key gone (NOT_STORED with the key there,
 * test_move shared_append) or, in a chunk reused for the same key, took
 * it for the item read and linked a copy of stale bytes (a lost append).
 * Return: the number of items freed.
 */
static int kv_adopt(struct kv_ctx *c, u64 min, u64 g)
{
	u64 *hint = &kv_area()->orphans;
	u64 h = __atomic_load_n(hint, __ATOMIC_RELAXED), i;
	u64 id = ((const struct plmc_ppage *)PLMC_PPAGE_ADDR)->attach_id;
	/* This call's announcement (0 outside a call: it holds nothing).
	 * Relaxed: the slot's own word, written by this call. */
	u64 self = __atomic_load_n(&c->rec->epoch, __ATOMIC_RELAXED);
	int n = 0, found = 0;

	if (!h)
		return 0;
	if (self && self < min)
		min = self;
	for (i = 0; i < PLMC_MAX_SLOTS && found < KV_ADOPT_MAX; i++) {
		struct plmc_slot *s = kv_slot_rec(i);
		struct kv_slot *ks = kv_slot(s);
		u64 st = 0;

		if (i == c->slot || __atomic_load_n(&s->state, __ATOMIC_RELAXED) ||
		    !__atomic_load_n(&ks->rhead, __ATOMIC_RELAXED))
			continue;
		/* Acq_rel: pairs with the release stores that freed the slot
		 * (gate exit, recovery) and with our release below. */
		if (!__atomic_compare_exchange_n(&s->state, &st, id << 1 | 1, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		found++;
		n += kv_reclaim_list(c, ks, min, g, 1 << 30);
		if (!ks->rhead) {
			u64 o = __atomic_load_n(hint, __ATOMIC_RELAXED);

			while (o && !__atomic_compare_exchange_n(
					    hint, &o, o - 1, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				;
		}
		__atomic_store_n(&s->uid, ~0U, __ATOMIC_RELAXED);
		/* Release: pairs with the next claimer's lock cmpxchg. */
		__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
	}
	if (!found)
		__atomic_compare_exchange_n(hint, &h, 0, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	return n;
}

#define KV_SCAN_SLOTS 16 /* slots a call's share of a scan reads */
#define KV_FREE_STEP  2	 /* retired items a call frees at most */
#define KV_SCAN_CALLS (PLMC_MAX_SLOTS / KV_SCAN_SLOTS) /* calls a scan takes */

/* Raise this slot's bound to @safe (a valid bound never lowers it). */
static void kv_rsafe_raise(struct kv_ctx *c, u64 safe)
{
	if (safe > c->st->rsafe)
		__atomic_store_n(&c->st->rsafe, safe, __ATOMIC_RELAXED);
}

/* One call's share of the spread scan (see the top of this file). */
static void kv_scan_epochs(struct kv_ctx *c)
{
	struct kv_stat *st = c->st;
	u64 i = (st->rscan & 0xffff) - 1, end = i + KV_SCAN_SLOTS;
	u64 min = st->rmin, e;
	/* Read after the scan's fence (kv_reclaim_step, an earlier call
	 * of this slot); a later, higher value only reads more slots. */
	u64 hi = kv_slot_hi();

	for (; i < end && i < hi; i++) {
		struct plmc_slot *s = kv_slot_rec(i);

		if (i == c->slot)
			continue;
		/* Acquire: as in kv_epoch_min(). */
		e = __atomic_load_n(&s->epoch, __ATOMIC_ACQUIRE);
		if (e && e < min && !kv_slot_dead(s))
			min = e;
	}
	/* Relaxed stores: this slot's owner alone writes its block. */
	__atomic_store_n(&st->rmin, min, __ATOMIC_RELAXED);
	if (i < hi) {
		__atomic_store_n(&st->rscan, (st->rscan & ~0xffffULL) | (i + 1),
				 __ATOMIC_RELAXED);
		return;
	}
	kv_rsafe_raise(c, min < st->rg + 1 ? min : st->rg + 1);
	__atomic_store_n(&st->rfree, st->rscan >> 16, __ATOMIC_RELAXED);
	__atomic_store_n(&st->rscan, 0, __ATOMIC_RELAXED);
}

/*
 * The end of a call: go on with the spread scan (started once the list
 * is due, kv_reclaim_due, or with @any whatever its length, when what
 * the last one found is nearly used up), then free up to KV_FREE_STEP
 * items under the bound it gave.
 * Context: no lock held, no item referenced.
 */
void kv_reclaim_step(struct kv_ctx *c, int any)
{
	struct kv_stat *st = c->st;
	u64 g, n;

	/* The next scan starts while the last one's items last (rfree,
	 * a scan's length ahead), so sets reusing them never wait. */
	if (!st->rscan && st->rfree <= KV_SCAN_CALLS && c->ks->rhead &&
	    (any || kv_reclaim_due(c->ks))) {
		/* Pairs with kv_epoch_enter()'s xchg and gate.S's raise
		 * of slot_hi (Dekker, as in kv_epoch_min) and
		 * orders this slot's unlinks before the scan's loads. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		/* Acquire: pairs with kv_retire()'s seq_cst add: every item
		 * now on the list has r <= g. */
		g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);
		__atomic_store_n(&st->rg, g, __ATOMIC_RELAXED);
		__atomic_store_n(&st->rmin, ~0ULL, __ATOMIC_RELAXED);
		__atomic_store_n(&st->rscan, 1 | c->ks->rcount << 16,
				 __ATOMIC_RELAXED);
	}
	if (st->rscan)
		kv_scan_epochs(c);
	if (!st->rfree)
		return;
	/* Acquire: as in kv_reclaim() (widens the items' 32-bit epochs). */
	g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);
	/* A call that reused a chunk (kv_reuse) has freed its share: the
	 * list stays near the batch (a scan's worth over it at most) while
	 * sets keep it turning over. */
	n = !c->reused ? KV_FREE_STEP
	    : c->ks->rcount > 2 * KV_RETIRE_BATCH ? 1
						  : 0;
	n = st->rfree < n ? st->rfree : n;
	if (!n)
		return;
	/* Fewer freed than asked: the head is over the bound (a full
	 * kv_reclaim freed some meanwhile): nothing more to do. */
	n = (u64)kv_reclaim_list(c, c->ks, st->rsafe, g, (int)n) == n
		    ? st->rfree - n
		    : 0;
	__atomic_store_n(&st->rfree, n, __ATOMIC_RELAXED);
}

/*
 * Take this slot's oldest retired item as the chunk of a new item of
 * class @cls, when the spread scan's bound says nobody can read it: the
 * free and the take in one transaction logged in this slot (the list
 * pop and ks->chunk, as kv_alloc_in records a take), no class lock.
 * Not while a page of the class is moving (its chunks go back through
 * kv_free; a move starting after the look finds the new item linked
 * on its page and rescues it, as any item linked before it started).
 * Return: the chunk, or NULL (the caller allocates from the class).
 */
void *kv_reuse(struct kv_ctx *c, int cls)
{
	struct kv_slot *ks = c->ks;
	struct kv_item *it = (struct kv_item *)ks->rhead;
	struct kv_class *cl = kv_cls(cls);
	struct kv_tx t;
	u64 g;

	if (!it || it->cls != cls || __atomic_load_n(&cl->mv, __ATOMIC_RELAXED))
		return 0;
	/* Acquire: as in kv_reclaim() (widens the item's 32-bit epoch). */
	g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);
	if (kv_repoch(it, g) >= c->st->rsafe)
		return 0;
	kv_tx_init(&t, ks);
	kv_tx_set(&t, &ks->rhead, kv_rl_next(it->rlink));
	if (!kv_rl_next(it->rlink))
		kv_tx_set(&t, &ks->rtail, 0);
	kv_tx_set(&t, &ks->rcount, ks->rcount - 1);
	kv_tx_set(&t, &ks->chunk, (u64)it | (u64)cls << 56);
	kv_tx_commit(c, &t, PLMC_CRASH_ALLOC_TX);
	if (c->st->rfree)
		__atomic_store_n(&c->st->rfree, c->st->rfree - 1,
				 __ATOMIC_RELAXED);
	if (cl->last_take != c->now) /* automove's idleness clock */
		__atomic_store_n(&cl->last_take, c->now, __ATOMIC_RELAXED);
	c->reused++;
	return it;
}

/*
 * Free what this slot retired and nobody can still read; with @adopt,
 * also what free slots left behind (kv_adopt).
 * Context: this slot holds no item reference and no lock.
 * Return: the number of items freed.
 */
int kv_reclaim(struct kv_ctx *c, int adopt)
{
	u64 min, g;
	int n;

	if (!c->ks->rhead &&
	    (!adopt || !__atomic_load_n(&kv_area()->orphans, __ATOMIC_RELAXED)))
		return 0;
	min = kv_epoch_min(c);
	/* Acquire: pairs with kv_retire()'s seq_cst add (an item's retire
	 * epoch is at most the g read here). */
	g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);
	n = kv_reclaim_list(c, c->ks, min, g, 1 << 30);
	kv_rsafe_raise(c, min < g + 1 ? min : g + 1);
	if (adopt)
		n += kv_adopt(c, min, g);
	return n;
}
