// SPDX-License-Identifier: MIT
/*
 * libpl/kmod.c - the kmod backend: /dev/plmc and a real protection key.
 *
 * Attach: open the device, allocate a pkey (access disabled for this
 * thread; other threads start with it disabled too), bind the segment
 * with PLMC_IOC_ATTACH, then the three fixed mappings ioctl.h describes.
 * From then on the store is unreadable here: libpl only reads the ppage
 * and trusts the ioctl's answers. The gate address comes from the images
 * built into libpl, one of which must be the image the segment runs (same
 * size, checked; the module checked the image itself at create).
 * Any failure unwinds every step; a crash is the module's to notice.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "pl.h"

/* Return: the fd, -ENODEV when there is no /dev/plmc (a missing
 * device is not a missing store: -ENOENT stays the store's), or -errno. */
static int kmod_open(void)
{
	int fd = open(PLMC_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	return fd;
}

int pl_kmod_create(const char *name, const struct plmc_create_opts *o)
{
	struct plmc_create_args a;
	int fd, rc = 0;

	if (plmc_image_check(pl_image_for(o->flags),
			     pl_image_len_for(o->flags)) != PLMC_IMG_OK)
		return PLMC_E_IMAGE;
	fd = kmod_open();
	if (fd < 0)
		return fd;
	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	a.size = o->store_size;
	a.image = (__u64)(uintptr_t)pl_image_for(o->flags);
	a.image_len = pl_image_len_for(o->flags);
	a.uid = (__u32)geteuid();
	a.gid = o->flags & PLMC_CREATE_GROUP ? o->gid : (__u32)getegid();
	a.mode = o->mode;
	a.item_max = o->item_max;
	a.slab_factor = o->slab_factor;
	a.slab_min = o->slab_min;
	a.slot_quota = o->slot_quota;
	a.numa = o->numa;
	a.numa_node = o->numa_node;
	a.tenants = o->tenants;
	if (ioctl(fd, PLMC_IOC_CREATE, &a))
		rc = -errno;
	close(fd);
	return rc;
}

int pl_kmod_destroy(const char *name, int force)
{
	struct plmc_destroy_args a;
	int fd, rc = 0;

	fd = kmod_open();
	if (fd < 0)
		return fd;
	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	a.flags = force ? PLMC_DESTROY_FORCE : 0;
	if (ioctl(fd, PLMC_IOC_DESTROY, &a))
		rc = -errno;
	close(fd);
	return rc;
}

/* The three mappings, in order; on failure the ones made are undone. */
static int kmod_map(int fd, const struct plmc_attach_args *a)
{
	__u64 img = pl_round_page(a->image_size);
	__u64 data = PLMC_DATA_LEN(a->store_size);
	int rc;

	rc = pl_map_fixed(PLMC_BASE, img, PROT_READ | PROT_EXEC, MAP_SHARED, fd,
			  PLMC_IMAGE_OFF);
	if (rc)
		return rc;
	rc = pl_map_fixed(PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE, PROT_READ,
			  MAP_SHARED, fd, PLMC_PPAGE_OFF);
	if (rc)
		goto err_image;
	rc = pl_map_fixed(PLMC_BASE + PLMC_DATA_OFF, data,
			  PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  PLMC_DATA_OFF);
	if (rc)
		goto err_ppage;
	pl.image_map = img;
	pl.data_len = data;
	return 0;

err_ppage:
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
err_image:
	munmap((void *)PLMC_BASE, img);
	return rc;
}

/* The ppage is ours to read: it must agree with what the ioctl said. */
static int kmod_ppage_ok(const struct plmc_attach_args *a, int pkey)
{
	const struct plmc_ppage *pp = (const void *)PLMC_PPAGE_ADDR;

	if (pp->magic != PLMC_PPAGE_MAGIC || pp->attach_id != a->attach_id ||
	    pp->pkey != (__u32)pkey || pp->pkey_shift != 2U * (__u32)pkey ||
	    pp->backend != PLMC_BACKEND_KMOD)
		return PLMC_E_CORRUPT;
	return 0;
}

/*
 * The gate's pku entry offset in the segment's image, known by its size:
 * the production or the test image built into this library. The store is
 * unreadable here, so the size is all there is to go by; both images put
 * the gate at the same offsets (kvcore/build.mk), and a pair of same-size
 * images whose entries differed would be refused.
 * Return: the offset, or 0 for an image this library did not build.
 */
static __u64 kmod_entry(__u64 image_size)
{
	const struct plmc_image_hdr *p = (const void *)pl_image_for(0);
	const struct plmc_image_hdr *t =
		(const void *)pl_image_for(PLMC_CREATE_TEST_IMAGE);
	int prod = image_size == pl_image_len_for(0);
	int test = image_size == pl_image_len_for(PLMC_CREATE_TEST_IMAGE);

	if (prod && test && p->entry_pku != t->entry_pku)
		return 0;
	if (prod)
		return p->entry_pku;
	return test ? t->entry_pku : 0;
}

/* Context: pl_lock held, not attached. */
int pl_kmod_attach(const char *name)
{
	struct plmc_attach_args a;
	int fd, pkey, rc;
	__u64 entry;

	fd = kmod_open();
	if (fd < 0)
		return fd;
	pkey = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	if (pkey < 0) {
		rc = pl_pkey_error(errno);
		goto err_close;
	}
	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	a.pkey = (__u32)pkey;
	if (ioctl(fd, PLMC_IOC_ATTACH, &a)) {
		rc = -errno;
		goto err_pkey;
	}
	entry = kmod_entry(a.image_size);
	if (!entry) {
		rc = PLMC_E_IMAGE; /* another build's image: entry unknown */
		goto err_pkey;
	}
	rc = kmod_map(fd, &a);
	if (rc)
		goto err_pkey;
	rc = kmod_ppage_ok(&a, pkey);
	if (rc)
		goto err_unmap;
	pl.fd = fd;
	pl.pkey = pkey;
	pl.hdr = NULL;
	pl.stack_numa = 0; /* module pages do not move */
	pl.attach_id = a.attach_id;
	__atomic_store_n(&pl.gate, (pl_gate_fn)(PLMC_BASE + entry),
			 __ATOMIC_RELEASE);
	return 0;

err_unmap:
	munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
	munmap((void *)PLMC_BASE, pl.image_map);
err_pkey:
	/* The fd still binds the segment; closing it detaches. */
	close(fd);
	fd = -1;
	pkey_free(pkey);
err_close:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Context: pl_lock held, slots already released. */
void pl_kmod_detach(void)
{
	munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
	munmap((void *)PLMC_BASE, pl.image_map);
	close(pl.fd);
	pl.fd = -1;
	/* No mapping carries the key any more; freeing it opens nothing. */
	pkey_free(pl.pkey);
	pl.pkey = -1;
}
