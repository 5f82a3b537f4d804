/* SPDX-License-Identifier: MIT */
/*
 * atk_plain - attack 1: plain loads and stores into the store, the image,
 * another slot's stack and the per-process page, from client code.
 * Expected: SIGSEGV every time (SEGV_PKUERR for keyed memory, SEGV_ACCERR
 * for writes to read-only mappings), nothing changed.
 */
#include "attacks.h"

static int touch(uint64_t addr, int write, int code)
{
	if (vm_attach(ATK_STORE) || plmc_nop())
		return VM_FAIL("attach or nop failed");
	vm_expect_fault(SIGSEGV, code, addr);
	if (write)
		*(volatile uint64_t *)addr = 0x4141414141414141ULL;
	else
		(void)*(volatile uint64_t *)addr;
	return VM_FAIL("access to 0x%llx went through",
		       (unsigned long long)addr);
}

static int read_store(void)
{
	return touch(PLMC_STORE_ADDR, 0, SEGV_PKUERR);
}

static int write_store(void)
{
	return touch(PLMC_KV_ADDR, 1, SEGV_PKUERR);
}

static int read_image(void)
{
	return touch(PLMC_BASE, 0, SEGV_PKUERR);
}

static int write_image(void)
{
	return touch(PLMC_BASE + 64, 1, 0);
}

static int read_stack(void)
{
	return touch(PLMC_STACKS_ADDR + 5 * PLMC_STACK_SIZE - 64, 0,
		     SEGV_PKUERR);
}

static int write_stack(void)
{
	return touch(PLMC_STACKS_ADDR + PLMC_STACK_SIZE - 64, 1, SEGV_PKUERR);
}

static int write_ppage(void)
{
	return touch(PLMC_PPAGE_ADDR + 8, 1, SEGV_ACCERR);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--intact")) {
		int rc;

		vm_init();
		rc = atk_intact();
		if (rc)
			fprintf(stderr, "atk_plain --intact: %s\n", vm_sh->why);
		return rc ? 1 : 0;
	}
	atk_init();
	atk_run("plain.read_store", "SIGSEGV PKUERR", read_store, NULL);
	atk_run("plain.write_store", "SIGSEGV PKUERR", write_store, NULL);
	atk_run("plain.read_image", "SIGSEGV PKUERR", read_image, NULL);
	atk_run("plain.write_image", "SIGSEGV", write_image, NULL);
	atk_run("plain.read_stack", "SIGSEGV PKUERR", read_stack, NULL);
	atk_run("plain.write_stack", "SIGSEGV PKUERR", write_stack, NULL);
	atk_run("plain.write_ppage", "SIGSEGV ACCERR", write_ppage, NULL);
	return vm_done();
}
