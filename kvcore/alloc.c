// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/alloc.c - store geometry and the item allocator.
 *
 * Geometry is a pure function of store_size (no init step): the kv area
 * header, then the bucket array, then 1 MiB pages up to the store's end.
 *
 * Size classes grow by 1.25 from 64 B to 1 MiB (8-byte aligned). Pages
 * come from a bump counter (pages_used, cmpxchg so it never passes the
 * end); a class carves its current page into chunks; freed chunks go on
 * the class's free list (linked through the chunk's first word). Each
 * class has its own lock; no other lock is held while taking it.
 *
 * Each class keeps its pages on a list (newest first, linked through
 * geo.pnext, one u32 per page after the bucket array) for the CLOCK
 * hand of evict.c.
 *
 * Crash: a death between taking a page and recording it as the class's
 * carve page leaks that page; a death holding a class lock leaves it held
 * (see lock.c). Store full: NULL (the caller says PLMC_E_NOMEM; eviction
 * comes later).
 */
#include "kv.h"

static const u32 kv_sizes[KV_NCLASSES] = {
	64,	80,	104,	136,	176,	224,	280,	352,	 440,
	552,	696,	872,	1096,	1376,	1720,	2152,	2696,	 3376,
	4224,	5280,	6600,	8256,	10320,	12904,	16136,	20176,	 25224,
	31536,	39424,	49280,	61600,	77000,	96256,	120320, 150400,	 188000,
	235000, 293752, 367192, 458992, 573744, 717184, 896480, 1048576,
};

_Static_assert(KV_ITEM_MAX == 1048576, "last class holds the largest item");

/* Return: 0, or PLMC_E_CORRUPT if the store is too small for its table. */
int kv_geo_init(struct kv_geo *g, u64 store_size)
{
	u64 n = store_size / 512, end, pages;

	n = n < 1024 ? 1024 : 1ULL << (63 - __builtin_clzll(n));
	end = PLMC_KV_ADDR + KV_AREA_HDR + n * sizeof(u64);
	g->pnext = (u32 *)end; /* one word per page; store_size / 1 MiB
				* bounds the page count */
	end += (store_size / KV_PAGE_SIZE) * sizeof(u32);
	pages = PLMC_STORE_ADDR + ((end - PLMC_STORE_ADDR + KV_PAGE_SIZE - 1) &
				   ~(KV_PAGE_SIZE - 1));
	if (pages - PLMC_STORE_ADDR >= store_size)
		return PLMC_E_CORRUPT;
	g->nbuckets = n;
	g->buckets = (u64 *)(PLMC_KV_ADDR + KV_AREA_HDR);
	g->pages = pages;
	g->npages = (store_size - (pages - PLMC_STORE_ADDR)) / KV_PAGE_SIZE;
	return g->npages ? 0 : PLMC_E_CORRUPT;
}

/* Return: the smallest class holding @size bytes, or -1 if too big. */
int kv_class_of(u64 size)
{
	int i;

	for (i = 0; i < KV_NCLASSES; i++)
		if (size <= kv_sizes[i])
			return i;
	return -1;
}

u64 kv_class_size(int cls)
{
	return kv_sizes[cls];
}

/* Chunks carved (or to be carved) from class @cls's pages: a bound for
 * one CLOCK revolution. Read without the lock: a hint. */
u64 kv_class_chunks(int cls)
{
	u64 n = __atomic_load_n(&kv_area()->cls[cls].npages, __ATOMIC_RELAXED);

	return n * (KV_PAGE_SIZE / kv_sizes[cls]);
}

/* Take a fresh page, or 0 if none is left. */
static u64 kv_page_take(struct kv_ctx *c)
{
	u64 *used = &kv_area()->pages_used;
	u64 n = __atomic_load_n(used, __ATOMIC_RELAXED);

	do {
		if (n >= c->geo.npages)
			return 0;
	} while (!__atomic_compare_exchange_n(
		used, &n, n + 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return c->geo.pages + n * KV_PAGE_SIZE;
}

/* Context: class lock held. */
static u64 kv_chunk_take(struct kv_ctx *c, struct kv_class *cl, u64 sz)
{
	u64 p = cl->free;

	if (p) {
		cl->free = *(u64 *)p;
		cl->nfree--;
		return p;
	}
	if (cl->carve && sz <= cl->carve_end - cl->carve) {
		p = cl->carve;
		cl->carve += sz;
		return p;
	}
	p = kv_page_take(c);
	if (!p)
		return 0;
	/* Newest first on the class's page list (the CLOCK walks it). */
	c->geo.pnext[(p - c->geo.pages) / KV_PAGE_SIZE] = (u32)cl->pages;
	cl->pages = (p - c->geo.pages) / KV_PAGE_SIZE + 1;
	__atomic_store_n(&cl->npages, cl->npages + 1, __ATOMIC_RELAXED);
	cl->carve = p + sz;
	cl->carve_end = p + KV_PAGE_SIZE;
	return p;
}

/* Return: a chunk of at least @size bytes (its class in *cls), or NULL. */
void *kv_alloc(struct kv_ctx *c, u64 size, int *cls)
{
	struct kv_class *cl;
	int k = kv_class_of(size);
	u64 p;

	if (k < 0)
		return 0;
	cl = &kv_area()->cls[k];
	kv_lock(c, &cl->lock);
	p = kv_chunk_take(c, cl, kv_sizes[k]);
	kv_unlock(c, &cl->lock);
	*cls = k;
	return (void *)p;
}

/* Context: no reader can reach @p any more (see epoch.c). */
void kv_free(struct kv_ctx *c, void *p, int cls)
{
	struct kv_class *cl = &kv_area()->cls[cls];

	kv_lock(c, &cl->lock);
	*(u64 *)p = cl->free;
	cl->free = (u64)p;
	cl->nfree++;
	kv_unlock(c, &cl->lock);
}

/* Address of the page with index + 1 = @n, or 0 for n == 0. */
static u64 kv_page_addr(struct kv_ctx *c, u64 n)
{
	return n ? c->geo.pages + (n - 1) * KV_PAGE_SIZE : 0;
}

/*
 * Move class @cls's CLOCK hand one chunk on, over its pages in list
 * order, wrapping around. Chunks past a page's carve point are zero
 * (pages come zeroed and never leave their class), so they read as
 * unlinked. Return: the chunk the hand was on, or 0 if the class has no
 * page.
 */
u64 kv_clock_next(struct kv_ctx *c, int cls)
{
	struct kv_class *cl = &kv_area()->cls[cls];
	u64 sz = kv_sizes[cls], p, pg, end;

	kv_lock(c, &cl->lock);
	p = cl->hand ? cl->hand : kv_page_addr(c, cl->pages);
	if (p) {
		pg = (p - c->geo.pages) / KV_PAGE_SIZE;
		end = c->geo.pages + (pg + 1) * KV_PAGE_SIZE;
		cl->hand = p + sz;
		if (cl->hand + sz > end) /* next page, or 0: from the top */
			cl->hand = kv_page_addr(c, c->geo.pnext[pg]);
	}
	kv_unlock(c, &cl->lock);
	return p;
}
