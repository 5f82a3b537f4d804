/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/harness.h - the VM suite's tiny harness.
 *
 * Every test runs in a forked child with a time limit, so a test that
 * faults, hangs or leaves a store attached cannot disturb the next one.
 * A test is a function returning 0 (pass) or -1 (fail) after setting a
 * reason with VM_FAIL() or VM_CHECK(). The parent prints one line per test:
 *
 *	PASS name            or   PASS name (note)
 *	FAIL name: reason
 *
 * Expected faults: a test announces the signal it expects with
 * vm_expect_fault() and then does the forbidden access. The child's signal
 * handler records signo, si_code and si_addr in a page shared with the
 * parent and _exit()s; the parent compares them with what was expected.
 * A test that returns while a fault was expected fails. A child killed
 * outright (a fault the handler could not run for) counts as the expected
 * death only when the test said so with vm_expect_death().
 */
#ifndef VM_HARNESS_H
#define VM_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <plmc.h>
#include <plmc/layout.h>
#include <plmc/image.h>
#include <plmc/ioctl.h>
#include <plmc/gate.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

/* A program whose rows wait on the module may raise it. */
#ifndef VM_LIMIT_S
#define VM_LIMIT_S 60 /* per test; TCG is slow, but not this slow */
#endif
/*
 * 16 MiB: pages are 1 MiB and the class ladder is memcached's, so a store
 * of 8 had fewer pages than the classes a test touches, and the page mover
 * then evicted one class's live items for another's first page (memcached
 * grants each class its first page past -m; a fixed segment cannot).
 */
#define VM_STORE_SIZE (16ULL << 20)

struct vm_shared {
	/* Set by the test before a forbidden access. */
	int expect_signo;     /* 0: no fault expected */
	int expect_code;      /* 0: any si_code */
	uint64_t expect_addr; /* 0: any address */
	int expect_death;     /* a kill without the handler also passes */
	/* Set by the handler. */
	int got_signo;
	int got_code;
	uint64_t got_addr;
	char why[512];	/* reason on failure, from the test */
	char note[128]; /* shown after PASS */
};

static struct vm_shared *vm_sh;
static int vm_npass, vm_nfail;

static inline void vm_why(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void vm_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm_sh->why, sizeof(vm_sh->why), fmt, ap);
	va_end(ap);
}

static inline void vm_note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void vm_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm_sh->note, sizeof(vm_sh->note), fmt, ap);
	va_end(ap);
}

/* Fail the running test with a reason: `return VM_FAIL("x %d", y);` */
#define VM_FAIL(...) (vm_why(__VA_ARGS__), -1)
/* Check a condition; on failure return the formatted reason. */
#define VM_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond))                                                   \
			return VM_FAIL(__VA_ARGS__);                           \
	} while (0)

/* Only write() and _exit(): this runs after a fault, anywhere. */
static void vm_on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	vm_sh->got_signo = sig;
	vm_sh->got_code = si->si_code;
	vm_sh->got_addr = (uint64_t)(uintptr_t)si->si_addr;
	_exit(97);
}

static inline void vm_expect_fault(int signo, int code, uint64_t addr)
{
	vm_sh->expect_signo = signo;
	vm_sh->expect_code = code;
	vm_sh->expect_addr = addr;
}

static inline void vm_expect_death(void)
{
	vm_sh->expect_death = 1;
}

static void vm_catch(void)
{
	static const int sigs[] = {SIGSEGV, SIGILL, SIGBUS, SIGTRAP, SIGFPE};
	struct sigaction sa;
	unsigned i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vm_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static inline const char *vm_sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGILL:
		return "SIGILL";
	case SIGBUS:
		return "SIGBUS";
	case SIGTRAP:
		return "SIGTRAP";
	case SIGFPE:
		return "SIGFPE";
	default:
		return "signal?";
	}
}

static inline const char *vm_code_name(int sig, int code)
{
	if (sig != SIGSEGV)
		return "-";
	switch (code) {
	case SEGV_MAPERR:
		return "SEGV_MAPERR";
	case SEGV_ACCERR:
		return "SEGV_ACCERR";
	case SEGV_PKUERR:
		return "SEGV_PKUERR";
	default:
		return "si_code?";
	}
}

/* The verdict on a fault the handler recorded. */
static int vm_judge_fault(char *why, size_t n)
{
	struct vm_shared *s = vm_sh;

	if (!s->expect_signo && !s->expect_death) {
		snprintf(why, n, "unexpected signal %d %s at 0x%llx",
			 s->got_signo, vm_code_name(s->got_signo, s->got_code),
			 (unsigned long long)s->got_addr);
		return -1;
	}
	if (s->expect_death)
		return 0;
	if (s->got_signo != s->expect_signo ||
	    (s->expect_code && s->got_code != s->expect_code) ||
	    (s->expect_addr && s->got_addr != s->expect_addr)) {
		snprintf(why, n,
			 "expected signal %d %s at 0x%llx, got signal %d %s "
			 "(code %d) at 0x%llx",
			 s->expect_signo,
			 vm_code_name(s->expect_signo, s->expect_code),
			 (unsigned long long)s->expect_addr, s->got_signo,
			 vm_code_name(s->got_signo, s->got_code), s->got_code,
			 (unsigned long long)s->got_addr);
		return -1;
	}
	return 0;
}

/* The verdict on a child's end. 0 pass; the reason in why otherwise. */
static int vm_verdict(int status, char *why, size_t n)
{
	struct vm_shared *s = vm_sh;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 97 && s->got_signo)
		return vm_judge_fault(why, n);
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM) {
			snprintf(why, n, "timed out after %d s", VM_LIMIT_S);
			return -1;
		}
		if (s->expect_death) {
			if (!s->note[0])
				snprintf(s->note, sizeof(s->note),
					 "killed by signal %d",
					 WTERMSIG(status));
			return 0;
		}
		snprintf(why, n, "killed by signal %d", WTERMSIG(status));
		return -1;
	}
	if (!WIFEXITED(status)) {
		snprintf(why, n, "ended with status 0x%x", status);
		return -1;
	}
	if (WEXITSTATUS(status) == 0 && (s->expect_signo || s->expect_death)) {
		snprintf(why, n, "returned, but signal %d was expected%s%s",
			 s->expect_signo, s->why[0] ? ": " : "", s->why);
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(why, n, "%s",
			 s->why[0] ? s->why : "failed, no reason");
		return -1;
	}
	return 0;
}

/*
 * Run @fn in a child under the time limit. Return: 0 with what it
 * observed in @obs (its note, else the signal it expected, else ""), or
 * -1 with why it failed in @obs.
 */
static int vm_child(int (*fn)(void), char *obs, size_t n)
{
	pid_t pid;
	int status;

	fflush(stdout);
	memset(vm_sh, 0, sizeof(*vm_sh));
	pid = fork();
	if (pid < 0) {
		snprintf(obs, n, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		vm_catch();
		alarm(VM_LIMIT_S);
		_exit(fn() ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (vm_verdict(status, obs, n))
		return -1;
	if (vm_sh->note[0])
		snprintf(obs, n, "%s", vm_sh->note);
	else if (vm_sh->got_signo)
		snprintf(obs, n, "%s%s%s at 0x%llx",
			 vm_sig_name(vm_sh->got_signo),
			 vm_sh->got_signo == SIGSEGV ? " " : "",
			 vm_sh->got_signo == SIGSEGV
				 ? vm_code_name(SIGSEGV, vm_sh->got_code)
				 : "",
			 (unsigned long long)vm_sh->got_addr);
	else
		obs[0] = 0;
	return 0;
}

/* Run one test in a child; print its line. */
static void vm_run(const char *name, int (*fn)(void))
{
	char obs[700];

	if (vm_child(fn, obs, sizeof(obs))) {
		printf("FAIL %s: %s\n", name, obs);
		vm_nfail++;
	} else if (obs[0]) {
		printf("PASS %s (%s)\n", name, obs);
		vm_npass++;
	} else {
		printf("PASS %s\n", name);
		vm_npass++;
	}
	fflush(stdout);
}

static inline void vm_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	vm_sh = mmap(NULL, sizeof(*vm_sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm_sh == MAP_FAILED) {
		printf("FAIL harness: mmap: %s\n", strerror(errno));
		exit(1);
	}
}

/* Exit status for main: non-zero when any test failed. */
static inline int vm_done(void)
{
	return vm_nfail ? 1 : 0;
}

/* --- helpers shared by the tests --- */

/* A fresh store: destroy any leftover, create with @mode. */
static inline int vm_fresh(const char *name, unsigned mode)
{
	int rc;

	plmc_destroy(name, 1, PLMC_USE_KMOD);
	rc = plmc_create(name, VM_STORE_SIZE, mode, PLMC_USE_KMOD);
	if (rc)
		return VM_FAIL("plmc_create(%s): %s", name, plmc_strerror(rc));
	return 0;
}

static inline int vm_attach(const char *name)
{
	int rc = plmc_attach(name, PLMC_USE_KMOD);

	if (rc)
		return VM_FAIL("plmc_attach(%s): %s", name, plmc_strerror(rc));
	if (!plmc_backend() || strcmp(plmc_backend(), "kmod"))
		return VM_FAIL("backend is %s, not kmod",
			       plmc_backend() ? plmc_backend() : "(null)");
	return 0;
}

/* Set @key to @val and read it back. */
static inline int vm_roundtrip(const char *key, const char *val)
{
	char buf[256];
	size_t vlen = 0;
	int rc;

	rc = plmc_set(key, strlen(key), val, strlen(val), 7, 0);
	if (rc != PLMC_STORED)
		return VM_FAIL("set %s: %s", key, plmc_strerror(rc));
	rc = plmc_get(key, strlen(key), buf, sizeof(buf), &vlen, NULL, NULL);
	if (rc != PLMC_OK)
		return VM_FAIL("get %s: %s", key, plmc_strerror(rc));
	if (vlen != strlen(val) || memcmp(buf, val, vlen))
		return VM_FAIL("get %s: wrong value (%zu bytes)", key, vlen);
	return 0;
}

/* Expect @key to hold @val. */
static inline int vm_expect_value(const char *key, const char *val)
{
	char buf[256];
	size_t vlen = 0;
	int rc;

	rc = plmc_get(key, strlen(key), buf, sizeof(buf), &vlen, NULL, NULL);
	if (rc != PLMC_OK)
		return VM_FAIL("get %s: %s", key, plmc_strerror(rc));
	if (vlen != strlen(val) || memcmp(buf, val, vlen))
		return VM_FAIL("get %s: got %.*s, expected %s", key, (int)vlen,
			       buf, val);
	return 0;
}

static inline const struct plmc_ppage *vm_ppage(void)
{
	return (const struct plmc_ppage *)PLMC_PPAGE_ADDR;
}

/* The image header, read from the file the store was created from. */
static inline int vm_image_hdr(struct plmc_image_hdr *h)
{
	int fd = open("/vm/kvcore.img", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return VM_FAIL("open /vm/kvcore.img: %s", strerror(errno));
	n = read(fd, h, sizeof(*h));
	close(fd);
	if (n != (ssize_t)sizeof(*h) || h->magic != PLMC_IMAGE_MAGIC)
		return VM_FAIL("/vm/kvcore.img: no image header");
	return 0;
}

/*
 * Whole file into a malloc'd buffer, NUL-terminated (*len excludes the
 * NUL). Read to EOF, not to the size stat gives: /proc files say 0.
 */
static inline void *vm_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 0, got;
	char *p = NULL, *q;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			q = realloc(p, cap + 1);
			if (!q) {
				free(p);
				p = NULL;
				break;
			}
			p = q;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	if (p) {
		p[n] = 0;
		*len = n;
	}
	return p;
}

static inline const char *vm_errno_name(int e)
{
	switch (e) {
	case 0:
		return "no error";
	case EPERM:
		return "EPERM";
	case EINVAL:
		return "EINVAL";
	case EFAULT:
		return "EFAULT";
	case EIO:
		return "EIO";
	case EACCES:
		return "EACCES";
	case EBUSY:
		return "EBUSY";
	case ENOENT:
		return "ENOENT";
	case EEXIST:
		return "EEXIST";
	case ENOTTY:
		return "ENOTTY";
	case ENOMEM:
		return "ENOMEM";
	case ESRCH:
		return "ESRCH";
	case ENAMETOOLONG:
		return "ENAMETOOLONG";
	default:
		return strerror(e);
	}
}

/* Pipes for ordering processes: one byte means "go". */
static inline void vm_signal_fd(int fd)
{
	char c = 1;

	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static inline int vm_wait_fd(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

/*
 * @len bytes of fresh memory under a userfaultfd (opened with @flags
 * besides UFFD_USER_MODE_ONLY and O_CLOEXEC) that nobody serves unless
 * the caller does: the first touch of a page sleeps until then (a thread
 * parks there, inside the library when the library writes the buffer).
 * @fd: where the userfaultfd goes (its fault messages say a touch
 * happened), or NULL to leave it open unnamed. Return: the memory, or
 * NULL.
 */
static inline void *vm_uffd_buffer(size_t len, int flags, int *fd)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg;
	void *p;
	int u;

	u = (int)syscall(SYS_userfaultfd,
			 O_CLOEXEC | UFFD_USER_MODE_ONLY | flags);
	if (u < 0 || ioctl(u, UFFDIO_API, &api))
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u, UFFDIO_REGISTER, &reg))
		return NULL;
	if (fd)
		*fd = u;
	return p;
}

static inline int vm_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

#endif /* VM_HARNESS_H */
