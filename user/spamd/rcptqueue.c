// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The parent's bounded queue of reported RCPTs (rcptqueue.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spamd/rcptqueue.h"

/* The strings' bytes a record takes, NULs included. */
static size_t strings_size(const char *helo, const char *from, const char *to)
{
	return strlen(helo) + strlen(from) + strlen(to) + 3;
}

int rcpt_queue_init(struct rcpt_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->ring = calloc(RCPT_QUEUE_MAX, sizeof(*q->ring));
	return q->ring ? 0 : -ENOMEM;
}

void rcpt_queue_free(struct rcpt_queue *q)
{
	while (q->count)
		rcpt_queue_pop(q);
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

bool rcpt_queue_has_room(const struct rcpt_queue *q, const char *helo, const char *from,
			 const char *to)
{
	return q->count < RCPT_QUEUE_MAX &&
	       q->bytes + strings_size(helo, from, to) <= RCPT_QUEUE_BYTES;
}

int rcpt_queue_push(struct rcpt_queue *q, int64_t when, const struct addr_prefix *client,
		    const struct addr_prefix *local, const char *helo, const char *from,
		    const char *to)
{
	size_t lens[3] = { strlen(helo) + 1, strlen(from) + 1, strlen(to) + 1 };
	size_t size = lens[0] + lens[1] + lens[2];
	struct rcpt_record *r;
	char *text;

	if (!rcpt_queue_has_room(q, helo, from, to))
		return -ENOSPC;
	r = malloc(sizeof(*r) + size);
	if (!r)
		return -ENOMEM;
	text = (char *)(r + 1);
	r->when = when;
	r->client = *client;
	r->local = *local;
	r->helo = memcpy(text, helo, lens[0]);
	r->from = memcpy(text + lens[0], from, lens[1]);
	r->to = memcpy(text + lens[0] + lens[1], to, lens[2]);
	q->ring[(q->head + q->count) % RCPT_QUEUE_MAX] = r;
	q->count++;
	q->bytes += size;
	return 0;
}

const struct rcpt_record *rcpt_queue_peek(const struct rcpt_queue *q)
{
	return q->count ? q->ring[q->head] : NULL;
}

const struct rcpt_record *rcpt_queue_at(const struct rcpt_queue *q, size_t i)
{
	return i < q->count ? q->ring[(q->head + i) % RCPT_QUEUE_MAX] : NULL;
}

void rcpt_queue_pop(struct rcpt_queue *q)
{
	struct rcpt_record *r;

	if (!q->count)
		return;
	r = q->ring[q->head];
	q->bytes -= strings_size(r->helo, r->from, r->to);
	free(r);
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % RCPT_QUEUE_MAX;
	q->count--;
}
