/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The metrics child's server: one process, one epoll loop, no threads.
 * It accepts scrapers on the listening sockets it is given, reads each
 * request's head (http.h), and for GET /metrics asks the parent for the
 * text (METRICS, privsep.h) and sends it as the answer's body; anything
 * else gets its error answer from the server itself. Every answer ends
 * with the connection (Connection: close).
 *
 * Bounds:
 * - METRICS_CONN_MAX connections; one more is accepted and closed at once.
 * - A request's head within HTTP_REQUEST_MAX bytes and METRICS_REQUEST_TIMEOUT
 *   seconds of the accept (however slowly its bytes come), the whole answer
 *   within METRICS_ANSWER_TIMEOUT seconds of the accept: a stalled or slow
 *   client is closed, and holds no more than its slot and buffers meanwhile.
 * - One METRICS in flight: scrapes that come meanwhile wait for its answer
 *   and share it. The parent's answer is at most PRIVSEP_METRICS_MAX bytes;
 *   it is kept once, however many connections send it. When the parent
 *   does not answer within METRICS_PARENT_TIMEOUT seconds, the waiting
 *   scrapes get 503.
 */
#ifndef __GREYWALL_METRICS_SERVER_H
#define __GREYWALL_METRICS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "child/child_loop.h"

#define METRICS_LISTEN_MAX 4
#define METRICS_CONN_MAX 32
#define METRICS_REQUEST_TIMEOUT 10
#define METRICS_ANSWER_TIMEOUT 30
#define METRICS_PARENT_TIMEOUT 10

/*
 * Serve on cfg's sockets (1..METRICS_LISTEN_MAX listening TCP sockets),
 * reading the time from clock (NULL: CLOCK_MONOTONIC), until the parent
 * closes its end or SIGTERM comes: both return 0. Returns -EINVAL for a bad config, -errno when setting up fails,
 * -EPROTO/-EMSGSIZE/-errno when the parent's channel fails. The listening
 * sockets and parent_fd stay open (they are the caller's).
 */
int metrics_server_run(const struct child_server_config *cfg, const struct child_clock *clock);

#endif /* __GREYWALL_METRICS_SERVER_H */
