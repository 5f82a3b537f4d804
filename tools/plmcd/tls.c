// SPDX-License-Identifier: MIT
/*
 * plmcd/tls.c - TLS as memcached 1.6 does it (-Z, -o ssl_*), on
 * Debian's OpenSSL.
 *
 * One SSL_CTX serves every connection. refresh_certs builds a new
 * context from the same files and swaps it in under ctx_lock; a
 * connection keeps the context it was made with (SSL_new takes a
 * reference), so connections open before a refresh keep the old
 * certificate, as memcached's do.
 *
 * Handshakes never block a worker: the socket is non-blocking and the
 * SSL is in accept state, so SSL_read() runs the handshake a step at a
 * time as the client's bytes arrive (WANT_READ is EAGAIN to the event
 * loop). A client that stalls its handshake costs one connection, never
 * the others on its worker. WANT_WRITE (the socket's buffer is full in
 * the middle of a handshake or a record) sets tls_want_write, which
 * makes the worker wait for EPOLLOUT and call in again.
 *
 * Replies are written straight from the connection's output buffer
 * with partial writes on (SSL_MODE_ENABLE_PARTIAL_WRITE), and the
 * buffer may move between tries (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER):
 * it only grows at its end until what was written is consumed, so a
 * retried write always offers at least the bytes of the try before.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "plmcd.h"

static SSL_CTX *ctx; /* the current context; under ctx_lock */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t handshake_errors, new_sessions, last_refresh;

/* memcached's session id context, so a session resumes on any plmcd
 * that shares the cache (one process here) */
static const unsigned char sid_ctx[] = "memcached";

static uint64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Called for each session the server's cache creates (not on reuse). */
static int on_new_session(SSL *s, SSL_SESSION *sess)
{
	(void)s;
	(void)sess;
	__atomic_add_fetch(&new_sessions, 1, __ATOMIC_RELAXED);
	return 0; /* the cache keeps its own reference */
}

/* OpenSSL's queued errors as one line (and the queue drained). */
static void ssl_errors(char *out, size_t n)
{
	unsigned long e;
	size_t len = 0;

	out[0] = 0;
	while ((e = ERR_get_error()) && len + 2 < n) {
		if (len)
			out[len++] = ' ';
		ERR_error_string_n(e, out + len, n - len);
		len += strlen(out + len);
	}
}

/* The certificate, key and CA of @c, as memcached loads them; on
 * failure @err says which file and why, in memcached's words. */
static int load_certs(SSL_CTX *c, struct buf *err)
{
	char why[512];

	if (!SSL_CTX_use_certificate_chain_file(c, g_opt.ssl_chain_cert)) {
		ssl_errors(why, sizeof(why));
		buf_printf(err, "Error loading the certificate chain: %s : %s",
			   g_opt.ssl_chain_cert, why);
	} else if (!SSL_CTX_use_PrivateKey_file(c, g_opt.ssl_key,
						g_opt.ssl_keyformat)) {
		ssl_errors(why, sizeof(why));
		buf_printf(err, "Error loading the key: %s : %s", g_opt.ssl_key,
			   why);
	} else if (!SSL_CTX_check_private_key(c)) {
		ssl_errors(why, sizeof(why));
		buf_printf(err, "Error validating the certificate: %s", why);
	} else if (g_opt.ssl_ca_cert &&
		   !SSL_CTX_load_verify_locations(c, g_opt.ssl_ca_cert, NULL)) {
		ssl_errors(why, sizeof(why));
		buf_printf(err, "Error loading the CA certificate: %s : %s",
			   g_opt.ssl_ca_cert, why);
	} else {
		/* the CAs a client certificate may come from, sent in the
		 * handshake's certificate request */
		if (g_opt.ssl_ca_cert)
			SSL_CTX_set_client_CA_list(
				c, SSL_load_client_CA_file(g_opt.ssl_ca_cert));
		return 0;
	}
	return -1;
}

/* A context with every -o ssl_* setting; NULL and @err on failure. */
static SSL_CTX *ctx_build(struct buf *err)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c) {
		buf_printf(err, "Error creating the TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(c, g_opt.ssl_min_version)) {
		buf_printf(err, "Error setting ssl_min_version");
		goto fail;
	}
	if (load_certs(c, err))
		goto fail;
	SSL_CTX_set_verify(c, g_opt.ssl_verify_mode, NULL);
	if (g_opt.ssl_ciphers &&
	    !SSL_CTX_set_cipher_list(c, g_opt.ssl_ciphers)) {
		buf_printf(err, "Error setting the provided cipher(s): %s",
			   g_opt.ssl_ciphers);
		goto fail;
	}
	if (g_opt.ssl_session_cache) {
		SSL_CTX_sess_set_new_cb(c, on_new_session);
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
		SSL_CTX_set_session_id_context(c, sid_ctx, sizeof(sid_ctx) - 1);
	} else {
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
		/* TLS 1.3 resumes through tickets, not the cache: off too,
		 * as "no session cache" means no resumption */
		SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(c, 0);
	}
	if (g_opt.ssl_kernel_tls)
		SSL_CTX_set_options(c, SSL_OP_ENABLE_KTLS);
	/* a client may not renegotiate: each one would cost the worker a
	 * full handshake at the client's whim */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
				    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				    SSL_MODE_RELEASE_BUFFERS);
	return c;
fail:
	SSL_CTX_free(c);
	return NULL;
}

int tls_setup(void)
{
	struct buf err = {0};

	if (!g_opt.ssl_enabled)
		return 0;
	if (!g_opt.port) {
		fprintf(stderr, "plmcd: ERROR: You cannot enable SSL without a "
				"TCP port.\n");
		return -1;
	}
	if (!g_opt.ssl_chain_cert || !g_opt.ssl_key) {
		fprintf(stderr, "plmcd: -Z needs -o ssl_chain_cert=FILE and "
				"-o ssl_key=FILE\n");
		return -1;
	}
	ctx = ctx_build(&err);
	if (!ctx) {
		fprintf(stderr, "plmcd: %.*s\n", (int)err.len,
			err.p ? err.p : "");
		buf_free(&err);
		return -1;
	}
	last_refresh = mono_sec();
	return 0;
}

/* refresh_certs: the same files read again into a new context. */
int tls_refresh(struct buf *err)
{
	SSL_CTX *fresh, *old;

	if (!g_opt.ssl_enabled) {
		buf_printf(err, "Error TLS not enabled");
		return -1;
	}
	fresh = ctx_build(err);
	if (!fresh)
		return -1;
	pthread_mutex_lock(&ctx_lock);
	old = ctx;
	ctx = fresh;
	pthread_mutex_unlock(&ctx_lock);
	/* connections made from @old hold their own references */
	SSL_CTX_free(old);
	__atomic_store_n(&last_refresh, mono_sec(), __ATOMIC_RELAXED);
	return 0;
}

int tls_conn_new(struct conn *c)
{
	SSL *s;

	pthread_mutex_lock(&ctx_lock);
	s = SSL_new(ctx);
	pthread_mutex_unlock(&ctx_lock);
	if (!s)
		return -1;
	if (!SSL_set_fd(s, c->fd)) {
		SSL_free(s);
		return -1;
	}
	SSL_set_accept_state(s);
	c->tls = s;
	return 0;
}

/* A close_notify if the socket takes it now; never waits. */
void tls_conn_free(struct conn *c)
{
	SSL *s = c->tls;

	if (!s)
		return;
	if (SSL_is_init_finished(s))
		SSL_shutdown(s);
	SSL_free(s);
	c->tls = NULL;
	ERR_clear_error(); /* this thread's queue: nothing for the next */
}

int tls_pending(const struct conn *c)
{
	return c->tls && SSL_pending(c->tls) > 0;
}

/*
 * An SSL_read/SSL_write result as recv/send would give it. A failure
 * before the handshake finished is memcached's ssl_handshake_errors
 * (a plain-text client on a TLS port, a wrong CA, a version below
 * ssl_min_version, a client that hung up mid-handshake).
 */
static ssize_t tls_result(struct conn *c, int r)
{
	SSL *s = c->tls;
	int e = SSL_get_error(s, r);

	c->tls_want_write = 0;
	if (r > 0)
		return r;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->tls_want_write = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN: /* the client's close_notify */
		return 0;
	}
	if (!SSL_is_init_finished(s)) {
		__atomic_add_fetch(&handshake_errors, 1, __ATOMIC_RELAXED);
		if (g_opt.verbose) {
			char why[256];

			ssl_errors(why, sizeof(why));
			fprintf(stderr, "<%d TLS handshake failed: %s\n", c->fd,
				why[0] ? why : "connection closed");
		}
	}
	ERR_clear_error();
	errno = ECONNRESET;
	return -1;
}

ssize_t conn_recv(struct conn *c, void *p, size_t n)
{
	if (!c->tls)
		return recv(c->fd, p, n, 0);
	ERR_clear_error();
	return tls_result(
		c, SSL_read(c->tls, p, n > INT32_MAX ? INT32_MAX : (int)n));
}

ssize_t conn_send(struct conn *c, const void *p, size_t n)
{
	if (!c->tls)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	ERR_clear_error();
	return tls_result(
		c, SSL_write(c->tls, p, n > INT32_MAX ? INT32_MAX : (int)n));
}

void tls_stats(struct buf *b)
{
	if (!g_opt.ssl_enabled)
		return;
	if (g_opt.ssl_session_cache)
		buf_printf(b, "STAT ssl_new_sessions %llu\r\n",
			   (unsigned long long)new_sessions);
	buf_printf(b, "STAT ssl_handshake_errors %llu\r\n",
		   (unsigned long long)handshake_errors);
	buf_printf(b, "STAT time_since_server_cert_refresh %llu\r\n",
		   (unsigned long long)(mono_sec() - last_refresh));
}

static const char *proto_text(int v)
{
	switch (v) {
	case TLS1_VERSION:
		return "tlsv1.0";
	case TLS1_1_VERSION:
		return "tlsv1.1";
	case TLS1_2_VERSION:
		return "tlsv1.2";
	case TLS1_3_VERSION:
		return "tlsv1.3";
	}
	return "unknown";
}

/* memcached's "stats settings" TLS rows, in its order and spelling. */
void tls_settings(struct buf *b)
{
	const char *none = "NULL";

	buf_printf(b, "STAT ssl_enabled %s\r\n",
		   g_opt.ssl_enabled ? "yes" : "no");
	/* these two memcached prints as glibc prints a NULL pointer */
	buf_printf(b, "STAT ssl_chain_cert %s\r\n",
		   g_opt.ssl_chain_cert ? g_opt.ssl_chain_cert : "(null)");
	buf_printf(b, "STAT ssl_key %s\r\n",
		   g_opt.ssl_key ? g_opt.ssl_key : "(null)");
	buf_printf(b, "STAT ssl_verify_mode %d\r\n", g_opt.ssl_verify_mode);
	buf_printf(b, "STAT ssl_keyformat %d\r\n", g_opt.ssl_keyformat);
	buf_printf(b, "STAT ssl_ciphers %s\r\n",
		   g_opt.ssl_ciphers ? g_opt.ssl_ciphers : none);
	buf_printf(b, "STAT ssl_ca_cert %s\r\n",
		   g_opt.ssl_ca_cert ? g_opt.ssl_ca_cert : none);
	buf_printf(b, "STAT ssl_wbuf_size %u\r\n", g_opt.ssl_wbuf_size);
	buf_printf(b, "STAT ssl_session_cache %s\r\n",
		   g_opt.ssl_session_cache ? "yes" : "no");
	buf_printf(b, "STAT ssl_kernel_tls %s\r\n",
		   g_opt.ssl_kernel_tls ? "yes" : "no");
	buf_printf(b, "STAT ssl_min_version %s\r\n",
		   proto_text(g_opt.ssl_min_version));
}
