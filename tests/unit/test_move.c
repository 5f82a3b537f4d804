// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_move.c - memory follows the sizes: pages move between
 * size classes (memcached's slab_reassign / slab_automove and its global
 * page pool), through local clients.
 *
 *  - size_shift: a 16 MiB store full of 1 KB values takes a 100 B, a
 *    5 KB and a 100 KB value, and three more after flush_all (memcached
 *    -m 16 stores all six); with automove 0 a class gets its first
 *    page (memcached's rule) and no more: it evicts within itself.
 *  - size_sweep: every size from 1 KB to 1 MB in 2 KB steps into a
 *    fresh 64 MiB store: all 512 stored.
 *  - reassign: memcached's slabs reassign answers, a page really moves
 *    (src loses it, the pool or dst gains it), the store checks clean.
 *  - rescue: a page of a class with free chunks moves, its live items
 *    copied into them (memcached's rescue), CAS kept, none lost.
 *  - dead_pages: expired items' pages go to another class without one
 *    live item evicted.
 *  - giveback: expired items' memory returns to the global pool with
 *    no class short of memory (the scan reclaims, the class gives pages
 *    back, live items rescued).
 *  - move_points: a client dies at each step of a move (the crash
 *    points); recovery leaves a sound store and later calls finish the
 *    move.
 *  - shifting_stress: 4 processes x 2 threads storing sizes that drift
 *    over time on a 16 MiB store, values self-checking; then plmc_check.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <plmc/gate.h>
#include <plmc/layout.h>
#include "util.h"

static void store(uint64_t mb)
{
	int rc;

	ut_make_name("move");
	rc = ut_create(ut_name, mb << 20); /* test image: clock, crash points */
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
}

static void teardown(void)
{
	ut_store_down();
}

static char big[1 << 20];

static int put(const char *pfx, int i, size_t vlen, int32_t exp)
{
	char k[64];
	int kl = snprintf(k, sizeof(k), "%s:%d", pfx, i);

	memset(big, 'a' + i % 26, vlen);
	return plmc_set(k, (size_t)kl, big, vlen, 0, exp);
}

static int has(const char *pfx, int i, size_t vlen)
{
	static char buf[1 << 20];
	char k[64];
	int kl = snprintf(k, sizeof(k), "%s:%d", pfx, i);
	size_t n;
	size_t j;

	if (plmc_get(k, (size_t)kl, buf, sizeof(buf), &n, NULL, NULL) !=
		    PLMC_OK ||
	    n != vlen)
		return 0;
	for (j = 0; j < n; j++)
		if (buf[j] != 'a' + i % 26)
			return 0;
	return 1;
}

static void check_clean(void)
{
	struct plmc_check ck = {.size = sizeof(ck)};

	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(ck.errors == 0, "check: %s", ck.msg);
	ck_assert_uint_eq(ck.quiescent, 1);
}

static void stats(struct plmc_stats *st)
{
	st->size = sizeof(*st);
	ut_rc(plmc_stats(st), PLMC_OK);
}

static void fill_1k(void)
{
	int i;

	for (i = 0; i < 30000; i++)
		ut_rc(put("f", i, 1000, 0), PLMC_STORED);
}

static const size_t shift[3] = {100, 5000, 100000};

START_TEST(size_shift)
{
	struct plmc_stats st;
	int i;

	store(16);
	fill_1k();
	for (i = 0; i < 3; i++)
		ut_rc(put("s", i, shift[i], 0), PLMC_STORED);
	for (i = 0; i < 3; i++)
		ck_assert_msg(has("s", i, shift[i]), "size %zu lost", shift[i]);
	ut_rc(plmc_flush_all(0), PLMC_OK);
	for (i = 0; i < 3; i++)
		ut_rc(put("t", i, shift[i], 0), PLMC_STORED);
	for (i = 0; i < 3; i++)
		ck_assert_msg(has("t", i, shift[i]), "size %zu lost", shift[i]);
	stats(&st);
	ck_assert_uint_ge(st.slabs_moved, 3);
	ck_assert_uint_eq(st.slab_reassign_running, 0);
	check_clean();
}
END_TEST

/* The control: with moves off, a class that has a page gets no more
 * (the 100 B class fills its first page, then evicts within itself); a
 * class without a page still takes its first (memcached gives every
 * class one past its soft -m, and stores the 100 B value); one reassign
 * by hand makes room for a third. */
START_TEST(size_shift_automove_off)
{
	struct plmc_stats st;
	int i;

	store(16);
	ut_rc(plmc_slabs_automove(0), PLMC_OK);
	fill_1k();
	ut_rc(put("sss", 0, 100, 0), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 1);
	/* Keys of 5 to 8 bytes: 153 to 156 bytes with the 48-byte header,
	 * all in the 192-byte class (5461 a page; "s:N" would straddle
	 * 152 and 192, and the second class would take its first page) */
	for (i = 1; i < 10000; i++)
		ut_rc(put("sss", i, 100, 0), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 1);
	ck_assert_uint_gt(st.evictions, 3000);
	ck_assert_uint_eq(st.slab_automove, 0);
	ut_rc(plmc_slabs_reassign(-1, 0), PLMC_REASSIGN_OK);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 2);
	ck_assert_uint_eq(st.slab_global_page_pool, 1);
	ut_rc(plmc_slabs_reassign(0, 1), PLMC_REASSIGN_NOSPARE);
	ut_rc(put("s", 0, 100000, 0), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.slab_global_page_pool, 0);
	check_clean();
}
END_TEST

START_TEST(size_sweep)
{
	struct plmc_stats st;
	size_t v;
	int i = 0, stored = 0;

	store(64);
	for (v = 1024; v <= 1024 * 1024 - 1024; v += 2048, i++)
		stored += put("w", i, v, 0) == PLMC_STORED;
	ck_assert_int_eq(i, 512);
	ck_assert_int_eq(stored, 512);
	/* The newest is always there (the oldest were evicted). */
	ck_assert(has("w", 511, 1024 + 511 * 2048));
	stats(&st);
	ck_assert_uint_gt(st.slabs_moved, 0);
	check_clean();
}
END_TEST

/* Class id (memcached's numbering) holding values of @vlen. */
static int class_of(size_t vlen)
{
	struct plmc_class_stats cs[64];
	size_t n, i;

	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (i = 0; i < n && i < 64; i++)
		if (cs[i].chunk_size >= PLMC_ITEM_HDR + 8 + vlen && cs[i].number)
			return (int)cs[i].id;
	return -1;
}

static uint64_t pages_of(int id)
{
	struct plmc_class_stats cs[64];
	size_t n, i;

	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (i = 0; i < n && i < 64; i++)
		if ((int)cs[i].id == id)
			return cs[i].total_pages;
	return 0;
}

START_TEST(reassign)
{
	struct plmc_stats st;
	int i, id;
	uint64_t p0;

	store(16);
	for (i = 0; i < 3000; i++)
		ut_rc(put("r", i, 1000, 0), PLMC_STORED);
	id = class_of(1000);
	ck_assert_int_gt(id, 0);
	p0 = pages_of(id);
	ck_assert_uint_ge(p0, 2);
	/* SRC 0 is the pool (memcached: NOSPARE with fewer than 2 pages). */
	ut_rc(plmc_slabs_reassign(0, 1), PLMC_REASSIGN_NOSPARE);
	ut_rc(plmc_slabs_reassign(id, 200), PLMC_REASSIGN_BADCLASS);
	ut_rc(plmc_slabs_reassign(-2, 1), PLMC_REASSIGN_BADCLASS);
	ut_rc(plmc_slabs_reassign(id, id), PLMC_REASSIGN_SAME);
	ut_rc(plmc_slabs_reassign(1, 2), PLMC_REASSIGN_NOSPARE);
	ut_rc(plmc_slabs_automove(3), PLMC_E_INVAL);
	ut_rc(plmc_slabs_automove(-1), PLMC_E_INVAL);
	/* To a class: the page is DST's (memcached: t/slabs_reassign.t). */
	ck_assert_uint_eq(pages_of(1), 0);
	ut_rc(plmc_slabs_reassign(id, 1), PLMC_REASSIGN_OK);
	ck_assert_uint_eq(pages_of(id), p0 - 1);
	ck_assert_uint_eq(pages_of(1), 1);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 1);
	ck_assert_uint_eq(st.slab_global_page_pool, 0);
	/* To the pool (DST 0), and a second page from the same class. */
	ut_rc(plmc_slabs_reassign(id, 0), PLMC_REASSIGN_OK);
	ck_assert_uint_eq(pages_of(id), p0 - 2);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 2);
	ck_assert_uint_eq(st.slab_global_page_pool, 1);
	ck_assert_uint_gt(st.slab_reassign_evictions_nomem, 0);
	ck_assert_uint_eq(st.curr_items + st.slab_reassign_evictions_nomem,
			  3000);
	/* What is left is intact, what went is gone whole. */
	for (i = 0; i < 3000; i++)
		if (!has("r", i, 1000)) {
			char k[32], b[8];
			size_t n;
			int kl = snprintf(k, sizeof(k), "r:%d", i);

			ut_rc(plmc_get(k, (size_t)kl, b, sizeof(b), &n, NULL,
				       NULL),
			      PLMC_NOT_FOUND);
		}
	/* The pool page goes to the next class that needs one. */
	ut_rc(put("x", 0, 100, 0), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.slab_global_page_pool, 0);
	check_clean();
}
END_TEST

/* A class with free chunks to spare gives a page without losing an
 * item: its live items on the page are copied (memcached's rescue). */
static uint64_t cas_of(int i)
{
	static char b[2048];
	char k[32];
	int kl = snprintf(k, sizeof(k), "r:%d", i);
	uint64_t cas = 0;
	size_t n;

	ut_rc(plmc_get(k, (size_t)kl, b, sizeof(b), &n, NULL, &cas), PLMC_OK);
	return cas;
}

START_TEST(rescue)
{
	static uint64_t cas[6000];
	struct plmc_stats st;
	int i, id;

	store(16);
	for (i = 0; i < 12000; i++)
		ut_rc(put("r", i, 1000, 0), PLMC_STORED);
	for (i = 0; i < 12000; i++) /* every other one: free chunks */
		if (i % 2) {
			char k[32];
			int kl = snprintf(k, sizeof(k), "r:%d", i);

			ut_rc(plmc_delete(k, (size_t)kl), PLMC_DELETED);
		}
	for (i = 0; i < 12000; i += 2)
		cas[i / 2] = cas_of(i);
	id = class_of(1000);
	ut_rc(plmc_slabs_reassign(id, 0), PLMC_REASSIGN_OK);
	for (i = 0; i < 12000; i += 2)
		ck_assert_uint_eq(cas_of(i), cas[i / 2]);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 1);
	ck_assert_uint_gt(st.slab_reassign_rescues, 0);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	ck_assert_uint_eq(st.curr_items, 6000);
	for (i = 0; i < 12000; i += 2)
		ck_assert_msg(has("r", i, 1000), "r:%d lost", i);
	check_clean();
}
END_TEST

/* Expired items' pages serve another class: no live item evicted. */
START_TEST(dead_pages)
{
	struct plmc_stats st;
	int i;

	store(16);
	for (i = 0; i < 30000; i++)
		ut_rc(put("d", i, 1000, 5), PLMC_STORED);
	ut_rc(plmc_stats_reset(), PLMC_OK);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	for (i = 0; i < 3000; i++)
		ut_rc(put("n", i, 2000, 0), PLMC_STORED);
	for (i = 0; i < 3000; i++)
		ck_assert_msg(has("n", i, 2000), "n:%d lost", i);
	stats(&st);
	ck_assert_uint_gt(st.slabs_moved, 0);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	check_clean();
}
END_TEST

/* Expired memory goes back to the pool with no class needing it: the
 * write-path scan reclaims the expired items, their class then has
 * pages of free chunks to spare and gives pages to the pool. The stores
 * that drive it rewrite one key (no memory needed). */
START_TEST(giveback)
{
	struct plmc_stats st;
	int i, n;

	store(16);
	for (n = 0;; n++) { /* until every page is taken, none evicted */
		ut_rc(put("g", n, 1000, n % 4 ? 5 : 0), PLMC_STORED);
		stats(&st);
		if (st.total_malloced >= st.limit_maxbytes)
			break;
	}
	ck_assert_uint_eq(st.evictions, 0);
	ut_rc(plmc_clock_advance(10), PLMC_OK);
	ut_rc(plmc_stats_reset(), PLMC_OK);
	for (i = 0; i < 40000; i++)
		ut_rc(put("one", 0, 1000, 0), PLMC_STORED);
	stats(&st);
	ck_assert_uint_gt(st.reclaimed, 0);
	ck_assert_uint_gt(st.slabs_moved, 0);
	ck_assert_uint_gt(st.slab_global_page_pool, 0);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	for (i = 0; i <= n; i += 4) /* the live ones all stayed */
		ck_assert_msg(has("g", i, 1000), "g:%d lost", i);
	check_clean();
}
END_TEST

/* The background mover's step (plmcd's thread): deletes leave a class
 * pages of free chunks to spare, and with nobody storing they go to the
 * pool, every live item rescued; after flush_all every page of dead
 * items goes. Automove 0: nothing moves. */
START_TEST(maintain)
{
	struct plmc_stats st;
	uint64_t p0;
	int i, n = 8000, id;
	long m;

	store(16);
	for (i = 0; i < n; i++)
		ut_rc(put("m", i, 1000, 0), PLMC_STORED);
	stats(&st);
	n = (int)st.curr_items; /* the last ones, if it evicted */
	id = class_of(1000);
	p0 = pages_of(id);
	ck_assert_uint_ge(p0, 8);
	for (i = 0; i < 8000; i++)
		if (i % 4) {
			char k[32];
			int kl = snprintf(k, sizeof(k), "m:%d", i);

			plmc_delete(k, (size_t)kl);
		}
	for (i = 0; i < 100; i++) /* the deleting slot frees its list */
		plmc_nop();
	ut_rc(plmc_slabs_maintain(0), PLMC_E_INVAL);
	ut_rc(plmc_slabs_maintain(65), PLMC_E_INVAL);
	ut_rc(plmc_slabs_automove(0), PLMC_OK);
	ut_rc(plmc_slabs_maintain(64), 0);
	ck_assert_uint_eq(pages_of(id), p0);
	ut_rc(plmc_slabs_automove(1), PLMC_OK);
	m = plmc_slabs_maintain(64);
	ck_assert_int_ge(m, (long)p0 / 2);
	stats(&st);
	ck_assert_uint_eq(st.slab_global_page_pool, (uint64_t)m);
	ck_assert_uint_eq(st.evictions + st.slab_reassign_evictions_nomem, 0);
	ck_assert_uint_eq(pages_of(id), p0 - (uint64_t)m);
	for (i = 8000 - n; i < 8000; i += 4)
		ck_assert_msg(has("m", i, 1000), "m:%d lost", i);
	check_clean();
	ut_rc(plmc_flush_all(0), PLMC_OK);
	m = plmc_slabs_maintain(64);
	ck_assert_uint_eq(pages_of(id), 0);
	stats(&st);
	ck_assert_uint_eq(st.slab_global_page_pool, p0);
	check_clean();
}
END_TEST

/* ---- a death at each step of a move; the next call resumes it ---- */

static void shift_work(void)
{
	int i;

	for (i = 0; i < 3000; i++)
		put("c", i, shift[i % 3] + (size_t)i, 0);
}

static void move_crash(int point)
{
	struct plmc_stats st;
	int i;

	store(16);
	fill_1k();
	for (i = 0; i < 30000; i += 2) { /* free chunks on every page */
		char k[32];
		int kl = snprintf(k, sizeof(k), "f:%d", i);

		plmc_delete(k, (size_t)kl);
	}
	ut_die_at(point, shift_work);
	check_clean();
	/* Later calls finish what the dead one started and go on. */
	for (i = 0; i < 300; i++) {
		ut_rc(put("p", i, shift[i % 3], 0), PLMC_STORED);
		/* The scan walks a moving page once a second. */
		if (i % 30 == 0)
			plmc_clock_advance(1);
	}
	for (i = 0; i < 10; i++) {
		stats(&st);
		if (!st.slab_reassign_running)
			break;
		plmc_clock_advance(1);
		ut_rc(put("q", i, 100, 0), PLMC_STORED);
	}
	ck_assert_msg(!st.slab_reassign_running, "%s: a move stays stuck",
		      plmc_crash_name(point));
	for (i = 290; i < 300; i++)
		ck_assert(has("p", i, shift[i % 3]));
	check_clean();
}

/* A death in the hand-off of a reassigned page to its DST (its one
 * transaction, at the chunk take's crash point): the page is DST's or
 * the pool's, never lost, and the store checks clean. The class is full
 * (no free chunk: no rescue takes a chunk first). */
static int give_src;

static void give_work(void)
{
	plmc_slabs_reassign(give_src, 1);
}

START_TEST(give_point)
{
	struct plmc_stats st;
	uint64_t p0;
	int i;

	store(16);
	for (i = 0; i < 3000; i++)
		ut_rc(put("r", i, 1000, 0), PLMC_STORED);
	give_src = class_of(1000);
	p0 = pages_of(give_src);
	ut_die_at(PLMC_CRASH_ALLOC_TX, give_work);
	check_clean();
	stats(&st);
	ck_assert_uint_eq(pages_of(give_src), p0 - 1);
	ck_assert_uint_eq(pages_of(1) + st.slab_global_page_pool, 1);
	ck_assert_uint_eq(pages_of(1), 1); /* the redo record was whole */
}
END_TEST

START_TEST(move_points)
{
	static const int p[] = {
		PLMC_CRASH_MOVE_START_TX, PLMC_CRASH_MOVE_TAKE_TX,
		PLMC_CRASH_MOVE_ZERO,	  PLMC_CRASH_MOVE_DONE_TX,
		PLMC_CRASH_POOL_TX,
	};

	move_crash(p[_i]);
}
END_TEST

/* ---- shifting sizes from several processes ---- */

#define NPROC 4
#define NTHR  2
#define NKEYS 4000

static int nops = 30000;

/* Sets and NOMEM answers of all processes (shared, set up before fork). */
static _Atomic long *tally;

/*
 * Sizes drift: phase p of 6 picks around 64 << 2p bytes. A set may
 * answer NOMEM (memcached's "out of memory": every chunk of the class in
 * flight in the other 7 calls, and libpl's 2 s of retries spent, which
 * happens under TCG): counted, bounded by the test. Anything else but
 * STORED, and any value that is not its key's, fails.
 */
static void *shifter(void *arg)
{
	static __thread char v[70000], b[70000];
	unsigned seed = (unsigned)getpid() * 31 + (unsigned)(long)arg;
	long bad = 0;
	int i;

	for (i = 0; i < nops; i++) {
		int k = rand_r(&seed) % NKEYS, ph = i * 6 / nops, rc;
		size_t len = (size_t)(64 << (ph * 2)) / 4 +
			     (size_t)(rand_r(&seed) % (64 << (ph * 2)) / 2) +
			     16;
		char key[32];
		int kl = snprintf(key, sizeof(key), "s%d", k);
		size_t n;

		if (len > sizeof(v))
			len = sizeof(v);
		if (rand_r(&seed) % 3) {
			rc = plmc_set(key, (size_t)kl, v, ut_mkval(v, k, len),
				      0, rand_r(&seed) % 4 ? 0 : 1);
			tally[0]++;
			if (rc == PLMC_E_NOMEM)
				tally[1]++;
			else if (rc != PLMC_STORED && bad++ < 3)
				fprintf(stderr, "set %zu: %s\n", len,
					plmc_strerror(rc));
		} else {
			rc = plmc_get(key, (size_t)kl, b, sizeof(b), &n, NULL,
				      NULL);
			if ((rc == PLMC_OK && !ut_val_ok(b, n, k)) ||
			    (rc != PLMC_OK && rc != PLMC_NOT_FOUND))
				if (bad++ < 3)
					fprintf(stderr, "get: %s\n",
						plmc_strerror(rc));
		}
		if (i % 5000 == 0)
			plmc_clock_advance(1);
	}
	if (bad)
		fprintf(stderr, "shifter: %ld bad\n", bad);
	return (void *)bad;
}

START_TEST(shifting_stress)
{
	struct plmc_stats st;
	const char *e = getenv("STRESS_OPS");

	if (e)
		nops = atoi(e);
	tally = mmap(NULL, 2 * sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(tally != MAP_FAILED);
	store(16);
	ut_procs(shifter, NPROC, NTHR);
	ut_rc(plmc_recover(), 0);
	stats(&st);
	fprintf(stderr,
		"shifting_stress: %ld sets (%ld NOMEM), moved %lu pages, "
		"evictions %lu, move evictions %lu, busy %lu, pool %lu\n",
		(long)tally[0], (long)tally[1], (unsigned long)st.slabs_moved,
		(unsigned long)st.evictions,
		(unsigned long)st.slab_reassign_evictions_nomem,
		(unsigned long)st.slab_reassign_busy_items,
		(unsigned long)st.slab_global_page_pool);
	ck_assert_uint_gt(st.slabs_moved, 0);
	ck_assert_int_le(tally[1] * 100, tally[0]); /* NOMEM: <= 1% */
	check_clean();
}
END_TEST

/*
 * A page move rescues live items into free chunks of their class:
 * 500 items that never expire, then as many that expire as the store
 * holds (13,000 in plmcd -m 16), their time
 * passes, one key is rewritten (no pressure), and the mover (plmcd's
 * thread, memcached's automove) gives back the class's oldest page, the
 * one the 500 live items sit on. All 500 must stay: the class has
 * thousands of free chunks. The move evicted all 500 (memcached keeps
 * them: slab_reassign_rescues).
 */
START_TEST(idle_rescue)
{
	struct plmc_stats st;
	int i, n;

	store(16);
	stats(&st);
	/* Fill every item page of the class (885 chunks each), no more. */
	n = (int)(st.limit_maxbytes >> 20) * (1048576 / 1184) - 500;
	for (i = 0; i < 500; i++)
		ut_rc(put("live", i, 1000, 0), PLMC_STORED);
	for (i = 0; i < n; i++)
		ut_rc(put("ttl", i, 1000, 2), PLMC_STORED);
	stats(&st);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.curr_items, (uint64_t)n + 500);
	ut_rc(plmc_clock_advance(4), PLMC_OK);
	for (i = 0; i < 20000; i++)
		ut_rc(put("one", 0, 100, 0), PLMC_STORED);
	stats(&st);
	fprintf(stderr, "idle_rescue: items %lu, evictions %lu, moved %lu, rescues %lu, move evictions %lu\n",
		(unsigned long)st.curr_items, (unsigned long)st.evictions,
		(unsigned long)st.slabs_moved,
		(unsigned long)st.slab_reassign_rescues,
		(unsigned long)st.slab_reassign_evictions_nomem);
	for (i = 0; i < 4; i++)
		ck_assert_int_ge(plmc_slabs_maintain(64), 0);
	stats(&st);
	fprintf(stderr, "idle_rescue: items %lu, evictions %lu, moved %lu, rescues %lu, move evictions %lu\n",
		(unsigned long)st.curr_items, (unsigned long)st.evictions,
		(unsigned long)st.slabs_moved,
		(unsigned long)st.slab_reassign_rescues,
		(unsigned long)st.slab_reassign_evictions_nomem);
	ck_assert_uint_gt(st.slabs_moved, 0);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	for (i = 0; i < 500; i++)
		ck_assert_msg(has("live", i, 1000), "live:%d lost", i);
	check_clean();
}
END_TEST

#define AP_N   1500 /* appends of each thread */
#define AP_TOK 17   /* bytes of each piece */
#define AP_P   2    /* processes ... */
#define AP_T   3    /* ... of threads appending */
#define AP_ROUNDS 10 /* rounds, each a fresh store (0.1 s each) */

/* Appends AP_N pieces to "ap"; returns nonzero if any was refused. */
static void *appender(void *arg)
{
	char tok[48];
	long bad = 0;
	int i;

	for (i = 0; i < AP_N; i++) {
		snprintf(tok, sizeof(tok), "<%06d.%02d.%05d>",
			 getpid() % 1000000, (int)(long)arg % 100, i);
		int rc = plmc_append("ap", 2, tok, AP_TOK);

		if (rc != PLMC_STORED && !bad++)
			fprintf(stderr, "append %d: %s\n", i, plmc_strerror(rc));
	}
	return (void *)bad;
}

/*
 * One round: six threads in two processes append to one key in a fresh
 * 64 MiB store holding 1000 small items; the key grows through every
 * class up to 150 KB while its old copies are retired behind the other
 * threads' calls. Return: 1 if no append was refused, the key holds
 * every piece, no item was evicted and every canary is there.
 */
static int append_round(int round)
{
	static char big[AP_N * AP_P * AP_T * AP_TOK + 1];
	struct plmc_stats st;
	char k[32], v[100];
	pid_t pid[AP_P];
	int i, w, failed = 0, lost = 0;
	size_t n = 0;

	store(64);
	memset(v, 'c', sizeof(v));
	for (i = 0; i < 1000; i++) {
		int kl = snprintf(k, sizeof(k), "canary%d", i);

		ut_rc(plmc_set(k, (size_t)kl, v, sizeof(v), 0, 0), PLMC_STORED);
	}
	ut_rc(plmc_set("ap", 2, "", 0, 0, 0), PLMC_STORED);
	for (i = 0; i < AP_P; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (!pid[i])
			_exit(plmc_attach(ut_name, PLMC_USE_AUTO)
				      ? 2
				      : ut_threads(appender, AP_T));
	}
	for (i = 0; i < AP_P; i++) {
		ck_assert_int_eq(waitpid(pid[i], &w, 0), pid[i]);
		failed += !WIFEXITED(w) || WEXITSTATUS(w);
	}
	if (plmc_get("ap", 2, big, sizeof(big), &n, NULL, NULL) != PLMC_OK)
		n = 0;
	for (i = 0; i < 1000; i++) {
		int kl = snprintf(k, sizeof(k), "canary%d", i);
		size_t m;

		lost += plmc_get(k, (size_t)kl, v, sizeof(v), &m, NULL, NULL) !=
			PLMC_OK;
	}
	stats(&st);
	fprintf(stderr,
		"shared_append %d: %d of %d processes refused, key %zu bytes, "
		"canaries lost %d, evictions %lu, moved %lu, move evictions "
		"%lu\n",
		round, failed, AP_P, n, lost, (unsigned long)st.evictions,
		(unsigned long)st.slabs_moved,
		(unsigned long)st.slab_reassign_evictions_nomem);
	ut_rc(plmc_recover(), 0);
	check_clean();
	ut_store_down();
	return !failed && n == sizeof(big) - 1 && !lost && !st.evictions &&
	       !st.slab_reassign_evictions_nomem;
}

/*
 * A store with most of a class's chunks retired behind other calls
 * waits for them instead of evicting (evict.c, kv_class_in_flight):
 * without it the class the key had just entered evicted the key itself
 * in every round (3 of 3, and 5 of 5 runs of the outside check's
 * r4_append). Two more ways the key was lost, each at the append that
 * took it into a new class (kv_class_short, kv_class_got): a call that
 * found the class without a page (nothing in flight) went to the page
 * mover, and meanwhile another appender got the class a page and linked
 * the key there: the call then evicted the key, the class's only item;
 * and a wait left open by a chunk taken another way kept its old start,
 * so the next shortage found its bound passed and evicted at once.
 * Every round must keep it. Before those two fixes (2 cores, load 2)
 * a run of AP_ROUNDS rounds failed in 5 of 6 runs (rounds lost: 5 of
 * 35, a run stops at its first); after them 20 of 20 runs passed (200
 * of 200 rounds), and 100 of 100 more at a load of 5. One round in
 * about 350 since, inside a whole make unit-test at a load of 5, lost
 * one piece another way: an append answered NOT_STORED with the key
 * there (152,983 bytes of 153,000), no eviction, 20 pages moved: the
 * append's allocation adopted the retired list of a thread that had
 * exited, which held the item the append was copying, and freed it; a
 * page move then zeroed it, and kv_swap found no key under it (epoch.c,
 * kv_adopt: fixed; test_race rmw_adopt).
 */
START_TEST(shared_append)
{
	int r;

	for (r = 0; r < AP_ROUNDS; r++)
		ck_assert_msg(append_round(r),
			      "round %d: the appended key was not kept whole "
			      "(see the line above)",
			      r);
}
END_TEST

static void put_n(const char *pfx, int n, size_t vlen)
{
	int i;

	for (i = 0; i < n; i++)
		ut_rc(put(pfx, i, vlen, 0), PLMC_STORED);
}

/*
 * The flush shift (issue 14): 16 MiB of 1 KB values, flush_all, the
 * background mover gives the flushed pages to the pool (plmcd's thread
 * does within a second), other sizes take them all (10,000 x 100 B,
 * 2,000 x 5 KB, 100 x 100 KB), then 8,000 x 1 KB again: every one kept,
 * as memcached -m 16 keeps them (its 1 KB class kept its flushed chunks;
 * here the class takes back the pages it lent, move.c "Loans"). Before
 * the loans the 1 KB class kept one page's worth (885 of 10,000 through
 * plmcd): the classes holding its memory were busy storing, so no page
 * came back and it evicted its own new items.
 */
START_TEST(flush_shift)
{
	struct plmc_stats st;
	int i, kept = 0;

	store(16);
	fill_1k();
	ut_rc(plmc_flush_all(0), PLMC_OK);
	ck_assert_int_gt(plmc_slabs_maintain(64), 8);
	put_n("a", 10000, 100);
	put_n("b", 2000, 5000);
	put_n("c", 100, 100000);
	ut_rc(plmc_stats_reset(), PLMC_OK);
	put_n("g", 8000, 1000);
	for (i = 0; i < 8000; i++)
		kept += has("g", i, 1000);
	stats(&st);
	fprintf(stderr,
		"flush_shift: kept %d of 8000, evictions %lu, moved %lu, "
		"move evictions %lu\n",
		kept, (unsigned long)st.evictions,
		(unsigned long)st.slabs_moved,
		(unsigned long)st.slab_reassign_evictions_nomem);
	ck_assert_int_eq(kept, 8000);
	ck_assert_uint_gt(st.slabs_moved, 0);
	check_clean();
}
END_TEST

/*
 * A move takes the page that costs least (move.c, kv_move_pick): a class
 * of two pages, the oldest full of live items, the newest emptied by
 * deletes, gives the newest: no item rescued, none evicted, every live
 * one still there. memcached's mover takes the oldest (the first in its
 * list), which here rescues a page of items into the other's chunks.
 */
START_TEST(cheap_page)
{
	struct plmc_class_stats cs[64];
	struct plmc_stats st;
	size_t n, j;
	int i, id, per = 0;

	store(16);
	ut_rc(put("p", 0, 1000, 0), PLMC_STORED);
	id = class_of(1000);
	ut_rc(plmc_class_stats(cs, 64, &n), PLMC_OK);
	for (j = 0; j < n && j < 64; j++)
		if ((int)cs[j].id == id)
			per = (int)cs[j].chunks_per_page;
	ck_assert_int_gt(per, 100);
	for (i = 1; i < 2 * per; i++) /* keys p:1 .. p:1769: one class */
		ut_rc(put("p", i, 1000, 0), PLMC_STORED);
	ck_assert_uint_eq(pages_of(id), 2);
	for (i = per; i < 2 * per; i++) { /* the newest page's items */
		char k[32];
		int kl = snprintf(k, sizeof(k), "p:%d", i);

		ut_rc(plmc_delete(k, (size_t)kl), PLMC_DELETED);
	}
	ut_rc(plmc_stats_reset(), PLMC_OK);
	ut_rc(plmc_slabs_reassign(id, 0), PLMC_REASSIGN_OK);
	stats(&st);
	ck_assert_uint_eq(st.slabs_moved, 1);
	ck_assert_uint_eq(pages_of(id), 1);
	ck_assert_uint_eq(st.slab_reassign_rescues, 0);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	for (i = 0; i < per; i++)
		ck_assert_msg(has("p", i, 1000), "p:%d lost", i);
	check_clean();
}
END_TEST

/*
 * A class's first page comes from a class with two or more (move.c,
 * kv_move_for): a class holding one page of live items keeps it when a
 * new class needs a page, even though its last store is the oldest.
 * memcached grants a first page past -m and takes nobody's; before, the
 * donor was the class whose last store is oldest, whatever its pages,
 * and its items were evicted (100 of 100 here).
 */
START_TEST(first_page)
{
	struct plmc_stats st;
	int i;

	store(16);
	put_n("a", 100, 100);
	ut_rc(plmc_clock_advance(3), PLMC_OK); /* its last take is older */
	fill_1k();
	ut_rc(put("c", 0, 100000, 0), PLMC_STORED);
	ck_assert(has("c", 0, 100000));
	for (i = 0; i < 100; i++)
		ck_assert_msg(has("a", i, 100), "a:%d lost", i);
	stats(&st);
	ck_assert_uint_gt(st.slabs_moved, 0);
	check_clean();
}
END_TEST

/* Sizes one a class, smallest first, each 10 values in one page. */
static size_t step_size(int j)
{
	size_t v = 40;

	while (j-- > 0)
		v += v / 2;
	return v;
}

static void del_n(const char *pfx, int n)
{
	char k[64];
	int i, kl;

	for (i = 0; i < n; i++) {
		kl = snprintf(k, sizeof(k), "%s:%d", pfx, i);
		ut_rc(plmc_delete(k, (size_t)kl), PLMC_DELETED);
	}
}

/*
 * A first page in a store whose every page a class holds, none two
 * (move.c, kv_move_first): the page of a class whose items were deleted
 * moves, and the class of live items whose last store is the oldest
 * keeps its page. Before, that class gave it: in a 64 MiB store of
 * 1 MB data whose pages a growing appended key had spread over its
 * classes, 1,000 live items were evicted (100 of 100 here) while other
 * pages held nothing live.
 */
START_TEST(first_free)
{
	struct plmc_stats st;
	char pfx[8];
	int i, j;

	store(16);
	put_n("a", 100, step_size(0));
	ut_rc(plmc_clock_advance(3), PLMC_OK); /* its last take is older */
	put_n("b", 10, step_size(1));
	del_n("b", 10);
	for (j = 2; j < 20; j++) {
		snprintf(pfx, sizeof(pfx), "s%d", j);
		put_n(pfx, 10, step_size(j));
		stats(&st);
		if (st.slabs_moved)
			break;
	}
	ck_assert_msg(j < 20, "no class needed a moved page");
	ck_assert(has(pfx, 9, step_size(j)));
	for (i = 0; i < 100; i++)
		ck_assert_msg(has("a", i, step_size(0)), "a:%d lost", i);
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, 0);
	check_clean();
}
END_TEST

/*
 * slabs automove 0 (move.c, kv_move_for): a class with no page still
 * gets one when no class has two, a page of a class with live items if
 * no page is free. memcached grants it past -m; before, every set of
 * the sizes past the store's pages was refused (16 sizes x 10 values in
 * 16 MiB: the last ones refused while 14 pages held 140 items).
 */
START_TEST(am0_first)
{
	struct plmc_stats st;
	char pfx[8];
	int i, j, lost = 0;

	store(16);
	ut_rc(plmc_slabs_automove(0), PLMC_OK);
	for (j = 0; j < 17; j++) {
		snprintf(pfx, sizeof(pfx), "s%d", j);
		put_n(pfx, 10, step_size(j));
		for (i = 0; i < 10; i++)
			ck_assert_msg(has(pfx, i, step_size(j)), "%s:%d", pfx,
				      i);
	}
	for (j = 0; j < 17; j++) {
		snprintf(pfx, sizeof(pfx), "s%d", j);
		for (i = 0; i < 10; i++)
			lost += !has(pfx, i, step_size(j));
	}
	stats(&st);
	fprintf(stderr, "am0_first: moved %lu, lost %d of 170\n",
		(unsigned long)st.slabs_moved, lost);
	ck_assert_uint_gt(st.slabs_moved, 0);
	ck_assert_uint_eq(st.slab_automove, 0);
	/* Each first page past the store's cost one class's 10 items. */
	ck_assert_uint_eq(st.slab_reassign_evictions_nomem, (uint64_t)lost);
	ck_assert_int_le(lost, 10 * (int)st.slabs_moved);
	check_clean();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("move");
	TCase *t = tcase_create("move");

	tcase_add_checked_fixture(t, NULL, teardown);
	tcase_set_timeout(t, 600);
	tcase_add_test(t, size_shift);
	tcase_add_test(t, size_shift_automove_off);
	tcase_add_test(t, size_sweep);
	tcase_add_test(t, reassign);
	tcase_add_test(t, rescue);
	tcase_add_test(t, dead_pages);
	tcase_add_test(t, giveback);
	tcase_add_test(t, maintain);
	tcase_add_test(t, give_point);
	tcase_add_loop_test(t, move_points, 0, 5);
	tcase_add_test(t, shifting_stress);
	tcase_add_test(t, shared_append);
	tcase_add_test(t, idle_rescue);
	tcase_add_test(t, flush_shift);
	tcase_add_test(t, cheap_page);
	tcase_add_test(t, first_page);
	tcase_add_test(t, first_free);
	tcase_add_test(t, am0_first);
	suite_add_tcase(s, t);
	return ut_run(s);
}
