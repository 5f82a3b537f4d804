/* SPDX-License-Identifier: MIT */
/*
 * atk_perfbp - a perf data breakpoint on the store.
 *
 * A hardware breakpoint (perf_event_open, PERF_TYPE_BREAKPOINT) on a read
 * or write of a store address counts the library's accesses made for the
 * client: its control flow over store data, a side channel. Expected: an
 * attached process gets EPERM for one on the store; with the defence off
 * (introspect_guard=0) the same call opens. Control: the same breakpoint
 * on a variable of its own opens and counts.
 */
#include "attacks.h"
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

static volatile uint64_t own_word;

static int bp_open(uint64_t addr)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_RW;
	a.bp_addr = addr;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static int on_store(void)
{
	int fd;

	if (vm_attach(ATK_STORE))
		return -1;
	/* Defence off (introspect_guard=0): the breakpoint opens. */
	if (atk_param_set("introspect_guard", 0))
		return VM_FAIL("cannot set introspect_guard");
	fd = bp_open(PLMC_STORE_ADDR + 0x40);
	atk_param_set("introspect_guard", 1);
	if (fd < 0)
		return VM_FAIL("defence off: breakpoint on the store refused "
			       "(%s): the path was not shown", strerror(errno));
	close(fd);
	fd = bp_open(PLMC_STORE_ADDR + 0x40);
	if (fd >= 0)
		return VM_FAIL("data breakpoint on the store opened (fd %d)",
			       fd);
	if (errno != EPERM)
		return VM_FAIL("refused with %s, not EPERM", strerror(errno));
	return ATK_REFUSED("off: opened; on: perf_event_open EPERM");
}

static int control(void)
{
	uint64_t n = 0;
	int fd, i;

	if (vm_attach(ATK_STORE))
		return -1;
	fd = bp_open((uintptr_t)&own_word);
	if (fd < 0)
		return VM_FAIL("breakpoint on our own word: %s",
			       strerror(errno));
	for (i = 0; i < 10; i++)
		own_word++;
	if (read(fd, &n, sizeof(n)) != sizeof(n) || n < 10)
		return VM_FAIL("counted %llu accesses, not 10 or more",
			       (unsigned long long)n);
	close(fd);
	return ATK_REFUSED("own word: %llu accesses counted",
			   (unsigned long long)n);
}

int main(void)
{
	atk_init();
	atk_run("perfbp.control_own_word", "opens, counts", control, NULL);
	atk_run("perfbp.data_breakpoint_on_store", "EPERM", on_store, NULL);
	return vm_done();
}
