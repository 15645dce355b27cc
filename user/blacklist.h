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

#include "addr.h"

/* Default for blacklist_options.timeout_ms. */
#define BLACKLIST_TIMEOUT_MS 120000

enum list_source_type {
	LIST_SOURCE_FILE, /* a path, read through zlib: gzip or plain */
	LIST_SOURCE_EXEC, /* a command run by /bin/sh -c; its stdout, gzip or plain */
	LIST_SOURCE_URL,  /* fetched by blacklist_options.fetcher */
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

struct blacklist_options {
	/*
	 * A command with "%s" where the URL goes (shell-quoted), e.g.
	 * "curl -sf -- %s". NULL: url sources fail.
	 */
	const char *fetcher;
	/* For each exec or url source; 0: BLACKLIST_TIMEOUT_MS. */
	int timeout_ms;
};

struct list_stats {
	size_t entries;	  /* lines holding an address, a network or a range */
	size_t bad_lines; /* lines skipped as unreadable */
	size_t cidrs;	  /* blacklists: the final CIDR set's size; 0 for whitelists */
	/*
	 * Empty when every source loaded. Otherwise the first failure, e.g.
	 * `exec "fetch-list": exit status 3`; a list with a failed source
	 * contributes nothing (a blacklist is empty, a whitelist makes no
	 * holes), so a half-read list never stands in for the whole one.
	 */
	char error[256];
};

struct blacklist_set;

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

#endif /* __GREYWALL_BLACKLIST_H */
