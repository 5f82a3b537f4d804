// SPDX-License-Identifier: MIT
/*
 * libpl/none.c - the none backend: no PKU, no module.
 *
 * The segment is the file /dev/shm/plmc.NAME:
 *   [0, PLMC_IMAGE_MAX)                       the kvcore image
 *   [PLMC_IMAGE_MAX, + PLMC_DATA_LEN(size))   stacks, then the store
 * Attach maps the same three ranges the module would: the image (a private
 * copy, checked, then read+exec), an anonymous ppage this file writes and
 * then makes read-only, and the data shared read+write. Nothing protects
 * the store from this process: it is for development and for hosts
 * without PKU, and says so once on stderr.
 *
 * Create builds the file under a temporary name and link()s it into
 * place, so an attacher never sees a half-written store. A crash leaves
 * its slots owned until another attached process's watcher (live.c)
 * marks them dead; then any call recovers them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "pl.h"

#define PL_SHM_DIR "/dev/shm/"

static void none_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, PL_SHM_DIR "plmc.%s", name);
}

static void none_announce(void)
{
	static int said;

	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "plmc: backend none (no PKU on this path): "
				"the store is not protected from this "
				"process\n");
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : PLMC_E_CORRUPT;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The hash secret (layout.h): from the kernel's generator, never a
 * guess. Return: 0 or -errno (nothing is created without one). */
static int none_hash_key(struct plmc_store_hdr *h)
{
	size_t got = 0;

	while (got < sizeof(h->hash_key)) {
		ssize_t n = getrandom((char *)h->hash_key + got,
				      sizeof(h->hash_key) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

static int none_hdr_init(struct plmc_store_hdr *h, const char *name,
			 const struct plmc_create_opts *o)
{
	__u64 size = o->store_size;

	memset(h, 0, sizeof(*h));
	h->magic = PLMC_STORE_MAGIC;
	h->layout = PLMC_LAYOUT_VERSION;
	h->hdr_size = sizeof(*h);
	h->store_size = size;
	h->create_sec = (__u64)time(NULL);
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->item_max = o->item_max;
	h->slab_factor = o->slab_factor;
	h->slab_min = o->slab_min;
	h->slot_quota = o->slot_quota;
	h->tenants = o->tenants;
	h->owner_uid = (__u32)geteuid();
	pl_clock_refresh(h);
	return none_hash_key(h);
}

/* Owner's group and mode, as the module keeps them for its segments:
 * the caller's egid unless PLMC_CREATE_GROUP names one (fchown lets a
 * non-root caller name only a group of its own, as the module does). */
static int none_perm(int fd, const struct plmc_create_opts *o)
{
	if ((o->flags & PLMC_CREATE_GROUP) && fchown(fd, (uid_t)-1, o->gid))
		return -errno;
	return fchmod(fd, o->mode) ? -errno : 0;
}

/*
 * Reserve the store's pages now (tmpfs allocates them), so that a store
 * that was created never meets a full /dev/shm later: a write into a hole
 * the filesystem cannot fill is a SIGBUS in whichever client touches it.
 * The slot stacks (PLMC_MAX_SLOTS x PLMC_STACK_SIZE before the header) are
 * left to first touch, so that each lands on its thread's node (numa.c);
 * their room is only checked. After the memory policy: the pages follow it.
 * Return: 0, -ENOSPC (said on stderr with /dev/shm's free space), -errno.
 */
static int none_reserve(int fd, const char *name, __u64 size)
{
	__u64 end = PLMC_IMAGE_MAX + PLMC_DATA_LEN(size);
	__u64 stacks = PL_HDR_FOFF - PLMC_IMAGE_MAX;
	struct statvfs vfs;
	struct stat st;
	__u64 free_b = 0;
	int rc;

	rc = -posix_fallocate(fd, (off_t)PL_HDR_FOFF,
			      (off_t)(end - PL_HDR_FOFF));
	if (!rc && !fstatvfs(fd, &vfs) &&
	    (__u64)vfs.f_bavail * vfs.f_frsize < stacks)
		rc = -ENOSPC;
	if (rc != -ENOSPC)
		return rc;
	/* Free before this store: what is left plus what this file holds. */
	if (!fstatvfs(fd, &vfs) && !fstat(fd, &st))
		free_b = (__u64)vfs.f_bavail * vfs.f_frsize +
			 (__u64)st.st_blocks * 512;
	fprintf(stderr,
		"plmc: store %s needs %llu MiB in /dev/shm (backend "
		"none), which has %llu MiB free: make the store smaller or "
		"/dev/shm larger\n",
		name, (unsigned long long)((end - PLMC_IMAGE_MAX) >> 20),
		(unsigned long long)(free_b >> 20));
	return rc;
}

/* Fill the temporary file: size, memory policy, the store's pages,
 * image, header (the policy before the first page of the data range
 * exists). */
static int none_fill(int fd, const char *name,
		     const struct plmc_create_opts *o)
{
	__u64 size = o->store_size;
	struct plmc_store_hdr h;
	int rc;

	rc = none_perm(fd, o);
	if (rc)
		return rc;
	if (ftruncate(fd, (off_t)(PLMC_IMAGE_MAX + PLMC_DATA_LEN(size))))
		return -errno;
	rc = pl_shm_set_numa(fd, size, o->numa, o->numa_node);
	if (rc)
		return rc;
	rc = none_reserve(fd, name, size);
	if (rc)
		return rc;
	rc = pwrite_all(fd, pl_image_for(o->flags), pl_image_len_for(o->flags),
			0);
	if (rc)
		return rc;
	rc = none_hdr_init(&h, name, o);
	if (!rc)
		rc = pwrite_all(fd, &h, sizeof(h), PL_HDR_FOFF);
	explicit_bzero(h.hash_key, sizeof(h.hash_key)); /* no copy left */
	return rc;
}

/* @backend: none, or pku (the same file; pku announces at attach). */
int pl_none_create(const char *name, const struct plmc_create_opts *o,
		   int backend)
{
	char path[128], tmp[160];
	int fd, rc;

	if (backend == PLMC_BACKEND_NONE)
		none_announce();
	if (plmc_image_check(pl_image_for(o->flags),
			     pl_image_len_for(o->flags)) != PLMC_IMG_OK)
		return PLMC_E_IMAGE;
	none_path(path, sizeof(path), name);
	snprintf(tmp, sizeof(tmp), PL_SHM_DIR ".plmc.%s.%d.tmp", name,
		 (int)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = none_fill(fd, name, o);
	if (!rc && link(tmp, path))
		rc = -errno; /* EEXIST: the name is taken */
	unlink(tmp);
	close(fd);
	return rc;
}

/* Return: 0 if @h describes a store that fits a file of @fsize bytes. */
static int none_hdr_ok(const struct plmc_store_hdr *h, __u64 fsize)
{
	if (h->magic != PLMC_STORE_MAGIC || h->layout != PLMC_LAYOUT_VERSION ||
	    h->hdr_size != sizeof(*h) || !pl_size_ok(h->store_size))
		return PLMC_E_CORRUPT;
	if (fsize != PLMC_IMAGE_MAX + PLMC_DATA_LEN(h->store_size))
		return PLMC_E_CORRUPT;
	return 0;
}

static int none_read_hdr(int fd, struct plmc_store_hdr *h)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st))
		return -errno;
	if ((__u64)st.st_size < PL_HDR_FOFF + sizeof(*h))
		return PLMC_E_CORRUPT;
	rc = pread_all(fd, h, sizeof(*h), PL_HDR_FOFF);
	return rc ? rc : none_hdr_ok(h, (__u64)st.st_size);
}

int pl_none_destroy(const char *name, int force)
{
	struct plmc_store_hdr h;
	char path[128];
	int fd, rc;

	none_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = none_read_hdr(fd, &h);
	close(fd);
	if (rc && !force)
		return rc;
	/* Attached: the held liveness files say (the header's nattach may
	 * be stale if the last ones died with nobody left to recount). */
	if (!rc && !force) {
		int live = pl_none_live_count(name);

		if (live > 0 || (live < 0 && h.nattach > 0))
			return -EBUSY;
	}
	if (unlink(path))
		return -errno;
	pl_none_live_remove(name); /* liveness files, of the dead too */
	return 0;
}

/* The image: a private copy of the file's, checked, then read+exec. */
int pl_shm_map_image(int fd)
{
	struct plmc_image_hdr ih;
	__u64 len;
	int rc;

	rc = pread_all(fd, &ih, sizeof(ih), 0);
	if (rc)
		return rc;
	if (ih.image_size < sizeof(ih) || ih.image_size > PLMC_IMAGE_MAX)
		return PLMC_E_IMAGE;
	len = pl_round_page(ih.image_size);
	rc = pl_map_fixed(PLMC_BASE, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rc)
		return rc;
	pl.image_map = len;
	rc = pread_all(fd, (void *)PLMC_BASE, ih.image_size, 0);
	if (!rc && plmc_image_check((void *)PLMC_BASE, ih.image_size))
		rc = PLMC_E_IMAGE;
	if (!rc && mprotect((void *)PLMC_BASE, len, PROT_READ | PROT_EXEC))
		rc = -errno;
	if (rc)
		munmap((void *)PLMC_BASE, len);
	return rc;
}

/* The ppage: anonymous, filled here, then read-only (pkey 0 either way). */
int pl_shm_map_ppage(const struct plmc_store_hdr *h, int backend, int pkey)
{
	struct plmc_ppage *pp = (struct plmc_ppage *)PLMC_PPAGE_ADDR;
	int rc;

	rc = pl_map_fixed(PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE,
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (rc)
		return rc;
	pp->magic = PLMC_PPAGE_MAGIC;
	pp->attach_id = pl.attach_id;
	pp->pkey = (__u32)pkey;
	pp->pkey_shift = 2U * (__u32)pkey;
	pp->backend = (__u32)backend;
	pp->tgid = (__u32)getpid();
	pp->uid = (__u32)geteuid();
	pp->store_size = h->store_size;
	pp->image_size = ((const struct plmc_image_hdr *)PLMC_BASE)->image_size;
	if (mprotect(pp, PLMC_PPAGE_SIZE, PROT_READ)) {
		rc = -errno;
		munmap(pp, PLMC_PPAGE_SIZE);
	}
	return rc;
}

/* The attach id: nonzero, below 2^62, never reused in this store. */
static int none_attach_id(struct plmc_store_hdr *h)
{
	__u64 id = __atomic_add_fetch(&h->attach_seq, 1, __ATOMIC_SEQ_CST);

	if (id == 0 || id >= (1ULL << 62))
		return PLMC_E_CORRUPT;
	pl.attach_id = id;
	return 0;
}

/*
 * Map data, then check the header again through the mapping (the file
 * could have changed since it was read), then take an attach id.
 */
int pl_shm_map_data(int fd, const struct plmc_store_hdr *fh, __u64 fsize)
{
	struct plmc_store_hdr *h = (struct plmc_store_hdr *)PLMC_STORE_ADDR;
	__u64 len = PLMC_DATA_LEN(fh->store_size);
	int rc;

	rc = pl_map_fixed(PLMC_BASE + PLMC_DATA_OFF, len,
			  PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			  PLMC_IMAGE_MAX);
	if (rc)
		return rc;
	rc = none_hdr_ok(h, fsize);
	if (!rc && h->store_size != fh->store_size)
		rc = PLMC_E_CORRUPT;
	if (!rc)
		rc = none_attach_id(h);
	if (rc) {
		munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), len);
		return rc;
	}
	pl.data_len = len;
	return 0;
}

/* A store another build made (its layout differs: plmc/layout.h) is
 * refused as corrupt, never misread; say which, and what to do. */
static void none_layout_note(const char *name, const struct plmc_store_hdr *h)
{
	if (h->magic == PLMC_STORE_MAGIC && h->layout != PLMC_LAYOUT_VERSION)
		fprintf(stderr,
			"plmc: store %s has store layout %u, this build reads "
			"layout %u: destroy it (plctl destroy %s --force) and "
			"create it again\n",
			name, h->layout, PLMC_LAYOUT_VERSION, name);
}

/* Return: the segment file open O_RDWR, its header checked, or -errno. */
int pl_shm_open(const char *name, struct plmc_store_hdr *h, __u64 *fsize)
{
	struct stat st;
	char path[128];
	int fd, rc;

	none_path(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(h, 0, sizeof(*h)); /* a file too short leaves it unread */
	rc = none_read_hdr(fd, h);
	if (rc == PLMC_E_CORRUPT)
		none_layout_note(name, h);
	if (!rc && fstat(fd, &st))
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	*fsize = (__u64)st.st_size;
	return fd;
}

/* Context: pl_lock held, not attached. */
int pl_none_attach(const char *name)
{
	struct plmc_store_hdr fh, *h;
	const struct plmc_image_hdr *ih;
	__u64 fsize = 0;
	int fd, rc;

	none_announce();
	fd = pl_shm_open(name, &fh, &fsize);
	if (fd < 0)
		return fd;
	rc = pl_shm_map_image(fd);
	if (rc)
		goto err_close;
	rc = pl_shm_map_data(fd, &fh, fsize);
	if (rc)
		goto err_image;
	rc = pl_shm_map_ppage(&fh, PLMC_BACKEND_NONE, 0);
	if (rc)
		goto err_data;
	h = (struct plmc_store_hdr *)PLMC_STORE_ADDR;
	pl.hdr = h;
	rc = pl_none_live_start(name);
	if (rc) {
		pl.hdr = NULL;
		goto err_ppage;
	}
	pl_numa_attach(); /* nattach: live.c recounts it */
	ih = (const struct plmc_image_hdr *)PLMC_BASE;
	pl.fd = fd;
	pl.pkey = -1;
	__atomic_store_n(&pl.gate, (pl_gate_fn)(PLMC_BASE + ih->entry_none),
			 __ATOMIC_RELEASE);
	return 0;

err_ppage:
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
err_data:
	munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
err_image:
	munmap((void *)PLMC_BASE, pl.image_map);
err_close:
	close(fd);
	return rc;
}

/* Context: pl_lock held, slots already released. */
void pl_none_detach(void)
{
	pl_none_live_stop(); /* recounts nattach */
	pl.hdr = NULL;
	munmap((void *)PLMC_PPAGE_ADDR, PLMC_PPAGE_SIZE);
	munmap((void *)(PLMC_BASE + PLMC_DATA_OFF), pl.data_len);
	munmap((void *)PLMC_BASE, pl.image_map);
	close(pl.fd);
	pl.fd = -1;
}
