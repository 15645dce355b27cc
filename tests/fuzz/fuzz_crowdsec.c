// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the crowdsec child's LAPI parsers (crowdsec/lapi.h):
 * whoever answers at the configured URL writes these bytes.
 *
 * The input is read as a /v1/decisions/stream answer, a login answer, and
 * (NUL-terminated) as a Go duration, an RFC 3339 time and a decision value.
 * An accepted stream must hold only decisions the parent's check takes
 * (cs_msg_check), values that the one address parser reads back to the same
 * text, counts that agree with the decisions; a rejected one must leave
 * nothing. Each accepted decision with time left must build into an alert
 * body that json-c reads back. An accepted duration printed as "<N>s" must
 * read back to itself; an accepted time must format and read back to
 * itself; an accepted login token must be safe in an HTTP header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crowdsec/lapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stream(const char *text, size_t size)
{
	struct lapi_stream s;
	char reason[LAPI_REASON_MAX];
	int ret = lapi_parse_stream(text, size, &s, reason, sizeof(reason));

	if (ret) {
		if ((ret != -EBADMSG && ret != -ENOMEM) || s.decisions || s.ndecisions ||
		    s.counts.added || s.counts.deleted || !reason[0])
			abort();
		return;
	}
	if (s.counts.added + s.counts.deleted != s.ndecisions ||
	    cs_msg_check(&s.counts, sizeof(s.counts)) != CS_MSG_PULL_END)
		abort();
	for (size_t i = 0; i < s.ndecisions; i++) {
		const struct cs_msg_decision *d = &s.decisions[i];
		struct addr_prefix p;
		char again[ADDR_STRLEN];

		if (cs_msg_check(d, sizeof(*d)) != CS_MSG_DECISION || addr_parse(d->value, &p))
			abort();
		addr_format(&p, again, sizeof(again));
		if (strcmp(again, d->value))
			abort();
		if (d->duration > 0 && d->duration < 100LL * 365 * 86400) {
			struct cs_msg_alert a = {
				.type = CS_MSG_ALERT,
				.scope = addr_is_host(&p) ? CS_SCOPE_IP : CS_SCOPE_RANGE,
				.duration = d->duration,
				.when = 1796660925,
				.table = "fuzz",
			};
			struct json_object *root;
			char *body;
			size_t len;

			memcpy(a.value, d->value, sizeof(a.value));
			snprintf(a.scenario, sizeof(a.scenario), "greywall/%s", d->scenario);
			snprintf(a.evidence, sizeof(a.evidence), "%s", d->origin);
			if (lapi_build_alerts(&a, 1, &body, &len))
				abort();
			root = json_tokener_parse(body);
			if (!root || json_object_array_length(root) != 1 || strlen(body) != len)
				abort();
			json_object_put(root);
			free(body);
		}
	}
	lapi_stream_free(&s);
}

static void check_text(const char *text)
{
	char buf[64], token[LAPI_TOKEN_MAX];
	struct addr_prefix p;
	int64_t v, back;

	if (!lapi_parse_duration(text, &v) && v > -(1LL << 33) && v < (1LL << 33)) {
		snprintf(buf, sizeof(buf), "%llds", (long long)v);
		if (lapi_parse_duration(buf, &back) || back != v)
			abort();
	}
	if (!lapi_parse_time(text, &v) && v >= 0 && !lapi_format_time(v, buf, sizeof(buf))) {
		if (lapi_parse_time(buf, &back) || back != v)
			abort();
	}
	if (!lapi_parse_value(text, &p)) {
		addr_format(&p, buf, sizeof(buf));
		if (addr_parse(buf, &p))
			abort();
	}
	if (!lapi_parse_login(text, strlen(text), token, sizeof(token), &v, NULL, 0)) {
		size_t n = strlen(token);

		if (!n || n >= LAPI_TOKEN_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (token[i] <= ' ' || token[i] > '~')
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_stream(text, size);
	check_text(text);
	free(text);
	return 0;
}
