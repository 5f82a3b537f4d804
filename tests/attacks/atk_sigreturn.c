/* SPDX-License-Identifier: MIT */
/*
 * atk_sigreturn - attack 11: a signal handler edits its frame's XSAVE area
 * so that sigreturn loads PKRU = 0 (every key open), then the program
 * reads the store. Expected: the module kills the process (SIGKILL) at
 * that sigreturn. Control: an untouched frame returns normally.
 */
#include "attacks.h"
#include <cpuid.h>
#include <ucontext.h>

static volatile int forge;

static void handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
	unsigned a, b, c, d;

	(void)sig;
	(void)si;
	if (!forge || !fx)
		return;
	__cpuid_count(0xd, 9, a, b, c, d);
	*(uint64_t *)(fx + 512) |= 1ULL << 9; /* XSTATE_BV: PKRU */
	*(uint32_t *)(fx + b) = 0;
}

static int run(int f)
{
	struct sigaction sa;

	if (vm_attach(ATK_STORE))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	forge = f;
	if (f)
		vm_expect_death();
	raise(SIGUSR1);
	if (!f) {
		if (plmc_nop())
			return VM_FAIL("nop after a plain signal");
		return ATK_REFUSED("plain signal returned; gate works");
	}
	{
		unsigned pkru, shift = vm_ppage()->pkey_shift;

		asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
		if (!(pkru & (1U << shift)))
			return VM_FAIL("forged sigreturn opened the store "
				       "(PKRU 0x%x)", pkru);
		return VM_FAIL("not killed, store still closed (PKRU 0x%x)",
			       pkru);
	}
}

static int forged(void)
{
	return run(1);
}

static int plain(void)
{
	return run(0);
}

int main(void)
{
	atk_init();
	atk_run("sigreturn.control_plain_signal", "returns", plain, NULL);
	atk_run("sigreturn.forged_xsave_pkru", "SIGKILL", forged, NULL);
	return vm_done();
}
