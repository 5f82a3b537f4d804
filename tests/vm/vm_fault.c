// SPDX-License-Identifier: MIT
/*
 * vm_fault.c - client code cannot touch the store: every direct read or
 * write of the protected mappings dies with SIGSEGV / SEGV_PKUERR, the
 * per-process page is read-only, the kernel refuses to copy to or from
 * the store on the client's behalf, and the gate cannot be entered
 * anywhere but at its start.
 *
 * Each test attaches in its own child, announces the fault it expects and
 * makes the access; the harness's handler reports what really happened.
 */
#include "harness.h"

static volatile uint64_t sink;

static int attach_and_warm(void)
{
	if (vm_attach("fault"))
		return -1;
	/* A call first: the slot and its stack then exist and are in use. */
	return vm_roundtrip("warm", "up");
}

static int read_at(uint64_t addr)
{
	if (attach_and_warm())
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, addr);
	sink = *(volatile uint64_t *)(uintptr_t)addr;
	return VM_FAIL("read 0x%llx returned 0x%llx", (unsigned long long)addr,
		       (unsigned long long)sink);
}

static int write_at(uint64_t addr)
{
	if (attach_and_warm())
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, addr);
	*(volatile uint64_t *)(uintptr_t)addr = 0x4141414141414141ULL;
	return VM_FAIL("write 0x%llx went through", (unsigned long long)addr);
}

static int t_read_header(void)
{
	return read_at(PLMC_STORE_ADDR);
}

static int t_write_header(void)
{
	return write_at(PLMC_STORE_ADDR + 8);
}

static int t_read_slot(void)
{
	return read_at(PLMC_SLOTS_ADDR);
}

static int t_write_slot(void)
{
	return write_at(PLMC_SLOTS_ADDR);
}

static int t_read_stack(void)
{
	/* Near the top of slot 0's stack: the part a call just used. */
	return read_at(PLMC_STACKS_ADDR + PLMC_STACK_SIZE - 64);
}

static int t_write_stack(void)
{
	return write_at(PLMC_STACKS_ADDR + PLMC_STACK_SIZE - 64);
}

static int t_read_kv(void)
{
	return read_at(PLMC_KV_ADDR);
}

static int t_read_image(void)
{
	return read_at(PLMC_BASE);
}

/* The ppage is readable (pkey 0) but mapped read-only. */
static int t_write_ppage(void)
{
	if (attach_and_warm())
		return -1;
	VM_CHECK(vm_ppage()->magic == PLMC_PPAGE_MAGIC, "ppage unreadable");
	vm_expect_fault(SIGSEGV, 0, PLMC_PPAGE_ADDR + 8);
	*(volatile uint64_t *)(uintptr_t)(PLMC_PPAGE_ADDR + 8) = 1;
	return VM_FAIL("write to the ppage went through");
}

/* The image is not writable either, key or no key. */
static int t_write_image(void)
{
	if (attach_and_warm())
		return -1;
	vm_expect_fault(SIGSEGV, 0, PLMC_BASE + 0x100);
	*(volatile uint8_t *)(uintptr_t)(PLMC_BASE + 0x100) = 0xc3;
	return VM_FAIL("write to the image went through");
}

/*
 * The kernel copies to and from user memory under the caller's PKRU:
 * read() into the store and write() out of it fail with EFAULT.
 */
static int t_syscall_copy(void)
{
	int zero, p[2];
	ssize_t n;

	if (attach_and_warm())
		return -1;
	zero = open("/dev/zero", O_RDONLY);
	VM_CHECK(zero >= 0 && !pipe(p), "open/pipe: %s", strerror(errno));
	n = read(zero, (void *)(uintptr_t)PLMC_STORE_ADDR, 64);
	VM_CHECK(n < 0 && errno == EFAULT,
		 "read() into the store header: %zd, %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	n = write(p[1], (void *)(uintptr_t)PLMC_KV_ADDR, 64);
	VM_CHECK(n < 0 && errno == EFAULT, "write() from the store: %zd, %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	/* The header is intact: the store still answers. */
	if (vm_expect_value("warm", "up"))
		return -1;
	vm_note("read/write: EFAULT");
	return 0;
}

/* A pointer into the window handed to the store is refused. */
static int t_confused_deputy(void)
{
	char buf[64];
	int rc;

	if (attach_and_warm())
		return -1;
	rc = plmc_set("leak", 4, (const void *)(uintptr_t)PLMC_STORE_ADDR, 64,
		      0, 0);
	VM_CHECK(rc == PLMC_E_FAULT, "set from the store header: %s",
		 plmc_strerror(rc));
	rc = plmc_get("warm", 4, (void *)(uintptr_t)PLMC_STORE_ADDR, 64, NULL,
		      NULL, NULL);
	VM_CHECK(rc == PLMC_E_FAULT, "get into the store header: %s",
		 plmc_strerror(rc));
	rc = plmc_get((const void *)(uintptr_t)(PLMC_STORE_ADDR - 2), 4, buf,
		      sizeof(buf), NULL, NULL, NULL);
	VM_CHECK(rc == PLMC_E_FAULT, "key straddling the window: %s",
		 plmc_strerror(rc));
	return vm_expect_value("warm", "up");
}

/* ---- the gate ---- */

/*
 * vm_gate_jump(target, rax, rsi, r8, r9): call @target with those
 * registers, rcx = rdx = rdi = 0 (op NOP). An ordinary function, so it
 * cannot clobber a red zone; keeps rsp 16-aligned at the call.
 */
uint64_t vm_gate_jump(uint64_t target, uint64_t rax, uint64_t rsi, uint64_t r8,
		      uint64_t r9);
__asm__(".text\n"
	".globl vm_gate_jump\n"
	".type vm_gate_jump, @function\n"
	"vm_gate_jump:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	sub $8, %rsp\n"
	"	mov %rdi, %r11\n"
	"	mov %rsi, %rax\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %r10\n"
	"	mov %r8, %r9\n"
	"	mov %r10, %r8\n"
	"	xor %ecx, %ecx\n"
	"	xor %edx, %edx\n"
	"	xor %edi, %edi\n"
	"	call *%r11\n"
	"	add $8, %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	".size vm_gate_jump, . - vm_gate_jump\n");

static inline uint32_t vm_rdpkru(void)
{
	uint32_t eax, edx;

	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static struct plmc_req zero_req;

/* entry_none has no WRPKRU: under the module its first store access
 * faults, before anything is read or written. */
static int t_entry_none(void)
{
	struct plmc_image_hdr h;

	if (vm_image_hdr(&h) || attach_and_warm())
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, 0);
	vm_gate_jump(PLMC_BASE + h.entry_none, 0,
		     (uint64_t)(uintptr_t)&zero_req, 0, 0);
	return VM_FAIL("entry_none returned; PKRU now 0x%x", vm_rdpkru());
}

/* The entry site: the WRPKRU at sites[0], the one after entry_pku. */
static int entry_site(const struct plmc_image_hdr *h, uint64_t *site)
{
	uint32_t i;

	*site = ~0ULL;
	for (i = 0; i < h->nsites; i++)
		if (h->sites[i] > h->entry_pku && h->sites[i] < *site)
			*site = h->sites[i];
	return *site == ~0ULL ? VM_FAIL("no WRPKRU site after entry_pku") : 0;
}

/*
 * Right after the entry WRPKRU, with eax = 0 (the value that passes the
 * check) but PKRU never written: the gate goes on and its first store
 * access faults. It must not come back.
 */
static int t_jump_after_entry(void)
{
	struct plmc_image_hdr h;
	uint64_t site;

	if (vm_image_hdr(&h) || entry_site(&h, &site) || attach_and_warm())
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, 0);
	vm_gate_jump(PLMC_BASE + site + 3, 0, (uint64_t)(uintptr_t)&zero_req, 0,
		     0);
	return VM_FAIL("returned from entry site + 3; PKRU now 0x%x",
		       vm_rdpkru());
}

/* After every other site too (the exit one): never back with the store
 * open. With eax = 0 the exit check sees the key's AD bit clear: ud2. */
static int t_jump_after_exit(void)
{
	struct plmc_image_hdr h;
	uint64_t site;
	uint32_t i;

	if (vm_image_hdr(&h) || entry_site(&h, &site) || attach_and_warm())
		return -1;
	for (i = 0; i < h.nsites; i++)
		if (h.sites[i] != site)
			break;
	VM_CHECK(i < h.nsites, "only one WRPKRU site");
	vm_expect_death();
	vm_gate_jump(PLMC_BASE + h.sites[i] + 3, 0, PLMC_PPAGE_ADDR, 0, 0);
	return VM_FAIL("returned from exit site + 3; PKRU now 0x%x",
		       vm_rdpkru());
}

/* Onto the entry WRPKRU with eax != 0: the check after it traps. */
static int t_jump_onto_entry_nonzero(void)
{
	struct plmc_image_hdr h;
	uint64_t site;

	if (vm_image_hdr(&h) || entry_site(&h, &site) || attach_and_warm())
		return -1;
	vm_expect_fault(SIGILL, 0, 0);
	vm_gate_jump(PLMC_BASE + site, 0x4, (uint64_t)(uintptr_t)&zero_req, 0,
		     0);
	return VM_FAIL("returned; PKRU now 0x%x", vm_rdpkru());
}

/*
 * Onto the entry WRPKRU with eax = 0 is a legal way in: the whole gate
 * runs, and the caller gets back with the store closed again.
 */
static int t_jump_onto_entry_zero(void)
{
	struct plmc_image_hdr h;
	uint64_t site, rc = 0, slot;
	uint32_t pkru = 0, shift;

	if (vm_image_hdr(&h) || entry_site(&h, &site) || attach_and_warm())
		return -1;
	shift = vm_ppage()->pkey_shift;
	/* r8 is the slot (the gate copies rdx there before the WRPKRU):
	 * slots of earlier, dead tests answer BUSY; find ours or a free one
	 * so the call runs through the dispatcher. */
	for (slot = 0; slot < PLMC_MAX_SLOTS; slot++) {
		rc = vm_gate_jump(PLMC_BASE + site, 0,
				  (uint64_t)(uintptr_t)&zero_req, slot, 0);
		pkru = vm_rdpkru();
		VM_CHECK(pkru & (1U << shift),
			 "back from the gate with PKRU 0x%x: store key open",
			 pkru);
		if ((long long)rc != PLMC_E_BUSY)
			break;
	}
	VM_CHECK(rc == PLMC_OK, "NOP through a jump onto the WRPKRU: %s",
		 plmc_strerror((int)rc));
	vm_note("slot %llu: NOP ran, PKRU 0x%x after", (unsigned long long)slot,
		pkru);
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	sink = *(volatile uint64_t *)(uintptr_t)PLMC_STORE_ADDR;
	return VM_FAIL("store readable after a jump onto the entry WRPKRU");
}

int main(void)
{
	vm_init();
	if (vm_fresh("fault", 0600)) {
		printf("FAIL fault.setup: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("fault.read_store_header", t_read_header);
	vm_run("fault.write_store_header", t_write_header);
	vm_run("fault.read_slot_record", t_read_slot);
	vm_run("fault.write_slot_record", t_write_slot);
	vm_run("fault.read_slot_stack", t_read_stack);
	vm_run("fault.write_slot_stack", t_write_stack);
	vm_run("fault.read_kv_area", t_read_kv);
	vm_run("fault.read_image", t_read_image);
	vm_run("fault.write_image", t_write_image);
	vm_run("fault.write_ppage", t_write_ppage);
	vm_run("fault.syscall_copy", t_syscall_copy);
	vm_run("fault.confused_deputy", t_confused_deputy);
	vm_run("gate.entry_none_faults", t_entry_none);
	vm_run("gate.jump_after_entry_wrpkru", t_jump_after_entry);
	vm_run("gate.jump_after_exit_wrpkru", t_jump_after_exit);
	vm_run("gate.jump_onto_entry_nonzero", t_jump_onto_entry_nonzero);
	vm_run("gate.jump_onto_entry_zero", t_jump_onto_entry_zero);
	plmc_destroy("fault", 1, PLMC_USE_KMOD);
	return vm_done();
}
