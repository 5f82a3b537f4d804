// SPDX-License-Identifier: MIT
/*
 * vm_compat.c - the libmemcached-compatible library on the real module
 * (VM suite): a segment named in a configuration string is attached
 * through /dev/plmc with PKU, every call family goes through the gate and
 * gives libmemcached's codes, and the store stays closed to the program
 * around those calls. Built with the compat library (tests/compat/build.mk)
 * into build/vm/, so scripts/vm-test.sh packs it with the other vm_*.
 * Sized by operation count: each call is two WRPKRUs under TCG.
 */
#include <libmemcached/memcached.h>
#include "../vm/harness.h"

#define SEG "compat"
#define NKEYS 150

static memcached_st *open_seg(void)
{
	static const char conf[] = "--SEGMENT=" SEG "@127.0.0.1:11311";

	return memcached(conf, sizeof(conf) - 1);
}

static int t_attach_kmod(void)
{
	memcached_st *m = open_seg();
	memcached_return_t rc;

	VM_CHECK(m, "memcached(--SEGMENT) returned NULL");
	VM_CHECK(plmc_backend() == NULL, "attached before the first call");
	rc = memcached_set(m, "a", 1, "b", 1, 0, 0);
	VM_CHECK(rc == MEMCACHED_SUCCESS, "set: %s",
		 memcached_last_error_message(m));
	VM_CHECK(plmc_backend() && !strcmp(plmc_backend(), "kmod"),
		 "backend %s, not kmod",
		 plmc_backend() ? plmc_backend() : "(null)");
	memcached_free(m);
	VM_CHECK(plmc_backend() == NULL, "still attached after the last free");
	vm_note("attached through /dev/plmc on first use, detached on free");
	return 0;
}

static int t_calls(void)
{
	memcached_st *m = open_seg();
	memcached_result_st *r;
	memcached_return_t rc;
	uint64_t v = 0, cas = 0;
	size_t len;
	uint32_t flags;
	char *val;

	VM_CHECK(m, "memcached(--SEGMENT) returned NULL");
	VM_CHECK(memcached_flush(m, 0) == MEMCACHED_SUCCESS, "flush");
	VM_CHECK(memcached_set(m, "k", 1, "v1", 2, 0, 7) == MEMCACHED_SUCCESS,
		 "set");
	val = memcached_get(m, "k", 1, &len, &flags, &rc);
	VM_CHECK(val && len == 2 && !memcmp(val, "v1", 2) && flags == 7,
		 "get: %d", (int)rc);
	free(val);
	val = memcached_get(m, "nope", 4, &len, &flags, &rc);
	VM_CHECK(!val && rc == MEMCACHED_NOTFOUND, "get miss: %d", (int)rc);
	VM_CHECK(memcached_add(m, "k", 1, "x", 1, 0, 0) == MEMCACHED_NOTSTORED,
		 "add existing");
	VM_CHECK(memcached_replace(m, "q", 1, "x", 1, 0, 0) ==
			 MEMCACHED_NOTSTORED,
		 "replace missing");
	VM_CHECK(memcached_append(m, "k", 1, "-a", 2, 0, 0) ==
			 MEMCACHED_SUCCESS,
		 "append");
	VM_CHECK(memcached_prepend(m, "k", 1, "p-", 2, 0, 0) ==
			 MEMCACHED_SUCCESS,
		 "prepend");
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
	VM_CHECK(memcached_mget(m, (const char *[]){ "k" }, (size_t[]){ 1 },
				1) == MEMCACHED_SUCCESS,
		 "mget");
	r = memcached_fetch_result(m, NULL, &rc);
	VM_CHECK(r && memcached_result_length(r) == 6 &&
			 !memcmp(memcached_result_value(r), "p-v1-a", 6),
		 "fetch after append/prepend: %d", (int)rc);
	cas = memcached_result_cas(r);
	memcached_result_free(r);
	VM_CHECK(cas, "no CAS unique");
	VM_CHECK(memcached_cas(m, "k", 1, "c", 1, 0, 0, cas) ==
			 MEMCACHED_SUCCESS,
		 "cas right");
	VM_CHECK(memcached_cas(m, "k", 1, "c", 1, 0, 0, cas) ==
			 MEMCACHED_DATA_EXISTS,
		 "cas stale");
	VM_CHECK(memcached_set(m, "n", 1, "10", 2, 0, 0) == MEMCACHED_SUCCESS,
		 "set n");
	VM_CHECK(memcached_increment(m, "n", 1, 5, &v) == MEMCACHED_SUCCESS &&
			 v == 15,
		 "incr: %llu", (unsigned long long)v);
	VM_CHECK(memcached_decrement(m, "n", 1, 20, &v) == MEMCACHED_SUCCESS &&
			 v == 0,
		 "decr: %llu", (unsigned long long)v);
	VM_CHECK(memcached_increment_with_initial(m, "ni", 2, 1, 42, 0, &v) ==
				 MEMCACHED_SUCCESS &&
			 v == 42,
		 "incr with initial: %llu", (unsigned long long)v);
	VM_CHECK(memcached_increment(m, "k", 1, 1, &v) ==
			 MEMCACHED_CLIENT_ERROR,
		 "incr non-numeric");
	VM_CHECK(memcached_touch(m, "k", 1, 100) == MEMCACHED_SUCCESS, "touch");
	VM_CHECK(memcached_touch(m, "zz", 2, 100) == MEMCACHED_NOTFOUND,
		 "touch missing");
	VM_CHECK(memcached_delete(m, "k", 1, 0) == MEMCACHED_SUCCESS, "delete");
	VM_CHECK(memcached_delete(m, "k", 1, 0) == MEMCACHED_NOTFOUND,
		 "delete again");
	VM_CHECK(memcached_flush(m, 0) == MEMCACHED_SUCCESS, "flush");
	val = memcached_get(m, "n", 1, &len, &flags, &rc);
	VM_CHECK(!val && rc == MEMCACHED_NOTFOUND, "get after flush");
	memcached_free(m);
	vm_note("every call family, libmemcached's codes");
	return 0;
}

static int t_mget(void)
{
	memcached_st *m = open_seg();
	const char *keys[NKEYS];
	size_t lens[NKEYS];
	char kb[NKEYS][16], big[3000];
	memcached_result_st res, *r;
	memcached_return_t rc;
	int hits = 0, right = 0;

	VM_CHECK(m, "memcached(--SEGMENT) returned NULL");
	memset(big, 'z', sizeof(big));
	for (int i = 0; i < NKEYS; i++) {
		lens[i] = (size_t)snprintf(kb[i], sizeof(kb[i]), "m%d", i);
		keys[i] = kb[i];
		if (i % 3 == 0)
			continue;
		rc = memcached_set(m, kb[i], lens[i], big,
				   i % 10 == 1 ? sizeof(big) : (size_t)i, 0,
				   (uint32_t)i);
		VM_CHECK(rc == MEMCACHED_SUCCESS, "set %s: %d", kb[i], (int)rc);
	}
	VM_CHECK(memcached_mget(m, keys, lens, NKEYS) == MEMCACHED_SUCCESS,
		 "mget");
	memcached_result_create(m, &res);
	while ((r = memcached_fetch_result(m, &res, &rc))) {
		int i = atoi(memcached_result_key_value(r) + 1);
		size_t want = i % 10 == 1 ? sizeof(big) : (size_t)i;

		hits++;
		right += memcached_result_length(r) == want &&
			 memcached_result_flags(r) == (uint32_t)i &&
			 !memcmp(memcached_result_value(r), big, want);
	}
	memcached_result_free(&res);
	memcached_free(m);
	VM_CHECK(rc == MEMCACHED_END, "fetch ended with %d", (int)rc);
	VM_CHECK(hits == 100 && right == 100, "hits %d right %d", hits, right);
	vm_note("150 keys, 100 hits (values to 3000 bytes), END");
	return 0;
}

/* Around the library's calls the store stays closed to the program. */
static int t_still_closed(void)
{
	memcached_st *m = open_seg();
	volatile uint64_t sink;

	VM_CHECK(m, "memcached(--SEGMENT) returned NULL");
	VM_CHECK(memcached_set(m, "c", 1, "d", 1, 0, 0) == MEMCACHED_SUCCESS,
		 "set");
	vm_expect_fault(SIGSEGV, SEGV_PKUERR, PLMC_STORE_ADDR);
	sink = *(volatile uint64_t *)(uintptr_t)PLMC_STORE_ADDR;
	return VM_FAIL("read of the store header returned 0x%llx",
		       (unsigned long long)sink);
}

int main(void)
{
	vm_init();
	plmc_destroy(SEG, 1, PLMC_USE_KMOD);
	if (plmc_create(SEG, VM_STORE_SIZE, 0600, PLMC_USE_KMOD)) {
		printf("FAIL compat.create: cannot create the store\n");
		return 1;
	}
	vm_run("compat.attach_kmod", t_attach_kmod);
	vm_run("compat.calls", t_calls);
	vm_run("compat.mget", t_mget);
	vm_run("compat.store_still_closed", t_still_closed);
	plmc_destroy(SEG, 1, PLMC_USE_KMOD);
	return vm_done();
}
