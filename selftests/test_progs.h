/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The selftest runner's interface: test registration, TAP checks that count
 * across every file into one plan, and the fixture every test shares (the
 * XDP, TC and sk_lookup skeletons loaded once, on the same maps).
 */
#ifndef __GREYWALL_TEST_PROGS_H
#define __GREYWALL_TEST_PROGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TAP checks (tests/lib/check.h), numbered across all test files. */
#define CHECK_SHARED_COUNTERS
#include "check.h"
#include "greywall.h"
#include "packet.h"

struct __sk_buff;
struct bpf_sk_lookup;
struct datapath;

typedef void (*selftest_fn)(void);

void selftest_register(const char *name, selftest_fn fn);

/* Define a test; it registers itself before main() runs. */
#define SELFTEST(name)                                                              \
	static void selftest_##name(void);                                          \
	__attribute__((constructor)) static void selftest_register_##name(void)     \
	{                                                                           \
		selftest_register(#name, selftest_##name);                          \
	}                                                                           \
	static void selftest_##name(void)

/* A map entry for a case's "state before": address or CIDR and its tables. */
struct fx_entry {
	const char *addr;
	uint64_t tables;
};

#define FX_ENTRIES_MAX 8
#define FX_RULES_MAX 8

/* Clear every map and the config: each case starts from nothing. */
void fx_reset(void);
/*
 * Put addr (host -> gw_hosts, CIDR -> a trie) with tables and a counter
 * slot of its own, as greywalld gives entries of `counters` tables (the
 * cases say which tables count, GW_CFG_COUNTER_TABLES); 0 or -errno.
 */
int fx_put(const char *addr, uint64_t tables);
/* The same with the given counter slot (0: none, as greywalld gives other entries). */
int fx_put_slot(const char *addr, uint64_t tables, uint32_t slot);
/*
 * Remove addr's entry and give its counter slot back, as greywalld removes
 * an entry (the index keeps marking it: a lookup misses); 0 or -errno.
 */
int fx_del(const char *addr);
/* Put a list of entries terminated by addr == NULL. */
void fx_put_all(const struct fx_entry *entries);
/* Install rules[0..n-1] and set GW_CFG_NRULES. */
void fx_rules(const struct gw_rule *rules, int n);
void fx_config(enum gw_config_key key, uint64_t value);
/* GW_CFG_FLAGS bits besides the index's own (kept across fx_put). */
void fx_set_flags(uint64_t flags);
/* Whether the data path may use the first-level index (default on). */
void fx_index_mode(bool on);
/* Read an entry back by its exact key (host or CIDR); 0 or -errno. */
int fx_get(const char *addr, struct gw_entry *out);
/* An entry's counters summed over the CPUs (zero without a slot); 0 or -errno. */
int fx_counters(const char *addr, struct gw_counters *out);
/* One CPU's copy of an entry's counters; -ENOENT without a slot. */
int fx_counters_cpu(const char *addr, int cpu, struct gw_counters *out);
/* Sums over CPUs. */
uint64_t fx_stat(enum gw_stat stat);
/* Packets dropped before the rules (the scrub's stats), whatever the reason. */
uint64_t fx_scrub_drops(void);
struct gw_rule_stats fx_rule_stats(uint32_t idx);

/*
 * Run the XDP program once on pkt[0..len). Returns the XDP verdict or
 * -errno; out/out_len (optional) receive the packet as it left.
 */
int fx_run_xdp(const void *pkt, size_t len, void *out, uint32_t *out_len);
/* Run the TC egress program once; returns the TC verdict or -errno. */
int fx_run_tc(const void *pkt, size_t len);
/*
 * The same with skb as the context in and out: the fields BPF_PROG_TEST_RUN
 * carries (priority, mark, cb ...) go in, and come back as the program left them.
 */
int fx_run_tc_skb(const void *pkt, size_t len, struct __sk_buff *skb);
/*
 * Run the sk_lookup program once on *ctx; ctx->cookie comes back as the
 * cookie of the socket it chose, or 0. Returns the SK_* verdict or -errno.
 */
int fx_run_sk_lookup(struct bpf_sk_lookup *ctx);
/*
 * The fixture's gw_flows and gw_src_track hold FX_FLOWS_MAX entries and
 * its gw_events ring FX_EVENTS_BYTES, so that filling them is quick.
 */
#define FX_FLOWS_MAX 4096
#define FX_EVENTS_BYTES 4096
/*
 * Slots of the fixture's gw_counters (slot 0 unused): a case with more
 * counted entries than that counts the rest in gw_counters_spill.
 */
#define FX_COUNTER_ARRAY 8

/*
 * Flow tracking (bpf/flow.h). fx_clock() sets the data path's clock in
 * whole seconds (GW_CFG_CLOCK; 0: the real boot-time clock).
 */
void fx_clock(uint64_t sec);
/* greywalld's once-a-second clock for established flows (gw_flow_conf.tick_ns); 0 or -errno. */
int fx_flow_tick(uint64_t ns);
/* The tuple of the flow client:cport -> server:sport; 0 or -EINVAL. */
int fx_flow_tuple(const char *client, uint16_t cport, const char *server, uint16_t sport,
		  struct gw_flow_tuple *tuple);
/* Its home slot in gw_flows under the case's seed (fx_reset() draws one). */
int fx_flow_home(const struct gw_flow_tuple *tuple, uint32_t *home);
/* Set word i of the case's seed (tests that want tuples to share a home). */
int fx_flow_seed_word(uint32_t i, uint64_t value);
/* The flow of tuple (-ENOENT: none); 0 or -errno. */
int fx_flow_get(const struct gw_flow_tuple *tuple, struct gw_flow *out);
/* Write flow into its tuple's slot or a free one of its slots; 0 or -errno (-ENOSPC). */
int fx_flow_put(const struct gw_flow *flow);
/*
 * Take every slot of gw_flows with a flow in state (uncounted, holding no
 * half-open count) no case's tuple matches; 0 or -errno.
 */
int fx_fill_flows(uint8_t state);
/* The source tracking entry of (addr, rule); 0 or -errno (-ENOENT: none). */
int fx_src_track_get(const char *addr, uint32_t rule, struct gw_src_track *out);
int fx_src_track_put(const char *addr, uint32_t rule, const struct gw_src_track *track);
/* The half-open count of (addr, rule); 0 or -errno (-ENOENT: none). */
int fx_src_halfopen_get(const char *addr, uint32_t rule, struct gw_src_halfopen *out);
/* Take up to max overload events off the ring; returns how many there were. */
int fx_events(struct gw_event *out, int max);
/* Fill a hash map to capacity with generated keys; 0 or -errno. */
int fx_fill_map(int fd);
int fx_flows_fd(void);
int fx_flow_conf_fd(void);
int fx_src_track_fd(void);
int fx_src_halfopen_fd(void);

/* The fixture's maps as a struct datapath, for the userspace API (steer.h). */
void fx_datapath(struct datapath *dp);
/* The loaded XDP program's fd; the rules map's fd. */
int fx_xdp_prog_fd(void);
int fx_rules_fd(void);

/* A rule that matches everything and does action: callers set what they need. */
struct gw_rule fx_rule(uint8_t action);

/*
 * A table-driven XDP case: description, packet, map state before, expected
 * verdict, expected map state after. Stats not listed are not checked,
 * except that PASS + DROP + TX always equals PACKETS.
 */
struct fx_stat_expect {
	int stat;		/* enum gw_stat + 1; 0 ends the list */
	uint64_t value;
};
#define FX_STAT(s, v) { (s) + 1, (v) }

struct fx_counter_expect {
	const char *addr;	/* NULL ends the list */
	int dir;		/* enum gw_dir that got the packet; others must stay 0 */
	uint64_t packets;	/* 0 or 1; bytes must be packets * frame length */
};

struct fx_rule_expect {
	int rule;		/* index + 1; 0 ends the list */
	uint64_t evaluations;
	uint64_t matches;	/* packets = matches, bytes = matches * frame length */
};
#define FX_RULE_STATS(i, e, m) { (i) + 1, (e), (m) }

struct xdp_case {
	const char *desc;
	struct pkt_spec pkt;
	size_t trunc;		/* run only the first trunc bytes (0: the whole packet) */
	struct fx_entry before[FX_ENTRIES_MAX];
	struct gw_rule rules[FX_RULES_MAX];
	int nrules;
	uint64_t cfg_flags;	/* GW_CFG_FLAGS */
	uint64_t counter_tables; /* GW_CFG_COUNTER_TABLES */
	int verdict;		/* XDP_* */
	struct fx_stat_expect stats[6];
	struct fx_counter_expect counters[4];
	struct fx_rule_expect rule_stats[FX_RULES_MAX];
};

/*
 * A rule that matches everything (any port) and does action; fields given
 * after it override. Designated initializers that override a default are
 * what keeps rule tables readable here.
 */
#pragma GCC diagnostic ignored "-Woverride-init"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define RULE(act, ...) { .dport_lo = 0, .dport_hi = 65535, .overload_table = GW_NO_TABLE, \
			 .action = (act), __VA_ARGS__ }

/* Run one case from a clean fixture and check everything it expects. */
void fx_run_case(const struct xdp_case *c);
#define FX_RUN_CASES(cases)                                                         \
	for (size_t __i = 0; __i < sizeof(cases) / sizeof((cases)[0]); __i++)      \
		fx_run_case(&(cases)[__i])

#endif /* __GREYWALL_TEST_PROGS_H */
