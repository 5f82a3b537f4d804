// SPDX-License-Identifier: MIT
/*
 * plmcd/dump.c - memcached's item dumps and crawler commands, over the
 * store's walk (plmc_walk(): bucket by bucket, lock-free, writers never
 * wait for it):
 *   lru_crawler metadump all|hash|<class,...>   (memcdump reads it)
 *   lru_crawler crawl all|<class,...>           expired items reclaimed now
 *   lru_crawler enable|disable|tocrawl N|sleep N
 *   stats cachedump <class> <limit>
 * Replies and error strings are memcached 1.6.18's (proto_text.c,
 * crawler.c, items.c). Where memcached differs by design:
 *  - a dump comes in hash order, not in LRU order (the store has no
 *    LRU list: its eviction is a CLOCK over each class's pages);
 *  - the connection takes no command until its dump has ended (memcached
 *    hands it to its crawler thread and stops reading it meanwhile);
 *    what arrives meanwhile waits, and past PLMCD_LINE_MAX of it the
 *    connection is dropped.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plmc.h"
#include "plmcd.h"

#define DUMP_CLASSES  64	 /* memcached's MAX_NUMBER_OF_SLAB_CLASSES */
#define CACHEDUMP_MAX (2u << 20) /* memcached's cachedump reply limit */

int crawler_on = 1; /* memcached's settings.lru_crawler */

/*
 * "all", "hash" or a comma list of class ids (1..63) into @want
 * (want[0] set: every class). Return: 0, or -1 for a bad class id
 * (memcached's BADCLASS).
 */
static int class_list(const char *s, unsigned char want[DUMP_CLASSES])
{
	char tmp[256], *save = NULL;
	uint32_t id;

	memset(want, 0, DUMP_CLASSES);
	if (!strcmp(s, "all") || !strcmp(s, "hash")) {
		want[0] = 1;
		return 0;
	}
	if (strlen(s) >= sizeof(tmp))
		return -1;
	strcpy(tmp, s);
	for (char *p = strtok_r(tmp, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		if (admin_u32(p, &id) || id < 1 || id >= DUMP_CLASSES)
			return -1;
		want[id] = 1;
	}
	return 0;
}

typedef void (*walk_fn)(struct conn *c, const struct plmc_walk_item *e,
			void *arg);

/*
 * Walk the store (class @cls, 0 = all; @reclaim: unlink dead items met),
 * calling @fn (if any) for each live item; @fn may end the walk early
 * by setting *@stop. Return: items reclaimed, or a PLMC_E_* error.
 */
static long walk(struct conn *c, int cls, int reclaim, walk_fn fn, void *arg,
		 int *stop)
{
	struct plmc_walk *w = malloc(sizeof(*w));
	uint64_t cur = 0, after = 0;
	long reaped = 0;
	int rc;

	if (!w)
		return PLMC_E_NOMEM;
	do {
		rc = plmc_walk(cur, after, cls, reclaim, w);
		if (rc < 0)
			break;
		reaped += w->reclaimed;
		if (reclaim)
			__atomic_add_fetch(&g_server.crawler_checked,
					   (uint64_t)w->n + w->reclaimed,
					   __ATOMIC_RELAXED);
		for (uint32_t i = 0; fn && i < w->n && !(stop && *stop); i++)
			fn(c, &w->ent[i], arg);
		cur = w->next;
		after = w->next_after;
	} while (!w->done && !(stop && *stop));
	free(w);
	return rc < 0 ? rc : reaped;
}

/* One metadump line, as memcached's crawler_metadump_eval prints it
 * (a bare \n: memcached's lines end so). */
static void metadump_line(struct conn *c, const struct plmc_walk_item *e,
			  void *arg)
{
	const unsigned char *want = arg;
	char key[3 * PLMC_KEY_MAX + 1];

	if (!want[0] && (e->cls >= DUMP_CLASSES || !want[e->cls]))
		return;
	watch_uri(e->key, e->klen, key);
	buf_printf(&c->out,
		   "key=%s exp=%lld la=%u cas=%llu fetch=%s cls=%u size=%u\n",
		   key, e->exptime ? (long long)e->exptime : -1LL, e->atime,
		   (unsigned long long)e->cas, e->fetched ? "yes" : "no",
		   e->cls, e->size);
}

/*
 * A metadump in progress (c->dump): where the walk goes on. The dump is
 * produced a chunk at a time, the next one when the last has gone out
 * (main.c's conn_finish calls dump_more once the output has drained), so
 * a store of any size dumps in bounded memory and a client that stops
 * reading holds the walk, not the worker.
 */
struct dump_state {
	uint64_t cursor, after;
	unsigned char want[DUMP_CLASSES];
	struct plmc_walk w;
};

#define DUMP_CHUNK (256u << 10) /* bytes queued per step */

/* Ends the dump: its END line (or the error's) and the state. */
static void dump_end(struct conn *c, int rc)
{
	if (rc < 0)
		buf_add(&c->out, "ERROR an unknown error happened\r\n", 33);
	else
		buf_add(&c->out, "END\r\n", 5);
	free(c->dump);
	c->dump = NULL;
}

void dump_more(struct conn *c)
{
	struct dump_state *d = c->dump;
	size_t start = c->out.len;
	int rc = 0;

	if (!d)
		return;
	while (c->out.len - start < DUMP_CHUNK) {
		rc = plmc_walk(d->cursor, d->after, 0, 0, &d->w);
		if (rc < 0)
			break;
		for (uint32_t i = 0; i < d->w.n; i++)
			metadump_line(c, &d->w.ent[i], d->want);
		d->cursor = d->w.next;
		d->after = d->w.next_after;
		if (d->w.done)
			break;
	}
	if (rc < 0 || d->w.done)
		dump_end(c, rc);
}

void dump_drop(struct conn *c)
{
	free(c->dump);
	c->dump = NULL;
}

/* lru_crawler metadump <all|hash|classes> */
static void metadump(struct conn *c, struct cmd *k)
{
	struct dump_state *d;

	if (!crawler_on) {
		admin_out(c, k, "CLIENT_ERROR lru crawler disabled\r\n");
		return;
	}
	if (g_opt.no_dump) {
		admin_out(c, k, "ERROR metadump not allowed\r\n");
		return;
	}
	/* memcached: a metadump must not follow replies still queued */
	if (c->out.len > c->out.off) {
		admin_out(c, k,
		    "ERROR cannot pipeline other commands before metadump\r\n");
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		buf_add(&c->out, "ERROR an unknown error happened\r\n", 33);
		return;
	}
	if (class_list(k->tok[2], d->want)) {
		free(d);
		admin_out(c, k, "BADCLASS invalid class id\r\n");
		return;
	}
	c->dump = d;
	dump_more(c);
}

/*
 * The crawler: one crawl at a time, in a thread of its own, as
 * memcached's crawler thread: the command answers OK at once and
 * lru_crawler_running is 1 until the crawl has ended. The thread takes
 * a slot of the store like any client thread (libpl gives it back at
 * the thread's exit).
 */
static int crawl_running; /* atomic: a crawl is on, until its thread is
			   * joined */
static int crawl_done;	  /* atomic: the crawl thread's walks have ended */
static pthread_t crawl_tid;
static pthread_mutex_t crawl_lock = PTHREAD_MUTEX_INITIALIZER;

struct crawl_job {
	int all;
	size_t n;
	int ids[DUMP_CLASSES]; /* the classes to crawl (those with pages) */
};

/*
 * What a crawl unlinked stays in its slot until no call that began
 * before can read it; a thread of ours off its CPU inside a call (the
 * maintainer, a worker) holds it. Each walk call frees what it can and
 * says what it still holds (plmc_walk.held): call again, a block of the
 * table's first buckets and no reclaim, until nothing is held, for 1 s
 * at most (a thread inside a call for longer than that is the module's
 * to judge). So lru_crawler_running 0 means the chunks are free.
 */
static void crawl_settle(void)
{
	struct plmc_walk *w = malloc(sizeof(*w));

	for (int i = 0; w && i < 200; i++) {
		if (plmc_walk(0, 0, 0, 0, w) < 0 || !w->held)
			break;
		usleep(5 * 1000);
	}
	free(w);
}

static void *crawl_thread(void *arg)
{
	struct crawl_job *j = arg;
	long rc = 0;

	if (j->all)
		rc = walk(NULL, 0, 1, NULL, NULL, NULL);
	for (size_t i = 0; !j->all && i < j->n && rc >= 0; i++)
		rc = walk(NULL, j->ids[i], 1, NULL, NULL, NULL);
	free(j);
	crawl_settle();
	/* Release: pairs with crawler_running()'s acquire load. */
	__atomic_store_n(&crawl_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * 1 while a crawl is on. What the crawl unlinked is retired in its
 * thread's slot and freed when libpl gives that slot back, at the
 * thread's exit: the thread is joined before 0 is said, so a reader
 * that sees 0 sees the chunks freed (memcached's used_chunks after a
 * crawl, t/lru-crawler.t).
 */
int crawler_running(void)
{
	/* Acquire: pairs with the release stores below and in the thread. */
	if (!__atomic_load_n(&crawl_running, __ATOMIC_ACQUIRE))
		return 0;
	if (!__atomic_load_n(&crawl_done, __ATOMIC_ACQUIRE))
		return 1;
	pthread_mutex_lock(&crawl_lock);
	if (__atomic_load_n(&crawl_running, __ATOMIC_ACQUIRE)) {
		pthread_join(crawl_tid, NULL);
		__atomic_store_n(&crawl_done, 0, __ATOMIC_RELAXED);
		/* Release: the joined thread's work before the 0. */
		__atomic_store_n(&crawl_running, 0, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&crawl_lock);
	return 0;
}

/* Waits up to @ms for a crawl to end (plmcd's exit: no call may be in
 * flight when the store is detached). */
void crawler_wait(int ms)
{
	for (; ms > 0 && crawler_running(); ms -= 10)
		usleep(10 * 1000);
}

/* The job for @want: the classes with pages that it names. NULL if
 * none (memcached's NOTSTARTED) or out of memory. */
static struct crawl_job *crawl_job(const unsigned char *want)
{
	struct plmc_class_stats cs[DUMP_CLASSES];
	struct crawl_job *j;
	size_t n = 0;

	if (plmc_class_stats(cs, DUMP_CLASSES, &n) < 0 || !n)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->all = want[0];
	for (size_t i = 0; i < n && i < DUMP_CLASSES; i++)
		if (cs[i].id < DUMP_CLASSES && want[cs[i].id])
			j->ids[j->n++] = (int)cs[i].id;
	if (!j->all && !j->n) {
		free(j);
		return NULL;
	}
	return j;
}

/* lru_crawler crawl <all|classes>: expired and flushed items of those
 * classes are unlinked (counted as crawler_reclaimed), by the crawler
 * thread. */
static void crawl(struct conn *c, struct cmd *k)
{
	unsigned char want[DUMP_CLASSES];
	struct crawl_job *j;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	if (!crawler_on) {
		admin_out(c, k, "CLIENT_ERROR lru crawler disabled\r\n");
		return;
	}
	if (class_list(k->tok[2], want)) {
		admin_out(c, k, "BADCLASS invalid class id\r\n");
		return;
	}
	/* A crawl that has ended but is not joined yet is joined here. */
	if (crawler_running() ||
	    __atomic_exchange_n(&crawl_running, 1, __ATOMIC_ACQUIRE)) {
		admin_out(c, k, "BUSY currently processing crawler request\r\n");
		return;
	}
	j = crawl_job(want);
	if (!j) {
		__atomic_store_n(&crawl_running, 0, __ATOMIC_RELEASE);
		admin_out(c, k, "NOTSTARTED no items to crawl\r\n");
		return;
	}
	pthread_attr_init(&at);
	/* Under crawl_lock: no reader joins before crawl_tid is set. */
	pthread_mutex_lock(&crawl_lock);
	rc = pthread_create(&t, &at, crawl_thread, j);
	if (!rc)
		crawl_tid = t;
	pthread_mutex_unlock(&crawl_lock);
	pthread_attr_destroy(&at);
	if (rc) {
		free(j);
		__atomic_store_n(&crawl_running, 0, __ATOMIC_RELEASE);
		admin_out(c, k, "ERROR an unknown error happened\r\n");
		return;
	}
	__atomic_add_fetch(&g_server.crawler_starts, 1, __ATOMIC_RELAXED);
	admin_out(c, k, "OK\r\n");
}

/* lru_crawler <subcommand> ...: memcached's word counts. */
void crawler_command(struct conn *c, struct cmd *k)
{
	int words = k->n + k->noreply;
	uint32_t v;

	if (words == 3 && k->n == 3 && !strcmp(k->tok[1], "crawl"))
		crawl(c, k);
	else if (words == 3 && k->n == 3 && !strcmp(k->tok[1], "metadump"))
		metadump(c, k);
	else if (words == 3 && k->n == 3 &&
		 (!strcmp(k->tok[1], "tocrawl") ||
		  !strcmp(k->tok[1], "sleep"))) {
		/* pacing of memcached's crawler thread: none here */
		if (admin_u32(k->tok[2], &v))
			admin_out(c, k, "CLIENT_ERROR bad command line format\r\n");
		else if (k->tok[1][0] == 's' && v > 1000000)
			admin_out(c, k,
			    "CLIENT_ERROR sleep must be one second or "
			    "less\r\n");
		else
			admin_out(c, k, "OK\r\n");
	} else if (words == 2 && k->n == 2 && !strcmp(k->tok[1], "enable")) {
		crawler_on = 1;
		admin_out(c, k, "OK\r\n");
	} else if (words == 2 && k->n == 2 && !strcmp(k->tok[1], "disable")) {
		crawler_on = 0;
		admin_out(c, k, "OK\r\n");
	} else {
		admin_out(c, k, "ERROR\r\n");
	}
}

struct cachedump {
	uint32_t cls, limit, shown;
	size_t start;
	int stop;
};

static void cachedump_line(struct conn *c, const struct plmc_walk_item *e,
			   void *arg)
{
	struct cachedump *d = arg;
	size_t before = c->out.len;

	if (e->cls != d->cls || e->binkey)
		return; /* memcached leaves binary keys out */
	buf_printf(&c->out, "ITEM %.*s [%u b; %llu s]\r\n", (int)e->klen,
		   e->key, e->vlen, (unsigned long long)e->exptime);
	if (c->out.len - d->start + 5 > CACHEDUMP_MAX) {
		c->out.len = before; /* memcached stops before the limit */
		d->stop = 1;
		return;
	}
	if (d->limit && ++d->shown >= d->limit)
		d->stop = 1;
}

/* stats cachedump <class> <limit>: up to @limit (0: all) keys of the
 * class, within memcached's 2 MB reply. */
void dump_cachedump(struct conn *c, struct cmd *k)
{
	struct cachedump d = {.start = c->out.len};
	struct plmc_class_stats cs[DUMP_CLASSES];
	size_t n = 0;
	int have = 0;

	if (g_opt.no_dump) {
		buf_add(&c->out, "CLIENT_ERROR stats cachedump not allowed\r\n",
			42);
		return;
	}
	if (k->n + k->noreply < 4) {
		buf_add(&c->out, "CLIENT_ERROR bad command line\r\n", 31);
		return;
	}
	if (admin_u32(k->tok[2], &d.cls) || admin_u32(k->tok[3], &d.limit)) {
		buf_add(&c->out, "CLIENT_ERROR bad command line format\r\n",
			38);
		return;
	}
	if (d.cls >= DUMP_CLASSES) {
		buf_add(&c->out, "CLIENT_ERROR Illegal slab id\r\n", 30);
		return;
	}
	if (plmc_class_stats(cs, DUMP_CLASSES, &n) == 0)
		for (size_t i = 0; i < n && i < DUMP_CLASSES; i++)
			have |= cs[i].id == d.cls;
	if (have)
		walk(c, (int)d.cls, 0, cachedump_line, &d, &d.stop);
	buf_add(&c->out, "END\r\n", 5);
}
