// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/mc.c - handles, servers, configuration strings,
 * behaviors, the ketama continuum and error texts of the
 * libmemcached-compatible client.
 *
 * Distribution is libmemcached's, computed the same way (tests/compat
 * checks it against Debian's libmemcached key by key):
 *  - modula: hash(key) % servers;
 *  - consistent (KETAMA): 100 points per server, point i (0-based) the
 *    key hash of "HOST:PORT-i" ("HOST-i" on port 11211);
 *  - weighted (KETAMA_WEIGHTED, or a weight > 1 under a consistent
 *    distribution): floor(weight/total * 160/4 * servers) * 4 points per
 *    server, four from each MD5 of "HOST:PORT-i" (its four little-endian
 *    words), computed in float as libmemcached does;
 *  - a key goes to the first point >= its hash, wrapping to the first.
 * One server means server 0 whatever the hash. A Unix socket's name is its
 * path with port 0; a segment's is the HOST:PORT it was given as its
 * network peer (--SEGMENT=NAME@HOST:PORT), else its name with port 0.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc.h"

memcached_return_t mc_error(memcached_st *m, memcached_return_t rc,
			    const char *fmt, ...)
{
	va_list ap;

	if (!m)
		return rc;
	m->last_rc = rc;
	m->last_errno = errno;
	va_start(ap, fmt);
	vsnprintf(m->last_msg, sizeof(m->last_msg), fmt, ap);
	va_end(ap);
	return rc;
}

/* libmemcached's key rule: 1..250 bytes; with VERIFY_KEY printable and
 * without spaces. */
memcached_return_t mc_key_check(memcached_st *m, const char *key, size_t klen)
{
	if (!key || klen == 0 || klen > MC_KEY_MAX)
		return mc_error(m, MEMCACHED_BAD_KEY_PROVIDED,
				"key must be 1 to 250 bytes");
	if (m->verify_key)
		for (size_t i = 0; i < klen; i++)
			if (!isgraph((unsigned char)key[i]))
				return mc_error(m, MEMCACHED_BAD_KEY_PROVIDED,
						"key has a space or a control "
						"byte");
	return MEMCACHED_SUCCESS;
}

static memcached_st *init(memcached_st *m, int allocated)
{
	memset(m, 0, sizeof(*m));
	m->allocated = allocated;
	m->distribution = MEMCACHED_DISTRIBUTION_MODULA;
	m->hash = MEMCACHED_HASH_DEFAULT;
	m->ketama_hash = MEMCACHED_HASH_MD5;
	m->poll_timeout = MEMCACHED_DEFAULT_TIMEOUT;
	m->connect_timeout = MEMCACHED_DEFAULT_CONNECT_TIMEOUT;
	m->retry_timeout = 2;
	m->send_size = -1;
	m->recv_size = -1;
	m->failure_limit = 5;
	m->io_msg = 500;
	m->io_bytes = 65 * 1024;
	m->io_prefetch = 0;
	m->result.root = m;
	return m;
}

memcached_st *memcached_create(memcached_st *ptr)
{
	if (ptr)
		return init(ptr, 0);
	ptr = malloc(sizeof(*ptr));
	return ptr ? init(ptr, 1) : NULL;
}

void memcached_quit(memcached_st *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nservers; i++)
		mc_net_close(&m->servers[i]);
}

void memcached_servers_reset(memcached_st *m)
{
	if (!m)
		return;
	memcached_quit(m);
	for (uint32_t i = 0; i < m->nservers; i++)
		free(m->servers[i].rbuf);
	mc_seg_release(m);
	free(m->servers);
	free(m->ring);
	m->servers = NULL;
	m->ring = NULL;
	m->nservers = m->nring = 0;
}

void memcached_free(memcached_st *m)
{
	if (!m)
		return;
	memcached_servers_reset(m);
	mc_items_clear(m);
	free(m->items);
	free(m->result.value);
	if (m->allocated)
		free(m);
	else
		m->servers = NULL;
}

void *memcached_get_user_data(const memcached_st *m)
{
	return m ? m->user_data : NULL;
}

void *memcached_set_user_data(memcached_st *m, void *data)
{
	void *old;

	if (!m)
		return NULL;
	old = m->user_data;
	m->user_data = data;
	return old;
}

const char *memcached_lib_version(void)
{
	return LIBMEMCACHED_VERSION_STRING;
}

/* ---- the continuum ---------------------------------------------------- */

static int is_consistent(int d)
{
	return d == MEMCACHED_DISTRIBUTION_CONSISTENT ||
	       d == MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA ||
	       d == MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY ||
	       d == MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED;
}

static int point_cmp(const void *a, const void *b)
{
	const struct plmc_mc_point *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int server_cmp(const void *a, const void *b)
{
	const memcached_instance_st *x = a, *y = b;
	int c = strcmp(x->ring_host, y->ring_host);

	return c ? c : (int)x->ring_port - (int)y->ring_port;
}

static int ring_name(const memcached_st *m, const memcached_instance_st *s,
		     uint32_t i, char *buf, size_t cap)
{
	if (m->distribution == MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY)
		return snprintf(buf, cap, "/%s:%u-%u", s->ring_host,
				(unsigned)s->ring_port, i);
	if (s->ring_port == MEMCACHED_DEFAULT_PORT)
		return snprintf(buf, cap, "%s-%u", s->ring_host, i);
	return snprintf(buf, cap, "%s:%u-%u", s->ring_host,
			(unsigned)s->ring_port, i);
}

static memcached_return_t build_ring(memcached_st *m)
{
	uint64_t total = 0;
	uint32_t n = m->nservers, cap, at = 0;
	struct plmc_mc_point *ring;
	char name[600];

	if (m->sort_hosts && n > 1) {
		memcached_quit(m);
		qsort(m->servers, n, sizeof(m->servers[0]), server_cmp);
	}
	free(m->ring);
	m->ring = NULL;
	m->nring = 0;
	if (!is_consistent(m->distribution) || !n)
		return MEMCACHED_SUCCESS;
	cap = n * (m->weighted ? MEMCACHED_POINTS_PER_SERVER_KETAMA
			       : MEMCACHED_POINTS_PER_SERVER);
	if (m->weighted)
		for (uint32_t i = 0; i < n; i++)
			total += m->servers[i].weight;
	/* A weight share can round above the even share: room for that. */
	cap = cap * 2 + 16;
	ring = calloc(cap, sizeof(*ring));
	if (!ring)
		return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
				"continuum");
	for (uint32_t i = 0; i < n; i++) {
		const memcached_instance_st *s = &m->servers[i];
		uint32_t points = MEMCACHED_POINTS_PER_SERVER, per_hash = 1;

		if (m->weighted) {
			float pct = (float)s->weight / (float)total;

			/* libmemcached's float arithmetic, step for step; the
			 * value is >= 0, so the cast is its floor. */
			points =
				(uint32_t)(float)(pct * MEMCACHED_POINTS_PER_SERVER_KETAMA /
							  4 * (float)n +
						  0.0000000001F) *
				4;
			per_hash = 4;
		}
		for (uint32_t p = 0; p < points / per_hash; p++) {
			int len = ring_name(m, s, p, name, sizeof(name));

			if (len < 0 || (size_t)len >= sizeof(name)) {
				free(ring);
				return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
						"server name too long");
			}
			if (m->weighted) {
				unsigned char d[16];

				mc_md5(name, (size_t)len, d);
				for (uint32_t x = 0; x < 4 && at < cap; x++) {
					const unsigned char *w = d + 4 * x;

					ring[at].value = (uint32_t)w[0] |
							 (uint32_t)w[1] << 8 |
							 (uint32_t)w[2] << 16 |
							 (uint32_t)w[3] << 24;
					ring[at++].index = i;
				}
			} else if (at < cap) {
				ring[at].value =
					mc_hash(m->hash, name, (size_t)len);
				ring[at++].index = i;
			}
		}
	}
	qsort(ring, at, sizeof(*ring), point_cmp);
	m->ring = ring;
	m->nring = at;
	return MEMCACHED_SUCCESS;
}

int mc_server_for(const memcached_st *m, const char *key, size_t klen)
{
	uint32_t h, lo, hi;

	if (!m || !m->nservers)
		return -1;
	if (m->nservers == 1)
		return 0;
	if (m->distribution == MEMCACHED_DISTRIBUTION_RANDOM)
		return (int)((uint32_t)random() % m->nservers);
	h = mc_hash(m->hash, key, klen);
	if (!is_consistent(m->distribution) || !m->nring)
		return (int)(h % m->nservers);
	lo = 0;
	hi = m->nring;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->ring[mid].value < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->nring)
		lo = 0;
	return (int)m->ring[lo].index;
}

uint32_t memcached_generate_hash_value(const char *key, size_t key_length,
				       memcached_hash_t algo)
{
	if (!mc_hash_supported(algo))
		return 0;
	return mc_hash(algo, key, key_length);
}

uint32_t memcached_generate_hash(const memcached_st *m, const char *key,
				 size_t key_length)
{
	int i = mc_server_for(m, key, key_length);

	return i < 0 ? 0 : (uint32_t)i;
}

/* ---- servers ---------------------------------------------------------- */

/* "plmc:NAME[@HOST[:PORT]]" or, from --SEGMENT, "NAME[@HOST[:PORT]]". */
/* @port: the port argument of a server_add; used for "NAME@HOST"
 * without its own ":PORT" (0 there means 11211, as for any server). */
static memcached_return_t add_segment(memcached_st *m, const char *spec,
				      uint32_t weight, in_port_t port_arg)
{
	char name[256], host[256] = "";
	const char *at = strchr(spec, '@');
	size_t nl = at ? (size_t)(at - spec) : strlen(spec);
	unsigned port = 0;
	memcached_return_t rc;

	if (nl == 0 || nl >= sizeof(name))
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"segment name must be 1 to 255 bytes");
	memcpy(name, spec, nl);
	name[nl] = 0;
	if (at) {
		const char *colon = strrchr(at + 1, ':');
		size_t hl = colon ? (size_t)(colon - at - 1) : strlen(at + 1);
		char *end;

		if (hl == 0 || hl >= sizeof(host))
			return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
					"segment peer needs a host");
		memcpy(host, at + 1, hl);
		host[hl] = 0;
		port = port_arg ? port_arg : MEMCACHED_DEFAULT_PORT;
		if (colon) {
			unsigned long p = strtoul(colon + 1, &end, 10);

			if (end == colon + 1 || *end || p == 0 || p > 65535)
				return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
						"bad segment peer port");
			port = (unsigned)p;
		}
	}
	for (uint32_t i = 0; i < m->nservers; i++)
		if (m->servers[i].kind == MC_SEG &&
		    strcmp(m->servers[i].hostname, name))
			return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
					"one plmc segment per process (%s "
					"already named)",
					m->servers[i].hostname);
	rc = mc_add_server(m, name, (in_port_t)port, weight, MC_SEG);
	if (rc == MEMCACHED_SUCCESS && at) {
		memcached_instance_st *s = &m->servers[m->nservers - 1];

		snprintf(s->ring_host, sizeof(s->ring_host), "%s", host);
		s->ring_port = (in_port_t)port;
		s->port = 0;
		return build_ring(m);
	}
	return rc;
}

memcached_return_t mc_add_server(memcached_st *m, const char *host,
				 in_port_t port, uint32_t weight, int kind)
{
	memcached_instance_st *list, *s;

	if (!m || !host)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (kind == MC_TCP && !strncmp(host, "plmc:", 5))
		return add_segment(m, host + 5, weight, port);
	if (!*host || strlen(host) >= sizeof(list->hostname))
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"server name must be 1 to 255 bytes");
	list = realloc(m->servers, (m->nservers + 1) * sizeof(*list));
	if (!list)
		return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
				"server list");
	m->servers = list;
	s = &list[m->nservers];
	memset(s, 0, sizeof(*s));
	snprintf(s->hostname, sizeof(s->hostname), "%s", host);
	snprintf(s->ring_host, sizeof(s->ring_host), "%s", host);
	if (kind == MC_TCP && !port)
		port = MEMCACHED_DEFAULT_PORT;
	s->port = s->ring_port = kind == MC_TCP ? port : 0;
	if (kind == MC_SEG)
		s->ring_port = 0;
	s->weight = weight ? weight : 1;
	s->kind = kind;
	s->fd = -1;
	m->nservers++;
	if (weight > 1 && is_consistent(m->distribution))
		m->weighted = 1;
	return build_ring(m);
}

memcached_return_t memcached_server_add_with_weight(memcached_st *m,
						    const char *hostname,
						    in_port_t port,
						    uint32_t weight)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (!hostname || !*hostname)
		hostname = "localhost";
	if (hostname[0] == '/')
		return mc_add_server(m, hostname, 0, weight, MC_UNIX);
	return mc_add_server(m, hostname, port, weight, MC_TCP);
}

memcached_return_t memcached_server_add(memcached_st *m, const char *hostname,
					in_port_t port)
{
	return memcached_server_add_with_weight(m, hostname, port, 0);
}

memcached_return_t memcached_server_add_unix_socket_with_weight(
	memcached_st *m, const char *filename, uint32_t weight)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (!filename || !*filename)
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"no socket path");
	return mc_add_server(m, filename, 0, weight, MC_UNIX);
}

memcached_return_t memcached_server_add_unix_socket(memcached_st *m,
						    const char *filename)
{
	return memcached_server_add_unix_socket_with_weight(m, filename, 0);
}

memcached_return_t
memcached_server_add_udp(memcached_st *m, const char *hostname, in_port_t port)
{
	(void)hostname;
	(void)port;
	return mc_error(m, MEMCACHED_NOT_SUPPORTED, "UDP is not supported");
}

uint32_t memcached_server_count(const memcached_st *m)
{
	return m ? m->nservers : 0;
}

const memcached_instance_st *
memcached_server_instance_by_position(const memcached_st *m, uint32_t i)
{
	return m && i < m->nservers ? &m->servers[i] : NULL;
}

const memcached_instance_st *memcached_server_by_key(memcached_st *m,
						     const char *key,
						     size_t klen,
						     memcached_return_t *error)
{
	memcached_return_t rc;
	int i;

	if (!error)
		error = &rc;
	if (!m) {
		*error = MEMCACHED_INVALID_ARGUMENTS;
		return NULL;
	}
	if (!m->nservers) {
		*error = MEMCACHED_NO_SERVERS;
		return NULL;
	}
	*error = mc_key_check(m, key, klen);
	if (*error != MEMCACHED_SUCCESS)
		return NULL;
	i = mc_server_for(m, key, klen);
	return &m->servers[i];
}

const char *memcached_server_name(const memcached_instance_st *s)
{
	return s ? s->ring_host : NULL;
}

in_port_t memcached_server_port(const memcached_instance_st *s)
{
	return s ? s->ring_port : 0;
}

const char *memcached_server_type(const memcached_instance_st *s)
{
	if (!s)
		return "UNKNOWN";
	return s->kind == MC_SEG    ? "PLMC"
	       : s->kind == MC_UNIX ? "SOCKET"
				    : "TCP";
}

/* ---- server lists ----------------------------------------------------- */

memcached_server_list_st memcached_server_list_append_with_weight(
	memcached_server_list_st list, const char *hostname, in_port_t port,
	uint32_t weight, memcached_return_t *error)
{
	uint32_t n = list ? list[0].count : 0;
	memcached_server_st *l;
	memcached_return_t rc;

	if (!error)
		error = &rc;
	if (!hostname || !*hostname)
		hostname = "localhost";
	if (strlen(hostname) >= sizeof(l->hostname)) {
		*error = MEMCACHED_INVALID_ARGUMENTS;
		return list;
	}
	l = realloc(list, (n + 1) * sizeof(*l));
	if (!l) {
		*error = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
		return list;
	}
	memset(&l[n], 0, sizeof(l[n]));
	snprintf(l[n].hostname, sizeof(l[n].hostname), "%s", hostname);
	l[n].kind = hostname[0] == '/' ? MC_UNIX : MC_TCP;
	l[n].port = l[n].kind == MC_UNIX ? 0
		    : port		 ? port
					 : MEMCACHED_DEFAULT_PORT;
	l[n].weight = weight;
	for (uint32_t i = 0; i <= n; i++)
		l[i].count = n + 1;
	*error = MEMCACHED_SUCCESS;
	return l;
}

memcached_server_list_st
memcached_server_list_append(memcached_server_list_st list,
			     const char *hostname, in_port_t port,
			     memcached_return_t *error)
{
	return memcached_server_list_append_with_weight(list, hostname, port, 0,
							error);
}

uint32_t memcached_server_list_count(const memcached_server_list_st list)
{
	return list ? list[0].count : 0;
}

void memcached_server_list_free(memcached_server_list_st list)
{
	free(list);
}

/* One "host[:port][ weight]" or "[v6]:port" or "/path"; 0 or -1. */
static int split_server(const char *s, size_t len, char *host, size_t hcap,
			unsigned *port, uint32_t *weight)
{
	char buf[512], *p, *w;
	size_t hl;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	*port = 0;
	*weight = 0;
	w = strstr(buf, "/?");
	if (w) {
		*weight = (uint32_t)strtoul(w + 2, NULL, 10);
		*w = 0;
	}
	if ((w = strchr(buf, ' '))) {
		*weight = (uint32_t)strtoul(w + 1, NULL, 10);
		*w = 0;
	}
	p = buf;
	if (buf[0] == '/') {
		hl = strlen(buf);
	} else if (buf[0] == '[') {
		char *e = strchr(buf, ']');

		if (!e)
			return -1;
		p = buf + 1;
		hl = (size_t)(e - p);
		if (e[1] == ':')
			*port = (unsigned)strtoul(e + 2, NULL, 10);
	} else {
		char *c = strrchr(buf, ':');

		/* plmc:NAME[@HOST:PORT] is one name: the port is the peer's */
		if (!strncmp(buf, "plmc:", 5))
			c = NULL;
		hl = c ? (size_t)(c - buf) : strlen(buf);
		if (c)
			*port = (unsigned)strtoul(c + 1, NULL, 10);
	}
	if (hl == 0 || hl >= hcap || *port > 65535)
		return -1;
	memcpy(host, p, hl);
	host[hl] = 0;
	return 0;
}

memcached_server_list_st memcached_servers_parse(const char *str)
{
	memcached_server_list_st list = NULL;
	const char *p = str;

	if (!str)
		return NULL;
	while (*p) {
		const char *e;
		char host[256];
		unsigned port;
		uint32_t weight;
		memcached_return_t rc;

		while (*p == ',' || *p == ' ')
			p++;
		if (!*p)
			break;
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		while (e > p && e[-1] == ' ')
			e--;
		if (!split_server(p, (size_t)(e - p), host, sizeof(host), &port,
				  &weight))
			list = memcached_server_list_append_with_weight(
				list, host, (in_port_t)port, weight, &rc);
		p = e;
		while (*p == ' ')
			p++;
	}
	return list;
}

memcached_return_t memcached_server_push(memcached_st *m,
					 const memcached_server_list_st list)
{
	uint32_t n = memcached_server_list_count(list);

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	for (uint32_t i = 0; i < n; i++) {
		memcached_return_t rc =
			mc_add_server(m, list[i].hostname, list[i].port,
				      list[i].weight, list[i].kind);

		if (rc != MEMCACHED_SUCCESS)
			return rc;
	}
	return MEMCACHED_SUCCESS;
}

/* ---- behaviors -------------------------------------------------------- */

memcached_return_t
memcached_behavior_set_distribution(memcached_st *m,
				    memcached_server_distribution_t type)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	switch (type) {
	case MEMCACHED_DISTRIBUTION_MODULA:
	case MEMCACHED_DISTRIBUTION_RANDOM:
	case MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY:
		break;
	case MEMCACHED_DISTRIBUTION_CONSISTENT:
	case MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA:
		m->weighted = 0;
		break;
	case MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED:
		m->weighted = 1;
		break;
	case MEMCACHED_DISTRIBUTION_VIRTUAL_BUCKET:
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"virtual buckets are not supported");
	default:
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"no such distribution");
	}
	m->distribution = type;
	return build_ring(m);
}

memcached_server_distribution_t
memcached_behavior_get_distribution(memcached_st *m)
{
	return m ? (memcached_server_distribution_t)m->distribution
		 : MEMCACHED_DISTRIBUTION_CONSISTENT_MAX;
}

memcached_return_t memcached_behavior_set_key_hash(memcached_st *m,
						   memcached_hash_t type)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (!mc_hash_supported(type))
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"hash %d is not offered (DEFAULT, MD5, CRC "
				"and the FNV1 forms are)",
				(int)type);
	/* Like libmemcached, the continuum is not rebuilt: its points keep
	 * the hash they were made with until the next server or
	 * distribution change. */
	m->hash = type;
	return MEMCACHED_SUCCESS;
}

memcached_hash_t memcached_behavior_get_key_hash(memcached_st *m)
{
	return m ? (memcached_hash_t)m->hash : MEMCACHED_HASH_MAX;
}

memcached_return_t
memcached_behavior_set_distribution_hash(memcached_st *m, memcached_hash_t type)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (!mc_hash_supported(type))
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"hash %d is not offered", (int)type);
	m->ketama_hash = type;
	return MEMCACHED_SUCCESS;
}

memcached_hash_t memcached_behavior_get_distribution_hash(memcached_st *m)
{
	return m ? (memcached_hash_t)m->ketama_hash : MEMCACHED_HASH_MAX;
}

memcached_return_t memcached_behavior_set(memcached_st *m,
					  memcached_behavior_t flag,
					  uint64_t data)
{
	int on = data != 0;

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	switch (flag) {
	case MEMCACHED_BEHAVIOR_NO_BLOCK:
		m->no_block = on;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_TCP_NODELAY:
		m->tcp_nodelay = on;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_TCP_KEEPALIVE:
		m->tcp_keepalive = on;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_TCP_KEEPIDLE:
		m->keepidle = (uint32_t)data;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_SUPPORT_CAS:
		m->support_cas = on;
		break;
	case MEMCACHED_BEHAVIOR_VERIFY_KEY:
		m->verify_key = on;
		break;
	case MEMCACHED_BEHAVIOR_NOREPLY:
		m->noreply = on;
		break;
	case MEMCACHED_BEHAVIOR_BUFFER_REQUESTS:
		m->buffer_requests = on;
		break;
	case MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY:
		m->hash_with_prefix = on;
		break;
	case MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS:
	case MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS:
		m->auto_eject = on;
		break;
	case MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ:
		break;
	case MEMCACHED_BEHAVIOR_SORT_HOSTS:
		m->sort_hosts = on;
		return build_ring(m);
	case MEMCACHED_BEHAVIOR_DISTRIBUTION:
		return memcached_behavior_set_distribution(
			m, (memcached_server_distribution_t)data);
	case MEMCACHED_BEHAVIOR_KETAMA:
		return memcached_behavior_set_distribution(
			m, on ? MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA
			      : MEMCACHED_DISTRIBUTION_MODULA);
	case MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED:
		if (!on)
			return memcached_behavior_set(
				m, MEMCACHED_BEHAVIOR_KETAMA, 1);
		m->hash = MEMCACHED_HASH_MD5;
		m->ketama_hash = MEMCACHED_HASH_MD5;
		return memcached_behavior_set_distribution(
			m, MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED);
	case MEMCACHED_BEHAVIOR_HASH:
		return memcached_behavior_set_key_hash(m,
						       (memcached_hash_t)data);
	case MEMCACHED_BEHAVIOR_KETAMA_HASH:
		return memcached_behavior_set_distribution_hash(
			m, (memcached_hash_t)data);
	case MEMCACHED_BEHAVIOR_BINARY_PROTOCOL:
		if (!on)
			break;
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"the binary protocol is not supported: plmc "
				"speaks memcached's text protocol (plmcd has "
				"no binary listener)");
	case MEMCACHED_BEHAVIOR_USE_UDP:
		if (!on)
			break;
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"UDP is not supported");
	case MEMCACHED_BEHAVIOR_POLL_TIMEOUT:
		m->poll_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT:
		m->connect_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_RETRY_TIMEOUT:
		m->retry_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_DEAD_TIMEOUT:
		m->dead_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_SND_TIMEOUT:
		m->snd_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_RCV_TIMEOUT:
		m->rcv_timeout = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE:
		m->send_size = (int32_t)data;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE:
		m->recv_size = (int32_t)data;
		memcached_quit(m);
		break;
	case MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT:
		if (!data)
			return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
					"SERVER_FAILURE_LIMIT must be > 0");
		m->failure_limit = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT:
		m->timeout_limit = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS:
		if (data)
			return mc_error(m, MEMCACHED_NOT_SUPPORTED,
					"replicas need the binary protocol");
		break;
	case MEMCACHED_BEHAVIOR_IO_MSG_WATERMARK:
		m->io_msg = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_IO_BYTES_WATERMARK:
		m->io_bytes = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_IO_KEY_PREFETCH:
		m->io_prefetch = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_CACHE_LOOKUPS:
	case MEMCACHED_BEHAVIOR_USER_DATA:
	case MEMCACHED_BEHAVIOR_CORK:
		return mc_error(m, MEMCACHED_DEPRECATED,
				"behavior %d is deprecated", (int)flag);
	default:
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"behavior %d cannot be set", (int)flag);
	}
	return MEMCACHED_SUCCESS;
}

uint64_t memcached_behavior_get(memcached_st *m, memcached_behavior_t flag)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	switch (flag) {
	case MEMCACHED_BEHAVIOR_NO_BLOCK:
		return (uint64_t)m->no_block;
	case MEMCACHED_BEHAVIOR_TCP_NODELAY:
		return (uint64_t)m->tcp_nodelay;
	case MEMCACHED_BEHAVIOR_TCP_KEEPALIVE:
		return (uint64_t)m->tcp_keepalive;
	case MEMCACHED_BEHAVIOR_TCP_KEEPIDLE:
		return m->keepidle;
	case MEMCACHED_BEHAVIOR_SUPPORT_CAS:
		return (uint64_t)m->support_cas;
	case MEMCACHED_BEHAVIOR_VERIFY_KEY:
		return (uint64_t)m->verify_key;
	case MEMCACHED_BEHAVIOR_NOREPLY:
		return (uint64_t)m->noreply;
	case MEMCACHED_BEHAVIOR_BUFFER_REQUESTS:
		return (uint64_t)m->buffer_requests;
	case MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY:
		return (uint64_t)m->hash_with_prefix;
	case MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS:
	case MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS:
		return (uint64_t)m->auto_eject;
	case MEMCACHED_BEHAVIOR_SORT_HOSTS:
		return (uint64_t)m->sort_hosts;
	case MEMCACHED_BEHAVIOR_DISTRIBUTION:
		return (uint64_t)m->distribution;
	case MEMCACHED_BEHAVIOR_KETAMA:
		return (uint64_t)is_consistent(m->distribution);
	case MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED:
		return (uint64_t)(is_consistent(m->distribution) &&
				  m->weighted);
	case MEMCACHED_BEHAVIOR_HASH:
		return (uint64_t)m->hash;
	case MEMCACHED_BEHAVIOR_KETAMA_HASH:
		return (uint64_t)m->ketama_hash;
	case MEMCACHED_BEHAVIOR_BINARY_PROTOCOL:
	case MEMCACHED_BEHAVIOR_USE_UDP:
	case MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS:
	case MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ:
		return 0;
	case MEMCACHED_BEHAVIOR_CACHE_LOOKUPS:
	case MEMCACHED_BEHAVIOR_CORK:
		return 1;
	case MEMCACHED_BEHAVIOR_POLL_TIMEOUT:
		return (uint64_t)m->poll_timeout;
	case MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT:
		return (uint64_t)m->connect_timeout;
	case MEMCACHED_BEHAVIOR_RETRY_TIMEOUT:
		return (uint64_t)m->retry_timeout;
	case MEMCACHED_BEHAVIOR_DEAD_TIMEOUT:
		return (uint64_t)m->dead_timeout;
	case MEMCACHED_BEHAVIOR_SND_TIMEOUT:
		return (uint64_t)m->snd_timeout;
	case MEMCACHED_BEHAVIOR_RCV_TIMEOUT:
		return (uint64_t)m->rcv_timeout;
	case MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE:
		return m->send_size < 0 ? 0 : (uint64_t)m->send_size;
	case MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE:
		return m->recv_size < 0 ? 0 : (uint64_t)m->recv_size;
	case MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT:
		return m->failure_limit;
	case MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT:
		return m->timeout_limit;
	case MEMCACHED_BEHAVIOR_IO_MSG_WATERMARK:
		return m->io_msg;
	case MEMCACHED_BEHAVIOR_IO_BYTES_WATERMARK:
		return m->io_bytes;
	case MEMCACHED_BEHAVIOR_IO_KEY_PREFETCH:
		return m->io_prefetch;
	default:
		return 0;
	}
}

/* ---- configuration strings -------------------------------------------- */

static const struct {
	const char *name;
	memcached_behavior_t b;
} conf_flags[] = {
	{"--NOREPLY", MEMCACHED_BEHAVIOR_NOREPLY},
	{"--TCP-NODELAY", MEMCACHED_BEHAVIOR_TCP_NODELAY},
	{"--TCP-KEEPALIVE", MEMCACHED_BEHAVIOR_TCP_KEEPALIVE},
	{"--SUPPORT-CAS", MEMCACHED_BEHAVIOR_SUPPORT_CAS},
	{"--VERIFY-KEY", MEMCACHED_BEHAVIOR_VERIFY_KEY},
	{"--SORT-HOSTS", MEMCACHED_BEHAVIOR_SORT_HOSTS},
	{"--BUFFER-REQUESTS", MEMCACHED_BEHAVIOR_BUFFER_REQUESTS},
	{"--HASH-WITH-NAMESPACE", MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY},
	{"--AUTO-EJECT-HOSTS", MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS},
	{"--REMOVE-FAILED-SERVERS", MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS},
	{"--RANDOMIZE-REPLICA-READ", MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ},
	{"--BINARY-PROTOCOL", MEMCACHED_BEHAVIOR_BINARY_PROTOCOL},
	{"--USE-UDP", MEMCACHED_BEHAVIOR_USE_UDP},
};

static const struct {
	const char *name;
	memcached_behavior_t b;
} conf_nums[] = {
	{"--CONNECT-TIMEOUT=", MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT},
	{"--POLL-TIMEOUT=", MEMCACHED_BEHAVIOR_POLL_TIMEOUT},
	{"--RETRY-TIMEOUT=", MEMCACHED_BEHAVIOR_RETRY_TIMEOUT},
	{"--SND-TIMEOUT=", MEMCACHED_BEHAVIOR_SND_TIMEOUT},
	{"--RCV-TIMEOUT=", MEMCACHED_BEHAVIOR_RCV_TIMEOUT},
	{"--SOCKET-SEND-SIZE=", MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE},
	{"--SOCKET-RECV-SIZE=", MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE},
	{"--SERVER-FAILURE-LIMIT=", MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT},
	{"--IO-MSG-WATERMARK=", MEMCACHED_BEHAVIOR_IO_MSG_WATERMARK},
	{"--IO-BYTES-WATERMARK=", MEMCACHED_BEHAVIOR_IO_BYTES_WATERMARK},
	{"--IO-KEY-PREFETCH=", MEMCACHED_BEHAVIOR_IO_KEY_PREFETCH},
	{"--TCP-KEEPIDLE=", MEMCACHED_BEHAVIOR_TCP_KEEPIDLE},
	{"--NUMBER-OF-REPLICAS=", MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS},
};

static const char *const hash_names[] = {
	"DEFAULT", "MD5", "CRC", "FNV1_64", "FNV1A_64", "FNV1_32", "FNV1A_32",
};

static int prefix(const char *tok, const char *p)
{
	return !strncmp(tok, p, strlen(p));
}

/* The value of --X=VALUE, with one level of double quotes removed. */
static const char *unquote(const char *v, char *buf, size_t cap)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		if (n - 2 >= cap)
			return NULL;
		memcpy(buf, v + 1, n - 2);
		buf[n - 2] = 0;
		return buf;
	}
	return v;
}

static memcached_return_t conf_token(memcached_st *m, const char *tok)
{
	char vbuf[512], host[256];
	const char *v;
	unsigned port;
	uint32_t weight;

	for (size_t i = 0; i < sizeof(conf_flags) / sizeof(conf_flags[0]); i++)
		if (!strcmp(tok, conf_flags[i].name))
			return memcached_behavior_set(m, conf_flags[i].b, 1);
	for (size_t i = 0; i < sizeof(conf_nums) / sizeof(conf_nums[0]); i++)
		if (prefix(tok, conf_nums[i].name)) {
			char *end;
			const char *num = tok + strlen(conf_nums[i].name);
			unsigned long long n = strtoull(num, &end, 10);

			if (end == num || *end)
				break;
			return memcached_behavior_set(m, conf_nums[i].b, n);
		}
	if (prefix(tok, "--SERVER=") || prefix(tok, "--SOCKET=") ||
	    prefix(tok, "--SEGMENT=")) {
		const char *eq = strchr(tok, '=') + 1;
		int sock = tok[2] == 'S' && tok[3] == 'O';

		v = unquote(eq, vbuf, sizeof(vbuf));
		if (!v || !*v)
			return MEMCACHED_PARSE_ERROR;
		if (tok[2] == 'S' && tok[3] == 'E' && tok[4] == 'G')
			return add_segment(m, v, 0, 0);
		if (split_server(v, strlen(v), host, sizeof(host), &port,
				 &weight))
			return MEMCACHED_PARSE_ERROR;
		if (sock || host[0] == '/')
			return mc_add_server(m, host, 0, weight, MC_UNIX);
		return mc_add_server(m, host, (in_port_t)port, weight, MC_TCP);
	}
	if (prefix(tok, "--HASH=")) {
		for (size_t i = 0;
		     i < sizeof(hash_names) / sizeof(hash_names[0]); i++)
			if (!strcasecmp(tok + 7, hash_names[i]))
				return memcached_behavior_set_key_hash(
					m, (memcached_hash_t)i);
		return MEMCACHED_PARSE_ERROR;
	}
	if (prefix(tok, "--DISTRIBUTION=")) {
		const char *d = tok + 15;

		if (!strcasecmp(d, "modula"))
			return memcached_behavior_set_distribution(
				m, MEMCACHED_DISTRIBUTION_MODULA);
		if (!strcasecmp(d, "consistent"))
			return memcached_behavior_set_distribution(
				m, MEMCACHED_DISTRIBUTION_CONSISTENT);
		if (!strcasecmp(d, "consistent,weighted"))
			return memcached_behavior_set_distribution(
				m, MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED);
		if (!strcasecmp(d, "random"))
			return memcached_behavior_set_distribution(
				m, MEMCACHED_DISTRIBUTION_RANDOM);
		return MEMCACHED_PARSE_ERROR;
	}
	return MEMCACHED_PARSE_ERROR;
}

/* Whitespace-separated options; a double-quoted value may hold spaces. */
static memcached_return_t parse_conf(memcached_st *m, const char *s, size_t len,
				     char *err, size_t errcap)
{
	size_t i = 0;

	while (i < len) {
		char tok[1024];
		size_t n = 0;
		int q = 0;
		memcached_return_t rc;

		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i >= len)
			break;
		while (i < len && (q || !isspace((unsigned char)s[i]))) {
			if (s[i] == '"')
				q = !q;
			if (n + 1 >= sizeof(tok)) {
				snprintf(err, errcap, "option too long");
				return MEMCACHED_PARSE_ERROR;
			}
			tok[n++] = s[i++];
		}
		tok[n] = 0;
		rc = conf_token(m, tok);
		if (rc != MEMCACHED_SUCCESS) {
			if (rc == MEMCACHED_PARSE_ERROR)
				snprintf(err, errcap,
					 "unknown or malformed "
					 "option: %s",
					 tok);
			else
				snprintf(err, errcap, "%s: %s", tok,
					 m->last_msg);
			return rc;
		}
	}
	return MEMCACHED_SUCCESS;
}

memcached_st *memcached(const char *string, size_t len)
{
	memcached_st *m = memcached_create(NULL);
	char err[512];

	if (!m || !string)
		return m;
	if (parse_conf(m, string, len, err, sizeof(err)) != MEMCACHED_SUCCESS) {
		memcached_free(m);
		return NULL;
	}
	return m;
}

memcached_return_t libmemcached_check_configuration(const char *s, size_t len,
						    char *err, size_t errcap)
{
	memcached_st m;
	memcached_return_t rc;
	char dummy[1];

	if (!s)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (!err || !errcap) {
		err = dummy;
		errcap = sizeof(dummy);
	}
	err[0] = 0;
	memcached_create(&m);
	rc = parse_conf(&m, s, len, err, errcap);
	memcached_free(&m);
	return rc;
}

/* ---- clone ------------------------------------------------------------ */

memcached_st *memcached_clone(memcached_st *clone, const memcached_st *src)
{
	memcached_st *m;

	if (!src)
		return memcached_create(clone);
	m = memcached_create(clone);
	if (!m)
		return NULL;
	{
		int allocated = m->allocated;

		*m = *src;
		m->allocated = allocated;
	}
	m->servers = NULL;
	m->ring = NULL;
	m->nservers = m->nring = 0;
	m->items = NULL;
	m->nitems = m->citems = m->next_item = 0;
	m->mget_active = 0;
	m->seg_ref = 0;
	memset(&m->result, 0, sizeof(m->result));
	m->result.root = m;
	if (src->nservers) {
		m->servers = malloc(src->nservers * sizeof(*m->servers));
		if (!m->servers) {
			memcached_free(m);
			return NULL;
		}
		memcpy(m->servers, src->servers,
		       src->nservers * sizeof(*m->servers));
		for (uint32_t i = 0; i < src->nservers; i++) {
			m->servers[i].fd = -1;
			m->servers[i].rbuf = NULL;
			m->servers[i].rpos = m->servers[i].rlen = 0;
		}
		m->nservers = src->nservers;
	}
	m->weighted = src->weighted;
	if (build_ring(m) != MEMCACHED_SUCCESS) {
		memcached_free(m);
		return NULL;
	}
	return m;
}

/* ---- errors ----------------------------------------------------------- */

static const char *const texts[MEMCACHED_MAXIMUM_RETURN] = {
	[MEMCACHED_SUCCESS] = "SUCCESS",
	[MEMCACHED_FAILURE] = "FAILURE",
	[MEMCACHED_HOST_LOOKUP_FAILURE] = "HOST NAME LOOKUP FAILED",
	[MEMCACHED_CONNECTION_FAILURE] = "CONNECTION FAILED",
	[MEMCACHED_CONNECTION_BIND_FAILURE] = "CONNECTION BIND FAILED",
	[MEMCACHED_WRITE_FAILURE] = "WRITE FAILED",
	[MEMCACHED_READ_FAILURE] = "READ FAILED",
	[MEMCACHED_UNKNOWN_READ_FAILURE] = "READ FAILED (UNEXPECTED REPLY)",
	[MEMCACHED_PROTOCOL_ERROR] = "PROTOCOL ERROR",
	[MEMCACHED_CLIENT_ERROR] = "CLIENT ERROR",
	[MEMCACHED_SERVER_ERROR] = "SERVER ERROR",
	[MEMCACHED_ERROR] = "SERVER SAID ERROR",
	[MEMCACHED_DATA_EXISTS] = "DATA EXISTS (CAS MISMATCH)",
	[MEMCACHED_DATA_DOES_NOT_EXIST] = "DATA DOES NOT EXIST",
	[MEMCACHED_NOTSTORED] = "NOT STORED",
	[MEMCACHED_STORED] = "STORED",
	[MEMCACHED_NOTFOUND] = "NOT FOUND",
	[MEMCACHED_MEMORY_ALLOCATION_FAILURE] = "OUT OF CLIENT MEMORY",
	[MEMCACHED_PARTIAL_READ] = "PARTIAL READ",
	[MEMCACHED_SOME_ERRORS] = "SOME SERVERS FAILED",
	[MEMCACHED_NO_SERVERS] = "NO SERVERS",
	[MEMCACHED_END] = "END OF RESULTS",
	[MEMCACHED_DELETED] = "DELETED",
	[MEMCACHED_VALUE] = "VALUE",
	[MEMCACHED_STAT] = "STAT",
	[MEMCACHED_ITEM] = "ITEM",
	[MEMCACHED_ERRNO] = "SYSTEM ERROR",
	[MEMCACHED_FAIL_UNIX_SOCKET] = "UNIX SOCKET FAILED",
	[MEMCACHED_NOT_SUPPORTED] = "NOT SUPPORTED",
	[MEMCACHED_NO_KEY_PROVIDED] = "NO KEY",
	[MEMCACHED_FETCH_NOTFINISHED] = "FETCH NOT FINISHED",
	[MEMCACHED_TIMEOUT] = "TIMED OUT",
	[MEMCACHED_BUFFERED] = "BUFFERED",
	[MEMCACHED_BAD_KEY_PROVIDED] = "BAD KEY",
	[MEMCACHED_INVALID_HOST_PROTOCOL] = "WRONG PROTOCOL FOR THIS SERVER",
	[MEMCACHED_SERVER_MARKED_DEAD] = "SERVER MARKED DEAD",
	[MEMCACHED_UNKNOWN_STAT_KEY] = "NO SUCH STAT",
	[MEMCACHED_E2BIG] = "ITEM TOO BIG",
	[MEMCACHED_INVALID_ARGUMENTS] = "INVALID ARGUMENTS",
	[MEMCACHED_KEY_TOO_BIG] = "KEY TOO BIG",
	[MEMCACHED_AUTH_PROBLEM] = "AUTHENTICATION PROBLEM",
	[MEMCACHED_AUTH_FAILURE] = "AUTHENTICATION FAILED",
	[MEMCACHED_AUTH_CONTINUE] = "AUTHENTICATION CONTINUES",
	[MEMCACHED_PARSE_ERROR] = "CONFIGURATION STRING NOT UNDERSTOOD",
	[MEMCACHED_PARSE_USER_ERROR] = "CONFIGURATION STRING REFUSED",
	[MEMCACHED_DEPRECATED] = "DEPRECATED",
	[MEMCACHED_IN_PROGRESS] = "IN PROGRESS",
	[MEMCACHED_SERVER_TEMPORARILY_DISABLED] = "SERVER DISABLED FOR NOW",
	[MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE] = "SERVER OUT OF MEMORY",
};

const char *memcached_strerror(const memcached_st *m, memcached_return_t rc)
{
	(void)m;
	if ((unsigned)rc < MEMCACHED_MAXIMUM_RETURN && texts[rc])
		return texts[rc];
	return "UNKNOWN RETURN CODE";
}

const char *memcached_last_error_message(const memcached_st *m)
{
	if (!m)
		return "no handle";
	if (m->last_rc == MEMCACHED_SUCCESS)
		return memcached_strerror(m, MEMCACHED_SUCCESS);
	return m->last_msg[0] ? m->last_msg : memcached_strerror(m, m->last_rc);
}

memcached_return_t memcached_last_error(const memcached_st *m)
{
	return m ? m->last_rc : MEMCACHED_INVALID_ARGUMENTS;
}

int memcached_last_error_errno(const memcached_st *m)
{
	return m ? m->last_errno : 0;
}
