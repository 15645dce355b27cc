/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The CrowdSec client's protocol between greywalld (the parent, which owns
 * the tables) and its crowdsec child (unprivileged, the only part that
 * talks HTTP to the Local API and parses its JSON).
 *
 * One SOCK_SEQPACKET socketpair; one message per packet; every message is
 * one of the fixed-size structs below, starting with its type. A receiver
 * checks the packet's length against the type's struct exactly and that
 * every char array is NUL-terminated within its size; anything else is a
 * protocol error. The parent trusts nothing the child says: it parses each
 * value again (addr_parse) and bounds what it holds.
 *
 * Parent -> child:
 *   CS_MSG_CONFIG       once, first: where the LAPI is and the credentials.
 *   CS_MSG_ALERT        one decision to push (part of batch `seq`).
 *   CS_MSG_ALERTS_END   push batch `seq` (the ALERTs sent since the last
 *                       ALERTS_END) as one POST /v1/alerts; answered by
 *                       PUSH_DONE or PUSH_FAIL with the same seq. The
 *                       parent has at most one batch outstanding.
 *   CS_MSG_PULL_NOW     pull now (a test or `greywallctl crowdsec pull`).
 * Child -> parent:
 *   CS_MSG_PULL_BEGIN   an answer of /v1/decisions/stream was read whole and
 *                       is valid; its decisions follow. startup = 1: the
 *                       answer is the LAPI's whole current state.
 *   CS_MSG_DECISION     one ban decision of scope Ip or Range, new or deleted.
 *   CS_MSG_PULL_END     the end of that answer, with its counts.
 *   CS_MSG_FAIL         a pull, login or push failed (what, kind, text).
 *   CS_MSG_PUSH_DONE    batch seq was accepted by the LAPI.
 *   CS_MSG_LOG          a line for greywalld's log.
 *
 * The child pulls on its own clock: at once with startup=true, then with
 * startup=false every `every` seconds. After any failed pull it waits
 * (backoff: 1 s, doubling, at most max(every, 60 s)) and pulls again with
 * startup=true, so a lost or rejected answer never leaves a gap.
 */
#ifndef __GREYWALL_CROWDSEC_PROTO_H
#define __GREYWALL_CROWDSEC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define CS_URL_MAX 512		/* base URL, e.g. "http://127.0.0.1:8080/" */
#define CS_PATH_MAX 256		/* a file name (CA file) */
#define CS_SECRET_MAX 256	/* bouncer key, machine password */
#define CS_MACHINE_MAX 128	/* machine id */
#define CS_VALUE_MAX 64		/* an address or a prefix as text */
#define CS_ORIGIN_MAX 32	/* "crowdsec", "cscli", "CAPI", "lists", ... */
#define CS_SCENARIO_MAX 128	/* longer scenarios are cut */
#define CS_TABLE_MAX 32
#define CS_TEXT_MAX 512		/* evidence, error text, log lines (cut) */

enum cs_msg_type {
	CS_MSG_CONFIG = 1,
	CS_MSG_ALERT = 2,
	CS_MSG_ALERTS_END = 3,
	CS_MSG_PULL_NOW = 4,
	CS_MSG_PULL_BEGIN = 32,
	CS_MSG_DECISION = 33,
	CS_MSG_PULL_END = 34,
	CS_MSG_FAIL = 35,
	CS_MSG_PUSH_DONE = 36,
	CS_MSG_LOG = 37,
};

enum cs_scope {
	CS_SCOPE_IP = 1,
	CS_SCOPE_RANGE = 2,
};

/* What failed (CS_MSG_FAIL.what). */
enum cs_what {
	CS_WHAT_PULL = 1,
	CS_WHAT_LOGIN = 2,
	CS_WHAT_PUSH = 3,
};

/* Kinds of failure (CS_MSG_FAIL.kind); greywallctl crowdsec show counts each. */
enum cs_err_kind {
	CS_ERR_CONNECT = 1,	/* no connection (refused, unreachable, DNS) */
	CS_ERR_TIMEOUT = 2,	/* connect or transfer took longer than the timeout */
	CS_ERR_TLS = 3,		/* TLS handshake or certificate */
	CS_ERR_HTTP = 4,	/* an HTTP status other than 2xx (http_status says which) */
	CS_ERR_AUTH = 5,	/* 401/403: bad bouncer key or machine password */
	CS_ERR_OVERSIZE = 6,	/* the answer was larger than max_bytes */
	CS_ERR_MALFORMED = 7,	/* not JSON, or not the shape the API documents */
	CS_ERR_OTHER = 8,
	CS_ERR_KINDS = 9,	/* one past the last */
};

enum cs_log_level {
	CS_LOG_ERR = 3,
	CS_LOG_WARNING = 4,
	CS_LOG_INFO = 6,
	CS_LOG_DEBUG = 7,
};

struct cs_msg_config {
	uint32_t type;			/* CS_MSG_CONFIG */
	uint32_t every;			/* seconds between pulls */
	uint32_t timeout;		/* seconds for a whole request */
	uint32_t pull;			/* 1: pull decisions (bouncer_key set) */
	uint32_t push;			/* 1: push alerts (machine, password set) */
	uint32_t pad;
	uint64_t max_bytes;		/* the largest answer taken */
	char url[CS_URL_MAX];		/* ends with '/' */
	char ca_file[CS_PATH_MAX];	/* "" = the system's CAs */
	char bouncer_key[CS_SECRET_MAX];
	char machine[CS_MACHINE_MAX];
	char password[CS_SECRET_MAX];
};

struct cs_msg_alert {
	uint32_t type;			/* CS_MSG_ALERT */
	uint32_t scope;			/* enum cs_scope */
	uint64_t seq;			/* the batch */
	int64_t duration;		/* seconds, > 0 */
	int64_t when;			/* unix seconds the source was listed */
	char scenario[CS_SCENARIO_MAX];	/* "greywall/overload", ... */
	char value[CS_VALUE_MAX];	/* "198.51.100.7", "203.0.113.0/24" */
	char table[CS_TABLE_MAX];	/* the table it was added to */
	char evidence[CS_TEXT_MAX];	/* "overload: rule 3 ..." (source: detail) */
};

struct cs_msg_seq {
	uint32_t type;			/* CS_MSG_ALERTS_END, CS_MSG_PUSH_DONE, CS_MSG_PULL_NOW */
	uint32_t count;			/* alerts in the batch (0 for PULL_NOW) */
	uint64_t seq;
};

struct cs_msg_pull_begin {
	uint32_t type;			/* CS_MSG_PULL_BEGIN */
	uint32_t startup;		/* 1: the whole state follows */
	uint64_t bytes;			/* size of the answer */
};

struct cs_msg_decision {
	uint32_t type;			/* CS_MSG_DECISION */
	uint8_t deleted;		/* 0: new, 1: deleted */
	uint8_t scope;			/* enum cs_scope */
	uint8_t pad[2];
	int64_t id;			/* the LAPI's decision id, > 0 */
	int64_t duration;		/* seconds left, rounded up; <= 0 when over */
	char value[CS_VALUE_MAX];
	char origin[CS_ORIGIN_MAX];
	char scenario[CS_SCENARIO_MAX];
};

struct cs_msg_pull_end {
	uint32_t type;			/* CS_MSG_PULL_END */
	uint32_t startup;
	uint64_t added;			/* DECISION messages with deleted = 0 */
	uint64_t deleted;		/* with deleted = 1 */
	uint64_t ignored_type;		/* decisions of a type other than ban */
	uint64_t ignored_scope;		/* bans of a scope other than Ip and Range */
	uint64_t millis;		/* how long the request took */
};

struct cs_msg_fail {
	uint32_t type;			/* CS_MSG_FAIL */
	uint32_t what;			/* enum cs_what */
	uint32_t kind;			/* enum cs_err_kind */
	uint32_t http_status;		/* 0 if none */
	uint64_t seq;			/* the push batch, for CS_WHAT_PUSH */
	char text[CS_TEXT_MAX];
};

struct cs_msg_log {
	uint32_t type;			/* CS_MSG_LOG */
	uint32_t level;			/* enum cs_log_level */
	char text[CS_TEXT_MAX];
};

/* The largest message, for receive buffers. */
#define CS_MSG_MAX sizeof(struct cs_msg_config)

_Static_assert(sizeof(struct cs_msg_config) >= sizeof(struct cs_msg_alert), "CS_MSG_MAX");
_Static_assert(sizeof(struct cs_msg_config) >= sizeof(struct cs_msg_fail), "CS_MSG_MAX");

/*
 * Check a received packet: its length is exactly its type's struct and
 * every string is NUL-terminated. Returns the type, or -EPROTO.
 */
int cs_msg_check(const void *buf, size_t len);

#endif /* __GREYWALL_CROWDSEC_PROTO_H */
