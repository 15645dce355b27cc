/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The data path's lifecycle: load the BPF objects with their maps pinned
 * under the bpf-dir (reusing the pins of an earlier run), attach XDP
 * through libxdp, the TC egress program, and the sk_lookup program on the
 * daemon's network namespace (through a link pinned in the bpf-dir), and
 * detach it all again. Programs stay attached and maps pinned when
 * greywalld exits.
 */
#ifndef __GREYWALL_DATAPATH_H
#define __GREYWALL_DATAPATH_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "greywall.h"

/* The TC filter's handle and priority on clsact egress. */
#define DATAPATH_TC_HANDLE 0x6777
#define DATAPATH_TC_PRIORITY 0x6777

/* The sk_lookup link's pin in the bpf-dir: it keeps the program attached. */
#define DATAPATH_SK_LOOKUP_LINK "link_sk_lookup"

struct gw_xdp;
struct gw_tc_egress;
struct xdp_program;

struct datapath {
	char bpf_dir[PATH_MAX];
	char stale_maps[512];	/* maps datapath_attach() made anew: older layout */
	bool replace;		/* the attached programs are another build's, or use old maps */
	bool attach_deferred;	/* datapath_attach_deferred() attaches them */
	struct gw_xdp *xdp;
	struct gw_tc_egress *tc;
	struct xdp_program *xdp_prog;
	int hosts;
	int prefix4;
	int prefix6;
	int counters;
	int counters_spill;
	int rules;
	int rule_stats;
	int stats;
	int config;
	int index4;
	int classes;
	int nets4;
	int nets6;
	int index6;
	int index6_slots;
	int rule_index;
	int rule_ports;
	int rule_ifaces;
	int tarpit;
	int outbound;
	int flows;
	int flow_conf;
	int flow_ports;
	int src_track;
	int src_halfopen;
	int events;
};

struct datapath_link {
	char ifname[IF_NAMESIZE];
	int ifindex;
	const char *xdp_mode;	/* "native", "generic", "offload", or NULL */
	bool xdp_attached;
	bool xdp_dispatcher;	/* through libxdp's dispatcher, not alone */
	bool tc_attached;
	uint32_t xdp_prog_id;
};

/*
 * Open the maps only (pinned by an earlier start): for tools and for
 * status when the daemon is not running. Returns 0 or -errno.
 */
int datapath_open_pinned(struct datapath *dp, const char *bpf_dir);

/*
 * Load the programs, creating or reusing the pinned maps, attach XDP and
 * TC to every configured interface and sk_lookup to the calling process's
 * network namespace (it steers nothing while GW_CFG_SPAMD_PORT is 0).
 * Pinned maps of another layout (left by an older build) are made anew,
 * and named in dp->stale_maps; then the programs are not attached yet (the
 * old ones go on enforcing from the old maps): fill the maps, then call
 * datapath_attach_deferred().
 * Programs of the same build that are already attached are left in place;
 * another build is replaced without a gap.
 * err gets a message on failure. Returns 0 or -errno.
 */
int datapath_attach(struct datapath *dp, const struct config *cfg, char *err, size_t errlen);

/* buf = dir/name, the path of a pin in the bpf-dir. 0 or -ENAMETOOLONG. */
int datapath_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* The attach datapath_attach() left for after the maps were filled, if any. 0 or -errno. */
int datapath_attach_deferred(struct datapath *dp, const struct config *cfg, char *err,
			     size_t errlen);

/* Close file descriptors; attachments and pins stay. */
void datapath_close(struct datapath *dp);

/*
 * Remove greywall's programs from the interfaces and the namespace, unpin
 * the maps and remove the bpf-dir. Returns 0 or -errno (the first error).
 */
int datapath_detach(const struct config *cfg, char *err, size_t errlen);

/* What is attached on one interface. Returns 0 or -errno. */
int datapath_link_status(const char *ifname, struct datapath_link *out);

/* Set one runtime setting in the config map. Returns 0 or -errno. */
int datapath_set_config(const struct datapath *dp, enum gw_config_key key, uint64_t value);

/* Write the compiled rules and the runtime config. Returns 0 or -errno. */
int datapath_set_rules(struct datapath *dp, const struct config *cfg);

/* Sum of a percpu stats counter. */
uint64_t datapath_stat(const struct datapath *dp, enum gw_stat stat);
/* A counter's name in `greywallctl stats` and the metrics: "dropped", "flows-full", ... */
const char *datapath_stat_name(enum gw_stat stat);
int datapath_rule_stats(const struct datapath *dp, uint32_t index, struct gw_rule_stats *out);
/*
 * Rule index's own counters, summed over the CPUs, without
 * datapath_rule_stats()'s walk of the rules before it for evaluations
 * (which the data path counts on rule 0 only). Returns 0 or -errno.
 */
int datapath_rule_counters(const struct datapath *dp, uint32_t index, struct gw_rule_stats *out);

#endif /* __GREYWALL_DATAPATH_H */
