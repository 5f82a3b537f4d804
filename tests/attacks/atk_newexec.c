/* SPDX-License-Identifier: MIT */
/*
 * atk_newexec - attack 10: executable code made after attach, where a
 * WRPKRU could be put: an anonymous exec mapping, RW then mprotect to RX,
 * an RWX mapping, a memfd holding code mapped exec, an ordinary file
 * mapped exec, the program's own text written through /proc/self/mem,
 * and a file rewritten under an exec mapping made before attach.
 * Expected: every new exec mapping and exec mprotect EACCES; the
 * /proc/self/mem write EIO; opening the mapped file for writing ETXTBSY.
 */
#include "attacks.h"
#include <sys/stat.h>

static const uint8_t code[] = {0x31, 0xc9, 0x31, 0xd2, 0x31, 0xc0,
			       0x0f, 0x01, 0xef, 0xc3};

static int refused(const char *what, void *p, int e)
{
	if (p != MAP_FAILED)
		return VM_FAIL("%s: mapped at %p", what, p);
	return ATK_REFUSED("%s", vm_errno_name(e));
}

static int anon_exec(void)
{
	void *p;

	if (vm_attach(ATK_STORE))
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return refused("anon exec mmap", p, errno);
}

static int rwx(void)
{
	void *p;

	if (vm_attach(ATK_STORE))
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return refused("RWX mmap", p, errno);
}

static int mprotect_rx(void)
{
	uint8_t *p;
	int rc, e;

	if (vm_attach(ATK_STORE))
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return VM_FAIL("mmap RW");
	memcpy(p, code, sizeof(code));
	rc = mprotect(p, 4096, PROT_READ | PROT_EXEC);
	e = errno;
	if (!rc)
		return VM_FAIL("mprotect RW->RX with a WRPKRU succeeded");
	rc = mprotect(p, 4096, PROT_READ);
	if (rc || !mprotect(p, 4096, PROT_READ | PROT_EXEC))
		return VM_FAIL("RW->R->RX went through");
	return ATK_REFUSED("RW->RX %s, R->RX %s", vm_errno_name(e),
			   vm_errno_name(errno));
}

static int memfd_exec(void)
{
	void *p;
	int fd;

	if (vm_attach(ATK_STORE))
		return -1;
	fd = memfd_create("atk", 0);
	if (fd < 0 || write(fd, code, sizeof(code)) != sizeof(code) ||
	    ftruncate(fd, 4096))
		return VM_FAIL("memfd");
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	return refused("memfd exec mmap", p, errno);
}

static int file_exec(void)
{
	void *p;
	int fd;

	fd = open("/tmp/atk-code", O_RDWR | O_CREAT | O_TRUNC, 0700);
	if (fd < 0 || write(fd, code, sizeof(code)) != sizeof(code) ||
	    ftruncate(fd, 4096))
		return VM_FAIL("file");
	close(fd);
	if (vm_attach(ATK_STORE))
		return -1;
	fd = open("/tmp/atk-code", O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	return refused("file exec mmap", p, errno);
}

static int self_mem_text(void)
{
	uint8_t nop = 0x90;
	ssize_t n;
	int fd;

	if (vm_attach(ATK_STORE))
		return -1;
	fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0)
		return VM_FAIL("open /proc/self/mem");
	/* Our own text: atk_init's first byte. FOLL_FORCE would COW it. */
	n = pwrite(fd, &nop, 1, (off_t)(uintptr_t)atk_init);
	if (n == 1)
		return VM_FAIL("wrote our own text through /proc/self/mem");
	return ATK_REFUSED("%s", vm_errno_name(errno));
}

static int rewrite_mapped(void)
{
	static const uint8_t nops[] = {0x90, 0x90, 0xc3};
	void *p;
	int fd;

	fd = open("/tmp/atk-code2", O_RDWR | O_CREAT | O_TRUNC, 0700);
	if (fd < 0 || write(fd, nops, sizeof(nops)) != sizeof(nops) ||
	    ftruncate(fd, 4096))
		return VM_FAIL("file");
	close(fd);
	fd = open("/tmp/atk-code2", O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return VM_FAIL("exec mmap before attach");
	if (vm_attach(ATK_STORE))
		return -1;
	fd = open("/tmp/atk-code2", O_RDWR);
	if (fd >= 0) {
		if (pwrite(fd, code, sizeof(code), 0) == sizeof(code) &&
		    !memcmp(p, code, sizeof(code)))
			return VM_FAIL("rewrote the file: WRPKRU now mapped "
				       "exec");
		return VM_FAIL("opened the mapped file for writing");
	}
	return ATK_REFUSED("open for write %s", vm_errno_name(errno));
}

int main(void)
{
	atk_init();
	atk_run("newexec.anon_exec_mmap", "EACCES", anon_exec, NULL);
	atk_run("newexec.rwx_mmap", "EACCES", rwx, NULL);
	atk_run("newexec.mprotect_to_exec", "EACCES", mprotect_rx, NULL);
	atk_run("newexec.memfd_exec", "EACCES", memfd_exec, NULL);
	atk_run("newexec.file_exec", "EACCES", file_exec, NULL);
	atk_run("newexec.proc_self_mem_text", "EIO", self_mem_text, NULL);
	atk_run("newexec.rewrite_mapped_file", "ETXTBSY", rewrite_mapped,
		NULL);
	return vm_done();
}
