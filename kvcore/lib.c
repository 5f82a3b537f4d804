// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/lib.c - the mem* routines the image needs (gcc may emit calls to
 * them); nothing may be called outside the image.
 *
 * Small and middle sizes (keys, requests, typical values) go a word at a
 * time in general registers (the image uses no SIMD register: the gate
 * does not clear them), the last word overlapping the one before it, so
 * no byte outside [p, p + n) is read or written: a client buffer that
 * ends at an unmapped page stays safe. From KV_REP_MIN bytes on, rep
 * movsb/stosb (fast strings on current cores). The gate clears DF on
 * entry, so the string ops run forwards. C loops here are safe from
 * gcc's idiom recognition (-fno-tree-loop-distribute-patterns).
 */
#include "kv.h"

#define KV_REP_MIN 512

static inline void kv_st32(void *p, u32 v)
{
	*(kv_u32u *)p = v;
}

static inline void kv_st16(void *p, u16 v)
{
	*(kv_u16u *)p = v;
}

/* Fewer than 8 bytes: two overlapping moves of 4, 2 or 1 bytes. */
static void kv_copy_short(u8 *d, const u8 *s, size_t n)
{
	if (n >= 4) {
		u32 a = *(const kv_u32u *)s, b = *(const kv_u32u *)(s + n - 4);

		kv_st32(d, a);
		kv_st32(d + n - 4, b);
	} else if (n >= 2) {
		u16 a = *(const kv_u16u *)s, b = *(const kv_u16u *)(s + n - 2);

		kv_st16(d, a);
		kv_st16(d + n - 2, b);
	} else if (n) {
		*d = *s;
	}
}

/* Four words at @s to @d: all loaded before any is stored. */
static inline __attribute__((always_inline)) void kv_copy32(u8 *d, const u8 *s)
{
	u64 a = kv_ld64(s), b = kv_ld64(s + 8);
	u64 c = kv_ld64(s + 16), e = kv_ld64(s + 24);

	kv_st64(d, a);
	kv_st64(d + 8, b);
	kv_st64(d + 16, c);
	kv_st64(d + 24, e);
}

/*
 * 8..KV_REP_MIN-1 bytes: up to 16 as two overlapping words, up to 32 as
 * four, more as blocks of 32 and a last block of 32 that overlaps the
 * one before (a 100-byte value: three blocks and the last one).
 */
void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;
	size_t i;

	if (n < 8) {
		kv_copy_short(dp, sp, n);
		return d;
	}
	if (n <= 16) {
		u64 a = kv_ld64(sp), b = kv_ld64(sp + n - 8);

		kv_st64(dp, a);
		kv_st64(dp + n - 8, b);
		return d;
	}
	if (n >= KV_REP_MIN) {
		asm volatile("rep movsb"
			     : "+D"(dp), "+S"(sp), "+c"(n)
			     :
			     : "memory");
		return d;
	}
	if (n <= 32) {
		u64 a = kv_ld64(sp), b = kv_ld64(sp + 8);
		u64 c = kv_ld64(sp + n - 16), e = kv_ld64(sp + n - 8);

		kv_st64(dp, a);
		kv_st64(dp + 8, b);
		kv_st64(dp + n - 16, c);
		kv_st64(dp + n - 8, e);
		return d;
	}
	for (i = 0; i + 32 < n; i += 32)
		kv_copy32(dp + i, sp + i);
	kv_copy32(dp + n - 32, sp + n - 32);
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u64 w = (u8)c * 0x0101010101010101ULL;
	u8 *dp = d;
	size_t i;

	if (n >= KV_REP_MIN) {
		asm volatile("rep stosb"
			     : "+D"(dp), "+c"(n)
			     : "a"(c)
			     : "memory");
		return d;
	}
	if (n < 8) {
		for (i = 0; i < n; i++)
			dp[i] = (u8)c;
		return d;
	}
	for (i = 0; i + 8 < n; i += 8)
		kv_st64(dp + i, w);
	kv_st64(dp + n - 8, w);
	return d;
}

/* Overlap-safe, byte by byte where the ranges overlap (memcpy's
 * overlapping last word would reread bytes it already overwrote).
 * Nothing in the image calls it on a hot path. */
void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	size_t i;

	if (dp + n <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	if (dp < sp) {
		for (i = 0; i < n; i++)
			dp[i] = sp[i];
	} else {
		while (n--)
			dp[n] = sp[n];
	}
	return d;
}

/* Byte order decides, so the first differing word is compared with its
 * bytes swapped (the lowest address becomes the most significant). */
int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		u64 p = kv_ld64(x + i), q = kv_ld64(y + i);

		if (p != q) {
			p = __builtin_bswap64(p);
			q = __builtin_bswap64(q);
			return p < q ? -1 : 1;
		}
	}
	for (; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

#ifdef PLMC_BAD_IMAGE
/*
 * Only in kvcore-bad.img: a WRPKRU outside the registered sites, which
 * plmc_image_check() must reject. Never called.
 */
void kv_bad_wrpkru(void);
void kv_bad_wrpkru(void)
{
	asm volatile("wrpkru" : : "a"(0), "c"(0), "d"(0) : "memory");
}
#endif
