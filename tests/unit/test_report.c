// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The report (user/report/): JSON strings safe in a <script> element and
 * equal to their input once parsed (json-c parses them back), the series'
 * bucketing, the report's counts from entries and from a real store's
 * history, and the files it writes. Also times a report of 100,000 entries.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "report/assets.h"
#include "report/json.h"
#include "report/report.h"
#include "report/series.h"
#include "spamd/grey.h"
#include "store/store.h"

static char dir[] = "/tmp/gw-report-XXXXXX";

/* json_write_bytes() of in into a static buffer. */
static const char *escaped(const char *in, size_t len)
{
	static char out[1024];
	FILE *fp = fmemopen(out, sizeof(out), "w");

	json_write_bytes(fp, in, len);
	fclose(fp);
	return out;
}

#define ESC(lit) escaped(lit, sizeof(lit) - 1)

/* Parse text with json-c: the string it holds, or NULL (static buffer). */
static const char *parsed(const char *text)
{
	static char out[1024];
	struct json_object *o = json_tokener_parse(text);

	if (!o || !json_object_is_type(o, json_type_string)) {
		json_object_put(o);
		return NULL;
	}
	snprintf(out, sizeof(out), "%s", json_object_get_string(o));
	json_object_put(o);
	return out;
}

static void test_json(void)
{
	const char *s;

	CHECK_STR(ESC("</script><!--&"), "\"\\u003c/script\\u003e\\u003c!--\\u0026\"",
		  "</script>, <!-- and & cannot appear");
	CHECK_STR(ESC("a\"b\\c"), "\"a\\\"b\\\\c\"", "quote and backslash");
	CHECK_STR(ESC("\x01\n\r\t\b\f\x1f\x7f"), "\"\\u0001\\n\\r\\t\\b\\f\\u001f\\u007f\"",
		  "control bytes and DEL");
	CHECK_STR(ESC("a\0b"), "\"a\\u0000b\"", "NUL inside counted bytes");
	CHECK_STR(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "valid UTF-8 stays as it is");
	CHECK_STR(ESC("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"",
		  "U+2028 and U+2029 escaped");
	CHECK_STR(ESC("\xff"), "\"\\ufffd\"", "0xff is no UTF-8");
	CHECK_STR(ESC("\xc0\xaf"), "\"\\ufffd\\ufffd\"", "overlong '/' replaced byte by byte");
	CHECK_STR(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"", "a surrogate is replaced");
	CHECK_STR(ESC("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
		  "beyond U+10FFFF is replaced");
	CHECK_STR(ESC("x\xe2\x82"), "\"x\\ufffd\\ufffd\"", "a sequence cut at the end");
	CHECK_STR(ESC("\xe2\x82x"), "\"\\ufffd\\ufffdx\"", "a sequence cut by ASCII");

	/* What a JSON parser reads back is the input, for any valid UTF-8. */
	s = parsed(ESC("</script>\"\\\n\x01 caf\xc3\xa9\xe2\x80\xa8"));
	CHECK_STR(s, "</script>\"\\\n\x01 caf\xc3\xa9\xe2\x80\xa8", "json-c reads the input back");
	s = parsed(ESC("bad \xff\xfe"));
	CHECK_STR(s, "bad \xef\xbf\xbd\xef\xbf\xbd", "json-c reads U+FFFD for bad bytes");
}

static void test_series(void)
{
	const int64_t day = 86400, hour = 3600;
	/* 2026-11-22T09:30:00Z */
	const int64_t now = 1795339800;
	struct series s;

	CHECK_INT(series_init(&s, now, 0, 10), -EINVAL, "step 0 refused");
	CHECK_INT(series_init(&s, now, day, 0), -EINVAL, "0 buckets refused");
	CHECK_INT(series_init(&s, now, day, 30), 0, "30 daily buckets");
	CHECK_INT(s.start % day, 0, "the window starts at midnight UTC");
	CHECK_INT(s.start, now - now % day - 29 * day, "the last bucket holds now");
	CHECK_INT(series_bucket(&s, now), 29, "now in bucket 29");
	CHECK_INT(series_bucket(&s, s.start - 1), -1, "before the window: -1");
	CHECK_INT(series_bucket(&s, s.start + 30 * day), -1, "after the window: -1");
	series_count(&s, now);
	series_count(&s, now - now % day);     /* midnight: today */
	series_count(&s, now - now % day - 1); /* a second before: yesterday */
	series_count(&s, s.start - 1);	       /* dropped */
	series_count(&s, now + 2 * day);       /* dropped */
	CHECK_INT(s.v[29], 2, "two events today");
	CHECK_INT(s.v[28], 1, "one yesterday");
	CHECK_INT(s.v[0], 0, "none before the window in bucket 0");
	series_free(&s);

	CHECK_INT(series_init(&s, now, hour, 24), 0, "24 hourly buckets");
	/* Present since long before the window and still there. */
	series_span(&s, s.start - 10 * day, 0);
	/* Added in bucket 3, gone in bucket 5: counted at the ends of 3 and 4. */
	series_span(&s, s.start + 3 * hour + 10, s.start + 5 * hour + 10);
	/* Added and gone within bucket 7: never there at an hour's end. */
	series_span(&s, s.start + 7 * hour + 1, s.start + 7 * hour + 50);
	/* Gone exactly at the end of bucket 9's last second + 1: there at the end of 9. */
	series_span(&s, s.start + 9 * hour, s.start + 10 * hour);
	/* Gone before the window: nowhere. */
	series_span(&s, s.start - 5 * hour, s.start - hour);
	/* Until before from (a clock stepped back): ignored. */
	series_span(&s, s.start + 2 * hour, s.start + hour);
	series_integrate(&s);
	CHECK_INT(s.v[0], 1, "bucket 0: the old entry");
	CHECK_INT(s.v[3], 2, "bucket 3: plus the one added in it");
	CHECK_INT(s.v[4], 2, "bucket 4: still");
	CHECK_INT(s.v[5], 1, "bucket 5: it is gone");
	CHECK_INT(s.v[7], 1, "bucket 7: a short one is not counted");
	CHECK_INT(s.v[9], 2, "bucket 9: the one of bucket 9");
	CHECK_INT(s.v[10], 1, "bucket 10: gone at its start");
	CHECK_INT(s.v[23], 1, "the last bucket");
	series_free(&s);
}

static int64_t add_evidence(struct store *st, int64_t when, const char *source)
{
	struct evidence ev = {.when = when};

	snprintf(ev.source, sizeof(ev.source), "%s", source);
	snprintf(ev.detail, sizeof(ev.detail), "test </script> \"%s\"", source);
	return store_evidence_add(st, &ev);
}

static void put_entry(struct store *st, const char *table, const char *addr, int64_t added,
		      int64_t evidence_id)
{
	struct entry_meta m = {.added = added, .cleared = added, .evidence_id = evidence_id};
	struct addr_prefix p;

	addr_parse(addr, &p);
	store_entry_put(st, table, &p, &m, NULL);
}

/* The file's contents (malloc'd), or NULL. */
static char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX];
	FILE *fp;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	fclose(fp);
	return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_report_store(void)
{
	/* 2026-11-22T09:30:00Z */
	const int64_t now = 1795339800, hour = 3600, day = 86400;
	const char *hostile = "bad</script><img src=x onerror=alert(1)>\"";
	struct json_object *o, *v, *t;
	struct addr_prefix p;
	struct store *st;
	struct report r;
	char path[PATH_MAX];
	int64_t ev_manual, ev_trap, ev_log;
	int black, bad;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (store_open(path, &st)) {
		CHECK(0, "open a store");
		return;
	}
	ev_manual = add_evidence(st, now - 2 * day, "manual");
	ev_trap = add_evidence(st, now - 3 * hour, "greytrap");
	ev_log = add_evidence(st, now - 40 * day, "log");
	/* Two entries that left: one added 2 days ago and gone 1 day ago, one
	 * added 40 days ago (before the window) and gone 10 hours ago. */
	put_entry(st, "black", "198.51.100.1", now - 2 * day, ev_manual);
	addr_parse("198.51.100.1", &p);
	CHECK_INT(store_entry_remove(st, now - day, "black", &p, "expire", 0), 0,
		  "an entry leaves: a history row");
	put_entry(st, "black", "198.51.100.2", now - 40 * day, ev_log);
	addr_parse("198.51.100.2", &p);
	store_entry_remove(st, now - 10 * hour, "black", &p, "delete", 0);
	/* A table the report does not know (gone from the config): ignored. */
	put_entry(st, "old", "198.51.100.3", now - 2 * day, ev_manual);
	addr_parse("198.51.100.3", &p);
	store_entry_remove(st, now - day, "old", &p, "expire", 0);

	CHECK_INT(report_init(&r, now), 0, "report_init");
	black = report_add_table(&r, "black");
	bad = report_add_table(&r, hostile);
	CHECK_INT(black, 0, "table 0");
	CHECK_INT(bad, 1, "table 1, its name hostile");
	/* The entries the tables have now. */
	report_entry(&r, black, now - 3 * hour, "greytrap");
	report_entry(&r, bad, now - 5 * day, "overload");
	report_entry(&r, bad, now - 100 * day, "something new");
	report_entry(&r, 7, now, "manual"); /* no such table: ignored */
	CHECK_INT(report_read_store(&r, store_sqlite(st)), 0, "report_read_store");
	report_finish(&r);

	/* Hourly, the last bucket is now's: 2 days ago is bucket 719 - 48. */
	CHECK_INT(r.table[black].series.v[719], 1, "black now: the trap's entry");
	CHECK_INT(r.table[black].series.v[719 - 5], 0,
		  "black 5 hours ago: none (one gone, one to come)");
	CHECK_INT(r.table[black].series.v[719 - 11], 1, "black 11 hours ago: the 40-day one");
	CHECK_INT(r.table[black].series.v[719 - 30], 2, "black 30 hours ago: two that left since");
	CHECK_INT(r.table[black].series.v[719 - 47], 2, "black 47 hours ago: both");
	CHECK_INT(r.table[black].series.v[719 - 49], 1, "black 49 hours ago: only the old one");
	CHECK_INT(r.table[black].series.v[0], 1, "black 30 days ago: the old one");
	CHECK_INT(r.table[black].entries, 1, "black: 1 entry now");
	CHECK_INT(r.table[bad].series.v[0], 1, "the other table: its 100-day-old entry");
	CHECK_INT(r.table[bad].series.v[719], 2, "the other table now: 2");
	CHECK_INT(r.additions[REPORT_MANUAL].v[27], 1, "a manual addition 2 days ago");
	CHECK_INT(r.additions[REPORT_GREYTRAP].v[29], 1, "a greytrap addition today");
	CHECK_INT(r.additions[REPORT_OVERLOAD].v[24], 1, "an overload addition 5 days ago");
	CHECK_INT(r.additions[REPORT_LOG].v[0] + r.additions[REPORT_OTHER].v[0], 0,
		  "additions before the window are not counted");
	CHECK_INT(r.have_traps, 0, "no greylist tables in this store: no trap series");

	CHECK_INT(report_write(&r, dir), 0, "report_write");
	text = slurp("report.json", &len);
	o = text ? json_tokener_parse(text) : NULL;
	CHECK(o != NULL, "report.json parses");
	CHECK(o && json_object_object_get_ex(o, "entries", &v) &&
		  json_object_object_get_ex(v, "tables", &v) && json_object_array_length(v) == 2,
	      "report.json: two tables");
	t = o && v ? json_object_array_get_idx(v, 1) : NULL;
	CHECK(t && json_object_object_get_ex(t, "name", &v) &&
		  !strcmp(json_object_get_string(v), hostile),
	      "the hostile table name reads back as it was");
	CHECK(o && json_object_object_get_ex(o, "missing", &v) && json_object_array_length(v) == 3,
	      "missing: traps, greylist passes, tarpit connections");
	CHECK(o && !json_object_object_get_ex(o, "countries", &v),
	      "no countries without a location database");
	json_object_put(o);
	free(text);

	text = slurp("report.html", &len);
	CHECK(text && !strstr(text, REPORT_PAGE_DATA_MARK), "the page has its data in place");
	CHECK(text && strstr(text, "\\u003cimg src=x onerror=alert(1)\\u003e"),
	      "the hostile name is escaped in the page");
	/* The template's own two: the inline scripts of head and body, and the data's. */
	CHECK_INT(text ? count_of(text, "</script>") : 0, 4,
		  "only the template's </script> tags in the page");
	CHECK(text && !strstr(text, "<img"), "no tag from the data in the page");
	free(text);
	text = slurp(REPORT_LIBRARY_JS, &len);
	CHECK(text && len == report_library_js_len && strstr(text, "uPlot"),
	      "the library is written beside the page");
	free(text);
	text = slurp(REPORT_LIBRARY_CSS, &len);
	CHECK(text && len > 0, "its stylesheet too");
	free(text);
	text = slurp(REPORT_LIBRARY_LICENSE, &len);
	CHECK(text && strstr(text, "MIT"), "and its licence");
	free(text);
	report_free(&r);

	/* With the greylist's tables: trap hits (greytrap evidence) and passes. */
	{
		struct grey_params gp;
		struct grey *g = NULL;
		struct addr_prefix w1, w2, tr;

		grey_params_default(&gp);
		gp.white_plen4 = 32;
		CHECK_INT(grey_open(st, &g), 0, "grey_open on the same store");
		addr_parse("203.0.113.5", &w1);
		addr_parse("203.0.113.6", &w2);
		addr_parse("203.0.113.7", &tr);
		grey_white_add(g, now - day, &gp, &w1);
		grey_white_add(g, now - 60, &gp, &w2);
		grey_trapped_add(g, now - 60, &gp, &tr);
		CHECK_INT(report_init(&r, now), 0, "report_init again");
		CHECK_INT(report_read_store(&r, store_sqlite(st)), 0,
			  "report_read_store with a greylist");
		report_finish(&r);
		CHECK_INT(r.have_traps && r.have_passes, 1, "trap and pass series now");
		CHECK_INT(r.traps.v[29], 1, "one trap hit today (the greytrap evidence)");
		CHECK_INT(r.traps.v[28] + r.traps.v[0], 0, "none other");
		CHECK_INT(r.passes.v[28], 1, "one pass yesterday");
		CHECK_INT(r.passes.v[29], 1, "one today (the TRAPPED entry is none)");
		{
			char *json = NULL;
			size_t jlen = 0;
			FILE *fp = open_memstream(&json, &jlen);

			report_write_json(&r, fp);
			fclose(fp);
			CHECK(json && strstr(json, "\"traps\":{") &&
				  strstr(json, "\"greylist_passes\":{") &&
				  strstr(json, "\"missing\":[\"tarpit_connections\"]"),
			      "report.json has both series; only the tarpit is missing");
			free(json);
		}
		/* The tarpit's hourly peaks: the most per hour, outside the window dropped. */
		report_tarpit_hour(&r, (now / 3600) * 3600, 3);
		report_tarpit_hour(&r, (now / 3600) * 3600, 7);
		report_tarpit_hour(&r, (now / 3600) * 3600, 5);
		report_tarpit_hour(&r, (now / 3600 - 2) * 3600, 2);
		report_tarpit_hour(&r, (now / 3600 - 30 * 24) * 3600, 99);
		CHECK(r.have_tarpit && r.tarpit.n == 720 && r.tarpit.v[719] == 7 &&
			      r.tarpit.v[717] == 2 && r.tarpit.v[718] == 0,
		      "tarpit: the most in each hour, the last bucket this hour's");
		{
			char *json = NULL;
			size_t jlen = 0;
			FILE *fp = open_memstream(&json, &jlen);
			int64_t sum = 0;

			for (size_t i = 0; i < r.tarpit.n; i++)
				sum += r.tarpit.v[i];
			CHECK_INT(sum, 9, "tarpit: an hour outside the 30 days is dropped");
			report_write_json(&r, fp);
			fclose(fp);
			CHECK(json && strstr(json, "\"tarpit\":{\"start\":") &&
				  strstr(json, "\"missing\":[]"),
			      "report.json has the tarpit's series; nothing is missing");
			free(json);
		}
		report_free(&r);
		grey_close(g);
	}
	(void)ev_trap;
	store_close(st);
}

static double seconds_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* 100,000 entries over 60 days in 4 tables: what a dump adds to the loop. */
static void test_large(void)
{
	const int64_t now = 1795339800;
	struct timespec t0;
	struct report r;
	char sub[PATH_MAX];
	int64_t old = 0;
	size_t len;
	char *text;

	snprintf(sub, sizeof(sub), "%s/large", dir);
	mkdir(sub, 0755);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(report_init(&r, now), 0, "report_init (large)");
	for (int t = 0; t < 4; t++) {
		char name[16];

		snprintf(name, sizeof(name), "t%d", t);
		report_add_table(&r, name);
	}
	for (int i = 0; i < 100000; i++) {
		int64_t added = now - (int64_t)i * 51;

		report_entry(&r, i % 4, added, i % 3 ? "overload" : "log");
		/* There at the end of the first hour of the window. */
		if (i % 4 == 0 && added < r.table[0].series.start + 3600)
			old++;
	}
	report_finish(&r);
	CHECK_INT(r.table[0].series.v[719], 25000, "25,000 entries in table 0 now");
	CHECK(old > 0 && r.table[0].series.v[0] == old,
	      "table 0 at the window's first hour: the %lld added before", (long long)old);
	CHECK_INT(report_write(&r, sub), 0, "report_write (large)");
	printf("# report of 100000 entries (4 tables): %.1f ms, gathering and writing\n",
	       seconds_since(&t0) * 1000);
	snprintf(sub, sizeof(sub), "large/report.json");
	text = slurp(sub, &len);
	CHECK(text && len < 64 * 1024, "report.json stays small: %zu bytes", len);
	free(text);
	report_free(&r);
}

/* 100,000 history rows (entries that left): what report_read_store() reads. */
static void test_large_history(void)
{
	const int64_t now = 1795339800;
	struct timespec t0;
	struct store *st;
	struct report r;
	char path[PATH_MAX];
	int64_t ev;
	int err = 0;

	snprintf(path, sizeof(path), "%s/large.db", dir);
	if (store_open(path, &st)) {
		CHECK(0, "open a store (large)");
		return;
	}
	ev = add_evidence(st, now - 86400, "overload");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_begin(st);
	for (int i = 0; i < 100000 && !err; i++) {
		struct entry_meta m = {.added = now - 40 * 86400 + i * 20, .evidence_id = ev};
		struct addr_prefix p = {0};
		char text[32];

		snprintf(text, sizeof(text), "2001:db8::%x:%x", i >> 16, i & 0xffff);
		addr_parse(text, &p);
		m.cleared = m.added;
		err = store_entry_put(st, "t", &p, &m, NULL);
		if (!err)
			err = store_entry_remove(st, m.added + 3600, "t", &p, "expire", 0);
	}
	CHECK_INT(err ?: store_commit(st), 0, "100,000 entries added and removed");
	printf("# 100000 history rows written in %.1f ms\n", seconds_since(&t0) * 1000);
	report_init(&r, now);
	report_add_table(&r, "t");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(report_read_store(&r, store_sqlite(st)), 0, "report_read_store (large)");
	printf("# report_read_store over 100000 history rows: %.1f ms\n",
	       seconds_since(&t0) * 1000);
	report_finish(&r);
	/* Entries added every 20 s, each there for an hour: 180 at any hour's end
	 * while they were being added (the last one 40 d - 100000 * 20 s = 16.9 d ago). */
	CHECK_INT(r.table[0].series.v[719 - 24 * 20], 180,
		  "180 entries at an hour's end 20 days ago");
	CHECK_INT(r.table[0].series.v[719], 0, "none now");
	report_free(&r);
	store_close(st);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_json();
	test_series();
	test_report_store();
	test_large();
	test_large_history();
	printf("1..%d\n", check_count);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return check_failures ? 1 : 0;
}
