// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/item.c - items: building one, expiry rules.
 *
 * An item is built completely (header, key, value, CAS) in memory no
 * reader can reach, then published by hash.c with a release store; from
 * then on nothing but its chain link changes. A crash while building
 * leaks the chunk (no one else knows it).
 *
 * Time is the store's: hdr->clock_sec (kept by the backend, never the
 * client) plus the test offset of PLMC_OP_CLOCK.
 */
#include "kv.h"

/* Return: nonzero if @it has not expired at the call's store time. */
int kv_item_live(const struct kv_ctx *c, const struct kv_item *it)
{
	return !it->exptime || it->exptime > c->now;
}

/*
 * memcached's exptime: 0 never; 1..30 days relative to now; larger is an
 * absolute unix time; negative is already expired.
 * Return: the absolute expiry (0 = never), or 1 for "already expired"
 * (the caller compares against now, which is always > 1 in real use,
 * and also treats exactly 1 as expired).
 */
u64 kv_exptime(const struct kv_ctx *c, s64 exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1;
	if (exptime <= KV_REL_MAX)
		return c->now + (u64)exptime;
	return (u64)exptime <= c->now ? 1 : (u64)exptime;
}

/*
 * Allocate an item for @klen + @vlen bytes and fill in all but the value,
 * flags, expiry and CAS (the caller copies the value from the client).
 * Return: the item, or NULL with *err = PLMC_E_TOOBIG or PLMC_E_NOMEM.
 */
struct kv_item *kv_item_new(struct kv_ctx *c, const char *key, u32 klen,
			    u64 vlen, int *err)
{
	u64 size = KV_ITEM_HDR + klen + vlen;
	struct kv_item *it;
	int cls;

	if (vlen > KV_ITEM_MAX || size > KV_ITEM_MAX) {
		*err = PLMC_E_TOOBIG;
		return 0;
	}
	it = kv_alloc(c, size, &cls);
	if (!it && kv_reclaim(c))
		it = kv_alloc(c, size, &cls);
	if (!it) {
		*err = PLMC_E_NOMEM;
		return 0;
	}
	memset(it, 0, KV_ITEM_HDR);
	it->klen = (u8)klen;
	it->cls = (u8)cls;
	it->vlen = (u32)vlen;
	memcpy(it->data, key, klen);
	return it;
}
