// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The text of /metrics: see render.h. Each family reads the counter
 * greywallctl prints, through the same accessor; nothing here counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowdsec/crowdsec.h"
#include "daemon/daemon.h"
#include "datapath/sweeper.h"
#include "metrics/metrics.h"
#include "metrics/render.h"
#include "policy/policy.h"
#include "spamd/spamd.h"
#include "sync/sync.h"
#include "watch/watch.h"

/* The data path's counters that have a family of their own below. */
static bool stat_has_family(enum gw_stat s)
{
	return s == GW_STAT_PACKETS || s == GW_STAT_OUT_PACKETS || s == GW_STAT_PASS ||
	       s == GW_STAT_DROP || s == GW_STAT_FLOWS_CREATED || s == GW_STAT_FLOWS_FULL ||
	       s == GW_STAT_EVENTS_LOST;
}

static void render_datapath(struct daemon *d, struct expo *e)
{
	const struct datapath *dp = &d->dp;
	struct sweeper_fill fill;

	expo_family(e, "greywall_packets_total", EXPO_COUNTER,
		    "Packets the data path saw, by direction (XDP ingress, TC egress).");
	expo_sample2(e, "direction", "in", NULL, NULL, datapath_stat(dp, GW_STAT_PACKETS));
	expo_sample2(e, "direction", "out", NULL, NULL, datapath_stat(dp, GW_STAT_OUT_PACKETS));
	expo_family(e, "greywall_packets_verdict_total", EXPO_COUNTER,
		    "Inbound packets by the data path's verdict.");
	expo_sample2(e, "verdict", "pass", NULL, NULL, datapath_stat(dp, GW_STAT_PASS));
	expo_sample2(e, "verdict", "drop", NULL, NULL, datapath_stat(dp, GW_STAT_DROP));
	expo_family(e, "greywall_datapath_events_total", EXPO_COUNTER,
		    "The data path's other counters, named as greywallctl stats names them.");
	for (int i = 0; i < GW_STAT_MAX; i++)
		if (!stat_has_family((enum gw_stat)i))
			expo_sample2(e, "event", datapath_stat_name((enum gw_stat)i), NULL, NULL,
				     datapath_stat(dp, (enum gw_stat)i));
	expo_family(e, "greywall_flows_created_total", EXPO_COUNTER,
		    "TCP flows the flow table began tracking.");
	expo_sample(e, NULL, 0, datapath_stat(dp, GW_STAT_FLOWS_CREATED));
	expo_family(e, "greywall_flows_refused_total", EXPO_COUNTER,
		    "New flows refused because the flow table was full.");
	expo_sample(e, NULL, 0, datapath_stat(dp, GW_STAT_FLOWS_FULL));
	expo_family(e, "greywall_ringbuf_events_lost_total", EXPO_COUNTER,
		    "Overload events the data path could not put into the ring buffer.");
	expo_sample(e, NULL, 0, datapath_stat(dp, GW_STAT_EVENTS_LOST));
	expo_family(e, "greywall_overload_events_applied_total", EXPO_COUNTER,
		    "Overload events read from the ring buffer and applied to the tables.");
	expo_sample(e, NULL, 0, d->overload.applied);
	if (sweeper_flow_fill(dp->flows, &fill))
		return;
	expo_family(e, "greywall_flow_slots", EXPO_GAUGE, "Slots of the flow table.");
	expo_sample(e, NULL, 0, fill.slots);
	expo_family(e, "greywall_flows", EXPO_GAUGE, "Flows tracked, by state.");
	expo_sample2(e, "state", "half-open", NULL, NULL, fill.halfopen);
	expo_sample2(e, "state", "established", NULL, NULL, fill.established);
	expo_sample2(e, "state", "closing", NULL, NULL, fill.closing);
	expo_sample2(e, "state", "killed", NULL, NULL, fill.killed);
}

/* One of the per-table sums' families: packets or bytes of each counters table's entries. */
static void render_table_sums(const struct tables *t, struct expo *e, bool bytes)
{
	static const char *const dir[GW_DIR_MAX] = { "in", "in", "out", "out" };
	static const char *const action[GW_DIR_MAX] = { "block", "pass", "block", "pass" };

	for (size_t i = 0; i < t->ntables; i++) {
		const struct gw_counters *c = &t->counter_sums[i];

		if (!(t->counted_tables & (1ULL << i)) ||
		    (t->table[i].flags & CONFIG_TABLE_ANONYMOUS))
			continue;
		for (int k = 0; k < GW_DIR_MAX; k++) {
			struct expo_label l[3] = { { "table", t->table[i].name },
						   { "direction", dir[k] },
						   { "action", action[k] } };

			expo_sample(e, l, 3, bytes ? c->bytes[k] : c->packets[k]);
		}
	}
}

static void render_tables(struct daemon *d, struct expo *e)
{
	const struct tables *t = &d->tables;

	expo_family(e, "greywall_table_entries", EXPO_GAUGE,
		    "Entries of the table, hosts and networks.");
	for (size_t i = 0; i < t->ntables; i++) {
		const struct table *tb = &t->table[i];

		if (tb->flags & CONFIG_TABLE_ANONYMOUS)
			continue;
		expo_sample2(e, "table", tb->name, "kind", "host", tb->nhosts);
		expo_sample2(e, "table", tb->name, "kind", "network", tb->nprefixes);
	}
	expo_family(e, "greywall_table_refused_total", EXPO_COUNTER,
		    "Additions the table refused because it or the data path's map was full.");
	for (size_t i = 0; i < t->ntables; i++)
		if (!(t->table[i].flags & CONFIG_TABLE_ANONYMOUS))
			expo_sample2(e, "table", t->table[i].name, NULL, NULL,
				     t->table[i].refused_full);
	expo_family(e, "greywall_table_additions_total", EXPO_COUNTER,
		    "Entries added to the tables since start, by the source of their evidence.");
	for (size_t i = 0; i < TABLES_SOURCES; i++)
		expo_sample2(e, "reason", tables_source_names[i], NULL, NULL, t->added[i]);
	/*
	 * The data path counts per entry, not per table: the sums are those
	 * of the walk that notes the entries' last-seen time (every minute
	 * and at each dump), none before the first.
	 */
	if (!t->counter_sums_at || !t->counted_tables)
		return;
	expo_family(e, "greywall_table_packets", EXPO_GAUGE,
		    "Packets of a counters table's current entries, summed, as of "
		    "greywall_table_counters_time_seconds (falls when an entry leaves).");
	render_table_sums(t, e, false);
	expo_family(e, "greywall_table_bytes", EXPO_GAUGE,
		    "Bytes of a counters table's current entries, summed, as of "
		    "greywall_table_counters_time_seconds.");
	render_table_sums(t, e, true);
	expo_family(e, "greywall_table_counters_time_seconds", EXPO_GAUGE,
		    "When the per-table sums were taken, in seconds since the epoch.");
	expo_sample(e, NULL, 0, (uint64_t)t->counter_sums_at);
}

/* Each written rule's counters: its compiled parts (expanded port lists) summed. */
static void render_rules(struct daemon *d, struct expo *e)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} families[] = {
		{ "greywall_rule_matches_total", "Packets the rule matched.",
		  offsetof(struct gw_rule_stats, matches) },
		{ "greywall_rule_packets_total", "Packets the rule decided (it was the last match).",
		  offsetof(struct gw_rule_stats, packets) },
		{ "greywall_rule_bytes_total", "Bytes of the packets the rule decided.",
		  offsetof(struct gw_rule_stats, bytes) },
		{ "greywall_rule_overloads_total",
		  "Overload events of the rule: sources over its max-src-conn limits.",
		  offsetof(struct gw_rule_stats, overloads) },
	};
	size_t n = d->cfg.nrules;
	struct gw_rule_stats *sums = calloc(n ? n : 1, sizeof(*sums));

	if (!sums) {
		e->err = e->err ? e->err : -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t first = i;
		struct gw_rule_stats s;

		while (first > 0 && d->cfg.rules[first - 1].number == d->cfg.rules[i].number)
			first--;
		if (i >= GW_MAX_RULES || datapath_rule_counters(&d->dp, (uint32_t)i, &s))
			continue;
		sums[first].matches += s.matches;
		sums[first].packets += s.packets;
		sums[first].bytes += s.bytes;
		sums[first].overloads += s.overloads;
	}
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		expo_family(e, families[f].name, EXPO_COUNTER, families[f].help);
		for (size_t i = 0; i < n; i++) {
			char number[16];

			if (i > 0 && d->cfg.rules[i - 1].number == d->cfg.rules[i].number)
				continue;
			snprintf(number, sizeof(number), "%d", d->cfg.rules[i].number);
			expo_sample2(e, "rule", number, NULL, NULL,
				     *(const uint64_t *)((const char *)&sums[i] + families[f].offset));
		}
	}
	free(sums);
}

static void render_endpoint(struct daemon *d, struct expo *e, const struct metrics *m)
{
	char version[32];

	snprintf(version, sizeof(version), "%s", GREYWALL_VERSION);
	expo_family(e, "greywall_build_info", EXPO_GAUGE, "greywalld's version, as a label.");
	expo_sample2(e, "version", version, NULL, NULL, 1);
	expo_family(e, "greywall_start_time_seconds", EXPO_GAUGE,
		    "When greywalld started, in seconds since the epoch.");
	expo_sample(e, NULL, 0, (uint64_t)d->started);
	if (!m)
		return;
	expo_family(e, "greywall_metrics_scrapes_total", EXPO_COUNTER,
		    "Scrapes the metrics child asked the parent to answer.");
	expo_sample(e, NULL, 0, m->scrapes);
	expo_family(e, "greywall_metrics_child_restarts_total", EXPO_COUNTER,
		    "Metrics children started after the first.");
	expo_sample(e, NULL, 0, m->child.restarts);
}

int metrics_render(struct daemon *d, struct expo *e, const struct metrics *m)
{
	expo_reset(e);
	render_endpoint(d, e, m);
	render_datapath(d, e);
	render_tables(d, e);
	render_rules(d, e);
	spamd_metrics(d, e);
	policy_metrics(d, e);
	sync_metrics(d, e);
	crowdsec_metrics(d, e);
	watch_metrics(d, e);
	return e->err;
}
