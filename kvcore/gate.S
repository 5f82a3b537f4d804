/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kvcore/gate.S - the image header and the gate, the only way into the
 * store.
 *
 *	long gate(u64 op, const struct plmc_req *req, u64 slot);
 *
 * Two entries share one body (a macro): plmc_entry_pku switches PKRU,
 * plmc_entry_none (none backend, no PKU) does not. The two WRPKRUs of the
 * pku entry are the image's only ones; the header registers them as sites.
 *
 * Invariants the pku path keeps (a client may jump to any byte of it):
 *  - The entry WRPKRU runs with ecx = edx = 0 (else #GP) and is followed
 *    by "test eax, eax; jnz abort": whoever reaches it goes on only with
 *    PKRU == 0, and then runs the whole gate (slot claim, stack switch,
 *    checked dispatch).
 *  - Nothing is read from client memory while PKRU is open except the
 *    return address, by the final ret, after PKRU is closed again. The
 *    ppage is read-only to the client (module-written).
 *  - The exit WRPKRU is followed by a re-check, with the ppage's
 *    pkey_shift (read through a constant address, not a register), that
 *    the store key's access-disable bit is set in the value written (else
 *    ud2): jumping onto it cannot leave the store open.
 *  - A slot's stack is used only by the thread that moved slot.state from
 *    id<<1 or 0 to id<<1|1 with lock cmpxchg; the saved rsp, client PKRU
 *    and exit_state are read back before state is released (a release
 *    store: x86 stores are not reordered with earlier loads or stores), as
 *    a new owner may overwrite them right after.
 *  - One uid holds at most hdr->slot_quota slots, however many processes
 *    it runs: a claim of a new slot that brings the count of the uid's
 *    slots (owners not marked dead) over it is undone at once
 *    (PLMC_E_NOSLOT) before the slot is used. The quota is read from the
 *    store header, which only the creator writes; the uid from the ppage
 *    (the backend's). The own-idle-slot path never counts.
 *  - A slot whose owner the backend marked dead is taken over by the
 *    claim (a newcomer is never refused by corpses); kv_dispatch then
 *    recovers its record before the call runs.
 *  - DF and AC are cleared before C runs (a client may set either;
 *    AC is written back only when it was set).
 *  - Scratch registers are zeroed on the way out; callee-saved ones are
 *    restored by the C code per the ABI. No SIMD register is used.
 *
 * A crash (a kill) inside leaves slot.state = id<<1|1: the slot stays busy
 * until the backend marks the attachment dead and a recovery frees it.
 */
#include "gate_asm.h"

/* ---- the image header (struct plmc_image_hdr), at offset 0 ---- */
	.section .plmc_hdr, "a"
	.globl plmc_image_hdr
plmc_image_hdr:
	.quad GA_IMG_MAGIC
	.long GA_IMG_VERSION
	.long GA_IMG_HDR_SIZE
	.quad __image_end - GA_BASE	/* image_size: the linker pads to it */
	.quad __text_start - GA_BASE
	.quad __text_end - GA_BASE
	.quad plmc_entry_pku - GA_BASE
	.quad plmc_entry_none - GA_BASE
	.long GA_IMG_NSITES
	.long 0
	.quad plmc_site_in - GA_BASE
	.quad plmc_site_out - GA_BASE
	.quad 0, 0

	.text
	.section .text.gate, "ax"

/* Slot record address of slot index \idx into \dst (\tmp clobbered). */
.macro SLOT_REC dst, idx, tmp
	mov \idx, \dst
	shl $GA_SLOT_SHIFT, \dst
	movabs $GA_SLOTS_ADDR, \tmp
	add \tmp, \dst
.endm

/*
 * The gate body. In: rdi op, rsi req, rdx slot (ABI). Register use:
 * r8 slot index, r9 client PKRU, r10 slot record, r11 state id<<1.
 */
.macro GATE pku
	mov %rdx, %r8
	.if \pku
	xor %ecx, %ecx
	rdpkru				/* eax = client PKRU, edx = 0 */
	mov %eax, %r9d
	xor %ecx, %ecx
	xor %edx, %edx
	xor %eax, %eax
	.globl plmc_site_in
plmc_site_in:
	wrpkru				/* site 0: PKRU = 0, store open */
	test %eax, %eax
	jnz gate_abort
	.else
	xor %r9d, %r9d
	.endif

	/* Slot index in range; the attachment's id from the ppage. */
	cmp $GA_NSLOTS, %r8
	jae 81f
	movabs $GA_PPAGE_ADDR, %r10
	mov GA_PP_ATTACH_ID(%r10), %r11
	test %r11, %r11
	jz 83f
	mov %r11, %rax
	shr $GA_ATTACH_ID_MAX_SHIFT, %rax
	jnz 83f
	add %r11, %r11			/* id << 1: ours, not busy */

	/*
	 * Claim: id<<1 -> id<<1|1 (ours), else 0 -> id<<1|1 (free), else
	 * take over a slot whose owner the backend marked dead (dead ==
	 * state >> 1): state -> id<<1|1, and kv_dispatch recovers the dead
	 * call's record before anything else (recover.c). The dead mark is
	 * read before the cmpxchg and the cmpxchg expects the state it was
	 * read with: a dead id never owns a slot again, so a state that
	 * still names it is still the dead one's (a recoverer's claim or
	 * its release changes it, and the cmpxchg fails).
	 */
	SLOT_REC %r10, %r8, %rax
	lea 1(%r11), %rcx
	mov %r11, %rax
	lock cmpxchg %rcx, GA_SLOT_STATE(%r10)
	je 1f
	test %rax, %rax
	jz 5f
	mov %rax, %rdx			/* taken: owner marked dead? */
	shr $1, %rdx
	jz 82f
	cmp GA_SLOT_DEAD(%r10), %rdx
	jne 82f
5:	lock cmpxchg %rcx, GA_SLOT_STATE(%r10)	/* rax: 0 or the dead state */
	jne 82f
	mov %rax, GA_SLOT_EXIT_STATE(%r10)	/* what to put back if over */

	/*
	 * kv_area.slot_hi > slot index: the reclaim scans read slots below
	 * it only (kvcore/epoch.c), so it is raised here, before this
	 * slot's first announcement (a later call on the fast path above
	 * found it raised by this claim or an earlier one). lock cmpxchg:
	 * a full barrier; pairs with the scans' seq_cst fences. Only
	 * grows; a claim given back over quota leaves it raised (a scan
	 * reads one more idle slot).
	 */
	movabs $GA_KV_SLOT_HI_ADDR, %rdx
	lea 1(%r8), %rcx
	mov (%rdx), %rax
11:	cmp %rcx, %rax
	jae 12f
	lock cmpxchg %rcx, (%rdx)	/* fails: rax = the newer value */
	jne 11b
12:

	/*
	 * A new slot (free or taken over): over this uid's quota? Park the
	 * client PKRU in the record (r9 is needed), record the uid (from the
	 * ppage: the backend's, read-only here), then count the slots of
	 * live owners that name this uid. Store, mfence, loads: of two
	 * claimers of one uid racing, at least one sees the other's uid, so
	 * survivors never exceed the quota (both may back off). A stale uid
	 * of a slot being re-claimed reads as ~0 (kvcore writes it before
	 * any slot goes free). Slots of dead owners do not count: a uid
	 * whose processes were killed is not starved by their corpses.
	 * Over it: put the state back (0, or the dead owner's so recovery
	 * still finds it) and answer NOSLOT.
	 */
	mov %r9d, GA_SLOT_CLIENT_PKRU(%r10)
	movabs $GA_PPAGE_ADDR, %rax
	mov GA_PP_UID(%rax), %r9d
	mov %r9d, GA_SLOT_UID(%r10)
	mfence				/* pairs with the other claimers' */
	movabs $GA_SLOTS_ADDR, %r10
	xor %eax, %eax			/* count */
	xor %edx, %edx			/* offset of slot record i */
2:	mov GA_SLOT_STATE(%r10, %rdx), %rcx
	shr $1, %rcx			/* owner id */
	jz 3f
	cmp GA_SLOT_DEAD(%r10, %rdx), %rcx
	je 3f
	cmp GA_SLOT_UID(%r10, %rdx), %r9d
	jne 3f
	inc %eax
3:	add $(1 << GA_SLOT_SHIFT), %edx
	cmp $(GA_NSLOTS << GA_SLOT_SHIFT), %edx
	jb 2b
	movabs $GA_STORE_ADDR, %rcx
	mov GA_HDR_SLOT_QUOTA(%rcx), %ecx	/* trusted: the creator's */
	test %ecx, %ecx
	jnz 4f
	mov $GA_SLOT_QUOTA_DEFAULT, %ecx
4:	SLOT_REC %r10, %r8, %rdx
	mov GA_SLOT_CLIENT_PKRU(%r10), %r9d
	cmp %ecx, %eax
	jbe 1f
	movl $-1, GA_SLOT_UID(%r10)
	mov GA_SLOT_EXIT_STATE(%r10), %rcx
	mov %rcx, GA_SLOT_STATE(%r10)	/* put the claim back */
	jmp 84f
1:
	mov %rsp, GA_SLOT_SAVED_RSP(%r10)
	mov %r9d, GA_SLOT_CLIENT_PKRU(%r10)
	mov %r11, GA_SLOT_EXIT_STATE(%r10)

	/* Switch to the slot's stack: top = STACKS + (i + 1) * SIZE. */
	lea 1(%r8), %rsp
	shl $GA_STACK_SHIFT, %rsp
	movabs $GA_STACKS_ADDR, %rax
	add %rax, %rsp
	cld
	/*
	 * AC must be clear while kvcore runs (a client may set it; kvcore
	 * loads words at any alignment). popfq is microcoded (about 20
	 * cycles): read the flags, and write them back (6:) only in a call
	 * that comes with AC set.
	 */
	pushfq
	testl $GA_EFLAGS_AC, (%rsp)
	jnz 6f
	add $8, %rsp
7:	push %r8			/* twice: keeps rsp 16-aligned */
	push %r8
	mov %r8, %rdx
	call kv_dispatch		/* rdi op, rsi req, rdx slot */
	pop %r8
	pop %r8

	/* Leave: read the record back, then release the slot. */
	SLOT_REC %r10, %r8, %rcx
	mov GA_SLOT_CLIENT_PKRU(%r10), %r9d
	mov GA_SLOT_EXIT_STATE(%r10), %rcx
	mov GA_SLOT_SAVED_RSP(%r10), %rsp
	/* Release (x86: a plain store): pairs with the next claimer's lock
	 * cmpxchg and recover.c's/check.c's acquire loads of state. */
	mov %rcx, GA_SLOT_STATE(%r10)
	jmp 90f

6:	andq $~GA_EFLAGS_AC, (%rsp)	/* AC set: clear it */
	popfq
	jmp 7b

81:	mov $GA_E_INVAL, %rax
	jmp 90f
82:	mov $GA_E_BUSY, %rax
	jmp 90f
83:	mov $GA_E_DETACHED, %rax
	jmp 90f
84:	mov $GA_E_NOSLOT, %rax

	/* Exit. rax = result, r9 = client PKRU; on the client's stack. */
90:	mov %rax, %r11
	.if \pku
	movabs $GA_PPAGE_ADDR, %rsi
	mov GA_PP_PKEY_SHIFT(%rsi), %ecx
	lea -2(%rcx), %edx		/* shift must be 2..30: pkey 1..15 */
	cmp $28, %edx
	ja gate_abort
	mov $3, %eax
	shl %cl, %eax			/* AD | WD of the store key */
	or %r9d, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	.globl plmc_site_out
plmc_site_out:
	wrpkru				/* site 1: store closed */
	/* Re-check from the ppage, not from a register: a jump straight
	 * here brings its own registers. */
	movabs $GA_PPAGE_ADDR, %rcx
	mov GA_PP_PKEY_SHIFT(%rcx), %ecx
	bt %ecx, %eax			/* AD bit of the store key set? */
	jnc gate_abort
	.endif
	mov %r11, %rax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	ret
.endm

	.globl plmc_entry_pku
	.type plmc_entry_pku, @function
	.balign 64
plmc_entry_pku:
	GATE 1
	.size plmc_entry_pku, . - plmc_entry_pku

	.globl plmc_entry_none
	.type plmc_entry_none, @function
	.balign 64
plmc_entry_none:
	GATE 0
	.size plmc_entry_none, . - plmc_entry_none

	/* A failed check: trap, never continue. */
	.type gate_abort, @function
gate_abort:
	ud2
	.size gate_abort, . - gate_abort

	.section .note.GNU-stack, "", @progbits
