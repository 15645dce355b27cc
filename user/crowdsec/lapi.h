/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * CrowdSec's Local API as text: the answers the crowdsec child reads
 * (decision stream, machine login) and the alerts it posts, parsed and
 * built with json-c. A pure module: no socket, clock or log, so the unit
 * tests and the fuzz harness drive it directly.
 *
 * Everything the LAPI sends is hostile input: an answer is taken whole or
 * not at all, every string is bounded, and an address is taken only as
 * greywall's one address parser (lib/addr.h) reads it.
 */
#ifndef __GREYWALL_CROWDSEC_LAPI_H
#define __GREYWALL_CROWDSEC_LAPI_H

#include <stddef.h>
#include <stdint.h>

#include "crowdsec/proto.h"
#include "lib/addr.h"

/* JSON nesting a LAPI answer may use: the stream needs 3 (object, array, object). */
#define LAPI_JSON_DEPTH 8
/* The longest login token taken (CrowdSec's JWTs are about 200 bytes). */
#define LAPI_TOKEN_MAX 4096
/* The longest duration text taken ("2562047h47m16.854775807s" is 24). */
#define LAPI_DURATION_TEXT_MAX 64
/* Room for a reason text (lapi_parse_stream(), lapi_parse_login()). */
#define LAPI_REASON_MAX 256

/*
 * A Go duration as time.Duration.String() writes it and
 * time.ParseDuration() reads it ("59m59.268427445s", "-18.33ms", "0s",
 * "720h0m0s", "1.5h", "300us"): a sign, then one or more number+unit
 * pairs with units ns, us, µs, ms, s, m, h. *seconds gets it in seconds
 * rounded up (towards +infinity: "-18.33ms" is 0, "0.1s" is 1). Returns 0,
 * -EINVAL for anything else (empty, no unit, a bare number other than
 * "0", over LAPI_DURATION_TEXT_MAX), -ERANGE beyond Go's bound (|d| of
 * 2^63 ns, about 292 years), as Go rejects it.
 */
int lapi_parse_duration(const char *text, int64_t *seconds);

/*
 * RFC 3339 as Go writes it ("2026-12-07T16:28:45Z",
 * "2026-12-07T16:28:45.123+01:00") to unix seconds (fractions dropped).
 * Returns 0 or -EINVAL (a field out of its range, a year outside
 * 1970..9999, trailing text).
 */
int lapi_parse_time(const char *text, int64_t *unix_seconds);
/* Unix seconds (0 .. year 9999) as "YYYY-MM-DDTHH:MM:SSZ"; -EINVAL out of range. */
int lapi_format_time(int64_t unix_seconds, char *buf, size_t len);

/*
 * A decision's value read as CrowdSec reads it (net.ParseCIDR when it
 * holds a '/', net.ParseIP otherwise), whatever its scope says: host bits
 * of a range are cleared ("192.0.2.5/24" is 192.0.2.0/24, as cscli stores
 * and the LAPI matches it) and an IPv4-mapped IPv6 address is the IPv4
 * one. The result is what addr_parse() takes and addr_format() prints.
 * Returns 0 or -EINVAL.
 */
int lapi_parse_value(const char *text, struct addr_prefix *out);

/* One /v1/decisions/stream answer, taken whole. */
struct lapi_stream {
	struct cs_msg_decision *decisions; /* type, deleted, scope, id, ... set */
	size_t ndecisions;
	struct cs_msg_pull_end counts; /* added, deleted, ignored_*: the rest 0 */
};

/*
 * Parse the answer body[0..len) of GET /v1/decisions/stream:
 * {"new": null|[decision...], "deleted": null|[decision...]} (other keys
 * ignored; a missing "new" or "deleted" is an empty one), each decision an
 * object with id (an integer > 0), type, scope, value, origin, scenario
 * and duration (strings; other keys ignored). Decisions of a type other
 * than "ban", and bans of a scope other than "Ip" or "Range" (both
 * compared case-insensitively), are counted and skipped; the others become
 * CS_MSG_DECISION messages in answer order ("new" first), their value
 * normalised (lapi_parse_value(), addr_format()), origin and scenario cut
 * to their arrays on a UTF-8 character boundary, duration in seconds
 * rounded up.
 *
 * Returns 0 with *out filled (free it with lapi_stream_free()), -EBADMSG
 * with a reason in reason[0..reasonlen) for anything else: not JSON
 * (json-c's strict mode, valid UTF-8, nested deeper than LAPI_JSON_DEPTH, a NUL byte,
 * trailing text), a field missing or of the wrong type, a string holding
 * a NUL, a duration that does not parse, a value of any decision that
 * lapi_parse_value() refuses. -ENOMEM. On error *out is empty.
 */
int lapi_parse_stream(const char *body, size_t len, struct lapi_stream *out, char *reason,
		      size_t reasonlen);
void lapi_stream_free(struct lapi_stream *stream);

/*
 * Parse the answer of POST /v1/watchers/login:
 * {"code":200,"expire":"RFC 3339","token":"..."}: the token (printable
 * ASCII, no space, 1 .. LAPI_TOKEN_MAX - 1 bytes: it goes into an HTTP
 * header) into token[0..tokenlen), the expiry into *expire. Returns 0,
 * -EBADMSG with a reason, -ENOSPC when the token does not fit tokenlen.
 */
int lapi_parse_login(const char *body, size_t len, char *token, size_t tokenlen, int64_t *expire,
		     char *reason, size_t reasonlen);

/*
 * The JSON body of POST /v1/alerts for alerts[0..n): one alert per
 * element, each with one ban decision (origin "crowdsec", so that
 * `cscli decisions list` shows it; scope exactly "Ip" or "Range", the
 * only spellings the decision stream serves to bouncers), the evidence
 * in the alert's meta and in its one event's meta, start_at = stop_at =
 * `when` (the LAPI counts a decision's duration from stop_at, so
 * duration is the table's timeout from `when`). Returns 0 with a
 * malloc'd NUL-terminated body in *body (its length in *len), -EINVAL
 * for an alert lapi_check_alert() refuses, -ENOMEM.
 */
int lapi_build_alerts(const struct cs_msg_alert *alerts, size_t n, char **body, size_t *len);

/*
 * An alert lapi_build_alerts() takes: 0, or -EINVAL for a value
 * lapi_parse_value() refuses, a scope that does not match it (Ip: a host,
 * Range: a network), an empty scenario, duration <= 0, `when` out of
 * range.
 */
int lapi_check_alert(const struct cs_msg_alert *alert);

/*
 * The login request body {"machine_id":..., "password":...}, malloc'd in
 * *body (its length in *len); -ENOMEM.
 */
int lapi_build_login(const char *machine, const char *password, char **body, size_t *len);

#endif /* __GREYWALL_CROWDSEC_LAPI_H */
