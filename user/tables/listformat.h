/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The list reader: the address lists an operator loads with `greywallctl
 * table T load -f` / `replace -f`, a peer publishes for the table exchange,
 * and (in its strict plain mode) a table's own `file`. greywallctl(8),
 * "LIST FORMATS", documents the rules for users; this is them for callers.
 *
 * Lines are recognised one by one; no two forms can be mistaken for each
 * other, so no guess from a file's first lines decides how its later lines
 * are read. Leading blanks and a trailing '\r' and blanks are ignored.
 *
 *   (blank), # ..., ; ...             comment (all formats' headers)
 *   ADDR[/LEN] [# ...|; ...]          plain lists, greywall's <table>.txt,
 *                                     Spamhaus DROP/EDROP, FireHOL netsets,
 *                                     abuse.ch, `pfctl -T show` (leading blanks)
 *   ADDR - ADDR [# ...|; ...]         spamd-setup range (also "A-B"): the
 *                                     fewest CIDR blocks covering it exactly
 *   ADDR TAB ADDR TAB LEN [TAB ...]   DShield block.txt: start, end, prefix
 *                                     length; start..end must be start/LEN
 *   Start TAB End TAB Netblock ...    DShield's column header: skipped
 *   ADDR TAB ADDED TAB SEEN TAB P/B x4 TAB EVIDENCE
 *                                     greywall's <table>_full.txt row; ADDED
 *                                     is the entry's `added` time
 *   TAB Cleared: ..., TAB In/Block: ...  `pfctl -vT show` detail lines: skipped
 *
 * Anything else is a bad line: two addresses with only blanks between
 * them (a range or two entries?), a reversed range, a negated `!ADDR`,
 * a DShield row whose ends are not the block its length says, a line
 * longer than LISTFORMAT_LINE_MAX that is not a comment. A bad line
 * delivers nothing, not even part of itself.
 *
 * In LISTFORMAT_ANY mode, a file whose first line is greywall's
 * "# greywall table NAME" header must hold exactly as many entry lines as
 * its "# N entries" line says: a dump cut short in transfer is refused,
 * not taken for a smaller table.
 */
#ifndef __GREYWALL_LISTFORMAT_H
#define __GREYWALL_LISTFORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"

/* The longest line read; a longer comment is skipped, anything else is bad. */
#define LISTFORMAT_LINE_MAX 8192
/* How many bad lines' numbers the stats keep. */
#define LISTFORMAT_BAD_KEPT 5

enum listformat_mode {
	/* Every form above; bad lines are counted and reading goes on. */
	LISTFORMAT_ANY,
	/*
	 * A table's own file (greywall.conf(5)): one address or network per
	 * line and `#` comments only; the first bad line ends the read.
	 */
	LISTFORMAT_PLAIN,
};

/* Which forms a file held (listformat_stats.forms). */
enum {
	LISTFORMAT_FORM_PLAIN = 1 << 0,
	LISTFORMAT_FORM_RANGE = 1 << 1,
	LISTFORMAT_FORM_DSHIELD = 1 << 2,
	LISTFORMAT_FORM_FULL_DUMP = 1 << 3,
	LISTFORMAT_FORM_PFCTL_VERBOSE = 1 << 4,
	LISTFORMAT_FORM_GREYWALL_HEADER = 1 << 5,
};

struct listformat_entry {
	struct addr_prefix prefix;
	/* The publisher's time for it (a _full.txt row's `added`); 0: none. */
	int64_t added;
	int line;
};

/*
 * Called once per entry, in file order; a range line calls it once per
 * block. A non-zero return stops reading and is returned. Entries come as
 * they are read, before later lines are known to be good: a caller that
 * must not half-apply a file collects them and looks at the stats first.
 */
typedef int (*listformat_cb)(void *ctx, const struct listformat_entry *e);

struct listformat_options {
	enum listformat_mode mode;
	/* Bytes read at most (-EFBIG past it); 0: no limit. */
	off_t max_size;
	/* Entries delivered at most (-E2BIG past it; a range counts its blocks); 0: no limit. */
	size_t max_entries;
};

struct listformat_stats {
	size_t lines;
	size_t entry_lines; /* lines that gave entries */
	size_t entries;	    /* entries delivered */
	size_t bad_lines;
	int bad_line[LISTFORMAT_BAD_KEPT]; /* the first bad lines' numbers */
	/* The first bad line as "7: reversed range \"...\"" (its text escaped). */
	char first_bad[400];
	unsigned int forms; /* LISTFORMAT_FORM_* */
	long declared;	    /* a greywall dump header's entry count; -1: none */
};

/*
 * Read an open file from its current offset, naming it `name` in messages.
 * st may be NULL. Returns
 *   0              read to the end; in LISTFORMAT_ANY mode there may be bad
 *                  lines: st->bad_lines, and err says
 *                  "name:4: reversed range \"...\"; 3 bad lines (4, 9, 12)"
 *   -EINVAL        LISTFORMAT_PLAIN: a bad line, err "name:7: invalid address \"x\""
 *   -E2BIG         more than max_entries entries
 *   -EBADMSG       a greywall dump's header count does not match its lines
 *   -EFBIG         more than max_size bytes (the file grew while read)
 *   a callback's non-zero value, or -errno for I/O
 * err (may be NULL) names the file and what went wrong for all but I/O.
 */
int listformat_read_fd(int fd, const char *name, const struct listformat_options *opts,
		       listformat_cb cb, void *ctx, struct listformat_stats *st, char *err,
		       size_t errlen);

/* The same for a path, opened read-only; -errno when it cannot be opened. */
int listformat_read(const char *path, const struct listformat_options *opts, listformat_cb cb,
		    void *ctx, struct listformat_stats *st, char *err, size_t errlen);

#endif /* __GREYWALL_LISTFORMAT_H */
