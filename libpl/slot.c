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
 *   - PLMC_E_BUSY: drop the index, try the next one, PLMC_MAX_SLOTS tries;
 *   - thread exit and detach: PLMC_OP_RELEASE through the gate, then free
 *     the index.
 * A crash leaves slots owned by a dead attach id; under kmod the module
 * marks them dead, under none they stay taken (none is for development).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include "pl.h"

__thread int pl_tls_slot PL_TLS = -1;
__thread unsigned long pl_tls_gen PL_TLS;

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

/* Give slot @i back to the store; BUSY (not ours) is fine: nothing held. */
static void slot_release(int i)
{
	struct plmc_req req;

	memset(&req, 0, sizeof(req));
	if (pl.hdr)
		pl_clock_refresh(pl.hdr);
	pl.gate(PLMC_OP_RELEASE, &req, (__u64)i);
}

/* Thread exit: the key's value is slot + 1; TLS is still readable here. */
static void slot_exit(void *v)
{
	int i = (int)((uintptr_t)v - 1);

	if (pl_tls_gen != pl.gen || pl_tls_slot != i || !pl.gate)
		return; /* detached or re-attached since: not ours anymore */
	slot_release(i);
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
 * Slow path of pl_call(): no valid index yet, or the gate said BUSY on
 * ours (@moving). A BUSY answer has no side effect in the store, so the
 * call is simply retried on the next free index.
 */
long pl_call_slow(__u64 op, const struct plmc_req *req, int moving)
{
	int start = 0, tries;
	long rc;

	if (!pl.gate)
		return PLMC_E_DETACHED;
	if (moving) {
		start = pl_tls_slot + 1;
		slot_put(pl_tls_slot);
		slot_forget();
	}
	for (tries = 0; tries < PLMC_MAX_SLOTS; tries++) {
		int i = slot_take(start);

		if (i < 0)
			return PLMC_E_NOSLOT;
		if (pl.hdr)
			pl_clock_refresh(pl.hdr);
		pl_numa_stack(i); /* before the gate first touches it */
		rc = pl.gate(op, req, (__u64)i);
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
	return PLMC_E_NOSLOT;
}

/* Bounded: after PL_AGAIN_MAX yields the store is full for real. */
#define PL_AGAIN_MAX 1000

long pl_call_again(__u64 op, const struct plmc_req *req)
{
	long rc = PLMC_E_AGAIN;
	int i;

	for (i = 0; i < PL_AGAIN_MAX && rc == PLMC_E_AGAIN; i++) {
		sched_yield();
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
		slot_release(i);
		slot_put(i);
	}
	slot_forget();
}
