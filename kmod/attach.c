// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - attachments, the three fixed mappings, and death.
 *
 * An attachment binds one segment to one fd for the process that called
 * PLMC_IOC_ATTACH (its mm, recorded and pinned with mmgrab). Only that mm
 * may map, each region exactly once, at its fixed address and length:
 *
 *   image  R-X  shared, store pkey   the checked copy, never writable
 *   ppage  R--  this attachment's    pkey 0: the gate reads it untrusted
 *   data   RW-  shared, store pkey   stacks + store, never executable
 *
 * The mappings are raw PFN maps (VM_IO | VM_PFNMAP): no struct-page path
 * (/proc/pid/mem, process_vm_*, ptrace, GUP, O_DIRECT) reaches them.
 * VM_DONTCOPY keeps them out of fork children, VM_DONTDUMP out of cores.
 * vm_ops refuse mprotect, pkey_mprotect, mremap and splits (so partial
 * munmap); a whole munmap cannot be refused and counts as a detach.
 *
 * Death: an attachment dies exactly once (att->dead, under att->lock),
 * whichever comes first:
 *   - any of its mappings goes away (munmap, MAP_FIXED over it, exit or
 *     SIGKILL: vm_close runs in the dying task); its other mappings are
 *     zapped at once, and a region is never mapped twice, so the
 *     attachment can never be used again;
 *   - the fd's last reference dropped (release; any process, any time:
 *     nothing here looks at current).
 * Dying marks the attachment's slots dead in the store (segment.c).
 *
 * The data region maps only while the attachment's ppage is mapped: the
 * gate trusts the ppage at its fixed address, so the store must never be
 * reachable with anything else there.
 */
#include <linux/bitops.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/pkeys.h> /* after mm.h: asm/pkeys.h needs it */
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "compat.h"
#include "plmc_kmod.h"

struct plmc_region {
	unsigned int bit;
	u64 off;	    /* from PLMC_BASE; also the mmap offset */
	unsigned long deny; /* VM_* the caller may not ask for */
	unsigned long drop; /* VM_MAY* removed so it cannot come later */
	bool pkey;	    /* tagged with the store's key */
};

static const struct plmc_region plmc_regions[] = {
	{PLMC_R_IMAGE, PLMC_IMAGE_OFF, VM_WRITE, VM_MAYWRITE, true},
	{PLMC_R_PPAGE, PLMC_PPAGE_OFF, VM_WRITE | VM_EXEC,
	 VM_MAYWRITE | VM_MAYEXEC, false},
	{PLMC_R_DATA, PLMC_DATA_OFF, VM_EXEC, VM_MAYEXEC, true},
};

#define PLMC_VM_PKEY_MASK                                                      \
	(VM_PKEY_BIT0 | VM_PKEY_BIT1 | VM_PKEY_BIT2 | VM_PKEY_BIT3)

/*
 * The mm goes last: the guard's frame records
 * compare against att->mm, and a freed mm could be reused by another
 * process while they still matched it.
 */
static void plmc_att_free(struct plmc_att *att)
{
	if (att->seg)
		plmc_seg_put(att->seg);
	if (att->ppage)
		__free_page(att->ppage);
	plmc_stop_del(att);
	plmc_stop_free(att);
	put_pid(att->pid);
	plmc_guard_del(att);
	plmc_guard_release_files(att);
	if (att->mm)
		mmdrop(att->mm);
	mutex_destroy(&att->lock);
	kfree(att);
}

/* Context: the last reference went; may sleep (takes plmc_reg_lock). */
static void plmc_att_release(struct kref *ref)
{
	plmc_att_free(container_of(ref, struct plmc_att, ref));
}

static void plmc_att_put(struct plmc_att *att)
{
	kref_put(&att->ref, plmc_att_release);
}

/* Context: process context. Return: the new attachment or NULL. */
static struct plmc_att *plmc_att_alloc(u32 pkey)
{
	struct plmc_att *att;

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return NULL;
	mutex_init(&att->lock);
	kref_init(&att->ref);
	INIT_LIST_HEAD(&att->guard_node);
	INIT_LIST_HEAD(&att->stop_node);
	att->ppage = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!att->ppage)
		goto err_free_att;
	if (plmc_stop_alloc(att))
		goto err_free_page;
	att->pkey = pkey;
	att->tgid = task_tgid_nr(current);
	att->pid = get_task_pid(current, PIDTYPE_TGID);
	mmgrab(current->mm);
	att->mm = current->mm;
	return att;

err_free_page:
	__free_page(att->ppage);
err_free_att:
	mutex_destroy(&att->lock);
	kfree(att);
	return NULL;
}

/*
 * The caller must have allocated @pkey (pkey_alloc) in this mm: mapping
 * with somebody else's key, or one the process does not own, is refused.
 * Context: process context; takes mmap_lock for reading.
 */
static int plmc_pkey_check(u32 pkey)
{
	struct mm_struct *mm = current->mm;
	bool ok;

	if (pkey < 1 || pkey > 15 || !mm)
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ok = mm_pkey_is_allocated(mm, (int)pkey);
	mmap_read_unlock(mm);
	return ok ? 0 : -EINVAL;
}

/* Find the segment, check permission and join it. Context: no locks. */
static int plmc_att_join(struct plmc_att *att, const char *name)
{
	struct plmc_seg *seg;
	int rc = 0;

	mutex_lock(&plmc_reg_lock);
	seg = plmc_seg_lookup(name);
	if (IS_ERR(seg)) {
		rc = PTR_ERR(seg);
		goto out_unlock;
	}
	att->id = plmc_seg_join(seg);
	if (!att->id) {
		rc = -ENOSPC;
		goto out_unlock;
	}
	att->seg = seg;
out_unlock:
	mutex_unlock(&plmc_reg_lock);
	return rc;
}

static void plmc_ppage_fill(struct plmc_att *att)
{
	struct plmc_ppage *pp = page_address(att->ppage);

	pp->magic = PLMC_PPAGE_MAGIC;
	pp->attach_id = att->id;
	pp->pkey = att->pkey;
	pp->pkey_shift = 2 * att->pkey;
	pp->backend = PLMC_BACKEND_KMOD;
	pp->tgid = task_tgid_vnr(current);
	/* The init namespace's uid: the gate bounds slots per uid, and a
	 * user namespace must not give one user several of them. */
	pp->uid = from_kuid_munged(&init_user_ns, current_uid());
	pp->store_size = att->seg->store_size;
	pp->image_size = att->seg->image_size;
}

/*
 * plmc_attach() - bind a segment to this fd for the calling process.
 * @pf: the fd's state
 * @a: validated arguments; the out fields are filled on success
 *
 * The process becomes non-dumpable: no core file, no ptrace by peers.
 * If copying the answer out fails later, the fd stays attached; closing
 * it detaches.
 *
 * Context: process context, no locks held.
 * Return: 0, or -EINVAL (pkey), -EBUSY (fd already attached, or the mm
 * has io_uring threads), -EAGAIN (a task of the mm could not close the
 * store key in time), -ENOENT, -EACCES, -ENOMEM, -ENOSPC, -EINTR.
 */
int plmc_attach(struct plmc_file *pf, struct plmc_attach_args *a)
{
	struct plmc_att *att;
	int rc;

	rc = plmc_pkey_check(a->pkey);
	if (rc)
		return rc;
	mutex_lock(&pf->lock);
	rc = -EBUSY;
	if (pf->att)
		goto out_unlock;
	rc = -ENOMEM;
	att = plmc_att_alloc(a->pkey);
	if (!att)
		goto out_unlock;
	/* Guard first: no new executable code while the scan runs. */
	plmc_guard_add(att);
	rc = plmc_guard_scan(att);
	if (rc)
		goto err_free_att;
	/* After the guard (a WRPKRU opening the key is refused from here),
	 * before anything is mapped: no task of the mm keeps it open. */
	rc = plmc_tasks_close(a->pkey);
	if (rc)
		goto err_free_att;
	rc = plmc_att_join(att, a->name);
	if (rc)
		goto err_free_att;
	plmc_ppage_fill(att);
	plmc_guard_set_exit(att);
	plmc_stop_add(att);
	plmc_mm_set_undumpable(current->mm);
	a->store_size = att->seg->store_size;
	a->image_size = att->seg->image_size;
	a->attach_id = att->id;
	/* Pairs with the acquire in plmc_mmap(): att is complete. */
	smp_store_release(&pf->att, att);
	goto out_unlock;

err_free_att:
	plmc_att_free(att);
out_unlock:
	mutex_unlock(&pf->lock);
	return rc;
}

/*
 * plmc_att_release_file() - the fd's last reference dropped.
 * Every VMA holds the file, so none is left: the attachment is over.
 * Context: any process; may sleep.
 */
void plmc_att_release_file(struct plmc_att *att)
{
	bool die;

	mutex_lock(&att->lock);
	WARN_ON_ONCE(att->nvma);
	die = !att->dead;
	att->dead = true;
	mutex_unlock(&att->lock);
	if (die) {
		plmc_stop_del(att);
		plmc_guard_del(att);
		plmc_seg_mark_dead(att->seg, att->id);
	}
	plmc_att_put(att);
}

/*
 * plmc_att_mark_dead() - stop.c saw that no task of the mm can run user
 * code again (all killed and off their CPUs): tell the survivors now,
 * not when the exit unmaps (a task blocked for good in the kernel would
 * hold that back for ever). The unmap then finds the death marked.
 * Context: may sleep (plmc_stop_lock held: stop_lock -> att->lock).
 */
void plmc_att_mark_dead(struct plmc_att *att)
{
	bool die;

	mutex_lock(&att->lock);
	die = !att->dead;
	att->dead = true;
	mutex_unlock(&att->lock);
	if (die)
		plmc_seg_mark_dead(att->seg, att->id);
}

/* Context: mmap_lock held for writing (mremap's copy). */
static void plmc_vm_open(struct vm_area_struct *vma)
{
	struct plmc_att *att = vma->vm_private_data;

	kref_get(&att->ref);
	mutex_lock(&att->lock);
	att->nvma++;
	mutex_unlock(&att->lock);
}

static const struct vm_operations_struct plmc_vm_ops;

/*
 * A dead attachment's other mappings lose their pages at once (later
 * touches get SIGBUS): a process that dropped, say, its ppage must not go
 * on entering the store with a ppage of its own making in its place. The
 * zap happens under the same mmap_lock as the unmap, before anything new
 * can be mapped there.
 *
 * Context: mmap_lock of @closing's mm held (read or write).
 */
static void plmc_att_zap(struct plmc_att *att, struct vm_area_struct *closing)
{
	struct mm_struct *mm = closing->vm_mm;
	struct vm_area_struct *vma;
	unsigned int i;

	/* exit_mmap: every mapping is going anyway. */
	if (!atomic_read(&mm->mm_users))
		return;
	for (i = 0; i < ARRAY_SIZE(plmc_regions); i++) {
		vma = vma_lookup(mm, PLMC_BASE + plmc_regions[i].off);
		if (!vma || vma == closing || vma->vm_ops != &plmc_vm_ops ||
		    vma->vm_private_data != att)
			continue;
		zap_vma_ptes(vma, vma->vm_start, vma->vm_end - vma->vm_start);
	}
}

/*
 * Any mapping that goes away kills the attachment: nvma falls below the
 * number of regions mapped. The one exception is the undo of a refused
 * mremap, which closes a copy it opened (nvma goes up, then back).
 *
 * Context: mmap_lock held (read or write): munmap, MAP_FIXED over the
 * region, exit (SIGKILL too: it runs in the dying task), mremap's undo.
 */
static void plmc_vm_close(struct vm_area_struct *vma)
{
	struct plmc_att *att = vma->vm_private_data;
	bool die;

	mutex_lock(&att->lock);
	if (!WARN_ON_ONCE(!att->nvma))
		att->nvma--;
	die = !att->dead && att->nvma < hweight32(att->mapped);
	if (die)
		att->dead = true;
	mutex_unlock(&att->lock);
	if (die) {
		plmc_stop_del(att);
		plmc_guard_del(att);
		plmc_att_zap(att, vma);
		plmc_seg_mark_dead(att->seg, att->id);
	}
	plmc_att_put(att);
}

static int plmc_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EPERM;
}

static int plmc_vm_mremap(struct vm_area_struct *vma)
{
	return -EPERM;
}

/* Called for every mprotect and pkey_mprotect, changed flags or not. */
static int plmc_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	return -EPERM;
}

static vm_fault_t plmc_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

/* No .access: nothing may read these pages on another process's behalf. */
static const struct vm_operations_struct plmc_vm_ops = {
	.open = plmc_vm_open,
	.close = plmc_vm_close,
	.may_split = plmc_vm_may_split,
	.mremap = plmc_vm_mremap,
	.mprotect = plmc_vm_mprotect,
	.pfn_mkwrite = plmc_vm_pfn_mkwrite,
};

bool plmc_is_plmc_vma(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &plmc_vm_ops;
}

static const struct plmc_region *plmc_region_of(unsigned long pgoff)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(plmc_regions); i++)
		if (pgoff == plmc_regions[i].off >> PAGE_SHIFT)
			return &plmc_regions[i];
	return NULL;
}

static u64 plmc_region_len(const struct plmc_att *att,
			   const struct plmc_region *r)
{
	switch (r->bit) {
	case PLMC_R_IMAGE:
		return PAGE_ALIGN(att->seg->image_size);
	case PLMC_R_PPAGE:
		return PAGE_SIZE;
	default:
		return PLMC_DATA_LEN(att->seg->store_size);
	}
}

/* Return: 0, -EINVAL (place, size, not shared) or -EACCES (protection). */
static int plmc_vma_check(const struct plmc_att *att,
			  const struct plmc_region *r,
			  const struct vm_area_struct *vma)
{
	if (vma->vm_start != PLMC_BASE + r->off ||
	    vma->vm_end - vma->vm_start != plmc_region_len(att, r))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & r->deny)
		return -EACCES;
	return 0;
}

static unsigned long plmc_pkey_vm_flags(u32 pkey)
{
	return ((pkey & 1) ? VM_PKEY_BIT0 : 0) |
	       ((pkey & 2) ? VM_PKEY_BIT1 : 0) |
	       ((pkey & 4) ? VM_PKEY_BIT2 : 0) |
	       ((pkey & 8) ? VM_PKEY_BIT3 : 0);
}

/* Flags first: the page protection (pkey bits included) derives from them. */
static void plmc_vma_setup(const struct plmc_att *att,
			   const struct plmc_region *r,
			   struct vm_area_struct *vma)
{
	unsigned long set =
		VM_IO | VM_PFNMAP | VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;

	if (r->pkey)
		set |= plmc_pkey_vm_flags(att->pkey);
	plmc_vm_flags_mod(vma, set, r->drop | PLMC_VM_PKEY_MASK);
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags);
}

/*
 * Map @len bytes of vmalloc memory at @kaddr to @uaddr, in runs of
 * physically contiguous pages. Context: mmap_lock held for writing.
 */
static int plmc_remap_vmalloc(struct vm_area_struct *vma, unsigned long uaddr,
			      void *kaddr, unsigned long len)
{
	unsigned long done = 0, run, pfn;
	int rc;

	while (done < len) {
		pfn = vmalloc_to_pfn(kaddr + done);
		for (run = PAGE_SIZE; done + run < len; run += PAGE_SIZE)
			if (vmalloc_to_pfn(kaddr + done + run) !=
			    pfn + (run >> PAGE_SHIFT))
				break;
		rc = remap_pfn_range(vma, uaddr + done, pfn, run,
				     vma->vm_page_prot);
		if (rc)
			return rc;
		done += run;
		cond_resched();
	}
	return 0;
}

static int plmc_vma_fill(struct plmc_att *att, const struct plmc_region *r,
			 struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;

	switch (r->bit) {
	case PLMC_R_IMAGE:
		return plmc_remap_vmalloc(vma, vma->vm_start, att->seg->image,
					  len);
	case PLMC_R_PPAGE:
		return remap_pfn_range(vma, vma->vm_start,
				       page_to_pfn(att->ppage), PAGE_SIZE,
				       vma->vm_page_prot);
	default:
		return plmc_remap_vmalloc(vma, vma->vm_start, att->seg->data,
					  len);
	}
}

/*
 * plmc_mmap() - map one of the three regions (chosen by the offset).
 *
 * On failure the VMA is left without our vm_ops: the kernel discards it
 * (and any PTEs already installed) without calling back.
 *
 * Context: mmap_lock held for writing, current is the mapping process.
 * Return: 0; -EINVAL (not attached, bad offset/place/size, not shared);
 * -EACCES (another process, or a forbidden protection); -EBUSY (region
 * mapped before, or the attachment died); -EINVAL (data before ppage);
 * -ENOMEM.
 */
int plmc_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct plmc_file *pf = file->private_data;
	struct plmc_att *att = smp_load_acquire(&pf->att);
	const struct plmc_region *r = plmc_region_of(vma->vm_pgoff);
	int rc;

	if (!att || !r)
		return -EINVAL;
	if (current->mm != att->mm)
		return -EACCES;
	rc = plmc_vma_check(att, r, vma);
	if (rc)
		return rc;
	mutex_lock(&att->lock);
	rc = -EBUSY;
	if (att->dead || (att->mapped & r->bit))
		goto out_unlock;
	rc = -EINVAL;
	if (r->bit == PLMC_R_DATA && !(att->mapped & PLMC_R_PPAGE))
		goto out_unlock; /* ppage first (see top) */
	plmc_vma_setup(att, r, vma);
	rc = plmc_vma_fill(att, r, vma);
	if (rc)
		goto out_unlock;
	att->mapped |= r->bit;
	att->nvma++;
	kref_get(&att->ref);
	vma->vm_private_data = att;
	vma->vm_ops = &plmc_vm_ops;
out_unlock:
	mutex_unlock(&att->lock);
	return rc;
}
