/* SPDX-License-Identifier: MIT */
/*
 * atk_pkru - PKRU is per task (SECURITY.md holes 14 and 15). The
 * invariant: after a successful attach no task of the mm runs a user
 * instruction, or makes a kernel access to user memory on its behalf,
 * with the store key open outside the gate; and every byte of a late
 * executable mapping, to the end of its last page, was scanned.
 *
 * Each attack runs as uid 12345 against the store root made (mode 0666).
 * The PKRU ones run twice: with attach_close=0 (the module leaves every
 * task's PKRU as it was) they must read the store header, which shows the
 * path is real; with it on they must not.
 *
 *  thread_wrpkru0   a thread runs WRPKRU(0) before the main thread
 *                   attaches, spins, then reads the store
 *  thread_pkey_alloc  a thread opens keys with pkey_alloc(0, 0) (no PKRU
 *                   instruction at all) before attach; libpl's key is one
 *  raw_attach_open  PLMC_IOC_ATTACH made with the key open in the caller,
 *                   the three regions mapped by hand
 *  clone_vm         a clone(CLONE_VM) child (its own thread group) with
 *                   PKRU 0 from before attach
 *  sqpoll           an io_uring SQPOLL thread made with PKRU 0 before
 *                   attach writes the store header to a pipe; with the
 *                   defence on attach is refused (EBUSY). Control: a ring
 *                   made after attach gets EFAULT (its thread copied the
 *                   closed PKRU)
 *  failed_frame_traced  6.12: a signal frame fails half way with every key
 *                   open; the same-uid tracer cancels the forced SIGSEGV
 *                   and the client runs on (sigfail_close=0 shows it)
 *  failed_frame_segv_handler  the same with a SIGSEGV handler on an
 *                   alternate stack instead of a tracer
 *  short_len(_off)  a file page with a WRPKRU at 0x800 mapped PROT_EXEC
 *                   with length 0x10 after attach (at offset 0, 4096):
 *                   EACCES. Control: the same with a clean page maps and
 *                   its byte at 0x800 runs (the whole page is executable)
 */
#include "attacks.h"
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#define PG    4096UL
#define PARAM "attach_close"

struct obs {
	char off[300], on[300];
	char got[100]; /* what a grandchild saw */
	int handled;   /* SIGSEGV handlers it ran */
};
static struct obs *obs;

static char *out_of(int on)
{
	return on ? obs->on : obs->off;
}

/* Our WRPKRU, in file text (attach puts an int3 over it): PKRU = @v. */
__attribute__((used, noinline)) void atk_pkru_wrpkru(uint32_t v)
{
	asm volatile("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru"
		     :
		     : "a"(v)
		     : "ecx", "edx", "memory");
}

/* The probe: one task at a time (the others wait for it). */
static sigjmp_buf probe_jb;
static volatile int probe_code;

static void probe_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	probe_code = si->si_code;
	siglongjmp(probe_jb, 1);
}

/* Read the store header. Return: "header read", "SEGV_PKUERR" or other. */
static const char *probe_store(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(probe_jb, 1))
		return probe_code == SEGV_PKUERR ? "SEGV_PKUERR" : "other SEGV";
	return atk_store_magic_ok() ? "header read" : "header wrong";
}

/* Close the store key again before an exit (an exit with it open is a
 * death inside the library, tasks.c). Emulated: closing is allowed. */
static void close_key(void)
{
	atk_pkru_wrpkru(atk_rdpkru() | 3U << vm_ppage()->pkey_shift);
}

/* What @on expects: off must read the header, on must fault. */
static int judge(int on, const char *what)
{
	snprintf(out_of(on), sizeof(obs->on), "%s", what);
	if (on ? strcmp(what, "SEGV_PKUERR") : strcmp(what, "header read"))
		return VM_FAIL("%s: %s", on ? "defence on" : "defence off",
			       what);
	return 0;
}

/* Run @fn as uid 12345 with @param 0, then 1 (atk_child_as). */
static int param_off_then_on(const char *param, int (*fn)(int))
{
	obs = atk_shared(sizeof(*obs));
	if (!obs)
		return VM_FAIL("no shared page");
	return atk_child_as(param, fn, obs->off, obs->on);
}

static int off_then_on(int (*fn)(int))
{
	return param_off_then_on(PARAM, fn);
}

/* A task that opened its PKRU before attach: it says so, spins in user
 * mode (no syscall) until told, then probes. */
static volatile int t_ready, t_go;
static const char *t_seen;

static void spin_probe(void)
{
	t_ready = 1;
	while (!t_go)
		__asm__ volatile("pause" ::: "memory");
	t_seen = probe_store();
	close_key();
}

static void *wrpkru0_thread(void *arg)
{
	(void)arg;
	atk_pkru_wrpkru(0);
	spin_probe();
	return NULL;
}

static void *pkey_alloc_thread(void *arg)
{
	int keys[16], n = 0, k;

	(void)arg;
	/* Rights 0: the kernel opens each new key in this thread's PKRU. */
	while (n < 16 && (k = pkey_alloc(0, 0)) > 0)
		keys[n++] = k;
	while (n > 0)
		pkey_free(keys[--n]);
	spin_probe();
	return NULL;
}

static int thread_case(int on, void *(*body)(void *))
{
	pthread_t t;

	t_ready = t_go = 0;
	t_seen = "not run";
	if (pthread_create(&t, NULL, body, NULL))
		return VM_FAIL("pthread_create");
	while (!t_ready)
		sched_yield();
	if (vm_attach(ATK_STORE))
		return -1;
	t_go = 1;
	pthread_join(t, NULL);
	return judge(on, t_seen);
}

static int thread_wrpkru0(int on)
{
	return thread_case(on, wrpkru0_thread);
}

static int thread_pkey_alloc(int on)
{
	return thread_case(on, pkey_alloc_thread);
}

static int raw_attach_open(int on)
{
	struct plmc_attach_args a;
	int fd = open(PLMC_DEV_PATH, O_RDWR);
	int key = pkey_alloc(0, 0); /* open in this thread */
	void *im, *pp, *da;

	if (fd < 0 || key < 0)
		return VM_FAIL("open or pkey_alloc: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", ATK_STORE);
	a.pkey = (uint32_t)key;
	if (ioctl(fd, PLMC_IOC_ATTACH, &a))
		return VM_FAIL("raw attach: %s", strerror(errno));
	im = mmap((void *)(PLMC_BASE + PLMC_IMAGE_OFF),
		  (a.image_size + PG - 1) & ~(PG - 1), PROT_READ | PROT_EXEC,
		  MAP_SHARED | MAP_FIXED_NOREPLACE, fd, PLMC_IMAGE_OFF);
	pp = mmap((void *)(PLMC_BASE + PLMC_PPAGE_OFF), PG, PROT_READ,
		  MAP_SHARED | MAP_FIXED_NOREPLACE, fd, PLMC_PPAGE_OFF);
	da = mmap((void *)(PLMC_BASE + PLMC_DATA_OFF),
		  PLMC_DATA_LEN(a.store_size), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_FIXED_NOREPLACE, fd, PLMC_DATA_OFF);
	if (im == MAP_FAILED || pp == MAP_FAILED || da == MAP_FAILED)
		return VM_FAIL("map the regions: %s", strerror(errno));
	return judge(on, probe_store());
}

static int clone_child(void *arg)
{
	(void)arg;
	atk_pkru_wrpkru(0);
	spin_probe();
	return 0;
}

static int clone_vm(int on)
{
	static uint8_t stack[64 * 1024] __attribute__((aligned(16)));
	pid_t c;

	t_ready = t_go = 0;
	t_seen = "not run";
	c = clone(clone_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
	if (c < 0)
		return VM_FAIL("clone: %s", strerror(errno));
	while (!t_ready)
		sched_yield();
	if (vm_attach(ATK_STORE)) {
		kill(c, SIGKILL);
		vm_reap(c);
		return -1;
	}
	t_go = 1;
	vm_reap(c);
	return judge(on, t_seen);
}

/* A minimal SQPOLL ring: one write of 8 bytes from @src to @fd. */
struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *sq_flags, *cq_head, *cq_tail,
		*cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	uint8_t *sq, *cq;
	size_t sqsz, cqsz;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL;
	p.sq_thread_idle = 2000;
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return VM_FAIL("io_uring_setup(SQPOLL): %s", strerror(errno));
	sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return VM_FAIL("map the ring: %s", strerror(errno));
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Return: the write's result (bytes or -errno), or INT32_MIN. */
static int ring_write(struct ring *r, int fd, const void *src)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	struct io_uring_sqe *e = &r->sqes[idx];
	int i;

	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_WRITE;
	e->fd = fd;
	e->addr = (uint64_t)(uintptr_t)src;
	e->len = 8;
	e->off = (uint64_t)-1;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) &
	    IORING_SQ_NEED_WAKEUP)
		syscall(__NR_io_uring_enter, r->fd, 0, 0,
			IORING_ENTER_SQ_WAKEUP, NULL, 0);
	for (i = 0; i < 5000; i++) {
		head = __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
			int res = r->cqes[head & *r->cq_mask].res;

			__atomic_store_n(r->cq_head, head + 1,
					 __ATOMIC_RELEASE);
			return res;
		}
		usleep(1000);
	}
	return INT32_MIN;
}

/* The ring's write of the store header: what came out of the pipe. */
static const char *ring_probe(struct ring *r, char *buf, size_t n)
{
	uint64_t got = 0;
	int pfd[2], res;

	if (pipe(pfd))
		return "pipe failed";
	res = ring_write(r, pfd[1], (const void *)PLMC_STORE_ADDR);
	if (res == 8 && read(pfd[0], &got, 8) == 8 && got == PLMC_STORE_MAGIC)
		return "header read";
	if (res < 0 && res != INT32_MIN)
		snprintf(buf, n, "write %s", vm_errno_name(-res));
	else
		snprintf(buf, n, "write result %d", res);
	return buf;
}

static int sqpoll(int on)
{
	static char buf[80];
	struct ring r;
	int rc;

	atk_pkru_wrpkru(0); /* the SQ thread copies this PKRU */
	if (ring_setup(&r))
		return -1;
	atk_pkru_wrpkru(0x55555554); /* every key closed again but 0 */
	rc = plmc_attach(ATK_STORE, PLMC_USE_KMOD);
	if (rc) {
		snprintf(out_of(on), sizeof(obs->on), "attach %s",
			 plmc_strerror(rc));
		if (!on || rc != -EBUSY)
			return VM_FAIL("attach: %s", plmc_strerror(rc));
		return 0;
	}
	if (on)
		return VM_FAIL("attach accepted with an SQPOLL thread");
	return judge(on, ring_probe(&r, buf, sizeof(buf)));
}

static int pkru_thread_wrpkru0(void)
{
	return off_then_on(thread_wrpkru0);
}

static int pkru_thread_pkey_alloc(void)
{
	return off_then_on(thread_pkey_alloc);
}

static int pkru_raw_attach_open(void)
{
	return off_then_on(raw_attach_open);
}

static int pkru_clone_vm(void)
{
	return off_then_on(clone_vm);
}

static int pkru_sqpoll(void)
{
	return off_then_on(sqpoll);
}

/* Control: a ring made after attach runs, and cannot read the store. */
static int sqpoll_after_attach(void)
{
	static char buf[80];
	const char *what;
	struct ring r;

	if (setgid(12345) || setuid(12345) || vm_attach(ATK_STORE) ||
	    ring_setup(&r))
		return -1;
	what = ring_probe(&r, buf, sizeof(buf));
	if (strcmp(what, "write EFAULT"))
		return VM_FAIL("ring made after attach: %s", what);
	return ATK_REFUSED("ring made after attach: %s", what);
}

/*
 * A signal frame that fails half way (6.12 opened every key to write its
 * XSAVE area). The stack: one page mapped at @st + 2 pages, the page under
 * it not; SIGUSR1 is sent with rsp at offsets of the top page where the
 * XSAVE area fits and the rest of the frame does not. The kernel forces
 * SIGSEGV; either a tracer cancels it (s1) or a SIGSEGV handler on an
 * alternate stack takes it and returns (s2: its frame would record PKRU
 * 0, and its sigreturn restore it; defer.c already kills a frame built
 * with the store open, the fix closes the key before that). Return: whether
 * PKRU ever came back opening the store key.
 */
uint64_t atk_pkru_saved_sp;

static void usr1_noop(int sig)
{
	(void)sig;
}

static volatile int segv_handled;

static void segv_return(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	segv_handled++;
}

static bool frames_fail(void)
{
	uint32_t bit = 1U << vm_ppage()->pkey_shift;
	long pid = getpid(), tid = syscall(SYS_gettid);
	uint8_t *st;
	int x;

	signal(SIGUSR1, usr1_noop);
	st = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (st == MAP_FAILED || munmap(st + PG, PG))
		return false;
	for (x = 2048; x <= 4096; x += 32) {
		uint64_t nsp = (uint64_t)(uintptr_t)(st + 2 * PG + x);
		long nr = SYS_tgkill;

		asm volatile("mov %%rsp, atk_pkru_saved_sp(%%rip)\n\t"
			     "mov %[nsp], %%rsp\n\t"
			     "syscall\n\t"
			     "mov atk_pkru_saved_sp(%%rip), %%rsp"
			     : "+a"(nr)
			     : [nsp] "r"(nsp), "D"(pid), "S"(tid),
			       "d"((long)SIGUSR1)
			     : "rcx", "r11", "memory");
		if (!(atk_rdpkru() & bit))
			return true;
	}
	return false;
}

/* 6.12 and later open every key for the frame; 6.1 leaves PKRU alone. */
static bool kernel_opens_for_frame(void)
{
	struct utsname u;
	int a = 0, b = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a > 6 || (a == 6 && b >= 12));
}

/* What @on expects of a failed frame, by kernel. */
static int judge_frame(int on, const char *what)
{
	if (on || kernel_opens_for_frame())
		return judge(on, what);
	snprintf(out_of(on), sizeof(obs->on), "%s (kernel keeps PKRU)", what);
	if (strcmp(what, "SEGV_PKUERR"))
		return VM_FAIL("defence off on this kernel: %s", what);
	return 0;
}

static void frame_child(void)
{
	const char *what;

	if (vm_attach(ATK_STORE))
		_exit(1);
	frames_fail();
	what = probe_store();
	close_key();
	snprintf(obs->got, sizeof(obs->got), "%s", what);
	obs->handled = segv_handled;
	_exit(0);
}

static int frame_traced(int on)
{
	int st, cancelled = 0;
	pid_t c = fork();

	if (c == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(1);
		frame_child();
	}
	if (c < 0)
		return VM_FAIL("fork");
	while (waitpid(c, &st, __WALL) == c && WIFSTOPPED(st)) {
		int sig = WSTOPSIG(st);
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		ptrace(PTRACE_GETSIGINFO, c, 0, &si);
		if (sig == SIGSEGV && si.si_code == SI_KERNEL) {
			sig = 0; /* the failed frame's SIGSEGV, cancelled */
			cancelled++;
		}
		ptrace(PTRACE_CONT, c, 0, (void *)(long)sig);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("traced client ended 0x%x", st);
	if (!cancelled)
		return VM_FAIL("no frame failed");
	return judge_frame(on, obs->got);
}

static int frame_handler(int on)
{
	static uint8_t alt[256 * 1024] __attribute__((aligned(64)));
	struct sigaction sa;
	stack_t ss;
	int st;
	pid_t c = fork();

	if (c == 0) {
		ss.ss_sp = alt;
		ss.ss_size = sizeof(alt);
		ss.ss_flags = 0;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = segv_return;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
		if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL))
			_exit(1);
		frame_child();
	}
	if (c < 0)
		return VM_FAIL("fork");
	st = vm_reap(c);
	/* Off, on 6.12: the SIGSEGV frame is built with the store open, and
	 * defer.c's second line kills it there (the row shows that too). */
	if (!on && kernel_opens_for_frame() && WIFSIGNALED(st) &&
	    WTERMSIG(st) == SIGKILL) {
		snprintf(out_of(on), sizeof(obs->on),
			 "SIGKILL (frame built with the store open)");
		return 0;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("client ended 0x%x", st);
	if (!obs->handled)
		return VM_FAIL("no frame failed (no SIGSEGV handled)");
	return judge_frame(on, obs->got);
}

static int pkru_frame_traced(void)
{
	return param_off_then_on("sigfail_close", frame_traced);
}

static int pkru_frame_handler(void)
{
	return param_off_then_on("sigfail_close", frame_handler);
}

/*
 * The code bytes, volatile: a constant the compiler could fold would put
 * them in our own text. xor ecx,ecx; xor edx,edx; xor eax,eax; wrpkru; ret
 */
static volatile const uint8_t wrpkru_v[] = {0x31, 0xc9, 0x31, 0xd2, 0x31,
					    0xc0, 0x0f, 0x01, 0xef, 0xc3};

/* @path: two pages of ret; the WRPKRU at 0x800 of page @at (-1: none). */
static int make_file(const char *path, int at)
{
	uint8_t page[PG];
	int fd, i, bad = 0;
	size_t j;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0700);
	if (fd < 0)
		return VM_FAIL("create %s: %s", path, strerror(errno));
	for (i = 0; i < 2; i++) {
		memset(page, 0xc3, sizeof(page));
		if (i == at)
			for (j = 0; j < sizeof(wrpkru_v); j++)
				page[0x800 + j] = wrpkru_v[j];
		bad |= write(fd, page, PG) != (ssize_t)PG;
	}
	close(fd);
	return bad ? VM_FAIL("write %s", path) : 0;
}

/* Map 0x10 bytes of @path at page @pg r-x. */
static uint8_t *map_short(const char *path, int pg)
{
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, 0x10, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd,
		 (off_t)pg * (off_t)PG);
	close(fd);
	return p;
}

static int short_len_at(int pg)
{
	const char *f = "/tmp/pkru-short";
	uint8_t *p;

	if (setgid(12345) || setuid(12345) || make_file(f, pg) ||
	    vm_attach(ATK_STORE))
		return -1;
	p = map_short(f, pg);
	if (p == MAP_FAILED) {
		if (errno != EACCES)
			return VM_FAIL("mmap: %s, expected EACCES",
				       vm_errno_name(errno));
		return ATK_REFUSED("length 0x10, WRPKRU at 0x800: EACCES");
	}
	vm_expect_death();
	((void (*)(void))(uintptr_t)(p + 0x800))();
	if (atk_store_magic_ok())
		return VM_FAIL("WRPKRU past the length ran: store header read");
	return VM_FAIL("WRPKRU past the length ran (store still closed)");
}

static int short_len(void)
{
	return short_len_at(0);
}

static int short_len_off(void)
{
	return short_len_at(1);
}

static int short_len_control(void)
{
	const char *f = "/tmp/pkru-short-clean";
	uint8_t *p;

	if (setgid(12345) || setuid(12345) || make_file(f, -1) ||
	    vm_attach(ATK_STORE))
		return -1;
	p = map_short(f, 0);
	if (p == MAP_FAILED)
		return VM_FAIL("clean short mapping: %s", vm_errno_name(errno));
	((void (*)(void))(uintptr_t)(p + 0x800))();
	if (plmc_nop())
		return VM_FAIL("gate");
	return ATK_REFUSED("clean, length 0x10: byte 0x800 ran");
}

int main(void)
{
	atk_init();
	atk_run("pkru.thread_wrpkru0_before_attach", "off: read; on: PKUERR",
		pkru_thread_wrpkru0, NULL);
	atk_run("pkru.thread_pkey_alloc_before_attach", "off: read; on: PKUERR",
		pkru_thread_pkey_alloc, NULL);
	atk_run("pkru.raw_attach_key_open", "off: read; on: PKUERR",
		pkru_raw_attach_open, NULL);
	atk_run("pkru.clone_vm_before_attach", "off: read; on: PKUERR",
		pkru_clone_vm, NULL);
	atk_run("pkru.sqpoll_before_attach", "off: read; on: attach EBUSY",
		pkru_sqpoll, NULL);
	atk_run("pkru.control_sqpoll_after_attach", "EFAULT",
		sqpoll_after_attach, NULL);
	atk_run("pkru.failed_frame_traced", "off: read (6.12); on: PKUERR",
		pkru_frame_traced, NULL);
	atk_run("pkru.failed_frame_segv_handler",
		"off: SIGKILL (6.12); on: PKUERR", pkru_frame_handler, NULL);
	atk_run("pkru.late_code_short_len", "EACCES", short_len, NULL);
	atk_run("pkru.late_code_short_len_off", "EACCES", short_len_off, NULL);
	atk_run("pkru.control_short_len_clean", "works", short_len_control,
		NULL);
	return vm_done();
}
