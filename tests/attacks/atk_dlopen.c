/* SPDX-License-Identifier: MIT */
/*
 * atk_dlopen - issue 13 item 2: real programs load code after attach.
 * As uid 12345, attached to the store root made: dlopen a clean library
 * (a copy the process owns, on tmpfs), call it, use the store; the
 * library's file cannot be opened for writing while attached (ETXTBSY).
 * A library holding a WRPKRU, one holding an XRSTOR, and a clean one the
 * process still has open for writing are refused (dlopen fails), and the
 * process keeps running and using the store.
 */
#include "attacks.h"
#include <dlfcn.h>
#include <sys/stat.h>

#define ATK_UID 12345

/* Copy /vm/@name to /tmp/@name, owned by us. */
static int copy_lib(const char *name, char *out, size_t n)
{
	char src[128];
	size_t len;
	void *b;
	int fd, ok;

	snprintf(src, sizeof(src), "/vm/%s", name);
	snprintf(out, n, "/tmp/dl-%s", name);
	b = vm_slurp(src, &len);
	if (!b)
		return VM_FAIL("read %s", src);
	unlink(out);
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0700);
	ok = fd >= 0 && write(fd, b, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(b);
	return ok ? 0 : VM_FAIL("write %s", out);
}

static int setup(const char *name, char *path, size_t n)
{
	if (setgid(ATK_UID) || setuid(ATK_UID))
		return VM_FAIL("setuid: %s", strerror(errno));
	if (copy_lib(name, path, n))
		return -1;
	return vm_attach(ATK_STORE);
}

/* The store still answers: a set and a get of our own. */
static int store_works(const char *what)
{
	if (vm_roundtrip("dlopen-key", what))
		return -1;
	return 0;
}

static int clean(void)
{
	char path[128];
	int (*f)(void);
	void *h;
	int fd;

	if (setup("xlib_clean.so", path, sizeof(path)))
		return -1;
	h = dlopen(path, RTLD_NOW);
	if (!h)
		return VM_FAIL("dlopen after attach: %s", dlerror());
	f = (int (*)(void))dlsym(h, "xlib_answer");
	if (!f || f() != 42)
		return VM_FAIL("xlib_answer: %s",
			       f ? "wrong answer" : dlerror());
	if (store_works("clean"))
		return -1;
	fd = open(path, O_RDWR);
	if (fd >= 0)
		return VM_FAIL("the loaded library opened for writing");
	if (errno != ETXTBSY)
		return VM_FAIL("open for write: %s, expected ETXTBSY",
			       vm_errno_name(errno));
	return ATK_REFUSED("dlopen ok, called (42), store works, library "
			   "write-denied (ETXTBSY)");
}

static int refused(const char *name)
{
	char path[128];
	void *h;

	if (setup(name, path, sizeof(path)))
		return -1;
	h = dlopen(path, RTLD_NOW);
	if (h)
		return VM_FAIL("%s loaded after attach", name);
	if (plmc_nop() || store_works(name))
		return VM_FAIL("store after the refusal");
	return ATK_REFUSED("dlopen refused (%s); store works", dlerror());
}

static int wrpkru(void)
{
	return refused("xlib_wrpkru.so");
}

static int xrstor(void)
{
	return refused("xlib_xrstor.so");
}

/* A clean library we still hold open for writing: it could change. */
static int open_for_write(void)
{
	char path[128];
	void *h;
	int fd;

	if (setup("xlib_clean.so", path, sizeof(path)))
		return -1;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return VM_FAIL("open: %s", strerror(errno));
	h = dlopen(path, RTLD_NOW);
	if (h)
		return VM_FAIL("loaded a library open for writing");
	if (store_works("held"))
		return -1;
	return ATK_REFUSED("dlopen refused (%s); store works", dlerror());
}

int main(void)
{
	atk_init();
	atk_run("dlopen.clean_after_attach", "loads, runs", clean, NULL);
	atk_run("dlopen.wrpkru_library", "dlopen fails", wrpkru, NULL);
	atk_run("dlopen.xrstor_library", "dlopen fails", xrstor, NULL);
	atk_run("dlopen.library_open_for_writing", "dlopen fails",
		open_for_write, NULL);
	return vm_done();
}
