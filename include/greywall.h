/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one contract between greywall's BPF programs and its userspace.
 * Included by both sides: fixed-width types only, no libc headers.
 */
#ifndef __GREYWALL_H
#define __GREYWALL_H

#include <linux/types.h>

/*
 * Map names. The BPF side uses them as identifiers; userspace stringifies
 * them (GW_MAP_NAME) for pinned paths under the bpf-dir.
 */
#define GW_MAP_HOSTS gw_hosts		/* struct gw_addr -> struct gw_entry */
#define GW_MAP_PREFIX4 gw_prefix4	/* struct gw_lpm4_key -> struct gw_entry */
#define GW_MAP_PREFIX6 gw_prefix6	/* struct gw_lpm6_key -> struct gw_entry */
#define GW_MAP_RULES gw_rules		/* __u32 index -> struct gw_rule */
#define GW_MAP_RULE_STATS gw_rule_stats	/* percpu: __u32 index -> struct gw_rule_stats */
#define GW_MAP_STATS gw_stats		/* percpu: enum gw_stat -> __u64 */
#define GW_MAP_CONFIG gw_config		/* enum gw_config_key -> __u64 */

#define __GW_STR(x) #x
#define GW_MAP_NAME(m) __GW_STR(m)

/* Limits shared by both sides. */
#define GW_MAX_TABLES 64		/* one bit per table in a __u64 */
#define GW_MAX_RULES 256		/* compiled rules, evaluated in order */
#define GW_HOSTS_MAX_DEFAULT 2097152	/* host map capacity (all tables) */
#define GW_PREFIX_MAX_DEFAULT 524288	/* per-family prefix trie capacity */

/*
 * An address as a host-map key: IPv6, or IPv4 as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d). Host entries never overlap, so one key type
 * serves both families.
 */
struct gw_addr {
	__u8 bytes[16];
};

/* Longest-prefix-match keys, one trie per family (prefixlen is native). */
struct gw_lpm4_key {
	__u32 prefixlen;
	__u8 bytes[4];
};

struct gw_lpm6_key {
	__u32 prefixlen;
	__u8 bytes[16];
};

/* Directions of the per-entry counters, as pfctl -vvsTables shows them. */
enum gw_dir {
	GW_DIR_IN_BLOCK = 0,
	GW_DIR_IN_PASS,
	GW_DIR_OUT_BLOCK,
	GW_DIR_OUT_PASS,
	GW_DIR_MAX,
};

struct gw_counters {
	__u64 packets[GW_DIR_MAX];
	__u64 bytes[GW_DIR_MAX];
};

/*
 * Value of the host map and of both prefix tries. `tables` is the
 * effective membership: the entry's own tables OR-ed with those of every
 * prefix that covers it (userspace keeps that invariant), so the data path
 * needs one host lookup, and one trie lookup only on a host miss.
 * Counters are updated by the data path with atomic adds.
 */
struct gw_entry {
	__u64 tables;
	struct gw_counters counters;
};

/* Actions of a compiled rule. */
enum gw_action {
	GW_ACT_PASS = 0,
	GW_ACT_BLOCK_DROP,
	GW_ACT_BLOCK_RETURN,
};

/* Protocol bits of gw_rule.proto_mask; 0 means any protocol. */
enum gw_proto_bit {
	GW_PROTO_TCP = 1 << 0,
	GW_PROTO_UDP = 1 << 1,
	GW_PROTO_ICMP = 1 << 2,
	GW_PROTO_ICMPV6 = 1 << 3,
	GW_PROTO_OTHER = 1 << 4,
};

/* gw_rule.flags */
enum gw_rule_flag {
	GW_RULE_QUICK = 1 << 0,
	GW_RULE_LOG = 1 << 1,
	GW_RULE_INET = 1 << 2,		/* IPv4 only */
	GW_RULE_INET6 = 1 << 3,		/* IPv6 only */
	GW_RULE_SRC_NOT = 1 << 4,	/* from !<table> */
	GW_RULE_DST_NOT = 1 << 5,	/* to !<table> */
	GW_RULE_FLAGS_S_SA = 1 << 6,	/* flags S/SA: TCP SYN without ACK */
	GW_RULE_KEEP_STATE = 1 << 7,
};

/*
 * One compiled rule. Address matches are table memberships: a CIDR or an
 * inline list in a rule becomes an anonymous table, so every address match
 * is a bit test on the membership the packet already looked up.
 * src_tables/dst_tables == 0 means "any".
 */
struct gw_rule {
	__u64 src_tables;
	__u64 dst_tables;
	__u32 flags;		/* enum gw_rule_flag */
	__u32 proto_mask;	/* enum gw_proto_bit; 0 = any */
	__u32 ifindex;		/* 0 = any configured interface */
	__u16 dport_lo;		/* host order; lo = 0, hi = 65535 = any port */
	__u16 dport_hi;
	__u8 action;		/* enum gw_action */
	__u8 overload_table;	/* table bit for overload, or GW_NO_TABLE */
	__u8 queue;		/* queue id, or 0 = none */
	__u8 flush;		/* 0 none, 1 flush, 2 flush global */
	__u32 max_src_conn;	/* 0 = unlimited */
	__u32 max_src_conn_rate; /* N of N/S; 0 = unlimited */
	__u32 max_src_conn_rate_seconds; /* S of N/S */
	__u32 line;		/* config line, for messages */
};

#define GW_NO_TABLE 0xff

struct gw_rule_stats {
	__u64 evaluations;
	__u64 matches;		/* times this rule decided the packet */
	__u64 packets;
	__u64 bytes;
};

/* Global data-path counters (percpu array index). */
enum gw_stat {
	GW_STAT_PACKETS = 0,	/* every packet the program saw */
	GW_STAT_PASS,
	GW_STAT_DROP,
	GW_STAT_NON_IP,		/* passed: not IPv4/IPv6 */
	GW_STAT_UNPARSED,	/* passed: truncated or malformed headers */
	GW_STAT_IPV6_EXT,	/* IPv6 packets that carried extension headers */
	GW_STAT_FRAGMENT,	/* non-first fragments (no L4 header) */
	GW_STAT_HOST_HIT,
	GW_STAT_PREFIX_HIT,
	GW_STAT_OUT_PACKETS,	/* every packet the egress program saw */
	GW_STAT_MAX,
};

/* Runtime settings in the config array map. */
enum gw_config_key {
	GW_CFG_NRULES = 0,	/* number of valid entries in gw_rules */
	GW_CFG_FLAGS,		/* enum gw_config_flag */
	GW_CFG_COUNTER_TABLES,	/* bitmask of tables declared with `counters` */
	GW_CFG_BUILD_ID,	/* checksum of the attached programs (userspace only) */
	GW_CFG_MAX,
};

enum gw_config_flag {
	GW_CFG_F_NEED_DST = 1 << 0,	/* some rule matches the destination */
};

_Static_assert(sizeof(struct gw_addr) == 16, "gw_addr is a map key ABI");
_Static_assert(sizeof(struct gw_lpm4_key) == 8, "gw_lpm4_key is a map key ABI");
_Static_assert(sizeof(struct gw_lpm6_key) == 20, "gw_lpm6_key is a map key ABI");
_Static_assert(sizeof(struct gw_entry) == 72, "gw_entry is a map value ABI");
_Static_assert(sizeof(struct gw_rule) == 56, "gw_rule is a map value ABI");
_Static_assert(sizeof(struct gw_rule_stats) == 32, "gw_rule_stats is a map value ABI");

#endif /* __GREYWALL_H */
