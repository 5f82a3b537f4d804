/* SPDX-License-Identifier: MIT */
/*
 * pku_stray - the pku backend in the test host, without the module.
 *
 * Run by tests/vm/run-pku.sh (not by the module's suite: /vm/pku_* is not
 * /vm/vm_*). Checks that a store attached with PLMC_USE_PKU carries this
 * process's key (smaps), that the gate works, and that stray accesses from
 * client code (plain loads and stores into every part of the fixed range,
 * from the main thread and from a thread made later) die with SEGV_PKUERR
 * at the faulting address, while another attached process carries on and
 * the store stays intact: every seeded key, plmc_check() clean, the dead
 * processes found and counted by the survivors.
 */
#include <pthread.h>
#include <sys/select.h>
#include "harness.h"

#define PKU_STORE "pku-stray"
#define PKU_KEYS  200

static int pku_attach(void)
{
	int rc = plmc_attach(PKU_STORE, PLMC_USE_PKU);

	if (rc)
		return VM_FAIL("plmc_attach(%s, pku): %s", PKU_STORE,
			       plmc_strerror(rc));
	if (!plmc_backend() || strcmp(plmc_backend(), "pku"))
		return VM_FAIL("backend is %s, not pku",
			       plmc_backend() ? plmc_backend() : "(null)");
	return 0;
}

static void seed_kv(int i, char *k, size_t kn, char *v, size_t vn)
{
	snprintf(k, kn, "seed-%d", i);
	snprintf(v, vn, "value-%d-%d", i, i * 7919);
}

static int no_module(void)
{
	VM_CHECK(access("/dev/plmc", F_OK) != 0, "/dev/plmc exists");
	VM_CHECK(plmc_attach(PKU_STORE, PLMC_USE_KMOD) < 0,
		 "kmod attach worked without the module");
	return 0;
}

/* Create and fill the store every later test uses. */
static int seed(void)
{
	char k[32], v[64];
	int i, rc;

	plmc_destroy(PKU_STORE, 1, PLMC_USE_PKU);
	rc = plmc_create(PKU_STORE, VM_STORE_SIZE, 0600, PLMC_USE_PKU);
	if (rc)
		return VM_FAIL("create: %s", plmc_strerror(rc));
	if (pku_attach())
		return -1;
	for (i = 0; i < PKU_KEYS; i++) {
		seed_kv(i, k, sizeof(k), v, sizeof(v));
		rc = vm_roundtrip(k, v);
		if (rc)
			return rc;
	}
	vm_note("%d keys", PKU_KEYS);
	return plmc_detach() ? VM_FAIL("detach") : 0;
}

/* The ppage says pku and names a real key; smaps agrees per mapping. */
static int tagged(void)
{
	const struct plmc_ppage *pp = vm_ppage();
	char line[256];
	unsigned img = 99, data = 99, ppg = 99, *cur = NULL;
	FILE *f;

	if (pku_attach())
		return -1;
	VM_CHECK(pp->backend == PLMC_BACKEND_PKU, "ppage backend %u",
		 pp->backend);
	VM_CHECK(pp->pkey >= 1 && pp->pkey <= 15 &&
			 pp->pkey_shift == 2 * pp->pkey,
		 "ppage pkey %u shift %u", pp->pkey, pp->pkey_shift);
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return VM_FAIL("smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo;

		if (sscanf(line, "%llx-", &lo) == 1 && strchr(line, '-') &&
		    strchr(line, ' ') > strchr(line, '-')) {
			cur = lo == PLMC_BASE		      ? &img
			      : lo == PLMC_PPAGE_ADDR	      ? &ppg
			      : lo == PLMC_BASE + PLMC_DATA_OFF ? &data
							      : NULL;
			continue;
		}
		if (cur && sscanf(line, "ProtectionKey: %u", cur) == 1)
			cur = NULL;
	}
	fclose(f);
	VM_CHECK(img == pp->pkey && data == pp->pkey && ppg == 0,
		 "ProtectionKey image %u data %u ppage %u, want %u, %u, 0",
		 img, data, ppg, pp->pkey, pp->pkey);
	vm_note("key %u on image and data, 0 on the ppage", pp->pkey);
	return vm_roundtrip("tagged", "yes");
}

/* A stray access at @addr from client code: expected to die there. */
static int stray(uint64_t addr, int write)
{
	if (pku_attach() || vm_roundtrip("stray-warm", "1"))
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, addr);
	if (write)
		*(volatile uint64_t *)addr = 0xdeadbeefdeadbeefULL;
	else
		(void)*(volatile uint64_t *)addr;
	return VM_FAIL("%s at 0x%llx went through", write ? "write" : "read",
		       (unsigned long long)addr);
}

static int write_header(void)
{
	return stray(PLMC_STORE_ADDR + 8, 1);
}

static int write_slot_record(void)
{
	return stray(PLMC_SLOTS_ADDR, 1);
}

static int write_kv_area(void)
{
	return stray(PLMC_KV_ADDR + 0x10000, 1);
}

static int write_slot_stack(void)
{
	return stray(PLMC_STACKS_ADDR + PLMC_STACK_SIZE - 64, 1);
}

static int read_store(void)
{
	return stray(PLMC_STORE_ADDR, 0);
}

static int read_image(void)
{
	return stray(PLMC_BASE, 0);
}

static void *thread_stray(void *arg)
{
	(void)arg;
	*(volatile uint64_t *)(PLMC_KV_ADDR + 0x20000) = 1;
	return NULL;
}

/* A thread made after attach inherits the closed PKRU. */
static int write_from_new_thread(void)
{
	pthread_t t;

	if (pku_attach() || vm_roundtrip("thread-warm", "1"))
		return -1;
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_KV_ADDR + 0x20000);
	if (pthread_create(&t, NULL, thread_stray, NULL))
		return VM_FAIL("pthread_create");
	pthread_join(t, NULL);
	return VM_FAIL("the thread's write went through");
}

/*
 * Another attached process keeps calling while stray writers die around
 * it, then checks its own keys; afterwards the seeded keys are all there.
 */
static int others_carry_on(void)
{
	int go[2], done[2], st, i, ops = 0;
	pid_t worker, k;

	if (pipe(go) || pipe(done))
		return VM_FAIL("pipe");
	worker = fork();
	if (worker == 0) {
		char key[32], val[32], buf[64];
		size_t vlen;
		int n;

		close(go[1]);
		close(done[0]);
		if (plmc_attach(PKU_STORE, PLMC_USE_PKU))
			_exit(2);
		vm_signal_fd(done[1]); /* attached */
		/* Round after round until the parent says stop. */
		for (n = 0;; n++) {
			snprintf(key, sizeof(key), "worker-%d", n % 50);
			snprintf(val, sizeof(val), "w%d", n);
			if (plmc_set(key, strlen(key), val, strlen(val), 0,
				     0) != PLMC_STORED ||
			    plmc_get(key, strlen(key), buf, sizeof(buf), &vlen,
				     NULL, NULL) != PLMC_OK ||
			    vlen != strlen(val) || memcmp(buf, val, vlen))
				_exit(3);
			if (n % 20 == 19) {
				struct timeval tv = {0, 0};
				fd_set fds;

				FD_ZERO(&fds);
				FD_SET(go[0], &fds);
				if (select(go[0] + 1, &fds, NULL, NULL, &tv) > 0)
					break;
			}
		}
		/* Its count of rounds, as the exit status's low byte. */
		_exit(plmc_detach() ? 4 : 100 + (n >= 20));
	}
	close(go[0]);
	close(done[1]);
	if (worker < 0 || vm_wait_fd(done[0]))
		return VM_FAIL("worker did not attach");
	for (i = 0; i < 3; i++) {
		k = fork();
		if (k == 0) {
			signal(SIGSEGV, SIG_DFL);
			if (plmc_attach(PKU_STORE, PLMC_USE_PKU) ||
			    plmc_set("victim", 6, "x", 1, 0, 0) != PLMC_STORED)
				_exit(2);
			*(volatile uint64_t *)(PLMC_KV_ADDR + 0x1000 * i) = 0;
			_exit(5);
		}
		st = vm_reap(k);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
			return VM_FAIL("stray writer %d: status 0x%x", i, st);
		ops++;
	}
	vm_signal_fd(go[1]);
	st = vm_reap(worker);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 101)
		return VM_FAIL("worker: status 0x%x", st);
	vm_note("%d stray writers killed by SEGV, worker served throughout",
		ops);
	return 0;
}

/* Every seeded key intact; the store's own check clean; deaths seen. */
static int store_intact(void)
{
	struct plmc_check c = {.size = sizeof(c)};
	char k[32], v[64];
	int i, rc, found = 0;

	if (pku_attach())
		return -1;
	for (i = 0; i < PKU_KEYS; i++) {
		seed_kv(i, k, sizeof(k), v, sizeof(v));
		if (vm_expect_value(k, v))
			return -1;
		found++;
	}
	rc = plmc_recover();
	if (rc < 0)
		return VM_FAIL("recover: %s", plmc_strerror(rc));
	rc = plmc_check(&c);
	if (rc != PLMC_OK || c.errors)
		return VM_FAIL("check: %s, %llu errors: %s", plmc_strerror(rc),
			       (unsigned long long)c.errors, c.msg);
	if (c.dead_slots)
		return VM_FAIL("%llu slots still owned by the dead",
			       (unsigned long long)c.dead_slots);
	vm_note("%d/%d keys, check ok (%llu items), %d recovered now", found,
		PKU_KEYS, (unsigned long long)c.items, rc);
	return 0;
}

/* The store cannot be read by a process that forgot to attach. */
static int fork_child_sees_nothing(void)
{
	pid_t p;
	int st;

	if (pku_attach())
		return -1;
	p = fork();
	if (p == 0) {
		/* The child's copies were dropped at fork: nothing mapped. */
		if (msync((void *)(PLMC_BASE + PLMC_DATA_OFF), 4096, MS_ASYNC) ==
			    0 ||
		    errno != ENOMEM)
			_exit(2);
		_exit(plmc_attach(PKU_STORE, PLMC_USE_PKU) ||
				      vm_expect_value("seed-7", "value-7-55433")
			      ? 3
			      : 0);
	}
	st = vm_reap(p);
	VM_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x",
		 st);
	return vm_roundtrip("after-fork", "ok");
}

int main(void)
{
	vm_init();
	vm_run("pku.no_module", no_module);
	vm_run("pku.seed", seed);
	vm_run("pku.keys_on_mappings", tagged);
	vm_run("pku.stray_write_header", write_header);
	vm_run("pku.stray_write_slot_record", write_slot_record);
	vm_run("pku.stray_write_kv_area", write_kv_area);
	vm_run("pku.stray_write_slot_stack", write_slot_stack);
	vm_run("pku.stray_read_store", read_store);
	vm_run("pku.stray_read_image", read_image);
	vm_run("pku.stray_write_new_thread", write_from_new_thread);
	vm_run("pku.others_carry_on", others_carry_on);
	vm_run("pku.fork_child", fork_child_sees_nothing);
	vm_run("pku.store_intact", store_intact);
	plmc_destroy(PKU_STORE, 1, PLMC_USE_PKU);
	return vm_done();
}
