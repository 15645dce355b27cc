// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TC egress: per-entry out counters for the destinations of our replies,
 * spamlogd's half of greylisting (the SMTP servers this host connects to
 * are recorded for userspace to whitelist), and the server's half of flow
 * tracking (bpf/flow.h), which also puts a queued rule's replies in their
 * queue (`set queue`). Never blocks (yet): every packet leaves with TC_ACT_OK.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "flow.h"
#include "greywall.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"

/*
 * A SYN this host's MTA sends to the SMTP port records its destination,
 * so the replies to our own mail skip greylisting. Only SYNs of local
 * sockets owned by the MTA's user: forwarded traffic has no skb->sk and is
 * not ours to vouch for, and any other local user could otherwise
 * whitelist whatever address it connects to. The first sighting is kept;
 * userspace deletes what it drains.
 */
static __always_inline void gw_record_outbound(struct __sk_buff *skb, const struct gw_pkt *pkt)
{
	__u64 port, mta, now;

	if (pkt->proto != IPPROTO_TCP || pkt->l4 != GW_L4_OK ||
	    (pkt->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) != GW_TCP_SYN)
		return;
	port = gw_config_get(GW_CFG_SPAMD_PORT);
	if (!port || pkt->dport != port || !skb->sk)
		return;
	mta = gw_config_get(GW_CFG_SPAMD_MTA_UID);
	if (!mta || bpf_get_socket_uid(skb) != mta - 1)
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&GW_MAP_OUTBOUND, &pkt->dst, &now, BPF_NOEXIST);
	gw_stat_inc(GW_STAT_OUTBOUND_SMTP);
}

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
	gw_record_outbound(skb, &pkt);
	if (gw_is_tcp(&pkt))
		gw_flow_egress(skb, data, data_end, &pkt);
	counter_tables = gw_config_get(GW_CFG_COUNTER_TABLES);
	if (!counter_tables)
		return TC_ACT_OK;
	gw_lookup(&pkt.dst, pkt.family, gw_config_get(GW_CFG_FLAGS), counter_tables, &dst);
	gw_count_hit(NULL, &dst);
	if (dst.entry && (dst.tables & counter_tables))
		gw_count(dst.entry, GW_DIR_OUT_PASS, skb->len);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "Dual BSD/GPL";
