// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The location database and the dumps with places, against a small
 * database written here with libloc's own writer (real country codes on
 * documentation networks), byte for byte; a cut or corrupt database
 * refused; the CSV quoting and its formula guard.
 *
 * `test_location --write-db PATH` only writes that database (for
 * tests/integration/test_location.sh) and exits.
 */
#define LIBLOC_PRIVATE
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <libloc/as.h>
#include <libloc/format.h>
#include <libloc/libloc.h>
#include <libloc/network.h>
#include <libloc/writer.h>

#include "check.h"
#include "files.h"
#include "lib/csv.h"
#include "lib/location.h"
#include "tables/dump.h"
#include "tables/dump_location.h"
#include "watch/attempts.h"

static char base[] = "/tmp/gw-location-XXXXXX";
static char dir[PATH_MAX - 64];

static const struct {
	const char *network;
	const char *country;	/* NULL: none */
	uint32_t asn;
} networks[] = {
	{ "192.0.2.0/25", "DE", 64500 },
	{ "192.0.2.128/26", NULL, 64502 },
	{ "2001:db8:1::/48", "SE", 64501 },
	/* An allocation spanning 2001:db8::/32, as Debian's database has one. */
	{ "2001:c00::/23", "AU", 0 },
};

static const struct {
	uint32_t number;
	const char *name;
} ases[] = {
	{ 64500, "Example Net A" },
	{ 64501, "Example Net B" },
	{ 64502, "Tab\tand\nnewline" },
};

static int write_db(const char *path)
{
	struct loc_ctx *ctx;
	struct loc_writer *w;
	FILE *f;
	int ret = -1;

	if (loc_new(&ctx))
		return -1;
	if (loc_writer_new(ctx, &w, NULL, NULL))
		goto out_ctx;
	loc_writer_set_vendor(w, "greywall tests");
	for (size_t i = 0; i < sizeof(networks) / sizeof(networks[0]); i++) {
		struct loc_network *n;

		if (loc_writer_add_network(w, &n, networks[i].network))
			goto out;
		if (networks[i].country)
			loc_network_set_country_code(n, networks[i].country);
		loc_network_set_asn(n, networks[i].asn);
		loc_network_unref(n);
	}
	for (size_t i = 0; i < sizeof(ases) / sizeof(ases[0]); i++) {
		struct loc_as *as;

		if (loc_writer_add_as(w, &as, ases[i].number))
			goto out;
		loc_as_set_name(as, ases[i].name);
		loc_as_unref(as);
	}
	f = fopen(path, "w");
	if (!f)
		goto out;
	ret = loc_writer_write(w, f, LOC_DATABASE_VERSION_1);
	if (fclose(f))
		ret = -1;
out:
	loc_writer_unref(w);
out_ctx:
	loc_unref(ctx);
	return ret;
}

static void entry(struct dump_entry *e, const char *addr)
{
	memset(e, 0, sizeof(*e));
	if (addr_parse(addr, &e->prefix))
		abort();
}

static const char *slurp(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_small_file(path);
}

/* The gzip copy of name, inflated, equals name. */
static bool gzip_matches(const char *name)
{
	char path[PATH_MAX], plain[4096], unzipped[4096];
	gzFile gz;
	int n;

	snprintf(plain, sizeof(plain), "%s", slurp(name) ? slurp(name) : "(none)");
	snprintf(path, sizeof(path), "%s/%s.gz", dir, name);
	gz = gzopen(path, "rb");
	if (!gz)
		return false;
	n = gzread(gz, unzipped, sizeof(unzipped) - 1);
	gzclose(gz);
	if (n < 0)
		return false;
	unzipped[n] = '\0';
	return !strcmp(plain, unzipped);
}

static void test_lookups(struct location *loc)
{
	static const struct {
		const char *addr;
		int ret;
		const char *network, *country;
		uint32_t asn;
	} cases[] = {
		{ "192.0.2.7", 0, "192.0.2.0/25", "DE", 64500 },
		{ "192.0.2.127", 0, "192.0.2.0/25", "DE", 64500 },
		{ "192.0.2.0/28", 0, "192.0.2.0/25", "DE", 64500 },
		{ "192.0.2.130", 0, "192.0.2.128/26", "--", 64502 },
		{ "192.0.2.200", -ENOENT, NULL, NULL, 0 },
		{ "198.51.100.7", -ENOENT, NULL, NULL, 0 },
		{ "203.0.113.0/24", -ENOENT, NULL, NULL, 0 },
		{ "2001:db8:1::5", 0, "2001:db8:1::/48", "SE", 64501 },
		/* Inside 2001:c00::/23, but documentation: not placed by it. */
		{ "2001:db8:5::1", -ENOENT, NULL, NULL, 0 },
		{ "2001:c00::1", 0, "2001:c00::/23", "AU", 0 },
	};
	char name[LOCATION_AS_NAME_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct location_place place = { 0 };
		struct addr_prefix addr;
		char text[ADDR_STRLEN];
		int ret;

		addr_parse(cases[i].addr, &addr);
		ret = location_lookup(loc, &addr, &place);
		CHECK_INT(ret, cases[i].ret, "lookup %s", cases[i].addr);
		if (ret || cases[i].ret)
			continue;
		addr_format(&place.network, text, sizeof(text));
		CHECK_STR(text, cases[i].network, "%s is in %s", cases[i].addr, cases[i].network);
		CHECK_STR(place.country, cases[i].country, "%s is in %s", cases[i].addr,
			  cases[i].country);
		CHECK_INT(place.asn, cases[i].asn, "%s is in AS%u", cases[i].addr, cases[i].asn);
	}
	CHECK(location_as_name(loc, 64500, name, sizeof(name)) == 0 &&
		      !strcmp(name, "Example Net A"),
	      "AS64500 is \"Example Net A\"");
	CHECK_INT(location_as_name(loc, 64999, name, sizeof(name)), -ENOENT, "AS64999 has no name");
	CHECK_INT(location_as_name(loc, 0, name, sizeof(name)), -ENOENT, "AS0 has no name");
}

static const char cc_want[] =
	"# greywall table groper\n"
	"# generated 2026-11-22T09:00:00Z\n"
	"# 6 entries\n"
	"# contact: abuse@example.org\n"
	"# columns: address country asn as_name\n"
	"192.0.2.7\tDE\tAS64500\tExample Net A\n"
	"192.0.2.9\tDE\tAS64500\tExample Net A\n"
	"192.0.2.130\t--\tAS64502\tTab\\tand\\nnewline\n"
	"198.51.100.7\t--\t--\t--\n"
	"203.0.113.0/24\t--\t--\t--\n"
	"2001:db8:1::5\tSE\tAS64501\tExample Net B\n";

static const char by_country_want[] =
	"# greywall table groper\n"
	"# generated 2026-11-22T09:00:00Z\n"
	"# 6 entries\n"
	"# contact: abuse@example.org\n"
	"# columns: country count share\n"
	"--\t3\t50.00%\n"
	"DE\t2\t33.33%\n"
	"SE\t1\t16.67%\n";

static const char by_network_want[] =
	"# greywall table groper\n"
	"# generated 2026-11-22T09:00:00Z\n"
	"# 6 entries\n"
	"# contact: abuse@example.org\n"
	"# columns: network asn country count as_name\n"
	"192.0.2.0/25\tAS64500\tDE\t2\tExample Net A\n"
	"192.0.2.128/26\tAS64502\t--\t1\tTab\\tand\\nnewline\n"
	"2001:db8:1::/48\tAS64501\tSE\t1\tExample Net B\n"
	"--\t--\t--\t2\t--\n";

static void test_dumps(struct location *loc)
{
	const struct dump_options opts = {
		.contact = "abuse@example.org", .location = loc, .gzip = true
	};
	static const char *const files[] = {
		"groper.txt", "groper_full.txt", "groper_cc.txt", "groper_by_country.txt",
		"groper_by_network.txt",
	};
	struct dump_entry e[6];
	int64_t now = 1795338000;	/* 2026-11-22T09:00:00Z */

	entry(&e[0], "192.0.2.7");
	entry(&e[1], "192.0.2.9");
	entry(&e[2], "192.0.2.130");
	entry(&e[3], "198.51.100.7");
	entry(&e[4], "203.0.113.0/24");
	entry(&e[5], "2001:db8:1::5");
	CHECK_INT(dump_write_table(dir, "groper", &opts, now, e, 6), 0, "dump with places");
	CHECK_STR(slurp("groper_cc.txt"), cc_want, "groper_cc.txt");
	CHECK_STR(slurp("groper_by_country.txt"), by_country_want, "groper_by_country.txt");
	CHECK_STR(slurp("groper_by_network.txt"), by_network_want, "groper_by_network.txt");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		CHECK(gzip_matches(files[i]), "%s.gz inflates to %s", files[i], files[i]);

	/* No database: no place files; no gzip: no new copies. */
	{
		const struct dump_options plain = { 0 };

		CHECK_INT(dump_write_table(dir, "plain", &plain, now, e, 6), 0, "dump without");
		CHECK(!slurp("plain_cc.txt") && !slurp("plain_by_country.txt") &&
			      !slurp("plain_by_network.txt") && !slurp("plain.txt.gz"),
		      "no place files and no .gz without the options");
		CHECK(slurp("plain.txt") != NULL, "the plain dump is there");
	}
	/* Every table's places together, for the report's top countries and networks. */
	{
		struct dump_place_row c[20], nw[20];
		struct dump_places all;
		struct dump_options with = opts;
		size_t nc = 0, nn = 0;

		CHECK_INT(dump_places_init(&all), 0, "places: init");
		with.places = &all;
		with.gzip = false;
		CHECK_INT(dump_write_table(dir, "groper", &with, now, e, 6), 0, "places: one table");
		CHECK_INT(dump_write_table(dir, "second", &with, now, e, 1), 0, "places: another");
		CHECK_INT(dump_places_top(&all, loc, c, &nc, nw, &nn, 20), 0, "places: the top");
		CHECK(nc == 3 && !strcmp(c[0].country, "--") && c[0].count == 3 &&
			      !strcmp(c[1].country, "DE") && c[1].count == 3 &&
			      !strcmp(c[2].country, "SE") && c[2].count == 1,
		      "places: countries of both tables, by count, then code (%zu)", nc);
		CHECK(nn == 3 && !strcmp(nw[0].network, "192.0.2.0/25") && nw[0].count == 3 &&
			      !strcmp(nw[0].as, "AS64500 Example Net A") &&
			      !strcmp(nw[0].country, "DE"),
		      "places: the first network, its AS and country (%zu)", nn);
		CHECK(nn == 3 && !strcmp(nw[1].network, "192.0.2.128/26") &&
			      !strcmp(nw[1].as, "AS64502 Tab\tand\nnewline") &&
			      !strcmp(nw[2].network, "2001:db8:1::/48") && nw[2].count == 1,
		      "places: the others, the AS name as the database has it");
		CHECK_INT(dump_places_top(&all, loc, c, &nc, nw, &nn, 1), 0, "places: a top of one");
		CHECK(nc == 1 && nn == 1, "places: max bounds the rows");
		dump_places_free(&all);
	}
	/* An empty table: headers only, no line of counts. */
	CHECK_INT(dump_write_table(dir, "empty", &opts, now, NULL, 0), 0, "empty table");
	CHECK_STR(slurp("empty_by_network.txt"),
		  "# greywall table empty\n# generated 2026-11-22T09:00:00Z\n# 0 entries\n"
		  "# contact: abuse@example.org\n# columns: network asn country count as_name\n",
		  "empty table: no count lines");
}

static void test_print_place(struct location *loc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct addr_prefix a, b;

	addr_parse("192.0.2.7", &a);
	addr_parse("198.51.100.7", &b);
	dump_print_place(fp, loc, &a);
	fputc('|', fp);
	dump_print_place(fp, loc, &b);
	fclose(fp);
	CHECK_STR(buf,
		  "DE AS64500 Example Net A, network 192.0.2.0/25|"
		  "-- (not placed by the location database)",
		  "why's place line");
	free(buf);
}

/* A watcher's attempts with places. */
static void test_attempts_csv(struct location *loc)
{
	struct watch_attempts *a;
	struct addr_prefix x, y;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	addr_parse("192.0.2.7", &x);
	addr_parse("198.51.100.7", &y);
	watch_attempts_new(10, &a);
	watch_attempts_note(a, &x, "root", 1795338000);
	watch_attempts_note(a, &y, "+admin", 1795338001);
	CHECK_INT(watch_attempts_write_csv(a, fp, loc), 0, "attempts CSV with places");
	fclose(fp);
	CHECK_STR(buf,
		  "address,user,attempts,first_seen,last_seen,network,asn,country\r\n"
		  "192.0.2.7,\"root\",1,2026-11-22T09:00:00Z,2026-11-22T09:00:00Z,"
		  "192.0.2.0/25,AS64500,DE\r\n"
		  "198.51.100.7,\"'+admin\",1,2026-11-22T09:00:01Z,2026-11-22T09:00:01Z,--,--,--\r\n",
		  "the attempts CSV: network, AS and country, -- where none");
	free(buf);
	watch_attempts_free(a);
}

static int copy_prefix(const char *from, const char *to, long len)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	int c;

	if (!in || !out)
		return -1;
	for (long i = 0; (len < 0 || i < len) && (c = getc(in)) != EOF; i++)
		putc(c, out);
	fclose(in);
	return fclose(out);
}

/* Overwrite 4 bytes at offset with a big-endian value. */
static void poke_be32(const char *path, long offset, uint32_t value)
{
	FILE *f = fopen(path, "r+b");
	uint32_t be = htobe32(value);

	fseek(f, offset, SEEK_SET);
	fwrite(&be, sizeof(be), 1, f);
	fclose(f);
}

static uint32_t peek_be32(const char *path, long offset)
{
	FILE *f = fopen(path, "rb");
	uint32_t be = 0;

	fseek(f, offset, SEEK_SET);
	if (fread(&be, sizeof(be), 1, f) != 1)
		be = 0;
	fclose(f);
	return be32toh(be);
}

static void test_refusals(const char *good)
{
	const long header = sizeof(struct loc_database_magic);
	char path[PATH_MAX], why[128];
	struct location *loc = NULL;
	struct stat st;
	long tree;

	snprintf(path, sizeof(path), "%s/bad.db", dir);
	stat(good, &st);
	for (long cut = 0; cut < st.st_size; cut += st.st_size / 7 + 1) {
		copy_prefix(good, path, cut);
		CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
			  "cut to %ld of %ld bytes: refused (%s)", cut, (long)st.st_size, why);
	}
	copy_prefix(good, path, st.st_size - 1);
	CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
		  "one byte short: refused (%s)", why);

	{
		FILE *f = fopen(path, "wb");

		for (int i = 0; i < 100000; i++)
			putc((i * 7919) & 0xff, f);
		fclose(f);
		CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
			  "garbage refused (%s)", why);
		f = fopen(path, "wb");
		fputs("LOCDBXX\001", f);
		for (int i = 0; i < 100000; i++)
			putc(0xff, f);
		fclose(f);
		CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
			  "the magic, then 0xff: refused (%s)", why);
	}

	/* A tree node pointing past the tree. */
	copy_prefix(good, path, -1);
	tree = (long)peek_be32(path, header + offsetof(struct loc_database_header_v1,
						       network_tree_offset));
	poke_be32(path, tree + offsetof(struct loc_database_network_node_v1, one), 0x7fffffff);
	CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
		  "a tree node out of range: refused (%s)", why);
	/*
	 * A tree that is no tree: a node its own child (a cycle), and a node
	 * reached twice (the root's two children the same). libloc's lookup
	 * sets one bit a level of a 128-bit address on its stack: a fuzzed
	 * file with a cycle smashed it.
	 */
	for (int shape = 0; shape < 2; shape++) {
		long one = offsetof(struct loc_database_network_node_v1, one);
		long zero = offsetof(struct loc_database_network_node_v1, zero);
		long size = sizeof(struct loc_database_network_node_v1);
		uint32_t child;

		copy_prefix(good, path, -1);
		child = peek_be32(path, tree + zero) ? peek_be32(path, tree + zero)
						      : peek_be32(path, tree + one);
		if (shape == 0) {
			poke_be32(path, tree + (long)child * size + one, child);
		} else {
			poke_be32(path, tree + zero, child);
			poke_be32(path, tree + one, child);
		}
		CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG, "%s: refused (%s)",
			  shape ? "a node reached twice" : "a node its own child", why);
	}
	/* A tree that starts off its 4-byte alignment (libloc would read it in place). */
	copy_prefix(good, path, -1);
	poke_be32(path, header + offsetof(struct loc_database_header_v1, network_tree_offset),
		  (uint32_t)tree + 2);
	CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
		  "a misaligned section: refused (%s)", why);
	/* A section said to be longer than the file. */
	copy_prefix(good, path, -1);
	poke_be32(path, header + offsetof(struct loc_database_header_v1, pool_length), 0x10000000);
	CHECK_INT(location_open(path, &loc, why, sizeof(why)), -EBADMSG,
		  "a section beyond the end: refused (%s)", why);

	CHECK_INT(location_open(dir, &loc, why, sizeof(why)), -EINVAL, "a directory: refused");
	snprintf(path, sizeof(path), "%s/none.db", dir);
	CHECK_INT(location_open(path, &loc, why, sizeof(why)), -ENOENT, "a missing file: ENOENT");
	if (access("/usr/share/libloc-location/location.db", R_OK) == 0) {
		CHECK_INT(location_open("/usr/share/libloc-location/location.db", &loc, why,
					sizeof(why)),
			  0, "Debian's location.db opens");
		location_close(loc);
	} else {
		CHECK_SKIP("libloc-database is not installed", "Debian's location.db");
	}
}

static const char *csv_of(const char *field, bool as_text)
{
	static char *buf;
	size_t len = 0;
	FILE *fp;

	free(buf);
	buf = NULL;
	fp = open_memstream(&buf, &len);
	csv_put_field(fp, field, as_text);
	fclose(fp);
	return buf;
}

static void test_csv(void)
{
	static const struct {
		const char *in;
		bool as_text;
		const char *out;
	} cases[] = {
		{ "192.0.2.7", false, "192.0.2.7" },
		{ "a,b", false, "\"a,b\"" },
		{ "say \"hi\"", false, "\"say \"\"hi\"\"\"" },
		{ "two\r\nlines", false, "\"two\r\nlines\"" },
		{ "", false, "" },
		{ "root", true, "\"root\"" },
		{ "=HYPERLINK(\"http://x\")", true, "\"'=HYPERLINK(\"\"http://x\"\")\"" },
		{ "+1", true, "\"'+1\"" },
		{ "-2+3", true, "\"'-2+3\"" },
		{ "@SUM(A1)", true, "\"'@SUM(A1)\"" },
		{ "\tx", true, "\"'\\tx\"" },
		{ "\rx", true, "\"'\\rx\"" },
		{ "a,b\nc", true, "\"a,b\\nc\"" },
		{ "x=1", true, "\"x=1\"" },
		{ "\033[2J", true, "\"\\033[2J\"" },
		{ "", true, "\"\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(csv_of(cases[i].in, cases[i].as_text), cases[i].out, "csv field %zu%s",
			  i, cases[i].as_text ? " (text)" : "");
	csv_of("", false);
}

int main(int argc, char **argv)
{
	char db[PATH_MAX];
	struct location *loc = NULL;
	char why[128];
	int ret;

	if (argc == 3 && !strcmp(argv[1], "--write-db"))
		return write_db(argv[2]) ? 1 : 0;
	if (make_temp_path(base, db, sizeof(db), "test.db"))
		return 1;
	snprintf(dir, sizeof(dir), "%s/pub", base);
	CHECK_INT(write_db(db), 0, "libloc's writer wrote a database");
	ret = location_open(db, &loc, why, sizeof(why));
	CHECK_INT(ret, 0, "it opens (%s)", why);
	if (!ret) {
		test_lookups(loc);
		test_dumps(loc);
		test_print_place(loc);
		test_attempts_csv(loc);
		location_close(loc);
	}
	test_refusals(db);
	test_csv();
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", base);
	}
	return check_done();
}
