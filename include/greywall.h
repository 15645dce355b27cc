/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one contract between greywall's BPF programs and its userspace.
 * Included by both sides: fixed-width types only, no libc headers.
 */
#ifndef __GREYWALL_H
#define __GREYWALL_H

#include <linux/bpf.h>
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
#define GW_MAP_STATS gw_stats		/* percpu: 0 -> struct gw_stats (enum gw_stat) */
#define GW_MAP_CONFIG gw_config		/* enum gw_config_key -> __u64 */
#define GW_MAP_INDEX4 gw_index4		/* __u32 IPv4 /16 -> struct gw_index4_page */
#define GW_MAP_INDEX6 gw_index6		/* __u32 IPv6 /32 -> struct gw_index6_entry */
#define GW_MAP_INDEX6_SLOTS gw_index6_slots /* __u32 bucket -> struct gw_index6_bucket */
#define GW_MAP_CLASSES gw_classes	/* __u32 class -> __u64 tables */
#define GW_MAP_NETS4 gw_nets4		/* struct gw_lpm4_key (exact) -> struct gw_entry */
#define GW_MAP_NETS6 gw_nets6		/* struct gw_lpm6_key (exact) -> struct gw_entry */
#define GW_MAP_RULE_INDEX gw_rule_index	/* generation * GW_RIX_MAX + enum gw_rule_index_key
					   -> struct gw_ruleset */
#define GW_MAP_RULE_PORTS gw_rule_ports	/* generation * GW_RULE_PORT_KEYS + port -> struct gw_ruleset */
#define GW_MAP_RULE_IFACES gw_rule_ifaces /* struct gw_rule_iface_key -> struct gw_ruleset */
#define GW_MAP_FLOW_PORTS gw_flow_ports	/* generation * GW_FLOW_PORT_KEYS + port
					   -> struct gw_flow_port */
#define GW_MAP_TARPIT gw_tarpit		/* sockmap: enum gw_tarpit_slot -> tarpit listener */
#define GW_MAP_OUTBOUND gw_outbound	/* LRU: struct gw_addr -> __u64 first-seen ktime (ns) */
#define GW_MAP_FLOWS gw_flows		/* __u32 slot -> struct gw_flow */
#define GW_MAP_FLOW_CONF gw_flow_conf	/* 0 -> struct gw_flow_conf (a global variable, pinned) */
#define GW_FLOW_CONF_SECTION ".data.flowconf"	/* its section, and its map's name */
#define GW_MAP_SRC_TRACK gw_src_track	/* struct gw_src_key -> struct gw_src_track */
#define GW_MAP_SRC_HALFOPEN gw_src_halfopen /* LRU: struct gw_src_key -> struct gw_src_halfopen */
#define GW_MAP_EVENTS gw_events		/* ringbuf of struct gw_event */
#define GW_MAP_COUNTERS gw_counters	/* percpu array: __u32 counter slot -> struct gw_counters */
#define GW_MAP_COUNTERS_SPILL gw_counters_spill /* percpu hash: slots beyond gw_counters' */

#define __GW_STR(x) #x
#define GW_MAP_NAME(m) __GW_STR(m)

/* Limits shared by both sides. */
#define GW_MAX_TABLES 64		/* one bit per table in a __u64 */
#define GW_MAX_RULES 256		/* compiled rules, evaluated in order */
#define GW_HOSTS_MAX_DEFAULT 2097152	/* host map capacity (all tables) */
#define GW_PREFIX_MAX_DEFAULT 524288	/* per-family prefix trie capacity */
/* Counter slots: one per entry of the host map and the tries at most. */
#define GW_COUNTER_SLOTS_MAX (GW_HOSTS_MAX_DEFAULT + 2 * GW_PREFIX_MAX_DEFAULT)
/*
 * Slots in gw_counters, the per-CPU array (slot 0 unused) when greywalld
 * makes it: 4 MiB per CPU. greywalld makes it larger when the slots in use
 * outgrow it; until then slots beyond it count in gw_counters_spill.
 */
#define GW_COUNTER_ARRAY_DEFAULT 65536
#define GW_OUTBOUND_MAX 16384		/* SMTP destinations recorded between two drains */
/*
 * gw_flows' slots, a power of two (see struct gw_flow_conf): 8 MiB. A SYN
 * flood touches a random slot per packet, and the table's pages must stay
 * within the TLB's reach: with 524,288 slots (32 MiB) XDP spent 3x the
 * receive time of 131,072 dropping a pop3 SYN burst (bench/connlimit.sh).
 */
#define GW_FLOW_SLOTS 131072
#define GW_SRC_TRACK_MAX_DEFAULT 65536	/* tracked (source, rule) pairs */
#define GW_SRC_HALFOPEN_MAX 65536	/* (source, rule) pairs whose half-open flows are counted */
/*
 * Half-open flows (SYN or SYN-ACK seen, handshake not completed) one source
 * may hold under one rule without `max-src-states`: a SYN beyond them is
 * refused (GW_STAT_SRC_STATES_DROPS). A real client's handshake is half-open
 * for one round trip; a source that holds this many is flooding.
 */
#define GW_SRC_HALFOPEN_DEFAULT 64
/*
 * Seconds after which a source's half-open count, taken by no SYN since,
 * is stale and starts again from 0: by then every flow it counted was
 * established, closed or timed out (tcp.first, 120 s, is the longest), so
 * a count that a lost update left too high holds nobody back for longer.
 */
#define GW_SRC_HALFOPEN_STALE 150
#define GW_EVENTS_BYTES (256 * 1024)	/* overload event ring */

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

/*
 * The first-level index in front of the tries (a packet must not pay an
 * LPM walk of a big trie; docs/DESIGN.md). IPv4: one byte per /24, 256 to
 * a page, one page per /16. The byte says whether host entries exist in that /24
 * (GW_SLOT_HOSTS: look in the host map) and what the networks of /24 or
 * shorter that cover it are: GW_CLASS_NONE (none), a class number whose
 * table set is in gw_classes, GW_CLASS_NET + L (the longest of them is an
 * /L with a counter slot: its entry is in gw_nets4, an exact-match hash,
 * keyed as the trie keys it), or GW_CLASS_TRIE (networks longer than /24
 * lie inside, or the classes ran out, or gw_nets4 was full: ask the trie).
 * A source whose byte is 0 is in no table, without any hash or trie lookup.
 * gw_nets4 holds one entry per such network, never one per /24 it covers.
 */
struct gw_index4_page {
	__u8 slot[256];
};

#define GW_SLOT_HOSTS 0x80
#define GW_SLOT_CLASS 0x7f
#define GW_CLASS_NONE 0
#define GW_CLASS_TRIE 0x7f
#define GW_CLASS_NET 0x66		/* 0x66 + L, L = 0..24: an /L network in gw_nets4 */
#define GW_CLASS_NET_MAX_PLEN 24
#define GW_CLASSES 128			/* gw_classes entries; 1..0x65 name table sets */
#define GW_NETS4_MAX GW_PREFIX_MAX_DEFAULT

/*
 * IPv6: a hash keyed by the /32 (first four bytes, network order). No entry:
 * the source is in no table. Otherwise `tables` are those of the networks of
 * /32 or shorter covering the /32, and flags say where else to look.
 * Networks shorter than GW_INDEX6_MIN_PLEN are not spread over /32 keys;
 * while one exists, GW_CFG_F_INDEX6_OFF sends every IPv6 source to the host
 * map and the trie. When the networks longer than /32 inside a /32 all
 * have one length L of GW_INDEX6_NET_MIN_PLEN..GW_INDEX6_NET_MAX_PLEN (a
 * provider's /48s), GW_INDEX6_NET and net_plen = L say so: their entries
 * are in gw_nets6 (keyed like the trie, exact), a source masked to /L finds
 * its network's entry with one hash lookup, and a miss means none of them
 * covers it (`tables` answers). gw_nets6 entries are written before an
 * index entry names them and deleted after none does.
 */
struct gw_index6_entry {
	__u64 tables;
	__u32 flags;			/* enum gw_index6_flag */
	__u32 net_plen;			/* with GW_INDEX6_NET */
};

enum gw_index6_flag {
	GW_INDEX6_HOSTS = 1 << 0,	/* host entries inside this /32 */
	GW_INDEX6_TRIE = 1 << 1,	/* networks longer than /32 inside: ask the trie */
	GW_INDEX6_NET = 1 << 2,		/* ... all /net_plen, in gw_nets6 */
};

#define GW_INDEX6_NET_MIN_PLEN 33
#define GW_INDEX6_NET_MAX_PLEN 64
#define GW_NETS6_MAX GW_PREFIX_MAX_DEFAULT

#define GW_INDEX6_MIN_PLEN 16
#define GW_INDEX6_MAX_DEFAULT 1048576	/* /32 keys */

/*
 * gw_index6 in front of a helper call: gw_index6_slots, an ARRAY (its
 * lookups are inlined) of GW_INDEX6_BUCKETS buckets of one cache line. A
 * /32 key lives in any slot of bucket gw_index6_bucket_of(key), or, when
 * the bucket was full, in gw_index6 only, counted in the bucket's `spill`.
 * A slot is read with one 8-byte load, so a reader sees one slot as
 * written or, while userspace rewrites it, GW_SLOT6_BUSY (or the state it
 * had, when only the state byte changes):
 *   LIVE with the key: the slot says what gw_index6's entry says (a /32
 *     whose entry has tables, GW_SLOT6_TABLES, asks gw_index6 for them);
 *   BUSY with the key: ask gw_index6;
 *   not in the bucket: spill 0, in no table; else ask gw_index6.
 * Userspace writes gw_index6 before a slot or spill names a key and
 * empties the slot (one byte) before it deletes the key there. A slot
 * changes content only through BUSY: state byte to BUSY, then the content,
 * then the state byte to LIVE. Used while GW_CFG_F_INDEX6_SLOTS is set.
 */
struct gw_index6_slot {
	__u32 key;			/* the /32, as gw_index6 keys it */
	__u8 state;			/* enum gw_slot6_state */
	__u8 flags;			/* enum gw_index6_flag, | GW_SLOT6_TABLES */
	__u8 net_plen;			/* with GW_INDEX6_NET */
	__u8 pad;
};

#define GW_INDEX6_BUCKET_SLOTS 7
#define GW_INDEX6_BUCKET_BITS 14
#define GW_INDEX6_BUCKETS (1u << GW_INDEX6_BUCKET_BITS)
#define GW_SLOT6_TABLES 0x80		/* gw_index6's entry has tables */

struct gw_index6_bucket {
	struct gw_index6_slot slot[GW_INDEX6_BUCKET_SLOTS];
	__u32 spill;			/* keys of this bucket in gw_index6 only */
	__u32 pad;
};

enum gw_slot6_state {
	GW_SLOT6_EMPTY = 0,
	GW_SLOT6_LIVE,
	GW_SLOT6_BUSY,
};

/* The bucket of a /32 key (its four bytes, as loaded on this host). */
static inline __u32 gw_index6_bucket_of(__u32 key)
{
	return (key * 0x9e3779b1u) >> (32 - GW_INDEX6_BUCKET_BITS);
}

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
 * `counter` is the entry's slot in gw_counters, given by userspace to
 * entries in a `counters` table only (0: none). The counters themselves
 * are per CPU: a drop writes its own CPU's copy, no atomic operation, no
 * cache line shared between CPUs; userspace sums the copies.
 */
struct gw_entry {
	__u64 tables;
	__u32 counter;
	__u32 pad;
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
	__u32 max_src_states;	/* half-open + counted flows per source; 0 = GW_SRC_HALFOPEN_DEFAULT
				   half-open ones */
};

#define GW_NO_TABLE 0xff

/*
 * The compiled rule index: rule decisions in a time that does not grow with
 * the number of rules. Every packet property a rule can test selects a
 * bitset of the rules it satisfies (bit i = rule i); the AND of those is the
 * set of matching rules; the lowest matching `quick` rule, else the highest
 * matching rule, decides (PF: last match wins unless quick). Two
 * generations: userspace fills the idle one and then flips GW_CFG_RULE_GEN,
 * so a packet never sees half a ruleset.
 */
#define GW_RULE_WORDS (GW_MAX_RULES / 64)

struct gw_ruleset {
	__u64 bits[GW_RULE_WORDS];
};

/*
 * Keys of gw_rule_index within one generation. BASE: by family, protocol
 * and SYN: GW_RIX_BASE + (family6 * GW_RIX_PROTOS + proto) * 2 + syn, with
 * proto 0 unknown, 1 tcp, 2 udp, 3 icmp, 4 icmpv6, 5 other.
 */
enum gw_rule_index_key {
	GW_RIX_META = 0,	/* bits[0] nrules, [1] flags, [2] src tables, [3] dst tables */
	GW_RIX_QUICK,		/* rules with `quick` */
	GW_RIX_BLOCK,		/* block rules (drop or return) */
	GW_RIX_RETURN,		/* block return rules */
	GW_RIX_SRC_NONE,	/* satisfied by a source in none of the src tables */
	GW_RIX_SRC_ANY,		/* rules without a source table */
	GW_RIX_SRC_POS,		/* from <t> */
	GW_RIX_SRC_NEG,		/* from !<t> */
	GW_RIX_DST_NONE,
	GW_RIX_DST_ANY,
	GW_RIX_DST_POS,
	GW_RIX_DST_NEG,
	GW_RIX_IF_ANY,		/* rules without `on IF` */
	GW_RIX_FIRST_QUICK,	/* the leading quick rules on source tables alone (below) */
	GW_RIX_BASE = 16,
	GW_RIX_SRC_TABLE = GW_RIX_BASE + 24,	/* + table: rules whose from <...> has it */
	GW_RIX_DST_TABLE = GW_RIX_SRC_TABLE + GW_MAX_TABLES,
	GW_RIX_MAX = GW_RIX_DST_TABLE + GW_MAX_TABLES,
};

/*
 * GW_RIX_FIRST_QUICK: the first quick rules of the ruleset, in order, while
 * each matches on source tables alone (`block drop quick from <t>`: no
 * protocol, port, interface, family, flags, destination or negation), up to
 * GW_FIRST_QUICK_MAX of them. bits[i] is rule i's source tables (0: no
 * such rule), byte i of bits[GW_FIRST_QUICK_MAX] its index. A source in
 * one of those tables is decided by the first rule whose tables it is in,
 * without the rule index: no quick rule before that one can match (each
 * would have to match on its tables too), and a matching quick rule wins.
 */
#define GW_FIRST_QUICK_MAX 3

/*
 * The TCP ports of rules that track flows, per generation, in gw_flow_ports:
 * only packets to (ingress) or from (egress) such a port look flows up.
 */
#define GW_FLOW_PORT_KEYS 65536

enum gw_flow_port_flag {
	GW_FLOW_PORT_STATEFUL = 1 << 0,	/* a rule that tracks flows covers it */
	GW_FLOW_PORT_QUEUED = 1 << 1,	/* one of them has `set queue`: replies are queued */
};

/*
 * A port's value. rule is the rule most of the port's established flows
 * belong to, a guess (the last of the port's flow-tracking rules without a
 * source table, else the last of them): the data path looks its counters
 * up while it finds the flow, and looks the flow's own rule up only when
 * the guess was wrong.
 */
struct gw_flow_port {
	__u8 flags;		/* enum gw_flow_port_flag */
	__u8 rule;
};

#define GW_RIX_PROTOS 6
#define GW_RULE_PORT_NONE 65536		/* gw_rule_ports key for packets without ports */
#define GW_RULE_PORT_KEYS 65537

/* GW_RIX_META bits[1] */
enum gw_rule_meta_flag {
	GW_RULE_META_NEED_DST = 1 << 0,	/* some rule matches the destination */
	GW_RULE_META_IFINDEX = 1 << 1,	/* some rule has `on IF`: consult gw_rule_ifaces */
	GW_RULE_META_NEED_SRC = 1 << 2,	/* every rule needs a source table: none, no match */
	GW_RULE_META_STATEFUL = 1 << 3,	/* some rule tracks flows (gw_rule_tracks_flows) */
};

struct gw_rule_iface_key {
	__u32 generation;
	__u32 ifindex;
};

struct gw_rule_stats {
	__u64 evaluations;
	__u64 matches;		/* times this rule decided the packet */
	__u64 packets;		/* decided by it, or of a flow it created */
	__u64 bytes;
	__u64 overloads;	/* max-src-conn / max-src-conn-rate triggers */
};

/*
 * Whether a rule's connections are tracked: a `pass ... keep state` rule
 * with a limit (max-src-states too) or an overload table, or with `set queue` (its
 * replies are found by their flow). Only those pay for flows.
 */
static inline int gw_rule_tracks_flows(const struct gw_rule *r)
{
	return r->action == GW_ACT_PASS && (r->flags & GW_RULE_KEEP_STATE) &&
	       (r->max_src_conn || r->max_src_conn_rate || r->max_src_states ||
		r->overload_table != GW_NO_TABLE || r->queue);
}

/*
 * Queues (`queue` in greywall.conf) are classes GW_QUEUE_HANDLE:ID of the HTB root qdisc
 * greywalld puts on each interface; ID is gw_rule.queue. TC egress puts a
 * queued flow's server packets in their class through skb->priority.
 */
#define GW_QUEUE_HANDLE 0x6777
#define GW_QUEUE_CLASSID(id) (((__u32)GW_QUEUE_HANDLE << 16) | (id))

/*
 * Flow tracking (only connections whose three-way handshake completed
 * count; docs/DESIGN.md, invariants). Tuple: client = the side that sent
 * the SYN; ports in host order. XDP creates a flow on a client SYN decided by a rule that
 * tracks flows; TC egress records the server's SYN-ACK; XDP verifies the
 * client's ACK against it. Userspace times flows out and kills them (flush).
 * words[] is the same 40 bytes as 64-bit words, for gw_flow_hash().
 */
struct gw_flow_tuple {
	union {
		struct {
			struct gw_addr client;
			struct gw_addr server;
			__u16 client_port;
			__u16 server_port;
			__u32 pad;
		};
		__u64 words[5];
	};
};

/*
 * gw_flows is an array of slots, not a hash map: every packet of a tracked
 * flow looks its flow up, and the kernel's hash map costs more than a whole
 * pass verdict for it (an array lookup is a few instructions once the
 * verifier inlines it). A flow lives in one of GW_FLOW_PROBE slots from its
 * home slot, gw_flow_home() of gw_flow_hash() of its tuple; the tuple is
 * kept in the slot and compared on every lookup, so a shared home never
 * matches the wrong flow. A SYN that finds all its slots taken takes over
 * the one whose flow matters least, a closing one, else a half-open one,
 * oldest first (GW_STAT_FLOWS_EVICTED); an established or killed flow is
 * never taken over, and when the slots hold only those the SYN is refused
 * (GW_STAT_FLOWS_FULL_DROPS), never passed untracked. The hash is NH
 * (UMAC's) under a seed userspace draws at random when it first attaches
 * and keeps as long as the maps live (gw_flow_conf): whoever forges SYNs
 * never learns it, so they cannot aim at the slots of a chosen connection.
 * The slot count is a power of two (gw_flow_conf.mask + 1).
 */
#define GW_FLOW_SEED_WORDS 5
#define GW_FLOW_PROBE 8
/*
 * Which gw_flow_hash()/gw_flow_home() placed the flows: pinned flows placed
 * by another are lost to this build's lookups, and greywalld makes the
 * flow maps anew (1: MurmurHash3's whole finalizer, 2: one round).
 */
#define GW_FLOW_HASH_VERSION 2

struct gw_flow_seed {
	__u64 k[GW_FLOW_SEED_WORDS];
};

/*
 * gw_flow_conf (a global variable of the programs, bpf/maps.h): what every
 * flow lookup needs. tick_ns is the data-path clock as greywalld's sweeper
 * last read it (once a second): an established flow's packets stamp
 * last_ns with it rather than read the clock, which costs more than the
 * rest of their lookup; tcp.established counts in hours. 0: no sweeper
 * yet, read the clock.
 */
struct gw_flow_conf {
	struct gw_flow_seed seed;
	__u32 mask;		/* slots in gw_flows - 1 */
	__u32 version;		/* GW_FLOW_HASH_VERSION the flows were placed with */
	__u64 tick_ns;
	__u64 v4_terms;		/* gw_flow_hash4()'s constant (gw_flow_conf_seed()) */
};

/* NH's term for one tuple word: its 32-bit halves, each plus its key word mod 2^32, multiplied. */
static inline __u64 gw_nh_term(__u64 word, __u64 key)
{
	__u32 lo = (__u32)word + (__u32)key;
	__u32 hi = (__u32)(word >> 32) + (__u32)(key >> 32);

	return (__u64)lo * hi;
}

static inline __u64 gw_flow_hash(const struct gw_flow_tuple *t, const struct gw_flow_seed *s)
{
	__u64 h = 0;
	int i;

	for (i = 0; i < GW_FLOW_SEED_WORDS; i++)
		h += gw_nh_term(t->words[i], s->k[i]);
	return h;
}

/*
 * The same hash of an IPv4 tuple, whose words 0 and 2 (the IPv4-mapped
 * addresses' first halves) are zero, given those words' terms: they
 * depend on the seed alone (gw_flow_conf.v4_terms).
 */
static inline __u64 gw_flow_hash4(const struct gw_flow_tuple *t, const struct gw_flow_seed *s,
				  __u64 v4_terms)
{
	return v4_terms + gw_nh_term(t->words[1], s->k[1]) + gw_nh_term(t->words[3], s->k[3]) +
	       gw_nh_term(t->words[4], s->k[4]);
}

/* Give conf the seed s, and the constant that follows from it. */
static inline void gw_flow_conf_seed(struct gw_flow_conf *conf, const struct gw_flow_seed *s)
{
	conf->seed = *s;
	conf->version = GW_FLOW_HASH_VERSION;
	conf->v4_terms = gw_nh_term(0, s->k[0]) + gw_nh_term(0, s->k[2]);
}

/*
 * The first slot of a flow. NH is linear in each half of a tuple word when
 * the other half stays: a client's connections that differ only in the
 * port would get neighbouring homes, and whoever sends SYNs from the ports
 * around its own could fill the slots of its next connection and go
 * uncounted. One xor-shift and multiply round (MurmurHash3's finalizer
 * has three) folds the high half into the low before the multiply carries
 * every bit up into the bits the home is taken from: a client's ports, or
 * a network's addresses, fill a window of slots no more often than random
 * tuples do (tests/unit/test_overload.c), and the round is on every
 * tracked packet's critical path.
 */
static inline __u32 gw_flow_home(__u64 hash, __u32 mask)
{
	hash ^= hash >> 32;
	hash *= 0xff51afd7ed558ccdULL;
	return (__u32)(hash >> 32) & mask;
}

enum gw_flow_state {
	GW_FLOW_FREE = 0,	/* an empty slot (all zero) */
	GW_FLOW_SYN = 1,	/* client SYN seen, admitted by a rule that tracks flows */
	GW_FLOW_SYNACK,		/* the server's SYN-ACK seen on egress: server_isn recorded */
	GW_FLOW_ESTABLISHED,	/* the client's ACK acknowledged server_isn + 1 */
	GW_FLOW_CLOSING,	/* FIN or RST seen either way: no longer counted */
	GW_FLOW_KILLED,		/* flushed or refused by a limit: every packet is dropped */
};

/* A slot of gw_flows, free when state is GW_FLOW_FREE. */
struct gw_flow {
	struct gw_flow_tuple tuple;
	__u64 last_ns;		/* last packet, data-path clock (see GW_CFG_CLOCK) */
	__u32 server_isn;	/* sequence number of the server's SYN-ACK */
	__u32 client_isn;	/* sequence number of the client's SYN */
	/*
	 * A SYN takes a slot, free or given way, by compare-and-swap of the
	 * claim word, and a handshake completes by one: gen, counted up on
	 * each take-over, tells a slot from the same slot taken over since.
	 */
	union {
		struct {
			__u8 state;	/* enum gw_flow_state */
			__u8 rule;	/* the rule that admitted the SYN */
			__u8 counted;	/* 1 while the flow holds a slot in its source's conns */
			__u8 halfopen;	/* 1 while it holds one of its source's half-open ones */
			__u32 gen;
		};
		__u64 claim;
	};
};

/*
 * The half-open flows of a source under a rule (gw_src_halfopen), for its
 * bound (gw_rule.max_src_states, GW_SRC_HALFOPEN_DEFAULT): count is taken
 * by a SYN that starts a flow and given back when the flow completes its
 * handshake, closes, is taken over or times out; last_sec, the data-path
 * clock's seconds at the last take, ages a count out (GW_SRC_HALFOPEN_STALE).
 * Signed: a give-back that races a reset leaves it below 0, never above
 * the truth. An LRU map: forged sources push out each other's counts, and
 * the flow table's take-overs, not this bound, hold them.
 */
struct gw_src_halfopen {
	__s32 count;
	__u32 last_sec;
};

/*
 * PF's source tracking, per source and rule. rate_count is PF's threshold
 * count (connections * 1000, decaying), rate_last its time in whole
 * seconds (greywall.conf(5), CONNECTION LIMITS). overloaded: a limit fired and the event went out;
 * every further handshake of the source for the rule is refused until
 * userspace clears it. The data path changes an entry under its lock
 * (userspace may ignore the lock: a plain update leaves the lock alone).
 */
struct gw_src_key {
	struct gw_addr addr;
	__u32 rule;
};

struct gw_src_track {
	__u32 conns;
	__u32 rate_count;
	__u64 rate_last;
	__u32 overloaded;
	struct bpf_spin_lock lock;
};

enum gw_event_type {
	GW_EV_OVERLOAD_CONN = 1,	/* max-src-conn exceeded */
	GW_EV_OVERLOAD_RATE = 2,	/* max-src-conn-rate exceeded */
};

/*
 * An overload trigger, from XDP to greywalld through gw_events. conns and
 * rate_count are the values the refused handshake would have made (the
 * evidence: "conns 6 > 5", "rate 7000 > 6000"); the source's entry keeps
 * the values from before it. when: seconds of the data-path clock.
 */
struct gw_event {
	__u32 type;		/* enum gw_event_type */
	__u32 rule;
	struct gw_addr addr;
	__u32 conns;
	__u32 rate_count;
	__u64 when;
};

/* Global data-path counters (percpu array index). */
enum gw_stat {
	GW_STAT_PACKETS = 0,	/* every packet the program saw */
	GW_STAT_PASS,
	GW_STAT_DROP,
	GW_STAT_NON_IP,		/* passed: not IPv4/IPv6 */
	GW_STAT_UNPARSED,	/* passed: truncated or malformed headers (not TCP/UDP ones) */
	GW_STAT_IPV6_EXT,	/* IPv6 packets that carried extension headers */
	GW_STAT_FRAGMENT,	/* non-first fragments (no L4 header) */
	GW_STAT_HOST_HIT,
	GW_STAT_PREFIX_HIT,
	GW_STAT_OUT_PACKETS,	/* every packet the egress program saw */
	GW_STAT_STEER_TARPIT,	/* SMTP connections sk_lookup gave to the tarpit */
	GW_STAT_STEER_PASS,	/* SMTP connections left to the MTA: source in a pass table */
	GW_STAT_STEER_NO_TARPIT, /* left to the MTA: no tarpit listener of that family */
	GW_STAT_STEER_LOCAL,	/* left to the MTA: the host connecting to itself */
	GW_STAT_OUTBOUND_SMTP,	/* SYNs this host sent to a remote SMTP port (spamlogd) */
	GW_STAT_FLOWS_FULL,	/* SYNs that found their slots in gw_flows all taken (evicted or dropped) */
	GW_STAT_SRC_TRACK_FULL,	/* handshakes not counted: gw_src_track full (passed) */
	GW_STAT_HANDSHAKES,	/* verified handshakes admitted and counted */
	GW_STAT_BAD_ACK,	/* ACKs of a tracked SYN-ACK not acknowledging it: ignored */
	GW_STAT_OVERLOAD_DROPS,	/* handshake-completing ACKs dropped by a limit */
	GW_STAT_FLOW_KILLED_DROPS, /* packets of killed flows dropped */
	GW_STAT_RETURN_RST,	/* block return: TCP answered with RST */
	GW_STAT_RETURN_ICMP,	/* block return: answered with ICMP unreachable */
	GW_STAT_EVENTS_LOST,	/* overload events the ring had no room for */
	GW_STAT_FLOWS_EVICTED,	/* SYNs that took over a closing or half-open flow's slot */
	GW_STAT_FLOWS_FULL_DROPS, /* SYNs dropped: their slots held established or killed flows */
	GW_STAT_SRC_STATES_DROPS, /* SYNs dropped: the source's half-open bound (max-src-states) */
	/*
	 * Dropped before the rules, whatever the source (PF's scrub, RFC 1858):
	 * the kernel would reassemble or accept what the rules never saw.
	 */
	GW_STAT_TINY_FRAGMENT,	/* first fragments too short for their TCP/UDP header */
	GW_STAT_FRAGMENT_OFFSET1, /* IPv4 fragments at offset 1 (overwrite the TCP flags) */
	GW_STAT_IPV6_CHAIN,	/* IPv6 extension chains too long or cut short */
	GW_STAT_SHORT_HEADER,	/* unfragmented TCP/UDP with the header cut short */
	/*
	 * Flows a SYN started in gw_flows, counted once the flow is written:
	 * while it stays the same and the last sweep left no flow, the sweeper
	 * knows the table is empty without reading it.
	 */
	GW_STAT_FLOWS_CREATED,
	GW_STAT_MAX,
};

/*
 * The global counters, one record per CPU under key 0 of gw_stats: a
 * packet looks its CPU's record up once and adds to it as it goes.
 */
struct gw_stats {
	__u64 v[GW_STAT_MAX];
};

/* Runtime settings in the config array map. */
enum gw_config_key {
	GW_CFG_NRULES = 0,	/* number of valid entries in gw_rules */
	GW_CFG_FLAGS,		/* enum gw_config_flag */
	GW_CFG_COUNTER_TABLES,	/* bitmask of tables declared with `counters` */
	GW_CFG_BUILD_ID,	/* checksum of the attached programs (userspace only) */
	GW_CFG_RULE_GEN,	/* the live generation of the rule index, 0 or 1 */
	GW_CFG_SPAMD_PORT,	/* TCP port steered to the tarpit; 0 = steering off */
	GW_CFG_SPAMD_PASS_TABLES, /* bitmask of tables whose members reach the MTA */
	GW_CFG_CLOCK,		/* data-path clock in seconds; 0 = CLOCK_MONOTONIC (tests set it) */
	GW_CFG_SPAMD_TARPIT_TABLES, /* bitmask of tables whose members go to the tarpit, pass tables or not */
	GW_CFG_SPAMD_MTA_UID,	/* uid + 1 of the MTA whose outbound SMTP whitelists; 0: nobody's */
	GW_CFG_MAX,
};

/*
 * Slots of gw_tarpit: the tarpit's listening sockets, one per family, so an
 * IPv4 connection is never handed to an IPv6-only socket or the reverse.
 */
enum gw_tarpit_slot {
	GW_TARPIT_INET = 0,
	GW_TARPIT_INET6,
	GW_TARPIT_SLOTS,
};

enum gw_config_flag {
	GW_CFG_F_INDEX_READY = 1 << 1,	/* gw_index4/6 describe the maps: use them */
	GW_CFG_F_INDEX6_OFF = 1 << 2,	/* a short IPv6 network exists: skip gw_index6 */
	GW_CFG_F_INDEX6_SLOTS = 1 << 3,	/* gw_index6_slots matches gw_index6: ask it first */
};

_Static_assert(sizeof(struct gw_addr) == 16, "gw_addr is a map key ABI");
_Static_assert(sizeof(struct gw_lpm4_key) == 8, "gw_lpm4_key is a map key ABI");
_Static_assert(sizeof(struct gw_lpm6_key) == 20, "gw_lpm6_key is a map key ABI");
_Static_assert(sizeof(struct gw_entry) == 16, "gw_entry is a map value ABI");
_Static_assert(sizeof(struct gw_counters) == 64, "gw_counters is a map value ABI");
_Static_assert(sizeof(struct gw_stats) == 8 * GW_STAT_MAX, "gw_stats is a map value ABI");
_Static_assert(sizeof(struct gw_rule) == 56, "gw_rule is a map value ABI");
_Static_assert(sizeof(struct gw_rule_stats) == 40, "gw_rule_stats is a map value ABI");
_Static_assert(sizeof(struct gw_flow_tuple) == 8 * GW_FLOW_SEED_WORDS,
	       "gw_flow_hash() reads the tuple as GW_FLOW_SEED_WORDS words");
_Static_assert(sizeof(struct gw_flow) == 64, "gw_flow is a map value ABI");
_Static_assert(sizeof(struct gw_flow_conf) == 64, "gw_flow_conf is a map value ABI");
_Static_assert(sizeof(struct gw_src_key) == 20, "gw_src_key is a map key ABI");
_Static_assert(sizeof(struct gw_src_halfopen) == 8, "gw_src_halfopen is a map value ABI");
_Static_assert(sizeof(struct gw_src_track) == 24, "gw_src_track is a map value ABI");
_Static_assert(sizeof(struct gw_event) == 40, "gw_event is a ringbuf record ABI");
_Static_assert(sizeof(struct gw_index4_page) == 256, "gw_index4_page is a map value ABI");
_Static_assert(GW_CLASS_NET + GW_CLASS_NET_MAX_PLEN + 1 == GW_CLASS_TRIE,
	       "the network classes end where GW_CLASS_TRIE begins");
_Static_assert(sizeof(struct gw_index6_entry) == 16, "gw_index6_entry is a map value ABI");
_Static_assert(sizeof(struct gw_index6_slot) == 8, "a gw_index6_slot is read in one load");
_Static_assert(sizeof(struct gw_index6_bucket) == 64, "gw_index6_bucket is a map value ABI");
_Static_assert(sizeof(struct gw_ruleset) == 32, "gw_ruleset is a map value ABI");

#endif /* __GREYWALL_H */
