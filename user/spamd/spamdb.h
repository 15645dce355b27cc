/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * spamdb(8) compatibility (greywallctl(8), spamdb): the store's greylist in spamdb's
 * line formats, and spamdb's -a/-d [-G|-t|-T] keys semantics, so that
 * scripts written for spamdb keep working against `greywallctl spamdb`.
 *
 *   GREY|ip|helo|from|to|first|pass|expire|bcount|pcount
 *   WHITE|ip|||first|pass|expire|bcount|pcount
 *   TRAPPED|ip|expire
 *   SPAMTRAP|address
 *
 * helo, from, to and address are escaped (escape.h) with '|' as "\174",
 * so every line has its fixed number of fields (10, 9, 3, 2) and holds no
 * control byte; escape_unvis() gives the stored bytes back.
 */
#ifndef __GREYWALL_SPAMDB_H
#define __GREYWALL_SPAMDB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/escape.h"
#include "spamd/grey.h"

/* Room for one escaped field: the store keeps at most GREY_FIELD_MAX bytes. */
#define SPAMDB_FIELD_SIZE ESCAPE_SIZE(GREY_FIELD_MAX)
/* Room for the longest line: three tuple fields, an address, five numbers. */
#define SPAMDB_LINE_MAX (3 * SPAMDB_FIELD_SIZE + 256)

/*
 * Format one entry as its spamdb line, with the newline. Returns what
 * snprintf returns: the full length, so a result >= len means truncation.
 */
int spamdb_format(const struct grey_entry *e, char *buf, size_t len);
/* Write the line to fp; 0 or -EIO. */
int spamdb_print(FILE *fp, const struct grey_entry *e);
struct trap_set;

/*
 * Every entry: GREY, then WHITE, TRAPPED, SPAMTRAP; then, as SPAMTRAP
 * lines too, the spamtraps of file_traps (the config's spamtraps files;
 * NULL: none) that the store does not hold: spamd keeps all of them in its
 * database, so spamdb's listing names them all.
 */
int spamdb_list(struct grey *g, const struct trap_set *file_traps, FILE *fp);

enum spamdb_action {
	SPAMDB_LIST,
	SPAMDB_ADD,    /* -a */
	SPAMDB_DELETE, /* -d */
};

enum spamdb_type {
	SPAMDB_WHITE,	 /* the default */
	SPAMDB_GREY,	 /* -G */
	SPAMDB_TRAPPED,	 /* -t */
	SPAMDB_SPAMTRAP, /* -T */
};

struct spamdb_command {
	enum spamdb_action action;
	enum spamdb_type type;
	char *const *keys;
	int nkeys;
};

/*
 * Parse spamdb's arguments "[-adGTt] [keys ...]" (argv[0] is the first
 * argument, not the program name). As with spamdb's getopt, flags may be
 * combined and repeated, the last of -a/-d and of -G/-t/-T wins, and "--"
 * ends them. -EINVAL for an unknown flag, or -G/-t/-T without -a or -d:
 * the caller prints its usage line "[-adGTt] [keys ...]".
 */
int spamdb_parse(int argc, char *const argv[], struct spamdb_command *cmd);

/*
 * Run a command as spamdb does and return spamdb's exit status. Listing
 * writes to out; with keys only their WHITE/TRAPPED (an address) or
 * SPAMTRAP entries, and the status counts the keys not found. -a adds or
 * updates (WHITE: first = pass = now, expire now + whiteexp; on an
 * existing entry pcount++ and pass = now; -t: TRAPPED until now + trapexp;
 * -T: a SPAMTRAP address, lower-cased); -d deletes the entry a key names
 * whatever its kind (an address: its WHITE or TRAPPED entry, otherwise a
 * SPAMTRAP), and -d -G every GREY tuple of an address (spamdb deletes
 * the first one its hash walk finds; all is what an operator means).
 * Errors go to err as spamdb words them, one a line without a program
 * name: "invalid ip address KEY", "no entry for KEY", "not an email
 * address: KEY" (which stops the run with status 255, as spamdb's errx(-1)
 * does), "cannot add GREY entries" and "no addresses specified" (status 2).
 * Otherwise the status is the number of keys that failed. Keys may be
 * IPv4 or IPv6 addresses and, for WHITE and TRAPPED, CIDR prefixes (the
 * entries of per-source-prefix whitelisting). A SPAMTRAP key is read as
 * the listing prints it, escapes undone (escape_unvis()), so what spamdb
 * printed can be passed back; a key that does not decode is taken as it is.
 * file_traps (may be NULL) are the spamtraps files' addresses: listed and
 * shown as SPAMTRAP entries, and -d of one says "KEY: in a spamtraps
 * file, not deleted: remove it from the file and reload" (status 1).
 */
int spamdb_run(struct grey *g, const struct trap_set *file_traps, int64_t now,
	       const struct grey_params *p, const struct spamdb_command *cmd, FILE *out,
	       FILE *err);

#endif /* __GREYWALL_SPAMDB_H */
