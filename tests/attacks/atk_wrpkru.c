/* SPDX-License-Identifier: MIT */
/*
 * atk_wrpkru - attack 9: a WRPKRU (0F 01 EF) of the client's own in
 * executable memory when it attaches: in an anonymous exec mapping, and
 * split across two pages. Expected: ATTACH refused with EPERM (the module
 * scans every executable VMA); a control mapping without it attaches.
 * XRSTOR with PKRU in its mask (static glibc carries two, so attach cannot
 * refuse XRSTOR): our own, and glibc's jumped onto past the instruction
 * that sets its mask. Expected: SIGKILL before the XRSTOR runs (the
 * module puts an int3 over each XRSTOR it found and checks EAX there).
 */
#include "attacks.h"
#include <cpuid.h>
#include <pthread.h>

/* xor ecx,ecx; xor edx,edx; xor eax,eax; wrpkru; ret */
static const uint8_t wrpkru_code[] = {0x31, 0xc9, 0x31, 0xd2, 0x31, 0xc0,
				      0x0f, 0x01, 0xef, 0xc3};

static int anon_wrpkru(void)
{
	int e;

	if (!atk_exec_blob(1, 100, wrpkru_code, sizeof(wrpkru_code)))
		return VM_FAIL("blob");
	e = atk_raw_attach();
	if (e != EPERM)
		return VM_FAIL("attach with a WRPKRU mapped: %s",
			       e ? vm_errno_name(e) : "accepted");
	return ATK_REFUSED("attach EPERM");
}

static int spanning(void)
{
	int e;

	/* 0F 01 | EF across the page boundary. */
	if (!atk_exec_blob(2, 4096 - 8, wrpkru_code, sizeof(wrpkru_code)))
		return VM_FAIL("blob");
	e = atk_raw_attach();
	if (e != EPERM)
		return VM_FAIL("attach with a page-spanning WRPKRU: %s",
			       e ? vm_errno_name(e) : "accepted");
	return ATK_REFUSED("attach EPERM");
}

static int control(void)
{
	static const uint8_t nop_code[] = {0x90, 0x90, 0xc3};
	int e;

	if (!atk_exec_blob(1, 100, nop_code, sizeof(nop_code)))
		return VM_FAIL("blob");
	e = atk_raw_attach();
	if (e)
		return VM_FAIL("clean exec mapping refused: %s",
			       vm_errno_name(e));
	return ATK_REFUSED("attach accepted (control)");
}

static unsigned pkru_offset(void)
{
	unsigned a, b, c, d;

	__cpuid_count(0xd, 9, a, b, c, d);
	return a ? b : 0;
}

/* An XSAVE area whose only component is PKRU = 0 (everything open). */
static void pkru_zero_area(uint8_t *area, unsigned off)
{
	memset(area, 0, 4096);
	*(uint64_t *)(area + 512) = 1ULL << 9; /* XSTATE_BV: PKRU */
	*(uint32_t *)(area + off) = 0;
}

/* Reached only if no one stopped the XRSTOR. */
static void __attribute__((used, noreturn)) landed(void)
{
	unsigned pkru, shift = vm_ppage()->pkey_shift;

	asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	if (!(pkru & (1U << shift)))
		vm_why("XRSTOR opened the store (PKRU 0x%x)", pkru);
	else
		vm_why("XRSTOR ran, store still closed (PKRU 0x%x)", pkru);
	_exit(1);
}

/* Our one XRSTOR (in our text, so the scan saw it and patched it). */
static __attribute__((noinline)) void do_xrstor(void *area, unsigned mask)
{
	asm volatile("xrstor (%0)" : : "r"(area), "a"(mask), "d"(0)
		     : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		       "xmm12", "xmm13", "xmm14", "xmm15");
}

/* Our XRSTOR with PKRU in its mask. */
static int xrstor_own(void)
{
	static uint8_t area[8192] __attribute__((aligned(64)));
	unsigned off = pkru_offset();

	if (!off || off + 8 > sizeof(area))
		return VM_FAIL("no PKRU state component (cpuid 0xd.9)");
	if (vm_attach(ATK_STORE))
		return -1;
	pkru_zero_area(area, off);
	vm_expect_death();
	do_xrstor(area, 1U << 9);
	landed();
}

/* Control: the same XRSTOR with a mask without PKRU runs on. */
static int xrstor_own_control(void)
{
	static uint8_t area[8192] __attribute__((aligned(64)));

	if (vm_attach(ATK_STORE))
		return -1;
	memset(area, 0, sizeof(area)); /* XSTATE_BV 0: SSE to its init */
	do_xrstor(area, 1U << 1);
	if (plmc_nop())
		return VM_FAIL("gate failed after a harmless XRSTOR");
	return ATK_REFUSED("harmless XRSTOR ran; gate works");
}

static void *xrstor_thread(void *arg)
{
	(void)arg;
	xrstor_own();
	return NULL;
}

/* A thread made after attach meets the same int3. */
static int xrstor_new_thread(void)
{
	pthread_t t;

	if (vm_attach(ATK_STORE))
		return -1;
	vm_expect_death();
	if (pthread_create(&t, NULL, xrstor_thread, NULL))
		return VM_FAIL("pthread_create");
	pthread_join(t, NULL);
	return VM_FAIL("thread came back");
}

/*
 * glibc's own XRSTOR (_dl_runtime_resolve_xsave, in every static
 * binary), jumped onto past the mov that sets its mask. Its tail then
 * restores registers from our frame and jumps to r11: landed().
 */
extern char _dl_runtime_resolve_xsave[];

static int xrstor_glibc(void)
{
	static uint8_t frame[0x40 + 8192] __attribute__((aligned(64)));
	static uint8_t lstack[4096] __attribute__((aligned(16)));
	/* volatile: an inlined compare would put these bytes in our text */
	static volatile const uint8_t pat[] = {0x0f, 0xae, 0x6c, 0x24, 0x40};
	unsigned off = pkru_offset();
	uint8_t *t = NULL;
	int i, j;

	for (i = 0; i < 512 && !t; i++) {
		for (j = 0; j < 5; j++)
			if ((uint8_t)_dl_runtime_resolve_xsave[i + j] != pat[j])
				break;
		if (j == 5)
			t = (uint8_t *)_dl_runtime_resolve_xsave + i;
	}
	if (!t || !off || off + 8 > 8192)
		return VM_FAIL("no XRSTOR in _dl_runtime_resolve_xsave");
	if (vm_attach(ATK_STORE))
		return -1;
	pkru_zero_area(frame + 0x40, off);
	vm_expect_death();
	{
		register uint64_t r11 asm("r11") = (uintptr_t)landed;

		asm volatile("mov %[f], %%rsp\n\tjmp *%[t]"
			     :
			     : [f] "S"(frame), [t] "D"(t), "a"(1UL << 9),
			       "d"(0UL), "b"(lstack + 2048), "r"(r11)
			     : "memory");
	}
	__builtin_unreachable();
}

int main(void)
{
	atk_init();
	atk_run("wrpkru.anon_exec_at_attach", "attach EPERM", anon_wrpkru,
		NULL);
	atk_run("wrpkru.spanning_two_pages", "attach EPERM", spanning, NULL);
	atk_run("wrpkru.control_clean_exec", "attach ok", control, NULL);
	atk_run("xrstor.own_code_pkru_mask", "SIGKILL", xrstor_own, NULL);
	atk_run("xrstor.control_no_pkru_in_mask", "runs", xrstor_own_control,
		NULL);
	atk_run("xrstor.new_thread_pkru_mask", "SIGKILL", xrstor_new_thread,
		NULL);
	atk_run("xrstor.glibc_trampoline_jump", "SIGKILL", xrstor_glibc,
		NULL);
	return vm_done();
}
