// SPDX-License-Identifier: MIT
/*
 * plmcd/daemon.c - -d: run in the background, but fail in the foreground.
 *
 * daemon(3) returns in the child at once, so a daemon that then cannot
 * attach its store (permission, a full /dev/shm, a module refusal) dies
 * where nobody reads its stderr while the parent has exited 0. Here the
 * parent waits: the child's stderr is a pipe to the parent until the
 * child is serving. daemon_ready() writes one NUL byte and points stderr
 * at /dev/null; the parent copies everything before that byte to its own
 * stderr and exits 0 on the NUL, 1 on end of file without it (the child
 * failed and exits).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "plmcd.h"

static int ready_fd = -1; /* the pipe's write end, in the child */

/* The parent: relay the child's words until its NUL or its end. */
static void __attribute__((noreturn)) daemon_parent(int rfd, pid_t child)
{
	char buf[512];
	ssize_t n;
	int st;

	for (;;) {
		n = read(rfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf[n - 1] == '\0') { /* the child serves */
			if (n > 1 && write(2, buf, (size_t)n - 1) < 0)
				_exit(0);
			_exit(0);
		}
		if (write(2, buf, (size_t)n) < 0)
			break;
	}
	/* No NUL: the child failed before serving and is exiting. Its pid
	 * file may be left where the user -u names could not unlink it. */
	waitpid(child, &st, 0);
	if (g_opt.pidfile)
		unlink(g_opt.pidfile);
	if (unix_made) /* bound here, before the fork: ours to remove */
		unlink(g_opt.unix_path);
	_exit(1);
}

static int redirect(int fd, const char *path, int flags)
{
	int nfd = open(path, flags | O_CLOEXEC);

	if (nfd < 0)
		return -1;
	if (nfd != fd && dup2(nfd, fd) < 0) {
		close(nfd);
		return -1;
	}
	if (nfd != fd)
		close(nfd);
	return 0;
}

int daemon_start(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		perror("plmcd: daemon: pipe");
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("plmcd: daemon: fork");
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		daemon_parent(p[0], pid);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") || redirect(0, "/dev/null", O_RDONLY) ||
	    redirect(1, "/dev/null", O_WRONLY) || dup2(p[1], 2) < 0) {
		perror("plmcd: daemon");
		return -1;
	}
	ready_fd = p[1]; /* fd 2 is a copy; both close in daemon_ready() */
	return 0;
}

/*
 * Foreground, before root is dropped: a root child keeps the right to
 * remove the socket and pid file this run made (the user -u names may
 * not unlink root's files in a sticky /tmp). It waits on a pipe: a byte
 * (daemon_ready) means plmcd serves and the files are its own to remove
 * at exit; end of file without it means plmcd failed before serving.
 */
static int janitor_fd = -1;
static pid_t janitor_pid;

static void __attribute__((noreturn)) janitor(int rfd)
{
	char c;
	ssize_t n;

	signal(SIGINT, SIG_IGN); /* a terminal's ^C: plmcd's end is ours */
	signal(SIGHUP, SIG_IGN);
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0 && unix_made)
		unlink(g_opt.unix_path);
	if (n <= 0 && pidfile_made)
		unlink(g_opt.pidfile);
	_exit(0);
}

int janitor_start(void)
{
	int p[2];

	if (geteuid() != 0 || (!unix_made && !pidfile_made))
		return 0; /* nothing a dropped user could not remove */
	if (pipe2(p, O_CLOEXEC)) {
		perror("plmcd: pipe");
		return -1;
	}
	fflush(NULL);
	janitor_pid = fork();
	if (janitor_pid < 0) {
		perror("plmcd: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (janitor_pid == 0) {
		close(p[1]);
		janitor(p[0]);
	}
	close(p[0]);
	janitor_fd = p[1];
	return 0;
}

static void janitor_release(void)
{
	if (janitor_fd < 0)
		return;
	if (write(janitor_fd, "", 1) < 0) {
		/* gone: nothing left to tell */
	}
	close(janitor_fd);
	janitor_fd = -1;
	waitpid(janitor_pid, NULL, 0); /* it exits on the byte */
}

void daemon_ready(void)
{
	janitor_release();
	if (ready_fd < 0)
		return;
	fflush(stderr);
	/* The parent exits 0 on this byte; until then it waits. */
	if (write(ready_fd, "", 1) < 0) {
		/* the parent is gone: nobody to tell */
	}
	redirect(2, "/dev/null", O_WRONLY);
	close(ready_fd);
	ready_fd = -1;
}
