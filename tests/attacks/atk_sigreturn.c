/* SPDX-License-Identifier: MIT */
/*
 * atk_sigreturn - attack 11: a signal handler edits its frame's XSAVE area
 * so that sigreturn loads PKRU = 0 (every key open), then the program
 * reads the store. Expected: the module kills the process (SIGKILL) at
 * that sigreturn. Control: an untouched frame returns normally.
 *
 * Frames from inside the library (attack 11 and 12 together): a handler
 * that gets one could read the library's registers, edit them (flags, a
 * compare's outcome), siglongjmp out and later replay the saved frame.
 * So no such frame may ever reach client memory:
 *  - the library faults on a client buffer (a PROT_NONE tail) with a
 *    SIGSEGV handler on an alternate stack that would save the frame and
 *    siglongjmp out, while a sibling thread watches the alternate stack
 *    for any byte of a frame. Expected: SIGKILL, the handler never runs,
 *    not one byte written there.
 *  - a sibling thread sends SIGSEGV (a fault's signal, never held) to a
 *    thread making calls, 2000 times. Expected: no handler ever gets a
 *    frame from inside; a signal landing inside kills the process.
 *
 * A frame in the store: from 6.12 the kernel writes signal frames with
 * PKRU 0, so a sigaltstack (or stack pointer) inside the plmc window had
 * the kernel write the client's registers over the store. Expected:
 * SIGKILL before the frame; control: an ordinary alternate stack.
 */
#include "attacks.h"
#include <cpuid.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/syscall.h>
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

/* ---- frames from inside the library ---- */

struct inside_sh {
	volatile int handler_inside;  /* a handler got a frame from inside */
	volatile int handler_outside; /* ... from outside (harmless) */
	volatile int frame_bytes;     /* bytes seen on the alternate stack */
	volatile int returned;	      /* the faulting call came back */
	volatile int sent;
	volatile uint64_t rip; /* of the frame from inside, if one came */
};

static struct inside_sh *ish;
static uint8_t *altstk;
static volatile int watching;
static sigjmp_buf out_jb;
static ucontext_t saved_uc; /* what a replay would need */

static unsigned pkru_off, key_shift;

/* Interrupted with the store open (between the gate's WRPKRUs): the
 * frame's saved PKRU has the store key's access-disable bit clear. (The
 * gate's code before the entry WRPKRU and after the exit one runs with
 * the store closed: a frame there holds only the client's own values.) */
static int rip_inside(const ucontext_t *uc)
{
	const uint8_t *fx = (const uint8_t *)uc->uc_mcontext.fpregs;

	return fx && !(*(const uint32_t *)(fx + pkru_off) & (1U << key_shift));
}

static void grab_and_leave(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	if (!rip_inside(uc)) {
		ish->handler_outside++;
		return;
	}
	ish->handler_inside++;
	ish->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	memcpy(&saved_uc, uc, sizeof(saved_uc));
	siglongjmp(out_jb, 1); /* abandon the call inside */
}

/* Any nonzero byte on the alternate stack: a frame was written there. */
static void *alt_watch(void *arg)
{
	size_t i;

	(void)arg;
	while (watching)
		for (i = 0; i < 65536; i += 8)
			if (*(volatile uint64_t *)(altstk + i)) {
				ish->frame_bytes = 1;
				return NULL;
			}
	return NULL;
}

static int alt_install(int sig)
{
	struct sigaction sa;
	stack_t ss;

	altstk = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (altstk == MAP_FAILED)
		return -1;
	ss.ss_sp = altstk;
	ss.ss_size = 65536;
	ss.ss_flags = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = grab_and_leave;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	if (sigaltstack(&ss, NULL) || sigaction(sig, &sa, NULL))
		return -1;
	return 0;
}

/* Run @body in a grandchild; its end and the shared counters. */
static int inside_run(void (*body)(void), int *sig)
{
	pid_t pid;
	int st;

	unsigned a, b, c, d;

	__cpuid_count(0xd, 9, a, b, c, d);
	pkru_off = b;
	ish = mmap(NULL, sizeof(*ish), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ish == MAP_FAILED)
		return -1;
	memset((void *)ish, 0, sizeof(*ish));
	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* the runner's catcher: not here */
		body();
		_exit(0);
	}
	st = vm_reap(pid);
	*sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 0;
}

static void fault_body(void)
{
	uint8_t *buf;
	size_t vlen;
	pthread_t t;
	char v[3000];

	memset(v, 'f', sizeof(v));
	if (vm_attach(ATK_STORE) ||
	    plmc_set("sr-fault", 8, v, sizeof(v), 0, 0) != PLMC_STORED)
		_exit(2);
	key_shift = vm_ppage()->pkey_shift;
	buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || mprotect(buf + 4096, 4096, PROT_NONE) ||
	    alt_install(SIGSEGV))
		_exit(3);
	watching = 1;
	pthread_create(&t, NULL, alt_watch, NULL);
	if (sigsetjmp(out_jb, 1) == 0) {
		/* 100 bytes fit, the rest lands on the PROT_NONE page. */
		plmc_get("sr-fault", 8, buf + 4096 - 100, sizeof(v), &vlen,
			 NULL, NULL);
		ish->returned = 1;
	}
	watching = 0;
	pthread_join(t, NULL);
	_exit(0);
}

static int fault_inside(void)
{
	int sig, rc = inside_run(fault_body, &sig);

	if (rc > 1)
		return VM_FAIL("setup failed (%d)", rc);
	if (ish->handler_inside)
		return VM_FAIL("a handler got the frame from inside (rip "
			       "0x%llx): it could replay or edit it",
			       (unsigned long long)ish->rip);
	if (ish->frame_bytes)
		return VM_FAIL("frame bytes written to the alternate stack");
	if (sig != SIGKILL)
		return VM_FAIL("expected SIGKILL, got signal %d (returned %d)",
			       sig, ish->returned);
	return ATK_REFUSED("SIGKILL at the fault; no handler ran, no frame "
			   "byte written");
}

static pid_t victim_tid;
static volatile int sending;

static void *segv_sender(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2000 && sending; i++) {
		syscall(SYS_tgkill, getpid(), victim_tid, SIGSEGV);
		ish->sent++;
		usleep(200);
	}
	sending = 0;
	return NULL;
}

static void sent_body(void)
{
	pthread_t t;
	char v[2000];

	memset(v, 's', sizeof(v));
	if (vm_attach(ATK_STORE) || plmc_nop() || alt_install(SIGSEGV))
		_exit(3);
	key_shift = vm_ppage()->pkey_shift;
	victim_tid = (pid_t)syscall(SYS_gettid);
	sending = 1;
	pthread_create(&t, NULL, segv_sender, NULL);
	if (sigsetjmp(out_jb, 1) == 0)
		while (sending)
			plmc_set("sr-sent", 7, v, sizeof(v), 0, 0);
	sending = 0;
	pthread_join(t, NULL);
	_exit(0);
}

static int sent_inside(void)
{
	int sig, rc = inside_run(sent_body, &sig);

	if (rc > 1)
		return VM_FAIL("setup failed (%d)", rc);
	if (ish->handler_inside)
		return VM_FAIL("%d handlers got a frame from inside",
			       ish->handler_inside);
	if (sig && sig != SIGKILL)
		return VM_FAIL("died of signal %d", sig);
	if (!sig && ish->handler_outside < 5)
		return VM_FAIL("only %d of %d signals handled",
			       ish->handler_outside, ish->sent);
	return ATK_REFUSED("%d sent: %d handled outside, none inside; %s",
			   ish->sent, ish->handler_outside,
			   sig ? "one landed inside: SIGKILL, no frame"
			       : "the client lives");
}

static void frame_handler(int sig)
{
	(void)sig;
	vm_why("a handler ran on a stack in the plmc window");
	_exit(1);
}

/*
 * A sigaltstack inside the store, 2 KiB into the KV area: from 6.12 the
 * kernel writes frames with PKRU 0, so it would write the frame (our
 * registers) over the store. Expected: SIGKILL before any frame byte; on
 * both kernels (on 6.1 the write would fault: no frame either).
 */
static int frame_in_store(void)
{
	struct sigaction sa;
	stack_t ss;

	if (vm_attach(ATK_STORE))
		return -1;
	ss.ss_sp = (void *)(uintptr_t)(PLMC_KV_ADDR + 2048);
	ss.ss_size = 65536;
	ss.ss_flags = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = frame_handler;
	sa.sa_flags = SA_ONSTACK;
	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL))
		return VM_FAIL("sigaltstack: %s", strerror(errno));
	vm_expect_death();
	raise(SIGUSR1);
	return VM_FAIL("raise returned: no frame and no death");
}

/* Control: the same with an ordinary alternate stack runs the handler. */
static volatile sig_atomic_t frame_ok;
static void frame_ok_handler(int sig)
{
	(void)sig;
	frame_ok = 1;
}

static int frame_control(void)
{
	static char stk[65536];
	struct sigaction sa;
	stack_t ss = { .ss_sp = stk, .ss_size = sizeof(stk) };

	if (vm_attach(ATK_STORE))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = frame_ok_handler;
	sa.sa_flags = SA_ONSTACK;
	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL))
		return VM_FAIL("sigaltstack: %s", strerror(errno));
	raise(SIGUSR1);
	if (!frame_ok || plmc_nop())
		return VM_FAIL("the handler did not run, or the gate failed");
	return ATK_REFUSED("handler ran on its own alternate stack");
}

int main(void)
{
	atk_init();
	atk_run("sigreturn.control_plain_signal", "returns", plain, NULL);
	atk_run("sigreturn.forged_xsave_pkru", "SIGKILL", forged, NULL);
	atk_run("sigreturn.fault_inside_no_frame", "SIGKILL, no frame",
		fault_inside, NULL);
	atk_run("sigreturn.sync_signal_sent_inside", "no frame from inside",
		sent_inside, NULL);
	atk_run("sigreturn.frame_in_store", "SIGKILL, no frame",
		frame_in_store, NULL);
	atk_run("sigreturn.control_frame_altstack", "handler runs",
		frame_control, NULL);
	return vm_done();
}
