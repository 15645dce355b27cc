// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The table exchange against a real store and the table model (no maps):
 * reading a peer's list whole or not at all, and the merge's rules: peer
 * evidence and the peer's time, a local reason that keeps an entry, two
 * peers listing one entry, a peer that fails or disappears, a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "exchange/exchange.h"

static char dir[] = "/tmp/test_exchange.XXXXXX";
static char path_a[PATH_MAX], path_b[PATH_MAX], db[PATH_MAX];
static struct config cfg;
static struct store *st;
static struct tables t;
static const struct tables_maps no_maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };

/* "now" in these tests: fixed, so the peers' times are exact. */
#define NOW 1795000000LL

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

/* An ISO 8601 UTC time as the dumps write it, in unix seconds. */
static int64_t utc(const char *text)
{
	struct tm tm = { 0 };

	if (!strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm))
		abort();
	return (int64_t)timegm(&tm);
}

static struct addr_prefix P(const char *text)
{
	struct addr_prefix p;

	if (addr_parse(text, &p))
		abort();
	return p;
}

static const struct entry_meta *entry(const char *addr)
{
	struct addr_prefix p = P(addr);

	return tables_entry(&t, 0, &p);
}

static const char *evidence_of(const char *addr, char *buf, size_t len)
{
	const struct entry_meta *m = entry(addr);
	struct evidence ev;

	if (!m || store_evidence_get(st, m->evidence_id, &ev))
		return "(none)";
	snprintf(buf, len, "%s: %s", ev.source, ev.detail);
	return buf;
}

static void setup(void)
{
	char conf[4 * PATH_MAX], err[256] = "";

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path_a, sizeof(path_a), "%s/a.txt", dir);
	snprintf(path_b, sizeof(path_b), "%s/b_full.txt", dir);
	snprintf(db, sizeof(db), "%s/greywall.db", dir);
	snprintf(conf, sizeof(conf),
		 "set state-dir \"%s\"\n"
		 "table <bf> persist timeout 1d exchange { peer \"%s\"; peer \"%s\" every 5m }\n"
		 "table <other> persist\n",
		 dir, path_a, path_b);
	if (config_load_string("t.conf", conf, &cfg, err, sizeof(err)) || store_open(db, &st) ||
	    tables_init(&t, &cfg, st, &no_maps)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	tables_free(&t);
	store_close(st);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* A peer's list: taken whole, or refused with a reason. */
static void test_read(void)
{
	struct exchange_copy c;
	char err[400], path[PATH_MAX + 32], big[64 * 20 + 1] = "";
	int64_t *when;
	struct addr_prefix p;

	snprintf(path, sizeof(path), "%s/read.txt", dir);
	write_file(path, "192.0.2.1\n; a comment\n198.51.100.0/24 # net\n"
			 "203.0.113.10 - 203.0.113.11\n192.0.2.1\n");
	CHECK_INT(exchange_read(path, 100, &c, err, sizeof(err)), 0, "plain list read: %s", err);
	CHECK_INT(c.entries, 3, "three distinct entries (a duplicate once, a range as its /31)");
	exchange_copy_free(&c);

	write_file(path, "192.0.2.1\n192.0.2.999\n198.51.100.1\n");
	CHECK_INT(exchange_read(path, 100, &c, err, sizeof(err)), -EBADMSG, "a bad line refuses all");
	CHECK(strstr(err, ":2: ") != NULL, "the message names line 2: %s", err);
	CHECK_INT(c.entries, 0, "nothing kept from a refused list");

	write_file(path, "# greywall table bf\n# generated 2026-11-22T09:00:00Z\n# 3 entries\n"
			 "192.0.2.1\n192.0.2.2\n");
	CHECK_INT(exchange_read(path, 100, &c, err, sizeof(err)), -EBADMSG,
		  "a dump cut short is refused: %s", err);

	CHECK_INT(exchange_read("/nonexistent/peer.txt", 100, &c, err, sizeof(err)), -ENOENT,
		  "a missing file");
	write_file(path, "");
	CHECK_INT(exchange_read(path, 100, &c, err, sizeof(err)), -ENODATA,
		  "an empty file is no list: %s", err);
	CHECK_INT(exchange_read(dir, 100, &c, err, sizeof(err)), -EINVAL, "a directory: %s", err);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) == 0)
		CHECK_INT(exchange_read(path, 100, &c, err, sizeof(err)), -EINVAL,
			  "a FIFO is refused without blocking: %s", err);
	snprintf(path, sizeof(path), "%s/read.txt", dir);
	for (int i = 0; i < 64; i++) {
		char line[24];

		snprintf(line, sizeof(line), "192.0.2.%d\n", i);
		strcat(big, line);
	}
	write_file(path, big);
	CHECK_INT(exchange_read(path, 63, &c, err, sizeof(err)), -E2BIG,
		  "more entries than a table holds: %s", err);
	CHECK_INT(exchange_read(path, 64, &c, err, sizeof(err)), 0, "exactly as many: fine");
	exchange_copy_free(&c);

	CHECK_INT(exchange_read("tests/unit/data/lists/greywall_full.txt", 100, &c, err,
				sizeof(err)),
		  0, "greywall's _full.txt dump: %s", err);
	p = P("198.51.100.7");
	when = addrmap_get(&c.listed, &p);
	CHECK(when && *when == utc("2026-11-22T08:00:00Z"),
	      "the peer's added time is kept");
	exchange_copy_free(&c);
}

/* Read peer i's file and merge it, as the loop does. */
static int merge_peer(struct exchange *x, size_t i, int64_t now, struct exchange_result *res)
{
	struct exchange_copy c;
	char err[400];
	int ret = exchange_read(x->peers[i].source, x->max_entries, &c, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "# %s\n", err);
		return ret;
	}
	return exchange_merge(x, &t, i, &c, now, res);
}

static void test_merge(void)
{
	struct exchange x;
	struct exchange_result r;
	struct addr_prefix p;
	char ev[600], holders[256];
	int64_t manual;

	CHECK_INT(exchange_init(&x), 0, "exchange init");
	CHECK_INT(exchange_configure(&x, &cfg, NOW), 0, "configure");
	CHECK_INT(x.npeers, 2, "two peers of <bf>");

	/* Peer A: a plain list. B is not read yet, so nothing may be removed. */
	write_file(path_a, "192.0.2.1\n192.0.2.2\n2001:db8::/48\n");
	CHECK_INT(merge_peer(&x, 0, NOW, &r), 0, "peer A merged");
	CHECK_INT(r.added, 3, "A's three entries added");
	CHECK(entry("192.0.2.1") != NULL, "192.0.2.1 is in <bf>");
	CHECK(!strncmp(evidence_of("192.0.2.1", ev, sizeof(ev)), "peer: ", 6) &&
		      !strcmp(ev + 6, path_a),
	      "its evidence names the peer: %s", ev);
	CHECK(entry("192.0.2.1") && entry("192.0.2.1")->added == NOW,
	      "a plain list carries no time: added now");
	CHECK(tables_evidence_is_peer(&t, entry("192.0.2.1")->evidence_id), "a peer's evidence");

	/* 192.0.2.1 is listed locally too, after A gave it: the local reason keeps it. */
	manual = tables_evidence(&t, "manual", "greywallctl table bf add (uid 0)", NOW + 10);
	p = P("192.0.2.1");
	CHECK_INT(tables_add(&t, 0, &p, manual, NOW + 10), 0, "the local add finds it there");
	tables_commit(&t);
	CHECK_INT(entry("192.0.2.1")->evidence_id, manual, "the entry takes the local evidence");
	CHECK(entry("192.0.2.1")->added == NOW + 10, "and the local time");
	/* A peer's evidence never replaces a local one. */
	p = P("198.51.100.50");
	tables_add(&t, 0, &p, manual, NOW);
	tables_commit(&t);

	/* Peer B: greywall's _full.txt with its own times; one too old for the timeout. */
	write_file(path_b, "# greywall table bf\n# 4 entries\n"
			   "192.0.2.2\t2026-11-18T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\toverload\n"
			   "192.0.2.3\t2026-11-18T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\toverload\n"
			   "192.0.2.4\t2026-11-01T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\tmanual\n"
			   "198.51.100.50\t2026-11-18T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\tmanual\n");
	{
		int64_t b_time = utc("2026-11-18T00:00:00Z");
		int64_t now = b_time + 3600;

		CHECK_INT(merge_peer(&x, 1, now, &r), 0, "peer B merged");
		CHECK_INT(r.added, 1, "B adds 192.0.2.3 only (.2 and .50 are there already)");
		CHECK_INT(r.too_old, 1, "192.0.2.4 was listed longer ago than the timeout");
		CHECK(entry("192.0.2.4") == NULL, "so it is not added");
		CHECK(entry("192.0.2.3") && entry("192.0.2.3")->added == b_time,
		      "192.0.2.3 has B's time: the timeout counts from there");
		CHECK_INT(entry("198.51.100.50")->evidence_id, manual,
			  "a local entry B lists keeps its evidence");
		CHECK_INT(exchange_holders(&x, "bf", &(struct addr_prefix){ 0 }, holders,
					   sizeof(holders)),
			  0, "no peer lists ::/0");
		p = P("192.0.2.2");
		CHECK_INT(exchange_holders(&x, "bf", &p, holders, sizeof(holders)), 2,
			  "both peers list 192.0.2.2");
		CHECK(strstr(holders, path_a) && strstr(holders, path_b), "holders: %s", holders);
	}

	/* A drops everything but the IPv6 net: .1 is local, .2 is B's too: nothing leaves. */
	write_file(path_a, "2001:db8::/48\n");
	CHECK_INT(merge_peer(&x, 0, NOW + 100, &r), 0, "A merged again");
	CHECK_INT(r.removed, 0, "nothing removed");
	CHECK(entry("192.0.2.1") && entry("192.0.2.2"), ".1 (local) and .2 (B lists it) stay");

	/* B drops .2: now no peer lists it and only peers gave it. */
	write_file(path_b, "# greywall table bf\n# 1 entries\n"
			   "192.0.2.3\t2026-11-18T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\toverload\n");
	CHECK_INT(merge_peer(&x, 1, NOW + 200, &r), 0, "B merged again");
	CHECK_INT(r.removed, 1, "one removed");
	CHECK(entry("192.0.2.2") == NULL, "192.0.2.2 left <bf>");
	CHECK(entry("198.51.100.50") != NULL, "the local entry B stopped listing stays");
	CHECK(entry("192.0.2.3") != NULL, "192.0.2.3, still listed, stays");

	/* A fails (missing file): its last good copy stays in force. */
	unlink(path_a);
	CHECK_INT(exchange_kick(&x, "bf", NOW + 300), 1, "a read of <bf>'s peers starts");
	CHECK_INT(exchange_wait(&x, &t, NOW + 300), 0, "and is merged");
	CHECK(x.peers[0].last_error[0] != '\0', "A's failure is recorded: %s",
	      x.peers[0].last_error);
	CHECK(x.peers[0].have_copy && x.peers[0].copy.entries == 1, "A's last good copy kept");
	CHECK(entry("2001:db8::/48") != NULL, "A's entry stays while its file is missing");
	CHECK(x.peers[1].last_error[0] == '\0', "B was read fine");
	CHECK(x.peers[1].next_run == NOW + 300 + 300, "B is due again after its every 5m");

	/* Garbage from A: refused whole, nothing changes. */
	write_file(path_a, "2001:db8::/48\n<html>oops</html>\n192.0.2.77\n");
	CHECK_INT(exchange_kick(&x, "bf", NOW + 400), 1, "read again");
	CHECK_INT(exchange_wait(&x, &t, NOW + 400), 0, "merged");
	CHECK(entry("192.0.2.77") == NULL, "nothing of a list with a bad line is taken");
	CHECK(entry("2001:db8::/48") != NULL, "and nothing removed");

	/* An unchanged file is not read again: what was deleted here stays out. */
	p = P("192.0.2.3");
	CHECK_INT(tables_delete(&t, 0, &p, "delete", 0, NOW + 500), 1, "192.0.2.3 deleted here");
	tables_commit(&t);
	CHECK_INT(exchange_kick(&x, "bf", NOW + 500), 1, "read again");
	CHECK_INT(exchange_wait(&x, &t, NOW + 500), 0, "merged");
	CHECK(entry("192.0.2.3") == NULL, "B's file unchanged: not merged again");
	CHECK(x.peers[1].last_error[0] == '\0' && x.peers[1].copy.entries == 1,
	      "B's copy stands, no error");
	write_file(path_b, "# greywall table bf\n# 1 entries\n"
			   "192.0.2.3\t2026-11-18T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\toverload\n");
	CHECK_INT(exchange_kick(&x, "bf", NOW + 600), 1, "read again");
	CHECK_INT(exchange_wait(&x, &t, NOW + 600), 0, "merged");
	CHECK(entry("192.0.2.3") != NULL, "B's file written again: read and merged");

	exchange_free(&x);
}

/* The peers' evidence ids come back from the store after a restart. */
static void test_restart(void)
{
	struct exchange x;
	struct exchange_result r;
	const struct entry_meta *m;
	int64_t ev;
	struct addr_prefix p = P("203.0.113.5");

	tables_free(&t);
	CHECK_INT(tables_init(&t, &cfg, st, &no_maps), 0, "tables from the store");
	/* Stand in for the start-up's restore: one peer entry and one local. */
	ev = tables_peer_evidence(&t, path_a, NOW);
	CHECK(ev > 0, "peer evidence recorded");
	tables_add(&t, 0, &p, ev, NOW);
	tables_commit(&t);
	tables_free(&t);
	CHECK_INT(tables_init(&t, &cfg, st, &no_maps), 0, "tables again");
	CHECK(tables_evidence_is_peer(&t, ev), "the store still knows the peer's evidence");
	CHECK(!tables_evidence_is_peer(&t, ev + 1000), "and no other id");

	/* A is read (it no longer lists 203.0.113.5), B is not: nothing may leave yet. */
	tables_restore(&t, 0, &p, &(struct entry_meta){ .added = NOW, .cleared = NOW,
							.evidence_id = ev }, NULL);
	CHECK_INT(exchange_init(&x), 0, "exchange");
	CHECK_INT(exchange_configure(&x, &cfg, NOW), 0, "configured");
	write_file(path_a, "192.0.2.200\n");
	unlink(path_b);
	CHECK_INT(merge_peer(&x, 0, NOW, &r), 0, "A merged after the restart");
	CHECK_INT(r.removed, 0, "B has no copy yet: nothing removed");
	CHECK(entry("203.0.113.5") != NULL, "203.0.113.5 stays");
	write_file(path_b, "# greywall table bf\n# 0 entries\n");
	CHECK_INT(merge_peer(&x, 1, NOW, &r), 0, "B merged: an empty dump is a good copy");
	CHECK_INT(r.removed, 1, "now no peer lists 203.0.113.5: removed");
	m = entry("203.0.113.5");
	CHECK(m == NULL, "203.0.113.5 left");
	CHECK(entry("192.0.2.200") != NULL, "A's entry is in");
	exchange_free(&x);
}

/* A future time from a peer is taken as now; the other table is never touched. */
static void test_times(void)
{
	struct exchange x;
	struct exchange_result r;

	CHECK_INT(exchange_init(&x), 0, "exchange");
	CHECK_INT(exchange_configure(&x, &cfg, NOW), 0, "configured");
	write_file(path_a, "# greywall table bf\n# 1 entries\n"
			   "192.0.2.99\t2099-01-01T00:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\t-\n");
	CHECK_INT(merge_peer(&x, 0, NOW, &r), 0, "merged");
	CHECK(entry("192.0.2.99") && entry("192.0.2.99")->added == NOW,
	      "a time in the future is taken as now");
	CHECK_INT(t.table[1].entries.count, 0, "<other> untouched");
	exchange_free(&x);
}

static void write_script(const char *path, const char *text)
{
	write_file(path, text);
	if (chmod(path, 0755)) {
		perror(path);
		exit(2);
	}
}

/* The loop's reaper, in a thread: it must never take a fetch command's status. */
static volatile int reaping;
static volatile int reaped;

static void *reap_everything(void *arg)
{
	(void)arg;
	while (reaping)
		if (waitpid(-1, NULL, WNOHANG) > 0)
			reaped++;
	return NULL;
}

/*
 * URL peers: the fetch command's output, spooled and read whole or not at
 * all. "cat -- %s" stands for curl, a path for the URL; the integration
 * test fetches over HTTP.
 */
static void test_fetch(void)
{
	struct exchange_fetcher f = { .command = "cat -- %s", .spool_dir = dir, .timeout_ms = 5000,
				      .max_bytes = 1 << 20, .drop = true };
	struct exchange_stamp s1 = { 0 }, s2 = { 0 };
	struct exchange_copy c;
	struct passwd *pw = getpwnam("nobody");
	char err[400], path[PATH_MAX + 32], script[PATH_MAX + 32];
	struct addr_prefix p;
	struct timespec t0, t1;
	pthread_t reaper;

	if (geteuid() != 0 || !pw) {
		CHECK(1, "# SKIP fetch tests need root and the user nobody");
		return;
	}
	f.uid = pw->pw_uid;
	f.gid = pw->pw_gid;
	/* The fetch runs as nobody: it must reach the files. */
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/served.txt", dir);
	write_file(path, "192.0.2.1\n198.51.100.0/24\n");
	chmod(path, 0644);
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, &s1, &c, err, sizeof(err)), 0,
		  "fetched and read: %s", err);
	CHECK_INT(c.entries, 2, "both entries");
	exchange_copy_free(&c);
	CHECK_INT(exchange_fetch(path, &f, 100, &s1, &s2, &c, err, sizeof(err)),
		  EXCHANGE_UNCHANGED, "the same bytes again: unchanged, not read");
	write_file(path, "192.0.2.1\n198.51.100.0/24\n203.0.113.5\n");
	CHECK_INT(exchange_fetch(path, &f, 100, &s1, &s2, &c, err, sizeof(err)), 0,
		  "other bytes: read again");
	CHECK_INT(c.entries, 3, "the new entry too");
	exchange_copy_free(&c);

	write_file(path, "192.0.2.1\n<html>not found</html>\n");
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -EBADMSG,
		  "garbage refuses the whole list: %s", err);
	CHECK_INT(c.entries, 0, "nothing kept of it");
	write_file(path, "");
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -ENODATA,
		  "nothing fetched is no list: %s", err);
	snprintf(script, sizeof(script), "%s/missing.txt", dir);
	CHECK_INT(exchange_fetch(script, &f, 100, NULL, NULL, &c, err, sizeof(err)), -EIO,
		  "the command failed: %s", err);
	CHECK(strstr(err, "exit status 1") != NULL, "its exit status is said: %s", err);

	f.max_bytes = 16;
	write_file(path, "192.0.2.1\n198.51.100.0/24\n");
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -EFBIG,
		  "more bytes than the bound: %s", err);
	CHECK(strstr(err, "fetch-max-bytes") != NULL, "the bound is named: %s", err);
	f.max_bytes = 1 << 20;

	snprintf(script, sizeof(script), "%s/slow", dir);
	write_script(script, "#!/bin/sh\necho 192.0.2.1\nexec sleep 10\n");
	f.command = script;
	snprintf(script, sizeof(script), "%s/slow -- %%s", dir);
	f.command = script;
	f.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -ETIMEDOUT,
		  "a command that does not end: %s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 3, "killed at the timeout");
	f.timeout_ms = 5000;

	/* Who runs it, with which environment: only what the script sees tells. */
	snprintf(script, sizeof(script), "%s/whoami", dir);
	write_script(script, "#!/bin/sh\n"
			     "if [ \"$(id -u)\" = \"$1\" ] && [ \"$(id -G)\" = \"$2\" ] &&\n"
			     "   [ -z \"$HOME\" ] && [ \"$PATH\" = /usr/bin:/bin ]; then\n"
			     "\techo 192.0.2.77\nelse\n\techo \"$(id)\" >&2; echo 192.0.2.66\nfi\n");
	snprintf(script, sizeof(script), "%s/whoami %u %u -- %%s", dir, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid);
	f.command = script;
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), 0,
		  "fetched: %s", err);
	p = P("192.0.2.77");
	CHECK(c.entries == 1 && addrmap_get(&c.listed, &p),
	      "the command ran as nobody, in its group alone, with PATH alone");
	exchange_copy_free(&c);

	/* A reaper like the loop's, running meanwhile, never sees the command. */
	f.command = "cat -- %s";
	reaping = 1;
	pthread_create(&reaper, NULL, reap_everything, NULL);
	for (int i = 0; i < 20; i++)
		if (exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)) == 0)
			exchange_copy_free(&c);
		else
			break;
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), 0,
		  "fetches succeed while a waitpid(-1) loop runs: %s", err);
	exchange_copy_free(&c);
	reaping = 0;
	pthread_join(reaper, NULL);
	CHECK_INT(reaped, 0, "the reaper took no fetch command's status");

	f.command = NULL;
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -ENOPROTOOPT,
		  "no fetch command: %s", err);

	/* A conditional fetch: %t is the last good copy's time; nothing newer, nothing written. */
	{
		char cmd[PATH_MAX + 64], seen[PATH_MAX + 32], got[128] = "";
		FILE *fp;

		snprintf(seen, sizeof(seen), "%s/since", dir);
		write_file(seen, "");
		chmod(seen, 0666);
		snprintf(script, sizeof(script), "%s/cond", dir);
		write_script(script, "#!/bin/sh\n"
				     "echo \"$1\" >\"$(dirname \"$0\")/since\"\n"
				     "[ \"$1\" = 'Thu, 01 Jan 1970 00:00:00 GMT' ] && exec cat \"$3\"\n"
				     "exit 0\n");
		snprintf(cmd, sizeof(cmd), "%s %%t -- %%s", script);
		f.command = cmd;
		write_file(path, "192.0.2.1\n198.51.100.0/24\n");
		CHECK_INT(exchange_fetch(path, &f, 100, NULL, &s1, &c, err, sizeof(err)), 0,
			  "conditional fetch, no copy yet: fetched: %s", err);
		CHECK_INT(c.entries, 2, "conditional fetch: the whole list");
		exchange_copy_free(&c);
		CHECK_INT(exchange_fetch(path, &f, 100, &s1, &s2, &c, err, sizeof(err)),
			  EXCHANGE_UNCHANGED, "nothing newer (no output, exit 0): unchanged: %s", err);
		fp = fopen(seen, "r");
		if (fp) {
			if (!fgets(got, sizeof(got), fp))
				got[0] = '\0';
			fclose(fp);
		}
		{
			char want[64];
			time_t t = (time_t)(s1.mtime_ns / 1000000000);
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT\n", &tm);
			CHECK_STR(got, want, "%%t was the last good copy's time as an HTTP date");
		}
		f.command = "cat -- %s";
	}

	/* An exec peer: its command's output, through sh -c, run as a fetch is. */
	{
		char exec_src[PATH_MAX + 128];

		snprintf(script, sizeof(script), "%s/whoami", dir);
		snprintf(exec_src, sizeof(exec_src), "exec %s %u %u | sort", script,
			 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		CHECK(exchange_source_is_exec(exec_src) && !exchange_source_is_url(exec_src),
		      "\"exec COMMAND\" is an exec source");
		CHECK_INT(exchange_fetch(exec_src, &f, 100, NULL, &s1, &c, err, sizeof(err)), 0,
			  "exec peer without a fetch command: run: %s", err);
		p = P("192.0.2.77");
		CHECK(c.entries == 1 && addrmap_get(&c.listed, &p),
		      "exec peer: a shell pipeline's output, run as nobody with PATH alone");
		exchange_copy_free(&c);
		CHECK_INT(exchange_fetch(exec_src, &f, 100, &s1, &s2, &c, err, sizeof(err)),
			  EXCHANGE_UNCHANGED, "exec peer: the same output again is unchanged");
		CHECK_INT(exchange_fetch("exec exit 3", &f, 100, NULL, NULL, &c, err, sizeof(err)), -EIO,
			  "exec peer: a failing command: %s", err);
		CHECK(strstr(err, "exec exit 3: exit status 3") != NULL,
		      "its source and exit status are said: %s", err);
		CHECK_INT(exchange_fetch("exec echo 192.0.2.300", &f, 100, NULL, NULL, &c, err,
					 sizeof(err)),
			  -EBADMSG, "exec peer: a bad line refuses the whole output: %s", err);
	}
	f.command = "cat -- %s";
	f.drop = false;
	snprintf(f.user_err, sizeof(f.user_err), "user \"greywall\": no such user");
	CHECK_INT(exchange_fetch(path, &f, 100, NULL, NULL, &c, err, sizeof(err)), -EPERM,
		  "no user to run it as: not run as root instead: %s", err);
}

int main(void)
{
	setup();
	test_read();
	test_merge();
	test_restart();
	test_times();
	test_fetch();
	teardown();
	return check_done();
}
