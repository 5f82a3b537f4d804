/* SPDX-License-Identifier: MIT */
/*
 * atk_lazy - SECURITY.md hole 11 in a dynamically linked program (the one
 * dynamic attack program: built with -z lazy, run against Debian's ld.so
 * and libc in the test host, its library /vm/xlib_lazy.so).
 *
 * ld.so's lazy-binding resolver saves the vector registers with XSAVE(C)
 * and restores them with XRSTOR; libc's pkey_set holds a WRPKRU. After
 * attach each of those carries the module's int3 and is emulated. Rows:
 * 48 functions bound lazily after attach, each taking doubles and a
 * __m256d through the resolver, return what they must (a wrong XRSTOR
 * emulation shows as a wrong sum), and the resolver's XRSTOR reads 0xCC;
 * a fork child of the attached process binds its own calls (not attached:
 * it inherits the int3s and the module's record of them); system() runs
 * a shell and gets its status; libc's pkey_set works on a key of our own
 * and is killed opening the store's.
 */
#include "../attacks.h"
#include <immintrin.h>

/* Macro lists, one line each: left as written. */
/* clang-format off */
#define LAZY_DECL(i) double lazy_f##i(double a, __m256d v, double b);
#define LAZY_8(i)                                                              \
	LAZY_DECL(i##0) LAZY_DECL(i##1) LAZY_DECL(i##2) LAZY_DECL(i##3)        \
	LAZY_DECL(i##4) LAZY_DECL(i##5) LAZY_DECL(i##6) LAZY_DECL(i##7)
LAZY_8(1) LAZY_8(2) LAZY_8(3) LAZY_8(4) LAZY_8(5) LAZY_8(6)
/* clang-format on */

#define NFNS 48

/*
 * One direct call (through the PLT, so its first one goes through the
 * resolver; a function pointer would be bound at load), arguments of its
 * own, the answer checked.
 */
/* clang-format off */
#define LAZY_CALL(i)                                                           \
	do {                                                                   \
		double a = 1.25 * k, b = -3.5 + k, vv[4];                      \
		__m256d v = _mm256_set_pd(k + 0.5, -k * 2.0, 1e10 + k, 0.125); \
                                                                               \
		_mm256_storeu_pd(vv, v);                                       \
		*want = a * (i + 1) + b + vv[0] + 2 * vv[1] + 3 * vv[2] +      \
			4 * vv[3];                                             \
		*got = lazy_f##i(a, v, b);                                     \
		if (*got != *want)                                             \
			return i;                                              \
		k++;                                                           \
	} while (0);
#define LAZY_CALL8(i)                                                          \
	LAZY_CALL(i##0) LAZY_CALL(i##1) LAZY_CALL(i##2) LAZY_CALL(i##3)        \
	LAZY_CALL(i##4) LAZY_CALL(i##5) LAZY_CALL(i##6) LAZY_CALL(i##7)

/* Each function once. Return: the number of the first wrong one, or -1. */
static int lazy_calls(double *got, double *want)
{
	int k = 0;

	LAZY_CALL8(1) LAZY_CALL8(2) LAZY_CALL8(3)
	LAZY_CALL8(4) LAZY_CALL8(5) LAZY_CALL8(6)
	return -1;
}
/* clang-format on */

/* ld.so's XRSTOR sites, from its executable mapping. */
static int ldso_sites(const uint8_t **s, int max)
{
	char line[512], perms[8], path[256];
	unsigned long lo, hi, a;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi,
			   perms, path) < 3)
			continue;
		if (perms[2] != 'x' || !strstr(path, "ld-linux"))
			continue;
		for (a = lo; a + 3 <= hi; a++) {
			const uint8_t *p = (const uint8_t *)a;

			if (p[0] == 0x0f && p[1] == 0xae &&
			    ((p[2] >> 3) & 7) == 5 && (p[2] >> 6) != 3 &&
			    n < max)
				s[n++] = p;
		}
	}
	fclose(f);
	return n;
}

static int bind_after_attach(void)
{
	const uint8_t *s[8];
	double got, want;
	int n = ldso_sites(s, 8), i, bad;

	if (n < 1)
		return VM_FAIL("no XRSTOR in ld.so's text (%d)", n);
	if (vm_attach(ATK_STORE))
		return -1;
	for (i = 0; i < n; i++)
		if (s[i][0] != 0xcc)
			return VM_FAIL("ld.so XRSTOR at %p reads 0x%02x",
				       (const void *)s[i], s[i][0]);
	bad = lazy_calls(&got, &want);
	if (bad >= 0)
		return VM_FAIL("lazy_f%d: %.17g, wanted %.17g", bad, got, want);
	if (plmc_nop() || vm_roundtrip("lazy-k", "lazy-v"))
		return VM_FAIL("store unusable after the lazy calls");
	return ATK_REFUSED("%d functions bound after attach through %d "
			   "patched XRSTOR, doubles and __m256d intact",
			   NFNS, n);
}

/* Control: the same calls without the module's attach. */
static int bind_unattached(void)
{
	double got, want;
	int bad = lazy_calls(&got, &want);

	if (bad >= 0)
		return VM_FAIL("lazy_f%d: %.17g, wanted %.17g", bad, got, want);
	return ATK_REFUSED("%d functions bound, not attached", NFNS);
}

static int fork_child_binds(void)
{
	double got, want;
	int status, bad;
	pid_t pid;

	if (vm_attach(ATK_STORE))
		return -1;
	pid = fork();
	if (pid < 0)
		return VM_FAIL("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(lazy_calls(&got, &want) >= 0 ? 10 : 0);
	status = vm_reap(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return VM_FAIL("child: status 0x%x (10: a wrong answer; "
			       "signal 5: SIGTRAP at an int3)",
			       status);
	status = system("exit 3");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 3)
		return VM_FAIL("system(\"exit 3\"): status 0x%x", status);
	bad = lazy_calls(&got, &want);
	if (bad >= 0)
		return VM_FAIL("parent, lazy_f%d: %.17g, wanted %.17g", bad,
			       got, want);
	return ATK_REFUSED("child bound %d functions; system() exit 3; "
			   "parent bound them after",
			   NFNS);
}

static int pkey_set_own(void)
{
	int key;

	if (vm_attach(ATK_STORE))
		return -1;
	key = pkey_alloc(0, 0);
	if (key < 0)
		return VM_FAIL("pkey_alloc: %s", strerror(errno));
	if (atk_pkey_set_own(key, PKEY_DISABLE_WRITE))
		return -1;
	return atk_still_closed("pkey_set of another key");
}

int main(void)
{
	atk_init();
	atk_run("lazy.bind_unattached", "bound (control)", bind_unattached,
		NULL);
	atk_run("lazy.bind_after_attach", "bound, results exact",
		bind_after_attach, NULL);
	atk_run("lazy.fork_child_binds", "child binds; system() works",
		fork_child_binds, NULL);
	atk_run("lazy.pkey_set_own_key", "runs; SEGV_PKUERR", pkey_set_own,
		NULL);
	atk_run("lazy.pkey_set_store_key", "SIGKILL", atk_pkey_set_store, NULL);
	return vm_done();
}
