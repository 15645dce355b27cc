// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Source membership: host map first, the family's trie on a miss, longest
 * prefix wins, and a host entry's own membership is final.
 */
#include <stdio.h>

#include "cases.h"

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
