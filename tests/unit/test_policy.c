// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy service's parent: its decisions (decide.c) against a real
 * store, traps and lists, and its side of the child's socketpair
 * (policy.c), with this test playing the policy child: a wakeup's POLICY
 * messages decided in one store transaction and answered in order, a
 * protocol error restarting the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon.h"
#include "files.h"
#include "policy/decide.h"
#include "policy/policy.h"
#include "spamd/blacklist.h"
#include "spamd/grey.h"
#include "spamd/privsep.h"
#include "spamd/spamd.h"

static char dir[] = "/tmp/gw-policy-XXXXXX";
static char db[PATH_MAX], traps[PATH_MAX], black1[PATH_MAX], black2[PATH_MAX],
	allowed[PATH_MAX + 8];
static struct daemon d = { .epoll_fd = -1 };
static int child_end; /* the test's end of the socketpair: it plays the child */
static int64_t now = 1700000000;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		CHECK(0, "the test writes %s", path);
}

/* The config's lists built as spamd_lists.c builds them, in this process. */
static void load_lists(void)
{
	const struct config_spamd *cs = d.cfg.spamd;
	struct list_source src[8];
	struct list_def defs[8];
	char err[256] = "";

	for (size_t i = 0; i < cs->nlists && i < 8; i++) {
		src[i] = (struct list_source){ LIST_SOURCE_FILE, cs->lists[i].files[0] };
		defs[i] = (struct list_def){ cs->lists[i].name, cs->lists[i].white,
					     cs->lists[i].msg, &src[i], 1 };
	}
	CHECK_INT(blacklist_set_build(defs, cs->nlists, NULL, &d.spamd->lists, err, sizeof(err)), 0,
		  "the lists load (%s)", err);
}

/* The next start()'s spamd block sets alloweddomains (example.org). */
static bool with_alloweddomains;

static void start(const char *policy_options)
{
	static const char conf_fmt[] =
		"spamd {\n\tspamtraps file \"%s\"\n%s%s%s"
		"\tpasstime 5\n\ttarpit no\n"
		"\tblacklist hard { file \"%s\" msg \"Your address %%A is listed, see "
		"http://bl.example.org/\" }\n"
		"\tblacklist soft { file \"%s\" msg \"Soft %%A\" policy defer }\n}\n"
		"policy {\n\tlisten unix \"%s/sock\"\n%s}\n";
	struct tables_maps maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
	char conf[4 * PATH_MAX + 512], err[256] = "";
	int sv[2];

	write_file(traps, "trap@example.org\n");
	snprintf(allowed, sizeof(allowed), "%s.allowed", traps);
	write_file(allowed, "example.org\n");
	write_file(black1, "203.0.113.5\n203.0.113.7\n");
	write_file(black2, "203.0.113.9\n203.0.113.7\n");
	snprintf(conf, sizeof(conf), conf_fmt, traps,
		 with_alloweddomains ? "\talloweddomains file \"" : "",
		 with_alloweddomains ? allowed : "", with_alloweddomains ? "\"\n" : "", black1, black2,
		 dir, policy_options);
	if (config_load_string("t.conf", conf, &d.cfg, err, sizeof(err)) ||
	    store_open(db, &d.store) || tables_init(&d.tables, &d.cfg, d.store, &maps) ||
	    spamd_open(&d, err, sizeof(err)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
	/* policy_start() without its sockets and fork: the test is the child. */
	d.policy = calloc(1, sizeof(*d.policy));
	d.policy->verdicts = calloc(POLICY_BATCH, sizeof(*d.policy->verdicts));
	child_process_init(&d.policy->child, "policy", POLICY_CHILD_OPTION);
	CHECK_INT(policy_attach(&d, sv[0], 0), 0, "the parent takes the socketpair");
	child_end = sv[1];
}

static void stop(void)
{
	policy_stop(&d);
	spamd_close(&d);
	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	close(child_end);
	unlink(db);
	unlink(traps);
	unlink(allowed);
	unlink(black1);
	unlink(black2);
	memset(&d, 0, sizeof(d));
	d.epoll_fd = -1;
}

static struct privsep_policy request(const char *state, const char *client, const char *sender,
				     const char *recipient, const char *instance)
{
	return (struct privsep_policy){ 1,	  "smtpd_access_policy", state, client,
					"mx.example.net", sender, recipient, "0", instance };
}

/* Decide one request; the action in action[]. */
static char action[PRIVSEP_ACTION_MAX + 1];
static struct policy_instances instances;

static enum policy_answer decide(const struct privsep_policy *req)
{
	return policy_decide(&d, now, req, &instances, action, sizeof(action));
}

struct tuple_find {
	const char *from, *to;
	int found, grey;
};

static int find_cb(void *ctx, const struct grey_entry *e)
{
	struct tuple_find *f = ctx;

	if (e->kind != GREY_KIND_GREY)
		return 0;
	f->grey++;
	if (!strcmp(e->from, f->from) && !strcmp(e->to, f->to))
		f->found++;
	return 0;
}

/* How many GREY tuples hold exactly (from, to), and *total the GREY tuples in all. */
static int tuples(const char *from, const char *to, int *total)
{
	struct tuple_find f = { from, to, 0, 0 };

	grey_foreach(spamd_grey(&d), find_cb, &f);
	if (total)
		*total = f.grey;
	return f.found;
}

static bool trapped(const char *ip)
{
	int idx = tables_find(&d.tables, CONFIG_TABLE_SPAMD_GREYTRAP);
	struct addr_prefix a = { 0 };

	addr_parse(ip, &a);
	return idx >= 0 && (tables_lookup(&d.tables, &a) & (1ULL << idx));
}

/* Nothing of someone else's text reaches Postfix as a second line or a control byte. */
static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void test_not_ours_and_unjudgeable(void)
{
	struct privsep_policy r = request("RCPT", "198.51.100.7", "a@example.net",
					  "u@example.org", "I1");

	start("\tdefer-message \"Greylisted for %s seconds at %r, 100%%\"\n");
	CHECK_INT(decide(&r), POLICY_TEMPFAIL, "before the lists are in: a temporary failure");
	CHECK_STR(action, "DEFER_IF_PERMIT 4.3.0 Greylisting is starting, try again later",
		  "its text");
	CHECK_INT(tuples("<a@example.net>", "<u@example.org>", NULL), 0,
		  "and no tuple: a listed source must not be greylisted for want of its list");
	load_lists();
	r.request = "junk";
	CHECK_INT(decide(&r), POLICY_DUNNO, "a request other than smtpd_access_policy: DUNNO");
	CHECK_STR(action, "DUNNO", "its action");
	r.request = "smtpd_access_policy";
	r.state = "CONNECT";
	CHECK_INT(decide(&r), POLICY_DUNNO, "protocol_state CONNECT: DUNNO");
	r.state = "RCPT";
	r.client = "not-an-address";
	CHECK_INT(decide(&r), POLICY_TEMPFAIL, "a client_address that does not parse");
	CHECK_STR(action, "DEFER_IF_PERMIT 4.3.5 Cannot judge the client address",
		  "is deferred, never let through");
	r.client = "198.51.100.0/24";
	CHECK_INT(decide(&r), POLICY_TEMPFAIL, "a network is no client address either");
	r.client = "";
	CHECK_INT(decide(&r), POLICY_TEMPFAIL, "nor an empty one");
	r.state = "DATA";
	r.client = "198.51.100.7";
	CHECK_INT(decide(&r), POLICY_DUNNO, "DATA of a non-null sender: judged at RCPT");
	CHECK_INT(tuples("<a@example.net>", "<u@example.org>", NULL), 0, "no tuple for any of these");
	stop();
}

static void test_greylist(void)
{
	struct privsep_policy r = request("RCPT", "198.51.100.7", "a@example.net",
					  "u@example.org", "M1");
	int total;

	start("\tdefer-message \"Greylisted for %s seconds at %r, 100%%\"\n");
	load_lists();
	CHECK_INT(decide(&r), POLICY_GREYLIST, "a new tuple is greylisted");
	CHECK_STR(action, "DEFER_IF_PERMIT 4.7.1 Greylisted for 5 seconds at example.org, 100%",
		  "with the defer message, %%s and %%r expanded");
	CHECK_INT(tuples("<a@example.net>", "<u@example.org>", &total), 1,
		  "the tuple is stored in spamd's form, angle brackets included");
	CHECK_INT(spamd_rcpt(&d, now + 1, &(struct addr_prefix){ 0 }, NULL, "", "", ""), -EINVAL,
		  "(spamd_rcpt refuses a non-host)");
	{
		struct addr_prefix ip = { 0 }, local = { 0 };

		addr_parse("198.51.100.7", &ip);
		addr_parse("192.0.2.25", &local);
		CHECK_INT(spamd_rcpt(&d, now + 1, &ip, &local, "mx.example.net",
				     "<a@example.net>", "<u@example.org>"),
			  TRAP_GREY, "the tarpit sees the same tuple");
	}
	CHECK_INT(tuples("<a@example.net>", "<u@example.org>", &total), 1,
		  "and it stays one tuple (%d in all)", total);
	now += 2;
	CHECK_INT(decide(&r), POLICY_GREYLIST, "an early retry is greylisted");
	CHECK_STR(action, "DEFER_IF_PERMIT 4.7.1 Greylisted for 3 seconds at example.org, 100%",
		  "with the seconds left");
	now += 10;
	CHECK_INT(decide(&r), POLICY_PASS, "a retry after passtime passes");
	CHECK(!strncmp(action, "PREPEND X-Greylist: delayed 12 seconds by greywall at ", 54),
	      "with postgrey's X-Greylist header (%s)", action);
	CHECK(one_line(action), "the header is one line");
	r.recipient = "v@example.org";
	now += 1;
	decide(&r);
	r.recipient = "u@example.org";
	CHECK_INT(decide(&r), POLICY_PASS, "the same message's next recipient passes");
	CHECK_STR(action, "DUNNO", "without a second header");
	r.instance = "M2";
	CHECK_INT(decide(&r), POLICY_PASS, "the next message passes");
	CHECK(!strncmp(action, "PREPEND X-Greylist: ", 20), "with its own header");
	/* A tuple's domain or sender that would forge a line or a byte. */
	r.instance = "M3";
	r.sender = "b@example.net";
	r.recipient = "u@exa\tmple.org\r\nfoo\x80";
	CHECK_INT(decide(&r), POLICY_GREYLIST, "a recipient with control bytes is greylisted");
	CHECK(one_line(action), "and its domain reaches the action without them (%s)", action);
	stop();
}

static void test_header_off_and_null_sender(void)
{
	struct privsep_policy r = request("RCPT", "198.51.100.8", "", "u@example.org", "N1");
	int total;

	with_alloweddomains = true;
	start("\tx-greylist-header no\n");
	with_alloweddomains = false;
	load_lists();
	CHECK_INT(decide(&r), POLICY_DUNNO, "the null sender at RCPT: DUNNO (probes pass)");
	CHECK_INT(tuples("<>", "<u@example.org>", &total), 0, "and no tuple at RCPT");
	CHECK_INT(total, 0, "none at all");
	r.state = "DATA";
	CHECK_INT(decide(&r), POLICY_GREYLIST, "the null sender at DATA is greylisted");
	CHECK(!strncmp(action, "DEFER_IF_PERMIT 4.7.1 Greylisted, see "
			       "http://postgrey.schweikert.ch/help/example.org.html", 81),
	      "with postgrey's default text (%s)", action);
	CHECK_INT(tuples("<>", "<u@example.org>", NULL), 1, "tuple (<>, <u@example.org>)");
	r.recipient = "";
	r.rcpt_count = "3";
	CHECK_INT(decide(&r), POLICY_GREYLIST,
		  "DATA to several recipients is greylisted, alloweddomains set");
	CHECK_INT(tuples("<>", "<>", NULL), 1, "on the tuple (<>, <>)");
	CHECK(!trapped("198.51.100.8"), "whose <> is no recipient outside alloweddomains");
	now += 6;
	r.recipient = "u@example.org";
	CHECK_INT(decide(&r), POLICY_PASS, "its retry passes");
	CHECK_STR(action, "DUNNO", "without a header when x-greylist-header is no");
	now += 1;
	r.state = "RCPT";
	r.recipient = "trap@example.org";
	CHECK_INT(decide(&r), POLICY_REJECT, "the null sender to a spamtrap at RCPT is rejected");
	CHECK(trapped("198.51.100.8"), "and its source trapped");
	stop();
}

static void test_traps_and_lists(void)
{
	struct privsep_policy r = request("RCPT", "198.51.100.9", "s@example.net",
					  "trap@example.org", "T1");
	struct addr_prefix white = { 0 };

	start("");
	load_lists();
	CHECK_INT(decide(&r), POLICY_REJECT, "a spamtrap recipient is rejected");
	CHECK_STR(action,
		  "REJECT 5.7.1 Your address 198.51.100.9 has sent mail to a spamtrap address",
		  "with the trap message");
	CHECK(trapped("198.51.100.9"), "the source is in <spamd-greytrap>");
	r.recipient = "u@example.org";
	CHECK_INT(decide(&r), POLICY_REJECT, "its next request, to anyone, is rejected");
	CHECK(strstr(action, "spamtrap") != NULL, "with the trapped message (%s)", action);
	CHECK_INT(tuples("<s@example.net>", "<u@example.org>", NULL), 0, "and greylists nothing");
	r.client = "203.0.113.5";
	CHECK_INT(decide(&r), POLICY_REJECT, "a blacklisted client is rejected");
	CHECK_STR(action, "REJECT Your address 203.0.113.5 is listed, see http://bl.example.org/",
		  "with its list's message, %%A expanded");
	r.client = "203.0.113.9";
	CHECK_INT(decide(&r), POLICY_DEFER, "a list with `policy defer` defers");
	CHECK_STR(action, "DEFER Soft 203.0.113.9", "with its message");
	r.client = "203.0.113.7";
	CHECK_INT(decide(&r), POLICY_REJECT, "in a defer list and a reject list: rejected");
	CHECK_STR(action,
		  "REJECT Your address 203.0.113.7 is listed, see http://bl.example.org/; Soft "
		  "203.0.113.7",
		  "with both lists' messages, one line joined by \"; \"");
	r.client = "192.0.2.77";
	addr_parse("192.0.2.77", &white);
	CHECK(tables_add(&d.tables, tables_find(&d.tables, CONFIG_TABLE_SPAMD_WHITE), &white, 0,
			 now) >= 0,
	      "the test whitelists 192.0.2.77");
	tables_commit(&d.tables);
	CHECK_INT(decide(&r), POLICY_PASS, "a source in <spamd-white> passes");
	CHECK_STR(action, "DUNNO", "with DUNNO");
	stop();
}

static void test_store_error(void)
{
	struct privsep_policy r = request("RCPT", "198.51.100.10", "a@example.net",
					  "u@example.org", "E1");

	start("");
	load_lists();
	sqlite3_exec(store_sqlite(d.store), "PRAGMA query_only = 1", NULL, NULL, NULL);
	CHECK_INT(decide(&r), POLICY_TEMPFAIL, "a store that refuses writes: a temporary failure");
	CHECK_STR(action, "DEFER_IF_PERMIT 4.3.0 Greylisting is failing here, try again later",
		  "never DUNNO");
	sqlite3_exec(store_sqlite(d.store), "PRAGMA query_only = 0", NULL, NULL, NULL);
	stop();
}

static void send_line(const char *line)
{
	if (write(child_end, line, strlen(line)) != (ssize_t)strlen(line))
		CHECK(0, "the test writes a line");
}

static void send_policy(uint32_t id, const char *client, const char *sender, const char *rcpt)
{
	struct privsep_msg m = { .type = PRIVSEP_POLICY };
	char line[2048];
	int len;

	m.policy = request("RCPT", client, sender, rcpt, "B");
	m.policy.req_id = id;
	len = privsep_encode(&m, line, sizeof(line) - 1);
	CHECK(len > 0, "the test encodes POLICY %u", id);
	line[len > 0 ? len : 0] = '\0';
	send_line(line);
}

static int commits;

static int count_commit(void *ctx)
{
	(void)ctx;
	commits++;
	return 0;
}

/* The VERDICTs the parent wrote, in order: ids[] and the actions' first words. */
static int read_verdicts(uint32_t *ids, char words[][32], int max)
{
	struct privsep_reader rd;
	struct privsep_msg m;
	int n = 0;

	fcntl(child_end, F_SETFL, O_NONBLOCK);
	privsep_reader_init(&rd, child_end);
	while (n < max && privsep_receive(&rd, &m) == 1 && m.type == PRIVSEP_VERDICT) {
		ids[n] = m.verdict.req_id;
		snprintf(words[n], 32, "%.*s", (int)strcspn(m.verdict.action, " "),
			 m.verdict.action);
		n++;
	}
	privsep_reader_free(&rd);
	return n;
}

static void test_socketpair(void)
{
	uint32_t ids[64];
	char words[64][32], client[32];
	int n, ok = 0;

	start("");
	load_lists();
	sqlite3_commit_hook(store_sqlite(d.store), count_commit, NULL);
	for (int i = 0; i < 40; i++) {
		snprintf(client, sizeof(client), "198.51.100.%d", 100 + i);
		send_policy((uint32_t)(1000 + i), client, "a@example.net", "u@example.org");
	}
	send_line("LOG 6 policy%20child%20says%20hello\n");
	policy_read(&d);
	CHECK_INT(commits, 1, "40 new tuples read in one wakeup: one store transaction");
	n = read_verdicts(ids, words, 64);
	CHECK_INT(n, 40, "40 VERDICTs");
	for (int i = 0; i < n; i++)
		ok += ids[i] == (uint32_t)(1000 + i) && !strcmp(words[i], "DEFER_IF_PERMIT");
	CHECK_INT(ok, 40, "in order, each greylisted");
	CHECK_INT(d.policy->counts.requests, 40, "counted as requests");
	CHECK_INT(d.policy->counts.answers[POLICY_GREYLIST], 40, "and as greylist answers");
	/* A trap in the middle of a batch is decided on its own; the others still batch. */
	commits = 0;
	send_policy(1, "198.51.100.200", "a@example.net", "u@example.org");
	send_policy(2, "198.51.100.201", "a@example.net", "trap@example.org");
	send_policy(3, "198.51.100.202", "a@example.net", "u@example.org");
	policy_read(&d);
	n = read_verdicts(ids, words, 64);
	CHECK(n == 3 && ids[1] == 2 && !strcmp(words[1], "REJECT") &&
		  !strcmp(words[0], "DEFER_IF_PERMIT") && !strcmp(words[2], "DEFER_IF_PERMIT"),
	      "a trap amid the batch: rejected, the others greylisted (%d verdicts)", n);
	CHECK(trapped("198.51.100.201"), "and trapped");
	CHECK_INT(tuples("<a@example.net>", "<u@example.org>", NULL), 42,
		  "every greylisted tuple stored");
	/* A line the protocol does not have: the child is restarted. */
	send_line("CLASSIFY 1 198.51.100.1\n");
	policy_read(&d);
	CHECK_INT(d.policy->counts.protocol_errors, 1, "a wrong message is a protocol error");
	CHECK_INT(d.policy->child.fd, -1, "the channel is dropped");
	CHECK(d.policy->child.restart_at > 0, "and a restart scheduled");
	stop();
}

int main(void)
{
	if (make_temp_path(dir, db, sizeof(db), "greywall.db"))
		return 1;
	snprintf(traps, sizeof(traps), "%s/spamtraps", dir);
	snprintf(black1, sizeof(black1), "%s/black1", dir);
	snprintf(black2, sizeof(black2), "%s/black2", dir);
	test_not_ours_and_unjudgeable();
	test_greylist();
	test_header_off_and_null_sender();
	test_traps_and_lists();
	test_store_error();
	test_socketpair();
	CHECK_INT(rmdir(dir), 0, "temporary directory removed (no files left behind)");
	return check_done();
}
