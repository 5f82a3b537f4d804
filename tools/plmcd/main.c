// SPDX-License-Identifier: MIT
/*
 * plmcd/main.c - options, listeners and the worker loops.
 *
 *   plmcd [-n STORE] [-m MB] [-p PORT] [-l ADDR] [-s PATH] [-a MASK]
 *         [-t THREADS] [-c MAXCONNS] [-U 0] [-I SIZE] [-f FACTOR] [-v]
 *         [-d] [-P FILE] [-u USER]
 *
 * Options follow memcached's where they mean the same. The store is
 * attached by name and created (with -m MiB) when it does not exist, so
 * local clients can share it with the remote ones plmcd serves. -U takes
 * only 0 (no UDP); -I (1k..1m) and -f set the max item size and growth
 * factor of a store plmcd creates (an existing store keeps its own);
 * -u is accepted for compatibility and ignored. memcached's -n (smallest
 * chunk) is plctl create --slab-min here: plmcd's -n names the store.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "plmc.h"
#include "plmcd.h"

struct server_stats g_server;

static struct {
	const char *store, *addr, *unix_path, *pidfile;
	int port, threads, maxconns, verbose, daemonize;
	unsigned unix_mask;
	uint64_t mb, item_max;
	double factor;
} opt = {
	.store = "plmcd", .addr = "127.0.0.1", .port = 11211, .threads = 4,
	.maxconns = 1024, .unix_mask = 0700, .mb = 64,
};

static int listen_fds[2], nlisten;
static int worker_ep[256];	/* each worker's epoll, for hand-off */
static unsigned next_worker;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(opt.port) };
	int one = 1, fd;

	if (inet_pton(AF_INET, opt.addr, &a.sin_addr) != 1) {
		fprintf(stderr, "plmcd: bad address %s\n", opt.addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 1024) || set_nonblock(fd)) {
		perror("plmcd: tcp listen");
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (strlen(opt.unix_path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, opt.unix_path, strlen(opt.unix_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	unlink(opt.unix_path);
	old = umask(~opt.unix_mask & 0777);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 1024) || set_nonblock(fd)) {
		umask(old);
		perror("plmcd: unix listen");
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	__atomic_sub_fetch(&g_server.curr_connections, 1, __ATOMIC_RELAXED);
}

/*
 * Accept one connection and give it to the next worker in turn (as
 * memcached does), not to whichever worker woke: with EPOLLEXCLUSIVE one
 * busy worker could otherwise end up owning every connection. epoll_ctl on
 * another thread's epoll is safe; the connection is then only ever touched
 * by that worker.
 */
static void conn_accept(int lfd)
{
	int ep = worker_ep[__atomic_fetch_add(&next_worker, 1,
					     __ATOMIC_RELAXED) %
			   (unsigned)opt.threads];
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;

	if (fd < 0)
		return;
	if (g_server.curr_connections >= (uint64_t)opt.maxconns) {
		close(fd); /* memcached refuses the same way past -c */
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		free(c);
		return;
	}
	__atomic_add_fetch(&g_server.curr_connections, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&g_server.total_connections, 1, __ATOMIC_RELAXED);
	if (opt.verbose)
		fprintf(stderr, "<%d new client connection\n", fd);
}

/* Write what we can; watch for EPOLLOUT only while output is queued. */
static int conn_flush(int ep, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	while (c->out.off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->out.off,
				 c->out.len - c->out.off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0)
			return -1;
		buf_consume(&c->out, w);
	}
	ev.events = EPOLLIN | (c->out.off < c->out.len ? EPOLLOUT : 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static void conn_event(int ep, struct conn *c, struct worker_ctx *w)
{
	for (;;) {
		ssize_t r;

		if (buf_reserve(&c->in, 16384))
			goto close;
		r = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0)
			goto close;
		c->in.len += r;
		if (proto_run(c, w) < 0 || c->out.len > PLMCD_OUT_MAX)
			c->closing = 1; /* a client that never reads: drop it */
		if (c->closing || (size_t)r < 16384)
			break;
	}
	if (conn_flush(ep, c) < 0 || c->closing)
		goto close;
	return;
close:
	conn_close(ep, c);
}

static void *worker_main(void *arg)
{
	struct worker_ctx w = { 0 };
	struct epoll_event evs[64];
	int ep = *(int *)arg;

	if (worker_ctx_init(&w))
		return NULL; /* the others serve on */
	for (int i = 0; i < nlisten; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					  .data.ptr = &listen_fds[i] };

		epoll_ctl(ep, EPOLL_CTL_ADD, listen_fds[i], &ev);
	}
	while (!stopping) {
		int n = epoll_wait(ep, evs, 64, 200);

		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &listen_fds[0] || p == &listen_fds[1])
				conn_accept(*(int *)p);
			else
				conn_event(ep, p, &w);
		}
	}
	worker_ctx_free(&w); /* main closes the epolls after every join */
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: plmcd [-n STORE] [-m MB] [-p PORT] [-l ADDR] [-s PATH]\n"
		"             [-a MASK] [-t THREADS] [-c MAXCONNS]\n"
		"  -n  store name (created with -m MiB if missing; default plmcd)\n"
		"  -p  TCP port (default 11211; 0 = no TCP)\n"
		"  -l  TCP address (default 127.0.0.1)\n"
		"  -s  Unix socket path (no TCP unless -p is also given)\n"
		"  -a  Unix socket permissions (octal, default 0700)\n"
		"  -t  worker threads (default 4)\n"
		"  -c  max connections (default 1024)\n"
		"  -U  UDP port: only 0 (no UDP)\n"
		"  -I  max item size of a store plmcd creates: 1k..1m\n"
		"  -f  growth factor of a store plmcd creates (1.25)\n"
		"  -v  verbose (connections)\n"
		"  -d  run as a daemon\n"
		"  -P  write the pid to this file\n"
		"  -u  accepted, ignored (plmcd keeps no privileges to drop)\n");
	exit(2);
}

static void die(const char *msg)
{
	fprintf(stderr, "plmcd: %s\n", msg);
	exit(2);
}

/* memcached's size suffixes: k, m. */
static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10;
	else if (*end == 'm' || *end == 'M')
		v <<= 20;
	else if (*end)
		die("bad size");
	return v;
}

static void parse(int argc, char **argv)
{
	int c, port_set = 0;

	while ((c = getopt(argc, argv, "n:m:p:l:s:a:t:c:U:I:f:vdP:u:h")) != -1) {
		switch (c) {
		case 'n': opt.store = optarg; break;
		case 'm': opt.mb = strtoull(optarg, NULL, 0); break;
		case 'p': opt.port = atoi(optarg); port_set = 1; break;
		case 'l': opt.addr = optarg; break;
		case 's': opt.unix_path = optarg; break;
		case 'a': opt.unix_mask = strtoul(optarg, NULL, 8); break;
		case 't': opt.threads = atoi(optarg); break;
		case 'c': opt.maxconns = atoi(optarg); break;
		case 'U':
			if (strcmp(optarg, "0"))
				die("UDP is not supported: use -U 0");
			break;
		case 'I':
			opt.item_max = parse_size(optarg);
			if (opt.item_max < 1024 || opt.item_max > PLMC_ITEM_MAX)
				die("-I: from 1k to 1m (a store plmcd creates)");
			break;
		case 'f':
			opt.factor = strtod(optarg, NULL);
			if (!(opt.factor >= 1.01 && opt.factor <= 4.0))
				die("-f: a growth factor from 1.01 to 4");
			break;
		case 'v': opt.verbose++; break;
		case 'd': opt.daemonize = 1; break;
		case 'P': opt.pidfile = optarg; break;
		case 'u': break; /* no privileges to drop: nothing to do */
		default: usage();
		}
	}
	if (opt.unix_path && !port_set)
		opt.port = 0;
	if (optind != argc || opt.threads < 1 || opt.threads > 256 ||
	    opt.maxconns < 1 || opt.port < 0 || opt.port > 65535 ||
	    (!opt.port && !opt.unix_path) || opt.unix_mask > 0777)
		usage();
}

/*
 * One descriptor per connection, plus listeners and epolls: raise the
 * soft limit to -c and some, as memcached does, or refuse to start.
 */
static int raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opt.maxconns + 64 + (rlim_t)opt.threads;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		fprintf(stderr,
			"plmcd: -c %d needs %llu descriptors; the hard limit "
			"is %llu\n",
			opt.maxconns, (unsigned long long)want,
			(unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static int attach_store(void)
{
	int rc = plmc_attach(opt.store, PLMC_USE_AUTO);

	if (rc == -ENOENT) {
		struct plmc_create_opts o = {
			.size = sizeof(o), .store_size = opt.mb << 20,
			.mode = 0600, .use = PLMC_USE_AUTO,
			.item_max = opt.item_max,
			.slab_factor = (uint32_t)(opt.factor * 1000 + 0.5),
		};

		rc = plmc_create_ex(opt.store, &o);
		if (rc == 0 || rc == -EEXIST)
			rc = plmc_attach(opt.store, PLMC_USE_AUTO);
	}
	if (rc < 0)
		fprintf(stderr, "plmcd: store %s: %s\n", opt.store,
			plmc_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct plmc_stats st = { .size = sizeof(st) };
	pthread_t tid[256];

	parse(argc, argv);
	if (raise_nofile() < 0 || attach_store() < 0)
		return 1;
	if (opt.port && (listen_fds[nlisten++] = listen_tcp()) < 0)
		return 1;
	if (opt.unix_path && (listen_fds[nlisten++] = listen_unix()) < 0)
		return 1;
	if (opt.daemonize && daemon(0, 0)) {
		perror("plmcd: daemon");
		return 1;
	}
	if (opt.pidfile) {
		FILE *f = fopen(opt.pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			perror(opt.pidfile);
			return 1;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	plmc_stats(&st);
	g_server.start_time = st.time;
	g_server.threads = opt.threads;
	g_server.maxconns = opt.maxconns;
	g_server.tcpport = opt.port;
	g_server.item_max = st.item_size_max ? st.item_size_max : PLMC_ITEM_MAX;
	for (int i = 0; i < opt.threads; i++) {
		worker_ep[i] = epoll_create1(EPOLL_CLOEXEC);
		if (worker_ep[i] < 0) {
			perror("plmcd: epoll");
			return 1;
		}
	}
	for (int i = 0; i < opt.threads; i++)
		if (pthread_create(&tid[i], NULL, worker_main, &worker_ep[i])) {
			perror("plmcd: thread");
			return 1;
		}
	fprintf(stderr, "plmcd: serving store %s (backend %s)%s%s\n",
		opt.store, plmc_backend(), opt.port ? " on tcp" : "",
		opt.unix_path ? " and unix socket" : "");
	for (int i = 0; i < opt.threads; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < opt.threads; i++)
		close(worker_ep[i]);
	if (opt.unix_path)
		unlink(opt.unix_path);
	if (opt.pidfile)
		unlink(opt.pidfile);
	plmc_detach();
	return 0;
}
