// SPDX-License-Identifier: MIT
/*
 * plmcd/bin.c - memcached's binary protocol (every opcode memcached 1.6
 * serves, the quiet variants, noop as the end of a batch).
 *
 * Each request is run only when its whole packet is in the input, and
 * every store operation goes through plmc_meta(), the store's one
 * implementation of get/set/add/replace/append/prepend/cas/delete/
 * incr/decr/touch (the text protocol's meta commands use it too): the
 * binary protocol adds framing, never a second version of an operation.
 * Replies, status codes and their texts follow memcached 1.6.18's
 * proto_bin.c: a quiet request answers only its errors, a quiet get
 * answers nothing on a miss, and a malformed request gets EINVAL and
 * the connection is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plmc.h"
#include "plmcd.h"

enum {
	BIN_REQ = 0x80, BIN_RES = 0x81, BIN_HDR = 24,
	ST_OK = 0x00, ST_ENOENT = 0x01, ST_EEXISTS = 0x02, ST_E2BIG = 0x03,
	ST_EINVAL = 0x04, ST_NOT_STORED = 0x05, ST_DELTA_BADVAL = 0x06,
	ST_AUTH_ERROR = 0x20, ST_UNKNOWN = 0x81, ST_ENOMEM = 0x82,
};

enum {
	OP_GET = 0x00, OP_SET, OP_ADD, OP_REPLACE, OP_DELETE, OP_INCR,
	OP_DECR, OP_QUIT, OP_FLUSH, OP_GETQ, OP_NOOP, OP_VERSION, OP_GETK,
	OP_GETKQ, OP_APPEND, OP_PREPEND, OP_STAT, OP_SETQ, OP_ADDQ,
	OP_REPLACEQ, OP_DELETEQ, OP_INCRQ, OP_DECRQ, OP_QUITQ, OP_FLUSHQ,
	OP_APPENDQ, OP_PREPENDQ, OP_VERBOSITY, OP_TOUCH, OP_GAT, OP_GATQ,
	OP_SASL_LIST = 0x20, OP_SASL_AUTH, OP_SASL_STEP, OP_GATK, OP_GATKQ,
};

/* One request, decoded from its header; key, extras and value point into
 * the connection's input. */
struct bin_req {
	uint8_t op;	/* the opcode as sent (replies echo it) */
	uint8_t base;	/* the op with the quiet variant folded in */
	int quiet;
	uint8_t extlen;
	uint16_t klen;
	uint32_t bodylen, opaque;
	uint64_t cas;
	const uint8_t *ext;
	const char *key, *val;
	size_t vlen;
	int skipped; /* answered in decode(), its body skipped there */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

/* A response header for @q; the body (extras, key, value) follows. */
static void header(struct conn *c, const struct bin_req *q, uint16_t status,
		   uint8_t extlen, uint16_t klen, uint32_t bodylen, uint64_t cas)
{
	uint8_t h[BIN_HDR] = { BIN_RES, q->op };

	put16(h + 2, klen);
	h[4] = extlen;
	put16(h + 6, status);
	put32(h + 8, bodylen);
	memcpy(h + 12, &q->opaque, 4); /* opaque goes back as sent */
	put64(h + 16, g_opt.no_cas ? 0 : cas);
	buf_add(&c->out, h, sizeof(h));
}

static void error(struct conn *c, const struct bin_req *q, uint16_t st)
{
	const char *s;

	switch (st) {
	case ST_ENOENT: s = "Not found"; break;
	case ST_EEXISTS: s = "Data exists for key."; break;
	case ST_E2BIG: s = "Too large."; break;
	case ST_EINVAL: s = "Invalid arguments"; break;
	case ST_NOT_STORED: s = "Not stored."; break;
	case ST_DELTA_BADVAL:
		s = "Non-numeric server-side value for incr or decr";
		break;
	case ST_AUTH_ERROR: s = "Auth failure."; break;
	case ST_ENOMEM: s = "Out of memory"; break;
	default: s = "Unknown command"; break;
	}
	header(c, q, st, 0, 0, (uint32_t)strlen(s), 0);
	buf_add(&c->out, s, strlen(s));
}

/* A success with an optional body; quiet requests send nothing. */
static void ok(struct conn *c, const struct bin_req *q, const void *body,
	       uint32_t len, uint64_t cas)
{
	if (q->quiet)
		return;
	header(c, q, ST_OK, 0, 0, len, cas);
	buf_add(&c->out, body, len);
}

/* The store checks text keys for spaces and control bytes; a binary
 * key may hold any byte, as memcached's binary protocol allows. */
static uint32_t key_flags(const struct bin_req *q)
{
	for (uint16_t i = 0; i < q->klen; i++) {
		unsigned char ch = (unsigned char)q->key[i];

		if (ch <= ' ' || ch == 0x7f)
			return PLMC_MF_BINKEY;
	}
	return 0;
}

static uint16_t store_status(int rc)
{
	switch (rc) {
	case PLMC_E_TOOBIG: return ST_E2BIG;
	case PLMC_E_NOMEM: return ST_ENOMEM;
	case PLMC_E_NONNUMERIC: return ST_DELTA_BADVAL;
	case PLMC_NOT_FOUND: return ST_ENOENT;
	case PLMC_EXISTS: return ST_EEXISTS;
	default: return ST_EINVAL;
	}
}

/* get getq getk getkq, touch gat gatq gatk gatkq */
static void bin_get(struct conn *c, struct worker_ctx *w,
		    const struct bin_req *q)
{
	int touch = q->base == OP_TOUCH || q->base == OP_GAT ||
		    q->base == OP_GATK;
	int with_key = q->base == OP_GETK || q->base == OP_GATK;
	int with_val = q->base != OP_TOUCH;
	struct plmc_meta m = { .cmd = PLMC_META_GET,
			       .mflags = key_flags(q) |
					 (with_val ? PLMC_MF_VALUE : 0) };
	uint8_t fl[4];
	int rc;

	if (touch) {
		m.mflags |= PLMC_MF_TTL | PLMC_MF_TOUCH;
		m.ttl = be32(q->ext);
	}
	rc = plmc_meta(q->key, q->klen, &m, NULL, 0, w->scratch,
		       w->scratch_len);
	if (!touch)
		detail_record(q->key, q->klen, DETAIL_GET, rc == PLMC_OK);
	watch_item_get(c, q->key, q->klen, rc == PLMC_OK, m.vlen);
	if (rc == PLMC_NOT_FOUND) {
		if (q->quiet)
			return;
		if (!with_key) {
			error(c, q, ST_ENOENT);
			return;
		}
		header(c, q, ST_ENOENT, 0, q->klen, q->klen, 0);
		buf_add(&c->out, q->key, q->klen);
		return;
	}
	if (rc != PLMC_OK) {
		error(c, q, store_status(rc));
		return;
	}
	if (!with_val)
		m.vlen = 0;
	put32(fl, m.flags);
	header(c, q, ST_OK, 4, with_key ? q->klen : 0,
	       4 + (with_key ? q->klen : 0) + (uint32_t)m.vlen, m.cas);
	buf_add(&c->out, fl, 4);
	if (with_key)
		buf_add(&c->out, q->key, q->klen);
	buf_add(&c->out, w->scratch, m.vlen);
}

/* The command as memcached's watchers name it (watch.c). */
static const char *store_word(const struct bin_req *q)
{
	switch (q->base) {
	case OP_ADD: /* with a CAS, memcached's NREAD_CAS */
		return q->cas ? "cas" : "add";
	case OP_REPLACE:
		return q->cas ? "cas" : "replace";
	case OP_APPEND:
		return "append";
	case OP_PREPEND:
		return "prepend";
	default:
		return q->cas ? "cas" : "set";
	}
}

/* set add replace append prepend (and their quiet forms); a CAS in the
 * header makes set/add/replace a cas, and append/prepend conditional. */
static void bin_store(struct conn *c, const struct bin_req *q)
{
	struct plmc_meta m = { .cmd = PLMC_META_SET, .mflags = key_flags(q) };
	int rc;

	switch (q->base) {
	case OP_ADD: m.mode = PLMC_MS_ADD; break;
	case OP_REPLACE: m.mode = PLMC_MS_REPLACE; break;
	case OP_APPEND: m.mode = PLMC_MS_APPEND; break;
	case OP_PREPEND: m.mode = PLMC_MS_PREPEND; break;
	default: m.mode = PLMC_MS_SET; break;
	}
	if (q->extlen == 8) {
		m.cflags = be32(q->ext);
		m.mflags |= PLMC_MF_TTL;
		m.ttl = be32(q->ext + 4);
	}
	if (q->cas) {
		m.mflags |= PLMC_MF_CAS;
		m.cas_in = q->cas;
		/* memcached: a CAS makes add a cas as well (its proto_bin.c
		 * turns any store with one into NREAD_CAS): Not found on a
		 * miss, the value replaced on a match */
		if (q->base == OP_ADD)
			m.mode = PLMC_MS_SET;
	}
	detail_record(q->key, q->klen, DETAIL_SET, 0);
	watch_lookup(c, q->key, q->klen, key_flags(q) != 0);
	rc = plmc_meta(q->key, q->klen, &m, q->val, q->vlen, NULL, 0);
	stats_store_rc(rc);
	watch_item_store(c, q->key, q->klen, rc, store_word(q), m.ttl, q->vlen);
	if (rc == PLMC_E_TOOBIG && q->base == OP_SET)
		plmc_delete(q->key, q->klen); /* as the text protocol's set */
	if (rc == PLMC_STORED)
		ok(c, q, NULL, 0, m.cas);
	else if (rc == PLMC_NOT_STORED)
		/* memcached: add finds the key, replace does not */
		error(c, q, q->base == OP_ADD ? ST_EEXISTS :
			    q->base == OP_REPLACE ? ST_ENOENT : ST_NOT_STORED);
	else
		error(c, q, store_status(rc));
}

static void bin_delete(struct conn *c, const struct bin_req *q)
{
	struct plmc_meta m = { .cmd = PLMC_META_DELETE, .mflags = key_flags(q) };
	int rc;

	if (q->cas) {
		m.mflags |= PLMC_MF_CAS;
		m.cas_in = q->cas;
	}
	detail_record(q->key, q->klen, DETAIL_DEL, 0);
	watch_lookup(c, q->key, q->klen, key_flags(q) != 0);
	rc = plmc_meta(q->key, q->klen, &m, NULL, 0, NULL, 0);
	if (rc == PLMC_DELETED || rc == PLMC_OK)
		ok(c, q, NULL, 0, 0);
	else
		error(c, q, store_status(rc));
}

/* incr/decr: extras delta(8) initial(8) expiration(4); a miss creates
 * the item with the initial value unless expiration is 0xffffffff. */
static void bin_arith(struct conn *c, const struct bin_req *q)
{
	struct plmc_meta m = { .cmd = PLMC_META_ARITH, .mflags = key_flags(q),
			       .mode = q->base == OP_INCR ? PLMC_MA_INCR
							  : PLMC_MA_DECR };
	uint32_t exp = be32(q->ext + 16);
	uint8_t v[8];
	int rc;

	m.delta = be64(q->ext);
	if (exp != 0xffffffffu) {
		m.mflags |= PLMC_MF_VIVIFY;
		m.initial = be64(q->ext + 8);
		m.vivify_ttl = exp;
	}
	if (q->cas) {
		m.mflags |= PLMC_MF_CAS;
		m.cas_in = q->cas;
	}
	watch_lookup(c, q->key, q->klen, key_flags(q) != 0);
	rc = plmc_meta(q->key, q->klen, &m, NULL, 0, NULL, 0);
	if (rc == PLMC_OK && (m.rbits & PLMC_MR_CREATED))
		watch_vivified(c, q->key, q->klen, m.vivify_ttl, m.number);
	if (rc != PLMC_OK) {
		error(c, q, store_status(rc));
		return;
	}
	put64(v, m.number);
	ok(c, q, v, 8, m.cas);
}

static void bin_flush(struct conn *c, const struct bin_req *q)
{
	/* memcached reads it into a time_t: unsigned 32 bits */
	int64_t exptime = q->extlen == 4 ? (int64_t)be32(q->ext) : 0;

	if (g_opt.no_flush) {
		error(c, q, ST_AUTH_ERROR);
		return;
	}
	if (proto_flush(exptime) < 0)
		error(c, q, ST_ENOMEM);
	else
		ok(c, q, NULL, 0, 0);
}

/* One STAT packet per "STAT name value" line of the text reply, then an
 * empty one: the same figures as the text protocol's stats. */
static void bin_stat(struct conn *c, const struct bin_req *q)
{
	char what[64];
	struct buf t = { 0 };
	const char *p, *end;

	if (q->klen >= sizeof(what)) {
		error(c, q, ST_ENOENT);
		return;
	}
	memcpy(what, q->key, q->klen);
	what[q->klen] = 0;
	if (!strncmp(what, "detail ", 7)) {
		detail_command(&t, what + 7);
		if (!memcmp(t.p, "CLIENT", 6)) {
			buf_free(&t);
			error(c, q, ST_ENOENT);
			return;
		}
	} else if (plmcd_stats(&t, q->klen ? what : NULL) < 0 ||
	    (t.len >= 6 && !memcmp(t.p, "SERVER", 6))) {
		buf_free(&t);
		error(c, q, ST_ENOENT);
		return;
	}
	for (p = t.p; p < t.p + t.len; p = end + 2) {
		const char *name, *sp;

		end = memmem(p, t.p + t.len - p, "\r\n", 2);
		if (!end)
			break;
		if (end - p < 5 || memcmp(p, "STAT ", 5))
			continue; /* END, RESET */
		name = p + 5;
		sp = memchr(name, ' ', end - name);
		if (!sp)
			continue;
		header(c, q, ST_OK, 0, (uint16_t)(sp - name),
		       (uint32_t)(end - name - 1), 0);
		buf_add(&c->out, name, sp - name);
		buf_add(&c->out, sp + 1, end - sp - 1);
	}
	buf_free(&t);
	header(c, q, ST_OK, 0, 0, 0, 0);
}

/* Is the request's shape one memcached accepts for its opcode? */
static int shape_ok(const struct bin_req *q)
{
	uint32_t kb = (uint32_t)q->klen + q->extlen;

	switch (q->base) {
	case OP_VERSION:
	case OP_NOOP:
	case OP_QUIT:
		return q->bodylen == 0;
	case OP_FLUSH:
		return !q->klen && q->bodylen == q->extlen &&
		       (q->extlen == 0 || q->extlen == 4);
	case OP_SET:
	case OP_ADD:
	case OP_REPLACE:
		return q->extlen == 8 && q->klen && q->bodylen >= kb;
	case OP_GET:
	case OP_GETK:
		return !q->extlen && q->klen && q->bodylen == q->klen;
	case OP_DELETE:
		return q->klen && !q->extlen && q->bodylen == q->klen;
	case OP_INCR:
	case OP_DECR:
		return q->klen && q->extlen == 20 && q->bodylen == kb;
	case OP_APPEND:
	case OP_PREPEND:
		return q->klen && !q->extlen;
	case OP_STAT:
		return !q->extlen;
	case OP_TOUCH:
	case OP_GAT:
	case OP_GATK:
		return q->extlen == 4 && q->klen;
	}
	return 1;
}

/* The quiet opcodes, as the loud one they are a quiet form of. */
static uint8_t fold_quiet(uint8_t op, int *quiet)
{
	static const uint8_t loud[][2] = {
		{ OP_SETQ, OP_SET }, { OP_ADDQ, OP_ADD },
		{ OP_REPLACEQ, OP_REPLACE }, { OP_DELETEQ, OP_DELETE },
		{ OP_INCRQ, OP_INCR }, { OP_DECRQ, OP_DECR },
		{ OP_QUITQ, OP_QUIT }, { OP_FLUSHQ, OP_FLUSH },
		{ OP_APPENDQ, OP_APPEND }, { OP_PREPENDQ, OP_PREPEND },
		{ OP_GETQ, OP_GET }, { OP_GETKQ, OP_GETK },
		{ OP_GATQ, OP_GAT }, { OP_GATKQ, OP_GATK },
	};

	for (size_t i = 0; i < sizeof(loud) / sizeof(loud[0]); i++)
		if (loud[i][0] == op) {
			*quiet = 1;
			return loud[i][1];
		}
	*quiet = 0;
	return op;
}

/* A SASL step's answer: its status, and a body where it has one (an
 * error without one gets memcached's text for the status). */
static void sasl_reply(struct conn *c, void *qp, uint16_t st,
		       const char *body, size_t len)
{
	const struct bin_req *q = qp;

	if (st != ST_OK && !body) {
		error(c, q, st);
		return;
	}
	header(c, q, st, 0, 0, (uint32_t)len, 0);
	buf_add(&c->out, body, len);
}

/* Run one whole request. Return 0, or -1 to close after the reply. */
static int dispatch(struct conn *c, struct worker_ctx *w, struct bin_req *q)
{
	if (q->klen > PLMC_KEY_MAX || !shape_ok(q)) {
		error(c, q, ST_EINVAL);
		return -1;
	}
	switch (q->base) {
	case OP_GET: case OP_GETK: case OP_TOUCH: case OP_GAT: case OP_GATK:
		bin_get(c, w, q);
		break;
	case OP_SET: case OP_ADD: case OP_REPLACE: case OP_APPEND:
	case OP_PREPEND:
		bin_store(c, q);
		break;
	case OP_DELETE:
		bin_delete(c, q);
		break;
	case OP_INCR: case OP_DECR:
		bin_arith(c, q);
		break;
	case OP_FLUSH:
		bin_flush(c, q);
		break;
	case OP_NOOP:
		ok(c, q, NULL, 0, 0);
		break;
	case OP_VERSION:
		ok(c, q, PLMCD_VERSION, sizeof(PLMCD_VERSION) - 1, 0);
		break;
	case OP_STAT:
		bin_stat(c, q);
		break;
	case OP_QUIT:
		ok(c, q, NULL, 0, 0);
		return -1;
	case OP_SASL_LIST: case OP_SASL_AUTH: case OP_SASL_STEP:
		if (!g_opt.sasl) {
			error(c, q, ST_UNKNOWN);
			break;
		}
		if (sasl_bin_run(c, q->base, q->key, q->klen, q->val, q->vlen,
				 sasl_reply, q) < 0)
			return -1;
		break;
	default: /* unknown opcodes are answered in decode() */
		error(c, q, ST_UNKNOWN);
	}
	return 0;
}

/* An opcode memcached 1.6.18's binary protocol serves (quiet ones as
 * their loud form; verbosity is not one: it answers Unknown command). */
static int bin_known(uint8_t base)
{
	switch (base) {
	case OP_GET: case OP_GETK: case OP_SET: case OP_ADD: case OP_REPLACE:
	case OP_DELETE: case OP_INCR: case OP_DECR: case OP_QUIT:
	case OP_FLUSH: case OP_NOOP: case OP_VERSION: case OP_APPEND:
	case OP_PREPEND: case OP_STAT: case OP_TOUCH: case OP_GAT:
	case OP_GATK: case OP_SASL_LIST: case OP_SASL_AUTH: case OP_SASL_STEP:
		return 1;
	}
	return 0;
}

/*
 * An opcode it does not serve, as memcached 1.6.18 takes one: it reads
 * the header, extras and key, answers Unknown command, then drops
 * bodylen bytes more. That is the whole body only when extras and key
 * are empty: verbosity's 4 bytes of extras make it drop the first 4
 * bytes of whatever the client sends next, so its next request is
 * misread (memcached closes on the bad magic). plmcd frames it the
 * same way, so a client sees the same bytes and the same close.
 */
static size_t unknown_op(struct conn *c, struct bin_req *q, size_t avail)
{
	size_t head = BIN_HDR + (size_t)q->extlen + q->klen;

	if (q->klen > PLMC_KEY_MAX) { /* checked first, as dispatch() */
		error(c, q, ST_EINVAL);
		return (size_t)-1;
	}
	if (avail < head)
		return 0;
	error(c, q, ST_UNKNOWN);
	c->swallow = q->bodylen;
	q->skipped = 1;
	return head;
}

/*
 * Decode the header at the input's start. Return: the packet's size, 0
 * to wait for more, (size_t)-1 to close (not a request). A body too big
 * for any item is answered and skipped here (memcached swallows it).
 */
static size_t decode(struct conn *c, struct bin_req *q)
{
	const uint8_t *h = (const uint8_t *)c->in.p + c->in.off;
	size_t avail = c->in.len - c->in.off;

	if (avail < BIN_HDR)
		return 0;
	if (h[0] != BIN_REQ)
		return (size_t)-1; /* memcached closes on a bad magic */
	*q = (struct bin_req){ .op = h[1], .extlen = h[4],
			       .klen = (uint16_t)(h[2] << 8 | h[3]),
			       .bodylen = be32(h + 8), .cas = be64(h + 16) };
	memcpy(&q->opaque, h + 12, 4);
	q->base = fold_quiet(q->op, &q->quiet);
	if ((uint64_t)q->klen + q->extlen > q->bodylen) {
		error(c, q, ST_UNKNOWN);
		return (size_t)-1;
	}
	/* -S: before anything reads or changes the store (the too-large
	 * path below deletes), as memcached checks it on the header */
	if (!sasl_bin_allowed(c, q->base)) {
		error(c, q, ST_AUTH_ERROR);
		return (size_t)-1;
	}
	if (!bin_known(q->base))
		return unknown_op(c, q, avail);
	if (q->bodylen > g_server.item_max + PLMC_KEY_MAX + 32) {
		/* too large for any item: answer, then drop the body; a set
		 * also drops the key's old value, as memcached does */
		if (avail < BIN_HDR + (size_t)q->extlen + q->klen)
			return 0;
		if (q->base == OP_SET && q->klen <= PLMC_KEY_MAX)
			plmc_delete(h + BIN_HDR + q->extlen, q->klen);
		stats_store_rc(PLMC_E_TOOBIG);
		c->swallow = q->bodylen;
		q->skipped = 1;
		error(c, q, q->base == OP_SET || q->base == OP_ADD ||
				    q->base == OP_REPLACE ||
				    q->base == OP_APPEND ||
				    q->base == OP_PREPEND
			    ? ST_E2BIG : ST_EINVAL);
		return BIN_HDR;
	}
	if (avail < BIN_HDR + (size_t)q->bodylen) {
		/* memcached reads a body past extras and key in conn_nread,
		 * which its idle timeout passes over */
		c->nread = avail >= BIN_HDR + (size_t)q->extlen + q->klen;
		return 0;
	}
	q->ext = h + BIN_HDR;
	q->key = (const char *)q->ext + q->extlen;
	q->val = q->key + q->klen;
	q->vlen = q->bodylen - q->klen - q->extlen;
	return BIN_HDR + (size_t)q->bodylen;
}

int bin_run(struct conn *c, struct worker_ctx *w)
{
	struct bin_req q;
	size_t n = decode(c, &q);

	if (n == (size_t)-1)
		return -1;
	if (n == 0)
		return 0;
	if (q.skipped) {
		buf_consume(&c->in, n);
		return 1;
	}
	if (dispatch(c, w, &q) < 0)
		return -1;
	buf_consume(&c->in, n);
	return 1;
}
