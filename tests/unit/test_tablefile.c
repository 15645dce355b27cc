// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "tables/tablefile.h"

static char dir[] = "/tmp/gw-tablefile-XXXXXX";
static char path[PATH_MAX];

/* Collects what the reader delivered as "text@line" lines. */
struct collect {
	char out[4096];
	int n;
	int stop_at;	/* return 42 on this entry (1-based); 0 = never */
};

static int collect_cb(void *ctx, const struct addr_prefix *p, int line)
{
	struct collect *c = ctx;
	char text[ADDR_STRLEN];
	size_t used = strlen(c->out);

	addr_format(p, text, sizeof(text));
	snprintf(c->out + used, sizeof(c->out) - used, "%s@%d\n", text, line);
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

static void write_raw(const char *content, size_t len)
{
	FILE *fp = fopen(path, "w");

	fwrite(content, 1, len, fp);
	fclose(fp);
}

/* Read content as a table file; returns the reader's value. */
static int read_text(const char *content, struct collect *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	write_raw(content, strlen(content));
	return tablefile_read(path, collect_cb, c, err, errlen);
}

static void expect_bad(const char *content, const char *want_msg_fmt, const char *what)
{
	char err[512] = "", want[512];
	struct collect c;

	snprintf(want, sizeof(want), want_msg_fmt, path);
	CHECK_INT(read_text(content, &c, err, sizeof(err)), -EINVAL, "%s: -EINVAL", what);
	CHECK_STR(err, want, "%s: message", what);
}

static int count_cb(void *ctx, const struct addr_prefix *p, int line)
{
	(void)p;
	(void)line;
	(*(long *)ctx)++;
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void benchmark_million_lines(void)
{
	struct timespec t0;
	long count = 0;
	FILE *fp = fopen(path, "w");
	int err;

	/* A mix like a real block list: mostly IPv4 hosts, some networks and
	 * IPv6 addresses, a few comments. */
	for (long i = 0; i < 1000000; i++) {
		if (i % 100 == 0)
			fprintf(fp, "2001:db8:%lx::%lx\n", i >> 16, i & 0xffff);
		else if (i % 50 == 1)
			fprintf(fp, "10.%ld.%ld.0/24\n", (i >> 8) & 255, i & 255);
		else
			fprintf(fp, "10.%ld.%ld.%ld\n", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		if (i % 100000 == 0)
			fprintf(fp, "# block %ld\n", i / 100000);
	}
	fclose(fp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = tablefile_read(path, count_cb, &count, NULL, 0);
	printf("# 1000000 lines read in %.0f ms\n", ms_since(&t0));
	CHECK_INT(err, 0, "read a million-line file");
	CHECK_INT(count, 1000000, "a million entries delivered");
}

static mode_t mode_of(const char *name)
{
	struct stat st;

	return lstat(name, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

/* The rw bits of the owner and group at most, never through a symlink. */
static void test_write_modes(const struct addr_prefix *entries)
{
	char victim[PATH_MAX];
	struct stat st;
	mode_t old_mask = umask(022);

	unlink(path);
	CHECK_INT(tablefile_write(path, entries, 1), 0, "write a new file with umask 022");
	CHECK_INT(mode_of(path), 0640, "a new table file is 0640, not world-readable");

	chmod(path, 04755);
	CHECK_INT(tablefile_write(path, entries, 2), 0, "rewrite a file of mode 04755");
	CHECK_INT(mode_of(path), 0640, "only the rw bits are kept: 04755 becomes 0640");
	chmod(path, 0666);
	CHECK_INT(tablefile_write(path, entries, 2), 0, "rewrite a file of mode 0666");
	CHECK_INT(mode_of(path), 0660, "0666 becomes 0660");
	chmod(path, 0600);
	CHECK_INT(tablefile_write(path, entries, 2), 0, "rewrite a file of mode 0600");
	CHECK_INT(mode_of(path), 0600, "a stricter mode is kept");

	/* A symlink planted at the table file's name, to a setuid file. */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	unlink(path);
	{
		FILE *fp = fopen(victim, "w");

		fputs("#!/bin/sh\n", fp);
		fclose(fp);
	}
	chmod(victim, 04755);
	CHECK(symlink(victim, path) == 0, "plant a symlink at the table file's name");
	CHECK_INT(tablefile_write(path, entries, 2), 0, "write through the planted name");
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the symlink is replaced by a file");
	CHECK_INT(mode_of(path), 0640, "the new file does not take the link target's mode");
	CHECK_INT(mode_of(victim), 04755, "the link target's mode is untouched");
	CHECK_STR(read_small_file(victim), "#!/bin/sh\n", "the link target's content is untouched");
	unlink(victim);
	umask(old_mask);
}

int main(void)
{
	struct addr_prefix entries[5];
	char err[512];
	struct collect c;
	char *big;
	size_t biglen;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/table", dir);

	CHECK_INT(read_text("# a list\n"
			    "\n"
			    "198.51.100.7\n"
			    "  \t 198.51.100.8 \t \n"
			    "198.51.100.9 # trap hit\n"
			    "198.51.100.10#no space\n"
			    "   # indented comment\n"
			    "\t\n"
			    "203.0.113.0/24\n"
			    "2001:db8::1\n"
			    "2001:DB8:bad::/48\n"
			    "198.51.100.11/32\n",
			    &c, err, sizeof(err)),
		  0, "comments, blanks, white space, IPv6, prefixes");
	CHECK_STR(c.out,
		  "198.51.100.7@3\n198.51.100.8@4\n198.51.100.9@5\n198.51.100.10@6\n"
		  "203.0.113.0/24@9\n2001:db8::1@10\n2001:db8:bad::/48@11\n198.51.100.11@12\n",
		  "entries and line numbers");

	CHECK_INT(read_text("198.51.100.7\r\n# comment\r\n\r\n2001:db8::2 \r\n", &c, err,
			    sizeof(err)),
		  0, "CRLF file");
	CHECK_STR(c.out, "198.51.100.7@1\n2001:db8::2@4\n", "CRLF entries");

	CHECK_INT(read_text("198.51.100.7\n198.51.100.8", &c, err, sizeof(err)), 0,
		  "last line without newline");
	CHECK_STR(c.out, "198.51.100.7@1\n198.51.100.8@2\n", "last line is read");

	CHECK_INT(read_text("", &c, err, sizeof(err)), 0, "empty file");
	CHECK_INT(c.n, 0, "empty file has no entries");
	CHECK_INT(read_text("# only\n\n   \n# comments\n", &c, err, sizeof(err)), 0,
		  "comments only");
	CHECK_INT(c.n, 0, "comments only has no entries");

	expect_bad("198.51.100.1\n#\n\n\n\n\n198.51.100.300\n198.51.100.2\n",
		   "%s:7: invalid address \"198.51.100.300\"", "bad octet on line 7");
	expect_bad("  198.51.100.1/24  # host bits\n", "%s:1: invalid address \"198.51.100.1/24\"",
		   "host bits set");
	expect_bad("198.51.100.1 198.51.100.2\n",
		   "%s:1: invalid address \"198.51.100.1 198.51.100.2\"", "two on a line");
	expect_bad("\n\nexample.org\r\n", "%s:3: invalid address \"example.org\"", "host name");
	expect_bad("::ffff:192.0.2.1\n", "%s:1: invalid address \"::ffff:192.0.2.1\"",
		   "IPv4-mapped");

	memset(&c, 0, sizeof(c));
	write_raw("198.51.100.1\0garbage\n", 21);
	CHECK_INT(tablefile_read(path, collect_cb, &c, err, sizeof(err)), -EINVAL,
		  "NUL inside an entry is invalid");

	c.stop_at = 2;
	write_raw("198.51.100.1\n198.51.100.2\n198.51.100.3\n", 39);
	c.out[0] = '\0';
	c.n = 0;
	CHECK_INT(tablefile_read(path, collect_cb, &c, err, sizeof(err)), 42,
		  "callback value stops reading");
	CHECK_INT(c.n, 2, "no entry after the stop");

	/* A comment longer than the read buffer, then an entry. */
	biglen = (3u << 20) + 20;
	big = malloc(biglen + 64);
	memset(big, 'x', biglen);
	big[0] = '#';
	strcpy(big + biglen, "\n198.51.100.99\n");
	CHECK_INT(read_text(big, &c, err, sizeof(err)), 0, "line longer than the buffer");
	CHECK_STR(c.out, "198.51.100.99@2\n", "entry after a long line");
	free(big);

	unlink(path);
	CHECK_INT(tablefile_read(path, collect_cb, &c, err, sizeof(err)), -ENOENT,
		  "missing file is -ENOENT");

	addr_parse("198.51.100.7", &entries[0]);
	addr_parse("203.0.113.0/24", &entries[1]);
	addr_parse("2001:db8::1", &entries[2]);
	addr_parse("2001:db8:bad::/48", &entries[3]);
	addr_parse("0.0.0.0/0", &entries[4]);
	CHECK_INT(tablefile_write(path, entries, 5), 0, "write");
	{
		FILE *fp = fopen(path, "r");
		char text[256] = "";
		size_t n = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;

		text[n] = '\0';
		if (fp)
			fclose(fp);
		CHECK_STR(text, "198.51.100.7\n203.0.113.0/24\n2001:db8::1\n2001:db8:bad::/48\n"
				"0.0.0.0/0\n",
			  "written bytes");
	}
	memset(&c, 0, sizeof(c));
	CHECK_INT(tablefile_read(path, collect_cb, &c, err, sizeof(err)), 0, "read back");
	CHECK_STR(c.out, "198.51.100.7@1\n203.0.113.0/24@2\n2001:db8::1@3\n2001:db8:bad::/48@4\n"
			 "0.0.0.0/0@5\n",
		  "round trip");
	CHECK_INT(tablefile_write(path, entries, 0), 0, "write an empty table");
	memset(&c, 0, sizeof(c));
	CHECK_INT(tablefile_read(path, collect_cb, &c, err, sizeof(err)), 0, "read it back");
	CHECK_INT(c.n, 0, "empty after rewrite");

	test_write_modes(entries);
	benchmark_million_lines();

	unlink(path);
	rmdir(dir);
	return check_done();
}
