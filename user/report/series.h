/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A time series of n buckets of step seconds, aligned to multiples of
 * step (UTC hours, UTC days), the last bucket the one that holds now.
 * Two kinds, each built by one function:
 *   events  series_count() per event: bucket i holds the events whose
 *           time falls in it;
 *   spans   series_span() per [from, until) interval, then
 *           series_integrate(): bucket i holds the intervals that cover
 *           its last second (entries present at the end of the hour).
 * Times outside the window are dropped (events) or clipped (spans);
 * memory is n + 1 counters whatever the number of events.
 */
#ifndef __GREYWALL_SERIES_H
#define __GREYWALL_SERIES_H

#include <stddef.h>
#include <stdint.h>

struct series {
	int64_t start; /* the first bucket's first second */
	int64_t step;  /* seconds per bucket, > 0 */
	size_t n;
	int64_t *v; /* n + 1: spans keep their differences here */
};

/* n buckets of step seconds ending with the one holding now. 0 or -errno. */
int series_init(struct series *s, int64_t now, int64_t step, size_t n);
void series_free(struct series *s);
/* The bucket holding t, or -1 outside the window. */
long series_bucket(const struct series *s, int64_t t);
void series_count(struct series *s, int64_t t);
/* An interval [from, until); until 0: not over. */
void series_span(struct series *s, int64_t from, int64_t until);
/* Turn the spans' differences into counts (once, after the last span). */
void series_integrate(struct series *s);

#endif /* __GREYWALL_SERIES_H */
