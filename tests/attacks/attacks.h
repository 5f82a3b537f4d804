/* SPDX-License-Identifier: MIT */
/*
 * tests/attacks/attacks.h - the attack suite's runner, on top of the VM
 * harness (tests/vm/harness.h).
 *
 * Every attack runs in its own forked child like a VM test; an attack
 * "passes" when it fails to reach the store the way its expected result
 * says. After every attack a fresh process attaches and reads back the
 * keys seeded at the start (and the stats), so "the store is intact and
 * other clients still work" is checked each time, whatever the attack did.
 *
 * Output per attack:
 *	PASS atk.name (observed)                 the attack failed as expected
 *	FAIL atk.name: expected X, observed Y    a hole, not documented
 *	KNOWN-GAP atk.name: reason (observed Y)  a hole SECURITY.md documents
 *	ROW name|expected|observed|result        for the table run-suite.sh
 *	                                         prints at the end
 * Only PASS and FAIL lines count in the suite's summary.
 */
#ifndef ATK_ATTACKS_H
#define ATK_ATTACKS_H

/* Its vm_run() is not used here: the runner below replaces it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../vm/harness.h"
#pragma GCC diagnostic pop
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <time.h>

#define ATK_STORE "atk"
#define ATK_NKEYS 16

static inline int atk_seed(void)
{
	char k[32], v[32];
	int i;

	if (vm_attach(ATK_STORE))
		return -1;
	for (i = 0; i < ATK_NKEYS; i++) {
		snprintf(k, sizeof(k), "atk-key-%d", i);
		snprintf(v, sizeof(v), "atk-val-%d", i * 7);
		if (vm_roundtrip(k, v))
			return -1;
	}
	return 0;
}

/* A survivor: attach, read every seeded key, stats answer. */
static inline int atk_intact(void)
{
	struct plmc_stats st;
	char k[32], v[32];
	int i, rc;

	if (vm_attach(ATK_STORE))
		return -1;
	for (i = 0; i < ATK_NKEYS; i++) {
		snprintf(k, sizeof(k), "atk-key-%d", i);
		snprintf(v, sizeof(v), "atk-val-%d", i * 7);
		if (vm_expect_value(k, v))
			return -1;
	}
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	rc = plmc_stats(&st);
	if (rc)
		return VM_FAIL("stats: %s", plmc_strerror(rc));
	if (st.curr_items < ATK_NKEYS)
		return VM_FAIL("stats: %llu items, expected >= %d",
			       (unsigned long long)st.curr_items, ATK_NKEYS);
	return 0;
}

/*
 * A program whose own text holds a WRPKRU cannot attach (that is its
 * point): it checks the store through /vm/atk_plain --intact instead.
 */
static inline int atk_intact_exec(void)
{
	execl("/vm/atk_plain", "atk_plain", "--intact", (char *)NULL);
	return VM_FAIL("exec /vm/atk_plain: %s", strerror(errno));
}

#ifdef ATK_TAINTED
#define ATK_CHECK atk_intact_exec
#else
#define ATK_CHECK atk_intact
#endif

/* Run @fn in a child; 0 and the observation in @obs ("refused" when it
 * noted nothing), or -1 and why. */
static int atk_child(int (*fn)(void), char *obs, size_t n)
{
	if (vm_child(fn, obs, n))
		return -1;
	if (!obs[0])
		snprintf(obs, n, "refused");
	return 0;
}

/*
 * One attack. @gap: NULL, or the reason SECURITY.md gives for a hole that
 * is known to be open (the row is then KNOWN-GAP, not FAIL, when the
 * attack gets through).
 */
static void atk_run(const char *name, const char *expected, int (*fn)(void),
		    const char *gap)
{
	char obs[1500], chk[700];
	const char *res;
	size_t n;
	int bad;

	bad = atk_child(fn, obs, 700);
	if (atk_child(ATK_CHECK, chk, sizeof(chk))) {
		n = strlen(obs);
		snprintf(obs + n, sizeof(obs) - n, "; store check: %s", chk);
		bad = 1;
		gap = NULL; /* damage is never a documented gap */
	}
	if (!bad) {
		res = "PASS";
		printf("PASS atk.%s (%s)\n", name, obs);
		vm_npass++;
	} else if (gap) {
		res = "KNOWN-GAP";
		printf("KNOWN-GAP atk.%s: %s (observed: %s)\n", name, gap, obs);
	} else {
		res = "FAIL";
		printf("FAIL atk.%s: expected %s, observed %s\n", name,
		       expected, obs);
		vm_nfail++;
	}
	printf("ROW %s|%s|%s|%s\n", name, expected, obs, res);
	fflush(stdout);
}

/* Program start: a fresh store "atk" (mode 0666), seeded. */
/*
 * The attack store: the production image, unless the program defines
 * ATK_TEST_IMAGE because it needs a crash point to die holding a lock
 * (crash points exist only in the test image).
 */
static inline int atk_create(void)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = VM_STORE_SIZE, .mode = 0666,
		.use = PLMC_USE_KMOD,
	};

#ifdef ATK_TEST_IMAGE
	o.flags = PLMC_CREATE_TEST_IMAGE;
#endif
	return plmc_create_ex(ATK_STORE, &o);
}

static void atk_init(void)
{
	char why[700];

	vm_init();
#ifdef ATK_TAINTED
	return; /* uses the store the previous program left */
#endif
	plmc_destroy(ATK_STORE, 1, PLMC_USE_KMOD);
	if (atk_create() || atk_child(atk_seed, why, sizeof(why))) {
		printf("FAIL atk.setup: cannot create and seed the store%s%s\n",
		       vm_sh->why[0] ? ": " : "", vm_sh->why);
		exit(1);
	}
}

/* A test expecting refusal: note what was seen and pass. */
#define ATK_REFUSED(...) (vm_note(__VA_ARGS__), 0)

/* Open the store the attack wants: returns 0 only when it got in. */
static inline int atk_store_magic_ok(void)
{
	return *(volatile uint64_t *)PLMC_STORE_ADDR == PLMC_STORE_MAGIC;
}

/*
 * PKRU as this thread has it. RDPKRU is harmless, so it may be inline
 * anywhere; each program keeps its own noinline WRPKRU instead, so the
 * site the module patches lies in that program's own text.
 */
static inline uint32_t atk_rdpkru(void)
{
	uint32_t v;

	asm volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx");
	return v;
}

/*
 * After @what, which must have kept the store key closed: the gate still
 * serves and a read of the store faults with SEGV_PKUERR (the fault ends
 * the child; returning is the failure).
 */
static inline int atk_still_closed(const char *what)
{
	if (plmc_nop())
		return VM_FAIL("gate failed after %s", what);
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	(void)atk_store_magic_ok();
	return VM_FAIL("store read after %s", what);
}

/*
 * libc's pkey_set (its WRPKRU carries the module's int3 once attached) on
 * a key of our own: @rights, then 0, each read back with pkey_get.
 */
static inline int atk_pkey_set_own(int key, int rights)
{
	if (pkey_set(key, (unsigned int)rights) || pkey_get(key) != rights)
		return VM_FAIL("pkey_set(%d, %d): get %d", key, rights,
			       pkey_get(key));
	if (pkey_set(key, 0) || pkey_get(key) != 0)
		return VM_FAIL("pkey_set(%d, 0): get %d", key, pkey_get(key));
	return 0;
}

/* libc's pkey_set opening the store's key: killed before it returns. */
static inline int atk_pkey_set_store(void)
{
	if (vm_attach(ATK_STORE))
		return -1;
	vm_expect_death();
	pkey_set((int)vm_ppage()->pkey, 0);
	if (atk_store_magic_ok())
		return VM_FAIL("pkey_set(store key, 0) ran, store header read");
	return VM_FAIL("pkey_set(store key, 0) ran (store not read)");
}

/* The raw ATTACK ioctl (no mappings). Return: 0 or the errno. */
static inline int atk_raw_attach(void)
{
	struct plmc_attach_args a;
	int fd, key, e;

	fd = open(PLMC_DEV_PATH, O_RDWR);
	key = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	if (fd < 0 || key < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", ATK_STORE);
	a.pkey = (uint32_t)key;
	e = ioctl(fd, PLMC_IOC_ATTACH, &a) ? errno : 0;
	close(fd);
	pkey_free(key);
	return e;
}

/* An executable anonymous mapping of @n pages holding @code at @off. */
static inline void *atk_exec_blob(size_t n, size_t off, const void *code,
				  size_t len)
{
	uint8_t *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0xc3, n * 4096); /* ret */
	memcpy(p + off, code, len);
	if (mprotect(p, n * 4096, PROT_READ | PROT_EXEC))
		return NULL;
	return p;
}

/* The attack store's death count, from the module (PLMC_IOC_INFO), so
 * an attack can tell its victim's death was seen. Return: 0 or -1. */
static inline int atk_deaths(uint64_t *d)
{
	struct plmc_info_args a;
	int fd = open(PLMC_DEV_PATH, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", ATK_STORE);
	rc = ioctl(fd, PLMC_IOC_INFO, &a);
	close(fd);
	if (rc)
		return -1;
	*d = a.deaths;
	return 0;
}

/*
 * Another client overwrites three times the store (ATK_WSETS sets of 4 KiB
 * on 64 keys: more than a store's worth of retired values, which a pinned
 * epoch keeps from being reused) in a process of its own, so that a blocked writer can be killed. Return:
 * 0 all stored, 1 not done after @limit_s seconds, 2 a set failed (why in
 * vm_sh->note), -1 no shared page; *done: how many sets were stored.
 */
#define ATK_WSETS ((int)(3 * VM_STORE_SIZE / 4096))

static inline int atk_writer(int limit_s, int *ms, int *done)
{
	static char v[4000];
	volatile int *atk_wdone;
	struct timespec t0, t1;
	int i, st = 0, rc;
	pid_t w;

	*ms = 0;
	*done = 0;
	atk_wdone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (atk_wdone == MAP_FAILED)
		return -1;
	memset(v, 'w', sizeof(v));
	*atk_wdone = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = fork();
	if (w == 0) {
		if (vm_attach(ATK_STORE))
			_exit(4);
		for (i = 0; i < ATK_WSETS; i++) {
			char k[16];
			int rc;

			snprintf(k, sizeof(k), "park-%d", i % 64);
			rc = plmc_set(k, strlen(k), v, sizeof(v), 0, 0);
			if (rc != PLMC_STORED) {
				vm_note("set %d: %s", i, plmc_strerror(rc));
				_exit(3);
			}
			(*atk_wdone)++;
		}
		_exit(0);
	}
	for (i = 0; i < limit_s * 10 && waitpid(w, &st, WNOHANG) == 0; i++)
		usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (i == limit_s * 10) {
		kill(w, SIGKILL);
		vm_reap(w);
		rc = 1;
	} else {
		rc = WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 2;
	}
	*done = *atk_wdone;
	munmap((void *)atk_wdone, 4096);
	return rc;
}

/*
 * @n zeroed bytes shared with the children forked after the call: where
 * they leave what they observed. Return: the memory, or NULL.
 */
static inline void *atk_shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p; /* anonymous: zeroed */
}

/*
 * The body of a traced parker, in a child just forked: traced by its
 * parent (PTRACE_TRACEME), attached, it stores @n bytes of @buf as
 * "park-big", says so on @go, then gets the value for ever, so nearly
 * all of its time is the copy-out inside the library with its reader
 * epoch announced. Never returns; exits 1 if it could not start.
 */
static inline __attribute__((noreturn)) void
atk_traced_getter(int go, char *buf, size_t n)
{
	size_t vlen;

	if (ptrace(PTRACE_TRACEME, 0, 0, 0) || vm_attach(ATK_STORE) ||
	    plmc_set("park-big", 8, buf, n, 0, 0) != PLMC_STORED)
		_exit(1);
	vm_signal_fd(go);
	for (;;)
		plmc_get("park-big", 8, buf, n, &vlen, NULL, NULL);
}

/* The module's stop_grace_ms, or -1. */
static inline int atk_grace_ms(void)
{
	FILE *f = fopen("/sys/module/plmc/parameters/stop_grace_ms", "r");
	int g = -1;

	if (f) {
		if (fscanf(f, "%d", &g) != 1)
			g = -1;
		fclose(f);
	}
	return g;
}

static inline int atk_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int)((t1.tv_sec - t0->tv_sec) * 1000 +
		     (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* SIGKILL @p, if it is one, and reap it. */
static inline void atk_kill_reap(pid_t p)
{
	if (p > 0) {
		kill(p, SIGKILL);
		vm_reap(p);
	}
}

/* Wait up to @ms for @p to end. Return: its status, or -1 (alive). */
static inline int atk_wait_end(pid_t p, int ms)
{
	struct timespec t0;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (waitpid(p, &st, WNOHANG) == p)
			return st;
		usleep(10000);
	} while (atk_ms_since(&t0) < ms);
	return -1;
}

/* Nonzero if status @st (atk_wait_end's) says killed by SIGKILL. */
static inline int atk_killed(int st)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

/* Stop @t until it is stopped inside: register reads are refused there
 * (remote.tracer_reads_regs_inside). Return: 0, or -1 (gone or never). */
static inline int atk_stop_inside(pid_t t)
{
	struct user_regs_struct r;
	int tries, st;

	for (tries = 0; tries < 500; tries++) {
		usleep(200);
		kill(t, SIGSTOP);
		if (waitpid(t, &st, 0) != t || !WIFSTOPPED(st))
			return -1;
		if (ptrace(PTRACE_GETREGS, t, 0, &r) && errno == EPERM)
			return 0;
		ptrace(PTRACE_CONT, t, 0, 0);
	}
	return -1;
}

/*
 * A fresh store "atk" (root), seeded: an attack that fills the store on
 * purpose (its defence off) must not leave the next run a full one.
 * Return: 0 or -1 (why set).
 */
static inline int atk_fresh_store(void)
{
	pid_t c;
	int st;

	plmc_destroy(ATK_STORE, 1, PLMC_USE_KMOD);
	if (atk_create())
		return VM_FAIL("cannot create a fresh store");
	c = fork();
	if (c == 0)
		_exit(atk_seed() ? 1 : 0);
	st = c < 0 ? -1 : vm_reap(c);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("cannot seed a fresh store");
	return 0;
}

/* Module parameters (root): the attacks turn a defence off, then on. */
#define ATK_PARAM "/sys/module/plmc/parameters/"

static inline int atk_param_get(const char *name)
{
	char path[128];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), ATK_PARAM "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1) {
		/* bool parameters read Y/N */
		char c = 0;

		rewind(f);
		v = fscanf(f, "%c", &c) == 1 ? c == 'Y' : -1;
	}
	fclose(f);
	return v;
}

static inline int atk_param_set(const char *name, int v)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), ATK_PARAM "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	rc = fprintf(f, "%d\n", v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : rc;
}

/* Run @fn(@arg) as uid 12345 in a child. Return: 0 or -1 (why set). */
static inline int atk_as_user(int (*fn)(int), int arg)
{
	pid_t u = fork();
	int st;

	if (u == 0) {
		if (setgid(12345) || setuid(12345))
			_exit(VM_FAIL("setuid") ? 1 : 1);
		_exit(fn(arg) ? 1 : 0);
	}
	if (u < 0)
		return VM_FAIL("fork");
	st = vm_reap(u);
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	if (!vm_sh->why[0])
		return VM_FAIL("user side ended 0x%x", st);
	return -1;
}

/*
 * atk_child_as() - a defence off, then on: @fn(0) with the module's bool
 * parameter @param at 0, then @fn(1) with it at 1, each as uid 12345 in
 * a child (atk_as_user); @param is put back after. @off and @on: what
 * each child wrote in shared memory, noted when both passed.
 */
static inline int atk_child_as(const char *param, int (*fn)(int),
			       const char *off, const char *on)
{
	int was = atk_param_get(param), rc;

	if (was < 0)
		return VM_FAIL("no parameter %s", param);
	if (atk_param_set(param, 0))
		return VM_FAIL("cannot set %s", param);
	rc = atk_as_user(fn, 0);
	atk_param_set(param, 1);
	if (!rc)
		rc = atk_as_user(fn, 1);
	atk_param_set(param, was);
	if (rc)
		return -1;
	return ATK_REFUSED("off: %s; on: %s", off, on);
}

#endif /* ATK_ATTACKS_H */
