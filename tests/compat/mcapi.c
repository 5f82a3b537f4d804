// SPDX-License-Identifier: MIT
/*
 * tests/compat/mcapi.c - a client written against libmemcached's
 * documented API, and nothing else. Built twice: against Debian's
 * libmemcached (-lmemcached) and against plmc's compat library; the two
 * runs against the same kind of server must print the same bytes.
 *
 *   mcapi CONFIG HOST:PORT SOCKET binary|text
 *
 * CONFIG is a memcached() configuration string for the handle that runs
 * every operation; HOST:PORT and SOCKET feed the server_add, server_push
 * and config-string checks; the last word picks the protocol of the
 * _with_initial part (see with_initial()). Nothing printed depends on timing,
 * CAS values or the order servers answer in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmemcached/memcached.h>

static const char *rcname(memcached_return_t rc)
{
	switch (rc) {
	case MEMCACHED_SUCCESS:
		return "SUCCESS";
	case MEMCACHED_FAILURE:
		return "FAILURE";
	case MEMCACHED_CONNECTION_FAILURE:
		return "CONNECTION_FAILURE";
	case MEMCACHED_WRITE_FAILURE:
		return "WRITE_FAILURE";
	case MEMCACHED_READ_FAILURE:
		return "READ_FAILURE";
	case MEMCACHED_PROTOCOL_ERROR:
		return "PROTOCOL_ERROR";
	case MEMCACHED_CLIENT_ERROR:
		return "CLIENT_ERROR";
	case MEMCACHED_SERVER_ERROR:
		return "SERVER_ERROR";
	case MEMCACHED_ERROR:
		return "ERROR";
	case MEMCACHED_DATA_EXISTS:
		return "DATA_EXISTS";
	case MEMCACHED_NOTSTORED:
		return "NOTSTORED";
	case MEMCACHED_STORED:
		return "STORED";
	case MEMCACHED_NOTFOUND:
		return "NOTFOUND";
	case MEMCACHED_END:
		return "END";
	case MEMCACHED_DELETED:
		return "DELETED";
	case MEMCACHED_NO_SERVERS:
		return "NO_SERVERS";
	case MEMCACHED_NOT_SUPPORTED:
		return "NOT_SUPPORTED";
	case MEMCACHED_BUFFERED:
		return "BUFFERED";
	case MEMCACHED_BAD_KEY_PROVIDED:
		return "BAD_KEY_PROVIDED";
	case MEMCACHED_E2BIG:
		return "E2BIG";
	case MEMCACHED_INVALID_ARGUMENTS:
		return "INVALID_ARGUMENTS";
	case MEMCACHED_KEY_TOO_BIG:
		return "KEY_TOO_BIG";
	case MEMCACHED_PARSE_ERROR:
		return "PARSE_ERROR";
	case MEMCACHED_DEPRECATED:
		return "DEPRECATED";
	case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
		return "SERVER_MEMORY_ALLOCATION_FAILURE";
	default:
		return "other";
	}
}

static void show(const char *what, memcached_return_t rc)
{
	printf("%-36s %2d %s\n", what, (int)rc, rcname(rc));
}

/* get, then print the value (or its absence), its flags and the code. */
static void show_get(memcached_st *m, const char *what, const char *key)
{
	size_t len = 0;
	uint32_t flags = 0;
	memcached_return_t rc;
	char *v = memcached_get(m, key, strlen(key), &len, &flags, &rc);

	if (v)
		printf("%-36s %2d %s value=%.*s len=%zu flags=%u\n", what,
		       (int)rc, rcname(rc), (int)len, v, len, flags);
	else
		printf("%-36s %2d %s (no value)\n", what, (int)rc, rcname(rc));
	free(v);
}

static void show_u64(const char *what, memcached_return_t rc, uint64_t v)
{
	printf("%-36s %2d %s value=%llu\n", what, (int)rc, rcname(rc),
	       rc == MEMCACHED_SUCCESS ? (unsigned long long)v : 0ULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define SET(m, k, v, fl)                                                       \
	memcached_set(m, k, strlen(k), v, strlen(v), (time_t)0, (uint32_t)(fl))

/* mget + fetch_result: hits sorted by key (servers answer in any order). */
static void mget_sorted(memcached_st *m, const char *what, const char **keys,
			size_t n)
{
	size_t lens[16];
	char *lines[16];
	int nl = 0;
	memcached_result_st res, *r;
	memcached_return_t rc;

	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(keys[i]);
	rc = memcached_mget(m, keys, lens, n);
	show(what, rc);
	if (!memcached_result_create(m, &res)) {
		printf("result_create failed\n");
		return;
	}
	while ((r = memcached_fetch_result(m, &res, &rc)) && nl < 16) {
		char *l = malloc(512);

		snprintf(l, 512, "  hit %.*s=%.*s len=%zu flags=%u cas=%s",
			 (int)memcached_result_key_length(r),
			 memcached_result_key_value(r),
			 (int)memcached_result_length(r),
			 memcached_result_value(r), memcached_result_length(r),
			 memcached_result_flags(r),
			 memcached_result_cas(r) ? "set" : "zero");
		lines[nl++] = l;
	}
	qsort(lines, nl, sizeof(lines[0]), cmp_str);
	for (int i = 0; i < nl; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	show("  fetch_result end", rc);
	memcached_result_free(&res);
}

/* The CAS unique of key, read with mget + fetch_result. */
static uint64_t get_cas(memcached_st *m, const char *key)
{
	const char *keys[1] = {key};
	size_t lens[1] = {strlen(key)};
	memcached_result_st *r;
	memcached_return_t rc;
	uint64_t cas = 0;

	if (memcached_mget(m, keys, lens, 1) != MEMCACHED_SUCCESS)
		return 0;
	while ((r = memcached_fetch_result(m, NULL, &rc))) {
		cas = memcached_result_cas(r);
		memcached_result_free(r);
	}
	return cas;
}

static void storage(memcached_st *m)
{
	memcached_return_t rc;
	char big[300];

	show("flush", memcached_flush(m, 0));
	show("set k1", SET(m, "k1", "v1", 7));
	show_get(m, "get k1", "k1");
	show_get(m, "get missing", "missing");
	show("add k1 (exists)", memcached_add(m, "k1", 2, "x", 1, 0, 0));
	show("add k2", memcached_add(m, "k2", 2, "v2", 2, 0, 3));
	show_get(m, "get k2", "k2");
	show("replace missing", memcached_replace(m, "k3", 2, "x", 1, 0, 0));
	show("replace k2", memcached_replace(m, "k2", 2, "w2", 2, 0, 4));
	show_get(m, "get k2 replaced", "k2");
	show("append k1", memcached_append(m, "k1", 2, "-a", 2, 0, 0));
	show("prepend k1", memcached_prepend(m, "k1", 2, "p-", 2, 0, 0));
	show_get(m, "get k1 appended", "k1");
	show("append missing", memcached_append(m, "k3", 2, "x", 1, 0, 0));
	show("prepend missing", memcached_prepend(m, "k3", 2, "x", 1, 0, 0));
	show_get(m, "get k3 (still missing)", "k3");
	show("set empty value", memcached_set(m, "e", 1, "", 0, 0, 1));
	show_get(m, "get empty value", "e");
	show("set expired (exptime -1)",
	     memcached_set(m, "gone", 4, "x", 1, (time_t)-1, 0));
	show_get(m, "get expired", "gone");

	/* cas */
	show("behavior_set SUPPORT_CAS",
	     memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1));
	{
		uint64_t cas = get_cas(m, "k1");

		printf("cas of k1 %s\n", cas ? "nonzero" : "zero");
		show("cas k1 (right unique)",
		     memcached_cas(m, "k1", 2, "c1", 2, 0, 9, cas));
		show("cas k1 (stale unique)",
		     memcached_cas(m, "k1", 2, "c2", 2, 0, 9, cas));
		show_get(m, "get k1 after cas", "k1");
		show("cas missing",
		     memcached_cas(m, "k3", 2, "x", 1, 0, 0, cas));
	}

	/* delete */
	show("delete k2", memcached_delete(m, "k2", 2, 0));
	show("delete k2 again", memcached_delete(m, "k2", 2, 0));
	show_get(m, "get k2 deleted", "k2");

	/* bad keys and values */
	memset(big, 'k', sizeof(big));
	show("set key 251 bytes", memcached_set(m, big, 251, "x", 1, 0, 0));
	show("set key 250 bytes", memcached_set(m, big, 250, "x", 1, 0, 0));
	{
		size_t len;
		uint32_t fl;
		char *v = memcached_get(m, big, 250, &len, &fl, &rc);

		printf("%-36s %2d %s len=%zu\n", "get key 250 bytes", (int)rc,
		       rcname(rc), v ? len : 0);
		free(v);
	}
	show("set empty key", memcached_set(m, "", 0, "x", 1, 0, 0));
	show("behavior_set VERIFY_KEY",
	     memcached_behavior_set(m, MEMCACHED_BEHAVIOR_VERIFY_KEY, 1));
	show("set key with space", SET(m, "a b", "x", 0));
	show("set key with newline", SET(m, "a\nb", "x", 0));
	show("delete key with space", memcached_delete(m, "a b", 3, 0));
	{
		size_t n = 2 << 20;
		char *v = calloc(1, n);

		show("set 2 MiB value",
		     memcached_set(m, "huge", 4, v, n, 0, 0));
		free(v);
		show_get(m, "get 2 MiB value (refused)", "huge");
	}
}

/* Each call runs before its value is printed. */
#define COUNTER(what, call)                                                    \
	do {                                                                   \
		uint64_t v = 0;                                                \
		memcached_return_t rc_ = (call);                               \
		show_u64(what, rc_, v);                                        \
	} while (0)

static void counters(memcached_st *m)
{
	show("set n=10", SET(m, "n", "10", 0));
	COUNTER("increment n 5", memcached_increment(m, "n", 1, 5, &v));
	COUNTER("decrement n 3", memcached_decrement(m, "n", 1, 3, &v));
	COUNTER("decrement n 100 (floor 0)",
		memcached_decrement(m, "n", 1, 100, &v));
	show("set big=18446744073709551615",
	     SET(m, "big", "18446744073709551615", 0));
	COUNTER("increment big 2 (wraps)",
		memcached_increment(m, "big", 3, 2, &v));
	COUNTER("increment missing", memcached_increment(m, "nx", 2, 1, &v));
	COUNTER("decrement missing", memcached_decrement(m, "nx", 2, 1, &v));
	show("set text=abc", SET(m, "text", "abc", 0));
	COUNTER("increment non-numeric",
		memcached_increment(m, "text", 4, 1, &v));
	show("set n=7", SET(m, "n", "7", 0));
	COUNTER("increment n 1", memcached_increment(m, "n", 1, 1, &v));
	show_get(m, "get n", "n");
}

/*
 * The _with_initial forms. libmemcached offers them only over its binary
 * protocol, so its build runs this part with BINARY_PROTOCOL on (argv[4]
 * "binary"); plmc's library offers them over the text protocol ("text").
 * Either way the answers are the binary command's.
 */
static void with_initial(const char *conf, const char *proto)
{
	memcached_st *m = memcached(conf, strlen(conf));

	if (!m) {
		printf("memcached(CONFIG) NULL\n");
		return;
	}
	if (!strcmp(proto, "binary"))
		memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL,
				       1);
	COUNTER("increment_with_initial missing",
		memcached_increment_with_initial(m, "ni", 2, 1, 42, 0, &v));
	COUNTER("increment_with_initial again",
		memcached_increment_with_initial(m, "ni", 2, 1, 42, 0, &v));
	COUNTER("decrement_with_initial missing",
		memcached_decrement_with_initial(m, "nd", 2, 1, 42, 0, &v));
	COUNTER("decrement_with_initial again",
		memcached_decrement_with_initial(m, "nd", 2, 5, 42, 0, &v));
	COUNTER("increment_with_initial NOT_ADD",
		memcached_increment_with_initial(
			m, "nn", 2, 1, 42, MEMCACHED_EXPIRATION_NOT_ADD, &v));
	show_get(m, "get ni", "ni");
	show_get(m, "get nn", "nn");
	memcached_free(m);
}

static void touch_flush(memcached_st *m)
{
	show("set t", SET(m, "t", "tv", 0));
	show("touch t", memcached_touch(m, "t", 1, 100));
	show_get(m, "get t touched", "t");
	show("touch missing", memcached_touch(m, "tx", 2, 100));
	show("touch t expired (-1)", memcached_touch(m, "t", 1, (time_t)-1));
	show_get(m, "get t after touch -1", "t");
	show("flush", memcached_flush(m, 0));
	show_get(m, "get k1 after flush", "k1");
}

static void multi(memcached_st *m)
{
	const char *keys[] = {"m1", "m2", "mx", "m3", "my"};
	const char *none[] = {"q1", "q2"};
	char kbuf[MEMCACHED_MAX_KEY];
	size_t klen, vlen;
	uint32_t flags;
	memcached_return_t rc;
	char *v;
	int hits = 0;

	show("set m1", SET(m, "m1", "one", 1));
	show("set m2", SET(m, "m2", "two", 2));
	show("set m3", SET(m, "m3", "", 3));
	mget_sorted(m, "mget 5 keys (3 hits)", keys, 5);
	mget_sorted(m, "mget 2 keys (no hits)", none, 2);
	/* memcached_fetch: the older interface, key copied into kbuf */
	show("mget 5 keys for fetch",
	     memcached_mget(m, keys, (size_t[]){2, 2, 2, 2, 2}, 5));
	while ((v = memcached_fetch(m, kbuf, &klen, &vlen, &flags, &rc))) {
		hits++;
		free(v);
	}
	printf("%-36s %2d %s hits=%d\n", "fetch end", (int)rc, rcname(rc),
	       hits);
	show("mget 0 keys", memcached_mget(m, keys, (size_t[]){0}, 0));

	/* how fetches end: one result reused over two mgets, a NULL
	 * result, a fetch after the end, a get between mget and fetch */
	{
		memcached_result_st res, *r;
		int n = 0;

		memcached_result_create(m, &res);
		memcached_mget(m, keys, (size_t[]){2, 2, 2, 2, 2}, 5);
		while ((r = memcached_fetch_result(m, &res, &rc)))
			n++;
		printf("%-36s %2d %s hits=%d\n", "reused result, 1st mget",
		       (int)rc, rcname(rc), n);
		memcached_mget(m, none, (size_t[]){2, 2}, 2);
		while ((r = memcached_fetch_result(m, &res, &rc)))
			n++;
		show("reused result, 2nd mget (no hits)", rc);
		memcached_result_free(&res);
		n = 0;
		memcached_mget(m, keys, (size_t[]){2, 2, 2, 2, 2}, 5);
		while ((r = memcached_fetch_result(m, NULL, &rc))) {
			n++;
			memcached_result_free(r);
		}
		printf("%-36s %2d %s hits=%d\n", "NULL result", (int)rc,
		       rcname(rc), n);
		r = memcached_fetch_result(m, NULL, &rc);
		show("fetch after the end", rc);
		memcached_mget(m, keys, (size_t[]){2, 2, 2, 2, 2}, 5);
		show_get(m, "get between mget and fetch", "m2");
		r = memcached_fetch_result(m, NULL, &rc);
		printf("%-36s %2d %s %s\n", "fetch after that get", (int)rc,
		       rcname(rc), r ? "result" : "NULL");
		memcached_result_free(r);
	}
}

/* Values larger than any first-try buffer, and an mget of 150 keys. */
static void large(memcached_st *m)
{
	enum { BIG = 20000, NKEYS = 150 };
	char *big = malloc(BIG), key[32];
	const char *keys[NKEYS];
	size_t lens[NKEYS], len, total = 0;
	uint32_t flags, sum = 0;
	memcached_result_st *r;
	memcached_return_t rc;
	char *v;
	int hits = 0, good = 0;

	for (int i = 0; i < BIG; i++)
		big[i] = (char)('a' + i % 26);
	show("set 20000-byte value",
	     memcached_set(m, "big0", 4, big, BIG, 0, 5));
	v = memcached_get(m, "big0", 4, &len, &flags, &rc);
	printf("%-36s %2d %s len=%zu flags=%u same=%d\n",
	       "get 20000-byte value", (int)rc, rcname(rc), len, flags,
	       v && len == BIG && !memcmp(v, big, BIG));
	free(v);
	for (int i = 0; i < NKEYS; i++) {
		int kl = snprintf(key, sizeof(key), "many:%d", i);

		keys[i] = strdup(key);
		lens[i] = (size_t)kl;
		if (i % 3 == 0)
			continue; /* a third stay missing */
		rc = memcached_set(m, key, (size_t)kl, big,
				   (size_t)(i % 5 == 0 ? 3000 + i : i), 0,
				   (uint32_t)i);
		if (rc != MEMCACHED_SUCCESS)
			printf("set %s: %d %s\n", key, (int)rc, rcname(rc));
	}
	show("mget 150 keys", memcached_mget(m, keys, lens, NKEYS));
	while ((r = memcached_fetch_result(m, NULL, &rc))) {
		int i = atoi(memcached_result_key_value(r) + 5);
		size_t want = (size_t)(i % 5 == 0 ? 3000 + i : i);

		hits++;
		total += memcached_result_length(r);
		sum += memcached_result_flags(r);
		good += memcached_result_length(r) == want &&
			!memcmp(memcached_result_value(r), big, want);
		memcached_result_free(r);
	}
	printf("%-36s %2d %s hits=%d right=%d bytes=%zu flagsum=%u\n",
	       "fetch 150 keys", (int)rc, rcname(rc), hits, good, total, sum);
	for (int i = 0; i < NKEYS; i++)
		free((char *)keys[i]);
	free(big);
}

static void behaviors(memcached_st *m)
{
	static const struct {
		memcached_behavior_t b;
		const char *name;
		uint64_t v;
	} bs[] = {
		{MEMCACHED_BEHAVIOR_NO_BLOCK, "NO_BLOCK", 1},
		{MEMCACHED_BEHAVIOR_TCP_NODELAY, "TCP_NODELAY", 1},
		{MEMCACHED_BEHAVIOR_SUPPORT_CAS, "SUPPORT_CAS", 0},
		{MEMCACHED_BEHAVIOR_HASH, "HASH", MEMCACHED_HASH_MD5},
		{MEMCACHED_BEHAVIOR_DISTRIBUTION, "DISTRIBUTION",
		 MEMCACHED_DISTRIBUTION_CONSISTENT},
		{MEMCACHED_BEHAVIOR_KETAMA, "KETAMA", 1},
		{MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, "KETAMA_WEIGHTED", 1},
		{MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, "CONNECT_TIMEOUT", 500},
		{MEMCACHED_BEHAVIOR_POLL_TIMEOUT, "POLL_TIMEOUT", 700},
		{MEMCACHED_BEHAVIOR_VERIFY_KEY, "VERIFY_KEY", 0},
	};
	char line[64];

	for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		snprintf(line, sizeof(line), "behavior %s set %llu", bs[i].name,
			 (unsigned long long)bs[i].v);
		show(line, memcached_behavior_set(m, bs[i].b, bs[i].v));
		printf("behavior %s get %llu\n", bs[i].name,
		       (unsigned long long)memcached_behavior_get(m, bs[i].b));
	}
	printf("behavior KETAMA get %llu\n",
	       (unsigned long long)memcached_behavior_get(
		       m, MEMCACHED_BEHAVIOR_KETAMA));
	printf("behavior DISTRIBUTION get %llu\n",
	       (unsigned long long)memcached_behavior_get(
		       m, MEMCACHED_BEHAVIOR_DISTRIBUTION));
	/* the data survives a change of distribution on one server */
	show("set after behaviors", SET(m, "b1", "bv", 0));
	show_get(m, "get after behaviors", "b1");
	/* noreply: the reply is not read; a later get sees the value */
	show("behavior NOREPLY set 1",
	     memcached_behavior_set(m, MEMCACHED_BEHAVIOR_NOREPLY, 1));
	printf("behavior NOREPLY get %llu\n",
	       (unsigned long long)memcached_behavior_get(
		       m, MEMCACHED_BEHAVIOR_NOREPLY));
	show("set noreply", SET(m, "nr", "quiet", 0));
	show("delete noreply", memcached_delete(m, "b1", 2, 0));
	show("behavior NOREPLY set 0",
	     memcached_behavior_set(m, MEMCACHED_BEHAVIOR_NOREPLY, 0));
	show_get(m, "get set-with-noreply", "nr");
	{
		const char *k[1] = { "nr" };

		/* SUPPORT_CAS is off again: no unique reported */
		mget_sorted(m, "mget without SUPPORT_CAS", k, 1);
	}
	show_get(m, "get deleted-with-noreply", "b1");
}

static void servers(const char *hostport, const char *sock)
{
	char host[128], conf[512];
	const char *colon = strrchr(hostport, ':');
	unsigned port = (unsigned)atoi(colon + 1);
	memcached_server_st *list;
	memcached_return_t rc;
	memcached_st *m, *c, st;

	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);

	m = memcached_create(NULL);
	printf("server_count empty %u\n", memcached_server_count(m));
	show_get(m, "get with no servers", "k");
	show("server_add", memcached_server_add(m, host, (in_port_t)port));
	show("server_add_unix_socket",
	     memcached_server_add_unix_socket(m, sock));
	printf("server_count %u\n", memcached_server_count(m));
	show("set via added servers", SET(m, "s1", "sv", 0));
	show_get(m, "get via added servers", "s1");
	c = memcached_clone(NULL, m);
	printf("clone %s server_count %u\n", c ? "ok" : "NULL",
	       c ? memcached_server_count(c) : 0);
	show_get(c, "get via clone", "s1");
	memcached_free(c);
	memcached_free(m);

	/* stack-allocated handle, servers_parse + server_push */
	if (!memcached_create(&st)) {
		printf("memcached_create(&st) failed\n");
		return;
	}
	snprintf(conf, sizeof(conf), "%s, %s", hostport, hostport);
	list = memcached_servers_parse(conf);
	printf("servers_parse count %u\n", memcached_server_list_count(list));
	show("server_push", memcached_server_push(&st, list));
	memcached_server_list_free(list);
	printf("server_count after push %u\n", memcached_server_count(&st));
	show_get(&st, "get via pushed servers", "s1");
	memcached_free(&st);

	/* configuration strings */
	snprintf(conf, sizeof(conf), "--SERVER=%s --SOCKET=\"%s\"", hostport,
		 sock);
	m = memcached(conf, strlen(conf));
	printf("memcached(--SERVER --SOCKET) %s server_count %u\n",
	       m ? "ok" : "NULL", m ? memcached_server_count(m) : 0);
	if (m)
		show_get(m, "get via config string", "s1");
	memcached_free(m);
	snprintf(conf, sizeof(conf),
		 "--SERVER=%s --DISTRIBUTION=consistent --HASH=MD5 "
		 "--TCP-NODELAY --SUPPORT-CAS --NOREPLY --VERIFY-KEY",
		 hostport);
	m = memcached(conf, strlen(conf));
	printf("memcached(options) %s\n", m ? "ok" : "NULL");
	if (m) {
		printf("  DISTRIBUTION %llu HASH %llu TCP_NODELAY %llu "
		       "SUPPORT_CAS %llu NOREPLY %llu VERIFY_KEY %llu\n",
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_DISTRIBUTION),
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_HASH),
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_TCP_NODELAY),
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_SUPPORT_CAS),
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_NOREPLY),
		       (unsigned long long)memcached_behavior_get(
			       m, MEMCACHED_BEHAVIOR_VERIFY_KEY));
	}
	memcached_free(m);
	m = memcached("--BOGUS-OPTION", strlen("--BOGUS-OPTION"));
	printf("memcached(--BOGUS-OPTION) %s\n", m ? "ok" : "NULL");
	memcached_free(m);
	m = memcached("--SERVER=127.0.0.1:1", strlen("--SERVER=127.0.0.1:1"));
	rc = SET(m, "k", "v", 0);
	printf("set to a closed port: %s\n",
	       rc == MEMCACHED_SUCCESS ? "SUCCESS" : "failed");
	memcached_free(m);
}

int main(int argc, char **argv)
{
	memcached_st *m;
	int bad = 0;

	if (argc != 5) {
		fprintf(stderr,
			"usage: mcapi CONFIG HOST:PORT SOCKET binary|text\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	m = memcached(argv[1], strlen(argv[1]));
	if (!m) {
		printf("memcached(CONFIG) NULL\n");
		return 1;
	}
	printf("server_count %u\n", memcached_server_count(m));
	for (int rc = 0; rc < MEMCACHED_MAXIMUM_RETURN; rc++) {
		const char *s = memcached_strerror(m, (memcached_return_t)rc);

		bad += !s || !*s;
	}
	printf("strerror: %d codes without a text\n", bad);
	printf("SUCCESS=%d NOTFOUND=%d NOTSTORED=%d DATA_EXISTS=%d END=%d "
	       "E2BIG=%d MAXIMUM_RETURN=%d\n",
	       MEMCACHED_SUCCESS, MEMCACHED_NOTFOUND, MEMCACHED_NOTSTORED,
	       MEMCACHED_DATA_EXISTS, MEMCACHED_END, MEMCACHED_E2BIG,
	       MEMCACHED_MAXIMUM_RETURN);
	printf("-- storage\n");
	storage(m);
	printf("-- counters\n");
	counters(m);
	printf("-- counters with an initial value\n");
	with_initial(argv[1], argv[4]);
	printf("-- touch and flush\n");
	touch_flush(m);
	printf("-- multi-get\n");
	multi(m);
	printf("-- large values\n");
	large(m);
	printf("-- behaviors\n");
	behaviors(m);
	memcached_free(m);
	printf("-- servers\n");
	servers(argv[2], argv[3]);
	return 0;
}
