// SPDX-License-Identifier: MIT
/*
 * libpl/pku.c - the pku backend: a protection key, no module.
 *
 * For hosts with PKU but without plmc.ko. The segment is the none
 * backend's shm file (/dev/shm/plmc.NAME: a memfd has no name another
 * process could find; a tmpfs file is the same shmem object with one), so
 * create and destroy are none's, and stores move freely between the two.
 * Attach maps what none maps, then tags the image and the data with a key
 * of this process's own (pkey_alloc, access disabled) and calls the gate's
 * pku entry, whose WRPKRUs open and close it: a stray read or write of the
 * store from client code faults with SEGV_PKUERR, as under the module.
 *
 * What it does not do: stop a client that means harm. Nothing scans the
 * process's code, so any WRPKRU, pkey_mprotect or pkey_free of its own
 * opens the store. Attach says so on stderr, once per process.
 *
 * Two things the module would do are done here through the view, a second
 * mapping of the store's header and slot records without the key, at an
 * address of the kernel's choosing: the store clock before each call, and
 * the watcher's death marks (live.c). Only libpl uses the view; a stray
 * write that lands in it is not caught (72 KiB, outside the fixed range).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include "pl.h"

/* Header page and slot records: what the clock and the watcher write. */
#define PL_VIEW_LEN PLMC_KV_OFF

static void pku_announce(void)
{
	static int said;

	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "plmc: backend pku (no module): stray accesses "
				"to the store fault, but a hostile client can "
				"open it; no protection against one\n");
}

static void pku_unmap(void)
{
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
	munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
	munmap((void *)PLMC_BASE, pl.image_map);
	if (pl.view)
		munmap(pl.view, PL_VIEW_LEN);
	pl.view = NULL;
}

/* The view: shared, read+write, key 0, anywhere. */
static int pku_map_view(int fd)
{
	void *v = mmap(NULL, PL_VIEW_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, (off_t)PL_HDR_FOFF);

	if (v == MAP_FAILED)
		return -errno;
	pl.view = v;
	return 0;
}

/* Tag the image and the data with @pkey; from here the store is shut. */
static int pku_tag(int pkey)
{
	if (pkey_mprotect((void *)PLMC_BASE, pl.image_map,
			  PROT_READ | PROT_EXEC, pkey) ||
	    pkey_mprotect((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len,
			  PROT_READ | PROT_WRITE, pkey))
		return -errno;
	return 0;
}

/*
 * Context: pl_lock held, not attached. The header is checked and the
 * attach id taken through the data mapping before it carries the key
 * (pl_shm_map_data); after pku_tag() libpl touches the store only through
 * the gate and the view.
 */
int pl_pku_attach(const char *name)
{
	struct plmc_store_hdr fh, *h;
	__u64 fsize = 0, entry;
	int fd, pkey, rc;

	/* pkey_alloc answers ENOSPC both without PKU and when every key is
	 * taken: ask the CPU first, to tell the caller which. */
	if (!pl_ospke())
		return -EOPNOTSUPP; /* no PKU in this CPU or kernel */
	pku_announce();
	fd = pl_shm_open(name, &fh, &fsize);
	if (fd < 0)
		return fd;
	/* Access disabled in this thread's PKRU; new threads inherit it. */
	pkey = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	if (pkey < 0) {
		rc = -errno; /* ENOSPC: every key is taken */
		goto err_close;
	}
	rc = pl_shm_map_image(fd);
	if (rc)
		goto err_pkey;
	/* Read while the image is still readable here; the key shuts it. */
	entry = ((const struct plmc_image_hdr *)PLMC_BASE)->entry_pku;
	rc = pl_shm_map_data(fd, &fh, fsize);
	if (rc)
		goto err_image;
	rc = pku_map_view(fd);
	if (!rc)
		rc = pl_shm_map_ppage(&fh, PLMC_BACKEND_PKU, pkey);
	if (!rc)
		rc = pku_tag(pkey);
	if (rc)
		goto err_unmap;
	h = pl.view;
	pl.hdr = h;
	pl.pkey = pkey;
	rc = pl_none_live_start(name);
	if (rc) {
		pl.hdr = NULL;
		goto err_unmap;
	}
	pl_numa_attach(); /* nattach: live.c recounts it */
	pl.fd = fd;
	__atomic_store_n(&pl.gate, (pl_gate_fn)(PLMC_BASE + entry),
			 __ATOMIC_RELEASE);
	return 0;

err_unmap:
	pku_unmap();
	pl.pkey = -1;
	goto err_pkey;
err_image:
	munmap((void *)PLMC_BASE, pl.image_map);
err_pkey:
	pkey_free(pkey);
err_close:
	close(fd);
	return rc;
}

/* Context: pl_lock held, slots already released. */
void pl_pku_detach(void)
{
	pl_none_live_stop(); /* recounts nattach */
	pl.hdr = NULL;
	pku_unmap();
	close(pl.fd);
	pl.fd = -1;
	/* No mapping carries the key any more; freeing it opens nothing. */
	pkey_free(pl.pkey);
	pl.pkey = -1;
}

/* fork child: its copies of the mappings and of the parent's lock go. */
void pl_pku_forget(void)
{
	pku_unmap();
	pl_none_forget();
	pkey_free(pl.pkey);
}
