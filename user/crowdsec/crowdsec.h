/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The CrowdSec client's parent side, in greywalld's event loop: it starts
 * the crowdsec child (client.c, unprivileged, the only part that talks to
 * the Local API), applies the ban decisions the child pulls to the
 * config's pull table through the tables' one evidence path, expires them
 * at their own ends, and sends additions to the push tables to the child
 * as alerts, batched, from a bounded queue.
 *
 * Held decisions (id, address, end) and what CrowdSec holds from us
 * (address, end) are kept in the store, so a restart with the LAPI down
 * keeps every entry with its own end and pushes nothing twice.
 */
#ifndef __GREYWALL_CROWDSEC_H
#define __GREYWALL_CROWDSEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct daemon;

/* Alerts a push batch carries at most. */
#define CROWDSEC_PUSH_BATCH 100
/*
 * The widest networks a decision may ban: a wider one (0.0.0.0/0 from a
 * typo) is refused, counted and logged.
 */
#define CROWDSEC_WIDEST4 8
#define CROWDSEC_WIDEST6 16
/* Seconds before a child that ended is started again. */
#define CROWDSEC_RESTART_DELAY 5

/*
 * Open the client's store tables, read the held decisions back and start
 * the child (nothing without a crowdsec block). Returns 0 or -errno with
 * the message in err.
 */
int crowdsec_start(struct daemon *d, char *err, size_t errlen);
/*
 * crowdsec_start() is these two and a fork: the state and the store
 * (no child), then a child's socket taken (the settings sent to it).
 * A unit test plays the child on a socketpair of its own.
 */
int crowdsec_open(struct daemon *d, char *err, size_t errlen);
int crowdsec_attach(struct daemon *d, int fd, pid_t pid, char *err, size_t errlen);
/* The child's socket, for the loop; -1 when none. */
int crowdsec_fd(const struct daemon *d);
/* The child's socket is readable: apply a bounded piece of what it sent. */
void crowdsec_read(struct daemon *d);
/* Whether more of what the child sent is waiting (the loop comes back at once). */
bool crowdsec_pending(const struct daemon *d);
/* Once a second: decisions that ended, the next push batch, a child to restart. */
void crowdsec_periodic(struct daemon *d, int64_t now);
/* SIGCHLD: true when pid was the child. */
bool crowdsec_reaped(struct daemon *d, pid_t pid, int status);
/*
 * After a reload applied d->cfg: a changed crowdsec block restarts the
 * child with the new settings (held decisions stay); a removed one stops
 * it. Returns 0 or -errno with the message in err.
 */
int crowdsec_reload(struct daemon *d, char *err, size_t errlen);
/* Stop the child and free everything (the store keeps the state). */
void crowdsec_close(struct daemon *d);
/* `greywallctl crowdsec show`. */
void crowdsec_show(struct daemon *d, FILE *out);
/* `greywallctl crowdsec pull`: ask the child to pull now. Returns 0 or -errno. */
int crowdsec_pull_now(struct daemon *d);

struct expo;
/* The CrowdSec client's metrics (metrics/render.h): what `crowdsec show` counts. */
void crowdsec_metrics(struct daemon *d, struct expo *e);

#endif /* __GREYWALL_CROWDSEC_H */
