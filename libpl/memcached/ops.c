// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/ops.c - the operations of the libmemcached-compatible
 * client, each dispatched to the key's server: a plmc segment (a call
 * through the gate) or a text-protocol server (a request and its reply).
 *
 * Results follow libmemcached 1.1 over the text protocol, code for code
 * (tests/compat diffs the two): a zero-length value comes back from
 * memcached_get and memcached_fetch as NULL with MEMCACHED_SUCCESS; an
 * mget that found nothing ends its fetches with MEMCACHED_NOTFOUND, one
 * that found something with MEMCACHED_END; under NOREPLY a write returns
 * MEMCACHED_SUCCESS without waiting. The _with_initial counters, which
 * libmemcached offers only over its binary protocol, work on every
 * server here: incr, and on a miss an add of the initial value (retried
 * if another client added it first), which is what the binary command
 * does in one step.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <plmc.h>
#include "mc.h"

enum st_op { OP_SET, OP_ADD, OP_REPLACE, OP_APPEND, OP_PREPEND, OP_CAS };

static const char *const st_cmd[] = {"set",    "add",	  "replace",
				     "append", "prepend", "cas"};

static int32_t exp32(time_t t)
{
	if (t > INT32_MAX)
		return INT32_MAX;
	if (t < INT32_MIN)
		return INT32_MIN;
	return (int32_t)t;
}

/* The checks every keyed call starts with, and the key's server. */
static memcached_return_t prep(memcached_st *m, const char *key, size_t klen,
			       memcached_instance_st **out)
{
	memcached_instance_st *s;
	memcached_return_t rc;

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	m->last_rc = MEMCACHED_SUCCESS;
	m->last_msg[0] = 0;
	if (!m->nservers)
		return mc_error(m, MEMCACHED_NO_SERVERS, "no servers");
	rc = mc_key_check(m, key, klen);
	if (rc != MEMCACHED_SUCCESS)
		return rc;
	s = &m->servers[mc_server_for(m, key, klen)];
	if (s->kind == MC_SEG) {
		rc = mc_seg_open(m, s);
		if (rc != MEMCACHED_SUCCESS)
			return rc;
	}
	*out = s;
	return MEMCACHED_SUCCESS;
}

/* Send a request; unless noreply, read its one-line reply as a code. */
static memcached_return_t request(memcached_st *m, memcached_instance_st *s,
				  struct iovec *iov, int n, int noreply,
				  char **line, size_t *len)
{
	memcached_return_t rc = mc_net_send(m, s, iov, n);
	char *l;
	size_t ll;

	if (rc != MEMCACHED_SUCCESS || noreply)
		return rc;
	rc = mc_net_line(m, s, &l, &ll);
	if (rc != MEMCACHED_SUCCESS)
		return rc;
	if (line) {
		*line = l;
		*len = ll;
		return MEMCACHED_SUCCESS;
	}
	return mc_net_status(m, l, ll);
}

static memcached_return_t storage(memcached_st *m, enum st_op op,
				  const char *key, size_t klen, const char *val,
				  size_t vlen, time_t exptime, uint32_t flags,
				  uint64_t cas)
{
	memcached_instance_st *s;
	memcached_return_t rc = prep(m, key, klen, &s);
	int r;

	if (rc != MEMCACHED_SUCCESS)
		return rc;
	if (!val && vlen)
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"value is NULL");
	if (s->kind == MC_SEG) {
		int32_t e = exp32(exptime);

		switch (op) {
		case OP_SET:
			r = plmc_set(key, klen, val, vlen, flags, e);
			break;
		case OP_ADD:
			r = plmc_add(key, klen, val, vlen, flags, e);
			break;
		case OP_REPLACE:
			r = plmc_replace(key, klen, val, vlen, flags, e);
			break;
		case OP_APPEND:
			r = plmc_append(key, klen, val, vlen);
			break;
		case OP_PREPEND:
			r = plmc_prepend(key, klen, val, vlen);
			break;
		default:
			r = plmc_cas(key, klen, val, vlen, flags, e, cas);
			break;
		}
		rc = mc_seg_rc(m, r);
		return m->noreply && r >= 0 ? MEMCACHED_SUCCESS : rc;
	} else {
		char hdr[160];
		int h;
		struct iovec iov[6];

		if (op == OP_CAS)
			h = snprintf(hdr, sizeof(hdr),
				     " %" PRIu32 " %" PRId32 " %zu %" PRIu64
				     "%s\r\n",
				     flags, exp32(exptime), vlen, cas,
				     m->noreply ? " noreply" : "");
		else
			h = snprintf(hdr, sizeof(hdr),
				     " %" PRIu32 " %" PRId32 " %zu%s\r\n",
				     flags, exp32(exptime), vlen,
				     m->noreply ? " noreply" : "");
		iov[0] = (struct iovec){(void *)st_cmd[op], strlen(st_cmd[op])};
		iov[1] = (struct iovec){" ", 1};
		iov[2] = (struct iovec){(void *)key, klen};
		iov[3] = (struct iovec){hdr, (size_t)h};
		iov[4] = (struct iovec){(void *)val, vlen};
		/* One send: a request split over two segments waits for
		 * the peer's delayed ACK under Nagle. */
		iov[5] = (struct iovec){"\r\n", 2};
		return request(m, s, iov, 6, m->noreply, NULL, NULL);
	}
}

memcached_return_t memcached_set(memcached_st *m, const char *key, size_t klen,
				 const char *val, size_t vlen, time_t exptime,
				 uint32_t flags)
{
	return storage(m, OP_SET, key, klen, val, vlen, exptime, flags, 0);
}

memcached_return_t memcached_add(memcached_st *m, const char *key, size_t klen,
				 const char *val, size_t vlen, time_t exptime,
				 uint32_t flags)
{
	return storage(m, OP_ADD, key, klen, val, vlen, exptime, flags, 0);
}

memcached_return_t memcached_replace(memcached_st *m, const char *key,
				     size_t klen, const char *val, size_t vlen,
				     time_t exptime, uint32_t flags)
{
	return storage(m, OP_REPLACE, key, klen, val, vlen, exptime, flags, 0);
}

memcached_return_t memcached_append(memcached_st *m, const char *key,
				    size_t klen, const char *val, size_t vlen,
				    time_t exptime, uint32_t flags)
{
	return storage(m, OP_APPEND, key, klen, val, vlen, exptime, flags, 0);
}

memcached_return_t memcached_prepend(memcached_st *m, const char *key,
				     size_t klen, const char *val, size_t vlen,
				     time_t exptime, uint32_t flags)
{
	return storage(m, OP_PREPEND, key, klen, val, vlen, exptime, flags, 0);
}

memcached_return_t memcached_cas(memcached_st *m, const char *key, size_t klen,
				 const char *val, size_t vlen, time_t exptime,
				 uint32_t flags, uint64_t cas)
{
	return storage(m, OP_CAS, key, klen, val, vlen, exptime, flags, cas);
}

memcached_return_t memcached_delete(memcached_st *m, const char *key,
				    size_t klen, time_t expiration)
{
	memcached_instance_st *s;
	memcached_return_t rc = prep(m, key, klen, &s);

	if (rc != MEMCACHED_SUCCESS)
		return rc;
	if (expiration)
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS,
				"delete with a hold time is not part of the "
				"text protocol");
	if (s->kind == MC_SEG) {
		int r = plmc_delete(key, klen);

		rc = mc_seg_rc(m, r);
		return m->noreply && r >= 0 ? MEMCACHED_SUCCESS : rc;
	} else {
		const char *tail = m->noreply ? " noreply\r\n" : "\r\n";
		struct iovec iov[3] = {{"delete ", 7},
				       {(void *)key, klen},
				       {(void *)tail, strlen(tail)}};

		return request(m, s, iov, 3, m->noreply, NULL, NULL);
	}
}

memcached_return_t memcached_touch(memcached_st *m, const char *key,
				   size_t klen, time_t expiration)
{
	memcached_instance_st *s;
	memcached_return_t rc = prep(m, key, klen, &s);

	if (rc != MEMCACHED_SUCCESS)
		return rc;
	if (s->kind == MC_SEG) {
		int r = plmc_touch(key, klen, exp32(expiration));

		rc = mc_seg_rc(m, r);
		return m->noreply && r >= 0 ? MEMCACHED_SUCCESS : rc;
	} else {
		char tail[48];
		int t = snprintf(tail, sizeof(tail), " %" PRId32 "%s\r\n",
				 exp32(expiration),
				 m->noreply ? " noreply" : "");
		struct iovec iov[3] = {
			{"touch ", 6}, {(void *)key, klen}, {tail, (size_t)t}};

		return request(m, s, iov, 3, m->noreply, NULL, NULL);
	}
}

memcached_return_t memcached_flush(memcached_st *m, time_t expiration)
{
	memcached_return_t worst = MEMCACHED_SUCCESS;

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	m->last_rc = MEMCACHED_SUCCESS;
	if (!m->nservers)
		return mc_error(m, MEMCACHED_NO_SERVERS, "no servers");
	for (uint32_t i = 0; i < m->nservers; i++) {
		memcached_instance_st *s = &m->servers[i];
		memcached_return_t rc;

		if (s->kind == MC_SEG) {
			rc = mc_seg_open(m, s);
			if (rc == MEMCACHED_SUCCESS)
				rc = mc_seg_rc(
					m, plmc_flush_all(exp32(expiration)));
		} else {
			char cmd[64];
			int n;
			struct iovec iov[1];

			if (expiration)
				n = snprintf(cmd, sizeof(cmd),
					     "flush_all %" PRId32 "%s\r\n",
					     exp32(expiration),
					     m->noreply ? " noreply" : "");
			else
				n = snprintf(cmd, sizeof(cmd),
					     "flush_all%s\r\n",
					     m->noreply ? " noreply" : "");
			iov[0] = (struct iovec){cmd, (size_t)n};
			rc = request(m, s, iov, 1, m->noreply, NULL, NULL);
		}
		if (rc != MEMCACHED_SUCCESS)
			worst = rc;
	}
	return worst;
}

/* ---- counters --------------------------------------------------------- */

static memcached_return_t counter(memcached_st *m, int incr, const char *key,
				  size_t klen, uint64_t delta, uint64_t *value)
{
	memcached_instance_st *s;
	memcached_return_t rc = prep(m, key, klen, &s);
	uint64_t v = 0;

	if (rc != MEMCACHED_SUCCESS)
		return rc;
	if (s->kind == MC_SEG) {
		int r = incr ? plmc_incr(key, klen, delta, &v)
			     : plmc_decr(key, klen, delta, &v);

		rc = mc_seg_rc(m, r);
		if (m->noreply && r >= 0)
			rc = MEMCACHED_SUCCESS;
	} else {
		char tail[48], *l = NULL;
		size_t ll = 0;
		int t = snprintf(tail, sizeof(tail), " %" PRIu64 "%s\r\n",
				 delta, m->noreply ? " noreply" : "");
		struct iovec iov[3] = {
			{incr ? "incr " : "decr ", 5},
			{(void *)key, klen},
			{tail, (size_t)t},
		};

		rc = request(m, s, iov, 3, m->noreply, &l, &ll);
		if (rc == MEMCACHED_SUCCESS && !m->noreply) {
			char *end;

			if (ll && l[0] >= '0' && l[0] <= '9') {
				errno = 0;
				v = strtoull(l, &end, 10);
				if (errno || *end)
					rc = mc_error(m,
						      MEMCACHED_PROTOCOL_ERROR,
						      "bad counter reply");
			} else {
				rc = mc_net_status(m, l, ll);
				if (rc == MEMCACHED_SUCCESS)
					rc = mc_error(m,
						      MEMCACHED_PROTOCOL_ERROR,
						      "bad counter reply");
			}
		}
	}
	if (value)
		*value = rc == MEMCACHED_SUCCESS ? v : 0;
	return rc;
}

memcached_return_t memcached_increment(memcached_st *m, const char *key,
				       size_t klen, uint32_t offset,
				       uint64_t *value)
{
	return counter(m, 1, key, klen, offset, value);
}

memcached_return_t memcached_decrement(memcached_st *m, const char *key,
				       size_t klen, uint32_t offset,
				       uint64_t *value)
{
	return counter(m, 0, key, klen, offset, value);
}

static memcached_return_t with_initial(memcached_st *m, int incr,
				       const char *key, size_t klen,
				       uint64_t offset, uint64_t initial,
				       time_t expiration, uint64_t *value)
{
	int noreply;
	memcached_return_t rc = MEMCACHED_NOTFOUND;

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	/* Both steps need their replies. */
	noreply = m->noreply;
	m->noreply = 0;
	for (int tries = 0; tries < 8; tries++) {
		char num[24];
		int n;

		rc = counter(m, incr, key, klen, offset, value);
		if (rc != MEMCACHED_NOTFOUND ||
		    (uint32_t)expiration == MEMCACHED_EXPIRATION_NOT_ADD)
			break;
		n = snprintf(num, sizeof(num), "%" PRIu64, initial);
		rc = storage(m, OP_ADD, key, klen, num, (size_t)n, expiration,
			     0, 0);
		if (rc == MEMCACHED_SUCCESS && value)
			*value = initial;
		if (rc != MEMCACHED_NOTSTORED)
			break;
	}
	m->noreply = noreply;
	return rc;
}

memcached_return_t
memcached_increment_with_initial(memcached_st *m, const char *key, size_t klen,
				 uint64_t offset, uint64_t initial,
				 time_t expiration, uint64_t *value)
{
	return with_initial(m, 1, key, klen, offset, initial, expiration,
			    value);
}

memcached_return_t
memcached_decrement_with_initial(memcached_st *m, const char *key, size_t klen,
				 uint64_t offset, uint64_t initial,
				 time_t expiration, uint64_t *value)
{
	return with_initial(m, 0, key, klen, offset, initial, expiration,
			    value);
}

/* ---- retrieval -------------------------------------------------------- */

void mc_items_clear(memcached_st *m)
{
	for (size_t i = 0; i < m->nitems; i++)
		free(m->items[i].value);
	m->nitems = m->next_item = 0;
	m->mget_active = 0;
}

memcached_return_t mc_item_push(memcached_st *m, const char *key, size_t klen,
				const char *val, size_t vlen, uint32_t flags,
				uint64_t cas)
{
	struct plmc_mc_item *it;

	if (m->nitems == m->citems) {
		size_t c = m->citems ? m->citems * 2 : 16;

		it = realloc(m->items, c * sizeof(*it));
		if (!it)
			return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
					"results");
		m->items = it;
		m->citems = c;
	}
	it = &m->items[m->nitems];
	it->value = malloc(vlen + 1);
	if (!it->value)
		return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
				"value of %zu bytes", vlen);
	if (vlen)
		memcpy(it->value, val, vlen);
	it->value[vlen] = 0;
	memcpy(it->key, key, klen);
	it->key[klen] = 0;
	it->klen = klen;
	it->vlen = vlen;
	it->flags = flags;
	/* A segment always knows the unique; without SUPPORT_CAS a
	 * server is not asked for it, so neither is reported. */
	it->cas = m->support_cas ? cas : 0;
	m->nitems++;
	return MEMCACHED_SUCCESS;
}

/* One key from the segment; the value may grow between two tries. */
static memcached_return_t seg_get(memcached_st *m, const char *key, size_t klen)
{
	char stackbuf[4096], *buf = stackbuf;
	size_t cap = sizeof(stackbuf), vlen = 0;
	uint32_t flags = 0;
	uint64_t cas = 0;
	memcached_return_t rc;
	int r;

	for (;;) {
		r = plmc_get(key, klen, buf, cap, &vlen, &flags, &cas);
		if (r != PLMC_E_SMALLBUF)
			break;
		if (buf != stackbuf)
			free(buf);
		cap = vlen + 64;
		buf = malloc(cap);
		if (!buf)
			return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
					"value of %zu bytes", vlen);
	}
	if (r == PLMC_OK)
		rc = mc_item_push(m, key, klen, buf, vlen, flags, cas);
	else
		rc = r == PLMC_NOT_FOUND ? MEMCACHED_SUCCESS : mc_seg_rc(m, r);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

/* The segment's keys of an mget, PLMC_MGET_MAX per gate crossing. */
static memcached_return_t seg_mget(memcached_st *m, const char *const *keys,
				   const size_t *lens, const int *owner,
				   int idx, size_t n)
{
	enum { BUF = 1024 };
	struct plmc_mget mg[PLMC_MGET_MAX];
	char(*bufs)[BUF] = malloc((size_t)PLMC_MGET_MAX * BUF);
	size_t i = 0;
	memcached_return_t rc = MEMCACHED_SUCCESS;

	if (!bufs)
		return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE, "mget");
	while (i < n && rc == MEMCACHED_SUCCESS) {
		size_t k = 0, first = i;
		int r;

		for (; i < n && k < PLMC_MGET_MAX; i++) {
			if (owner[i] != idx)
				continue;
			memset(&mg[k], 0, sizeof(mg[k]));
			mg[k].key = keys[i];
			mg[k].klen = (uint32_t)lens[i];
			mg[k].buf = bufs[k];
			mg[k].buflen = BUF;
			k++;
		}
		(void)first;
		if (!k)
			break;
		r = plmc_mget(mg, k);
		if (r != PLMC_OK) {
			rc = mc_seg_rc(m, r);
			break;
		}
		for (size_t j = 0; j < k && rc == MEMCACHED_SUCCESS; j++) {
			if (mg[j].rc == PLMC_OK)
				rc = mc_item_push(m, mg[j].key, mg[j].klen,
						  mg[j].buf, mg[j].vlen,
						  mg[j].flags, mg[j].cas);
			else if (mg[j].rc == PLMC_E_SMALLBUF)
				rc = seg_get(m, mg[j].key, mg[j].klen);
			else if (mg[j].rc != PLMC_NOT_FOUND)
				rc = mc_seg_rc(m, mg[j].rc);
		}
	}
	free(bufs);
	return rc;
}

/* Read VALUE blocks up to END from a server. */
static memcached_return_t net_values(memcached_st *m, memcached_instance_st *s)
{
	for (;;) {
		char *l, *val;
		size_t ll;
		char key[MEMCACHED_MAX_KEY];
		unsigned long long bytes, cas = 0;
		unsigned flags;
		int n, kl = 0;
		memcached_return_t rc = mc_net_line(m, s, &l, &ll);

		if (rc != MEMCACHED_SUCCESS)
			return rc;
		if (ll == 3 && !memcmp(l, "END", 3))
			return MEMCACHED_SUCCESS;
		if (ll < 6 || memcmp(l, "VALUE ", 6)) {
			rc = mc_net_status(m, l, ll);
			mc_net_close(s);
			return rc == MEMCACHED_SUCCESS
				       ? MEMCACHED_PROTOCOL_ERROR
				       : rc;
		}
		n = sscanf(l + 6, "%*s%n %u %llu %llu", &kl, &flags, &bytes,
			   &cas);
		if (n < 2 || kl <= 0 || kl > MC_KEY_MAX ||
		    bytes > (1ull << 31)) {
			mc_net_close(s);
			return mc_error(m, MEMCACHED_PROTOCOL_ERROR,
					"bad VALUE line");
		}
		memcpy(key, l + 6, (size_t)kl);
		val = malloc(bytes + 1);
		if (!val) {
			mc_net_close(s);
			return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
					"value of %llu bytes", bytes);
		}
		rc = mc_net_data(m, s, val, bytes);
		if (rc == MEMCACHED_SUCCESS)
			rc = mc_item_push(m, key, (size_t)kl, val, bytes, flags,
					  cas);
		free(val);
		if (rc != MEMCACHED_SUCCESS)
			return rc;
	}
}

memcached_return_t memcached_mget(memcached_st *m, const char *const *keys,
				  const size_t *lens, size_t n)
{
	int *owner;
	memcached_return_t rc = MEMCACHED_SUCCESS, worst = MEMCACHED_SUCCESS;
	uint32_t failed = 0, used = 0;
	int *sent;

	if (!m)
		return MEMCACHED_INVALID_ARGUMENTS;
	mc_items_clear(m);
	m->mget_gen++;
	m->last_rc = MEMCACHED_SUCCESS;
	if (!m->nservers)
		return mc_error(m, MEMCACHED_NO_SERVERS, "no servers");
	if (!n || !keys || !lens)
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS, "no keys");
	for (size_t i = 0; i < n; i++) {
		rc = mc_key_check(m, keys[i], lens[i]);
		if (rc != MEMCACHED_SUCCESS)
			return rc;
	}
	owner = malloc(n * sizeof(*owner));
	sent = calloc(m->nservers, sizeof(*sent));
	if (!owner || !sent) {
		free(owner);
		free(sent);
		return mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE, "mget");
	}
	for (size_t i = 0; i < n; i++)
		owner[i] = mc_server_for(m, keys[i], lens[i]);
	/* Requests to every text server first, so they work in parallel. */
	for (uint32_t si = 0; si < m->nservers; si++) {
		memcached_instance_st *s = &m->servers[si];
		size_t bytes = 8, at = 0;
		char *req;
		struct iovec iov[1];

		if (s->kind == MC_SEG)
			continue;
		for (size_t i = 0; i < n; i++)
			if (owner[i] == (int)si)
				bytes += lens[i] + 1;
		if (bytes == 8)
			continue;
		used++;
		req = malloc(bytes);
		if (!req) {
			worst = mc_error(m, MEMCACHED_MEMORY_ALLOCATION_FAILURE,
					 "mget");
			failed++;
			continue;
		}
		at = (size_t)sprintf(req, m->support_cas ? "gets" : "get");
		for (size_t i = 0; i < n; i++)
			if (owner[i] == (int)si) {
				req[at++] = ' ';
				memcpy(req + at, keys[i], lens[i]);
				at += lens[i];
			}
		req[at++] = '\r';
		req[at++] = '\n';
		iov[0] = (struct iovec){req, at};
		rc = mc_net_send(m, s, iov, 1);
		free(req);
		if (rc == MEMCACHED_SUCCESS)
			sent[si] = 1;
		else {
			worst = rc;
			failed++;
		}
	}
	for (uint32_t si = 0; si < m->nservers; si++) {
		memcached_instance_st *s = &m->servers[si];

		if (s->kind == MC_SEG) {
			int any = 0;

			for (size_t i = 0; i < n && !any; i++)
				any = owner[i] == (int)si;
			if (!any)
				continue;
			used++;
			rc = mc_seg_open(m, s);
			if (rc == MEMCACHED_SUCCESS)
				rc = seg_mget(m, keys, lens, owner, (int)si, n);
		} else if (sent[si]) {
			rc = net_values(m, s);
		} else {
			continue;
		}
		if (rc != MEMCACHED_SUCCESS) {
			worst = rc;
			failed++;
		}
	}
	free(owner);
	free(sent);
	m->mget_active = 1;
	if (!failed)
		return MEMCACHED_SUCCESS;
	return failed < used ? MEMCACHED_SOME_ERRORS : worst;
}

memcached_result_st *memcached_result_create(const memcached_st *m,
					     memcached_result_st *r)
{
	int allocated = 0;

	if (!r) {
		r = malloc(sizeof(*r));
		if (!r)
			return NULL;
		allocated = 1;
	}
	memset(r, 0, sizeof(*r));
	r->allocated = allocated;
	r->root = m;
	return r;
}

void memcached_result_free(memcached_result_st *r)
{
	if (!r)
		return;
	free(r->value);
	r->value = NULL;
	r->length = r->cap = 0;
	if (r->allocated)
		free(r);
}

void memcached_result_reset(memcached_result_st *r)
{
	if (!r)
		return;
	r->key[0] = 0;
	r->key_length = 0;
	r->length = 0;
	if (r->value)
		r->value[0] = 0;
	r->flags = 0;
	r->cas = 0;
	r->expiration = 0;
}

memcached_return_t memcached_result_set_value(memcached_result_st *r,
					      const char *value, size_t len)
{
	if (!r || (!value && len))
		return MEMCACHED_INVALID_ARGUMENTS;
	if (len + 1 > r->cap) {
		char *v = realloc(r->value, len + 1);

		if (!v)
			return MEMCACHED_MEMORY_ALLOCATION_FAILURE;
		r->value = v;
		r->cap = len + 1;
	}
	if (len)
		memcpy(r->value, value, len);
	r->value[len] = 0;
	r->length = len;
	return MEMCACHED_SUCCESS;
}

const char *memcached_result_key_value(const memcached_result_st *r)
{
	return r && r->key_length ? r->key : NULL;
}

size_t memcached_result_key_length(const memcached_result_st *r)
{
	return r ? r->key_length : 0;
}

const char *memcached_result_value(const memcached_result_st *r)
{
	return r && r->value ? r->value : NULL;
}

char *memcached_result_take_value(memcached_result_st *r)
{
	char *v;

	if (!r)
		return NULL;
	v = r->value;
	r->value = NULL;
	r->length = r->cap = 0;
	return v;
}

size_t memcached_result_length(const memcached_result_st *r)
{
	return r ? r->length : 0;
}

uint32_t memcached_result_flags(const memcached_result_st *r)
{
	return r ? r->flags : 0;
}

uint64_t memcached_result_cas(const memcached_result_st *r)
{
	return r ? r->cas : 0;
}

void memcached_result_set_flags(memcached_result_st *r, uint32_t flags)
{
	if (r)
		r->flags = flags;
}

void memcached_result_set_expiration(memcached_result_st *r, time_t t)
{
	if (r)
		r->expiration = t;
}

memcached_result_st *memcached_fetch_result(memcached_st *m,
					    memcached_result_st *r,
					    memcached_return_t *error)
{
	memcached_return_t dummy;
	struct plmc_mc_item *it;
	int fresh = 0;

	if (!error)
		error = &dummy;
	if (!m) {
		*error = MEMCACHED_INVALID_ARGUMENTS;
		return NULL;
	}
	/* As libmemcached: END when the caller's result took a value of
	 * this mget, NOTFOUND otherwise (and always for a NULL result). */
	if (m->next_item >= m->nitems) {
		*error = r && r->gen == m->mget_gen && r->count
				 ? MEMCACHED_END
				 : MEMCACHED_NOTFOUND;
		mc_items_clear(m);
		return NULL;
	}
	if (!r) {
		r = memcached_result_create(m, NULL);
		fresh = 1;
		if (!r) {
			*error = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
			return NULL;
		}
	}
	it = &m->items[m->next_item++];
	if (r->gen != m->mget_gen) {
		r->gen = m->mget_gen;
		r->count = 0;
	}
	r->count++;
	memcpy(r->key, it->key, it->klen + 1);
	r->key_length = it->klen;
	r->flags = it->flags;
	r->cas = it->cas;
	*error = memcached_result_set_value(r, it->value, it->vlen);
	if (*error != MEMCACHED_SUCCESS) {
		if (fresh)
			memcached_result_free(r);
		return NULL;
	}
	return r;
}

char *memcached_fetch(memcached_st *m, char *key, size_t *key_length,
		      size_t *value_length, uint32_t *flags,
		      memcached_return_t *error)
{
	memcached_return_t dummy;
	memcached_result_st *r;
	char *v;

	if (!error)
		error = &dummy;
	if (!m) {
		*error = MEMCACHED_INVALID_ARGUMENTS;
		return NULL;
	}
	if (!m->result.root)
		memcached_result_create(m, &m->result);
	r = memcached_fetch_result(m, &m->result, error);
	if (value_length)
		*value_length = r ? r->length : 0;
	if (!r)
		return NULL;
	if (key) {
		memcpy(key, r->key, r->key_length + 1);
		if (key_length)
			*key_length = r->key_length;
	}
	if (flags)
		*flags = r->flags;
	if (!r->length)
		return NULL;
	v = malloc(r->length + 1);
	if (!v) {
		*error = MEMCACHED_MEMORY_ALLOCATION_FAILURE;
		return NULL;
	}
	memcpy(v, r->value, r->length + 1);
	return v;
}

char *memcached_get(memcached_st *m, const char *key, size_t klen,
		    size_t *value_length, uint32_t *flags,
		    memcached_return_t *error)
{
	memcached_return_t dummy, rc;
	memcached_instance_st *s;
	const char *keys[1] = {key};
	size_t lens[1] = {klen};
	char *v = NULL;

	if (!error)
		error = &dummy;
	if (value_length)
		*value_length = 0;
	if (flags)
		*flags = 0;
	rc = prep(m, key, klen, &s);
	if (rc != MEMCACHED_SUCCESS) {
		*error = rc;
		return NULL;
	}
	mc_items_clear(m);
	if (s->kind == MC_SEG) {
		rc = seg_get(m, key, klen);
	} else {
		rc = memcached_mget(m, keys, lens, 1);
	}
	if (rc == MEMCACHED_SUCCESS && !m->nitems)
		rc = MEMCACHED_NOTFOUND;
	if (rc == MEMCACHED_SUCCESS) {
		struct plmc_mc_item *it = &m->items[0];

		if (value_length)
			*value_length = it->vlen;
		if (flags)
			*flags = it->flags;
		if (it->vlen) {
			v = it->value;
			it->value = NULL;
		}
	}
	mc_items_clear(m);
	*error = rc;
	return v;
}
