/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kvcore/kv.h - private to the image: the kv area, items, slot records.
 *
 * Everything kvcore keeps lives in the store (the data mapping): the image
 * has no writable section. A zeroed store plus the header fields written at
 * create (store_size, clock) is a valid empty store: every geometry value
 * is derived from store_size by the first call (and cached in the kv
 * area, keyed by store_size), and zero means "empty" for
 * every list, counter and lock below. There is no init step to crash in.
 *
 * Pointers inside the store are absolute addresses: the range sits at the
 * same address in every process.
 *
 * Memory order: __atomic builtins with a stated order, never volatile.
 * Every acquire, release, acq_rel and seq_cst one (and every fence) says
 * in a comment which operation it pairs with, as liburcu does; a relaxed
 * one is either a counter or a word whose readers accept old or new.
 */
#ifndef KV_H
#define KV_H

#include <linux/types.h>
#include <plmc/layout.h>
#include <plmc/geometry.h>
#include <plmc/gate.h>
#include <plmc.h> /* status codes, struct plmc_stats (gcc's freestanding
		     * stddef.h/stdint.h only) */

typedef __u64 u64;
typedef __s64 s64;
typedef __u32 u32;
typedef __s32 s32;
typedef __u16 u16;
typedef __u8 u8;

#define KV_KEY_MAX	250
#define KV_KEY_BUF	256 /* a key's stack copy: kv_key_take's last word */
#define KV_ITEM_MAX	PLMC_CFG_ITEM_MAX /* the largest class: one page */
#define KV_PAGE_SIZE	PLMC_GEO_PAGE
#define KV_NCLASSES	64 /* at most; the settings decide how many */
#define KV_CLS_TAB	2048 /* kv_class_of by table up to 16 KiB */
#define KV_NLOCKS	1024	   /* bucket lock stripes, power of two */
#define KV_AREA_HDR	PLMC_GEO_AREA /* struct kv_area, padded */
#define KV_RETIRE_BATCH 64	   /* retired items before a reclaim scan */
#define KV_RETIRE_BYTES (256 << 10) /* ... or retired chunk bytes (evict.c) */
#define KV_REL_MAX	(60 * 60 * 24 * 30) /* exptime <= this is relative */
#define KV_VERSION	"1.6.18-plmc"	    /* memcached semantics it follows */

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
	u64 pages;  /* the class's pages: index + 1 of the newest, 0 = none;
		     * each links to the next older via geo.pnext */
	u64 hand;   /* CLOCK hand: next chunk to visit, 0 = start over */
	u64 npages; /* pages on the list */
	/*
	 * memcached's per-class counters (stats items/slabs). Locked adds
	 * on write paths only, never on a hit; not in the redo log, so a
	 * death may leave them off by the call in flight.
	 */
	s64 items;     /* linked items of the class */
	s64 requested; /* their bytes (header + key + value) */
	u64 evicted;
	u64 evicted_nonzero; /* ... that had an expiry */
	u64 evicted_unfetched;
	u64 evicted_time;    /* seconds since the last evicted one's access */
	u64 reclaimed;
	u64 expired_unfetched;
	u64 outofmemory;
	u64 crawler_reclaimed; /* reclaimed by the write-path scan */
	/*
	 * A page leaving the class (move.c), under the class lock: mv =
	 * its index + 1 | chunks carved from it << 32, 0 = none; mv_got =
	 * its chunks taken back so far (off the free list, or freed into
	 * the move by kv_free). The page is off the class's list; when
	 * mv_got reaches the carved count no reader or writer can reach
	 * any of its chunks and it goes to the global pool.
	 */
	u64 mv;
	u64 mv_got;
	u64 last_take; /* store seconds of the last chunk taken (automove) */
	u64 mv_tried;  /* store seconds of automove's last dead-page look */
	u64 mv_poll;   /* store seconds of the last walk of mv's page */
	u64 mv_dst;    /* where mv's page goes: class index + 1, 0 = the
			* pool (slabs reassign's DST); a hint, relaxed */
};

_Static_assert(sizeof(struct kv_class) == 192, "kv_class: three lines");

/*
 * Counters of one slot, written only by the slot's current owner (no
 * contention, relaxed atomic stores), summed at stats time. They survive
 * the slot changing hands. Kept out of the slot record, which keeps its
 * room for the held lock, the retired list and the intent log.
 */
struct kv_stat {
	u64 get_hits_unused; /* get_hits: per class, kv_area.get_hits */
	u64 get_misses;
	u64 cmd_get;
	u64 cmd_set;
	u64 delete_hits;
	u64 delete_misses;
	u64 total_items;
	s64 items; /* delta of curr_items caused by this slot */
	s64 bytes; /* delta of bytes */
	u64 cmd_touch;
	u64 touch_hits;
	u64 touch_misses;
	u64 incr_hits;
	u64 incr_misses;
	u64 decr_hits;
	u64 decr_misses;
	u64 cas_hits;
	u64 cas_misses;
	u64 cas_badval;
	u64 get_expired;
	u64 get_flushed;
	u64 cmd_flush;
	u64 reclaimed;
	u64 expired_unfetched;
	u64 evicted_unfetched;
	u64 evictions;
	u64 scan_pos; /* next bucket of this slot's expiry scan (evict.c) */
	/* Reclamation spread over calls (epoch.c, kv_reclaim_step): items
	 * of this slot's retired list whose retire epoch is below rsafe
	 * may be freed at any time; a scan of the slots' epochs runs a
	 * chunk per call (rscan: next slot + 1 | the list's length at its
	 * start << 16, 0 = none), its running minimum in rmin, the epoch
	 * read at its start in rg; rfree: items at the list's head a
	 * finished scan found under the bound, not yet freed (a hint:
	 * each is checked against rsafe when freed). */
	u64 rsafe;
	u64 rscan;
	u64 rmin;
	u64 rg;
	u64 rfree;
};

_Static_assert(sizeof(struct kv_stat) == 256, "kv_stat: one block per slot");

/*
 * memcached's per-class command counters ("stats slabs"). Each is
 * counted where its store-wide total is, with the class of the item the
 * command found (cmd_set: of the item it built; append's: of the piece,
 * as memcached's), so the classes add up to the total.
 *  - get_hits, the one a read counts: per slot and class
 *    (kv_area.get_hits), written by the slot's owner alone like kv_stat
 *    (no locked op, no line another slot writes), summed at stats time;
 *    the store's get_hits is their sum (kv_stat keeps none).
 *  - the rest, counted on write paths only (each holds a bucket lock
 *    anyway): locked adds, one line per class (kv_area.ccmd), like
 *    kv_class's counters, and like them not in the redo log (a death
 *    may leave them off by the call in flight).
 */
struct kv_ccmd {
	u64 cmd_set;
	u64 delete_hits;
	u64 incr_hits;
	u64 decr_hits;
	u64 cas_hits;
	u64 cas_badval;
	u64 touch_hits;
	u64 pad;
};

_Static_assert(sizeof(struct kv_ccmd) == 64, "kv_ccmd: one line");

/*
 * One tenant (tenant.c, docs/tenants.md). key is written once, under
 * kv_area.ten_lock, with a release store after the rest is set; flags
 * and quota only by the owner or root (single relaxed stores: readers
 * take old or new). The counters are locked adds made right after the
 * transaction that links or unlinks an item (kv_wr_link), like the
 * class counters: a death between the two leaves them off by that one
 * item. flush_*: the tenant's own flush_all, as kv_area's.
 */
struct kv_tenant {
	u64 key;   /* id | 1 << 32 once taken, 0 = free */
	u64 flags; /* PLMC_TENANT_* */
	u64 quota; /* bytes of chunks, 0 = the default share */
	u64 flush_time;
	u64 flush_cas;
	s64 items;
	s64 bytes; /* header + key + value */
	s64 mem;   /* chunk bytes: what the quota bounds */
	u64 cmd_get;
	u64 get_hits;
	u64 cmd_set;
	u64 evictions;
	u64 outofmemory;
	u64 cmd_flush;
	u64 pad[2];
};

_Static_assert(sizeof(struct kv_tenant) == 128, "kv_tenant: two lines");

#define KV_TEN_TAKEN (1ULL << 32)

/* Geometry, derived from the store header once (dispatch.c, kv_derive;
 * the layout is plmc/geometry.h's). */
struct kv_geo {
	u64 nbuckets; /* the first table's buckets: power of two */
	u64 *buckets; /* the first table (table.c: dir offsets count from it) */
	u64 mask0;    /* the mask of the table a new store starts with */
	u32 *pnext; /* per page: index + 1 of the next page of its class */
	u64 pages;  /* address of the first page */
	u64 npages; /* all pages */
};

/* The rest of the geometry, for the table's growth (table.c) and the
 * page allocator: derived with kv_geo, not copied into each call. */
struct kv_tgeo {
	u64 maxbkt; /* the most buckets the table grows to */
	u64 *dirs;  /* the two directories of grown tables, tdir each */
	u64 tdir;
	u64 treserve; /* pages kept for the table's growth */
	u64 ipages;   /* pages items may hold: limit_maxbytes */
};

/*
 * A hash table (table.c): its mask and its directory, one offset from
 * geo.buckets per 2^KV_TPAGE_SHIFT buckets. Stored XOR the first
 * table's values, so a zeroed store holds the first table. Written only
 * while no call can read it (before tstate publishes it, after a grace
 * period once it was retired).
 */
struct kv_tdesc {
	u64 mask_x; /* mask ^ geo.mask0 */
	u64 dir_x;  /* directory address ^ &kv_area.tdir0 */
};

#define KV_TPAGE_SHIFT 17      /* buckets per table page: 2^17 (1 MiB) */
#define KV_T_CUR       1ULL    /* tstate: the table readers look in first */
#define KV_T_GROWING   2ULL    /* tstate: items move from it to the other */
/* tgrace: the grace epoch of the tstate store that made tstate @s is
 * not taken yet; the mark names @s (0..3), so a step takes that epoch
 * only once it sees the store (table.c, kv_table_mark). */
#define KV_T_MARK(s)    (~3ULL | (s))
#define KV_T_IS_MARK(g) (((g) | 3ULL) == ~0ULL)

/*
 * The kv area, at PLMC_KV_ADDR. Followed (at KV_AREA_HDR) by the bucket
 * array, then by the 1 MiB pages (from the first 1 MiB boundary of the
 * store after the table).
 */
/*
 * One line of the eviction log (evlog.c): what memcached's logger keeps
 * of an evicted item. seq: the line's number, KV_EV_BUSY while a writer
 * fills it, 0 = never written.
 */
#define KV_EVLOG_N  32 /* lines in the ring */
#define KV_EV_BUSY  (~0ULL)
#define KV_EVLOG_MAXKEEP 3600 /* seconds one read keeps the log on */

struct kv_event {
	u64 seq;
	u32 exptime; /* the item's, absolute store seconds, 0 = never */
	u32 atime;   /* its last access */
	u32 at;      /* store seconds of the eviction */
	u32 vlen;
	u8 klen;
	u8 cls;
	u8 fetched;
	u8 tenant;   /* only the same tenant reads the line */
	char key[KV_KEY_MAX];
	u8 pad[2];
};

_Static_assert(sizeof(struct kv_event) == 280, "kv_event: 280 bytes");

/*
 * One class's segmented LRU (lru.c): items per segment and memcached's
 * move counters. n[1..3]: warm, cold and temp items (hot is the class's
 * items less those: a new hot item costs no count). Locked adds, like
 * kv_class's counters: n[] changes under the stripe lock of the item
 * that moves, links or unlinks, so it is exact but for a death between
 * an item's change and its count (off by one then: the caps below are
 * read clamped, and stats items counts the items' bits afresh).
 */
struct kv_lru {
	s64 n[4];
	u64 moves_to_cold;
	u64 moves_to_warm;
	u64 moves_within_lru;
	u64 jpos; /* the rescue sweep's next chunk (lru.c), a hint */
	u64 evicted_active; /* evicted with REF set (read twice) */
	u64 direct;	    /* evictions and reclaims a writer made */
	u64 dpos; /* the maintainer's next chunk: ahead of the hand, which
		   * pushes it on when it gets there (alloc.c) */
	u64 pad[5];
};

_Static_assert(sizeof(struct kv_lru) == 128, "kv_lru: two lines");

struct kv_area {
	u64 epoch; /* global reclamation epoch; see epoch.c */
	/* One more than the highest slot index ever claimed: the reclaim
	 * scans read slots below it only (epoch.c). Only grows; raised by
	 * gate.S (lock cmpxchg) when it claims a free or dead slot, so
	 * before any announcement of that slot. */
	u64 slot_hi;
	u64 pad0[6];
	u64 cas_seq; /* last CAS unique handed out, never reused */
	u64 pad1[7];
	u64 pages_used; /* 1 MiB pages taken (under page_lock) */
	s64 clock_off;	/* test clock offset (PLMC_OP_CLOCK), seconds; only
			 * the test image reads or writes it */
	kv_lock_t page_lock; /* pages_used; never nested in another lock */
	u64 rec_gen;	     /* hdr->generation last scanned for the dead */
	kv_lock_t stat_lock; /* st_base and the class counters' reset */
	u64 orphans;	     /* free slots left with a retired list: a hint
			      * (epoch.c, kv_adopt), relaxed */
	/* The global page pool (move.c), under page_lock: pages no class
	 * has, zeroed, linked through geo.pnext (index + 1, 0 = none). */
	u64 pool;
	u64 npool;
	u64 automove; /* slab_automove mode + 1; 0 = the default (1) */
	/*
	 * flush_all (memcached's oldest_live / oldest_cas): once now >=
	 * flush_time, an item is gone if it was stored at or before
	 * flush_time, or if its CAS is below flush_cas (nonzero). 0 = no
	 * flush. Written with single stores, read relaxed.
	 */
	u64 flush_time;
	u64 flush_cas;
	u64 stat_reset; /* store time of the last stats reset */
	/* Page move counters (memcached's slab_reassign_*): locked adds,
	 * approximate across a death, like the class counters. */
	u64 slabs_moved;
	u64 mv_evictions; /* live items evicted off moving pages */
	u64 mv_inline;	  /* free chunks taken straight off a free list */
	u64 mv_busy;	  /* steps that found the page still in use */
	u64 mv_dead;	  /* dead items unlinked off moving pages */
	/*
	 * Class sizes, derived from the header's settings by whoever first
	 * finds ctab != their key (alloc.c). Every writer writes the same
	 * values, so racing builders agree; ctab is stored last (release).
	 */
	u64 ctab;
	u64 ncls;
	u32 csize[KV_NCLASSES];
	/* The class of a size up to KV_CLS_TAB * 8 bytes, by (size - 1) / 8:
	 * one load instead of a search (alloc.c, kv_class_of). Built with
	 * csize, before ctab. */
	u8 cls_tab[KV_CLS_TAB];
	struct kv_class cls[KV_NCLASSES];
	kv_lock_t locks[KV_NLOCKS];	   /* striped bucket locks */
	struct kv_stat st[PLMC_MAX_SLOTS]; /* per-slot counters */
	struct kv_stat st_base; /* stats reset: the sums at the reset */
	u64 mv_running; /* moves started and not finished: a hint for the
			 * write-path scan (move.c), locked adds */
	u64 mv_rescues; /* live items copied off moving pages */
	/* Per class: the store second its allocations began to wait for
	 * chunks retired behind other calls, 0 = not waiting (evict.c,
	 * kv_class_in_flight); relaxed, a hint. */
	u32 cwait[KV_NCLASSES];
	/* Per class: pages it gave as free memory and may take back, and
	 * the store second of the last one given (move.c, "Loans");
	 * relaxed, hints. */
	u32 lent[KV_NCLASSES];
	u32 lent_at[KV_NCLASSES];
	/*
	 * What the header's settings give (dispatch.c, kv_derive): valid
	 * when geo_key == store_size | 1, or | 3 in a store with tenants
	 * (0 in a new store: derive on the first call). Written before
	 * geo_key (release).
	 */
	u64 geo_key;
	u64 item_max;
	struct kv_geo geo;
	struct kv_tgeo tg;
	u64 sip[4]; /* SipHash's initial state from hdr->hash_key (hash.c) */
	/*
	 * The hash table and its growth (table.c). tstate: KV_T_CUR picks
	 * the table (tdesc[]) readers walk first; with KV_T_GROWING its
	 * items move, bucket tcursor next, into the other, which readers
	 * walk after it. tstate is written with release under a lock
	 * (page_lock to start a growth, the last bucket's stripe to end
	 * it), read with acquire. The rest under page_lock or the stripe
	 * lock of bucket tcursor, as table.c says.
	 */
	u64 tstate;
	/* The current table's buckets when they are one array: its address
	 * (odd: use the directory) and mask. Set before the first call is
	 * served (kv_table_init), then only by the switch to a new table,
	 * in its transaction before tstate: a call that read tstate reads
	 * the values of its table (the grace periods, table.c). */
	u64 tbase;
	u64 tmask;
	u64 tcursor; /* growing: the next old bucket to move */
	u64 tgrace;  /* epoch the next step waits out (0: none; MARK:
		      * not taken yet) */
	u64 tprep;   /* pages taken so far for the next table */
	u64 tfree;   /* pages of the retired table given back so far */
	u64 tpages;  /* pages tables hold (page_lock) */
	u64 tdir0;   /* the first table's directory: one entry, 0 */
	struct kv_tdesc tdesc[2];
	u64 tenants; /* hdr->tenants, checked (kv_derive): 0 = none */
	/* The tenant table (tenant.c): entries 1..tenants; 0 unused (an
	 * item of tenant 0 belongs to a store without tenants). */
	kv_lock_t ten_lock; /* taking a free entry; never nested */
	struct kv_tenant ten[PLMC_TENANT_MAX + 1];
	/*
	 * Per slot, written by the slot's owner alone: each attach id << 8
	 * | tenant index, 0 = none, valid only while the slot's owner is
	 * that attachment (a slot that changes hands finds a different
	 * attach id in its ppage, so it never inherits them). tcache: the
	 * owner's own tenant; tas: the tenant a proxy acts for (PLMC_TOP_AS).
	 */
	struct kv_tslot {
		u64 tcache;
		u64 tas;
	} tslot[PLMC_MAX_SLOTS];
	/* The class command counters (struct kv_ccmd): a stats reset
	 * zeroes ccmd in place and takes the get_hits sums of the moment
	 * into get_hits_base (under stat_lock; the slots' own are their
	 * owners' to write). */
	struct kv_ccmd ccmd[KV_NCLASSES];
	u64 get_hits_base[KV_NCLASSES];
	/* Store seconds of each class's last look for dead items before a
	 * new page (evict.c, kv_reap_dead): a hint, relaxed. */
	u32 reap_at[KV_NCLASSES];
	u64 get_hits[PLMC_MAX_SLOTS][KV_NCLASSES];
	/*
	 * The eviction log (evlog.c, memcached's "watch evictions"): lines
	 * are written while now < evlog_until, which each read moves on
	 * (never back); evlog_seq numbers them (locked adds). Outside the
	 * redo log: a death leaves at most one line lost.
	 */
	u64 evlog_until;
	u64 evlog_seq;
	struct kv_event evlog[KV_EVLOG_N];
	/* The segmented LRU (lru.c): temp_ttl is memcached's
	 * temporary_ttl (0 = no TEMP segment; PLMC_OP_LRU sets it),
	 * juggles its maintainer's steps (lru_maintainer_juggles). */
	u64 temp_ttl;
	u64 juggles;
	struct kv_lru lru[KV_NCLASSES];
};

_Static_assert(sizeof(struct kv_area) <= KV_AREA_HDR, "kv area header");

/*
 * An item: 48 bytes of header, then key, then value (memcached 1.6 spends
 * 48 + 8 (CAS) + key + 1 + value + 2). Immutable once published
 * (reachable from a bucket), except:
 *  - .next, which writers change under the bucket lock with release
 *    stores (readers follow it with acquire loads);
 *  - .exptime, which touch/gat change under the bucket lock with one
 *    relaxed 4-byte store (readers load it relaxed: old or new, both
 *    valid);
 *  - .iflags, where a reader sets KV_IT_FETCHED/REF once (only when
 *    clear);
 *  - .atime, which a reader moves forward with a relaxed store at most
 *    once per KV_ATIME_STEP seconds (memcached's ITEM_UPDATE_INTERVAL),
 *    so a hot item's line is not written on every hit.
 * Retired items keep .next (a reader may still walk through them) and
 * link .rlink instead: the one word no reader reads. Times are store
 * seconds (unix), 32 bits: they last until 2106; an absolute exptime
 * past that is clamped.
 *
 * What is not here, and why nothing is lost (store layout 3; it was 56
 * bytes): the key's hash but its top byte (.tag, in vlen's spare bits:
 * what a lookup compares first), which every other user recomputes from
 * the key it holds anyway (the table's growth, the evictor, the mover
 * and the check hash the key),
 * and 4 bytes of the retired list: the successor is an 8-aligned offset
 * into the store and the retire epoch keeps 27 bits (KV_RL_*, epoch.c).
 * memcached keeps its CAS in the item too (after its 48 bytes).
 */
struct kv_item {
	u64 next;    /* chain successor (absolute), 0 = end */
	u64 rlink;   /* retired list: successor and retire epoch (KV_RL_*),
		      * owned by the retiring slot; read by no reader */
	u64 cas;
	u32 exptime; /* absolute store seconds, 0 = never */
	u32 time;    /* store seconds when linked (flush_all compares it) */
	u32 atime;   /* store seconds of the last access, KV_ATIME_STEP fresh */
	u32 flags;   /* the client's 32-bit flags */
	u32 vlen : 24; /* value bytes: at most 1 MiB (PLMC_CFG_ITEM_MAX) */
	u32 tag : 8;   /* kv_hash(key) >> 24: what a lookup compares first
			* (kv_match); set with vlen, kv_it_set_vlen_tag */
	u8 klen;
	u8 tenant;   /* tenant index, 0 without tenants: part of the key
		      * (kv_match compares klen and tenant as one word) */
	u8 cls;
	u8 iflags;   /* KV_IT_*; bits 6 and 7: the LRU segment */
	char data[]; /* key, then value */
};

_Static_assert(sizeof(struct kv_item) == PLMC_ITEM_HDR, "item header: 48 bytes");
_Static_assert(PLMC_CFG_ITEM_MAX < 1U << 24, "vlen fits its 24 bits");

/*
 * vlen and tag share the 4-byte word at KV_IT_VT_OFF (vlen in bits
 * 0-23, tag in 24-31: the byte at KV_IT_TAG_OFF, little-endian). The tag
 * is the hash's top byte (the bucket takes the low bits), so a chain's
 * other items mostly differ there: a lookup compares the tag byte, then
 * klen and tenant as one 16-bit word, then the key, as it compared the
 * 32-bit hash before (layout 2).
 */
#define KV_IT_VT_OFF  (__builtin_offsetof(struct kv_item, klen) - 4)
#define KV_IT_TAG_OFF (__builtin_offsetof(struct kv_item, klen) - 1)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the tag is the vlen word's top byte");

static inline u8 kv_it_tag(const struct kv_item *it)
{
	return ((const u8 *)it)[KV_IT_TAG_OFF];
}

/* vlen and tag in one store: @it is the caller's, not yet published. */
static inline void kv_it_set_vlen_tag(struct kv_item *it, u32 vlen, u32 hash)
{
	*(u32 *)((char *)it + KV_IT_VT_OFF) = vlen | (hash >> 24) << 24;
}

/* vlen and klen of a chunk that may be mid-rebuild (one load each;
 * the caller checks them before trusting them). */
static inline u32 kv_it_vlen_racy(const struct kv_item *it)
{
	return __atomic_load_n((const u32 *)((const char *)it + KV_IT_VT_OFF),
			       __ATOMIC_RELAXED) &
	       0xffffff;
}

/*
 * .rlink: bits 0-26 the low 27 bits of the item's retire epoch, bits
 * 27-63 the next retired item's offset from PLMC_STORE_ADDR in 8-byte
 * units (0 = none: offset 0 is the store header, never an item). Items
 * are 8-aligned (pages are MiB-aligned, chunk sizes multiples of 8) and
 * a store is under 2^40 bytes, so 37 bits address every one. The epoch
 * sits low so that widening it (epoch.c) needs no shift.
 */
#define KV_RL_EPOCH_BITS 27
#define KV_RL_EPOCH_MASK ((1ULL << KV_RL_EPOCH_BITS) - 1)
_Static_assert((PLMC_STORE_MAX >> 3) < 1ULL << (64 - KV_RL_EPOCH_BITS),
	       "rlink's offset covers the largest store");

/* The retired item after the one whose rlink is @rl; 0 if none. */
static inline u64 kv_rl_next(u64 rl)
{
	u64 o = (rl >> (KV_RL_EPOCH_BITS - 3)) & ~7ULL; /* offset, bytes */

	return o ? PLMC_STORE_ADDR + o : 0;
}

/* An rlink naming @next (an item address, or 0) and retire epoch @r. */
static inline u64 kv_rl_make(u64 next, u64 r)
{
	return (next ? (next - PLMC_STORE_ADDR) << (KV_RL_EPOCH_BITS - 3) : 0) |
	       (r & KV_RL_EPOCH_MASK);
}

/* @rl with its successor set to @next (its epoch kept). */
static inline u64 kv_rl_link(u64 rl, u64 next)
{
	return (rl & KV_RL_EPOCH_MASK) | kv_rl_make(next, 0);
}

/* The retire epoch's low bits kept in @rl. */
static inline u64 kv_rl_epoch(u64 rl)
{
	return rl & KV_RL_EPOCH_MASK;
}

#define KV_ATIME_STEP 60 /* seconds between a hot item's atime stores */

#define KV_IT_FETCHED 1 /* read at least once (expired_unfetched) */
#define KV_IT_REF     2 /* CLOCK reference bit: read since the hand passed */
#define KV_IT_LINKED                                                           \
	4 /* in a chain (a hint for the evictor; the chain                     \
	   * itself, under the stripe lock, is the truth) */
#define KV_IT_STALE 8 /* meta: invalidated, served as stale (meta.c) */
#define KV_IT_WON   16 /* meta: a win token was handed out (meta.c) */
#define KV_IT_BINKEY 32 /* meta: the key was stored base64-decoded (ms b) */
/*
 * The item's LRU segment (lru.c, memcached's HOT, WARM, COLD and TEMP
 * queues named on the CLOCK): bits 6-7. 0 is HOT, so a new item is hot
 * with no store; TEMP is set before the link (kv_lru_temp). A linked
 * item's segment changes only under its stripe lock, by one
 * compare-and-swap of .iflags (readers set FETCHED/REF beside it), so
 * an unlink, which holds the same lock, counts the segment it really
 * leaves.
 */
#define KV_IT_SEG   0xc0
#define KV_IT_HOT   0x00
#define KV_IT_WARM  0x40
#define KV_IT_COLD  0x80
#define KV_IT_TEMP  0xc0
#define KV_SEG_IDX(f) (((f) & KV_IT_SEG) >> 6) /* 0 hot .. 3 temp */

/* What a lookup found (kv_item_state). */
enum kv_state { KV_LIVE = 0, KV_EXPIRED = 1, KV_FLUSHED = 2 };

#define KV_ITEM_HDR sizeof(struct kv_item)

/*
 * kvcore's part of a slot record (struct plmc_slot.kv): the recovery
 * record of the call in flight (recover.c reads it after a death).
 *
 * Every change of shared state is a redo transaction (tx.c): its stores
 * (address, value) are written to log[], then nlog is set (the commit),
 * then they are applied, then nlog is cleared. A recoverer that finds
 * nlog != 0 applies them again: each is an absolute store made under a
 * lock the dead slot still holds (or to memory only it owns), so doing
 * it twice is doing it once. Between transactions the record says what
 * the call owns: chunk (allocated, not yet linked or freed), pending
 * (unlinked, not yet retired), spare (a page not yet given to a class)
 * and the held lock.
 */
#define KV_LOG_MAX 8 /* stores per transaction */

struct kv_slot {
	u64 seq;       /* calls entered on this slot (check.c: did anyone
			* run while the check walked?); the owner's only */
	u64 held_lock; /* address of the lock being taken/held, 0 = none */
	u64 rhead;     /* retired list: oldest first */
	u64 rtail;
	u64 rcount;
	u64 crash_at; /* test image: enum plmc_crash_point armed by the
		       * owner; 0 in the production image */
	u64 chunk;    /* owned chunk: address | class << 56, 0 = none */
	u64 pending;  /* unlinked item not yet on the retired list */
	u64 spare;    /* a taken page no class has yet, 0 = none */
	u64 nlog;     /* committed stores in log[], 0 = no transaction */
	u64 log[2 * KV_LOG_MAX]; /* address (width in bits 62-63), value */
};

_Static_assert(sizeof(struct kv_slot) == sizeof(((struct plmc_slot *)0)->kv),
	       "kv_slot fills the slot record");
/* The module reads these two (layout.h, kmod/stop.c). */
_Static_assert(__builtin_offsetof(struct kv_slot, seq) == PLMC_KV_SEQ * 8,
	       "seq is kv[PLMC_KV_SEQ]");
_Static_assert(__builtin_offsetof(struct kv_slot, held_lock) ==
		       PLMC_KV_HELD_LOCK * 8,
	       "held_lock is kv[PLMC_KV_HELD_LOCK]");

#define KV_CHUNK_ADDR(x) ((x) & ((1ULL << 56) - 1))
#define KV_CHUNK_CLS(x)	 ((int)((x) >> 56))
#define KV_TX_W32	 (1ULL << 62) /* a 4-byte store */

/*
 * A transaction being built (tx.c): its stores go straight into the log
 * of the slot record @ks it will be committed in (no copy at commit).
 * That is safe while the record's nlog is 0, which holds between
 * transactions: a recoverer ignores log[] until the commit, and only
 * the record's owner (this call, or the recoverer that claimed it)
 * writes it. Nothing may commit another transaction in the same record
 * between kv_tx_init and kv_tx_commit (recovery of another slot, which
 * a lock wait may run, commits only in that slot's record).
 */
struct kv_tx {
	u32 n;
	u32 w32; /* a 4-byte store is logged (kv_tx_set32): the commit's
		  * apply tests each entry's width only then */
	struct kv_slot *ks;
};

static inline void kv_tx_init(struct kv_tx *t, struct kv_slot *ks)
{
	t->n = 0;
	t->w32 = 0;
	t->ks = ks;
}

/*
 * A transaction holds at most KV_LOG_MAX stores (the longest use 7 of
 * them). One more would write past the slot record's log: it traps
 * instead, before anything is committed (a crash with nothing to
 * repair). Every test runs the store, so a path that grew too long
 * fails there; the check is one compare.
 */
static inline void kv_tx_room(const struct kv_tx *t)
{
	if (KV_UNLIKELY(t->n >= KV_LOG_MAX))
		__builtin_trap();
}

/* Plain stores: the record is this call's own, and kv_tx_commit()'s
 * release store of nlog publishes them to a recoverer. */
static inline void kv_tx_put(struct kv_tx *t, u64 a, u64 v)
{
	kv_tx_room(t);
	t->ks->log[2 * t->n] = a;
	t->ks->log[2 * t->n + 1] = v;
	t->n++;
}

static inline void kv_tx_set(struct kv_tx *t, void *addr, u64 v)
{
	kv_tx_put(t, (u64)addr, v);
}

static inline void kv_tx_set32(struct kv_tx *t, u32 *addr, u32 v)
{
	kv_tx_put(t, (u64)addr | KV_TX_W32, v);
	t->w32 = 1;
}

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
	struct kv_stat *st;
	u64 slot;
	u64 now;	/* store time, unix seconds */
	u64 flush_time; /* kv_area's, read once per call */
	u64 flush_cas;
	u64 item_max;	/* the store's max item size (memcached's rule) */
	const struct kv_item *pin; /* item the call is copying from: never
				    * evicted under it */
	long recovered; /* dead slots this call recovered */
	int reused;	/* chunks this call took off its retired list */
	u32 tenant;	/* the call's tenant index (0: the store has none);
			 * every key it names is this tenant's. Beside
			 * reused: both zeroed by one store */
	u32 tadmin;	/* the caller is the store's owner or root */
	const struct kv_geo *geo; /* kv_area's, derived once (kv_derive) */
};

/* A per-class counter (struct kv_class): a locked add, write paths only. */
static inline void kv_cls_add(int cls, void *ctr, s64 d)
{
	(void)cls;
	__atomic_add_fetch((u64 *)ctr, (u64)d, __ATOMIC_RELAXED);
}

static inline struct kv_class *kv_cls(int cls)
{
	return &kv_area()->cls[cls];
}

/* This call's slot's get_hits of class @cls (struct kv_ccmd says why
 * per slot): bump it with kv_add. */
static inline u64 *kv_hits(const struct kv_ctx *c, int cls)
{
	u64 *p = &kv_area()->get_hits[c->slot][cls];

	/* One address for kv_add's load and store: gcc otherwise derives
	 * it twice (a get pays every instruction here). */
	__asm__("" : "+r"(p));
	return p;
}

/* Class @cls's write-path command counters (struct kv_ccmd): bump one
 * with kv_cls_add. */
static inline struct kv_ccmd *kv_ccmd(int cls)
{
	return &kv_area()->ccmd[cls];
}

/*
 * Test-only death at a named point (PLMC_OP_CRASH arms it). Only the test
 * image (PLMC_TEST_IMAGE, kvcore/build.mk) has the points; in the
 * production image they compile to nothing.
 */
#ifdef PLMC_TEST_IMAGE
static inline void kv_crash(const struct kv_ctx *c, int point)
{
	if (KV_UNLIKELY(__atomic_load_n(&c->ks->crash_at, __ATOMIC_RELAXED) ==
			(u64)point))
		__builtin_trap();
}
#else
static inline void kv_crash(const struct kv_ctx *c, int point)
{
	(void)c;
	(void)point;
}
#endif

/* Change a per-slot counter: only the slot's owner writes it (so no
 * locked op), stats reads it from other slots (so an atomic store). */
static inline void kv_add(void *ctr, s64 d)
{
	u64 *p = ctr;

	__atomic_store_n(p, *p + (u64)d, __ATOMIC_RELAXED);
}

/*
 * Word-wide access at any alignment (x86 allows it; may_alias keeps gcc's
 * aliasing rules out of it). Used by lib.c's copies and compares, the key
 * check and the hash: every one reads only the bytes it was given, so a
 * client buffer that ends at an unmapped page is never read past.
 */
typedef u64 kv_u64u __attribute__((aligned(1), may_alias));
typedef u32 kv_u32u __attribute__((aligned(1), may_alias));
typedef u16 kv_u16u __attribute__((aligned(1), may_alias));

static inline u64 kv_ld64(const void *p)
{
	return *(const kv_u64u *)p;
}

static inline void kv_st64(void *p, u64 v)
{
	*(kv_u64u *)p = v;
}

/* The @n (0..7) bytes at @p as a little-endian word (zero above them),
 * each byte read once, none past p + n: two overlapping loads. */
static inline u64 kv_ld_short(const void *p, u32 n)
{
	const u8 *b = p;

	if (n >= 4)
		return (u64) * (const kv_u32u *)b |
		       (u64) * (const kv_u32u *)(b + n - 4) << (8 * (n - 4));
	if (!n)
		return 0;
	return (u64)b[0] | (u64)b[n >> 1] << (8 * (n >> 1)) |
	       (u64)b[n - 1] << (8 * (n - 1));
}

/* Store the low @n (0..7) bytes of @w at @p, none past p + n. */
static inline void kv_st_short(void *p, u64 w, u32 n)
{
	u8 *b = p;
	u32 i;

	for (i = 0; i < n; i++, w >>= 8)
		b[i] = (u8)w;
}

/*
 * A word of client memory, loaded once: the empty asm makes the value
 * opaque, so the compiler can neither load it again from client memory
 * (where the client may have changed it) instead of keeping the
 * register, nor assume the two are equal. No instruction is added.
 */
static inline u64 kv_ld64_once(const void *p)
{
	u64 w = kv_ld64(p);

	asm("" : "+r"(w));
	return w;
}

/* Copy @n bytes, a compile-time multiple of 8 (a request, a response,
 * an mget entry): unrolled inline, each word read once. */
static inline __attribute__((always_inline)) void
kv_copy_words(void *d, const void *s, u64 n)
{
	u64 i;

#pragma GCC unroll 16
	for (i = 0; i < n; i += 8)
		kv_st64((u8 *)d + i, kv_ld64_once((const u8 *)s + i));
}

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* tx.c */
void kv_tx_commit(const struct kv_ctx *c, struct kv_tx *t, int point);
void kv_tx_replay(struct kv_slot *ks);

/* recover.c */
int kv_slot_dead(const struct plmc_slot *s);
int kv_recover_slot(struct kv_ctx *c, u64 i);
void kv_recover_own(struct kv_ctx *c);
long kv_recover_all(struct kv_ctx *c);

/* check.c */
void kv_check(struct kv_ctx *c, struct plmc_check *out);

/* lock.c */
void kv_lock(struct kv_ctx *c, kv_lock_t *l);
void kv_unlock(struct kv_ctx *c, kv_lock_t *l);

/* alloc.c */
int kv_geo_init(struct kv_geo *g, struct kv_tgeo *tg, u64 store_size);
u64 kv_pages_left(const struct kv_ctx *c);
void kv_classes_init(const struct plmc_store_hdr *h);
int kv_class_of(u64 size);
/* cmd_set of an append or prepend: in the class of the piece alone, as
 * memcached counts it (stats.c). */
void kv_count_piece(struct kv_ctx *c, u32 klen, u64 vlen);
u64 kv_class_size(int cls);
void *kv_alloc(struct kv_ctx *c, u64 size, int *cls);
void *kv_alloc_in(struct kv_ctx *c, u64 size, int *cls, int page);
void kv_free(struct kv_ctx *c, void *p, int cls, struct kv_tx *t, int point);
u64 kv_clock_next(struct kv_ctx *c, int cls);
u64 kv_cursor_next(struct kv_ctx *c, int cls, u64 *cur);
void kv_clock_back(struct kv_ctx *c, int cls, u64 p);
u64 kv_class_chunks(int cls);

/* move.c */
int kv_move_owns(const struct kv_class *cl, u64 p, const struct kv_geo *g);
void kv_move_take(struct kv_tx *t, struct kv_class *cl);
void kv_move_repaid(int k);
void kv_move_skim(struct kv_ctx *c, struct kv_class *cl);
int kv_move_for(struct kv_ctx *c, int cls, int starved);
u64 kv_move_running(void);
void kv_move_poll(struct kv_ctx *c);
long kv_reassign(struct kv_ctx *c, s64 src, u64 dst);
long kv_maintain(struct kv_ctx *c, u64 max);
void kv_pool_put(struct kv_ctx *c);
int kv_page_give(struct kv_ctx *c, int k);
int kv_automove(void);

/* evict.c */
u64 kv_evict(struct kv_ctx *c, int cls);
int kv_evict_item(struct kv_ctx *c, struct kv_item *it, int cls, int move);

/* lru.c: the segmented LRU on the CLOCK */
#define KV_HOT_PCT  20 /* memcached's hot_lru_pct: HOT's cap, % of items */
#define KV_WARM_PCT 40 /* memcached's warm_lru_pct */
int kv_lru_visit(struct kv_ctx *c, struct kv_item *it, int cls, int juggle);
void kv_lru_juggle(struct kv_ctx *c);

/*
 * TEMP for a new item @it whose TTL is at most temporary_ttl (memcached:
 * exptime - now <= temporary_ttl; never for exptime 0), unless it has a
 * segment already (a page move's copy keeps its own). Context: @it not
 * yet published. With no temporary_ttl: one load and a branch.
 */
static inline u8 kv_lru_temp(const struct kv_ctx *c, const struct kv_item *it)
{
	u64 t = __atomic_load_n(&kv_area()->temp_ttl, __ATOMIC_RELAXED);

	if (KV_LIKELY(!t) || (it->iflags & KV_IT_SEG) || !it->exptime)
		return 0;
	return it->exptime <= c->now + t ? KV_IT_TEMP : 0;
}

/* The hand of class @cls (@hand) moved from @p to @h: the maintainer's
 * cursor, if the hand got to it, goes on with it (lru.c: it walks ahead
 * of the hand). Context: the class lock held. */
static inline void kv_lru_push(int cls, int hand, u64 p, u64 h)
{
	u64 *d = &kv_area()->lru[cls].dpos;

	if (hand && __atomic_load_n(d, __ATOMIC_RELAXED) == p)
		__atomic_store_n(d, h, __ATOMIC_RELAXED);
}

/* Count @it's segment in or out (@d = 1 linked, -1 unlinked) of its
 * class: hot items are not counted. Context: @it's stripe lock held. */
static inline void kv_lru_count(const struct kv_item *it, s64 d)
{
	u8 s = KV_SEG_IDX(it->iflags);

	if (KV_UNLIKELY(s))
		kv_cls_add(it->cls, &kv_area()->lru[it->cls].n[s], d);
}
int kv_evict_dead(struct kv_ctx *c, int cls);
void kv_scan(struct kv_ctx *c);
void *kv_alloc_evict(struct kv_ctx *c, u64 size, int *cls, int *err);

/* epoch.c (entry and exit inline: every call runs them) */
u64 kv_epoch_min(struct kv_ctx *c);
/* The number of slots a reclaim scan reads: [0, slot_hi), at most all.
 * Context: after a seq_cst fence that the scan's Dekker argument names
 * (epoch.c: a slot raised after it announces after it too). */
static inline u64 kv_slot_hi(void)
{
	/* Acquire: pairs with gate.S's lock cmpxchg of slot_hi. */
	u64 hi = __atomic_load_n(&kv_area()->slot_hi, __ATOMIC_ACQUIRE);

	return hi < PLMC_MAX_SLOTS ? hi : PLMC_MAX_SLOTS;
}

/* @slot (< PLMC_MAX_SLOTS, gate.S) announces; @s is its record. */
static inline void kv_epoch_enter(struct plmc_slot *s, u64 slot)
{
	/* Acquire: pairs with kv_retire()'s seq_cst add: an item retired
	 * at or before g was unlinked before, so this walk cannot reach it. */
	u64 g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);

#ifdef PLMC_TEST_IMAGE
	/* gate.S raised slot_hi when it claimed this slot index (free or
	 * taken over; an own idle slot was claimed so before), ahead of
	 * this announcement, as epoch.c's bounded scans need. The test
	 * image checks it on every call. */
	if (slot >= __atomic_load_n(&kv_area()->slot_hi, __ATOMIC_RELAXED))
		__builtin_trap();
#else
	(void)slot;
#endif

	/* xchg: a full barrier between the announcement and the walk; pairs
	 * with kv_epoch_min()'s seq_cst fence (Dekker: either the scan sees
	 * this announcement, or this walk sees the unlink). */
	__atomic_exchange_n(&s->epoch, g + 1, __ATOMIC_SEQ_CST);
}

static inline void kv_epoch_exit(struct plmc_slot *s)
{
	/* Release: every read of the call comes before; pairs with
	 * kv_epoch_min()'s acquire load (a 0 seen there means done). */
	__atomic_store_n(&s->epoch, 0, __ATOMIC_RELEASE);
}

void kv_retire(const struct kv_ctx *c, struct kv_slot *ks, int point);
int kv_reclaim(struct kv_ctx *c, int adopt);
void kv_reclaim_step(struct kv_ctx *c, int any);
/*
 * Whether this slot's retired items are worth a reclaim scan at the end
 * of its call: KV_RETIRE_BATCH of them, or KV_RETIRE_BYTES of chunks
 * (the newest one's class as the measure): 64 retired items of 50 KB
 * would hold more than a page each slot, out of every class's reach
 * until the slot's next failed allocation.
 */
static inline int kv_reclaim_due(const struct kv_slot *ks)
{
	const struct kv_item *t = (const struct kv_item *)ks->rtail;

	return ks->rcount >= KV_RETIRE_BATCH ||
	       (t && ks->rcount * kv_area()->csize[t->cls] >= KV_RETIRE_BYTES);
}

/*
 * Whether this slot's retired chunks hold KV_RETIRE_BYTES or more (the
 * newest one's class as the measure): then the call ends with a whole
 * reclaim (kv_reclaim), not a share of the spread one. A spread scan
 * takes KV_SCAN_CALLS calls and a set that reuses frees nothing more,
 * so a list of large chunks grew to twice the batch (128 chunks of 40
 * KB: 5 MiB a slot) and a class whose chunks sat on other slots' lists
 * evicted its live items with all of them idle (r4_append). One scan of
 * the slots costs less than copying one such chunk, and it runs once
 * per KV_RETIRE_BYTES retired: what a slot holds stays near that bound.
 */
static inline int kv_reclaim_heavy(const struct kv_slot *ks)
{
	const struct kv_item *t = (const struct kv_item *)ks->rtail;

	return t && ks->rcount * kv_area()->csize[t->cls] >= KV_RETIRE_BYTES;
}

void *kv_reuse(struct kv_ctx *c, int cls);
void kv_orphan_note(const struct kv_slot *ks);

/*
 * A write in progress on one key (hash.c): kv_wr_begin takes the stripe
 * lock and finds the key's link; kv_wr_link changes it (the one store
 * that changes shared state); kv_wr_end unlocks, then accounts and
 * retires what was unlinked. Nothing else may be locked in between, and
 * client memory is not touched.
 */
struct kv_wr {
	kv_lock_t *lock;
	u64 *link;	      /* the link pointing at the key's item, or end */
	struct kv_item *old;  /* the item found (any state), or NULL */
	int state;	      /* enum kv_state of old, if any */
	struct kv_item *gone; /* unlinked by kv_wr_link, retired at end */
	struct kv_item *put;  /* linked by kv_wr_link */
	int keep_cas;	      /* a page move's copy: @put keeps old's CAS */
};

/* table.c */
/* A table as a call sees it (kv_tview). */
struct kv_tview {
	u64 mask;
	const u64 *dir;
};

static inline struct kv_tview kv_tview(const struct kv_ctx *c, u64 k)
{
	const struct kv_tdesc *d = &kv_area()->tdesc[k];
	struct kv_tview v;

	/* Relaxed: written before the tstate store that made the caller
	 * look here (release), read after its acquire load of tstate. */
	v.mask = __atomic_load_n(&d->mask_x, __ATOMIC_RELAXED) ^ c->geo->mask0;
	v.dir = (const u64 *)(__atomic_load_n(&d->dir_x, __ATOMIC_RELAXED) ^
			      (u64)&kv_area()->tdir0);
	return v;
}

/* The bucket of @hash (or of index @hash: < mask + 1) in table @v. */
static inline u64 *kv_tbucket(const struct kv_ctx *c, struct kv_tview v,
			      u64 hash)
{
	u64 b = hash & v.mask;

	return (u64 *)((u64)c->geo->buckets + v.dir[b >> KV_TPAGE_SHIFT]) +
	       (b & ((1ULL << KV_TPAGE_SHIFT) - 1));
}

/* Acquire: pairs with table.c's release stores of tstate, so the
 * descriptors (and, growing, the buckets moved) are seen. */
static inline u64 kv_tstate(void)
{
	return __atomic_load_n(&kv_area()->tstate, __ATOMIC_ACQUIRE);
}

/* The bucket of @hash in the current table of tstate @s (the one
 * readers walk first): one array in the common case, else through its
 * directory. */
static inline u64 *kv_tcur(const struct kv_ctx *c, u64 s, u64 hash)
{
	const struct kv_area *a = kv_area();
	/* Relaxed: tbase and tmask were stored before the tstate store the
	 * caller read with acquire (table.c), and stay until a grace
	 * period after the next switch. */
	u64 base = __atomic_load_n(&a->tbase, __ATOMIC_RELAXED);

	if (KV_LIKELY(!(base & 1)))
		return (u64 *)base +
		       (hash & __atomic_load_n(&a->tmask, __ATOMIC_RELAXED));
	return kv_tbucket(c, kv_tview(c, s & KV_T_CUR), hash);
}

void kv_table_init(const struct kv_geo *g);
void kv_table_step(struct kv_ctx *c);
u64 kv_table_pages(const struct kv_ctx *c, struct kv_tview v);

/* Client memory (dispatch.c) */
#define KV_USER_MIN 0x10000ULL	 /* below mmap_min_addr: never mapped */
#define KV_USER_END (1ULL << 56) /* top of user space, 5-level paging */

/* Return: nonzero if [p, p + len) is client memory we may touch: above
 * the never-mapped low range, no wrap-around, below the top of user
 * space, and wholly outside the protected window (the confused deputy).
 * A zero length is never dereferenced and always passes. Inline (the
 * hot paths); kv_user_ok is the same, out of line. */
static inline __attribute__((always_inline)) int kv_user_ok_in(u64 p, u64 len)
{
	if (!len)
		return 1;
	if (p < KV_USER_MIN || len > KV_USER_END || p > KV_USER_END - len)
		return 0;
	return p + len <= PLMC_BASE || p >= PLMC_BASE + PLMC_SPAN;
}


/* hash.c */
void kv_hash_init(const struct plmc_store_hdr *h, u64 *sip);
u32 kv_hash(const void *key, u32 klen);
long kv_key_take(u64 kp, u32 klen, char *key);

/*
 * SipHash-1-3 (Aumasson and Bernstein; one round per word, three to
 * finish) keyed with the store's secret (hdr->hash_key: random bits from
 * the kernel at create, never shown to clients), so which keys share a
 * bucket cannot be worked out offline, nor learnt by timing chains: a
 * tenant cannot aim a flood of keys at one chain (SECURITY.md). A
 * cheaper keyed hash that is only universal (multiply-shift, NH,
 * polynomial) is not enough here: a local client times a chain walk to
 * the cycle, and one collision found that way gives away the key of
 * such a function; SipHash is a PRF, so a collision tells nothing about
 * the next. The low 32 bits pick the bucket (enough for 2^32); items
 * keep only a tag of them (kv_it_tag): whoever has a key hashes it.
 */
#define KV_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define KV_SIPROUND                                                            \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = KV_ROTL(v1, 13);                                          \
		v1 ^= v0;                                                      \
		v0 = KV_ROTL(v0, 32);                                          \
		v2 += v3;                                                      \
		v3 = KV_ROTL(v3, 16);                                          \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = KV_ROTL(v3, 21);                                          \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = KV_ROTL(v1, 17);                                          \
		v1 ^= v2;                                                      \
		v2 = KV_ROTL(v2, 32);                                          \
	} while (0)

/* One 8-byte message word @m into the state v0..v3. */
#define KV_SIP_WORD(m)                                                         \
	do {                                                                   \
		v3 ^= (m);                                                     \
		KV_SIPROUND;                                                   \
		v0 ^= (m);                                                     \
	} while (0)

/* After the last word (klen in its top byte): the finalisation rounds;
 * the hash is then (u32)(v0 ^ v1 ^ v2 ^ v3). */
#define KV_SIP_END                                                             \
	do {                                                                   \
		v2 ^= 0xff;                                                    \
		KV_SIPROUND;                                                   \
		KV_SIPROUND;                                                   \
		KV_SIPROUND;                                                   \
	} while (0)

#define KV_ONES	 0x0101010101010101ULL
#define KV_HIGHS 0x8080808080808080ULL

/*
 * A key byte is good if it is >= 0x80, or its low 7 bits are >= 0x21
 * and not 0x7f: no byte <= 0x20 (space, control), none 0x7f. The high
 * bit of each byte of the result says whether that byte of @w is good
 * (the other bits are noise: callers AND the words together and test
 * the high bits once at the end). Per byte, without carries across
 * bytes: a = low 7 bits; a + 0x5f has its high bit set iff a >= 0x21,
 * a + 0x01 iff a == 0x7f.
 */
static inline u64 kv_key_good_bits(u64 w)
{
	u64 a = w & (0x7f * KV_ONES);

	return w | ((a + 0x5f * KV_ONES) & ~(a + KV_ONES));
}

/*
 * Take a client's key in: check @klen (1..KV_KEY_MAX) and the range
 * [kp, kp + klen) (client memory), copy the bytes to @key (the stack,
 * KV_KEY_BUF bytes: the last word stored may run up to 8 bytes past
 * klen), check them and hash them (SipHash-1-3, as kv_hash), in one
 * pass. Each word is loaded from client memory once, into a register,
 * and that register is what is stored, checked and hashed: the copy,
 * the check and the hash agree whatever the client does to its bytes
 * meanwhile (copy-then-check), and the hash is kv_hash(key, klen) of
 * the copy. The last 0..7 bytes are one short load (kv_ld_short:
 * nothing past kp + klen is read; a byte it reads twice is combined in
 * registers). Inline for get, mget and set; kv_key_take out of line.
 * Context: after kv_ctx_init (sip[] derived).
 * Return: the hash (>= 0), or PLMC_E_KEY / PLMC_E_FAULT.
 */
static inline __attribute__((always_inline)) long
kv_key_take_in(u64 kp, u32 klen, char *key)
{
	const u64 *sip = kv_area()->sip;
	const u8 *s = (const u8 *)kp;
	u32 i, n = klen & ~7U, rem = klen & 7;
	u64 v0, v1, v2, v3, w, good = ~0ULL;

	if (!klen || klen > KV_KEY_MAX)
		return PLMC_E_KEY;
	if (!kv_user_ok_in(kp, klen))
		return PLMC_E_FAULT;
	v0 = sip[0];
	v1 = sip[1];
	v2 = sip[2];
	v3 = sip[3];
	for (i = 0; i < n; i += 8) {
		w = kv_ld64_once(s + i);
		kv_st64(key + i, w);
		good &= kv_key_good_bits(w);
		KV_SIP_WORD(w);
	}
	w = kv_ld_short(s + n, rem); /* 0 when rem is 0 */
	asm("" : "+r"(w)); /* as kv_ld64_once */
	kv_st64(key + n, w);
	/* the bytes above the key: 'A', a good one */
	good &= kv_key_good_bits(w | (0x41 * KV_ONES) << (8 * rem));
	w |= (u64)klen << 56;
	KV_SIP_WORD(w);
	KV_SIP_END;
	if ((good & KV_HIGHS) != KV_HIGHS)
		return PLMC_E_KEY;
	return (u32)(v0 ^ v1 ^ v2 ^ v3);
}
int kv_key_eq(const void *a, const void *b, u32 n);
struct kv_item *kv_lookup(struct kv_ctx *c, const char *key, u32 klen,
			  u32 hash);
struct kv_item *kv_lookup_growing(struct kv_ctx *c, const char *key, u32 klen,
				  u32 hash, u64 s);

/* Nonzero if the @n bytes at @a and @b are equal: a word at a time, the
 * last word overlapping the one before it (no byte past either end). */
static inline __attribute__((always_inline)) int
kv_key_eq_inline(const void *a, const void *b, u32 n)
{
	const u8 *x = a, *y = b, *xe, *ye;
	u64 diff = 0;

	if (n < 8)
		return kv_ld_short(x, n) == kv_ld_short(y, n);
	/* Two pointers, no index: the loop is a load, a xor, an or and the
	 * step (gcc made a 32-bit index of i + 8 < n cost four more). */
	xe = x + n - 8;
	ye = y + n - 8;
	for (; x < xe; x += 8, y += 8)
		diff |= kv_ld64(x) ^ kv_ld64(y);
	return !(diff | (kv_ld64(xe) ^ kv_ld64(ye)));
}

/*
 * The key's identity is (tenant, key bytes): klen and tenant are
 * adjacent bytes of the item, compared as one 16-bit word (after the
 * tag, kv_match): a store without tenants (tenant 0 everywhere) pays
 * only forming that word once per lookup (three instructions). The hash
 * does not include the tenant: equal keys of two tenants share a chain,
 * and only this compare tells them apart (docs/tenants.md).
 */
_Static_assert(__builtin_offsetof(struct kv_item, tenant) ==
		       __builtin_offsetof(struct kv_item, klen) + 1,
	       "klen and tenant: one word");

static inline u32 kv_tkey(const struct kv_ctx *c, u32 klen)
{
	return klen | c->tenant << 8;
}

/*
 * @tk: kv_tkey(c, klen), the item's klen and tenant as one word; @tag:
 * the key's hash >> 24. Items keep no full hash (the 48-byte header):
 * the tag (kv.h) tells a chain's other items apart as the hash did (255
 * in 256 of them), so klen, tenant and the key are compared on a likely
 * match only.
 */
static inline __attribute__((always_inline)) int
kv_match(const struct kv_item *it, const char *key, u32 klen, u32 tk, u8 tag)
{
	return kv_it_tag(it) == tag && *(const kv_u16u *)&it->klen == (u16)tk &&
	       kv_key_eq_inline(it->data, key, klen);
}

/* The item for @key on the chain at @bucket, or NULL. */
static inline __attribute__((always_inline)) struct kv_item *
kv_walk(const u64 *bucket, const char *key, u32 klen, u32 tk, u32 hash)
{
	/* Acquire (here and for each next): pairs with kv_wr_link()'s
	 * release store of the link, so the item it points at is read as
	 * it was built (publication); and with table.c's moves. */
	u64 p = __atomic_load_n(bucket, __ATOMIC_ACQUIRE);
	u8 tag = (u8)(hash >> 24);

	while (p) {
		struct kv_item *it = (struct kv_item *)p;

		if (kv_match(it, key, klen, tk, tag))
			return it;
		/* Pairs with the release store of next (tx.c). */
		p = __atomic_load_n(&it->next, __ATOMIC_ACQUIRE);
	}
	return 0;
}

/* kv_lookup, inline (the read paths: get, mget, mg). */
static inline __attribute__((always_inline)) struct kv_item *
kv_lookup_in(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	u64 s = kv_tstate();

	if (KV_UNLIKELY(s & KV_T_GROWING))
		return kv_lookup_growing(c, key, klen, hash, s);
	return kv_walk(kv_tcur(c, s, hash), key, klen, kv_tkey(c, klen), hash);
}
void kv_wr_begin(struct kv_ctx *c, struct kv_wr *w, const char *key, u32 klen,
		 u32 hash);
void kv_wr_link(struct kv_ctx *c, struct kv_wr *w, struct kv_item *it);
void kv_wr_end(struct kv_ctx *c, struct kv_wr *w);
int kv_remove(struct kv_ctx *c, const char *key, u32 klen, u32 hash, int *cls);

/* Nonzero if w.old is there and visible. */
static inline int kv_wr_live(const struct kv_wr *w)
{
	return w->old && w->state == KV_LIVE;
}

/* item.c (and the read path's item tests, inline: every get runs them) */
/*
 * memcached's flush rule (oldest_live / oldest_cas): an item is gone if
 * its CAS is older than the last immediate flush's CAS mark, or, once
 * the flush time has come, if it was linked at or before it. The CAS
 * mark holds even while a later delayed flush waits (memcached 1.6.18:
 * "flush_all" then "flush_all 700" does not bring the flushed items
 * back).
 */
static inline __attribute__((always_inline)) int
kv_item_flushed(const struct kv_ctx *c, const struct kv_item *it)
{
	if (c->flush_cas && it->cas < c->flush_cas)
		return 1;
	return c->flush_time && c->flush_time <= c->now &&
	       it->time <= c->flush_time;
}

/* Return: KV_LIVE, KV_EXPIRED or KV_FLUSHED at the call's store time. */
static inline __attribute__((always_inline)) int
kv_item_state(const struct kv_ctx *c, const struct kv_item *it)
{
	u64 exp = __atomic_load_n(&it->exptime, __ATOMIC_RELAXED);

	if (kv_item_flushed(c, it))
		return KV_FLUSHED;
	if (exp && exp <= c->now)
		return KV_EXPIRED;
	return KV_LIVE;
}

/* Return: nonzero if @it is visible at the call's store time. */
static inline int kv_item_live(const struct kv_ctx *c,
			       const struct kv_item *it)
{
	return kv_item_state(c, it) == KV_LIVE;
}

/*
 * A reader's shared writes (fetched + CLOCK reference, last access), only
 * when a bit is clear or the access time is KV_ATIME_STEP old: a hot
 * item's line is not written on every hit. The first hit sets FETCHED,
 * a later one REF: memcached's ACTIVE, which needs an item fetched
 * twice (once more after the hand cleared it), and which the hand
 * (lru.c) turns into a move to WARM instead of an eviction. A hit on the item linked last
 * in the store (nothing linked since) sets no reference: in LRU order it
 * is already the newest, so the hit moves nothing (memcached does not
 * bump an item touched that recently either; t/lru.t evicts such an item
 * first). The extra load of cas_seq is on the rare path only.
 */
static inline __attribute__((always_inline)) void
kv_item_fetched(const struct kv_ctx *c, struct kv_item *it)
{
	const u8 b = KV_IT_FETCHED | KV_IT_REF;
	u32 now = (u32)c->now;

	u8 f = __atomic_load_n(&it->iflags, __ATOMIC_RELAXED);

	if (KV_UNLIKELY((f & b) != b))
		__atomic_fetch_or(&it->iflags,
				  !(f & KV_IT_FETCHED) ||
						  it->cas == __atomic_load_n(
								  &kv_area()->cas_seq,
								  __ATOMIC_RELAXED)
					  ? KV_IT_FETCHED
					  : b,
				  __ATOMIC_RELAXED);
	if (now - __atomic_load_n(&it->atime, __ATOMIC_RELAXED) >=
	    KV_ATIME_STEP)
		__atomic_store_n(&it->atime, now, __ATOMIC_RELAXED);
}

u64 kv_exptime(const struct kv_ctx *c, s64 exptime);
int kv_item_fits(const struct kv_ctx *c, u32 klen, u64 vlen, u32 flags);
struct kv_item *kv_item_new(struct kv_ctx *c, const char *key, u32 klen,
			    u32 hash, u64 vlen, u32 flags, int *err);
struct kv_item *kv_item_copy(struct kv_ctx *c, const struct kv_item *old,
			     u64 vlen, int *err);

/* ops.c: the memcached commands beyond get/set/delete */
long kv_put(struct kv_ctx *c, u64 op, struct kv_item *it, const char *key,
	    u32 klen, u32 hash, u64 cas);
long kv_concat(struct kv_ctx *c, int append, const char *key, u32 klen,
	       const void *val, u64 vlen, u64 cas, u64 *cas_out);

/* An incr/decr in progress (kv_arith): in, then out. */
struct kv_arith {
	int incr;
	int set_exp;	/* meta T: an item rewritten in place gets exp */
	u32 exp;
	u64 delta;
	u64 cas;	/* nonzero: the item's CAS must be this (meta C) */
	u64 value;	/* out: the new number */
	struct kv_item *old, *it; /* out: replaced and linked */
};

long kv_arith(struct kv_ctx *c, const char *key, u32 klen, struct kv_arith *a);
long kv_delta(struct kv_ctx *c, int incr, const char *key, u32 klen, u64 delta,
	      u64 *value);
struct kv_item *kv_touch(struct kv_ctx *c, const char *key, u32 klen,
			 u64 exptime);
void kv_flush(struct kv_ctx *c, s64 delay);
int kv_reap(struct kv_ctx *c, const char *key, u32 klen, u32 hash);
void kv_free_own(struct kv_ctx *c, struct kv_item *it);
#define KV_CARRY_EXP (1U << 16) /* kv_swap: the new item takes the expiry */
int kv_swap(struct kv_ctx *c, struct kv_item *old, u32 hash,
	    struct kv_item *it, u32 carry);
struct kv_item *kv_find_live(struct kv_ctx *c, const char *key, u32 klen,
			     u32 hash);
int kv_parse_u64(const char *s, u64 n, u64 *out);
u32 kv_utoa(u64 v, char *buf);

/*
 * The live item for a read (get, mget, mg, me), or NULL. A dead (expired
 * or flushed) item found is counted and unlinked (lazy reclaim: the miss
 * path may lock). Inline: it is the get path.
 */
static inline __attribute__((always_inline)) struct kv_item *
kv_find_read(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	struct kv_item *it = kv_lookup_in(c, key, klen, hash);
	int st;

	if (!it)
		return 0;
	st = kv_item_state(c, it);
	if (KV_LIKELY(st == KV_LIVE))
		return it;
	kv_add(st == KV_EXPIRED ? &c->st->get_expired : &c->st->get_flushed, 1);
	kv_reap(c, key, klen, hash);
	return 0;
}

/* tenant.c */
static inline struct kv_tenant *kv_ten(u64 i)
{
	return &kv_area()->ten[i];
}

static inline struct kv_tslot *kv_tslot(const struct kv_ctx *c)
{
	return &kv_area()->tslot[c->slot];
}

int kv_tenant_enter(struct kv_ctx *c);
void kv_tenant_flush_ctx(struct kv_ctx *c);
long kv_op_tenant(struct kv_ctx *c, const struct plmc_req *r);
int kv_tenant_room(struct kv_ctx *c, u64 size);
void kv_tenant_charge(const struct kv_item *it, s64 d);
void kv_tenant_count(const struct kv_ctx *c, u64 off);
void kv_tenant_get(const struct kv_ctx *c, const struct kv_item *hit);
void kv_tenant_stats(const struct kv_ctx *c, struct plmc_stats *st);

/* A call working on another tenant's item (eviction for a page move,
 * the expiry scan): kv_as_enter switches the key space and the flush
 * rule to @t's, kv_as_exit switches back. */
struct kv_as {
	u32 tenant;
	u64 flush_time, flush_cas;
};

void kv_as_enter(struct kv_ctx *c, u32 t, struct kv_as *s);
void kv_as_exit(struct kv_ctx *c, const struct kv_as *s);

/* meta.c: memcached's meta commands (PLMC_OP_META) */
long kv_op_meta(struct kv_ctx *c, const struct plmc_req *r);
long kv_op_walk(struct kv_ctx *c, const struct plmc_req *r);

/* evlog.c: the eviction log */
void kv_evlog_put(const struct kv_ctx *c, const struct kv_item *it);
long kv_op_evlog(struct kv_ctx *c, const struct plmc_req *r);

/* Log @it's eviction if someone reads the log: one load and a branch
 * on the eviction path otherwise. */
static inline void kv_evlog(const struct kv_ctx *c, const struct kv_item *it)
{
	if (KV_UNLIKELY(c->now < __atomic_load_n(&kv_area()->evlog_until,
						 __ATOMIC_RELAXED)))
		kv_evlog_put(c, it);
}

/* dispatch.c */
int kv_user_ok(u64 p, u64 len);
/*
 * The fields of struct plmc_req, as bits of a "used" mask: every field an
 * op does not use must be 0 (kv_req_only), so it stays free for later.
 */
#define RQ_KEY	   (1U << 0)
#define RQ_VAL	   (1U << 1)
#define RQ_BUF	   (1U << 2)
#define RQ_OUT	   (1U << 3)
#define RQ_VLEN	   (1U << 4)
#define RQ_BUFLEN  (1U << 5)
#define RQ_EXPTIME (1U << 6)
#define RQ_CAS	   (1U << 7)
#define RQ_KLEN	   (1U << 8)
#define RQ_FLAGS   (1U << 9)
#define RQ_KEYS	   (RQ_KEY | RQ_KLEN)

/*
 * Return: 0 if every field of @r outside @used is 0, else PLMC_E_INVAL.
 * Inline: with @used a constant, it folds to the tests of the unused
 * fields only, as if written out by hand in each handler.
 */
static inline int kv_req_only(const struct plmc_req *r, u32 used)
{
	return ((!(used & RQ_KEY) && r->key) || (!(used & RQ_VAL) && r->val) ||
		(!(used & RQ_BUF) && r->buf) || (!(used & RQ_OUT) && r->out) ||
		(!(used & RQ_VLEN) && r->vlen) ||
		(!(used & RQ_BUFLEN) && r->buflen) ||
		(!(used & RQ_EXPTIME) && r->exptime) ||
		(!(used & RQ_CAS) && r->cas) || (!(used & RQ_KLEN) && r->klen) ||
		(!(used & RQ_FLAGS) && r->flags))
		       ? PLMC_E_INVAL
		       : 0;
}

/* stats.c */
void kv_stats_fill(struct kv_ctx *c, struct plmc_stats *st);
long kv_classes_out(struct kv_ctx *c, u64 out, u64 n, u64 size);
void kv_stats_reset(struct kv_ctx *c);

#endif /* KV_H */
