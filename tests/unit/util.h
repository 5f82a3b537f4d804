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
