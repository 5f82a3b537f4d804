// SPDX-License-Identifier: GPL-2.0
/*
 * guard.c - keep an attached process from making its own way into the store.
 *
 * PKU protects the store only while the process cannot run a WRPKRU (or an
 * XRSTOR, or a sigreturn) of its own choosing with a PKRU that opens the
 * store key. The mappings are the module's; the process's code is not. So,
 * from attach until the attachment dies, its mm is "guarded":
 *
 *   attach   every executable VMA is checked: not writable, not an unlinked
 *            file (memfd, O_TMPFILE), not a file open for writing, and no
 *            WRPKRU bytes (0F 01 EF) anywhere in it. The files behind them
 *            are held write-denied (deny_write_access) for the attachment's
 *            life, so their page cache cannot change under the mapping.
 *   mmap     a new executable mapping is refused (-EACCES), except the
 *            module's own image (kprobe on mmap_region).
 *   mprotect gaining exec, or W+X, is refused (-EACCES; kprobe on
 *            mprotect_fixup, which mprotect and pkey_mprotect both reach).
 *   pkeys    pkey_free of the store key is refused (-EPERM): a later
 *            pkey_alloc would hand it back with rights of the caller's
 *            choosing (the kernel writes PKRU for pkey_alloc).
 *   ptrace   requests that write a tracee's registers, FPU/XSAVE state
 *            (PKRU) or memory are refused (-EPERM) for a guarded tracee.
 *   poke     writes through __access_remote_vm (/proc/pid/mem, ptrace
 *            POKE*, both FOLL_FORCE: they can write read-only text) are
 *            refused: 0 bytes, the caller sees EIO.
 *   signals  a signal frame built while the store is open (a thread in
 *            the library) records the interrupted registers, and the
 *            handler then runs with the store closed (x86 keeps PKRU
 *            across delivery: it would run with the store open). A
 *            second line: defer.c refuses such frames and kills first.
 *   sigreturn a sigreturn that leaves PKRU with the store key readable is
 *            SIGKILLed unless it resumes exactly the registers recorded
 *            for a frame, flags included (kretprobes on
 *            copy_fpstate_to_sigframe and fpu__restore_sig).
 *
 * A refusal from a kprobe points regs->ip at a stub that returns the error
 * to the probed function's caller before the function did anything.
 *
 * XRSTOR is not refused at attach: static glibc carries two (the lazy
 * binding trampolines kept for static dlopen), so refusing it would refuse
 * every ordinary program. SECURITY.md lists that as an open hole.
 *
 * Locking: plmc_guard_lock (spinlock, irqsave: the probes run in any
 * context) guards the list of guarded attachments and the frame records.
 * Nothing else is taken under it. A crash leaves nothing: the lists are
 * the module's memory, and the write denials go with the attachment.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <uapi/linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <asm/special_insns.h>
#include <plmc/image.h>
#include "plmc_kmod.h"

static DEFINE_SPINLOCK(plmc_guard_lock);
static LIST_HEAD(plmc_guards); /* plmc_att.guard_node */

/* Register state saved when a frame was built with the store open. At
 * most PLMC_FRAMES_PER_MM per process, so one cannot fill the table
 * (with frames it never returns from) for everyone. */
#define PLMC_FRAMES 64
#define PLMC_FRAMES_PER_MM 8
struct plmc_frame {
	struct task_struct *task; /* identity only; NULL: free */
	struct mm_struct *mm;
	struct pt_regs regs;
};
static struct plmc_frame plmc_frames[PLMC_FRAMES];

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
	int i;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	if (!list_empty(&att->guard_node))
		list_del_init(&att->guard_node);
	for (i = 0; i < PLMC_FRAMES; i++)
		if (plmc_frames[i].mm == att->mm) {
			plmc_frames[i].task = NULL;
			plmc_frames[i].mm = NULL;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	if (!plmc_guard_mask(att->mm))
		plmc_xbp_unwatch_mm(att->mm);
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

/* Copy the XRSTOR sites watched in @mm. Return: how many. Any context. */
unsigned int plmc_guard_xsites(struct mm_struct *mm, unsigned long *sites)
{
	struct plmc_att *att;
	unsigned long flags;
	unsigned int n = 0;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	list_for_each_entry(att, &plmc_guards, guard_node)
		if (att->mm == mm && att->xready && att->nxsite) {
			n = att->nxsite;
			memcpy(sites, att->xsite, n * sizeof(*sites));
			break;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return n;
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

/* Is @pkey the store key of a live attachment of @mm? Any context. */
static bool plmc_guard_has_pkey(struct mm_struct *mm, unsigned long pkey)
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

/* A store is readable when its key's access-disable bit is clear. */
static bool plmc_pkru_opens(u32 pkru, u32 mask)
{
	return (pkru & mask) != mask;
}

/* Refusal stubs: entered instead of the probed function, at its entry. */
static noinline long plmc_ret_eacces(void)
{
	return -EACCES;
}

static noinline long plmc_ret_eperm(void)
{
	return -EPERM;
}

static noinline long plmc_ret_zero(void)
{
	return 0;
}

static int plmc_refuse(struct pt_regs *regs, long (*stub)(void))
{
	regs->ip = (unsigned long)stub;
	return 1; /* ip changed: kprobes skips the probed instruction */
}

/* mmap_region(file, addr, len, vm_flags, pgoff, uf) */
static int plmc_pre_mmap_region(struct kprobe *p, struct pt_regs *regs)
{
	struct file *file = (struct file *)regs->di;
	unsigned long vm_flags = regs->cx;

	if (!(vm_flags & VM_EXEC) || !plmc_guard_mask(current->mm))
		return 0;
	if (file && plmc_is_plmc_file(file))
		return 0; /* the image: plmc_mmap checks it */
	pr_info_ratelimited(PLMC_DRV ": pid %d: new executable mapping refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eacces);
}

/* mprotect_fixup(tlb, vma, pprev, start, end, newflags) */
static int plmc_pre_mprotect_fixup(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)regs->si;
	unsigned long newflags = regs->r9;

	if (!(newflags & VM_EXEC) || !plmc_guard_mask(current->mm))
		return 0;
	if (!(newflags & VM_WRITE) && (vma->vm_flags & VM_EXEC))
		return 0; /* stays executable, never writable */
	pr_info_ratelimited(PLMC_DRV ": pid %d: mprotect to exec refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eacces);
}

/* __access_remote_vm(mm, addr, buf, len, gup_flags) */
static int plmc_pre_access_remote(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;

	if (!(regs->r8 & FOLL_WRITE) || !plmc_guard_mask(mm))
		return 0;
	return plmc_refuse(regs, plmc_ret_zero);
}

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

/*
 * Flags a sigreturn restores that steer the library: the arithmetic ones
 * (an edited ZF or CF after a compare turns a bounds check around), DF
 * (string direction), TF (single-step: a register trace) and AC.
 */
#define PLMC_FLAGS_SAME                                                       \
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF |       \
	 X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF |       \
	 X86_EFLAGS_AC)

/* The state a sigreturn will resume: every GPR, ip, sp and the flags. */
static bool plmc_regs_same(const struct pt_regs *a, const struct pt_regs *b)
{
	return !((a->flags ^ b->flags) & PLMC_FLAGS_SAME) &&
	       a->ip == b->ip && a->sp == b->sp && a->ax == b->ax &&
	       a->bx == b->bx && a->cx == b->cx && a->dx == b->dx &&
	       a->si == b->si && a->di == b->di && a->bp == b->bp &&
	       a->r8 == b->r8 && a->r9 == b->r9 && a->r10 == b->r10 &&
	       a->r11 == b->r11 && a->r12 == b->r12 && a->r13 == b->r13 &&
	       a->r14 == b->r14 && a->r15 == b->r15;
}

/*
 * copy_fpstate_to_sigframe(): a signal frame is being built. With the
 * store open (a thread inside the library), remember the interrupted
 * registers for the sigreturn check, and have the return handler close
 * the store: x86 keeps PKRU across signal delivery, so the client's
 * handler would otherwise run with the store open.
 */
static int plmc_enter_sigframe(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;
	u32 mask = plmc_guard_mask(mm);
	unsigned long flags;
	int i, mine = 0;

	*(u32 *)ri->data = 0;
	if (!mask || !plmc_pkru_opens(rdpkru(), mask))
		return 0;
	*(u32 *)ri->data = mask;
	spin_lock_irqsave(&plmc_guard_lock, flags);
	for (i = 0; i < PLMC_FRAMES; i++)
		mine += plmc_frames[i].mm == mm;
	for (i = 0; i < PLMC_FRAMES && mine < PLMC_FRAMES_PER_MM; i++)
		if (!plmc_frames[i].task) {
			plmc_frames[i].task = current;
			plmc_frames[i].mm = mm;
			plmc_frames[i].regs = *current_pt_regs();
			break;
		}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	/* Table or share full: that sigreturn will be killed (fail closed). */
	return 0;
}

/* The frame holds the trusted PKRU; the handler gets the store closed. */
static int plmc_ret_sigframe(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	u32 mask = *(u32 *)ri->data;

	if (mask) /* access- and write-disable for every store key */
		wrpkru(rdpkru() | mask | (mask << 1));
	return 0;
}

/* Consume the record this sigreturn resumes. Return: found. */
static bool plmc_frame_take(void)
{
	const struct pt_regs *now = current_pt_regs();
	unsigned long flags;
	bool found = false;
	int i;

	spin_lock_irqsave(&plmc_guard_lock, flags);
	for (i = 0; i < PLMC_FRAMES && !found; i++) {
		if (plmc_frames[i].task != current ||
		    plmc_frames[i].mm != current->mm ||
		    !plmc_regs_same(&plmc_frames[i].regs, now))
			continue;
		plmc_frames[i].task = NULL;
		plmc_frames[i].mm = NULL;
		found = true;
	}
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return found;
}

/* fpu__restore_sig() returned: registers and PKRU are what user gets. */
static int plmc_ret_restore_sig(struct kretprobe_instance *ri,
				struct pt_regs *regs)
{
	u32 mask = plmc_guard_mask(current->mm);

	if (!mask || !plmc_pkru_opens(rdpkru(), mask) || plmc_frame_take())
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: forged sigreturn killed\n",
			    task_tgid_nr(current));
	force_sig(SIGKILL);
	return 0;
}

static struct kprobe plmc_kp_mmap = {
	.symbol_name = "mmap_region",
	.pre_handler = plmc_pre_mmap_region,
};

static struct kprobe plmc_kp_mprotect = {
	.symbol_name = "mprotect_fixup",
	.pre_handler = plmc_pre_mprotect_fixup,
};

static struct kprobe plmc_kp_remote = {
	.symbol_name = "__access_remote_vm",
	.pre_handler = plmc_pre_access_remote,
};

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
	&plmc_kp_mmap,
	&plmc_kp_mprotect,
	&plmc_kp_remote,
};

static struct kretprobe plmc_krp_restore = {
	.kp.symbol_name = "fpu__restore_sig",
	.handler = plmc_ret_restore_sig,
	.maxactive = 64,
};

static struct kretprobe plmc_krp_sigframe = {
	.kp.symbol_name = "copy_fpstate_to_sigframe",
	.entry_handler = plmc_enter_sigframe,
	.handler = plmc_ret_sigframe,
	.data_size = sizeof(u32),
	.maxactive = 64,
};

static struct kretprobe *plmc_kretprobes[] = {
	&plmc_krp_restore,
	&plmc_krp_sigframe,
};

/*
 * The scan at attach. Executable VMAs are listed under mmap_lock, then
 * read with copy_from_user without it (a fault would take it again). The
 * guard is already up, so no new executable code can appear meanwhile.
 */
#define PLMC_SCAN_MAX 256

struct plmc_xrange {
	unsigned long start, end;
};

/* Return: 0, or -EPERM with the reason logged. */
static int plmc_scan_vma(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM; /* W+X */
	if (!vma->vm_file)
		return 0;
	inode = file_inode(vma->vm_file);
	if (!inode->i_nlink)
		return -EPERM; /* memfd, O_TMPFILE, deleted */
	if (atomic_read(&inode->i_writecount) > 0)
		return -EPERM; /* open for writing somewhere */
	return 0;
}

/* Deny writes to @file for the attachment's life. Return: 0 or -EPERM. */
static int plmc_hold_file(struct plmc_att *att, struct file *file)
{
	if (att->nfiles >= PLMC_SCAN_MAX || deny_write_access(file))
		return -EPERM;
	att->files[att->nfiles++] = get_file(file);
	return 0;
}

void plmc_guard_release_files(struct plmc_att *att)
{
	while (att->nfiles) {
		struct file *f = att->files[--att->nfiles];

		allow_write_access(f);
		fput(f);
	}
	kfree(att->files);
	att->files = NULL;
}

static int plmc_collect(struct plmc_att *att, struct plmc_xrange *r, int *n)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, 0);
	int rc = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for_each_vma(vmi, vma) {
		if (!(vma->vm_flags & VM_EXEC) || plmc_is_plmc_vma(vma))
			continue;
		rc = -EPERM;
		if (*n >= PLMC_SCAN_MAX || plmc_scan_vma(vma))
			break;
		if (vma->vm_file && plmc_hold_file(att, vma->vm_file))
			break;
		rc = 0;
		r[*n].start = vma->vm_start;
		r[*n].end = vma->vm_end;
		(*n)++;
	}
	mmap_read_unlock(mm);
	return rc;
}

/*
 * Prefixes that may start the same XRSTOR: REX, segment overrides and
 * address size. LOCK, 66, F2 and F3 make XRSTOR #UD, so they cannot.
 */
static bool plmc_is_prefix(u8 b)
{
	return (b >= 0x40 && b <= 0x4f) || b == 0x26 || b == 0x2e ||
	       b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x67;
}

/*
 * An XRSTOR at @buf[@i] (user address @at): watch it and every prefix
 * start before it. Return: 0, or -EPERM when more than the debug
 * registers can hold.
 */
static int plmc_add_xsite(struct plmc_att *att, const u8 *buf, size_t i,
			  unsigned long at)
{
	size_t k = 0;

	do {
		if (att->nxsite >= PLMC_XSITES)
			return -EPERM;
		att->xsite[att->nxsite++] = at - k;
		k++;
	} while (k <= i && k <= 14 && plmc_is_prefix(buf[i - k]));
	return 0;
}

/* Return: 0, -EPERM (WRPKRU found, or unreadable), -ENOMEM. */
static int plmc_scan_range(struct plmc_att *att, const struct plmc_xrange *r,
			   u8 *buf, unsigned int *nxrstor)
{
	unsigned long a, len;
	size_t i;
	u8 carry[2] = {0, 0};

	for (a = r->start; a < r->end; a += len) {
		len = min_t(unsigned long, PAGE_SIZE, r->end - a);
		buf[0] = carry[0];
		buf[1] = carry[1];
		if (copy_from_user(buf + 2, (const void __user *)a, len))
			return -EPERM; /* execute-only or gone: refuse */
		for (i = 0; i + 3 <= len + 2; i++) {
			if (plmc_image_is_wrpkru(buf + i))
				return -EPERM;
			if (!plmc_image_is_xrstor(buf + i))
				continue;
			(*nxrstor)++;
			if (plmc_add_xsite(att, buf, i, a - 2 + i))
				return -EPERM;
		}
		carry[0] = buf[len];
		carry[1] = buf[len + 1];
		cond_resched();
	}
	return 0;
}

/*
 * Publish the sites (new threads read them from now on), then watch every
 * thread that exists. A thread made in between may be watched twice over:
 * plmc_xbp_watch() keeps one.
 */
static int plmc_guard_set_xsites(struct plmc_att *att)
{
	unsigned long flags;

	/* The scan filled them unlocked; readers use them from here on. */
	spin_lock_irqsave(&plmc_guard_lock, flags);
	att->xready = true;
	spin_unlock_irqrestore(&plmc_guard_lock, flags);
	return plmc_xbp_watch_all(att->xsite, att->nxsite);
}

/*
 * plmc_guard_scan() - check the calling process's executable memory.
 * @att: the attachment, already guarded; keeps the write-denied files
 *
 * Context: process context, no locks held.
 * Return: 0, -EPERM (a rule broken), -ENOMEM or -EINTR. On failure the
 * caller releases the files (plmc_guard_release_files()).
 */
int plmc_guard_scan(struct plmc_att *att)
{
	struct plmc_xrange *r;
	unsigned int nx = 0;
	int n = 0, i, rc;
	u8 *buf;

	r = kcalloc(PLMC_SCAN_MAX, sizeof(*r), GFP_KERNEL);
	att->files = kcalloc(PLMC_SCAN_MAX, sizeof(*att->files), GFP_KERNEL);
	buf = kmalloc(PAGE_SIZE + 4, GFP_KERNEL);
	rc = -ENOMEM;
	if (!r || !att->files || !buf)
		goto out_free;
	rc = plmc_collect(att, r, &n);
	for (i = 0; !rc && i < n; i++)
		rc = plmc_scan_range(att, &r[i], buf, &nx);
	if (!rc)
		rc = plmc_guard_set_xsites(att);
	if (rc == -EPERM)
		pr_info_ratelimited(PLMC_DRV ": pid %d: attach refused: executable memory breaks the rules\n",
				    task_tgid_nr(current));
	else if (!rc && nx)
		pr_info_once(PLMC_DRV ": pid %d: %u XRSTOR in client code, watched\n",
			     task_tgid_nr(current), nx);
out_free:
	kfree(buf);
	kfree(r);
	return rc;
}

/*
 * The pre-handlers read the probed functions' arguments from registers:
 * those signatures were checked on 6.1 only (mprotect_fixup gained a
 * leading argument in 6.5, mmap_region changed in 6.12). Elsewhere the
 * module refuses to load rather than guard with the wrong arguments.
 *
 * Context: module init. Return: 0, or the first registration error.
 */
int plmc_guard_init(void)
{
	int rc;

	if (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)) {
		pr_err(PLMC_DRV ": guard verified on 6.1 only; not loading\n");
		return -EOPNOTSUPP;
	}

	rc = register_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
	if (rc) {
		pr_err(PLMC_DRV ": kprobes: %d\n", rc);
		return rc;
	}
	rc = register_kretprobes(plmc_kretprobes, ARRAY_SIZE(plmc_kretprobes));
	if (rc) {
		pr_err(PLMC_DRV ": kretprobes: %d\n", rc);
		goto err_kprobes;
	}
	rc = plmc_xbp_init();
	if (rc)
		goto err_kretprobes;
	rc = plmc_defer_init();
	if (rc)
		goto err_xbp;
	return 0;

err_xbp:
	plmc_xbp_exit();
err_kretprobes:
	unregister_kretprobes(plmc_kretprobes, ARRAY_SIZE(plmc_kretprobes));
err_kprobes:
	unregister_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
	return rc;
}

void plmc_guard_exit(void)
{
	plmc_defer_exit();
	plmc_xbp_exit();
	unregister_kretprobes(plmc_kretprobes, ARRAY_SIZE(plmc_kretprobes));
	unregister_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
}
