// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Netlink requests (netlink.h).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/netlink.h"

/* Large enough for a page of dump messages, as the kernel sends them. */
#define NETLINK_RECV_BUF 32768

int netlink_open(int protocol)
{
	struct timeval timeout = { .tv_sec = 5 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return -errno;
	/* A kernel that never answers must not hang the daemon. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return fd;
}

int netlink_request(int fd, const void *req, size_t len, netlink_msg_fn fn, void *ctx)
{
	char buf[NETLINK_RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int ret = 0;

	if (send(fd, req, len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;	/* no answer will come */
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return ret;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return ret ? ret : e->error;
			}
			if (fn && !ret)
				ret = fn(h, ctx);
		}
	}
}
