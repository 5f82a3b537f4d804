/* SPDX-License-Identifier: MIT */
/*
 * atk_introspect - nothing reads a thread's state while it is inside the
 * library (issue 13, item 6).
 *
 * Each attack runs as uid 12345 against the root-created store, first with
 * introspect_guard=0 (the module parameter that turns the defence off),
 * where it must get through, then with it on, where it must not. Each has
 * a control showing the path it uses works.
 *
 *   perf       at perf_event_paranoid 2, the client samples itself
 *              (task-clock, PERF_SAMPLE_IP | REGS_USER | STACK_USER) while
 *              making 500 KB gets: no sample with an ip in the image or an
 *              sp on a slot stack; samples outside the library do arrive.
 *   dumpable   prctl(PR_SET_DUMPABLE, 1) after attach is refused (EPERM,
 *              still 0) and a same-uid parent cannot PTRACE_ATTACH; before
 *              attach the same prctl works.
 *   syscall    a thread parked inside (a get copying out into a
 *              userfaultfd buffer nobody serves); its own process reads
 *              /proc/self/task/TID/syscall: no ip in the image, no sp on a
 *              slot stack. Control: parked in its own code, the file shows
 *              its sp and ip.
 *   core       an attached process with a thread parked inside tries
 *              prctl(PR_SET_DUMPABLE, 1) and aborts: no core file.
 *              Control: the same process not attached gets its core.
 */
#include "attacks.h"
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define BIG	    500000
#define RING_PAGES  16
#define CORE_PREFIX "/tmp/atk-core."

static char big[BIG];

struct obs {
	char off[300], on[300];
};
static struct obs *obs;

static bool ip_inside(uint64_t ip)
{
	return ip - PLMC_BASE < PLMC_IMAGE_MAX;
}

static bool sp_on_stacks(uint64_t sp)
{
	return sp - PLMC_STACKS_ADDR < PLMC_MAX_SLOTS * PLMC_STACK_SIZE;
}

/* Run @fn as uid 12345 with @param 0, then 1 (atk_child_as). */
static int off_then_on(const char *param, int (*fn)(int))
{
	obs = atk_shared(sizeof(*obs));
	if (!obs)
		return VM_FAIL("no shared page");
	return atk_child_as(param, fn, obs->off, obs->on);
}

static char *out_of(int on)
{
	return on ? obs->on : obs->off;
}

/* ---- perf ---- */

struct ring {
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size;
};

struct tally {
	int inside, outside;
};

/* Copy @n bytes at ring offset @off (wrapping) to @dst. */
static void ring_copy(const struct ring *r, uint64_t off, void *dst, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		((uint8_t *)dst)[i] = r->data[(off + i) % r->size];
}

/* Sample: ip, abi, regs[sp, ip], size, stack[size], dyn_size. */
static void ring_drain(struct ring *r, struct tally *t)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	struct perf_event_header h;
	uint64_t w[4];

	while (tail < head) {
		ring_copy(r, tail, &h, sizeof(h));
		if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof(h) + 32) {
			ring_copy(r, tail + sizeof(h), w, sizeof(w));
			/* w[0] ip, w[1] abi, w[2] sp, w[3] ip */
			if (ip_inside(w[0]) ||
			    (w[1] && (ip_inside(w[3]) || sp_on_stacks(w[2]))))
				t->inside++;
			else
				t->outside++;
		}
		if (!h.size)
			break;
		tail += h.size;
	}
	/* Pairs with the kernel's read of data_tail: records consumed. */
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int perf_open_self(struct ring *r)
{
	struct perf_event_attr a;
	void *p;
	int fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.sample_period = 50000; /* ns of task time */
	a.sample_type =
		PERF_SAMPLE_IP | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	a.sample_regs_user = (1ULL << 7) | (1ULL << 8); /* sp, ip */
	a.sample_stack_user = 1024;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.disabled = 1;
	fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0)
		return -1;
	p = mmap(NULL, (1 + RING_PAGES) * 4096, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	r->meta = p;
	r->data = (uint8_t *)p + 4096;
	r->size = RING_PAGES * 4096;
	return fd;
}

static int perf_user(int on)
{
	volatile uint64_t spin = 0;
	struct tally t = {0, 0};
	struct ring r;
	size_t vlen;
	int fd, i, j;

	if (vm_attach(ATK_STORE) ||
	    plmc_set("intro-big", 9, big, sizeof(big), 0, 0) != PLMC_STORED)
		return -1;
	fd = perf_open_self(&r);
	if (fd < 0)
		return VM_FAIL("perf_event_open at paranoid 2: %s",
			       strerror(errno));
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	for (i = 0; i < 150; i++) {
		plmc_get("intro-big", 9, big, sizeof(big), &vlen, NULL, NULL);
		for (j = 0; j < 20000; j++)
			spin += (uint64_t)j; /* outside: the control */
		ring_drain(&r, &t);
	}
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	ring_drain(&r, &t);
	snprintf(out_of(on), sizeof(obs->on),
		 "%d samples inside the "
		 "library, %d outside",
		 t.inside, t.outside);
	if (!t.outside)
		return VM_FAIL("no sample at all (control): %s", out_of(on));
	if (on && t.inside)
		return VM_FAIL("%s", out_of(on));
	if (!on && !t.inside)
		return VM_FAIL("introspect_guard=0: %s (the attack is not "
			       "real)",
			       out_of(on));
	return 0;
}

static int perf_samples(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r+");
	int was = 3, rc;

	if (!f || fscanf(f, "%d", &was) != 1)
		return VM_FAIL("perf_event_paranoid not readable");
	rewind(f);
	fprintf(f, "2\n");
	fclose(f);
	rc = off_then_on("introspect_guard", perf_user);
	f = fopen("/proc/sys/kernel/perf_event_paranoid", "w");
	if (f) {
		fprintf(f, "%d\n", was);
		fclose(f);
	}
	return rc;
}

/* ---- dumpable ---- */

static int dumpable_user(int on)
{
	int go[2], rc, e, d, st;
	pid_t a;
	struct {
		int before, rc, e, d;
	} *res = atk_shared(4096);

	if (!res || pipe(go))
		return VM_FAIL("mmap or pipe");
	a = fork();
	if (a == 0) {
		/* Control: before attach the prctl works. */
		prctl(PR_SET_DUMPABLE, 0);
		res->before = prctl(PR_SET_DUMPABLE, 1) ? -errno : 0;
		if (vm_attach(ATK_STORE))
			_exit(1);
		res->rc = prctl(PR_SET_DUMPABLE, 1);
		res->e = errno;
		res->d = prctl(PR_GET_DUMPABLE);
		vm_signal_fd(go[1]);
		for (;;)
			pause();
	}
	close(go[1]);
	if (a < 0 || vm_wait_fd(go[0])) {
		atk_kill_reap(a);
		return VM_FAIL("client did not attach");
	}
	rc = ptrace(PTRACE_ATTACH, a, 0, 0);
	e = errno;
	if (!rc)
		waitpid(a, &st, 0);
	atk_kill_reap(a);
	d = res->d;
	snprintf(out_of(on), sizeof(obs->on),
		 "prctl %s, dumpable %d, PTRACE_ATTACH %s",
		 res->rc ? vm_errno_name(res->e) : "ok", d,
		 rc ? vm_errno_name(e) : "ok");
	if (res->before)
		return VM_FAIL("control: %s", out_of(on));
	if (on && (!res->rc || res->e != EPERM || d || !rc))
		return VM_FAIL("%s", out_of(on));
	if (!on && (res->rc || !d || rc))
		return VM_FAIL("introspect_guard=0: %s (the attack is not "
			       "real)",
			       out_of(on));
	return 0;
}

static int dumpable_reopen(void)
{
	return off_then_on("introspect_guard", dumpable_user);
}

/* ---- a thread parked inside on userfaultfd ---- */

static char *park_buf;
static volatile pid_t park_tid;

static void *parker(void *arg)
{
	size_t vlen;

	park_tid = (pid_t)syscall(SYS_gettid);
	if (arg)
		plmc_get("intro-big", 9, park_buf, BIG, &vlen, NULL, NULL);
	else
		*(volatile char *)park_buf;
	return NULL;
}

/* Attach, park a thread (inside or not), wait until it sleeps. */
static int park(bool inside)
{
	char path[64], st[256], *p;
	pthread_t th;
	int i;
	FILE *f;

	if (inside &&
	    (vm_attach(ATK_STORE) ||
	     plmc_set("intro-big", 9, big, sizeof(big), 0, 0) != PLMC_STORED))
		return -1;
	park_buf = vm_uffd_buffer((BIG + 8191) & ~4095UL, 0, NULL);
	if (!park_buf)
		return VM_FAIL("userfaultfd: %s", strerror(errno));
	if (pthread_create(&th, NULL, parker, inside ? park_buf : NULL))
		return VM_FAIL("pthread_create");
	for (i = 0; i < 300; i++) {
		usleep(10000);
		if (!park_tid)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
			 (int)park_tid);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(st, sizeof(st), f);
		fclose(f);
		p = p ? strrchr(st, ')') : NULL;
		if (p && p[1] == ' ' && p[2] == 'S')
			return 0;
	}
	return VM_FAIL("the parked thread never slept");
}

/*
 * /proc/self/task/TID/syscall of the parked thread. Return: 1 it showed
 * an ip in the image or an sp on a slot stack, 0 not; *txt what it said.
 */
static int read_syscall(char *txt, size_t n)
{
	unsigned long long sp = 0, ip = 0;
	char path[64];
	long nr;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
		 (int)park_tid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(txt, n, "open: %s", vm_errno_name(errno));
		return 0;
	}
	r = read(fd, txt, n - 1);
	close(fd);
	if (r < 0) {
		snprintf(txt, n, "read: %s", vm_errno_name(errno));
		return 0;
	}
	txt[r] = 0;
	if (r && txt[r - 1] == '\n')
		txt[r - 1] = 0;
	if (sscanf(txt, "%ld 0x%llx 0x%llx", &nr, &sp, &ip) != 3)
		return 0;
	return ip_inside(ip) || sp_on_stacks(sp);
}

/*
 * An attached process with a thread parked inside makes itself dumpable
 * while the defence is off (else /proc/self/task/TID/syscall is root's:
 * the first line), then reads the parked thread's syscall file with the
 * defence as @on says: the second line alone. Return: 0 or -1.
 */
static int syscall_run(int on)
{
	int was = atk_param_get("introspect_guard"), ready[2], go[2], st;
	pid_t a;

	if (was < 0 || pipe(ready) || pipe(go))
		return VM_FAIL("no introspect_guard or pipe");
	atk_param_set("introspect_guard", 0);
	a = fork();
	if (a == 0) {
		char txt[200];
		int got;

		if (setgid(12345) || setuid(12345) || park(true) ||
		    prctl(PR_SET_DUMPABLE, 1))
			_exit(2);
		vm_signal_fd(ready[1]);
		if (vm_wait_fd(go[0]))
			_exit(3);
		got = read_syscall(txt, sizeof(txt));
		snprintf(out_of(on), sizeof(obs->on), "\"%s\"", txt);
		_exit(got ? 4 : 0);
	}
	close(ready[1]);
	if (a < 0 || vm_wait_fd(ready[0])) {
		atk_param_set("introspect_guard", was);
		if (a > 0)
			vm_reap(a);
		return VM_FAIL("client did not attach, park, turn dumpable");
	}
	atk_param_set("introspect_guard", on);
	vm_signal_fd(go[1]);
	st = vm_reap(a);
	atk_param_set("introspect_guard", was);
	if (!WIFEXITED(st) || (WEXITSTATUS(st) && WEXITSTATUS(st) != 4))
		return VM_FAIL("reader ended 0x%x", st);
	if (on && WEXITSTATUS(st))
		return VM_FAIL("the thread's state from inside: %s", obs->on);
	if (!on && !WEXITSTATUS(st))
		return VM_FAIL("introspect_guard=0: %s (the attack is not "
			       "real)",
			       obs->off);
	return 0;
}

static int proc_syscall(void)
{
	int grace = atk_param_get("stop_grace_ms"), rc;

	obs = atk_shared(sizeof(*obs));
	if (!obs)
		return VM_FAIL("mmap");
	/* The parked thread must outlive the reads. */
	atk_param_set("stop_grace_ms", 60000);
	rc = syscall_run(0);
	if (!rc)
		rc = syscall_run(1);
	atk_param_set("stop_grace_ms", grace);
	if (rc)
		return -1;
	return ATK_REFUSED("off: %s; on: %s", obs->off, obs->on);
}

/* Control: a process (not attached) parks a thread in its own code. */
static int syscall_outside_user(int unused)
{
	char txt[200];
	unsigned long long sp = 0, ip = 0;
	long nr;

	/* setuid() left it non-dumpable: its /proc files would be root's. */
	if (prctl(PR_SET_DUMPABLE, 1) || park(false))
		return -1;
	read_syscall(txt, sizeof(txt));
	if (sscanf(txt, "%ld 0x%llx 0x%llx", &nr, &sp, &ip) != 3 || !ip ||
	    ip_inside(ip))
		return VM_FAIL("parked outside: \"%s\"", txt);
	return ATK_REFUSED("parked in its own code: \"%s\"", txt);
}

static int proc_syscall_outside(void)
{
	return atk_as_user(syscall_outside_user, 0);
}

/* ---- core dumps ---- */

/* A: optionally attached, a thread parked inside, then abort(). */
static int core_run(bool attach, pid_t *pid)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	char path[64];
	int st;
	pid_t a = fork();

	if (a == 0) {
		setrlimit(RLIMIT_CORE, &rl);
		if (attach && park(true))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1); /* refused after attach */
		abort();
	}
	if (a < 0)
		return -1;
	*pid = a;
	st = vm_reap(a);
	snprintf(path, sizeof(path), CORE_PREFIX "%d", (int)a);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		return -2;
	return access(path, F_OK) == 0;
}

static int core_user(int on)
{
	pid_t a = 0;
	int got = core_run(true, &a);

	if (got < 0)
		return VM_FAIL("attached process did not abort (%d)", got);
	snprintf(out_of(on), sizeof(obs->on), "pid %d %s", (int)a,
		 got ? "dumped core" : "no core");
	if (on && got)
		return VM_FAIL("a core of an attached process with a thread "
			       "inside");
	if (!on && !got)
		return VM_FAIL("introspect_guard=0: no core (the attack is "
			       "not real)");
	return 0;
}

static int core_control_user(int unused)
{
	pid_t a = 0;
	int got = core_run(false, &a);

	if (got != 1)
		return VM_FAIL("control: a non-dumpable process got no core "
			       "(%d)",
			       got);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

/*
 * @fn with cores written as CORE_PREFIX<pid> and a stop grace long enough
 * that a parked thread outlives the dump; the pattern, the grace and the
 * cores are put back or removed after it. Return: @fn's.
 */
static int with_cores(int (*fn)(void))
{
	char pat[256] = "core";
	FILE *f;
	int rc, g = atk_param_get("stop_grace_ms");

	f = fopen("/proc/sys/kernel/core_pattern", "r");
	if (f && fgets(pat, sizeof(pat), f))
		pat[strcspn(pat, "\n")] = 0;
	if (f)
		fclose(f);
	if (write_file("/proc/sys/kernel/core_pattern", CORE_PREFIX "%p"))
		return VM_FAIL("cannot set core_pattern");
	atk_param_set("stop_grace_ms", 60000);
	rc = fn();
	atk_param_set("stop_grace_ms", g);
	write_file("/proc/sys/kernel/core_pattern", pat);
	if (system("rm -f " CORE_PREFIX "*")) {
		/* nothing to remove */
	}
	return rc;
}

static int core_dump_runs(void)
{
	int rc = atk_as_user(core_control_user, 0);

	return rc ? rc : off_then_on("introspect_guard", core_user);
}

static int core_dump(void)
{
	return with_cores(core_dump_runs);
}

/*
 * The second line alone: dumpability turned back on while the defence is
 * off (prctl accepted), then the defence on, then abort() with a thread
 * inside: do_coredump() is refused by itself.
 */
static int core_second_line(void)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	int was = atk_param_get("introspect_guard"), ready[2], go[2], st;
	char path[64];
	pid_t a;

	if (was < 0 || pipe(ready) || pipe(go))
		return VM_FAIL("no introspect_guard or pipe");
	atk_param_set("introspect_guard", 0);
	a = fork();
	if (a == 0) {
		if (setgid(12345) || setuid(12345))
			_exit(1);
		setrlimit(RLIMIT_CORE, &rl);
		if (park(true) || prctl(PR_SET_DUMPABLE, 1))
			_exit(2);
		vm_signal_fd(ready[1]);
		if (vm_wait_fd(go[0]))
			_exit(3);
		abort();
	}
	close(ready[1]);
	if (a < 0 || vm_wait_fd(ready[0])) {
		atk_param_set("introspect_guard", was);
		if (a > 0)
			vm_reap(a);
		return VM_FAIL("client did not attach, park and turn dumpable");
	}
	atk_param_set("introspect_guard", 1);
	vm_signal_fd(go[1]);
	st = vm_reap(a);
	atk_param_set("introspect_guard", was);
	snprintf(path, sizeof(path), CORE_PREFIX "%d", (int)a);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
		return VM_FAIL("client ended 0x%x, not by SIGABRT", st);
	if (access(path, F_OK) == 0)
		return VM_FAIL("dumpable again and aborted: core written");
	return ATK_REFUSED("dumpable 1 (accepted with the defence off), "
			   "aborted with a thread inside: no core%s",
			   WCOREDUMP(st) ? " (core flag set)" : "");
}

static int core_second(void)
{
	return with_cores(core_second_line);
}

int main(void)
{
	atk_init();
	atk_run("introspect.perf_samples_inside",
		"no sample from inside; samples outside", perf_samples, NULL);
	atk_run("introspect.dumpable_reopened",
		"prctl EPERM, no same-uid ptrace", dumpable_reopen, NULL);
	atk_run("introspect.proc_syscall_inside", "no ip or sp from inside",
		proc_syscall, NULL);
	atk_run("introspect.proc_syscall_outside", "shows its sp and ip",
		proc_syscall_outside, NULL);
	atk_run("introspect.core_dump_inside", "no core file", core_dump, NULL);
	atk_run("introspect.core_dump_dumpable_again", "no core file",
		core_second, NULL);
	return vm_done();
}
