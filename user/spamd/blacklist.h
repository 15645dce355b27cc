/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * spamd-setup's job: named blacklists and whitelists, loaded from files
 * (gzip or plain), commands and URLs, merged into one minimal CIDR set per
 * blacklist, and asked "which lists hold this address?" at every connection.
 *
 * Lists are taken in config order. A whitelist subtracts its addresses from
 * every blacklist before it and from none after it. (spamd-setup applies a
 * whitelist to the nearest blacklist before it only; greywall's lists are
 * inline blocks that cannot be named twice, so a whitelist written once
 * covers every blacklist above it.)
 *
 * Lines of a list, as spamd-setup reads them: "192.0.2.1", "192.0.2.0/24",
 * "192.0.2.1 - 192.0.2.6" (dashes and blanks between the two ends), the same
 * for IPv6; leading blanks and anything after the address are ignored, and
 * so are `#` comments and blank lines. A line that is none of these is
 * counted as bad and skipped.
 */
#ifndef __GREYWALL_BLACKLIST_H
#define __GREYWALL_BLACKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/addr.h"
#include "lib/fetch.h"

/* Default for blacklist_options.timeout_ms. */
#define BLACKLIST_TIMEOUT_MS 120000
/* Default for blacklist_options.max_bytes: decompressed bytes of one source. */
#define BLACKLIST_MAX_BYTES (64ull << 20)
/* Default for blacklist_options.max_entries: entries of one list. */
#define BLACKLIST_MAX_ENTRIES 1000000
/* A list's final CIDR set may hold this many networks per max_entries. */
#define BLACKLIST_NETWORKS_PER_ENTRY 4
/* The whole environment of exec and url sources (lib/fetch.h). */
#define BLACKLIST_PATH FETCH_PATH

enum list_source_type {
	LIST_SOURCE_FILE, /* a path, read through zlib: gzip or plain */
	LIST_SOURCE_EXEC, /* a command run by /bin/sh -c; its stdout, gzip or plain */
	LIST_SOURCE_URL,  /* fetched by blacklist_options.fetcher, no shell involved */
};

struct list_source {
	enum list_source_type type;
	const char *value; /* the path, command or URL */
};

/* One `blacklist NAME { ... }` or `whitelist NAME { ... }` block. */
struct list_def {
	const char *name;
	bool white;
	const char *msg; /* blacklists: the reply text; %A stays for the tarpit */
	const struct list_source *sources;
	size_t nsources;
};

struct blacklist_set;

struct blacklist_options {
	/*
	 * A command split at blanks into its arguments (no shell, no quoting)
	 * whose last two are "--" and "%s", e.g. "curl -sf -- %s": the URL
	 * replaces the %s as one argument of its own, after the "--" that
	 * keeps it from being read as an option. NULL: url sources fail.
	 */
	const char *fetcher;
	/* For each exec or url source; 0: BLACKLIST_TIMEOUT_MS. */
	int timeout_ms;
	/* Per source, after gunzip; 0: BLACKLIST_MAX_BYTES. */
	unsigned long long max_bytes;
	/*
	 * Per list: the most entries read; its final CIDR set may hold
	 * BLACKLIST_NETWORKS_PER_ENTRY times as many networks (one line of a
	 * range can need 254 of them); 0: BLACKLIST_MAX_ENTRIES.
	 */
	size_t max_entries;
	/*
	 * The set in force, or NULL: a list that fails or goes past a bound
	 * keeps its version from here (same name, same kind) instead of
	 * going empty. A blacklist kept this way loses what the whitelists
	 * after it hold now.
	 */
	const struct blacklist_set *previous;
};

struct list_stats {
	size_t entries;	  /* lines holding an address, a network or a range */
	size_t bad_lines; /* lines skipped as unreadable */
	size_t cidrs;	  /* blacklists: the final CIDR set's size; 0 for whitelists */
	/*
	 * Empty when every source loaded. Otherwise the first failure, e.g.
	 * `exec "fetch-list": exit status 3` or `file "big.gz": more than
	 * 67108864 bytes (list-max-bytes)`; a list with a failed source keeps
	 * its previous version (kept_previous) or, without one, contributes
	 * nothing (a blacklist is empty, a whitelist makes no holes), so a
	 * half-read list never stands in for the whole one.
	 */
	char error[256];
	bool kept_previous;
};

/*
 * Load every list of defs (n of them, in config order) and merge them.
 * Returns 0 with *out set, also when some lists failed (see list_stats.error);
 * -EINVAL when a definition is unusable (no name, no source, a blacklist
 * without msg) with err saying which; -ENOMEM. Definitions are copied: defs
 * may be freed afterwards. Commands run as children of the caller, who must
 * not reap them meanwhile (no waitpid(-1) in another thread).
 */
int blacklist_set_build(const struct list_def *defs, size_t n, const struct blacklist_options *opts,
			struct blacklist_set **out, char *err, size_t errlen);
void blacklist_set_free(struct blacklist_set *set);

/* Lists are indexed 0..count-1 in config order, whitelists included. */
size_t blacklist_set_count(const struct blacklist_set *set);
const char *blacklist_set_name(const struct blacklist_set *set, size_t i);
bool blacklist_set_is_white(const struct blacklist_set *set, size_t i);
const char *blacklist_set_msg(const struct blacklist_set *set, size_t i); /* NULL if white */
const struct list_stats *blacklist_set_stats(const struct blacklist_set *set, size_t i);

/*
 * The minimal CIDR set of list i after its whitelists: IPv4 first, then
 * IPv6, each in address order. *n is 0 for a whitelist.
 */
const struct addr_prefix *blacklist_set_cidrs(const struct blacklist_set *set, size_t i, size_t *n);

/*
 * Whether fetcher is usable as blacklist_options.fetcher: it ends with
 * the arguments "--" and "%s" and has no other '%'.
 */
bool blacklist_fetcher_valid(const char *fetcher);

/*
 * Which blacklists hold the host addr: their indices, in config order, go
 * into idx (at most max of them). Returns how many lists hold it, which may
 * exceed max. A binary search per blacklist.
 */
size_t blacklist_set_match(const struct blacklist_set *set, const struct addr_prefix *addr,
			   size_t *idx, size_t max);

/*
 * Whether some blacklist holds an address inside prefix (a host or a
 * network; it need not be masked beyond its plen): what must not be
 * whitelisted as a whole. A binary search per blacklist.
 */
bool blacklist_set_overlaps(const struct blacklist_set *set, const struct addr_prefix *prefix);
/*
 * The messages of lists idx[0..n), one per list in that order, joined by
 * '\n' into buf. Returns the length written or -ENOSPC when buf is short.
 */
int blacklist_set_messages(const struct blacklist_set *set, const size_t *idx, size_t n, char *buf,
			   size_t len);

/*
 * Loading in another process. The loader writes a built set to a pipe
 * with blacklist_set_send(); the parent feeds what it reads, in pieces of
 * any size, to a receiver made from the same definitions, which rebuilds
 * the set. The receiver trusts nothing it is sent: names and messages
 * come from defs, every count is checked against opts->max_entries
 * before anything is allocated, and ranges must be in order, disjoint and
 * not touching, so a hostile loader can make it refuse the load but not
 * grow it or crash it.
 */
int blacklist_set_send(const struct blacklist_set *set, int fd);

struct blacklist_receiver;

/* -EINVAL (err says why) for unusable definitions, as blacklist_set_build(); -ENOMEM. */
int blacklist_receiver_new(const struct list_def *defs, size_t n,
			   const struct blacklist_options *opts, struct blacklist_receiver **out,
			   char *err, size_t errlen);
/* 0, -EPROTO (err says why) for anything malformed, -ENOMEM. */
int blacklist_receiver_feed(struct blacklist_receiver *r, const void *data, size_t len, char *err,
			    size_t errlen);
/* The set once everything came: 0 with *out set, -EPROTO while some is missing. */
int blacklist_receiver_finish(struct blacklist_receiver *r, struct blacklist_set **out);
void blacklist_receiver_free(struct blacklist_receiver *r);

/*
 * Fork a loader: it keeps only fd 0-2 and the pipe, becomes user
 * (privsep_drop()) with an environment of PATH=BLACKLIST_PATH alone,
 * builds defs with opts and sends the set down the pipe. *fd is the
 * pipe's reading end (close-on-exec, nonblocking), *pid the loader's; the
 * caller reaps it. SIGTERM ends the loader and the command it runs.
 * defs and opts are read in the loader's copy of memory only.
 */
int blacklist_loader_start(const struct list_def *defs, size_t n,
			   const struct blacklist_options *opts, const char *user, pid_t *pid,
			   int *fd);

/* SIGKILL the command a build runs now, if any; async-signal-safe (for the loader's SIGTERM). */
void blacklist_kill_running(void);

#endif /* __GREYWALL_BLACKLIST_H */
