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
 *
 * Waiting is bounded in CPU, not only in time: a waiter pauses a while
 * (a holder's critical section is short), then gives the CPU away with
 * sched_yield between looks, so waiters never starve the holder, nor a
 * dying holder's exit that the backend's death mark waits for.
 */
#include "kv.h"

#define KV_SPIN_PAUSES 1024 /* pauses before a waiter starts to yield */
#define KV_SYS_SCHED_YIELD 24 /* x86-64 */

/*
 * Give the CPU away: sched_yield(2), a raw syscall (the image calls
 * nothing outside itself; the kernel neither reads nor changes PKRU
 * here). Its result is ignored: a seccomp filter that refuses it just
 * makes the wait a spin again.
 */
static void kv_yield(void)
{
	long rc;

	__asm__ volatile("syscall"
			 : "=a"(rc)
			 : "0"((long)KV_SYS_SCHED_YIELD)
			 : "rcx", "r11", "memory");
	(void)rc;
}

/*
 * Wait until @l looks free: KV_SPIN_PAUSES pauses, then a yield per
 * look. Every 1024 pauses and at every yield, if its owner is marked
 * dead, recover that owner (recover.c takes no lock, so this cannot
 * deadlock): a dead holder never stops the store.
 */
static void kv_lock_wait(struct kv_ctx *c, kv_lock_t *l)
{
	u64 w, spins = 0;

	while ((w = __atomic_load_n(l, __ATOMIC_RELAXED))) {
		if (++spins < KV_SPIN_PAUSES) {
			__builtin_ia32_pause();
			continue;
		}
		kv_yield();
		if (w - 1 >= PLMC_MAX_SLOTS || w - 1 == c->slot)
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
		/* Acquire: pairs with kv_unlock()'s release store (and with
		 * recovery's release of a dead holder's word, recover.c). */
		if (__atomic_compare_exchange_n(l, &expect, want, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		kv_lock_wait(c, l);
	}
}

void kv_unlock(struct kv_ctx *c, kv_lock_t *l)
{
	/* Release: pairs with the next kv_lock()'s acquire cmpxchg. */
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&c->ks->held_lock, 0, __ATOMIC_RELAXED);
}
