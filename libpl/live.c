// SPDX-License-Identifier: MIT
/*
 * libpl/live.c - none and pku backends: noticing attachments that died.
 *
 * No module watches the processes here, so libpl does what the module
 * does at file release. Each attachment holds an exclusive flock on
 * /dev/shm/.plmc.NAME.ID.live (ID = its attach id) for its whole life;
 * the kernel drops the lock when the last descriptor of that open file
 * goes, i.e. when the process dies, whatever pid the system hands out
 * next: a lock belongs to an open file, so pid reuse cannot fool it. The
 * file is locked under a temporary name and renamed into place, so a
 * watcher never finds it unlocked while its owner lives. It holds one
 * line, "PID STARTTIME PIDNS" (its process, /proc's start time, pid
 * namespace).
 *
 * A watcher thread per attached process sleeps in poll() until an
 * attachment of this store dies: inotify reports the close of a live
 * file opened for writing (IN_CLOSE_WRITE), which only its owner does
 * (probes open read-only) and the kernel does for it at death. The close
 * is reported just before the kernel drops the file's lock (__fput calls
 * fsnotify_close, then locks_remove_file), so after an event the
 * watcher probes that owner again for up to PL_GONE_WAIT_MS. Then it
 * looks at the owners of every owned slot (plmc_recover looks once, at
 * once; a queue overflow looks too). An owner whose lock can be taken
 * (shared, so probes do not block each other) is dead: each slot whose
 * state names it gets dead = id, then hdr->generation++ (release), the
 * module's order; the next gate entry of any thread sees the generation
 * move and recovers (kvcore's recover.c). The unlink of the file elects
 * the one process that counts the death (deaths++); marking twice is
 * harmless.
 *
 * The lock goes (and the close is reported) only at the very end of the
 * owner's exit, after its mm is torn down, or never while a child that
 * inherited the descriptor lives. The death is known sooner: once every
 * thread of the owner has PF_EXITING set (or the process is gone), none
 * of them can run user code again, so its slots may be recovered. The
 * watcher asks /proc for that (same pid namespace only; the start time
 * guards against pid reuse) about owners that are in a call: it wakes
 * every PL_IDLE_MS to look at the slots (two wake-ups a second: the price
 * of not waiting for a stalled exit; an idle process costs next to
 * nothing still), every PL_DEEP_MS while another attachment is in a
 * call, and asks about PL_WATCH_ASK owners at a time (round robin: a
 * bounded cost per watcher); plmc_recover and attach ask about all. A
 * waiter on a lock a dying owner held is freed without waiting for its
 * exit to finish.
 *
 * nattach is not kept by increments and decrements (an attach killed
 * between its file and its count would make it drift): it is recounted
 * from the files whose lock is held, at every attach, detach and counted
 * death. The same sweep, run after any close event of this store's
 * files, removes the files of attachments that died before anyone looked
 * at them (killed during attach, or owning no slot): their lock is free.
 * plctl destroy --force removes them all.
 * fork: the child closes its copy of the descriptor (the parent's lock
 * stays with the parent) and has no watcher.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "pl.h"

#define PL_GONE_WAIT_MS 1000 /* a dying owner's lock is gone well before */
#define PL_POLL_MS	2    /* without inotify only */
#define PL_IDLE_MS	500  /* a look at the slots while all is quiet */
#define PL_DEEP_MS	16   /* ... while another attachment is in a call */
#define PL_TICK_MS	2    /* the clock's period while this process calls */
#define PL_TICK_IDLE	4    /* ticks with no call before it stops */
#define PL_WATCH_ASK	4    /* owners asked about (/proc) per look */
#define PL_POLL_SWEEP	1024 /* without inotify: sweep every 2 s */
#define PL_PF_EXITING	0x4  /* task flag, /proc/PID/stat field 9 */
#define PL_SHM		"/dev/shm/"

static char live_name[PLMC_NAME_LEN];
static char live_ns[64]; /* this process's pid namespace: "pid:[N]" */

static void live_path(char *buf, size_t len, __u64 id)
{
	snprintf(buf, len, PL_SHM ".plmc.%s.%llu.live", live_name,
		 (unsigned long long)id);
}

/* Slot @i's record, through the header view @h (none: the store itself;
 * pku: the view without the key). */
static struct plmc_slot *live_slot(struct plmc_store_hdr *h, int i)
{
	return (struct plmc_slot *)((char *)h + PLMC_SLOTS_OFF +
				    (__u64)i * PLMC_SLOT_SIZE);
}

/*
 * /proc/.../stat of a task: its state, flags and start time.
 * Return: 0, -ENOENT (no such task), or another -errno (unreadable).
 */
static int proc_stat(const char *path, char *state, unsigned long *flags,
		     unsigned long long *start)
{
	char buf[1024], *p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? -ENOENT : -EIO;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command may hold spaces and ')' */
	if (!p || sscanf(p + 2,
			 "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu",
			 state, flags, start) != 3)
		return -EIO;
	return 0;
}

/* Nonzero if a task in @state with @flags can never run user code. */
static int task_done(char state, unsigned long flags)
{
	return (flags & PL_PF_EXITING) || state == 'Z' || state == 'X';
}

/* Every thread of @pid done (or gone)? 1 yes, 0 no or unknown. */
static int threads_done(int pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int done = 1;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT || errno == ESRCH;
	while (done && (d = readdir(dir))) {
		char tpath[96], st;
		unsigned long fl;
		unsigned long long start;
		int rc;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%.16s/stat", pid,
			 d->d_name);
		rc = proc_stat(tpath, &st, &fl, &start);
		done = rc == -ENOENT || (!rc && task_done(st, fl));
	}
	closedir(dir);
	return done;
}

/*
 * The owner of the lock file @fd, by its line: 1 if it is past running
 * user code (gone, or every thread exiting), 0 if it lives or we cannot
 * tell (another pid namespace, no line yet).
 */
static int live_exiting(int fd)
{
	char buf[160], ns[64], path[64], st;
	unsigned long long start, now;
	unsigned long fl;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int pid, rc;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%d %llu %63s", &pid, &start, ns) != 3 || pid <= 0 ||
	    !live_ns[0] || strcmp(ns, live_ns))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	rc = proc_stat(path, &st, &fl, &now);
	if (rc == -ENOENT || (!rc && now != start))
		return 1; /* reaped: the pid is gone or someone else's */
	if (rc || !task_done(st, fl))
		return 0; /* the leader runs: a cheap "alive" */
	return threads_done(pid);
}

/*
 * Return: 1 if attachment @id is gone (*counted: this caller saw it
 * first), 0 if it lives. @deep: also ask /proc whether it is exiting.
 */
static int live_gone(__u64 id, int deep, int *counted)
{
	char path[160];
	int fd, gone = 0;

	*counted = 0;
	live_path(path, sizeof(path), id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT; /* already found dead, or detached */
	/* Shared: two probes at once (this process's watcher and a
	 * plmc_recover) must not see each other's lock as the owner's. */
	if (!flock(fd, LOCK_SH | LOCK_NB) || (deep && live_exiting(fd))) {
		gone = 1;
		*counted = !unlink(path);
	}
	close(fd);
	return gone;
}

#define PL_TMP_AGE 10 /* seconds */

/*
 * A temporary file ("ID.live.PID.tmp", its lock free) is stale if its
 * creator is gone, or if it is older than PL_TMP_AGE: for a moment
 * after its open it is not locked yet, while its creator attaches.
 */
static int live_stale_tmp(int fd, const char *tail)
{
	struct stat st;
	int pid = atoi(tail);

	if (pid > 0 && kill(pid, 0) && errno == ESRCH)
		return 1;
	return !fstat(fd, &st) && st.st_mtime + PL_TMP_AGE < time(NULL);
}

/*
 * Sweep the store's liveness files: remove those whose lock is free (the
 * dead nobody found: killed during attach, or owning no slot; stale
 * temporary ones), and return how many are held (live attachments).
 * Return: that count, or -1 if /dev/shm cannot be read.
 */
static int live_sweep(const char *name)
{
	char pre[PLMC_NAME_LEN + 16], path[sizeof(PL_SHM) + 256];
	size_t np = (size_t)snprintf(pre, sizeof(pre), ".plmc.%s.", name);
	struct dirent *d;
	int held = 0;
	DIR *dir = opendir(PL_SHM);

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		const char *rest = d->d_name + np;
		char *end;
		int fd;

		if (strncmp(d->d_name, pre, np) || rest[0] < '0' ||
		    rest[0] > '9')
			continue;
		strtoull(rest, &end, 10); /* ID.live or ID.live.PID.tmp */
		if (strncmp(end, ".live", 5) ||
		    (end[5] && !strstr(end + 5, ".tmp")))
			continue;
		snprintf(path, sizeof(path), PL_SHM "%s", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!flock(fd, LOCK_SH | LOCK_NB)) {
			/* Nobody holds it: dead (a temporary one, maybe
			 * not locked yet: see live_stale_tmp). */
			if (!end[5] || live_stale_tmp(fd, end + 6))
				unlink(path);
		} else if (!end[5]) {
			held++;
		}
		close(fd);
	}
	closedir(dir);
	return held;
}

/* destroy: the attachments of @name alive now (their files' locks held),
 * after removing the dead's files; -1 if /dev/shm cannot be read. */
int pl_none_live_count(const char *name)
{
	return live_sweep(name);
}

/* nattach := the live attachments, from their files (see above). */
static void live_recount(struct plmc_store_hdr *h)
{
	int n = live_sweep(live_name);

	if (n >= 0)
		__atomic_store_n(&h->nattach, (__u64)n, __ATOMIC_RELAXED);
}

/* What the module's death marking does: dead marks, then generation. */
static void live_mark(struct plmc_store_hdr *h, __u64 id, int counted)
{
	int i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = live_slot(h, i);

		/* Acquire pairs with the gate's lock cmpxchg claim. */
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) >> 1 == id)
			/* Release pairs with kv_slot_dead()'s acquire. */
			__atomic_store_n(&s->dead, id, __ATOMIC_RELEASE);
	}
	if (counted) {
		__atomic_add_fetch(&h->deaths, 1, __ATOMIC_RELAXED);
		live_recount(h);
	}
	/* Release: pairs with kv_dispatch's acquire load of generation, so
	 * a call that sees the new generation sees every mark above. */
	__atomic_add_fetch(&h->generation, 1, __ATOMIC_RELEASE);
}

/*
 * Look once at every owned slot's owner; mark the dead ones. @deep: ask
 * /proc too about at most that many owners that are in a call (round
 * robin, so the cost of a watcher stays bounded however many processes
 * are attached); -1: about all of them.
 * Return: nonzero if another live attachment is in a call.
 */
static int live_scan(int deep)
{
	static unsigned rr; /* the watcher's round robin over owners */
	struct plmc_store_hdr *h = __atomic_load_n(&pl.hdr, __ATOMIC_ACQUIRE);
	__u64 seen[PLMC_MAX_SLOTS];
	int busy[PLMC_MAX_SLOTS];
	int i, j, ns = 0, counted, any = 0;

	if (!h)
		return 0;
	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		struct plmc_slot *s = live_slot(h, i);
		__u64 st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		__u64 id = st >> 1;

		if (!id || id == pl.attach_id ||
		    __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) == id)
			continue;
		for (j = 0; j < ns && seen[j] != id; j++)
			;
		if (j == ns) {
			seen[ns] = id;
			busy[ns++] = 0;
		}
		busy[j] |= (int)(st & 1);
	}
	for (i = 0; i < ns; i++) {
		int ask = 0;

		j = deep < 0 ? i : (int)((rr + (unsigned)i) % (unsigned)ns);
		if (busy[j] && deep) {
			ask = 1;
			deep -= deep > 0;
		}
		if (live_gone(seen[j], ask, &counted))
			live_mark(h, seen[j], counted);
		else
			any |= busy[j];
	}
	rr += PL_WATCH_ASK;
	return any;
}

/* plmc_recover, attach: look now, asking /proc about everyone. */
void pl_none_scan(void)
{
	struct plmc_store_hdr *h = __atomic_load_n(&pl.hdr, __ATOMIC_ACQUIRE);

	live_scan(-1);
	if (h)
		live_recount(h);
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

/* Nonzero if @name is one of this store's liveness files (any form). */
static int live_ours(const char *name)
{
	size_t n = strlen(live_name);

	return !strncmp(name, ".plmc.", 6) &&
	       !strncmp(name + 6, live_name, n) && name[6 + n] == '.' &&
	       name[7 + n] >= '0' && name[7 + n] <= '9';
}

/* Read the queued events. Return: nonzero if one was a death of this
 * store's attachment (or events were lost: then look at everyone);
 * *@sweep: a file of this store was closed (sweep and recount). */
static int live_events(int fd, int *sweep)
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
			seen = *sweep = 1;
		if (e->len && live_ours(e->name))
			*sweep = 1;
		if (id && id != pl.attach_id) {
			live_wait_gone(id);
			seen = 1;
		}
		p += sizeof(*e) + e->len;
	}
	return seen;
}

/* Nonzero if a thread of this process is in a call now. */
static int live_own_busy(struct plmc_store_hdr *h)
{
	int i;

	for (i = 0; i < PLMC_MAX_SLOTS; i++) {
		/* Acquire pairs with the gate's lock cmpxchg claim. */
		__u64 st = __atomic_load_n(&live_slot(h, i)->state,
					   __ATOMIC_ACQUIRE);

		if ((st & 1) && st >> 1 == pl.attach_id)
			return 1;
	}
	return 0;
}

/*
 * May the watcher park (sleep with no timeout)? Only while this process
 * makes no call: no thread of it refreshed its clock since the last look
 * (*@seen: pl.active then; updated here) and none is in a call now.
 * Parked, it still wakes on a close event (a death, the final word) and
 * on detach; the early /proc look at owners in a call is left to the
 * watchers of processes that call, the only ones whose threads can be
 * waiting on a dead owner's lock.
 *
 * The handshake with pl_live_poke() is Dekker's: parked := 1, then read
 * active here; active++, then read parked there (all seq_cst). Either
 * the poke's increment is seen here (no park), or the poke sees parked
 * and wakes us. A call that skips its refresh (its thread refreshed less
 * than PL_CLOCK_CYCLES ago, at most a few ms: far less than PL_IDLE_MS,
 * the gap between two looks) began before this look and is in flight
 * (live_own_busy sees it) or counted in *@seen's change.
 */
static int live_park(struct plmc_store_hdr *h, __u64 *seen)
{
	__u64 a;

	__atomic_store_n(&pl.watch_parked, 1, __ATOMIC_SEQ_CST);
	a = __atomic_load_n(&pl.active, __ATOMIC_SEQ_CST);
	if (a == *seen && !(h && live_own_busy(h)))
		return 1;
	__atomic_store_n(&pl.watch_parked, 0, __ATOMIC_RELAXED);
	*seen = a;
	return 0;
}

/*
 * A thread of this process is about to call: it refreshed its clock
 * (pl_clock_refresh: on a thread's first call, then at most once per
 * PL_CLOCK_CYCLES, and on the first call after any pause) or calls
 * through a path with no refresh (slot.c). If the watcher is parked,
 * wake it (one eventfd write per park). pl.wake_fd is -1 without a
 * watcher (create, a fork child): parked is 0 then.
 */
void pl_live_poke(void)
{
	/* Seq_cst: pairs with live_park (see there). */
	__atomic_add_fetch(&pl.active, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pl.watch_parked, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&pl.watch_parked, 0, __ATOMIC_SEQ_CST) &&
	    pl.wake_fd >= 0 && eventfd_write(pl.wake_fd, 1))
		perror("plmc: waking the watcher"); /* cannot happen */
}

/*
 * A call found clock_due set (pl_clock_tick): the first call since the
 * watcher's last tick, or one while it does not tick. If it ticks, say
 * that this process still calls (clock_due := 0): the clock is at most
 * a tick old, nothing to read. Else put clock_due back and read the
 * clocks here, at most once per PL_CLOCK_CYCLES per thread; the refresh
 * pokes the watcher (pl.active), which starts ticking when it sees that
 * (live_clock).
 *
 * Dekker with live_clock()'s stop: clock_due := 0, then read clock_tick
 * here; clock_tick := 0, then read clock_due there (all seq_cst).
 * Either the watcher sees this call and keeps ticking, or this call
 * sees it stopped and reads the clock itself.
 */
void pl_clock_slow(struct plmc_store_hdr *h)
{
	__u64 t;

	/* Not ticking (or no watcher): clock_due stays set and calls keep
	 * coming here, a load and the TSC, until it ticks. */
	if (__atomic_load_n(&pl.clock_tick, __ATOMIC_RELAXED) &&
	    pl.wake_fd >= 0) {
		__atomic_store_n(&pl.clock_due, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&pl.clock_tick, __ATOMIC_SEQ_CST))
			return;
		__atomic_store_n(&pl.clock_due, 1, __ATOMIC_SEQ_CST);
	}
	t = __builtin_ia32_rdtsc();
	if (t - pl_tls_clock_tsc < PL_CLOCK_CYCLES)
		return;
	pl_tls_clock_tsc = t;
	pl_clock_refresh(h);
}

/*
 * The watcher's side of the clock, at each wake-up (@seen: pl.active at
 * the last one; @idle: ticks in a row with no call). Not ticking: start
 * when a call refreshed since (a poke moved pl.active). Ticking:
 * publish the clock (once per PL_TICK_MS: the only clock read while
 * this process calls) and ask again (clock_due := 1); after
 * PL_TICK_IDLE ticks that found clock_due still set (no call), stop
 * (see pl_clock_slow for the handshake). A caller that pauses for less
 * (preempted, between requests) finds it still ticking.
 * Return: the longest the next poll may sleep, PL_TICK_MS while
 * ticking, else -1 (no bound).
 */
static int live_clock(struct plmc_store_hdr *h, __u64 *seen, int *idle)
{
	__u64 a = __atomic_load_n(&pl.active, __ATOMIC_SEQ_CST);

	if (!h)
		return -1;
	if (!__atomic_load_n(&pl.clock_tick, __ATOMIC_RELAXED)) {
		if (a == *seen)
			return -1;
		*idle = 0;
	} else if (!__atomic_load_n(&pl.clock_due, __ATOMIC_SEQ_CST)) {
		*idle = 0;
	} else if (++*idle >= PL_TICK_IDLE) {
		__atomic_store_n(&pl.clock_tick, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&pl.clock_due, __ATOMIC_SEQ_CST)) {
			*seen = a;
			return -1; /* stopped: calls read the clock */
		}
		*idle = 0;
	}
	*seen = a;
	pl_clock_publish(h);
	/* Ticking before asking: a call between the two finds clock_due
	 * clear (the clock was just published) or the tick on. */
	__atomic_store_n(&pl.clock_tick, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&pl.clock_due, 1, __ATOMIC_SEQ_CST);
	return PL_TICK_MS;
}

static __u64 live_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (__u64)t.tv_sec * 1000 + (__u64)t.tv_nsec / 1000000;
}

/*
 * The watcher. With inotify: sleep until a close event (a death), or
 * PL_IDLE_MS (PL_DEEP_MS while another attachment is in a call) to ask
 * /proc about owners in a call; while this process makes no call, sleep
 * until an event or a call (live_park): an idle process does not wake.
 * Without inotify (fs.inotify.max_user_instances reached: one instance
 * per attached process), it looks every PL_POLL_MS, as it always did:
 * attach never fails for want of it. While this process calls, it also
 * wakes every PL_TICK_MS to publish the clock (live_clock); the looks
 * keep their own periods.
 */
static void *live_watch(void *arg)
{
	struct pollfd p[2] = {
		{.fd = pl.wake_fd, .events = POLLIN},
		{.fd = pl.watch_fd, .events = POLLIN},
	};
	int n = pl.watch_fd >= 0 ? 2 : 1, r, busy, sweep, look, tick;
	unsigned long k = 0;
	__u64 seen = __atomic_load_n(&pl.active, __ATOMIC_SEQ_CST), next, now;
	__u64 cseen = seen; /* pl.active at live_clock's last look */
	int idle = 0;	    /* ticks in a row with no call */
	eventfd_t v;

	(void)arg;
	busy = live_scan(PL_WATCH_ASK); /* deaths from before the watch */
	next = live_ms() + (n == 1 ? PL_POLL_MS
			    : busy ? PL_DEEP_MS
				   : PL_IDLE_MS);
	while (!__atomic_load_n(&pl.watch_stop, __ATOMIC_ACQUIRE)) {
		int ms;

		tick = live_clock(pl.hdr, &cseen, &idle);
		now = live_ms();
		ms = next > now ? (int)(next - now) : 0;
		if (tick >= 0 && tick < ms)
			ms = tick;
		else if (tick < 0 && n == 2 && live_park(pl.hdr, &seen))
			ms = -1;
		r = poll(p, (nfds_t)n, ms);
		__atomic_store_n(&pl.watch_parked, 0, __ATOMIC_RELAXED);
		if (r < 0)
			continue; /* EINTR */
		sweep = 0;
		/* A look at the slots once its period is up, as if each
		 * tick between were not there. */
		look = !r && (ms < 0 || live_ms() >= next);
		if (p[0].revents) {
			/* Detach (watch_stop) or a poke: look now. */
			(void)eventfd_read(pl.wake_fd, &v);
			if (__atomic_load_n(&pl.watch_stop, __ATOMIC_ACQUIRE))
				break;
			look = 1;
		}
		if (look) {
			++k;
			busy = live_scan(
				n == 2 || !(k % (PL_DEEP_MS / PL_POLL_MS))
					? PL_WATCH_ASK
					: 0);
			sweep = n == 1 && !(k % PL_POLL_SWEEP);
			next = live_ms() + (n == 1 ? PL_POLL_MS
					    : busy ? PL_DEEP_MS
						   : PL_IDLE_MS);
		} else if (r > 0 && p[1].revents &&
			   live_events(pl.watch_fd, &sweep)) {
			busy = live_scan(PL_WATCH_ASK);
		}
		if (sweep && pl.hdr)
			live_recount(pl.hdr);
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

/* "PID STARTTIME PIDNS\n" of this process into @buf. Return: length. */
static int live_ident(char *buf, size_t n)
{
	char path[64], st;
	unsigned long fl;
	unsigned long long start = 0;
	ssize_t k = readlink("/proc/self/ns/pid", live_ns, sizeof(live_ns) - 1);

	live_ns[k > 0 ? k : 0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getpid());
	if (proc_stat(path, &st, &fl, &start))
		start = 0;
	return snprintf(buf, n, "%d %llu %s\n", (int)getpid(), start,
			live_ns[0] ? live_ns : "-");
}

/* Context: pl_lock held; pl.attach_id and pl.hdr set. */
int pl_none_live_start(const char *name)
{
	char path[160], tmp[192], line[128];
	int fd, rc, len;

	snprintf(live_name, sizeof(live_name), "%s", name);
	live_path(path, sizeof(path), pl.attach_id);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	len = live_ident(line, sizeof(line));
	/* Blocking: a sweep (another process's) may be probing this new
	 * file with a shared lock for a moment; nobody else locks it. */
	if (flock(fd, LOCK_EX) || pwrite(fd, line, (size_t)len, 0) != len ||
	    fchmod(fd, 0644) || rename(tmp, path)) {
		rc = errno ? -errno : -EIO;
		unlink(tmp);
		close(fd);
		return rc;
	}
	pl.live_fd = fd;
	pl.watch_stop = 0;
	pl.watch_parked = 0;
	pl.clock_tick = 0;
	__atomic_store_n(&pl.clock_due, 1, __ATOMIC_SEQ_CST);
	/* Mark the dead before this process's first call: a newcomer whose
	 * every free slot is gone takes over the corpses' (gate.S), which
	 * it can only do once they are marked, and no one else may be
	 * attached to mark them. Then count the attached, this one too. */
	pl_none_scan();
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
		live_recount(pl.hdr);
	}
	return rc;
}

/* Detach: stop the watcher, then drop the lock file, then recount. */
void pl_none_live_stop(void)
{
	char path[160];

	if (pl.live_fd < 0)
		return;
	__atomic_store_n(&pl.watch_stop, 1, __ATOMIC_RELEASE);
	if (eventfd_write(pl.wake_fd, 1))
		perror("plmc: waking the watcher"); /* cannot happen */
	pthread_join(pl.watch, NULL);
	/* No watcher: calls read the clock themselves (pl_clock_slow). */
	pl.clock_tick = 0;
	__atomic_store_n(&pl.clock_due, 1, __ATOMIC_SEQ_CST);
	live_watch_close();
	live_path(path, sizeof(path), pl.attach_id);
	unlink(path);
	close(pl.live_fd);
	pl.live_fd = -1;
	if (pl.hdr)
		live_recount(pl.hdr);
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
	pl.watch_parked = 0;
	/* The parent's watcher ticks for the parent only. */
	pl.clock_tick = 0;
	pl.clock_due = 1;
}

/* plctl destroy --force: the liveness files of @name, held or not. */
void pl_none_live_remove(const char *name)
{
	char pre[PLMC_NAME_LEN + 16], path[sizeof(PL_SHM) + 256];
	size_t np = (size_t)snprintf(pre, sizeof(pre), ".plmc.%s.", name);
	struct dirent *d;
	DIR *dir = opendir(PL_SHM);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char *end;

		if (strncmp(d->d_name, pre, np) || d->d_name[np] < '0' ||
		    d->d_name[np] > '9')
			continue;
		strtoull(d->d_name + np, &end, 10);
		if (strncmp(end, ".live", 5))
			continue;
		snprintf(path, sizeof(path), PL_SHM "%s", d->d_name);
		unlink(path);
	}
	closedir(dir);
}
