// SPDX-License-Identifier: MIT
/*
 * plmcd/proto.c - memcached's text protocol on top of plmc.h.
 *
 * One complete command at a time from the connection's input buffer. A
 * storage command is run only when its data block is there whole, so no
 * per-connection parse state survives between reads except `swallow`.
 * Replies follow memcached 1.6: the same words, the same error strings.
 * noreply (the line's last word) silences every reply of a command once
 * its word count is right: errors too, a bad data chunk, a bad line
 * format or a too-long key included (memcached's out_string() skips the
 * reply whenever set_noreply_maybe() saw noreply). A wrong word count
 * is an ERROR before noreply is looked at, and is always sent.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plmc.h"
#include "plmcd.h"

static const char E_FORMAT[] = "CLIENT_ERROR bad command line format\r\n";
static const char E_CHUNK[] = "CLIENT_ERROR bad data chunk\r\n";
static const char E_TOOBIG[] = "SERVER_ERROR object too large for cache\r\n";
static const char E_NOMEM[] = "SERVER_ERROR out of memory storing object\r\n";
static const char E_EXPTIME[] = "CLIENT_ERROR invalid exptime argument\r\n";
static const char E_DELETE[] = "CLIENT_ERROR bad command line format.  "
			       "Usage: delete <key> [noreply]\r\n";

static void reply(struct conn *c, const struct cmd *k, const char *s)
{
	if (!k->noreply)
		buf_add(&c->out, s, strlen(s));
}

/* Split @line (n bytes, NUL-terminated at n) in place at spaces. */
static void tokenize(char *line, size_t n, struct cmd *k)
{
	size_t i = 0;

	k->n = 0;
	while (i < n) {
		if (k->n == PLMCD_MAX_TOKENS) {
			k->n = -1; /* too many words */
			return;
		}
		while (i < n && line[i] == ' ')
			i++;
		if (i == n)
			break;
		k->tok[k->n] = line + i;
		while (i < n && line[i] != ' ')
			i++;
		k->len[k->n] = line + i - k->tok[k->n];
		line[i++] = 0; /* i <= n: at worst the terminating NUL */
		k->n++;
	}
	k->noreply = k->n > 1 && !strcmp(k->tok[k->n - 1], "noreply");
	if (k->noreply)
		k->n--;
}

/* Strict decimal parsers: the whole token, in range. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/*
 * flags and exptime as memcached 1.6.18 reads them (safe_strtoul and
 * safe_strtol into 32-bit variables): any number a long holds, cut to 32
 * bits. So "set k 4294967296 0 1" stores flags 0, exptime 2147483648 is
 * -2147483648 (in the past: stored, already expired) and 4294967296 is 0.
 */
static int parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (parse_u64(s, &x))
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int parse_i32(const char *s, int32_t *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || *end || end == s)
		return -1;
	*v = (int32_t)(uint32_t)(unsigned long)x;
	return 0;
}

/* Words on the line, noreply included (memcached's ntokens - 1). */
static int words(const struct cmd *k)
{
	return k->n + k->noreply;
}

/*
 * A command of @want words (its name included) may carry one more:
 * memcached reads the words by position and looks at the last one only
 * for noreply, so an extra last word that is not noreply is ignored
 * ("set k 0 0 1 foo" stores). Return: 0, or -1 for a wrong word count
 * (memcached's ERROR).
 */
static int fit_words(struct cmd *k, int want)
{
	if (words(k) != want && words(k) != want + 1)
		return -1;
	if (k->n == want + 1)
		k->n = want;
	return 0;
}

static void error(struct conn *c)
{
	buf_add(&c->out, "ERROR\r\n", 7);
}

static int key_ok(const struct cmd *k, int i)
{
	return k->len[i] > 0 && k->len[i] <= PLMC_KEY_MAX;
}

/* A store error as memcached words it. */
static const char *store_error(int rc)
{
	switch (rc) {
	case PLMC_E_TOOBIG:
		return E_TOOBIG;
	case PLMC_E_NOMEM:
		return E_NOMEM;
	case PLMC_E_KEY:
		return E_FORMAT;
	default:
		return "SERVER_ERROR store failure\r\n";
	}
}

static const char *status_word(int rc)
{
	switch (rc) {
	case PLMC_STORED:
		return "STORED\r\n";
	case PLMC_NOT_STORED:
		return "NOT_STORED\r\n";
	case PLMC_EXISTS:
		return "EXISTS\r\n";
	case PLMC_NOT_FOUND:
		return "NOT_FOUND\r\n";
	case PLMC_DELETED:
		return "DELETED\r\n";
	case PLMC_TOUCHED:
		return "TOUCHED\r\n";
	default:
		return rc < 0 ? store_error(rc) : "SERVER_ERROR unknown\r\n";
	}
}

static void value_block(struct conn *c, const char *key, uint32_t flags,
			const void *val, size_t vlen, int with_cas, uint64_t cas)
{
	if (with_cas)
		buf_printf(&c->out, "VALUE %s %u %zu %llu\r\n", key, flags,
			   vlen, (unsigned long long)(g_opt.no_cas ? 0 : cas));
	else
		buf_printf(&c->out, "VALUE %s %u %zu\r\n", key, flags, vlen);
	buf_add(&c->out, val, vlen);
	buf_add(&c->out, "\r\n", 2);
}

/*
 * Whether the store would refuse @key (n bytes) as a text key: a
 * control byte or DEL. memcached's text protocol splits words at
 * spaces only, so such a key is a key like any other there (stored,
 * found, or a miss); plmcd asks for it as the binary protocol does,
 * through plmc_meta with PLMC_MF_BINKEY, once the plain call has
 * refused it (PLMC_E_KEY): the common path pays nothing.
 */
static int key_binary(const char *key, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < ' ' || key[i] == 0x7f)
			return 1;
	return 0;
}

/* A get or gat of a key with control bytes (key_binary) through
 * plmc_meta, the binary protocol's path; as plmc_get otherwise. */
static int get_binkey(struct worker_ctx *w, const char *key, size_t klen,
		      int touch, int32_t exptime, size_t *vlen, uint32_t *flags,
		      uint64_t *cas)
{
	struct plmc_meta m = {
		.cmd = PLMC_META_GET,
		.mflags = PLMC_MF_BINKEY | PLMC_MF_VALUE |
			  (touch ? PLMC_MF_TTL | PLMC_MF_TOUCH : 0),
		.ttl = exptime,
	};
	int rc = plmc_meta(key, klen, &m, NULL, 0, w->scratch, w->scratch_len);

	*vlen = m.vlen;
	*flags = m.flags;
	*cas = m.cas;
	return rc;
}

/* One key through plmc_get/plmc_gat: a VALUE block, or nothing on a miss. */
static int get_one(struct conn *c, struct worker_ctx *w, const struct cmd *k,
		   int i, int with_cas, int touch, int32_t exptime)
{
	size_t vlen = 0;
	uint32_t flags = 0;
	uint64_t cas = 0;
	int rc;

	if (touch)
		rc = plmc_gat(k->tok[i], k->len[i], exptime, w->scratch,
			      w->scratch_len, &vlen, &flags, &cas);
	else
		rc = plmc_get(k->tok[i], k->len[i], w->scratch,
			      w->scratch_len, &vlen, &flags, &cas);
	if (rc == PLMC_E_KEY && key_binary(k->tok[i], k->len[i]))
		rc = get_binkey(w, k->tok[i], k->len[i], touch, exptime, &vlen,
				&flags, &cas);
	detail_record(k->tok[i], k->len[i], DETAIL_GET, rc == PLMC_OK);
	watch_item_get(c, k->tok[i], k->len[i], rc == PLMC_OK, vlen);
	if (rc == PLMC_NOT_FOUND)
		return 0;
	if (rc != PLMC_OK)
		return rc;
	value_block(c, k->tok[i], flags, w->scratch, vlen, with_cas, cas);
	return 0;
}

/* get_batch and get_keys: the reply is whole, paused (out_full), or
 * ended by a store error (< 0). */
#define GET_PAUSED 1

/*
 * Keys [first, end) in one gate crossing, each into its own slot of the
 * batch area; a value too big for its slot (or a key the store takes
 * as binary only) is fetched again alone (a multi-get is not atomic in
 * memcached either). Those are the values that can be large: before
 * each, a full output pauses the reply there (*next: the key to go on
 * from; the batch's later keys are fetched again then).
 */
static int get_batch(struct conn *c, struct worker_ctx *w, const struct cmd *k,
		     int first, int end, int with_cas, int *next)
{
	static __thread struct plmc_mget m[PLMC_MGET_MAX];
	int n = end - first, rc;

	for (int j = 0; j < n; j++)
		m[j] = (struct plmc_mget){
			.key = k->tok[first + j],
			.klen = (uint32_t)k->len[first + j],
			.buf = w->batch + (size_t)j * PLMCD_MGET_SLOT,
			.buflen = PLMCD_MGET_SLOT,
		};
	rc = plmc_mget(m, (size_t)n);
	if (rc < 0)
		return rc;
	for (int j = 0; j < n; j++) {
		int alone = m[j].rc == PLMC_E_SMALLBUF || m[j].rc == PLMC_E_KEY;

		if (alone && out_full(c)) {
			*next = first + j;
			return GET_PAUSED;
		}
		if (!alone) { /* get_one counts those */
			detail_record(k->tok[first + j], k->len[first + j],
				      DETAIL_GET, m[j].rc == PLMC_OK);
			watch_item_get(c, k->tok[first + j], k->len[first + j],
				       m[j].rc == PLMC_OK, m[j].vlen);
		}
		if (m[j].rc == PLMC_OK)
			value_block(c, k->tok[first + j], m[j].flags, m[j].buf,
				    m[j].vlen, with_cas, m[j].cas);
		else if (alone)
			rc = get_one(c, w, k, first + j, with_cas, 0, 0);
		else if (m[j].rc != PLMC_NOT_FOUND)
			rc = m[j].rc;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Fetch the keys from @first on, a batch per gate crossing (one at a
 * time for gat), as long as the output has room (out_full): proto_run
 * runs a command only when it has, so each call adds at least one
 * key's reply. Return: 0; GET_PAUSED with *next the key to go on
 * from; -1 after a SERVER_ERROR reply.
 */
static int get_keys(struct conn *c, struct worker_ctx *w, const struct cmd *k,
		    int first, int with_cas, int touch, int32_t exptime,
		    int *next)
{
	for (int i = first; i < k->n;) {
		int end = i + PLMC_MGET_MAX < k->n ? i + PLMC_MGET_MAX : k->n;
		int rc;

		if (out_full(c)) {
			*next = i;
			return GET_PAUSED;
		}
		rc = touch || end - i == 1
			     ? get_one(c, w, k, i, with_cas, touch, exptime)
			     : get_batch(c, w, k, i, end, with_cas, next);
		if (rc == GET_PAUSED)
			return rc;
		if (rc < 0) {
			buf_printf(&c->out, "SERVER_ERROR %s\r\n",
				   plmc_strerror(rc));
			return -1;
		}
		i = touch ? i + 1 : end;
	}
	return 0;
}

/*
 * get|gets key... ; gat|gats exptime key... Return: 0 (answered whole),
 * or GET_PAUSED: run the same line again once the output has room, and
 * it goes on from c->resume.
 */
static int cmd_get(struct conn *c, struct worker_ctx *w, struct cmd *k,
		   int with_cas, int touch)
{
	int first = touch ? 2 : 1, next;
	int32_t exptime = 0;

	if (k->noreply) { /* a retrieval reads no noreply: a key like any */
		k->noreply = 0;
		k->n++;
	}
	if (k->n < first) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return 0;
	}
	if (touch && parse_i32(k->tok[1], &exptime)) {
		buf_add(&c->out, E_EXPTIME, sizeof(E_EXPTIME) - 1);
		return 0;
	}
	if (!touch && k->n == 1) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return 0;
	}
	/* memcached checks each key as it comes to it, but answers a bad
	 * one with this line alone: the values before it are dropped */
	for (int i = first; i < k->n && !c->resume; i++) {
		if (!key_ok(k, i)) {
			buf_add(&c->out, E_FORMAT, sizeof(E_FORMAT) - 1);
			return 0;
		}
	}
	if (c->resume)
		first = (int)c->resume;
	c->resume = 0;
	switch (get_keys(c, w, k, first, with_cas, touch, exptime, &next)) {
	case GET_PAUSED:
		c->resume = (size_t)next;
		return GET_PAUSED;
	case 0:
		buf_add(&c->out, "END\r\n", 5);
	}
	return 0;
}

/* The length of the run of spaces (@sp) or of non-spaces at s[i..n). */
static size_t run_of(const char *s, size_t i, size_t n, int sp)
{
	size_t j = i;

	while (j < n && (s[j] == ' ') == sp)
		j++;
	return j - i;
}

/*
 * A get or gets line longer than PLMCD_LINE_MAX, or of more words than a
 * struct cmd holds: memcached takes multi-gets of any length (its t/
 * getset.t sends 18,725 keys on one line). @s (@n bytes, without the
 * line end) is read in place: the keys are checked first, as cmd_get
 * does, then copied into @line a chunk at a time (every key fits: at
 * most PLMC_KEY_MAX bytes) and fetched; a full output pauses it as it
 * does cmd_get, c->resume then the next key's offset in @s.
 * Return: 0 (answered whole), or GET_PAUSED.
 */
static int cmd_get_long(struct conn *c, struct worker_ctx *w, struct cmd *k,
			const char *s, size_t n, char *line)
{
	static __thread size_t at[PLMCD_MAX_TOKENS]; /* each word's offset */
	size_t i = run_of(s, 0, n, 1) + 3, klen;
	int with_cas = s[i] == 's', next, rc;

	for (i += with_cas; i < n && !c->resume; i += klen) {
		i += run_of(s, i, n, 1);
		klen = run_of(s, i, n, 0);
		if (klen > PLMC_KEY_MAX) {
			buf_add(&c->out, E_FORMAT, sizeof(E_FORMAT) - 1);
			return 0;
		}
	}
	i = c->resume ? c->resume : run_of(s, 0, n, 1) + 3 + with_cas;
	c->resume = 0;
	while (i < n) {
		size_t used = 0;

		k->n = 1;
		k->noreply = 0;
		for (; i < n && k->n < PLMCD_MAX_TOKENS; i += klen) {
			i += run_of(s, i, n, 1);
			klen = run_of(s, i, n, 0);
			if (!klen)
				break; /* trailing spaces */
			if (used + klen + 1 > PLMCD_LINE_MAX)
				break;
			memcpy(line + used, s + i, klen);
			line[used + klen] = 0;
			at[k->n] = i;
			k->tok[k->n] = line + used;
			k->len[k->n++] = klen;
			used += klen + 1;
		}
		if (k->n == 1)
			continue;
		rc = get_keys(c, w, k, 1, with_cas, 0, 0, &next);
		if (rc == GET_PAUSED) {
			c->resume = at[next];
			return GET_PAUSED;
		}
		if (rc < 0)
			return 0;
	}
	buf_add(&c->out, "END\r\n", 5);
	return 0;
}

/*
 * memcached's test for a line with no end in sight: only a get or gets
 * (after at most 100 spaces) may grow past the line limit.
 */
static int long_get(const char *s, size_t n)
{
	size_t sp = 0;

	while (sp < n && s[sp] == ' ')
		sp++;
	return sp <= 100 && n - sp >= 5 &&
	       (!memcmp(s + sp, "get ", 4) || !memcmp(s + sp, "gets ", 5));
}

/*
 * A get line still without its end may keep growing while its last
 * word could still be a key: a word past PLMC_KEY_MAX is no key, so a
 * client streaming one is cut off then rather than at
 * PLMCD_GETLINE_MAX (memcached waits for the line end either way).
 */
static int long_get_growing(const char *s, size_t n)
{
	const char *sp = memrchr(s, ' ', n);

	return long_get(s, n) && n <= PLMCD_GETLINE_MAX &&
	       (size_t)(s + n - (sp + 1)) <= PLMC_KEY_MAX;
}

enum store_op { OP_SET, OP_ADD, OP_REPLACE, OP_APPEND, OP_PREPEND, OP_CAS };

static int do_store(enum store_op op, const struct cmd *k, const char *data,
		    size_t n, uint32_t flags, int32_t exptime, uint64_t cas)
{
	const char *key = k->tok[1];
	size_t kl = k->len[1];

	switch (op) {
	case OP_SET:
		return plmc_set(key, kl, data, n, flags, exptime);
	case OP_ADD:
		return plmc_add(key, kl, data, n, flags, exptime);
	case OP_REPLACE:
		return plmc_replace(key, kl, data, n, flags, exptime);
	case OP_APPEND:
		return plmc_append(key, kl, data, n);
	case OP_PREPEND:
		return plmc_prepend(key, kl, data, n);
	case OP_CAS:
		return plmc_cas(key, kl, data, n, flags, exptime, cas);
	}
	return PLMC_E_INVAL;
}

/* do_store for a key with a control byte (key_binary): plmc_meta. */
static int store_binkey(enum store_op op, const struct cmd *k,
			const char *data, size_t n, uint32_t flags,
			int32_t exptime, uint64_t cas)
{
	static const uint32_t mode[] = {
		[OP_SET] = PLMC_MS_SET,		[OP_ADD] = PLMC_MS_ADD,
		[OP_REPLACE] = PLMC_MS_REPLACE, [OP_APPEND] = PLMC_MS_APPEND,
		[OP_PREPEND] = PLMC_MS_PREPEND, [OP_CAS] = PLMC_MS_SET,
	};
	struct plmc_meta m = { .cmd = PLMC_META_SET,
			       .mode = mode[op],
			       .mflags = PLMC_MF_BINKEY,
			       .cflags = flags };

	/* append and prepend keep the item's flags and time */
	if (op != OP_APPEND && op != OP_PREPEND) {
		m.mflags |= PLMC_MF_TTL;
		m.ttl = exptime;
	}
	if (op == OP_CAS) {
		m.mflags |= PLMC_MF_CAS;
		m.cas_in = cas;
	}
	return plmc_meta(k->tok[1], k->len[1], &m, data, n, NULL, 0);
}

/*
 * delete, incr/decr (@arith: PLMC_MA_*, @delta) and touch (@ttl) for a
 * key with a control byte (key_binary): plmc_meta, *val the new number.
 */
static int other_binkey(const struct cmd *k, uint32_t cmd, uint32_t arith,
			uint64_t delta, int32_t ttl, uint64_t *val)
{
	struct plmc_meta m = { .cmd = cmd, .mode = arith, .delta = delta,
			       .mflags = PLMC_MF_BINKEY, .ttl = ttl };
	int rc;

	if (cmd == PLMC_META_GET) /* touch: a new TTL, no value */
		m.mflags |= PLMC_MF_TTL | PLMC_MF_TOUCH;
	rc = plmc_meta(k->tok[1], k->len[1], &m, NULL, 0, NULL, 0);
	if (val)
		*val = m.number;
	if (cmd == PLMC_META_GET && rc == PLMC_OK)
		return PLMC_TOUCHED;
	return cmd == PLMC_META_DELETE && rc == PLMC_OK ? PLMC_DELETED : rc;
}

/* For watchers of mutations: item_store, in memcached's words. */
static void watch_store(struct conn *c, const struct cmd *k, enum store_op op,
			int rc, int32_t exptime, uint64_t bytes)
{
	static const char *const cmds[] = {"set",    "add",	"replace",
					   "append", "prepend", "cas"};

	watch_item_store(c, k->tok[1], k->len[1], rc, cmds[op], exptime, bytes);
}

/*
 * set|add|replace|append|prepend key flags exptime bytes [noreply]
 * cas key flags exptime bytes cas [noreply]
 * Return: bytes of input used (line + data), 0 to wait for more data.
 */
static size_t cmd_store(struct conn *c, struct cmd *k, enum store_op op,
			size_t line_used, size_t avail, const char *data)
{
	int want = op == OP_CAS ? 6 : 5;
	uint32_t flags;
	int32_t exptime;
	uint64_t bytes, cas = 0;
	int rc;

	/* memcached: the wrong number of words is an unknown command (its
	 * data block, if sent, is then read as commands too). */
	if (fit_words(k, want)) {
		error(c);
		return line_used;
	}
	/* a bad line reads its data block as commands too, noreply or not */
	if (k->n != want || !key_ok(k, 1) || parse_u32(k->tok[2], &flags) ||
	    parse_i32(k->tok[3], &exptime) || parse_u64(k->tok[4], &bytes) ||
	    bytes > INT32_MAX - 2 ||
	    (op == OP_CAS && parse_u64(k->tok[5], &cas))) {
		reply(c, k, E_FORMAT);
		return line_used;
	}
	if (bytes > g_server.item_max) {
		/* Too large for any item: drop the data as it comes. A set
		 * also drops the key's old value, as memcached does. */
		if (op == OP_SET)
			plmc_delete(k->tok[1], k->len[1]);
		stats_store_rc(PLMC_E_TOOBIG);
		reply(c, k, E_TOOBIG);
		c->swallow = bytes + 2;
		return line_used;
	}
	if (avail < line_used + bytes + 2) {
		c->nread = 1; /* not idle: its data block is arriving */
		return 0;
	}
	if (data[bytes] != '\r' || data[bytes + 1] != '\n') {
		reply(c, k, E_CHUNK);
		/* memcached drops the line and reads on after the chunk */
		return line_used + bytes + 2;
	}
	detail_record(k->tok[1], k->len[1], DETAIL_SET, 0);
	watch_lookup(c, k->tok[1], k->len[1],
		     key_binary(k->tok[1], k->len[1]));
	rc = do_store(op, k, data, bytes, flags, exptime, cas);
	if (rc == PLMC_E_KEY && key_binary(k->tok[1], k->len[1]))
		rc = store_binkey(op, k, data, bytes, flags, exptime, cas);
	stats_store_rc(rc);
	watch_store(c, k, op, rc, exptime, bytes);
	reply(c, k, status_word(rc));
	return line_used + bytes + 2;
}

static void cmd_delete(struct conn *c, struct cmd *k)
{
	int rc;

	/* "delete key 0" is accepted for old clients; other times are
	 * not, and noreply silences that error too (as memcached). */
	if (words(k) < 2 || words(k) > 4) {
		error(c);
		return;
	}
	/* memcached looks for noreply only after the key: "delete noreply"
	 * deletes the key "noreply" and answers */
	if (words(k) == 2 && k->noreply) {
		k->noreply = 0;
		k->n = 2;
	}
	if (k->n > 3 || (k->n == 3 && strcmp(k->tok[2], "0"))) {
		reply(c, k, E_DELETE);
		return;
	}
	if (!key_ok(k, 1)) {
		reply(c, k, E_FORMAT);
		return;
	}
	detail_record(k->tok[1], k->len[1], DETAIL_DEL, 0);
	watch_lookup(c, k->tok[1], k->len[1],
		     key_binary(k->tok[1], k->len[1]));
	rc = plmc_delete(k->tok[1], k->len[1]);
	if (rc == PLMC_E_KEY && key_binary(k->tok[1], k->len[1]))
		rc = other_binkey(k, PLMC_META_DELETE, 0, 0, 0, NULL);
	reply(c, k, status_word(rc));
}

static void cmd_arith(struct conn *c, struct cmd *k, int incr)
{
	uint64_t delta, val = 0;
	char num[32];
	int rc;

	if (fit_words(k, 3)) {
		error(c);
		return;
	}
	if (k->n != 3 || !key_ok(k, 1)) {
		reply(c, k, E_FORMAT);
		return;
	}
	if (parse_u64(k->tok[2], &delta)) {
		reply(c, k, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	watch_lookup(c, k->tok[1], k->len[1],
		     key_binary(k->tok[1], k->len[1]));
	rc = incr ? plmc_incr(k->tok[1], k->len[1], delta, &val)
		  : plmc_decr(k->tok[1], k->len[1], delta, &val);
	if (rc == PLMC_E_KEY && key_binary(k->tok[1], k->len[1]))
		rc = other_binkey(k, PLMC_META_ARITH,
				  incr ? PLMC_MA_INCR : PLMC_MA_DECR, delta, 0,
				  &val);
	if (rc == PLMC_OK) {
		snprintf(num, sizeof(num), "%llu\r\n", (unsigned long long)val);
		reply(c, k, num);
	} else if (rc == PLMC_E_NONNUMERIC) {
		reply(c, k, "CLIENT_ERROR cannot increment or decrement "
			    "non-numeric value\r\n");
	} else {
		reply(c, k, status_word(rc));
	}
}

static void cmd_touch(struct conn *c, struct cmd *k)
{
	int32_t exptime;
	int rc;

	if (fit_words(k, 3)) {
		error(c);
		return;
	}
	if (k->n != 3 || !key_ok(k, 1)) {
		reply(c, k, E_FORMAT);
		return;
	}
	if (parse_i32(k->tok[2], &exptime)) {
		reply(c, k, E_EXPTIME);
		return;
	}
	watch_lookup(c, k->tok[1], k->len[1],
		     key_binary(k->tok[1], k->len[1]));
	rc = plmc_touch(k->tok[1], k->len[1], exptime);
	if (rc == PLMC_E_KEY && key_binary(k->tok[1], k->len[1]))
		rc = other_binkey(k, PLMC_META_GET, 0, 0, exptime, NULL);
	reply(c, k, status_word(rc));
}

/*
 * flush_all's time as memcached 1.6.18 reads it (realtime() and its
 * flush commands): 0 or less is now, up to 30 days a delay, beyond that
 * an absolute unix time. An absolute time at or before memcached's
 * process_started (its start less 62 seconds) turns its oldest_live to
 * 0: nothing is flushed, and a delayed flush still pending is dropped.
 * plmc_flush_all() takes 32 signed bits and has no "no flush": such a
 * time, and a binary expiration past INT32_MAX (a time after 2038,
 * when memcached flushes), become a flush at INT32_MAX - years away,
 * replacing a pending one and counted in cmd_flush, as memcached's.
 */
int proto_flush(int64_t exptime)
{
	if (exptime > INT32_MAX ||
	    (exptime > PLMCD_REL_MAX &&
	     exptime <= (int64_t)g_server.start_time - 62))
		exptime = INT32_MAX;
	return plmc_flush_all(exptime < 0 ? 0 : (int32_t)exptime);
}

/* flush_all [exptime] [noreply]: memcached counts the words first, then
 * (noreply seen) refuses it under -F, then reads the time - any second
 * word, an extra third one ignored ("flush_all 0 foo" flushes). */
static void cmd_flush(struct conn *c, struct cmd *k)
{
	int32_t delay = 0;
	int rc;

	if (words(k) > 3) {
		error(c);
		return;
	}
	if (g_opt.no_flush) {
		reply(c, k, "CLIENT_ERROR flush_all not allowed\r\n");
		return;
	}
	if (k->n > 1 && parse_i32(k->tok[1], &delay)) {
		reply(c, k, E_EXPTIME);
		return;
	}
	rc = proto_flush(delay);
	reply(c, k, rc < 0 ? store_error(rc) : "OK\r\n");
}

/* stats, stats settings|slabs|items|sizes|conns|reset (stats.c).
 * memcached reads no noreply here and no word after the subcommand
 * (but detail's and cachedump's own): "stats items foo" is stats items,
 * "stats items noreply" answers. */
static void cmd_stats(struct conn *c, struct cmd *k)
{
	const char *what;

	if (k->noreply) { /* a word like any other here */
		k->noreply = 0;
		k->n++;
	}
	what = k->n > 1 ? k->tok[1] : NULL;

	if (what && !strcmp(what, "detail")) {
		detail_command(&c->out, k->n > 2 ? k->tok[2] : NULL);
		return;
	}
	if (what && !strcmp(what, "cachedump")) {
		dump_cachedump(c, k);
		return;
	}
	if (plmcd_stats(&c->out, what) < 0)
		buf_add(&c->out, "ERROR\r\n", 7);
}

/* Drop bytes of a refused data block as they arrive. */
static void swallow(struct conn *c)
{
	size_t have = c->in.len - c->in.off;
	size_t n = have < c->swallow ? have : c->swallow;

	buf_consume(&c->in, n);
	c->swallow -= n;
}

/*
 * The operator commands (admin.c), or ERROR; a line that ends like an
 * HTTP request line closes the connection unanswered (memcached does:
 * a web client on the port gets nothing it could render).
 */
static size_t other(struct conn *c, struct cmd *k, size_t used)
{
	int rc = admin_run(c, k);

	if (rc < 0)
		return (size_t)-1;
	if (rc == 0)
		return used;
	if (k->n && !strncmp(k->tok[k->n - 1], "HTTP/", 5))
		return (size_t)-1;
	buf_add(&c->out, "ERROR\r\n", 7);
	return used;
}

/*
 * A retrieval's end: its line consumed, or (paused) kept for the next
 * run while the connection waits for its output to drain.
 */
static size_t get_done(struct conn *c, int rc, size_t used)
{
	if (rc != GET_PAUSED)
		return used;
	c->throttled = 1;
	return 0;
}

/*
 * Run one command from the input. Return: bytes consumed, 0 if the command
 * is not complete yet (or paused: get_done), or (size_t)-1 to close the
 * connection.
 */
static size_t run_one(struct conn *c, struct worker_ctx *w)
{
	/* Tokens are cut from a copy: a storage command may have to be
	 * parsed again when its data arrives. */
	static __thread char line[PLMCD_LINE_MAX + 1];
	char *s = c->in.p + c->in.off;
	size_t avail = c->in.len - c->in.off;
	char *nl = memchr(s, '\n', avail);
	static __thread struct cmd k;
	size_t line_len, used;

	if (!nl) {
		if (avail > PLMCD_LINE_MAX && !long_get_growing(s, avail)) {
			buf_add(&c->out, "CLIENT_ERROR line too long\r\n", 28);
			return (size_t)-1;
		}
		return 0;
	}
	used = nl - s + 1;
	line_len = nl - s;
	if (line_len && s[line_len - 1] == '\r')
		line_len--;
	if (line_len > PLMCD_LINE_MAX && long_get(s, line_len))
		return get_done(c, cmd_get_long(c, w, &k, s, line_len, line),
				used);
	if (line_len > PLMCD_LINE_MAX) {
		buf_add(&c->out, "CLIENT_ERROR line too long\r\n", 28);
		return (size_t)-1;
	}
	memcpy(line, s, line_len);
	line[line_len] = 0;
	if (g_opt.verbose > 1 && !c->resume) /* -vv: memcached logs each */
		fprintf(stderr, "<%d %s\n", c->fd, line);
	tokenize(line, line_len, &k);
	if (k.n < 0 && long_get(s, line_len))
		return get_done(c, cmd_get_long(c, w, &k, s, line_len, line),
				used);
	if (k.n < 0) {
		if (k.tok[0][0] == 'm' && k.len[0] == 2)
			meta_too_many(c, &k);
		else
			buf_add(&c->out, E_FORMAT, sizeof(E_FORMAT) - 1);
		return used;
	}
	if (!k.n) {
		buf_add(&c->out, "ERROR\r\n", 7);
		return used;
	}
	{
		const char *v = k.tok[0];

		if (!strcmp(v, "get"))
			return get_done(c, cmd_get(c, w, &k, 0, 0), used);
		else if (!strcmp(v, "gets"))
			return get_done(c, cmd_get(c, w, &k, 1, 0), used);
		else if (!strcmp(v, "gat"))
			return get_done(c, cmd_get(c, w, &k, 0, 1), used);
		else if (!strcmp(v, "gats"))
			return get_done(c, cmd_get(c, w, &k, 1, 1), used);
		else if (!strcmp(v, "set"))
			return cmd_store(c, &k, OP_SET, used, avail, s + used);
		else if (!strcmp(v, "add"))
			return cmd_store(c, &k, OP_ADD, used, avail, s + used);
		else if (!strcmp(v, "replace"))
			return cmd_store(c, &k, OP_REPLACE, used, avail,
					 s + used);
		else if (!strcmp(v, "append"))
			return cmd_store(c, &k, OP_APPEND, used, avail,
					 s + used);
		else if (!strcmp(v, "prepend"))
			return cmd_store(c, &k, OP_PREPEND, used, avail,
					 s + used);
		else if (!strcmp(v, "cas"))
			return cmd_store(c, &k, OP_CAS, used, avail, s + used);
		else if (!strcmp(v, "delete"))
			cmd_delete(c, &k);
		else if (!strcmp(v, "incr"))
			cmd_arith(c, &k, 1);
		else if (!strcmp(v, "decr"))
			cmd_arith(c, &k, 0);
		else if (!strcmp(v, "touch"))
			cmd_touch(c, &k);
		else if (!strcmp(v, "flush_all"))
			cmd_flush(c, &k);
		else if (!strcmp(v, "stats"))
			cmd_stats(c, &k);
		else if (!strcmp(v, "version")) /* memcached ignores the rest */
			buf_add(&c->out, "VERSION " PLMCD_VERSION "\r\n",
				sizeof("VERSION " PLMCD_VERSION "\r\n") - 1);
		else if (v[0] == 'm' && k.len[0] == 2)
			return meta_run(c, w, &k, used, avail, s + used);
		else if (!strcmp(v, "quit")) {
			c->quit = 1;
			return (size_t)-1;
		} else
			return other(c, &k, used);
	}
	return used;
}

int worker_ctx_init(struct worker_ctx *w)
{
	w->scratch_len = PLMC_ITEM_MAX;
	w->scratch = malloc(w->scratch_len);
	w->batch = malloc((size_t)PLMC_MGET_MAX * PLMCD_MGET_SLOT);
	if (!w->scratch || !w->batch) {
		worker_ctx_free(w);
		return -ENOMEM;
	}
	return 0;
}

void worker_ctx_free(struct worker_ctx *w)
{
	free(w->scratch);
	free(w->batch);
	w->scratch = w->batch = NULL;
}

int proto_run(struct conn *c, struct worker_ctx *w)
{
	if (tenant_enter(c)) {
		buf_printf(&c->out, "SERVER_ERROR tenant refused by the store\r\n");
		return -1;
	}
	for (int done = 0;; done++) {
		size_t n;

		/* a login just changed the connection's tenant (tenant.c) */
		if (c->tenant_dirty) {
			c->tenant_dirty = 0;
			if (tenant_enter(c)) {
				buf_printf(&c->out, "SERVER_ERROR no tenant for "
						    "this user\r\n");
				return -1;
			}
		}
		/* -R: after that many requests, let the worker serve the
		 * others first (memcached's conn_yields) */
		if (done == g_opt.reqs_per_event && c->in.off < c->in.len &&
		    !c->swallow) {
			__atomic_add_fetch(&g_server.conn_yields, 1,
					   __ATOMIC_RELAXED);
			return 1;
		}

		/* A metadump owns the connection until its END: what comes
		 * meanwhile waits, up to a line's worth (memcached stops
		 * reading; a client that floods it here is dropped). */
		if (c->dump)
			return c->in.len - c->in.off > PLMCD_LINE_MAX ? -1 : 0;
		if (c->watching) { /* memcached reads nothing more from it */
			buf_consume(&c->in, c->in.len - c->in.off);
			return 0;
		}
		if (c->swallow) {
			swallow(c);
			if (c->swallow)
				return 0;
		}
		if (c->in.off == c->in.len)
			return 0;
		/* back-pressure: no new command, and no more of a paused
		 * one, while the client has not taken what is queued
		 * (main.c resumes at EPOLLOUT) */
		if (out_full(c)) {
			c->throttled = 1;
			return 0;
		}
		if (c->proto == PROTO_AUTO) /* memcached: the first byte */
			c->proto = (unsigned char)c->in.p[c->in.off] == 0x80
					   ? PROTO_BINARY : PROTO_ASCII;
		if (c->proto == PROTO_BINARY) {
			int rc = bin_run(c, w);

			if (rc <= 0)
				return rc;
			c->nread = 0;
			continue;
		}
		/* -Y: nothing but the login until it succeeds (auth.c) */
		n = g_opt.auth_file && !c->authed ? auth_ascii(c)
						  : run_one(c, w);
		if (n == (size_t)-1)
			return -1;
		if (n == 0)
			return 0;
		c->nread = 0;
		buf_consume(&c->in, n);
	}
}
