/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The text greywalld serves at /metrics, rendered in the parent from its
 * state: the data path's counters, the tables, the rules, the flow table,
 * and each subsystem's counters through its own *_metrics() beside its
 * `show` (so that greywallctl and the metrics read the same fields).
 * README's "Metrics" lists the families.
 */
#ifndef __GREYWALL_METRICS_RENDER_H
#define __GREYWALL_METRICS_RENDER_H

#include "metrics/expo.h"

struct daemon;
struct metrics;

/*
 * Render everything into e (reset first); m is the endpoint's own state
 * for its families (NULL: none). Returns 0 or -errno (e->err).
 */
int metrics_render(struct daemon *d, struct expo *e, const struct metrics *m);

#endif /* __GREYWALL_METRICS_RENDER_H */
