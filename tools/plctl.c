// SPDX-License-Identifier: MIT
/*
 * tools/plctl.c - manage plmc stores from the shell.
 *
 *   plctl create NAME --size SIZE[K|M|G] [--mode 0600] [--backend kmod|none]
 *   plctl destroy NAME [--force] [--backend kmod|none]
 *   plctl stats NAME [--backend kmod|none]
 *   plctl info NAME [--backend kmod|none]
 *   plctl check NAME [--backend kmod|none]
 *   plctl recover NAME [--backend kmod|none]
 *
 * Exit codes: 0 done, 1 the operation failed (check: the store is not
 * sound), 2 usage error. check and recover run inside the store (gate
 * ops): under kmod nothing outside it can read the store.
 * An ordinary client of libpl; info talks to the module (or reads the shm
 * file's header under none) since it must work without attaching.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <plmc.h>
#include <plmc/ioctl.h>

struct opts {
	const char *cmd;
	const char *name;
	uint64_t size;
	unsigned mode;
	int use;
	int force;
	unsigned numa, node; /* create --numa */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: plctl create NAME --size SIZE[K|M|G] [--mode 0600] "
		"[--backend kmod|none]\n"
		"             [--numa interleave|bind=N|local]\n"
		"       plctl destroy NAME [--force] [--backend kmod|none]\n"
		"       plctl stats NAME [--backend kmod|none]\n"
		"       plctl info NAME [--backend kmod|none]\n"
		"       plctl check NAME [--backend kmod|none]\n"
		"       plctl recover NAME [--backend kmod|none]\n");
}

/* "64M" -> 67108864; 0 on a malformed or overflowing size. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (~0ULL >> shift))
		return 0;
	return (uint64_t)v << shift;
}

static int parse_backend(const char *s)
{
	if (!strcmp(s, "kmod"))
		return PLMC_USE_KMOD;
	if (!strcmp(s, "none"))
		return PLMC_USE_NONE;
	if (!strcmp(s, "pku"))
		return PLMC_USE_PKU;
	return -1;
}

/* "interleave", "local", "bind=N". Return: 0 or -1. */
static int parse_numa(const char *s, struct opts *o)
{
	char *end;
	unsigned long n;

	o->node = 0;
	if (!strcmp(s, "interleave"))
		o->numa = PLMC_NUMA_INTERLEAVE;
	else if (!strcmp(s, "local"))
		o->numa = PLMC_NUMA_LOCAL;
	else if (!strncmp(s, "bind=", 5) && s[5] >= '0' && s[5] <= '9') {
		n = strtoul(s + 5, &end, 10);
		if (*end || n >= PLMC_NUMA_NODES)
			return -1;
		o->numa = PLMC_NUMA_BIND;
		o->node = (unsigned)n;
	} else
		return -1;
	return 0;
}

static int parse_mode(const char *s, unsigned *mode)
{
	char *end;
	unsigned long v = strtoul(s, &end, 8);

	if (end == s || *end || v > 0777)
		return -1;
	*mode = (unsigned)v;
	return 0;
}

/* Return: 0, or -1 after printing what is wrong. */
static int parse(int argc, char **argv, struct opts *o)
{
	int i;

	if (argc < 3)
		return -1;
	o->cmd = argv[1];
	o->name = argv[2];
	o->mode = 0600;
	for (i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--force")) {
			o->force = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "plctl: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--size") && (o->size = parse_size(v)))
			continue;
		if (!strcmp(a, "--mode") && !parse_mode(v, &o->mode))
			continue;
		if (!strcmp(a, "--numa") && !parse_numa(v, o))
			continue;
		if (!strcmp(a, "--backend") && (o->use = parse_backend(v)) >= 0)
			continue;
		fprintf(stderr, "plctl: bad option or value: %s %s\n", a, v);
		return -1;
	}
	return 0;
}

static int fail(const char *what, const char *name, int rc)
{
	fprintf(stderr, "plctl: %s %s: %s\n", what, name, plmc_strerror(rc));
	return 1;
}

static int cmd_create(const struct opts *o)
{
	int rc;

	if (!o->size) {
		fprintf(stderr, "plctl: create needs --size SIZE[K|M|G] "
				"(whole MiB, at least 4M)\n");
		return 2;
	}
	if (o->size < PLMC_STORE_MIN || o->size % PLMC_STORE_ALIGN) {
		fprintf(stderr, "plctl: --size must be whole MiB, at least "
				"4M\n");
		return 2;
	}
	rc = plmc_create_numa(o->name, o->size, o->mode, o->use, o->numa,
			      o->node);
	if (rc == -EINVAL && o->numa == PLMC_NUMA_BIND)
		fprintf(stderr, "plctl: is node %u a node with memory here?\n",
			o->node);
	if (rc)
		return fail("create", o->name, rc);
	printf("created %s: %llu bytes, mode %04o\n", o->name,
	       (unsigned long long)o->size, o->mode);
	return 0;
}

static int cmd_destroy(const struct opts *o)
{
	int rc = plmc_destroy(o->name, o->force, o->use);

	if (rc == -EBUSY)
		fprintf(stderr,
			"plctl: %s is attached; --force removes the "
			"name anyway\n",
			o->name);
	if (rc)
		return fail("destroy", o->name, rc);
	return 0;
}

static void stat_line(const char *k, uint64_t v)
{
	printf("STAT %s %llu\n", k, (unsigned long long)v);
}

static void print_stats(const struct plmc_stats *s)
{
	printf("STAT backend %s\n", plmc_backend());
	stat_line("time", s->time);
	stat_line("curr_items", s->curr_items);
	stat_line("total_items", s->total_items);
	stat_line("bytes", s->bytes);
	stat_line("limit_maxbytes", s->limit_maxbytes);
	stat_line("cmd_get", s->cmd_get);
	stat_line("cmd_set", s->cmd_set);
	stat_line("get_hits", s->get_hits);
	stat_line("get_misses", s->get_misses);
	stat_line("delete_hits", s->delete_hits);
	stat_line("delete_misses", s->delete_misses);
	stat_line("evictions", s->evictions);
	stat_line("generation", s->generation);
	stat_line("deaths", s->deaths);
	stat_line("dead_slots", s->dead_slots);
	stat_line("slots_busy", s->slots_busy);
	stat_line("nattach", s->nattach);
	stat_line("cmd_touch", s->cmd_touch);
	stat_line("incr_hits", s->incr_hits);
	stat_line("decr_hits", s->decr_hits);
	stat_line("cas_hits", s->cas_hits);
	stat_line("cmd_flush", s->cmd_flush);
	stat_line("reclaimed", s->reclaimed);
	printf("END\n");
}

static int cmd_stats(const struct opts *o)
{
	struct plmc_stats st;
	int rc;

	rc = plmc_attach(o->name, o->use);
	if (rc)
		return fail("attach", o->name, rc);
	memset(&st, 0, sizeof(st));
	rc = plmc_stats(&st);
	if (rc == PLMC_OK)
		print_stats(&st);
	plmc_detach();
	return rc == PLMC_OK ? 0 : fail("stats", o->name, rc);
}

/* One line: "ok" or "FAILED", the figures, the first problem found.
 * Dead slots are recovered first, as any client call would. */
static int cmd_check(const struct opts *o)
{
	struct plmc_check ck;
	int rc;

	rc = plmc_attach(o->name, o->use);
	if (rc)
		return fail("attach", o->name, rc);
	plmc_recover();
	memset(&ck, 0, sizeof(ck));
	rc = plmc_check(&ck);
	plmc_detach();
	if (rc != PLMC_OK)
		return fail("check", o->name, rc);
	printf("check %s: %s: items %llu bytes %llu chunks %llu free %llu "
	       "retired %llu pages %llu dead_slots %llu locks %llu%s: %s\n",
	       o->name, ck.errors ? "FAILED" : "ok",
	       (unsigned long long)ck.items, (unsigned long long)ck.bytes,
	       (unsigned long long)ck.chunks, (unsigned long long)ck.free,
	       (unsigned long long)ck.retired,
	       (unsigned long long)ck.pages_used,
	       (unsigned long long)ck.dead_slots,
	       (unsigned long long)ck.locks_held,
	       ck.quiescent ? "" : " (live: accounting not checked)", ck.msg);
	return ck.errors ? 1 : 0;
}

static int cmd_recover(const struct opts *o)
{
	int rc;

	rc = plmc_attach(o->name, o->use);
	if (rc)
		return fail("attach", o->name, rc);
	rc = plmc_recover();
	plmc_detach();
	if (rc < 0)
		return fail("recover", o->name, rc);
	printf("recovered %d slots\n", rc);
	return 0;
}

static int info_kmod(const char *name)
{
	struct plmc_info_args a;
	int fd, rc = 0;

	fd = open(PLMC_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open", PLMC_DEV_PATH, -errno);
	memset(&a, 0, sizeof(a));
	strncpy(a.name, name, sizeof(a.name) - 1);
	if (ioctl(fd, PLMC_IOC_INFO, &a))
		rc = -errno;
	close(fd);
	if (rc)
		return fail("info", name, rc);
	printf("name %s\nbackend kmod\nstore_size %llu\nimage_size %llu\n"
	       "nattach %llu\ngeneration %llu\ndeaths %llu\nuid %u\ngid %u\n"
	       "mode %04o\n",
	       name, (unsigned long long)a.store_size,
	       (unsigned long long)a.image_size, (unsigned long long)a.nattach,
	       (unsigned long long)a.generation, (unsigned long long)a.deaths,
	       a.uid, a.gid, a.mode);
	return 0;
}

/* none: the header sits in the shm file right after the image area. */
static int info_none(const char *name)
{
	struct plmc_store_hdr h;
	char path[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("info", name, -errno);
	if (fstat(fd, &st) ||
	    pread(fd, &h, sizeof(h),
		  PLMC_IMAGE_MAX + PLMC_STORE_OFF - PLMC_DATA_OFF) !=
		    (ssize_t)sizeof(h) ||
	    h.magic != PLMC_STORE_MAGIC) {
		close(fd);
		return fail("info", name, PLMC_E_CORRUPT);
	}
	close(fd);
	printf("name %s\nbackend none\nfile %s\nstore_size %llu\n"
	       "create_sec %llu\nnattach %llu\nattach_seq %llu\n"
	       "generation %llu\ndeaths %llu\nuid %u\ngid %u\nmode %04o\n",
	       name, path, (unsigned long long)h.store_size,
	       (unsigned long long)h.create_sec, (unsigned long long)h.nattach,
	       (unsigned long long)h.attach_seq,
	       (unsigned long long)h.generation, (unsigned long long)h.deaths,
	       (unsigned)st.st_uid, (unsigned)st.st_gid,
	       (unsigned)(st.st_mode & 0777));
	return 0;
}

static const char *const numa_names[] = {"default", "local", "interleave",
					  "bind"};

/* "numa: POLICY, pages per node: 0=N 1=M ..." after the info lines. */
static int print_numa(const char *name, int use)
{
	struct plmc_numa nu;
	unsigned i;
	int rc = plmc_numa_info(name, use, &nu);

	if (rc)
		return fail("numa info", name, rc);
	printf("numa: %s", numa_names[nu.numa & 3]);
	if (nu.numa == PLMC_NUMA_BIND)
		printf("=%u", nu.node);
	printf(", pages per node:");
	for (i = 0; i < nu.nr_nodes && i < PLMC_NUMA_NODES; i++)
		printf(" %u=%llu", i, (unsigned long long)nu.pages[i]);
	if (nu.absent)
		printf(", not yet allocated %llu",
		       (unsigned long long)nu.absent);
	if (nu.nr_nodes <= 1)
		printf(" (one node: placement has no effect here)");
	printf("\n");
	return 0;
}

static int cmd_info(const struct opts *o)
{
	int use = o->use, rc;
	const char *env = getenv("PLMC_BACKEND");

	if (use == PLMC_USE_AUTO && env && *env)
		use = parse_backend(env);
	if (use == PLMC_USE_AUTO)
		use = access(PLMC_DEV_PATH, F_OK) ? PLMC_USE_NONE
						  : PLMC_USE_KMOD;
	if (use == PLMC_USE_KMOD)
		rc = info_kmod(o->name);
	else if (use == PLMC_USE_NONE || use == PLMC_USE_PKU)
		rc = info_none(o->name); /* pku: the same file */
	else {
		fprintf(stderr, "plctl: PLMC_BACKEND must be kmod, none or pku\n");
		return 2;
	}
	return rc ? rc : print_numa(o->name, use);
}

int main(int argc, char **argv)
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	if (parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (!strcmp(o.cmd, "create"))
		return cmd_create(&o);
	if (!strcmp(o.cmd, "destroy"))
		return cmd_destroy(&o);
	if (!strcmp(o.cmd, "stats"))
		return cmd_stats(&o);
	if (!strcmp(o.cmd, "info"))
		return cmd_info(&o);
	if (!strcmp(o.cmd, "check"))
		return cmd_check(&o);
	if (!strcmp(o.cmd, "recover"))
		return cmd_recover(&o);
	fprintf(stderr, "plctl: unknown command %s\n", o.cmd);
	usage();
	return 2;
}
