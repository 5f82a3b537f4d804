/* SPDX-License-Identifier: MIT */
/*
 * tests/attacks/park.h - what the attacks on a client held up inside the
 * library share (atk_progress, atk_tasks): a large value whose get parks
 * in its copy-out on a userfaultfd buffer nobody serves, the parker's
 * start, a defence turned off then on around two runs as the test user,
 * and the verdict on a parker the module must kill after stop_grace_ms.
 */
#ifndef ATK_PARK_H
#define ATK_PARK_H

#include "attacks.h"

#define BIG 500000
/* The parker's buffer: whole pages past BIG, one more for the get. */
#define PARK_BUF_LEN ((BIG + 8191) & ~4095UL)

static char big[BIG];

/* Observations of the uid-12345 side, shared with the root side. */
struct obs {
	char off[300], on[300];
	volatile int w_done, w_rc, w_ms; /* atk_progress's waiter and caller */
};
static struct obs *obs;

/*
 * In a parker just forked: attach, store BIG bytes as "park-big", and
 * make the buffer its get copies out into, under a userfaultfd nobody
 * serves (@flags and @fd as vm_uffd_buffer's). Exits 1 (attach or set)
 * or 2 (the buffer) on failure.
 */
static inline char *park_prepare(int flags, int *fd)
{
	char *buf;

	if (vm_attach(ATK_STORE) ||
	    plmc_set("park-big", 8, big, sizeof(big), 0, 0) != PLMC_STORED)
		_exit(1);
	buf = vm_uffd_buffer(PARK_BUF_LEN, flags, fd);
	if (!buf)
		_exit(2);
	return buf;
}

/*
 * Fork @child(go, @arg), which writes a byte on go when it is about to
 * park, and wait for that byte. @d0: where the death count before the
 * fork goes, or NULL. Return: the child's pid, or -1 (VM_FAIL said why;
 * the child is killed and reaped).
 */
static inline pid_t park_start(void (*child)(int, int), int arg, uint64_t *d0)
{
	int go[2];
	pid_t a;

	if (pipe(go) || (d0 && atk_deaths(d0)))
		return VM_FAIL("pipe or deaths");
	a = fork();
	if (a == 0)
		child(go[1], arg);
	close(go[1]);
	if (a < 0 || vm_wait_fd(go[0])) {
		close(go[0]);
		atk_kill_reap(a);
		return VM_FAIL("parker did not attach");
	}
	close(go[0]);
	return a;
}

/*
 * @fn as the test user on a fresh store twice: with module parameter
 * @param at @off, fn(@arg) (the attack gets through: it is real), then
 * at @on, fn(@arg | RUN_ON) (refused); the parameter is put back. The
 * runs leave what they saw in obs. Return: 0, or -1 (VM_FAIL said why).
 */
#define RUN_ON (1 << 4)
static inline int off_then_on(const char *param, int off, int on,
			      int (*fn)(int), int arg)
{
	int was = atk_param_get(param), rc;

	obs = atk_shared(sizeof(*obs));
	if (!obs || was < 0)
		return VM_FAIL("no shared page or no %s", param);
	if (atk_param_set(param, off))
		return VM_FAIL("cannot set %s to %d", param, off);
	rc = atk_fresh_store() ? -1 : atk_as_user(fn, arg);
	atk_param_set(param, on);
	if (!rc)
		rc = atk_fresh_store() ? -1 : atk_as_user(fn, arg | RUN_ON);
	atk_param_set(param, was);
	return rc ? -1 : 0;
}

/*
 * The verdict on parker @a with the defence on: it must have been killed
 * (@st, from atk_wait_end) no sooner than the grace (@waited ms after it
 * parked), one death counted since @d0, and then another client's sets
 * all stored. @what names the attack in a failure. Return: 0 with the
 * row's note in obs->on, or -1 (VM_FAIL said why).
 */
static inline int park_killed(pid_t a, int st, int waited, uint64_t d0,
			      const char *what)
{
	int grace = atk_grace_ms(), ms, done, rc;
	uint64_t d1 = 0;

	if (!atk_killed(st)) {
		atk_kill_reap(a);
		return VM_FAIL("%s: %s after %d ms (grace %d)", what,
			       st == -1 ? "alive" : "ended otherwise", waited,
			       grace);
	}
	if (waited < grace - 300)
		return VM_FAIL("killed after %d ms, before the grace %d",
			       waited, grace);
	if (atk_deaths(&d1) || d1 != d0 + 1)
		return VM_FAIL("%lld deaths counted", (long long)(d1 - d0));
	/* 60 s: a bound on a stall, not a verdict (12,288 sets took 15 s
	 * under TCG beside two host CPU hogs). */
	rc = atk_writer(60, &ms, &done);
	if (rc)
		return VM_FAIL("after the kill: %d sets stored (%s)", done,
			       rc == 1 ? "stall" : vm_sh->note);
	snprintf(obs->on, sizeof(obs->on),
		 "killed at %d ms, 1 death, all %d sets in %d ms", waited,
		 done, ms);
	return 0;
}

#endif /* ATK_PARK_H */
