/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The privileged parent's half of the tarpit (spamd): it owns the greylist
 * store, the trap rules and the blacklists, answers the tarpit child's
 * questions, records what the child reports, and keeps the tables
 * <spamd-white> and <spamd-greytrap> in step with the greylist so the
 * data path (sk_lookup) steers by them.
 */
#ifndef __GREYWALL_SPAMD_H
#define __GREYWALL_SPAMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/addrmap.h"
#include "spamd/grey.h"
#include "spamd/rcptqueue.h"
#include "spamd/spamd_lists.h"

#include "spamd/trap.h"

struct blacklist_set;
struct daemon;

/* Longest list message sent to the tarpit for one connection. */
#define SPAMD_MESSAGE_MAX 4096

/* Hours of the tarpit's held connections kept (the report's 30 days). */
#define SPAMD_TARPIT_HOURS (30 * 24)

struct spamd {
	struct grey *grey;
	struct grey_params params;
	struct trap_set *spamtraps;	/* files + the store's SPAMTRAP entries */
	struct trap_set *file_spamtraps; /* the files' alone: spamdb lists them */
	struct trap_set *domains;	/* alloweddomains; empty: not set */
	struct trap_set *valid;		/* valid recipients; NULL: no candidates */
	struct trap_rules rules;
	struct blacklist_set *lists;	/* NULL until the first load is in */
	struct spamd_lists_load load;	/* the load running, if any (spamd_lists.c) */
	int64_t started;
	int64_t next_scan;
	uint64_t scans;			/* greylist scans run: `status` says, tests wait for it */
	/* What the last scan found, and what the scans did (the metrics). */
	size_t scan_white, scan_trapped, scan_grey;
	uint64_t scan_whitelisted, scan_expired;
	/* The tarpit child (spamd_child.c). */
	int listeners[8];
	size_t nlisteners;
	int child_fd;			/* our end of the socketpair; -1: no child */
	int class_fd;			/* our end of the CLASSIFY/CLASS one; -1: none */
	int child_pid;
	int64_t child_restart_at;	/* 0: no restart pending */
	void *child_reader;		/* line reader state on child_fd */
	/* What the child's last CONNS said; 0 0 while no child runs. */
	uint32_t tarpit_held, tarpit_black;
	uint32_t tarpit_peak;		/* the most held at once since greywalld started */
	/* The most held in each of the last SPAMD_TARPIT_HOURS hours (since start): hour h in slot h % N. */
	uint32_t tarpit_hour_peak[SPAMD_TARPIT_HOURS];
	int64_t tarpit_hour_of[SPAMD_TARPIT_HOURS]; /* the hour (unix time / 3600) a slot holds; 0: none */
	/* RCPTs read from the child, not stored yet (spamd_child.c). */
	struct rcpt_queue rcpts;
	uint64_t rcpts_dropped;		/* since the last scan: the queue was full */
	/* New tuples refused by maxtuples since the last scan. */
	struct addrmap full_sources;	/* source -> tuples refused (uint32_t); the logged ones */
	uint64_t refused;		/* all of them */
	uint64_t refused_unlogged;	/* from sources beyond those the map holds */
	/*
	 * The store failing: the RCPTs stay queued (the newest dropped once
	 * the queue is full), TRAPPED entries that could not be written wait
	 * in traps_unsaved, and both are tried again once a second.
	 */
	int store_err;			/* 0: the greylist's writes go through */
	int64_t store_retry_at;
	struct rcpt_queue traps_unsaved;
	uint64_t traps_lost;		/* TRAPPED entries beyond traps_unsaved's bound */
};

/*
 * Open the greylist in the store, load spamtraps, alloweddomains and
 * valid recipients of cfg->spamd. Nothing faces the network yet.
 * Returns 0 or -errno with a message in err.
 */
int spamd_open(struct daemon *d, char *err, size_t errlen);
/*
 * From the event loop (the loader must be our child, not daemon(3)'s
 * parent's): start loading the black/white lists, open the listeners,
 * steer SMTP to them, and start the tarpit child once the lists are in.
 */
int spamd_start(struct daemon *d, char *err, size_t errlen);
void spamd_close(struct daemon *d);

/* Greylist records waiting for the store to take them (RCPTs and traps). */
size_t spamd_unsaved(struct daemon *d);
/* The error the greylist's last store write failed with; 0 when in step. */
int spamd_store_error(struct daemon *d);
/* Note how the greylist's last write went (-errno or 0), logging a change, at now. */
void spamd_store_result(struct daemon *d, int err, int64_t now);

/*
 * Reload trap files after the config changed (d->cfg is the new one), and
 * start loading the lists anew; the lists in force serve until the new
 * ones are in.
 */
int spamd_reload(struct daemon *d, char *err, size_t errlen);

/*
 * The treatment of a new tarpit connection from ip: *black when a
 * blacklist holds it or it is trapped; then msg receives the lists'
 * messages ('\n' between lines, %A unexpanded) and names their names
 * (space separated, for the log line).
 */
int spamd_classify(struct daemon *d, const struct addr_prefix *ip, bool *black, char *msg,
		   size_t msglen, char *names, size_t nameslen);

/*
 * One RCPT the tarpit accepted, from ip to our address local. Greylists
 * it, or traps the source (spamtrap, a domain outside alloweddomains,
 * the low-priority MX), records callback probes and spamtrap candidates.
 * Returns the trap verdict (enum trap_verdict) or -errno.
 */
int spamd_rcpt(struct daemon *d, int64_t now, const struct addr_prefix *ip,
	       const struct addr_prefix *local, const char *helo, const char *from,
	       const char *to);

/* spamd_tuple()'s flags. */
enum {
	/* The tuple came through the policy service: a trap's evidence says so. */
	SPAMD_TUPLE_POLICY = 1 << 0,
	/*
	 * Traps, callback probes and candidates only: no GREY tuple (the
	 * policy service greylists the null sender at DATA, not at RCPT, so
	 * that sender verification probes get through).
	 */
	SPAMD_TUPLE_TRAPS_ONLY = 1 << 1,
	/*
	 * The greylist only: no trap, probe or candidate (the policy
	 * service's DATA of the null sender, whose recipients met the traps
	 * at RCPT; for several of them the tuple's recipient is "<>").
	 */
	SPAMD_TUPLE_NO_TRAPS = 1 << 2,
};

struct spamd_tuple_result {
	int trap;	/* enum trap_verdict; TRAP_SPAMTRAP also for the low-priority MX */
	int grey;	/* enum grey_result; 0: no tuple recorded (trapped, black, traps only) */
	int64_t first;	/* the tuple's first sighting (GREY_NEW, _SEEN, _PASSED); now otherwise */
	bool black;	/* a blacklist or <spamd-greytrap> holds the source: no tuple */
};

/*
 * spamd_rcpt() with flags and what it decided in *res (local may be NULL:
 * the policy service does not know which of our addresses was reached).
 * Returns 0 or -errno (then *res says what was done before the failure).
 */
int spamd_tuple(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		const struct addr_prefix *local, const char *helo, const char *from,
		const char *to, unsigned int flags, struct spamd_tuple_result *res);

/*
 * Whether ip goes past greylisting: it is in <spamd-white> or <nospamd>
 * (the tables sk_lookup lets through to the MTA).
 */
bool spamd_passes(struct daemon *d, const struct addr_prefix *ip);

/*
 * Whether spamd_rcpt() may trap for this tuple and so write the tables
 * (which run their own transactions); false means it only writes the
 * greylist. Errs on the side of true.
 */
bool spamd_rcpt_may_trap(struct daemon *d, const struct addr_prefix *local, const char *from,
			 const char *to);

/*
 * Records a sync peer sent (sync/sync.c), applied as spamd applies them: a
 * GREY tuple as a local one, but neither sent on nor trapped for the
 * low-priority MX; a TRAPPED or WHITE source with the peer's expiry and
 * the evidence "sync: <detail>". The caller drops expired records.
 * spamd_sync_grey() returns 0 when the tuple was recorded, 1 when it was
 * refused (a black or trapped source, or one at maxtuples), -errno.
 */
int spamd_sync_grey(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		    const char *helo, const char *from, const char *to, const char *peer);
int spamd_sync_trapped(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		       int64_t expire, const char *detail);
int spamd_sync_white(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		     int64_t expire, const char *detail);

/* Whitelist a destination our own MTA sent mail to (spamlogd's job). */
int spamd_outbound(struct daemon *d, int64_t now, const struct addr_prefix *dst);

/*
 * The greylister's scan: expire, whitelist passed tuples, and make
 * <spamd-white> and <spamd-greytrap> hold exactly the WHITE and TRAPPED
 * entries. Runs every scan-interval from spamd_periodic().
 */
int spamd_scan(struct daemon *d, int64_t now);

/* Once a second from the event loop. */
void spamd_periodic(struct daemon *d, int64_t now);

/* For greywallctl's spamdb, traps and callbacks verbs. */
struct grey *spamd_grey(struct daemon *d);
const struct grey_params *spamd_params(struct daemon *d);

struct expo;
/* The greylist's metrics (metrics/render.h): its sets at the last scan, what the scans did. */
void spamd_metrics(struct daemon *d, struct expo *e);

#endif /* __GREYWALL_SPAMD_H */
