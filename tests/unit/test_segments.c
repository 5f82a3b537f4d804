// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_segments.c - create, attach, detach, destroy (none
 * backend): errors, idempotence, unwinding, a damaged file, fork.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "util.h"
#include <plmc/layout.h>
#include <plmc/image.h>
#include <plmc/ioctl.h>

static char path[128];

static void setup(void)
{
	ut_make_name("seg");
	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", ut_name);
}

static void teardown(void)
{
	plmc_detach();
	plmc_destroy(ut_name, 1, PLMC_USE_AUTO);
}

static void create(void)
{
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_AUTO), 0);
}

START_TEST(create_twice)
{
	struct stat st;

	create();
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      -EEXIST);
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_NONE),
	      -EEXIST);
}
END_TEST

START_TEST(create_bad_args)
{
	ut_rc(plmc_create("", UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      PLMC_E_NAME);
	ut_rc(plmc_create("a/b", UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      PLMC_E_NAME);
	ut_rc(plmc_create("sp ace", UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      PLMC_E_NAME);
	ut_rc(plmc_create(NULL, UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      PLMC_E_NAME);
	ut_rc(plmc_attach("a/b", PLMC_USE_AUTO), PLMC_E_NAME);
	ut_rc(plmc_create(ut_name, (1 << 20), 0600, PLMC_USE_AUTO), -EINVAL);
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE + 1, 0600, PLMC_USE_AUTO),
	      -EINVAL);
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 01777, PLMC_USE_AUTO),
	      -EINVAL);
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, 99), -EINVAL);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(long_name)
{
	char n[80];

	memset(n, 'a', sizeof(n));
	n[64] = 0; /* 64 characters: one too many */
	ut_rc(plmc_create(n, UT_STORE_SIZE, 0600, PLMC_USE_AUTO), PLMC_E_NAME);
	ut_rc(plmc_attach(n, PLMC_USE_AUTO), PLMC_E_NAME);
	n[63] = 0; /* 63 characters: fits */
	ut_rc(plmc_attach(n, PLMC_USE_AUTO), -ENOENT);
}
END_TEST

START_TEST(attach_missing)
{
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -ENOENT);
	ck_assert_ptr_null(plmc_backend());
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), -ENOENT);
}
END_TEST

START_TEST(destroy_busy_then_force)
{
	create();
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), -EBUSY);
	ck_assert_int_eq(access(path, F_OK), 0);
	ut_rc(plmc_destroy(ut_name, 1, PLMC_USE_AUTO), 0);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* The mapping outlives the name. */
	ut_rc(plmc_set("k2", 2, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -ENOENT);
}
END_TEST

/*
 * The pku backend on this host: where the CPU has no PKU, attach must say
 * so (EOPNOTSUPP, not a key shortage or a bad argument) and leave nothing
 * behind (a none attach
 * of the same store then works at the same fixed addresses). With PKU,
 * attach works, a plain read of the store kills a child, and the parent
 * carries on and counts that death.
 */
START_TEST(pku_backend_here)
{
	int key = pkey_alloc(0, 0), rc, st;
	pid_t p;

	create();
	if (key >= 0)
		pkey_free(key);
	rc = plmc_attach(ut_name, PLMC_USE_PKU);
	if (key < 0) { /* this CPU (or kernel) has no PKU */
		ut_rc(rc, -EOPNOTSUPP);
		ck_assert_ptr_null(plmc_backend());
		ut_rc(plmc_attach(ut_name, PLMC_USE_NONE), 0);
		ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
		ut_rc(plmc_detach(), 0);
		ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_PKU), 0);
		return;
	}
	ut_rc(rc, 0);
	ck_assert_str_eq(plmc_backend(), "pku");
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	p = fork();
	if (p == 0) {
		/* A call takes a slot: how the survivors find the death. */
		ut_rc(plmc_attach(ut_name, PLMC_USE_PKU), 0);
		ut_rc(plmc_nop(), PLMC_OK);
		signal(SIGSEGV, SIG_DFL);
		(void)*(volatile char *)PLMC_STORE_ADDR;
		_exit(0);
	}
	waitpid(p, &st, 0);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	ck_assert_int_ge(plmc_recover(), 0); /* counts the child's death */
	ut_rc(plmc_get("k", 1, NULL, 0, NULL, NULL, NULL), PLMC_E_SMALLBUF);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_PKU), 0);
}
END_TEST

/*
 * NUMA: bad policies are refused and create nothing; a good one reads
 * back, and the page counts cover the whole data range (one node or
 * more: the host decides).
 */
START_TEST(numa_create)
{
	static const unsigned bad[][2] = {{4, 0},
					  {99, 0},
					  {PLMC_NUMA_BIND, PLMC_NUMA_NODES},
					  {PLMC_NUMA_BIND, 63},
					  {PLMC_NUMA_INTERLEAVE, 1},
					  {PLMC_NUMA_LOCAL, 1},
					  {PLMC_NUMA_DEFAULT, 2}};
	struct plmc_numa nu;
	unsigned i;
	uint64_t sum;
	char path[128];

	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", ut_name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ut_rc(plmc_create_numa(ut_name, UT_STORE_SIZE, 0600,
				       PLMC_USE_AUTO, bad[i][0], bad[i][1]),
		      -EINVAL);
		ck_assert_msg(access(path, F_OK) != 0, "case %u created", i);
	}
	ut_rc(plmc_create_numa(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_AUTO,
			       PLMC_NUMA_INTERLEAVE, 0),
	      0);
	ut_rc(plmc_numa_info(ut_name, PLMC_USE_AUTO, &nu), 0);
	ck_assert_uint_eq(nu.numa, PLMC_NUMA_INTERLEAVE);
	ck_assert_uint_ge(nu.nr_nodes, 1);
	for (sum = nu.absent, i = 0; i < PLMC_NUMA_NODES; i++)
		sum += nu.pages[i];
	ck_assert_uint_eq(sum, PLMC_DATA_LEN(UT_STORE_SIZE) / 4096);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_numa_info("no-such-store", PLMC_USE_AUTO, &nu), -ENOENT);
	ut_rc(plmc_numa_info(ut_name, PLMC_USE_AUTO, NULL), -EINVAL);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

START_TEST(detach_then_destroy)
{
	int i;

	create();
	for (i = 0; i < 5; i++) {
		ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
		ut_rc(plmc_nop(), PLMC_OK);
		ut_rc(plmc_detach(), 0);
	}
	/* nattach went back to 0: no force needed. */
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

START_TEST(attach_twice)
{
	create();
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("k", 1, "v", 1, 0, 0), PLMC_STORED);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_attach("some-other-store", PLMC_USE_AUTO), -EBUSY);
	ck_assert_str_eq(plmc_backend(), ut_backend());
	ut_rc(plmc_delete("k", 1), PLMC_DELETED);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_detach(), PLMC_E_DETACHED);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

START_TEST(data_survives_reattach)
{
	char buf[8];
	size_t vlen;

	create();
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("persist", 7, "yes", 3, 0, 0), PLMC_STORED);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_get("persist", 7, buf, sizeof(buf), &vlen, NULL, NULL),
	      PLMC_OK);
	ck_assert(vlen == 3 && !memcmp(buf, "yes", 3));
}
END_TEST

/* Something already at PLMC_BASE: a clean error, and nothing left over. */
START_TEST(range_taken)
{
	void *p;

	create();
	p = mmap((void *)(PLMC_BASE + PLMC_DATA_OFF), 4096, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -EADDRINUSE);
	ck_assert_ptr_null(plmc_backend());
	munmap(p, 4096);
	/* The image and ppage mapped before the failure were undone. */
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_nop(), PLMC_OK);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

static void poke_file(off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(damaged_header)
{
	uint64_t junk = 0x1122334455667788ULL;

	create();
	poke_file(PLMC_IMAGE_MAX + PLMC_STORE_OFF - PLMC_DATA_OFF, &junk,
		  sizeof(junk));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), PLMC_E_CORRUPT);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), PLMC_E_CORRUPT);
	ut_rc(plmc_destroy(ut_name, 1, PLMC_USE_AUTO), 0);
}
END_TEST

/*
 * A store of the layout before (3: no LRU segments) is refused, not
 * misread; the same file with this build's layout attaches (the
 * control: only the layout word decided).
 */
START_TEST(older_layout)
{
	off_t off = PLMC_IMAGE_MAX + PLMC_STORE_OFF - PLMC_DATA_OFF +
		    __builtin_offsetof(struct plmc_store_hdr, layout);
	uint32_t old = PLMC_LAYOUT_VERSION - 1, now = PLMC_LAYOUT_VERSION;

	ck_assert_uint_eq(PLMC_LAYOUT_VERSION, 4);
	create();
	poke_file(off, &old, sizeof(old));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), PLMC_E_CORRUPT);
	ck_assert_ptr_null(plmc_backend());
	poke_file(off, &now, sizeof(now));
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_nop(), PLMC_OK);
	ut_rc(plmc_detach(), 0);
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

START_TEST(truncated_file)
{
	int fd;

	create();
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, PLMC_IMAGE_MAX + 4096), 0);
	close(fd);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), PLMC_E_CORRUPT);
}
END_TEST

/* A WRPKRU planted in the image: the image check refuses to map it. */
START_TEST(damaged_image)
{
	static const unsigned char wrpkru[3] = {0x0f, 0x01, 0xef};
	struct plmc_image_hdr ih;
	int fd;

	create();
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(pread(fd, &ih, sizeof(ih), 0), (ssize_t)sizeof(ih));
	close(fd);
	poke_file((off_t)ih.image_size - 3, wrpkru, 3);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), PLMC_E_IMAGE);
	ck_assert_ptr_null(plmc_backend());
}
END_TEST

/* A forked child does not inherit the attachment, and may attach anew. */
START_TEST(fork_drops_attachment)
{
	pid_t pid;
	int status;

	create();
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), 0);
	ut_rc(plmc_set("p", 1, "v", 1, 0, 0), PLMC_STORED);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = 0;

		bad |= plmc_backend() != NULL;
		bad |= plmc_nop() != PLMC_E_DETACHED;
		bad |= plmc_attach(ut_name, PLMC_USE_AUTO) != 0;
		bad |= plmc_set("c", 1, "v", 1, 0, 0) != PLMC_STORED;
		bad |= plmc_detach() != 0;
		_exit(bad);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ut_rc(plmc_delete("c", 1), PLMC_DELETED);
	ut_rc(plmc_nop(), PLMC_OK);
	ut_rc(plmc_detach(), 0);
	/* The child's attach and detach balanced out. */
	ut_rc(plmc_destroy(ut_name, 0, PLMC_USE_AUTO), 0);
}
END_TEST

/*
 * Each wrong setup says what is wrong: no module for kmod (ENODEV) is
 * not a missing store (ENOENT, when the backend is there); plmc_strerror
 * names libpl's causes. Nothing is created.
 */
START_TEST(causes_named)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/shm/plmc.%s", ut_name);
	if (access(PLMC_DEV_PATH, F_OK) != 0) {
		ut_rc(plmc_attach(ut_name, PLMC_USE_KMOD), -ENODEV);
		ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_KMOD),
		      -ENODEV);
		setenv("PLMC_BACKEND", "kmod", 1);
		ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), -ENODEV);
		unsetenv("PLMC_BACKEND");
	}
	ut_rc(plmc_attach(ut_name, PLMC_USE_NONE), -ENOENT);
	ut_rc(plmc_attach(ut_name, 7), -EINVAL); /* no such PLMC_USE_ */
	ut_rc(plmc_create("-/-", UT_STORE_SIZE, 0600, PLMC_USE_NONE),
	      PLMC_E_NAME);
	ut_rc(plmc_numa_info("", PLMC_USE_NONE, NULL), PLMC_E_NAME);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_ptr_null(plmc_backend());
	ck_assert(strstr(plmc_strerror(-ENODEV), "not loaded"));
	ck_assert(strstr(plmc_strerror(-EOPNOTSUPP), "PKU"));
	ck_assert(strstr(plmc_strerror(PLMC_E_BACKEND), "PLMC_BACKEND"));
	ck_assert(strstr(plmc_strerror(PLMC_E_NAME), "store name"));
}
END_TEST

START_TEST(env_backend)
{
	setenv("PLMC_BACKEND", "bogus", 1);
	ut_rc(plmc_attach(ut_name, PLMC_USE_AUTO), PLMC_E_BACKEND);
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_AUTO),
	      PLMC_E_BACKEND);
	/* An explicit choice ignores the variable. */
	ut_rc(plmc_create(ut_name, UT_STORE_SIZE, 0600, PLMC_USE_NONE), 0);
	ut_rc(plmc_attach(ut_name, PLMC_USE_NONE), 0);
	ck_assert_str_eq(plmc_backend(), "none");
	setenv("PLMC_BACKEND", "none", 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("segments");
	TCase *tc = tcase_create("segments");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_twice);
	tcase_add_test(tc, create_bad_args);
	tcase_add_test(tc, long_name);
	tcase_add_test(tc, attach_missing);
	tcase_add_test(tc, destroy_busy_then_force);
	tcase_add_test(tc, detach_then_destroy);
	tcase_add_test(tc, attach_twice);
	tcase_add_test(tc, data_survives_reattach);
	tcase_add_test(tc, range_taken);
	tcase_add_test(tc, damaged_header);
	tcase_add_test(tc, older_layout);
	tcase_add_test(tc, truncated_file);
	tcase_add_test(tc, damaged_image);
	tcase_add_test(tc, fork_drops_attachment);
	tcase_add_test(tc, env_backend);
	tcase_add_test(tc, causes_named);
	tcase_add_test(tc, pku_backend_here);
	tcase_add_test(tc, numa_create);
	suite_add_tcase(s, tc);
	return ut_run(s);
}
