// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * crowdsec/lapi.c: Go durations, RFC 3339 times, decision stream answers
 * (as CrowdSec 1.4.6 sends them, and hostile ones), login answers, and the
 * alerts body parsed back with json-c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "crowdsec/lapi.h"

static void test_durations(void)
{
	static const struct {
		const char *text;
		int ret;
		int64_t seconds;
	} cases[] = {
		{ "59m59.268427445s", 0, 3600 },
		{ "1h59m59s", 0, 7199 },
		{ "1h59m58.799104212s", 0, 7199 },
		{ "-18.334664ms", 0, 0 },
		{ "-6.654654351s", 0, -6 },
		{ "-1m0.681883331s", 0, -60 },
		{ "720h0m0s", 0, 2592000 },
		{ "4.5s", 0, 5 },
		{ "300ms", 0, 1 },
		{ "0s", 0, 0 },
		{ "0", 0, 0 },
		{ "-0", 0, 0 },
		{ "+5s", 0, 5 },
		{ "1s", 0, 1 },
		{ "1000000000ns", 0, 1 },
		{ "1000000001ns", 0, 2 },
		{ "1.5h", 0, 5400 },
		{ ".5s", 0, 1 },
		{ "5.s", 0, 5 },
		{ "3us", 0, 1 },
		{ "3\xc2\xb5s", 0, 1 },
		{ "3\xce\xbcs", 0, 1 },
		{ "2562047h47m16.854775807s", 0, 9223372037 },
		{ "-2562047h47m16.854775808s", 0, -9223372036 },
		{ "2562047h47m16.854775808s", -ERANGE, 0 },
		{ "2562048h", -ERANGE, 0 },
		{ "9999999999999999999999h", -ERANGE, 0 },
		{ "18446744073709551616ns", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "5", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ ".s", -EINVAL, 0 },
		{ "5x", -EINVAL, 0 },
		{ "5 s", -EINVAL, 0 },
		{ "5s ", -EINVAL, 0 },
		{ "1h-5m", -EINVAL, 0 },
		{ "--5s", -EINVAL, 0 },
		{ "5S", -EINVAL, 0 },
		{ "1e3s", -EINVAL, 0 },
		{ "0x10s", -EINVAL, 0 },
		{ "1111111111111111111111111111111111111111111111111111111111111111111ns", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = 12345;
		int ret = lapi_parse_duration(cases[i].text, &s);

		CHECK_INT(ret, cases[i].ret, "duration \"%s\" returns %d", cases[i].text,
			  cases[i].ret);
		if (!cases[i].ret)
			CHECK_INT(s, cases[i].seconds, "duration \"%s\" is %lld s", cases[i].text,
				  (long long)cases[i].seconds);
	}
}

static void test_times(void)
{
	static const struct {
		const char *text;
		int ret;
		int64_t t;
	} cases[] = {
		{ "2026-12-07T16:28:45Z", 0, 1796660925 },
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2024-02-29T12:00:00Z", 0, 1709208000 },
		{ "2026-12-07T16:28:45.123456789Z", 0, 1796660925 },
		{ "2026-12-07T17:28:45+01:00", 0, 1796660925 },
		{ "2026-12-07T15:28:45-01:00", 0, 1796660925 },
		{ "9999-12-31T23:59:59Z", 0, 253402300799LL },
		{ "2023-02-29T12:00:00Z", -EINVAL, 0 },
		{ "2026-13-07T16:28:45Z", -EINVAL, 0 },
		{ "2026-12-07T24:00:00Z", -EINVAL, 0 },
		{ "2026-12-07T16:28:60Z", -EINVAL, 0 },
		{ "2026-12-07 16:28:45Z", -EINVAL, 0 },
		{ "2026-12-07T16:28:45", -EINVAL, 0 },
		{ "2026-12-07T16:28:45Zx", -EINVAL, 0 },
		{ "2026-12-07T16:28:45.Z", -EINVAL, 0 },
		{ "2026-12-07T16:28:45+0100", -EINVAL, 0 },
		{ "1969-12-31T23:59:59Z", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		int ret = lapi_parse_time(cases[i].text, &t);

		CHECK_INT(ret, cases[i].ret, "time \"%s\" returns %d", cases[i].text,
			  cases[i].ret);
		if (!cases[i].ret)
			CHECK_INT(t, cases[i].t, "time \"%s\" is %lld", cases[i].text,
				  (long long)cases[i].t);
	}
	CHECK(!lapi_format_time(1796660925, buf, sizeof(buf)), "format a time");
	CHECK_STR(buf, "2026-12-07T16:28:45Z", "formatted as RFC 3339 UTC");
	CHECK(!lapi_format_time(1709208000, buf, sizeof(buf)), "format a leap day");
	CHECK_STR(buf, "2024-02-29T12:00:00Z", "leap day formatted");
	CHECK_INT(lapi_format_time(-1, buf, sizeof(buf)), -EINVAL, "negative time refused");
	CHECK_INT(lapi_format_time(253402300800LL, buf, sizeof(buf)), -EINVAL,
		  "year 10000 refused");
	/* Every day of 1970..2100 and back. */
	{
		bool same = true;

		for (int64_t t = 0; t < 4102444800LL && same; t += 86400 + 3661) {
			int64_t back;

			same = !lapi_format_time(t, buf, sizeof(buf)) &&
			       !lapi_parse_time(buf, &back) && back == t;
		}
		CHECK(same, "format and parse agree over 1970..2100");
	}
}

static void test_values(void)
{
	static const struct {
		const char *text;
		const char *want;	/* NULL: refused */
	} cases[] = {
		{ "198.51.100.7", "198.51.100.7" },
		{ "203.0.113.0/24", "203.0.113.0/24" },
		{ "2001:db8:1::/48", "2001:db8:1::/48" },
		{ "2001:DB8:2::/48", "2001:db8:2::/48" },
		{ "192.0.2.5/24", "192.0.2.0/24" },
		{ "::ffff:192.0.2.9", "192.0.2.9" },
		{ "::ffff:192.0.2.9/120", "192.0.2.0/24" },
		{ "2001:db8::1/32", "2001:db8::/32" },
		{ "198.51.100.7/32", "198.51.100.7" },
		{ "1.2.3.4/0", "0.0.0.0/0" },
		{ "1.2.3.4/33", NULL },
		{ "1.2.3.4/", NULL },
		{ "1.2.3.4/0024", NULL },
		{ "1.2.3.4/-1", NULL },
		{ "1.2.3.4/2a", NULL },
		{ "2001:db8::/129", NULL },
		{ "not-an-ip", NULL },
		{ "", NULL },
		{ "/24", NULL },
		{ "fe80::1%eth0", NULL },
		{ "1.2.3", NULL },
		{ "01.2.3.4", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr_prefix p;
		char buf[ADDR_STRLEN];
		int ret = lapi_parse_value(cases[i].text, &p);

		if (!cases[i].want) {
			CHECK_INT(ret, -EINVAL, "value \"%s\" refused", cases[i].text);
			continue;
		}
		CHECK_INT(ret, 0, "value \"%s\" taken", cases[i].text);
		addr_format(&p, buf, sizeof(buf));
		CHECK_STR(buf, cases[i].want, "value \"%s\" is %s", cases[i].text, cases[i].want);
	}
}

/* Answers as CrowdSec 1.4.6 sent them (tests/unit/test_crowdsec_client.c makes the same). */
static const char startup_answer[] =
	"{\"deleted\":[{\"duration\":\"-1m0.681883331s\",\"id\":1,\"origin\":\"cscli\","
	"\"scenario\":\"manual 'ban' from 'localcli'\",\"scope\":\"Ip\",\"type\":\"ban\","
	"\"value\":\"198.51.100.7\"},{\"duration\":\"-45.305774476s\",\"id\":4,\"origin\":"
	"\"cscli\",\"scenario\":\"manual 'captcha' from 'localcli'\",\"scope\":\"Ip\","
	"\"type\":\"captcha\",\"value\":\"198.51.100.8\"}],\"new\":[{\"duration\":"
	"\"56m21.357502472s\",\"id\":6,\"origin\":\"crowdsec\",\"scenario\":"
	"\"greywall/overload\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.9\"},"
	"{\"duration\":\"1h58m54.357500008s\",\"id\":2,\"origin\":\"cscli\",\"scenario\":"
	"\"manual 'ban' from 'localcli'\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":"
	"\"203.0.113.0/24\"},{\"duration\":\"3h58m54.357499256s\",\"id\":3,\"origin\":"
	"\"cscli\",\"scenario\":\"manual 'ban' from 'localcli'\",\"scope\":\"Range\","
	"\"type\":\"ban\",\"value\":\"2001:db8:1::/48\"},{\"duration\":"
	"\"3h59m58.357498786s\",\"id\":7,\"origin\":\"cscli\",\"scenario\":\"manual 'ban' "
	"from 'localcli'\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"192.0.2.5/24\"},"
	"{\"duration\":\"3h59m59.357498355s\",\"id\":8,\"origin\":\"cscli\",\"scenario\":"
	"\"manual 'ban' from 'localcli'\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":"
	"\"::ffff:192.0.2.9\"},{\"duration\":\"3h59m59.357497794s\",\"id\":9,\"origin\":"
	"\"cscli\",\"scenario\":\"manual 'ban' from 'localcli'\",\"scope\":\"Range\","
	"\"type\":\"ban\",\"value\":\"2001:DB8:2::/48\"}]}";

static int parse(const char *text, struct lapi_stream *s, char *reason)
{
	return lapi_parse_stream(text, strlen(text), s, reason, LAPI_REASON_MAX);
}

static void test_stream_real(void)
{
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];
	const struct cs_msg_decision *d;

	CHECK_INT(parse(startup_answer, &s, reason), 0, "1.4.6 startup answer taken");
	CHECK_INT(s.ndecisions, 7, "7 ban decisions of scope Ip/Range");
	CHECK_INT(s.counts.added, 6, "6 new");
	CHECK_INT(s.counts.deleted, 1, "1 deleted");
	CHECK_INT(s.counts.ignored_type, 1, "the deleted captcha counted as ignored");
	CHECK_INT(s.counts.ignored_scope, 0, "no other scope");
	CHECK_INT(s.counts.type, CS_MSG_PULL_END, "counts are a PULL_END");
	if (s.ndecisions != 7) {
		lapi_stream_free(&s);
		return;
	}
	d = &s.decisions[0];
	CHECK(d->type == CS_MSG_DECISION && !d->deleted && d->scope == CS_SCOPE_IP && d->id == 6 &&
		      d->duration == 3382,
	      "first new: Ip, id 6, 3382 s");
	CHECK_STR(d->value, "198.51.100.9", "its value");
	CHECK_STR(d->origin, "crowdsec", "its origin");
	CHECK_STR(d->scenario, "greywall/overload", "its scenario");
	CHECK(s.decisions[1].scope == CS_SCOPE_RANGE && s.decisions[1].duration == 7135,
	      "an IPv4 range, 7135 s");
	CHECK_STR(s.decisions[2].value, "2001:db8:1::/48", "an IPv6 range");
	CHECK_STR(s.decisions[3].value, "192.0.2.0/24", "host bits of a range cleared");
	CHECK_STR(s.decisions[4].value, "192.0.2.9", "an IPv4-mapped address as IPv4");
	CHECK_STR(s.decisions[5].value, "2001:db8:2::/48", "upper case normalised");
	d = &s.decisions[6];
	CHECK(d->deleted && d->id == 1 && d->duration == -60, "the deleted one last, -60 s");
	CHECK_STR(d->value, "198.51.100.7", "its value");
	for (size_t i = 0; i < s.ndecisions; i++)
		CHECK_INT(cs_msg_check(&s.decisions[i], sizeof(s.decisions[i])), CS_MSG_DECISION,
			  "decision %zu passes cs_msg_check", i);
	CHECK_INT(cs_msg_check(&s.counts, sizeof(s.counts)), CS_MSG_PULL_END,
		  "counts pass cs_msg_check");
	lapi_stream_free(&s);

	CHECK_INT(parse("{\"deleted\":null,\"new\":null}", &s, reason), 0, "null lists taken");
	CHECK(s.ndecisions == 0 && s.counts.added == 0 && s.counts.deleted == 0, "nothing in them");
	lapi_stream_free(&s);
	CHECK_INT(parse(" {\"deleted\":[],\"new\":[]}\n", &s, reason), 0, "empty lists taken");
	CHECK_INT(s.ndecisions, 0, "nothing in them");
	lapi_stream_free(&s);
	CHECK_INT(parse("{}", &s, reason), 0, "no lists: none");
	lapi_stream_free(&s);
}

#define D(id, type, scope, value) \
	"{\"duration\":\"1h\",\"id\":" id ",\"origin\":\"cscli\",\"scenario\":\"x\"," \
	"\"scope\":\"" scope "\",\"type\":\"" type "\",\"value\":\"" value "\"}"

static void test_stream_skipped(void)
{
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];

	CHECK_INT(parse("{\"new\":[" D("1", "captcha", "Ip", "198.51.100.1") "," D(
			      "2", "ban", "Country", "FR") "," D("3", "ban", "AS",
							      "64496") "," D("4", "Ban", "ip",
									   "198.51.100.4") "," D("5", "ban", "RANGE", "198.51.100.0/24") "]}",
			&s, reason),
		  0, "captcha, Country, AS, odd case taken");
	CHECK_INT(s.counts.ignored_type, 1, "captcha ignored by type");
	CHECK_INT(s.counts.ignored_scope, 2, "Country and AS ignored by scope");
	CHECK_INT(s.ndecisions, 2, "Ban/ip and ban/RANGE taken (CrowdSec compares case-insensitively)");
	if (s.ndecisions == 2)
		CHECK(s.decisions[0].scope == CS_SCOPE_IP && s.decisions[1].scope == CS_SCOPE_RANGE,
		      "their scopes");
	lapi_stream_free(&s);
}

static void test_stream_cut(void)
{
	char text[2048], scenario[400], origin[100];
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];

	/* A 3-byte character across the cut: cut before it, not in it. */
	memset(scenario, 'a', 126);
	strcpy(scenario + 126, "\xe2\x82\xac and more");
	memset(origin, 'o', 60);
	origin[60] = '\0';
	snprintf(text, sizeof(text),
		 "{\"new\":[{\"duration\":\"1h\",\"id\":9,\"origin\":\"%s\",\"scenario\":\"%s\","
		 "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\"}]}",
		 origin, scenario);
	CHECK_INT(parse(text, &s, reason), 0, "long scenario and origin taken");
	if (s.ndecisions == 1) {
		CHECK_INT(strlen(s.decisions[0].scenario), 126, "scenario cut before a character");
		CHECK_INT(strlen(s.decisions[0].origin), CS_ORIGIN_MAX - 1, "origin cut");
	}
	lapi_stream_free(&s);
}

static void test_stream_rejected(void)
{
	static const struct {
		const char *what, *text;
	} cases[] = {
		{ "bad value", "{\"new\":[" D("1", "ban", "Ip", "198.51.100.1") "," D(
				       "2", "ban", "Ip", "not-an-ip") "]}" },
		{ "bad value among deleted",
		  "{\"new\":[" D("1", "ban", "Ip", "198.51.100.1") "],\"deleted\":[" D(
			  "2", "ban", "Range", "203.0.113.0/33") "]}" },
		{ "id a string", "{\"new\":[" D("\"1\"", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id 0", "{\"new\":[" D("0", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id negative", "{\"new\":[" D("-3", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id a float", "{\"new\":[" D("1.5", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id huge", "{\"new\":[" D("99999999999999999999999", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id uint64", "{\"new\":[" D("18446744073709551615", "ban", "Ip", "198.51.100.1") "]}" },
		{ "id INT64_MAX", "{\"new\":[" D("9223372036854775807", "ban", "Ip", "198.51.100.1") "]}" },
		{ "duration a number",
		  "{\"new\":[{\"duration\":3600,\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\"}]}" },
		{ "duration garbage",
		  "{\"new\":[{\"duration\":\"forever\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\"}]}" },
		{ "duration overflow",
		  "{\"new\":[{\"duration\":\"9999999h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\"}]}" },
		{ "value missing",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\"}]}" },
		{ "type missing",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"value\":\"198.51.100.1\"}]}" },
		{ "origin null",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":null,\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\"}]}" },
		{ "value an array",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":[\"198.51.100.1\"]}]}" },
		{ "value with an escaped NUL",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\\u0000x\"}]}" },
		{ "element a string", "{\"new\":[\"198.51.100.1\"]}" },
		{ "element null", "{\"new\":[null]}" },
		{ "element a number", "{\"new\":[1]}" },
		{ "element an array", "{\"new\":[[]]}" },
		{ "new an object", "{\"new\":{}}" },
		{ "new a string", "{\"new\":\"x\"}" },
		{ "deleted a number", "{\"new\":null,\"deleted\":0}" },
		{ "top an array", "[]" },
		{ "top null", "null" },
		{ "top a string", "\"x\"" },
		{ "empty", "" },
		{ "whitespace", "  " },
		{ "truncated", "{\"new\":[" D("1", "ban", "Ip", "198.51.100.1") },
		{ "trailing text", "{\"new\":null}x" },
		{ "two documents", "{\"new\":null}{\"new\":null}" },
		{ "trailing comma", "{\"new\":[" D("1", "ban", "Ip", "198.51.100.1") ",]}" },
		{ "invalid UTF-8", "{\"new\":null,\"x\":\"\xff\xfe\"}" },
		{ "deep nesting",
		  "{\"new\":null,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}" },
		{ "nesting past the limit inside a decision",
		  "{\"new\":[{\"duration\":\"1h\",\"id\":1,\"origin\":\"o\",\"scenario\":\"x\","
		  "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.1\","
		  "\"x\":[[[[[[[1]]]]]]]}]}" },
	};
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reason[0] = '\0';
		CHECK_INT(parse(cases[i].text, &s, reason), -EBADMSG, "%s: rejected whole",
			  cases[i].what);
		CHECK(s.ndecisions == 0 && !s.decisions && s.counts.added == 0,
		      "%s: nothing kept", cases[i].what);
		CHECK(reason[0], "%s: a reason (%s)", cases[i].what, reason);
	}
	/* A NUL byte inside the body (not escaped). */
	{
		static const char nul[] = "{\"new\":null}\0{\"new\":[1]}";

		CHECK_INT(lapi_parse_stream(nul, sizeof(nul) - 1, &s, reason, sizeof(reason)),
			  -EBADMSG, "a NUL byte in the body rejected");
	}
	/* len bounds the parse: the text after it is not read. */
	{
		static const char longer[] = "{\"new\":null}garbage";

		CHECK_INT(lapi_parse_stream(longer, 12, &s, reason, sizeof(reason)), 0,
			  "only len bytes parsed");
		lapi_stream_free(&s);
	}
	/* A captcha with a bad value: the value is read only for bans of Ip/Range. */
	CHECK_INT(parse("{\"new\":[" D("1", "captcha", "Ip", "garbage") "," D(
				"2", "ban", "Country", "garbage") "]}",
			&s, reason),
		  0, "values of ignored decisions are not read");
	lapi_stream_free(&s);
}

static void test_stream_large(void)
{
	/* 20000 decisions: the array grows; all of them come back in order. */
	size_t n = 20000, cap = n * 200 + 64, len = 0;
	char *text = malloc(cap);
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];
	bool ordered = true;

	len += (size_t)snprintf(text + len, cap - len, "{\"new\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%s{\"duration\":\"%zus\",\"id\":%zu,\"origin\":\"lists\","
					"\"scenario\":\"s\",\"scope\":\"Ip\",\"type\":\"ban\","
					"\"value\":\"10.%zu.%zu.%zu\"}",
					i ? "," : "", i + 1, i + 1, i >> 16 & 255, i >> 8 & 255, i & 255);
	len += (size_t)snprintf(text + len, cap - len, "],\"deleted\":null}");
	CHECK_INT(lapi_parse_stream(text, len, &s, reason, sizeof(reason)), 0,
		  "20000 decisions taken");
	CHECK_INT(s.ndecisions, n, "all of them");
	for (size_t i = 0; i < s.ndecisions && ordered; i++)
		ordered = s.decisions[i].id == (int64_t)i + 1 && s.decisions[i].duration == (int64_t)i + 1;
	CHECK(ordered, "in order, durations as sent");
	lapi_stream_free(&s);
	free(text);
}

static void test_login(void)
{
	static const char real[] =
		"{\"code\":200,\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"eyJhbGciOiJIUzI1Ni"
		"IsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2NjExNTgsImlkIjoiZ3cxIiwib3JpZ19pYXQiOjE3OTY2"
		"NTc1NTh9.oiiVpuXFstnTmxOF0zl_4544M2XbAODKnr_fcdKJeOg\"}";
	char token[LAPI_TOKEN_MAX], reason[LAPI_REASON_MAX], *big;
	int64_t expire = 0;

	CHECK_INT(lapi_parse_login(real, strlen(real), token, sizeof(token), &expire, reason,
				   sizeof(reason)),
		  0, "1.4.6 login answer taken");
	CHECK(!strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) &&
		      strlen(token) == 149,
	      "its token");
	CHECK_INT(expire, 1796661158, "its expiry");
	CHECK_INT(lapi_parse_login(real, strlen(real), token, 100, &expire, reason, sizeof(reason)),
		  -ENOSPC, "a token longer than the buffer: -ENOSPC");
	static const char *const bad[] = {
		"{\"code\":401,\"message\":\"incorrect Username or Password\"}",
		"{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"\"}",
		"{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"a b\"}",
		"{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"a\\r\\nX-Evil: 1\"}",
		"{\"expire\":\"tomorrow\",\"token\":\"abc\"}",
		"{\"expire\":1796661158,\"token\":\"abc\"}",
		"{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":7}",
		"[\"abc\"]",
		"not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(lapi_parse_login(bad[i], strlen(bad[i]), token, sizeof(token), &expire,
					   reason, sizeof(reason)),
			  -EBADMSG, "login answer %zu rejected (%s)", i, reason);
	big = malloc(LAPI_TOKEN_MAX + 100);
	snprintf(big, LAPI_TOKEN_MAX + 100, "{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"");
	memset(big + strlen(big), 'a', LAPI_TOKEN_MAX);
	strcpy(big + strlen("{\"expire\":\"2026-12-07T16:32:38Z\",\"token\":\"") + LAPI_TOKEN_MAX,
	       "\"}");
	CHECK_INT(lapi_parse_login(big, strlen(big), token, sizeof(token), &expire, reason,
				   sizeof(reason)),
		  -EBADMSG, "a token of LAPI_TOKEN_MAX bytes rejected");
	free(big);
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* The value of meta entry key in array meta, or NULL. */
static const char *meta_value(struct json_object *meta, const char *key)
{
	for (size_t i = 0; meta && i < json_object_array_length(meta); i++) {
		struct json_object *m = json_object_array_get_idx(meta, i);
		const char *k = member(m, "key");

		if (k && !strcmp(k, key))
			return member(m, "value");
	}
	return NULL;
}

static void test_alerts(void)
{
	struct cs_msg_alert a[2] = {
		{ .type = CS_MSG_ALERT, .scope = CS_SCOPE_IP, .seq = 1, .duration = 3600,
		  .when = 1796660925, .scenario = "greywall/overload",
		  .value = "198.51.100.7", .table = "popflooders",
		  .evidence = "overload: rule 3 \"pop3\" (12 connections in 10 s)\n\t\\" },
		{ .type = CS_MSG_ALERT, .scope = CS_SCOPE_RANGE, .seq = 1, .duration = 86400,
		  .when = 1796660925, .scenario = "greywall/trap",
		  .value = "2001:DB8:5::/48", .table = "longterm", .evidence = "trap: x" },
	};
	struct json_object *root, *alert, *v, *d, *src;
	char *body;
	size_t len;

	CHECK_INT(lapi_build_alerts(a, 2, &body, &len), 0, "two alerts built");
	CHECK_INT(strlen(body), len, "its length");
	root = json_tokener_parse(body);
	CHECK(root && json_object_is_type(root, json_type_array) &&
		      json_object_array_length(root) == 2,
	      "an array of two");
	if (!root || json_object_array_length(root) != 2) {
		free(body);
		json_object_put(root);
		return;
	}
	alert = json_object_array_get_idx(root, 0);
	CHECK_STR(member(alert, "scenario"), "greywall/overload", "scenario");
	CHECK_STR(member(alert, "scenario_hash"), "", "scenario_hash");
	CHECK_STR(member(alert, "scenario_version"), "", "scenario_version");
	CHECK_STR(member(alert, "message"),
		  "greywall: 198.51.100.7 listed in <popflooders>: overload: rule 3 \"pop3\" "
		  "(12 connections in 10 s)\n\t\\",
		  "message");
	CHECK(json_object_object_get_ex(alert, "events_count", &v) &&
		      json_object_is_type(v, json_type_int) && json_object_get_int(v) == 1,
	      "events_count 1");
	CHECK_STR(member(alert, "start_at"), "2026-12-07T16:28:45Z", "start_at");
	CHECK_STR(member(alert, "stop_at"), "2026-12-07T16:28:45Z", "stop_at");
	CHECK(json_object_object_get_ex(alert, "capacity", &v) && json_object_get_int(v) == 0 &&
		      json_object_is_type(v, json_type_int),
	      "capacity 0");
	CHECK_STR(member(alert, "leakspeed"), "0", "leakspeed");
	CHECK(json_object_object_get_ex(alert, "simulated", &v) &&
		      json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v),
	      "simulated false");
	CHECK(json_object_object_get_ex(alert, "events", &v) && json_object_array_length(v) == 1,
	      "one event");
	v = json_object_array_get_idx(v, 0);
	CHECK_STR(member(v, "timestamp"), "2026-12-07T16:28:45Z", "event timestamp");
	json_object_object_get_ex(v, "meta", &v);
	CHECK_STR(meta_value(v, "evidence"), a[0].evidence, "event meta evidence");
	CHECK_STR(meta_value(v, "table"), "popflooders", "event meta table");
	CHECK_STR(meta_value(v, "source"), "198.51.100.7", "event meta source");
	json_object_object_get_ex(alert, "meta", &v);
	CHECK_STR(meta_value(v, "evidence"), a[0].evidence, "alert meta evidence");
	CHECK_STR(meta_value(v, "table"), "popflooders", "alert meta table");
	CHECK(json_object_object_get_ex(alert, "source", &src), "source");
	CHECK_STR(member(src, "scope"), "Ip", "source scope");
	CHECK_STR(member(src, "value"), "198.51.100.7", "source value");
	CHECK_STR(member(src, "ip"), "198.51.100.7", "source ip");
	CHECK(!json_object_object_get_ex(src, "range", NULL), "no source range for an Ip");
	CHECK(json_object_object_get_ex(alert, "decisions", &v) && json_object_array_length(v) == 1,
	      "one decision");
	d = json_object_array_get_idx(v, 0);
	CHECK_STR(member(d, "origin"), "crowdsec", "decision origin");
	CHECK_STR(member(d, "type"), "ban", "decision type");
	CHECK_STR(member(d, "scope"), "Ip", "decision scope");
	CHECK_STR(member(d, "value"), "198.51.100.7", "decision value");
	CHECK_STR(member(d, "duration"), "3600s", "decision duration");
	CHECK_STR(member(d, "scenario"), "greywall/overload", "decision scenario");

	alert = json_object_array_get_idx(root, 1);
	json_object_object_get_ex(alert, "source", &src);
	CHECK_STR(member(src, "scope"), "Range", "second: source scope Range");
	CHECK_STR(member(src, "range"), "2001:db8:5::/48", "second: source range, normalised");
	CHECK(!json_object_object_get_ex(src, "ip", NULL), "second: no source ip");
	json_object_object_get_ex(alert, "decisions", &v);
	d = json_object_array_get_idx(v, 0);
	CHECK_STR(member(d, "duration"), "86400s", "second: duration");
	CHECK_STR(member(d, "scope"), "Range", "second: decision scope");
	json_object_put(root);
	free(body);

	/* Alerts the LAPI must not get. */
	{
		struct cs_msg_alert bad = a[0];

		bad.duration = 0;
		CHECK_INT(lapi_build_alerts(&bad, 1, &body, &len), -EINVAL, "duration 0 refused");
		bad = a[0];
		strcpy(bad.value, "203.0.113.0/24");
		CHECK_INT(lapi_build_alerts(&bad, 1, &body, &len), -EINVAL, "Ip with a network refused");
		bad = a[1];
		strcpy(bad.value, "198.51.100.7");
		CHECK_INT(lapi_build_alerts(&bad, 1, &body, &len), -EINVAL, "Range with a host refused");
		bad = a[0];
		strcpy(bad.value, "evil\",\"x\":\"");
		CHECK_INT(lapi_build_alerts(&bad, 1, &body, &len), -EINVAL, "garbage value refused");
		bad = a[0];
		bad.when = -5;
		CHECK_INT(lapi_build_alerts(&bad, 1, &body, &len), -EINVAL, "negative time refused");
		bad = a[0];
		bad.scope = 7;
		CHECK_INT(lapi_check_alert(&bad), -EINVAL, "unknown scope refused");
	}
	CHECK_INT(lapi_build_alerts(a, 0, &body, &len), 0, "no alerts: an empty array");
	CHECK_STR(body, "[]", "it is []");
	free(body);

	CHECK_INT(lapi_build_login("gw1", "p\"w\\", &body, &len), 0, "login body built");
	root = json_tokener_parse(body);
	CHECK_STR(member(root, "machine_id"), "gw1", "machine_id");
	CHECK_STR(member(root, "password"), "p\"w\\", "password escaped and back");
	json_object_put(root);
	free(body);
}

int main(void)
{
	test_durations();
	test_times();
	test_values();
	test_stream_real();
	test_stream_skipped();
	test_stream_cut();
	test_stream_rejected();
	test_stream_large();
	test_login();
	test_alerts();
	return check_done();
}
