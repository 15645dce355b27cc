// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Does a client flooding the tarpit with RCPTs slow another client's
 * greylist decision? Against a running greywalld tarpit
 * (stutter 0, greystutter 0) on 127.0.0.1:PORT:
 *
 *   alone  -n dialogues one after another, each from its own address
 *          (127.1.0.0 + i) with a new tuple: connect, banner, HELO, MAIL,
 *          RCPT, DATA, 451; each one's time from connect to the 451.
 *   flood  the same, while -f connections from 127.2.0.1 pipeline RCPTs to
 *          new recipients as fast as the tarpit takes them; a connection
 *          the tarpit answers 452 (maxrcpt) starts over, so that each new
 *          one makes the parent classify it and record its RCPTs again.
 *
 * The decision's latency is the client's: the tarpit asks greywalld
 * (CLASSIFY) before the banner, so a parent stuck storing the flood's
 * RCPTs shows here. Output: medians and 90th percentiles, the flood's
 * rate, and "RESULT rcptflood=..." / "RATIO name=rcpt_flood ..." lines
 * for bench/run.sh (target: flood median / alone median <= 2.0).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bench.h"

#define FLOOD_MAX 64
/* The flood's source, 127.2.0.1, as a bench_source() index. */
#define FLOOD_SOURCE 0x10001u
/* Seconds a dialogue may take before the benchmark gives up on it. */
#define DIALOGUE_TIMEOUT 30
#define TARGET_RATIO 2.0

static unsigned int opt_dialogues = 3000;
static unsigned int opt_flooders = 8;
static uint16_t opt_port = 8025;

/* ---- the normal client -------------------------------------------------- */

/* Read until a whole SMTP reply ("NNN text\r\n" as its last line); 0 or -errno. */
static int read_reply(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *last;

		if (poll(&p, 1, DIALOGUE_TIMEOUT * 1000) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		got += (size_t)n;
		buf[got] = '\0';
		if (got < 2 || memcmp(buf + got - 2, "\r\n", 2))
			continue;
		buf[got - 2] = '\0';
		last = strrchr(buf, '\n');
		last = last ? last + 1 : buf;
		buf[got - 2] = '\r';
		if (strlen(last) >= 4 && last[3] == ' ')
			return 0;
	}
}

/* One greylisted dialogue from client i; its seconds, or < 0 on failure; *banner: to the 220. */
static double dialogue(uint32_t i, const char *tag, double *banner)
{
	static const char *const codes[] = { "220", "250", "250", "250", "451" };
	char buf[2048], cmds[4][128];
	double t0 = bench_now();
	int fd = bench_connect(i, false, opt_port), ret = fd < 0 ? fd : 0;

	snprintf(cmds[0], sizeof(cmds[0]), "HELO client.example.net\r\n");
	snprintf(cmds[1], sizeof(cmds[1]), "MAIL FROM:<sender@example.net>\r\n");
	snprintf(cmds[2], sizeof(cmds[2]), "RCPT TO:<%s-%u@example.org>\r\n", tag, i);
	snprintf(cmds[3], sizeof(cmds[3]), "DATA\r\n");
	for (int step = 0; !ret && step < 5; step++) {
		if (step && write(fd, cmds[step - 1], strlen(cmds[step - 1])) < 0)
			ret = -errno;
		if (!ret)
			ret = read_reply(fd, buf, sizeof(buf));
		if (!step)
			*banner = bench_now() - t0;
		if (!ret && strncmp(buf, codes[step], 3)) {
			fprintf(stderr, "rcpt_flood: client %u: expected %s, got %.60s\n", i,
				codes[step], buf);
			ret = -EPROTO;
		}
	}
	if (fd >= 0)
		close(fd);
	return ret ? ret : bench_now() - t0;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * opt_dialogues dialogues from clients first..; median and 90th percentile
 * in ms, and the median time to the banner (the parent's CLASSIFY answer).
 */
static int measure(uint32_t first, const char *tag, double *median, double *p90,
		   double *banner_median)
{
	double *t = calloc(opt_dialogues, sizeof(*t)), *b = calloc(opt_dialogues, sizeof(*b));
	int err = t && b ? 0 : -ENOMEM;

	for (unsigned int i = 0; !err && i < opt_dialogues; i++) {
		t[i] = dialogue(first + i, tag, &b[i]);
		if (t[i] < 0) {
			err = (int)t[i];
			fprintf(stderr, "rcpt_flood: dialogue %u: %s\n", i, strerror(-err));
		}
	}
	if (!err) {
		qsort(t, opt_dialogues, sizeof(*t), compare_double);
		qsort(b, opt_dialogues, sizeof(*b), compare_double);
		*median = t[opt_dialogues / 2] * 1e3;
		*p90 = t[opt_dialogues * 9 / 10] * 1e3;
		*banner_median = b[opt_dialogues / 2] * 1e3;
	}
	free(t);
	free(b);
	return err;
}

/* ---- the flood ---------------------------------------------------------- */

struct flooder {
	int fd;
	bool spent;		/* a 452 came: start over once this connection is closed */
	uint32_t sent;		/* RCPTs of this connection */
	char tail[8];		/* the last bytes read, for a reply cut in two */
};

static atomic_bool flood_stop;
static atomic_ulong flood_rcpts, flood_452, flood_conns;

static int flooder_open(int epfd, struct flooder *f)
{
	static const char start[] = "HELO flood.example.net\r\nMAIL FROM:<flood@example.net>\r\n";
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = f };

	memset(f, 0, sizeof(*f));
	f->fd = bench_connect(FLOOD_SOURCE, false, opt_port);
	if (f->fd < 0)
		return f->fd;
	atomic_fetch_add(&flood_conns, 1);
	/* Pipelined behind the connect: the tarpit reads them after its banner. */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->fd, &ev))
		return -errno;
	f->sent = 0;
	return write(f->fd, start, sizeof(start) - 1) < 0 && errno != EAGAIN &&
			       errno != ENOTCONN
		       ? -errno
		       : 0;
}

/* As many RCPT lines as the socket takes now. */
static void flooder_write(struct flooder *f, unsigned int id, uint64_t *next)
{
	char buf[8192];
	size_t len = 0;

	while (len + 64 < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"RCPT TO:<f%u-%llu@example.org>\r\n", id,
					(unsigned long long)(*next)++);
	if (write(f->fd, buf, len) > 0)
		f->sent++;
}

/* Count the replies read; a 452 spends the connection. -1 when it closed. */
static int flooder_read(struct flooder *f)
{
	char buf[65536 + 8];
	size_t keep = strlen(f->tail);
	ssize_t n;

	memcpy(buf, f->tail, keep);
	n = read(f->fd, buf + keep, sizeof(buf) - 9);
	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	buf[keep + (size_t)n] = '\0';
	for (char *p = buf; (p = strstr(p, "\n250 2.1.5")); p++)
		atomic_fetch_add(&flood_rcpts, 1);
	for (char *p = buf; (p = strstr(p, "\n452 ")); p++) {
		atomic_fetch_add(&flood_452, 1);
		f->spent = true;
	}
	keep = keep + (size_t)n < 7 ? keep + (size_t)n : 7;
	memcpy(f->tail, buf + (size_t)n + strlen(f->tail) - keep, keep);
	f->tail[keep] = '\0';
	return 0;
}

static void *flood_main(void *arg)
{
	struct flooder *fl = calloc(opt_flooders, sizeof(*fl));
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	uint64_t next = 0;

	(void)arg;
	for (unsigned int i = 0; fl && i < opt_flooders; i++)
		flooder_open(epfd, &fl[i]);
	while (fl && !atomic_load(&flood_stop)) {
		struct epoll_event ev[FLOOD_MAX];
		int n = epoll_wait(epfd, ev, FLOOD_MAX, 100);

		for (int i = 0; i < n; i++) {
			struct flooder *f = ev[i].data.ptr;
			unsigned int id = (unsigned int)(f - fl);

			/* Spent or closed: start over on a new connection. */
			if (((ev[i].events & EPOLLIN) && flooder_read(f)) || f->spent ||
			    (ev[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
				close(f->fd);
				flooder_open(epfd, f);
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				flooder_write(f, id, &next);
		}
	}
	for (unsigned int i = 0; fl && i < opt_flooders; i++)
		if (fl[i].fd >= 0)
			close(fl[i].fd);
	free(fl);
	close(epfd);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: rcpt_flood [-n dialogues] [-f flood connections] [-p port]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	double alone_med, alone_p90, alone_banner, flood_med, flood_p90, flood_banner, t0, secs;
	pthread_t flood;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:f:p:")) != -1) {
		if (opt == 'n')
			opt_dialogues = (unsigned int)atoi(optarg);
		else if (opt == 'f')
			opt_flooders = (unsigned int)atoi(optarg);
		else if (opt == 'p')
			opt_port = (uint16_t)atoi(optarg);
		else
			usage();
	}
	if (opt_dialogues < 10 || opt_dialogues > 60000 || !opt_flooders ||
	    opt_flooders > FLOOD_MAX || optind != argc)
		usage();
	bench_fd_limit();
	ret = measure(0, "alone", &alone_med, &alone_p90, &alone_banner);
	if (ret)
		return 1;
	printf("alone: %u dialogues, connect to 451: median %.2f ms, 90th percentile %.2f ms "
	       "(to the banner: median %.2f ms)\n",
	       opt_dialogues, alone_med, alone_p90, alone_banner);
	if (pthread_create(&flood, NULL, flood_main, NULL))
		return 1;
	/* The flood at full speed before the first measured dialogue. */
	usleep(500 * 1000);
	t0 = bench_now();
	atomic_store(&flood_rcpts, 0);
	atomic_store(&flood_452, 0);
	atomic_store(&flood_conns, 0);
	ret = measure(opt_dialogues, "flood", &flood_med, &flood_p90, &flood_banner);
	secs = bench_now() - t0;
	atomic_store(&flood_stop, true);
	pthread_join(flood, NULL);
	if (ret)
		return 1;
	printf("flood: %u connections from 127.2.0.1: %.0f RCPTs noted/s (250), %.0f refused/s "
	       "(452), %.0f new connections/s\n",
	       opt_flooders, atomic_load(&flood_rcpts) / secs, atomic_load(&flood_452) / secs,
	       atomic_load(&flood_conns) / secs);
	printf("with the flood: %u dialogues, connect to 451: median %.2f ms, 90th percentile "
	       "%.2f ms (to the banner: median %.2f ms)\n",
	       opt_dialogues, flood_med, flood_p90, flood_banner);
	printf("flood / alone: median %.2fx, 90th percentile %.2fx (target: median <= %.1fx)\n",
	       flood_med / alone_med, flood_p90 / alone_p90, TARGET_RATIO);
	printf("RESULT rcptflood=alone median_ms=%.3f p90_ms=%.3f\n", alone_med, alone_p90);
	printf("RESULT rcptflood=flood median_ms=%.3f p90_ms=%.3f rcpts_per_s=%.0f\n", flood_med,
	       flood_p90, atomic_load(&flood_rcpts) / secs);
	printf("RATIO name=rcpt_flood value=%.2f target=%.1f %s\n", flood_med / alone_med,
	       TARGET_RATIO, flood_med / alone_med <= TARGET_RATIO ? "PASS" : "MISS");
	return 0;
}
