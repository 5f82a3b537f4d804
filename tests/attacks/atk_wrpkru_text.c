/* SPDX-License-Identifier: MIT */
/*
 * atk_wrpkru_text - attack 9: a WRPKRU in the program's own file text,
 * as Debian's dynamic libc has one (pkey_set). Attach accepts it and
 * watches it with a hardware breakpoint, as it watches XRSTOR.
 * Expected: reaching it with an EAX that opens the store's key is killed
 * before it runs (the store is never read); the control reaches the same
 * instruction with an EAX that keeps the key closed, runs on, and a read
 * of the store still faults with SEGV_PKUERR.
 */
#include "attacks.h"

/* Our one WRPKRU, in file text: PKRU = @v. Called only by the tests. */
__attribute__((used, noinline)) void atk_text_wrpkru(uint32_t v)
{
	asm volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru"
		     :
		     : "a"(v)
		     : "ecx", "edx", "memory");
}

static uint32_t rdpkru_now(void)
{
	uint32_t v;

	asm volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx");
	return v;
}

static int opening(void)
{
	if (vm_attach(ATK_STORE))
		return -1;
	vm_expect_death();
	atk_text_wrpkru(0);
	if (atk_store_magic_ok())
		return VM_FAIL("WRPKRU 0 ran and the store header was read");
	return VM_FAIL("WRPKRU 0 ran (store not read)");
}

static int control(void)
{
	uint32_t shift, now;

	if (vm_attach(ATK_STORE))
		return -1;
	shift = vm_ppage()->pkey_shift; /* mapped by the attach */
	now = rdpkru_now();
	if (!(now & (1U << shift)))
		return VM_FAIL("store key open before the test (PKRU 0x%x)", now);
	atk_text_wrpkru(now);
	if (plmc_nop())
		return VM_FAIL("gate failed after a harmless WRPKRU");
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	(void)atk_store_magic_ok();
	return VM_FAIL("store read after a WRPKRU that kept it closed");
}

int main(void)
{
	atk_init();
	atk_run("wrpkru.text_opening_store", "SIGKILL", opening, NULL);
	atk_run("wrpkru.text_control_keeps_closed", "runs; SEGV_PKUERR",
		control, NULL);
	return vm_done();
}
