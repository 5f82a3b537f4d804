/* SPDX-License-Identifier: MIT */
/*
 * plbench - one load generator for every contender.
 *
 * The same workload code drives plmc directly (calls through the gate) and
 * memcached-protocol servers (memcached, plmcd) over TCP or a Unix socket
 * with a small text-protocol client, so the numbers differ only by the path.
 *
 * Closed loop by default: each thread issues its next request when the last
 * one answered; latency is per operation, measured with the TSC (calibrated
 * against CLOCK_MONOTONIC). With --rate, each thread follows a fixed
 * schedule and latency is measured from the scheduled start, so a stall is
 * charged to every request it delayed (no coordinated omission).
 *
 * Processes share one results area (MAP_SHARED before fork); each thread
 * keeps its own histogram and merges it at the end.
 *
 * Output: one line of key=value pairs (for scripts) and, with --human, a
 * readable summary.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <valgrind/callgrind.h>

#include "plmc.h"
#include "hist.h"
#include "mcproto.h"
#include "local.h"

enum target_kind { T_PLMC, T_TCP, T_UNIX, T_BARE, T_LMDB, T_NULL };

#define IS_SOCK() (o.kind == T_TCP || o.kind == T_UNIX)
#define IS_LOCAL() (o.kind == T_BARE || o.kind == T_LMDB || o.kind == T_NULL)

struct opts {
	enum target_kind kind;
	char target[256];
	int threads, procs;
	uint64_t ops;       /* per thread */
	double seconds;     /* or run for this long */
	uint64_t keys;
	size_t vsize;
	int get_pct;        /* reads, percent */
	int zipf;
	double theta;
	int mget;           /* keys per multi-get; 0 = single gets */
	int pipeline;       /* protocol targets: send the --mget keys as
			     * pipelined single gets, not one multi-get */
	double rate;        /* per-thread ops/s for open loop; 0 = closed */
	int load;           /* store every key before the run */
	int nop;            /* plmc: empty gate round trips only */
	int memstats;       /* report the store's items and item bytes */
	int callgrind;      /* count only the operations (run under
			     * valgrind --tool=callgrind --collect-atstart=no) */
	int human;
	const char *label;
};

static struct opts o = {
	.kind = T_PLMC, .threads = 1, .procs = 1, .ops = 100000, .keys = 10000,
	.vsize = 32, .get_pct = 95, .theta = 0.99, .pipeline = 0,
	.label = "run",
};

/* Results shared by all processes. */
struct shared {
	_Atomic uint64_t ops, gets, hits, sets, errors;
	_Atomic uint64_t ns_total; /* sum of per-thread wall time */
	pthread_mutex_t lock;      /* PTHREAD_PROCESS_SHARED: guards hist */
	struct hist hist;
	_Atomic int ready;
	_Atomic int go;
};
static struct shared *sh;

static double tsc_per_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void calibrate_tsc(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc();
	struct timespec d = { 0, 50 * 1000 * 1000 };

	nanosleep(&d, NULL);
	tsc_per_ns = (double)(__rdtsc() - c0) / (double)(now_ns() - t0);
}

/* Zipfian ranks over [0, n), by the closed form of Gray et al. */
struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};

static double zeta(uint64_t n, double theta)
{
	double s = 0;

	for (uint64_t i = 1; i <= n; i++)
		s += 1.0 / pow((double)i, theta);
	return s;
}

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = zeta(2, theta);

	z->n = n;
	z->theta = theta;
	z->alpha = 1.0 / (1.0 - theta);
	z->zetan = zeta(n, theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) /
		 (1.0 - zeta2 / z->zetan);
	z->half_pow = 1.0 + pow(0.5, theta);
}

static uint64_t zipf_next(const struct zipf *z, double u)
{
	double uz = u * z->zetan;

	if (uz < 1.0)
		return 0;
	if (uz < z->half_pow)
		return 1;
	return (uint64_t)((double)z->n *
			  pow(z->eta * u - z->eta + 1.0, z->alpha)) % z->n;
}

/* xorshift64*: per-thread, cheap, good enough for key choice. */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static inline double rnd01(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* Keys are scattered so hot ranks do not share a prefix. Hand-rolled hex:
 * sprintf here cost more than a whole plmc get. */
static int key_of(uint64_t rank, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = rank * 0x9E3779B97F4A7C15ull;

	memcpy(buf, "key:", 4);
	for (int i = 15; i >= 0; i--, h >>= 4)
		buf[4 + i] = hex[h & 15];
	buf[20] = 0;
	return 20;
}

static struct zipf zf;

static uint64_t pick(uint64_t *seed)
{
	if (o.zipf)
		return zipf_next(&zf, rnd01(seed));
	return rnd(seed) % o.keys;
}

/* One connection or the library: the operations a worker needs. */
struct client {
	struct mc_conn mc;
	char *val;   /* value to store */
	char *buf;   /* value read back */
	size_t bufsz;
};

static int client_open(struct client *c)
{
	c->val = malloc(o.vsize ? o.vsize : 1);
	c->bufsz = (o.vsize + 64) * (o.mget ? o.mget : 1) + 4096;
	c->buf = malloc(c->bufsz);
	if (!c->val || !c->buf)
		return -ENOMEM;
	memset(c->val, 'v', o.vsize);
	if (!IS_SOCK())
		return 0;
	return mc_connect(&c->mc, o.kind == T_UNIX, o.target);
}

static void client_close(struct client *c)
{
	if (IS_SOCK())
		mc_close(&c->mc);
	free(c->val);
	free(c->buf);
}

/* Return 1 on hit, 0 on miss, < 0 on error. Not inlined: callgrind
 * counts the operations alone by these names (bench/profile.sh). */
static __attribute__((noinline)) int do_get(struct client *c, const char *k, int klen)
{
	size_t vlen;
	uint32_t fl;
	uint64_t cas;
	int rc;

	if (o.kind == T_NULL) /* callgrind's own cost, subtracted */
		return 0;
	if (o.kind == T_BARE)
		return bare_get(k, (size_t)klen, c->buf, c->bufsz);
	if (o.kind == T_LMDB)
		return lmdb_get(k, (size_t)klen, c->buf, c->bufsz);
	if (o.kind != T_PLMC)
		return mc_get(&c->mc, k, klen, c->buf, c->bufsz);
	rc = plmc_get(k, klen, c->buf, c->bufsz, &vlen, &fl, &cas);
	if (rc == PLMC_OK)
		return 1;
	return rc == PLMC_NOT_FOUND ? 0 : -1;
}

static __attribute__((noinline)) int do_set(struct client *c, const char *k,
					  int klen)
{
	if (o.kind == T_NULL)
		return 0;
	if (o.kind == T_BARE)
		return bare_set(k, (size_t)klen, c->val, o.vsize);
	if (o.kind == T_LMDB)
		return lmdb_set(k, (size_t)klen, c->val, o.vsize);
	if (o.kind != T_PLMC)
		return mc_set(&c->mc, k, klen, c->val, o.vsize);
	return plmc_set(k, klen, c->val, o.vsize, 0, 0) == PLMC_STORED ? 0
									: -1;
}

/* plmc: the keys in one call (one gate crossing per PLMC_MGET_MAX). */
static int plmc_mget_all(struct client *c, char (*keys)[40], int *lens)
{
	struct plmc_mget m[128];
	size_t slot = c->bufsz / (size_t)o.mget;
	int hits = 0;

	for (int i = 0; i < o.mget; i++)
		m[i] = (struct plmc_mget){ .key = keys[i], .klen = lens[i],
					   .buf = c->buf + i * slot,
					   .buflen = slot };
	if (plmc_mget(m, (size_t)o.mget) < 0)
		return -1;
	for (int i = 0; i < o.mget; i++)
		hits += m[i].rc == PLMC_OK;
	return hits;
}

/* A multi-get of o.mget keys: hits returned, < 0 on error. */
/* bare and lmdb: single gets in a loop (no multi-get of their own). */
static int local_mget(struct client *c, char (*keys)[40], int *lens)
{
	size_t slot = c->bufsz / (size_t)o.mget;
	int hits = 0, r;

	for (int i = 0; i < o.mget; i++) {
		char *b = c->buf + i * slot;

		r = o.kind == T_BARE ? bare_get(keys[i], lens[i], b, slot)
				     : lmdb_get(keys[i], lens[i], b, slot);
		if (r < 0)
			return -1;
		hits += r;
	}
	return hits;
}

static __attribute__((noinline)) int do_mget(struct client *c,
					   char (*keys)[40], int *lens)
{
	if (o.kind == T_NULL)
		return 0;
	if (o.kind == T_BARE || o.kind == T_LMDB)
		return local_mget(c, keys, lens);
	if (o.kind != T_PLMC && o.pipeline)
		return mc_pipe_get(&c->mc, keys, lens, o.mget, c->buf,
				   c->bufsz);
	if (o.kind != T_PLMC)
		return mc_mget(&c->mc, keys, lens, o.mget, c->buf, c->bufsz);
	return plmc_mget_all(c, keys, lens);
}

struct worker {
	int id;
	uint64_t seed;
	struct hist hist;
	uint64_t ops, gets, hits, sets, errors;
};

static void one_op(struct worker *w, struct client *c)
{
	char key[40];
	int klen, r;

	if (o.nop) {
		if (plmc_nop() < 0)
			w->errors++;
		return;
	}
	if (o.mget) {
		char keys[128][40];
		int lens[128];

		for (int i = 0; i < o.mget; i++)
			lens[i] = key_of(pick(&w->seed), keys[i]);
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		r = do_mget(c, keys, lens);
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		w->gets += o.mget;
		if (r < 0)
			w->errors++;
		else
			w->hits += r;
		return;
	}
	klen = key_of(pick(&w->seed), key);
	if ((int)(rnd(&w->seed) % 100) < o.get_pct) {
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		r = do_get(c, key, klen);
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		w->gets++;
		if (r > 0)
			w->hits++;
	} else {
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		r = do_set(c, key, klen);
		if (o.callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		w->sets++;
	}
	if (r < 0)
		w->errors++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct client c = { 0 };
	uint64_t t0, t1, start, deadline, period = 0, next;

	if (client_open(&c) < 0) {
		w->errors++;
		return NULL;
	}
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		;
	if (o.rate > 0)
		period = (uint64_t)(1e9 / o.rate * tsc_per_ns);
	start = __rdtsc();
	next = start;
	deadline = o.seconds > 0 ? start + (uint64_t)(o.seconds * 1e9 *
						      tsc_per_ns)
				 : UINT64_MAX;
	for (uint64_t i = 0; o.seconds > 0 || i < o.ops; i++) {
		if (period) {
			while (__rdtsc() < next)
				;
			t0 = next;
			next += period;
		} else {
			t0 = __rdtsc();
		}
		one_op(w, &c);
		t1 = __rdtsc();
		hist_add(&w->hist, (uint64_t)((double)(t1 - t0) / tsc_per_ns));
		w->ops++;
		if (t1 >= deadline)
			break;
	}
	atomic_fetch_add(&sh->ns_total,
			 (uint64_t)((double)(__rdtsc() - start) / tsc_per_ns));
	client_close(&c);
	return NULL;
}

static void merge(struct worker *w)
{
	atomic_fetch_add(&sh->ops, w->ops);
	atomic_fetch_add(&sh->gets, w->gets);
	atomic_fetch_add(&sh->hits, w->hits);
	atomic_fetch_add(&sh->sets, w->sets);
	atomic_fetch_add(&sh->errors, w->errors);
	pthread_mutex_lock(&sh->lock);
	hist_merge(&sh->hist, &w->hist);
	pthread_mutex_unlock(&sh->lock);
}

static int attach_target(void)
{
	int rc;

	if (o.kind == T_BARE)
		return bare_open(o.keys);
	if (o.kind == T_LMDB)
		return lmdb_open(o.target);
	if (o.kind != T_PLMC)
		return 0;
	rc = plmc_attach(o.target, PLMC_USE_AUTO);
	if (rc < 0)
		fprintf(stderr, "plbench: attach %s: %s\n", o.target,
			plmc_strerror(rc));
	return rc;
}

/* Store every key once so reads hit. */
static int preload(void)
{
	struct client c = { 0 };
	char key[40];
	int rc = client_open(&c);

	for (uint64_t i = 0; rc == 0 && i < o.keys; i++) {
		int klen = key_of(i, key);

		rc = do_set(&c, key, klen) < 0 ? -EIO : 0;
	}
	client_close(&c);
	if (rc)
		fprintf(stderr, "plbench: preload failed\n");
	return rc;
}

static void run_process(int p)
{
	pthread_t tid[256];
	struct worker *w = calloc(o.threads, sizeof(*w));

	if (!w || attach_target() < 0)
		_exit(1);
	/* The bare table lives in this process only: fill it here, untimed. */
	if (o.kind == T_BARE && o.load && preload())
		_exit(1);
	for (int t = 0; t < o.threads; t++) {
		w[t].id = p * o.threads + t;
		w[t].seed = 0x9E3779B97F4A7C15ull * (w[t].id + 1) | 1;
		pthread_create(&tid[t], NULL, worker_main, &w[t]);
	}
	for (int t = 0; t < o.threads; t++) {
		pthread_join(tid[t], NULL);
		merge(&w[t]);
	}
	_exit(0);
}

static int parse_target(const char *s)
{
	if (!strncmp(s, "plmc:", 5))
		o.kind = T_PLMC, s += 5;
	else if (!strncmp(s, "tcp:", 4))
		o.kind = T_TCP, s += 4;
	else if (!strncmp(s, "unix:", 5))
		o.kind = T_UNIX, s += 5;
	else if (!strncmp(s, "null:", 5))
		o.kind = T_NULL, s = "none"; /* no operation: calibration */
	else if (!strncmp(s, "bare:", 5))
		o.kind = T_BARE, s = "heap"; /* nothing to name */
	else if (!strncmp(s, "lmdb:", 5))
		o.kind = T_LMDB, s += 5;
	else
		return -1;
	snprintf(o.target, sizeof(o.target), "%s", s);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: plbench --target plmc:NAME|tcp:HOST:PORT|unix:PATH|bare:|lmdb:DIR\n"
		"  [--threads N] [--procs N] [--ops N | --seconds S]\n"
		"  [--keys N] [--value-size B] [--get-pct P] [--zipf THETA]\n"
		"  [--mget N [--pipeline]] [--rate OPS_PER_THREAD]\n"
		"  [--load] [--nop] [--memstats] [--label NAME] [--human]\n"
		"  [--callgrind]  (count the operations only, under callgrind)\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", 1, 0, 'T' },   { "threads", 1, 0, 't' },
		{ "procs", 1, 0, 'p' },    { "ops", 1, 0, 'n' },
		{ "seconds", 1, 0, 's' },  { "keys", 1, 0, 'k' },
		{ "value-size", 1, 0, 'v' }, { "get-pct", 1, 0, 'g' },
		{ "zipf", 1, 0, 'z' },     { "mget", 1, 0, 'm' },
		{ "pipeline", 0, 0, 'P' }, { "rate", 1, 0, 'r' },
		{ "load", 0, 0, 'l' },     { "label", 1, 0, 'L' },
		{ "human", 0, 0, 'h' },    { "nop", 0, 0, 'N' },
		{ "memstats", 0, 0, 'M' }, { "callgrind", 0, 0, 'C' },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'T': if (parse_target(optarg)) usage(); break;
		case 't': o.threads = atoi(optarg); break;
		case 'p': o.procs = atoi(optarg); break;
		case 'n': o.ops = strtoull(optarg, NULL, 0); break;
		case 's': o.seconds = atof(optarg); break;
		case 'k': o.keys = strtoull(optarg, NULL, 0); break;
		case 'v': o.vsize = strtoull(optarg, NULL, 0); break;
		case 'g': o.get_pct = atoi(optarg); break;
		case 'z': o.zipf = 1; o.theta = atof(optarg); break;
		case 'm': o.mget = atoi(optarg); break;
		case 'P': o.pipeline = 1; break;
		case 'r': o.rate = atof(optarg); break;
		case 'l': o.load = 1; break;
		case 'L': o.label = optarg; break;
		case 'h': o.human = 1; break;
		case 'N': o.nop = 1; break;
		case 'M': o.memstats = 1; break;
		case 'C': o.callgrind = 1; break;
		default: usage();
		}
	}
	if (!o.target[0] || o.threads < 1 || o.threads > 256 || o.procs < 1 ||
	    o.keys < 1 || o.get_pct < 0 || o.get_pct > 100 || o.mget < 0 ||
	    o.mget > 128 || (o.pipeline && !o.mget) ||
	    (o.nop && o.kind != T_PLMC) || (o.zipf && (o.theta <= 0 || o.theta >= 1)))
		usage();
}

/* Items and the bytes the store counts for them, in a child process (the
 * parent never attaches: its children each do). */
static void mem_report(void)
{
	unsigned long long items = 0, bytes = 0;
	struct mc_conn *mc;
	struct plmc_stats st = { .size = sizeof(st) };

	if (IS_LOCAL())
		return; /* no store statistics to ask */
	if (o.kind == T_PLMC) {
		if (attach_target() < 0 || plmc_stats(&st) < 0)
			return;
		items = st.curr_items;
		bytes = st.bytes;
	} else {
		mc = malloc(sizeof(*mc));
		if (!mc || mc_connect(mc, o.kind == T_UNIX, o.target) < 0 ||
		    mc_stats_mem(mc, &items, &bytes) < 0)
			return;
		mc_close(mc);
		free(mc);
	}
	printf("label=%s items=%llu item_bytes=%llu bytes_per_item=%.1f "
	       "payload_per_item=%zu\n", o.label, items, bytes,
	       items ? (double)bytes / (double)items : 0.0, 20 + o.vsize);
	fflush(stdout); /* the caller leaves with _exit */
}

static void report(void)
{
	uint64_t ops = sh->ops;
	double wall_s = (double)sh->ns_total / 1e9 / (o.threads * o.procs);
	double tput = wall_s > 0 ? (double)ops / wall_s : 0;

	printf("label=%s target=%s threads=%d procs=%d keys=%llu vsize=%zu "
	       "get_pct=%d dist=%s mget=%d ops=%llu errors=%llu hit_pct=%.1f "
	       "ops_per_s=%.0f p50_ns=%llu p99_ns=%llu p999_ns=%llu "
	       "mean_ns=%.0f mean_cycles=%.0f\n",
	       o.label, o.target, o.threads, o.procs,
	       (unsigned long long)o.keys, o.vsize, o.get_pct,
	       o.zipf ? "zipf" : "uniform", o.mget, (unsigned long long)ops,
	       (unsigned long long)sh->errors,
	       sh->gets ? 100.0 * sh->hits / sh->gets : 0.0, tput,
	       (unsigned long long)hist_pct(&sh->hist, 50.0),
	       (unsigned long long)hist_pct(&sh->hist, 99.0),
	       (unsigned long long)hist_pct(&sh->hist, 99.9),
	       hist_mean(&sh->hist), hist_mean(&sh->hist) * tsc_per_ns);
	if (o.human)
		fprintf(stderr, "%s: %.0f ops/s, p50 %llu ns, p99 %llu ns\n",
			o.label, tput,
			(unsigned long long)hist_pct(&sh->hist, 50.0),
			(unsigned long long)hist_pct(&sh->hist, 99.0));
}

int main(int argc, char **argv)
{
	pthread_mutexattr_t ma;
	int status, failed = 0;

	parse_args(argc, argv);
	calibrate_tsc();
	if (o.zipf)
		zipf_init(&zf, o.keys, o.theta);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->lock, &ma);
	if (o.load && o.kind != T_BARE && o.kind != T_NULL) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(attach_target() < 0 || preload() ? 1 : 0);
		if (waitpid(pid, &status, 0) < 0 || status != 0)
			return 1;
	}
	for (int p = 0; p < o.procs; p++)
		if (fork() == 0)
			run_process(p);
	while (atomic_load(&sh->ready) < o.threads * o.procs) {
		if (waitpid(-1, &status, WNOHANG) > 0) {
			fprintf(stderr, "plbench: a client failed to start\n");
			return 1;
		}
		usleep(1000);
	}
	atomic_store(&sh->go, 1);
	for (int p = 0; p < o.procs; p++)
		if (wait(&status) < 0 || status != 0)
			failed = 1;
	report();
	if (o.memstats) {
		fflush(stdout);
		if (fork() == 0) {
			mem_report();
			_exit(0);
		}
		wait(&status);
	}
	return failed || sh->errors ? 1 : 0;
}
