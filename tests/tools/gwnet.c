// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * gwnet: the traffic tool of the integration tests and the demo.
 *   gwnet listen PORT             accept TCP and read UDP on [::]:PORT (IPv4 too);
 *                                 print "tcp SRC" per connection, "udp SRC" per datagram
 *   gwnet connect SRC DST PORT [MS]  TCP connect from SRC; exit 0 connected,
 *                                 1 refused/unreachable, 2 timed out (default 1000 ms)
 *   gwnet send SRC DST PORT N US  send N UDP datagrams from SRC, one every US microseconds
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return AF_INET6;
	}
	fprintf(stderr, "gwnet: bad address %s\n", addr);
	exit(64);
}

static void print_source(const char *kind, const struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		/* IPv4 peers of a dual-stack socket show as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof(text));
	}
	printf("%s %s\n", kind, text);
	fflush(stdout);
}

static int do_listen(int port)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int off = 0, on = 1;
	int t = socket(AF_INET6, SOCK_STREAM, 0), u = socket(AF_INET6, SOCK_DGRAM, 0);

	setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(t, (struct sockaddr *)&any, sizeof(any)) || listen(t, 1024) ||
	    bind(u, (struct sockaddr *)&any, sizeof(any))) {
		perror("gwnet listen");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = t, .events = POLLIN }, { .fd = u, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			int c = accept(t, (struct sockaddr *)&ss, &len);

			if (c >= 0) {
				print_source("tcp", &ss);
				/* Hold it briefly open and close: the test only counts. */
				close(c);
			}
		}
		if (p[1].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			char buf[2048];

			if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len) >= 0)
				print_source("udp", &ss);
		}
	}
}

static int bound_socket(const char *src, int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (parse_sockaddr(src, 0, &ss, &len) != family) {
		fprintf(stderr, "gwnet: source and destination families differ\n");
		exit(64);
	}
	fd = socket(family, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len)) {
		perror("gwnet bind");
		exit(1);
	}
	return fd;
}

static int do_connect(const char *src, const char *dst, int port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_STREAM | SOCK_NONBLOCK), err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (!connect(fd, (struct sockaddr *)&ss, len))
		return 0;
	if (errno != EINPROGRESS)
		return 1;
	if (poll(&p, 1, ms) == 0)
		return 2;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	return err ? 1 : 0;
}

static int do_send(const char *src, const char *dst, int port, long n, long us)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_DGRAM);
	struct timespec gap = { us / 1000000, (us % 1000000) * 1000 };

	for (long i = 0; i < n; i++) {
		sendto(fd, "greywall", 8, 0, (struct sockaddr *)&ss, len);
		if (us)
			nanosleep(&gap, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(atoi(argv[2]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 1000);
	if (argc == 7 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), atol(argv[6]));
	fprintf(stderr, "usage: gwnet listen PORT | connect SRC DST PORT [MS] | "
			"send SRC DST PORT N US\n");
	return 64;
}
