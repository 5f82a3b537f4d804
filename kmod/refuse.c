// SPDX-License-Identifier: GPL-2.0
/*
 * refuse.c - system calls an attached process may not make.
 *
 *   pkeys    pkey_free of the store key is refused (-EPERM): a later
 *            pkey_alloc would hand it back with rights of the caller's
 *            choosing (the kernel writes PKRU for pkey_alloc).
 *   ptrace   requests that write a tracee's registers, FPU/XSAVE state
 *            (PKRU) or memory are refused (-EPERM) for a guarded tracee.
 *
 * Executable memory (mmap, mprotect, mremap ...) is exec.c's; remote
 * writes to the memory of a guarded mm are remote.c's.
 */
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <uapi/linux/ptrace.h>
#include "plmc_kmod.h"

/* __x64_sys_pkey_free(regs): the key is the user's rdi. */
static int plmc_pre_pkey_free64(struct kprobe *p, struct pt_regs *regs)
{
	const struct pt_regs *u = (const struct pt_regs *)regs->di;

	if (!plmc_guard_has_pkey(current->mm, (unsigned int)u->di))
		return 0;
	return plmc_refuse(regs, plmc_ret_eperm);
}

/* __ia32_sys_pkey_free(regs): int $0x80 from any process; key in ebx. */
static int plmc_pre_pkey_free32(struct kprobe *p, struct pt_regs *regs)
{
	const struct pt_regs *u = (const struct pt_regs *)regs->di;

	if (!plmc_guard_has_pkey(current->mm, (unsigned int)u->bx))
		return 0;
	return plmc_refuse(regs, plmc_ret_eperm);
}

static struct kprobe plmc_kp_ptrace32; /* below: tells the ABIs apart */

/* Requests that change a tracee's registers, FPU state or memory. */
static bool plmc_ptrace_writes(long request)
{
	switch (request) {
	case PTRACE_POKETEXT:
	case PTRACE_POKEDATA:
	case PTRACE_POKEUSR:
	case PTRACE_SETREGS:
	case PTRACE_SETFPREGS:
	case PTRACE_SETFPXREGS:
	case PTRACE_SETREGSET:
	case PTRACE_SET_THREAD_AREA:
	case PTRACE_ARCH_PRCTL:
		return true;
	default:
		return false;
	}
}

/* arch_ptrace(child, request, ...) and compat_arch_ptrace(): same regs. */
static int plmc_pre_arch_ptrace(struct kprobe *p, struct pt_regs *regs)
{
	struct task_struct *child = (struct task_struct *)regs->di;
	long request = p == &plmc_kp_ptrace32 ? (long)(int)regs->si
					      : (long)regs->si;

	if (!plmc_ptrace_writes(request) ||
	    !plmc_guard_mask(READ_ONCE(child->mm)))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: ptrace write to an attached task refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

static struct kprobe plmc_kp_pkey_free64 = {
	.symbol_name = "__x64_sys_pkey_free",
	.pre_handler = plmc_pre_pkey_free64,
};

static struct kprobe plmc_kp_pkey_free32 = {
	.symbol_name = "__ia32_sys_pkey_free",
	.pre_handler = plmc_pre_pkey_free32,
};

static struct kprobe plmc_kp_ptrace64 = {
	.symbol_name = "arch_ptrace",
	.pre_handler = plmc_pre_arch_ptrace,
};

static struct kprobe plmc_kp_ptrace32 = {
	.symbol_name = "compat_arch_ptrace",
	.pre_handler = plmc_pre_arch_ptrace,
};

static struct kprobe *plmc_kprobes[] = {
	&plmc_kp_pkey_free64,
	&plmc_kp_pkey_free32,
	&plmc_kp_ptrace64,
	&plmc_kp_ptrace32,
};

/* Context: module init. Return: 0 or the registration error. */
int plmc_refuse_init(void)
{
	int rc;

	rc = register_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
	if (rc)
		pr_err(PLMC_DRV ": kprobes (refusals): %d\n", rc);
	return rc;
}

void plmc_refuse_exit(void)
{
	unregister_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
}
