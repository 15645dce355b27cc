/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Privilege separation (docs/DESIGN.md): the line protocol between greywalld (the
 * privileged parent) and its tarpit child, and the child's privilege drop.
 *
 * Wire format. One message a line, ending in '\n'. Fields are separated by
 * single spaces and percent-escaped: every byte <= 0x20, 0x7f, '%' and
 * >= 0x80 is written as %XX (upper-case hex), so no field holds a space or
 * a line break. An empty field is written "-" and a field that is exactly
 * "-" as "%2D". A line is at most PRIVSEP_LINE_MAX bytes without its '\n';
 * a longer one is a protocol error, after which the reader drops the peer.
 * That limit holds the longest RCPT: three fields of PRIVSEP_FIELD_MAX
 * bytes (the SMTP line's limit), every byte escaped, so no field a client
 * can send keeps its RCPT (its trap) from reaching the parent.
 *
 *   child -> parent
 *     CLASSIFY <conn-id> <client-ip>
 *         sent as the child accepts a connection; the parent answers CLASS.
 *     RCPT <client-ip> <local-ip> <helo> <from> <to>
 *         every RCPT the dialogue accepted, fields exactly as received
 *         (helo and from may be empty).
 *   parent -> child
 *     CLASS <conn-id> GREY
 *     CLASS <conn-id> BLACK <code> <message> [<lists>]
 *         code 450 or 550, or 0 for the tarpit's default; message holds
 *         the final reply's lines separated by '\n', "%A" unexpanded ("-":
 *         the default text); lists, when present, the names of the lists
 *         that matched, separated by spaces, for the log.
 *     TRAPS <generation>
 *     SPAMTRAP <address> | DOMAIN <suffix> | VALID <recipient>  (any number)
 *     TRAPS-END
 *         the trap rules as a whole; the child replaces its own with them
 *         at TRAPS-END.
 *     CONFIG <maxcon> <maxblack> <stutter> <greystutter> <idle-timeout>
 *            <maxrcpt> <max-data> <black-code> <hostname> <banner>
 *         the tarpit's settings (struct tarpit_config's): the first message
 *         the child reads, and again after every reload. New connections
 *         get them at once; held ones keep what they were told already.
 *   child -> parent (the policy child, user/policy/, on its own socketpair)
 *     POLICY <req-id> <request> <protocol-state> <client-address> <helo>
 *            <sender> <recipient> <recipient-count> <instance>
 *         one request of Postfix's policy protocol, the attributes' values
 *         exactly as received (an attribute absent: empty); req-id is the
 *         child's name for the request, unique among those unanswered.
 *         The parent parses and checks every value itself.
 *   parent -> child
 *     VERDICT <req-id> <action>
 *         the answer: the child writes "action=<action>\n\n" to the
 *         request's client. The action is one line (no byte < 0x20 nor
 *         0x7f), at most PRIVSEP_ACTION_MAX bytes.
 *   child -> parent (the metrics child, user/metrics/, on its own socketpair)
 *     METRICS <req-id>
 *         a scrape: the parent answers with the exposition text of that
 *         moment; req-id is the child's name for it. One at a time.
 *   parent -> child
 *     METRICS-PART <req-id> <text>
 *         the next piece of the answer's text, 1 to PRIVSEP_FIELD_MAX
 *         bytes (any but NUL); any number of them, in order.
 *     METRICS-END <req-id> <length>
 *         the answer is complete: length is the sum of its pieces' bytes,
 *         at most PRIVSEP_METRICS_MAX; 0 (no pieces) when the parent has
 *         no text to give (the child answers 503).
 *   child -> parent (the tarpit child)
 *     CONNS <held> <black>
 *         the connections the tarpit holds, and how many of them are
 *         black (black <= held): sent once a second when they changed.
 *   child -> parent
 *     LOG <priority> <text>
 *         one line of the child's log (priority LOG_EMERG..LOG_DEBUG, text
 *         as formatted, at most PRIVSEP_LOG_MAX bytes): the confined child
 *         reaches no syslog socket, and the parent escapes it (log.c).
 *
 * Decoded strings point into the reader's buffer (or the caller's line)
 * and stay valid until the next call; a field holding a NUL byte (%00) is
 * malformed, so they are plain C strings.
 */
#ifndef __GREYWALL_PRIVSEP_H
#define __GREYWALL_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"
#include "spamd/tarpit.h"

/* Longest helo, from or to a RCPT carries: SMTP_LINE_MAX (tarpit.c checks). */
#define PRIVSEP_FIELD_MAX	8192
/* POLICY's short fields (all but helo, sender, recipient) at most. */
#define PRIVSEP_SHORT_MAX	255
/*
 * A RCPT: its type, two addresses, three fields each escaped to 3 bytes a
 * byte; a POLICY: three such fields and five short ones.
 */
#define PRIVSEP_LINE_MAX	(3 * 3 * PRIVSEP_FIELD_MAX + 5 * 3 * PRIVSEP_SHORT_MAX + 256)
/*
 * Bytes a writer queues for a peer that does not read, before -ENOBUFS.
 * The tarpit stops reading its clients well before (tarpit.c), so that a
 * slow parent delays RCPTs instead of losing them.
 */
#define PRIVSEP_QUEUE_MAX	(8 * 1024 * 1024)
/* A VERDICT's action at most (Postfix's own reply lines are shorter). */
#define PRIVSEP_ACTION_MAX	2048
/* A LOG's text at most: escaped, it still fits a line. */
#define PRIVSEP_LOG_MAX		(3 * PRIVSEP_FIELD_MAX)
/*
 * A METRICS answer's text at most. Escaped (3 bytes a byte at worst) it
 * fits a writer's queue with room to spare.
 */
#define PRIVSEP_METRICS_MAX	(1024 * 1024)

enum privsep_type {
	PRIVSEP_CLASSIFY,	/* child -> parent */
	PRIVSEP_RCPT,		/* child -> parent */
	PRIVSEP_CLASS,		/* parent -> child */
	PRIVSEP_TRAPS,		/* parent -> child: a new set of trap rules begins */
	PRIVSEP_SPAMTRAP,	/* parent -> child: one spamtrap address */
	PRIVSEP_DOMAIN,		/* parent -> child: one alloweddomains entry */
	PRIVSEP_VALID,		/* parent -> child: one valid recipient */
	PRIVSEP_TRAPS_END,	/* parent -> child: the set is complete */
	PRIVSEP_CONFIG,		/* parent -> child: the tarpit's settings */
	PRIVSEP_LOG,		/* child -> parent: a line for the log */
	PRIVSEP_POLICY,		/* policy child -> parent: one policy request */
	PRIVSEP_VERDICT,	/* parent -> policy child: its answer */
	PRIVSEP_METRICS,	/* metrics child -> parent: a scrape */
	PRIVSEP_METRICS_PART,	/* parent -> metrics child: a piece of the text */
	PRIVSEP_METRICS_END,	/* parent -> metrics child: the text is whole */
	PRIVSEP_CONNS,		/* child -> parent: the connections the tarpit holds */
};

struct privsep_classify {
	uint32_t conn_id;	/* the child's name for the connection */
	struct addr_prefix client; /* a host */
};

struct privsep_rcpt {
	struct addr_prefix client, local; /* hosts: the source and our address it reached */
	const char *helo, *from, *to;
};

struct privsep_class {
	uint32_t conn_id;
	bool black;
	uint16_t code;		/* black: 450, 550 or 0 (the tarpit's default) */
	const char *message;	/* black: "" (or NULL to encode) for the default text */
	const char *lists;	/* black: "" (or NULL to encode) when none were named */
};

/*
 * helo, sender and recipient at most PRIVSEP_FIELD_MAX bytes, the others
 * PRIVSEP_SHORT_MAX (encode refuses longer ones with -EMSGSIZE, decode
 * with -EPROTO); NULL encodes as empty.
 */
struct privsep_policy {
	uint32_t req_id;
	const char *request;	/* "smtpd_access_policy" from Postfix */
	const char *state;	/* protocol_state: "RCPT", "DATA", ... */
	const char *client;	/* client_address, unparsed */
	const char *helo;	/* helo_name */
	const char *sender;	/* without angle brackets; empty: the null sender */
	const char *recipient;
	const char *rcpt_count;	/* recipient_count, unparsed */
	const char *instance;	/* the same for every request of one message */
};

struct privsep_verdict {
	uint32_t req_id;
	const char *action;	/* e.g. "DUNNO", "DEFER_IF_PERMIT 4.7.1 Greylisted, ..." */
};

/*
 * METRICS: req_id. METRICS-PART: req_id and text (1 to PRIVSEP_FIELD_MAX
 * bytes). METRICS-END: req_id and length (at most PRIVSEP_METRICS_MAX).
 */
struct privsep_metrics {
	uint32_t req_id;
	const char *text;
	uint64_t length;
};

/* PRIVSEP_CONNS: black <= held. */
struct privsep_conns {
	uint32_t held;		/* connections the tarpit holds, classified or not */
	uint32_t black;		/* of them, black (listed, trapped or beyond maxblack) */
};

struct privsep_log {
	int priority;		/* LOG_EMERG (0) .. LOG_DEBUG (7) */
	const char *text;
};

struct privsep_msg {
	enum privsep_type type;
	union {
		struct privsep_classify classify;
		struct privsep_rcpt rcpt;
		struct privsep_class class;
		uint64_t generation;	/* PRIVSEP_TRAPS */
		const char *entry;	/* PRIVSEP_SPAMTRAP, _DOMAIN, _VALID */
		/*
		 * PRIVSEP_CONFIG: the settings only (listen_fds, nlisten,
		 * parent_fd and log_to_parent are neither sent nor decoded).
		 */
		struct tarpit_config config;
		struct privsep_log log;
		struct privsep_policy policy;
		struct privsep_verdict verdict;
		struct privsep_metrics metrics;
		struct privsep_conns conns;
	};
};

/*
 * Percent-escape one field (see above) into out, NUL-terminated. Returns
 * its length, or -ENOSPC when out is too small (3 * strlen(in) + 2 always
 * suffices).
 */
int privsep_escape(const char *in, char *out, size_t outlen);

/*
 * One message as a line with its '\n' (not NUL-terminated). Returns the
 * length, -EMSGSIZE when the line would exceed PRIVSEP_LINE_MAX or len,
 * -EINVAL for a message that cannot be sent (bad code, a non-host
 * address or one privsep_decode() would refuse, such as an IPv4-mapped
 * IPv6 address, a NULL string).
 */
int privsep_encode(const struct privsep_msg *msg, char *buf, size_t len);

/*
 * Decode one line without its '\n', in place: line must be writable and
 * line[len] a NUL. Returns 0, or -EPROTO for anything malformed (unknown
 * type, wrong field count, bad escape, %00, a number or address that does
 * not parse, a line longer than PRIVSEP_LINE_MAX).
 */
int privsep_decode(char *line, size_t len, struct privsep_msg *msg);

/* Reads messages from a (nonblocking) stream fd; buffers one line at most. */
struct privsep_reader {
	int fd;
	char *buf;		/* PRIVSEP_LINE_MAX + 1 bytes */
	size_t start, end;	/* unread bytes */
};

int privsep_reader_init(struct privsep_reader *r, int fd);
/*
 * The next message. Returns 1 with *msg filled (valid until the next call),
 * 0 when no whole line is buffered and the fd has nothing more now (call
 * again when it is readable), -EPIPE when the peer closed (a partial last
 * line is dropped), -EMSGSIZE for an over-long line, -EPROTO for a
 * malformed one, -errno from read(2). After an error, drop the peer.
 */
int privsep_receive(struct privsep_reader *r, struct privsep_msg *msg);
void privsep_reader_free(struct privsep_reader *r);

/* Queues lines for a (nonblocking) stream fd the peer reads at its pace. */
struct privsep_writer {
	int fd;
	char *buf;
	size_t start, end, cap;	/* queued bytes: buf[start..end) */
	bool corked;		/* privsep_send() queues; privsep_flush() sends */
};

void privsep_writer_init(struct privsep_writer *w, int fd);
/*
 * Corked, privsep_send() only queues (until PRIVSEP_CORK_MAX bytes wait):
 * a loop that sends many messages per round sends them with one system
 * call by flushing once at the end of the round.
 */
#define PRIVSEP_CORK_MAX (64 * 1024)
void privsep_cork(struct privsep_writer *w);
/*
 * Queue one message and send what the fd takes now (corked: once enough
 * waits). Returns 0 (sent or
 * queued), -EMSGSIZE or -EINVAL from privsep_encode() (nothing queued),
 * -ENOBUFS when PRIVSEP_QUEUE_MAX bytes are already waiting (nothing
 * queued), -ENOMEM, or -errno from send(2) (the peer is gone).
 */
int privsep_send(struct privsep_writer *w, const struct privsep_msg *msg);
/* Bytes queued, not yet taken by the fd. */
size_t privsep_queued(const struct privsep_writer *w);
/*
 * Send queued bytes: 0 when none are left, -EAGAIN while some wait (call
 * again when the fd is writable), -errno from send(2).
 */
int privsep_flush(struct privsep_writer *w);
void privsep_writer_free(struct privsep_writer *w);

/*
 * A log sink (log_set_sink()) for a child before its event loop's writer
 * exists: each line goes to the parent as LOG in one send(2) on the
 * socketpair *(int *)ctx. The socket is empty this early, and a child
 * that logs here is about to exit anyway.
 */
int privsep_log_early(void *ctx, int priority, const char *text);

/*
 * Become user for good, before touching the network: supplementary
 * groups, gid and uid set to user's (getpwnam), cwd "/", every capability
 * cleared (effective, permitted, inheritable, ambient and bounding sets),
 * and no_new_privs set so nothing can regain privileges. Needs root (or
 * CAP_SETUID, CAP_SETGID and CAP_SETPCAP). Returns 0, -ENOENT for an
 * unknown user, -EPERM when some privilege is still held after trying, or
 * -errno; the caller must not go on after an error.
 */
int privsep_drop(const char *user);
/* The uid and gid privsep_drop() would take for user: -ENOENT, -errno. */
int privsep_lookup(const char *user, uid_t *uid, gid_t *gid);
/*
 * privsep_drop() to ids found before (privsep_lookup()), for a process
 * that can no longer read the user database (chrooted).
 */
int privsep_drop_ids(uid_t uid, gid_t gid);
/*
 * A child's confinement before it reads from the network: the descriptor
 * limit raised to the hard one, user looked up, chroot into root
 * (sandbox_chroot()), then privsep_drop_ids(). On failure *step says which
 * of these failed ("chroot", ...). The seccomp filter is the caller's
 * last step, once it has read what it needs.
 */
int privsep_confine(const char *user, const char *root, const char **step);

#endif /* __GREYWALL_PRIVSEP_H */
