// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The floor under greylist decisions through full SMTP dialogues:
 * the least a server can do for bench/grey_rate's dialogue and still answer
 * it, with nothing behind the answers. One process, one epoll loop (as the
 * tarpit child): accept, banner, 250 to HELO, MAIL and RCPT, 451 to DATA,
 * close at the client's close. No greylist, no store, no log, no privilege
 * separation. What it reaches on a machine is what the kernel's TCP and the
 * client leave for any tarpit there; greywall's rate is measured against it.
 *
 * Usage: smtp_floor PORT   (listens on 127.0.0.1 until killed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define LINE_MAX_LEN 512

struct conn {
	int fd;
	size_t len;
	char line[LINE_MAX_LEN];
};

static const char *answer(const char *line)
{
	if (!strncasecmp(line, "HELO", 4) || !strncasecmp(line, "EHLO", 4) ||
	    !strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RCPT", 4))
		return "250 OK\r\n";
	if (!strncasecmp(line, "DATA", 4))
		return "451 Temporary failure, please try again later.\r\n";
	if (!strncasecmp(line, "QUIT", 4))
		return "221 Bye\r\n";
	return "500 5.5.1 Command unrecognized\r\n";
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Read what came; answer each whole line. 0, or -1 when c is gone. */
static int conn_read(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->line + c->len, sizeof(c->line) - c->len, 0);
		char *start = c->line, *eol;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			break;
		c->len += (size_t)n;
		while ((eol = memchr(start, '\n', c->len - (size_t)(start - c->line)))) {
			const char *a = answer(start);

			if (send(c->fd, a, strlen(a), MSG_NOSIGNAL) < 0)
				goto gone;
			start = eol + 1;
		}
		c->len -= (size_t)(start - c->line);
		memmove(c->line, start, c->len);
		if (c->len == sizeof(c->line))
			break;
		if ((size_t)n < sizeof(c->line))
			return 0;
	}
gone:
	conn_close(c);
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char banner[] = "220 mx.example.org ESMTP\r\n";
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, lfd, epfd;

	if (argc != 2 || !(sin.sin_port = htons((uint16_t)atoi(argv[1])))) {
		fprintf(stderr, "usage: smtp_floor PORT\n");
		return 2;
	}
	bench_fd_limit();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 4096) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("smtp_floor: listen");
		return 1;
	}
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (c) {
				conn_read(c);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				c = calloc(1, sizeof(*c));
				ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
				if (!c || send(fd, banner, sizeof(banner) - 1, MSG_NOSIGNAL) < 0 ||
				    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
					close(fd);
					free(c);
					continue;
				}
				c->fd = fd;
			}
		}
	}
}
