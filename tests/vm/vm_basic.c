// SPDX-License-Identifier: MIT
/*
 * vm_basic.c - the module's happy path on real PKU: create, attach, calls
 * through the gate, the store's pages tagged with a protection key, and
 * two processes sharing one store.
 */
#include <pthread.h>
#include "harness.h"

#define NKEYS 200 /* each call is two WRPKRUs: ~10 us under TCG */

static int t_create_attach(void)
{
	const struct plmc_ppage *pp;
	int rc;

	if (vm_fresh("basic", 0600) || vm_attach("basic"))
		return -1;
	pp = vm_ppage();
	VM_CHECK(pp->magic == PLMC_PPAGE_MAGIC, "ppage magic 0x%llx",
		 (unsigned long long)pp->magic);
	VM_CHECK(pp->backend == PLMC_BACKEND_KMOD, "ppage backend %u",
		 pp->backend);
	VM_CHECK(pp->pkey >= 1 && pp->pkey <= 15, "ppage pkey %u", pp->pkey);
	VM_CHECK(pp->pkey_shift == 2 * pp->pkey, "pkey_shift %u",
		 pp->pkey_shift);
	VM_CHECK(pp->attach_id != 0, "attach id 0");
	VM_CHECK(pp->tgid == (uint32_t)getpid(), "ppage tgid %u, pid %d",
		 pp->tgid, getpid());
	VM_CHECK(pp->store_size == VM_STORE_SIZE, "store size %llu",
		 (unsigned long long)pp->store_size);
	rc = plmc_nop();
	VM_CHECK(rc == PLMC_OK, "nop: %s", plmc_strerror(rc));
	vm_note("pkey %u, attach id %llu", pp->pkey,
		(unsigned long long)pp->attach_id);
	return 0;
}

static int t_set_get_delete(void)
{
	char key[32], val[64];
	int i, rc;

	if (vm_attach("basic"))
		return -1;
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "value-%d-%d", i, i * 7);
		if (vm_roundtrip(key, val))
			return -1;
	}
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		snprintf(val, sizeof(val), "value-%d-%d", i, i * 7);
		if (vm_expect_value(key, val))
			return -1;
	}
	rc = plmc_delete("k0", 2);
	VM_CHECK(rc == PLMC_DELETED, "delete k0: %s", plmc_strerror(rc));
	rc = plmc_get("k0", 2, val, sizeof(val), NULL, NULL, NULL);
	VM_CHECK(rc == PLMC_NOT_FOUND, "get deleted k0: %s", plmc_strerror(rc));
	rc = plmc_delete("k0", 2);
	VM_CHECK(rc == PLMC_NOT_FOUND, "delete k0 twice: %s",
		 plmc_strerror(rc));
	if (vm_roundtrip("k1", "overwritten"))
		return -1;
	vm_note("%d keys", NKEYS);
	return 0;
}

static int t_stats(void)
{
	struct plmc_stats st;
	int rc;

	if (vm_attach("basic"))
		return -1;
	memset(&st, 0, sizeof(st));
	rc = plmc_stats(&st);
	VM_CHECK(rc == PLMC_OK, "stats: %s", plmc_strerror(rc));
	VM_CHECK(st.size == sizeof(st), "stats size %llu",
		 (unsigned long long)st.size);
	/* The previous test left NKEYS - 1 keys behind, in another process. */
	VM_CHECK(st.curr_items == NKEYS - 1, "curr_items %llu, expected %d",
		 (unsigned long long)st.curr_items, NKEYS - 1);
	VM_CHECK(st.cmd_set >= NKEYS, "cmd_set %llu",
		 (unsigned long long)st.cmd_set);
	VM_CHECK(st.nattach == 1, "nattach %llu, expected 1",
		 (unsigned long long)st.nattach);
	VM_CHECK(st.time > 1600000000ULL, "store clock %llu",
		 (unsigned long long)st.time);
	return 0;
}

/* Find the VMA starting at @start in smaps; its ProtectionKey into *key. */
static int smaps_pkey(unsigned long long start, int *key)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;

	*key = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;

		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = lo == start;
			continue;
		}
		if (in && sscanf(line, "ProtectionKey: %d", key) == 1)
			break;
	}
	fclose(f);
	return *key < 0 ? -1 : 0;
}

static int t_smaps_pkey(void)
{
	int data, image, ppage;
	unsigned pkey;

	if (vm_attach("basic"))
		return -1;
	pkey = vm_ppage()->pkey;
	VM_CHECK(!smaps_pkey(PLMC_BASE + PLMC_DATA_OFF, &data),
		 "no ProtectionKey for the data mapping in smaps");
	VM_CHECK(!smaps_pkey(PLMC_BASE, &image),
		 "no ProtectionKey for the image mapping in smaps");
	VM_CHECK(!smaps_pkey(PLMC_PPAGE_ADDR, &ppage),
		 "no ProtectionKey for the ppage in smaps");
	VM_CHECK(data != 0 && (unsigned)data == pkey,
		 "data mapping has key %d, the store's key is %u", data, pkey);
	VM_CHECK((unsigned)image == pkey, "image has key %d, store key %u",
		 image, pkey);
	VM_CHECK(ppage == 0, "ppage has key %d, expected 0", ppage);
	vm_note("data and image key %d, ppage key 0", data);
	return 0;
}

/*
 * Two processes, each attached on its own (fork does not carry the
 * mapping: VM_DONTCOPY), see each other's writes, both ways.
 */
static int share_child(int go, int done, const char *mine, const char *theirs)
{
	char key[32];
	int i;

	if (vm_attach("basic"))
		return -1;
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "%s.%d", mine, i);
		if (plmc_set(key, strlen(key), mine, strlen(mine), 0, 0) !=
		    PLMC_STORED)
			return VM_FAIL("%s: set %s failed", mine, key);
	}
	vm_signal_fd(done);
	if (vm_wait_fd(go))
		return VM_FAIL("%s: peer vanished", mine);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "%s.%d", theirs, i);
		if (vm_expect_value(key, theirs))
			return -1;
	}
	return 0;
}

static int t_share(void)
{
	int a_done[2], b_done[2], a_go[2], b_go[2], sa, sb;
	pid_t a, b;

	if (pipe(a_done) || pipe(b_done) || pipe(a_go) || pipe(b_go))
		return VM_FAIL("pipe: %s", strerror(errno));
	a = fork();
	if (a == 0)
		_exit(share_child(a_go[0], a_done[1], "alpha", "beta") ? 1 : 0);
	b = fork();
	if (b == 0)
		_exit(share_child(b_go[0], b_done[1], "beta", "alpha") ? 1 : 0);
	/* Both have written before either reads. */
	if (vm_wait_fd(a_done[0]) || vm_wait_fd(b_done[0]))
		return VM_FAIL("a writer died before it was done: %s",
			       vm_sh->why);
	vm_signal_fd(a_go[1]);
	vm_signal_fd(b_go[1]);
	sa = vm_reap(a);
	sb = vm_reap(b);
	VM_CHECK(sa == 0 && sb == 0, "readers ended 0x%x and 0x%x: %s", sa, sb,
		 vm_sh->why);
	vm_note("2 processes, 50 keys each way");
	return 0;
}

/* A process that attached and left: nattach goes back down. */
static int t_detach(void)
{
	struct plmc_stats st;
	int rc;

	if (vm_attach("basic"))
		return -1;
	rc = plmc_detach();
	VM_CHECK(rc == 0, "detach: %s", plmc_strerror(rc));
	VM_CHECK(plmc_backend() == NULL, "backend still %s after detach",
		 plmc_backend());
	rc = plmc_nop();
	VM_CHECK(rc == PLMC_E_DETACHED, "nop after detach: %s",
		 plmc_strerror(rc));
	if (vm_attach("basic"))
		return -1;
	rc = plmc_stats(&st);
	VM_CHECK(rc == PLMC_OK, "stats: %s", plmc_strerror(rc));
	VM_CHECK(st.nattach == 1, "nattach %llu after reattach",
		 (unsigned long long)st.nattach);
	return vm_expect_value("k2", "value-2-14");
}

/* Threads of one process each get their own slot and stack. */
#define NTHREADS 4
#define TOPS	 100

static void *thread_body(void *arg)
{
	long t = (long)arg;
	char key[32], val[32];
	int i;

	for (i = 0; i < TOPS; i++) {
		snprintf(key, sizeof(key), "t%ld.%d", t, i);
		snprintf(val, sizeof(val), "thread %ld op %d", t, i);
		if (vm_roundtrip(key, val))
			return (void *)1;
	}
	return NULL;
}

static int t_threads(void)
{
	pthread_t th[NTHREADS];
	void *ret;
	long i, bad = 0;

	if (vm_attach("basic"))
		return -1;
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_body, (void *)i))
			return VM_FAIL("pthread_create: %s", strerror(errno));
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], &ret);
		bad += ret != NULL;
	}
	VM_CHECK(!bad, "%ld threads failed: %s", bad, vm_sh->why);
	/* Every thread's keys, read back from this one. */
	for (i = 0; i < NTHREADS; i++) {
		char key[32], val[32];

		snprintf(key, sizeof(key), "t%ld.%d", i, TOPS - 1);
		snprintf(val, sizeof(val), "thread %ld op %d", i, TOPS - 1);
		if (vm_expect_value(key, val))
			return -1;
	}
	vm_note("%d threads x %d round trips", NTHREADS, TOPS);
	return 0;
}

/*
 * More threads than the store's slot quota (64): the gate gives the
 * process 64 slots, the rest of its threads borrow idle ones; every
 * thread's calls succeed and the process never holds more than 64.
 */
#define QTHREADS 100
#define QOPS	 10

static pthread_barrier_t q_alive, q_done;

static void *quota_body(void *arg)
{
	long t = (long)arg;
	char key[32], val[32];
	void *bad = NULL;
	int i;

	for (i = 0; i < QOPS && !bad; i++) {
		snprintf(key, sizeof(key), "q%ld.%d", t, i);
		snprintf(val, sizeof(val), "quota %ld op %d", t, i);
		if (vm_roundtrip(key, val))
			bad = (void *)1;
	}
	pthread_barrier_wait(&q_alive);
	pthread_barrier_wait(&q_done);
	return bad;
}

static int t_threads_past_quota(void)
{
	static pthread_t th[QTHREADS];
	struct plmc_stats st;
	void *ret;
	long i, bad = 0;
	int rc;

	if (vm_fresh("basic-q", 0600) || vm_attach("basic-q"))
		return -1;
	pthread_barrier_init(&q_alive, NULL, QTHREADS + 1);
	pthread_barrier_init(&q_done, NULL, QTHREADS + 1);
	for (i = 0; i < QTHREADS; i++)
		if (pthread_create(&th[i], NULL, quota_body, (void *)i))
			return VM_FAIL("pthread_create: %s", strerror(errno));
	pthread_barrier_wait(&q_alive); /* all alive, holding what they got */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	rc = plmc_stats(&st);
	pthread_barrier_wait(&q_done);
	for (i = 0; i < QTHREADS; i++) {
		pthread_join(th[i], &ret);
		bad += ret != NULL;
	}
	plmc_detach();
	plmc_destroy("basic-q", 1, PLMC_USE_KMOD);
	VM_CHECK(!bad, "%ld of %d threads failed: %s", bad, QTHREADS,
		 vm_sh->why);
	VM_CHECK(rc == PLMC_OK, "stats: %s", plmc_strerror(rc));
	VM_CHECK(st.slots_busy <= PLMC_SLOT_QUOTA_DEFAULT,
		 "%llu slots held by one process (quota %d)",
		 (unsigned long long)st.slots_busy, PLMC_SLOT_QUOTA_DEFAULT);
	vm_note("%d threads x %d round trips on %llu slots", QTHREADS, QOPS,
		(unsigned long long)st.slots_busy);
	return 0;
}

/*
 * The store created by vm_fresh runs the production image: the test-only
 * ops (clock, crash points) are refused and change nothing. A store
 * created with the test image serves them (control).
 */
static int t_test_ops_refused(void)
{
	struct plmc_create_opts o = {
		.size = sizeof(o),
		.store_size = VM_STORE_SIZE,
		.mode = 0600,
		.use = PLMC_USE_KMOD,
		.flags = PLMC_CREATE_TEST_IMAGE,
	};
	char v[8];
	int rc, i;

	if (vm_attach("basic") ||
	    plmc_set("ttl", 3, "v", 1, 0, 100) != PLMC_STORED)
		return VM_FAIL("set: %s", vm_sh->why);
	rc = plmc_clock_advance(3600);
	VM_CHECK(rc == PLMC_E_TESTONLY, "clock on production: %s",
		 plmc_strerror(rc));
	for (i = 1; i < PLMC_CRASH_COUNT; i++) {
		rc = plmc_crash_arm(i);
		VM_CHECK(rc == PLMC_E_TESTONLY, "crash arm %d: %s", i,
			 plmc_strerror(rc));
	}
	rc = plmc_get("ttl", 3, v, sizeof(v), NULL, NULL, NULL);
	VM_CHECK(rc == PLMC_OK, "item after a refused clock: %s",
		 plmc_strerror(rc));
	if (vm_roundtrip("after.arms", "alive"))
		return -1;
	plmc_detach();
	plmc_destroy("basic-test", 1, PLMC_USE_KMOD);
	rc = plmc_create_ex("basic-test", &o);
	VM_CHECK(!rc, "create test image: %s", plmc_strerror(rc));
	if (vm_attach("basic-test") ||
	    plmc_set("ttl", 3, "v", 1, 0, 100) != PLMC_STORED)
		return -1;
	rc = plmc_clock_advance(3600);
	VM_CHECK(rc == PLMC_OK, "clock on the test image: %s",
		 plmc_strerror(rc));
	rc = plmc_get("ttl", 3, v, sizeof(v), NULL, NULL, NULL);
	VM_CHECK(rc == PLMC_NOT_FOUND, "item after the clock moved: %s",
		 plmc_strerror(rc));
	plmc_detach();
	plmc_destroy("basic-test", 1, PLMC_USE_KMOD);
	vm_note("production: TESTONLY, item kept; test image: clock moved");
	return 0;
}

int main(void)
{
	vm_init();
	vm_run("basic.create_attach", t_create_attach);
	vm_run("basic.set_get_delete", t_set_get_delete);
	vm_run("basic.stats", t_stats);
	vm_run("basic.smaps_pkey", t_smaps_pkey);
	vm_run("basic.two_processes_share", t_share);
	vm_run("basic.detach_reattach", t_detach);
	vm_run("basic.threads", t_threads);
	vm_run("basic.threads_past_quota", t_threads_past_quota);
	vm_run("basic.test_ops_refused", t_test_ops_refused);
	plmc_destroy("basic", 1, PLMC_USE_KMOD);
	return vm_done();
}
