/* SPDX-License-Identifier: MIT */
/*
 * atk_wrpkru_text - attack 9: a stray WRPKRU in the program's own text
 * (a function never called). Expected: ATTACH refused with EPERM.
 */
#define ATK_TAINTED 1
#include "attacks.h"

/* Never called: only its bytes matter. */
__attribute__((used, noinline)) void atk_stray_wrpkru(void)
{
	asm volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
		     "xor %%eax, %%eax\n\twrpkru" ::: "eax", "ecx", "edx");
}

static int stray(void)
{
	int e = atk_raw_attach();

	if (e != EPERM)
		return VM_FAIL("attach with WRPKRU in our text: %s",
			       e ? vm_errno_name(e) : "accepted");
	return ATK_REFUSED("attach EPERM");
}

int main(void)
{
	atk_init();
	atk_run("wrpkru.stray_in_program_text", "attach EPERM", stray, NULL);
	return vm_done();
}
