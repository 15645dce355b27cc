// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch/pattern.h"

/*
 * PCRE2's match limit (calls of its internal match function) and depth
 * limit: a line is at most WATCH_LINE_MAX bytes, and the built-ins need a
 * few thousand steps on one, but a `regex` a site writes may backtrack
 * badly; past the limit the line is an error, counted, not a CPU burnt.
 */
#define WATCH_MATCH_LIMIT 100000
#define WATCH_DEPTH_LIMIT 10000

/* An address as the daemons write one: IPv4, IPv6, IPv4-mapped IPv6. */
#define ADDR "(?<addr>[0-9A-Fa-f:.]{2,45})"

/*
 * The built-in patterns. Each is anchored at the end of the line ($) on
 * text the daemon writes after every field an outsider chooses (a login
 * name, a mechanism), and the user capture before that text is greedy: the
 * address captured is the last one in the daemon's own tail, whatever the
 * name holds. None is anchored at the start except postfix-sasl, so each
 * matches the daemon's own log file, a syslog file (any time stamp format)
 * and the journal's MESSAGE field alike.
 *
 * dovecot: a pop3-login, imap-login, submission-login or managesieve-login
 * process giving up on a client after failed authentication, Dovecot 2.3's
 * login_log_format_elements:
 *   pop3-login: Info: Disconnected (auth failed, 1 attempts in 2 secs):
 *       user=<x>, method=PLAIN, rip=A, lip=B, session=<...>
 *   imap-login: Info: Aborted login (auth failed, 3 attempts in 10 secs): ...
 *   pop3-login: Disconnected: Aborted login by logging out (auth failed, ...): ...
 *   imap-login: Info: Disconnected: Connection closed (auth failed, ...): ...
 *   (with optional mpid=N, TLS, secured or "TLS handshaking: ..." before
 *   session=<...>). Not the auth process's auth_verbose lines ("unknown user",
 *   "Password mismatch"): one failure would count twice, and the login
 *   process's line comes for every failure, whatever the passdb.
 *
 * sshd: OpenSSH 9.2's lines for a login name that is not an account, and
 * for a failed password:
 *   Invalid user X from A port P
 *   Failed password for [invalid user ]X from A port P ssh2
 *   Failed keyboard-interactive/pam for [invalid user ]X from A port P ssh2
 *   Connection closed by invalid user X A port P [preauth]
 *   Disconnected from invalid user X A port P [preauth]
 * One connection of an invalid user that tries one password writes three
 * of these (Invalid user, Failed password, Connection closed); the source
 * port (?<port>) tells the watcher they are one connection, which counts
 * once.
 *
 * (*COMMIT) after the daemon's text that precedes the name: once that is
 * found, the greedy name and the anchored tail either match there or
 * nowhere later in the line (a later start sees a part of the same end),
 * so PCRE2 does not retry from every later start. Without it, a name
 * repeating "pop3-login: ... user=<" many times makes the match quadratic
 * and, past the match limit, lets a groper's own failure go uncounted.
 *
 * postfix-sasl: smtpd's warning when a client's AUTH fails (Postfix 3.7's
 * smtpd_sasl_glue.c):
 *   postfix/smtpd[123]: warning: unknown[A]: SASL LOGIN authentication
 *       failed: UGFzc3dvcmQ6, sasl_username=x
 * Here the outsider's field (the name) comes last, so the line is anchored
 * at its start instead: at most four fields of syslog prefix (time stamp,
 * host), then the smtpd's ident, or nothing (the journal's MESSAGE). Text
 * an outsider put in another line (a MAIL FROM) is never at the start.
 */
static const char *const dovecot_res[] = {
	"(?:pop3|imap|submission|managesieve)-login: (?:Info: )?"
	"(?:Disconnected|Aborted login)[^()]*\\(auth failed, \\d+ attempts in \\d+ secs\\): "
	"user=<(*COMMIT)(?<user>.*)>, (?:method=[A-Za-z0-9_-]+, )?rip=" ADDR ", lip=[0-9A-Fa-f:.]+, "
	"(?:mpid=\\d+, )?(?:(?:TLS|secured|TLS handshaking(?:: [^<>]*)?), )?"
	"session=<[A-Za-z0-9+/]*>$",
};
static const char *const sshd_res[] = {
	"(?:Invalid user |Failed (?:password|keyboard-interactive/pam) for (?:invalid user )?)"
	"(*COMMIT)(?<user>.*) from " ADDR " port (?<port>\\d{1,5})(?: ssh2)?$",
	"(?:Connection closed by|Disconnected from) invalid user (*COMMIT)(?<user>.*) " ADDR
	" port (?<port>\\d{1,5}) \\[preauth\\]$",
};
static const char *const postfix_sasl_res[] = {
	"^(?:(?:[^ ]*+ ++){1,4}?postfix[A-Za-z0-9_.-]*/(?:[A-Za-z0-9_.-]+/)*smtpd\\[\\d+\\]: )?"
	"warning: [A-Za-z0-9_.-]+\\[" ADDR "\\](?::\\d+)?: SASL [A-Za-z0-9_-]+ authentication failed: "
	".*?(?:, sasl_username=(?<user>.*))?$",
};

static const struct {
	const char *name;
	const char *const *res;
	size_t nres;
} builtins[] = {
	[WATCH_PATTERN_REGEX] = { "regex", NULL, 0 },
	[WATCH_PATTERN_DOVECOT] = { "dovecot", dovecot_res, 1 },
	[WATCH_PATTERN_SSHD] = { "sshd", sshd_res, 2 },
	[WATCH_PATTERN_POSTFIX_SASL] = { "postfix-sasl", postfix_sasl_res, 1 },
};

#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))
/* The most regexes one pattern holds. */
#define WATCH_RES_MAX 2

struct watch_regex {
	pcre2_code *code;
	uint32_t addr_group;
	uint32_t user_group;		/* 0: none */
	uint32_t port_group;		/* 0: none */
};

struct watch_pattern {
	size_t nres;
	struct watch_regex res[WATCH_RES_MAX];
	/* Scratch for every match, sized for the widest regex: no allocation per line. */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

int watch_builtin_find(const char *name)
{
	for (size_t i = 1; i < NBUILTINS; i++)
		if (!strcmp(name, builtins[i].name))
			return (int)i;
	return -1;
}

const char *watch_builtin_name(enum watch_builtin b)
{
	return (size_t)b < NBUILTINS ? builtins[b].name : "?";
}

void watch_pattern_free(struct watch_pattern *pat)
{
	if (!pat)
		return;
	for (size_t i = 0; i < pat->nres; i++)
		pcre2_code_free(pat->res[i].code);
	pcre2_match_data_free(pat->md);
	pcre2_match_context_free(pat->mctx);
	free(pat);
}

/* The number of the group called name, 0 when there is none (or it is not unique). */
static uint32_t group_number(const pcre2_code *code, const char *name)
{
	int n = pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);

	return n > 0 ? (uint32_t)n : 0;
}

static int regex_compile(struct watch_regex *re, const char *text, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset;
	int code;

	re->code = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, PCRE2_DOLLAR_ENDONLY,
				 &code, &offset, NULL);
	if (!re->code) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(err, errlen, "regex: %s at offset %zu", (char *)msg, (size_t)offset);
		return -EINVAL;
	}
	re->addr_group = group_number(re->code, "addr");
	re->user_group = group_number(re->code, "user");
	re->port_group = group_number(re->code, "port");
	if (!re->addr_group) {
		snprintf(err, errlen, "regex: no (?<addr>...) group for the source address");
		return -EINVAL;
	}
	/*
	 * JIT makes matching several times faster; where PCRE2 was built
	 * without it (or the system refuses executable memory) the
	 * interpreter gives the same answers.
	 */
	pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	return 0;
}

int watch_pattern_new(struct watch_pattern **out, enum watch_builtin b, const char *regex,
		      char *err, size_t errlen)
{
	const char *const *texts = &regex;
	struct watch_pattern *pat;
	uint32_t count, groups = 0;
	size_t n = 1;
	int ret;

	if ((size_t)b >= NBUILTINS || (b == WATCH_PATTERN_REGEX && !regex)) {
		snprintf(err, errlen, "no such pattern");
		return -EINVAL;
	}
	if (b != WATCH_PATTERN_REGEX) {
		texts = builtins[b].res;
		n = builtins[b].nres;
	}
	pat = calloc(1, sizeof(*pat));
	if (!pat)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ret = regex_compile(&pat->res[i], texts[i], err, errlen);
		if (ret) {
			watch_pattern_free(pat);
			return ret;
		}
		pat->nres++;
		pcre2_pattern_info(pat->res[i].code, PCRE2_INFO_CAPTURECOUNT, &count);
		if (count > groups)
			groups = count;
	}
	pat->md = pcre2_match_data_create(1 + groups, NULL);
	pat->mctx = pcre2_match_context_create(NULL);
	if (!pat->md || !pat->mctx) {
		watch_pattern_free(pat);
		return -ENOMEM;
	}
	pcre2_set_match_limit(pat->mctx, WATCH_MATCH_LIMIT);
	pcre2_set_depth_limit(pat->mctx, WATCH_DEPTH_LIMIT);
	*out = pat;
	return 0;
}

/*
 * The source the daemon wrote, through the one address parser. An
 * IPv4-mapped IPv6 address (a v6 socket that took an IPv4 client) is the
 * IPv4 host it maps; addr_parse() refuses the mapped form so that a table
 * never holds one, hence the prefix is taken off here.
 */
static int source_parse(const char *text, size_t len, struct addr_prefix *out)
{
	static const char mapped[] = "::ffff:";
	char buf[ADDR_STRLEN];

	if (len >= sizeof(buf))
		return -EINVAL;
	if (len > strlen(mapped) && !strncasecmp(text, mapped, strlen(mapped)) &&
	    memchr(text, '.', len)) {
		text += strlen(mapped);
		len -= strlen(mapped);
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (addr_parse(buf, out) || !addr_is_host(out))
		return -EINVAL;
	return 0;
}

static int regex_match(struct watch_pattern *pat, const struct watch_regex *re,
		       const char *line, size_t len, struct watch_match *m)
{
	PCRE2_SIZE *ov;
	size_t start, ulen;
	int rc;

	rc = pcre2_match(re->code, (PCRE2_SPTR)line, len, 0, 0, pat->md, pat->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
		return -E2BIG;
	if (rc < 0)
		return -EINVAL;
	ov = pcre2_get_ovector_pointer(pat->md);
	/* A group that did not take part (an optional one) is unset. */
	start = ov[2 * re->addr_group];
	if (start == PCRE2_UNSET || source_parse(line + start, ov[2 * re->addr_group + 1] - start,
						 &m->source))
		return 0;
	m->user[0] = '\0';
	m->has_user = false;
	m->user_cut = false;
	m->port = 0;
	if (re->port_group && ov[2 * re->port_group] != PCRE2_UNSET) {
		unsigned long port = 0;

		for (size_t i = ov[2 * re->port_group]; i < ov[2 * re->port_group + 1]; i++) {
			if (line[i] < '0' || line[i] > '9' || port > 65535)
				return 0;
			port = port * 10 + (unsigned long)(line[i] - '0');
		}
		if (port > 65535)
			return 0;
		m->port = (uint16_t)port;
	}
	if (re->user_group && ov[2 * re->user_group] != PCRE2_UNSET) {
		start = ov[2 * re->user_group];
		ulen = ov[2 * re->user_group + 1] - start;
		/*
		 * No daemon writes a NUL byte in a name (sshd escapes
		 * control bytes, SASL PLAIN cannot carry one); a name is
		 * a C string from here on, so such a line is not a match.
		 */
		if (memchr(line + start, '\0', ulen))
			return 0;
		m->has_user = true;
		m->user_cut = ulen > WATCH_USER_MAX;
		if (m->user_cut)
			ulen = WATCH_USER_MAX;
		memcpy(m->user, line + start, ulen);
		m->user[ulen] = '\0';
	}
	return 1;
}

int watch_pattern_match(struct watch_pattern *pat, const char *line, size_t len,
			struct watch_match *m)
{
	/*
	 * The reader cuts a longer line to WATCH_LINE_MAX bytes: its end,
	 * where the built-ins anchor, is gone, and what is left ends where
	 * an outsider may have placed a forged tail. Such a line never
	 * matches.
	 */
	if (len >= WATCH_LINE_MAX)
		return 0;
	for (size_t i = 0; i < pat->nres; i++) {
		int ret = regex_match(pat, &pat->res[i], line, len, m);

		if (ret)
			return ret;
	}
	return 0;
}
