// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The pairs live in one array that grows to `max` records; a chained hash
 * (bucket heads, a `next` per record) finds a pair, and a doubly linked
 * list by recency says which pair a full table drops. Indices are stored
 * plus one so that 0 ends a chain or a list.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/location.h"
#include "tables/dump.h"
#include "watch/attempts.h"

struct watch_attempts {
	struct watch_attempt *rec;
	size_t n, cap, max;
	uint32_t *buckets;
	size_t nbuckets;		/* a power of two, at least max */
	uint32_t oldest, newest;
};

int watch_attempts_new(size_t max, struct watch_attempts **out)
{
	struct watch_attempts *a;

	if (!max || max > UINT32_MAX / 2)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->max = max;
	for (a->nbuckets = 16; a->nbuckets < max; a->nbuckets *= 2)
		;
	a->buckets = calloc(a->nbuckets, sizeof(*a->buckets));
	if (!a->buckets) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void watch_attempts_free(struct watch_attempts *a)
{
	if (!a)
		return;
	free(a->rec);
	free(a->buckets);
	free(a);
}

size_t watch_attempts_count(const struct watch_attempts *a)
{
	return a->n;
}

/* FNV-1a over the address and the name. */
static size_t bucket_of(const struct watch_attempts *a, const struct addr_prefix *addr,
			const char *user)
{
	uint32_t h = 2166136261u;

	h = (h ^ addr->family) * 16777619u;
	for (size_t i = 0; i < sizeof(addr->bytes); i++)
		h = (h ^ addr->bytes[i]) * 16777619u;
	for (const char *c = user; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h & (a->nbuckets - 1);
}

static void list_unlink(struct watch_attempts *a, uint32_t id)
{
	struct watch_attempt *r = &a->rec[id - 1];

	if (r->older)
		a->rec[r->older - 1].newer = r->newer;
	else
		a->oldest = r->newer;
	if (r->newer)
		a->rec[r->newer - 1].older = r->older;
	else
		a->newest = r->older;
	r->older = r->newer = 0;
}

static void list_push_newest(struct watch_attempts *a, uint32_t id)
{
	struct watch_attempt *r = &a->rec[id - 1];

	r->older = a->newest;
	r->newer = 0;
	if (a->newest)
		a->rec[a->newest - 1].newer = id;
	else
		a->oldest = id;
	a->newest = id;
}

static void bucket_unlink(struct watch_attempts *a, uint32_t id)
{
	struct watch_attempt *r = &a->rec[id - 1];
	uint32_t *link = &a->buckets[bucket_of(a, &r->addr, r->user)];

	while (*link && *link != id)
		link = &a->rec[*link - 1].next;
	if (*link)
		*link = r->next;
	r->next = 0;
}

/* Double the records, never beyond max: a full table holds max records exactly. */
static int grow(struct watch_attempts *a)
{
	size_t cap = a->cap ? a->cap * 2 : 64;
	struct watch_attempt *rec;

	if (cap > a->max)
		cap = a->max;
	rec = realloc(a->rec, cap * sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	a->rec = rec;
	a->cap = cap;
	return 0;
}

int watch_attempts_note(struct watch_attempts *a, const struct addr_prefix *addr,
			const char *user, int64_t now)
{
	size_t b = bucket_of(a, addr, user);
	struct watch_attempt *r;
	uint32_t id;

	for (id = a->buckets[b]; id; id = a->rec[id - 1].next) {
		r = &a->rec[id - 1];
		if (addr_equal(&r->addr, addr) && !strcmp(r->user, user)) {
			if (r->attempts < UINT32_MAX)
				r->attempts++;
			r->last = now;
			list_unlink(a, id);
			list_push_newest(a, id);
			return 0;
		}
	}
	if (a->n < a->max) {
		if (a->n == a->cap && grow(a))
			return -ENOMEM;
		id = (uint32_t)++a->n;
	} else {
		/* Full: the pair seen least recently makes room. */
		id = a->oldest;
		bucket_unlink(a, id);
		list_unlink(a, id);
	}
	r = &a->rec[id - 1];
	memset(r, 0, sizeof(*r));
	r->addr = *addr;
	snprintf(r->user, sizeof(r->user), "%s", user);
	r->attempts = 1;
	r->first = r->last = now;
	/* The name may have been cut to fit: hash what is kept. */
	b = bucket_of(a, addr, r->user);
	r->next = a->buckets[b];
	a->buckets[b] = id;
	list_push_newest(a, id);
	return 0;
}

static int compare_attempts(const void *x, const void *y)
{
	const struct watch_attempt *const *a = x, *const *b = y;
	int c = addr_compare(&(*a)->addr, &(*b)->addr);

	return c ? c : strcmp((*a)->user, (*b)->user);
}

static void put_time(FILE *fp, int64_t t)
{
	char text[32];

	dump_format_time(t, text, sizeof(text));
	fputs(text, fp);
}

static void put_place(FILE *fp, struct location *loc, const struct addr_prefix *addr)
{
	struct location_place place;
	char text[ADDR_STRLEN];

	if (!loc || location_lookup(loc, addr, &place)) {
		fputs(LOCATION_NONE "," LOCATION_NONE "," LOCATION_NONE, fp);
		return;
	}
	addr_format(&place.network, text, sizeof(text));
	fprintf(fp, "%s,", text);
	if (place.asn)
		fprintf(fp, "AS%" PRIu32 ",", place.asn);
	else
		fputs(LOCATION_NONE ",", fp);
	fputs(place.country, fp);
}

int watch_attempts_write_csv(const struct watch_attempts *a, FILE *fp, struct location *loc)
{
	const struct watch_attempt **rows = calloc(a->n ? a->n : 1, sizeof(*rows));
	char text[ADDR_STRLEN];
	int ret = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++)
		rows[i] = &a->rec[i];
	qsort(rows, a->n, sizeof(*rows), compare_attempts);
	fputs("address,user,attempts,first_seen,last_seen,network,asn,country", fp);
	csv_end_record(fp);
	for (size_t i = 0; i < a->n && !ret; i++) {
		addr_format(&rows[i]->addr, text, sizeof(text));
		fputs(text, fp);
		putc(',', fp);
		ret = csv_put_field(fp, rows[i]->user, true);
		fprintf(fp, ",%" PRIu32 ",", rows[i]->attempts);
		put_time(fp, rows[i]->first);
		putc(',', fp);
		put_time(fp, rows[i]->last);
		putc(',', fp);
		put_place(fp, loc, &rows[i]->addr);
		csv_end_record(fp);
	}
	free(rows);
	if (!ret && ferror(fp))
		ret = -EIO;
	return ret;
}
