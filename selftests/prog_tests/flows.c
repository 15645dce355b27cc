// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Flow tracking (bpf/flow.h): only handshakes whose final ACK
 * acknowledges the server's SYN-ACK count; max-src-conn and PF's decaying
 * max-src-conn-rate refuse the offending handshake in XDP itself and send
 * one overload event; FIN/RST give slots back; killed flows are dropped;
 * full tables track nothing new and block nothing; a connection whose key
 * (a hash of its tuple) holds another's flow goes untracked and leaves
 * that flow alone. Each case is a script
 * of packets (XDP for the client's, TC egress for the server's) and
 * userspace actions, run for IPv4 and for IPv6, then the state it left.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "flow_packets.h"

#define T_OVERLOAD_BIT 3	/* <popflooders> */
#define CLOCK_START 1000	/* seconds; every case starts here */

#define LIMITS(conn, rate, secs)                                                         \
	.max_src_conn = (conn), .max_src_conn_rate = (rate), .max_src_conn_rate_seconds = (secs), \
	.overload_table = T_OVERLOAD_BIT, .flush = 2

enum flow_op_kind {
	OP_END = 0,
	OP_SYN,		/* the client's SYN (XDP) */
	OP_SYNACK,	/* the server's SYN-ACK with ISN arg (TC egress) */
	OP_ACK,		/* the client's ACK acknowledging arg (XDP) */
	OP_CONNECT,	/* SYN, SYN-ACK with SISN(port), its ACK; verdict: the ACK's */
	OP_DATA,	/* a client segment with data, acknowledging SISN(port) + 1 */
	OP_FIN,		/* the client's FIN */
	OP_FIN_OUT,	/* the server's FIN (TC egress) */
	OP_RST_OUT,	/* the server's RST (TC egress) */
	OP_CLOCK,	/* the data path's clock becomes arg seconds */
	OP_CLEAR,	/* userspace clears `overloaded` after applying the event */
	OP_KILL,	/* userspace kills the flow of port (flush) */
	OP_COLLIDE,	/* a seed under which ports do not change the hash: one home slot for all */
};

struct flow_op {
	int kind;
	uint16_t port;		/* the client's port: one connection each */
	uint32_t arg;
	int verdict;		/* of the packet the op ends with */
};

#define SYN(p) { OP_SYN, (p), 0, XDP_PASS }
#define SYN_DROPPED(p) { OP_SYN, (p), 0, XDP_DROP }
#define SYNACK(p, isn) { OP_SYNACK, (p), (isn), TC_ACT_OK }
#define ACK(p, a) { OP_ACK, (p), (a), XDP_PASS }
#define CONNECT(p) { OP_CONNECT, (p), 0, XDP_PASS }
#define REFUSED(p) { OP_CONNECT, (p), 0, XDP_DROP }
#define DATA(p, v) { OP_DATA, (p), 0, (v) }
#define FIN(p, v) { OP_FIN, (p), 0, (v) }
#define FIN_OUT(p) { OP_FIN_OUT, (p), 0, TC_ACT_OK }
#define RST_OUT(p) { OP_RST_OUT, (p), 0, TC_ACT_OK }
#define CLOCK(t) { OP_CLOCK, 0, (t), 0 }
#define CLEAR() { OP_CLEAR, 0, 0, 0 }
#define KILL(p) { OP_KILL, (p), 0, 0 }
#define COLLIDE() { OP_COLLIDE, 0, 0, 0 }

struct flow_expect {
	uint16_t port;		/* 0 ends the list */
	int state;		/* enum gw_flow_state; 0: no flow */
	int counted;
	uint32_t server_isn;	/* checked when not 0 */
};

struct flow_case {
	const char *desc;
	struct gw_rule rules[FX_RULES_MAX];
	int nrules;
	uint32_t rule;		/* the rule whose source tracking is checked */
	struct flow_op ops[20];
	bool tracked;		/* the client has a gw_src_track entry for rule */
	uint32_t conns, rate_count, overloaded;
	struct fx_stat_expect stats[6];
	struct flow_expect flows[4];
	int events;		/* overload events on the ring (= the rule's overloads) */
	uint32_t ev_type, ev_conns, ev_rate;	/* the first event's */
};

static const struct flow_case flow_cases[] = {
	/* Which SYNs create a flow. */
	{ .desc = "a SYN passed by a keep-state rule with limits creates a flow",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1, .ops = { SYN(1001) },
	  .flows = { { 1001, GW_FLOW_SYN, 0 } }, .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 0) } },
	{ .desc = "an overload table alone makes a rule track flows",
	  .rules = { POP3_RULE(.overload_table = T_OVERLOAD_BIT) }, .nrules = 1,
	  .ops = { SYN(1001) }, .flows = { { 1001, GW_FLOW_SYN, 0 } } },
	{ .desc = "keep state without limits: no flow",
	  .rules = { POP3_RULE(.dport_lo = 22, .dport_hi = 22, .max_src_conn = 10), POP3_RULE() },
	  .nrules = 2, .ops = { SYN(1001) }, .flows = { { 1001, 0 } } },
	{ .desc = "limits without keep state: no flow",
	  .rules = { POP3_RULE(.dport_lo = 22, .dport_hi = 22, .max_src_conn = 10),
		     POP3_RULE(.flags = GW_RULE_FLAGS_S_SA, .max_src_conn = 5) },
	  .nrules = 2, .ops = { SYN(1001) }, .flows = { { 1001, 0 } } },
	{ .desc = "a SYN a later block rule decides is dropped and not tracked",
	  .rules = { POP3_RULE(.max_src_conn = 5),
		     RULE(GW_ACT_BLOCK_DROP, .dport_lo = POP3, .dport_hi = POP3) },
	  .nrules = 2, .ops = { SYN_DROPPED(1001) }, .flows = { { 1001, 0 } } },
	{ .desc = "a SYN the stateful rule does not match (another port): no flow",
	  .rules = { POP3_RULE(.dport_lo = 995, .dport_hi = 995, .max_src_conn = 5) },
	  .nrules = 1, .ops = { SYN(1001) }, .flows = { { 1001, 0 } } },
	/* The handshake. */
	{ .desc = "the server's SYN-ACK on egress records its ISN",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYN(1001), SYNACK(1001, 9000) }, .flows = { { 1001, GW_FLOW_SYNACK, 0, 9000 } } },
	{ .desc = "a SYN-ACK of no tracked flow creates none",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYNACK(1001, 9000) }, .flows = { { 1001, 0 } } },
	{ .desc = "the ACK of the SYN-ACK completes the handshake and counts",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1, .ops = { CONNECT(1001) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 1), FX_STAT(GW_STAT_BAD_ACK, 0) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1, SISN(1001) } } },
	{ .desc = "ACKs of the wrong number count nothing",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYN(1001), SYNACK(1001, 9000), ACK(1001, 9000), ACK(1001, 9002) },
	  .stats = { FX_STAT(GW_STAT_BAD_ACK, 2), FX_STAT(GW_STAT_HANDSHAKES, 0) },
	  .flows = { { 1001, GW_FLOW_SYNACK, 0, 9000 } } },
	{ .desc = "a forged source's SYN and guessed ACK count nothing (the SYN-ACK went elsewhere)",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYN(1001), SYNACK(1001, 0x5eed), ACK(1001, 1), SYN(1002), ACK(1002, 1) },
	  .stats = { FX_STAT(GW_STAT_BAD_ACK, 2), FX_STAT(GW_STAT_HANDSHAKES, 0) },
	  .flows = { { 1001, GW_FLOW_SYNACK, 0 }, { 1002, GW_FLOW_SYN, 0 } } },
	{ .desc = "an ACK of no flow is left to the rules and counts nothing",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { ACK(1001, SISN(1001) + 1) }, .stats = { FX_STAT(GW_STAT_BAD_ACK, 0) },
	  .flows = { { 1001, 0 } } },
	{ .desc = "a retransmitted SYN-ACK with a new ISN replaces the old one",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYN(1001), SYNACK(1001, 9000), SYNACK(1001, 9500), ACK(1001, 9001),
		   ACK(1001, 9501) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_BAD_ACK, 1), FX_STAT(GW_STAT_HANDSHAKES, 1) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1, 9500 } } },
	{ .desc = "the acknowledged number wraps around 2^32",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { SYN(1001), SYNACK(1001, 0xffffffff), ACK(1001, 0) }, .tracked = true,
	  .conns = 1, .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "a duplicate ACK counts once",
	  .rules = { POP3_RULE(.max_src_conn = 5) }, .nrules = 1,
	  .ops = { CONNECT(1001), ACK(1001, SISN(1001) + 1) }, .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 1) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 } } },
	/* max-src-conn. */
	{ .desc = "max-src-conn 2: the third completing ACK is dropped and its flow killed",
	  .rules = { POP3_RULE(LIMITS(2, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), REFUSED(1003), DATA(1003, XDP_DROP),
		   DATA(1001, XDP_PASS) },
	  .tracked = true, .conns = 2, .overloaded = 1,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 2), FX_STAT(GW_STAT_OVERLOAD_DROPS, 1),
		     FX_STAT(GW_STAT_FLOW_KILLED_DROPS, 1), FX_STAT(GW_STAT_DROP, 2),
		     FX_STAT(GW_STAT_EVENTS_LOST, 0) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 }, { 1003, GW_FLOW_KILLED, 0 } },
	  .events = 1, .ev_type = GW_EV_OVERLOAD_CONN, .ev_conns = 3, .ev_rate = 0 },
	{ .desc = "overloaded: every handshake is refused, with one event, until userspace clears it",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), REFUSED(1002), FIN(1001, XDP_PASS), REFUSED(1003), CLEAR(),
		   CONNECT(1004) },
	  .tracked = true, .conns = 1, .overloaded = 0,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 2), FX_STAT(GW_STAT_OVERLOAD_DROPS, 2) },
	  .flows = { { 1001, GW_FLOW_CLOSING, 0 }, { 1003, GW_FLOW_KILLED, 0 },
		     { 1004, GW_FLOW_ESTABLISHED, 1 } },
	  .events = 1, .ev_type = GW_EV_OVERLOAD_CONN, .ev_conns = 2, .ev_rate = 0 },
	{ .desc = "the client's FIN frees a slot",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), FIN(1001, XDP_PASS), CONNECT(1002) }, .tracked = true,
	  .conns = 1,
	  .flows = { { 1001, GW_FLOW_CLOSING, 0 }, { 1002, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "the server's RST frees a slot",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), RST_OUT(1001), CONNECT(1002) }, .tracked = true, .conns = 1,
	 
	  .flows = { { 1001, GW_FLOW_CLOSING, 0 }, { 1002, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "FIN both ways and an RST free one slot, once",
	  .rules = { POP3_RULE(LIMITS(2, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), FIN(1001, XDP_PASS), FIN_OUT(1001),
		   RST_OUT(1001), FIN(1001, XDP_PASS) },
	  .tracked = true, .conns = 1,
	  .flows = { { 1001, GW_FLOW_CLOSING, 0 }, { 1002, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "a closed flow's late packets pass and count nothing",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), FIN(1001, XDP_PASS), DATA(1001, XDP_PASS),
		   ACK(1001, SISN(1001) + 1) },
	  .tracked = true, .conns = 0,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 1) }, .flows = { { 1001, GW_FLOW_CLOSING, 0 } } },
	{ .desc = "a new SYN on a closed flow's ports starts a new flow",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), FIN(1001, XDP_PASS), SYN(1001) }, .tracked = true,
	  .conns = 0, .flows = { { 1001, GW_FLOW_SYN, 0 } } },
	/* max-src-conn-rate 3/10: PF's decaying counter in whole seconds. */
	{ .desc = "max-src-conn-rate 3/10: three at t=0 pass, the fourth fires",
	  .rules = { POP3_RULE(LIMITS(0, 3, 10)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), CONNECT(1003), REFUSED(1004) }, .tracked = true,
	  .conns = 3, .rate_count = 3000, .overloaded = 1,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 3), FX_STAT(GW_STAT_OVERLOAD_DROPS, 1) },
	  .flows = { { 1003, GW_FLOW_ESTABLISHED, 1 }, { 1004, GW_FLOW_KILLED, 0 } },
	  .events = 1, .ev_type = GW_EV_OVERLOAD_RATE, .ev_conns = 4, .ev_rate = 4000 },
	{ .desc = "max-src-conn-rate 3/10: at t=5 the count decayed to 1500, one passes, then it fires",
	  .rules = { POP3_RULE(LIMITS(0, 3, 10)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), CONNECT(1003), CLOCK(CLOCK_START + 5),
		   CONNECT(1004), REFUSED(1005) },
	  .tracked = true, .conns = 4, .rate_count = 2500, .overloaded = 1,
	  .events = 1, .ev_type = GW_EV_OVERLOAD_RATE, .ev_conns = 5, .ev_rate = 3500 },
	{ .desc = "max-src-conn-rate 3/10: one second short of S the count still decays only",
	  .rules = { POP3_RULE(LIMITS(0, 3, 10)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), CONNECT(1003), CLOCK(CLOCK_START + 9),
		   CONNECT(1004), CONNECT(1005), REFUSED(1006) },
	  .tracked = true, .conns = 5, .rate_count = 2300, .overloaded = 1,
	  .events = 1, .ev_type = GW_EV_OVERLOAD_RATE, .ev_conns = 6, .ev_rate = 3300 },
	{ .desc = "max-src-conn-rate 3/10: S idle seconds reset the count",
	  .rules = { POP3_RULE(LIMITS(0, 3, 10)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), CONNECT(1003), CLOCK(CLOCK_START + 10),
		   CONNECT(1004), CONNECT(1005), CONNECT(1006) },
	  .tracked = true, .conns = 6, .rate_count = 3000, .overloaded = 0,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 6), FX_STAT(GW_STAT_OVERLOAD_DROPS, 0) } },
	{ .desc = "both limits: max-src-conn fires first and names itself",
	  .rules = { POP3_RULE(LIMITS(1, 1, 1)) }, .nrules = 1,
	  .ops = { CONNECT(1001), REFUSED(1002) }, .tracked = true, .conns = 1,
	  .rate_count = 1000, .overloaded = 1,
	  .events = 1, .ev_type = GW_EV_OVERLOAD_CONN, .ev_conns = 2, .ev_rate = 2000 },
	/* Killed flows and the rules. */
	{ .desc = "a killed flow's packets are dropped and its slot given back",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { CONNECT(1001), CONNECT(1002), KILL(1001), DATA(1001, XDP_DROP),
		   FIN(1001, XDP_DROP), DATA(1002, XDP_PASS) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_FLOW_KILLED_DROPS, 2), FX_STAT(GW_STAT_DROP, 2) },
	  .flows = { { 1001, GW_FLOW_KILLED, 0 }, { 1002, GW_FLOW_ESTABLISHED, 1 } } },
	/* Shared home slots: the tuple in the slot decides, and a flow is never evicted. */
	{ .desc = "connections that share a home slot are each tracked in a slot of their own",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), SYN(1002), SYNACK(1001, SISN(1001)), SYNACK(1002, 9000),
		   ACK(1001, SISN(1001) + 1), ACK(1002, 9001), DATA(1001, XDP_PASS),
		   FIN(1002, XDP_PASS) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 0), FX_STAT(GW_STAT_HANDSHAKES, 2),
		     FX_STAT(GW_STAT_BAD_ACK, 0) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1, SISN(1001) },
		     { 1002, GW_FLOW_CLOSING, 0, 9000 } } },
	/* A full window: a SYN takes a half-open or closing flow's slot, else it is refused. */
	{ .desc = "a window of half-open flows: a new SYN takes the oldest's slot and is tracked",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), CLOCK(CLOCK_START + 1), SYN(1002), SYN(1003), SYN(1004),
		   SYN(1005), SYN(1006), SYN(1007), SYN(1008), SYN(1009), CONNECT(1009) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 1), FX_STAT(GW_STAT_FLOWS_EVICTED, 1),
		     FX_STAT(GW_STAT_FLOWS_FULL_DROPS, 0), FX_STAT(GW_STAT_HANDSHAKES, 1) },
	  .flows = { { 1001, 0 }, { 1002, GW_FLOW_SYN, 0 }, { 1008, GW_FLOW_SYN, 0 },
		     { 1009, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "the oldest half-open flow gives way, not the first slot's (a retransmitted SYN is news)",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), SYN(1002), SYN(1003), SYN(1004), SYN(1005), SYN(1006),
		   SYN(1007), SYN(1008), CLOCK(CLOCK_START + 2), SYN(1001), SYN(1009) },
	  .stats = { FX_STAT(GW_STAT_FLOWS_EVICTED, 1) },
	  .flows = { { 1001, GW_FLOW_SYN, 0 }, { 1002, 0 }, { 1003, GW_FLOW_SYN, 0 },
		     { 1009, GW_FLOW_SYN, 0 } } },
	{ .desc = "a closing flow gives way before older half-open ones",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), SYN(1002), SYN(1003), SYN(1004), SYN(1005), SYN(1006),
		   SYN(1007), CLOCK(CLOCK_START + 5), CONNECT(1008), FIN(1008, XDP_PASS), SYN(1009) },
	  .tracked = true, .conns = 0,
	  .stats = { FX_STAT(GW_STAT_FLOWS_EVICTED, 1) },
	  .flows = { { 1001, GW_FLOW_SYN, 0 }, { 1008, 0 }, { 1009, GW_FLOW_SYN, 0 } } },
	{ .desc = "a SYN the server has not answered gives way before an older answered one",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), SYNACK(1001, 9000), SYN(1002), SYNACK(1002, 9000),
		   CLOCK(CLOCK_START + 3), SYN(1003), SYN(1004), SYN(1005), SYN(1006), SYN(1007),
		   SYN(1008), SYN(1009) },
	  .stats = { FX_STAT(GW_STAT_FLOWS_EVICTED, 1) },
	  .flows = { { 1001, GW_FLOW_SYNACK, 0 }, { 1002, GW_FLOW_SYNACK, 0 }, { 1003, 0 },
		     { 1009, GW_FLOW_SYN, 0 } } },
	{ .desc = "a window of established flows: a new SYN is dropped and counted, none evicted",
	  .rules = { POP3_RULE(LIMITS(8, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), CONNECT(1001), CONNECT(1002), CONNECT(1003), CONNECT(1004),
		   CONNECT(1005), CONNECT(1006), CONNECT(1007), CONNECT(1008), SYN_DROPPED(1009),
		   SYN_DROPPED(1010), DATA(1001, XDP_PASS), DATA(1008, XDP_PASS) },
	  .tracked = true, .conns = 8,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 2), FX_STAT(GW_STAT_FLOWS_FULL_DROPS, 2),
		     FX_STAT(GW_STAT_FLOWS_EVICTED, 0), FX_STAT(GW_STAT_HANDSHAKES, 8) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 }, { 1008, GW_FLOW_ESTABLISHED, 1 },
		     { 1009, 0 } } },
	{ .desc = "established and killed flows never give way; a closed one's slot is taken",
	  .rules = { POP3_RULE(LIMITS(8, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), CONNECT(1001), CONNECT(1002), CONNECT(1003), CONNECT(1004),
		   CONNECT(1005), CONNECT(1006), CONNECT(1007), CONNECT(1008), KILL(1001),
		   SYN_DROPPED(1009), FIN(1008, XDP_PASS), CONNECT(1009), DATA(1001, XDP_DROP) },
	  .tracked = true, .conns = 7,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL_DROPS, 1), FX_STAT(GW_STAT_FLOWS_EVICTED, 1),
		     FX_STAT(GW_STAT_FLOW_KILLED_DROPS, 1) },
	  .flows = { { 1001, GW_FLOW_KILLED, 0 }, { 1008, 0 }, { 1009, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "a flooded window, then a real handshake: it is counted and max-src-conn holds",
	  .rules = { POP3_RULE(LIMITS(1, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), SYN(1001), SYN(1002), SYN(1003), SYN(1004), SYN(1005), SYN(1006),
		   SYN(1007), SYN(1008), CONNECT(1009), REFUSED(1010) },
	  .tracked = true, .conns = 1, .overloaded = 1,
	  .stats = { FX_STAT(GW_STAT_HANDSHAKES, 1), FX_STAT(GW_STAT_OVERLOAD_DROPS, 1),
		     FX_STAT(GW_STAT_FLOWS_EVICTED, 2) },
	  .flows = { { 1009, GW_FLOW_ESTABLISHED, 1 }, { 1010, GW_FLOW_KILLED, 0 } },
	  .events = 1, .ev_type = GW_EV_OVERLOAD_CONN, .ev_conns = 2 },
	/* max-src-states: the source's half-open and counted flows. */
	{ .desc = "max-src-states 3: a fourth half-open flow's SYN is dropped and counted",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0), .max_src_states = 3) }, .nrules = 1,
	  .ops = { SYN(1001), SYN(1002), SYN(1003), SYN_DROPPED(1004), SYNACK(1001, SISN(1001)),
		   ACK(1001, SISN(1001) + 1), SYN_DROPPED(1005), FIN(1001, XDP_PASS), SYN(1005),
		   SYN_DROPPED(1006) },
	  .tracked = true, .conns = 0,
	  .stats = { FX_STAT(GW_STAT_SRC_STATES_DROPS, 3), FX_STAT(GW_STAT_HANDSHAKES, 1),
		     FX_STAT(GW_STAT_FLOWS_FULL, 0) },
	  .flows = { { 1001, GW_FLOW_CLOSING, 0 }, { 1004, 0 }, { 1005, GW_FLOW_SYN, 0 },
		     { 1006, 0 } } },
	{ .desc = "flows in every slot of a shared home are found, the last one too",
	  .rules = { POP3_RULE(LIMITS(8, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), CONNECT(1001), CONNECT(1002), CONNECT(1003), CONNECT(1004),
		   CONNECT(1005), CONNECT(1006), CONNECT(1007), CONNECT(1008), DATA(1008, XDP_PASS),
		   DATA(1004, XDP_PASS), KILL(1007), DATA(1007, XDP_DROP), DATA(1008, XDP_PASS),
		   FIN(1008, XDP_PASS) },
	  .tracked = true, .conns = 6,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 0), FX_STAT(GW_STAT_HANDSHAKES, 8),
		     FX_STAT(GW_STAT_FLOW_KILLED_DROPS, 1) },
	  .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 }, { 1004, GW_FLOW_ESTABLISHED, 1 },
		     { 1007, GW_FLOW_KILLED, 0 }, { 1008, GW_FLOW_CLOSING, 0 } } },
	{ .desc = "another connection beside a killed flow is not dropped and undoes no kill",
	  .rules = { POP3_RULE(LIMITS(5, 0, 0)) }, .nrules = 1,
	  .ops = { COLLIDE(), CONNECT(1001), KILL(1001), CONNECT(1002), DATA(1002, XDP_PASS),
		   DATA(1001, XDP_DROP) },
	  .tracked = true, .conns = 1,
	  .stats = { FX_STAT(GW_STAT_FLOWS_FULL, 0), FX_STAT(GW_STAT_FLOW_KILLED_DROPS, 1),
		     FX_STAT(GW_STAT_HANDSHAKES, 2) },
	  .flows = { { 1001, GW_FLOW_KILLED, 0 }, { 1002, GW_FLOW_ESTABLISHED, 1 } } },
	{ .desc = "a tracked flow's packets skip the rules (PF's state match)",
	  .rules = { RULE(GW_ACT_BLOCK_DROP, .dport_lo = POP3, .dport_hi = POP3),
		     POP3_RULE(LIMITS(5, 0, 0)) },
	  .nrules = 2, .rule = 1,
	  .ops = { CONNECT(1001), DATA(1001, XDP_PASS), DATA(1002, XDP_DROP) }, .tracked = true,
	  .conns = 1, .flows = { { 1001, GW_FLOW_ESTABLISHED, 1 } } },
};

static int flow_get(const struct flow_env *env, uint16_t port, struct gw_flow *f)
{
	struct gw_flow_tuple t;

	if (fx_flow_tuple(env->client, port, env->server, POP3, &t))
		return -1;
	return fx_flow_get(&t, f);
}

/*
 * NH adds each half of a tuple word to its seed word: with the seed word
 * of the ports' word 0, its other half (the padding, 0) zeroes their
 * product, and two connections that differ in the client's port share a
 * hash, so a home slot.
 */
static int flow_collide(const struct flow_env *env)
{
	struct gw_flow_tuple a, b;
	uint32_t ha, hb;

	if (fx_flow_seed_word(4, 0) ||
	    fx_flow_tuple(env->client, 1001, env->server, POP3, &a) ||
	    fx_flow_tuple(env->client, 1002, env->server, POP3, &b) || fx_flow_home(&a, &ha) ||
	    fx_flow_home(&b, &hb))
		return -1;
	return ha == hb ? 0 : -1;
}

/* Run one op; returns the verdict of its (last) packet. */
static int flow_op(const struct flow_env *env, uint32_t rule, const struct flow_op *op)
{
	uint16_t p = op->port;
	struct gw_src_track t;
	struct gw_flow f;
	int v;

	switch (op->kind) {
	case OP_SYN:
		return flow_send(env, true, p, 0x02, CISN(p), 0, 0);
	case OP_SYNACK:
		return flow_send(env, false, p, 0x12, op->arg, CISN(p) + 1, 0);
	case OP_ACK:
		return flow_send(env, true, p, 0x10, CISN(p) + 1, op->arg, 0);
	case OP_CONNECT:
		v = flow_send(env, true, p, 0x02, CISN(p), 0, 0);
		if (v != XDP_PASS)
			return -1;
		if (flow_send(env, false, p, 0x12, SISN(p), CISN(p) + 1, 0) != TC_ACT_OK)
			return -1;
		return flow_send(env, true, p, 0x10, CISN(p) + 1, SISN(p) + 1, 0);
	case OP_DATA:
		return flow_send(env, true, p, 0x18, CISN(p) + 1, SISN(p) + 1, 20);
	case OP_FIN:
		return flow_send(env, true, p, 0x11, CISN(p) + 1, SISN(p) + 1, 0);
	case OP_FIN_OUT:
		return flow_send(env, false, p, 0x11, SISN(p) + 1, CISN(p) + 1, 0);
	case OP_RST_OUT:
		return flow_send(env, false, p, 0x04, SISN(p) + 1, 0, 0);
	case OP_CLOCK:
		fx_clock(op->arg);
		return 0;
	case OP_CLEAR:
		if (fx_src_track_get(env->client, rule, &t))
			return -1;
		t.overloaded = 0;
		return fx_src_track_put(env->client, rule, &t);
	case OP_KILL:
		if (flow_get(env, p, &f))
			return -1;
		f.state = GW_FLOW_KILLED;
		return fx_flow_put(&f);
	case OP_COLLIDE:
		return flow_collide(env);
	}
	return -1;
}

static const char *op_name(int kind)
{
	static const char *names[] = { "end",	  "SYN",     "SYN-ACK", "ACK",	 "connect",
				       "data",	  "FIN",     "FIN out", "RST out", "clock",
				       "clear",	  "kill",    "collide" };

	return kind >= 0 && kind <= OP_COLLIDE ? names[kind] : "?";
}

static void check_event(const struct flow_env *env, const struct flow_case *c,
			const struct gw_event *ev)
{
	struct gw_addr want;
	struct addr_prefix p;

	addr_parse(env->client, &p);
	addr_to_key(&p, &want);
	CHECK(ev->type == c->ev_type && ev->rule == c->rule && ev->conns == c->ev_conns &&
		      ev->rate_count == c->ev_rate && !memcmp(&ev->addr, &want, sizeof(want)),
	      "%s: event type %u rule %u conns %u rate %u (want %u, %u, %u, %u), from the client",
	      env->desc, ev->type, ev->rule, ev->conns, ev->rate_count, c->ev_type, c->rule,
	      c->ev_conns, c->ev_rate);
	CHECK(ev->when >= CLOCK_START && ev->when <= CLOCK_START + 10,
	      "%s: event time %llu is the data path's clock", env->desc,
	      (unsigned long long)ev->when);
}

/* Flows of key's source and rule among n: those counted (counted) or holding a half-open count. */
static uint32_t flows_of(const struct gw_flow *flows, uint32_t n, const struct gw_src_key *key,
			 bool counted)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++)
		if (flows[i].state != GW_FLOW_FREE && flows[i].rule == key->rule &&
		    !memcmp(&flows[i].tuple.client, &key->addr, sizeof(key->addr)) &&
		    (counted ? flows[i].counted : flows[i].halfopen))
			k++;
	return k;
}

/*
 * What the flow table and the source counts must agree on once the data
 * path is idle: each source's conns is its counted flows, each half-open
 * count its flows holding one, and no flow holds a count nobody keeps; a
 * flow holds a half-open count only while half-open, and is counted only
 * while established. Nothing a flood evicts leaves a count behind.
 */
static void check_flow_counts(const char *desc)
{
	static struct gw_flow flows[FX_FLOWS_MAX];
	uint32_t counted = 0, halfopen = 0, sum_conns = 0, bad = 0;
	int64_t sum_halfopen = 0;
	struct gw_src_key key, next;
	void *prev;

	for (uint32_t slot = 0; slot < FX_FLOWS_MAX; slot++) {
		struct gw_flow *f = &flows[slot];

		if (bpf_map_lookup_elem(fx_flows_fd(), &slot, f))
			memset(f, 0, sizeof(*f));
		counted += f->counted;
		halfopen += f->halfopen;
		bad += f->counted && f->state != GW_FLOW_ESTABLISHED;
		bad += f->halfopen && f->state != GW_FLOW_SYN && f->state != GW_FLOW_SYNACK;
	}
	CHECK_INT(bad, 0, "%s: counts held only by established (conns) and half-open flows",
		  desc);
	for (prev = NULL; !bpf_map_get_next_key(fx_src_track_fd(), prev, &next); prev = &key) {
		struct gw_src_track t;

		key = next;
		if (bpf_map_lookup_elem(fx_src_track_fd(), &key, &t))
			continue;
		sum_conns += t.conns;
		bad += t.conns != flows_of(flows, FX_FLOWS_MAX, &key, true);
	}
	for (prev = NULL; !bpf_map_get_next_key(fx_src_halfopen_fd(), prev, &next); prev = &key) {
		struct gw_src_halfopen h;

		key = next;
		if (bpf_map_lookup_elem(fx_src_halfopen_fd(), &key, &h))
			continue;
		sum_halfopen += h.count;
		bad += (uint32_t)h.count != flows_of(flows, FX_FLOWS_MAX, &key, false);
	}
	CHECK(!bad && sum_conns == counted && sum_halfopen == halfopen,
	      "%s: source counts match the flows (conns %u, counted flows %u; half-open %lld, "
	      "flows holding one %u; %u sources off)",
	      desc, sum_conns, counted, (long long)sum_halfopen, halfopen, bad);
}

static void run_flow_case(const struct flow_case *c, int family)
{
	struct gw_event ev[4];
	struct gw_src_track t;
	struct flow_env env;
	int err, n;

	flow_env_init(&env, family, c->desc);
	fx_reset();
	fx_rules(c->rules, c->nrules);
	fx_clock(CLOCK_START);
	for (int i = 0; c->ops[i].kind; i++) {
		const struct flow_op *op = &c->ops[i];
		int v = flow_op(&env, c->rule, op);

		if (op->kind >= OP_CLOCK)
			CHECK(v == 0, "%s: step %d (%s)", env.desc, i, op_name(op->kind));
		else
			CHECK_INT(v, op->verdict, "%s: step %d (%s port %u) verdict", env.desc,
				  i, op_name(op->kind), op->port);
	}
	for (const struct flow_expect *e = c->flows; e->port; e++) {
		struct gw_flow f;

		err = flow_get(&env, e->port, &f);
		if (!e->state) {
			CHECK(err == -ENOENT, "%s: no flow for port %u", env.desc, e->port);
			continue;
		}
		CHECK(!err && f.state == e->state && f.counted == e->counted &&
			      f.rule == c->rule && (!e->server_isn || f.server_isn == e->server_isn),
		      "%s: flow of port %u: state %d counted %d rule %d isn %u (want %d, %d, %u, %u)",
		      env.desc, e->port, f.state, f.counted, f.rule, f.server_isn, e->state,
		      e->counted, c->rule, e->server_isn);
	}
	err = fx_src_track_get(env.client, c->rule, &t);
	if (!c->tracked)
		CHECK(err == -ENOENT, "%s: the client is not tracked", env.desc);
	else
		CHECK(!err && t.conns == c->conns && t.rate_count == c->rate_count &&
			      t.overloaded == c->overloaded,
		      "%s: source tracking conns %u rate %u overloaded %u (want %u, %u, %u)",
		      env.desc, t.conns, t.rate_count, t.overloaded, c->conns, c->rate_count,
		      c->overloaded);
	for (const struct fx_stat_expect *e = c->stats; e->stat; e++)
		CHECK_INT(fx_stat(e->stat - 1), e->value, "%s: stat %d", env.desc, e->stat - 1);
	CHECK_INT(fx_stat(GW_STAT_PASS) + fx_stat(GW_STAT_DROP), fx_stat(GW_STAT_PACKETS),
		  "%s: pass + drop = packets", env.desc);
	check_flow_counts(env.desc);
	n = fx_events(ev, 4);
	CHECK_INT(n, c->events, "%s: overload events", env.desc);
	if (n > 0 && c->events > 0)
		check_event(&env, c, &ev[0]);
	CHECK_INT(fx_rule_stats(c->rule).overloads, c->events, "%s: the rule's overload count",
		  env.desc);
}

SELFTEST(flows)
{
	for (size_t i = 0; i < sizeof(flow_cases) / sizeof(flow_cases[0]); i++) {
		run_flow_case(&flow_cases[i], 4);
		run_flow_case(&flow_cases[i], 6);
	}
}

/* The n-th of many sources of the family's documentation range. */
static void nth_source(int family, uint32_t n, char *buf, size_t len)
{
	if (family == 4)
		snprintf(buf, len, "198.18.%u.%u", (n >> 8) & 0xff, n & 0xff);
	else
		snprintf(buf, len, "2001:db8:f::%x", n + 1);
}

static int map_count(int fd)
{
	uint8_t key[64], next[64];
	int n = 0;

	if (bpf_map_get_next_key(fd, NULL, key))
		return 0;
	for (n = 1; !bpf_map_get_next_key(fd, key, next); n++)
		memcpy(key, next, sizeof(key));
	return n;
}

/* Slots of gw_flows that hold a flow. */
static uint32_t flows_used(void)
{
	uint32_t n = 0;
	struct gw_flow f;

	for (uint32_t slot = 0; slot < FX_FLOWS_MAX; slot++)
		if (!bpf_map_lookup_elem(fx_flows_fd(), &slot, &f) && f.state != GW_FLOW_FREE)
			n++;
	return n;
}

/* Rule 0 of the cases below: max-src-conn 1, max-src-conn-rate 3/10. */
static const struct gw_rule limit_rule = POP3_RULE(LIMITS(1, 3, 10));

/* A fresh fixture with limit_rule and the clock at CLOCK_START. */
static void flow_setup(struct flow_env *env, int family, const char *what)
{
	flow_env_init(env, family, what);
	fx_reset();
	fx_rules(&limit_rule, 1);
	fx_clock(CLOCK_START);
}

/*
 * No flood switches the limits off: a flow table full of established flows
 * refuses a new connection (its SYN dropped, counted) and evicts none; full of half-open or closing
 * flows, it tracks the new one in the slot of one of them, and its limits
 * hold.
 */
SELFTEST(flows_table_full)
{
	static const struct {
		uint8_t state;
		bool taken;	/* a new SYN takes a slot */
	} fills[] = {
		{ GW_FLOW_ESTABLISHED, false },
		{ GW_FLOW_KILLED, false },
		{ GW_FLOW_SYN, true },
		{ GW_FLOW_SYNACK, true },
		{ GW_FLOW_CLOSING, true },
	};

	for (int family = 4; family <= 6; family += 2) {
		for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
			struct flow_env env;
			struct gw_flow f;
			char what[64];

			snprintf(what, sizeof(what), "gw_flows full of state %u flows", fills[i].state);
			flow_setup(&env, family, what);
			CHECK(!fx_fill_flows(fills[i].state), "%s: filled", env.desc);
			if (!fills[i].taken) {
				CHECK_INT(flow_op(&env, 0, &(struct flow_op)SYN_DROPPED(1001)),
					  XDP_DROP, "%s: the SYN is dropped", env.desc);
				CHECK_INT(fx_stat(GW_STAT_FLOWS_FULL_DROPS), 1,
					  "%s: GW_STAT_FLOWS_FULL_DROPS", env.desc);
				CHECK_INT(fx_stat(GW_STAT_FLOWS_EVICTED), 0, "%s: none evicted",
					  env.desc);
				CHECK_INT(fx_stat(GW_STAT_FLOWS_CREATED), 0, "%s: none created",
					  env.desc);
				CHECK(flow_get(&env, 1001, &f) == -ENOENT, "%s: no flow", env.desc);
				CHECK_INT(flows_used(), FX_FLOWS_MAX, "%s: every flow kept",
					  env.desc);
				check_flow_counts(env.desc);
				continue;
			}
			CHECK_INT(flow_op(&env, 0, &(struct flow_op)CONNECT(1001)), XDP_PASS,
				  "%s: the handshake passes", env.desc);
			CHECK_INT(flow_op(&env, 0, &(struct flow_op)REFUSED(1002)), XDP_DROP,
				  "%s: a second one is refused (max-src-conn 1)", env.desc);
			CHECK_INT(fx_stat(GW_STAT_FLOWS_EVICTED), 2, "%s: two slots taken over",
				  env.desc);
			CHECK_INT(fx_stat(GW_STAT_FLOWS_CREATED), 2,
				  "%s: two flows created (the sweeper's idle check)", env.desc);
			CHECK_INT(fx_stat(GW_STAT_FLOWS_FULL_DROPS), 0, "%s: no SYN dropped",
				  env.desc);
			CHECK_INT(fx_stat(GW_STAT_HANDSHAKES), 1, "%s: one counted", env.desc);
			CHECK(!flow_get(&env, 1001, &f) && f.state == GW_FLOW_ESTABLISHED &&
				      f.counted,
			      "%s: the first is established and counted", env.desc);
			check_flow_counts(env.desc);
		}
	}
	fx_reset();
}

/*
 * Without max-src-states a source holds at most GW_SRC_HALFOPEN_DEFAULT
 * half-open flows under a rule: its next SYN is dropped and counted,
 * another source's passes, and a handshake completing gives one back.
 * A count no SYN took for GW_SRC_HALFOPEN_STALE seconds starts over.
 */
SELFTEST(flows_src_halfopen)
{
	for (int family = 4; family <= 6; family += 2) {
		struct flow_env env, other;
		struct gw_src_halfopen h;
		int bad = 0;

		flow_setup(&env, family, "half-open bound");
		other = env;
		other.client = family == 4 ? "203.0.113.77" : "2001:db8:77::1";
		for (uint16_t i = 0; i < GW_SRC_HALFOPEN_DEFAULT; i++)
			bad |= flow_op(&env, 0, &(struct flow_op)SYN(2000 + i)) != XDP_PASS;
		CHECK(!bad, "%s: %d half-open flows pass", env.desc, GW_SRC_HALFOPEN_DEFAULT);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)SYN_DROPPED(3000)), XDP_DROP,
			  "%s: the next SYN is dropped", env.desc);
		CHECK_INT(fx_stat(GW_STAT_SRC_STATES_DROPS), 1, "%s: GW_STAT_SRC_STATES_DROPS",
			  env.desc);
		CHECK_INT(flow_op(&other, 0, &(struct flow_op)SYN(3000)), XDP_PASS,
			  "%s: another source's SYN passes", env.desc);
		flow_op(&env, 0, &(struct flow_op)SYNACK(2000, SISN(2000)));
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)ACK(2000, SISN(2000) + 1)), XDP_PASS,
			  "%s: one handshake completes", env.desc);
		CHECK(!fx_src_halfopen_get(env.client, 0, &h) &&
			      h.count == GW_SRC_HALFOPEN_DEFAULT - 1,
		      "%s: and gives its half-open count back (%d)", env.desc, h.count);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)SYN(3001)), XDP_PASS,
			  "%s: so one more SYN passes", env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)SYN_DROPPED(3002)), XDP_DROP,
			  "%s: and no more", env.desc);
		check_flow_counts(env.desc);
		fx_clock(CLOCK_START + GW_SRC_HALFOPEN_STALE + 1);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)SYN(3003)), XDP_PASS,
			  "%s: a stale count starts over", env.desc);
	}
}

/* A full source table: the handshake is established uncounted, and passes. */
SELFTEST(flows_src_track_full)
{
	for (int family = 4; family <= 6; family += 2) {
		struct flow_env env;
		struct gw_flow f;

		flow_setup(&env, family, "gw_src_track full");
		CHECK(!fx_fill_map(fx_src_track_fd()), "%s: filled",
		      env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)CONNECT(1001)), XDP_PASS,
			  "%s: the handshake passes", env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)CONNECT(1002)), XDP_PASS,
			  "%s: a second one passes too", env.desc);
		CHECK_INT(fx_stat(GW_STAT_SRC_TRACK_FULL), 2, "%s: GW_STAT_SRC_TRACK_FULL",
			  env.desc);
		CHECK_INT(fx_stat(GW_STAT_HANDSHAKES), 0, "%s: nothing counted", env.desc);
		CHECK(!flow_get(&env, 1001, &f) && f.state == GW_FLOW_ESTABLISHED && !f.counted,
		      "%s: the flow is established, uncounted", env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)FIN(1001, XDP_PASS)),
			  XDP_PASS, "%s: its FIN passes", env.desc);
	}
}

/*
 * A spoofed flood: SYNs from more forged sources than the flow table
 * holds, the server's SYN-ACKs going to them, and ACKs guessing the
 * number. A real client connects in the middle of it and, once that
 * connection closed, after it, with the table full: every SYN takes a
 * slot (half-open flows give way), so the real client's connections are
 * tracked and max-src-conn 1 still refuses a second one; no forged source
 * is tracked or counted, and no count is left behind.
 */
#define FLOOD_SOURCES (FX_FLOWS_MAX + 512)

SELFTEST(flows_spoofed_flood)
{
	for (int family = 4; family <= 6; family += 2) {
		struct flow_env env, forged;
		char addr[64];
		uint32_t used;
		int bad = 0;

		flow_setup(&env, family, "spoofed flood");
		forged = env;
		forged.client = addr;
		for (uint32_t i = 0; i < FLOOD_SOURCES; i++) {
			uint16_t port = (uint16_t)(1024 + i);

			nth_source(family, i, addr, sizeof(addr));
			bad |= flow_send(&forged, true, port, 0x02, i, 0, 0) != XDP_PASS;
			bad |= flow_send(&forged, false, port, 0x12, SISN(i), i + 1, 0) != TC_ACT_OK;
			bad |= flow_send(&forged, true, port, 0x10, i + 1, SISN(i) + 1 + i % 7 + 1,
					 0) != XDP_PASS;
			if (i == FLOOD_SOURCES / 2)
				CHECK_INT(flow_op(&env, 0, &(struct flow_op)CONNECT(40000)),
					  XDP_PASS, "%s: the real client is served", env.desc);
		}
		CHECK(!bad, "%s: every forged packet passed to the server's TCP", env.desc);
		/* Closed first: max-src-conn 1 would refuse a second one at once. */
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)FIN(40000, XDP_PASS)), XDP_PASS,
			  "%s: the real client closes", env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)CONNECT(40001)), XDP_PASS,
			  "%s: the real client is served with the flow table full", env.desc);
		CHECK_INT(flow_op(&env, 0, &(struct flow_op)REFUSED(40002)), XDP_DROP,
			  "%s: and max-src-conn 1 refuses its second connection", env.desc);
		used = flows_used();
		printf("# %s: %u of %u slots used; SYNs finding their slots full %llu, "
		       "evictions %llu, dropped %llu\n",
		       env.desc, used, FX_FLOWS_MAX, (unsigned long long)fx_stat(GW_STAT_FLOWS_FULL),
		       (unsigned long long)fx_stat(GW_STAT_FLOWS_EVICTED),
		       (unsigned long long)fx_stat(GW_STAT_FLOWS_FULL_DROPS));
		CHECK(fx_stat(GW_STAT_FLOWS_EVICTED) > 0 &&
			      fx_stat(GW_STAT_FLOWS_EVICTED) == fx_stat(GW_STAT_FLOWS_FULL),
		      "%s: every SYN that found its slots full took one over (%llu of %llu)",
		      env.desc, (unsigned long long)fx_stat(GW_STAT_FLOWS_EVICTED),
		      (unsigned long long)fx_stat(GW_STAT_FLOWS_FULL));
		CHECK_INT(fx_stat(GW_STAT_FLOWS_FULL_DROPS), 0, "%s: no SYN dropped", env.desc);
		CHECK_INT(fx_stat(GW_STAT_HANDSHAKES), 2, "%s: only the real client's two counted",
			  env.desc);
		CHECK_INT(fx_stat(GW_STAT_OVERLOAD_DROPS), 1, "%s: its third refused", env.desc);
		CHECK_INT(map_count(fx_src_track_fd()), 1, "%s: no forged source is tracked",
			  env.desc);
		CHECK_INT(fx_events(NULL, 0), 1, "%s: one overload, the real client's", env.desc);
		check_flow_counts(env.desc);
	}
}

/*
 * An established flow's packets take their time from greywalld's tick,
 * without reading the clock; the packets that change a flow's state read
 * the clock.
 */
SELFTEST(flows_tick)
{
	for (int family = 4; family <= 6; family += 2) {
		const uint64_t sec = 1000000000ULL, tick = (CLOCK_START + 7) * sec;
		struct flow_env env;
		struct gw_flow f;

		flow_setup(&env, family, "tick");
		flow_op(&env, 0, &(struct flow_op)CONNECT(1001));
		CHECK(!flow_get(&env, 1001, &f) && f.last_ns == CLOCK_START * sec,
		      "%s: the handshake reads the clock", env.desc);
		flow_op(&env, 0, &(struct flow_op)DATA(1001, XDP_PASS));
		CHECK(!flow_get(&env, 1001, &f) && f.last_ns == CLOCK_START * sec,
		      "%s: no tick yet: a data segment reads the clock", env.desc);
		CHECK(!fx_flow_tick(tick), "%s: tick", env.desc);
		flow_op(&env, 0, &(struct flow_op)DATA(1001, XDP_PASS));
		CHECK(!flow_get(&env, 1001, &f) && f.last_ns == tick,
		      "%s: a data segment takes the tick", env.desc);
		fx_clock(CLOCK_START + 9);
		flow_op(&env, 0, &(struct flow_op)FIN(1001, XDP_PASS));
		CHECK(!flow_get(&env, 1001, &f) && f.state == GW_FLOW_CLOSING &&
			      f.last_ns == (CLOCK_START + 9) * sec,
		      "%s: the FIN reads the clock", env.desc);
	}
}

/* A tracked flow's packets are the rule's (PF: state packets count on the rule), not evaluated. */
SELFTEST(flows_rule_stats)
{
	for (int family = 4; family <= 6; family += 2) {
		struct flow_env env;
		struct gw_rule_stats st;

		flow_setup(&env, family, "rule stats");
		flow_op(&env, 0, &(struct flow_op)CONNECT(1001));
		flow_op(&env, 0, &(struct flow_op)DATA(1001, XDP_PASS));
		st = fx_rule_stats(0);
		CHECK(st.evaluations == 1 && st.matches == 1 && st.packets == 3,
		      "%s: evaluations %llu matches %llu packets %llu (want 1, 1, 3)", env.desc,
		      (unsigned long long)st.evaluations, (unsigned long long)st.matches,
		      (unsigned long long)st.packets);
	}
}

/*
 * The port's counters are looked up on a guess, its rule that takes any
 * source (struct gw_flow_port): a flow of the port's other rule, the quick
 * one for sources in <other>, counts on its own rule all the same.
 */
SELFTEST(flows_rule_guess)
{
	static const struct gw_rule rules[] = {
		POP3_RULE(LIMITS(1, 1, 1), .src_tables = T_OTHER,
			  .flags = GW_RULE_FLAGS_S_SA | GW_RULE_KEEP_STATE | GW_RULE_QUICK),
		POP3_RULE(LIMITS(5, 0, 0)),
	};

	for (int family = 4; family <= 6; family += 2) {
		struct gw_rule_stats quick, general;
		struct flow_env env;
		struct gw_flow f;

		flow_env_init(&env, family, "rule guess");
		fx_reset();
		fx_rules(rules, 2);
		fx_clock(CLOCK_START);
		flow_op(&env, 0, &(struct flow_op)CONNECT(1001));
		flow_op(&env, 0, &(struct flow_op)DATA(1001, XDP_PASS));
		CHECK(!flow_get(&env, 1001, &f) && f.rule == 1 && f.state == GW_FLOW_ESTABLISHED,
		      "%s: an unlisted client's flow is the general rule's", env.desc);
		CHECK(!fx_put(env.client, T_OTHER), "%s: the client into <other>", env.desc);
		flow_op(&env, 0, &(struct flow_op)CONNECT(1002));
		flow_op(&env, 0, &(struct flow_op)DATA(1002, XDP_PASS));
		flow_op(&env, 0, &(struct flow_op)DATA(1002, XDP_PASS));
		CHECK(!flow_get(&env, 1002, &f) && f.rule == 0 && f.state == GW_FLOW_ESTABLISHED,
		      "%s: then its flow is the quick rule's", env.desc);
		quick = fx_rule_stats(0);
		general = fx_rule_stats(1);
		/* A handshake's SYN and ACK, then its data segments. */
		CHECK(quick.packets == 4 && general.packets == 3,
		      "%s: packets %llu on the quick rule, %llu on the general (want 4, 3)",
		      env.desc, (unsigned long long)quick.packets,
		      (unsigned long long)general.packets);
	}
}

/*
 * An established flow's data segments however they are framed: VLAN tags,
 * IPv4 options, IPv6 extension headers. The inline path finds the flow
 * from the parsed ports in every one (passed, counted on the flow's rule),
 * and a killed flow's segments are dropped in every one.
 */
SELFTEST(flows_framing)
{
	static const struct {
		const char *what;
		int family;		/* 0: both */
		struct pkt_spec spec;
	} framings[] = {
		{ "plain", 0, { 0 } },
		{ "one 802.1Q tag", 0, { .nvlan = 1, .vlan_id = { 100 } } },
		{ "802.1ad + 802.1Q", 0,
		  { .nvlan = 2, .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }, .vlan_id = { 100, 200 } } },
		{ "IPv4 options", 4, { .ip_opts_len = 8 } },
		{ "hop-by-hop + destination options", 6,
		  { .next = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS } } },
	};

	for (int family = 4; family <= 6; family += 2) {
		for (int killed = 0; killed < 2; killed++) {
			struct flow_env env;
			uint64_t before;
			int bad = 0, sent = 0;

			flow_setup(&env, family, killed ? "framing, killed flow" : "framing");
			flow_op(&env, 0, &(struct flow_op)CONNECT(1001));
			if (killed)
				flow_op(&env, 0, &(struct flow_op)KILL(1001));
			before = fx_rule_stats(0).packets;
			for (size_t i = 0; i < sizeof(framings) / sizeof(framings[0]); i++) {
				struct pkt_spec s = framings[i].spec;
				uint8_t buf[PKT_MAX];
				size_t len;
				int v;

				if (framings[i].family && framings[i].family != family)
					continue;
				s.family = family;
				s.proto = IPPROTO_TCP;
				s.tcp_flags = 0x18;
				s.src = env.client;
				s.dst = env.server;
				s.sport = 1001;
				s.dport = POP3;
				s.seq = CISN(1001) + 1;
				s.ack = SISN(1001) + 1;
				s.payload = 20;
				len = pkt_build(&s, buf, NULL);
				v = len ? fx_run_xdp(buf, len, NULL, NULL) : -1;
				CHECK_INT(v, killed ? XDP_DROP : XDP_PASS, "%s: %s", env.desc,
					  framings[i].what);
				bad |= v < 0;
				sent++;
			}
			CHECK(!bad, "%s: every framing built", env.desc);
			if (killed)
				CHECK_INT(fx_stat(GW_STAT_FLOW_KILLED_DROPS), (uint64_t)sent,
					  "%s: each a killed-flow drop", env.desc);
			else
				CHECK_INT(fx_rule_stats(0).packets - before, (uint64_t)sent,
					  "%s: each counted on the flow's rule", env.desc);
			CHECK_INT(fx_rule_stats(0).evaluations, 1,
				  "%s: none evaluated by the rules (only the SYN was)", env.desc);
		}
	}
}

/*
 * More overloads than the ring holds: the lost ones are counted, and the
 * source is not marked overloaded, so its next handshake reports again.
 */
#define LOST_SOURCES (FX_EVENTS_BYTES / sizeof(struct gw_event))

SELFTEST(flows_events_lost)
{
	for (int family = 4; family <= 6; family += 2) {
		struct gw_src_track one = { .conns = 1 }, t;
		struct flow_env env, src;
		char addr[64];
		int bad = 0, n;

		flow_setup(&env, family, "events lost");
		src = env;
		src.client = addr;
		/* Each source already holds its one connection: its next one fires. */
		for (uint32_t i = 0; i < LOST_SOURCES; i++) {
			nth_source(family, i, addr, sizeof(addr));
			bad |= fx_src_track_put(addr, 0, &one) != 0;
			bad |= flow_op(&src, 0, &(struct flow_op)REFUSED(2000)) !=
			       XDP_DROP;
		}
		CHECK(!bad, "%s: %zu sources refused", env.desc, LOST_SOURCES);
		CHECK(fx_stat(GW_STAT_EVENTS_LOST) > 0, "%s: GW_STAT_EVENTS_LOST %llu", env.desc,
		      (unsigned long long)fx_stat(GW_STAT_EVENTS_LOST));
		n = fx_events(NULL, 0);
		CHECK_INT((uint64_t)n + fx_stat(GW_STAT_EVENTS_LOST), LOST_SOURCES,
			  "%s: events delivered + lost = overloads", env.desc);
		CHECK_INT(fx_rule_stats(0).overloads, n, "%s: the rule counts delivered ones",
			  env.desc);
		CHECK(!fx_src_track_get(addr, 0, &t) && t.overloaded == 0,
		      "%s: the last (lost) source is not marked overloaded", env.desc);
		CHECK_INT(flow_op(&src, 0, &(struct flow_op)REFUSED(2001)), XDP_DROP,
			  "%s: its next handshake is refused", env.desc);
		CHECK_INT(fx_events(NULL, 0), 1, "%s: and reported", env.desc);
	}
}

/*
 * Only TCP to a port some rule that tracks flows covers looks flows up: a
 * killed flow's packets are dropped on pop3, but the same entry on a port
 * no such rule covers is never consulted and the rules decide.
 */
SELFTEST(flows_port_filter)
{
	static const struct gw_rule rules[] = { POP3_RULE(LIMITS(5, 0, 0)),
						RULE(GW_ACT_PASS, .dport_lo = 25, .dport_hi = 25) };

	for (int family = 4; family <= 6; family += 2) {
		struct gw_flow killed = { .state = GW_FLOW_KILLED };
		struct pkt_spec s = { .family = family, .proto = IPPROTO_TCP, .tcp_flags = 0x18,
				      .sport = 1001, .payload = 20 };
		struct flow_env env;
		uint8_t buf[PKT_MAX];
		size_t len;

		flow_env_init(&env, family, "port filter");
		fx_reset();
		fx_rules(rules, 2);
		s.src = env.client;
		s.dst = env.server;
		for (uint16_t port = 25; port <= POP3; port += POP3 - 25) {
			s.dport = port;
			len = pkt_build(&s, buf, NULL);
			CHECK(!fx_flow_tuple(env.client, 1001, env.server, port, &killed.tuple) &&
				      !fx_flow_put(&killed) && len,
			      "%s: a killed flow to port %u", env.desc, port);
			CHECK_INT(fx_run_xdp(buf, len, NULL, NULL),
				  port == POP3 ? XDP_DROP : XDP_PASS,
				  "%s: its packet to port %u", env.desc, port);
		}
		CHECK_INT(fx_stat(GW_STAT_FLOW_KILLED_DROPS), 1, "%s: one killed-flow drop",
			  env.desc);
	}
}
