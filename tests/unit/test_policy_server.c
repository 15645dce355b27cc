// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy child's server, run for real: policy_server_run() in a forked
 * process on a unix and a TCP listening socket, this test playing the
 * parent on the socketpair and Postfix on the clients' side. The server's
 * clock is the real one plus an offset the test jumps (shared memory), so
 * the 10, 30 and 600 s timeouts take a moment. Last, the whole child
 * (policy_child_main(): chroot, privilege drop, seccomp) answers a request,
 * when this runs as root and the user greywall exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child/child_main.h"
#include "policy/policy_child.h"
#include "policy/request.h"
#include "policy/server.h"
#include "spamd/privsep.h"

#define REQUEST(sender, recipient)                                                         \
	"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.7\n"     \
	"helo_name=mail.example.net\nsender=" sender "\nrecipient=" recipient "\n"         \
	"recipient_count=0\ninstance=1c5e.6580a2b7.2a9b1.0\nsize=0\n\n"

#define MALFORMED_ANSWER "action=" POLICY_ANSWER_MALFORMED "\n\n"
#define NO_VERDICT_ANSWER "action=" POLICY_ANSWER_NO_VERDICT "\n\n"

/* Milliseconds added to the server's monotonic clock; shared with the child. */
static volatile int64_t *clock_offset_ms;

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t test_monotonic_ms(void *ctx)
{
	(void)ctx;
	return real_ms() + (uint64_t)*clock_offset_ms;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = real_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* The server and this test's end of its socketpair. */
struct child {
	pid_t pid;
	int fd;
	struct privsep_reader reader;
	struct privsep_writer writer;
	struct privsep_msg msg;	/* the last message other than LOG */
	char path[64];		/* the unix listener */
	int port;		/* the TCP listener */
	char log[1 << 16];	/* LOG lines so far */
	size_t log_len;
};

static int listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 4096)) {
		perror("listen_unix");
		exit(2);
	}
	return fd;
}

static int listen_tcp(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, len) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		perror("listen_tcp");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * Fork a server on fresh listeners. whole_child runs policy_child_main()
 * instead, confined in empty_dir.
 */
static void child_start(struct child *h, bool whole_child, const char *empty_dir)
{
	struct child_clock clock = { test_monotonic_ms, NULL };
	int listeners[2], sv[2];

	memset(h, 0, sizeof(*h));
	snprintf(h->path, sizeof(h->path), "/tmp/gw-policy-test-%d.sock", (int)getpid());
	listeners[0] = listen_unix(h->path);
	listeners[1] = listen_tcp(&h->port);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	fflush(stdout);
	h->pid = fork();
	if (h->pid == 0) {
		struct child_server_config cfg = {
			.listen_fds = listeners,
			.nlisten = 2,
			.parent_fd = sv[1],
			.log_to_parent = true,
		};
		int ret;

		close(sv[0]);
		if (whole_child) {
			char fds[3][16];
			char *argv[] = { "greywalld", POLICY_CHILD_OPTION, (char *)empty_dir,
					 fds[0], fds[1], fds[2], NULL };

			snprintf(fds[0], sizeof(fds[0]), "%d", sv[1]);
			snprintf(fds[1], sizeof(fds[1]), "%d", listeners[0]);
			snprintf(fds[2], sizeof(fds[2]), "%d", listeners[1]);
			_exit(policy_child_main(6, argv));
		}
		ret = policy_server_run(&cfg, &clock);
		_exit(ret < 0 ? -ret : 0);
	}
	close(listeners[0]);
	close(listeners[1]);
	close(sv[1]);
	h->fd = sv[0];
	fcntl(h->fd, F_SETFL, O_NONBLOCK);
	privsep_reader_init(&h->reader, h->fd);
	privsep_writer_init(&h->writer, h->fd);
}

/* The child's exit status, -1 when it did not exit within ms (it is killed then). */
static int child_wait(struct child *h, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;
	int status = -1;

	while (waitpid(h->pid, &status, WNOHANG) == 0) {
		if (!remaining_ms(deadline)) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &status, 0);
			status = -1;
			break;
		}
		usleep(10 * 1000);
	}
	privsep_reader_free(&h->reader);
	privsep_writer_free(&h->writer);
	close(h->fd);
	unlink(h->path);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The next message but LOG (those are kept in h->log) into h->msg, within ms. */
static bool next_msg(struct child *h, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int ret = privsep_receive(&h->reader, &h->msg);

		if (ret == 1 && h->msg.type == PRIVSEP_LOG) {
			h->log_len += (size_t)snprintf(h->log + h->log_len,
						       sizeof(h->log) - h->log_len, "%s\n",
						       h->msg.log.text);
			if (h->log_len >= sizeof(h->log))
				h->log_len = 0;
			continue;
		}
		if (ret)
			return ret == 1;
		if (poll(&p, 1, remaining_ms(deadline)) <= 0)
			return false;
	}
}

/* The next POLICY's id, 0 when none came within ms (or something else did). */
static uint32_t next_policy(struct child *h, int ms)
{
	return next_msg(h, ms) && h->msg.type == PRIVSEP_POLICY ? h->msg.policy.req_id : 0;
}

/* Wait up to ms for text among the LOG lines. */
static bool log_shows(struct child *h, const char *text, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;

	do {
		if (strstr(h->log, text))
			return true;
		next_msg(h, 50);
	} while (remaining_ms(deadline));
	return strstr(h->log, text) != NULL;
}

static void verdict(struct child *h, uint32_t id, const char *action)
{
	struct privsep_msg m = { .type = PRIVSEP_VERDICT, .verdict = { id, action } };

	privsep_send(&h->writer, &m);
}

static int dial(struct child *h)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		perror("connect");
	return fd;
}

static int dial_tcp(struct child *h)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		perror("connect");
	return fd;
}

static void say_bytes(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

		if (n <= 0) {
			perror("say");
			return;
		}
		text += n;
		len -= (size_t)n;
	}
}

static void say(int fd, const char *text)
{
	say_bytes(fd, text, strlen(text));
}

/*
 * What the server sends within ms, into buf (NUL-terminated): until it
 * closes (*closed), until want is in it, or until the time is up.
 */
static size_t hear(int fd, char *buf, size_t len, const char *want, int ms, bool *closed)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;
	size_t got = 0;

	*closed = false;
	buf[0] = '\0';
	while (got + 1 < len && !(want && strstr(buf, want))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, remaining_ms(deadline)) <= 0)
			break;
		n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		if (n <= 0) {
			*closed = n == 0 || errno == ECONNRESET;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
	}
	return got;
}

/* Exactly text within ms, and nothing else. */
static bool hears(int fd, const char *text, int ms)
{
	char buf[4096];
	bool closed;

	hear(fd, buf, sizeof(buf), text, ms, &closed);
	return !strcmp(buf, text);
}

/* Nothing within ms, and still open. */
static bool hears_nothing(int fd, int ms)
{
	char buf[256];
	bool closed;

	return hear(fd, buf, sizeof(buf), NULL, ms, &closed) == 0 && !closed;
}

/* The server closes within ms (what it sends first goes to buf). */
static bool closes(int fd, char *buf, size_t len, int ms)
{
	bool closed;

	hear(fd, buf, len, NULL, ms, &closed);
	return closed;
}

/* Jump the server's clock; its loop wakes within a second and serves the deadlines. */
static void jump_clock(int seconds)
{
	*clock_offset_ms += (int64_t)seconds * 1000;
}

static bool policy_is(const struct child *h, const char *sender, const char *recipient)
{
	const struct privsep_policy *p = &h->msg.policy;

	return h->msg.type == PRIVSEP_POLICY && !strcmp(p->request, "smtpd_access_policy") &&
	       !strcmp(p->state, "RCPT") && !strcmp(p->client, "192.0.2.7") &&
	       !strcmp(p->helo, "mail.example.net") && !strcmp(p->sender, sender) &&
	       !strcmp(p->recipient, recipient) && !strcmp(p->rcpt_count, "0") &&
	       !strcmp(p->instance, "1c5e.6580a2b7.2a9b1.0");
}

/* Several requests on one connection, over unix and TCP, and pipelined. */
static void test_dialogue(struct child *h)
{
	int fd = dial(h), tcp = dial_tcp(h);
	uint32_t id, id2;

	say(fd, REQUEST("a@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	CHECK(id && policy_is(h, "a@example.net", "u@example.org"),
	      "a request becomes a POLICY with its attributes");
	verdict(h, id, "DUNNO");
	CHECK(hears(fd, "action=DUNNO\n\n", 2000), "its VERDICT becomes action=DUNNO");
	say(fd, REQUEST("", "v@example.org"));
	id2 = next_policy(h, 2000);
	CHECK(id2 && id2 != id && policy_is(h, "", "v@example.org"),
	      "a second request on the connection, the null sender empty, a new id");
	verdict(h, id2, "DEFER_IF_PERMIT 4.7.1 Greylisted, see http://postgrey.schweikert.ch/");
	CHECK(hears(fd, "action=DEFER_IF_PERMIT 4.7.1 Greylisted, see "
			"http://postgrey.schweikert.ch/\n\n",
		    2000),
	      "and its answer, text and all");

	say(tcp, REQUEST("t@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	CHECK(id && policy_is(h, "t@example.net", "u@example.org"), "a request over TCP");
	verdict(h, id, "OK");
	CHECK(hears(tcp, "action=OK\n\n", 2000), "answered over TCP");

	/* Two requests in one write: the second goes out once the first is answered. */
	say(fd, REQUEST("p1@example.net", "u@example.org") REQUEST("p2@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	CHECK(id && policy_is(h, "p1@example.net", "u@example.org"), "pipelined: the first");
	CHECK(!next_msg(h, 300), "the second waits for the first's answer");
	verdict(h, id, "DUNNO");
	id2 = next_policy(h, 2000);
	CHECK(id2 && policy_is(h, "p2@example.net", "u@example.org"),
	      "pipelined: the second once the first is answered");
	verdict(h, id2, "REJECT no");
	CHECK(hears(fd, "action=DUNNO\n\naction=REJECT no\n\n", 2000), "answered in order");
	close(fd);
	close(tcp);
}

/* VERDICTs go to their request's connection, whatever their order; unknown ids are ignored. */
static void test_routing(struct child *h)
{
	int one = dial(h), two = dial(h);
	uint32_t id1, id2;

	say(one, REQUEST("one@example.net", "u@example.org"));
	id1 = next_policy(h, 2000);
	say(two, REQUEST("two@example.net", "u@example.org"));
	id2 = next_policy(h, 2000);
	CHECK(id1 && id2 && id1 != id2, "two connections' requests, two ids");
	verdict(h, id1 ^ 0x400, "REJECT not yours");
	verdict(h, 12345, "REJECT nobody's");
	verdict(h, id2, "OK two");
	verdict(h, id1, "OK one");
	CHECK(hears(two, "action=OK two\n\n", 2000), "the second connection's answer first");
	CHECK(hears(one, "action=OK one\n\n", 2000), "then the first's, no unknown id's");
	verdict(h, id1, "REJECT again");
	CHECK(hears_nothing(one, 300), "a VERDICT for an answered id is ignored");
	say(one, REQUEST("one@example.net", "w@example.org"));
	id1 = next_policy(h, 2000);
	verdict(h, id1, "DUNNO");
	CHECK(id1 && hears(one, "action=DUNNO\n\n", 2000), "the connection goes on");
	close(one);
	close(two);
}

/* The attribute values reach the parent exactly, the longest and odd bytes too. */
static void test_exact_values(struct child *h)
{
	size_t long_len = PRIVSEP_FIELD_MAX;
	char *rcpt = malloc(long_len + 1), *req = malloc(3 * long_len);
	static const char helo[] = "a b%41-\xff\x01\r~";
	int fd = dial(h), n;
	uint32_t id;

	memset(rcpt, 0xe9, long_len);
	rcpt[long_len] = '\0';
	n = snprintf(req, 3 * long_len,
		     "instance=-\nrecipient=%s\nx=y\nhelo_name=%s\nsender=%%00\n"
		     "client_address=2001:db8::1\nrecipient_count=\nrequest=r\n"
		     "protocol_state=DATA\n\n",
		     rcpt, helo);
	say_bytes(fd, req, (size_t)n);
	id = next_policy(h, 2000);
	CHECK(id && !strcmp(h->msg.policy.recipient, rcpt) && !strcmp(h->msg.policy.helo, helo) &&
		      !strcmp(h->msg.policy.sender, "%00") &&
		      !strcmp(h->msg.policy.instance, "-") &&
		      !strcmp(h->msg.policy.client, "2001:db8::1") &&
		      !strcmp(h->msg.policy.rcpt_count, "") &&
		      !strcmp(h->msg.policy.request, "r") &&
		      !strcmp(h->msg.policy.state, "DATA"),
	      "every value exactly as sent: %zu bytes of 0xe9, spaces, '%%', '-', CR, controls",
	      long_len);
	verdict(h, id, "DUNNO");
	CHECK(hears(fd, "action=DUNNO\n\n", 2000), "answered");
	free(rcpt);
	free(req);
	close(fd);
}

/* Malformed requests: answered by the server, logged, the connection goes on. */
static void test_malformed(struct child *h)
{
	int fd = dial(h);
	uint32_t id;

	say(fd, "request=smtpd_access_policy\nno equals sign here\n\n");
	CHECK(hears(fd, MALFORMED_ANSWER, 2000), "a line without '=': %s", POLICY_ANSWER_MALFORMED);
	CHECK(!next_msg(h, 200), "and no POLICY for it");
	CHECK(log_shows(h, "malformed request (a line without '=', line 2)", 1000),
	      "the fault is logged to the parent");
	say(fd, "sender=a\nsender=b\nrecipient=c\n\n");
	CHECK(hears(fd, MALFORMED_ANSWER, 2000), "a repeated attribute is malformed too");
	say_bytes(fd, "sender=a\0\n\n", 11);
	CHECK(hears(fd, MALFORMED_ANSWER, 2000), "so is a NUL byte");
	say(fd, REQUEST("after@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	verdict(h, id, "DUNNO");
	CHECK(id && hears(fd, "action=DUNNO\n\n", 2000), "the connection goes on");

	/* A flood of faults: answered each, logged POLICY_LOG_BURST a second. */
	for (int i = 0; i < 40; i++)
		say(fd, "junk\n\n");
	{
		char buf[8192], want[8192] = "";
		bool closed;

		for (int i = 0; i < 40; i++)
			strcat(want, MALFORMED_ANSWER);
		hear(fd, buf, sizeof(buf), want, 3000, &closed);
		CHECK(!strcmp(buf, want), "40 malformed requests, 40 answers");
	}
	h->log_len = 0;
	h->log[0] = '\0';
	for (int i = 0; i < 50; i++)
		say(fd, "junk\n\n");
	log_shows(h, "not logged", 2500);
	{
		size_t lines = 0;

		for (const char *p = h->log; (p = strstr(p, "malformed request")); p++)
			lines++;
		CHECK(lines <= 2 * POLICY_LOG_BURST && strstr(h->log, "more faults in a second"),
		      "fault lines are rate-limited (%zu logged of 50)", lines);
	}
	close(fd);
}

/* Framing lost: answered once, closed. */
static void test_oversize(struct child *h)
{
	char *big = malloc(POLICY_REQUEST_MAX + 1), buf[4096];
	int fd = dial(h), ok_fd = dial(h);
	uint32_t id;

	memcpy(big, "ccert_subject=", 14);
	memset(big + 14, 'x', POLICY_REQUEST_MAX + 1 - 14);
	say_bytes(fd, big, POLICY_REQUEST_MAX + 1);
	CHECK(closes(fd, buf, sizeof(buf), 2000) && !strcmp(buf, MALFORMED_ANSWER),
	      "a request over %d bytes is answered once and closed", POLICY_REQUEST_MAX);
	/* Exactly at the bound is a request like any other. */
	memset(big, 'x', POLICY_REQUEST_MAX);
	memcpy(big, "ccert_subject=", 14);
	memcpy(big + POLICY_REQUEST_MAX - 11, "\nsender=s\n\n", 11);
	say_bytes(ok_fd, big, POLICY_REQUEST_MAX);
	id = next_policy(h, 2000);
	verdict(h, id, "DUNNO");
	CHECK(id && !strcmp(h->msg.policy.sender, "s") && hears(ok_fd, "action=DUNNO\n\n", 2000),
	      "a request of exactly %d bytes is served", POLICY_REQUEST_MAX);
	free(big);
	close(fd);
	close(ok_fd);
}

/* The parent silent, a client stalled, a client idle: the deadlines. */
static void test_timeouts(struct child *h)
{
	int fd = dial(h), half = dial(h), idle = dial(h);
	uint32_t id, late;
	char buf[256];

	say(fd, REQUEST("slow@example.net", "u@example.org"));
	late = next_policy(h, 2000);
	say(half, "request=smtpd_access_policy\nsender=a");
	/* Read before the clock jumps: the stall is counted from then. */
	usleep(200 * 1000);
	jump_clock(POLICY_VERDICT_TIMEOUT - 2);
	CHECK(late && hears_nothing(fd, 1200), "no answer before %d s", POLICY_VERDICT_TIMEOUT);
	jump_clock(3);
	CHECK(hears(fd, NO_VERDICT_ANSWER, 2500), "no VERDICT in %d s: %s",
	      POLICY_VERDICT_TIMEOUT, POLICY_ANSWER_NO_VERDICT);
	verdict(h, late, "OK too late");
	CHECK(hears_nothing(fd, 300), "the late VERDICT is ignored");
	say(fd, REQUEST("next@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	verdict(h, id, "DUNNO");
	CHECK(id && id != late && hears(fd, "action=DUNNO\n\n", 2000),
	      "the connection goes on with a new id");
	CHECK(hears_nothing(half, 10), "a half request is held for now");
	jump_clock(POLICY_STALL_TIMEOUT - 10);
	CHECK(closes(half, buf, sizeof(buf), 2500) && !buf[0],
	      "a half request stalled %d s is closed without an answer", POLICY_STALL_TIMEOUT);
	CHECK(log_shows(h, "not complete within", 1000), "and logged");
	jump_clock(POLICY_IDLE_TIMEOUT - POLICY_STALL_TIMEOUT - 30);
	CHECK(hears_nothing(idle, 1200), "an idle connection is kept under %d s",
	      POLICY_IDLE_TIMEOUT);
	jump_clock(45);
	CHECK(closes(idle, buf, sizeof(buf), 2500), "and closed after %d s", POLICY_IDLE_TIMEOUT);
	CHECK(closes(fd, buf, sizeof(buf), 1000), "the other one too, idle as long");
	close(fd);
	close(half);
	close(idle);
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* A thousand idle connections cost little, and a new one is served at once; then the limit. */
static void test_many_idle(struct child *h)
{
	enum { IDLE = 1000 };
	static int fds[POLICY_CONN_MAX + 8];
	long before = rss_kb(h->pid), after;
	int fd, extra[8];
	uint64_t start;
	uint32_t id;
	char buf[64];
	bool answered, over_closed = true, under_kept;

	for (int i = 0; i < IDLE; i++)
		fds[i] = dial(h);
	fd = dial(h);
	start = real_ms();
	say(fd, REQUEST("new@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	verdict(h, id, "DUNNO");
	answered = id && hears(fd, "action=DUNNO\n\n", 2000);
	CHECK(answered && real_ms() - start < 500,
	      "with %d idle connections a new one is answered in %llu ms", IDLE,
	      (unsigned long long)(real_ms() - start));
	after = rss_kb(h->pid);
	CHECK(before > 0 && after - before < 512, "%d idle connections cost %ld KiB of memory",
	      IDLE, after - before);
	/* Up to POLICY_CONN_MAX held; the next ones are closed at once. */
	for (int i = IDLE; i < POLICY_CONN_MAX - 1; i++)
		fds[i] = dial(h);
	under_kept = hears_nothing(fds[POLICY_CONN_MAX - 2], 200);
	for (int i = 0; i < 8; i++) {
		extra[i] = dial(h);
		over_closed &= closes(extra[i], buf, sizeof(buf), 2000);
	}
	CHECK(under_kept && over_closed, "%d connections held, the ones past them closed at once",
	      POLICY_CONN_MAX);
	close(fd);
	for (int i = 0; i < 8; i++)
		close(extra[i]);
	for (int i = 0; i < POLICY_CONN_MAX - 1; i++)
		close(fds[i]);
	/* Once their closes are taken, a new client is kept again (wait for it, 3 s at most). */
	for (int tries = 0; tries < 30; tries++) {
		fd = dial(h);
		if (!closes(fd, buf, sizeof(buf), 100))
			break;
		close(fd);
	}
	say(fd, REQUEST("again@example.net", "u@example.org"));
	id = next_policy(h, 2000);
	verdict(h, id, "DUNNO");
	CHECK(id && hears(fd, "action=DUNNO\n\n", 2000), "slots come back as clients leave");
	close(fd);
}

/*
 * A parent that does not read: past the queue's mark, requests wait in
 * their sockets, and none is lost once it reads again.
 */
static void test_congestion(struct child *h)
{
	enum { CLIENTS = 60 };
	size_t field = 5000, len = 3 * field + 256;
	char *req = malloc(len), *value = malloc(field + 1);
	int fds[CLIENTS], n, got = 0, answered = 0;
	bool distinct = true;
	uint32_t ids[CLIENTS];

	/*
	 * Every byte escaped: each POLICY is about 45 KB, sixty of them 2.7 MB,
	 * more than the mark and the socket's buffer take.
	 */
	memset(value, 0xff, field);
	value[field] = '\0';
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = dial(h);
		n = snprintf(req, len, "helo_name=%s\nsender=%s\nrecipient=%s\ninstance=%d\n\n", value,
			     value, value, i);
		say_bytes(fds[i], req, (size_t)n);
	}
	usleep(500 * 1000);
	while (got < CLIENTS && next_msg(h, 3000))
		if (h->msg.type == PRIVSEP_POLICY) {
			int which = atoi(h->msg.policy.instance);

			ids[got] = h->msg.policy.req_id;
			distinct &= which >= 0 && which < CLIENTS;
			got++;
			verdict(h, ids[got - 1], "DUNNO");
		}
	CHECK(got == CLIENTS && distinct,
	      "%d requests of 45 KB each reach a parent that stopped reading: %d", CLIENTS, got);
	for (int i = 0; i < CLIENTS; i++) {
		answered += hears(fds[i], "action=DUNNO\n\n", 2000);
		close(fds[i]);
	}
	CHECK_INT(answered, CLIENTS, "and every one is answered");
	free(req);
	free(value);
}

static void test_server(void)
{
	struct child h;
	int status, fd;

	child_start(&h, false, NULL);
	test_dialogue(&h);
	test_routing(&h);
	test_exact_values(&h);
	test_malformed(&h);
	test_oversize(&h);
	test_timeouts(&h);
	test_many_idle(&h);
	test_congestion(&h);
	/* The parent closes its end: the server ends, cleanly. */
	shutdown(h.fd, SHUT_WR);
	status = child_wait(&h, 3000);
	CHECK_INT(status, 0, "the parent's close ends the server with 0");

	child_start(&h, false, NULL);
	/* Once it serves, SIGTERM is its signalfd's. */
	fd = dial(&h);
	say(fd, "junk\n\n");
	hears(fd, MALFORMED_ANSWER, 2000);
	close(fd);
	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h, 3000), 0, "SIGTERM ends it with 0");

	child_start(&h, false, NULL);
	send(h.fd, "VERDICT 1\n", 10, 0);
	CHECK_INT(child_wait(&h, 3000), EPROTO, "a malformed VERDICT ends it (EPROTO)");

	child_start(&h, false, NULL);
	send(h.fd, "CLASS 1 GREY\n", 13, 0);
	CHECK_INT(child_wait(&h, 3000), EPROTO, "so does a message that is not VERDICT");
}

/* The whole child: confined, seccomp on, it serves as the bare server does. */
static void test_whole_child(void)
{
	char dir[] = "/tmp/gw-policy-empty-XXXXXX", buf[256];
	struct child h;
	uint32_t id;
	int fd;

	if (geteuid() != 0 || !getpwnam("greywall")) {
		CHECK_SKIP("needs root and the user greywall", "the confined child serves");
		return;
	}
	if (!mkdtemp(dir) || chmod(dir, 0555)) {
		CHECK(false, "an empty directory for the chroot");
		return;
	}
	child_start(&h, true, dir);
	fd = dial(&h);
	say(fd, REQUEST("c@example.net", "u@example.org"));
	id = next_policy(&h, 3000);
	verdict(&h, id, "DUNNO");
	CHECK(id && policy_is(&h, "c@example.net", "u@example.org") &&
		      hears(fd, "action=DUNNO\n\n", 2000),
	      "the confined child (chroot, user greywall, seccomp) answers a request");
	say(fd, "junk\n\n");
	CHECK(hears(fd, MALFORMED_ANSWER, 2000) && log_shows(&h, "malformed request", 2000),
	      "and logs through the parent");
	/* Idle clients, a timeout's wake-ups, a close: no system call outside the filter. */
	say(fd, "sender=x");
	close(fd);
	fd = dial_tcp(&h);
	closes(fd, buf, sizeof(buf), 300);
	close(fd);
	shutdown(h.fd, SHUT_WR);
	CHECK_INT(child_wait(&h, 3000), 0, "and ends with 0 when the parent closes (no SIGSYS)");

	/* Descriptors greywalld did not hand over. */
	{
		int null = open("/dev/null", O_RDONLY), sv[2], status[2] = { -1, -1 };

		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		for (int i = 0; i < 2; i++) {
			char fds[2][16];
			char *argv[] = { "greywalld", POLICY_CHILD_OPTION, dir, fds[0], fds[1], NULL };
			pid_t pid;

			/* First /dev/null as the parent's socket, then a socketpair as a listener. */
			snprintf(fds[0], sizeof(fds[0]), "%d", i ? sv[0] : null);
			snprintf(fds[1], sizeof(fds[1]), "%d", sv[1]);
			fflush(stdout);
			pid = fork();
			if (pid == 0) {
				close(1);
				close(2);
				_exit(policy_child_main(5, argv));
			}
			waitpid(pid, &status[i], 0);
		}
		CHECK(WIFEXITED(status[0]) && WEXITSTATUS(status[0]) == 64,
		      "a parent descriptor that is no socket: refused (64)");
		CHECK(WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == CHILD_EXIT_SETUP,
		      "a listener that does not listen: refused (%d)", CHILD_EXIT_SETUP);
		close(null);
		close(sv[0]);
		close(sv[1]);
	}
	rmdir(dir);
}

int main(void)
{
	struct rlimit rl;

	/* A thousand clients and the server's thousand connections. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_max > 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	clock_offset_ms = mmap(NULL, sizeof(*clock_offset_ms), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	test_server();
	test_whole_child();
	return check_done();
}
