/* SPDX-License-Identifier: MIT */
/*
 * atk_deputy - attacks 5 and 6: confused deputies.
 * Kernel: read(), recv() and other syscalls handed store pointers; and
 * the other way, syscalls asked to read the store or the image out to a
 * pipe, socket or file (write, writev, send, pwrite, vmsplice).
 * Expected: EFAULT (the kernel's copies honour the caller's PKRU; GUP
 * refuses the PFN mappings), nothing of the store comes out.
 * Library: API calls whose buffers overlap the store, the image, the
 * stacks, the ppage, or wrap around the address space; a buffer unmapped
 * by another thread during calls. Expected: PLMC_E_FAULT (or another
 * refusal), never a write into the store; the racing client may at worst
 * kill itself; the store stays intact.
 */
#include "attacks.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>

static int kernel_read(void)
{
	int p[2], e;
	ssize_t n;

	if (vm_attach(ATK_STORE) || pipe(p))
		return VM_FAIL("setup");
	if (write(p[1], "AAAAAAAA", 8) != 8)
		return VM_FAIL("pipe write");
	n = read(p[0], (void *)PLMC_KV_ADDR, 8);
	e = errno;
	if (n >= 0)
		return VM_FAIL("read() into the store: %zd", n);
	return ATK_REFUSED("%s", vm_errno_name(e));
}

static int kernel_recv(void)
{
	int sv[2], e;
	ssize_t n;

	if (vm_attach(ATK_STORE) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return VM_FAIL("setup");
	if (send(sv[1], "BBBBBBBB", 8, 0) != 8)
		return VM_FAIL("send");
	n = recv(sv[0], (void *)PLMC_STORE_ADDR, 8, 0);
	e = errno;
	if (n >= 0)
		return VM_FAIL("recv() into the store: %zd", n);
	return ATK_REFUSED("%s", vm_errno_name(e));
}

static int kernel_misc(void)
{
	long a, b, c;
	int ea, eb, ec;

	if (vm_attach(ATK_STORE))
		return -1;
	a = syscall(__NR_clock_gettime, CLOCK_REALTIME,
		    (void *)PLMC_STORE_ADDR);
	ea = errno;
	b = syscall(__NR_uname, (void *)(PLMC_STORE_ADDR + 0x100));
	eb = errno;
	c = syscall(__NR_getcwd, (void *)PLMC_SLOTS_ADDR, 64);
	ec = errno;
	if (a >= 0 || b >= 0 || c >= 0)
		return VM_FAIL("syscall wrote the store: %ld %ld %ld", a, b, c);
	return ATK_REFUSED("clock_gettime %s, uname %s, getcwd %s",
			   vm_errno_name(ea), vm_errno_name(eb),
			   vm_errno_name(ec));
}

/* The kernel asked to read protected memory out: nothing may come out. */
static int kernel_out(void)
{
	const uint64_t src[] = {PLMC_STORE_ADDR, PLMC_KV_ADDR, PLMC_BASE,
				PLMC_STACKS_ADDR};
	int p[2], sv[2], fd, i, nout = 0;
	char buf[64], what[300] = "";
	size_t w = 0;

	if (vm_attach(ATK_STORE) || pipe(p) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return VM_FAIL("setup");
	fd = open("/tmp/atk-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return VM_FAIL("open: %s", strerror(errno));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	for (i = 0; i < 4; i++) {
		void *s = (void *)(uintptr_t)src[i];
		struct iovec iov = {s, 32};
		long r[5];
		int j;

		r[0] = write(p[1], s, 32);
		r[1] = writev(p[1], &iov, 1);
		r[2] = send(sv[1], s, 32, MSG_DONTWAIT);
		r[3] = pwrite(fd, s, 32, 0);
		r[4] = vmsplice(p[1], &iov, 1, 0);
		for (j = 0; j < 5; j++)
			if (r[j] >= 0)
				nout++;
		w += (size_t)snprintf(what + w, sizeof(what) - w, "%s%s",
				      i ? "/" : "", vm_errno_name(errno));
	}
	/* Whatever a call claimed, nothing may be readable at the far end. */
	if (read(p[0], buf, sizeof(buf)) > 0 ||
	    recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) > 0 ||
	    pread(fd, buf, sizeof(buf), 0) > 0)
		return VM_FAIL("store bytes came out (%d calls said yes)", nout);
	close(fd);
	unlink("/tmp/atk-out");
	if (nout)
		return VM_FAIL("%d of 20 calls accepted a protected source",
			       nout);
	return ATK_REFUSED("20 calls refused (%s), nothing came out", what);
}

struct bad {
	const char *what;
	uint64_t addr;
	size_t len;
};

static const struct bad bads[] = {
	{"store", PLMC_KV_ADDR + 0x100, 16},
	{"store header", PLMC_STORE_ADDR, 16},
	{"image", PLMC_BASE + 0x100, 16},
	{"stacks", PLMC_STACKS_ADDR + 0x3000, 16},
	{"ppage", PLMC_PPAGE_ADDR, 16},
	{"below the window into it", PLMC_BASE - 8, 64},
	{"store end", PLMC_STORE_ADDR + VM_STORE_SIZE - 8, 64},
	{"wrapping", 0xfffffffffffffff0ULL, 64},
	{"kernel half", 0xffff888000000000ULL, 16},
};

static int lib_deputy(void)
{
	char ok[64];
	size_t vlen, i;
	int bad = 0, r1, r2, r3;

	if (vm_attach(ATK_STORE) || vm_roundtrip("dep-key", "dep-val"))
		return -1;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		void *p = (void *)(uintptr_t)bads[i].addr;

		r1 = plmc_get("dep-key", 7, p, bads[i].len, &vlen, NULL, NULL);
		r2 = plmc_set(p, bads[i].len, "v", 1, 0, 0);
		r3 = plmc_set("dep-k2", 6, p, bads[i].len, 0, 0);
		if (r1 == PLMC_OK || r2 == PLMC_STORED || r3 == PLMC_STORED) {
			bad = 1;
			vm_why("%s accepted: get %d set-key %d set-val %d",
			       bads[i].what, r1, r2, r3);
			break;
		}
	}
	if (bad)
		return -1;
	if (plmc_get("dep-key", 7, ok, sizeof(ok), &vlen, NULL, NULL))
		return VM_FAIL("good call failed after the bad ones");
	return ATK_REFUSED("%zu bad ranges refused (last: %s)",
			   sizeof(bads) / sizeof(bads[0]),
			   plmc_strerror(r1));
}

static volatile int racing = 1;
static char *volatile race_buf;

static void *unmapper(void *arg)
{
	(void)arg;
	while (racing) {
		munmap(race_buf, 4096);
		mmap(race_buf, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
	return NULL;
}

static int lib_unmap_race(void)
{
	pthread_t t;
	size_t vlen;
	int i, nok = 0, nerr = 0;

	if (vm_attach(ATK_STORE) || vm_roundtrip("race-key", "race-val"))
		return -1;
	race_buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (race_buf == MAP_FAILED)
		return VM_FAIL("mmap");
	/* The client may kill itself on its own buffer: that is allowed. */
	vm_expect_death();
	pthread_create(&t, NULL, unmapper, NULL);
	for (i = 0; i < 300; i++) {
		if (plmc_get("race-key", 8, race_buf, 64, &vlen, NULL, NULL))
			nerr++;
		else
			nok++;
	}
	racing = 0;
	pthread_join(t, NULL);
	vm_sh->expect_death = 0;
	return ATK_REFUSED("survived: %d ok, %d refused", nok, nerr);
}

int main(void)
{
	atk_init();
	atk_run("deputy.kernel_read", "EFAULT", kernel_read, NULL);
	atk_run("deputy.kernel_recv", "EFAULT", kernel_recv, NULL);
	atk_run("deputy.kernel_misc_syscalls", "EFAULT", kernel_misc, NULL);
	atk_run("deputy.kernel_reads_store_out", "EFAULT, nothing out",
		kernel_out, NULL);
	atk_run("deputy.library_bad_buffers", "PLMC_E_FAULT", lib_deputy,
		NULL);
	atk_run("deputy.library_buffer_unmapped", "errors or own death",
		lib_unmap_race, NULL);
	return vm_done();
}
