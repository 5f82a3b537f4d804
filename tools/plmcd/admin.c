// SPDX-License-Identifier: MIT
/*
 * plmcd/admin.c - memcached's operator commands: verbosity, shutdown,
 * cache_memlimit, slabs reassign|automove, debugtime (-o debug_time).
 * Word counts, replies and error strings follow memcached 1.6.18's
 * proto_text.c; noreply silences what it silences there. And the page
 * mover's thread (memcached's LRU maintainer and automove threads).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plmc.h"
#include "plmcd.h"

/* A reply line, unless the command said noreply. */
void admin_out(struct conn *c, const struct cmd *k, const char *s)
{
	if (!k->noreply)
		buf_add(&c->out, s, strlen(s));
}

/* A decimal word that fits 32 bits. Return: 0, or -1. */
int admin_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -1;
	x = strtoull(s, &end, 10);
	if (*end || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int i32_word(const char *s, int32_t *v)
{
	char *end;
	long x = strtol(s, &end, 10);

	if (!*s || *end || x < INT32_MIN || x > INT32_MAX)
		return -1;
	*v = (int32_t)x;
	return 0;
}

/* verbosity <level> [noreply]: memcached caps the level at 2. */
static void cmd_verbosity(struct conn *c, struct cmd *k, int words)
{
	uint32_t level;

	if (words != 2 && words != 3) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return;
	}
	if (k->n < 2 || admin_u32(k->tok[1], &level)) {
		admin_out(c, k, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	g_opt.verbose = level > 2 ? 2 : (int)level;
	admin_out(c, k, "OK\r\n");
}

/* shutdown [graceful] (-A): the workers stop and plmcd exits (its own
 * store is destroyed; a named one stays). */
static int cmd_shutdown(struct conn *c, struct cmd *k)
{
	if (!g_opt.enable_shutdown) {
		buf_add(&c->out, "ERROR: shutdown not enabled\r\n", 29);
		return 0;
	}
	if (k->n == 1 || (k->n == 2 && !strcmp(k->tok[1], "graceful"))) {
		raise(SIGINT);
		return -1; /* close this connection, as memcached does */
	}
	buf_add(&c->out, "CLIENT_ERROR invalid shutdown mode\r\n", 36);
	return 0;
}

/* cache_memlimit <MB>: the store's size is fixed when it is created, so
 * only the size it has is "adjusted" to: its item memory (limit_maxbytes,
 * -m) or the size it was made with (plctl create --size). */
static void cmd_memlimit(struct conn *c, struct cmd *k, int words)
{
	struct plmc_stats st = { .size = sizeof(st) };
	uint32_t mb;

	if (words != 2 && words != 3) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return;
	}
	if (k->n < 2 || admin_u32(k->tok[1], &mb)) {
		admin_out(c, k, "ERROR\r\n");
		return;
	}
	if (mb < 8) {
		admin_out(c, k, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
		return;
	}
	if (mb > 1000000000) {
		admin_out(c, k, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
		return;
	}
	if (plmc_stats(&st) == 0 &&
	    (st.limit_maxbytes == (uint64_t)mb << 20 ||
	     plmc_store_size() == (uint64_t)mb << 20))
		admin_out(c, k, "OK\r\n");
	else
		admin_out(c, k, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
}

/*
 * memcached's replies to plmc_slabs_reassign()'s results, PLMC_REASSIGN_OK
 * (0) .. PLMC_REASSIGN_SAME (5) in the store's plmc.h (the names land with
 * the store's slab moves; until then libpl/slabs_stub.c answers
 * -EOPNOTSUPP).
 */
static const char *const reassign_reply[] = {
	"OK\r\n",
	"BUSY currently processing reassign request\r\n",
	"BADCLASS invalid src or dst class id\r\n",
	"NOSPARE source class has no spare pages\r\n",
	"UNSAFE src class is in an unsafe state\r\n",
	"SAME src and dst class are identical\r\n",
};

static void slabs_reassign(struct conn *c, struct cmd *k)
{
	int32_t src, dst;
	int rc;

	if (!g_opt.slab_reassign) {
		admin_out(c, k, "CLIENT_ERROR slab reassignment disabled\r\n");
		return;
	}
	if (i32_word(k->tok[2], &src) || i32_word(k->tok[3], &dst)) {
		admin_out(c, k, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	rc = plmc_slabs_reassign(src, dst);
	if (rc >= 0 && rc < (int)(sizeof(reassign_reply) /
				   sizeof(reassign_reply[0])))
		admin_out(c, k, reassign_reply[rc]);
	else if (rc == PLMC_E_PERM) /* a tenant's connection */
		admin_out(c, k, "CLIENT_ERROR slabs reassign not allowed\r\n");
	else if (rc == -EOPNOTSUPP)
		admin_out(c, k, "SERVER_ERROR the store cannot move slab pages\r\n");
	else
		admin_out(c, k, "SERVER_ERROR slab reassign failed\r\n");
}

/* slabs reassign <src> <dst> | slabs automove <0|1|2> */
static void cmd_slabs(struct conn *c, struct cmd *k, int words)
{
	uint32_t mode;
	int rc;

	if (words >= 4 && k->n == 4 && !strcmp(k->tok[1], "reassign")) {
		slabs_reassign(c, k);
		return;
	}
	if (k->n == 3 && !strcmp(k->tok[1], "automove")) {
		if (admin_u32(k->tok[2], &mode)) {
			admin_out(c, k, "CLIENT_ERROR bad command line format\r\n");
			return;
		}
		if (mode > 2) { /* a number, not a mode: memcached's ERROR */
			admin_out(c, k, "ERROR\r\n");
			return;
		}
		rc = plmc_slabs_automove((int)mode);
		if (rc == PLMC_OK) {
			g_opt.slab_automove = (int)mode;
			admin_out(c, k, "OK\r\n");
		} else if (rc == PLMC_E_PERM) { /* a tenant's connection */
			admin_out(c, k, "CLIENT_ERROR slabs automove not allowed\r\n");
		} else {
			admin_out(c, k, "SERVER_ERROR the store cannot move slab pages\r\n");
		}
		return;
	}
	buf_add(&c->out, "ERROR\r\n", 7);
}

/* debugtime <seconds>: memcached-debug's clock shift, for memcached's
 * own expiry tests; plmcd offers it only with -o debug_time and only on
 * a store of its own (it moves the store's clock for every client). */
static void cmd_debugtime(struct conn *c, struct cmd *k)
{
	char *end;
	long long d;

	if (!g_opt.debug_time || k->n < 2) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return;
	}
	d = strtoll(k->tok[1], &end, 10);
	if (*end || end == k->tok[1] || plmc_clock_advance(d) < 0) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return;
	}
	admin_out(c, k, "OK\r\n");
}

/* refresh_certs: -Z's certificate, key and CA read again; new
 * connections get them, open ones keep theirs (tls.c). */
static void cmd_refresh_certs(struct conn *c, struct cmd *k)
{
	struct buf err = { 0 };

	if (tls_refresh(&err) == 0) {
		admin_out(c, k, "OK\r\n");
	} else {
		/* memcached's message, whatever noreply says */
		buf_add(&c->out, err.p ? err.p : "", err.len);
		buf_add(&c->out, "\r\n", 2);
	}
	buf_free(&err);
}

int admin_run(struct conn *c, struct cmd *k)
{
	const char *v = k->tok[0];
	int words = k->n + k->noreply;

	if (!strcmp(v, "verbosity"))
		cmd_verbosity(c, k, words);
	else if (!strcmp(v, "shutdown"))
		return cmd_shutdown(c, k);
	else if (!strcmp(v, "cache_memlimit"))
		cmd_memlimit(c, k, words);
	else if (!strcmp(v, "slabs"))
		cmd_slabs(c, k, words);
	else if (!strcmp(v, "debugtime"))
		cmd_debugtime(c, k);
	else if (!strcmp(v, "lru_crawler"))
		crawler_command(c, k);
	else if (!strcmp(v, "watch"))
		watch_command(c, k);
	else if (!strcmp(v, "refresh_certs"))
		cmd_refresh_certs(c, k);
	else
		return 1;
	return 0;
}

/*
 * The page mover's thread, with -o slab_reassign (memcached's default):
 * once a second, plmc_slabs_maintain() finishes page moves and gives
 * spare pages to the global pool (the store's own writers only do that
 * when they run out), as memcached's background threads do. An ordinary
 * client thread of the store: it takes a slot while it calls.
 *
 * An idle plmcd does not wake: the thread sleeps without a timeout once
 * a step moved nothing (no page, no item between the LRU's segments)
 * and no request came since the last one; a worker that serves a
 * request pokes it (mover_poke: one relaxed load while the poke is
 * pending, the lock only for the first poke of a second). So while the
 * LRU step still moves HOT's overflow the steps go on, and reach what
 * expired meanwhile (t/lru-maintainer.t: a page of items stored with a
 * TTL of 1 goes back, its items reclaimed, the second after).
 */
static pthread_t mover_tid;
static int mover_on;
static pthread_mutex_t mover_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mover_cond = PTHREAD_COND_INITIALIZER;
static int mover_stop;
static int mover_poked; /* set under mover_lock, read relaxed */

void mover_poke(void)
{
	if (!mover_on || __atomic_load_n(&mover_poked, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&mover_lock);
	__atomic_store_n(&mover_poked, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&mover_cond);
	pthread_mutex_unlock(&mover_lock);
}

/* Each step's pages at most; without the LRU maintainer's part with
 * -o no_lru_maintainer (the store's segmented LRU: docs/store.md). */
static unsigned mover_max(void)
{
	return 64 | (g_opt.lru_maintainer ? 0 : PLMC_MAINTAIN_NO_LRU);
}

/* Items the store's LRU moved between segments so far (a step that
 * moved some is not idle). */
static uint64_t lru_moves(void)
{
	struct plmc_stats st = {.size = sizeof(st)};

	if (plmc_stats(&st) != PLMC_OK)
		return 0;
	return st.moves_to_cold + st.moves_to_warm + st.moves_within_lru;
}

static void *mover_main(void *arg)
{
	int busy = 0;

	(void)arg;
	pthread_mutex_lock(&mover_lock);
	while (!mover_stop) {
		struct timespec ts;
		uint64_t moves;

		if (!busy && !mover_poked) { /* idle: until a request */
			pthread_cond_wait(&mover_cond, &mover_lock);
			continue;
		}
		/* A step a second at most: pokes meanwhile do not hurry it. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec++;
		while (!mover_stop &&
		       pthread_cond_timedwait(&mover_cond, &mover_lock, &ts) !=
			       ETIMEDOUT)
			;
		if (mover_stop)
			break;
		__atomic_store_n(&mover_poked, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&mover_lock);
		moves = lru_moves();
		busy = plmc_slabs_maintain(mover_max()) > 0 ||
		       lru_moves() != moves;
		pthread_mutex_lock(&mover_lock);
	}
	pthread_mutex_unlock(&mover_lock);
	return NULL;
}

/* Return: 0 (a mover that cannot start is said and left out). */
int mover_start(void)
{
	if (!g_opt.slab_reassign)
		return 0;
	if (pthread_create(&mover_tid, NULL, mover_main, NULL)) {
		fprintf(stderr, "plmcd: no page mover thread: %s\n",
			strerror(errno));
		return 0;
	}
	mover_on = 1;
	return 0;
}

/* Before the store is detached: its call must end first. */
void mover_stop_join(void)
{
	if (!mover_on)
		return;
	pthread_mutex_lock(&mover_lock);
	mover_stop = 1;
	pthread_cond_signal(&mover_cond);
	pthread_mutex_unlock(&mover_lock);
	pthread_join(mover_tid, NULL);
	mover_on = 0;
}
