// SPDX-License-Identifier: MIT
/*
 * libpl/segment.c - create, destroy, attach and detach, whatever the
 * backend.
 *
 * One store per process: it lives at a fixed address. All of this is the
 * slow path and runs under pl_lock. Attach publishes pl.gate, then bumps
 * pl.gen (release), so a thread that sees the new generation sees the
 * gate. A forked child keeps no attachment: under kmod the mappings are
 * not inherited (VM_DONTCOPY), under none the child drops its copies; in
 * both cases the child may attach anew.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "pl.h"
#include <plmc/geometry.h>

/* clock_due 1: no watcher ticks yet, calls read the clock (pl.h). */
struct pl_state pl = {.gen = 1, .fd = -1, .pkey = -1, .live_fd = -1,
		      .watch_fd = -1, .wake_fd = -1, .clock_due = 1};
pthread_mutex_t pl_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t pl_fork_once = PTHREAD_ONCE_INIT;

int pl_name_ok(const char *name)
{
	size_t i, n;

	if (!name)
		return 0;
	n = strnlen(name, PLMC_NAME_LEN);
	if (n == 0 || n >= PLMC_NAME_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

int pl_ospke(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return !!(c & bit_OSPKE);
}

int pl_pkey_error(int err)
{
	return pl_ospke() ? -err : -EOPNOTSUPP;
}

int pl_size_ok(__u64 size)
{
	return size >= PLMC_STORE_MIN && size <= PLMC_STORE_MAX &&
	       !(size & (PLMC_STORE_ALIGN - 1));
}

/*
 * Return: PLMC_BACKEND_*, -EINVAL (no such use), or PLMC_E_BACKEND
 * (PLMC_BACKEND names none). AUTO never picks pku on its own: it
 * makes PKRU part of the process's contract (a thread whose PKRU opens the
 * key stops at the gate's exit check, a library with pkeys of its own may
 * free or reuse it), which a program should ask for, not get.
 */
int pl_choose(int use)
{
	const char *env;

	if (use == PLMC_USE_KMOD)
		return PLMC_BACKEND_KMOD;
	if (use == PLMC_USE_NONE)
		return PLMC_BACKEND_NONE;
	if (use == PLMC_USE_PKU)
		return PLMC_BACKEND_PKU;
	if (use != PLMC_USE_AUTO)
		return -EINVAL;
	env = getenv("PLMC_BACKEND");
	if (env && *env) {
		if (!strcmp(env, "kmod"))
			return PLMC_BACKEND_KMOD;
		if (!strcmp(env, "none"))
			return PLMC_BACKEND_NONE;
		if (!strcmp(env, "pku"))
			return PLMC_BACKEND_PKU;
		return PLMC_E_BACKEND;
	}
	return access(PLMC_DEV_PATH, F_OK) == 0 ? PLMC_BACKEND_KMOD
						: PLMC_BACKEND_NONE;
}

int plmc_create_ex(const char *name, const struct plmc_create_opts *o)
{
	struct plmc_create_opts c = {0};
	int b;

	/* A caller built with a shorter struct gets defaults for the rest. */
	if (!o || o->size < offsetof(struct plmc_create_opts, item_max))
		return -EINVAL;
	memcpy(&c, o, o->size < sizeof(c) ? o->size : sizeof(c));
	b = pl_choose(c.use);
	if (b < 0)
		return b;
	if (!pl_name_ok(name))
		return PLMC_E_NAME;
	if (!pl_size_ok(c.store_size) || (c.mode & ~0777U) ||
	    !plmc_cfg_ok(c.item_max, c.slab_factor, c.slab_min) ||
	    c.slot_quota > PLMC_MAX_SLOTS || (c.flags & ~PLMC_CREATE_FLAGS) ||
	    !pl_numa_ok(c.numa, c.numa_node) || c.tenants > PLMC_TENANT_MAX ||
	    c.pad || (c.gid && !(c.flags & PLMC_CREATE_GROUP)))
		return -EINVAL;
	if (!c.slot_quota)
		c.slot_quota = PLMC_SLOT_QUOTA_DEFAULT;
	/* pku makes none's file, but only where a pku attach could follow:
	 * a store asked for pku must not quietly come out as none's. */
	if (b == PLMC_BACKEND_PKU && !pl_ospke())
		return -EOPNOTSUPP;
	if (c.flags & PLMC_CREATE_TEST_IMAGE)
		fprintf(stderr,
			"plmc: store %s runs the test image: any "
			"client may move its clock or crash a call\n",
			name);
	if (b == PLMC_BACKEND_KMOD)
		return pl_kmod_create(name, &c);
	/* pku: the same file */
	return pl_none_create(name, &c, b);
}

uint64_t plmc_store_size_for(uint64_t item_bytes)
{
	return plmc_geo_store_size(item_bytes);
}

uint64_t plmc_store_size(void)
{
	uint64_t size;

	pthread_mutex_lock(&pl_lock);
	/* data_len is PLMC_DATA_LEN(store_size), whatever the backend */
	size = pl.gate ? pl.data_len - PLMC_DATA_LEN(0) : 0;
	pthread_mutex_unlock(&pl_lock);
	return size;
}

int plmc_create(const char *name, uint64_t size, unsigned mode, int use)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = size, .mode = mode, .use = use,
	};

	return plmc_create_ex(name, &o);
}

int plmc_create_quota(const char *name, uint64_t size, unsigned mode,
		      unsigned slots_per_client, int use)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = size, .mode = mode, .use = use,
		.slot_quota = slots_per_client,
	};

	return plmc_create_ex(name, &o);
}

int plmc_create_numa(const char *name, uint64_t size, unsigned mode, int use,
		     unsigned numa, unsigned node)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = size, .mode = mode, .use = use,
		.numa = numa, .numa_node = node,
	};

	return plmc_create_ex(name, &o);
}

int plmc_destroy(const char *name, int force, int use)
{
	int b = pl_choose(use);

	if (b < 0)
		return b;
	if (!pl_name_ok(name))
		return PLMC_E_NAME;
	if (b == PLMC_BACKEND_KMOD)
		return pl_kmod_destroy(name, force);
	return pl_none_destroy(name, force);
}

/* In the child after fork(): forget the parent's attachment. */
static void pl_fork_child(void)
{
	pthread_mutex_init(&pl_lock, NULL);
	if (!pl.gate)
		return;
	if (pl.backend == PLMC_BACKEND_NONE) {
		/* Private copies of the parent's view; the file stays. */
		munmap((void *)PLMC_BASE, pl.image_map);
		munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
		munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
		pl_none_forget(); /* the parent's liveness lock is not ours */
	} else if (pl.backend == PLMC_BACKEND_PKU) {
		pl_pku_forget(); /* the same, plus the view and the key */
	}
	close(pl.fd);
	pl.gate = NULL;
	pl.hdr = NULL;
	pl.fd = -1;
	pl.pkey = -1;
	pl.gen++;
	memset(pl.slot_map, 0, sizeof(pl.slot_map));
}

/*
 * A normal process exit (return from main, exit(), Python's exit) is a
 * detach, not a death: the slots are given back so no death is counted
 * and no recovery runs, and under none/pku the liveness file goes and
 * nattach is recounted, as plmc_detach does. Nothing is unmapped: other
 * threads may still run (plmc_detach's "no thread inside" cannot be
 * asked of an exit). A slot a call still runs on stays owned and the
 * exit counts as the death it is. A thread that enters after its slot
 * was given back claims it anew and is recovered as dead once the
 * liveness file is gone; a process can remove that file itself at any
 * time, so this gives it nothing new.
 */
static void pl_exit_detach(void)
{
	if (pthread_mutex_trylock(&pl_lock))
		return; /* an attach or detach in flight: left as a death */
	if (pl.gate && !pl_slots_release_idle() &&
	    pl.backend != PLMC_BACKEND_KMOD)
		pl_none_live_stop(); /* recounts nattach */
	pthread_mutex_unlock(&pl_lock);
}

static void pl_fork_register(void)
{
	pthread_atfork(NULL, NULL, pl_fork_child);
	atexit(pl_exit_detach);
}

int plmc_attach(const char *name, int use)
{
	int b = pl_choose(use), rc;

	if (b < 0)
		return b;
	if (!pl_name_ok(name))
		return PLMC_E_NAME;
	pl_slots_init_once();
	pthread_once(&pl_fork_once, pl_fork_register);
	pthread_mutex_lock(&pl_lock);
	if (pl.gate) {
		/* Idempotent for the same store; one store per process. */
		rc = strcmp(pl.name, name) ? -EBUSY : 0;
		goto out;
	}
	memset(pl.slot_map, 0, sizeof(pl.slot_map));
	if (b == PLMC_BACKEND_KMOD)
		rc = pl_kmod_attach(name);
	else if (b == PLMC_BACKEND_PKU)
		rc = pl_pku_attach(name);
	else
		rc = pl_none_attach(name);
	if (rc)
		goto out;
	pl.backend = b;
	snprintf(pl.name, sizeof(pl.name), "%s", name);
	__atomic_add_fetch(&pl.gen, 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&pl_lock);
	return rc;
}

int plmc_detach(void)
{
	int rc = 0;

	pthread_mutex_lock(&pl_lock);
	if (!pl.gate) {
		rc = PLMC_E_DETACHED;
		goto out;
	}
	pl_slots_release_all();
	/* Late callers now see no gate, before anything is unmapped. */
	__atomic_store_n(&pl.gate, NULL, __ATOMIC_RELEASE);
	__atomic_add_fetch(&pl.gen, 1, __ATOMIC_RELEASE);
	if (pl.backend == PLMC_BACKEND_KMOD)
		pl_kmod_detach();
	else if (pl.backend == PLMC_BACKEND_PKU)
		pl_pku_detach();
	else
		pl_none_detach();
	pl.name[0] = 0;
out:
	pthread_mutex_unlock(&pl_lock);
	return rc;
}

const char *plmc_backend(void)
{
	if (!pl.gate)
		return NULL;
	if (pl.backend == PLMC_BACKEND_KMOD)
		return "kmod";
	return pl.backend == PLMC_BACKEND_PKU ? "pku" : "none";
}

/* Shared by both backends: map [addr, addr+len) exactly there or fail. */
int pl_map_fixed(__u64 addr, __u64 len, int prot, int flags, int fd, __u64 off)
{
	void *p = mmap((void *)addr, len, prot, flags | MAP_FIXED_NOREPLACE, fd,
		       (off_t)off);

	if (p == MAP_FAILED)
		return errno == EEXIST ? -EADDRINUSE : -errno;
	if ((__u64)p != addr) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, len);
		return -EADDRINUSE;
	}
	return 0;
}
