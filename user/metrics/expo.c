// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Prometheus' text exposition format: see expo.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "metrics/expo.h"

void expo_init(struct expo *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
}

void expo_free(struct expo *e)
{
	free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
}

void expo_reset(struct expo *e)
{
	e->len = 0;
	e->err = 0;
	e->family[0] = '\0';
}

static void fail(struct expo *e, int err)
{
	if (!e->err)
		e->err = err;
}

static void put(struct expo *e, const char *text, size_t n)
{
	if (e->err)
		return;
	if (e->len + n > e->max) {
		fail(e, -E2BIG);
		return;
	}
	if (array_room(&e->buf, &e->cap, e->len + n, 1, 4096)) {
		fail(e, -ENOMEM);
		return;
	}
	memcpy(e->buf + e->len, text, n);
	e->len += n;
}

static void puts_(struct expo *e, const char *text)
{
	put(e, text, strlen(text));
}

/* HELP text escapes backslash and line break; a label value the double quote too. */
static void put_escaped(struct expo *e, const char *text, bool quote)
{
	const char *run = text;

	for (; *text; text++) {
		const char *esc = *text == '\\' ? "\\\\"
				  : *text == '\n' ? "\\n"
				  : quote && *text == '"' ? "\\\""
							  : NULL;

		if (!esc)
			continue;
		put(e, run, (size_t)(text - run));
		puts_(e, esc);
		run = text + 1;
	}
	put(e, run, (size_t)(text - run));
}

int expo_name_valid(const char *name, int label)
{
	if (!*name || strlen(name) >= sizeof(((struct expo *)0)->family))
		return 0;
	/* Label names starting with "__" are reserved for Prometheus itself. */
	if (label && name[0] == '_' && name[1] == '_')
		return 0;
	for (const char *c = name; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
			     (!label && *c == ':');

		if (!alpha && (c == name || *c < '0' || *c > '9'))
			return 0;
	}
	return 1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int expo_family(struct expo *e, const char *name, enum expo_type type, const char *help)
{
	if (e->err)
		return e->err;
	/* The house rule: counters end in _total, nothing else does. */
	if (!expo_name_valid(name, 0) || (type == EXPO_COUNTER) != ends_with(name, "_total")) {
		fail(e, -EINVAL);
		return e->err;
	}
	snprintf(e->family, sizeof(e->family), "%s", name);
	puts_(e, "# HELP ");
	puts_(e, name);
	puts_(e, " ");
	put_escaped(e, help, false);
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	puts_(e, type == EXPO_COUNTER ? " counter\n" : " gauge\n");
	return e->err;
}

int expo_sample(struct expo *e, const struct expo_label *labels, size_t n, uint64_t value)
{
	char number[24];

	if (e->err)
		return e->err;
	if (!e->family[0]) {
		fail(e, -EINVAL);
		return e->err;
	}
	puts_(e, e->family);
	for (size_t i = 0; i < n; i++) {
		if (!expo_name_valid(labels[i].name, 1) || !labels[i].value) {
			fail(e, -EINVAL);
			return e->err;
		}
		puts_(e, i ? "," : "{");
		puts_(e, labels[i].name);
		puts_(e, "=\"");
		put_escaped(e, labels[i].value, true);
		puts_(e, "\"");
	}
	snprintf(number, sizeof(number), "%s%" PRIu64 "\n", n ? "} " : " ", value);
	puts_(e, number);
	return e->err;
}

int expo_sample2(struct expo *e, const char *l1, const char *v1, const char *l2,
		 const char *v2, uint64_t value)
{
	struct expo_label labels[2] = { { l1, v1 }, { l2, v2 } };

	return expo_sample(e, labels, !l1 ? 0 : !l2 ? 1 : 2, value);
}
