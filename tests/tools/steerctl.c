// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * steerctl: the integration tests' stand-in for greywalld's spamd wiring,
 * driving user/datapath/steer.c on the maps pinned in BPFDIR.
 *   steerctl BPFDIR port PORT TABLES [TARPIT]
 *                                     steer PORT (0: off); TABLES is the
 *                                     bitmask of the tables that pass,
 *                                     TARPIT of those that never do
 *   steerctl BPFDIR tarpit PORT       listen on 127.0.0.1:PORT and [::1]:PORT,
 *                                     make them the tarpit, print "ready",
 *                                     then "tarpit SRC" per connection
 *   steerctl BPFDIR mta UID           whose outbound SMTP records its destination
 *                                     (-1: nobody's)
 *   steerctl BPFDIR outbound          drain the SMTP destinations this host
 *                                     connected to, one address a line
 * Exit 0 on success, 1 on an error, 64 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"
#include "datapath/datapath.h"
#include "datapath/steer.h"

static int listen_loopback(int family, int port)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int on = 1, fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if ((family == AF_INET ? bind(fd, (struct sockaddr *)&in4, sizeof(in4))
			       : bind(fd, (struct sockaddr *)&in6, sizeof(in6))) ||
	    listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The client's address, through the one formatter. */
static void print_peer(const struct sockaddr_storage *ss)
{
	struct addr_prefix p = { .family = (uint8_t)ss->ss_family };
	char text[ADDR_STRLEN];

	if (ss->ss_family == AF_INET) {
		p.plen = 32;
		memcpy(p.bytes, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		p.plen = 128;
		memcpy(p.bytes, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
	addr_format(&p, text, sizeof(text));
	printf("tarpit %s\n", text);
	fflush(stdout);
}

static int run_tarpit(const struct datapath *dp, int port)
{
	struct pollfd p[2] = { { .fd = listen_loopback(AF_INET, port), .events = POLLIN },
			       { .fd = listen_loopback(AF_INET6, port), .events = POLLIN } };
	int err;

	if (p[0].fd < 0 || p[1].fd < 0) {
		perror("steerctl: listen");
		return 1;
	}
	err = steer_set_tarpit(dp, p[0].fd, p[1].fd);
	if (err) {
		fprintf(stderr, "steerctl: steer_set_tarpit: %s\n", strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 2; i++) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			int c;

			if (!(p[i].revents & POLLIN))
				continue;
			c = accept(p[i].fd, (struct sockaddr *)&ss, &len);
			if (c < 0)
				continue;
			print_peer(&ss);
			close(c);
		}
	}
}

static int run_outbound(const struct datapath *dp)
{
	struct steer_dest dests[64];
	int n;

	do {
		n = steer_drain_outbound(dp, dests, 64);
		for (int i = 0; i < n; i++) {
			char text[ADDR_STRLEN];

			addr_format(&dests[i].addr, text, sizeof(text));
			printf("%s\n", text);
		}
	} while (n == 64);
	if (n < 0) {
		fprintf(stderr, "steerctl: steer_drain_outbound: %s\n", strerror(-n));
		return 1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: steerctl BPFDIR port PORT TABLES [TARPIT] | mta UID | tarpit PORT | outbound\n");
	return 64;
}

int main(int argc, char **argv)
{
	struct datapath dp;
	int err, ret;

	if (argc < 3)
		return usage();
	err = datapath_open_pinned(&dp, argv[1]);
	if (err) {
		fprintf(stderr, "steerctl: maps in %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[2], "port")) {
		err = steer_set_port(&dp, (uint16_t)atoi(argv[3]), strtoull(argv[4], NULL, 0),
				     argc == 6 ? strtoull(argv[5], NULL, 0) : 0);
		if (err)
			fprintf(stderr, "steerctl: steer_set_port: %s\n", strerror(-err));
		ret = err ? 1 : 0;
	} else if (argc == 4 && !strcmp(argv[2], "mta")) {
		err = steer_set_mta_uid(&dp, strtoll(argv[3], NULL, 0));
		if (err)
			fprintf(stderr, "steerctl: steer_set_mta_uid: %s\n", strerror(-err));
		ret = err ? 1 : 0;
	} else if (argc == 4 && !strcmp(argv[2], "tarpit")) {
		ret = run_tarpit(&dp, atoi(argv[3]));
	} else if (argc == 3 && !strcmp(argv[2], "outbound")) {
		ret = run_outbound(&dp);
	} else {
		ret = usage();
	}
	datapath_close(&dp);
	return ret;
}
