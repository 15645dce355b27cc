// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Listening sockets of the children's loops: see listener.h.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/listener.h"

void listeners_pause(struct listeners *l, bool pause, uint64_t now_ms)
{
	for (size_t i = 0; i < l->n; i++) {
		struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.u64 = l->tag + i };

		epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->fds[i], &ev);
	}
	l->resume_ms = pause ? now_ms + LISTENER_PAUSE_MS : 0;
}

int listeners_accept_error(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 1;
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return 0;
	default:
		return -1;
	}
}

void listener_drain(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16; i++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
}
