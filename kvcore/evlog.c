// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/evlog.c - the eviction log: memcached's "watch evictions".
 *
 * The store evicts inside its callers' calls, so a server built on it
 * (plmcd) cannot see which keys went. Each live item an eviction
 * unlinks (evict.c) is written as one line of a ring of KV_EVLOG_N in
 * the kv area, but only while someone reads the ring: a read keeps the
 * log on until now + its keep seconds (evlog_until only moves forward),
 * so the eviction path pays one load and a branch when nobody watches,
 * and a reader that went away turns it off by itself.
 *
 * Lossy, as memcached's logger is: a line is claimed by one writer at a
 * time (the seq word goes to KV_EV_BUSY by a compare-and-swap); a writer
 * that finds its line claimed, or already written by a later lap, drops
 * its line; a reader that finds a line overwritten counts it skipped. A
 * line being written stops the read there (the next read goes on); a
 * writer that died on it leaves it BUSY until the ring laps it.
 *
 * Nothing here is part of the store's state: no lock, no redo log, no
 * invariant of the table depends on it. Readers get only lines of their
 * own tenant (a tenant's keys are its own, docs/tenants.md).
 */
#include "kv.h"

/* Write @it's line. Context: the stripe lock that unlinked @it is held
 * (its fields are fixed), no other lock. */
void kv_evlog_put(const struct kv_ctx *c, const struct kv_item *it)
{
	struct kv_area *a = kv_area();
	u64 s = __atomic_add_fetch(&a->evlog_seq, 1, __ATOMIC_RELAXED);
	struct kv_event *e = &a->evlog[s % KV_EVLOG_N];
	u64 old = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	/*
	 * Acquire on success: the line's stores below stay after the BUSY
	 * mark, so a reader that copied them and then reads seq unchanged
	 * (kv_evlog_get's second load) copied no store of this writer.
	 */
	if (old == KV_EV_BUSY || old >= s ||
	    !__atomic_compare_exchange_n(&e->seq, &old, KV_EV_BUSY, 0,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	e->exptime = it->exptime;
	e->atime = it->atime;
	e->at = (u32)c->now;
	e->vlen = it->vlen;
	e->klen = it->klen;
	e->cls = it->cls;
	e->fetched = !!(it->iflags & KV_IT_FETCHED);
	e->tenant = it->tenant;
	memcpy(e->key, it->data, it->klen);
	/* Release: pairs with kv_evlog_get's acquire load of seq: the
	 * line's fields are seen with its number. */
	__atomic_store_n(&e->seq, s, __ATOMIC_RELEASE);
}

/*
 * Copy line @s into @out. Return: 1 if copied whole, 0 if it was lost
 * (overwritten, or its writer dropped it), -1 if it is being written.
 */
static int kv_evlog_get(const struct kv_area *a, u64 s, struct kv_event *out)
{
	const struct kv_event *e = &a->evlog[s % KV_EVLOG_N];
	/* Acquire: pairs with kv_evlog_put's release of seq. */
	u64 s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);

	if (s1 == KV_EV_BUSY)
		return -1;
	if (s1 != s)
		return 0;
	memcpy(out, e, sizeof(*out));
	/* The copy's loads before the second load of seq; pairs with the
	 * acquire of kv_evlog_put's claim (a writer that began meanwhile
	 * changed seq before its first store). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s)
		return 0;
	out->klen = out->klen > KV_KEY_MAX ? KV_KEY_MAX : out->klen;
	return 1;
}

/* Keep the log on until now + @keep (never earlier than it is). */
static void kv_evlog_keep(const struct kv_ctx *c, u64 keep)
{
	u64 *u = &kv_area()->evlog_until, until = c->now + keep;
	u64 o = __atomic_load_n(u, __ATOMIC_RELAXED);

	while (keep && o < until &&
	       !__atomic_compare_exchange_n(u, &o, until, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void kv_evlog_fill(const struct kv_event *e, struct plmc_evict_ent *p)
{
	memset(p, 0, sizeof(*p));
	p->ttl = e->exptime ? (s64)e->exptime - (s64)e->at : -1;
	p->la = e->at - e->atime;
	p->clsid = (u32)e->cls + 1;
	p->size = e->vlen;
	p->klen = e->klen;
	p->fetched = e->fetched;
	memcpy(p->key, e->key, e->klen);
}

/* struct plmc_evlog's head, built on the stack (the lines go out one at
 * a time: the whole struct would be 4.5 KiB of the slot's stack). */
struct kv_evlog_hdr {
	u64 next;
	u64 skipped;
	u32 n;
	u32 pad;
};

_Static_assert(sizeof(struct kv_evlog_hdr) ==
		       __builtin_offsetof(struct plmc_evlog, ent),
	       "plmc_evlog's head");

/*
 * EVLOG: vlen = cursor (0: from now on), exptime = seconds to keep the
 * log on (0..KV_EVLOG_MAXKEEP), out = struct plmc_evlog.
 */
long kv_op_evlog(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_evlog *out = (struct plmc_evlog *)r->out;
	struct kv_area *a = kv_area();
	struct kv_evlog_hdr hdr = { 0 };
	struct plmc_evict_ent p;
	struct kv_event e;
	u64 cur = r->vlen, head;
	int got;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN | RQ_VLEN | RQ_EXPTIME))
		return PLMC_E_INVAL;
	if (r->buflen != sizeof(*out) || r->exptime < 0 ||
	    r->exptime > KV_EVLOG_MAXKEEP)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, sizeof(*out)))
		return PLMC_E_FAULT;
	kv_evlog_keep(c, (u64)r->exptime);
	head = __atomic_load_n(&a->evlog_seq, __ATOMIC_RELAXED);
	if (!cur || cur > head + 1) /* a new reader, or a cursor of another
				     * store: from the next line on */
		cur = head + 1;
	if (head + 1 - cur > KV_EVLOG_N) { /* lapped: those are gone */
		hdr.skipped = head + 1 - KV_EVLOG_N - cur;
		cur = head + 1 - KV_EVLOG_N;
	}
	for (; cur <= head && hdr.n < PLMC_EVLOG_MAX; cur++) {
		got = kv_evlog_get(a, cur, &e);
		if (got < 0)
			break;
		if (!got) {
			hdr.skipped++;
			continue;
		}
		if (e.tenant != c->tenant)
			continue;
		kv_evlog_fill(&e, &p);
		memcpy(&out->ent[hdr.n++], &p, sizeof(p));
	}
	hdr.next = cur;
	memcpy(out, &hdr, sizeof(hdr));
	return PLMC_OK;
}
