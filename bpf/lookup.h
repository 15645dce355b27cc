/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Table membership of one address: the host map first, a prefix trie on a miss. */
#ifndef __GREYWALL_LOOKUP_H
#define __GREYWALL_LOOKUP_H

#include "maps.h"
#include "parse.h"

/*
 * Returns the entry that holds addr's effective membership, or NULL. Host
 * entries never go into the tries and carry the tables of every covering
 * prefix, so a host hit ends the search.
 */
static __always_inline struct gw_entry *gw_lookup(const struct gw_addr *addr, __u8 family)
{
	struct gw_entry *e;

	e = bpf_map_lookup_elem(&GW_MAP_HOSTS, addr);
	if (e) {
		gw_stat_inc(GW_STAT_HOST_HIT);
		return e;
	}
	if (family == 4) {
		struct gw_lpm4_key k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.bytes, &addr->bytes[12], 4);
		e = bpf_map_lookup_elem(&GW_MAP_PREFIX4, &k4);
	} else {
		struct gw_lpm6_key k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.bytes, addr->bytes, 16);
		e = bpf_map_lookup_elem(&GW_MAP_PREFIX6, &k6);
	}
	if (e)
		gw_stat_inc(GW_STAT_PREFIX_HIT);
	return e;
}

/* Add one packet of len bytes to e's counters in direction dir. */
static __always_inline void gw_count(struct gw_entry *e, __u32 dir, __u64 len)
{
	if (dir >= GW_DIR_MAX)
		return;
	__sync_fetch_and_add(&e->counters.packets[dir], 1);
	__sync_fetch_and_add(&e->counters.bytes[dir], len);
}

#endif /* __GREYWALL_LOOKUP_H */
