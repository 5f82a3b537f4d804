// SPDX-License-Identifier: MIT
/*
 * vm_ioctl.c - the raw /dev/plmc ABI (include/plmc/ioctl.h), without
 * libpl: the image check at create, field validation with the right errno
 * and nothing created on a refusal, and the mmap rules of the attach flow
 * (place, length, protection, who maps).
 */
#include "harness.h"

#define NAME "ioc.t"

static void *img, *bad;
static size_t img_len, bad_len;

static int dev(void)
{
	int fd = open(PLMC_DEV_PATH, O_RDWR);

	if (fd < 0)
		vm_why("open %s: %s", PLMC_DEV_PATH, strerror(errno));
	return fd;
}

static void good_args(struct plmc_create_args *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", NAME);
	a->size = VM_STORE_SIZE;
	a->image = (uint64_t)(uintptr_t)img;
	a->image_len = img_len;
	a->mode = 0600;
}

/* ioctl(cmd) must fail with @err; returns 0 when it did. */
static int expect_errno(int fd, unsigned long cmd, void *arg, int err,
			const char *what)
{
	int rc = ioctl(fd, cmd, arg);

	if (rc == 0)
		return VM_FAIL("%s: succeeded, expected %s", what,
			       vm_errno_name(err));
	if (errno != err)
		return VM_FAIL("%s: %s, expected %s", what,
			       vm_errno_name(errno), vm_errno_name(err));
	return 0;
}

static int exists(int fd, const char *name)
{
	struct plmc_info_args a;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	if (ioctl(fd, PLMC_IOC_INFO, &a) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static int destroy(int fd, const char *name)
{
	struct plmc_destroy_args d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.flags = PLMC_DESTROY_FORCE;
	return ioctl(fd, PLMC_IOC_DESTROY, &d);
}

static int t_image_bad(void)
{
	struct plmc_create_args a;
	int fd = dev();

	if (fd < 0)
		return -1;
	VM_CHECK(plmc_image_check(bad, bad_len) != PLMC_IMG_OK,
		 "kvcore-bad.img passes the user-space check");
	good_args(&a);
	a.image = (uint64_t)(uintptr_t)bad;
	a.image_len = bad_len;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "bad image"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 0, "a refused create left %s", NAME);
	vm_note("EINVAL (image check says %d)", plmc_image_check(bad, bad_len));
	return 0;
}

static int t_image_good(void)
{
	struct plmc_create_args a;
	struct plmc_info_args i;
	int fd = dev();

	if (fd < 0)
		return -1;
	good_args(&a);
	a.uid = 0;
	a.gid = 0;
	VM_CHECK(ioctl(fd, PLMC_IOC_CREATE, &a) == 0, "create: %s",
		 vm_errno_name(errno));
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EEXIST, "create twice"))
		return -1;
	memset(&i, 0, sizeof(i));
	snprintf(i.name, sizeof(i.name), "%s", NAME);
	VM_CHECK(ioctl(fd, PLMC_IOC_INFO, &i) == 0, "info: %s",
		 vm_errno_name(errno));
	VM_CHECK(i.store_size == VM_STORE_SIZE && i.image_size == img_len &&
			 i.mode == 0600 && i.nattach == 0 && i.uid == 0,
		 "info: size %llu image %llu mode %o nattach %llu uid %u",
		 (unsigned long long)i.store_size,
		 (unsigned long long)i.image_size, i.mode,
		 (unsigned long long)i.nattach, i.uid);
	VM_CHECK(destroy(fd, NAME) == 0, "destroy: %s", vm_errno_name(errno));
	VM_CHECK(exists(fd, NAME) == 0, "still there after destroy");
	return 0;
}

static int t_bad_names(void)
{
	static const char *const names[] = {"",		 "has space", "a/b",
					    "tab\there", "nul\x01",   "\xff"};
	struct plmc_create_args a;
	unsigned i;
	int fd = dev();

	if (fd < 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		good_args(&a);
		snprintf(a.name, sizeof(a.name), "%s", names[i]);
		if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, names[i]))
			return -1;
	}
	/* 64 name bytes, no NUL inside the buffer. */
	good_args(&a);
	memset(a.name, 'x', sizeof(a.name));
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "unterminated"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 0, "a refused create left %s", NAME);
	vm_note("%u names: EINVAL",
		(unsigned)(sizeof(names) / sizeof(names[0])) + 1);
	return 0;
}

static int t_bad_fields(void)
{
	static const struct {
		const char *what;
		uint64_t size, image_len;
		uint32_t mode, flags;
		int err;
	} c[] = {
		{"size 0", 0, 0, 0600, 0, EINVAL},
		{"size not whole MiB", VM_STORE_SIZE + 4096, 0, 0600, 0,
		 EINVAL},
		{"size below min", PLMC_STORE_MIN - PLMC_STORE_ALIGN, 0, 0600,
		 0, EINVAL},
		{"size above max", PLMC_STORE_MAX + PLMC_STORE_ALIGN, 0, 0600,
		 0, EINVAL},
		{"mode 01777", VM_STORE_SIZE, 0, 01777, 0, EINVAL},
		{"mode 04600", VM_STORE_SIZE, 0, 04600, 0, EINVAL},
		{"flags 1", VM_STORE_SIZE, 0, 0600, 1, EINVAL},
		{"flags 0x80000000", VM_STORE_SIZE, 0, 0600, 0x80000000u,
		 EINVAL},
		{"image_len 0", VM_STORE_SIZE, ~0ULL, 0600, 0, EINVAL},
		{"image_len > max", VM_STORE_SIZE, PLMC_IMAGE_MAX + 4096, 0600,
		 0, EINVAL},
		{"store larger than RAM", 64ULL << 30, 0, 0600, 0, ENOMEM},
	};
	struct plmc_create_args a;
	unsigned i;
	int fd = dev();

	if (fd < 0)
		return -1;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		good_args(&a);
		a.size = c[i].size;
		a.mode = c[i].mode;
		a.flags = c[i].flags;
		if (c[i].image_len == ~0ULL)
			a.image_len = 0;
		else if (c[i].image_len)
			a.image_len = c[i].image_len;
		if (expect_errno(fd, PLMC_IOC_CREATE, &a, c[i].err, c[i].what))
			return -1;
		VM_CHECK(exists(fd, NAME) == 0, "%s: created anyway",
			 c[i].what);
	}
	/* An image pointer that is not readable memory. */
	good_args(&a);
	a.image = 16;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EFAULT, "image at 16"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 0, "bad image pointer: created anyway");
	/* Slot quota: at most every slot; the padding after it zero. */
	good_args(&a);
	a.slot_quota = PLMC_MAX_SLOTS + 1;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "slot_quota 257"))
		return -1;
	good_args(&a);
	a.pad = 1;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "create pad 1"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 0, "bad quota: created anyway");
	/* Tenants: at most PLMC_TENANT_MAX; the padding after it zero. */
	good_args(&a);
	a.tenants = PLMC_TENANT_MAX + 1;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "tenants 65"))
		return -1;
	good_args(&a);
	a.pad1 = 1;
	if (expect_errno(fd, PLMC_IOC_CREATE, &a, EINVAL, "create pad1 1"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 0, "bad tenants: created anyway");
	vm_note("%u cases", (unsigned)(sizeof(c) / sizeof(c[0])) + 5);
	return 0;
}

static int t_attach_destroy_fields(void)
{
	struct plmc_create_args c;
	struct plmc_attach_args a;
	struct plmc_destroy_args d;
	int fd = dev(), k;

	if (fd < 0)
		return -1;
	good_args(&c);
	VM_CHECK(ioctl(fd, PLMC_IOC_CREATE, &c) == 0, "create: %s",
		 vm_errno_name(errno));
	k = pkey_alloc(0, 0);
	VM_CHECK(k > 0, "pkey_alloc: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", NAME);
	a.pkey = (uint32_t)k;
	a.flags = 1;
	if (expect_errno(fd, PLMC_IOC_ATTACH, &a, EINVAL, "attach flags 1"))
		return -1;
	a.flags = 0;
	a.pkey = 0;
	if (expect_errno(fd, PLMC_IOC_ATTACH, &a, EINVAL, "attach pkey 0"))
		return -1;
	a.pkey = 16;
	if (expect_errno(fd, PLMC_IOC_ATTACH, &a, EINVAL, "attach pkey 16"))
		return -1;
	a.pkey = (uint32_t)k + 1; /* not allocated by this process */
	if (expect_errno(fd, PLMC_IOC_ATTACH, &a, EINVAL,
			 "attach with a pkey not allocated"))
		return -1;
	a.pkey = (uint32_t)k;
	snprintf(a.name, sizeof(a.name), "ioc.none");
	if (expect_errno(fd, PLMC_IOC_ATTACH, &a, ENOENT, "attach unknown"))
		return -1;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", NAME);
	d.pad = 1;
	if (expect_errno(fd, PLMC_IOC_DESTROY, &d, EINVAL, "destroy pad 1"))
		return -1;
	d.pad = 0;
	d.flags = 2;
	if (expect_errno(fd, PLMC_IOC_DESTROY, &d, EINVAL, "destroy flags 2"))
		return -1;
	VM_CHECK(exists(fd, NAME) == 1, "a refused destroy removed %s", NAME);
	snprintf(d.name, sizeof(d.name), "ioc.none");
	d.flags = 0;
	if (expect_errno(fd, PLMC_IOC_DESTROY, &d, ENOENT, "destroy unknown"))
		return -1;
	VM_CHECK(destroy(fd, NAME) == 0, "destroy: %s", vm_errno_name(errno));
	return 0;
}

static int t_unknown_ioctl(void)
{
	char junk[256] = {0};
	int fd = dev();

	if (fd < 0)
		return -1;
	if (expect_errno(fd, _IO(PLMC_IOC_MAGIC, 99), junk, ENOTTY, "nr 99") ||
	    expect_errno(fd, _IOW(PLMC_IOC_MAGIC, 1, char[8]), junk, ENOTTY,
			 "CREATE with a wrong size") ||
	    expect_errno(fd, _IOWR('x', 2, struct plmc_attach_args), junk,
			 ENOTTY, "another magic") ||
	    expect_errno(fd, 0, junk, ENOTTY, "cmd 0"))
		return -1;
	vm_note("ENOTTY");
	return 0;
}

/* A raw attach on a fresh fd: the ioctl alone, no mapping yet. */
static int raw_attach(int *fd, struct plmc_attach_args *a)
{
	int k;

	*fd = dev();
	if (*fd < 0)
		return -1;
	k = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	VM_CHECK(k > 0, "pkey_alloc: %s", strerror(errno));
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "ioc.map");
	a->pkey = (uint32_t)k;
	VM_CHECK(ioctl(*fd, PLMC_IOC_ATTACH, a) == 0, "attach: %s",
		 vm_errno_name(errno));
	return 0;
}

static int map_refused(int fd, uint64_t addr, uint64_t len, int prot, int flags,
		       uint64_t off, const char *what)
{
	void *p =
		mmap((void *)(uintptr_t)addr, len, prot, flags, fd, (off_t)off);

	if (p != MAP_FAILED)
		return VM_FAIL("mmap %s: succeeded at %p", what, p);
	return 0;
}

static int t_mmap_rules(void)
{
	struct plmc_attach_args a;
	int fd, fd2, sh = MAP_SHARED | MAP_FIXED_NOREPLACE;
	uint64_t data = PLMC_BASE + PLMC_DATA_OFF;
	void *p;

	fd2 = dev();
	if (fd2 < 0)
		return -1;
	/* A fd that never attached maps nothing. */
	if (map_refused(fd2, PLMC_BASE, 4096, PROT_READ | PROT_EXEC, sh,
			PLMC_IMAGE_OFF, "before attach"))
		return -1;
	if (raw_attach(&fd, &a))
		return -1;
	VM_CHECK(ioctl(fd, PLMC_IOC_ATTACH, &a) == -1 && errno == EBUSY,
		 "second attach on one fd: %s", vm_errno_name(errno));
	if (map_refused(fd, PLMC_BASE + 0x10000000, 4096, PROT_READ | PROT_EXEC,
			sh, PLMC_IMAGE_OFF, "image elsewhere") ||
	    map_refused(fd, PLMC_BASE, 4096, PROT_READ | PROT_WRITE, sh,
			PLMC_IMAGE_OFF, "image writable") ||
	    map_refused(fd, PLMC_BASE, (a.image_size + 4095) & ~4095ULL,
			PROT_READ | PROT_EXEC,
			MAP_PRIVATE | MAP_FIXED_NOREPLACE, PLMC_IMAGE_OFF,
			"image private") ||
	    map_refused(fd, PLMC_PPAGE_ADDR, 4096, PROT_READ | PROT_WRITE, sh,
			PLMC_PPAGE_OFF, "ppage writable") ||
	    map_refused(fd, data, 4096, PROT_READ | PROT_WRITE, sh,
			PLMC_DATA_OFF, "data short") ||
	    map_refused(fd, data, PLMC_DATA_LEN(a.store_size),
			PROT_READ | PROT_WRITE | PROT_EXEC, sh, PLMC_DATA_OFF,
			"data executable") ||
	    map_refused(fd, data + 4096, PLMC_DATA_LEN(a.store_size), PROT_READ,
			sh, PLMC_DATA_OFF, "data elsewhere") ||
	    map_refused(fd, data, 4096, PROT_READ, sh, 0x12345000,
			"unknown offset"))
		return -1;
	/* The right ppage mapping works; a second one does not. */
	p = mmap((void *)(uintptr_t)PLMC_PPAGE_ADDR, 4096, PROT_READ, sh, fd,
		 PLMC_PPAGE_OFF);
	VM_CHECK(p != MAP_FAILED, "mmap ppage: %s", vm_errno_name(errno));
	VM_CHECK(((const struct plmc_ppage *)p)->attach_id == a.attach_id,
		 "ppage attach id %llu, ioctl said %llu",
		 (unsigned long long)((const struct plmc_ppage *)p)->attach_id,
		 (unsigned long long)a.attach_id);
	VM_CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == -1,
		 "ppage made writable");
	return 0;
}

int main(void)
{
	struct plmc_create_args a;
	int fd;

	vm_init();
	img = vm_slurp("/vm/kvcore.img", &img_len);
	bad = vm_slurp("/vm/kvcore-bad.img", &bad_len);
	if (!img || !bad) {
		printf("FAIL ioctl.setup: cannot read /vm/kvcore*.img\n");
		return 1;
	}
	vm_run("ioctl.create_rejects_bad_image", t_image_bad);
	vm_run("ioctl.create_good_image", t_image_good);
	vm_run("ioctl.create_bad_names", t_bad_names);
	vm_run("ioctl.create_bad_fields", t_bad_fields);
	vm_run("ioctl.attach_destroy_bad_fields", t_attach_destroy_fields);
	vm_run("ioctl.unknown_cmd", t_unknown_ioctl);
	fd = open(PLMC_DEV_PATH, O_RDWR);
	good_args(&a);
	snprintf(a.name, sizeof(a.name), "ioc.map");
	if (fd < 0 || ioctl(fd, PLMC_IOC_CREATE, &a)) {
		printf("FAIL ioctl.mmap_rules: create ioc.map: %s\n",
		       strerror(errno));
		vm_nfail++;
	} else {
		vm_run("ioctl.mmap_rules", t_mmap_rules);
		destroy(fd, "ioc.map");
	}
	return vm_done();
}
