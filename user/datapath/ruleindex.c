// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The rule index compiler: one bitset of rules per packet property value.
 * The data path ANDs the sets its packet selects and takes the first
 * matching quick rule, else the last matching rule, as PF does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "datapath/ruleindex.h"

#define PORT_BATCH 4096

static void set_bit(struct gw_ruleset *rs, uint32_t i)
{
	rs->bits[i / 64] |= 1ULL << (i % 64);
}

/* enum gw_proto_bit of the protocol numbered p in the rule index; 0 for unknown. */
static uint32_t proto_bit(uint32_t p)
{
	static const uint32_t bits[GW_RIX_PROTOS] = { 0, GW_PROTO_TCP, GW_PROTO_UDP,
						      GW_PROTO_ICMP, GW_PROTO_ICMPV6,
						      GW_PROTO_OTHER };

	return bits[p];
}

static bool rule_matches_base(const struct gw_rule *r, uint32_t family6, uint32_t proto,
			      uint32_t syn)
{
	uint32_t fam = family6 ? GW_RULE_INET6 : GW_RULE_INET;

	if ((r->flags & (GW_RULE_INET | GW_RULE_INET6)) && !(r->flags & fam))
		return false;
	if (r->proto_mask && !(r->proto_mask & proto_bit(proto)))
		return false;
	if ((r->flags & GW_RULE_FLAGS_S_SA) && !syn)
		return false;
	return true;
}

/*
 * Whether quick rule r matches on its source tables alone: a packet from
 * a source in one of them matches it whatever else the packet is.
 */
static bool rule_source_only(const struct gw_rule *r)
{
	const uint32_t other = GW_RULE_SRC_NOT | GW_RULE_DST_NOT | GW_RULE_INET | GW_RULE_INET6 |
			       GW_RULE_FLAGS_S_SA;

	return r->src_tables && !(r->flags & other) && !r->dst_tables && !r->proto_mask &&
	       !r->ifindex && r->dport_lo == 0 && r->dport_hi == 65535;
}

/* GW_RIX_FIRST_QUICK: the leading quick rules that match on source tables alone. */
static void compile_first_quick(struct gw_ruleset *rs, const struct gw_rule *rules, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && k < GW_FIRST_QUICK_MAX; i++) {
		if (!(rules[i].flags & GW_RULE_QUICK))
			continue;
		if (!rule_source_only(&rules[i]))
			break;
		rs->bits[k] = rules[i].src_tables;
		rs->bits[GW_FIRST_QUICK_MAX] |= (uint64_t)i << (8 * k);
		k++;
	}
}

/* One address side (source or destination) of the index. */
static void compile_side(struct gw_ruleset *ix, uint32_t i, uint64_t tables, bool negated,
			 uint32_t key_none, uint32_t key_table)
{
	/* key_none + 1, 2, 3: ANY, POS, NEG, as in enum gw_rule_index_key. */
	if (!tables) {
		set_bit(&ix[key_none], i);
		set_bit(&ix[key_none + 1], i);
		return;
	}
	if (negated) {
		set_bit(&ix[key_none], i);
		set_bit(&ix[key_none + 3], i);
	} else {
		set_bit(&ix[key_none + 2], i);
	}
	for (uint32_t t = 0; t < GW_MAX_TABLES; t++)
		if (tables & (1ULL << t))
			set_bit(&ix[key_table + t], i);
}

static int write_array(int fd, uint32_t first_key, const void *values, size_t size, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys = malloc(PORT_BATCH * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t done = 0; done < n && !err;) {
		uint32_t count = n - done < PORT_BATCH ? n - done : PORT_BATCH;

		for (uint32_t k = 0; k < count; k++)
			keys[k] = first_key + done + k;
		if (bpf_map_update_batch(fd, keys, (const char *)values + done * size, &count, &opts))
			err = -errno;
		done += count;
	}
	free(keys);
	return err;
}

/* Replace generation gen's interface sets. */
static int write_ifaces(int fd, uint32_t gen, const struct gw_rule *rules, uint32_t n,
			const struct gw_ruleset *if_any)
{
	struct gw_rule_iface_key key, next, *prev = NULL;
	struct gw_rule_iface_key stale[2 * GW_MAX_RULES];
	uint32_t nstale = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.generation == gen && nstale < 2 * GW_MAX_RULES)
			stale[nstale++] = key;
	}
	for (uint32_t i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT)
			return -errno;
	for (uint32_t i = 0; i < n; i++) {
		struct gw_ruleset set = *if_any;

		if (!rules[i].ifindex)
			continue;
		key = (struct gw_rule_iface_key){ .generation = gen, .ifindex = rules[i].ifindex };
		for (uint32_t j = 0; j < n; j++)
			if (rules[j].ifindex == rules[i].ifindex)
				set_bit(&set, j);
		if (bpf_map_update_elem(fd, &key, &set, BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * Flow-tracking rule i covers port p: p's flows are looked up, and i is the
 * guess of their rule (struct gw_flow_port) when it takes any source, or
 * when no rule so far took any (*any_source: one did).
 */
static void flow_port_add(struct gw_flow_port *p, bool *any_source, const struct gw_rule *r,
			  uint32_t i)
{
	bool any = !r->src_tables;

	if (any || !*any_source)
		p->rule = (uint8_t)i;
	*any_source |= any;
	p->flags |= GW_FLOW_PORT_STATEFUL | (r->queue ? GW_FLOW_PORT_QUEUED : 0);
}

int ruleindex_publish(const struct ruleindex_maps *maps, const struct gw_rule *rules, uint32_t n)
{
	uint32_t key = GW_CFG_RULE_GEN, gen;
	struct gw_ruleset *ix, *ports;
	uint64_t live = 0, flags = 0;
	struct gw_flow_port *flow_ports;
	bool *any_source;
	int err;

	if (n > GW_MAX_RULES)
		return -E2BIG;
	if (bpf_map_lookup_elem(maps->config, &key, &live))
		return -errno;
	gen = (uint32_t)(live & 1) ^ 1;
	ix = calloc(GW_RIX_MAX, sizeof(*ix));
	ports = calloc(GW_RULE_PORT_KEYS, sizeof(*ports));
	flow_ports = calloc(GW_FLOW_PORT_KEYS, sizeof(*flow_ports));
	any_source = calloc(GW_FLOW_PORT_KEYS, sizeof(*any_source));
	if (!ix || !ports || !flow_ports || !any_source) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct gw_rule *r = &rules[i];

		if (r->flags & GW_RULE_QUICK)
			set_bit(&ix[GW_RIX_QUICK], i);
		if (r->action != GW_ACT_PASS)
			set_bit(&ix[GW_RIX_BLOCK], i);
		if (r->action == GW_ACT_BLOCK_RETURN)
			set_bit(&ix[GW_RIX_RETURN], i);
		compile_side(ix, i, r->src_tables, r->flags & GW_RULE_SRC_NOT, GW_RIX_SRC_NONE,
			     GW_RIX_SRC_TABLE);
		compile_side(ix, i, r->dst_tables, r->flags & GW_RULE_DST_NOT, GW_RIX_DST_NONE,
			     GW_RIX_DST_TABLE);
		if (r->dst_tables)
			flags |= GW_RULE_META_NEED_DST;
		if (gw_rule_tracks_flows(r)) {
			flags |= GW_RULE_META_STATEFUL;
			for (uint32_t port = r->dport_lo; port <= r->dport_hi; port++)
				flow_port_add(&flow_ports[port], &any_source[port], r, i);
		}
		if (r->ifindex)
			flags |= GW_RULE_META_IFINDEX;
		else
			set_bit(&ix[GW_RIX_IF_ANY], i);
		ix[GW_RIX_META].bits[2] |= r->src_tables;
		ix[GW_RIX_META].bits[3] |= r->dst_tables;
		for (uint32_t f = 0; f < 2; f++)
			for (uint32_t p = 0; p < GW_RIX_PROTOS; p++)
				for (uint32_t syn = 0; syn < 2; syn++)
					if (rule_matches_base(r, f, p, syn))
						set_bit(&ix[GW_RIX_BASE +
							    (f * GW_RIX_PROTOS + p) * 2 + syn],
							i);
		if (r->dport_lo == 0 && r->dport_hi == 65535) {
			for (uint32_t port = 0; port < GW_RULE_PORT_KEYS; port++)
				set_bit(&ports[port], i);
		} else {
			for (uint32_t port = r->dport_lo; port <= r->dport_hi; port++)
				set_bit(&ports[port], i);
		}
	}
	if (!(ix[GW_RIX_SRC_NONE].bits[0] | ix[GW_RIX_SRC_NONE].bits[1] |
	      ix[GW_RIX_SRC_NONE].bits[2] | ix[GW_RIX_SRC_NONE].bits[3]))
		flags |= GW_RULE_META_NEED_SRC;
	ix[GW_RIX_META].bits[0] = n;
	ix[GW_RIX_META].bits[1] = flags;
	compile_first_quick(&ix[GW_RIX_FIRST_QUICK], rules, n);

	err = write_array(maps->index, gen * GW_RIX_MAX, ix, sizeof(*ix), GW_RIX_MAX);
	if (!err)
		err = write_array(maps->ports, gen * GW_RULE_PORT_KEYS, ports, sizeof(*ports),
				  GW_RULE_PORT_KEYS);
	if (!err)
		err = write_array(maps->flow_ports, gen * GW_FLOW_PORT_KEYS, flow_ports,
				  sizeof(*flow_ports), GW_FLOW_PORT_KEYS);
	if (!err)
		err = write_ifaces(maps->ifaces, gen, rules, n, &ix[GW_RIX_IF_ANY]);
	if (!err) {
		/* The flip: from the next packet on, the new generation decides. */
		live = gen;
		if (bpf_map_update_elem(maps->config, &key, &live, BPF_ANY))
			err = -errno;
	}
out:
	free(ix);
	free(ports);
	free(flow_ports);
	free(any_source);
	return err;
}
