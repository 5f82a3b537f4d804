/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plmc_kmod.h - private types of plmc.ko.
 *
 * Objects and who holds them:
 *   struct plmc_seg   one named store. References: the registry link (while
 *                     the name exists) and one per attachment. Freed (memory
 *                     and all) when the last goes.
 *   struct plmc_att   one process bound to one segment through one fd.
 *                     References: the fd (until release) and one per VMA.
 *                     Holds a segment reference and the mm (mmgrab: identity
 *                     only, so the pointer is never reused while we compare).
 *   struct plmc_file  the fd's private data: at most one attachment.
 *
 * Lock order (outermost first):
 *   mmap_lock -> plmc_reg_lock -> seg->lock
 *   mmap_lock -> att->lock -> seg->lock
 *   pf->lock is taken alone (attach), never with mmap_lock.
 *   plmc_guard_lock (spinlock, guard.c) is innermost: nothing under it;
 *   so are plmc_frame_lock (sigframe.c), plmc_grant_lock (exec.c) and
 *   plmc_pmm_lock (int3.c). plmc_patch_lock (int3.c, mutex) -> mmap_lock.
 *   mmap_lock -> plmc_held_lock (mutex, exec.c) -> plmc_guard_lock: the
 *   attachment's free may run under mmap_lock (vm_close); the mmap syscall
 *   takes plmc_held_lock before mmap_lock is taken, never under it.
 *   mmap_lock -> plmc_stop_lock (mutex, stop.c) -> att->lock -> seg->lock;
 *   RCU and the signal code under plmc_stop_lock too.
 */
#ifndef PLMC_KMOD_H
#define PLMC_KMOD_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>

struct file;
struct mm_struct;
struct plmc_calls;
struct pid;
struct task_struct;
struct vm_area_struct;
#include <plmc/ioctl.h>

#define PLMC_DRV "plmc"

struct plmc_seg {
	struct kref ref;
	struct list_head node; /* plmc_segs, under plmc_reg_lock */
	bool linked;	       /* name visible; under plmc_reg_lock */
	char name[PLMC_NAME_LEN];
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u64 store_size;
	u64 item_max;	/* store settings, copied into the header */
	u32 slab_factor;
	u32 slab_min;
	u32 tenants;	/* hdr->tenants: 0 = none (docs/tenants.md) */
	u64 image_size;
	void *image;		    /* PAGE_ALIGN(image_size), never changes */
	void *data;		    /* stacks + store, PLMC_DATA_LEN bytes */
	struct page **pages;	    /* placed (numa != DEFAULT): vmap'ed */
	unsigned long npages;
	u32 numa, numa_node;	    /* PLMC_NUMA_*, as created */
	struct plmc_store_hdr *hdr; /* inside data: the kernel's view */
	u64 create_ns;		    /* ktime_get_ns() at create */
	struct mutex lock;	    /* attach_seq, nattach, death marks */
	u64 attach_seq;
	u64 nattach;
};

/*
 * An XRSTOR or WRPKRU the attach scan found in client code; int3.c puts an
 * int3 on its first opcode byte and emulates it (at most PLMC_SITES_MAX
 * per mm).
 */
#define PLMC_SITES_MAX 64
#define PLMC_SITE_BYTES 8 /* 0F AE, ModRM, SIB, disp32: the longest */
#define PLMC_SITE_XRSTOR 1
#define PLMC_SITE_WRPKRU 2

struct plmc_site {
	unsigned long addr;	     /* the opcode's 0F, now int3 */
	u8 kind;		     /* PLMC_SITE_* */
	u8 len;			     /* from addr to the end; 0: unreadable */
	u8 nb;			     /* bytes of orig read at the scan */
	u8 rex;			     /* the REX just before the opcode, or 0 */
	u8 seg;			     /* 0x64 (fs), 0x65 (gs) or 0 */
	bool asz;		     /* 0x67: 32-bit address */
	u8 orig[PLMC_SITE_BYTES];    /* the bytes at addr, as scanned */
};

/* Region bits: each mapped at most once per attachment. */
#define PLMC_R_IMAGE 0x1
#define PLMC_R_PPAGE 0x2
#define PLMC_R_DATA  0x4
#define PLMC_R_ALL   0x7

struct plmc_att {
	struct kref ref;
	struct plmc_seg *seg;
	struct mm_struct *mm;
	pid_t tgid;
	struct pid *pid; /* the process (PIDTYPE_TGID), referenced */
	u64 id;
	u32 pkey;
	struct page *ppage;
	struct mutex lock;   /* mapped, nvma, dead */
	unsigned int mapped; /* PLMC_R_* ever mapped */
	unsigned int nvma;   /* live VMAs (copies included) */
	bool dead;	     /* death already marked: once per attachment */
	struct list_head guard_node; /* guard.c's list, under its lock */
	struct file **files;	     /* exec files held write-denied */
	unsigned int nfiles;
	bool xready; /* anon_exec set; set and read under plmc_guard_lock */
	bool anon_exec; /* anonymous exec memory at attach; set by the scan */
	unsigned long gate_exit; /* after the exit WRPKRU; plmc_guard_lock */
	struct list_head stop_node; /* stop.c's list, under its lock */
	u64 stopped_ms;		    /* stopped inside so far; stop.c's lock */
	bool stop_killed;	    /* SIGKILL sent; stop.c's lock */
	bool stop_marked;	    /* death marked by stop.c; its lock */
	struct plmc_calls *calls;   /* stop.c: two walks' calls; its lock */
	unsigned int calls_prev;    /* which of them is the last walk's */
};

struct plmc_file {
	struct mutex lock;    /* serialises attach */
	struct plmc_att *att; /* set once (release), read with acquire */
};

/* main.c */
extern int plmc_create_gid;

/* segment.c */
extern struct mutex plmc_reg_lock;
struct plmc_seg *plmc_seg_alloc(const struct plmc_create_args *a, void *image,
				kuid_t uid, kgid_t gid);
int plmc_seg_publish(struct plmc_seg *seg);
void plmc_seg_free_unpublished(struct plmc_seg *seg);
struct plmc_seg *plmc_seg_find(const char *name);
struct plmc_seg *plmc_seg_lookup(const char *name);
void plmc_seg_put(struct plmc_seg *seg);
bool plmc_seg_may_use(const struct plmc_seg *seg);
int plmc_seg_destroy(const char *name, u32 flags);
int plmc_seg_info(struct plmc_info_args *a);
int plmc_seg_nodes(struct plmc_nodes_args *a);
u64 plmc_seg_join(struct plmc_seg *seg);
void plmc_seg_mark_dead(struct plmc_seg *seg, u64 attach_id);
void plmc_seg_exit(void);

/* image.c */
void *plmc_image_copy_in(u64 uptr, u64 len);
void plmc_image_free(void *image);

/* attach.c */
int plmc_attach(struct plmc_file *pf, struct plmc_attach_args *a);
int plmc_mmap(struct file *file, struct vm_area_struct *vma);
void plmc_att_release_file(struct plmc_att *att);
void plmc_att_mark_dead(struct plmc_att *att);

/* guard.c: the list of guarded attachments, load and unload */
struct pt_regs;
void plmc_guard_add(struct plmc_att *att);
void plmc_guard_del(struct plmc_att *att);
int plmc_guard_init(void);
void plmc_guard_exit(void);
u32 plmc_guard_mask(struct mm_struct *mm);
bool plmc_guard_anon_exec(struct mm_struct *mm);
void plmc_guard_scanned(struct plmc_att *att);
bool plmc_guard_has_pkey(struct mm_struct *mm, unsigned long pkey);
unsigned long plmc_guard_exit_addr(struct mm_struct *mm);
void plmc_guard_set_exit(struct plmc_att *att);
/* Refusal stubs for kprobe pre-handlers: plmc_refuse(regs, stub). */
long plmc_ret_eacces(void);
long plmc_ret_eperm(void);
long plmc_ret_zero(void);
long plmc_ret_enomem(void);
long plmc_ret_eagain(void);
int plmc_refuse(struct pt_regs *regs, long (*stub)(void));

/* exec.c: executable memory */
int plmc_guard_scan(struct plmc_att *att);
void plmc_guard_release_files(struct plmc_att *att);
int plmc_exec_init(void);
void plmc_exec_exit(void);

/* refuse.c: pkey_free, ptrace writes */
int plmc_refuse_init(void);
void plmc_refuse_exit(void);

/* remote.c: __access_remote_vm writes */
int plmc_remote_init(void);
void plmc_remote_exit(void);

/* sigframe.c: frame records, the sigreturn check */
void plmc_frames_forget(struct mm_struct *mm);
int plmc_sigframe_init(void);
void plmc_sigframe_exit(void);

/* defer.c */
int plmc_defer_init(void);
void plmc_defer_exit(void);

/* stop.c */
int plmc_stop_alloc(struct plmc_att *att);
void plmc_stop_free(struct plmc_att *att);
void plmc_stop_add(struct plmc_att *att);
void plmc_stop_del(struct plmc_att *att);
void plmc_stop_exit(void);
void plmc_stop_foreign(void);
bool plmc_stop_any(void);
bool plmc_task_inside(struct task_struct *t);

/* tasks.c */
extern bool plmc_tasks_guard;
extern bool plmc_attach_close;
int plmc_tasks_close(u32 pkey);
int plmc_tasks_init(void);
void plmc_tasks_exit(void);

/* introspect.c */
int plmc_intro_init(void);
void plmc_intro_exit(void);

/* int3.c: the XRSTOR and WRPKRU sites, patched and emulated */
void plmc_site_fill(struct plmc_site *s, unsigned long at, const u8 *pre,
		    size_t npre, const u8 *b, size_t nb);
int plmc_int3_patch(const struct plmc_site *s, unsigned int n);
bool plmc_int3_patching(void);
bool plmc_int3_has(struct mm_struct *mm);
bool plmc_int3_in(struct mm_struct *mm, unsigned long start, unsigned long end);
int plmc_int3_init(void);
void plmc_int3_exit(void);

/* rseq.c */
int plmc_rseq_init(void);
void plmc_rseq_exit(void);

/* main.c, attach.c: is this ours? */
bool plmc_is_plmc_file(const struct file *file);
bool plmc_is_plmc_vma(const struct vm_area_struct *vma);

/* ioctl.c */
long plmc_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* PLMC_KMOD_H */
