// SPDX-License-Identifier: MIT
/*
 * vm_mm.c - the store's mappings cannot be changed, moved, split, or
 * reached sideways: mprotect, pkey_mprotect, mremap, partial munmap,
 * MAP_FIXED over part of it and MADV_DONTNEED all fail; /proc/self/mem,
 * process_vm_readv/writev and ptrace cannot read or write it. After each
 * refusal the mapping is whole and the store still answers.
 */
#include <sys/ptrace.h>
#include <sys/uio.h>
#include "harness.h"

static volatile uint64_t sink = 0x1234567890abcdefULL;

#define DATA_START (PLMC_BASE + PLMC_DATA_OFF)
#define DATA_LEN   PLMC_DATA_LEN(VM_STORE_SIZE)

static int attach_and_warm(void)
{
	if (vm_attach("mm"))
		return -1;
	return vm_roundtrip("warm", "up");
}

/* The data mapping is still one VMA of its full length. */
static int data_vma_whole(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	if (!f)
		return VM_FAIL("open /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		if (lo == DATA_START && hi == DATA_START + DATA_LEN &&
		    !strcmp(perms, "rw-s"))
			found = 1;
	}
	fclose(f);
	return found ? 0 : VM_FAIL("data mapping changed (not one rw-s VMA)");
}

/* After a refusal: the mapping whole, the store answering. */
static int still_fine(void)
{
	if (data_vma_whole())
		return -1;
	if (vm_expect_value("warm", "up"))
		return -1;
	return vm_roundtrip("after", "refusal");
}

/* rc must be -1; *what gets the errno's name. */
static int refused(long rc, const char *op, char *what, size_t n)
{
	if (rc != -1)
		return VM_FAIL("%s succeeded (%ld)", op, rc);
	snprintf(what, n, "%s", vm_errno_name(errno));
	return 0;
}

static int t_mprotect(void)
{
	char e1[32], e2[32], e3[32], e4[32];

	if (attach_and_warm())
		return -1;
	if (refused(mprotect((void *)(uintptr_t)PLMC_STORE_ADDR, 4096,
			     PROT_READ),
		    "mprotect(store page, R)", e1, sizeof(e1)) ||
	    refused(mprotect((void *)(uintptr_t)DATA_START, DATA_LEN,
			     PROT_READ | PROT_WRITE),
		    "mprotect(data, unchanged RW)", e2, sizeof(e2)) ||
	    refused(mprotect((void *)(uintptr_t)PLMC_PPAGE_ADDR, 4096,
			     PROT_READ | PROT_WRITE),
		    "mprotect(ppage, RW)", e3, sizeof(e3)) ||
	    refused(mprotect((void *)(uintptr_t)PLMC_BASE, 4096,
			     PROT_READ | PROT_WRITE | PROT_EXEC),
		    "mprotect(image, RWX)", e4, sizeof(e4)))
		return -1;
	vm_note("store %s, whole data %s, ppage %s, image %s", e1, e2, e3, e4);
	return still_fine();
}

static int t_pkey_mprotect(void)
{
	char e1[32], e2[32];
	int k;

	if (attach_and_warm())
		return -1;
	k = pkey_alloc(0, 0);
	VM_CHECK(k > 0, "pkey_alloc: %s", strerror(errno));
	if (refused(pkey_mprotect((void *)(uintptr_t)PLMC_STORE_ADDR, 4096,
				  PROT_READ | PROT_WRITE, 0),
		    "pkey_mprotect(store page, key 0)", e1, sizeof(e1)) ||
	    refused(pkey_mprotect((void *)(uintptr_t)DATA_START, DATA_LEN,
				  PROT_READ | PROT_WRITE, k),
		    "pkey_mprotect(data, an open key)", e2, sizeof(e2)))
		return -1;
	vm_note("key 0: %s, fresh key: %s", e1, e2);
	return still_fine();
}

static int t_mremap_move(void)
{
	char e[32];
	void *to = (void *)0x500000000000ULL;

	if (attach_and_warm())
		return -1;
	if (refused((long)mremap((void *)(uintptr_t)DATA_START, DATA_LEN,
				 DATA_LEN, MREMAP_MAYMOVE | MREMAP_FIXED, to),
		    "mremap(data, move)", e, sizeof(e)))
		return -1;
	vm_note("%s", e);
	return still_fine();
}

static int t_mremap_shrink(void)
{
	char e1[32], e2[32];

	if (attach_and_warm())
		return -1;
	if (refused((long)mremap((void *)(uintptr_t)DATA_START, DATA_LEN,
				 DATA_LEN - (1 << 20), 0),
		    "mremap(data, shrink)", e1, sizeof(e1)) ||
	    refused((long)mremap((void *)(uintptr_t)DATA_START, DATA_LEN,
				 DATA_LEN + (1 << 20), 0),
		    "mremap(data, grow)", e2, sizeof(e2)))
		return -1;
	vm_note("shrink %s, grow %s", e1, e2);
	return still_fine();
}

static int t_munmap_partial(void)
{
	char e1[32], e2[32];

	if (attach_and_warm())
		return -1;
	if (refused(munmap((void *)(uintptr_t)PLMC_STORE_ADDR, 4096),
		    "munmap(one store page)", e1, sizeof(e1)) ||
	    refused(munmap((void *)(uintptr_t)DATA_START, 4096),
		    "munmap(first data page)", e2, sizeof(e2)))
		return -1;
	vm_note("middle %s, head %s", e1, e2);
	return still_fine();
}

/* MAP_FIXED over one page of the store would split the mapping. */
static int t_map_fixed_over(void)
{
	char e[32];

	if (attach_and_warm())
		return -1;
	if (refused((long)mmap((void *)(uintptr_t)PLMC_STORE_ADDR, 4096,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		    "mmap(MAP_FIXED over a store page)", e, sizeof(e)))
		return -1;
	vm_note("%s", e);
	return still_fine();
}

static int t_madvise(void)
{
	char e[32];

	if (attach_and_warm())
		return -1;
	if (refused(madvise((void *)(uintptr_t)PLMC_STORE_ADDR, 4096,
			    MADV_DONTNEED),
		    "madvise(store page, DONTNEED)", e, sizeof(e)))
		return -1;
	vm_note("%s", e);
	return still_fine();
}

static int t_proc_mem(void)
{
	uint64_t v = 0;
	ssize_t n;
	int fd;

	if (attach_and_warm())
		return -1;
	fd = open("/proc/self/mem", O_RDWR);
	VM_CHECK(fd >= 0, "open /proc/self/mem: %s", strerror(errno));
	/* Control: the same path works on ordinary memory. */
	n = pread(fd, &v, sizeof(v), (off_t)(uintptr_t)&sink);
	VM_CHECK(n == 8 && v == sink, "control read of /proc/self/mem: %zd", n);
	n = pread(fd, &v, sizeof(v), (off_t)PLMC_STORE_ADDR);
	VM_CHECK(n < 0 && errno == EIO, "read store via /proc/self/mem: %zd %s",
		 n, vm_errno_name(n < 0 ? errno : 0));
	n = pread(fd, &v, sizeof(v), (off_t)PLMC_BASE);
	VM_CHECK(n < 0 && errno == EIO, "read image via /proc/self/mem: %zd %s",
		 n, vm_errno_name(n < 0 ? errno : 0));
	v = 0x4242424242424242ULL;
	n = pwrite(fd, &v, sizeof(v), (off_t)PLMC_STORE_ADDR);
	VM_CHECK(n < 0 && errno == EIO,
		 "write store via /proc/self/mem: %zd %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	n = pwrite(fd, &v, sizeof(v), (off_t)PLMC_PPAGE_ADDR);
	VM_CHECK(n < 0 && errno == EIO,
		 "write ppage via /proc/self/mem: %zd %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	close(fd);
	vm_note("EIO");
	return still_fine();
}

static int t_process_vm(void)
{
	uint64_t v = 0;
	struct iovec l = {&v, sizeof(v)};
	struct iovec r = {(void *)&sink, sizeof(v)};
	ssize_t n;

	if (attach_and_warm())
		return -1;
	n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	VM_CHECK(n == 8 && v == sink, "control process_vm_readv: %zd %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	r.iov_base = (void *)(uintptr_t)PLMC_STORE_ADDR;
	n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	VM_CHECK(n < 0 && errno == EFAULT, "process_vm_readv(store): %zd %s", n,
		 vm_errno_name(n < 0 ? errno : 0));
	v = 0x4343434343434343ULL;
	n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	VM_CHECK(n < 0 && errno == EFAULT, "process_vm_writev(store): %zd %s",
		 n, vm_errno_name(n < 0 ? errno : 0));
	vm_note("EFAULT");
	return still_fine();
}

/* The traced child: attach, call, report, wait, call again. */
static int ptrace_child(int ready, int go)
{
	if (attach_and_warm())
		return -1;
	vm_signal_fd(ready);
	if (vm_wait_fd(go))
		return VM_FAIL("tracer vanished");
	return vm_roundtrip("traced", "fine");
}

static int peek_poke(pid_t pid, char *what, size_t n)
{
	long w;

	errno = 0;
	w = ptrace(PTRACE_PEEKDATA, pid, (void *)&sink, NULL);
	VM_CHECK(errno == 0 && (uint64_t)w == sink, "control PEEKDATA: %s",
		 vm_errno_name(errno));
	errno = 0;
	w = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)PLMC_STORE_ADDR,
		   NULL);
	VM_CHECK(w == -1 && errno, "PEEKDATA of the store header gave 0x%lx",
		 w);
	snprintf(what, n, "peek %s", vm_errno_name(errno));
	errno = 0;
	w = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)PLMC_BASE, NULL);
	VM_CHECK(w == -1 && errno, "PEEKDATA of the image gave 0x%lx", w);
	errno = 0;
	w = ptrace(PTRACE_POKEDATA, pid, (void *)(uintptr_t)PLMC_STORE_ADDR,
		   (void *)0x4444);
	VM_CHECK(w == -1 && errno, "POKEDATA of the store header succeeded");
	snprintf(what + strlen(what), n - strlen(what), ", poke %s",
		 vm_errno_name(errno));
	errno = 0;
	w = ptrace(PTRACE_POKEDATA, pid, (void *)(uintptr_t)PLMC_BASE,
		   (void *)0xcc);
	VM_CHECK(w == -1 && errno, "POKEDATA of the image succeeded");
	return 0;
}

static int t_ptrace(void)
{
	int ready[2], go[2], st, rc;
	char what[64] = "";
	pid_t pid;

	if (pipe(ready) || pipe(go))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		_exit(ptrace_child(ready[1], go[0]) ? 1 : 0);
	if (vm_wait_fd(ready[0])) {
		vm_reap(pid);
		return VM_FAIL("child did not attach: %s", vm_sh->why);
	}
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL)) {
		/* Refusing the tracer outright is a pass too. */
		vm_note("PTRACE_ATTACH refused: %s", vm_errno_name(errno));
		rc = 0;
	} else {
		waitpid(pid, &st, __WALL);
		rc = peek_poke(pid, what, sizeof(what));
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		vm_note("%s", what);
	}
	vm_signal_fd(go[1]);
	st = vm_reap(pid);
	if (rc)
		return rc;
	VM_CHECK(st == 0, "traced child ended 0x%x after detach: %s", st,
		 vm_sh->why);
	return 0;
}

/*
 * Unmapping a whole region cannot be refused: it ends the attachment.
 * The module zaps the other regions, so the gate is gone (SIGBUS on the
 * next call) and a forged ppage in the freed place opens nothing.
 */
static int t_unmap_ppage(void)
{
	if (attach_and_warm())
		return -1;
	VM_CHECK(munmap((void *)(uintptr_t)PLMC_PPAGE_ADDR, 4096) == 0,
		 "munmap(ppage): %s", vm_errno_name(errno));
	vm_expect_fault(SIGBUS, 0, 0);
	plmc_nop();
	return VM_FAIL("a call after unmapping the ppage returned");
}

int main(void)
{
	vm_init();
	if (vm_fresh("mm", 0600)) {
		printf("FAIL mm.setup: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("mm.mprotect_refused", t_mprotect);
	vm_run("mm.pkey_mprotect_refused", t_pkey_mprotect);
	vm_run("mm.mremap_move_refused", t_mremap_move);
	vm_run("mm.mremap_shrink_grow_refused", t_mremap_shrink);
	vm_run("mm.munmap_partial_refused", t_munmap_partial);
	vm_run("mm.map_fixed_over_refused", t_map_fixed_over);
	vm_run("mm.madvise_dontneed_refused", t_madvise);
	vm_run("mm.proc_self_mem_eio", t_proc_mem);
	vm_run("mm.process_vm_rw_efault", t_process_vm);
	vm_run("mm.ptrace_peek_poke_refused", t_ptrace);
	vm_run("mm.unmap_ppage_ends_attachment", t_unmap_ppage);
	plmc_destroy("mm", 1, PLMC_USE_KMOD);
	return vm_done();
}
