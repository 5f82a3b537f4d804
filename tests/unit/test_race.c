// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_race.c - read-modify-write commands racing across
 * processes and threads: no lost update (cas retry loops, incr, append),
 * and eviction under concurrent readers and writers never hands out a
 * torn or foreign value.
 *
 * 2 processes (fork, each attaches on its own) x 2 threads.
 * The appended log stays small (1.5 KB): a value that grows through many
 * size classes while its old copies wait for reclamation can starve a
 * class of pages, as there is no page rebalancing yet (docs/store.md).
 */
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util.h"

#define NPROC 2
#define NTHR  2
#define NOPS  3000
/* Rounds of the touch and win races: before the fix about 3% and 2% of
 * them lost the update; the VM's pku boot runs these under TCG. */
#define TOUCHES	   1200
#define WIN_ROUNDS 1000

static void teardown(void)
{
	ut_store_down();
}

static void setup(void)
{
	ut_store_up("race");
}

/* gets + cas until it sticks: one increment of the decimal in "ctr". */
static int cas_bump(void)
{
	for (;;) {
		char buf[32];
		size_t vlen;
		uint64_t cas;
		int rc = plmc_get("ctr", 3, buf, sizeof(buf) - 1, &vlen, NULL,
				  &cas);

		if (rc != PLMC_OK)
			return 0;
		buf[vlen] = 0;
		vlen = (size_t)snprintf(buf, sizeof(buf), "%llu",
					strtoull(buf, NULL, 10) + 1);
		rc = plmc_cas("ctr", 3, buf, vlen, 0, 0, cas);
		if (rc == PLMC_STORED)
			return 1;
		if (rc != PLMC_EXISTS)
			return 0;
	}
}

static void *rmw(void *arg)
{
	long bad = 0;
	int i;

	for (i = 0; i < NOPS; i++) {
		int a = cas_bump(), b = plmc_incr("n", 1, 1, NULL),
		    c = i % 8 ? PLMC_STORED : plmc_append("log", 3, "x", 1);

		if (!a || b != PLMC_OK || c != PLMC_STORED) {
			fprintf(stderr, "rmw %d: cas %d, incr %s, append %s\n",
				i, a, plmc_strerror(b), plmc_strerror(c));
			bad++;
		}
	}
	return (void *)bad;
}

/* Fork NPROC children that attach and run @fn in NTHR threads. */
static void run_procs(void *(*fn)(void *))
{
	ut_procs(fn, NPROC, NTHR);
}

START_TEST(no_lost_updates)
{
	enum { TOTAL = NPROC * NTHR * NOPS };
	static char buf[TOTAL + 16];
	size_t vlen;
	uint64_t v;
	struct plmc_stats st;

	ut_rc(plmc_set("ctr", 3, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("n", 1, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("log", 3, "", 0, 0, 0), PLMC_STORED);
	run_procs(rmw);
	ut_rc(plmc_get("ctr", 3, buf, sizeof(buf) - 1, &vlen, NULL, NULL),
	      PLMC_OK);
	buf[vlen] = 0;
	ck_assert_uint_eq(strtoull(buf, NULL, 10), TOTAL);
	ut_rc(plmc_incr("n", 1, 0, &v), PLMC_OK);
	ck_assert_uint_eq(v, TOTAL);
	ut_rc(plmc_get("log", 3, buf, sizeof(buf), &vlen, NULL, NULL), PLMC_OK);
	ck_assert_uint_eq(vlen, TOTAL / 8);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_eq(st.curr_items, 3);
	ck_assert_uint_eq(st.cas_hits, TOTAL);
}
END_TEST

/* Values of 8 bytes or more (util.h's self-checking values). */
static int val_ok(const char *v, size_t len, int k)
{
	return len >= 8 && ut_val_ok(v, len, k);
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7777 + (unsigned)getpid();
	char key[32], v[1024], buf[1024];
	long bad = 0;
	int i;

	for (i = 0; i < 20000; i++) {
		int k = rand_r(&seed) % 20000, op = rand_r(&seed) % 4;
		int kl = snprintf(key, sizeof(key), "k%d", k);
		size_t vlen;
		int rc;

		if (op < 2) {
			vlen = ut_mkval(v, k, 8 + rand_r(&seed) % 900);
			rc = plmc_set(key, (size_t)kl, v, vlen, 0, 0);
			if (rc != PLMC_STORED) {
				fprintf(stderr, "set %s: %s\n", key,
					plmc_strerror(rc));
				bad++;
			}
			continue;
		}
		if (op == 3 && !(i % 8)) {
			plmc_delete(key, (size_t)kl);
			continue;
		}
		rc = plmc_get(key, (size_t)kl, buf, sizeof(buf), &vlen, NULL,
			      NULL);
		if ((rc == PLMC_OK && !val_ok(buf, vlen, k)) ||
		    (rc != PLMC_OK && rc != PLMC_NOT_FOUND)) {
			fprintf(stderr, "get %s: %s (%zu bytes: %.12s)\n", key,
				plmc_strerror(rc), vlen, buf);
			bad++;
		}
	}
	return (void *)bad;
}

/* A 16 MiB store under constant eviction from 4 writers/readers. Values
 * span 12 size classes, fewer than its 14 pages: every class gets a page
 * before the store fills (there is no page rebalancing between classes
 * yet, see docs/store.md). */
START_TEST(evict_churn)
{
	struct plmc_stats st;

	ut_store_down();
	ut_make_name("race-small");
	ut_rc(ut_create(ut_name, 16ULL << 20), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	run_procs(churn);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ck_assert_uint_gt(st.evictions, 1000);
	ck_assert_uint_le(st.bytes, st.limit_maxbytes);
}
END_TEST

/* A writer rewriting keys (incr, ma incr, append) until told to stop;
 * rounds counts its finished passes. */
static int rw_stop;
static unsigned long rw_rounds;

static int ma_incr(const char *key)
{
	struct plmc_meta m;

	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_ARITH;
	m.mode = PLMC_MA_INCR;
	m.delta = 1;
	return plmc_meta(key, strlen(key), &m, NULL, 0, NULL, 0);
}

static void *rewriter(void *arg)
{
	long bad = 0, n = 0;

	(void)arg;
	while (!__atomic_load_n(&rw_stop, __ATOMIC_ACQUIRE)) {
		bad += plmc_incr("n", 1, 1, NULL) != PLMC_OK;
		bad += ma_incr("n") != PLMC_OK;
		bad += plmc_incr("w", 1, 1, NULL) != PLMC_OK;
		bad += ma_incr("w") != PLMC_OK;
		if (n++ < 4000) /* "a" stays under 4 KB */
			bad += plmc_append("a", 1, "x", 1) != PLMC_STORED;
		__atomic_add_fetch(&rw_rounds, 1, __ATOMIC_RELEASE);
	}
	return (void *)bad;
}

/* Let the rewriter finish two passes: any rewrite that began before
 * now has linked (or given up) since. */
static void rw_settle(void)
{
	unsigned long r = __atomic_load_n(&rw_rounds, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&rw_rounds, __ATOMIC_ACQUIRE) < r + 2)
		sched_yield();
}

/* Start the rewriter on "n", "w" and "a" (stored by the caller). */
static pthread_t rw_start(void)
{
	pthread_t w;

	rw_stop = 0;
	ck_assert_int_eq(pthread_create(&w, NULL, rewriter, NULL), 0);
	return w;
}

/* Stop the rewriter @w; assert that every one of its calls succeeded. */
static void rw_end(pthread_t w)
{
	void *wrc;

	__atomic_store_n(&rw_stop, 1, __ATOMIC_RELEASE);
	pthread_join(w, &wrc);
	ck_assert_int_eq((long)wrc, 0);
}

static int64_t ttl_left(const char *key)
{
	struct plmc_meta m;

	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_DEBUG;
	if (plmc_meta(key, strlen(key), &m, NULL, 0, NULL, 0) != PLMC_OK)
		return -2;
	return m.ttl_left;
}

/* mg with R (win if the TTL left is under 1000 s); 1 if it won. */
static int mg_recache(const char *key)
{
	struct plmc_meta m;

	memset(&m, 0, sizeof(m));
	m.cmd = PLMC_META_GET;
	m.mflags = PLMC_MF_RECACHE;
	m.recache = 1000;
	if (plmc_meta(key, strlen(key), &m, NULL, 0, NULL, 0) != PLMC_OK)
		return -1;
	return !!(m.rbits & PLMC_MR_WON);
}

/*
 * A toucher alternates the expiry of "n" (incr and ma) and "a" (append)
 * between 10,000 and 20,000 s (TOUCHES times) while a writer rewrites
 * them; after each
 * touch and two writer passes, the expiry must be the touch's. A rewrite
 * that copied the expiry before the touch and linked after it loses the
 * touch.
 */
START_TEST(touch_not_lost)
{
	static const char *const keys[] = {"n", "a"};
	pthread_t w;
	int i, k, lost = 0;

	ut_rc(plmc_set("n", 1, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("w", 1, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("a", 1, "", 0, 0, 0), PLMC_STORED);
	w = rw_start();
	for (i = 0; i < TOUCHES; i++) {
		int32_t t = i % 2 ? 10000 : 20000;

		for (k = 0; k < 2; k++)
			ut_rc(plmc_touch(keys[k], 1, t), PLMC_TOUCHED);
		rw_settle();
		for (k = 0; k < 2; k++) {
			int64_t left = ttl_left(keys[k]);

			if (left < t - 100 || left > t) {
				if (!lost)
					fprintf(stderr,
						"touch %d of %s: %d s "
						"set, %lld left\n",
						i, keys[k], t, (long long)left);
				lost++;
			}
		}
	}
	rw_end(w);
	ck_assert_msg(!lost, "%d touches lost in %d", lost, 2 * TOUCHES);
}
END_TEST

/*
 * One win token per item: a fresh "w" (TTL 100 s, under R's 1000) is
 * won by the first mg R and by no later one while a writer rewrites it
 * in place (incr, ma: memcached keeps the item, so its marks stay). A
 * rewrite that copied the marks before the win and linked after it
 * hands out a second token.
 */
START_TEST(win_not_lost)
{
	pthread_t w;
	int round, j, extra = 0;

	ut_rc(plmc_set("n", 1, "0", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("a", 1, "", 0, 0, 0), PLMC_STORED);
	ut_rc(plmc_set("w", 1, "0           ", 12, 0, 100), PLMC_STORED);
	w = rw_start();
	for (round = 0; round < WIN_ROUNDS; round++) {
		int wins = 0;

		ut_rc(plmc_set("w", 1, "0           ", 12, 0, 100),
		      PLMC_STORED);
		for (j = 0; j < 4; j++) {
			int r = mg_recache("w");

			ck_assert_int_ge(r, 0);
			wins += r;
			rw_settle();
		}
		if (wins != 1) {
			if (!extra)
				fprintf(stderr, "round %d: %d wins\n", round,
					wins);
			extra++;
		}
	}
	rw_end(w);
	ck_assert_msg(!extra, "%d of %d rounds without exactly one win", extra,
		      WIN_ROUNDS);
}
END_TEST

/* A writer process: sets, deletes and appends over 2000 keys until the
 * pipe @stop closes. */
static void live_writer(int stop, int n)
{
	char key[32], v[600];
	unsigned seed = (unsigned)getpid();
	int i;

	if (plmc_attach(ut_name, PLMC_USE_AUTO))
		_exit(2);
	memset(v, 'v', sizeof(v));
	for (i = 0;; i++) {
		int k = rand_r(&seed) % 2000;
		int kl = snprintf(key, sizeof(key), "w%d.%d", n, k);
		struct pollfd pfd = {.fd = stop, .events = POLLIN};

		if (!(i % 64) && poll(&pfd, 1, 0) > 0)
			_exit(0);
		switch (rand_r(&seed) % 4) {
		case 0:
			plmc_delete(key, (size_t)kl);
			break;
		case 1:
			plmc_append(key, (size_t)kl, "x", 1);
			break;
		default:
			plmc_set(key, (size_t)kl, v,
				 (size_t)(8 + rand_r(&seed) % 500), 0, 0);
		}
	}
}

/*
 * plmc_check while two writer processes write (no deaths): 300 checks,
 * none reports an error. A check that could not do the exact accounting
 * (others were in calls) says so (quiescent = 0), never a false error.
 * After the writers stop, the check is quiescent and clean.
 */
START_TEST(check_while_writing)
{
	struct plmc_check ck;
	int stop[2], i, bad = 0, quiet = 0;
	pid_t w[2];

	ck_assert_int_eq(pipe(stop), 0);
	for (i = 0; i < 2; i++) {
		w[i] = fork();
		ck_assert_int_ge(w[i], 0);
		if (!w[i]) {
			close(stop[1]);
			live_writer(stop[0], i);
		}
	}
	close(stop[0]);
	usleep(50000);
	for (i = 0; i < 300; i++) {
		memset(&ck, 0, sizeof(ck));
		ck.size = sizeof(ck);
		ut_rc(plmc_check(&ck), PLMC_OK);
		if (ck.errors) {
			if (!bad)
				fprintf(stderr, "check %d: %llu errors: %s\n",
					i, (unsigned long long)ck.errors,
					ck.msg);
			bad++;
		}
		quiet += ck.quiescent != 0;
	}
	close(stop[1]);
	for (i = 0; i < 2; i++) {
		int st;

		ck_assert_int_eq(waitpid(w[i], &st, 0), w[i]);
		ck_assert_msg(WIFEXITED(st) && !WEXITSTATUS(st),
			      "writer %d: "
			      "0x%x",
			      i, st);
	}
	fprintf(stderr, "check_while_writing: %d of 300 quiescent\n", quiet);
	ck_assert_msg(!bad, "%d of 300 checks reported false errors", bad);
	ck_assert_int_ge(plmc_recover(), 0); /* the writers exited attached */
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.quiescent && !ck.errors, "after: quiescent %llu, %s",
		      (unsigned long long)ck.quiescent, ck.msg);
}
END_TEST

/*
 * A chunk is reused only after its grace period (epoch.c, kv_reuse): a
 * reader is held inside a get, its value half copied, while this thread
 * overwrites the key 200 times; its copy must still be the value it
 * found. The reader's buffer is registered with userfaultfd, so the copy
 * out (inside the call, its epoch announced) stops at the buffer's first
 * page until the fault is answered: the fault message is the control
 * that the reader really was in the call during the sets. With
 * kv_reuse's bound check removed, the second set built its item in the
 * chunk being copied and the reader got that set's bytes.
 */
#define REUSE_VLEN (64 << 10)
#define REUSE_SETS 200

struct reuse_rd {
	char *buf;
	size_t vlen;
	int rc;
};

static void *reuse_reader(void *arg)
{
	struct reuse_rd *r = arg;

	r->rc = plmc_get("reuse", 5, r->buf, REUSE_VLEN, &r->vlen, NULL, NULL);
	return NULL;
}

/* A userfaultfd watching the missing pages of [buf, +len), or -1. */
static int reuse_uffd(char *buf, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)buf, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* @r's reader started on a fresh buffer watched by userfaultfd and held
 * inside its get (the copy out stopped at the buffer's first page: the
 * fault message is the proof). Return: the userfaultfd. */
static int reader_park(struct reuse_rd *r, pthread_t *t)
{
	struct uffd_msg msg;
	struct pollfd pfd;
	int fd;

	r->buf = mmap(NULL, REUSE_VLEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(r->buf != MAP_FAILED);
	fd = reuse_uffd(r->buf, REUSE_VLEN);
	ck_assert_msg(fd >= 0, "userfaultfd: %s", strerror(errno));
	ck_assert_int_eq(pthread_create(t, NULL, reuse_reader, r), 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_msg(poll(&pfd, 1, 10000) == 1, "the reader never faulted");
	ck_assert_int_eq(read(fd, &msg, sizeof(msg)), (int)sizeof(msg));
	ck_assert_int_eq(msg.event, UFFD_EVENT_PAGEFAULT);
	return fd;
}

/* Lets the parked reader finish: its buffer filled, the thread joined. */
static void reader_free(struct reuse_rd *r, pthread_t t, int fd)
{
	static const char zero[REUSE_VLEN];
	struct uffdio_copy cp = {
		.dst = (unsigned long)r->buf,
		.src = (unsigned long)zero,
		.len = REUSE_VLEN,
	};

	/* EAGAIN: a module's check of the fill could not take mmap_lock
	 * at once (SECURITY.md); nothing was filled, try again. */
	while (ioctl(fd, UFFDIO_COPY, &cp) && errno == EAGAIN)
		usleep(1000);
	ck_assert_int_eq(cp.copy, REUSE_VLEN);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	close(fd);
}

START_TEST(reuse_waits_for_readers)
{
	static char v[REUSE_VLEN];
	struct reuse_rd r = { 0 };
	pthread_t t;
	size_t i;
	int fd;

	memset(v, 'a', sizeof(v));
	ut_rc(plmc_set("reuse", 5, v, sizeof(v), 0, 0), PLMC_STORED);
	fd = reader_park(&r, &t);
	for (i = 0; i < REUSE_SETS; i++) {
		memset(v, 'b' + i % 24, sizeof(v));
		ut_rc(plmc_set("reuse", 5, v, sizeof(v), 0, 0), PLMC_STORED);
	}
	reader_free(&r, t, fd);
	ut_rc(r.rc, PLMC_OK);
	ck_assert_int_eq(r.vlen, REUSE_VLEN);
	for (i = 0; i < REUSE_VLEN && r.buf[i] == 'a'; i++)
		;
	ck_assert_msg(i == REUSE_VLEN, "byte %zu of the copy is '%c', not 'a'",
		      i, r.buf[i]);
	munmap(r.buf, REUSE_VLEN);
}
END_TEST

/*
 * Read-modify-writes whose item is freed under them (epoch.c, kv_adopt).
 * append and incr read the key's item without a lock and hold it across
 * the allocation of the new one; when memory is short that allocation
 * reclaims, adopting the retired lists of slots whose threads have
 * exited, and steps page moves. Such a list may hold the very item the
 * call copies from (another thread replaced it, then exited): adopted,
 * it was freed although this call still read it, and a move of its page
 * (whose last chunk it was) zeroed it: the append then answered
 * NOT_STORED with the key there (test_move's shared_append, one round in
 * about 350), or a chunk reused for the same key was taken for the item
 * read and a copy of stale bytes linked (pieces lost). Here one key grows
 * through some 30 classes in a 16 MiB store (a dozen item pages: each new
 * class takes the page of one the key has left, whose chunks are its old
 * copies), appended to by threads that live for AR_OPS calls each, so
 * slots are released with items on their lists all the time. Every
 * append answered STORED must be in the value, and none may answer
 * NOT_STORED while the key is there. Memory this short may refuse an
 * append (NOMEM, memcached's "out of memory") or evict the key: a run
 * whose key was evicted tells nothing and is passed over. The window is
 * narrow: a first version of this test failed in 1 of 20 runs before the
 * fix on the host at a load of 10, this one in none of 60 (docs/store.md
 * "Reclamation"): a stress, not a proof.
 */
#define AR_PROCS  3
#define AR_THR    4
#define AR_ROUNDS 40 /* thread generations of each process */
#define AR_OPS    4  /* appends of each thread */
#define AR_TOK    32
#define AR_RUNS   10 /* fresh stores */
#define AR_N	  ((size_t)AR_PROCS * AR_ROUNDS * AR_THR * AR_OPS)

static int ar_proc;
static int ar_round;
/* Shared with the children (MAP_SHARED): appends answered STORED,
 * NOT_STORED, and anything else (NOMEM: memory this short may refuse). */
static uint64_t *ar_count;

static void *ar_worker(void *arg)
{
	int t = (int)(long)arg, i;

	for (i = 0; i < AR_OPS; i++) {
		char tok[AR_TOK + 1];
		int rc;

		snprintf(tok, sizeof(tok), "<%d.%03d.%d.%02d%*s>", ar_proc,
			 ar_round, t, i, AR_TOK - 13, "");
		rc = plmc_append("a", 1, tok, AR_TOK);
		__atomic_add_fetch(&ar_count[rc == PLMC_STORED	   ? 0
					     : rc == PLMC_NOT_STORED ? 1
								     : 2],
				   1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int ar_child(int p)
{
	ar_proc = p;
	if (plmc_attach(ut_name, PLMC_USE_AUTO))
		return 2;
	for (ar_round = 0; ar_round < AR_ROUNDS; ar_round++)
		ut_threads(ar_worker, AR_THR);
	return 0;
}

/* One run in a fresh store. Return: 1 if every append answered STORED
 * is in the value and none answered NOT_STORED, 0 if not, -1 if the key
 * was evicted (then a NOT_STORED is memcached's answer: nothing to
 * tell). */
static int ar_run(int run)
{
	static char got[AR_N * AR_TOK + 1];
	struct plmc_stats st = {.size = sizeof(st)};
	pid_t pid[AR_PROCS];
	int p, w, rc;
	size_t n = 0;

	memset(ar_count, 0, 3 * sizeof(*ar_count));
	ut_make_name("adopt");
	ck_assert_int_eq(ut_create(ut_name, 16ULL << 20), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("a", 1, "", 0, 0, 0), PLMC_STORED);
	for (p = 0; p < AR_PROCS; p++) {
		pid[p] = fork();
		ck_assert_int_ge(pid[p], 0);
		if (!pid[p])
			_exit(ar_child(p));
	}
	for (p = 0; p < AR_PROCS; p++) {
		ck_assert_int_eq(waitpid(pid[p], &w, 0), pid[p]);
		ck_assert_msg(WIFEXITED(w) && !WEXITSTATUS(w), "child %d: %#x",
			      p, w);
	}
	ut_rc(plmc_stats(&st), PLMC_OK);
	if (plmc_get("a", 1, got, sizeof(got), &n, NULL, NULL) != PLMC_OK)
		n = 0;
	rc = !ar_count[1] && n == ar_count[0] * AR_TOK;
	if (!rc && (st.evictions || st.slab_reassign_evictions_nomem))
		rc = -1;
	if (rc <= 0)
		fprintf(stderr, "rmw_adopt %d: stored %lu, not stored %lu, "
			"refused %lu; key %zu bytes of %lu, moved %lu, "
			"evictions %lu + %lu\n",
			run, (unsigned long)ar_count[0],
			(unsigned long)ar_count[1], (unsigned long)ar_count[2],
			n, (unsigned long)(ar_count[0] * AR_TOK),
			(unsigned long)st.slabs_moved,
			(unsigned long)st.evictions,
			(unsigned long)st.slab_reassign_evictions_nomem);
	ut_store_down();
	return rc;
}

START_TEST(rmw_adopt)
{
	int r, rc, told = 0;

	ar_count = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(ar_count != MAP_FAILED);
	/* Until AR_RUNS runs kept the key, 4 x AR_RUNS runs at most: a
	 * lone key growing through the classes of a 16 MiB store is
	 * sometimes evicted (issue 14's open item; 7 runs in 10 on a
	 * loaded host), and such a run tells nothing about this race. */
	for (r = 0; r < 4 * AR_RUNS && told < AR_RUNS; r++) {
		rc = ar_run(r);
		ck_assert_msg(rc, "run %d: an append was lost, or answered "
			      "NOT_STORED with the key there (see the line "
			      "above)", r);
		told += rc > 0;
	}
	munmap(ar_count, 4096);
	/* Most runs keep the key: the check above must have had its say. */
	ck_assert_int_ge(told, AR_RUNS / 2);
}
END_TEST

/* The chunks of every class, in use (linked or retired). */
static uint64_t used_chunks(void)
{
	struct plmc_class_stats cs[64];
	uint64_t used = 0;
	size_t n = 0;

	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (size_t i = 0; i < n; i++)
		used += cs[i].used_chunks;
	return used;
}

/*
 * A crawl (a reclaiming walk) frees what it unlinked at the end of its
 * call unless a call that began before is still inside (dispatch.c):
 * then its last walk says so (plmc_walk.held) and a later walk frees
 * them once that call ended; plmcd's crawler waits for that before it
 * says the crawl is over (t/lru-crawler.t reads used_chunks then). The
 * reader is held inside a get by userfaultfd, as above.
 */
START_TEST(crawl_held_while_a_reader_is_inside)
{
	static char v[REUSE_VLEN];
	struct plmc_walk *w = malloc(sizeof(*w));
	struct reuse_rd r = { 0 };
	uint64_t cur = 0, after = 0, used0;
	long reaped = 0;
	char key[16];
	pthread_t t;
	int fd, k;

	ck_assert(w);
	ut_rc(plmc_set("reuse", 5, v, sizeof(v), 0, 0), PLMC_STORED);
	for (k = 0; k < 100; k++) {
		snprintf(key, sizeof(key), "d%d", k);
		ut_rc(plmc_set(key, strlen(key), "ok", 2, 0, 2), PLMC_STORED);
	}
	fd = reader_park(&r, &t);
	ut_rc(plmc_clock_advance(5), PLMC_OK);
	used0 = used_chunks();
	do {
		ut_rc(plmc_walk(cur, after, 0, 1, w), PLMC_OK);
		reaped += w->reclaimed;
		cur = w->next;
		after = w->next_after;
	} while (!w->done);
	ck_assert_int_eq(reaped, 100);
	ck_assert_msg(w->held, "the reader inside did not hold the chunks");
	ck_assert_uint_eq(used_chunks(), used0); /* unlinked, not free */
	reader_free(&r, t, fd);
	ut_rc(r.rc, PLMC_OK);
	ut_rc(plmc_walk(0, 0, 0, 0, w), PLMC_OK);
	ck_assert_msg(!w->held, "still held after the reader left");
	ck_assert_uint_eq(used0 - used_chunks(), 100);
	munmap(r.buf, REUSE_VLEN);
	free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race");
	TCase *tc = tcase_create("race");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, no_lost_updates);
	tcase_add_test(tc, evict_churn);
	tcase_add_test(tc, touch_not_lost);
	tcase_add_test(tc, win_not_lost);
	tcase_add_test(tc, check_while_writing);
	tcase_add_test(tc, reuse_waits_for_readers);
	tcase_add_test(tc, crawl_held_while_a_reader_is_inside);
	suite_add_tcase(s, tc);
	/* Its own store (16 MiB, no page left): no fixture store. */
	tc = tcase_create("adopt");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rmw_adopt);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
