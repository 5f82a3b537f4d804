/* SPDX-License-Identifier: MIT */
/*
 * atk_threads - an attached client that makes and ends threads in a loop.
 *
 * Every thread of an attached process used to get hardware breakpoints
 * on the XRSTOR and WRPKRU sites of its text (the module's perf events,
 * which held the thread's task_struct). Kept until the attachment ended,
 * they cost about 14 KiB of unreclaimable kernel memory per thread ever
 * made: a thread-per-request client, hostile or not, grew kernel memory
 * without bound. The sites are int3s now (kmod/int3.c), nothing per
 * thread; the row stays, so per-thread state cannot come back unbounded. Expected: 1,500 threads made and joined one after another grow
 * SUnreclaim by under 4 MiB (kept: about 20 MiB). Control: the loop runs,
 * and the client is served after it.
 */
#include "attacks.h"
#include <pthread.h>

#define THR_N 1500

static long sunreclaim_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void *nothing(void *arg)
{
	return arg;
}

static int thread_churn(void)
{
	long before, after;
	pthread_t t;
	int i;

	if (vm_attach(ATK_STORE))
		return -1;
	before = sunreclaim_kb();
	for (i = 0; i < THR_N; i++) {
		if (pthread_create(&t, NULL, nothing, NULL))
			return VM_FAIL("pthread_create %d: %s", i,
				       strerror(errno));
		pthread_join(t, NULL);
	}
	after = sunreclaim_kb();
	if (before < 0 || after < 0)
		return VM_FAIL("no SUnreclaim in /proc/meminfo");
	if (vm_roundtrip("threads-after", "served"))
		return -1;
	if (after - before >= 4096)
		return VM_FAIL("%d threads grew SUnreclaim by %ld kB", THR_N,
			       after - before);
	return ATK_REFUSED("%d threads: SUnreclaim %+ld kB; served after",
			   THR_N, after - before);
}

int main(void)
{
	atk_init();
	atk_run("threads.churn_kernel_memory", "bounded", thread_churn, NULL);
	return vm_done();
}
