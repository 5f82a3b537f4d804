/* SPDX-License-Identifier: MIT */
/* SPDX-License-Identifier: MIT */
/*
 * atk_signal - attack 12: signals arriving while a thread is inside the
 * library (PKRU open, on a protected stack). Another process sends
 * SIGUSR1 every 300 us while the target makes gate calls (3000 at least,
 * and until 10 signals were handled).
 * Expected: the module holds such signals until the gate's exit, so no
 * handler ever gets a frame saved inside the library (saved PKRU with the
 * store open) nor runs with the store open; the client survives and every
 * call succeeds. Three ways: no alternate stack, a sigaltstack, and a
 * handler that would redirect the saved rip of any frame from inside
 * (it must never see one; if it did, the forged sigreturn must die).
 *
 * Single-step: the client sets EFLAGS.TF and calls the library, so the
 * CPU traps after every instruction (SIGTRAP, a fault signal: never held
 * as such). Expected: no SIGTRAP handler ever gets a frame from inside
 * (the module stops the stepping at the first trap inside and holds it to
 * the gate's exit), the calls succeed, and steps before the gate were
 * seen (the stepping was real).
 *
 * Stopped inside: a client whose thread is stopped (SIGSTOP cannot be
 * held) while inside the library keeps its slot and its reader epoch
 * announced, so nothing retired after it could be reused. Expected: the
 * module kills it (SIGKILL) once stopped there for stop_grace_ms, not
 * before; its death is counted and recovered (plmc_check sound), and
 * another client's overwrites of three times the store are all stored.
 * Controls: stopped inside for a quarter of the grace and continued, or
 * stopped outside the library for twice the grace: not killed.
 */
#include "attacks.h"
#include <cpuid.h>
#include <ucontext.h>

static volatile int inside, seen, mode, opened, onstack;
static unsigned pkru_off, shift;

static void evil(void)
{
	_exit(atk_store_magic_ok() ? 42 : 43);
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t pkru;

	(void)sig;
	(void)si;
	seen++;
	if (!fx)
		return;
	pkru = *(uint32_t *)(fx + pkru_off);
	if (pkru & (1U << shift))
		return; /* interrupted outside the library */
	inside++;
	if ((uint64_t)uc->uc_mcontext.gregs[REG_RSP] - PLMC_STACKS_ADDR <
	    PLMC_MAX_SLOTS * PLMC_STACK_SIZE)
		onstack++; /* interrupted on a protected slot stack */
	asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	if (!(pkru & (1U << shift)))
		opened++; /* this handler could read the store */
	if (mode == 2)
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)evil;
}

static int run(int m)
{
	static uint8_t alt[65536];
	struct sigaction sa;
	unsigned a, b, c, d;
	pid_t sender;
	stack_t ss;
	int i, bad = 0;

	if (vm_attach(ATK_STORE))
		return -1;
	__cpuid_count(0xd, 9, a, b, c, d);
	pkru_off = b;
	shift = vm_ppage()->pkey_shift;
	mode = m;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (m) {
		ss.ss_sp = alt;
		ss.ss_size = sizeof(alt);
		ss.ss_flags = 0;
		if (sigaltstack(&ss, NULL))
			return VM_FAIL("sigaltstack");
		sa.sa_flags |= SA_ONSTACK;
	}
	sigaction(SIGUSR1, &sa, NULL);
	if (m == 2)
		vm_expect_death(); /* only if a frame from inside shows up */
	sender = fork();
	if (sender == 0) {
		pid_t t = getppid();

		for (i = 0; i < 4000 && !kill(t, SIGUSR1); i++)
			usleep(300);
		_exit(0);
	}
	/* At least 3000 calls and 10 signals (up to 30000 calls). */
	for (i = 0; i < 30000 && (i < 3000 || seen < 10); i++)
		if (plmc_nop())
			bad++;
	kill(sender, SIGKILL);
	vm_reap(sender);
	vm_sh->expect_death = 0;
	if (opened)
		return VM_FAIL("%d handlers ran with the store open", opened);
	if (bad)
		return VM_FAIL("%d calls failed (%d signals, %d inside)", bad,
			       seen, inside);
	if (m == 2 && inside)
		return VM_FAIL("resumed at a forged rip: not killed");
	if (inside)
		return VM_FAIL("%d of %d handlers got a frame from inside the "
			       "library (%d on a slot stack)", inside, seen,
			       onstack);
	if (seen < 5)
		return VM_FAIL("only %d signals handled in %d calls", seen, i);
	return ATK_REFUSED("%d signals, none handled inside the library, "
			   "%d calls ok", seen, i);
}

static int plain(void)
{
	return run(0);
}

static int altstack(void)
{
	return run(1);
}

static int forged(void)
{
	return run(2);
}

static volatile int stepping, steps, steps_inside;

static void on_step(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;

	(void)sig;
	(void)si;
	steps++;
	if (fx && !(*(uint32_t *)(fx + pkru_off) & (1U << shift)))
		steps_inside++; /* interrupted with the store open */
	if (!stepping || steps > 20000)
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L; /* TF off */
}

static int single_step(void)
{
	static uint8_t alt[65536];
	struct sigaction sa;
	unsigned a, b, c, d;
	stack_t ss;
	int i, bad = 0, before;

	if (vm_attach(ATK_STORE) || plmc_nop())
		return -1;
	__cpuid_count(0xd, 9, a, b, c, d);
	pkru_off = b;
	shift = vm_ppage()->pkey_shift;
	ss.ss_sp = alt;
	ss.ss_size = sizeof(alt);
	ss.ss_flags = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_step;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	if (sigaltstack(&ss, NULL) || sigaction(SIGTRAP, &sa, NULL))
		return VM_FAIL("sigaction");
	for (i = 0; i < 20; i++) {
		before = steps;
		stepping = 1;
		asm volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory",
			     "cc");
		if (plmc_nop())
			bad++;
		stepping = 0;
		asm volatile("nop; nop" ::: "memory");
		if (steps == before)
			return VM_FAIL("round %d: no step seen", i);
	}
	if (steps_inside)
		return VM_FAIL("%d SIGTRAP frames from inside the library (of "
			       "%d)", steps_inside, steps);
	if (bad)
		return VM_FAIL("%d of 20 calls failed under single-step", bad);
	return ATK_REFUSED("20 stepped calls ok, %d traps, none from inside",
			   steps);
}

/*
 * A traced parker: gets of a 500 KB value, nearly all of their time the
 * copy-out, inside the call with its reader epoch announced. Return: its
 * pid (it has attached), or -1.
 */
static pid_t parker(void)
{
	int go[2];
	pid_t t;

	if (pipe(go))
		return -1;
	t = fork();
	if (t == 0) {
		static char big[500000];

		atk_traced_getter(go[1], big, sizeof(big));
	}
	if (t < 0 || vm_wait_fd(go[0])) {
		if (t > 0) {
			kill(t, SIGKILL);
			vm_reap(t);
		}
		return -1;
	}
	return t;
}

/*
 * The module kills the stopped client after stop_grace_ms (not before),
 * then its death is an ordinary one: the slots it held are recovered, the
 * store checks sound, and another client's overwrites of three times the
 * store are all stored.
 */
static int stopped_inside(void)
{
	int rc, ms0, ms, done0, done, grace, st = 0, waited;
	struct plmc_check ck;
	struct timespec t0;
	uint64_t d0 = 0, d1 = 0;
	pid_t t;

	grace = atk_grace_ms();
	if (grace <= 0)
		return VM_FAIL("stop_grace_ms not readable or 0: %d", grace);
	if ((t = parker()) < 0)
		return VM_FAIL("parker did not attach");
	/* Control: the same writes with the parker running. */
	rc = atk_writer(40, &ms0, &done0);
	if (rc) {
		kill(t, SIGKILL);
		vm_reap(t);
		return VM_FAIL("control writer: %s after %d sets, %d ms",
			       rc == 1 ? "not done" : vm_sh->note, done0, ms0);
	}
	if (atk_deaths(&d0) || atk_stop_inside(t)) {
		kill(t, SIGKILL);
		vm_reap(t);
		return VM_FAIL("never stopped inside in 500 tries");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Left stopped: the module's kill is the only way out. */
	while ((rc = waitpid(t, &st, WNOHANG)) == 0 &&
	       atk_ms_since(&t0) < grace + 15000)
		usleep(20000);
	waited = atk_ms_since(&t0);
	if (rc != t) {
		kill(t, SIGKILL);
		vm_reap(t);
		return VM_FAIL("stopped inside, still alive after %d ms "
			       "(grace %d ms)", waited, grace);
	}
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return VM_FAIL("stopped client ended with status 0x%x", st);
	/* The module may count up to two checks (200 ms) before the stop. */
	if (waited < grace - 300)
		return VM_FAIL("killed after %d ms, before the grace (%d ms)",
			       waited, grace);
	/* Its mappings went in its exit, before the wait saw it. */
	if (atk_deaths(&d1) || d1 != d0 + 1)
		return VM_FAIL("the kill counted as %lld deaths",
			       (long long)(d1 - d0));
	rc = atk_writer(ms0 / 200 > 20 ? ms0 / 200 : 20, &ms, &done);
	if (rc)
		return VM_FAIL("after the kill, another's sets: %s (%d sets "
			       "stored, in %d ms)", rc == 1 ? "stall" : vm_sh->note,
			       done, ms);
	if (vm_attach(ATK_STORE))
		return VM_FAIL("attach after the kill");
	rc = plmc_recover();
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	if (rc < 0 || plmc_check(&ck) != PLMC_OK || ck.errors ||
	    ck.dead_slots)
		return VM_FAIL("recover %d; check: %llu errors, %llu dead "
			       "slots: %s", rc, (unsigned long long)ck.errors,
			       (unsigned long long)ck.dead_slots, ck.msg);
	return ATK_REFUSED("killed %d ms after the stop (grace %d), 1 death, "
			   "check sound; all sets in %d ms (control %d)",
			   waited, grace, ms, ms0);
}

/* Control: a stop inside shorter than the grace is not punished. */
static int stopped_briefly_inside(void)
{
	int grace = atk_grace_ms(), st, rc;
	pid_t t;

	if (grace <= 0)
		return VM_FAIL("stop_grace_ms not readable or 0: %d", grace);
	if ((t = parker()) < 0)
		return VM_FAIL("parker did not attach");
	if (atk_stop_inside(t)) {
		kill(t, SIGKILL);
		vm_reap(t);
		return VM_FAIL("never stopped inside in 500 tries");
	}
	usleep(grace * 1000 / 4);
	ptrace(PTRACE_CONT, t, 0, 0);
	usleep(grace * 1000 + 500000);
	rc = waitpid(t, &st, WNOHANG);
	kill(t, SIGKILL);
	vm_reap(t);
	if (rc)
		return VM_FAIL("stopped inside %d ms then continued: killed",
			       grace / 4);
	return ATK_REFUSED("stopped inside %d ms (grace %d), continued: "
			   "alive %d ms later", grace / 4, grace,
			   grace + 500);
}

/*
 * Control: a client stopped outside the library (SIGSTOP while it sleeps
 * in its own code), for twice the grace, is never killed and works when
 * continued.
 */
static int stopped_outside(void)
{
	int grace = atk_grace_ms(), go[2], cont[2], st;
	pid_t c;

	if (grace <= 0)
		return VM_FAIL("stop_grace_ms not readable or 0: %d", grace);
	if (pipe(go) || pipe(cont))
		return -1;
	c = fork();
	if (c == 0) {
		char v[8];
		size_t vlen;

		if (vm_attach(ATK_STORE) ||
		    plmc_set("park-out", 8, "out", 3, 0, 0) != PLMC_STORED)
			_exit(1);
		vm_signal_fd(go[1]);
		if (vm_wait_fd(cont[0]))
			_exit(2);
		_exit(plmc_get("park-out", 8, v, sizeof(v), &vlen, NULL,
			       NULL) == PLMC_OK && vlen == 3 ? 0 : 3);
	}
	if (c < 0 || vm_wait_fd(go[0]))
		return VM_FAIL("client did not attach");
	kill(c, SIGSTOP);
	if (waitpid(c, &st, WUNTRACED) != c || !WIFSTOPPED(st))
		return VM_FAIL("client not stopped: 0x%x", st);
	usleep(2 * grace * 1000);
	if (waitpid(c, &st, WNOHANG) != 0) {
		vm_reap(c);
		return VM_FAIL("stopped outside the library: killed (0x%x)",
			       st);
	}
	kill(c, SIGCONT);
	vm_signal_fd(cont[1]);
	st = vm_reap(c);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("continued client: status 0x%x", st);
	return ATK_REFUSED("stopped outside %d ms (grace %d): alive, its get "
			   "served after", 2 * grace, grace);
}

int main(void)
{
	atk_init();
	atk_run("signal.in_library_no_altstack", "deferred, survives", plain,
		NULL);
	atk_run("signal.in_library_altstack", "deferred, survives", altstack,
		NULL);
	atk_run("signal.in_library_forged_rip", "no frame to forge", forged,
		NULL);
	atk_run("signal.single_step_into_library", "no trap frame inside",
		single_step, NULL);
	atk_run("signal.stopped_inside_pins_memory",
		"killed after the grace, recovered, others' sets stored",
		stopped_inside, NULL);
	atk_run("signal.stopped_briefly_inside", "survives", stopped_briefly_inside,
		NULL);
	atk_run("signal.stopped_outside_survives", "survives", stopped_outside,
		NULL);
	return vm_done();
}
