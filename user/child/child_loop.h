/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What a confined listener child's epoll loop (policy/server.c,
 * metrics/server.c) holds alike, set up and torn down in one place:
 * SIGTERM blocked and read from a signalfd, the epoll instance, the
 * listening sockets (lib/listener.h) and the parent's socketpair with its
 * privsep reader and writer, and the log sink that sends log lines to the
 * parent as LOG. Each server keeps its connections and its dispatch; the
 * tags below are those its epoll events carry for the shared descriptors,
 * its connections' tags start past CHILD_TAG_LISTEN + its listener bound.
 */
#ifndef __GREYWALL_CHILD_LOOP_H
#define __GREYWALL_CHILD_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/listener.h"
#include "spamd/privsep.h"

/* What a listener child's server is given: child_main() fills it from its command line. */
struct child_server_config {
	const int *listen_fds;	/* listening stream sockets; made nonblocking */
	size_t nlisten;
	int parent_fd;		/* the child's end of the socketpair; made nonblocking */
	/* Log lines go to the parent as LOG (privsep.h), not to stderr or syslog. */
	bool log_to_parent;
};

/* Where a child's server reads the time; tests move it. */
struct child_clock {
	uint64_t (*monotonic_ms)(void *ctx);	/* milliseconds that never go back */
	void *ctx;
};

enum child_loop_tag {
	CHILD_TAG_SIGNAL = 1,
	CHILD_TAG_PARENT = 2,
	CHILD_TAG_LISTEN = 16,	/* + the listener's index */
};

struct child_loop {
	int epfd, sigfd;
	int parent_fd;
	struct child_clock clock;
	sigset_t old_mask;
	bool mask_saved;
	bool log_to_parent;
	struct listeners listen;	/* the listening sockets, paused or not */
	struct privsep_reader reader;	/* from the parent */
	struct privsep_writer writer;	/* to the parent */
};

/*
 * Check cfg's descriptors (-EINVAL for no parent_fd, no listener or more
 * than listen_max: then nothing is done); take the clock (NULL, or no
 * function in it: CLOCK_MONOTONIC), the writer on parent_fd and, with
 * log_to_parent, the log sink that sends LOG to the parent (a line over
 * PRIVSEP_LOG_MAX is cut). Returns 0 or -EINVAL; after 0,
 * child_loop_teardown() undoes whatever was done, whatever failed since.
 */
int child_loop_init(struct child_loop *l, const struct child_server_config *cfg,
		    size_t listen_max, const struct child_clock *clock);

/*
 * Block SIGTERM and take it from a signalfd, make the epoll instance, make
 * parent_fd and the listening sockets nonblocking and register them
 * (parent_fd edge-triggered for input and output), and start the reader.
 * Returns 0 or -errno.
 */
int child_loop_setup(struct child_loop *l);

/* A CHILD_TAG_SIGNAL event: whether SIGTERM came (then the loop ends). */
bool child_loop_signalled(struct child_loop *l);

/*
 * After the server closed its connections: what is queued for the parent
 * flushed, the log sink back to the default, the reader and writer freed,
 * the descriptors closed (not parent_fd nor the listeners: the caller's),
 * the signal mask as it was.
 */
void child_loop_teardown(struct child_loop *l);

/* The loop's clock, in milliseconds. */
uint64_t child_loop_now_ms(const struct child_loop *l);

#endif /* __GREYWALL_CHILD_LOOP_H */
