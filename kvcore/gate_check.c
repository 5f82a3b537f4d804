// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/gate_check.c - compile-time proof that gate_asm.h matches the C
 * layout. Emits no code.
 */
#include <stddef.h>
#include "kv.h"
#include <plmc/image.h>
#include "gate_asm.h"

#define GA_CHECK(a, b) _Static_assert((a) == (b), #a " != " #b)

GA_CHECK(GA_SLOT_STATE, offsetof(struct plmc_slot, state));
GA_CHECK(GA_SLOT_DEAD, offsetof(struct plmc_slot, dead));
GA_CHECK(GA_SLOT_UID, offsetof(struct plmc_slot, uid));
GA_CHECK(GA_PP_UID, offsetof(struct plmc_ppage, uid));
GA_CHECK(GA_SLOT_SAVED_RSP, offsetof(struct plmc_slot, saved_rsp));
GA_CHECK(GA_SLOT_CLIENT_PKRU, offsetof(struct plmc_slot, client_pkru));
GA_CHECK(GA_SLOT_EXIT_STATE, offsetof(struct plmc_slot, exit_state));
GA_CHECK(1ULL << GA_SLOT_SHIFT, PLMC_SLOT_SIZE);
GA_CHECK(GA_NSLOTS, PLMC_MAX_SLOTS);
GA_CHECK(GA_PP_ATTACH_ID, offsetof(struct plmc_ppage, attach_id));
GA_CHECK(GA_PP_PKEY_SHIFT, offsetof(struct plmc_ppage, pkey_shift));
GA_CHECK(GA_PPAGE_ADDR, PLMC_PPAGE_ADDR);
GA_CHECK(GA_SLOTS_ADDR, PLMC_SLOTS_ADDR);
GA_CHECK(GA_STACKS_ADDR, PLMC_STACKS_ADDR);
GA_CHECK(1ULL << GA_STACK_SHIFT, PLMC_STACK_SIZE);
GA_CHECK(GA_E_INVAL, PLMC_E_INVAL);
GA_CHECK(GA_E_BUSY, PLMC_E_BUSY);
GA_CHECK(GA_E_DETACHED, PLMC_E_DETACHED);
GA_CHECK(GA_E_NOSLOT, PLMC_E_NOSLOT);
GA_CHECK(GA_STORE_ADDR, PLMC_STORE_ADDR);
GA_CHECK(GA_KV_SLOT_HI_ADDR, PLMC_KV_ADDR + offsetof(struct kv_area, slot_hi));
GA_CHECK(GA_HDR_SLOT_QUOTA, offsetof(struct plmc_store_hdr, slot_quota));
GA_CHECK(GA_SLOT_QUOTA_DEFAULT, PLMC_SLOT_QUOTA_DEFAULT);
GA_CHECK(GA_IMG_MAGIC, PLMC_IMAGE_MAGIC);
GA_CHECK(GA_IMG_VERSION, PLMC_IMAGE_VERSION);
GA_CHECK(GA_IMG_HDR_SIZE, sizeof(struct plmc_image_hdr));
GA_CHECK(GA_IMG_SITES_MAX, PLMC_IMAGE_SITES);
GA_CHECK(GA_BASE, PLMC_BASE);
/* gate.S writes the header fields in this order, 8-byte words mostly. */
GA_CHECK(8, offsetof(struct plmc_image_hdr, version));
GA_CHECK(16, offsetof(struct plmc_image_hdr, image_size));
GA_CHECK(24, offsetof(struct plmc_image_hdr, text_start));
GA_CHECK(32, offsetof(struct plmc_image_hdr, text_end));
GA_CHECK(40, offsetof(struct plmc_image_hdr, entry_pku));
GA_CHECK(48, offsetof(struct plmc_image_hdr, entry_none));
GA_CHECK(56, offsetof(struct plmc_image_hdr, nsites));
GA_CHECK(64, offsetof(struct plmc_image_hdr, sites));
