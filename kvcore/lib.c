// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/lib.c - the mem* routines the image needs (gcc may emit calls to
 * them); nothing may be called outside the image.
 *
 * rep movsb/stosb: short, fast on current cores, and opaque to gcc's loop
 * idiom recognition (which would turn a C loop back into a memcpy call).
 * The gate clears DF on entry, so the string ops run forwards.
 */
#include "kv.h"

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;

	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

/* Overlap-safe: copies backwards (byte by byte) when d is above s. */
void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
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
