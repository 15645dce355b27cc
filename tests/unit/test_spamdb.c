// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/escape.h"
#include "files.h"
#include "spamd/spamdb.h"
#include "spamd/trap.h"
#include "store/store.h"

#define NOW 1700000000LL

static char dir[] = "/tmp/gw-spamdb-XXXXXX";
static char db[PATH_MAX];
static struct grey *g;
static struct grey_params params;
/* The config's spamtraps files, for the steps that set them. */
static const struct trap_set *file_traps;

/* What one spamdb run printed, and its status. */
struct run_result {
	int status;
	char *out;
	char *err;
};

/* The last run's result; its buffers are freed by the next run. */
static struct run_result r;

/* Run "spamdb ARGS..." at time now into r; words split on spaces, '' is empty. */
static void spamdb(int64_t now, const char *args)
{
	struct spamdb_command cmd;
	char *argv[16], *words = strdup(args), *save = NULL;
	size_t outlen, errlen;
	FILE *out, *err;
	int argc = 0;

	free(r.out);
	free(r.err);
	for (char *w = strtok_r(words, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = strcmp(w, "''") ? w : "";
	out = open_memstream(&r.out, &outlen);
	err = open_memstream(&r.err, &errlen);
	if (spamdb_parse(argc, argv, &cmd) < 0) {
		fprintf(err, "usage\n");
		r.status = 1;
	} else {
		r.status = spamdb_run(g, file_traps, now, &params, &cmd, out, err);
	}
	fclose(out);
	fclose(err);
	free(words);
}

static void test_format(void)
{
	struct grey_entry grey = {
	    .kind = GREY_KIND_GREY,
	    .helo = "mx.example.net",
	    .from = "<joe@example.net>",
	    .to = "<bob@our.domain>",
	    .first = 1700000000,
	    .pass = 1700014400,
	    .expire = 1700014400,
	    .bcount = 1,
	    .pcount = 0,
	};
	struct grey_entry white = {
	    .kind = GREY_KIND_WHITE, .first = 1, .pass = 2, .expire = 3, .bcount = 4, .pcount = 5};
	struct grey_entry trapped = {.kind = GREY_KIND_TRAPPED, .expire = 1700086400, .pcount = -1};
	struct grey_entry spamtrap = {.kind = GREY_KIND_SPAMTRAP, .address = "trap@our.domain"};
	char line[SPAMDB_LINE_MAX];

	addr_parse("198.51.100.7", &grey.addr);
	spamdb_format(&grey, line, sizeof(line));
	CHECK_STR(line,
		  "GREY|198.51.100.7|mx.example.net|<joe@example.net>|<bob@our.domain>|"
		  "1700000000|1700014400|1700014400|1|0\n",
		  "GREY line");
	addr_parse("2001:db8::/64", &white.addr);
	spamdb_format(&white, line, sizeof(line));
	CHECK_STR(line, "WHITE|2001:db8::/64|||1|2|3|4|5\n", "WHITE line (a v6 prefix)");
	addr_parse("192.0.2.66", &trapped.addr);
	spamdb_format(&trapped, line, sizeof(line));
	CHECK_STR(line, "TRAPPED|192.0.2.66|1700086400\n", "TRAPPED line");
	spamdb_format(&spamtrap, line, sizeof(line));
	CHECK_STR(line, "SPAMTRAP|trap@our.domain\n", "SPAMTRAP line");
	CHECK_INT(spamdb_format(&spamtrap, line, 8), 25, "the full length is returned");
	CHECK_STR(line, "SPAMTRA", "and the output is truncated, NUL-terminated");
}

static void test_parse(void)
{
	char *at[] = {"-a", "-t", "192.0.2.1", "192.0.2.2"};
	char *combined[] = {"-adT", "x@y"};
	char *dashdash[] = {"-d", "--", "-weird"};
	char *bad[] = {"-x"};
	char *lonely[] = {"-T", "x@y"};
	struct spamdb_command cmd;

	CHECK_INT(spamdb_parse(4, at, &cmd), 0, "-a -t keys");
	CHECK(cmd.action == SPAMDB_ADD && cmd.type == SPAMDB_TRAPPED && cmd.nkeys == 2 &&
		  !strcmp(cmd.keys[0], "192.0.2.1"),
	      "-a -t: add TRAPPED, two keys");
	CHECK_INT(spamdb_parse(2, combined, &cmd), 0, "combined flags");
	CHECK(cmd.action == SPAMDB_DELETE && cmd.type == SPAMDB_SPAMTRAP && cmd.nkeys == 1,
	      "-adT: the last of -a/-d wins");
	CHECK_INT(spamdb_parse(3, dashdash, &cmd), 0, "-- ends the flags");
	CHECK(cmd.nkeys == 1 && !strcmp(cmd.keys[0], "-weird"), "a key after --");
	CHECK_INT(spamdb_parse(1, bad, &cmd), -EINVAL, "unknown flag");
	CHECK_INT(spamdb_parse(2, lonely, &cmd), -EINVAL, "-T needs -a or -d");
	CHECK_INT(spamdb_parse(0, NULL, &cmd), 0, "no arguments: list");
	CHECK(cmd.action == SPAMDB_LIST && cmd.nkeys == 0, "list everything");
}

/*
 * spamdb runs in order, on one store: what each must return and print.
 * NULL: not checked. Times: NOW = 1700000000, whiteexp 3110400 s, trapexp
 * 86400 s (spamd's defaults).
 */
static const struct spamdb_step {
	int64_t at; /* seconds after NOW */
	const char *args;
	int status;
	const char *out;
	const char *err;
	const char *what;
} steps[] = {
    {0, "-a 192.0.2.10", 0, "", "", "-a ip"},
    {0, "192.0.2.10", 0, "WHITE|192.0.2.10|||1700000000|1700000000|1703110400|1|0\n", "",
     "-a adds WHITE: first = pass = now, expire now + whiteexp"},
    {100, "-a 192.0.2.10", 0, "", "", "-a again"},
    {100, "192.0.2.10", 0, "WHITE|192.0.2.10|||1700000000|1700000100|1703110500|1|1\n", "",
     "-a again: pcount++, pass and expire move"},
    {0, "-a -t 192.0.2.11 2001:db8::11", 0, "", "", "-a -t two keys"},
    {0, "192.0.2.11 2001:db8::11", 0,
     "TRAPPED|192.0.2.11|1700086400\nTRAPPED|2001:db8::11|1700086400\n", "",
     "-a -t adds TRAPPED until now + trapexp"},
    {50, "-a 192.0.2.11", 0, "", "", "-a on a TRAPPED entry"},
    {50, "192.0.2.11", 0, "WHITE|192.0.2.11|||1700000000|1700000050|1703110450|1|0\n", "",
     "makes it WHITE with pcount 0, as spamdb (-1 + 1)"},
    {60, "-at 192.0.2.11", 0, "", "", "-a -t on a WHITE entry"},
    {60, "192.0.2.11", 0, "TRAPPED|192.0.2.11|1700086460\n", "", "traps it"},
    {0, "-a -T <Trap@Our.Domain>", 0, "", "", "-a -T"},
    {0, "trap@our.domain", 0, "SPAMTRAP|trap@our.domain\n", "",
     "SPAMTRAP lower-cased, brackets stripped"},
    {0, "-a 192.0.2.300 192.0.2.12", 1, "", "invalid ip address 192.0.2.300\n",
     "one bad key of two: status 1, spamdb's message"},
    {0, "192.0.2.12", 0, NULL, "", "the good key was still added"},
    {0, "-a -T nodomain other@our.domain", 255, "", "not an email address: nodomain\n",
     "not an email address: errx(-1)'s status"},
    {0, "other@our.domain", 1, "", "", "the run stopped there, as spamdb's errx does"},
    {0, "-a -G 192.0.2.1", 2, "", "cannot add GREY entries\n", "-a -G: status 2"},
    {0, "-a", 2, "", "no addresses specified\n", "-a without keys: status 2"},
    {0, "-d ''", 2, "", "no addresses specified\n", "an empty key is skipped"},
    {0, "-d 192.0.2.10", 0, "", "", "-d a WHITE entry"},
    {0, "-d 192.0.2.10", 1, "", "no entry for 192.0.2.10\n", "-d again: spamdb's message"},
    {0, "-d 192.0.2.11 2001:db8::11", 0, "", "",
     "-d deletes TRAPPED entries too, whatever the type flag"},
    {0, "-d trap@our.domain", 0, "", "", "-d without -T deletes a SPAMTRAP by its key"},
    {0, "-d -T TRAP@our.domain", 1, "", "no entry for TRAP@our.domain\n",
     "gone already; the key is quoted as given"},
    {0, "-d 198.51.100.5", 1, "", "no entry for 198.51.100.5\n",
     "-d ip does not touch GREY tuples"},
    {0, "-d -G 198.51.100.5", 0, "", "", "-d -G deletes the tuples of an address"},
    {0, "-d -G 198.51.100.5 not-an-ip", 2, "",
     "no entry for 198.51.100.5\nno entry for not-an-ip\n",
     "-d -G: nothing left, and not an address"},
    {0, "", 0, "WHITE|192.0.2.12|||1700000000|1700000000|1703110400|1|0\n", "",
     "only the entry nobody deleted is left"},
    {0, "192.0.2.12 192.0.2.99 nobody@x", 2,
     "WHITE|192.0.2.12|||1700000000|1700000000|1703110400|1|0\n", "",
     "listing keys: only found entries; status counts the others"},
};

static void test_add_delete(void)
{
	struct addr_prefix ip;

	/* Two GREY tuples for the -d and -d -G steps. */
	addr_parse("198.51.100.5", &ip);
	grey_update(g, NOW, &params, &ip, "h", "<a@b>", "<c@d>");
	grey_update(g, NOW, &params, &ip, "h", "<a@b>", "<e@d>");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct spamdb_step *t = &steps[i];

		spamdb(NOW + t->at, t->args);
		CHECK_INT(r.status, t->status, "spamdb %s: status (%s)", t->args, t->what);
		if (t->out)
			CHECK_STR(r.out, t->out, "spamdb %s: output", t->args);
		CHECK_STR(r.err, t->err, "spamdb %s: errors", t->args);
	}
}

static void test_list(void)
{
	struct addr_prefix a, b, net;

	addr_parse("198.51.100.7", &a);
	addr_parse("2001:db8::7", &b);
	addr_parse("203.0.113.0/24", &net);
	grey_update(g, NOW, &params, &b, "v6.example", "<>", "<x@our.domain>");
	grey_update(g, NOW, &params, &a, "mx.example.net", "<joe@example.net>", "<bob@our.domain>");
	grey_update(g, NOW + 1, &params, &a, "mx.example.net", "<joe@example.net>",
		    "<bob@our.domain>");
	grey_white_add(g, NOW, &params, &net);
	grey_trap(g, NOW, &b, NOW + 3600, "v6.example", "<>", "<trap@our.domain>");
	grey_spamtrap_add(g, "trap@our.domain");
	spamdb(NOW, "");
	CHECK_INT(r.status, 0, "list");
	CHECK_STR(r.out,
		  "GREY|198.51.100.7|mx.example.net|<joe@example.net>|<bob@our.domain>|"
		  "1700000000|1700014400|1700014400|2|0\n"
		  "GREY|2001:db8::7|v6.example|<>|<x@our.domain>|"
		  "1700000000|1700014400|1700014400|1|0\n"
		  "WHITE|192.0.2.12|||1700000000|1700000000|1703110400|1|0\n"
		  "WHITE|203.0.113.0/24|||1700000000|1700000000|1703110400|1|0\n"
		  "TRAPPED|2001:db8::7|1700003600\n"
		  "SPAMTRAP|trap@our.domain\n",
		  "the whole store, byte for byte, in spamdb's formats");
}

/* Spamtraps from files: listed as spamd lists its database's, never deleted by -d. */
static void test_file_spamtraps(void)
{
	struct trap_set *set = NULL;

	CHECK_INT(trap_set_new(&set), 0, "a spamtraps file's set");
	if (!set)
		return;
	trap_set_add(set, "Trap@Our.Domain");
	trap_set_add(set, "file-only@our.domain");
	file_traps = set;
	spamdb(NOW, "");
	CHECK(r.out && strstr(r.out, "SPAMTRAP|trap@our.domain\nSPAMTRAP|file-only@our.domain\n"),
	      "the file's spamtraps listed after the store's, one held by both once: %s", r.out);
	spamdb(NOW, "file-only@our.domain FILE-ONLY@our.domain");
	CHECK_STR(r.out, "SPAMTRAP|file-only@our.domain\nSPAMTRAP|file-only@our.domain\n",
		  "spamdb KEY shows a file's spamtrap, case as spamd folds it");
	CHECK_INT(r.status, 0, "and finds it");
	spamdb(NOW, "-d file-only@our.domain");
	CHECK_INT(r.status, 1, "-d of a file's spamtrap fails");
	CHECK_STR(r.err,
		  "file-only@our.domain: in a spamtraps file, not deleted: remove it from the file"
		  " and reload\n", "-d says why");
	spamdb(NOW, "-d trap@our.domain");
	CHECK_INT(r.status, 1, "-d of a spamtrap in the store and in a file fails too");
	spamdb(NOW, "");
	CHECK(r.out && strstr(r.out, "SPAMTRAP|trap@our.domain\n"),
	      "and it is still listed (from the file)");
	spamdb(NOW, "-d nowhere@our.domain");
	CHECK_STR(r.err, "no entry for nowhere@our.domain\n", "an unknown one: spamdb's message");
	file_traps = NULL;
	trap_set_free(set);
}

/* The fields of a spamdb line (without its newline) split at '|'. */
static int count_fields(const char *line, size_t len)
{
	int n = 1;

	for (size_t i = 0; i < len; i++)
		n += line[i] == '|';
	return n;
}

/*
 * A client's HELO "x|a|b|0|0" and a MAIL FROM with ESC[2J and CR: every
 * line keeps its fixed field count and no control byte, and the fields
 * decode back to what was received.
 */
static void test_hostile_fields(void)
{
	static const char helo[] = "x|a|b|0|0", from[] = "<\033[2Jevil\r@example.net>";
	struct addr_prefix grey_ip, trap_ip;
	int lines = 0, counts_ok = 1, clean = 1;
	char field[64];
	const char *p, *helo_at;

	addr_parse("198.51.100.99", &grey_ip);
	addr_parse("198.51.100.98", &trap_ip);
	CHECK_INT(grey_update(g, NOW, &params, &grey_ip, helo, from, "<bob|x@our.domain>"), GREY_NEW,
		  "a tuple with '|', ESC and CR in its fields is greylisted");
	CHECK_INT(grey_trap(g, NOW, &trap_ip, NOW + 100, helo, from, "<trap@our.domain>"), 0,
		  "and a trap with them is recorded");
	CHECK_INT(grey_spamtrap_add(g, "a|b@our.domain"), 0, "a spamtrap address with a '|'");
	spamdb(NOW, "");
	for (p = r.out; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int want = !strncmp(p, "GREY|", 5)	   ? 10
			   : !strncmp(p, "WHITE|", 6)	   ? 9
			   : !strncmp(p, "TRAPPED|", 8)	   ? 3
			   : !strncmp(p, "SPAMTRAP|", 9) ? 2
							   : -1;

		lines++;
		if (count_fields(p, len) != want) {
			counts_ok = 0;
			printf("#   %d fields: %.*s\n", count_fields(p, len), (int)len, p);
		}
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f)
				clean = 0;
		p += len + (nl != NULL);
	}
	CHECK(lines >= 4, "spamdb lists the entries (%d lines)", lines);
	CHECK(counts_ok, "every line has its fixed field count (GREY 10, WHITE 9, TRAPPED 3, "
			 "SPAMTRAP 2)");
	CHECK(clean, "no line holds a control byte or a byte >= 0x7f");
	helo_at = r.out ? strstr(r.out, "GREY|198.51.100.99|") : NULL;
	CHECK(helo_at && sscanf(helo_at + 19, "%63[^|]", field) == 1 &&
		      escape_unvis(field, sizeof(field), field) == (int)strlen(helo) &&
		      !strcmp(field, helo),
	      "the escaped helo decodes to what was received");
	CHECK(r.out && strstr(r.out, "|<\\033[2Jevil\\r@example.net>|") != NULL,
	      "the from is listed as <\\033[2Jevil\\r@example.net>");
	CHECK(r.out && strstr(r.out, "SPAMTRAP|a\\174b@our.domain\n") != NULL,
	      "the spamtrap's '|' is listed as \\174");
	spamdb(NOW, "-d a\\174b@our.domain");
	CHECK_INT(r.status, 0, "spamdb -d takes the SPAMTRAP key as it was listed");
	spamdb(NOW, "a|b@our.domain");
	CHECK_INT(r.status, 1, "and the entry is gone");
	grey_tuples_delete(g, &grey_ip);
	grey_trapped_delete(g, &trap_ip);
}

int main(void)
{
	struct store *st;

	if (make_temp_path(dir, db, sizeof(db), "greywall.db"))
		return 1;
	if (store_open(db, &st) || grey_open(st, &g)) {
		fprintf(stderr, "cannot open %s\n", db);
		return 1;
	}
	grey_params_default(&params);
	test_format();
	test_parse();
	test_add_delete();
	test_list();
	test_file_spamtraps();
	test_hostile_fields();
	grey_close(g);
	store_close(st);
	free(r.out);
	free(r.err);
	unlink(db);
	CHECK_INT(rmdir(dir), 0, "temporary directory removed");
	return check_done();
}
