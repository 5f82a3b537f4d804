/* SPDX-License-Identifier: MIT */
/*
 * atk_proc - attacks 13, 14, 15: other processes and keys.
 * fork: the child of an attached process has no store mapping (reads get
 * SIGSEGV MAPERR) and may attach on its own. Another uid cannot attach a
 * 0600 store (EACCES), nor open /dev/plmc without the device permission.
 * pkey_free + pkey_alloc of the store key while attached would hand the
 * process the key with access rights of its choosing: pkey_free of it is
 * refused (EPERM) and no pkey_alloc returns it.
 * The same through int $0x80 (the ia32 pkey_free). A tracer (here through
 * PTRACE_TRACEME, which needs no permission) cannot write an attached
 * tracee's XSAVE state (PKRU) or registers: EPERM, and the tracee's store
 * access still faults.
 */
#include "attacks.h"
#include <sys/ptrace.h>
#include <cpuid.h>
#include <elf.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>

static int fork_child_reads(void)
{
	pid_t c;
	int st;

	if (vm_attach(ATK_STORE) || plmc_nop())
		return VM_FAIL("attach");
	c = fork();
	if (c == 0) {
		vm_catch();
		vm_expect_fault(SIGSEGV, SEGV_MAPERR, PLMC_STORE_ADDR);
		(void)*(volatile uint64_t *)PLMC_STORE_ADDR;
		_exit(0);
	}
	st = vm_reap(c);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 97 &&
	      vm_sh->got_signo == SIGSEGV && vm_sh->got_code == SEGV_MAPERR))
		return VM_FAIL("child read the store (status 0x%x, sig %d)", st,
			       vm_sh->got_signo);
	memset(vm_sh, 0, sizeof(*vm_sh));
	return ATK_REFUSED("child: SIGSEGV SEGV_MAPERR");
}

static int fork_child_attaches(void)
{
	pid_t c;
	int st;

	if (vm_attach(ATK_STORE) || plmc_nop())
		return VM_FAIL("attach");
	c = fork();
	if (c == 0) {
		plmc_detach();
		_exit(vm_attach(ATK_STORE) || vm_roundtrip("fork-k", "v") ? 1
									 : 0);
	}
	st = vm_reap(c);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("child could not attach on its own: 0x%x", st);
	if (vm_expect_value("fork-k", "v"))
		return -1;
	return ATK_REFUSED("child attached on its own; parent sees its write");
}

static int other_uid_0600(void)
{
	int rc;

	plmc_destroy("atk600", 1, PLMC_USE_KMOD);
	if (plmc_create("atk600", VM_STORE_SIZE, 0600, PLMC_USE_KMOD))
		return VM_FAIL("create atk600");
	if (setgid(12345) || setuid(12345))
		return VM_FAIL("setuid");
	rc = plmc_attach("atk600", PLMC_USE_KMOD);
	if (!rc)
		return VM_FAIL("uid 12345 attached a 0600 root store");
	return ATK_REFUSED("%s", plmc_strerror(rc));
}

static int no_device_perm(void)
{
	pid_t c;
	int st;

	if (chmod("/dev/plmc", 0600))
		return VM_FAIL("chmod");
	c = fork();
	if (c == 0) {
		if (setgid(12345) || setuid(12345))
			_exit(2);
		_exit(open("/dev/plmc", O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	st = vm_reap(c);
	chmod("/dev/plmc", 0666);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("uid 12345 opened a 0600 /dev/plmc (0x%x)", st);
	return ATK_REFUSED("open EACCES");
}

static int pkey_recycle(void)
{
	int key, rc, k2, i;

	if (vm_attach(ATK_STORE))
		return -1;
	key = (int)vm_ppage()->pkey;
	rc = pkey_free(key);
	for (i = 0; i < 15; i++) {
		k2 = pkey_alloc(0, 0);
		if (k2 < 0)
			break;
		if (k2 == key)
			return VM_FAIL("pkey_alloc returned the store key %d "
				       "(pkey_free: %d)", key, rc);
	}
	if (!rc)
		return VM_FAIL("pkey_free(%d) of the store key succeeded", key);
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	(void)*(volatile uint64_t *)PLMC_STORE_ADDR;
	return VM_FAIL("store readable after pkey games");
}

/* A tracer rewrites an attached tracee's PKRU or registers. */
static int traced_setregs(void)
{
	static uint8_t xs[8192] __attribute__((aligned(64)));
	struct iovec v = {xs, sizeof(xs)};
	struct user_regs_struct r;
	unsigned a, b, c, d;
	pid_t ch;
	int st, e1, e2;

	ch = fork();
	if (ch == 0) {
		signal(SIGSEGV, SIG_DFL); /* die of it: no harness handler */
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) ||
		    plmc_attach(ATK_STORE, PLMC_USE_KMOD))
			_exit(2);
		raise(SIGSTOP);
		/* Killed by SIGSEGV here unless the tracer opened the store. */
		_exit(atk_store_magic_ok() ? 1 : 3);
	}
	waitpid(ch, &st, 0);
	if (!WIFSTOPPED(st))
		return VM_FAIL("tracee did not stop (0x%x)", st);
	if (ptrace(PTRACE_GETREGSET, ch, (void *)NT_X86_XSTATE, &v))
		return VM_FAIL("GETREGSET: %s", strerror(errno));
	__cpuid_count(0xd, 9, a, b, c, d);
	*(uint64_t *)(xs + 512) |= 1ULL << 9;
	*(uint32_t *)(xs + b) = 0;
	e1 = ptrace(PTRACE_SETREGSET, ch, (void *)NT_X86_XSTATE, &v) ? errno
								     : 0;
	ptrace(PTRACE_GETREGS, ch, 0, &r);
	e2 = ptrace(PTRACE_SETREGS, ch, 0, &r) ? errno : 0;
	ptrace(PTRACE_DETACH, ch, 0, 0);
	st = vm_reap(ch);
	if (!e1 || !e2 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
		return VM_FAIL("SETREGSET %s, SETREGS %s, tracee status 0x%x",
			       vm_errno_name(e1), vm_errno_name(e2), st);
	return ATK_REFUSED("SETREGSET %s, SETREGS %s, tracee SIGSEGV",
			   vm_errno_name(e1), vm_errno_name(e2));
}

/* pkey_free through the ia32 entry (int $0x80), also open to 64-bit. */
static int pkey_free32(void)
{
	long rc;
	int key;

	if (vm_attach(ATK_STORE))
		return -1;
	key = (int)vm_ppage()->pkey;
	asm volatile("int $0x80" : "=a"(rc) : "a"(382L), "b"((long)key)
		     : "memory");
	if (rc == 0)
		return VM_FAIL("ia32 pkey_free(%d) of the store key worked",
			       key);
	return ATK_REFUSED("ia32 pkey_free %s", vm_errno_name((int)-rc));
}

int main(void)
{
	atk_init();
	atk_run("proc.fork_child_reads", "SIGSEGV MAPERR", fork_child_reads,
		NULL);
	atk_run("proc.fork_child_attaches", "works", fork_child_attaches,
		NULL);
	atk_run("proc.other_uid_0600", "EACCES", other_uid_0600, NULL);
	atk_run("proc.no_device_permission", "EACCES", no_device_perm, NULL);
	atk_run("proc.pkey_free_alloc_store_key", "pkey_free EPERM",
		pkey_recycle, NULL);
	atk_run("proc.pkey_free_ia32", "EPERM", pkey_free32, NULL);
	atk_run("proc.tracer_sets_pkru_regs", "EPERM, tracee SIGSEGV",
		traced_setregs, NULL);
	return vm_done();
}
