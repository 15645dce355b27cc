// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Per-entry counters: only entries in a `counters` table count; a blocked
 * packet goes to In/Block, a passed one to In/Pass, bytes = frame length;
 * the entry that supplied the membership (host or prefix) is the one that
 * counts. The TC egress program counts Out/Pass for the destination. The
 * counters are per CPU, in the entry's counter slot: each CPU adds to its
 * own copy, and the sum is the entry's total.
 */
#include <errno.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "cases.h"

#define CNT(addr, dir, n) { (addr), (dir), (n) }

static const struct xdp_case counter_cases[] = {
	{ "blocked host in a counters table: In/Block", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, {},
	  { CNT("198.51.100.7", GW_DIR_IN_BLOCK, 1) } },
	{ "passed host in a counters table: In/Pass", TCP4(.payload = 1000), 0,
	  { { "198.51.100.7", T_OTHER } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_OTHER, XDP_PASS, {},
	  { CNT("198.51.100.7", GW_DIR_IN_PASS, 1) } },
	{ "passed host with no rules at all: In/Pass", UDP6(), 0,
	  { { "2001:db8:1::7", T_OTHER } }, {}, 0, 0, T_OTHER, XDP_PASS, {},
	  { CNT("2001:db8:1::7", GW_DIR_IN_PASS, 1) } },
	{ "host in a table without counters: nothing counted", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_OTHER, XDP_DROP, {},
	  { CNT("198.51.100.7", GW_DIR_IN_BLOCK, 0) } },
	{ "one of several tables has counters: counted", TCP4(), 0,
	  { { "198.51.100.7", T_BLOCK | T_THIRD } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_THIRD,
	  XDP_DROP, {}, { CNT("198.51.100.7", GW_DIR_IN_BLOCK, 1) } },
	{ "prefix entry counts for an address it covers", TCP4(.src = "198.51.100.99"), 0,
	  { { "198.51.100.0/24", T_BLOCK }, { "198.51.100.7", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, {},
	  { CNT("198.51.100.0/24", GW_DIR_IN_BLOCK, 1), CNT("198.51.100.7", GW_DIR_IN_BLOCK, 0) } },
	{ "ipv6 prefix entry counts In/Block", TCP6(.payload = 333), 0,
	  { { "2001:db8:1::/48", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, {},
	  { CNT("2001:db8:1::/48", GW_DIR_IN_BLOCK, 1) } },
	{ "a host entry counts, not its covering prefix", TCP6(), 0,
	  { { "2001:db8:1::/48", T_BLOCK }, { "2001:db8:1::7", T_BLOCK } },
	  { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP, {},
	  { CNT("2001:db8:1::7", GW_DIR_IN_BLOCK, 1), CNT("2001:db8:1::/48", GW_DIR_IN_BLOCK, 0) } },
	{ "the destination entry does not count on ingress", TCP4(), 0,
	  { { "203.0.113.1", T_OTHER } }, { RULE(GW_ACT_BLOCK_DROP, .dst_tables = T_OTHER) }, 1,
	  0, T_OTHER, XDP_DROP, {}, { CNT("203.0.113.1", GW_DIR_IN_BLOCK, 0) } },
	{ "a truncated TCP header from a blocked source counts In/Block", TCP4(), 14 + 20 + 10,
	  { { "198.51.100.7", T_BLOCK } }, { BLOCK_FROM(T_BLOCK) }, 1, 0, T_BLOCK, XDP_DROP,
	  { FX_STAT(GW_STAT_SHORT_HEADER, 1) }, { CNT("198.51.100.7", GW_DIR_IN_BLOCK, 1) } },
	{ "block return counts In/Block and answers", UDP4(), 0,
	  { { "198.51.100.7", T_BLOCK } }, { RULE(GW_ACT_BLOCK_RETURN, .src_tables = T_BLOCK) }, 1,
	  0, T_BLOCK, XDP_TX, { FX_STAT(GW_STAT_DROP, 0), FX_STAT(GW_STAT_RETURN_ICMP, 1) },
	  { CNT("198.51.100.7", GW_DIR_IN_BLOCK, 1) } },
};

SELFTEST(counters)
{
	FX_RUN_CASES(counter_cases);
}

/* Counters accumulate over packets and directions. */
SELFTEST(counters_accumulate)
{
	struct gw_rule rule = RULE(GW_ACT_BLOCK_DROP, .src_tables = T_BLOCK, .dport_lo = 25,
				   .dport_hi = 25);
	struct pkt_spec smtp = TCP4(.payload = 10), web = TCP4(.dport = 80, .payload = 200);
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&smtp, a, NULL), blen = pkt_build(&web, b, NULL);
	struct gw_counters c;
	struct gw_entry e;

	fx_put("198.51.100.7", T_BLOCK);
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	for (int i = 0; i < 3; i++)
		fx_run_xdp(a, alen, NULL, NULL);
	for (int i = 0; i < 2; i++)
		fx_run_xdp(b, blen, NULL, NULL);
	CHECK(fx_get("198.51.100.7", &e) == 0 && fx_counters("198.51.100.7", &c) == 0,
	      "entry present");
	CHECK(c.packets[GW_DIR_IN_BLOCK] == 3 && c.bytes[GW_DIR_IN_BLOCK] == 3 * alen,
	      "In/Block: 3 packets, %zu bytes", 3 * alen);
	CHECK(c.packets[GW_DIR_IN_PASS] == 2 && c.bytes[GW_DIR_IN_PASS] == 2 * blen,
	      "In/Pass: 2 packets, %zu bytes", 2 * blen);
	CHECK(e.tables == T_BLOCK && e.counter != 0, "membership and slot untouched by counting");
	CHECK_INT(fx_stat(GW_STAT_DROP), 3, "GW_STAT_DROP");
	CHECK_INT(fx_stat(GW_STAT_PASS), 2, "GW_STAT_PASS");
}

/* The TC egress program, run on an skb: Out/Pass for the destination. */
struct tc_case {
	const char *desc;
	struct pkt_spec pkt;
	struct fx_entry before[FX_ENTRIES_MAX];
	uint64_t counter_tables;
	const char *counted;	/* entry expected to count one Out/Pass packet, or NULL */
	const char *untouched;	/* entry whose counters must stay zero, or NULL */
};

static const struct tc_case tc_cases[] = {
	{ "destination host in a counters table", TCP4(.src = "203.0.113.1", .dst = "198.51.100.7",
						      .tcp_flags = 0x12, .payload = 64),
	  { { "198.51.100.7", T_BLOCK } }, T_BLOCK, "198.51.100.7", NULL },
	{ "destination host, ipv6", UDP6(.src = "2001:db8:2::1", .dst = "2001:db8:1::7"),
	  { { "2001:db8:1::7", T_BLOCK } }, T_BLOCK, "2001:db8:1::7", NULL },
	{ "destination only in a prefix", TCP6(.src = "2001:db8:2::1", .dst = "2001:db8:1::99"),
	  { { "2001:db8:1::/64", T_OTHER } }, T_OTHER, "2001:db8:1::/64", NULL },
	{ "destination in a table without counters", TCP4(.src = "203.0.113.1",
							  .dst = "198.51.100.7"),
	  { { "198.51.100.7", T_BLOCK } }, T_OTHER, NULL, "198.51.100.7" },
	{ "the source does not count on egress", TCP4(.src = "198.51.100.7", .dst = "192.0.2.1"),
	  { { "198.51.100.7", T_BLOCK } }, T_BLOCK, NULL, "198.51.100.7" },
	{ "in 802.1ad + 802.1Q tags", TCP4(.src = "203.0.113.1", .dst = "198.51.100.7", .nvlan = 2,
					   .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }),
	  { { "198.51.100.7", T_BLOCK } }, T_BLOCK, "198.51.100.7", NULL },
	{ "a non-first fragment still counts", TCP4(.src = "203.0.113.1", .dst = "198.51.100.7",
						    .ip_frag = 50),
	  { { "198.51.100.7", T_BLOCK } }, T_BLOCK, "198.51.100.7", NULL },
	{ "ARP passes untouched", { .family = 0, .ethertype = ETH_P_ARP, .payload = 28 },
	  { { "198.51.100.7", T_BLOCK } }, T_BLOCK, NULL, "198.51.100.7" },
};

SELFTEST(tc_egress)
{
	for (size_t i = 0; i < sizeof(tc_cases) / sizeof(tc_cases[0]); i++) {
		const struct tc_case *c = &tc_cases[i];
		uint8_t pkt[PKT_MAX];
		size_t len = pkt_build(&c->pkt, pkt, NULL);
		struct gw_counters e;

		fx_reset();
		fx_put_all(c->before);
		fx_config(GW_CFG_COUNTER_TABLES, c->counter_tables);
		CHECK_INT(fx_run_tc(pkt, len), TC_ACT_OK, "%s: TC_ACT_OK", c->desc);
		CHECK_INT(fx_stat(GW_STAT_OUT_PACKETS), 1, "%s: GW_STAT_OUT_PACKETS", c->desc);
		CHECK_INT(fx_stat(GW_STAT_PACKETS), 0, "%s: ingress counters untouched", c->desc);
		if (c->counted) {
			fx_counters(c->counted, &e);
			CHECK(e.packets[GW_DIR_OUT_PASS] == 1 && e.bytes[GW_DIR_OUT_PASS] == len &&
				      e.packets[GW_DIR_IN_PASS] == 0 &&
				      e.packets[GW_DIR_OUT_BLOCK] == 0,
			      "%s: %s Out/Pass 1 packet, %zu bytes (got %llu, %llu)", c->desc,
			      c->counted, len, (unsigned long long)e.packets[GW_DIR_OUT_PASS],
			      (unsigned long long)e.bytes[GW_DIR_OUT_PASS]);
		}
		if (c->untouched) {
			static const struct gw_counters zero;

			memset(&e, 0xff, sizeof(e));
			fx_counters(c->untouched, &e);
			CHECK(!memcmp(&e, &zero, sizeof(zero)), "%s: %s not counted", c->desc,
			      c->untouched);
		}
	}
}

/*
 * An entry of a `counters` table that has no counter slot (greywalld ran
 * out of them) is enforced all the same and counts nothing; an entry
 * beside it with a slot counts on its own slot only.
 */
SELFTEST(counters_without_slot)
{
	struct pkt_spec from_a = TCP4(.src = "198.51.100.7"), from_b = TCP4(.src = "198.51.100.8");
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&from_a, a, NULL), blen = pkt_build(&from_b, b, NULL);
	struct gw_counters ca, cb;
	struct gw_entry e;

	fx_reset();
	CHECK_INT(fx_put_slot("198.51.100.7", T_BLOCK, 0), 0, "put without a slot");
	CHECK_INT(fx_put("198.51.100.8", T_BLOCK), 0, "put with a slot");
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	CHECK_INT(fx_run_xdp(a, alen, NULL, NULL), XDP_DROP, "no slot: dropped all the same");
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_DROP, "with a slot: dropped");
	CHECK_INT(fx_run_xdp(b, blen, NULL, NULL), XDP_DROP, "with a slot: dropped again");
	CHECK(fx_get("198.51.100.7", &e) == 0 && e.counter == 0, "the first entry has no slot");
	fx_counters("198.51.100.7", &ca);
	fx_counters("198.51.100.8", &cb);
	CHECK(ca.packets[GW_DIR_IN_BLOCK] == 0 && ca.bytes[GW_DIR_IN_BLOCK] == 0,
	      "no slot: nothing counted");
	CHECK(cb.packets[GW_DIR_IN_BLOCK] == 2 && cb.bytes[GW_DIR_IN_BLOCK] == 2 * blen,
	      "with a slot: its 2 packets only (got %llu)",
	      (unsigned long long)cb.packets[GW_DIR_IN_BLOCK]);
	CHECK_INT(fx_stat(GW_STAT_DROP), 3, "GW_STAT_DROP");
}

static int run_on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Each CPU counts in its own copy of the slot (no shared cache line, no
 * atomic operation), and the copies add up to the entry's total: 3 drops
 * on one CPU and 2 on another read back as 3, 2 and 5, on ingress (XDP)
 * and egress (TC) alike. A slot of the array reads zero before the first
 * packet; a spilled slot (the array full: FX_COUNTER_ARRAY slots) has no
 * counters until its first packet makes them.
 */
static void counters_per_cpu_case(bool spilled)
{
	struct pkt_spec in = TCP4(.src = "198.51.100.7", .payload = 40);
	struct pkt_spec out = TCP4(.src = "203.0.113.1", .dst = "198.51.100.7", .payload = 7);
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&in, a, NULL), blen = pkt_build(&out, b, NULL);
	struct gw_counters c0, c1, sum;
	cpu_set_t saved;
	int cpus[2], n = 0;

	if (sched_getaffinity(0, sizeof(saved), &saved)) {
		CHECK(0, "sched_getaffinity");
		return;
	}
	for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &saved))
			cpus[n++] = cpu;
	if (n < 2) {
		CHECK_SKIP("needs two CPUs to run on", "counters_per_cpu");
		return;
	}
	fx_reset();
	/* Fillers take the array's slots (1 .. FX_COUNTER_ARRAY - 1). */
	for (int i = 1; spilled && i < FX_COUNTER_ARRAY; i++) {
		char filler[32];

		snprintf(filler, sizeof(filler), "203.0.113.%d", 100 + i);
		fx_put(filler, T_BLOCK);
	}
	fx_put("198.51.100.7", T_BLOCK);
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	{
		struct gw_entry e;

		CHECK(fx_get("198.51.100.7", &e) == 0 &&
			      (e.counter >= FX_COUNTER_ARRAY) == spilled,
		      "its slot %u is %s the array", e.counter, spilled ? "beyond" : "in");
	}
	if (spilled)
		CHECK_INT(fx_counters_cpu("198.51.100.7", cpus[0], &c0), -ENOENT,
			  "spilled: no counters made before the entry's first packet");
	else
		CHECK(fx_counters_cpu("198.51.100.7", cpus[0], &c0) == 0 &&
			      c0.packets[GW_DIR_IN_BLOCK] == 0 && c0.bytes[GW_DIR_IN_BLOCK] == 0,
		      "array: zero before the entry's first packet");
	CHECK_INT(run_on_cpu(cpus[0]), 0, "run on CPU %d", cpus[0]);
	for (int i = 0; i < 3; i++)
		fx_run_xdp(a, alen, NULL, NULL);
	fx_run_tc(b, blen);
	CHECK_INT(run_on_cpu(cpus[1]), 0, "run on CPU %d", cpus[1]);
	for (int i = 0; i < 2; i++)
		fx_run_xdp(a, alen, NULL, NULL);
	sched_setaffinity(0, sizeof(saved), &saved);
	CHECK(fx_counters_cpu("198.51.100.7", cpus[0], &c0) == 0 &&
		      fx_counters_cpu("198.51.100.7", cpus[1], &c1) == 0 &&
		      fx_counters("198.51.100.7", &sum) == 0,
	      "the slot's copies read back");
	CHECK(c0.packets[GW_DIR_IN_BLOCK] == 3 && c0.bytes[GW_DIR_IN_BLOCK] == 3 * alen &&
		      c0.packets[GW_DIR_OUT_PASS] == 1 && c0.bytes[GW_DIR_OUT_PASS] == blen,
	      "CPU %d: In/Block 3, Out/Pass 1 (got %llu, %llu)", cpus[0],
	      (unsigned long long)c0.packets[GW_DIR_IN_BLOCK],
	      (unsigned long long)c0.packets[GW_DIR_OUT_PASS]);
	CHECK(c1.packets[GW_DIR_IN_BLOCK] == 2 && c1.bytes[GW_DIR_IN_BLOCK] == 2 * alen &&
		      c1.packets[GW_DIR_OUT_PASS] == 0,
	      "CPU %d: In/Block 2, Out/Pass 0 (got %llu, %llu)", cpus[1],
	      (unsigned long long)c1.packets[GW_DIR_IN_BLOCK],
	      (unsigned long long)c1.packets[GW_DIR_OUT_PASS]);
	CHECK(sum.packets[GW_DIR_IN_BLOCK] == 5 && sum.bytes[GW_DIR_IN_BLOCK] == 5 * alen &&
		      sum.packets[GW_DIR_OUT_PASS] == 1 && sum.bytes[GW_DIR_OUT_PASS] == blen,
	      "summed over the CPUs: In/Block 5, Out/Pass 1 (got %llu, %llu)",
	      (unsigned long long)sum.packets[GW_DIR_IN_BLOCK],
	      (unsigned long long)sum.packets[GW_DIR_OUT_PASS]);
}

SELFTEST(counters_per_cpu)
{
	counters_per_cpu_case(false);
}

SELFTEST(counters_per_cpu_spilled)
{
	counters_per_cpu_case(true);
}

/*
 * A slot given back keeps what its entry counted until it is taken again;
 * taken by a new entry, it reads zero, on every CPU, and counts the new
 * entry's packets only.
 */
SELFTEST(counters_slot_reused)
{
	struct pkt_spec from_a = TCP4(.src = "198.51.100.7"), from_b = TCP4(.src = "198.51.100.8");
	struct gw_rule rule = BLOCK_FROM(T_BLOCK);
	uint8_t a[PKT_MAX], b[PKT_MAX];
	size_t alen = pkt_build(&from_a, a, NULL), blen = pkt_build(&from_b, b, NULL);
	struct gw_counters c;
	struct gw_entry ea, eb;

	fx_reset();
	fx_put("198.51.100.7", T_BLOCK);
	fx_rules(&rule, 1);
	fx_config(GW_CFG_COUNTER_TABLES, T_BLOCK);
	fx_run_xdp(a, alen, NULL, NULL);
	fx_run_xdp(a, alen, NULL, NULL);
	CHECK(fx_get("198.51.100.7", &ea) == 0 && ea.counter, "the first entry has a slot");
	CHECK(fx_del("198.51.100.7") == 0, "the first entry removed, its slot given back");
	/* Every other slot taken: the next one is the slot given back. */
	for (int i = 2; i < FX_COUNTER_ARRAY; i++) {
		char filler[32];

		snprintf(filler, sizeof(filler), "203.0.113.%d", 100 + i);
		fx_put(filler, T_BLOCK);
	}
	fx_put("198.51.100.8", T_BLOCK);
	CHECK(fx_get("198.51.100.8", &eb) == 0 && eb.counter == ea.counter,
	      "the new entry has the slot given back (%u, was %u)", eb.counter, ea.counter);
	CHECK(fx_counters("198.51.100.8", &c) == 0 && c.packets[GW_DIR_IN_BLOCK] == 0 &&
		      c.bytes[GW_DIR_IN_BLOCK] == 0,
	      "taken again, it reads zero (got %llu)",
	      (unsigned long long)c.packets[GW_DIR_IN_BLOCK]);
	fx_run_xdp(b, blen, NULL, NULL);
	CHECK(fx_counters("198.51.100.8", &c) == 0 && c.packets[GW_DIR_IN_BLOCK] == 1 &&
		      c.bytes[GW_DIR_IN_BLOCK] == blen,
	      "and counts the new entry's packet only");
}
