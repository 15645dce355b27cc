/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The log watchers in greywalld: each `watch` block of the config follows
 * its files or the journal (follow.c, journal.c) from the event loop,
 * matches every line (pattern.c), and puts the source into a table through
 * the tables' one evidence-recording path: at once when the login name is
 * a trap, or at the threshold-th failure within the window (count.c).
 *
 * Trap names are the local parts of spamd's spamtraps, the lines of the
 * `trap-users` files and the names `greywallctl watch add-traps` promoted
 * (kept in the store), compared without regard to case; a login that is a
 * whole address is a trap when the address is a spamtrap.
 *
 * Where each file or journal stopped is kept in the store (watch_store.c),
 * so a restart or a reload neither counts a line twice nor loses one.
 */
#ifndef __GREYWALL_WATCH_H
#define __GREYWALL_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct daemon;
struct watch_set;

/* What one watcher did, for `watch show`. */
struct watch_stats {
	uint64_t lines;
	uint64_t matched;		/* failures with a source address */
	uint64_t same_connection;	/* of them, more lines of a connection counted */
	uint64_t traps;			/* of them, with a trap login name */
	uint64_t listed_trap;		/* sources added by on-trap */
	uint64_t listed_failures;	/* sources added by on-failures */
	uint64_t already;		/* decided to list, already there */
	uint64_t ignored;		/* in the ignore table */
	uint64_t refused;		/* the table refused (full) or failed */
	uint64_t match_errors;		/* the matcher failed (its limits) */
	uint64_t read_errors;
};

/*
 * Build the watchers of d->cfg, open their files and journals from the
 * positions in the store, and register their descriptors with
 * d->epoll_fd (when it is open). Returns 0 or -errno with err set; a file
 * that does not exist yet is not an error.
 */
int watch_start(struct daemon *d, char *err, size_t errlen);
/*
 * After a reload applied a new config (d->cfg): watchers that stay keep
 * their files, journals and counts; new ones start; gone ones stop. Every
 * position is saved first. Returns 0 or -errno with err set.
 */
int watch_reload(struct daemon *d, char *err, size_t errlen);
/* Save positions, unregister and free everything. */
void watch_close(struct daemon *d);

/* Whether fd is one of the watchers'; then watch_event() takes it. */
bool watch_owns_fd(const struct daemon *d, int fd);
void watch_event(struct daemon *d, int fd);
/* Read what is pending, a bounded piece per call; true while more waits. */
bool watch_work(struct daemon *d);
bool watch_pending(const struct daemon *d);
/* Once a second: save changed positions. */
void watch_periodic(struct daemon *d, int64_t now);
/* spamd's spamtraps changed: the trap names follow. */
void watch_traps_changed(struct daemon *d);

/* greywallctl: `watch show [-v]`, `watch candidates`, `watch add-traps`. */
void watch_show(struct daemon *d, bool verbose, FILE *out);
void watch_candidates(struct daemon *d, FILE *out);
/* Returns how many names were new traps, or -errno. */
int watch_add_traps(struct daemon *d, char *const names[], int n, FILE *out, FILE *err);

/*
 * Write <dir>/<watcher>_attempts.csv for every watcher (attempts.h has the
 * format), atomically, with its .gz copy when gzip; places from loc (may be
 * NULL). Returns 0 or the first -errno (the other watchers' files are
 * still written).
 */
struct location;
int watch_dump_attempts(struct daemon *d, const char *dir, bool gzip, struct location *loc);

struct expo;
/* The watchers' metrics (metrics/render.h): lines, matches, listings, per watcher. */
void watch_metrics(struct daemon *d, struct expo *e);

#endif /* __GREYWALL_WATCH_H */
