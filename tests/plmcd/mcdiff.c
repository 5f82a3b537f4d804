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
		return snprintf(cmd, cap, "touch k%d %u\r\n", key, r2 % 1000);
	default:
		return snprintf(cmd, cap, "gat %u k%d\r\n", r2 % 1000, key);
	}
}

int main(int argc, char **argv)
{
	long ops = argc > 3 ? atol(argv[3]) : 2000;
	unsigned seed = argc > 4 ? (unsigned)atol(argv[4]) : 1;
	long diffs = 0;
	char cmd[512], cmdb[512];

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
		mask_cas(&A, ra, key);
		mask_cas(&B, rb, key);
		if (strcmp(ra, rb)) {
			if (diffs++ < 10)
				printf("DIFF op %ld: %.*s  A: %s  B: %s\n", i,
				       (int)strcspn(cmd, "\r"), cmd, ra, rb);
		}
	}
	printf("mcdiff: %ld ops, %ld differences\n", ops, diffs);
	return diffs ? 1 : 0;
}
