/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The first-level address index of the data path (gw_index4, gw_classes,
 * gw_nets4, gw_index6, gw_index6_slots, gw_nets6; see include/greywall.h):
 * derived from what the host map and the tries hold, so most sources are
 * answered without a hash or trie lookup. The writer of those maps reports every entry that appears or
 * goes (mapindex_host, mapindex_net) and calls mapindex_publish() after
 * its map writes; a full rebuild of the IPv4 or IPv6 part runs when any
 * network of that family changed.
 */
#ifndef __GREYWALL_MAPINDEX_H
#define __GREYWALL_MAPINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/addrmap.h"
#include "greywall.h"

struct mapindex_maps {
	int index4;
	int classes;
	int index6;
	int config;
	int nets4;
	int nets6;
	int index6_slots;
};

struct mapindex {
	struct mapindex_maps maps;
	uint8_t *slots;			/* 1 << 24 bytes, as published in gw_index4 */
	uint8_t *page_dirty;		/* 65536 flags: page to write */
	/* 1 << 24 bytes: host entries in the /24 minus one, where its slot
	 * has GW_SLOT_HOSTS (a /24 holds 1 to 256 hosts then). */
	uint8_t *hosts4;
	struct addrmap hosts6;		/* /32 -> uint32_t host entries in it */
	struct addrmap nets4;		/* network -> struct gw_entry in the trie */
	struct addrmap nets6;
	/* network -> struct gw_entry in gw_nets4 (networks of /24 or shorter
	 * with a counter slot), as published; only these the pages may name. */
	struct addrmap nets4_pub;
	/* network -> struct gw_entry in gw_nets6 (/33../64), as published. */
	struct addrmap nets6_pub;
	struct addrmap index6;		/* /32 -> struct gw_index6_entry, as published */
	struct addrmap dirty6;		/* /32 keys whose host count crossed zero */
	/* GW_INDEX6_BUCKETS buckets, as published in gw_index6_slots. */
	struct gw_index6_bucket *bk6;
	struct addrmap spill6;		/* /32 keys in gw_index6 only (bucket full) */
	bool slots6_bad;		/* a write failed: rewrite before trusting it */
	uint64_t class_tables[GW_CLASSES];
	bool class_used[GW_CLASSES];
	uint32_t dirty4_lo, dirty4_hi;	/* /24 slots to repaint: [lo, hi) */
	bool nets6_dirty;
	bool classes_short;		/* a repaint found no free class number */
	bool published;			/* the maps were written in full once */
	uint64_t flags;			/* GW_CFG_F_INDEX* as published */
};

int mapindex_init(struct mapindex *mi, const struct mapindex_maps *maps);
void mapindex_free(struct mapindex *mi);
/* Forget everything (before a full rebuild from the model). */
void mapindex_reset(struct mapindex *mi);

/* A host entry appeared in (present) or left the host map. */
int mapindex_host(struct mapindex *mi, const struct addr_prefix *host, bool present);
/*
 * A network is in its trie with these effective tables and counter slot
 * (0: none); tables 0: it left.
 */
int mapindex_net(struct mapindex *mi, const struct addr_prefix *net, uint64_t tables,
		 uint32_t counter);

/* Write what changed to the maps. The first call writes everything. */
int mapindex_publish(struct mapindex *mi);

#endif /* __GREYWALL_MAPINDEX_H */
