/* SPDX-License-Identifier: MIT */
/*
 * libpl/pl.h - private to libpl: the process state, the backends and the
 * fast gate call.
 *
 * The fast path reads three words of struct pl_state (gate, gen, hdr) and
 * two thread-locals; it takes no lock and, under kmod, makes no syscall.
 * Everything else (attach, detach, create, first call of a thread) is slow
 * and serialised by pl_lock.
 *
 * pl.gen names the current attachment. A thread's slot index is valid only
 * while its pl_tls_gen equals pl.gen; attach, detach and fork bump pl.gen,
 * so stale indices are dropped without visiting every thread.
 */
#ifndef PL_H
#define PL_H

#include <pthread.h>
#include <time.h>
#include <plmc.h>
#include <plmc/layout.h>
#include <plmc/gate.h>
#include <plmc/image.h>
#include <plmc/ioctl.h>

/* Nothing here leaves libpl.so: no GOT indirection on the fast path. */
#pragma GCC visibility push(hidden)

#define PL_TLS	       __attribute__((tls_model("initial-exec")))
#define pl_likely(x)   __builtin_expect(!!(x), 1)
#define pl_unlikely(x) __builtin_expect(!!(x), 0)

typedef long (*pl_gate_fn)(__u64 op, const struct plmc_req *req, __u64 slot);

struct pl_state {
	/* Fast path: read on every call. */
	pl_gate_fn gate;	    /* NULL when detached */
	unsigned long gen;	    /* current attachment's generation */
	/* none: the store's header; pku: the same header through the view
	 * (below); kmod: NULL, it cannot read the store. The clock is
	 * published through it before each call, the watcher marks deaths
	 * through it (slot records follow at PLMC_SLOTS_OFF). */
	struct plmc_store_hdr *hdr;
	/* Slow path, under pl_lock. */
	int backend;	 /* PLMC_BACKEND_*, valid while attached */
	int fd;		 /* shm file or /dev/plmc */
	int pkey;	 /* kmod, pku: the store's key, else -1 */
	void *view;	 /* pku: header + slot records without the key */
	int stack_numa;	 /* none, pku: move slot stacks to their thread */
	__u64 image_map; /* bytes mapped at PLMC_BASE */
	__u64 data_len;	 /* bytes mapped at PLMC_BASE + DATA_OFF */
	__u64 attach_id;
	char name[PLMC_NAME_LEN];
	/* none: this attachment's liveness lock file and its watcher
	 * (blocked on watch_fd, inotify; wake_fd, an eventfd, ends it). */
	int live_fd;
	int watch_fd;
	int wake_fd;
	int watch_stop;
	pthread_t watch;
	/* Slot indices in use by this process's threads (atomic bit ops). */
	__u64 slot_map[PLMC_MAX_SLOTS / 64];
	/* none, pku: the watcher parks (poll with no timeout) while this
	 * process makes no call; a thread's clock refresh (pl_clock_tick,
	 * the first call after any pause included) bumps active and, if
	 * the watcher is parked, wakes it through wake_fd (live.c). Their
	 * own line: written about once a millisecond per calling thread,
	 * they must not evict the fast path's words above. */
	__u64 active __attribute__((aligned(64)));
	int watch_parked;
	/*
	 * The clock while this process calls (pl_clock_tick): the watcher
	 * publishes it once per PL_TICK_MS and sets clock_due; the first
	 * call after that clears it (one store a tick). A tick that finds
	 * clock_due still set (no call for a whole tick) stops ticking:
	 * clock_tick 0, then calls read the clock themselves (the first
	 * one wakes the watcher, which ticks again). Without a watcher
	 * (create, a fork child) clock_due stays set and clock_tick 0.
	 */
	int clock_due;
	int clock_tick;
};

extern struct pl_state pl;
extern pthread_mutex_t pl_lock;
extern __thread int pl_tls_slot PL_TLS;
extern __thread unsigned long pl_tls_gen PL_TLS;
extern __thread __u64 pl_tls_clock_tsc PL_TLS; /* TSC at the last refresh */

/* The kvcore images built into the library (image.S): production and
 * test (PLMC_CREATE_TEST_IMAGE). */
extern const unsigned char pl_image[];
extern const unsigned char pl_image_end[];
extern const unsigned char pl_image_test[];
extern const unsigned char pl_image_test_end[];

/* The image a create with @flags (PLMC_CREATE_*) hands the store. */
static inline const unsigned char *pl_image_for(__u32 flags)
{
	return flags & PLMC_CREATE_TEST_IMAGE ? pl_image_test : pl_image;
}

static inline __u64 pl_image_len_for(__u32 flags)
{
	return flags & PLMC_CREATE_TEST_IMAGE
		       ? (__u64)(pl_image_test_end - pl_image_test)
		       : (__u64)(pl_image_end - pl_image);
}

static inline __u64 pl_round_page(__u64 n)
{
	return (n + 0xfffULL) & ~0xfffULL;
}

/* Common checks (segment.c). */
int pl_name_ok(const char *name);
/* CPUID.(EAX=7,ECX=0):ECX OSPKE: the CPU has PKU and the kernel turned
 * it on. */
int pl_ospke(void);
/* What a failed pkey_alloc means: -EOPNOTSUPP when the CPU or the
 * kernel has no protection keys (the kernel says EINVAL or ENOSPC
 * then, by version), else -err (ENOSPC: every key taken). */
int pl_pkey_error(int err);
int pl_size_ok(__u64 size);
int pl_choose(int use);
int pl_map_fixed(__u64 addr, __u64 len, int prot, int flags, int fd, __u64 off);

/* Backends: 0 or -errno / PLMC_E_*; attach fills pl.gate and friends. */
int pl_none_create(const char *name, const struct plmc_create_opts *o,
		   int backend);
int pl_none_destroy(const char *name, int force);
int pl_none_attach(const char *name);
void pl_none_detach(void);
void pl_none_scan(void);
int pl_none_live_start(const char *name);
void pl_none_live_stop(void);
void pl_none_forget(void);
void pl_none_live_remove(const char *name);
void pl_live_poke(void);
int pl_none_live_count(const char *name);
/* The shm segment file, shared by none and pku (none.c). */
#define PL_HDR_FOFF (PLMC_IMAGE_MAX + PLMC_STORE_OFF - PLMC_DATA_OFF)
int pl_shm_open(const char *name, struct plmc_store_hdr *h, __u64 *fsize);
int pl_shm_map_image(int fd);
int pl_shm_map_data(int fd, const struct plmc_store_hdr *fh, __u64 fsize);
int pl_shm_map_ppage(const struct plmc_store_hdr *h, int backend, int pkey);
int pl_pku_attach(const char *name);
void pl_pku_detach(void);
void pl_pku_forget(void);
int pl_kmod_create(const char *name, const struct plmc_create_opts *o);
/* NUMA placement (numa.c). */
int pl_numa_ok(unsigned numa, unsigned node);
int pl_shm_set_numa(int fd, __u64 size, unsigned numa, unsigned node);
void pl_numa_attach(void);
void pl_numa_stack(int slot);
int pl_kmod_destroy(const char *name, int force);
int pl_kmod_attach(const char *name);
void pl_kmod_detach(void);

/* Slots (slot.c). */
long pl_call_slow(__u64 op, const struct plmc_req *req, int moving);
void pl_slots_release_all(void);
int pl_slots_release_idle(void);
void pl_slots_init_once(void);

/*
 * The none backend keeps the store clock itself: before a call, publish
 * the coarse clocks if they moved (vDSO reads, no syscall; the shared
 * line is written only when a tick passed). Max-only, so racing
 * processes never move the clock backwards. Every gate call of a
 * process goes through pl_clock_tick first (whose slow path refreshes
 * or finds the watcher ticking) or pokes the watcher itself (slot.c's
 * borrow and BUSY retries): live.c's park depends on it.
 */
static inline void pl_clock_bump(__u64 *word, __u64 now)
{
	__u64 cur = __atomic_load_n(word, __ATOMIC_RELAXED);

	while (cur < now &&
	       !__atomic_compare_exchange_n(word, &cur, now, 0,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* Read the coarse clocks and publish them. Return: the monotonic one,
 * in ns. */
static inline __u64 pl_clock_publish(struct plmc_store_hdr *h)
{
	struct timespec rt, mt;
	__u64 ns;

	clock_gettime(CLOCK_REALTIME_COARSE, &rt);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mt);
	ns = (__u64)mt.tv_sec * 1000000000ULL + (__u64)mt.tv_nsec;
	pl_clock_bump(&h->clock_sec, (__u64)rt.tv_sec);
	pl_clock_bump(&h->clock_ns, ns);
	return ns;
}

static inline void pl_clock_refresh(struct plmc_store_hdr *h)
{
	pl_clock_publish(h);
	pl_live_poke(); /* this process calls: its watcher looks again */
}

/*
 * Without a ticking watcher, a thread reads the clocks at most once per
 * PL_CLOCK_CYCLES TSC cycles (about 0.5 ms at 4 GHz, 2 ms at 1 GHz):
 * the coarse clocks move once per kernel tick (1-4 ms). The TSC is a
 * hint only: a difference that wraps (another CPU's TSC behind, a TSC
 * reset) is huge and reads at once.
 */
#define PL_CLOCK_CYCLES (1ULL << 21)

void pl_clock_slow(struct plmc_store_hdr *h);

/*
 * Before every call: one load. While the watcher ticks (live.c,
 * live_clock) the store's clock is at most a tick old and a call reads
 * no clock (not even the TSC): only the first call after each tick goes
 * slow, to say that this process still calls.
 */
static inline void pl_clock_tick(struct plmc_store_hdr *h)
{
	if (pl_likely(!__atomic_load_n(&pl.clock_due, __ATOMIC_RELAXED)))
		return;
	pl_clock_slow(h);
}

/*
 * The fast path: one compare, one indirect call. A thread without a valid
 * slot, or whose slot turned out to be held elsewhere, goes slow.
 */
static inline long pl_call_once(__u64 op, const struct plmc_req *req)
{
	long rc;

	if (pl_unlikely(pl_tls_gen != pl.gen))
		return pl_call_slow(op, req, 0);
	if (pl.hdr)
		pl_clock_tick(pl.hdr);
	rc = pl.gate(op, req, (__u64)pl_tls_slot);
	if (pl_unlikely(rc == PLMC_E_BUSY))
		return pl_call_slow(op, req, 1);
	return rc;
}

/* PLMC_E_AGAIN: the store could not free memory because another thread
 * is still inside a call (maybe descheduled); the op had no effect. The
 * store cannot sleep, the client can: yield and retry (slot.c). */
long pl_call_again(__u64 op, const struct plmc_req *req);

static inline long pl_call(__u64 op, const struct plmc_req *req)
{
	long rc = pl_call_once(op, req);

	if (pl_unlikely(rc == PLMC_E_AGAIN))
		return pl_call_again(op, req);
	return rc;
}

#pragma GCC visibility pop

#endif /* PL_H */
