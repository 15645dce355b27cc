// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TC egress: per-entry out counters for the destinations of our replies.
 * Never blocks (yet): every packet leaves with TC_ACT_OK.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"

SEC("tc")
int greywall_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct gw_member dst;
	struct gw_pkt pkt;
	__u64 counter_tables;

	gw_stat_inc(GW_STAT_OUT_PACKETS);
	if (gw_parse(data, data_end, &pkt) != GW_PARSE_IP)
		return TC_ACT_OK;
	counter_tables = gw_config_get(GW_CFG_COUNTER_TABLES);
	if (!counter_tables)
		return TC_ACT_OK;
	gw_lookup(&pkt.dst, pkt.family, gw_config_get(GW_CFG_FLAGS), counter_tables, &dst);
	if (dst.entry && (dst.tables & counter_tables))
		gw_count(dst.entry, GW_DIR_OUT_PASS, skb->len);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "Dual BSD/GPL";
