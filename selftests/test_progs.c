// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * test_progs: runs every registered BPF selftest against the real XDP, TC
 * and sk_lookup objects with BPF_PROG_TEST_RUN. Needs root. TAP output;
 * exits non-zero when any check fails or the fixture cannot be set up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/addr.h"
#include "datapath/counters.h"
#include "datapath/datapath.h"
#include "datapath/mapindex.h"
#include "datapath/ruleindex.h"
#include "datapath/stats.h"
#include "sk_lookup.skel.h"
#include "datapath/steer.h"
#include "datapath/sweeper.h"
#include "tc_egress.skel.h"
#include "test_progs.h"
#include "xdp.skel.h"

#define SELFTESTS_MAX 64

static struct {
	const char *name;
	selftest_fn fn;
} selftests[SELFTESTS_MAX];
static int nselftests;

/* The counters of check.h, shared by every test file (test_progs.h). */
int check_count;
int check_failures;

static struct gw_xdp *xdp_skel;
static struct gw_tc_egress *tc_skel;
static struct gw_sk_lookup *sk_skel;
static struct ring_buffer *fx_ring;
static int ncpus;

void selftest_register(const char *name, selftest_fn fn)
{
	if (nselftests == SELFTESTS_MAX) {
		fprintf(stderr, "too many selftests (raise SELFTESTS_MAX)\n");
		exit(1);
	}
	selftests[nselftests].name = name;
	selftests[nselftests].fn = fn;
	nselftests++;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Verifier logs and warnings go to stderr (the run log); debug is noise. */
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * Delete every entry, walking on from each key before deleting it: asking
 * for the first key again after each delete rescans the emptied buckets.
 */
static void map_clear(struct bpf_map *map)
{
	int fd = bpf_map__fd(map);
	uint8_t key[64], next[64];
	bool more;

	if (bpf_map_get_next_key(fd, NULL, key))
		return;
	do {
		more = bpf_map_get_next_key(fd, key, next) == 0;
		bpf_map_delete_elem(fd, key);
		memcpy(key, next, sizeof(key));
	} while (more);
}

static void array_zero(struct bpf_map *map, bool percpu)
{
	size_t vsize = bpf_map__value_size(map) * (percpu ? (size_t)ncpus : 1);
	void *zero = calloc(1, vsize);
	uint32_t i;

	for (i = 0; zero && i < bpf_map__max_entries(map); i++)
		bpf_map_update_elem(bpf_map__fd(map), &i, zero, BPF_ANY);
	free(zero);
}

static int fx_config_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.gw_config);
}

/* The index the fixture keeps in step with what fx_put() writes, as tables.c does. */
static struct mapindex fx_index;
/* Counter slots as tables.c gives them, through the same module. */
static struct counter_slots fx_slots;
static bool fx_index_on = true;
static uint64_t fx_extra_flags;	/* GW_CFG_FLAGS bits a test sets besides the index's */

static void fx_index_publish(void)
{
	uint64_t extra = fx_extra_flags;

	if (mapindex_publish(&fx_index))
		CHECK(0, "fixture: publish the address index");
	/* Without the index the data path takes its fallback path: tested too. */
	fx_config(GW_CFG_FLAGS, (fx_index_on ? fx_index.flags : 0) | extra);
}

void fx_reset(void)
{
	map_clear(xdp_skel->maps.gw_hosts);
	map_clear(xdp_skel->maps.gw_prefix4);
	map_clear(xdp_skel->maps.gw_prefix6);
	map_clear(xdp_skel->maps.gw_nets4);
	map_clear(xdp_skel->maps.gw_nets6);
	array_zero(xdp_skel->maps.gw_counters, true);
	map_clear(xdp_skel->maps.gw_counters_spill);
	counter_slots_forget(&fx_slots);
	array_zero(xdp_skel->maps.gw_rules, false);
	array_zero(xdp_skel->maps.gw_rule_stats, true);
	array_zero(xdp_skel->maps.gw_stats, true);
	array_zero(xdp_skel->maps.gw_config, false);
	map_clear(xdp_skel->maps.gw_outbound);
	array_zero(xdp_skel->maps.gw_flows, false);
	array_zero(xdp_skel->maps.data_flowconf, false);
	map_clear(xdp_skel->maps.gw_src_track);
	map_clear(xdp_skel->maps.gw_src_halfopen);
	fx_events(NULL, 0);
	{
		struct datapath dp;

		fx_datapath(&dp);
		if (steer_set_tarpit(&dp, -1, -1))
			CHECK(0, "fixture: empty the tarpit slots");
	}
	/* A seed of its own for every case, as greywalld draws one per boot. */
	if (sweeper_flow_conf_init(fx_flow_conf_fd(), fx_flows_fd()))
		CHECK(0, "fixture: draw the flow table's seed");
	fx_extra_flags = 0;
	fx_rules(NULL, 0);
	mapindex_reset(&fx_index);
	fx_index_publish();
}

void fx_index_mode(bool on)
{
	fx_index_on = on;
	fx_index_publish();
}

void fx_set_flags(uint64_t flags)
{
	fx_extra_flags = flags;
	fx_index_publish();
}

static int entry_key(const char *text, struct bpf_map **map, uint8_t key[20])
{
	struct addr_prefix p;

	if (addr_parse(text, &p))
		return -EINVAL;
	if (addr_is_host(&p)) {
		*map = xdp_skel->maps.gw_hosts;
		addr_to_key(&p, (struct gw_addr *)key);
	} else if (p.family == AF_INET) {
		*map = xdp_skel->maps.gw_prefix4;
		addr_to_lpm4(&p, (struct gw_lpm4_key *)key);
	} else {
		*map = xdp_skel->maps.gw_prefix6;
		addr_to_lpm6(&p, (struct gw_lpm6_key *)key);
	}
	return 0;
}

int fx_put_slot(const char *addr, uint64_t tables, uint32_t slot)
{
	struct gw_entry e = { .tables = tables, .counter = slot };
	struct bpf_map *map;
	uint8_t key[20] = { 0 };

	struct addr_prefix p;
	int err;

	if (entry_key(addr, &map, key) || addr_parse(addr, &p))
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(map), key, &e, BPF_ANY))
		return -errno;
	err = addr_is_host(&p) ? mapindex_host(&fx_index, &p, true)
			       : mapindex_net(&fx_index, &p, tables, slot);
	if (!err)
		fx_index_publish();
	return err;
}

int fx_put(const char *addr, uint64_t tables)
{
	uint32_t slot;
	int err = counter_slots_take(&fx_slots, &slot);

	return err ? err : fx_put_slot(addr, tables, slot);
}

int fx_del(const char *addr)
{
	struct bpf_map *map;
	uint8_t key[20] = { 0 };
	struct addr_prefix p;
	struct gw_entry e;
	int err;

	if (entry_key(addr, &map, key) || addr_parse(addr, &p))
		return -EINVAL;
	if (bpf_map_lookup_elem(bpf_map__fd(map), key, &e) ||
	    bpf_map_delete_elem(bpf_map__fd(map), key))
		return -errno;
	counter_slots_give(&fx_slots, e.counter);
	/* The index follows, as tables.c's map_remove() has it. */
	err = addr_is_host(&p) ? mapindex_host(&fx_index, &p, false)
			       : mapindex_net(&fx_index, &p, 0, 0);
	if (!err)
		fx_index_publish();
	return err;
}

void fx_put_all(const struct fx_entry *entries)
{
	for (; entries && entries->addr; entries++)
		if (fx_put(entries->addr, entries->tables))
			CHECK(0, "fixture: put %s", entries->addr);
}

int fx_get(const char *addr, struct gw_entry *out)
{
	struct bpf_map *map;
	uint8_t key[20] = { 0 };

	if (entry_key(addr, &map, key))
		return -EINVAL;
	return bpf_map_lookup_elem(bpf_map__fd(map), key, out) ? -errno : 0;
}

int fx_counters(const char *addr, struct gw_counters *out)
{
	struct gw_entry e;
	int err = fx_get(addr, &e);

	memset(out, 0, sizeof(*out));
	return err ? err : counter_slots_read(&fx_slots, e.counter, out);
}

int fx_counters_cpu(const char *addr, int cpu, struct gw_counters *out)
{
	struct gw_counters values[fx_slots.ncpus];
	struct gw_entry e;
	int err = fx_get(addr, &e);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	if (!e.counter || cpu < 0 || cpu >= fx_slots.ncpus)
		return -ENOENT;
	if (bpf_map_lookup_elem(e.counter < fx_slots.array_slots
					? bpf_map__fd(xdp_skel->maps.gw_counters)
					: bpf_map__fd(xdp_skel->maps.gw_counters_spill),
				&e.counter, values))
		return -errno;
	*out = values[cpu];
	return 0;
}

void fx_config(enum gw_config_key key, uint64_t value)
{
	uint32_t k = key;

	bpf_map_update_elem(fx_config_fd(), &k, &value, BPF_ANY);
}

void fx_rules(const struct gw_rule *rules, int n)
{
	struct ruleindex_maps maps = { bpf_map__fd(xdp_skel->maps.gw_rule_index),
				       bpf_map__fd(xdp_skel->maps.gw_rule_ports),
				       bpf_map__fd(xdp_skel->maps.gw_rule_ifaces),
				       bpf_map__fd(xdp_skel->maps.gw_config),
				       bpf_map__fd(xdp_skel->maps.gw_flow_ports) };

	for (int i = 0; i < n; i++) {
		uint32_t k = (uint32_t)i;

		bpf_map_update_elem(bpf_map__fd(xdp_skel->maps.gw_rules), &k, &rules[i], BPF_ANY);
	}
	if (ruleindex_publish(&maps, rules, (uint32_t)n))
		CHECK(0, "fixture: compile %d rules", n);
	fx_config(GW_CFG_NRULES, (uint64_t)n);
}

struct gw_rule fx_rule(uint8_t action)
{
	struct gw_rule r = { .dport_lo = 0, .dport_hi = 65535, .action = action,
			     .overload_table = GW_NO_TABLE };

	return r;
}

uint64_t fx_stat(enum gw_stat stat)
{
	struct gw_stats sum;

	if (stats_read(bpf_map__fd(xdp_skel->maps.gw_stats), &sum))
		return ~0ULL;
	return sum.v[stat];
}

uint64_t fx_scrub_drops(void)
{
	return fx_stat(GW_STAT_TINY_FRAGMENT) + fx_stat(GW_STAT_FRAGMENT_OFFSET1) +
	       fx_stat(GW_STAT_IPV6_CHAIN) + fx_stat(GW_STAT_SHORT_HEADER);
}

/* As `greywallctl rules` computes them (evaluations derived from rule 0's count). */
struct gw_rule_stats fx_rule_stats(uint32_t idx)
{
	struct gw_rule_stats sum;
	struct datapath dp;

	fx_datapath(&dp);
	if (datapath_rule_stats(&dp, idx, &sum))
		return (struct gw_rule_stats){ ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL };
	return sum;
}

int fx_run_xdp(const void *pkt, size_t len, void *out, uint32_t *out_len)
{
	/*
	 * BPF_PROG_TEST_RUN wants at least an Ethernet header's worth of input,
	 * so shorter frames are given as metadata plus the frame: the program
	 * sees data..data_end of exactly len bytes.
	 */
	uint8_t buf[PKT_MAX + 16] = { 0 };
	uint8_t scratch[PKT_MAX + 16];
	struct xdp_md ctx = { 0 };
	uint32_t meta = len < 14 ? 16 : 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);
	int err;

	if (len > PKT_MAX)
		return -EINVAL;
	memcpy(buf + meta, pkt, len);
	opts.data_in = buf;
	opts.data_size_in = (uint32_t)(len + meta);
	opts.data_out = out ? out : scratch;
	opts.data_size_out = PKT_MAX;
	if (meta) {
		ctx.data = meta;
		ctx.data_end = (uint32_t)(len + meta);
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(xdp_skel->progs.greywall_xdp), &opts);
	if (err)
		return -errno;
	if (out_len)
		*out_len = opts.data_size_out;
	return (int)opts.retval;
}

int fx_run_sk_lookup(struct bpf_sk_lookup *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1, .ctx_in = ctx, .ctx_size_in = sizeof(*ctx),
		    .ctx_out = ctx, .ctx_size_out = sizeof(*ctx));

	if (bpf_prog_test_run_opts(bpf_program__fd(sk_skel->progs.greywall_sk_lookup), &opts))
		return -errno;
	return (int)opts.retval;
}

void fx_datapath(struct datapath *dp)
{
	memset(dp, 0, sizeof(*dp));
	dp->hosts = bpf_map__fd(xdp_skel->maps.gw_hosts);
	dp->prefix4 = bpf_map__fd(xdp_skel->maps.gw_prefix4);
	dp->prefix6 = bpf_map__fd(xdp_skel->maps.gw_prefix6);
	dp->rules = bpf_map__fd(xdp_skel->maps.gw_rules);
	dp->rule_stats = bpf_map__fd(xdp_skel->maps.gw_rule_stats);
	dp->stats = bpf_map__fd(xdp_skel->maps.gw_stats);
	dp->config = bpf_map__fd(xdp_skel->maps.gw_config);
	dp->index4 = bpf_map__fd(xdp_skel->maps.gw_index4);
	dp->classes = bpf_map__fd(xdp_skel->maps.gw_classes);
	dp->nets4 = bpf_map__fd(xdp_skel->maps.gw_nets4);
	dp->nets6 = bpf_map__fd(xdp_skel->maps.gw_nets6);
	dp->index6 = bpf_map__fd(xdp_skel->maps.gw_index6);
	dp->index6_slots = bpf_map__fd(xdp_skel->maps.gw_index6_slots);
	dp->rule_index = bpf_map__fd(xdp_skel->maps.gw_rule_index);
	dp->rule_ports = bpf_map__fd(xdp_skel->maps.gw_rule_ports);
	dp->rule_ifaces = bpf_map__fd(xdp_skel->maps.gw_rule_ifaces);
	dp->tarpit = bpf_map__fd(xdp_skel->maps.gw_tarpit);
	dp->outbound = bpf_map__fd(xdp_skel->maps.gw_outbound);
	dp->flows = bpf_map__fd(xdp_skel->maps.gw_flows);
	dp->src_track = bpf_map__fd(xdp_skel->maps.gw_src_track);
	dp->events = bpf_map__fd(xdp_skel->maps.gw_events);
	dp->flows = bpf_map__fd(xdp_skel->maps.gw_flows);
	dp->src_track = bpf_map__fd(xdp_skel->maps.gw_src_track);
	dp->events = bpf_map__fd(xdp_skel->maps.gw_events);
}

void fx_clock(uint64_t sec)
{
	fx_config(GW_CFG_CLOCK, sec);
}

int fx_flow_tick(uint64_t ns)
{
	return sweeper_flow_tick(fx_flow_conf_fd(), ns);
}

int fx_flow_tuple(const char *client, uint16_t cport, const char *server, uint16_t sport,
		  struct gw_flow_tuple *tuple)
{
	struct addr_prefix c, s;

	if (addr_parse(client, &c) || addr_parse(server, &s) || !addr_is_host(&c) ||
	    !addr_is_host(&s))
		return -EINVAL;
	memset(tuple, 0, sizeof(*tuple));
	addr_to_key(&c, &tuple->client);
	addr_to_key(&s, &tuple->server);
	tuple->client_port = cport;
	tuple->server_port = sport;
	return 0;
}

int fx_flow_home(const struct gw_flow_tuple *tuple, uint32_t *home)
{
	uint32_t mask;

	return sweeper_flow_home(fx_flow_conf_fd(), tuple, home, &mask);
}

int fx_flow_seed_word(uint32_t i, uint64_t value)
{
	struct gw_flow_seed seed;
	struct gw_flow_conf conf;
	uint32_t zero = 0;

	if (i >= GW_FLOW_SEED_WORDS || bpf_map_lookup_elem(fx_flow_conf_fd(), &zero, &conf))
		return -EINVAL;
	seed = conf.seed;
	seed.k[i] = value;
	gw_flow_conf_seed(&conf, &seed);
	return bpf_map_update_elem(fx_flow_conf_fd(), &zero, &conf, BPF_ANY) ? -errno : 0;
}

int fx_flow_get(const struct gw_flow_tuple *tuple, struct gw_flow *out)
{
	return sweeper_flow_get(fx_flows_fd(), fx_flow_conf_fd(), tuple, out, NULL);
}

int fx_flow_put(const struct gw_flow *flow)
{
	return sweeper_flow_put(fx_flows_fd(), fx_flow_conf_fd(), flow);
}

int fx_fill_flows(uint8_t state)
{
	uint32_t n = FX_FLOWS_MAX, *keys = calloc(n, sizeof(*keys));
	struct gw_flow *flows = calloc(n, sizeof(*flows));
	int err = 0;

	if (!keys || !flows) {
		err = -ENOMEM;
	} else {
		/* Clients in 192.0.2.0/24 port 1: no test connects from there. */
		for (uint32_t i = 0; i < n; i++) {
			keys[i] = i;
			flows[i] = (struct gw_flow){ .state = state, .last_ns = 1,
						     .tuple = { .client_port = 1,
								.server_port = (uint16_t)(i + 1) } };
			flows[i].tuple.client.bytes[10] = 0xff;
			flows[i].tuple.client.bytes[11] = 0xff;
			flows[i].tuple.client.bytes[12] = 192;
			flows[i].tuple.client.bytes[14] = 2;
		}
		if (bpf_map_update_batch(fx_flows_fd(), keys, flows, &n, NULL))
			err = -errno;
	}
	free(keys);
	free(flows);
	return err;
}

static int src_key(const char *addr, uint32_t rule, struct gw_src_key *key)
{
	struct addr_prefix p;

	if (addr_parse(addr, &p) || !addr_is_host(&p))
		return -EINVAL;
	memset(key, 0, sizeof(*key));
	addr_to_key(&p, &key->addr);
	key->rule = rule;
	return 0;
}

int fx_src_track_get(const char *addr, uint32_t rule, struct gw_src_track *out)
{
	struct gw_src_key key;

	if (src_key(addr, rule, &key))
		return -EINVAL;
	return bpf_map_lookup_elem(fx_src_track_fd(), &key, out) ? -errno : 0;
}

int fx_src_halfopen_get(const char *addr, uint32_t rule, struct gw_src_halfopen *out)
{
	struct gw_src_key key;

	if (src_key(addr, rule, &key))
		return -EINVAL;
	return bpf_map_lookup_elem(fx_src_halfopen_fd(), &key, out) ? -errno : 0;
}

int fx_src_track_put(const char *addr, uint32_t rule, const struct gw_src_track *track)
{
	struct gw_src_key key;

	if (src_key(addr, rule, &key))
		return -EINVAL;
	return bpf_map_update_elem(fx_src_track_fd(), &key, track, BPF_ANY) ? -errno : 0;
}

/* Where fx_events() wants the records the ring hands out. */
static struct {
	struct gw_event *out;
	int max;
	int n;
} fx_taken;

static int take_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size == sizeof(struct gw_event) && fx_taken.n < fx_taken.max)
		memcpy(&fx_taken.out[fx_taken.n], data, size);
	fx_taken.n++;
	return 0;
}

int fx_events(struct gw_event *out, int max)
{
	fx_taken.out = out;
	fx_taken.max = out ? max : 0;
	fx_taken.n = 0;
	if (ring_buffer__consume(fx_ring) < 0)
		return -EIO;
	return fx_taken.n;
}

int fx_fill_map(int fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), n;
	uint8_t *keys, *values;
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	n = info.max_entries;
	keys = calloc(n, info.key_size);
	values = calloc(n, info.value_size);
	if (!keys || !values) {
		err = -ENOMEM;
	} else {
		/* The first bytes count up from 1: no key a test uses starts like that. */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t v = htonl(i + 1);

			memcpy(keys + (size_t)i * info.key_size, &v, sizeof(v));
		}
		if (bpf_map_update_batch(fd, keys, values, &n, NULL))
			err = -errno;
	}
	free(keys);
	free(values);
	return err;
}

int fx_flows_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.gw_flows);
}

int fx_flow_conf_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.data_flowconf);
}

int fx_src_track_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.gw_src_track);
}

int fx_src_halfopen_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.gw_src_halfopen);
}

int fx_run_tc(const void *pkt, size_t len)
{
	return fx_run_tc_skb(pkt, len, NULL);
}

int fx_run_tc_skb(const void *pkt, size_t len, struct __sk_buff *skb)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1, .ctx_in = skb, .ctx_out = skb,
		    .ctx_size_in = skb ? sizeof(*skb) : 0, .ctx_size_out = skb ? sizeof(*skb) : 0);
	uint8_t out[PKT_MAX + 64];

	opts.data_in = pkt;
	opts.data_size_in = (uint32_t)len;
	opts.data_out = out;
	opts.data_size_out = sizeof(out);
	if (bpf_prog_test_run_opts(bpf_program__fd(tc_skel->progs.greywall_tc_egress), &opts))
		return -errno;
	return (int)opts.retval;
}

static const char *verdict_name(int v)
{
	static const char *names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
				       "XDP_REDIRECT" };

	return v >= 0 && v <= 4 ? names[v] : "error";
}

static const char *stat_name(int stat)
{
#define STAT_NAME(s) [GW_STAT_##s] = #s
	static const char *names[GW_STAT_MAX] = {
		STAT_NAME(PACKETS), STAT_NAME(PASS), STAT_NAME(DROP), STAT_NAME(NON_IP),
		STAT_NAME(UNPARSED), STAT_NAME(IPV6_EXT), STAT_NAME(FRAGMENT), STAT_NAME(HOST_HIT),
		STAT_NAME(PREFIX_HIT), STAT_NAME(OUT_PACKETS), STAT_NAME(STEER_TARPIT),
		STAT_NAME(STEER_PASS), STAT_NAME(STEER_NO_TARPIT), STAT_NAME(STEER_LOCAL),
		STAT_NAME(OUTBOUND_SMTP), STAT_NAME(FLOWS_FULL), STAT_NAME(SRC_TRACK_FULL),
		STAT_NAME(HANDSHAKES), STAT_NAME(BAD_ACK), STAT_NAME(OVERLOAD_DROPS),
		STAT_NAME(FLOW_KILLED_DROPS), STAT_NAME(RETURN_RST), STAT_NAME(RETURN_ICMP),
		STAT_NAME(EVENTS_LOST), STAT_NAME(FLOWS_EVICTED), STAT_NAME(FLOWS_FULL_DROPS),
		STAT_NAME(SRC_STATES_DROPS), STAT_NAME(TINY_FRAGMENT), STAT_NAME(FRAGMENT_OFFSET1),
		STAT_NAME(IPV6_CHAIN), STAT_NAME(SHORT_HEADER),
	};
#undef STAT_NAME

	return stat >= 0 && stat < GW_STAT_MAX && names[stat] ? names[stat] : "?";
}

static void run_case_mode(const struct xdp_case *c, bool index)
{
	char desc[300];
	uint8_t pkt[PKT_MAX];
	size_t len;
	int verdict;

	snprintf(desc, sizeof(desc), "%s [%s]", c->desc, index ? "index" : "no index");
	fx_reset();
	fx_index_on = index;
	fx_put_all(c->before);
	if (c->nrules)
		fx_rules(c->rules, c->nrules);
	fx_set_flags(c->cfg_flags);
	fx_config(GW_CFG_COUNTER_TABLES, c->counter_tables);
	len = pkt_build(&c->pkt, pkt, NULL);
	if (!len) {
		CHECK(0, "%s: packet builds", desc);
		return;
	}
	if (c->trunc)
		len = c->trunc < len ? c->trunc : len;
	verdict = fx_run_xdp(pkt, len, NULL, NULL);
	CHECK(verdict == c->verdict, "%s: %s (got %s, %d)", desc,
	      verdict_name(c->verdict), verdict_name(verdict), verdict);
	for (const struct fx_stat_expect *e = c->stats; e->stat; e++)
		CHECK_INT(fx_stat(e->stat - 1), e->value, "%s: GW_STAT_%s", desc,
			  stat_name(e->stat - 1));
	CHECK_INT(fx_stat(GW_STAT_PASS) + fx_stat(GW_STAT_DROP) + (verdict == XDP_TX),
		  fx_stat(GW_STAT_PACKETS), "%s: pass + drop + tx = packets", desc);
	for (const struct fx_counter_expect *e = c->counters; e->addr; e++) {
		struct gw_counters counted;
		bool ok;

		if (fx_counters(e->addr, &counted)) {
			CHECK(0, "%s: entry %s still present", desc, e->addr);
			continue;
		}
		ok = true;
		for (int d = 0; d < GW_DIR_MAX; d++) {
			uint64_t p = d == e->dir ? e->packets : 0;

			ok = ok && counted.packets[d] == p && counted.bytes[d] == p * len;
		}
		CHECK(ok, "%s: counters of %s (dir %d: %llu packets / %llu bytes)", desc,
		      e->addr, e->dir, (unsigned long long)counted.packets[e->dir],
		      (unsigned long long)counted.bytes[e->dir]);
	}
	for (const struct fx_rule_expect *e = c->rule_stats; e->rule; e++) {
		struct gw_rule_stats st = fx_rule_stats((uint32_t)e->rule - 1);

		CHECK(st.evaluations == e->evaluations && st.matches == e->matches &&
			      st.packets == e->matches && st.bytes == e->matches * len,
		      "%s: rule %d stats (evaluations %llu, matches %llu, packets %llu, bytes %llu)",
		      desc, e->rule - 1, (unsigned long long)st.evaluations,
		      (unsigned long long)st.matches, (unsigned long long)st.packets,
		      (unsigned long long)st.bytes);
	}
}

/* Every case runs through the first-level index and through the fallback path. */
void fx_run_case(const struct xdp_case *c)
{
	run_case_mode(c, true);
	run_case_mode(c, false);
	fx_index_on = true;
}

int fx_rules_fd(void)
{
	return bpf_map__fd(xdp_skel->maps.gw_rules);
}

int fx_xdp_prog_fd(void)
{
	return bpf_program__fd(xdp_skel->progs.greywall_xdp);
}

/* Make an opened object use the XDP object's maps, as the pins do in the daemon. */
static int share_xdp_maps(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map *shared =
			bpf_object__find_map_by_name(xdp_skel->obj, bpf_map__name(map));
		int err;

		if (!shared)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(shared));
		if (err)
			return err;
	}
	return 0;
}

/* Load the XDP object, then the TC and sk_lookup objects on the XDP object's maps. */
static int fixture_setup(void)
{
	int err;

	xdp_skel = gw_xdp__open();
	if (!xdp_skel)
		return -errno;
	/* Small flow tables and ring: the cases that fill them stay quick. */
	err = bpf_map__set_max_entries(xdp_skel->maps.gw_flows, FX_FLOWS_MAX);
	if (!err)
		err = bpf_map__set_max_entries(xdp_skel->maps.gw_src_track, FX_FLOWS_MAX);
	if (!err)
		err = bpf_map__set_max_entries(xdp_skel->maps.gw_events, FX_EVENTS_BYTES);
	if (!err)
		err = bpf_map__set_max_entries(xdp_skel->maps.gw_counters, FX_COUNTER_ARRAY);
	if (!err)
		err = gw_xdp__load(xdp_skel);
	if (err)
		return err;
	tc_skel = gw_tc_egress__open();
	if (!tc_skel)
		return -errno;
	sk_skel = gw_sk_lookup__open();
	if (!sk_skel)
		return -errno;
	err = share_xdp_maps(tc_skel->obj);
	if (!err)
		err = share_xdp_maps(sk_skel->obj);
	if (!err)
		err = gw_tc_egress__load(tc_skel);
	if (!err)
		err = gw_sk_lookup__load(sk_skel);
	if (err)
		return err;
	{
		struct mapindex_maps maps = { bpf_map__fd(xdp_skel->maps.gw_index4),
					      bpf_map__fd(xdp_skel->maps.gw_classes),
					      bpf_map__fd(xdp_skel->maps.gw_index6),
					      bpf_map__fd(xdp_skel->maps.gw_config),
					      bpf_map__fd(xdp_skel->maps.gw_nets4),
					      bpf_map__fd(xdp_skel->maps.gw_nets6),
					      bpf_map__fd(xdp_skel->maps.gw_index6_slots) };

		err = mapindex_init(&fx_index, &maps);
	}
	if (!err)
		err = counter_slots_init(&fx_slots, bpf_map__fd(xdp_skel->maps.gw_counters),
					 bpf_map__fd(xdp_skel->maps.gw_counters_spill));
	if (err)
		return err;
	fx_ring = ring_buffer__new(bpf_map__fd(xdp_skel->maps.gw_events), take_event, NULL, NULL);
	return fx_ring ? 0 : -errno;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const typeof(selftests[0]) *)a)->name,
		      ((const typeof(selftests[0]) *)b)->name);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int err;

	if (geteuid() != 0) {
		printf("not ok 1 - test_progs needs root (BPF_PROG_TEST_RUN)\n1..1\n");
		return 1;
	}
	libbpf_set_print(libbpf_print);
	ncpus = libbpf_num_possible_cpus();
	err = fixture_setup();
	CHECK(!err, "fixture: load gw_xdp, gw_tc_egress and gw_sk_lookup on shared maps (err %d)",
	      err);
	if (err)
		return check_done();
	CHECK(nselftests > 0, "%d selftests registered", nselftests);
	qsort(selftests, (size_t)nselftests, sizeof(selftests[0]), compare_names);
	for (int i = 0; i < nselftests; i++) {
		if (only && !strstr(selftests[i].name, only)) {
			printf("# %s: not selected\n", selftests[i].name);
			continue;
		}
		printf("# %s\n", selftests[i].name);
		fx_reset();
		selftests[i].fn();
	}
	ring_buffer__free(fx_ring);
	gw_sk_lookup__destroy(sk_skel);
	gw_tc_egress__destroy(tc_skel);
	gw_xdp__destroy(xdp_skel);
	return check_done();
}
