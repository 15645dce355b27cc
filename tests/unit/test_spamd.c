// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The parent's side of the tarpit's socketpair, with this test playing the
 * child: RCPTs are queued and stored in batches off the read path, so a
 * CLASSIFY behind a flood is answered before the flood is stored; a RCPT
 * to a spamtrap traps at once, wherever it sits in the flood; the queue
 * stays bounded and counts what it drops; maxtuples holds through this
 * path and is logged once per source; a scan stores what is queued before
 * it looks.
 * The store is a real one; the tables have no maps (they are not synced).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon.h"
#include "files.h"
#include "spamd/grey.h"
#include "spamd/privsep.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"

static char dir[] = "/tmp/gw-spamd-XXXXXX";
static char db[PATH_MAX], traps[PATH_MAX], logfile[PATH_MAX];
static struct daemon d = { .epoll_fd = -1 };
/* The test's ends of the two socketpairs: it plays the tarpit. */
static int child_end, class_end;

static struct addr_prefix host(const char *text)
{
	struct addr_prefix p = { 0 };

	if (addr_parse(text, &p))
		CHECK(0, "test address %s parses", text);
	return p;
}

/* A daemon with a spamd block (maxtuples 200, one spamtrap) and the child's socketpairs. */
static void start(void)
{
	static const char conf_fmt[] = "spamd {\n\tspamtraps file \"%s\"\n\tmaxtuples 200\n}\n";
	struct tables_maps maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
	char conf[PATH_MAX + 64], err[256] = "";
	int sv[2], cv[2], big = 8 << 20;
	FILE *f = fopen(traps, "w");

	if (f) {
		fputs("trap@example.org\n", f);
		fclose(f);
	}
	snprintf(conf, sizeof(conf), conf_fmt, traps);
	if (config_load_string("t.conf", conf, &d.cfg, err, sizeof(err)) ||
	    store_open(db, &d.store) || tables_init(&d.tables, &d.cfg, d.store, &maps) ||
	    spamd_open(&d, err, sizeof(err)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
	/* Room in the socket for a whole flood, so the test can write it before reading. */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	CHECK_INT(spamd_child_attach(&d, sv[0], cv[0], 0), 0, "the parent takes the socketpairs");
	child_end = sv[1];
	class_end = cv[1];
	fcntl(child_end, F_SETFL, O_NONBLOCK);
	fcntl(class_end, F_SETFL, O_NONBLOCK);
}

static void stop(void)
{
	spamd_close(&d);
	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	close(child_end);
	close(class_end);
	unlink(db);
	unlink(traps);
	memset(&d, 0, sizeof(d));
	d.epoll_fd = -1;
}

/* The tarpit reports a RCPT. */
static void send_rcpt(const char *client, const char *to)
{
	struct privsep_msg m = { .type = PRIVSEP_RCPT };
	char line[1024];
	int len;

	m.rcpt = (struct privsep_rcpt){ host(client), host("192.0.2.25"), "mx.example.net",
					"joe@example.net", to };
	len = privsep_encode(&m, line, sizeof(line));
	if (len < 0 || write(child_end, line, (size_t)len) != len)
		CHECK(0, "the test writes a RCPT line");
}

static void send_classify(uint32_t id, const char *client)
{
	char line[128];
	int len = snprintf(line, sizeof(line), "CLASSIFY %u %s\n", id, client);

	if (write(class_end, line, (size_t)len) != len)
		CHECK(0, "the test writes a CLASSIFY line");
}

/* Whether the parent's answer to CLASSIFY id is waiting on the child's end. */
static bool class_answered(uint32_t id)
{
	static char buf[1 << 16];
	char want[32];
	ssize_t n = recv(class_end, buf, sizeof(buf) - 1, MSG_PEEK);

	snprintf(want, sizeof(want), "CLASS %u ", id);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, want) != NULL;
}

static int count_cb(void *ctx, const struct grey_entry *e)
{
	int *n = ctx;

	n[e->kind]++;
	return 0;
}

/* Entries of a kind in the greylist. */
static int entries(enum grey_kind kind)
{
	int n[GREY_KIND_SPAMTRAP + 1] = { 0 };

	grey_foreach(spamd_grey(&d), count_cb, n);
	return n[kind];
}

static bool trapped(const char *ip)
{
	int idx = tables_find(&d.tables, CONFIG_TABLE_SPAMD_GREYTRAP);
	struct addr_prefix a = host(ip);

	return idx >= 0 && (tables_lookup(&d.tables, &a) & (1ULL << idx));
}

/* Store batches until nothing is pending; the most the queue held on the way. */
static size_t work_all(int *rounds)
{
	size_t most = 0;

	*rounds = 0;
	while (spamd_child_pending(&d) && *rounds < 100000) {
		spamd_child_work(&d);
		if (d.spamd->rcpts.count > most)
			most = d.spamd->rcpts.count;
		(*rounds)++;
	}
	return most;
}

/*
 * 3000 RCPTs, then a CLASSIFY on its own channel: answered from the first
 * read, with nothing stored yet, because storing waits for the event
 * loop's later rounds; and one that comes while they wait is answered
 * before the next batch is stored.
 */
static void test_classify_before_backlog(void)
{
	char ip[64];
	int rounds;

	start();
	for (int i = 0; i < 3000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::1:%x", i);
		send_rcpt(ip, "user@example.org");
	}
	send_classify(7, "198.51.100.9");
	spamd_child_read(&d);
	CHECK(class_answered(7), "backlog: the CLASSIFY behind 3000 RCPTs is answered at once");
	CHECK_INT(entries(GREY_KIND_GREY), 0, "backlog: no tuple was stored before the answer");
	CHECK(spamd_child_pending(&d), "backlog: the RCPTs are pending");
	send_classify(8, "198.51.100.10");
	spamd_child_work(&d);
	CHECK(class_answered(8), "backlog: a CLASSIFY that comes meanwhile is answered in the next round");
	CHECK(entries(GREY_KIND_GREY) <= 64, "backlog: ... before more than one batch is stored (%d)",
	      entries(GREY_KIND_GREY));
	work_all(&rounds);
	CHECK_INT(entries(GREY_KIND_GREY), 3000, "backlog: all 3000 stored afterwards");
	CHECK(rounds >= 3000 / 64, "backlog: stored over %d rounds, a batch each", rounds);
	stop();
}

/*
 * 6000 RCPTs then a CLASSIFY: the queue never holds more than its bound,
 * the CLASSIFY is answered without waiting for the store, what finds the
 * queue full is dropped and counted (none silently lost), and a RCPT to
 * a spamtrap traps at once, in the middle of the flood and when the
 * queue is full.
 */
static void test_flood(void)
{
	size_t most;
	char ip[64];
	int rounds;

	start();
	for (int i = 0; i < 6000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::2:%x", i);
		send_rcpt(ip, "user@example.org");
		if (i == 10)
			send_rcpt("203.0.113.66", "trap@example.org");
	}
	send_rcpt("203.0.113.67", "trap@example.org");
	send_classify(8, "203.0.113.66");
	spamd_child_read(&d);
	CHECK(trapped("203.0.113.66"), "flood: the spamtrap RCPT trapped its source at once");
	CHECK(d.spamd->rcpts.count <= RCPT_QUEUE_MAX, "flood: the queue holds at most %d (%zu)",
	      RCPT_QUEUE_MAX, d.spamd->rcpts.count);
	CHECK(spamd_child_pending(&d), "flood: more to read and to store");
	most = work_all(&rounds);
	CHECK(most <= RCPT_QUEUE_MAX, "flood: the queue never held more than %d (%zu)",
	      RCPT_QUEUE_MAX, most);
	CHECK(class_answered(8), "flood: the CLASSIFY behind them is answered");
	CHECK(trapped("203.0.113.67"), "flood: a spamtrap RCPT that finds the queue full traps");
	CHECK_INT(d.spamd->rcpts.count, 0, "flood: the queue is empty afterwards");
	CHECK(d.spamd->rcpts_dropped > 0, "flood: RCPTs that found the queue full were dropped (%llu)",
	      (unsigned long long)d.spamd->rcpts_dropped);
	CHECK_INT(entries(GREY_KIND_GREY) + (int)d.spamd->rcpts_dropped, 6000,
		  "flood: every grey RCPT is stored or counted as dropped");
	CHECK_INT(entries(GREY_KIND_TRAPPED), 2, "flood: two TRAPPED entries");
	stop();
}

/* Count the lines of the log file holding text. */
static int log_count(const char *text)
{
	FILE *f = fopen(logfile, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	while (f && getline(&line, &cap, f) > 0)
		n += strstr(line, text) != NULL;
	free(line);
	if (f)
		fclose(f);
	return n;
}

/*
 * maxtuples 200 through the child's path: 1000 new tuples from one source
 * store 200, are counted, and are logged once; a scan stores the queue
 * first and logs the count.
 */
static void test_maxtuples(void)
{
	int saved = dup(2), fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char to[64];

	start();
	dup2(fd, 2);
	for (int i = 0; i < 1000; i++) {
		snprintf(to, sizeof(to), "u%d@example.org", i);
		send_rcpt("198.51.100.77", to);
	}
	send_rcpt("198.51.100.78", "other@example.org");
	spamd_child_read(&d);
	CHECK_INT(entries(GREY_KIND_GREY), 0, "maxtuples: queued, not stored yet");
	CHECK_INT(spamd_scan(&d, time(NULL)), 0, "a scan");
	dup2(saved, 2);
	close(saved);
	close(fd);
	CHECK_INT(entries(GREY_KIND_GREY), 201,
		  "the scan stored the queue first: 200 tuples of the flooder, 1 of the other");
	CHECK_INT(log_count("198.51.100.77: has maxtuples (200) greylist tuples"), 1,
		  "the flooder is logged once, not per RCPT");
	CHECK_INT(log_count("800 new tuples refused by maxtuples since the last scan"), 1,
		  "the scan logs the count of refused tuples");
	unlink(logfile);
	stop();
}

int main(void)
{
	if (make_temp_path(dir, db, sizeof(db), "greywall.db"))
		return 1;
	snprintf(traps, sizeof(traps), "%s/spamtraps", dir);
	snprintf(logfile, sizeof(logfile), "%s/log", dir);
	test_classify_before_backlog();
	test_flood();
	test_maxtuples();
	CHECK_INT(rmdir(dir), 0, "temporary directory removed (no files left behind)");
	return check_done();
}
