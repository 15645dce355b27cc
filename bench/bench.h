/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the loopback benchmarks (tarpit_hold, grey_rate) share: the clock,
 * the descriptor limit, the client addresses and the nonblocking connect.
 *
 * Clients come from many loopback sources, 127.1.0.0 + i, one per client
 * index: a tarpit sees as many distinct hosts as connections, and 50,000
 * connections to one port do not run out of ephemeral ports (each source
 * address has its own). IPv6 clients all come from ::1.
 */
#ifndef __GREYWALL_BENCH_H
#define __GREYWALL_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The first client source address, 127.1.0.0 (host order). */
#define BENCH_SRC_BASE 0x7f010000u

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort's comparison for doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of the n sorted values (n > 0). */
static inline double bench_percentile(const double *v, unsigned int n, double p)
{
	unsigned int k = (unsigned int)(p / 100.0 * n + 0.999999);

	return v[(k ? k : 1) - 1];
}

/* Raise this process's open-file limit to its hard limit; the new limit. */
static inline rlim_t bench_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

/* Client i's source address (port 0), or ::1 for an IPv6 client. */
static inline socklen_t bench_source(uint32_t i, bool v6, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(BENCH_SRC_BASE + i);
	return sizeof(struct sockaddr_in);
}

/* The loopback server address: 127.0.0.1 or ::1, port. */
static inline socklen_t bench_server(bool v6, uint16_t port, struct sockaddr_storage *ss)
{
	socklen_t len = bench_source(0, v6, ss);

	if (v6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	} else {
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	}
	return len;
}

/*
 * A nonblocking TCP connect from client i's source to port on loopback.
 * The kernel picks the source port at connect time
 * (IP_BIND_ADDRESS_NO_PORT), so ports are only unique per destination.
 * Returns the socket (the connect may be in progress) or -errno.
 */
static inline int bench_connect(uint32_t i, bool v6, uint16_t port)
{
	struct sockaddr_storage src, dst;
	socklen_t slen = bench_source(i, v6, &src), dlen = bench_server(v6, port, &dst);
	int one = 1, fd, err;

	fd = socket(src.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if ((v6 || !bind(fd, (struct sockaddr *)&src, slen)) &&
	    (!connect(fd, (struct sockaddr *)&dst, dlen) || errno == EINPROGRESS))
		return fd;
	err = -errno;
	close(fd);
	return err;
}

#endif /* __GREYWALL_BENCH_H */
