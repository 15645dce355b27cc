// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * crowdsec/client.c against a real CrowdSec Local API: the test starts its
 * own `crowdsec -no-cs` (Debian 12's 1.4.6) with a private config copy,
 * database and port, adds a bouncer key, a machine and decisions with
 * cscli, and drives crowdsec_child_main() in a forked process over a
 * SOCK_SEQPACKET socketpair as greywalld would. Skipped when crowdsec is
 * not installed. Everything it starts and writes is removed at the end.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "check.h"
#include "crowdsec/client.h"
#include "crowdsec/proto.h"

#define PORT 18741
#define KEY "greywall-test-bouncer-key-0123456789"
#define MACHINE "gw1"
#define PASSWORD "greywall-test-machine-pw"

static char dir[64] = "/tmp/greywall-cs-XXXXXX";
static char cfg[128];
static pid_t lapi_pid = -1, child_pid = -1;
static int parent_fd = -1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool port_open(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ret;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return ret == 0;
}

static bool lapi_start(void)
{
	char log[160];

	snprintf(log, sizeof(log), "%s/crowdsec.out", dir);
	/* The child's freopen() would flush what stdout holds a second time. */
	fflush(NULL);
	lapi_pid = fork();
	if (lapi_pid == 0) {
		freopen(log, "a", stdout);
		freopen(log, "a", stderr);
		execlp("crowdsec", "crowdsec", "-c", cfg, "-no-cs", (char *)NULL);
		_exit(127);
	}
	for (int64_t end = now_ms() + 30000; now_ms() < end; usleep(100000))
		if (port_open())
			return true;
	return false;
}

static void lapi_stop(void)
{
	if (lapi_pid > 0) {
		kill(lapi_pid, SIGTERM);
		waitpid(lapi_pid, NULL, 0);
		lapi_pid = -1;
	}
}

static void child_stop(void)
{
	if (parent_fd >= 0)
		close(parent_fd);
	parent_fd = -1;
	if (child_pid > 0) {
		kill(child_pid, SIGTERM);
		waitpid(child_pid, NULL, 0);
		child_pid = -1;
	}
}

static void cleanup(void)
{
	child_stop();
	lapi_stop();
	if (strcmp(dir, "/tmp/greywall-cs-XXXXXX"))
		sh("rm -rf '%s'", dir);
}

static void child_start(void)
{
	int sv[2];

	child_stop();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	fflush(NULL);
	child_pid = fork();
	if (child_pid == 0) {
		close(sv[0]);
		_exit(crowdsec_child_main(sv[1]));
	}
	close(sv[1]);
	parent_fd = sv[0];
}

static void send_config(const char *key, const char *password, uint64_t max_bytes,
			uint32_t every)
{
	struct cs_msg_config m = {
		.type = CS_MSG_CONFIG, .every = every, .timeout = 5, .pull = 1, .push = 1,
		.max_bytes = max_bytes,
	};

	snprintf(m.url, sizeof(m.url), "http://127.0.0.1:%d/", PORT);
	snprintf(m.bouncer_key, sizeof(m.bouncer_key), "%s", key);
	snprintf(m.machine, sizeof(m.machine), "%s", MACHINE);
	snprintf(m.password, sizeof(m.password), "%s", password);
	send(parent_fd, &m, sizeof(m), 0);
}

static void send_seq(uint32_t type, uint64_t seq, uint32_t count)
{
	struct cs_msg_seq m = { .type = type, .seq = seq, .count = count };

	send(parent_fd, &m, sizeof(m), 0);
}

union msg {
	uint32_t type;
	struct cs_msg_pull_begin begin;
	struct cs_msg_decision decision;
	struct cs_msg_pull_end end;
	struct cs_msg_fail fail;
	struct cs_msg_seq seq;
	struct cs_msg_log log;
	char bytes[CS_MSG_MAX + 1];
};

/* The next message other than LOG within timeout_ms: its type, 0 on timeout, -1 on EOF/bad. */
static int next_msg(union msg *m, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = parent_fd, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;
		int type;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		n = recv(parent_fd, m, sizeof(*m), 0);
		if (n <= 0)
			return -1;
		type = cs_msg_check(m, (size_t)n);
		if (type < 0)
			return -1;
		if (type == CS_MSG_LOG) {
			printf("# child log: %s\n", m->log.text);
			continue;
		}
		return type;
	}
}

struct pull {
	bool ok;
	struct cs_msg_pull_begin begin;
	struct cs_msg_pull_end end;
	struct cs_msg_decision d[64];
	size_t n;
};

/* Waits for one whole pull (PULL_BEGIN .. PULL_END); a FAIL is printed and ends the wait. */
static bool wait_pull(struct pull *p, int timeout_ms)
{
	union msg m;
	int type;

	memset(p, 0, sizeof(*p));
	do
		type = next_msg(&m, timeout_ms);
	while (type > 0 && type != CS_MSG_PULL_BEGIN && type != CS_MSG_FAIL);
	if (type == CS_MSG_FAIL)
		printf("# FAIL what %u kind %u: %s\n", m.fail.what, m.fail.kind, m.fail.text);
	if (type != CS_MSG_PULL_BEGIN)
		return false;
	p->begin = m.begin;
	while ((type = next_msg(&m, 5000)) == CS_MSG_DECISION)
		if (p->n < 64)
			p->d[p->n++] = m.decision;
	if (type != CS_MSG_PULL_END)
		return false;
	p->end = m.end;
	p->ok = true;
	return true;
}

static const struct cs_msg_decision *find(const struct pull *p, const char *value, int deleted)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->d[i].value, value) && p->d[i].deleted == deleted)
			return &p->d[i];
	return NULL;
}

/* The next FAIL within timeout_ms (pulls in between are skipped), or false. */
static bool wait_fail(struct cs_msg_fail *f, uint32_t what, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	union msg m;
	int type;

	while (now_ms() < end) {
		type = next_msg(&m, (int)(end - now_ms()));
		if (type <= 0)
			return false;
		if (type == CS_MSG_FAIL && m.fail.what == what) {
			*f = m.fail;
			return true;
		}
	}
	return false;
}

static void send_alert(uint64_t seq, uint32_t scope, const char *value, const char *scenario)
{
	struct cs_msg_alert a = {
		.type = CS_MSG_ALERT, .scope = scope, .seq = seq, .duration = 3600,
		.when = time(NULL), .table = "popflooders",
		.evidence = "overload: rule 3 pop3 (12 connections in 10 s)",
	};

	snprintf(a.value, sizeof(a.value), "%s", value);
	snprintf(a.scenario, sizeof(a.scenario), "%s", scenario);
	send(parent_fd, &a, sizeof(a), 0);
}

static void cscli(const char *args)
{
	if (sh("cscli -c '%s' %s >>'%s/cscli.out' 2>&1", cfg, args, dir))
		printf("# cscli %s failed\n", args);
}

static bool setup(void)
{
	if (!mkdtemp(dir))
		return false;
	snprintf(cfg, sizeof(cfg), "%s/config.yaml", dir);
	/* The lead's recipe: a private copy of Debian's config, no Central API, no metrics. */
	if (sh("mkdir -p '%1$s/data' && sed -e 's/daemonize: true/daemonize: false/' "
	       "-e 's#log_dir: .*#log_dir: %1$s/#' -e 's#db_path: .*#db_path: %1$s/data/cs.db#' "
	       "-e 's#data_dir: .*#data_dir: %1$s/data/#' "
	       "-e 's#listen_uri: .*#listen_uri: 127.0.0.1:%2$d#' "
	       "-e 's#credentials_path: /etc/crowdsec/local_api_credentials.yaml#"
	       "credentials_path: %1$s/local_api_credentials.yaml#' "
	       "-e '/online_client:/d' -e '/online_api_credentials/d' "
	       "-e '/^prometheus:/,/^[a-z]/ s/enabled: true/enabled: false/' "
	       "/etc/crowdsec/config.yaml > '%1$s/config.yaml'",
	       dir, PORT))
		return false;
	if (port_open()) {
		printf("# port %d is taken\n", PORT);
		return false;
	}
	if (!lapi_start())
		return false;
	char args[512];

	snprintf(args, sizeof(args),
		 "machines add localcli --auto -f '%s/local_api_credentials.yaml' "
		 "--url http://127.0.0.1:%d/",
		 dir, PORT);
	cscli(args);
	cscli("bouncers add greywall-test -k " KEY);
	cscli("machines add " MACHINE " --password " PASSWORD " -f /dev/null");
	cscli("decisions add -i 198.51.100.7 -d 1h");
	cscli("decisions add -r 203.0.113.0/24 -d 2h");
	cscli("decisions add -r 2001:db8:1::/48 -d 3h");
	cscli("decisions add -i 198.51.100.8 -t captcha");
	return true;
}

static void test_pull(void)
{
	const struct cs_msg_decision *d;
	struct pull p;
	int64_t t;

	child_start();
	send_config(KEY, PASSWORD, 1 << 20, 60);
	CHECK(wait_pull(&p, 10000), "startup pull arrives");
	CHECK(p.begin.startup == 1 && p.end.startup == 1, "marked startup");
	CHECK_INT(p.n, 3, "three bans");
	CHECK_INT(p.end.added, 3, "PULL_END added 3");
	CHECK_INT(p.end.ignored_type, 1, "the captcha counted");
	CHECK(p.begin.bytes > 100, "answer size told (%llu)", (unsigned long long)p.begin.bytes);
	d = find(&p, "198.51.100.7", 0);
	CHECK(d && d->scope == CS_SCOPE_IP && d->duration > 3590 && d->duration <= 3600,
	      "198.51.100.7: Ip, about 1 h left");
	CHECK(d && !strcmp(d->origin, "cscli") && !strncmp(d->scenario, "manual 'ban'", 12),
	      "origin and scenario");
	d = find(&p, "203.0.113.0/24", 0);
	CHECK(d && d->scope == CS_SCOPE_RANGE, "203.0.113.0/24: Range");
	CHECK(find(&p, "2001:db8:1::/48", 0), "2001:db8:1::/48: an IPv6 Range");

	cscli("decisions delete -i 198.51.100.7");
	cscli("decisions add -i 198.51.100.20 -d 30m");
	t = now_ms();
	send_seq(CS_MSG_PULL_NOW, 0, 0);
	CHECK(wait_pull(&p, 3000), "PULL_NOW: a pull at once (every is 60 s)");
	printf("# PULL_NOW answered in %lld ms\n", (long long)(now_ms() - t));
	CHECK(p.begin.startup == 0, "not startup");
	CHECK(find(&p, "198.51.100.7", 1), "the deleted decision shows as deleted");
	CHECK(find(&p, "198.51.100.20", 0), "the added one as new");
	CHECK(!find(&p, "203.0.113.0/24", 0), "what did not change is not sent again");
}

static void test_push(void)
{
	struct cs_msg_fail f;
	union msg m;
	int type;
	FILE *fp;
	char cmd[256], out[65536];
	size_t n;

	send_alert(7, CS_SCOPE_IP, "198.51.100.77", "greywall/overload");
	send_alert(7, CS_SCOPE_RANGE, "2001:db8:77::/48", "greywall/trap");
	send_seq(CS_MSG_ALERTS_END, 7, 2);
	do
		type = next_msg(&m, 10000);
	while (type == CS_MSG_PULL_BEGIN || type == CS_MSG_DECISION || type == CS_MSG_PULL_END);
	if (type == CS_MSG_FAIL)
		printf("# FAIL what %u kind %u: %s\n", m.fail.what, m.fail.kind, m.fail.text);
	CHECK(type == CS_MSG_PUSH_DONE && m.seq.seq == 7 && m.seq.count == 2,
	      "batch of 2 alerts: PUSH_DONE seq 7 count 2");

	snprintf(cmd, sizeof(cmd), "cscli -c '%s' decisions list -o json 2>/dev/null", cfg);
	fp = popen(cmd, "r");
	n = fp ? fread(out, 1, sizeof(out) - 1, fp) : 0;
	if (fp)
		pclose(fp);
	out[n] = '\0';
	CHECK(strstr(out, "\"value\": \"198.51.100.77\"") && strstr(out, "\"greywall/overload\""),
	      "cscli decisions list shows 198.51.100.77, scenario greywall/overload");
	CHECK(strstr(out, "\"value\": \"2001:db8:77::/48\"") && strstr(out, "\"greywall/trap\""),
	      "and 2001:db8:77::/48, scenario greywall/trap");
	CHECK(strstr(out, "overload: rule 3 pop3 (12 connections in 10 s)"),
	      "with the evidence in its meta");

	/* A second batch reuses the token (no new login needed; it must still work). */
	send_alert(8, CS_SCOPE_IP, "198.51.100.78", "greywall/overload");
	send_seq(CS_MSG_ALERTS_END, 8, 1);
	do
		type = next_msg(&m, 10000);
	while (type == CS_MSG_PULL_BEGIN || type == CS_MSG_DECISION || type == CS_MSG_PULL_END);
	CHECK(type == CS_MSG_PUSH_DONE && m.seq.seq == 8 && m.seq.count == 1,
	      "second batch: PUSH_DONE seq 8");

	/* A wrong machine password: the batch fails as LOGIN then PUSH, kind AUTH. */
	send_config(KEY, "wrong-password", 1 << 20, 60);
	send_alert(9, CS_SCOPE_IP, "198.51.100.79", "greywall/overload");
	send_seq(CS_MSG_ALERTS_END, 9, 1);
	CHECK(wait_fail(&f, CS_WHAT_LOGIN, 10000) && f.kind == CS_ERR_AUTH && f.seq == 9,
	      "wrong password: FAIL LOGIN AUTH (%s)", f.text);
	CHECK(wait_fail(&f, CS_WHAT_PUSH, 10000) && f.kind == CS_ERR_AUTH && f.seq == 9,
	      "and FAIL PUSH seq 9");
	CHECK(!strstr(f.text, "wrong-password"), "the password is not in the text");
}

static void test_failures(void)
{
	struct cs_msg_fail f;
	struct pull p;
	int64_t t;
	int status;

	send_config("wrong-key", PASSWORD, 1 << 20, 60);
	CHECK(wait_fail(&f, CS_WHAT_PULL, 10000) && f.kind == CS_ERR_AUTH && f.http_status == 403,
	      "wrong bouncer key: FAIL PULL AUTH 403 (%s)", f.text);
	CHECK(!strstr(f.text, "wrong-key"), "the key is not in the text");

	send_config(KEY, PASSWORD, 200, 60);
	CHECK(wait_fail(&f, CS_WHAT_PULL, 10000) && f.kind == CS_ERR_OVERSIZE,
	      "max_bytes 200: FAIL PULL OVERSIZE (%s)", f.text);
	/* After a failure the next pull is startup=true, after 1 s of backoff. */
	send_config(KEY, PASSWORD, 1 << 20, 60);
	CHECK(wait_pull(&p, 10000) && p.begin.startup == 1, "back to a good config: startup pull");

	lapi_stop();
	send_seq(CS_MSG_PULL_NOW, 0, 0);
	CHECK(wait_fail(&f, CS_WHAT_PULL, 10000) && f.kind == CS_ERR_CONNECT,
	      "LAPI stopped: FAIL PULL CONNECT (%s)", f.text);
	t = now_ms();
	CHECK(wait_fail(&f, CS_WHAT_PULL, 5000) && f.kind == CS_ERR_CONNECT,
	      "retried by itself");
	printf("# retried after %lld ms\n", (long long)(now_ms() - t));
	CHECK(lapi_start(), "LAPI started again");
	CHECK(wait_pull(&p, 15000) && p.begin.startup == 1 && find(&p, "198.51.100.20", 0),
	      "after the outage: a startup pull with the whole state");

	/* A protocol error ends the child with status 2; EOF with 0. */
	{
		char junk[8] = { 99 };

		send(parent_fd, junk, sizeof(junk), 0);
		waitpid(child_pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CROWDSEC_EXIT_PROTO,
		      "a bad message: exit 2");
		child_pid = -1;
	}
	child_start();
	send_config(KEY, PASSWORD, 1 << 20, 60);
	wait_pull(&p, 10000);
	close(parent_fd);
	parent_fd = -1;
	waitpid(child_pid, &status, 0);
	child_pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CROWDSEC_EXIT_EOF, "EOF: exit 0");

	/* ALERT before CONFIG, and a batch over the bound, are protocol errors. */
	child_start();
	send_alert(1, CS_SCOPE_IP, "198.51.100.1", "greywall/x");
	waitpid(child_pid, &status, 0);
	child_pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CROWDSEC_EXIT_PROTO,
	      "ALERT before CONFIG: exit 2");
	child_start();
	send_config(KEY, PASSWORD, 1 << 20, 60);
	wait_pull(&p, 10000);
	for (int i = 0; i <= CROWDSEC_BATCH_MAX; i++)
		send_alert(3, CS_SCOPE_IP, "198.51.100.1", "greywall/x");
	waitpid(child_pid, &status, 0);
	child_pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == CROWDSEC_EXIT_PROTO,
	      "%d alerts in a batch: exit 2", CROWDSEC_BATCH_MAX + 1);
}

int main(void)
{
	if (sh("command -v crowdsec >/dev/null && command -v cscli >/dev/null")) {
		CHECK_SKIP("crowdsec is not installed", "crowdsec child against a real LAPI");
		return check_done();
	}
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	if (!setup()) {
		CHECK(false, "a private LAPI on 127.0.0.1:%d (see %s)", PORT, dir);
		return check_done();
	}
	test_pull();
	test_push();
	test_failures();
	return check_done();
}
