/* SPDX-License-Identifier: MIT */
/*
 * plmcd.h - plmcd: the store served over memcached's text protocol.
 *
 * plmcd is an ordinary client of the store: it attaches like any other
 * process and calls through the gate, so remote clients get exactly the
 * semantics local ones get. Worker threads each run an epoll loop; the
 * listening sockets sit in every worker's epoll (EPOLLEXCLUSIVE), and a
 * connection lives on the worker that accepted it.
 */
#ifndef PLMCD_H
#define PLMCD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PLMCD_VERSION "1.6.18-plmc"
#define PLMCD_LINE_MAX 65536	/* a command line, keys included */
#define PLMCD_GETLINE_MAX                                                      \
	(16u << 20) /* a get or gets line (memcached: no limit) */
#define PLMCD_OUT_MAX (64u << 20) /* queued replies before we give up */
/*
 * Back-pressure: a connection with more than this queued for its client
 * parses no new command, goes no further with a multi-get (proto.c
 * streams one) and reads nothing more (no EPOLLIN) until the queue
 * drains below it (EPOLLOUT), so a client that sends but never reads
 * fills its own socket buffers, not plmcd's memory: at most this plus
 * one value, or one batch of small ones, per connection (memcached
 * stops reading too).
 */
#define PLMCD_OUT_HIGH (256u << 10)
/*
 * ... and every connection's queued output together: past this, a
 * connection that has output of its own queued parses nothing new and
 * pauses its multi-get too, so clients that never read cost plmcd
 * about this much between them (plus what each must queue to make
 * progress: one value, or one gate crossing's batch of small ones).
 * A connection with nothing queued always goes on: it cannot starve.
 */
#define PLMCD_OUT_TOTAL (16u << 20)
/* a drained buffer bigger than this is freed, not kept for the next reply */
#define PLMCD_BUF_KEEP (1u << 20)
#define PLMCD_MAX_TOKENS 4096	/* words in a line: a get of 4095 keys */
#define PLMCD_MAX_THREADS 256
#define PLMCD_REL_MAX 2592000 /* memcached's longest relative time: 30 days */
#define PLMCD_SLAB_MIN_DEF 48 /* key + value room of class 1: 96-byte chunks */
#define PLMCD_USER_MAX 255	/* an authenticated user's name, bytes */

enum plmcd_proto { PROTO_AUTO, PROTO_ASCII, PROTO_BINARY };

/* The command line (opts.c), memcached's flags where they mean the same. */
struct plmcd_opts {
	const char *store;	/* -n: a shared, named store; NULL: our own */
	const char *addr, *unix_path, *pidfile, *user;
	int port, port_set, threads, maxconns, verbose, daemonize;
	int backlog, reqs_per_event, idle_timeout, coredumps, lock_memory;
	int enable_shutdown, no_flush, no_dump, no_watch, no_cas;
	int slab_reassign, slab_automove;
	int slab_automove_set; /* -o slab_automove given: tell the store */
	int lru_maintainer;    /* 0: -o no_lru_maintainer (memcached's
				* maintainer fields hidden, no LRU step) */
	long temporary_ttl;    /* -o temporary_ttl=N, -1 = not given: tell
				* the store (its TEMP segment) */
	int mb_set;            /* -m given: a store that exists says so */
	int debug_time;		/* -o debug_time: the debugtime command */
	int proto_set;		/* -B given (-S and -Y check it) */
	/* -Z and -o ssl_*: memcached's TLS settings, same meanings (tls.c) */
	int ssl_enabled, ssl_verify_mode, ssl_keyformat, ssl_min_version;
	int ssl_session_cache, ssl_kernel_tls;
	unsigned ssl_wbuf_size;
	const char *ssl_chain_cert, *ssl_key, *ssl_ca_cert, *ssl_ciphers;
	/* -Y FILE: text-protocol authentication; -S: SASL (auth.c, sasl.c) */
	const char *auth_file;
	int sasl;
	int tenant_set;		/* -o tenant=ID given */
	unsigned long read_buf_mem_limit; /* MiB of a worker's connection
					   * buffers, split by -t; 0: none */
	uint32_t tenant;	/* ... the tenant every connection acts for */
	const char *tenant_map;	/* -o tenant_map=USER:ID[:USER:ID...] */
	enum plmcd_proto proto;
	unsigned unix_mask;
	uint64_t mb, item_max;
	uint32_t slab_min;
	double factor;
};
extern struct plmcd_opts g_opt;

void opts_parse(int argc, char **argv);

/* -d (daemon.c): fork; the parent waits for daemon_ready() and exits 0,
 * or relays the child's errors and exits 1. Return: 0 in the child. */
int daemon_start(void);
/* main.c: this run bound the unix socket / wrote the pid file */
extern int unix_made, pidfile_made;
/* foreground: a root child removes them if plmcd fails before serving */
int janitor_start(void);
void daemon_ready(void);

/* A growable byte buffer: [off, len) holds unconsumed bytes. */
struct buf {
	char *p;
	size_t off, len, cap;
	/* a connection's: its worker's count of buffer bytes, which
	 * -o read_buf_mem_limit bounds (main.c); written by that worker
	 * alone; NULL: not counted */
	size_t *acct;
};

int buf_reserve(struct buf *b, size_t more);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

struct conn;
/*
 * The bound on queued output (buf.c): out_full() says whether @c must
 * stop adding replies until its client takes some (its own queue past
 * PLMCD_OUT_HIGH, or everyone's past PLMCD_OUT_TOTAL while it has some
 * queued); it is never true of a connection with nothing queued, so a
 * pause always has an EPOLLOUT to end it. out_account() brings the
 * shared total up to date with @c's queue (main.c, after each flush
 * and at close).
 */
int out_full(const struct conn *c);
void out_account(struct conn *c, int closing);

struct conn {
	int fd;
	int closing;		/* quit, or a protocol error that ends it */
	int proto;		/* PROTO_ASCII or PROTO_BINARY once chosen */
	struct buf in, out;
	struct conn *prev, *next; /* the owning worker's list (idle sweep) */
	uint64_t last;		/* monotonic seconds of the last request */
	int yielded;		/* on the worker's list to run again (-R) */
	/* proto_run stopped at PLMCD_OUT_HIGH: reads and parses wait for
	 * the output to drain (main.c conn_finish resumes them) */
	int throttled;
	/*
	 * A multi-get paused by out_full(): where it goes on (proto.c),
	 * 0 when none is. Its line stays unconsumed in `in` until the
	 * reply is whole: the index of the next key's word, or for a get
	 * longer than a struct cmd holds, the next key's byte offset in
	 * the line. memcached streams such a reply from item references;
	 * plmcd copies values, so it copies them as the client takes them.
	 */
	size_t resume;
	size_t out_counted;	/* its share of the queued total (buf.c) */
	int busy;		/* its commands are running ("stats conns") */
	uint64_t id;
	/*
	 * A storage command stays unconsumed in `in` until its data block
	 * has arrived whole; a refused one (too large) is discarded as it
	 * arrives: `swallow` bytes still to drop.
	 */
	size_t swallow;
	int nread;    /* a command waits for its data block (memcached's
		       * conn_nread: -o idle_timeout passes over it) */
	int watching; /* a watcher (watch.c): its input is ignored */
	int quit;     /* closing on "quit" (a normal close, for watchers) */
	int kicked;   /* closed by -o idle_timeout */
	int local;    /* on the unix socket: never idle, as in memcached,
		       * whose idle timeout looks at TCP connections only */
	struct dump_state *dump; /* a metadump in progress (dump.c) */
	/* TLS (tls.c): the connection's SSL, NULL on a plain listener */
	void *tls;
	int tls_want_write;	/* OpenSSL waits for the socket to drain */
	/*
	 * -Y or -S: nothing but authentication runs until @authed; @user
	 * is then the name it proved (conn_user()).
	 */
	int authed;
	char user[PLMCD_USER_MAX + 1];
	void *sasl;		/* sasl_conn_t *, made on first use */
	int sasl_started;	/* SASL_AUTH began an exchange to STEP */
	/* The tenant its commands run for (tenant.c): has_tenant 0 = the
	 * daemon's (-o tenant, else plmcd's own key space), 1 = @tenant,
	 * -1 = none (a user -o tenant_map does not name: refused).
	 * tenant_dirty: authentication changed it; proto_run picks it up
	 * before the next command. */
	int has_tenant;
	uint32_t tenant;
	int tenant_dirty;
};

#define PLMCD_MGET_SLOT 4096	/* per-key room in a batched multi-get */

struct worker_ctx {
	char *scratch;		/* one value, up to the max item size */
	size_t scratch_len;
	char *batch;		/* PLMC_MGET_MAX slots of PLMCD_MGET_SLOT */
	uint64_t conns_total;
};

/* One command line cut into words (in place, NUL-terminated). */
struct cmd {
	char *tok[PLMCD_MAX_TOKENS];
	size_t len[PLMCD_MAX_TOKENS];
	int n;
	int noreply; /* the last word was "noreply" (not counted in n) */
};

/*
 * The meta commands (meta.c): mg ms md ma mn me, or ERROR for another
 * m? word. @used: bytes of the line; @avail: bytes in the input; @data:
 * what follows the line. Return: bytes consumed, 0 to wait for ms's
 * data block.
 */
size_t meta_run(struct conn *c, struct worker_ctx *w, struct cmd *k,
		size_t used, size_t avail, const char *data);

/* A meta line of more words than the tokenizer keeps: memcached's answer
 * (ms's data block, if any, is then read as commands, as memcached does). */
void meta_too_many(struct conn *c, struct cmd *k);

/*
 * Tenants (tenant.c, docs/tenants.md): make this worker thread's calls
 * run for @c's tenant (plmc_as_tenant, only when it changes). Return: 0,
 * or -1 (the store refused: plmcd is no proxy, or the table is full).
 */
int tenant_enter(struct conn *c);

/*
 * -o tenant_map: the tenant of an authenticated @user, set on @c (the
 * authentication code calls it once it knows the user). Return: 0, or
 * -1 when the map names no such user (the connection keeps the
 * daemon's tenant: -o tenant, else plmcd's own key space).
 */
int tenant_map_user(struct conn *c, const char *user);

/* Check -o tenant_map's syntax (opts.c): 0 or -1. */
int tenant_map_ok(const char *map);

/* The per-worker buffers proto_run() needs. */
int worker_ctx_init(struct worker_ctx *w);
void worker_ctx_free(struct worker_ctx *w);

/*
 * Parse and run every complete command in c->in, appending replies to
 * c->out. Returns 0; 1 when it stopped after -R requests with more
 * input left (run it again after the other connections); -1 when the
 * connection must close.
 */
int proto_run(struct conn *c, struct worker_ctx *w);

/* flush_all with memcached's reading of @exptime (text and binary). */
int proto_flush(int64_t exptime);

/*
 * The operator commands (admin.c): verbosity, shutdown, cache_memlimit,
 * slabs, debugtime. Return: 0 handled, -1 close the connection, 1 not
 * one of them.
 */
int admin_run(struct conn *c, struct cmd *k);
void admin_out(struct conn *c, const struct cmd *k, const char *s);
int admin_u32(const char *s, uint32_t *v);

/*
 * The binary protocol (bin.c): one request from c->in if it is whole.
 * Return: 1 ran one (or skipped a refused body), 0 wait for more, -1
 * close the connection.
 */
int bin_run(struct conn *c, struct worker_ctx *w);

/* The connections' buffers right now ("stats": read_buf_*, response_obj_*). */
struct server_bufs {
	uint64_t in_count, in_bytes, in_free;
	uint64_t out_count, out_bytes;
};

/* Counters the server keeps beside the store's own (for "stats"). */
struct server_stats {
	uint64_t start_time;
	uint64_t rejected_connections;
	uint64_t bytes_read, bytes_written;
	uint64_t conn_yields, idle_kicks;
	uint64_t listen_disabled_num;
	uint64_t store_too_large, store_no_memory; /* refused stores */
	uint64_t read_buf_oom, response_obj_oom;   /* -o read_buf_mem_limit */
	uint64_t curr_connections;
	uint64_t total_connections;
	uint64_t threads;
	uint64_t maxconns;
	uint64_t tcpport;
	uint64_t item_max; /* the store's max item size */
	/* "stats conns": one row set per listener and connection (main.c;
	 * NULL where there are none, as in the fuzz target) */
	void (*conns)(struct buf *b);
	void (*bufs)(struct server_bufs *sb); /* main.c; NULL likewise */
	uint64_t cmd_meta;		      /* meta commands run */
	uint64_t crawler_starts;	      /* lru_crawler crawl runs */
	uint64_t crawler_checked;	      /* items a crawl looked at */
	/* watch (watch.c): log lines and watchers */
	uint64_t log_written, log_dropped, log_sent, log_skipped;
	uint64_t log_watchers;
};
extern struct server_stats g_server;

/* detail.c: memcached's per-prefix stats ("stats detail", -D). */
enum detail_op { DETAIL_GET, DETAIL_SET, DETAIL_DEL };
extern int detail_on;
extern char detail_delim;
void detail_record(const char *key, size_t klen, enum detail_op op, int hit);
void detail_reset(void);
void detail_command(struct buf *b, const char *what);

/* dump.c: "lru_crawler ..." and "stats cachedump" over plmc_walk(). */
extern int crawler_on;
int crawler_running(void);
void crawler_wait(int ms);
/* admin.c: the page mover's thread (-o slab_reassign) */
int mover_start(void);
void mover_poke(void);
void mover_stop_join(void);
void crawler_command(struct conn *c, struct cmd *k);
void dump_cachedump(struct conn *c, struct cmd *k);
/* The next chunk of c->dump, once what went before has been sent (main.c
 * calls it while c->dump is set and the output is empty); its END ends
 * it. dump_drop frees it unfinished (the connection closes). */
void dump_more(struct conn *c);
void dump_drop(struct conn *c);

/* watch.c: memcached's "watch" log streams. */
#define WATCH_FETCHERS	 1u
#define WATCH_MUTATIONS	 2u
#define WATCH_CONNEVENTS 4u
#define WATCH_OTHER	 8u /* streams plmcd has nothing for */
#define WATCH_EVICTIONS	 16u
extern size_t watch_bufsize;
int watch_wanted(unsigned flag);
void watch_log(unsigned flag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void watch_uri(const char *key, size_t n, char *dst);
unsigned watch_class(size_t klen, size_t vlen);
void watch_item_get(const struct conn *c, const char *key, size_t klen,
		    int found, size_t vlen);
void watch_lookup(const struct conn *c, const char *key, size_t klen,
		  int binkey);
void watch_vivified(const struct conn *c, const char *key, size_t klen,
		    int64_t exptime, uint64_t number);
void watch_item_store(const struct conn *c, const char *key, size_t klen,
		      int rc, const char *cmd, int64_t exptime, size_t vlen);
int sock_ip_port(int fd, int peer, char *ip, size_t n, unsigned *port);
void watch_conn(const struct conn *c, const char *reason);
void watch_evictions(void);
int watch_tick_ms(void);
int watch_command(struct conn *c, struct cmd *k);
void watch_drop(struct conn *c);

/* Count a store refused as too large or for memory (stats.c). */
void stats_store_rc(int rc);

/* stats.c: memcached's "stats [what]"; -1 for an unknown @what. */
int plmcd_stats(struct buf *b, const char *what);

/*
 * tls.c: -Z. tls_setup() builds the context (or says why not and
 * returns -1); tls_conn_new() gives an accepted socket its SSL, whose
 * handshake then runs inside conn_recv()/conn_send() as data arrives,
 * so a client that stalls its handshake holds only its own connection.
 */
int tls_setup(void);
int tls_conn_new(struct conn *c);
void tls_conn_free(struct conn *c);
int tls_refresh(struct buf *err);	/* refresh_certs; 0 on success */
int tls_pending(const struct conn *c);	/* decrypted bytes still held */
void tls_stats(struct buf *b);		/* "stats" */
void tls_settings(struct buf *b);	/* "stats settings" */

/*
 * The connection's I/O, TLS or plain: as recv/send (-1 with errno
 * EAGAIN when the socket, or the TLS engine, must wait).
 */
ssize_t conn_recv(struct conn *c, void *p, size_t n);
ssize_t conn_send(struct conn *c, const void *p, size_t n);

/*
 * auth.c: -Y FILE (memcached's "user:password" file). auth_load()
 * reads it at start (and at SIGHUP); auth_ascii() runs the text
 * protocol's login exchange on an unauthenticated connection (return
 * as run_one: bytes consumed, 0 to wait, (size_t)-1 to close).
 */
int auth_load(const char *file);
void auth_reload(void);
size_t auth_ascii(struct conn *c);
void auth_count(int ok);		/* auth_cmds, auth_errors */
void auth_stats(struct buf *b);
/* Mark @c authenticated as @user (cut to PLMCD_USER_MAX bytes). */
void auth_set_user(struct conn *c, const char *user, size_t len);
void auth_drop(struct conn *c);

/*
 * The user @c authenticated as (-Y's user, SASL's username), or NULL
 * when it has not (or plmcd runs without -Y and -S). The string lives
 * as long as the connection.
 */
const char *conn_user(const struct conn *c);

/*
 * sasl.c: -S, Cyrus SASL over the binary protocol, as memcached:
 * application "memcached", its config from SASL_CONF_PATH.
 * sasl_bin_allowed(): may an unauthenticated connection run @op?
 * sasl_bin_run(): list mechs (0x20), auth (0x21), step (0x22): appends
 * the status and body to reply through @out (status, body, len).
 * Returns -1 when the connection must close after the reply (a failed
 * re-login: sasl.c).
 */
int sasl_setup(void);
int sasl_bin_allowed(const struct conn *c, uint8_t op);
int sasl_bin_run(struct conn *c, uint8_t op, const char *mech,
		 size_t mlen, const char *data, size_t dlen,
		 void (*out)(struct conn *c, void *q, uint16_t st,
			     const char *body, size_t len),
		 void *q);
void sasl_conn_free(struct conn *c);

#endif
