// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy protocol's parser and answer writer (policy/request.h):
 * good requests, several in one buffer, every split of a buffer, each bad
 * input and each bound exactly at and one past it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy/request.h"

#define POSTFIX_REQUEST                                                                    \
	"request=smtpd_access_policy\n"                                                    \
	"protocol_state=RCPT\n"                                                            \
	"protocol_name=ESMTP\n"                                                            \
	"client_address=192.0.2.7\n"                                                       \
	"client_name=mail.example.net\n"                                                   \
	"reverse_client_name=mail.example.net\n"                                           \
	"helo_name=mail.example.net\n"                                                     \
	"sender=a@example.net\n"                                                           \
	"recipient=u@example.org\n"                                                        \
	"recipient_count=0\n"                                                              \
	"queue_id=\n"                                                                      \
	"instance=1c5e.6580a2b7.2a9b1.0\n"                                                 \
	"size=0\n"                                                                         \
	"etrn_domain=\n"                                                                   \
	"stress=\n"                                                                        \
	"sasl_method=\n"                                                                   \
	"ccert_subject=\n"                                                                 \
	"encryption_protocol=TLSv1.3\n"                                                    \
	"policy_context=\n"                                                                \
	"server_address=198.51.100.1\n"                                                    \
	"server_port=25\n"                                                                 \
	"compatibility_level=3.6\n"                                                        \
	"mail_version=3.7.11\n"                                                            \
	"\n"

static struct policy_request req;

/* The values of a good request, in enum policy_attr's order. */
struct values {
	const char *v[POLICY_ATTR_COUNT];
};

static bool same_values(const struct values *want)
{
	for (int i = 0; i < POLICY_ATTR_COUNT; i++)
		if (!req.value[i] || strcmp(req.value[i], want->v[i]))
			return false;
	return true;
}

static void test_postfix_request(void)
{
	static const struct values want = { {
		"smtpd_access_policy", "RCPT", "192.0.2.7", "mail.example.net", "a@example.net",
		"u@example.org", "0", "1c5e.6580a2b7.2a9b1.0",
	} };
	ssize_t n = policy_request_parse(POSTFIX_REQUEST, strlen(POSTFIX_REQUEST), &req);

	CHECK_INT(n, strlen(POSTFIX_REQUEST), "a Postfix 3.7 request is taken whole");
	CHECK_INT(req.fault, POLICY_GOOD, "it is good");
	CHECK(same_values(&want), "its eight kept attributes are exact, the others ignored");
}

/* Requests as they should be read: input, bytes taken, values. */
static const struct {
	const char *what, *input;
	size_t taken;
	struct values want;
} good[] = {
	{ "absent attributes are empty", "request=smtpd_access_policy\n\n", 29,
	  { { "smtpd_access_policy", "", "", "", "", "", "", "" } } },
	{ "the null sender is empty", "sender=\nrecipient=<x>\n\n", 23,
	  { { "", "", "", "", "", "<x>", "", "" } } },
	{ "only unknown attributes", "foo=bar\nbaz=\n\n", 14, { { "", "", "", "", "", "", "", "" } } },
	{ "an unknown attribute twice is ignored", "foo=1\nfoo=2\nsender=s\n\n", 22,
	  { { "", "", "", "", "s", "", "", "" } } },
	{ "a value keeps its '=' and spaces", "helo_name= a=b \n\n", 17,
	  { { "", "", "", " a=b ", "", "", "", "" } } },
	{ "CRLF line ends are taken as LF", "sender=s\r\nrecipient=r\r\n\r\n", 25,
	  { { "", "", "", "", "s", "r", "", "" } } },
	{ "a CR inside a value stays", "sender=a\rb\n\n", 12, { { "", "", "", "", "a\rb", "", "", "" } } },
	{ "bytes >= 0x80 and controls stay", "helo_name=\xc3\xa9\x01\n\n", 15,
	  { { "", "", "", "\xc3\xa9\x01", "", "", "", "" } } },
	{ "names are case-sensitive", "Sender=x\n\n", 10, { { "", "", "", "", "", "", "", "" } } },
	{ "only the first request is taken", "sender=a\n\nsender=b\n\n", 10,
	  { { "", "", "", "", "a", "", "", "" } } },
};

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ssize_t n = policy_request_parse(good[i].input, strlen(good[i].input), &req);

		CHECK(n == (ssize_t)good[i].taken && req.fault == POLICY_GOOD &&
			      same_values(&good[i].want),
		      "%s (took %zd)", good[i].what, n);
	}
}

/* Malformed but framed: taken whole, with its fault and line. */
static const struct {
	const char *what;
	const char *input;
	size_t len;	/* 0: strlen(input) */
	enum policy_fault fault;
	unsigned int line;
} bad[] = {
	{ "a line without '='", "sender=a\nnonsense\nrecipient=b\n\n", 0, POLICY_NO_EQUALS, 2 },
	{ "an empty name", "=value\n\n", 0, POLICY_NO_NAME, 1 },
	{ "a NUL in a value", "sender=a\0b\n\n", 12, POLICY_NUL, 1 },
	{ "a NUL in an unknown attribute", "x=\0\nsender=a\n\n", 14, POLICY_NUL, 1 },
	{ "a NUL alone on a line", "sender=a\n\0\n\n", 12, POLICY_NUL, 2 },
	{ "a kept attribute twice", "recipient=a\nsender=s\nrecipient=b\n\n", 0, POLICY_REPEATED,
	  3 },
	{ "a kept attribute twice, the same value", "sender=\nsender=\n\n", 0, POLICY_REPEATED,
	  2 },
	{ "an empty line first", "\nsender=a\n\n", 0, POLICY_EMPTY, 1 },
	{ "a CRLF empty line first", "\r\n", 0, POLICY_EMPTY, 1 },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].input);
		/* Taken up to its empty line: the first one, for these. */
		const char *end = memmem(bad[i].input, len, "\n\n", 2);
		size_t want = bad[i].fault == POLICY_EMPTY ? (bad[i].input[0] == '\r' ? 2 : 1)
							   : (size_t)(end - bad[i].input) + 2;
		ssize_t n = policy_request_parse(bad[i].input, len, &req);

		CHECK(n == (ssize_t)want && req.fault == bad[i].fault &&
			      req.fault_line == bad[i].line,
		      "%s: %s at line %u (took %zd, fault %d, line %u)", bad[i].what,
		      policy_fault_text(bad[i].fault), bad[i].line, n, req.fault, req.fault_line);
	}
}

/* A request of exactly total bytes: "x=" and filler, then "\n\n". */
static char *request_of(size_t total)
{
	char *p = malloc(total + 1);

	memset(p, 'a', total);
	memcpy(p, "x=", 2);
	p[total - 2] = '\n';
	p[total - 1] = '\n';
	p[total] = '\0';
	return p;
}

static void test_request_bound(void)
{
	char *at = request_of(POLICY_REQUEST_MAX), *past = request_of(POLICY_REQUEST_MAX + 1);
	ssize_t n;

	n = policy_request_parse(at, POLICY_REQUEST_MAX, &req);
	CHECK(n == POLICY_REQUEST_MAX && req.fault == POLICY_GOOD,
	      "a request of exactly POLICY_REQUEST_MAX bytes is good (%zd)", n);
	n = policy_request_parse(past, POLICY_REQUEST_MAX + 1, &req);
	CHECK_INT(n, -EMSGSIZE, "one byte more: framing lost");
	n = policy_request_parse(past, POLICY_REQUEST_MAX, &req);
	CHECK_INT(n, -EMSGSIZE, "known as soon as POLICY_REQUEST_MAX bytes hold no end");
	n = policy_request_parse(past, POLICY_REQUEST_MAX - 1, &req);
	CHECK_INT(n, 0, "one byte before that, more may come");
	/* Its CRLF empty line ends exactly at the bound. */
	memcpy(at + POLICY_REQUEST_MAX - 3, "\n\r\n", 3);
	n = policy_request_parse(at, POLICY_REQUEST_MAX, &req);
	CHECK(n == POLICY_REQUEST_MAX && req.fault == POLICY_GOOD,
	      "a CRLF end at the bound is good (%zd)", n);
	free(at);
	free(past);
}

/* name=value with value of n bytes, ending the request. */
static ssize_t parse_value(const char *name, size_t n)
{
	size_t len = strlen(name) + 1 + n + 2;
	char *p = malloc(len);
	ssize_t ret;

	memcpy(p, name, strlen(name));
	p[strlen(name)] = '=';
	memset(p + strlen(name) + 1, 'v', n);
	memcpy(p + len - 2, "\n\n", 2);
	ret = policy_request_parse(p, len, &req);
	free(p);
	return ret;
}

static void test_value_bounds(void)
{
	static const struct {
		const char *name;
		size_t max;
	} bounds[] = {
		{ "request", PRIVSEP_SHORT_MAX },	  { "protocol_state", PRIVSEP_SHORT_MAX },
		{ "client_address", PRIVSEP_SHORT_MAX },  { "helo_name", PRIVSEP_FIELD_MAX },
		{ "sender", PRIVSEP_FIELD_MAX },	  { "recipient", PRIVSEP_FIELD_MAX },
		{ "recipient_count", PRIVSEP_SHORT_MAX }, { "instance", PRIVSEP_SHORT_MAX },
	};

	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		ssize_t at = parse_value(bounds[i].name, bounds[i].max);
		enum policy_fault at_fault = req.fault;
		size_t at_len = req.value[i] ? strlen(req.value[i]) : 0;
		ssize_t past = parse_value(bounds[i].name, bounds[i].max + 1);

		CHECK(at > 0 && at_fault == POLICY_GOOD && at_len == bounds[i].max && past > 0 &&
			      req.fault == POLICY_VALUE_LONG,
		      "%s: %zu bytes good, %zu too long", bounds[i].name, bounds[i].max,
		      bounds[i].max + 1);
	}
	CHECK(parse_value("ccert_subject", POLICY_REQUEST_MAX - 20) > 0 &&
		      req.fault == POLICY_GOOD,
	      "an unknown attribute is bounded by the request alone");
}

static void test_line_bound(void)
{
	size_t len = 4 * (POLICY_LINES_MAX + 1) + 1;
	char *p = malloc(len);

	for (size_t i = 0; i < POLICY_LINES_MAX + 1; i++)
		memcpy(p + 4 * i, "x=y\n", 4);
	p[len - 1] = '\n';
	/* POLICY_LINES_MAX lines: the last one moved to be the empty line. */
	memmove(p + 4 * POLICY_LINES_MAX, "\n", 1);
	CHECK(policy_request_parse(p, 4 * POLICY_LINES_MAX + 1, &req) ==
			      4 * POLICY_LINES_MAX + 1 &&
		      req.fault == POLICY_GOOD,
	      "POLICY_LINES_MAX lines are good");
	memcpy(p + 4 * POLICY_LINES_MAX, "x=y\n", 4);
	CHECK(policy_request_parse(p, len, &req) == (ssize_t)len &&
		      req.fault == POLICY_TOO_MANY_LINES &&
		      req.fault_line == POLICY_LINES_MAX + 1,
	      "one more is too many, at line %u", POLICY_LINES_MAX + 1);
	free(p);
}

/*
 * The stream of several requests, split in two at every byte: whatever
 * the split, the same requests come out with the same values and faults.
 */
static void test_splits(void)
{
	static const char stream[] = "request=smtpd_access_policy\nsender=a@b\nrecipient=c@d\n\n"
				     "junk\n\n"
				     "sender=\r\nrecipient=e@f\r\n\r\n"
				     "instance=9\n\n";
	static const char *const want_sender[] = { "a@b", NULL, "", "" };
	static const enum policy_fault want_fault[] = { POLICY_GOOD, POLICY_NO_EQUALS, POLICY_GOOD,
							 POLICY_GOOD };
	size_t len = sizeof(stream) - 1, bad_splits = 0, first;

	for (size_t split = 0; split <= len; split++) {
		/* What a server would hold: the bytes come in two reads. */
		char buf[sizeof(stream)];
		size_t held = 0, fed = 0, got = 0;
		bool ok = true;

		while (ok && (fed < len || held)) {
			ssize_t n;

			if (fed < len) {
				size_t chunk = fed < split ? split - fed : len - fed;

				memcpy(buf + held, stream + fed, chunk);
				held += chunk;
				fed += chunk;
			}
			while (ok && (n = policy_request_parse(buf, held, &req)) > 0) {
				ok = got < 4 && req.fault == want_fault[got] &&
				     (req.fault != POLICY_GOOD ||
				      !strcmp(req.value[POLICY_ATTR_SENDER], want_sender[got]));
				got++;
				memmove(buf, buf + n, held - (size_t)n);
				held -= (size_t)n;
			}
			if (n < 0 || (fed == len && held))
				ok = false;
		}
		if (!ok || got != 4)
			bad_splits++;
	}
	CHECK_INT(bad_splits, 0, "four requests read alike at all %zu splits", len + 1);

	/* Byte by byte: nothing whole until the very last byte of the first request. */
	first = (size_t)(strstr(stream, "\n\n") - stream) + 2;
	for (size_t i = 0; i < first; i++)
		if (policy_request_parse(stream, i, &req) != 0)
			bad_splits++;
	CHECK(bad_splits == 0 && policy_request_parse(stream, first, &req) == (ssize_t)first,
	      "no request before its empty line's last byte");
}

static void test_answer(void)
{
	char buf[POLICY_ANSWER_MAX + 8], action[PRIVSEP_ACTION_MAX + 2];
	int n;

	n = policy_answer("DUNNO", buf, sizeof(buf));
	CHECK(n == 14 && !memcmp(buf, "action=DUNNO\n\n", 14), "action=DUNNO and an empty line");
	n = policy_answer(POLICY_ANSWER_MALFORMED, buf, sizeof(buf));
	CHECK(n > 0 && !memcmp(buf, "action=DEFER_IF_PERMIT 4.3.5 ", 29),
	      "a malformed request's answer is a 4.3.5 temporary failure");
	n = policy_answer(POLICY_ANSWER_NO_VERDICT, buf, sizeof(buf));
	CHECK(n > 0 && !memcmp(buf, "action=DEFER_IF_PERMIT 4.3.0 ", 29),
	      "an unanswered request's is a 4.3.0 temporary failure");
	CHECK_INT(policy_answer("", buf, sizeof(buf)), -EINVAL, "an empty action is refused");
	CHECK_INT(policy_answer("DUNNO\n\naction=OK", buf, sizeof(buf)), -EINVAL,
		  "an action cannot add a line");
	CHECK_INT(policy_answer("A\x7f", buf, sizeof(buf)), -EINVAL, "nor hold DEL");
	CHECK_INT(policy_answer("DUNNO", buf, 13), -EMSGSIZE, "too little room is refused");
	CHECK_INT(policy_answer("DUNNO", buf, 14), 14, "exactly enough is enough");
	memset(action, 'A', PRIVSEP_ACTION_MAX);
	action[PRIVSEP_ACTION_MAX] = '\0';
	CHECK_INT(policy_answer(action, buf, sizeof(buf)), PRIVSEP_ACTION_MAX + 9,
		  "the longest action a VERDICT carries fits POLICY_ANSWER_MAX");
}

int main(void)
{
	test_postfix_request();
	test_good();
	test_bad();
	test_request_bound();
	test_value_bounds();
	test_line_bound();
	test_splits();
	test_answer();
	return check_done();
}
