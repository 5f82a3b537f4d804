// SPDX-License-Identifier: GPL-2.0
/*
 * segment.c - the segment registry, segment memory and the store clock.
 *
 * A segment is one vmalloc'ed data region (stacks, then the store; with a
 * NUMA policy, pages placed by it and vmap'ed) plus the checked image. The
 * kernel writes the store only through its own vmalloc view: the header
 * at create, the clock words every tick, and the death marks (slot.dead,
 * then deaths (only if a slot was still owned) and nattach, then
 * generation with release).
 *
 * Locking: plmc_reg_lock (mutex) guards plmc_segs, seg->linked and the
 * lookup-then-join step of attach, so destroy's "attached?" test and
 * attach's join cannot interleave. seg->lock guards the attach counter,
 * nattach and the death-marking sequence. Order: plmc_reg_lock, then
 * seg->lock. The clock work holds plmc_reg_lock while it writes clocks.
 *
 * Lifetime: the registry link holds one reference while the name exists;
 * each attachment holds one. Destroy (or FORCE) drops the link; the memory
 * goes with the last reference, never under a live mapping (mappings hold
 * attachments). A segment stays on plmc_segs (so its clock keeps running)
 * until it is freed, named or not.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include "plmc_kmod.h"

DEFINE_MUTEX(plmc_reg_lock);
static LIST_HEAD(plmc_segs);

static void plmc_clock_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(plmc_clock, plmc_clock_fn);

/* ~10 ms; at least one jiffy. */
static unsigned long plmc_clock_period(void)
{
	return max(msecs_to_jiffies(10), 1UL);
}

static struct plmc_slot *plmc_seg_slots(struct plmc_seg *seg)
{
	return (struct plmc_slot *)((char *)seg->hdr + PLMC_SLOTS_OFF);
}

static void plmc_seg_tick(struct plmc_seg *seg)
{
	WRITE_ONCE(seg->hdr->clock_sec, (u64)ktime_get_real_seconds());
	WRITE_ONCE(seg->hdr->clock_ns, ktime_get_ns() - seg->create_ns);
}

/* Context: workqueue. Re-arms itself while any segment exists. */
static void plmc_clock_fn(struct work_struct *work)
{
	struct plmc_seg *seg;

	mutex_lock(&plmc_reg_lock);
	list_for_each_entry(seg, &plmc_segs, node)
		plmc_seg_tick(seg);
	if (!list_empty(&plmc_segs))
		schedule_delayed_work(&plmc_clock, plmc_clock_period());
	mutex_unlock(&plmc_reg_lock);
}

static void plmc_seg_init_hdr(struct plmc_seg *seg)
{
	struct plmc_store_hdr *h = seg->hdr;

	h->magic = PLMC_STORE_MAGIC;
	h->layout = PLMC_LAYOUT_VERSION;
	h->hdr_size = sizeof(*h);
	h->store_size = seg->store_size;
	h->create_sec = (u64)ktime_get_real_seconds();
	h->clock_sec = h->create_sec;
	h->clock_ns = 0;
	memcpy(h->name, seg->name, sizeof(h->name));
	h->item_max = seg->item_max;
	h->slab_factor = seg->slab_factor;
	h->slab_min = seg->slab_min;
	/* Tenants (docs/tenants.md): the owner configures them. The init
	 * namespace's uid, as the ppage's (attach.c), so the image compares
	 * like with like. */
	h->tenants = seg->tenants;
	h->owner_uid = from_kuid_munged(&init_user_ns, seg->uid);
	/* The hash secret (layout.h): only the image reads it. */
	get_random_bytes(h->hash_key, sizeof(h->hash_key));
}

/*
 * The data pages of a placed segment: one page at a time on the node the
 * policy names, then vmap()ed into one kernel range, so everything else
 * (the header view, remap_pfn_range through vmalloc_to_pfn) is the same as
 * for a vmalloc'ed one. BIND adds __GFP_THISNODE (no other node, the
 * create fails instead); LOCAL and INTERLEAVE only prefer their node.
 * Context: process context, may sleep. Return: 0 or -ENOMEM / -EINTR.
 */
static int plmc_seg_place(struct plmc_seg *seg, u64 len)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN;
	unsigned long i, n = len >> PAGE_SHIFT;
	int nid, rc = -ENOMEM;

	seg->pages = kvcalloc(n, sizeof(*seg->pages), GFP_KERNEL);
	if (!seg->pages)
		return -ENOMEM;
	if (seg->numa == PLMC_NUMA_BIND) {
		nid = seg->numa_node;
		gfp |= __GFP_THISNODE;
	} else if (seg->numa == PLMC_NUMA_LOCAL) {
		nid = numa_node_id();
	} else {
		nid = first_node(node_states[N_MEMORY]);
	}
	for (i = 0; i < n; i++) {
		seg->pages[i] = alloc_pages_node(nid, gfp, 0);
		if (!seg->pages[i])
			goto err_free;
		seg->npages = i + 1;
		if (seg->numa == PLMC_NUMA_INTERLEAVE)
			nid = next_node_in(nid, node_states[N_MEMORY]);
		if (!(i & 1023)) {
			if (fatal_signal_pending(current)) {
				rc = -EINTR;
				goto err_free;
			}
			cond_resched();
		}
	}
	seg->data = vmap(seg->pages, n, VM_MAP, PAGE_KERNEL);
	if (seg->data)
		return 0;
err_free:
	while (seg->npages)
		__free_page(seg->pages[--seg->npages]);
	kvfree(seg->pages);
	seg->pages = NULL;
	return rc;
}

static void plmc_seg_unplace(struct plmc_seg *seg)
{
	if (!seg->pages) {
		vfree(seg->data);
		return;
	}
	vunmap(seg->data);
	while (seg->npages)
		__free_page(seg->pages[--seg->npages]);
	kvfree(seg->pages);
}

/*
 * plmc_seg_alloc() - build a segment, not yet visible.
 * @a: validated create arguments
 * @image: the checked image; the segment owns it on success only
 *
 * Context: process context, no locks held.
 * Return: the segment (one reference), or ERR_PTR(-ENOMEM or -EINTR).
 */
struct plmc_seg *plmc_seg_alloc(const struct plmc_create_args *a, void *image,
				kuid_t uid, kgid_t gid)
{
	struct plmc_seg *seg;
	int rc = -ENOMEM;

	seg = kzalloc(sizeof(*seg), GFP_KERNEL);
	if (!seg)
		return ERR_PTR(-ENOMEM);
	seg->numa = a->numa;
	seg->numa_node = a->numa_node;
	/* Zeroed: stacks, header, free slots (state 0) and the kv area. */
	if (seg->numa == PLMC_NUMA_DEFAULT) {
		seg->data = __vmalloc(PLMC_DATA_LEN(a->size),
				      GFP_KERNEL_ACCOUNT | __GFP_ZERO |
					      __GFP_NOWARN);
		if (!seg->data)
			goto err_free_seg;
	} else {
		rc = plmc_seg_place(seg, PLMC_DATA_LEN(a->size));
		if (rc)
			goto err_free_seg;
	}
	kref_init(&seg->ref);
	INIT_LIST_HEAD(&seg->node);
	mutex_init(&seg->lock);
	memcpy(seg->name, a->name, sizeof(seg->name));
	seg->uid = uid;
	seg->gid = gid;
	seg->mode = a->mode;
	seg->store_size = a->size;
	seg->item_max = a->item_max;
	seg->slab_factor = a->slab_factor;
	seg->slab_min = a->slab_min;
	seg->tenants = a->tenants;
	seg->image_size = a->image_len;
	seg->image = image;
	seg->hdr = (struct plmc_store_hdr *)((char *)seg->data +
					     (PLMC_STORE_OFF - PLMC_DATA_OFF));
	seg->create_ns = ktime_get_ns();
	plmc_seg_init_hdr(seg);
	seg->hdr->slot_quota = a->slot_quota ?: PLMC_SLOT_QUOTA_DEFAULT;
	return seg;

err_free_seg:
	kfree(seg);
	return ERR_PTR(rc);
}

static void plmc_seg_free_mem(struct plmc_seg *seg)
{
	plmc_seg_unplace(seg);
	plmc_image_free(seg->image);
	mutex_destroy(&seg->lock);
	kfree(seg);
}

/* Undo plmc_seg_alloc() (image included) for a segment never published. */
void plmc_seg_free_unpublished(struct plmc_seg *seg)
{
	WARN_ON_ONCE(seg->linked || kref_read(&seg->ref) != 1);
	plmc_seg_free_mem(seg);
}

/*
 * plmc_seg_find() - find a named segment.
 * Context: plmc_reg_lock held. Return: the segment (no reference) or NULL.
 */
struct plmc_seg *plmc_seg_find(const char *name)
{
	struct plmc_seg *seg;

	lockdep_assert_held(&plmc_reg_lock);
	list_for_each_entry(seg, &plmc_segs, node)
		if (seg->linked && !strcmp(seg->name, name))
			return seg;
	return NULL;
}

/*
 * plmc_seg_lookup() - the segment named @name, if the caller may use it.
 * Context: plmc_reg_lock held.
 * Return: the segment (no reference), or ERR_PTR(-ENOENT or -EACCES).
 */
struct plmc_seg *plmc_seg_lookup(const char *name)
{
	struct plmc_seg *seg = plmc_seg_find(name);

	if (!seg)
		return ERR_PTR(-ENOENT);
	if (!plmc_seg_may_use(seg))
		return ERR_PTR(-EACCES);
	return seg;
}

/*
 * plmc_seg_publish() - give the segment its name and start its clock.
 * Context: no locks held. Return: 0, or -EEXIST (the caller still owns seg).
 */
int plmc_seg_publish(struct plmc_seg *seg)
{
	int rc = 0;

	mutex_lock(&plmc_reg_lock);
	if (plmc_seg_find(seg->name)) {
		rc = -EEXIST;
		goto out_unlock;
	}
	seg->linked = true;
	list_add_tail(&seg->node, &plmc_segs);
	schedule_delayed_work(&plmc_clock, plmc_clock_period());
out_unlock:
	mutex_unlock(&plmc_reg_lock);
	return rc;
}

/* kref release with plmc_reg_lock held: unlist only; the caller frees. */
static void plmc_seg_unlist(struct kref *ref)
{
	struct plmc_seg *seg = container_of(ref, struct plmc_seg, ref);

	list_del_init(&seg->node);
}

/* kref_put_mutex release: entered with plmc_reg_lock held, drops it. */
static void plmc_seg_release(struct kref *ref)
{
	struct plmc_seg *seg = container_of(ref, struct plmc_seg, ref);

	list_del_init(&seg->node);
	mutex_unlock(&plmc_reg_lock);
	plmc_seg_free_mem(seg);
}

/* Context: plmc_reg_lock not held (may take it); may sleep. */
void plmc_seg_put(struct plmc_seg *seg)
{
	kref_put_mutex(&seg->ref, plmc_seg_release, &plmc_reg_lock);
}

/*
 * Attach permission, like SysV shm: the owner class uses mode >> 6, the
 * group class mode >> 3, others the low bits; read and write both needed.
 * CAP_SYS_ADMIN bypasses (checked last, so it is not logged as used).
 */
bool plmc_seg_may_use(const struct plmc_seg *seg)
{
	unsigned int m = seg->mode;

	if (uid_eq(current_fsuid(), seg->uid))
		m >>= 6;
	else if (in_group_p(seg->gid))
		m >>= 3;
	if ((m & 06) == 06)
		return true;
	return capable(CAP_SYS_ADMIN);
}

static bool plmc_seg_owner(const struct plmc_seg *seg)
{
	return uid_eq(current_fsuid(), seg->uid) || capable(CAP_SYS_ADMIN);
}

/*
 * plmc_seg_join() - count a new attachment and hand out its id.
 * Context: plmc_reg_lock held (destroy cannot miss the attachment).
 * Return: the attach id (1.. < 2^62) with a segment reference taken for
 * the attachment, or 0 when ids ran out.
 */
u64 plmc_seg_join(struct plmc_seg *seg)
{
	u64 id = 0;

	lockdep_assert_held(&plmc_reg_lock);
	mutex_lock(&seg->lock);
	if (seg->attach_seq + 1 >= (1ULL << 62))
		goto out_unlock;
	id = ++seg->attach_seq;
	seg->nattach++;
	WRITE_ONCE(seg->hdr->attach_seq, id);
	WRITE_ONCE(seg->hdr->nattach, seg->nattach);
	kref_get(&seg->ref);
out_unlock:
	mutex_unlock(&seg->lock);
	return id;
}

/*
 * plmc_seg_mark_dead() - an attachment ended: tell the survivors.
 *
 * Every slot the attachment owns (state >> 1 == id) gets dead = id; then
 * deaths and nattach; then generation, with release so that a survivor
 * that sees the new generation (acquire) also sees every dead mark.
 * Called exactly once per attachment (att->dead guards it).
 *
 * deaths counts only an end that left the store something to recover: a
 * slot still owned. Everything a dead client can hold (a call in flight,
 * its epoch, a lock, a redo log, an unpublished chunk) lives in, or is
 * named by, a slot it owns (kvcore/recover.c). A detach gives every slot
 * back through the gate first (libpl's plmc_detach and its exit handler)
 * and then unmaps: no slot left, no death, as under the none and pku
 * backends (libpl/live.c counts the owners of owned slots only). The
 * marks and the generation bump stay unconditional: recovery runs the
 * same whatever the count says.
 *
 * Context: may sleep; seg->lock not held.
 */
void plmc_seg_mark_dead(struct plmc_seg *seg, u64 attach_id)
{
	struct plmc_slot *slot = plmc_seg_slots(seg);
	struct plmc_store_hdr *h = seg->hdr;
	bool owned = false;
	int i;

	mutex_lock(&seg->lock);
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		if ((READ_ONCE(slot[i].state) >> 1) != attach_id)
			continue;
		WRITE_ONCE(slot[i].dead, attach_id);
		owned = true;
	}
	if (!WARN_ON_ONCE(!seg->nattach))
		seg->nattach--;
	WRITE_ONCE(h->nattach, seg->nattach);
	if (owned)
		WRITE_ONCE(h->deaths, READ_ONCE(h->deaths) + 1);
	/* Pairs with the store's acquire load of generation. */
	smp_store_release(&h->generation, READ_ONCE(h->generation) + 1);
	mutex_unlock(&seg->lock);
}

/*
 * plmc_seg_destroy() - remove a name. Owner or CAP_SYS_ADMIN.
 * Context: no locks held.
 * Return: 0, -ENOENT, -EPERM, or -EBUSY (attached and not forced).
 */
int plmc_seg_destroy(const char *name, u32 flags)
{
	struct plmc_seg *seg;
	bool freed;
	u64 busy;
	int rc;

	mutex_lock(&plmc_reg_lock);
	seg = plmc_seg_find(name);
	rc = -ENOENT;
	if (!seg)
		goto out_unlock;
	rc = -EPERM;
	if (!plmc_seg_owner(seg))
		goto out_unlock;
	mutex_lock(&seg->lock);
	busy = seg->nattach;
	mutex_unlock(&seg->lock);
	rc = -EBUSY;
	if (busy && !(flags & PLMC_DESTROY_FORCE))
		goto out_unlock;
	seg->linked = false;
	freed = kref_put(&seg->ref, plmc_seg_unlist);
	mutex_unlock(&plmc_reg_lock);
	if (freed)
		plmc_seg_free_mem(seg);
	return 0;

out_unlock:
	mutex_unlock(&plmc_reg_lock);
	return rc;
}

/*
 * plmc_seg_info() - describe a segment to whoever may attach to it.
 * Context: no locks held. Return: 0, -ENOENT or -EACCES.
 */
int plmc_seg_info(struct plmc_info_args *a)
{
	struct plmc_seg *seg;
	int rc = 0;

	mutex_lock(&plmc_reg_lock);
	seg = plmc_seg_lookup(a->name);
	if (IS_ERR(seg)) {
		rc = PTR_ERR(seg);
		goto out_unlock;
	}
	mutex_lock(&seg->lock);
	a->nattach = seg->nattach;
	a->generation = READ_ONCE(seg->hdr->generation);
	a->deaths = READ_ONCE(seg->hdr->deaths);
	mutex_unlock(&seg->lock);
	a->store_size = seg->store_size;
	a->image_size = seg->image_size;
	a->uid = from_kuid_munged(current_user_ns(), seg->uid);
	a->gid = from_kgid_munged(current_user_ns(), seg->gid);
	a->mode = seg->mode;
	a->slot_quota = READ_ONCE(seg->hdr->slot_quota);
out_unlock:
	mutex_unlock(&plmc_reg_lock);
	return rc;
}

/*
 * plmc_seg_nodes() - where a segment's data pages are, per node. Read
 * from the pages themselves: module pages never move, so the count is
 * what the policy got at create.
 * Context: no locks held, may sleep. Return: 0, -ENOENT or -EACCES.
 */
int plmc_seg_nodes(struct plmc_nodes_args *a)
{
	struct plmc_seg *seg;
	unsigned long off;
	int nid;
	u64 len;

	mutex_lock(&plmc_reg_lock);
	seg = plmc_seg_lookup(a->name);
	if (!IS_ERR(seg))
		kref_get(&seg->ref); /* the walk sleeps: not under the lock */
	mutex_unlock(&plmc_reg_lock);
	if (IS_ERR(seg))
		return PTR_ERR(seg);
	memset(a->pages, 0, sizeof(a->pages));
	a->numa = seg->numa;
	a->numa_node = seg->numa_node;
	a->nr_nodes = 0;
	for_each_node_state(nid, N_MEMORY)
		a->nr_nodes = min_t(u32, nid + 1, PLMC_NODES_MAX);
	len = PLMC_DATA_LEN(seg->store_size);
	for (off = 0; off < len; off += PAGE_SIZE) {
		nid = page_to_nid(vmalloc_to_page((char *)seg->data + off));
		if (nid >= 0 && nid < PLMC_NODES_MAX)
			a->pages[nid]++;
		if (!(off & ((PAGE_SIZE << 10) - 1)))
			cond_resched();
	}
	plmc_seg_put(seg);
	return 0;
}

/*
 * plmc_seg_exit() - module unload: no fd is open, so no attachment exists
 * and every remaining segment holds only its registry link.
 * Context: module exit, after the device is gone.
 */
void plmc_seg_exit(void)
{
	struct plmc_seg *seg, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&plmc_reg_lock);
	list_splice_init(&plmc_segs, &gone);
	mutex_unlock(&plmc_reg_lock);
	/* The list is empty now: the clock does not re-arm. */
	cancel_delayed_work_sync(&plmc_clock);
	list_for_each_entry_safe(seg, tmp, &gone, node) {
		list_del_init(&seg->node);
		/* A reference besides the link would be a live attachment. */
		if (WARN_ON_ONCE(kref_read(&seg->ref) != 1))
			continue;
		plmc_seg_free_mem(seg);
	}
}
