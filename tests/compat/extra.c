// SPDX-License-Identifier: MIT
/*
 * tests/compat/extra.c - what only plmc's library does: segments as
 * servers, the refusals (binary protocol, UDP, unsupported hashes) and
 * their messages. Built against plmc's library only.
 *
 *   extra SEGMENT [PORT]
 *
 * SEGMENT: an existing segment (the none backend will do); PORT: where
 * tests/compat/badserver.py listens, for the hostile-server checks.
 *
 * Prints PASS/FAIL per check and "N passed, N failed" (a sub-count:
 * run.sh adds it to its own).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmemcached/memcached.h>
#include <plmc.h>

static int pass, fail;

static void check(int ok, const char *what, const memcached_st *m)
{
	if (ok) {
		printf("PASS %s\n", what);
		pass++;
	} else {
		printf("FAIL %s (last error: %s)\n", what,
		       m ? memcached_last_error_message(m) : "-");
		fail++;
	}
}

static memcached_st *conf(const char *fmt, const char *arg)
{
	char buf[512];

	snprintf(buf, sizeof(buf), fmt, arg);
	return memcached(buf, strlen(buf));
}

static uint64_t seg_sets(void)
{
	struct plmc_stats st = {.size = sizeof(st)};

	return plmc_stats(&st) == PLMC_OK ? st.cmd_set : ~0ull;
}

/* Threads, each with its own handles (libmemcached's rule), opening and
 * freeing them while the others work: the segment's attach count must
 * hold it attached throughout and let it go at the end. */
static const char *thread_seg;

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	char conf[300], key[32], val[32];

	snprintf(conf, sizeof(conf), "--SEGMENT=%s", thread_seg);
	for (int round = 0; round < 3; round++) {
		memcached_st *m = memcached(conf, strlen(conf));

		if (!m)
			return (void *)1000;
		for (int i = 0; i < 100; i++) {
			int kl = snprintf(key, sizeof(key), "t%ld-%d", id, i);
			int vl = snprintf(val, sizeof(val), "%ld-%d-%d", id, i,
					  round);
			size_t len;
			uint32_t flags;
			memcached_return_t rc;
			char *v;

			if (memcached_set(m, key, (size_t)kl, val, (size_t)vl,
					  0,
					  (uint32_t)id) != MEMCACHED_SUCCESS) {
				bad++;
				continue;
			}
			v = memcached_get(m, key, (size_t)kl, &len, &flags,
					  &rc);
			bad += !v || len != (size_t)vl || memcmp(v, val, len) ||
			       flags != (uint32_t)id;
			free(v);
		}
		memcached_free(m);
	}
	return (void *)bad;
}

static void threads(const char *seg)
{
	pthread_t t[4];
	long bad = 0;

	thread_seg = seg;
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (long)r;
	}
	check(bad == 0 && plmc_backend() == NULL,
	      "4 threads x 3 handles x 100 set+get on the segment, then "
	      "detached",
	      NULL);
}

/* A good get after each bad answer: the handle recovered. */
static int good_after(memcached_st *m)
{
	size_t len;
	uint32_t flags;
	memcached_return_t rc;
	char *v = memcached_get(m, "good", 4, &len, &flags, &rc);
	int ok = v && len == 2 && !memcmp(v, "ok", 2) && flags == 5;

	free(v);
	return ok;
}

/* tests/compat/badserver.py on PORT: every bad answer is a clear code,
 * and the next call works. */
static void hostile(const char *port)
{
	static const struct {
		const char *key;
		memcached_return_t want;
		const char *what;
	} gets[] = {
		{"junk", MEMCACHED_PROTOCOL_ERROR, "a junk line"},
		{"huge", MEMCACHED_PROTOCOL_ERROR,
		 "VALUE of 99999999999 bytes"},
		{"short", MEMCACHED_CONNECTION_FAILURE,
		 "a value cut short by a close"},
		{"longkey", MEMCACHED_PROTOCOL_ERROR,
		 "VALUE with a 300-byte key"},
		{"endless", MEMCACHED_PROTOCOL_ERROR, "a 70000-byte line"},
		{"silent", MEMCACHED_TIMEOUT,
		 "no answer (POLL_TIMEOUT 300 ms)"},
	};
	static const struct {
		const char *key;
		memcached_return_t want;
		const char *what;
	} sets[] = {
		{"nomem", MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE,
		 "SERVER_ERROR out of memory"},
		{"toobig", MEMCACHED_E2BIG, "SERVER_ERROR object too large"},
		{"weird", MEMCACHED_SERVER_ERROR, "another SERVER_ERROR"},
	};
	char conf[128], what[160];
	memcached_st *m;
	memcached_return_t rc;
	uint64_t v;

	snprintf(conf, sizeof(conf), "--SERVER=127.0.0.1:%s --POLL-TIMEOUT=300",
		 port);
	m = memcached(conf, strlen(conf));
	check(m && good_after(m), "bad server: a good get works", m);
	if (!m)
		return;
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		size_t len;
		uint32_t flags;
		char *val = memcached_get(m, gets[i].key, strlen(gets[i].key),
					  &len, &flags, &rc);

		free(val);
		snprintf(what, sizeof(what),
			 "bad server, get: %s -> %s, then a good get",
			 gets[i].what, memcached_strerror(m, gets[i].want));
		check(!val && rc == gets[i].want && good_after(m), what, m);
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		rc = memcached_set(m, sets[i].key, strlen(sets[i].key), "v", 1,
				   0, 0);
		snprintf(what, sizeof(what), "bad server, set: %s -> %s",
			 sets[i].what, memcached_strerror(m, sets[i].want));
		check(rc == sets[i].want && good_after(m), what, m);
	}
	rc = memcached_increment(m, "nan", 3, 1, &v);
	check(rc == MEMCACHED_PROTOCOL_ERROR && good_after(m),
	      "bad server, incr: a reply that is not a number", m);
	rc = memcached_increment(m, "over", 4, 1, &v);
	check(rc == MEMCACHED_PROTOCOL_ERROR && good_after(m),
	      "bad server, incr: a number past 2^64", m);
	rc = memcached_increment(m, "n", 1, 1, &v);
	check(rc == MEMCACHED_SUCCESS && v == 7, "bad server, incr: 7", m);
	memcached_free(m);
}

int main(int argc, char **argv)
{
	const char *seg;
	char err[256];
	memcached_st *m, *o, *c;
	memcached_return_t rc;
	const memcached_instance_st *s;
	size_t len;
	uint32_t flags;
	char *v;
	uint64_t before;
	int distinct = 1;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: extra SEGMENT [BADSERVER_PORT]\n");
		return 2;
	}
	seg = argv[1];

	/* refusals */
	m = memcached_create(NULL);
	rc = memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	check(rc == MEMCACHED_NOT_SUPPORTED &&
		      strstr(memcached_last_error_message(m), "binary") &&
		      memcached_behavior_get(
			      m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL) == 0,
	      "BINARY_PROTOCOL on: NOT_SUPPORTED, says why, stays off", m);
	check(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL,
				     0) == MEMCACHED_SUCCESS,
	      "BINARY_PROTOCOL off: SUCCESS", m);
	check(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_USE_UDP, 1) ==
			      MEMCACHED_NOT_SUPPORTED &&
		      memcached_server_add_udp(m, "127.0.0.1", 1) ==
			      MEMCACHED_NOT_SUPPORTED &&
		      memcached_server_count(m) == 0,
	      "UDP: NOT_SUPPORTED, no server added", m);
	check(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
				     MEMCACHED_HASH_MURMUR) ==
			      MEMCACHED_INVALID_ARGUMENTS &&
		      memcached_behavior_get(m, MEMCACHED_BEHAVIOR_HASH) ==
			      MEMCACHED_HASH_DEFAULT,
	      "HASH=MURMUR: INVALID_ARGUMENTS, hash unchanged", m);
	memcached_free(m);
	check(!memcached("--BINARY-PROTOCOL", 17),
	      "memcached(\"--BINARY-PROTOCOL\"): NULL", NULL);
	rc = libmemcached_check_configuration("--BINARY-PROTOCOL", 17, err,
					      sizeof(err));
	check(rc == MEMCACHED_NOT_SUPPORTED && strstr(err, "binary"),
	      "check_configuration(--BINARY-PROTOCOL): NOT_SUPPORTED", NULL);
	rc = libmemcached_check_configuration("--NO-SUCH", 9, err, sizeof(err));
	check(rc == MEMCACHED_PARSE_ERROR && strstr(err, "--NO-SUCH"),
	      "check_configuration(--NO-SUCH): PARSE_ERROR naming it", NULL);
	{
		const char *ok = "--SERVER=a:1 --SOCKET=/s --SEGMENT=x@h:2 "
				 "--HASH=CRC";

		rc = libmemcached_check_configuration(ok, strlen(ok), err,
						      sizeof(err));
	}
	check(rc == MEMCACHED_SUCCESS,
	      "check_configuration(servers, socket, segment, hash): SUCCESS",
	      NULL);

	/* a segment named in a configuration string */
	m = conf("--SEGMENT=%s@127.0.0.1:4242", seg);
	s = m ? memcached_server_instance_by_position(m, 0) : NULL;
	check(s && memcached_server_count(m) == 1 &&
		      !strcmp(memcached_server_type(s), "PLMC") &&
		      !strcmp(memcached_server_name(s), "127.0.0.1") &&
		      memcached_server_port(s) == 4242,
	      "--SEGMENT=NAME@HOST:PORT: type PLMC, named HOST PORT", m);
	check(plmc_backend() == NULL, "no attach before the first call", m);
	rc = memcached_set(m, "x1", 2, "gate", 4, 0, 3);
	before = seg_sets();
	check(rc == MEMCACHED_SUCCESS && plmc_backend() != NULL,
	      "first set attaches the segment", m);
	v = memcached_get(m, "x1", 2, &len, &flags, &rc);
	check(v && len == 4 && !memcmp(v, "gate", 4) && flags == 3,
	      "get through the gate", m);
	free(v);
	c = memcached_clone(NULL, m);
	v = c ? memcached_get(c, "x1", 2, &len, &flags, &rc) : NULL;
	check(v && len == 4, "a clone reaches the same segment", c);
	free(v);
	memcached_free(c);
	rc = memcached_set(m, "x2", 2, "v", 1, 0, 0);
	check(rc == MEMCACHED_SUCCESS && seg_sets() == before + 1,
	      "a set is one store set (the segment's cmd_set)", m);

	/* one segment per process */
	o = conf("--SEGMENT=%s-other", seg);
	rc = o ? memcached_set(o, "k", 1, "v", 1, 0, 0) : MEMCACHED_FAILURE;
	check(rc == MEMCACHED_CONNECTION_FAILURE &&
		      strstr(memcached_last_error_message(o),
			     "one segment per process"),
	      "a second segment in the process: CONNECTION_FAILURE, why", o);
	memcached_free(o);
	{
		char buf[512];

		snprintf(buf, sizeof(buf), "--SEGMENT=%s --SEGMENT=%s-b", seg,
			 seg);
		check(!memcached(buf, strlen(buf)),
		      "two segments in one handle: NULL", NULL);
	}
	memcached_free(m);
	check(plmc_backend() == NULL, "the last handle freed detaches", NULL);

	/* memcached_server_add with a plmc: name */
	m = memcached_create(NULL);
	{
		char name[300];

		snprintf(name, sizeof(name), "plmc:%s", seg);
		rc = memcached_server_add(m, name, 0);
	}
	v = memcached_get(m, "x1", 2, &len, &flags, &rc);
	check(v && len == 4, "server_add(\"plmc:NAME\"): same data again", m);
	free(v);
	memcached_free(m);
	m = memcached_create(NULL);
	{
		char name[300];

		snprintf(name, sizeof(name), "plmc:%s@127.0.0.1", seg);
		rc = memcached_server_add(m, name, 4343);
	}
	s = memcached_server_instance_by_position(m, 0);
	check(rc == MEMCACHED_SUCCESS && s &&
		      !strcmp(memcached_server_name(s), "127.0.0.1") &&
		      memcached_server_port(s) == 4343,
	      "server_add(\"plmc:NAME@HOST\", PORT): named HOST PORT", m);
	memcached_free(m);

	m = memcached("--SEGMENT=no-such-segment-here", 30);
	rc = m ? memcached_set(m, "k", 1, "v", 1, 0, 0) : MEMCACHED_FAILURE;
	check(rc == MEMCACHED_CONNECTION_FAILURE &&
		      strstr(memcached_last_error_message(m),
			     "no-such-segment-here"),
	      "a missing segment: CONNECTION_FAILURE naming it", m);
	memcached_free(m);

	threads(seg);
	if (argc == 3)
		hostile(argv[2]);

	/* texts */
	for (int a = 0; a < MEMCACHED_MAXIMUM_RETURN; a++)
		for (int b = a + 1; b < MEMCACHED_MAXIMUM_RETURN; b++)
			if (!strcmp(memcached_strerror(NULL,
						       (memcached_return_t)a),
				    memcached_strerror(NULL,
						       (memcached_return_t)b)))
				distinct = 0;
	check(distinct &&
		      strstr(memcached_strerror(NULL, (memcached_return_t)999),
			     "UNKNOWN"),
	      "strerror: a distinct text per code, UNKNOWN past the end", NULL);
	printf("extra: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
