/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Following the systemd journal (sd-journal): the MESSAGE of each new
 * entry, optionally only those of some units, from a stored cursor on.
 * The journal's own descriptor goes into the caller's event loop.
 */
#ifndef __GREYWALL_WATCH_JOURNAL_H
#define __GREYWALL_WATCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "watch/follow.h"

/* Longest cursor kept (sd-journal's are about 150 bytes). */
#define JOURNAL_CURSOR_MAX 512

struct journal;

/*
 * Open the journal: the system's (directory NULL) or the journal files of
 * one directory (a test's, or a journal that systemd-journal-remote
 * writes). units (n of them, may be 0) restrict it to entries whose
 * _SYSTEMD_UNIT is one of them. cursor (or NULL: start after the last
 * entry there now) is where a previous run stopped; "" starts at the first
 * entry (a journal directory that appeared after the start, read whole as
 * a file that appears is). Returns 0 or -errno.
 */
int journal_new(struct journal **out, const char *directory, char *const *units, size_t n,
		const char *cursor);
void journal_free(struct journal *j);

/* The descriptor to wait on (EPOLLIN), or -errno. */
int journal_fd(struct journal *j);

/*
 * After the descriptor woke the loop, or to continue: hand over the
 * MESSAGE of new entries (cut to WATCH_LINE_MAX), at most max_entries this
 * call. Returns the number handed over or -errno.
 */
long journal_read(struct journal *j, size_t max_entries, follow_line_fn fn, void *ctx);

/* Entries are waiting that journal_read() has not handed over. */
bool journal_ready(const struct journal *j);

/* The cursor of the last entry handed over ("" before the first), to save. */
const char *journal_cursor(const struct journal *j);
const struct follow_stats *journal_stats(const struct journal *j);

#endif /* __GREYWALL_WATCH_JOURNAL_H */
