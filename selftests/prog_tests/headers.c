// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The parser through the XDP program: VLAN tags, IPv4 options and
 * fragments, IPv6 extension header chains, non-IP frames. A source rule
 * dropping proves the addresses were found; a port rule dropping proves
 * the L4 header was found at the right offset.
 */
#include <string.h>

#include "cases.h"

#define LISTED { { "198.51.100.7", T_BLOCK }, { "2001:db8:1::7", T_BLOCK } }
#define SRC_RULE { BLOCK_FROM(T_BLOCK) }
#define PORT_RULE { RULE(GW_ACT_BLOCK_DROP, .dport_lo = 25, .dport_hi = 25) }
#define QINQ .nvlan = 2, .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }, .vlan_id = { 100, 200 }
#define FRAG_FIRST_MF 1		/* IPv6 fragment header: offset 0, M set */
#define FRAG_NON_FIRST (185 << 3)
#define EXT_CHAIN(n, ...) .next = (n), .ext = { __VA_ARGS__ }

static const struct xdp_case header_cases[] = {
	{ "802.1Q tag: source found", TCP4(.nvlan = 1, .vlan_id = { 7 }), 0, LISTED, SRC_RULE, 1,
	  0, 0, XDP_DROP },
	{ "802.1Q tag: port found", TCP4(.nvlan = 1, .vlan_id = { 7 }), 0, {}, PORT_RULE, 1, 0, 0,
	  XDP_DROP },
	{ "802.1ad + 802.1Q: ipv4 source found", TCP4(QINQ), 0, LISTED, SRC_RULE, 1, 0, 0,
	  XDP_DROP },
	{ "802.1ad + 802.1Q: ipv4 port found", TCP4(QINQ), 0, {}, PORT_RULE, 1, 0, 0, XDP_DROP },
	{ "802.1ad + 802.1Q: ipv6 port found", UDP6(QINQ, .dport = 25), 0, {}, PORT_RULE, 1, 0, 0,
	  XDP_DROP },
	{ "802.1Q + 802.1Q: ipv6 source found",
	  TCP6(.nvlan = 2, .vlan_id = { 1, 2 }), 0, LISTED, SRC_RULE, 1, 0, 0, XDP_DROP },
	{ "802.1Q with port 26: port rule does not match", TCP4(.nvlan = 1, .dport = 26), 0, {},
	  PORT_RULE, 1, 0, 0, XDP_PASS },
	{ "three VLAN tags: not parsed, passes", { .family = 0, .ethertype = ETH_P_8021Q, QINQ,
	  .payload = 60 }, 0, {}, { RULE(GW_ACT_BLOCK_DROP) }, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_UNPARSED, 1), FX_STAT(GW_STAT_NON_IP, 0) } },
	{ "ARP passes and counts NON_IP", { .family = 0, .ethertype = ETH_P_ARP, .payload = 28 }, 0,
	  {}, { RULE(GW_ACT_BLOCK_DROP) }, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_NON_IP, 1), FX_STAT(GW_STAT_PASS, 1), FX_STAT(GW_STAT_UNPARSED, 0),
	    FX_STAT(GW_STAT_PACKETS, 1) }, {}, { FX_RULE_STATS(0, 0, 0) } },
	{ "ARP in an 802.1Q tag passes and counts NON_IP",
	  { .family = 0, .ethertype = ETH_P_ARP, .nvlan = 1, .payload = 28 }, 0, {},
	  { RULE(GW_ACT_BLOCK_DROP) }, 1, 0, 0, XDP_PASS, { FX_STAT(GW_STAT_NON_IP, 1) } },
	{ "ipv4 options (4 bytes): port found", TCP4(.ip_opts_len = 4), 0, {}, PORT_RULE, 1, 0, 0,
	  XDP_DROP },
	{ "ipv4 options (40 bytes, IHL 15): port found", TCP4(.ip_opts_len = 40), 0, {}, PORT_RULE,
	  1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv4 options (40 bytes): source found", UDP4(.ip_opts_len = 40), 0, LISTED, SRC_RULE, 1,
	  0, 0, XDP_DROP },
	{ "ipv4 first fragment (MF, offset 0): port found", TCP4(.ip_frag = 0x2000), 0, {},
	  PORT_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 0) } },
	{ "ipv4 non-first fragment: no L4, port rule does not match", TCP4(.ip_frag = 0x2000 | 3),
	  0, {}, PORT_RULE, 1, 0, 0, XDP_PASS,
	  { FX_STAT(GW_STAT_FRAGMENT, 1), FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv4 last fragment: source still found", TCP4(.ip_frag = 3), 0, LISTED, SRC_RULE, 1, 0,
	  0, XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 1) } },
	{ "ipv6 hop-by-hop: port found", TCP6(EXT_CHAIN(1, IPPROTO_HOPOPTS)), 0, {}, PORT_RULE, 1,
	  0, 0, XDP_DROP, { FX_STAT(GW_STAT_IPV6_EXT, 1), FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv6 hop-by-hop, routing, destination options: port found",
	  TCP6(EXT_CHAIN(3, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS),
	       .ext_len = { 0, 2, 1 }),
	  0, {}, PORT_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_IPV6_EXT, 1) } },
	{ "ipv6 long destination options (48 bytes): port found",
	  UDP6(EXT_CHAIN(1, IPPROTO_DSTOPTS), .ext_len = { 5 }, .dport = 25), 0, {}, PORT_RULE, 1,
	  0, 0, XDP_DROP },
	{ "ipv6 AH (24 bytes, 4-byte units): port found",
	  TCP6(EXT_CHAIN(2, IPPROTO_AH, IPPROTO_DSTOPTS), .ext_len = { 4, 0 }), 0, {}, PORT_RULE, 1,
	  0, 0, XDP_DROP },
	{ "ipv6 first fragment (offset 0, M): port found",
	  TCP6(EXT_CHAIN(1, IPPROTO_FRAGMENT), .ext_frag = { FRAG_FIRST_MF }), 0, {}, PORT_RULE, 1,
	  0, 0, XDP_DROP, { FX_STAT(GW_STAT_FRAGMENT, 0) } },
	{ "ipv6 hop-by-hop then first fragment: port found",
	  TCP6(EXT_CHAIN(2, IPPROTO_HOPOPTS, IPPROTO_FRAGMENT), .ext_frag = { 0, FRAG_FIRST_MF }),
	  0, {}, PORT_RULE, 1, 0, 0, XDP_DROP },
	{ "ipv6 non-first fragment: no L4, port rule does not match",
	  TCP6(EXT_CHAIN(1, IPPROTO_FRAGMENT), .ext_frag = { FRAG_NON_FIRST }), 0, {}, PORT_RULE, 1,
	  0, 0, XDP_PASS, { FX_STAT(GW_STAT_FRAGMENT, 1), FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv6 non-first fragment: source found",
	  TCP6(EXT_CHAIN(1, IPPROTO_FRAGMENT), .ext_frag = { FRAG_NON_FIRST }), 0, LISTED, SRC_RULE,
	  1, 0, 0, XDP_DROP },
	{ "ipv6 non-first fragment: proto tcp still matches",
	  TCP6(EXT_CHAIN(1, IPPROTO_FRAGMENT), .ext_frag = { FRAG_NON_FIRST }), 0, {},
	  { RULE(GW_ACT_BLOCK_DROP, .proto_mask = GW_PROTO_TCP) }, 1, 0, 0, XDP_DROP },
	{ "ipv6 eight extension headers: port found",
	  TCP6(EXT_CHAIN(8, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
			 IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS)),
	  0, {}, PORT_RULE, 1, 0, 0, XDP_DROP, { FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv6 nine extension headers: proto unknown, dropped before the rules (scrub.c)",
	  TCP6(EXT_CHAIN(9, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
			 IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
			 IPPROTO_DSTOPTS)),
	  0, {}, PORT_RULE, 1, 0, 0, XDP_DROP,
	  { FX_STAT(GW_STAT_IPV6_CHAIN, 1), FX_STAT(GW_STAT_UNPARSED, 0) } },
	{ "ipv6 nine extension headers: a blocked source is still dropped",
	  TCP6(EXT_CHAIN(9, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
			 IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
			 IPPROTO_DSTOPTS)),
	  0, LISTED, SRC_RULE, 1, 0, 0, XDP_DROP },
	{ "ipv6 no next header (59) is GW_PROTO_OTHER", { .family = 6, .proto = 59 }, 0, {},
	  { RULE(GW_ACT_BLOCK_DROP, .proto_mask = GW_PROTO_OTHER) }, 1, 0, 0, XDP_DROP },
	{ "ipv6 icmpv6 behind a hop-by-hop header",
	  ICMP6(EXT_CHAIN(1, IPPROTO_HOPOPTS)), 0, {},
	  { RULE(GW_ACT_BLOCK_DROP, .proto_mask = GW_PROTO_ICMPV6) }, 1, 0, 0, XDP_DROP },
};

SELFTEST(headers)
{
	FX_RUN_CASES(header_cases);
}

/* Fields the builder never gets wrong, broken by hand. */
SELFTEST(headers_malformed)
{
	struct pkt_spec v4 = TCP4(), v6 = TCP6();
	struct pkt_layout l4, l6;
	uint8_t a[PKT_MAX], b[PKT_MAX];
	struct gw_rule block = BLOCK_FROM(T_BLOCK);
	struct {
		const char *desc;
		uint8_t *pkt;
		size_t len;
		size_t off;
		uint8_t value;
		uint64_t unparsed;
		int verdict;
	} cases[] = {
		{ "ipv4 IHL 4 is malformed: passes", a, 0, 0, 0x44, 1, XDP_PASS },
		{ "ipv4 IHL 0 is malformed: passes", a, 0, 0, 0x40, 1, XDP_PASS },
		{ "ipv4 version 6 in an IPv4 frame: passes", a, 0, 0, 0x65, 1, XDP_PASS },
		{ "ipv4 IHL 15 beyond the frame: passes", a, 0, 0, 0x4f, 1, XDP_PASS },
		{ "ipv4 TCP data offset 4 is malformed: dropped before the rules", a, 0, 32, 0x40,
		  0, XDP_DROP },
		{ "ipv6 version 4 in an IPv6 frame: passes", b, 0, 0, 0x40, 1, XDP_PASS },
		{ "ipv6 intact: dropped", b, 0, 0, 0x60, 0, XDP_DROP },
	};

	pkt_build(&v4, a, &l4);
	pkt_build(&v6, b, &l6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool is4 = cases[i].pkt == a;
		struct pkt_layout *l = is4 ? &l4 : &l6;
		uint8_t pkt[PKT_MAX];
		/* For IHL 15 run only the 20-byte header plus TCP: the options are missing. */
		size_t len = l->len;

		memcpy(pkt, cases[i].pkt, l->len);
		pkt[l->l3_off + cases[i].off] = cases[i].value;
		fx_reset();
		fx_put("198.51.100.7", T_BLOCK);
		fx_put("2001:db8:1::7", T_BLOCK);
		fx_rules(&block, 1);
		if (cases[i].value == 0x4f)
			len = l->l3_off + 40;
		CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), cases[i].verdict, "%s", cases[i].desc);
		CHECK_INT(fx_stat(GW_STAT_UNPARSED), cases[i].unparsed, "%s: UNPARSED",
			  cases[i].desc);
	}
}
