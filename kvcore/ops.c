// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/ops.c - memcached's store commands on top of hash.c's write
 * path: add/replace/cas (decided under the stripe lock on what is
 * there), append/prepend/incr/decr (read, build, then link only if the
 * item is still the one read: optimistic, retried), touch, flush_all.
 *
 * Locks: only the stripe lock, between kv_wr_begin and kv_wr_end; no
 * allocation and no client memory under it. An item built but not
 * linked was never published, so it is freed at once.
 *
 * Why pointer identity is enough for the optimistic paths: the item read
 * cannot be freed (and so reused) while this call's epoch is announced,
 * so "the link still points at it" means "nothing replaced it". It does
 * not mean "nothing changed it": a published item's expiry (touch, gat,
 * meta T) and its win mark (mg) change in place under the stripe lock.
 * So what the new item inherits from the old one (expiry, marks) is
 * copied in kv_swap, under that lock, after the identity check: a touch
 * or a win between the read and the swap is never lost.
 */
#include "kv.h"

/* Free @it, built by this call and never published (ks->chunk). */
void kv_free_own(struct kv_ctx *c, struct kv_item *it)
{
	struct kv_tx t;

	kv_tx_init(&t, c->ks);
	kv_tx_set(&t, &c->ks->chunk, 0);
	kv_free(c, it, it->cls, &t, PLMC_CRASH_FREE_TX);
}

/* Decide a store command against what the lock found. */
static long kv_put_decide(struct kv_ctx *c, u64 op, struct kv_wr *w, u64 cas)
{
	int live = kv_wr_live(w);

	switch (op) {
	case PLMC_OP_ADD:
		return live ? PLMC_NOT_STORED : PLMC_STORED;
	case PLMC_OP_REPLACE:
		return live ? PLMC_STORED : PLMC_NOT_STORED;
	case PLMC_OP_CAS:
		if (!live) {
			kv_add(&c->st->cas_misses, 1);
			return PLMC_NOT_FOUND;
		}
		if (w->old->cas != cas) {
			kv_add(&c->st->cas_badval, 1);
			kv_cls_add(w->old->cls,
				   &kv_ccmd(w->old->cls)->cas_badval, 1);
			return PLMC_EXISTS;
		}
		kv_add(&c->st->cas_hits, 1);
		kv_cls_add(w->old->cls, &kv_ccmd(w->old->cls)->cas_hits, 1);
		return PLMC_STORED;
	}
	return PLMC_STORED; /* SET */
}

/*
 * set/add/replace/cas of @it (complete but for its CAS), or of an item
 * that is already expired (@it NULL: a STORED just removes the key).
 * A dead (expired, flushed) item found is unlinked either way.
 * Return: STORED, NOT_STORED, EXISTS or NOT_FOUND.
 */
long kv_put(struct kv_ctx *c, u64 op, struct kv_item *it, const char *key,
	    u32 klen, u32 hash, u64 cas)
{
	struct kv_wr w;
	long rc;

	if (it)
		kv_crash(c, PLMC_CRASH_BUILT);
	kv_wr_begin(c, &w, key, klen, hash);
	rc = kv_put_decide(c, op, &w, cas);
	if (rc == PLMC_STORED)
		kv_wr_link(c, &w, it);
	else if (w.old && !kv_wr_live(&w))
		kv_wr_link(c, &w, 0);
	kv_wr_end(c, &w);
	if (rc != PLMC_STORED && it)
		kv_free_own(c, it);
	return rc;
}

/* Unlink @key's item if it is there but dead (lazy reclaim).
 * Return: 1 if one was unlinked. */
int kv_reap(struct kv_ctx *c, const char *key, u32 klen, u32 hash)
{
	struct kv_wr w;
	int done;

	kv_wr_begin(c, &w, key, klen, hash);
	done = w.old && !kv_wr_live(&w);
	if (done)
		kv_wr_link(c, &w, 0);
	kv_wr_end(c, &w);
	return done;
}

/*
 * Link @it in place of @old (whose key hashes to @hash) if @old is still
 * the live item there. Under
 * the stripe lock, before the link, @it takes from @old what @carry names
 * (KV_CARRY_EXP: the expiry; the low 8 bits: those iflags), as they are
 * now: touch, gat, meta's T and W change them only under this lock.
 * Return: 1 done, 0 raced (the caller retries; @it is freed), -1 the item
 * is gone (@it is freed).
 */
int kv_swap(struct kv_ctx *c, struct kv_item *old, u32 hash,
	    struct kv_item *it, u32 carry)
{
	struct kv_wr w;
	int rc = -1;

	kv_wr_begin(c, &w, old->data, old->klen, hash);
	if (w.old == old && kv_wr_live(&w)) {
		/* @it is not published yet: plain stores. */
		if (carry & KV_CARRY_EXP)
			it->exptime = __atomic_load_n(&old->exptime,
						      __ATOMIC_RELAXED);
		it->iflags |= __atomic_load_n(&old->iflags, __ATOMIC_RELAXED) &
			      (u8)carry;
		kv_wr_link(c, &w, it);
		rc = 1;
	} else if (kv_wr_live(&w)) {
		rc = 0;
	}
	kv_wr_end(c, &w);
	if (rc != 1)
		kv_free_own(c, it);
	return rc;
}

/* The live item for @key (hashing to @hash), or NULL. */
struct kv_item *kv_find_live(struct kv_ctx *c, const char *key, u32 klen,
			     u32 hash)
{
	struct kv_item *it = kv_lookup(c, key, klen, hash);

	return it && kv_item_live(c, it) ? it : 0;
}

/*
 * append/prepend @val (client memory, checked by the caller) to @key's
 * value; flags and expiry stay. The value is copied from the client
 * before any lock. @cas: nonzero, the item's CAS must be this (meta's
 * C); *@cas_out: the new item's CAS.
 * Return: STORED, NOT_STORED (no such key, or the joined item would
 * be over the max item size: memcached's answer), EXISTS, NOMEM.
 */
long kv_concat(struct kv_ctx *c, int append, const char *key, u32 klen,
	       const void *val, u64 vlen, u64 cas, u64 *cas_out)
{
	u32 hash = kv_hash(key, klen);

	for (;;) {
		struct kv_item *old = kv_find_live(c, key, klen, hash), *it;
		int err, rc;

		if (!old)
			return PLMC_NOT_STORED;
		if (cas && cas != old->cas)
			return PLMC_EXISTS;
		c->pin = old; /* eviction must not take what we copy */
		it = kv_item_copy(c, old, old->vlen + vlen, &err);
		c->pin = 0;
		if (!it)
			return err == PLMC_E_TOOBIG ? PLMC_NOT_STORED : err;
		memcpy(it->data + klen + (append ? 0 : vlen), old->data + klen,
		       old->vlen);
		memcpy(it->data + klen + (append ? old->vlen : 0), val, vlen);
		rc = kv_swap(c, old, hash, it, KV_CARRY_EXP);
		if (rc > 0)
			*cas_out = it->cas;
		if (rc)
			return rc > 0 ? PLMC_STORED : PLMC_NOT_STORED;
	}
}

static int kv_isspace(u8 ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/*
 * memcached's number rule for incr/decr (strtoull, base 10): leading
 * white space, an optional sign, at least one digit, then the end, a NUL
 * or white space; no overflow; with a '-', the negated value must not be
 * negative as a signed number ("-0" is 0, "-5" is refused).
 * Return: 0 and *out, or -1 (not a number).
 */
int kv_parse_u64(const char *s, u64 n, u64 *out)
{
	u64 i = 0, v = 0, digits = 0;
	int neg = 0;

	while (i < n && kv_isspace((u8)s[i]))
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		u64 d = (u64)(s[i] - '0');

		if (v > (~0ULL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!digits || (i < n && s[i] && !kv_isspace((u8)s[i])))
		return -1;
	if (neg)
		v = 0 - v; /* strtoull negates; memcached refuses it only when
			    * the result is negative as a signed number */
	if (neg && (s64)v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Decimal digits of @v into @buf (no NUL). Return: their count. */
u32 kv_utoa(u64 v, char *buf)
{
	char t[20];
	u32 n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = t[n - 1 - i];
	return n;
}

/* Build the item holding @v for @old: memcached rewrites in place (the
 * digits, then spaces to the old length) when the digits fit, else the
 * value is exactly the digits. *@carry: what kv_swap must take from @old
 * (an item rewritten in place keeps its marks; the expiry always). */
static struct kv_item *kv_delta_item(struct kv_ctx *c,
				     const struct kv_item *old, u64 v,
				     u32 *carry, int *err)
{
	char digits[20];
	u32 n = kv_utoa(v, digits);
	u64 len = n <= old->vlen ? old->vlen : n;
	struct kv_item *it = kv_item_copy(c, old, len, err);

	if (!it)
		return 0;
	memcpy(it->data + it->klen, digits, n);
	memset(it->data + it->klen + n, ' ', len - n);
	*carry = KV_CARRY_EXP;
	if (n <= old->vlen) {
		/* memcached rewrites this one in place: the item keeps its
		 * marks (fetched, meta's) and its times. Not published yet:
		 * plain stores; the marks are taken under the lock. */
		*carry |=
			KV_IT_FETCHED | KV_IT_STALE | KV_IT_WON | KV_IT_BINKEY;
		it->time = old->time;
		it->atime = __atomic_load_n(&old->atime, __ATOMIC_RELAXED);
	}
	return it;
}

/* incr wraps at 2^64; decr stops at 0. */
static u64 kv_apply_delta(u64 v, int incr, u64 delta)
{
	if (incr)
		return v + delta;
	return delta > v ? 0 : v - delta;
}

/* One try of kv_arith on @old. Return: as kv_arith, or 1 (raced: again). */
static long kv_arith_try(struct kv_ctx *c, struct kv_arith *a,
			 struct kv_item *old, u32 hash)
{
	struct kv_item *it;
	u32 carry;
	u64 v;
	int err, rc;

	/* memcached's add_delta order: an empty value, then C (C0 compares
	 * nothing), then the number. */
	if (!old->vlen)
		return PLMC_E_NONNUMERIC;
	if (a->cas && old->cas != a->cas)
		return PLMC_EXISTS;
	if (kv_parse_u64(old->data + old->klen, old->vlen, &v))
		return PLMC_E_NONNUMERIC;
	v = kv_apply_delta(v, a->incr, a->delta);
	c->pin = old;
	it = kv_delta_item(c, old, v, &carry, &err);
	c->pin = 0;
	if (!it)
		return err;
	/* meta's T lands on an item rewritten in place; when the number
	 * grew longer memcached replaced the item and T was lost with the
	 * old one. */
	if (a->set_exp && it->vlen == old->vlen) {
		it->exptime = a->exp;
		carry &= ~KV_CARRY_EXP;
	}
	rc = kv_swap(c, old, hash, it, carry);
	if (rc <= 0)
		return 1; /* raced, or gone: look again */
	a->value = v;
	a->old = old;
	a->it = it;
	return PLMC_OK;
}

/*
 * incr/decr (and meta's ma) of @key's decimal value: a->value gets the
 * result, a->old and a->it the items replaced and linked (readable in
 * this call's epoch). Counts a hit; the caller counts misses.
 * Return: PLMC_OK, PLMC_NOT_FOUND, PLMC_EXISTS (a->cas differs),
 * PLMC_E_NONNUMERIC, PLMC_E_NOMEM.
 */
long kv_arith(struct kv_ctx *c, const char *key, u32 klen, struct kv_arith *a)
{
	u32 hash = kv_hash(key, klen);
	long rc;

	do {
		struct kv_item *old = kv_find_live(c, key, klen, hash);

		if (!old)
			return PLMC_NOT_FOUND;
		rc = kv_arith_try(c, a, old, hash);
	} while (rc == 1);
	if (rc == PLMC_OK) {
		struct kv_ccmd *k = kv_ccmd(a->old->cls);

		kv_add(a->incr ? &c->st->incr_hits : &c->st->decr_hits, 1);
		kv_cls_add(a->old->cls, a->incr ? &k->incr_hits : &k->decr_hits,
			   1);
	}
	return rc;
}

/*
 * incr/decr @key's decimal value by @delta; *value gets the result.
 * Return: PLMC_OK, PLMC_NOT_FOUND, PLMC_E_NONNUMERIC, PLMC_E_NOMEM.
 */
long kv_delta(struct kv_ctx *c, int incr, const char *key, u32 klen, u64 delta,
	      u64 *value)
{
	struct kv_arith a = {.incr = incr, .delta = delta};
	long rc = kv_arith(c, key, klen, &a);

	if (rc == PLMC_NOT_FOUND)
		kv_add(incr ? &c->st->incr_misses : &c->st->decr_misses, 1);
	if (rc == PLMC_OK)
		*value = a.value;
	return rc;
}

/*
 * touch: set the live item's expiry to @exptime (absolute, from
 * kv_exptime). The CAS stays (memcached's touch keeps it).
 * Return: the item (still readable in this call's epoch), or NULL.
 */
struct kv_item *kv_touch(struct kv_ctx *c, const char *key, u32 klen,
			 u64 exptime)
{
	struct kv_item *it = 0;
	struct kv_wr w;

	kv_wr_begin(c, &w, key, klen, kv_hash(key, klen));
	if (kv_wr_live(&w)) {
		it = w.old;
		/* One 4-byte store: readers see the old or the new expiry. */
		__atomic_store_n(&it->exptime, (u32)exptime, __ATOMIC_RELAXED);
		kv_crash(c, PLMC_CRASH_TOUCH);
		kv_item_fetched(c, it); /* a touch is an access (memcached) */
	} else if (w.old) {
		kv_wr_link(c, &w, 0); /* lazy reclaim of a dead item */
	}
	kv_wr_end(c, &w);
	kv_add(&c->st->cmd_touch, 1);
	kv_add(it ? &c->st->touch_hits : &c->st->touch_misses, 1);
	if (it)
		kv_cls_add(it->cls, &kv_ccmd(it->cls)->touch_hits, 1);
	return it;
}

/*
 * flush_all with memcached's rule: delay <= 0 now, else at
 * kv_exptime(delay). Items linked at or before flush_time - which for an
 * immediate flush is now - 1, so a CAS mark covers this second - vanish
 * once flush_time has come. A delayed flush whose time is at most one
 * second away also takes the CAS mark, as memcached does.
 */
void kv_flush(struct kv_ctx *c, s64 delay)
{
	struct kv_area *a = kv_area();
	u64 at = delay > 0 ? kv_exptime(c, delay) : c->now;
	/* A tenant's flush is its own (tenant.c merges it with the
	 * store's when a call starts); c->tenant 0: the whole store. */
	u64 *ftime = c->tenant ? &kv_ten(c->tenant)->flush_time
			       : &a->flush_time;
	u64 *fcas = c->tenant ? &kv_ten(c->tenant)->flush_cas : &a->flush_cas;
	u64 oldest;

	if (at <= 1)
		at = c->now; /* an absolute time already past: now */
	oldest = at - 1;
	if (oldest <= c->now)
		__atomic_store_n(
			fcas,
			__atomic_add_fetch(&a->cas_seq, 1, __ATOMIC_RELAXED),
			__ATOMIC_RELAXED);
	kv_crash(c, PLMC_CRASH_FLUSH); /* flush_cas alone hides nothing */
	/* Release: pairs with kv_ctx_init()'s (a tenant's: with
	 * kv_tenant_flush_ctx()'s) acquire load of flush_time: a call that
	 * sees the flush sees its CAS mark. */
	__atomic_store_n(ftime, oldest, __ATOMIC_RELEASE);
	kv_add(&c->st->cmd_flush, 1);
	if (c->tenant)
		kv_tenant_count(c, __builtin_offsetof(struct kv_tenant,
						      cmd_flush));
}
