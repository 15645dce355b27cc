// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy protocol's requests and answers: see request.h. The request
 * is framed first (its empty line found), then read line by line; the
 * first fault found is the one reported.
 */
#include <errno.h>
#include <string.h>

#include "policy/request.h"

static const struct {
	const char *name;
	size_t max;	/* value bytes at most */
} attrs[POLICY_ATTR_COUNT] = {
	[POLICY_ATTR_REQUEST] = { "request", PRIVSEP_SHORT_MAX },
	[POLICY_ATTR_STATE] = { "protocol_state", PRIVSEP_SHORT_MAX },
	[POLICY_ATTR_CLIENT] = { "client_address", PRIVSEP_SHORT_MAX },
	[POLICY_ATTR_HELO] = { "helo_name", PRIVSEP_FIELD_MAX },
	[POLICY_ATTR_SENDER] = { "sender", PRIVSEP_FIELD_MAX },
	[POLICY_ATTR_RECIPIENT] = { "recipient", PRIVSEP_FIELD_MAX },
	[POLICY_ATTR_RCPT_COUNT] = { "recipient_count", PRIVSEP_SHORT_MAX },
	[POLICY_ATTR_INSTANCE] = { "instance", PRIVSEP_SHORT_MAX },
};

/* A request may take all of store: every kept value and its NUL fit in its line. */
_Static_assert(POLICY_REQUEST_MAX <= sizeof(((struct policy_request *)0)->store),
	       "a request's values must fit its store");

const char *policy_attr_name(enum policy_attr attr)
{
	return attr < POLICY_ATTR_COUNT ? attrs[attr].name : "";
}

const char *policy_fault_text(enum policy_fault fault)
{
	switch (fault) {
	case POLICY_GOOD:
		return "good";
	case POLICY_NO_EQUALS:
		return "a line without '='";
	case POLICY_NO_NAME:
		return "an attribute without a name";
	case POLICY_NUL:
		return "a NUL byte";
	case POLICY_VALUE_LONG:
		return "a value too long";
	case POLICY_REPEATED:
		return "an attribute given twice";
	case POLICY_TOO_MANY_LINES:
		return "too many lines";
	case POLICY_EMPTY:
		return "no attributes";
	}
	return "unknown";
}

/* A line's length without its "\n", and without the "\r" before it. */
static size_t line_length(const char *line, const char *nl)
{
	size_t n = (size_t)(nl - line);

	return n && line[n - 1] == '\r' ? n - 1 : n;
}

/*
 * The bytes up to and including the empty line ending the first request;
 * 0 while more may come, -EMSGSIZE when none ends within the bound.
 */
static ssize_t request_end(const char *buf, size_t len)
{
	size_t limit = len < POLICY_REQUEST_MAX ? len : POLICY_REQUEST_MAX, pos = 0;

	for (;;) {
		const char *nl = memchr(buf + pos, '\n', limit - pos);

		if (!nl)
			return len >= POLICY_REQUEST_MAX ? -EMSGSIZE : 0;
		if (!line_length(buf + pos, nl))
			return nl - buf + 1;
		pos = (size_t)(nl - buf) + 1;
	}
}

static enum policy_attr attr_find(const char *name, size_t len)
{
	for (int i = 0; i < POLICY_ATTR_COUNT; i++)
		if (strlen(attrs[i].name) == len && !memcmp(attrs[i].name, name, len))
			return (enum policy_attr)i;
	return POLICY_ATTR_COUNT;
}

/* Read one line (without its end) into req; POLICY_GOOD or its fault. */
static enum policy_fault take_line(struct policy_request *req, const char *line, size_t len,
				   size_t *stored)
{
	const char *eq = memchr(line, '=', len);
	size_t name_len, value_len;
	enum policy_attr attr;
	char *value;

	if (memchr(line, '\0', len))
		return POLICY_NUL;
	if (!eq)
		return POLICY_NO_EQUALS;
	name_len = (size_t)(eq - line);
	if (!name_len)
		return POLICY_NO_NAME;
	attr = attr_find(line, name_len);
	if (attr == POLICY_ATTR_COUNT)
		return POLICY_GOOD;
	if (req->value[attr])
		return POLICY_REPEATED;
	value_len = len - name_len - 1;
	if (value_len > attrs[attr].max)
		return POLICY_VALUE_LONG;
	value = req->store + *stored;
	memcpy(value, eq + 1, value_len);
	value[value_len] = '\0';
	*stored += value_len + 1;
	req->value[attr] = value;
	return POLICY_GOOD;
}

ssize_t policy_request_parse(const char *buf, size_t len, struct policy_request *req)
{
	ssize_t end = request_end(buf, len);
	size_t pos = 0, stored = 0;
	unsigned int lines = 0;

	if (end <= 0)
		return end;
	for (int i = 0; i < POLICY_ATTR_COUNT; i++)
		req->value[i] = NULL;
	req->fault = POLICY_GOOD;
	req->fault_line = 0;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', (size_t)end - pos);
		size_t n = line_length(buf + pos, nl);

		if (!n)
			break;
		lines++;
		req->fault = lines > POLICY_LINES_MAX ? POLICY_TOO_MANY_LINES
						      : take_line(req, buf + pos, n, &stored);
		if (req->fault != POLICY_GOOD) {
			req->fault_line = lines;
			return end;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	if (!lines) {
		req->fault = POLICY_EMPTY;
		req->fault_line = 1;
		return end;
	}
	for (int i = 0; i < POLICY_ATTR_COUNT; i++)
		if (!req->value[i])
			req->value[i] = "";
	return end;
}

int policy_answer(const char *action, char *buf, size_t len)
{
	static const char head[] = "action=";
	size_t n = strlen(action), total = sizeof(head) - 1 + n + 2;

	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)action[i] < 0x20 || action[i] == 0x7f)
			return -EINVAL;
	if (total > len || total > POLICY_ANSWER_MAX)
		return -EMSGSIZE;
	memcpy(buf, head, sizeof(head) - 1);
	memcpy(buf + sizeof(head) - 1, action, n);
	memcpy(buf + total - 2, "\n\n", 2);
	return (int)total;
}
