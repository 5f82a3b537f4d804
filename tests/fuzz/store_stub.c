// SPDX-License-Identifier: MIT
/*
 * store_stub.c - a tiny heap-backed stand-in for the store, for fuzzing
 * plmcd's parser under ASan.
 *
 * ASan's shadow memory covers plmc's fixed address, so the real store
 * cannot be attached in an ASan build; the store itself is proven by the
 * unit and differential tests. Here every value lives in its own malloc
 * block, so any overread or overwrite by the parser is caught. Semantics
 * are simplified (no expiry), enough to drive every reply path.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plmc.h"
#include "plmc/layout.h" /* PLMC_ITEM_HDR */

#define NSLOT 64

static struct ent {
	char key[PLMC_KEY_MAX + 1];
	size_t klen, vlen;
	char *val;
	uint32_t flags;
	uint64_t cas;
} tab[NSLOT];
static uint64_t next_cas = 1;

static struct ent *find(const void *k, size_t kl, int create)
{
	struct ent *free_e = NULL;

	if (!kl || kl > PLMC_KEY_MAX)
		return NULL;
	for (int i = 0; i < NSLOT; i++) {
		if (tab[i].val && tab[i].klen == kl &&
		    !memcmp(tab[i].key, k, kl))
			return &tab[i];
		if (!tab[i].val && !free_e)
			free_e = &tab[i];
	}
	if (!create)
		return NULL;
	if (!free_e)
		free_e = &tab[((const unsigned char *)k)[0] % NSLOT];
	free(free_e->val);
	free_e->val = NULL;
	memcpy(free_e->key, k, kl);
	free_e->klen = kl;
	return free_e;
}

static int put(struct ent *e, const void *v, size_t vl, uint32_t fl)
{
	char *p = malloc(vl ? vl : 1);

	if (!p)
		return PLMC_E_NOMEM;
	memcpy(p, v, vl);
	free(e->val);
	e->val = p;
	e->vlen = vl;
	e->flags = fl;
	e->cas = next_cas++;
	return PLMC_STORED;
}

int plmc_set(const void *k, size_t kl, const void *v, size_t vl, uint32_t fl,
	     int32_t exp)
{
	struct ent *e = find(k, kl, 1);

	(void)exp;
	if (vl > PLMC_ITEM_MAX)
		return PLMC_E_TOOBIG;
	return e ? put(e, v, vl, fl) : PLMC_E_KEY;
}

int plmc_add(const void *k, size_t kl, const void *v, size_t vl, uint32_t fl,
	     int32_t exp)
{
	return find(k, kl, 0) ? PLMC_NOT_STORED
			      : plmc_set(k, kl, v, vl, fl, exp);
}

int plmc_replace(const void *k, size_t kl, const void *v, size_t vl,
		 uint32_t fl, int32_t exp)
{
	return find(k, kl, 0) ? plmc_set(k, kl, v, vl, fl, exp)
			      : PLMC_NOT_STORED;
}

static int join(const void *k, size_t kl, const void *v, size_t vl, int front)
{
	struct ent *e = find(k, kl, 0);
	char *p;
	int rc;

	if (!e)
		return PLMC_NOT_STORED;
	p = malloc(e->vlen + vl + 1);
	if (!p)
		return PLMC_E_NOMEM;
	memcpy(p + (front ? vl : 0), e->val, e->vlen);
	memcpy(p + (front ? 0 : e->vlen), v, vl);
	rc = put(e, p, e->vlen + vl, e->flags);
	free(p);
	return rc;
}

int plmc_append(const void *k, size_t kl, const void *v, size_t vl)
{
	return join(k, kl, v, vl, 0);
}

int plmc_prepend(const void *k, size_t kl, const void *v, size_t vl)
{
	return join(k, kl, v, vl, 1);
}

int plmc_cas(const void *k, size_t kl, const void *v, size_t vl, uint32_t fl,
	     int32_t exp, uint64_t cas)
{
	struct ent *e = find(k, kl, 0);

	(void)exp;
	if (!e)
		return PLMC_NOT_FOUND;
	return e->cas == cas ? put(e, v, vl, fl) : PLMC_EXISTS;
}

int plmc_get(const void *k, size_t kl, void *buf, size_t buflen,
	     size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	struct ent *e = find(k, kl, 0);

	if (!e)
		return PLMC_NOT_FOUND;
	*vlen = e->vlen;
	*flags = e->flags;
	*cas = e->cas;
	if (e->vlen > buflen)
		return PLMC_E_SMALLBUF;
	memcpy(buf, e->val, e->vlen);
	return PLMC_OK;
}

int plmc_gat(const void *k, size_t kl, int32_t exp, void *buf, size_t buflen,
	     size_t *vlen, uint32_t *flags, uint64_t *cas)
{
	(void)exp;
	return plmc_get(k, kl, buf, buflen, vlen, flags, cas);
}

int plmc_touch(const void *k, size_t kl, int32_t exp)
{
	(void)exp;
	return find(k, kl, 0) ? PLMC_TOUCHED : PLMC_NOT_FOUND;
}

int plmc_delete(const void *k, size_t kl)
{
	struct ent *e = find(k, kl, 0);

	if (!e)
		return PLMC_NOT_FOUND;
	free(e->val);
	e->val = NULL;
	return PLMC_DELETED;
}

static int arith(const void *k, size_t kl, uint64_t d, uint64_t *out, int inc)
{
	struct ent *e = find(k, kl, 0);
	char num[24];
	uint64_t v = 0;
	int n;

	if (!e)
		return PLMC_NOT_FOUND;
	for (size_t i = 0; i < e->vlen; i++) {
		if (e->val[i] < '0' || e->val[i] > '9' || i > 19)
			return PLMC_E_NONNUMERIC;
		v = v * 10 + (uint64_t)(e->val[i] - '0');
	}
	v = inc ? v + d : (v > d ? v - d : 0);
	*out = v;
	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	put(e, num, (size_t)n, e->flags);
	return PLMC_OK;
}

int plmc_incr(const void *k, size_t kl, uint64_t d, uint64_t *v)
{
	return arith(k, kl, d, v, 1);
}

int plmc_decr(const void *k, size_t kl, uint64_t d, uint64_t *v)
{
	return arith(k, kl, d, v, 0);
}

int plmc_flush_all(int32_t delay)
{
	(void)delay;
	for (int i = 0; i < NSLOT; i++) {
		free(tab[i].val);
		tab[i].val = NULL;
	}
	return PLMC_OK;
}

int plmc_stats(struct plmc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return PLMC_OK;
}

const char *plmc_backend(void)
{
	return "stub";
}

uint64_t plmc_store_size(void)
{
	return 64ULL << 20;
}

const char *plmc_strerror(int rc)
{
	(void)rc;
	return "stub error";
}

int plmc_mget(struct plmc_mget *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t vlen = 0;

		m[i].rc = plmc_get(m[i].key, m[i].klen, m[i].buf, m[i].buflen,
				   &vlen, &m[i].flags, &m[i].cas);
		m[i].vlen = vlen;
	}
	return PLMC_OK;
}

/*
 * Meta commands: the same table, the request's fields checked as the
 * store checks them (a stray field is a parser bug: abort), results
 * varied with the key so every reply path runs.
 */
int plmc_meta(const void *k, size_t kl, struct plmc_meta *m, const void *val,
	      size_t vlen, void *buf, size_t buflen)
{
	struct ent *e;
	uint64_t v = 0;
	int rc;

	if (!m || m->mflags & ~PLMC_MF_ALL || m->cmd < PLMC_META_GET ||
	    m->cmd > PLMC_META_DEBUG || (vlen && m->cmd != PLMC_META_SET) ||
	    (buflen && m->cmd != PLMC_META_GET) ||
	    (!(m->mflags & PLMC_MF_TTL) && m->ttl) ||
	    (!(m->mflags & PLMC_MF_CAS) && m->cas_in))
		abort();
	if (!kl || kl > PLMC_KEY_MAX)
		return PLMC_E_KEY;
	m->rbits = (uint32_t)(kl * 7) & (PLMC_MR_FETCHED | PLMC_MR_STALE |
					 PLMC_MR_TOKEN | PLMC_MR_BINKEY);
	m->ttl_left = kl % 3 ? -1 : (int64_t)kl;
	m->ttl_set = m->ttl_viv = (int64_t)kl - 3;
	switch (m->cmd) {
	case PLMC_META_SET:
		if (m->mode == PLMC_MS_APPEND || m->mode == PLMC_MS_PREPEND)
			rc = join(k, kl, val, vlen, m->mode == PLMC_MS_PREPEND);
		else if (m->mflags & PLMC_MF_CAS)
			rc = plmc_cas(k, kl, val, vlen, m->cflags, 0,
				      m->cas_in);
		else if (m->mode == PLMC_MS_ADD)
			rc = plmc_add(k, kl, val, vlen, m->cflags, 0);
		else if (m->mode == PLMC_MS_REPLACE)
			rc = plmc_replace(k, kl, val, vlen, m->cflags, 0);
		else
			rc = plmc_set(k, kl, val, vlen, m->cflags, 0);
		e = find(k, kl, 0);
		m->cas = e ? e->cas : 0;
		return rc;
	case PLMC_META_DELETE:
		if (m->mflags & PLMC_MF_STALE)
			return find(k, kl, 0) ? PLMC_DELETED : PLMC_NOT_FOUND;
		return plmc_delete(k, kl);
	case PLMC_META_ARITH:
		rc = arith(k, kl, m->delta, &v, m->mode == PLMC_MA_INCR);
		if (rc == PLMC_NOT_FOUND && (m->mflags & PLMC_MF_VIVIFY)) {
			char num[24];
			int n = snprintf(num, sizeof(num), "%llu",
					 (unsigned long long)m->initial);

			plmc_set(k, kl, num, (size_t)n, 0, 0);
			m->rbits |= PLMC_MR_CREATED;
			v = m->initial;
			rc = PLMC_OK;
		}
		m->number = v;
		if ((e = find(k, kl, 0)))
			m->cas = e->cas;
		return rc;
	}
	e = find(k, kl, 0);
	if (!e && m->cmd == PLMC_META_GET && (m->mflags & PLMC_MF_VIVIFY)) {
		plmc_set(k, kl, "", 0, 0, 0);
		e = find(k, kl, 0);
		m->rbits = PLMC_MR_CREATED | PLMC_MR_WON;
	}
	if (!e)
		return PLMC_NOT_FOUND;
	m->vlen = e->vlen;
	m->flags = e->flags;
	m->cas = e->cas;
	m->size = PLMC_ITEM_HDR + kl + e->vlen;
	m->cls = (uint32_t)(e->vlen / 64);
	m->la = (uint32_t)kl;
	if (m->cmd == PLMC_META_GET && (m->mflags & PLMC_MF_VALUE)) {
		if (e->vlen > buflen)
			return PLMC_E_SMALLBUF;
		memcpy(buf, e->val, e->vlen);
	}
	if (m->cmd == PLMC_META_GET && (m->mflags & PLMC_MF_RECACHE) &&
	    kl % 2)
		m->rbits |= PLMC_MR_WON;
	return PLMC_OK;
}

/* stats slabs/items/sizes and stats reset: one class with the table's
 * items, so the per-class lines are printed too. */
int plmc_class_stats(struct plmc_class_stats *out, size_t n, size_t *count)
{
	size_t items = 0;

	for (int i = 0; i < NSLOT; i++)
		items += tab[i].val != NULL;
	*count = 0;
	if (!n)
		return PLMC_OK;
	memset(out, 0, sizeof(*out));
	out->id = 1;
	out->chunk_size = 96;
	out->number = items;
	out->used_chunks = items;
	*count = 1;
	return PLMC_OK;
}

int plmc_stats_reset(void)
{
	return PLMC_OK;
}

/* plmcd's operator commands (admin.c): the store's clock and slab moves;
 * the stub's items never expire and it has no pages to move. */
int plmc_clock_advance(int64_t seconds)
{
	(void)seconds;
	return PLMC_OK;
}

int plmc_slabs_reassign(int src, int dst)
{
	(void)src;
	(void)dst;
	return -EOPNOTSUPP;
}

int plmc_slabs_automove(int mode)
{
	(void)mode;
	return -EOPNOTSUPP;
}

int plmc_slabs_maintain(unsigned max)
{
	return max < 1 || max > 64 ? PLMC_E_INVAL : 0;
}

/* The stub evicts nothing: an empty log. */
int plmc_evictions(uint64_t cursor, unsigned keep, struct plmc_evlog *log)
{
	if (!log || keep > 3600)
		return PLMC_E_INVAL;
	memset(log, 0, offsetof(struct plmc_evlog, ent));
	log->next = cursor ? cursor : 1;
	return PLMC_OK;
}

/* Two steps of half the slots each, so the callers' loops run; class 1. */
int plmc_walk(uint64_t cursor, uint64_t after, int cls, int reclaim,
	      struct plmc_walk *w)
{
	(void)reclaim;
	(void)after;
	if (!w || cursor > NSLOT || cls < 0)
		return PLMC_E_INVAL;
	memset(w, 0, offsetof(struct plmc_walk, ent));
	for (uint64_t i = cursor; i < NSLOT && i < cursor + NSLOT / 2; i++) {
		struct plmc_walk_item *e = &w->ent[w->n];

		if (!tab[i].val || (cls && cls != 1))
			continue;
		memset(e, 0, sizeof(*e));
		memcpy(e->key, tab[i].key, tab[i].klen);
		e->klen = (uint8_t)tab[i].klen;
		e->vlen = (uint32_t)tab[i].vlen;
		e->cas = tab[i].cas;
		e->flags = tab[i].flags;
		e->cls = 1;
		e->size = (uint32_t)(PLMC_ITEM_HDR + tab[i].klen + tab[i].vlen);
		w->n++;
	}
	w->next = cursor + NSLOT / 2 < NSLOT ? cursor + NSLOT / 2 : NSLOT;
	w->done = w->next == NSLOT;
	return PLMC_OK;
}

/* No tenants in the stub store: plmcd's own key space only. */
int plmc_as_tenant(uint32_t id)
{
	return id == PLMC_TENANT_SELF ? PLMC_OK : PLMC_E_INVAL;
}

int plmc_tenant_list(struct plmc_tenant *out, size_t n, size_t *count)
{
	(void)out;
	(void)n;
	*count = 0;
	return PLMC_OK;
}
