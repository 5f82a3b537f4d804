// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/server.c - adding servers to a handle (TCP, Unix
 * sockets, plmc segments) and reading them back.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc.h"

/* "plmc:NAME[@HOST[:PORT]]" or, from --SEGMENT, "NAME[@HOST[:PORT]]". */
/* @port: the port argument of a server_add; used for "NAME@HOST"
 * without its own ":PORT" (0 there means 11211, as for any server). */
memcached_return_t mc_add_segment(memcached_st *m, const char *spec,
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
		return mc_ring_build(m);
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
		return mc_add_segment(m, host + 5, weight, port);
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
	if (weight > 1 && mc_is_consistent(m->distribution))
		m->weighted = 1;
	return mc_ring_build(m);
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
