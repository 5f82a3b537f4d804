/* SPDX-License-Identifier: MIT */
/*
 * atk_remote - attack 3: reach the store sideways: /proc/self/mem,
 * process_vm_readv/writev, and ptrace from a sibling process (root and
 * another uid). Expected: EIO / EFAULT / EPERM; nothing read or written.
 *
 * A tracer reading the registers of a tracee stopped inside the library:
 * the client makes its parent its tracer (PTRACE_TRACEME needs no
 * permission) and loops on 4 KiB sets; the parent stops it with SIGSTOP
 * 300 times and reads its registers (GETREGS, PEEKUSER, GETREGSET) at
 * each stop. Expected: no read ever returns registers from
 * inside the library (ip in the image): they would show its data.
 */
#include "attacks.h"
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <stddef.h>

static int proc_mem(void)
{
	uint64_t v = 0;
	int fd, n1, n2, e1, e2;

	if (vm_attach(ATK_STORE))
		return -1;
	fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0)
		return VM_FAIL("open /proc/self/mem: %s", strerror(errno));
	n1 = (int)pread(fd, &v, 8, (off_t)PLMC_STORE_ADDR);
	e1 = errno;
	n2 = (int)pwrite(fd, &v, 8, (off_t)PLMC_KV_ADDR);
	e2 = errno;
	close(fd);
	if (n1 >= 0 || n2 >= 0)
		return VM_FAIL("/proc/self/mem: read %d write %d", n1, n2);
	return ATK_REFUSED("read %s, write %s", vm_errno_name(e1),
			   vm_errno_name(e2));
}

static int pvm_rw(void)
{
	uint64_t v = 0;
	struct iovec l = {&v, 8}, r = {(void *)PLMC_STORE_ADDR, 8};
	ssize_t n1, n2;
	int e1, e2;

	if (vm_attach(ATK_STORE))
		return -1;
	n1 = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	e1 = errno;
	n2 = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	e2 = errno;
	if (n1 >= 0 || n2 >= 0)
		return VM_FAIL("process_vm: read %zd write %zd", n1, n2);
	return ATK_REFUSED("readv %s, writev %s", vm_errno_name(e1),
			   vm_errno_name(e2));
}

/* A sibling (not the parent) attaches to an attached victim. */
static int ptrace_sibling(uid_t uid)
{
	int go[2], done[2];
	pid_t victim, spy;
	int st, res[3] = {0, 0, 0}, rp[2];

	if (pipe(go) || pipe(done) || pipe(rp))
		return VM_FAIL("pipe");
	victim = fork();
	if (victim == 0) {
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(5);
		if (vm_attach(ATK_STORE))
			_exit(1);
		vm_signal_fd(go[1]);
		vm_wait_fd(done[0]);
		_exit(plmc_nop() ? 2 : 0);
	}
	if (vm_wait_fd(go[0]))
		return VM_FAIL("victim did not attach");
	spy = fork();
	if (spy == 0) {
		long w;

		if (uid && (setgid(uid) || setuid(uid)))
			_exit(3);
		errno = 0;
		if (ptrace(PTRACE_ATTACH, victim, 0, 0) < 0) {
			res[0] = errno;
		} else {
			waitpid(victim, &st, 0);
			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, victim,
				   (void *)PLMC_STORE_ADDR, 0);
			res[1] = (w == -1 && errno) ? errno : -1;
			errno = 0;
			res[2] = ptrace(PTRACE_POKEDATA, victim,
					(void *)PLMC_KV_ADDR, (void *)0x41) < 0
					 ? errno
					 : -1;
			ptrace(PTRACE_DETACH, victim, 0, 0);
		}
		if (write(rp[1], res, sizeof(res)) != sizeof(res))
			_exit(4);
		_exit(0);
	}
	vm_reap(spy);
	if (read(rp[0], res, sizeof(res)) != sizeof(res))
		return VM_FAIL("spy died");
	vm_signal_fd(done[1]);
	st = vm_reap(victim);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return VM_FAIL("victim broken after the spy: status 0x%x", st);
	if (res[0])
		return ATK_REFUSED("PTRACE_ATTACH %s", vm_errno_name(res[0]));
	if (res[1] == -1 || res[2] == -1)
		return VM_FAIL("ptrace peek %d poke %d went through", res[1],
			       res[2]);
	return ATK_REFUSED("attached; PEEK %s, POKE %s",
			   vm_errno_name(res[1]), vm_errno_name(res[2]));
}

static int ptrace_root(void)
{
	return ptrace_sibling(0);
}

static int ptrace_user(void)
{
	return ptrace_sibling(12345);
}

static int ip_inside(uint64_t ip)
{
	return ip - PLMC_BASE < PLMC_IMAGE_MAX;
}

static int tracer_reads(void)
{
	int go[2], i, st, stops = 0, refused = 0, leaked = 0;
	pid_t t;

	if (pipe(go))
		return -1;
	t = fork();
	if (t == 0) {
		static char v[4000];

		memset(v, 't', sizeof(v));
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) || vm_attach(ATK_STORE) ||
		    plmc_nop())
			_exit(1);
		vm_signal_fd(go[1]);
		for (;;)
			plmc_set("trace-key", 9, v, sizeof(v), 0, 0);
	}
	if (vm_wait_fd(go[0]))
		return VM_FAIL("tracee did not attach");
	for (i = 0; i < 300; i++) {
		struct user_regs_struct r;
		struct iovec iov = {&r, sizeof(r)};
		long ip;

		usleep(300);
		kill(t, SIGSTOP);
		if (waitpid(t, &st, 0) != t || !WIFSTOPPED(st))
			return VM_FAIL("tracee gone: 0x%x", st);
		stops++;
		errno = 0;
		ip = ptrace(PTRACE_PEEKUSER, t, offsetof(struct user, regs.rip),
			    0);
		if (errno == 0 && ip_inside((uint64_t)ip))
			leaked++;
		if (!ptrace(PTRACE_GETREGS, t, 0, &r))
			leaked += ip_inside(r.rip);
		else
			refused++; /* the module's EPERM: stopped inside */
		if (!ptrace(PTRACE_GETREGSET, t, NT_PRSTATUS, &iov))
			leaked += ip_inside(r.rip);
		ptrace(PTRACE_CONT, t, 0, 0); /* drop the SIGSTOP */
	}
	kill(t, SIGKILL);
	vm_reap(t);
	if (leaked)
		return VM_FAIL("%d register reads from inside the library in %d "
			       "stops", leaked, stops);
	return ATK_REFUSED("%d stops: %d refused (inside), none read inside",
			   stops, refused);
}

int main(void)
{
	atk_init();
	atk_run("remote.proc_self_mem", "EIO", proc_mem, NULL);
	atk_run("remote.process_vm_rw", "EFAULT", pvm_rw, NULL);
	atk_run("remote.ptrace_sibling_root", "PEEK/POKE refused", ptrace_root,
		NULL);
	atk_run("remote.ptrace_sibling_uid", "ATTACH EPERM", ptrace_user,
		NULL);
	atk_run("remote.tracer_reads_regs_inside", "no regs from inside",
		tracer_reads, NULL);
	return vm_done();
}
