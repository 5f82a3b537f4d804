// SPDX-License-Identifier: MIT
/*
 * plmcd/auth.c - who a connection is: memcached's text-protocol auth
 * file (-Y), the authenticated user of a connection, auth counters.
 *
 * -Y FILE holds "user:password" lines. Until a connection has logged
 * in, the only command it may send is memcached's login, a set whose
 * data block is "user password":
 *
 *     set <any key> <any flags> <any exptime> <len>\r\n<user> <password>\r\n
 *
 * answered STORED (and nothing is stored) or CLIENT_ERROR
 * authentication failure; any other line is answered CLIENT_ERROR
 * unauthenticated and runs nothing. The login's data block is checked
 * only when whole, like any storage command's (the line stays in the
 * input until then), and may be at most PLMCD_AUTH_MAX bytes.
 *
 * The table is read at start and again at SIGHUP (memcached reloads its
 * auth file on SIGHUP too); a reload that fails keeps the old table.
 * Readers take table_lock shared, so a reload never frees a table that
 * a check is reading.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plmcd.h"

#define PLMCD_AUTH_MAX	   1024 /* the login's "user password" block */
#define PLMCD_AUTH_ENTRIES 4096

struct auth_entry {
	char *user, *pass;
	size_t ulen, plen;
};

static struct auth_entry *table;
static size_t nentries;
static char *table_data;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static uint64_t auth_cmds, auth_errors;

/* Cut @data (NUL-terminated) into entries; -1 and the line on error. */
static int parse(char *data, struct auth_entry *e, size_t *n, size_t *bad)
{
	size_t line = 0;

	*n = 0;
	for (char *s = data; *s; line++) {
		char *end = s + strcspn(s, "\n");
		char *colon = memchr(s, ':', end - s);
		char *next = *end ? end + 1 : end;

		*end = 0;
		if (end > s && end[-1] == '\r')
			*--end = 0;
		if (end == s) { /* an empty line separates nothing */
			s = next;
			continue;
		}
		if (!colon || colon == s || *n == PLMCD_AUTH_ENTRIES) {
			*bad = line + 1;
			return -1;
		}
		*colon = 0;
		e[*n] = (struct auth_entry){.user = s,
					    .ulen = colon - s,
					    .pass = colon + 1,
					    .plen = end - colon - 1};
		++*n;
		s = next;
	}
	return 0;
}

static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *p = NULL;
	size_t len = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *q = realloc(p, cap += 65536);

			if (!q || cap > (16u << 20)) {
				free(q ? q : p);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			p = q;
		}
		r = fread(p + len, 1, cap - len - 1, f);
		len += r;
	} while (r);
	fclose(f);
	p[len] = 0;
	if (memchr(p, 0, len)) { /* a NUL would end a line early */
		free(p);
		errno = EINVAL;
		return NULL;
	}
	return p;
}

int auth_load(const char *file)
{
	struct auth_entry *e = calloc(PLMCD_AUTH_ENTRIES, sizeof(*e));
	char *data = slurp(file);
	size_t n = 0, bad = 0;

	if (!e || !data) {
		fprintf(stderr, "plmcd: -Y %s: %s\n", file, strerror(errno));
		goto fail;
	}
	if (parse(data, e, &n, &bad)) {
		fprintf(stderr,
			"plmcd: -Y %s: line %zu: not \"user:password\" "
			"(or past %d entries)\n",
			file, bad, PLMCD_AUTH_ENTRIES);
		goto fail;
	}
	pthread_rwlock_wrlock(&table_lock);
	free(table);
	free(table_data);
	table = e;
	table_data = data;
	nentries = n;
	pthread_rwlock_unlock(&table_lock);
	return 0;
fail:
	free(e);
	free(data);
	return -1;
}

void auth_reload(void)
{
	if (g_opt.auth_file && auth_load(g_opt.auth_file) == 0 && g_opt.verbose)
		fprintf(stderr, "plmcd: -Y %s reloaded\n", g_opt.auth_file);
}

/* Equal without an early exit: the time says nothing of where two
 * strings of the same length first differ. */
static int same(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

/* Every entry is compared, so the time does not say which matched. */
static int check(const char *user, size_t ulen, const char *pass, size_t plen)
{
	int ok = 0;

	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < nentries; i++) {
		const struct auth_entry *e = &table[i];

		ok |= e->ulen == ulen && e->plen == plen &&
		      same(user, e->user, ulen) & same(pass, e->pass, plen);
	}
	pthread_rwlock_unlock(&table_lock);
	return ok;
}

void auth_count(int ok)
{
	__atomic_add_fetch(&auth_cmds, 1, __ATOMIC_RELAXED);
	if (!ok)
		__atomic_add_fetch(&auth_errors, 1, __ATOMIC_RELAXED);
}

void auth_stats(struct buf *b)
{
	buf_printf(b, "STAT auth_cmds %llu\r\n", (unsigned long long)auth_cmds);
	buf_printf(b, "STAT auth_errors %llu\r\n",
		   (unsigned long long)auth_errors);
}

void auth_set_user(struct conn *c, const char *user, size_t len)
{
	if (len > PLMCD_USER_MAX)
		len = PLMCD_USER_MAX;
	memcpy(c->user, user, len);
	c->user[len] = 0;
	c->authed = 1;
	/* -o tenant_map: the user's tenant from the next command on (a
	 * user it does not name gets no tenant: its commands are refused) */
	if (g_opt.tenant_map) {
		if (tenant_map_user(c, c->user))
			c->has_tenant = -1;
		c->tenant_dirty = 1;
	}
	if (g_opt.verbose)
		fprintf(stderr, "<%d authenticated as %s\n", c->fd, c->user);
}

/* A login that no longer holds (a SASL re-login began): nothing but
 * authentication runs again until one succeeds (auth_set_user). */
void auth_drop(struct conn *c)
{
	c->authed = 0;
	c->user[0] = 0;
}

/* Without -Y and -S every connection is "authed" with no name: NULL. */
const char *conn_user(const struct conn *c)
{
	return c->authed && c->user[0] ? c->user : NULL;
}

static void say(struct conn *c, const char *s)
{
	buf_add(&c->out, s, strlen(s));
}

/* The word at @s (up to a space or @end): its length; @s moves past it
 * and the spaces after it. */
static size_t word(const char **s, const char *end, const char **w)
{
	const char *p = *s;

	while (p < end && *p == ' ')
		p++;
	*w = p;
	while (p < end && *p != ' ')
		p++;
	*s = p;
	return p - *w;
}

/* "set k f e LEN": the data block's length, or -1 for any other line. */
static long login_len(const char *s, const char *end)
{
	const char *w[6];
	size_t len[6];
	int n = 0;
	long v = 0;

	while (n < 6 && (len[n] = word(&s, end, &w[n])) > 0)
		n++;
	if (n < 5 || len[0] != 3 || memcmp(w[0], "set", 3))
		return -1;
	for (size_t i = 0; i < len[4]; i++) {
		if (w[4][i] < '0' || w[4][i] > '9' || v > PLMCD_AUTH_MAX)
			return -1;
		v = v * 10 + (w[4][i] - '0');
	}
	return v;
}

/* The login's data block (@len bytes, "\r\n" last). */
static void login(struct conn *c, const char *d, size_t len)
{
	const char *s = d, *end = d + len - 2, *user, *pass;
	size_t ulen, plen;

	if (len < 2 || memcmp(end, "\r\n", 2)) {
		say(c, "CLIENT_ERROR bad command line termination\r\n");
		return;
	}
	ulen = word(&s, end, &user);
	plen = word(&s, end, &pass);
	if (!ulen || !plen) {
		say(c, "CLIENT_ERROR bad authentication token format\r\n");
		return;
	}
	if (check(user, ulen, pass, plen)) {
		auth_set_user(c, user, ulen);
		auth_count(1);
		say(c, "STORED\r\n");
	} else {
		auth_count(0);
		say(c, "CLIENT_ERROR authentication failure\r\n");
	}
}

size_t auth_ascii(struct conn *c)
{
	const char *s = c->in.p + c->in.off;
	size_t avail = c->in.len - c->in.off;
	const char *nl = memchr(s, '\n', avail);
	size_t used;
	long len;

	if (!nl) {
		if (avail > PLMCD_LINE_MAX) {
			say(c, "CLIENT_ERROR line too long\r\n");
			return (size_t)-1;
		}
		return 0;
	}
	used = nl - s + 1;
	len = login_len(s, nl > s && nl[-1] == '\r' ? nl - 1 : nl);
	if (len < 0 || len > PLMCD_AUTH_MAX) {
		say(c, "CLIENT_ERROR unauthenticated\r\n");
		return used;
	}
	if (avail - used < (size_t)len + 2)
		return 0; /* the block is not whole yet */
	login(c, s + used, (size_t)len + 2);
	return used + (size_t)len + 2;
}
