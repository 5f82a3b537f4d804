// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/ring.c - which server owns a key: the ketama continuum
 * and the modula distribution.
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

int mc_is_consistent(int d)
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

memcached_return_t mc_ring_build(memcached_st *m)
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
	if (!mc_is_consistent(m->distribution) || !n)
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
	if (!mc_is_consistent(m->distribution) || !m->nring)
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
