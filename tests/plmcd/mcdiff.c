// SPDX-License-Identifier: MIT
/*
 * mcdiff - the same random text-protocol session against two servers
 * (memcached and plmcd), reply by reply; any difference fails.
 *
 *   mcdiff SOCKET_A SOCKET_B [OPS] [SEED]
 *
 * Keys come from a small set so that commands collide; CAS uniques differ
 * between servers by design, so each side's "gets" answer is remembered
 * and "cas" sends each server its own unique, and the numbers are masked
 * in the comparison. Malformed commands are part of the mix: the error
 * words must match too. Time never advances here (no expiry checks: the two
 * clocks are not the same clock).
 *
 * Meta commands (mg ms md ma mn me) come with random flag sets, base64
 * keys (the same names, so text and binary keys meet), quiet mode and
 * malformed lines. Their CAS numbers (" c<n>", "cas=<n>") are masked and
 * remembered like gets'; TTLs and last access ("t<n>", "exp=<n>",
 * "l<n>", "la=<n>") may differ by one second (the clocks tick apart; the
 * reference memcached runs without its segmented LRU, whose access times
 * move on an item's second hit, plmc's and the plain LRU's once a
 * minute); what differs by design is masked: me's "cls=" and "size="
 * (the store's own classes and item bytes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NKEYS 16

struct side {
	int fd;
	char rbuf[1 << 21];
	size_t rlen;
	unsigned long long cas[NKEYS];
};

static struct side A, B;
static int meta = 1; /* meta commands in the mix */
static long nmeta;    /* meta command lines built (both sides) */

static int dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror(path);
		exit(2);
	}
	return fd;
}

/* Send cmd, then "version" as a fence; return the reply before the fence. */
static char *exchange(struct side *s, const char *cmd, size_t n)
{
	char *v;

	if (write(s->fd, cmd, n) != (ssize_t)n ||
	    write(s->fd, "version\r\n", 9) != 9)
		return NULL;
	s->rlen = 0;
	for (;;) {
		ssize_t r = read(s->fd, s->rbuf + s->rlen,
				 sizeof(s->rbuf) - 1 - s->rlen);

		if (r <= 0)
			return NULL;
		s->rlen += r;
		s->rbuf[s->rlen] = 0;
		/* The fence: a whole "VERSION ..." line at a line start. */
		v = !strncmp(s->rbuf, "VERSION ", 8)
			    ? s->rbuf
			    : strstr(s->rbuf, "\r\nVERSION ");
		if (v && v != s->rbuf)
			v += 2;
		if (v && strstr(v, "\r\n")) {
			*v = 0;
			return s->rbuf;
		}
	}
}

/* Replace every CAS number in VALUE lines with '#'; remember them. */
static void mask_cas(struct side *s, char *rep, int key)
{
	char *l = rep;

	while ((l = strstr(l, "VALUE "))) {
		char *eol = strstr(l, "\r\n");
		char *sp[5];
		int n = 0;

		for (char *p = l; p < eol && n < 5; p++)
			if (*p == ' ')
				sp[n++] = p;
		if (n == 4) {
			s->cas[key] = strtoull(sp[3] + 1, NULL, 10);
			for (char *p = sp[3] + 1; p < eol; p++)
				*p = '#';
		}
		l = eol;
	}
}

/* The digits at @p become one '#'. Return: the '#'. */
static char *collapse(char *p)
{
	size_t n = strspn(p, "0123456789");

	if (n) {
		*p = '#';
		memmove(p + 1, p + n, strlen(p + n) + 1);
	}
	return p;
}

/* Mask the numbers of meta replies (see the top); remember c<n>. */
static void mask_meta(struct side *s, char *rep, int key)
{
	for (char *p = rep; *p; p++) {
		int lead = p == rep || p[-1] == ' ';

		if (!lead)
			continue;
		if (p[0] == 'c' && p[1] >= '0' && p[1] <= '9') {
			s->cas[key] = strtoull(p + 1, NULL, 10);
			p = collapse(p + 1);
		} else if (!strncmp(p, "cas=", 4) || !strncmp(p, "cls=", 4) ||
			   !strncmp(p, "size=", 5)) {
			p = collapse(strchr(p, '=') + 1);
		}
	}
}

/* A clock word ("t<n>", "exp=<n>", "l<n>", "la=<n>")? Sets *v. */
static int ttl_word(const char *w, size_t n, long long *v)
{
	const char *d = !strncmp(w, "exp=", 4)  ? w + 4
			: !strncmp(w, "la=", 3) ? w + 3
			: w[0] == 't' || w[0] == 'l' ? w + 1
						     : 0;
	char *end;

	if (!d || d == w + n || !((*d >= '0' && *d <= '9') || *d == '-'))
		return 0;
	*v = strtoll(d, &end, 10);
	return end == w + n;
}

/* Equal, word by word, but TTL words may be one second apart. */
static int same(const char *a, const char *b)
{
	while (*a || *b) {
		size_t na = strcspn(a, " \r\n"), nb = strcspn(b, " \r\n");
		long long va, vb;

		if (na != nb || memcmp(a, b, na)) {
			if (!ttl_word(a, na, &va) || !ttl_word(b, nb, &vb) ||
			    va - vb > 1 || vb - va > 1 || va == -1 || vb == -1)
				return 0;
		}
		a += na;
		b += nb;
		if (*a != *b)
			return 0;
		if (*a) {
			a++;
			b++;
		}
	}
	return 1;
}

/* A small generator seeded from the op's numbers: both sides see the
 * same command. */
static unsigned lcg(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

static const char *const b64keys[NKEYS] = {
	"azA=", "azE=", "azI=", "azM=", "azQ=", "azU=", "azY=", "azc=",
	"azg=", "azk=", "azEw", "azEx", "azEy", "azEz", "azE0", "azE1",
};

/* " <flag>" words chosen from @set, each at most once, in random order. */
static int meta_flags(char *o, size_t cap, unsigned *x, const char *set,
		      unsigned long long cas)
{
	char used[128] = {0};
	int n = 0, want = (int)(lcg(x) % 7);

	o[0] = 0;

	for (int i = 0; i < want; i++) {
		char f = set[lcg(x) % strlen(set)];

		if (used[(int)f])
			continue;
		used[(int)f] = 1;
		switch (f) {
		case 'T': case 'N':
			n += snprintf(o + n, cap - n, " %c%u", f,
				      lcg(x) % 3 ? 100 + lcg(x) % 900 : 0);
			break;
		case 'R':
			n += snprintf(o + n, cap - n, " R%u", lcg(x) % 2000);
			break;
		case 'O':
			n += snprintf(o + n, cap - n, " O%u", lcg(x) % 100000);
			break;
		case 'C':
			n += snprintf(o + n, cap - n, " C%llu",
				      lcg(x) % 4 ? cas : lcg(x) % 3 ? cas + 1 : 0);
			break;
		case 'F':
			n += snprintf(o + n, cap - n, " F%u", lcg(x) % 5);
			break;
		case 'D': case 'J':
			n += snprintf(o + n, cap - n, " %c%u", f, lcg(x) % 50);
			break;
		case 'M':
			n += snprintf(o + n, cap - n, " M%c",
				      "SEAPRID+-x"[lcg(x) % 10]);
			break;
		default:
			n += snprintf(o + n, cap - n, " %c", f);
		}
	}
	return n;
}

/* One meta command (or a malformed one). */
static int build_meta(char *cmd, size_t cap, unsigned r, unsigned r2, int key,
		      unsigned long long cas)
{
	static const char *bad[] = {
		"mg\r\n", "ms k1\r\n", "ms k1 x\r\nab\r\n", "ms k1 -1\r\n",
		"mg k1 v v\r\n", "mg k1 zz\r\n", "md k1 x\r\n", "ma k1 Dx\r\n",
		"ma k1 Mx\r\n", "ms k1 2 Mq\r\nab\r\n", "ms k1 2 MSS\r\nab\r\n",
		"mg k1 Tx\r\n", "ms k1 2 Tx\r\nab\r\n", "mg !!!! b\r\n",
		"mg azE b\r\n", "ms k1 2\r\nabc\r\n", "me\r\n", "me a b c\r\n",
		"mz k1\r\n", "mg k1 c c c c c c c c c c c c c c c c c c\r\n",
		"ms k1 2 F-1\r\nab\r\n", "ma k1 J-5 N0\r\n", "md k1 k k\r\n",
		"mg k1 O123456789012345678901234567890123\r\n", "mn extra\r\n",
		"ms k1 2 C-1\r\nab\r\n", "mg k1 noreply\r\n",
		"mg k1 E5\r\n", "mg k1 Pfoo Lbar v\r\n", "ms k1 2 S5\r\nab\r\n",
		"me k1 k\r\n", "ms k1 2 T99999999999\r\nab\r\n",
		"mg k1 t T-5\r\n", "ma k1 M+ v\r\n", "ma k1 M- v\r\n", "mn q\r\n",
		"ms k1 0\r\n\r\n", "ms k1 2 b\r\nab\r\n", "md k1 q C0\r\n",
		"ma k1 J18446744073709551616 N0\r\n", "mg k1 Fabc\r\n",
		"mg k1 Cabc\r\n", "mg k1 Jx\r\n", "mg k1 Dx\r\n",
		"ms k1 2 F4294967297 T0\r\nab\r\n", "ms k1 +2\r\nab\r\n",
		"mg k1 s v s\r\n", "ms k1 2 MA N0\r\nab\r\n",
		"ma k1 N0 J5 T-1 v\r\n", "mg azE= b k k\r\n", "mg a!zE= b k v\r\n",
		"mg =azE b k\r\n", "me azE= b\r\n", "me !!!! b\r\n",
		"ms k1 1 I C1\r\nz\r\n", "md k1 I T0 q\r\n", "mg k1 \x01\r\n",
		"me k1 x y z\r\n", "me azE= b x y z\r\n", "me k1 k b\r\n",
	};
	unsigned x = r ^ (r2 * 2654435761u);
	int bin = lcg(&x) % 5 == 0;

	nmeta++;
	char k[16], fl[256];
	int vlen = (int)(r2 % 12), n;

	if (bin)
		snprintf(k, sizeof(k), "%s", b64keys[key]);
	else
		snprintf(k, sizeof(k), "k%d", key);
	switch (lcg(&x) % 9) {
	case 0: case 1:
		n = meta_flags(fl, sizeof(fl), &x, "vcfstkOqhluTNR", cas);
		return snprintf(cmd, cap, "mg %s%s%s\r\n", k, bin ? " b" : "",
				fl);
	case 2: case 3: {
		char val[32];

		memset(val, lcg(&x) % 3 ? 'a' + (int)(r2 % 26) : '7', vlen);
		val[vlen] = 0;
		n = meta_flags(fl, sizeof(fl), &x, "ckOqTFICMMM", cas);
		return snprintf(cmd, cap, "ms %s %d%s%s\r\n%s\r\n", k, vlen,
				bin ? " b" : "", fl, val);
	}
	case 4:
		n = meta_flags(fl, sizeof(fl), &x, "qITCkOII", cas);
		return snprintf(cmd, cap, "md %s%s%s\r\n", k, bin ? " b" : "",
				fl);
	case 5:
		n = meta_flags(fl, sizeof(fl), &x, "NJDMvtckOqCTNv", cas);
		return snprintf(cmd, cap, "ma %s%s%s\r\n", k, bin ? " b" : "",
				fl);
	case 6:
		return snprintf(cmd, cap, "me %s%s\r\n", k, bin ? " b" : "");
	case 7:
		return snprintf(cmd, cap, "mn\r\n");
	}
	(void)n;
	return snprintf(cmd, cap, "%s", bad[lcg(&x) % (sizeof(bad) / sizeof(bad[0]))]);
}

/* A TTL no run outlives (so no item expires between the two servers'
 * clocks), or 0 (never). */
static unsigned ttl(unsigned r)
{
	return r % 10 ? 100 + r % 900 : 0;
}

static int build(char *cmd, size_t cap, unsigned r, unsigned r2, int key,
		 unsigned long long cas)
{
	static const char *store[] = { "set", "add", "replace", "append",
				       "prepend" };
	char val[64];
	int vlen = (int)(r2 % 40);

	memset(val, 'a' + (int)(r2 % 26), vlen);
	val[vlen] = 0;
	if (r2 % 7 == 0)
		vlen = snprintf(val, sizeof(val), "%u", r2 % 1000);
	static const char *bad[] = {
		"bogus\r\n", "get\r\n", "set k1 0 0 -1\r\n",
		"incr k1 abc\r\n", "touch k1 abc\r\n", "flush_all abc\r\n",
		"verbosity 1 2 3\r\n", "stats noreply\r\n",
		"delete k1 5\r\n", "set k1 0 0 3\r\nabcde\r\n",
		"gat\r\n", "gat 10\r\n", "verbosity 1\r\n",
		"set k2 x 0 1\r\n",
	};

	if (meta && r % 3 == 0 && r2 % 11 == 0) {
		/* A pipelined quiet batch in one write, ended by mn. */
		int n = 0, m = 2 + (int)(r2 / 11 % 5);

		for (int j = 0; j < m && cap - n > 200; j++)
			n += build_meta(cmd + n, cap - n, r / 3 + (unsigned)j * 7919u,
					r2 + (unsigned)j, (key + j) % NKEYS, cas);
		return n + snprintf(cmd + n, cap - n, "mn\r\n");
	}
	if (meta && r % 3 == 0)
		return build_meta(cmd, cap, r / 3, r2, key, cas);
	switch (r % 14) {
	case 12:
		return snprintf(cmd, cap, "%s", bad[r2 % 14]);
	case 13:
		return snprintf(cmd, cap, "get %0260d\r\n", key);
	case 0: case 1: case 2: case 3: case 4:
		return snprintf(cmd, cap, "%s k%d %u 0 %d\r\n%s\r\n",
				store[r % 5], key, r2 % 5, vlen, val);
	case 5:
		return snprintf(cmd, cap, "cas k%d 1 0 %d %llu\r\n%s\r\n", key,
				vlen, (r2 & 1) ? cas : cas + 1, val);
	case 6:
		return snprintf(cmd, cap, "get k%d k%d\r\n", key,
				(key + 1) % NKEYS);
	case 7:
		return snprintf(cmd, cap, "gets k%d\r\n", key);
	case 8:
		return snprintf(cmd, cap, "delete k%d\r\n", key);
	case 9:
		return snprintf(cmd, cap, "%s k%d %u\r\n",
				(r2 & 1) ? "incr" : "decr", key, r2 % 100);
	case 10:
		return snprintf(cmd, cap, "touch k%d %u\r\n", key, ttl(r2));
	default:
		return snprintf(cmd, cap, "gat %u k%d\r\n", ttl(r2), key);
	}
}

int main(int argc, char **argv)
{
	long ops = argc > 3 ? atol(argv[3]) : 2000;
	unsigned seed = argc > 4 ? (unsigned)atol(argv[4]) : 1;
	long diffs = 0;
	char cmd[2048], cmdb[2048];

	if (argc < 3) {
		fprintf(stderr, "usage: mcdiff SOCK_A SOCK_B [OPS] [SEED]\n");
		return 2;
	}
	A.fd = dial(argv[1]);
	B.fd = dial(argv[2]);
	srand(seed);
	for (long i = 0; i < ops; i++) {
		unsigned r = (unsigned)rand(), r2 = (unsigned)rand();
		int key = (int)(r / 16 % NKEYS);
		int na = build(cmd, sizeof(cmd), r, r2, key, A.cas[key]);
		int nb = build(cmdb, sizeof(cmdb), r, r2, key, B.cas[key]);
		char *ra = exchange(&A, cmd, na), *rb;


		rb = exchange(&B, cmdb, nb);
		if (!ra || !rb) {
			fprintf(stderr, "mcdiff: connection lost at op %ld\n", i);
			return 1;
		}
		if (getenv("MCDIFF_TRACE") &&
		    (atoi(getenv("MCDIFF_TRACE")) == key || atoi(getenv("MCDIFF_TRACE")) < 0))
			printf("op %ld: %s  B-cmd: %s  A: %s  B: %s\n", i, cmd, cmdb, ra, rb);
		mask_cas(&A, ra, key);
		mask_cas(&B, rb, key);
		mask_meta(&A, ra, key);
		mask_meta(&B, rb, key);
		if (!same(ra, rb)) {
			if (diffs++ < 10)
				printf("DIFF op %ld: %.*s  A: %s  B: %s\n", i,
				       (int)strcspn(cmd, "\r"), cmd, ra, rb);
		}
	}
	/* build_meta ran once per side */
	printf("mcdiff: %ld ops (%ld meta commands), %ld differences\n", ops,
	       nmeta / 2, diffs);
	return diffs ? 1 : 0;
}
