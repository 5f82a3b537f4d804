/* SPDX-License-Identifier: MIT */
/*
 * libpl/memcached/mc.h - internals of the libmemcached-compatible client.
 *
 * Files, one concern each: handle.c (a handle's lifetime, clone, the
 * last error), error.c (return codes as text), server.c (adding servers),
 * serverlist.c (server lists and their strings), ring.c (which server
 * owns a key: the ketama continuum), behavior.c (behaviors), conf.c
 * (configuration strings), hash.c (libmemcached's key hashes, MD5),
 * net.c (text-protocol connections), seg.c (a plmc segment as a server),
 * ops.c (the operations, dispatched per server kind).
 */
#ifndef PLMC_MC_H
#define PLMC_MC_H

#include <sys/uio.h>
#include <libmemcached/memcached.h>

#define MC_TCP	0
#define MC_UNIX 1
#define MC_SEG	2

#define MC_KEY_MAX 250

struct plmc_mc_point {
	uint32_t value;
	uint32_t index;
};

struct plmc_mc_item {
	char key[MEMCACHED_MAX_KEY];
	size_t klen;
	char *value;
	size_t vlen;
	uint32_t flags;
	uint64_t cas;
};

/* handle.c: record rc and a message as the handle's last error; returns
 * rc. */
memcached_return_t mc_error(memcached_st *m, memcached_return_t rc,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
memcached_return_t mc_key_check(memcached_st *m, const char *key, size_t klen);

/* ring.c */
/* Index of the server that owns key; -1 when there are none. */
int mc_server_for(const memcached_st *m, const char *key, size_t klen);
/* Rebuild the continuum after a change of servers or distribution. */
memcached_return_t mc_ring_build(memcached_st *m);
int mc_is_consistent(int distribution);

/* server.c */
memcached_return_t mc_add_server(memcached_st *m, const char *host,
				 in_port_t port, uint32_t weight, int kind);
/* "NAME[@HOST[:PORT]]": a segment, placed on the ring as HOST:PORT when
 * given (port_arg: the port a server_add passed, 0 = 11211). */
memcached_return_t mc_add_segment(memcached_st *m, const char *spec,
				  uint32_t weight, in_port_t port_arg);

/* serverlist.c: one "host[:port][ weight]", "[v6]:port" or "/path" of
 * len bytes into host, *port, *weight; 0 or -1. */
int mc_split_server(const char *s, size_t len, char *host, size_t hcap,
		    unsigned *port, uint32_t *weight);

/* ops.c: the results a fetch hands out one by one. */
memcached_return_t mc_item_push(memcached_st *m, const char *key, size_t klen,
				const char *val, size_t vlen, uint32_t flags,
				uint64_t cas);
void mc_items_clear(memcached_st *m);

/* hash.c */
void mc_md5(const void *data, size_t len, unsigned char out[16]);
int mc_hash_supported(int algo);
uint32_t mc_hash(int algo, const char *key, size_t len);

/* net.c: every call returns MEMCACHED_SUCCESS or the failure, with the
 * connection closed on an I/O failure (the next call reconnects). */
memcached_return_t mc_net_connect(memcached_st *m, memcached_instance_st *s);
memcached_return_t mc_net_send(memcached_st *m, memcached_instance_st *s,
			       struct iovec *iov, int n);
/* The next line, without "\r\n", NUL-terminated in the buffer. */
memcached_return_t mc_net_line(memcached_st *m, memcached_instance_st *s,
			       char **line, size_t *len);
/* n data bytes and their "\r\n" into dst (dst may be NULL: skip). */
memcached_return_t mc_net_data(memcached_st *m, memcached_instance_st *s,
			       char *dst, size_t n);
void mc_net_close(memcached_instance_st *s);
/* A reply line of a storage/delete/touch/flush command as a code. */
memcached_return_t mc_net_status(memcached_st *m, const char *line, size_t len);

/* seg.c */
memcached_return_t mc_seg_open(memcached_st *m, memcached_instance_st *s);
void mc_seg_release(memcached_st *m);
memcached_return_t mc_seg_rc(memcached_st *m, int rc);

#endif
