// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * XDP ingress: look up the source's table membership, evaluate the
 * compiled rules as PF does, count, and pass or drop.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "greywall.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"

/* Run before other programs on the same interface; a pass goes on down the chain. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(greywall_xdp);

/* What a rule can look at, gathered once per packet. */
struct gw_match {
	__u64 src_tables;
	__u64 dst_tables;
	__u32 ifindex;
	__u32 nrules;
	__u32 family_flag;	/* GW_RULE_INET or GW_RULE_INET6 */
	__u32 proto_bit;	/* enum gw_proto_bit, 0 when the protocol is unknown */
	__u32 dport;		/* host order */
	__u8 has_ports;		/* TCP or UDP header parsed */
	__u8 syn_no_ack;	/* TCP header parsed, SYN set, ACK clear */
	__u8 action;		/* of the deciding rule */
	__u8 decided;		/* some rule matched */
	__u32 rule;		/* index of the deciding rule */
};

static __always_inline int gw_rule_matches(const struct gw_rule *r, const struct gw_match *m)
{
	__u32 flags = r->flags;

	if (r->ifindex && r->ifindex != m->ifindex)
		return 0;
	if ((flags & (GW_RULE_INET | GW_RULE_INET6)) && !(flags & m->family_flag))
		return 0;
	if (r->proto_mask && !(r->proto_mask & m->proto_bit))
		return 0;
	if (r->dport_lo != 0 || r->dport_hi != 65535) {
		if (!m->has_ports || m->dport < r->dport_lo || m->dport > r->dport_hi)
			return 0;
	}
	if ((flags & GW_RULE_FLAGS_S_SA) && !m->syn_no_ack)
		return 0;
	if (r->src_tables && !(m->src_tables & r->src_tables) == !(flags & GW_RULE_SRC_NOT))
		return 0;
	if (r->dst_tables && !(m->dst_tables & r->dst_tables) == !(flags & GW_RULE_DST_NOT))
		return 0;
	return 1;
}

/* bpf_loop callback: examine rule i; returning 1 stops the walk (a quick match). */
static long gw_rule_step(__u32 i, void *ctx)
{
	struct gw_match *m = ctx;
	struct gw_rule_stats *st;
	struct gw_rule *r;

	r = bpf_map_lookup_elem(&GW_MAP_RULES, &i);
	if (!r)
		return 1;
	st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &i);
	if (st)
		st->evaluations++;
	if (!gw_rule_matches(r, m))
		return 0;
	m->decided = 1;
	m->rule = i;
	m->action = r->action;
	return (r->flags & GW_RULE_QUICK) ? 1 : 0;
}

static __always_inline __u32 gw_proto_bit(const struct gw_pkt *pkt)
{
	if (pkt->l4 == GW_L4_UNKNOWN)
		return 0;
	switch (pkt->proto) {
	case IPPROTO_TCP:
		return GW_PROTO_TCP;
	case IPPROTO_UDP:
		return GW_PROTO_UDP;
	case IPPROTO_ICMP:
		return GW_PROTO_ICMP;
	case IPPROTO_ICMPV6:
		return GW_PROTO_ICMPV6;
	}
	return GW_PROTO_OTHER;
}

SEC("xdp")
int greywall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct gw_entry *src;
	struct gw_match m;
	struct gw_pkt pkt;
	__u32 action = GW_ACT_PASS;
	int status;

	gw_stat_inc(GW_STAT_PACKETS);
	status = gw_parse(data, data_end, &pkt);
	if (status != GW_PARSE_IP) {
		gw_stat_inc(status == GW_PARSE_NON_IP ? GW_STAT_NON_IP : GW_STAT_UNPARSED);
		gw_stat_inc(GW_STAT_PASS);
		return XDP_PASS;
	}
	/*
	 * The addresses are known from here on: a source is looked up even when
	 * its L4 header is cut short, so short headers cannot slip past a block.
	 */
	if (pkt.l4 == GW_L4_TRUNCATED || pkt.l4 == GW_L4_UNKNOWN)
		gw_stat_inc(GW_STAT_UNPARSED);
	else if (pkt.l4 == GW_L4_FRAGMENT)
		gw_stat_inc(GW_STAT_FRAGMENT);
	if (pkt.ipv6_ext)
		gw_stat_inc(GW_STAT_IPV6_EXT);

	src = gw_lookup(&pkt.src, pkt.family);
	m.nrules = gw_config_get(GW_CFG_NRULES);
	if (m.nrules) {
		struct gw_entry *dst = NULL;

		if (m.nrules > GW_MAX_RULES)
			m.nrules = GW_MAX_RULES;
		m.src_tables = src ? src->tables : 0;
		if (gw_config_get(GW_CFG_FLAGS) & GW_CFG_F_NEED_DST)
			dst = gw_lookup(&pkt.dst, pkt.family);
		m.dst_tables = dst ? dst->tables : 0;
		m.ifindex = ctx->ingress_ifindex;
		m.family_flag = pkt.family == 4 ? GW_RULE_INET : GW_RULE_INET6;
		m.proto_bit = gw_proto_bit(&pkt);
		m.has_ports = pkt.l4 == GW_L4_OK &&
			      (pkt.proto == IPPROTO_TCP || pkt.proto == IPPROTO_UDP);
		m.dport = pkt.dport;
		m.syn_no_ack = pkt.l4 == GW_L4_OK && pkt.proto == IPPROTO_TCP &&
			       (pkt.tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN;
		m.decided = 0;
		m.action = GW_ACT_PASS;
		m.rule = 0;
		bpf_loop(m.nrules, gw_rule_step, &m, 0);
		if (m.decided) {
			__u32 idx = m.rule;
			struct gw_rule_stats *st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &idx);

			if (st) {
				st->matches++;
				st->packets++;
				st->bytes += len;
			}
			action = m.action;
		}
	}

	if (src && (src->tables & gw_config_get(GW_CFG_COUNTER_TABLES)))
		gw_count(src, action == GW_ACT_PASS ? GW_DIR_IN_PASS : GW_DIR_IN_BLOCK, len);

	if (action == GW_ACT_PASS) {
		gw_stat_inc(GW_STAT_PASS);
		return XDP_PASS;
	}
	/* GW_ACT_BLOCK_RETURN: see below; until answered it is dropped. */
	gw_stat_inc(GW_STAT_DROP);
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
