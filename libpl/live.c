// SPDX-License-Identifier: MIT
/*
 * libpl/live.c - none and pku backends: noticing attachments that died.
 *
 * No module watches the processes here, so libpl does what the module
 * does at file release. Each attachment holds an exclusive flock on
 * /dev/shm/.plmc.NAME.ID (ID = its attach id) for its whole life; the
 * kernel drops the lock when the last descriptor of that open file goes,
 * i.e. when the process dies, whatever pid the system hands out next: a
 * lock belongs to an open file, so pid reuse cannot fool it. The file is
 * locked under a temporary name and renamed into place, so a watcher
 * never finds it unlocked while its owner lives.
 *
 * A watcher thread per attached process looks every 2 ms at the owners
 * of busy slots (plmc_recover looks once, at once). An owner whose lock
 * can be taken (shared, so probes do not block each other) is dead: each slot whose state names it gets dead = id,
 * then hdr->generation++ (release), the module's order; the next gate
 * entry of any thread sees the generation move and recovers (kvcore's
 * recover.c). The unlink of the file elects the one process that counts
 * the death (deaths++, nattach--); marking twice is harmless.
 * fork: the child closes its copy of the descriptor (the parent's lock
 * stays with the parent) and has no watcher.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include "pl.h"

#define PL_WATCH_NS 2000000L /* 2 ms */

static char live_name[PLMC_NAME_LEN];

static void live_path(char *buf, size_t len, __u64 id)
{
	snprintf(buf, len, "/dev/shm/.plmc.%s.%llu.live", live_name,
		 (unsigned long long)id);
}

/* Slot @i's record, through the header view @h (none: the store itself;
 * pku: the view without the key). */
static struct plmc_slot *live_slot(struct plmc_store_hdr *h, int i)
{
	return (struct plmc_slot *)((char *)h + PLMC_SLOTS_OFF +
				    (__u64)i * PLMC_SLOT_SIZE);
}

/* Return: 1 if attachment @id is gone (*counted: this caller saw it
 * first), 0 if it lives. */
static int live_gone(__u64 id, int *counted)
{
	char path[160];
	int fd, gone = 0;

	*counted = 0;
	live_path(path, sizeof(path), id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT; /* already found dead, or detached */
	/* Shared: two probes at once (this process's watcher and a
	 * plmc_recover) must not see each other's lock as the owner's. */
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		gone = 1;
		*counted = !unlink(path);
	}
	close(fd);
	return gone;
}

/* What the module's death marking does: dead marks, then generation. */
static void live_mark(struct plmc_store_hdr *h, __u64 id, int counted)
{
	int i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = live_slot(h, i);

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) >> 1 == id)
			__atomic_store_n(&s->dead, id, __ATOMIC_RELEASE);
	}
	if (counted) {
		__atomic_add_fetch(&h->deaths, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&h->nattach, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
}

/* Look once at every busy slot's owner; mark the dead ones. */
void pl_none_scan(void)
{
	struct plmc_store_hdr *h = __atomic_load_n(&pl.hdr, __ATOMIC_ACQUIRE);
	__u64 seen[PLMC_MAX_SLOTS];
	int i, j, ns = 0, counted;

	if (!h)
		return;
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = live_slot(h, i);
		__u64 id = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) >> 1;

		if (!id || id == pl.attach_id ||
		    __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) == id)
			continue;
		for (j = 0; j < ns && seen[j] != id; j++)
			;
		if (j < ns)
			continue;
		seen[ns++] = id;
		if (live_gone(id, &counted))
			live_mark(h, id, counted);
	}
}

static void *live_watch(void *arg)
{
	struct timespec ts = {0, PL_WATCH_NS};

	(void)arg;
	while (!__atomic_load_n(&pl.watch_stop, __ATOMIC_ACQUIRE)) {
		pl_none_scan();
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Context: pl_lock held; pl.attach_id and pl.hdr set. */
int pl_none_live_start(const char *name)
{
	char path[160], tmp[192];
	int fd, rc;

	snprintf(live_name, sizeof(live_name), "%s", name);
	live_path(path, sizeof(path), pl.attach_id);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) || rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
		close(fd);
		return rc;
	}
	pl.live_fd = fd;
	pl.watch_stop = 0;
	/* Mark the dead before this process's first call: a newcomer whose
	 * every free slot is gone takes over the corpses' (gate.S), which
	 * it can only do once they are marked, and no one else may be
	 * attached to mark them. */
	pl_none_scan();
	rc = -pthread_create(&pl.watch, NULL, live_watch, NULL);
	if (rc) {
		unlink(path);
		close(fd);
		pl.live_fd = -1;
	}
	return rc;
}

/* Detach: stop the watcher, then drop the lock file. */
void pl_none_live_stop(void)
{
	char path[160];

	if (pl.live_fd < 0)
		return;
	__atomic_store_n(&pl.watch_stop, 1, __ATOMIC_RELEASE);
	pthread_join(pl.watch, NULL);
	live_path(path, sizeof(path), pl.attach_id);
	unlink(path);
	close(pl.live_fd);
	pl.live_fd = -1;
}

/* fork child: the descriptor is the parent's lock; no watcher here. */
void pl_none_forget(void)
{
	if (pl.live_fd >= 0)
		close(pl.live_fd);
	pl.live_fd = -1;
}
