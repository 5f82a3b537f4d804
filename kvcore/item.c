// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/item.c - items: building one, expiry and flush rules.
 *
 * An item is built completely (header, key, value) in memory no reader
 * can reach, then published by hash.c with a release store; from then on
 * only its chain link, its expiry (touch, gat, meta T), its marks (fetched,
 * CLOCK reference, meta's win) and its access time change (see kv.h). A
 * crash while building does not leak the chunk: the slot record names it
 * (ks->chunk, from the allocation's transaction on), and recovery retires
 * it (recover.c).
 *
 * Time is the store's: hdr->clock_sec (kept by the backend, never the
 * client), plus the offset of PLMC_OP_CLOCK in the test image only.
 */
#include "kv.h"

/*
 * memcached's exptime: 0 never; 1..30 days relative to now; larger is an
 * absolute unix time; negative is already expired.
 * Return: the absolute expiry (0 = never), or 1 for "already expired"
 * (the caller compares against now, which is always > 1 in real use,
 * and also treats exactly 1 as expired).
 */
u64 kv_exptime(const struct kv_ctx *c, s64 exptime)
{
	u64 at;

	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1;
	if (exptime <= KV_REL_MAX)
		at = c->now + (u64)exptime;
	else if ((u64)exptime <= c->now)
		return 1;
	else
		at = (u64)exptime;
	return at > 0xffffffffULL ? 0xffffffffULL : at; /* item times: u32 */
}

/*
 * memcached 1.6's size rule, so the same items fit: its 48-byte header,
 * the 8-byte CAS, the key and its NUL, 4 bytes of flags when they are
 * not 0, the value and its CRLF must fit the max item size. (Ours take
 * 48 + key + value bytes of a chunk: always less.)
 */
int kv_item_fits(const struct kv_ctx *c, u32 klen, u64 vlen, u32 flags)
{
	return vlen <= c->item_max &&
	       59 + klen + (flags ? 4 : 0) + vlen <= c->item_max;
}

_Static_assert(sizeof(struct kv_item) == 48,
	       "kv_item_new sets every header field: set a new one there too");

/*
 * Allocate an item for @klen + @vlen bytes and fill in all but the value,
 * flags, expiry and CAS (the caller copies the value from the client).
 * @hash: kv_hash(key) (only its top byte is kept: the item's tag).
 * Return: the item, or NULL with *err = PLMC_E_TOOBIG, PLMC_E_NOMEM or
 * PLMC_E_AGAIN (see kv_alloc_evict).
 */
struct kv_item *kv_item_new(struct kv_ctx *c, const char *key, u32 klen,
			    u32 hash, u64 vlen, u32 flags, int *err)
{
	u64 size = KV_ITEM_HDR + klen + vlen;
	struct kv_item *it;
	int cls;

	if (!kv_item_fits(c, klen, vlen, flags)) {
		*err = PLMC_E_TOOBIG;
		return 0;
	}
	/* A tenant makes room under its quota from its own items first. */
	if (KV_UNLIKELY(c->tenant)) {
		*err = kv_tenant_room(c, size);
		if (*err)
			return 0;
	}
	it = kv_alloc_evict(c, size, &cls, err);
	if (!it)
		return 0;
	/* Every header field, each once (no memset first): the chunk is
	 * this call's alone until kv_wr_link publishes it. */
	it->next = 0;
	it->rlink = 0;
	it->cas = 0;
	it->exptime = 0;
	it->time = (u32)c->now;
	it->atime = (u32)c->now;
	it->flags = flags;
	kv_it_set_vlen_tag(it, (u32)vlen, hash); /* <= item_max: 24 bits */
	it->klen = (u8)klen;
	it->tenant = (u8)c->tenant;
	it->cls = (u8)cls;
	/* HOT, unreferenced: wherever the chunk lies on the CLOCK hand's
	 * route, the hand's first visit only moves it to COLD (lru.c). */
	it->iflags = 0;
	memcpy(it->data, key, klen);
	return it;
}

/*
 * A new item for @old's key with room for @vlen value bytes, keeping
 * @old's flags and expiry (append, prepend, incr, decr). The value is
 * the caller's to fill. Return: as kv_item_new.
 */
struct kv_item *kv_item_copy(struct kv_ctx *c, const struct kv_item *old,
			     u64 vlen, int *err)
{
	struct kv_item *it = kv_item_new(c, old->data, old->klen,
					 (u32)old->tag << 24, vlen, old->flags,
					 err);

	if (!it)
		return 0;
	it->exptime = __atomic_load_n(&old->exptime, __ATOMIC_RELAXED);
	return it;
}
