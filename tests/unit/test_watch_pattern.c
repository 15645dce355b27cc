// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The log watchers' patterns on what the daemons really write: every line
 * of tests/unit/data/watch/NAME.log (captured from Debian 12's Dovecot and
 * sshd, see README there) against NAME.expect, then the attacks on a log
 * scraper (login names holding an address), IPv6 and IPv4-mapped sources,
 * cut lines and names, and the `regex` patterns a site writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "watch/pattern.h"

static char data_dir[512];

static struct watch_pattern *pattern_of(enum watch_builtin b, const char *regex)
{
	struct watch_pattern *pat;
	char err[256];

	if (watch_pattern_new(&pat, b, regex, err, sizeof(err))) {
		fprintf(stderr, "watch_pattern_new %s: %s\n", watch_builtin_name(b), err);
		exit(2);
	}
	return pat;
}

/* The match of line as "ADDR\tUSER", "ADDR" (no user) or "-" (no match). */
static const char *verdict(struct watch_pattern *pat, const char *line, size_t len)
{
	static char out[ADDR_STRLEN + WATCH_USER_MAX + 2];
	struct watch_match m;
	int ret = watch_pattern_match(pat, line, len, &m);

	if (ret < 0)
		snprintf(out, sizeof(out), "error %d", ret);
	else if (ret == 0)
		snprintf(out, sizeof(out), "-");
	else {
		addr_format(&m.source, out, ADDR_STRLEN);
		if (m.has_user)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "\t%s", m.user);
	}
	return out;
}

static const char *verdict_of(struct watch_pattern *pat, const char *line)
{
	return verdict(pat, line, strlen(line));
}

static FILE *data_open(const char *name)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	return f;
}

static bool read_line(FILE *f, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, f))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/*
 * NAME.log line by line against NAME.expect, which says for each line
 * what it must give: "ADDR<TAB>USER", or "-" for a line that is no failure.
 */
static void test_captured(const char *name, enum watch_builtin b)
{
	struct watch_pattern *pat = pattern_of(b, NULL);
	char logname[64], expname[64], line[WATCH_LINE_MAX + 2], want[WATCH_LINE_MAX + 2];
	FILE *log, *exp;
	int n = 0, matched = 0;

	snprintf(logname, sizeof(logname), "%s.log", name);
	snprintf(expname, sizeof(expname), "%s.expect", name);
	log = data_open(logname);
	exp = data_open(expname);
	while (read_line(log, line, sizeof(line))) {
		n++;
		if (!read_line(exp, want, sizeof(want))) {
			CHECK(0, "%s line %d has an expectation", logname, n);
			break;
		}
		matched += strcmp(want, "-") != 0;
		CHECK_STR(verdict_of(pat, line), want, "%s:%d %.60s", logname, n, line);
	}
	CHECK(!read_line(exp, want, sizeof(want)), "%s: no expectation left over", expname);
	CHECK(n >= 30 && matched >= 10, "%s: %d lines, %d failures", logname, n, matched);
	fclose(log);
	fclose(exp);
	watch_pattern_free(pat);
}

/*
 * A login name that holds an address: the daemon wrote both, the source
 * is the one in its own tail. The Dovecot and sshd lines are the daemons'
 * real output for such names (dovecot.log, sshd.log hold them too).
 */
static void test_injection(void)
{
	static const struct {
		enum watch_builtin b;
		const char *line, *want;
	} cases[] = {
		{ WATCH_PATTERN_DOVECOT,
		  "Dec 07 07:08:07 pop3-login: Info: Disconnected: Aborted login by logging out "
		  "(auth failed, 1 attempts in 2 secs): user=<x rip=192.0.2.77>, method=PLAIN, "
		  "rip=198.51.100.9, lip=192.0.2.1, session=<aMkg4wVizLTGM2QJ>",
		  "198.51.100.9\tx rip=192.0.2.77" },
		{ WATCH_PATTERN_DOVECOT,
		  "Dec 07 07:08:13 pop3-login: Info: Disconnected: Aborted login by logging out "
		  "(auth failed, 1 attempts in 6 secs): user=<x>, method=PLAIN, rip=192.0.2.77, "
		  "lip=192.0.2.1, session=<abc>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.1, "
		  "session=<hhw/4wVi2rTGM2QJ>",
		  "198.51.100.9\tx>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc" },
		{ WATCH_PATTERN_DOVECOT,
		  "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, "
		  "method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc>, method=PLAIN, "
		  "rip=2001:db8:1::9, lip=2001:db8::1, session=<GnFf2gVi6OwgAQ24AAEAAAAAAAAAAAAJ>",
		  "2001:db8:1::9\tx>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc" },
		{ WATCH_PATTERN_SSHD,
		  "Invalid user x from 192.0.2.77 port 22 from 198.51.100.9 port 54952",
		  "198.51.100.9\tx from 192.0.2.77 port 22" },
		{ WATCH_PATTERN_SSHD,
		  "Dec  7 07:30:01 gw sshd[812]: Failed password for invalid user x from "
		  "192.0.2.77 port 22 from 198.51.100.9 port 54952 ssh2",
		  "198.51.100.9\tx from 192.0.2.77 port 22" },
		{ WATCH_PATTERN_SSHD,
		  "Connection closed by invalid user x from 192.0.2.77 port 22 198.51.100.9 port "
		  "54952 [preauth]",
		  "198.51.100.9\tx from 192.0.2.77 port 22" },
		{ WATCH_PATTERN_SSHD,
		  "Failed password for invalid user x from 192.0.2.77 port 22 ssh2 from "
		  "2001:db8:1::9 port 47768 ssh2",
		  "2001:db8:1::9\tx from 192.0.2.77 port 22 ssh2" },
		/* Postfix writes the name last: anchored at the start instead. */
		{ WATCH_PATTERN_POSTFIX_SASL,
		  "Dec  7 07:30:01 gw postfix/smtpd[4321]: warning: unknown[198.51.100.9]: SASL "
		  "PLAIN authentication failed: authentication failure, sasl_username=x, "
		  "sasl_username=y warning: unknown[192.0.2.77]: SASL PLAIN authentication failed: ",
		  "198.51.100.9\tx, sasl_username=y warning: unknown[192.0.2.77]: SASL PLAIN "
		  "authentication failed: " },
		/* An outsider's text in another line (a rejected sender) is never a start. */
		{ WATCH_PATTERN_POSTFIX_SASL,
		  "Dec  7 07:30:01 gw postfix/smtpd[4321]: NOQUEUE: reject: RCPT from "
		  "unknown[198.51.100.9]: 554 5.7.1 <a@example.org>: Relay access denied; "
		  "from=<\"postfix/smtpd[1]: warning: unknown[192.0.2.77]: SASL PLAIN "
		  "authentication failed: \"@example.org> to=<a@example.org> proto=ESMTP helo=<x>",
		  "-" },
	};
	bool never_injected = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct watch_pattern *pat = pattern_of(cases[i].b, NULL);
		const char *got = verdict_of(pat, cases[i].line);

		never_injected &= !strstr(got, "192.0.2.77\t") && strncmp(got, "192.0.2.77", 10);
		CHECK_STR(got, cases[i].want, "injection %zu (%s): the source is the daemon's",
			  i, watch_builtin_name(cases[i].b));
		watch_pattern_free(pat);
	}
	CHECK(never_injected, "192.0.2.77, the address in the login names, is never the source");
}

static void test_addresses(void)
{
	struct watch_pattern *sshd = pattern_of(WATCH_PATTERN_SSHD, NULL);
	struct watch_match m;

	CHECK_STR(verdict_of(sshd, "Invalid user a from ::ffff:198.51.100.7 port 1"),
		  "198.51.100.7\ta", "IPv4-mapped IPv6 is the IPv4 host");
	CHECK(watch_pattern_match(sshd, "Invalid user a from ::FFFF:198.51.100.7 port 1", 46, &m) ==
		      1 && m.source.family == AF_INET && m.source.plen == 32,
	      "upper-case mapped prefix: an IPv4 host, /32");
	CHECK_STR(verdict_of(sshd, "Invalid user a from 2001:db8::7 port 1"), "2001:db8::7\ta",
		  "IPv6");
	CHECK(watch_pattern_match(sshd, "Invalid user a from 2001:db8::7 port 1", 38, &m) == 1 &&
		      m.source.family == AF_INET6 && m.source.plen == 128,
	      "IPv6: a host, /128");
	CHECK_STR(verdict_of(sshd, "Invalid user a from 198.51.100.300 port 1"), "-",
		  "an address that does not parse is no match");
	CHECK_STR(verdict_of(sshd, "Invalid user a from ::ffff:2001:db8::1 port 1"), "-",
		  "a mapped prefix on an IPv6 address is no match");
	CHECK_STR(verdict_of(sshd, "Invalid user a from ::ffff: port 1"), "-",
		  "a mapped prefix alone is no match");
	CHECK_STR(verdict_of(sshd, "Invalid user a from 198.51.100.0/24 port 1"), "-",
		  "a network is no source");
	watch_pattern_free(sshd);
}

/* A line the reader cut, and names longer than WATCH_USER_MAX. */
static void test_bounds(void)
{
	static const char head[] = "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): "
				   "user=<",
			  forged[] = ">, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<a>",
			  tail[] = ">, method=PLAIN, rip=198.51.100.9, lip=192.0.2.1, session=<b>";
	struct watch_pattern *pat = pattern_of(WATCH_PATTERN_DOVECOT, NULL);
	char line[WATCH_LINE_MAX + 200];
	struct watch_match m;
	size_t fill;

	/* The forged tail ends exactly where the reader cuts the line. */
	fill = WATCH_LINE_MAX - strlen(head) - strlen(forged);
	memcpy(line, head, strlen(head));
	memset(line + strlen(head), 'u', fill);
	memcpy(line + strlen(head) + fill, forged, strlen(forged));
	memcpy(line + WATCH_LINE_MAX, tail, strlen(tail));
	CHECK_STR(verdict(pat, line, WATCH_LINE_MAX), "-",
		  "a line cut at WATCH_LINE_MAX bytes never matches (its forged end would)");
	CHECK_INT(watch_pattern_match(pat, line, WATCH_LINE_MAX - 1, &m), 0,
		  "one byte shorter, the forged tail is not the end either");
	memcpy(line + WATCH_LINE_MAX - strlen(tail) - 1, tail, strlen(tail));
	CHECK_INT(watch_pattern_match(pat, line, WATCH_LINE_MAX - 1, &m), 1,
		  "a whole line of WATCH_LINE_MAX - 1 bytes matches");
	CHECK(m.user_cut && strlen(m.user) == WATCH_USER_MAX && m.user[0] == 'u',
	      "its long name is cut at WATCH_USER_MAX, user_cut set");

	fill = WATCH_USER_MAX;
	memcpy(line, head, strlen(head));
	memset(line + strlen(head), 'v', fill);
	memcpy(line + strlen(head) + fill, tail, strlen(tail) + 1);
	CHECK(watch_pattern_match(pat, line, strlen(line), &m) == 1 && !m.user_cut &&
		      strlen(m.user) == WATCH_USER_MAX,
	      "a name of exactly WATCH_USER_MAX bytes is whole");
	line[strlen(head) + fill] = 'v';
	memcpy(line + strlen(head) + fill + 1, tail, strlen(tail) + 1);
	CHECK(watch_pattern_match(pat, line, strlen(line), &m) == 1 && m.user_cut &&
		      strlen(m.user) == WATCH_USER_MAX,
	      "one byte more is cut");
	/* A name that repeats the daemon's text is matched in linear time, not cut off. */
	memcpy(line, head, strlen(head));
	for (fill = strlen(head); fill + 2 * strlen(head) < WATCH_LINE_MAX - 100;
	     fill += strlen(head))
		memcpy(line + fill, head, strlen(head));
	memcpy(line + fill, tail, strlen(tail) + 1);
	CHECK_INT(watch_pattern_match(pat, line, strlen(line), &m), 1,
		  "a name of %zu copies of the daemon's text: still a match, within the limit",
		  fill / strlen(head) - 1);
	CHECK_STR(verdict_of(pat, "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): "
				  "user=<>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.1, "
				  "session=<b>"),
		  "198.51.100.9\t", "an empty name is a name, empty");
	/* The line need not be NUL-terminated: the length decides. */
	snprintf(line, sizeof(line), "Invalid user a from 198.51.100.9 port 1XXXX");
	CHECK_STR(verdict(pat, line, strlen(line)), "-", "dovecot does not take sshd's lines");
	watch_pattern_free(pat);
	pat = pattern_of(WATCH_PATTERN_SSHD, NULL);
	CHECK_STR(verdict(pat, line, strlen(line) - 4), "198.51.100.9\ta",
		  "the length, not a NUL, ends the line");
	watch_pattern_free(pat);
}

static void test_regex(void)
{
	struct watch_pattern *pat;
	char err[256] = "";
	struct watch_match m;
	char slow[200];
	int ret;

	CHECK_INT(watch_builtin_find("dovecot"), WATCH_PATTERN_DOVECOT, "dovecot is built in");
	CHECK_INT(watch_builtin_find("sshd"), WATCH_PATTERN_SSHD, "sshd is built in");
	CHECK_INT(watch_builtin_find("postfix-sasl"), WATCH_PATTERN_POSTFIX_SASL,
		  "postfix-sasl is built in");
	CHECK_INT(watch_builtin_find("regex"), -1, "regex is no built-in name");
	CHECK_INT(watch_builtin_find("exim"), -1, "nor is exim");
	CHECK_STR(watch_builtin_name(WATCH_PATTERN_POSTFIX_SASL), "postfix-sasl", "names");

	ret = watch_pattern_new(&pat, WATCH_PATTERN_REGEX, "from (?<addr>\\S+", err, sizeof(err));
	CHECK_INT(ret, -EINVAL, "a regex that does not compile is refused");
	CHECK_STR(err, "regex: missing closing parenthesis at offset 16",
		  "with PCRE2's reason and the offset");
	ret = watch_pattern_new(&pat, WATCH_PATTERN_REGEX, "from (?<src>\\S+)$", err, sizeof(err));
	CHECK_INT(ret, -EINVAL, "a regex without (?<addr>) is refused");
	CHECK(strstr(err, "(?<addr>") != NULL, "saying so: %s", err);
	CHECK_INT(watch_pattern_new(&pat, WATCH_PATTERN_REGEX, NULL, err, sizeof(err)), -EINVAL,
		  "regex needs its text");

	pat = pattern_of(WATCH_PATTERN_REGEX,
			 "^[^ ]+ ftpd\\[\\d+\\]: login (?<user>\\S+) from (?<addr>[^ ]+) failed$");
	CHECK_STR(verdict_of(pat, "gw ftpd[9]: login bob from 2001:db8::5 failed"),
		  "2001:db8::5\tbob", "a custom regex: source and user");
	CHECK_STR(verdict_of(pat, "gw ftpd[9]: login bob from 2001:db8::5 ok"), "-",
		  "a custom regex: other lines do not match");
	watch_pattern_free(pat);
	pat = pattern_of(WATCH_PATTERN_REGEX, "refused (?<addr>[0-9.]+)");
	CHECK(watch_pattern_match(pat, "refused 203.0.113.4 now", 23, &m) == 1 && !m.has_user &&
		      !m.user[0],
	      "a regex without (?<user>): no user");
	watch_pattern_free(pat);

	/* Catastrophic backtracking: bounded by the match limit, an error. */
	pat = pattern_of(WATCH_PATTERN_REGEX, "^(?<addr>(a|aa)+)+$");
	memset(slow, 'a', sizeof(slow) - 2);
	slow[sizeof(slow) - 2] = 'b';
	CHECK_INT(watch_pattern_match(pat, slow, sizeof(slow) - 1, &m), -E2BIG,
		  "a regex that backtracks without end stops at the match limit");
	watch_pattern_free(pat);
}

int main(void)
{
	const char *slash = strrchr(__FILE__, '/');

	snprintf(data_dir, sizeof(data_dir), "%.*s/data/watch", slash ? (int)(slash - __FILE__) : 1,
		 slash ? __FILE__ : ".");
	test_captured("dovecot", WATCH_PATTERN_DOVECOT);
	test_captured("sshd", WATCH_PATTERN_SSHD);
	test_captured("postfix", WATCH_PATTERN_POSTFIX_SASL);
	test_injection();
	test_addresses();
	test_bounds();
	test_regex();
	return check_done();
}
