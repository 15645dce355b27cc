// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the policy protocol's parser (policy/request.h):
 * the bytes a Postfix client, or anyone who reaches the socket, sends.
 * Properties, on every input:
 *
 * - Read as one stream, request after request: each result is a request
 *   taken whole (ending in its empty line, at most POLICY_REQUEST_MAX
 *   bytes), 0 only when no empty line is in the rest and it is shorter
 *   than the bound, -EMSGSIZE only when it is not. A good request's values
 *   are within their bounds, and each is found in the request as
 *   "name=value" at the start of a line; an absent one is "".
 * - Fed as a server is, in pseudo-random chunks into a buffer that keeps
 *   only the unread rest, the same requests come out, with the same
 *   lengths, faults and values.
 * - An answer is "action=" + the action + "\n\n", or refused: -EINVAL only
 *   for an empty action or one with a byte < 0x20 or 0x7f, -EMSGSIZE only
 *   when too long.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Requests of one input remembered for the chunked pass. */
#define KEPT_MAX 64

struct outcome {
	ssize_t ret;
	enum policy_fault fault;
	unsigned int line;
	size_t value_off[POLICY_ATTR_COUNT]; /* where each value is in the parsed buffer */
	size_t value_len[POLICY_ATTR_COUNT];
};

static struct policy_request req;

static size_t value_max(enum policy_attr a)
{
	return a == POLICY_ATTR_HELO || a == POLICY_ATTR_SENDER || a == POLICY_ATTR_RECIPIENT
		       ? PRIVSEP_FIELD_MAX
		       : PRIVSEP_SHORT_MAX;
}

/* Whether buf[0..len) holds an empty line ("\n" or "\r\n" after a line end or at 0). */
static bool has_empty_line(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool at_start = i == 0 || buf[i - 1] == '\n';

		if (at_start && buf[i] == '\n')
			return true;
		if (at_start && buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			return true;
	}
	return false;
}

/*
 * Where a good request's value of attr is: found as "name=value" at a
 * line's start, followed by its line's end. Sets *off into buf.
 */
static bool value_found(const uint8_t *buf, size_t n, enum policy_attr attr, const char *value,
			size_t *off)
{
	const char *name = policy_attr_name(attr);
	size_t name_len = strlen(name), value_len = strlen(value);

	for (size_t i = 0; i + name_len + 1 + value_len < n; i++) {
		const uint8_t *p = buf + i, *end;

		if ((i && buf[i - 1] != '\n') || memcmp(p, name, name_len) || p[name_len] != '=' ||
		    memcmp(p + name_len + 1, value, value_len))
			continue;
		end = p + name_len + 1 + value_len;
		if (*end == '\n' || (*end == '\r' && end + 1 < buf + n && end[1] == '\n')) {
			*off = (size_t)(p + name_len + 1 - buf);
			return true;
		}
	}
	return false;
}

/* Parse buf[0..len) and check the result; its outcome into o (offsets relative to buf). */
static void parse_checked(const uint8_t *buf, size_t len, struct outcome *o)
{
	ssize_t n = policy_request_parse((const char *)buf, len, &req);

	o->ret = n;
	if (n == 0) {
		if (len >= POLICY_REQUEST_MAX || has_empty_line(buf, len))
			abort();
		return;
	}
	if (n == -EMSGSIZE) {
		if (len < POLICY_REQUEST_MAX || has_empty_line(buf, POLICY_REQUEST_MAX))
			abort();
		return;
	}
	if (n < 0 || (size_t)n > len || n > POLICY_REQUEST_MAX || buf[n - 1] != '\n' ||
	    !has_empty_line(buf, (size_t)n) || has_empty_line(buf, (size_t)n - 1))
		abort();
	o->fault = req.fault;
	o->line = req.fault_line;
	if (req.fault != POLICY_GOOD) {
		if (!req.fault_line)
			abort();
		return;
	}
	if (req.fault_line)
		abort();
	for (int i = 0; i < POLICY_ATTR_COUNT; i++) {
		const char *v = req.value[i];

		if (!v || strlen(v) > value_max((enum policy_attr)i))
			abort();
		o->value_len[i] = strlen(v);
		o->value_off[i] = 0;
		if (*v && !value_found(buf, (size_t)n, (enum policy_attr)i, v, &o->value_off[i]))
			abort();
	}
}

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 16;
}

/* a from the whole input (its request at data + a_base), b from the server's buffer held. */
static bool same_outcome(const struct outcome *a, const struct outcome *b, const uint8_t *data,
			 size_t a_base, const uint8_t *held)
{
	if (a->ret != b->ret || (a->ret > 0 && (a->fault != b->fault || a->line != b->line)))
		return false;
	if (a->ret <= 0 || a->fault != POLICY_GOOD)
		return true;
	for (int i = 0; i < POLICY_ATTR_COUNT; i++)
		if (a->value_len[i] != b->value_len[i] ||
		    memcmp(data + a_base + a->value_off[i], held + b->value_off[i], a->value_len[i]))
			return false;
	return true;
}

static void check_stream(const uint8_t *data, size_t size)
{
	static struct outcome whole[KEPT_MAX], got;
	static uint8_t held[POLICY_REQUEST_MAX + 4096];
	size_t bases[KEPT_MAX], off = 0, nwhole = 0, fed = 0, held_len = 0, seen = 0;
	uint32_t random = size ? data[0] : 0;

	/* The whole input, request after request. */
	while (nwhole < KEPT_MAX) {
		parse_checked(data + off, size - off, &whole[nwhole]);
		bases[nwhole] = off;
		if (whole[nwhole].ret <= 0) {
			nwhole++;
			break;
		}
		off += (size_t)whole[nwhole].ret;
		nwhole++;
	}
	/* The server's way: a buffer bounded like its own, filled in chunks. */
	for (;;) {
		ssize_t n;

		parse_checked(held, held_len, &got);
		n = got.ret;
		if (n > 0) {
			if (seen >= nwhole ||
			    !same_outcome(&whole[seen], &got, data, bases[seen], held))
				abort();
			seen++;
			memmove(held, held + n, held_len - (size_t)n);
			held_len -= (size_t)n;
			if (seen == KEPT_MAX)
				return;
			continue;
		}
		if (n == -EMSGSIZE) {
			if (seen >= nwhole || whole[seen].ret != -EMSGSIZE)
				abort();
			return;
		}
		if (fed == size) {
			/* The end: the whole pass ended here too, wanting more. */
			if (seen >= nwhole || whole[seen].ret != 0)
				abort();
			return;
		}
		{
			size_t room = POLICY_REQUEST_MAX - held_len;
			size_t chunk = 1 + next_random(&random) % 4096;

			if (chunk > room)
				chunk = room;
			if (chunk > size - fed)
				chunk = size - fed;
			memcpy(held + held_len, data + fed, chunk);
			held_len += chunk;
			fed += chunk;
		}
	}
}

static void check_answer(const uint8_t *data, size_t size)
{
	static char action[PRIVSEP_ACTION_MAX + 64], buf[POLICY_ANSWER_MAX + 64];
	size_t n = size < sizeof(action) - 1 ? size : sizeof(action) - 1, len;
	bool bad = false;
	int ret;

	memcpy(action, data, n);
	action[n] = '\0';
	len = strlen(action);
	for (size_t i = 0; i < len; i++)
		bad |= (unsigned char)action[i] < 0x20 || action[i] == 0x7f;
	ret = policy_answer(action, buf, sizeof(buf));
	if (ret == -EINVAL) {
		if (len && !bad)
			abort();
		return;
	}
	if (ret == -EMSGSIZE) {
		if (bad || !len || len + 9 <= POLICY_ANSWER_MAX)
			abort();
		return;
	}
	if (ret != (int)len + 9 || memcmp(buf, "action=", 7) || memcmp(buf + 7, action, len) ||
	    memcmp(buf + 7 + len, "\n\n", 2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_stream(data, size);
	check_answer(data, size);
	return 0;
}
