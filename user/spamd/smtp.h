/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tarpit's SMTP dialogue for one connection, as a pure state machine:
 * bytes in, reply bytes out, one callback per RCPT. It never touches a
 * socket, the clock or the log, so the epoll server can hold 50,000 of
 * these and the tests and the fuzzer can drive it byte by byte.
 *
 * Memory is the point: an idle session is one small struct. The partial
 * input line and the unsent reply bytes live on the heap only while they
 * exist, helo/from/to share one allocation at their received length, and
 * every buffer is bounded (SMTP_LINE_MAX, SMTP_OUTPUT_HIGH, max_data).
 * Text many sessions send alike is never copied into them: the banner of
 * the current second and a blacklist's message are shared and reference
 * counted (struct smtp_shared), and a constant reply is pointed at, not
 * copied, when nothing else is pending.
 *
 * Dialogue choices, where SMTP or spamd leave room:
 * - Commands are matched case-insensitively on the whole verb ("DATAX" is
 *   unknown); arguments after NOOP, RSET, QUIT and DATA are ignored.
 * - MAIL without HELO/EHLO is accepted with an empty helo, as spamd does;
 *   a second MAIL in one transaction, RCPT before MAIL and DATA before a
 *   RCPT get 503. HELO/EHLO and MAIL start a new transaction.
 * - from and to are the path exactly as received, angle brackets
 *   included as spamd keeps them ("<a@example.net>", or the first word
 *   when there are no brackets): the greylist key. "MAIL FROM:<>" is the
 *   null sender ("<>") and valid; "RCPT TO:<>" is not.
 * - A line is at most SMTP_LINE_MAX bytes without its "\r\n" or "\n". A
 *   longer one is answered "500 Line too long" when its newline arrives;
 *   the excess is counted, never buffered.
 * - A command line with a NUL byte is a bad command (500), never cut short.
 * - Every 5xx answer to a command (and a 452 past maxrcpt) counts as a bad command; the
 *   SMTP_MAX_BAD_COMMANDS-th is answered 421 instead, and the session closes.
 * - At end of input a final unterminated line is still answered.
 * - A session's RCPTs beyond maxrcpt (counted over the whole session, RSET
 *   or not) get "452 4.5.3 Too many recipients" and never reach the hook:
 *   RFC 5321 lets a client send the rest in another transaction. Each such
 *   452 counts as a bad command, so a flood of RCPTs ends the session.
 */
#ifndef __GREYWALL_SMTP_H
#define __GREYWALL_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"

/* spamd's bounds: input line max 8192 bytes, 20 bad commands then close. */
#define SMTP_LINE_MAX		8192
#define SMTP_MAX_BAD_COMMANDS	20
/*
 * Input is not consumed while more reply bytes than this wait to be sent,
 * so a client pipelining thousands of NOOPs cannot grow our memory.
 */
#define SMTP_OUTPUT_HIGH	2048
/* Longest single reply to a command (hostname included), the final one aside. */
#define SMTP_REPLY_MAX		512
/* Limits smtp_session_init() enforces on its strings. */
#define SMTP_HOSTNAME_MAX	255
#define SMTP_BANNER_MAX		255
#define SMTP_DATE_MAX		64
#define SMTP_MESSAGE_MAX	4096
/*
 * Reply bytes a session holds at most. A blacklist message is refused
 * when its final reply could expand ("%A", line prefixes) beyond what is
 * left of this after the replies pending before it.
 */
#define SMTP_OUT_MAX		UINT16_MAX
#define SMTP_FINAL_REPLY_MAX	(SMTP_OUT_MAX - SMTP_OUTPUT_HIGH - 2 * SMTP_REPLY_MAX)

/*
 * An immutable text many sessions send: the banner of the current second,
 * a blacklist's message. Sessions hold a reference while they use it; the
 * last smtp_shared_put() frees it. Single-threaded, like its users.
 */
struct smtp_shared {
	uint32_t refs;
	uint32_t len;		/* of text, without its NUL */
	char text[];
};

/* A shared copy of len bytes of text (refs 1). -ENOMEM. */
int smtp_shared_new(const char *text, size_t len, struct smtp_shared **out);
struct smtp_shared *smtp_shared_get(struct smtp_shared *shared);
/* Drop a reference; NULL is ignored. */
void smtp_shared_put(struct smtp_shared *shared);

struct smtp_tuple {
	const char *helo;	/* "" when the client sent no HELO/EHLO */
	const char *from;	/* "<>" for the null sender */
	const char *to;
};

enum smtp_rcpt_verdict {
	SMTP_RCPT_ACCEPT,	/* greylist as usual */
	SMTP_RCPT_TRAP,		/* a spamtrap: blacklist treatment from now on */
};

/* Shared by every session; must outlive them all. */
struct smtp_params {
	const char *hostname;	/* in the banner, HELO, QUIT and 421 replies */
	const char *banner;	/* "greywall IP-based SPAM blocker" */
	int black_code;		/* 450 or 550: the final reply to black clients */
	uint32_t max_data;	/* black clients: DATA bytes read before giving up */
	unsigned int stutter;	/* seconds per byte; 0 never stutters */
	unsigned int greystutter; /* grey clients stutter for this many seconds */
	uint32_t maxrcpt;	/* RCPTs a session gives the hook at most; 0: no bound */
	/*
	 * Called for every accepted RCPT with the tuple (valid for the call
	 * only) and whether the session is black already. Returns a verdict,
	 * or -errno to end the session. On SMTP_RCPT_TRAP it may point
	 * *black_message at the text for the final reply (copied; NULL keeps
	 * the default). A NULL hook accepts every RCPT.
	 */
	int (*rcpt)(void *ctx, const struct smtp_tuple *t, bool black, const char **black_message);
};

enum smtp_state {
	SMTP_COMMANDS,		/* reading command lines */
	SMTP_DATA,		/* black client after 354: counting message bytes */
	SMTP_CLOSING,		/* input ignored; close once the output is sent */
};

/*
 * Read-only for callers except through the functions below. Packed so a
 * held connection stays small (tarpit.h): capacities are implied by the
 * lengths or kept as a power of two, and replies are bounded so 16-bit
 * offsets hold them (SMTP_OUT_MAX).
 */
struct smtp_session {
	const struct smtp_params *params;
	char *in;		/* the partial line; NULL when none */
	/*
	 * Reply bytes not yet sent; NULL when none. Either our own buffer, or
	 * (out_kind) a constant reply or shared text that is only pointed at.
	 */
	char *out;
	char *tuple;		/* "helo\0from\0to\0" as received, tuple_fields of them */
	struct smtp_shared *black_message; /* NULL: the default text */
	/* A session gives RCPTs before DATA and message bytes after, never both. */
	union {
		uint32_t rcpts;		/* RCPTs given to the hook */
		uint32_t data_bytes;	/* message bytes read after 354 */
	};
	uint16_t out_start, out_end; /* out[out_start, out_end) is pending */
	uint16_t in_len;	/* in holds the smallest 64 * 2^k >= in_len bytes (smtp.c) */
	uint8_t bad_commands : 5;
	uint8_t state : 2;	/* enum smtp_state */
	bool black : 1;		/* blacklisted at connect, or trapped since */
	uint8_t data_line : 2;	/* where the DATA reader is within a line */
	uint8_t out_kind : 2;	/* whose bytes out points at (smtp.c) */
	uint8_t tuple_fields : 2; /* 0: none yet, 1: helo, 2: and from, 3: and to */
	bool in_transaction : 1; /* MAIL accepted */
	bool has_rcpt : 1;	/* a RCPT accepted in this transaction */
	uint8_t out_cap_log : 4; /* our own out buffer holds 128 << out_cap_log bytes */
	bool line_too_long : 1;	/* dropping the rest of an over-long line */
	struct addr_prefix client; /* for %A in the final reply */
};

/*
 * The banner "220 <hostname> ESMTP <banner>; <date>\r\n" as shared text,
 * made once per second for every session started in it. -EINVAL for bad
 * params or an over-long date, -ENOMEM.
 */
int smtp_banner_new(const struct smtp_params *p, const char *date, struct smtp_shared **out);

/*
 * A black session's final reply as shared text: lines separated by '\n',
 * "%A" standing for the client address. -EINVAL when longer than
 * SMTP_MESSAGE_MAX or when its reply could exceed SMTP_FINAL_REPLY_MAX
 * bytes, -ENOMEM.
 */
int smtp_message_new(const char *text, struct smtp_shared **out);

/*
 * Start a session with banner (from smtp_banner_new) queued; both banner
 * and black_message (black sessions; NULL means the default text) are
 * referenced, not copied. -EINVAL for bad params. Nothing to free on error.
 */
int smtp_session_start(struct smtp_session *s, const struct smtp_params *p,
		       const struct addr_prefix *client, struct smtp_shared *banner, bool black,
		       struct smtp_shared *black_message);

/*
 * Give a session started before its client was classified (its banner
 * may be out already) the class it has: p, black and black_message as
 * smtp_session_start() takes them. Only before any input was fed to it:
 * -EBUSY after, -EINVAL for bad params.
 */
int smtp_session_classify(struct smtp_session *s, const struct smtp_params *p, bool black,
			  struct smtp_shared *black_message);

/*
 * smtp_session_start() with a banner of its own for date and a copy of
 * black_message (NULL: the default text): for callers that start one
 * session at a time. -EINVAL for bad params or over-long strings, -ENOMEM.
 */
int smtp_session_init(struct smtp_session *s, const struct smtp_params *p,
		      const struct addr_prefix *client, const char *date, bool black,
		      const char *black_message);

/*
 * Feed bytes from the client. Returns how many were consumed, which is less
 * than len only while more than SMTP_OUTPUT_HIGH reply bytes are pending:
 * send some, then offer the rest again (reading with MSG_PEEK and
 * discarding what was consumed keeps it in the socket buffer). Returns
 * -errno from allocation or the rcpt hook; the caller then closes.
 */
ssize_t smtp_session_input(struct smtp_session *s, const char *buf, size_t len, void *ctx);

/*
 * The client closed its side: answer a final unterminated line, give a
 * black client in DATA its final reply, and close once that is sent.
 */
int smtp_session_eof(struct smtp_session *s, void *ctx);

/* Reply bytes waiting to be sent: their count, and *data pointing at them. */
size_t smtp_session_pending(const struct smtp_session *s, const char **data);
/* n bytes (at most the pending count) were sent; one at a time is fine. */
void smtp_session_consume(struct smtp_session *s, size_t n);
/* True once the session is over and its last reply has been sent. */
bool smtp_session_should_close(const struct smtp_session *s);

/*
 * Whether replies go out one byte per stutter interval now (spamd's stutter):
 * black sessions always, grey ones for their first greystutter seconds;
 * never when stutter is 0 or the caller wants whole replies (few free
 * connection slots). elapsed is seconds since the connection was accepted.
 */
bool smtp_session_stuttered(const struct smtp_session *s, uint64_t elapsed, bool whole_replies);

/* The tuple of the last accepted RCPT; false when there is none. */
bool smtp_session_last_tuple(const struct smtp_session *s, struct smtp_tuple *t);

void smtp_session_free(struct smtp_session *s);

#endif /* __GREYWALL_SMTP_H */
