// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Following the systemd journal with libsystemd's sd-journal (see
 * journal.h): it finds the journal files, follows their rotation and
 * gives the descriptor that wakes the loop; this file keeps the cursor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "watch/journal.h"

struct journal {
	sd_journal *j;
	/* Positioned on an entry not handed over yet: the stored cursor's
	 * entry was gone and seeking landed on the next one. */
	bool on_unread;
	bool ready;
	char cursor[JOURNAL_CURSOR_MAX];
	struct follow_stats stats;
};

static const char message_field[] = "MESSAGE=";
#define MESSAGE_PREFIX (sizeof(message_field) - 1)

/*
 * Continue after cursor: seek to it, step onto it, and skip it if it is
 * the very entry (it was handed over before the restart). When it is no
 * longer there (the journal was vacuumed), the step landed on the first
 * entry after it, which has not been handed over.
 */
static int seek_after(struct journal *jn, const char *cursor)
{
	int r = sd_journal_seek_cursor(jn->j, cursor);

	if (r < 0)
		return r;
	r = sd_journal_next(jn->j);
	if (r <= 0)
		return r;
	r = sd_journal_test_cursor(jn->j, cursor);
	if (r < 0)
		return r;
	jn->on_unread = r == 0;
	return 0;
}

/*
 * No cursor: start after the last entry there now. The tail is the
 * position after it; stepping back onto it makes the next sd_journal_next()
 * give the first entry written after this moment (in an empty journal,
 * the step back finds nothing and the position stays the tail).
 */
static int seek_end(struct journal *jn)
{
	int r = sd_journal_seek_tail(jn->j);

	if (r < 0)
		return r;
	r = sd_journal_previous(jn->j);
	return r < 0 ? r : 0;
}

static int add_units(sd_journal *j, char *const *units, size_t n)
{
	char match[256];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(match, sizeof(match), "_SYSTEMD_UNIT=%s", units[i]) >=
		    sizeof(match))
			return -ENAMETOOLONG;
		if (i && (r = sd_journal_add_disjunction(j)) < 0)
			return r;
		if ((r = sd_journal_add_match(j, match, 0)) < 0)
			return r;
	}
	return 0;
}

int journal_new(struct journal **out, const char *directory, char *const *units, size_t n,
		const char *cursor)
{
	struct journal *jn = calloc(1, sizeof(*jn));
	int r;

	if (!jn)
		return -ENOMEM;
	if (cursor && strlen(cursor) >= sizeof(jn->cursor)) {
		free(jn);
		return -EINVAL;
	}
	r = directory ? sd_journal_open_directory(&jn->j, directory, 0)
		      : sd_journal_open(&jn->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		free(jn);
		return r;
	}
	/* sd-journal then decompresses and copies no more of a field than this:
	 * the prefix, WATCH_LINE_MAX bytes and one more to tell a cut one. */
	r = sd_journal_set_data_threshold(jn->j, MESSAGE_PREFIX + WATCH_LINE_MAX + 1);
	if (r >= 0)
		r = add_units(jn->j, units, n);
	if (r >= 0 && !cursor)
		r = seek_end(jn);
	else if (r >= 0 && *cursor)
		r = seek_after(jn, cursor);
	else if (r >= 0)
		r = sd_journal_seek_head(jn->j);
	/* Ask for the descriptor now: sd-journal watches the files from then on. */
	if (r >= 0)
		r = sd_journal_get_fd(jn->j);
	if (r < 0) {
		journal_free(jn);
		return r;
	}
	if (cursor)
		strcpy(jn->cursor, cursor);
	/* After a cursor, entries written while greywalld was down are waiting;
	 * from the head, every entry there is. */
	jn->ready = cursor != NULL;
	*out = jn;
	return 0;
}

void journal_free(struct journal *jn)
{
	if (!jn)
		return;
	sd_journal_close(jn->j);
	free(jn);
}

int journal_fd(struct journal *jn)
{
	return sd_journal_get_fd(jn->j);
}

static void remember_cursor(struct journal *jn)
{
	char *cursor;

	if (sd_journal_get_cursor(jn->j, &cursor) < 0)
		return;
	if (strlen(cursor) < sizeof(jn->cursor))
		strcpy(jn->cursor, cursor);
	free(cursor);
}

long journal_read(struct journal *jn, size_t max_entries, follow_line_fn fn, void *ctx)
{
	const void *data;
	size_t len, i;
	long lines = 0;
	int r;

	/* Acknowledge the wakeup; new or rotated files are picked up by it. */
	r = sd_journal_process(jn->j);
	if (r < 0)
		return r;
	for (i = 0; i < max_entries; i++) {
		if (jn->on_unread) {
			jn->on_unread = false;
		} else {
			r = sd_journal_next(jn->j);
			if (r < 0)
				return r;
			if (r == 0) {
				jn->ready = false;
				return lines;
			}
		}
		remember_cursor(jn);
		/* An entry without a MESSAGE has nothing to match, and is passed. */
		if (sd_journal_get_data(jn->j, "MESSAGE", &data, &len) < 0 ||
		    len < MESSAGE_PREFIX)
			continue;
		len -= MESSAGE_PREFIX;
		if (len > WATCH_LINE_MAX) {
			len = WATCH_LINE_MAX;
			jn->stats.cut++;
		}
		jn->stats.lines++;
		jn->stats.bytes += len;
		lines++;
		fn((const char *)data + MESSAGE_PREFIX, len, ctx);
	}
	jn->ready = true;
	return lines;
}

bool journal_ready(const struct journal *jn)
{
	return jn->ready;
}

const char *journal_cursor(const struct journal *jn)
{
	return jn->cursor;
}

const struct follow_stats *journal_stats(const struct journal *jn)
{
	return &jn->stats;
}
