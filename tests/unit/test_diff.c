// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_diff.c - plmc's API against Debian's memcached 1.6.18:
 * the same seeded random stream of commands to both, every answer
 * compared.
 *
 * memcached is started by the test on a Unix socket (text protocol).
 * plmc's answers are rendered in memcached's reply words, so the
 * comparison is one string compare per command. CAS uniques differ by
 * design: each side's "gets" unique is remembered per key and each side
 * gets its own in "cas"; the numbers are masked in the comparison.
 * Time: memcached runs under libfaketime (Debian's libfaketime, its
 * offset in a file), so the stream can move both clocks forward by 500 s
 * at once (plmc_clock_advance on our side) and then compare expiry:
 * relative exptimes of 100 and 1000 s, absolute ones 300 and 3000 s
 * ahead, touch/gat to those, flush_all with a 700 s delay. Every
 * deadline is far from every step, so the two clocks' phases (memcached
 * ticks once a second) cannot matter. The first CLOCK_SEEDS seeds move
 * the clock (each move waits up to a second for memcached's tick);
 * without libfaketime, expiry is only "never" or "already".
 * Numbers stay below 2^63: memcached 1.6.18 looks for a '-' in a value
 * >= 2^63 with strchr, past the value's end into whatever the slab
 * chunk holds, so its answer there depends on stale memory (plmc looks
 * only at the number; tests/unit/test_cmds.c covers 2^64 - 1 and the
 * wrap). Its LRU crawler and maintainer are off: a background reference
 * to an item makes incr/decr rebuild it instead of rewriting it in place
 * (the padding differs).
 * Skips (passes, with a message) if memcached is not installed.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include "util.h"

#define MEMCACHED "/usr/bin/memcached"
#define FAKETIME  "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#define CLOCK_SEEDS 3
#define CLOCK_STEP  500
#define NKEYS	  24
#define NOPS	  20000
#define VMAX	  1500
#define VBIG	  (1 << 20) /* the max item size, default */

static pid_t mc_pid;
static char ft_file[108]; /* libfaketime's offset, "" if not in use */
static long ft_off;	  /* seconds both clocks were moved */
static int mc_fd = -1;
static char mc_sock[108];
static char rbuf[1 << 23];
static size_t rlen;

static int mc_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), i;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", mc_sock);
	for (i = 0; i < 200; i++) {
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		usleep(10000);
	}
	close(fd);
	return -1;
}

/*
 * Neither side may evict: the stream holds at most NKEYS items (1 MiB at
 * most each), and memcached's pages stay with the class that took them,
 * so it gets 1 GiB (allocated as used) and plmc a 256 MiB store.
 */
static void start_both(uint64_t store_mb, const char *mc_mb, int quiet)
{
	int rc;

	ut_make_name("diff");
	rc = plmc_create(ut_name, store_mb << 20, 0600, PLMC_USE_AUTO);
	ck_assert_msg(rc == 0, "create: %s", plmc_strerror(rc));
	rc = plmc_attach(ut_name, PLMC_USE_AUTO);
	ck_assert_msg(rc == 0, "attach: %s", plmc_strerror(rc));
	if (access(MEMCACHED, X_OK))
		return;
	snprintf(mc_sock, sizeof(mc_sock), "/tmp/plmc-diff-%d.sock",
		 (int)getpid());
	unlink(mc_sock);
	ft_file[0] = 0;
	if (!access(FAKETIME, R_OK)) {
		FILE *f;

		snprintf(ft_file, sizeof(ft_file), "/tmp/plmc-diff-%d.ft",
			 (int)getpid());
		f = fopen(ft_file, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f, "+0\n");
		fclose(f);
		ft_off = 0;
	}
	mc_pid = fork();
	ck_assert_int_ge(mc_pid, 0);
	if (!mc_pid) {
		/* A failed check exits without teardown: take memcached
		 * along. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (ft_file[0]) {
			setenv("LD_PRELOAD", FAKETIME, 1);
			setenv("FAKETIME_TIMESTAMP_FILE", ft_file, 1);
			setenv("FAKETIME_NO_CACHE", "1", 1);
		}
		if (quiet)
			execl(MEMCACHED, "memcached", "-u", "root", "-s",
			      mc_sock, "-m", mc_mb, "-o",
			      "no_lru_crawler,no_lru_maintainer", (char *)NULL);
		else /* its page mover needs the LRU maintainer */
			execl(MEMCACHED, "memcached", "-u", "root", "-s",
			      mc_sock, "-m", mc_mb, (char *)NULL);
		_exit(127);
	}
	mc_fd = mc_connect();
	ck_assert_msg(mc_fd >= 0, "cannot connect to memcached at %s", mc_sock);
}

static void setup(void)
{
	start_both(256, "1024", 1);
}

static void teardown(void)
{
	if (mc_fd >= 0)
		close(mc_fd);
	/* SIGKILL: under libfaketime, memcached's event loop may wait on a
	 * timer set in its moved clock. The offset file goes after it. */
	if (mc_pid > 0) {
		kill(mc_pid, SIGKILL);
		waitpid(mc_pid, NULL, 0);
	}
	if (ft_file[0])
		unlink(ft_file);
	unlink(mc_sock);
	ut_store_down();
}

static void mc_send(const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = write(mc_fd, s, n);

		ck_assert_int_gt(w, 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Read until the reply is whole: one line, or through "END\r\n". */
static const char *mc_reply(int multi)
{
	rlen = 0;
	for (;;) {
		ssize_t r;

		rbuf[rlen] = 0;
		if (rlen >= 2 && !strcmp(rbuf + rlen - 2, "\r\n") &&
		    (!multi ||
		     (rlen >= 5 && !strcmp(rbuf + rlen - 5, "END\r\n"))))
			return rbuf;
		ck_assert_uint_lt(rlen, sizeof(rbuf) - 1);
		r = read(mc_fd, rbuf + rlen, sizeof(rbuf) - 1 - rlen);
		ck_assert_int_gt(r, 0);
		rlen += (size_t)r;
	}
}

/* memcached's reply text for a plmc status. */
static const char *word(int rc)
{
	switch (rc) {
	case PLMC_STORED:
		return "STORED";
	case PLMC_NOT_STORED:
		return "NOT_STORED";
	case PLMC_EXISTS:
		return "EXISTS";
	case PLMC_NOT_FOUND:
		return "NOT_FOUND";
	case PLMC_DELETED:
		return "DELETED";
	case PLMC_TOUCHED:
		return "TOUCHED";
	case PLMC_OK:
		return "OK";
	case PLMC_E_NONNUMERIC:
		return "CLIENT_ERROR cannot increment or decrement "
		       "non-numeric value";
	case PLMC_E_TOOBIG:
		return "SERVER_ERROR object too large for cache";
	}
	return plmc_strerror(rc);
}

struct out {
	char s[1 << 23];
	size_t n;
};

static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o->n += (size_t)vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
	va_end(ap);
	ck_assert_uint_lt(o->n, sizeof(o->s));
}

static void outb(struct out *o, const void *p, size_t n)
{
	ck_assert_uint_lt(o->n + n, sizeof(o->s));
	memcpy(o->s + o->n, p, n);
	o->n += n;
}

/* Replace every CAS number after "VALUE k f n " with "C" (in place). */
static void mask_cas(char *s)
{
	char *p = s;

	while ((p = strstr(p, "VALUE "))) {
		char *eol = strstr(p, "\r\n"), *q = p;
		int sp = 0;

		ck_assert_ptr_nonnull(eol);
		while (q < eol && sp < 4)
			sp += *q++ == ' ';
		if (sp == 4 && q < eol) {
			memmove(q + 1, eol, strlen(eol) + 1);
			*q = 'C';
			eol = q + 1;
		}
		p = eol;
	}
}

struct state {
	unsigned seed;
	uint64_t cas_mc[NKEYS], cas_pl[NKEYS];
	char key[NKEYS][256];
	char *val; /* VBIG + 64 bytes */
	int clock;  /* this seed moves the clocks */
	int dflush; /* a delayed flush_all comes next */
};


static unsigned rnd(struct state *s, unsigned n)
{
	return (unsigned)rand_r(&s->seed) % n;
}

/* A value: often a number (with the odd space or sign), else bytes; 1 in
 * 100 a value within 2 bytes of the largest item memcached takes for
 * this key and these flags (its rule: 59 + key + value, + 4 with flags). */
static size_t mkval(struct state *s, size_t klen, uint32_t fl)
{
	static const char *const nums[] = {
		"0",  "1",  "99",    "100", "4611686018427387904",  " 42", "7 ",
		"-0", "-3", "12abc", "",    "18446744073709551616", "+5"};
	size_t n, i;

	if (rnd(s, 3) == 0) {
		const char *v = nums[rnd(s, sizeof(nums) / sizeof(nums[0]))];

		n = strlen(v);
		memcpy(s->val, v, n);
		return n;
	}
	if (rnd(s, 100) == 0)
		n = VBIG - 59 - klen - (fl ? 4 : 0) - 2 + rnd(s, 5);
	else
		n = rnd(s, 4) ? rnd(s, 64) : rnd(s, VMAX);
	for (i = 0; i < n; i++)
		s->val[i] = (char)('!' + rnd(s, 90));
	return n;
}

/*
 * An exptime: usually 0, else "already expired", and with the clock
 * moving also 100 / 1000 s relative or 300 / 3000 s absolute (now is
 * the shared fake time: real time plus both clocks' offset).
 */
static int32_t pick_exp(struct state *s, unsigned one_in)
{
	long now = (long)time(NULL) + ft_off;

	if (rnd(s, one_in))
		return 0;
	if (!s->clock)
		return -1;
	switch (rnd(s, 5)) {
	case 0:
		return -1;
	case 1:
		return 100;
	case 2:
		return 1000;
	case 3:
		return (int32_t)(now + 300);
	}
	return (int32_t)(now + 3000);
}

/* memcached's own clock ("stats" time), in its fake seconds. */
static long mc_time(void)
{
	const char *p;

	mc_send("stats\r\n", 7);
	p = strstr(mc_reply(1), "STAT time ");
	ck_assert_ptr_nonnull(p);
	return atol(p + 10);
}

/* Both clocks CLOCK_STEP seconds on; wait for memcached's next tick. */
static void clock_step(void)
{
	FILE *f = fopen(ft_file, "w");
	int i;

	ck_assert_ptr_nonnull(f);
	ft_off += CLOCK_STEP;
	fprintf(f, "+%ld\n", ft_off);
	fclose(f);
	ut_rc(plmc_clock_advance(CLOCK_STEP), PLMC_OK);
	for (i = 0; i < 60 && mc_time() < (long)time(NULL) + ft_off - 1; i++)
		usleep(50000);
	ck_assert_msg(i < 60, "memcached's clock did not follow libfaketime");
}

/* "VALUE key flags len cas" + data, as memcached prints a hit. */
static void out_value(struct out *o, const char *k, uint32_t fl, const void *v,
		      size_t n, int with_cas)
{
	outf(o, "VALUE %s %u %zu", k, fl, n);
	if (with_cas)
		outf(o, " C");
	outf(o, "\r\n");
	outb(o, v, n);
	outf(o, "\r\n");
}

/* One storage command on both sides; fills @pl with plmc's answer. */
static void do_store(struct state *s, int k, struct out *pl, struct out *mc)
{
	static const char *const cmd[] = {"set",    "add",     "replace",
					  "append", "prepend", "cas"};
	int c = (int)rnd(s, 6), rc;
	const char *key = s->key[k];
	uint32_t fl = rnd(s, 4) ? 0 : (uint32_t)rand_r(&s->seed);
	int32_t exp = pick_exp(s, 20);
	uint64_t cmc = s->cas_mc[k], cpl = s->cas_pl[k];
	size_t n;

	if (c >= 3 && c <= 4)
		fl = 0, exp = 0; /* ignored by memcached: keep them equal */
	n = mkval(s, strlen(key), fl);
	if (c == 5 && rnd(s, 4) == 0)
		cmc = cpl = 1; /* a unique neither side has given out */
	if (c == 5)
		outf(mc, "cas %s %u %d %zu %llu\r\n", key, fl, exp, n,
		     (unsigned long long)cmc);
	else
		outf(mc, "%s %s %u %d %zu\r\n", cmd[c], key, fl, exp, n);
	outb(mc, s->val, n);
	outf(mc, "\r\n");
	switch (c) {
	case 0:
		rc = plmc_set(key, strlen(key), s->val, n, fl, exp);
		break;
	case 1:
		rc = plmc_add(key, strlen(key), s->val, n, fl, exp);
		break;
	case 2:
		rc = plmc_replace(key, strlen(key), s->val, n, fl, exp);
		break;
	case 3:
		rc = plmc_append(key, strlen(key), s->val, n);
		break;
	case 4:
		rc = plmc_prepend(key, strlen(key), s->val, n);
		break;
	default:
		rc = plmc_cas(key, strlen(key), s->val, n, fl, exp, cpl);
	}
	outf(pl, "%s\r\n", word(rc));
}

static void do_delta(struct state *s, int k, struct out *pl, struct out *mc)
{
	int incr = (int)rnd(s, 2);
	uint64_t d = rnd(s, 8) || incr ? rnd(s, 1000) : UINT64_MAX - rnd(s, 3);
	uint64_t v;
	const char *key = s->key[k];
	int rc;

	outf(mc, "%s %s %llu\r\n", incr ? "incr" : "decr", key,
	     (unsigned long long)d);
	rc = incr ? plmc_incr(key, strlen(key), d, &v)
		  : plmc_decr(key, strlen(key), d, &v);
	if (rc == PLMC_OK)
		outf(pl, "%llu\r\n", (unsigned long long)v);
	else
		outf(pl, "%s\r\n", word(rc));
}

/* get / gets / gat / gats of 1..4 keys (plmc: mget, or gat per key).
 * Return: 1 for get/gat, 2 when the reply carries CAS uniques. */
static int do_get(struct state *s, struct out *pl, struct out *mc, int all)
{
	static char bufs[NKEYS][VBIG];
	struct plmc_mget m[NKEYS];
	int n = 1 + (int)rnd(s, 4), kind = (int)rnd(s, 4), i, ks[NKEYS];
	int32_t exp = pick_exp(s, 10);
	int with_cas = kind & 1, touch = kind >= 2;

	if (all) /* a plain get of every key, in order */
		n = NKEYS, kind = with_cas = touch = 0;
	if (touch)
		outf(mc, "%s %d", with_cas ? "gats" : "gat", exp);
	else
		outf(mc, "%s", with_cas ? "gets" : "get");
	memset(m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		ks[i] = all ? i : (int)rnd(s, NKEYS);
		outf(mc, " %s", s->key[ks[i]]);
		m[i].key = s->key[ks[i]];
		m[i].klen = (uint32_t)strlen(s->key[ks[i]]);
		m[i].buf = bufs[i];
		m[i].buflen = sizeof(bufs[i]);
	}
	outf(mc, "\r\n");
	if (touch)
		for (i = 0; i < n; i++)
			m[i].rc = plmc_gat(m[i].key, m[i].klen, exp, bufs[i],
					   sizeof(bufs[i]), &m[i].vlen,
					   &m[i].flags, &m[i].cas);
	else
		ut_rc(plmc_mget(m, (size_t)n), PLMC_OK);
	for (i = 0; i < n; i++) {
		if (m[i].rc == PLMC_NOT_FOUND)
			continue;
		ck_assert_int_eq(m[i].rc, PLMC_OK);
		out_value(pl, s->key[ks[i]], m[i].flags, bufs[i], m[i].vlen,
			  with_cas);
		if (with_cas)
			s->cas_pl[ks[i]] = m[i].cas;
	}
	outf(pl, "END\r\n");
	return 1 + with_cas;
}

/* Remember memcached's uniques from a gets/gats reply. */
static void note_mc_cas(struct state *s, const char *r)
{
	const char *p = r;

	while ((p = strstr(p, "VALUE "))) {
		char k[256];
		unsigned fl;
		size_t n;
		unsigned long long c;
		int i;

		/* Only gets/gats replies come here: every VALUE line
		 * ends with the unique. */
		if (sscanf(p, "VALUE %255s %u %zu %llu", k, &fl, &n, &c) == 4)
			for (i = 0; i < NKEYS; i++)
				if (!strcmp(k, s->key[i]))
					s->cas_mc[i] = c;
		p += 6;
	}
}

/* One random command. Return: 0 one-line reply, else as do_get. */
static int one_op(struct state *s, struct out *pl, struct out *mc)
{
	unsigned r = rnd(s, 100);
	int k = (int)rnd(s, NKEYS);
	const char *key = s->key[k];
	int32_t exp = pick_exp(s, 4);

	if (s->dflush) {
		s->dflush = 0;
		outf(mc, "flush_all 700\r\n");
		outf(pl, "%s\r\n", word(plmc_flush_all(700)));
		return 0;
	}
	if (s->clock && rnd(s, 2500) == 0) {
		clock_step(); /* then a command both answer alike */
		outf(mc, "verbosity 0\r\n");
		outf(pl, "OK\r\n");
	} else if (r < 40) {
		do_store(s, k, pl, mc);
	} else if (r < 55) {
		do_delta(s, k, pl, mc);
	} else if (r < 85) {
		return do_get(s, pl, mc, 0);
	} else if (r < 92) {
		outf(mc, "delete %s\r\n", key);
		outf(pl, "%s\r\n", word(plmc_delete(key, strlen(key))));
	} else if (r < 99) {
		outf(mc, "touch %s %d\r\n", key, exp);
		outf(pl, "%s\r\n", word(plmc_touch(key, strlen(key), exp)));
	} else if (s->clock && rnd(s, 2)) {
		/*
		 * A delayed flush, after a get of every key: memcached's
		 * flush check ignores the last immediate flush's CAS mark
		 * while a later flush time is still ahead, so items that
		 * flush hid and nothing has touched since come back (or not:
		 * its allocator reclaims some from LRU tails). plmc keeps
		 * them hidden. Reading every key first makes memcached drop
		 * them too, so both sides agree whatever its LRUs did.
		 */
		s->dflush = 1;
		return do_get(s, pl, mc, 1);
	} else {
		outf(mc, "flush_all\r\n");
		outf(pl, "%s\r\n", word(plmc_flush_all(0)));
	}
	return 0;
}

static void run_seed(unsigned seed, int nops)
{
	static struct out pl, mc;
	static char last[8][512], val[VBIG + 64];
	static struct state s;
	int i, j;

	memset(&s, 0, sizeof(s));
	s.seed = seed;
	s.val = val;
	s.clock = ft_file[0] && seed <= CLOCK_SEEDS;
	/* Short keys, and every eighth one long (up to 250 bytes). */
	for (i = 0; i < NKEYS; i++) {
		int n = snprintf(s.key[i], sizeof(s.key[i]), "dk%d-", i);

		if (i % 8 == 7) {
			memset(s.key[i] + n, 'x', (size_t)(190 + i * 7 % 61 - n));
			s.key[i][190 + i * 7 % 61] = 0;
		}
	}
	mc_send("flush_all\r\n", 11);
	ck_assert_str_eq(mc_reply(0), "OK\r\n");
	ut_rc(plmc_flush_all(0), PLMC_OK);
	for (i = 0; i < nops; i++) {
		int multi;

		pl.n = mc.n = 0;
		multi = one_op(&s, &pl, &mc);
		snprintf(last[i % 8], sizeof(last[0]), "%.*s", (int)mc.n, mc.s);
		mc_send(mc.s, mc.n);
		mc_reply(multi);
		if (getenv("DIFF_TRACE"))
			fprintf(stderr, "T %d: %.60s => %.60s || %.60s\n", i,
				mc.s, rbuf, pl.s);
		if (multi == 2)
			note_mc_cas(&s, rbuf);
		mask_cas(rbuf);
		pl.s[pl.n] = 0;
		if (strcmp(rbuf, pl.s)) {
			size_t d = 0;

			while (rbuf[d] && rbuf[d] == pl.s[d])
				d++;
			d = d > 40 ? d - 40 : 0;
			fprintf(stderr,
				"  differ near %zu:\n  mc: '%.120s'\n"
				"  pl: '%.120s'\n",
				d, rbuf + d, pl.s + d);
			for (j = 7; j >= 0; j--)
				fprintf(stderr, "  earlier: %.80s\n",
					last[(i + 8 - j) % 8]);
		}
		ck_assert_msg(!strcmp(rbuf, pl.s),
			      "seed %u op %d: '%.*s'\n memcached: '%.300s'\n "
			      "plmc: '%.300s'",
			      seed, i, (int)(mc.n < 200 ? mc.n : 200), mc.s,
			      rbuf, pl.s);
	}
}

START_TEST(same_answers)
{
	unsigned seed, nseeds;

	if (mc_fd < 0) {
		fprintf(stderr,
			"test_diff: SKIPPED: %s not installed "
			"(scripts/deps.sh installs it)\n",
			MEMCACHED);
		return;
	}
	/* 10 seeds x 20000 = 200,000 commands; DIFF_SEEDS=N sweeps more. */
	nseeds = getenv("DIFF_SEEDS") ? (unsigned)atoi(getenv("DIFF_SEEDS"))
				      : 10;
	for (seed = 1; seed <= nseeds; seed++)
		run_seed(seed, NOPS);
	fprintf(stderr,
		"test_diff: %u seeds x %d commands: same answers (%s, "
		"clocks moved %ld s)\n",
		nseeds, NOPS,
		ft_file[0] ? "with expiry as time moves" : "no libfaketime",
		ft_off);
}
END_TEST

/*
 * ---- With eviction and shifting sizes ----
 *
 * Both sides get 16 MiB (memcached -m 16 with its default threads: its
 * page mover runs in the LRU maintainer) and a stream whose value sizes
 * shift by phase: 30,000 values of 1 KB (both evict), then phases of
 * 100 B, 5 KB, 100 KB, 300 B, 20 KB and 1 KB values over 40,000 keys.
 * Which items an eviction picks differs by design (memcached: LRU per
 * class, its page mover's own timing; plmc: CLOCK, docs/store.md), so a
 * get may miss on either side for a key that was stored. What must
 * agree, and is compared:
 *  - every set is STORED (memcached's rare out-of-memory answer, which
 *    plmc must not give, is counted, not failed);
 *  - a hit returns exactly the last value stored for the key, on each
 *    side, with its flags (each side's own last store: add may store on
 *    one side and not the other once an eviction differs);
 *  - a key just stored is read back on both sides;
 *  - a key known absent (deleted, never stored) misses on both, delete
 *    of it answers NOT_FOUND and add of it STORED on both.
 * Hit counts are printed.
 */
#define EKEYS 40000

struct eside {
	uint32_t gen[EKEYS]; /* 0: absent for sure; else the value's gen */
	uint32_t len[EKEYS];
};

static size_t evalue(char *v, int k, uint32_t gen, size_t len)
{
	int n = snprintf(v, 32, "k%d/g%u|", k, gen);

	if (len < (size_t)n)
		len = (size_t)n;
	memset(v + n, 'a' + (int)((unsigned)k + gen) % 26, len - (size_t)n);
	return len;
}

/* memcached's answer to "get KEY": -1 on a miss, else the value's length
 * (bytes in @v, flags must be 7: the stream's). */
static long mc_get1(const char *key, char *v)
{
	char cmd[64];
	const char *r, *eol;
	unsigned fl;
	size_t n;

	mc_send(cmd, (size_t)snprintf(cmd, sizeof(cmd), "get %s\r\n", key));
	r = mc_reply(1);
	if (!strcmp(r, "END\r\n"))
		return -1;
	ck_assert_int_eq(sscanf(r, "VALUE %*s %u %zu", &fl, &n), 2);
	ck_assert_uint_eq(fl, 7);
	eol = strstr(r, "\r\n");
	memcpy(v, eol + 2, n);
	return (long)n;
}

static char *mc_line(const char *cmd, size_t n)
{
	mc_send(cmd, n);
	return (char *)mc_reply(0);
}

struct ecount {
	long sets, mc_oom, gets, both, mc_only, pl_only, none;
};

/* One side's hit must be its own last store of @k. */
static void ehit_ok(const struct eside *e, int k, const char *v, long n,
		    const char *who)
{
	static char want[110000];
	size_t w;

	ck_assert_msg(e->gen[k], "%s: key %d read back after a delete", who,
		      k);
	w = evalue(want, k, e->gen[k], e->len[k]);
	ck_assert_msg((size_t)n == w && !memcmp(v, want, w),
		      "%s: key %d: a value it never stored last", who, k);
}

static void eget(struct eside *pl, struct eside *mc, int k, int must,
		 struct ecount *ct)
{
	static char vm[110000], vp[110000];
	char key[32];
	size_t n;
	uint32_t fl;
	long m;
	int rc;

	snprintf(key, sizeof(key), "ek%d", k);
	m = mc_get1(key, vm);
	rc = plmc_get(key, strlen(key), vp, sizeof(vp), &n, &fl, NULL);
	ck_assert(rc == PLMC_OK || rc == PLMC_NOT_FOUND);
	if (m >= 0)
		ehit_ok(mc, k, vm, m, "memcached");
	if (rc == PLMC_OK) {
		ck_assert_uint_eq(fl, 7);
		ehit_ok(pl, k, vp, (long)n, "plmc");
	}
	if (must) /* just stored on both sides */
		ck_assert_msg(m >= 0 && rc == PLMC_OK,
			      "key %d just stored: memcached %s, plmc %s", k,
			      m >= 0 ? "hit" : "miss", plmc_strerror(rc));
	ct->gets++;
	ct->both += m >= 0 && rc == PLMC_OK;
	ct->mc_only += m >= 0 && rc != PLMC_OK;
	ct->pl_only += m < 0 && rc == PLMC_OK;
	ct->none += m < 0 && rc != PLMC_OK;
}

/* set (@add: add) of key @k, @len bytes, on both sides. Return: 1 if
 * both stored. */
static int eset(struct eside *pl, struct eside *mc, int k, size_t len,
		int add, struct ecount *ct)
{
	static char v[110000], cmd[110100];
	uint32_t gen = (pl->gen[k] > mc->gen[k] ? pl->gen[k] : mc->gen[k]) + 1;
	int sure = !pl->gen[k] && !mc->gen[k], rc, h;
	const char *r;
	char key[32];

	snprintf(key, sizeof(key), "ek%d", k);
	len = evalue(v, k, gen, len);
	h = snprintf(cmd, sizeof(cmd), "%s %s 7 0 %zu\r\n", add ? "add" : "set",
		     key, len);
	memcpy(cmd + h, v, len);
	memcpy(cmd + h + len, "\r\n", 2);
	r = mc_line(cmd, (size_t)h + len + 2);
	rc = add ? plmc_add(key, strlen(key), v, len, 7, 0)
		 : plmc_set(key, strlen(key), v, len, 7, 0);
	if (!add || sure) {
		ck_assert_msg(rc == PLMC_STORED, "%s %s (%zu B): plmc %s",
			      add ? "add" : "set", key, len,
			      plmc_strerror(rc));
		if (strcmp(r, "STORED\r\n")) {
			ck_assert_msg(!strncmp(r, "SERVER_ERROR out of memory",
					       26),
				      "memcached: %s", r);
			ct->mc_oom++;
		}
	}
	ct->sets++;
	if (rc == PLMC_STORED)
		pl->gen[k] = gen, pl->len[k] = (uint32_t)len;
	if (!strcmp(r, "STORED\r\n"))
		mc->gen[k] = gen, mc->len[k] = (uint32_t)len;
	else if (!add) /* a failed set unlinks the old item (both rules) */
		mc->gen[k] = 0;
	return rc == PLMC_STORED && !strcmp(r, "STORED\r\n");
}

static void edel(struct eside *pl, struct eside *mc, int k)
{
	char cmd[64], key[32];
	int sure = !pl->gen[k] && !mc->gen[k], rc;
	const char *r;

	snprintf(key, sizeof(key), "ek%d", k);
	r = mc_line(cmd, (size_t)snprintf(cmd, sizeof(cmd), "delete %s\r\n",
					  key));
	rc = plmc_delete(key, strlen(key));
	if (sure) {
		ck_assert_str_eq(r, "NOT_FOUND\r\n");
		ut_rc(rc, PLMC_NOT_FOUND);
	}
	pl->gen[k] = mc->gen[k] = 0;
}

static void run_evict(unsigned seed, struct ecount *ct)
{
	static const size_t phase[] = {100, 5000, 100000, 300, 20000, 1000};
	static struct eside pl, mc;
	unsigned s = seed;
	size_t p;
	int i, k;

	memset(&pl, 0, sizeof(pl));
	memset(&mc, 0, sizeof(mc));
	for (k = 0; k < 30000; k++)
		eset(&pl, &mc, k, 1000, 0, ct);
	for (p = 0; p < sizeof(phase) / sizeof(phase[0]); p++)
		for (i = 0; i < 4000; i++) {
			unsigned r = (unsigned)rand_r(&s) % 100;
			size_t len = phase[p] - phase[p] / 10 +
				     (size_t)rand_r(&s) % (phase[p] / 5 + 1);

			k = rand_r(&s) % EKEYS;
			if (r < 55) {
				if (eset(&pl, &mc, k, len, 0, ct) &&
				    rand_r(&s) % 4 == 0)
					eget(&pl, &mc, k, 1, ct);
			} else if (r < 85) {
				eget(&pl, &mc, k, 0, ct);
			} else if (r < 93) {
				edel(&pl, &mc, k);
			} else {
				eset(&pl, &mc, k, len, 1, ct);
			}
		}
}

START_TEST(evict_shifting)
{
	struct ecount ct = {0};
	struct plmc_check ck = {.size = sizeof(ck)};
	struct plmc_stats st = {.size = sizeof(st)};

	if (mc_fd < 0) {
		fprintf(stderr, "test_diff: evict_shifting SKIPPED: %s not "
				"installed\n", MEMCACHED);
		return;
	}
	run_evict(1, &ct);
	ut_rc(plmc_stats(&st), PLMC_OK);
	ut_rc(plmc_check(&ck), PLMC_OK);
	ck_assert_msg(!ck.errors, "check: %s", ck.msg);
	fprintf(stderr,
		"test_diff: evict_shifting: %ld sets (memcached out of "
		"memory %ld), %ld gets: both hit %ld, memcached only %ld, "
		"plmc only %ld, neither %ld; plmc evictions %lu, pages moved "
		"%lu\n",
		ct.sets, ct.mc_oom, ct.gets, ct.both, ct.mc_only, ct.pl_only,
		ct.none, (unsigned long)st.evictions,
		(unsigned long)st.slabs_moved);
	ck_assert_uint_gt(st.evictions, 0);
	ck_assert_uint_gt(st.slabs_moved, 0);
}
END_TEST

static void setup_small(void)
{
	start_both(16, "16", 0);
}
int main(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, same_answers);
	suite_add_tcase(s, tc);
	tc = tcase_create("evict");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, evict_shifting);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
