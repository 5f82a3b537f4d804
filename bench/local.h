/* SPDX-License-Identifier: MIT */
/*
 * bench/local.h - the in-process contenders of plbench, beside plmc.
 *
 * bare: the limit. A chained hash table in the process's own heap, a
 * word-wide unkeyed hash, 256 striped spinlocks (one lock word taken and
 * released per operation, so threads are safe), memcpy in and out. No
 * protection, no sharing between processes, no expiry, no eviction, no
 * statistics: what a get costs when it only has to find and copy.
 *
 * lmdb: what a local user would pick instead (Debian's liblmdb). One
 * environment per process on a directory, no sync (like memcached: no
 * durability), a write map; a get renews a per-thread read transaction
 * (MDB_NOTLS), looks up and copies the value out; a set is one write
 * transaction (begin, put, commit).
 *
 * Both keep the client side identical to plmc's: the same keys, value
 * sizes and buffers (plbench.c's do_get/do_set).
 */
#ifndef BENCH_LOCAL_H
#define BENCH_LOCAL_H

#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- bare ---- */

struct bare_ent {
	struct bare_ent *next;
	uint64_t h;
	uint32_t klen, vlen;
	char data[]; /* key, then value */
};

#define BARE_STRIPES 256

static struct {
	struct bare_ent **b;
	uint64_t mask;
	atomic_flag lock[BARE_STRIPES];
} bare;

static inline uint64_t bare_hash(const char *k, size_t n)
{
	uint64_t h = n * 0x9E3779B97F4A7C15ull, w;

	for (; n >= 8; n -= 8, k += 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, k, n);
	h = (h ^ w) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 32);
}

static int bare_open(uint64_t keys)
{
	uint64_t n = 1024;

	while (n < 2 * keys)
		n <<= 1;
	bare.b = calloc(n, sizeof(*bare.b));
	bare.mask = n - 1;
	for (int i = 0; i < BARE_STRIPES; i++)
		atomic_flag_clear(&bare.lock[i]);
	return bare.b ? 0 : -ENOMEM;
}

static inline void bare_lock(uint64_t h)
{
	while (atomic_flag_test_and_set_explicit(&bare.lock[h % BARE_STRIPES],
						 memory_order_acquire))
		__builtin_ia32_pause();
}

static inline void bare_unlock(uint64_t h)
{
	atomic_flag_clear_explicit(&bare.lock[h % BARE_STRIPES],
				   memory_order_release);
}

/* Return 1 on hit (value copied if it fits), 0 on miss. */
static int bare_get(const char *k, size_t klen, char *buf, size_t bufsz)
{
	uint64_t h = bare_hash(k, klen);
	struct bare_ent *e;
	int hit = 0;

	bare_lock(h);
	for (e = bare.b[h & bare.mask]; e; e = e->next)
		if (e->h == h && e->klen == klen && !memcmp(e->data, k, klen)) {
			if (e->vlen <= bufsz)
				memcpy(buf, e->data + klen, e->vlen);
			hit = 1;
			break;
		}
	bare_unlock(h);
	return hit;
}

static int bare_set(const char *k, size_t klen, const char *v, size_t vlen)
{
	uint64_t h = bare_hash(k, klen);
	struct bare_ent *n = malloc(sizeof(*n) + klen + vlen), **p, *old = 0;

	if (!n)
		return -1;
	n->h = h;
	n->klen = (uint32_t)klen;
	n->vlen = (uint32_t)vlen;
	memcpy(n->data, k, klen);
	memcpy(n->data + klen, v, vlen);
	bare_lock(h);
	for (p = &bare.b[h & bare.mask]; *p; p = &(*p)->next)
		if ((*p)->h == h && (*p)->klen == klen &&
		    !memcmp((*p)->data, k, klen))
			break;
	old = *p;
	n->next = old ? old->next : 0;
	*p = n;
	bare_unlock(h);
	free(old);
	return 0;
}

/* ---- lmdb ---- */

static MDB_env *lm_env;
static MDB_dbi lm_dbi;
static __thread MDB_txn *lm_rtxn;

static int lmdb_open(const char *dir)
{
	MDB_txn *t;
	int rc;

	mkdir(dir, 0700);
	rc = mdb_env_create(&lm_env);
	if (!rc)
		rc = mdb_env_set_mapsize(lm_env, 1ull << 30);
	if (!rc)
		rc = mdb_env_set_maxreaders(lm_env, 512);
	if (!rc)
		rc = mdb_env_open(lm_env, dir,
				  MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP |
					  MDB_NOTLS | MDB_NORDAHEAD,
				  0600);
	if (!rc)
		rc = mdb_txn_begin(lm_env, NULL, 0, &t);
	if (!rc) {
		rc = mdb_dbi_open(t, NULL, 0, &lm_dbi);
		rc = rc ? rc : mdb_txn_commit(t);
	}
	return rc ? -EIO : 0;
}

static int lmdb_get(const char *k, size_t klen, char *buf, size_t bufsz)
{
	MDB_val key = {klen, (void *)k}, val;
	int rc;

	rc = lm_rtxn ? mdb_txn_renew(lm_rtxn)
		     : mdb_txn_begin(lm_env, NULL, MDB_RDONLY, &lm_rtxn);
	if (rc)
		return -1;
	rc = mdb_get(lm_rtxn, lm_dbi, &key, &val);
	if (!rc && val.mv_size <= bufsz)
		memcpy(buf, val.mv_data, val.mv_size);
	mdb_txn_reset(lm_rtxn);
	return rc == MDB_NOTFOUND ? 0 : rc ? -1 : 1;
}

static int lmdb_set(const char *k, size_t klen, const char *v, size_t vlen)
{
	MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
	MDB_txn *t;
	int rc = mdb_txn_begin(lm_env, NULL, 0, &t);

	if (rc)
		return -1;
	rc = mdb_put(t, lm_dbi, &key, &val, 0);
	if (rc) {
		mdb_txn_abort(t);
		return -1;
	}
	return mdb_txn_commit(t) ? -1 : 0;
}

#endif /* BENCH_LOCAL_H */
