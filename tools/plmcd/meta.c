// SPDX-License-Identifier: MIT
/*
 * plmcd/meta.c - memcached 1.6.18's meta commands: mg, ms, md, ma, mn, me.
 *
 * The line is parsed here (flags, numbers, base64 keys) with memcached's
 * rules and error words; the store does the rest in one call
 * (plmc_meta), under the key's lock, and reports what it found and did.
 * The reply is then built walking the flags in the order the client sent
 * them, as memcached does: return flags are echoed in request order, and
 * T and N change the TTL that a later t reports.
 *
 * Quiet mode (q) hides the nominal reply only: EN for mg, HD for ms and
 * md, HD/VA of a plain ma hit; everything else still answers, and mn
 * marks the end of a quiet batch.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plmc.h"
#include "plmcd.h"

#define META_MAX_WORDS	19 /* more: "options flags (are) too long" */
#define META_OPAQUE_MAX 32 /* an O token, its letter included */

static const char E_FORMAT[] = "CLIENT_ERROR bad command line format";
static const char E_TOKEN[] = "CLIENT_ERROR bad token in command line format";
static const char E_DECODE[] = "CLIENT_ERROR error decoding key";
static const char E_OPAQUE[] = "CLIENT_ERROR opaque token too long";
static const char E_FLAG_MD[] = "CLIENT_ERROR invalid or duplicate flag";
static const char E_NONNUM[] =
	"CLIENT_ERROR cannot increment or decrement non-numeric value";

/* What a meta line asked for, once parsed. */
struct meta_req {
	struct plmc_meta m;
	char key[PLMC_KEY_MAX + 1]; /* decoded when b */
	size_t klen;
	int bin;   /* b */
	int quiet; /* q */
	int value; /* v */
	int has_t; /* T seen */
	int has_n; /* N seen */
	int has_r;
	int has_cas;
	char mode; /* M's letter, 0 = none */
};

static void line(struct conn *c, const char *s)
{
	buf_add(&c->out, s, strlen(s));
	buf_add(&c->out, "\r\n", 2);
}

/* ---- base64, as memcached's keys use it ---- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(unsigned char ch)
{
	const char *p = ch ? strchr(b64, ch) : NULL;

	if (ch == '=')
		return 0;
	return p ? (int)(p - b64) : -1;
}

/*
 * memcached's decoder: bytes outside the alphabet are skipped; the
 * alphabet characters must come in whole groups of four; decoding stops
 * after the first group with padding ('=' anywhere in it counts), which
 * may hold one or two '=' only.
 * Return: decoded length, 0 on failure (nothing to decode, a partial
 * group, bad padding, or more than @cap bytes).
 */
static size_t b64_decode(const char *src, size_t n, char *out, size_t cap)
{
	size_t i, count = 0, o = 0;
	int blk[4], pad = 0;

	for (i = 0; i < n; i++)
		if (b64_val((unsigned char)src[i]) >= 0)
			count++;
	if (!count || count % 4 || count / 4 * 3 > cap)
		return 0;
	count = 0;
	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)src[i]);

		if (v < 0)
			continue;
		if (src[i] == '=')
			pad++;
		blk[count++] = v;
		if (count < 4)
			continue;
		out[o++] = (char)(blk[0] << 2 | blk[1] >> 4);
		out[o++] = (char)(blk[1] << 4 | blk[2] >> 2);
		out[o++] = (char)(blk[2] << 6 | blk[3]);
		count = 0;
		if (pad) {
			if (pad > 2)
				return 0;
			o -= (size_t)pad;
			break;
		}
	}
	return o;
}

static void b64_encode(struct buf *b, const char *src, size_t n)
{
	char out[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)src[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)src[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)src[i + 2];
		out[0] = b64[v >> 18 & 63];
		out[1] = b64[v >> 12 & 63];
		out[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[3] = i + 2 < n ? b64[v & 63] : '=';
		buf_add(b, out, 4);
	}
}

/* " k<key>", base64 and " b" for a binary key (memcached's META_KEY). */
static void echo_key(struct conn *c, const char *key, size_t klen, int bin)
{
	buf_add(&c->out, " k", 2);
	if (bin) {
		b64_encode(&c->out, key, klen);
		buf_add(&c->out, " b", 2);
	} else {
		buf_add(&c->out, key, klen);
	}
}

/* ---- numbers, with memcached's safe_strto* rules ---- */

/* safe_strtol: strtol, the whole token, then cut to 32 bits. */
static int num_i32(const char *s, int64_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || end == s || *end)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* safe_strtoull: a '-' is refused only when the result looks negative. */
static int num_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || end == s || *end)
		return -1;
	if ((long long)v < 0 && strchr(s, '-'))
		return -1;
	*out = v;
	return 0;
}

/* safe_strtoul for client flags: 64-bit parse, cut to 32 bits. */
static int num_flags(const char *s, uint32_t *out)
{
	uint64_t v;

	if (num_u64(s, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* N, T, R: a TTL each. Return 0, or -1 for a bad number. */
static int ttl_flag(unsigned char f, const char *arg, struct meta_req *q)
{
	int64_t v;

	if (num_i32(arg, &v))
		return -1;
	if (f == 'N') {
		q->m.vivify_ttl = v;
		q->has_n = 1;
	} else if (f == 'T') {
		q->m.ttl = v;
		q->has_t = 1;
	} else {
		q->m.recache = v;
		q->has_r = 1;
	}
	return 0;
}

/*
 * A flag that carries a value (b's key, N T R F C M J D). Return 0, or
 * -1 with *err set to its error words (NULL: the generic format error).
 */
static int value_flag(const struct cmd *k, int i, struct meta_req *q,
		      const char **err)
{
	unsigned char f = (unsigned char)k->tok[i][0];
	const char *arg = k->tok[i] + 1;

	*err = E_TOKEN;
	switch (f) {
	case 'b':
		q->bin = 1;
		q->klen = b64_decode(k->tok[1], k->len[1], q->key,
				     sizeof(q->key) - 1);
		*err = E_DECODE;
		return q->klen ? 0 : -1;
	case 'N':
	case 'T':
	case 'R':
		return ttl_flag(f, arg, q);
	case 'F':
		*err = NULL;
		return num_flags(arg, &q->m.cflags);
	case 'C':
		if (num_u64(arg, &q->m.cas_in))
			return -1;
		q->has_cas = 1;
		return 0;
	case 'M':
		*err = "CLIENT_ERROR incorrect length for M token";
		if (k->len[i] != 2)
			return -1;
		q->mode = k->tok[i][1];
		return 0;
	case 'J':
		*err = "CLIENT_ERROR invalid numeric initial value";
		return num_u64(arg, &q->m.initial);
	default: /* 'D' */
		*err = "CLIENT_ERROR invalid numeric delta value";
		return num_u64(arg, &q->m.delta);
	}
}

/*
 * A flag without a value: what it switches on. Return 0, or -1 for a
 * letter no meta command knows.
 */
static int plain_flag(unsigned char f, struct meta_req *q)
{
	switch (f) {
	case 'l': case 'O': case 'P': case 'L': case 'k':
	case 's': case 't': case 'c': case 'f': case 'h':
		return 0; /* reply flags: read when the reply is written */
	case 'v':
		q->value = 1;
		return 0;
	case 'u':
		q->m.mflags |= PLMC_MF_NOBUMP;
		return 0;
	case 'q':
		q->quiet = 1;
		return 0;
	case 'I':
		q->m.mflags |= PLMC_MF_STALE;
		return 0;
	}
	return -1;
}

/*
 * memcached's _meta_flag_preparse over words [first, k->n): a repeated
 * flag (or a byte >= 127) or an unknown one stops at once; a bad number
 * is remembered and the scan goes on (a later error replaces its words).
 * Return: NULL, or the error line.
 */
static const char *preparse(struct cmd *k, int first, struct meta_req *q)
{
	unsigned char seen[128] = {0};
	const char *err = NULL, *e;
	int bad = 0;

	for (int i = first; i < k->n; i++) {
		unsigned char f = (unsigned char)k->tok[i][0];

		if (f >= 127 || seen[f])
			return "CLIENT_ERROR duplicate flag";
		seen[f] = 1;
		if (f && strchr("bNTRFCMJD", f)) {
			if (value_flag(k, i, q, &e)) {
				bad = 1;
				if (e)
					err = e;
			}
		} else if (plain_flag(f, q)) {
			return "CLIENT_ERROR invalid flag";
		}
	}
	return bad ? (err ? err : E_FORMAT) : NULL;
}

/* Index of flag @f among the words, or -1. */
static int flag_at(const struct cmd *k, int first, char f)
{
	for (int i = first; i < k->n; i++)
		if (k->tok[i][0] == f)
			return i;
	return -1;
}

/* Words shared by every command; 0 = go on, else the reply was made. */
static int meta_common(struct conn *c, struct cmd *k, struct meta_req *q,
		       const char *toolong)
{
	if (k->n < 2) {
		line(c, "ERROR");
		return 1;
	}
	if (k->len[1] > PLMC_KEY_MAX) {
		line(c, E_FORMAT);
		return 1;
	}
	if (k->n > META_MAX_WORDS) {
		line(c, toolong);
		return 1;
	}
	memset(q, 0, sizeof(*q));
	memcpy(q->key, k->tok[1], k->len[1]);
	q->klen = k->len[1];
	return 0;
}

/* The first O longer than memcached allows, or -1. */
static int opaque_at(const struct cmd *k, int first)
{
	for (int i = first; i < k->n; i++)
		if (k->tok[i][0] == 'O' && k->len[i] > META_OPAQUE_MAX)
			return i;
	return -1;
}

static int opaque_bad(const struct cmd *k, int first)
{
	return opaque_at(k, first) >= 0;
}

/*
 * mg with an O too long: memcached finds that while it writes the reply,
 * after the lookup. What it did by then stays done: the hit's bump (not
 * when a lock flag delays the bump: h l T N R) and a T that came before
 * the O. Not the win token: memcached marks it after the reply is
 * built. (A vivify by N is not redone here: see docs/plmcd.md.)
 */
static void get_opaque_error(struct conn *c, const struct cmd *k,
			     const struct meta_req *q, int bad)
{
	struct plmc_meta m = {.cmd = PLMC_META_GET, .mflags = PLMC_MF_NOWIN};
	int t = flag_at(k, 2, 'T');

	if (q->bin)
		m.mflags |= PLMC_MF_BINKEY;
	if (q->has_t && t < bad) {
		m.mflags |= PLMC_MF_TTL;
		m.ttl = q->m.ttl;
	}
	if ((q->m.mflags & PLMC_MF_NOBUMP) || flag_at(k, 2, 'h') >= 0 ||
	    flag_at(k, 2, 'l') >= 0 || q->has_t || q->has_n || q->has_r)
		m.mflags |= PLMC_MF_NOBUMP;
	plmc_meta(q->key, q->klen, &m, NULL, 0, NULL, 0);
	line(c, E_OPAQUE);
}

/* The ordering bits the store needs for T, N and R on one line. */
static void order_bits(const struct cmd *k, int first, struct meta_req *q)
{
	int t = flag_at(k, first, 'T'), n = flag_at(k, first, 'N'),
	    r = flag_at(k, first, 'R');

	if (q->bin)
		q->m.mflags |= PLMC_MF_BINKEY;
	if (q->has_t)
		q->m.mflags |= PLMC_MF_TTL;
	if (q->has_n)
		q->m.mflags |= PLMC_MF_VIVIFY;
	if (q->has_t && q->has_n && n > t)
		q->m.mflags |= PLMC_MF_N_AFTER_T;
	if (q->has_t && q->has_r && r > t)
		q->m.mflags |= PLMC_MF_R_AFTER_T;
}

/*
 * Keep only the request flags the store takes for this command, and zero
 * the fields they do not cover (the store refuses stray ones): memcached
 * accepts every known flag on every command and ignores the rest.
 */
static void finish(struct meta_req *q, uint32_t cmd, uint32_t allowed)
{
	struct plmc_meta *m = &q->m;

	m->cmd = cmd;
	if (q->has_cas)
		m->mflags |= PLMC_MF_CAS;
	m->mflags &= allowed;
	if (!(m->mflags & PLMC_MF_TTL))
		m->ttl = 0;
	if (!(m->mflags & PLMC_MF_VIVIFY))
		m->vivify_ttl = 0;
	if (!(m->mflags & PLMC_MF_RECACHE))
		m->recache = 0;
	if (!(m->mflags & PLMC_MF_CAS))
		m->cas_in = 0;
	if (cmd != PLMC_META_SET)
		m->cflags = 0;
	if (cmd != PLMC_META_ARITH)
		m->delta = m->initial = 0;
}

static void echo_ttl(struct conn *c, int64_t ttl)
{
	if (ttl == -1)
		buf_add(&c->out, " t-1", 4);
	else /* memcached prints the difference as unsigned 32 bits */
		buf_printf(&c->out, " t%u", (uint32_t)ttl);
}

/* " O..." and " k..." only: the replies that have no item. */
static void echo_ok(struct conn *c, const struct cmd *k, int first,
		    const struct meta_req *q)
{
	for (int i = first; i < k->n; i++) {
		if (k->tok[i][0] == 'O') {
			buf_add(&c->out, " ", 1);
			buf_add(&c->out, k->tok[i], k->len[i]);
		} else if (k->tok[i][0] == 'k') {
			echo_key(c, q->key, q->klen, q->bin);
		}
	}
}

static void server_error(struct conn *c, int rc)
{
	if (rc == PLMC_E_NOMEM)
		line(c, "SERVER_ERROR out of memory storing object");
	else if (rc == PLMC_E_TOOBIG)
		line(c, "SERVER_ERROR object too large for cache");
	else if (rc == PLMC_E_KEY)
		line(c, E_FORMAT);
	else
		buf_printf(&c->out, "SERVER_ERROR %s\r\n", plmc_strerror(rc));
}

/* Return flags of a hit, in request order: T and N change the TTL that a
 * later t reports, as memcached's do. mg and ma share these. */
static void item_flag(struct conn *c, const struct cmd *k, int i,
		      const struct meta_req *q, int64_t *ttl)
{
	switch (k->tok[i][0]) {
	case 'T':
		*ttl = q->m.ttl_set;
		break;
	case 'N':
		if (q->m.rbits & PLMC_MR_CREATED)
			*ttl = q->m.ttl_viv;
		break;
	case 't':
		echo_ttl(c, *ttl);
		break;
	case 'c':
		/* -C: memcached keeps no CAS and returns 0 */
		buf_printf(&c->out, " c%llu",
			   (unsigned long long)(g_opt.no_cas ? 0 : q->m.cas));
		break;
	case 'O':
		buf_add(&c->out, " ", 1);
		buf_add(&c->out, k->tok[i], k->len[i]);
		break;
	}
}

/* One return flag of an mg hit. */
static void get_flag(struct conn *c, const struct cmd *k, int i,
		     const struct meta_req *q, int64_t *ttl)
{
	switch (k->tok[i][0]) {
	case 's':
		buf_printf(&c->out, " s%llu", (unsigned long long)q->m.vlen);
		break;
	case 'f':
		buf_printf(&c->out, " f%u", q->m.flags);
		break;
	case 'l':
		buf_printf(&c->out, " l%u", q->m.la);
		break;
	case 'h':
		buf_printf(&c->out, " h%d", !!(q->m.rbits & PLMC_MR_FETCHED));
		break;
	case 'k':
		/* the item's own key, as it was stored */
		echo_key(c, q->key, q->klen, !!(q->m.rbits & PLMC_MR_BINKEY));
		break;
	default:
		item_flag(c, k, i, q, ttl);
	}
}

/* An mg hit: VA/HD, the flags, the token marks, the value. */
static void get_reply(struct conn *c, struct worker_ctx *w,
		      const struct cmd *k, const struct meta_req *q)
{
	int64_t ttl = q->m.ttl_left;

	if (q->value)
		buf_printf(&c->out, "VA %llu", (unsigned long long)q->m.vlen);
	else
		buf_add(&c->out, "HD", 2);
	for (int i = 2; i < k->n; i++)
		get_flag(c, k, i, q, &ttl);
	if (q->m.rbits & PLMC_MR_TOKEN)
		buf_add(&c->out, " Z", 2);
	if (q->m.rbits & PLMC_MR_STALE)
		buf_add(&c->out, " X", 2);
	if (q->m.rbits & PLMC_MR_WON)
		buf_add(&c->out, " W", 2);
	buf_add(&c->out, "\r\n", 2);
	if (q->value) {
		buf_add(&c->out, w->scratch, q->m.vlen);
		buf_add(&c->out, "\r\n", 2);
	}
}

/* mg's line into @q. Return 0 to go on, else the reply is made. */
static int get_parse(struct conn *c, struct cmd *k, struct meta_req *q)
{
	const char *err;
	int bad;

	if (meta_common(c, k, q, "CLIENT_ERROR options flags are too long"))
		return -1;
	err = preparse(k, 2, q);
	if (err) {
		line(c, err);
		return -1;
	}
	bad = opaque_at(k, 2);
	if (bad >= 0) {
		get_opaque_error(c, k, q, bad);
		return -1;
	}
	order_bits(k, 2, q);
	if (q->has_r)
		q->m.mflags |= PLMC_MF_RECACHE;
	if (q->value)
		q->m.mflags |= PLMC_MF_VALUE;
	finish(q, PLMC_META_GET,
	       PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_VIVIFY | PLMC_MF_RECACHE |
		       PLMC_MF_NOBUMP | PLMC_MF_VALUE | PLMC_MF_N_AFTER_T |
		       PLMC_MF_R_AFTER_T);
	return 0;
}

/* mg <key> <flags>* */
static void meta_get(struct conn *c, struct worker_ctx *w, struct cmd *k)
{
	struct meta_req q;
	int rc;

	if (get_parse(c, k, &q))
		return;
	rc = plmc_meta(q.key, q.klen, &q.m, NULL, 0,
		       q.value ? w->scratch : NULL,
		       q.value ? w->scratch_len : 0);
	watch_item_get(c, q.key, q.klen, rc == PLMC_OK, q.m.vlen);
	if (rc == PLMC_NOT_FOUND) {
		if (q.quiet)
			return;
		buf_add(&c->out, "EN", 2);
		echo_ok(c, k, 2, &q);
		buf_add(&c->out, "\r\n", 2);
	} else if (rc != PLMC_OK) {
		server_error(c, rc);
	} else {
		get_reply(c, w, k, &q);
	}
}

/* ms's M letter into the store's mode; NULL, or the error line. */
static const char *set_mode(struct meta_req *q)
{
	switch (q->mode) {
	case 0:
	case 'S':
		q->m.mode = PLMC_MS_SET;
		return NULL;
	case 'E':
		q->m.mode = PLMC_MS_ADD;
		return NULL;
	case 'A':
		q->m.mode = PLMC_MS_APPEND;
		return NULL;
	case 'P':
		q->m.mode = PLMC_MS_PREPEND;
		return NULL;
	case 'R':
		q->m.mode = PLMC_MS_REPLACE;
		return NULL;
	}
	return "CLIENT_ERROR invalid mode for ms M token";
}

/* The flags after ms's length; NULL, or the error line (the data block
 * is then swallowed). */
static const char *set_parse(struct cmd *k, struct meta_req *q, int64_t size)
{
	const char *err = preparse(k, 3, q);

	if (!err && opaque_bad(k, 3))
		err = E_OPAQUE;
	if (!err)
		err = set_mode(q);
	/* memcached's item size rule, before the data is read. */
	if (!err && ((uint64_t)size > g_server.item_max ||
		     59 + q->klen + (q->m.cflags ? 4 : 0) + (uint64_t)size >
			     g_server.item_max))
		err = "SERVER_ERROR object too large for cache";
	return err;
}

/* An ms too large drops the key's old value, as memcached does. */
static void drop_old(const struct meta_req *q)
{
	struct plmc_meta d = {.cmd = PLMC_META_DELETE,
			      .mflags = q->bin ? PLMC_MF_BINKEY : 0};

	plmc_meta(q->key, q->klen, &d, NULL, 0, NULL, 0);
}

/* ms's status word and its O k c echoes; nothing when quiet and stored. */
static void set_reply(struct conn *c, const struct cmd *k,
		      const struct meta_req *q, int rc)
{
	switch (rc) {
	case PLMC_STORED:
		if (q->quiet)
			return;
		buf_add(&c->out, "HD", 2);
		break;
	case PLMC_NOT_STORED:
		buf_add(&c->out, "NS", 2);
		break;
	case PLMC_EXISTS:
		buf_add(&c->out, "EX", 2);
		break;
	case PLMC_NOT_FOUND:
		buf_add(&c->out, "NF", 2);
		break;
	default:
		if (rc == PLMC_E_TOOBIG)
			drop_old(q);
		stats_store_rc(rc);
		server_error(c, rc);
		return;
	}
	for (int i = 3; i < k->n; i++) {
		if (k->tok[i][0] == 'k')
			echo_key(c, q->key, q->klen, q->bin);
		else if (k->tok[i][0] == 'O' || k->tok[i][0] == 'c')
			item_flag(c, k, i, q, NULL);
	}
	buf_add(&c->out, "\r\n", 2);
}

/* ms <key> <datalen> <flags>*\r\n<data>\r\n */
/* ms's mode as memcached's watchers name the command. */
static const char *ms_cmd(const struct meta_req *q)
{
	static const char *const names[] = {"set", "add", "replace", "append",
					    "prepend"};

	if (q->m.mode == PLMC_MS_SET && (q->m.mflags & PLMC_MF_CAS))
		return "cas";
	return q->m.mode < 5 ? names[q->m.mode] : "set";
}

static size_t meta_set(struct conn *c, struct cmd *k, size_t used, size_t avail,
		       const char *data)
{
	struct meta_req q;
	const char *err;
	int64_t size;
	int rc;

	if (meta_common(c, k, &q, "CLIENT_ERROR options flags too long"))
		return used;
	if (k->n == 2 || num_i32(k->tok[2], &size) || size < 0 ||
	    size > INT_MAX - 2) {
		line(c, E_FORMAT);
		return used;
	}
	/* From here a refused command swallows its data block. */
	err = set_parse(k, &q, size);
	if (err) {
		if (err[0] == 'S') {
			drop_old(&q);
			stats_store_rc(PLMC_E_TOOBIG);
		}
		line(c, err);
		c->swallow = (size_t)size + 2;
		return used;
	}
	if (avail < used + (size_t)size + 2) {
		c->nread = 1; /* not idle: its value is arriving */
		return 0;
	}
	if (data[size] != '\r' || data[size + 1] != '\n') {
		line(c, "CLIENT_ERROR bad data chunk");
		return used + (size_t)size + 2;
	}
	order_bits(k, 3, &q);
	if (!q.has_cas) /* I stores stale only against an older C */
		q.m.mflags &= ~PLMC_MF_STALE;
	finish(&q, PLMC_META_SET,
	       PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_CAS | PLMC_MF_STALE);
	watch_lookup(c, q.key, q.klen, !!(q.m.mflags & PLMC_MF_BINKEY));
	rc = plmc_meta(q.key, q.klen, &q.m, data, (size_t)size, NULL, 0);
	watch_item_store(c, q.key, q.klen, rc, ms_cmd(&q), q.m.ttl,
			 (size_t)size);
	set_reply(c, k, &q, rc);
	return used + (size_t)size + 2;
}

/* md <key> <flags>* */
static void meta_delete(struct conn *c, struct cmd *k)
{
	struct meta_req q;
	int rc;

	if (meta_common(c, k, &q, "CLIENT_ERROR options flags too long"))
		return;
	if (preparse(k, 2, &q)) {
		line(c, E_FLAG_MD);
		return;
	}
	if (opaque_bad(k, 2)) {
		line(c, E_OPAQUE);
		return;
	}
	order_bits(k, 2, &q);
	/* T counts only with I: it is the TTL of the stale item. */
	if (!(q.m.mflags & PLMC_MF_STALE))
		q.m.mflags &= ~PLMC_MF_TTL;
	finish(&q, PLMC_META_DELETE,
	       PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_CAS | PLMC_MF_STALE);
	watch_lookup(c, q.key, q.klen, !!(q.m.mflags & PLMC_MF_BINKEY));
	rc = plmc_meta(q.key, q.klen, &q.m, NULL, 0, NULL, 0);
	switch (rc) {
	case PLMC_DELETED:
		if (q.quiet)
			return;
		buf_add(&c->out, "HD", 2);
		break;
	case PLMC_NOT_FOUND:
		buf_add(&c->out, "NF", 2);
		break;
	case PLMC_EXISTS:
		buf_add(&c->out, "EX", 2);
		break;
	default:
		server_error(c, rc);
		return;
	}
	echo_ok(c, k, 2, &q);
	buf_add(&c->out, "\r\n", 2);
}

/* ma's M letter; -1 for one it does not know. */
static int arith_mode(struct meta_req *q)
{
	switch (q->mode) {
	case 0:
	case 'I':
	case '+':
		q->m.mode = PLMC_MA_INCR;
		return 0;
	case 'D':
	case '-':
		q->m.mode = PLMC_MA_DECR;
		return 0;
	}
	return -1;
}

/* ma's line into @q; *bad: the first O too long, or -1. Return 0 to go
 * on, else the reply is made. */
static int arith_parse(struct conn *c, struct cmd *k, struct meta_req *q,
		       int *bad)
{
	if (meta_common(c, k, q, "CLIENT_ERROR options flags too long"))
		return -1;
	q->m.delta = 1;
	if (preparse(k, 2, q)) {
		line(c, E_FLAG_MD);
		return -1;
	}
	/* An O too long is found while the reply is written: the op is done
	 * by then, with the T and N that came before it. */
	*bad = opaque_at(k, 2);
	if (*bad >= 0 && flag_at(k, 2, 'T') > *bad)
		q->has_t = 0;
	if (*bad >= 0 && flag_at(k, 2, 'N') > *bad)
		q->m.vivify_ttl = 0;
	if (arith_mode(q)) {
		line(c, "CLIENT_ERROR invalid mode for ma M token");
		return -1;
	}
	order_bits(k, 2, q);
	finish(q, PLMC_META_ARITH,
	       PLMC_MF_BINKEY | PLMC_MF_TTL | PLMC_MF_VIVIFY | PLMC_MF_CAS |
		       PLMC_MF_N_AFTER_T);
	return 0;
}

/* An ma that changed the number: VA/HD, the flags, the number. */
static void arith_reply(struct conn *c, const struct cmd *k,
			const struct meta_req *q)
{
	int64_t ttl = q->m.ttl_left;
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu",
			 (unsigned long long)q->m.number);

	if (q->value)
		buf_printf(&c->out, "VA %d", n);
	else
		buf_add(&c->out, "HD", 2);
	for (int i = 2; i < k->n; i++) {
		if (k->tok[i][0] == 'k')
			echo_key(c, q->key, q->klen, q->bin);
		else
			item_flag(c, k, i, q, &ttl);
	}
	buf_add(&c->out, "\r\n", 2);
	if (q->value) {
		buf_add(&c->out, num, (size_t)n);
		buf_add(&c->out, "\r\n", 2);
	}
}

/* ma <key> <flags>* */
static void meta_arith(struct conn *c, struct cmd *k)
{
	struct meta_req q;
	int rc, bad;

	if (arith_parse(c, k, &q, &bad))
		return;
	watch_lookup(c, q.key, q.klen, !!(q.m.mflags & PLMC_MF_BINKEY));
	rc = plmc_meta(q.key, q.klen, &q.m, NULL, 0, NULL, 0);
	if (rc == PLMC_OK && (q.m.rbits & PLMC_MR_CREATED))
		watch_vivified(c, q.key, q.klen, q.m.vivify_ttl, q.m.number);
	if (bad >= 0 && rc != PLMC_E_NONNUMERIC) {
		line(c, E_OPAQUE);
	} else if (rc == PLMC_NOT_FOUND || rc == PLMC_EXISTS) {
		buf_add(&c->out, rc == PLMC_EXISTS ? "EX" : "NF", 2);
		echo_ok(c, k, 2, &q);
		buf_add(&c->out, "\r\n", 2);
	} else if (rc == PLMC_E_NONNUMERIC) {
		line(c, E_NONNUM);
	} else if (rc != PLMC_OK) {
		server_error(c, rc);
	} else if (!q.quiet || (q.m.rbits & PLMC_MR_CREATED)) {
		arith_reply(c, k, &q);
	}
}

/* me <key> [b]: memcached's debug line; our class numbers and sizes. */
static void meta_debug(struct conn *c, struct cmd *k)
{
	struct meta_req q;
	int rc;

	/* Words after the key are ignored but for a "b" right after it. */
	if (k->n < 2 || k->len[1] > PLMC_KEY_MAX) {
		line(c, E_FORMAT);
		return;
	}
	memset(&q, 0, sizeof(q));
	memcpy(q.key, k->tok[1], k->len[1]);
	q.klen = k->len[1];
	if (k->n >= 3 && !strcmp(k->tok[2], "b")) {
		q.klen = b64_decode(k->tok[1], k->len[1], q.key,
				    sizeof(q.key) - 1);
		if (!q.klen) {
			line(c, E_FORMAT);
			return;
		}
		q.m.mflags = PLMC_MF_BINKEY;
	}
	q.m.cmd = PLMC_META_DEBUG;
	rc = plmc_meta(q.key, q.klen, &q.m, NULL, 0, NULL, 0);
	if (rc == PLMC_NOT_FOUND || rc == PLMC_E_KEY) {
		line(c, "EN");
		return;
	}
	if (rc != PLMC_OK) {
		server_error(c, rc);
		return;
	}
	buf_add(&c->out, "ME ", 3);
	if (q.m.rbits & PLMC_MR_BINKEY)
		b64_encode(&c->out, q.key, q.klen);
	else
		buf_add(&c->out, q.key, q.klen);
	/* memcached's exp is now - exptime: negative while it lives */
	buf_printf(&c->out,
		   " exp=%lld la=%u cas=%llu fetch=%s cls=%u size=%llu\r\n",
		   q.m.ttl_left == -1 ? -1LL : -(long long)q.m.ttl_left, q.m.la,
		   (unsigned long long)q.m.cas,
		   (q.m.rbits & PLMC_MR_FETCHED) ? "yes" : "no", q.m.cls + 1,
		   (unsigned long long)q.m.size);
}

void meta_too_many(struct conn *c, struct cmd *k)
{
	switch (k->tok[0][1]) {
	case 'g':
		line(c, "CLIENT_ERROR options flags are too long");
		break;
	case 's':
	case 'd':
	case 'a':
		line(c, "CLIENT_ERROR options flags too long");
		break;
	case 'n':
		line(c, "MN");
		break;
	case 'e':
		k->n = 3; /* the words it looks at are all there */
		meta_debug(c, k);
		break;
	default:
		line(c, "ERROR");
	}
}

size_t meta_run(struct conn *c, struct worker_ctx *w, struct cmd *k,
		size_t used, size_t avail, const char *data)
{
	__atomic_add_fetch(&g_server.cmd_meta, 1, __ATOMIC_RELAXED);
	/* "noreply" means nothing to a meta command: it is a flag word. */
	if (k->noreply) {
		k->n++;
		k->noreply = 0;
	}
	switch (k->tok[0][1]) {
	case 'g':
		meta_get(c, w, k);
		break;
	case 's':
		return meta_set(c, k, used, avail, data);
	case 'd':
		meta_delete(c, k);
		break;
	case 'a':
		meta_arith(c, k);
		break;
	case 'n':
		line(c, "MN");
		break;
	case 'e':
		meta_debug(c, k);
		break;
	default:
		line(c, "ERROR");
	}
	return used;
}
