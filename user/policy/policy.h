/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The policy service, seen from the privileged parent: the listening
 * sockets of the policy block (made here, as root, before the child gets
 * them), the policy child's fork and exec (policy_child.h), its POLICY
 * messages decided (decide.h) a batch to one store transaction and
 * answered with VERDICTs, restarts when it dies, `greywallctl policy show`.
 */
#ifndef __GREYWALL_POLICY_H
#define __GREYWALL_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "child/child_process.h"
#include "policy/decide.h"
#include "policy/policy_child.h"
#include "spamd/privsep.h"

struct config;
struct daemon;

/* POLICY messages one read decides at most, in one store transaction. */
#define POLICY_BATCH 128

struct policy_counts {
	uint64_t requests;			/* POLICY messages decided */
	uint64_t answers[POLICY_ANSWERS];	/* by kind */
	uint64_t protocol_errors;		/* the child's channel failed: it was restarted */
	uint64_t store_errors;			/* batches whose commit failed */
};

struct policy_verdict {
	uint32_t req_id;
	enum policy_answer answer;
	char action[PRIVSEP_ACTION_MAX + 1];
};

struct policy {
	int listeners[POLICY_LISTEN_MAX];
	size_t nlisteners;
	/* The unix sockets we made, removed at stop when they are still ours. */
	char *paths[POLICY_LISTEN_MAX];
	ino_t inodes[POLICY_LISTEN_MAX];
	struct child_process child;	/* its socket, restarts (counted there) */
	struct policy_instances instances;
	struct policy_verdict *verdicts; /* POLICY_BATCH of them */
	struct policy_counts counts;
};

/*
 * Open the policy block's sockets (unix: a stale socket removed, bound,
 * chowned to root:group and chmodded; TCP as the tarpit's) and start the
 * child. From the event loop, after spamd_start(). Nothing without a
 * policy block. Returns 0 or -errno with a message in err.
 */
int policy_start(struct daemon *d, char *err, size_t errlen);
/* Stop the child (SIGTERM, then reap), close the sockets and remove the unix ones. */
void policy_stop(struct daemon *d);
/*
 * After a reload (d->cfg the new config): start the service when the
 * block is new, stop it when it is gone; the other settings apply at
 * once (they are read from d->cfg at every decision).
 */
int policy_reload(struct daemon *d, char *err, size_t errlen);
/* Whether next moves the sockets of the running service: a reload cannot, a restart must. */
bool policy_listen_changed(const struct daemon *d, const struct config *next);

/*
 * Take fd (nonblocking from now on) as the socket of the child pid: what
 * policy_start() does after the fork, and what tests do with a
 * socketpair. Returns 0 or -errno.
 */
int policy_attach(struct daemon *d, int fd, pid_t pid);
/* Whether fd is the child's socket. */
bool policy_owns_fd(const struct daemon *d, int fd);
/*
 * The child's socket is readable: decide up to POLICY_BATCH POLICY
 * messages in one store transaction (a request that may trap ends it
 * first and is decided on its own), then send their VERDICTs. Log lines
 * go to the log.
 */
void policy_read(struct daemon *d);
/* Whether messages may wait in the reader's buffer: call policy_read() again soon. */
bool policy_pending(const struct daemon *d);
/* A child ended (SIGCHLD): true when it was the policy child (restarted after a delay). */
bool policy_reaped(struct daemon *d, pid_t pid, int status);
/* Once a second: a due restart, queued VERDICTs. */
void policy_periodic(struct daemon *d, int64_t now);
/* `greywallctl policy show`: sockets, the child, requests, answers by kind, errors. */
void policy_show(const struct daemon *d, FILE *out);

struct expo;
/* The policy service's metrics (metrics/render.h): what `policy show` counts. */
void policy_metrics(const struct daemon *d, struct expo *e);

#endif /* __GREYWALL_POLICY_H */
