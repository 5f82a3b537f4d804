/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/util.h - shared by the host unit tests (Check, none backend).
 *
 * Check runs every test in its own forked child, which suits the one
 * store per process rule: the checked fixture creates a store with a
 * name unique to that child, attaches, and destroys it afterwards.
 */
#ifndef UT_UTIL_H
#define UT_UTIL_H

#include <check.h>
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <plmc.h>

#define UT_STORE_SIZE (64ULL << 20)

/* The backend AUTO picks here: none on the host, pku in the VM's run. */
static inline const char *ut_backend(void)
{
	const char *b = getenv("PLMC_BACKEND");

	return b && *b ? b : "none";
}

static char ut_name[64];

static inline const char *ut_make_name(const char *tag)
{
	static unsigned n;

	snprintf(ut_name, sizeof(ut_name), "ut-%s-%d-%u", tag, (int)getpid(),
		 n++);
	return ut_name;
}

/*
 * Create @name (@size bytes, mode 0600) running the test image, which
 * serves plmc_clock_advance() and plmc_crash_arm(): the store tests move
 * the clock and arm crash points. Return: as plmc_create_ex.
 */
static inline int ut_create(const char *name, unsigned long long size)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = size,
		.mode = 0600,
		.use = PLMC_USE_AUTO,
		.flags = PLMC_CREATE_TEST_IMAGE,
	};

	return plmc_create_ex(name, &o);
}

/* Create (test image) and attach a fresh store; ck_assert on any
 * failure. */
static inline void ut_store_up(const char *tag)
{
	int rc;

	ut_make_name(tag);
	rc = ut_create(ut_name, UT_STORE_SIZE);
	ck_assert_msg(rc == 0, "create %s: %s", ut_name, plmc_strerror(rc));
	rc = plmc_attach(ut_name, PLMC_USE_AUTO);
	ck_assert_msg(rc == 0, "attach %s: %s", ut_name, plmc_strerror(rc));
}

static inline void ut_store_down(void)
{
	plmc_detach();
	plmc_destroy(ut_name, 1, PLMC_USE_AUTO);
}

/* Assert a call's result, naming both codes on failure. */
#define ut_rc(call, want)                                                      \
	do {                                                                   \
		int ut_got_ = (call);                                          \
		int ut_want_ = (want);                                         \
		ck_assert_msg(ut_got_ == ut_want_,                             \
			      "%s = %d (%s), want %d (%s)", #call, ut_got_,    \
			      plmc_strerror(ut_got_), ut_want_,                \
			      plmc_strerror(ut_want_));                        \
	} while (0)

/*
 * Get @key and assert it holds @want with flags @wflags. The length and
 * flags start as values the call must overwrite (neither is the one
 * wanted). Return: its CAS (not 0).
 */
static inline uint64_t ut_get_is(const char *key, const char *want,
				 uint32_t wflags)
{
	char buf[512];
	size_t vlen = strlen(want) + 1;
	uint32_t flags = ~wflags;
	uint64_t cas = 0;

	ut_rc(plmc_get(key, strlen(key), buf, sizeof(buf), &vlen, &flags, &cas),
	      PLMC_OK);
	ck_assert_msg(vlen == strlen(want) && !memcmp(buf, want, vlen),
		      "%s = '%.*s', want '%s'", key, (int)vlen, buf, want);
	ck_assert_uint_eq(flags, wflags);
	ck_assert_uint_ne(cas, 0);
	return cas;
}

/* Run @fn in @n threads (its argument: the thread's index, at most 64).
 * Return: nonzero if any returned nonzero (a count of bad results). */
static inline int ut_threads(void *(*fn)(void *), int n)
{
	pthread_t t[64];
	long bad = 0;
	void *r;
	int i;

	for (i = 0; i < n && i < 64; i++)
		pthread_create(&t[i], NULL, fn, (void *)(long)i);
	for (i = 0; i < n && i < 64; i++) {
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	return bad != 0;
}

/* Fork @nproc children that attach to ut_name on their own and run @fn
 * in @nthr threads each; assert every child exited 0. */
static inline void ut_procs(void *(*fn)(void *), int nproc, int nthr)
{
	pid_t pid[64];
	int i, st;

	ck_assert_int_le(nproc, 64);
	for (i = 0; i < nproc; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (!pid[i]) {
			if (plmc_attach(ut_name, PLMC_USE_AUTO))
				_exit(2);
			_exit(ut_threads(fn, nthr));
		}
	}
	for (i = 0; i < nproc; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert_msg(WIFEXITED(st) && !WEXITSTATUS(st),
			      "child %d: status %#x", i, st);
	}
}

/*
 * Fork a child that becomes @uid (its gid too: run as root), attaches to
 * ut_name on its own and exits with @fn()'s result: 0, or the number of
 * the first check that failed (1 and 2 are the uid change and the
 * attach, so @fn's own start at 3). Assert that it exited 0.
 */
static inline void ut_child_as(uid_t uid, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (setgid(uid) || setuid(uid))
			_exit(1);
		if (plmc_attach(ut_name, PLMC_USE_AUTO))
			_exit(2);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && !WEXITSTATUS(st), "child: check %d",
		      WEXITSTATUS(st));
}

/*
 * Self-checking values: "k<key>|", then the key's fill byte, so a value
 * read back says whose it is. @len: at least the prefix. Return: @len.
 */
static inline size_t ut_mkval(char *v, int k, size_t len)
{
	int n = snprintf(v, 32, "k%d|", k);

	memset(v + n, 'a' + k % 26, len - (size_t)n);
	return len;
}

/* Nonzero if @v (@len bytes) is a value of key @k: its prefix, then only
 * its fill byte (append and prepend add fill bytes, so any length from
 * the prefix up is fine). */
static inline int ut_val_ok(const char *v, size_t len, int k)
{
	char pre[32];
	int n = snprintf(pre, sizeof(pre), "k%d|", k);
	size_t i;

	if (len < (size_t)n || memcmp(v, pre, (size_t)n))
		return 0;
	for (i = (size_t)n; i < len; i++)
		if (v[i] != (char)('a' + k % 26))
			return 0;
	return 1;
}

/*
 * A child attaches to ut_name, arms crash point @point (the store runs
 * the test image) and runs @work until a call dies there (SIGILL);
 * assert that it did, and that this process then recovers its slot.
 */
static inline void ut_die_at(int point, void (*work)(void))
{
	pid_t pid = fork();
	int s;

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
		    plmc_crash_arm(point))
			_exit(10);
		work();
		_exit(0); /* never reached the point */
	}
	ck_assert_int_eq(waitpid(pid, &s, 0), pid);
	ck_assert_msg(WIFSIGNALED(s) && WTERMSIG(s) == SIGILL,
		      "%s: child did not die there (status %#x)",
		      plmc_crash_name(point), s);
	ck_assert_int_ge(plmc_recover(), 1);
}

static inline int ut_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif /* UT_UTIL_H */
