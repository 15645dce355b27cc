/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The Prometheus endpoint, seen from the privileged parent: the listening
 * socket of `set metrics-listen` (made here, as root, before the child
 * gets it), the metrics child's fork and exec (metrics_child.h), its
 * METRICS requests answered with the text render.h makes, restarts when
 * it dies. The parent never reads HTTP: the child does.
 *
 * The answer is rendered into a buffer and queued on the child's socket
 * without blocking (the socket is written when it is writable); a child
 * that does not read what is queued is restarted. Renders are at least
 * METRICS_RENDER_MIN_MS apart: scrapes closer than that get the last text.
 */
#ifndef __GREYWALL_METRICS_H
#define __GREYWALL_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "child/child_process.h"
#include "metrics/expo.h"
#include "metrics/metrics_child.h"
#include "spamd/privsep.h"

struct config;
struct daemon;

#define METRICS_RENDER_MIN_MS 500
/* Messages read from the child a wakeup at most. */
#define METRICS_READ_BATCH 16

struct metrics {
	int listen_fd;
	struct child_process child;	/* its socket, restarts (counted there) */
	struct expo text;		/* the last render */
	uint64_t rendered_ms;		/* when (CLOCK_MONOTONIC); 0: never */
	uint64_t scrapes, renders, render_errors;
};

/* Open the socket and start the child; nothing without metrics-listen. 0 or -errno and err. */
int metrics_start(struct daemon *d, char *err, size_t errlen);
void metrics_stop(struct daemon *d);
/* After a reload (d->cfg the new config): start the endpoint when it is new, stop it when gone. */
int metrics_reload(struct daemon *d, char *err, size_t errlen);
/* Whether next moves the running endpoint: a reload cannot, a restart must. */
bool metrics_listen_changed(const struct daemon *d, const struct config *next);
/* Take fd as the child pid's socket (after the fork; tests pass a socketpair). */
int metrics_attach(struct daemon *d, int fd, pid_t pid);
bool metrics_owns_fd(const struct daemon *d, int fd);
/* The child's socket is readable or writable: send what waits, answer METRICS. */
void metrics_io(struct daemon *d);
/* Whether messages may wait in the reader's buffer: call metrics_io() again soon. */
bool metrics_pending(const struct daemon *d);
/* A child ended (SIGCHLD): true when it was the metrics child. */
bool metrics_reaped(struct daemon *d, pid_t pid, int status);
/* Once a second: a due restart. */
void metrics_periodic(struct daemon *d, int64_t now);

#endif /* __GREYWALL_METRICS_H */
