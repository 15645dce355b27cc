// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The CrowdSec client's parent side against a real store and the table
 * model (no maps), the test playing the child on a socketpair: decisions
 * into the pull table with their evidence and ends, several decisions on
 * one address, deletes, a local writer's entry that no decision removes,
 * the startup pull's reconcile, a restart from the store, the push queue
 * (alerts, batches, failures, what is never pushed) and protocol errors.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crowdsec/crowdsec.h"
#include "crowdsec/proto.h"
#include "daemon/daemon.h"

static char dir[] = "/tmp/test_crowdsec.XXXXXX";
static char db[PATH_MAX];
static const struct tables_maps no_maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
static struct daemon d = DAEMON_INIT("t.conf");
static int child = -1;	/* the test's end of the socketpair */
static int pull_idx, pop_idx, long_idx;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

static struct addr_prefix P(const char *text)
{
	struct addr_prefix p;

	if (addr_parse(text, &p))
		abort();
	return p;
}

static const struct entry_meta *entry(int idx, const char *addr)
{
	struct addr_prefix p = P(addr);

	return tables_entry(&d.tables, idx, &p);
}

static const char *evidence_of(int idx, const char *addr, char *buf, size_t len)
{
	const struct entry_meta *m = entry(idx, addr);
	struct evidence ev;

	if (!m || store_evidence_get(d.store, m->evidence_id, &ev))
		return "(none)";
	snprintf(buf, len, "%s: %s", ev.source, ev.detail);
	return buf;
}

/* Start greywalld's side with the test as the child; the CONFIG it sends is checked. */
static void attach(void)
{
	struct cs_msg_config m;
	char err[256] = "";
	int sv[2];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    crowdsec_open(&d, err, sizeof(err)) || crowdsec_attach(&d, sv[0], 0, err, sizeof(err))) {
		fprintf(stderr, "cannot attach: %s\n", err);
		exit(2);
	}
	child = sv[1];
	n = recv(child, &m, sizeof(m) + 1, 0);
	CHECK(n == sizeof(m) && cs_msg_check(&m, (size_t)n) == CS_MSG_CONFIG,
	      "the child gets its settings first");
	CHECK(m.pull == 1 && m.push == 1 && !strcmp(m.bouncer_key, "0123456789abcdef") &&
		  !strcmp(m.machine, "gw1") && !strcmp(m.password, "s3cret") &&
		  !strcmp(m.url, "http://127.0.0.1:8080/") && m.every == 10,
	      "settings: url, secrets read from their files (first line), machine, every");
}

static void setup(void)
{
	char conf[4 * PATH_MAX], key[PATH_MAX], pw[PATH_MAX], err[256] = "";

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, sizeof(db), "%s/greywall.db", dir);
	snprintf(key, sizeof(key), "%s/bouncer.key", dir);
	snprintf(pw, sizeof(pw), "%s/machine.pw", dir);
	write_file(key, "0123456789abcdef\n");
	chmod(key, 0600);
	write_file(pw, "s3cret\nsecond line ignored\n");
	chmod(pw, 0600);
	snprintf(conf, sizeof(conf),
		 "set state-dir \"%s\"\n"
		 "table <crowdsec> persist\n"
		 "table <popflooders> persist timeout 1h\n"
		 "table <longterm> persist\n"
		 "crowdsec {\n"
		 " url \"http://127.0.0.1:8080\" bouncer-key file \"%s\" table <crowdsec>\n"
		 " machine \"gw1\" password file \"%s\" push <popflooders> <longterm>\n"
		 " push-queue 5 push-duration 2h\n"
		 "}\n",
		 dir, key, pw);
	if (config_load_string("t.conf", conf, &d.cfg, err, sizeof(err)) ||
	    store_open(db, &d.store) || tables_init(&d.tables, &d.cfg, d.store, &no_maps)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
	pull_idx = tables_find(&d.tables, "crowdsec");
	pop_idx = tables_find(&d.tables, "popflooders");
	long_idx = tables_find(&d.tables, "longterm");
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	crowdsec_close(&d);
	if (child >= 0)
		close(child);
	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

static void send_raw(const void *m, size_t len)
{
	if (send(child, m, len, 0) != (ssize_t)len) {
		perror("send");
		exit(2);
	}
}

struct dec {
	int64_t id;
	const char *value;
	int64_t duration;
	int deleted;
	const char *origin;
	const char *scenario;
};

/* One answer of the stream: BEGIN, the decisions, END; then greywalld reads it. */
static void pull(int startup, const struct dec *decs, size_t n)
{
	struct cs_msg_pull_begin b = { .type = CS_MSG_PULL_BEGIN, .startup = startup, .bytes = 100 };
	struct cs_msg_pull_end e = { .type = CS_MSG_PULL_END, .startup = startup, .millis = 3 };

	send_raw(&b, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		struct cs_msg_decision m = { .type = CS_MSG_DECISION };

		m.id = decs[i].id;
		m.deleted = (uint8_t)decs[i].deleted;
		m.scope = strchr(decs[i].value, '/') ? CS_SCOPE_RANGE : CS_SCOPE_IP;
		m.duration = decs[i].duration;
		snprintf(m.value, sizeof(m.value), "%s", decs[i].value);
		snprintf(m.origin, sizeof(m.origin), "%s", decs[i].origin ? decs[i].origin : "cscli");
		snprintf(m.scenario, sizeof(m.scenario), "%s",
			 decs[i].scenario ? decs[i].scenario : "manual 'ban' from 'localcli'");
		send_raw(&m, sizeof(m));
		if (decs[i].deleted)
			e.deleted++;
		else
			e.added++;
	}
	send_raw(&e, sizeof(e));
	crowdsec_read(&d);
	while (crowdsec_pending(&d))
		crowdsec_read(&d);
}

static void test_pull(void)
{
	char buf[600];
	const struct dec first[] = {
	    {1, "198.51.100.7", 3600, 0, NULL, NULL},
	    {2, "203.0.113.0/24", 7200, 0, NULL, NULL},
	    {3, "2001:db8:1::/48", 3600, 0, NULL, NULL},
	    {4, "198.51.100.8", 60, 0, "crowdsec", "crowdsecurity/ssh-bf"},
	    {5, "198.51.100.8", 600, 0, "crowdsec", "crowdsecurity/ssh-slow-bf"},
	    {6, "198.51.100.9", 0, 0, NULL, NULL},	/* over already */
	};

	pull(1, first, 6);
	CHECK(entry(pull_idx, "198.51.100.7") && entry(pull_idx, "203.0.113.0/24") &&
		  entry(pull_idx, "2001:db8:1::/48") && entry(pull_idx, "198.51.100.8"),
	      "a startup pull: hosts and ranges, IPv4 and IPv6, in the pull table");
	CHECK(!entry(pull_idx, "198.51.100.9"), "a decision that is over is not added");
	CHECK_STR(evidence_of(pull_idx, "198.51.100.7", buf, sizeof(buf)),
		  "crowdsec: cscli manual 'ban' from 'localcli' (decision 1)",
		  "evidence: origin, scenario, decision id");
	CHECK_STR(evidence_of(pull_idx, "198.51.100.8", buf, sizeof(buf)),
		  "crowdsec: crowdsec crowdsecurity/ssh-bf (decision 4)",
		  "two decisions on one address: the first's evidence");

	/* A delta: id 4 deleted, 198.51.100.8 still held by id 5. */
	const struct dec delta[] = {
	    {4, "198.51.100.8", -1, 1, "crowdsec", "crowdsecurity/ssh-bf"},
	    {1, "198.51.100.7", -1, 1, NULL, NULL},
	    {99, "192.0.2.99", -1, 1, NULL, NULL},	/* never held */
	    {7, "192.0.2.7", 600, 0, NULL, NULL},
	};
	pull(0, delta, 4);
	CHECK(entry(pull_idx, "198.51.100.8"), "deleting one of two decisions keeps the address");
	CHECK(!entry(pull_idx, "198.51.100.7"), "deleting its only decision removes it");
	CHECK(entry(pull_idx, "192.0.2.7"), "a delta adds");
	CHECK(!entry(pull_idx, "192.0.2.99"), "a delete of a decision never held adds nothing");
	/* The same delete again (the LAPI sends deletes more than once). */
	pull(0, delta, 2);
	CHECK(entry(pull_idx, "198.51.100.8"), "a repeated delete does not count twice");
	const struct dec last5[] = {{5, "198.51.100.8", -1, 1, "crowdsec", "x"}};
	pull(0, last5, 1);
	CHECK(!entry(pull_idx, "198.51.100.8"), "the last decision's delete removes the address");
}

static void test_local_writer_keeps(void)
{
	struct addr_prefix p = P("192.0.2.7");
	int64_t ev = tables_evidence(&d.tables, "manual", "operator", time(NULL));

	tables_add(&d.tables, pull_idx, &p, ev, time(NULL));
	tables_commit(&d.tables);
	const struct dec del7[] = {{7, "192.0.2.7", -1, 1, NULL, NULL}};
	pull(0, del7, 1);
	CHECK(entry(pull_idx, "192.0.2.7"),
	      "an entry the operator added too stays when its decision is deleted");
	tables_delete(&d.tables, pull_idx, &p, "delete", ev, time(NULL));
	tables_commit(&d.tables);
}

static void test_expiry_and_startup(void)
{
	int64_t now = time(NULL);
	const struct dec shortlived[] = {{8, "192.0.2.8", 30, 0, NULL, NULL}, {9, "192.0.2.9", 5000, 0, NULL, NULL}};

	pull(0, shortlived, 2);
	crowdsec_periodic(&d, now + 10);
	CHECK(entry(pull_idx, "192.0.2.8"), "a decision holds until its end");
	crowdsec_periodic(&d, now + 40);
	CHECK(!entry(pull_idx, "192.0.2.8"), "and goes at its end, without the LAPI");
	CHECK(entry(pull_idx, "192.0.2.9"), "a longer one stays");

	/* A startup pull is the whole state: what it lacks goes. */
	const struct dec state[] = {{2, "203.0.113.0/24", 7200, 0, NULL, NULL}, {10, "192.0.2.10", 600, 0, NULL, NULL}};
	pull(1, state, 2);
	CHECK(entry(pull_idx, "203.0.113.0/24") && entry(pull_idx, "192.0.2.10"),
	      "startup pull: what it lists is held");
	CHECK(!entry(pull_idx, "192.0.2.9") && !entry(pull_idx, "2001:db8:1::/48"),
	      "startup pull: what the LAPI no longer has goes");
}

/* Stand in for the start-up's restore from the store. */
static int restore(void *ctx, const char *table, const struct addr_prefix *p,
		   const struct entry_meta *m, const struct gw_counters *baseline)
{
	int idx = tables_find(&d.tables, table);

	(void)ctx;
	return idx < 0 ? 0 : tables_restore(&d.tables, idx, p, m, baseline) < 0;
}

static void test_restart(void)
{
	char err[256] = "";
	int64_t now = time(NULL);

	crowdsec_close(&d);
	close(child);
	child = -1;
	/* greywalld stopped; its tables come back from the store, the decisions too. */
	tables_free(&d.tables);
	if (tables_init(&d.tables, &d.cfg, d.store, &no_maps) ||
	    store_entries_foreach(d.store, restore, NULL) || crowdsec_open(&d, err, sizeof(err))) {
		CHECK(0, "restart: %s", err);
		return;
	}
	CHECK(tables_evidence_is_crowdsec(&d.tables, entry(pull_idx, "192.0.2.10")
							 ? entry(pull_idx, "192.0.2.10")->evidence_id
							 : 0),
	      "after a restart CrowdSec's evidence is still known as CrowdSec's");
	crowdsec_periodic(&d, now + 700);
	CHECK(!entry(pull_idx, "192.0.2.10"),
	      "after a restart with the LAPI away, a decision still ends at its own end");
	CHECK(entry(pull_idx, "203.0.113.0/24"), "and a longer one stays");
	crowdsec_close(&d);
	attach();
}

/* What the parent sent the child since the last call: alerts and ends. */
static size_t received(struct cs_msg_alert *alerts, size_t max, struct cs_msg_seq *end)
{
	unsigned char buf[CS_MSG_MAX + 1];
	size_t n = 0;
	ssize_t len;

	memset(end, 0, sizeof(*end));
	while ((len = recv(child, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		int type = cs_msg_check(buf, (size_t)len);

		if (type == CS_MSG_ALERT && n < max)
			memcpy(&alerts[n++], buf, sizeof(*alerts));
		else if (type == CS_MSG_ALERTS_END)
			memcpy(end, buf, sizeof(*end));
	}
	return n;
}

static void add(int idx, const char *addr, const char *source, const char *detail)
{
	struct addr_prefix p = P(addr);
	int64_t ev = tables_evidence(&d.tables, source, detail, time(NULL));

	tables_add(&d.tables, idx, &p, ev, time(NULL));
	tables_commit(&d.tables);
}

static void test_push(void)
{
	struct cs_msg_alert a[8];
	struct cs_msg_seq end, done = { .type = CS_MSG_PUSH_DONE };
	struct cs_msg_fail fail = { .type = CS_MSG_FAIL, .what = CS_WHAT_PUSH,
				    .kind = CS_ERR_CONNECT };
	int64_t now = time(NULL);
	size_t n;

	add(pop_idx, "198.51.100.20", "overload", "rule 3: max-src-conn 1");
	add(long_idx, "198.51.100.21", "log", "pop3: trap user trap: a line");
	add(long_idx, "203.0.113.128/25", "manual", "operator");
	crowdsec_periodic(&d, now);
	n = received(a, 8, &end);
	CHECK_INT(n, 3, "three additions to push tables: three alerts in one batch");
	CHECK(end.type == CS_MSG_ALERTS_END && end.count == 3 && end.seq == a[0].seq,
	      "then the batch's end with its count");
	if (n == 3) {
		CHECK(!strcmp(a[0].scenario, "greywall/overload") && !strcmp(a[0].table, "popflooders") &&
			  !strcmp(a[0].evidence, "overload: rule 3: max-src-conn 1") &&
			  a[0].scope == CS_SCOPE_IP && a[0].duration == 3600,
		      "overload: scenario, table, evidence, the table's whole timeout from its addition (%s %s %lld)",
		      a[0].scenario, a[0].evidence, (long long)a[0].duration);
		CHECK(!strcmp(a[1].scenario, "greywall/log-trap-user") && a[1].duration == 7200,
		      "a watcher's trap name; push-duration for a table without timeout (%s %lld)",
		      a[1].scenario, (long long)a[1].duration);
		CHECK(!strcmp(a[2].value, "203.0.113.128/25") && a[2].scope == CS_SCOPE_RANGE &&
			  !strcmp(a[2].scenario, "greywall/manual"),
		      "a network is pushed as a Range");
	}
	crowdsec_periodic(&d, now + 1);
	CHECK_INT(received(a, 8, &end), 0, "one batch out at a time");

	/* The LAPI is down: the batch comes back and is sent again after the backoff. */
	fail.seq = end.seq ? end.seq : a[0].seq;
	snprintf(fail.text, sizeof(fail.text), "connection refused");
	send_raw(&fail, sizeof(fail));
	crowdsec_read(&d);
	crowdsec_periodic(&d, now + 3);
	n = received(a, 8, &end);
	CHECK_INT(n, 3, "after a failed push the same alerts are sent again");

	done.seq = end.seq;
	done.count = end.count;
	send_raw(&done, sizeof(done));
	crowdsec_read(&d);

	/* Already held by CrowdSec from us: not pushed again. */
	struct addr_prefix p = P("198.51.100.20");
	tables_delete(&d.tables, pop_idx, &p, "delete", 0, now);
	tables_commit(&d.tables);
	add(pop_idx, "198.51.100.20", "overload", "rule 3 again");
	/* CrowdSec's own entries and peers' are never pushed. */
	p = P("198.51.100.22");
	tables_add(&d.tables, long_idx, &p,
		   tables_crowdsec_evidence(&d.tables, "cscli x (decision 50)", now), now);
	p = P("198.51.100.23");
	tables_add(&d.tables, long_idx, &p, tables_peer_evidence(&d.tables, "/peer", now), now);
	tables_commit(&d.tables);
	add(long_idx, "198.51.100.24", "greytrap", "trap hit");
	crowdsec_periodic(&d, now + 4);
	n = received(a, 8, &end);
	CHECK(n == 1 && !strcmp(a[0].value, "198.51.100.24") &&
		  !strcmp(a[0].scenario, "greywall/greytrap"),
	      "only the new local addition is pushed: not what CrowdSec holds from us, not "
	      "CrowdSec's or a peer's (%zu)", n);
	done.seq = end.seq;
	done.count = end.count;
	send_raw(&done, sizeof(done));
	crowdsec_read(&d);

	/* CrowdSec deletes our decision: a later addition is pushed again. */
	const struct dec gone[] = {{70, "198.51.100.20", -1, 1, "crowdsec", "greywall/overload"}};
	pull(0, gone, 1);
	p = P("198.51.100.20");
	tables_delete(&d.tables, pop_idx, &p, "delete", 0, now);
	tables_commit(&d.tables);
	add(pop_idx, "198.51.100.20", "overload", "rule 3 a third time");
	crowdsec_periodic(&d, now + 5);
	n = received(a, 8, &end);
	CHECK(n == 1 && !strcmp(a[0].value, "198.51.100.20"),
	      "once CrowdSec deleted our decision, the address is pushed again");
	done.seq = end.seq;
	done.count = end.count;
	send_raw(&done, sizeof(done));
	crowdsec_read(&d);

	/* A bounded queue: push-queue 5. */
	for (int i = 0; i < 8; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "192.0.2.%d", 100 + i);
		add(long_idx, addr, "manual", "many");
	}
	crowdsec_periodic(&d, now + 6);
	n = received(a, 8, &end);
	CHECK_INT(n, 5, "a full queue keeps its bound: 5 of 8 sent, the rest counted as dropped");

	/* greywalld stops with that batch unanswered: it is pushed after the next start. */
	crowdsec_close(&d);
	close(child);
	attach();
	crowdsec_periodic(&d, now + 7);
	n = received(a, 8, &end);
	CHECK(n == 5 && !strcmp(a[0].value, "192.0.2.100") && !strcmp(a[4].value, "192.0.2.104"),
	      "what was not pushed at stop is pushed after the start, in order (%zu)", n);
}

static void test_protocol_errors(void)
{
	struct cs_msg_decision m = { .type = CS_MSG_DECISION, .id = 1, .scope = CS_SCOPE_IP };
	struct cs_msg_seq bogus = { .type = CS_MSG_PUSH_DONE, .seq = 12345, .count = 1 };
	unsigned char junk[7] = { 1, 2, 3 };

	snprintf(m.value, sizeof(m.value), "198.51.100.77");
	send_raw(&m, sizeof(m));
	crowdsec_read(&d);
	CHECK(!entry(pull_idx, "198.51.100.77") && crowdsec_fd(&d) < 0,
	      "a decision outside a pull ends the child's connection, adds nothing");
	close(child);
	crowdsec_close(&d);
	attach();
	send_raw(junk, sizeof(junk));
	crowdsec_read(&d);
	CHECK(crowdsec_fd(&d) < 0, "a short message ends it");
	close(child);
	crowdsec_close(&d);
	attach();
	send_raw(&bogus, sizeof(bogus));
	crowdsec_read(&d);
	CHECK(crowdsec_fd(&d) < 0, "an answer to a batch never sent ends it");
	close(child);
	crowdsec_close(&d);
	attach();
	/* A value that is not an address, in a pull: refused, nothing else disturbed. */
	const struct dec bad[] = {{200, "198.51.100.300", 600, 0, NULL, NULL},
				  {201, "0.0.0.0/0", 600, 0, NULL, NULL},
				  {203, "2000::/15", 600, 0, NULL, NULL},
				  {202, "198.51.100.78", 600, 0, NULL, NULL}};

	pull(0, bad, 4);
	{
		/* cscli decisions import makes every line scope Ip, networks too. */
		struct cs_msg_pull_begin b = { .type = CS_MSG_PULL_BEGIN };
		struct cs_msg_decision m = { .type = CS_MSG_DECISION, .id = 204,
					     .scope = CS_SCOPE_IP, .duration = 600 };
		struct cs_msg_pull_end e = { .type = CS_MSG_PULL_END, .added = 1 };

		snprintf(m.value, sizeof(m.value), "198.51.100.64/29");
		snprintf(m.origin, sizeof(m.origin), "cscli-import");
		send_raw(&b, sizeof(b));
		send_raw(&m, sizeof(m));
		send_raw(&e, sizeof(e));
		crowdsec_read(&d);
		CHECK(entry(pull_idx, "198.51.100.64/29"), "a network under scope Ip is taken as one");
	}
	CHECK(!entry(pull_idx, "0.0.0.0/0") && !entry(pull_idx, "2000::/15"),
	      "a ban wider than /8 (IPv4) or /16 (IPv6) is refused");
	CHECK(entry(pull_idx, "198.51.100.78") && crowdsec_fd(&d) >= 0,
	      "a bad value is refused alone; the rest is applied");
}

/* Many decisions on one address: their records stay within the table's limits. */
static void test_bounds(void)
{
	struct dec many[40];
	char *text = NULL;
	size_t len = 0, held = 0;
	const char *at;
	FILE *out;

	d.tables.limit_hosts = 20;
	d.tables.limit_prefixes = 5;
	for (int i = 0; i < 40; i++)
		many[i] = (struct dec){ 1000 + i, "192.0.2.200", 600, 0, NULL, NULL };
	pull(0, many, 40);
	out = open_memstream(&text, &len);
	crowdsec_show(&d, out);
	fclose(out);
	at = text ? strstr(text, "decisions held: ") : NULL;
	if (at)
		held = strtoul(at + 16, NULL, 10);
	CHECK(entry(pull_idx, "192.0.2.200") && held > 0 && held <= 25,
	      "40 decisions on one address: at most the limits' 25 records kept (%zu)", held);
	free(text);
}

int main(void)
{
	setup();
	attach();
	test_pull();
	test_local_writer_keeps();
	test_expiry_and_startup();
	test_restart();
	test_push();
	test_protocol_errors();
	test_bounds();
	teardown();
	return check_done();
}
