/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tarpit child's server (dialogue, stutter, spamd's log lines): one process, one epoll
 * loop, no threads, one struct smtp_session per connection. It runs after
 * privsep_drop(), faces the Internet, asks the parent how to treat each
 * client and reports every accepted RCPT (privsep.h), and writes spamd's
 * log lines through log.h (syslog, opened before the drop).
 *
 * What it does, in spamd's terms:
 * - Accepts on every listening socket it is given; at maxcon a new
 *   connection is closed at once; on EMFILE/ENFILE accepting pauses 1 s.
 * - Sends CLASSIFY for each connection and waits for CLASS; without an
 *   answer in TARPIT_CLASSIFY_TIMEOUT seconds the client is grey. Then the
 *   banner, with the date of the current second.
 * - Stutters (one byte per stutter seconds) black clients throughout and
 *   grey ones for their first greystutter seconds; replies go out whole
 *   while fewer than 5 slots remain below maxcon, and to black clients
 *   that arrived with maxblack black clients already held.
 * - Reports at most maxrcpt RCPTs of a connection to the parent; later
 *   ones are answered 452 and neither logged nor reported.
 * - A RCPT to a spamtrap, or outside alloweddomains (the rules the last
 *   TRAPS block sent), turns the session black at once.
 * - Closes a client that sent nothing for idle_timeout seconds while we
 *   waited for it, or did not take our replies for as long.
 *
 * Memory is what the design is measured by: a held connection costs one
 * 88-byte slot in an array reserved at start (the session, the socket's
 * state, its deadline; no allocator header, no list links) and no buffer
 * while it is idle; the banner and the blacklist messages are shared
 * between connections.
 */
#ifndef __GREYWALL_TARPIT_H
#define __GREYWALL_TARPIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdint.h>

/* Seconds a connection waits for the parent's CLASS before it is grey. */
#define TARPIT_CLASSIFY_TIMEOUT 10
/* Listening sockets one tarpit takes at most. */
#define TARPIT_LISTEN_MAX 16

struct tarpit_config {
	const int *listen_fds;	/* listening TCP sockets (nonblocking), 1..TARPIT_LISTEN_MAX */
	size_t nlisten;
	int parent_fd;		/* the child's end of the socketpair; made nonblocking */
	/*
	 * The child's end of a second socketpair for CLASSIFY and CLASS
	 * alone, so a connection's classification never queues behind the
	 * RCPTs and log lines of a flood on parent_fd. 0 (unset): parent_fd
	 * carries them too (descriptor 0 is never a socketpair here).
	 */
	int class_fd;
	const char *hostname;	/* in the banner and the replies */
	const char *banner;	/* "greywall IP-based SPAM blocker" */
	int black_code;		/* 450 or 550: black clients' final reply when CLASS says 0 */
	unsigned int stutter;	/* seconds per byte while stuttering; 0 never stutters */
	unsigned int greystutter; /* grey clients are stuttered for this many seconds */
	uint32_t maxcon;	/* connections held at most (>= 1) */
	uint32_t maxblack;	/* black connections stuttered at most */
	uint32_t idle_timeout;	/* seconds (>= 1); spamd's 400 */
	uint32_t max_data;	/* black clients: DATA bytes read before the final reply */
	uint32_t maxrcpt;	/* RCPTs reported per connection; then 452. 0: no bound */
	/*
	 * Send the log's lines to the parent (LOG, privsep.h) rather than
	 * writing them: the confined child reaches no syslog socket.
	 */
	bool log_to_parent;
};

/*
 * Where the tarpit reads the time; tests move it. A NULL clock, or a NULL
 * function in it, means the system's: CLOCK_MONOTONIC and time(2).
 */
struct tarpit_clock {
	/* Milliseconds that never go back: timers, stutter, timeouts. */
	uint64_t (*monotonic_ms)(void *ctx);
	/* Seconds since the epoch: the banner's date. */
	int64_t (*wall)(void *ctx);
	void *ctx;
};

/*
 * A listening socket as the tarpit wants it: TCP, nonblocking, close-on-exec,
 * SO_REUSEADDR (SO_REUSEPORT too with reuseport, for several workers), IPv6
 * sockets IPv6-only, backlog SOMAXCONN. Returns the fd or -errno.
 */
int tarpit_listen(const struct sockaddr *addr, socklen_t len, bool reuseport);

/*
 * Serve until the parent closes its end of the socketpair or SIGTERM
 * arrives (SIGTERM is blocked while it runs and taken from a signalfd);
 * both return 0. Returns -EINVAL for a bad config, -errno when setting up
 * fails, and -EPROTO/-EMSGSIZE/-errno when the parent's channel fails.
 * Every connection is closed on the way out; the listening sockets and
 * parent_fd and class_fd stay open (they are the caller's). A connection's error only
 * ends that connection.
 */
int tarpit_run(const struct tarpit_config *cfg, const struct tarpit_clock *clock);

#endif /* __GREYWALL_TARPIT_H */
