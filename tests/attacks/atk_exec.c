/* SPDX-License-Identifier: MIT */
/*
 * atk_exec - the mappings dropped from under an attached process while
 * another of its threads is inside the library (attacks 2 and 13):
 *
 *  - exec: one thread calls the library in a loop (4 KiB sets: it is
 *    often inside) while another execs a new program. Expected: the new
 *    image finds nothing at the fixed addresses (every probe faults, no
 *    mapping in the window), the old attachment is counted dead (deaths
 *    goes up), its slots are recovered (plmc_recover, then plmc_check:
 *    0 dead slots, 0 errors), and the new image may attach on its own.
 *  - MAP_FIXED over the whole window (image, ppage, data in one mmap)
 *    and munmap of all of it, each while a thread is inside: the same as
 *    a detach (the attachment ends, its slots recovered), the new anonymous
 *    memory holds nothing of the store, and the inside thread dies alone.
 */
#include "attacks.h"
#include <pthread.h>
#include <setjmp.h>

static volatile int looping = 1;
static volatile unsigned long calls;

static void *caller(void *arg)
{
	static char v[4000];

	(void)arg;
	memset(v, 'x', sizeof(v));
	while (looping) {
		plmc_set("exec-key", 8, v, sizeof(v), 0, 0);
		calls++;
	}
	return NULL;
}

/* Deaths and nattach of the store, from the module. */
static sigjmp_buf probe_jb;
static volatile int probe_code;

static void probe_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	probe_code = si->si_code;
	siglongjmp(probe_jb, 1);
}

/* Read one byte at @addr: 0 and the SIGSEGV code if it faulted, 1 if the
 * byte could be read. */
static int probe(uint64_t addr, int *code)
{
	struct sigaction sa, old;
	int readable = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(probe_jb, 1)) {
		(void)*(volatile uint8_t *)(uintptr_t)addr;
		readable = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	*code = probe_code;
	return readable;
}

/* Any line of /proc/self/maps inside [PLMC_BASE, PLMC_BASE + 16 MiB). */
static int window_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo = strtoul(line, NULL, 16);

		if (lo >= PLMC_BASE && lo < PLMC_BASE + (16ULL << 20))
			n++;
	}
	fclose(f);
	return n;
}

/* After the old attachment ended: it counted as a death, recovery leaves
 * no dead slot, and the store checks sound. "" or what is wrong. */
static void recovered(uint64_t deaths0, char *why, size_t n)
{
	struct plmc_check ck;
	uint64_t d = deaths0;
	int i, rc;

	for (i = 0; i < 200 && d == deaths0; i++) {
		usleep(10000);
		if (atk_deaths(&d))
			break;
	}
	if (d == deaths0) {
		snprintf(why, n,
			 "old attachment never counted dead (deaths "
			 "%llu)",
			 (unsigned long long)d);
		return;
	}
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc) {
		snprintf(why, n, "attach after: %s", plmc_strerror(rc));
		return;
	}
	rc = plmc_recover();
	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	if (rc < 0 || plmc_check(&ck) != PLMC_OK || ck.errors ||
	    ck.dead_slots) {
		snprintf(why, n,
			 "recover %d; check: %llu errors, %llu dead "
			 "slots: %s",
			 rc, (unsigned long long)ck.errors,
			 (unsigned long long)ck.dead_slots, ck.msg);
		return;
	}
	snprintf(why, n,
		 "deaths %llu->%llu, %d slots recovered, check "
		 "sound",
		 (unsigned long long)deaths0, (unsigned long long)d, rc);
}

/* The program exec'd into: argv[2] = result pipe fd, argv[3] = deaths. */
static int after_exec(char **argv)
{
	uint64_t deaths0 = strtoull(argv[3], NULL, 10);
	const uint64_t addrs[] = {PLMC_BASE, PLMC_PPAGE_ADDR, PLMC_STACKS_ADDR,
				  PLMC_STORE_ADDR, PLMC_SLOTS_ADDR};
	char msg[400], rec[300];
	int fd = atoi(argv[2]), i, code, m;

	for (i = 0; i < 5; i++)
		if (probe(addrs[i], &code)) {
			snprintf(msg, sizeof(msg),
				 "FAIL 0x%llx readable in the "
				 "new image",
				 (unsigned long long)addrs[i]);
			goto out;
		}
	m = window_mapped();
	if (m) {
		snprintf(msg, sizeof(msg),
			 "FAIL %d mappings left in the "
			 "window",
			 m);
		goto out;
	}
	recovered(deaths0, rec, sizeof(rec));
	snprintf(msg, sizeof(msg),
		 "%s 5 probes fault (code %d), window "
		 "empty; %s",
		 strstr(rec, "sound") ? "OK" : "FAIL", code, rec);
out:
	if (write(fd, msg, strlen(msg) + 1) < 0)
		return 1;
	return 0;
}

static int exec_inside(void)
{
	char fdarg[16], darg[32], msg[400];
	uint64_t deaths0;
	int p[2];
	ssize_t n;
	pid_t pid;
	int st;

	if (pipe(p) || atk_deaths(&deaths0))
		return VM_FAIL("setup");
	pid = fork();
	if (pid == 0) {
		pthread_t t;

		close(p[0]);
		if (vm_attach(ATK_STORE) || plmc_nop())
			_exit(1);
		pthread_create(&t, NULL, caller, NULL);
		while (calls < 200)
			sched_yield();
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		snprintf(darg, sizeof(darg), "%llu",
			 (unsigned long long)deaths0);
		execl("/vm/atk_exec", "atk_exec", "--after-exec", fdarg, darg,
		      (char *)NULL);
		_exit(2);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	st = vm_reap(pid);
	if (n <= 0)
		return VM_FAIL("the new image said nothing (status 0x%x)", st);
	msg[n] = 0;
	if (strncmp(msg, "OK ", 3))
		return VM_FAIL("%s", msg);
	return ATK_REFUSED("exec with a thread inside: %s", msg + 3);
}

/* Over the whole window (@fixed) or unmap all of it, a thread inside. */
static int drop_window(int fixed)
{
	uint64_t deaths0;
	pid_t pid;
	char why[300];
	int st, p[2];

	if (pipe(p) || atk_deaths(&deaths0))
		return VM_FAIL("setup");
	pid = fork();
	if (pid == 0) {
		size_t len = PLMC_DATA_OFF + PLMC_DATA_LEN(VM_STORE_SIZE);
		pthread_t t;
		uint8_t *m;
		size_t i;
		int bad = 0;

		signal(SIGSEGV, SIG_DFL); /* its fault kills it: no exit 97 */
		signal(SIGBUS, SIG_DFL);
		if (vm_attach(ATK_STORE) || plmc_nop())
			_exit(1);
		pthread_create(&t, NULL, caller, NULL);
		while (calls < 200)
			sched_yield();
		if (fixed) {
			m = mmap((void *)PLMC_BASE, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				 0);
			if (m == MAP_FAILED)
				_exit(3);
			/* Fresh zero pages, nothing of the store. */
			for (i = 0; i < len; i += 4096 * 64)
				bad |= m[i] != 0;
			bad |= *(volatile uint64_t *)(uintptr_t)
				       PLMC_STORE_ADDR != 0;
		} else if (munmap((void *)PLMC_BASE, len)) {
			_exit(3);
		}
		/* The inside thread faults on its own (the code is gone):
		 * the process dies alone, or the caller loop keeps failing
		 * with the library detached. Report, then let it be. */
		if (write(p[1], &bad, sizeof(bad)) != (ssize_t)sizeof(bad))
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	{
		int bad = -1;
		ssize_t n = read(p[0], &bad, sizeof(bad));

		close(p[0]);
		kill(pid, SIGKILL);
		st = vm_reap(pid);
		if (n == (ssize_t)sizeof(bad) && bad)
			return VM_FAIL(
				"store bytes visible in the new mapping");
		if (n != (ssize_t)sizeof(bad) && WIFEXITED(st))
			return VM_FAIL("%s refused (status %d)",
				       fixed ? "MAP_FIXED" : "munmap",
				       WEXITSTATUS(st));
		/* n short: it died of its inside thread's fault first. */
	}
	recovered(deaths0, why, sizeof(why));
	if (!strstr(why, "sound"))
		return VM_FAIL("%s", why);
	plmc_detach();
	return ATK_REFUSED("%s over the window with a thread inside: "
			   "detached; %s",
			   fixed ? "MAP_FIXED" : "munmap", why);
}

static int map_fixed_all(void)
{
	return drop_window(1);
}

static int munmap_all(void)
{
	return drop_window(0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--after-exec"))
		return after_exec(argv);
	atk_init();
	atk_run("exec.with_thread_inside", "no access, slots recovered",
		exec_inside, NULL);
	atk_run("mm.map_fixed_whole_window", "detach, slots recovered",
		map_fixed_all, NULL);
	atk_run("mm.munmap_whole_window", "detach, slots recovered", munmap_all,
		NULL);
	return vm_done();
}
