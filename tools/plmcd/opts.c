// SPDX-License-Identifier: MIT
/*
 * plmcd/opts.c - memcached 1.6.18's command line, flag by flag.
 *
 * Every flag memcached's -h lists (and every -o option it parses) is
 * either honoured here or refused by name with the reason, so a
 * memcached command line either means the same under plmcd or stops it
 * with a message that says what differs. Two kinds of -o option are
 * accepted without a setting of their own and say so on stderr: tuning
 * of memcached internals the store does not have (its LRU is one CLOCK
 * per class, its hash table is sized at create), and the choice between
 * a behaviour and the one plmc always has. docs/plmcd.md lists them.
 *
 * One difference by design: plmcd's -n names the store (shared with
 * local clients); memcached's -n (smallest chunk) is --slab-min-size.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "plmc.h"
#include "plmc/layout.h" /* PLMC_STORE_MAX */
#include "plmcd.h"

#ifndef PLMC_VERSION
#define PLMC_VERSION "unknown"
#endif

struct plmcd_opts g_opt = {
	.addr = "127.0.0.1", .port = 11211, .threads = 4, .maxconns = 1024,
	.unix_mask = 0700, .mb = 64, .backlog = 1024, .reqs_per_event = 20,
	.proto = PROTO_AUTO, .slab_reassign = 1, /* memcached 1.6's default */
	.temporary_ttl = -1, /* not given: the store keeps its own */
	.lru_maintainer = 1, /* memcached 1.6's default */
	/* memcached's TLS defaults */
	.ssl_keyformat = SSL_FILETYPE_PEM, .ssl_min_version = TLS1_2_VERSION,
	.ssl_wbuf_size = 16 * 1024,
};

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "plmcd: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	exit(2);
}

static long parse_long(const char *s, const char *flag)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end)
		die("%s: not a number", flag);
	return v;
}

/* memcached's size suffixes: k, m (and plain bytes). */
static uint64_t parse_size(const char *s, const char *flag)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (end == s)
		die("%s: not a size", flag);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end)
		die("%s: not a size", flag);
	return v;
}

/*
 * -m: the store's size in MiB, as memcached's -m (which reads the leading
 * number and ignores the rest: "100m" is 100). A suffix m or g is taken
 * for what it says (MiB, GiB); anything else, a sign, or a size no store
 * can have is named with -m and the bounds.
 */
static uint64_t parse_mb(const char *s)
{
	const uint64_t max = PLMC_STORE_MAX >> 20;
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || *s == '-' || *s == '+' || errno)
		v = 0, end = (char *)"?";
	else if ((*end == 'g' || *end == 'G') && v <= max)
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		end++;
	if (*end || v > max) {
		fprintf(stderr, "plmcd: -m %s: the store's size in MiB "
			"(memcached's -m), 4 to %llu; an m or g suffix "
			"may follow\n", s, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"plmcd " PLMCD_VERSION " (memcached's protocol over a plmc store)\n"
		"-n, --store=<name>        serve the named store, shared with local clients\n"
		"                          (created with -m MiB if missing); without -n a\n"
		"                          store of its own, named after the address, empty\n"
		"                          at start and destroyed at exit\n"
		"-p, --port=<num>          TCP port to listen on (default: 11211, 0: off,\n"
		"                          -1: a random free port)\n"
		"-U, --udp-port=<num>      only 0: plmcd has no UDP\n"
		"-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)\n"
		"-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: 700)\n"
		"-A, --enable-shutdown     enable ascii \"shutdown\" command\n"
		"-l, --listen=<addr>       interface to listen on (default: 127.0.0.1);\n"
		"                          HOST[:PORT] or [V6ADDR][:PORT], up to 8 separated\n"
		"                          by commas, each on every address it resolves to\n"
		"-d, --daemon              run as a daemon\n"
		"-r, --enable-coredumps    maximize core file limit\n"
		"-u, --user=<user>         assume identity of <username> (only when run as root)\n"
		"-m, --memory-limit=<num>  item memory in megabytes of a store plmcd creates (64)\n"
		"-c, --conn-limit=<num>    max simultaneous connections (default: 1024)\n"
		"-k, --lock-memory         lock down all paged memory (the store's too)\n"
		"-v, --verbose             verbose (connections, errors)\n"
		"-vv                       very verbose (also print client commands)\n"
		"-h, --help                print this help and exit\n"
		"-i, --license             print the license and exit\n"
		"-V, --version             print version and exit\n"
		"-P, --pidfile=<file>      save PID in <file>\n"
		"-f, --slab-growth-factor=<num> chunk size growth factor of a created store (1.25)\n"
		"    --slab-min-size=<bytes> key+value room of the smallest class (memcached's -n)\n"
		"-t, --threads=<num>       number of threads to use (default: 4)\n"
		"-R, --max-reqs-per-event  requests per connection before yielding (default: 20)\n"
		"-C, --disable-cas         CAS uniques are reported as 0\n"
		"-b, --listen-backlog=<num> set the backlog queue limit (default: 1024)\n"
		"-B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: auto)\n"
		"-I, --max-item-size=<num> max item size of a created store (up to 1m)\n"
		"-F, --disable-flush-all   disable flush_all command\n"
		"-X, --disable-dumping     disable stats cachedump and lru_crawler metadump\n"
		"-W  --disable-watch       disable watch commands (live logging)\n"
		"-o, --extended            comma separated list of extended options:\n"
		"   - idle_timeout=<s>     close connections idle this long (default: 0, never)\n"
		"   - slab_reassign, slab_automove[=0|1|2]: slab page moves (store permitting)\n"
		"   - relaxed_privileges, drop_privileges: accepted; plmcd has no seccomp filter\n"
		"   - tenant=<id>          act for this tenant of a store with tenants (plmcd\n"
		"                          must be a proxy: plctl tenant set NAME UID --proxy)\n"
		"   other memcached -o options: see plmcd(8)\n"
		"   - ssl_chain_cert:      certificate chain file in PEM format\n"
		"   - ssl_key:             private key, if not part of the -ssl_chain_cert\n"
		"   - ssl_keyformat:       private key format (PEM, DER or ENGINE) (default: PEM)\n"
		"   - ssl_verify_mode:     peer certificate verification mode, default is 0(None).\n"
		"                          valid values are 0(None), 1(Request), 2(Require)\n"
		"                          or 3(Once)\n"
		"   - ssl_ciphers:         specify cipher list to be used\n"
		"   - ssl_ca_cert:         PEM format file of acceptable client CA's\n"
		"   - ssl_wbuf_size:       size in kilobytes of per-connection SSL output buffer\n"
		"                          (default: 16; reported only: plmcd writes from its\n"
		"                          own output buffer)\n"
		"   - ssl_session_cache:   enable server-side SSL session cache, to support session\n"
		"                          resumption\n"
		"   - ssl_kernel_tls:      enable kernel TLS offload\n"
		"   - ssl_min_version:     minimum protocol version to accept (default: tlsv1.2)\n"
		"                          valid values are 0(tlsv1.0), 1(tlsv1.1), 2(tlsv1.2),\n"
		"                          or 3(tlsv1.3).\n"
		"-D <char>                 per-prefix stats delimiter (turns \"stats detail\" on)\n"
		"-S, --enable-sasl         turn on Sasl authentication (binary protocol)\n"
		"-Y, --auth-file=<file>    enable ASCII protocol authentication. format:\n"
		"                          user:pass\\nuser2:pass2\\n\n"
		"-Z, --enable-ssl          enable TLS/SSL\n"
		"Refused, by name: -M -L -e -N, UDP, extstore (ext_*), the proxy (proxy_*):\n"
		"see plmcd(8).\n");
}

/* memcached's words for a command line it refuses, and its exit code
 * (EX_USAGE, or 1 where memcached returns 1). */
static void usage_error(int code, const char *fmt, long a, long b)
{
	fprintf(stderr, fmt, a, b);
	exit(code);
}

#define EX_USAGE_MC 64 /* sysexits.h's EX_USAGE, memcached's */

/* A flag memcached has and plmcd does not: stop, saying why. */
static void refuse(const char *flag, const char *why)
{
	fprintf(stderr, "plmcd: %s is not supported: %s\n", flag, why);
	exit(2);
}

/* -o name[=value] that tunes a memcached internal the store lacks. */
static const char *const o_internal[] = {
	"no_hashexpand", "hash_algorithm", "tail_repair_time",
	"lru_crawler_sleep", "lru_crawler_tocrawl", "hot_lru_pct",
	"warm_lru_pct", "hot_max_factor", "warm_max_factor",
	"worker_logbuf_size", "slab_sizes", "track_sizes",
	"no_inline_ascii_resp",
	"inline_ascii_resp", "no_chunked_items", "resp_obj_mem_limit",
	"slab_automove_ratio", "slab_automove_window",
	"slab_automove_freeratio", "sock_cookie_id", NULL,
};

/* -o name that selects what plmc always does. */
static const char *const o_always[] = {
	"maxconns_fast", "modern", NULL,
};

static int in_list(const char *const *l, const char *name)
{
	for (; *l; l++)
		if (!strcmp(*l, name))
			return 1;
	return 0;
}

/* -o ssl_NAME=VALUE: memcached's names, values and messages. */
static const char *ssl_need(const char *o, const char *val)
{
	if (!val || !*val) {
		fprintf(stderr, "plmcd: Missing %s argument\n", o);
		exit(2);
	}
	return val;
}

static void ssl_option(const char *o, const char *val)
{
	/* memcached's numbers for ssl_verify_mode and ssl_min_version */
	static const int verify[] = {
		SSL_VERIFY_NONE, SSL_VERIFY_PEER,
		SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT |
			SSL_VERIFY_CLIENT_ONCE,
	};
	static const int version[] = { TLS1_VERSION, TLS1_1_VERSION,
				       TLS1_2_VERSION, TLS1_3_VERSION };
	long n;

	if (!strcmp(o, "ssl_chain_cert")) {
		g_opt.ssl_chain_cert = ssl_need(o, val);
	} else if (!strcmp(o, "ssl_key")) {
		g_opt.ssl_key = ssl_need(o, val);
	} else if (!strcmp(o, "ssl_ca_cert")) {
		g_opt.ssl_ca_cert = ssl_need(o, val);
	} else if (!strcmp(o, "ssl_ciphers")) {
		g_opt.ssl_ciphers = ssl_need(o, val);
	} else if (!strcmp(o, "ssl_verify_mode")) {
		n = parse_long(ssl_need(o, val), "-o ssl_verify_mode");
		if (n < 0 || n > 3)
			die("%s: Invalid ssl_verify_mode (0 to 3)",
			    "-o ssl_verify_mode");
		g_opt.ssl_verify_mode = verify[n];
	} else if (!strcmp(o, "ssl_keyformat")) {
		n = parse_long(ssl_need(o, val), "-o ssl_keyformat");
		if (n != SSL_FILETYPE_PEM && n != SSL_FILETYPE_ASN1)
			die("%s: 1 (PEM) or 2 (DER)", "-o ssl_keyformat");
		g_opt.ssl_keyformat = (int)n;
	} else if (!strcmp(o, "ssl_min_version")) {
		n = parse_long(ssl_need(o, val), "-o ssl_min_version");
		if (n < 0 || n > 3)
			die("%s: Invalid ssl_min_version (0 to 3)",
			    "-o ssl_min_version");
		g_opt.ssl_min_version = version[n];
	} else if (!strcmp(o, "ssl_wbuf_size")) {
		n = parse_long(ssl_need(o, val), "-o ssl_wbuf_size");
		if (n < 1 || n > (1L << 20))
			die("%s: kilobytes, 1 or more", "-o ssl_wbuf_size");
		g_opt.ssl_wbuf_size = (unsigned)n * 1024;
	} else if (!strcmp(o, "ssl_session_cache")) {
		g_opt.ssl_session_cache = 1;
	} else if (!strcmp(o, "ssl_kernel_tls")) {
		g_opt.ssl_kernel_tls = 1;
	} else {
		die("-o %s: unknown option", o);
	}
}

/* -o slab_chunk_max as memcached reads it, for memcached's checks of -I
 * (opts_check_sizes); the store has no chunked items. */
static long chunk_max = 512 * 1024; /* memcached's: half its 1 MiB page */

/*
 * -o hashpower: without effect (the store sizes its table at create and
 * grows it), but memcached's bounds and words, so a command line
 * memcached refuses is refused here too.
 */
static void hashpower_check(const char *val)
{
	long hp;

	if (!val) {
		fprintf(stderr, "Missing numeric argument for hashpower\n");
		exit(1);
	}
	hp = atoi(val);
	if (hp < 12)
		usage_error(1, "Initial hashtable multiplier of %ld is too "
			       "low\n", hp, 0);
	if (hp > 32)
		usage_error(1, "Initial hashtable multiplier of %ld is too "
			       "high\nChoose a value based on \"STAT "
			       "hash_power_level\" from a running instance\n",
			    hp, 0);
}

static void ext_option(char *o)
{
	char *val = strchr(o, '=');

	if (val)
		*val++ = 0;
	if (!strcmp(o, "idle_timeout") && val) {
		g_opt.idle_timeout = (int)parse_long(val, "-o idle_timeout");
		if (g_opt.idle_timeout < 0)
			die("%s: must be 0 or more seconds", "-o idle_timeout");
	} else if (!strcmp(o, "slab_reassign")) {
		g_opt.slab_reassign = 1;
	} else if (!strcmp(o, "no_slab_reassign")) {
		g_opt.slab_reassign = 0;
	} else if (!strcmp(o, "slab_automove")) {
		g_opt.slab_automove = val ? (int)parse_long(val, "-o slab_automove") : 1;
		g_opt.slab_automove_set = 1;
		if (g_opt.slab_automove < 0 || g_opt.slab_automove > 2)
			die("%s: 0, 1 or 2", "-o slab_automove");
	} else if (!strcmp(o, "lru_maintainer")) {
		g_opt.lru_maintainer = 1;
	} else if (!strcmp(o, "no_lru_maintainer")) {
		g_opt.lru_maintainer = 0;
	} else if (!strcmp(o, "temporary_ttl") && val) {
		g_opt.temporary_ttl = parse_long(val, "-o temporary_ttl");
		if (g_opt.temporary_ttl < 0 ||
		    g_opt.temporary_ttl > 60 * 60 * 24 * 30)
			die("%s: 0 to 2592000 seconds", "-o temporary_ttl");
	} else if (!strcmp(o, "no_slab_automove")) {
		g_opt.slab_automove = 0;
		g_opt.slab_automove_set = 1;
	} else if (!strcmp(o, "relaxed_privileges") ||
		   !strcmp(o, "drop_privileges") ||
		   !strcmp(o, "no_drop_privileges")) {
		/* These choose how strict memcached's seccomp filter is;
		 * plmcd installs none (the store's protection is the gate's
		 * and the module's), so every choice means the same. */
	} else if (!strcmp(o, "no_maxconns_fast")) {
		refuse("-o no_maxconns_fast",
		       "plmcd always answers \"ERROR Too many open "
		       "connections\" and closes past -c");
	} else if (!strcmp(o, "lru_crawler") || !strcmp(o, "no_lru_crawler")) {
		/* memcached's crawler thread at start: here the "lru_crawler"
		 * commands' switch (dump.c); the store reclaims on its own
		 * either way */
		crawler_on = o[0] == 'l';
	} else if (!strcmp(o, "read_buf_mem_limit") && val) {
		/* MiB of connection buffers, split between the workers */
		long mb = parse_long(val, "-o read_buf_mem_limit");

		if (mb < 0 || mb > 1 << 20)
			die("%s: 0 to 1048576 MiB", "-o read_buf_mem_limit");
		g_opt.read_buf_mem_limit = (unsigned long)mb;
	} else if (!strcmp(o, "watcher_logbuf_size") && val) {
		/* KiB of log lines a watcher may leave unread (watch.c) */
		long kb = parse_long(val, "-o watcher_logbuf_size");

		if (kb < 1 || kb > 1 << 20)
			die("%s: 1 to 1048576 KiB", "-o watcher_logbuf_size");
		watch_bufsize = (size_t)kb * 1024;
	} else if (!strcmp(o, "no_modern")) {
		/* memcached 1.4's defaults: no crawler, no slab moves */
		crawler_on = 0;
		g_opt.slab_reassign = 0;
	} else if (!strcmp(o, "hashpower")) {
		hashpower_check(val);
	} else if (!strcmp(o, "slab_chunk_max")) {
		/* memcached's bytes; only checked against -I (no chunks) */
		chunk_max = parse_long(val ? val : "", "-o slab_chunk_max");
		if (chunk_max < 1 || chunk_max > 1024 * 1024)
			die("%s: bytes, 1 to 1048576", "-o slab_chunk_max");
	} else if (in_list(o_always, o)) {
		/* the store reclaims expired items on its own (clock hand). */
	} else if (in_list(o_internal, o)) {
		if (g_opt.verbose)
			fprintf(stderr, "plmcd: -o %s: no effect (a memcached "
				"internal the store does not have)\n", o);
	} else if (!strncmp(o, "ext_", 4)) {
		refuse("-o ext_*", "no extstore: items live in the store only");
	} else if (!strncmp(o, "ssl_", 4)) {
		ssl_option(o, val);
	} else if (!strncmp(o, "proxy_", 6)) {
		refuse("-o proxy_*", "no proxy: plmcd serves one store");
	} else if (!strcmp(o, "debug_time")) {
		/* memcached-debug's debugtime command, for memcached's own
		 * tests: only on a store of plmcd's own (checked below) */
		g_opt.debug_time = 1;
	} else if (!strcmp(o, "tenant")) {
		/* every connection acts for this tenant (docs/tenants.md) */
		long id = parse_long(val ? val : "", "-o tenant");

		if (id < 0 || id >= 0xffffffffL)
			die("%s: a uid or tenant id", "-o tenant");
		g_opt.tenant = (uint32_t)id;
		g_opt.tenant_set = 1;
	} else if (!strcmp(o, "tenant_map")) {
		/* USER:ID pairs, ':'-separated (',' separates -o options) */
		if (!val || tenant_map_ok(val))
			die("%s: USER:ID[:USER:ID...]", "-o tenant_map");
		g_opt.tenant_map = val;
	} else if (!strcmp(o, "slab_chunk_min")) {
		g_opt.slab_min = (uint32_t)parse_size(val ? val : "", "-o slab_chunk_min");
	} else {
		die("-o %s: unknown option", o);
	}
}

static void ext_options(char *list)
{
	char *save = NULL;

	for (char *o = strtok_r(list, ",", &save); o;
	     o = strtok_r(NULL, ",", &save))
		ext_option(o);
}

enum { OPT_STORE = 256, OPT_SLAB_MIN };

static const struct option longopts[] = {
	{ "store", required_argument, 0, 'n' },
	{ "slab-min-size", required_argument, 0, OPT_SLAB_MIN },
	{ "unix-mask", required_argument, 0, 'a' },
	{ "enable-shutdown", no_argument, 0, 'A' },
	{ "enable-ssl", no_argument, 0, 'Z' },
	{ "port", required_argument, 0, 'p' },
	{ "unix-socket", required_argument, 0, 's' },
	{ "udp-port", required_argument, 0, 'U' },
	{ "memory-limit", required_argument, 0, 'm' },
	{ "disable-evictions", no_argument, 0, 'M' },
	{ "conn-limit", required_argument, 0, 'c' },
	{ "lock-memory", no_argument, 0, 'k' },
	{ "help", no_argument, 0, 'h' },
	{ "license", no_argument, 0, 'i' },
	{ "version", no_argument, 0, 'V' },
	{ "enable-coredumps", no_argument, 0, 'r' },
	{ "verbose", optional_argument, 0, 'v' },
	{ "daemon", no_argument, 0, 'd' },
	{ "listen", required_argument, 0, 'l' },
	{ "user", required_argument, 0, 'u' },
	{ "pidfile", required_argument, 0, 'P' },
	{ "slab-growth-factor", required_argument, 0, 'f' },
	{ "threads", required_argument, 0, 't' },
	{ "enable-largepages", no_argument, 0, 'L' },
	{ "max-reqs-per-event", required_argument, 0, 'R' },
	{ "disable-cas", no_argument, 0, 'C' },
	{ "listen-backlog", required_argument, 0, 'b' },
	{ "protocol", required_argument, 0, 'B' },
	{ "max-item-size", required_argument, 0, 'I' },
	{ "enable-sasl", no_argument, 0, 'S' },
	{ "disable-flush-all", no_argument, 0, 'F' },
	{ "disable-dumping", no_argument, 0, 'X' },
	{ "disable-watch", no_argument, 0, 'W' },
	{ "auth-file", required_argument, 0, 'Y' },
	{ "memory-file", required_argument, 0, 'e' },
	{ "extended", required_argument, 0, 'o' },
	{ "napi-ids", required_argument, 0, 'N' },
	{ 0, 0, 0, 0 },
};

static void set_protocol(const char *p)
{
	if (!strcmp(p, "auto"))
		g_opt.proto = PROTO_AUTO;
	else if (!strcmp(p, "ascii"))
		g_opt.proto = PROTO_ASCII;
	else if (!strcmp(p, "binary"))
		g_opt.proto = PROTO_BINARY;
	else
		die("-B %s: ascii, binary or auto", p);
}

/* The flags that need no more than a setting or a refusal. */
static int parse_flag(int c, const char *arg)
{
	switch (c) {
	case 'A': g_opt.enable_shutdown = 1; break;
	case 'F': g_opt.no_flush = 1; break;
	case 'X': g_opt.no_dump = 1; break;
	case 'W': g_opt.no_watch = 1; break;
	case 'C': g_opt.no_cas = 1; break;
	case 'd': g_opt.daemonize = 1; break;
	case 'r': g_opt.coredumps = 1; break;
	case 'k': g_opt.lock_memory = 1; break;
	case 'B': set_protocol(arg); g_opt.proto_set = 1; break;
	case 'M': refuse("-M", "the store evicts to make room (no "
			      "out-of-memory mode)"); break;
	case 'L': refuse("-L", "the store's pages are mapped by the "
			      "module or shm, not by plmcd"); break;
	case 'D':
		if (!arg[0] || arg[1])
			die("%s: one delimiter character", "-D");
		detail_delim = arg[0];
		detail_on = 1; /* memcached: -D turns collection on */
		break;
	case 'S': g_opt.sasl = 1; break;
	case 'Y': g_opt.auth_file = arg; break;
	case 'e': refuse("-e", "the store itself outlives plmcd: name "
			      "it with -n"); break;
	case 'Z': g_opt.ssl_enabled = 1; break;
	case 'N': refuse("-N", "no NAPI-id thread selection"); break;
	default: return -1;
	}
	return 0;
}

static void parse_number_flag(int c, const char *arg)
{
	switch (c) {
	case 'm': g_opt.mb = parse_mb(arg); g_opt.mb_set = 1; break;
	case 'p': g_opt.port = (int)parse_long(arg, "-p"); g_opt.port_set = 1; break;
	case 'a': g_opt.unix_mask = strtoul(arg, NULL, 8); break;
	case 't':
		g_opt.threads = (int)parse_long(arg, "-t");
		if (g_opt.threads < 1 || g_opt.threads > PLMCD_MAX_THREADS)
			die("%s: number of threads must be 1 to 256", "-t");
		break;
	case 'c':
		g_opt.maxconns = (int)parse_long(arg, "-c");
		if (g_opt.maxconns < 1)
			die("%s: maximum connections must be greater than 0", "-c");
		break;
	case 'R':
		g_opt.reqs_per_event = (int)parse_long(arg, "-R");
		if (g_opt.reqs_per_event < 1)
			die("%s: number of requests per event must be greater than 0", "-R");
		break;
	case 'b': g_opt.backlog = (int)parse_long(arg, "-b"); break;
	case 'U':
		if (strcmp(arg, "0"))
			refuse("-U with a port", "no UDP (use -U 0)");
		break;
	case 'I': /* checked with -m and slab_chunk_max at the end */
		g_opt.item_max = parse_size(arg, "-I");
		break;
	case 'f':
		g_opt.factor = strtod(arg, NULL);
		if (!(g_opt.factor >= 1.01 && g_opt.factor <= 4.0))
			die("%s: a growth factor from 1.01 to 4", "-f");
		break;
	case OPT_SLAB_MIN:
		g_opt.slab_min = (uint32_t)parse_size(arg, "--slab-min-size");
		break;
	}
}

/*
 * memcached's rules: -S speaks only the binary protocol (and picks it
 * when -B is not given), -Y only the text one; neither with UDP.
 */
static void auth_opts(void)
{
	if (g_opt.sasl && g_opt.auth_file)
		die("%s", "-S and -Y: SASL is binary only, the auth file text "
			  "only; pick one");
	if (g_opt.sasl) {
		if (!g_opt.proto_set)
			g_opt.proto = PROTO_BINARY;
		else if (g_opt.proto != PROTO_BINARY)
			die("%s", "ERROR: You cannot allow the ASCII protocol "
				  "while using SASL.");
	}
	if (g_opt.auth_file) {
		if (!g_opt.proto_set)
			g_opt.proto = PROTO_ASCII;
		else if (g_opt.proto != PROTO_ASCII)
			die("%s", "ERROR: You cannot allow the BINARY protocol "
				  "while using ascii authentication tokens.");
	}
}

/*
 * -I against -m and slab_chunk_max: memcached's checks, in its order,
 * with its words and exit code (so -m 0 and -m 1 are refused with the
 * default -I of 1m, and -I below 512k needs a smaller slab_chunk_max, as
 * there); then the store's own limit, 1 MiB an item.
 */
static void opts_check_sizes(void)
{
	long item = g_opt.item_max ? (long)g_opt.item_max : 1024 * 1024;

	if (item < 1024)
		usage_error(EX_USAGE_MC, "Item max size cannot be less than "
					 "1024 bytes.\n", 0, 0);
	if ((uint64_t)item > (g_opt.mb << 20) / 2)
		usage_error(EX_USAGE_MC, "Cannot set item size limit higher "
					 "than 1/2 of memory max.\n", 0, 0);
	if (chunk_max > item)
		usage_error(EX_USAGE_MC, "slab_chunk_max (bytes: %ld) cannot "
					 "be larger than -I (item_size_max "
					 "%ld)\n", chunk_max, item);
	if (item % chunk_max)
		usage_error(EX_USAGE_MC, "-I (item_size_max: %ld) must be "
					 "evenly divisible by slab_chunk_max "
					 "(bytes: %ld)\n", item, chunk_max);
	if ((1024 * 1024) % chunk_max)
		usage_error(EX_USAGE_MC, "slab_chunk_max (bytes: %ld) must "
					 "divide evenly into %ld "
					 "(slab_page_size)\n", chunk_max,
			    1024 * 1024);
	if (item > PLMC_ITEM_MAX) {
		fprintf(stderr, "plmcd: -I %ld: the store's items are at most "
			"%d bytes (1m)\n", item, PLMC_ITEM_MAX);
		exit(EX_USAGE_MC);
	}
}

void opts_parse(int argc, char **argv)
{
	const char *shortopts = "n:a:AZp:s:U:m:Mc:khiVrvdl:u:P:f:t:D:LR:Cb:B:I:SFXWY:e:o:N:";
	int c;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (parse_flag(c, optarg) == 0)
			continue;
		switch (c) {
		case 'n': g_opt.store = optarg; break;
		case 'l': g_opt.addr = optarg; break;
		case 's': g_opt.unix_path = optarg; break;
		case 'u': g_opt.user = optarg; break;
		case 'P': g_opt.pidfile = optarg; break;
		case 'v':
			g_opt.verbose++;
			if (optarg) /* --verbose=N */
				g_opt.verbose = (int)parse_long(optarg, "-v");
			break;
		case 'o': ext_options(optarg); break;
		case 'h': usage(stdout); exit(0);
		case 'V': /* memcached's line, then the plmc release */
			printf("plmcd " PLMCD_VERSION " (plmc " PLMC_VERSION ")\n");
			exit(0);
		case 'i':
			printf("plmcd is MIT licensed (see the plmc source "
			       "tree's LICENSE).\n");
			exit(0);
		case '?': usage(stderr); exit(2);
		default: parse_number_flag(c, optarg);
		}
	}
	if (g_opt.unix_path && !g_opt.port_set)
		g_opt.port = 0; /* memcached: -s disables network support */
	if (optind != argc)
		die("%s: unexpected argument", argv[optind]);
	/* -1: a port the kernel picks (memcached's; the port file says
	 * which). 0 and no -s: no listener at all, as memcached allows. */
	if (g_opt.port < -1 || g_opt.port > 65535)
		die("%s: a port from 0 to 65535, or -1", "-p");
	if (g_opt.unix_mask > 0777)
		die("%s: an octal mask up to 777", "-a");
	if (g_opt.debug_time && g_opt.store)
		die("%s: only on a store of plmcd's own (no -n)", "-o debug_time");
	opts_check_sizes();
	/* The test image's store (-o debug_time) asks for one MiB more
	 * (main.c, create_store): there -m 3 is a store of 4. */
	if (g_opt.mb + !!g_opt.debug_time < 4) {
		fprintf(stderr, "plmcd: -m %llu: a store is at least 4 MiB; "
			"using 4\n", (unsigned long long)g_opt.mb);
		g_opt.mb = 4;
	}
	auth_opts();
	if (g_opt.slab_reassign == 0 && g_opt.slab_automove)
		g_opt.slab_reassign = 1; /* memcached: automove implies it */
}
