/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Prometheus' text exposition format, version 0.0.4: a pure writer (no
 * socket, clock or log). A family is announced once with its HELP and
 * TYPE lines, then its samples follow, each with its labels:
 *
 *   # HELP greywall_table_entries Entries in the table.
 *   # TYPE greywall_table_entries gauge
 *   greywall_table_entries{table="spamd-white"} 12
 *
 * Label values and HELP text are escaped as the format requires
 * (backslash, and in label values the double quote, as \\ and \"; a line
 * break as \n). Names are checked against the format's grammar. The text
 * grows in one buffer bounded by its max; past it every call fails with
 * -E2BIG and the text is not to be served.
 */
#ifndef __GREYWALL_METRICS_EXPO_H
#define __GREYWALL_METRICS_EXPO_H

#include <stddef.h>
#include <stdint.h>

enum expo_type {
	EXPO_COUNTER,
	EXPO_GAUGE,
};

struct expo {
	char *buf;
	size_t len, cap, max;
	int err;		/* the first error; later calls do nothing */
	char family[128];	/* the family being written: samples must name it */
};

/* A label: name (checked) and value (any text, escaped). */
struct expo_label {
	const char *name;
	const char *value;
};

/* An empty text, at most max bytes. */
void expo_init(struct expo *e, size_t max);
void expo_free(struct expo *e);
/* Forget the text, keep the buffer. */
void expo_reset(struct expo *e);

/*
 * Begin family name (a counter's ends in "_total") with its HELP text.
 * Returns 0 or -errno (-EINVAL for a bad name, -E2BIG, -ENOMEM; then
 * e->err holds it too).
 */
int expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);

/* One sample of the current family, with n labels (n may be 0). Returns 0 or -errno. */
int expo_sample(struct expo *e, const struct expo_label *labels, size_t n, uint64_t value);

/* A sample with at most two labels; a NULL name ends the list early. */
int expo_sample2(struct expo *e, const char *l1, const char *v1, const char *l2,
		 const char *v2, uint64_t value);

/* Whether name is a metric name (or, labels, a label name) the format takes. */
int expo_name_valid(const char *name, int label);

#endif /* __GREYWALL_METRICS_EXPO_H */
