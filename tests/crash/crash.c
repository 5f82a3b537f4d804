// SPDX-License-Identifier: MIT
/*
 * tests/crash/crash.c - crash injection: clients die at any instruction,
 * nothing acknowledged is lost, nothing leaks.
 *
 *   crash [-k KILLS] [-c CLIENTS] [-t THREADS] [-m ROUND_MS] [-R MAXROUNDS]
 *
 * Rounds until at least KILLS deaths and every crash point has fired:
 *  - CLIENTS processes x THREADS threads write their own key ranges
 *    (set, add, append, incr, touch, delete, get) on store "crash-PID";
 *    each thread logs, in its own ordinary file, the value it expects
 *    before each call ("I") and that the call was acknowledged ("A");
 *    a get that disagrees with the thread's own knowledge is an error
 *    ("E"). One client of the round may arm the round's crash point.
 *  - the driver SIGKILLs random clients at random instants and starts
 *    new ones (new key ranges); at the end it SIGKILLs all that live.
 *  - recovery points: a lone client dies at "built" (holding a chunk),
 *    then a lone recoverer armed with the point recovers it and dies.
 *  - page/evict/flush/move points: a lone client on a fresh small store
 *    ("crash-PID-e", 8 MiB: it fills, evicts, flushes) dies there; at a
 *    table point it stores small values under many keys instead, so
 *    the table doubles, into a page at last.
 *  - then a checker process attaches, recovers (timed), runs the
 *    store's check (must be quiescent, 0 errors, no dead slot) and reads
 *    every key back: each must hold its last acknowledged value or the
 *    value of the call in flight when its writer died.
 * -T N: the big store has N tenants (docs/tenants.md); range r's
 * threads act for tenant TEN_ID(r) (the driver, the store's owner, may
 * act for any), the checker reads each range as its tenant, checks that
 * another tenant misses it, and that each tenant's item counter is off
 * by at most the deaths so far (the counters are outside the redo log,
 * like the class counters: a death can lose one update).
 * A client that dies of anything but our SIGKILL or its armed point
 * (SIGILL) fails the round. Prints a PASS/FAIL line per round, totals,
 * recovery time p50/p99 and "crash: N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/wait.h>
#include <plmc.h>
#include <plmc/gate.h>
#include <plmc/layout.h>

#define NKEYS	  24   /* keys per range */
#define VMAX	  1200 /* longest value a client builds */
#define MAXRANGES 8192
#define MAXCLI	  64
#define MAXTHR	  8

/* What the driver knows of one key: 1 or 2 allowed values (NULL: absent).
 */
struct key {
	int n;
	char *v[2];
};

static struct key tab[MAXRANGES][NKEYS];
static int nranges;
static char dir[256], big[64], small[64];
static int opt_kills = 500, opt_cli = 4, opt_thr = 2, opt_ms = 60;
static int opt_rounds = 100000;
static int opt_tenants; /* -T */

#define TEN_ID(r) (5000u + (unsigned)(r) % (unsigned)opt_tenants)

/* The driver's stores run the test image: it arms crash points. */
static int crash_create(const char *name, unsigned long long size)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = size,
		.mode = 0600,
		.use = PLMC_USE_AUTO,
		.flags = PLMC_CREATE_TEST_IMAGE,
		.tenants = strcmp(name, big) ? 0 : (uint32_t)opt_tenants,
	};

	return plmc_create_ex(name, &o);
}

struct cli {
	pid_t pid;
	int ranges[MAXTHR];
	int point; /* armed crash point, 0 none */
};

static struct cli cl[MAXCLI];
static int ncl;
static long kills, crash_deaths, nfail, npass;
static int covered[PLMC_CRASH_COUNT];
static long rec_us[100000];
static int nrec;

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec ts = {
		(time_t)(ms / 1e3),
		(long)((ms - (double)(long)(ms / 1e3) * 1e3) * 1e6)};

	nanosleep(&ts, NULL);
}

static void key_name(char *b, int r, int j)
{
	sprintf(b, "c%d_%d", r, j);
}

/* ---- the client: one thread per key range ---- */

struct thr {
	int range;
	int point;
	int fd; /* its log */
	unsigned seed;
	char cur[NKEYS][VMAX + 64]; /* the thread's own knowledge */
	int has[NKEYS];
};

static void logf_(int fd, const char *tag, int j, const char *v)
{
	char b[VMAX + 128];
	int n = snprintf(b, sizeof(b), "%s %d %s\n", tag, j, v ? v : "-");

	if (write(fd, b, (size_t)n) != n)
		_exit(4);
}

static void rstr(unsigned *s, char *b, int n)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	int i;

	for (i = 0; i < n; i++)
		b[i] = a[rnd(s) % 36];
	b[n] = 0;
}

/* One op on key j of this range; returns 0, or -1 on a wrong answer. */
static int thr_op(struct thr *t)
{
	char key[32], nv[VMAX + 64], got[VMAX + 64], suf[40];
	int j = (int)(rnd(&t->seed) % NKEYS), op = (int)(rnd(&t->seed) % 100);
	int has = t->has[j], want, rc, nhas = has;
	size_t vl = 0;

	key_name(key, t->range, j);
	strcpy(nv, has ? t->cur[j] : "");
	if (j == 0) { /* the counter key: incr, or create it */
		unsigned long long v;

		if (!has) {
			strcpy(nv, "0");
			logf_(t->fd, "I", j, nv);
			rc = plmc_set(key, strlen(key), nv, 1, 0, 0);
			want = PLMC_STORED;
		} else {
			uint64_t d = rnd(&t->seed) % 100 + 1, out = 0;

			v = strtoull(t->cur[j], NULL, 10) + d;
			sprintf(nv, "%llu", v);
			logf_(t->fd, "I", j, nv);
			rc = plmc_incr(key, strlen(key), d, &out);
			want = PLMC_OK;
			if (rc == PLMC_OK && out != v)
				rc = -1;
		}
		nhas = 1;
	} else if (op < 30) { /* get: must match what this thread knows */
		rc = plmc_get(key, strlen(key), got, sizeof(got) - 1, &vl, NULL,
			      NULL);
		if (rc == PLMC_OK)
			got[vl] = 0;
		if (has ? rc != PLMC_OK || strcmp(got, t->cur[j])
			: rc != PLMC_NOT_FOUND) {
			logf_(t->fd, "E", j, "get");
			return -1;
		}
		return 0;
	} else if (op < 60 || (op < 75 && has && strlen(nv) > VMAX - 40)) {
		rstr(&t->seed, nv, 8 + (int)(rnd(&t->seed) % 400));
		logf_(t->fd, "I", j, nv);
		if (op < 50) {
			rc = plmc_set(key, strlen(key), nv, strlen(nv), 0, 0);
		} else { /* the meta path: ms */
			struct plmc_meta m = { .cmd = PLMC_META_SET };

			rc = plmc_meta(key, strlen(key), &m, nv, strlen(nv),
				       NULL, 0);
		}
		want = PLMC_STORED;
		nhas = 1;
	} else if (op < 75) { /* append */
		rstr(&t->seed, suf, 1 + (int)(rnd(&t->seed) % 30));
		if (has)
			strcat(nv, suf);
		logf_(t->fd, "I", j, has ? nv : NULL);
		rc = plmc_append(key, strlen(key), suf, strlen(suf));
		want = has ? PLMC_STORED : PLMC_NOT_STORED;
	} else if (op < 85) { /* add: refused on a live key (frees a chunk) */
		if (!has)
			rstr(&t->seed, nv, 8 + (int)(rnd(&t->seed) % 200));
		logf_(t->fd, "I", j, nv);
		rc = plmc_add(key, strlen(key), nv, strlen(nv), 0, 0);
		want = has ? PLMC_NOT_STORED : PLMC_STORED;
		nhas = 1;
	} else if (op < 86) { /* touch: value unchanged */
		logf_(t->fd, "I", j, has ? nv : NULL);
		rc = plmc_touch(key, strlen(key), 0);
		want = has ? PLMC_TOUCHED : PLMC_NOT_FOUND;
	} else if (op < 87) { /* mg with T: the meta touch */
		struct plmc_meta m = { .cmd = PLMC_META_GET,
				       .mflags = PLMC_MF_TTL | PLMC_MF_RECACHE,
				       .recache = 60 };

		logf_(t->fd, "I", j, has ? nv : NULL);
		rc = plmc_meta(key, strlen(key), &m, NULL, 0, NULL, 0);
		want = has ? PLMC_OK : PLMC_NOT_FOUND;
	} else if (op < 90) { /* md with I: re-linked stale, value kept */
		struct plmc_meta m = { .cmd = PLMC_META_DELETE,
				       .mflags = PLMC_MF_STALE };

		logf_(t->fd, "I", j, has ? nv : NULL);
		rc = plmc_meta(key, strlen(key), &m, NULL, 0, NULL, 0);
		want = has ? PLMC_DELETED : PLMC_NOT_FOUND;
	} else { /* delete */
		logf_(t->fd, "I", j, NULL);
		rc = plmc_delete(key, strlen(key));
		want = has ? PLMC_DELETED : PLMC_NOT_FOUND;
		nhas = 0;
	}
	if (rc != want) {
		char m[64];

		snprintf(m, sizeof(m), "rc=%d,want=%d", rc, want);
		logf_(t->fd, "E", j, m);
		return -1;
	}
	logf_(t->fd, "A", j, NULL);
	t->has[j] = nhas;
	if (nhas)
		strcpy(t->cur[j], nv);
	return 0;
}

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	if (t->point && plmc_crash_arm(t->point) != PLMC_OK)
		_exit(5);
	if (opt_tenants && plmc_as_tenant(TEN_ID(t->range)) != PLMC_OK)
		_exit(8);
	for (;;)
		if (thr_op(t))
			_exit(3);
	return NULL;
}

/* Child: attach, then run the threads until killed. */
static void client(const struct cli *c)
{
	static struct thr th[MAXTHR];
	pthread_t tid[MAXTHR];
	char path[400];
	int i, j;

	if (plmc_attach(big, PLMC_USE_AUTO))
		_exit(6);
	for (i = 0; i < opt_thr; i++) {
		struct thr *t = &th[i];
		int r = c->ranges[i];

		t->range = r;
		t->point = c->point;
		t->seed = (unsigned)getpid() * 7919u + (unsigned)i;
		snprintf(path, sizeof(path), "%s/r%d", dir, r);
		t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
			     0644);
		if (t->fd < 0)
			_exit(7);
		for (j = 0; j < NKEYS; j++) {
			/* A range starts certain: verified last round. */
			t->has[j] = tab[r][j].n && tab[r][j].v[0];
			if (t->has[j])
				strcpy(t->cur[j], tab[r][j].v[0]);
		}
		pthread_create(&tid[i], NULL, thr_main, t);
	}
	for (i = 0; i < opt_thr; i++)
		pthread_join(tid[i], NULL);
	_exit(0);
}

static int new_range(void)
{
	if (nranges >= MAXRANGES) {
		fprintf(stderr, "crash: out of key ranges\n");
		exit(2);
	}
	return nranges++;
}

static void spawn(int point, int *free_r, int *nfree)
{
	struct cli *c = &cl[ncl];
	int i;

	for (i = 0; i < opt_thr; i++)
		c->ranges[i] = *nfree ? free_r[--*nfree] : new_range();
	c->point = point;
	c->pid = fork();
	if (c->pid == 0)
		client(c);
	ncl++;
}

/* Reap client @i (already dead or killed by us: @killed). Return: 0 ok. */
static int reap(int i, int killed)
{
	int st;

	if (waitpid(cl[i].pid, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && killed) {
		kills++;
		return 0;
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGILL && cl[i].point) {
		kills++;
		crash_deaths++;
		covered[cl[i].point] = 1;
		return 0;
	}
	fprintf(stderr, "crash: client %d ended: %s %d\n", (int)cl[i].pid,
		WIFSIGNALED(st) ? "signal" : "exit",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return -1;
}

/* ---- after the round: fold each range's log into the table ---- */

/* @k holds @v (NULL: absent), for sure. */
static void set_certain(struct key *k, const char *v)
{
	free(k->v[0]);
	free(k->v[1]);
	k->v[0] = v ? strdup(v) : NULL;
	k->v[1] = NULL;
	k->n = 1;
}

/* Return: errors found in the log ("E" records). */
static int fold_log(int r)
{
	char path[400], line[VMAX + 128], tag[4], v[VMAX + 64];
	int j, errs = 0, last_j = -1, last_has = 0;
	char *last_v = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/r%d", dir, r);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%3s %d %1263s", tag, &j, v) != 3 || j < 0 ||
		    j >= NKEYS)
			continue; /* a torn last line: the writer died */
		if (!strcmp(tag, "E")) {
			errs++;
			fprintf(stderr, "crash: range %d key %d: %s", r, j,
				line);
		} else if (!strcmp(tag, "I")) {
			free(last_v);
			last_j = j;
			last_has = strcmp(v, "-") != 0;
			last_v = strdup(v);
		} else if (!strcmp(tag, "A") && j == last_j) {
			set_certain(&tab[r][j], last_has ? last_v : NULL);
			last_j = -1;
		}
	}
	fclose(f);
	if (last_j >= 0) { /* in flight at death: the old value or the new */
		struct key *k = &tab[r][last_j];

		free(k->v[1]);
		k->v[1] = last_has ? strdup(last_v) : NULL;
		k->n = 2;
	}
	free(last_v);
	unlink(path);
	return errs;
}

/* ---- the checker: a process of its own (one store per process) ---- */

/* Diagnosis of a failed check: the busy slots (none backend only: the
 * store is mapped readable in this process). */
static void slot_dump(FILE *o)
{
	const struct plmc_ppage *pp = (const void *)PLMC_PPAGE_ADDR;
	int i;

	if (strcmp(plmc_backend(), "none"))
		return;
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		const struct plmc_slot *s =
			(const void *)(PLMC_SLOTS_ADDR + i * PLMC_SLOT_SIZE);

		if (s->state & 1)
			fprintf(o, "slot %d: owner %llu busy, dead %llu, me "
				   "%llu\n",
				i, (unsigned long long)(s->state >> 1),
				(unsigned long long)s->dead,
				(unsigned long long)pp->attach_id);
	}
}

/* Nonzero if tenant r + 1's calls find range r's key @key. */
static int ten_other(const char *key, int r)
{
	char got[VMAX + 64];
	size_t vl;

	if (plmc_as_tenant(TEN_ID(r + 1)) != PLMC_OK)
		return 1;
	return plmc_get(key, strlen(key), got, sizeof(got), &vl, NULL,
			NULL) != PLMC_NOT_FOUND;
}

/* Each tenant's item counter against the items read back (@hits): off
 * by at most the deaths so far. Nonzero (and a line) if not. */
static int ten_drift(const long *hits, FILE *o)
{
	struct plmc_tenant t[PLMC_TENANT_MAX];
	size_t n = 0, i;
	int bad = 0;

	if (plmc_as_tenant(PLMC_TENANT_SELF) ||
	    plmc_tenant_list(t, PLMC_TENANT_MAX, &n))
		return fprintf(o, "tenant list failed\n") > 0;
	for (i = 0; i < n && i < PLMC_TENANT_MAX; i++) {
		long want = hits[(t[i].id - 5000u) % (unsigned)opt_tenants];
		long d = (long)t[i].items - want;

		if (d < 0)
			d = -d;
		if (d > kills || t[i].mem < 0 || t[i].bytes < 0) {
			fprintf(o, "tenant %u: %lld items counted, %ld read "
				   "back (%ld deaths)\n",
				t[i].id, (long long)t[i].items, want, kills);
			bad = 1;
		}
	}
	return bad;
}

static int checker(const char *name, int verify, long *us, char *msg,
		   size_t msglen)
{
	int p[2], st, rc = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct plmc_check ck;
		double t0;
		int n, r, j, bad = 0;
		char key[32], got[VMAX + 64];
		long thits[PLMC_TENANT_MAX] = {0};
		FILE *o = fdopen(p[1], "w");

		close(p[0]);
		alarm(30); /* a stuck lock must fail the round, not hang it */
		if (plmc_attach(name, PLMC_USE_AUTO))
			_exit(6);
		t0 = now_ms();
		n = plmc_recover();
		fprintf(o, "%d %ld\n", n, (long)((now_ms() - t0) * 1e3));
		memset(&ck, 0, sizeof(ck));
		n = plmc_check(&ck);
		if (getenv("CRASH_VERBOSE"))
			fprintf(stderr,
				"check %s: rc %d errors %llu items %llu "
				"chunks %llu free %llu retired %llu locks %llu:"
				" %s\n",
				name, n, (unsigned long long)ck.errors,
				(unsigned long long)ck.items,
				(unsigned long long)ck.chunks,
				(unsigned long long)ck.free,
				(unsigned long long)ck.retired,
				(unsigned long long)ck.locks_held, ck.msg);
		if (n != PLMC_OK || ck.errors || !ck.quiescent ||
		    ck.dead_slots) {
			fprintf(o,
				"check: errors %llu quiescent %llu dead %llu:"
				" %s\n",
				(unsigned long long)ck.errors,
				(unsigned long long)ck.quiescent,
				(unsigned long long)ck.dead_slots, ck.msg);
			bad = 1;
			slot_dump(o);
		}
		for (r = 0; verify && r < nranges; r++)
			for (j = 0; j < NKEYS; j++) {
				struct key *k = &tab[r][j];
				size_t vl = 0;
				int g, ok = 0, i;

				key_name(key, r, j);
				if (opt_tenants && !j && ten_other(key, r))
					bad = fprintf(o, "key %s: seen by "
							 "another tenant\n",
						      key) > 0;
				if (opt_tenants &&
				    plmc_as_tenant(TEN_ID(r)) != PLMC_OK)
					_exit(9);
				g = plmc_get(key, strlen(key), got,
					     sizeof(got) - 1, &vl, NULL, NULL);
				if (g == PLMC_OK)
					got[vl] = 0;
				for (i = 0; i < (k->n ? k->n : 1); i++) {
					const char *w = k->n ? k->v[i] : NULL;

					if (w ? g == PLMC_OK && !strcmp(got, w)
					      : g == PLMC_NOT_FOUND)
						ok = 1;
				}
				if (!ok) {
					fprintf(o,
						"key %s: got rc %d '%.40s'\n",
						key, g, g ? "" : got);
					bad = 1;
					continue;
				}
				/* Resolved: tell the driver what is there. */
				fprintf(o, "R %d %d %s\n", r, j,
					g == PLMC_OK ? got : "-");
				if (opt_tenants && g == PLMC_OK)
					thits[r % opt_tenants]++;
			}
		if (verify && opt_tenants && ten_drift(thits, o))
			bad = 1;
		fflush(o);
		_exit(bad);
	}
	close(p[1]);
	{
		FILE *in = fdopen(p[0], "r");
		char line[VMAX + 128], v[VMAX + 64];
		int n = 0, r, j;

		msg[0] = 0;
		if (fgets(line, sizeof(line), in) &&
		    sscanf(line, "%d %ld", &n, us) == 2 && n <= 0)
			*us = -1;
		while (fgets(line, sizeof(line), in)) {
			if (sscanf(line, "R %d %d %1263s", &r, &j, v) == 3) {
				set_certain(&tab[r][j],
					    strcmp(v, "-") ? v : NULL);
			} else {
				if (!msg[0])
					snprintf(msg, msglen, "%.200s", line);
				fprintf(stderr, "crash: checker: %s", line);
			}
		}
		fclose(in);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = -1;
	return rc;
}

/* ---- lone runs: recovery points and the small store ---- */

/*
 * Wait for @pid, armed with @point, to die there (SIGILL); kill it after
 * @ms. @who names it in the error line.
 * Return: 1 died at the point, 0 did not (killed), -1 died otherwise.
 */
static int await_point(pid_t pid, int point, double ms, const char *who)
{
	double t0 = now_ms();
	int st;

	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (now_ms() - t0 > ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			kills++;
			return 0;
		}
		sleep_ms(0.5);
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGILL) {
		kills++;
		crash_deaths++;
		covered[point] = 1;
		return 1;
	}
	fprintf(stderr, "crash: %s at %s ended: %s %d\n", who,
		plmc_crash_name(point), WIFSIGNALED(st) ? "signal" : "exit",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return -1;
}

static int is_table_point(int p)
{
	return p >= PLMC_CRASH_TABLE_PAGE_TX && p <= PLMC_CRASH_TABLE_FREE_TX;
}

/* A lone client's writes for a table point: small values under 60,000
 * keys, so the small store's table doubles into a page (kvcore/table.c). */
static void lone_table(void)
{
	char key[32];
	long k;

	for (k = 0;; k++) {
		int kl = snprintf(key, sizeof(key), "t%ld", k % 60000);

		plmc_set(key, (size_t)kl, "0123456789", 10, 0, 0);
	}
}

/* Run one lone client armed with @point on @name; wait for its death.
 * Return: 1 died at the point, 0 did not (killed after @ms), -1 bad. */
static int lone(int point, double ms, int *free_r, int *nfree, int evict)
{
	int i = ncl;

	if (evict) {
		cl[ncl].point = point;
		cl[ncl].pid = fork();
		if (cl[ncl].pid == 0) {
			unsigned s = (unsigned)getpid();
			static char val[300000];
			char key[32];
			long k;

			if (plmc_attach(small, PLMC_USE_AUTO) ||
			    plmc_crash_arm(point))
				_exit(6);
			if (is_table_point(point))
				lone_table();
			memset(val, 'x', sizeof(val));
			for (k = 0;; k++) {
				size_t vl = rnd(&s) % 4 ? rnd(&s) % 2000
							: rnd(&s) % sizeof(val);

				sprintf(key, "e%u", rnd(&s) % 3000);
				plmc_set(key, strlen(key), val, vl, 0, 0);
				if (k % 97 == 0)
					plmc_flush_all(0);
				if (k % 5 == 0)
					plmc_delete(key, strlen(key));
			}
		}
		ncl++;
	} else {
		spawn(point, free_r, nfree);
	}
	return await_point(cl[i].pid, point, ms, "lone client");
}

/* A recoverer armed with @point, started (and armed) before the death
 * it is to recover: under kmod the death is marked at once, and the arm
 * call's own entry would recover it unarmed. It waits on @go, then
 * recovers until it dies. */
static pid_t recoverer_start(int point, int *go)
{
	int p[2], r[2];
	pid_t pid;
	char c;

	if (pipe(p) || pipe(r))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		close(r[0]);
		if (plmc_attach(big, PLMC_USE_AUTO) || plmc_crash_arm(point))
			_exit(6);
		if (write(r[1], "r", 1) != 1 || read(p[0], &c, 1) != 1)
			_exit(9);
		for (;;)
			if (plmc_recover() < 0)
				_exit(8);
	}
	close(p[0]);
	close(r[1]);
	if (read(r[0], &c, 1) != 1) { /* armed */
		close(r[0]);
		close(p[1]);
		*go = -1;
		return pid;
	}
	close(r[0]);
	*go = p[1];
	return pid;
}

static int lone_recoverer(int point, pid_t pid, int go)
{
	/* go < 0: it died before it was told to go; its arm call may
	 * itself have recovered a dead lock owner (a reclaim waiting on a
	 * class lock) and met the point there: that counts. */
	if (go >= 0 && write(go, "g", 1) == 1)
		close(go);
	else if (go >= 0)
		close(go);
	return await_point(pid, point, 2000, "recoverer");
}

static int is_small_point(int p)
{
	return p == PLMC_CRASH_PAGE_TX || p == PLMC_CRASH_EVICT ||
	       p == PLMC_CRASH_FLUSH || p == PLMC_CRASH_MOVE_START_TX ||
	       p == PLMC_CRASH_MOVE_TAKE_TX || p == PLMC_CRASH_MOVE_ZERO ||
	       p == PLMC_CRASH_MOVE_DONE_TX || p == PLMC_CRASH_POOL_TX ||
	       is_table_point(p);
}

static int is_recover_point(int p)
{
	return p == PLMC_CRASH_RECOVER_CLAIMED ||
	       p == PLMC_CRASH_RECOVER_REPLAYED || p == PLMC_CRASH_RECOVER_TX;
}

/* Next point: the uncovered ones first, then round robin. */
static int next_point(int round)
{
	int p;

	for (p = 1; p < PLMC_CRASH_COUNT; p++)
		if (!covered[p] && (round + p) % 2 == 0)
			return p;
	for (p = 1; p < PLMC_CRASH_COUNT; p++)
		if (!covered[p])
			return p;
	return 1 + round % (PLMC_CRASH_COUNT - 1);
}

static int run_round(int round, unsigned *seed)
{
	static int free_r[MAXRANGES];
	int nfree = nranges, i, bad = 0, point = next_point(round), errs = 0;
	double t0 = now_ms(), next_kill;
	char msg[256] = "";
	long us = -1;

	/* Every range is certain again (verified): all free to reuse. */
	for (i = 0; i < nranges; i++)
		free_r[i] = nranges - 1 - i;
	ncl = 0;
	for (i = 0; i < opt_cli; i++)
		spawn(i == 0 && !is_small_point(point) &&
				      !is_recover_point(point)
			      ? point
			      : 0,
		      free_r, &nfree);
	next_kill = t0 + rnd(seed) % (unsigned)opt_ms;
	while (now_ms() - t0 < opt_ms) {
		int st;

		for (i = 0; i < ncl; i++) { /* armed victims that fired */
			if (!cl[i].pid ||
			    waitpid(cl[i].pid, &st, WNOHANG) != cl[i].pid)
				continue;
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGILL &&
			    cl[i].point) {
				kills++;
				crash_deaths++;
				covered[cl[i].point] = 1;
			} else {
				fprintf(stderr, "crash: client died: %s %d\n",
					WIFSIGNALED(st) ? "signal" : "exit",
					WIFSIGNALED(st) ? WTERMSIG(st)
							: WEXITSTATUS(st));
				bad = 1;
			}
			cl[i].pid = 0;
			if (ncl < MAXCLI)
				spawn(0, free_r, &nfree);
		}
		if (now_ms() >= next_kill && ncl < MAXCLI) {
			i = (int)(rnd(seed) % (unsigned)ncl);
			if (cl[i].pid) {
				kill(cl[i].pid, SIGKILL);
				bad |= reap(i, 1) != 0;
				cl[i].pid = 0;
				spawn(0, free_r, &nfree); /* a new one joins */
			}
			next_kill = now_ms() +
				    rnd(seed) % (unsigned)(opt_ms / 2 + 1);
		}
		sleep_ms(0.2 + (double)(rnd(seed) % 1000) / 1000.0);
	}
	for (i = 0; i < ncl; i++) /* the survivors die at random instants */
		if (cl[i].pid) {
			kill(cl[i].pid, SIGKILL);
			sleep_ms((double)(rnd(seed) % 1000) / 1000.0);
		}
	for (i = 0; i < ncl; i++)
		if (cl[i].pid)
			bad |= reap(i, 1) != 0;
	if (is_recover_point(point)) {
		/* A lone writer dies holding a chunk; a lone recoverer armed
		 * with the point recovers it and dies in turn. */
		int go;
		pid_t rp = recoverer_start(point, &go);

		ncl = 0;
		if (lone(PLMC_CRASH_BUILT, 3000, free_r, &nfree, 0) < 0)
			bad = 1;
		if (rp < 0 || lone_recoverer(point, rp, go) < 0)
			bad = 1;
	}
	if (is_small_point(point)) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd),
			 "rm -f /dev/shm/plmc.%s /dev/shm/.plmc.%s.*", small,
			 small);
		plmc_destroy(small, 1, PLMC_USE_AUTO); /* a fresh one */
		if (system(cmd) || crash_create(small, 8 << 20)) {
			fprintf(stderr, "crash: cannot create %s\n", small);
			bad = 1;
		}
		ncl = 0;
		if (lone(point, 3000, free_r, &nfree, 1) < 0)
			bad = 1;
		if (checker(small, 0, &us, msg, sizeof(msg))) {
			fprintf(stderr, "crash: small store: %s", msg);
			bad = 1;
		}
	}
	/* Every range used this round: fold its log, then verify. */
	for (i = 0; i < nranges; i++)
		errs += fold_log(i);
	if (errs)
		bad = 1;
	if (checker(big, 1, &us, msg, sizeof(msg))) {
		fprintf(stderr, "crash: round %d: %s", round, msg);
		bad = 1;
	}
	if (us >= 0 && nrec < (int)(sizeof(rec_us) / sizeof(rec_us[0])))
		rec_us[nrec++] = us;
	printf("%s: round %d point %s kills %ld recovery %ld us\n",
	       bad ? "FAIL" : "PASS", round, plmc_crash_name(point), kills, us);
	fflush(stdout);
	return bad;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int all_covered(void)
{
	int p;

	for (p = 1; p < PLMC_CRASH_COUNT; p++)
		if (!covered[p])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int o, round, p, ncov = 0;
	char cmd[512];

	while ((o = getopt(argc, argv, "k:c:t:m:R:s:T:")) != -1) {
		if (o == 'k')
			opt_kills = atoi(optarg);
		else if (o == 'c')
			opt_cli = atoi(optarg);
		else if (o == 't')
			opt_thr = atoi(optarg);
		else if (o == 'm')
			opt_ms = atoi(optarg);
		else if (o == 'R')
			opt_rounds = atoi(optarg);
		else if (o == 's')
			seed = (unsigned)strtoul(optarg, NULL, 0);
		else if (o == 'T')
			opt_tenants = atoi(optarg);
		else
			return 2;
	}
	if (opt_cli < 1 || opt_cli > MAXCLI / 2 || opt_thr < 1 ||
	    opt_thr > MAXTHR || opt_ms < 2 || opt_tenants < 0 ||
	    opt_tenants == 1 || opt_tenants > PLMC_TENANT_MAX)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	snprintf(big, sizeof(big), "crash-%d", (int)getpid());
	snprintf(small, sizeof(small), "crash-%d-e", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/plmc-crash.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	if (system(cmd) || crash_create(big, 64 << 20)) {
		fprintf(stderr, "crash: cannot create %s\n", big);
		return 1;
	}
	printf("crash: seed %u, %d clients x %d threads, %d ms rounds, "
	       "until %d kills and %d crash points%s\n",
	       seed, opt_cli, opt_thr, opt_ms, opt_kills, PLMC_CRASH_COUNT - 1,
	       opt_tenants ? ", tenants" : "");
	for (round = 0; round < opt_rounds; round++) {
		if (run_round(round, &seed))
			nfail++;
		else
			npass++;
		if (kills >= opt_kills && all_covered())
			break;
	}
	for (p = 1; p < PLMC_CRASH_COUNT; p++) {
		ncov += covered[p];
		if (!covered[p]) {
			printf("FAIL: crash point %s never reached\n",
			       plmc_crash_name(p));
			nfail++;
		}
	}
	qsort(rec_us, (size_t)nrec, sizeof(long), cmp_long);
	printf("crash: kills %ld (crash points %ld, SIGKILL %ld), checks %ld, "
	       "crash points covered %d/%d, recovery p50 %ld us p99 %ld us "
	       "(%d samples)\n",
	       kills, crash_deaths, kills - crash_deaths, npass + nfail, ncov,
	       PLMC_CRASH_COUNT - 1, nrec ? rec_us[nrec / 2] : -1L,
	       nrec ? rec_us[(nrec * 99) / 100] : -1L, nrec);
	plmc_destroy(big, 1, PLMC_USE_AUTO);
	plmc_destroy(small, 1, PLMC_USE_AUTO);
	snprintf(cmd, sizeof(cmd),
		 "rm -rf %s /dev/shm/.plmc.%s.* /dev/shm/.plmc.%s.*", dir, big,
		 small);
	if (system(cmd))
		fprintf(stderr, "crash: cleanup failed\n");
	printf("crash: %ld passed, %ld failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
