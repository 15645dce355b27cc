/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Log line patterns, a pure function: a line in, a verdict, the source
 * address and the login name out. No I/O, no clock, no state, so unit
 * tests and a fuzz harness drive it as the daemon does.
 *
 * A pattern is a list of PCRE2 regular expressions, tried in order; the
 * first that matches decides. Each names what it captures: (?<addr>...)
 * the source address (required), (?<user>...) the login name (optional), (?<port>...) the
 * source port (optional: lines with the same source and port are one
 * connection, and count once).
 * The built-in patterns (dovecot, sshd, postfix-sasl) are anchored at the
 * end of the line on text the daemon itself writes after any field an
 * outsider chooses, so a login name that contains "from 192.0.2.77 port
 * 22" or "rip=192.0.2.77" never becomes the source: the address captured is
 * the one the daemon wrote.
 */
#ifndef __GREYWALL_WATCH_PATTERN_H
#define __GREYWALL_WATCH_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

/* Longest line matched; the reader cuts longer lines to this (counted). */
#define WATCH_LINE_MAX 4096
/* Longest login name kept; a longer one is cut to this (and never a trap). */
#define WATCH_USER_MAX 256

enum watch_builtin {
	WATCH_PATTERN_REGEX,		/* the config's own `regex "..."` */
	WATCH_PATTERN_DOVECOT,		/* pop3-login/imap-login auth failures */
	WATCH_PATTERN_SSHD,		/* invalid users, failed passwords */
	WATCH_PATTERN_POSTFIX_SASL,	/* smtpd's SASL authentication failed */
};

struct watch_pattern;

struct watch_match {
	struct addr_prefix source;	/* a host; IPv4-mapped IPv6 given as IPv4 */
	char user[WATCH_USER_MAX + 1];	/* as logged; "" when the pattern has none */
	bool has_user;
	bool user_cut;			/* longer than WATCH_USER_MAX */
	/*
	 * The source port, 0 when the pattern has no (?<port>): the lines
	 * of one connection (sshd writes up to three) share it, and count
	 * as one failure.
	 */
	uint16_t port;
};

/* The built-in pattern called name ("dovecot", ...), or -1. */
int watch_builtin_find(const char *name);
/* Its name, for messages and `watch show`. */
const char *watch_builtin_name(enum watch_builtin b);

/*
 * Compile a built-in pattern, or (WATCH_PATTERN_REGEX) the regex text. A
 * regex that does not compile or has no (?<addr>) group is -EINVAL with err
 * saying why and where ("regex: missing ) at offset 7"). Returns 0 or -errno.
 */
int watch_pattern_new(struct watch_pattern **out, enum watch_builtin b, const char *regex,
		      char *err, size_t errlen);
void watch_pattern_free(struct watch_pattern *pat);

/*
 * Match one line (len bytes, no newline; need not be NUL-terminated).
 * Returns 1 and fills m when the line is a failure with a valid source
 * address, 0 when it is not (no match, or a match whose address does not
 * parse: counted by the caller as unparsed, never listed), -errno when the
 * match itself failed (PCRE2's match limit: -E2BIG).
 *
 * A line of WATCH_LINE_MAX bytes or more is one the reader cut: it never
 * matches, since its end, where the built-ins anchor, is gone.
 *
 * pat is not const: it holds the match's scratch space (allocated once,
 * not per line), so one pattern is matched by one thread at a time.
 */
int watch_pattern_match(struct watch_pattern *pat, const char *line, size_t len,
			struct watch_match *m);

#endif /* __GREYWALL_WATCH_PATTERN_H */
