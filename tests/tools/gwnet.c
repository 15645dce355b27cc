// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * gwnet: the traffic tool of the integration tests and the demo.
 *   gwnet listen PORT             accept TCP and read UDP on [::]:PORT (IPv4 too);
 *                                 print "tcp SRC" per connection, "udp SRC" per datagram
 *   gwnet connect SRC DST PORT [MS]  TCP connect from SRC; exit 0 connected,
 *                                 1 refused/unreachable, 2 timed out (default 1000 ms)
 *   gwnet send SRC DST PORT N US  send N UDP datagrams from SRC, one every US microseconds
 *   gwnet chat SRC DST PORT LINE...  an SMTP dialogue: read the banner, then send each
 *                                 LINE and read its whole reply; print "< reply" and
 *                                 "> line" ("+line": data, no reply awaited), then "# first-bytes-ms T1 T2 ..." (arrival
 *                                 of the first 6 bytes, ms after connect). Exit 0 when
 *                                 the server answered every line, 1 when it closed early
 *                                 (or GWNET_MAX_BYTES bytes were read)
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

/* GWNET_MAX_BYTES: chat stops after reading this many bytes (stutter timing). */
static long max_bytes, got_bytes;

/* One SMTP reply (up to its last line "ddd ...\r\n"); returns 0, or -1 at EOF/timeout. */
static int chat_reply(int fd, const struct timespec *t0, double *times, int *ntimes)
{
	char line[8200];
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec now;
		char c;

		if (poll(&p, 1, 120000) <= 0 || read(fd, &c, 1) != 1)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (max_bytes && ++got_bytes > max_bytes)
			return -1;
		if (*ntimes < 6)
			times[(*ntimes)++] = (double)(now.tv_sec - t0->tv_sec) * 1e3 +
					     (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
		if (n < sizeof(line) - 1)
			line[n++] = c;
		if (c != '\n')
			continue;
		line[n] = '\0';
		printf("< %s", line);
		fflush(stdout);
		if (n >= 4 && line[3] == ' ')
			return 0;
		n = 0;
	}
}

static int do_chat(const char *src, const char *dst, int port, char **lines, int nlines)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_STREAM), ntimes = 0, ret = 0;
	double times[6];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		perror("gwnet connect");
		return 1;
	}
	if (chat_reply(fd, &t0, times, &ntimes))
		ret = 1;
	for (int i = 0; !ret && i < nlines; i++) {
		/* "+text": a line of message data, which gets no reply of its own. */
		const char *text = lines[i][0] == '+' ? lines[i] + 1 : lines[i];

		dprintf(fd, "%s\r\n", text);
		printf("> %s\n", text);
		if (lines[i][0] != '+' && chat_reply(fd, &t0, times, &ntimes))
			ret = 1;
	}
	printf("# first-bytes-ms");
	for (int i = 0; i < ntimes; i++)
		printf(" %.0f", times[i]);
	printf("\n");
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(atoi(argv[2]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 1000);
	if (argc == 7 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), atol(argv[6]));
	if (getenv("GWNET_MAX_BYTES"))
		max_bytes = atol(getenv("GWNET_MAX_BYTES"));
	if (argc >= 5 && !strcmp(argv[1], "chat"))
		return do_chat(argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5);
	fprintf(stderr, "usage: gwnet listen PORT | connect SRC DST PORT [MS] | "
			"send SRC DST PORT N US | chat SRC DST PORT LINE...\n");
	return 64;
}
