// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The attacker of bench/connlimit.sh: a burst of TCP connection
 * attempts from one source address, paced on an absolute schedule (attempt
 * i starts at i / RATE seconds), each a nonblocking connect the kernel
 * completes or retries on its own.
 *
 *   hold   (default) every connection that completes is kept open to the
 *          end of the window: what max-src-conn / ct count / connlimit limit
 *   -c     churn: every connection is closed as soon as it completes, so
 *          only the rate limit (max-src-conn-rate, limit rate, hashlimit)
 *          can stop the source
 *
 * The window is the burst plus -l seconds of linger, in which unanswered
 * SYNs are still retransmitted by the kernel. Each -w FILE (a counter: the
 * first number in the file, e.g. /proc/PID/task/TID/schedstat or a
 * statistics file in sysfs) is read at the start and at the end of the
 * window; so what the sockets' final close sends after the window is in
 * no sample. The window's bounds are printed in CLOCK_REALTIME so that the
 * script can cut the server's time-stamped log at them.
 *
 * Output: "RESULT burst=hold|churn attempts=N completed=C failed=F
 * pending=P start=T0 end=T1" and one "SAMPLE FILE DELTA" per -w.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/addr.h"
#include "bench.h"

#define SAMPLES_MAX 64

static unsigned int opt_count = 5000;
static unsigned int opt_rate = 1000;
static double opt_linger = 3.0;
static bool opt_churn;
static const char *samples[SAMPLES_MAX];
static unsigned long long before[SAMPLES_MAX];
static unsigned int nsamples;

/* A host address and port as a sockaddr; the family, or -EINVAL. */
static int sockaddr_of(const char *text, uint16_t port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct addr_prefix p;

	if (addr_parse(text, &p) || !addr_is_host(&p))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (p.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, p.bytes, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, p.bytes, 16);
		*len = sizeof(*sin6);
	}
	return p.family;
}

/* The first number in a file; 0 when it cannot be read (a thread gone). */
static unsigned long long counter(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static double realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One attempt from src to dst, registered with ep: 0 or -errno. */
static int attempt(int ep, const struct sockaddr_storage *src, socklen_t slen,
		   const struct sockaddr_storage *dst, socklen_t dlen)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int one = 1, fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* The port is picked at connect time: 5,000 attempts need no more than one each. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	ev.data.fd = fd;
	if (bind(fd, (const struct sockaddr *)src, slen) ||
	    (connect(fd, (const struct sockaddr *)dst, dlen) && errno != EINPROGRESS) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: conn_burst [-c] [-n COUNT] [-r RATE] [-l LINGER_S] [-w FILE]... "
			"SRC DST PORT\n");
	exit(64);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage src, dst;
	socklen_t slen, dlen;
	unsigned int sent = 0, completed = 0, failed = 0;
	double t0, end, rt0;
	int ep, c;

	while ((c = getopt(argc, argv, "cn:r:l:w:")) != -1) {
		switch (c) {
		case 'c':
			opt_churn = true;
			break;
		case 'n':
			opt_count = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			opt_rate = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'l':
			opt_linger = strtod(optarg, NULL);
			break;
		case 'w':
			if (nsamples == SAMPLES_MAX)
				usage();
			samples[nsamples++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || !opt_rate || !opt_count)
		usage();
	if (sockaddr_of(argv[optind], 0, &src, &slen) < 0 ||
	    sockaddr_of(argv[optind + 1], (uint16_t)atoi(argv[optind + 2]), &dst, &dlen) !=
		    src.ss_family) {
		fprintf(stderr, "conn_burst: bad addresses %s %s\n", argv[optind], argv[optind + 1]);
		return 64;
	}
	if (bench_fd_limit() < opt_count + 16) {
		fprintf(stderr, "conn_burst: cannot open %u descriptors\n", opt_count);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("conn_burst: epoll_create1");
		return 1;
	}

	for (unsigned int i = 0; i < nsamples; i++)
		before[i] = counter(samples[i]);
	rt0 = realtime();
	t0 = bench_now();
	end = t0 + (double)opt_count / opt_rate + opt_linger;
	for (;;) {
		struct epoll_event evs[256];
		double now = bench_now(), next = t0 + (double)sent / opt_rate;
		int timeout, n;

		if (now >= end)
			break;
		while (sent < opt_count && now >= next) {
			int err = attempt(ep, &src, slen, &dst, dlen);

			if (err) {
				fprintf(stderr, "conn_burst: attempt %u: %s\n", sent, strerror(-err));
				return 1;
			}
			next = t0 + (double)++sent / opt_rate;
		}
		timeout = (int)(((sent < opt_count ? next : end) - now) * 1000.0);
		n = epoll_wait(ep, evs, 256, timeout > 0 ? timeout : 0);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, err = 0;
			socklen_t elen = sizeof(err);

			/* Done with the connect either way: no further events from it. */
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
			if (err) {
				failed++;
				close(fd);
			} else {
				completed++;
				if (opt_churn)
					close(fd);
			}
		}
	}
	printf("RESULT burst=%s attempts=%u completed=%u failed=%u pending=%u start=%.6f end=%.6f\n",
	       opt_churn ? "churn" : "hold", sent, completed, failed, sent - completed - failed, rt0,
	       realtime());
	for (unsigned int i = 0; i < nsamples; i++)
		printf("SAMPLE %s %llu\n", samples[i], counter(samples[i]) - before[i]);
	return 0;
}
