// SPDX-License-Identifier: GPL-2.0
/*
 * int3.c - no XRSTOR and no WRPKRU left in an attached process's
 * executable memory.
 *
 * XRSTOR with bit 9 (PKRU) in EDX:EAX loads PKRU from memory the client
 * controls; WRPKRU loads it from EAX. The attach scan cannot refuse XRSTOR
 * (ld.so's lazy-binding trampolines, static glibc's too) nor a WRPKRU in
 * file text (Debian's libc, pkey_set). So the module writes an int3 (0xCC)
 * over the first opcode byte (the 0F) of each one the scan finds, in a
 * private copy-on-write page of the mm, as a debugger sets a breakpoint:
 * no 0F 01 EF and no 0F AE /5 byte sequence is left anywhere a thread can
 * execute, whatever it jumps to (prefix bytes before the opcode, RFLAGS.RF
 * from a user IRETQ: int3 is an instruction, not a breakpoint match). The
 * trap (DIE_INT3 from user mode, ip - 1 at a recorded site, the bytes
 * after it still the recorded ones) checks the registers and emulates:
 *
 *   WRPKRU  killed if EAX clears the access-disable bit of a store key of
 *           the mm, or ECX/EDX is not 0; otherwise wrpkru(EAX): the
 *           thread's own PKRU is live in the register (it trapped from
 *           user mode, interrupts off), exactly what the instruction does.
 *   XRSTOR  killed if EAX bit 9 is set; otherwise a kernel XRSTOR of the
 *           requested components from the user address the instruction
 *           names (decoded from the bytes frozen at scan time and the
 *           registers), with PKRU and the AMX tiles taken out of the mask
 *           whatever it says: PKRU is never loaded from client memory.
 *           The mask is read from the registers only (no TOCTOU). A fault
 *           on the buffer is fixed up (exception table): #PF is faulted in
 *           from a task_work and retried, anything else is SIGSEGV at the
 *           instruction, as the real one would give.
 *
 * Records are per mm (struct plmc_pmm), kept from the first patch until
 * exit_mmap() (exec and exit both end there), through detach: the int3s
 * stay in the pages, so the trap must keep working. A fork child gets a
 * copy of its parent's record (the pages come with it, COW): not
 * attached, it is emulated without checks (nothing of a store is mapped
 * in it); attached later, with them.
 *
 * The private pages must stay what was patched: while the mm is guarded
 * no discard reaches an exec VMA with private copies (exec.c), nothing
 * can map, move or fill one (exec.c's invariant), nothing can write one
 * (remote.c), and reclaim swaps anonymous pages with their content.
 *
 * Locking: plmc_pmm_lock (spinlock, irqsave: the trap runs with
 * interrupts off) guards the list and every record; innermost.
 * plmc_patch_lock (mutex) serialises patching and names the patching
 * task for remote.c's and exec.c's refusals (plmc_int3_patching()).
 */
#include <linux/kdebug.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <asm/asm.h>
#include <asm/fpu/api.h>
#include <asm/msr.h>
#include <asm/smap.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>
#include <plmc/image.h>
#include "plmc_kmod.h"

#define PLMC_XF_PKRU BIT_ULL(9)
#define PLMC_XF_TILES (BIT_ULL(17) | BIT_ULL(18)) /* XFD-armed: never */
#define PLMC_FAULT_TRIES 4

struct plmc_pmm {
	struct list_head node;
	struct mm_struct *mm; /* identity only: freed at exit_mmap(mm) */
	unsigned int n;
	struct plmc_site site[PLMC_SITES_MAX];
};

static DEFINE_SPINLOCK(plmc_pmm_lock);
static LIST_HEAD(plmc_pmms);
static DEFINE_MUTEX(plmc_patch_lock);
static struct task_struct *plmc_patcher; /* under plmc_patch_lock */

/* Is the current task writing the module's int3s? Any context. */
bool plmc_int3_patching(void)
{
	return READ_ONCE(plmc_patcher) == current;
}

static struct plmc_pmm *plmc_pmm_find(struct mm_struct *mm)
{
	struct plmc_pmm *p;

	lockdep_assert_held(&plmc_pmm_lock);
	list_for_each_entry(p, &plmc_pmms, node)
		if (p->mm == mm)
			return p;
	return NULL;
}

/*
 * plmc_site_find() - the first site of @mm's record in [@lo, @hi), copied
 * to @out unless it is NULL. The one walk of a record under the lock.
 *
 * Context: any (the trap calls it with interrupts off).
 * Return: whether there is one.
 */
static bool plmc_site_find(struct mm_struct *mm, unsigned long lo,
			   unsigned long hi, struct plmc_site *out)
{
	struct plmc_pmm *p;
	unsigned long flags;
	bool found = false;
	unsigned int i;

	spin_lock_irqsave(&plmc_pmm_lock, flags);
	p = plmc_pmm_find(mm);
	for (i = 0; p && i < p->n && !found; i++) {
		found = p->site[i].addr >= lo && p->site[i].addr < hi;
		if (found && out)
			*out = p->site[i];
	}
	spin_unlock_irqrestore(&plmc_pmm_lock, flags);
	return found;
}

/*
 * plmc_site_fill() - describe the XRSTOR or WRPKRU whose opcode is at
 * user address @at: @pre the @npre bytes before it (prefixes there are
 * taken as the instruction's), @b the @nb bytes from @at.
 */
void plmc_site_fill(struct plmc_site *s, unsigned long at, const u8 *pre,
		    size_t npre, const u8 *b, size_t nb)
{
	size_t k;
	u8 mod, rm;

	memset(s, 0, sizeof(*s));
	s->addr = at;
	memcpy(s->orig, b, min_t(size_t, nb, PLMC_SITE_BYTES));
	s->nb = min_t(size_t, nb, PLMC_SITE_BYTES);
	if (plmc_image_is_wrpkru(b)) {
		s->kind = PLMC_SITE_WRPKRU;
		s->len = 3;
		return;
	}
	s->kind = PLMC_SITE_XRSTOR;
	if (npre && pre[npre - 1] >= 0x40 && pre[npre - 1] <= 0x4f)
		s->rex = pre[npre - 1]; /* a REX counts just before the opcode */
	for (k = 0; k < npre; k++) {
		if (pre[k] == 0x64 || pre[k] == 0x65)
			s->seg = pre[k];
		if (pre[k] == 0x67)
			s->asz = true;
	}
	mod = b[2] >> 6;
	rm = b[2] & 7;
	s->len = 3;
	if (rm == 4) {
		if (nb < 4)
			goto short_read;
		s->len++;
		if (mod == 0 && (b[3] & 7) == 5)
			s->len += 4;
	}
	if (mod == 0 && rm == 5)
		s->len += 4;
	else if (mod == 1)
		s->len += 1;
	else if (mod == 2)
		s->len += 4;
	if (s->len <= s->nb)
		return;
short_read:
	s->len = 0; /* its bytes end in unreadable memory: it faults */
}

/* A little-endian displacement of the frozen bytes, sign-extended. */
static long plmc_disp32(const u8 *b)
{
	s32 v;

	memcpy(&v, b, sizeof(v));
	return v;
}

/* General registers in ModRM order (REX extends to 8..15). */
static const unsigned int plmc_reg_off[16] = {
	offsetof(struct pt_regs, ax),  offsetof(struct pt_regs, cx),
	offsetof(struct pt_regs, dx),  offsetof(struct pt_regs, bx),
	offsetof(struct pt_regs, sp),  offsetof(struct pt_regs, bp),
	offsetof(struct pt_regs, si),  offsetof(struct pt_regs, di),
	offsetof(struct pt_regs, r8),  offsetof(struct pt_regs, r9),
	offsetof(struct pt_regs, r10), offsetof(struct pt_regs, r11),
	offsetof(struct pt_regs, r12), offsetof(struct pt_regs, r13),
	offsetof(struct pt_regs, r14), offsetof(struct pt_regs, r15),
};

static unsigned long plmc_reg(struct pt_regs *r, unsigned int n)
{
	return regs_get_register(r, plmc_reg_off[n & 15]);
}

/* The XRSTOR's memory operand: ModRM, SIB, displacement, REX.B/X. */
static unsigned long plmc_site_ea(const struct plmc_site *s,
				  struct pt_regs *regs)
{
	const u8 *b = s->orig;
	unsigned int mod = b[2] >> 6, rm = b[2] & 7, p = 3;
	unsigned int bx = s->rex & 1 ? 8 : 0, xx = s->rex & 2 ? 8 : 0;
	unsigned long ea = 0, base;
	long disp = 0;

	if (rm == 4) {
		u8 sib = b[p++];
		unsigned int idx = ((sib >> 3) & 7) | xx;

		if (idx != 4) /* 100 without REX.X: no index */
			ea = plmc_reg(regs, idx) << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0) {
			disp = plmc_disp32(b + p);
			p += 4;
		} else {
			ea += plmc_reg(regs, (sib & 7) | bx);
		}
	} else if (rm == 5 && mod == 0) {
		disp = plmc_disp32(b + p);
		ea = s->addr + s->len; /* RIP-relative: the next instruction */
	} else {
		ea = plmc_reg(regs, rm | bx);
	}
	if (mod == 1)
		disp = (s8)b[p];
	else if (mod == 2)
		disp = plmc_disp32(b + p);
	ea += disp;
	if (s->asz)
		ea = (u32)ea;
	base = 0;
	if (s->seg == 0x64)
		rdmsrl(MSR_FS_BASE, base);
	else if (s->seg == 0x65) /* the user's, swapped out at entry */
		rdmsrl(MSR_KERNEL_GS_BASE, base);
	return ea + base;
}

/*
 * XRSTOR from user memory into the live registers. Return: 0, or the
 * trap number of the fault the exception table caught (the registers
 * then hold what the real instruction would have left).
 */
static int plmc_xrstor_user(unsigned long buf, u64 rfbm, bool rexw)
{
	u32 lo = (u32)rfbm, hi = (u32)(rfbm >> 32);
	int err;

	stac();
	if (rexw)
		asm volatile("1: xrstor64 (%%rdi)\n\t"
			     "xor %%eax, %%eax\n"
			     "2:\n\t" _ASM_EXTABLE_TYPE(1b, 2b, EX_TYPE_FAULT)
			     : "=a"(err)
			     : "D"(buf), "a"(lo), "d"(hi)
			     : "memory");
	else
		asm volatile("1: xrstor (%%rdi)\n\t"
			     "xor %%eax, %%eax\n"
			     "2:\n\t" _ASM_EXTABLE_TYPE(1b, 2b, EX_TYPE_FAULT)
			     : "=a"(err)
			     : "D"(buf), "a"(lo), "d"(hi)
			     : "memory");
	clac();
	return err;
}

static int plmc_int3_kill(const char *what)
{
	pr_info_ratelimited(PLMC_DRV ": pid %d: %s opening the store killed\n",
			    task_tgid_nr(current), what);
	force_sig(SIGKILL);
	return NOTIFY_STOP;
}

/* The real instruction would fault: SIGSEGV at it, nothing else done. */
static int plmc_int3_segv(struct pt_regs *regs, const struct plmc_site *s)
{
	regs->ip = s->addr;
	force_sig(SIGSEGV);
	return NOTIFY_STOP;
}

struct plmc_xwork {
	struct callback_head cb;
	struct plmc_site site;
	unsigned long buf;
	u64 rfbm;
};

/*
 * The buffer faulted with interrupts off: fault it in and restore here,
 * in process context, before the thread returns to user mode (what
 * sigreturn's restore does). Bounded: a buffer that keeps faulting gets
 * SIGSEGV.
 */
static void plmc_xwork_fn(struct callback_head *cb)
{
	struct plmc_xwork *w = container_of(cb, struct plmc_xwork, cb);
	struct pt_regs *regs = task_pt_regs(current);
	size_t size = current->thread.fpu.fpstate->user_size;
	int tries, err = X86_TRAP_PF;

	for (tries = 0; tries < PLMC_FAULT_TRIES && err == X86_TRAP_PF;
	     tries++) {
		if (fault_in_readable((const char __user *)w->buf, size) ==
		    size)
			break;
		fpregs_lock();
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		pagefault_disable();
		err = plmc_xrstor_user(w->buf, w->rfbm, w->site.rex & 8);
		pagefault_enable();
		fpregs_unlock();
	}
	if (!err)
		regs->ip = w->site.addr + w->site.len;
	else
		force_sig(SIGSEGV);
	kfree(w);
}

static int plmc_int3_xrstor(struct pt_regs *regs, const struct plmc_site *s,
			    u32 mask)
{
	u64 rfbm = ((u64)(u32)regs->dx << 32) | (u32)regs->ax;
	struct plmc_xwork *w;
	unsigned long buf;
	int err;

	if (mask && (rfbm & PLMC_XF_PKRU))
		return plmc_int3_kill("XRSTOR of PKRU");
	if (!s->len)
		return plmc_int3_segv(regs, s);
	rfbm &= ~(PLMC_XF_PKRU | PLMC_XF_TILES);
	buf = plmc_site_ea(s, regs);
	if (buf >= TASK_SIZE_MAX)
		return plmc_int3_segv(regs, s); /* never a kernel address */
	regs->ip = s->addr; /* until it is done */
	if (!test_thread_flag(TIF_NEED_FPU_LOAD)) {
		/* The user's registers are live; interrupts are off. */
		pagefault_disable();
		err = plmc_xrstor_user(buf, rfbm, s->rex & 8);
		pagefault_enable();
		if (!err) {
			regs->ip = s->addr + s->len;
			return NOTIFY_STOP;
		}
		if (err != X86_TRAP_PF)
			return plmc_int3_segv(regs, s);
	}
	w = kmalloc(sizeof(*w), GFP_ATOMIC);
	if (!w)
		return NOTIFY_STOP; /* ip at the int3: tried again */
	init_task_work(&w->cb, plmc_xwork_fn);
	w->site = *s;
	w->buf = buf;
	w->rfbm = rfbm;
	if (task_work_add(current, &w->cb, TWA_RESUME))
		kfree(w); /* exiting */
	return NOTIFY_STOP;
}

static int plmc_int3_wrpkru(struct pt_regs *regs, const struct plmc_site *s,
			    u32 mask)
{
	u32 v = (u32)regs->ax;

	if (mask && ((u32)regs->cx || (u32)regs->dx || (v & mask) != mask))
		return plmc_int3_kill("WRPKRU");
	if ((u32)regs->cx || (u32)regs->dx)
		return plmc_int3_segv(regs, s); /* #GP */
	wrpkru(v); /* the thread's own PKRU, live: it trapped from user */
	regs->ip = s->addr + s->len;
	return NOTIFY_STOP;
}

/*
 * DIE_INT3 from user mode, interrupts off, before any signal: one of our
 * sites (its ip - 1 recorded for this mm, the int3 and the bytes after it
 * still there), or not ours (NOTIFY_DONE: SIGTRAP as ever).
 */
static int plmc_int3_notify(struct notifier_block *nb, unsigned long val,
			    void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	struct plmc_site s;
	u8 b[PLMC_SITE_BYTES];
	u32 mask;

	if (val != DIE_INT3 || !regs || !user_mode(regs) || !current->mm)
		return NOTIFY_DONE;
	if (!plmc_site_find(current->mm, regs->ip - 1, regs->ip, &s))
		return NOTIFY_DONE;
	if (copy_from_user_nofault(b, (const void __user *)s.addr, s.nb) ||
	    b[0] != 0xcc || memcmp(b + 1, s.orig + 1, s.nb - 1))
		return NOTIFY_DONE; /* not our bytes any more */
	mask = plmc_guard_mask(current->mm);
	if (!user_64bit_mode(regs)) {
		if (mask)
			return plmc_int3_kill("a 32-bit site");
		return NOTIFY_DONE;
	}
	if (s.kind == PLMC_SITE_WRPKRU)
		return plmc_int3_wrpkru(regs, &s, mask);
	return plmc_int3_xrstor(regs, &s, mask);
}

static struct notifier_block plmc_int3_nb = {
	.notifier_call = plmc_int3_notify,
};

/*
 * Record @n sites of the current mm (a site already recorded keeps its
 * entry). @n is not 0, so a record is never empty (plmc_int3_has()).
 * Return: 0, or -EPERM past PLMC_SITES_MAX, -ENOMEM.
 */
static int plmc_pmm_add(const struct plmc_site *s, unsigned int n)
{
	struct mm_struct *mm = current->mm;
	struct plmc_pmm *p, *fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	unsigned long flags;
	unsigned int i, j;
	int rc = 0;

	if (!fresh)
		return -ENOMEM;
	spin_lock_irqsave(&plmc_pmm_lock, flags);
	p = plmc_pmm_find(mm);
	if (!p) {
		p = fresh;
		p->mm = mm;
		list_add(&p->node, &plmc_pmms);
		fresh = NULL;
	}
	for (i = 0; i < n && !rc; i++) {
		for (j = 0; j < p->n && p->site[j].addr != s[i].addr; j++)
			;
		if (j < p->n)
			continue;
		if (p->n == PLMC_SITES_MAX)
			rc = -EPERM;
		else
			p->site[p->n++] = s[i];
	}
	spin_unlock_irqrestore(&plmc_pmm_lock, flags);
	kfree(fresh);
	return rc;
}

/*
 * Does @mm carry the module's int3s? Any context. A record holds one site
 * at least (plmc_int3_patch() adds none for no sites), each at a user
 * address, below TASK_SIZE_MAX.
 */
bool plmc_int3_has(struct mm_struct *mm)
{
	return plmc_site_find(mm, 0, TASK_SIZE_MAX, NULL);
}

/* Is a site of @mm in [start, end)? Any context. */
bool plmc_int3_in(struct mm_struct *mm, unsigned long start,
		  unsigned long end)
{
	return plmc_site_find(mm, start, end, NULL);
}

/* Write each int3 as ptrace would: a copy-on-write of the page. */
static void plmc_int3_write(const struct plmc_site *s, unsigned int n)
{
	unsigned int i;
	u8 cc = 0xcc;

	mutex_lock(&plmc_patch_lock);
	WRITE_ONCE(plmc_patcher, current);
	for (i = 0; i < n; i++)
		access_process_vm(current, s[i].addr, &cc, 1,
				  FOLL_FORCE | FOLL_WRITE);
	WRITE_ONCE(plmc_patcher, NULL);
	mutex_unlock(&plmc_patch_lock);
}

/* Does every site read 0xCC? */
static bool plmc_int3_all_cc(const struct plmc_site *s, unsigned int n)
{
	unsigned int i;
	u8 b;

	for (i = 0; i < n; i++)
		if (copy_from_user(&b, (const void __user *)s[i].addr, 1) ||
		    b != 0xcc)
			return false;
	return true;
}

/*
 * plmc_int3_patch() - put an int3 on each of @n sites of the current mm.
 *
 * Recorded first, so a thread reaching one meanwhile is emulated. Then
 * written, then mmap_lock is taken once for writing: a MADV_DONTNEED that
 * began before the copies existed (exec.c lets the zap through for a VMA
 * without them) has ended when it is given, and any later one skips the
 * VMA. Only then are the bytes read back: one such discard may have
 * dropped an int3 before the drain, so it is written again (twice more
 * at most; no discard can start against a VMA with copies).
 *
 * Context: process context, no locks held; the mm is guarded.
 * Return: 0, -EPERM (too many sites, or a byte not written), -ENOMEM,
 * -EINTR. On failure the int3s written stay (and stay recorded).
 */
int plmc_int3_patch(const struct plmc_site *s, unsigned int n)
{
	struct mm_struct *mm = current->mm;
	int rc, round;

	if (!n)
		return 0;
	rc = plmc_pmm_add(s, n);
	if (rc)
		return rc;
	for (round = 0; round < 3; round++) {
		plmc_int3_write(s, n);
		if (mmap_write_lock_killable(mm))
			return -EINTR;
		mmap_write_unlock(mm);
		if (plmc_int3_all_cc(s, n))
			return 0;
	}
	return -EPERM;
}

/* exit_mmap(mm): exec or the last user; its int3s go with its pages. */
static int plmc_pre_exit_mmap(struct kprobe *kp, struct pt_regs *regs)
{
	struct mm_struct *mm = (struct mm_struct *)regs->di;
	struct plmc_pmm *p;
	unsigned long flags;

	spin_lock_irqsave(&plmc_pmm_lock, flags);
	p = plmc_pmm_find(mm);
	if (p)
		list_del(&p->node);
	spin_unlock_irqrestore(&plmc_pmm_lock, flags);
	kfree(p);
	return 0;
}

/*
 * wake_up_new_task(p), in the parent: a fork child (its own mm) carries
 * copies of the parent's patched pages, so it gets a copy of the record
 * before its first instruction. Without one it would take SIGTRAP at the
 * first lazy binding: killed now instead (fail closed, no memory).
 */
static int plmc_pre_fork(struct kprobe *kp, struct pt_regs *regs)
{
	struct task_struct *t = (struct task_struct *)regs->di;
	struct plmc_pmm *p, *c = NULL;
	unsigned long flags;
	bool had;

	if (!t->mm || !current->mm || t->mm == current->mm)
		return 0;
	spin_lock_irqsave(&plmc_pmm_lock, flags);
	p = plmc_pmm_find(current->mm);
	had = p;
	if (p && !plmc_pmm_find(t->mm)) {
		c = kmemdup(p, sizeof(*p), GFP_ATOMIC);
		if (c) {
			c->mm = t->mm;
			list_add(&c->node, &plmc_pmms);
		}
	}
	spin_unlock_irqrestore(&plmc_pmm_lock, flags);
	if (had && !c)
		send_sig(SIGKILL, t, 1);
	return 0;
}

static struct kprobe plmc_kp_exit_mmap = {
	.symbol_name = "exit_mmap",
	.pre_handler = plmc_pre_exit_mmap,
};

static struct kprobe plmc_kp_fork = {
	.symbol_name = "wake_up_new_task",
	.pre_handler = plmc_pre_fork,
};

static struct kprobe *plmc_int3_kprobes[] = {
	&plmc_kp_exit_mmap,
	&plmc_kp_fork,
};

/* Context: module init. Return: 0 or the registration error. */
int plmc_int3_init(void)
{
	int rc;

	rc = register_kprobes(plmc_int3_kprobes, ARRAY_SIZE(plmc_int3_kprobes));
	if (rc) {
		pr_err(PLMC_DRV ": kprobes (int3): %d\n", rc);
		return rc;
	}
	rc = register_die_notifier(&plmc_int3_nb);
	if (rc) {
		pr_err(PLMC_DRV ": die notifier: %d\n", rc);
		unregister_kprobes(plmc_int3_kprobes,
				   ARRAY_SIZE(plmc_int3_kprobes));
	}
	return rc;
}

/*
 * Module unload: no attachment is left (each holds the module), but a
 * process that once was attached, or its fork children, keeps its int3s
 * and takes SIGTRAP at its next site from now on.
 */
void plmc_int3_exit(void)
{
	struct plmc_pmm *p, *t;
	unsigned long flags;
	LIST_HEAD(gone);

	unregister_die_notifier(&plmc_int3_nb);
	unregister_kprobes(plmc_int3_kprobes, ARRAY_SIZE(plmc_int3_kprobes));
	/* exec.c's probes, still registered, may look meanwhile. */
	spin_lock_irqsave(&plmc_pmm_lock, flags);
	list_splice_init(&plmc_pmms, &gone);
	spin_unlock_irqrestore(&plmc_pmm_lock, flags);
	list_for_each_entry_safe(p, t, &gone, node) {
		list_del(&p->node);
		kfree(p);
	}
}
