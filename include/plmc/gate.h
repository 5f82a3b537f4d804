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
	PLMC_OP_COUNT
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

#endif /* PLMC_GATE_H */
