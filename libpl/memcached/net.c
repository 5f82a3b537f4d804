// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/net.c - memcached text-protocol connections.
 *
 * One blocking-with-timeouts socket per server, opened on first use and
 * after any I/O failure (the failing call closes it). Reads go through
 * one buffer per server, so replies may be pipelined. Timeouts are the
 * handle's: CONNECT_TIMEOUT for connect, POLL_TIMEOUT for every wait on
 * the socket (milliseconds; <= 0 waits for ever).
 *
 * Host names go through glibc's getaddrinfo found at run time (dlsym),
 * not linked: a static link of this library then pulls in none of glibc's
 * NSS code, nor its warning (getaddrinfo in a static program needs the
 * NSS libraries of the very glibc it was linked with). A static program
 * has no dynamic symbols, so dlsym finds nothing there: it connects to
 * numeric addresses (and localhost) only, and says so for a name.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "mc.h"

#define RBUF 65536

void mc_net_close(memcached_instance_st *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->rpos = s->rlen = 0;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;

	do
		r = poll(&p, 1, ms > 0 ? ms : -1);
	while (r < 0 && errno == EINTR);
	return r;
}

static int connect_to(int fd, const struct sockaddr *a, socklen_t len, int ms)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (!connect(fd, a, len))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	if (wait_fd(fd, POLLOUT, ms) <= 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
		return -(err ? err : errno);
	return 0;
}

/* One address: a non-blocking socket connected within @ms. Return: the
 * fd, or -errno. */
static int try_addr(const struct sockaddr *a, socklen_t len, int ms)
{
	int fd = socket(a->sa_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
	    rc;

	if (fd < 0)
		return -errno;
	rc = connect_to(fd, a, len, ms);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
		      struct addrinfo **);
/* open_name's "no such name": out of the range of -errno */
#define NO_NAME INT_MIN
typedef void (*fai_fn)(struct addrinfo *);

/* Each address of a name in turn. Return: the fd, -errno of the last
 * try, or NO_NAME when the name does not resolve (or cannot be resolved
 * here: a static program). */
static int open_name(const memcached_instance_st *s, int ms)
{
	gai_fn gai = (gai_fn)dlsym(RTLD_DEFAULT, "getaddrinfo");
	fai_fn fai = (fai_fn)dlsym(RTLD_DEFAULT, "freeaddrinfo");
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai, *p;
	char port[16];
	int fd = -ECONNREFUSED;

	if (!gai || !fai)
		return NO_NAME;
	snprintf(port, sizeof(port), "%u", (unsigned)s->port);
	if (gai(s->hostname, port, &hints, &ai))
		return NO_NAME;
	for (p = ai; p; p = p->ai_next) {
		fd = try_addr(p->ai_addr, p->ai_addrlen, ms);
		if (fd >= 0)
			break;
	}
	fai(ai);
	return fd;
}

/* A TCP server: a numeric address as it is, a name by open_name, and
 * localhost as 127.0.0.1 where names cannot be resolved. */
static int open_tcp(const memcached_instance_st *s, int ms)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons(s->port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(s->port)};
	int fd;

	if (inet_pton(AF_INET, s->hostname, &a4.sin_addr) == 1)
		return try_addr((struct sockaddr *)&a4, sizeof(a4), ms);
	if (inet_pton(AF_INET6, s->hostname, &a6.sin6_addr) == 1)
		return try_addr((struct sockaddr *)&a6, sizeof(a6), ms);
	fd = open_name(s, ms);
	if (fd == NO_NAME && !strcmp(s->hostname, "localhost") &&
	    !dlsym(RTLD_DEFAULT, "getaddrinfo")) {
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return try_addr((struct sockaddr *)&a4, sizeof(a4), ms);
	}
	return fd;
}

memcached_return_t mc_net_connect(memcached_st *m, memcached_instance_st *s)
{
	int fd = -1, rc = -ECONNREFUSED, one = 1;

	if (s->fd >= 0)
		return MEMCACHED_SUCCESS;
	if (!s->rbuf) {
		s->rbuf = malloc(RBUF + 1);
		if (!s->rbuf)
			return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
					"read buffer");
	}
	s->rpos = s->rlen = 0;
	if (s->kind == MC_UNIX) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		if (strlen(s->hostname) >= sizeof(a.sun_path))
			return mc_error(m, MEMCACHED_CONNECTION_FAILURE,
					"socket path too long: %s",
					s->hostname);
		memcpy(a.sun_path, s->hostname, strlen(s->hostname) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    0);
		if (fd >= 0)
			rc = connect_to(fd, (struct sockaddr *)&a, sizeof(a),
					m->connect_timeout);
	} else {
		fd = open_tcp(s, m->connect_timeout);
		if (fd == NO_NAME)
			return mc_error(m, MEMCACHED_HOST_LOOKUP_FAILURE,
					"cannot resolve %s%s", s->hostname,
					dlsym(RTLD_DEFAULT, "getaddrinfo")
						? ""
						: " (a static program connects "
						  "to numeric addresses only)");
		rc = fd < 0 ? fd : 0;
		if (fd >= 0 && m->tcp_nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		if (fd >= 0 && m->tcp_keepalive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
				   sizeof(one));
	}
	if (fd < 0 || rc) {
		if (fd >= 0)
			close(fd);
		errno = -rc;
		return mc_error(m,
				rc == -ETIMEDOUT ? MEMCACHED_TIMEOUT
						 : MEMCACHED_CONNECTION_FAILURE,
				"connect %s:%u: %s", s->hostname,
				(unsigned)s->port, strerror(-rc));
	}
	if (m->send_size > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &m->send_size,
			   sizeof(m->send_size));
	if (m->recv_size > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &m->recv_size,
			   sizeof(m->recv_size));
	s->fd = fd;
	return MEMCACHED_SUCCESS;
}

static memcached_return_t io_fail(memcached_st *m, memcached_instance_st *s,
				  memcached_return_t rc, const char *what)
{
	int e = errno;

	mc_net_close(s);
	errno = e;
	return mc_error(m, rc, "%s %s: %s", what, s->hostname,
			rc == MEMCACHED_TIMEOUT ? "timed out" : strerror(e));
}

memcached_return_t mc_net_send(memcached_st *m, memcached_instance_st *s,
			       struct iovec *iov, int n)
{
	memcached_return_t rc = mc_net_connect(m, s);

	if (rc != MEMCACHED_SUCCESS)
		return rc;
	while (n > 0) {
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(s->fd, &msg, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (wait_fd(s->fd, POLLOUT, m->poll_timeout) <=
				    0)
					return io_fail(m, s, MEMCACHED_TIMEOUT,
						       "write to");
				continue;
			}
			return io_fail(m, s, MEMCACHED_WRITE_FAILURE,
				       "write to");
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return MEMCACHED_SUCCESS;
}

static memcached_return_t fill(memcached_st *m, memcached_instance_st *s)
{
	ssize_t r;

	if (s->rpos) {
		memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
		s->rlen -= s->rpos;
		s->rpos = 0;
	}
	if (s->rlen == RBUF) {
		errno = EPROTO;
		return io_fail(m, s, MEMCACHED_PROTOCOL_ERROR,
			       "line too long from");
	}
	for (;;) {
		r = read(s->fd, s->rbuf + s->rlen, RBUF - s->rlen);
		if (r > 0)
			break;
		if (r == 0) {
			errno = ECONNRESET;
			return io_fail(m, s, MEMCACHED_CONNECTION_FAILURE,
				       "read from");
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return io_fail(m, s, MEMCACHED_READ_FAILURE,
				       "read from");
		if (wait_fd(s->fd, POLLIN, m->poll_timeout) <= 0) {
			errno = ETIMEDOUT;
			return io_fail(m, s, MEMCACHED_TIMEOUT, "read from");
		}
	}
	s->rlen += (size_t)r;
	return MEMCACHED_SUCCESS;
}

memcached_return_t mc_net_line(memcached_st *m, memcached_instance_st *s,
			       char **line, size_t *len)
{
	for (;;) {
		char *b = s->rbuf + s->rpos;
		char *e = memmem(b, s->rlen - s->rpos, "\r\n", 2);
		memcached_return_t rc;

		if (e) {
			*len = (size_t)(e - b);
			*e = 0;
			*line = b;
			s->rpos += *len + 2;
			return MEMCACHED_SUCCESS;
		}
		rc = fill(m, s);
		if (rc != MEMCACHED_SUCCESS)
			return rc;
	}
}

memcached_return_t mc_net_data(memcached_st *m, memcached_instance_st *s,
			       char *dst, size_t n)
{
	size_t done = 0, total = n + 2;

	while (done < total) {
		size_t have = s->rlen - s->rpos, take;
		memcached_return_t rc;

		if (!have) {
			rc = fill(m, s);
			if (rc != MEMCACHED_SUCCESS)
				return rc;
			have = s->rlen - s->rpos;
		}
		take = have < total - done ? have : total - done;
		if (dst && done < n)
			memcpy(dst + done, s->rbuf + s->rpos,
			       take < n - done ? take : n - done);
		s->rpos += take;
		done += take;
	}
	return MEMCACHED_SUCCESS;
}

memcached_return_t mc_net_status(memcached_st *m, const char *l, size_t len)
{
#define IS(s)	  (len == sizeof(s) - 1 && !memcmp(l, s, len))
#define STARTS(s) (len >= sizeof(s) - 1 && !memcmp(l, s, sizeof(s) - 1))
	if (IS("STORED") || IS("DELETED") || IS("TOUCHED") || IS("OK"))
		return MEMCACHED_SUCCESS;
	if (IS("NOT_STORED"))
		return MEMCACHED_NOTSTORED;
	if (IS("EXISTS"))
		return MEMCACHED_DATA_EXISTS;
	if (IS("NOT_FOUND"))
		return MEMCACHED_NOTFOUND;
	if (IS("ERROR"))
		return mc_error(m, MEMCACHED_ERROR, "server: ERROR");
	if (STARTS("SERVER_ERROR object too large") ||
	    STARTS("SERVER_ERROR too large"))
		return mc_error(m, MEMCACHED_E2BIG, "server: %s", l);
	if (STARTS("SERVER_ERROR out of memory"))
		return mc_error(m, MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE,
				"server: %s", l);
	if (STARTS("SERVER_ERROR"))
		return mc_error(m, MEMCACHED_SERVER_ERROR, "server: %s", l);
	if (STARTS("CLIENT_ERROR"))
		return mc_error(m, MEMCACHED_CLIENT_ERROR, "server: %s", l);
	return mc_error(m, MEMCACHED_PROTOCOL_ERROR, "unexpected reply: %.64s",
			l);
#undef IS
#undef STARTS
}
