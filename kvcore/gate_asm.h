/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * kvcore/gate_asm.h - constants gate.S needs, as plain numbers (assembly
 * cannot read C structs). gate_check.c asserts each one against the C
 * definition (offsetof, layout.h, plmc.h), so a layout change that forgets
 * this file fails the build instead of the gate.
 */
#ifndef KV_GATE_ASM_H
#define KV_GATE_ASM_H

/* struct plmc_slot */
#define GA_SLOT_STATE	    0
#define GA_SLOT_DEAD	    8
#define GA_SLOT_UID	    28
#define GA_SLOT_SAVED_RSP   16
#define GA_SLOT_CLIENT_PKRU 24
#define GA_SLOT_EXIT_STATE  40
#define GA_SLOT_SHIFT	    8 /* PLMC_SLOT_SIZE == 1 << 8 */
#define GA_NSLOTS	    256

/* struct plmc_ppage */
#define GA_PP_ATTACH_ID	 8
#define GA_PP_PKEY_SHIFT 20
#define GA_PP_UID	 32

/* struct plmc_store_hdr */
#define GA_HDR_SLOT_QUOTA     144
#define GA_SLOT_QUOTA_DEFAULT 64

/* Addresses (layout.h) */
#define GA_PPAGE_ADDR	       0x600000100000
#define GA_SLOTS_ADDR	       0x600000601000
#define GA_STACKS_ADDR	       0x600000200000
#define GA_STORE_ADDR	       0x600000600000
#define GA_KV_SLOT_HI_ADDR     0x600000611008 /* &kv_area()->slot_hi */
#define GA_STACK_SHIFT	       14 /* PLMC_STACK_SIZE == 1 << 14 */
#define GA_ATTACH_ID_MAX_SHIFT 62 /* attach ids are < 2^62 */

/* Results (plmc.h) */
#define GA_E_INVAL    (-30900)
#define GA_E_BUSY     (-30905)
#define GA_E_NOSLOT   (-30906)
#define GA_E_DETACHED (-30909)

/* struct plmc_image_hdr (image.h) */
#define GA_IMG_MAGIC	 0x31474d49434d4c50
#define GA_IMG_VERSION	 1
#define GA_IMG_HDR_SIZE	 96
#define GA_IMG_NSITES	 2 /* entry and exit WRPKRU of the pku gate */
#define GA_IMG_SITES_MAX 4
#define GA_BASE		 0x600000000000

/* EFLAGS.AC: a client could set it to make unaligned accesses fault. */
#define GA_EFLAGS_AC 0x40000

#endif /* KV_GATE_ASM_H */
