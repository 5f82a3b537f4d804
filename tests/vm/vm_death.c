// SPDX-License-Identifier: MIT
/*
 * vm_death.c - the module notices an attached process die: a client that
 * owns a slot (it made a call) is SIGKILLed; the survivors see deaths and
 * generation go up, its slot marked dead, nattach back down, and their own
 * data intact. A clean exit is counted the same way (it unmaps too). A
 * client killed holding every slot of a store leaves no one to recover
 * them: a newcomer's claim takes a dead slot over and is served.
 */
#include "harness.h"
#include <pthread.h>

static int stats(struct plmc_stats *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = plmc_stats(st);
	return rc == PLMC_OK ? 0 : VM_FAIL("stats: %s", plmc_strerror(rc));
}

/* Attach, make calls (owning a slot), say so, then wait to be killed. */
static void victim(int ready, int in_loop)
{
	char key[32];
	int i = 0;

	if (vm_attach("death") || vm_roundtrip("victim.key", "v"))
		_exit(1);
	vm_signal_fd(ready);
	if (!in_loop)
		for (;;)
			pause();
	/* Calling all the time: the kill may land inside the gate. */
	for (;;) {
		snprintf(key, sizeof(key), "victim.%d", i++ % 64);
		plmc_set(key, strlen(key), "x", 1, 0, 0);
	}
}

static int kill_one(int in_loop)
{
	struct plmc_stats a, b;
	int ready[2], st;
	pid_t pid;

	if (vm_attach("death") || vm_roundtrip("survivor.key", "mine") ||
	    stats(&a))
		return -1;
	VM_CHECK(a.nattach == 1, "nattach %llu before the victim",
		 (unsigned long long)a.nattach);
	if (pipe(ready))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		victim(ready[1], in_loop);
	if (vm_wait_fd(ready[0])) {
		vm_reap(pid);
		return VM_FAIL("victim did not attach: %s", vm_sh->why);
	}
	if (in_loop)
		usleep(20000);
	kill(pid, SIGKILL);
	st = vm_reap(pid);
	VM_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		 "victim ended 0x%x", st);
	if (stats(&b))
		return -1;
	VM_CHECK(b.deaths > a.deaths, "deaths %llu -> %llu",
		 (unsigned long long)a.deaths, (unsigned long long)b.deaths);
	VM_CHECK(b.generation > a.generation, "generation %llu -> %llu",
		 (unsigned long long)a.generation,
		 (unsigned long long)b.generation);
	/* Earlier tests' processes may own dead slots too: count up. */
	VM_CHECK(b.dead_slots >= 1 && b.dead_slots > a.dead_slots,
		 "dead_slots %llu -> %llu after the kill",
		 (unsigned long long)a.dead_slots,
		 (unsigned long long)b.dead_slots);
	VM_CHECK(b.nattach == 1, "nattach %llu after the kill",
		 (unsigned long long)b.nattach);
	if (vm_expect_value("survivor.key", "mine") ||
	    vm_expect_value("victim.key", "v") || vm_roundtrip("still", "here"))
		return -1;
	vm_note("deaths %llu->%llu, generation %llu->%llu, dead_slots "
		"%llu->%llu",
		(unsigned long long)a.deaths, (unsigned long long)b.deaths,
		(unsigned long long)a.generation,
		(unsigned long long)b.generation,
		(unsigned long long)a.dead_slots,
		(unsigned long long)b.dead_slots);
	return 0;
}

static int t_sigkill_idle(void)
{
	return kill_one(0);
}

static int t_sigkill_busy(void)
{
	return kill_one(1);
}

static int t_clean_exit(void)
{
	struct plmc_stats a, b;
	pid_t pid;
	int st;

	if (vm_attach("death") || stats(&a))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(vm_attach("death") || vm_roundtrip("exit.key", "bye"));
	st = vm_reap(pid);
	VM_CHECK(st == 0, "exiting child ended 0x%x: %s", st, vm_sh->why);
	if (stats(&b))
		return -1;
	VM_CHECK(b.generation > a.generation,
		 "generation %llu -> %llu after an exit",
		 (unsigned long long)a.generation,
		 (unsigned long long)b.generation);
	VM_CHECK(b.nattach == a.nattach, "nattach %llu -> %llu",
		 (unsigned long long)a.nattach, (unsigned long long)b.nattach);
	return vm_expect_value("exit.key", "bye");
}

static pthread_barrier_t hold_in, hold_out;

static void *hold_slot(void *arg)
{
	*(long *)arg = plmc_nop();
	pthread_barrier_wait(&hold_in);
	pthread_barrier_wait(&hold_out);
	return NULL;
}

/* Attach to @name and hold every slot (256 threads), then wait. */
static void hog_all(const char *name, int ready)
{
	static pthread_t t[PLMC_MAX_SLOTS];
	static long rc[PLMC_MAX_SLOTS];
	int i;

	if (vm_attach(name) || vm_roundtrip("hog.key", "v"))
		_exit(1);
	pthread_barrier_init(&hold_in, NULL, PLMC_MAX_SLOTS);
	pthread_barrier_init(&hold_out, NULL, PLMC_MAX_SLOTS);
	for (i = 0; i < PLMC_MAX_SLOTS - 1; i++)
		if (pthread_create(&t[i], NULL, hold_slot, &rc[i]))
			_exit(1);
	pthread_barrier_wait(&hold_in);
	for (i = 0; i < PLMC_MAX_SLOTS - 1; i++)
		if (rc[i] != PLMC_OK)
			_exit(1);
	vm_signal_fd(ready);
	for (;;)
		pause();
}

static int t_dead_slots_taken_over(void)
{
	struct plmc_check ck;
	int ready[2], rc;
	pid_t pid;

	plmc_destroy("death-all", 1, PLMC_USE_KMOD);
	rc = plmc_create_quota("death-all", VM_STORE_SIZE, 0600, PLMC_MAX_SLOTS,
			       PLMC_USE_KMOD);
	if (rc)
		return VM_FAIL("create: %s", plmc_strerror(rc));
	if (pipe(ready))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		hog_all("death-all", ready[1]);
	if (vm_wait_fd(ready[0])) {
		vm_reap(pid);
		return VM_FAIL("hog did not take every slot");
	}
	kill(pid, SIGKILL);
	vm_reap(pid);
	/* No one else was attached: only the newcomer's claim can help. */
	if (vm_attach("death-all") || vm_roundtrip("late", "served") ||
	    vm_expect_value("hog.key", "v"))
		return -1;
	plmc_recover();
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	rc = plmc_check(&ck);
	VM_CHECK(rc == PLMC_OK && !ck.errors && !ck.dead_slots,
		 "check %d: %s, %llu dead slots", rc, ck.msg,
		 (unsigned long long)ck.dead_slots);
	plmc_detach();
	plmc_destroy("death-all", 1, PLMC_USE_KMOD);
	vm_note("256 dead slots, newcomer served, check clean");
	return 0;
}

int main(void)
{
	vm_init();
	if (vm_fresh("death", 0600)) {
		printf("FAIL death.setup: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("death.sigkill_idle_client", t_sigkill_idle);
	vm_run("death.sigkill_calling_client", t_sigkill_busy);
	vm_run("death.clean_exit_counted", t_clean_exit);
	vm_run("death.dead_slots_taken_over", t_dead_slots_taken_over);
	plmc_destroy("death", 1, PLMC_USE_KMOD);
	return vm_done();
}
