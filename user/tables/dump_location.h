/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The dumps with places (greywall.conf(5), DUMPS): <table>_cc.txt,
 * <table>_by_country.txt and <table>_by_network.txt from the location
 * database, and the places of single addresses for `why` and the CSVs.
 */
#ifndef __GREYWALL_DUMP_LOCATION_H
#define __GREYWALL_DUMP_LOCATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/location.h"
#include "tables/dump.h"

/* The three files' suffixes, in the order dump_write_location() writes them. */
extern const char *const dump_location_suffixes[3];

/*
 * Write <dir>/<table>_cc.txt, _by_country.txt and _by_network.txt for
 * entries, each with dump_write_header()'s header. Memory beyond the
 * entries: one slot per distinct network and one name per distinct AS.
 * Returns 0 or -errno; on an error no file of the three is replaced.
 */
int dump_write_location(const char *dir, const char *table, const char *contact, int64_t now,
			const struct dump_entry *entries, size_t n, struct location *loc);

/*
 * "DE AS64500 Example Net A, network 192.0.2.0/25" or "-- (not placed
 * by the location database)": one address's place, the AS name escaped.
 */
void dump_print_place(FILE *fp, struct location *loc, const struct addr_prefix *addr);

#endif /* __GREYWALL_DUMP_LOCATION_H */
