// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/tx.c - redo transactions in the slot record.
 *
 * A step that changes shared state in more than one word is written as a
 * list of absolute stores, logged in the record of the slot that owns
 * the state (the lock holder, or the owner of the slot-private words),
 * committed by one release store of nlog, applied, then closed by
 * nlog = 0. A process may die at any instruction:
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

static void kv_tx_apply(const u64 *e, u64 from, u64 to)
{
	u64 i;

	for (i = from; i < to; i++) {
		u64 a = e[2 * i], v = e[2 * i + 1];

		/* Release: each store is seen after the ones before it;
		 * pairs with readers' acquire loads of the words a log may
		 * name (links: kv_lookup; locks: kv_lock; lists and
		 * counters: under the lock the log was made under). */
		if (a & KV_TX_W32)
			__atomic_store_n((u32 *)(a & ~KV_TX_W32), (u32)v,
					 __ATOMIC_RELEASE);
		else
			__atomic_store_n((u64 *)a, v, __ATOMIC_RELEASE);
	}
}

/*
 * Log @t in @ks (the slot that owns what it changes), commit, apply.
 * @point: the crash point between the two halves of the apply.
 */
void kv_tx_commit(const struct kv_ctx *c, struct kv_slot *ks, struct kv_tx *t,
		  int point)
{
	u64 i, n = t->n;

	for (i = 0; i < 2 * n; i++)
		__atomic_store_n(&ks->log[i], t->e[i], __ATOMIC_RELAXED);
	/* The commit. Release: pairs with kv_tx_replay()'s acquire load of
	 * nlog, so a recoverer that sees n sees the log entries. */
	__atomic_store_n(&ks->nlog, n, __ATOMIC_RELEASE);
	kv_tx_apply(t->e, 0, n / 2);
	kv_crash(c, point);
	kv_tx_apply(t->e, n / 2, n);
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
