/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The policy child's server: one process, one epoll loop, no threads. It
 * accepts Postfix's connections on every listening socket it is given
 * (unix or TCP), reads requests (request.h), hands each good one to the
 * parent as a POLICY message and writes the parent's VERDICT back as
 * "action=...\n\n" (privsep.h).
 *
 * What it does:
 * - One request in flight per connection: Postfix waits for each answer.
 *   A client that sends the next request before its answer (pipelining)
 *   is answered in order: the next one is read once the answer is out.
 * - A request's id in POLICY is unique among those unanswered; a VERDICT
 *   for an id it does not know (answered, timed out, its client gone) is
 *   ignored. Anything else from the parent, or a malformed line, ends the
 *   server.
 * - Malformed requests are answered by the server itself with
 *   POLICY_ANSWER_MALFORMED (request.h says which), a request whose
 *   framing is lost too, and then the connection is closed. A request the
 *   parent did not answer within POLICY_VERDICT_TIMEOUT seconds gets
 *   POLICY_ANSWER_NO_VERDICT. Those faults are logged, at most
 *   POLICY_LOG_BURST lines a second.
 * - At most POLICY_CONN_MAX connections: one more is accepted and closed at
 *   once, so that Postfix sees the failure now and applies its
 *   smtpd_policy_service_default_action (451 4.3.5) instead of waiting in
 *   the backlog for its own timeout. On EMFILE/ENFILE accepting pauses 1 s.
 * - A connection with nothing pending is closed after POLICY_IDLE_TIMEOUT
 *   seconds (longer than Postfix's smtpd_policy_service_max_idle, 300 s,
 *   so Postfix closes first); a request not complete POLICY_STALL_TIMEOUT
 *   seconds after its first byte came, or an answer the client does not
 *   take for as long, closes it too.
 * - When more than POLICY_PARENT_QUEUE_HIGH bytes wait for the parent,
 *   no new request is sent until it has read them: a connection whose
 *   next request is whole keeps it and reads no more, the rest stay in its
 *   socket. Nothing is dropped; a request that waits so for
 *   POLICY_VERDICT_TIMEOUT seconds gets POLICY_ANSWER_NO_VERDICT.
 *
 * Memory: a connection costs a 48-byte slot and nothing else while idle;
 * its input buffer (at most POLICY_REQUEST_MAX bytes) exists only while a
 * request is partial or waits, its output buffer only while an answer
 * did not go out whole.
 */
#ifndef __GREYWALL_POLICY_SERVER_H
#define __GREYWALL_POLICY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "child/child_loop.h"
#include "policy/policy_child.h"

#define POLICY_CONN_MAX 1024
#define POLICY_IDLE_TIMEOUT 600
#define POLICY_STALL_TIMEOUT 30
#define POLICY_VERDICT_TIMEOUT 10
#define POLICY_LOG_BURST 10
/* Bytes queued for the parent before requests wait (a POLICY is at most ~50 KB). */
#define POLICY_PARENT_QUEUE_HIGH (1024 * 1024)

/*
 * Serve on cfg's sockets (1..POLICY_LISTEN_MAX listening stream sockets,
 * unix or TCP), reading the time from clock (NULL: CLOCK_MONOTONIC),
 * until the parent closes its end or SIGTERM comes (blocked while it
 * runs, taken from a signalfd): both return 0. Returns -EINVAL for a bad
 * config, -errno when setting up fails, -EPROTO/-EMSGSIZE/-errno when the
 * parent's channel fails. Connections are closed on the way out; the
 * listening sockets and parent_fd stay open (they are the caller's).
 */
int policy_server_run(const struct child_server_config *cfg, const struct child_clock *clock);

#endif /* __GREYWALL_POLICY_SERVER_H */
