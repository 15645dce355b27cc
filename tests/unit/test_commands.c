// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywallctl's command layer without a running greywalld: the command
 * table (which words name which command, which arguments fit), requests
 * sent over a socketpair as greywallctl sends them and run against a
 * daemon built here (config from a string, a store in a temporary
 * directory, tables without maps), their replies and exit statuses, the
 * refusals (unknown command, wrong arguments, a const table, root's
 * commands asked by the control group), and greywallctl(8)'s SYNOPSIS and
 * COMMANDS against the table.
 *
 * Not run here: the commands that need the data path's maps or its
 * interfaces (stats, rules, queue show -v, reload, detach); the
 * integration tests run those against a real greywalld.
 *
 * Run from the top of the tree (tests/run.sh does): it runs ./greywallctl
 * and reads man/greywallctl.8, or the page given.
 *
 *   test_commands [MAN_PAGE]
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "daemon/commands.h"
#include "daemon/commands_access.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"

static char dir[] = "/tmp/gw-commands-XXXXXX";
static struct daemon d = DAEMON_INIT("test.conf");

/* What one request got back. */
struct reply {
	int status;
	char *out, *err;
};

static void reply_free(struct reply *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/*
 * Send words as greywallctl does (with file_fd for -f, or -1), read the
 * request as greywalld does, run it as the peer (NULL: root), and read
 * the reply's frames back.
 */
static struct reply run_as(const struct control_peer *peer, int file_fd, const char *const *words,
			   int n)
{
	static const struct control_peer root = { .uid = 0 };
	struct reply r = { .status = -1 };
	struct control_request req;
	size_t out_len = 0, err_len = 0;
	FILE *out, *err;
	int sv[2], status;

	if (!peer)
		peer = &root;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return r;
	if (control_send_request(sv[0], n, (char *const *)words, file_fd) ||
	    control_read_request(sv[1], &req)) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	d.peer_uid = peer->uid;
	status = commands_authorize(peer, true, &req);
	if (!status)
		status = commands_run(&d, &req);
	control_finish(sv[1], &req, status);
	close(sv[1]);
	out = open_memstream(&r.out, &out_len);
	err = open_memstream(&r.err, &err_len);
	r.status = control_read_reply(sv[0], out, err);
	fclose(out);
	fclose(err);
	close(sv[0]);
	return r;
}

/* Run the words given as root. */
#define REQUEST(...)                                                                           \
	run_as(NULL, -1, (const char *const[]){ __VA_ARGS__ },                                 \
	       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

/* Run words as root and check the exit status, standard output and standard error. */
#define EXPECT(want_status, want_out, want_err, ...)                                           \
	do {                                                                                   \
		struct reply __r = REQUEST(__VA_ARGS__);                                       \
		CHECK_INT(__r.status, want_status, "%s: exit status", #__VA_ARGS__);           \
		CHECK_STR(__r.out, want_out, "%s: output", #__VA_ARGS__);                      \
		CHECK_STR(__r.err, want_err, "%s: errors", #__VA_ARGS__);                      \
		reply_free(&__r);                                                              \
	} while (0)

static void start(void)
{
	static const char conf_fmt[] = "set state-dir \"%s\"\n"
				       "set dump-dir \"%s/dump\"\n"
				       "table <bruteforce> persist\n"
				       "table <nets> const { 192.0.2.0/24 }\n";
	struct tables_maps maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
	char conf[3 * PATH_MAX], db[PATH_MAX], err[256] = "";

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(conf, sizeof(conf), conf_fmt, dir, dir);
	snprintf(db, sizeof(db), "%s/greywall.db", dir);
	if (config_load_string(d.config_path, conf, &d.cfg, err, sizeof(err)) ||
	    store_open(db, &d.store) || tables_init(&d.tables, &d.cfg, d.store, &maps)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
	/* Not synced: the tables write the store only, which is all these commands need. */
	for (size_t i = 0; i < d.cfg.ntables; i++)
		for (size_t e = 0; e < d.cfg.tables[i].nentries; e++)
			tables_add(&d.tables, (int)i, &d.cfg.tables[i].entries[e], 0, 0);
	tables_commit(&d.tables);
	d.started = (int64_t)time(NULL);
}

static void stop(void)
{
	char cmd[PATH_MAX + 16];

	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* Every command's words, NAME as a table name, find that command and no other. */
static void test_table_rows(void)
{
	for (int id = 0; id < VERB_COUNT; id++) {
		char words[64], *argv[8];
		int n = 0;

		snprintf(words, sizeof(words), "%s", verbs[id].words);
		for (char *w = strtok(words, " "); w && n < 8; w = strtok(NULL, " "))
			argv[n++] = w;
		CHECK_INT(verb_find(n, argv), id, "'%s' finds its own row", verbs[id].words);
		CHECK_INT(verb_nwords(id), n, "'%s' is named by %d words", verbs[id].words, n);
		CHECK(verbs[id].help && verbs[id].help[0] && !strchr(verbs[id].help, '\n'),
		      "'%s' has one line of help", verbs[id].words);
	}
}

static void test_args_fit(void)
{
	static const struct {
		enum verb_id id;
		int nargs;
		bool fits;
	} cases[] = {
		{ VERB_TABLES, 0, true },	  { VERB_TABLES, 1, false },
		{ VERB_TABLE_ADD, 0, false },	  { VERB_TABLE_ADD, 1, true },
		{ VERB_TABLE_ADD, 300, true },	  { VERB_TABLE_LOAD, 1, false },
		{ VERB_TABLE_LOAD, 2, true },	  { VERB_TABLE_LOAD, 3, false },
		{ VERB_TABLE_SHOW, 0, true },	  { VERB_TABLE_SHOW, 1, true },
		{ VERB_TABLE_SHOW, 2, false },	  { VERB_TABLE_ZERO, 0, true },
		{ VERB_TABLE_ZERO, 5, true },	  { VERB_TABLE_EXPIRE, 0, false },
		{ VERB_TABLE_EXPIRE, 1, true },	  { VERB_TABLE_EXPIRE, 2, false },
		{ VERB_WHY, 1, true },		  { VERB_WHY, 2, false },
		{ VERB_SPAMDB, 0, true },	  { VERB_SPAMDB, 7, true },
		{ VERB_TRAPS_CANDIDATES, 1, false }, { VERB_TRAPS_ADD, 0, false },
		{ VERB_TABLE_ADD_NETWORK, 0, false }, { VERB_TABLE_ADD_NETWORK, 1, true },
		{ VERB_TABLE_ADD_NETWORK, 3, true }, { VERB_TABLE_ADD_NETWORK, 4, false },
	};
	char *add[] = { "table", "t", "add", "192.0.2.7" };
	char *add_network[] = { "table", "t", "add", "--network", "192.0.2.7" };

	CHECK_INT(verb_find(4, add), VERB_TABLE_ADD, "'table t add 192.0.2.7' is table add");
	CHECK_INT(verb_find(5, add_network), VERB_TABLE_ADD_NETWORK,
		  "'table t add --network 192.0.2.7' is table add --network (the longer)");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(verb_args_fit(cases[i].id, cases[i].nargs) == cases[i].fits,
		      "'%s %s' %s %d arguments", verbs[cases[i].id].words, verbs[cases[i].id].args,
		      cases[i].fits ? "takes" : "refuses", cases[i].nargs);
}

static void test_refusals(void)
{
	const struct control_peer member = { .uid = 1000, .in_group = true };
	struct reply r;

	EXPECT(CTL_EXIT_USAGE, "", "greywallctl: unknown command \"frobnicate\"\n", "frobnicate");
	EXPECT(CTL_EXIT_USAGE, "", "usage: greywallctl why ADDRESS\n", "why");
	EXPECT(CTL_EXIT_USAGE, "", "usage: greywallctl status\n", "status", "now");
	EXPECT(CTL_EXIT_USAGE, "", "usage: greywallctl table NAME show [-v]\n", "table",
	       "bruteforce", "show", "-x");
	EXPECT(CTL_EXIT_USAGE, "",
	       "usage: greywallctl queue show [-v]\n", "queue");
	r = REQUEST("table", "bruteforce", "frob");
	CHECK_INT(r.status, CTL_EXIT_USAGE, "an unknown table command is a usage error");
	CHECK(r.err && !strncmp(r.err, "usage: greywallctl table NAME add ADDRESS...\n", 45) &&
		      strstr(r.err, "\n       greywallctl table NAME expire SECONDS\n"),
	      "... that lists the table commands");
	reply_free(&r);
	EXPECT(CTL_EXIT_FAIL, "", "greywallctl: table <nosuch> does not exist\n", "table", "nosuch",
	       "show");
	EXPECT(CTL_EXIT_FAIL, "", "greywallctl: table <nets> is const\n", "table", "nets", "add",
	       "192.0.2.9");
	EXPECT(CTL_EXIT_OK, "1/1 addresses match.\n", "", "table", "nets", "test", "192.0.2.9");
	EXPECT(CTL_EXIT_FAIL, "", "greywallctl: invalid address \"nonsense\"\n", "table",
	       "bruteforce", "add", "203.0.113.1", "nonsense");
	EXPECT(CTL_EXIT_USAGE, "", "greywallctl: table expire: SECONDS must be a number >= 0\n",
	       "table", "bruteforce", "expire", "soon");
	EXPECT(CTL_EXIT_NOINPUT, "", "greywallctl: -f list: no file was passed\n", "table",
	       "bruteforce", "load", "-f", "list");
	EXPECT(CTL_EXIT_FAIL, "", "greywallctl: spamdb: no spamd block in the configuration\n",
	       "spamdb");

	/* The control group: what reads, yes; what writes, no, and nothing is done. */
	r = run_as(&member, -1, (const char *const[]){ "table", "bruteforce", "test", "203.0.113.1" },
		   4);
	CHECK_INT(r.status, CTL_EXIT_NO_MATCH, "a member may test a table (nothing matches)");
	reply_free(&r);
	r = run_as(&member, -1, (const char *const[]){ "help" }, 1);
	CHECK_INT(r.status, CTL_EXIT_OK, "a member may ask for help");
	reply_free(&r);
	r = run_as(&member, -1, (const char *const[]){ "table", "bruteforce", "add", "203.0.113.1" },
		   4);
	CHECK_INT(r.status, CTL_EXIT_NOPERM, "a member may not add");
	CHECK_STR(r.err, "greywallctl: permission denied: 'table bruteforce add' needs root\n",
		  "... and is told so");
	reply_free(&r);
	EXPECT(CTL_EXIT_NO_MATCH, "0/1 addresses match.\n", "", "table", "bruteforce", "test",
	       "203.0.113.1");
}

static void test_tables(void)
{
	char path[PATH_MAX], want[PATH_MAX + 64];
	struct reply r;
	FILE *f;
	int fd;

	EXPECT(CTL_EXIT_OK, "2/2 addresses added.\n", "", "table", "bruteforce", "add",
	       "203.0.113.1", "2001:db8::/32");
	EXPECT(CTL_EXIT_OK, "0/1 addresses added.\n", "", "table", "bruteforce", "add",
	       "203.0.113.1");
	EXPECT(CTL_EXIT_OK, "   203.0.113.1\n   2001:db8::/32\n", "", "table", "bruteforce", "show");
	EXPECT(CTL_EXIT_NO_MATCH, "1/2 addresses match.\n", "", "table", "bruteforce", "test",
	       "203.0.113.1", "203.0.113.9");
	EXPECT(CTL_EXIT_OK,
	       "TABLE                        HOSTS  PREFIXES FLAGS TIMEOUT REFUSED\n"
	       "bruteforce                       1         1   p--       - 0\n"
	       "nets                             0         1   -c-       - 0\n",
	       "", "tables");
	EXPECT(CTL_EXIT_OK, "0/2 addresses expired.\n", "", "table", "bruteforce", "expire",
	       "3600");
	EXPECT(CTL_EXIT_OK, "1/1 addresses deleted.\n", "", "table", "bruteforce", "delete",
	       "203.0.113.1");

	r = REQUEST("why", "2001:db8::1");
	CHECK_INT(r.status, CTL_EXIT_OK, "why: an address a table covers");
	CHECK(r.out && strstr(r.out, "2001:db8::1 is in <bruteforce> as 2001:db8::/32 since "),
	      "... names the table and the entry");
	CHECK(r.out && strstr(r.out, "  evidence: manual: greywallctl table bruteforce add (uid 0)\n"),
	      "... with its evidence");
	reply_free(&r);
	r = REQUEST("why", "203.0.113.1");
	CHECK_INT(r.status, CTL_EXIT_NO_MATCH, "why: an address deleted again is in no table");
	CHECK(r.out && strstr(r.out, "203.0.113.1 is in no table\nhistory:\n") &&
		      strstr(r.out, " delete  <bruteforce> 203.0.113.1: manual: greywallctl table "
				    "bruteforce delete (uid 0)\n"),
	      "... and its history shows the deletion");
	reply_free(&r);

	/* A file passed as greywallctl passes it: the descriptor, not the name. */
	snprintf(path, sizeof(path), "%s/list", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("# from a script\n198.51.100.7\n198.51.100.0/25\n", f);
		fclose(f);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = run_as(NULL, fd, (const char *const[]){ "table", "bruteforce", "replace", "-f", "list" },
		   5);
	CHECK_INT(r.status, CTL_EXIT_OK, "replace -f: exit status");
	CHECK_STR(r.out, "2 addresses added.\n1 addresses deleted.\n", "replace -f: what changed");
	reply_free(&r);
	close(fd);
	EXPECT(CTL_EXIT_OK, "   198.51.100.0/25\n   198.51.100.7\n", "", "table", "bruteforce",
	       "show");
	EXPECT(CTL_EXIT_OK, "2/2 addresses zeroed.\n", "", "table", "bruteforce", "zero");
	snprintf(want, sizeof(want), "2 tables dumped to %s/dump.\n", dir);
	EXPECT(CTL_EXIT_OK, want, "", "dump");
	EXPECT(CTL_EXIT_OK, "2 addresses deleted.\n", "", "table", "bruteforce", "flush");
	EXPECT(CTL_EXIT_OK, "", "", "table", "bruteforce", "show");
	EXPECT(CTL_EXIT_OK, "", "", "queue", "show");
}

static void test_status_and_help(void)
{
	char want[PATH_MAX + 64];
	struct reply r = REQUEST("status");

	CHECK_INT(r.status, CTL_EXIT_OK, "status: exit status");
	CHECK(r.out && !strncmp(r.out, "greywalld " GREYWALL_VERSION " running, pid ", 25),
	      "status: the first line");
	snprintf(want, sizeof(want), "tables: 2, rules: 0\nstore: %s/greywall.db: ok\n", dir);
	CHECK(r.out && strstr(r.out, want), "status: tables, rules and the store");
	reply_free(&r);

	r = REQUEST("help");
	CHECK_INT(r.status, CTL_EXIT_OK, "help: exit status");
	CHECK(r.out && !strncmp(r.out, "usage: greywallctl [-s socket] command [args]\n", 46),
	      "help: the usage line first");
	for (int id = 0; id < VERB_COUNT; id++) {
		char synopsis[128], line[160];
		const char *at;

		verb_synopsis(id, synopsis, sizeof(synopsis));
		snprintf(line, sizeof(line), "\n  %s ", synopsis);
		at = r.out ? strstr(r.out, line) : NULL;
		CHECK(at && strstr(at, verbs[id].help) &&
			      strstr(at, verbs[id].help) < strchr(at + 1, '\n'),
		      "help: '%s' with its help on its line", synopsis);
	}
	reply_free(&r);
}

/* The output of a shell command and its exit status, in a static buffer. */
static const char *shell_output(const char *cmd, int *status)
{
	static char buf[8192];
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	buf[0] = '\0';
	*status = -1;
	if (!p)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	*status = pclose(p);
	*status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
	return buf;
}

/* Run greywallctl as a shell command; its output should be the table's list. */
static void check_greywallctl(const char *cmd, bool with_help, int want_status)
{
	size_t len = 0;
	char *want = NULL;
	FILE *f = open_memstream(&want, &len);
	const char *got;
	int status;

	if (!f)
		return;
	verbs_print_list(f, with_help);
	fclose(f);
	got = shell_output(cmd, &status);
	CHECK_INT(status, want_status, "%s: exit status", cmd);
	CHECK_STR(got, want, "%s: the table's %s", cmd, with_help ? "list" : "synopses");
	free(want);
}

/* greywallctl itself: help without a daemon, usage on a bad command line, both from the table. */
static void test_greywallctl(void)
{
	check_greywallctl("./greywallctl -s /nonexistent/socket help", true, CTL_EXIT_OK);
	check_greywallctl("./greywallctl 2>&1", false, CTL_EXIT_USAGE);
}

/* -- greywallctl(8) against the table -- */

/*
 * The form both sides are compared in: lower case, spaces squeezed, and
 * "x ..." written "x...", so that the page's italic "address ..." and the
 * table's "ADDRESS..." are equal.
 */
static void normalize(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; in[i] && o + 1 < len; i++) {
		if (in[i] == ' ' && (o == 0 || out[o - 1] == ' ' || !strncmp(in + i + 1, "...", 3)))
			continue;
		out[o++] = (char)tolower((unsigned char)in[i]);
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/*
 * A man page line of a font macro as plain text, normalized: the
 * arguments joined with spaces (.B, .I) or run together (.BI and the other
 * alternating ones), font escapes dropped, \- as -. False for other lines.
 */
static bool man_text(const char *line, char *out, size_t len)
{
	static const char *const macros[] = { ".B ", ".I ", ".BI ", ".IB ", ".BR ",
					      ".RB ", ".IR ", ".RI " };
	bool quoted = false, alternating = false, macro = false;
	char tmp[512];
	const char *p;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (!strncmp(line, macros[i], strlen(macros[i]))) {
			macro = true;
			alternating = strlen(macros[i]) == 4;
		}
	if (!macro)
		return false;
	for (p = line + strcspn(line, " ") + 1; *p == ' '; p++)
		;
	for (; *p && *p != '\n' && n + 1 < sizeof(tmp); p++) {
		if (*p == '"') {
			quoted = !quoted;
		} else if (*p == ' ' && !quoted) {
			if (!alternating)
				tmp[n++] = ' ';
		} else if (*p == '\\' && p[1] == 'f' && p[2]) {
			p += 2;
		} else if (*p == '\\' && p[1] == '-') {
			tmp[n++] = '-';
			p++;
		} else {
			tmp[n++] = *p;
		}
	}
	tmp[n] = '\0';
	normalize(tmp, out, len);
	return true;
}

static void table_text(enum verb_id id, char *out, size_t len)
{
	char synopsis[128];

	verb_synopsis(id, synopsis, sizeof(synopsis));
	normalize(synopsis, out, len);
}

static void test_man_page(const char *path)
{
	char line[512], text[512], want[512];
	char synopsis[VERB_COUNT + 8][512];
	bool documented[VERB_COUNT] = { false };
	enum { OTHER, SYNOPSIS, COMMANDS } section = OTHER;
	int nsynopsis = 0, nlines = 0;
	bool in_list = false, after_tp = false;
	FILE *f = fopen(path, "r");

	CHECK(f != NULL, "%s can be read (run from the top of the tree)", path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		nlines++;
		if (!strncmp(line, ".SH ", 4)) {
			section = !strncmp(line + 4, "SYNOPSIS", 8)   ? SYNOPSIS
				  : !strncmp(line + 4, "COMMANDS", 8) ? COMMANDS
								       : OTHER;
			continue;
		}
		if (section == SYNOPSIS) {
			if (!strncmp(line, ".nf", 3))
				in_list = true;
			else if (!strncmp(line, ".fi", 3))
				in_list = false;
			else if (in_list && nsynopsis < VERB_COUNT + 8 &&
				 man_text(line, text, sizeof(text)))
				snprintf(synopsis[nsynopsis++], sizeof(synopsis[0]), "%s", text);
		} else if (section == COMMANDS) {
			/* A .TP's tag line names a command (also under .SS Tarpit commands). */
			if (after_tp && man_text(line, text, sizeof(text)))
				for (int id = 0; id < VERB_COUNT; id++) {
					table_text(id, want, sizeof(want));
					if (!strcmp(text, want))
						documented[id] = true;
				}
			after_tp = !strncmp(line, ".TP", 3);
		}
	}
	fclose(f);
	CHECK_INT(nsynopsis, VERB_COUNT, "%s: one SYNOPSIS line per command of the table", path);
	for (int id = 0; id < VERB_COUNT && id < nsynopsis; id++) {
		table_text(id, want, sizeof(want));
		CHECK_STR(synopsis[id], want, "SYNOPSIS line %d is the table's", id + 1);
	}
	for (int id = 0; id < VERB_COUNT; id++)
		CHECK(documented[id], "COMMANDS documents '%s %s'", verbs[id].words, verbs[id].args);
}

int main(int argc, char **argv)
{
	test_table_rows();
	test_args_fit();
	start();
	test_refusals();
	test_tables();
	test_status_and_help();
	stop();
	test_greywallctl();
	test_man_page(argc > 1 ? argv[1] : "man/greywallctl.8");
	return check_done();
}
