// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What XDP drops before the rules, whatever the source (PF's scrub, RFC
 * 1858): a first fragment too short for its TCP or UDP header, an IPv4
 * fragment at offset 1, an IPv6 header chain the parser cannot follow, and
 * an unfragmented TCP or UDP header cut short. Each is counted in its own
 * stat and never reaches a rule. The rule here blocks port 8080 only, so
 * that a SYN to port 25 which reaches the rules passes: a pass says the
 * packet got past the scrub, a drop with no rule evaluated says the scrub
 * took it. Non-first fragments, other protocols' short headers and TC
 * egress keep their behaviour.
 */
#include <linux/pkt_cls.h>

#include "cases.h"

#define LISTED { { "198.51.100.7", T_BLOCK }, { "2001:db8:1::7", T_BLOCK } }
#define SRC_RULE { BLOCK_FROM(T_BLOCK) }
#define PORT_RULE { RULE(GW_ACT_BLOCK_DROP, .dport_lo = 25, .dport_hi = 25) }
#define OTHER_PORT_RULE { RULE(GW_ACT_BLOCK_DROP, .dport_lo = 8080, .dport_hi = 8080) }
#define QINQ .nvlan = 2, .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }, .vlan_id = { 100, 200 }
#define MF 0x2000
/* An IPv4 first fragment (20-byte IP header) carrying n bytes of its upper layer. */
#define FIRST4(n) .ip_frag = MF, .ip_len = 20 + (n)
/* An IPv6 first fragment (fragment header: offset 0, M set) carrying n bytes. */
#define FIRST6(n) .next = 1, .ext = { IPPROTO_FRAGMENT }, .ext_frag = { 1 }, .ip_len = 48 + (n)
#define NINE_EXT .next = 9, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, \
				     IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,    \
				     IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS }
/* The scrub took it: nothing evaluated, counted as dropped. */
#define SCRUBBED(stat) { FX_STAT(stat, 1), FX_STAT(GW_STAT_DROP, 1), FX_STAT(GW_STAT_UNPARSED, 0) }
#define NOT_EVALUATED { FX_RULE_STATS(0, 0, 0) }
#define EVALUATED { FX_RULE_STATS(0, 1, 0) }

static const struct xdp_case scrub_cases[] = {
	/* IPv4 first fragments. */
	{ "ipv4 first fragment, 8 bytes of TCP: dropped", TCP4(FIRST4(8)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv4 first fragment, 19 bytes of TCP: dropped", TCP4(FIRST4(19)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv4 first fragment, 20 bytes of TCP: reaches the rules, passes", TCP4(FIRST4(20)), 0,
	  {}, OTHER_PORT_RULE, 1, 0, 0, XDP_PASS, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) }, {},
	  EVALUATED },
	{ "ipv4 first fragment, 20 bytes of TCP: its port rule drops it", TCP4(FIRST4(20)), 0,
	  {}, PORT_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) }, {},
	  { FX_RULE_STATS(0, 1, 1) } },
	{ "ipv4 first fragment, 8 bytes of TCP and the rest of the header after the datagram: "
	  "dropped",
	  TCP4(FIRST4(8), .trailer = 12), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv4 first fragment, 20 of a 24-byte TCP header (doff 6): dropped",
	  TCP4(FIRST4(20), .tcp_doff = 6, .payload = 40), 0, {}, OTHER_PORT_RULE, 1, 0, 0,
	  XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv4 first fragment, all of a 24-byte TCP header (doff 6): passes",
	  TCP4(FIRST4(24), .tcp_doff = 6, .payload = 40), 0, {}, OTHER_PORT_RULE, 1, 0, 0,
	  XDP_PASS, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "ipv4 first fragment, 8 bytes of TCP, no rules at all: dropped", TCP4(FIRST4(8)), 0,
	  {}, {}, 0, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv4 first fragment, 4 bytes of UDP: dropped", UDP4(FIRST4(4)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv4 first fragment, 8 bytes of UDP: passes", UDP4(FIRST4(8)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_PASS, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "ipv4 first fragment in 802.1Q, 8 bytes of TCP: dropped",
	  TCP4(FIRST4(8), .nvlan = 1, .vlan_id = { 7 }), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv4 first fragment in 802.1ad + 802.1Q, 20 bytes of TCP: passes",
	  TCP4(FIRST4(20), QINQ), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "ipv4 first fragment with 40 option bytes, 8 bytes of TCP: dropped",
	  TCP4(.ip_opts_len = 40, .ip_frag = MF, .ip_len = 60 + 8), 0, {}, OTHER_PORT_RULE, 1, 0,
	  0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT) },

	/* IPv4 offset 1: the second fragment rewrites bytes 8..15 of the TCP header. */
	{ "ipv4 fragment at offset 1: dropped", TCP4(.ip_frag = MF | 1), 0, {}, OTHER_PORT_RULE, 1,
	  0, 0, XDP_DROP,
	  { FX_STAT(GW_STAT_FRAGMENT_OFFSET1, 1), FX_STAT(GW_STAT_FRAGMENT, 1),
	    FX_STAT(GW_STAT_DROP, 1) },
	  {}, NOT_EVALUATED },
	{ "ipv4 last fragment at offset 1: dropped", TCP4(.ip_frag = 1), 0, {}, OTHER_PORT_RULE, 1,
	  0, 0, XDP_DROP, SCRUBBED(GW_STAT_FRAGMENT_OFFSET1) },
	{ "ipv4 UDP fragment at offset 1: dropped", UDP4(.ip_frag = 1), 0, {}, {}, 0, 0, 0,
	  XDP_DROP, SCRUBBED(GW_STAT_FRAGMENT_OFFSET1) },
	{ "ipv4 fragment at offset 1 in 802.1Q: dropped",
	  TCP4(.ip_frag = MF | 1, .nvlan = 1, .vlan_id = { 7 }), 0, {}, OTHER_PORT_RULE, 1, 0, 0,
	  XDP_DROP, SCRUBBED(GW_STAT_FRAGMENT_OFFSET1) },
	{ "ipv4 fragment at offset 2: passes as a non-first fragment", TCP4(.ip_frag = MF | 2), 0,
	  {}, OTHER_PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_FRAGMENT_OFFSET1, 0), FX_STAT(GW_STAT_FRAGMENT, 1) } },

	/* IPv6 first fragments. */
	{ "ipv6 first fragment, 8 bytes of TCP: dropped", TCP6(FIRST6(8)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT), {}, NOT_EVALUATED },
	{ "ipv6 first fragment, 19 bytes of TCP: dropped", TCP6(FIRST6(19)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv6 first fragment, 20 bytes of TCP: passes", TCP6(FIRST6(20)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_PASS, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) }, {},
	  EVALUATED },
	{ "ipv6 first fragment, 20 bytes of TCP: its port rule drops it", TCP6(FIRST6(20)), 0,
	  {}, PORT_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "ipv6 first fragment, 8 bytes of TCP and the rest after the datagram: dropped",
	  TCP6(FIRST6(8), .trailer = 12), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv6 first fragment, 4 bytes of UDP: dropped", UDP6(FIRST6(4)), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv6 first fragment in 802.1ad + 802.1Q, 8 bytes of TCP: dropped",
	  TCP6(FIRST6(8), QINQ), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_TINY_FRAGMENT) },
	{ "ipv6 atomic fragment (offset 0, no M), 8 bytes of TCP: a short header, dropped",
	  TCP6(.next = 1, .ext = { IPPROTO_FRAGMENT }, .ext_frag = { 0 }, .ip_len = 48 + 8), 0,
	  {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_SHORT_HEADER) },

	/* IPv6 header chains the parser cannot follow. */
	{ "ipv6 nine extension headers: dropped", TCP6(NINE_EXT), 0, {}, OTHER_PORT_RULE, 1, 0, 0,
	  XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN), {}, NOT_EVALUATED },
	{ "ipv6 nine extension headers, no rules at all: dropped", UDP6(NINE_EXT), 0, {}, {}, 0,
	  0, 0, XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN) },
	{ "ipv6 nine extension headers in 802.1Q: dropped",
	  TCP6(NINE_EXT, .nvlan = 1, .vlan_id = { 7 }), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_IPV6_CHAIN) },
	{ "ipv6 chain cut short by the payload length: dropped",
	  TCP6(.next = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }, .ext_len = { 0, 1 },
	       .ip_len = 40 + 8 + 8, .trailer = 40),
	  0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN) },
	{ "ipv6 chain cut short by the frame: dropped",
	  TCP6(.next = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }, .ext_len = { 0, 1 }),
	  14 + 40 + 8 + 8, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN) },
	{ "ipv6 first fragment whose chain ends in the fragment header: dropped",
	  TCP6(.next = 2, .ext = { IPPROTO_FRAGMENT, IPPROTO_DSTOPTS }, .ext_frag = { 1 },
	       .ip_len = 48),
	  0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN) },

	/* Unfragmented headers cut short: the kernel drops them too, counted here. */
	{ "ipv4 TCP header cut by the total length: dropped", TCP4(.ip_len = 20 + 8), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_SHORT_HEADER), {}, NOT_EVALUATED },
	{ "ipv4 TCP header cut by the frame: dropped", TCP4(), 14 + 20 + 8, {}, OTHER_PORT_RULE, 1,
	  0, 0, XDP_DROP, SCRUBBED(GW_STAT_SHORT_HEADER) },
	{ "ipv4 total length ending with the IP header, TCP after it: dropped",
	  TCP4(.ip_len = 20, .trailer = 20), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_DROP,
	  SCRUBBED(GW_STAT_SHORT_HEADER) },
	{ "ipv6 UDP header cut by the payload length: dropped", UDP6(.ip_len = 40 + 4), 0, {},
	  OTHER_PORT_RULE, 1, 0, 0, XDP_DROP, SCRUBBED(GW_STAT_SHORT_HEADER) },
	{ "ipv4 SYN with Ethernet padding after it: passes",
	  TCP4(.payload = 0, .ip_len = 40, .trailer = 6), 0, {}, OTHER_PORT_RULE, 1, 0, 0,
	  XDP_PASS, { FX_STAT(GW_STAT_SHORT_HEADER, 0) } },

	/* Sources and their rules: a listed source stays dropped, its counters count. */
	{ "ipv4 tiny first fragment from a listed counters source: In/Block, no rule evaluated",
	  TCP4(FIRST4(8)), 0, LISTED, SRC_RULE, 1, 0, T_BLOCK, XDP_DROP,
	  SCRUBBED(GW_STAT_TINY_FRAGMENT), { { "198.51.100.7", GW_DIR_IN_BLOCK, 1 } },
	  NOT_EVALUATED },
	{ "ipv6 nine extension headers from a listed source: dropped", TCP6(NINE_EXT), 0, LISTED,
	  SRC_RULE, 1, 0, T_BLOCK, XDP_DROP, SCRUBBED(GW_STAT_IPV6_CHAIN),
	  { { "2001:db8:1::7", GW_DIR_IN_BLOCK, 1 } } },

	/* Non-first fragments follow their source's rules as before. */
	{ "ipv4 non-first fragment, unlisted: passes the port rule", TCP4(.ip_frag = MF | 3), 0,
	  {}, PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_FRAGMENT, 1), FX_STAT(GW_STAT_FRAGMENT_OFFSET1, 0),
	    FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "ipv4 non-first fragment, listed: its rule drops it", TCP4(.ip_frag = 3), 0, LISTED,
	  SRC_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 1) }, {},
	  { FX_RULE_STATS(0, 1, 1) } },
	{ "ipv4 non-first fragment in 802.1Q, listed: its rule drops it",
	  TCP4(.ip_frag = MF | 3, .nvlan = 1, .vlan_id = { 7 }), 0, LISTED, SRC_RULE, 1, 0, 0,
	  XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 1) }, {}, { FX_RULE_STATS(0, 1, 1) } },
	{ "ipv6 non-first fragment, unlisted: passes the port rule",
	  TCP6(.next = 1, .ext = { IPPROTO_FRAGMENT }, .ext_frag = { 185 << 3 }), 0, {},
	  PORT_RULE, 1, 0, 0, XDP_PASS, { FX_STAT(GW_STAT_FRAGMENT, 1) } },
	{ "ipv6 non-first fragment, listed: its rule drops it",
	  TCP6(.next = 1, .ext = { IPPROTO_FRAGMENT }, .ext_frag = { 1 << 3 }), 0, LISTED,
	  SRC_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 1) }, {},
	  { FX_RULE_STATS(0, 1, 1) } },

	/* Other protocols' short headers are the rules', as before. */
	{ "icmp first fragment of 2 bytes: passes, unparsed",
	  ICMP4(FIRST4(2)), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_UNPARSED, 1), FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
	{ "icmp first fragment of 2 bytes: proto icmp still matches",
	  ICMP4(FIRST4(2)), 0, {}, { RULE(GW_ACT_BLOCK_DROP, .proto_mask = GW_PROTO_ICMP) }, 1, 0,
	  0, XDP_DROP, { FX_STAT(GW_STAT_UNPARSED, 1) }, {}, { FX_RULE_STATS(0, 1, 1) } },
	{ "icmpv6 first fragment of 2 bytes: passes, unparsed",
	  ICMP6(FIRST6(2)), 0, {}, OTHER_PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_UNPARSED, 1), FX_STAT(GW_STAT_TINY_FRAGMENT, 0) } },
};

SELFTEST(scrub)
{
	FX_RUN_CASES(scrub_cases);
}

/* TC egress shares the parser but never drops: our own packets leave whatever they are. */
SELFTEST(scrub_tc_egress)
{
	for (size_t i = 0; i < sizeof(scrub_cases) / sizeof(scrub_cases[0]); i++) {
		const struct xdp_case *c = &scrub_cases[i];
		uint8_t pkt[PKT_MAX];
		size_t len = pkt_build(&c->pkt, pkt, NULL);
		int verdict;

		if (c->trunc && c->trunc < len)
			len = c->trunc;
		fx_reset();
		verdict = fx_run_tc(pkt, len);
		CHECK(len && verdict == TC_ACT_OK && fx_scrub_drops() == 0 &&
			      fx_stat(GW_STAT_OUT_PACKETS) == 1,
		      "tc egress: %s: TC_ACT_OK, no drop counted", c->desc);
	}
}
