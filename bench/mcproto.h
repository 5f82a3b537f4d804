/* SPDX-License-Identifier: MIT */
/*
 * mcproto.h - a minimal memcached text-protocol client for the bench.
 *
 * Blocking socket, one buffered reader. Used for memcached and plmcd alike,
 * so both are measured through the same client code. Only what the bench
 * needs: get, multi-get, set.
 */
#ifndef PLBENCH_MCPROTO_H
#define PLBENCH_MCPROTO_H

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

struct mc_conn {
	int fd;
	size_t rpos, rlen;
	char rbuf[65536];
};

static int mc_connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(a.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* "host:port" */
static int mc_connect_tcp(const char *hp)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;

	if (strlen(hp) >= sizeof(host))
		return -ENAMETOOLONG;
	memcpy(host, hp, strlen(hp) + 1);
	port = strrchr(host, ':');
	if (!port)
		return -EINVAL;
	*port++ = 0;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EHOSTUNREACH;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static inline int mc_connect(struct mc_conn *c, int is_unix, const char *t)
{
	c->rpos = c->rlen = 0;
	c->fd = is_unix ? mc_connect_unix(t) : mc_connect_tcp(t);
	return c->fd < 0 ? c->fd : 0;
}

static inline void mc_close(struct mc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int mc_writev(struct mc_conn *c, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(c->fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

static int mc_fill(struct mc_conn *c)
{
	ssize_t r;

	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return -ENOBUFS;
	do
		r = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : -ECONNRESET;
	c->rlen += r;
	return 0;
}

/* Next "\r\n"-terminated line; *len excludes the terminator. */
static char *mc_line(struct mc_conn *c, size_t *len)
{
	for (;;) {
		char *s = c->rbuf + c->rpos;
		char *e = memmem(s, c->rlen - c->rpos, "\r\n", 2);

		if (e) {
			*len = e - s;
			c->rpos += *len + 2;
			return s;
		}
		if (mc_fill(c) < 0)
			return NULL;
	}
}

/* Skip (or copy) n data bytes plus "\r\n". */
static int mc_data(struct mc_conn *c, size_t n, char *dst, size_t cap)
{
	size_t done = 0;

	n += 2;
	while (done < n) {
		size_t have = c->rlen - c->rpos, take;

		if (!have && mc_fill(c) < 0)
			return -EIO;
		have = c->rlen - c->rpos;
		take = have < n - done ? have : n - done;
		if (dst && done < cap)
			memcpy(dst + done, c->rbuf + c->rpos,
			       take < cap - done ? take : cap - done);
		c->rpos += take;
		done += take;
	}
	return 0;
}

/* Read VALUE blocks until END; return the number of values. */
static int mc_read_values(struct mc_conn *c, char *buf, size_t cap)
{
	int hits = 0;

	for (;;) {
		size_t len;
		char *l = mc_line(c, &len);
		unsigned long long bytes;

		if (!l)
			return -EIO;
		if (len == 3 && !memcmp(l, "END", 3))
			return hits;
		if (len < 6 || memcmp(l, "VALUE ", 6))
			return -EPROTO;
		/* VALUE <key> <flags> <bytes> [<cas>] */
		l[len] = 0;
		if (sscanf(l, "VALUE %*s %*u %llu", &bytes) != 1)
			return -EPROTO;
		if (mc_data(c, bytes, buf, cap) < 0)
			return -EIO;
		hits++;
	}
}

/* 1 hit, 0 miss, < 0 error. */
static inline int mc_get(struct mc_conn *c, const char *k, int klen,
			 char *buf, size_t cap)
{
	struct iovec iov[3] = {
		{ "get ", 4 }, { (void *)k, klen }, { "\r\n", 2 } };
	int rc = mc_writev(c, iov, 3);

	return rc < 0 ? rc : mc_read_values(c, buf, cap);
}

static inline int mc_mget(struct mc_conn *c, char (*keys)[40], int *lens,
			  int n, char *buf, size_t cap)
{
	struct iovec iov[2 + 2 * 128];
	int k = 0, rc;

	iov[k++] = (struct iovec){ "get", 3 };
	for (int i = 0; i < n; i++) {
		iov[k++] = (struct iovec){ " ", 1 };
		iov[k++] = (struct iovec){ keys[i], lens[i] };
	}
	iov[k++] = (struct iovec){ "\r\n", 2 };
	rc = mc_writev(c, iov, k);
	return rc < 0 ? rc : mc_read_values(c, buf, cap);
}

/* "stats": curr_items and bytes. 0 or < 0 on error. */
static inline int mc_stats_mem(struct mc_conn *c, unsigned long long *items,
			       unsigned long long *bytes)
{
	struct iovec iov[1] = { { "stats\r\n", 7 } };
	int rc = mc_writev(c, iov, 1);

	while (rc >= 0) {
		size_t len;
		char *l = mc_line(c, &len);

		if (!l)
			return -EIO;
		if (len == 3 && !memcmp(l, "END", 3))
			return 0;
		l[len] = 0;
		sscanf(l, "STAT curr_items %llu", items);
		sscanf(l, "STAT bytes %llu", bytes);
	}
	return rc;
}

/* Pipelined gets: n requests in one write, then n replies. Hits or < 0. */
static inline int mc_pipe_get(struct mc_conn *c, char (*keys)[40], int *lens,
			      int n, char *buf, size_t cap)
{
	struct iovec iov[3 * 128];
	int k = 0, hits = 0, rc;

	for (int i = 0; i < n; i++) {
		iov[k++] = (struct iovec){ "get ", 4 };
		iov[k++] = (struct iovec){ keys[i], lens[i] };
		iov[k++] = (struct iovec){ "\r\n", 2 };
	}
	rc = mc_writev(c, iov, k);
	for (int i = 0; rc >= 0 && i < n; i++) {
		rc = mc_read_values(c, buf, cap);
		hits += rc > 0 ? rc : 0;
	}
	return rc < 0 ? rc : hits;
}

static inline int mc_set(struct mc_conn *c, const char *k, int klen,
			 const char *v, size_t vlen)
{
	char hdr[64];
	int h = snprintf(hdr, sizeof(hdr), " 0 0 %zu\r\n", vlen);
	struct iovec iov[5] = { { "set ", 4 }, { (void *)k, klen },
				{ hdr, h }, { (void *)v, vlen }, { "\r\n", 2 } };
	size_t len;
	char *l;
	int rc = mc_writev(c, iov, 5);

	if (rc < 0)
		return rc;
	l = mc_line(c, &len);
	if (!l)
		return -EIO;
	return len == 6 && !memcmp(l, "STORED", 6) ? 0 : -EPROTO;
}

#endif
