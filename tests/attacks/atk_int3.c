/* SPDX-License-Identifier: MIT */
/*
 * atk_int3 - SECURITY.md hole 11: no XRSTOR or WRPKRU byte sequence is
 * left in an attached process's executable memory. The module writes an
 * int3 over the 0F of each one its attach scan finds (static glibc's two
 * lazy-binding XRSTOR, glibc's pkey_set WRPKRU, ours below), in a private
 * copy of the page, and emulates the instruction at the trap once it has
 * checked EAX. An int3 is an instruction, so RFLAGS.RF (which a user IRETQ
 * loads from its own frame, and which hides a hardware breakpoint) does
 * not let a thread past it; the IRETQ itself cannot run under TCG (the
 * guest kernel oopses), so what this program shows is that the bytes are
 * gone and that the emulation is exact.
 *
 * Rows: every site found before attach reads back 0xCC after it, and no
 * sequence is left; our WRPKRU and glibc's pkey_set with values that keep
 * the store closed run (emulated), pkey_set opening the store is killed;
 * three XRSTOR encodings (plain, REX.W + SIB + disp32 on r12, RIP-relative)
 * restore the vector registers they name, and one from a page not present
 * (faulted in after the trap); one on a misaligned buffer, and one from
 * the store (PKU holds for the kernel's read too), get SIGSEGV; MADV_DONTNEED
 * of a patched page is refused and the int3 stays (with the defence off, the
 * page reads back 0F again); a process that attached once may attach again with
 * private copies in its exec memory (its own int3s are such copies), and
 * MADV_DONTNEED of one keeps it (with the defence off, the file's unscanned
 * WRPKRU comes back and runs); a fork child (not attached, its pages inherited)
 * runs the sites, and system() works.
 */
#include "attacks.h"
#include <immintrin.h>

#define MAXSITES 64

struct site {
	const uint8_t *at;
	int kind; /* 1 XRSTOR, 2 WRPKRU */
};

/* Our WRPKRU, in file text. */
__attribute__((used, noinline)) void int3_wrpkru(uint32_t v)
{
	asm volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru"
		     :
		     : "a"(v)
		     : "ecx", "edx", "memory");
}

static int is_xrstor(const uint8_t *p)
{
	return p[0] == 0x0f && p[1] == 0xae && ((p[2] >> 3) & 7) == 5 &&
	       (p[2] >> 6) != 3;
}

static int is_wrpkru(const uint8_t *p)
{
	return p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xef;
}

struct xrange {
	uintptr_t lo, hi;
};

/* The readable executable mappings, before attach (the image not yet). */
static int exec_ranges(struct xrange *r, int max)
{
	char line[512], perms[8];
	unsigned long lo, hi;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (perms[0] == 'r' && perms[2] == 'x') {
			r[n].lo = lo;
			r[n].hi = hi;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* Every XRSTOR and WRPKRU byte sequence in @r. */
static int find_sites(const struct xrange *r, int nr, struct site *s, int max)
{
	int i, n = 0;
	uintptr_t a;

	for (i = 0; i < nr; i++)
		for (a = r[i].lo; a + 3 <= r[i].hi; a++) {
			const uint8_t *p = (const uint8_t *)a;

			if (!is_xrstor(p) && !is_wrpkru(p))
				continue;
			if (n < max) {
				s[n].at = p;
				s[n].kind = is_xrstor(p) ? 1 : 2;
			}
			n++;
		}
	return n;
}

static int sites_patched(void)
{
	struct xrange r[64];
	struct site s[MAXSITES], left[MAXSITES];
	int nr = exec_ranges(r, 64), n, i, nleft, nx = 0;

	if (nr <= 0)
		return VM_FAIL("no executable mappings read");
	n = find_sites(r, nr, s, MAXSITES);
	if (n < 3 || n > MAXSITES)
		return VM_FAIL("%d sites before attach (static glibc's two "
			       "XRSTOR and our WRPKRU expected)",
			       n);
	for (i = 0; i < n; i++)
		nx += s[i].kind == 1;
	if (vm_attach(ATK_STORE))
		return -1;
	for (i = 0; i < n; i++)
		if (s[i].at[0] != 0xcc)
			return VM_FAIL("site %p (%s) reads 0x%02x after attach",
				       (const void *)s[i].at,
				       s[i].kind == 1 ? "XRSTOR" : "WRPKRU",
				       s[i].at[0]);
	nleft = find_sites(r, nr, left, MAXSITES);
	if (nleft)
		return VM_FAIL("%d sequences left in executable memory, one "
			       "at %p",
			       nleft, (const void *)left[0].at);
	return ATK_REFUSED("%d sites (%d XRSTOR) read 0xCC after attach, "
			   "none left",
			   n, nx);
}

/* Our WRPKRU and glibc's pkey_set with values that keep the store closed. */
static int wrpkru_emulated(void)
{
	uint32_t shift, before, after;
	int key;

	if (vm_attach(ATK_STORE))
		return -1;
	shift = vm_ppage()->pkey_shift;
	key = pkey_alloc(0, 0);
	if (key < 0)
		return VM_FAIL("pkey_alloc: %s", strerror(errno));
	before = atk_rdpkru();
	int3_wrpkru(before | (2U << (2 * key))); /* our key: write-disable */
	after = atk_rdpkru();
	if (after != (before | (2U << (2 * key))))
		return VM_FAIL("our WRPKRU: PKRU 0x%x, wanted 0x%x", after,
			       before | (2U << (2 * key)));
	if (atk_pkey_set_own(key, PKEY_DISABLE_ACCESS))
		return -1;
	if (!(atk_rdpkru() & (1U << shift)))
		return VM_FAIL("store key open (PKRU 0x%x)", atk_rdpkru());
	return atk_still_closed("emulated WRPKRUs that kept it closed");
}

static uint8_t rip_area[4096] __attribute__((aligned(64)));

/*
 * XSAVE SSE+AVX with ymm0 = @in, zero ymm0, then one of three XRSTOR
 * encodings of the same area, and read ymm0 back. All in one asm so no
 * compiler code touches ymm0 between.
 */
static void xsave_xrstor(int how, uint8_t *area, const double *in, double *out)
{
	switch (how) {
	case 0: /* 0F AE 2F: xrstor (%rdi) */
		asm volatile("vmovupd (%[in]), %%ymm0\n\t"
			     "xsave (%%rdi)\n\t"
			     "vxorpd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "xrstor (%%rdi)\n\t"
			     "vmovupd %%ymm0, (%[out])"
			     :
			     : [in] "r"(in), [out] "r"(out), "D"(area), "a"(6),
			       "d"(0)
			     : "memory", "xmm0");
		break;
	case 1: /* 49 0F AE AC 8C disp32: xrstor64 0x80(%r12,%rcx,4) */
		asm volatile("vmovupd (%[in]), %%ymm0\n\t"
			     "xsave (%%rdi)\n\t"
			     "vxorpd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "mov %%rdi, %%r12\n\t"
			     "sub $0xa0, %%r12\n\t"
			     "mov $8, %%ecx\n\t"
			     "xrstor64 0x80(%%r12,%%rcx,4)\n\t"
			     "vmovupd %%ymm0, (%[out])"
			     :
			     : [in] "r"(in), [out] "r"(out), "D"(area), "a"(6),
			       "d"(0)
			     : "memory", "xmm0", "rcx", "r12");
		break;
	default: /* 0F AE 2D rel32: xrstor rip_area(%rip) */
		asm volatile("vmovupd (%[in]), %%ymm0\n\t"
			     "xsave (%%rdi)\n\t"
			     "vxorpd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "xrstor rip_area(%%rip)\n\t"
			     "vmovupd %%ymm0, (%[out])"
			     :
			     : [in] "r"(in), [out] "r"(out), "D"(rip_area),
			       "a"(6), "d"(0)
			     : "memory", "xmm0");
		break;
	}
}

static int xrstor_exact(void)
{
	static uint8_t area[4096] __attribute__((aligned(64)));
	static const double in[4] = {1.5, -2.25, 1e300, 7.0};
	double out[4];
	int how;

	if (vm_attach(ATK_STORE))
		return -1;
	for (how = 0; how < 3; how++) {
		memset(area, 0, sizeof(area));
		memset(rip_area, 0, sizeof(rip_area));
		memset(out, 0, sizeof(out));
		xsave_xrstor(how, area, in, out);
		if (memcmp(in, out, sizeof(out)))
			return VM_FAIL("XRSTOR encoding %d: ymm0 %g %g %g %g, "
				       "wanted %g %g %g %g",
				       how, out[0], out[1], out[2], out[3],
				       in[0], in[1], in[2], in[3]);
	}
	if (plmc_nop())
		return VM_FAIL("gate failed after the XRSTORs");
	return ATK_REFUSED("three XRSTOR encodings restored ymm0 exactly");
}

/* The real XRSTOR faults (#GP) on a buffer not 64-byte aligned. */
static int xrstor_misaligned(void)
{
	static uint8_t area[4096 + 64] __attribute__((aligned(64)));
	static const double in[4] = {1, 2, 3, 4};
	double out[4];

	if (vm_attach(ATK_STORE))
		return -1;
	memset(area, 0, sizeof(area));
	xsave_xrstor(1, area, in, out); /* aligned: runs */
	if (memcmp(in, out, sizeof(out)))
		return VM_FAIL("the aligned XRSTOR did not restore ymm0");
	vm_expect_fault(SIGSEGV, 0, 0);
	asm volatile("xrstor (%%rdi)"
		     :
		     : "D"(area + 8), "a"(6), "d"(0)
		     : "memory", "xmm0");
	return VM_FAIL("XRSTOR of a misaligned buffer ran on");
}

/* ymm0 = 0, then XRSTOR SSE+AVX from @buf, and ymm0 out. */
static __attribute__((noinline)) void xrstor_from(const void *buf, double *out)
{
	asm volatile("vxorpd %%ymm0, %%ymm0, %%ymm0\n\t"
		     "xrstor (%%rdi)\n\t"
		     "vmovupd %%ymm0, (%[out])"
		     :
		     : [out] "r"(out), "D"(buf), "a"(6), "d"(0)
		     : "memory", "xmm0");
}

/*
 * The buffer is valid but its page is not present when the int3 traps
 * (a private file mapping never touched): the trap cannot fault it in
 * with interrupts off, so a task_work does, then restores. Control for
 * the fault path.
 */
static int xrstor_not_present(void)
{
	static uint8_t area[4096] __attribute__((aligned(64)));
	static const double in[4] = {9.5, -8.25, 7e-300, 6.0};
	const char *path = "/tmp/int3-area";
	double out[4];
	uint8_t *m;
	int fd;

	memset(area, 0, sizeof(area));
	asm volatile("vmovupd (%[in]), %%ymm0\n\t"
		     "xsave (%%rdi)"
		     :
		     : [in] "r"(in), "D"(area), "a"(6), "d"(0)
		     : "memory", "xmm0");
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, area, sizeof(area)) != (ssize_t)sizeof(area))
		return VM_FAIL("write %s", path);
	if (vm_attach(ATK_STORE))
		return -1;
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return VM_FAIL("map %s", path);
	if (madvise(m, 4096, MADV_DONTNEED))
		return VM_FAIL("MADV_DONTNEED of the data page: %s",
			       strerror(errno));
	xrstor_from(m, out);
	if (memcmp(in, out, sizeof(out)))
		return VM_FAIL("ymm0 %g %g %g %g, wanted %g %g %g %g", out[0],
			       out[1], out[2], out[3], in[0], in[1], in[2],
			       in[3]);
	return ATK_REFUSED("XRSTOR from a page not present restored ymm0");
}

/*
 * XRSTOR reading the store: the emulation's kernel XRSTOR must meet the
 * store key as the instruction would (kernel accesses to user pages obey
 * PKRU), not load store bytes into the registers.
 */
static int xrstor_from_store(void)
{
	double out[4];

	if (vm_attach(ATK_STORE))
		return -1;
	vm_expect_fault(SIGSEGV, 0, 0);
	xrstor_from((const void *)(uintptr_t)PLMC_STORE_ADDR, out);
	return VM_FAIL("XRSTOR from the store ran: ymm0 %g %g %g %g", out[0],
		       out[1], out[2], out[3]);
}

/* The page of our WRPKRU's int3: MADV_DONTNEED would bring 0F back. */
static int dontneed_patched(void)
{
	const uint8_t *f = (const uint8_t *)int3_wrpkru, *p = NULL;
	uintptr_t page;
	int i, rc, e;

	for (i = 0; i < 32 && !p; i++)
		if (is_wrpkru(f + i))
			p = f + i;
	if (!p)
		return VM_FAIL("no WRPKRU in int3_wrpkru before attach");
	if (vm_attach(ATK_STORE))
		return -1;
	if (*p != 0xcc)
		return VM_FAIL("the site reads 0x%02x after attach", *p);
	page = (uintptr_t)p & ~(uintptr_t)4095;
	rc = madvise((void *)page, 4096, MADV_DONTNEED);
	e = errno;
	if (*p != 0xcc)
		return VM_FAIL("MADV_DONTNEED (%s) dropped the int3: the site "
			       "reads %02x %02x %02x again",
			       rc ? strerror(e) : "accepted", p[0], p[1], p[2]);
	if (rc != -1 || e != EPERM)
		return VM_FAIL("MADV_DONTNEED %s, int3 kept",
			       rc ? strerror(e) : "accepted");
	int3_wrpkru(atk_rdpkru()); /* still emulated */
	return ATK_REFUSED("MADV_DONTNEED EPERM; the site still reads 0xCC");
}

/*
 * Attach (the int3s go in), detach, then, unguarded, map a tmpfs file
 * holding a WRPKRU and give the page a private copy without it (RW, write,
 * RX); attach again: an mm carrying the module's int3s may attach with
 * private copies in its exec VMAs (the scan reads the copies), so none may
 * ever be dropped: MADV_DONTNEED there must keep the copy (refused, or the
 * zap skipped), not bring back the file's WRPKRU, which nobody scanned.
 */
static int reattach_copy(void)
{
	/* xor ecx,ecx; xor edx,edx; xor eax,eax; wrpkru; ret */
	static const uint8_t code[] = {0x31, 0xc9, 0x31, 0xd2, 0x31,
				       0xc0, 0x0f, 0x01, 0xef, 0xc3};
	const char *path = "/tmp/int3-copy";
	uint8_t page[4096], *p;
	int fd, rc, e;

	if (vm_attach(ATK_STORE) || plmc_detach())
		return VM_FAIL("first attach and detach");
	if (setgid(12345) || setuid(12345))
		return VM_FAIL("setuid: %s", strerror(errno));
	memset(page, 0xc3, sizeof(page));
	memcpy(page + 64, code, sizeof(code));
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0500);
	if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
		return VM_FAIL("write %s", path);
	close(fd);
	fd = open(path, O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return VM_FAIL("map %s", path);
	memset(p, 0xc3, 4096); /* the private copy: no WRPKRU */
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC))
		return VM_FAIL("mprotect: %s", strerror(errno));
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc)
		return ATK_REFUSED("second attach refused: %s",
				   plmc_strerror(rc));
	rc = madvise(p, 4096, MADV_DONTNEED);
	e = errno;
	if (p[70] != 0xc3) {
		((void (*)(void))(uintptr_t)(p + 64))();
		if (atk_store_magic_ok())
			return VM_FAIL("MADV_DONTNEED dropped the copy: the "
				       "file's WRPKRU ran, store header read");
		return VM_FAIL("MADV_DONTNEED dropped the copy: the file's "
			       "WRPKRU ran (store closed)");
	}
	((void (*)(void))(uintptr_t)(p + 64))(); /* the copy: ret */
	if (plmc_nop())
		return VM_FAIL("gate failed");
	return ATK_REFUSED("second attach with a private copy; MADV_DONTNEED "
			   "%s, the copy kept",
			   rc ? strerror(e) : "a no-op");
}

/* A fork child: not attached, its pages (with the int3s) inherited. */
static int fork_child(void)
{
	static uint8_t area[4096] __attribute__((aligned(64)));
	static const double in[4] = {3, 4, 5, 6};
	double out[4];
	int status, key;
	pid_t pid;

	if (vm_attach(ATK_STORE))
		return -1;
	pid = fork();
	if (pid < 0)
		return VM_FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		key = pkey_alloc(0, 0);
		int3_wrpkru(0); /* no store here: any value */
		if (atk_rdpkru() != 0)
			_exit(10);
		if (key < 0 || pkey_set(key, PKEY_DISABLE_WRITE) ||
		    pkey_get(key) != PKEY_DISABLE_WRITE)
			_exit(11);
		memset(area, 0, sizeof(area));
		xsave_xrstor(0, area, in, out);
		_exit(memcmp(in, out, sizeof(out)) ? 12 : 0);
	}
	status = vm_reap(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return VM_FAIL("fork child: status 0x%x (10 WRPKRU, 11 "
			       "pkey_set, 12 XRSTOR, signal 5 SIGTRAP)",
			       status);
	status = system("exit 3");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 3)
		return VM_FAIL("system(\"exit 3\"): status 0x%x", status);
	if (plmc_nop())
		return VM_FAIL("gate failed after the child");
	return ATK_REFUSED("child ran WRPKRU 0, pkey_set, XRSTOR; "
			   "system() exit 3");
}

int main(void)
{
	atk_init();
	atk_run("int3.sites_read_cc", "every site 0xCC, none left",
		sites_patched, NULL);
	atk_run("int3.wrpkru_emulated", "runs; SEGV_PKUERR", wrpkru_emulated,
		NULL);
	atk_run("int3.pkey_set_store_key", "SIGKILL", atk_pkey_set_store, NULL);
	atk_run("int3.xrstor_exact", "ymm0 restored", xrstor_exact, NULL);
	atk_run("int3.xrstor_misaligned", "SIGSEGV", xrstor_misaligned, NULL);
	atk_run("int3.xrstor_not_present", "ymm0 restored", xrstor_not_present,
		NULL);
	atk_run("int3.xrstor_from_store", "SIGSEGV", xrstor_from_store, NULL);
	atk_run("int3.dontneed_patched_page", "EPERM, int3 kept",
		dontneed_patched, NULL);
	atk_run("int3.reattach_copy_kept", "copy kept", reattach_copy, NULL);
	atk_run("int3.fork_child_runs_sites", "child runs them", fork_child,
		NULL);
	return vm_done();
}
