/* SPDX-License-Identifier: MIT */
/*
 * nopku_check - a test host whose CPU has no PKU (-cpu max,pku=off).
 *
 * Run by tests/vm/run-nopku.sh (not by the module's suite: /vm/nopku_* is
 * not /vm/vm_*). plmc.ko was offered to insmod and must have refused to
 * load, saying why; libpl must then fall back to the none backend and say
 * so on stderr, refuse the pku backend with EOPNOTSUPP (not a key
 * shortage, not a bad argument) and the kmod backend with the device's
 * absence, and serve the store through the gate all the same.
 */
#include "harness.h"

#define NOPKU_STORE "nopku"

/* The CPU the guest sees really lacks PKU: the control for all below. */
static int cpu_has_no_pku(void)
{
	size_t n;
	char *info = vm_slurp("/proc/cpuinfo", &n);

	VM_CHECK(info, "read /proc/cpuinfo");
	VM_CHECK(strstr(info, "flags") != NULL, "no flags in /proc/cpuinfo");
	VM_CHECK(!strstr(info, " pku") && !strstr(info, " ospke"),
		 "the guest CPU has pku: the boot did not take pku=off");
	free(info);
	return 0;
}

/* insmod ran and failed: no device, and the kernel log says why. */
static int module_refused(void)
{
	size_t n;
	char *log = vm_slurp("/tmp/dmesg", &n);

	VM_CHECK(access("/dev/plmc", F_OK) != 0, "/dev/plmc exists");
	VM_CHECK(log, "read /tmp/dmesg");
	VM_CHECK(strstr(log, "plmc: this CPU has no PKU"),
		 "no refusal from plmc.ko in the kernel log");
	free(log);
	return 0;
}

static int backends_refused(void)
{
	int rc;

	plmc_destroy(NOPKU_STORE, 1, PLMC_USE_NONE);
	rc = plmc_create(NOPKU_STORE, VM_STORE_SIZE, 0600, PLMC_USE_KMOD);
	VM_CHECK(rc == -ENOENT || rc == -ENODEV,
		 "kmod create without the module: %d (%s)", rc,
		 plmc_strerror(rc));
	rc = plmc_create(NOPKU_STORE, VM_STORE_SIZE, 0600, PLMC_USE_AUTO);
	VM_CHECK(rc == 0, "auto create: %s", plmc_strerror(rc));
	rc = plmc_attach(NOPKU_STORE, PLMC_USE_PKU);
	VM_CHECK(rc == -EOPNOTSUPP, "pku attach: %d (%s), want EOPNOTSUPP",
		 rc, plmc_strerror(rc));
	VM_CHECK(plmc_backend() == NULL, "attached after a refused attach");
	return 0;
}

/* AUTO attaches through none, announces it on stderr, and works. */
static int none_fallback(void)
{
	char path[] = "/tmp/nopku-stderr-XXXXXX", buf[512] = "";
	int fd = mkstemp(path), saved = dup(2), rc;
	ssize_t n;

	VM_CHECK(fd >= 0 && saved >= 0, "mkstemp/dup: %s", strerror(errno));
	dup2(fd, 2);
	rc = plmc_attach(NOPKU_STORE, PLMC_USE_AUTO);
	dup2(saved, 2);
	VM_CHECK(rc == 0, "auto attach: %s", plmc_strerror(rc));
	VM_CHECK(plmc_backend() && !strcmp(plmc_backend(), "none"),
		 "backend %s, not none",
		 plmc_backend() ? plmc_backend() : "(null)");
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	VM_CHECK(n > 0 && strstr(buf, "backend none"),
		 "attach did not announce the none backend on stderr");
	close(fd);
	unlink(path);
	if (vm_roundtrip("k", "served without PKU"))
		return -1;
	VM_CHECK(plmc_detach() == 0, "detach");
	VM_CHECK(plmc_destroy(NOPKU_STORE, 0, PLMC_USE_NONE) == 0, "destroy");
	return 0;
}

int main(void)
{
	vm_init();
	vm_run("nopku.cpu_has_no_pku", cpu_has_no_pku);
	vm_run("nopku.module_refused", module_refused);
	vm_run("nopku.backends_refused", backends_refused);
	vm_run("nopku.none_fallback", none_fallback);
	return vm_done();
}
