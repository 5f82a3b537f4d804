// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/conf.c - libmemcached's configuration strings
 * (memcached(), libmemcached_check_configuration).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc.h"

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
			return mc_add_segment(m, v, 0, 0);
		if (mc_split_server(v, strlen(v), host, sizeof(host), &port,
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
