// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Source membership: host map first, the family's trie on a miss, longest
 * prefix wins, and a host entry's own membership is final.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cases.h"
#include "datapath/datapath.h"
#include "lib/addr.h"

#define HOST_HIT(n) FX_STAT(GW_STAT_HOST_HIT, n)
#define PREFIX_HIT(n) FX_STAT(GW_STAT_PREFIX_HIT, n)

static const struct xdp_case lookup_cases[] = {
	{ "ipv4 host in <block> is dropped", TCP4(), 0, { { "198.51.100.7", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { HOST_HIT(1), PREFIX_HIT(0), FX_STAT(GW_STAT_DROP, 1) } },
	{ "ipv4 host not listed passes", TCP4(.src = "198.51.100.8"), 0,
	  { { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS,
	  { HOST_HIT(0), PREFIX_HIT(0), FX_STAT(GW_STAT_PASS, 1) } },
	{ "ipv4 host in another table passes", TCP4(), 0, { { "198.51.100.7", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { HOST_HIT(1) } },
	{ "ipv4 address only in a covering /24 is dropped", TCP4(), 0,
	  { { "198.51.100.0/24", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { HOST_HIT(0), PREFIX_HIT(1) } },
	{ "ipv4 host entry is final: its tables, not the covering prefix's", TCP4(), 0,
	  { { "198.51.100.7", T_OTHER }, { "198.51.100.0/24", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { HOST_HIT(1), PREFIX_HIT(0) } },
	{ "ipv4 neighbour of a host entry falls back to the prefix", TCP4(.src = "198.51.100.9"), 0,
	  { { "198.51.100.7", T_OTHER }, { "198.51.100.0/24", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { HOST_HIT(0), PREFIX_HIT(1) } },
	{ "ipv4 longest prefix wins: /24 without <block> inside /16 with it", TCP4(), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.0/24", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { PREFIX_HIT(1) } },
	{ "ipv4 longest prefix wins: outside the /24, the /16 blocks", TCP4(.src = "198.51.99.7"), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.0/24", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { PREFIX_HIT(1) } },
	{ "ipv4 longest prefix wins: /25 with <block> inside /24 without", TCP4(), 0,
	  { { "198.51.100.0/24", T_OTHER }, { "198.51.100.0/25", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP },
	{ "ipv4 /31 covers .7", TCP4(), 0, { { "198.51.100.6/31", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP },
	{ "ipv4 /31 does not cover .8", TCP4(.src = "198.51.100.8"), 0,
	  { { "198.51.100.6/31", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS },
	{ "ipv4 /32 is a host entry", TCP4(), 0, { { "198.51.100.7/32", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { HOST_HIT(1) } },
	{ "ipv4 0.0.0.0/0 covers everything", TCP4(.src = "192.0.2.200"), 0,
	  { { "0.0.0.0/0", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { PREFIX_HIT(1) } },
	{ "ipv4 0.0.0.0/0 does not cover ipv6", TCP6(), 0, { { "0.0.0.0/0", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { PREFIX_HIT(0) } },
	{ "ipv4 destination is not the source", TCP4(.src = "192.0.2.1", .dst = "198.51.100.7"), 0,
	  { { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS,
	  { HOST_HIT(0) } },
	{ "ipv4 membership is a bitmask: several tables", TCP4(), 0,
	  { { "198.51.100.7", T_OTHER | T_BLOCK | T_THIRD } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0,
	  XDP_DROP },
	{ "ipv4 table 63 (the last bit)", TCP4(), 0, { { "198.51.100.7", 1ULL << 63 } },
	  { BLOCK_FROM(1ULL << 63) }, 1, 0, 0, XDP_DROP },
	{ "ipv6 host in <block> is dropped", TCP6(), 0, { { "2001:db8:1::7", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { HOST_HIT(1), PREFIX_HIT(0) } },
	{ "ipv6 host /128 is a host entry", TCP6(), 0, { { "2001:db8:1::7/128", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { HOST_HIT(1) } },
	{ "ipv6 host not listed passes", TCP6(.src = "2001:db8:1::8"), 0,
	  { { "2001:db8:1::7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS },
	{ "ipv6 address only in a covering /48 is dropped", TCP6(), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { HOST_HIT(0), PREFIX_HIT(1) } },
	{ "ipv6 host entry is final over a covering /48", TCP6(), 0,
	  { { "2001:db8:1::7", T_OTHER }, { "2001:db8:1::/48", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { HOST_HIT(1) } },
	{ "ipv6 longest prefix wins: /64 without <block> inside /32 with it", TCP6(), 0,
	  { { "2001:db8::/32", T_BLOCK }, { "2001:db8:1::/64", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { PREFIX_HIT(1) } },
	{ "ipv6 longest prefix wins: outside the /64 the /32 blocks",
	  TCP6(.src = "2001:db8:1:1::7"), 0,
	  { { "2001:db8::/32", T_BLOCK }, { "2001:db8:1::/64", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { PREFIX_HIT(1) } },
	{ "ipv6 /127 boundary", TCP6(.src = "2001:db8:1::8"), 0,
	  { { "2001:db8:1::6/127", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS },
	{ "ipv6 ::/0 covers everything", TCP6(.src = "2001:db8:ffff::1"), 0,
	  { { "::/0", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { PREFIX_HIT(1) } },
	{ "ipv6 ::/0 does not cover ipv4", TCP4(), 0, { { "::/0", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS, { PREFIX_HIT(0) } },
	{ "ipv4 /24 does not match the same bytes in ipv6", TCP6(.src = "c633:6400::7"), 0,
	  { { "198.51.100.0/24", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS },
	{ "no rules: a listed source passes (greywall is not default-deny)", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } }, { { 0 } }, 0, 0, 0, XDP_PASS,
	  { HOST_HIT(1), FX_STAT(GW_STAT_PASS, 1), FX_STAT(GW_STAT_DROP, 0) } },
};

SELFTEST(lookup)
{
	FX_RUN_CASES(lookup_cases);
}

/* The first-level index: networks painted over many pages, short IPv6 networks, /32 spreading. */
static const struct xdp_case index_cases[] = {
	{ "ipv4 /8 covers a source 16 pages away from its start", TCP4(.src = "198.51.100.7"), 0,
	  { { "198.0.0.0/8", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { PREFIX_HIT(1) } },
	{ "ipv4 /25 inside a /24: the other half is not listed", TCP4(.src = "198.51.100.7"), 0,
	  { { "198.51.100.128/25", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS,
	  { PREFIX_HIT(0) } },
	{ "ipv4 /25 inside a /24 with a covering /16", TCP4(.src = "198.51.100.200"), 0,
	  { { "198.51.0.0/16", T_OTHER }, { "198.51.100.128/25", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { PREFIX_HIT(1) } },
	{ "ipv4 host and network in the same /24", TCP4(.src = "198.51.100.9"), 0,
	  { { "198.51.100.7", T_OTHER }, { "198.51.100.0/24", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP, { HOST_HIT(0), PREFIX_HIT(1) } },
	{ "ipv4 network in a counters table: counted on its own entry", TCP4(), 0,
	  { { "198.51.100.0/24", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  {}, { { "198.51.100.0/24", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv6 network shorter than /16 (index off for IPv6)", TCP6(.src = "2001:db8:1::7"), 0,
	  { { "2000::/12", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { PREFIX_HIT(1) } },
	{ "ipv6 short network, host entries still found", TCP6(.src = "2001:db8:1::7"), 0,
	  { { "2000::/12", T_OTHER }, { "2001:db8:1::7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1,
	  0, 0, XDP_DROP, { HOST_HIT(1) } },
	{ "ipv6 /29 spread over eight /32 keys", TCP6(.src = "2001:dbf:1::7"), 0,
	  { { "2001:db8::/29", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_DROP,
	  { PREFIX_HIT(1) } },
	{ "ipv6 just outside the /29", TCP6(.src = "2001:dc0::7"), 0,
	  { { "2001:db8::/29", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, 0, XDP_PASS,
	  { PREFIX_HIT(0) } },
	{ "ipv6 /64 inside a /32 (the /32 asks the trie)", TCP6(.src = "2001:db8:2::7"), 0,
	  { { "2001:db8::/32", T_OTHER }, { "2001:db8:1::/64", T_BLOCK } },
	  { BLOCK_FROM(T_OTHER) }, 1, 0, 0, XDP_DROP, { PREFIX_HIT(1) } },
};

SELFTEST(lookup_index)
{
	FX_RUN_CASES(index_cases);
}

/*
 * More distinct table sets than the index has classes: the /24s beyond the
 * last class ask the trie, and every source still gets its own tables.
 */
SELFTEST(lookup_index_classes_run_out)
{
	struct gw_rule rule = RULE(GW_ACT_BLOCK_DROP, .src_tables = 1ULL << 40);
	struct pkt_spec spec = TCP4(.src = "198.51.100.7");
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&spec, pkt, NULL);
	char net[32];
	int i, bad = 0;

	fx_reset();
	fx_rules(&rule, 1);
	/* 150 /24s in 10.0.0.0/16 with sets {bit i} | {bit 40 when i is even}. */
	for (i = 0; i < 150; i++) {
		snprintf(net, sizeof(net), "10.0.%d.0/24", i);
		if (fx_put(net, (1ULL << (i % 40)) | (i * 1ULL << 41) | (i % 2 ? 0 : 1ULL << 40)))
			bad++;
	}
	CHECK_INT(bad, 0, "150 networks with distinct table sets written");
	fx_put("198.51.100.0/24", (1ULL << 40) | (1ULL << 63));
	CHECK_INT(fx_run_xdp(pkt, len, NULL, NULL), XDP_DROP,
		  "the 151st table set is still enforced");
	for (i = 0; i < 150; i++) {
		struct pkt_spec s = TCP4();
		char src[32];

		snprintf(src, sizeof(src), "10.0.%d.9", i);
		s.src = src;
		len = pkt_build(&s, pkt, NULL);
		if (fx_run_xdp(pkt, len, NULL, NULL) != (i % 2 ? XDP_PASS : XDP_DROP))
			bad++;
	}
	CHECK_INT(bad, 0, "each of the 150 /24s keeps its own tables");
}

/*
 * Networks of /24 and shorter in a `counters` table: the index names the
 * covering network by its length and gw_nets4 gives its entry, so the drop
 * is counted on the network's own entry without a trie walk.
 */
static const struct xdp_case net_cases[] = {
	{ "ipv4 source in a counted /16: dropped, counted on the /16", TCP4(), 0,
	  { { "198.51.0.0/16", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { HOST_HIT(0), PREFIX_HIT(1) }, { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv4 source in a counted /24: dropped, counted on the /24", TCP4(), 0,
	  { { "198.51.100.0/24", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { HOST_HIT(0), PREFIX_HIT(1) }, { { "198.51.100.0/24", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv4 source in a counted /8, 16 pages from its start", TCP4(), 0,
	  { { "198.0.0.0/8", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) }, { { "198.0.0.0/8", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv4 0.0.0.0/0 counted", TCP4(), 0, { { "0.0.0.0/0", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, { PREFIX_HIT(1) },
	  { { "0.0.0.0/0", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv4 counted /16, a source outside it passes", TCP4(.src = "198.52.100.7"), 0,
	  { { "198.51.0.0/16", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_PASS,
	  { PREFIX_HIT(0) }, { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 host inside a counted /16: counted on the host alone", TCP4(), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) },
	  1, 0, T_BLOCK, XDP_DROP, { HOST_HIT(1), PREFIX_HIT(0) },
	  { { "198.51.100.7", GW_DIR_IN_BLOCK, 1 }, { "198.51.0.0/16", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 neighbour of a host inside a counted /16: counted on the /16",
	  TCP4(.src = "198.51.100.9"), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) },
	  1, 0, T_BLOCK, XDP_DROP, { HOST_HIT(0), PREFIX_HIT(1) },
	  { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 }, { "198.51.100.7", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 counted /24 inside a counted /16: the /24 counts", TCP4(), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.0/24", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, { PREFIX_HIT(1) },
	  { { "198.51.100.0/24", GW_DIR_IN_BLOCK, 1 }, { "198.51.0.0/16", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 counted /24 inside a counted /16: outside the /24 the /16 counts",
	  TCP4(.src = "198.51.99.7"), 0,
	  { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.0/24", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, { PREFIX_HIT(1) },
	  { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 }, { "198.51.100.0/24", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 /24 without <block> inside a counted /16 with it passes, counted on the /24",
	  TCP4(), 0, { { "198.51.0.0/16", T_BLOCK }, { "198.51.100.0/24", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK | T_OTHER, XDP_PASS, { PREFIX_HIT(1) },
	  { { "198.51.100.0/24", GW_DIR_IN_PASS, 1 }, { "198.51.0.0/16", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 counted /25 inside a counted /16 (the trie answers that /24)", TCP4(), 0,
	  { { "198.51.0.0/16", T_OTHER }, { "198.51.100.0/25", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK | T_OTHER, XDP_DROP, { PREFIX_HIT(1) },
	  { { "198.51.100.0/25", GW_DIR_IN_BLOCK, 1 }, { "198.51.0.0/16", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 other half of that /24: the /16 counts", TCP4(.src = "198.51.100.200"), 0,
	  { { "198.51.0.0/16", T_OTHER }, { "198.51.100.0/25", T_BLOCK } },
	  { BLOCK_FROM(T_OTHER) }, 1, 0, T_BLOCK | T_OTHER, XDP_DROP, { PREFIX_HIT(1) },
	  { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 }, { "198.51.100.0/25", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv4 counted /16, a fragment is dropped and counted there",
	  TCP4(.ip_frag = 0x2000 | 1), 0, { { "198.51.0.0/16", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, { PREFIX_HIT(1) },
	  { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv4 counted /16 behind a VLAN tag", TCP4(.nvlan = 1, .vlan_id = { 100 }), 0,
	  { { "198.51.0.0/16", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) }, { { "198.51.0.0/16", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv6 source in a /48: counted on the /48", TCP6(), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { HOST_HIT(0), PREFIX_HIT(1) }, { { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv6 /48 beside another /48 of the same /32", TCP6(.src = "2001:db8:2::7"), 0,
	  { { "2001:db8:1::/48", T_OTHER }, { "2001:db8:2::/48", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, { PREFIX_HIT(1) },
	  { { "2001:db8:2::/48", GW_DIR_IN_BLOCK, 1 }, { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv6 in the /32 but in none of its /48s passes", TCP6(.src = "2001:db8:3::7"), 0,
	  { { "2001:db8:1::/48", T_BLOCK }, { "2001:db8:2::/48", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_PASS, { PREFIX_HIT(0) } },
	{ "ipv6 in none of the /48s, the covering /32 counts", TCP6(.src = "2001:db8:3::7"), 0,
	  { { "2001:db8::/32", T_OTHER }, { "2001:db8:1::/48", T_BLOCK } },
	  { BLOCK_FROM(T_OTHER) }, 1, 0, T_BLOCK | T_OTHER, XDP_DROP, { PREFIX_HIT(1) },
	  { { "2001:db8::/32", GW_DIR_IN_BLOCK, 1 }, { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv6 /48 without <block> inside a /32 with it passes", TCP6(), 0,
	  { { "2001:db8::/32", T_BLOCK }, { "2001:db8:1::/48", T_OTHER } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK | T_OTHER, XDP_PASS, { PREFIX_HIT(1) },
	  { { "2001:db8:1::/48", GW_DIR_IN_PASS, 1 } } },
	{ "ipv6 /64 inside a /48 (two lengths: the trie)", TCP6(.src = "2001:db8:1:0::7"), 0,
	  { { "2001:db8:1::/48", T_OTHER }, { "2001:db8:1::/64", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK | T_OTHER, XDP_DROP, { PREFIX_HIT(1) },
	  { { "2001:db8:1::/64", GW_DIR_IN_BLOCK, 1 }, { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv6 /33: the mask crosses no byte boundary", TCP6(.src = "2001:db8:7fff::7"), 0,
	  { { "2001:db8::/33", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) }, { { "2001:db8::/33", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv6 just outside a /33", TCP6(.src = "2001:db8:8000::7"), 0,
	  { { "2001:db8::/33", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_PASS,
	  { PREFIX_HIT(0) } },
	{ "ipv6 /61: the last bits of the mask", TCP6(.src = "2001:db8:1:7::7"), 0,
	  { { "2001:db8:1::/61", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) } },
	{ "ipv6 just outside a /61", TCP6(.src = "2001:db8:1:8::7"), 0,
	  { { "2001:db8:1::/61", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_PASS,
	  { PREFIX_HIT(0) } },
	{ "ipv6 host inside a /48: counted on the host", TCP6(), 0,
	  { { "2001:db8:1::/48", T_BLOCK }, { "2001:db8:1::7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) },
	  1, 0, T_BLOCK, XDP_DROP, { HOST_HIT(1), PREFIX_HIT(0) },
	  { { "2001:db8:1::7", GW_DIR_IN_BLOCK, 1 }, { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 0 } } },
	{ "ipv6 /48 behind a hop-by-hop header", TCP6(.next = 1, .ext = { IPPROTO_HOPOPTS }), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) }, { { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 1 } } },
	{ "ipv6 /48 behind a VLAN tag", TCP6(.nvlan = 1, .vlan_id = { 100 }), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { PREFIX_HIT(1) }, { { "2001:db8:1::/48", GW_DIR_IN_BLOCK, 1 } } },
};

SELFTEST(lookup_index_nets)
{
	FX_RUN_CASES(net_cases);
}

/* The XDP verdict on spec's packet sent from src. */
static int run_spec_from(struct pkt_spec spec, const char *src)
{
	uint8_t pkt[PKT_MAX];
	size_t len;

	spec.src = src;
	len = pkt_build(&spec, pkt, NULL);
	return fx_run_xdp(pkt, len, NULL, NULL);
}

static int run_src(const char *src)
{
	struct pkt_spec spec = TCP4();

	return run_spec_from(spec, src);
}

static int nets4_get(const char *net, struct gw_entry *out)
{
	struct gw_lpm4_key k4;
	struct addr_prefix p;
	struct datapath dp;

	if (addr_parse(net, &p))
		return -EINVAL;
	addr_to_lpm4(&p, &k4);
	fx_datapath(&dp);
	return bpf_map_lookup_elem(dp.nets4, &k4, out) ? -errno : 0;
}

static uint8_t index_byte(const char *src)
{
	struct gw_index4_page page;
	struct addr_prefix p;
	struct datapath dp;
	uint32_t key;

	if (addr_parse(src, &p))
		return 0xff;
	key = (uint32_t)p.bytes[0] << 8 | p.bytes[1];
	fx_datapath(&dp);
	if (bpf_map_lookup_elem(dp.index4, &key, &page))
		return 0xff;
	return page.slot[p.bytes[2]];
}

/*
 * The index names a counted network by its length, and the data path takes
 * the entry from gw_nets4: changed there (as a test only can), the verdict
 * follows it. Deleting the network restores pass and takes its gw_nets4
 * entry away; a gw_nets4 entry missing, or gw_nets4 full, leaves the trie
 * to answer: never a listed source through.
 */
SELFTEST(lookup_index_nets_map)
{
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	struct gw_entry e, trie;
	struct gw_lpm4_key k4;
	struct gw_counters c;
	struct addr_prefix p;
	struct datapath dp;
	int filled;

	fx_reset();
	fx_datapath(&dp);
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	CHECK_INT(fx_put("198.51.0.0/16", T_BLOCK), 0, "a counted /16");
	CHECK_INT(index_byte("198.51.100.7"), GW_CLASS_NET + 16, "its /24s name a /16 network");
	CHECK_INT(index_byte("198.51.0.7"), GW_CLASS_NET + 16, "its first /24 too");
	CHECK_INT(index_byte("198.52.0.7"), 0, "the /24 after it is in no table");
	CHECK(!nets4_get("198.51.0.0/16", &e) && !fx_get("198.51.0.0/16", &trie) &&
		      !memcmp(&e, &trie, sizeof(e)),
	      "gw_nets4 holds a copy of its trie entry");
	CHECK_INT(run_src("198.51.100.7"), XDP_DROP, "a source in it is dropped");

	addr_parse("198.51.0.0/16", &p);
	addr_to_lpm4(&p, &k4);
	e.tables = T_OTHER;
	CHECK(!bpf_map_update_elem(dp.nets4, &k4, &e, BPF_EXIST), "gw_nets4 entry changed");
	CHECK_INT(run_src("198.51.100.7"), XDP_PASS,
		  "the data path read gw_nets4, not the trie (changed there: passes)");
	CHECK(!bpf_map_delete_elem(dp.nets4, &k4), "gw_nets4 entry deleted behind the index");
	/* What only a race with userspace could show the data path. */
	CHECK_INT(run_src("198.51.100.7"), XDP_DROP, "the trie answers its miss: dropped");
	CHECK(!fx_counters("198.51.0.0/16", &c) && c.packets[GW_DIR_IN_BLOCK] == 2,
	      "both drops counted on the /16's entry (%llu)",
	      (unsigned long long)c.packets[GW_DIR_IN_BLOCK]);

	CHECK_INT(fx_put("198.51.100.0/24", T_BLOCK), 0, "a counted /24 inside it");
	CHECK_INT(index_byte("198.51.100.7"), GW_CLASS_NET + 24, "its /24 names the /24");
	CHECK_INT(index_byte("198.51.99.7"), GW_CLASS_NET + 16, "the neighbour still the /16");
	CHECK_INT(fx_del("198.51.100.0/24"), 0, "the /24 deleted");
	CHECK_INT(index_byte("198.51.100.7"), GW_CLASS_NET + 16, "its /24 names the /16 again");
	CHECK_INT(nets4_get("198.51.100.0/24", &e), -ENOENT, "the /24 left gw_nets4");
	CHECK_INT(fx_del("198.51.0.0/16"), 0, "the /16 deleted");
	CHECK_INT(index_byte("198.51.100.7"), 0, "the index forgets it");
	CHECK_INT(nets4_get("198.51.0.0/16", &e), -ENOENT, "it left gw_nets4");
	CHECK_INT(run_src("198.51.100.7"), XDP_PASS, "deletion restores pass");

	/* Full: networks get a table class; counted through the trie. */
	filled = fx_fill_map(dp.nets4);
	CHECK_INT(filled, 0, "gw_nets4 filled to capacity");
	CHECK_INT(fx_put("198.51.0.0/16", T_BLOCK), 0, "a counted /16 while gw_nets4 is full");
	CHECK(index_byte("198.51.100.7") >= 1 && index_byte("198.51.100.7") < GW_CLASS_NET,
	      "its /24s get a table class (%u)", index_byte("198.51.100.7"));
	CHECK_INT(run_src("198.51.100.7"), XDP_DROP, "a source in it is still dropped");
	CHECK(!fx_counters("198.51.0.0/16", &c) && c.packets[GW_DIR_IN_BLOCK] == 1,
	      "and counted on the /16's entry");
	fx_reset();
	CHECK(bpf_map_get_next_key(dp.nets4, NULL, &k4) && errno == ENOENT,
	      "the fixture's reset empties gw_nets4");
}

static int run_src6(const char *src)
{
	struct pkt_spec spec = TCP6();

	return run_spec_from(spec, src);
}

/* The same for IPv6 networks of /33../64 and gw_nets6. */
SELFTEST(lookup_index_nets6_map)
{
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	struct gw_lpm6_key k6;
	struct addr_prefix p;
	struct gw_counters c;
	struct datapath dp;
	struct gw_entry e;

	fx_reset();
	fx_datapath(&dp);
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	CHECK_INT(fx_put("2001:db8:1::/48", T_BLOCK), 0, "a counted /48");
	addr_parse("2001:db8:1::/48", &p);
	addr_to_lpm6(&p, &k6);
	CHECK(!bpf_map_lookup_elem(dp.nets6, &k6, &e) && e.tables == T_BLOCK,
	      "gw_nets6 holds its entry");
	CHECK_INT(run_src6("2001:db8:1:ffff::7"), XDP_DROP, "a source in it is dropped");
	e.tables = T_OTHER;
	CHECK(!bpf_map_update_elem(dp.nets6, &k6, &e, BPF_EXIST), "gw_nets6 entry changed");
	CHECK_INT(run_src6("2001:db8:1:ffff::7"), XDP_PASS,
		  "the data path read gw_nets6, not the trie (changed there: passes)");
	e.tables = T_BLOCK;
	CHECK(!bpf_map_update_elem(dp.nets6, &k6, &e, BPF_EXIST), "changed back");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "dropped again");
	CHECK(!fx_counters("2001:db8:1::/48", &c) && c.packets[GW_DIR_IN_BLOCK] == 2 &&
		      c.packets[GW_DIR_IN_PASS] == 0,
	      "both drops counted on the /48's entry (the pass, in no counters table then, not)");
	CHECK_INT(fx_del("2001:db8:1::/48"), 0, "the /48 deleted");
	CHECK(bpf_map_lookup_elem(dp.nets6, &k6, &e) && errno == ENOENT, "it left gw_nets6");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_PASS, "deletion restores pass");
	fx_reset();
}

/* The slot of the /32 holding src in gw_index6_slots, its bucket in *bk; NULL when none. */
static struct gw_index6_slot *slot6_of(int fd, const char *src, struct gw_index6_bucket *bk,
				       uint32_t *b)
{
	struct addr_prefix p;
	uint32_t key;

	if (addr_parse(src, &p))
		return NULL;
	memcpy(&key, p.bytes, 4);
	*b = gw_index6_bucket_of(key);
	if (bpf_map_lookup_elem(fd, b, bk))
		return NULL;
	for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++)
		if (bk->slot[i].state != GW_SLOT6_EMPTY && bk->slot[i].key == key)
			return &bk->slot[i];
	return NULL;
}

static int run6_framed(const char *src, int vlan, int ext)
{
	struct pkt_spec spec = TCP6();
	uint8_t pkt[PKT_MAX];
	size_t len;

	spec.src = src;
	if (vlan) {
		spec.nvlan = 1;
		spec.vlan_id[0] = 7;
	}
	if (ext) {
		spec.next = 2;
		spec.ext[0] = IPPROTO_HOPOPTS;
		spec.ext[1] = IPPROTO_DSTOPTS;
	}
	len = pkt_build(&spec, pkt, NULL);
	return fx_run_xdp(pkt, len, NULL, NULL);
}

/*
 * gw_index6_slots answers the IPv6 index without a helper call: shown by
 * changing a slot behind userspace's back (the verdict follows the slot,
 * not gw_index6), and by forcing each way to gw_index6 (BUSY, spill).
 */
SELFTEST(lookup_index6_slots)
{
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	struct gw_index6_bucket bk, saved;
	struct gw_index6_slot *s;
	struct datapath dp;
	uint32_t b, cfg = GW_CFG_FLAGS;
	uint64_t flags = 0;

	fx_reset();
	fx_datapath(&dp);
	fx_rules(&rule, 1);
	CHECK_INT(fx_put("2001:db8:1::7", T_BLOCK), 0, "a listed host");
	CHECK(!bpf_map_lookup_elem(dp.config, &cfg, &flags) && (flags & GW_CFG_F_INDEX6_SLOTS),
	      "the data path reads gw_index6_slots");
	s = slot6_of(dp.index6_slots, "2001:db8:1::7", &bk, &b);
	CHECK(s && s->state == GW_SLOT6_LIVE && s->flags == GW_INDEX6_HOSTS,
	      "its /32 has a slot that says hosts");
	if (!s)
		goto out;
	saved = bk;
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "the host is dropped");
	CHECK_INT(run6_framed("2001:db8:1::7", 1, 0), XDP_DROP, "behind a VLAN tag");
	CHECK_INT(run6_framed("2001:db8:1::7", 0, 1), XDP_DROP, "behind two extension headers");
	CHECK_INT(run6_framed("2001:db8:1::7", 1, 1), XDP_DROP, "behind both");
	CHECK_INT(run_src6("2001:db8:1::8"), XDP_PASS, "its unlisted neighbour passes");
	CHECK_INT(run_src6("2001:db9::7"), XDP_PASS, "an unlisted /32 passes");

	s->flags = 0;
	CHECK(!bpf_map_update_elem(dp.index6_slots, &b, &bk, BPF_ANY), "the slot loses hosts");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_PASS,
		  "the verdict follows the slot, not gw_index6 (which still says hosts)");
	s->flags = GW_INDEX6_HOSTS;
	s->state = GW_SLOT6_BUSY;
	CHECK(!bpf_map_update_elem(dp.index6_slots, &b, &bk, BPF_ANY), "the slot is BUSY");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "BUSY: gw_index6 answers");
	s->state = GW_SLOT6_EMPTY;
	bk.spill = 1;
	CHECK(!bpf_map_update_elem(dp.index6_slots, &b, &bk, BPF_ANY),
	      "the /32 without a slot, its bucket spilled");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "spilled: gw_index6 answers");
	CHECK_INT(run6_framed("2001:db8:1::7", 1, 1), XDP_DROP, "spilled, VLAN, extension headers");
	bk.spill = 0;
	CHECK(!bpf_map_update_elem(dp.index6_slots, &b, &bk, BPF_ANY), "and the spill count 0");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_PASS,
		  "no slot, no spill: in no table, without asking gw_index6");
	fx_config(GW_CFG_FLAGS, flags & ~(uint64_t)GW_CFG_F_INDEX6_SLOTS);
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "GW_CFG_F_INDEX6_SLOTS off: gw_index6 answers");
	fx_config(GW_CFG_FLAGS, flags);
	CHECK(!bpf_map_update_elem(dp.index6_slots, &b, &saved, BPF_ANY), "the slot restored");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_DROP, "dropped through the slot again");

	CHECK_INT(fx_put("3fff:1:1::/48", T_BLOCK), 0, "a /48 in another /32");
	s = slot6_of(dp.index6_slots, "3fff:1:1::7", &bk, &b);
	CHECK(s && s->state == GW_SLOT6_LIVE && s->flags == GW_INDEX6_NET && s->net_plen == 48,
	      "its slot names the length");
	CHECK_INT(run_src6("3fff:1:1:ffff::7"), XDP_DROP, "a source in the /48 is dropped");
	CHECK_INT(run6_framed("3fff:1:1::9", 1, 1), XDP_DROP, "VLAN, extension headers");
	CHECK_INT(run_src6("3fff:1:2::7"), XDP_PASS, "the next /48 passes");

	CHECK_INT(fx_put("3fff:2::/32", T_BLOCK), 0, "a listed /32");
	s = slot6_of(dp.index6_slots, "3fff:2::7", &bk, &b);
	CHECK(s && s->state == GW_SLOT6_LIVE && s->flags == GW_SLOT6_TABLES,
	      "its slot sends the data path to gw_index6 for the tables");
	CHECK_INT(run_src6("3fff:2:ffff::7"), XDP_DROP, "a source in the /32 is dropped");
	CHECK_INT(run_src6("3fff:3::7"), XDP_PASS, "the next /32 passes");

	CHECK_INT(fx_del("2001:db8:1::7"), 0, "the host deleted");
	CHECK(!slot6_of(dp.index6_slots, "2001:db8:1::7", &bk, &b), "its slot emptied");
	CHECK_INT(run_src6("2001:db8:1::7"), XDP_PASS, "deletion restores pass");
out:
	fx_reset();
}
