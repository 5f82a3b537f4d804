// SPDX-License-Identifier: MIT
/*
 * libpl/slot.c - thread slots: which stack and recovery record a thread
 * uses inside the store.
 *
 * The store owns the truth: the gate claims slot i for this attachment
 * with a cmpxchg and answers PLMC_E_BUSY when another process or thread
 * holds it. This file only keeps threads of one process off each other's
 * indices (slot_map, atomic bit ops, no lock) and hands indices back:
 *   - first call of a thread: take the lowest free index, remember it in a
 *     thread-local and in a pthread key (whose destructor runs at exit);
 *   - PLMC_E_BUSY on a new index: drop it, try the next one,
 *     PLMC_MAX_SLOTS tries; BUSY on the thread's own index can only be a
 *     borrower (below) using it: yield and retry, then move on;
 *   - PLMC_E_NOSLOT: this process's uid holds the store's slot quota
 *     (hdr->slot_quota, the gate counts per uid), so the thread has no
 *     slot of its own: each call borrows an idle slot of another thread of this
 *     process (the gate's cmpxchg makes it exclusive), yielding while all
 *     are busy, PL_BORROW_MAX rounds, then PLMC_E_NOSLOT. A process may so
 *     run more threads than its quota; they share the quota's slots;
 *   - thread exit and detach: PLMC_OP_RELEASE through the gate, then free
 *     the index.
 * A crash leaves slots owned by a dead attach id until the backend marks
 * them dead: the module at file release (kmod), the liveness watcher of
 * any attached process (live.c: none, pku). Then any call recovers them,
 * and a claim of such a slot takes it over (gate.S).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include "pl.h"

__thread int pl_tls_slot PL_TLS = -1;
__thread unsigned long pl_tls_gen PL_TLS;
__thread __u64 pl_tls_clock_tsc PL_TLS;

/* Rounds over the process's slots before a borrower gives up; yields
 * between rounds. Calls are microseconds: this is seconds of all busy. */
#define PL_BORROW_MAX 100000
/* Yields on our own index while a borrower is on it. */
#define PL_OWN_BUSY_MAX 1000

static pthread_key_t pl_slot_key;
static pthread_once_t pl_slot_once = PTHREAD_ONCE_INIT;

static int slot_take(int start)
{
	int k;

	for (k = 0; k < PLMC_MAX_SLOTS; k++) {
		int i = (start + k) % PLMC_MAX_SLOTS;
		__u64 bit = 1ULL << (i & 63);
		__u64 *w = &pl.slot_map[i >> 6];

		if (__atomic_load_n(w, __ATOMIC_RELAXED) & bit)
			continue;
		if (!(__atomic_fetch_or(w, bit, __ATOMIC_ACQ_REL) & bit))
			return i;
	}
	return -1;
}

static void slot_put(int i)
{
	__atomic_fetch_and(&pl.slot_map[i >> 6], ~(1ULL << (i & 63)),
			   __ATOMIC_RELEASE);
}

static void slot_forget(void)
{
	pl_tls_gen = 0;
	pl_tls_slot = -1;
	pthread_setspecific(pl_slot_key, NULL);
}

/*
 * Give slot @i back to the store; BUSY (not ours) is fine: nothing held.
 * @tries > 1: BUSY may be a borrower on it for one call; retry that often.
 * Return: 0, or PLMC_E_BUSY if a call still runs on it after @tries.
 */
static int slot_release(int i, int tries)
{
	struct plmc_req req;

	memset(&req, 0, sizeof(req));
	while (tries-- > 0) {
		if (pl.hdr)
			pl_clock_refresh(pl.hdr);
		if (pl.gate(PLMC_OP_RELEASE, &req, (__u64)i) != PLMC_E_BUSY)
			return 0;
		sched_yield();
	}
	return PLMC_E_BUSY;
}

/* Thread exit: the key's value is slot + 1; TLS is still readable here. */
static void slot_exit(void *v)
{
	int i = (int)((uintptr_t)v - 1);

	if (pl_tls_gen != pl.gen || pl_tls_slot != i || !pl.gate)
		return; /* detached or re-attached since: not ours anymore */
	slot_release(i, PL_OWN_BUSY_MAX);
	slot_put(i);
	pl_tls_gen = 0;
	pl_tls_slot = -1;
}

static void slot_key_make(void)
{
	pthread_key_create(&pl_slot_key, slot_exit);
}

void pl_slots_init_once(void)
{
	pthread_once(&pl_slot_once, slot_key_make);
}

/*
 * Over quota: run the call on any index this process holds (slot_map),
 * when the gate finds it idle. BUSY and NOSLOT have no side effect.
 */
static long slot_borrow(__u64 op, const struct plmc_req *req)
{
	int round, i, held;
	long rc;

	for (round = 0; round < PL_BORROW_MAX; round++) {
		for (i = held = 0; i < PLMC_MAX_SLOTS; i++) {
			__u64 w = __atomic_load_n(&pl.slot_map[i >> 6],
						  __ATOMIC_ACQUIRE);

			if (!(w & (1ULL << (i & 63))))
				continue;
			held++;
			pl_live_poke(); /* no refresh here: see pl.h */
			rc = pl.gate(op, req, (__u64)i);
			if (rc != PLMC_E_BUSY && rc != PLMC_E_NOSLOT)
				return rc;
		}
		if (!held)
			break; /* this process holds no slot: nothing to borrow
				*/
		sched_yield();
	}
	return PLMC_E_NOSLOT;
}

/*
 * Slow path of pl_call(): no valid index yet, or the gate said BUSY on
 * ours (@moving). A BUSY or NOSLOT answer has no side effect in the store,
 * so the call is simply retried: on our index after a yield (a borrower
 * holds it for one call), on the next free index, or borrowed.
 */
long pl_call_slow(__u64 op, const struct plmc_req *req, int moving)
{
	int start = 0, tries;
	long rc;

	if (!pl.gate)
		return PLMC_E_DETACHED;
	if (moving) {
		for (tries = 0; tries < PL_OWN_BUSY_MAX; tries++) {
			sched_yield();
			pl_live_poke(); /* no refresh here: see pl.h */
			rc = pl.gate(op, req, (__u64)pl_tls_slot);
			if (rc != PLMC_E_BUSY)
				return rc;
		}
		start = pl_tls_slot + 1;
		slot_put(pl_tls_slot);
		slot_forget();
	}
	for (tries = 0; tries < PLMC_MAX_SLOTS; tries++) {
		int i = slot_take(start);

		if (i < 0) /* every index taken by our threads */
			return slot_borrow(op, req);
		if (pl.hdr)
			pl_clock_refresh(pl.hdr);
		pl_numa_stack(i); /* before the gate first touches it */
		rc = pl.gate(op, req, (__u64)i);
		if (rc == PLMC_E_NOSLOT) { /* quota reached: nothing held */
			slot_put(i);
			return slot_borrow(op, req);
		}
		if (rc != PLMC_E_BUSY) {
			pl_tls_slot = i;
			pl_tls_gen = pl.gen;
			pthread_setspecific(pl_slot_key,
					    (void *)(uintptr_t)(i + 1));
			return rc;
		}
		slot_put(i);
		start = i + 1;
	}
	return slot_borrow(op, req); /* every free slot is someone else's */
}

/*
 * E_AGAIN: the memory this call needs waits on another slot's call (a
 * reader descheduled inside its epoch). Bounded in time, not in tries:
 * on a loaded machine a descheduled reader can be off its CPU for tens
 * of milliseconds, so yield a while, then sleep with a growing pause,
 * and give up after PL_AGAIN_NS (the store is then full for real, or a
 * reader is stopped inside: SECURITY.md).
 */
#define PL_AGAIN_YIELDS 100
#define PL_AGAIN_NS	(2ULL * 1000 * 1000 * 1000)

static __u64 pl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

long pl_call_again(__u64 op, const struct plmc_req *req)
{
	__u64 end = pl_now_ns() + PL_AGAIN_NS;
	long rc = PLMC_E_AGAIN, pause = 10000; /* ns */
	int i;

	for (i = 0; rc == PLMC_E_AGAIN; i++) {
		if (i < PL_AGAIN_YIELDS) {
			sched_yield();
		} else {
			struct timespec ts = {0, pause};

			if (pl_now_ns() > end)
				break;
			nanosleep(&ts, NULL);
			if (pause < 1000000)
				pause *= 2;
		}
		rc = pl_call_once(op, req);
	}
	return rc == PLMC_E_AGAIN ? PLMC_E_NOMEM : rc;
}

/*
 * Detach: give back every index this process holds. Threads still alive
 * find their index stale (pl.gen moves on) and take a new one next time.
 * Context: pl_lock held, no thread inside a call (the caller's contract).
 */
void pl_slots_release_all(void)
{
	int i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		if (!(pl.slot_map[i >> 6] & (1ULL << (i & 63))))
			continue;
		slot_release(i, 1);
		slot_put(i);
	}
	slot_forget();
}

/*
 * Process exit: give back every index no call runs on. One with a call
 * on it (a thread still inside while exit() runs) stays owned, so the
 * backend marks it dead and the store recovers it.
 * Return: how many stayed owned.
 * Context: pl_lock held; other threads may still be running.
 */
int pl_slots_release_idle(void)
{
	int i, busy = 0;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		if (!(__atomic_load_n(&pl.slot_map[i >> 6], __ATOMIC_ACQUIRE) &
		      (1ULL << (i & 63))))
			continue;
		if (slot_release(i, 1))
			busy++;
	}
	return busy;
}
