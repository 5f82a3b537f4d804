// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/handle.c - a memcached_st's lifetime: create, free,
 * clone, user data, and the last error it records (mc_error).
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
	if (mc_ring_build(m) != MEMCACHED_SUCCESS) {
		memcached_free(m);
		return NULL;
	}
	return m;
}
