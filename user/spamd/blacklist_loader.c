// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The process that loads the lists. Reading, gunzipping and parsing what
 * list servers send, and running the commands that fetch it, is the
 * riskiest work greywalld does and the slowest: it runs here, apart from
 * the parent's event loop, as the tarpit's unprivileged user, with no
 * descriptor of the parent's but its pipe and nothing of its environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spamd/blacklist.h"
#include "lib/log.h"
#include "spamd/privsep.h"

/* Where the set goes, in the loader: fds 0-2 stay, everything above it is closed. */
#define LOADER_OUT_FD 3

/* Exit statuses of the loader, for the parent's log. */
enum {
	LOADER_EXIT_BUILD = 1,	/* building the set failed (out of memory) */
	LOADER_EXIT_SEND = 2,	/* the pipe broke */
	LOADER_EXIT_SETUP = 70, /* no privilege drop, no clean environment */
};

static void stop_loading(int sig)
{
	(void)sig;
	blacklist_kill_running();
	_exit(128 + SIGTERM);
}

static void __attribute__((noreturn)) loader_main(const struct list_def *defs, size_t n,
						  const struct blacklist_options *opts,
						  const char *user, int out)
{
	struct sigaction term = { .sa_handler = stop_loading };
	struct blacklist_set *set = NULL;
	char err[256];
	sigset_t none;
	int ret;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	sigaction(SIGTERM, &term, NULL);
	if (dup2(out, LOADER_OUT_FD) < 0 || close_range(LOADER_OUT_FD + 1, ~0U, 0)) {
		log_err("list loader: descriptors: %m");
		_exit(LOADER_EXIT_SETUP);
	}
	ret = privsep_drop(user);
	if (!ret && (clearenv() || setenv("PATH", BLACKLIST_PATH, 1)))
		ret = -ENOMEM;
	if (ret) {
		log_err("list loader: cannot drop privileges to \"%s\": %s", user,
			strerror(-ret));
		_exit(LOADER_EXIT_SETUP);
	}
	ret = blacklist_set_build(defs, n, opts, &set, err, sizeof(err));
	if (ret) {
		log_err("list loader: %s", err[0] ? err : strerror(-ret));
		_exit(LOADER_EXIT_BUILD);
	}
	_exit(blacklist_set_send(set, LOADER_OUT_FD) ? LOADER_EXIT_SEND : 0);
}

int blacklist_loader_start(const struct list_def *defs, size_t n,
			   const struct blacklist_options *opts, const char *user, pid_t *pid,
			   int *fd)
{
	int fds[2], ret;
	pid_t child;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	child = fork();
	if (child < 0) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	if (child == 0) {
		close(fds[0]);
		loader_main(defs, n, opts, user, fds[1]);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	*pid = child;
	*fd = fds[0];
	return 0;
}
