// SPDX-License-Identifier: MIT
/*
 * plmcd/main.c - listeners, the worker loops, the store's lifetime.
 *
 * The command line is memcached's (opts.c). Without -n plmcd serves a
 * store of its own, empty at start and destroyed at exit, as each
 * memcached has its own cache; -n NAME serves (and creates, with -m MiB,
 * if missing) a named store shared with local clients.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "plmc.h"
#include "plmcd.h"

struct server_stats g_server;

/*
 * One per thread. A connection lives on the worker that owns it; the
 * acceptor only links it in under @lock, the owner unlinks and sweeps
 * under @lock too (the list is what -o idle_timeout walks).
 */
#define PLMCD_YIELD_MAX 1024

struct worker {
	int ep;
	pthread_mutex_t lock;
	struct conn *head;
	/* connections that stopped after -R requests with input left, to
	 * run again after this round of events (only this worker's) */
	struct conn *yield[PLMCD_YIELD_MAX];
	int nyield;
	/* its connections' buffer bytes (capacity, in and out): written by
	 * this worker alone (struct buf.acct) */
	size_t bufmem;
};

/* -o read_buf_mem_limit: a worker's share, bytes (0: no limit) */
static size_t bufmem_limit;
/* A drained buffer above this goes back: PLMCD_BUF_KEEP, or every one
 * under -o read_buf_mem_limit (memcached gives an idle connection's read
 * buffer back too), so only connections with work queued hold their
 * worker's share */
static size_t buf_keep = PLMCD_BUF_KEEP;

/*
 * Whether @wk's connections hold more buffer bytes than their share of
 * -o read_buf_mem_limit. The connection whose buffer just grew past it
 * is closed (counted in read_buf_oom or response_obj_oom), as memcached
 * closes one that finds no read buffer, or that overflows its replies;
 * its buffers go back with it.
 */
static int bufmem_over(const struct worker *wk)
{
	return bufmem_limit && wk->bufmem > bufmem_limit;
}

#define PLMCD_MAX_ADDRS 8 /* -l entries */
#define PLMCD_MAX_LISTEN 17 /* their sockets (a name may give two), -s */
static int listen_fds[PLMCD_MAX_LISTEN], nlisten;
/* Set once this run has bound the unix socket / written the pid file:
 * only what this run made is removed at its exit (daemon.c reads both). */
int unix_made, pidfile_made;
/* -Z: which listeners speak TLS (every TCP one, but "notls:" ones) */
static int listen_tls[PLMCD_MAX_LISTEN];
static volatile sig_atomic_t reload_auth; /* SIGHUP: -Y read again */
static struct worker workers[PLMCD_MAX_THREADS];
static unsigned next_worker;
static volatile sig_atomic_t stopping;
/* An eventfd in every worker's epoll, edge-triggered and never read: a
 * signal (stop, SIGHUP) writes it, so every worker wakes once to look at
 * the flags. Workers block with no timeout otherwise (unless -o
 * idle_timeout needs sweeps): an idle plmcd does not wake. */
static int wake_fd = -1;
static char own_store[64]; /* PLMC_NAME_LEN: [A-Za-z0-9._-]{1,63} */ /* set when the store is ours */

static void on_signal(int sig)
{
	static const uint64_t one = 1;
	int e = errno;
	ssize_t r = 0;

	if (sig == SIGHUP)
		reload_auth = 1;
	else
		stopping = sig == SIGUSR1 ? 2 : 1;
	/* write(): async-signal-safe; it cannot fail here (a counter
	 * near 2^64 would only drop this wake). */
	if (wake_fd >= 0)
		r = write(wake_fd, &one, sizeof(one));
	(void)r;
	errno = e;
}

static uint64_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * One -l entry as memcached splits it: "[V6ADDR]:PORT", "[V6ADDR]",
 * "HOST:PORT", or "HOST" (an IPv6 address written bare has more than
 * one ':' and no port). @host is NULL for an empty host (every
 * interface, as getaddrinfo's AI_PASSIVE); @port is the spec's or -p's.
 */
static int split_spec(char *spec, char **host, char *port, size_t n)
{
	char *colon;
	long v;

	*host = spec;
	snprintf(port, n, "%d", g_opt.port < 0 ? 0 : g_opt.port);
	if (*spec == '[') {
		char *e = strchr(spec, ']');

		if (!e || (e[1] && e[1] != ':')) {
			fprintf(stderr, "plmcd: -l %s: Invalid IPV6 address\n",
				spec);
			return -1;
		}
		*e = 0;
		*host = spec + 1;
		colon = e[1] ? e + 1 : NULL;
	} else {
		colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
	}
	if (colon) {
		char *end;

		*colon = 0;
		v = strtol(colon + 1, &end, 10);
		if (*end || end == colon + 1 || v < 1 || v > 65535) {
			fprintf(stderr, "plmcd: -l %s: Invalid port number: "
				"\"%s\"\n", spec, colon + 1);
			return -1;
		}
		snprintf(port, n, "%ld", v);
	}
	if (!**host)
		*host = NULL;
	return 0;
}

/* A listening socket on @ai, or -1 (errno set). IPv6 ones take IPv6
 * only, as memcached's: "localhost" gives 127.0.0.1 and ::1 each its
 * own socket. */
static int listen_ai(const struct addrinfo *ai)
{
	int one = 1, fd, err;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) ||
	    listen(fd, g_opt.backlog) || set_nonblock(fd)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * -l ADDR[:PORT] (the port else -p's, which is -1 for a port the kernel
 * picks): every address getaddrinfo gives for it, as memcached binds
 * them (IPv4, IPv6, a host name); at least one must bind.
 */
static int listen_tcp(char *spec, int tls)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE,
				  .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char port[16], *host;
	int rc, bound = 0, err = 0;

	if (split_spec(spec, &host, port, sizeof(port)) < 0)
		return -1;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "plmcd: -l %s: getaddrinfo(): %s\n",
			host ? host : "", gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd;

		if (nlisten == PLMCD_MAX_LISTEN - 1) {
			fprintf(stderr, "plmcd: -l: at most %d sockets\n",
				PLMCD_MAX_LISTEN - 1);
			freeaddrinfo(ai);
			return -1;
		}
		fd = listen_ai(a);
		if (fd < 0) {
			err = errno; /* memcached too skips the ones that fail */
			continue;
		}
		listen_fds[nlisten] = fd;
		listen_tls[nlisten++] = tls;
		bound++;
	}
	freeaddrinfo(ai);
	if (!bound) {
		fprintf(stderr, "plmcd: -l %s: tcp listen: %s\n",
			host ? host : "", strerror(err));
		return -1;
	}
	return 0;
}

/* -l [notls:]ADDR[:PORT][,...], as memcached takes it: with -Z every
 * TCP listener speaks TLS but those marked "notls:". */
static int listen_tcp_all(void)
{
	char *list = strdup(g_opt.addr), *save = NULL;
	int rc = 0, n = 0;

	if (!list)
		return -1;
	for (char *s = strtok_r(list, ",", &save); s && rc == 0;
	     s = strtok_r(NULL, ",", &save)) {
		int tls = g_opt.ssl_enabled;

		if (!strncmp(s, "notls:", 6)) {
			if (!tls) {
				fprintf(stderr, "plmcd: -l %s: notls: without "
					"-Z\n", s);
				rc = -1;
				break;
			}
			s += 6;
			tls = 0;
		}
		if (++n > PLMCD_MAX_ADDRS) {
			fprintf(stderr, "plmcd: -l: at most %d addresses\n",
				PLMCD_MAX_ADDRS);
			rc = -1;
		} else {
			rc = listen_tcp(s, tls);
		}
	}
	free(list);
	return rc;
}

/* The port TCP listener @fd is bound to, or -1. */
static int bound_port(int fd)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	int af = sock_ip_port(fd, 0, ip, sizeof(ip), &port);

	return af == AF_INET || af == AF_INET6 ? (int)port : -1;
}

/*
 * memcached's MEMCACHED_PORT_FILENAME, which test harnesses read to learn
 * a -p -1 server's port: a "TCP INET: PORT" line per TCP listener (none
 * for UDP: plmcd has none), written to NAME.lck and renamed to NAME once
 * whole; only without -s, as memcached. A file that cannot be written is
 * reported and does not stop the start (memcached's rule too).
 */
static void write_portfile(int ntcp)
{
	const char *name = getenv("MEMCACHED_PORT_FILENAME");
	char tmp[PATH_MAX];
	FILE *f;

	if (!name || g_opt.unix_path)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.lck", name) >= (int)sizeof(tmp) ||
	    !(f = fopen(tmp, "a"))) {
		fprintf(stderr, "plmcd: Failed to open \"%s.lck\": %s\n", name,
			strerror(errno));
		return;
	}
	for (int i = 0; i < ntcp; i++) {
		char ip[INET6_ADDRSTRLEN];
		unsigned port = 0;
		int af = sock_ip_port(listen_fds[i], 0, ip, sizeof(ip), &port);

		fprintf(f, "TCP %s: %u\n", af == AF_INET6 ? "INET6" : "INET",
			port);
	}
	if (fclose(f) || rename(tmp, name))
		fprintf(stderr, "plmcd: %s: %s\n", name, strerror(errno));
}

/* The TCP listeners (-p, -l), the port file, and -p -1's port, which
 * from here on is the first listener's (the store's name, stats). */
static int listen_tcp_setup(void)
{
	if (g_opt.port && listen_tcp_all() < 0)
		return -1;
	if (g_opt.port < 0)
		g_opt.port = bound_port(listen_fds[0]);
	write_portfile(nlisten);
	return 0;
}

/*
 * A socket file at the path is removed only when nothing listens on it
 * (a plmcd killed before its exit left it). One that accepts a connect
 * belongs to a live server: removing it would cut that server off from
 * every new client, so the start stops instead, naming the server.
 */
static int unix_path_free(const struct sockaddr_un *a)
{
	struct ucred cr = { 0 };
	socklen_t len = sizeof(cr);
	/* non-blocking: a live server's full backlog must not hang us */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 &&
	    errno != EAGAIN) {
		close(fd);
		if (errno == ECONNREFUSED)
			unlink(a->sun_path); /* stale: no listener */
		return 0; /* stale, or no file (ENOENT): bind says the rest */
	}
	/* connected, or EAGAIN: a listener whose backlog is full (pid 0) */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		cr.pid = 0;
	close(fd);
	if (cr.pid > 0)
		fprintf(stderr, "plmcd: unix socket %s: in use by a running "
			"server (pid %d)\n", a->sun_path, (int)cr.pid);
	else
		fprintf(stderr, "plmcd: unix socket %s: in use by a running "
			"server\n", a->sun_path);
	return -1;
}

static int listen_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(g_opt.unix_path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, g_opt.unix_path, strlen(g_opt.unix_path) + 1);
	if (unix_path_free(&a) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	old = umask(~g_opt.unix_mask & 0777);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, g_opt.backlog) || set_nonblock(fd)) {
		umask(old);
		perror("plmcd: unix listen");
		close(fd);
		return -1;
	}
	umask(old);
	unix_made = 1; /* from here the file is this run's to remove */
	return fd;
}

static void conn_link(struct worker *wk, struct conn *c)
{
	pthread_mutex_lock(&wk->lock);
	c->next = wk->head;
	if (wk->head)
		wk->head->prev = c;
	wk->head = c;
	pthread_mutex_unlock(&wk->lock);
}

static void conn_close(struct worker *wk, struct conn *c)
{
	/* memcached's close reasons: a quit or the client's close is
	 * normal, an idle kick says so, a protocol error ends it */
	const char *why = c->kicked		   ? "idle_timeout"
			  : c->closing && !c->quit ? "error"
						   : "normal";

	watch_conn(c, why);
	watch_drop(c); /* before the descriptor goes (watch.c) */
	dump_drop(c);
	for (int i = 0; c->yielded && i < wk->nyield; i++)
		if (wk->yield[i] == c)
			wk->yield[i] = NULL;
	pthread_mutex_lock(&wk->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		wk->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&wk->lock);
	epoll_ctl(wk->ep, EPOLL_CTL_DEL, c->fd, NULL);
	tls_conn_free(c);
	sasl_conn_free(c);
	close(c->fd);
	out_account(c, 1);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	__atomic_sub_fetch(&g_server.curr_connections, 1, __ATOMIC_RELAXED);
}

/*
 * Past -c, memcached (maxconns_fast) answers this line and closes; the
 * write is best effort on a fresh socket whose buffer is empty.
 */
static void conn_reject(int fd)
{
	static const char msg[] = "ERROR Too many open connections\r\n";
	ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);

	(void)w;
	close(fd);
	__atomic_add_fetch(&g_server.rejected_connections, 1,
			   __ATOMIC_RELAXED);
}

/*
 * Accept one connection and give it to the next worker in turn (as
 * memcached does), not to whichever worker woke: with EPOLLEXCLUSIVE one
 * busy worker could otherwise end up owning every connection. epoll_ctl on
 * another thread's epoll is safe; the connection is then only ever touched
 * by that worker (and its list, under the worker's lock).
 */
static void conn_accept(int *lp)
{
	int lfd = *lp, tls = listen_tls[lp - listen_fds];
	struct worker *wk = &workers[__atomic_fetch_add(&next_worker, 1,
						       __ATOMIC_RELAXED) %
				     (unsigned)g_opt.threads];
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;

	if (fd < 0)
		return;
	/* the listeners count as connections in memcached's figure */
	if (__atomic_load_n(&g_server.curr_connections, __ATOMIC_RELAXED) >=
	    (uint64_t)g_opt.maxconns) {
		conn_reject(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->local = g_opt.unix_path && lp == &listen_fds[nlisten - 1];
	c->in.acct = c->out.acct = &wk->bufmem; /* grown by its owner only */
	if (tls && tls_conn_new(c)) {
		free(c);
		close(fd);
		return;
	}
	c->last = now_sec();
	c->proto = g_opt.proto;
	c->id = __atomic_add_fetch(&g_server.total_connections, 1,
				   __ATOMIC_RELAXED);
	c->authed = !g_opt.auth_file && !g_opt.sasl; /* else: log in first */
	ev.data.ptr = c;
	conn_link(wk, c);
	__atomic_add_fetch(&g_server.curr_connections, 1, __ATOMIC_RELAXED);
	/* Logged before the owner can see it: from the add on, the owner may
	 * serve and free it, so this thread touches @c no more after. */
	watch_conn(c, NULL);
	if (g_opt.verbose)
		fprintf(stderr, "<%d new client connection\n", fd);
	/* Linked before the owner can see an event for it (its close
	 * unlinks). If the add fails the owner never sees it, and its idle
	 * sweep passes over a connection accepted this instant, so closing
	 * it here is this thread's alone. */
	if (epoll_ctl(wk->ep, EPOLL_CTL_ADD, fd, &ev))
		conn_close(wk, c);
}

/*
 * Write what we can. Watch for EPOLLOUT only while output is queued, and
 * for EPOLLIN only while the connection is not throttled: a throttled
 * one leaves its bytes in the kernel, so TCP pushes back on its sender.
 */
static int conn_flush(int ep, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	while (c->out.off < c->out.len) {
		ssize_t w = conn_send(c, c->out.p + c->out.off,
				      c->out.len - c->out.off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0)
			return -1;
		__atomic_add_fetch(&g_server.bytes_written, (uint64_t)w,
				   __ATOMIC_RELAXED);
		buf_consume(&c->out, w);
	}
	/* all sent (TLS holds no partial write of it): a big reply's
	 * buffer goes back rather than sit with an idle connection */
	if (c->out.len == 0 && c->out.cap > buf_keep)
		buf_free(&c->out);
	out_account(c, 0);
	/* TLS may want the socket writable to go on with a handshake
	 * even when nothing of ours is queued */
	ev.events = (c->throttled ? 0 : EPOLLIN) |
		    (c->out.off < c->out.len || c->tls_want_write ? EPOLLOUT
								  : 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/*
 * Put @c on its worker's yield list: its turn comes after the others'
 * events of this round. Return 0 when the list is full (go on now).
 */
static int conn_yield(struct worker *wk, struct conn *c)
{
	if (c->yielded)
		return 1;
	if (wk->nyield == PLMCD_YIELD_MAX)
		return 0;
	c->yielded = 1;
	wk->yield[wk->nyield++] = c;
	return 1;
}

/* Run what is buffered; a connection that yields (-R) waits its turn. */
static int conn_input(struct worker *wk, struct conn *c, struct worker_ctx *w)
{
	size_t out_cap = c->out.cap;
	int rc;

	c->busy = 1;
	rc = proto_run(c, w);
	c->busy = 0;

	if (rc < 0 || c->out.len > PLMCD_OUT_MAX)
		return -1; /* one command's replies past all bounds */
	if (c->out.cap > out_cap && bufmem_over(wk)) {
		/* its replies took the worker past -o read_buf_mem_limit:
		 * dropped with their memory, and the connection closes */
		__atomic_add_fetch(&g_server.response_obj_oom, 1,
				   __ATOMIC_RELAXED);
		buf_free(&c->out);
		return -1;
	}
	if (rc > 0 && !conn_yield(wk, c))
		return conn_input(wk, c, w); /* no room: go on now */
	return 0;
}

/*
 * Read what the socket (and TLS) holds, running it as it comes, until
 * the socket is drained or the connection stops: closing, yielding (-R)
 * or throttled. Return 0, or -1 when the client is gone.
 */
static int conn_read(struct worker *wk, struct conn *c, struct worker_ctx *w)
{
	for (;;) {
		size_t in_cap = c->in.cap;
		ssize_t r;

		if (buf_reserve(&c->in, 16384))
			return -1;
		if (c->in.cap > in_cap && bufmem_over(wk)) {
			__atomic_add_fetch(&g_server.read_buf_oom, 1,
					   __ATOMIC_RELAXED);
			c->closing = 1;
			return -1;
		}
		r = conn_recv(c, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		__atomic_add_fetch(&g_server.bytes_read, (uint64_t)r,
				   __ATOMIC_RELAXED);
		c->in.len += r;
		c->last = now_sec();
		if (conn_input(wk, c, w) < 0)
			c->closing = 1;
		/* all parsed: a big command's buffer goes back, as memcached
		 * gives its read buffer back between commands */
		if (c->in.len == 0 && c->in.cap > buf_keep)
			buf_free(&c->in);
		/* a short read drained the socket; TLS may still hold
		 * decrypted bytes that no epoll event would announce */
		if (c->closing || c->yielded || c->throttled ||
		    ((size_t)r < 16384 && !tls_pending(c)))
			return 0;
	}
}

/*
 * A throttled connection whose output has drained (out_full() no more):
 * run the commands it already sent, then what TLS decrypted and no
 * epoll event will announce (the socket's own bytes raise EPOLLIN once
 * conn_flush asks for it again). Return 0, or -1 when the client is gone.
 */
static int conn_resume(struct worker *wk, struct conn *c, struct worker_ctx *w)
{
	c->throttled = 0;
	if (conn_input(wk, c, w) < 0)
		c->closing = 1;
	if (c->closing || c->yielded || c->throttled || !tls_pending(c))
		return 0;
	return conn_read(wk, c, w);
}

static void conn_finish(struct worker *wk, struct conn *c, struct worker_ctx *w)
{
	int rc, chunks = 0;

	/* A metadump goes on a chunk at a time as its output drains
	 * (dump.c); what was sent after it runs once it has ended. One
	 * chunk per turn: a client that reads as fast as the dump is made
	 * would otherwise hold the worker for the whole dump, and the
	 * worker's other connections wait (memcached's crawler thread
	 * leaves its workers alone). A yielded one waits for its turn
	 * (run_yielded), whatever event comes meanwhile. A throttled
	 * connection goes on once its output is low enough. */
	while ((rc = conn_flush(wk->ep, c)) == 0 && !c->closing) {
		if (c->dump && c->out.off == c->out.len) {
			if (c->yielded || (chunks++ && conn_yield(wk, c)))
				break;
			dump_more(c);
			if (!c->dump && c->in.off < c->in.len &&
			    conn_input(wk, c, w) < 0)
				c->closing = 1;
		} else if (c->throttled && !out_full(c)) {
			if (conn_resume(wk, c, w) < 0)
				rc = -1;
		} else {
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || c->closing)
		conn_close(wk, c);
}

/* The yielded connections, each for another -R requests. */
static void run_yielded(struct worker *wk, struct worker_ctx *w)
{
	struct conn *list[PLMCD_YIELD_MAX];
	int n = wk->nyield;

	memcpy(list, wk->yield, sizeof(list[0]) * (size_t)n);
	wk->nyield = 0;
	for (int i = 0; i < n; i++) {
		struct conn *c = list[i];

		if (!c)
			continue; /* closed meanwhile */
		c->yielded = 0;
		if (conn_input(wk, c, w) < 0)
			c->closing = 1;
		conn_finish(wk, c, w);
	}
}

/* A yielded connection's turn comes after this round; a throttled one
 * reads nothing until conn_finish finds its output drained. */
static void conn_event(struct worker *wk, struct conn *c, struct worker_ctx *w)
{
	if (!c->yielded && !c->throttled && conn_read(wk, c, w) < 0) {
		conn_close(wk, c);
		return;
	}
	conn_finish(wk, c, w);
}

/*
 * Whether @c waits for its client (or its client's data), not for a
 * command: memcached's idle timeout passes over a connection in any
 * state but conn_read and conn_new_cmd, so a slow reader of a large
 * reply (conn_mwrite), a value still arriving (conn_nread) or a
 * refused one (conn_swallow) is not idle, however long it takes. Nor
 * is one on the unix socket: memcached's timeout passes over all but
 * TCP connections. Nor is a watcher: memcached's watchers leave the
 * worker's connection states for the logger's, which has no timeout.
 */
static int conn_not_idle(const struct conn *c)
{
	return c->out.off < c->out.len || c->throttled || c->resume ||
	       c->dump || c->swallow || c->nread || c->local || c->watching;
}

/* -o idle_timeout: close what has been quiet that long (memcached's
 * idle_kicks). Only this worker frees its connections, so the list
 * walk may close as it goes. */
static void idle_sweep(struct worker *wk)
{
	uint64_t now = now_sec();
	struct conn *c, *next;

	pthread_mutex_lock(&wk->lock);
	c = wk->head;
	pthread_mutex_unlock(&wk->lock);
	for (; c; c = next) {
		pthread_mutex_lock(&wk->lock);
		next = c->next;
		pthread_mutex_unlock(&wk->lock);
		if (now - c->last > (uint64_t)g_opt.idle_timeout &&
		    !conn_not_idle(c)) {
			__atomic_add_fetch(&g_server.idle_kicks, 1,
					   __ATOMIC_RELAXED);
			c->kicked = 1;
			conn_close(wk, c);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct worker_ctx w = { 0 };
	struct epoll_event evs[64];

	if (worker_ctx_init(&w))
		return NULL; /* the others serve on */
	for (int i = 0; i < nlisten; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					  .data.ptr = &listen_fds[i] };

		epoll_ctl(wk->ep, EPOLL_CTL_ADD, listen_fds[i], &ev);
	}
	while (!stopping) {
		/* Sweeps need a clock; nothing else does (wake_fd). */
		int n = epoll_wait(wk->ep, evs, 64,
				   wk->nyield		? 0
				   : g_opt.idle_timeout ? 200
							: watch_tick_ms());

		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &wake_fd)
				continue; /* the flags are read below */
			if ((int *)p >= listen_fds &&
			    (int *)p < listen_fds + nlisten)
				conn_accept(p);
			else
				conn_event(wk, p, &w);
		}
		if (n > 0)
			mover_poke(); /* a request: the page mover looks */
		if (wk->nyield)
			run_yielded(wk, &w);
		if (g_opt.idle_timeout)
			idle_sweep(wk);
		watch_evictions(); /* nothing unless they are watched */
		if (reload_auth && wk == &workers[0]) {
			reload_auth = 0;
			auth_reload();
		}
	}
	worker_ctx_free(&w); /* main closes the epolls after every join */
	return NULL;
}

/* "addr" of a socket as memcached prints it: tcp:ADDR:PORT,
 * tcp6:[ADDR]:PORT, unix:PATH. */
static void sock_name(char *out, size_t n, int fd, int peer)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	int af = sock_ip_port(fd, peer, ip, sizeof(ip), &port);

	if (af == AF_UNIX)
		snprintf(out, n, "unix:%s", g_opt.unix_path ? g_opt.unix_path : "");
	else if (af == AF_INET6)
		snprintf(out, n, "tcp6:[%s]:%u", ip, port);
	else if (af == AF_INET)
		snprintf(out, n, "tcp:%s:%u", ip, port);
	else
		snprintf(out, n, "?");
}

/*
 * "stats conns": the listeners, then every connection of every worker
 * (read under the worker's lock: its owner unlinks a connection under
 * that lock before freeing it).
 */
static void conns_report(struct buf *b)
{
	uint64_t now = now_sec();
	char a[160];

	for (int i = 0; i < nlisten; i++) {
		sock_name(a, sizeof(a), listen_fds[i], 0);
		buf_printf(b, "STAT %d:addr %s\r\nSTAT %d:state conn_listening\r\n",
			   listen_fds[i], a, listen_fds[i]);
	}
	for (int w = 0; w < g_opt.threads; w++) {
		pthread_mutex_lock(&workers[w].lock);
		for (struct conn *c = workers[w].head; c; c = c->next) {
			sock_name(a, sizeof(a), c->fd, 1);
			buf_printf(b, "STAT %d:addr %s\r\n", c->fd, a);
			sock_name(a, sizeof(a), c->fd, 0);
			buf_printf(b, "STAT %d:listen_addr %s\r\n", c->fd, a);
			/* memcached's names: running, waiting for its
			 * client to take its replies, a command or its
			 * data still arriving, or waiting for one */
			buf_printf(b, "STAT %d:state %s\r\n", c->fd,
				   c->busy ? "conn_parse_cmd" :
				   c->throttled ? "conn_mwrite" :
				   c->in.off < c->in.len ? "conn_nread" :
				   "conn_waiting");
			buf_printf(b, "STAT %d:secs_since_last_cmd %llu\r\n",
				   c->fd, (unsigned long long)(now - c->last));
		}
		pthread_mutex_unlock(&workers[w].lock);
	}
}

/* "stats": the connections' buffers, under each worker's lock as above
 * (the sizes are read as they stand: a running worker may change them). */
static void bufs_report(struct server_bufs *sb)
{
	for (int w = 0; w < g_opt.threads; w++) {
		pthread_mutex_lock(&workers[w].lock);
		for (struct conn *c = workers[w].head; c; c = c->next) {
			sb->in_count += !!c->in.cap;
			sb->in_bytes += c->in.cap;
			sb->in_free += c->in.cap - c->in.len;
			sb->out_count += !!c->out.cap;
			sb->out_bytes += c->out.cap;
		}
		pthread_mutex_unlock(&workers[w].lock);
	}
}

/*
 * One descriptor per connection, plus listeners and epolls: raise the
 * soft limit to -c and some, as memcached does, or refuse to start.
 */
static int raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)g_opt.maxconns + 64 + (rlim_t)g_opt.threads;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		fprintf(stderr,
			"plmcd: -c %d needs %llu descriptors; the hard limit "
			"is %llu\n",
			g_opt.maxconns, (unsigned long long)want,
			(unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* -r, as memcached does it (and the descriptors -c needs). */
static int limits(void)
{
	if (g_opt.coredumps) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_CORE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_CORE, &rl);
		}
	}
	return raise_nofile();
}

/*
 * memcached refuses to run as root without -u; with -u it becomes that
 * user (and its groups: the plmc group opens /dev/plmc) before serving.
 * Done after the listeners are bound, so a low port still works.
 */
static int drop_privileges(void)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return 0;
	if (!g_opt.user) {
		fprintf(stderr, "plmcd: can't run as root without the -u "
				"switch\n");
		return -1;
	}
	pw = getpwnam(g_opt.user);
	if (!pw) {
		fprintf(stderr, "plmcd: -u %s: no such user\n", g_opt.user);
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0; /* -u root: stay (memcached allows it) */
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) ||
	    setuid(pw->pw_uid)) {
		fprintf(stderr, "plmcd: -u %s: %s\n", g_opt.user,
			strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) { /* must fail from now on */
		fprintf(stderr, "plmcd: -u %s: root could be regained\n",
			g_opt.user);
		return -1;
	}
	return 0;
}

/*
 * Without -n the store is plmcd's own, as a memcached's cache is: named
 * after the address (which plmcd holds, so no other plmcd can serve the
 * name), created empty, destroyed at exit. A leftover from a plmcd that
 * was killed is destroyed first; one still attached by a local client
 * stops the start instead.
 */
static const char *own_store_name(void)
{
	uint64_t h = 1469598103934665603ULL;

	if (g_opt.port && !g_opt.unix_path) {
		/* the first listener's address and port; an IPv6 one's ':'
		 * become '_' (a store name is [A-Za-z0-9._-]) */
		char ip[INET6_ADDRSTRLEN] = "any";
		unsigned port = 0;

		sock_ip_port(listen_fds[0], 0, ip, sizeof(ip), &port);
		for (char *p = ip; *p; p++)
			if (*p == ':' || *p == '%')
				*p = '_';
		snprintf(own_store, sizeof(own_store), "plmcd-%s-%u", ip, port);
		return own_store;
	}
	if (!g_opt.unix_path) { /* -p 0, no -s: no address to name it by */
		snprintf(own_store, sizeof(own_store), "plmcd-pid-%d",
			 (int)getpid());
		return own_store;
	}
	for (const char *p = g_opt.unix_path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(own_store, sizeof(own_store), "plmcd-unix-%016llx",
		 (unsigned long long)h);
	return own_store;
}

static int create_store(const char *name)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		/* -m is item memory (limit_maxbytes), as in memcached; the
		 * test image keeps one item page less for its table
		 * (docs/store.md), so its store asks for one more */
		.store_size = plmc_store_size_for((g_opt.mb + !!g_opt.debug_time)
						  << 20),
		.mode = 0600,
		.use = PLMC_USE_AUTO,
		.item_max = g_opt.item_max,
		.slab_factor = (uint32_t)(g_opt.factor * 1000 + 0.5),
		/* memcached's ladder unless told: smallest chunk 48 + its
		 * -n 48 = 96 bytes, ours the same, so the class numbers a
		 * client sees (stats slabs, cachedump, slabs reassign) are
		 * memcached's */
		.slab_min =
			g_opt.slab_min ? g_opt.slab_min : PLMCD_SLAB_MIN_DEF,
		/* debugtime moves the store clock: a test image's op only */
		.flags = g_opt.debug_time ? PLMC_CREATE_TEST_IMAGE : 0,
	};

	return plmc_create_ex(name, &o);
}

static int attach_store(void)
{
	const char *name = g_opt.store ? g_opt.store : own_store_name();
	int rc;

	if (!g_opt.store) {
		rc = plmc_destroy(name, 0, PLMC_USE_AUTO);
		if (rc < 0 && rc != -ENOENT) {
			/* Only a store that is there is a leftover: no module,
			 * no PKU, a bad backend are said as they are. */
			fprintf(stderr, "plmcd: %s %s: %s\n",
				rc == -EBUSY ? "store in use by a running "
					       "process (plctl info names it)"
				: rc == -EPERM || rc == -EACCES
					? "leftover store (a plmcd killed "
					  "before its exit?)"
					: "store",
				name, plmc_strerror(rc));
			own_store[0] = 0;
			return rc;
		}
		rc = create_store(name);
	} else {
		rc = plmc_attach(name, PLMC_USE_AUTO);
		/* A shared store keeps the size it was made with. */
		if (rc == 0 && g_opt.mb_set)
			fprintf(stderr, "plmcd: store %s exists: -m %u ignored "
				"(its size was set when it was created)\n",
				name, (unsigned)g_opt.mb);
		if (rc != -ENOENT)
			goto out;
		rc = create_store(name);
		if (rc == -EEXIST)
			rc = 0;
	}
	if (rc == 0)
		rc = plmc_attach(name, PLMC_USE_AUTO);
out:
	/* -o slab_automove: the store keeps the mode, for every client. */
	if (rc == 0 && g_opt.slab_automove_set &&
	    plmc_slabs_automove(g_opt.slab_automove) != PLMC_OK)
		fprintf(stderr, "plmcd: store %s cannot set slab_automove\n",
			name);
	/* -o temporary_ttl: the store's TEMP segment, for every client. */
	if (rc == 0 && g_opt.temporary_ttl >= 0 &&
	    plmc_lru_temp_ttl((unsigned)g_opt.temporary_ttl) != PLMC_OK)
		fprintf(stderr, "plmcd: store %s cannot set temporary_ttl\n",
			name);
	if (rc < 0) {
		fprintf(stderr, "plmcd: store %s: %s\n", name,
			plmc_strerror(rc));
		if (!g_opt.store)
			plmc_destroy(name, 1, PLMC_USE_AUTO);
		own_store[0] = 0;
	}
	return rc;
}

/*
 * At exit, after plmc_detach: the store of plmcd's own goes, unless
 * another process attached it since (a plmcd -n NAME, a local client):
 * a plain destroy refuses while anyone is attached, so the other keeps
 * its store and its name. The store then stays until that process
 * leaves; a plmcd started on this address later destroys it at its
 * start if nobody is attached by then, or refuses to start. A detach
 * that failed leaves plmcd's own attachment counted: then, as before,
 * the store goes all the same (exit would end that attachment anyway).
 */
static void own_store_remove(int detached)
{
	int rc;

	if (!own_store[0])
		return;
	rc = plmc_destroy(own_store, !detached, PLMC_USE_AUTO);
	if (rc == -EBUSY)
		fprintf(stderr, "plmcd: store %s kept: another process "
			"attached it (plctl info names it)\n", own_store);
	else if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "plmcd: store %s: %s\n", own_store,
			plmc_strerror(rc));
}

static int write_pidfile(void)
{
	FILE *f;

	if (!g_opt.pidfile)
		return 0;
	f = fopen(g_opt.pidfile, "w");
	pidfile_made = f != NULL;
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		perror(g_opt.pidfile);
		return -1;
	}
	return 0;
}

static int start_workers(pthread_t *tid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.ptr = &wake_fd };

	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake_fd < 0) {
		perror("plmcd: eventfd");
		return -1;
	}
	for (int i = 0; i < g_opt.threads; i++) {
		workers[i].ep = epoll_create1(EPOLL_CLOEXEC);
		pthread_mutex_init(&workers[i].lock, NULL);
		if (workers[i].ep < 0 ||
		    epoll_ctl(workers[i].ep, EPOLL_CTL_ADD, wake_fd, &ev)) {
			perror("plmcd: epoll");
			return -1;
		}
	}
	for (int i = 0; i < g_opt.threads; i++)
		if (pthread_create(&tid[i], NULL, worker_main, &workers[i])) {
			perror("plmcd: thread");
			return -1;
		}
	return 0;
}

/*
 * -k: memcached's mlockall, after -u and -d as there, and after the
 * attach, so the store's pages this process maps are locked too (the
 * module's mappings are VM_IO | VM_PFNMAP, which mlock leaves alone:
 * the module keeps those pages resident anyway). A failure is memcached's
 * warning, and plmcd goes on as memcached does.
 */
static void lock_memory(void)
{
	if (g_opt.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE))
		fprintf(stderr, "warning: -k invalid, mlockall() failed: %s\n",
			strerror(errno));
}

/*
 * Order: listen (the address is ours), daemonize, pid file, drop root,
 * then attach (then -k): the store is attached by the process that serves it, so
 * a daemon's parent leaves no attach count behind. With -d the parent
 * waits until the child serves (daemon.c): an error up to then is
 * printed by the parent, which exits 1.
 */
static int setup(void)
{
	if (limits() < 0)
		return -1;
	if (listen_tcp_setup() < 0)
		return -1;
	if (g_opt.unix_path && (listen_fds[nlisten++] = listen_unix()) < 0)
		return -1;
	if (tls_setup() < 0 || sasl_setup() < 0 ||
	    (g_opt.auth_file && auth_load(g_opt.auth_file) < 0))
		return -1;
	if (g_opt.daemonize && daemon_start() < 0)
		return -1;
	if (write_pidfile() < 0 ||
	    (!g_opt.daemonize && janitor_start() < 0) ||
	    drop_privileges() < 0 || attach_store() < 0)
		return -1;
	lock_memory();
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct plmc_stats st = { .size = sizeof(st) };
	pthread_t tid[PLMCD_MAX_THREADS];
	int rc = 1;

	opts_parse(argc, argv);
	signal(SIGPIPE, SIG_IGN); /* -d: a parent gone before daemon_ready */
	/* Ignored from the start: a SIGUSR2 that comes once the socket
	 * accepts but before the store is attached must not kill plmcd
	 * either (its files would be left behind). */
	signal(SIGUSR2, SIG_IGN);
	if (setup() < 0)
		goto out;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* memcached stops gracefully at SIGUSR1 (exit 0) and takes
	 * SIGUSR2's default, death; plmcd stops at the first as at SIGTERM
	 * (its socket, pid file and own store removed) and ignores the
	 * second, so a stray one cannot leave those behind. */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	plmc_stats(&st);
	g_server.start_time = st.time;
	g_server.threads = g_opt.threads;
	g_server.maxconns = g_opt.maxconns;
	g_server.tcpport = g_opt.unix_path ? g_opt.port_shown : g_opt.port;
	if (g_opt.read_buf_mem_limit) { /* memcached's floor: one 16 KiB read */
		bufmem_limit = (g_opt.read_buf_mem_limit << 20) /
			       (size_t)g_opt.threads;
		if (bufmem_limit < 16384)
			bufmem_limit = 16384;
		buf_keep = 0;
	}
	g_server.item_max = st.item_size_max ? st.item_size_max : PLMC_ITEM_MAX;
	g_server.conns = conns_report;
	g_server.bufs = bufs_report;
	if (start_workers(tid) < 0 || mover_start() < 0)
		goto out;
	fprintf(stderr, "plmcd: serving %s store %s (backend %s)%s%s\n",
		g_opt.store ? "shared" : "its own",
		g_opt.store ? g_opt.store : own_store,
		plmc_backend(), g_opt.port ? " on tcp" : "",
		g_opt.unix_path ? " and unix socket" : "");
	daemon_ready(); /* -d: the parent exits 0 now */
	for (int i = 0; i < g_opt.threads; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < g_opt.threads; i++)
		close(workers[i].ep);
	if (stopping == 2) /* memcached's words at SIGUSR1 */
		fprintf(stderr, "Gracefully stopping\n");
	rc = 0;
out:
	if (unix_made)
		unlink(g_opt.unix_path);
	if (pidfile_made)
		unlink(g_opt.pidfile);
	crawler_wait(10000); /* a crawl thread's call must end first */
	mover_stop_join();
	own_store_remove(plmc_detach() == 0);
	return rc;
}
