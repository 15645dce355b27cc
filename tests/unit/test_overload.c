// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The userspace half of connection limits and overload against the real
 * maps (the XDP object's maps, its program not even loaded) and real sockets: the sweeper's timeouts and slot
 * accounting, PF's rate decay, flush versus flush global on gw_flows,
 * SOCK_DESTROY on IPv4, IPv6 and dual-stack sockets, an overload event
 * applied to the tables with its evidence, and the rule remap of a reload.
 * Runs in a network namespace of its own, so the sockets it destroys can
 * only be its own. Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon.h"
#include "tables/dump.h"
#include "datapath/flush.h"
#include "datapath/overload.h"
#include "datapath/stats.h"
#include "datapath/sweeper.h"
#include "xdp.skel.h"

#define NS SWEEPER_NSEC

static int flows_fd, src_fd, halfopen_fd, config_fd, conf_fd, stats_fd;

/* gw_flows' slots here: a power of two, few enough to clear quickly. */
#define TEST_FLOW_SLOTS 1024

static struct gw_addr key_of(const char *text)
{
	struct addr_prefix p;
	struct gw_addr k;

	addr_parse(text, &p);
	addr_to_key(&p, &k);
	return k;
}

static struct gw_flow_tuple flow_tuple(const char *client, uint16_t cport, uint16_t sport)
{
	struct gw_flow_tuple t = { .client = key_of(client), .server = key_of("192.0.2.1"),
				   .client_port = cport, .server_port = sport };

	return t;
}

static void put_flow(const struct gw_flow_tuple *t, uint8_t state, uint8_t rule, uint8_t counted,
		     uint64_t last_ns)
{
	struct gw_flow f = { .tuple = *t, .last_ns = last_ns, .state = state, .rule = rule,
			     .counted = counted };

	sweeper_flow_put(flows_fd, conf_fd, &f);
}

static int get_flow(const struct gw_flow_tuple *t, struct gw_flow *f)
{
	return sweeper_flow_get(flows_fd, conf_fd, t, f, NULL);
}

static void put_source(const char *addr, uint32_t rule, uint32_t conns, uint32_t rate,
		       uint64_t last_s, uint32_t overloaded)
{
	struct gw_src_key k = { .addr = key_of(addr), .rule = rule };
	struct gw_src_track st = { .conns = conns, .rate_count = rate, .rate_last = last_s,
				   .overloaded = overloaded };

	bpf_map_update_elem(src_fd, &k, &st, BPF_ANY);
}

/* conns of a source entry, or -1 when it is gone. */
static long source_conns(const char *addr, uint32_t rule, struct gw_src_track *out)
{
	struct gw_src_key k = { .addr = key_of(addr), .rule = rule };
	struct gw_src_track st;

	if (bpf_map_lookup_elem_flags(src_fd, &k, &st, BPF_F_LOCK))
		return -1;
	if (out)
		*out = st;
	return st.conns;
}

static void clear_maps(void)
{
	struct gw_src_key sk;

	for (uint32_t slot = 0; slot < TEST_FLOW_SLOTS; slot++)
		sweeper_flow_free(flows_fd, slot);
	while (!bpf_map_get_next_key(src_fd, NULL, &sk))
		bpf_map_delete_elem(src_fd, &sk);
	while (!bpf_map_get_next_key(halfopen_fd, NULL, &sk))
		bpf_map_delete_elem(halfopen_fd, &sk);
}

/* The half-open count of a source, or -1 when it has none. */
static long halfopen_count(const char *addr, uint32_t rule)
{
	struct gw_src_key k = { .addr = key_of(addr), .rule = rule };
	struct gw_src_halfopen h;

	return bpf_map_lookup_elem(halfopen_fd, &k, &h) ? -1 : h.count;
}

static void test_rate_and_timeouts(void)
{
	/* PF's decay for max-src-conn-rate 3/10, in whole seconds (greywall.conf(5)). */
	CHECK_INT(sweeper_rate_decayed(3000, 100, 100, 10), 3000, "rate: no time passed, no decay");
	CHECK_INT(sweeper_rate_decayed(3000, 100, 105, 10), 1500, "rate: half the window halves it");
	CHECK_INT(sweeper_rate_decayed(3000, 100, 109, 10), 300, "rate: 9 of 10 s leave a tenth");
	CHECK_INT(sweeper_rate_decayed(3000, 100, 110, 10), 0, "rate: a whole window resets it");
	CHECK_INT(sweeper_rate_decayed(7000, 100, 99, 3), 7000, "rate: a clock behind last is no time");
	CHECK_INT(sweeper_rate_decayed(4000, 0, 5, 0), 0, "rate: a rule without a rate keeps nothing");
	CHECK_INT(sweeper_flow_timeout(GW_FLOW_SYN), 120, "SYN: PF tcp.first");
	CHECK_INT(sweeper_flow_timeout(GW_FLOW_SYNACK), 30, "SYN-ACK: PF tcp.opening");
	CHECK_INT(sweeper_flow_timeout(GW_FLOW_ESTABLISHED), 86400, "established: tcp.established");
	CHECK_INT(sweeper_flow_timeout(GW_FLOW_CLOSING), 90, "closing: tcp.closed");
	CHECK_INT(sweeper_flow_timeout(GW_FLOW_KILLED), 90, "killed: tcp.closed");
}

static void test_clock(void)
{
	uint32_t key = GW_CFG_CLOCK;
	uint64_t set = 5000, zero = 0, before, got;
	struct timespec ts;

	bpf_map_update_elem(config_fd, &key, &set, BPF_ANY);
	CHECK_INT(sweeper_clock_ns(config_fd), 5000 * NS, "clock: GW_CFG_CLOCK injects seconds");
	bpf_map_update_elem(config_fd, &key, &zero, BPF_ANY);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	before = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
	got = sweeper_clock_ns(config_fd);
	CHECK(got >= before && got - before < NS, "clock: CLOCK_MONOTONIC when GW_CFG_CLOCK is 0");
}

static struct gw_flow_conf flow_conf(void)
{
	struct gw_flow_conf conf = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(conf_fd, &zero, &conf);
	return conf;
}

static void test_flow_slots(void)
{
	struct gw_flow_tuple a = flow_tuple("198.51.100.7", 1000, 110),
			     b = flow_tuple("2001:db8:bad::7", 1000, 110);
	struct gw_flow_conf conf = flow_conf(), again;
	struct gw_flow_seed seed;
	struct gw_flow other = { .tuple = b, .state = GW_FLOW_ESTABLISHED, .last_ns = NS }, f;
	uint32_t home, mask, zero = 0, set = 0, slot;
	int odd_fd;

	clear_maps();
	CHECK(!conf.mask && !conf.seed.k[0], "a new gw_flow_conf holds no seed and no size");
	CHECK_INT(sweeper_flow_conf_init(conf_fd, flows_fd), 0, "the seed is drawn");
	conf = flow_conf();
	for (uint32_t i = 0; i < GW_FLOW_SEED_WORDS; i++)
		set |= conf.seed.k[i] ? 1U << i : 0;
	CHECK_INT(set, (1U << GW_FLOW_SEED_WORDS) - 1, "every word of the seed is drawn");
	CHECK_INT(conf.mask, TEST_FLOW_SLOTS - 1, "the mask is gw_flows' size - 1");
	CHECK(!sweeper_flow_home(conf_fd, &a, &home, &mask) && mask == conf.mask &&
		      home == gw_flow_home(gw_flow_hash(&a, &conf.seed), conf.mask),
	      "a flow's home slot is gw_flow_home() of gw_flow_hash() under the seed");
	odd_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(struct gw_flow), 1000, NULL);
	CHECK_INT(sweeper_flow_conf_init(conf_fd, odd_fd), -EINVAL,
		  "a flow table of 1000 slots (no power of two) is refused");
	close(odd_fd);

	put_flow(&a, GW_FLOW_ESTABLISHED, 1, 0, NS);
	CHECK_INT(sweeper_flow_conf_init(conf_fd, flows_fd), 0, "attaching again");
	again = flow_conf();
	CHECK(!memcmp(&conf, &again, sizeof(conf)), "keeps the seed the flows were placed with");
	CHECK(!get_flow(&a, &f) && f.state == GW_FLOW_ESTABLISHED && f.rule == 1,
	      "a flow put is found by its tuple");
	CHECK_INT(get_flow(&b, &f), -ENOENT, "a tuple never put is not found");
	CHECK(!sweeper_flow_get(flows_fd, conf_fd, &a, &f, &slot) && slot == home,
	      "the first flow of an empty table is in its home slot, and get says so");

	/* Another tuple's flow in a's slot: not a's, and a's reread sees it gone. */
	bpf_map_update_elem(flows_fd, &home, &other, BPF_ANY);
	CHECK_INT(get_flow(&a, &f), -ENOENT, "a slot holding another tuple's flow is not a's flow");
	f.tuple = a;
	CHECK_INT(sweeper_flow_reread(flows_fd, home, &f), -ENOENT,
		  "reread: the slot holds another flow now");
	f.tuple = b;
	CHECK(!sweeper_flow_reread(flows_fd, home, &f) && f.state == GW_FLOW_ESTABLISHED,
	      "reread: the slot still holds b's flow");
	CHECK(!sweeper_flow_free(flows_fd, home) && get_flow(&b, &f) == -ENOENT,
	      "a freed slot holds no flow");

	/*
	 * With the seed word of the ports zero, NH gives tuples that differ in
	 * the client port one hash: GW_FLOW_PROBE of them fit, one more not.
	 */
	clear_maps();
	seed = conf.seed;
	seed.k[4] = 0;
	gw_flow_conf_seed(&conf, &seed);
	bpf_map_update_elem(conf_fd, &zero, &conf, BPF_ANY);
	for (uint32_t i = 0; i <= GW_FLOW_PROBE; i++) {
		struct gw_flow g = { .tuple = flow_tuple("198.51.100.7", (uint16_t)(3000 + i), 110),
				     .state = GW_FLOW_SYN, .last_ns = NS, .rule = (uint8_t)i };

		CHECK_INT(sweeper_flow_put(flows_fd, conf_fd, &g), i < GW_FLOW_PROBE ? 0 : -ENOSPC,
			  "port %u: %s", 3000 + i,
			  i < GW_FLOW_PROBE ? "a slot of its home's probe" : "all its slots taken");
	}
	for (uint32_t i = 0; i < GW_FLOW_PROBE; i++) {
		struct gw_flow_tuple t = flow_tuple("198.51.100.7", (uint16_t)(3000 + i), 110);

		CHECK(!get_flow(&t, &f) && f.rule == i, "port %u finds its own flow", 3000 + i);
	}
	sweeper_flow_home(conf_fd, &a, &home, &mask);
	slot = (home + 3) & mask;
	CHECK(!sweeper_flow_free(flows_fd, slot), "one slot freed");
	f = (struct gw_flow){ .tuple = flow_tuple("198.51.100.7", 3000 + GW_FLOW_PROBE, 110),
			      .state = GW_FLOW_SYN, .last_ns = NS };
	CHECK_INT(sweeper_flow_put(flows_fd, conf_fd, &f), 0, "then the next one fits");
	/* The flows were placed under this seed: keep it for the rest. */
	clear_maps();
	conf = flow_conf();
}

/*
 * Windows of GW_FLOW_PROBE slots, in a table of GW_FLOW_SLOTS, that the
 * homes of n tuples fill, under a drawn seed: the tuples are one client's
 * consecutive ports (ports) or consecutive clients on one port. *worst:
 * the most homes in any window.
 */
static uint32_t full_windows(uint32_t n, bool ports, uint32_t *worst)
{
	static uint16_t homes[GW_FLOW_SLOTS];
	struct gw_flow_conf conf = { .mask = GW_FLOW_SLOTS - 1 };
	struct gw_flow_seed seed;
	uint32_t full = 0, in = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return UINT32_MAX;
	gw_flow_conf_seed(&conf, &seed);
	memset(homes, 0, sizeof(homes));
	for (uint32_t i = 0; i < n; i++) {
		struct gw_flow_tuple t = flow_tuple("198.51.0.0", 40000, 110);
		uint32_t be = htonl(ntohl(0xc6330000U) + i);	/* 198.51.0.0 + i */

		if (ports)
			t.client_port = (uint16_t)(1024 + i);
		else
			memcpy(&t.client.bytes[12], &be, 4);
		homes[gw_flow_home(gw_flow_hash4(&t, &conf.seed, conf.v4_terms), conf.mask)]++;
	}
	*worst = 0;
	for (uint32_t i = 0; i < GW_FLOW_PROBE; i++)
		in += homes[i];
	for (uint32_t i = 0; i < GW_FLOW_SLOTS; i++) {
		full += in >= GW_FLOW_PROBE;
		*worst = in > *worst ? in : *worst;
		in += homes[(i + GW_FLOW_PROBE) % GW_FLOW_SLOTS];
		in -= homes[i];
	}
	return full;
}

/*
 * Homes spread as random ones would: 30,000 tuples in 131,072 slots put
 * 1.83 homes in a window on average, and 90 of the windows (Poisson) get 8
 * or more. NH alone gives a client's consecutive ports 15,000 such windows
 * (its hash steps by one constant per port), and consecutive addresses 640;
 * allowed here: three times random, averaged over four seeds.
 */
static void test_flow_spread(void)
{
	for (int ports = 0; ports < 2; ports++) {
		uint32_t full = 0, worst = 0, w = 0;

		for (int s = 0; s < 4; s++) {
			full += full_windows(30000, ports, &w);
			worst = w > worst ? w : worst;
		}
		CHECK(full / 4 <= 270 && worst <= 20,
		      "30,000 %s: %u full windows of %u slots per seed (random: 90), at most %u "
		      "homes in one", ports ? "ports of one client" : "consecutive clients",
		      full / 4, GW_FLOW_PROBE, worst);
	}
}

/* The sweep's flows: all of 198.51.100.7 under rule 4, idle for `idle` seconds. */
static const struct sweep_case {
	const char *what;
	uint8_t state;
	uint8_t counted;
	int idle;		/* seconds before the sweep's clock; negative: after it */
	bool kept;
} sweep_cases[] = {
	{ "SYN idle 121 s expires (tcp.first)", GW_FLOW_SYN, 0, 121, false },
	{ "SYN idle 119 s stays", GW_FLOW_SYN, 0, 119, true },
	{ "SYN-ACK idle 31 s expires (tcp.opening)", GW_FLOW_SYNACK, 0, 31, false },
	{ "established idle a day and a second expires", GW_FLOW_ESTABLISHED, 1, 86401, false },
	{ "established idle under a day stays", GW_FLOW_ESTABLISHED, 1, 86399, true },
	{ "closing idle 91 s expires (tcp.closed)", GW_FLOW_CLOSING, 0, 91, false },
	{ "killed 80 s ago stays (its packets are still dropped)", GW_FLOW_KILLED, 0, 80, true },
	{ "a flow stamped after the sweep's clock stays", GW_FLOW_SYNACK, 0, -5, true },
};

#define NSWEEP (sizeof(sweep_cases) / sizeof(sweep_cases[0]))

static void test_sweep(const struct config *cfg)
{
	uint64_t now = 200000 * NS;
	struct sweeper_result res;
	struct gw_flow f;

	clear_maps();
	for (size_t i = 0; i < NSWEEP; i++) {
		struct gw_flow_tuple k = flow_tuple("198.51.100.7", (uint16_t)(1000 + i), 110);

		put_flow(&k, sweep_cases[i].state, 4, sweep_cases[i].counted,
			 now - (int64_t)sweep_cases[i].idle * (int64_t)NS);
	}
	put_source("198.51.100.7", 4, 2, 0, 0, 0);
	/* Idle, rate decayed (window 3 s of rule 4): goes. */
	put_source("198.51.100.8", 4, 0, 6000, 199990, 0);
	/* Rate still counting (2 of 3 s): stays. */
	put_source("198.51.100.9", 4, 0, 6000, 199998, 0);
	/* Overload pending: stays until the overload path clears it. */
	put_source("198.51.100.10", 4, 0, 0, 0, 1);
	/* A rule the config does not have: nothing to wait for. */
	put_source("2001:db8:bad::7", 200, 0, 5000, 199999, 0);

	/* The half-open flows hold their source's half-open count, as the data path makes them. */
	for (size_t i = 0; i < NSWEEP; i++) {
		struct gw_flow_tuple k = flow_tuple("198.51.100.7", (uint16_t)(1000 + i), 110);

		if ((sweep_cases[i].state == GW_FLOW_SYN || sweep_cases[i].state == GW_FLOW_SYNACK) &&
		    !get_flow(&k, &f)) {
			f.halfopen = 1;
			sweeper_flow_put(flows_fd, conf_fd, &f);
		}
	}
	bpf_map_update_elem(halfopen_fd, &(struct gw_src_key){ key_of("198.51.100.7"), 4 },
			    &(struct gw_src_halfopen){ .count = 4 }, BPF_ANY);

	CHECK_INT(sweeper_run(flows_fd, src_fd, halfopen_fd, cfg, now, &res), 0, "sweep runs");
	CHECK_INT(halfopen_count("198.51.100.7", 4), 2,
		  "the two expired half-open flows gave their half-open counts back");
	CHECK_INT(res.flows, NSWEEP, "sweep saw every flow");
	CHECK_INT(res.flows_expired, 4, "sweep expired four flows");
	CHECK_INT(res.slots_released, 1, "one of them held a slot");
	for (size_t i = 0; i < NSWEEP; i++) {
		struct gw_flow_tuple k = flow_tuple("198.51.100.7", (uint16_t)(1000 + i), 110);
		int ret = get_flow(&k, &f);

		CHECK(sweep_cases[i].kept ? !ret && f.counted == sweep_cases[i].counted : ret == -ENOENT,
		      "sweep: %s", sweep_cases[i].what);
	}
	CHECK_INT(source_conns("198.51.100.7", 4, NULL), 1,
		  "the expired established flow gave its slot back");
	CHECK_INT(res.sources_deleted, 2, "two idle source entries deleted");
	CHECK_INT(source_conns("198.51.100.8", 4, NULL), -1, "decayed idle source deleted");
	CHECK_INT(source_conns("198.51.100.9", 4, NULL), 0, "source with a live rate count kept");
	CHECK_INT(source_conns("198.51.100.10", 4, NULL), 0, "overloaded source kept");
	CHECK_INT(source_conns("2001:db8:bad::7", 200, NULL), -1, "source of a vanished rule deleted");
}

/*
 * PF's adaptive timeouts: past 60% of the slots the timeouts of the flows
 * that give way shrink towards 0 at 120%; a full table keeps a third.
 */
static void test_sweep_adaptive(const struct config *cfg)
{
	struct sweeper_fill fill = { .slots = 100, .free = 40 };
	uint64_t now = 300000 * NS;
	struct sweeper_result res;

	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_SYN, &fill), 120, "adaptive: 60%% full: 120 s");
	fill.free = 10;
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_SYN, &fill), 60, "adaptive: 90%% full: 60 s");
	fill.free = 0;
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_SYN, &fill), 40, "adaptive: full: 40 s");
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_SYNACK, &fill), 10, "adaptive: full: SYN-ACK 10 s");
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_CLOSING, &fill), 30, "adaptive: full: closing 30 s");
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_ESTABLISHED, &fill), 86400,
		  "adaptive: established flows keep theirs");
	CHECK_INT(sweeper_flow_timeout_adaptive(GW_FLOW_KILLED, &fill), 90,
		  "adaptive: killed flows keep theirs");

	/* A table full of SYNs idle 50 s: under tcp.first, past its adaptive 40 s. */
	clear_maps();
	for (uint32_t slot = 0; slot < TEST_FLOW_SLOTS; slot++) {
		struct gw_flow f = { .tuple = flow_tuple("203.0.113.5", (uint16_t)(1 + slot), 110),
				     .state = slot ? GW_FLOW_SYN : GW_FLOW_ESTABLISHED,
				     .last_ns = now - 50 * NS };

		bpf_map_update_elem(flows_fd, &slot, &f, BPF_ANY);
	}
	CHECK_INT(sweeper_run(flows_fd, src_fd, halfopen_fd, cfg, now, &res), 0, "adaptive sweep runs");
	CHECK(res.fill.slots == TEST_FLOW_SLOTS && res.fill.free == 0 &&
		      res.fill.halfopen == TEST_FLOW_SLOTS - 1 && res.fill.established == 1,
	      "the sweep saw the table full (%zu free, %zu half-open, %zu established)", res.fill.free,
	      res.fill.halfopen, res.fill.established);
	CHECK_INT(res.flows_expired, TEST_FLOW_SLOTS - 1,
		  "every SYN idle 50 s expired in a full table, the established flow stayed");
	clear_maps();
}

/* Set GW_STAT_FLOWS_CREATED to n, on the first CPU (the data path counts on its own). */
static void set_flows_created(uint64_t n)
{
	stats_write(stats_fd, GW_STAT_FLOWS_CREATED, n);
}

/*
 * The idle sweep: the flow table is read while a flow may be in it, and
 * not once a sweep left none and no flow has been counted since; source
 * entries are swept either way.
 */
static void test_sweep_watched(const struct config *cfg)
{
	struct gw_flow_tuple k = flow_tuple("198.51.100.7", 1000, 110);
	struct sweeper_watch w = { 0 };
	uint64_t now = 400000 * NS;
	struct sweeper_result res;
	bool skipped;

	clear_maps();
	set_flows_created(7);
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg, now, &res,
				   &skipped) && !skipped,
	      "watched: nothing known at start: the table is read");
	CHECK(w.empty, "watched: and found empty");
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg, now, &res,
				   &skipped) && skipped,
	      "watched: empty, no flow created since: not read");
	/* The data path writes a flow, then counts it. */
	put_flow(&k, GW_FLOW_SYN, 4, 0, now);
	set_flows_created(8);
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg, now + NS,
				   &res, &skipped) && !skipped && res.flows == 1 &&
		      !res.flows_expired,
	      "watched: a flow created: read, the flow seen and kept");
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg, now + 2 * NS,
				   &res, &skipped) && !skipped && res.flows == 1,
	      "watched: read again while the flow lives");
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg,
				   now + 200 * NS, &res, &skipped) &&
		      !skipped && res.flows_expired == 1,
	      "watched: the flow expires on time (tcp.first)");
	CHECK(w.empty, "watched: the sweep left the table empty");
	put_source("198.51.100.8", 4, 0, 0, 0, 0);
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg,
				   now + 201 * NS, &res, &skipped) &&
		      skipped && res.sources_deleted == 1,
	      "watched: table not read, an idle source entry deleted all the same");
	/* A flow written behind the last pass was counted after it: the count moved. */
	put_flow(&k, GW_FLOW_SYN, 4, 0, now + 201 * NS);
	set_flows_created(9);
	CHECK(!sweeper_run_watched(&w, stats_fd, flows_fd, src_fd, halfopen_fd, cfg,
				   now + 202 * NS, &res, &skipped) &&
		      !skipped && res.flows == 1,
	      "watched: a flow created while the table was skipped is seen");
	clear_maps();
	set_flows_created(0);
}

/* A flush request for a source: rule < 0 means flush global. */
static struct flush_request flush_of(const char *source, int rule)
{
	struct flush_request r = { .global = rule < 0 };

	addr_parse(source, &r.source);
	if (rule >= 0)
		r.rules.bits[rule / 64] = 1ULL << (rule % 64);
	return r;
}

static void test_flush_flows(void)
{
	struct gw_flow_tuple a1 = flow_tuple("2001:db8:bad::7", 2001, 110),
			     a2 = flow_tuple("2001:db8:bad::7", 2002, 110),
			     b1 = flow_tuple("2001:db8:bad::7", 2003, 22),
			     other = flow_tuple("2001:db8:beef::9", 2004, 110),
			     c1 = flow_tuple("198.51.100.20", 2005, 110),
			     c2 = flow_tuple("198.51.100.20", 2006, 22),
			     d1 = flow_tuple("198.51.100.21", 2007, 22);
	struct flush_request req[3];
	struct gw_flow f;

	clear_maps();
	put_flow(&a1, GW_FLOW_ESTABLISHED, 3, 1, 10 * NS);
	put_flow(&a2, GW_FLOW_SYNACK, 3, 0, 10 * NS);
	put_flow(&b1, GW_FLOW_ESTABLISHED, 5, 1, 10 * NS);
	put_flow(&other, GW_FLOW_ESTABLISHED, 3, 1, 10 * NS);
	put_source("2001:db8:bad::7", 3, 1, 1000, 10, 0);
	put_source("2001:db8:bad::7", 5, 1, 1000, 10, 0);
	put_source("2001:db8:beef::9", 3, 1, 1000, 10, 0);

	/* The sources have no local sockets here: only the flows can die. */
	req[0] = flush_of("2001:db8:bad::99", 3);
	CHECK_INT(flush_sources(flows_fd, src_fd, req, 1, 0), 0,
		  "flush of an address with nothing tracked");
	CHECK_INT(req[0].result.flows + req[0].result.sockets, 0, "kills nothing");

	req[0] = flush_of("2001:db8:bad::7", 3);
	CHECK_INT(flush_sources(flows_fd, src_fd, req, 1, 50 * NS), 0, "flush (rule 3 only)");
	CHECK_INT(req[0].result.flows, 2, "flush killed the source's two flows of rule 3");
	CHECK(!get_flow(&a1, &f) && f.state == GW_FLOW_KILLED && !f.counted && f.last_ns == 50 * NS,
	      "its established flow is killed, uncounted, stamped with the flush");
	CHECK(!get_flow(&a2, &f) && f.state == GW_FLOW_KILLED,
	      "its flow still in the handshake is killed too");
	CHECK(!get_flow(&b1, &f) && f.state == GW_FLOW_ESTABLISHED,
	      "its flow of another rule lives (plain flush)");
	CHECK(!get_flow(&other, &f) && f.state == GW_FLOW_ESTABLISHED,
	      "another source's flow of the rule lives");
	CHECK_INT(source_conns("2001:db8:bad::7", 3, NULL), 0, "rule 3 slot given back");
	CHECK_INT(source_conns("2001:db8:bad::7", 5, NULL), 1, "rule 5 slot still held");

	req[0] = flush_of("2001:db8:bad::7", -1);
	CHECK_INT(flush_sources(flows_fd, src_fd, req, 1, 60 * NS), 0, "flush global");
	CHECK_INT(req[0].result.flows, 1, "flush global killed the one flow left of the source");
	CHECK(!get_flow(&b1, &f) && f.state == GW_FLOW_KILLED, "the other rule's flow is killed");
	CHECK(!get_flow(&a1, &f) && f.last_ns == 50 * NS, "flows killed before stay as they were");
	CHECK_INT(source_conns("2001:db8:bad::7", 5, NULL), 0, "rule 5 slot given back");
	CHECK(!get_flow(&other, &f) && f.state == GW_FLOW_ESTABLISHED,
	      "another source's flow still lives");
	CHECK_INT(source_conns("2001:db8:beef::9", 3, NULL), 1, "another source keeps its slot");

	/* Several sources in one walk; two requests of one source merge. */
	put_flow(&c1, GW_FLOW_ESTABLISHED, 3, 0, 10 * NS);
	put_flow(&c2, GW_FLOW_ESTABLISHED, 5, 0, 10 * NS);
	put_flow(&d1, GW_FLOW_ESTABLISHED, 5, 0, 10 * NS);
	req[0] = flush_of("198.51.100.20", 3);
	req[1] = flush_of("2001:db8:beef::9", -1);
	req[2] = flush_of("198.51.100.20", 5);
	CHECK_INT(flush_sources(flows_fd, src_fd, req, 3, 70 * NS), 0, "three requests, one walk");
	CHECK(!get_flow(&c1, &f) && f.state == GW_FLOW_KILLED && !get_flow(&c2, &f) &&
		      f.state == GW_FLOW_KILLED,
	      "a source's two plain flushes kill the flows of both rules");
	CHECK_INT(req[0].result.flows, 2, "their results go to its first request");
	CHECK_INT(req[2].result.flows, 0, "and not to the merged one");
	CHECK(!get_flow(&other, &f) && f.state == GW_FLOW_KILLED && req[1].result.flows == 1,
	      "the other source's flush global killed its flow");
	CHECK(!get_flow(&d1, &f) && f.state == GW_FLOW_ESTABLISHED, "a source not named lives");
}

/* A connected pair: client bound to `from`, accepted by a listener on `to`. */
struct conn {
	int client, server;
	uint16_t client_port, server_port;
};

static int sockaddr_of(const char *text, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	inet_pton(AF_INET6, text, &in6->sin6_addr);
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return sizeof(*in6);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &len);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int listener(const char *addr)
{
	struct sockaddr_storage ss;
	int len = sockaddr_of(addr, 0, &ss), off = 0;
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) || listen(fd, 16))
		return -1;
	return fd;
}

static int connect_pair(int lfd, const char *from, const char *to, struct conn *c)
{
	struct sockaddr_storage src, dst;
	int slen = sockaddr_of(from, 0, &src), dlen = sockaddr_of(to, local_port(lfd), &dst);

	c->client = socket(src.ss_family, SOCK_STREAM, 0);
	if (bind(c->client, (struct sockaddr *)&src, (socklen_t)slen) ||
	    connect(c->client, (struct sockaddr *)&dst, (socklen_t)dlen))
		return -1;
	c->server = accept(lfd, NULL, NULL);
	c->client_port = local_port(c->client);
	c->server_port = local_port(c->server);
	return c->server < 0 ? -1 : 0;
}

/* The socket's fate: 0 alive (nothing to read), else the errno a read gives. */
static int socket_error(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return 0;
	return n < 0 ? errno : -1;
}

static void close_conn(struct conn *c)
{
	close(c->client);
	close(c->server);
}

static void test_sock_destroy(void)
{
	int l4 = listener("127.0.0.1"), ldual = listener("::"), l6 = listener("::1");
	struct conn a, b, c, m, s6 = { .client = -1, .server = -1 }, t6 = s6;
	struct addr_prefix p;
	struct flush_conn only;
	size_t n = 99;
	int ret;

	CHECK(l4 >= 0 && ldual >= 0 && l6 >= 0, "listeners on 127.0.0.1, [::] and ::1");
	CHECK(!connect_pair(l4, "127.0.0.3", "127.0.0.1", &a) &&
		      !connect_pair(l4, "127.0.0.3", "127.0.0.1", &b) &&
		      !connect_pair(ldual, "127.0.0.3", "127.0.0.1", &m),
	      "three connections from 127.0.0.3, one to a dual-stack socket");

	/* A plain flush names its connections: only b's server side goes. */
	addr_parse("127.0.0.3", &p);
	addr_to_key(&(struct addr_prefix){ .family = AF_INET, .plen = 32, .bytes = { 127, 0, 0, 1 } },
		    &only.local);
	only.local_port = b.server_port;
	only.peer_port = b.client_port;
	ret = flush_destroy_sockets(&p, &only, 1, &n);
	if (ret == -EOPNOTSUPP) {
		CHECK_SKIP("the kernel lacks CONFIG_INET_DIAG_DESTROY", "SOCK_DESTROY of listed connections");
		goto out;
	}
	CHECK_INT(ret, 0, "destroy one listed IPv4 connection");
	CHECK_INT(n, 1, "exactly one socket destroyed");
	CHECK_INT(socket_error(b.server), ECONNABORTED, "its server side reads ECONNABORTED");
	CHECK_INT(socket_error(b.client), ECONNRESET, "its client was sent a reset");
	CHECK_INT(socket_error(a.server), 0, "the unlisted connection lives");

	CHECK_INT(flush_destroy_sockets(&p, NULL, 0, &n), 0, "destroy every connection of 127.0.0.3");
	CHECK_INT(n, 2, "the IPv4 one and the v4-mapped one on the dual-stack socket");
	CHECK_INT(socket_error(a.server), ECONNABORTED, "IPv4 server side aborted");
	CHECK_INT(socket_error(m.server), ECONNABORTED, "dual-stack server side aborted");
	CHECK_INT(socket_error(m.client), ECONNRESET, "its client reset");
	CHECK(!connect_pair(l4, "127.0.0.5", "127.0.0.1", &c), "the listener itself still accepts");
	CHECK_INT(flush_destroy_sockets(&p, NULL, 0, &n), 0, "a second flush finds nothing");
	CHECK_INT(n, 0, "and destroys nothing");

	CHECK(!connect_pair(l6, "::1", "::1", &s6) && !connect_pair(l6, "::1", "::1", &t6),
	      "two IPv6 connections over ::1");
	addr_parse("::1", &p);
	addr_to_key(&p, &only.local);
	only.local_port = s6.server_port;
	only.peer_port = s6.client_port;
	CHECK_INT(flush_destroy_sockets(&p, &only, 1, &n), 0, "destroy one listed IPv6 connection");
	CHECK_INT(n, 1, "one IPv6 socket destroyed");
	CHECK_INT(socket_error(s6.server), ECONNABORTED, "its server side aborted");
	CHECK_INT(socket_error(t6.server), 0, "the other IPv6 connection lives");
	/*
	 * ::1 is both ends here, so a whole-peer flush takes the client sides
	 * too; whichever end goes first resets the other before its turn.
	 */
	CHECK_INT(flush_destroy_sockets(&p, NULL, 0, &n), 0, "destroy every connection of ::1");
	CHECK_INT(n, 1, "one end destroyed, the other reset by it");
	{
		int es = socket_error(t6.server), ec = socket_error(t6.client);

		CHECK((es == ECONNABORTED && ec == ECONNRESET) ||
			      (es == ECONNRESET && ec == ECONNABORTED),
		      "both ends of the other IPv6 connection are dead (%d, %d)", es, ec);
	}
out:
	close_conn(&a);
	close_conn(&b);
	close_conn(&c);
	close_conn(&m);
	close_conn(&s6);
	close_conn(&t6);
	close(l4);
	close(ldual);
	close(l6);
}

static const char pop3_conf[] =
	"table <longterm> persist\n"
	"table <popflooders> persist\n"
	"table <sshflood> persist\n"
	"block drop quick from <longterm>\n"
	"pass in quick proto tcp from <popflooders> to port pop3 flags S/SA keep state "
	"(max-src-conn 1, max-src-conn-rate 1/1, overload <longterm> flush global)\n"
	"pass in proto tcp to port pop3 flags S/SA keep state "
	"(max-src-conn 5, max-src-conn-rate 6/3, overload <popflooders> flush global, pflow)\n"
	"pass in proto tcp to port { 22 2222 } keep state (max-src-conn 2, overload <sshflood> flush)\n";

static void test_overload_apply(void)
{
	static char dir[] = "/tmp/gw-overload-XXXXXX";
	struct tables_maps maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
	struct daemon d = { .epoll_fd = -1 };
	struct gw_flow_tuple pop = flow_tuple("198.51.100.7", 3001, 110),
			     ssh = flow_tuple("198.51.100.7", 3002, 22),
			     ssh2 = flow_tuple("198.51.100.7", 3003, 2222),
			     other = flow_tuple("198.51.100.8", 3004, 2222);
	struct gw_event ev = { .type = GW_EV_OVERLOAD_RATE, .rule = 2,
			       .addr = key_of("198.51.100.7"), .conns = 2, .rate_count = 7000,
			       .when = 997 };
	uint32_t clock_key = GW_CFG_CLOCK;
	uint64_t clock = 1000;
	int64_t now = 1795000000;
	struct gw_src_track st;
	struct evidence evd;
	struct addr_prefix src;
	char err[256], path[64], want[256], t[32];
	struct gw_flow f;
	int pop_t, long_t, ssh_t;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/greywall.db", dir);
	CHECK_INT(config_load_string("test.conf", pop3_conf, &d.cfg, err, sizeof(err)), 0,
		  "the pop3 rules load");
	CHECK_INT(d.cfg.nrules, 5, "five compiled rules (the port list makes two)");
	CHECK_INT(store_open(path, &d.store), 0, "store");
	CHECK_INT(tables_init(&d.tables, &d.cfg, d.store, &maps), 0, "tables");
	d.dp.flows = flows_fd;
	d.dp.src_track = src_fd;
	d.dp.config = config_fd;
	pop_t = tables_find(&d.tables, "popflooders");
	long_t = tables_find(&d.tables, "longterm");
	ssh_t = tables_find(&d.tables, "sshflood");
	bpf_map_update_elem(config_fd, &clock_key, &clock, BPF_ANY);

	clear_maps();
	put_flow(&pop, GW_FLOW_ESTABLISHED, 2, 1, 990 * NS);
	put_flow(&ssh, GW_FLOW_ESTABLISHED, 3, 1, 990 * NS);
	put_flow(&ssh2, GW_FLOW_ESTABLISHED, 4, 1, 990 * NS);
	put_flow(&other, GW_FLOW_ESTABLISHED, 4, 1, 990 * NS);
	put_source("198.51.100.7", 2, 1, 6000, 997, 1);
	put_source("198.51.100.7", 3, 1, 1000, 990, 0);
	put_source("198.51.100.7", 4, 1, 1000, 990, 0);

	CHECK_INT(overload_apply(&d, &ev, now), 1, "a rate event adds its source");
	addr_parse("198.51.100.7", &src);
	CHECK(tables_lookup(&d.tables, &src) == 1ULL << pop_t, "the source is in <popflooders> only");
	dump_format_time(now - 3, t, sizeof(t));
	snprintf(want, sizeof(want), "rule 3: max-src-conn-rate 6/3 exceeded (7000/6000) at %s", t);
	CHECK(!store_evidence_get(d.store,
				  ((struct entry_meta *)addrmap_get(&d.tables.table[pop_t].entries,
								    &src))->evidence_id,
				  &evd),
	      "the entry has evidence");
	CHECK_STR(evd.source, "overload", "evidence source");
	CHECK_STR(evd.detail, want, "evidence: the rule as numbered, the rate, the trigger's time");
	CHECK(!get_flow(&pop, &f) && f.state == GW_FLOW_KILLED, "flush global killed the pop3 flow");
	CHECK(!get_flow(&ssh, &f) && f.state == GW_FLOW_KILLED &&
		      !get_flow(&ssh2, &f) && f.state == GW_FLOW_KILLED,
	      "and its flows of the other rule");
	CHECK(!get_flow(&other, &f) && f.state == GW_FLOW_ESTABLISHED, "another source's flow lives");
	CHECK_INT(source_conns("198.51.100.7", 2, &st), 0, "the pop3 slot is given back");
	CHECK_INT(st.overloaded, 0, "the overloaded mark is cleared once the table is applied");
	CHECK_INT(st.rate_count, 6000, "the rate count stays");
	CHECK_INT(overload_apply(&d, &ev, now + 1), 0, "the same event again changes no table");

	/* A plain flush (rule 4 = `port { 22 2222 }`): both its parts, no other rule. */
	put_flow(&pop, GW_FLOW_ESTABLISHED, 2, 1, 990 * NS);
	put_flow(&ssh, GW_FLOW_ESTABLISHED, 3, 1, 990 * NS);
	put_flow(&ssh2, GW_FLOW_ESTABLISHED, 4, 1, 990 * NS);
	put_source("198.51.100.7", 2, 1, 1000, 990, 0);
	put_source("198.51.100.7", 3, 1, 1000, 990, 0);
	put_source("198.51.100.7", 4, 2, 2000, 990, 1);
	ev = (struct gw_event){ .type = GW_EV_OVERLOAD_CONN, .rule = 4,
				.addr = key_of("198.51.100.7"), .conns = 3, .rate_count = 3000,
				.when = 1000 };
	CHECK_INT(overload_apply(&d, &ev, now), 1, "a max-src-conn event adds its source");
	CHECK(tables_lookup(&d.tables, &src) == (1ULL << pop_t | 1ULL << ssh_t),
	      "the source is in <sshflood> too");
	dump_format_time(now, t, sizeof(t));
	snprintf(want, sizeof(want), "rule 4: max-src-conn 2 exceeded (3 established) at %s", t);
	store_evidence_get(d.store,
			   ((struct entry_meta *)addrmap_get(&d.tables.table[ssh_t].entries, &src))
				   ->evidence_id,
			   &evd);
	CHECK_STR(evd.detail, want, "evidence of max-src-conn");
	CHECK(!get_flow(&ssh, &f) && f.state == GW_FLOW_KILLED && !get_flow(&ssh2, &f) &&
		      f.state == GW_FLOW_KILLED,
	      "flush killed the flows of both parts of the rule");
	CHECK(!get_flow(&pop, &f) && f.state == GW_FLOW_ESTABLISHED,
	      "flush left the pop3 flow (another rule) alive");
	CHECK_INT(source_conns("198.51.100.7", 2, NULL), 1, "and its slot");
	CHECK_INT(source_conns("198.51.100.7", 3, NULL), 0, "part one's slot given back");
	CHECK_INT(source_conns("198.51.100.7", 4, &st), 1, "part two's slot given back");
	CHECK_INT(st.overloaded, 0, "part two's mark cleared");
	CHECK(!(tables_lookup(&d.tables, &src) & 1ULL << long_t), "nothing put it in <longterm>");

	ev.rule = 40;
	put_source("198.51.100.7", 40, 0, 0, 0, 1);
	CHECK_INT(overload_apply(&d, &ev, now), -ESTALE, "an event of a rule that is gone: ESTALE");
	CHECK_INT(source_conns("198.51.100.7", 40, &st), 0, "its source entry stays");
	CHECK_INT(st.overloaded, 0, "but its mark is cleared");

	/* A batch, as a burst leaves them in the ring: two sources and a stale event. */
	{
		struct gw_event batch[3] = {
			{ .type = GW_EV_OVERLOAD_CONN, .rule = 2, .addr = key_of("2001:db8:bad::7"),
			  .conns = 6, .when = 1000 },
			{ .type = GW_EV_OVERLOAD_CONN, .rule = 2, .addr = key_of("2001:db8:bad::8"),
			  .conns = 6, .when = 1000 },
			{ .type = GW_EV_OVERLOAD_CONN, .rule = 77, .addr = key_of("2001:db8:bad::9"),
			  .conns = 6, .when = 1000 },
		};
		struct gw_flow_tuple v6a = flow_tuple("2001:db8:bad::7", 5001, 110),
				     v6b = flow_tuple("2001:db8:bad::8", 5002, 22);
		struct addr_prefix a, b;

		put_flow(&v6a, GW_FLOW_ESTABLISHED, 2, 1, 990 * NS);
		put_flow(&v6b, GW_FLOW_ESTABLISHED, 3, 1, 990 * NS);
		put_source("2001:db8:bad::7", 2, 5, 5000, 1000, 1);
		put_source("2001:db8:bad::8", 2, 5, 5000, 1000, 1);
		put_source("2001:db8:bad::9", 77, 0, 0, 0, 1);
		CHECK_INT(overload_apply_batch(&d, batch, 3, now), 2, "a batch adds its two sources");
		addr_parse("2001:db8:bad::7", &a);
		addr_parse("2001:db8:bad::8", &b);
		CHECK(tables_lookup(&d.tables, &a) == 1ULL << pop_t &&
			      tables_lookup(&d.tables, &b) == 1ULL << pop_t,
		      "both are in <popflooders>");
		CHECK(!get_flow(&v6a, &f) && f.state == GW_FLOW_KILLED && !get_flow(&v6b, &f) &&
			      f.state == GW_FLOW_KILLED,
		      "both flush globals ran (one walk)");
		CHECK(source_conns("2001:db8:bad::7", 2, &st) == 4 && !st.overloaded &&
			      source_conns("2001:db8:bad::8", 2, &st) == 5 && !st.overloaded,
		      "both marks cleared, the killed counted flow's slot given back");
		CHECK(source_conns("2001:db8:bad::9", 77, &st) == 0 && !st.overloaded,
		      "the stale event only lost its mark");
	}

	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	unlink(path);
	snprintf(path, sizeof(path), "%s/greywall.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/greywall.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

static void test_remap(void)
{
	static const char before[] =
		"pass in proto tcp to port pop3 flags S/SA keep state (max-src-conn 5)\n"
		"pass in proto tcp to port { 22 2222 } keep state (max-src-conn 2)\n"
		"pass in proto tcp to port 993 keep state (max-src-conn 9)\n";
	static const char after[] =
		"block drop quick proto udp\n"
		"pass in proto tcp to port { 22 2222 } keep state (max-src-conn 2)\n"
		"pass in proto tcp to port pop3 flags S/SA keep state (max-src-conn 5)\n";
	struct config a, b;
	struct gw_flow_tuple pop = flow_tuple("192.0.2.66", 4001, 110),
			     imap = flow_tuple("192.0.2.66", 4002, 993),
			     ssh2 = flow_tuple("192.0.2.66", 4003, 2222);
	int map[8];
	char err[256];
	struct gw_flow f;

	CHECK(!config_load_string("a.conf", before, &a, err, sizeof(err)) &&
		      !config_load_string("b.conf", after, &b, err, sizeof(err)),
	      "two rule sets");
	CHECK(sweeper_rule_map(&a, &b, map), "the rules moved");
	CHECK(map[0] == 3 && map[1] == 1 && map[2] == 2 && map[3] == -1,
	      "pop3 0->3, ssh parts 1->1 and 2->2, port 993 gone (got %d %d %d %d)", map[0], map[1],
	      map[2], map[3]);
	CHECK(!sweeper_rule_map(&a, &a, map), "the same rules do not move");
	clear_maps();
	put_flow(&pop, GW_FLOW_ESTABLISHED, 0, 1, NS);
	put_flow(&imap, GW_FLOW_ESTABLISHED, 3, 1, NS);
	put_flow(&ssh2, GW_FLOW_ESTABLISHED, 2, 1, NS);
	put_source("192.0.2.66", 0, 1, 1000, 1, 0);
	put_source("192.0.2.66", 3, 1, 1000, 1, 0);
	put_source("192.0.2.66", 2, 1, 1000, 1, 0);
	sweeper_rule_map(&a, &b, map);
	CHECK_INT(sweeper_remap_rules(flows_fd, src_fd, halfopen_fd, map, a.nrules), 0, "remap");
	CHECK(!get_flow(&pop, &f) && f.rule == 3 && f.counted, "the pop3 flow follows its rule");
	CHECK(!get_flow(&ssh2, &f) && f.rule == 2, "the ssh flow keeps its index");
	CHECK(get_flow(&imap, &f) == -ENOENT, "the vanished rule's flow is gone");
	CHECK_INT(source_conns("192.0.2.66", 3, NULL), 1, "the pop3 source entry moved to 3");
	CHECK_INT(source_conns("192.0.2.66", 0, NULL), -1, "and left 0");
	CHECK_INT(source_conns("192.0.2.66", 2, NULL), 1, "the ssh entry stays");
	config_free(&a);
	config_free(&b);
}

/* Our own network namespace with loopback up: every socket in it is ours. */
static int private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		return -errno;
	close(fd);
	return 0;
}

int main(void)
{
	struct gw_xdp *skel;
	struct config empty;
	char err[128];

	libbpf_set_print(NULL);
	CHECK_INT(private_netns(), 0, "a private network namespace (needs root)");
	/* The maps with their BTF (gw_src_track's spin lock needs it), no program. */
	skel = gw_xdp__open();
	if (skel) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog, false);
		bpf_map__set_max_entries(skel->maps.gw_flows, TEST_FLOW_SLOTS);
	}
	CHECK(skel && !gw_xdp__load(skel), "the XDP object's maps are created (needs root)");
	if (!skel)
		return check_done();
	flows_fd = bpf_map__fd(skel->maps.gw_flows);
	src_fd = bpf_map__fd(skel->maps.gw_src_track);
	halfopen_fd = bpf_map__fd(skel->maps.gw_src_halfopen);
	config_fd = bpf_map__fd(skel->maps.gw_config);
	conf_fd = bpf_map__fd(skel->maps.data_flowconf);
	stats_fd = bpf_map__fd(skel->maps.gw_stats);

	test_rate_and_timeouts();
	test_clock();
	test_flow_slots();
	test_flow_spread();
	config_load_string("sweep.conf",
			   "pass proto tcp to port 1 keep state (max-src-conn 1)\n"
			   "pass proto tcp to port 2 keep state (max-src-conn 1)\n"
			   "pass proto tcp to port 3 keep state (max-src-conn 1)\n"
			   "pass proto tcp to port 4 keep state (max-src-conn 1)\n"
			   "pass proto tcp to port pop3 keep state (max-src-conn-rate 6/3)\n",
			   &empty, err, sizeof(err));
	test_sweep(&empty);
	test_sweep_adaptive(&empty);
	test_sweep_watched(&empty);
	config_free(&empty);
	test_flush_flows();
	test_sock_destroy();
	test_overload_apply();
	test_remap();
	gw_xdp__destroy(skel);
	return check_done();
}
