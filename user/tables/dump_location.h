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

#include "lib/addrmap.h"
#include "lib/location.h"
#include "tables/dump.h"

/* The three files' suffixes, in the order dump_write_location() writes them. */
extern const char *const dump_location_suffixes[3];

/* Country codes are two of [0-9A-Z], or "--": 37 * 37 counters. */
#define DUMP_CODE_SYMBOLS 37
#define DUMP_COUNTRY_SLOTS (DUMP_CODE_SYMBOLS * DUMP_CODE_SYMBOLS)
/* The networks dump_places tells apart at most; beyond, by country only. */
#define DUMP_PLACES_NETWORKS 100000

/*
 * The places of every table's entries together (the report's top
 * countries and networks): dump_write_location() adds each entry it
 * places when given one.
 */
struct dump_places {
	struct addrmap networks;	/* network -> its count, AS and country */
	uint64_t countries[DUMP_COUNTRY_SLOTS];
};

/* One row of dump_places_top(). */
struct dump_place_row {
	char country[3];		/* "--": not placed */
	char network[ADDR_STRLEN];	/* "" in a country row */
	char as[LOCATION_AS_NAME_MAX + 16]; /* "AS64500 Example Net A", "AS64500", "--" */
	uint64_t count;
};

int dump_places_init(struct dump_places *p);
void dump_places_free(struct dump_places *p);
/*
 * The first max countries and the first max networks by count (then by
 * code, by network), with the networks' AS names from loc. Countries
 * include "--" (not placed); networks only those placed. Returns 0 or
 * -errno, the rows' counts in *ncountries and *nnetworks.
 */
int dump_places_top(const struct dump_places *p, struct location *loc,
		    struct dump_place_row *countries, size_t *ncountries,
		    struct dump_place_row *networks, size_t *nnetworks, size_t max);

/*
 * Write <dir>/<table>_cc.txt, _by_country.txt and _by_network.txt for
 * entries, each with dump_write_header()'s header, and add their places to
 * all (may be NULL). Memory beyond the entries: one slot per distinct
 * network and one name per distinct AS.
 * Returns 0 or -errno; on an error no file of the three is replaced.
 */
int dump_write_location(const char *dir, const char *table, const char *contact, int64_t now,
			const struct dump_entry *entries, size_t n, struct location *loc,
			struct dump_places *all);

/*
 * "DE AS64500 Example Net A, network 192.0.2.0/25" or "-- (not placed
 * by the location database)": one address's place, the AS name escaped.
 */
void dump_print_place(FILE *fp, struct location *loc, const struct addr_prefix *addr);

#endif /* __GREYWALL_DUMP_LOCATION_H */
