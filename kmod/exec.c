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
 *            WRPKRU bytes (0F 01 EF) anywhere in it, across page edges and
 *            the seams of adjacent VMAs. The files behind them are held
 *            write-denied (deny_write_access) for the attachment's life,
 *            so their page cache cannot change under the mapping.
 *   mmap     a new executable mapping is refused (-EACCES) unless it is
 *            the module's own image or a file passing the rules below,
 *            scanned when mapped (kprobe on mmap_region; the scan itself
 *            runs from mmap(2), see "Late code" below).
 *   mprotect gaining exec, or W+X, is refused (-EACCES; kprobe on
 *            mprotect_fixup, which mprotect and pkey_mprotect both reach).
 *
 * The invariant: after attach, every executable byte of the mm was
 * scanned and cannot change. Each way bytes come into executable memory
 * or change there is closed as a class, whatever the syscall:
 *
 *   page cache  of a file behind an exec VMA: a regular, linked file on a
 *               filesystem whose page cache only the kernel fills
 *               (plmc_fs_owned()), held write-denied, so no fd, link,
 *               truncate, fallocate or O_DIRECT can change it, and a
 *               page dropped (MADV_DONTNEED, reclaim) comes back the same.
 *               An exec VMA with private copies of file pages (anon_vma:
 *               it was written once) is refused at attach (dropping a copy
 *               would show the file's bytes, which nobody scanned), unless
 *               the copies may be the module's own int3s (int3.c: the mm
 *               carries them); the scan then reads the copies as they are,
 *               and no copy can be dropped (discards, below).
 *   anonymous   pages: none may be added to a file-backed exec VMA
 *               after attach (kprobe on __anon_vma_prepare, the first step
 *               of every anonymous page a VMA gets: COW, userfaultfd copy,
 *               forced writes); userfaultfd may not register an exec VMA
 *               (6.12: userfaultfd_register_range) nor fill one (6.1: the
 *               fills), and attach refuses an exec VMA already registered.
 *   addresses   an exec VMA cannot move or grow (kprobe on
 *               vma_to_resize, which every mremap that moves, grows,
 *               duplicates or MREMAP_DONTUNMAPs goes through): a grown
 *               VMA would show file bytes past the scanned end, a moved
 *               one would carry an XRSTOR away from its breakpoint.
 *               brk never makes executable memory (READ_IMPLIES_EXEC
 *               would make the heap RWX: kprobe on do_brk_flags), nor
 *               does arch_prctl(ARCH_MAP_VDSO_*) (map_vdso_once).
 *   discards    of anonymous pages in exec memory are refused: an
 *               anonymous exec page present since attach would read back
 *               as zeros, and a private copy in a file exec VMA (the
 *               module's int3 over an XRSTOR or WRPKRU) would show the
 *               file's bytes again. madvise answers EPERM (do_madvise);
 *               under mmap_lock, the zap itself skips such a VMA
 *               (zap_page_range[_single]), whatever got past the answer.
 *   seams       an instruction may straddle two adjacent exec VMAs: the
 *               attach scan carries bytes across them, and late code is
 *               refused next to executable memory.
 *
 * XRSTOR is not refused at attach: static glibc carries two (the lazy
 * binding trampolines kept for static dlopen), so refusing it would refuse
 * every ordinary program. Nor is a WRPKRU in file text: Debian's dynamic
 * libc carries one in pkey_set(). Each one found gets an int3 over its
 * first opcode byte and is emulated when reached (int3.c); a WRPKRU in
 * anonymous exec memory is refused.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/magic.h>
#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/personality.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <plmc/image.h>
#include "plmc_kmod.h"
#include "compat.h"

/*
 * Late code (dlopen after attach). A new executable mapping is let
 * through when it maps a regular, linked file on a filesystem of
 * plmc_fs_owned(), opened for reading, not O_DIRECT, not open for writing
 * anywhere, whose mapped bytes hold no WRPKRU and no XRSTOR (late code is
 * not patched: one is refused). The file is write-denied before
 * it is read and stays so while the mm is guarded, so the bytes scanned
 * are the bytes mapped, from then on.
 *
 * Reading the file sleeps (page cache misses), and neither a kprobe
 * handler nor mmap_region (mmap_lock held for writing) may. So the scan
 * runs in process context before the lock is taken: a kprobe on
 * __x64_sys_mmap, for a guarded mm and PROT_EXEC, points regs->ip at
 * plmc_sys_mmap_exec(), which takes the syscall's place (same argument,
 * the user's pt_regs): it checks and scans, records a grant for this
 * task, this inode and this file range, maps through vm_mmap() (what the
 * syscall would have reached) and drops the grant. The mmap_region kprobe
 * lets an exec mapping through only under a grant that covers it, so any
 * other way to an exec mapping (int $0x80 mmap, remap_file_pages, shmat)
 * stays refused.
 */
#define PLMC_GRANTS 16
#define PLMC_HELD_MAX 256 /* late files held per mm */

struct plmc_grant {
	struct task_struct *task; /* identity only; NULL: free */
	struct inode *inode;
	unsigned long pgoff, npages;
};

static struct plmc_grant plmc_grants[PLMC_GRANTS]; /* plmc_grant_lock */
static DEFINE_SPINLOCK(plmc_grant_lock);

/* Late files, write-denied while their mm is guarded (plmc_held_lock). */
struct plmc_held {
	struct list_head node;
	struct mm_struct *mm; /* identity only */
	struct file *file;
};

static LIST_HEAD(plmc_helds);
static DEFINE_MUTEX(plmc_held_lock);

/*
 * PLMC_XMEM_OFF (KCFLAGS=-DPLMC_XMEM_OFF, test builds only, see
 * docs/testing.md) leaves out the defences of the invariant above and the
 * late-code scan, to show that each attack of tests/attacks/atk_xmem.c
 * and atk_dlopen.c gets through without them.
 */
#ifdef PLMC_XMEM_OFF
#define PLMC_XMEM 0
#else
#define PLMC_XMEM 1
#endif

/* Let this task map @npages of @inode from @pgoff exec. NULL: table full. */
static struct plmc_grant *plmc_grant_set(struct inode *inode,
					 unsigned long pgoff,
					 unsigned long npages)
{
	struct plmc_grant *g = NULL;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&plmc_grant_lock, flags);
	for (i = 0; i < PLMC_GRANTS && !g; i++)
		if (!plmc_grants[i].task) {
			g = &plmc_grants[i];
			g->task = current;
			g->inode = inode;
			g->pgoff = pgoff;
			g->npages = npages;
		}
	spin_unlock_irqrestore(&plmc_grant_lock, flags);
	return g;
}

static void plmc_grant_clear(struct plmc_grant *g)
{
	unsigned long flags;

	spin_lock_irqsave(&plmc_grant_lock, flags);
	g->task = NULL;
	g->inode = NULL;
	spin_unlock_irqrestore(&plmc_grant_lock, flags);
}

/* Does a grant of this task cover [pgoff, pgoff + len) of @inode? */
static bool plmc_grant_covers(struct inode *inode, unsigned long pgoff,
			      unsigned long len)
{
	unsigned long flags, n = PAGE_ALIGN(len) >> PAGE_SHIFT;
	bool ok = false;
	int i;

	spin_lock_irqsave(&plmc_grant_lock, flags);
	for (i = 0; i < PLMC_GRANTS && !ok; i++) {
		const struct plmc_grant *g = &plmc_grants[i];

		ok = g->task == current && g->inode == inode &&
		     pgoff >= g->pgoff && n <= g->npages &&
		     pgoff - g->pgoff <= g->npages - n;
	}
	spin_unlock_irqrestore(&plmc_grant_lock, flags);
	return ok;
}

static void plmc_held_free(struct plmc_held *h)
{
	list_del(&h->node);
	allow_write_access(h->file);
	fput(h->file);
	kfree(h);
}

/*
 * Keep @file (write-denied, referenced: both passed to us) denied while
 * @mm is guarded. One entry per inode and mm. Return: 0, or -EACCES when
 * the mm holds PLMC_HELD_MAX already (the file is let go).
 */
static int plmc_held_add(struct mm_struct *mm, struct file *file)
{
	struct plmc_held *h, *n = kmalloc(sizeof(*n), GFP_KERNEL);
	unsigned int count = 0;
	int rc = 0;

	mutex_lock(&plmc_held_lock);
	list_for_each_entry(h, &plmc_helds, node) {
		if (h->mm != mm)
			continue;
		count++;
		if (file_inode(h->file) == file_inode(file))
			goto drop; /* already held: the deny stays */
	}
	rc = -EACCES;
	if (!n || count >= PLMC_HELD_MAX)
		goto drop;
	n->mm = mm;
	n->file = file;
	list_add(&n->node, &plmc_helds);
	/* A detach between the caller's check and here released the mm's
	 * files already (plmc_held_release()): ours must not stay. */
	if (!plmc_guard_mask(mm))
		plmc_held_free(n);
	mutex_unlock(&plmc_held_lock);
	return 0;
drop:
	mutex_unlock(&plmc_held_lock);
	kfree(n);
	allow_write_access(file);
	fput(file);
	return rc;
}

/* The last attachment of @mm is gone: let its late files be written. */
static void plmc_held_release(struct mm_struct *mm)
{
	struct plmc_held *h, *t;

	mutex_lock(&plmc_held_lock);
	list_for_each_entry_safe(h, t, &plmc_helds, node)
		if (h->mm == mm)
			plmc_held_free(h);
	mutex_unlock(&plmc_held_lock);
}

/*
 * Is [addr, addr + len) next to executable memory? Late code was scanned
 * on its own: an instruction straddling its edge and a neighbour's (the
 * 0F 01 of a WRPKRU at one's end, the EF at the other's start) was not.
 * mmap_lock held.
 */
static bool plmc_exec_neighbour(struct mm_struct *mm, unsigned long addr,
				unsigned long len)
{
	struct vm_area_struct *v;

	if (!PLMC_XMEM)
		return false;
	v = addr ? vma_lookup(mm, addr - 1) : NULL;
	if (v && (v->vm_flags & VM_EXEC))
		return true;
	v = vma_lookup(mm, addr + len);
	return v && (v->vm_flags & VM_EXEC);
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
	if (file && plmc_grant_covers(file_inode(file), regs->r8, regs->dx) &&
	    !plmc_exec_neighbour(current->mm, regs->si, regs->dx))
		return 0; /* scanned by plmc_sys_mmap_exec() */
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

/* vma_to_resize(addr, old_len, new_len, flags): mmap_lock held (write). */
static int plmc_pre_vma_to_resize(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	if (!plmc_guard_mask(mm))
		return 0;
	vma = vma_lookup(mm, regs->di);
	if (!vma || !(vma->vm_flags & VM_EXEC))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: mremap of executable memory refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm); /* ERR_PTR(-EPERM) */
}

/*
 * do_brk_flags(): the heap gets VM_DATA_DEFAULT_FLAGS, which on x86 add
 * VM_EXEC under READ_IMPLIES_EXEC (personality(2), any user): an RWX heap.
 */
static int plmc_pre_do_brk_flags(struct kprobe *p, struct pt_regs *regs)
{
	if (!(current->personality & READ_IMPLIES_EXEC) ||
	    !plmc_guard_mask(current->mm))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: executable brk refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

/*
 * __anon_vma_prepare(vma): a VMA's first anonymous page is on its way.
 * Refused for a file-backed exec VMA (none has one but the module's own
 * copies: attach refuses others, late code starts without), except for
 * int3.c's patch (the task writing it, plmc_int3_patching()). Not for an anonymous exec VMA: its pages
 * were all faulted in by the attach scan, and nothing can replace them
 * (userfaultfd and discards are refused, it is never writable); a read
 * fault there may still ask (a huge zero page), and must not fail.
 */
static int plmc_pre_anon_vma_prepare(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)regs->di;

	if (!(vma->vm_flags & VM_EXEC) || !vma->vm_file ||
	    !plmc_guard_mask(vma->vm_mm) || plmc_int3_patching())
		return 0; /* int3.c's copy of a page it patches */
	pr_info_ratelimited(PLMC_DRV ": pid %d: anonymous page in executable memory refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_enomem);
}

/*
 * Does [start, end) of @mm hold executable memory (@anon: anonymous
 * executable memory only)? mmap_lock held.
 */
static bool plmc_range_exec(struct mm_struct *mm, unsigned long start,
			    unsigned long end, bool anon)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, start);

	for_each_vma_range(vmi, vma, end)
		if ((vma->vm_flags & VM_EXEC) && (!anon || !vma->vm_file))
			return true;
	return false;
}

/* Advice that drops pages: an anonymous one reads back as zeros. */
static bool plmc_madv_discards(int behavior)
{
	return behavior == MADV_DONTNEED || behavior == MADV_DONTNEED_LOCKED ||
	       behavior == MADV_FREE;
}

/*
 * do_madvise(mm, start, len, behavior), for madvise(2) and process_madvise
 * (whose advice never discards). A dropped file page comes back from the
 * write-denied page cache, the same; a dropped anonymous exec page would
 * come back as zeros, and a dropped int3 copy (int3.c) as the file's
 * XRSTOR or WRPKRU. The pages of int3.c's sites are answered from its
 * record, without a lock. Anonymous exec VMAs exist only from before
 * attach (none can be made after), so only an mm that had one is walked,
 * under a trylock (mmap_lock is not held yet and a kprobe cannot sleep;
 * -EAGAIN when it is taken). Both are the answer only: the zap probe
 * below is what holds, under mmap_lock.
 */
static int plmc_pre_do_madvise(struct kprobe *p, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;
	unsigned long start = regs->si, len = PAGE_ALIGN(regs->dx);
	bool exec;

	if (!plmc_madv_discards((int)regs->cx) || !plmc_guard_mask(mm) ||
	    start + len <= start)
		return 0;
	exec = plmc_int3_in(mm, start, start + len);
	if (!exec && plmc_guard_anon_exec(mm)) {
		if (!mmap_read_trylock(mm))
			return plmc_refuse(regs, plmc_ret_eagain);
		exec = plmc_range_exec(mm, start, start + len, true);
		mmap_read_unlock(mm);
	}
	if (!exec)
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: discard of executable memory refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

/*
 * zap_page_range_single(vma, start, size, details) (6.1 also:
 * zap_page_range(vma, start, size)), mmap_lock held: where MADV_DONTNEED
 * drops pages. Skipped (nothing dropped) for an exec VMA of a guarded mm
 * that is anonymous or holds private copies: a discard checked before
 * int3.c made its copy cannot drop it later, since int3.c drains
 * mmap_lock after patching. The other callers never reach such a VMA
 * (binder's and TCP's own mappings; truncation needs the file writable).
 */
static int plmc_pre_zap(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)regs->di;

	if (!(vma->vm_flags & VM_EXEC) || (vma->vm_file && !vma->anon_vma) ||
	    !plmc_guard_mask(vma->vm_mm))
		return 0;
	return plmc_refuse(regs, plmc_ret_zero);
}

/* map_vdso_once(image, addr): arch_prctl(ARCH_MAP_VDSO_*) maps a vDSO. */
static int plmc_pre_map_vdso(struct kprobe *p, struct pt_regs *regs)
{
	if (!plmc_guard_mask(current->mm))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: new vDSO mapping refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

#ifdef PLMC_UFFD_REGISTER_RANGE
/* userfaultfd_register_range(ctx, vma, vm_flags, start, end, wp_async),
 * mmap_lock held (write). */
static int plmc_pre_uffd_register(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (struct vm_area_struct *)regs->si;
	struct mm_struct *mm = vma->vm_mm;

	if (!plmc_guard_mask(mm) || !plmc_range_exec(mm, regs->cx, regs->r8, false))
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: userfaultfd on executable memory refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

static struct kprobe plmc_kp_uffd[] __maybe_unused = {
	{ .symbol_name = "userfaultfd_register_range",
	  .pre_handler = plmc_pre_uffd_register },
};
#else
/*
 * mcopy_atomic(dst_mm, dst_start, src_start, len, ...), mfill_zeropage and
 * mcopy_continue(dst_mm, dst_start, len, ...): registration is inline in
 * 6.1's userfaultfd_ioctl, so the fills are refused instead. mmap_lock is
 * not held yet and a kprobe cannot sleep: a trylock, and -EAGAIN (the
 * error userfaultfd callers already retry) when it is taken. Between the
 * check and the fill no exec VMA can appear that a fill could reach: a
 * new one is a file mapping without anon_vma, which the
 * __anon_vma_prepare refusal keeps free of anonymous pages.
 */
static int plmc_uffd_fill_check(struct pt_regs *regs, unsigned long len)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;
	unsigned long start = regs->si;
	bool exec;

	if (!plmc_guard_mask(mm))
		return 0;
	if (!mmap_read_trylock(mm))
		return plmc_refuse(regs, plmc_ret_eagain);
	exec = start + len > start &&
	       plmc_range_exec(mm, start, start + len, false);
	mmap_read_unlock(mm);
	if (!exec)
		return 0;
	pr_info_ratelimited(PLMC_DRV ": pid %d: userfaultfd fill of executable memory refused\n",
			    task_tgid_nr(current));
	return plmc_refuse(regs, plmc_ret_eperm);
}

static int plmc_pre_mcopy_atomic(struct kprobe *p, struct pt_regs *regs)
{
	return plmc_uffd_fill_check(regs, regs->cx);
}

static int plmc_pre_mfill_len3(struct kprobe *p, struct pt_regs *regs)
{
	return plmc_uffd_fill_check(regs, regs->dx);
}

static struct kprobe plmc_kp_uffd[] __maybe_unused = {
	{ .symbol_name = "mcopy_atomic", .pre_handler = plmc_pre_mcopy_atomic },
	{ .symbol_name = "mfill_zeropage", .pre_handler = plmc_pre_mfill_len3 },
	{ .symbol_name = "mcopy_continue", .pre_handler = plmc_pre_mfill_len3 },
};
#endif

/*
 * The scan at attach. Executable VMAs are listed under mmap_lock, then
 * read with copy_from_user without it (a fault would take it again). The
 * guard is already up, so no new executable code can appear meanwhile.
 */
#define PLMC_SCAN_MAX 256

struct plmc_xrange {
	unsigned long start, end;
	bool file; /* file-backed: a WRPKRU there may be watched */
};

/* Return: 0, or -EPERM with the reason logged. */
/*
 * Filesystems whose page cache only the kernel fills, from memory it owns
 * or a block device: once no one can write the file, its pages read the
 * same whenever they are dropped and read again. Left out: FUSE (its
 * server answers every read and can store into the cache), NFS, CIFS, 9p,
 * Ceph (a server changes the file under the client), overlayfs (a mapping
 * of it holds the real file below, which is what gets checked), hugetlbfs,
 * and anything else not named here. Writing the block device itself needs
 * root (SECURITY.md).
 */
static bool plmc_fs_owned(const struct inode *inode)
{
	switch (inode->i_sb->s_magic) {
	case EXT4_SUPER_MAGIC: /* ext2, ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case SQUASHFS_MAGIC:
	case EROFS_SUPER_MAGIC_V1:
	case ISOFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
		return true;
	default:
		return false;
	}
}

static int plmc_scan_vma(struct vm_area_struct *vma)
{
	struct inode *inode;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM; /* W+X */
	if (PLMC_XMEM && plmc_vma_uffd(vma))
		return -EPERM; /* a userfaultfd could fill it */
	if (!vma->vm_file)
		return 0; /* anonymous (scanned now, no page added later), vdso */
	if (PLMC_XMEM && vma->anon_vma && !plmc_int3_has(vma->vm_mm))
		return -EPERM; /* private copies hide the file's own bytes */
	inode = file_inode(vma->vm_file);
	if (PLMC_XMEM && (!S_ISREG(inode->i_mode) || !plmc_fs_owned(inode)))
		return -EPERM; /* device, FUSE, NFS ...: not the kernel's bytes */
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
	if (att->mm && !plmc_guard_mask(att->mm))
		plmc_held_release(att->mm);
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
		if (!vma->vm_file)
			att->anon_exec = true; /* madvise discards checked */
		r[*n].start = vma->vm_start;
		r[*n].end = vma->vm_end;
		r[*n].file = !!vma->vm_file;
		(*n)++;
	}
	mmap_read_unlock(mm);
	return rc;
}

/*
 * Prefixes that may belong to the same XRSTOR or WRPKRU: REX, segment
 * overrides and address size. LOCK, 66, F2 and F3 make both #UD, so they
 * cannot.
 */
static bool plmc_is_prefix(u8 b)
{
	return (b >= 0x40 && b <= 0x4f) || b == 0x26 || b == 0x2e ||
	       b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || b == 0x67;
}

/* The XRSTOR and WRPKRU sites one scan found. */
struct plmc_sites {
	struct plmc_site *s; /* PLMC_SITES_MAX of them */
	unsigned int n;
};

/*
 * An XRSTOR or WRPKRU whose opcode is at @buf[@i] (user address @at):
 * record it for int3.c, with the prefix bytes just before it (taken as
 * its own: an int3 on the opcode stops every start, prefixed or not) and
 * its bytes from @at (up to PLMC_SITE_BYTES; fewer where they end in
 * unreadable memory). Return: 0, or -EPERM past PLMC_SITES_MAX.
 */
static int plmc_add_site(struct plmc_sites *st, const u8 *buf, size_t i,
			 unsigned long at)
{
	u8 b[PLMC_SITE_BYTES];
	size_t k = 0, nb;

	if (st->n >= PLMC_SITES_MAX)
		return -EPERM;
	while (k < i && k < 14 && plmc_is_prefix(buf[i - k - 1]))
		k++;
	for (nb = sizeof(b); nb > 3; nb--)
		if (!copy_from_user(b, (const void __user *)at, nb))
			break;
	memcpy(b, buf + i, 3); /* the three the scan matched */
	plmc_site_fill(&st->s[st->n++], at, buf + i - k, k, b, nb);
	return 0;
}

/*
 * Bytes carried from one page to the next, and from a range to the next
 * when they touch: an instruction may straddle a page or two adjacent
 * VMAs, and an XRSTOR may have up to 14 prefix bytes (15 bytes at most
 * in all), each of which could start it.
 */
#define PLMC_CARRY 14

struct plmc_carry {
	unsigned long end; /* the address just after the bytes carried */
	size_t n;	   /* how many, at the start of the scan buffer */
};

/*
 * A WRPKRU is patched like an XRSTOR only in file text, starting in this
 * range: Debian's dynamic libc carries one (pkey_set), so refusing it
 * would refuse every dynamically linked program. Anonymous exec memory
 * has no such excuse, and one across a seam is refused too.
 *
 * Return: 0, -EPERM (a WRPKRU refused, too many sites, or unreadable).
 */
static int plmc_scan_range(struct plmc_sites *st, const struct plmc_xrange *r,
			   u8 *buf, struct plmc_carry *c)
{
	unsigned long a, len;
	size_t i, keep;

	for (a = r->start; a < r->end; a += len) {
		len = min_t(unsigned long, PAGE_SIZE, r->end - a);
		/* Not adjacent: nothing before @a runs into it. */
		if (a != c->end || (!PLMC_XMEM && a == r->start))
			c->n = 0;
		if (copy_from_user(buf + c->n, (const void __user *)a, len))
			return -EPERM; /* execute-only or gone: refuse */
		/* Every 3-byte window ending in the new bytes, once. */
		for (i = c->n >= 2 ? c->n - 2 : 0; i + 3 <= c->n + len; i++) {
			if (plmc_image_is_wrpkru(buf + i) &&
			    (!r->file || a - c->n + i < r->start))
				return -EPERM;
			if (!plmc_image_is_xrstor(buf + i) &&
			    !plmc_image_is_wrpkru(buf + i))
				continue;
			if (plmc_add_site(st, buf, i, a - c->n + i))
				return -EPERM;
		}
		keep = min_t(size_t, PLMC_CARRY, c->n + len);
		memmove(buf, buf + c->n + len - keep, keep);
		c->n = keep;
		c->end = a + len;
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
	struct plmc_carry carry = { .end = 0, .n = 0 };
	struct plmc_sites st = { .n = 0 };
	struct plmc_xrange *r;
	int n = 0, i, rc;
	u8 *buf;

	r = kcalloc(PLMC_SCAN_MAX, sizeof(*r), GFP_KERNEL);
	att->files = kcalloc(PLMC_SCAN_MAX, sizeof(*att->files), GFP_KERNEL);
	st.s = kcalloc(PLMC_SITES_MAX, sizeof(*st.s), GFP_KERNEL);
	buf = kmalloc(PAGE_SIZE + PLMC_CARRY, GFP_KERNEL);
	rc = -ENOMEM;
	if (!r || !att->files || !st.s || !buf)
		goto out_free;
	rc = plmc_collect(att, r, &n);
	for (i = 0; !rc && i < n; i++)
		rc = plmc_scan_range(&st, &r[i], buf, &carry);
	if (!rc)
		rc = plmc_int3_patch(st.s, st.n);
	plmc_guard_scanned(att);
	if (rc == -EPERM)
		pr_info_ratelimited(PLMC_DRV ": pid %d: attach refused: executable memory breaks the rules\n",
				    task_tgid_nr(current));
	else if (!rc && st.n)
		pr_info_once(PLMC_DRV ": pid %d: %u XRSTOR or WRPKRU in client code, patched with int3\n",
			     task_tgid_nr(current), st.n);
out_free:
	kfree(buf);
	kfree(st.s);
	kfree(r);
	return rc;
}

/*
 * Scan @len bytes of @file from @off for WRPKRU and XRSTOR, through the
 * page cache (kernel_read), two bytes carried across reads. Return: 0,
 * -EACCES (found), -EINTR, -EIO.
 */
static int plmc_scan_file(struct file *file, loff_t off, unsigned long len)
{
	loff_t end = min_t(loff_t, off + (loff_t)len, i_size_read(file_inode(file)));
	u8 *buf = kmalloc(PAGE_SIZE + 2, GFP_KERNEL);
	int rc = 0;
	ssize_t n;
	size_t i;

	if (!PLMC_XMEM) { /* test build: no scan */
		kfree(buf);
		return 0;
	}
	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	buf[1] = 0;
	while (!rc && off < end) {
		n = kernel_read(file, buf + 2, min_t(loff_t, PAGE_SIZE, end - off),
				&off);
		if (n <= 0) {
			rc = n ? (int)n : 0;
			break;
		}
		for (i = 0; i + 3 <= (size_t)n + 2; i++)
			if (plmc_image_is_wrpkru(buf + i) ||
			    plmc_image_is_xrstor(buf + i))
				rc = -EACCES;
		buf[0] = buf[n];
		buf[1] = buf[n + 1];
		if (fatal_signal_pending(current))
			rc = -EINTR;
		cond_resched();
	}
	kfree(buf);
	return rc;
}

/*
 * Check @file for a late exec mapping of [off, off + len), deny writes to
 * it, scan it. Return: 0 with the file held for the mm's guarded life, or
 * the error (nothing held).
 */
static int plmc_late_file(struct file *file, unsigned long off,
			  unsigned long len)
{
	struct inode *inode = file_inode(file);
	int rc;

	if (!(file->f_mode & FMODE_READ) || (file->f_flags & O_DIRECT) ||
	    !S_ISREG(inode->i_mode) || !plmc_fs_owned(inode) ||
	    !inode->i_nlink)
		return -EACCES;
	if (deny_write_access(file))
		return -EACCES; /* open for writing somewhere */
	get_file(file);
	rc = plmc_scan_file(file, off, len);
	if (rc) {
		allow_write_access(file);
		fput(file);
		return rc;
	}
	return plmc_held_add(current->mm, file);
}

/*
 * In place of __x64_sys_mmap for PROT_EXEC in a guarded mm (see "Late
 * code" above). @u: the user's registers, addr, len, prot, flags, fd and
 * off in di, si, dx, r10, r8, r9, as the syscall reads them.
 * Context: process context, no locks held (the syscall's own entry).
 */
static long plmc_sys_mmap_exec(const struct pt_regs *u)
{
	unsigned long addr = u->di, len = u->si, prot = u->dx;
	unsigned long flags = u->r10, off = u->r9;
	struct plmc_grant *g;
	struct file *file;
	long rc;

	if (off & ~PAGE_MASK)
		return -EINVAL;
	if ((flags & (MAP_ANONYMOUS | MAP_HUGETLB)) || (prot & PROT_WRITE))
		return -EACCES; /* anonymous, W+X: never */
	file = fget((unsigned int)u->r8);
	if (!file)
		return -EBADF;
	if (plmc_is_plmc_file(file)) { /* the image: plmc_mmap checks it */
		rc = vm_mmap(file, addr, len, prot, flags, off);
		goto out;
	}
	rc = -EINVAL;
	if (!len || off + PAGE_ALIGN(len) < off)
		goto out;
	/* Whole pages: the mapping shows every byte of its last page, not
	 * just the first len, and each of them can run. */
	rc = plmc_late_file(file, off, PAGE_ALIGN(len));
	if (rc) {
		pr_info_ratelimited(PLMC_DRV ": pid %d: late executable mapping refused (%ld)\n",
				    task_tgid_nr(current), rc);
		goto out;
	}
	rc = -EAGAIN;
	g = plmc_grant_set(file_inode(file), off >> PAGE_SHIFT,
			   PAGE_ALIGN(len) >> PAGE_SHIFT);
	if (!g)
		goto out;
	rc = vm_mmap(file, addr, len, prot, flags, off);
	plmc_grant_clear(g);
out:
	fput(file);
	return rc;
}

/* __x64_sys_mmap(regs): the user's prot is in regs->dx. */
static int plmc_pre_sys_mmap(struct kprobe *p, struct pt_regs *regs)
{
	const struct pt_regs *u = (const struct pt_regs *)regs->di;

	if (!(u->dx & PROT_EXEC) || !plmc_guard_mask(current->mm))
		return 0;
	regs->ip = (unsigned long)plmc_sys_mmap_exec;
	return 1; /* ip changed: the replacement runs, then returns to the
		   * syscall's caller with its value */
}

static struct kprobe plmc_kp_sys_mmap = {
	.symbol_name = "__x64_sys_mmap",
	.pre_handler = plmc_pre_sys_mmap,
};

static struct kprobe plmc_kp_mmap = {
	.symbol_name = "mmap_region",
	.pre_handler = plmc_pre_mmap_region,
};

static struct kprobe plmc_kp_mprotect = {
	.symbol_name = "mprotect_fixup",
	.pre_handler = plmc_pre_mprotect_fixup,
};

static struct kprobe plmc_kp_resize __maybe_unused = {
	.symbol_name = "vma_to_resize",
	.pre_handler = plmc_pre_vma_to_resize,
};

static struct kprobe plmc_kp_brk __maybe_unused = {
	.symbol_name = "do_brk_flags",
	.pre_handler = plmc_pre_do_brk_flags,
};

static struct kprobe plmc_kp_anon __maybe_unused = {
	.symbol_name = "__anon_vma_prepare",
	.pre_handler = plmc_pre_anon_vma_prepare,
};

static struct kprobe plmc_kp_madvise __maybe_unused = {
	.symbol_name = "do_madvise",
	.pre_handler = plmc_pre_do_madvise,
};

static struct kprobe plmc_kp_zap[] __maybe_unused = {
	{ .symbol_name = "zap_page_range_single", .pre_handler = plmc_pre_zap },
#ifdef PLMC_HAS_ZAP_PAGE_RANGE
	{ .symbol_name = "zap_page_range", .pre_handler = plmc_pre_zap },
#endif
};

static struct kprobe plmc_kp_vdso __maybe_unused = {
	.symbol_name = "map_vdso_once",
	.pre_handler = plmc_pre_map_vdso,
};

static struct kprobe *plmc_kprobes[] = {
	&plmc_kp_mmap,
	&plmc_kp_mprotect,
	&plmc_kp_sys_mmap,
#if PLMC_XMEM
	&plmc_kp_resize,
	&plmc_kp_brk,
	&plmc_kp_anon,
	&plmc_kp_madvise,
	&plmc_kp_zap[0],
#ifdef PLMC_HAS_ZAP_PAGE_RANGE
	&plmc_kp_zap[1],
#endif
	&plmc_kp_vdso,
	&plmc_kp_uffd[0],
#ifndef PLMC_UFFD_REGISTER_RANGE
	&plmc_kp_uffd[1],
	&plmc_kp_uffd[2],
#endif
#endif
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
