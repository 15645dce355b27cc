// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The bytes of the packets a queue dropped (`greywallctl queue show -v`). The
 * kernel's class statistics count a queue's drops in packets only. Every
 * packet a qdisc refuses is freed through kfree_skb() with a qdisc drop
 * reason, still on its device and still carrying the skb->priority that
 * picked its HTB class (TC egress, bpf/flow.h): such a packet, on a device
 * whose root is greywall's HTB in greywalld's network namespace, was
 * dropped by the queue its priority names. greywalld loads this program
 * while queues are configured and reads the map beside HTB's counters.
 */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "greywall.h"

/*
 * The kernel's types, with only the fields read here; CO-RE finds them in
 * the running kernel (the ___gw suffix keeps them apart from its names).
 */
struct ns_common___gw {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___gw {
	struct ns_common___gw ns;
} __attribute__((preserve_access_index));

struct Qdisc___gw {
	__u32 handle;
} __attribute__((preserve_access_index));

struct net_device___gw {
	struct {
		struct net___gw *net;
	} nd_net;
	struct Qdisc___gw *qdisc;
} __attribute__((preserve_access_index));

struct sk_buff___gw {
	struct net_device___gw *dev;
	char cb[48];
	unsigned int len;
	__u32 priority;
} __attribute__((preserve_access_index));

/* The head of skb->cb while a qdisc holds the packet (qdisc_skb_cb). */
struct qdisc_skb_cb___gw {
	unsigned int pkt_len;
};

enum skb_drop_reason___gw {
	SKB_DROP_REASON_QDISC_DROP___gw,
	SKB_DROP_REASON_QDISC_OVERLIMIT___gw,
	SKB_DROP_REASON_QDISC_CONGESTED___gw,
};

/* stat -L /proc/self/ns/net of greywalld: drops elsewhere are another's. */
const volatile __u32 netns_inum;

/* Dropped bytes per queue id. This program writes; userspace reads (queue show -v). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);	/* gw_rule.queue is a __u8 */
	__type(key, __u32);
	__type(value, __u64);
} gw_queue_drops SEC(".maps");

/*
 * The reasons of a qdisc refusing a packet: QDISC_DROP is what the core
 * passes for every qdisc that names none (pfifo among them); a kernel
 * that lacks the newer ones never reports them.
 */
static __always_inline int qdisc_dropped(enum skb_drop_reason___gw reason)
{
	if (reason == bpf_core_enum_value(enum skb_drop_reason___gw,
					  SKB_DROP_REASON_QDISC_DROP___gw))
		return 1;
	if (bpf_core_enum_value_exists(enum skb_drop_reason___gw,
				       SKB_DROP_REASON_QDISC_OVERLIMIT___gw) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason___gw,
					  SKB_DROP_REASON_QDISC_OVERLIMIT___gw))
		return 1;
	return bpf_core_enum_value_exists(enum skb_drop_reason___gw,
					  SKB_DROP_REASON_QDISC_CONGESTED___gw) &&
	       reason == bpf_core_enum_value(enum skb_drop_reason___gw,
					     SKB_DROP_REASON_QDISC_CONGESTED___gw);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(greywall_queue_drop, struct sk_buff___gw *skb, void *location,
	     enum skb_drop_reason___gw reason)
{
	struct net_device___gw *dev;
	struct Qdisc___gw *root;
	__u32 id;
	__u64 *bytes;

	/* Every freed packet of the host comes here: the cheapest tests first. */
	if (!qdisc_dropped(reason) || skb->priority >> 16 != GW_QUEUE_HANDLE)
		return 0;
	id = skb->priority & 0xffff;
	dev = skb->dev;
	if (!id || !dev)
		return 0;
	root = dev->qdisc;
	if (!root || root->handle != GW_QUEUE_CLASSID(0) ||
	    dev->nd_net.net->ns.inum != netns_inum)
		return 0;
	bytes = bpf_map_lookup_elem(&gw_queue_drops, &id);
	/* HTB's byte counters count qdisc_pkt_len(): a GSO packet with every segment's headers. */
	if (bytes)
		*bytes += ((struct qdisc_skb_cb___gw *)skb->cb)->pkt_len;
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
