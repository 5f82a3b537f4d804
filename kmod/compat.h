/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel-version difference plmc.ko depends on, in one
 * place. The baseline is Debian 12's 6.1; newer kernels are handled here.
 */
#ifndef PLMC_COMPAT_H
#define PLMC_COMPAT_H

#include <linux/version.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <asm/ptrace.h>
#include <asm/special_insns.h>

/*
 * Clear, then set: @set wins where the two overlap (the pkey bits are
 * both cleared and set). vm_flags became read-only behind helpers in 6.3,
 * and vm_flags_mod() there does the opposite ((flags | set) & ~clear):
 * used directly, it dropped the store's pkey from every mapping.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline void plmc_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vm_flags_clear(vma, clear);
	vm_flags_set(vma, set);
}
#else
static inline void plmc_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags & ~clear) | set;
}
#endif

/*
 * set_dumpable() is not exported. Clearing the MMF_DUMPABLE bits is what
 * set_dumpable(mm, SUID_DUMP_DISABLE) does (atomically, other bits kept).
 * mm->flags turned into a bitmap type in 6.18.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
static inline void plmc_mm_set_undumpable(struct mm_struct *mm)
{
	__mm_flags_set_mask_dumpable(mm, SUID_DUMP_DISABLE);
}
#else
static inline void plmc_mm_set_undumpable(struct mm_struct *mm)
{
	set_mask_bits(&mm->flags, MMF_DUMPABLE_MASK, SUID_DUMP_DISABLE);
}
#endif

/*
 * The kernels whose probed functions exec.c, refuse.c, remote.c,
 * sigframe.c, defer.c and int3.c read were checked: each signature
 * against the headers, each argument register against the disassembly
 * of Debian's image (6.1.0-57,
 * 6.12.117+deb12), every symbol present and out of line there, and the VM
 * suite with its attacks passing. Any other kernel may have moved an
 * argument the guard reads, so the module refuses to load there.
 */
static inline bool plmc_kernel_verified(void)
{
	return (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) &&
		LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)) ||
	       (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) &&
		LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0));
}

/*
 * Arguments of the probed functions, read at their entry (a kprobe at
 * offset 0: every register and the stack as the caller left them).
 * regs_get_kernel_argument() counts from 0; from the 7th on they are on
 * the stack. Unchanged between 6.1 and 6.12, so not wrapped here:
 *   mmap_region(file, addr, len, vm_flags, pgoff, uf)
 *   __access_remote_vm(mm, addr, buf, len, gup_flags) (static in 6.12;
 *	access_remote_vm, access_process_vm and, through access_remote_vm,
 *	ptrace_access_vm all still reach it)
 *   __x64_sys_pkey_free(regs), __ia32_sys_pkey_free(regs)
 *   arch_ptrace(child, request, ...), compat_arch_ptrace(child, ...)
 *   wake_up_new_task(p), get_signal(ksig), fpu__restore_sig(buf, ia32)
 *   exit_mmap(mm), zap_page_range_single(vma, ...), do_madvise(mm, ...)
 * int3.c's trap is a die notifier (DIE_INT3): no argument to place; it
 * reads the thread's FPU state through current->thread.fpu (both).
 */

/*
 * userfaultfd registration. 6.12 registers through the out-of-line
 * userfaultfd_register_range(ctx, vma, vm_flags, start, end, wp_async),
 * mmap_lock held: exec.c refuses there. 6.1 registers inline in
 * userfaultfd_ioctl(); exec.c refuses the fills instead, mcopy_atomic(mm,
 * dst, src, len, ...), mfill_zeropage(mm, dst, len, ...) and
 * mcopy_continue(mm, dst, len, ...), which take the mm first.
 * Unchanged and probed the same way on both: vma_to_resize(addr, old_len,
 * new_len, flags), static but out of line in both images, do_brk_flags()
 * (arguments unused), __anon_vma_prepare(vma).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define PLMC_UFFD_REGISTER_RANGE 1
#endif

/*
 * MADV_DONTNEED zaps through zap_page_range_single(vma, ...) on both; 6.1
 * still has zap_page_range(vma, start, size) for the same (removed in
 * 6.3), probed too. The VMA is the first argument of each.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define PLMC_HAS_ZAP_PAGE_RANGE 1
#endif

/* An exec VMA registered with a userfaultfd (a fill could change it). */
static inline bool plmc_vma_uffd(const struct vm_area_struct *vma)
{
#ifdef CONFIG_USERFAULTFD
	return vma->vm_userfaultfd_ctx.ctx;
#else
	return false;
#endif
}

/* mprotect_fixup() gained a leading vma_iterator in 6.5. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
/* mprotect_fixup(vmi, tlb, vma, pprev, start, end, newflags) */
#define PLMC_MPROTECT_ARG_VMA 2
#define PLMC_MPROTECT_ARG_FLAGS 6
#else
/* mprotect_fixup(tlb, vma, pprev, start, end, newflags) */
#define PLMC_MPROTECT_ARG_VMA 1
#define PLMC_MPROTECT_ARG_FLAGS 5
#endif

static inline struct vm_area_struct *plmc_mprotect_vma(struct pt_regs *regs)
{
	return (struct vm_area_struct *)
		regs_get_kernel_argument(regs, PLMC_MPROTECT_ARG_VMA);
}

static inline unsigned long plmc_mprotect_newflags(struct pt_regs *regs)
{
	return regs_get_kernel_argument(regs, PLMC_MPROTECT_ARG_FLAGS);
}

/*
 * The PKRU of the interrupted user code, at the entry of
 * copy_fpstate_to_sigframe(). Up to 6.11 it is still the live register.
 * From 6.12 get_sigframe() first writes PKRU = 0 (every key open, so an
 * alternate signal stack under any key can be written) and passes the
 * interrupted value as a 4th argument, which update_pkru_in_sigframe()
 * stores in the frame: the live register says nothing any more.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
/* copy_fpstate_to_sigframe(buf, buf_fx, size, pkru) */
static inline u32 plmc_sigframe_user_pkru(struct pt_regs *regs)
{
	return (u32)regs_get_kernel_argument(regs, 3);
}
#else
/* copy_fpstate_to_sigframe(buf, buf_fx, size) */
static inline u32 plmc_sigframe_user_pkru(struct pt_regs *regs)
{
	return rdpkru();
}
#endif

/*
 * Is @t running user code on a CPU whose time is kept by vtime (a
 * nohz_full CPU, where a task alone in user mode gets no tick, so its
 * saved registers and its utime say nothing until it enters the kernel)?
 * A config difference, not a version one: Debian builds with
 * CONFIG_VIRT_CPU_ACCOUNTING_GEN, active only on nohz_full= CPUs.
 */
#ifdef CONFIG_VIRT_CPU_ACCOUNTING_GEN
static inline bool plmc_task_vtime_user(struct task_struct *t)
{
	return READ_ONCE(t->vtime.state) == VTIME_USER;
}
#else
static inline bool plmc_task_vtime_user(struct task_struct *t)
{
	return false;
}
#endif

#endif /* PLMC_COMPAT_H */
