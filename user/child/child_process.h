/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A confined listener child seen from the privileged parent (the policy
 * service's, policy/policy.c; the metrics endpoint's, metrics/metrics.c):
 * its fork and exec with the listening sockets the parent made as root
 * (child/child_main.h is the other end), the socketpair with its privsep
 * reader and writer registered with the daemon's epoll, restarts after a
 * delay when it dies or breaks the protocol, and its reaping. What the
 * parent reads from the child and answers is the caller's.
 *
 * The tarpit child (spamd/spamd_child.c) is not one of these: it has a
 * second socketpair, gets its settings after the fork and restarts
 * without a setup delay.
 */
#ifndef __GREYWALL_CHILD_PROCESS_H
#define __GREYWALL_CHILD_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spamd/privsep.h"

/* A child that died is started again after this many seconds. */
#define CHILD_RESTART_DELAY 1
/* One that could not set itself up (CHILD_EXIT_SETUP), after this many. */
#define CHILD_SETUP_DELAY 10

struct child_process {
	const char *name;	/* "policy": the prefix of its messages */
	const char *option;	/* argv[1] of its command line */
	int fd;			/* our end of the socketpair; -1: no child */
	pid_t pid;		/* 0: none to reap */
	int64_t restart_at;	/* 0: no restart pending */
	bool started;		/* a child ran once: later ones are restarts */
	bool want_write;	/* EPOLLOUT registered */
	bool paused;		/* the caller stopped reading with messages maybe buffered */
	uint64_t restarts;	/* children started after the first */
	struct privsep_reader reader;
	struct privsep_writer writer;
};

/* No child yet; name and option are kept (static strings). */
void child_process_init(struct child_process *c, const char *name, const char *option);

/*
 * Take fd (nonblocking from now on) as the socket of the child pid and
 * watch it for input with epoll_fd (-1: none): what child_process_start()
 * does after the fork, and what tests do with a socketpair. 0 or -errno.
 */
int child_process_attach(struct child_process *c, int epoll_fd, int fd, pid_t pid);

/*
 * Fork and exec `greywalld <option> <state_dir>/empty <parent-fd>
 * <listen-fd>...`, the child keeping only its socketpair end and the
 * nlisten listen_fds, and attach its socket. Counts a restart when a child
 * ran before. Returns 0 or -errno with a message in err.
 */
int child_process_start(struct child_process *c, int epoll_fd, const char *state_dir,
			const int *listen_fds, size_t nlisten, char *err, size_t errlen);

/* Watch the child's socket for output too, or no more. */
void child_process_want_write(struct child_process *c, int epoll_fd, bool write);

/* Stop the child: its socket closed, SIGTERM, and reaped. */
void child_process_stop(struct child_process *c, int epoll_fd);

/*
 * The child's channel failed (the caller logged why): SIGTERM to the
 * child, its socket closed, a start again CHILD_RESTART_DELAY from now.
 */
void child_process_restart(struct child_process *c, int epoll_fd);

/*
 * A child ended (SIGCHLD): when it was this one, log how, close its
 * socket, and start again after CHILD_RESTART_DELAY, or CHILD_SETUP_DELAY
 * when it could not set itself up. Returns whether it was this one.
 */
bool child_process_reaped(struct child_process *c, int epoll_fd, pid_t pid, int status);

/*
 * Once a second: start the child when its restart is due. Returns 1 when
 * one started (the caller says so in the log), 0 when none was due, or
 * -errno when starting failed (logged; tried again after
 * CHILD_RESTART_DELAY).
 */
int child_process_periodic(struct child_process *c, int epoll_fd, int64_t now,
			   const char *state_dir, const int *listen_fds, size_t nlisten);

#endif /* __GREYWALL_CHILD_PROCESS_H */
