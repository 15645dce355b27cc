/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The packets of tracked connections, shared by the prog_tests that drive
 * flows (flows.c, queues.c): one client talking to a server's pop3 over
 * IPv4 or IPv6, the client's packets through XDP and the server's through
 * TC egress, each connection told apart by the client's port.
 */
#ifndef __GREYWALL_FLOW_PACKETS_H
#define __GREYWALL_FLOW_PACKETS_H

#include <stdbool.h>
#include <stdio.h>

#include "cases.h"

#define POP3 110

/* The server's ISN in a handshake: any number will do, per port. */
#define SISN(port) (0x80000000u + (uint32_t)(port) * 1000u)
/* The client's ISN. */
#define CISN(port) ((uint32_t)(port) * 7u)

/* pass in proto tcp to port pop3 flags S/SA keep state (...); fields given after override. */
#define POP3_RULE(...)                                                                   \
	RULE(GW_ACT_PASS, .proto_mask = GW_PROTO_TCP, .dport_lo = POP3, .dport_hi = POP3, \
	     .flags = GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE, __VA_ARGS__)

struct flow_env {
	int family;
	const char *client, *server;
	char desc[300];
};

static inline void flow_env_init(struct flow_env *env, int family, const char *what)
{
	env->family = family;
	env->client = family == 4 ? "198.51.100.7" : "2001:db8:1::7";
	env->server = family == 4 ? "203.0.113.1" : "2001:db8:2::1";
	snprintf(env->desc, sizeof(env->desc), "%s [IPv%d]", what, family);
}

/* Build a packet of the connection from env->client's port to the server's pop3; its length or 0. */
static inline size_t flow_packet(const struct flow_env *env, bool from_client, uint16_t port,
				 uint8_t flags, uint32_t seq, uint32_t ack, uint16_t payload,
				 uint8_t *buf)
{
	struct pkt_spec s = {
		.family = env->family, .proto = IPPROTO_TCP, .tcp_flags = flags,
		.seq = seq, .ack = ack, .payload = payload,
	};

	s.src = from_client ? env->client : env->server;
	s.dst = from_client ? env->server : env->client;
	s.sport = from_client ? port : POP3;
	s.dport = from_client ? POP3 : port;
	return pkt_build(&s, buf, NULL);
}

/* Send it: the client's through XDP, the server's through TC egress; the verdict or -1. */
static inline int flow_send(const struct flow_env *env, bool from_client, uint16_t port,
			    uint8_t flags, uint32_t seq, uint32_t ack, uint16_t payload)
{
	uint8_t buf[PKT_MAX];
	size_t len = flow_packet(env, from_client, port, flags, seq, ack, payload, buf);

	if (!len)
		return -1;
	return from_client ? fx_run_xdp(buf, len, NULL, NULL) : fx_run_tc(buf, len);
}

#endif /* __GREYWALL_FLOW_PACKETS_H */
