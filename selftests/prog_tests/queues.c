// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Queues in the data path (bpf/flow.h, `set queue`): the server's packets of a
 * connection admitted by a keep-state rule with `set queue` leave TC
 * egress, from the SYN-ACK on, with skb->priority naming the queue's HTB
 * class (GW_QUEUE_CLASSID); those of a connection another rule admitted,
 * and packets of no connection, keep the priority they came with. Each
 * case is a handshake (SYN in XDP, SYN-ACK in TC egress, ACK in XDP) and
 * a data segment from the server, for IPv4 and for IPv6.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include "flow_packets.h"

#define CPORT 40110		/* the client's port */
#define SOCKET_PRIORITY 6	/* what a server's SO_PRIORITY could have set */

struct queue_case {
	const char *desc;
	struct gw_rule rules[FX_RULES_MAX];
	int nrules;
	bool syn;		/* the client's SYN and ACK go through XDP (else: no flow) */
	uint32_t priority_in;	/* skb->priority the server's packets come with */
	uint32_t synack, data;	/* skb->priority they leave with */
};

static const struct queue_case queue_cases[] = {
	{ .desc = "a set queue rule's connection: SYN-ACK and data go to the queue's class",
	  .rules = { POP3_RULE(.queue = 3) }, .nrules = 1, .syn = true,
	  .synack = GW_QUEUE_CLASSID(3), .data = GW_QUEUE_CLASSID(3) },
	{ .desc = "the queue's class replaces the priority the server's socket set",
	  .rules = { POP3_RULE(.queue = 1) }, .nrules = 1, .syn = true,
	  .priority_in = SOCKET_PRIORITY, .synack = GW_QUEUE_CLASSID(1),
	  .data = GW_QUEUE_CLASSID(1) },
	{ .desc = "the last queue id, 255, is class 6777:ff",
	  .rules = { POP3_RULE(.queue = 255) }, .nrules = 1, .syn = true,
	  .synack = GW_QUEUE_CLASSID(255), .data = GW_QUEUE_CLASSID(255) },
	{ .desc = "the connection of a later rule without queue, on the queued port, is not queued",
	  .rules = { POP3_RULE(.queue = 1), POP3_RULE(.max_src_conn = 5) }, .nrules = 2,
	  .syn = true },
	{ .desc = "the same, with the server's socket priority kept",
	  .rules = { POP3_RULE(.queue = 1), POP3_RULE(.max_src_conn = 5) }, .nrules = 2,
	  .syn = true, .priority_in = SOCKET_PRIORITY, .synack = SOCKET_PRIORITY,
	  .data = SOCKET_PRIORITY },
	{ .desc = "a quick rule with a queue decides before a later rule without",
	  .rules = { POP3_RULE(.queue = 2, .flags = GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE |
					       GW_RULE_QUICK),
		     POP3_RULE(.max_src_conn = 5) },
	  .nrules = 2, .syn = true, .synack = GW_QUEUE_CLASSID(2), .data = GW_QUEUE_CLASSID(2) },
	{ .desc = "a keep-state rule with limits and no queue: its connection is not queued",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1, .syn = true },
	{ .desc = "server packets of no connection on a queued port are not queued",
	  .rules = { POP3_RULE(.queue = 1) }, .nrules = 1 },
	{ .desc = "packets of no connection keep the server's socket priority",
	  .rules = { POP3_RULE(.queue = 1) }, .nrules = 1, .priority_in = SOCKET_PRIORITY,
	  .synack = SOCKET_PRIORITY, .data = SOCKET_PRIORITY },
};

/* One packet from the server through TC egress; the priority it left with, or ~0 on error. */
static uint32_t server_send(const struct flow_env *env, uint8_t flags, uint32_t seq, uint32_t ack,
			    uint16_t payload, uint32_t priority)
{
	struct __sk_buff skb = { .priority = priority };
	uint8_t buf[PKT_MAX];
	size_t len = flow_packet(env, false, CPORT, flags, seq, ack, payload, buf);

	if (!len || fx_run_tc_skb(buf, len, &skb) != TC_ACT_OK)
		return ~0u;
	return skb.priority;
}

static void run_queue_case(const struct queue_case *c, int family)
{
	struct flow_env env;

	flow_env_init(&env, family, c->desc);
	fx_reset();
	fx_rules(c->rules, c->nrules);
	if (c->syn)
		CHECK_INT(flow_send(&env, true, CPORT, 0x02, CISN(CPORT), 0, 0), XDP_PASS,
			  "%s: the SYN passes", env.desc);
	CHECK_INT(server_send(&env, 0x12, SISN(CPORT), CISN(CPORT) + 1, 0, c->priority_in),
		  c->synack, "%s: the SYN-ACK's priority", env.desc);
	if (c->syn)
		CHECK_INT(flow_send(&env, true, CPORT, 0x10, CISN(CPORT) + 1, SISN(CPORT) + 1,
				    0),
			  XDP_PASS, "%s: the ACK passes", env.desc);
	CHECK_INT(server_send(&env, 0x18, SISN(CPORT) + 1, CISN(CPORT) + 1, 100,
			      c->priority_in),
		  c->data, "%s: the data's priority", env.desc);
}

SELFTEST(queues)
{
	for (size_t i = 0; i < sizeof(queue_cases) / sizeof(queue_cases[0]); i++) {
		run_queue_case(&queue_cases[i], 4);
		run_queue_case(&queue_cases[i], 6);
	}
}
