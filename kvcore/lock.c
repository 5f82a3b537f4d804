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
 * (a holder's critical section is short), then yields a few times, then
 * sleeps between looks (20 us, doubling up to 1 ms), so waiters never
 * starve the holder, nor a dying holder's exit that the backend's death
 * mark waits for. Yielding alone is not enough: a fair scheduler (CFS)
 * keeps running a waiter that used little CPU, yield or not.
 */
#include "kv.h"

#define KV_SPIN_PAUSES	  1024 /* pauses before a waiter gives the CPU away */
#define KV_SPIN_YIELDS	  64   /* then yields, then sleeps */
#define KV_NAP_MIN_NS	  20000
#define KV_NAP_MAX_NS	  1000000
#define KV_SYS_SCHED_YIELD 24 /* x86-64 */
#define KV_SYS_NANOSLEEP   35

/* A raw syscall (the image calls nothing outside itself). */
static long kv_syscall2(long nr, long a, long b)
{
	long rc;

	__asm__ volatile("syscall"
			 : "=a"(rc)
			 : "0"(nr), "D"(a), "S"(b)
			 : "rcx", "r11", "memory");
	return rc;
}

/*
 * Give the CPU away for look @n past the pauses: sched_yield(2) at first,
 * then nanosleep(2) for 20 us doubling to 1 ms. The kernel neither reads
 * nor changes PKRU on either (nanosleep reads its timespec on this slot's
 * stack, which the open PKRU lets it). Results are ignored: a signal
 * ends a nap early (the next look comes sooner), a seccomp filter that
 * refuses both makes the wait a spin again.
 */
static void kv_lock_relax(u64 n)
{
	struct {
		s64 sec, nsec;
	} ts = {0, KV_NAP_MIN_NS};

	if (n < KV_SPIN_YIELDS) {
		kv_syscall2(KV_SYS_SCHED_YIELD, 0, 0);
		return;
	}
	n -= KV_SPIN_YIELDS;
	while (n-- && ts.nsec < KV_NAP_MAX_NS)
		ts.nsec *= 2;
	if (ts.nsec > KV_NAP_MAX_NS)
		ts.nsec = KV_NAP_MAX_NS;
	kv_syscall2(KV_SYS_NANOSLEEP, (long)&ts, 0);
}

/*
 * Wait until @l looks free: KV_SPIN_PAUSES pauses, then one
 * kv_lock_relax() per look. At each of those looks, if its owner is
 * marked dead, recover that owner (recover.c takes no lock, so this
 * cannot deadlock): a dead holder never stops the store.
 */
static void kv_lock_wait(struct kv_ctx *c, kv_lock_t *l)
{
	u64 w, spins = 0;

	while ((w = __atomic_load_n(l, __ATOMIC_RELAXED))) {
		if (++spins < KV_SPIN_PAUSES) {
			__builtin_ia32_pause();
			continue;
		}
		kv_lock_relax(spins - KV_SPIN_PAUSES);
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
