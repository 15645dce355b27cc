/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Table membership of one address: the first-level index says where to
 * look (nowhere for most sources), then the host map, then a prefix trie.
 */
#ifndef __GREYWALL_LOOKUP_H
#define __GREYWALL_LOOKUP_H

#include "maps.h"
#include "parse.h"

/*
 * What gw_lookup() found. entry is where counters go; NULL when none is
 * needed. hit is GW_STAT_HOST_HIT or GW_STAT_PREFIX_HIT when an entry or
 * a network answered, else 0: the caller counts it (gw_count_hit()), with
 * the counters record it holds already.
 */
struct gw_member {
	__u64 tables;
	struct gw_entry *entry;
	__u32 hit;
};

/* e answered the lookup: its tables, where its counters go, and what to count. */
static __always_inline void gw_found(struct gw_member *out, struct gw_entry *e, __u32 hit)
{
	out->hit = hit;
	out->tables = e->tables;
	out->entry = e;
}

static __always_inline int gw_lookup_host(const struct gw_addr *addr, struct gw_member *out)
{
	struct gw_entry *e = bpf_map_lookup_elem(&GW_MAP_HOSTS, addr);

	if (!e)
		return 0;
	gw_found(out, e, GW_STAT_HOST_HIT);
	return 1;
}

static __always_inline void gw_lookup_trie(const struct gw_addr *addr, __u8 family,
					   struct gw_member *out)
{
	struct gw_entry *e;

	if (family == 4) {
		struct gw_lpm4_key k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.bytes, &addr->bytes[12], 4);
		e = bpf_map_lookup_elem(&GW_MAP_PREFIX4, &k4);
	} else {
		struct gw_lpm6_key k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.bytes, addr->bytes, 16);
		e = bpf_map_lookup_elem(&GW_MAP_PREFIX6, &k6);
	}
	if (!e)
		return;
	gw_found(out, e, GW_STAT_PREFIX_HIT);
}

/*
 * The covering /plen network's entry from gw_nets4 (plen <= 24, as the
 * index byte says), or from the trie should gw_nets4 not have it: an entry
 * the index names is written there first and deleted last, so a miss is
 * only ever a race with userspace, which the trie answers correctly.
 */
static __always_inline void gw_lookup_net4(const struct gw_addr *addr, __u32 plen,
					   struct gw_member *out)
{
	struct gw_lpm4_key k4 = { .prefixlen = plen };
	__u32 host = (__u32)addr->bytes[12] << 24 | (__u32)addr->bytes[13] << 16 |
		     (__u32)addr->bytes[14] << 8;
	struct gw_entry *e;

	host &= (__u32)(0xffffffffULL << (32 - plen));
	k4.bytes[0] = host >> 24;
	k4.bytes[1] = host >> 16;
	k4.bytes[2] = host >> 8;
	e = bpf_map_lookup_elem(&GW_MAP_NETS4, &k4);
	if (!e) {
		gw_lookup_trie(addr, 4, out);
		return;
	}
	gw_found(out, e, GW_STAT_PREFIX_HIT);
}

/*
 * The entry of the /plen network inside the source's /32 (gw_index6 says
 * all its networks longer than /32 are /plen): 1, or 0 when none covers
 * the source. A length out of range is userspace's bug: the trie answers.
 */
static __always_inline int gw_lookup_net6(const struct gw_addr *addr, __u32 plen,
					  struct gw_member *out)
{
	struct gw_lpm6_key k6 = { .prefixlen = plen };
	struct gw_entry *e;
	__u32 word;

	if (plen < GW_INDEX6_NET_MIN_PLEN || plen > GW_INDEX6_NET_MAX_PLEN) {
		gw_lookup_trie(addr, 6, out);
		return 1;
	}
	word = (__u32)addr->bytes[4] << 24 | (__u32)addr->bytes[5] << 16 |
	       (__u32)addr->bytes[6] << 8 | addr->bytes[7];
	word &= (__u32)(0xffffffffULL << (64 - plen));
	__builtin_memcpy(k6.bytes, addr->bytes, 4);
	k6.bytes[4] = word >> 24;
	k6.bytes[5] = word >> 16;
	k6.bytes[6] = word >> 8;
	k6.bytes[7] = word;
	e = bpf_map_lookup_elem(&GW_MAP_NETS6, &k6);
	if (!e)
		return 0;
	gw_found(out, e, GW_STAT_PREFIX_HIT);
	return 1;
}

enum {
	GW_FIND6_NONE,		/* the /32 is in no table */
	GW_FIND6_SLOT,		/* the slot says what gw_index6 says */
	GW_FIND6_HASH,		/* ask gw_index6 */
};

/*
 * Where gw_index6_slots puts the /32 key (include/greywall.h): each slot in
 * one 8-byte load, so one that userspace is rewriting reads as it was or as
 * BUSY, never half of each.
 */
static __always_inline int gw_index6_find(__u32 key, struct gw_index6_slot *out)
{
	__u32 b = gw_index6_bucket_of(key);
	struct gw_index6_bucket *bk = bpf_map_lookup_elem(&GW_MAP_INDEX6_SLOTS, &b);

	if (!bk)
		return GW_FIND6_HASH;
#pragma unroll
	for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++) {
		__u64 w = *(volatile __u64 *)&bk->slot[i];
		struct gw_index6_slot s;

		__builtin_memcpy(&s, &w, sizeof(s));
		if (s.key != key || s.state == GW_SLOT6_EMPTY)
			continue;
		if (s.state != GW_SLOT6_LIVE)
			return GW_FIND6_HASH;
		*out = s;
		return GW_FIND6_SLOT;
	}
	return *(volatile __u32 *)&bk->spill ? GW_FIND6_HASH : GW_FIND6_NONE;
}

/*
 * Networks the index names by their tables alone need no trie walk, unless
 * the packet must be counted on the network's own entry.
 */
static __always_inline void gw_index_tables(__u64 tables, __u64 counter_tables,
					    const struct gw_addr *addr, __u8 family,
					    struct gw_member *out)
{
	if (tables & counter_tables) {
		gw_lookup_trie(addr, family, out);
		return;
	}
	out->hit = GW_STAT_PREFIX_HIT;
	out->tables = tables;
}

/*
 * Host entries never go into the tries and carry the tables of every
 * covering network, so a host hit ends the search. cfg_flags and
 * counter_tables are GW_CFG_FLAGS and GW_CFG_COUNTER_TABLES.
 */
static __always_inline void gw_lookup(const struct gw_addr *addr, __u8 family, __u64 cfg_flags,
				      __u64 counter_tables, struct gw_member *out)
{
	out->tables = 0;
	out->entry = NULL;
	out->hit = 0;
	if (!(cfg_flags & GW_CFG_F_INDEX_READY))
		goto no_index;
	if (family == 4) {
		__u32 key = (__u32)addr->bytes[12] << 8 | addr->bytes[13];
		struct gw_index4_page *page = bpf_map_lookup_elem(&GW_MAP_INDEX4, &key);
		__u64 *tables;
		__u32 class;
		__u8 slot;

		if (!page)
			goto no_index;
		slot = page->slot[addr->bytes[14]];
		if (!slot)
			return;
		if ((slot & GW_SLOT_HOSTS) && gw_lookup_host(addr, out))
			return;
		class = slot & GW_SLOT_CLASS;
		if (class == GW_CLASS_NONE)
			return;
		if (class == GW_CLASS_TRIE) {
			gw_lookup_trie(addr, family, out);
			return;
		}
		if (class >= GW_CLASS_NET) {
			gw_lookup_net4(addr, class - GW_CLASS_NET, out);
			return;
		}
		tables = bpf_map_lookup_elem(&GW_MAP_CLASSES, &class);
		if (tables)
			gw_index_tables(*tables, counter_tables, addr, family, out);
		return;
	}
	if (!(cfg_flags & GW_CFG_F_INDEX6_OFF)) {
		struct gw_index6_slot slot = {};
		struct gw_index6_entry *ie;
		__u32 key, flags, plen;
		__u64 tables = 0;
		int found = GW_FIND6_HASH;

		__builtin_memcpy(&key, addr->bytes, 4);
		if (cfg_flags & GW_CFG_F_INDEX6_SLOTS)
			found = gw_index6_find(key, &slot);
		if (found == GW_FIND6_NONE)
			return;
		if (found == GW_FIND6_SLOT) {
			flags = slot.flags;
			plen = slot.net_plen;
		} else {
			ie = bpf_map_lookup_elem(&GW_MAP_INDEX6, &key);
			if (!ie)
				return;
			flags = ie->flags;
			plen = ie->net_plen;
			tables = ie->tables;
		}
		if ((flags & GW_INDEX6_HOSTS) && gw_lookup_host(addr, out))
			return;
		if (flags & GW_INDEX6_TRIE) {
			gw_lookup_trie(addr, family, out);
			return;
		}
		if ((flags & GW_INDEX6_NET) && gw_lookup_net6(addr, plen, out))
			return;
		if (flags & GW_SLOT6_TABLES) {
			/* The slot's /32 has tables of its own: gw_index6 holds them. */
			ie = bpf_map_lookup_elem(&GW_MAP_INDEX6, &key);
			if (!ie) {
				/* Only a race with userspace: the trie knows. */
				gw_lookup_trie(addr, family, out);
				return;
			}
			tables = ie->tables;
		}
		if (tables)
			gw_index_tables(tables, counter_tables, addr, family, out);
		return;
	}
no_index:
	/* Before userspace has built the index (first start, upgrade). */
	if (!gw_lookup_host(addr, out))
		gw_lookup_trie(addr, family, out);
}

/* Count m's hit, if any, in s (this CPU's record, or NULL: looked up here). */
static __always_inline void gw_count_hit(struct gw_stats *s, const struct gw_member *m)
{
	if (!m->hit)
		return;
	if (!s)
		s = gw_stats_get();
	gw_stats_add(s, m->hit);
}

/*
 * Add one packet of len bytes to e's counters in direction dir: this CPU's
 * copy, so CPUs dropping the same source at once never share a cache line,
 * and plain adds, as XDP and TC run with bottom halves off and never
 * interrupt each other on one CPU. Slots inside gw_counters count there (an
 * inlined array lookup, no call); a slot beyond it counts in
 * gw_counters_spill, whose counters its first packet makes (zero on the
 * other CPUs).
 */
static __always_inline void gw_count(const struct gw_entry *e, __u32 dir, __u64 len)
{
	struct gw_counters *c, first = {};
	__u32 slot = e->counter;

	if (!slot || dir >= GW_DIR_MAX)
		return;
	c = bpf_map_lookup_elem(&GW_MAP_COUNTERS, &slot);
	if (c)
		goto add;
	c = bpf_map_lookup_elem(&GW_MAP_COUNTERS_SPILL, &slot);
	if (!c) {
		first.packets[dir] = 1;
		first.bytes[dir] = len;
		if (!bpf_map_update_elem(&GW_MAP_COUNTERS_SPILL, &slot, &first, BPF_NOEXIST))
			return;
		/* Another CPU made them first. */
		c = bpf_map_lookup_elem(&GW_MAP_COUNTERS_SPILL, &slot);
		if (!c)
			return;
	}
add:
	c->packets[dir] += 1;
	c->bytes[dir] += len;
}

#endif /* __GREYWALL_LOOKUP_H */
