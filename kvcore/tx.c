// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/tx.c - redo transactions in the slot record.
 *
 * A step that changes shared state in more than one word is written as a
 * list of absolute stores, logged in the record of the slot that owns
 * the state (the lock holder, or the owner of the slot-private words),
 * committed by one release store of nlog, applied, then closed by
 * nlog = 0. The stores are written into the log as they are computed
 * (kv_tx_set, kv.h): the commit copies nothing. A process may die at any instruction:
 *  - before the commit: nothing shared changed; the log is ignored;
 *  - after it: recover.c applies the whole log again. Every store is an
 *    absolute value computed under the lock the dead slot still holds,
 *    so applying it twice equals applying it once.
 * Invariant: a log only names memory its slot owns until the log is
 * closed (a lock held since before the commit, the slot's own record,
 * an item it alone can reach), so no one else can have changed it when
 * the recoverer applies it.
 */
#include "kv.h"

static inline __attribute__((always_inline)) void
kv_tx_apply_one(const u64 *e)
{
	u64 a = e[0], v = e[1];

	/* Release: each store is seen after the ones before it; pairs with
	 * readers' acquire loads of the words a log may name (links:
	 * kv_lookup; locks: kv_lock; lists and counters: under the lock the
	 * log was made under). */
	if (a & KV_TX_W32)
		__atomic_store_n((u32 *)(a & ~KV_TX_W32), (u32)v,
				 __ATOMIC_RELEASE);
	else
		__atomic_store_n((u64 *)a, v, __ATOMIC_RELEASE);
}

static void kv_tx_apply(const u64 *e, u64 from, u64 to)
{
	u64 i;

	for (i = from; i < to; i++)
		kv_tx_apply_one(e + 2 * i);
}

/*
 * Commit @t (built in place in its record's log by kv_tx_set), apply,
 * close. @point: the crash point between the two halves of the apply.
 */
void kv_tx_commit(const struct kv_ctx *c, struct kv_tx *t, int point)
{
	struct kv_slot *ks = t->ks;
	u64 n = t->n;

	/* The commit. Release: pairs with kv_tx_replay()'s acquire load of
	 * nlog, so a recoverer that sees n sees the log entries (written
	 * by kv_tx_set with plain stores before this one). */
	__atomic_store_n(&ks->nlog, n, __ATOMIC_RELEASE);
#ifdef PLMC_TEST_IMAGE
	kv_tx_apply(ks->log, 0, n / 2);
	kv_crash(c, point);
	kv_tx_apply(ks->log, n / 2, n);
#else
	/* No crash point: one loop, inline; the width test only in a
	 * transaction that logged a 4-byte store (page links: rare). The
	 * set's transactions store whole words: load, load, store. */
	if (!t->w32) {
		const u64 *e = ks->log, *end = ks->log + 2 * n;

		/* Release: as in kv_tx_apply_one(). */
		for (; e < end; e += 2)
			__atomic_store_n((u64 *)e[0], e[1], __ATOMIC_RELEASE);
	} else {
		for (u64 i = 0; i < n; i++)
			kv_tx_apply_one(ks->log + 2 * i);
	}
#endif
	/* Release: pairs with kv_tx_replay()'s acquire: a recoverer that
	 * sees the log closed sees every store it made. */
	__atomic_store_n(&ks->nlog, 0, __ATOMIC_RELEASE);
}

/* Recovery: finish the committed transaction of a dead slot, if any. */
void kv_tx_replay(struct kv_slot *ks)
{
	/* Acquire: pairs with kv_tx_commit()'s release stores of nlog. */
	u64 n = __atomic_load_n(&ks->nlog, __ATOMIC_ACQUIRE);

	if (!n || n > KV_LOG_MAX)
		goto out;
	kv_tx_apply(ks->log, 0, n);
out:
	/* Release: the replayed stores before the close; pairs with the
	 * acquire load above by a recoverer of this recoverer, which finds
	 * the log closed only after them. */
	__atomic_store_n(&ks->nlog, 0, __ATOMIC_RELEASE);
}
