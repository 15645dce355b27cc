/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Every map of the data path, declared once. The XDP, TC and sk_lookup
 * objects all include this file, so their map definitions are identical
 * and userspace can make one object reuse the others' maps
 * (bpf_map__reuse_fd or pin paths it sets itself; nothing here declares
 * pinning).
 */
#ifndef __GREYWALL_MAPS_H
#define __GREYWALL_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"

/* Host entries (/32, /128). Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_HOSTS_MAX_DEFAULT);
	__type(key, struct gw_addr);
	__type(value, struct gw_entry);
} GW_MAP_HOSTS SEC(".maps");

/* IPv4 networks. Userspace writes; XDP and TC read on a host miss. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_PREFIX_MAX_DEFAULT);
	__type(key, struct gw_lpm4_key);
	__type(value, struct gw_entry);
} GW_MAP_PREFIX4 SEC(".maps");

/* IPv6 networks. Userspace writes; XDP and TC read on a host miss. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_PREFIX_MAX_DEFAULT);
	__type(key, struct gw_lpm6_key);
	__type(value, struct gw_entry);
} GW_MAP_PREFIX6 SEC(".maps");

/*
 * Per-entry counters by counter slot (struct gw_entry.counter), one copy per
 * CPU. Userspace gives a slot to each entry of a `counters` table, reads
 * (sums) and zeroes the slot's counters; XDP and TC add to their CPU's copy.
 * An array, whose lookup the verifier inlines (a hash lookup is a call, and
 * calls are dear under return-thunk mitigations); its size is greywalld's
 * choice, for the slots in use (GW_COUNTER_ARRAY_DEFAULT at least).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_COUNTER_ARRAY_DEFAULT);
	__type(key, __u32);
	__type(value, struct gw_counters);
} GW_MAP_COUNTERS SEC(".maps");

/*
 * The counters of slots beyond gw_counters' size (slots given while it was
 * full), one copy per CPU. XDP and TC make a slot's counters at its entry's
 * first packet; userspace reads (sums) and removes them. Not preallocated:
 * memory only for the entries that see packets.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_COUNTER_SLOTS_MAX);
	__type(key, __u32);
	__type(value, struct gw_counters);
} GW_MAP_COUNTERS_SPILL SEC(".maps");

/* Compiled rules. Userspace writes; XDP reads entries 0 .. GW_CFG_NRULES-1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct gw_rule);
} GW_MAP_RULES SEC(".maps");

/* Per-rule counters. XDP writes; userspace reads (greywallctl rules) and zeroes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct gw_rule_stats);
} GW_MAP_RULE_STATS SEC(".maps");

/*
 * Global counters (struct gw_stats, key 0): XDP, TC and sk_lookup write
 * their CPU's record; userspace reads and sums them (greywallctl stats).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gw_stats);
} GW_MAP_STATS SEC(".maps");

/* Runtime settings (enum gw_config_key). Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_CFG_MAX);
	__type(key, __u32);
	__type(value, __u64);
} GW_MAP_CONFIG SEC(".maps");

/* IPv4 first-level index, one page per /16. Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct gw_index4_page);
} GW_MAP_INDEX4 SEC(".maps");

/* Table sets of the IPv4 index classes. Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_CLASSES);
	__type(key, __u32);
	__type(value, __u64);
} GW_MAP_CLASSES SEC(".maps");

/*
 * The entries of the IPv4 networks of /24 or shorter that have a counter
 * slot, by exact network (prefixlen = its length), copies of their trie
 * entries: the index names one by its length (GW_CLASS_NET + L) and the
 * data path finds its entry with one hash lookup, no trie walk. Userspace
 * (mapindex.c) writes an entry before any index page names it and deletes
 * it after none does; XDP and TC read.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_NETS4_MAX);
	__type(key, struct gw_lpm4_key);
	__type(value, struct gw_entry);
} GW_MAP_NETS4 SEC(".maps");

/*
 * The entries of the IPv6 networks of /33../64 whose /32 holds networks of
 * one length only (GW_INDEX6_NET), by exact network, copies of their trie
 * entries. Userspace (mapindex.c) writes an entry before gw_index6 names
 * it and deletes it after; XDP and TC read.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_NETS6_MAX);
	__type(key, struct gw_lpm6_key);
	__type(value, struct gw_entry);
} GW_MAP_NETS6 SEC(".maps");

/* IPv6 first-level index by /32. Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_INDEX6_MAX_DEFAULT);
	__type(key, __u32);
	__type(value, struct gw_index6_entry);
} GW_MAP_INDEX6 SEC(".maps");

/* gw_index6's /32 keys in buckets, read without a call. Userspace writes; XDP and TC read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GW_INDEX6_BUCKETS);
	__type(key, __u32);
	__type(value, struct gw_index6_bucket);
} GW_MAP_INDEX6_SLOTS SEC(".maps");

/* The rule index, both generations. Userspace writes; XDP reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GW_RIX_MAX);
	__type(key, __u32);
	__type(value, struct gw_ruleset);
} GW_MAP_RULE_INDEX SEC(".maps");

/* Rules satisfied by each destination port, both generations. Userspace writes; XDP reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GW_RULE_PORT_KEYS);
	__type(key, __u32);
	__type(value, struct gw_ruleset);
} GW_MAP_RULE_PORTS SEC(".maps");

/* Rules satisfied on each interface named by `on IF`. Userspace writes; XDP reads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * GW_MAX_RULES);
	__type(key, struct gw_rule_iface_key);
	__type(value, struct gw_ruleset);
} GW_MAP_RULE_IFACES SEC(".maps");

/*
 * The tarpit's listeners (enum gw_tarpit_slot). Userspace puts the sockets
 * in; sk_lookup reads them. The kernel drops a socket from it on close.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, GW_TARPIT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} GW_MAP_TARPIT SEC(".maps");

/*
 * Destinations of the SMTP connections this host opens (spamlogd). TC
 * egress writes; userspace drains it every scan and whitelists them. LRU:
 * a flood of outbound SYNs between two drains forgets the oldest, never fails.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_OUTBOUND_MAX);
	__type(key, struct gw_addr);
	__type(value, __u64);
} GW_MAP_OUTBOUND SEC(".maps");

/* Which ports look flows up (struct gw_flow_port), per rule generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GW_FLOW_PORT_KEYS);
	__type(key, __u32);
	__type(value, struct gw_flow_port);
} GW_MAP_FLOW_PORTS SEC(".maps");

/*
 * TCP flows of rules that track them, in slots (see struct gw_flow_conf in
 * greywall.h). XDP creates (client SYN) and advances them, TC egress
 * records the server's SYN-ACK; userspace times them out (writes the slot
 * free) and kills them (flush). A SYN with no free slot takes over a
 * closing or half-open flow's, never a counted or killed one's: a counted
 * flow taken over would hold its source's count for ever. No such slot
 * either: the SYN is dropped. max_entries must stay a power of two.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);	/* the sweeper reads it in place */
	__uint(max_entries, GW_FLOW_SLOTS);
	__type(key, __u32);
	__type(value, struct gw_flow);
} GW_MAP_FLOWS SEC(".maps");

/*
 * gw_flows' seed and size (userspace writes them once, before any flow
 * exists) and the sweeper's tick. A global variable, not a map of its own:
 * its address is a constant in the program, where a map's value must be
 * looked up first, on the chain of loads every tracked packet waits for.
 * Its section is still a map, one array value: greywalld pins it as
 * GW_MAP_FLOW_CONF and every object shares it (GW_FLOW_CONF_SECTION).
 */
struct gw_flow_conf GW_MAP_FLOW_CONF SEC(GW_FLOW_CONF_SECTION);

/*
 * Per-source, per-rule connection counts and rates. XDP writes; userspace
 * reads (why, status), clears `overloaded` and removes idle entries.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_SRC_TRACK_MAX_DEFAULT);
	__type(key, struct gw_src_key);
	__type(value, struct gw_src_track);
} GW_MAP_SRC_TRACK SEC(".maps");

/*
 * Half-open flows per source and rule (struct gw_src_halfopen). XDP takes
 * and gives back; the sweeper gives back those of the flows it times out.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_SRC_HALFOPEN_MAX);
	__type(key, struct gw_src_key);
	__type(value, struct gw_src_halfopen);
} GW_MAP_SRC_HALFOPEN SEC(".maps");

/* Overload triggers (struct gw_event). XDP writes; greywalld reads and applies them. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GW_EVENTS_BYTES);
} GW_MAP_EVENTS SEC(".maps");

/* This CPU's counters (an inlined array lookup, no call). */
static __always_inline struct gw_stats *gw_stats_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&GW_MAP_STATS, &key);
}

/* One more of stat in s, this CPU's record from gw_stats_get(). */
static __always_inline void gw_stats_add(struct gw_stats *s, __u32 stat)
{
	if (s && stat < GW_STAT_MAX)
		s->v[stat] += 1;
}

/* One more of stat, for paths that count one thing: they look the record up here. */
static __always_inline void gw_stat_inc(__u32 stat)
{
	gw_stats_add(gw_stats_get(), stat);
}

static __always_inline __u64 gw_config_get(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&GW_MAP_CONFIG, &key);

	return v ? *v : 0;
}

#endif /* __GREYWALL_MAPS_H */
