/* SPDX-License-Identifier: MIT */
/*
 * atk_wrpkru - attack 9: a WRPKRU (0F 01 EF) of the client's own in
 * executable memory when it attaches: in an anonymous exec mapping, and
 * split across two pages. Expected: ATTACH refused with EPERM (the module
 * scans every executable VMA); a control mapping without it attaches.
 * XRSTOR with PKRU in its mask: a known hole (static glibc itself carries
 * XRSTOR, so the module cannot refuse it): the attack shows whether it
 * opens the store.
 */
#include "attacks.h"
#include <cpuid.h>

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

/* XRSTOR a crafted area whose PKRU is 0: does the store open? */
static int xrstor_pkru(void)
{
	static uint8_t area[8192] __attribute__((aligned(64)));
	unsigned a, b, c, d, off;

	if (vm_attach(ATK_STORE))
		return -1;
	__cpuid_count(0xd, 9, a, b, c, d);
	off = b;
	if (!a || off + 8 > sizeof(area))
		return VM_FAIL("no PKRU state component (cpuid 0xd.9)");
	memset(area, 0, sizeof(area));
	*(uint64_t *)(area + 512) = 1ULL << 9; /* XSTATE_BV: PKRU */
	*(uint32_t *)(area + off) = 0;	       /* everything open */
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	asm volatile("xrstor64 (%0)" : : "r"(area), "a"(1U << 9), "d"(0)
		     : "memory");
	if (atk_store_magic_ok())
		return VM_FAIL("XRSTOR opened the store: header magic read");
	return VM_FAIL("store read without fault but wrong magic");
}

int main(void)
{
	atk_init();
	atk_run("wrpkru.anon_exec_at_attach", "attach EPERM", anon_wrpkru,
		NULL);
	atk_run("wrpkru.spanning_two_pages", "attach EPERM", spanning, NULL);
	atk_run("wrpkru.control_clean_exec", "attach ok", control, NULL);
	atk_run("wrpkru.xrstor_with_pkru", "SIGSEGV PKUERR", xrstor_pkru,
		"XRSTOR is allowed in client code (static glibc has it); "
		"it loads PKRU");
	return vm_done();
}
