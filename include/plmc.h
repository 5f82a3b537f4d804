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
};

/* Which backend to use. AUTO: the module if /dev/plmc exists, else none
 * (announced once on stderr). The environment variable PLMC_BACKEND
 * (kmod, none) overrides AUTO. */
#define PLMC_USE_AUTO 0
#define PLMC_USE_KMOD 1
#define PLMC_USE_NONE 2

struct plmc_stats {
	uint64_t size;        /* sizeof(struct plmc_stats), set by the caller */
	uint64_t curr_items;
	uint64_t total_items; /* items ever stored */
	uint64_t bytes;       /* bytes used by items */
	uint64_t limit_maxbytes;
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
};

/* Segments. mode: permission bits (0600...). use: PLMC_USE_*. */
int plmc_create(const char *name, uint64_t size, unsigned mode, int use);
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
int plmc_nop(void);

/* Tests: move the store's clock forward without sleeping. */
int plmc_clock_advance(int64_t seconds);

const char *plmc_strerror(int rc);

#ifdef __cplusplus
}
#endif
#endif /* PLMC_H */
