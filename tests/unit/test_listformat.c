// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The list reader (tables/listformat.h) and the range cover
 * (lib/addrrange.h): every format from a sample file in
 * tests/unit/data/lists/, mixed and ambiguous files, bad lines with their
 * numbers, bounds, and a timing of a million-line plain list.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/addrrange.h"
#include "tables/listformat.h"

static char data_dir[256];
static char tmpdir[] = "/tmp/gw-listformat-XXXXXX";
static char tmpfile_path[64];

/* What the reader delivered, one "address@line" (" added=T" when set) per line. */
struct collect {
	char out[16384];
	size_t n;
	size_t stop_at; /* return 42 on this entry (1-based); 0: never */
};

static int collect_cb(void *ctx, const struct listformat_entry *e)
{
	struct collect *c = ctx;
	char text[ADDR_STRLEN];
	size_t used = strlen(c->out);

	addr_format(&e->prefix, text, sizeof(text));
	if (e->added)
		snprintf(c->out + used, sizeof(c->out) - used, "%s@%d added=%lld\n", text, e->line,
			 (long long)e->added);
	else
		snprintf(c->out + used, sizeof(c->out) - used, "%s@%d\n", text, e->line);
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

struct result {
	int ret;
	struct collect c;
	struct listformat_stats st;
	char err[1024];
};

static void read_path(const char *path, enum listformat_mode mode, size_t max_entries,
		      struct result *r)
{
	struct listformat_options opts = { .mode = mode, .max_entries = max_entries };

	memset(r, 0, sizeof(*r));
	r->ret = listformat_read(path, &opts, collect_cb, &r->c, &r->st, r->err, sizeof(r->err));
}

static const char *sample(const char *name)
{
	static char path[320];

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	return path;
}

static void read_sample(const char *name, struct result *r)
{
	read_path(sample(name), LISTFORMAT_ANY, 0, r);
}

static void write_bytes(const char *content, size_t len)
{
	FILE *fp = fopen(tmpfile_path, "w");

	if (!fp || fwrite(content, 1, len, fp) != len) {
		perror(tmpfile_path);
		exit(2);
	}
	fclose(fp);
}

static void read_text(const char *content, enum listformat_mode mode, struct result *r)
{
	write_bytes(content, strlen(content));
	read_path(tmpfile_path, mode, 0, r);
}

/* A clean read of a sample: every entry as expected, no bad line. */
static void expect_sample(const char *name, const char *want, unsigned int forms)
{
	struct result r;

	read_sample(name, &r);
	CHECK_INT(r.ret, 0, "%s: read", name);
	CHECK_INT(r.st.bad_lines, 0, "%s: no bad line", name);
	CHECK_STR(r.err, "", "%s: no message", name);
	CHECK_STR(r.c.out, want, "%s: entries and their lines", name);
	CHECK_INT(r.st.forms, forms, "%s: forms seen", name);
}

static void test_samples(void)
{
	struct result r;

	/* Times: 2026-11-22T08:00:00Z is 1795334400. */
	expect_sample("greywall.txt",
		      "198.51.100.7@5\n203.0.113.0/24@6\n2001:db8::1@7\n2001:db8:bad::/48@8\n",
		      LISTFORMAT_FORM_GREYWALL_HEADER | LISTFORMAT_FORM_PLAIN);
	read_sample("greywall.txt", &r);
	CHECK_INT(r.st.declared, 4, "greywall.txt: the header's count is read");
	expect_sample("greywall_full.txt",
		      "198.51.100.7@6 added=1795334400\n"
		      "203.0.113.0/24@7 added=1795251600\n"
		      "2001:db8::1@8 added=1795330800\n"
		      "2001:db8:bad::/48@9 added=1795337990\n",
		      LISTFORMAT_FORM_GREYWALL_HEADER | LISTFORMAT_FORM_FULL_DUMP);
	expect_sample("spamhaus_drop.txt",
		      "192.0.2.0/25@5\n198.51.100.0/24@6\n203.0.113.128/26@7\n",
		      LISTFORMAT_FORM_PLAIN);
	expect_sample("spamhaus_dropv6.txt", "2001:db8:4000::/36@5\n2001:db8:ff00::/40@6\n",
		      LISTFORMAT_FORM_PLAIN);
	expect_sample("firehol_level1.netset",
		      "192.0.2.0/26@28\n192.0.2.77@29\n198.51.100.64/27@30\n203.0.113.5@31\n"
		      "203.0.113.192/26@32\n",
		      LISTFORMAT_FORM_PLAIN);
	expect_sample("abusech_ipblocklist.txt",
		      "192.0.2.44@10\n198.51.100.201@11\n203.0.113.99@12\n", LISTFORMAT_FORM_PLAIN);
	expect_sample("pfctl_show.txt",
		      "192.0.2.17@1\n198.51.100.0/24@2\n203.0.113.250@3\n2001:db8::17@4\n"
		      "2001:db8:c0de::/48@5\n",
		      LISTFORMAT_FORM_PLAIN);
	expect_sample("pfctl_show_v.txt", "192.0.2.17@1\n2001:db8::17@9\n",
		      LISTFORMAT_FORM_PLAIN | LISTFORMAT_FORM_PFCTL_VERBOSE);
	expect_sample("spamd_ranges.txt",
		      "192.0.2.1@2\n192.0.2.2/31@2\n192.0.2.4/31@2\n192.0.2.6@2\n"
		      "198.51.100.10/31@3\n198.51.100.12/30@3\n198.51.100.16/28@3\n"
		      "198.51.100.32/29@3\n198.51.100.40@3\n"
		      "203.0.113.0/24@4\n"
		      "203.0.113.7@5\n"
		      "2001:db8:2::10/126@6\n"
		      "192.0.2.128/25@7\n",
		      LISTFORMAT_FORM_RANGE | LISTFORMAT_FORM_PLAIN);
	read_sample("spamd_ranges.txt", &r);
	CHECK_INT(r.st.entry_lines, 6, "spamd_ranges.txt: 6 entry lines");
	CHECK_INT(r.st.entries, 13, "spamd_ranges.txt: 13 entries after the covers");
	expect_sample("dshield_block.txt", "192.0.2.0/24@26\n198.51.100.0/24@27\n203.0.113.0/24@28\n",
		      LISTFORMAT_FORM_DSHIELD);
}

/* Every form in one file, and forms that cannot be told apart refused. */
static void test_mixed_and_ambiguous(void)
{
	struct result r;

	expect_sample("mixed.txt",
		      "198.51.100.7@3\n2001:db8::1@4\n192.0.2.0/25@5\n203.0.113.250@6\n"
		      "192.0.2.200/30@8\n198.51.100.128/25@9\n"
		      "2001:db8:bad::/48@10 added=1795337990\n"
		      "203.0.113.8@11\n203.0.113.9@12\n",
		      LISTFORMAT_FORM_PLAIN | LISTFORMAT_FORM_PFCTL_VERBOSE | LISTFORMAT_FORM_RANGE |
			  LISTFORMAT_FORM_DSHIELD | LISTFORMAT_FORM_FULL_DUMP);

	/* Each of these is a bad line, never a guess. */
	static const struct {
		const char *line, *reason;
	} ambiguous[] = {
		{ "198.51.100.1 198.51.100.2", "unexpected text after the address" },
		{ "198.51.100.0 198.51.100.255 24", "unexpected text after the address" },
		{ "198.51.100.0/24 SBL123", "unexpected text after the address" },
		{ "198.51.100.0/24\tSBL123", "unexpected text after the address" },
		{ "198.51.100.0/25 - 198.51.100.200", "a range's ends must be two addresses of one family" },
		{ "198.51.100.1 - 198.51.100.9 - 198.51.100.20", "unexpected text after the range" },
		{ "198.51.100.1 -- 198.51.100.9", "a range's ends must be two addresses of one family" },
		{ "198.51.100.1 -", "a range's ends must be two addresses of one family" },
		{ "198.51.100.0\t198.51.100.127\t24", "start and end are not the block the length says" },
		{ "198.51.100.1\t198.51.100.255\t24", "start and end are not the block the length says" },
		{ "198.51.100.0\t198.51.100.255\t33", "start and end are not the block the length says" },
		{ "198.51.100.0\t198.51.100.255", "unexpected text after the address" },
		{ "198.51.100.7\t2026-11-22T08:00:00Z\t-\t0/0\t0/0\t0/0\t0/0",
		  "malformed greywall dump row" },
		{ "198.51.100.7\t2026-11-22T08:00:00Z\t-\t0/0\t0/x\t0/0\t0/0\tmanual",
		  "malformed greywall dump row" },
		{ "198.51.100.7\t2026-13-22T08:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\tmanual",
		  "unexpected text after the address" },
		{ "   !198.51.100.7", "negated entries are not supported" },
		{ "   198.51.100.7@em0", "unexpected text after the address" },
		{ "em0", "invalid address" },
		{ "Cleared:     Sun Nov 22 09:11:02 2026", "invalid address" },
		{ "::ffff:198.51.100.7", "invalid address" },
		{ "fe80::1%eth0", "unexpected text after the address" },
		{ "198.51.100.1/24", "invalid address" },
	};
	for (size_t i = 0; i < sizeof(ambiguous) / sizeof(*ambiguous); i++) {
		char text[256], want[1024];

		snprintf(text, sizeof(text), "192.0.2.1\n%s\n192.0.2.2\n", ambiguous[i].line);
		read_text(text, LISTFORMAT_ANY, &r);
		CHECK_INT(r.ret, 0, "\"%s\": read on", ambiguous[i].line);
		CHECK_INT(r.st.bad_lines, 1, "\"%s\": one bad line", ambiguous[i].line);
		CHECK_STR(r.c.out, "192.0.2.1@1\n192.0.2.2@3\n", "\"%s\": nothing of it delivered",
			  ambiguous[i].line);
		snprintf(want, sizeof(want), "%s:2: %s \"", tmpfile_path, ambiguous[i].reason);
		CHECK(!strncmp(r.err, want, strlen(want)), "\"%s\": %s", ambiguous[i].line,
		      ambiguous[i].reason);
		if (strncmp(r.err, want, strlen(want)))
			printf("#   got: %s\n", r.err);
	}
}

static void test_bad_lines(void)
{
	char want[1024];
	struct result r;

	read_sample("bad.txt", &r);
	CHECK_INT(r.ret, 0, "bad.txt: read to the end");
	CHECK_INT(r.st.bad_lines, 7, "bad.txt: 7 bad lines");
	CHECK(r.st.bad_line[0] == 3 && r.st.bad_line[1] == 5 && r.st.bad_line[2] == 7 &&
		      r.st.bad_line[3] == 8 && r.st.bad_line[4] == 9,
	      "bad.txt: the first five line numbers");
	CHECK_STR(r.c.out, "192.0.2.1@2\n192.0.2.2@4\n2001:db8::5@6\n203.0.113.1@11\n203.0.113.2@13\n",
		  "bad.txt: the good lines only");
	snprintf(want, sizeof(want),
		 "%s:3: invalid address \"192.0.2.300\"; 7 bad lines (3, 5, 7, 8, 9, ...)",
		 sample("bad.txt"));
	CHECK_STR(r.err, want, "bad.txt: message with the count and the first lines");

	read_text("192.0.2.1\n192.0.2.9 - 192.0.2.1\n", LISTFORMAT_ANY, &r);
	snprintf(want, sizeof(want), "%s:2: reversed range \"192.0.2.9 - 192.0.2.1\"",
		 tmpfile_path);
	CHECK_STR(r.err, want, "one bad line: no count appended");

	/* A hostile line is quoted escaped and cut short. */
	read_text("\033[2J198.51.100.7\n", LISTFORMAT_ANY, &r);
	snprintf(want, sizeof(want), "%s:1: invalid address \"\\033[2J198.51.100.7\"",
		 tmpfile_path);
	CHECK_STR(r.err, want, "control bytes are escaped in the message");
	{
		char line[300];

		memset(line, 'x', sizeof(line));
		strcpy(line + 200, "\n");
		read_text(line, LISTFORMAT_ANY, &r);
		CHECK(strlen(r.err) < 200 && strstr(r.err, "xxx...\""),
		      "a long bad line is quoted in part");
	}
	/* A NUL byte inside an entry. */
	write_bytes("198.51.100.1\0garbage\n198.51.100.2\n", 34);
	read_path(tmpfile_path, LISTFORMAT_ANY, 0, &r);
	CHECK_INT(r.st.bad_lines, 1, "a NUL inside an entry makes it bad");
	CHECK_STR(r.c.out, "198.51.100.2@2\n", "and only the next line is taken");
}

/* The dump's own count: a transfer cut short is refused whole. */
static void test_dump_count(void)
{
	struct result r;
	char want[1024];

	read_sample("greywall_truncated.txt", &r);
	CHECK_INT(r.ret, -EBADMSG, "truncated dump: -EBADMSG");
	snprintf(want, sizeof(want), "%s: the header says 4 entries, the file holds 3",
		 sample("greywall_truncated.txt"));
	CHECK_STR(r.err, want, "truncated dump: message");
	/* The header only counts in a greywall dump's first comment block. */
	read_text("# a list\n# 4 entries\n192.0.2.1\n", LISTFORMAT_ANY, &r);
	CHECK_INT(r.ret, 0, "\"# N entries\" outside a greywall dump is a comment");
	read_text("# greywall table t\n# 1 entries\n192.0.2.1\n# 5 entries\n", LISTFORMAT_ANY, &r);
	CHECK_INT(r.ret, 0, "a later \"# N entries\" does not count");
	read_text("# greywall table t\n# 0 entries\n", LISTFORMAT_ANY, &r);
	CHECK_INT(r.ret, 0, "an empty dump");
}

static void expect_cover(const char *first, const char *last, const char *want, const char *what)
{
	struct addr_prefix a, b, out[ADDR_RANGE_MAX_CIDRS];
	char got[8192] = "", text[ADDR_STRLEN];
	int n;

	addr_parse(first, &a);
	addr_parse(last, &b);
	n = addr_range_to_cidrs(&a, &b, out);
	for (int i = 0; i < n; i++) {
		addr_format(&out[i], text, sizeof(text));
		strcat(got, text);
		strcat(got, "\n");
	}
	CHECK_STR(got, want, "cover of %s", what);
}

static void test_ranges(void)
{
	struct addr_prefix a, b, out[ADDR_RANGE_MAX_CIDRS];
	char want[8192] = "", line[64];
	struct result r;
	FILE *fp;

	expect_cover("0.0.0.0", "255.255.255.255", "0.0.0.0/0\n", "all of IPv4");
	expect_cover("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0\n", "all of IPv6");
	expect_cover("198.51.100.7", "198.51.100.7", "198.51.100.7\n", "a single address");
	expect_cover("255.255.255.255", "255.255.255.255", "255.255.255.255\n", "the last address");
	expect_cover("192.0.2.255", "192.0.3.0", "192.0.2.255\n192.0.3.0\n", "two across a /24");
	expect_cover("192.0.2.1", "192.0.2.6", "192.0.2.1\n192.0.2.2/31\n192.0.2.4/31\n192.0.2.6\n",
		     "192.0.2.1 - 192.0.2.6");
	addr_parse("0.0.0.1", &a);
	addr_parse("255.255.255.254", &b);
	CHECK_INT(addr_range_to_cidrs(&a, &b, out), 62, "IPv4's worst range: 62 blocks");
	addr_parse("::1", &a);
	addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &b);
	CHECK_INT(addr_range_to_cidrs(&a, &b, out), ADDR_RANGE_MAX_CIDRS,
		  "IPv6's worst range: ADDR_RANGE_MAX_CIDRS blocks");
	addr_parse("198.51.100.9", &a);
	addr_parse("198.51.100.1", &b);
	CHECK_INT(addr_range_to_cidrs(&a, &b, out), -EINVAL, "reversed: -EINVAL");
	addr_parse("2001:db8::1", &b);
	CHECK_INT(addr_range_to_cidrs(&a, &b, out), -EINVAL, "mixed families: -EINVAL");
	addr_parse("198.51.100.0/24", &a);
	addr_parse("198.51.100.255", &b);
	CHECK_INT(addr_range_to_cidrs(&a, &b, out), -EINVAL, "a network as an end: -EINVAL");
	CHECK(addr_range_is_block(&(struct addr_prefix){ .family = AF_INET, .plen = 32,
							 .bytes = { 198, 51, 100, 0 } },
				  &b, 24),
	      "198.51.100.0..198.51.100.255 is /24");

	/* Through the reader; the expected cover is Python's ipaddress.summarize_address_range. */
	fp = fopen(sample("range_v6_expected.txt"), "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s@1\n", line);
	}
	if (fp)
		fclose(fp);
	read_text("2001:db8::1 - 2001:db8:ffff::\n", LISTFORMAT_ANY, &r);
	CHECK_STR(r.c.out, want, "2001:db8::1 - 2001:db8:ffff:: as Python's ipaddress covers it");
	CHECK_INT(r.st.entries, 111, "in 111 blocks");
	read_text("0.0.0.0 - 255.255.255.255\n:: - ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n",
		  LISTFORMAT_ANY, &r);
	CHECK_STR(r.c.out, "0.0.0.0/0@1\n::/0@2\n", "whole families through the reader");
}

static void test_bounds(void)
{
	struct result r;
	char want[1024], *big;
	size_t len;

	/* Entries: a range counts its blocks. */
	write_bytes("192.0.2.1\n192.0.2.2\n192.0.2.3\n", 30);
	read_path(tmpfile_path, LISTFORMAT_ANY, 3, &r);
	CHECK_INT(r.ret, 0, "exactly max_entries entries");
	read_path(tmpfile_path, LISTFORMAT_ANY, 2, &r);
	CHECK_INT(r.ret, -E2BIG, "one more: -E2BIG");
	snprintf(want, sizeof(want), "%s:3: more than 2 entries", tmpfile_path);
	CHECK_STR(r.err, want, "-E2BIG message names the line");
	write_bytes("192.0.2.1 - 192.0.2.6\n", 22);
	read_path(tmpfile_path, LISTFORMAT_ANY, 3, &r);
	CHECK_INT(r.ret, -E2BIG, "a range's blocks count against max_entries");

	/* Lines longer than LISTFORMAT_LINE_MAX: comments skipped, others bad. */
	len = (3u << 20) + 20;
	big = malloc(len + 64);
	memset(big, 'x', len);
	big[0] = ';';
	strcpy(big + len, "\n198.51.100.99\n");
	read_text(big, LISTFORMAT_ANY, &r);
	CHECK_INT(r.st.bad_lines, 0, "a comment longer than the buffer is skipped");
	CHECK_STR(r.c.out, "198.51.100.99@2\n", "the entry after it, on line 2");
	memset(big, ' ', 100);
	memcpy(big + 100, "198.51.100.7", 12);
	read_text(big, LISTFORMAT_ANY, &r);
	CHECK_INT(r.st.bad_lines, 1, "an entry line longer than LISTFORMAT_LINE_MAX is bad");
	CHECK_STR(r.c.out, "198.51.100.99@2\n", "nothing of it is taken");
	read_text(big, LISTFORMAT_PLAIN, &r);
	snprintf(want, sizeof(want), "%s:1: line longer than %d bytes", tmpfile_path,
		 LISTFORMAT_LINE_MAX);
	CHECK_STR(r.err, want, "plain mode: the long line fails the read");
	CHECK_INT(r.ret, -EINVAL, "plain mode: -EINVAL");
	/* Just under the limit is a line like any other. */
	memset(big, ' ', LISTFORMAT_LINE_MAX - 20);
	strcpy(big + LISTFORMAT_LINE_MAX - 20, "198.51.100.7\n");
	read_text(big, LISTFORMAT_ANY, &r);
	CHECK_STR(r.c.out, "198.51.100.7@1\n", "a line of LISTFORMAT_LINE_MAX - 7 bytes is read");
	free(big);
}

/* A table's own file: plain lines and '#' comments only, the first bad line ends it. */
static void test_plain_mode(void)
{
	struct result r;
	char want[1024];

	read_text("198.51.100.7 # hit\n203.0.113.0/24\n2001:db8::1\r\n", LISTFORMAT_PLAIN, &r);
	CHECK_INT(r.ret, 0, "plain: read");
	CHECK_STR(r.c.out, "198.51.100.7@1\n203.0.113.0/24@2\n2001:db8::1@3\n", "plain: entries");
	read_text("198.51.100.0/24 ; SBL123\n", LISTFORMAT_PLAIN, &r);
	snprintf(want, sizeof(want), "%s:1: invalid address \"198.51.100.0/24 ; SBL123\"",
		 tmpfile_path);
	CHECK_STR(r.err, want, "plain: ';' is no comment");
	read_text("192.0.2.1\n192.0.2.1 - 192.0.2.6\n192.0.2.7\n", LISTFORMAT_PLAIN, &r);
	CHECK_INT(r.ret, -EINVAL, "plain: a range is bad");
	CHECK_STR(r.c.out, "192.0.2.1@1\n", "plain: reading stops at the bad line");
}

static void test_read_details(void)
{
	struct result r;

	read_text("198.51.100.7\n198.51.100.8", LISTFORMAT_ANY, &r);
	CHECK_STR(r.c.out, "198.51.100.7@1\n198.51.100.8@2\n", "a last line without '\\n'");
	read_text("", LISTFORMAT_ANY, &r);
	CHECK(r.ret == 0 && r.c.n == 0 && r.st.lines == 0, "an empty file");
	write_bytes("192.0.2.1\n192.0.2.2\n192.0.2.3\n", 30);
	memset(&r, 0, sizeof(r));
	r.c.stop_at = 2;
	{
		struct listformat_options opts = { .mode = LISTFORMAT_ANY };

		r.ret = listformat_read(tmpfile_path, &opts, collect_cb, &r.c, &r.st, r.err,
					sizeof(r.err));
	}
	CHECK_INT(r.ret, 42, "a callback's value stops the read");
	CHECK_INT(r.c.n, 2, "nothing after it");
	unlink(tmpfile_path);
	read_path(tmpfile_path, LISTFORMAT_ANY, 0, &r);
	CHECK_INT(r.ret, -ENOENT, "a missing file: -ENOENT");
}

static int count_cb(void *ctx, const struct listformat_entry *e)
{
	(void)e;
	(*(long *)ctx)++;
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The load -f fast path: a million plain lines, timed (best of three). */
static void benchmark_million_lines(void)
{
	struct listformat_options opts = { .mode = LISTFORMAT_ANY };
	FILE *fp = fopen(tmpfile_path, "w");
	double best = 1e9;
	long count = 0;
	int err = 0;

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
	for (int round = 0; round < 3; round++) {
		struct timespec t0;
		double ms;

		count = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = listformat_read(tmpfile_path, &opts, count_cb, &count, NULL, NULL, 0);
		ms = ms_since(&t0);
		if (ms < best)
			best = ms;
	}
	printf("# 1000000 lines read in %.0f ms (best of 3)\n", best);
	CHECK_INT(err, 0, "read a million-line file");
	CHECK_INT(count, 1000000, "a million entries delivered");
}

int main(void)
{
	const char *slash = strrchr(__FILE__, '/');

	snprintf(data_dir, sizeof(data_dir), "%.*s/data/lists", slash ? (int)(slash - __FILE__) : 1,
		 slash ? __FILE__ : ".");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/list", tmpdir);

	test_samples();
	test_mixed_and_ambiguous();
	test_bad_lines();
	test_dump_count();
	test_ranges();
	test_bounds();
	test_plain_mode();
	test_read_details();
	benchmark_million_lines();

	unlink(tmpfile_path);
	rmdir(tmpdir);
	return check_done();
}
