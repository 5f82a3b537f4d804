// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/tenant.c - tenants: several key spaces in one store
 * (docs/tenants.md).
 *
 * A store created with hdr->tenants = N keeps up to N tenants apart. Each
 * call runs for one tenant, which the store picks from what the client
 * cannot forge:
 *  - the caller's uid, from the per-process page (the module writes it;
 *    the none and pku backends write getuid() there and promise nothing
 *    against a hostile client anyway);
 *  - or, for a proxy (an entry flagged PLMC_TENANT_PROXY, e.g. plmcd's
 *    uid), the tenant it chose with PLMC_TOP_AS for this slot.
 * The tenant's index (1..N) is part of every key the call names
 * (kv_match compares it with the key), so no operation of one tenant can
 * find, change or unlink another's item. An item records its index
 * (kv_item.tenant), set before it is published and never changed.
 *
 * The table (kv_area.ten[1..N]) is keyed by a 32-bit id: the uid, or a
 * proxy's own numbering. An entry is taken once, under ten_lock, and
 * never given back (an index names the items that carry it). A uid the
 * table does not know takes a free entry with the default quota on its
 * first call; with none free its calls fail (PLMC_E_NOTENANT).
 *
 * The store's owner (hdr->owner_uid) and root take no entry: their calls
 * run in the store's own key space, index 0, which no tenant's key
 * reaches, without a quota; their flush_all is the whole store's (as
 * memcached's), and they may configure tenants, act for one (as a proxy
 * does), reset the counters and move pages.
 *
 * Quota: the chunk bytes of a tenant's linked items (kv_tenant.mem,
 * changed with the links in kv_wr_link) stay under its quota: before a
 * tenant allocates, it evicts its own items until the new chunk fits
 * (kv_tenant_room), and fails with NOMEM when it has none left. Eviction
 * for a tenant skips other tenants' items (kv_evict), and automatic page
 * moves are off (move.c), so one tenant cannot evict another's items.
 *
 * Per slot, the resolved tenant is cached in kv_area.tslot[].tcache (and
 * a proxy's choice in .tas), tagged with the attach id, so the common call
 * costs two loads and a compare; a slot that changes hands misses the
 * tag and resolves again.
 *
 * Locks: ten_lock only, never nested. Crash: an entry's key is stored
 * last (release) and the entry was free before, so a creator dying
 * leaves either a free entry or a whole one; recovery frees the lock.
 */
#include "kv.h"

#define KV_TAG_MASK ((1ULL << 56) - 1)

static const struct plmc_ppage *kv_ppage(void)
{
	return (const struct plmc_ppage *)PLMC_PPAGE_ADDR;
}

/* The attach id as a tag (low 56 bits), shifted to sit above an index. */
static u64 kv_tag(void)
{
	return (kv_ppage()->attach_id & KV_TAG_MASK) << 8;
}

/* The bytes a tenant with quota 0 may hold: an equal share of the pages. */
static u64 kv_tenant_quota(const struct kv_ctx *c, const struct kv_tenant *t)
{
	u64 q = __atomic_load_n(&t->quota, __ATOMIC_RELAXED);

	return q ? q : c->geo->npages * KV_PAGE_SIZE / kv_area()->tenants;
}

/* Return: the index of the entry keyed @id, or 0. Lock-free: acquire
 * pairs with kv_tenant_take()'s release store of key. */
static u32 kv_tenant_find(u32 id)
{
	u64 n = kv_area()->tenants, i;

	for (i = 1; i <= n; i++)
		if (__atomic_load_n(&kv_ten(i)->key, __ATOMIC_ACQUIRE) ==
		    (id | KV_TEN_TAKEN))
			return (u32)i;
	return 0;
}

/*
 * The entry keyed @id, taken now (with @quota and @flags) if there is
 * none. Return: its index, or 0 with the table full.
 */
static u32 kv_tenant_take(struct kv_ctx *c, u32 id, u64 quota, u64 flags)
{
	struct kv_area *a = kv_area();
	u32 i = kv_tenant_find(id), j;

	if (i)
		return i;
	kv_lock(c, &a->ten_lock);
	i = kv_tenant_find(id); /* taken while we waited? */
	for (j = 1; !i && j <= a->tenants; j++) {
		struct kv_tenant *t = kv_ten(j);

		if (t->key)
			continue;
		/* Free entries were never used (entries are never given
		 * back): only a dead taker's partial writes to undo. */
		memset(t, 0, sizeof(*t));
		t->quota = quota;
		t->flags = flags;
		/* Release: pairs with kv_tenant_find()'s acquire. */
		__atomic_store_n(&t->key, id | KV_TEN_TAKEN, __ATOMIC_RELEASE);
		i = j;
	}
	kv_unlock(c, &a->ten_lock);
	return i;
}

/*
 * The store's flush rule for c->tenant: kv_area's flush and the
 * tenant's, merged for this call's time. Both CAS marks hold at once
 * (an item is gone if its CAS is below either: below the larger); of
 * the times, those already come hold (the later covers the earlier),
 * and one still to come cannot hide anything during this call.
 */
void kv_tenant_flush_ctx(struct kv_ctx *c)
{
	const struct kv_area *a = kv_area();
	const struct kv_tenant *t = kv_ten(c->tenant);
	/* Acquire: pair with kv_flush()'s release stores of flush_time, so
	 * the CAS marks stored before them are read below. */
	u64 gt = __atomic_load_n(&a->flush_time, __ATOMIC_ACQUIRE);
	u64 tt = c->tenant ? __atomic_load_n(&t->flush_time, __ATOMIC_ACQUIRE)
			   : 0;
	u64 gc = __atomic_load_n(&a->flush_cas, __ATOMIC_RELAXED);
	u64 tc = c->tenant ? __atomic_load_n(&t->flush_cas, __ATOMIC_RELAXED)
			   : 0;
	int gon = gt && gt <= c->now, ton = tt && tt <= c->now;

	c->flush_cas = gc > tc ? gc : tc;
	if (gon && ton)
		c->flush_time = gt > tt ? gt : tt;
	else if (gon || ton)
		c->flush_time = gon ? gt : tt;
	else
		c->flush_time = gt ? gt : tt; /* not come: hides nothing */
}

/*
 * Pick the call's tenant (see the top of the file) and its flush rule.
 * Context: a store with tenants, after kv_ctx_init. Return: 0, or
 * PLMC_E_NOTENANT (no entry for the uid and none free).
 */
int kv_tenant_enter(struct kv_ctx *c)
{
	const struct plmc_ppage *pp = kv_ppage();
	struct kv_tslot *st = kv_tslot(c);
	u64 tag = kv_tag(), tc = st->tcache, as = st->tas;
	u32 uid = pp->uid, own;

	c->tadmin = uid == 0 || uid == kv_hdr()->owner_uid;
	if (c->tadmin) {
		own = 0; /* the store's own key space, no entry */
	} else if (KV_LIKELY((tc & ~0xffULL) == tag && (tc & 0xff))) {
		own = (u32)(tc & 0xff);
	} else {
		own = kv_tenant_take(c, uid, 0, 0);
		if (!own)
			return PLMC_E_NOTENANT;
		/* The slot's owner alone writes it (kv_stat). */
		__atomic_store_n(&st->tcache, tag | own, __ATOMIC_RELAXED);
	}
	c->tenant = own;
	/* A proxy's choice holds while the proxy flag does. */
	if ((as & ~0xffULL) == tag && (as & 0xff) &&
	    (c->tadmin ||
	     (__atomic_load_n(&kv_ten(own)->flags, __ATOMIC_RELAXED) &
	      PLMC_TENANT_PROXY)))
		c->tenant = (u32)(as & 0xff);
	kv_tenant_flush_ctx(c);
	return 0;
}

void kv_as_enter(struct kv_ctx *c, u32 t, struct kv_as *s)
{
	s->tenant = c->tenant;
	s->flush_time = c->flush_time;
	s->flush_cas = c->flush_cas;
	c->tenant = t;
	kv_tenant_flush_ctx(c);
}

void kv_as_exit(struct kv_ctx *c, const struct kv_as *s)
{
	c->tenant = s->tenant;
	c->flush_time = s->flush_time;
	c->flush_cas = s->flush_cas;
}

/* @d = 1: @it was linked; -1: unlinked. Locked adds (kv.h). */
void kv_tenant_charge(const struct kv_item *it, s64 d)
{
	struct kv_tenant *t = kv_ten(it->tenant);

	__atomic_add_fetch(&t->items, (u64)d, __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->bytes,
			   (u64)(d * (s64)(KV_ITEM_HDR + it->klen + it->vlen)),
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->mem, (u64)(d * (s64)kv_class_size(it->cls)),
			   __ATOMIC_RELAXED);
}

/* One more of the call's tenant's counter at byte offset @off. */
void kv_tenant_count(const struct kv_ctx *c, u64 off)
{
	__atomic_add_fetch((u64 *)((char *)kv_ten(c->tenant) + off), 1,
			   __ATOMIC_RELAXED);
}

void kv_tenant_get(const struct kv_ctx *c, const struct kv_item *hit)
{
	kv_tenant_count(c, __builtin_offsetof(struct kv_tenant, cmd_get));
	if (hit)
		kv_tenant_count(c,
				__builtin_offsetof(struct kv_tenant, get_hits));
}

/* Evict one of the call's tenant's items, from class @k first, then
 * from every other class. Return: 1 if one went. */
static int kv_tenant_evict(struct kv_ctx *c, int k)
{
	u64 i, n = kv_area()->ncls;

	if (kv_evict(c, k))
		return 1;
	for (i = 0; i < n; i++)
		if ((int)i != k && kv_cls((int)i)->npages && kv_evict(c, (int)i))
			return 1;
	return 0;
}

#define KV_ROOM_TRIES 64

/*
 * Make room under the call's tenant's quota for an item of @size bytes
 * (its chunk, in fact): evict its own items until the chunk fits.
 * Return: 0, PLMC_E_NOMEM (larger than the quota, or nothing of its
 * own left to evict) or PLMC_E_AGAIN (only retired memory held by
 * other calls' readers is left: libpl retries).
 */
int kv_tenant_room(struct kv_ctx *c, u64 size)
{
	struct kv_tenant *t = kv_ten(c->tenant);
	int k = kv_class_of(size), n;
	u64 need, quota = kv_tenant_quota(c, t);

	if (k < 0)
		return 0; /* kv_alloc refuses it */
	need = kv_class_size(k);
	for (n = 0; n < KV_ROOM_TRIES; n++) {
		if ((s64)__atomic_load_n(&t->mem, __ATOMIC_RELAXED) +
			    (s64)need <=
		    (s64)quota)
			return 0;
		if (need > quota || !kv_tenant_evict(c, k))
			break;
	}
	kv_tenant_count(c, __builtin_offsetof(struct kv_tenant, outofmemory));
	return PLMC_E_NOMEM;
}

/* A tenant's own view in STATS: its items and counters in memcached's
 * names, its quota as the memory limit. */
void kv_tenant_stats(const struct kv_ctx *c, struct plmc_stats *st)
{
	const struct kv_tenant *t = kv_ten(c->tenant);
	s64 items = (s64)__atomic_load_n(&t->items, __ATOMIC_RELAXED);
	s64 bytes = (s64)__atomic_load_n(&t->bytes, __ATOMIC_RELAXED);

	st->curr_items = items > 0 ? (u64)items : 0;
	st->bytes = bytes > 0 ? (u64)bytes : 0;
	st->limit_maxbytes = kv_tenant_quota(c, t);
	st->cmd_get = __atomic_load_n(&t->cmd_get, __ATOMIC_RELAXED);
	st->get_hits = __atomic_load_n(&t->get_hits, __ATOMIC_RELAXED);
	st->get_misses = st->cmd_get - st->get_hits;
	st->cmd_set = __atomic_load_n(&t->cmd_set, __ATOMIC_RELAXED);
	st->evictions = __atomic_load_n(&t->evictions, __ATOMIC_RELAXED);
	st->cmd_flush = __atomic_load_n(&t->cmd_flush, __ATOMIC_RELAXED);
}

/* Entry @i as the public struct (plmc.h). */
static void kv_tenant_out(const struct kv_ctx *c, u32 i, struct plmc_tenant *o)
{
	const struct kv_tenant *t = kv_ten(i);

	memset(o, 0, sizeof(*o));
	o->id = (u32)__atomic_load_n(&t->key, __ATOMIC_RELAXED);
	o->flags = (u32)__atomic_load_n(&t->flags, __ATOMIC_RELAXED);
	o->quota = kv_tenant_quota(c, t);
	o->items = (s64)__atomic_load_n(&t->items, __ATOMIC_RELAXED);
	o->bytes = (s64)__atomic_load_n(&t->bytes, __ATOMIC_RELAXED);
	o->mem = (s64)__atomic_load_n(&t->mem, __ATOMIC_RELAXED);
	o->cmd_get = __atomic_load_n(&t->cmd_get, __ATOMIC_RELAXED);
	o->get_hits = __atomic_load_n(&t->get_hits, __ATOMIC_RELAXED);
	o->cmd_set = __atomic_load_n(&t->cmd_set, __ATOMIC_RELAXED);
	o->evictions = __atomic_load_n(&t->evictions, __ATOMIC_RELAXED);
	o->outofmemory = __atomic_load_n(&t->outofmemory, __ATOMIC_RELAXED);
	o->cmd_flush = __atomic_load_n(&t->cmd_flush, __ATOMIC_RELAXED);
}

/* LIST: the owner and root in their own key space see every taken
 * entry; any other call (a proxy's for a tenant too) the one it runs
 * for. Return: how many there are to see. */
static long kv_tenant_list(struct kv_ctx *c, const struct plmc_req *r)
{
	struct plmc_tenant o;
	u64 n = 0, i;

	if (kv_req_only(r, RQ_OUT | RQ_BUFLEN | RQ_FLAGS))
		return PLMC_E_INVAL;
	if (r->buflen > PLMC_TENANT_MAX)
		return PLMC_E_INVAL;
	if (!kv_user_ok(r->out, r->buflen * sizeof(o)))
		return PLMC_E_FAULT;
	for (i = 1; i <= kv_area()->tenants; i++) {
		if (!__atomic_load_n(&kv_ten(i)->key, __ATOMIC_ACQUIRE) ||
		    ((!c->tadmin || c->tenant) && i != c->tenant))
			continue;
		if (n < r->buflen) {
			kv_tenant_out(c, (u32)i, &o);
			memcpy((struct plmc_tenant *)r->out + n, &o, sizeof(o));
		}
		n++;
	}
	return (long)n;
}

/* SET (owner or root): klen = id, vlen = quota, cas = flags. */
static long kv_tenant_set(struct kv_ctx *c, const struct plmc_req *r)
{
	struct kv_tenant *t;
	u32 i;

	if (kv_req_only(r, RQ_KLEN | RQ_VLEN | RQ_CAS | RQ_FLAGS))
		return PLMC_E_INVAL;
	if (!c->tadmin || c->tenant) /* acting for a tenant: its rights */
		return PLMC_E_PERM;
	if (r->cas & ~(u64)PLMC_TENANT_FLAGS || r->klen == PLMC_TENANT_SELF ||
	    r->vlen > c->geo->npages * KV_PAGE_SIZE)
		return PLMC_E_INVAL;
	i = kv_tenant_take(c, r->klen, r->vlen, r->cas);
	if (!i)
		return PLMC_E_NOTENANT;
	t = kv_ten(i);
	__atomic_store_n(&t->quota, r->vlen, __ATOMIC_RELAXED);
	__atomic_store_n(&t->flags, r->cas, __ATOMIC_RELAXED);
	return PLMC_OK;
}

/* AS (the owner, root or a proxy): klen = the id to act for,
 * PLMC_TENANT_SELF = own. The caller's own entry decides (c->tenant may
 * be a tenant acted for; kv_tenant_enter refreshed tcache). */
static long kv_tenant_as(struct kv_ctx *c, const struct plmc_req *r)
{
	u32 own = c->tadmin ? 0 : (u32)(kv_tslot(c)->tcache & 0xff), i = 0;
	u64 tag = kv_tag();

	if (kv_req_only(r, RQ_KLEN | RQ_FLAGS))
		return PLMC_E_INVAL;
	if (!c->tadmin &&
	    !(__atomic_load_n(&kv_ten(own)->flags, __ATOMIC_RELAXED) &
	      PLMC_TENANT_PROXY))
		return PLMC_E_PERM;
	if (r->klen != PLMC_TENANT_SELF) {
		i = kv_tenant_take(c, r->klen, 0, 0);
		if (!i)
			return PLMC_E_NOTENANT;
	}
	__atomic_store_n(&kv_tslot(c)->tas, i ? tag | i : 0, __ATOMIC_RELAXED);
	return PLMC_OK;
}

/* FLUSH (owner or root): flush_all of the whole store. */
static long kv_tenant_flush_all(struct kv_ctx *c, const struct plmc_req *r)
{
	struct kv_as as;

	if (kv_req_only(r, RQ_EXPTIME | RQ_FLAGS))
		return PLMC_E_INVAL;
	if (!c->tadmin || c->tenant) /* acting for a tenant: its rights */
		return PLMC_E_PERM;
	kv_as_enter(c, 0, &as);
	kv_flush(c, r->exptime);
	kv_as_exit(c, &as);
	return PLMC_OK;
}

/* PLMC_OP_TENANT: flags = the command. A store without tenants has none
 * of them (PLMC_E_INVAL). */
long kv_op_tenant(struct kv_ctx *c, const struct plmc_req *r)
{
	if (!kv_area()->tenants)
		return PLMC_E_INVAL;
	switch (r->flags) {
	case PLMC_TOP_LIST:
		return kv_tenant_list(c, r);
	case PLMC_TOP_SET:
		return kv_tenant_set(c, r);
	case PLMC_TOP_AS:
		return kv_tenant_as(c, r);
	case PLMC_TOP_FLUSH:
		return kv_tenant_flush_all(c, r);
	}
	return PLMC_E_INVAL;
}
