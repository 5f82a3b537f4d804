/* SPDX-License-Identifier: MIT */
/*
 * libmemcached/memcached.h - plmc's libmemcached-compatible client API.
 *
 * The common subset of libmemcached 1.x (see docs/compat.md): a program
 * written for libmemcached compiles against this header (-Iinclude/compat)
 * and links build/compat/libmemcached.a. The enum values are
 * libmemcached's, number for number, so codes stored or compared as
 * integers keep their meaning. Servers are memcached text-protocol
 * servers over TCP or a Unix socket, or a plmc segment of this host
 * (--SEGMENT=NAME[@HOST:PORT]), reached through the gate.
 *
 * The structs are complete so that handles and results can live on the
 * stack as libmemcached allows; their fields are private.
 */
#ifndef PLMC_COMPAT_LIBMEMCACHED_H
#define PLMC_COMPAT_LIBMEMCACHED_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBMEMCACHED_VERSION_STRING "1.1.4"
#define LIBMEMCACHED_VERSION_HEX    0x001001004
#define PLMC_COMPAT		    1

#define MEMCACHED_DEFAULT_PORT		   11211
#define MEMCACHED_DEFAULT_PORT_STRING	   "11211"
#define MEMCACHED_POINTS_PER_SERVER	   100
#define MEMCACHED_POINTS_PER_SERVER_KETAMA 160
#define MEMCACHED_DEFAULT_TIMEOUT	   5000
#define MEMCACHED_DEFAULT_CONNECT_TIMEOUT  4000
#define MEMCACHED_EXPIRATION_NOT_ADD	   0xffffffffU
#define MEMCACHED_MAX_KEY		   251 /* 250 bytes and the terminator */
#define MEMCACHED_MAX_BUFFER		   8196
#define MEMCACHED_MAX_HOST_SORT_LENGTH	   86

enum memcached_return_t {
	MEMCACHED_SUCCESS = 0,
	MEMCACHED_FAILURE = 1,
	MEMCACHED_HOST_LOOKUP_FAILURE = 2,
	MEMCACHED_CONNECTION_FAILURE = 3,
	MEMCACHED_CONNECTION_BIND_FAILURE = 4,
	MEMCACHED_WRITE_FAILURE = 5,
	MEMCACHED_READ_FAILURE = 6,
	MEMCACHED_UNKNOWN_READ_FAILURE = 7,
	MEMCACHED_PROTOCOL_ERROR = 8,
	MEMCACHED_CLIENT_ERROR = 9,
	MEMCACHED_SERVER_ERROR = 10,
	MEMCACHED_ERROR = 11,
	MEMCACHED_DATA_EXISTS = 12,
	MEMCACHED_DATA_DOES_NOT_EXIST = 13,
	MEMCACHED_NOTSTORED = 14,
	MEMCACHED_STORED = 15,
	MEMCACHED_NOTFOUND = 16,
	MEMCACHED_MEMORY_ALLOCATION_FAILURE = 17,
	MEMCACHED_PARTIAL_READ = 18,
	MEMCACHED_SOME_ERRORS = 19,
	MEMCACHED_NO_SERVERS = 20,
	MEMCACHED_END = 21,
	MEMCACHED_DELETED = 22,
	MEMCACHED_VALUE = 23,
	MEMCACHED_STAT = 24,
	MEMCACHED_ITEM = 25,
	MEMCACHED_ERRNO = 26,
	MEMCACHED_FAIL_UNIX_SOCKET = 27,
	MEMCACHED_NOT_SUPPORTED = 28,
	MEMCACHED_NO_KEY_PROVIDED = 29,
	MEMCACHED_FETCH_NOTFINISHED = 30,
	MEMCACHED_TIMEOUT = 31,
	MEMCACHED_BUFFERED = 32,
	MEMCACHED_BAD_KEY_PROVIDED = 33,
	MEMCACHED_INVALID_HOST_PROTOCOL = 34,
	MEMCACHED_SERVER_MARKED_DEAD = 35,
	MEMCACHED_UNKNOWN_STAT_KEY = 36,
	MEMCACHED_E2BIG = 37,
	MEMCACHED_INVALID_ARGUMENTS = 38,
	MEMCACHED_KEY_TOO_BIG = 39,
	MEMCACHED_AUTH_PROBLEM = 40,
	MEMCACHED_AUTH_FAILURE = 41,
	MEMCACHED_AUTH_CONTINUE = 42,
	MEMCACHED_PARSE_ERROR = 43,
	MEMCACHED_PARSE_USER_ERROR = 44,
	MEMCACHED_DEPRECATED = 45,
	MEMCACHED_IN_PROGRESS = 46,
	MEMCACHED_SERVER_TEMPORARILY_DISABLED = 47,
	MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE = 48,
	MEMCACHED_MAXIMUM_RETURN = 49,
	MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE = MEMCACHED_ERROR
};

enum memcached_behavior_t {
	MEMCACHED_BEHAVIOR_NO_BLOCK,
	MEMCACHED_BEHAVIOR_TCP_NODELAY,
	MEMCACHED_BEHAVIOR_HASH,
	MEMCACHED_BEHAVIOR_KETAMA,
	MEMCACHED_BEHAVIOR_SOCKET_SEND_SIZE,
	MEMCACHED_BEHAVIOR_SOCKET_RECV_SIZE,
	MEMCACHED_BEHAVIOR_CACHE_LOOKUPS,
	MEMCACHED_BEHAVIOR_SUPPORT_CAS,
	MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
	MEMCACHED_BEHAVIOR_DISTRIBUTION,
	MEMCACHED_BEHAVIOR_BUFFER_REQUESTS,
	MEMCACHED_BEHAVIOR_USER_DATA,
	MEMCACHED_BEHAVIOR_SORT_HOSTS,
	MEMCACHED_BEHAVIOR_VERIFY_KEY,
	MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
	MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
	MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED,
	MEMCACHED_BEHAVIOR_KETAMA_HASH,
	MEMCACHED_BEHAVIOR_BINARY_PROTOCOL,
	MEMCACHED_BEHAVIOR_SND_TIMEOUT,
	MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
	MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT,
	MEMCACHED_BEHAVIOR_IO_MSG_WATERMARK,
	MEMCACHED_BEHAVIOR_IO_BYTES_WATERMARK,
	MEMCACHED_BEHAVIOR_IO_KEY_PREFETCH,
	MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY,
	MEMCACHED_BEHAVIOR_NOREPLY,
	MEMCACHED_BEHAVIOR_USE_UDP,
	MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS,
	MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS,
	MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ,
	MEMCACHED_BEHAVIOR_CORK,
	MEMCACHED_BEHAVIOR_TCP_KEEPALIVE,
	MEMCACHED_BEHAVIOR_TCP_KEEPIDLE,
	MEMCACHED_BEHAVIOR_LOAD_FROM_FILE,
	MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS,
	MEMCACHED_BEHAVIOR_DEAD_TIMEOUT,
	MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT,
	MEMCACHED_BEHAVIOR_MAX
};

enum memcached_server_distribution_t {
	MEMCACHED_DISTRIBUTION_MODULA,
	MEMCACHED_DISTRIBUTION_CONSISTENT,
	MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA,
	MEMCACHED_DISTRIBUTION_RANDOM,
	MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY,
	MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED,
	MEMCACHED_DISTRIBUTION_VIRTUAL_BUCKET,
	MEMCACHED_DISTRIBUTION_CONSISTENT_MAX
};

enum memcached_hash_t {
	MEMCACHED_HASH_DEFAULT = 0,
	MEMCACHED_HASH_MD5,
	MEMCACHED_HASH_CRC,
	MEMCACHED_HASH_FNV1_64,
	MEMCACHED_HASH_FNV1A_64,
	MEMCACHED_HASH_FNV1_32,
	MEMCACHED_HASH_FNV1A_32,
	MEMCACHED_HASH_HSIEH,
	MEMCACHED_HASH_MURMUR,
	MEMCACHED_HASH_JENKINS,
	MEMCACHED_HASH_MURMUR3,
	MEMCACHED_HASH_CUSTOM,
	MEMCACHED_HASH_MAX
};

enum memcached_connection_t {
	MEMCACHED_CONNECTION_TCP,
	MEMCACHED_CONNECTION_UDP,
	MEMCACHED_CONNECTION_UNIX_SOCKET
};

#ifndef __cplusplus
typedef enum memcached_return_t memcached_return_t;
typedef enum memcached_behavior_t memcached_behavior_t;
typedef enum memcached_server_distribution_t memcached_server_distribution_t;
typedef enum memcached_hash_t memcached_hash_t;
typedef enum memcached_connection_t memcached_connection_t;
#endif

static inline int memcached_success(memcached_return_t rc)
{
	return rc == MEMCACHED_BUFFERED || rc == MEMCACHED_DELETED ||
	       rc == MEMCACHED_END || rc == MEMCACHED_ITEM ||
	       rc == MEMCACHED_STAT || rc == MEMCACHED_STORED ||
	       rc == MEMCACHED_SUCCESS || rc == MEMCACHED_VALUE;
}
#define memcached_failed(rc) (!memcached_success(rc))

typedef struct memcached_st memcached_st;
typedef struct memcached_result_st memcached_result_st;
typedef struct memcached_instance_st memcached_instance_st;
typedef struct memcached_server_st memcached_server_st;
typedef struct memcached_server_st *memcached_server_list_st;
typedef const struct memcached_instance_st *memcached_server_instance_st;

/* Private: one server of a handle. */
struct memcached_instance_st {
	char hostname[256];  /* host, socket path or segment name */
	char ring_host[256]; /* the name ketama hashes (a segment's peer) */
	in_port_t port, ring_port;
	uint32_t weight;
	int kind; /* 0 TCP, 1 Unix socket, 2 plmc segment */
	int fd;
	size_t rpos, rlen;
	char *rbuf;
};

/* Private: a servers_parse/list_append list; count kept in every entry. */
struct memcached_server_st {
	char hostname[256];
	in_port_t port;
	uint32_t weight;
	uint32_t count;
	int kind;
};

struct memcached_result_st {
	char key[MEMCACHED_MAX_KEY];
	size_t key_length;
	char *value;
	size_t length, cap;
	uint32_t flags;
	uint64_t cas;
	time_t expiration;
	int allocated;
	const memcached_st *root;
	uint64_t gen; /* the mget it was last filled by */
	size_t count; /* ... and how often */
};

/* Private: one value of an mget, waiting for fetch. */
struct plmc_mc_item;

struct memcached_st {
	int allocated;
	struct memcached_instance_st *servers;
	uint32_t nservers;
	struct plmc_mc_point *ring;
	uint32_t nring;
	int distribution, hash, ketama_hash, weighted;
	int no_block, tcp_nodelay, support_cas, verify_key, noreply;
	int sort_hosts, tcp_keepalive, buffer_requests, hash_with_prefix;
	int auto_eject;
	int32_t poll_timeout, connect_timeout, retry_timeout, dead_timeout;
	int32_t snd_timeout, rcv_timeout, send_size, recv_size;
	uint32_t failure_limit, timeout_limit, keepidle, replicas;
	uint32_t io_msg, io_bytes, io_prefetch;
	struct plmc_mc_item *items; /* mget results not yet fetched */
	size_t nitems, citems, next_item;
	uint64_t mget_gen; /* bumped by every mget */
	int mget_active;
	memcached_result_st result; /* for memcached_fetch and NULL */
	memcached_return_t last_rc;
	int last_errno;
	char last_msg[256];
	void *user_data;
	int seg_ref; /* this handle holds the segment */
};

/* Handles */
memcached_st *memcached_create(memcached_st *ptr);
memcached_st *memcached(const char *string, size_t string_length);
void memcached_free(memcached_st *ptr);
memcached_st *memcached_clone(memcached_st *clone, const memcached_st *ptr);
void memcached_quit(memcached_st *ptr);
void memcached_servers_reset(memcached_st *ptr);
void *memcached_get_user_data(const memcached_st *ptr);
void *memcached_set_user_data(memcached_st *ptr, void *data);
memcached_return_t libmemcached_check_configuration(const char *option_string,
						    size_t length,
						    char *error_buffer,
						    size_t error_buffer_size);
const char *memcached_lib_version(void);

/* Servers */
memcached_return_t memcached_server_add(memcached_st *ptr, const char *hostname,
					in_port_t port);
memcached_return_t memcached_server_add_with_weight(memcached_st *ptr,
						    const char *hostname,
						    in_port_t port,
						    uint32_t weight);
memcached_return_t memcached_server_add_unix_socket(memcached_st *ptr,
						    const char *filename);
memcached_return_t memcached_server_add_unix_socket_with_weight(
	memcached_st *ptr, const char *filename, uint32_t weight);
memcached_return_t memcached_server_add_udp(memcached_st *ptr,
					    const char *hostname,
					    in_port_t port);
uint32_t memcached_server_count(const memcached_st *ptr);
memcached_server_list_st memcached_servers_parse(const char *server_strings);
memcached_return_t memcached_server_push(memcached_st *ptr,
					 const memcached_server_list_st list);
memcached_server_list_st
memcached_server_list_append(memcached_server_list_st ptr, const char *hostname,
			     in_port_t port, memcached_return_t *error);
memcached_server_list_st memcached_server_list_append_with_weight(
	memcached_server_list_st ptr, const char *hostname, in_port_t port,
	uint32_t weight, memcached_return_t *error);
uint32_t memcached_server_list_count(const memcached_server_list_st ptr);
void memcached_server_list_free(memcached_server_list_st ptr);
const memcached_instance_st *memcached_server_by_key(memcached_st *ptr,
						     const char *key,
						     size_t key_length,
						     memcached_return_t *error);
const memcached_instance_st *
memcached_server_instance_by_position(const memcached_st *ptr,
				      uint32_t server_key);
const char *memcached_server_name(const memcached_instance_st *self);
in_port_t memcached_server_port(const memcached_instance_st *self);
const char *memcached_server_type(const memcached_instance_st *self);

/* Behaviors */
memcached_return_t memcached_behavior_set(memcached_st *ptr,
					  memcached_behavior_t flag,
					  uint64_t data);
uint64_t memcached_behavior_get(memcached_st *ptr, memcached_behavior_t flag);
memcached_return_t
memcached_behavior_set_distribution(memcached_st *ptr,
				    memcached_server_distribution_t type);
memcached_server_distribution_t
memcached_behavior_get_distribution(memcached_st *ptr);
memcached_return_t memcached_behavior_set_key_hash(memcached_st *ptr,
						   memcached_hash_t type);
memcached_hash_t memcached_behavior_get_key_hash(memcached_st *ptr);
memcached_return_t
memcached_behavior_set_distribution_hash(memcached_st *ptr,
					 memcached_hash_t type);
memcached_hash_t memcached_behavior_get_distribution_hash(memcached_st *ptr);

/* Hashing */
uint32_t memcached_generate_hash_value(const char *key, size_t key_length,
				       memcached_hash_t hash_algorithm);
uint32_t memcached_generate_hash(const memcached_st *ptr, const char *key,
				 size_t key_length);

/* Storage */
memcached_return_t memcached_set(memcached_st *ptr, const char *key,
				 size_t key_length, const char *value,
				 size_t value_length, time_t expiration,
				 uint32_t flags);
memcached_return_t memcached_add(memcached_st *ptr, const char *key,
				 size_t key_length, const char *value,
				 size_t value_length, time_t expiration,
				 uint32_t flags);
memcached_return_t memcached_replace(memcached_st *ptr, const char *key,
				     size_t key_length, const char *value,
				     size_t value_length, time_t expiration,
				     uint32_t flags);
memcached_return_t memcached_append(memcached_st *ptr, const char *key,
				    size_t key_length, const char *value,
				    size_t value_length, time_t expiration,
				    uint32_t flags);
memcached_return_t memcached_prepend(memcached_st *ptr, const char *key,
				     size_t key_length, const char *value,
				     size_t value_length, time_t expiration,
				     uint32_t flags);
memcached_return_t memcached_cas(memcached_st *ptr, const char *key,
				 size_t key_length, const char *value,
				 size_t value_length, time_t expiration,
				 uint32_t flags, uint64_t cas);
memcached_return_t memcached_delete(memcached_st *ptr, const char *key,
				    size_t key_length, time_t expiration);
memcached_return_t memcached_touch(memcached_st *ptr, const char *key,
				   size_t key_length, time_t expiration);
memcached_return_t memcached_flush(memcached_st *ptr, time_t expiration);

/* Counters */
memcached_return_t memcached_increment(memcached_st *ptr, const char *key,
				       size_t key_length, uint32_t offset,
				       uint64_t *value);
memcached_return_t memcached_decrement(memcached_st *ptr, const char *key,
				       size_t key_length, uint32_t offset,
				       uint64_t *value);
memcached_return_t memcached_increment_with_initial(
	memcached_st *ptr, const char *key, size_t key_length, uint64_t offset,
	uint64_t initial, time_t expiration, uint64_t *value);
memcached_return_t memcached_decrement_with_initial(
	memcached_st *ptr, const char *key, size_t key_length, uint64_t offset,
	uint64_t initial, time_t expiration, uint64_t *value);

/* Retrieval */
char *memcached_get(memcached_st *ptr, const char *key, size_t key_length,
		    size_t *value_length, uint32_t *flags,
		    memcached_return_t *error);
memcached_return_t memcached_mget(memcached_st *ptr, const char *const *keys,
				  const size_t *key_length,
				  size_t number_of_keys);
memcached_result_st *memcached_fetch_result(memcached_st *ptr,
					    memcached_result_st *result,
					    memcached_return_t *error);
char *memcached_fetch(memcached_st *ptr, char *key, size_t *key_length,
		      size_t *value_length, uint32_t *flags,
		      memcached_return_t *error);

/* Results */
memcached_result_st *memcached_result_create(const memcached_st *ptr,
					     memcached_result_st *result);
void memcached_result_free(memcached_result_st *result);
void memcached_result_reset(memcached_result_st *result);
const char *memcached_result_key_value(const memcached_result_st *self);
size_t memcached_result_key_length(const memcached_result_st *self);
const char *memcached_result_value(const memcached_result_st *self);
char *memcached_result_take_value(memcached_result_st *self);
size_t memcached_result_length(const memcached_result_st *self);
uint32_t memcached_result_flags(const memcached_result_st *self);
uint64_t memcached_result_cas(const memcached_result_st *self);
memcached_return_t memcached_result_set_value(memcached_result_st *ptr,
					      const char *value, size_t length);
void memcached_result_set_flags(memcached_result_st *self, uint32_t flags);
void memcached_result_set_expiration(memcached_result_st *self,
				     time_t expiration);

/* Errors */
const char *memcached_strerror(const memcached_st *ptr, memcached_return_t rc);
const char *memcached_last_error_message(const memcached_st *ptr);
memcached_return_t memcached_last_error(const memcached_st *ptr);
int memcached_last_error_errno(const memcached_st *ptr);

#ifdef __cplusplus
}
#endif
#endif /* PLMC_COMPAT_LIBMEMCACHED_H */
