/* SPDX-License-Identifier: MIT */
/*
 * atk_xmem - issue 13 item 1: executable bytes nobody scanned. The
 * invariant: after attach, every executable byte of the mm was scanned
 * and cannot change. Each attack runs as uid 12345 against the store root
 * made (mode 0666) and tries to get bytes of its choosing executed after
 * attach, then runs them: a WRPKRU (PKRU = 0) or an XRSTOR of PKRU = 0,
 * and reads the store header. Expected: the step that would add or change
 * the bytes is refused; the store stays closed.
 *
 *  - mremap: an exec file mapping grown in place over a page holding a
 *    WRPKRU; an exec page holding an XRSTOR (watched by a hardware
 *    breakpoint at its address) moved with MAYMOVE|FIXED and with
 *    MREMAP_DONTUNMAP
 *  - userfaultfd: an exec page zapped with MADV_DONTNEED and filled with
 *    UFFDIO_COPY (anonymous r-x, whose zap is refused on its own, and a
 *    private mapping of a read-only tmpfs file)
 *  - a WRPKRU across the seam of two exec file mappings side by side,
 *    both mapped before attach, and the second mapped after attach
 *  - a private exec mapping whose page was rewritten before attach (the
 *    scan sees the copy; MADV_DONTNEED would show the file's WRPKRU)
 *  - the file under an exec mapping: written through a hard link,
 *    truncated and extended; another page shown by remap_file_pages (it
 *    needs the file open for writing: attach refuses that mapping)
 *  - brk under personality(READ_IMPLIES_EXEC): an RWX heap
 *  - MADV_DONTNEED of an anonymous exec page (it reads back as zeros);
 *    a new vDSO mapped with arch_prctl(ARCH_MAP_VDSO_64)
 *  - a file on a filesystem outside the module's list (hugetlbfs stands in
 *    for FUSE and NFS, which the test host lacks)
 *
 * Controls (the paths run): mremap of data, userfaultfd on data, brk,
 * MADV_DONTNEED of data beside anonymous exec memory, a zapped exec file
 * page refaulting the same bytes, a clean tmpfs file mapped exec at attach.
 */
#include "attacks.h"
#include <cpuid.h>
#include <linux/userfaultfd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define PG	4096UL
#define ATK_UID 12345

/*
 * The code bytes, volatile: a constant the compiler could fold would put
 * them in our own text as an immediate, where the attach scan finds them.
 */
/* xor ecx,ecx; xor edx,edx; xor eax,eax; wrpkru; ret */
static volatile const uint8_t wrpkru_v[] = {0x31, 0xc9, 0x31, 0xd2, 0x31,
					    0xc0, 0x0f, 0x01, 0xef, 0xc3};
/* xrstor (%rsi); ret */
static volatile const uint8_t xrstor_v[] = {0x0f, 0xae, 0x2e, 0xc3};
static uint8_t wrpkru_code[sizeof(wrpkru_v)], xrstor_code[sizeof(xrstor_v)];
static const uint8_t ret_code[] = {0xc3};

static void load_code(void)
{
	size_t i;

	for (i = 0; i < sizeof(wrpkru_v); i++)
		wrpkru_code[i] = wrpkru_v[i];
	for (i = 0; i < sizeof(xrstor_v); i++)
		xrstor_code[i] = xrstor_v[i];
}

static int run_wrpkru(const uint8_t *code);

static int become_user(void)
{
	if (setgid(ATK_UID) || setuid(ATK_UID))
		return VM_FAIL("setuid(%d): %s", ATK_UID, strerror(errno));
	return 0;
}

/* @path: @npages pages of ret, @code at page @at, byte @off (@at < 0:
 * none). */
static int make_file_at(const char *path, int npages, int at, size_t off,
			const void *code, size_t len)
{
	uint8_t page[PG];
	int fd, i, bad = 0;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0700);
	if (fd < 0)
		return VM_FAIL("create %s: %s", path, strerror(errno));
	for (i = 0; i < npages; i++) {
		memset(page, 0xc3, sizeof(page));
		if (i == at)
			memcpy(page + off, code, len);
		bad |= write(fd, page, PG) != (ssize_t)PG;
	}
	close(fd);
	return bad ? VM_FAIL("write %s", path) : 0;
}

static int make_file(const char *path, int npages, int at, const void *code,
		     size_t len)
{
	return make_file_at(path, npages, at, 64, code, len);
}

/*
 * Two clean files whose pages, side by side, hold one WRPKRU across the
 * seam: "xor ecx; xor edx; xor eax; 0F 01" ends the first, "EF; ret"
 * starts the second. Map the first r-x at @p (two pages reserved there);
 * the second is /tmp/xmem-seam-b.
 */
static int seam_setup(uint8_t **p)
{
	int fd;

	if (make_file_at("/tmp/xmem-seam-a", 1, 0, PG - 8, wrpkru_code, 8) ||
	    make_file_at("/tmp/xmem-seam-b", 1, 0, 0, wrpkru_code + 8, 2))
		return -1;
	*p = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open("/tmp/xmem-seam-a", O_RDONLY);
	if (*p == MAP_FAILED || fd < 0 ||
	    mmap(*p, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd,
		 0) != (void *)*p)
		return VM_FAIL("map the first file");
	close(fd);
	return 0;
}

/* Map /tmp/xmem-seam-b r-x at @at (MAP_FIXED). */
static void *seam_map_b(uint8_t *at)
{
	int fd = open("/tmp/xmem-seam-b", O_RDONLY);
	void *q = mmap(at, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED,
		       fd, 0);

	close(fd);
	return q;
}

/* Both mapped before attach: the scan must see across the seam. */
static int seam_attach(void)
{
	uint8_t *p;
	int rc;

	if (become_user() || seam_setup(&p))
		return -1;
	if (seam_map_b(p + PG) == MAP_FAILED)
		return VM_FAIL("map the second file");
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc)
		return ATK_REFUSED("attach refused: %s", plmc_strerror(rc));
	return run_wrpkru(p + PG - 8);
}

/* The second mapped after attach, as late code, next to the first. */
static int seam_late(void)
{
	uint8_t *p;

	if (become_user() || seam_setup(&p) || vm_attach(ATK_STORE))
		return -1;
	if (seam_map_b(p + PG) == MAP_FAILED) {
		if (errno != EACCES)
			return VM_FAIL("late map: %s, expected EACCES",
				       vm_errno_name(errno));
		return ATK_REFUSED("late exec mapping next to exec memory "
				   "EACCES");
	}
	return run_wrpkru(p + PG - 8);
}

/* Map @path's page @pgoff r-x (@flags: MAP_PRIVATE or MAP_SHARED). */
static uint8_t *map_exec(const char *path, size_t len, off_t pgoff, int flags)
{
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_EXEC, flags, fd, pgoff * PG);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Run the WRPKRU at @code: 0 if the store stayed closed, -1 if it opened. */
static int run_wrpkru(const uint8_t *code)
{
	((void (*)(void))(uintptr_t)code)();
	if (atk_store_magic_ok())
		return VM_FAIL("WRPKRU at %p ran after attach: store header "
			       "readable",
			       (const void *)code);
	return VM_FAIL("WRPKRU at %p ran after attach (store still closed)",
		       (const void *)code);
}

static unsigned pkru_offset(void)
{
	unsigned a, b, c, d;

	__cpuid_count(0xd, 9, a, b, c, d);
	return a ? b : 0;
}

/* Run the XRSTOR at @code with an area whose only component is PKRU = 0. */
static int run_xrstor(const uint8_t *code)
{
	static uint8_t area[8192] __attribute__((aligned(64)));
	unsigned off = pkru_offset();

	if (!off || off + 8 > sizeof(area))
		return VM_FAIL("no PKRU state component (cpuid 0xd.9)");
	memset(area, 0, sizeof(area));
	*(uint64_t *)(area + 512) = 1ULL << 9; /* XSTATE_BV: PKRU */
	/* Below the red zone: the call pushes a return address. */
	asm volatile("sub $128, %%rsp\n\tcall *%[f]\n\tadd $128, %%rsp"
		     :
		     : [f] "r"(code), "S"(area), "a"(1U << 9), "d"(0)
		     : "memory", "rcx", "rdi", "r8", "r9", "r10", "r11");
	if (atk_store_magic_ok())
		return VM_FAIL("moved XRSTOR at %p ran: store header readable",
			       (const void *)code);
	return VM_FAIL("moved XRSTOR at %p ran (store still closed)",
		       (const void *)code);
}

/* An anonymous r-x page holding @code at offset 64. */
static uint8_t *anon_exec(const void *code, size_t len)
{
	return atk_exec_blob(1, 64, code, len);
}

/* Grow a one-page exec file mapping in place over a WRPKRU page. */
static int mremap_grow(void)
{
	const char *f = "/tmp/xmem-grow";
	uint8_t *p, *q;

	if (become_user() ||
	    make_file(f, 2, 1, wrpkru_code, sizeof(wrpkru_code)))
		return -1;
	/* Two pages reserved, the file's first over the first, so the
	 * second is free for the grow. */
	p = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return VM_FAIL("reserve");
	{
		int fd = open(f, O_RDONLY);

		if (fd < 0 || mmap(p, PG, PROT_READ | PROT_EXEC,
				   MAP_PRIVATE | MAP_FIXED, fd, 0) != (void *)p)
			return VM_FAIL("map the clean page");
		close(fd);
	}
	munmap(p + PG, PG);
	if (vm_attach(ATK_STORE))
		return -1;
	q = mremap(p, PG, 2 * PG, 0);
	if (q == MAP_FAILED) {
		if (errno != EPERM)
			return VM_FAIL("mremap grow: %s, expected EPERM",
				       vm_errno_name(errno));
		return ATK_REFUSED("grow EPERM");
	}
	return run_wrpkru(q + PG + 64);
}

/* Move an exec page holding an XRSTOR (watched at its address). */
static int mremap_move(int dontunmap)
{
	uint8_t *p, *dst, *q;
	int flags = MREMAP_MAYMOVE | (dontunmap ? MREMAP_DONTUNMAP : 0);

	if (become_user())
		return -1;
	p = anon_exec(xrstor_code, sizeof(xrstor_code));
	dst = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!p || dst == MAP_FAILED)
		return VM_FAIL("setup");
	if (vm_attach(ATK_STORE))
		return -1;
	if (!dontunmap)
		flags |= MREMAP_FIXED;
	else
		munmap(dst, PG); /* let the kernel pick */
	q = dontunmap ? mremap(p, PG, PG, flags)
		      : mremap(p, PG, PG, flags, dst);
	if (q == MAP_FAILED) {
		if (errno != EPERM)
			return VM_FAIL("mremap move: %s, expected EPERM",
				       vm_errno_name(errno));
		return ATK_REFUSED("move EPERM");
	}
	vm_expect_death(); /* if a breakpoint still caught it */
	return run_xrstor(q + 64);
}

static int mremap_move_fixed(void)
{
	return mremap_move(0);
}

static int mremap_move_dontunmap(void)
{
	return mremap_move(1);
}

/* A userfaultfd for this process, API handshake done; -1 on failure. */
static int uffd_open(void)
{
	struct uffdio_api api = {.api = UFFD_API};
	int fd = (int)syscall(SYS_userfaultfd,
			      O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		return -1;
	return fd;
}

/*
 * @p (one exec page, scanned at attach): zap it, register it with a
 * userfaultfd and fill it with a WRPKRU page. Refused at the register
 * (6.12) or at the fill (6.1).
 */
static int uffd_refill(uint8_t *p, int zap)
{
	static uint8_t src[PG] __attribute__((aligned(4096)));
	struct uffdio_register reg;
	struct uffdio_copy cp;
	int fd;

	/* Anonymous exec memory refuses the zap (dontneed_anon_exec): the
	 * copy must then be refused on its own, over the present page. */
	if (zap && madvise(p, PG, MADV_DONTNEED) &&
	    (zap != 2 || errno != EPERM))
		return VM_FAIL("MADV_DONTNEED: %s", strerror(errno));
	fd = uffd_open();
	if (fd < 0)
		return VM_FAIL("userfaultfd: %s", strerror(errno));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = PG;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		if (errno != EPERM)
			return VM_FAIL("register: %s, expected EPERM",
				       vm_errno_name(errno));
		return ATK_REFUSED("register EPERM");
	}
	memset(src, 0xc3, sizeof(src));
	memcpy(src + 64, wrpkru_code, sizeof(wrpkru_code));
	memset(&cp, 0, sizeof(cp));
	cp.dst = (uintptr_t)p;
	cp.src = (uintptr_t)src;
	cp.len = PG;
	if (ioctl(fd, UFFDIO_COPY, &cp)) {
		int e = errno;

		if (e != EPERM && e != ENOMEM)
			return VM_FAIL("copy: %s, expected EPERM",
				       vm_errno_name(e));
		/* Closed first: a read of a missing page would wait on it. */
		close(fd);
		if (memmem(p, PG, wrpkru_code + 6, 3))
			return VM_FAIL("copy refused, but a WRPKRU is there");
		return ATK_REFUSED("register ok, copy %s", vm_errno_name(e));
	}
	return run_wrpkru(p + 64);
}

/* Anonymous r-x (its zap is refused too: the copy is tried anyway). */
static int uffd_anon(void)
{
	uint8_t *p;

	if (become_user())
		return -1;
	p = anon_exec(ret_code, sizeof(ret_code));
	if (!p)
		return VM_FAIL("blob");
	if (vm_attach(ATK_STORE))
		return -1;
	return uffd_refill(p, 2);
}

/* Zap an anonymous exec page: it would read back as zeros. */
static int dontneed_anon(void)
{
	uint8_t *p;

	if (become_user())
		return -1;
	p = anon_exec(ret_code, sizeof(ret_code));
	if (!p || vm_attach(ATK_STORE))
		return VM_FAIL("setup");
	if (madvise(p, PG, MADV_DONTNEED)) {
		if (errno != EPERM)
			return VM_FAIL("MADV_DONTNEED: %s, expected EPERM",
				       vm_errno_name(errno));
		if (p[64] != 0xc3)
			return VM_FAIL("refused, but the page changed");
		return ATK_REFUSED("MADV_DONTNEED EPERM, page intact");
	}
	return VM_FAIL("anonymous exec page zapped: reads %02x, was c3", p[64]);
}

/* Unmap the vDSO and map a new one (arch_prctl): exec bytes never scanned. */
static int vdso_remap(void)
{
	unsigned long lo = 0, hi = 0;
	char line[256];
	FILE *f;
	long rc;

	if (become_user() || vm_attach(ATK_STORE))
		return -1;
	/* The vDSO and its data pages ([vvar], [vvar_vclock]) all go:
	 * a new one is mapped only where none is left. */
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (!strstr(line, "[vdso]") && !strstr(line, "[vvar"))
			continue;
		if (sscanf(line, "%lx-%lx", &a, &b) != 2 ||
		    munmap((void *)a, b - a))
			return VM_FAIL("unmap %s", line);
		if (strstr(line, "[vdso]")) {
			lo = a;
			hi = b;
		}
	}
	if (f)
		fclose(f);
	if (!lo || !hi)
		return VM_FAIL("no vDSO");
	/* Success returns the vDSO's size. */
	rc = syscall(SYS_arch_prctl, 0x2003 /* ARCH_MAP_VDSO_64 */, lo);
	if (rc < 0) {
		if (errno != EPERM)
			return VM_FAIL("ARCH_MAP_VDSO_64: %s, expected EPERM",
				       vm_errno_name(errno));
		return ATK_REFUSED("ARCH_MAP_VDSO_64 EPERM");
	}
	return VM_FAIL("a new vDSO mapped after attach, never scanned");
}

static int uffd_tmpfs(void)
{
	const char *f = "/tmp/xmem-uffd";
	uint8_t *p;

	if (become_user() || make_file(f, 1, -1, NULL, 0))
		return -1;
	p = map_exec(f, PG, 0, MAP_PRIVATE);
	if (!p)
		return VM_FAIL("map");
	if (vm_attach(ATK_STORE))
		return -1;
	return uffd_refill(p, 1);
}

/* The file holds a WRPKRU; the mapping's private copy does not. */
static int cow_hides_file(void)
{
	const char *f = "/tmp/xmem-cow";
	uint8_t *p;
	int fd, rc;

	if (become_user() ||
	    make_file(f, 1, 0, wrpkru_code, sizeof(wrpkru_code)))
		return -1;
	fd = open(f, O_RDONLY);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return VM_FAIL("map");
	memset(p, 0xc3, PG); /* private copy: no WRPKRU for the scan */
	if (mprotect(p, PG, PROT_READ | PROT_EXEC))
		return VM_FAIL("mprotect");
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc)
		return ATK_REFUSED("attach refused: %s", plmc_strerror(rc));
	if (madvise(p, PG, MADV_DONTNEED))
		return VM_FAIL("attached; MADV_DONTNEED: %s", strerror(errno));
	return run_wrpkru(p + 64); /* the file's page, never scanned */
}

/* Write the file under an exec mapping through a hard link made after. */
static int hardlink_write(void)
{
	const char *f = "/tmp/xmem-link", *l = "/tmp/xmem-link2";
	uint8_t *p;
	int fd;

	if (become_user() || make_file(f, 1, -1, NULL, 0))
		return -1;
	p = map_exec(f, PG, 0, MAP_PRIVATE);
	if (!p || vm_attach(ATK_STORE))
		return VM_FAIL("setup");
	unlink(l);
	if (link(f, l))
		return VM_FAIL("link: %s", strerror(errno));
	fd = open(l, O_WRONLY);
	if (fd < 0) {
		if (errno != ETXTBSY)
			return VM_FAIL("open link: %s, expected ETXTBSY",
				       vm_errno_name(errno));
		return ATK_REFUSED("open for write through a link ETXTBSY");
	}
	if (pwrite(fd, wrpkru_code, sizeof(wrpkru_code), 64) !=
	    (ssize_t)sizeof(wrpkru_code))
		return VM_FAIL("opened, write failed");
	return run_wrpkru(p + 64);
}

/* Truncate the file under an exec mapping and extend it with new bytes. */
static int truncate_extend(void)
{
	const char *f = "/tmp/xmem-trunc";
	uint8_t *p;

	if (become_user() || make_file(f, 1, -1, NULL, 0))
		return -1;
	p = map_exec(f, PG, 0, MAP_SHARED);
	if (!p || vm_attach(ATK_STORE))
		return VM_FAIL("setup");
	if (truncate(f, 0)) {
		if (errno != ETXTBSY)
			return VM_FAIL("truncate: %s, expected ETXTBSY",
				       vm_errno_name(errno));
		return ATK_REFUSED("truncate ETXTBSY");
	}
	return VM_FAIL("truncated the file under an exec mapping");
}

/*
 * remap_file_pages: the exec VMA shows another page of its file. It needs
 * a shared mapping of a file opened for writing (else the kernel drops
 * VM_SHARED), and such a mapping keeps the file open for writing.
 */
static int remap_pages(void)
{
	const char *f = "/tmp/xmem-remap";
	uint8_t *p;
	int fd, rc;

	if (become_user() ||
	    make_file(f, 2, 1, wrpkru_code, sizeof(wrpkru_code)))
		return -1;
	fd = open(f, O_RDWR);
	p = mmap(NULL, PG, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return VM_FAIL("map: %s", strerror(errno));
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc)
		return ATK_REFUSED("attach refused: %s", plmc_strerror(rc));
	if (remap_file_pages(p, PG, 0, 1, 0)) {
		if (errno != EACCES && errno != EPERM)
			return VM_FAIL("remap_file_pages: %s, expected EACCES",
				       vm_errno_name(errno));
		return ATK_REFUSED("remap_file_pages %s", vm_errno_name(errno));
	}
	return run_wrpkru(p + 64);
}

/* personality(READ_IMPLIES_EXEC), then grow the heap: RWX. */
static int brk_rie(void)
{
	uint8_t *p;

	if (become_user() || vm_attach(ATK_STORE))
		return -1;
	if (personality(READ_IMPLIES_EXEC) == -1)
		return VM_FAIL("personality: %s", strerror(errno));
	p = sbrk(2 * PG);
	if (p == (void *)-1)
		return ATK_REFUSED("sbrk %s", vm_errno_name(errno));
	p = (uint8_t *)(((uintptr_t)p + PG - 1) & ~(PG - 1));
	memcpy(p + 64, wrpkru_code, sizeof(wrpkru_code));
	return run_wrpkru(p + 64);
}

/* An exec file mapping on hugetlbfs, outside the module's list. */
static int fs_not_owned(void)
{
	const char *dir = "/tmp/xmem-huge", *f = "/tmp/xmem-huge/code";
	const size_t huge = 2UL << 20;
	uint8_t *p;
	int fd, rc, hp;

	mkdir(dir, 01777);
	hp = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	if (hp < 0 || write(hp, "4", 1) != 1)
		return VM_FAIL("nr_hugepages");
	close(hp);
	if (mount("none", dir, "hugetlbfs", 0, "mode=01777") && errno != EBUSY)
		return VM_FAIL("mount hugetlbfs: %s", strerror(errno));
	if (become_user())
		return -1;
	unlink(f);
	fd = open(f, O_RDWR | O_CREAT, 0700);
	if (fd < 0)
		return VM_FAIL("create: %s", strerror(errno));
	p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return VM_FAIL("map rw: %s", strerror(errno));
	memset(p, 0xc3, huge);
	munmap(p, huge);
	close(fd);
	p = map_exec(f, huge, 0, MAP_SHARED);
	if (!p)
		return VM_FAIL("map exec: %s", strerror(errno));
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc)
		return ATK_REFUSED("attach refused: %s", plmc_strerror(rc));
	return VM_FAIL("attached with exec memory on hugetlbfs");
}

/* Controls: the paths refused above work where no exec byte changes. */
static int control_mremap_data(void)
{
	uint8_t *p, *q;

	if (become_user() || vm_attach(ATK_STORE))
		return -1;
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return VM_FAIL("mmap");
	p[0] = 42;
	q = mremap(p, PG, 64 * PG, MREMAP_MAYMOVE);
	if (q == MAP_FAILED || q[0] != 42)
		return VM_FAIL("mremap of data: %s", strerror(errno));
	if (plmc_nop())
		return VM_FAIL("gate after mremap");
	return ATK_REFUSED("data grown and moved; gate works");
}

static int control_uffd_data(void)
{
	static uint8_t src[PG] __attribute__((aligned(4096)));
	struct uffdio_register reg;
	struct uffdio_copy cp;
	uint8_t *p;
	int fd;

	if (become_user() || vm_attach(ATK_STORE))
		return -1;
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	fd = uffd_open();
	if (p == MAP_FAILED || fd < 0)
		return VM_FAIL("setup: %s", strerror(errno));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = PG;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return VM_FAIL("register data: %s", strerror(errno));
	memset(src, 7, sizeof(src));
	memset(&cp, 0, sizeof(cp));
	cp.dst = (uintptr_t)p;
	cp.src = (uintptr_t)src;
	cp.len = PG;
	if (ioctl(fd, UFFDIO_COPY, &cp) || p[100] != 7)
		return VM_FAIL("copy into data: %s", strerror(errno));
	return ATK_REFUSED("userfaultfd register and copy on data work");
}

static int control_brk(void)
{
	uint8_t *p;

	if (become_user() || vm_attach(ATK_STORE))
		return -1;
	p = sbrk(PG);
	if (p == (void *)-1)
		return VM_FAIL("sbrk: %s", strerror(errno));
	p[0] = 1;
	return ATK_REFUSED("sbrk works");
}

/* Anonymous exec memory at attach: discarding data still works. */
static int control_dontneed_data(void)
{
	uint8_t *x, *d;

	if (become_user())
		return -1;
	x = anon_exec(ret_code, sizeof(ret_code));
	d = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (!x || d == MAP_FAILED || vm_attach(ATK_STORE))
		return VM_FAIL("setup");
	d[0] = 9;
	if (madvise(d, PG, MADV_DONTNEED) || d[0] != 0)
		return VM_FAIL("MADV_DONTNEED of data: %s", strerror(errno));
	return ATK_REFUSED("data discarded beside anonymous exec memory");
}

static int control_exec_file(void)
{
	const char *f = "/tmp/xmem-clean";
	uint8_t *p;

	if (become_user() || make_file(f, 1, -1, NULL, 0))
		return -1;
	p = map_exec(f, PG, 0, MAP_PRIVATE);
	if (!p || vm_attach(ATK_STORE))
		return VM_FAIL("clean tmpfs exec mapping: attach refused");
	if (madvise(p, PG, MADV_DONTNEED))
		return VM_FAIL("MADV_DONTNEED: %s", strerror(errno));
	((void (*)(void))(uintptr_t)(p + 64))();
	if (plmc_nop())
		return VM_FAIL("gate");
	return ATK_REFUSED("attached, zapped page refaulted and ran");
}

int main(void)
{
	load_code();
	atk_init();
	atk_run("xmem.mremap_grow_exec_file", "EPERM", mremap_grow, NULL);
	atk_run("xmem.mremap_move_xrstor_fixed", "EPERM", mremap_move_fixed,
		NULL);
	atk_run("xmem.mremap_move_xrstor_dontunmap", "EPERM",
		mremap_move_dontunmap, NULL);
	atk_run("xmem.uffd_refill_anon_exec", "EPERM", uffd_anon, NULL);
	atk_run("xmem.uffd_refill_tmpfs_exec", "EPERM", uffd_tmpfs, NULL);
	atk_run("xmem.dontneed_anon_exec", "EPERM", dontneed_anon, NULL);
	atk_run("xmem.vdso_remap", "EPERM", vdso_remap, NULL);
	atk_run("xmem.wrpkru_across_two_files", "attach EPERM", seam_attach,
		NULL);
	atk_run("xmem.late_code_next_to_exec", "EACCES", seam_late, NULL);
	atk_run("xmem.cow_copy_hides_file", "attach EPERM", cow_hides_file,
		NULL);
	atk_run("xmem.hardlink_write", "ETXTBSY", hardlink_write, NULL);
	atk_run("xmem.truncate_extend", "ETXTBSY", truncate_extend, NULL);
	atk_run("xmem.remap_file_pages", "attach EPERM", remap_pages, NULL);
	atk_run("xmem.brk_read_implies_exec", "sbrk fails", brk_rie, NULL);
	atk_run("xmem.fs_not_owned_hugetlbfs", "attach EPERM", fs_not_owned,
		NULL);
	atk_run("xmem.control_mremap_data", "works", control_mremap_data, NULL);
	atk_run("xmem.control_uffd_data", "works", control_uffd_data, NULL);
	atk_run("xmem.control_brk", "works", control_brk, NULL);
	atk_run("xmem.control_dontneed_data", "works", control_dontneed_data,
		NULL);
	atk_run("xmem.control_exec_file_zap", "works", control_exec_file, NULL);
	return vm_done();
}
