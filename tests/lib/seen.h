/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What a follower handed over, for the watch tests: every line followed by
 * "\n" in one string to compare, and the longest line's length (a cut line
 * is WATCH_LINE_MAX long, which the string alone would not tell).
 */
#ifndef __GREYWALL_TEST_SEEN_H
#define __GREYWALL_TEST_SEEN_H

#include <string.h>

struct seen {
	char text[16384];
	size_t len;
	size_t longest;
};

/* A follow_line_fn: ctx is a struct seen. */
static inline void collect(const char *line, size_t len, void *ctx)
{
	struct seen *s = ctx;

	if (len > s->longest)
		s->longest = len;
	if (s->len + len + 1 >= sizeof(s->text))
		return;
	memcpy(s->text + s->len, line, len);
	s->len += len;
	s->text[s->len++] = '\n';
	s->text[s->len] = '\0';
}

/* The lines seen since the last call (valid until the next line is collected). */
static inline const char *taken(struct seen *s)
{
	s->text[s->len] = '\0';
	s->len = 0;
	s->longest = 0;
	return s->text;
}

#endif /* __GREYWALL_TEST_SEEN_H */
