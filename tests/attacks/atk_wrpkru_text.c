/* SPDX-License-Identifier: MIT */
/*
 * atk_wrpkru_text - attack 9: a WRPKRU in the program's own file text,
 * as Debian's dynamic libc has one (pkey_set). Attach accepts it and
 * puts an int3 over it, as over XRSTOR (kmod/int3.c).
 * Expected: reaching it with an EAX that opens the store's key is killed
 * before it runs (the store is never read), also when a sigreturn resumes
 * onto it with RFLAGS.RF set, which suppressed the hardware breakpoint
 * that once watched it (an int3 is not suppressed); the control reaches the same
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
	now = atk_rdpkru();
	if (!(now & (1U << shift)))
		return VM_FAIL("store key open before the test (PKRU 0x%x)", now);
	atk_text_wrpkru(now);
	return atk_still_closed("a WRPKRU that kept it closed");
}

/* Reached only if the WRPKRU ran: its ret lands here. */
static void __attribute__((used, noreturn)) rf_landed(void)
{
	if (atk_store_magic_ok())
		vm_why("RF skipped the check: WRPKRU 0 ran, store read");
	else
		vm_why("RF skipped the check: WRPKRU ran, store closed");
	_exit(1);
}

static uint64_t rf_stk[512] __attribute__((aligned(16)));
static const uint8_t *rf_site;

/* Return from the handler onto the WRPKRU with RF set, EAX 0. */
static void rf_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;

	(void)sig;
	(void)si;
	rf_stk[500] = (uint64_t)(uintptr_t)rf_landed;
	g[REG_RIP] = (greg_t)(uintptr_t)rf_site;
	g[REG_RSP] = (greg_t)(uintptr_t)&rf_stk[500];
	g[REG_EFL] |= 0x10000; /* RF */
	g[REG_RAX] = 0;
	g[REG_RCX] = 0;
	g[REG_RDX] = 0;
}

/*
 * RFLAGS.RF suppresses instruction breakpoints for the one instruction
 * execution resumes at; sigreturn takes RF from the frame. Resume onto the
 * watched WRPKRU with RF set and EAX 0, on a stack whose top returns to
 * rf_landed().
 */
static int sigreturn_rf(void)
{
	const uint8_t *f = (const uint8_t *)atk_text_wrpkru;
	struct sigaction sa;
	int off = 0;

	while (off < 32 && !(f[off] == 0x0f && f[off + 1] == 0x01 &&
			     f[off + 2] == 0xef))
		off++;
	if (off == 32)
		return VM_FAIL("no WRPKRU in atk_text_wrpkru");
	rf_site = f + off;
	if (vm_attach(ATK_STORE))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rf_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	vm_expect_death();
	raise(SIGUSR1);
	return VM_FAIL("the handler returned to its caller");
}

int main(void)
{
	atk_init();
	atk_run("wrpkru.text_opening_store", "SIGKILL", opening, NULL);
	atk_run("wrpkru.text_control_keeps_closed", "runs; SEGV_PKUERR",
		control, NULL);
	atk_run("wrpkru.text_sigreturn_rf", "SIGKILL", sigreturn_rf, NULL);
	return vm_done();
}
