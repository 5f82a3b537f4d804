/* SPDX-License-Identifier: MIT */
/*
 * plmc.h - the client API: a memcached store as a protected library.
 *
 * Link with -lpl -lpthread. One store per process (it lives at a fixed
 * address). Thread-safe: each thread gets its own slot on first use and
 * gives it back when it exits.
 *
 * Return values: >= 0 is a status (enum plmc_status); < 0 is an error:
 * either -errno from the system (attach, create) or a PLMC_E_* code from
 * the store. plmc_strerror() names both.
 */
#ifndef PLMC_H
#define PLMC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLMC_KEY_MAX 250             /* memcached's limit */
#define PLMC_ITEM_MAX (1024 * 1024)  /* default max item (key + value) */
#define PLMC_MGET_MAX 100            /* keys per gate crossing (plmc_mget) */

enum plmc_status {
	PLMC_OK = 0,
	PLMC_STORED = 1,
	PLMC_NOT_STORED = 2,
	PLMC_EXISTS = 3,
	PLMC_NOT_FOUND = 4,
	PLMC_DELETED = 5,
	PLMC_TOUCHED = 6,
};

/* Errors from the store, clear of errno's range. */
enum plmc_error {
	PLMC_E_INVAL = -30900,   /* bad argument */
	PLMC_E_KEY = -30901,     /* key empty, > 250 bytes, space or control */
	PLMC_E_TOOBIG = -30902,  /* item larger than the max item size */
	PLMC_E_NOMEM = -30903,   /* store full, nothing could be evicted */
	PLMC_E_FAULT = -30904,   /* buffer in the protected window, or wraps */
	PLMC_E_BUSY = -30905,    /* slot in use by another thread */
	PLMC_E_NOSLOT = -30906,  /* every slot taken */
	PLMC_E_BADOP = -30907,   /* no such entry */
	PLMC_E_SMALLBUF = -30908, /* value does not fit; *vlen says its size */
	PLMC_E_DETACHED = -30909, /* not attached */
	PLMC_E_CORRUPT = -30910, /* store header not valid */
	PLMC_E_IMAGE = -30911,   /* image rejected by the image check */
	PLMC_E_NONNUMERIC = -30912, /* incr/decr: value is not a number */
	PLMC_E_AGAIN = -30913,   /* memory waits on another thread's call;
				  * libpl retries (callers see NOMEM) */
	PLMC_E_TESTONLY = -30914, /* a test-only op (clock, crash point):
				   * the store runs the production image */
	/* libpl's own, each naming a cause EINVAL used to cover */
	PLMC_E_BACKEND = -30920, /* PLMC_BACKEND is not kmod, none or pku */
	PLMC_E_NAME = -30921,    /* store name: 1..63 of [A-Za-z0-9._-] */
	/* tenants (docs/tenants.md) */
	PLMC_E_PERM = -30930,    /* the store's tenants forbid this caller
				  * the op (owner, root or proxy only) */
	PLMC_E_NOTENANT = -30931, /* the store's tenant table is full */
};

/* Which backend to use. AUTO: the module if /dev/plmc exists, else none
 * (announced once on stderr). The environment variable PLMC_BACKEND
 * (kmod, none, pku) overrides AUTO. PKU: no module, the none backend's
 * file tagged with a key of this process's (stray accesses fault; no
 * defence against a hostile client; announced once on stderr). */
#define PLMC_USE_AUTO 0
#define PLMC_USE_KMOD 1
#define PLMC_USE_NONE 2
#define PLMC_USE_PKU 3 /* pkey_mprotect, no module: stray writes only */

struct plmc_stats {
	uint64_t size;        /* sizeof(struct plmc_stats), set by the caller */
	uint64_t curr_items;
	uint64_t total_items; /* items ever stored */
	uint64_t bytes;       /* bytes used by items */
	uint64_t limit_maxbytes; /* item memory: pages the items may hold */
	uint64_t get_hits;
	uint64_t get_misses;
	uint64_t cmd_get;
	uint64_t cmd_set;
	uint64_t delete_hits;
	uint64_t delete_misses;
	uint64_t evictions;
	uint64_t time;        /* store clock, unix seconds */
	uint64_t generation;  /* bumped each time an attachment died */
	uint64_t deaths;      /* attachments seen dead */
	uint64_t dead_slots;  /* slots still owned by a dead attachment */
	uint64_t slots_busy;  /* slots owned now */
	uint64_t nattach;
	/* Appended fields (callers built with an older plmc.h get the
	 * prefix that fits their .size). */
	uint64_t cmd_touch;    /* touch and gat */
	uint64_t touch_hits;
	uint64_t touch_misses;
	uint64_t incr_hits;
	uint64_t incr_misses;
	uint64_t decr_hits;
	uint64_t decr_misses;
	uint64_t cas_hits;
	uint64_t cas_misses;   /* cas on a missing key */
	uint64_t cas_badval;   /* cas with the wrong unique */
	uint64_t get_expired;  /* gets that found only an expired item */
	uint64_t get_flushed;  /* gets that found only a flushed item */
	uint64_t cmd_flush;
	uint64_t reclaimed;    /* expired items unlinked by the store */
	uint64_t expired_unfetched; /* ... of which never read */
	uint64_t evicted_unfetched; /* evicted items never read */
	/* The store's settings and memory (memcached's stats settings
	 * and stats slabs totals). */
	uint64_t item_size_max;   /* memcached's -I */
	uint64_t growth_factor;   /* x 1000 (-f) */
	uint64_t chunk_size;      /* key + value room of class 1 (-n) */
	uint64_t slab_page_size;
	uint64_t slab_classes;    /* classes defined */
	uint64_t active_slabs;    /* classes with a page */
	uint64_t total_malloced;  /* bytes of pages handed to classes */
	uint64_t hash_buckets;    /* of the current table (it grows) */
	uint64_t reset_time;      /* store time of the last stats reset, 0 */
	/* Page moves between classes (memcached's names; docs/store.md). */
	uint64_t slab_reassign_rescues;       /* live items copied off a
					       * moving page into free chunks
					       * of their class */
	uint64_t slab_reassign_chunk_rescues; /* always 0 (no chunked items) */
	uint64_t slab_reassign_evictions_nomem; /* live items evicted off
						 * moving pages */
	uint64_t slab_reassign_inline_reclaim; /* free chunks taken off a
						* free list for a move */
	uint64_t slab_reassign_busy_items;   /* move steps that found the
					      * page still in use */
	uint64_t slab_reassign_busy_deletes; /* dead items unlinked off
					      * moving pages */
	uint64_t slab_reassign_running;      /* classes with a move now */
	uint64_t slabs_moved;                /* pages moved */
	uint64_t slab_global_page_pool;      /* pages in the global pool */
	uint64_t slab_automove;              /* the mode, 0..2 */
	/* The segmented LRU (memcached's names; docs/store.md): sums over
	 * the classes, and the settings. */
	uint64_t lru_maintainer_juggles; /* classes juggled by MAINTAIN */
	uint64_t moves_to_cold;
	uint64_t moves_to_warm;
	uint64_t moves_within_lru;
	uint64_t evicted_active;  /* evicted while read twice (ACTIVE) */
	uint64_t direct_reclaims; /* evictions made by writers */
	uint64_t temporary_ttl;   /* 0: no TEMP segment */
	uint64_t hot_lru_pct;
	uint64_t warm_lru_pct;
};

/* plmc_slabs_reassign() results: memcached's "slabs reassign" replies. */
enum plmc_reassign {
	PLMC_REASSIGN_OK = 0,       /* the page is moving (or moved) */
	PLMC_REASSIGN_BUSY = 1,     /* a page of src is already moving */
	PLMC_REASSIGN_BADCLASS = 2, /* src or dst is no class */
	PLMC_REASSIGN_NOSPARE = 3,  /* src has fewer than 2 pages */
	PLMC_REASSIGN_UNSAFE = 4,   /* not returned: a move is always safe */
	PLMC_REASSIGN_SAME = 5,     /* src == dst */
};

/*
 * One size class (memcached's "stats slabs" and "stats items" rows).
 * Counters are approximate while other calls run, and across a death.
 */
struct plmc_class_stats {
	uint32_t id;           /* memcached numbering: 1 = smallest */
	uint32_t chunk_size;
	uint64_t chunks_per_page;
	uint64_t total_pages;
	uint64_t total_chunks;
	uint64_t used_chunks;
	uint64_t free_chunks;     /* on the free list */
	uint64_t free_chunks_end; /* not yet carved from the newest page */
	uint64_t number;          /* linked items */
	uint64_t mem_requested;   /* their bytes: header + key + value */
	uint64_t age;             /* seconds since the least recent access */
	uint64_t evicted;
	uint64_t evicted_nonzero; /* ... that had an expiry */
	uint64_t evicted_unfetched;
	uint64_t evicted_time;    /* idle seconds of the last one evicted */
	uint64_t reclaimed;
	uint64_t expired_unfetched;
	uint64_t outofmemory;
	uint64_t crawler_reclaimed; /* reclaimed by the write-path scan */
	/* Appended: memcached's per-class command counters ("stats slabs"),
	 * every client's (local ones too), since the last stats reset; the
	 * classes add up to plmc_stats' totals. An older image leaves them
	 * 0 (plmc_class_stats: entries are written up to what the image
	 * and the caller both know). */
	uint64_t get_hits; /* of items of this class */
	uint64_t cmd_set;  /* items built in this class (append and
			    * prepend: the class of the piece) */
	uint64_t delete_hits;
	uint64_t incr_hits;
	uint64_t decr_hits;
	uint64_t cas_hits;
	uint64_t cas_badval;
	uint64_t touch_hits; /* touch, gat, mg with T */
	/* Appended: the segmented LRU (docs/store.md). number_*: the
	 * items' segment bits counted by this call's walk; age_*: seconds
	 * since the least recent access among the segment's items. */
	uint64_t number_hot;
	uint64_t number_warm;
	uint64_t number_cold;
	uint64_t number_temp;
	uint64_t age_hot;
	uint64_t age_warm;
	uint64_t moves_to_cold;
	uint64_t moves_to_warm;
	uint64_t moves_within_lru;
	uint64_t evicted_active;
	uint64_t direct_reclaims;
};

/* The size of a struct plmc_class_stats before the command counters:
 * what PLMC_OP_CLASSES writes per entry when the caller names no size. */
#define PLMC_CLASS_STATS_V1                                                    \
	__builtin_offsetof(struct plmc_class_stats, get_hits)

/*
 * plmc_walk(): every live item's metadata, without blocking writers
 * (memcached's "lru_crawler metadump", "stats cachedump" and
 * "lru_crawler crawl"). Start at (0, 0) and call again with (.next,
 * .next_after) until .done. The table is read in blocks of 4,096
 * buckets, each block's items in CAS order (never in bucket order: which
 * keys share a bucket stays inside the store). Not a snapshot: an item
 * stored or removed meanwhile may be seen or not, one replaced during
 * the walk may be seen twice.
 */
#define PLMC_WALK_MAX 64 /* items per call */

struct plmc_walk_item {
	uint64_t cas;
	uint32_t exptime; /* absolute, store seconds (unix time); 0 = never */
	uint32_t atime;   /* last access, store seconds */
	uint32_t time;    /* stored at, store seconds */
	uint32_t flags;   /* the client's flags */
	uint32_t vlen;
	uint32_t size;    /* item bytes: header + key + value */
	uint8_t klen;
	uint8_t cls;      /* memcached numbering: 1 = smallest */
	uint8_t fetched;  /* read since it was stored */
	uint8_t binkey;   /* stored by a meta command with a base64 key */
	uint32_t pad;
	char key[256];    /* klen bytes, NUL after them */
};

/*
 * plmc_evictions(): the items the store evicted lately, for memcached's
 * "watch evictions". The store writes a line of a small ring for each
 * live item its calls evict, but only while someone reads it: each read
 * keeps the log on for @keep more seconds (at most 3600), and with
 * nobody reading it turns itself off, so the eviction path pays one
 * load and a branch. Lossy, as memcached's logger: lines overwritten
 * before they are read, or being written at the read, count in
 * .skipped. A caller sees only its own tenant's keys. Start with
 * cursor 0 (from now on) and pass .next after each call.
 */
#define PLMC_EVLOG_MAX 16 /* lines per call */

struct plmc_evict_ent {
	int64_t ttl;      /* seconds it had left; -1 = no expiry */
	uint32_t la;      /* seconds since its last access */
	uint32_t clsid;   /* memcached numbering: 1 = smallest */
	uint32_t size;    /* value bytes */
	uint8_t klen;
	uint8_t fetched;  /* read since it was stored */
	uint8_t pad[2];
	char key[256];    /* klen bytes, NUL after them */
};

struct plmc_evlog {
	uint64_t next;    /* the cursor to pass next */
	uint64_t skipped; /* lines lost since the cursor passed */
	uint32_t n;       /* lines in ent[] */
	uint32_t pad;
	struct plmc_evict_ent ent[PLMC_EVLOG_MAX];
};

struct plmc_walk {
	uint64_t next;       /* the cursor to pass next */
	uint64_t next_after; /* ... and the CAS to go on after */
	uint32_t n;          /* items in ent[] */
	uint32_t reclaimed; /* dead items unlinked (reclaim mode) */
	uint32_t done;      /* the whole table was walked */
	uint32_t held;      /* reclaim mode: items this thread unlinked that
			     * another call may still read, so not yet free;
			     * any later plmc_walk() call frees them once
			     * nobody can (a crawl waits for 0: its
			     * used_chunks fall, as memcached's do) */
	struct plmc_walk_item ent[PLMC_WALK_MAX];
};

/*
 * plmc_check(): a structural check of the store, run inside it. Exact
 * accounting (every chunk free, linked or retired; items/bytes equal to
 * the counters; no lock held) is checked only when no other slot is in
 * a call (.quiescent); the rest always. .errors == 0 means sound; .msg
 * names the first problem found, or says "ok".
 */
struct plmc_check {
	uint64_t size;        /* sizeof(struct plmc_check), set by the caller */
	uint64_t errors;
	uint64_t quiescent;   /* 1 if the exact accounting was checked: no
			       * other call ran during the whole check;
			       * 0: it could not be (others were writing),
			       * its results were dropped, not reported */
	uint64_t items;       /* linked items found walking every chain */
	uint64_t bytes;
	uint64_t chunks;      /* chunks carved from pages */
	uint64_t free;        /* ... on free lists */
	uint64_t retired;     /* ... on slots' retired lists */
	uint64_t held;        /* ... held by calls in flight */
	uint64_t pages_used;
	uint64_t dead_slots;  /* slots still owned by a dead attachment */
	uint64_t locks_held;  /* lock words set (0 when quiescent) */
	char msg[128];
};

/* One key of plmc_mget: fill key, klen, buf, buflen; the rest is set. */
struct plmc_mget {
	const void *key;
	void *buf;	/* where the value goes */
	size_t buflen;
	size_t vlen;	/* out: value size (on PLMC_OK and PLMC_E_SMALLBUF) */
	uint64_t cas;	/* out */
	uint32_t klen;
	uint32_t flags; /* out */
	int32_t rc;	/* out: PLMC_OK, PLMC_NOT_FOUND, PLMC_E_SMALLBUF,
			 * PLMC_E_KEY, PLMC_E_FAULT, PLMC_E_INVAL */
	uint32_t pad;
};

/* Segments. mode: permission bits (0600...). use: PLMC_USE_*. */
int plmc_create(const char *name, uint64_t size, unsigned mode, int use);
/* The same with a slot quota: at most @slots_per_client thread slots for
 * the attached processes of one uid together (1..PLMC_MAX_SLOTS, 0: a
 * quarter of them). */
int plmc_create_quota(const char *name, uint64_t size, unsigned mode,
		      unsigned slots_per_client, int use);

/*
 * A segment with settings (memcached's -m, -I, -f, -n, and the slot
 * quota). Fields left 0 take the default. Out-of-range settings:
 * -EINVAL, nothing created.
 */
struct plmc_create_opts {
	uint64_t size;        /* sizeof(struct plmc_create_opts), set by the caller */
	uint64_t store_size;  /* bytes, whole MiB */
	uint32_t mode;        /* permission bits */
	int32_t use;          /* PLMC_USE_* */
	uint64_t item_max;    /* max item size as memcached counts it
			       * (key + value + 59, + 4 with flags):
			       * 1 KiB .. 1 MiB, default 1 MiB */
	uint32_t slab_factor; /* class growth factor x 1000: 1010..4000,
			       * default 1250 */
	uint32_t slab_min;    /* key + value room of the smallest class:
			       * 8..1024, default 8 */
	uint32_t slot_quota;  /* thread slots per uid (its processes together):
			       * 1..PLMC_MAX_SLOTS, default a quarter */
	uint32_t flags;       /* PLMC_CREATE_* (below), default 0 */
	uint32_t numa;        /* PLMC_NUMA_* (below), default the kernel's */
	uint32_t numa_node;   /* PLMC_NUMA_BIND: the node; else 0 */
	uint32_t gid;         /* PLMC_CREATE_GROUP: the store's group (attach
			       * checks it with mode, like a file's); else
			       * the caller's effective gid */
	uint32_t tenants;     /* 0: one key space (memcached's); 1..64:
			       * up to that many tenants, each with its own
			       * keys, counters and memory quota
			       * (docs/tenants.md) */
	uint64_t pad;         /* 0 */
};
int plmc_create_ex(const char *name, const struct plmc_create_opts *o);

/*
 * The store_size whose item memory (stats' limit_maxbytes, memcached's
 * -m) is exactly @item_bytes: the header, slot records and hash table
 * come on top (plmc/geometry.h computes the layout for the store and
 * for this). @item_bytes: whole MiB. Return: the size, or 0 if no store
 * has exactly that much (not whole MiB, under the smallest store's 3
 * MiB, or past the largest store).
 */
uint64_t plmc_store_size_for(uint64_t item_bytes);

/* The attached store's size (what it was created with), 0 if detached. */
uint64_t plmc_store_size(void);

/*
 * PLMC_CREATE_TEST_IMAGE: the store runs the test image, which also serves
 * plmc_clock_advance() and plmc_crash_arm() to every client (any client
 * may then move the store's clock or make its own call die at a chosen
 * point). For test suites only; the production image answers both with
 * PLMC_E_TESTONLY and changes nothing. Announced once on stderr.
 */
#define PLMC_CREATE_TEST_IMAGE 0x1u
/*
 * PLMC_CREATE_GROUP: the store belongs to group .gid, not to the caller's
 * effective gid (plctl create --group plmc --mode 0660: a service in that
 * group may attach). Root may name any group; others one of their own
 * (kmod: the module checks it; none and pku: fchown of the file).
 */
#define PLMC_CREATE_GROUP      0x2u
#define PLMC_CREATE_FLAGS      (PLMC_CREATE_TEST_IMAGE | PLMC_CREATE_GROUP)

/*
 * NUMA placement of a store's pages (stacks and store), chosen at create:
 * the module allocates them by it; the none and pku backends set it as the
 * shm file's memory policy (mbind), which every later page fault follows.
 * The values are those of PLMC_NUMA_* in plmc/ioctl.h. node: BIND only.
 */
#define PLMC_NUMA_DEFAULT    0 /* the kernel's choice */
#define PLMC_NUMA_LOCAL      1 /* the creating (kmod) or faulting CPU's node */
#define PLMC_NUMA_INTERLEAVE 2 /* page by page over the nodes with memory */
#define PLMC_NUMA_BIND       3 /* that node only */
#define PLMC_NUMA_NODES      64

int plmc_create_numa(const char *name, uint64_t size, unsigned mode, int use,
		     unsigned numa, unsigned node);

/* Where a store's pages are. absent: pages not allocated yet (none and
 * pku allocate on first touch; the module up front). */
struct plmc_numa {
	uint32_t numa; /* PLMC_NUMA_*: the store's policy */
	uint32_t node;
	uint32_t nr_nodes; /* highest node id with memory + 1 */
	uint32_t pad;
	uint64_t absent;
	uint64_t pages[PLMC_NUMA_NODES];
};

int plmc_numa_info(const char *name, int use, struct plmc_numa *out);
int plmc_destroy(const char *name, int force, int use);

/* Attach this process to a store; idempotent per name. */
int plmc_attach(const char *name, int use);
int plmc_detach(void);
const char *plmc_backend(void); /* "kmod", "none", or NULL if detached */

int plmc_set(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime);
/* On PLMC_OK copies the value into buf; *vlen is always set on a hit. */
int plmc_get(const void *key, size_t klen, void *buf, size_t buflen,
	     size_t *vlen, uint32_t *flags, uint64_t *cas);
int plmc_delete(const void *key, size_t klen);
int plmc_stats(struct plmc_stats *st);
/* Per size class, for classes with a page: up to @n entries in @out;
 * *count = how many classes have pages. PLMC_OK. */
int plmc_class_stats(struct plmc_class_stats *out, size_t n, size_t *count);
/* memcached's "stats reset": every counter but curr_items and bytes
 * starts again from 0 (per class too). PLMC_OK. */
int plmc_stats_reset(void);
/* One step of a walk (struct plmc_walk): live items of class @cls (0 =
 * every class) from (@cursor, @after) on; with @reclaim, expired and
 * flushed items met are unlinked, each counted as the class's
 * crawler_reclaimed (memcached's "lru_crawler crawl"). PLMC_OK,
 * PLMC_E_INVAL (a class that does not exist, a cursor past the table). */
int plmc_walk(uint64_t cursor, uint64_t after, int cls, int reclaim,
	      struct plmc_walk *w);
/* The evictions since @cursor (struct plmc_evlog, above); keeps the log
 * on for @keep seconds more. PLMC_OK, PLMC_E_INVAL (keep over 3600). */
int plmc_evictions(uint64_t cursor, unsigned keep, struct plmc_evlog *log);
int plmc_nop(void);

/* memcached's storage commands. add: PLMC_NOT_STORED if the key exists;
 * replace/append/prepend: PLMC_NOT_STORED if it does not. append and
 * prepend keep the item's flags and exptime. */
int plmc_add(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime);
int plmc_replace(const void *key, size_t klen, const void *val, size_t vlen,
		 uint32_t flags, int32_t exptime);
int plmc_append(const void *key, size_t klen, const void *val, size_t vlen);
int plmc_prepend(const void *key, size_t klen, const void *val, size_t vlen);
/* PLMC_STORED, PLMC_EXISTS (unique differs), PLMC_NOT_FOUND. */
int plmc_cas(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime, uint64_t cas);
/* Unsigned 64-bit decimal values. incr wraps at 2^64, decr stops at 0.
 * PLMC_OK (*value = the result, may be NULL), PLMC_NOT_FOUND,
 * PLMC_E_NONNUMERIC. */
int plmc_incr(const void *key, size_t klen, uint64_t delta, uint64_t *value);
int plmc_decr(const void *key, size_t klen, uint64_t delta, uint64_t *value);
/* PLMC_TOUCHED or PLMC_NOT_FOUND; the CAS unique stays. */
int plmc_touch(const void *key, size_t klen, int32_t exptime);
/* get and touch (memcached's gat; gats = pass cas). As plmc_get. */
int plmc_gat(const void *key, size_t klen, int32_t exptime, void *buf,
	     size_t buflen, size_t *vlen, uint32_t *flags, uint64_t *cas);
/* Every item stored before now (delay <= 0) or before now + delay
 * (memcached exptime forms) disappears. PLMC_OK. */
int plmc_flush_all(int32_t delay);
/* Many gets: one gate crossing per PLMC_MGET_MAX (100) keys; each key's
 * result in its entry. Return: PLMC_OK, or an error for the whole call. */
int plmc_mget(struct plmc_mget *keys, size_t n);
/*
 * memcached's meta commands (mg, ms, md, ma, me) as one call: the store
 * decides under the key's lock, so the win/stale/vivify tokens go to one
 * caller only. Fill the "in" fields (the rest 0), call plmc_meta(); the
 * "out" fields come back. See docs/api.md for the rules of each command.
 */
enum plmc_meta_cmd {
	PLMC_META_GET = 1,    /* mg: value into buf when PLMC_MF_VALUE */
	PLMC_META_SET = 2,    /* ms: val, vlen; .mode = PLMC_MS_* */
	PLMC_META_DELETE = 3, /* md */
	PLMC_META_ARITH = 4,  /* ma: .mode = PLMC_MA_*; .number = result */
	PLMC_META_DEBUG = 5,  /* me: metadata only, nothing changes */
};

enum plmc_meta_mode {
	PLMC_MS_SET = 0,     /* M S (default) */
	PLMC_MS_ADD = 1,     /* M E */
	PLMC_MS_REPLACE = 2, /* M R */
	PLMC_MS_APPEND = 3,  /* M A */
	PLMC_MS_PREPEND = 4, /* M P */
	PLMC_MA_INCR = 0,    /* M I, M + (default) */
	PLMC_MA_DECR = 1,    /* M D, M - */
};

/* .mflags: which meta flags the request carries. */
#define PLMC_MF_BINKEY	  0x001u /* b: key bytes are binary (any byte) */
#define PLMC_MF_TTL	  0x002u /* T: new TTL .ttl (mg, ma, md with I; ms) */
#define PLMC_MF_VIVIFY	  0x004u /* N: create on miss, TTL .vivify_ttl */
#define PLMC_MF_RECACHE	  0x008u /* R: win if the TTL left < .recache */
#define PLMC_MF_CAS	  0x010u /* C: compare with .cas_in */
#define PLMC_MF_STALE	  0x020u /* I: md marks stale; ms may store stale */
#define PLMC_MF_NOBUMP	  0x040u /* u: no fetched mark, no access time */
#define PLMC_MF_VALUE	  0x080u /* v: copy the value to buf (mg) */
#define PLMC_MF_N_AFTER_T 0x100u /* N follows T on the line (its TTL wins) */
#define PLMC_MF_R_AFTER_T 0x200u /* R follows T (R sees T's TTL) */
#define PLMC_MF_NOWIN	  0x400u /* mg: take no win token (a reply that
				  * fails after the lookup) */
#define PLMC_MF_TOUCH	  0x800u /* mg with T is a touch command (binary
				  * touch, gat): a miss counts in
				  * touch_misses, not get_misses */
#define PLMC_MF_ALL	  0xfffu

/* .rbits: what the store found and did. */
#define PLMC_MR_FETCHED 0x01u /* h: fetched before this call */
#define PLMC_MR_STALE	0x02u /* X: the item is stale */
#define PLMC_MR_TOKEN	0x04u /* Z: a win token went out before */
#define PLMC_MR_WON	0x08u /* W: this caller won (recache it) */
#define PLMC_MR_CREATED 0x10u /* N created the item */
#define PLMC_MR_BINKEY	0x20u /* the item's key was stored binary */

struct plmc_meta {
	uint32_t cmd;	     /* in: enum plmc_meta_cmd */
	uint32_t mode;	     /* in: enum plmc_meta_mode */
	uint32_t mflags;     /* in: PLMC_MF_* */
	uint32_t cflags;     /* in: ms client flags (F) */
	int64_t ttl;	     /* in: T, memcached exptime rules */
	int64_t vivify_ttl;  /* in: N */
	int64_t recache;     /* in: R */
	uint64_t cas_in;     /* in: C */
	uint64_t delta;	     /* in: ma D */
	uint64_t initial;    /* in: ma J */
	uint64_t cas;	     /* out: the item's CAS (after the call) */
	uint64_t vlen;	     /* out: value length */
	uint64_t number;     /* out: ma's new value */
	int64_t ttl_left;    /* out: seconds left as found, -1 = never */
	int64_t ttl_set;     /* out: T's TTL as seconds left, -1 = never */
	int64_t ttl_viv;     /* out: N's */
	uint64_t size;	     /* out: the item's bytes (me) */
	uint32_t flags;	     /* out: client flags */
	uint32_t rbits;	     /* out: PLMC_MR_* */
	uint32_t la;	     /* out: seconds since the last access */
	uint32_t cls;	     /* out: size class (me) */
};

/*
 * One meta command on @key. val/vlen: the ms value; buf/buflen: where
 * mg's value goes. Return: PLMC_OK (hit, done), PLMC_NOT_FOUND (EN/NF),
 * PLMC_STORED, PLMC_NOT_STORED, PLMC_EXISTS, PLMC_DELETED, or an error
 * (PLMC_E_NONNUMERIC, PLMC_E_SMALLBUF, PLMC_E_TOOBIG, PLMC_E_NOMEM,
 * PLMC_E_KEY, PLMC_E_INVAL).
 */
int plmc_meta(const void *key, size_t klen, struct plmc_meta *m,
	      const void *val, size_t vlen, void *buf, size_t buflen);

/*
 * memcached's "slabs reassign SRC DST": move one page of class @src
 * (memcached's numbering, 1 = the smallest; -1 = whichever class has
 * been idle longest) to class @dst (0 = the global pool). The page's
 * items are evicted; it goes through the global pool, where the next
 * class that runs out of chunks takes it. Return: PLMC_REASSIGN_* (>= 0)
 * or an error. A move readers still hold back finishes in a later call.
 */
int plmc_slabs_reassign(int src, int dst);

/* memcached's "slabs automove MODE": 0 moves pages only when asked, 1
 * (the default) when a class runs out and another idles or holds only
 * dead items, 2 instead of every eviction. A store with tenants starts
 * with only the moves that evict nobody (docs/tenants.md); the owner's
 * 0 turns those off too. PLMC_OK, PLMC_E_INVAL, or PLMC_E_PERM (a
 * tenant's call, or the owner's while it acts for a tenant). */
int plmc_slabs_automove(int mode);

/* memcached's background page mover (its LRU maintainer and automove
 * threads), one step, for a client with idle time (plmcd: once a
 * second): the segmented LRU's maintainer step (docs/store.md: HOT's
 * overflow to COLD, active COLD items to WARM, every class with
 * items), then finishes page moves in progress and, while automove is on
 * and the store has no untouched page, gives classes' spare pages (more
 * than two pages' worth of free chunks, or an oldest page of dead
 * items) to the global pool, at most @max (1..64) pages. Return: pages
 * moved (>= 0), PLMC_E_INVAL, PLMC_E_PERM (a tenant's call). */
int plmc_slabs_maintain(unsigned max);
/* @max | PLMC_MAINTAIN_NO_LRU: the page mover's part only, not the
 * segmented LRU's maintainer step (lru.c, which it runs first). */
#define PLMC_MAINTAIN_NO_LRU (1u << 16)

/* memcached's -o temporary_ttl: items stored from now on whose TTL is
 * at most @ttl seconds (0 < TTL) go to the TEMP segment, never evicted,
 * only expired; 0 (a new store's setting) turns TEMP off. Store-wide,
 * every client's. The segmented LRU (HOT, WARM, COLD) is always on.
 * Return: PLMC_OK, PLMC_E_INVAL (over 30 days), PLMC_E_PERM (a
 * tenant's call). docs/store.md, "The segmented LRU". */
int plmc_lru_temp_ttl(unsigned ttl);

/*
 * Tenants (docs/tenants.md). In a store created with .tenants, every
 * call runs for a tenant the store picks itself: the caller's uid (the
 * module's, from the per-process page), or the tenant a proxy chose
 * with plmc_as_tenant(). A tenant's calls see, change and evict only its
 * own items; flush_all flushes only them; its linked items' memory stays
 * under its quota. A uid the table does not know gets an entry (default
 * quota) on its first call while there is room.
 */
#define PLMC_TENANT_MAX   64 /* tenants per store (plmc/layout.h's) */
#define PLMC_TENANT_PROXY 0x1u /* may act for any tenant (plmcd) */
#define PLMC_TENANT_FLAGS PLMC_TENANT_PROXY
#define PLMC_TENANT_SELF  0xffffffffu /* plmc_as_tenant: back to own */

struct plmc_tenant {
	uint32_t id;         /* uid, or a proxy's id (plmcd's user map) */
	uint32_t flags;      /* PLMC_TENANT_* */
	uint64_t quota;      /* bytes of item memory (chunks) it may hold */
	int64_t items;       /* linked items */
	int64_t bytes;       /* their bytes: header + key + value */
	int64_t mem;         /* their chunks' bytes (what the quota bounds) */
	uint64_t cmd_get;
	uint64_t get_hits;
	uint64_t cmd_set;
	uint64_t evictions;  /* own items evicted to make room for own */
	uint64_t outofmemory; /* writes refused: at quota, nothing to evict */
	uint64_t cmd_flush;
	uint64_t pad;
};

/* The tenants the caller may see: the owner and root see every entry,
 * anyone else only its own. Up to @n into @out; *count = how many there
 * are to see. PLMC_OK; PLMC_E_INVAL if the store has no tenants. */
int plmc_tenant_list(struct plmc_tenant *out, size_t n, size_t *count);
/* Owner or root: add tenant @id, or change it: @quota bytes (0: the
 * default share, the store's item memory / .tenants), @flags
 * PLMC_TENANT_*. PLMC_OK, PLMC_E_PERM, PLMC_E_NOTENANT, PLMC_E_INVAL. */
int plmc_tenant_set(uint32_t id, uint64_t quota, uint32_t flags);
/* A proxy (PLMC_TENANT_PROXY): this thread's later calls run for tenant
 * @id (added with the default quota if new); PLMC_TENANT_SELF: for its
 * own again. PLMC_OK, PLMC_E_PERM, PLMC_E_NOTENANT. */
int plmc_as_tenant(uint32_t id);
/* Owner or root: flush_all for every tenant (plmc_flush_all flushes the
 * caller's tenant only). PLMC_OK or PLMC_E_PERM. */
int plmc_flush_store(int32_t delay);

/* The store image's version string, NUL-terminated. PLMC_OK or
 * PLMC_E_SMALLBUF. */
int plmc_version(char *buf, size_t len);

/* Tests: move the store's clock forward without sleeping. Test image
 * only (PLMC_CREATE_TEST_IMAGE), else PLMC_E_TESTONLY. */
int plmc_clock_advance(int64_t seconds);

/* Crash recovery. plmc_recover: detect dead attachments (none backend)
 * and recover every dead slot now; returns how many (>= 0) or an error.
 * plmc_check: see struct plmc_check; PLMC_OK, the store's verdict is in
 * .errors. plmc_crash_arm (test image only, else PLMC_E_TESTONLY):
 * this thread's next call that reaches crash point @point (enum
 * plmc_crash_point in plmc/gate.h) kills the process there; 0 disarms. */
int plmc_recover(void);
int plmc_check(struct plmc_check *out);
int plmc_crash_arm(int point);
const char *plmc_crash_name(int point);

const char *plmc_strerror(int rc);

#ifdef __cplusplus
}
#endif
#endif /* PLMC_H */
