// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Publication of a table (greywall.conf(5), DUMPS). Both files are interfaces that
 * other people parse, so their format is fixed here and tested byte for
 * byte in tests/unit/test_dump.c.
 *
 * <table>.txt
 *   # greywall table <table>
 *   # generated <YYYY-MM-DDTHH:MM:SSZ>
 *   # <N> entries
 *   # contact: <contact>                 (only when a contact is configured)
 *   <address>                            (one per entry, in the order given)
 *
 * <table>_full.txt: the same header, then
 *   # columns: address added last_seen in_block in_pass out_block out_pass evidence
 *   and per entry one line of eight fields separated by single tabs:
 *   <address> TAB <added> TAB <last seen> TAB <in_block> TAB <in_pass>
 *   TAB <out_block> TAB <out_pass> TAB <evidence>
 *
 * <address> is addr_format()'s text: hosts without a length
 * ("198.51.100.7", "2001:db8::1"), networks with one ("203.0.113.0/24").
 * Times are UTC as "2026-11-22T09:00:00Z"; a time of 0 (never) is "-".
 * Each counter field is "<packets>/<bytes>" in decimal, counted since the
 * entry was added or last zeroed. The evidence is "<source>: <detail>",
 * "<source>" when there is no detail, "-" when there is no evidence.
 * The evidence and the contact are escaped (escape.h: a tab is "\t", a
 * newline "\n", '\' "\\"), so every entry stays one line of eight fields
 * and a client's bytes inside a trap's evidence reach no reader raw. Lines end in
 * '\n'; "entries" is plural even for 1 so that scripts can match it.
 *
 * With a location database, <table>_cc.txt, _by_country.txt and
 * _by_network.txt too (dump_location.c); with dump-gzip, a <file>.gz copy
 * of each file, written after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/escape.h"
#include "lib/gzipcopy.h"
#include "tables/dump.h"
#include "tables/dump_location.h"

#define DUMP_DIR_MODE 0755

void dump_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!len)
		return;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		buf[0] = '\0';
}

static void put_time(FILE *fp, int64_t t)
{
	char buf[32];

	if (!t) {
		putc('-', fp);
		return;
	}
	dump_format_time(t, buf, sizeof(buf));
	fputs(buf, fp);
}

void dump_write_header(FILE *fp, const char *table, const char *contact, int64_t now, size_t n)
{
	char when[32];

	dump_format_time(now, when, sizeof(when));
	fprintf(fp, "# greywall table %s\n# generated %s\n# %zu entries\n", table, when, n);
	if (contact) {
		fputs("# contact: ", fp);
		escape_vis_file(fp, contact, NULL);
		putc('\n', fp);
	}
}

static void write_list(FILE *fp, const struct dump_entry *entries, size_t n)
{
	char text[ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		addr_format(&entries[i].prefix, text, sizeof(text));
		fputs(text, fp);
		putc('\n', fp);
	}
}

static void write_full(FILE *fp, const struct dump_entry *entries, size_t n)
{
	char text[ADDR_STRLEN];

	fputs("# columns: address added last_seen in_block in_pass out_block out_pass "
	      "evidence\n",
	      fp);
	for (size_t i = 0; i < n; i++) {
		const struct dump_entry *e = &entries[i];
		const struct evidence *ev = &e->evidence;

		addr_format(&e->prefix, text, sizeof(text));
		fputs(text, fp);
		putc('\t', fp);
		put_time(fp, e->meta.added);
		putc('\t', fp);
		put_time(fp, e->meta.last_seen);
		for (int d = 0; d < GW_DIR_MAX; d++)
			fprintf(fp, "\t%" PRIu64 "/%" PRIu64, (uint64_t)e->counters.packets[d],
				(uint64_t)e->counters.bytes[d]);
		putc('\t', fp);
		if (!ev->source[0]) {
			putc('-', fp);
		} else {
			escape_vis_file(fp, ev->source, NULL);
			if (ev->detail[0]) {
				fputs(": ", fp);
				escape_vis_file(fp, ev->detail, NULL);
			}
		}
		putc('\n', fp);
	}
}

/*
 * mkdir one directory with DUMP_DIR_MODE exactly: greywalld's umask (0027)
 * would leave a web server unable to read a directory it serves.
 */
static int make_one_directory(const char *path)
{
	int fd, err = 0;

	if (mkdir(path, DUMP_DIR_MODE) < 0)
		return errno == EEXIST ? 0 : -errno;
	/* O_NOFOLLOW: if the name was swapped for a symlink meanwhile, the
	 * mode of what it points to is left alone. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, DUMP_DIR_MODE) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* mkdir -p: the dump directory is often a fresh web root subdirectory. */
int dump_make_directory(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	int err;

	if (len == 0 || len >= sizeof(path))
		return len ? -ENAMETOOLONG : -EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		err = make_one_directory(path);
		if (err)
			return err;
		*p = '/';
	}
	return make_one_directory(path);
}

static int write_one(const char *dir, const char *table, const char *suffix,
		     const char *contact, int64_t now, const struct dump_entry *entries,
		     size_t n, bool full)
{
	char path[PATH_MAX];
	struct atomic_file af;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, table, suffix) >= sizeof(path))
		return -ENAMETOOLONG;
	err = atomic_file_open(&af, path, DUMP_FILE_MODE);
	if (err)
		return err;
	dump_write_header(af.fp, table, contact, now, n);
	if (full)
		write_full(af.fp, entries, n);
	else
		write_list(af.fp, entries, n);
	if (ferror(af.fp)) {
		atomic_file_abort(&af);
		return -EIO;
	}
	return atomic_file_commit(&af);
}

/* The .gz copy of <dir>/<table><suffix>, when asked for. */
static int gzip_one(const char *dir, const char *table, const char *suffix, bool gzip)
{
	char path[PATH_MAX];

	if (!gzip)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s", dir, table, suffix) >= sizeof(path))
		return -ENAMETOOLONG;
	return gzip_copy_file(path, DUMP_FILE_MODE);
}

int dump_write_table(const char *dir, const char *table, const struct dump_options *opts,
		     int64_t now, const struct dump_entry *entries, size_t n)
{
	int err;

	/* The table name becomes a file name: it must not leave the directory. */
	if (!table[0] || table[0] == '.' || strchr(table, '/'))
		return -EINVAL;
	err = dump_make_directory(dir);
	if (!err)
		err = write_one(dir, table, ".txt", opts->contact, now, entries, n, false);
	if (!err)
		err = write_one(dir, table, "_full.txt", opts->contact, now, entries, n, true);
	if (!err && opts->location)
		err = dump_write_location(dir, table, opts->contact, now, entries, n,
					  opts->location, opts->places);
	if (!err)
		err = gzip_one(dir, table, ".txt", opts->gzip);
	if (!err)
		err = gzip_one(dir, table, "_full.txt", opts->gzip);
	for (int i = 0; i < 3 && !err && opts->location; i++)
		err = gzip_one(dir, table, dump_location_suffixes[i], opts->gzip);
	return err;
}
