/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Postfix's SMTPD access policy delegation protocol (SMTPD_POLICY_README),
 * the policy child's side: a parser of requests and the writer of answers.
 * Pure: no I/O, no clock, no allocation.
 *
 * A request is "name=value\n" lines ending with an empty line; one
 * connection carries any number of them, one after the other. Only the
 * attributes a POLICY message carries (privsep.h) are kept; the others
 * are ignored, as Postfix requires of a policy server (it adds attributes
 * with new releases). Values are taken as they are: the parent checks
 * them.
 *
 * What each kind of input gets:
 * - A line ending in "\r\n" is taken as ending in "\n": Postfix sends LF
 *   alone, people testing by hand often CRLF. So "\r\n" alone is the empty
 *   line. A CR anywhere else stays in the value.
 * - Malformed but framed (it ends with an empty line within
 *   POLICY_REQUEST_MAX bytes): the request is consumed whole, its fault is
 *   set, and the server answers it with POLICY_ANSWER_MALFORMED; the
 *   connection goes on with the next request. The faults: a line without
 *   '=', a line with an empty name ("=value"), a NUL byte anywhere in it, a
 *   kept attribute's value over its bound (helo_name, sender and recipient
 *   PRIVSEP_FIELD_MAX bytes, the others PRIVSEP_SHORT_MAX; exactly at the
 *   bound is good), a kept attribute given twice (which of two recipients
 *   would the answer be about?), more than POLICY_LINES_MAX lines, and no
 *   line at all (an empty line where a request should begin). An unknown
 *   attribute given twice, or with a long value, is still ignored: only
 *   the request's size bounds it.
 * - Framing lost (no empty line within POLICY_REQUEST_MAX bytes): the
 *   parser says so (-EMSGSIZE), the server answers POLICY_ANSWER_MALFORMED
 *   once and closes the connection, since where the next request would
 *   begin is unknown.
 */
#ifndef __GREYWALL_POLICY_REQUEST_H
#define __GREYWALL_POLICY_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

#include "spamd/privsep.h"

/*
 * Bytes of one request at most, its empty line included. Postfix's are
 * about 1 KB; the long ones carry long helo_name, sender, recipient or
 * ccert_* values.
 */
#define POLICY_REQUEST_MAX (16 * 1024)
/* Lines of one request at most, its empty line not counted (Postfix 3.7 sends ~35). */
#define POLICY_LINES_MAX 256
/* Bytes of an answer line pair, "action=" and "\n\n" around the action, at most. */
#define POLICY_ANSWER_MAX (PRIVSEP_ACTION_MAX + 16)

/* The child's own answers: a failure to parse, or to hear the parent, never lets mail through. */
#define POLICY_ANSWER_MALFORMED "DEFER_IF_PERMIT 4.3.5 Malformed policy request"
#define POLICY_ANSWER_NO_VERDICT "DEFER_IF_PERMIT 4.3.0 Policy service busy, try again later"

/* The attributes kept, in POLICY's order. */
enum policy_attr {
	POLICY_ATTR_REQUEST,		/* request */
	POLICY_ATTR_STATE,		/* protocol_state */
	POLICY_ATTR_CLIENT,		/* client_address */
	POLICY_ATTR_HELO,		/* helo_name */
	POLICY_ATTR_SENDER,		/* sender */
	POLICY_ATTR_RECIPIENT,		/* recipient */
	POLICY_ATTR_RCPT_COUNT,		/* recipient_count */
	POLICY_ATTR_INSTANCE,		/* instance */
	POLICY_ATTR_COUNT,
};

/* What is wrong with a framed request; POLICY_GOOD when nothing is. */
enum policy_fault {
	POLICY_GOOD,
	POLICY_NO_EQUALS,	/* a line without '=' */
	POLICY_NO_NAME,		/* "=value" */
	POLICY_NUL,		/* a NUL byte */
	POLICY_VALUE_LONG,	/* a kept attribute's value over its bound */
	POLICY_REPEATED,	/* a kept attribute twice */
	POLICY_TOO_MANY_LINES,	/* more than POLICY_LINES_MAX lines */
	POLICY_EMPTY,		/* no line before the empty one */
};

struct policy_request {
	enum policy_fault fault;
	unsigned int fault_line;	/* 1-based line of the fault (0: POLICY_GOOD) */
	/* POLICY_GOOD: each kept value, NUL-terminated, "" when absent; in store. */
	const char *value[POLICY_ATTR_COUNT];
	char store[POLICY_REQUEST_MAX];
};

/*
 * The first request in buf[0..len). Returns the bytes it takes (> 0, at
 * most POLICY_REQUEST_MAX, its empty line included) with *req filled (its
 * fault says whether it is good; the values are set only when it is); 0
 * when buf holds no whole request yet but may once more bytes come; or
 * -EMSGSIZE when no request ends within POLICY_REQUEST_MAX bytes.
 */
ssize_t policy_request_parse(const char *buf, size_t len, struct policy_request *req);

/* The attribute's name in the protocol ("client_address"). */
const char *policy_attr_name(enum policy_attr attr);
/* A fault in a few words, for the log. */
const char *policy_fault_text(enum policy_fault fault);

/*
 * "action=<action>\n\n" into buf, not NUL-terminated. Returns its length,
 * -EINVAL for an empty action or one holding a byte < 0x20 or 0x7f (it
 * must stay one line), -EMSGSIZE when it does not fit len.
 */
int policy_answer(const char *action, char *buf, size_t len);

#endif /* __GREYWALL_POLICY_REQUEST_H */
