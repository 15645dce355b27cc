// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "files.h"
#include "store/store.h"

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

/*
 * Entries listed as sorted "table addr added cleared last evidence baseline"
 * lines; the baseline is its 8 counters, or "-" when the store gives none.
 */
struct listing {
	char lines[16][256];
	int n;
	int stop_after;
};

static int list_cb(void *ctx, const char *table, const struct addr_prefix *p,
		   const struct entry_meta *m, const struct gw_counters *baseline)
{
	struct listing *l = ctx;
	char text[ADDR_STRLEN], base[200] = "-";

	if (l->n == 16)
		return -E2BIG;
	addr_format(p, text, sizeof(text));
	if (baseline)
		snprintf(base, sizeof(base), "%llu %llu %llu %llu %llu %llu %llu %llu",
			 (unsigned long long)baseline->packets[0],
			 (unsigned long long)baseline->packets[1],
			 (unsigned long long)baseline->packets[2],
			 (unsigned long long)baseline->packets[3],
			 (unsigned long long)baseline->bytes[0],
			 (unsigned long long)baseline->bytes[1],
			 (unsigned long long)baseline->bytes[2],
			 (unsigned long long)baseline->bytes[3]);
	snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s %s %lld %lld %lld %lld %s", table,
		 text, (long long)m->added, (long long)m->cleared, (long long)m->last_seen,
		 (long long)m->evidence_id, base);
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
		    const struct entry_meta *m, const struct gw_counters *baseline)
{
	(void)table;
	(void)p;
	(void)m;
	(void)baseline;
	(*(long *)ctx)++;
	return 0;
}

/* History of p as "when table action evN@when source: detail|" items. */
static const char *history(struct store *st, const char *addr)
{
	static char out[1024];
	struct addr_prefix p = pfx(addr);
	int err;

	out[0] = '\0';
	err = store_history_foreach(st, &p, history_cb, out);
	if (err)
		snprintf(out, sizeof(out), "error %d", err);
	return out;
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

/* Open (creating) the store `name` in the test directory; its path goes to path. */
static struct store *open_named(const char *name, char path[PATH_MAX])
{
	struct store *st;
	int err;

	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "open %s", name);
	return err ? NULL : st;
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
	struct gw_counters base = { .packets = { 1, 2, 3, 4 }, .bytes = { 5, 6, 7, UINT64_MAX } },
			   zero = { 0 };
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
	CHECK_INT(store_entry_put(st, "bruteforce", &a, &m, &base), 0, "put host");
	m = meta(1001, ev2);
	CHECK_INT(store_entry_put(st, "bruteforce", &net, &m, NULL), 0, "put network");
	CHECK_INT(store_entry_put(st, "bruteforce", &v6, &m, &zero), 0, "put IPv6 host");
	CHECK_INT(store_entry_put(st, "spamd", &v6net, &m, NULL), 0, "put IPv6 network");
	CHECK_INT(store_entry_put(st, "spamd", &a, &m, NULL), 0, "same address in a second table");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1000 1000 1500 1 1 2 3 4 5 6 7 18446744073709551615|"
		  "bruteforce 2001:db8::1 1001 1001 0 2 -|"
		  "bruteforce 203.0.113.0/24 1001 1001 0 2 -|"
		  "spamd 198.51.100.7 1001 1001 0 2 -|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 -",
		  "entries round trip (all fields, u64 max counter, zero baseline as none)");

	m = meta(2000, ev1);
	m.cleared = 2500;
	CHECK_INT(store_entry_put(st, "bruteforce", &net, &m, NULL), 0, "put again (upsert)");
	m = meta(1000, ev1);
	m.last_seen = 1600;
	CHECK_INT(store_entry_put(st, "bruteforce", &a, &m, NULL), 0, "upsert drops the baseline");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1000 1000 1600 1 -|"
		  "bruteforce 2001:db8::1 1001 1001 0 2 -|"
		  "bruteforce 203.0.113.0/24 2000 2500 0 1 -|"
		  "spamd 198.51.100.7 1001 1001 0 2 -|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 -",
		  "upsert replaced the entries, no duplicate");

	{
		struct addr_prefix host_of_net = pfx("203.0.113.0");

		CHECK_INT(store_entry_delete(st, "bruteforce", &host_of_net), -ENOENT,
			  "/32 is not the /24: -ENOENT");
	}
	CHECK_INT(store_entry_delete(st, "nosuch", &a), -ENOENT, "delete in other table -ENOENT");
	CHECK_INT(store_entry_delete(st, "bruteforce", &v6), 0, "delete host");
	CHECK_INT(store_entry_delete(st, "bruteforce", &v6), -ENOENT, "delete again -ENOENT");
	CHECK_STR(history(st, "2001:db8::1"), "", "a delete leaves no history");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1000 1000 1600 1 -|"
		  "bruteforce 203.0.113.0/24 2000 2500 0 1 -|"
		  "spamd 198.51.100.7 1001 1001 0 2 -|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 -",
		  "only that entry deleted");

	{
		struct listing l;

		memset(&l, 0, sizeof(l));
		l.stop_after = 2;
		CHECK_INT(store_entries_foreach(st, list_cb, &l), 7, "callback value stops foreach");
		CHECK_INT(l.n, 2, "no call after the stop");
	}

	/* History: present entries report their own addition. */
	CHECK_STR(history(st, "198.51.100.7"),
		  "1000 bruteforce add ev1@1795338000 overload: rule 3: max-src-conn-rate 6/3 "
		  "exceeded (7/6)|"
		  "1001 spamd add ev2@1795338100 manual: |",
		  "the additions of present entries, from the entries");
	CHECK_INT(store_history_add(st, 1795338000, "bruteforce", &a, "zero", 0), 0,
		  "history add");
	CHECK_INT(store_entry_remove(st, 1795338200, "bruteforce", &a, "delete", ev2), 0,
		  "remove");
	CHECK_INT(store_entry_remove(st, 1795338200, "bruteforce", &a, "delete", ev2), -ENOENT,
		  "remove again -ENOENT");
	CHECK_INT(store_entry_remove(st, 1795338300, "bruteforce", &net, "expire", 999), 0,
		  "remove with missing evidence");
	CHECK_STR(history(st, "198.51.100.7"),
		  "1000 bruteforce add ev1@1795338000 overload: rule 3: max-src-conn-rate 6/3 "
		  "exceeded (7/6)|"
		  "1001 spamd add ev2@1795338100 manual: |"
		  "1795338000 bruteforce zero ev0@0 : |"
		  "1795338200 bruteforce delete ev2@1795338100 manual: |",
		  "a removal records the addition with it, oldest first");
	CHECK_STR(history(st, "203.0.113.0/24"),
		  "2000 bruteforce add ev1@1795338000 overload: rule 3: max-src-conn-rate 6/3 "
		  "exceeded (7/6)|"
		  "1795338300 bruteforce expire ev999@0 : |",
		  "missing evidence keeps its id");
	CHECK_STR(history(st, "203.0.113.0"), "", "no history for the /32 of a /24");
	CHECK_STR(listing(st),
		  "spamd 198.51.100.7 1001 1001 0 2 -|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 -",
		  "removed entries are gone");

	/* A second connection to the same file: WAL lets it read and write
	 * while the first one stays open. */
	err = store_open(db, &st2);
	CHECK_INT(err, 0, "second open of the same store");
	if (!err) {
		CHECK_STR(history(st2, "198.51.100.7"),
			  "1000 bruteforce add ev1@1795338000 overload: rule 3: "
			  "max-src-conn-rate 6/3 exceeded (7/6)|"
			  "1001 spamd add ev2@1795338100 manual: |"
			  "1795338000 bruteforce zero ev0@0 : |"
			  "1795338200 bruteforce delete ev2@1795338100 manual: |",
			  "the other connection reads the same history");
		CHECK_INT(store_begin(st), 0, "first connection begins a write");
		m = meta(3000, ev1);
		CHECK_INT(store_entry_put(st, "bruteforce", &a, &m, NULL), 0,
			  "put inside transaction");
		CHECK(strstr(listing(st), "bruteforce 198.51.100.7 3000") != NULL,
		      "the writer sees its own uncommitted entry");
		CHECK(strstr(listing(st2), "bruteforce 198.51.100.7") == NULL,
		      "second connection does not see the uncommitted entry");
		CHECK_INT(store_commit(st), 0, "commit");
		CHECK(strstr(listing(st2), "bruteforce 198.51.100.7 3000") != NULL,
		      "second connection sees the committed entry");
		CHECK_INT(store_entry_delete(st2, "bruteforce", &a), 0,
			  "second connection writes");
		CHECK(strstr(listing(st), "bruteforce 198.51.100.7") == NULL,
		      "first connection sees the second's write");
		store_close(st2);
	}

	CHECK_INT(store_begin(st), 0, "begin for rollback");
	m = meta(4000, ev2);
	CHECK_INT(store_entry_put(st, "bruteforce", &v6, &m, NULL), 0, "put, to be rolled back");
	CHECK_INT(store_table_delete_all(st, "spamd"), 0, "delete all inside transaction");
	CHECK_INT(store_rollback(st), 0, "rollback");
	CHECK_STR(listing(st),
		  "spamd 198.51.100.7 1001 1001 0 2 -|"
		  "spamd 2001:db8:bad::/48 1001 1001 0 2 -",
		  "rollback undid the put and the delete");

	CHECK_INT(store_begin(st), 0, "begin");
	CHECK_INT(store_entry_put(st, "bruteforce", &v6, &m, NULL), 0, "put");
	m = meta(4001, ev1);
	CHECK_INT(store_entry_put(st, "bruteforce", &v6, &m, &base), 0, "put the same again");
	CHECK_INT(store_entry_delete(st, "spamd", &a), 0, "delete in the same transaction");
	CHECK_INT(store_table_delete_all(st, "spamd"), 0, "delete all of a table");
	m = meta(4002, ev2);
	CHECK_INT(store_entry_put(st, "spamd", &net, &m, NULL), 0, "put after delete all");
	CHECK_INT(store_commit(st), 0, "commit");
	CHECK_STR(listing(st),
		  "bruteforce 2001:db8::1 4001 4001 0 1 1 2 3 4 5 6 7 18446744073709551615|"
		  "spamd 203.0.113.0/24 4002 4002 0 2 -",
		  "the last put of an entry wins; delete all empties the table");
	CHECK_INT(store_table_delete_all(st, "nosuch"), 0, "delete all of an empty table");
	store_close(st);

	st = NULL;
	err = store_open(db, &st);
	CHECK_INT(err, 0, "reopen");
	if (err)
		return;
	CHECK_STR(listing(st),
		  "bruteforce 2001:db8::1 4001 4001 0 1 1 2 3 4 5 6 7 18446744073709551615|"
		  "spamd 203.0.113.0/24 4002 4002 0 2 -",
		  "entries persisted");
	CHECK_INT(store_evidence_get(st, ev1, &got), 0, "evidence persisted");
	CHECK_STR(got.source, "overload", "persisted evidence source");
	CHECK_STR(history(st, "203.0.113.0/24"),
		  "2000 bruteforce add ev1@1795338000 overload: rule 3: max-src-conn-rate 6/3 "
		  "exceeded (7/6)|"
		  "4002 spamd add ev2@1795338100 manual: |"
		  "1795338300 bruteforce expire ev999@0 : |",
		  "history persisted");
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

static mode_t mode_of(const char *path, const char *suffix)
{
	char name[PATH_MAX + 8];
	struct stat st;

	snprintf(name, sizeof(name), "%s%s", path, suffix);
	return lstat(name, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The store quotes evidence: 0640 at most, whatever the umask; no symlinks. */
static void test_file_modes(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char path[PATH_MAX], victim[PATH_MAX];
	struct evidence ev = { .when = 1795338000, .source = "manual" };
	mode_t old_mask = umask(022);
	struct store *st;
	FILE *fp;

	st = open_named("modes.db", path);
	if (st) {
		/* A write makes SQLite create the -wal and -shm files. */
		CHECK(store_evidence_add(st, &ev) > 0, "a write to the new store");
		for (size_t i = 0; i < 3; i++)
			CHECK_INT(mode_of(path, suffixes[i]), 0640,
				  "umask 022: greywall.db%s is created 0640", suffixes[i]);
		store_close(st);
	}
	remove_db(path);

	/* An older version left the files world-readable: a second open (while
	 * the first keeps the WAL files) takes them down to 0640. */
	st = open_named("modes.db", path);
	if (st) {
		struct store *again;

		CHECK(store_evidence_add(st, &ev) > 0, "a write to the store");
		for (size_t i = 0; i < 3; i++) {
			char name[PATH_MAX + 8];

			snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
			chmod(name, i ? 0666 : 04755);
		}
		CHECK_INT(store_open(path, &again), 0, "open the store again");
		for (size_t i = 0; i < 3; i++)
			CHECK_INT(mode_of(path, suffixes[i]), 0640,
				  "greywall.db%s of mode %s is now 0640", suffixes[i],
				  i ? "0666" : "04755");
		store_close(again);
		CHECK(store_evidence_add(st, &ev) > 0, "the first connection still writes");
		store_close(st);
	}
	remove_db(path);

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fp = fopen(victim, "w");
	fputs("victim\n", fp);
	fclose(fp);
	chmod(victim, 0644);
	snprintf(path, sizeof(path), "%s/linked.db", dir);
	CHECK(symlink(victim, path) == 0, "plant a symlink at the store's name");
	st = (struct store *)1;
	CHECK_INT(store_open(path, &st), -ELOOP, "a symlink at the store's name: -ELOOP");
	CHECK(st == NULL, "no store through a symlink");
	CHECK_STR(read_small_file(victim), "victim\n", "the link target's content is untouched");
	CHECK_INT(mode_of(victim, ""), 0644, "the link target's mode is untouched");
	unlink(path);

	/* The same for a -wal name an attacker got to first. */
	snprintf(path, sizeof(path), "%s/walled.db", dir);
	snprintf(victim, sizeof(victim), "%s/walled.db-wal", dir);
	{
		char target[PATH_MAX];

		snprintf(target, sizeof(target), "%s/victim", dir);
		CHECK(symlink(target, victim) == 0, "plant a symlink at the -wal name");
		CHECK_INT(store_open(path, &st), -ELOOP, "a symlink at the -wal name: -ELOOP");
		CHECK_STR(read_small_file(target), "victim\n", "its target is untouched");
		unlink(target);
	}
	remove_db(path);
	umask(old_mask);
}

static void benchmark_million_puts(void)
{
	char path[PATH_MAX];
	struct timespec t0;
	struct store *st;
	struct entry_meta m = meta(1795338000, 1);
	long count = 0;
	int err;

	st = open_named("bench.db", path);
	if (!st)
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
		err = store_entry_put(st, "bruteforce", &p, &m, NULL);
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

/* An IPv4 host from a number, for tests with many entries. */
static struct addr_prefix host_n(uint32_t v)
{
	struct addr_prefix p = { .family = AF_INET, .plen = 32 };

	p.bytes[0] = (uint8_t)(v >> 24);
	p.bytes[1] = (uint8_t)(v >> 16);
	p.bytes[2] = (uint8_t)(v >> 8);
	p.bytes[3] = (uint8_t)v;
	return p;
}

/* Sum of `added` over the entries of one table, and their count. */
struct table_sum {
	const char *table;
	long count;
	int64_t added;
};

static int sum_cb(void *ctx, const char *table, const struct addr_prefix *p,
		  const struct entry_meta *m, const struct gw_counters *baseline)
{
	struct table_sum *sum = ctx;

	(void)p;
	(void)baseline;
	if (!strcmp(table, sum->table)) {
		sum->count++;
		sum->added += m->added;
	}
	return 0;
}

/*
 * A transaction that puts many entries into a table reads the table's
 * stored buckets in one pass: entries already stored must stay, and the
 * ones put again must be replaced, not doubled.
 */
static void test_many_into_stored_table(void)
{
	char path[PATH_MAX];
	struct table_sum sum = { .table = "big" };
	struct entry_meta m = meta(10, 1);
	struct store *st;
	int err = 0;

	st = open_named("many.db", path);
	if (!st)
		return;
	for (uint32_t i = 0; !err && i < 100; i++) {
		struct addr_prefix p = host_n(0xc0000200u + i);

		err = store_entry_put(st, "big", &p, &m, NULL);
	}
	CHECK_INT(err, 0, "100 entries stored one by one");
	m = meta(1000, 2);
	err = store_begin(st);
	for (uint32_t i = 0; !err && i < 20000; i++) {
		struct addr_prefix p = host_n(0x0a000000u + i);

		err = store_entry_put(st, "big", &p, &m, NULL);
	}
	for (uint32_t i = 0; !err && i < 10; i++) {
		struct addr_prefix p = host_n(0xc0000200u + i);

		err = store_entry_put(st, "big", &p, &m, NULL);
	}
	if (!err)
		err = store_commit(st);
	CHECK_INT(err, 0, "20,010 puts in one transaction");
	CHECK_INT(store_entries_foreach(st, sum_cb, &sum), 0, "foreach");
	CHECK_INT(sum.count, 20100, "the stored entries stayed, none doubled");
	CHECK_INT(sum.added, 20010 * 1000 + 90 * 10, "ten old entries replaced");
	store_close(st);
	remove_db(path);
}

/*
 * Checkpoints: a busy store's commits leave them to store_checkpoint()
 * (SQLite's own comes only at a large WAL), which copies the WAL back.
 */
static void test_checkpoint(void)
{
	char path[PATH_MAX];
	struct entry_meta m = meta(10, 1);
	struct store *st;
	int err = 0, frames = -1, done = -1;

	st = open_named("ckpt.db", path);
	if (!st)
		return;
	/* 1500 commits of one entry each (a page or more each): over SQLite's default 1000. */
	for (uint32_t i = 0; !err && i < 1500; i++) {
		struct addr_prefix p = host_n(0x0a010000u + i * 7919u);

		err = store_entry_put(st, "ckpt", &p, &m, NULL);
	}
	CHECK_INT(err, 0, "1500 entries, a commit each");
	CHECK_INT(store_checkpoint(st, &frames, &done), 0, "checkpoint");
	CHECK(frames > 1000, "the WAL held them all (%d frames): no checkpoint inside a commit",
	      frames);
	CHECK_INT(done, frames, "every frame is in the database now");
	CHECK_INT(store_checkpoint(st, &frames, &done), 0, "checkpoint again");
	CHECK_INT(done, frames, "nothing left to copy");
	store_close(st);
	remove_db(path);
}

/* A store as version 1 wrote it: one row per entry, one history row per addition. */
static const char v1_sql[] =
	"CREATE TABLE evidence(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" source TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE TABLE entries(tbl TEXT NOT NULL, family INTEGER NOT NULL, plen INTEGER NOT NULL,"
	" addr BLOB NOT NULL, added INTEGER NOT NULL, cleared INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL, evidence_id INTEGER NOT NULL, baseline BLOB,"
	" PRIMARY KEY(tbl, family, addr, plen)) WITHOUT ROWID;"
	"CREATE TABLE history(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, tbl TEXT NOT NULL,"
	" family INTEGER NOT NULL, addr BLOB NOT NULL, plen INTEGER NOT NULL,"
	" action TEXT NOT NULL, evidence_id INTEGER NOT NULL);"
	"CREATE INDEX history_by_addr ON history(family, addr, plen);"
	"INSERT INTO evidence VALUES(1, 1795338000, 'manual', 'add (uid 0)');"
	"INSERT INTO evidence VALUES(2, 1795338100, 'import', 'list');"
	"INSERT INTO entries VALUES('bruteforce', 2, 32, x'c6336407', 1795338000, 1795338050,"
	" 1795338060, 1, x'010000000000000002000000000000000300000000000000040000000000"
	"00000500000000000000060000000000000007000000000000000800000000000000');"
	"INSERT INTO entries VALUES('bruteforce', 10, 48, x'20010db80bad00000000000000000000',"
	" 1795338100, 1795338100, 0, 2, NULL);"
	"INSERT INTO history VALUES(1, 1795338000, 'bruteforce', 2, x'c6336407', 32, 'add', 1);"
	"INSERT INTO history VALUES(2, 1795338050, 'bruteforce', 2, x'c6336407', 32, 'zero', 0);"
	"INSERT INTO history VALUES(3, 1795338100, 'bruteforce', 10,"
	" x'20010db80bad00000000000000000000', 48, 'add', 2);"
	"INSERT INTO history VALUES(4, 1795338000, 'spamd', 2, x'c6336407', 32, 'add', 1);"
	"INSERT INTO history VALUES(5, 1795338070, 'spamd', 2, x'c6336407', 32, 'delete', 1);"
	"PRAGMA user_version = 1;";

/* An integer from a one-value query on the store's own connection, or -1. */
static long long query_int(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(store_sqlite(st), sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void test_upgrade_from_v1(void)
{
	char path[PATH_MAX];
	struct store *st;
	sqlite3 *raw;
	int err;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	CHECK_INT(sqlite3_open(path, &raw), SQLITE_OK, "create a version 1 store");
	CHECK_INT(sqlite3_exec(raw, v1_sql, NULL, NULL, NULL), SQLITE_OK, "version 1 schema and rows");
	sqlite3_close(raw);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "open upgrades version 1");
	if (err)
		return;
	CHECK_INT(query_int(st, "PRAGMA user_version"), 3, "now version 3");
	CHECK_INT(query_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'entries_v1'"), 0,
		  "the old entries table is gone");
	CHECK_STR(listing(st),
		  "bruteforce 198.51.100.7 1795338000 1795338050 1795338060 1 1 2 3 4 5 6 7 8|"
		  "bruteforce 2001:db8:bad::/48 1795338100 1795338100 0 2 -",
		  "entries carried over with their baseline");
	CHECK_STR(history(st, "198.51.100.7"),
		  "1795338000 spamd add ev1@1795338000 manual: add (uid 0)|"
		  "1795338000 bruteforce add ev1@1795338000 manual: add (uid 0)|"
		  "1795338050 bruteforce zero ev0@0 : |"
		  "1795338070 spamd delete ev1@1795338000 manual: add (uid 0)|",
		  "history: each addition once, the gone entry's kept");
	CHECK_STR(history(st, "2001:db8:bad::/48"),
		  "1795338100 bruteforce add ev2@1795338100 import: list|",
		  "the addition of a present network once");
	store_close(st);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "an upgraded store opens again");
	if (!err) {
		CHECK_INT(query_int(st, "SELECT count(*) FROM history"), 3,
			  "no conversion the second time");
		store_close(st);
	}
	remove_db(path);
}

/* Version 2's greylist: paths without angle brackets, one from a spamd peer with them. */
static const char v2_grey_sql[] =
	"CREATE TABLE grey_tuples(family INTEGER NOT NULL, addr BLOB NOT NULL,"
	" helo TEXT NOT NULL, mfrom TEXT NOT NULL, rcpt TEXT NOT NULL,"
	" first INTEGER NOT NULL, pass INTEGER NOT NULL, expire INTEGER NOT NULL,"
	" bcount INTEGER NOT NULL, pcount INTEGER NOT NULL,"
	" PRIMARY KEY(family, addr, helo, mfrom, rcpt)) WITHOUT ROWID;"
	"CREATE TABLE grey_addrs(family INTEGER NOT NULL, addr BLOB NOT NULL, plen INTEGER NOT NULL,"
	" first INTEGER NOT NULL, pass INTEGER NOT NULL, expire INTEGER NOT NULL,"
	" bcount INTEGER NOT NULL, pcount INTEGER NOT NULL, helo TEXT NOT NULL DEFAULT '',"
	" mfrom TEXT NOT NULL DEFAULT '', rcpt TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY(family, addr, plen)) WITHOUT ROWID;"
	"CREATE TABLE grey_callbacks(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" family INTEGER NOT NULL, addr BLOB NOT NULL, helo TEXT NOT NULL,"
	" rcpt TEXT NOT NULL, host TEXT NOT NULL, epoch INTEGER NOT NULL);"
	"INSERT INTO grey_tuples VALUES(2, x'c6336407', 'a.example.net', 'A@a.example.net',"
	" 'u@example.org', 100, 200, 300, 1, 0);"
	"INSERT INTO grey_tuples VALUES(2, x'c6336407', 'a.example.net', '', 'v@example.org',"
	" 100, 200, 300, 2, 0);"
	"INSERT INTO grey_tuples VALUES(2, x'c6336408', 'b', 'x@b', 'y@example.org',"
	" 110, 210, 310, 1, 0);"
	"INSERT INTO grey_tuples VALUES(2, x'c6336408', 'b', '<x@b>', '<y@example.org>',"
	" 120, 220, 320, 5, 0);"
	"INSERT INTO grey_addrs VALUES(2, x'c6336409', 32, 1, 1, 9, 1, -1, 'h', 's@x', 'trap@example.org');"
	"INSERT INTO grey_addrs VALUES(2, x'c633640a', 32, 1, 1, 9, 1, -1, '', '', '');"
	"INSERT INTO grey_callbacks VALUES(1, 5, 2, x'c6336407', 'h', 'rnd@example.org', 'mx', 7);";

/* Rows of a query, '|' after each, columns joined by ' '. */
static const char *rows(struct store *st, const char *sql)
{
	static char out[1024];
	size_t len = 0;
	sqlite3_stmt *s;

	out[0] = '\0';
	if (sqlite3_prepare_v2(store_sqlite(st), sql, -1, &s, NULL) != SQLITE_OK)
		return "(bad query)";
	while (sqlite3_step(s) == SQLITE_ROW && len < sizeof(out)) {
		for (int i = 0; i < sqlite3_column_count(s) && len < sizeof(out); i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "",
						(const char *)sqlite3_column_text(s, i));
		if (len < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len, "|");
	}
	sqlite3_finalize(s);
	return out;
}

static void test_upgrade_grey_from_v2(void)
{
	char path[PATH_MAX];
	struct store *st;
	sqlite3 *raw;
	int err;

	snprintf(path, sizeof(path), "%s/v2grey.db", dir);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "a new store");
	if (err)
		return;
	store_close(st);
	CHECK_INT(sqlite3_open(path, &raw), SQLITE_OK, "open it raw");
	CHECK_INT(sqlite3_exec(raw, v2_grey_sql, NULL, NULL, NULL), SQLITE_OK,
		  "version 2's greylist rows");
	CHECK_INT(sqlite3_exec(raw, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK,
		  "marked version 2");
	sqlite3_close(raw);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "open converts version 2");
	if (err)
		return;
	CHECK_INT(query_int(st, "PRAGMA user_version"), 3, "now version 3");
	CHECK_STR(rows(st, "SELECT hex(addr), mfrom, rcpt, first, bcount FROM grey_tuples"
			   " ORDER BY addr, mfrom, rcpt"),
		  "C6336407 <> <v@example.org> 100 2|"
		  "C6336407 <A@a.example.net> <u@example.org> 100 1|"
		  "C6336408 <x@b> <y@example.org> 120 5|",
		  "tuples in spamd's form, the null sender <>; a peer's bracketed duplicate kept once");
	CHECK_STR(rows(st, "SELECT hex(addr), mfrom, rcpt FROM grey_addrs ORDER BY addr"),
		  "C6336409 <s@x> <trap@example.org>|C633640A  |",
		  "a TRAPPED entry's evidence converted, a hand-added one left empty");
	CHECK_STR(rows(st, "SELECT rcpt FROM grey_callbacks"), "<rnd@example.org>|",
		  "callback probes' recipients converted");
	/* A client that wrote "MAIL FROM:bare@b" is kept so now. */
	CHECK_INT(sqlite3_exec(store_sqlite(st),
			       "INSERT INTO grey_tuples VALUES(2, x'c633640b', 'b', 'bare@b',"
			       " 'bare@example.org', 1, 1, 1, 1, 0)", NULL, NULL, NULL),
		  SQLITE_OK, "a tuple of a client that wrote bare paths");
	store_close(st);
	err = store_open(path, &st);
	CHECK_INT(err, 0, "a converted store opens again");
	if (!err) {
		CHECK_STR(rows(st, "SELECT mfrom FROM grey_tuples ORDER BY addr, mfrom"),
			  "<>|<A@a.example.net>|<x@b>|bare@b|", "no conversion the second time");
		store_close(st);
	}
	remove_db(path);
}

static void test_corrupt_bucket(void)
{
	char path[PATH_MAX];
	struct store *st;
	long count = 0;

	st = open_named("corrupt.db", path);
	if (!st)
		return;
	CHECK_INT(sqlite3_exec(store_sqlite(st),
			       "INSERT INTO entries VALUES(5, 'bad', x'1f0120c633')", NULL, NULL,
			       NULL),
		  SQLITE_OK, "a bucket whose record claims more bytes than it has");
	CHECK_INT(store_entries_foreach(st, count_cb, &count), -EBADMSG,
		  "foreach reports the corrupt bucket");
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
	test_file_modes();
	test_upgrade_from_v1();
	test_upgrade_grey_from_v2();
	test_corrupt_bucket();
	test_many_into_stored_table();
	test_checkpoint();
	benchmark_million_puts();

	remove_db(db);
	rmdir(dir);
	return check_done();
}
