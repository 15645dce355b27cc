// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the log watchers' patterns (watch/pattern.h): a
 * log line holds text an outsider chose, so it is hostile.
 *
 * The input is one line, given to every built-in pattern as the reader
 * gives it (any bytes, cut at WATCH_LINE_MAX). For each match: the source
 * is a host of a known family that formats and parses back to itself
 * (never an IPv4-mapped IPv6 address), and the login name is within
 * WATCH_USER_MAX, NUL-terminated, cut only when flagged, and a piece of
 * the line. A match never fails: the built-ins stay under the match limit.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "watch/pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum watch_builtin builtins[] = {
	WATCH_PATTERN_DOVECOT,
	WATCH_PATTERN_SSHD,
	WATCH_PATTERN_POSTFIX_SASL,
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static void check_match(const struct watch_match *m, const char *line, size_t len)
{
	struct addr_prefix back;
	char text[ADDR_STRLEN];
	size_t ulen;

	if ((m->source.family != AF_INET && m->source.family != AF_INET6) ||
	    !addr_is_host(&m->source))
		abort();
	addr_format(&m->source, text, sizeof(text));
	if (addr_parse(text, &back) || !addr_equal(&back, &m->source))
		abort();
	ulen = strnlen(m->user, sizeof(m->user));
	if (ulen > WATCH_USER_MAX || (!m->has_user && ulen) || (m->user_cut && ulen != WATCH_USER_MAX))
		abort();
	if (ulen && !memmem(line, len, m->user, ulen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct watch_pattern *pats[NBUILTINS];
	const char *line = (const char *)data;
	struct watch_match m;

	if (size > WATCH_LINE_MAX)
		size = WATCH_LINE_MAX;
	for (size_t i = 0; i < NBUILTINS; i++) {
		char err[256];
		int ret;

		if (!pats[i] && watch_pattern_new(&pats[i], builtins[i], NULL, err, sizeof(err)))
			abort();
		memset(&m, 0xa5, sizeof(m));
		ret = watch_pattern_match(pats[i], line, size, &m);
		if (ret < 0)
			abort();
		if (ret == 1)
			check_match(&m, line, size);
	}
	return 0;
}
