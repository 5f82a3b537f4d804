// SPDX-License-Identifier: GPL-2.0
/*
 * image.c - copy a kvcore image in from user space and check it.
 *
 * The check is plmc_image_check() from <plmc/image.h>, the same code the
 * build and libpl run: no WRPKRU outside the registered gate sites, no
 * XRSTOR at all, entries and sites inside the text. The copy is the only
 * version ever mapped (read-only and unchangeable), so what was checked is
 * what runs: the user buffer is read once and not looked at again.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <plmc/image.h>
#include "plmc_kmod.h"

static const char *const plmc_image_errs[] = {
	[PLMC_IMG_OK] = "ok",
	[PLMC_IMG_SHORT] = "short or size mismatch",
	[PLMC_IMG_MAGIC] = "bad magic, version or header size",
	[PLMC_IMG_BIG] = "too large",
	[PLMC_IMG_TEXT] = "text range outside the image",
	[PLMC_IMG_ENTRY] = "entry outside text",
	[PLMC_IMG_SITE] = "gate site outside text or not WRPKRU",
	[PLMC_IMG_WRPKRU] = "WRPKRU outside the gate sites",
	[PLMC_IMG_XRSTOR] = "XRSTOR in the image",
};

static const char *plmc_image_err_name(int err)
{
	if (err < 0 || err >= (int)ARRAY_SIZE(plmc_image_errs))
		return "unknown";
	return plmc_image_errs[err];
}

/*
 * plmc_image_copy_in() - copy and check an image.
 * @uptr: user address of the image
 * @len: its length, 1..PLMC_IMAGE_MAX (validated by the caller, rechecked)
 *
 * The copy is padded with zeros to whole pages (it is mapped by page).
 * Context: process context, may sleep.
 * Return: the copy, or ERR_PTR(-EINVAL / -EFAULT / -ENOMEM).
 */
void *plmc_image_copy_in(u64 uptr, u64 len)
{
	void *img;
	int err;

	if (!len || len > PLMC_IMAGE_MAX)
		return ERR_PTR(-EINVAL);
	img = __vmalloc(PAGE_ALIGN(len), GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!img)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(img, u64_to_user_ptr(uptr), len)) {
		err = -EFAULT;
		goto err_free;
	}
	err = plmc_image_check(img, len);
	if (err != PLMC_IMG_OK) {
		pr_info_ratelimited(PLMC_DRV ": image refused: %s\n",
				    plmc_image_err_name(err));
		err = -EINVAL;
		goto err_free;
	}
	return img;

err_free:
	vfree(img);
	return ERR_PTR(err);
}

void plmc_image_free(void *image)
{
	vfree(image);
}
