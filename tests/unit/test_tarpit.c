// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit child, run for real: tarpit_run() in a forked process with
 * loopback listeners, real TCP clients, and this test playing the parent
 * on the socketpair. The tarpit's clock is the real one plus an offset the
 * test can jump (shared memory), so timeouts of 10 s and 400 s take a
 * moment; stutter is measured in real seconds.
 *
 * GW_TARPIT_CONNS=50000 makes the memory check hold that many stuttered
 * connections (default 2000).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spamd/privsep.h"
#include "spamd/tarpit.h"

#define HOSTNAME    "mx.test.example"
#define BANNER_TEXT "greywall test tarpit"
/* Thu, 01 Jan 2026 00:00:00 UTC: the tarpit's wall clock stands still. */
#define WALL	    1767225600
#define BANNER	    "220 " HOSTNAME " ESMTP " BANNER_TEXT "; Thu, 01 Jan 2026 00:00:00 +0000\r\n"
#define HELO_OK	    "250 " HOSTNAME " Hello, pleased to meet you. Slowly.\r\n"
#define MAIL_OK	    "250 2.1.0 Sender noted. Your time will be spent here.\r\n"
#define RCPT_OK	    "250 2.1.5 Recipient noted. This may take a while.\r\n"
#define DATA_GO	    "354 Enter the message, end with \".\" on a line by itself.\r\n"
#define GREY451	    "451 Temporary failure, please try again later.\r\n"
#define TOO_MANY    "452 4.5.3 Too many recipients.\r\n"

/* Milliseconds added to the tarpit's monotonic clock; shared with the children. */
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

static int64_t test_wall(void *ctx)
{
	(void)ctx;
	return WALL;
}

/* One tarpit child and this test's end of its socketpair. */
struct child {
	pid_t pid;
	int fd;
	struct privsep_reader reader;
	struct privsep_writer writer;
	struct privsep_msg msg;	/* the last message from the tarpit */
	struct privsep_conns conns; /* what its last CONNS said */
	int port4, port6;
	int class_fd;		/* the class channel's end, -1 without one */
	char log_path[32];
	char log[1 << 16];	/* its stderr, read by child_stop() */
};

/* Accepted sockets inherit a small send buffer: a client that does not read soon fills it. */
static int listen_on(int family, int *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	int sndbuf = 8192;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		perror("listen_on");
		exit(2);
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/*
 * The descriptor limit that leaves this process exactly free descriptors:
 * new ones take the lowest free numbers, and the limit caps the number.
 */
static rlim_t fd_limit_leaving(int free)
{
	static bool used[4096];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	rlim_t limit = 0;

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) && fd < 4096)
			used[fd] = true;
	}
	if (d)
		closedir(d);
	for (; free > 0; limit++)
		free -= !used[limit];
	return limit;
}

static struct tarpit_config base_config(void)
{
	return (struct tarpit_config){
		.hostname = HOSTNAME,
		.banner = BANNER_TEXT,
		.black_code = 450,
		.stutter = 1,
		.greystutter = 0,
		.maxcon = 50,
		.maxblack = 1,
		.idle_timeout = 400,
		.max_data = 1 << 20,
	};
}

/*
 * Fork a tarpit with cfg on fresh loopback listeners. spare_fds > 0 caps
 * its descriptors at what it holds plus spare_fds, to run it out of them.
 * cfg.class_fd -1 gives it a class channel (h->class_fd); 0, none.
 */
static void child_start(struct child *h, struct tarpit_config cfg, int spare_fds)
{
	struct tarpit_clock clock = { test_monotonic_ms, test_wall, NULL };
	int listeners[2], sv[2], cv[2] = { -1, -1 }, logfd;

	memset(h, 0, sizeof(*h));
	if (cfg.class_fd < 0)
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv);
	listeners[0] = listen_on(AF_INET, &h->port4);
	listeners[1] = listen_on(AF_INET6, &h->port6);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	strcpy(h->log_path, "/tmp/gw-tarpit-XXXXXX");
	logfd = mkstemp(h->log_path);
	fflush(stdout);
	h->pid = fork();
	if (h->pid == 0) {
		int ret;

		dup2(logfd, 2);
		close(logfd);
		close(sv[0]);
		cfg.listen_fds = listeners;
		cfg.nlisten = 2;
		cfg.parent_fd = sv[1];
		if (cv[1] >= 0)
			cfg.class_fd = cv[1];
		if (spare_fds) {
			/* tarpit_run() takes two: epoll and signalfd. */
			rlim_t limit = fd_limit_leaving(2 + spare_fds);
			struct rlimit rl = { limit, limit };

			setrlimit(RLIMIT_NOFILE, &rl);
		}
		ret = tarpit_run(&cfg, &clock);
		_exit(ret < 0 ? -ret : 0);
	}
	close(listeners[0]);
	close(listeners[1]);
	close(sv[1]);
	close(logfd);
	if (cv[1] >= 0)
		close(cv[1]);
	h->class_fd = cv[0];
	h->fd = sv[0];
	fcntl(h->fd, F_SETFL, O_NONBLOCK);
	privsep_reader_init(&h->reader, h->fd);
	privsep_writer_init(&h->writer, h->fd);
}

/* The last 64 KiB of the child's log into h->log. */
static void read_log(struct child *h)
{
	int fd = open(h->log_path, O_RDONLY);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
	off_t from = size > (off_t)sizeof(h->log) - 1 ? size - (off_t)sizeof(h->log) + 1 : 0;
	ssize_t n = fd >= 0 ? pread(fd, h->log, sizeof(h->log) - 1, from) : 0;

	h->log[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* The child's exit status; its log is in h->log afterwards. */
static int child_wait(struct child *h)
{
	int status = -1;

	waitpid(h->pid, &status, 0);
	read_log(h);
	unlink(h->log_path);
	privsep_reader_free(&h->reader);
	privsep_writer_free(&h->writer);
	close(h->fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = real_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* Wait up to ms for text to show in the child's log. */
static bool log_shows(struct child *h, const char *text, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;

	do {
		read_log(h);
		if (strstr(h->log, text))
			return true;
		usleep(20 * 1000);
	} while (remaining_ms(deadline));
	return false;
}

/*
 * The next message from the tarpit into h->msg, within ms. CONNS, which
 * the tarpit sends once a second whenever its connections changed, only
 * updates h->conns.
 */
static bool next_msg(struct child *h, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int ret = privsep_receive(&h->reader, &h->msg);

		if (ret == 1 && h->msg.type == PRIVSEP_CONNS) {
			h->conns = h->msg.conns;
			continue;
		}
		if (ret)
			return ret == 1;
		if (poll(&p, 1, remaining_ms(deadline)) <= 0)
			return false;
	}
}

/* Wait up to ms for a CONNS saying held and black (other messages are dropped). */
static bool conns_become(struct child *h, uint32_t held, uint32_t black, int ms)
{
	uint64_t deadline = real_ms() + (uint64_t)ms;

	while (h->conns.held != held || h->conns.black != black) {
		if (!remaining_ms(deadline))
			return false;
		next_msg(h, remaining_ms(deadline) < 100 ? remaining_ms(deadline) : 100);
	}
	return true;
}

static void answer(struct child *h, uint32_t id, bool black, uint16_t code, const char *message,
		   const char *lists)
{
	struct privsep_msg m = { .type = PRIVSEP_CLASS,
				 .class = { id, black, code, message, lists } };

	privsep_send(&h->writer, &m);
}

static void send_line(struct child *h, const char *line)
{
	size_t len = strlen(line);

	if (write(h->fd, line, len) != (ssize_t)len)
		perror("send_line");
}

/* A client connection; *id its CLASSIFY id, 0 when none came within ms. */
static int dial(struct child *h, bool v6, uint32_t *id, int ms)
{
	struct sockaddr_storage ss = { .ss_family = v6 ? AF_INET6 : AF_INET };
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (v6) {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)h->port6);
	} else {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)h->port4);
	}
	if (connect(fd, (struct sockaddr *)&ss, len))
		perror("connect");
	*id = 0;
	if (ms && next_msg(h, ms) && h->msg.type == PRIVSEP_CLASSIFY)
		*id = h->msg.classify.conn_id;
	return fd;
}

static void say(int fd, const char *text)
{
	size_t len = strlen(text);

	if (write(fd, text, len) != (ssize_t)len)
		perror("say");
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

/* Jump the tarpit's clock and give its loop a turn of the wheel. */
static void jump_clock(int seconds)
{
	*clock_offset_ms += (int64_t)seconds * 1000;
}

static bool is_rcpt(const struct child *h, const char *client, const char *helo,
		    const char *from, const char *to)
{
	char ip[ADDR_STRLEN], local[ADDR_STRLEN];

	if (h->msg.type != PRIVSEP_RCPT)
		return false;
	addr_format(&h->msg.rcpt.client, ip, sizeof(ip));
	addr_format(&h->msg.rcpt.local, local, sizeof(local));
	return !strcmp(ip, client) && !strcmp(local, client) && !strcmp(h->msg.rcpt.helo, helo) &&
	       !strcmp(h->msg.rcpt.from, from) && !strcmp(h->msg.rcpt.to, to);
}

/*
 * stutter 0: the banner is the same bytes at once for black and grey, so
 * it goes out before CLASS; the client's input still waits for CLASS,
 * which decides the dialogue as before.
 */
static void test_early_banner(void)
{
	static char buf[8192];
	struct tarpit_config cfg = base_config();
	struct child h;
	uint32_t id;
	bool closed;
	int fd;

	cfg.stutter = 0;
	cfg.maxblack = 50;
	child_start(&h, cfg, 0);

	fd = dial(&h, false, &id, 3000);
	CHECK(id != 0, "stutter 0: CLASSIFY arrives");
	hear(fd, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "stutter 0: the banner comes before CLASS is answered");
	say(fd, "HELO x\r\nMAIL FROM:<s@spam.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n"
		"Subject: spam\r\n\r\n.\r\n");
	hear(fd, buf, sizeof(buf), NULL, 300, &closed);
	CHECK_STR(buf, "", "the client's commands wait for CLASS");
	answer(&h, id, true, 550, "Your address %A is listed", "traplist");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, HELO_OK MAIL_OK RCPT_OK DATA_GO "550 Your address 127.0.0.1 is listed\r\n",
		  "a black CLASS after the banner: the black dialogue, the list's message");
	CHECK(closed, "black: closed after the final reply");
	CHECK(next_msg(&h, 2000) && is_rcpt(&h, "127.0.0.1", "x", "<s@spam.example>", "<u@example.org>"),
	      "black: its RCPT is reported");
	close(fd);

	fd = dial(&h, true, &id, 3000);
	hear(fd, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "IPv6: the banner before CLASS");
	answer(&h, id, false, 0, NULL, NULL);
	say(fd, "HELO y\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<g@example.org>\r\nDATA\r\n");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, HELO_OK MAIL_OK RCPT_OK GREY451, "a grey CLASS after the banner: 451 at DATA");
	CHECK(next_msg(&h, 2000) && is_rcpt(&h, "::1", "y", "<a@b.example>", "<g@example.org>"),
	      "grey: its RCPT is reported");
	close(fd);

	/* No CLASS within 10 s: grey, its banner not sent twice. */
	fd = dial(&h, false, &id, 3000);
	hear(fd, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "the banner before a CLASS that never comes");
	jump_clock(TARPIT_CLASSIFY_TIMEOUT);
	say(fd, "HELO z\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<n@example.org>\r\nDATA\r\n");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, HELO_OK MAIL_OK RCPT_OK GREY451, "no CLASS within 10 s: grey, no second banner");
	close(fd);
	next_msg(&h, 2000);

	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h), 0, "SIGTERM: the tarpit returns 0");
	CHECK(!strstr(h.log, "cannot start"), "no dialogue failed to start");
}

/*
 * Grey and black dialogues, stutter, maxblack, TRAPS, the CLASS and idle
 * timeouts, and the log lines, in one tarpit (stutter 1 s, maxblack 1).
 */
static void test_dialogues(void)
{
	static char buf[8192];
	struct child h;
	uint32_t id, grey_id;
	uint64_t at[4];
	bool closed, steady = true;
	int grey, stuttered, black, fd;
	unsigned int seconds = 0;
	const char *p;

	child_start(&h, base_config(), 0);

	/* A grey client: whole replies (greystutter 0), 451 at DATA, its RCPT reported. */
	grey = dial(&h, false, &id, 3000);
	CHECK(id != 0, "grey: CLASSIFY arrives");
	CHECK(h.msg.type == PRIVSEP_CLASSIFY && h.msg.classify.client.family == AF_INET,
	      "grey: CLASSIFY names the IPv4 client");
	answer(&h, id, false, 0, NULL, NULL);
	say(grey, "HELO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<trap@example.org>\r\n"
		  "DATA\r\n");
	hear(grey, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, BANNER HELO_OK MAIL_OK RCPT_OK GREY451,
		  "grey: banner with the date of the second, 451 at DATA");
	CHECK(closed, "grey: closed after 451");
	CHECK(next_msg(&h, 2000) &&
		      is_rcpt(&h, "127.0.0.1", "client.example", "<a@b.example>", "<trap@example.org>"),
	      "grey: the RCPT reaches the parent with both addresses and the tuple");
	close(grey);

	/* A black client within maxblack: stuttered, one byte a second. */
	stuttered = dial(&h, false, &id, 3000);
	answer(&h, id, true, 0, "Go away %A", "first");
	for (int i = 0; i < 4; i++) {
		at[i] = 0;
		if (hear(stuttered, buf, 2, NULL, 2500, &closed) == 1)
			at[i] = real_ms();
		steady &= buf[0] == "220 "[i];
	}
	for (int i = 1; i < 4; i++) {
		printf("# stutter: byte %d came %lld ms after byte %d\n", i + 1,
		       (long long)(at[i] - at[i - 1]), i);
		steady &= at[i] && at[i - 1] && at[i] - at[i - 1] >= 700 && at[i] - at[i - 1] <= 1300;
	}
	CHECK(steady, "black: \"220 \" stuttered one byte per second");

	/* The second black client is beyond maxblack 1: whole replies, the lists' message. */
	black = dial(&h, false, &id, 3000);
	answer(&h, id, true, 550, "Your address %A is listed\non %A's lists", "traplist nixspam");
	say(black, "HELO x\r\nMAIL FROM:<s@spam.example>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n"
		   "Subject: spam\r\n\r\n.\r\n");
	hear(black, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, BANNER HELO_OK MAIL_OK RCPT_OK DATA_GO
		  "550-Your address 127.0.0.1 is listed\r\n550 on 127.0.0.1's lists\r\n",
		  "black beyond maxblack: whole replies, 354, then the list message as 550");
	CHECK(closed, "black: closed after the final reply");
	CHECK(next_msg(&h, 2000) && is_rcpt(&h, "127.0.0.1", "x", "<s@spam.example>", "<u@example.org>"),
	      "black: its RCPT is reported too");
	close(black);

	/* New trap rules: a spamtrap and alloweddomains. */
	send_line(&h, "TRAPS 1\nSPAMTRAP <Trap@Example.ORG>\nDOMAIN example.org\nTRAPS-END\n");
	fd = dial(&h, true, &id, 3000);
	CHECK(id && h.msg.classify.client.family == AF_INET6, "traps: an IPv6 client classified");
	answer(&h, id, false, 0, NULL, NULL);
	say(fd, "HELO y\r\nMAIL FROM:<s@spam.example>\r\nRCPT TO:<ok@example.org>\r\n"
		"RCPT TO:<trap@example.org>\r\nDATA\r\n.\r\n");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, BANNER HELO_OK MAIL_OK RCPT_OK RCPT_OK DATA_GO
		  "450-Your address ::1 is listed as a source of spam.\r\n"
		  "450 No mail from it is accepted here.\r\n",
		  "traps: a RCPT to the spamtrap turns the session black (354, then 450)");
	CHECK(next_msg(&h, 2000) && is_rcpt(&h, "::1", "y", "<s@spam.example>", "<ok@example.org>") &&
		      next_msg(&h, 2000) &&
		      is_rcpt(&h, "::1", "y", "<s@spam.example>", "<trap@example.org>"),
	      "traps: both RCPTs reported");
	close(fd);
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	say(fd, "HELO z\r\nMAIL FROM:<>\r\nRCPT TO:<user@elsewhere.example>\r\nDATA\r\n");
	hear(fd, buf, sizeof(buf), DATA_GO, 3000, &closed);
	CHECK(strstr(buf, RCPT_OK DATA_GO) != NULL,
	      "traps: a RCPT outside alloweddomains traps too");
	close(fd);
	next_msg(&h, 2000);

	/* No CLASS within 10 s: grey. */
	grey = dial(&h, false, &grey_id, 3000);
	jump_clock(TARPIT_CLASSIFY_TIMEOUT);
	hear(grey, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "no CLASS within 10 s: the banner, whole (grey)");
	answer(&h, grey_id, true, 0, NULL, NULL);
	say(grey, "HELO late\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n");
	hear(grey, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, HELO_OK MAIL_OK RCPT_OK GREY451, "a late CLASS changes nothing");
	close(grey);
	next_msg(&h, 2000);

	/*
	 * A whole dialogue sent before the banner, while the connection waits
	 * for CLASS: its edge came then, and is not lost (the tarpit reads the
	 * socket at CLASS only when an edge came). Once with the client's FIN
	 * behind it, once without.
	 */
	for (int fin = 0; fin < 2; fin++) {
		fd = dial(&h, false, &id, 3000);
		say(fd, "HELO early\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<e@example.org>\r\n"
			"DATA\r\n");
		if (fin)
			shutdown(fd, SHUT_WR);
		/* The tarpit sees the input while it waits for CLASS. */
		usleep(200 * 1000);
		answer(&h, id, false, 0, NULL, NULL);
		hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
		CHECK_STR(buf, BANNER HELO_OK MAIL_OK RCPT_OK GREY451,
			  "input before the banner%s: answered once the dialogue begins",
			  fin ? ", then the client's FIN" : "");
		CHECK(closed, "input before the banner%s: closed after the 451",
		      fin ? ", then FIN" : "");
		close(fd);
		next_msg(&h, 2000);
	}

	/* 400 s without a word from a client: closed. */
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	hear(fd, buf, sizeof(buf), "\r\n", 3000, &closed);
	say(fd, "NOOP\r\n");
	hear(fd, buf, sizeof(buf), "\r\n", 3000, &closed);
	/* Deadlines fall on whole seconds: 400 s is 399 to 400 s after the last input. */
	jump_clock(397);
	hear(fd, buf, sizeof(buf), NULL, 1000, &closed);
	CHECK(!closed, "idle: still open after 398 s");
	jump_clock(3);
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK(closed && !buf[0], "idle: closed after 400 s without input");
	close(fd);
	hear(stuttered, buf, 2, NULL, 2500, &closed);
	CHECK(!closed && buf[0] == BANNER[4], "the stuttered client is still held, still fed");
	close(stuttered);

	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h), 0, "SIGTERM: the tarpit returns 0");
	p = strstr(h.log, "127.0.0.1: connected (1/0)\n");
	CHECK(p != NULL, "log: grey client connected (1/0)");
	CHECK(strstr(h.log, "(GREY) 127.0.0.1: <a@b.example> -> <trap@example.org>\n") != NULL,
	      "log: (GREY) line");
	CHECK(strstr(h.log, "127.0.0.1: connected (1/1), lists: first\n") != NULL,
	      "log: black client connected (1/1) with its list");
	CHECK(strstr(h.log, "127.0.0.1: connected (2/2), lists: traplist nixspam\n") != NULL,
	      "log: second black client (2/2), lists named");
	CHECK(strstr(h.log, "(BLACK) 127.0.0.1: <s@spam.example> -> <u@example.org>\n") != NULL,
	      "log: (BLACK) line");
	CHECK(strstr(h.log, "(GREY) ::1: <s@spam.example> -> <ok@example.org>\n") &&
		      strstr(h.log, "(BLACK) ::1: <s@spam.example> -> <trap@example.org>\n"),
	      "log: the trapping RCPT logged BLACK");
	CHECK(strstr(h.log, "(BLACK) 127.0.0.1: <> -> <user@elsewhere.example>\n") != NULL,
	      "log: the null sender as <>");
	CHECK(strstr(h.log, "127.0.0.1: disconnected after 0 seconds.\n") ||
		      strstr(h.log, "127.0.0.1: disconnected after 1 seconds.\n"),
	      "log: disconnected after N seconds.");
	p = strstr(h.log, "disconnected after 40");
	CHECK(p && sscanf(p, "disconnected after %u seconds.", &seconds) == 1 && seconds >= 400 &&
		      seconds <= 406,
	      "log: the idle client disconnected after %u seconds", seconds);
}

/*
 * maxrcpt 3: a session's first three RCPTs are reported, every later one
 * (after RSET and a new MAIL too) is answered 452 and never reaches the
 * parent; the next connection starts counting afresh; 452s count as bad
 * commands, so a client that keeps sending RCPTs is cut off at the 20th.
 */
static void test_maxrcpt(void)
{
	static char buf[8192];
	struct tarpit_config cfg = base_config();
	char rcpts[1024] = "", want[4096] = BANNER HELO_OK MAIL_OK;
	struct child h;
	uint32_t id;
	bool closed, reported = true;
	int fd, extra = 0;

	cfg.greystutter = 0;
	cfg.maxrcpt = 3;
	child_start(&h, cfg, 0);
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(rcpts + strlen(rcpts), sizeof(rcpts) - strlen(rcpts),
			 "RCPT TO:<u%d@example.org>\r\n", i);
		strcat(want, i < 3 ? RCPT_OK : TOO_MANY);
	}
	say(fd, "HELO c.example\r\nMAIL FROM:<a@b.example>\r\n");
	say(fd, rcpts);
	say(fd, "RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<again@example.org>\r\nDATA\r\n");
	strcat(want, "250 2.0.0 Starting over.\r\n" MAIL_OK TOO_MANY
		     "503 5.5.1 Need RCPT before DATA.\r\n");
	hear(fd, buf, sizeof(buf), "DATA.\r\n", 3000, &closed);
	CHECK_STR(buf, want, "maxrcpt 3: three RCPTs noted, the rest of the session's get 452");
	for (int i = 0; i < 3; i++) {
		char to[32];

		snprintf(to, sizeof(to), "<u%d@example.org>", i);
		reported &= next_msg(&h, 2000) && is_rcpt(&h, "127.0.0.1", "c.example", "<a@b.example>", to);
	}
	CHECK(reported, "maxrcpt 3: the three accepted RCPTs reach the parent");
	while (next_msg(&h, 500))
		extra++;
	CHECK_INT(extra, 0, "maxrcpt 3: no RCPT beyond them is reported");
	close(fd);

	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	say(fd, "HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<new@example.org>\r\n"
		"DATA\r\n");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, BANNER HELO_OK MAIL_OK RCPT_OK GREY451,
		  "maxrcpt: a new connection gets its own three");
	CHECK(next_msg(&h, 2000) &&
		      is_rcpt(&h, "127.0.0.1", "c.example", "<a@b.example>", "<new@example.org>"),
	      "maxrcpt: and its RCPT is reported");
	close(fd);

	/* A client that goes on past 452 is flooding: each counts as a bad command. */
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	rcpts[0] = '\0';
	for (int i = 0; i < 40; i++)
		snprintf(rcpts + strlen(rcpts), sizeof(rcpts) - strlen(rcpts),
			 "RCPT TO:<f%d@example.org>\r\n", i);
	say(fd, "HELO c.example\r\nMAIL FROM:<a@b.example>\r\n");
	say(fd, rcpts);
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	for (const char *p = buf; (p = strstr(p, TOO_MANY)); p++)
		extra++;
	CHECK_INT(extra, 19, "maxrcpt: 19 RCPTs past it get 452");
	CHECK(strstr(buf, "421 4.7.0 " HOSTNAME " Too many bad commands") && closed,
	      "maxrcpt: the 20th gets 421 and the session closes");
	while (next_msg(&h, 500))
		extra -= h.msg.type == PRIVSEP_RCPT;
	CHECK_INT(extra, 16, "maxrcpt: that session reported its first three RCPTs only");
	close(fd);
	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h), 0, "maxrcpt: the tarpit stops cleanly");
	CHECK(strstr(h.log, "u3@example.org") == NULL, "maxrcpt: RCPTs beyond it are not logged");
}

/*
 * maxcon closes the extra connection at once; a freed slot is taken again.
 * With maxcon 3 fewer than 5 slots are ever free: replies go out whole,
 * though grey clients would be stuttered for a minute.
 */
static void test_maxcon(void)
{
	struct tarpit_config cfg = base_config();
	struct child h;
	int fd[3], extra;
	uint32_t id;
	char buf[256];
	bool closed, all = true;

	cfg.maxcon = 3;
	cfg.greystutter = 60;
	child_start(&h, cfg, 0);
	for (int i = 0; i < 3; i++) {
		fd[i] = dial(&h, false, &id, 3000);
		all &= id != 0;
		answer(&h, id, false, 0, NULL, NULL);
		hear(fd[i], buf, sizeof(buf), "\r\n", 500, &closed);
		all &= !strcmp(buf, BANNER);
	}
	CHECK(all, "maxcon 3: three clients served, banners whole (fewer than 5 free slots)");
	extra = dial(&h, false, &id, 500);
	hear(extra, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK(closed && !buf[0] && !id, "maxcon: the fourth is closed at once, unclassified");
	close(extra);
	close(fd[0]);
	/* The tarpit sees the close, then has a slot again. */
	for (int tries = 0; tries < 20; tries++) {
		extra = dial(&h, false, &id, 500);
		if (id)
			break;
		close(extra);
		usleep(100 * 1000);
	}
	CHECK(id != 0, "maxcon: a freed slot is taken by the next client");
	answer(&h, id, false, 0, NULL, NULL);
	hear(extra, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "maxcon: ... and served");

	/* A line the protocol does not know ends the tarpit: the parent is broken. */
	send_line(&h, "CLASS 1 BLUE\n");
	CHECK_INT(child_wait(&h), EPROTO, "a malformed parent line: tarpit_run returns -EPROTO");
	hear(fd[1], buf, sizeof(buf), NULL, 3000, &closed);
	CHECK(closed, "its connections are closed on the way out");
	close(fd[1]);
	close(fd[2]);
	close(extra);
}

/*
 * CONFIG replaces the settings: a new connection gets the new hostname and
 * banner at once, without stutter; maxcon lowered below the connections
 * held makes their replies whole (fewer than 5 free slots, never a count
 * that wraps) and closes the next one; a CONFIG smtp would refuse (a
 * banner with a line break) is ignored and the old settings kept.
 */
static void test_config(void)
{
	struct tarpit_config cfg = base_config(), next = base_config();
	struct privsep_msg m = { .type = PRIVSEP_CONFIG };
	struct child h;
	int held[2], fd = -1, extra;
	uint32_t id;
	char buf[512];
	bool closed, all = true;

	cfg.greystutter = 600;
	child_start(&h, cfg, 0);
	for (int i = 0; i < 2; i++) {
		held[i] = dial(&h, false, &id, 3000);
		answer(&h, id, false, 0, NULL, NULL);
		hear(held[i], buf, sizeof(buf), NULL, 1500, &closed);
		all &= !closed && strlen(buf) < 4; /* stuttered: a byte a second */
	}
	CHECK(all, "CONFIG: two grey clients held, stuttered before the change");
	next.hostname = "new.example.net";
	next.banner = "another banner";
	next.maxcon = 1;
	next.greystutter = 600;
	m.config = next;
	privsep_send(&h.writer, &m);
	CHECK(log_shows(&h, "settings changed: maxcon 1", 3000), "CONFIG: the change is logged");
	say(held[0], "NOOP\r\n");
	hear(held[0], buf, sizeof(buf), "nothing done", 1500, &closed);
	CHECK(strstr(buf, "\r\n250 2.0.0 OK, nothing done") != NULL,
	      "CONFIG: maxcon 1 below the 2 held: their replies go out whole");
	extra = dial(&h, false, &id, 500);
	hear(extra, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK(closed && !buf[0] && !id, "CONFIG: maxcon 1: a new connection is closed at once");
	close(extra);
	close(held[0]);
	close(held[1]);

	next.maxcon = 50;
	next.greystutter = 0;
	m.config = next;
	privsep_send(&h.writer, &m);
	for (int tries = 0; tries < 30 && !id; tries++) {
		fd = dial(&h, false, &id, 300);
		if (!id)
			close(fd);
	}
	answer(&h, id, false, 0, NULL, NULL);
	hear(fd, buf, sizeof(buf), "\r\n", 1500, &closed);
	CHECK_STR(buf,
		  "220 new.example.net ESMTP another banner; Thu, 01 Jan 2026 00:00:00 +0000\r\n",
		  "CONFIG: a new connection gets the new hostname and banner, whole");
	say(fd, "QUIT\r\n");
	hear(fd, buf, sizeof(buf), NULL, 3000, &closed);
	CHECK_STR(buf, "221 2.0.0 new.example.net closing connection.\r\n",
		  "CONFIG: ... and the new hostname in its replies");
	close(fd);

	next.banner = "two\r\nlines";
	m.config = next;
	privsep_send(&h.writer, &m);
	CHECK(log_shows(&h, "new settings refused", 3000), "CONFIG: a banner smtp refuses is refused");
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	hear(fd, buf, sizeof(buf), "\r\n", 1500, &closed);
	CHECK(strstr(buf, "ESMTP another banner;") != NULL, "CONFIG: ... the old one stays");
	close(fd);
	close(h.fd);
	CHECK_INT(child_wait(&h), 0, "CONFIG: the tarpit ends normally");
}

/*
 * A client that pipelines thousands of commands and reads its replies
 * through a small window: the tarpit holds input back in the socket while
 * replies wait, and waits for the socket when it is full. All arrive.
 */
static void test_backpressure(void)
{
	static char in[6 * 5000 + 8], out[1 << 20];
	struct tarpit_config cfg = base_config();
	int fd, small = 4096, count = 0;
	struct child h;
	uint32_t id;
	bool closed;
	size_t len = 0;

	cfg.stutter = 0;
	child_start(&h, cfg, 0);
	fd = dial(&h, false, &id, 3000);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	answer(&h, id, false, 0, NULL, NULL);
	for (int i = 0; i < 5000; i++)
		len += (size_t)sprintf(in + len, "NOOP\r\n");
	len += (size_t)sprintf(in + len, "QUIT\r\n");
	say(fd, in);
	hear(fd, out, sizeof(out), NULL, 10000, &closed);
	for (const char *p = out; (p = strstr(p, "250 2.0.0 OK, nothing done")); p++)
		count++;
	CHECK(count == 5000 && closed && strstr(out, "221 2.0.0 " HOSTNAME " closing"),
	      "5000 pipelined NOOPs through a 4 KiB window: %d replies, then QUIT", count);
	close(fd);
	close(h.fd);
	CHECK_INT(child_wait(&h), 0, "the parent closed its end: the tarpit returns 0");
}

/*
 * A RCPT is never lost on its way to the parent: not for its size (an
 * 8,000-byte HELO of control bytes, escaped to 24 KB a line), nor for a
 * parent that reads late while 400 such RCPTs pile up (9.6 MB, more than
 * the queue holds): the trap RCPT after them arrives, whole.
 */
static void test_rcpt_never_dropped(void)
{
	enum { RCPTS = 400, HELO_LEN = 8000 };
	static char in[HELO_LEN + 64 + (RCPTS + 2) * 40], helo[HELO_LEN + 1], out[1 << 16];
	struct tarpit_config cfg = base_config();
	struct privsep_msg traps = { .type = PRIVSEP_TRAPS, .generation = 1 };
	struct privsep_msg trap = { .type = PRIVSEP_SPAMTRAP, .entry = "trap@example.org" };
	struct privsep_msg end = { .type = PRIVSEP_TRAPS_END };
	int fd, rcpts = 0, whole = 0, trapped = 0;
	struct child h;
	uint32_t id;
	bool closed;
	size_t len = 0;

	cfg.stutter = 0;
	child_start(&h, cfg, 0);
	privsep_send(&h.writer, &traps);
	privsep_send(&h.writer, &trap);
	privsep_send(&h.writer, &end);
	fd = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	memset(helo, 1, HELO_LEN);
	len += (size_t)sprintf(in + len, "HELO %s\r\nMAIL FROM:<a@example.net>\r\n", helo);
	for (int i = 0; i < RCPTS; i++)
		len += (size_t)sprintf(in + len, "RCPT TO:<user@example.org>\r\n");
	len += (size_t)sprintf(in + len, "RCPT TO:<trap@example.org>\r\nQUIT\r\n");
	say(fd, in);
	/* The parent is busy for a second: the tarpit must wait for it, not drop. */
	usleep(1000 * 1000);
	while (next_msg(&h, 5000)) {
		if (h.msg.type != PRIVSEP_RCPT)
			continue;
		rcpts++;
		whole += !strcmp(h.msg.rcpt.helo, helo) && !strcmp(h.msg.rcpt.from, "<a@example.net>");
		if (!strcmp(h.msg.rcpt.to, "<trap@example.org>")) {
			trapped = 1;
			break;
		}
	}
	CHECK_INT(rcpts, RCPTS + 1, "every RCPT with an 8,000-byte control-byte HELO reached the parent");
	CHECK_INT(whole, RCPTS + 1, "each with its HELO and MAIL FROM whole");
	CHECK(trapped, "the trap RCPT after %d others arrived", RCPTS);
	hear(fd, out, sizeof(out), "221 ", 5000, &closed);
	CHECK(strstr(out, "221 2.0.0 " HOSTNAME " closing") != NULL, "and the dialogue went on to QUIT");
	close(fd);
	close(h.fd);
	CHECK_INT(child_wait(&h), 0, "the tarpit returns 0");
	if (!trapped)
		printf("# tarpit log: %s\n", h.log + (strlen(h.log) > 1500 ? strlen(h.log) - 1500 : 0));
}

/*
 * A tarpit (stutter 0) with two classified clients past MAIL FROM: one
 * over IPv4 that will flood, the other over IPv6, another source.
 */
static void flood_and_other(struct child *h, int *flood, int *other)
{
	struct tarpit_config cfg = base_config();
	char buf[1024];
	bool closed;
	uint32_t id;

	cfg.stutter = 0;
	child_start(h, cfg, 0);
	*flood = dial(h, false, &id, 3000);
	answer(h, id, false, 0, NULL, NULL);
	*other = dial(h, true, &id, 3000);
	answer(h, id, false, 0, NULL, NULL);
	say(*flood, "HELO flood.example\r\nMAIL FROM:<a@flood.example>\r\n");
	say(*other, "HELO other.example\r\nMAIL FROM:<b@other.example>\r\n");
	hear(*flood, buf, sizeof(buf), MAIL_OK, 3000, &closed);
	hear(*other, buf, sizeof(buf), MAIL_OK, 3000, &closed);
}

/*
 * Fair rounds: a client with 2,000 pipelined RCPTs in its socket and
 * another with one RCPT, both ready when the tarpit wakes (it is stopped
 * while they write), the flood's first: the other's RCPT is served after
 * one slice of the flood, not after all of it (or as much as the flood's
 * socket takes replies for).
 */
static void test_fair_turns(void)
{
	enum { FLOOD = 2000 };
	static char in[FLOOD * 40], buf[4096];
	int flood, other, before = 0, rcpts = 0, status;
	bool found = false;
	struct child h;
	size_t len = 0;

	flood_and_other(&h, &flood, &other);
	for (int i = 0; i < FLOOD; i++)
		len += (size_t)sprintf(in + len, "RCPT TO:<u%d@example.org>\r\n", i);
	/* Stopped for sure before either writes: both are ready when it wakes, the flood first. */
	kill(h.pid, SIGSTOP);
	waitpid(h.pid, &status, WUNTRACED);
	say(flood, in);
	say(other, "RCPT TO:<b@example.org>\r\n");
	kill(h.pid, SIGCONT);
	while (!found && next_msg(&h, 5000)) {
		if (h.msg.type != PRIVSEP_RCPT)
			continue;
		found = !strcmp(h.msg.rcpt.to, "<b@example.org>");
		before += !found;
	}
	CHECK(found && before <= 512 / 20,
	      "fair rounds: the other client's RCPT after %d of the flood's (one 512-byte slice "
	      "holds at most %d)", before, 512 / 20);
	/* The flood is still served, whole, in later rounds. */
	for (rcpts = before; rcpts < FLOOD; ) {
		if (!next_msg(&h, 5000))
			break;
		rcpts += h.msg.type == PRIVSEP_RCPT;
		/* Its replies must be read for it to go on. */
		while (recv(flood, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	CHECK_INT(rcpts, FLOOD, "fair rounds: and every one of the flood's RCPTs is served");
	close(flood);
	close(other);
	close(h.fd);
	CHECK_INT(child_wait(&h), 0, "fair rounds: the tarpit returns 0");
}

/*
 * The class channel: while the parent reads nothing of the bulk channel
 * (a flood's RCPTs pile up in it), a new client's CLASSIFY still comes on
 * the class channel at once, and the CLASS sent back there starts its
 * dialogue.
 */
static void test_class_channel(void)
{
	enum { FLOOD = 2000 };
	static char in[FLOOD * 40], buf[4096];
	struct tarpit_config cfg = base_config();
	struct privsep_reader cr;
	struct privsep_writer cw;
	struct privsep_msg m;
	struct pollfd p;
	int flood, other;
	bool closed;
	struct child h;
	uint32_t id;
	size_t len = 0;

	cfg.stutter = 0;
	cfg.class_fd = -1;
	child_start(&h, cfg, 0);
	privsep_reader_init(&cr, h.class_fd);
	privsep_writer_init(&cw, h.class_fd);
	p = (struct pollfd){ .fd = h.class_fd, .events = POLLIN };
	flood = dial(&h, false, &id, 0);
	CHECK(poll(&p, 1, 3000) == 1 && privsep_receive(&cr, &m) == 1 &&
		      m.type == PRIVSEP_CLASSIFY,
	      "class channel: the CLASSIFY comes on it");
	m = (struct privsep_msg){ .type = PRIVSEP_CLASS, .class = { m.classify.conn_id, false, 0,
								    "", "" } };
	privsep_send(&cw, &m);
	for (int i = 0; i < FLOOD; i++)
		len += (size_t)sprintf(in + len, "RCPT TO:<u%d@example.org>\r\n", i);
	say(flood, "HELO flood.example\r\nMAIL FROM:<a@flood.example>\r\n");
	say(flood, in);
	/* The flood's RCPTs are reported on the bulk channel, which nobody reads now. */
	hear(flood, buf, sizeof(buf), RCPT_OK RCPT_OK RCPT_OK, 3000, &closed);
	other = dial(&h, true, &id, 0);
	CHECK_INT(id, 0, "class channel: no CLASSIFY on the bulk channel");
	CHECK(poll(&p, 1, 3000) == 1 && privsep_receive(&cr, &m) == 1 &&
		      m.type == PRIVSEP_CLASSIFY,
	      "class channel: a new client's CLASSIFY comes at once, the flood's RCPTs unread");
	m = (struct privsep_msg){ .type = PRIVSEP_CLASS, .class = { m.classify.conn_id, false, 0,
								    "", "" } };
	privsep_send(&cw, &m);
	hear(other, buf, sizeof(buf), "\r\n", 3000, &closed);
	CHECK_STR(buf, BANNER, "class channel: its CLASS starts the dialogue");
	close(flood);
	close(other);
	/* Read what piled up, or closing would reset the child's channel. */
	while (next_msg(&h, 500))
		;
	close(h.fd);
	close(h.class_fd);
	privsep_reader_free(&cr);
	privsep_writer_free(&cw);
	CHECK_INT(child_wait(&h), 0, "class channel: the tarpit returns 0");
}

/*
 * One source's input rate: a client that pipelines 1.3 MB of RCPTs and
 * reads every reply gets at most SOURCE_RATE (64 KiB) a second served, so
 * in two seconds (three seconds' budgets at most, counting the two
 * boundaries) about 6,600 of its 44,000 RCPTs, where without the bound the
 * tarpit serves them all; and another source is served meanwhile.
 */
static void test_source_rate(void)
{
	enum { RCPTS = 44000, BUDGETS = 3 };
	static char in[RCPTS * 32], buf[1 << 16];
	size_t len = 0, sent = 0, bytes = 0;
	int flood, other, rcpts = 0, most;
	uint64_t until;
	struct child h;
	bool closed;

	flood_and_other(&h, &flood, &other);
	for (int i = 0; i < RCPTS; i++)
		len += (size_t)sprintf(in + len, "RCPT TO:<u%05d@example.org>\r\n", i);
	fcntl(flood, F_SETFL, O_NONBLOCK);
	until = real_ms() + 2000;
	while (real_ms() < until) {
		struct pollfd p[2] = { { .fd = flood, .events = POLLIN | (sent < len ? POLLOUT : 0) },
				       { .fd = h.fd, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, 50) < 0)
			break;
		if (p[0].revents & POLLOUT) {
			n = write(flood, in + sent, len - sent);
			sent += n > 0 ? (size_t)n : 0;
		}
		while (recv(flood, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		while (next_msg(&h, 0)) {
			rcpts += h.msg.type == PRIVSEP_RCPT;
			bytes += h.msg.type == PRIVSEP_RCPT ? strlen("RCPT TO:<u00000@example.org>\r\n") : 0;
		}
	}
	most = BUDGETS * (64 * 1024) / (int)strlen("RCPT TO:<u00000@example.org>\r\n") + 1;
	CHECK(rcpts > 0 && rcpts <= most,
	      "source rate: %d of %d pipelined RCPTs served in 2 s (%zu bytes; at most %d)", rcpts,
	      RCPTS, bytes, most);
	say(other, "RCPT TO:<b@example.org>\r\n");
	hear(other, buf, sizeof(buf), RCPT_OK, 3000, &closed);
	CHECK(strstr(buf, RCPT_OK) != NULL, "source rate: another source is served meanwhile");
	close(flood);
	close(other);
	while (next_msg(&h, 500))
		;
	close(h.fd);
	CHECK_INT(child_wait(&h), 0, "source rate: the tarpit returns 0");
}

/* Out of descriptors: accepting pauses, and resumes once one is free. */
static void test_emfile(void)
{
	struct child h;
	int fd[2], third;
	uint32_t id[2], third_id = 0;
	char buf[256];
	bool closed;

	child_start(&h, base_config(), 2);
	fd[0] = dial(&h, false, &id[0], 3000);
	fd[1] = dial(&h, false, &id[1], 3000);
	CHECK(id[0] && id[1], "EMFILE: two clients fit the descriptor limit");
	third = dial(&h, false, &third_id, 500);
	CHECK(!third_id, "EMFILE: the third waits in the backlog");
	answer(&h, id[0], false, 0, NULL, NULL);
	hear(fd[0], buf, sizeof(buf), "\r\n", 3000, &closed);
	close(fd[0]);
	/* Once the tarpit closed the first, the pause ends within a second or two. */
	CHECK(next_msg(&h, 4000) && h.msg.type == PRIVSEP_CLASSIFY,
	      "EMFILE: accepting resumes after the pause");
	kill(h.pid, SIGTERM);
	child_wait(&h);
	CHECK(strstr(h.log, "accept: Too many open files, pausing") != NULL,
	      "EMFILE: the pause is logged");
	close(fd[1]);
	close(third);
}

static long rss_anon_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * Open n more black, stuttered clients (alternating IPv4 and IPv6) and
 * answer their CLASSIFY as they come, so none waits out its 10 s.
 */
static bool hold_clients(struct child *h, int *fds, int from, int n)
{
	int answered = from;

	for (int i = from; i < from + n; i++) {
		fds[i] = dial(h, i % 2, &(uint32_t){ 0 }, 0);
		if (fds[i] < 0)
			return false;
		while (answered <= i && next_msg(h, i - answered > 200 ? 3000 : 0)) {
			answer(h, h->msg.classify.conn_id, true, 0, "Your address %A is listed",
			       "memtest");
			answered++;
		}
	}
	while (answered < from + n && next_msg(h, 3000)) {
		answer(h, h->msg.classify.conn_id, true, 0, "Your address %A is listed", "memtest");
		answered++;
	}
	while (privsep_flush(&h->writer) == -EAGAIN)
		usleep(1000);
	return answered == from + n;
}

/*
 * The tarpit's memory target (BENCHMARKS.md): a held stuttering connection costs the tarpit
 * its 88-byte slot, no more than a client costs endlessh (a 96-byte heap
 * chunk, ~107 bytes of RSS measured).
 */
static void test_memory(void)
{
	const char *env = getenv("GW_TARPIT_CONNS");
	int n = env ? atoi(env) : 2000, warm = 200, *fds;
	struct tarpit_config cfg = base_config();
	struct rlimit rl;
	struct child h;
	long before, after;
	double per_conn;
	char line[64];
	bool held;

	/* This process holds the clients' ends, the tarpit the servers'. */
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < (rlim_t)(n + warm + 100)) {
		struct rlimit more = { (rlim_t)(n + warm + 100), (rlim_t)(n + warm + 100) };

		if (setrlimit(RLIMIT_NOFILE, &more)) {
			n = (int)rl.rlim_max - warm - 100;
			printf("# memory: the descriptor limit allows %d clients\n", n);
		}
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc((size_t)(n + warm), sizeof(*fds));
	cfg.maxcon = cfg.maxblack = (uint32_t)(n + warm + 10);
	child_start(&h, cfg, 0);
	/* Measured once the tarpit has logged the last client classified. */
	held = hold_clients(&h, fds, 0, warm);
	snprintf(line, sizeof(line), "connected (%d/%d)", warm, warm);
	held &= log_shows(&h, line, 5000);
	before = rss_anon_kb(h.pid);
	held &= hold_clients(&h, fds, warm, n);
	snprintf(line, sizeof(line), "connected (%d/%d)", n + warm, n + warm);
	held &= log_shows(&h, line, 10000);
	after = rss_anon_kb(h.pid);
	per_conn = (double)(after - before) * 1024 / n;
	printf("# memory: %d held black clients, RssAnon %ld kB -> %ld kB: %.0f bytes each\n", n,
	       before, after, per_conn);
	CHECK(held, "memory: %d clients held and classified", n + warm);
	CHECK(before > 0 && per_conn <= 96,
	      "memory: a held, stuttered connection costs at most 96 bytes (%.0f)", per_conn);
	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h), 0, "memory: the tarpit stops cleanly with every client held");
	for (int i = 0; i < n + warm; i++)
		close(fds[i]);
	free(fds);
}

/*
 * CONNS: once a second, when they changed, the tarpit tells the parent
 * the connections it holds and how many are black.
 */
static void test_conns(void)
{
	struct child h;
	uint32_t id;
	int grey, black;

	child_start(&h, base_config(), 0);
	grey = dial(&h, false, &id, 3000);
	answer(&h, id, false, 0, NULL, NULL);
	black = dial(&h, true, &id, 3000);
	answer(&h, id, true, 0, NULL, NULL);
	CHECK(conns_become(&h, 2, 1, 3000), "CONNS: two held, one black (%u, %u)", h.conns.held,
	      h.conns.black);
	close(black);
	CHECK(conns_become(&h, 1, 0, 3000), "CONNS: the black one gone (%u, %u)", h.conns.held,
	      h.conns.black);
	close(grey);
	CHECK(conns_become(&h, 0, 0, 3000), "CONNS: none left (%u, %u)", h.conns.held,
	      h.conns.black);
	kill(h.pid, SIGTERM);
	CHECK_INT(child_wait(&h), 0, "SIGTERM: the tarpit returns 0");
}

int main(void)
{
	clock_offset_ms = mmap(NULL, sizeof(*clock_offset_ms), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	setenv("TZ", "UTC", 1);
	signal(SIGPIPE, SIG_IGN);
	test_dialogues();
	test_early_banner();
	test_conns();
	test_maxrcpt();
	test_maxcon();
	test_config();
	test_backpressure();
	test_rcpt_never_dropped();
	test_fair_turns();
	test_class_channel();
	test_source_rate();
	test_emfile();
	test_memory();
	return check_done();
}
