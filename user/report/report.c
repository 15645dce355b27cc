// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The report's data (report.h) and its three kinds of file. report.json:
 *
 *   {"version":1, "generated":"<UTC time>", "now":<unix seconds>,
 *    "entries":{"start":S,"step":3600,"tables":[{"name":N,"now":C,"series":[...]}]},
 *    "additions":{"start":S,"step":86400,"reasons":[{"reason":R,"series":[...]}]},
 *    "traps":{"start":S,"step":86400,"series":[...]},            (with a greylist)
 *    "greylist_passes":{"start":S,"step":86400,"series":[...]},  (with a greylist)
 *    "missing":["..."]}
 *
 * A greywalld that reads a location database may add (and only then) the
 * top of its tables by country and by network, which the page shows in a
 * section of its own (the first 20 of each, in the order given):
 *    "countries":[{"country":"DE","count":N},...],
 *    "networks":[{"network":"192.0.2.0/24","as":"AS64496 ...","country":"DE","count":N},...]
 *
 * series[i] is the bucket starting at start + i * step. "missing" names
 * the charts greywalld has no data for, which the page shows as text.
 * Only reasons with at least one addition in the window are listed.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lib/atomicfile.h"
#include "report/assets.h"
#include "report/json.h"
#include "report/report.h"
#include "tables/dump.h"
#include "tables/dump_location.h"

#define REPORT_HOUR	 3600
#define REPORT_DAY	 86400
#define REPORT_FILE_MODE 0644

static const char *const reason_name[REPORT_REASONS] = {
    [REPORT_MANUAL] = "manual",	    [REPORT_IMPORT] = "import",	    [REPORT_CONFIG] = "config",
    [REPORT_OVERLOAD] = "overload", [REPORT_GREYTRAP] = "greytrap", [REPORT_GREYLIST] = "greylist",
    [REPORT_SPAMLOGD] = "spamlogd", [REPORT_LOG] = "log",	    [REPORT_SYNC] = "sync",
    [REPORT_PEER] = "peer",	    [REPORT_CROWDSEC] = "crowdsec", [REPORT_OTHER] = "other",
};

static enum report_reason reason_of(const char *source)
{
	for (int i = 0; i < REPORT_OTHER; i++)
		if (source && !strcmp(source, reason_name[i]))
			return (enum report_reason)i;
	return REPORT_OTHER;
}

int report_init(struct report *r, int64_t now)
{
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->now = now;
	for (int i = 0; i < REPORT_REASONS && !err; i++)
		err = series_init(&r->additions[i], now, REPORT_DAY, REPORT_DAYS);
	if (!err)
		err = series_init(&r->traps, now, REPORT_DAY, REPORT_DAYS);
	if (!err)
		err = series_init(&r->passes, now, REPORT_DAY, REPORT_DAYS);
	if (err)
		report_free(r);
	return err;
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		series_free(&r->table[i].series);
	free(r->table);
	r->table = NULL;
	r->ntables = 0;
	for (int i = 0; i < REPORT_REASONS; i++)
		series_free(&r->additions[i]);
	series_free(&r->traps);
	series_free(&r->passes);
	series_free(&r->tarpit);
}

void report_tarpit_hour(struct report *r, int64_t hour_start, uint32_t held)
{
	long b;

	if (!r->tarpit.v && series_init(&r->tarpit, r->now, REPORT_HOUR, REPORT_DAYS * 24))
		return;
	r->have_tarpit = 1;
	b = series_bucket(&r->tarpit, hour_start);
	if (b >= 0 && r->tarpit.v[b] < (int64_t)held)
		r->tarpit.v[b] = held;
}

int report_add_table(struct report *r, const char *name)
{
	struct report_table *t;
	size_t len = strlen(name);
	int err;

	if (len >= REPORT_TABLE_NAME_MAX)
		return -ENAMETOOLONG;
	if (r->ntables >= REPORT_TABLES_MAX)
		return -ENOSPC;
	t = realloc(r->table, (r->ntables + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	r->table = t;
	t = &r->table[r->ntables];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, len + 1);
	err = series_init(&t->series, r->now, REPORT_HOUR, REPORT_DAYS * 24);
	if (err)
		return err;
	return (int)r->ntables++;
}

void report_entry(struct report *r, int t, int64_t added, const char *source)
{
	if (t < 0 || (size_t)t >= r->ntables)
		return;
	r->table[t].entries++;
	series_span(&r->table[t].series, added, 0);
	series_count(&r->additions[reason_of(source)], added);
}

static int table_index(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (!strcmp(r->table[i].name, name))
			return (int)i;
	return -1;
}

static int sql_error(int rc)
{
	switch (rc) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Run sql with ?1 = since (if it has a ?1); row() per row. */
static int query(struct sqlite3 *db, const char *sql, int64_t since,
		 void (*row)(struct report *, sqlite3_stmt *), struct report *r)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return sql_error(rc);
	sqlite3_bind_int64(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		row(r, s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sql_error(rc);
}

static void history_row(struct report *r, sqlite3_stmt *s)
{
	const char *table = (const char *)sqlite3_column_text(s, 0);
	const char *source = (const char *)sqlite3_column_text(s, 3);
	int64_t added = sqlite3_column_int64(s, 1), left = sqlite3_column_int64(s, 2);
	int t = table ? table_index(r, table) : -1;

	if (t < 0)
		return;
	series_span(&r->table[t].series, added, left);
	series_count(&r->additions[reason_of(source)], added);
}

static void trap_row(struct report *r, sqlite3_stmt *s)
{
	series_count(&r->traps, sqlite3_column_int64(s, 0));
}

static void pass_row(struct report *r, sqlite3_stmt *s)
{
	series_count(&r->passes, sqlite3_column_int64(s, 0));
}

static void has_greylist_row(struct report *r, sqlite3_stmt *s)
{
	r->have_passes = r->have_traps = sqlite3_column_int64(s, 0) > 0;
}

int report_read_store(struct report *r, struct sqlite3 *db)
{
	/* The hourly window starts no later than the daily one. */
	int64_t since = r->additions[0].start;
	int err;

	if (r->ntables && r->table[0].series.start < since)
		since = r->table[0].series.start;
	/*
	 * Every removal records the addition of what left (store.h); rows
	 * without one (zero, flush of old stores) change no count. The
	 * history has no index by time: this reads it once per dump.
	 */
	err = query(db,
		    "SELECT h.tbl, h.added_at, h.at, e.source FROM history h"
		    " LEFT JOIN evidence e ON e.id = h.added_evidence"
		    " WHERE h.added_at IS NOT NULL AND h.at >= ?1",
		    since, history_row, r);
	if (!err)
		err = query(db,
			    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			    " AND name = 'grey_addrs'",
			    0, has_greylist_row, r);
	/* A greytrap hit is one evidence row, whether or not it added an entry. */
	if (!err && r->have_traps)
		err = query(db, "SELECT at FROM evidence WHERE source = 'greytrap' AND at >= ?1",
			    r->traps.start, trap_row, r);
	/* WHITE entries (pcount >= 0) by the time their tuple passed. */
	if (!err && r->have_passes)
		err = query(db, "SELECT pass FROM grey_addrs WHERE pcount >= 0 AND pass >= ?1",
			    r->passes.start, pass_row, r);
	return err;
}

void report_finish(struct report *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		series_integrate(&r->table[i].series);
}

static void write_series(FILE *fp, const char *key, const struct series *s)
{
	json_write_key(fp, key);
	fprintf(fp, "{\"start\":%lld,\"step\":%lld,\"series\":", (long long)s->start,
		(long long)s->step);
	json_write_int64_array(fp, s->v, s->n);
	putc('}', fp);
}

static int series_any(const struct series *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i])
			return 1;
	return 0;
}

/* ,"countries":[...],"networks":[...] */
static void write_places(const struct report *r, FILE *fp)
{
	fputs(",\"countries\":[", fp);
	for (size_t i = 0; i < r->ncountries; i++) {
		fputs(i ? ",{" : "{", fp);
		json_write_key(fp, "country");
		json_write_string(fp, r->countries[i].country);
		fprintf(fp, ",\"count\":%llu}", (unsigned long long)r->countries[i].count);
	}
	fputs("],\"networks\":[", fp);
	for (size_t i = 0; i < r->nnetworks; i++) {
		const struct dump_place_row *n = &r->networks[i];

		fputs(i ? ",{" : "{", fp);
		json_write_key(fp, "network");
		json_write_string(fp, n->network);
		putc(',', fp);
		json_write_key(fp, "as");
		json_write_string(fp, n->as);
		putc(',', fp);
		json_write_key(fp, "country");
		json_write_string(fp, n->country);
		fprintf(fp, ",\"count\":%llu}", (unsigned long long)n->count);
	}
	putc(']', fp);
}

void report_write_json(const struct report *r, FILE *fp)
{
	char when[32];
	int first = 1;

	dump_format_time(r->now, when, sizeof(when));
	fputs("{\"version\":1,\"generated\":", fp);
	json_write_string(fp, when);
	fprintf(fp, ",\"now\":%lld,\"entries\":{\"start\":%lld,\"step\":%d,\"tables\":[",
		(long long)r->now, (long long)(r->ntables ? r->table[0].series.start : 0),
		REPORT_HOUR);
	for (size_t i = 0; i < r->ntables; i++) {
		const struct report_table *t = &r->table[i];

		fputs(i ? ",{" : "{", fp);
		json_write_key(fp, "name");
		json_write_string(fp, t->name);
		fprintf(fp, ",\"now\":%lld,\"series\":", (long long)t->entries);
		json_write_int64_array(fp, t->series.v, t->series.n);
		putc('}', fp);
	}
	fprintf(fp, "]},\"additions\":{\"start\":%lld,\"step\":%d,\"reasons\":[",
		(long long)r->additions[0].start, REPORT_DAY);
	for (int i = 0; i < REPORT_REASONS; i++) {
		if (!series_any(&r->additions[i]))
			continue;
		fputs(first ? "{" : ",{", fp);
		first = 0;
		json_write_key(fp, "reason");
		json_write_string(fp, reason_name[i]);
		putc(',', fp);
		json_write_key(fp, "series");
		json_write_int64_array(fp, r->additions[i].v, r->additions[i].n);
		putc('}', fp);
	}
	fputs("]}", fp);
	if (r->have_traps) {
		putc(',', fp);
		write_series(fp, "traps", &r->traps);
	}
	if (r->have_passes) {
		putc(',', fp);
		write_series(fp, "greylist_passes", &r->passes);
	}
	if (r->have_places)
		write_places(r, fp);
	if (r->have_tarpit) {
		putc(',', fp);
		write_series(fp, "tarpit", &r->tarpit);
	}
	fputs(",\"missing\":[", fp);
	if (!r->have_traps)
		fputs("\"traps\",\"greylist_passes\"", fp);
	if (!r->have_tarpit)
		fputs(r->have_traps ? "\"tarpit_connections\"" : ",\"tarpit_connections\"", fp);
	fputs("]}\n", fp);
}

static int write_file(const char *dir, const char *name, const char *head, size_t head_len,
		      const char *body, size_t body_len, const char *tail, size_t tail_len)
{
	char path[PATH_MAX];
	struct atomic_file af;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	err = atomic_file_open(&af, path, REPORT_FILE_MODE);
	if (err)
		return err;
	fwrite(head, 1, head_len, af.fp);
	fwrite(body, 1, body_len, af.fp);
	fwrite(tail, 1, tail_len, af.fp);
	if (ferror(af.fp)) {
		atomic_file_abort(&af);
		return -EIO;
	}
	return atomic_file_commit(&af);
}

/* report.html: the template with the JSON where REPORT_PAGE_DATA_MARK is. */
static int write_page(const char *dir, const char *json, size_t len)
{
	const char *page = (const char *)report_page, *mark;
	size_t mark_len = strlen(REPORT_PAGE_DATA_MARK);

	mark = memmem(page, report_page_len, REPORT_PAGE_DATA_MARK, mark_len);
	if (!mark)
		return -EINVAL;
	return write_file(dir, "report.html", page, (size_t)(mark - page), json, len,
			  mark + mark_len, report_page_len - (size_t)(mark - page) - mark_len);
}

int report_write(const struct report *r, const char *dir)
{
	char *json = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&json, &len);
	int err;

	if (!fp)
		return -errno;
	report_write_json(r, fp);
	if (fclose(fp) || !json) {
		free(json);
		return -ENOMEM;
	}
	/* The library first: a page never refers to a library not there. */
	err = write_file(dir, REPORT_LIBRARY_JS, "", 0, (const char *)report_library_js,
			 report_library_js_len, "", 0);
	if (!err)
		err = write_file(dir, REPORT_LIBRARY_CSS, "", 0, (const char *)report_library_css,
				 report_library_css_len, "", 0);
	if (!err)
		err = write_file(dir, REPORT_LIBRARY_LICENSE, "", 0,
				 (const char *)report_library_license, report_library_license_len,
				 "", 0);
	if (!err)
		err = write_file(dir, "report.json", "", 0, json, len, "", 0);
	if (!err)
		err = write_page(dir, json, len);
	free(json);
	return err;
}
