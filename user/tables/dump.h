/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Publication (greywall.conf(5), DUMPS): <table>.txt and <table>_full.txt written
 * atomically into the dump directory.
 */
#ifndef __GREYWALL_DUMP_H
#define __GREYWALL_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/addr.h"
#include "store/store.h"

/* Every dump file's mode: a web server reads them. */
#define DUMP_FILE_MODE 0644

struct location;
struct dump_places;

struct dump_options {
	const char *contact;		/* NULL: no contact line */
	struct location *location;	/* NULL: no _cc, _by_country, _by_network files */
	bool gzip;			/* a .gz copy of every file (`set dump-gzip`) */
	struct dump_places *places;	/* with location: every table's places added here */
};

struct dump_entry {
	struct addr_prefix prefix;
	struct entry_meta meta;
	struct gw_counters counters;	/* since cleared (already minus baseline) */
	struct evidence evidence;
};

/*
 * Write <dir>/<table>.txt and <dir>/<table>_full.txt for entries (in the
 * order given), the location files and the gzip copies opts asks for.
 * Returns 0 or -errno.
 */
int dump_write_table(const char *dir, const char *table, const struct dump_options *opts,
		     int64_t now, const struct dump_entry *entries, size_t n);

/* The header every dump file starts with (dump.c). */
void dump_write_header(FILE *fp, const char *table, const char *contact, int64_t now, size_t n);

/*
 * Create dir and its missing parents, each with mode 0755 whatever the
 * umask; directories that exist are left as they are. Returns 0 or -errno.
 */
int dump_make_directory(const char *dir);

/* "2026-11-22T09:00:00Z" (UTC). */
void dump_format_time(int64_t t, char *buf, size_t len);

#endif /* __GREYWALL_DUMP_H */
