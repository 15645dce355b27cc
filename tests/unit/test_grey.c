// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "files.h"
#include "spamd/grey.h"
#include "spamd/spamdb.h"
#include "store/store.h"
#include "spamd/trap.h"

#define T0 1700000000LL

static char dir[] = "/tmp/gw-grey-XXXXXX";
static char db[PATH_MAX];
static struct store *st;
static struct grey *g;
static struct grey_params params;

/* Parse a test address; a typo shows as a failed check, not a crash. */
static struct addr_prefix pfx(const char *text)
{
	struct addr_prefix p = {0};

	if (addr_parse(text, &p))
		CHECK(0, "test address %s parses", text);
	return p;
}

/* A fresh store and greylist with spamd's default parameters. */
static void open_fresh(void)
{
	unlink(db);
	if (store_open(db, &st) || grey_open(st, &g)) {
		fprintf(stderr, "cannot open %s\n", db);
		exit(2);
	}
	grey_params_default(&params);
}

static void close_all(void)
{
	grey_close(g);
	store_close(st);
	g = NULL;
	st = NULL;
}

/* The whole greylist as spamdb lines, in a static buffer. */
static const char *dump(void)
{
	static char *text;
	size_t len;
	FILE *fp;

	free(text);
	text = NULL;
	fp = open_memstream(&text, &len);
	if (spamdb_list(g, NULL, fp))
		fprintf(fp, "(listing failed)");
	fclose(fp);
	return text;
}

static int update(int64_t now, const char *ip, const char *to)
{
	struct addr_prefix a = pfx(ip);

	return grey_update(g, now, &params, &a, "mx.example.net", "<joe@example.net>", to);
}

static int scan(int64_t now, struct grey_sets *sets)
{
	return grey_scan(g, now, &params, NULL, sets);
}

/* The black sources of test_black_never_white: a host, a network, and one a test adds. */
static const char *black_added = "192.0.2.66";

static bool test_holds_black(void *ctx, const struct addr_prefix *a)
{
	const char *const black[] = {"192.0.2.66", "203.0.113.0/28", black_added};

	(void)ctx;
	for (size_t i = 0; i < sizeof(black) / sizeof(black[0]); i++) {
		struct addr_prefix b = pfx(black[i]);

		if (a->family == b.family && (addr_contains(a, &b) || addr_contains(&b, a)))
			return true;
	}
	return false;
}

static int scan_black(int64_t now, struct grey_sets *sets)
{
	return grey_scan(g, now, &params, &(struct grey_black){test_holds_black, NULL}, sets);
}

static void test_passtime(void)
{
	struct grey_sets sets;
	char want[512];
	const int64_t pt = GREY_PASSTIME, ge = GREY_GREYEXP, we = GREY_WHITEEXP;

	open_fresh();
	CHECK_INT(update(T0, "198.51.100.7", "<bob@our.domain>"), GREY_NEW, "new tuple");
	snprintf(want, sizeof(want),
		 "GREY|198.51.100.7|mx.example.net|<joe@example.net>|<bob@our.domain>|"
		 "%lld|%lld|%lld|1|0\n",
		 T0, T0 + ge, T0 + ge);
	CHECK_STR(dump(), want, "new: first = now, pass = expire = now + greyexp, bcount 1");

	CHECK_INT(update(T0 + pt, "198.51.100.7", "<bob@our.domain>"), GREY_SEEN,
		  "retry exactly passtime later: not passed");
	snprintf(want, sizeof(want),
		 "GREY|198.51.100.7|mx.example.net|<joe@example.net>|<bob@our.domain>|"
		 "%lld|%lld|%lld|2|0\n",
		 T0, T0 + ge, T0 + ge);
	CHECK_STR(dump(), want, "seen: bcount 2, pass unchanged");
	CHECK_INT(scan(T0 + pt, &sets), 0, "scan");
	CHECK_INT(sets.nwhite, 0, "nothing whitelisted before passing");
	CHECK_INT(sets.ngrey, 1, "the scan counts the one GREY tuple");
	grey_sets_free(&sets);

	CHECK_INT(update(T0 + pt + 1, "198.51.100.7", "<bob@our.domain>"), GREY_PASSED,
		  "retry passtime + 1 s later: passed");
	snprintf(want, sizeof(want),
		 "GREY|198.51.100.7|mx.example.net|<joe@example.net>|<bob@our.domain>|"
		 "%lld|%lld|%lld|3|0\n",
		 T0, T0 + pt + 1, T0 + ge);
	CHECK_STR(dump(), want, "passed: pass = now, expire does not move");
	CHECK_INT(update(T0 + pt + 1, "198.51.100.7", "<other@our.domain>"), GREY_NEW,
		  "another recipient is another tuple");

	CHECK_INT(scan(T0 + pt + 2, &sets), 0, "scan after passing");
	CHECK_INT(sets.whitelisted, 1, "one tuple whitelisted");
	CHECK_INT(sets.nwhite, 1, "white set has one entry");
	if (sets.nwhite == 1) {
		char text[ADDR_STRLEN];

		addr_format(&sets.white[0], text, sizeof(text));
		CHECK_STR(text, "198.51.100.7", "white set holds the source");
	}
	CHECK_INT(sets.ntrapped, 0, "trapped set empty");
	CHECK_INT(sets.ngrey, 0, "the WHITE source's tuples are gone from the count");
	grey_sets_free(&sets);
	snprintf(want, sizeof(want), "WHITE|198.51.100.7|||%lld|%lld|%lld|3|0\n", T0, T0 + pt + 1,
		 T0 + pt + 2 + we);
	CHECK_STR(dump(), want,
		  "WHITE keeps first, pass, counts; expire = now + whiteexp; the IP's tuples gone");

	CHECK_INT(update(T0 + pt + 100, "198.51.100.7", "<new@our.domain>"), GREY_WHITE,
		  "a WHITE source reports white");
	snprintf(want, sizeof(want), "WHITE|198.51.100.7|||%lld|%lld|%lld|3|1\n", T0, T0 + pt + 1,
		 T0 + pt + 100 + we);
	CHECK_STR(dump(), want, "WHITE source: pcount++, expire moved, no tuple created");

	/* whiteexp: gone exactly at expire, not a second before. */
	CHECK_INT(scan(T0 + pt + 100 + we - 1, &sets), 0, "scan a second before whiteexp");
	CHECK_INT(sets.nwhite, 1, "still white a second before expiry");
	grey_sets_free(&sets);
	CHECK_INT(scan(T0 + pt + 100 + we, &sets), 0, "scan at whiteexp");
	CHECK_INT(sets.nwhite, 0, "white entry expired");
	CHECK_INT(sets.expired, 1, "one entry expired");
	grey_sets_free(&sets);
	CHECK_STR(dump(), "", "store empty");
	close_all();
}

static void test_greyexp(void)
{
	struct grey_sets sets;

	open_fresh();
	update(T0, "203.0.113.9", "<a@our.domain>");
	CHECK_INT(scan(T0 + GREY_GREYEXP - 1, &sets), 0, "scan a second before greyexp");
	CHECK_INT(sets.expired, 0, "tuple kept before greyexp");
	grey_sets_free(&sets);
	CHECK_INT(update(T0 + GREY_GREYEXP - 1, "203.0.113.9", "<a@our.domain>"), GREY_PASSED,
		  "a retry just before greyexp still passes");
	CHECK_INT(update(T0 + 10, "203.0.113.10", "<a@our.domain>"), GREY_NEW, "second source");
	CHECK_INT(scan(T0 + GREY_GREYEXP, &sets), 0, "scan at greyexp");
	CHECK_INT(sets.expired, 1, "the first tuple expired exactly at greyexp");
	CHECK_INT(sets.whitelisted, 0, "an expired tuple is not whitelisted");
	CHECK_INT(sets.nwhite, 0, "white set empty");
	grey_sets_free(&sets);
	CHECK(strstr(dump(), "GREY|203.0.113.10|") && !strstr(dump(), "203.0.113.9|"),
	      "the younger tuple remains");

	/* A passed tuple of a host made WHITE meanwhile refreshes that entry. */
	{
		struct addr_prefix ip = pfx("203.0.113.30");
		const long long t = T0 + 10000, pt = GREY_PASSTIME, we = GREY_WHITEEXP;
		char want[128];

		update(t, "203.0.113.30", "<a@our.domain>");
		update(t + pt + 1, "203.0.113.30", "<a@our.domain>");
		grey_white_add(g, t + pt + 1, &params, &ip);
		CHECK_INT(scan(t + pt + 2, &sets), 0, "scan");
		CHECK_INT(sets.whitelisted, 1, "the WHITE entry is refreshed");
		grey_sets_free(&sets);
		snprintf(want, sizeof(want), "WHITE|203.0.113.30|||%lld|%lld|%lld|1|0\n",
			 t + pt + 1, t + pt + 1, t + pt + 2 + we);
		CHECK(strstr(dump(), want) != NULL, "expire = scan time + whiteexp");
		CHECK(!strstr(dump(), "GREY|203.0.113.30|"), "and the tuple is gone");
	}

	/* A shorter greyexp from the caller's parameters. */
	params.greyexp = 60;
	CHECK_INT(update(T0 + 20000, "203.0.113.11", "<a@our.domain>"), GREY_NEW,
		  "new, greyexp 60");
	CHECK(strstr(dump(), "|1700020000|1700020060|1700020060|1|0\n") != NULL,
	      "pass and expire follow the parameter");
	close_all();
}

static void test_trapping(void)
{
	struct addr_prefix ip = pfx("192.0.2.66");
	struct grey_sets sets;
	char want[512];
	const int64_t te = GREY_TRAPEXP;

	open_fresh();
	CHECK_INT(update(T0, "192.0.2.66", "<x@our.domain>"), GREY_NEW, "tuple before the trap");
	CHECK_INT(grey_trap(g, T0 + 10, &ip, T0 + 10 + te, "bad.example", "<s@spam.example>",
			    "<trap@our.domain>"),
		  0, "trap the source");
	CHECK(strstr(dump(), "TRAPPED|192.0.2.66|1700086410\n") != NULL,
	      "TRAPPED until now + trapexp");
	CHECK_INT(grey_trap(g, T0 + 500, &ip, T0 + 500 + te, "bad2.example", "<s2@spam.example>",
			    "<trap2@our.domain>"),
		  0, "trapped again");
	CHECK(strstr(dump(), "TRAPPED|192.0.2.66|1700086410\n") != NULL,
	      "trapped again: expiry kept, as spamd");

	CHECK_INT(update(T0 + GREY_PASSTIME + 1, "192.0.2.66", "<x@our.domain>"), GREY_PASSED,
		  "the trapped host's tuple passes");
	CHECK_INT(scan(T0 + GREY_PASSTIME + 2, &sets), 0, "scan");
	CHECK_INT(sets.whitelisted, 0, "a TRAPPED host is not whitelisted");
	CHECK_INT(sets.nwhite, 0, "white set empty");
	CHECK_INT(sets.ntrapped, 1, "trapped set has the host");
	grey_sets_free(&sets);
	CHECK(strstr(dump(), "GREY|192.0.2.66|") != NULL, "its tuple stays as evidence");

	CHECK_INT(scan(T0 + 10 + te - 1, &sets), 0, "scan a second before trapexp");
	CHECK_INT(sets.ntrapped, 1, "still trapped");
	grey_sets_free(&sets);
	CHECK_INT(scan(T0 + 10 + te, &sets), 0, "scan at trapexp");
	CHECK_INT(sets.ntrapped, 0, "trap expired");
	grey_sets_free(&sets);

	/* A WHITE host that hits a trap becomes TRAPPED with the trap's expiry. */
	CHECK_INT(grey_white_add(g, T0, &params, &ip), 0, "whitelist by hand");
	CHECK_INT(grey_trap(g, T0 + 5, &ip, T0 + 5 + te, "h", "<f@x>", "<trap@our.domain>"), 0,
		  "trap the WHITE host");
	snprintf(want, sizeof(want), "TRAPPED|192.0.2.66|%lld\n", T0 + 5 + te);
	CHECK_STR(dump(), want, "WHITE turned TRAPPED until the trap's expiry");
	CHECK_INT(update(T0 + 6, "192.0.2.66", "<y@our.domain>"), GREY_NEW,
		  "a TRAPPED source's tuples are still recorded (spamd)");
	close_all();
}

struct evidence_capture {
	int n;
	int bcount;
	char helo[64];
	char from[64];
	char to[64];
};

static int capture_cb(void *ctx, const struct grey_entry *e)
{
	struct evidence_capture *c = ctx;

	c->n++;
	c->bcount = e->bcount;
	snprintf(c->helo, sizeof(c->helo), "%s", e->helo);
	snprintf(c->from, sizeof(c->from), "%s", e->from);
	snprintf(c->to, sizeof(c->to), "%s", e->to);
	return 0;
}

static void test_evidence(void)
{
	struct addr_prefix ip = pfx("2001:db8::66"), other = pfx("2001:db8::67");
	struct evidence_capture c = {0};

	open_fresh();
	grey_trap(g, T0, &ip, T0 + 100, "bad.example", "<s@spam.example>", "<trap@our.domain>");
	grey_trap(g, T0 + 1, &ip, T0 + 101, "bad2.example", "<s2@spam.example>",
		  "<trap2@our.domain>");
	CHECK_INT(grey_get(g, &ip, capture_cb, &c), 0, "get the TRAPPED entry");
	CHECK_INT(c.n, 1, "one entry");
	CHECK_INT(c.bcount, 2, "two trap hits counted");
	CHECK_STR(c.helo, "bad.example", "evidence: helo of the first trapping");
	CHECK_STR(c.from, "<s@spam.example>", "evidence: from");
	CHECK_STR(c.to, "<trap@our.domain>", "evidence: the trap address");
	CHECK_INT(grey_get(g, &other, capture_cb, &c), -ENOENT, "no entry: -ENOENT");
	CHECK_INT(grey_white_delete(g, &ip), -ENOENT, "a TRAPPED entry is not deleted as WHITE");
	CHECK_INT(grey_trapped_delete(g, &ip), 0, "deleted as TRAPPED");
	CHECK_INT(grey_trapped_delete(g, &ip), -ENOENT, "and gone");
	close_all();
}

static void test_prefix_whitelisting(void)
{
	struct grey_sets sets;
	char text[ADDR_STRLEN];
	const char *d;

	open_fresh();
	params.white_plen4 = 24;
	params.white_plen6 = 64;
	update(T0, "198.51.100.7", "<a@our.domain>");
	update(T0, "198.51.100.9", "<b@our.domain>");
	update(T0, "198.51.101.1", "<c@our.domain>");
	update(T0, "2001:db8:1:2::5", "<a@our.domain>");
	update(T0, "2001:db8:1:3::5", "<a@our.domain>");
	CHECK_INT(update(T0 + GREY_PASSTIME + 1, "198.51.100.7", "<a@our.domain>"), GREY_PASSED,
		  "v4 tuple passes");
	CHECK_INT(update(T0 + GREY_PASSTIME + 1, "2001:db8:1:2::5", "<a@our.domain>"), GREY_PASSED,
		  "v6 tuple passes");
	CHECK_INT(scan(T0 + GREY_PASSTIME + 2, &sets), 0, "scan");
	CHECK_INT(sets.nwhite, 2, "two white prefixes");
	if (sets.nwhite == 2) {
		addr_format(&sets.white[0], text, sizeof(text));
		CHECK_STR(text, "198.51.100.0/24", "the v4 source's /24 is WHITE");
		addr_format(&sets.white[1], text, sizeof(text));
		CHECK_STR(text, "2001:db8:1:2::/64", "the v6 source's /64 is WHITE");
	}
	grey_sets_free(&sets);
	d = dump();
	CHECK(!strstr(d, "GREY|198.51.100.9|"), "tuples inside the white /24 are gone");
	CHECK(strstr(d, "GREY|198.51.101.1|") != NULL, "a tuple outside the /24 stays");
	CHECK(strstr(d, "GREY|2001:db8:1:3::5|") != NULL, "a tuple outside the /64 stays");
	CHECK(strstr(d, "WHITE|198.51.100.0/24|||") != NULL, "listed as a prefix");
	CHECK_INT(update(T0 + 3000, "198.51.100.200", "<z@our.domain>"), GREY_WHITE,
		  "another host of the /24 is white");
	CHECK_INT(update(T0 + 3000, "2001:db8:1:2::ffff", "<z@our.domain>"), GREY_WHITE,
		  "another host of the /64 is white");
	CHECK_INT(update(T0 + 3000, "198.51.101.1", "<c@our.domain>"), GREY_PASSED,
		  "a host outside it is still greylisted");

	/* A prefix TRAPPED by hand stays TRAPPED when one of its hosts passes. */
	{
		struct addr_prefix net = pfx("203.0.113.0/24");

		CHECK_INT(grey_trapped_add(g, T0, &params, &net), 0, "trap a /24 by hand");
		update(T0, "203.0.113.5", "<a@our.domain>");
		update(T0 + GREY_PASSTIME + 1, "203.0.113.5", "<a@our.domain>");
		CHECK_INT(scan(T0 + GREY_PASSTIME + 2, &sets), 0, "scan");
		CHECK_INT(sets.whitelisted, 0, "a TRAPPED prefix is not whitelisted");
		CHECK_INT(sets.ntrapped, 1, "and stays in the trapped set");
		grey_sets_free(&sets);
		CHECK(strstr(dump(), "GREY|203.0.113.5|") != NULL, "the tuple stays");
	}

	params.white_plen4 = 0;
	CHECK_INT(update(T0, "198.51.100.7", "<a@our.domain>"), -EINVAL,
		  "a /0 white prefix is refused");
	params.white_plen4 = 33;
	CHECK_INT(update(T0, "198.51.100.7", "<a@our.domain>"), -EINVAL,
		  "a /33 white prefix is refused");
	close_all();
}

static void test_hostile(void)
{
	struct addr_prefix ip = pfx("192.0.2.1"), net = pfx("192.0.2.0/24");
	char big[GREY_FIELD_MAX + 2];
	const char *evil = "x'); DROP TABLE grey_tuples; --";

	open_fresh();
	memset(big, 'h', GREY_FIELD_MAX);
	big[GREY_FIELD_MAX] = '\0';
	CHECK_INT(grey_update(g, T0, &params, &ip, big, "<f@x>", "<t@y>"), GREY_NEW,
		  "a 1024-byte helo is accepted");
	big[GREY_FIELD_MAX] = 'h';
	big[GREY_FIELD_MAX + 1] = '\0';
	CHECK_INT(grey_update(g, T0 + 1, &params, &ip, big, "<f@x>", "<t@y>"), GREY_SEEN,
		  "a 1025-byte helo is kept (and keyed) by its first 1024 bytes, never refused");
	CHECK_INT(grey_update(g, T0, &params, &ip, "h", big, "<t@y>"), GREY_NEW,
		  "a 1025-byte from is kept, cut");
	CHECK_INT(grey_update(g, T0, &params, &ip, "h", "<f@x>", big), GREY_NEW,
		  "a 1025-byte to is kept, cut");
	CHECK_INT(grey_trap(g, T0, &ip, T0 + 1, big, big, big), 0,
		  "a trap with 1025-byte fields is recorded");
	CHECK(strstr(dump(), "TRAPPED|192.0.2.1|") != NULL, "and the source is TRAPPED");
	CHECK(grey_trapped_delete(g, &ip) == 0, "(the TRAPPED entry goes again)");
	CHECK_INT(grey_update(g, T0, &params, &ip, "h\nGREY|1.2.3.4", "<f@x>", "<t@y>"), GREY_NEW,
		  "a line break in a field is stored as received");
	CHECK(strstr(dump(), "\nGREY|1.2.3.4") == NULL &&
		      strstr(dump(), "|h\\nGREY\\1741.2.3.4|") != NULL,
	      "and cannot forge a listing line: it is listed escaped");
	CHECK_INT(grey_update(g, T0, &params, &ip, "h", "<f@x>\r", "<t@y>"), GREY_NEW,
		  "a carriage return is stored as received");
	CHECK_INT(grey_update(g, T0 + 1, &params, &ip, "h", "<f@x>\r", "<t@y>"), GREY_SEEN,
		  "and keys the tuple exactly");
	CHECK_INT(grey_callback_note(g, T0, &ip, "h\r\033", big, "p\n", 1), 0,
		  "a callback probe with hostile fields is recorded");
	CHECK_INT(grey_update(g, T0, &params, &net, "h", "<f@x>", "<t@y>"), -EINVAL,
		  "a tuple's source must be a host");
	CHECK_INT(grey_update(g, T0, &params, &ip, evil, evil, evil), GREY_NEW,
		  "SQL in a tuple is data");
	CHECK(strstr(dump(), "GREY|192.0.2.1|x'); DROP TABLE grey_tuples; --|") != NULL,
	      "stored verbatim; the table is still there");
	CHECK_INT(grey_update(g, T0 + 1, &params, &ip, evil, evil, evil), GREY_SEEN,
		  "and found again by the same key");
	CHECK_INT(grey_update(g, T0, &params, &ip, "H", "<F@X>", "<T@Y>"), GREY_NEW,
		  "the key is exact: another case is another tuple");
	close_all();
}

static void test_spamtraps(void)
{
	struct trap_set *set;
	struct evidence_capture c = {0};

	open_fresh();
	CHECK_INT(grey_spamtrap_add(g, "<Trap@Our.Domain>"), 0, "add a spamtrap");
	CHECK_INT(grey_spamtrap_add(g, "trap@our.domain"), 0, "adding it again is fine");
	CHECK_INT(grey_spamtrap_add(g, "nodomain"), -EINVAL, "an address needs '@'");
	CHECK_INT(grey_spamtrap_add(g, "other@our.domain"), 0, "add another");
	CHECK_STR(dump(), "SPAMTRAP|other@our.domain\nSPAMTRAP|trap@our.domain\n",
		  "stored normalised, listed in order");
	CHECK_INT(grey_spamtrap_get(g, "TRAP@our.domain", capture_cb, &c), 0, "get by any case");
	trap_set_new(&set);
	trap_set_add(set, "file@our.domain");
	CHECK_INT(grey_spamtraps_load(g, set), 0, "load the store's spamtraps into a set");
	CHECK_INT(trap_set_count(set), 3, "file entries and store entries together");
	CHECK(trap_set_contains(set, "trap@our.domain"), "store entry in the set");
	trap_set_free(set);
	CHECK_INT(grey_spamtrap_delete(g, "<TRAP@our.domain>"), 0, "delete");
	CHECK_INT(grey_spamtrap_delete(g, "trap@our.domain"), -ENOENT, "deleted already");
	close_all();
}

struct text_walk {
	char buf[1024];
};

/* Append to a walk's text. */
static int append(struct text_walk *w, const char *fmt, ...)
{
	size_t used = strlen(w->buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->buf + used, sizeof(w->buf) - used, fmt, ap);
	va_end(ap);
	return 0;
}

static int candidate_cb(void *ctx, const struct grey_candidate *c)
{
	return append(ctx, "%s %lld %lld %d %d;", c->address, (long long)c->first,
		      (long long)c->last, c->hits, c->nsources);
}

static int source_cb(void *ctx, const struct grey_candidate_source *s)
{
	char ip[ADDR_STRLEN];

	addr_format(&s->ip, ip, sizeof(ip));
	return append(ctx, "%s %lld %lld %d;", ip, (long long)s->first, (long long)s->last,
		      s->hits);
}

static int callback_cb(void *ctx, const struct grey_callback *c)
{
	char ip[ADDR_STRLEN];

	addr_format(&c->ip, ip, sizeof(ip));
	return append(ctx, "%lld %s %s %s %s %lld;", (long long)c->when, ip, c->helo, c->rcpt,
		      c->probe_host, (long long)c->probe_epoch);
}

static void test_candidates(void)
{
	struct addr_prefix a = pfx("198.51.100.1"), b = pfx("2001:db8::2");
	struct text_walk w = {""};
	struct grey_sets sets;

	open_fresh();
	CHECK_INT(grey_candidate_note(g, T0, "<Nobody@Our.Domain>", &a), 0, "note a candidate");
	grey_candidate_note(g, T0 + 5, "nobody@our.domain", &b);
	grey_candidate_note(g, T0 + 9, "nobody@our.domain", &a);
	grey_candidate_note(g, T0 + 7, "ghost@our.domain", &b);
	grey_candidate_foreach(g, candidate_cb, &w);
	CHECK_STR(w.buf,
		  "ghost@our.domain 1700000007 1700000007 1 1;"
		  "nobody@our.domain 1700000000 1700000009 3 2;",
		  "candidates with first seen, last seen, hits, sources");
	w.buf[0] = '\0';
	grey_candidate_sources(g, "NOBODY@our.domain", source_cb, &w);
	CHECK_STR(w.buf,
		  "198.51.100.1 1700000000 1700000009 2;2001:db8::2 1700000005 1700000005 1;",
		  "the sources that used a candidate");
	CHECK_INT(grey_candidate_note(g, T0, "x@our.domain", &(struct addr_prefix){0}), -EINVAL,
		  "a source must be an address");

	CHECK_INT(grey_candidate_promote(g, "nobody@our.domain"), 0, "promote");
	CHECK_STR(dump(), "SPAMTRAP|nobody@our.domain\n", "promoted to SPAMTRAP");
	w.buf[0] = '\0';
	grey_candidate_foreach(g, candidate_cb, &w);
	CHECK_STR(w.buf, "ghost@our.domain 1700000007 1700000007 1 1;", "no longer a candidate");
	w.buf[0] = '\0';
	grey_candidate_sources(g, "nobody@our.domain", source_cb, &w);
	CHECK_STR(w.buf, "", "its sources forgotten");
	CHECK_INT(grey_candidate_promote(g, "nobody@our.domain"), -ENOENT,
		  "promoting a non-candidate fails");
	CHECK_STR(dump(), "SPAMTRAP|nobody@our.domain\n", "and changes nothing");

	CHECK_INT(scan(T0 + 7 + GREY_WHITEEXP - 1, &sets), 0, "scan before the candidate is stale");
	grey_sets_free(&sets);
	w.buf[0] = '\0';
	grey_candidate_foreach(g, candidate_cb, &w);
	CHECK(w.buf[0] != '\0', "a candidate seen within whiteexp stays");
	CHECK_INT(scan(T0 + 7 + GREY_WHITEEXP, &sets), 0, "scan when it is stale");
	grey_sets_free(&sets);
	w.buf[0] = '\0';
	grey_candidate_foreach(g, candidate_cb, &w);
	CHECK_STR(w.buf, "", "a candidate unseen for whiteexp is dropped");
	CHECK_INT(grey_candidate_delete(g, "ghost@our.domain"), -ENOENT, "delete: gone already");
	close_all();
}

static void test_callbacks(void)
{
	struct addr_prefix a = pfx("203.0.113.25");
	struct text_walk w = {""};
	struct trap_probe probe;
	struct grey_sets sets;
	const char *rcpt = "<mx42.example.net-1503146097-testing@our.domain>";

	open_fresh();
	trap_callback_probe("<>", rcpt, &probe);
	CHECK_INT(grey_callback_note(g, T0, &a, "mx42.example.net", rcpt, probe.host, probe.epoch),
		  0, "record a callback probe");
	grey_callback_foreach(g, callback_cb, &w);
	CHECK_STR(w.buf,
		  "1700000000 203.0.113.25 mx42.example.net "
		  "<mx42.example.net-1503146097-testing@our.domain> mx42.example.net 1503146097;",
		  "listed with host, helo, epoch and our recipient");
	CHECK_INT(scan(T0 + GREY_WHITEEXP, &sets), 0, "scan whiteexp later");
	grey_sets_free(&sets);
	w.buf[0] = '\0';
	grey_callback_foreach(g, callback_cb, &w);
	CHECK_STR(w.buf, "", "old callback records are dropped");
	close_all();
}

static int count_grey_cb(void *ctx, const struct grey_entry *e)
{
	*(int *)ctx += e->kind == GREY_KIND_GREY;
	return 0;
}

static int grey_tuples(void)
{
	int n = 0;

	grey_foreach(g, count_grey_cb, &n);
	return n;
}

/*
 * maxtuples: a source with that many live tuples gets no new one, while
 * its existing tuples still count retries and still whitelist it; other
 * sources are not touched, and expired tuples do not count.
 */
static void test_maxtuples(void)
{
	const int64_t pt = GREY_PASSTIME;
	struct grey_sets sets;
	char to[64];
	int full = 0;

	open_fresh();
	CHECK_INT(params.maxtuples, 200, "maxtuples defaults to 200");
	params.maxtuples = 5;
	for (int i = 0; i < 1000; i++) {
		snprintf(to, sizeof(to), "<u%d@our.domain>", i);
		full += update(T0 + i / 100, "198.51.100.70", to) == GREY_FULL;
	}
	CHECK_INT(full, 995, "1000 new tuples from one source: 995 refused");
	CHECK_INT(grey_tuples(), 5, "maxtuples 5: five tuples stored");
	CHECK_INT(update(T0 + 20, "198.51.100.71", "<u0@our.domain>"), GREY_NEW,
		  "another source is not bounded by the first's tuples");
	CHECK_INT(update(T0 + 20, "2001:db8::70", "<u0@our.domain>"), GREY_NEW,
		  "nor is an IPv6 source");
	CHECK_INT(update(T0 + 30, "198.51.100.70", "<u4@our.domain>"), GREY_SEEN,
		  "a full source's existing tuple is still seen");
	CHECK_INT(update(T0 + pt + 31, "198.51.100.70", "<u4@our.domain>"), GREY_PASSED,
		  "and still passes");
	CHECK_INT(scan(T0 + pt + 32, &sets), 0, "scan");
	CHECK_INT(sets.whitelisted, 1, "the full source's retry whitelists it");
	grey_sets_free(&sets);
	CHECK_INT(update(T0 + pt + 40, "198.51.100.70", "<u999@our.domain>"), GREY_WHITE,
		  "once WHITE it keeps no tuples at all");

	/* Expired tuples are not live: a source whose tuples expired may start again. */
	params.maxtuples = 1;
	CHECK_INT(update(T0, "203.0.113.70", "<a@our.domain>"), GREY_NEW, "maxtuples 1: one tuple");
	CHECK_INT(update(T0 + 1, "203.0.113.70", "<b@our.domain>"), GREY_FULL, "a second: refused");
	CHECK_INT(update(T0 + GREY_GREYEXP, "203.0.113.70", "<b@our.domain>"), GREY_NEW,
		  "after the first expired (not yet scanned away), a new one is taken");
	params.maxtuples = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(to, sizeof(to), "<v%d@our.domain>", i);
		full += update(T0, "192.0.2.70", to) == GREY_FULL;
	}
	CHECK_INT(full, 995, "maxtuples 0: no bound");
	close_all();
}

/*
 * grey.c keeps, per recent source, a bound of its live tuples instead of
 * counting them for each new tuple: the bound must never fall below the
 * truth, whatever happens between two tuples of a source.
 */
static void test_maxtuples_bound(void)
{
	struct addr_prefix a;
	char to[64], ip[64];
	int full = 0, fresh = 0;

	open_fresh();
	params.maxtuples = 5;
	CHECK_INT(update(T0, "198.51.100.80", "<a0@our.domain>"), GREY_NEW, "a source's first tuple");
	/* Taken while unbounded, they still count once the bound is back. */
	params.maxtuples = 0;
	for (int i = 1; i < 10; i++) {
		snprintf(to, sizeof(to), "<a%d@our.domain>", i);
		full += update(T0, "198.51.100.80", to) == GREY_FULL;
	}
	CHECK_INT(full, 0, "unbounded: nine more taken");
	params.maxtuples = 5;
	CHECK_INT(update(T0 + 1, "198.51.100.80", "<b@our.domain>"), GREY_FULL,
		  "bounded again: ten live tuples, a new one refused");
	params.maxtuples = 12;
	CHECK_INT(update(T0 + 2, "198.51.100.80", "<c@our.domain>"), GREY_NEW, "maxtuples 12: the 11th");
	CHECK_INT(update(T0 + 2, "198.51.100.80", "<d@our.domain>"), GREY_NEW, "the 12th");
	CHECK_INT(update(T0 + 2, "198.51.100.80", "<e@our.domain>"), GREY_FULL, "the 13th refused");

	/* Deleted tuples free their room at once. */
	a = pfx("198.51.100.80");
	CHECK_INT(grey_tuples_delete(g, &a), 0, "spamdb -d of the source's tuples");
	CHECK_INT(update(T0 + 3, "198.51.100.80", "<e@our.domain>"), GREY_NEW,
		  "after the delete, a new tuple is taken");

	/*
	 * More sources than the bounds kept: each still gets exactly its
	 * maxtuples, in whatever order their tuples come.
	 */
	params.maxtuples = 2;
	full = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 6000; i++) {
			snprintf(ip, sizeof(ip), "2001:db8:%x::%x", i / 256, i % 256 + 1);
			snprintf(to, sizeof(to), "<r%d@our.domain>", round);
			switch (update(T0 + 10, ip, to)) {
			case GREY_NEW:
				fresh++;
				break;
			case GREY_FULL:
				full++;
				break;
			default:
				break;
			}
		}
	}
	CHECK_INT(fresh, 12000, "6000 sources, 3 tuples each, maxtuples 2: 12000 taken");
	CHECK_INT(full, 6000, "and 6000 refused");
	close_all();
}

/* A burst of tuples inside the caller's transaction is part of it. */
static void test_burst(void)
{
	open_fresh();
	CHECK_INT(store_begin(st), 0, "caller opens a transaction");
	CHECK_INT(update(T0, "198.51.100.60", "<a@our.domain>"), GREY_NEW, "update inside it");
	CHECK_INT(update(T0 + 1, "198.51.100.60", "<a@our.domain>"), GREY_SEEN,
		  "sees its own uncommitted tuple");
	CHECK_INT(store_rollback(st), 0, "caller rolls back");
	CHECK_STR(dump(), "", "the burst is gone with the caller's rollback");
	store_begin(st);
	update(T0, "198.51.100.61", "<a@our.domain>");
	update(T0, "198.51.100.62", "<a@our.domain>");
	CHECK_INT(store_commit(st), 0, "caller commits");
	CHECK(strstr(dump(), "GREY|198.51.100.61|") && strstr(dump(), "GREY|198.51.100.62|"),
	      "the burst is stored with the caller's commit");
	close_all();
}

static void test_persistence(void)
{
	open_fresh();
	update(T0, "198.51.100.50", "<p@our.domain>");
	grey_spamtrap_add(g, "keep@our.domain");
	close_all();
	if (store_open(db, &st) || grey_open(st, &g)) {
		CHECK(0, "reopen");
		return;
	}
	CHECK(strstr(dump(), "GREY|198.51.100.50|") && strstr(dump(), "SPAMTRAP|keep@our.domain"),
	      "entries survive close and reopen; grey_open keeps existing tables");
	close_all();
}

/*
 * A blacklisted or trapped source is never whitelisted by the scan, not
 * as a host and not inside a white prefix; a WHITE entry that holds one
 * is removed (spamd's "blacklisted, removing from whitelist").
 */
static void test_black_never_white(void)
{
	const int64_t pass = T0 + GREY_PASSTIME + 1;
	struct grey_sets sets;
	const char *d;

	open_fresh();
	update(T0, "192.0.2.66", "<a@our.domain>");
	update(pass, "192.0.2.66", "<a@our.domain>");
	CHECK_INT(scan_black(pass + 1, &sets), 0, "scan with a black host's passed tuple");
	CHECK_INT(sets.nwhite, 0, "the black host is not whitelisted");
	CHECK_INT(sets.whitelisted, 0, "nothing counted as whitelisted");
	grey_sets_free(&sets);
	d = dump();
	CHECK(!strstr(d, "WHITE|192.0.2.66|"), "no WHITE entry for the black host");
	CHECK(!strstr(d, "GREY|192.0.2.66|"), "its tuples are gone");

	/* A /24 around a passed host holds a black host: only the passed host goes white. */
	params.white_plen4 = 24;
	update(T0, "192.0.2.10", "<a@our.domain>");
	update(pass, "192.0.2.10", "<a@our.domain>");
	update(T0, "203.0.113.200", "<a@our.domain>");
	update(pass, "203.0.113.200", "<a@our.domain>");
	CHECK_INT(scan_black(pass + 1, &sets), 0, "scan with white-prefix4 24");
	grey_sets_free(&sets);
	d = dump();
	CHECK(strstr(d, "WHITE|192.0.2.10|||") != NULL,
	      "the /24 holding a black host is narrowed to the passed host");
	CHECK(!strstr(d, "WHITE|192.0.2.0/24|"), "no white /24 over the black host");
	CHECK(strstr(d, "WHITE|203.0.113.200|||") != NULL,
	      "a /24 holding a black network is narrowed too");
	CHECK_INT(update(pass + 2, "192.0.2.66", "<b@our.domain>"), GREY_NEW,
		  "the black host is not covered by its neighbour's WHITE entry");

	/* Without the filter the /24 is whitened; then a list holds one of its hosts. */
	update(T0, "198.51.100.7", "<a@our.domain>");
	update(pass, "198.51.100.7", "<a@our.domain>");
	CHECK_INT(scan(pass + 1, &sets), 0, "scan without a black filter");
	grey_sets_free(&sets);
	CHECK(strstr(dump(), "WHITE|198.51.100.0/24|||") != NULL, "a white /24");
	black_added = "198.51.100.9";
	CHECK_INT(scan_black(pass + 1, &sets), 0, "scan once a list holds a host of the white /24");
	CHECK_INT(sets.unwhitened, 1, "one WHITE entry held a black source");
	CHECK_INT(sets.nwhite, 2, "the two white hosts stay");
	grey_sets_free(&sets);
	d = dump();
	CHECK(!strstr(d, "WHITE|198.51.100.0/24|"), "the white /24 over it is removed");
	CHECK(strstr(d, "WHITE|192.0.2.10|||") != NULL, "other WHITE entries stay");
	black_added = "192.0.2.66";
	close_all();
}

/*
 * A greylist write whose commit fails (a deferred foreign key here; a full
 * disk does it too) is rolled back by store_commit(): the error is the
 * commit's, no transaction stays open, nothing of the write is kept, and
 * the next write commits.
 */
static void test_failed_commit(void)
{
	struct addr_prefix a = pfx("198.51.100.70");
	struct text_walk w = {""};
	sqlite3 *sql;

	open_fresh();
	sql = store_sqlite(st);
	CHECK_INT(sqlite3_exec(sql,
			       "PRAGMA foreign_keys = ON;"
			       "CREATE TABLE test_parent(id INTEGER PRIMARY KEY);"
			       "CREATE TABLE test_child(id INTEGER REFERENCES test_parent(id)"
			       " DEFERRABLE INITIALLY DEFERRED);"
			       "CREATE TRIGGER test_dangling AFTER INSERT ON grey_candidates"
			       " BEGIN INSERT INTO test_child VALUES(1); END;",
			       NULL, NULL, NULL),
		  SQLITE_OK, "a trigger that makes the commit of a new candidate fail");
	CHECK_INT(grey_candidate_note(g, T0, "nobody@our.domain", &a), -EEXIST,
		  "the commit's error (a constraint) is returned");
	CHECK_INT(store_write_error(st), -EEXIST, "and is the store's last write error");
	CHECK(strstr(store_errmsg(st), "FOREIGN KEY") != NULL,
	      "store_errmsg() says why, after the rollback too (%s)", store_errmsg(st));
	CHECK(sqlite3_get_autocommit(sql), "no transaction is left open");
	grey_candidate_foreach(g, candidate_cb, &w);
	CHECK_STR(w.buf, "", "the candidate was rolled back");
	sqlite3_exec(sql, "DROP TRIGGER test_dangling", NULL, NULL, NULL);
	CHECK_INT(grey_candidate_note(g, T0, "nobody@our.domain", &a), 0, "the next write commits");
	CHECK_INT(store_write_error(st), 0, "and clears the write error");
	close_all();
}

int main(void)
{
	if (make_temp_path(dir, db, sizeof(db), "greywall.db"))
		return 1;
	test_passtime();
	test_greyexp();
	test_trapping();
	test_evidence();
	test_prefix_whitelisting();
	test_black_never_white();
	test_hostile();
	test_spamtraps();
	test_candidates();
	test_callbacks();
	test_burst();
	test_maxtuples();
	test_maxtuples_bound();
	test_persistence();
	test_failed_commit();
	unlink(db);
	CHECK_INT(rmdir(dir), 0, "temporary directory removed (no files left behind)");
	return check_done();
}
