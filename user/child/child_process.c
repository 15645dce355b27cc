// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A confined listener child seen from the parent: fork and exec, its
 * socket, restarts, reaping. See child_process.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child/child_main.h"
#include "child/child_process.h"
#include "lib/log.h"
#include "spamd/spamd_child.h"

void child_process_init(struct child_process *c, const char *name, const char *option)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->option = option;
	c->fd = -1;
}

int child_process_attach(struct child_process *c, int epoll_fd, int fd, pid_t pid)
{
	int ret = privsep_reader_init(&c->reader, fd);

	if (ret)
		return ret;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	privsep_writer_init(&c->writer, fd);
	c->fd = fd;
	c->pid = pid;
	c->restart_at = 0;
	c->want_write = false;
	c->paused = false;
	if (epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

int child_process_start(struct child_process *c, int epoll_fd, const char *state_dir,
			const int *listen_fds, size_t nlisten, char *err, size_t errlen)
{
	char empty_dir[PATH_MAX], fds[CHILD_LISTEN_MAX + 1][16];
	char *argv[CHILD_LISTEN_MAX + 5];
	int keep[CHILD_LISTEN_MAX + 1];
	size_t argc = 0;
	int sv[2], ret;
	pid_t pid;

	if (nlisten > CHILD_LISTEN_MAX) {
		snprintf(err, errlen, "%s: more than %d sockets", c->name, CHILD_LISTEN_MAX);
		return -E2BIG;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, errlen, "%s: socketpair: %s", c->name, strerror(errno));
		return -errno;
	}
	/* The child's command line, made before the fork (child_main.h). */
	snprintf(empty_dir, sizeof(empty_dir), "%s/" SPAMD_CHILD_ROOT, state_dir);
	argv[argc++] = "greywalld";
	argv[argc++] = (char *)c->option;
	argv[argc++] = empty_dir;
	snprintf(fds[0], sizeof(fds[0]), "%d", sv[1]);
	argv[argc++] = fds[0];
	keep[0] = sv[1];
	for (size_t i = 0; i < nlisten; i++) {
		snprintf(fds[i + 1], sizeof(fds[i + 1]), "%d", listen_fds[i]);
		argv[argc++] = fds[i + 1];
		keep[i + 1] = listen_fds[i];
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: fork: %s", c->name, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		spamd_child_exec(c->name, keep, nlisten + 1, argv, CHILD_EXIT_SETUP);
	}
	close(sv[1]);
	ret = child_process_attach(c, epoll_fd, sv[0], pid);
	if (ret) {
		close(sv[0]);
		kill(pid, SIGTERM);
		snprintf(err, errlen, "%s: %s", c->name, strerror(-ret));
		return ret;
	}
	if (c->started)
		c->restarts++;
	c->started = true;
	return 0;
}

void child_process_want_write(struct child_process *c, int epoll_fd, bool write)
{
	struct epoll_event ev = { .events = EPOLLIN | (write ? EPOLLOUT : 0), .data.fd = c->fd };

	if (epoll_fd < 0 || c->fd < 0 || c->want_write == write)
		return;
	if (!epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev))
		c->want_write = write;
}

/* Forget the child's socket (it died or is being stopped). */
static void drop_io(struct child_process *c, int epoll_fd)
{
	if (c->fd < 0)
		return;
	if (epoll_fd >= 0)
		epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->want_write = false;
	c->paused = false;
	privsep_reader_free(&c->reader);
	privsep_writer_free(&c->writer);
}

void child_process_stop(struct child_process *c, int epoll_fd)
{
	drop_io(c, epoll_fd);
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

static void schedule_restart(struct child_process *c, int epoll_fd, int delay)
{
	drop_io(c, epoll_fd);
	if (!c->restart_at)
		c->restart_at = (int64_t)time(NULL) + delay;
}

void child_process_restart(struct child_process *c, int epoll_fd)
{
	if (c->pid > 0)
		kill(c->pid, SIGTERM);
	schedule_restart(c, epoll_fd, CHILD_RESTART_DELAY);
}

bool child_process_reaped(struct child_process *c, int epoll_fd, pid_t pid, int status)
{
	bool setup;

	if (pid != c->pid || pid <= 0)
		return false;
	setup = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_SETUP;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_err("%s child (pid %d) killed by SIGSYS: a seccomp violation: restarting it",
			c->name, (int)pid);
	else if (WIFSIGNALED(status))
		log_err("%s child (pid %d) killed by signal %d: restarting it", c->name, (int)pid,
			WTERMSIG(status));
	else
		log_err("%s child (pid %d) exited with status %d: restarting it in %ds", c->name,
			(int)pid, WEXITSTATUS(status),
			setup ? CHILD_SETUP_DELAY : CHILD_RESTART_DELAY);
	c->pid = 0;
	schedule_restart(c, epoll_fd, setup ? CHILD_SETUP_DELAY : CHILD_RESTART_DELAY);
	return true;
}

int child_process_periodic(struct child_process *c, int epoll_fd, int64_t now,
			   const char *state_dir, const int *listen_fds, size_t nlisten)
{
	char err[256];
	int ret;

	if (!c->restart_at || now < c->restart_at || c->pid > 0)
		return 0;
	c->restart_at = 0;
	ret = child_process_start(c, epoll_fd, state_dir, listen_fds, nlisten, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		c->restart_at = now + CHILD_RESTART_DELAY;
		return ret;
	}
	return 1;
}
