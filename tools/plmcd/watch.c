// SPDX-License-Identifier: MIT
/*
 * plmcd/watch.c - memcached's "watch": a connection that asks for it
 * stops taking commands and receives log lines of what the server does:
 *   fetchers   item_get   (get, gets, gat, gats, mg, the binary gets
 *                          and touch; and the lookup memcached makes
 *                          first for a storage command, touch, delete,
 *                          incr and decr, ms, md, ma, and the binary
 *                          forms: watch_lookup)
 *   mutations  item_store (set, add, replace, append, prepend, cas, ms,
 *                          the binary stores)
 *   connevents conn_new, conn_close
 *   evictions  eviction   (read from the store's eviction log,
 *                          plmc_evictions: after each storage command
 *                          and once a second, so evictions other
 *                          clients of a shared store made show too)
 * in memcached 1.6.18's formats (logger.c). Not here: rawcmds,
 * sysevents and the proxy's streams: asking for one of them is
 * accepted, and nothing of that kind is sent.
 *
 * Delivery: whichever thread logs writes the line straight to each
 * watcher's socket (non-blocking, under watch_lock), after whatever was
 * still queued for it. What a watcher has not taken yet waits in its
 * queue, bounded by -o watcher_logbuf_size (default 256 KiB, memcached's);
 * a line that does not fit is counted as skipped, and the next line that
 * is written is preceded by "skipped=N", as memcached does. A watcher is
 * unlinked (watch_drop, under watch_lock) before its connection's
 * descriptor is closed, so no thread writes to a closed or reused one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "plmc/layout.h" /* PLMC_ITEM_HDR */
#include "plmc.h"
#include "plmcd.h"

#define WATCHERS_MAX 20 /* memcached's WATCHER_LIMIT */

struct watcher {
	struct conn *c;
	unsigned flags;
	struct buf q; /* written by no one but the logging thread, locked */
	uint64_t skipped;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watcher watchers[WATCHERS_MAX];
static unsigned watch_mask; /* union of the watchers' flags: read unlocked */
static uint64_t watch_gid;  /* memcached's gid: log lines so far */
/* The store's eviction log: where this plmcd has read it to, under
 * ev_lock (one reader at a time; the others skip a round). */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ev_cursor;
#define EV_KEEP 10 /* seconds each read keeps the store's log on */
size_t watch_bufsize = 256 * 1024; /* -o watcher_logbuf_size (KiB there) */

/* Context: watch_lock held. */
static void mask_update(void)
{
	unsigned m = 0;

	for (int i = 0; i < WATCHERS_MAX; i++)
		if (watchers[i].c)
			m |= watchers[i].flags;
	__atomic_store_n(&watch_mask, m, __ATOMIC_RELAXED);
}

int watch_wanted(unsigned flag)
{
	return __atomic_load_n(&watch_mask, __ATOMIC_RELAXED) & flag;
}

/* Send what is queued for @w; keep the rest. Context: watch_lock held. */
static void watcher_push(struct watcher *w)
{
	while (w->q.off < w->q.len) {
		ssize_t n =
			send(w->c->fd, w->q.p + w->q.off, w->q.len - w->q.off,
			     MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* full (or gone: its worker sees the close) */
		__atomic_add_fetch(&g_server.bytes_written, (uint64_t)n,
				   __ATOMIC_RELAXED);
		buf_consume(&w->q, (size_t)n);
	}
}

/* Queue @line (@n bytes) for @w, or count it skipped. Context: locked. */
static void watcher_add(struct watcher *w, const char *line, size_t n)
{
	char skip[64];
	int sn = 0;

	watcher_push(w);
	if (w->skipped)
		sn = snprintf(skip, sizeof(skip), "skipped=%llu\n",
			      (unsigned long long)w->skipped);
	if (w->q.len - w->q.off + (size_t)sn + n > watch_bufsize) {
		w->skipped++;
		g_server.log_skipped++;
		return;
	}
	if (sn) {
		buf_add(&w->q, skip, (size_t)sn);
		w->skipped = 0;
	}
	buf_add(&w->q, line, n);
	g_server.log_sent++;
	watcher_push(w);
}

/* One log line of kind @flag: "ts=... gid=... " then @fmt. */
void watch_log(unsigned flag, const char *fmt, ...)
{
	char line[1024];
	struct timeval tv;
	va_list ap;
	int n;

	if (!watch_wanted(flag))
		return;
	gettimeofday(&tv, NULL);
	pthread_mutex_lock(&watch_lock);
	n = snprintf(line, sizeof(line), "ts=%lld.%d gid=%llu ",
		     (long long)tv.tv_sec, (int)tv.tv_usec,
		     (unsigned long long)++watch_gid);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1; /* keys are bounded: never in practice */
	g_server.log_written++;
	for (int i = 0; i < WATCHERS_MAX; i++)
		if (watchers[i].c && (watchers[i].flags & flag))
			watcher_add(&watchers[i], line, (size_t)n);
	pthread_mutex_unlock(&watch_lock);
}

/* memcached's uriencode, into @dst (3 * 250 + 1 bytes). */
void watch_uri(const char *key, size_t n, char *dst)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)key[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			*dst++ = (char)ch;
		} else {
			*dst++ = '%';
			*dst++ = hex[ch >> 4];
			*dst++ = hex[ch & 15];
		}
	}
	*dst = 0;
}

/*
 * The class an item of @klen + @vlen bytes lives in: the smallest class
 * with pages whose chunks hold it (the store puts an item in the
 * smallest class that holds it, and that class has a page since the
 * item is in it). 0 if none: as memcached's clsid of a miss.
 */
unsigned watch_class(size_t klen, size_t vlen)
{
	struct plmc_class_stats cs[64];
	size_t n = 0, need = PLMC_ITEM_HDR + klen + vlen;
	unsigned best = 0, best_size = 0;

	if (plmc_class_stats(cs, 64, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && i < 64; i++)
		if (cs[i].chunk_size >= need &&
		    (!best || cs[i].chunk_size < best_size)) {
			best = cs[i].id;
			best_size = cs[i].chunk_size;
		}
	return best;
}

/* item_get: @found 1, or 0 for a miss (memcached's not_found). */
void watch_item_get(const struct conn *c, const char *key, size_t klen,
		    int found, size_t vlen)
{
	char k[3 * PLMC_KEY_MAX + 1];

	if (!watch_wanted(WATCH_FETCHERS))
		return;
	watch_uri(key, klen, k);
	watch_log(WATCH_FETCHERS,
		  "type=item_get key=%s status=%s clsid=%u cfd=%d size=%zu\n",
		  k, found ? "found" : "not_found",
		  found ? watch_class(klen, vlen) : 0, c->fd, found ? vlen : 0);
}

/*
 * For watchers of fetchers: the lookup memcached makes before it acts on
 * a key (do_item_get: before a store, a touch, a delete, an incr or
 * decr, and md, ma), logged as its item_get. The store decides under its
 * lock with no separate lookup, so this one is made only while someone
 * watches fetchers, just before the command's own call. It is the meta
 * debug op (me): a pure look, which counts no get and marks nothing
 * fetched, as memcached's lookup bumps no get counter. @binkey: the key
 * bytes are binary (PLMC_MF_BINKEY).
 */
void watch_lookup(const struct conn *c, const char *key, size_t klen,
		  int binkey)
{
	struct plmc_meta m = { .cmd = PLMC_META_DEBUG,
			       .mflags = binkey ? PLMC_MF_BINKEY : 0 };
	int rc;

	if (!watch_wanted(WATCH_FETCHERS))
		return;
	rc = plmc_meta(key, klen, &m, NULL, 0, NULL, 0);
	watch_item_get(c, key, klen, rc == PLMC_OK, rc == PLMC_OK ? m.vlen : 0);
}

/*
 * An incr or decr that created its key (ma with N, the binary ones with
 * an initial value): memcached stores the new item with an add, whose
 * lookup and store it logs. @number: the value stored.
 */
void watch_vivified(const struct conn *c, const char *key, size_t klen,
		    int64_t exptime, uint64_t number)
{
	char digits[24];
	int n;

	if (!watch_wanted(WATCH_FETCHERS | WATCH_MUTATIONS))
		return;
	n = snprintf(digits, sizeof(digits), "%llu",
		     (unsigned long long)number);
	watch_item_get(c, key, klen, 0, 0);
	watch_item_store(c, key, klen, PLMC_STORED, "add", exptime,
			 (size_t)n);
}

/*
 * item_store: @rc the store's answer (memcached's status words), @cmd
 * its command word, @exptime the request's, printed as memcached prints
 * the TTL: relative as given, an absolute time less now (unsigned, as
 * memcached does), 0 for never.
 */
static void item_store_line(const struct conn *c, const char *key,
			    size_t klen, int rc, const char *cmd,
			    int64_t exptime, size_t vlen)
{
	const char *status = rc == PLMC_STORED	     ? "stored"
			     : rc == PLMC_NOT_STORED ? "not_stored"
			     : rc == PLMC_EXISTS     ? "exists"
			     : rc == PLMC_NOT_FOUND  ? "not_found"
			     : rc == PLMC_E_TOOBIG   ? "too_large"
						     : "no_memory";
	uint32_t ttl = exptime <= 0 ? 0
		       : exptime <= 30 * 24 * 3600
			       ? (uint32_t)exptime
			       : (uint32_t)exptime - (uint32_t)time(NULL);
	char k[3 * PLMC_KEY_MAX + 1];

	if (!watch_wanted(WATCH_MUTATIONS))
		return;
	watch_uri(key, klen, k);
	watch_log(WATCH_MUTATIONS,
		  "type=item_store key=%s status=%s cmd=%s ttl=%u clsid=%u "
		  "cfd=%d size=%zu\n",
		  k, status, cmd, ttl, watch_class(klen, vlen), c->fd, vlen);
}

void watch_item_store(const struct conn *c, const char *key, size_t klen,
		      int rc, const char *cmd, int64_t exptime, size_t vlen)
{
	watch_evictions(); /* what the store evicted for it comes first */
	item_store_line(c, key, klen, rc, cmd, exptime, vlen);
}

/* One eviction line, in memcached's format (logger.c). */
static void eviction_line(const struct plmc_evict_ent *e)
{
	char k[3 * PLMC_KEY_MAX + 1];

	watch_uri(e->key, e->klen, k);
	watch_log(WATCH_EVICTIONS,
		  "type=eviction key=%s fetch=%s ttl=%lld la=%u clsid=%u "
		  "size=%u\n",
		  k, e->fetched ? "yes" : "no", (long long)e->ttl, e->la,
		  e->clsid, e->size);
}

/* Count @n lines of the store's log lost to every evictions watcher,
 * as a queue that overflowed. */
static void evictions_skipped(uint64_t n)
{
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < WATCHERS_MAX; i++)
		if (watchers[i].c && (watchers[i].flags & WATCH_EVICTIONS)) {
			watchers[i].skipped += n;
			g_server.log_skipped += n;
		}
	pthread_mutex_unlock(&watch_lock);
}

/*
 * Read what the store evicted since the last read and log it, while an
 * evictions watcher is there; each read keeps the store's log on for
 * EV_KEEP seconds more (the worker loops read at least once a second
 * then: watch_tick_ms). One thread at a time: another one skips.
 */
void watch_evictions(void)
{
	struct plmc_evlog log;

	if (!watch_wanted(WATCH_EVICTIONS) || pthread_mutex_trylock(&ev_lock))
		return;
	do {
		if (plmc_evictions(ev_cursor, EV_KEEP, &log) != PLMC_OK)
			break;
		ev_cursor = log.next;
		if (log.skipped)
			evictions_skipped(log.skipped);
		for (uint32_t i = 0; i < log.n && i < PLMC_EVLOG_MAX; i++)
			eviction_line(&log.ent[i]);
	} while (log.n == PLMC_EVLOG_MAX);
	pthread_mutex_unlock(&ev_lock);
}

/* A first evictions watcher: the store's log on, read from now on
 * (before its OK goes out, so no eviction the client causes after it is
 * missed). */
static void evictions_start(void)
{
	struct plmc_evlog log;

	pthread_mutex_lock(&ev_lock);
	if (!watch_wanted(WATCH_EVICTIONS) &&
	    plmc_evictions(0, EV_KEEP, &log) == PLMC_OK)
		ev_cursor = log.next;
	pthread_mutex_unlock(&ev_lock);
}

/* The worker loop's wait: at most a second while evictions are watched
 * (their lines, and the store's log kept on), else -1 (none needed). */
int watch_tick_ms(void)
{
	return watch_wanted(WATCH_EVICTIONS) ? 1000 : -1;
}

/* conn_new / conn_close (@reason: normal, error, idle_timeout, ...). */
void watch_conn(const struct conn *c, const char *reason)
{
	char ip[64] = "";
	unsigned port = 0;
	const char *transport = "tcp";
	int af;

	if (!watch_wanted(WATCH_CONNEVENTS))
		return;
	af = sock_ip_port(c->fd, 1, ip, sizeof(ip), &port);
	if (af != AF_INET && af != AF_INET6) {
		ip[0] = 0;
		port = 0;
		transport = "local";
	}
	if (reason)
		watch_log(WATCH_CONNEVENTS,
			  "type=conn_close rip=%s rport=%u transport=%s "
			  "reason=%s cfd=%d\n",
			  ip, port, transport, reason, c->fd);
	else
		watch_log(WATCH_CONNEVENTS,
			  "type=conn_new rip=%s rport=%u transport=%s cfd=%d\n",
			  ip, port, transport, c->fd);
}

/*
 * watch [fetchers|mutations|evictions|connevents|...]: the connection
 * becomes a watcher (no further commands). Return: 0.
 */
int watch_command(struct conn *c, struct cmd *k)
{
	static const char *const names[] = {
		"rawcmds",   "evictions",   "fetchers",
		"mutations", "sysevents",   "connevents",
		"proxyreqs", "proxyevents", "proxyuser",
	};
	static const unsigned bits[] = {
		WATCH_OTHER,	 WATCH_EVICTIONS, WATCH_FETCHERS,
		WATCH_MUTATIONS, WATCH_OTHER, WATCH_CONNEVENTS,
		WATCH_OTHER,	 WATCH_OTHER, WATCH_OTHER,
	};
	unsigned f = k->n > 1 ? 0 : WATCH_FETCHERS;
	int slot = -1;

	if (g_opt.no_watch) {
		buf_add(&c->out, "CLIENT_ERROR watch commands not allowed\r\n",
			41);
		return 0;
	}
	if (c->out.len > c->out.off) {
		buf_add(&c->out,
			"ERROR cannot pipeline other commands before watch\r\n",
			51);
		return 0;
	}
	/* Lines go straight to the socket from the logging thread; a TLS
	 * connection's bytes must pass its SSL object, which only its
	 * worker may use: not yet (memcached's own answer to a watcher it
	 * cannot add). */
	if (c->tls) {
		buf_add(&c->out, "WATCHER_FAILED failed to add log watcher\r\n",
			42);
		return 0;
	}
	for (int i = 1; i < k->n; i++) {
		size_t j;

		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (!strcmp(k->tok[i], names[j]))
				break;
		if (j == sizeof(names) / sizeof(names[0])) {
			buf_add(&c->out, "ERROR\r\n", 7);
			return 0;
		}
		f |= bits[j];
	}
	if (f & WATCH_EVICTIONS)
		evictions_start();
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < WATCHERS_MAX && slot < 0; i++)
		if (!watchers[i].c)
			slot = i;
	if (slot >= 0) {
		/* OK goes through the queue, so no log line can pass it; and
		 * the mask first: a client that read OK and sends a command
		 * must find it watched (lines wait for watch_lock meanwhile) */
		watchers[slot] = (struct watcher){.c = c, .flags = f};
		c->watching = 1;
		g_server.log_watchers++;
		mask_update();
		buf_add(&watchers[slot].q, "OK\r\n", 4);
		watcher_push(&watchers[slot]);
	}
	pthread_mutex_unlock(&watch_lock);
	if (slot < 0)
		buf_add(&c->out,
			"WATCHER_TOO_MANY log watcher limit reached\r\n", 45);
	return 0;
}

/* Unlink @c's watcher, if it is one, before its descriptor is closed. */
void watch_drop(struct conn *c)
{
	if (!c->watching)
		return;
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < WATCHERS_MAX; i++)
		if (watchers[i].c == c) {
			buf_free(&watchers[i].q);
			watchers[i] = (struct watcher){0};
			g_server.log_watchers--;
		}
	mask_update();
	pthread_mutex_unlock(&watch_lock);
}
