// SPDX-License-Identifier: MIT
/*
 * tests/compat/ketama.c - key distribution over several servers, through
 * libmemcached's documented API only. Built against Debian's libmemcached
 * and against plmc's compat library (tests/compat/run.sh).
 *
 *   ketama map|write|where DIST N SERVER...
 *
 * DIST: weighted (KETAMA_WEIGHTED), ketama (KETAMA, default hash),
 * ketama-md5 (KETAMA and HASH=MD5), ketama-khash (KETAMA and
 * KETAMA_HASH=MD5), spy (CONSISTENT_KETAMA_SPY), modula, modula-crc,
 * modula-fnv1a32. SERVER: HOST:PORT[*WEIGHT], /SOCKET, or a plmc segment
 * spec (plmc:NAME@HOST:PORT, plmc's library only) added through a
 * configuration string.
 *   map    print "KEY HOST:PORT" for keys key:0 .. key:N-1 (no I/O)
 *   premap as map, the distribution set before the servers are added
 *   write  flush every server, then set every key (value = the key)
 *   where  ask every server alone for every key; print "KEY HOST:PORT"
 *          for the one server that has it (MISSING or MULTI otherwise)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmemcached/memcached.h>

static int add_one(memcached_st *m, const char *spec)
{
	char host[256];
	const char *colon, *star;
	unsigned port, weight = 0;

	if (!strncmp(spec, "plmc:", 5)) {
		char conf[600];
		memcached_st *tmp;
		memcached_server_st *list = NULL;
		memcached_return_t rc;

		/* Only plmc's library knows segments: through its server
		 * list (the same path memcached_server_push takes). */
		snprintf(conf, sizeof(conf), "%s", spec);
		list = memcached_server_list_append(list, conf, 0, &rc);
		tmp = m;
		rc = memcached_server_push(tmp, list);
		memcached_server_list_free(list);
		return rc == MEMCACHED_SUCCESS ? 0 : -1;
	}
	if (spec[0] == '/')
		return memcached_server_add_unix_socket(m, spec) ==
				       MEMCACHED_SUCCESS
			       ? 0
			       : -1;
	colon = strrchr(spec, ':');
	if (!colon)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	port = (unsigned)atoi(colon + 1);
	star = strchr(colon, '*');
	if (star)
		weight = (unsigned)atoi(star + 1);
	return memcached_server_add_with_weight(m, host, (in_port_t)port,
						weight) == MEMCACHED_SUCCESS
		       ? 0
		       : -1;
}

static int set_dist(memcached_st *m, const char *d)
{
	memcached_return_t rc = MEMCACHED_SUCCESS;

	if (!strcmp(d, "weighted"))
		rc = memcached_behavior_set(
			m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
	else if (!strcmp(d, "ketama"))
		rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA, 1);
	else if (!strcmp(d, "ketama-md5")) {
		rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA, 1);
		if (rc == MEMCACHED_SUCCESS)
			rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
						    MEMCACHED_HASH_MD5);
	} else if (!strcmp(d, "ketama-khash")) {
		rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA, 1);
		if (rc == MEMCACHED_SUCCESS)
			rc = memcached_behavior_set(
				m, MEMCACHED_BEHAVIOR_KETAMA_HASH,
				MEMCACHED_HASH_MD5);
	} else if (!strcmp(d, "spy"))
		rc = memcached_behavior_set(
			m, MEMCACHED_BEHAVIOR_DISTRIBUTION,
			MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY);
	else if (!strcmp(d, "modula"))
		rc = MEMCACHED_SUCCESS;
	else if (!strcmp(d, "modula-crc"))
		rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
					    MEMCACHED_HASH_CRC);
	else if (!strcmp(d, "modula-fnv1a32"))
		rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
					    MEMCACHED_HASH_FNV1A_32);
	else
		return -1;
	return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

/* A handle over the given servers; the distribution set before or after
 * the servers are added (both orders must give the same layout). */
static memcached_st *open_all(const char *dist, char **specs, int n,
			      int dist_first)
{
	memcached_st *m = memcached_create(NULL);

	if (!m)
		return NULL;
	/* Many small requests: no Nagle wait between them. */
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	if (dist_first && set_dist(m, dist))
		goto bad;
	for (int i = 0; i < n; i++)
		if (add_one(m, specs[i]))
			goto bad;
	if (!dist_first && set_dist(m, dist))
		goto bad;
	return m;
bad:
	fprintf(stderr, "ketama: cannot set up %s\n", dist);
	memcached_free(m);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode, *dist;
	int n, ns, bad = 0;
	char key[64];
	memcached_st *m;

	if (argc < 5) {
		fprintf(stderr,
			"usage: ketama map|write|where DIST N SERVER...\n");
		return 2;
	}
	mode = argv[1];
	dist = argv[2];
	n = atoi(argv[3]);
	ns = argc - 4;
	m = open_all(dist, argv + 4, ns,
		     !strcmp(mode, "write") || !strcmp(mode, "premap"));
	if (!m)
		return 1;
	if (!strcmp(mode, "map") || !strcmp(mode, "premap")) {
		for (int i = 0; i < n; i++) {
			memcached_return_t rc;
			const memcached_instance_st *s;
			int kl = snprintf(key, sizeof(key), "key:%d", i);

			s = memcached_server_by_key(m, key, (size_t)kl, &rc);
			if (!s) {
				printf("%s NONE %d\n", key, (int)rc);
				bad++;
				continue;
			}
			printf("%s %s:%u\n", key, memcached_server_name(s),
			       (unsigned)memcached_server_port(s));
		}
	} else if (!strcmp(mode, "write")) {
		if (memcached_flush(m, 0) != MEMCACHED_SUCCESS)
			bad++;
		for (int i = 0; i < n; i++) {
			int kl = snprintf(key, sizeof(key), "key:%d", i);
			memcached_return_t rc = memcached_set(
				m, key, (size_t)kl, key, (size_t)kl, 0, 0);

			if (rc != MEMCACHED_SUCCESS) {
				fprintf(stderr, "set %s: %s\n", key,
					memcached_strerror(m, rc));
				bad++;
			}
		}
		printf("wrote %d keys, %d failed\n", n, bad);
	} else if (!strcmp(mode, "where")) {
		memcached_st **one = calloc((size_t)ns, sizeof(*one));

		for (int j = 0; j < ns; j++) {
			one[j] = open_all("modula", argv + 4 + j, 1, 0);
			if (!one[j])
				return 1;
		}
		for (int i = 0; i < n; i++) {
			int kl = snprintf(key, sizeof(key), "key:%d", i);
			int found = -1, hits = 0;

			for (int j = 0; j < ns; j++) {
				size_t vl;
				uint32_t fl;
				memcached_return_t rc;
				char *v = memcached_get(one[j], key, (size_t)kl,
							&vl, &fl, &rc);

				if (v && vl == (size_t)kl &&
				    !memcmp(v, key, vl)) {
					found = j;
					hits++;
				}
				free(v);
			}
			if (hits == 1) {
				const memcached_instance_st *s =
					memcached_server_instance_by_position(
						m, (uint32_t)found);

				printf("%s %s:%u\n", key,
				       memcached_server_name(s),
				       (unsigned)memcached_server_port(s));
			} else {
				printf("%s %s\n", key,
				       hits ? "MULTI" : "MISSING");
				bad++;
			}
		}
		for (int j = 0; j < ns; j++)
			memcached_free(one[j]);
		free(one);
	} else {
		fprintf(stderr, "ketama: unknown mode %s\n", mode);
		return 2;
	}
	memcached_free(m);
	return bad ? 1 : 0;
}
