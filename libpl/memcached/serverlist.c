// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/serverlist.c - memcached_server_list_st: building,
 * parsing "HOST:PORT[:WEIGHT], ..." strings, pushing onto a handle.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc.h"

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
int mc_split_server(const char *s, size_t len, char *host, size_t hcap,
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
		if (!mc_split_server(p, (size_t)(e - p), host, sizeof(host),
				     &port, &weight))
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
