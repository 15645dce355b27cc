/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one netlink request loop (netlink(7)): open a socket of a protocol,
 * send a request, read its answers up to the ack or the dump's end. Used
 * for rtnetlink (datapath/queues.c) and sock_diag (datapath/flush.c).
 */
#ifndef __GREYWALL_NETLINK_H
#define __GREYWALL_NETLINK_H

#include <stddef.h>

struct nlmsghdr;

/* A socket of protocol (NETLINK_ROUTE, ...) that gives up a read after 5 s; fd or -errno. */
int netlink_open(int protocol);

/* Called for each answer that is neither the ack nor the dump's end. */
typedef int (*netlink_msg_fn)(const struct nlmsghdr *h, void *ctx);

/*
 * Send the request (len bytes; NLM_F_ACK or NLM_F_DUMP set, so that the
 * kernel says when it is done) on fd and read the answers, handing each
 * other message to fn (may be NULL). Once fn returns non-zero the rest is
 * read but not handed on. Returns 0, the kernel's error (-errno, from
 * NLMSG_ERROR), fn's return, or -errno of send/recv.
 */
int netlink_request(int fd, const void *req, size_t len, netlink_msg_fn fn, void *ctx);

#endif /* __GREYWALL_NETLINK_H */
