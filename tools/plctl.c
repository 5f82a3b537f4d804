// SPDX-License-Identifier: MIT
/*
 * tools/plctl.c - manage plmc stores from the shell.
 *
 *   plctl create NAME --size SIZE[K|M|G] | -m MEMORY[K|M|G]
 *                [--mode 0600] [--group GROUP] [--slots-per-client N]
 *                [--item-max SIZE] [--factor F] [--slab-min N]
 *                [--test-image] [--backend kmod|none|pku]
 *   plctl destroy NAME [--force] [--backend kmod|none|pku]
 *   plctl stats NAME [--json] [--backend kmod|none|pku]
 *   plctl top NAME [--interval SECONDS] [--count N] [--backend kmod|none|pku]
 *   plctl list [NAME...] [--backend kmod|none|pku]
 *   plctl info NAME [--backend kmod|none|pku]
 *   plctl check NAME [--backend kmod|none|pku]
 *   plctl recover NAME [--backend kmod|none|pku]
 *   plctl --help | --version
 *
 * Exit codes: 0 done, 1 the operation failed (check: the store is not
 * sound), 2 usage error (the usage goes to stderr then; --help prints it
 * to stdout and exits 0). check and recover run inside the store (gate
 * ops): under kmod nothing outside it can read the store.
 * An ordinary client of libpl; info talks to the module (or reads the shm
 * file's header under none) since it must work without attaching.
 */
#include <ctype.h>
#include <dirent.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <stddef.h>
#include <time.h>
#include <plmc.h>
#include <plmc/ioctl.h>

struct opts {
	const char *cmd;
	const char *name;
	uint64_t size;
	uint64_t memory; /* create -m: item memory (limit_maxbytes) */
	unsigned mode;
	unsigned quota; /* 0: the default */
	int use;
	int force;
	int test_image; /* create --test-image */
	uint64_t item_max;     /* store settings (memcached -I -f -n) */
	uint32_t slab_factor;  /* x 1000 */
	uint32_t slab_min;
	int json;	 /* stats --json */
	double interval; /* top: seconds between samples */
	long count;	 /* top: samples, then stop (0: until interrupted) */
	unsigned numa, node; /* create --numa */
	int has_gid;	     /* create --group */
	unsigned gid;
	unsigned tenants;    /* create --tenants */
};

#ifndef PLMC_VERSION
#define PLMC_VERSION "unknown"
#endif

static void usage_to(FILE *f)
{
	fprintf(f,
		"usage: plctl create NAME --size SIZE[K|M|G] | -m MEMORY[K|M|G] "
		"[--mode 0600]\n"
		"                    [--group GROUP] "
		"[--slots-per-client N] "
		"[--backend kmod|none|pku]\n"
		"                    [--item-max SIZE] [--factor F] "
		"[--slab-min N]\n"
		"                    [--numa interleave|bind=N|local] "
		"[--test-image] [--tenants N]\n"
		"       plctl destroy NAME [--force] [--backend "
		"kmod|none|pku]\n"
		"       plctl stats NAME [--json] [--backend kmod|none|pku]\n"
		"       plctl top NAME [--interval SECONDS] [--count N] "
		"[--backend kmod|none|pku]\n"
		"       plctl list [NAME...] [--backend kmod|none|pku]\n"
		"       plctl info NAME [--backend kmod|none|pku]\n"
		"       plctl check NAME [--backend kmod|none|pku]\n"
		"       plctl recover NAME [--backend kmod|none|pku]\n"
		"       plctl tenant list NAME [--json] [--backend kmod|none|pku]\n"
		"       plctl tenant add|set NAME UID|USER [--quota SIZE] "
		"[--proxy] [--backend kmod|none|pku]\n"
		"       plctl tenant flush NAME [--backend kmod|none|pku]\n"
		"       plctl --help | --version\n");
}

static void usage(void)
{
	usage_to(stderr);
}

/* Options that take a value, and those that do not. */
static const char *const opts_valued[] = {
	"--size", "-m", "--memory", "--mode", "--slots-per-client", "--numa",
	"--backend", "--item-max", "--factor", "--slab-min", "--interval", "--count",
	"--group",
	"--tenants",
};
static const char *const opts_flags[] = {"--force", "--json",
					 "--test-image"};

static int known(const char *a, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a, list[i]))
			return 1;
	return 0;
}

#define KNOWN(a, l) known(a, l, sizeof(l) / sizeof(l[0]))

/* An argument that is no option: say which, before anything else. */
static int unknown_arg(const char *a)
{
	if (KNOWN(a, opts_valued) || KNOWN(a, opts_flags))
		return 0;
	if (!strncmp(a, "-", 1))
		fprintf(stderr,
			"plctl: unknown option %s (plctl --help lists them)\n",
			a);
	else
		fprintf(stderr, "plctl: unexpected argument %s\n", a);
	return 1;
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

/* 1..PLMC_MAX_SLOTS */
static int parse_quota(const char *s, unsigned *q)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || !v || v > PLMC_MAX_SLOTS)
		return -1;
	*q = (unsigned)v;
	return 0;
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

/* A group by name, or a number. Return: 0 or -1. */
static int parse_group(const char *s, struct opts *o)
{
	struct group *g = getgrnam(s);
	char *end;
	unsigned long v;

	if (g) {
		o->gid = (unsigned)g->gr_gid;
	} else {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || *end || *s == '-' ||
		    v >= 0xffffffffUL) {
			fprintf(stderr, "plctl: --group %s: no such group\n",
				s);
			return -1;
		}
		o->gid = (unsigned)v;
	}
	o->has_gid = 1;
	return 0;
}

/* An option given twice is a mistake to point out, not to settle by
 * taking the last: "--size 8M --size 16M" names two stores. Return: 1 if
 * argv[3..i) has @a already (said on stderr). */
static int repeated(char **argv, int i, const char *a)
{
	for (int j = 2; j < i; j++)
		if (!strcmp(argv[j], a)) {
			fprintf(stderr, "plctl: %s given twice\n", a);
			return 1;
		}
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

/* "1.25" -> 1250 (x 1000); 0 when malformed or out of 1.01..4. */
static uint32_t parse_factor(const char *s)
{
	char *end;
	double f = strtod(s, &end);

	if (end == s || *end || !(f >= 1.01 && f <= 4.0))
		return 0;
	return (uint32_t)(f * 1000 + 0.5);
}

static uint32_t parse_u32(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	return end == s || *end || v > 0xffffffffUL ? 0 : (uint32_t)v;
}

/* The options of stats and top: 1 taken (with its value, but --json has
 * none), 0 not one of them, -1 a bad value. */
static int view_opt(struct opts *o, const char *a, const char *v)
{
	char *end;

	if (!strcmp(a, "--json")) {
		o->json = 1;
		return 1;
	}
	if (!v)
		return 0;
	if (!strcmp(a, "--interval")) {
		o->interval = strtod(v, &end);
		if (end == v || *end || !(o->interval >= 0.01) ||
		    o->interval > 3600)
			return -1;
		return 1;
	}
	if (!strcmp(a, "--count")) {
		errno = 0;
		o->count = strtol(v, &end, 10);
		if (errno || end == v || *end || o->count < 1)
			return -1;
		return 1;
	}
	return 0;
}

/* create -m: memcached's -m, so a bare number is MiB. */
static uint64_t parse_memory(const char *s)
{
	size_t n = strlen(s);

	if (n && s[n - 1] >= '0' && s[n - 1] <= '9') {
		uint64_t mb = parse_size(s);

		return mb <= (~0ULL >> 20) ? mb << 20 : 0;
	}
	return parse_size(s);
}

/* Return: 0, or -1 after printing what is wrong. */
static int parse(int argc, char **argv, struct opts *o)
{
	int i;

	if (argc < 3)
		return -1;
	o->cmd = argv[1];
	o->mode = 0600;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		/* NAME wherever it stands, as getopt permutes: the first
		 * word that is no option nor an option's value. */
		if (a[0] != '-' && !o->name) {
			o->name = a;
			continue;
		}
		if (!strcmp(a, "--") && v && !o->name) { /* a NAME "-..." */
			o->name = argv[++i];
			continue;
		}
		if (unknown_arg(a) || repeated(argv, i, a))
			return -1;
		if (!strcmp(a, "--force")) {
			o->force = 1;
			continue;
		}
		if (!strcmp(a, "--test-image")) {
			o->test_image = 1;
			continue;
		}
		switch (view_opt(o, a, v)) {
		case 1:
			i += strcmp(a, "--json") != 0;
			continue;
		case -1:
			fprintf(stderr, "plctl: bad value: %s %s\n", a, v);
			return -1;
		}
		if (!v) {
			fprintf(stderr, "plctl: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--size") && (o->size = parse_size(v)))
			continue;
		if ((!strcmp(a, "-m") || !strcmp(a, "--memory")) &&
		    (o->memory = parse_memory(v)))
			continue;
		if (!strcmp(a, "--mode") && !parse_mode(v, &o->mode))
			continue;
		if (!strcmp(a, "--group")) {
			if (parse_group(v, o))
				return -1;
			continue;
		}
		if (!strcmp(a, "--slots-per-client") &&
		    !parse_quota(v, &o->quota))
			continue;
		if (!strcmp(a, "--numa") && !parse_numa(v, o))
			continue;
		if (!strcmp(a, "--backend") && (o->use = parse_backend(v)) >= 0)
			continue;
		if (!strcmp(a, "--item-max") && (o->item_max = parse_size(v)))
			continue;
		if (!strcmp(a, "--factor") && (o->slab_factor = parse_factor(v)))
			continue;
		if (!strcmp(a, "--slab-min") && (o->slab_min = parse_u32(v)))
			continue;
		if (!strcmp(a, "--tenants") && (o->tenants = parse_u32(v)) &&
		    o->tenants <= PLMC_TENANT_MAX)
			continue;
		fprintf(stderr, "plctl: bad option or value: %s %s\n", a, v);
		return -1;
	}
	if (!o->name) {
		fprintf(stderr, "plctl: %s needs a store NAME\n", o->cmd);
		return -1;
	}
	return 0;
}

static int fail(const char *what, const char *name, int rc)
{
	fprintf(stderr, "plctl: %s %s: %s\n", what, name, plmc_strerror(rc));
	return 1;
}

/* Attach to the store named: 0, or 1 with the error said. */
static int attach_named(const struct opts *o)
{
	int rc = plmc_attach(o->name, o->use);

	return rc ? fail("attach", o->name, rc) : 0;
}

/* plmc_stats into a zeroed @st of this build's size. */
static int stats_read(struct plmc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return plmc_stats(st);
}

/*
 * The segment holds the store's header and hash table (and the pages
 * kept for the table to grow into) besides the item pages, so with
 * --size memcached's limit_maxbytes comes out below it (with -m it is
 * -m): say how much, from the store itself. Quietly nothing when this
 * caller may not attach.
 */
static void print_item_room(const struct opts *o)
{
	struct plmc_stats st = {.size = sizeof(st)};

	if (plmc_attach(o->name, o->use))
		return;
	if (plmc_stats(&st) == PLMC_OK)
		printf("items: %llu bytes (limit_maxbytes; the other %llu "
		       "hold the hash table and headers)\n",
		       (unsigned long long)st.limit_maxbytes,
		       (unsigned long long)(o->size - st.limit_maxbytes));
	plmc_detach();
}

/*
 * -m MEMORY: the store size whose item memory is exactly MEMORY, by the
 * store's own layout arithmetic (plmc_store_size_for).
 * Return: 0, or 2 after printing the usage error.
 */
static int create_size(struct opts *o)
{
	if (o->memory && o->size) {
		fprintf(stderr, "plctl: create takes --size or -m, not both\n");
		return 2;
	}
	if (!o->memory)
		return 0;
	o->size = plmc_store_size_for(o->memory);
	if (!o->size) {
		fprintf(stderr, "plctl: -m must be whole MiB, at least 3M\n");
		return 2;
	}
	return 0;
}

static int cmd_create(struct opts *o)
{
	int rc;

	if (create_size(o))
		return 2;
	if (!o->size) {
		fprintf(stderr, "plctl: create needs --size SIZE[K|M|G] "
				"(whole MiB, at least 4M) or -m MEMORY\n");
		return 2;
	}
	if (o->size < PLMC_STORE_MIN || o->size % PLMC_STORE_ALIGN) {
		fprintf(stderr, "plctl: --size must be whole MiB, at least "
				"4M\n");
		return 2;
	}
	struct plmc_create_opts c = {
		.size = sizeof(c), .store_size = o->size, .mode = o->mode,
		.use = o->use, .item_max = o->item_max,
		.slab_factor = o->slab_factor, .slab_min = o->slab_min,
		.slot_quota = o->quota, .numa = o->numa, .numa_node = o->node,
		.flags = (o->test_image ? PLMC_CREATE_TEST_IMAGE : 0) |
			 (o->has_gid ? PLMC_CREATE_GROUP : 0),
		.gid = o->gid,
		.tenants = o->tenants,
	};

	/* The store's own rule (layout.h), so the message comes before
	 * create's -EINVAL. */
	if (!plmc_cfg_ok(o->item_max, o->slab_factor, o->slab_min)) {
		fprintf(stderr, "plctl: --item-max must be 1K..1M, --slab-min "
				"8..1024\n");
		return 2;
	}
	rc = plmc_create_ex(o->name, &c);
	if (rc == -EINVAL && o->numa == PLMC_NUMA_BIND)
		fprintf(stderr, "plctl: is node %u a node with memory here?\n",
			o->node);
	if (rc == -EPERM && o->has_gid)
		fprintf(stderr, "plctl: only root may give a store a group "
				"it is not in (--group %u)\n", o->gid);
	if (rc)
		return fail("create", o->name, rc);
	printf("created %s: %llu bytes, mode %04o, group %u, %u slots per "
	       "client%s\n",
	       o->name, (unsigned long long)o->size, o->mode,
	       o->has_gid ? o->gid : (unsigned)getegid(),
	       o->quota ? o->quota : PLMC_SLOT_QUOTA_DEFAULT,
	       o->test_image ? ", test image" : "");
	if (o->tenants)
		printf("tenants: up to %u, each with its own keys and a quota "
		       "(plctl tenant set)\n",
		       o->tenants);
	print_item_room(o);
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

/*
 * stats: memcached's names, in memcached's order, for every counter the
 * store keeps; then plmc's own (plmcd's names for them). Text: "STAT name
 * value" lines and END, as memcached's stats command; --json: one object.
 */
struct stat_row {
	const char *name;
	size_t off; /* offsetof(struct plmc_stats, field) */
};

#define ROW(n, f) { n, offsetof(struct plmc_stats, f) }
static const struct stat_row stat_rows[] = {
	ROW("time", time),
	ROW("cmd_get", cmd_get),
	ROW("cmd_set", cmd_set),
	ROW("cmd_flush", cmd_flush),
	ROW("cmd_touch", cmd_touch),
	ROW("get_hits", get_hits),
	ROW("get_misses", get_misses),
	ROW("get_expired", get_expired),
	ROW("get_flushed", get_flushed),
	ROW("delete_misses", delete_misses),
	ROW("delete_hits", delete_hits),
	ROW("incr_misses", incr_misses),
	ROW("incr_hits", incr_hits),
	ROW("decr_misses", decr_misses),
	ROW("decr_hits", decr_hits),
	ROW("cas_misses", cas_misses),
	ROW("cas_hits", cas_hits),
	ROW("cas_badval", cas_badval),
	ROW("touch_hits", touch_hits),
	ROW("touch_misses", touch_misses),
	ROW("curr_items", curr_items),
	ROW("total_items", total_items),
	ROW("bytes", bytes),
	ROW("limit_maxbytes", limit_maxbytes),
	ROW("evictions", evictions),
	ROW("reclaimed", reclaimed),
	ROW("expired_unfetched", expired_unfetched),
	ROW("evicted_unfetched", evicted_unfetched),
	ROW("item_size_max", item_size_max),
	ROW("slab_page_size", slab_page_size),
	ROW("slab_classes", slab_classes),
	ROW("active_slabs", active_slabs),
	ROW("total_malloced", total_malloced),
	ROW("hash_buckets", hash_buckets),
	ROW("plmc_growth_permille", growth_factor),
	ROW("plmc_chunk_min", chunk_size),
	ROW("plmc_reset_time", reset_time),
	ROW("plmc_generation", generation),
	ROW("plmc_deaths", deaths),
	ROW("plmc_dead_slots", dead_slots),
	ROW("plmc_slots_busy", slots_busy),
	ROW("plmc_attached", nattach),
};
#undef ROW

static uint64_t stat_val(const struct plmc_stats *s, size_t i)
{
	return *(const uint64_t *)((const char *)s + stat_rows[i].off);
}

/* JSON string body: names and versions are plain, but escape anyway. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_stats(const char *name, const struct plmc_stats *s,
			int json)
{
	char version[64] = "unknown";
	size_t n = sizeof(stat_rows) / sizeof(stat_rows[0]);

	plmc_version(version, sizeof(version));
	if (!json) {
		printf("STAT version %s\n", version);
		printf("STAT pointer_size %zu\n", sizeof(void *) * 8);
		for (size_t i = 0; i < n; i++)
			printf("STAT %s %llu\n", stat_rows[i].name,
			       (unsigned long long)stat_val(s, i));
		printf("STAT plmc_backend %s\n", plmc_backend());
		printf("END\n");
		return;
	}
	printf("{\"name\": ");
	json_str(name);
	printf(", \"version\": ");
	json_str(version);
	printf(", \"pointer_size\": %zu", sizeof(void *) * 8);
	for (size_t i = 0; i < n; i++)
		printf(", \"%s\": %llu", stat_rows[i].name,
		       (unsigned long long)stat_val(s, i));
	printf(", \"plmc_backend\": ");
	json_str(plmc_backend());
	printf("}\n");
}

static int cmd_stats(const struct opts *o)
{
	struct plmc_stats st;
	int rc;

	if (attach_named(o))
		return 1;
	rc = stats_read(&st);
	if (rc == PLMC_OK)
		print_stats(o->name, &st, o->json);
	plmc_detach();
	return rc == PLMC_OK ? 0 : fail("stats", o->name, rc);
}

/*
 * top: per-second rates between two samples of the counters. On a
 * terminal (and without --count) the screen is redrawn in place with a
 * memory and a hit-ratio bar; otherwise one line per sample, for logs
 * and tests.
 */
static volatile sig_atomic_t top_stop;

static void top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bar(char *out, size_t width, double frac)
{
	size_t full = frac <= 0 ? 0 : frac >= 1 ? width
						: (size_t)(frac * (double)width + 0.5);

	for (size_t i = 0; i < width; i++)
		out[i] = i < full ? '#' : '.';
	out[width] = 0;
}

/* A counter that went back (the store was recreated) reads as 0. */
static double rate(uint64_t now, uint64_t before, double dt)
{
	return now >= before ? (double)(now - before) / dt : 0;
}

struct rates {
	double gets, sets, hits, misses, evictions;
};

static void top_screen(const struct opts *o, const struct plmc_stats *s,
		       const struct rates *r, long n)
{
	char mem[41], hit[41];
	double used = s->limit_maxbytes
			      ? (double)s->bytes / (double)s->limit_maxbytes
			      : 0;
	double ratio = r->hits + r->misses > 0
			       ? r->hits / (r->hits + r->misses)
			       : 0;

	bar(mem, 40, used);
	bar(hit, 40, ratio);
	printf("\033[H\033[2J");
	printf("plctl top %s  (backend %s, every %.2g s, sample %ld; "
	       "Ctrl-C quits)\n\n",
	       o->name, plmc_backend(), o->interval, n);
	printf("  memory  [%s] %5.1f%%  %llu of %llu bytes\n", mem,
	       used * 100, (unsigned long long)s->bytes,
	       (unsigned long long)s->limit_maxbytes);
	printf("  hits    [%s] %5.1f%%  of gets this second\n\n", hit,
	       ratio * 100);
	printf("  %12s %12s %12s %12s %12s\n", "gets/s", "sets/s", "hits/s",
	       "misses/s", "evictions/s");
	printf("  %12.0f %12.0f %12.0f %12.0f %12.0f\n\n", r->gets, r->sets,
	       r->hits, r->misses, r->evictions);
	printf("  items %llu  attached %llu  deaths %llu\n",
	       (unsigned long long)s->curr_items,
	       (unsigned long long)s->nattach, (unsigned long long)s->deaths);
	fflush(stdout);
}

static int cmd_top(struct opts *o)
{
	struct plmc_stats prev, cur;
	struct sigaction sa;
	double start, t0, t1;
	int rc, screen;
	long n = 0;

	if (o->interval == 0)
		o->interval = 1.0;
	screen = !o->count && isatty(STDOUT_FILENO);
	if (attach_named(o))
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = stats_read(&prev);
	start = t0 = mono_now();
	if (!screen)
		printf("%8s %10s %10s %10s %10s %10s %10s %12s\n", "elapsed",
		       "gets/s", "sets/s", "hits/s", "misses/s", "evict/s",
		       "items", "bytes");
	while (rc == PLMC_OK && !top_stop && (!o->count || n < o->count)) {
		struct timespec ts = {
			.tv_sec = (time_t)o->interval,
			.tv_nsec = (long)((o->interval - (double)(time_t)o->interval) * 1e9),
		};
		struct rates r;
		double dt;

		while (nanosleep(&ts, &ts) && errno == EINTR && !top_stop)
			;
		if (top_stop)
			break;
		rc = stats_read(&cur);
		if (rc != PLMC_OK)
			break;
		t1 = mono_now();
		dt = t1 - t0 > 1e-6 ? t1 - t0 : 1e-6;
		r.gets = rate(cur.cmd_get, prev.cmd_get, dt);
		r.sets = rate(cur.cmd_set, prev.cmd_set, dt);
		r.hits = rate(cur.get_hits, prev.get_hits, dt);
		r.misses = rate(cur.get_misses, prev.get_misses, dt);
		r.evictions = rate(cur.evictions, prev.evictions, dt);
		n++;
		if (screen)
			top_screen(o, &cur, &r, n);
		else
			printf("%8.2f %10.0f %10.0f %10.0f %10.0f %10.0f %10llu "
			       "%12llu\n",
			       t1 - start, r.gets, r.sets,
			       r.hits, r.misses, r.evictions,
			       (unsigned long long)cur.curr_items,
			       (unsigned long long)cur.bytes);
		fflush(stdout);
		prev = cur;
		t0 = t1;
	}
	plmc_detach();
	return rc == PLMC_OK ? 0 : fail("stats", o->name, rc);
}

/* One line: "ok" or "FAILED", the figures, the first problem found.
 * Dead slots are recovered first, as any client call would. */
static int cmd_check(const struct opts *o)
{
	struct plmc_check ck;
	int rc;

	if (attach_named(o))
		return 1;
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

	if (attach_named(o))
		return 1;
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
	       "mode %04o\nslots_per_client %u\n",
	       name, (unsigned long long)a.store_size,
	       (unsigned long long)a.image_size, (unsigned long long)a.nattach,
	       (unsigned long long)a.generation, (unsigned long long)a.deaths,
	       a.uid, a.gid, a.mode, a.slot_quota);
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
	       "generation %llu\ndeaths %llu\nuid %u\ngid %u\nmode %04o\n"
	       "slots_per_client %u\n",
	       name, path, (unsigned long long)h.store_size,
	       (unsigned long long)h.create_sec, (unsigned long long)h.nattach,
	       (unsigned long long)h.attach_seq,
	       (unsigned long long)h.generation, (unsigned long long)h.deaths,
	       (unsigned)st.st_uid, (unsigned)st.st_gid,
	       (unsigned)(st.st_mode & 0777),
	       h.slot_quota ? h.slot_quota : PLMC_SLOT_QUOTA_DEFAULT);
	return 0;
}

/*
 * list: the segments and who is attached.
 *  none: every /dev/shm/plmc.NAME (its header), and the processes that
 *        map that file (from /proc/PID/maps; other users' processes
 *        only as root).
 *  kmod: the module has no listing ioctl, so names cannot be found; each
 *        NAME given is asked with PLMC_IOC_INFO, and the processes that
 *        map /dev/plmc are listed (which segment each one holds is not
 *        visible from outside: every segment maps at the same address).
 */
static int pids_mapping(const char *path, int *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t plen = strlen(path);
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char maps[64], line[512];
		FILE *f;
		int pid = atoi(e->d_name);

		if (pid <= 0)
			continue;
		snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
		f = fopen(maps, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			size_t l = strlen(line);

			if (l && line[l - 1] == '\n')
				line[--l] = 0;
			if (l >= plen && !strcmp(line + l - plen, path) &&
			    (l == plen || line[l - plen - 1] == ' ')) {
				pids[n++] = pid;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void print_pids(const int *pids, int n)
{
	for (int i = 0; i < n; i++) {
		char path[64], comm[64] = "?";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pids[i]);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		printf("  pid %d %s\n", pids[i], comm);
	}
}

/* Is @name one of the NAMEs on plctl list's line (all when none)? */
static int listed(const char *name, int argc, char **argv, int first)
{
	int any = 0;

	for (int i = first; i < argc; i++) {
		if (!strcmp(argv[i], "--backend")) {
			i++;
			continue;
		}
		any = 1;
		if (!strcmp(argv[i], name))
			return 1;
	}
	return !any;
}

/*
 * Each NAME given that has no file, said on stderr as list_kmod says it.
 * Return: 1 if one was missing, else 0.
 */
static int list_none_missing(int argc, char **argv, int first)
{
	char path[300];
	int rc = 0;

	for (int i = first; i < argc; i++) {
		if (!strcmp(argv[i], "--backend")) {
			i++;
			continue;
		}
		snprintf(path, sizeof(path), "/dev/shm/plmc.%s", argv[i]);
		if (access(path, F_OK)) {
			fprintf(stderr,
				"plctl: list %s: no such store (backend none, "
				"/dev/shm)\n",
				argv[i]);
			rc = 1;
		}
	}
	return rc;
}

static int list_none(int argc, char **argv, int first)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int found = 0;

	if (!d)
		return fail("list", "/dev/shm", -errno);
	while ((e = readdir(d))) {
		struct plmc_store_hdr h;
		char path[300];
		struct stat st;
		int fd, pids[256], n;

		if (strncmp(e->d_name, "plmc.", 5) || !e->d_name[5] ||
		    !listed(e->d_name + 5, argc, argv, first))
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("segment %s: backend none, file %s, not "
			       "readable: %s\n",
			       e->d_name + 5, path, strerror(errno));
			found++;
			continue;
		}
		if (fstat(fd, &st) ||
		    pread(fd, &h, sizeof(h),
			  PLMC_IMAGE_MAX + PLMC_STORE_OFF - PLMC_DATA_OFF) !=
			    (ssize_t)sizeof(h) ||
		    h.magic != PLMC_STORE_MAGIC) {
			close(fd);
			continue; /* not a store (or being built) */
		}
		close(fd);
		n = pids_mapping(path, pids, 256);
		printf("segment %s: backend none, file %s, store_size %llu, "
		       "uid %u, mode %04o, nattach %llu, processes %d\n",
		       e->d_name + 5, path, (unsigned long long)h.store_size,
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
		       (unsigned long long)h.nattach, n);
		print_pids(pids, n);
		found++;
	}
	closedir(d);
	if (!found && listed("", argc, argv, first))
		printf("no segments (backend none, /dev/shm)\n");
	return list_none_missing(argc, argv, first);
}

static int list_kmod(int argc, char **argv, int first)
{
	int pids[256], n, rc = 0;

	for (int i = first; i < argc; i++) {
		struct plmc_info_args a;
		int fd;

		if (!strncmp(argv[i], "--", 2)) {
			i++;
			continue;
		}
		fd = open(PLMC_DEV_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail("open", PLMC_DEV_PATH, -errno);
		memset(&a, 0, sizeof(a));
		strncpy(a.name, argv[i], sizeof(a.name) - 1);
		if (ioctl(fd, PLMC_IOC_INFO, &a)) {
			rc = fail("info", argv[i], -errno);
			close(fd);
			continue;
		}
		close(fd);
		printf("segment %s: backend kmod, store_size %llu, uid %u, "
		       "mode %04o, nattach %llu\n",
		       argv[i], (unsigned long long)a.store_size, a.uid,
		       a.mode, (unsigned long long)a.nattach);
	}
	n = pids_mapping(PLMC_DEV_PATH, pids, 256);
	printf("processes mapping %s: %d (the module has no listing "
	       "ioctl: name segments to see them)\n",
	       PLMC_DEV_PATH, n);
	print_pids(pids, n);
	return rc;
}

static int cmd_list(int argc, char **argv)
{
	const char *env = getenv("PLMC_BACKEND");
	int use = PLMC_USE_AUTO;

	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--backend")) {
			if (i + 1 >= argc ||
			    (use = parse_backend(argv[i + 1])) < 0) {
				usage();
				return 2;
			}
			i++;
		} else if (!strcmp(argv[i], "--json")) {
			fprintf(stderr, "plctl: --json is for stats and tenant list only\n");
			return 2;
		} else if (argv[i][0] == '-') {
			unknown_arg(argv[i]);
			return 2;
		}
	if (use == PLMC_USE_AUTO && env && *env)
		use = parse_backend(env);
	if (use == PLMC_USE_AUTO)
		use = access(PLMC_DEV_PATH, F_OK) ? PLMC_USE_NONE
						  : PLMC_USE_KMOD;
	if (use == PLMC_USE_KMOD)
		return list_kmod(argc, argv, 2);
	if (use == PLMC_USE_NONE || use == PLMC_USE_PKU)
		return list_none(argc, argv, 2); /* pku: the same files */
	fprintf(stderr, "plctl: PLMC_BACKEND must be kmod, none or pku\n");
	return 2;
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

/*
 * plctl tenant list|add|set|flush NAME ...: the store's tenants
 * (docs/tenants.md). The store decides who may: list shows the owner
 * and root every tenant, others their own row; set and flush are the
 * owner's and root's.
 */
struct tenant_opts {
	const char *sub, *name, *who;
	uint64_t quota;
	uint32_t flags;
	int use, json;
};

/* A uid: digits, or a user name in /etc/passwd. Return: 0 or -1. */
static int tenant_uid(const char *s, uint32_t *uid)
{
	struct passwd *pw;
	FILE *f;
	char *end;
	unsigned long v;

	if (isdigit((unsigned char)*s)) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || *end || v >= 0xffffffffUL)
			return -1;
		*uid = (uint32_t)v;
		return 0;
	}
	/* /etc/passwd itself, not NSS: plctl is also linked static (the
	 * test host), where getpwnam would need glibc's shared modules */
	f = fopen("/etc/passwd", "r");
	if (!f)
		return -1;
	while ((pw = fgetpwent(f)))
		if (!strcmp(pw->pw_name, s))
			break;
	if (pw)
		*uid = (uint32_t)pw->pw_uid;
	fclose(f);
	return pw ? 0 : -1;
}

static int tenant_parse(int argc, char **argv, struct tenant_opts *t)
{
	int i, who = 0;

	if (argc < 4)
		return -1;
	t->sub = argv[2];
	who = !strcmp(t->sub, "add") || !strcmp(t->sub, "set");
	for (i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		/* NAME (and add/set's UID|USER) wherever they stand, as
		 * getopt permutes: words that are no option nor its value */
		if (a[0] != '-' && (!t->name || (who && !t->who))) {
			*(t->name ? &t->who : &t->name) = a;
		} else if (!strcmp(a, "--proxy")) {
			t->flags |= PLMC_TENANT_PROXY;
		} else if (!strcmp(a, "--json")) {
			t->json = 1;
		} else if (!strcmp(a, "--quota") && v &&
			   (t->quota = parse_size(v))) {
			i++;
		} else if (!strcmp(a, "--backend") && v &&
			   (t->use = parse_backend(v)) >= 0) {
			i++;
		} else {
			fprintf(stderr, "plctl: tenant: bad argument %s\n", a);
			return -1;
		}
	}
	return t->name && (!who || t->who) ? 0 : -1;
}

static void tenant_row(const struct plmc_tenant *e, int json, int first)
{
	if (!json) {
		printf("%-10u %-6s %12llu %12lld %12lld %10lld %10llu %10llu "
		       "%10llu %10llu %8llu\n",
		       e->id, e->flags & PLMC_TENANT_PROXY ? "proxy" : "-",
		       (unsigned long long)e->quota, (long long)e->mem,
		       (long long)e->bytes, (long long)e->items,
		       (unsigned long long)e->cmd_get,
		       (unsigned long long)e->get_hits,
		       (unsigned long long)e->cmd_set,
		       (unsigned long long)e->evictions,
		       (unsigned long long)e->outofmemory);
		return;
	}
	printf("%s{\"id\": %u, \"proxy\": %s, \"quota\": %llu, \"mem\": %lld, "
	       "\"bytes\": %lld, \"curr_items\": %lld, \"cmd_get\": %llu, "
	       "\"get_hits\": %llu, \"cmd_set\": %llu, \"evictions\": %llu, "
	       "\"outofmemory\": %llu, \"cmd_flush\": %llu}",
	       first ? "" : ", ", e->id,
	       e->flags & PLMC_TENANT_PROXY ? "true" : "false",
	       (unsigned long long)e->quota, (long long)e->mem,
	       (long long)e->bytes, (long long)e->items,
	       (unsigned long long)e->cmd_get, (unsigned long long)e->get_hits,
	       (unsigned long long)e->cmd_set,
	       (unsigned long long)e->evictions,
	       (unsigned long long)e->outofmemory,
	       (unsigned long long)e->cmd_flush);
}

static int tenant_list(const struct tenant_opts *t)
{
	struct plmc_tenant e[PLMC_TENANT_MAX];
	size_t n = 0, i;
	int rc = plmc_tenant_list(e, PLMC_TENANT_MAX, &n);

	if (rc)
		return rc;
	if (!t->json)
		printf("%-10s %-6s %12s %12s %12s %10s %10s %10s %10s %10s "
		       "%8s\n",
		       "id", "flags", "quota", "mem", "bytes", "items",
		       "cmd_get", "get_hits", "cmd_set", "evictions", "nomem");
	else
		printf("[");
	for (i = 0; i < n && i < PLMC_TENANT_MAX; i++)
		tenant_row(&e[i], t->json, !i);
	if (t->json)
		printf("]\n");
	return 0;
}

static int tenant_run(const struct tenant_opts *t)
{
	uint32_t uid;

	if (!strcmp(t->sub, "list"))
		return tenant_list(t);
	if (!strcmp(t->sub, "flush"))
		return plmc_flush_store(0);
	if (tenant_uid(t->who, &uid)) {
		fprintf(stderr, "plctl: tenant: no such uid or user: %s\n",
			t->who);
		return 1; /* said: exit 2, as a usage error */
	}
	return plmc_tenant_set(uid, t->quota, t->flags);
}

static int cmd_tenant(int argc, char **argv)
{
	struct tenant_opts t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (tenant_parse(argc, argv, &t) ||
	    (strcmp(t.sub, "list") && strcmp(t.sub, "add") &&
	     strcmp(t.sub, "set") && strcmp(t.sub, "flush"))) {
		usage();
		return 2;
	}
	rc = plmc_attach(t.name, t.use);
	if (rc)
		return fail("attach", t.name, rc);
	rc = tenant_run(&t);
	plmc_detach();
	if (rc == 1)
		return 2;
	if (rc == PLMC_E_INVAL)
		fprintf(stderr, "plctl: %s has no tenants, or a bad value\n",
			t.name);
	return rc ? fail("tenant", t.name, rc) : 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage_to(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("plctl (plmc) %s\n", PLMC_VERSION);
			return 0;
		}
	}
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return cmd_list(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "tenant"))
		return cmd_tenant(argc, argv);
	if (parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (o.json && strcmp(o.cmd, "stats")) {
		fprintf(stderr, "plctl: --json is for stats and tenant list only\n");
		return 2;
	}
	if (o.has_gid && strcmp(o.cmd, "create")) {
		fprintf(stderr, "plctl: --group is for create only\n");
		return 2;
	}
	if (!strcmp(o.cmd, "create"))
		return cmd_create(&o);
	if (!strcmp(o.cmd, "destroy"))
		return cmd_destroy(&o);
	if (!strcmp(o.cmd, "stats"))
		return cmd_stats(&o);
	if (!strcmp(o.cmd, "top"))
		return cmd_top(&o);
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
