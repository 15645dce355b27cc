/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * spamd sync between gateways (greywall.conf(5), SYNC): the sockets, what
 * is sent when the greylist changes, what is received and handed to the
 * greylister, the replay window and the counters `greywallctl sync show`
 * prints. The bytes are wire.h's; the greylist's side is spamd.h's
 * spamd_sync_*() functions.
 *
 * Everything runs in the privileged parent's event loop: sockets are
 * non-blocking, a datagram that cannot be sent at once is counted and
 * dropped (spamd does no better), and a receive round takes a bounded
 * number of datagrams.
 */
#ifndef __GREYWALL_SYNC_SYNC_H
#define __GREYWALL_SYNC_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "lib/addr.h"
#include "sync/wire.h"

struct daemon;

/* A datagram's sent time may differ from our clock by this much (SENDER). */
#define SYNC_WINDOW_SECONDS 60
/* Senders whose replay window is kept: configured peers and those heard. */
#define SYNC_MAX_SENDERS 64
/* The receive buffer: one datagram and some slack, so a longer one shows. */
#define SYNC_RECV_BUFFER (SYNC_MAX_DATAGRAM + 64)

/* Why a received datagram was not taken: the wire's reasons, then ours. */
enum sync_reject {
	SYNC_REJECT_OWN = SYNC_DROP__COUNT, /* sent from one of our addresses */
	SYNC_REJECT_REPLAY,		    /* (epoch, counter) not past the last taken */
	SYNC_REJECT_STALE,		    /* sent time outside the window */
	SYNC_REJECT_NO_SENDER,		    /* no SENDER from a sender that sent one before */
	SYNC_REJECT_SENDERS_FULL,	    /* a new sender beyond SYNC_MAX_SENDERS */
	SYNC_REJECT_SEEN_FULL,		    /* SYNC_SEEN_MAX datagrams taken within the window */
	SYNC_REJECT__COUNT,
};

/* A sender's replay window: the last (epoch, counter) taken from it. */
struct sync_window {
	bool has_window; /* it sent SENDER: epoch and counter hold the last taken */
	uint32_t epoch, counter;
};

/*
 * Whether a decoded datagram passes the window at now: SYNC_OK, or
 * SYNC_REJECT_STALE (SENDER's sent time more than SYNC_WINDOW_SECONDS
 * away), SYNC_REJECT_REPLAY ((epoch, counter) not past the last taken),
 * SYNC_REJECT_NO_SENDER (none from a sender that sent one before; spamd's
 * datagrams, which never have one, pass). sync_window_take() then moves
 * the window to the datagram's.
 */
int sync_window_check(const struct sync_window *w, const struct sync_message *msg, int64_t now);
void sync_window_take(struct sync_window *w, const struct sync_message *msg);

/*
 * Open the sockets of cfg.spamd->sync, resolve its peers, read its key and
 * pick this run's epoch (stored in the state dir, so the next one is later).
 * Adds the receive sockets to d->epoll_fd. Nothing when the config has no
 * sync block. Returns 0 or -errno with a message in err.
 */
int sync_start(struct daemon *d, char *err, size_t errlen);
void sync_close(struct daemon *d);
/*
 * Whether the sync block differs between two configs: the sockets, peers
 * and key are taken at start, so a reload refuses a change.
 */
bool sync_config_changed(const struct config *old, const struct config *next);

/* Whether fd is one of sync's receive sockets; then sync_read() takes its datagrams. */
bool sync_owns_fd(struct daemon *d, int fd);
void sync_read(struct daemon *d, int fd);

/* Once a second: refresh the addresses that are ours (spamd's check 1). */
void sync_periodic(struct daemon *d, int64_t now);

/*
 * What the greylister tells the peers; each a no-op without sync. A GREY
 * for a tuple greylisted here, a TRAPPED for a source trapped here (until
 * expire), a WHITE for a destination our MTA sent mail to. Never for what
 * came by sync: that is not sent on.
 */
void sync_send_grey(struct daemon *d, int64_t now, const struct addr_prefix *ip, const char *helo,
		    const char *from, const char *to);
void sync_send_trapped(struct daemon *d, int64_t now, const struct addr_prefix *ip, int64_t expire);
void sync_send_white(struct daemon *d, int64_t now, const struct addr_prefix *ip, int64_t expire);

/* `greywallctl sync show`. */
void sync_show(struct daemon *d, FILE *out);

/* "own", "replay", ...: a reject reason's name, the wire's included. */
const char *sync_reject_name(int reason);

struct expo;
/* spamd sync's metrics (metrics/render.h): what `sync show` counts. */
void sync_metrics(struct daemon *d, struct expo *e);

#endif /* __GREYWALL_SYNC_SYNC_H */
