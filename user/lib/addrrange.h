/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Address ranges "first - last" as CIDR blocks: spamd-setup's range lines
 * and DShield's start/end columns become table entries through this.
 */
#ifndef __GREYWALL_ADDRRANGE_H
#define __GREYWALL_ADDRRANGE_H

#include "lib/addr.h"

/*
 * The most blocks one range needs: 2 * (128 - 1), for ::1 - ffff:...:fffe
 * (IPv4's worst, 0.0.0.1 - 255.255.255.254, needs 62).
 */
#define ADDR_RANGE_MAX_CIDRS 254

/*
 * The fewest CIDR blocks that cover first..last (both ends included)
 * exactly, in address order, into out (room for ADDR_RANGE_MAX_CIDRS).
 * Returns how many, or -EINVAL when first or last is not a host, they are
 * of different families, or last comes before first.
 */
int addr_range_to_cidrs(const struct addr_prefix *first, const struct addr_prefix *last,
			struct addr_prefix *out);

/*
 * Whether first..last is exactly the block first/plen: first is aligned to
 * it and last is its final address. False for mixed families or a plen
 * beyond the family's width.
 */
bool addr_range_is_block(const struct addr_prefix *first, const struct addr_prefix *last,
			 int plen);

#endif /* __GREYWALL_ADDRRANGE_H */
