/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Overload events (greywall.conf(5), CONNECTION LIMITS): the data path refuses the handshake that
 * breaks a max-src-conn or max-src-conn-rate limit itself and sends an
 * event through the gw_events ring; greywalld then puts the source into
 * the rule's overload table with the evidence (rule, limit, counts, time),
 * kills its connections as the rule's `flush [global]` says, and clears the
 * source's `overloaded` mark so the data path sends the next trigger again.
 */
#ifndef __GREYWALL_OVERLOAD_H
#define __GREYWALL_OVERLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "greywall.h"

struct daemon;
struct ring_buffer;

struct overload {
	struct daemon *d;
	struct ring_buffer *ring;
	struct gw_event *pending;	/* read from the ring, not applied yet */
	size_t n, cap;
	uint64_t lost_seen;		/* GW_STAT_EVENTS_LOST already logged */
	uint64_t applied;		/* events applied since start */
};

/*
 * Open the ring of d->dp.events. Its descriptor (overload_fd()) becomes
 * readable when events wait. Returns 0 or -errno.
 */
int overload_open(struct overload *ov, struct daemon *d);
void overload_close(struct overload *ov);
int overload_fd(const struct overload *ov);

/* Apply every event waiting in the ring. Returns how many, or -errno. */
int overload_poll(struct overload *ov);

/*
 * Once a second: poll, and log events the data path could not send (a full
 * ring; it sends them again on the source's next offending handshake).
 * Returns how many events were applied, or -errno.
 */
int overload_periodic(struct overload *ov);

/*
 * Apply events to d: table entries with evidence (one commit), the flushes
 * (one walk over the flows for all of them), then the marks cleared.
 * now: unix seconds. Events of rules the config no longer has only lose
 * their mark. Returns how many sources were added to a table, or the first
 * -errno (everything else is still done).
 */
int overload_apply_batch(struct daemon *d, const struct gw_event *evs, size_t n, int64_t now);

/*
 * One event: 1 when its source was added to a table, 0 when it was there
 * already or the rule has no overload table, -ESTALE for an event of a
 * rule the config no longer has, or -errno.
 */
int overload_apply(struct daemon *d, const struct gw_event *ev, int64_t now);

/*
 * The evidence detail of an event of rule r (1-based number as written):
 * "rule 4: max-src-conn-rate 6/3 exceeded (7000/6000) at 2026-11-22T10:16:21Z"
 * or "rule 4: max-src-conn 5 exceeded (6 established) at ...". when: unix
 * seconds of the trigger.
 */
void overload_evidence_text(const struct config_rule *r, const struct gw_event *ev,
			    int64_t when, char *buf, size_t len);

#endif /* __GREYWALL_OVERLOAD_H */
