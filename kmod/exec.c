// SPDX-License-Identifier: GPL-2.0
/*
 * exec.c - the executable memory of an attached process.
 *
 * PKU protects the store only while the process cannot run a WRPKRU (or an
 * XRSTOR) of its own choosing with a PKRU that opens the store key. So,
 * from attach until the attachment dies:
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
 *
 * XRSTOR is not refused at attach: static glibc carries two (the lazy
 * binding trampolines kept for static dlopen), so refusing it would refuse
 * every ordinary program. Each one found is watched instead (xrstor.c).
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <plmc/image.h>
#include "plmc_kmod.h"
#include "compat.h"

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

/* mprotect_fixup(): the arguments move between kernels (compat.h). */
static int plmc_pre_mprotect_fixup(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = plmc_mprotect_vma(regs);
	unsigned long newflags = plmc_mprotect_newflags(regs);

	if (!(newflags & VM_EXEC) || !plmc_guard_mask(current->mm))
		return 0;
	if (!(newflags & VM_WRITE) && (vma->vm_flags & VM_EXEC))
		return 0; /* stays executable, never writable */
	pr_info_ratelimited(PLMC_DRV ": pid %d: mprotect to exec refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eacces);
}

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

static struct kprobe plmc_kp_mmap = {
	.symbol_name = "mmap_region",
	.pre_handler = plmc_pre_mmap_region,
};

static struct kprobe plmc_kp_mprotect = {
	.symbol_name = "mprotect_fixup",
	.pre_handler = plmc_pre_mprotect_fixup,
};

static struct kprobe *plmc_kprobes[] = {
	&plmc_kp_mmap,
	&plmc_kp_mprotect,
};

/* Context: module init. Return: 0 or the registration error. */
int plmc_exec_init(void)
{
	int rc;

	rc = register_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
	if (rc)
		pr_err(PLMC_DRV ": kprobes (exec): %d\n", rc);
	return rc;
}

void plmc_exec_exit(void)
{
	unregister_kprobes(plmc_kprobes, ARRAY_SIZE(plmc_kprobes));
}
