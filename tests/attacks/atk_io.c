/* SPDX-License-Identifier: MIT */
/*
 * atk_io - attack 4: make the kernel's DMA-style paths write the store:
 * an O_DIRECT read from a RAM disk into a store buffer, and io_uring reads
 * into the store (inline and forced to an io worker), plus registering a
 * store buffer with io_uring (pins pages). Expected: EFAULT everywhere (the
 * store is a PFN map: no struct page to pin; copies honour PKRU), and the
 * control transfers into ordinary memory work. The other way too: an
 * O_DIRECT write to the RAM disk and io_uring writes to a file (inline,
 * io worker) from the store or the image: refused, nothing written out.
 */
#include "attacks.h"
#include <linux/io_uring.h>
#include <sys/uio.h>

/* O_DIRECT needs a block device: brd.ko rides in the payload. */
static int odirect(void)
{
	void *ok;
	int fd, e;
	ssize_t n;

	if (access("/dev/ram0", F_OK) &&
	    system("insmod /vm/brd.ko rd_nr=1 rd_size=1024 2>/dev/null"))
		return VM_FAIL("no /dev/ram0 (insmod brd.ko failed)");
	fd = open("/dev/ram0", O_RDONLY | O_DIRECT);
	if (fd < 0)
		return VM_FAIL("open /dev/ram0 O_DIRECT: %s", strerror(errno));
	if (posix_memalign(&ok, 4096, 4096) || pread(fd, ok, 4096, 0) != 4096)
		return VM_FAIL("control O_DIRECT read failed: %s",
			       strerror(errno));
	if (vm_attach(ATK_STORE))
		return -1;
	n = pread(fd, (void *)(PLMC_KV_ADDR + 0x1000), 4096, 0);
	e = errno;
	if (n >= 0)
		return VM_FAIL("O_DIRECT read into the store: %zd bytes", n);
	return ATK_REFUSED("%s", vm_errno_name(e));
}

struct ring {
	int fd;
	struct io_uring_sqe *sqes;
	unsigned *sq_tail, *sq_array, *cq_head, *cq_tail, sq_mask, cq_mask;
	struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	void *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned),
		  PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	r->sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	r->sq_mask = *(unsigned *)((char *)sq + p.sq_off.ring_mask);
	r->cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	r->cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	r->cq_mask = *(unsigned *)((char *)cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	return 0;
}

/* One @op (READ, WRITE) of @len bytes at @buf on @fd; the cqe's res. */
static int ring_rw(struct ring *r, int op, int fd, void *buf, unsigned len,
		   unsigned sqe_flags)
{
	unsigned t = *r->sq_tail, h;
	struct io_uring_sqe *e = &r->sqes[t & r->sq_mask];
	int res;

	memset(e, 0, sizeof(*e));
	e->opcode = (uint8_t)op;
	e->fd = fd;
	e->addr = (uint64_t)(uintptr_t)buf;
	e->len = len;
	e->flags = (uint8_t)sqe_flags;
	r->sq_array[t & r->sq_mask] = t & r->sq_mask;
	__atomic_store_n(r->sq_tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return -errno;
	h = *r->cq_head;
	if (h == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -99999;
	res = r->cqes[h & r->cq_mask].res;
	__atomic_store_n(r->cq_head, h + 1, __ATOMIC_RELEASE);
	return res;
}

static int ring_read(struct ring *r, int fd, void *buf, unsigned len,
		     unsigned sqe_flags)
{
	return ring_rw(r, IORING_OP_READ, fd, buf, len, sqe_flags);
}

/* The kernel reading the store out: O_DIRECT and io_uring writes. */
static int io_out(void)
{
	void *src[] = {(void *)PLMC_KV_ADDR, (void *)PLMC_BASE};
	int fd, dfd, i, res[6], nout = 0;
	struct ring r;
	char back[64];

	if (access("/dev/ram0", F_OK) &&
	    system("insmod /vm/brd.ko rd_nr=1 rd_size=1024 2>/dev/null"))
		return VM_FAIL("no /dev/ram0 (insmod brd.ko failed)");
	dfd = open("/dev/ram0", O_RDWR | O_DIRECT);
	fd = open("/tmp/atk-io-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (dfd < 0 || fd < 0 || ring_setup(&r))
		return VM_FAIL("setup: %s", strerror(errno));
	if (vm_attach(ATK_STORE))
		return -1;
	for (i = 0; i < 2; i++) {
		res[3 * i] = pwrite(dfd, src[i], 4096, 0) < 0 ? -errno : 4096;
		res[3 * i + 1] = ring_rw(&r, IORING_OP_WRITE, fd, src[i], 64, 0);
		res[3 * i + 2] = ring_rw(&r, IORING_OP_WRITE, fd, src[i], 64,
					 IOSQE_ASYNC);
	}
	for (i = 0; i < 6; i++)
		nout += res[i] >= 0;
	if (pread(fd, back, sizeof(back), 0) > 0)
		return VM_FAIL("store bytes reached the file (%d writes said "
			       "yes)", nout);
	close(fd);
	unlink("/tmp/atk-io-out");
	if (nout)
		return VM_FAIL("%d of 6 writes from the store accepted: %d %d %d "
			       "%d %d %d", nout, res[0], res[1], res[2], res[3],
			       res[4], res[5]);
	return ATK_REFUSED("O_DIRECT %s, io_uring inline %s, io worker %s",
			   vm_errno_name(-res[0]), vm_errno_name(-res[1]),
			   vm_errno_name(-res[2]));
}

static int uring(void)
{
	char ok[64];
	struct ring r;
	int fd, c, a1, a2;

	fd = open("/vm/kvcore.img", O_RDONLY);
	if (fd < 0)
		return VM_FAIL("open: %s", strerror(errno));
	if (ring_setup(&r))
		return ATK_REFUSED("io_uring unavailable in the guest: %s",
				   strerror(errno));
	/* The ring made before attach, used after it (its control read
	 * too: a read before attach may leave an io-wq worker, and attach
	 * refuses a process with io_uring threads, SECURITY.md hole 20). */
	if (vm_attach(ATK_STORE))
		return -1;
	c = ring_read(&r, fd, ok, sizeof(ok), 0);
	if (c != (int)sizeof(ok))
		return VM_FAIL("control io_uring read: %d", c);
	a1 = ring_read(&r, fd, (void *)(PLMC_KV_ADDR + 0x1000), 64, 0);
	a2 = ring_read(&r, fd, (void *)(PLMC_KV_ADDR + 0x2000), 64,
		       IOSQE_ASYNC);
	if (a1 >= 0 || a2 >= 0)
		return VM_FAIL("io_uring read into the store: %d / %d", a1, a2);
	return ATK_REFUSED("inline %s, io worker %s", vm_errno_name(-a1),
			   vm_errno_name(-a2));
}

static int uring_register(void)
{
	struct iovec v = {(void *)(PLMC_KV_ADDR + 0x1000), 4096};
	struct ring r;
	long rc;

	if (ring_setup(&r))
		return ATK_REFUSED("io_uring unavailable in the guest: %s",
				   strerror(errno));
	if (vm_attach(ATK_STORE))
		return -1;
	rc = syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &v,
		     1);
	if (rc >= 0)
		return VM_FAIL("registered a store buffer with io_uring");
	return ATK_REFUSED("%s", vm_errno_name(errno));
}

int main(void)
{
	atk_init();
	atk_run("io.odirect_read_into_store", "EFAULT", odirect, NULL);
	atk_run("io.io_uring_read_into_store", "EFAULT", uring, NULL);
	atk_run("io.io_uring_register_store", "EFAULT", uring_register, NULL);
	atk_run("io.writes_out_of_store", "EFAULT, nothing out", io_out,
		NULL);
	return vm_done();
}
