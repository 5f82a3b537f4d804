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
#include <linux/sched/coredump.h>

/* vm_flags became read-only behind helpers in 6.3. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline void plmc_vm_flags_mod(struct vm_area_struct *vma,
				     unsigned long set, unsigned long clear)
{
	vm_flags_mod(vma, set, clear);
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

#endif /* PLMC_COMPAT_H */
