// SPDX-License-Identifier: MIT
/*
 * vm_numa.c - NUMA placement per segment, in the test host booted with two
 * nodes (scripts/lib.sh: CPU 0 and 512 MiB on node 0, CPU 1 and 512 MiB
 * on node 1).
 *
 * kmod: every policy's pages counted per node by PLMC_IOC_NODES (module
 * pages are placed at create, all of them); bad policies refused with
 * EINVAL and nothing created. none and pku: the shm file's policy, the
 * pages counted after the store has been written through the gate. On a
 * one-node host the policies are only checked to work.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include "harness.h"

#define NAME "numa.t"
#define DATA_PAGES (PLMC_DATA_LEN(VM_STORE_SIZE) / 4096)

static int nodes = 1;

static int count_nodes(void)
{
	char buf[64] = "";
	FILE *f = fopen("/sys/devices/system/node/has_memory", "r");
	int a, b;

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	/* "0" or "0-1" */
	if (sscanf(buf, "%d-%d", &a, &b) == 2)
		return b - a + 1;
	return 1;
}

static int pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

static const char *counts(const struct plmc_numa *nu)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "node0=%llu node1=%llu absent=%llu",
		 (unsigned long long)nu->pages[0],
		 (unsigned long long)nu->pages[1],
		 (unsigned long long)nu->absent);
	return buf;
}

/* Create with @numa/@node on @use, attach, 300 sets; fill @nu. */
static int make(int use, unsigned numa, unsigned node, struct plmc_numa *nu)
{
	char key[32], val[1000];
	int rc, i;

	plmc_detach();
	plmc_destroy(NAME, 1, use);
	rc = plmc_create_numa(NAME, VM_STORE_SIZE, 0600, use, numa, node);
	if (rc)
		return VM_FAIL("create (numa %u node %u): %s", numa, node,
			       plmc_strerror(rc));
	rc = plmc_attach(NAME, use);
	if (rc)
		return VM_FAIL("attach: %s", plmc_strerror(rc));
	memset(val, 'v', sizeof(val));
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "numa-%d", i);
		rc = plmc_set(key, strlen(key), val, sizeof(val), 0, 0);
		if (rc != PLMC_STORED)
			return VM_FAIL("set %s: %s", key, plmc_strerror(rc));
	}
	rc = plmc_numa_info(NAME, use, nu);
	if (rc)
		return VM_FAIL("numa info: %s", plmc_strerror(rc));
	if (nu->numa != numa || nu->node != node)
		return VM_FAIL("policy reads back as %u/%u, not %u/%u",
			       nu->numa, nu->node, numa, node);
	if (nu->pages[0] + nu->pages[1] + nu->absent != DATA_PAGES)
		return VM_FAIL("%s: not %llu pages in all", counts(nu),
			       (unsigned long long)DATA_PAGES);
	return 0;
}

/* All allocated pages on @node (kmod: all pages, nothing absent). */
static int all_on(int use, const struct plmc_numa *nu, int node)
{
	VM_CHECK(nu->pages[node] > 0 && nu->pages[!node] == 0,
		 "%s, wanted every page on node %d", counts(nu), node);
	VM_CHECK(use != PLMC_USE_KMOD || nu->absent == 0,
		 "%s: the module allocates every page", counts(nu));
	return 0;
}

/* Both nodes within 1 page of half (kmod) or 40-60% (shm, touched). */
static int balanced(int use, const struct plmc_numa *nu)
{
	uint64_t a = nu->pages[0], b = nu->pages[1], t = a + b;

	if (use == PLMC_USE_KMOD)
		VM_CHECK(t == DATA_PAGES && (a > b ? a - b : b - a) <= 1,
			 "%s, wanted an even split", counts(nu));
	else
		VM_CHECK(a * 10 >= t * 4 && b * 10 >= t * 4,
			 "%s, wanted about half each", counts(nu));
	return 0;
}

/* The node of the page at @addr (mapped here), or -errno. */
static int page_node(uint64_t addr)
{
	void *pg = (void *)(uintptr_t)(addr & ~4095ULL);
	int st = -1;

	if (syscall(SYS_move_pages, 0, 1UL, &pg, NULL, &st, 0))
		return -errno;
	return st;
}

/* The top page of slot @i's stack: the first one the gate touches. */
static uint64_t stack_top(int i)
{
	return PLMC_STACKS_ADDR + (uint64_t)(i + 1) * PLMC_STACK_SIZE - 64;
}

static void *on_cpu1(void *arg)
{
	int *rc = arg;

	*rc = pin(1) ? -1 : plmc_nop();
	return NULL;
}

/*
 * none, pku: a slot's stack moves to the node of the thread that takes
 * it, whatever the store's policy (interleave here). The main thread runs
 * on CPU 0 (slot 0), a second thread on CPU 1 (slot 1).
 */
static int stacks_follow(int use)
{
	struct plmc_numa nu;
	pthread_t t;
	int rc = -1, n0, n1;

	if (pin(0) || make(use, PLMC_NUMA_INTERLEAVE, 0, &nu))
		return -1;
	if (pthread_create(&t, NULL, on_cpu1, &rc) || pthread_join(t, NULL) ||
	    rc != PLMC_OK)
		return VM_FAIL("call from CPU 1: %d", rc);
	n0 = page_node(stack_top(0));
	n1 = page_node(stack_top(1));
	VM_CHECK(n0 == 0 && n1 == 1,
		 "slot 0's stack on node %d, slot 1's on node %d: want 0, 1",
		 n0, n1);
	return 0;
}

static int none_stacks(void)
{
	if (nodes < 2) {
		vm_note("one node: nothing to move");
		return 0;
	}
	return stacks_follow(PLMC_USE_NONE);
}

static int pku_stacks(void)
{
	if (nodes < 2) {
		vm_note("one node: nothing to move");
		return 0;
	}
	return stacks_follow(PLMC_USE_PKU);
}

static int policies(int use)
{
	struct plmc_numa nu;
	char note[160];
	int n;

	if (nodes < 2) {
		if (make(use, PLMC_NUMA_INTERLEAVE, 0, &nu) ||
		    make(use, PLMC_NUMA_BIND, 0, &nu) ||
		    make(use, PLMC_NUMA_LOCAL, 0, &nu))
			return -1;
		vm_note("one node: policies work, placement not checked (%s)",
			counts(&nu));
		return 0;
	}
	for (n = 0; n < 2; n++)
		if (make(use, PLMC_NUMA_BIND, (unsigned)n, &nu) ||
		    all_on(use, &nu, n) || plmc_detach())
			return -1;
	if (make(use, PLMC_NUMA_INTERLEAVE, 0, &nu) || balanced(use, &nu))
		return -1;
	snprintf(note, sizeof(note), "interleave %.140s", counts(&nu));
	plmc_detach();
	/* local: the node of the CPU that creates (kmod) or touches. */
	if (pin(1) || make(use, PLMC_NUMA_LOCAL, 0, &nu) ||
	    all_on(use, &nu, 1))
		return -1;
	vm_note("bind and local on their node; %.100s", note);
	return 0;
}

static int kmod_policies(void)
{
	return policies(PLMC_USE_KMOD);
}

static int none_policies(void)
{
	return policies(PLMC_USE_NONE);
}

static int pku_policies(void)
{
	return policies(PLMC_USE_PKU);
}

/* The module refuses bad fields with EINVAL and creates nothing. */
static int kmod_bad_fields(void)
{
	struct plmc_create_args a;
	static const struct {
		unsigned numa, node;
		uint64_t res;
	} c[] = {{4, 0, 0}, {99, 0, 0}, {PLMC_NUMA_BIND, 63, 0},
		 {PLMC_NUMA_BIND, 1u << 20, 0}, {PLMC_NUMA_INTERLEAVE, 1, 0},
		 {PLMC_NUMA_LOCAL, 1, 0}, {PLMC_NUMA_DEFAULT, 0, 1}};
	struct plmc_info_args in;
	size_t len;
	void *img = vm_slurp("/vm/kvcore.img", &len);
	unsigned i;
	int fd = open(PLMC_DEV_PATH, O_RDWR);

	if (fd < 0 || !img)
		return VM_FAIL("setup");
	plmc_destroy(NAME, 1, PLMC_USE_KMOD);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(&a, 0, sizeof(a));
		snprintf(a.name, sizeof(a.name), "%s", NAME);
		a.size = VM_STORE_SIZE;
		a.image = (uint64_t)(uintptr_t)img;
		a.image_len = len;
		a.mode = 0600;
		a.numa = c[i].numa;
		a.numa_node = c[i].node;
		a.reserved[0] = c[i].res;
		errno = 0;
		VM_CHECK(ioctl(fd, PLMC_IOC_CREATE, &a) < 0 && errno == EINVAL,
			 "case %u (numa %u node %u): %s", i, c[i].numa,
			 c[i].node, strerror(errno));
		memset(&in, 0, sizeof(in));
		snprintf(in.name, sizeof(in.name), "%s", NAME);
		VM_CHECK(ioctl(fd, PLMC_IOC_INFO, &in) < 0 && errno == ENOENT,
			 "case %u created something", i);
	}
	/* A node without memory: node 2 does not exist here. */
	VM_CHECK(plmc_create_numa(NAME, VM_STORE_SIZE, 0600, PLMC_USE_KMOD,
				  PLMC_NUMA_BIND, (unsigned)nodes) == -EINVAL,
		 "bind to node %d accepted", nodes);
	close(fd);
	vm_note("%u bad requests refused", i + 1);
	return 0;
}

int main(void)
{
	vm_init();
	/* The none and pku backends keep their files in /dev/shm. */
	mkdir("/dev/shm", 01777);
	if (system("grep -q ' /dev/shm ' /proc/mounts") &&
	    system("mount -t tmpfs tmpfs /dev/shm"))
		printf("vm_numa: no tmpfs on /dev/shm\n");
	nodes = count_nodes();
	printf("vm_numa: %d node%s with memory\n", nodes, nodes > 1 ? "s" : "");
	vm_run("numa.kmod_bad_fields", kmod_bad_fields);
	vm_run("numa.kmod_policies", kmod_policies);
	vm_run("numa.none_policies", none_policies);
	vm_run("numa.pku_policies", pku_policies);
	vm_run("numa.none_stacks_follow_threads", none_stacks);
	vm_run("numa.pku_stacks_follow_threads", pku_stacks);
	plmc_destroy(NAME, 1, PLMC_USE_KMOD);
	plmc_destroy(NAME, 1, PLMC_USE_NONE);
	return vm_done();
}
