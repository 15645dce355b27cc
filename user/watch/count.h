/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A watcher's counting state, bounded whatever the log says: per source,
 * the times of its recent failures (a sliding window: the threshold-th
 * failure within `window` seconds lists it) and its failures of the last
 * day (`watch candidates`); per login name that is not a trap, how many
 * distinct sources tried it (spamtrap candidates).
 *
 * Both maps have a fixed capacity. When one is full, a new key evicts the
 * one seen least recently (counted): a flood of new sources costs old
 * sources their counts, never memory. Nothing here lists anyone or does
 * I/O; the watcher decides what a hit means.
 *
 * The rules, exactly:
 * - A failure at t is within the window at now when now - t < window: 5
 *   failures within 10m are 5 whose first is less than 600 s before the
 *   last.
 * - A source's day is hourly: its failures in the hour of now (hours
 *   counted from the epoch, not the clock's) and the 23 hours before.
 *   `first` is its first failure since that count was last empty, or the
 *   start of the oldest of those hours when the failure is older.
 * - A login name's counts (sources, attempts) cover a day from its
 *   `first`: an attempt a day or more after it starts them anew. A name is
 *   listed while its last attempt is within the last day. Distinct sources
 *   are told apart by a keyed 32-bit hash of the address: two sources may
 *   (very rarely) count as one, never one as two.
 *
 * Memory: per source at most WATCH_SOURCE_BYTES(threshold) (its record and
 * its share of the address index), per name WATCH_USER_BYTES, and
 * WATCH_COUNT_FIXED_BYTES once. Records are allocated as they are used;
 * watch_count_stats() gives both figures from the allocations. While a
 * pool or the index doubles, the old and the new array are held at once.
 */
#ifndef __GREYWALL_WATCH_COUNT_H
#define __GREYWALL_WATCH_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define WATCH_THRESHOLD_MAX 1000	/* on-failures N: at most this */
#define WATCH_SOURCES_DEFAULT 100000	/* sources counted per watcher */
#define WATCH_USERS_DEFAULT 10000	/* login names counted per watcher */
#define WATCH_DAY 86400
/* Bytes per source and per login name at most (count.c asserts them). */
#define WATCH_SOURCE_BYTES(threshold) (204 + 4 * (size_t)(threshold))
#define WATCH_USER_BYTES 576
#define WATCH_COUNT_FIXED_BYTES 1024	/* and this once, whatever the limits */

struct watch_count;

struct watch_count_limits {
	uint32_t threshold;		/* 0: no on-failures, only the day's counts */
	uint32_t window;		/* seconds */
	size_t max_sources;
	size_t max_users;
};

/* One source as `watch show -v` and `watch candidates` print it. */
struct watch_count_source {
	struct addr_prefix addr;
	uint32_t in_window;		/* failures within the window now */
	uint32_t day;			/* failures within the last day */
	int64_t first;			/* first failure of the day */
	int64_t last;
};

/* One login name that is not a trap, tried from several sources. */
struct watch_count_user {
	const char *name;		/* lower-cased; valid until the next change */
	uint32_t sources;		/* distinct sources (saturates at WATCH_USER_SOURCES_MAX) */
	uint32_t attempts;
	int64_t first;
	int64_t last;
};

#define WATCH_USER_SOURCES_MAX 64

struct watch_count_stats {
	size_t sources;
	size_t users;
	uint64_t sources_evicted;
	uint64_t users_evicted;
	size_t memory;			/* bytes held now */
	size_t memory_max;		/* bytes held at most with these limits */
};

int watch_count_new(struct watch_count **out, const struct watch_count_limits *lim);
void watch_count_free(struct watch_count *c);

/*
 * A failure of src at now (seconds; the times of one source never go
 * backwards: an earlier time counts as now). Returns 1 when it is the
 * threshold-th within the window: times (threshold of them, oldest
 * first) get the failures that decided, and the source's window starts
 * anew, so it reaches the threshold again only with as many new
 * failures. Returns 0 below the threshold, -errno.
 */
int watch_count_failure(struct watch_count *c, const struct addr_prefix *src, int64_t now,
			int64_t *times);

/*
 * A login name that is not a trap was tried by src. Names are compared
 * without regard to ASCII case. Returns 0 or -errno.
 */
int watch_count_user(struct watch_count *c, const char *name, const struct addr_prefix *src,
		     int64_t now);

/* Forget a source's counts (it was listed, or is ignored). */
void watch_count_forget(struct watch_count *c, const struct addr_prefix *src);

/*
 * Sources with a failure within the window (window_only) or within the
 * last day, below the threshold, most failures first; calls fn for each,
 * at most max. Returns how many there are in all.
 */
size_t watch_count_sources(const struct watch_count *c, int64_t now, bool window_only,
			   size_t max, void (*fn)(const struct watch_count_source *s, void *ctx),
			   void *ctx);
/*
 * Login names tried from at least min_sources distinct sources within the
 * last day, most sources first; at most max. Returns how many in all.
 */
size_t watch_count_users(const struct watch_count *c, int64_t now, uint32_t min_sources,
			 size_t max, void (*fn)(const struct watch_count_user *u, void *ctx),
			 void *ctx);
/* Drop a name (it became a trap). */
void watch_count_user_forget(struct watch_count *c, const char *name);

void watch_count_stats(const struct watch_count *c, struct watch_count_stats *out);

#endif /* __GREYWALL_WATCH_COUNT_H */
