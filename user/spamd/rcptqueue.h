/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The parent's queue of RCPTs the tarpit reported and the greylist has not
 * stored yet: a bounded FIFO of copies, so that reading the child's socket
 * (and answering its CLASSIFYs) never waits for the store, and the store
 * takes the RCPTs in batches of one transaction each (spamd_child.c).
 *
 * Both its length and its bytes are bounded: the reporter is the tarpit,
 * whose input is the Internet's. What to do with a RCPT that finds it
 * full is the caller's choice (spamd_child.c drops it, counted).
 */
#ifndef __GREYWALL_RCPTQUEUE_H
#define __GREYWALL_RCPTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

/* RCPTs queued at most: what a kill -9 of the parent can lose. */
#define RCPT_QUEUE_MAX	 4096
/* Their helo, from and to at most, in bytes (a field may be 16 KiB: privsep.h). */
#define RCPT_QUEUE_BYTES (4 * 1024 * 1024)

struct rcpt_record {
	int64_t when;			/* unix seconds it arrived */
	struct addr_prefix client;
	struct addr_prefix local;
	const char *helo;		/* all three in one allocation with the record */
	const char *from;
	const char *to;
};

struct rcpt_queue {
	struct rcpt_record **ring;	/* RCPT_QUEUE_MAX slots */
	size_t head;			/* the oldest record's slot */
	size_t count;
	size_t bytes;			/* of the queued records' strings */
};

int rcpt_queue_init(struct rcpt_queue *q);
/* Frees the queued records too. */
void rcpt_queue_free(struct rcpt_queue *q);

/* Whether one more record with these strings fits. */
bool rcpt_queue_has_room(const struct rcpt_queue *q, const char *helo, const char *from,
			 const char *to);
/* Copy a record in at the tail. -ENOSPC when it does not fit, -ENOMEM. */
int rcpt_queue_push(struct rcpt_queue *q, int64_t when, const struct addr_prefix *client,
		    const struct addr_prefix *local, const char *helo, const char *from,
		    const char *to);
/* The oldest record, or NULL; it stays queued until rcpt_queue_pop(). */
const struct rcpt_record *rcpt_queue_peek(const struct rcpt_queue *q);
/* The i-th oldest record (0: the oldest), or NULL past the last. */
const struct rcpt_record *rcpt_queue_at(const struct rcpt_queue *q, size_t i);
/* Drop the oldest record. */
void rcpt_queue_pop(struct rcpt_queue *q);

#endif /* __GREYWALL_RCPTQUEUE_H */
