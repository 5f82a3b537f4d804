/* SPDX-License-Identifier: MIT */
/*
 * atk_rseq - a restartable sequence whose critical section is the image.
 *
 * glibc registers an rseq area for every thread. A client names the
 * image [PLMC_BASE, +1 MiB) as its critical section and its own code as
 * the abort address; when the kernel preempts the thread inside the
 * library, its rseq fix-up on the way back to user mode would set the ip
 * to the abort address: client code running with the store open (PKRU
 * 0), on the slot stack, with the library's registers. A spinner pinned
 * to the same CPU makes the preemptions happen.
 * Expected: no abort is ever taken inside the library (the module skips
 * the fix-up there); the store stays closed to client code. Control: the
 * same section over a spin loop of the client's own takes the abort.
 */
#include "attacks.h"
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>

#define RSEQ_CALLS 2000
#define RSEQ_BIG (400 * 1024)

struct rseq_seen {
	volatile int hit;
	volatile unsigned pkru;
	volatile unsigned long sp, calls;
	volatile int store_read;
};
static struct rseq_seen *seen;
static int rseq_mode; /* 0 control, 1 attack */
static struct rseq_cs rseq_cs_desc __attribute__((aligned(32)));
char atk_rseq_stack[65536] __attribute__((aligned(64)));
volatile unsigned long atk_rseq_sp;

extern char atk_rseq_abort[], atk_rseq_spin[], atk_rseq_spin_end[];
void atk_rseq_landed(void);

/* The abort handler must be preceded by RSEQ_SIG; it leaves the slot
 * stack (or the client's) for its own and never returns. */
__asm__(".text\n"
	".p2align 4\n"
	".long 0x53053053\n"
	".globl atk_rseq_abort\n"
	"atk_rseq_abort:\n"
	"  movq %rsp, atk_rseq_sp(%rip)\n"
	"  leaq atk_rseq_stack+65536(%rip), %rsp\n"
	"  andq $-16, %rsp\n"
	"  call atk_rseq_landed\n"
	"1: jmp 1b\n"
	".globl atk_rseq_spin\n"
	"atk_rseq_spin:\n"
	"2: jmp 2b\n"
	".globl atk_rseq_spin_end\n"
	"atk_rseq_spin_end:\n"
	"  ret\n");

void atk_rseq_landed(void)
{
	unsigned pkru;

	asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	seen->sp = atk_rseq_sp;
	seen->pkru = pkru;
	if (rseq_mode == 1 && !(pkru & 1U << vm_ppage()->pkey_shift))
		seen->store_read = atk_store_magic_ok();
	seen->hit = 1;
	for (;;)
		pause();
}

static void pin_cpu1(pthread_t t)
{
	cpu_set_t c;

	CPU_ZERO(&c);
	CPU_SET(1, &c);
	pthread_setaffinity_np(t, sizeof(c), &c);
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		asm volatile("" ::: "memory");
	return NULL;
}

static struct rseq *my_rseq(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() +
			       __rseq_offset);
}

static void *looper(void *arg)
{
	static char buf[RSEQ_BIG + 64];
	size_t vl;

	(void)arg;
	pin_cpu1(pthread_self());
	if (rseq_mode == 0) {
		rseq_cs_desc.start_ip = (uintptr_t)atk_rseq_spin;
		rseq_cs_desc.post_commit_offset =
			(uintptr_t)(atk_rseq_spin_end - atk_rseq_spin);
		rseq_cs_desc.abort_ip = (uintptr_t)atk_rseq_abort;
		my_rseq()->rseq_cs = (uintptr_t)&rseq_cs_desc;
		((void (*)(void))atk_rseq_spin)();
		return NULL;
	}
	rseq_cs_desc.start_ip = PLMC_BASE;
	rseq_cs_desc.post_commit_offset = PLMC_IMAGE_MAX;
	rseq_cs_desc.abort_ip = (uintptr_t)atk_rseq_abort;
	while (seen->calls < RSEQ_CALLS) {
		my_rseq()->rseq_cs = (uintptr_t)&rseq_cs_desc;
		plmc_get("rseq-big", 8, buf, sizeof(buf), &vl, NULL, NULL);
		seen->calls++;
	}
	return NULL;
}

static int rseq_run(int mode)
{
	static char big[RSEQ_BIG];
	pthread_t s, l;
	int i;

	if (__rseq_size == 0)
		return VM_FAIL("glibc registered no rseq area");
	seen = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seen == MAP_FAILED)
		return VM_FAIL("mmap");
	rseq_mode = mode;
	if (mode == 1) {
		if (vm_attach(ATK_STORE))
			return -1;
		memset(big, 'b', sizeof(big));
		if (plmc_set("rseq-big", 8, big, sizeof(big), 0, 0) !=
		    PLMC_STORED)
			return VM_FAIL("set rseq-big");
	}
	pthread_create(&s, NULL, spinner, NULL);
	pin_cpu1(s);
	pthread_create(&l, NULL, looper, NULL);
	for (i = 0; i < 1200 && !seen->hit && seen->calls < RSEQ_CALLS; i++)
		usleep(50000);
	if (mode == 0)
		return seen->hit ? ATK_REFUSED("abort taken in own code (sp %#lx)",
					       seen->sp)
				 : VM_FAIL("the control's abort was never taken");
	if (seen->hit)
		return VM_FAIL("abort taken inside after %lu calls: sp %#lx, "
			       "PKRU %#x, store header %s",
			       seen->calls, seen->sp, seen->pkru,
			       seen->store_read ? "READ" : "not read");
	if (seen->calls < RSEQ_CALLS)
		return VM_FAIL("only %lu calls in 60 s", seen->calls);
	return ATK_REFUSED("no abort inside in %lu calls", seen->calls);
}

static int attack(void)
{
	return rseq_run(1);
}

static int control(void)
{
	return rseq_run(0);
}

int main(void)
{
	atk_init();
	atk_run("rseq.control_abort_in_own_code", "abort taken", control,
		NULL);
	atk_run("rseq.abort_out_of_library", "no abort inside", attack, NULL);
	return vm_done();
}
