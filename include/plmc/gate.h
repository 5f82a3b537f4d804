/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plmc/gate.h - how libpl calls into the image.
 *
 * The gate is a function at PLMC_BASE + hdr->entry_pku (or entry_none):
 *
 *	long gate(__u64 op, const struct plmc_req *req, __u64 slot);
 *
 * System V calling convention; callee-saved registers are preserved, the
 * other general registers are zeroed on return (rax holds the result).
 * No SIMD register is touched (kvcore is built -mgeneral-regs-only).
 * @req lives in client memory: kvcore copies it in whole before looking at
 * any field, then checks every pointer against the protected window and for
 * wrap-around before copying from/to it. Results go to @req->out.
 *
 * Result: >= 0 a status (enum plmc_status in plmc.h), < 0 an error
 * (PLMC_E_* in plmc.h).
 */
#ifndef PLMC_GATE_H
#define PLMC_GATE_H

#include <linux/types.h>

enum plmc_op {
	PLMC_OP_NOP = 0,      /* empty round trip */
	PLMC_OP_GET = 1,      /* key -> buf, resp */
	PLMC_OP_SET = 2,      /* key, val, flags, exptime */
	PLMC_OP_DELETE = 3,   /* key */
	PLMC_OP_STATS = 4,    /* out = struct plmc_stats */
	PLMC_OP_RELEASE = 5,  /* free this slot on the way out */
	PLMC_OP_CLOCK = 6,    /* test: add req->exptime seconds to store time */
	PLMC_OP_ADD = 7,      /* as SET; NOT_STORED if the key is there */
	PLMC_OP_REPLACE = 8,  /* as SET; NOT_STORED if the key is not there */
	PLMC_OP_APPEND = 9,   /* key, val: flags and exptime stay */
	PLMC_OP_PREPEND = 10, /* key, val */
	PLMC_OP_CAS = 11,     /* as SET, plus cas: the unique it must have */
	PLMC_OP_INCR = 12,    /* key, vlen = delta, out = __u64 new value */
	PLMC_OP_DECR = 13,    /* key, vlen = delta, out = __u64 new value */
	PLMC_OP_TOUCH = 14,   /* key, exptime */
	PLMC_OP_GAT = 15,     /* as GET, plus exptime (touch, then get) */
	PLMC_OP_FLUSH = 16,   /* exptime = delay in seconds (<= 0: now) */
	PLMC_OP_VERSION = 17, /* buf, buflen: NUL-terminated version */
	PLMC_OP_MGET = 18,    /* out = struct plmc_mget_ent[buflen] */
	PLMC_OP_CHECK = 19,   /* out = struct plmc_check, buflen = its size */
	PLMC_OP_RECOVER = 20, /* recover every dead slot now; result: count */
	PLMC_OP_CRASH = 21,   /* test: vlen = crash point armed in this slot */
	PLMC_OP_CLASSES = 22, /* out = struct plmc_class_stats[buflen] */
	PLMC_OP_STATS_RESET = 23, /* memcached's "stats reset" */
	PLMC_OP_META = 24,    /* key, val/vlen (ms), buf/buflen (mg),
			       * out = struct plmc_meta (in and out) */
	PLMC_OP_REASSIGN = 25, /* exptime = src class (-1 any), vlen = dst
				* (0 = the global pool): memcached's
				* slabs reassign */
	PLMC_OP_AUTOMOVE = 26, /* vlen = mode 0..2: slabs automove */
	PLMC_OP_WALK = 27,     /* vlen = cursor, cas = the CAS to go on
				* after, exptime = class (0 all), flags =
				* reclaim, out = struct plmc_walk, buflen =
				* its size */
	PLMC_OP_TENANT = 28,   /* flags = PLMC_TOP_*, below */
	PLMC_OP_EVLOG = 29,    /* vlen = cursor, exptime = seconds to keep
				* the eviction log on, out = struct
				* plmc_evlog, buflen = its size */
	PLMC_OP_MAINTAIN = 30, /* vlen = most pages to move (1..64):
				* the background page mover's step */
	PLMC_OP_LRU = 31,      /* vlen = temporary_ttl (seconds, 0 = no
				* TEMP segment): the segmented LRU */
	PLMC_OP_COUNT
};

/*
 * Named crash points (test only, PLMC_OP_CRASH): the calling slot dies
 * (ud2: SIGILL) when its call reaches the point. Each sits between two
 * steps that change shared state; *_TX points die with a redo record
 * half applied. The arm lives in the caller's own slot record, so it can
 * never fire in another process; RELEASE and recovery clear it.
 */
enum plmc_crash_point {
	PLMC_CRASH_NONE = 0,
	PLMC_CRASH_ALLOC_LOCKED = 1,  /* class lock held, nothing taken */
	PLMC_CRASH_ALLOC_TX = 2,      /* chunk take half applied */
	PLMC_CRASH_PAGE_TX = 3,       /* page take half applied (page lock) */
	PLMC_CRASH_BUILT = 4,         /* item built, not yet locked */
	PLMC_CRASH_WR_LOCKED = 5,     /* stripe lock held, nothing changed */
	PLMC_CRASH_LINK_TX = 6,       /* link + counters half applied */
	PLMC_CRASH_LINKED = 7,        /* linked, stripe lock still held */
	PLMC_CRASH_UNLOCKED = 8,      /* unlinked item not yet retired */
	PLMC_CRASH_RETIRE_TX = 9,     /* retired-list append half applied */
	PLMC_CRASH_FREE_TX = 10,      /* unpublished chunk half freed */
	PLMC_CRASH_RECLAIM_TX = 11,   /* retired item half freed */
	PLMC_CRASH_EVICT = 12,        /* CLOCK hand moved, class lock held */
	PLMC_CRASH_TOUCH = 13,        /* expiry stored, stripe lock held */
	PLMC_CRASH_FLUSH = 14,        /* flush_cas stored, flush_time not */
	PLMC_CRASH_RECOVER_CLAIMED = 15,  /* recoverer claimed a dead slot */
	PLMC_CRASH_RECOVER_REPLAYED = 16, /* ... replayed it, locks freed */
	PLMC_CRASH_RECOVER_TX = 17,   /* ... its retire of the dead chunk */
	PLMC_CRASH_META_TTL = 18,     /* mg's T stored, the win not yet
				       * marked, stripe lock held */
	PLMC_CRASH_MOVE_START_TX = 19, /* page off its class's list, half
					* applied (class lock) */
	PLMC_CRASH_MOVE_TAKE_TX = 20,  /* a moving page's free chunk half
					* taken off the free list */
	PLMC_CRASH_MOVE_ZERO = 21,     /* moving page half zeroed */
	PLMC_CRASH_MOVE_DONE_TX = 22,  /* move closed, page to the spare,
					* half applied */
	PLMC_CRASH_POOL_TX = 23,       /* spare page half pushed on the
					* global pool (page lock) */
	PLMC_CRASH_TABLE_PAGE_TX = 24, /* a page half taken for the new
					* table (page lock) */
	PLMC_CRASH_TABLE_GO_TX = 25,   /* the new table half published,
					* its grace epoch not yet taken */
	PLMC_CRASH_TABLE_MOVE_TX = 26, /* an item half moved to the new
					* table (stripe lock) */
	PLMC_CRASH_TABLE_DONE_TX = 27, /* a bucket's move, or the switch
					* to the new table, half applied */
	PLMC_CRASH_TABLE_FREE_TX = 28, /* an old table's page half given
					* back, or the growth half closed */
	PLMC_CRASH_COUNT
};

/*
 * PLMC_OP_TENANT's commands (req.flags); docs/tenants.md.
 *   LIST:  out = struct plmc_tenant[buflen]; result: entries visible
 *   SET:   klen = id, vlen = quota bytes, cas = PLMC_TENANT_* flags
 *   AS:    klen = id (PLMC_TENANT_SELF: own)
 *   FLUSH: exptime = delay: flush_all of every tenant
 */
enum plmc_tenant_cmd {
	PLMC_TOP_LIST = 1,
	PLMC_TOP_SET = 2,
	PLMC_TOP_AS = 3,
	PLMC_TOP_FLUSH = 4,
};

/*
 * MGET: up to PLMC_MGET_MAX entries per call, in and out in place. The
 * store copies each entry in once, checks it (key, buffer) and writes the
 * whole entry back with its results; a bad entry gets its own rc
 * (PLMC_E_KEY, PLMC_E_FAULT), the others still run. Same layout as
 * struct plmc_mget in plmc.h.
 */
#define PLMC_MGET_MAX 100

struct plmc_mget_ent {
	__u64 key;    /* in: client pointer */
	__u64 buf;    /* in: client pointer, value destination */
	__u64 buflen; /* in */
	__u64 vlen;   /* out: value length (OK and SMALLBUF) */
	__u64 cas;    /* out */
	__u32 klen;   /* in */
	__u32 flags;  /* out */
	__s32 rc;     /* out: OK, NOT_FOUND, E_SMALLBUF, E_KEY, E_FAULT */
	__u32 pad;
};

/* One request. Fields an op does not use must be zero. */
struct plmc_req {
	__u64 key;     /* client pointer */
	__u64 val;     /* client pointer: SET value */
	__u64 buf;     /* client pointer: GET destination */
	__u64 out;     /* client pointer: struct plmc_resp, or plmc_stats */
	__u64 vlen;    /* SET value length */
	__u64 buflen;  /* GET buffer length; STATS: sizeof(struct plmc_stats) */
	__s64 exptime; /* memcached exptime; CLOCK: seconds to add */
	__u64 cas;     /* compare-and-swap unique (later ops) */
	__u32 klen;
	__u32 flags;   /* client flags stored with the item */
};

/* GET result. vlen is set even when the buffer was too small. */
struct plmc_resp {
	__u64 vlen;
	__u64 cas;
	__u32 flags;
	__u32 pad;
};

_Static_assert(sizeof(struct plmc_req) == 72, "plmc_req layout");
_Static_assert(sizeof(struct plmc_resp) == 24, "plmc_resp layout");
_Static_assert(sizeof(struct plmc_mget_ent) == 56, "plmc_mget_ent layout");
/* struct plmc_meta (plmc.h) crosses the gate as it is. */
#define PLMC_META_SIZE 136

#endif /* PLMC_GATE_H */
