/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * plmc/ioctl.h - the /dev/plmc ABI, shared by kmod/ and libpl/.
 *
 * Flow: open("/dev/plmc"); PLMC_IOC_ATTACH binds one segment to the fd;
 * then three mmaps at their fixed addresses, each with pgoff = offset in
 * the range (see layout.h):
 *   image: mmap(BASE+IMAGE_OFF, round_up(image_size, 4K), PROT_READ|PROT_EXEC,
 *               MAP_SHARED|MAP_FIXED_NOREPLACE, fd, IMAGE_OFF)
 *   ppage: mmap(BASE+PPAGE_OFF, 4K, PROT_READ, ..., fd, PPAGE_OFF)
 *   data:  mmap(BASE+DATA_OFF, PLMC_DATA_LEN(store_size),
 *               PROT_READ|PROT_WRITE, ..., fd, DATA_OFF)
 * The module checks address, length, protection and that the caller is the
 * process that attached. MAP_FIXED_NOREPLACE gives EEXIST when the range is
 * taken.
 *
 * Every struct has explicit padding; every field is validated: reserved
 * fields and flags must be zero, names NUL-terminated [A-Za-z0-9._-]{1,63}.
 */
#ifndef PLMC_IOCTL_H
#define PLMC_IOCTL_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include "layout.h"

#define PLMC_DEV_PATH "/dev/plmc"
#define PLMC_IOC_MAGIC 0xB7

/* Create a segment. CAP_SYS_ADMIN, or membership of the module's
 * create_gid. The image is copied and checked (image.h). */
struct plmc_create_args {
	char name[PLMC_NAME_LEN];
	__u64 size;      /* store bytes: PLMC_STORE_MIN..MAX, multiple of ALIGN */
	__u64 image;     /* user pointer to the kvcore image */
	__u64 image_len; /* bytes, <= PLMC_IMAGE_MAX */
	__u32 uid;       /* owner */
	__u32 gid;
	__u32 mode;      /* permission bits, & ~0777 must be 0 */
	__u32 flags;     /* must be 0 */
	__u32 slot_quota; /* slots per attachment, <= PLMC_MAX_SLOTS;
			   * 0: PLMC_SLOT_QUOTA_DEFAULT */
	__u32 pad;        /* must be 0 */
	/* Store settings, 0 = default; ranges: plmc_cfg_ok() (layout.h). */
	__u64 item_max;    /* max item size in bytes (memcached -I) */
	__u32 slab_factor; /* class growth factor x 1000 (-f) */
	__u32 slab_min;    /* key + value room of the smallest class (-n) */
	__u32 numa;      /* PLMC_NUMA_*: where the store's pages go */
	__u32 numa_node; /* PLMC_NUMA_BIND: a node with memory; else 0 */
	__u32 tenants;   /* 0 (none) .. PLMC_TENANT_MAX (docs/tenants.md) */
	__u32 pad1;      /* must be 0 */
	__u64 reserved[1]; /* must be 0: room for fields to come */
};

/*
 * Placement of a segment's data pages (slot stacks and store), chosen at
 * create and fixed for the segment's life (module pages do not migrate).
 * The module asks for each page on the node the policy names and takes
 * another node's only where it says "preferred"; PLMC_IOC_NODES reports
 * where the pages are.
 */
#define PLMC_NUMA_DEFAULT    0 /* as the kernel's vmalloc places them */
#define PLMC_NUMA_LOCAL      1 /* the creating CPU's node, preferred */
#define PLMC_NUMA_INTERLEAVE 2 /* page by page over the nodes with memory */
#define PLMC_NUMA_BIND       3 /* numa_node only: create fails if it cannot */
#define PLMC_NUMA_MAX        PLMC_NUMA_BIND

#define PLMC_NODES_MAX 64 /* nodes reported by PLMC_IOC_NODES */

/* Bind the segment to this fd (once per fd) for the calling process. */
struct plmc_attach_args {
	char name[PLMC_NAME_LEN];
	__u32 pkey;  /* in: allocated by the caller with pkey_alloc, 1..15 */
	__u32 flags; /* in: must be 0 */
	__u64 store_size; /* out */
	__u64 image_size; /* out */
	__u64 attach_id;  /* out */
};

#define PLMC_DESTROY_FORCE 0x1 /* unlink even while attached */

/* Remove a segment's name; memory goes when the last attachment does.
 * Owner or CAP_SYS_ADMIN. -EBUSY while attached, unless FORCE. */
struct plmc_destroy_args {
	char name[PLMC_NAME_LEN];
	__u32 flags; /* PLMC_DESTROY_* */
	__u32 pad;   /* must be 0 */
};

/* Describe a segment (anyone who may attach). */
struct plmc_info_args {
	char name[PLMC_NAME_LEN]; /* in */
	__u64 store_size;         /* out, all below */
	__u64 image_size;
	__u64 nattach;
	__u64 generation;
	__u64 deaths;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 slot_quota; /* slots one attachment may hold */
};

/* Where a segment's data pages are (anyone who may attach). */
struct plmc_nodes_args {
	char name[PLMC_NAME_LEN]; /* in */
	__u32 pad;		  /* in: must be 0 */
	__u32 numa;		  /* out: PLMC_NUMA_* given at create */
	__u32 numa_node;	  /* out */
	__u32 nr_nodes;		  /* out: highest node id with memory + 1 */
	__u64 pages[PLMC_NODES_MAX]; /* out: data pages on each node */
};

#define PLMC_IOC_CREATE _IOW(PLMC_IOC_MAGIC, 1, struct plmc_create_args)
#define PLMC_IOC_ATTACH _IOWR(PLMC_IOC_MAGIC, 2, struct plmc_attach_args)
#define PLMC_IOC_DESTROY _IOW(PLMC_IOC_MAGIC, 3, struct plmc_destroy_args)
#define PLMC_IOC_INFO _IOWR(PLMC_IOC_MAGIC, 4, struct plmc_info_args)
#define PLMC_IOC_NODES _IOWR(PLMC_IOC_MAGIC, 5, struct plmc_nodes_args)

#endif /* PLMC_IOCTL_H */
