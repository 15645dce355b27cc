/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The data path's global counters: gw_stats holds one struct gw_stats per
 * CPU under key 0 (bpf/maps.h); these read them summed, and write them
 * (tests).
 */
#ifndef __GREYWALL_DATAPATH_STATS_H
#define __GREYWALL_DATAPATH_STATS_H

#include <stdint.h>

#include "greywall.h"

/* Every counter of the gw_stats map fd, summed over the CPUs, into *out. 0 or -errno. */
int stats_read(int fd, struct gw_stats *out);
/* Set counter stat to value on the first CPU and 0 on the others. 0 or -errno. */
int stats_write(int fd, enum gw_stat stat, uint64_t value);

#endif /* __GREYWALL_DATAPATH_STATS_H */
