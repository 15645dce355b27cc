// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * XDP ingress: look up the source's table membership, drop what no rule
 * could judge (gw_scrub_reason()), evaluate the compiled rules as PF does
 * (or follow a tracked flow, bpf/flow.h), count, and pass, drop, or answer
 * a `block return` (bpf/reply.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "flow.h"
#include "greywall.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"
#include "reply.h"

/* Run before other programs on the same interface; a pass goes on down the chain. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(greywall_xdp);

/* What the rule index looks at, gathered once per packet. */
struct gw_match {
	__u64 src_tables;
	__u64 dst_tables;
	__u32 ifindex;
	__u32 base_key;		/* GW_RIX_BASE + family/protocol/SYN */
	__u32 port_key;		/* destination port, or GW_RULE_PORT_NONE */
};

/* Index of the lowest set bit of x (x != 0), without a loop. */
static __always_inline __u32 gw_lowest_bit(__u64 x)
{
	__u32 n = 0;

	x &= -x;
	if (x & 0xffffffff00000000ULL)
		n += 32;
	if (x & 0xffff0000ffff0000ULL)
		n += 16;
	if (x & 0xff00ff00ff00ff00ULL)
		n += 8;
	if (x & 0xf0f0f0f0f0f0f0f0ULL)
		n += 4;
	if (x & 0xccccccccccccccccULL)
		n += 2;
	if (x & 0xaaaaaaaaaaaaaaaaULL)
		n += 1;
	return n;
}

/* Index of the highest set bit of x (x != 0). */
static __always_inline __u32 gw_highest_bit(__u64 x)
{
	__u32 n = 0;

	if (x >> 32) {
		n += 32;
		x >>= 32;
	}
	if (x >> 16) {
		n += 16;
		x >>= 16;
	}
	if (x >> 8) {
		n += 8;
		x >>= 8;
	}
	if (x >> 4) {
		n += 4;
		x >>= 4;
	}
	if (x >> 2) {
		n += 2;
		x >>= 2;
	}
	if (x >> 1)
		n += 1;
	return n;
}

static __always_inline struct gw_ruleset *gw_rix(__u32 gen_base, __u32 key)
{
	__u32 k = gen_base + key;

	return bpf_map_lookup_elem(&GW_MAP_RULE_INDEX, &k);
}

/*
 * Narrow cand to the rules an address side satisfies: rules without a
 * table for that side, `from <t>` rules whose table the address is in, and
 * `from !<t>` rules whose table it is not in. key_none, key_table: GW_RIX_SRC_*
 * or GW_RIX_DST_*.
 */
static __always_inline int gw_side_filter(__u64 *cand, __u32 nwords, __u32 gen_base,
					  __u64 tables, __u32 key_none, __u32 key_table)
{
	struct gw_ruleset *rs, *any, *pos, *neg;
	__u64 matched[GW_RULE_WORDS] = {};
	__u32 i, w;

	if (!tables) {
		rs = gw_rix(gen_base, key_none);
		if (!rs)
			return -1;
		for (w = 0; w < GW_RULE_WORDS; w++)
			if (w < nwords)
				cand[w] &= rs->bits[w];
		return 0;
	}
	for (i = 0; i < GW_MAX_TABLES && tables; i++) {
		__u32 t = gw_lowest_bit(tables);

		tables &= tables - 1;
		rs = gw_rix(gen_base, key_table + t);
		if (!rs)
			return -1;
		for (w = 0; w < GW_RULE_WORDS; w++)
			if (w < nwords)
				matched[w] |= rs->bits[w];
	}
	/* key_none + 1, + 2, + 3: ANY, POS, NEG (enum gw_rule_index_key). */
	any = gw_rix(gen_base, key_none + 1);
	pos = gw_rix(gen_base, key_none + 2);
	neg = gw_rix(gen_base, key_none + 3);
	if (!any || !pos || !neg)
		return -1;
	for (w = 0; w < GW_RULE_WORDS; w++)
		if (w < nwords)
			cand[w] &= any->bits[w] | (matched[w] & pos->bits[w]) |
				   (~matched[w] & neg->bits[w]);
	return 0;
}

/*
 * The deciding rule for m, or -1 when none matches. nwords is a constant
 * at each call site, so the common case of at most 64 rules touches one
 * word of each set.
 */
static __always_inline int gw_decide(const struct gw_match *m, __u32 gen, __u64 meta_flags,
				     __u32 nwords)
{
	__u32 gen_base = gen * GW_RIX_MAX, w, k;
	__u64 cand[GW_RULE_WORDS] = {};
	struct gw_ruleset *base, *ports, *quick;
	__u64 any = 0;

	base = gw_rix(gen_base, m->base_key);
	k = gen * GW_RULE_PORT_KEYS + m->port_key;
	ports = bpf_map_lookup_elem(&GW_MAP_RULE_PORTS, &k);
	if (!base || !ports)
		return -1;
	for (w = 0; w < GW_RULE_WORDS; w++)
		if (w < nwords)
			any |= cand[w] = base->bits[w] & ports->bits[w];
	if (!any)
		return -1;
	if (gw_side_filter(cand, nwords, gen_base, m->src_tables, GW_RIX_SRC_NONE,
			   GW_RIX_SRC_TABLE))
		return -1;
	if ((meta_flags & GW_RULE_META_NEED_DST) &&
	    gw_side_filter(cand, nwords, gen_base, m->dst_tables, GW_RIX_DST_NONE,
			   GW_RIX_DST_TABLE))
		return -1;
	if (meta_flags & GW_RULE_META_IFINDEX) {
		struct gw_rule_iface_key ik = { .generation = gen, .ifindex = m->ifindex };
		struct gw_ruleset *ifs = bpf_map_lookup_elem(&GW_MAP_RULE_IFACES, &ik);

		if (!ifs)
			ifs = gw_rix(gen_base, GW_RIX_IF_ANY);
		if (!ifs)
			return -1;
		for (w = 0; w < GW_RULE_WORDS; w++)
			if (w < nwords)
				cand[w] &= ifs->bits[w];
	}
	any = 0;
	for (w = 0; w < GW_RULE_WORDS; w++)
		if (w < nwords)
			any |= cand[w];
	if (!any)
		return -1;
	quick = gw_rix(gen_base, GW_RIX_QUICK);
	if (!quick)
		return -1;
	for (w = 0; w < GW_RULE_WORDS; w++) {
		if (w >= nwords)
			break;
		if (cand[w] & quick->bits[w])
			return (int)(w * 64 + gw_lowest_bit(cand[w] & quick->bits[w]));
	}
	for (w = GW_RULE_WORDS; w-- > 0;)
		if (w < nwords && cand[w])
			return (int)(w * 64 + gw_highest_bit(cand[w]));
	return -1;
}

/*
 * The deciding rule of a source in src_tables when one of the leading
 * quick rules on source tables alone decides it (GW_RIX_FIRST_QUICK), or
 * -1: the rule index must decide.
 */
static __always_inline int gw_first_quick(__u32 gen, __u64 src_tables)
{
	struct gw_ruleset *first = gw_rix(gen * GW_RIX_MAX, GW_RIX_FIRST_QUICK);
	__u32 i;

	if (!first)
		return -1;
	for (i = 0; i < GW_FIRST_QUICK_MAX; i++)
		if (src_tables & first->bits[i])
			return (int)((first->bits[GW_FIRST_QUICK_MAX] >> (8 * i)) & 0xff);
	return -1;
}

/* The action of rule idx in generation gen. */
static __always_inline __u32 gw_rule_action(__u32 gen, __u32 idx)
{
	struct gw_ruleset *block = gw_rix(gen * GW_RIX_MAX, GW_RIX_BLOCK);
	struct gw_ruleset *ret = gw_rix(gen * GW_RIX_MAX, GW_RIX_RETURN);
	__u32 w = (idx >> 6) & (GW_RULE_WORDS - 1), b = idx & 63;

	if (!block || !ret || !((block->bits[w] >> b) & 1))
		return GW_ACT_PASS;
	return ((ret->bits[w] >> b) & 1) ? GW_ACT_BLOCK_RETURN : GW_ACT_BLOCK_DROP;
}

/* The protocol as the rule index numbers it (enum gw_rule_index_key). */
static __always_inline __u32 gw_proto_index(const struct gw_pkt *pkt)
{
	if (pkt->l4 == GW_L4_UNKNOWN)
		return 0;
	switch (pkt->proto) {
	case IPPROTO_TCP:
		return 1;
	case IPPROTO_UDP:
		return 2;
	case IPPROTO_ICMP:
		return 3;
	case IPPROTO_ICMPV6:
		return 4;
	}
	return 5;
}

/*
 * Why pkt is dropped before the rules whatever its source (a GW_STAT_*
 * counting it), or 0. The rules match TCP and UDP on ports and flags the
 * kernel would only learn after reassembly, or from a header chain the
 * parser gave up on: PF's scrub and RFC 1858 drop such packets, and so do
 * we. Other protocols' short headers are the rules' (nothing of them a
 * rule matches on is lost), and non-first fragments follow their source's
 * rules.
 */
static __always_inline __u32 gw_scrub_reason(const struct gw_pkt *pkt)
{
	switch (pkt->l4) {
	case GW_L4_FRAGMENT:
		return (pkt->frag & GW_FRAG_OFFSET1) ? GW_STAT_FRAGMENT_OFFSET1 : 0;
	case GW_L4_UNKNOWN:
		return GW_STAT_IPV6_CHAIN;
	case GW_L4_TRUNCATED:
		if (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP)
			return 0;
		return (pkt->frag & GW_FRAG_FIRST) ? GW_STAT_TINY_FRAGMENT : GW_STAT_SHORT_HEADER;
	}
	return 0;
}

/*
 * Gather what the rules look at and find the deciding rule (-1: none). A
 * global function: the verifier checks it once, not once per path through
 * the flow decisions before it.
 */
__noinline int gw_evaluate(struct xdp_md *ctx, const struct gw_pkt *pkt, __u32 gen,
			   __u64 src_tables, __u64 cfg_flags)
{
	struct gw_ruleset *meta;
	__u64 meta_flags;
	struct gw_match m;

	gen &= 1;
	meta = gw_rix(gen * GW_RIX_MAX, GW_RIX_META);
	if (!ctx || !pkt || !meta)
		return -1;
	meta_flags = meta->bits[1];

	m.src_tables = src_tables & meta->bits[2];
	m.dst_tables = 0;
	if (meta_flags & GW_RULE_META_NEED_DST) {
		struct gw_member dst;

		gw_lookup(&pkt->dst, pkt->family, cfg_flags, 0, &dst);
		gw_count_hit(NULL, &dst);
		m.dst_tables = dst.tables & meta->bits[3];
	}
	m.ifindex = ctx->ingress_ifindex;
	m.base_key = GW_RIX_BASE +
		     ((pkt->family == 6) * GW_RIX_PROTOS + gw_proto_index(pkt)) * 2 +
		     (gw_is_tcp(pkt) && gw_is_syn(pkt));
	m.port_key = pkt->l4 == GW_L4_OK && (pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP)
			     ? pkt->dport
			     : GW_RULE_PORT_NONE;
	if (meta->bits[0] <= 64)
		return gw_decide(&m, gen, meta_flags, 1);
	return gw_decide(&m, gen, meta_flags, GW_RULE_WORDS);
}

SEC("xdp")
int greywall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	__u64 cfg_flags, counter_tables;
	struct gw_stats *stats = gw_stats_get();
	struct gw_rule_stats *st;
	struct gw_ruleset *meta;
	struct gw_member src;
	struct gw_pkt pkt;
	__u32 action = GW_ACT_PASS, gen, idx, scrub = 0;
	int status;

	gw_stats_add(stats, GW_STAT_PACKETS);
	status = gw_parse(data, data_end, &pkt);
	if (status != GW_PARSE_IP) {
		gw_stats_add(stats, status == GW_PARSE_NON_IP ? GW_STAT_NON_IP : GW_STAT_UNPARSED);
		gw_stats_add(stats, GW_STAT_PASS);
		return XDP_PASS;
	}
	/*
	 * The addresses are known from here on: a source is looked up even when
	 * its L4 header is cut short, and its counters count the drop.
	 */
	if (pkt.l4 != GW_L4_OK) {
		scrub = gw_scrub_reason(&pkt);
		if (scrub)
			gw_stats_add(stats, scrub);
		else if (pkt.l4 == GW_L4_TRUNCATED)
			gw_stats_add(stats, GW_STAT_UNPARSED);
		if (pkt.l4 == GW_L4_FRAGMENT)
			gw_stats_add(stats, GW_STAT_FRAGMENT);
	}
	if (pkt.ipv6_ext)
		gw_stats_add(stats, GW_STAT_IPV6_EXT);

	cfg_flags = gw_config_get(GW_CFG_FLAGS);
	counter_tables = gw_config_get(GW_CFG_COUNTER_TABLES);
	gen = gw_config_get(GW_CFG_RULE_GEN) & 1;
	gw_lookup(&pkt.src, pkt.family, cfg_flags, counter_tables, &src);
	gw_count_hit(stats, &src);
	if (scrub) {
		action = GW_ACT_BLOCK_DROP;
		goto verdict;
	}
	meta = gw_rix(gen * GW_RIX_MAX, GW_RIX_META);
	if (meta && meta->bits[0]) {
		int rule = -1, flow = GW_FLOW_NONE;

		/* A tracked flow's packets skip the rules (PF's state match). */
		if ((meta->bits[1] & GW_RULE_META_STATEFUL) && gw_is_tcp(&pkt)) {
			flow = gw_flow_fast(&pkt, gen, len);
			if (flow == GW_FLOW_SLOW)
				flow = gw_flow_ingress(ctx, &pkt, len);
		}
		if (flow != GW_FLOW_NONE) {
			action = flow == GW_FLOW_PASS ? GW_ACT_PASS : GW_ACT_BLOCK_DROP;
			goto verdict;
		}
		/* A listed source's first quick rule decides it without the rule index. */
		if (src.tables & meta->bits[2])
			rule = gw_first_quick(gen, src.tables);
		/* Most sources are in no table, and most rules want one. */
		if (rule < 0 &&
		    ((src.tables & meta->bits[2]) || !(meta->bits[1] & GW_RULE_META_NEED_SRC)))
			rule = gw_evaluate(ctx, &pkt, gen, src.tables, cfg_flags);
		/* Rule 0 sees every packet that is evaluated: userspace derives the others. */
		idx = 0;
		st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &idx);
		if (st)
			st->evaluations++;
		if (rule >= 0) {
			/* Most drops are the first rule's: its counters are at hand. */
			idx = (__u32)rule;
			if (idx)
				st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &idx);
			if (st) {
				st->matches++;
				st->packets++;
				st->bytes += len;
			}
			action = gw_rule_action(gen, idx);
			/* A SYN its rule must track but cannot is refused: it would escape the limits. */
			if (action == GW_ACT_PASS && (meta->bits[1] & GW_RULE_META_STATEFUL) &&
			    gw_is_tcp(&pkt) && gw_is_syn(&pkt) && gw_flow_syn(ctx, &pkt, idx))
				action = GW_ACT_BLOCK_DROP;
		}
	}
verdict:
	if (src.entry && (src.tables & counter_tables))
		gw_count(src.entry, action == GW_ACT_PASS ? GW_DIR_IN_PASS : GW_DIR_IN_BLOCK, len);

	if (action == GW_ACT_PASS) {
		gw_stats_add(stats, GW_STAT_PASS);
		return XDP_PASS;
	}
	/* Answered (PF's return) unless the packet is one never to answer. */
	if (action == GW_ACT_BLOCK_RETURN && gw_block_return(ctx, &pkt) == XDP_TX)
		return XDP_TX;
	gw_stats_add(stats, GW_STAT_DROP);
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
