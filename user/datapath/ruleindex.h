/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Compiles struct gw_rule[] into the data path's rule index (gw_rule_index,
 * gw_rule_ports, gw_rule_ifaces; see include/greywall.h) so that a rule
 * decision costs the same for 1 rule as for 256.
 */
#ifndef __GREYWALL_RULEINDEX_H
#define __GREYWALL_RULEINDEX_H

#include <stdint.h>

#include "greywall.h"

struct ruleindex_maps {
	int index;
	int ports;
	int ifaces;
	int config;
	int flow_ports;
};

/*
 * Fill the idle generation with rules[0..n) (ifindex already resolved) and
 * make it live. Returns 0 or -errno; on error the live rules are unchanged.
 */
int ruleindex_publish(const struct ruleindex_maps *maps, const struct gw_rule *rules, uint32_t n);

#endif /* __GREYWALL_RULEINDEX_H */
