// SPDX-License-Identifier: GPL-2.0
/*
 * guard.c - the list of guarded attachments, and the guard's load and
 * unload.
 *
 * PKU protects the store only while the process cannot run a WRPKRU (or an
 * XRSTOR, or a sigreturn) of its own choosing with a PKRU that opens the
 * store key. The mappings are the module's; the process's code is not. So,
 * from attach until the attachment dies, its mm is "guarded" (on the list
 * here), and each concern keeps its own rules:
 *
 *   exec.c      the executable memory: scan at attach, no new or changed
 *               executable bytes after it
 *   refuse.c    pkey_free of the store key, ptrace writes
 *   remote.c    writes through __access_remote_vm (/proc/pid/mem, POKE*)
 *   sigframe.c  signal frames built with the store open, sigreturn
 *   int3.c      an int3 on each XRSTOR and WRPKRU the scan found, emulated
 *   defer.c     signals held while inside, no frame from inside
 *
 * A refusal from a kprobe points regs->ip at a stub that returns the error
 * to the probed function's caller before the function did anything.
 *
 * Locking: plmc_guard_lock (spinlock, irqsave: the probes run in any
 * context) guards the list of guarded attachments and each attachment's
 * xready and gate_exit. Nothing else is taken under it. A crash leaves
 * nothing: the lists are the module's memory, and the write denials go
 * with the attachment.
 */
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <plmc/image.h>
#include "plmc_kmod.h"
#include "compat.h"

static DEFINE_SPINLOCK(plmc_guard_lock);
static LIST_HEAD(plmc_guards); /* plmc_att.guard_node */

void plmc_guard_add(struct plmc_att *att)
{
	unsigned long flags;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_add(&att->guard_node, &plmc_guards);
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
}

/* Idempotent: every way an attachment ends calls it. May sleep. */
void plmc_guard_del(struct plmc_att *att)
{
	unsigned long flags;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	if (!list_empty(&att->guard_node))
		list_del_init(&att->guard_node);
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	plmc_frames_forget(att->mm);
}

/* Return: where signals held inside the library are let go, or 0. */
unsigned long plmc_guard_exit_addr(struct mm_struct *mm)
{
	struct plmc_att *att;
	unsigned long flags, addr = 0;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_for_each_entry(att, &plmc_guards, guard_node)
		if (att->mm == mm && att->gate_exit) {
			addr = att->gate_exit;
			break;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return addr;
}

/*
 * Once joined: the gate's exit, just after its exit WRPKRU (image site 1,
 * see kvcore/gate.S; a WRPKRU is 3 bytes). There the store is closed and
 * rsp is the client's: held signals can be delivered.
 */
void plmc_guard_set_exit(struct plmc_att *att)
{
	const struct plmc_image_hdr *h = att->seg->image;
	unsigned long flags;

	if (h->nsites < 2)
		return;
	spin_lock_irqsave(&plmc_guard_lock, flags);
	att->gate_exit = PLMC_BASE + h->sites[1] + 3;
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
}

/*
 * Return: the access-disable bits (1 << 2 * pkey) of the store keys of
 * every live attachment of @mm, or 0 when it is not guarded. A process
 * may hold several attachments: each key must stay closed.
 * Context: any.
 */
u32 plmc_guard_mask(struct mm_struct *mm)
{
	struct plmc_att *att;
	unsigned long flags;
	u32 mask = 0;

	if (!mm)
		return 0;
	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_for_each_entry(att, &plmc_guards, guard_node)
		if (att->mm == mm)
			mask |= 1U << (2 * att->pkey);
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return mask;
}

/*
 * Did an attachment of @mm find anonymous executable memory at attach?
 * (Set by its scan before xready, read here with it.) Any context.
 */
bool plmc_guard_anon_exec(struct mm_struct *mm)
{
	struct plmc_att *att;
	unsigned long flags;
	bool found = false;

	if (!mm)
		return false;
	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_for_each_entry(att, &plmc_guards, guard_node)
		if (att->mm == mm && att->xready && att->anon_exec) {
			found = true;
			break;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return found;
}

/* The scan is done: its anon_exec is read from now on. */
void plmc_guard_scanned(struct plmc_att *att)
{
	unsigned long flags;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	att->xready = true;
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
}

/* Is @pkey the store key of a live attachment of @mm? Any context. */
bool plmc_guard_has_pkey(struct mm_struct *mm, unsigned long pkey)
{
	struct plmc_att *att;
	unsigned long flags;
	bool found = false;

	if (!mm)
		return false;
	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_for_each_entry(att, &plmc_guards, guard_node)
		if (att->mm == mm && att->pkey == pkey) {
			found = true;
			break;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return found;
}

/* Refusal stubs: entered instead of the probed function, at its entry. */
noinline long plmc_ret_eacces(void)
{
	return -EACCES;
}

noinline long plmc_ret_eperm(void)
{
	return -EPERM;
}

noinline long plmc_ret_zero(void)
{
	return 0;
}

noinline long plmc_ret_enomem(void)
{
	return -ENOMEM;
}

noinline long plmc_ret_eagain(void)
{
	return -EAGAIN;
}

int plmc_refuse(struct pt_regs *regs, long (*stub)(void))
{
	regs->ip = (unsigned long)stub;
	return 1; /* ip changed: kprobes skips the probed instruction */
}

/*
 * The pre-handlers read the probed functions' arguments: where they sit
 * was checked for the kernels plmc_kernel_verified() names (compat.h).
 * Elsewhere the module refuses to load rather than guard with the wrong
 * arguments.
 *
 * Context: module init. Return: 0, or the first registration error.
 */
int plmc_guard_init(void)
{
	int rc;

	if (!plmc_kernel_verified()) {
		pr_err(PLMC_DRV ": guard verified on 6.1 and 6.12 only, not on %s; not loading\n",
		       init_utsname()->release);
		return -EOPNOTSUPP;
	}

	rc = plmc_refuse_init();
	if (rc)
		return rc;
	rc = plmc_exec_init();
	if (rc)
		goto err_refuse;
	rc = plmc_remote_init();
	if (rc)
		goto err_exec;
	rc = plmc_sigframe_init();
	if (rc)
		goto err_remote;
	rc = plmc_int3_init();
	if (rc)
		goto err_sigframe;
	rc = plmc_defer_init();
	if (rc)
		goto err_int3;
	rc = plmc_rseq_init();
	if (rc)
		goto err_defer;
	return 0;

err_defer:
	plmc_defer_exit();
err_int3:
	plmc_int3_exit();
err_sigframe:
	plmc_sigframe_exit();
err_remote:
	plmc_remote_exit();
err_exec:
	plmc_exec_exit();
err_refuse:
	plmc_refuse_exit();
	return rc;
}

void plmc_guard_exit(void)
{
	plmc_rseq_exit();
	plmc_defer_exit();
	plmc_int3_exit();
	plmc_sigframe_exit();
	plmc_remote_exit();
	plmc_exec_exit();
	plmc_refuse_exit();
}
