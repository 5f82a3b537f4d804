// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/behavior.c - memcached_behavior_set/get and the
 * distribution and hash setters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc.h"

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
	return mc_ring_build(m);
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

/* Socket options: they apply to the next connection, so the open ones
 * close. Returns 1 when flag is one of them. */
static int set_socket(memcached_st *m, memcached_behavior_t flag, uint64_t data)
{
	int on = data != 0;

	switch (flag) {
	case MEMCACHED_BEHAVIOR_NO_BLOCK:
		m->no_block = on;
		break;
	case MEMCACHED_BEHAVIOR_TCP_NODELAY:
		m->tcp_nodelay = on;
		break;
	case MEMCACHED_BEHAVIOR_TCP_KEEPALIVE:
		m->tcp_keepalive = on;
		break;
	case MEMCACHED_BEHAVIOR_TCP_KEEPIDLE:
		m->keepidle = (uint32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE:
		m->send_size = (int32_t)data;
		break;
	case MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE:
		m->recv_size = (int32_t)data;
		break;
	default:
		return 0;
	}
	memcached_quit(m);
	return 1;
}

/* Plain settings read by later calls (timeouts, watermarks, switches).
 * Returns 1 when flag is one of them. */
static int set_field(memcached_st *m, memcached_behavior_t flag, uint64_t data)
{
	int on = data != 0;

	switch (flag) {
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
	case MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT:
		m->timeout_limit = (uint32_t)data;
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
	default:
		return 0;
	}
	return 1;
}

/* Where keys go: distribution, hashes, host order (the ring changes). */
static memcached_return_t
set_placement(memcached_st *m, memcached_behavior_t flag, uint64_t data)
{
	int on = data != 0;

	switch (flag) {
	case MEMCACHED_BEHAVIOR_SORT_HOSTS:
		m->sort_hosts = on;
		return mc_ring_build(m);
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
	default:
		return MEMCACHED_NOT_SUPPORTED; /* not a placement behavior */
	}
}

static int is_placement(memcached_behavior_t flag)
{
	return flag == MEMCACHED_BEHAVIOR_SORT_HOSTS ||
	       flag == MEMCACHED_BEHAVIOR_DISTRIBUTION ||
	       flag == MEMCACHED_BEHAVIOR_KETAMA ||
	       flag == MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED ||
	       flag == MEMCACHED_BEHAVIOR_HASH ||
	       flag == MEMCACHED_BEHAVIOR_KETAMA_HASH;
}

/* What plmc refuses, or accepts only switched off, or checks first. */
static memcached_return_t set_limited(memcached_st *m,
				      memcached_behavior_t flag, uint64_t data)
{
	switch (flag) {
	case MEMCACHED_BEHAVIOR_BINARY_PROTOCOL:
		if (!data)
			return MEMCACHED_SUCCESS;
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"the binary protocol is not supported: plmc "
				"speaks memcached's text protocol (plmcd has "
				"no binary listener)");
	case MEMCACHED_BEHAVIOR_USE_UDP:
		if (!data)
			return MEMCACHED_SUCCESS;
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"UDP is not supported");
	case MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS:
		if (!data)
			return MEMCACHED_SUCCESS;
		return mc_error(m, MEMCACHED_NOT_SUPPORTED,
				"replicas need the binary protocol");
	case MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT:
		if (!data)
			return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
					"SERVER_FAILURE_LIMIT must be > 0");
		m->failure_limit = (uint32_t)data;
		return MEMCACHED_SUCCESS;
	case MEMCACHED_BEHAVIOR_CACHE_LOOKUPS:
	case MEMCACHED_BEHAVIOR_USER_DATA:
	case MEMCACHED_BEHAVIOR_CORK:
		return mc_error(m, MEMCACHED_DEPRECATED,
				"behavior %d is deprecated", (int)flag);
	default:
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"behavior %d cannot be set", (int)flag);
	}
}

memcached_return_t memcached_behavior_set(memcached_st *m,
					  memcached_behavior_t flag,
					  uint64_t data)
{
	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	if (set_socket(m, flag, data) || set_field(m, flag, data))
		return MEMCACHED_SUCCESS;
	if (is_placement(flag))
		return set_placement(m, flag, data);
	return set_limited(m, flag, data);
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
		return (uint64_t)mc_is_consistent(m->distribution);
	case MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED:
		return (uint64_t)(mc_is_consistent(m->distribution) &&
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
