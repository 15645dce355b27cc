/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * report.html and report.json in the dump directory (greywall.conf(5),
 * DUMPS; docs/DESIGN.md, "The report"): every dump gathers, per table, the
 * entries it has (report_entry()) and reads the store's history for those
 * that left (report_read_store()), then writes the page, its data and the
 * charting library beside it (report_write()).
 *
 * Bounded whatever the store holds: hourly entry counts over the last
 * REPORT_DAYS days per table (at most REPORT_TABLES_MAX tables), daily
 * additions per reason, daily trap hits and greylist passes.
 */
#ifndef __GREYWALL_REPORT_H
#define __GREYWALL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/series.h"

struct sqlite3;
struct dump_place_row;

#define REPORT_DAYS	      30
#define REPORT_TABLES_MAX     64
#define REPORT_TABLE_NAME_MAX 64
/* Countries and networks the report lists at most (the page shows 20). */
#define REPORT_PLACES_TOP     20

/* The evidence sources (tables.c's list) the additions are counted by;
 * any other is counted as "other". */
enum report_reason {
	REPORT_MANUAL,
	REPORT_IMPORT,
	REPORT_CONFIG,
	REPORT_OVERLOAD,
	REPORT_GREYTRAP,
	REPORT_GREYLIST,
	REPORT_SPAMLOGD,
	REPORT_LOG,
	REPORT_SYNC,
	REPORT_PEER,
	REPORT_CROWDSEC,
	REPORT_OTHER,
	REPORT_REASONS,
};

struct report_table {
	char name[REPORT_TABLE_NAME_MAX];
	int64_t entries;      /* now */
	struct series series; /* hourly, entries present */
};

struct report {
	int64_t now;
	struct report_table *table;
	size_t ntables;
	struct series additions[REPORT_REASONS]; /* daily */
	struct series traps;			 /* daily: greytrap evidence */
	struct series passes;			 /* daily: WHITE entries by their pass time */
	int have_traps, have_passes;		 /* the store has the greylist's tables */
	struct series tarpit;			 /* hourly: the most connections held */
	int have_tarpit;			 /* report_tarpit_hour() was called */
	/* With a location database: the top places of all tables (the caller's rows). */
	const struct dump_place_row *countries, *networks;
	size_t ncountries, nnetworks;
	int have_places;
};

int report_init(struct report *r, int64_t now);
void report_free(struct report *r);
/* Add a table (its name is checked to be one: no NUL); its index or -errno
 * (-ENOSPC past REPORT_TABLES_MAX, -ENAMETOOLONG). */
int report_add_table(struct report *r, const char *name);
/* An entry of table t, present since added; source is its evidence's. */
void report_entry(struct report *r, int t, int64_t added, const char *source);
/*
 * From the store's database: the entries that left the report's tables
 * within the window (history rows that record their addition), trap hits
 * (greytrap evidence), greylist passes (WHITE entries). Returns 0 or -errno.
 */
int report_read_store(struct report *r, struct sqlite3 *db);
/* The most connections the tarpit held in the hour starting at hour_start. */
void report_tarpit_hour(struct report *r, int64_t hour_start, uint32_t held);
/* Once every entry and the store are in: the hourly counts from their spans. */
void report_finish(struct report *r);
/* The data as JSON (report.json's text) to fp. */
void report_write_json(const struct report *r, FILE *fp);
/*
 * Write <dir>/report.json, <dir>/report.html (the same JSON embedded) and
 * the charting library (REPORT_LIBRARY_JS, REPORT_LIBRARY_CSS and its
 * licence), each atomically. Returns 0 or -errno.
 */
int report_write(const struct report *r, const char *dir);

#define REPORT_LIBRARY_JS      "uPlot.iife.min.js"
#define REPORT_LIBRARY_CSS     "uPlot.min.css"
#define REPORT_LIBRARY_LICENSE "uPlot.LICENSE.txt"

#endif /* __GREYWALL_REPORT_H */
