// SPDX-License-Identifier: MIT
/*
 * libpl/numa.c - where a store's pages go (chosen at create) and where
 * they are (reported per node).
 *
 * kmod: the policy rides in PLMC_IOC_CREATE and the module allocates by
 * it; PLMC_IOC_NODES counts the pages per node.
 * none, pku: the segment is a tmpfs file, which keeps a memory policy of
 * its own (a shared policy, held by the inode): create sets it with mbind
 * on a mapping of the data range before anything is written there, and
 * every later allocation of the file's pages, by any process, follows it.
 * The report faults in (reads) only the pages the file already has
 * (mincore), then asks move_pages where each one is, moving nothing.
 *
 * The system calls are used directly, not through libnuma: libpl.a is
 * linked into every client, and three calls do not warrant a dependency.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "pl.h"

#define PL_NODE_BITS 1024 /* >= the kernel's node count, as it requires */
#define PL_NODE_LONGS (PL_NODE_BITS / (8 * sizeof(unsigned long)))
#define PL_QUERY 4096	  /* pages per move_pages call */

/* Nodes this process may allocate on: bits in @mask. Return: 0 or -errno. */
static int numa_allowed(unsigned long *mask)
{
	memset(mask, 0, PL_NODE_LONGS * sizeof(*mask));
	if (syscall(SYS_get_mempolicy, NULL, mask, PL_NODE_BITS, NULL,
		    MPOL_F_MEMS_ALLOWED))
		return -errno;
	return 0;
}

static int node_in(const unsigned long *mask, unsigned n)
{
	return n < PL_NODE_BITS &&
	       (mask[n / (8 * sizeof(long))] >> (n % (8 * sizeof(long)))) & 1;
}

int pl_numa_ok(unsigned numa, unsigned node)
{
	if (numa > PLMC_NUMA_BIND)
		return 0;
	return numa == PLMC_NUMA_BIND ? node < PLMC_NUMA_NODES : node == 0;
}

/*
 * Set @numa as the policy of the shm file @fd's data range (stacks and
 * store of a @size store). Return: 0, -EINVAL (no such node here), -errno.
 */
int pl_shm_set_numa(int fd, __u64 size, unsigned numa, unsigned node)
{
	unsigned long mask[PL_NODE_LONGS], len = PLMC_DATA_LEN(size);
	int mode, rc;
	void *p;

	if (numa == PLMC_NUMA_DEFAULT)
		return 0;
	rc = numa_allowed(mask);
	if (rc)
		return rc;
	if (numa == PLMC_NUMA_BIND) {
		if (!node_in(mask, node))
			return -EINVAL;
		memset(mask, 0, sizeof(mask));
		mask[node / (8 * sizeof(long))] = 1UL << (node % (8 * sizeof(long)));
	}
	mode = numa == PLMC_NUMA_LOCAL	    ? MPOL_LOCAL
	       : numa == PLMC_NUMA_BIND	    ? MPOL_BIND
					    : MPOL_INTERLEAVE;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)PLMC_IMAGE_MAX);
	if (p == MAP_FAILED)
		return -errno;
	/* mbind counts maxnode - 1 bits. */
	rc = syscall(SYS_mbind, p, len, mode,
		     mode == MPOL_LOCAL ? NULL : mask,
		     mode == MPOL_LOCAL ? 0 : PL_NODE_BITS + 1, 0)
		     ? -errno
		     : 0;
	munmap(p, len);
	return rc;
}

/*
 * none, pku, at attach: should slot stacks follow their threads? Only with
 * more than one node, and not under BIND (the store's node was asked for).
 */
void pl_numa_attach(void)
{
	unsigned long mask[PL_NODE_LONGS];
	unsigned n, nodes = 0;
	int mode = MPOL_DEFAULT;

	pl.stack_numa = 0;
	if (numa_allowed(mask))
		return;
	for (n = 0; n < PL_NODE_BITS; n++)
		nodes += node_in(mask, n);
	/* Read at the store: slot stacks may carry policies of their own. */
	if (nodes < 2 ||
	    syscall(SYS_get_mempolicy, &mode, NULL, 0, (void *)PLMC_STORE_ADDR,
		    MPOL_F_ADDR) ||
	    mode == MPOL_BIND)
		return;
	pl.stack_numa = 1;
}

/*
 * A thread is about to use slot @slot: prefer its node for that slot's
 * stack. The policy is the file's (shared), so later allocations of those
 * pages go there whoever touches them; MPOL_MF_MOVE moves the pages only
 * this process maps, and leaves alone those other processes map too (they
 * stay where they are: "where possible"). One system call, slow path only.
 */
void pl_numa_stack(int slot)
{
	unsigned long mask[PL_NODE_LONGS];
	unsigned cpu, node;

	if (!pl.stack_numa || syscall(SYS_getcpu, &cpu, &node, NULL) ||
	    node >= PL_NODE_BITS)
		return;
	memset(mask, 0, sizeof(mask));
	mask[node / (8 * sizeof(long))] = 1UL << (node % (8 * sizeof(long)));
	syscall(SYS_mbind,
		(void *)(PLMC_STACKS_ADDR + (__u64)slot * PLMC_STACK_SIZE),
		PLMC_STACK_SIZE, MPOL_PREFERRED, mask, PL_NODE_BITS + 1,
		MPOL_MF_MOVE);
}

static unsigned numa_from_mode(int mode)
{
	switch (mode) {
	case MPOL_LOCAL:
		return PLMC_NUMA_LOCAL;
	case MPOL_INTERLEAVE:
		return PLMC_NUMA_INTERLEAVE;
	case MPOL_BIND:
		return PLMC_NUMA_BIND;
	default:
		return PLMC_NUMA_DEFAULT;
	}
}

static void numa_nr_nodes(struct plmc_numa *out)
{
	unsigned long mask[PL_NODE_LONGS];
	unsigned n;

	out->nr_nodes = 0;
	if (numa_allowed(mask))
		return;
	for (n = 0; n < PLMC_NUMA_NODES; n++)
		if (node_in(mask, n))
			out->nr_nodes = n + 1;
}

/* Count the resident pages of [p, p + len) per node. */
static int numa_count(char *p, unsigned long len, struct plmc_numa *out)
{
	unsigned long n = len / 4096, i, j, k;
	unsigned char *res = malloc(n);
	void **pages = malloc(PL_QUERY * sizeof(*pages));
	int *st = malloc(PL_QUERY * sizeof(*st)), rc = 0;

	if (!res || !pages || !st) {
		rc = -ENOMEM;
		goto out;
	}
	if (mincore(p, len, res)) {
		rc = -errno;
		goto out;
	}
	/* Batches of up to PL_QUERY resident pages; k walks every page once. */
	for (k = 0; k < n;) {
		for (j = 0; k < n && j < PL_QUERY; k++) {
			if (!(res[k] & 1)) {
				out->absent++;
				continue;
			}
			(void)*(volatile char *)(p + k * 4096); /* map it */
			pages[j++] = p + k * 4096;
		}
		if (j && syscall(SYS_move_pages, 0, j, pages, NULL, st, 0)) {
			rc = -errno;
			goto out;
		}
		for (i = 0; i < j; i++) {
			if (st[i] >= 0 && st[i] < PLMC_NUMA_NODES)
				out->pages[st[i]]++;
			else
				out->absent++;
		}
	}
out:
	free(res);
	free(pages);
	free(st);
	return rc;
}

/* none, pku: from the file, read-only; nothing is allocated. */
static int numa_info_shm(const char *name, struct plmc_numa *out)
{
	unsigned long mask[PL_NODE_LONGS];
	struct plmc_store_hdr h;
	char path[128];
	int fd, mode = 0, rc;
	__u64 len;
	void *p;

	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = pread(fd, &h, sizeof(h), PL_HDR_FOFF) == (ssize_t)sizeof(h)
		     ? 0
		     : PLMC_E_CORRUPT;
	if (!rc && (h.magic != PLMC_STORE_MAGIC || !pl_size_ok(h.store_size)))
		rc = PLMC_E_CORRUPT;
	if (rc)
		goto out_close;
	len = PLMC_DATA_LEN(h.store_size);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)PLMC_IMAGE_MAX);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	memset(mask, 0, sizeof(mask));
	/* At the store header: slot stacks may carry policies of their own. */
	if (!syscall(SYS_get_mempolicy, &mode, mask, PL_NODE_BITS,
		     (char *)p + (PLMC_STORE_OFF - PLMC_DATA_OFF), MPOL_F_ADDR)) {
		out->numa = numa_from_mode(mode);
		if (out->numa == PLMC_NUMA_BIND)
			while (out->node < PLMC_NUMA_NODES - 1 &&
			       !node_in(mask, out->node))
				out->node++;
	}
	rc = numa_count(p, len, out);
	munmap(p, len);
out_close:
	close(fd);
	return rc;
}

static int numa_info_kmod(const char *name, struct plmc_numa *out)
{
	struct plmc_nodes_args a;
	int fd, rc = 0, i;

	fd = open(PLMC_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	if (ioctl(fd, PLMC_IOC_NODES, &a))
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	out->numa = a.numa;
	out->node = a.numa_node;
	out->nr_nodes = a.nr_nodes;
	for (i = 0; i < PLMC_NUMA_NODES && i < PLMC_NODES_MAX; i++)
		out->pages[i] = a.pages[i];
	return 0;
}

int plmc_numa_info(const char *name, int use, struct plmc_numa *out)
{
	int b = pl_choose(use);

	if (b < 0)
		return b;
	if (!pl_name_ok(name))
		return PLMC_E_NAME;
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (b == PLMC_BACKEND_KMOD)
		return numa_info_kmod(name, out);
	numa_nr_nodes(out);
	return numa_info_shm(name, out);
}
