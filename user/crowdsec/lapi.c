// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* CrowdSec's Local API as text: durations, times, the stream and login answers, alerts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "crowdsec/lapi.h"
#include "lib/array.h"

#define NS_PER_SECOND 1000000000ULL
/* Go's bound on a duration's magnitude: 1<<63 nanoseconds. */
#define DURATION_NS_MAX (1ULL << 63)

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
    {"ms", 1000000},
    {"s", NS_PER_SECOND},
    {"m", 60 * NS_PER_SECOND},
    {"h", 3600 * NS_PER_SECOND},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * One number+unit pair of a duration at *p (time.ParseDuration's loop
 * body): its nanoseconds into *ns, *p moved past it.
 */
static int duration_component(const char **p, uint64_t *ns)
{
	const char *s = *p, *unit;
	uint64_t whole = 0, fraction = 0, scale = 1, unit_ns = 0;
	bool pre = false, post = false;
	size_t unit_len;

	if (*s != '.' && !is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++, pre = true) {
		if (whole > (DURATION_NS_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		/* Digits past what 10^18 holds change nothing a second can show. */
		for (s++; is_digit(*s); s++, post = true) {
			if (scale < 1000000000000000000ULL) {
				fraction = fraction * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
	}
	if (!pre && !post)
		return -EINVAL;
	unit = s;
	while (*s && *s != '.' && !is_digit(*s))
		s++;
	unit_len = (size_t)(s - unit);
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strlen(duration_units[i].name) == unit_len &&
		    !memcmp(unit, duration_units[i].name, unit_len))
			unit_ns = duration_units[i].ns;
	}
	if (!unit_ns)
		return -EINVAL;
	if (whole > DURATION_NS_MAX / unit_ns)
		return -ERANGE;
	whole *= unit_ns;
	if (fraction) {
		whole += (uint64_t)((unsigned __int128)fraction * unit_ns / scale);
		if (whole > DURATION_NS_MAX)
			return -ERANGE;
	}
	*ns = whole;
	*p = s;
	return 0;
}

int lapi_parse_duration(const char *text, int64_t *seconds)
{
	const char *s = text;
	uint64_t total = 0;
	bool negative = false;

	if (strnlen(text, LAPI_DURATION_TEXT_MAX + 1) > LAPI_DURATION_TEXT_MAX)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		negative = *s++ == '-';
	if (!strcmp(s, "0")) {
		*seconds = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t ns;
		int ret = duration_component(&s, &ns);

		if (ret)
			return ret;
		total += ns; /* both <= 2^63: no wrap */
		if (total > DURATION_NS_MAX)
			return -ERANGE;
	}
	if (!negative && total > DURATION_NS_MAX - 1)
		return -ERANGE;
	/* Rounded up: towards +infinity, so a negative one truncates. */
	if (negative)
		*seconds = -(int64_t)(total / NS_PER_SECOND);
	else
		*seconds = (int64_t)((total + NS_PER_SECOND - 1) / NS_PER_SECOND);
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* n decimal digits at s (exactly n) into *v. */
static bool digits(const char *s, int n, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int lapi_parse_time(const char *text, int64_t *unix_seconds)
{
	unsigned year, month, day, hour, minute, second, off_h = 0, off_m = 0;
	const char *s = text;
	int64_t t, offset = 0;

	if (strnlen(text, 20) < 20 || !digits(s, 4, &year) || s[4] != '-' ||
	    !digits(s + 5, 2, &month) || s[7] != '-' || !digits(s + 8, 2, &day) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &hour) || s[13] != ':' ||
	    !digits(s + 14, 2, &minute) || s[16] != ':' || !digits(s + 17, 2, &second))
		return -EINVAL;
	if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour > 23 || minute > 59 || second > 59)
		return -EINVAL;
	s += 19;
	if (*s == '.') {
		int n = 0;

		for (s++; is_digit(*s); s++)
			n++;
		if (n < 1 || n > 9)
			return -EINVAL;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		if (!digits(s + 1, 2, &off_h) || s[3] != ':' || !digits(s + 4, 2, &off_m) ||
		    off_h > 23 || off_m > 59)
			return -EINVAL;
		offset = (int64_t)(off_h * 3600 + off_m * 60) * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	t = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	*unix_seconds = t - offset;
	return 0;
}

/* 9999-12-31T23:59:59Z */
#define TIME_MAX 253402300799LL

int lapi_format_time(int64_t unix_seconds, char *buf, size_t len)
{
	int64_t days, z, era, secs;
	unsigned doe, yoe, doy, mp, d, m;
	int64_t y;
	int n;

	if (unix_seconds < 0 || unix_seconds > TIME_MAX)
		return -EINVAL;
	days = unix_seconds / 86400;
	secs = unix_seconds % 86400;
	/* Howard Hinnant's civil_from_days. */
	z = days + 719468;
	era = z / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	n = snprintf(buf, len, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
		     (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

int lapi_parse_value(const char *text, struct addr_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8], canonical[ADDR_STRLEN];
	const char *slash;
	struct addr_prefix p = {0};
	uint8_t raw[16];
	size_t alen;
	long plen = -1;

	if (!addr_parse(text, out))
		return 0;
	/*
	 * What addr_parse() refuses but CrowdSec takes (it stores values as
	 * given, and matches them as net.ParseCIDR / net.ParseIP read them):
	 * a range with host bits set, an IPv4-mapped IPv6 address.
	 */
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (slash) {
		const char *d = slash + 1;

		/* At most three digits, as Go's ParseCIDR. */
		if (!is_digit(d[0]) || (d[1] && !is_digit(d[1])) ||
		    (d[1] && d[2] && !is_digit(d[2])) || (d[1] && d[2] && d[3]))
			return -EINVAL;
		plen = strtol(d, NULL, 10);
	}
	if (inet_pton(AF_INET, buf, raw) == 1) {
		p.family = AF_INET;
		memcpy(p.bytes, raw, 4);
		if (plen > 32)
			return -EINVAL;
		p.plen = (uint8_t)(plen < 0 ? 32 : plen);
	} else if (inet_pton(AF_INET6, buf, raw) == 1) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (plen > 128)
			return -EINVAL;
		if (plen < 0)
			plen = 128;
		if (!memcmp(raw, mapped, sizeof(mapped)) && plen >= 96) {
			p.family = AF_INET;
			memcpy(p.bytes, raw + 12, 4);
			p.plen = (uint8_t)(plen - 96);
		} else {
			p.family = AF_INET6;
			memcpy(p.bytes, raw, 16);
			p.plen = (uint8_t)plen;
		}
	} else {
		return -EINVAL;
	}
	addr_mask(&p);
	/* The one parser has the last word: what it refuses is refused. */
	addr_format(&p, canonical, sizeof(canonical));
	return addr_parse(canonical, out);
}

static void say(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *reason, size_t reasonlen, const char *fmt, ...)
{
	va_list ap;

	if (!reason || !reasonlen)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, reasonlen, fmt, ap);
	va_end(ap);
}

/*
 * Parse body[0..len) as one strict JSON document, valid UTF-8, at most
 * LAPI_JSON_DEPTH deep, with nothing but whitespace after it, and an object.
 */
static struct json_object *parse_object(const char *body, size_t len, char *reason, size_t reasonlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t used;

	if (len > INT32_MAX) {
		say(reason, reasonlen, "answer of %zu bytes", len);
		return NULL;
	}
	if (memchr(body, '\0', len)) {
		say(reason, reasonlen, "a NUL byte in the answer");
		return NULL;
	}
	tok = json_tokener_new_ex(LAPI_JSON_DEPTH);
	if (!tok) {
		say(reason, reasonlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
					JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !root) {
		say(reason, reasonlen, "not JSON: %s",
		    jerr == json_tokener_continue ? "incomplete" : json_tokener_error_desc(jerr));
		json_object_put(root);
		return NULL;
	}
	for (; used < len; used++) {
		if (!strchr(" \t\r\n", body[used])) {
			say(reason, reasonlen, "text after the JSON at byte %zu", used);
			json_object_put(root);
			return NULL;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		say(reason, reasonlen, "the answer is not an object");
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* obj's string member key, no NUL inside: its text and length, or NULL. */
static const char *member_string(struct json_object *obj, const char *key, size_t *len)
{
	struct json_object *v;
	const char *s;
	int n;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (!s || n < 0 || strlen(s) != (size_t)n)
		return NULL;
	*len = (size_t)n;
	return s;
}

/* Copy s into dst[0..size), cut on a UTF-8 character boundary when it does not fit. */
static void copy_cut(char *dst, size_t size, const char *s, size_t len)
{
	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
}

struct stream_walk {
	struct lapi_stream *out;
	size_t cap;
	char *reason;
	size_t reasonlen;
};

static int stream_decision(struct stream_walk *w, struct json_object *d, const char *list, size_t i,
			   bool deleted)
{
	static const char *const strings[] = {"type",	"scope",    "value",
					      "origin", "scenario", "duration"};
	const char *text[6];
	size_t len[6];
	struct json_object *idobj;
	struct cs_msg_decision *m;
	struct addr_prefix value;
	int64_t id, duration;
	uint8_t scope;
	int ret;

	if (!json_object_is_type(d, json_type_object)) {
		say(w->reason, w->reasonlen, "%s[%zu] is not an object", list, i);
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(d, "id", &idobj) ||
	    !json_object_is_type(idobj, json_type_int)) {
		say(w->reason, w->reasonlen, "%s[%zu]: id missing or not an integer", list, i);
		return -EBADMSG;
	}
	/* json-c saturates what int64 does not hold at INT64_MAX: refused with it. */
	id = json_object_get_int64(idobj);
	if (id <= 0 || id == INT64_MAX) {
		say(w->reason, w->reasonlen, "%s[%zu]: id %lld out of range", list, i,
		    (long long)id);
		return -EBADMSG;
	}
	for (size_t k = 0; k < 6; k++) {
		text[k] = member_string(d, strings[k], &len[k]);
		if (!text[k]) {
			say(w->reason, w->reasonlen, "decision %lld: %s missing or not a string",
			    (long long)id, strings[k]);
			return -EBADMSG;
		}
	}
	ret = lapi_parse_duration(text[5], &duration);
	if (ret) {
		say(w->reason, w->reasonlen, "decision %lld: duration \"%.64s\" %s", (long long)id,
		    text[5], ret == -ERANGE ? "out of range" : "does not parse");
		return -EBADMSG;
	}
	if (strcasecmp(text[0], "ban")) {
		w->out->counts.ignored_type++;
		return 0;
	}
	if (!strcasecmp(text[1], "ip")) {
		scope = CS_SCOPE_IP;
	} else if (!strcasecmp(text[1], "range")) {
		scope = CS_SCOPE_RANGE;
	} else {
		w->out->counts.ignored_scope++;
		return 0;
	}
	if (lapi_parse_value(text[2], &value)) {
		say(w->reason, w->reasonlen, "decision %lld: value \"%.64s\" is no address",
		    (long long)id, text[2]);
		return -EBADMSG;
	}
	if (array_room(&w->out->decisions, &w->cap, w->out->ndecisions + 1, sizeof(*m), 64)) {
		say(w->reason, w->reasonlen, "out of memory");
		return -ENOMEM;
	}
	m = &w->out->decisions[w->out->ndecisions++];
	memset(m, 0, sizeof(*m));
	m->type = CS_MSG_DECISION;
	m->deleted = deleted;
	m->scope = scope;
	m->id = id;
	m->duration = duration;
	addr_format(&value, m->value, sizeof(m->value));
	copy_cut(m->origin, sizeof(m->origin), text[3], len[3]);
	copy_cut(m->scenario, sizeof(m->scenario), text[4], len[4]);
	if (deleted)
		w->out->counts.deleted++;
	else
		w->out->counts.added++;
	return 0;
}

static int stream_list(struct stream_walk *w, struct json_object *root, const char *key,
		       bool deleted)
{
	struct json_object *list;
	size_t n;

	if (!json_object_object_get_ex(root, key, &list) || !list)
		return 0; /* missing or null: none */
	if (!json_object_is_type(list, json_type_array)) {
		say(w->reason, w->reasonlen, "\"%s\" is neither null nor an array", key);
		return -EBADMSG;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		int ret = stream_decision(w, json_object_array_get_idx(list, i), key, i, deleted);

		if (ret)
			return ret;
	}
	return 0;
}

void lapi_stream_free(struct lapi_stream *stream)
{
	free(stream->decisions);
	memset(stream, 0, sizeof(*stream));
}

int lapi_parse_stream(const char *body, size_t len, struct lapi_stream *out, char *reason,
		      size_t reasonlen)
{
	struct stream_walk w = {.out = out, .reason = reason, .reasonlen = reasonlen};
	struct json_object *root;
	int ret;

	memset(out, 0, sizeof(*out));
	out->counts.type = CS_MSG_PULL_END;
	say(reason, reasonlen, "%s", "");
	root = parse_object(body, len, reason, reasonlen);
	if (!root)
		return -EBADMSG;
	ret = stream_list(&w, root, "new", false);
	if (!ret)
		ret = stream_list(&w, root, "deleted", true);
	json_object_put(root);
	if (ret) {
		lapi_stream_free(out);
		out->counts.type = CS_MSG_PULL_END;
	}
	return ret;
}

int lapi_parse_login(const char *body, size_t len, char *token, size_t tokenlen, int64_t *expire,
		     char *reason, size_t reasonlen)
{
	struct json_object *root;
	const char *t, *e;
	size_t tlen, elen;
	int ret = -EBADMSG;

	say(reason, reasonlen, "%s", "");
	root = parse_object(body, len, reason, reasonlen);
	if (!root)
		return -EBADMSG;
	t = member_string(root, "token", &tlen);
	e = member_string(root, "expire", &elen);
	if (!t || !e) {
		say(reason, reasonlen, "%s missing or not a string", t ? "expire" : "token");
		goto out;
	}
	if (tlen == 0 || tlen >= LAPI_TOKEN_MAX) {
		say(reason, reasonlen, "token of %zu bytes", tlen);
		goto out;
	}
	for (size_t i = 0; i < tlen; i++) {
		if (t[i] <= ' ' || t[i] > '~') {
			say(reason, reasonlen, "token holds byte 0x%02x", (unsigned char)t[i]);
			goto out;
		}
	}
	if (lapi_parse_time(e, expire)) {
		say(reason, reasonlen, "expire \"%.40s\" is no RFC 3339 time", e);
		goto out;
	}
	if (tlen >= tokenlen) {
		say(reason, reasonlen, "token of %zu bytes", tlen);
		ret = -ENOSPC;
		goto out;
	}
	memcpy(token, t, tlen + 1);
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

/* {"key": key, "value": value} appended to array; false when out of memory. */
static bool add_meta(struct json_object *array, const char *key, const char *value)
{
	struct json_object *m = json_object_new_object();

	if (!m)
		return false;
	if (json_object_object_add(m, "key", json_object_new_string(key)) ||
	    json_object_object_add(m, "value", json_object_new_string(value)) ||
	    json_object_array_add(array, m)) {
		json_object_put(m);
		return false;
	}
	return true;
}

/* Appends a reference to v to array; false (the reference dropped) when it could not. */
static bool push(struct json_object *array, struct json_object *v)
{
	if (json_object_array_add(array, json_object_get(v))) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Sets key in obj to v (NULL: out of memory); false when it could not. */
static bool set(struct json_object *obj, const char *key, struct json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(obj, key, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

int lapi_check_alert(const struct cs_msg_alert *a)
{
	struct addr_prefix p;
	char when[32];

	if (a->duration <= 0 || lapi_format_time(a->when, when, sizeof(when)) ||
	    lapi_parse_value(a->value, &p) || !a->scenario[0])
		return -EINVAL;
	if (a->scope != CS_SCOPE_IP && a->scope != CS_SCOPE_RANGE)
		return -EINVAL;
	if ((a->scope == CS_SCOPE_IP) != addr_is_host(&p))
		return -EINVAL;
	return 0;
}

static int build_alert(const struct cs_msg_alert *a, struct json_object **result)
{
	char when[32], value[ADDR_STRLEN], duration[32], message[CS_TEXT_MAX + 128];
	struct json_object *alert, *event, *events, *meta, *emeta, *source, *decision, *decisions;
	const char *scope;
	struct addr_prefix p;
	bool ok;

	if (lapi_check_alert(a) || lapi_format_time(a->when, when, sizeof(when)) ||
	    lapi_parse_value(a->value, &p))
		return -EINVAL;
	scope = a->scope == CS_SCOPE_IP ? "Ip" : "Range";
	addr_format(&p, value, sizeof(value));
	snprintf(duration, sizeof(duration), "%llds", (long long)a->duration);
	snprintf(message, sizeof(message), "greywall: %s listed in <%s>: %s", value, a->table,
		 a->evidence);

	alert = json_object_new_object();
	event = json_object_new_object();
	events = json_object_new_array();
	meta = json_object_new_array();
	emeta = json_object_new_array();
	source = json_object_new_object();
	decision = json_object_new_object();
	decisions = json_object_new_array();
	ok = alert && event && events && meta && emeta && source && decision && decisions;
	/* Each object is put into its parent once built; on failure the loose ones are put. */
	ok = ok && add_meta(emeta, "evidence", a->evidence) && add_meta(emeta, "table", a->table) &&
	     add_meta(emeta, "source", value);
	ok = ok && set(event, "timestamp", json_object_new_string(when)) &&
	     set(event, "meta", json_object_get(emeta));
	ok = ok && push(events, event);
	ok = ok && add_meta(meta, "evidence", a->evidence) && add_meta(meta, "table", a->table);
	ok = ok && set(source, "scope", json_object_new_string(scope)) &&
	     set(source, "value", json_object_new_string(value)) &&
	     set(source, a->scope == CS_SCOPE_IP ? "ip" : "range", json_object_new_string(value));
	ok = ok && set(decision, "origin", json_object_new_string("crowdsec")) &&
	     set(decision, "type", json_object_new_string("ban")) &&
	     set(decision, "scope", json_object_new_string(scope)) &&
	     set(decision, "value", json_object_new_string(value)) &&
	     set(decision, "duration", json_object_new_string(duration)) &&
	     set(decision, "scenario", json_object_new_string(a->scenario));
	ok = ok && push(decisions, decision);
	ok = ok && set(alert, "scenario", json_object_new_string(a->scenario)) &&
	     set(alert, "scenario_hash", json_object_new_string("")) &&
	     set(alert, "scenario_version", json_object_new_string("")) &&
	     set(alert, "message", json_object_new_string(message)) &&
	     set(alert, "events_count", json_object_new_int(1)) &&
	     set(alert, "start_at", json_object_new_string(when)) &&
	     set(alert, "stop_at", json_object_new_string(when)) &&
	     set(alert, "capacity", json_object_new_int(0)) &&
	     set(alert, "leakspeed", json_object_new_string("0")) &&
	     set(alert, "simulated", json_object_new_boolean(0)) &&
	     set(alert, "events", json_object_get(events)) &&
	     set(alert, "source", json_object_get(source)) &&
	     set(alert, "meta", json_object_get(meta)) &&
	     set(alert, "decisions", json_object_get(decisions));
	/* Drop this function's own references: what was attached lives on in alert. */
	json_object_put(event);
	json_object_put(events);
	json_object_put(meta);
	json_object_put(emeta);
	json_object_put(source);
	json_object_put(decision);
	json_object_put(decisions);
	if (!ok) {
		json_object_put(alert);
		return -ENOMEM;
	}
	*result = alert;
	return 0;
}

/* body = array as JSON text, malloc'd. */
static int serialize(struct json_object *root, char **body, size_t *len)
{
	const char *text;
	size_t n;

	text = json_object_to_json_string_length(
	    root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (!text)
		return -ENOMEM;
	*body = malloc(n + 1);
	if (!*body)
		return -ENOMEM;
	memcpy(*body, text, n + 1);
	*len = n;
	return 0;
}

int lapi_build_alerts(const struct cs_msg_alert *alerts, size_t n, char **body, size_t *len)
{
	struct json_object *array = json_object_new_array();
	int ret = array ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !ret; i++) {
		struct json_object *alert;

		ret = build_alert(&alerts[i], &alert);
		if (!ret && json_object_array_add(array, alert)) {
			json_object_put(alert);
			ret = -ENOMEM;
		}
	}
	if (!ret)
		ret = serialize(array, body, len);
	json_object_put(array);
	return ret;
}

int lapi_build_login(const char *machine, const char *password, char **body, size_t *len)
{
	struct json_object *root = json_object_new_object();
	int ret = -ENOMEM;

	if (root && set(root, "machine_id", json_object_new_string(machine)) &&
	    set(root, "password", json_object_new_string(password)))
		ret = serialize(root, body, len);
	json_object_put(root);
	return ret;
}
