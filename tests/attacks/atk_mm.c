/* SPDX-License-Identifier: MIT */
/*
 * atk_mm - attack 2: change the store's mappings from inside the process:
 * pkey_mprotect to an open key, mprotect, mremap, partial munmap, MAP_FIXED
 * over one page. Expected: each call refused (EPERM/EACCES/ENOMEM/EFAULT),
 * and the process still works through the gate afterwards.
 */
#include "attacks.h"

#define DATA_ADDR (PLMC_BASE + PLMC_DATA_OFF)

static int still_works(const char *what, int rc, int err)
{
	if (rc == 0)
		return VM_FAIL("%s succeeded", what);
	if (vm_roundtrip("atk-mm", "still"))
		return -1;
	return ATK_REFUSED("%s", vm_errno_name(err));
}

static int pkey_open(void)
{
	int k, rc;

	if (vm_attach(ATK_STORE))
		return -1;
	k = pkey_alloc(0, 0);
	if (k < 0)
		return VM_FAIL("pkey_alloc: %s", strerror(errno));
	rc = pkey_mprotect((void *)PLMC_STORE_ADDR, 4096,
			   PROT_READ | PROT_WRITE, k);
	return still_works("pkey_mprotect to a fresh key", rc, errno);
}

static int pkey_zero(void)
{
	int rc;

	if (vm_attach(ATK_STORE))
		return -1;
	rc = pkey_mprotect((void *)PLMC_STORE_ADDR, 4096,
			   PROT_READ | PROT_WRITE, 0);
	return still_works("pkey_mprotect to key 0", rc, errno);
}

static int mprotect_image_rw(void)
{
	int rc;

	if (vm_attach(ATK_STORE))
		return -1;
	rc = mprotect((void *)PLMC_BASE, 4096, PROT_READ | PROT_WRITE);
	return still_works("mprotect image RW", rc, errno);
}

static int mprotect_data_exec(void)
{
	int rc;

	if (vm_attach(ATK_STORE))
		return -1;
	rc = mprotect((void *)PLMC_STORE_ADDR, 4096, PROT_READ | PROT_EXEC);
	return still_works("mprotect data RX", rc, errno);
}

static int mremap_move(void)
{
	void *p;

	if (vm_attach(ATK_STORE))
		return -1;
	p = mremap((void *)DATA_ADDR, PLMC_DATA_LEN(VM_STORE_SIZE),
		   PLMC_DATA_LEN(VM_STORE_SIZE), MREMAP_MAYMOVE | MREMAP_FIXED,
		   (void *)0x700000000000ULL);
	return still_works("mremap move", p == MAP_FAILED ? -1 : 0, errno);
}

static int munmap_partial(void)
{
	int rc;

	if (vm_attach(ATK_STORE))
		return -1;
	rc = munmap((void *)(PLMC_STORE_ADDR + 0x10000), 4096);
	return still_works("partial munmap", rc, errno);
}

static int map_fixed_over(void)
{
	void *p;

	if (vm_attach(ATK_STORE))
		return -1;
	p = mmap((void *)(PLMC_STORE_ADDR + 0x20000), 4096,
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0);
	return still_works("MAP_FIXED over a store page",
			   p == MAP_FAILED ? -1 : 0, errno);
}

int main(void)
{
	atk_init();
	atk_run("mm.pkey_mprotect_fresh_key", "EPERM", pkey_open, NULL);
	atk_run("mm.pkey_mprotect_key0", "EPERM", pkey_zero, NULL);
	atk_run("mm.mprotect_image_rw", "EACCES", mprotect_image_rw, NULL);
	atk_run("mm.mprotect_data_exec", "EACCES/EPERM", mprotect_data_exec,
		NULL);
	atk_run("mm.mremap_move", "EPERM", mremap_move, NULL);
	atk_run("mm.munmap_partial", "EPERM", munmap_partial, NULL);
	atk_run("mm.map_fixed_over", "ENOMEM", map_fixed_over, NULL);
	return vm_done();
}
