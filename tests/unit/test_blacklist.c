// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "spamd/blacklist.h"
#include "check.h"

static char dir[] = "/tmp/gw-blacklist-XXXXXX";
/* tests/unit/data/blacklist, found next to this file. */
static char data_dir[PATH_MAX / 2];

/* What forms.txt (and its gzip copy) must load into. */
#define FORMS_CIDRS                                                                                \
	"192.0.2.1 192.0.2.3 192.0.2.10/31 192.0.2.12 192.0.2.20/31 192.0.2.30/31 "                \
	"192.0.2.40/31 198.51.100.0/25 198.51.100.128/26 203.0.113.7 203.0.113.8 2001:db8::1 "     \
	"2001:db8:1::/48 2001:db8:2::10/126"
#define FORMS_ENTRIES 14
#define FORMS_BAD     6

static const char *data_file(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	return path;
}

/* Write content to a file in the temporary directory; returns its path. */
static const char *temp_file(const char *name, const char *content)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	fputs(content, fp);
	fclose(fp);
	return path;
}

/* The CIDRs of list i, space-separated (static buffer). */
static const char *cidrs_text(const struct blacklist_set *set, size_t i)
{
	static char out[8192];
	const struct addr_prefix *c;
	size_t n, used = 0;

	out[0] = '\0';
	c = blacklist_set_cidrs(set, i, &n);
	for (size_t k = 0; k < n && used < sizeof(out); k++) {
		char text[ADDR_STRLEN];

		addr_format(&c[k], text, sizeof(text));
		used +=
		    (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", k ? " " : "", text);
	}
	return out;
}

/* One blacklist with one source; NULL (and a failed check) if building fails. */
static struct blacklist_set *one_list(enum list_source_type type, const char *value,
				      const struct blacklist_options *opts)
{
	struct list_source src = {type, value};
	struct list_def def = {"test", false, "Your address %A is listed", &src, 1};
	struct blacklist_set *set = NULL;
	char err[256];
	int ret = blacklist_set_build(&def, 1, opts, &set, err, sizeof(err));

	if (ret)
		CHECK_INT(ret, 0, "build one list: %s", err);
	return set;
}

/* The CIDRs one file of content loads into. */
static void expect_cidrs(const char *content, const char *want, const char *what)
{
	struct blacklist_set *set = one_list(LIST_SOURCE_FILE, temp_file("cidrs", content), NULL);

	CHECK_STR(set ? cidrs_text(set, 0) : NULL, want, "%s", what);
	blacklist_set_free(set);
}

/*
 * A single-source list that fails: its error must contain want, and it must
 * have loaded nothing.
 */
static void expect_error(enum list_source_type type, const char *value,
			 const struct blacklist_options *opts, const char *want, const char *what)
{
	struct blacklist_set *set = one_list(type, value, opts);
	const char *e = set ? blacklist_set_stats(set, 0)->error : "";
	size_t n = 1;

	CHECK(strstr(e, want) != NULL, "%s: error \"%s\"", what, e);
	if (set)
		blacklist_set_cidrs(set, 0, &n);
	CHECK_INT(n, 0, "%s: the list is empty", what);
	blacklist_set_free(set);
}

/* The number of CIDRs one file of content loads into, and how they start and end. */
static void expect_cidr_count(const char *content, size_t want, const char *head, const char *tail,
			      const char *what)
{
	struct blacklist_set *set = one_list(LIST_SOURCE_FILE, temp_file("cidrs", content), NULL);
	const char *text = set ? cidrs_text(set, 0) : "";
	size_t n = 0, len = strlen(text);

	if (set)
		blacklist_set_cidrs(set, 0, &n);
	CHECK_INT(n, want, "%s: %zu CIDRs", what, want);
	CHECK(!strncmp(text, head, strlen(head)), "%s: first ones %s", what, head);
	CHECK(len >= strlen(tail) && !strcmp(text + len - strlen(tail), tail), "%s: last ones %s",
	      what, tail);
	blacklist_set_free(set);
}

static void expect_forms(struct blacklist_set *set, const char *what)
{
	const struct list_stats *st = set ? blacklist_set_stats(set, 0) : NULL;

	CHECK_STR(set ? cidrs_text(set, 0) : NULL, FORMS_CIDRS, "%s: minimal CIDRs", what);
	CHECK(st && st->entries == FORMS_ENTRIES && st->bad_lines == FORMS_BAD && st->cidrs == 14 &&
		  !st->error[0],
	      "%s: %d entries, %d bad lines, 14 CIDRs, no error", what, FORMS_ENTRIES, FORMS_BAD);
	blacklist_set_free(set);
}

static void test_sources(void)
{
	struct blacklist_options opts = {.fetcher = "cat -- %s", .timeout_ms = 300};
	char cmd[PATH_MAX + 64], quoted_dir[PATH_MAX];
	struct timespec t0, t1;
	struct blacklist_set *set;

	expect_forms(one_list(LIST_SOURCE_FILE, data_file("forms.txt"), NULL), "plain file");
	expect_forms(one_list(LIST_SOURCE_FILE, data_file("forms.txt.gz"), NULL), "gzip file");
	snprintf(cmd, sizeof(cmd), "gzip -c < '%s'", data_file("forms.txt"));
	expect_forms(one_list(LIST_SOURCE_EXEC, cmd, NULL), "exec with gzip output");
	expect_forms(one_list(LIST_SOURCE_URL, data_file("forms.txt"), &opts),
		     "url through the fetcher");

	/* The URL is quoted for the shell: a quote and a blank in it do no harm. */
	snprintf(quoted_dir, sizeof(quoted_dir), "%s/it's a list", dir);
	temp_file("it's a list", "192.0.2.77\n");
	set = one_list(LIST_SOURCE_URL, quoted_dir, &opts);
	CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.77", "url with a quote and a blank");
	blacklist_set_free(set);

	set =
	    one_list(LIST_SOURCE_EXEC, "echo 192.0.2.1; printf '2001:db8::/32\\n192.0.2.2'", NULL);
	CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.1 192.0.2.2 2001:db8::/32",
		  "exec: stdout read, last line without newline");
	blacklist_set_free(set);

	expect_error(LIST_SOURCE_FILE, "/nonexistent/list", NULL,
		     "file \"/nonexistent/list\": No such file or directory", "missing file");
	expect_error(LIST_SOURCE_FILE, data_file("truncated.gz"), NULL,
		     "truncated.gz\": unexpected end of file", "truncated gzip file");
	expect_error(LIST_SOURCE_EXEC, "echo 192.0.2.1; exit 3", NULL,
		     "exec \"echo 192.0.2.1; exit 3\": exit status 3", "failing command");
	expect_error(LIST_SOURCE_EXEC, "echo 192.0.2.1; kill -TERM $$", NULL,
		     "exec \"echo 192.0.2.1; kill -TERM $$\": killed by signal 15",
		     "command killed by a signal");
	expect_error(LIST_SOURCE_EXEC, "printf '\\037\\213garbage'", NULL,
		     "\": unknown compression method", "command with corrupt gzip output");
	snprintf(cmd, sizeof(cmd), "head -c 200 < '%s'", data_file("forms.txt.gz"));
	expect_error(LIST_SOURCE_EXEC, cmd, NULL, "\": unexpected end of file",
		     "command with truncated gzip output");
	expect_error(LIST_SOURCE_URL, "http://www.example.org/list.gz", NULL,
		     "url \"http://www.example.org/list.gz\": no fetcher configured for URLs",
		     "url without a fetcher");

	/* A background child keeps stdout open: the whole process group is killed. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(LIST_SOURCE_EXEC, "echo 192.0.2.1; sleep 30 & sleep 30", &opts,
		     "exec \"echo 192.0.2.1; sleep 30 & sleep 30\": timed out after 300 ms",
		     "command that hangs");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 5, "the timeout ends it in time");
}

static void test_definitions(void)
{
	struct list_source src = {LIST_SOURCE_FILE, "/dev/null"};
	struct list_def nomsg = {"nomsg", false, NULL, &src, 1};
	struct list_def nosrc = {"nosrc", true, NULL, NULL, 0};
	struct blacklist_options bad_fetcher = {.fetcher = "curl -sf"};
	struct list_def ok = {"ok", false, "msg", &src, 1};
	struct blacklist_set *set = NULL;
	char err[256];

	CHECK_INT(blacklist_set_build(&nomsg, 1, NULL, &set, err, sizeof(err)), -EINVAL,
		  "blacklist without msg refused");
	CHECK_STR(err, "blacklist \"nomsg\" has no msg", "its message");
	CHECK_INT(blacklist_set_build(&nosrc, 1, NULL, &set, err, sizeof(err)), -EINVAL,
		  "list without source refused");
	CHECK_STR(err, "whitelist \"nosrc\" has no source", "its message");
	CHECK_INT(blacklist_set_build(&ok, 1, &bad_fetcher, &set, err, sizeof(err)), -EINVAL,
		  "fetcher without -- %%s refused");
	CHECK_STR(err, "fetcher \"curl -sf\" does not end with \"-- %s\"", "its message");
	CHECK(set == NULL, "nothing built");

	CHECK_INT(blacklist_set_build(NULL, 0, NULL, &set, err, sizeof(err)), 0, "no lists at all");
	CHECK(set && blacklist_set_count(set) == 0, "an empty set");
	blacklist_set_free(set);
}

static void test_merging(void)
{
	expect_cidrs("192.0.2.1 - 192.0.2.6\n", "192.0.2.1 192.0.2.2/31 192.0.2.4/31 192.0.2.6",
		     "range .1-.6");
	expect_cidrs("10.0.0.0 - 10.255.255.255\n", "10.0.0.0/8", "range that is one network");
	expect_cidrs("0.0.0.0 - 255.255.255.255\n", "0.0.0.0/0", "all of IPv4");
	expect_cidrs(":: - ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n", "::/0", "all of IPv6");
	expect_cidrs("255.255.255.254-255.255.255.255\n0.0.0.0\n", "0.0.0.0 255.255.255.254/31",
		     "both ends of IPv4");
	expect_cidrs("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe - "
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "top of IPv6");
	expect_cidr_count("2001:db8::1 - 2001:db8::ffff:ffff:ffff:fffe\n", 126,
			  "2001:db8::1 2001:db8::2/127 2001:db8::4/126",
			  "2001:db8::ffff:ffff:ffff:fffc/127 2001:db8::ffff:ffff:ffff:fffe",
			  "IPv6 range of 2^64 - 2 addresses");
	expect_cidrs("192.0.2.0 - 192.0.2.255\n192.0.3.0/24\n", "192.0.2.0/23", "adjacent merge");
	expect_cidrs("192.0.2.0/25\n192.0.2.64 - 192.0.2.200\n192.0.2.201\n",
		     "192.0.2.0/25 192.0.2.128/26 192.0.2.192/29 192.0.2.200/31",
		     "overlapping and adjacent merge");
	expect_cidrs("192.0.2.5\n192.0.2.0/24\n192.0.2.5\n192.0.2.7 - 192.0.2.9\n", "192.0.2.0/24",
		     "entries inside a network vanish");
	expect_cidrs("192.0.2.0/31\n192.0.2.2/31\n", "192.0.2.0/30", "two halves make a network");
	expect_cidrs("2001:db8::/33\n2001:db8:8000::/33\n192.0.2.0/24\n",
		     "192.0.2.0/24 2001:db8::/32", "IPv6 halves, IPv4 first");
	expect_cidrs("# nothing\n\n", "", "empty list");
}

/* Lists built from inline contents, one file each. */
struct inline_list {
	const char *name;
	bool white;
	const char *content;
};

static struct blacklist_set *build_inline(const struct inline_list *lists, size_t n)
{
	struct list_source src[8];
	struct list_def defs[8];
	struct blacklist_set *set = NULL;
	static char paths[8][PATH_MAX];
	char err[256];

	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s",
			 temp_file(lists[i].name, lists[i].content));
		src[i] = (struct list_source){LIST_SOURCE_FILE, paths[i]};
		defs[i] = (struct list_def){lists[i].name, lists[i].white,
					    lists[i].white ? NULL : lists[i].name, &src[i], 1};
	}
	CHECK_INT(blacklist_set_build(defs, n, NULL, &set, err, sizeof(err)), 0, "build %zu lists",
		  n);
	return set;
}

static size_t match_text(const struct blacklist_set *set, const char *text, size_t *idx, size_t max)
{
	struct addr_prefix a;

	addr_parse(text, &a);
	return blacklist_set_match(set, &a, idx, max);
}

static void test_whitelists(void)
{
	static const struct inline_list holes[] = {
	    {"black", false, "192.0.2.0/24\n192.0.2.100 - 192.0.2.140\n2001:db8::/126\n"},
	    {"white", true, "192.0.2.5\n2001:db8::2\n"},
	};
	static const struct inline_list straddle[] = {
	    {"black", false, "192.0.2.0/28\n192.0.2.32/28\n"},
	    {"white", true, "192.0.2.8 - 192.0.2.40\n"},
	};
	static const struct inline_list order[] = {
	    {"b1", false, "192.0.2.1\n192.0.2.2\n"},
	    {"b2", false, "192.0.2.1\n198.51.100.0/24\n"},
	    {"w", true, "192.0.2.1\n198.51.100.128/25\n"},
	    {"b3", false, "192.0.2.1\n198.51.100.200\n"},
	    {"w2", true, "203.0.113.1\n"},
	};
	static const struct inline_list all_white[] = {
	    {"black", false, "192.0.2.0/24\n"},
	    {"white", true, "192.0.0.0/16\n"},
	};
	struct blacklist_set *set;
	size_t idx[8];

	set = build_inline(holes, 2);
	CHECK_STR(cidrs_text(set, 0),
		  "192.0.2.0/30 192.0.2.4 192.0.2.6/31 192.0.2.8/29 192.0.2.16/28 192.0.2.32/27 "
		  "192.0.2.64/26 192.0.2.128/25 2001:db8::/127 2001:db8::3",
		  "white holes split the black networks");
	CHECK_INT(match_text(set, "192.0.2.5", idx, 8), 0, "the hole is not listed");
	CHECK_INT(match_text(set, "192.0.2.4", idx, 8), 1, "its neighbour is");
	CHECK_INT(match_text(set, "2001:db8::2", idx, 8), 0, "IPv6 hole is not listed");
	CHECK_INT(match_text(set, "2001:db8::3", idx, 8), 1, "its neighbour is");
	CHECK(blacklist_set_stats(set, 1)->entries == 2 && blacklist_set_stats(set, 1)->cidrs == 0,
	      "whitelist stats: 2 entries, no CIDRs of its own");
	blacklist_set_free(set);

	set = build_inline(straddle, 2);
	CHECK_STR(cidrs_text(set, 0), "192.0.2.0/29 192.0.2.41 192.0.2.42/31 192.0.2.44/30",
		  "one white range across two black ones");
	blacklist_set_free(set);

	set = build_inline(all_white, 2);
	CHECK_STR(cidrs_text(set, 0), "", "a white network swallows the whole blacklist");
	blacklist_set_free(set);

	set = build_inline(order, 5);
	CHECK_STR(cidrs_text(set, 0), "192.0.2.2", "b1 loses what the later whitelist holds");
	CHECK_STR(cidrs_text(set, 1), "198.51.100.0/25", "b2 too");
	CHECK_STR(cidrs_text(set, 3), "192.0.2.1 198.51.100.200",
		  "b3, after the whitelist, keeps it");
	CHECK_INT(match_text(set, "192.0.2.1", idx, 8), 1, "192.0.2.1 on one list");
	CHECK_INT(idx[0], 3, "that list is b3");
	CHECK_INT(match_text(set, "198.51.100.200", idx, 8), 1, "198.51.100.200 on one list");
	CHECK_INT(idx[0], 3, "b3 again: b2 lost it to the whitelist");
	blacklist_set_free(set);
}

static void test_failed_whitelist(void)
{
	struct list_source black_src = {LIST_SOURCE_FILE, temp_file("fw-black", "192.0.2.1\n")};
	struct list_source white_src = {LIST_SOURCE_FILE, "/nonexistent/white"};
	struct list_def defs[2] = {
	    {"black", false, "listed", &black_src, 1},
	    {"white", true, NULL, &white_src, 1},
	};
	struct blacklist_set *set = NULL;
	char err[256];

	CHECK_INT(blacklist_set_build(defs, 2, NULL, &set, err, sizeof(err)), 0,
		  "a failed list does not fail the build");
	CHECK_STR(set ? blacklist_set_stats(set, 1)->error : NULL,
		  "file \"/nonexistent/white\": No such file or directory",
		  "the whitelist's error");
	CHECK_STR(set ? blacklist_set_stats(set, 0)->error : NULL, "", "the blacklist has none");
	CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.1", "and keeps its entries");
	blacklist_set_free(set);
}

static void test_classify(void)
{
	struct list_source src[4] = {
	    {LIST_SOURCE_FILE, NULL},
	    {LIST_SOURCE_EXEC, "echo 192.0.2.128/25; echo 2001:db8::/32"},
	    {LIST_SOURCE_EXEC, "echo 192.0.2.200"},
	    {LIST_SOURCE_EXEC, "echo 192.0.2.0 - 192.0.2.255"},
	};
	struct list_def defs[4] = {
	    {"one", false, "Your address %A is on list one", &src[0], 1},
	    {"two", false, "Two:\nsee https://two.example", &src[1], 1},
	    {"ours", true, NULL, &src[2], 1},
	    {"three", false, "three", &src[3], 1},
	};
	struct blacklist_set *set = NULL;
	char err[256], msg[256];
	size_t idx[4];

	src[0].value = temp_file("one", "192.0.2.0/24\n");
	CHECK_INT(blacklist_set_build(defs, 4, NULL, &set, err, sizeof(err)), 0, "four lists");
	if (!set)
		return;
	CHECK_INT(blacklist_set_count(set), 4, "count");
	CHECK(blacklist_set_is_white(set, 2) && !blacklist_set_is_white(set, 3), "kinds");
	CHECK_STR(blacklist_set_name(set, 3), "three", "names kept");
	CHECK(blacklist_set_msg(set, 2) == NULL, "a whitelist has no message");

	CHECK_INT(match_text(set, "192.0.2.130", idx, 4), 3, "192.0.2.130 on three lists");
	CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 3, "one, two, three in config order");
	CHECK_INT(blacklist_set_messages(set, idx, 3, msg, sizeof(msg)),
		  strlen("Your address %A is on list one\nTwo:\nsee https://two.example\nthree"),
		  "messages length");
	CHECK_STR(msg, "Your address %A is on list one\nTwo:\nsee https://two.example\nthree",
		  "messages, one per list, %%A left alone");
	CHECK_INT(blacklist_set_messages(set, idx, 3, msg, 20), -ENOSPC, "short buffer refused");
	CHECK_INT(blacklist_set_messages(set, idx, 0, msg, sizeof(msg)), 0, "no lists, no text");
	CHECK_STR(msg, "", "empty text");

	CHECK_INT(match_text(set, "192.0.2.200", idx, 4), 1, "whitelisted for one and two only");
	CHECK_INT(idx[0], 3, "three lists it");
	CHECK_INT(match_text(set, "192.0.2.1", idx, 4), 2, "192.0.2.1 on one and three");
	CHECK_INT(match_text(set, "2001:db8:ffff::1", idx, 4), 1, "IPv6 on two");
	CHECK_INT(idx[0], 1, "list two");
	CHECK_INT(match_text(set, "198.51.100.1", idx, 4), 0, "an unlisted address");
	CHECK_INT(match_text(set, "::", idx, 4), 0, "an unlisted IPv6 address");
	idx[1] = 99;
	CHECK_INT(match_text(set, "192.0.2.130", idx, 1), 3, "the count goes past max");
	CHECK(idx[0] == 0 && idx[1] == 99, "only max indices written");
	blacklist_set_free(set);
}

/*
 * Random lists over 10.0.0.0/20, checked address by address against the
 * plain reading of the rules: on blacklist i when some line of i covers the
 * address and no line of a whitelist after i does. The CIDR sets must cover
 * exactly those addresses, without overlaps, and each block must be maximal
 * (its parent block is not wholly listed), which makes the set minimal.
 */
#define SPACE_BITS   12
#define SPACE	     (1u << SPACE_BITS)
#define BASE	     0x0a000000u
#define RANDOM_LISTS 5

static uint32_t prefix_u32(const struct addr_prefix *p)
{
	return (uint32_t)p->bytes[0] << 24 | p->bytes[1] << 16 | p->bytes[2] << 8 | p->bytes[3];
}

static void add_random_line(FILE *fp, uint8_t *cover)
{
	uint32_t a = (uint32_t)rand() % SPACE, b;
	int kind = rand() % 3, plen;

	if (kind == 0) {
		fprintf(fp, "10.0.%u.%u\n", a >> 8, a & 255);
		cover[a] = 1;
		return;
	}
	if (kind == 1) {
		b = a + (uint32_t)rand() % 300;
		if (b >= SPACE)
			b = SPACE - 1;
		fprintf(fp, "10.0.%u.%u - 10.0.%u.%u\n", a >> 8, a & 255, b >> 8, b & 255);
	} else {
		plen = 24 + rand() % 9;
		a &= ~((1u << (32 - plen)) - 1);
		b = a + (1u << (32 - plen)) - 1;
		fprintf(fp, "10.0.%u.%u/%d\n", a >> 8, a & 255, plen);
	}
	memset(cover + a, 1, b - a + 1);
}

static void test_random(void)
{
	static uint8_t cover[RANDOM_LISTS][SPACE], want[RANDOM_LISTS][SPACE], got[SPACE];
	static const bool white[RANDOM_LISTS] = {false, true, false, false, true};
	struct list_source src[RANDOM_LISTS];
	struct list_def defs[RANDOM_LISTS];
	static char paths[RANDOM_LISTS][PATH_MAX];
	int mismatches = 0, overlaps = 0, outside = 0, not_maximal = 0, round;
	struct blacklist_set *set = NULL;
	char err[256];

	for (round = 0; round < 20; round++) {
		srand(1000 + (unsigned)round);
		memset(cover, 0, sizeof(cover));
		for (int l = 0; l < RANDOM_LISTS; l++) {
			FILE *fp;

			snprintf(paths[l], sizeof(paths[l]), "%s/random%d", dir, l);
			fp = fopen(paths[l], "w");
			for (int k = rand() % 40; k > 0; k--)
				add_random_line(fp, cover[l]);
			fclose(fp);
			src[l] = (struct list_source){LIST_SOURCE_FILE, paths[l]};
			defs[l] = (struct list_def){"random", white[l], white[l] ? NULL : "m",
						    &src[l], 1};
		}
		for (int l = 0; l < RANDOM_LISTS; l++) {
			for (uint32_t a = 0; a < SPACE; a++) {
				bool holed = false;

				for (int w = l + 1; w < RANDOM_LISTS; w++)
					holed |= white[w] && cover[w][a];
				want[l][a] = !white[l] && cover[l][a] && !holed;
			}
		}
		if (blacklist_set_build(defs, RANDOM_LISTS, NULL, &set, err, sizeof(err))) {
			CHECK(0, "random round %d builds: %s", round, err);
			return;
		}
		for (uint32_t a = 0; a < SPACE; a++) {
			struct addr_prefix p = {.family = AF_INET, .plen = 32};
			size_t idx[RANDOM_LISTS], n;
			bool on[RANDOM_LISTS] = {false};

			p.bytes[0] = 10;
			p.bytes[2] = (uint8_t)(a >> 8);
			p.bytes[3] = (uint8_t)a;
			n = blacklist_set_match(set, &p, idx, RANDOM_LISTS);
			for (size_t k = 0; k < n; k++)
				on[idx[k]] = true;
			for (int l = 0; l < RANDOM_LISTS; l++)
				mismatches += on[l] != want[l][a];
		}
		for (int l = 0; l < RANDOM_LISTS; l++) {
			const struct addr_prefix *c;
			uint32_t listed = 0, covered = 0;
			size_t n;

			c = blacklist_set_cidrs(set, l, &n);
			memset(got, 0, sizeof(got));
			for (size_t k = 0; k < n; k++) {
				uint32_t first = prefix_u32(&c[k]) - BASE;
				uint32_t size = 1u << (32 - c[k].plen), parent, whole = 1;

				if (first >= SPACE || first + size > SPACE) {
					outside++;
					continue;
				}
				for (uint32_t a = first; a < first + size; a++) {
					overlaps += got[a];
					got[a] = 1;
					outside += !want[l][a];
				}
				covered += size;
				/* Maximal: the parent block has an unlisted address. */
				parent = first & ~(2 * size - 1);
				for (uint32_t a = parent; a < parent + 2 * size && a < SPACE; a++)
					whole &= want[l][a];
				not_maximal += whole && parent + 2 * size <= SPACE;
			}
			for (uint32_t a = 0; a < SPACE; a++)
				listed += want[l][a];
			mismatches += listed != covered;
		}
		blacklist_set_free(set);
	}
	CHECK_INT(mismatches, 0, "20 random rounds: every address classified as the rules say");
	CHECK_INT(outside, 0, "CIDRs cover only listed addresses");
	CHECK_INT(overlaps, 0, "CIDRs do not overlap");
	CHECK_INT(not_maximal, 0, "every CIDR is maximal, so the set is minimal");
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 200,000 ranges the way big lists look: mostly IPv4, overlapping, some IPv6. */
static void test_timing(void)
{
	char path[PATH_MAX], wpath[PATH_MAX], err[256];
	struct list_source src[2];
	struct list_def defs[2];
	struct blacklist_set *set = NULL;
	struct timespec t0;
	size_t found = 0, idx[2], ncidrs = 0;
	double ms;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/big", dir);
	snprintf(wpath, sizeof(wpath), "%s/bigwhite", dir);
	fp = fopen(path, "w");
	srand(7);
	for (long i = 0; i < 200000; i++) {
		uint32_t a = (uint32_t)rand();

		switch (i % 10) {
		case 0:
			fprintf(fp, "2001:db8:%x:%x::/64\n", a >> 16, a & 0xffff);
			break;
		case 1:
		case 2:
			fprintf(fp, "%u.%u.%u.0/24\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255);
			break;
		case 3:
		case 4:
			fprintf(fp, "%u.%u.%u.%u - %u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
				(a >> 8) & 255, 0u, a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				a & 255);
			break;
		default:
			fprintf(fp, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				a & 255);
		}
	}
	fclose(fp);
	fp = fopen(wpath, "w");
	for (long i = 0; i < 1000; i++)
		fprintf(fp, "%ld.0.0.0/16\n", i % 223 + 1);
	fclose(fp);
	src[0] = (struct list_source){LIST_SOURCE_FILE, path};
	src[1] = (struct list_source){LIST_SOURCE_FILE, wpath};
	defs[0] = (struct list_def){"big", false, "big", &src[0], 1};
	defs[1] = (struct list_def){"white", true, NULL, &src[1], 1};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(blacklist_set_build(defs, 2, NULL, &set, err, sizeof(err)), 0,
		  "200,000 ranges and a whitelist build");
	ms = ms_since(&t0);
	if (!set)
		return;
	blacklist_set_cidrs(set, 0, &ncidrs);
	printf("# 200000 ranges loaded, merged, holed and cut into %zu CIDRs in %.0f ms\n", ncidrs,
	       ms);
	CHECK_INT(blacklist_set_stats(set, 0)->entries, 200000, "every range counted");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < 1000000; i++) {
		struct addr_prefix p = {.family = AF_INET, .plen = 32};
		uint32_t a = i * 2654435761u;

		memcpy(p.bytes, &a, 4);
		found += blacklist_set_match(set, &p, idx, 2);
	}
	ms = ms_since(&t0);
	/* A million lookups: the milliseconds are the nanoseconds per lookup. */
	printf("# 1000000 lookups in %.0f ms, %zu listed\n", ms, found);
	blacklist_set_free(set);
}

/* One blacklist "test" from one source, built with opts; NULL if building fails. */
static struct blacklist_set *one_list_with(enum list_source_type type, const char *value,
					   bool white, const struct blacklist_options *opts)
{
	struct list_source src = {type, value};
	struct list_def def = {"test", white, white ? NULL : "listed", &src, 1};
	struct blacklist_set *set = NULL;
	char err[256];
	int ret = blacklist_set_build(&def, 1, opts, &set, err, sizeof(err));

	if (ret)
		CHECK_INT(ret, 0, "build: %s", err);
	return set;
}

/* A list past a bound is refused: its error names the bound, its last good version stays. */
static void expect_refused(enum list_source_type type, const char *source,
			   struct blacklist_options *opts, const char *want, const char *what)
{
	char value[PATH_MAX + 16];
	struct blacklist_set *prev, *set;
	const struct list_stats *st;

	/* source may be temp_file()'s buffer, which the next line reuses. */
	snprintf(value, sizeof(value), "%s", source);
	prev = one_list(LIST_SOURCE_FILE, temp_file("prev", "192.0.2.1\n"), NULL);

	opts->previous = prev;
	set = one_list_with(type, value, false, opts);
	st = set ? blacklist_set_stats(set, 0) : NULL;
	CHECK(st && strstr(st->error, want), "%s: refused with \"%s\" (%s)", what, want,
	      st ? st->error : "no set");
	CHECK(st && st->kept_previous, "%s: its last good version is kept", what);
	CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.1", "%s: 192.0.2.1 still listed", what);
	blacklist_set_free(set);

	opts->previous = NULL;
	set = one_list_with(type, value, false, opts);
	st = set ? blacklist_set_stats(set, 0) : NULL;
	CHECK(st && strstr(st->error, want) && !st->kept_previous && st->cidrs == 0,
	      "%s: without a last good version the list is empty", what);
	blacklist_set_free(set);
	blacklist_set_free(prev);
}

static void test_bounds(void)
{
	struct blacklist_options opts = {.max_bytes = 1 << 20};
	char bomb[PATH_MAX], cmd[PATH_MAX + 16];
	static char blanks[64 * 1024];
	struct blacklist_set *prev, *set;
	struct stat st;
	gzFile gz;

	/* A gzip bomb: 4 MiB of blank lines, some KiB compressed. */
	snprintf(bomb, sizeof(bomb), "%s/bomb.gz", dir);
	memset(blanks, '\n', sizeof(blanks));
	gz = gzopen(bomb, "wb9");
	gzputs(gz, "192.0.2.99\n");
	for (int i = 0; i < 64; i++)
		gzwrite(gz, blanks, sizeof(blanks));
	gzclose(gz);
	stat(bomb, &st);
	CHECK(st.st_size < 64 * 1024, "the bomb is small (%lld bytes)", (long long)st.st_size);
	expect_refused(LIST_SOURCE_FILE, bomb, &opts, "more than 1048576 bytes (list-max-bytes)",
		       "gzip bomb file");
	snprintf(cmd, sizeof(cmd), "cat '%s'", bomb);
	expect_refused(LIST_SOURCE_EXEC, cmd, &opts, "more than 1048576 bytes (list-max-bytes)",
		       "gzip bomb from a command");
	expect_refused(LIST_SOURCE_EXEC, "yes 192.0.2.200 | head -c 2000000", &opts,
		       "more than 1048576 bytes (list-max-bytes)", "plain output past the bound");

	opts = (struct blacklist_options){.max_entries = 3};
	expect_refused(LIST_SOURCE_FILE,
		       temp_file("many", "192.0.2.10\n192.0.2.20\n192.0.2.30\n192.0.2.40\n"),
		       &opts, "more than 3 entries (list-max-entries)", "entries past the bound");
	set = one_list_with(LIST_SOURCE_FILE, temp_file("three", "192.0.2.10\n192.0.2.20\n#x\n"
							     "192.0.2.30\n"), false, &opts);
	CHECK(set && !blacklist_set_stats(set, 0)->error[0], "exactly max entries load");
	blacklist_set_free(set);

	/* One range of 254 addresses is 14 networks: past 2 entries' 8. */
	opts = (struct blacklist_options){.max_entries = 2};
	expect_refused(LIST_SOURCE_FILE, temp_file("range", "192.0.2.1 - 192.0.2.254\n"), &opts,
		       "more than 8 networks", "networks past the bound");

	/* A whitelist that fails keeps its holes. */
	{
		struct list_source src[2] = {
		    {LIST_SOURCE_FILE, NULL},
		    {LIST_SOURCE_FILE, NULL},
		};
		struct list_def defs[2] = {
		    {"black", false, "listed", &src[0], 1},
		    {"white", true, NULL, &src[1], 1},
		};
		static char bpath[PATH_MAX], wpath[PATH_MAX];
		char err[256];

		snprintf(bpath, sizeof(bpath), "%s", temp_file("kb", "192.0.2.4/30\n"));
		snprintf(wpath, sizeof(wpath), "%s", temp_file("kw", "192.0.2.5\n"));
		src[0].value = bpath;
		src[1].value = wpath;
		prev = NULL;
		CHECK_INT(blacklist_set_build(defs, 2, NULL, &prev, err, sizeof(err)), 0,
			  "black and white");
		src[1].value = "/nonexistent/white";
		opts = (struct blacklist_options){.previous = prev};
		set = NULL;
		CHECK_INT(blacklist_set_build(defs, 2, &opts, &set, err, sizeof(err)), 0,
			  "again with the whitelist gone");
		CHECK(set && blacklist_set_stats(set, 1)->kept_previous,
		      "the failed whitelist keeps its last good version");
		CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.4 192.0.2.6/31",
			  "its hole stays in the blacklist");
		blacklist_set_free(set);
		blacklist_set_free(prev);
	}
}

/* Send set through a pipe into a receiver for defs, in pieces of piece bytes. */
static unsigned char *send_to_buffer(const struct blacklist_set *set, size_t *len)
{
	char path[PATH_MAX];
	unsigned char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/wire", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK_INT(blacklist_set_send(set, fd), 0, "set sent");
	*len = (size_t)lseek(fd, 0, SEEK_END);
	buf = malloc(*len);
	CHECK(pread(fd, buf, *len, 0) == (ssize_t)*len, "wire read back");
	close(fd);
	return buf;
}

static int receive(const struct list_def *defs, size_t n, const unsigned char *data, size_t len,
		   size_t piece, struct blacklist_set **out, char *err)
{
	struct blacklist_receiver *r = NULL;
	int ret = blacklist_receiver_new(defs, n, NULL, &r, err, 256);

	for (size_t off = 0; !ret && off < len; off += piece)
		ret = blacklist_receiver_feed(r, data + off, len - off < piece ? len - off : piece,
					      err, 256);
	*out = NULL;
	if (!ret)
		ret = blacklist_receiver_finish(r, out);
	blacklist_receiver_free(r);
	return ret;
}

static void test_wire(void)
{
	struct list_source src[2] = {
	    {LIST_SOURCE_EXEC, "echo 192.0.2.0/24; echo 2001:db8::/64; echo 198.51.100.7"},
	    {LIST_SOURCE_EXEC, "echo 192.0.2.5"},
	};
	struct list_def defs[2] = {
	    {"black", false, "listed", &src[0], 1},
	    {"white", true, NULL, &src[1], 1},
	};
	struct blacklist_set *set = NULL, *got;
	unsigned char *wire;
	size_t len, idx[2];
	char err[256];
	uint64_t huge = UINT64_MAX / 2;

	CHECK_INT(blacklist_set_build(defs, 2, NULL, &set, err, sizeof(err)), 0, "a set to send");
	if (!set)
		return;
	wire = send_to_buffer(set, &len);
	CHECK_INT(receive(defs, 2, wire, len, 1, &got, err), 0, "received a byte at a time");
	CHECK_STR(got ? cidrs_text(got, 0) : NULL, cidrs_text(set, 0), "the same networks");
	CHECK(got && blacklist_set_stats(got, 0)->entries == 3, "and stats");
	{
		struct addr_prefix a;

		addr_parse("192.0.2.5", &a);
		CHECK(got && blacklist_set_match(got, &a, idx, 2) == 0, "the white hole stays");
	}
	blacklist_set_free(got);

	CHECK_INT(receive(defs, 2, wire, len - 1, 4096, &got, err), -EPROTO,
		  "a truncated set is refused");
	CHECK_INT(receive(defs, 1, wire, len, 4096, &got, err), -EPROTO,
		  "a set of other lists is refused");
	/* The first list's IPv4 count: head (8), index, kept (8), entries, bad lines (16). */
	memcpy(wire + 32, &huge, sizeof(huge));
	CHECK_INT(receive(defs, 2, wire, len, 4096, &got, err), -EPROTO,
		  "a huge count is refused before anything is allocated");
	CHECK_STR(err, "more ranges than networks allowed", "its reason");
	free(wire);
	blacklist_set_free(set);

	/* Ranges out of order: the same list twice in one file, unmerged on the wire. */
	{
		const char *two = "192.0.2.0/24\n";
		struct blacklist_set *a = one_list(LIST_SOURCE_FILE, temp_file("w1", two), NULL);
		unsigned char *w;
		size_t wl, ranges_at = 8 + 296;

		w = a ? send_to_buffer(a, &wl) : NULL;
		if (w) {
			unsigned char *bad = malloc(wl + 32);
			uint64_t two_ranges = 2;
			struct list_def d = {"test", false, "m", &src[0], 1};

			memcpy(bad, w, wl);
			memcpy(bad + 32, &two_ranges, sizeof(two_ranges));
			memcpy(bad + wl, w + ranges_at, 32);
			CHECK_INT(receive(&d, 1, bad, wl + 32, 7, &got, err), -EPROTO,
				  "overlapping ranges are refused");
			CHECK_STR(err, "ranges out of order", "its reason");
			free(bad);
		}
		free(w);
		blacklist_set_free(a);
	}
}

static char *slurp(const char *path)
{
	static char text[8192];
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(text, 1, sizeof(text) - 1, fp) : 0;

	text[n] = '\0';
	if (fp)
		fclose(fp);
	return fp ? text : NULL;
}

/* Whether pid still runs: a zombie no one reaps yet does not. */
static bool process_runs(pid_t pid)
{
	char path[64], *text;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = slurp(path);
	text = text ? strrchr(text, ')') : NULL;
	return text && text[1] && text[2] != 'Z';
}

/*
 * The loader process: another user, an environment of PATH alone, the URL
 * one argument after "--", and a set the parent rebuilds.
 */
static void test_loader(void)
{
	char out[PATH_MAX / 2], fetch[PATH_MAX + 32], script[PATH_MAX], cmd[3 * PATH_MAX], url[PATH_MAX];
	char path[PATH_MAX + 16], want[2 * PATH_MAX], err[256], buf[4096];
	struct list_source src[2] = {{LIST_SOURCE_EXEC, cmd}, {LIST_SOURCE_URL, url}};
	struct list_def defs[2] = {
	    {"exec", false, "exec", &src[0], 1},
	    {"url", false, "url", &src[1], 1},
	};
	struct blacklist_options opts = {.fetcher = fetch};
	struct blacklist_receiver *r = NULL;
	struct blacklist_set *set = NULL;
	struct passwd *pw = getpwnam("nobody");
	int fd = -1, status = -1, ret;
	const char *text;
	pid_t pid;
	FILE *fp;

	if (geteuid() != 0 || !pw) {
		printf("# loader: not root or no user nobody, not tested\n");
		return;
	}
	snprintf(out, sizeof(out), "%s/loader", dir);
	mkdir(out, 0777);
	chmod(dir, 0755);
	chmod(out, 0777);
	snprintf(script, sizeof(script), "%s/fetch.sh", out);
	fp = fopen(script, "w");
	fprintf(fp, "#!/bin/sh\nprintf '%%s\\n' \"$#\" \"$@\" > %s/args\nenv > %s/fetchenv\n"
		    "echo 198.51.100.7\n",
		out, out);
	fclose(fp);
	chmod(script, 0755);
	snprintf(fetch, sizeof(fetch), "%s -x -- %%s", script);
	snprintf(url, sizeof(url), "http://x/;touch %s/pwned", out);
	snprintf(cmd, sizeof(cmd), "env > %s/env; id -u > %s/uid; echo 192.0.2.7", out, out);
	setenv("GREYWALL_SECRET", "1", 1);

	ret = blacklist_receiver_new(defs, 2, &opts, &r, err, sizeof(err));
	if (!ret)
		ret = blacklist_loader_start(defs, 2, &opts, "nobody", &pid, &fd);
	CHECK_INT(ret, 0, "loader started");
	while (!ret) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		ret = blacklist_receiver_feed(r, buf, (size_t)n, err, sizeof(err));
	}
	CHECK_INT(ret, 0, "the loader's set received (%s)", err);
	CHECK_INT(blacklist_receiver_finish(r, &set), 0, "complete");
	if (fd >= 0) {
		close(fd);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the loader exited with 0");
	}
	blacklist_receiver_free(r);
	unsetenv("GREYWALL_SECRET");
	CHECK_STR(set ? cidrs_text(set, 0) : NULL, "192.0.2.7", "the exec list");
	CHECK_STR(set ? cidrs_text(set, 1) : NULL, "198.51.100.7", "the url list");
	blacklist_set_free(set);

	snprintf(path, sizeof(path), "%s/uid", out);
	text = slurp(path);
	snprintf(want, sizeof(want), "%u\n", (unsigned)pw->pw_uid);
	CHECK_STR(text, want, "the command ran as nobody, not root");
	snprintf(path, sizeof(path), "%s/env", out);
	text = slurp(path);
	CHECK(text && !strstr(text, "GREYWALL_SECRET"), "no daemon variable in its environment");
	CHECK(text && strstr(text, "PATH=/usr/bin:/bin\n"), "PATH=/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s/fetchenv", out);
	text = slurp(path);
	CHECK(text && !strstr(text, "GREYWALL_SECRET"), "none in the fetcher's either");
	snprintf(path, sizeof(path), "%s/args", out);
	text = slurp(path);
	snprintf(want, sizeof(want), "3\n-x\n--\n%s\n", url);
	CHECK_STR(text, want, "the URL is one argument, after --");
	snprintf(path, sizeof(path), "%s/pwned", out);
	CHECK(access(path, F_OK) != 0, "nothing in the URL ran");

	/* In-process builds give commands the same clean environment. */
	setenv("GREYWALL_SECRET", "1", 1);
	snprintf(cmd, sizeof(cmd), "env > %s/env2; echo 192.0.2.8", out);
	set = one_list(LIST_SOURCE_EXEC, cmd, NULL);
	unsetenv("GREYWALL_SECRET");
	snprintf(path, sizeof(path), "%s/env2", out);
	text = slurp(path);
	CHECK(text && !strstr(text, "GREYWALL_SECRET"), "exec in process: no daemon variable");
	blacklist_set_free(set);

	/* SIGTERM ends the loader and the command it waits for. */
	snprintf(cmd, sizeof(cmd), "echo $$ > %s/sleeper; exec sleep 30", out);
	defs[0].sources = &src[0];
	ret = blacklist_loader_start(defs, 1, NULL, "nobody", &pid, &fd);
	CHECK_INT(ret, 0, "a loader with a command that sleeps");
	snprintf(path, sizeof(path), "%s/sleeper", out);
	for (int i = 0; i < 100 && !(text = slurp(path)) ; i++)
		usleep(20000);
	for (int i = 0; i < 100 && text && !text[0]; i++) {
		usleep(20000);
		text = slurp(path);
	}
	if (!ret) {
		pid_t sleeper = text ? atoi(text) : 0;

		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		close(fd);
		/* Until it is gone, for up to a second. */
		for (int i = 0; i < 100 && sleeper > 0 && process_runs(sleeper); i++)
			usleep(10000);
		CHECK(sleeper > 0 && !process_runs(sleeper), "the sleeping command was killed");
	}
}

int main(void)
{
	const char *slash = strrchr(__FILE__, '/');

	snprintf(data_dir, sizeof(data_dir), "%.*s/data/blacklist",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_sources();
	test_definitions();
	test_merging();
	test_whitelists();
	test_failed_whitelist();
	test_classify();
	test_bounds();
	test_wire();
	test_loader();
	test_random();
	test_timing();

	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return check_done();
}
