// SPDX-License-Identifier: MIT
/*
 * vm_plctl.c - plctl's operator views on the real module: stats (text
 * and --json), top (--count) and list, which under the module asks
 * PLMC_IOC_INFO for the names given and finds the processes that map
 * /dev/plmc. plctl itself is compiled in (its main renamed), so the
 * static VM payload needs no second binary; its output is caught from a
 * file standing in for stdout.
 */
#define main plctl_main
#include "../../tools/plctl.c"
#undef main
#include "harness.h"

#define STORE "ctl"

/* Run plctl with argv (NULL-terminated); its stdout into out. */
static int plctl(char *out, size_t cap, const char *const *argv)
{
	int argc = 0, saved, fd, rc;
	ssize_t n;

	while (argv[argc])
		argc++;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open("/tmp/plctl.out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0)
		return -100;
	dup2(fd, STDOUT_FILENO);
	rc = plctl_main(argc, (char **)argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, cap - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	return rc;
}

static int t_stats(void)
{
	static const char *const argv[] = {"plctl", "stats", STORE, NULL};
	static char out[8192];
	int rc;

	if (vm_attach(STORE))
		return -1;
	for (int i = 0; i < 3; i++) {
		char k[8];

		snprintf(k, sizeof(k), "s%d", i);
		rc = plmc_set(k, strlen(k), "v", 1, 0, 0);
		VM_CHECK(rc == PLMC_STORED, "set: %s", plmc_strerror(rc));
	}
	plmc_detach();
	rc = plctl(out, sizeof(out), argv);
	VM_CHECK(rc == 0, "plctl stats exit %d", rc);
	VM_CHECK(!strncmp(out, "STAT version ", 13), "first line: %.40s", out);
	VM_CHECK(strstr(out, "\nSTAT cmd_set 3\n"), "no cmd_set 3 in: %.200s",
		 out);
	VM_CHECK(strstr(out, "\nSTAT plmc_backend kmod\nEND\n"),
		 "no backend kmod, END: %.200s", out);
	vm_note("STAT lines, cmd_set 3, plmc_backend kmod, END");
	return 0;
}

static int t_json(void)
{
	static const char *const argv[] = {"plctl", "stats", STORE, "--json",
					   NULL};
	static char out[8192];
	int rc = plctl(out, sizeof(out), argv);

	VM_CHECK(rc == 0, "plctl stats --json exit %d", rc);
	VM_CHECK(
		!strncmp(out, "{\"name\": \"" STORE "\", ", 12 + strlen(STORE)),
		"start: %.60s", out);
	VM_CHECK(strstr(out, "\"cmd_set\": 3, ") &&
			 strstr(out, "\"plmc_backend\": \"kmod\"}\n"),
		 "figures: %.300s", out);
	return 0;
}

static int t_top(void)
{
	static const char *const argv[] = {"plctl",   "top", STORE,
					   "--count", "2",   "--interval",
					   "0.1",     NULL};
	static char out[4096];
	int rc = plctl(out, sizeof(out), argv), lines = 0;

	VM_CHECK(rc == 0, "plctl top exit %d", rc);
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	VM_CHECK(lines == 3 && strstr(out, "gets/s"), "output: %.300s", out);
	return 0;
}

/* A process attached elsewhere: list names the store and finds it. */
static int t_list(void)
{
	static const char *const argv[] = {"plctl", "list", STORE, NULL};
	static char out[8192];
	char want[128];
	int up[2], down[2], rc;
	pid_t holder;

	if (pipe(up) || pipe(down))
		return VM_FAIL("pipe: %s", strerror(errno));
	holder = fork();
	if (holder == 0) {
		if (plmc_attach(STORE, PLMC_USE_KMOD))
			_exit(1);
		vm_signal_fd(up[1]);
		vm_wait_fd(down[0]);
		_exit(0);
	}
	VM_CHECK(holder > 0 && !vm_wait_fd(up[0]), "holder did not attach");
	rc = plctl(out, sizeof(out), argv);
	vm_signal_fd(down[1]);
	vm_reap(holder);
	VM_CHECK(rc == 0, "plctl list exit %d: %.200s", rc, out);
	snprintf(want, sizeof(want),
		 "segment " STORE ": backend kmod, store_size %llu, ",
		 (unsigned long long)VM_STORE_SIZE);
	VM_CHECK(strstr(out, want) && strstr(out, ", nattach 1\n"),
		 "segment line: %.300s", out);
	snprintf(want, sizeof(want), "\n  pid %d ", (int)holder);
	VM_CHECK(strstr(out, "processes mapping /dev/plmc: ") &&
			 strstr(out, want),
		 "holder %d not listed: %.300s", (int)holder, out);
	vm_note("INFO by name; holder pid %d found mapping /dev/plmc",
		(int)holder);
	return 0;
}

int main(void)
{
	vm_init();
	if (vm_fresh(STORE, 0600)) {
		printf("FAIL plctl.create: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("plctl.stats_kmod", t_stats);
	vm_run("plctl.stats_json_kmod", t_json);
	vm_run("plctl.top_kmod", t_top);
	vm_run("plctl.list_kmod", t_list);
	plmc_destroy(STORE, 1, PLMC_USE_KMOD);
	return vm_done();
}
