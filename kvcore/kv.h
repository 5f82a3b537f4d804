/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kvcore/kv.h - private to the image: the kv area, items, slot records.
 *
 * Everything kvcore keeps lives in the store (the data mapping): the image
 * has no writable section. A zeroed store plus the header fields written at
 * create (store_size, clock) is a valid empty store: every geometry value
 * is derived from store_size on each call, and zero means "empty" for
 * every list, counter and lock below. There is no init step to crash in.
 *
 * Pointers inside the store are absolute addresses: the range sits at the
 * same address in every process.
 *
 * Memory order: __atomic builtins with a stated order, never volatile.
 */
#ifndef KV_H
#define KV_H

#include <linux/types.h>
#include <plmc/layout.h>
#include <plmc/gate.h>
#include <plmc.h> /* status codes, struct plmc_stats (gcc's freestanding
		     * stddef.h/stdint.h only) */

typedef __u64 u64;
typedef __s64 s64;
typedef __u32 u32;
typedef __u16 u16;
typedef __u8 u8;

#define KV_KEY_MAX	250
#define KV_ITEM_MAX	(1024 * 1024)
#define KV_PAGE_SIZE	(1ULL << 20)
#define KV_NCLASSES	44
#define KV_NLOCKS	1024	   /* bucket lock stripes, power of two */
#define KV_AREA_HDR	0x10000ULL /* struct kv_area, padded */
#define KV_RETIRE_BATCH 32	   /* retired items before a reclaim scan */
#define KV_REL_MAX	(60 * 60 * 24 * 30) /* exptime <= this is relative */

#define KV_LIKELY(x)   __builtin_expect(!!(x), 1)
#define KV_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * A spinlock word: 0 = free, else the owner's slot index + 1, so a later
 * recovery pass can tell whose it is. No futex: a PFNMAP store has none.
 */
typedef u64 kv_lock_t;

/* One size class: its free list and the page being carved. */
struct kv_class {
	kv_lock_t lock;
	u64 free;  /* first free chunk (absolute), linked via word 0 */
	u64 carve; /* next uncarved byte in the current page, 0 = none */
	u64 carve_end;
	u64 nfree;
	u64 pad[3];
};

/*
 * The kv area, at PLMC_KV_ADDR. Followed (at KV_AREA_HDR) by the bucket
 * array, then by the 1 MiB pages (from the first 1 MiB boundary of the
 * store after the table).
 */
struct kv_area {
	u64 epoch; /* global reclamation epoch; see epoch.c */
	u64 pad0[7];
	u64 cas_seq; /* last CAS unique handed out, never reused */
	u64 pad1[7];
	u64 pages_used; /* 1 MiB pages taken from the bump pointer */
	s64 clock_off;	/* test clock offset (PLMC_OP_CLOCK), seconds */
	u64 pad2[6];
	struct kv_class cls[KV_NCLASSES];
	kv_lock_t locks[KV_NLOCKS]; /* striped bucket locks */
};

_Static_assert(sizeof(struct kv_area) <= KV_AREA_HDR, "kv area header");

/*
 * An item. Immutable once published (reachable from a bucket), except
 * .next, which writers change under the bucket lock with release stores
 * (readers follow it with acquire loads). Retired items keep .next (a
 * reader may still walk through them) and link .rnext instead.
 */
struct kv_item {
	u64 next;  /* chain successor (absolute), 0 = end */
	u64 rnext; /* retired list link, owned by the retiring slot */
	u64 hash;
	u64 cas;
	u64 exptime; /* absolute store seconds, 0 = never */
	u64 repoch;  /* epoch at retire */
	u32 flags;
	u32 vlen;
	u8 klen;
	u8 cls;
	u16 pad0;
	u32 pad1;
	char data[]; /* key, then value */
};

#define KV_ITEM_HDR sizeof(struct kv_item)

/*
 * kvcore's part of a slot record (struct plmc_slot.kv). Counters are per
 * slot, written only by the slot's current owner (no contention), summed
 * at stats time. They survive the slot changing hands.
 */
struct kv_slot {
	u64 get_hits;
	u64 get_misses;
	u64 cmd_get;
	u64 cmd_set;
	u64 delete_hits;
	u64 delete_misses;
	u64 total_items;
	s64 items;     /* delta of curr_items caused by this slot */
	s64 bytes;     /* delta of bytes */
	u64 held_lock; /* address of the lock being taken/held, 0 = none */
	u64 rhead;     /* retired list: oldest first */
	u64 rtail;
	u64 rcount;
};

_Static_assert(sizeof(struct kv_slot) <= sizeof(((struct plmc_slot *)0)->kv),
	       "kv_slot fits the slot record");

/* Geometry, derived from the store header on every call. */
struct kv_geo {
	u64 nbuckets; /* power of two */
	u64 *buckets;
	u64 pages; /* address of the first page */
	u64 npages;
};

static inline struct plmc_store_hdr *kv_hdr(void)
{
	return (struct plmc_store_hdr *)PLMC_STORE_ADDR;
}

static inline struct kv_area *kv_area(void)
{
	return (struct kv_area *)PLMC_KV_ADDR;
}

static inline struct plmc_slot *kv_slot_rec(u64 i)
{
	return (struct plmc_slot *)(PLMC_SLOTS_ADDR + i * PLMC_SLOT_SIZE);
}

static inline struct kv_slot *kv_slot(struct plmc_slot *s)
{
	return (struct kv_slot *)s->kv;
}

/* Context of one call: who we are and where things are. */
struct kv_ctx {
	struct plmc_slot *rec;
	struct kv_slot *ks;
	u64 slot;
	u64 now; /* store time, unix seconds */
	struct kv_geo geo;
};

/* Change a per-slot counter: only the slot's owner writes it (so no
 * locked op), stats reads it from other slots (so an atomic store). */
static inline void kv_add(void *ctr, s64 d)
{
	u64 *p = ctr;

	__atomic_store_n(p, *p + (u64)d, __ATOMIC_RELAXED);
}

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* lock.c */
void kv_lock(struct kv_ctx *c, kv_lock_t *l);
void kv_unlock(struct kv_ctx *c, kv_lock_t *l);

/* alloc.c */
int kv_geo_init(struct kv_geo *g, u64 store_size);
int kv_class_of(u64 size);
u64 kv_class_size(int cls);
void *kv_alloc(struct kv_ctx *c, u64 size, int *cls);
void kv_free(struct kv_ctx *c, void *p, int cls);

/* epoch.c */
void kv_epoch_enter(struct plmc_slot *s);
void kv_epoch_exit(struct plmc_slot *s);
void kv_retire(struct kv_ctx *c, struct kv_item *it);
int kv_reclaim(struct kv_ctx *c);

/* hash.c */
u64 kv_hash(const char *key, u32 klen);
struct kv_item *kv_lookup(struct kv_ctx *c, const char *key, u32 klen,
			  u64 hash);
int kv_store(struct kv_ctx *c, struct kv_item *it);
int kv_remove(struct kv_ctx *c, const char *key, u32 klen, u64 hash);

/* item.c */
int kv_item_live(const struct kv_ctx *c, const struct kv_item *it);
u64 kv_exptime(const struct kv_ctx *c, s64 exptime);
struct kv_item *kv_item_new(struct kv_ctx *c, const char *key, u32 klen,
			    u64 vlen, int *err);

/* stats.c */
void kv_stats_fill(struct kv_ctx *c, struct plmc_stats *st);

#endif /* KV_H */
