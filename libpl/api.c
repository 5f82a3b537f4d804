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

int plmc_get(const void *key, size_t klen, void *buf, size_t buflen,
	     size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	struct plmc_resp resp = {0};
	struct plmc_req r = {
		.key = (__u64)(uintptr_t)key,
		.buf = (__u64)(uintptr_t)buf,
		.out = (__u64)(uintptr_t)&resp,
		.buflen = buflen,
		.klen = (__u32)klen,
	};
	int rc;

	if ((!key && klen) || (!buf && buflen))
		return PLMC_E_INVAL;
	if (klen > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	rc = (int)pl_call(PLMC_OP_GET, &r);
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
	if (rc <= PLMC_E_INVAL && rc > PLMC_E_INVAL - 100)
		return pl_error_str(rc);
	if (rc > -4096)
		return strerror(-rc);
	return "unknown plmc error";
}
