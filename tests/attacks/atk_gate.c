/* SPDX-License-Identifier: MIT */
/*
 * atk_gate - attacks 7, 8 and 16.
 * A client calls the gate entry itself with every slot index, including
 * ones another attached process owns and ones out of range: expected
 * PLMC_E_BUSY for the other's slot, an error for bad indexes, and the
 * owner's calls still work. One live client claiming every slot it can
 * is stopped at the store's slot quota (NOSLOT) and a newcomer is served.
 * (Jumps past the gate's checks are the VM suite's gate.* tests in
 * vm_fault.)
 * seccomp: a client that forbids itself every system call after attach
 * still gets answers (the library makes none); one that forbids mmap
 * before attach gets a clean refusal. Only the client is affected.
 */
#include "attacks.h"
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

typedef long (*gate_fn)(uint64_t op, const struct plmc_req *req,
			uint64_t slot);

/*
 * Run on a store of its own: scanning every index claims every free slot
 * (see slot_exhaustion), which must not starve the shared "atk" store.
 */
static int forged_slots(void)
{
	struct plmc_image_hdr h;
	struct plmc_req req;
	int go[2], done[2], nbusy = 0, nbad = 0, i, st;
	uint64_t badidx[] = {PLMC_MAX_SLOTS, (uint64_t)-1, 1ULL << 40};
	pid_t owner;
	gate_fn g;
	long rc;

	if (vm_image_hdr(&h) || pipe(go) || pipe(done) ||
	    vm_fresh("atk-slots", 0666))
		return -1;
	owner = fork();
	if (owner == 0) {
		if (vm_attach("atk-slots") || plmc_nop())
			_exit(1);
		vm_signal_fd(go[1]);
		vm_wait_fd(done[0]);
		_exit(vm_roundtrip("slot-owner", "still") ? 2 : 0);
	}
	if (vm_wait_fd(go[0]) || vm_attach("atk-slots"))
		return VM_FAIL("setup");
	g = (gate_fn)(uintptr_t)(PLMC_BASE + h.entry_pku);
	memset(&req, 0, sizeof(req));
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		rc = g(PLMC_OP_NOP, &req, (uint64_t)i);
		if (rc == PLMC_E_BUSY)
			nbusy++;
	}
	for (i = 0; i < 3; i++)
		if (g(PLMC_OP_NOP, &req, badidx[i]) < 0)
			nbad++;
	rc = g(PLMC_OP_COUNT + 5, &req, 0);
	vm_signal_fd(done[1]);
	st = vm_reap(owner);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("slot owner broken (0x%x)", st);
	if (!nbusy || nbad != 3 || rc >= 0)
		return VM_FAIL("busy %d, bad indexes refused %d/3, bad op %ld",
			       nbusy, nbad, rc);
	plmc_destroy("atk-slots", 1, PLMC_USE_KMOD);
	return ATK_REFUSED("%d foreign slots BUSY, 3 bad indexes and a bad op "
			   "refused", nbusy);
}

/*
 * One live client (an unprivileged uid) calls the gate on every slot
 * index, claiming every free slot it can, and stays attached (alive,
 * holding them). Expected: the gate stops it at the store's quota per uid
 * (PLMC_SLOT_QUOTA_DEFAULT) with NOSLOT, and a newcomer of another uid
 * (root) is served while the hog lives; then the hog dies and its slots
 * are recovered.
 */
static int slot_exhaustion(void)
{
	int go[2], done[2], got[2], st, n[2] = {0, 0};
	pid_t hog, late;

	if (vm_fresh("atk-slots", 0666) || pipe(go) || pipe(done) ||
	    pipe(got))
		return -1;
	hog = fork();
	if (hog == 0) {
		struct plmc_image_hdr h;
		struct plmc_req req;
		gate_fn g;
		long rc;
		int i;

		if (vm_image_hdr(&h) || setgid(12345) || setuid(12345) ||
		    vm_attach("atk-slots"))
			_exit(1);
		g = (gate_fn)(uintptr_t)(PLMC_BASE + h.entry_pku);
		memset(&req, 0, sizeof(req));
		for (i = 0; i < PLMC_MAX_SLOTS; i++) {
			rc = g(PLMC_OP_NOP, &req, (uint64_t)i);
			n[0] += rc == PLMC_OK;
			n[1] += rc == PLMC_E_NOSLOT;
		}
		if (write(got[1], n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(1);
		vm_wait_fd(done[0]); /* alive, holding its slots */
		_exit(0);
	}
	if (read(got[0], n, sizeof(n)) != (ssize_t)sizeof(n)) {
		vm_reap(hog);
		return VM_FAIL("hog failed before claiming");
	}
	late = fork();
	if (late == 0)
		_exit(vm_attach("atk-slots") || vm_roundtrip("late", "v") ? 1
									  : 0);
	st = vm_reap(late);
	vm_signal_fd(done[1]);
	vm_reap(hog);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char why[sizeof(vm_sh->why)];

		memcpy(why, vm_sh->why, sizeof(why));
		plmc_destroy("atk-slots", 1, PLMC_USE_KMOD);
		return VM_FAIL("hog holds %d slots; a later client got none: "
			       "%.200s", n[0], why);
	}
	if (n[0] > PLMC_SLOT_QUOTA_DEFAULT || !n[0] ||
	    n[0] + n[1] != PLMC_MAX_SLOTS) {
		plmc_destroy("atk-slots", 1, PLMC_USE_KMOD);
		return VM_FAIL("hog got %d slots (quota %d), %d NOSLOT", n[0],
			       PLMC_SLOT_QUOTA_DEFAULT, n[1]);
	}
	/* Its slots went with it: a new client can take a full quota. */
	late = fork();
	if (late == 0)
		_exit(vm_attach("atk-slots") || vm_roundtrip("late2", "v") ? 1
									   : 0);
	st = vm_reap(late);
	plmc_destroy("atk-slots", 1, PLMC_USE_KMOD);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("no client served after the hog died");
	return ATK_REFUSED("hog stopped at %d slots (%d NOSLOT), newcomer "
			   "served while it lived and after",
			   n[0], n[1]);
}

/*
 * Two threads of one process call the raw gate with the same slot index
 * at once (one stack, one record, if the claim let them): each does 400
 * set+get rounds of its own key and value. Expected: every call is either
 * refused BUSY (nothing done) or answers right, every value read back is
 * the thread's own.
 */
static gate_fn two_g;
static uint64_t two_slot;

static void *two_loop(void *arg)
{
	long id = (long)(intptr_t)arg, busy = 0, bad = 0, i;
	char key[16], val[64], out[64];
	struct plmc_resp resp;
	struct plmc_req r;
	long rc;

	snprintf(key, sizeof(key), "two-%ld", id);
	for (i = 0; i < 400; i++) {
		memset(val, (int)('a' + id), sizeof(val));
		snprintf(val, sizeof(val), "%ld-%ld", id, i);
		memset(&r, 0, sizeof(r));
		r.key = (uint64_t)(uintptr_t)key;
		r.klen = (uint32_t)strlen(key);
		r.val = (uint64_t)(uintptr_t)val;
		r.vlen = sizeof(val);
		while ((rc = two_g(PLMC_OP_SET, &r, two_slot)) == PLMC_E_BUSY)
			busy++;
		if (rc != PLMC_STORED)
			bad++;
		memset(&r, 0, sizeof(r));
		r.key = (uint64_t)(uintptr_t)key;
		r.klen = (uint32_t)strlen(key);
		r.buf = (uint64_t)(uintptr_t)out;
		r.buflen = sizeof(out);
		r.out = (uint64_t)(uintptr_t)&resp;
		while ((rc = two_g(PLMC_OP_GET, &r, two_slot)) == PLMC_E_BUSY)
			busy++;
		if (rc != PLMC_OK || resp.vlen != sizeof(val) ||
		    memcmp(out, val, sizeof(val)))
			bad++;
	}
	return (void *)(intptr_t)(bad ? -bad : busy);
}

static int two_threads_one_slot(void)
{
	struct plmc_image_hdr h;
	struct plmc_req z;
	pthread_t t[2];
	void *rv[2];
	long busy = 0;
	int i;

	if (vm_image_hdr(&h) || vm_attach(ATK_STORE))
		return -1;
	two_g = (gate_fn)(uintptr_t)(PLMC_BASE + h.entry_pku);
	memset(&z, 0, sizeof(z));
	for (two_slot = 0; two_slot < PLMC_MAX_SLOTS; two_slot++)
		if (two_g(PLMC_OP_NOP, &z, two_slot) == PLMC_OK)
			break;
	if (two_slot == PLMC_MAX_SLOTS)
		return VM_FAIL("no slot");
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, two_loop, (void *)(intptr_t)i);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &rv[i]);
		if ((intptr_t)rv[i] < 0)
			return VM_FAIL("thread %d: %ld wrong answers on a shared "
				       "slot", i, -(long)(intptr_t)rv[i]);
		busy += (long)(intptr_t)rv[i];
	}
	return ATK_REFUSED("2 x 800 calls on slot %llu: all right, %ld BUSY "
			   "refusals", (unsigned long long)two_slot, busy);
}

static int seccomp_deny(int nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = {sizeof(f) / sizeof(f[0]), f};

	if (nr < 0) /* everything but exit: make the compare always true */
		f[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p) ? -1 : 0;
}

static int seccomp_after(void)
{
	char buf[32];
	size_t vlen;
	int i, bad = 0, rc, last = 0;

	if (vm_attach(ATK_STORE) || plmc_nop())
		return VM_FAIL("attach");
	if (seccomp_deny(-1))
		return VM_FAIL("seccomp: %s", strerror(errno));
	for (i = 0; i < 50; i++) {
		rc = plmc_get("atk-key-3", 9, buf, sizeof(buf), &vlen, NULL,
			      NULL);
		if (rc != PLMC_OK || vlen != 10 ||
		    memcmp(buf, "atk-val-21", 10)) {
			bad++;
			last = rc;
		}
	}
	if (bad)
		return VM_FAIL("%d of 50 gets failed under seccomp: %s", bad,
			       plmc_strerror(last));
	return ATK_REFUSED("50 gets answered with every syscall denied");
}

static int seccomp_before(void)
{
	int rc;

	if (seccomp_deny(__NR_mmap))
		return VM_FAIL("seccomp: %s", strerror(errno));
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (!rc)
		return VM_FAIL("attached without mmap?");
	return ATK_REFUSED("attach refused cleanly: %s", plmc_strerror(rc));
}

int main(void)
{
	atk_init();
	atk_run("gate.forged_slot_index", "BUSY / refused", forged_slots,
		NULL);
	atk_run("gate.slot_exhaustion", "quota, newcomer served",
		slot_exhaustion, NULL);
	atk_run("gate.two_threads_one_slot", "BUSY or right", two_threads_one_slot,
		NULL);
	atk_run("seccomp.deny_all_after_attach", "calls work", seccomp_after,
		NULL);
	atk_run("seccomp.deny_mmap_before_attach", "clean refusal",
		seccomp_before, NULL);
	return vm_done();
}
