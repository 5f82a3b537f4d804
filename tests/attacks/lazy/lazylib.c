/* SPDX-License-Identifier: MIT */
/*
 * lazylib.c - xlib_lazy.so, the library atk_lazy calls through lazy
 * binding (tests/attacks/lazy/atk_lazy.c). No libc, no dependencies.
 *
 * 48 functions, each taking doubles in xmm registers and a __m256d in a
 * ymm register: the first call of each goes through ld.so's resolver,
 * which saves the vector registers with XSAVE(C), runs _dl_fixup and
 * restores them with XRSTOR before jumping here. With the module that
 * XRSTOR is an int3, emulated: a wrong restore shows as a wrong result.
 */
#include <immintrin.h>

/* clang-format off */
#define LAZY_FN(i)                                                             \
	double lazy_f##i(double a, __m256d v, double b);                       \
	double lazy_f##i(double a, __m256d v, double b)                        \
	{                                                                      \
		return a * (i + 1) + b + v[0] + 2 * v[1] + 3 * v[2] +          \
		       4 * v[3];                                               \
	}

#define LAZY_8(i)                                                              \
	LAZY_FN(i##0) LAZY_FN(i##1) LAZY_FN(i##2) LAZY_FN(i##3)                \
	LAZY_FN(i##4) LAZY_FN(i##5) LAZY_FN(i##6) LAZY_FN(i##7)

LAZY_8(1) LAZY_8(2) LAZY_8(3) LAZY_8(4) LAZY_8(5) LAZY_8(6)
	/* clang-format on */
