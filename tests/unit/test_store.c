// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store.h"

static char dir[] = "/tmp/gw-store-XXXXXX";
static char db[PATH_MAX];

static struct addr_prefix pfx(const char *text)
{
	struct addr_prefix p;

	if (addr_parse(text, &p) < 0) {
		fprintf(stderr, "bad test address %s\n", text);
		exit(2);
	}
	return p;
}

static struct entry_meta meta(int64_t added, int64_t evidence_id)
{
	struct entry_meta m;

	memset(&m, 0, sizeof(m));
	m.added = added;
	m.cleared = added;
	m.evidence_id = evidence_id;
	return m;
}

/* Entries listed as sorted "table addr added cleared last evidence c0..c7" lines. */
struct listing {
	char lines[16][256];
	int n;
	int stop_after;
};

static int list_cb(void *ctx, const char *table, const struct addr_prefix *p,
		   const struct entry_meta *m)
{
	struct listing *l = ctx;
	char text[ADDR_STRLEN];

	if (l->n == 16)
		return -E2BIG;
	addr_format(p, text, sizeof(text));
	snprintf(l->lines[l->n++], sizeof(l->lines[0]),
		 "%s %s %lld %lld %lld %lld %llu %llu %llu %llu %llu %llu %llu %llu", table, text,
		 (long long)m->added, (long long)m->cleared, (long long)m->last_seen,
		 (long long)m->evidence_id, (unsigned long long)m->baseline.packets[0],
		 (unsigned long long)m->baseline.packets[1],
		 (unsigned long long)m->baseline.packets[2],
		 (unsigned long long)m->baseline.packets[3],
		 (unsigned long long)m->baseline.bytes[0], (unsigned long long)m->baseline.bytes[1],
		 (unsigned long long)m->baseline.bytes[2], (unsigned long long)m->baseline.bytes[3]);
	return l->n == l->stop_after ? 7 : 0;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* All entries, sorted and joined by '|'. */
static const char *listing(struct store *st)
{
	static char out[4096];
	struct listing l;
	int err;

	memset(&l, 0, sizeof(l));
	err = store_entries_foreach(st, list_cb, &l);
	if (err) {
		snprintf(out, sizeof(out), "error %d", err);
		return out;
	}
	qsort(l.lines, (size_t)l.n, sizeof(l.lines[0]), cmp_lines);
	out[0] = '\0';
	for (int i = 0; i < l.n; i++) {
		if (i)
			strcat(out, "|");
		strcat(out, l.lines[i]);
	}
	return out;
}

static int history_cb(void *ctx, int64_t when, const char *table, const char *action,
		      const struct evidence *ev)
{
	char *out = ctx;
	size_t used = strlen(out);

	snprintf(out + used, 1024 - used, "%lld %s %s ev%lld@%lld %s: %s|", (long long)when,
		 table, action, (long long)ev->id, (long long)ev->when, ev->source, ev->detail);
	return 0;
}

static int count_cb(void *ctx, const char *table, const struct addr_prefix *p,
		    const struct entry_meta *m)
{
	(void)table;
	(void)p;
	(void)m;
	(*(long *)ctx)++;
	return 0;
}

/* Remove a database and the WAL files SQLite keeps next to it. */
static void remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char name[PATH_MAX + 8];

	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
		unlink(name);
	}
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_basics(void)
{
	struct addr_prefix a = pfx("198.51.100.7"), net = pfx("203.0.113.0/24"),
			   v6 = pfx("2001:db8::1"), v6net = pfx("2001:db8:bad::/48");
	struct store *st = NULL, *st2 = NULL;
	struct entry_meta m;
	struct evidence ev, got;
	int64_t ev1, ev2;
	int err;

	err = store_open(db, &st);
	CHECK_INT(err, 0, "open creates a new store");
	if (err)
		return;
	CHECK(access(db, F_OK) == 0, "database file exists");

	memset(&ev, 0, sizeof(ev));
	ev.when = 1795338000;
	snprintf(ev.source, sizeof(ev.source), "overload");
	snprintf(ev.detail, sizeof(ev.detail), "rule 3: max-src-conn-rate 6/3 exceeded (7/6)");
	ev1 = store_evidence_add(st, &ev);
	CHECK(ev1 > 0, "evidence id %lld > 0", (long long)ev1);
	snprintf(ev.source, sizeof(ev.source), "manual");
	ev.detail[0] = '\0';
	ev.when = 1795338100;
	ev2 = store_evidence_add(st, &ev);
	CHECK(ev2 > ev1, "second evidence gets a new id");
	memset(&got, 0xaa, sizeof(got));
	CHECK_INT(store_evidence_get(st, ev1, &got), 0, "evidence get");
	CHECK_INT(got.id, ev1, "evidence id round trip");
	CHECK_INT(got.when, 1795338000, "evidence time round trip");
	CHECK_STR(got.source, "overload", "evidence source round trip");
	CHECK_STR(got.detail, "rule 3: max-src-conn-rate 6/3 exceeded (7/6)",
		  "evidence detail round trip");
	CHECK_INT(store_evidence_get(st, ev2 + 100, &got), -ENOENT, "unknown evidence -ENOENT");

	m = meta(1000, ev1);
	m.last_seen = 1500;
	m.baseline.packets[GW_DIR_IN_BLOCK] = 1;
	m.baseline.packets[GW_DIR_IN_PASS] = 2;
	m.baseline.packets[GW_DIR_OUT_BLOCK] = 3;
	m.baseline.packets[GW_DIR_OUT_PASS] = 4;
	m.baseline.bytes[GW_DIR_IN_BLOCK] = 5;
	m.baseline.bytes[GW_DIR_IN_PASS] = 6;
	m.baseline.bytes[GW_DIR_OUT_BLOCK] = 7;
	m.baseline.bytes[GW_DIR_OUT_PASS] = UINT64_MAX;
	CHECK_INT(store_entry_put(st, "bruteforce", &a, &m), 0, "put host");
	m = meta(1001, ev2);
	CHECK_INT(store_entry_put(st, "bruteforce", &net, &m), 0, "put network");
	CHECK_INT(store_entry_put(st, "bruteforce", &v6, &m), 0, "put IPv6 host");
	CHECK_INT(store_entry_put(st, "spamd", &v6net, &m), 0, "put IPv6 network");
	CHECK_INT(store_entry_put(st, "spamd", &a, &m), 0, "same address in a second table");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1000 1000 1500 1 1 2 3 4 5 6 7 18446744073709551615|"
		  "bruteforce 2001:db8::1 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "bruteforce 203.0.113.0/24 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 198.51.100.7 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 0 0 0 0 0 0 0 0",
		  "entries round trip (all fields, u64 max counter)");

	m = meta(2000, ev1);
	m.cleared = 2500;
	CHECK_INT(store_entry_put(st, "bruteforce", &net, &m), 0, "put again (upsert)");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1000 1000 1500 1 1 2 3 4 5 6 7 18446744073709551615|"
		  "bruteforce 2001:db8::1 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "bruteforce 203.0.113.0/24 2000 2500 0 1 0 0 0 0 0 0 0 0|"
		  "spamd 198.51.100.7 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 0 0 0 0 0 0 0 0",
		  "upsert replaced the row, no duplicate");

	{
		struct addr_prefix host_of_net = pfx("203.0.113.0");

		CHECK_INT(store_entry_delete(st, "bruteforce", &host_of_net), -ENOENT,
			  "/32 is not the /24: -ENOENT");
	}
	CHECK_INT(store_entry_delete(st, "nosuch", &a), -ENOENT, "delete in other table -ENOENT");
	CHECK_INT(store_entry_delete(st, "bruteforce", &a), 0, "delete host");
	CHECK_INT(store_entry_delete(st, "bruteforce", &a), -ENOENT, "delete again -ENOENT");
	CHECK_STR(listing(st),
		  "bruteforce 2001:db8::1 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "bruteforce 203.0.113.0/24 2000 2500 0 1 0 0 0 0 0 0 0 0|"
		  "spamd 198.51.100.7 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 0 0 0 0 0 0 0 0",
		  "only that entry deleted");

	{
		struct listing l;

		memset(&l, 0, sizeof(l));
		l.stop_after = 2;
		CHECK_INT(store_entries_foreach(st, list_cb, &l), 7, "callback value stops foreach");
		CHECK_INT(l.n, 2, "no call after the stop");
	}

	/* History: inserted out of time order on purpose. */
	CHECK_INT(store_history_add(st, 1795338200, "bruteforce", &a, "delete", ev2), 0,
		  "history add (later)");
	CHECK_INT(store_history_add(st, 1795338000, "bruteforce", &a, "add", ev1), 0,
		  "history add (earlier)");
	CHECK_INT(store_history_add(st, 1795338000, "spamd", &a, "add", ev2), 0,
		  "history add (same time, later insert)");
	CHECK_INT(store_history_add(st, 1795338000, "bruteforce", &net, "add", ev1), 0,
		  "history of another prefix");
	CHECK_INT(store_history_add(st, 1795338300, "bruteforce", &a, "expire", 999), 0,
		  "history with missing evidence");

	/* A second connection to the same file: WAL lets it read and write
	 * while the first one stays open. */
	err = store_open(db, &st2);
	CHECK_INT(err, 0, "second open of the same store");
	if (!err) {
		char hist[1024] = "";

		CHECK_INT(store_history_foreach(st2, &a, history_cb, hist), 0, "history foreach");
		CHECK_STR(hist,
			  "1795338000 bruteforce add ev1@1795338000 overload: rule 3: "
			  "max-src-conn-rate 6/3 exceeded (7/6)|"
			  "1795338000 spamd add ev2@1795338100 manual: |"
			  "1795338200 bruteforce delete ev2@1795338100 manual: |"
			  "1795338300 bruteforce expire ev999@0 : |",
			  "history oldest first with evidence joined");
		hist[0] = '\0';
		CHECK_INT(store_history_foreach(st2, &v6, history_cb, hist), 0,
			  "history of an address without any");
		CHECK_STR(hist, "", "no history rows");

		CHECK_INT(store_begin(st), 0, "first connection begins a write");
		m = meta(3000, ev1);
		CHECK_INT(store_entry_put(st, "bruteforce", &a, &m), 0, "put inside transaction");
		CHECK(strstr(listing(st2), "bruteforce 198.51.100.7") == NULL,
		      "second connection does not see the uncommitted row");
		CHECK_INT(store_commit(st), 0, "commit");
		CHECK(strstr(listing(st2), "bruteforce 198.51.100.7 3000") != NULL,
		      "second connection sees the committed row");
		CHECK_INT(store_entry_delete(st2, "bruteforce", &a), 0,
			  "second connection writes");
		CHECK(strstr(listing(st), "bruteforce 198.51.100.7") == NULL,
		      "first connection sees the second's write");
		store_close(st2);
	}

	CHECK_INT(store_begin(st), 0, "begin for rollback");
	CHECK_INT(store_table_delete_all(st, "bruteforce"), 0, "delete all inside transaction");
	CHECK_INT(store_rollback(st), 0, "rollback");
	CHECK(strstr(listing(st), "bruteforce 203.0.113.0/24") != NULL, "rollback kept the rows");

	CHECK_INT(store_table_delete_all(st, "bruteforce"), 0, "delete all of a table");
	CHECK_STR(listing(st),
		  "spamd 198.51.100.7 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 0 0 0 0 0 0 0 0",
		  "other tables untouched");
	CHECK_INT(store_table_delete_all(st, "nosuch"), 0, "delete all of an empty table");
	store_close(st);

	st = NULL;
	err = store_open(db, &st);
	CHECK_INT(err, 0, "reopen");
	if (err)
		return;
	CHECK_STR(listing(st),
		  "spamd 198.51.100.7 1001 1001 0 2 0 0 0 0 0 0 0 0|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 0 0 0 0 0 0 0 0",
		  "entries persisted");
	CHECK_INT(store_evidence_get(st, ev1, &got), 0, "evidence persisted");
	CHECK_STR(got.source, "overload", "persisted evidence source");
	{
		char hist[1024] = "";

		store_history_foreach(st, &net, history_cb, hist);
		CHECK_STR(hist,
			  "1795338000 bruteforce add ev1@1795338000 overload: rule 3: "
			  "max-src-conn-rate 6/3 exceeded (7/6)|",
			  "history persisted");
	}
	store_close(st);
}

static void test_open_errors(void)
{
	char path[PATH_MAX];
	struct store *st = (struct store *)1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/missing-dir/greywall.db", dir);
	CHECK_INT(store_open(path, &st), -ENOENT, "missing directory is not created: -ENOENT");
	CHECK(st == NULL, "no store on failure");
	CHECK(access(path, F_OK) < 0, "nothing created");

	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	fp = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, it is a table file\n", fp);
	fclose(fp);
	CHECK_INT(store_open(path, &st), -EBADMSG, "a file that is no database: -EBADMSG");
	unlink(path);
}

static void benchmark_million_puts(void)
{
	char path[PATH_MAX];
	struct timespec t0;
	struct store *st;
	struct entry_meta m = meta(1795338000, 1);
	long count = 0;
	int err;

	snprintf(path, sizeof(path), "%s/bench.db", dir);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "open the benchmark store");
	if (err)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = store_begin(st);
	/* Addresses in a scattered order (multiplication by an odd constant
	 * is a permutation), as a table that grows by attacks would see. */
	for (uint32_t i = 0; !err && i < 1000000; i++) {
		struct addr_prefix p = { .family = AF_INET, .plen = 32 };
		uint32_t v = 0x0a000000u | ((i * 2654435761u) & 0xffffffu);

		p.bytes[0] = (uint8_t)(v >> 24);
		p.bytes[1] = (uint8_t)(v >> 16);
		p.bytes[2] = (uint8_t)(v >> 8);
		p.bytes[3] = (uint8_t)v;
		err = store_entry_put(st, "bruteforce", &p, &m);
	}
	if (!err)
		err = store_commit(st);
	printf("# 1000000 puts in %.0f ms\n", ms_since(&t0));
	CHECK_INT(err, 0, "a million puts in one transaction");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = store_entries_foreach(st, count_cb, &count);
	printf("# 1000000 entries iterated in %.0f ms\n", ms_since(&t0));
	CHECK_INT(err, 0, "iterate a million entries");
	CHECK_INT(count, 1000000, "all million entries are there");
	store_close(st);
	remove_db(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/greywall.db", dir);
	test_basics();
	test_open_errors();
	benchmark_million_puts();

	remove_db(db);
	rmdir(dir);
	return check_done();
}
