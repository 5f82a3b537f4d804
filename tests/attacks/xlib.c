/* SPDX-License-Identifier: MIT */
/*
 * xlib.c - the libraries atk_dlopen loads after attach (tests/vm/build.mk
 * builds three, no libc, no dependencies):
 *   xlib_clean.so   xlib_answer() returns 42
 *   xlib_wrpkru.so  the same, and a WRPKRU in its text (never called)
 *   xlib_xrstor.so  the same, and an XRSTOR in its text (never called)
 */
int xlib_answer(void)
{
	return 42;
}

#ifdef XLIB_WRPKRU
void xlib_stray(void)
{
	asm volatile("wrpkru" ::"a"(0), "c"(0), "d"(0));
}
#endif

#ifdef XLIB_XRSTOR
void xlib_stray(void *area)
{
	asm volatile("xrstor (%0)" ::"r"(area), "a"(1U << 9), "d"(0)
		     : "memory");
}
#endif
