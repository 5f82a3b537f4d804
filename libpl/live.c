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
 * A watcher thread per attached process sleeps in poll() until an
 * attachment of this store dies: inotify reports the close of a live
 * file opened for writing (IN_CLOSE_WRITE), which only its owner does
 * (probes open read-only) and the kernel does for it at death. No
 * periodic wake-up: an idle process costs nothing. The close is
 * reported just before the kernel drops the file's lock (__fput calls
 * fsnotify_close, then locks_remove_file), so after an event the
 * watcher probes that owner again for up to PL_GONE_WAIT_MS. Then it
 * looks at the owners of every owned slot (plmc_recover looks once, at
 * once; a queue overflow looks too). An owner whose lock
 * can be taken (shared, so probes do not block each other) is dead: each slot
 * whose state names it gets dead = id, then hdr->generation++ (release), the
 * module's order; the next gate entry of any thread sees the generation move
 * and recovers (kvcore's recover.c). The unlink of the file elects the one
 * process that counts the death (deaths++, nattach--); marking twice is
 * harmless. fork: the child closes its copy of the descriptor (the parent's
 * lock stays with the parent) and has no watcher.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include "pl.h"

#define PL_GONE_WAIT_MS 1000 /* a dying owner's lock is gone well before */
#define PL_POLL_MS	2    /* without inotify only */

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
	/* Read-only: a probe's close must not look like a death (the
	 * watcher waits for IN_CLOSE_WRITE only). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* Return: the attach id a live file's name gives (".plmc.NAME.ID.live"
 * of this store), or 0 if @name is not one. */
static __u64 live_id_of(const char *name)
{
	size_t n = strlen(live_name), len = strlen(name);
	char *end;
	__u64 id;

	if (strncmp(name, ".plmc.", 6) || strncmp(name + 6, live_name, n) ||
	    name[6 + n] != '.' || len < 6 + n + 1 + 5 ||
	    strcmp(name + len - 5, ".live"))
		return 0;
	id = strtoull(name + 7 + n, &end, 10);
	return end == name + len - 5 ? id : 0;
}

/* After @id's live file was closed for writing: wait (bounded) until its
 * lock is gone, i.e. the kernel finished closing it. */
static void live_wait_gone(__u64 id)
{
	char path[160];
	int i, fd;

	live_path(path, sizeof(path), id);
	for (i = 0; i < PL_GONE_WAIT_MS; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return; /* counted already, or detached */
		if (!flock(fd, LOCK_SH | LOCK_NB)) {
			flock(fd, LOCK_UN);
			close(fd);
			return;
		}
		close(fd);
		if (__atomic_load_n(&pl.watch_stop, __ATOMIC_ACQUIRE))
			return;
		poll(NULL, 0, 1);
	}
}

/* Read the queued events. Return: nonzero if one was a death of this
 * store's attachment (or events were lost: then look at everyone). */
static int live_events(int fd)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(fd, buf, sizeof(buf));
	int seen = 0;
	char *p;

	for (p = buf; n > 0 && p < buf + n;) {
		const struct inotify_event *e = (const void *)p;
		__u64 id = e->len ? live_id_of(e->name) : 0;

		if (e->mask & IN_Q_OVERFLOW)
			seen = 1;
		if (id && id != pl.attach_id) {
			live_wait_gone(id);
			seen = 1;
		}
		p += sizeof(*e) + e->len;
	}
	return seen;
}

/*
 * Without inotify (fs.inotify.max_user_instances reached: one instance
 * per attached process), the watcher falls back to looking every
 * PL_POLL_MS, as it always did before: attach never fails for want of it.
 */
static void *live_watch(void *arg)
{
	struct pollfd p[2] = {
		{.fd = pl.wake_fd, .events = POLLIN},
		{.fd = pl.watch_fd, .events = POLLIN},
	};
	int n = pl.watch_fd >= 0 ? 2 : 1, r;

	(void)arg;
	pl_none_scan(); /* deaths from before the watch began */
	while (!__atomic_load_n(&pl.watch_stop, __ATOMIC_ACQUIRE)) {
		r = poll(p, (nfds_t)n, n == 2 ? -1 : PL_POLL_MS);
		if (r < 0)
			continue; /* EINTR */
		if (p[0].revents)
			break; /* detach */
		if (!r || (p[1].revents && live_events(pl.watch_fd)))
			pl_none_scan();
	}
	return NULL;
}

/* The eventfd that ends the watcher and, if the kernel gives one, the
 * inotify watch on /dev/shm (else watch_fd = -1: polling). Return: 0 or
 * -errno. */
static int live_watch_open(void)
{
	pl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pl.wake_fd < 0)
		return -errno;
	pl.watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (pl.watch_fd >= 0 &&
	    inotify_add_watch(pl.watch_fd, "/dev/shm", IN_CLOSE_WRITE) < 0) {
		close(pl.watch_fd);
		pl.watch_fd = -1;
	}
	return 0;
}

static void live_watch_close(void)
{
	if (pl.watch_fd >= 0)
		close(pl.watch_fd);
	close(pl.wake_fd);
	pl.watch_fd = pl.wake_fd = -1;
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
	rc = live_watch_open();
	if (!rc) {
		rc = -pthread_create(&pl.watch, NULL, live_watch, NULL);
		if (rc)
			live_watch_close();
	}
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
	if (eventfd_write(pl.wake_fd, 1))
		perror("plmc: waking the watcher"); /* cannot happen */
	pthread_join(pl.watch, NULL);
	live_watch_close();
	live_path(path, sizeof(path), pl.attach_id);
	unlink(path);
	close(pl.live_fd);
	pl.live_fd = -1;
}

/* fork child: the descriptor is the parent's lock; no watcher here. */
void pl_none_forget(void)
{
	if (pl.live_fd >= 0) {
		close(pl.live_fd);
		if (pl.watch_fd >= 0)
			close(pl.watch_fd);
		close(pl.wake_fd);
	}
	pl.live_fd = pl.watch_fd = pl.wake_fd = -1;
}
