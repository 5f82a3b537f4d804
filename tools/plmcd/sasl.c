// SPDX-License-Identifier: MIT
/*
 * plmcd/sasl.c - -S: SASL over the binary protocol, with Debian's Cyrus
 * SASL, as memcached does it.
 *
 * The application name is "memcached", so Cyrus reads memcached.conf
 * (mech_list, sasldb_path, ...) from the directory SASL_CONF_PATH
 * names, else from /etc/sasl2 or /usr/lib/sasl2 (memcached's search):
 * an existing memcached SASL setup works unchanged. Until a connection
 * has authenticated, only version and the three SASL opcodes run;
 * anything else is answered "Auth failure." and closes the connection.
 *
 * Each connection has its own sasl_conn_t, made on the first SASL
 * request; the username Cyrus reports after success is the
 * connection's user (conn_user()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "plmcd.h"

enum {
	OP_VERSION = 0x0b,
	OP_SASL_LIST = 0x20,
	OP_SASL_AUTH,
	OP_SASL_STEP,
	ST_OK = 0x00,
	ST_EINVAL = 0x04,
	ST_AUTH_ERROR = 0x20,
	ST_AUTH_CONTINUE = 0x21,
	SASL_MECH_MAX = 32, /* memcached's MAX_SASL_MECH_LEN */
};

/*
 * Cyrus asks where memcached.conf lives (SASL_CB_GETCONFPATH): memcached
 * 1.6.18's search (sasl_defs.c): SASL_CONF_PATH, else /etc/sasl then
 * /etc/sasl2, each holding memcached.conf (or a memcached.conf folder
 * holding it). None found: SASL_FAIL, so sasl_server_init fails and
 * plmcd stops with memcached's words ("Error initializing sasl.").
 */
static int conf_path(void *ctx, const char **path)
{
	static const char *const dirs[] = {"/etc/sasl", "/etc/sasl2", NULL};
	static const char *const in_dir[] = {"/etc/sasl/memcached.conf",
					     "/etc/sasl2/memcached.conf", NULL};
	static char nested[64];

	(void)ctx;
	*path = getenv("SASL_CONF_PATH");
	for (int i = 0; !*path && dirs[i]; i++) {
		snprintf(nested, sizeof(nested), "%s/memcached.conf",
			 in_dir[i]);
		if (access(nested, F_OK) == 0)
			*path = in_dir[i];
		else if (access(in_dir[i], F_OK) == 0)
			*path = dirs[i];
	}
	if (g_opt.verbose)
		fprintf(stderr, *path ? "Reading configuration from: <%s>\n"
				      : "Failed to locate a config path\n",
			*path);
	return *path ? SASL_OK : SASL_FAIL;
}

static int log_cb(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (g_opt.verbose > 1 || (g_opt.verbose && level <= SASL_LOG_ERR))
		fprintf(stderr, "plmcd: sasl: %s\n", msg);
	return SASL_OK;
}

typedef int (*sasl_fn)(void);

static sasl_callback_t callbacks[] = {
	{SASL_CB_GETCONFPATH, (sasl_fn)(void (*)(void))conf_path, NULL},
	{SASL_CB_LOG, (sasl_fn)(void (*)(void))log_cb, NULL},
	{SASL_CB_LIST_END, NULL, NULL},
};

int sasl_setup(void)
{
	int rc;

	if (!g_opt.sasl)
		return 0;
	rc = sasl_server_init(callbacks, "memcached");
	if (rc != SASL_OK) {
		fprintf(stderr, "Error initializing sasl.\n"
			"plmcd: -S: %s (memcached.conf: SASL_CONF_PATH, "
			"/etc/sasl, /etc/sasl2)\n",
			sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	return 0;
}

int sasl_bin_allowed(const struct conn *c, uint8_t op)
{
	if (!g_opt.sasl || c->authed)
		return 1;
	return op == OP_VERSION || op == OP_SASL_LIST || op == OP_SASL_AUTH ||
	       op == OP_SASL_STEP;
}

/*
 * No login without a credential: ANONYMOUS (which Cyrus offers from
 * libsasl2-modules when memcached.conf has no mech_list, and memcached
 * 1.6.18 then accepts) is neither listed nor started. Plaintext
 * mechanisms (PLAIN, LOGIN) stay: PLAIN is what memcached's clients
 * use (-Z hides it on the wire). No security layer (max_ssf 0): the
 * protocol never wraps its bytes with one, as in memcached.
 */
static const sasl_security_properties_t sec_props = {
	.min_ssf = 0,
	.max_ssf = 0,
	.security_flags = SASL_SEC_NOANONYMOUS,
};

static int conn_sasl(struct conn *c)
{
	sasl_conn_t *s = NULL;

	if (c->sasl)
		return 0;
	if (sasl_server_new("memcached", NULL, NULL, NULL, NULL, NULL, 0, &s) !=
	    SASL_OK)
		return -1;
	if (sasl_setprop(s, SASL_SEC_PROPS, &sec_props) != SASL_OK) {
		sasl_dispose(&s);
		return -1;
	}
	c->sasl = s;
	return 0;
}

void sasl_conn_free(struct conn *c)
{
	sasl_conn_t *s = c->sasl;

	if (s)
		sasl_dispose(&s);
	c->sasl = NULL;
}

/* SASL's result as memcached answers it, counted in auth_cmds.
 * Return 0, or -1 when the exchange failed (the reply is queued). */
static int finish(struct conn *c, int rc, const char *out, unsigned outlen,
		   void (*reply)(struct conn *, void *, uint16_t, const char *,
				 size_t),
		   void *q)
{
	const void *user = NULL;

	if (rc == SASL_CONTINUE) {
		reply(c, q, ST_AUTH_CONTINUE, out, outlen);
		return 0;
	}
	if (rc == SASL_OK &&
	    sasl_getprop(c->sasl, SASL_USERNAME, &user) == SASL_OK && user &&
	    *(const char *)user) {
		auth_set_user(c, user, strlen(user));
		auth_count(1);
		reply(c, q, ST_OK, "Authenticated", 13);
		return 0;
	}
	if (g_opt.verbose)
		fprintf(stderr, "<%d SASL authentication failed: %s\n", c->fd,
			sasl_errstring(rc, NULL, NULL));
	auth_count(0);
	reply(c, q, ST_AUTH_ERROR, NULL, 0);
	return -1;
}

/*
 * Return 0, or -1 to close the connection after the reply: an AUTH or
 * STEP drops the login the connection had (memcached's init_sasl_conn:
 * an exchange in progress proves nobody), and one that fails on a
 * connection that had logged in closes it, as memcached does (its next
 * command would be refused and close it); a first login may be retried.
 */
int sasl_bin_run(struct conn *c, uint8_t op, const char *mech, size_t mlen,
		  const char *data, size_t dlen,
		  void (*reply)(struct conn *, void *, uint16_t, const char *,
				size_t),
		  void *q)
{
	char name[SASL_MECH_MAX + 1];
	const char *out = NULL;
	unsigned outlen = 0;
	int rc = SASL_FAIL, was_authed;

	if (op == OP_SASL_LIST) {
		if (conn_sasl(c) ||
		    sasl_listmech(c->sasl, NULL, "", " ", "", &out, &outlen,
				  NULL) != SASL_OK)
			reply(c, q, ST_AUTH_ERROR, NULL, 0);
		else
			reply(c, q, ST_OK, out, outlen);
		return 0;
	}
	was_authed = c->authed;
	auth_drop(c);
	if (mlen > SASL_MECH_MAX || dlen > UINT32_MAX) {
		reply(c, q, ST_EINVAL, NULL, 0); /* not counted: memcached */
		return was_authed ? -1 : 0;
	}
	memcpy(name, mech, mlen); /* copied in: Cyrus wants a C string */
	name[mlen] = 0;
	/* every AUTH starts afresh: Cyrus refuses a new exchange on a
	 * conn whose last one finished, so a re-login needs a new one */
	if (op == OP_SASL_AUTH)
		sasl_conn_free(c);
	if (conn_sasl(c) == 0) {
		if (op == OP_SASL_AUTH) {
			rc = sasl_server_start(c->sasl, name,
					       dlen ? data : NULL,
					       (unsigned)dlen, &out, &outlen);
			c->sasl_started = rc == SASL_OK || rc == SASL_CONTINUE;
		} else if (c->sasl_started) {
			rc = sasl_server_step(c->sasl, dlen ? data : NULL,
					      (unsigned)dlen, &out, &outlen);
		}
	}
	if (finish(c, rc, out, outlen, reply, q) < 0 && was_authed)
		return -1;
	return 0;
}
