/* SPDX-License-Identifier: MIT */
/*
 * atk_race - attack 6 (the rest of it): client memory the library works
 * on, changed or unmapped by another thread during the call.
 *
 *  - key bytes flipped between valid and invalid (space, control, DEL,
 *    NUL) while set/get/mget/cas/add/append use them; value bytes flipped
 *    while set copies them;
 *  - the request itself (struct plmc_req, and mget's entry array) flipped
 *    field by field while the gate reads it: lengths between good, zero,
 *    over the limit and huge, pointers between a client buffer, the store,
 *    the image and the kernel half;
 *  - each buffer of every API entry that takes one (key, value, get
 *    destination, response, mget array, stats, check, version, incr's
 *    result) unmapped and mapped again by another thread during the calls.
 * Expected: every call answers (any code) or the client dies alone; then
 * plmc_check finds the store sound (every item's key valid, chains and
 * accounting exact), no item holds bytes read from the store or image,
 * and the store's header is untouched (a fresh client attaches and reads
 * the seeded keys, as after every attack).
 */
#include "attacks.h"
#include <pthread.h>

#define RACE_CALLS 1500
#define RACE_APIS 12 /* unmap_call()'s cases */

typedef long (*gate_fn)(uint64_t op, const struct plmc_req *req, uint64_t slot);

static volatile int racing;
/* Each longer than any length the flipper offers that a call could act
 * on (4096 bytes; 100 mget entries): a call given any of them reads and
 * writes the client's own memory, never past it. */
static volatile char kbuf[8192] __attribute__((aligned(64)));
static volatile char vbuf[8192] __attribute__((aligned(64)));

/* The store after a race: sound, and no item made of protected bytes. */
static int race_verdict(const char *what, int ncalls, int nok)
{
	static char buf[12288];
	struct plmc_check ck;
	size_t vlen;
	int rc, i;

	memset(&ck, 0, sizeof(ck));
	ck.size = sizeof(ck);
	rc = plmc_check(&ck);
	if (rc != PLMC_OK)
		return VM_FAIL("plmc_check: %s", plmc_strerror(rc));
	if (ck.errors)
		return VM_FAIL("after %s: check found %llu errors: %s", what,
			       (unsigned long long)ck.errors, ck.msg);
	/* A value copied from the store header or the image would start
	 * with their magic. Look at every key the race could have stored. */
	for (i = 0; i < 26; i++) {
		char k[16];

		snprintf(k, sizeof(k), "race-key-%c", 'a' + i);
		rc = plmc_get(k, strlen(k), buf, sizeof(buf), &vlen, NULL,
			      NULL);
		if (rc == PLMC_OK && vlen >= 8 &&
		    (!memcmp(buf, "PMCSTOR1", 8) ||
		     !memcmp(buf, "PLMCIMG1", 8)))
			return VM_FAIL("%s stored protected bytes", k);
	}
	return ATK_REFUSED("%d calls (%d ok) during %s; check: %llu items, "
			   "0 errors",
			   ncalls, nok, what, (unsigned long long)ck.items);
}

/* ---- key and value bytes flipped under the API ---- */

static void *key_flipper(void *arg)
{
	static const char bad[] = {' ', '\n', 0x7f, 0, 1, '\r', '\t', 0x20};
	unsigned n = 0, j;

	(void)arg;
	while (racing) {
		for (j = 0; j < 10; j++)
			kbuf[j] = "race-key-a"[j];
		kbuf[9] = (char)('a' + n % 26);
		if (n & 1)
			kbuf[n % 10] = bad[(n >> 1) % sizeof(bad)];
		n++;
	}
	return NULL;
}

static void *value_flipper(void *arg)
{
	unsigned n = 0;

	(void)arg;
	while (racing) {
		vbuf[n % sizeof(vbuf)] = (char)n;
		vbuf[(n * 31) % sizeof(vbuf)] = (char)(n >> 3);
		n++;
	}
	return NULL;
}

static int key_flip_race(int *nokp)
{
	pthread_t kt, vt;
	struct plmc_mget m[8];
	char out[600];
	size_t vlen;
	uint64_t cas;
	int i, j, rc, nok = 0;

	if (vm_attach(ATK_STORE) || plmc_nop())
		return VM_FAIL("attach");
	memset((void *)vbuf, 'v', sizeof(vbuf));
	racing = 1;
	pthread_create(&kt, NULL, key_flipper, NULL);
	pthread_create(&vt, NULL, value_flipper, NULL);
	for (i = 0; i < RACE_CALLS; i++) {
		const void *k = (const void *)kbuf;
		const void *v = (const void *)vbuf;

		switch (i % 6) {
		case 0:
			rc = plmc_set(k, 10, v, 512, 0, 0);
			break;
		case 1:
			rc = plmc_get(k, 10, out, sizeof(out), &vlen, NULL,
				      &cas);
			break;
		case 2:
			for (j = 0; j < 8; j++) {
				m[j].key = k;
				m[j].klen = 10;
				m[j].buf = out;
				m[j].buflen = sizeof(out);
			}
			rc = plmc_mget(m, 8);
			break;
		case 3:
			rc = plmc_cas(k, 10, v, 64, 0, 0, cas);
			break;
		case 4:
			rc = plmc_add(k, 10, v, 32, 0, 0);
			break;
		default:
			rc = plmc_append(k, 10, v, 16);
			break;
		}
		nok += rc >= 0;
	}
	racing = 0;
	pthread_join(kt, NULL);
	pthread_join(vt, NULL);
	*nokp = nok;
	return 0;
}

/* ---- the request and the mget array flipped under the gate ---- */

static struct plmc_req rq __attribute__((aligned(64)));
static struct plmc_mget_ent ents[PLMC_MGET_MAX] __attribute__((aligned(64)));
static char obuf[8192];
static struct plmc_resp oresp;

/* The request a well-behaved client would send for @op. */
static volatile uint64_t cur_op;

static void req_good(uint64_t op, struct plmc_req *r)
{
	memset(r, 0, sizeof(*r));
	r->key = (uint64_t)(uintptr_t)kbuf;
	r->klen = 10;
	switch (op) {
	case PLMC_OP_GET:
		r->buf = (uint64_t)(uintptr_t)obuf;
		r->buflen = sizeof(obuf);
		r->out = (uint64_t)(uintptr_t)&oresp;
		break;
	case PLMC_OP_MGET:
		r->key = 0;
		r->klen = 0;
		r->out = (uint64_t)(uintptr_t)ents;
		r->buflen = 4;
		break;
	default: /* SET, CAS, REPLACE, ADD */
		r->val = (uint64_t)(uintptr_t)vbuf;
		r->vlen = 64;
		break;
	}
}

/* Each field: the good value 3 times in 4, else a hostile one. */
static void *req_flipper(void *arg)
{
	const uint64_t ptrs[] = {
		(uint64_t)(uintptr_t)kbuf, PLMC_STORE_ADDR,	  PLMC_BASE,
		PLMC_STACKS_ADDR,	   0xffff880000000000ULL, 0,
		PLMC_BASE + PLMC_SPAN - 4};
	/* No length a client could legally use up the store with: pages
	 * do not move between size classes, so megabyte items would starve
	 * the small class the next attack writes to. */
	const uint64_t lens[] = {10, 0, 251, 4096, 1ULL << 40, ~0ULL, 300, 9};
	volatile struct plmc_req *r = &rq;
	volatile struct plmc_mget_ent *e = ents;
	struct plmc_req g;
	unsigned n = 0;

	(void)arg;
	while (racing) {
		unsigned a = n % 7, b = (n / 7) % 8;
		uint64_t x = (uint64_t)n * 0x9e3779b97f4a7c15ULL;

		req_good(cur_op, &g);
		r->klen = x & 3 ? g.klen : (uint32_t)lens[b];
		r->key = x & 0xc ? g.key : ptrs[a];
		r->vlen = x & 0x30 ? g.vlen : lens[(b + 1) % 8];
		r->val = x & 0xc0 ? g.val : ptrs[(a + 1) % 7];
		r->buf = x & 0x300 ? g.buf : ptrs[(a + 2) % 7];
		r->buflen = x & 0xc00 ? g.buflen : lens[(b + 3) % 8];
		r->out = x & 0x3000 ? g.out : ptrs[(a + 4) % 7];
		e[n % 4].key = x & 0xc000 ? (uint64_t)(uintptr_t)kbuf : ptrs[a];
		e[n % 4].klen = x & 0x30000 ? 10 : (uint32_t)lens[b];
		e[n % 4].buf = x & 0xc0000 ? (uint64_t)(uintptr_t)obuf
					   : ptrs[(a + 3) % 7];
		e[n % 4].buflen = x & 0x300000 ? sizeof(obuf) : lens[b];
		n++;
	}
	return NULL;
}

/* Our slot index: the first one the gate runs a NOP on. */
static int raw_slot(gate_fn g)
{
	struct plmc_req z;
	int i;

	memset(&z, 0, sizeof(z));
	for (i = 0; i < PLMC_MAX_SLOTS; i++)
		if (g(PLMC_OP_NOP, &z, (uint64_t)i) == PLMC_OK)
			return i;
	return -1;
}

static int req_flip_race(int *nokp)
{
	/* No APPEND: values would grow past the 8 KiB buffers a get with
	 * a huge buflen copies into (the client's own fault, not a hole). */
	static const uint64_t ops[] = {PLMC_OP_SET,	PLMC_OP_GET,
				       PLMC_OP_MGET,	PLMC_OP_CAS,
				       PLMC_OP_REPLACE, PLMC_OP_ADD};
	struct plmc_image_hdr h;
	pthread_t t;
	gate_fn g;
	int i, slot, nok = 0;
	long rc;

	if (vm_image_hdr(&h) || vm_attach(ATK_STORE))
		return VM_FAIL("attach");
	g = (gate_fn)(uintptr_t)(PLMC_BASE + h.entry_pku);
	slot = raw_slot(g);
	if (slot < 0)
		return VM_FAIL("no slot");
	memcpy((void *)kbuf, "race-key-r", 10);
	memset((void *)vbuf, 'w', sizeof(vbuf));
	racing = 1;
	pthread_create(&t, NULL, req_flipper, NULL);
	for (i = 0; i < RACE_CALLS; i++) {
		uint64_t op = ops[i % 6];

		/* Even calls: a clean request the flipper races to spoil
		 * while the gate copies it; odd ones: whatever it holds. */
		cur_op = op;
		if (!(i & 1))
			req_good(op, &rq);
		rc = g(op, &rq, (uint64_t)slot);
		nok += rc >= 0;
	}
	racing = 0;
	pthread_join(t, NULL);
	*nokp = nok;
	return 0;
}

/*
 * Run @race in a process of its own: a pointer torn between two values
 * by the flipper (the gate copies the request byte by byte) may name
 * unmapped client memory, and the library's fault there kills the racer
 * (its own doing). Then, from here, the store's verdict.
 */
static int in_racer(int (*race)(int *), const char *what)
{
	volatile int *nok = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char desc[96];
	pid_t pid;
	int st, n;

	if (nok == MAP_FAILED)
		return -1;
	*nok = -1;
	pid = fork();
	if (pid == 0) {
		int k = 0, rc;

		signal(SIGSEGV, SIG_DFL);
		rc = race(&k);
		*nok = k;
		_exit(rc ? 1 : 0);
	}
	st = vm_reap(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st))
		return VM_FAIL("racer setup failed: %s", vm_sh->why);
	n = *nok;
	if (vm_attach(ATK_STORE))
		return -1;
	if (WIFSIGNALED(st))
		snprintf(desc, sizeof(desc), "%s (the racer died of signal %d "
			 "on its own torn pointer)", what, WTERMSIG(st));
	else
		snprintf(desc, sizeof(desc), "%s", what);
	return race_verdict(desc, RACE_CALLS, n < 0 ? 0 : n);
}

static int key_flip(void)
{
	return in_racer(key_flip_race, "key and value flips");
}

static int req_flip(void)
{
	return in_racer(req_flip_race, "request field flips");
}

/* ---- every API buffer unmapped mid-call ---- */

static char *volatile ubuf;

static void *unmapper(void *arg)
{
	(void)arg;
	while (racing) {
		munmap(ubuf, 8192);
		mmap(ubuf, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		memcpy(ubuf, "race-key-u", 10);
	}
	return NULL;
}

/* Call @which API with its buffer(s) at ubuf. */
static int unmap_call(int which)
{
	char *p = ubuf;
	struct plmc_mget *m = (struct plmc_mget *)(p + 4096);
	size_t vlen;
	uint64_t v;

	switch (which) {
	case 0: /* key */
		return plmc_set(p, 10, "v", 1, 0, 0);
	case 1: /* value */
		return plmc_set("race-key-u", 10, p, 4000, 0, 0);
	case 2: /* destination */
		return plmc_get("race-key-u", 10, p, 8192, &vlen, NULL, NULL);
	case 3: /* mget entries (libpl copies them: buffers are ours) */
		m->key = "race-key-u";
		m->klen = 10;
		m->buf = p;
		m->buflen = 4096;
		return plmc_mget(m, 1);
	case 4: /* stats */
		((struct plmc_stats *)(void *)p)->size =
			sizeof(struct plmc_stats);
		return plmc_stats((struct plmc_stats *)(void *)p);
	case 5: /* check */
		((struct plmc_check *)(void *)p)->size =
			sizeof(struct plmc_check);
		return plmc_check((struct plmc_check *)(void *)p);
	case 6: /* version */
		return plmc_version(p, 64);
	case 7: /* incr result, key */
		return plmc_incr(p, 10, 1, &v);
	case 8: /* append's value */
		return plmc_append("race-key-u", 10, p, 100);
	case 9: /* gat's destination */
		return plmc_gat("race-key-u", 10, 0, p, 8192, &vlen, NULL,
				NULL);
	case 10: /* delete's key */
		return plmc_delete(p, 10);
	default: /* cas's value */
		return plmc_cas("race-key-u", 10, p, 2000, 0, 0, 1);
	}
}

static int unmap_all(void)
{
	pthread_t t;
	int i, nok = 0, nerr = 0, rc;

	if (vm_attach(ATK_STORE))
		return -1;
	plmc_set("race-key-u", 10, "1", 1, 0, 0); /* for incr; any answer */
	ubuf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ubuf == MAP_FAILED)
		return VM_FAIL("mmap");
	memcpy(ubuf, "race-key-u", 10);
	/* The client may kill itself on its own buffer: that is allowed,
	 * so each API's race runs in a child of its own. */
	for (i = 0; i < RACE_APIS; i++) {
		pid_t pid = fork();
		int st, j;

		if (pid == 0) {
			signal(SIGSEGV, SIG_DFL); /* die of it, not exit 97 */
			signal(SIGBUS, SIG_DFL);
			if (vm_attach(ATK_STORE))
				_exit(5);
			racing = 1;
			pthread_create(&t, NULL, unmapper, NULL);
			for (j = 0; j < 150; j++)
				unmap_call(i);
			racing = 0;
			pthread_join(t, NULL);
			_exit(0);
		}
		st = vm_reap(pid);
		if (WIFEXITED(st) && !WEXITSTATUS(st))
			nok++;
		else if (WIFSIGNALED(st))
			nerr++;
		else
			return VM_FAIL("API %d: child status 0x%x", i, st);
	}
	/* The fork children are detached copies: ask from here. */
	rc = race_verdict("unmaps under 12 APIs", RACE_APIS * 150, nok);
	if (!rc)
		vm_note("12 APIs x 150 calls with the buffer unmapped under "
			"them: %d children survived, %d died of their own "
			"fault; store checked sound",
			nok, nerr);
	return rc;
}

int main(void)
{
	atk_init();
	atk_run("race.key_and_value_flipped", "store sound, keys valid",
		key_flip, NULL);
	atk_run("race.request_fields_flipped", "store sound, nothing leaked",
		req_flip, NULL);
	atk_run("race.buffers_unmapped_every_api", "errors or own death",
		unmap_all, NULL);
	return vm_done();
}
