// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Bucketed time series for the report (series.h). */
#include <errno.h>
#include <stdlib.h>

#include "report/series.h"

/* Floor division: times before 1970 are not expected, but not wrong either. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

int series_init(struct series *s, int64_t now, int64_t step, size_t n)
{
	s->v = NULL;
	if (step <= 0 || n == 0 || n > 1000000)
		return -EINVAL;
	s->v = calloc(n + 1, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	s->step = step;
	s->n = n;
	s->start = (floor_div(now, step) + 1 - (int64_t)n) * step;
	return 0;
}

void series_free(struct series *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

long series_bucket(const struct series *s, int64_t t)
{
	int64_t i;

	if (t < s->start)
		return -1;
	i = (t - s->start) / s->step;
	return i < (int64_t)s->n ? (long)i : -1;
}

void series_count(struct series *s, int64_t t)
{
	long i = series_bucket(s, t);

	if (i >= 0)
		s->v[i]++;
}

void series_span(struct series *s, int64_t from, int64_t until)
{
	int64_t end = s->start + (int64_t)s->n * s->step;
	long a, b;

	if (until && (until <= from || until <= s->start))
		return;
	if (from >= end)
		return;
	a = from < s->start ? 0 : series_bucket(s, from);
	/* Gone in bucket b: not there at its end, nor after. */
	b = (!until || until >= end) ? (long)s->n : series_bucket(s, until);
	if (b <= a)
		return;
	s->v[a]++;
	s->v[b]--;
}

void series_integrate(struct series *s)
{
	int64_t run = 0;

	for (size_t i = 0; i < s->n; i++) {
		run += s->v[i];
		s->v[i] = run;
	}
	s->v[s->n] = 0;
}
