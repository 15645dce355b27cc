// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * flush: flows to GW_FLOW_KILLED in gw_flows, and local sockets destroyed
 * through NETLINK_SOCK_DIAG (sock_diag(7)): a dump filtered in the kernel
 * by the peer address (inet_diag bytecode), then one SOCK_DESTROY per
 * socket found, named by its id and cookie as the dump returned it.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/addrmap.h"
#include "lib/netlink.h"
#include "datapath/flush.h"
#include "store/store.h"
#include "datapath/sweeper.h"

/* TCP states (include/net/tcp_states.h) that make up a connection to kill. */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_CLOSING = 11,
};

#define FLUSH_STATES                                                                     \
	((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_RECV) | (1u << TCP_FIN_WAIT1) |          \
	 (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) |          \
	 (1u << TCP_CLOSING))

/* A dump request: the filter keeps sockets whose remote address is the peer. */
struct diag_dump_request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
	struct nlattr bytecode;
	struct inet_diag_bc_op op;
	struct inet_diag_hostcond cond;
	__u8 addr[16];
};

struct diag_destroy_request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
};

struct socket_list {
	struct diag_destroy_request *items;
	size_t n, cap;
};

static bool conn_listed(const struct inet_diag_msg *m, int family, const struct flush_conn *only,
			size_t n)
{
	struct addr_prefix local = { .family = (uint8_t)family };
	struct gw_addr key;

	memcpy(local.bytes, m->id.idiag_src, family == AF_INET ? 4 : 16);
	local.plen = (uint8_t)addr_max_plen(family);
	if (family == AF_INET6) {
		/* A dual-stack socket holds an IPv4 connection v4-mapped. */
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

		memcpy(&sin6.sin6_addr, m->id.idiag_src, 16);
		addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &local);
	}
	addr_to_key(&local, &key);
	for (size_t i = 0; i < n; i++)
		if (only[i].local_port == ntohs(m->id.idiag_sport) &&
		    only[i].peer_port == ntohs(m->id.idiag_dport) &&
		    !memcmp(&only[i].local, &key, sizeof(key)))
			return true;
	return false;
}

static int list_push(struct socket_list *l, const struct inet_diag_msg *m)
{
	struct diag_destroy_request *r;

	if (array_room(&l->items, &l->cap, l->n + 1, sizeof(*l->items), 16))
		return -ENOMEM;
	r = &l->items[l->n++];
	memset(r, 0, sizeof(*r));
	r->nlh.nlmsg_len = sizeof(*r);
	r->nlh.nlmsg_type = SOCK_DESTROY;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r->req.sdiag_family = m->idiag_family;
	r->req.sdiag_protocol = IPPROTO_TCP;
	r->req.idiag_states = ~0u;
	r->req.id = m->id;
	return 0;
}

struct collect {
	int family;
	const struct flush_conn *only;
	size_t n;
	struct socket_list *out;
};

/* One socket of the dump: collected unless only some connections are wanted. */
static int collect_socket(const struct nlmsghdr *h, void *ctx)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct collect *c = ctx;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
	    (c->only && !conn_listed(m, c->family, c->only, c->n)))
		return 0;
	return list_push(c->out, m);
}

/* Dump the sockets of one family whose peer is `peer`; collect those to destroy. */
static int diag_collect(int fd, int family, const struct addr_prefix *peer,
			const struct flush_conn *only, size_t n, struct socket_list *out)
{
	struct collect c = { .family = family, .only = only, .n = n, .out = out };
	size_t alen = peer->family == AF_INET ? 4 : 16;
	struct diag_dump_request q = { 0 };
	int ret;

	q.nlh.nlmsg_len = (__u32)(offsetof(struct diag_dump_request, addr) + alen);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.req.sdiag_family = (__u8)family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = FLUSH_STATES;
	q.bytecode.nla_type = INET_DIAG_REQ_BYTECODE;
	q.bytecode.nla_len = (__u16)(NLA_HDRLEN + sizeof(q.op) + sizeof(q.cond) + alen);
	/* One condition: on a match jump to the end (accept), else past it (reject). */
	q.op.code = INET_DIAG_BC_D_COND;
	q.op.yes = (__u8)(sizeof(q.op) + sizeof(q.cond) + alen);
	q.op.no = (__u16)(q.op.yes + 4);
	q.cond.family = peer->family;
	q.cond.prefix_len = (__u8)addr_max_plen(peer->family);
	q.cond.port = -1;
	memcpy(q.addr, peer->bytes, alen);
	ret = netlink_request(fd, &q, q.nlh.nlmsg_len, collect_socket, &c);
	/* No inet_diag handler for the family: nothing to find there. */
	return ret == -ENOENT ? 0 : ret;
}

/* Send one SOCK_DESTROY and read its ack: 1 destroyed, 0 already gone, -errno. */
static int diag_destroy(int fd, struct diag_destroy_request *r)
{
	int ret = netlink_request(fd, r, r->nlh.nlmsg_len, NULL, NULL);

	/* ENOENT: closed between the dump and now. */
	return !ret ? 1 : ret == -ENOENT ? 0 : ret;
}

int flush_destroy_sockets(const struct addr_prefix *peer, const struct flush_conn *only,
			  size_t n, size_t *destroyed)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct socket_list list = { 0 };
	int fd = netlink_open(NETLINK_SOCK_DIAG), ret = 0;

	*destroyed = 0;
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < 2 && !ret; i++) {
		/* An IPv6 peer never has an IPv4 socket. */
		if (peer->family == AF_INET6 && families[i] == AF_INET)
			continue;
		ret = diag_collect(fd, families[i], peer, only, n, &list);
	}
	for (size_t i = 0; i < list.n && !ret; i++) {
		int r = diag_destroy(fd, &list.items[i]);

		if (r < 0)
			ret = r;
		else
			*destroyed += (size_t)r;
	}
	free(list.items);
	close(fd);
	return ret;
}

/* What one walk over gw_flows does for one source (requests merged). */
struct kill_source {
	struct gw_ruleset rules;
	bool global;
	size_t first;			/* the request its results go to */
	struct flush_conn *conns;	/* killed connections, for a plain flush */
	size_t n, cap;
};

struct kill {
	int flows_fd;
	int src_track_fd;
	uint64_t now_ns;
	struct addrmap sources;		/* addr_prefix -> struct kill_source */
	struct flush_request *reqs;
	int error;
};

static void kill_error(struct kill *k, int err)
{
	if (err < 0 && !k->error)
		k->error = err;
}

static int kill_flow(void *ctx, const void *key, void *value)
{
	struct gw_flow *f = value;
	const struct gw_flow_tuple *t = &f->tuple;
	uint32_t slot = *(const uint32_t *)key;
	struct kill *k = ctx;
	struct kill_source *ks;
	struct addr_prefix client;
	int ret;

	if (f->state == GW_FLOW_KILLED)
		return 0;
	addr_from_key(&t->client, &client);
	ks = addrmap_get(&k->sources, &client);
	if (!ks || (!ks->global && !((ks->rules.bits[f->rule / 64] >> (f->rule % 64)) & 1)))
		return 0;
	/* Gone meanwhile (timed out): nothing left to kill. */
	ret = sweeper_flow_reread(k->flows_fd, slot, f);
	if (ret) {
		kill_error(k, ret == -ENOENT ? 0 : ret);
		return 0;
	}
	kill_error(k, sweeper_release(k->src_track_fd, f));
	f->state = GW_FLOW_KILLED;
	f->last_ns = k->now_ns;
	if (bpf_map_update_elem(k->flows_fd, &slot, f, BPF_ANY)) {
		kill_error(k, -errno);
		return 0;
	}
	k->reqs[ks->first].result.flows++;
	if (ks->global)
		return 0;
	if (array_room(&ks->conns, &ks->cap, ks->n + 1, sizeof(*ks->conns), 16))
		return -ENOMEM;
	ks->conns[ks->n++] = (struct flush_conn){ t->server, t->server_port, t->client_port };
	return 0;
}

int flush_sources(int flows_fd, int src_track_fd, struct flush_request *reqs, size_t n,
		  uint64_t now_ns)
{
	struct kill k = { .flows_fd = flows_fd, .src_track_fd = src_track_fd, .now_ns = now_ns,
			  .reqs = reqs };
	const struct addr_prefix *src;
	struct kill_source *ks;
	int ret, created;

	ret = addrmap_init(&k.sources, sizeof(struct kill_source));
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		memset(&reqs[i].result, 0, sizeof(reqs[i].result));
		ks = addrmap_put(&k.sources, &reqs[i].source, &created);
		if (!ks) {
			addrmap_free(&k.sources);
			return -ENOMEM;
		}
		if (created)
			ks->first = i;
		ks->global |= reqs[i].global;
		for (size_t w = 0; w < GW_RULE_WORDS; w++)
			ks->rules.bits[w] |= reqs[i].rules.bits[w];
	}
	/* Flows first: from here on XDP drops what the sockets' peers still send. */
	ret = sweeper_flow_foreach(flows_fd, kill_flow, &k);
	kill_error(&k, ret);
	for (size_t pos = 0; addrmap_next(&k.sources, &pos, &src, (void **)&ks);) {
		/* A plain flush with no flow of its rules has no socket to destroy either. */
		if (ks->global || ks->n)
			kill_error(&k, flush_destroy_sockets(src, ks->global ? NULL : ks->conns, ks->n,
							     &reqs[ks->first].result.sockets));
		free(ks->conns);
	}
	addrmap_free(&k.sources);
	return k.error;
}
