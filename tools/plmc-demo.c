// SPDX-License-Identifier: MIT
/*
 * plmc-demo - four client processes share a protected store through the
 * gate; a rogue client that reads the store directly is killed by the
 * hardware (SIGSEGV, SEGV_PKUERR) while the others carry on with their
 * data intact.
 *
 *	plmc-demo [OPS]     OPS sets and gets per client and round (300)
 *
 * Exit status 0 when every client saw all of its data and, on the kmod
 * backend, the rogue died of a protection-key fault.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <plmc.h>
#include <plmc/layout.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

#define STORE	   "demo"
#define STORE_SIZE (64ULL << 20)
#define NCLIENTS   4

static int ops = 300;

/* What the rogue's handler saw, sent to the parent before dying. */
struct fault_report {
	int code;
	uint64_t addr;
};

static int rogue_pipe = -1;

static void key_of(char *k, size_t n, int client, int round, int i)
{
	snprintf(k, n, "client%d.round%d.key%d", client, round, i);
}

static void val_of(char *v, size_t n, int client, int round, int i)
{
	snprintf(v, n, "value of key %d, round %d, from client %d", i, round,
		 client);
}

/* One round: @ops sets, then @ops gets of what was set. */
static int client_round(int c, int round)
{
	char k[64], v[96], buf[128];
	int i, sets = 0, gets = 0, misses = 0;
	size_t vlen;

	for (i = 0; i < ops; i++) {
		key_of(k, sizeof(k), c, round, i);
		val_of(v, sizeof(v), c, round, i);
		if (plmc_set(k, strlen(k), v, strlen(v), 0, 0) == PLMC_STORED)
			sets++;
	}
	for (i = 0; i < ops; i++) {
		key_of(k, sizeof(k), c, round, i);
		val_of(v, sizeof(v), c, round, i);
		gets++;
		if (plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL,
			     NULL) != PLMC_OK ||
		    vlen != strlen(v) || memcmp(buf, v, vlen))
			misses++;
	}
	printf("client %d (pid %d), round %d: %d sets, %d gets, %d misses\n", c,
	       getpid(), round, sets, gets, misses);
	return sets == ops && misses == 0 ? 0 : -1;
}

/* Round 1's keys, read back after the rogue died. */
static int client_verify(int c)
{
	char k[64], v[96], buf[128];
	int i, bad = 0;
	size_t vlen;

	for (i = 0; i < ops; i++) {
		key_of(k, sizeof(k), c, 1, i);
		val_of(v, sizeof(v), c, 1, i);
		if (plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL,
			     NULL) != PLMC_OK ||
		    vlen != strlen(v) || memcmp(buf, v, vlen))
			bad++;
	}
	printf("client %d (pid %d): round 1 data after the rogue: %d/%d "
	       "intact\n",
	       c, getpid(), ops - bad, ops);
	return bad ? -1 : 0;
}

static int client(int c, int go, int done)
{
	char x;
	int rc;

	rc = plmc_attach(STORE, PLMC_USE_AUTO);
	if (rc) {
		printf("client %d: attach: %s\n", c, plmc_strerror(rc));
		return 1;
	}
	if (client_round(c, 1))
		return 1;
	fflush(stdout);
	if (write(done, "d", 1) != 1 || read(go, &x, 1) != 1)
		return 1;
	return client_verify(c) || client_round(c, 2) ? 1 : 0;
}

/* Report the fault, then die of it for real. */
static void rogue_fault(int sig, siginfo_t *si, void *uc)
{
	struct fault_report r = {si->si_code, (uint64_t)(uintptr_t)si->si_addr};

	(void)uc;
	if (write(rogue_pipe, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int rogue(void)
{
	volatile uint64_t *hdr = (volatile uint64_t *)PLMC_STORE_ADDR;
	struct sigaction sa;
	int rc;

	rc = plmc_attach(STORE, PLMC_USE_AUTO);
	if (rc || plmc_nop() != PLMC_OK) {
		printf("rogue: attach: %s\n", plmc_strerror(rc));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rogue_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	printf("rogue client %d: reading the store header directly at "
	       "0x%llx\n",
	       getpid(), (unsigned long long)PLMC_STORE_ADDR);
	fflush(stdout);
	rc = (int)(*hdr & 0xff);
	printf("rogue client %d: read succeeded (0x%02x): the store is NOT "
	       "protected (backend %s)\n",
	       getpid(), rc, plmc_backend());
	return 3;
}

/* Returns 0 when the rogue died as it should (or could not, on none). */
static int watch_rogue(pid_t pid, int rd, int protected)
{
	struct fault_report r;
	int st = 0;
	ssize_t n;

	n = read(rd, &r, sizeof(r));
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && n == sizeof(r)) {
		printf("rogue client %d: killed by SIGSEGV (%s) reading "
		       "0x%llx\n",
		       pid, r.code == SEGV_PKUERR ? "SEGV_PKUERR" : "not PKU",
		       (unsigned long long)r.addr);
		return r.code == SEGV_PKUERR || !protected ? 0 : -1;
	}
	printf("rogue client %d: not killed (status 0x%x)\n", pid, st);
	return protected ? -1 : 0;
}

static void print_stats(void)
{
	struct plmc_stats st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = plmc_stats(&st);
	if (rc != PLMC_OK) {
		printf("stats: %s\n", plmc_strerror(rc));
		return;
	}
	printf("store stats: %llu items, %llu sets, %llu gets (%llu hits, "
	       "%llu misses), %llu attached, %llu attachments ended (exits and "
	       "kills), generation %llu\n",
	       (unsigned long long)st.curr_items,
	       (unsigned long long)st.cmd_set, (unsigned long long)st.cmd_get,
	       (unsigned long long)st.get_hits,
	       (unsigned long long)st.get_misses,
	       (unsigned long long)st.nattach, (unsigned long long)st.deaths,
	       (unsigned long long)st.generation);
}

static int run(void)
{
	int go[2], done[2], rp[2], i, st, ok = 1, protected;
	pid_t pids[NCLIENTS], r;
	char x;

	if (pipe(go) || pipe(done))
		return 1;
	for (i = 0; i < NCLIENTS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(client(i + 1, go[0], done[1]));
	}
	close(done[1]);
	/* Attach after the forks: a child never starts attached anyway. */
	if (plmc_attach(STORE, PLMC_USE_AUTO))
		return 1;
	protected = !strcmp(plmc_backend(), "kmod");
	/* Round 1 is over (or a client died) before the rogue shows up. */
	for (i = 0; i < NCLIENTS; i++)
		if (read(done[0], &x, 1) != 1)
			ok = 0;
	/* Made now, so only the rogue holds its write end: EOF if it lives. */
	if (pipe(rp))
		return 1;
	rogue_pipe = rp[1];
	r = fork();
	if (r == 0)
		_exit(rogue());
	close(rp[1]);
	if (watch_rogue(r, rp[0], protected))
		ok = 0;
	printf("the other clients carry on:\n");
	fflush(stdout);
	for (i = 0; i < NCLIENTS; i++)
		if (write(go[1], "g", 1) != 1)
			ok = 0;
	for (i = 0; i < NCLIENTS; i++) {
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			ok = 0;
	}
	print_stats();
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		ops = atoi(argv[1]) > 0 ? atoi(argv[1]) : ops;
	plmc_destroy(STORE, 1, PLMC_USE_AUTO);
	rc = plmc_create(STORE, STORE_SIZE, 0600, PLMC_USE_AUTO);
	if (rc) {
		printf("plmc-demo: create: %s\n", plmc_strerror(rc));
		return 1;
	}
	printf("plmc-demo: %llu MiB store \"%s\", %d clients, %d sets and "
	       "gets each per round\n",
	       STORE_SIZE >> 20, STORE, NCLIENTS, ops);
	rc = run();
	printf("plmc-demo: backend %s, %s\n",
	       plmc_backend() ? plmc_backend() : "?",
	       rc ? "FAILED" : "all clients intact");
	plmc_detach();
	plmc_destroy(STORE, 1, PLMC_USE_AUTO);
	return rc;
}
