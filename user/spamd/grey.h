/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The greylist (greylisting, greytrapping, candidates and probes): GREY tuples, WHITE and TRAPPED
 * sources, SPAMTRAP addresses, spamtrap candidates and callback probes,
 * kept in the store's SQLite file. The privileged parent owns it; the
 * tarpit child only sends it tuples, which are treated as hostile.
 *
 * Every function takes the time (`now`, unix seconds) from its caller, so
 * that tests run on an injected clock. Functions return 0 (or a positive
 * result) on success and -errno on failure; none prints.
 *
 * Functions that write more than once do it in a transaction of their
 * own, or inside the caller's when one is open (store_begin()); then a
 * failure leaves the rollback to the caller. Grouping a burst of tuples
 * in one store_begin()/store_commit() makes grey_update() several times
 * faster: most of its cost is the commit.
 */
#ifndef __GREYWALL_GREY_H
#define __GREYWALL_GREY_H

#include <stdint.h>

#include "lib/addr.h"

struct grey;
struct store;
struct trap_set;

/*
 * Bytes of a HELO, MAIL FROM or RCPT TO kept: a longer one is stored (and
 * keyed) by its first GREY_FIELD_MAX bytes. Fields are kept as received,
 * control bytes included; whoever prints them escapes them (escape.h).
 */
#define GREY_FIELD_MAX 1024

/* Defaults are spamd(8)'s. */
#define GREY_PASSTIME (25 * 60)
#define GREY_GREYEXP  (4 * 3600)
#define GREY_WHITEEXP (864 * 3600)
#define GREY_TRAPEXP  (24 * 3600)
#define GREY_MAXTUPLES 200

struct grey_params {
	int64_t passtime; /* a retry must come later than first + passtime */
	int64_t greyexp;  /* a tuple lives this long unless it passes */
	int64_t whiteexp; /* a WHITE entry lives this long */
	int64_t trapexp;  /* a TRAPPED entry lives this long */
	/* WHITE entries cover the source's /N (per-source-prefix whitelisting
	 * for senders that retry from several addresses); 32 and 128 whitelist
	 * each address alone. */
	uint8_t white_plen4;
	uint8_t white_plen6;
	/* Live GREY tuples one source address may have; 0: no bound. */
	uint32_t maxtuples;
};

void grey_params_default(struct grey_params *p);

/*
 * Create the tables (if missing) in the store's file and prepare the
 * statements. The store must stay open until grey_close().
 */
int grey_open(struct store *st, struct grey **out);
void grey_close(struct grey *g);

enum grey_result {
	GREY_NEW = 1, /* first time this tuple is seen */
	GREY_SEEN,    /* seen again before passtime was over */
	GREY_PASSED,  /* seen again after first + passtime: the next scan whitelists */
	GREY_WHITE,   /* the source is already WHITE; its counters moved */
	GREY_FULL,    /* new, but the source has maxtuples live tuples: not stored */
};

/*
 * Record a tuple (ip, helo, from, to), keyed exactly as received. New:
 * first = now, pass = expire = now + greyexp, bcount = 1. Seen again:
 * bcount++, and pass = now if first + passtime < now (strictly: a retry
 * exactly passtime later is not enough); expire does not move. A source
 * already WHITE (by itself or by its white prefix) gets no tuple: its
 * pcount goes up and its expiry moves to now + whiteexp, as spamlogd does
 * for a whitelisted source's traffic. One indexed lookup and one write.
 * A new tuple from a source that already has p->maxtuples tuples not yet
 * expired is not stored (GREY_FULL): counting them reads at most that many
 * rows of the key's range, and writes nothing.
 * Returns an enum grey_result, -EINVAL when ip is not a host, or -errno
 * from the store; never an error for what a field holds (see
 * GREY_FIELD_MAX).
 */
int grey_update(struct grey *g, int64_t now, const struct grey_params *p,
		const struct addr_prefix *ip, const char *helo, const char *from, const char *to);
/*
 * grey_update() that also says when the tuple was first seen (*first, for
 * GREY_NEW, GREY_SEEN and GREY_PASSED; now otherwise): the policy service
 * tells how long a passed tuple waited.
 */
int grey_update_first(struct grey *g, int64_t now, const struct grey_params *p,
		      const struct addr_prefix *ip, const char *helo, const char *from,
		      const char *to, int64_t *first);

/*
 * Trap a host until expire, with the evidence: the trap address (to), helo
 * and from; the time is now. A source trapped again keeps its expiry (as
 * in spamd) and counts one more hit (bcount); a WHITE host becomes
 * TRAPPED. Its GREY tuples stay, as evidence, until they expire; while it
 * is TRAPPED they are not whitelisted.
 */
int grey_trap(struct grey *g, int64_t now, const struct addr_prefix *ip, int64_t expire,
	      const char *helo, const char *from, const char *to);

/* The data path's view after a scan: sorted, for <spamd-white> and <spamd-greytrap>. */
struct grey_sets {
	struct addr_prefix *white;
	size_t nwhite;
	struct addr_prefix *trapped;
	size_t ntrapped;
	size_t ngrey;	    /* GREY tuples left after the scan */
	size_t expired;	    /* entries the scan deleted */
	size_t whitelisted; /* tuples the scan whitelisted */
	size_t unwhitened;  /* WHITE entries deleted for holding a black source */
};

/*
 * What the scan must never whitelist: sources on a blacklist or in
 * <spamd-greytrap>, which the greylist itself does not know.
 */
struct grey_black {
	/* True when addr (a host, or the network a WHITE entry covers) holds such a source. */
	bool (*holds_black)(void *ctx, const struct addr_prefix *addr);
	void *ctx;
};

/*
 * The periodic scan, in one transaction: delete expired GREY, WHITE and
 * TRAPPED entries (and callback records and candidates not seen for
 * whiteexp); for every tuple whose pass has come (pass <= now and
 * first + passtime < pass), unless its host is TRAPPED or black, create or
 * refresh the WHITE entry of the source's prefix (expire = now +
 * whiteexp; the host alone when the prefix holds a black source) and
 * delete the GREY tuples inside it; a black host's tuples are deleted
 * instead. WHITE entries that hold a black source are deleted. Then fill
 * out with the white and trapped sets. black may be NULL (nothing is
 * black). Free the sets with grey_sets_free().
 */
int grey_scan(struct grey *g, int64_t now, const struct grey_params *p,
	      const struct grey_black *black, struct grey_sets *out);
void grey_sets_free(struct grey_sets *sets);

/*
 * spamdb -a: add a WHITE entry (first = pass = now, expire = now +
 * whiteexp, bcount 1) or, if the entry exists, count it (pcount++) and
 * set pass = now, expire = now + whiteexp; a TRAPPED entry so becomes
 * WHITE, as spamdb does.
 */
int grey_white_add(struct grey *g, int64_t now, const struct grey_params *p,
		   const struct addr_prefix *a);
/* spamdb -a -t: TRAPPED until now + trapexp, whether new or not. */
int grey_trapped_add(struct grey *g, int64_t now, const struct grey_params *p,
		     const struct addr_prefix *a);
/*
 * A WHITE record a sync peer sent (spamd's twupdate): a new entry starts at
 * now and ends at expire; an existing WHITE one counts one more pass
 * (pcount++) and keeps its expiry; a TRAPPED one is left as it is (spamd
 * would make it WHITE). a must be a host.
 */
int grey_white_sync(struct grey *g, int64_t now, const struct addr_prefix *a, int64_t expire);
/* -ENOENT when there is no such entry of that kind. */
int grey_white_delete(struct grey *g, const struct addr_prefix *a);
int grey_trapped_delete(struct grey *g, const struct addr_prefix *a);
/* Delete every GREY tuple of a host; -ENOENT when there was none. */
int grey_tuples_delete(struct grey *g, const struct addr_prefix *ip);

/*
 * SPAMTRAP addresses are kept normalised (trap_normalize()). Adding needs
 * an address with '@' (-EINVAL otherwise); adding one again is fine.
 */
int grey_spamtrap_add(struct grey *g, const char *address);
int grey_spamtrap_delete(struct grey *g, const char *address); /* -ENOENT */
/* Add every SPAMTRAP address to set (next to those from files). */
int grey_spamtraps_load(struct grey *g, struct trap_set *set);

enum grey_kind {
	GREY_KIND_GREY,
	GREY_KIND_WHITE,
	GREY_KIND_TRAPPED,
	GREY_KIND_SPAMTRAP,
};

/* One entry, as spamdb lists it. Strings live until the callback returns. */
struct grey_entry {
	enum grey_kind kind;
	struct addr_prefix addr; /* not for SPAMTRAP */
	/* GREY: the tuple. TRAPPED: the evidence (trap address, helo, from),
	 * empty for entries added by hand. */
	const char *helo;
	const char *from;
	const char *to;
	const char *address; /* SPAMTRAP only */
	int64_t first;
	int64_t pass;
	int64_t expire;
	int bcount;
	int pcount; /* TRAPPED: -1, SPAMTRAP: -2, as in spamd */
};

/* A non-zero return stops the walk and is returned. */
typedef int (*grey_entry_cb)(void *ctx, const struct grey_entry *e);

/* Every GREY, then WHITE, TRAPPED and SPAMTRAP entry, each in address order. */
int grey_foreach(struct grey *g, grey_entry_cb cb, void *ctx);
/* The WHITE or TRAPPED entry of exactly a (cb called once), or -ENOENT. */
int grey_get(struct grey *g, const struct addr_prefix *a, grey_entry_cb cb, void *ctx);
/* The SPAMTRAP entry of address (cb called once), or -ENOENT. */
int grey_spamtrap_get(struct grey *g, const char *address, grey_entry_cb cb, void *ctx);

/*
 * Spamtrap candidates (`greywallctl traps candidates`): trap_classify() decides, these keep
 * them. Noting a recipient again moves its last-seen time and counts the
 * source; candidates unseen for whiteexp go at the next scan.
 */
int grey_candidate_note(struct grey *g, int64_t now, const char *rcpt,
			const struct addr_prefix *ip);

struct grey_candidate {
	const char *address;
	int64_t first;
	int64_t last;
	int hits;
	int nsources;
};
typedef int (*grey_candidate_cb)(void *ctx, const struct grey_candidate *c);
int grey_candidate_foreach(struct grey *g, grey_candidate_cb cb, void *ctx);

struct grey_candidate_source {
	struct addr_prefix ip;
	int64_t first;
	int64_t last;
	int hits;
};
typedef int (*grey_source_cb)(void *ctx, const struct grey_candidate_source *s);
int grey_candidate_sources(struct grey *g, const char *address, grey_source_cb cb, void *ctx);
int grey_candidate_delete(struct grey *g, const char *address); /* -ENOENT */
/* Make a candidate a SPAMTRAP and forget it as a candidate, atomically. */
int grey_candidate_promote(struct grey *g, const char *address);

/* Callback probes seen, for `greywallctl callbacks`. */
int grey_callback_note(struct grey *g, int64_t now, const struct addr_prefix *ip, const char *helo,
		       const char *rcpt, const char *probe_host, int64_t probe_epoch);

struct grey_callback {
	int64_t when;
	struct addr_prefix ip;
	const char *helo;
	const char *rcpt;
	const char *probe_host;
	int64_t probe_epoch;
};
typedef int (*grey_callback_cb)(void *ctx, const struct grey_callback *c);
/* Oldest first. */
int grey_callback_foreach(struct grey *g, grey_callback_cb cb, void *ctx);

#endif /* __GREYWALL_GREY_H */
