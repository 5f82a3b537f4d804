// SPDX-License-Identifier: MIT
/*
 * vm_perm.c - who may attach, create and destroy: the store's owner and
 * mode decide attach (like SysV shm); creating needs CAP_SYS_ADMIN (or the
 * module's create group); destroy is refused while attached unless forced,
 * and a forced destroy leaves the attached process working.
 */
#include <grp.h>
#include "harness.h"

#define OTHER 12345 /* a uid and gid nobody in the guest owns */

static int become_other(void)
{
	if (setgroups(0, NULL) || setresgid(OTHER, OTHER, OTHER) ||
	    setresuid(OTHER, OTHER, OTHER))
		return VM_FAIL("dropping to uid %d: %s", OTHER,
			       strerror(errno));
	return 0;
}

static int info(const char *name, struct plmc_info_args *a)
{
	int fd = open(PLMC_DEV_PATH, O_RDWR), rc = 0;

	if (fd < 0)
		return -errno;
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	if (ioctl(fd, PLMC_IOC_INFO, a))
		rc = -errno;
	close(fd);
	return rc;
}

/* Root created perm.private 0600 and perm.public 0666 (see main). */
static int t_other_uid(void)
{
	int rc;

	if (become_other())
		return -1;
	rc = plmc_attach("perm.private", PLMC_USE_KMOD);
	VM_CHECK(rc == -EACCES, "uid %d attaching a root 0600 store: %s", OTHER,
		 plmc_strerror(rc));
	VM_CHECK(plmc_backend() == NULL, "attached after a refusal");
	/* The same process, same fd rules: a 0666 store is fine. */
	if (vm_attach("perm.public"))
		return -1;
	if (vm_roundtrip("from.other", "uid"))
		return -1;
	vm_note("0600: EACCES, 0666: attached");
	return 0;
}

static int t_other_uid_create_destroy(void)
{
	struct plmc_info_args a;
	int rc;

	if (become_other())
		return -1;
	rc = plmc_create("perm.mine", VM_STORE_SIZE, 0600, PLMC_USE_KMOD);
	VM_CHECK(rc == -EPERM, "uid %d creating a store: %s", OTHER,
		 plmc_strerror(rc));
	VM_CHECK(info("perm.mine", &a) == -ENOENT, "refused create left %s",
		 "a segment behind");
	rc = plmc_destroy("perm.public", 1, PLMC_USE_KMOD);
	VM_CHECK(rc == -EPERM, "uid %d destroying root's store: %s", OTHER,
		 plmc_strerror(rc));
	VM_CHECK(info("perm.public", &a) == 0, "root's store is gone");
	vm_note("create EPERM, destroy EPERM");
	return 0;
}

#define MEMBER 12346 /* a uid whose supplementary group is OTHER, or not */

/* uid and gid MEMBER, with the group OTHER among its groups or not. */
static int become_member(int in_group)
{
	gid_t g = OTHER;

	if (setgroups(in_group ? 1 : 0, &g) ||
	    setresgid(MEMBER, MEMBER, MEMBER) ||
	    setresuid(MEMBER, MEMBER, MEMBER))
		return VM_FAIL("dropping to uid %d: %s", MEMBER,
			       strerror(errno));
	return 0;
}

/* Root made perm.group 0660 with PLMC_CREATE_GROUP OTHER (plctl create
 * --group): the module keeps that group and lets its members in. */
static int t_group_member(void)
{
	struct plmc_info_args a;

	VM_CHECK(info("perm.group", &a) == 0 && a.gid == OTHER &&
			 a.uid == 0 && a.mode == 0660,
		 "perm.group is %u:%u %o, not 0:%d 0660", a.uid, a.gid, a.mode,
		 OTHER);
	if (become_member(1) || vm_attach("perm.group"))
		return -1;
	if (vm_roundtrip("from.member", "group"))
		return -1;
	vm_note("gid %d 0660: a member of the group attaches", OTHER);
	return 0;
}

/* The control: the same uid without the group is refused. */
static int t_group_outsider(void)
{
	int rc;

	if (become_member(0))
		return -1;
	rc = plmc_attach("perm.group", PLMC_USE_KMOD);
	VM_CHECK(rc == -EACCES, "uid %d outside group %d attaching: %s",
		 MEMBER, OTHER, plmc_strerror(rc));
	return 0;
}

/* An attached process: attach, call, report, wait, call again. */
static int holder(int ready, int go)
{
	if (vm_attach("perm.busy") || vm_roundtrip("held", "store"))
		return -1;
	vm_signal_fd(ready);
	if (vm_wait_fd(go))
		return VM_FAIL("test vanished");
	/* The name is gone, the store is not: it lives while attached. */
	if (vm_expect_value("held", "store"))
		return -1;
	return vm_roundtrip("after", "destroy");
}

static int t_destroy_busy(void)
{
	struct plmc_info_args a;
	int ready[2], go[2], rc, st;
	pid_t pid;

	if (vm_fresh("perm.busy", 0600))
		return -1;
	if (pipe(ready) || pipe(go))
		return VM_FAIL("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		_exit(holder(ready[1], go[0]) ? 1 : 0);
	if (vm_wait_fd(ready[0])) {
		vm_reap(pid);
		return VM_FAIL("holder did not attach: %s", vm_sh->why);
	}
	rc = plmc_destroy("perm.busy", 0, PLMC_USE_KMOD);
	if (rc != -EBUSY) {
		kill(pid, SIGKILL);
		vm_reap(pid);
		return VM_FAIL("destroy while attached: %s, expected EBUSY",
			       plmc_strerror(rc));
	}
	rc = info("perm.busy", &a);
	VM_CHECK(rc == 0 && a.nattach == 1, "after EBUSY: info %d nattach %llu",
		 rc, (unsigned long long)a.nattach);
	rc = plmc_destroy("perm.busy", 1, PLMC_USE_KMOD);
	VM_CHECK(rc == 0, "forced destroy: %s", plmc_strerror(rc));
	rc = info("perm.busy", &a);
	VM_CHECK(rc == -ENOENT, "after forced destroy info: %d", rc);
	vm_signal_fd(go[1]);
	st = vm_reap(pid);
	VM_CHECK(st == 0, "holder after forced destroy ended 0x%x: %s", st,
		 vm_sh->why);
	/* The name is free again. */
	if (vm_fresh("perm.busy", 0600))
		return -1;
	rc = plmc_destroy("perm.busy", 0, PLMC_USE_KMOD);
	VM_CHECK(rc == 0, "destroy of an idle store: %s", plmc_strerror(rc));
	vm_note("EBUSY, then forced");
	return 0;
}

/* Attaching twice to the same name is a no-op; a second name is not. */
static int t_attach_twice(void)
{
	int rc;

	if (vm_attach("perm.public") || vm_attach("perm.public"))
		return -1;
	rc = plmc_attach("perm.private", PLMC_USE_KMOD);
	VM_CHECK(rc < 0, "attached a second store at the same address");
	return vm_roundtrip("twice", "ok");
}

static int fresh_group(void)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = VM_STORE_SIZE, .mode = 0660,
		.use = PLMC_USE_KMOD, .flags = PLMC_CREATE_GROUP, .gid = OTHER,
	};
	int rc;

	plmc_destroy("perm.group", 1, PLMC_USE_KMOD);
	rc = plmc_create_ex("perm.group", &o);
	if (rc)
		return VM_FAIL("create perm.group --group %d: %s", OTHER,
			       plmc_strerror(rc));
	return 0;
}

int main(void)
{
	vm_init();
	if (vm_fresh("perm.private", 0600) || vm_fresh("perm.public", 0666) ||
	    fresh_group()) {
		printf("FAIL perm.setup: %s\n", vm_sh->why);
		return 1;
	}
	vm_run("perm.other_uid_attach", t_other_uid);
	vm_run("perm.other_uid_create_destroy", t_other_uid_create_destroy);
	vm_run("perm.destroy_busy_then_force", t_destroy_busy);
	vm_run("perm.attach_twice", t_attach_twice);
	vm_run("perm.group_member_attaches", t_group_member);
	vm_run("perm.group_outsider_refused", t_group_outsider);
	plmc_destroy("perm.group", 1, PLMC_USE_KMOD);
	plmc_destroy("perm.private", 1, PLMC_USE_KMOD);
	plmc_destroy("perm.public", 1, PLMC_USE_KMOD);
	return vm_done();
}
