/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The flow sweeper: keeps gw_flows and gw_src_track bounded. The
 * data path creates flows and source entries but never times them out;
 * greywalld calls sweeper_run() every second, which deletes flows idle
 * longer than PF's default timeout for their state (a counted flow gives
 * its slot back to its source first) and source entries that count
 * nothing any more.
 *
 * The state timeouts are PF's defaults (pf.conf(5), `set timeout`), mapped
 * onto greywall's states as PF's own state machine uses them:
 *   GW_FLOW_SYN          tcp.first        120 s  (only the client's SYN seen)
 *   GW_FLOW_SYNACK       tcp.opening       30 s  (the server answered, no ACK yet)
 *   GW_FLOW_ESTABLISHED  tcp.established 86400 s
 *   GW_FLOW_CLOSING      tcp.closed        90 s
 *   GW_FLOW_KILLED       tcp.closed        90 s  (from the flush)
 * The data path does not tell one FIN from two, or a FIN from an RST, so
 * CLOSING cannot follow PF's tcp.closing (900 s) / tcp.finwait (45 s)
 * split; a closing flow holds no slot and blocks nothing, so it only needs
 * to outlive retransmitted FINs and RSTs, which tcp.closed covers.
 *
 * PF's adaptive timeouts, on the flows that give way to a new SYN (SYN,
 * SYNACK, CLOSING): once more than SWEEPER_ADAPTIVE_START percent of the
 * slots hold flows, their timeouts shrink linearly towards 0 at
 * SWEEPER_ADAPTIVE_END percent (PF's defaults, 60% and 120% of the state
 * limit): a full table keeps a third of them. Established and killed
 * flows keep theirs.
 */
#ifndef __GREYWALL_SWEEPER_H
#define __GREYWALL_SWEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "greywall.h"

enum sweeper_timeout {
	SWEEPER_TCP_FIRST = 120,
	SWEEPER_TCP_OPENING = 30,
	SWEEPER_TCP_ESTABLISHED = 86400,
	SWEEPER_TCP_CLOSED = 90,
};

#define SWEEPER_NSEC 1000000000ULL
#define SWEEPER_ADAPTIVE_START 60
#define SWEEPER_ADAPTIVE_END 120

/* How full gw_flows is: its slots by what they hold. */
struct sweeper_fill {
	size_t slots;
	size_t free;
	size_t halfopen;		/* SYN or SYNACK */
	size_t established;
	size_t closing;
	size_t killed;
};

struct sweeper_result {
	struct sweeper_fill fill;	/* before the sweep, which the timeouts adapted to */
	size_t flows;			/* flows seen */
	size_t flows_expired;		/* deleted */
	size_t slots_released;		/* of those, counted ones whose slot was given back */
	size_t sources;			/* source entries seen */
	size_t sources_deleted;
};

/*
 * The data path's clock in nanoseconds: GW_CFG_CLOCK seconds when a test
 * set it, else CLOCK_MONOTONIC (bpf_ktime_get_coarse_ns()).
 */
uint64_t sweeper_clock_ns(int config_fd);

/* The timeout of a flow state in seconds (0 for a state the data path never writes). */
uint32_t sweeper_flow_timeout(uint8_t state);

/*
 * The timeout of a flow state in seconds with the table as full as fill
 * says (PF's adaptive timeouts, see above).
 */
uint32_t sweeper_flow_timeout_adaptive(uint8_t state, const struct sweeper_fill *fill);

/* Count the slots of gw_flows (flows_fd) by what they hold. 0 or -errno. */
int sweeper_flow_fill(int flows_fd, struct sweeper_fill *out);

/*
 * PF's max-src-conn-rate count at now_s (whole seconds, data-path clock)
 * for a count last updated at last_s, over a window of `seconds`: 0 once a
 * whole window has passed, else count - count * elapsed / seconds.
 */
uint32_t sweeper_rate_decayed(uint32_t count, uint64_t last_s, uint64_t now_s, uint32_t seconds);

/*
 * Give gw_flows (flows_fd, max_entries a power of two) its seed and size
 * in gw_flow_conf (conf_fd): a random seed when the map holds none yet,
 * else the one it holds, which the flows in gw_flows were placed with.
 * Before the data path is attached. 0, -EINVAL (size) or -errno.
 */
int sweeper_flow_conf_init(int conf_fd, int flows_fd);

/*
 * Give the data path the clock (gw_flow_conf.tick_ns), now_ns from
 * sweeper_clock_ns(); greywalld does it every second, before its sweep.
 * 0 or -errno.
 */
int sweeper_flow_tick(int conf_fd, uint64_t now_ns);

/* The home slot of tuple in gw_flows, and the slot mask, under conf_fd. 0 or -errno. */
int sweeper_flow_home(int conf_fd, const struct gw_flow_tuple *tuple, uint32_t *home,
		      uint32_t *mask);

/*
 * The flow of tuple, looked for in its GW_FLOW_PROBE slots, and the slot it
 * is in (slot may be NULL): 0, -ENOENT, -errno.
 */
int sweeper_flow_get(int flows_fd, int conf_fd, const struct gw_flow_tuple *tuple,
		     struct gw_flow *out, uint32_t *slot);

/*
 * Write flow into the slot of its tuple's flow, else into the first free
 * one of its slots. 0, -ENOSPC (all its slots hold other flows), -errno.
 */
int sweeper_flow_put(int flows_fd, int conf_fd, const struct gw_flow *flow);

/*
 * Read slot again into *flow, if it still holds flow's tuple: the data
 * path may have moved it on since a batch read it. 0, -ENOENT, -errno.
 */
int sweeper_flow_reread(int flows_fd, uint32_t slot, struct gw_flow *flow);

/* Make slot free (all zero). 0 or -errno. */
int sweeper_flow_free(int flows_fd, uint32_t slot);

/*
 * Give a counted flow's connection slot back to its source (conns - 1, never
 * below 0) and clear its counted flag in *flow (the caller writes the flow
 * back or deletes it). Returns 1 when a slot was released, 0 when the flow
 * was not counted, -errno.
 */
int sweeper_release(int src_track_fd, struct gw_flow *flow);

/*
 * Give a flow's half-open count back to its source in gw_src_halfopen
 * (halfopen_fd; count - 1, never below 0) and clear its halfopen flag in
 * *flow, as sweeper_release() does conns. Returns 1, 0 (it held none) or
 * -errno. Not atomic against the data path: a take lost in the race is
 * a bound one flow looser, until the count goes stale
 * (GW_SRC_HALFOPEN_STALE).
 */
int sweeper_release_halfopen(int halfopen_fd, struct gw_flow *flow);

/*
 * Visit every entry of a map, in batches; cb may update or delete the
 * entry it is given. lookup_flags: BPF_F_LOCK for maps with a spin lock.
 * A non-zero cb return stops the walk and is returned; else 0 or -errno.
 */
typedef int (*sweeper_visit_cb)(void *ctx, const void *key, void *value);
int sweeper_map_foreach(int fd, size_t key_size, size_t value_size, uint64_t lookup_flags,
			sweeper_visit_cb cb, void *ctx);

/*
 * Visit the flows of gw_flows (key: the __u32 slot; value: a copy of the
 * slot), read in place (the map is BPF_F_MMAPABLE), as sweeper_map_foreach;
 * free slots and slots a SYN is still writing are skipped. A callback that
 * writes a slot re-reads it first (sweeper_flow_reread()).
 */
int sweeper_flow_foreach(int flows_fd, sweeper_visit_cb cb, void *ctx);

/*
 * One sweep at now_ns (sweeper_clock_ns()): expire flows (their timeouts
 * adapted to how full the table is; their counts given back, the
 * half-open ones to halfopen_fd), then delete the source entries with no
 * connection, a rate count decayed to 0 (the window of their rule in cfg)
 * and no overload pending. Returns 0 or -errno.
 */
int sweeper_run(int flows_fd, int src_track_fd, int halfopen_fd, const struct config *cfg,
		uint64_t now_ns, struct sweeper_result *out);

/*
 * What greywalld's sweeps know between two of them: whether gw_flows may
 * hold a flow. Zeroed: nothing known yet (flows pinned by an earlier run).
 */
struct sweeper_watch {
	bool empty;		/* the last sweep read the table and left no flow in it */
	uint64_t created;	/* GW_STAT_FLOWS_CREATED, read before that sweep */
};

/*
 * sweeper_run(), without reading the flow table while it is known empty:
 * an idle greywalld reads one counter a second, not 8 MiB of slots.
 * GW_STAT_FLOWS_CREATED (stats_fd, summed over the CPUs) is read before the
 * sweep; unchanged since a sweep that left no flow, no flow has been made
 * since. The data path counts a flow after writing it, so a flow the last
 * sweep's pass missed (written behind it) had not been counted when the
 * count was read: the count has moved since, and this sweep reads the
 * table. Source entries are swept either way. *skipped: the flow table was
 * not read. Returns 0 or -errno.
 */
int sweeper_run_watched(struct sweeper_watch *w, int stats_fd, int flows_fd, int src_track_fd,
			int halfopen_fd, const struct config *cfg, uint64_t now_ns,
			struct sweeper_result *out, bool *skipped);

/*
 * After a reload: new_index[i] is the new compiled index of old rule i, or
 * -1 when that rule is gone (sweeper_rule_map()). Flows and source entries
 * of kept rules follow their rule; those of vanished rules are deleted. A
 * half-open flow whose rule moves gives its half-open count back (it is
 * kept under the old index).
 * Returns 0 or the first -errno.
 */
int sweeper_remap_rules(int flows_fd, int src_track_fd, int halfopen_fd, const int *new_index,
			size_t nold);

/*
 * Match the rules of old to those of new: a rule keeps its tracking when
 * the new config has it as written (the same text, and for a rule with a
 * port list the same port), wherever it moved; the first unclaimed match
 * in order wins. Fills new_index[0..old->nrules) (at most GW_MAX_RULES). Returns true when any
 * rule moved or vanished (the maps need sweeper_remap_rules()).
 */
bool sweeper_rule_map(const struct config *old, const struct config *new, int *new_index);

#endif /* __GREYWALL_SWEEPER_H */
