/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Queues (greywall.conf(5), QUEUES) as the kernel's HTB: on each interface a root
 * `htb` qdisc (handle QUEUES_HANDLE:, no default class: traffic that no
 * program classified leaves through HTB's direct queue, never shaped), one
 * class QUEUES_HANDLE:ID per `queue` (ID = gw_rule.queue, the queue's index
 * + 1) and under it a pfifo of `qlimit` packets. Configured over rtnetlink;
 * the TC egress program's skb->priority picks the class. The root qdisc is
 * separate from clsact, so the attached programs stay as they are.
 *
 * The kernel counts a class's drops in packets only: their bytes come from
 * bpf/queue_drops.bpf.c on the kfree_skb tracepoint, loaded while queues
 * are configured, its map and link pinned in the bpf-dir.
 */
#ifndef __GREYWALL_QUEUES_H
#define __GREYWALL_QUEUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define QUEUES_HANDLE ((uint32_t)GW_QUEUE_HANDLE)
#define QUEUES_DEFAULT_QLIMIT 50	/* PF's default qlimit */

/* The drop counter's pins in the bpf-dir, and what *failed names when it fails. */
#define QUEUES_DROPS_MAP "gw_queue_drops"
#define QUEUES_DROPS_LINK "link_queue_drops"
#define QUEUES_DROPS_TRACEPOINT "the kfree_skb tracepoint"


/* One queue's counters, summed over the interfaces. */
struct queue_counters {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;		/* packets the FIFO refused (qlimit) */
	uint64_t drop_bytes;	/* their bytes (queues_read_all() only) */
	uint32_t qlen;		/* packets waiting now */
};

/* A queue's counters and its rate over the last sampling interval. */
struct queue_sample {
	struct queue_counters c;
	int64_t when_ns;	/* CLOCK_MONOTONIC of the sample; 0 = none yet */
	double pps;		/* over the interval before `when_ns` */
	double bps;
	bool measured;		/* pps/bps hold a whole interval */
};

struct queues {
	struct queue_sample *sample;	/* one per config queue */
	size_t n;
};

/* HTB's rate and ceiling of q in bit/s: rate = bandwidth or min, ceil = max or bandwidth. */
void queues_rates(const struct config_queue *q, uint64_t *rate, uint64_t *ceil);

/*
 * Replace the queues on interface ifindex with cfg's: greywall's root qdisc
 * (if any) goes, and with queues configured a new one is built. Without
 * queues the interface keeps (or gets back) the kernel's default qdisc.
 * Returns 0 or -errno.
 */
int queues_apply(const struct config *cfg, int ifindex);

/* Remove greywall's root qdisc from ifindex; 0 also when there is none. */
int queues_remove(int ifindex);

/*
 * queues_apply() / queues_remove() on every configured interface, and the
 * drop counter loaded (with queues) or removed; stops at the first failure
 * and names its interface, or QUEUES_DROPS_TRACEPOINT, in *failed.
 */
int queues_attach(const struct config *cfg, const char **failed);
int queues_detach(const struct config *cfg, const char **failed);

/* Add the counters of queue ids 1..n on ifindex to out[0..n-1]. */
int queues_read(int ifindex, size_t n, struct queue_counters *out);

/* The counters of queue ids 1..n summed over cfg's interfaces, with the dropped bytes. */
int queues_read_all(const struct config *cfg, size_t n, struct queue_counters *out);

/* bits/s as written in the config: "1K", "10M", "1500"; the largest exact unit. */
void queues_format_bandwidth(uint64_t bits, char *buf, size_t len);

/* (Re)size q for cfg's queues; measurements start over. Returns 0 or -ENOMEM. */
int queues_init(struct queues *q, const struct config *cfg);
void queues_free(struct queues *q);

/*
 * Read every queue's counters over cfg's interfaces and derive the rates
 * since the previous sample (now_ns: CLOCK_MONOTONIC). Counters that went
 * backwards (the queues were rebuilt) start the measurement over.
 */
int queues_sample(struct queues *q, const struct config *cfg, int64_t now_ns);

#endif /* __GREYWALL_QUEUES_H */
