/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plmc/layout.h - the protected range: where everything lives.
 *
 * Shared by kmod/ (kernel), kvcore/ (freestanding image) and libpl/ (user).
 * Only fixed-width types; every shared struct has its size checked below.
 *
 * One contiguous range at a fixed virtual address, the same in every
 * process, so raw pointers inside it are valid everywhere:
 *
 *   PLMC_BASE + 0x000000  image       kvcore code + rodata   R-X  store pkey
 *             + 0x100000  ppage       this process's page    R--  pkey 0
 *             + 0x200000  stacks      one per thread slot    RW-  store pkey
 *             + 0x600000  store       header, slots, kv area RW-  store pkey
 *
 * Three mappings (three VMAs): image, ppage, data (= stacks + store).
 * The ppage is per process (its own physical page); all else is shared.
 * The ppage uses pkey 0 on purpose: the gate reads it (attach id, pkey) in
 * untrusted mode to check the PKRU value it leaves behind.
 *
 * Nothing outside [PLMC_BASE, PLMC_BASE + PLMC_SPAN) is part of plmc, and
 * no client buffer may overlap that window (the confused-deputy check).
 */
#ifndef PLMC_LAYOUT_H
#define PLMC_LAYOUT_H

#include <linux/types.h>

#define PLMC_BASE 0x600000000000ULL
#define PLMC_SPAN (1ULL << 40) /* reserved window, 1 TiB */

#define PLMC_IMAGE_OFF 0x000000ULL
#define PLMC_IMAGE_MAX 0x100000ULL /* 1 MiB */
#define PLMC_PPAGE_OFF 0x100000ULL
#define PLMC_PPAGE_SIZE 0x1000ULL
#define PLMC_DATA_OFF 0x200000ULL /* stacks, then store: one mapping */

#define PLMC_MAX_SLOTS 256
#define PLMC_STACK_SIZE 0x4000ULL /* 16 KiB per slot, no guard pages */
#define PLMC_STACKS_OFF PLMC_DATA_OFF
#define PLMC_STORE_OFF (PLMC_STACKS_OFF + PLMC_MAX_SLOTS * PLMC_STACK_SIZE)

/* Slots per uid unless the creator says otherwise: a quarter, so one
 * user's clients (or three users') cannot take every slot. */
#define PLMC_SLOT_QUOTA_DEFAULT (PLMC_MAX_SLOTS / 4)

/* Tenants a store may keep apart (struct plmc_store_hdr.tenants). */
#define PLMC_TENANT_MAX 64

#define PLMC_STORE_MIN (4ULL << 20)
#define PLMC_STORE_MAX (PLMC_SPAN - PLMC_STORE_OFF - (1ULL << 30))
#define PLMC_STORE_ALIGN (1ULL << 20) /* store sizes are whole MiB */

/* Offsets inside the store (from PLMC_STORE_OFF). */
#define PLMC_HDR_SIZE 0x1000ULL
#define PLMC_SLOTS_OFF PLMC_HDR_SIZE
#define PLMC_SLOT_SIZE 256ULL
#define PLMC_KV_OFF (PLMC_SLOTS_OFF + PLMC_MAX_SLOTS * PLMC_SLOT_SIZE)

/* Absolute addresses, for the gate and kvcore. */
#define PLMC_PPAGE_ADDR (PLMC_BASE + PLMC_PPAGE_OFF)
#define PLMC_STACKS_ADDR (PLMC_BASE + PLMC_STACKS_OFF)
#define PLMC_STORE_ADDR (PLMC_BASE + PLMC_STORE_OFF)
#define PLMC_SLOTS_ADDR (PLMC_STORE_ADDR + PLMC_SLOTS_OFF)
#define PLMC_KV_ADDR (PLMC_STORE_ADDR + PLMC_KV_OFF)

/* Length of the data mapping for a store of @store_size bytes. */
#define PLMC_DATA_LEN(store_size) (PLMC_STORE_OFF - PLMC_DATA_OFF + (store_size))

#define PLMC_STORE_MAGIC 0x31524f5453434d50ULL /* "PMCSTOR1" little-endian */
#define PLMC_PPAGE_MAGIC 0x3147415050434d50ULL /* "PMCPPAG1" */
/* 2: the table grows (plmc/geometry.h); 3: the 48-byte item header; 4:
 * the LRU segment in the item flags, page loans in kv_area. A
 * store of another layout is refused (PLMC_E_CORRUPT), never misread. */
#define PLMC_LAYOUT_VERSION 4

/* An item's header in the store (kvcore/kv.h asserts it): an item takes
 * PLMC_ITEM_HDR + key + value bytes of its chunk. */
#define PLMC_ITEM_HDR 48

/* Store settings (struct plmc_store_hdr, create): ranges and defaults. */
#define PLMC_CFG_ITEM_MIN 1024ULL		/* memcached's -I floor */
#define PLMC_CFG_ITEM_MAX (1024ULL * 1024)	/* one page: the largest class */
#define PLMC_CFG_FACTOR_DEF 1250		/* -f 1.25 */
#define PLMC_CFG_FACTOR_MIN 1010
#define PLMC_CFG_FACTOR_MAX 4000
#define PLMC_CFG_MIN_DEF 16			/* smallest class: 64 bytes */
#define PLMC_CFG_MIN_MIN 8
#define PLMC_CFG_MIN_MAX 1024

/* Nonzero if the settings are in range (0 = default for each). */
static inline int plmc_cfg_ok(__u64 item_max, __u32 factor, __u32 min)
{
	return (!item_max || (item_max >= PLMC_CFG_ITEM_MIN &&
			      item_max <= PLMC_CFG_ITEM_MAX)) &&
	       (!factor || (factor >= PLMC_CFG_FACTOR_MIN &&
			    factor <= PLMC_CFG_FACTOR_MAX)) &&
	       (!min || (min >= PLMC_CFG_MIN_MIN && min <= PLMC_CFG_MIN_MAX));
}

#define PLMC_NAME_LEN 64 /* name buffer incl. NUL: [A-Za-z0-9._-]{1,63} */

/* Which backend built this process's ppage. */
#define PLMC_BACKEND_NONE 0 /* no PKU: libpl maps a shm file, no PKRU switch */
#define PLMC_BACKEND_KMOD 1 /* the module: real isolation */
#define PLMC_BACKEND_PKU 2  /* shm file + pkey_mprotect, no module */

/*
 * Store header, at PLMC_STORE_ADDR. Written by the creator (magic, layout,
 * sizes, name) and by the backend (clock, generation, deaths, nattach);
 * kvcore only reads it. 4 KiB reserved.
 */
struct plmc_store_hdr {
	__u64 magic;      /* PLMC_STORE_MAGIC */
	__u32 layout;     /* PLMC_LAYOUT_VERSION */
	__u32 hdr_size;   /* sizeof(struct plmc_store_hdr) */
	__u64 store_size; /* bytes from PLMC_STORE_ADDR, this header included */
	__u64 create_sec; /* unix seconds at create */
	/* The store's time, kept by the backend; never the client's. */
	__u64 clock_sec; /* unix seconds (CLOCK_REALTIME), ~10 ms fresh */
	__u64 clock_ns;  /* monotonic ns since create, the finer tick */
	/* Death marking: set a slot's .dead, then bump generation (release). */
	__u64 generation; /* bumped after every death marking */
	__u64 deaths;     /* attachments that died or unmapped */
	__u64 nattach;    /* processes attached now (informational) */
	__u64 attach_seq; /* last attach id handed out (none backend) */
	char name[PLMC_NAME_LEN];
	/* Most slots the attachments of one uid may hold together (idle or
	 * busy; slots of attachments marked dead do not count),
	 * 1..MAX_SLOTS; the gate refuses a new slot beyond it
	 * (PLMC_E_NOSLOT). 0 (a header older than the field) means
	 * PLMC_SLOT_QUOTA_DEFAULT. */
	__u32 slot_quota;
	__u32 pad0;
	/*
	 * Settings fixed at create (memcached's -I, -f, -n); 0 = default.
	 * Written once by the creator before anyone attaches; the image
	 * checks their ranges on every call (kv_ctx_init).
	 */
	__u64 item_max;    /* PLMC_CFG_ITEM_MIN..PLMC_CFG_ITEM_MAX bytes */
	__u32 slab_factor; /* class growth x 1000: 1010..4000 */
	__u32 slab_min;    /* key + value room of the smallest class: 8..1024 */
	/*
	 * The hash secret (kvcore/hash.c): 128 random bits from the kernel,
	 * written once at create by whoever builds the header (the module:
	 * get_random_bytes; none/pku: getrandom), before anyone attaches.
	 * Only the image reads it: it is in no stats, no ioctl answer and
	 * no client view, so bucket choice cannot be computed from outside
	 * (hash flooding). 0, 0 in a header older than the field.
	 */
	__u64 hash_key[2];
	/*
	 * Tenants (docs/tenants.md), fixed at create: the most tenants the
	 * store keeps apart (1..PLMC_TENANT_MAX), 0 = no tenants (one key
	 * space, as memcached). owner_uid: the uid (init namespace) that
	 * may, besides uid 0, configure tenants and flush the whole store.
	 * Written by whoever builds the header, before anyone attaches.
	 */
	__u32 tenants;
	__u32 owner_uid;
	__u64 reserved[4];
};

/*
 * Thread slot: a stack (at PLMC_STACKS_ADDR + i * PLMC_STACK_SIZE) and this
 * record (at PLMC_SLOTS_ADDR + i * PLMC_SLOT_SIZE). The record is also the
 * recovery record of the call in flight.
 *
 * state: 0 = free; otherwise (owner attach id << 1) | busy. Only the gate
 *        changes it, with lock cmpxchg: 0 -> id<<1|1 (claim), id<<1 ->
 *        id<<1|1 (enter), dead<<1[|1] -> id<<1|1 (take over a slot
 *        whose owner is marked dead), and a release store of exit_state
 *        on exit; recovery (kvcore) frees a dead owner's slot.
 * dead:  0, or the owner's attach id once the backend saw that attachment
 *        die; written before generation is bumped.
 * The module touches state and dead only; the rest belongs to kvcore.
 * It also reads two of kvcore's words (kmod/stop.c judges a call's
 * progress by them; kvcore/kv.h checks they stay where named here):
 * kv[PLMC_KV_SEQ], the slot's call counter, bumped at every call's
 * entry; kv[PLMC_KV_HELD_LOCK], the address of the lock the slot is
 * taking or holds (0: none; the lock word is the holder's slot + 1).
 */
#define PLMC_KV_SEQ 0
#define PLMC_KV_HELD_LOCK 1

struct plmc_slot {
	__u64 state;
	__u64 dead;
	__u64 saved_rsp;   /* client stack pointer while inside */
	__u32 client_pkru; /* PKRU at entry (restored, store key forced off) */
	__u32 uid;	   /* the owner's uid (ppage), for the per-uid quota;
			    * ~0 while the slot is free or being freed */
	__u64 epoch;       /* announced reader epoch; 0 outside the store */
	__u64 exit_state;  /* what the gate stores into state on exit */
	__u64 kv[26];      /* kvcore: held lock, intent log */
};

/* Per-process page, at PLMC_PPAGE_ADDR, read-only to the process. */
struct plmc_ppage {
	__u64 magic;      /* PLMC_PPAGE_MAGIC */
	__u64 attach_id;  /* nonzero, < 2^62, unique for the store's life */
	__u32 pkey;       /* the store's protection key here; 0 if none */
	__u32 pkey_shift; /* 2 * pkey: PKRU access-disable bit of the key */
	__u32 backend;    /* PLMC_BACKEND_* */
	__u32 tgid;
	__u32 uid;
	__u32 pad;
	__u64 store_size;
	__u64 image_size;
};

/* Layout checks, in every build that includes this header. */
#define PLMC_LAYOUT_ASSERT(c, m) _Static_assert(c, m)
PLMC_LAYOUT_ASSERT(sizeof(struct plmc_slot) == PLMC_SLOT_SIZE, "slot size");
PLMC_LAYOUT_ASSERT(sizeof(struct plmc_store_hdr) <= PLMC_HDR_SIZE, "hdr size");
PLMC_LAYOUT_ASSERT(sizeof(struct plmc_ppage) <= PLMC_PPAGE_SIZE, "ppage");
PLMC_LAYOUT_ASSERT(PLMC_STORE_OFF == 0x600000ULL, "store offset");
PLMC_LAYOUT_ASSERT((PLMC_KV_OFF & 0xfff) == 0, "kv area page aligned");

#endif /* PLMC_LAYOUT_H */
