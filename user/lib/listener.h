/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the children's epoll loops (the tarpit, the policy server) do alike
 * with their listening sockets and connections: accept in batches, pause
 * accepting for a while when the process runs out of descriptors or
 * memory, and read what a client left unread before closing it.
 */
#ifndef __GREYWALL_LISTENER_H
#define __GREYWALL_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long accepting pauses after EMFILE, ENFILE, ENOBUFS or ENOMEM. */
#define LISTENER_PAUSE_MS 1000

struct listeners {
	int epfd;
	const int *fds;		/* listening, nonblocking; registered with tags tag + i */
	size_t n;
	uint64_t tag;
	uint64_t resume_ms;	/* 0: accepting; else when to accept again */
};

/* Stop (until now_ms + LISTENER_PAUSE_MS) or resume watching every listening socket. */
void listeners_pause(struct listeners *l, bool pause, uint64_t now_ms);

/*
 * What accept4(2)'s errno means for the loop: 1 to pause (out of
 * descriptors or memory), 0 to try the next connection (one that died in
 * the backlog, an interrupt), -1 to stop for now (EAGAIN, or an error the
 * listener reports again).
 */
int listeners_accept_error(int err);

/*
 * Read and drop what a client sent and we did not read (64 KiB at most;
 * the socket is nonblocking), so that close(2) sends a FIN: a RST would
 * throw away the replies the client has not read yet.
 */
void listener_drain(int fd);

#endif /* __GREYWALL_LISTENER_H */
