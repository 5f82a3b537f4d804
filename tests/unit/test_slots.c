// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_slots.c - thread slots: released at thread exit and at
 * detach, a slot held by another process is skipped (the gate answers
 * BUSY, libpl moves on), the per-uid slot quota (the gate answers NOSLOT
 * past it, however many processes the uid runs; libpl's extra threads
 * borrow idle slots of their own process), NOSLOT for a process when the
 * store has no slot left, and slots of killed processes taken over by a
 * newcomer at once.
 */
#include <pthread.h>
#include <sys/wait.h>
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <plmc/gate.h>
#include <plmc/image.h>
#include <plmc/layout.h>
#include <signal.h>

#define OTHER_UID 12345 /* an unprivileged uid for the per-uid tests */

/* In a child: become OTHER_UID. Return: 0, or -1 (not root: skipped). */
static int become_other(void)
{
	return setgid(OTHER_UID) || setuid(OTHER_UID) ? -1 : 0;
}

static void setup(void)
{
	ut_store_up("slots");
}

static void teardown(void)
{
	ut_store_down();
}

static void *one_set(void *arg)
{
	char key[32];
	int n = snprintf(key, sizeof(key), "t%ld", (long)(intptr_t)arg);

	return (void *)(intptr_t)plmc_set(key, (size_t)n, "v", 1, 0, 0);
}

static uint64_t slots_busy(void)
{
	struct plmc_stats st;

	ck_assert_int_eq(plmc_stats(&st), PLMC_OK);
	return st.slots_busy;
}

START_TEST(many_short_threads)
{
	struct plmc_stats st;
	long i;

	for (i = 0; i < PLMC_MAX_SLOTS + 44; i++) {
		pthread_t t;
		void *rc;

		ck_assert_int_eq(pthread_create(&t, NULL, one_set, (void *)i),
				 0);
		ck_assert_int_eq(pthread_join(t, &rc), 0);
		ck_assert_msg((intptr_t)rc == PLMC_STORED, "thread %ld: %s", i,
			      plmc_strerror((int)(intptr_t)rc));
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, PLMC_MAX_SLOTS + 44);
	ck_assert_uint_eq(st.slots_busy, 1);
}
END_TEST

/* Threads that stay alive, each holding its slot, until released. */
static pthread_barrier_t hold_in, hold_out;

static void *hold_slot(void *arg)
{
	int *rc = arg;

	*rc = plmc_nop();
	pthread_barrier_wait(&hold_in);
	pthread_barrier_wait(&hold_out);
	return NULL;
}

static void *nop_thread(void *arg)
{
	return (void *)(intptr_t)plmc_nop();
}

/* Recreate the fixture's store with @quota slots per uid and @mode;
 * attach. */
static void store_with_quota_mode(unsigned quota, unsigned mode)
{
	ut_store_down();
	ut_make_name("quota");
	ut_rc(plmc_create_quota(ut_name, UT_STORE_SIZE, mode, quota,
				PLMC_USE_AUTO),
	      0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

static void store_with_quota(unsigned quota)
{
	store_with_quota_mode(quota, 0600);
}

/* @n threads call once and hold on; 0 if every call was answered OK. */
static pthread_t held[PLMC_MAX_SLOTS + 64];
static int held_rc[PLMC_MAX_SLOTS + 64];

static void hold_start(int n)
{
	int i;

	pthread_barrier_init(&hold_in, NULL, (unsigned)n + 1);
	pthread_barrier_init(&hold_out, NULL, (unsigned)n + 1);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(
			pthread_create(&held[i], NULL, hold_slot, &held_rc[i]),
			0);
	pthread_barrier_wait(&hold_in);
	for (i = 0; i < n; i++)
		ut_rc(held_rc[i], PLMC_OK);
}

static void hold_end(int n)
{
	int i;

	pthread_barrier_wait(&hold_out);
	for (i = 0; i < n; i++)
		pthread_join(held[i], NULL);
	pthread_barrier_destroy(&hold_in);
	pthread_barrier_destroy(&hold_out);
}

/* A child process (as OTHER_UID if @other) attaches and makes one call;
 * its result (PLMC_E_DETACHED: it could not change uid). */
static int child_call_as(int other)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc;

		if (other && become_other())
			_exit(4);
		rc = plmc_attach(ut_name, PLMC_USE_AUTO);

		if (!rc)
			rc = plmc_nop();
		_exit(rc == PLMC_OK ? 0 : rc == PLMC_E_NOSLOT ? 3 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st) == 0   ? PLMC_OK
	       : WEXITSTATUS(st) == 3 ? PLMC_E_NOSLOT
	       : WEXITSTATUS(st) == 4 ? PLMC_E_DETACHED
				      : PLMC_E_INVAL;
}

static int child_call(void)
{
	return child_call_as(0);
}

/*
 * Quota = every slot: this process takes them all. One more thread of it
 * borrows an idle slot and is served; another process gets NOSLOT.
 */
START_TEST(noslot_when_full)
{
	enum { N = PLMC_MAX_SLOTS - 1 }; /* plus this thread: all slots */
	pthread_t extra;
	void *xrc;

	store_with_quota(PLMC_MAX_SLOTS);
	ut_rc(plmc_nop(), PLMC_OK);
	hold_start(N);
	ck_assert_uint_eq(slots_busy(), PLMC_MAX_SLOTS);
	ck_assert_int_eq(pthread_create(&extra, NULL, nop_thread, NULL), 0);
	pthread_join(extra, &xrc);
	ut_rc((int)(intptr_t)xrc, PLMC_OK); /* borrowed */
	ck_assert_uint_eq(slots_busy(), PLMC_MAX_SLOTS);
	ut_rc(child_call(), PLMC_E_NOSLOT);
	hold_end(N);
	ck_assert_uint_eq(slots_busy(), 1);
	ut_rc(child_call(), PLMC_OK);
}
END_TEST

/*
 * The default quota (a quarter of the slots) is per uid: 100 threads of
 * one process are all served on 64 slots; another process of the same
 * uid gets none (the uid's quota is spent), one of another uid gets one.
 */
START_TEST(quota_caps_a_uid)
{
	enum { N = 100 };
	int rc;

	ck_assert_int_eq(PLMC_SLOT_QUOTA_DEFAULT, 64);
	store_with_quota_mode(0, 0666);
	ut_rc(plmc_nop(), PLMC_OK);
	hold_start(N - 1);
	ck_assert_uint_eq(slots_busy(), PLMC_SLOT_QUOTA_DEFAULT);
	ut_rc(child_call(), PLMC_E_NOSLOT);
	rc = child_call_as(1);
	if (rc != PLMC_E_DETACHED) /* not root: no other uid to be */
		ut_rc(rc, PLMC_OK);
	ut_rc(plmc_set("q", 1, "v", 1, 0, 0), PLMC_STORED);
	hold_end(N - 1);
	ck_assert_uint_le(slots_busy(), PLMC_SLOT_QUOTA_DEFAULT);
	ut_rc(child_call(), PLMC_OK);
}
END_TEST

/* hold_start() asserts every call was served; a hog only counts. */
static void *hold_slot_any(void *arg)
{
	int *rc = arg;

	*rc = plmc_nop();
	pthread_barrier_wait(&hold_in);
	pthread_barrier_wait(&hold_out);
	return NULL;
}

/* In a child: @nthr threads call once and hold on (served or not);
 * return how many were served. */
static int hold_count(int nthr)
{
	int i, n = 0;

	pthread_barrier_init(&hold_in, NULL, (unsigned)nthr + 1);
	pthread_barrier_init(&hold_out, NULL, (unsigned)nthr + 1);
	for (i = 0; i < nthr; i++)
		if (pthread_create(&held[i], NULL, hold_slot_any, &held_rc[i]))
			_exit(1);
	pthread_barrier_wait(&hold_in);
	for (i = 0; i < nthr; i++)
		n += held_rc[i] == PLMC_OK;
	return n;
}

/* A child as OTHER_UID: attach, @nthr threads take a slot each and hold
 * it; report how many were served on @out, then wait to be killed. */
static void hog_child(int nthr, int out)
{
	int n;

	if (become_other() || plmc_attach(ut_name, PLMC_USE_AUTO))
		_exit(1);
	n = hold_count(nthr);
	if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n))
		_exit(1);
	for (;;)
		pause();
}

static void hogs_start(pid_t *pid, int nproc, int nthr, int *served)
{
	int p[2], i, n;

	ck_assert_int_eq(pipe(p), 0);
	*served = 0;
	for (i = 0; i < nproc; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (!pid[i])
			hog_child(nthr, p[1]);
		ck_assert_int_eq(read(p[0], &n, sizeof(n)), sizeof(n));
		*served += n;
	}
	close(p[0]);
	close(p[1]);
}

static void hogs_kill(pid_t *pid, int nproc)
{
	int i;

	for (i = 0; i < nproc; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], NULL, 0);
	}
}

/*
 * Five processes of one unprivileged uid each try to take 64 slots: all
 * five together get the uid's quota (64), so a root client is served
 * while they hold them. Then they are killed, this process detaches (no
 * attachment is left to notice the deaths), and a newcomer of that uid
 * is served on its first call: the corpses' slots do not count against
 * its uid, and are marked dead at its attach.
 */
START_TEST(uid_quota_root_served)
{
	enum { NPROC = 5, NTHR = 64 };
	pid_t hog[NPROC];
	int served;

	if (geteuid()) {
		fprintf(stderr, "uid_quota_root_served: not root: not run\n");
		return;
	}
	store_with_quota_mode(0, 0666);
	hogs_start(hog, NPROC, NTHR, &served);
	ck_assert_int_eq(served, PLMC_SLOT_QUOTA_DEFAULT);
	ck_assert_uint_le(slots_busy(), PLMC_SLOT_QUOTA_DEFAULT + 1);
	ut_rc(plmc_set("root", 4, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(child_call(), PLMC_OK); /* another root process too */
	hogs_kill(hog, NPROC);
	ut_rc(plmc_detach(), 0);
	ut_rc(child_call_as(1), PLMC_OK);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ck_assert_int_ge(plmc_recover(), 0);
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

/*
 * Quota = every slot: one process takes all 256 and is killed. With no
 * one else attached, nobody recovers them; a newcomer's first call takes
 * a dead slot over (the gate) and is served at once, and the rest are
 * recovered by its calls: the store checks clean.
 */
START_TEST(dead_slots_taken_over)
{
	pid_t hog;
	int p[2], n = 0;
	struct plmc_check ck;

	store_with_quota(PLMC_MAX_SLOTS);
	ut_rc(plmc_detach(), 0);
	ck_assert_int_eq(pipe(p), 0);
	hog = fork();
	ck_assert_int_ge(hog, 0);
	if (!hog) {
		if (plmc_attach(ut_name, PLMC_USE_AUTO) ||
		    plmc_set("h", 1, "v", 1, 0, 0) != PLMC_STORED)
			_exit(1);
		n = hold_count(PLMC_MAX_SLOTS - 1) + 1; /* + this thread's */
		if (write(p[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(p[0], &n, sizeof(n)), sizeof(n));
	ck_assert_int_eq(n, PLMC_MAX_SLOTS);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	ut_rc(child_call(), PLMC_OK);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_nop(), PLMC_OK);
	plmc_recover();
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0 && ck.dead_slots == 0,
		      "check: %s, %llu "
		      "dead",
		      ck.msg, (unsigned long long)ck.dead_slots);
	ut_rc(plmc_get("h", 1, NULL, 0, NULL, NULL, NULL), PLMC_E_SMALLBUF);
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

typedef long (*gate_fn)(uint64_t op, const struct plmc_req *req, uint64_t slot);

/* A client calling the gate itself on every index gets the quota, no more:
 * the rest answer NOSLOT and stay free for others. */
static int scan_all(int *noslot)
{
	const struct plmc_image_hdr *h = (const void *)(uintptr_t)PLMC_BASE;
	gate_fn g = (gate_fn)(uintptr_t)(PLMC_BASE + h->entry_none);
	struct plmc_req req;
	int i, ok = 0;
	long rc;

	memset(&req, 0, sizeof(req));
	*noslot = 0;
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		rc = g(PLMC_OP_NOP, &req, (uint64_t)i);
		ok += rc == PLMC_OK;
		*noslot += rc == PLMC_E_NOSLOT;
	}
	return ok;
}

START_TEST(gate_enforces_quota)
{
	int noslot, ok, st;
	pid_t pid;

	/* Raw calls through the none entry read the image header from
	 * client code: only the none backend leaves both readable (the
	 * kmod VM suite's atk_gate.slot_exhaustion covers the module). */
	if (strcmp(plmc_backend(), "none")) {
		fprintf(stderr, "gate_enforces_quota: backend %s: raw none "
				"entry not usable, not run\n",
			plmc_backend());
		return;
	}
	store_with_quota_mode(8, 0666);
	ok = scan_all(&noslot);
	ck_assert_int_eq(ok, 8);
	ck_assert_int_eq(noslot, PLMC_MAX_SLOTS - 8);
	/* Again: its own 8 idle slots still work, nothing more. */
	ok = scan_all(&noslot);
	ck_assert_int_eq(ok, 8);
	ck_assert_uint_eq(slots_busy(), 8); /* stats rides on one of them */
	/* Another process of this uid: the uid's 8 are spent. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (plmc_attach(ut_name, PLMC_USE_AUTO))
			_exit(1);
		_exit(scan_all(&noslot) == 0 && noslot == PLMC_MAX_SLOTS - 8
			      ? 0
			      : 2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "second client, same uid: 0x%x", st);
	/* A process of another uid gets its own 8. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (become_other())
			_exit(0); /* not root: nothing to show */
		if (plmc_attach(ut_name, PLMC_USE_AUTO))
			_exit(1);
		_exit(scan_all(&noslot) == 8 && noslot == PLMC_MAX_SLOTS - 16
			      ? 0
			      : 2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "client of another uid: 0x%x", st);
	/* A bad quota is refused at create. */
	ut_rc(plmc_create_quota("ut-quota-bad", UT_STORE_SIZE, 0600,
				PLMC_MAX_SLOTS + 1, PLMC_USE_AUTO),
	      -EINVAL);
}
END_TEST

/*
 * A child process holds slot 0 (its first thread's) while the parent,
 * freshly attached, makes its first call: the gate says BUSY on index 0
 * and libpl moves to the next index.
 */
START_TEST(foreign_slot_skipped)
{
	int up[2], down[2], st;
	pid_t pid;
	char c;

	ut_rc(plmc_detach(), 0);
	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = plmc_attach(ut_name, PLMC_USE_AUTO) != 0;

		bad |= plmc_nop() != PLMC_OK; /* takes slot 0 */
		bad |= write(up[1], "u", 1) != 1;
		bad |= read(down[0], &c, 1) != 1;
		bad |= plmc_detach() != 0;
		_exit(bad);
	}
	ck_assert_int_eq(read(up[0], &c, 1), 1);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	ck_assert_uint_eq(slots_busy(), 2);
	ck_assert_int_eq(write(down[1], "d", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The child's detach gave its slot back. */
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

START_TEST(detach_releases)
{
	pthread_t t;
	void *rc;

	ck_assert_int_eq(pthread_create(&t, NULL, nop_thread, NULL), 0);
	pthread_join(t, &rc);
	ut_rc(plmc_nop(), PLMC_OK);
	ck_assert_uint_eq(slots_busy(), 1);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	/* Only the slot of this call: the old attachment's went back. */
	ck_assert_uint_eq(slots_busy(), 1);
}
END_TEST

/* plctl create --slots-per-client: the header says it, info shows it,
 * bad values are usage errors (exit 2). plctl sits beside the image. */
static int plctl(const char *args, char *out, size_t n)
{
	char cmd[512], dir[256];
	const char *img = getenv("PLMC_IMG");
	const char *slash = img ? strrchr(img, '/') : NULL;
	FILE *f;
	size_t got;
	int st;

	if (!slash)
		return -1; /* no build tree here (the pku boot): no plctl */
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - img), img);
	snprintf(cmd, sizeof(cmd), "%s/plctl %s --backend none 2>/dev/null",
		 dir, args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	got = fread(out, 1, n - 1, f);
	out[got] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(plctl_slots_per_client)
{
	char out[2048], args[256];

	if (!getenv("PLMC_IMG")) { /* the pku boot carries no plctl */
		fprintf(stderr, "plctl_slots_per_client: no build tree, "
				"no plctl: not run here\n");
		return;
	}
	snprintf(args, sizeof(args),
		 "create %s-p --size 8M "
		 "--slots-per-client 5",
		 ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "5 slots per client"), "%s", out);
	snprintf(args, sizeof(args), "info %s-p", ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "slots_per_client 5\n"), "%s", out);
	snprintf(args, sizeof(args), "destroy %s-p --force", ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 0);
	snprintf(args, sizeof(args),
		 "create %s-q --size 8M "
		 "--slots-per-client 0",
		 ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 2);
	snprintf(args, sizeof(args),
		 "create %s-q --size 8M "
		 "--slots-per-client 257",
		 ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 2);
	/* Default: a quarter of the slots. */
	snprintf(args, sizeof(args), "create %s-q --size 8M", ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "64 slots per client"), "%s", out);
	snprintf(args, sizeof(args), "destroy %s-q --force", ut_name);
	ck_assert_int_eq(plctl(args, out, sizeof(out)), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("slots");
	TCase *tc = tcase_create("slots");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, many_short_threads);
	tcase_add_test(tc, noslot_when_full);
	tcase_add_test(tc, quota_caps_a_uid);
	tcase_add_test(tc, uid_quota_root_served);
	tcase_add_test(tc, dead_slots_taken_over);
	tcase_add_test(tc, gate_enforces_quota);
	tcase_add_test(tc, plctl_slots_per_client);
	tcase_add_test(tc, foreign_slot_skipped);
	tcase_add_test(tc, detach_releases);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
