// SPDX-License-Identifier: MIT
/*
 * libpl/api.c - the typed calls: build a struct plmc_req on the stack and
 * go through the gate.
 *
 * The checks here only turn obvious misuse into PLMC_E_INVAL early; this
 * is untrusted code, so the store checks everything again (lengths,
 * pointers against the protected window, wrap-around). Pointers are passed
 * through as given on purpose: the store, not libpl, must refuse them.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "pl.h"

int plmc_set(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime)
{
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.val = (__u64)(uintptr_t)val,
		.vlen = vlen,
		.exptime = exptime,
		.klen = (__u32)klen,
		.flags = flags,
	};

	if ((!key && klen) || (!val && vlen))
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY; /* would not fit req.klen otherwise */
	return (int)pl_call(PLMC_OP_SET, &r);
}

/* GET and GAT: the same request and the same result handling. */
static inline __attribute__((always_inline)) int
get_common(__u64 op, const void *key, size_t klen, int32_t exptime, void *buf,
	   size_t buflen, size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	struct plmc_resp resp = {0};
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.buf = (__u64)(uintptr_t)buf,
		.out = (__u64)(uintptr_t)&resp,
		.buflen = buflen,
		.exptime = exptime,
		.klen = (__u32)klen,
	};
	int rc;

	if ((!key && klen) || (!buf && buflen))
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	rc = (int)pl_call(op, &r);
	if (rc != PLMC_OK && rc != PLMC_E_SMALLBUF)
		return rc;
	if (vlen)
		*vlen = (size_t)resp.vlen;
	if (flags)
		*flags = resp.flags;
	if (cas)
		*cas = resp.cas;
	return rc;
}

int plmc_get(const void *key, size_t klen, void *buf, size_t buflen,
	     size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	return get_common(PLMC_OP_GET, key, klen, 0, buf, buflen, vlen, flags,
			  cas);
}

int plmc_delete(const void *key, size_t klen)
{
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.klen = (__u32)klen,
	};

	if (!key && klen)
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	return (int)pl_call(PLMC_OP_DELETE, &r);
}

/* The store fills all of *st, size included; libpl never writes it. */
int plmc_stats(struct plmc_stats *st)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)st,
		.buflen = sizeof(*st),
	};

	if (!st)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_STATS, &r);
}

/*
 * A store whose image predates the command counters refuses a size in
 * vlen: ask it for its entries, then spread them to this struct's
 * stride from the last down (they only move up) and zero the new tail.
 */
static long class_stats_v1(struct plmc_class_stats *out, size_t n)
{
	const size_t v1 = PLMC_CLASS_STATS_V1;
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)out,
		.buflen = n,
	};
	long rc = pl_call(PLMC_OP_CLASSES, &r);
	size_t i;

	for (i = rc > 0 ? ((size_t)rc < n ? (size_t)rc : n) : 0; i-- > 0;) {
		memmove(&out[i], (char *)out + i * v1, v1);
		memset((char *)&out[i] + v1, 0, sizeof(*out) - v1);
	}
	return rc;
}

int plmc_class_stats(struct plmc_class_stats *out, size_t n, size_t *count)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)out,
		.buflen = n,
		.vlen = sizeof(*out),
	};
	long rc;

	if (n && !out)
		return PLMC_E_INVAL;
	rc = pl_call(PLMC_OP_CLASSES, &r);
	if (rc == PLMC_E_INVAL && n <= 64)
		rc = class_stats_v1(out, n);
	if (rc < 0)
		return (int)rc;
	if (count)
		*count = (size_t)rc;
	return PLMC_OK;
}

int plmc_slabs_reassign(int src, int dst)
{
	struct plmc_req r = {
		.exptime = src,
		.vlen = (__u64)(int64_t)dst,
	};

	return (int)pl_call(PLMC_OP_REASSIGN, &r);
}

int plmc_slabs_automove(int mode)
{
	struct plmc_req r = {
		.vlen = (__u64)(int64_t)mode,
	};

	return (int)pl_call(PLMC_OP_AUTOMOVE, &r);
}

int plmc_stats_reset(void)
{
	struct plmc_req r = {0};

	return (int)pl_call(PLMC_OP_STATS_RESET, &r);
}

/* Shared by set/add/replace/cas: only the op and the unique differ. */
static int pl_store(__u64 op, const void *key, size_t klen, const void *val,
		    size_t vlen, uint32_t flags, int32_t exptime, uint64_t cas)
{
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.val = (__u64)(uintptr_t)val,
		.vlen = vlen,
		.exptime = exptime,
		.cas = cas,
		.klen = (__u32)klen,
		.flags = flags,
	};

	if ((!key && klen) || (!val && vlen))
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	return (int)pl_call(op, &r);
}

int plmc_add(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime)
{
	return pl_store(PLMC_OP_ADD, key, klen, val, vlen, flags, exptime, 0);
}

int plmc_replace(const void *key, size_t klen, const void *val, size_t vlen,
		 uint32_t flags, int32_t exptime)
{
	return pl_store(PLMC_OP_REPLACE, key, klen, val, vlen, flags, exptime,
			0);
}

int plmc_append(const void *key, size_t klen, const void *val, size_t vlen)
{
	return pl_store(PLMC_OP_APPEND, key, klen, val, vlen, 0, 0, 0);
}

int plmc_prepend(const void *key, size_t klen, const void *val, size_t vlen)
{
	return pl_store(PLMC_OP_PREPEND, key, klen, val, vlen, 0, 0, 0);
}

int plmc_cas(const void *key, size_t klen, const void *val, size_t vlen,
	     uint32_t flags, int32_t exptime, uint64_t cas)
{
	return pl_store(PLMC_OP_CAS, key, klen, val, vlen, flags, exptime, cas);
}

static int pl_delta(__u64 op, const void *key, size_t klen, uint64_t delta,
		    uint64_t *value)
{
	__u64 v = 0;
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.out = (__u64)(uintptr_t)&v,
		.vlen = delta,
		.klen = (__u32)klen,
	};
	int rc;

	if (!key && klen)
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	rc = (int)pl_call(op, &r);
	if (rc == PLMC_OK && value)
		*value = v;
	return rc;
}

int plmc_incr(const void *key, size_t klen, uint64_t delta, uint64_t *value)
{
	return pl_delta(PLMC_OP_INCR, key, klen, delta, value);
}

int plmc_decr(const void *key, size_t klen, uint64_t delta, uint64_t *value)
{
	return pl_delta(PLMC_OP_DECR, key, klen, delta, value);
}

int plmc_touch(const void *key, size_t klen, int32_t exptime)
{
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.exptime = exptime,
		.klen = (__u32)klen,
	};

	if (!key && klen)
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	return (int)pl_call(PLMC_OP_TOUCH, &r);
}

int plmc_gat(const void *key, size_t klen, int32_t exptime, void *buf,
	     size_t buflen, size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	return get_common(PLMC_OP_GAT, key, klen, exptime, buf, buflen, vlen,
			  flags, cas);
}

int plmc_flush_all(int32_t delay)
{
	struct plmc_req r = {.exptime = delay};

	return (int)pl_call(PLMC_OP_FLUSH, &r);
}

/* The public struct is the gate's entry, field for field. */
#define PL_SAME(f)                                                             \
	_Static_assert(offsetof(struct plmc_mget, f) ==                        \
			       offsetof(struct plmc_mget_ent, f),              \
		       "plmc_mget." #f)
PL_SAME(key);
PL_SAME(buf);
PL_SAME(buflen);
PL_SAME(vlen);
PL_SAME(cas);
PL_SAME(klen);
PL_SAME(flags);
PL_SAME(rc);
_Static_assert(sizeof(struct plmc_mget) == sizeof(struct plmc_mget_ent),
	       "plmc_mget size");

/* Batches of PLMC_MGET_MAX, one gate crossing each; the array is handed
 * to the store as is (it checks every entry). */
int plmc_mget(struct plmc_mget *keys, size_t n)
{
	size_t i;

	if (!keys && n)
		return PLMC_E_INVAL;
	for (i = 0; i < n; i += PLMC_MGET_MAX) {
		size_t k = n - i < PLMC_MGET_MAX ? n - i : PLMC_MGET_MAX;
		struct plmc_req r = {
			.out = (__u64)(uintptr_t)(keys + i),
			.buflen = k,
		};
		int rc = (int)pl_call(PLMC_OP_MGET, &r);

		if (rc != PLMC_OK)
			return rc;
	}
	return PLMC_OK;
}

/* The store copies *m in, checks every field and writes it back whole. */
int plmc_meta(const void *key, size_t klen, struct plmc_meta *m,
	      const void *val, size_t vlen, void *buf, size_t buflen)
{
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.val = (__u64)(uintptr_t)val,
		.buf = (__u64)(uintptr_t)buf,
		.out = (__u64)(uintptr_t)m,
		.vlen = vlen,
		.buflen = buflen,
		.klen = (__u32)klen,
	};

	if (!m || (!key && klen) || (!val && vlen) || (!buf && buflen))
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	return (int)pl_call(PLMC_OP_META, &r);
}

int plmc_version(char *buf, size_t len)
{
	struct plmc_req r = {
		.buf = (__u64)(uintptr_t)buf,
		.buflen = len,
	};

	if (!buf && len)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_VERSION, &r);
}

int plmc_nop(void)
{
	struct plmc_req r = {0};

	return (int)pl_call(PLMC_OP_NOP, &r);
}

int plmc_clock_advance(int64_t seconds)
{
	struct plmc_req r = {.exptime = seconds};

	return (int)pl_call(PLMC_OP_CLOCK, &r);
}

static const char *pl_status_str(int rc)
{
	static const char *const s[] = {
		[PLMC_OK] = "ok",
		[PLMC_STORED] = "stored",
		[PLMC_NOT_STORED] = "not stored",
		[PLMC_EXISTS] = "exists (CAS mismatch)",
		[PLMC_NOT_FOUND] = "not found",
		[PLMC_DELETED] = "deleted",
		[PLMC_TOUCHED] = "touched",
	};

	if (rc < (int)(sizeof(s) / sizeof(s[0])) && s[rc])
		return s[rc];
	return "unknown plmc status";
}

/*
 * libpl's own codes (plmc.h: from PLMC_E_BACKEND on), and the two errno
 * values libpl returns for one cause only: -ENODEV (backend kmod, no
 * /dev/plmc) and -EOPNOTSUPP (no protection keys), named for that cause
 * rather than by strerror.
 */
static const char *pl_cause_str(int rc)
{
	switch (rc) {
	case -ENODEV:
		return "backend kmod: " PLMC_DEV_PATH " is missing (the plmc "
		       "module is not loaded)";
	case -EOPNOTSUPP:
		return "no memory protection keys (PKU) on this CPU or "
		       "kernel: backends kmod and pku need them";
	case PLMC_E_BACKEND:
		return "PLMC_BACKEND names no backend (kmod, none or pku)";
	case PLMC_E_NAME:
		return "bad store name: 1 to 63 characters of A-Z a-z 0-9 "
		       ". _ -";
	case PLMC_E_PERM:
		return "not allowed in a store with tenants: the store's "
		       "owner, root or a proxy only";
	case PLMC_E_NOTENANT:
		return "the store's tenant table is full";
	}
	return NULL;
}

static const char *pl_error_str(int rc)
{
	static const char *const s[] = {
		"invalid argument",
		"bad key: empty, longer than 250 bytes, or space/control "
		"characters",
		"item larger than the maximum item size",
		"store full and nothing could be evicted",
		"buffer inside the protected window, or it wraps around",
		"thread slot in use by another thread or process",
		"every thread slot is taken",
		"no such store operation",
		"buffer too small for the value (see *vlen)",
		"not attached to a store",
		"store header not valid",
		"image rejected by the image check, or not this library's",
		"incr/decr: the value is not an unsigned decimal number",
		"memory waits on another thread's call; retry",
		"test-only operation: the store runs the production image "
		"(create it with the test image)",
	};
	int i = PLMC_E_INVAL - rc;

	if (i >= 0 && i < (int)(sizeof(s) / sizeof(s[0])))
		return s[i];
	return "unknown plmc error";
}

const char *plmc_strerror(int rc)
{
	if (rc >= 0)
		return pl_status_str(rc);
	if (pl_cause_str(rc))
		return pl_cause_str(rc);
	if (rc <= PLMC_E_INVAL && rc > PLMC_E_INVAL - 100)
		return pl_error_str(rc);
	if (rc > -4096)
		return strerror(-rc);
	return "unknown plmc error";
}

int plmc_recover(void)
{
	struct plmc_req r = {0};

	if (pl.gate && pl.backend != PLMC_BACKEND_KMOD)
		pl_none_scan(); /* mark the dead first: no module does it */
	return (int)pl_call(PLMC_OP_RECOVER, &r);
}

int plmc_check(struct plmc_check *out)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)out,
		.buflen = sizeof(*out),
	};

	if (!out)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_CHECK, &r);
}

int plmc_crash_arm(int point)
{
	struct plmc_req r = {.vlen = (__u64)point};

	if (point < 0 || point >= PLMC_CRASH_COUNT)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_CRASH, &r);
}

const char *plmc_crash_name(int point)
{
	static const char *const n[PLMC_CRASH_COUNT] = {
		[PLMC_CRASH_NONE] = "none",
		[PLMC_CRASH_ALLOC_LOCKED] = "alloc_locked",
		[PLMC_CRASH_ALLOC_TX] = "alloc_tx",
		[PLMC_CRASH_PAGE_TX] = "page_tx",
		[PLMC_CRASH_BUILT] = "built",
		[PLMC_CRASH_WR_LOCKED] = "wr_locked",
		[PLMC_CRASH_LINK_TX] = "link_tx",
		[PLMC_CRASH_LINKED] = "linked",
		[PLMC_CRASH_UNLOCKED] = "unlocked",
		[PLMC_CRASH_RETIRE_TX] = "retire_tx",
		[PLMC_CRASH_FREE_TX] = "free_tx",
		[PLMC_CRASH_RECLAIM_TX] = "reclaim_tx",
		[PLMC_CRASH_EVICT] = "evict",
		[PLMC_CRASH_TOUCH] = "touch",
		[PLMC_CRASH_FLUSH] = "flush",
		[PLMC_CRASH_RECOVER_CLAIMED] = "recover_claimed",
		[PLMC_CRASH_RECOVER_REPLAYED] = "recover_replayed",
		[PLMC_CRASH_RECOVER_TX] = "recover_tx",
		[PLMC_CRASH_META_TTL] = "meta_ttl",
		[PLMC_CRASH_MOVE_START_TX] = "move_start_tx",
		[PLMC_CRASH_MOVE_TAKE_TX] = "move_take_tx",
		[PLMC_CRASH_MOVE_ZERO] = "move_zero",
		[PLMC_CRASH_MOVE_DONE_TX] = "move_done_tx",
		[PLMC_CRASH_POOL_TX] = "pool_tx",
		[PLMC_CRASH_TABLE_PAGE_TX] = "table_page_tx",
		[PLMC_CRASH_TABLE_GO_TX] = "table_go_tx",
		[PLMC_CRASH_TABLE_MOVE_TX] = "table_move_tx",
		[PLMC_CRASH_TABLE_DONE_TX] = "table_done_tx",
		[PLMC_CRASH_TABLE_FREE_TX] = "table_free_tx",
	};

	if (point < 0 || point >= PLMC_CRASH_COUNT)
		return "unknown";
	return n[point];
}

int plmc_slabs_maintain(unsigned max)
{
	struct plmc_req r = { .vlen = max };

	return (int)pl_call(PLMC_OP_MAINTAIN, &r);
}

int plmc_lru_temp_ttl(unsigned ttl)
{
	struct plmc_req r = { .vlen = ttl };

	return (int)pl_call(PLMC_OP_LRU, &r);
}

int plmc_evictions(uint64_t cursor, unsigned keep, struct plmc_evlog *log)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)log,
		.buflen = sizeof(*log),
		.vlen = cursor,
		.exptime = keep,
	};

	if (!log)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_EVLOG, &r);
}

int plmc_walk(uint64_t cursor, uint64_t after, int cls, int reclaim,
	      struct plmc_walk *w)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)w,
		.buflen = sizeof(*w),
		.vlen = cursor,
		.cas = after,
		.exptime = cls,
		.flags = (__u32)reclaim,
	};

	if (!w)
		return PLMC_E_INVAL;
	return (int)pl_call(PLMC_OP_WALK, &r);
}
