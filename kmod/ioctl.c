// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - the /dev/plmc ioctls: copy the whole argument in, validate
 * every field, then act. Nothing is changed before validation passes.
 * An unknown command (or a struct of the wrong size: the size is part of
 * the command number) is -ENOTTY.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "plmc_kmod.h"

static bool plmc_name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* [A-Za-z0-9._-]{1,63}, NUL-terminated inside the buffer. */
static int plmc_check_name(const char name[PLMC_NAME_LEN])
{
	size_t len = strnlen(name, PLMC_NAME_LEN), i;

	if (!len || len >= PLMC_NAME_LEN)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!plmc_name_char_ok(name[i]))
			return -EINVAL;
	return 0;
}

/* What this machine could back at all: half of its RAM. */
static u64 plmc_store_cap(void)
{
	return ((u64)totalram_pages() << PAGE_SHIFT) / 2;
}

static int plmc_may_create(void)
{
	if (plmc_create_gid >= 0 &&
	    in_group_p(make_kgid(&init_user_ns, plmc_create_gid)))
		return 0;
	return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

/* Return: 0, -EINVAL (a bad field) or -ENOMEM (larger than we could back). */
static int plmc_check_create(const struct plmc_create_args *a)
{
	if (plmc_check_name(a->name))
		return -EINVAL;
	if (a->size < PLMC_STORE_MIN || a->size > PLMC_STORE_MAX ||
	    a->size % PLMC_STORE_ALIGN)
		return -EINVAL;
	if (a->mode & ~0777U || a->flags || a->pad1 || a->reserved[0])
		return -EINVAL;
	if (a->tenants > PLMC_TENANT_MAX)
		return -EINVAL;
	if (a->numa > PLMC_NUMA_MAX)
		return -EINVAL;
	if (a->numa == PLMC_NUMA_BIND
		    ? a->numa_node >= MAX_NUMNODES ||
			      !node_state(a->numa_node, N_MEMORY)
		    : a->numa_node != 0)
		return -EINVAL;
	if (!plmc_cfg_ok(a->item_max, a->slab_factor, a->slab_min))
		return -EINVAL;
	if (a->slot_quota > PLMC_MAX_SLOTS || a->pad)
		return -EINVAL;
	if (!a->image_len || a->image_len > PLMC_IMAGE_MAX)
		return -EINVAL;
	if (a->size > plmc_store_cap())
		return -ENOMEM;
	return 0;
}

/*
 * The owner named in the request. CAP_SYS_ADMIN may name anyone; a
 * create_gid member only itself (fsuid) and one of its groups.
 */
static int plmc_create_owner(const struct plmc_create_args *a, kuid_t *uid,
			     kgid_t *gid)
{
	*uid = make_kuid(current_user_ns(), a->uid);
	*gid = make_kgid(current_user_ns(), a->gid);
	if (!uid_valid(*uid) || !gid_valid(*gid))
		return -EINVAL;
	if (uid_eq(*uid, current_fsuid()) && in_group_p(*gid))
		return 0;
	return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

static long plmc_ioc_create(void __user *argp)
{
	struct plmc_create_args a;
	struct plmc_seg *seg;
	kuid_t uid;
	kgid_t gid;
	void *image;
	int rc;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	rc = plmc_may_create();
	if (rc)
		return rc;
	rc = plmc_check_create(&a);
	if (rc)
		return rc;
	rc = plmc_create_owner(&a, &uid, &gid);
	if (rc)
		return rc;
	image = plmc_image_copy_in(a.image, a.image_len);
	if (IS_ERR(image))
		return PTR_ERR(image);
	seg = plmc_seg_alloc(&a, image, uid, gid);
	if (IS_ERR(seg)) {
		rc = PTR_ERR(seg);
		goto err_free_image;
	}
	rc = plmc_seg_publish(seg);
	if (rc)
		goto err_free_seg;
	return 0;

err_free_seg:
	plmc_seg_free_unpublished(seg); /* the image with it */
	return rc;
err_free_image:
	plmc_image_free(image);
	return rc;
}

static long plmc_ioc_attach(struct plmc_file *pf, void __user *argp)
{
	struct plmc_attach_args a;
	int rc;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (plmc_check_name(a.name) || a.pkey < 1 || a.pkey > 15 || a.flags)
		return -EINVAL;
	rc = plmc_attach(pf, &a);
	if (rc)
		return rc;
	/* The fd stays attached if this fails; closing it detaches. */
	if (copy_to_user(argp, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

static long plmc_ioc_destroy(void __user *argp)
{
	struct plmc_destroy_args a;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (plmc_check_name(a.name) || a.flags & ~PLMC_DESTROY_FORCE || a.pad)
		return -EINVAL;
	return plmc_seg_destroy(a.name, a.flags);
}

static long plmc_ioc_info(void __user *argp)
{
	struct plmc_info_args a;
	int rc;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (plmc_check_name(a.name))
		return -EINVAL;
	rc = plmc_seg_info(&a);
	if (rc)
		return rc;
	if (copy_to_user(argp, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

static long plmc_ioc_nodes(void __user *argp)
{
	struct plmc_nodes_args a;
	int rc;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (plmc_check_name(a.name) || a.pad)
		return -EINVAL;
	rc = plmc_seg_nodes(&a);
	if (rc)
		return rc;
	if (copy_to_user(argp, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

/* Context: process context, no locks held. */
long plmc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case PLMC_IOC_CREATE:
		return plmc_ioc_create(argp);
	case PLMC_IOC_ATTACH:
		return plmc_ioc_attach(file->private_data, argp);
	case PLMC_IOC_DESTROY:
		return plmc_ioc_destroy(argp);
	case PLMC_IOC_INFO:
		return plmc_ioc_info(argp);
	case PLMC_IOC_NODES:
		return plmc_ioc_nodes(argp);
	default:
		return -ENOTTY;
	}
}
