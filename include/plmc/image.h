/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plmc/image.h - the kvcore image header and the image check.
 *
 * The image is a flat binary linked to run at PLMC_BASE. It starts with
 * struct plmc_image_hdr. plmc_image_check() is the one check, used by the
 * module at create, by the build (tools/imgcheck) and by the none backend:
 *   - magic, version, sizes;
 *   - text range, entries and gate sites inside the image;
 *   - each registered site holds WRPKRU (0F 01 EF);
 *   - no WRPKRU byte sequence anywhere else, no XRSTOR/XRSTOR64
 *     (0F AE /5 with a memory operand) anywhere: both could load PKRU.
 * Pure C on bytes: builds in the kernel, freestanding and in user space.
 */
#ifndef PLMC_IMAGE_H
#define PLMC_IMAGE_H

#include <linux/types.h>
#include "layout.h"

#define PLMC_IMAGE_MAGIC 0x31474d49434d4c50ULL /* "PLMCIMG1" */
#define PLMC_IMAGE_VERSION 1
#define PLMC_IMAGE_SITES 4

struct plmc_image_hdr {
	__u64 magic;       /* PLMC_IMAGE_MAGIC */
	__u32 version;     /* PLMC_IMAGE_VERSION */
	__u32 hdr_size;    /* sizeof(struct plmc_image_hdr) */
	__u64 image_size;  /* bytes in the file */
	__u64 text_start;  /* executable bytes: [text_start, text_end) */
	__u64 text_end;
	__u64 entry_pku;   /* gate entry that switches PKRU */
	__u64 entry_none;  /* gate entry for the none backend: no switch */
	__u32 nsites;      /* WRPKRU sites in use, <= PLMC_IMAGE_SITES */
	__u32 pad;
	__u64 sites[PLMC_IMAGE_SITES]; /* offsets of WRPKRU instructions */
};

enum plmc_image_err {
	PLMC_IMG_OK = 0,
	PLMC_IMG_SHORT,    /* smaller than its header, or size mismatch */
	PLMC_IMG_MAGIC,    /* magic, version or header size wrong */
	PLMC_IMG_BIG,      /* larger than PLMC_IMAGE_MAX */
	PLMC_IMG_TEXT,     /* text range outside the image */
	PLMC_IMG_ENTRY,    /* an entry outside text */
	PLMC_IMG_SITE,     /* a site outside text or not a WRPKRU */
	PLMC_IMG_WRPKRU,   /* WRPKRU bytes outside the registered sites */
	PLMC_IMG_XRSTOR,   /* XRSTOR bytes anywhere */
};

static inline int plmc_image_in_text(const struct plmc_image_hdr *h,
				     __u64 off, __u64 len)
{
	return off >= h->text_start && off <= h->text_end &&
	       len <= h->text_end - off;
}

static inline int plmc_image_is_site(const struct plmc_image_hdr *h, __u64 off)
{
	__u32 i;

	for (i = 0; i < h->nsites; i++)
		if (h->sites[i] == off)
			return 1;
	return 0;
}

/* 0F AE with ModRM.reg == 5 and ModRM.mod != 3 is XRSTOR (REX.W: XRSTOR64). */
static inline int plmc_image_is_xrstor(const __u8 *p)
{
	return p[0] == 0x0f && p[1] == 0xae && ((p[2] >> 3) & 7) == 5 &&
	       (p[2] >> 6) != 3;
}

static inline int plmc_image_is_wrpkru(const __u8 *p)
{
	return p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xef;
}

/* Return: PLMC_IMG_OK, or the first rule the image breaks. */
static inline int plmc_image_check(const void *img, __u64 len)
{
	const struct plmc_image_hdr *h = (const struct plmc_image_hdr *)img;
	const __u8 *b = (const __u8 *)img;
	__u64 i;

	if (len < sizeof(*h))
		return PLMC_IMG_SHORT;
	if (h->magic != PLMC_IMAGE_MAGIC || h->version != PLMC_IMAGE_VERSION ||
	    h->hdr_size != sizeof(*h) || h->pad)
		return PLMC_IMG_MAGIC;
	if (len > PLMC_IMAGE_MAX)
		return PLMC_IMG_BIG;
	if (h->image_size != len)
		return PLMC_IMG_SHORT;
	if (h->text_start < sizeof(*h) || h->text_start > h->text_end ||
	    h->text_end > len)
		return PLMC_IMG_TEXT;
	if (!plmc_image_in_text(h, h->entry_pku, 1) ||
	    !plmc_image_in_text(h, h->entry_none, 1))
		return PLMC_IMG_ENTRY;
	if (h->nsites > PLMC_IMAGE_SITES)
		return PLMC_IMG_SITE;
	for (i = 0; i < h->nsites; i++)
		if (!plmc_image_in_text(h, h->sites[i], 3) ||
		    !plmc_image_is_wrpkru(b + h->sites[i]))
			return PLMC_IMG_SITE;
	for (i = 0; i + 3 <= len; i++) {
		if (plmc_image_is_wrpkru(b + i) && !plmc_image_is_site(h, i))
			return PLMC_IMG_WRPKRU;
		if (plmc_image_is_xrstor(b + i))
			return PLMC_IMG_XRSTOR;
	}
	return PLMC_IMG_OK;
}

#endif /* PLMC_IMAGE_H */
