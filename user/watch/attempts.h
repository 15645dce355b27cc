/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A watcher's failed attempts as (address, login name) pairs, for its
 * <watcher>_attempts.csv (greywall.conf(5), DUMPS): per pair the attempts,
 * first and last seen. Bounded: at most `max` pairs (WATCH_ATTEMPTS_MAX per
 * watcher), and a new pair in a full table drops the pair seen least
 * recently; a pair costs at most WATCH_ATTEMPT_BYTES and one bucket. The
 * counting here is for publication only: what lists a source is count.c's.
 */
#ifndef __GREYWALL_WATCH_ATTEMPTS_H
#define __GREYWALL_WATCH_ATTEMPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/addr.h"
#include "watch/pattern.h"

#define WATCH_ATTEMPTS_MAX 10000
#define WATCH_ATTEMPT_BYTES (sizeof(struct watch_attempt) + 2 * sizeof(uint32_t))

struct watch_attempt {
	struct addr_prefix addr;
	uint32_t attempts;		/* saturates at UINT32_MAX */
	uint32_t next;			/* in its bucket: index + 1, 0 at the end */
	uint32_t older, newer;		/* the recency list: index + 1, 0 at the ends */
	int64_t first, last;
	char user[WATCH_USER_MAX + 1];	/* as logged; "" when the pattern has none */
};

struct watch_attempts;
struct location;

int watch_attempts_new(size_t max, struct watch_attempts **out);
void watch_attempts_free(struct watch_attempts *a);
/* One failure of user from addr at now. Returns 0 or -ENOMEM. */
int watch_attempts_note(struct watch_attempts *a, const struct addr_prefix *addr,
			const char *user, int64_t now);
size_t watch_attempts_count(const struct watch_attempts *a);

/*
 * The CSV (RFC 4180, CRLF): a header row
 *   address,user,attempts,first_seen,last_seen,network,asn,country
 * then one row per pair sorted by address, then user; times UTC as
 * 2026-11-22T09:00:00Z; the user column as csv.h writes text an outsider
 * chose (quoted, escaped, an apostrophe before a leading = + - @ TAB CR);
 * network, AS and country from loc (NULL: none), "--" where there is none.
 * Returns 0 or -errno.
 */
int watch_attempts_write_csv(const struct watch_attempts *a, FILE *fp, struct location *loc);

#endif /* __GREYWALL_WATCH_ATTEMPTS_H */
