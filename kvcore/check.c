// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kvcore/check.c - PLMC_OP_CHECK: a structural check of a live store.
 *
 * Always (safe while other calls run: the chains are walked like a
 * reader, inside this call's epoch; free lists and page lists under
 * their class lock): every chain ends (bounded walk), every item sits on
 * a chunk boundary of its class inside the pages, has a valid key whose
 * hash picks this bucket; every page list is as long as its count; no
 * lock word names a dead slot; pages_used is in range.
 * Quiescent only (no other slot inside a call, none dead): the exact
 * accounting: per class, chunks carved == free + linked + retired +
 * held by slot records + taken back by a page move; pages_used == pages
 * of all classes + spare pages in slot records + pages moving + the
 * global pool; the per-slot items/bytes counters sum to what the
 * chains hold; no lock held; no slot record with a log, a chunk, a
 * pending item or a held lock; every retire epoch <= the global epoch.
 * Quiescence must hold for the whole check, not only at its start: each
 * slot's call counter (kv_slot.seq, bumped at every call's entry before
 * it changes anything) is read before its state at the start and again
 * after the walk; if any other slot entered a call, was in one, or is
 * dead at either end, the exact results are dropped and the check says
 * it could not do them (quiescent = 0), never a false error.
 * Nothing is changed: the check takes class locks, and that is all.
 */
#include "kv.h"

struct kv_chk {
	struct plmc_check *o;
	u64 xerrors;	/* errors of the exact (quiescent-only) part */
	char xmsg[sizeof(((struct plmc_check *)0)->msg)];
	u64 seq[PLMC_MAX_SLOTS]; /* each slot's kv_slot.seq at the start */
	u64 dead0[PLMC_MAX_SLOTS / 64]; /* slots dead at the start ... */
	int recovered; /* ... and every death then recovered (rec_gen) */
	u64 pending;   /* locks of dead slots whose recovery is pending */
	u64 bound; /* more steps than chunks exist: a cycle */
	u64 linked[KV_NCLASSES];
	u64 other[KV_NCLASSES]; /* free + retired + held */
	u64 carved[KV_NCLASSES];
	u64 moving; /* pages leaving a class (move.c) */
	u64 pool;   /* pages in the global pool */
	u64 tpages; /* pages the tables there hold (table.c) */
};

static void kv_msg(char *dst, u64 n, const char *msg)
{
	u64 i;

	for (i = 0; msg[i] && i < n - 1; i++)
		dst[i] = msg[i];
	dst[i] = 0;
}

/* A problem the check finds whatever others do. */
static void kv_bad(struct kv_chk *k, const char *msg)
{
	if (!k->o->errors)
		kv_msg(k->o->msg, sizeof(k->o->msg), msg);
	k->o->errors++;
}

/* A problem of the exact part: counted only if the store stayed quiet. */
static void kv_xbad(struct kv_chk *k, const char *msg)
{
	if (!k->xerrors)
		kv_msg(k->xmsg, sizeof(k->xmsg), msg);
	k->xerrors++;
}

/* Nonzero if @p is a chunk boundary of class @cls inside the pages. */
static int kv_chunk_ok(const struct kv_ctx *c, u64 p, int cls)
{
	u64 off;

	if (cls < 0 || cls >= KV_NCLASSES || p < c->geo->pages ||
	    p >= c->geo->pages + c->geo->npages * KV_PAGE_SIZE)
		return 0;
	off = (p - c->geo->pages) % KV_PAGE_SIZE;
	return off % kv_class_size(cls) == 0 &&
	       off + kv_class_size(cls) <= KV_PAGE_SIZE;
}

static int kv_check_item(struct kv_chk *k, struct kv_ctx *c,
			 const struct kv_item *it, u64 b, u64 mask)
{
	u32 h;

	if (!kv_chunk_ok(c, (u64)it, it->cls))
		return kv_bad(k, "item outside the pages or off its class"), 0;
	if (!it->klen ||
	    KV_ITEM_HDR + it->klen + it->vlen > kv_class_size(it->cls))
		return kv_bad(k, "item larger than its chunk"), 0;
	h = kv_hash(it->data, it->klen);
	if ((h & mask) != b)
		return kv_bad(k, "item key does not hash to its bucket"), 0;
	if (kv_it_tag(it) != h >> 24)
		return kv_bad(k, "item tag does not match its key"), 0;
	return 1;
}

/* The chains of table @v (every item once: an old table's chains end
 * before the new one's, table.c). */
static void kv_check_table(struct kv_chk *k, struct kv_ctx *c, int quiet,
			   struct kv_tview v)
{
	u64 b, steps;

	for (b = 0; b <= v.mask; b++) {
		/* Acquire (and for each next): pairs with the link's release
		 * store (kv_wr_link, tx.c), as in kv_lookup. */
		u64 p = __atomic_load_n(kv_tbucket(c, v, b), __ATOMIC_ACQUIRE);

		for (steps = 0; p; steps++) {
			const struct kv_item *it = (const struct kv_item *)p;

			if (steps > k->bound) {
				kv_bad(k, "chain does not end");
				break;
			}
			if (!kv_check_item(k, c, it, b, v.mask))
				break;
			if (quiet && !(it->iflags & KV_IT_LINKED))
				kv_xbad(k, "linked item without LINKED");
			k->linked[it->cls]++;
			k->o->items++;
			k->o->bytes += KV_ITEM_HDR + it->klen + it->vlen;
			/* Pairs with the release store of next (tx.c). */
			p = __atomic_load_n(&it->next, __ATOMIC_ACQUIRE);
		}
	}
}

/*
 * Every table readers may walk (growing: both), and the table's pages:
 * as many as the tables there hold (the current, the new or retired
 * one, the one being prepared), all inside the store.
 */
static void kv_check_chains(struct kv_chk *k, struct kv_ctx *c, int quiet)
{
	const struct kv_area *a = kv_area();
	u64 s = kv_tstate(), cur = s & KV_T_CUR, g = a->tgrace, n;
	struct kv_tview v = kv_tview(c, cur), o = kv_tview(c, !cur);

	kv_check_table(k, c, quiet, v);
	n = kv_table_pages(c, v) + a->tprep;
	if (s & KV_T_GROWING) {
		kv_check_table(k, c, quiet, o);
		n += kv_table_pages(c, o);
	} else if (g) {
		n += kv_table_pages(c, o) - a->tfree;
	}
	k->tpages = n;
	if (v.mask + 1 < PLMC_GEO_MIN_BKTS ||
	    v.mask + 1 > kv_area()->tg.maxbkt || (v.mask & (v.mask + 1)))
		kv_bad(k, "table size out of range");
}

/* Free list and page list of one class, under its lock. */
static void kv_check_class(struct kv_chk *k, struct kv_ctx *c, int cls)
{
	struct kv_class *cl = &kv_area()->cls[cls];
	u64 sz = kv_class_size(cls), n = 0, p, pg, newest;

	kv_lock(c, &cl->lock);
	for (p = cl->free; p && n <= k->bound; p = *(u64 *)p, n++)
		if (!kv_chunk_ok(c, p, cls)) {
			kv_bad(k, "free chunk outside its class");
			break;
		}
	if (n != cl->nfree)
		kv_bad(k, "free list length != nfree");
	k->other[cls] += n;
	k->o->free += n;
	n = 0;
	for (pg = cl->pages; pg && n <= c->geo->npages; n++)
		pg = c->geo->pnext[pg - 1];
	if (n != cl->npages)
		kv_bad(k, "page list length != npages");
	if (n) {
		newest = c->geo->pages + (cl->pages - 1) * KV_PAGE_SIZE;
		if (cl->carve < newest || cl->carve > newest + KV_PAGE_SIZE ||
		    cl->carve_end != newest + KV_PAGE_SIZE)
			kv_bad(k, "carve pointer off the newest page");
		else
			k->carved[cls] = (n - 1) * (KV_PAGE_SIZE / sz) +
					 (cl->carve - newest) / sz;
	}
	if (cl->mv) { /* a page leaving: its chunks, those taken back */
		if ((cl->mv & 0xffffffffULL) > c->geo->npages ||
		    cl->mv_got > (cl->mv >> 32) ||
		    (cl->mv >> 32) > KV_PAGE_SIZE / sz)
			kv_bad(k, "page move record out of range");
		k->carved[cls] += cl->mv >> 32;
		k->other[cls] += cl->mv_got;
		k->moving++;
	}
	kv_unlock(c, &cl->lock);
}

/* The global page pool, under page_lock: as long as its count. */
static void kv_check_pool(struct kv_chk *k, struct kv_ctx *c)
{
	struct kv_area *a = kv_area();
	u64 pg, n = 0;

	kv_lock(c, &a->page_lock);
	for (pg = a->pool; pg && n <= c->geo->npages; n++) {
		if (pg > c->geo->npages) {
			kv_bad(k, "pool page outside the store");
			break;
		}
		pg = c->geo->pnext[pg - 1];
	}
	if (n != a->npool)
		kv_bad(k, "pool length != npool");
	k->pool = n;
	kv_unlock(c, &a->page_lock);
}

static void kv_check_lock(struct kv_chk *k, kv_lock_t *l)
{
	u64 w = __atomic_load_n(l, __ATOMIC_RELAXED);

	if (!w)
		return;
	k->o->locks_held++;
	if (w - 1 >= PLMC_MAX_SLOTS)
		kv_bad(k, "lock word names no slot");
	else if (kv_slot_dead(kv_slot_rec(w - 1))) {
		/* A holder that died after the check began (or whose death
		 * no call had recovered yet: CHECK recovers nothing) is
		 * recovery pending, not a broken store: the next call
		 * releases the lock (recover.c). */
		if (k->recovered && (k->dead0[(w - 1) / 64] >> ((w - 1) % 64) & 1))
			kv_bad(k, "lock held by a dead slot");
		else
			k->pending++;
	}
}

static void kv_check_locks(struct kv_chk *k)
{
	struct kv_area *a = kv_area();
	int i;

	for (i = 0; i < KV_NLOCKS; i++)
		kv_check_lock(k, &a->locks[i]);
	for (i = 0; i < KV_NCLASSES; i++)
		kv_check_lock(k, &a->cls[i].lock);
	kv_check_lock(k, &a->page_lock);
	kv_check_lock(k, &a->stat_lock);
	kv_check_lock(k, &a->ten_lock);
}

/* A quiescent slot record: nothing in flight; count its list. */
static u64 kv_check_slot(struct kv_chk *k, struct kv_ctx *c, u64 i)
{
	struct kv_slot *ks = kv_slot(kv_slot_rec(i));
	u64 p, n = 0, g = kv_area()->epoch, tail = 0;

	if (ks->nlog || ks->pending || ks->held_lock ||
	    (ks->chunk && i != c->slot))
		kv_xbad(k, "idle slot record has work in flight");
	for (p = ks->rhead; p && n <= k->bound; p = tail, n++) {
		const struct kv_item *it = (const struct kv_item *)p;

		if (!kv_chunk_ok(c, p, it->cls)) {
			kv_xbad(k, "retired item outside its class");
			return n;
		}
		/* Retired after g was read: impossible here. Decidable
		 * only while g fits the 27 bits an item keeps (then they
		 * are its whole retire epoch); past that an item's bits
		 * cannot tell "newer than g" from "2^27 retirements old",
		 * which an idle slot's list may hold, and the check says
		 * nothing rather than something false. */
		if (g <= KV_RL_EPOCH_MASK && kv_rl_epoch(it->rlink) > g)
			kv_xbad(k, "retire epoch after the global epoch");
		k->other[it->cls]++;
		tail = kv_rl_next(it->rlink);
		if (!tail && ks->rtail != p)
			kv_xbad(k, "retired list tail mismatch");
	}
	if (n != ks->rcount)
		kv_xbad(k, "retired list length != rcount");
	k->o->retired += n;
	return ks->spare ? 1 : 0;
}

/*
 * Return: 1 if no other slot is inside a call and none is dead. Records
 * each slot's call counter first (@start), then reads its state: a call
 * entering after the state read bumps the counter after the counter read
 * (gate: state, then kv_dispatch's seq), so kv_check_still() sees it.
 */
static int kv_check_quiet(struct kv_chk *k, struct kv_ctx *c)
{
	u64 i, g, e;
	int quiet = 1;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);

		/* Acquire (x86: loads in order): the counter before the
		 * state; pairs with the owner's seq store in kv_dispatch,
		 * made after its gate's lock cmpxchg of state. */
		k->seq[i] = __atomic_load_n(&kv_slot(s)->seq, __ATOMIC_ACQUIRE);
		/* The global epoch read after the announcement: it was made
		 * from an epoch <= g (the epoch only grows), so an
		 * announcement past g + 1 is corrupt, not a race. */
		e = __atomic_load_n(&s->epoch, __ATOMIC_ACQUIRE);
		g = __atomic_load_n(&kv_area()->epoch, __ATOMIC_ACQUIRE);
		if (e > g + 1)
			kv_bad(k, "slot announces an epoch from the future");
		if (kv_slot_dead(s)) {
			k->o->dead_slots++;
			k->dead0[i / 64] |= 1ULL << (i % 64);
			quiet = 0;
		} else if (i != c->slot &&
			   /* Acquire: pairs with the gate's lock cmpxchg
			    * claim and its release store at exit. */
			   (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) & 1)) {
			quiet = 0;
		}
	}
	return quiet;
}

/*
 * After the walk: 1 if no other slot entered a call since kv_check_quiet
 * (counter unchanged), none is in one and none is dead. The fence orders
 * every load of the walk before these: a store of any call the walk saw
 * came after that call's seq store (kv_dispatch), so the counter read
 * here shows it.
 */
static int kv_check_still(struct kv_chk *k, struct kv_ctx *c)
{
	u64 i;

	/* Pairs with the seq store and the epoch xchg in kv_dispatch. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = kv_slot_rec(i);

		if (i == c->slot)
			continue;
		/* Acquire: pairs with the gate's claim (lock cmpxchg) and
		 * kv_dispatch's seq store, as in kv_check_quiet. */
		if (kv_slot_dead(s) ||
		    (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) & 1) ||
		    __atomic_load_n(&kv_slot(s)->seq, __ATOMIC_ACQUIRE) !=
			    k->seq[i])
			return 0;
	}
	return 1;
}

static void kv_check_exact(struct kv_chk *k, struct kv_ctx *c)
{
	u64 i, spares = 0, pages = 0;
	s64 items = 0, bytes = 0;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		spares += kv_check_slot(k, c, i);
		items += (s64)kv_area()->st[i].items;
		bytes += (s64)kv_area()->st[i].bytes;
	}
	for (i = 0; i < KV_NCLASSES; i++) {
		pages += kv_area()->cls[i].npages;
		k->o->chunks += k->carved[i];
		if (k->carved[i] != k->linked[i] + k->other[i])
			kv_xbad(k, "chunks leaked or counted twice");
	}
	if (pages + spares + k->moving + k->pool + kv_area()->tpages !=
	    kv_area()->pages_used)
		kv_xbad(k, "pages leaked: classes + spares + moving + pool + "
			   "table != pages_used");
	if (k->tpages != kv_area()->tpages)
		kv_xbad(k, "table pages != the tables' size");
	if ((u64)items != k->o->items || (u64)bytes != k->o->bytes)
		kv_xbad(k, "item/byte counters differ from the chains");
	if (k->o->locks_held)
		kv_xbad(k, "a lock is held in a quiescent store");
}

void kv_check(struct kv_ctx *c, struct plmc_check *o)
{
	struct kv_chk k;
	int i, quiet;

	memset(o, 0, sizeof(*o));
	memset(&k, 0, sizeof(k));
	k.o = o;
	k.bound = c->geo->npages * (KV_PAGE_SIZE / 64) + 1;
	/* Acquire: pairs with the backend's release of generation (as in
	 * kv_dispatch): the deaths it counts are seen by the slot loads. */
	k.recovered = __atomic_load_n(&kv_hdr()->generation, __ATOMIC_ACQUIRE) ==
		      __atomic_load_n(&kv_area()->rec_gen, __ATOMIC_ACQUIRE);
	quiet = kv_check_quiet(&k, c);
	kv_check_chains(&k, c, quiet);
	for (i = 0; i < KV_NCLASSES; i++)
		kv_check_class(&k, c, i);
	kv_check_pool(&k, c);
	kv_check_locks(&k);
	o->pages_used = kv_area()->pages_used;
	if (o->pages_used > c->geo->npages)
		kv_bad(&k, "pages_used past the end of the store");
	if (quiet) {
		/* This call's own chunk, if any, is in flight: counted. */
		if (c->ks->chunk) {
			k.other[KV_CHUNK_CLS(c->ks->chunk) % KV_NCLASSES]++;
			o->held++;
		}
		kv_check_exact(&k, c);
		quiet = kv_check_still(&k, c);
	}
	if (quiet && k.xerrors) {
		if (!o->errors)
			memcpy(o->msg, k.xmsg, sizeof(o->msg));
		o->errors += k.xerrors;
	}
	o->quiescent = (u64)quiet;
	if (!o->errors && k.pending) {
		/* Could not check those locks: say so, not ok, not failed. */
		static const char pend[] =
			"ok: recovery pending (a dead slot holds a lock)";

		memcpy(o->msg, pend, sizeof(pend));
	} else if (!o->errors) {
		static const char ok[] = "ok";

		memcpy(o->msg, ok, sizeof(ok));
	}
}
