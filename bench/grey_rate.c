// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Greylist decisions per second, two ways, on the same tuples:
 * tuple i is (127.1.0.0 + i, "mail.example.net", "<sender@example.net>",
 * "<rcpt-i@example.org>"), new every time, so every decision is "greylist".
 *
 *   smtp      full SMTP dialogues against a running greywalld tarpit (stutter
 *             0): connect from 127.1.0.0 + i, banner, HELO, MAIL, RCPT, DATA,
 *             451, close; -c dialogues at a time. The tarpit child reports
 *             each RCPT to greywalld, whose grey_update() records it; a
 *             decision counts once greywalld has logged the tuple's "new
 *             entry" line (-l, its log), so what is timed is the decision,
 *             not just the 250 to RCPT the child gives at once. With -S
 *             A.B.C.0 the source of tuple i is A.B.C.(1 + i % 254)
 *             instead (bench/sync.sh: a peer ignores loopback sources;
 *             the caller makes the /24 local, e.g. a local route on lo).
 *   store     grey_update() alone on a fresh store: one transaction per
 *             tuple, as greywalld writes them; then (for reference) the same
 *             number of other tuples in transactions of BATCH tuples.
 *
 * Output: a summary line, then "RESULT greylist=..." lines for bench/run.sh.
 * (bench/policy_rate.c is the policy protocol's client, for postgrey and
 * greywall's policy service.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/addr.h"
#include "bench.h"
#include "spamd/grey.h"
#include "store/store.h"

#define SLOTS_MAX 1024
#define REPLY_MAX 1024
#define BATCH 1000
/* Give up when nothing moved for this long. */
#define STALL_SECONDS 30

#define HELO "mail.example.net"
#define SENDER "sender@example.net"
#define DECISION_MARK "new entry "

static unsigned int opt_tuples = 20000;
static unsigned int opt_conc = 32;
static uint16_t opt_port;
static const char *opt_log;
static const char *opt_name;	/* the RESULT line's name; default greywall */
static uint32_t opt_src24;	/* -S: the /24 of the sources (host order), 0: 127.1.0.0 + i */

/* The recipient of tuple i. */
static void tuple_rcpt(uint32_t i, char *buf, size_t len)
{
	snprintf(buf, len, "rcpt-%u@example.org", i);
}

/* ---- the store alone ------------------------------------------------------ */

static int update_range(struct grey *g, const struct grey_params *p, uint32_t from, uint32_t n,
			uint32_t batch, struct store *st)
{
	int64_t now = (int64_t)time(NULL);
	char to[64];
	int ret = 0;

	for (uint32_t i = from; !ret && i < from + n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = bench_source(i, false, &ss);
		struct addr_prefix ip;

		if (batch && (i - from) % batch == 0)
			ret = store_begin(st);
		if (!ret)
			ret = addr_from_sockaddr((struct sockaddr *)&ss, len, &ip);
		tuple_rcpt(i, to, sizeof(to));
		if (!ret)
			ret = grey_update(g, now, p, &ip, HELO, SENDER, to);
		if (ret == GREY_NEW)
			ret = 0;
		else if (ret >= 0)
			ret = -EEXIST; /* the tuples are new: anything else is wrong */
		if (!ret && batch && ((i - from) % batch == batch - 1 || i == from + n - 1))
			ret = store_commit(st);
	}
	return ret;
}

static int run_store(void)
{
	char dir[] = "/tmp/gw-grey-rate-XXXXXX", path[256];
	const char *suffixes[] = { "", "-wal", "-shm" };
	struct grey_params params;
	struct store *st = NULL;
	struct grey *g = NULL;
	double t0, t1, t2;
	int ret;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/greywall.db", dir);
	grey_params_default(&params);
	ret = store_open(path, &st);
	if (!ret)
		ret = grey_open(st, &g);
	t0 = bench_now();
	if (!ret)
		ret = update_range(g, &params, 0, opt_tuples, 0, st);
	t1 = bench_now();
	if (!ret)
		ret = update_range(g, &params, opt_tuples, opt_tuples, BATCH, st);
	t2 = bench_now();
	grey_close(g);
	store_close(st);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char file[300];

		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
	rmdir(dir);
	if (ret) {
		fprintf(stderr, "grey_rate: grey_update: %s\n", strerror(-ret));
		return ret;
	}
	printf("grey_update alone: %u new tuples, one transaction each, in %.2f s: %.0f/s; "
	       "in transactions of %u: %.2f s, %.0f/s\n",
	       opt_tuples, t1 - t0, opt_tuples / (t1 - t0), BATCH, t2 - t1,
	       opt_tuples / (t2 - t1));
	printf("RESULT greylist=grey_update tuples=%u decisions=%u seconds=%.3f rate=%.0f\n",
	       opt_tuples, opt_tuples, t1 - t0, opt_tuples / (t1 - t0));
	printf("RESULT greylist=grey_update_batched tuples=%u decisions=%u seconds=%.3f rate=%.0f\n",
	       opt_tuples, opt_tuples, t2 - t1, opt_tuples / (t2 - t1));
	return 0;
}

/* ---- greywalld's log: decisions taken --------------------------------------- */

struct log_watch {
	int fd;
	uint32_t count;		/* DECISION_MARKs seen */
	size_t carry;		/* bytes kept from the last read: a mark may be cut */
	char buf[65536];
};

static int log_open(struct log_watch *w, const char *path)
{
	w->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	w->count = 0;
	w->carry = 0;
	/* Only what is logged from now on counts. */
	return lseek(w->fd, 0, SEEK_END) < 0 ? -errno : 0;
}

/* Count the marks appended since the last call. */
static void log_poll(struct log_watch *w)
{
	const size_t mlen = strlen(DECISION_MARK);
	ssize_t n;

	while ((n = read(w->fd, w->buf + w->carry, sizeof(w->buf) - w->carry - 1)) > 0) {
		size_t len = w->carry + (size_t)n;
		char *p = w->buf;

		w->buf[len] = '\0';
		while ((p = memmem(p, len - (size_t)(p - w->buf), DECISION_MARK, mlen))) {
			w->count++;
			p += mlen;
		}
		w->carry = len < mlen - 1 ? len : mlen - 1;
		memmove(w->buf, w->buf + len - w->carry, w->carry);
	}
}

/* ---- dialogues -------------------------------------------------------- */

/* One dialogue, and the reply being read. */
struct slot {
	int fd;
	uint32_t tuple;		/* the tuple in flight */
	uint8_t step;		/* smtp: the reply awaited (index into smtp_steps) */
	size_t len;
	char reply[REPLY_MAX];
};

/* The SMTP dialogue: a command (NULL: connect), then the reply code expected. */
static const struct {
	const char *command;
	const char *code;
} smtp_steps[] = {
	{ NULL, "220" },
	{ "HELO " HELO "\r\n", "250" },
	{ "MAIL FROM:<" SENDER ">\r\n", "250" },
	{ "RCPT TO:<%s>\r\n", "250" },
	{ "DATA\r\n", "451" },
};

struct run {
	int epfd;
	uint32_t next;		/* the next tuple to start */
	uint32_t done, errors;
	struct slot slots[SLOTS_MAX];
};

static int send_text(int fd, const char *text)
{
	size_t len = strlen(text);

	/* The socket's buffer is empty when we send: the peer answered everything. */
	return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

/* Open slot s's next connection: the next tuple's dialogue. */
static int slot_connect(struct run *r, struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };

	s->tuple = r->next++;
	s->step = 0;
	s->len = 0;
	if (opt_src24)
		s->fd = bench_connect(opt_src24 + 1 + s->tuple % 254 - BENCH_SRC_BASE, false, opt_port);
	else
		s->fd = bench_connect(s->tuple, false, opt_port);
	if (s->fd < 0)
		return s->fd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
		close(s->fd);
		s->fd = -1;
		return -errno;
	}
	return 0;
}

static void slot_close(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Read what came; 1 when a whole reply is in s->reply (NUL-terminated), 0
 * when more must come, -errno when the connection ended or failed.
 */
static int slot_read(struct slot *s)
{
	ssize_t n = read(s->fd, s->reply + s->len, sizeof(s->reply) - 1 - s->len);
	char *last;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	s->len += (size_t)n;
	s->reply[s->len] = '\0';
	if (s->len == sizeof(s->reply) - 1)
		return -EMSGSIZE;
	/* An SMTP reply ends with a line "NNN text\r\n" (a space, not '-'). */
	if (s->len < 2 || memcmp(s->reply + s->len - 2, "\r\n", 2))
		return 0;
	s->reply[s->len - 2] = '\0';
	last = strrchr(s->reply, '\n');
	last = last ? last + 1 : s->reply;
	s->reply[s->len - 2] = '\r';
	return strlen(last) >= 4 && last[3] == ' ' ? 1 : 0;
}

/* A whole SMTP reply came: check it, send the next command or finish. */
static int smtp_reply(struct run *r, struct slot *s)
{
	char line[256], to[64];

	if (strncmp(s->reply, smtp_steps[s->step].code, 3)) {
		fprintf(stderr, "grey_rate: tuple %u: expected %s, got: %.60s\n", s->tuple,
			smtp_steps[s->step].code, s->reply);
		r->errors++;
		slot_close(s);
		return 0;
	}
	s->len = 0;
	if (++s->step == sizeof(smtp_steps) / sizeof(*smtp_steps)) {
		r->done++;
		slot_close(s);
		return 0;
	}
	tuple_rcpt(s->tuple, to, sizeof(to));
	snprintf(line, sizeof(line), smtp_steps[s->step].command, to);
	return send_text(s->fd, line);
}

/*
 * Every tuple through the server, opt_conc at a time. With a log to watch,
 * *decided is when the last decision was logged; else when the last
 * answer came.
 */
static int run_clients(struct run *r, struct log_watch *w, double *answered,
		       double *decided)
{
	double last_move = bench_now();
	uint32_t moved = 0;
	unsigned int active = 0;
	int ret = 0;

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return -errno;
	for (unsigned int i = 0; i < opt_conc && r->next < opt_tuples && !ret; i++) {
		ret = slot_connect(r, &r->slots[i]);
		active += !ret;
	}
	while (!ret && active) {
		struct epoll_event ev[64];
		int n = epoll_wait(r->epfd, ev, 64, 100);

		for (int i = 0; i < n && !ret; i++) {
			struct slot *s = ev[i].data.ptr;
			int got = slot_read(s);

			if (got < 0) {
				fprintf(stderr, "grey_rate: tuple %u: %s after step %u\n", s->tuple,
					strerror(-got), s->step);
				r->errors++;
				slot_close(s);
			} else if (got > 0) {
				ret = smtp_reply(r, s);
			}
			if (!ret && s->fd < 0) {
				active--;
				/* The slot's next dialogue. */
				if (r->next < opt_tuples) {
					ret = slot_connect(r, s);
					active += !ret;
				}
			}
		}
		if (r->done + r->errors != moved) {
			moved = r->done + r->errors;
			last_move = bench_now();
		} else if (bench_now() - last_move > STALL_SECONDS) {
			fprintf(stderr, "grey_rate: no answer for %d s\n", STALL_SECONDS);
			ret = -ETIMEDOUT;
		}
		if (w)
			log_poll(w);
	}
	*answered = *decided = bench_now();
	while (!ret && w && w->count < r->done) {
		uint32_t seen = w->count;

		usleep(5000);
		log_poll(w);
		if (w->count != seen)
			last_move = *decided = bench_now();
		else if (bench_now() - last_move > STALL_SECONDS)
			break;
	}
	close(r->epfd);
	return ret;
}

static int run_dialogues(void)
{
	struct run *r = calloc(1, sizeof(*r));
	struct log_watch *w = NULL;
	double t0, answered, decided;
	uint32_t decisions;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	if (opt_log) {
		w = malloc(sizeof(*w));
		ret = w ? log_open(w, opt_log) : -ENOMEM;
	}
	t0 = bench_now();
	if (!ret)
		ret = run_clients(r, w, &answered, &decided);
	decisions = w ? w->count : r->done;
	if (ret) {
		fprintf(stderr, "grey_rate: %s\n", strerror(-ret));
	} else if (w) {
		printf("smtp: %u dialogues (banner, HELO, MAIL, RCPT, DATA: 451), %u at a time, "
		       "in %.2f s: %.0f/s; greylist decisions logged by greywalld: %u in %.2f s: "
		       "%.0f/s; %u errors\n",
		       r->done, opt_conc, answered - t0, r->done / (answered - t0), decisions,
		       decided - t0, decisions / (decided - t0), r->errors);
	} else {
		printf("smtp: %u dialogues (banner, HELO, MAIL, RCPT, DATA: 451), %u at a time, "
		       "in %.2f s: %.0f/s; %u errors\n",
		       r->done, opt_conc, answered - t0, r->done / (answered - t0), r->errors);
	}
	if (!ret)
		printf("RESULT greylist=%s tuples=%u decisions=%u seconds=%.3f rate=%.0f errors=%u\n",
		       opt_name ? opt_name : "greywall", opt_tuples, decisions,
		       decided - t0,
		       decisions / (decided - t0), r->errors);
	if (!ret && (decisions != opt_tuples || r->errors))
		ret = -EIO;
	if (w) {
		close(w->fd);
		free(w);
	}
	free(r);
	return ret;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n tuples] [-c concurrency] [-p port] [-l log] [-N name] "
		"smtp|store\n"
		"  -n tuples       distinct tuples, one decision each (default 20000)\n"
		"  -c concurrency  dialogues at a time (default 32; "
		"at most %d)\n"
		"  -p port         the tarpit's port on 127.0.0.1\n"
		"  -l log          smtp: greywalld's log, where each decision shows\n"
		"  -N name         the name in the RESULT line (e.g. floor: bench/smtp_floor)\n"
		"  -S A.B.C.0      smtp: tuple i from A.B.C.(1 + i %% 254), not 127.1.0.0 + i\n",
		prog, SLOTS_MAX);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:c:p:l:N:S:")) != -1) {
		switch (opt) {
		case 'n':
			opt_tuples = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opt_conc = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			opt_port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'l':
			opt_log = optarg;
			break;
		case 'N':
			opt_name = optarg;
			break;
		case 'S': {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1 || (ntohl(a.s_addr) & 0xff))
				usage(argv[0]);
			opt_src24 = ntohl(a.s_addr);
			break;
		}
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc - 1 || !opt_tuples || opt_tuples > 0xffffff || !opt_conc ||
	    opt_conc > SLOTS_MAX)
		usage(argv[0]);
	mode = argv[optind];
	bench_fd_limit();
	if (!strcmp(mode, "store"))
		ret = run_store();
	else if (!strcmp(mode, "smtp") && opt_port)
		ret = run_dialogues();
	else
		usage(argv[0]);
	return ret ? 1 : 0;
}
