/* SPDX-License-Identifier: MIT */
/*
 * atk_tenant - tenants (docs/tenants.md): a store created by root with
 * tenants, shared by two unprivileged uids. The attacker (uid B) goes
 * for the victim's (uid A) keys every way the API offers: read (get,
 * mget, meta get), overwrite (set, replace, append, cas with A's
 * unique), delete (delete, meta delete), touch (expire them), incr,
 * flush_all, eviction (filling the store), enumeration (stats, the
 * tenant table, class stats and the check), the owner's calls (act as
 * A, make itself a proxy, flush the whole store), and pinning the
 * store's pages in empty size classes so A, under its quota, loses
 * items; root acting for a tenant (as plmcd with -o tenant=) must get
 * that tenant's rights only.
 *
 * Every attack runs twice. Defence off: the same store without tenants,
 * where the attack must reach A's keys (else it proves nothing). Defence
 * on: the tenant store, where it must not, A's keys must read back
 * unchanged, and A doing the same to its own keys must work (the path
 * runs). The attacker's exit status says what it saw: 0 refused, 1 it
 * reached A's data, 2 and up something broke.
 */
#include "attacks.h"
#include <sys/mman.h>

#define TEN   "atk-ten"
#define UID_A 12345
#define UID_B 12346
#define NSEC  8
#define VSIZE 3000 /* A's values and B's filler: one size class */

/* A's CAS unique of sec-0, for the cas attack (the attacker is assumed
 * to know it). Shared: set by A's process, read by B's. */
static uint64_t *shared_cas;

static void sec_key(char *k, int i)
{
	snprintf(k, 32, "sec-%d", i);
}

static void sec_val(char *v, int i)
{
	memset(v, 'a', VSIZE);
	snprintf(v, 32, "A-secret-%d", i);
	v[strlen(v)] = '.'; /* the NUL becomes filler */
}

/* Run @fn as @uid, attached to TEN. Return: its exit status, or 99 if
 * it died. */
static int as_uid(uid_t uid, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return 99;
	if (!pid) {
		if (setgid(uid) || setuid(uid))
			_exit(97);
		if (plmc_attach(TEN, PLMC_USE_KMOD))
			_exit(98);
		_exit(fn());
	}
	st = vm_reap(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static int seed_a(void)
{
	static char v[VSIZE];
	char k[32], buf[VSIZE];
	size_t vlen;
	int i;

	for (i = 0; i < NSEC; i++) {
		sec_key(k, i);
		sec_val(v, i);
		if (plmc_set(k, strlen(k), v, VSIZE, 7, 0) != PLMC_STORED)
			return 2;
	}
	if (plmc_set("ctr", 3, "100", 3, 0, 0) != PLMC_STORED)
		return 2;
	return plmc_get("sec-0", 5, buf, sizeof(buf), &vlen, NULL,
			shared_cas) == PLMC_OK
		       ? 0
		       : 2;
}

/* 0 if every one of A's keys reads back as seeded. */
static int a_intact(void)
{
	static char v[VSIZE], buf[VSIZE];
	char k[32], c[8];
	size_t vlen;
	int i;

	for (i = 0; i < NSEC; i++) {
		sec_key(k, i);
		sec_val(v, i);
		if (plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL,
			     NULL) != PLMC_OK ||
		    vlen != VSIZE || memcmp(buf, v, VSIZE))
			return 1;
	}
	if (plmc_get("ctr", 3, c, sizeof(c), &vlen, NULL, NULL) != PLMC_OK ||
	    vlen != 3 || memcmp(c, "100", 3))
		return 1;
	return 0;
}

/* A fresh TEN: @tenants 0 (defence off) or 4; mode 0666; A seeds it. */
static int fresh(unsigned tenants)
{
	struct plmc_create_opts o = {
		.size = sizeof(o), .store_size = VM_STORE_SIZE, .mode = 0666,
		.use = PLMC_USE_KMOD, .tenants = tenants,
	};
	int rc;

	plmc_destroy(TEN, 1, PLMC_USE_KMOD);
	rc = plmc_create_ex(TEN, &o);
	if (rc)
		return VM_FAIL("create %s: %s", TEN, plmc_strerror(rc));
	rc = as_uid(UID_A, seed_a);
	return rc ? VM_FAIL("seed as uid A: %d", rc) : 0;
}

/* ---- the attacker's moves (uid B): exit 1 if A's data was reached ---- */

static int b_get(void)
{
	char buf[VSIZE];
	size_t vlen;
	int rc = plmc_get("sec-0", 5, buf, sizeof(buf), &vlen, NULL, NULL);

	return rc == PLMC_OK ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_mget(void)
{
	static char b0[VSIZE], b1[VSIZE];
	struct plmc_mget e[2] = {
		{.key = "sec-1", .klen = 5, .buf = b0, .buflen = VSIZE},
		{.key = "sec-2", .klen = 5, .buf = b1, .buflen = VSIZE},
	};

	if (plmc_mget(e, 2))
		return 2;
	return e[0].rc == PLMC_OK || e[1].rc == PLMC_OK;
}

static int b_meta_get(void)
{
	static char buf[VSIZE];
	struct plmc_meta m = {.cmd = PLMC_META_GET, .mflags = PLMC_MF_VALUE};
	int rc = plmc_meta("sec-3", 5, &m, NULL, 0, buf, sizeof(buf));

	return rc == PLMC_OK ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

/* Overwrites: success on A's key is reaching it; a set lands in B's own
 * key space in a tenant store, which a_intact then tells apart. */
static int b_set(void)
{
	return plmc_set("sec-0", 5, "B", 1, 0, 0) == PLMC_STORED ? 0 : 2;
}

static int b_replace(void)
{
	int rc = plmc_replace("sec-0", 5, "B", 1, 0, 0);

	return rc == PLMC_STORED ? 1 : rc == PLMC_NOT_STORED ? 0 : 2;
}

static int b_append(void)
{
	int rc = plmc_append("sec-0", 5, "B", 1);

	return rc == PLMC_STORED ? 1 : rc == PLMC_NOT_STORED ? 0 : 2;
}

static int b_cas(void)
{
	int rc = plmc_cas("sec-0", 5, "B", 1, 0, 0, *shared_cas);

	return rc == PLMC_STORED ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_delete(void)
{
	int rc = plmc_delete("sec-0", 5);

	return rc == PLMC_DELETED ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_meta_delete(void)
{
	struct plmc_meta m = {.cmd = PLMC_META_DELETE};
	int rc = plmc_meta("sec-1", 5, &m, NULL, 0, NULL, 0);

	return rc == PLMC_DELETED ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_touch(void)
{
	int rc = plmc_touch("sec-0", 5, -1);

	return rc == PLMC_TOUCHED ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_incr(void)
{
	uint64_t v;
	int rc = plmc_incr("ctr", 3, 1000, &v);

	return rc == PLMC_OK ? 1 : rc == PLMC_NOT_FOUND ? 0 : 2;
}

static int b_flush(void)
{
	return plmc_flush_all(0) == PLMC_OK ? 0 : 2;
}

/* Fill: twice the store in A's size class (B's own quota is a quarter
 * in the tenant store). */
static int b_evict(void)
{
	static char v[VSIZE];
	char k[32];
	int i, n = (int)(2 * VM_STORE_SIZE / 4096), rc;

	memset(v, 'b', sizeof(v));
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "fill-%d", i);
		rc = plmc_set(k, strlen(k), v, VSIZE, 0, 0);
		if (rc != PLMC_STORED)
			return 2;
	}
	return 0;
}

/* Enumerate: the counters must not show A's items (B owns none). */
static int b_stats(void)
{
	struct plmc_stats st = {.size = sizeof(st)};
	struct plmc_tenant t[PLMC_TENANT_MAX];
	size_t n = 0, i;
	int rc;

	if (plmc_stats(&st))
		return 2;
	if (st.curr_items)
		return 1;
	rc = plmc_tenant_list(t, PLMC_TENANT_MAX, &n);
	if (rc)
		return 2;
	for (i = 0; i < n && i < PLMC_TENANT_MAX; i++)
		if (t[i].id != UID_B || t[i].items)
			return 1;
	return 0;
}

/* The owner's calls: act as A, then read A's key; make itself a proxy;
 * flush every tenant. */
static int b_as_a(void)
{
	int rc = plmc_as_tenant(UID_A);

	if (rc == PLMC_E_PERM)
		return 0;
	return rc == PLMC_OK ? b_get() : 2;
}

/* Refused, it tries acting as A all the same (which reaches A's keys
 * where B is a proxy: the defence-off run). */
static int b_proxy_self(void)
{
	int rc = plmc_tenant_set(UID_B, 0, PLMC_TENANT_PROXY);

	if (rc != PLMC_E_PERM && rc != PLMC_OK)
		return 2;
	return b_as_a();
}

/* Without tenants there is no such call: plain flush_all instead (the
 * defence-off run; a_intact tells what it did). */
static int b_flush_store(void)
{
	int rc = plmc_flush_store(0);

	if (rc == PLMC_E_INVAL)
		return plmc_flush_all(0) == PLMC_OK ? 0 : 2;
	return rc == PLMC_E_PERM ? 0 : rc == PLMC_OK ? 1 : 2;
}

/* ---- A's controls on its own keys: 0 when the path ran ---- */

static int a_get(void)
{
	char buf[VSIZE];
	size_t vlen;

	return plmc_get("sec-0", 5, buf, sizeof(buf), &vlen, NULL, NULL) !=
	       PLMC_OK;
}

static int a_replace(void)
{
	return plmc_replace("sec-0", 5, "A", 1, 0, 0) != PLMC_STORED;
}

static int a_append(void)
{
	return plmc_append("sec-0", 5, "A", 1) != PLMC_STORED;
}

static int a_cas(void)
{
	return plmc_cas("sec-0", 5, "A", 1, 0, 0, *shared_cas) != PLMC_STORED;
}

static int a_delete(void)
{
	return plmc_delete("sec-0", 5) != PLMC_DELETED;
}

static int a_touch(void)
{
	char buf[8];
	size_t vlen;

	return plmc_touch("sec-0", 5, -1) != PLMC_TOUCHED ||
	       plmc_get("sec-0", 5, buf, sizeof(buf), &vlen, NULL, NULL) !=
		       PLMC_NOT_FOUND;
}

static int a_incr(void)
{
	uint64_t v = 0;

	return plmc_incr("ctr", 3, 1000, &v) != PLMC_OK || v != 1100;
}

static int a_flush(void)
{
	return plmc_flush_all(0) != PLMC_OK || !a_intact();
}

static int a_stats(void)
{
	struct plmc_stats st = {.size = sizeof(st)};

	return plmc_stats(&st) || st.curr_items != NSEC + 1;
}

static int a_evict(void)
{
	struct plmc_tenant t;
	size_t n;

	/* A's own row says what it holds. */
	return plmc_tenant_list(&t, 1, &n) || n != 1 || t.items != NSEC + 1;
}

static int a_meta_delete(void)
{
	struct plmc_meta m = {.cmd = PLMC_META_DELETE};

	return plmc_meta("sec-1", 5, &m, NULL, 0, NULL, 0) != PLMC_DELETED;
}

/* The owner's calls are root's: root acts for A (a fork of root). */
static int root_as_a(void)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		if (plmc_attach(TEN, PLMC_USE_KMOD) ||
		    plmc_as_tenant(UID_A) != PLMC_OK)
			_exit(2);
		_exit(b_get() == 1 ? 0 : 3);
	}
	st = vm_reap(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

/* Root's flush of the whole store empties A's key space. */
static int root_flush_store(void)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		if (plmc_attach(TEN, PLMC_USE_KMOD) ||
		    plmc_flush_store(0) != PLMC_OK)
			_exit(2);
		_exit(0);
	}
	st = vm_reap(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return 99;
	return as_uid(UID_A, a_intact) ? 0 : 3;
}

/* ---- what B learns of A's items: class counts and the check ---- */

/* 1 if class stats or the check show A's items (B stores none). */
static int b_classes(void)
{
	struct plmc_class_stats cs[64];
	struct plmc_check ck = {.size = sizeof(ck)};
	size_t n = 0, i;
	int rc;

	if (plmc_class_stats(cs, 64, &n) < 0)
		return 2;
	for (i = 0; i < n && i < 64; i++)
		if (cs[i].number || cs[i].mem_requested || cs[i].used_chunks)
			return 1;
	rc = plmc_check(&ck);
	if (rc == PLMC_OK)
		return ck.items ? 1 : 0;
	return rc == PLMC_E_PERM ? 0 : 2;
}

/* Control: A still sees each class's geometry (the path runs). */
static int a_classes(void)
{
	struct plmc_class_stats cs[64];
	size_t n = 0, i;

	if (plmc_class_stats(cs, 64, &n) < 0 || !n)
		return 2;
	for (i = 0; i < n && i < 64; i++)
		if (!cs[i].chunk_size || !cs[i].total_pages)
			return 2;
	return 0;
}

/* ---- pinning pages: B leaves every size class holding a page ---- */

#define PIN_N	1100 /* A's items of PIN_V bytes: ~5 MiB of its 6 */
#define PIN_V	4000
static char pin_buf[900000];

/* One item in every size class, each deleted at once. */
static int b_pin(void)
{
	char k[32];
	double sz;
	int i = 0;

	memset(pin_buf, 'b', sizeof(pin_buf));
	for (sz = 1; sz < 900000; sz = sz * 1.12 + 1, i++) {
		snprintf(k, sizeof(k), "p-%d", i);
		plmc_set(k, strlen(k), pin_buf, (size_t)sz, 0, 0);
		plmc_delete(k, strlen(k));
	}
	return 0;
}

/* A, under its quota, stores PIN_N items and values of new classes:
 * 0 if all are kept, 1 if some were lost (its memory was pinned). */
static int a_pin_fill(void)
{
	static const size_t sz[] = {300, 50000, 200000};
	char k[32];
	size_t vl, j;
	int i, got = 0, bad = 0;

	memset(pin_buf, 'a', sizeof(pin_buf));
	for (i = 0; i < PIN_N; i++) {
		snprintf(k, sizeof(k), "h-%d", i);
		/* Refused (the store full): a loss like an eviction. */
		bad += plmc_set(k, strlen(k), pin_buf, PIN_V, 0, 0) !=
		       PLMC_STORED;
	}
	for (i = 0; i < PIN_N; i++) {
		snprintf(k, sizeof(k), "h-%d", i);
		got += plmc_get(k, strlen(k), pin_buf + 400000, 8192, &vl,
				NULL, NULL) == PLMC_OK;
	}
	for (j = 0; j < 3; j++)
		bad += plmc_set("newsize", 7, pin_buf, sz[j], 0, 0) !=
		       PLMC_STORED;
	vm_note("A kept %d of %d items, %d sets refused", got, PIN_N, bad);
	return got == PIN_N && !bad ? 0 : 1;
}

/* Root gives A and B 6 MiB each (12 of the store's 16); @off: root also
 * sets slab_automove 0 (no page moves on its own: the defence off). */
static int pin_setup(int off)
{
	int r = plmc_attach(TEN, PLMC_USE_KMOD);

	if (!r)
		r = plmc_tenant_set(UID_A, 6 << 20, 0);
	if (!r)
		r = plmc_tenant_set(UID_B, 6 << 20, 0);
	if (!r && off)
		r = plmc_slabs_automove(0);
	plmc_detach();
	return r ? VM_FAIL("root: quotas: %s", plmc_strerror(r)) : 0;
}

static int t_pin(void)
{
	int r;

	/* Control: A alone fills its quota. */
	if (fresh(4) || pin_setup(0))
		return -1;
	r = as_uid(UID_A, a_pin_fill);
	if (r)
		return VM_FAIL("control: A alone lost items (%d)", r);
	/* Defence off: B's pin costs A its items. */
	if (fresh(4) || pin_setup(1))
		return -1;
	as_uid(UID_B, b_pin);
	r = as_uid(UID_A, a_pin_fill);
	if (r != 1)
		return VM_FAIL("defence off: A kept its items (%d): the attack "
			       "proves nothing", r);
	if (fresh(4) || pin_setup(0))
		return -1;
	as_uid(UID_B, b_pin);
	r = as_uid(UID_A, a_pin_fill);
	if (r)
		return VM_FAIL("A lost items to B's pinned pages (%d)", r);
	if (as_uid(UID_A, a_intact))
		return VM_FAIL("A's seeded keys changed");
	return ATK_REFUSED("B's empty pages went back to the pool; with "
			   "page moves off A lost items; A alone kept all");
}

/* ---- root acting for B (plmcd as root with -o tenant=B) ---- */

/* Root acts for B and tries the owner's calls: each must be PERM.
 * Return: the number served. */
static int root_as_b_calls(void)
{
	struct plmc_check ck = {.size = sizeof(ck)};
	int served = 0;

	served += plmc_stats_reset() != PLMC_E_PERM;
	served += plmc_slabs_automove(1) != PLMC_E_PERM;
	served += plmc_slabs_reassign(-1, 0) != PLMC_E_PERM;
	served += plmc_tenant_set(UID_B, 1 << 30, PLMC_TENANT_PROXY) !=
		  PLMC_E_PERM;
	served += plmc_flush_store(0) != PLMC_E_PERM;
	served += plmc_check(&ck) != PLMC_E_PERM;
	return served;
}

static int t_root_as(void)
{
	struct plmc_stats st = {.size = sizeof(st)};
	int r, served;

	if (fresh(4))
		return -1;
	r = plmc_attach(TEN, PLMC_USE_KMOD);
	if (r)
		return VM_FAIL("root attach: %s", plmc_strerror(r));
	r = plmc_as_tenant(UID_B);
	served = r ? -1 : root_as_b_calls();
	/* Control: in its own key space the same calls are served. */
	r |= plmc_as_tenant(PLMC_TENANT_SELF);
	r |= plmc_stats_reset();
	r |= plmc_slabs_automove(0);
	r |= plmc_stats(&st);
	plmc_detach();
	if (served)
		return VM_FAIL("root acting for B was served %d owner calls",
			       served);
	if (r || st.slab_automove != 0)
		return VM_FAIL("control: root's own calls failed");
	if (as_uid(UID_A, a_intact))
		return VM_FAIL("A's keys changed");
	return ATK_REFUSED("root acting for B: stats reset, automove, "
			   "reassign, tenant set, flush store, check PERM; "
			   "served in root's own key space");
}

/*
 * How a move's two runs are set up. USER: defence off is the store
 * without tenants, the control is A's own. PROXY: the owner's calls;
 * defence off is the tenant store with B marked a proxy by root, the
 * control root acting for A. OWNER: defence off without tenants, the
 * control root's flush of the whole store.
 */
enum { USER, PROXY, OWNER };

struct move {
	const char *what;
	int (*b)(void);
	int (*a)(void);
	int kind;
};

/*
 * Defence off, then on (see the top of the file). For the owner's
 * calls the defence is the proxy flag: off, root marks B a proxy in the
 * tenant store first.
 */
static int control(const struct move *m)
{
	if (m->kind == PROXY)
		return root_as_a();
	if (m->kind == OWNER)
		return root_flush_store();
	return as_uid(UID_A, m->a);
}

static int run_move(const struct move *m)
{
	int r;

	if (fresh(m->kind == PROXY ? 4 : 0))
		return -1;
	if (m->kind == PROXY) {
		r = plmc_attach(TEN, PLMC_USE_KMOD);
		if (!r)
			r = plmc_tenant_set(UID_B, 0, PLMC_TENANT_PROXY);
		plmc_detach();
		if (r)
			return VM_FAIL("root: mark B a proxy: %s",
				       plmc_strerror(r));
	}
	r = as_uid(UID_B, m->b);
	if (r > 1)
		return VM_FAIL("%s, defence off: attacker broke (%d)", m->what,
			       r);
	if (r != 1 && !as_uid(UID_A, a_intact))
		return VM_FAIL("%s, defence off: A's keys not reached (the "
			       "attack proves nothing)",
			       m->what);
	if (fresh(4))
		return -1;
	r = as_uid(UID_B, m->b);
	if (r == 1)
		return VM_FAIL("%s reached A's keys", m->what);
	if (r)
		return VM_FAIL("%s: attacker broke (%d)", m->what, r);
	if (as_uid(UID_A, a_intact))
		return VM_FAIL("%s: A's keys changed", m->what);
	r = control(m);
	if (r)
		return VM_FAIL("%s: control (the same on A's own keys) failed: "
			       "%d",
			       m->what, r);
	return ATK_REFUSED("%s: missed A's keys; without the defence it "
			   "reached them; A's own works",
			   m->what);
}

#define MOVE(fn, what, b, a, kind)                                             \
	static int fn(void)                                                    \
	{                                                                      \
		static const struct move m = {what, b, a, kind};               \
		return run_move(&m);                                           \
	}

MOVE(t_get, "get", b_get, a_get, USER)
MOVE(t_mget, "mget", b_mget, a_get, USER)
MOVE(t_meta_get, "meta get", b_meta_get, a_get, USER)
MOVE(t_set, "set", b_set, a_get, USER)
MOVE(t_replace, "replace", b_replace, a_replace, USER)
MOVE(t_append, "append", b_append, a_append, USER)
MOVE(t_cas, "cas with A's unique", b_cas, a_cas, USER)
MOVE(t_delete, "delete", b_delete, a_delete, USER)
MOVE(t_meta_delete, "meta delete", b_meta_delete, a_meta_delete, USER)
MOVE(t_touch, "touch -1", b_touch, a_touch, USER)
MOVE(t_incr, "incr", b_incr, a_incr, USER)
MOVE(t_flush, "flush_all", b_flush, a_flush, USER)
MOVE(t_evict, "fill the store", b_evict, a_evict, USER)
MOVE(t_stats, "stats and tenant list", b_stats, a_stats, USER)
MOVE(t_as, "act as A", b_as_a, NULL, PROXY)
MOVE(t_proxy, "make itself a proxy", b_proxy_self, NULL, PROXY)
MOVE(t_flush_store, "flush the whole store", b_flush_store, NULL, OWNER)
MOVE(t_classes, "class stats and check", b_classes, a_classes, USER)

int main(void)
{
	shared_cas = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_cas == MAP_FAILED)
		return 1;
	atk_init();
	atk_run("tenant.read_get", "NOT_FOUND", t_get, NULL);
	atk_run("tenant.read_mget", "NOT_FOUND", t_mget, NULL);
	atk_run("tenant.read_meta", "EN", t_meta_get, NULL);
	atk_run("tenant.overwrite_set", "A's value kept", t_set, NULL);
	atk_run("tenant.overwrite_replace", "NOT_STORED", t_replace, NULL);
	atk_run("tenant.overwrite_append", "NOT_STORED", t_append, NULL);
	atk_run("tenant.overwrite_cas", "NOT_FOUND", t_cas, NULL);
	atk_run("tenant.delete", "NOT_FOUND", t_delete, NULL);
	atk_run("tenant.delete_meta", "NF", t_meta_delete, NULL);
	atk_run("tenant.touch_expire", "NOT_FOUND", t_touch, NULL);
	atk_run("tenant.incr", "NOT_FOUND", t_incr, NULL);
	atk_run("tenant.flush_all", "A's keys kept", t_flush, NULL);
	atk_run("tenant.evict_fill", "A's keys kept", t_evict, NULL);
	atk_run("tenant.enumerate_stats", "own counts only", t_stats, NULL);
	atk_run("tenant.as_other", "PERM", t_as, NULL);
	atk_run("tenant.proxy_self", "PERM", t_proxy, NULL);
	atk_run("tenant.flush_store", "PERM", t_flush_store, NULL);
	atk_run("tenant.class_counts", "geometry only, check PERM", t_classes,
		NULL);
	atk_run("tenant.pin_pages", "A keeps 1100 of 1100", t_pin, NULL);
	atk_run("tenant.root_as_tenant", "PERM", t_root_as, NULL);
	plmc_destroy(TEN, 1, PLMC_USE_KMOD);
	return vm_done();
}
