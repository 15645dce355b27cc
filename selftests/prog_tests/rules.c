// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Rule evaluation as PF does it: in order, the last matching rule decides
 * unless a quick rule matches first; no match passes. Every rule part, and
 * the per-rule counters.
 */
#include <bpf/bpf.h>

#include "cases.h"

#define SRC_BLOCK { { "198.51.100.7", T_BLOCK }, { "2001:db8:1::7", T_BLOCK } }
#define BLK GW_ACT_BLOCK_DROP
#define PASS_ACT GW_ACT_PASS
#define R(i, e, m) FX_RULE_STATS(i, e, m)

static const struct xdp_case rule_cases[] = {
	/* Order, quick, last match wins. */
	{ "no rule matches: pass", TCP4(), 0, SRC_BLOCK, { BLOCK_FROM(T_OTHER) }, 1, 0, 0,
	  XDP_PASS, { FX_STAT(GW_STAT_PASS, 1) }, {}, { R(0, 1, 0) } },
	{ "last match wins: block then pass", TCP4(), 0, SRC_BLOCK,
	  { BLOCK_FROM(T_BLOCK), RULE(PASS_ACT, .src_tables = T_BLOCK) }, 2, 0, 0, XDP_PASS, {},
	  {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "last match wins: pass then block", TCP4(), 0, SRC_BLOCK,
	  { RULE(PASS_ACT), BLOCK_FROM(T_BLOCK) }, 2, 0, 0, XDP_DROP,
	  { FX_STAT(GW_STAT_DROP, 1) }, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "last match wins over a later non-matching rule", TCP4(), 0, SRC_BLOCK,
	  { BLOCK_FROM(T_BLOCK), RULE(PASS_ACT, .proto_mask = GW_PROTO_UDP) }, 2, 0, 0, XDP_DROP,
	  {}, {}, { R(0, 1, 1), R(1, 1, 0) } },
	{ "quick block stops evaluation", TCP4(), 0, SRC_BLOCK,
	  { RULE(BLK, .src_tables = T_BLOCK, .flags = GW_RULE_QUICK), RULE(PASS_ACT) }, 2, 0, 0,
	  XDP_DROP, {}, {}, { R(0, 1, 1), R(1, 0, 0) } },
	{ "quick pass stops evaluation", TCP4(), 0, SRC_BLOCK,
	  { RULE(PASS_ACT, .flags = GW_RULE_QUICK), BLOCK_FROM(T_BLOCK) }, 2, 0, 0, XDP_PASS, {},
	  {}, { R(0, 1, 1), R(1, 0, 0) } },
	{ "a non-matching quick rule does not stop evaluation", TCP4(), 0, SRC_BLOCK,
	  { RULE(PASS_ACT, .flags = GW_RULE_QUICK, .src_tables = T_OTHER), BLOCK_FROM(T_BLOCK) }, 2,
	  0, 0, XDP_DROP, {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "quick after earlier matches decides", TCP4(), 0, SRC_BLOCK,
	  { BLOCK_FROM(T_BLOCK), RULE(PASS_ACT, .flags = GW_RULE_QUICK), BLOCK_FROM(T_BLOCK) }, 3, 0,
	  0, XDP_PASS, {}, {}, { R(0, 1, 0), R(1, 1, 1), R(2, 0, 0) } },
	/* Tables and negation. */
	{ "from !<white>: source in <white> passes", TCP4(), 0,
	  { { "198.51.100.7", T_OTHER } },
	  { RULE(BLK, .src_tables = T_OTHER, .flags = GW_RULE_SRC_NOT) }, 1, 0, 0, XDP_PASS },
	{ "from !<white>: source in another table is dropped", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { RULE(BLK, .src_tables = T_OTHER, .flags = GW_RULE_SRC_NOT) }, 1, 0, 0, XDP_DROP },
	{ "from !<white>: unlisted source is dropped", TCP4(), 0, {},
	  { RULE(BLK, .src_tables = T_OTHER, .flags = GW_RULE_SRC_NOT) }, 1, 0, 0, XDP_DROP },
	{ "from {<a> <b>}: any of the rule's tables", TCP4(), 0, { { "198.51.100.7", T_THIRD } },
	  { BLOCK_FROM(T_OTHER | T_THIRD) }, 1, 0, 0, XDP_DROP },
	{ "to <t> with NEED_DST: destination in <t> is dropped", TCP4(), 0,
	  { { "203.0.113.1", T_OTHER } }, { RULE(BLK, .dst_tables = T_OTHER) }, 1,
	  0, 0, XDP_DROP, { FX_STAT(GW_STAT_HOST_HIT, 1) } },
	{ "to <t> with NEED_DST: destination prefix in <t> is dropped", TCP6(), 0,
	  { { "2001:db8:2::/48", T_OTHER } }, { RULE(BLK, .dst_tables = T_OTHER) }, 1,
	  0, 0, XDP_DROP, { FX_STAT(GW_STAT_PREFIX_HIT, 1) } },
	{ "no rule matches a destination: the destination is not looked up", TCP4(), 0,
	  { { "203.0.113.1", T_OTHER } }, { RULE(BLK, .src_tables = T_OTHER) }, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_HOST_HIT, 0) } },
	{ "to !<t>: destination in <t> passes", TCP4(), 0, { { "203.0.113.1", T_OTHER } },
	  { RULE(BLK, .dst_tables = T_OTHER, .flags = GW_RULE_DST_NOT) }, 1, 0, 0,
	  XDP_PASS },
	{ "to !<t>: other destination is dropped", TCP4(.dst = "203.0.113.2"), 0,
	  { { "203.0.113.1", T_OTHER } },
	  { RULE(BLK, .dst_tables = T_OTHER, .flags = GW_RULE_DST_NOT) }, 1, 0, 0,
	  XDP_DROP },
	{ "from <a> to <b>: both must match", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK }, { "203.0.113.0/24", T_OTHER } },
	  { RULE(BLK, .src_tables = T_BLOCK, .dst_tables = T_THIRD) }, 1, 0, 0,
	  XDP_PASS },
	/* Protocols. */
	{ "proto tcp does not match udp", UDP4(), 0, SRC_BLOCK,
	  { RULE(BLK, .proto_mask = GW_PROTO_TCP) }, 1, 0, 0, XDP_PASS },
	{ "proto udp matches udp", UDP4(), 0, SRC_BLOCK,
	  { RULE(BLK, .proto_mask = GW_PROTO_UDP) }, 1, 0, 0, XDP_DROP },
	{ "proto udp matches udp over ipv6", UDP6(), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_UDP) }, 1, 0, 0, XDP_DROP },
	{ "proto {tcp udp} matches tcp", TCP6(), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_TCP | GW_PROTO_UDP) }, 1, 0, 0, XDP_DROP },
	{ "proto icmp matches icmp", ICMP4(), 0, {}, { RULE(BLK, .proto_mask = GW_PROTO_ICMP) }, 1,
	  0, 0, XDP_DROP },
	{ "proto icmp does not match icmpv6", ICMP6(), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_ICMP) }, 1, 0, 0, XDP_PASS },
	{ "proto icmp6 matches icmpv6", ICMP6(), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_ICMPV6) }, 1, 0, 0, XDP_DROP },
	{ "other protocols (GRE) match GW_PROTO_OTHER", { .family = 4, .proto = 47, .payload = 8 },
	  0, {}, { RULE(BLK, .proto_mask = GW_PROTO_OTHER) }, 1, 0, 0, XDP_DROP },
	{ "GW_PROTO_OTHER does not match tcp", TCP4(), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_OTHER) }, 1, 0, 0, XDP_PASS },
	/* Ports. */
	{ "port 25 matches dport 25", TCP4(), 0, {},
	  { RULE(BLK, .dport_lo = 25, .dport_hi = 25) }, 1, 0, 0, XDP_DROP },
	{ "port 25 does not match dport 26", TCP4(.dport = 26), 0, {},
	  { RULE(BLK, .dport_lo = 25, .dport_hi = 25) }, 1, 0, 0, XDP_PASS },
	{ "port range 20:24 does not match 25", TCP4(), 0, {},
	  { RULE(BLK, .dport_lo = 20, .dport_hi = 24) }, 1, 0, 0, XDP_PASS },
	{ "port range 0:1024 (lo 0) matches 25", UDP6(.dport = 25), 0, {},
	  { RULE(BLK, .dport_lo = 0, .dport_hi = 1024) }, 1, 0, 0, XDP_DROP },
	{ "port range 1024:65535 (hi 65535) matches 65535", UDP4(.dport = 65535), 0, {},
	  { RULE(BLK, .dport_lo = 1024, .dport_hi = 65535) }, 1, 0, 0, XDP_DROP },
	{ "port range 1024:65535 does not match 1023", UDP4(.dport = 1023), 0, {},
	  { RULE(BLK, .dport_lo = 1024, .dport_hi = 65535) }, 1, 0, 0, XDP_PASS },
	{ "a port rule never matches icmp", ICMP4(), 0, {},
	  { RULE(BLK, .dport_lo = 0, .dport_hi = 1024) }, 1, 0, 0, XDP_PASS },
	{ "a port rule never matches a non-first fragment", TCP4(.ip_frag = 100), 0, {},
	  { RULE(BLK, .dport_lo = 0, .dport_hi = 1024) }, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_FRAGMENT, 1) } },
	{ "proto tcp (no port) matches a non-first tcp fragment", TCP4(.ip_frag = 100), 0, {},
	  { RULE(BLK, .proto_mask = GW_PROTO_TCP) }, 1, 0, 0, XDP_DROP },
	/* flags S/SA. */
	{ "flags S/SA matches a SYN", TCP4(.tcp_flags = 0x02), 0, {},
	  { RULE(BLK, .flags = GW_RULE_FLAGS_S_SA) }, 1, 0, 0, XDP_DROP },
	{ "flags S/SA matches SYN+ECE+CWR", TCP6(.tcp_flags = 0xc2), 0, {},
	  { RULE(BLK, .flags = GW_RULE_FLAGS_S_SA) }, 1, 0, 0, XDP_DROP },
	{ "flags S/SA does not match a SYN+ACK", TCP4(.tcp_flags = 0x12), 0, {},
	  { RULE(BLK, .flags = GW_RULE_FLAGS_S_SA) }, 1, 0, 0, XDP_PASS },
	{ "flags S/SA does not match an ACK", TCP4(.tcp_flags = 0x10), 0, {},
	  { RULE(BLK, .flags = GW_RULE_FLAGS_S_SA) }, 1, 0, 0, XDP_PASS },
	{ "flags S/SA does not match udp", UDP4(), 0, {},
	  { RULE(BLK, .flags = GW_RULE_FLAGS_S_SA) }, 1, 0, 0, XDP_PASS },
	/* Address families and interfaces. */
	{ "inet matches ipv4", TCP4(), 0, {}, { RULE(BLK, .flags = GW_RULE_INET) }, 1, 0, 0,
	  XDP_DROP },
	{ "inet does not match ipv6", TCP6(), 0, {}, { RULE(BLK, .flags = GW_RULE_INET) }, 1, 0, 0,
	  XDP_PASS },
	{ "inet6 matches ipv6", TCP6(), 0, {}, { RULE(BLK, .flags = GW_RULE_INET6) }, 1, 0, 0,
	  XDP_DROP },
	{ "inet6 does not match ipv4", TCP4(), 0, {}, { RULE(BLK, .flags = GW_RULE_INET6) }, 1, 0,
	  0, XDP_PASS },
	{ "on lo (ifindex 1, where test runs arrive) matches", TCP4(), 0, {},
	  { RULE(BLK, .ifindex = 1) }, 1, 0, 0, XDP_DROP },
	{ "on another interface does not match", TCP4(), 0, {}, { RULE(BLK, .ifindex = 9999) }, 1,
	  0, 0, XDP_PASS },
	/* The field rules of deploy/greywall.conf, compiled. */
	{ "field rules: <longterm> dropped on pop3 SYN", TCP4(.dport = 110), 0,
	  { { "198.51.100.7", T_BLOCK | T_OTHER } },
	  { RULE(BLK, .src_tables = T_BLOCK, .flags = GW_RULE_QUICK),
	    RULE(BLK, .src_tables = T_THIRD, .flags = GW_RULE_QUICK),
	    RULE(PASS_ACT, .src_tables = T_OTHER, .proto_mask = GW_PROTO_TCP, .dport_lo = 110,
		 .dport_hi = 110, .flags = GW_RULE_QUICK | GW_RULE_FLAGS_S_SA),
	    RULE(PASS_ACT, .proto_mask = GW_PROTO_TCP, .dport_lo = 110, .dport_hi = 110,
		 .flags = GW_RULE_FLAGS_S_SA) },
	  4, 0, 0, XDP_DROP, {}, {}, { R(0, 1, 1), R(1, 0, 0), R(2, 0, 0), R(3, 0, 0) } },
	{ "field rules: <popflooders> pop3 SYN passes quick", TCP4(.dport = 110), 0,
	  { { "198.51.100.7", T_OTHER } },
	  { RULE(BLK, .src_tables = T_BLOCK, .flags = GW_RULE_QUICK),
	    RULE(BLK, .src_tables = T_THIRD, .flags = GW_RULE_QUICK),
	    RULE(PASS_ACT, .src_tables = T_OTHER, .proto_mask = GW_PROTO_TCP, .dport_lo = 110,
		 .dport_hi = 110, .flags = GW_RULE_QUICK | GW_RULE_FLAGS_S_SA),
	    RULE(PASS_ACT, .proto_mask = GW_PROTO_TCP, .dport_lo = 110, .dport_hi = 110,
		 .flags = GW_RULE_FLAGS_S_SA) },
	  4, 0, 0, XDP_PASS, {}, {}, { R(0, 1, 0), R(1, 1, 0), R(2, 1, 1), R(3, 0, 0) } },
	{ "field rules: unlisted pop3 SYN passes on the last rule", TCP4(.dport = 110), 0, {},
	  { RULE(BLK, .src_tables = T_BLOCK, .flags = GW_RULE_QUICK),
	    RULE(BLK, .src_tables = T_THIRD, .flags = GW_RULE_QUICK),
	    RULE(PASS_ACT, .src_tables = T_OTHER, .proto_mask = GW_PROTO_TCP, .dport_lo = 110,
		 .dport_hi = 110, .flags = GW_RULE_QUICK | GW_RULE_FLAGS_S_SA),
	    RULE(PASS_ACT, .proto_mask = GW_PROTO_TCP, .dport_lo = 110, .dport_hi = 110,
		 .flags = GW_RULE_FLAGS_S_SA) },
	  4, 0, 0, XDP_PASS, {}, {}, { R(0, 1, 0), R(1, 1, 0), R(2, 1, 0), R(3, 1, 1) } },
};

SELFTEST(rules)
{
	FX_RUN_CASES(rule_cases);
}

/*
 * The leading quick rules that match on source tables alone decide their
 * sources without the rule index (GW_RIX_FIRST_QUICK): the same verdicts
 * and rule counters as the index gives, and the index still decides where
 * the chain stops (a quick rule with any other condition, a negation, more
 * than GW_FIRST_QUICK_MAX of them).
 */
#define QUICK_FROM(act, tables, ...) RULE(act, .src_tables = (tables), .flags = GW_RULE_QUICK, \
					  __VA_ARGS__)
#define T_FOURTH (1ULL << 6)

static const struct xdp_case first_quick_cases[] = {
	{ "first quick: a source in two chained tables: the first rule decides", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK | T_OTHER } },
	  { QUICK_FROM(PASS_ACT, T_OTHER), QUICK_FROM(BLK, T_BLOCK), RULE(BLK) }, 3, 0, 0,
	  XDP_PASS, { FX_STAT(GW_STAT_PASS, 1) }, {}, { R(0, 1, 1), R(1, 0, 0), R(2, 0, 0) } },
	{ "first quick: a source in the second chained table only", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { QUICK_FROM(PASS_ACT, T_OTHER), QUICK_FROM(BLK, T_BLOCK), RULE(PASS_ACT) }, 3, 0,
	  T_BLOCK, XDP_DROP, { FX_STAT(GW_STAT_DROP, 1) },
	  { { "198.51.100.7", GW_DIR_IN_BLOCK, 1 } }, { R(0, 1, 0), R(1, 1, 1), R(2, 0, 0) } },
	{ "first quick: IPv6 source in a listed /48", TCP6(), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { QUICK_FROM(BLK, T_BLOCK), RULE(PASS_ACT) }, 2, 0,
	  T_BLOCK, XDP_DROP, { FX_STAT(GW_STAT_PREFIX_HIT, 1), FX_STAT(GW_STAT_DROP, 1) },
	  { { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 1 } }, { R(0, 1, 1), R(1, 0, 0) } },
	{ "first quick: behind two VLAN tags", TCP4(.nvlan = 2, .vlan_tpid = { 0x88a8, 0 },
						       .vlan_id = { 10, 20 }),
	  0, { { "198.51.100.7", T_BLOCK } }, { QUICK_FROM(BLK, T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  {}, {}, { R(0, 1, 1) } },
	{ "first quick: IPv6 with extension headers", TCP6(.next = 2, .ext = { 0, 60 }), 0,
	  { { "2001:db8:1::7", T_BLOCK } }, { QUICK_FROM(BLK, T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { FX_STAT(GW_STAT_IPV6_EXT, 1) }, {}, { R(0, 1, 1) } },
	{ "first quick: non-quick rules before it change nothing", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { RULE(PASS_ACT, .src_tables = T_BLOCK), QUICK_FROM(BLK, T_BLOCK) }, 2, 0, 0, XDP_DROP,
	  {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "first quick: block return answers", TCP4(), 0, { { "198.51.100.7", T_BLOCK } },
	  { QUICK_FROM(GW_ACT_BLOCK_RETURN, T_BLOCK) }, 1, 0, 0, XDP_TX,
	  { FX_STAT(GW_STAT_RETURN_RST, 1) }, {}, { R(0, 1, 1) } },
	{ "chain stops at a quick rule with a port: that rule still decides its port",
	  TCP4(.dport = 110), 0, { { "198.51.100.7", T_BLOCK | T_OTHER } },
	  { QUICK_FROM(PASS_ACT, T_OTHER, .dport_lo = 110, .dport_hi = 110),
	    QUICK_FROM(BLK, T_BLOCK) },
	  2, 0, 0, XDP_PASS, {}, {}, { R(0, 1, 1), R(1, 0, 0) } },
	{ "chain stops at a quick rule with a port: other ports go on", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK | T_OTHER } },
	  { QUICK_FROM(PASS_ACT, T_OTHER, .dport_lo = 110, .dport_hi = 110),
	    QUICK_FROM(BLK, T_BLOCK) },
	  2, 0, 0, XDP_DROP, {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "chain stops at a quick rule of one family: IPv4 goes on", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { QUICK_FROM(PASS_ACT, T_BLOCK, .flags = GW_RULE_QUICK | GW_RULE_INET6),
	    QUICK_FROM(BLK, T_BLOCK) },
	  2, 0, 0, XDP_DROP, {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "chain stops at a quick rule of one family: IPv6 matches it", TCP6(), 0,
	  { { "2001:db8:1::7", T_BLOCK } },
	  { QUICK_FROM(PASS_ACT, T_BLOCK, .flags = GW_RULE_QUICK | GW_RULE_INET6),
	    QUICK_FROM(BLK, T_BLOCK) },
	  2, 0, 0, XDP_PASS, {}, {}, { R(0, 1, 1), R(1, 0, 0) } },
	{ "chain stops at a quick flags S/SA rule: a non-SYN goes on", TCP4(.tcp_flags = 0x10), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { QUICK_FROM(PASS_ACT, T_BLOCK, .flags = GW_RULE_QUICK | GW_RULE_FLAGS_S_SA),
	    QUICK_FROM(BLK, T_BLOCK) },
	  2, 0, 0, XDP_DROP, {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "chain stops at a negated quick rule", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK | T_OTHER } },
	  { QUICK_FROM(BLK, T_OTHER, .flags = GW_RULE_QUICK | GW_RULE_SRC_NOT),
	    QUICK_FROM(PASS_ACT, T_BLOCK) },
	  2, 0, 0, XDP_PASS, {}, {}, { R(0, 1, 0), R(1, 1, 1) } },
	{ "chain stops at a quick rule to <t>", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK }, { "203.0.113.1", T_OTHER } },
	  { QUICK_FROM(PASS_ACT, T_BLOCK, .dst_tables = T_OTHER), QUICK_FROM(BLK, T_BLOCK) }, 2,
	  0, 0, XDP_PASS, {}, {}, { R(0, 1, 1), R(1, 0, 0) } },
	{ "a fourth source-only quick rule is the index's", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } },
	  { QUICK_FROM(BLK, T_OTHER), QUICK_FROM(BLK, T_THIRD), QUICK_FROM(BLK, T_FOURTH),
	    QUICK_FROM(PASS_ACT, T_BLOCK), RULE(BLK) },
	  5, 0, 0, XDP_PASS, {}, {},
	  { R(0, 1, 0), R(1, 1, 0), R(2, 1, 0), R(3, 1, 1), R(4, 0, 0) } },
};

SELFTEST(rules_first_quick)
{
	FX_RUN_CASES(first_quick_cases);
}

/* Stats accumulate across packets; the deciding rule counts packets and bytes. */
SELFTEST(rule_stats_accumulate)
{
	struct gw_rule rules[] = { RULE(GW_ACT_PASS), RULE(GW_ACT_BLOCK_DROP, .src_tables = T_BLOCK) };
	struct pkt_spec listed = TCP4(.payload = 100), other = TCP4(.src = "192.0.2.9");
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&listed, a, NULL), blen = pkt_build(&other, b, NULL);
	struct gw_rule_stats s0, s1;

	fx_put("198.51.100.7", T_BLOCK);
	fx_rules(rules, 2);
	CHECK_INT(fx_run_xdp(a, alen, NULL, NULL), XDP_DROP, "listed source dropped");
	CHECK_INT(fx_run_xdp(a, alen, NULL, NULL), XDP_DROP, "listed source dropped again");
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_PASS, "other source passes");
	s0 = fx_rule_stats(0);
	s1 = fx_rule_stats(1);
	CHECK(s0.evaluations == 3 && s0.matches == 1 && s0.packets == 1 && s0.bytes == blen,
	      "rule 0: 3 evaluations, decided 1 packet of %zu bytes", blen);
	CHECK(s1.evaluations == 3 && s1.matches == 2 && s1.packets == 2 && s1.bytes == 2 * alen,
	      "rule 1: 3 evaluations, decided 2 packets of %zu bytes", alen);
}

/*
 * Many rules: the decision is the same wherever the deciding rule sits,
 * in the first word of the rule sets or the last.
 */
SELFTEST(rules_many)
{
	static struct gw_rule rules[GW_MAX_RULES];
	struct pkt_spec listed = TCP4(), other = TCP4(.src = "192.0.2.9");
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&listed, a, NULL), blen = pkt_build(&other, b, NULL);

	/* Port 1 only: none of these matches the test packets (port 25). */
	for (int i = 0; i < GW_MAX_RULES; i++)
		rules[i] = (struct gw_rule)RULE(GW_ACT_BLOCK_DROP, .dport_lo = 1, .dport_hi = 1);
	rules[GW_MAX_RULES - 1] = (struct gw_rule)RULE(GW_ACT_BLOCK_DROP);
	fx_reset();
	fx_rules(rules, GW_MAX_RULES);
	CHECK_INT(fx_run_xdp(a, alen, NULL, NULL), XDP_DROP, "rule 255 (the last) decides");
	CHECK_INT(fx_rule_stats(GW_MAX_RULES - 1).matches, 1, "rule 255 counted the match");
	CHECK_INT(fx_rule_stats(GW_MAX_RULES - 1).evaluations, 1, "rule 255 evaluated once");
	CHECK_INT(fx_rule_stats(0).matches, 0, "rule 0 did not match");

	/* A quick pass for <other> at 200 stops before the last rule. */
	rules[200] = (struct gw_rule)RULE(GW_ACT_PASS, .src_tables = T_OTHER, .flags = GW_RULE_QUICK);
	fx_reset();
	fx_put("198.51.100.7", T_OTHER);
	fx_rules(rules, GW_MAX_RULES);
	CHECK_INT(fx_run_xdp(a, alen, NULL, NULL), XDP_PASS, "quick rule 200 passes <other>");
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_DROP, "an unlisted source reaches 255");
	CHECK_INT(fx_rule_stats(200).matches, 1, "rule 200 decided once");
	CHECK_INT(fx_rule_stats(GW_MAX_RULES - 1).evaluations, 1,
		  "rule 255 evaluated only for the packet rule 200 did not take");

	/* 65 rules: the multi-word path with one rule in the second word. */
	fx_reset();
	fx_rules(rules, 65);
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_PASS, "65 rules, none matching: pass");
	rules[64] = (struct gw_rule)RULE(GW_ACT_BLOCK_DROP);
	fx_rules(rules, 65);
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_DROP, "rule 64 (second word) decides");
	CHECK_INT(fx_rule_stats(64).matches, 1, "rule 64 counted the match");
}

/* A new ruleset replaces the old one whole: no rule of the old one survives. */
SELFTEST(rules_replace)
{
	struct gw_rule block_all = RULE(GW_ACT_BLOCK_DROP);
	struct gw_rule pass_udp = RULE(GW_ACT_PASS, .proto_mask = GW_PROTO_UDP);
	struct pkt_spec spec = TCP4();
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&spec, pkt, NULL);

	fx_reset();
	fx_rules(&block_all, 1);
	CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), XDP_DROP, "block all");
	fx_rules(&pass_udp, 1);
	CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), XDP_PASS, "replaced: tcp passes");
	fx_rules(&block_all, 1);
	CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), XDP_DROP, "replaced again: block all");
	fx_rules(NULL, 0);
	CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), XDP_PASS, "no rules: pass");
}
