/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plmc/geometry.h - where the store puts its table and its item pages.
 *
 * Header only, fixed-width types, no libc: the image (kvcore/alloc.c,
 * kv_geo_init), libpl (plmc_store_size_for) and the tools compute the
 * layout with these functions, so the size a creator asks for and the
 * size the store derives cannot disagree.
 *
 * Inside the store (offsets from PLMC_STORE_ADDR):
 *
 *   PLMC_KV_OFF                  struct kv_area (PLMC_GEO_AREA bytes)
 *   + PLMC_GEO_AREA              the first hash table, nbuckets u64
 *   then                         two table directories, tdir u64 each
 *   then                         the page links, one u32 per MiB of store
 *   next MiB boundary .. end     npages pages of 1 MiB
 *
 * The hash table starts as the first table (at most PLMC_GEO_TBL0
 * buckets) and grows online, doubling, up to max_buckets (store_size /
 * 512, as memcached's grows at 1.5 items a bucket: kvcore/table.c). A
 * grown table lives in pages (tpages for the largest, listed in a
 * directory), and while the table doubles the old one and the new one
 * are both there: at most treserve = 1.5 tpages pages. Those are kept
 * from the items, so ipages (the rest) is the item memory, memcached's
 * limit_maxbytes, and the table can always grow.
 */
#ifndef PLMC_GEOMETRY_H
#define PLMC_GEOMETRY_H

#include <linux/types.h>
#include <plmc/layout.h>

#define PLMC_GEO_AREA	   0x40000ULL	       /* struct kv_area, padded */
#define PLMC_GEO_PAGE	   (1ULL << 20)	       /* slab page */
#define PLMC_GEO_MIN_BKTS  1024ULL	       /* = the bucket lock stripes */
#define PLMC_GEO_TBL0	   (1ULL << 16)	       /* memcached's first hashpower */
#define PLMC_GEO_PAGE_BKTS (PLMC_GEO_PAGE / 8) /* buckets in a page */

struct plmc_geometry {
	__u64 nbuckets;	   /* the first table: power of two */
	__u64 max_buckets; /* the most the table grows to */
	__u64 tpages;	   /* pages of the largest table (0: no growth) */
	__u64 treserve;	   /* pages kept for the table's growth */
	__u64 table_off;   /* the first table */
	__u64 tdir;	   /* entries of a directory: tpages, at least 1 */
	__u64 dir_off;	   /* the two directories */
	__u64 pnext_off;   /* the page links */
	__u64 pages_off;   /* the first page, MiB-aligned */
	__u64 npages;	   /* pages (items, and grown tables) */
	__u64 ipages;	   /* npages - treserve: item memory */
};

/* The most buckets the table of a store of @store_size bytes has: the
 * largest power of two <= store_size / 512, at least PLMC_GEO_MIN_BKTS. */
static inline __u64 plmc_geo_buckets(__u64 store_size)
{
	__u64 n = store_size / 512;

	return n < PLMC_GEO_MIN_BKTS ? PLMC_GEO_MIN_BKTS
				     : 1ULL << (63 - __builtin_clzll(n));
}

/*
 * The layout of a store of @store_size bytes (MiB-aligned, in
 * [PLMC_STORE_MIN, PLMC_STORE_MAX]). Return: 0, or -1 if it has no room
 * for a page of items (then @g is not filled in).
 */
static inline int plmc_geometry(__u64 store_size, struct plmc_geometry *g)
{
	__u64 m = plmc_geo_buckets(store_size);
	__u64 n = m < PLMC_GEO_TBL0 ? m : PLMC_GEO_TBL0;
	__u64 tp = m > n ? m / PLMC_GEO_PAGE_BKTS : 0;
	__u64 table = PLMC_KV_OFF + PLMC_GEO_AREA;
	__u64 dir = table + n * sizeof(__u64);
	__u64 td = tp ? tp : 1;
	__u64 pnext = dir + 2 * td * sizeof(__u64);
	__u64 end = pnext + (store_size / PLMC_GEO_PAGE) * sizeof(__u32);
	__u64 pages = (end + PLMC_GEO_PAGE - 1) & ~(PLMC_GEO_PAGE - 1);
	__u64 np;

	if (pages >= store_size)
		return -1;
	np = (store_size - pages) / PLMC_GEO_PAGE;
	if (np <= tp + tp / 2)
		return -1;
	g->nbuckets = n;
	g->max_buckets = m;
	g->tpages = tp;
	g->treserve = tp + tp / 2;
	g->tdir = td;
	g->table_off = table;
	g->dir_off = dir;
	g->pnext_off = pnext;
	g->pages_off = pages;
	g->npages = np;
	g->ipages = np - g->treserve;
	return 0;
}

/* Pages of items in a store of @store_size bytes; 0 if it has none. */
static inline __u64 plmc_geo_npages(__u64 store_size)
{
	struct plmc_geometry g;

	return plmc_geometry(store_size, &g) ? 0 : g.ipages;
}

/*
 * The smallest store size whose item memory is exactly @item_bytes
 * (whole MiB, > 0): what `-m` asks for (memcached's limit_maxbytes).
 * Return: that size, or 0 if @item_bytes is not whole MiB or no store
 * of at most PLMC_STORE_MAX bytes has that much.
 *
 * One more MiB of store adds at most one item page (the links grow by
 * less than a MiB per MiB; at a power of two the table's reserve
 * doubles, which can only take pages away), so the count never jumps
 * over a value: stepping up by the pages still missing never passes it.
 */
static inline __u64 plmc_geo_store_size(__u64 item_bytes)
{
	__u64 want = item_bytes / PLMC_GEO_PAGE, s, have;

	if (!want || item_bytes % PLMC_GEO_PAGE)
		return 0;
	s = item_bytes + PLMC_GEO_PAGE;
	if (s < PLMC_STORE_MIN)
		s = PLMC_STORE_MIN;
	while (s <= PLMC_STORE_MAX) {
		have = plmc_geo_npages(s);
		if (have >= want) /* more only at the smallest size */
			return have == want ? s : 0;
		s += (want - have) * PLMC_GEO_PAGE;
	}
	return 0;
}

#endif /* PLMC_GEOMETRY_H */
