/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Following a log file as tail -F does, without polling: inotify on the
 * file's directory tells when the file grows, is created, moved away or
 * truncated. Every line is handed over exactly once:
 *
 * - moved away and a new file created (logrotate's default): the old file
 *   is read to its end through the descriptor still open, then the new one
 *   from its start;
 * - truncated in place (copytruncate): read from the start again;
 * - not there yet: picked up when it appears.
 *
 * A position (device, inode, offset and a fingerprint of the file's first
 * bytes) is what the caller saves and gives back at the next start: the
 * file continues where it stopped; when it was rotated meanwhile, the
 * rotated file (found by its inode in the same directory, e.g. "log.1") is
 * read to its end first, as far as it is still there.
 *
 * One inotify descriptor serves every follower of a set (the caller
 * registers it with its event loop) and follow_event() routes its events.
 */
#ifndef __GREYWALL_WATCH_FOLLOW_H
#define __GREYWALL_WATCH_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "watch/pattern.h"

/* Bytes of the file's start that identify it across an inode's reuse. */
#define FOLLOW_FINGERPRINT 64

struct follow_pos {
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;		/* bytes already handed over (whole lines) */
	uint32_t fp_len;		/* bytes in fingerprint (< FOLLOW_FINGERPRINT while the file is short) */
	uint8_t fingerprint[FOLLOW_FINGERPRINT];
};

struct follow_stats {
	uint64_t lines;			/* handed over */
	uint64_t bytes;
	uint64_t cut;			/* longer than WATCH_LINE_MAX: cut there */
	uint64_t rotations;		/* moved away or replaced */
	uint64_t truncations;		/* truncated in place */
	uint64_t errors;		/* read errors (the file is reopened) */
};

struct follow;

/* The set's inotify descriptor (non-blocking, close-on-exec). Returns fd or -errno. */
int follow_inotify_open(void);

/*
 * Follow path with the set's inotify descriptor. saved (or NULL: start at
 * the end of the file as it is now, so an old log is not read again) is
 * where a previous run stopped. Neither the file nor its directory need
 * exist: a directory not there is watched by the first follow_read() after
 * it appeared, which the caller tries now and then (follow_is_open()).
 * Returns 0 or -errno (the directory is there but cannot be watched;
 * -ELOOP: path is a symbolic link, which is not followed, name its target;
 * the file is there but cannot be opened).
 */
int follow_new(struct follow **out, int inotify_fd, const char *path,
	       const struct follow_pos *saved);
/* Stops watching (the inotify watch is removed when no other follower shares it). */
void follow_free(struct follow *f);

/*
 * Read inotify_fd's pending events and mark the followers they concern as
 * ready. followers is every follower of the set. Returns 0 or -errno.
 */
int follow_event(int inotify_fd, struct follow **followers, size_t n);

/* A follower has lines to hand over (follow_read() has not caught up). */
bool follow_ready(const struct follow *f);

typedef void (*follow_line_fn)(const char *line, size_t len, void *ctx);

/*
 * Hand over complete lines (without the newline, cut to WATCH_LINE_MAX),
 * at most budget bytes of the file this call, then return: a file that
 * grows faster than it is read never holds the caller's loop. A partial
 * last line waits for its newline. Returns the number of lines handed
 * over, or -errno (the follower stays usable: it reopens the file).
 */
long follow_read(struct follow *f, size_t budget, follow_line_fn fn, void *ctx);

/* Where the follower stands, to save. */
void follow_position(const struct follow *f, struct follow_pos *pos);
const char *follow_path(const struct follow *f);
/* Whether the file is open now (false: waiting for it to appear). */
bool follow_is_open(const struct follow *f);
const struct follow_stats *follow_stats(const struct follow *f);

#endif /* __GREYWALL_WATCH_FOLLOW_H */
