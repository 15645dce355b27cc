// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Publication with places. Formats (tested byte for byte in
 * tests/unit/test_location.c), after the header of <table>.txt:
 *
 * <table>_cc.txt
 *   # columns: address country asn as_name
 *   <address> TAB <CC> TAB AS<number> TAB <AS name>      (one per entry, in order)
 *
 * <table>_by_country.txt
 *   # columns: country count share
 *   <CC> TAB <count> TAB <percent with two decimals>%    (count descending, then code)
 *
 * <table>_by_network.txt
 *   # columns: network asn country count as_name
 *   <network> TAB AS<number> TAB <CC> TAB <count> TAB <AS name>
 *                                                       (count descending, then network)
 *
 * Where the database places nothing, or has no country, AS or name, the
 * field is "--"; in _by_network.txt the entries placed nowhere share one
 * line "--  --  --  <count>  --", so the counts add up to the entries. An
 * entry that is a network is placed by its first address. The AS name is
 * escaped (escape.h), as the evidence is in <table>_full.txt.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addrmap.h"
#include "lib/array.h"
#include "lib/atomicfile.h"
#include "lib/escape.h"
#include "tables/dump_location.h"

const char *const dump_location_suffixes[3] = { "_cc.txt", "_by_country.txt",
						"_by_network.txt" };

#define CODE_SYMBOLS DUMP_CODE_SYMBOLS
#define COUNTRY_SLOTS DUMP_COUNTRY_SLOTS

struct network_count {
	uint64_t count;
	uint32_t asn;
	char country[3];
};

/* AS number -> name, open addressing: one name per distinct AS. */
struct as_name_slot {
	uint32_t asn;		/* 0: free */
	char *name;		/* NULL: the database has none */
};

struct as_names {
	struct as_name_slot *slots;
	size_t capacity, count;
};

struct place_tally {
	struct location *loc;
	struct addrmap networks;	/* network -> struct network_count */
	struct as_names names;
	uint64_t countries[COUNTRY_SLOTS];
	uint64_t unplaced;
};

static int code_symbol(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return 10 + (c - 'A');
	return CODE_SYMBOLS - 1;	/* '-' */
}

static char symbol_char(int s)
{
	if (s < 10)
		return (char)('0' + s);
	if (s < CODE_SYMBOLS - 1)
		return (char)('A' + s - 10);
	return '-';
}

static int country_slot(const char *cc)
{
	return code_symbol(cc[0]) * CODE_SYMBOLS + code_symbol(cc[1]);
}

static size_t as_hash(uint32_t asn, size_t capacity)
{
	return (size_t)((asn * 2654435761u) & (capacity - 1));
}

static int as_names_grow(struct as_names *t)
{
	size_t capacity = t->capacity ? t->capacity * 2 : 64;
	struct as_name_slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->capacity; i++) {
		size_t j;

		if (!t->slots[i].asn)
			continue;
		for (j = as_hash(t->slots[i].asn, capacity); slots[j].asn; j = (j + 1) & (capacity - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->capacity = capacity;
	return 0;
}

static void as_names_free(struct as_names *t)
{
	for (size_t i = 0; i < t->capacity; i++)
		free(t->slots[i].name);
	free(t->slots);
}

/* The AS's name, looked up in the database once per AS; NULL when none. */
static int as_name_of(struct place_tally *t, uint32_t asn, const char **out)
{
	char name[LOCATION_AS_NAME_MAX];
	size_t j;

	*out = NULL;
	if (!asn)
		return 0;
	if ((t->names.count + 1) * 2 > t->names.capacity && as_names_grow(&t->names))
		return -ENOMEM;
	for (j = as_hash(asn, t->names.capacity); t->names.slots[j].asn;
	     j = (j + 1) & (t->names.capacity - 1)) {
		if (t->names.slots[j].asn == asn) {
			*out = t->names.slots[j].name;
			return 0;
		}
	}
	t->names.slots[j].asn = asn;
	t->names.count++;
	if (!location_as_name(t->loc, asn, name, sizeof(name))) {
		t->names.slots[j].name = strdup(name);
		if (!t->names.slots[j].name)
			return -ENOMEM;
	}
	*out = t->names.slots[j].name;
	return 0;
}

static void put_asn(FILE *fp, uint32_t asn)
{
	if (asn)
		fprintf(fp, "AS%" PRIu32, asn);
	else
		fputs(LOCATION_NONE, fp);
}

static void put_name(FILE *fp, const char *name)
{
	if (name)
		escape_vis_file(fp, name, NULL);
	else
		fputs(LOCATION_NONE, fp);
}

/* Place one entry, count it, and write its _cc.txt line. */
/* One placed entry more in all's network (a new one only while there is room). */
static int places_add(struct dump_places *all, const struct location_place *place)
{
	struct network_count *nc = addrmap_get(&all->networks, &place->network);
	int created;

	all->countries[country_slot(place->country)]++;
	if (!nc && all->networks.count >= DUMP_PLACES_NETWORKS)
		return 0;
	if (!nc) {
		nc = addrmap_put(&all->networks, &place->network, &created);
		if (!nc)
			return -ENOMEM;
		nc->asn = place->asn;
		memcpy(nc->country, place->country, sizeof(nc->country));
	}
	nc->count++;
	return 0;
}

static int tally_entry(struct place_tally *t, FILE *cc, const struct addr_prefix *p,
		       struct dump_places *all)
{
	struct location_place place;
	struct network_count *nc;
	char text[ADDR_STRLEN];
	const char *name;
	int created, ret;

	addr_format(p, text, sizeof(text));
	if (location_lookup(t->loc, p, &place)) {
		t->unplaced++;
		t->countries[country_slot(LOCATION_NONE)]++;
		if (all)
			all->countries[country_slot(LOCATION_NONE)]++;
		fprintf(cc, "%s\t--\t--\t--\n", text);
		return 0;
	}
	nc = addrmap_put(&t->networks, &place.network, &created);
	if (!nc)
		return -ENOMEM;
	if (created) {
		nc->asn = place.asn;
		memcpy(nc->country, place.country, sizeof(nc->country));
	}
	nc->count++;
	t->countries[country_slot(place.country)]++;
	if (all) {
		ret = places_add(all, &place);
		if (ret)
			return ret;
	}
	ret = as_name_of(t, place.asn, &name);
	if (ret)
		return ret;
	fprintf(cc, "%s\t%s\t", text, place.country);
	put_asn(cc, place.asn);
	putc('\t', cc);
	put_name(cc, name);
	putc('\n', cc);
	return 0;
}

struct country_row {
	uint64_t count;
	int slot;
};

static int compare_countries(const void *a, const void *b)
{
	const struct country_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return (symbol_char(x->slot / CODE_SYMBOLS) * 256 + symbol_char(x->slot % CODE_SYMBOLS)) -
	       (symbol_char(y->slot / CODE_SYMBOLS) * 256 + symbol_char(y->slot % CODE_SYMBOLS));
}

/* "12.34%" of n, in integers: the same text on every machine and locale. */
static void put_share(FILE *fp, uint64_t count, size_t n)
{
	uint64_t hundredths = n ? (count * 10000 + n / 2) / n : 0;

	fprintf(fp, "%" PRIu64 ".%02" PRIu64 "%%", hundredths / 100, hundredths % 100);
}

static void write_by_country(FILE *fp, const struct place_tally *t, size_t n)
{
	struct country_row rows[COUNTRY_SLOTS];
	size_t nrows = 0;

	fputs("# columns: country count share\n", fp);
	for (int s = 0; s < COUNTRY_SLOTS; s++)
		if (t->countries[s])
			rows[nrows++] = (struct country_row){ t->countries[s], s };
	qsort(rows, nrows, sizeof(rows[0]), compare_countries);
	for (size_t i = 0; i < nrows; i++) {
		fprintf(fp, "%c%c\t%" PRIu64 "\t", symbol_char(rows[i].slot / CODE_SYMBOLS),
			symbol_char(rows[i].slot % CODE_SYMBOLS), rows[i].count);
		put_share(fp, rows[i].count, n);
		putc('\n', fp);
	}
}

struct network_row {
	const struct addr_prefix *network;
	const struct network_count *nc;
};

static int compare_networks(const void *a, const void *b)
{
	const struct network_row *x = a, *y = b;

	if (x->nc->count != y->nc->count)
		return x->nc->count > y->nc->count ? -1 : 1;
	return addr_compare(x->network, y->network);
}

static int write_by_network(FILE *fp, struct place_tally *t)
{
	struct network_row *rows = calloc(t->networks.count ? t->networks.count : 1,
					  sizeof(*rows));
	const struct addr_prefix *key;
	size_t nrows = 0;
	void *value;
	int ret = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t pos = 0; addrmap_next(&t->networks, &pos, &key, &value);)
		rows[nrows++] = (struct network_row){ key, value };
	qsort(rows, nrows, sizeof(rows[0]), compare_networks);
	fputs("# columns: network asn country count as_name\n", fp);
	for (size_t i = 0; i < nrows && !ret; i++) {
		char text[ADDR_STRLEN];
		const char *name;

		/* Only the table's ASes are in it: no database lookup here. */
		ret = as_name_of(t, rows[i].nc->asn, &name);
		addr_format(rows[i].network, text, sizeof(text));
		fprintf(fp, "%s\t", text);
		put_asn(fp, rows[i].nc->asn);
		fprintf(fp, "\t%s\t%" PRIu64 "\t", rows[i].nc->country, rows[i].nc->count);
		put_name(fp, name);
		putc('\n', fp);
	}
	if (t->unplaced)
		fprintf(fp, "--\t--\t--\t%" PRIu64 "\t--\n", t->unplaced);
	free(rows);
	return ret;
}

int dump_write_location(const char *dir, const char *table, const char *contact, int64_t now,
			const struct dump_entry *entries, size_t n, struct location *loc,
			struct dump_places *all)
{
	struct atomic_file af[3];
	struct place_tally *t;
	int opened = 0, ret = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->loc = loc;
	ret = addrmap_init(&t->networks, sizeof(struct network_count));
	for (; !ret && opened < 3; opened++) {
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, table,
				     dump_location_suffixes[opened]) >= sizeof(path)) {
			ret = -ENAMETOOLONG;
			break;
		}
		ret = atomic_file_open(&af[opened], path, DUMP_FILE_MODE);
		if (ret)
			break;
		dump_write_header(af[opened].fp, table, contact, now, n);
	}
	if (!ret) {
		fputs("# columns: address country asn as_name\n", af[0].fp);
		for (size_t i = 0; i < n && !ret; i++)
			ret = tally_entry(t, af[0].fp, &entries[i].prefix, all);
	}
	if (!ret) {
		write_by_country(af[1].fp, t, n);
		ret = write_by_network(af[2].fp, t);
	}
	for (int i = 0; i < opened && !ret; i++)
		if (ferror(af[i].fp))
			ret = -EIO;
	/* All three written before any replaces its old copy. */
	for (int i = 0; i < opened; i++) {
		if (ret)
			atomic_file_abort(&af[i]);
		else
			ret = atomic_file_commit(&af[i]);
	}
	addrmap_free(&t->networks);
	as_names_free(&t->names);
	free(t);
	return ret;
}

int dump_places_init(struct dump_places *p)
{
	memset(p, 0, sizeof(*p));
	return addrmap_init(&p->networks, sizeof(struct network_count));
}

void dump_places_free(struct dump_places *p)
{
	addrmap_free(&p->networks);
}

int dump_places_top(const struct dump_places *p, struct location *loc,
		    struct dump_place_row *countries, size_t *ncountries,
		    struct dump_place_row *networks, size_t *nnetworks, size_t max)
{
	struct country_row crows[COUNTRY_SLOTS];
	struct network_row *nrows;
	struct place_tally names = { .loc = loc };
	const struct addr_prefix *key;
	size_t nc = 0, nn = 0;
	void *value;
	int ret = 0;

	*ncountries = *nnetworks = 0;
	for (int s = 0; s < COUNTRY_SLOTS; s++)
		if (p->countries[s])
			crows[nc++] = (struct country_row){ p->countries[s], s };
	qsort(crows, nc, sizeof(crows[0]), compare_countries);
	for (size_t i = 0; i < nc && i < max; i++) {
		struct dump_place_row *r = &countries[(*ncountries)++];

		memset(r, 0, sizeof(*r));
		r->country[0] = symbol_char(crows[i].slot / CODE_SYMBOLS);
		r->country[1] = symbol_char(crows[i].slot % CODE_SYMBOLS);
		r->count = crows[i].count;
	}
	nrows = calloc(p->networks.count ? p->networks.count : 1, sizeof(*nrows));
	if (!nrows)
		return -ENOMEM;
	for (size_t pos = 0; addrmap_next(&p->networks, &pos, &key, &value);)
		nrows[nn++] = (struct network_row){ key, value };
	qsort(nrows, nn, sizeof(nrows[0]), compare_networks);
	for (size_t i = 0; i < nn && i < max && !ret; i++) {
		struct dump_place_row *r = &networks[(*nnetworks)++];
		const char *name = NULL;

		memset(r, 0, sizeof(*r));
		memcpy(r->country, nrows[i].nc->country, sizeof(r->country));
		addr_format(nrows[i].network, r->network, sizeof(r->network));
		r->count = nrows[i].nc->count;
		ret = as_name_of(&names, nrows[i].nc->asn, &name);
		if (!nrows[i].nc->asn)
			snprintf(r->as, sizeof(r->as), "%s", LOCATION_NONE);
		else if (name)
			snprintf(r->as, sizeof(r->as), "AS%" PRIu32 " %s", nrows[i].nc->asn, name);
		else
			snprintf(r->as, sizeof(r->as), "AS%" PRIu32, nrows[i].nc->asn);
	}
	as_names_free(&names.names);
	free(nrows);
	return ret;
}

void dump_print_place(FILE *fp, struct location *loc, const struct addr_prefix *addr)
{
	struct location_place place;
	char text[ADDR_STRLEN], name[LOCATION_AS_NAME_MAX];

	if (location_lookup(loc, addr, &place)) {
		fputs("-- (not placed by the location database)", fp);
		return;
	}
	addr_format(&place.network, text, sizeof(text));
	fprintf(fp, "%s ", place.country);
	put_asn(fp, place.asn);
	putc(' ', fp);
	put_name(fp, location_as_name(loc, place.asn, name, sizeof(name)) ? NULL : name);
	fprintf(fp, ", network %s", text);
}
