// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/lock.c - spinlocks in the store.
 *
 * A lock word holds 0 (free) or the owner's slot index + 1. A futex cannot
 * work on the PFNMAP store, and a sleeping owner is rare: the holder is a
 * client thread inside a short critical section that touches no client
 * memory (copies in and out happen before and after).
 *
 * Invariant: a slot holds at most one lock at a time, and its record's
 * held_lock names it (set before the first try, cleared after release),
 * so a recovery pass can release the lock of a dead slot: if the word
 * equals slot + 1 the dead slot held it, otherwise it never got it.
 * A crash while holding leaves the lock taken until recovery frees it:
 * a waiter recovers a dead holder itself (kv_lock_wait).
 */
#include "kv.h"

/*
 * Spin until @l looks free. Every 1024 spins, if its owner is marked
 * dead, recover that owner (recover.c takes no lock, so this cannot
 * deadlock): a dead holder never stops the store.
 */
static void kv_lock_wait(struct kv_ctx *c, kv_lock_t *l)
{
	u64 w, spins = 0;

	while ((w = __atomic_load_n(l, __ATOMIC_RELAXED))) {
		__builtin_ia32_pause();
		if (++spins & 1023 || w - 1 >= PLMC_MAX_SLOTS ||
		    w - 1 == c->slot)
			continue;
		if (kv_slot_dead(kv_slot_rec(w - 1)))
			kv_recover_slot(c, w - 1);
	}
}

void kv_lock(struct kv_ctx *c, kv_lock_t *l)
{
	u64 want = c->slot + 1;
	u64 expect;

	__atomic_store_n(&c->ks->held_lock, (u64)l, __ATOMIC_RELAXED);
	for (;;) {
		expect = 0;
		if (__atomic_compare_exchange_n(l, &expect, want, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		kv_lock_wait(c, l);
	}
}

void kv_unlock(struct kv_ctx *c, kv_lock_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&c->ks->held_lock, 0, __ATOMIC_RELAXED);
}
