/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The log watchers' state, shared by watch.c (the event loop's side) and
 * watch_show.c (what greywallctl prints). Nothing else includes it.
 */
#ifndef __GREYWALL_WATCH_INTERNAL_H
#define __GREYWALL_WATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "watch/watch.h"

struct follow;
struct journal;
struct trap_set;
struct watch_attempts;
struct watch_count;
struct watch_pattern;
struct watch_store;

/* A piece of a file read per round of the loop, and of a journal. */
#define READ_BUDGET	 (256 * 1024)
#define JOURNAL_BUDGET	 1024
/* `watch candidates`: a login name tried from this many sources. */
#define USER_CANDIDATE_SOURCES 2
#define CANDIDATES_MAX	 1000

/*
 * The connections (source and port) whose failure a watcher counted
 * lately, so that the other lines of one connection do not count again:
 * a direct-mapped cache, an entry per slot, the newest wins.
 */
#define CONN_SLOTS 4096

struct conn_seen {
	struct addr_prefix src;
	uint16_t port;
	int64_t when;
};

struct watcher {
	char name[CONFIG_WATCH_NAME_MAX];
	const struct config_watch *cfg;	/* in d->cfg: re-pointed at reload */
	struct watch_pattern *pat;
	struct follow **files;
	size_t nfiles;
	struct journal *journal;	/* NULL: not open (journal_err says why) */
	int journal_fd;
	int journal_err;		/* -errno of the last attempt to open it */
	struct watch_count *count;
	int64_t *times;			/* threshold of them: the failures that decided */
	struct conn_seen *conns;	/* CONN_SLOTS of them */
	struct watch_attempts *attempts; /* (address, login name) pairs: _attempts.csv */
	struct watch_stats st;
	bool moved;			/* reload: taken over by a new watcher */
	bool unsaved;			/* read since the positions were saved */
};

struct watch_set {
	int inotify_fd;
	int epoll_fd;			/* where the descriptors are registered; -1 */
	struct watcher *w;
	size_t n;
	struct follow **all;		/* every watcher's files, for follow_event() */
	size_t nall;
	struct trap_set *names;		/* login names that are traps, normalised */
	struct watch_store *store;	/* NULL without a store (tests) */
	bool commit;			/* tables changed since the last commit */
};

/* A login name is a trap (watch.c). */
struct daemon;
bool watch_is_trap(struct daemon *d, const char *user);

#endif /* __GREYWALL_WATCH_INTERNAL_H */
