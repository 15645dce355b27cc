// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The first-level index's host bookkeeping: a /24's GW_SLOT_HOSTS bit is
 * set while at least one of its hosts is in the host map, whatever the
 * number, up to all 256. Only memory is involved until mapindex_publish(),
 * so no map is needed for that. The painting of counted networks
 * (GW_CLASS_NET + L, their entries in gw_nets4) is checked on real maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "check.h"
#include "datapath/mapindex.h"

static struct addr_prefix v4_host(uint32_t n)
{
	struct addr_prefix p = { .family = AF_INET, .plen = 32 };
	uint32_t be = htonl(n);

	memcpy(p.bytes, &be, 4);
	return p;
}

static bool hosts_bit(const struct mapindex *mi, uint32_t slot)
{
	return mi->slots[slot] & GW_SLOT_HOSTS;
}

static struct addr_prefix v4_net(const char *text)
{
	struct addr_prefix p;

	memset(&p, 0, sizeof(p));
	if (addr_parse(text, &p))
		memset(&p, 0, sizeof(p));
	return p;
}

static uint8_t slot_of_text(const struct mapindex *mi, const char *addr)
{
	struct addr_prefix p = v4_net(addr);

	return mi->slots[(uint32_t)p.bytes[0] << 16 | p.bytes[1] << 8 | p.bytes[2]];
}

/* The published page byte for addr, as the data path reads it. */
static uint8_t kernel_slot(const struct mapindex *mi, const char *addr)
{
	struct addr_prefix p = v4_net(addr);
	struct gw_index4_page page;
	uint32_t key = (uint32_t)p.bytes[0] << 8 | p.bytes[1];

	if (bpf_map_lookup_elem(mi->maps.index4, &key, &page))
		return 0xff;
	return page.slot[p.bytes[2]];
}

/* 0 and *out when gw_nets4 holds net, -ENOENT when not. */
static int nets4_entry(const struct mapindex *mi, const char *net, struct gw_entry *out)
{
	struct addr_prefix p = v4_net(net);
	struct gw_lpm4_key k4;

	addr_to_lpm4(&p, &k4);
	return bpf_map_lookup_elem(mi->maps.nets4, &k4, out) ? -errno : 0;
}

static uint32_t nets4_count(const struct mapindex *mi)
{
	struct gw_lpm4_key key, next, *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(mi->maps.nets4, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static int net(struct mapindex *mi, const char *text, uint64_t tables, uint32_t counter)
{
	struct addr_prefix p = v4_net(text);
	int err = mapindex_net(mi, &p, tables, counter);

	return err ? err : mapindex_publish(mi);
}

/* The published gw_index6 entry of addr's /32; flags 0xffffffff when none. */
static struct gw_index6_entry index6_of(const struct mapindex *mi, const char *addr)
{
	struct gw_index6_entry e = { .flags = 0xffffffffu };
	struct addr_prefix p = v4_net(addr);
	uint32_t key;

	memcpy(&key, p.bytes, 4);
	if (bpf_map_lookup_elem(mi->maps.index6, &key, &e))
		e.flags = 0xffffffffu;
	return e;
}

static int nets6_entry(const struct mapindex *mi, const char *net, struct gw_entry *out)
{
	struct addr_prefix p = v4_net(net);
	struct gw_lpm6_key k6;

	addr_to_lpm6(&p, &k6);
	return bpf_map_lookup_elem(mi->maps.nets6, &k6, out) ? -errno : 0;
}

/* IPv6 networks of /33../64: named by their length while a /32 holds one length only. */
static void test_ipv6_networks(struct mapindex *mi)
{
	struct gw_index6_entry ie;
	struct gw_entry e;

	CHECK_INT(net(mi, "3fff:2:77::/48", 1, 21), 0, "a /48");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == GW_INDEX6_NET && ie.net_plen == 48 && ie.tables == 0,
	      "its /32 names /48 networks (flags %u, /%u)", ie.flags, ie.net_plen);
	CHECK(!nets6_entry(mi, "3fff:2:77::/48", &e) && e.tables == 1 && e.counter == 21,
	      "gw_nets6 holds its entry");
	CHECK_INT(net(mi, "3fff:2:78::/48", 2, 0), 0, "an uncounted /48 beside it");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == GW_INDEX6_NET && ie.net_plen == 48, "still named by length");
	CHECK_INT(nets6_entry(mi, "3fff:2:78::/48", &e), 0, "uncounted ones are in gw_nets6 too");
	CHECK_INT(net(mi, "3fff:2::/32", 4, 22), 0, "the covering /32");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == GW_INDEX6_NET && ie.tables == 4,
	      "the /32's tables answer the rest of it (flags %u, tables %llu)", ie.flags,
	      (unsigned long long)ie.tables);
	CHECK_INT(net(mi, "3fff:2:79::/56", 1, 23), 0, "a /56 in the same /32");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == GW_INDEX6_TRIE && ie.net_plen == 0, "two lengths: the trie (flags %u)",
	      ie.flags);
	CHECK_INT(nets6_entry(mi, "3fff:2:77::/48", &e), 0,
		  "gw_nets6 keeps the /48s (the index does not name them meanwhile)");
	CHECK_INT(net(mi, "3fff:2:79::/56", 0, 0), 0, "the /56 goes");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == GW_INDEX6_NET && ie.net_plen == 48, "named by length again");
	CHECK_INT(nets6_entry(mi, "3fff:2:77::/48", &e), 0, "and back in gw_nets6");
	CHECK_INT(net(mi, "3fff:3::/96", 1, 24), 0, "a /96");
	ie = index6_of(mi, "3fff:3::");
	CHECK(ie.flags == GW_INDEX6_TRIE, "longer than /64: the trie");
	CHECK_INT(nets6_entry(mi, "3fff:3::/96", &e), -ENOENT, "not in gw_nets6");
	CHECK_INT(net(mi, "3fff:4:1::/48", 1, 25), 0, "a third network of /33../64");
	CHECK_INT(net(mi, "3fff:4:2::/48", 1, 26), 0, "a fourth");
	CHECK_INT(net(mi, "3fff:4:3::/48", 1, 27), 0, "a fifth: gw_nets6 (4 entries) is full");
	CHECK_INT(nets6_entry(mi, "3fff:4:3::/48", &e), -ENOENT, "the fifth is not in it");
	ie = index6_of(mi, "3fff:4::");
	CHECK(ie.flags == GW_INDEX6_TRIE, "a /32 with a network gw_nets6 refused asks the trie");
	CHECK_INT(net(mi, "3fff:2:77::/48", 0, 0), 0, "the /48 goes");
	CHECK_INT(net(mi, "3fff:2:78::/48", 0, 0), 0, "and the other");
	CHECK_INT(nets6_entry(mi, "3fff:2:77::/48", &e), -ENOENT, "both left gw_nets6");
	ie = index6_of(mi, "3fff:2::");
	CHECK(ie.flags == 0 && ie.tables == 4, "the /32 keeps its own tables only");
}

/* The index's real maps: gw_index6 of index6_max /32s, gw_nets4 and gw_nets6 of nets_max. */
static struct mapindex_maps maps_create(uint32_t index6_max, uint32_t nets_max)
{
	return (struct mapindex_maps){
		bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(struct gw_index4_page), 65536,
			       NULL),
		bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, GW_CLASSES, NULL),
		bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 4, sizeof(struct gw_index6_entry),
			       index6_max, NULL),
		bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, GW_CFG_MAX, NULL),
		bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(struct gw_lpm4_key),
			       sizeof(struct gw_entry), nets_max, NULL),
		bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(struct gw_lpm6_key),
			       sizeof(struct gw_entry), nets_max, NULL),
		bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, sizeof(struct gw_index6_bucket),
			       GW_INDEX6_BUCKETS, NULL),
	};
}

static void maps_close(const struct mapindex_maps *maps)
{
	const int fds[] = { maps->index4, maps->classes, maps->index6, maps->config,
			    maps->nets4, maps->nets6, maps->index6_slots };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Counted networks of /24 and shorter: painted by length, entries in gw_nets4, kept exact. */
static void test_counted_networks(void)
{
	struct mapindex_maps maps = maps_create(1024, 4);
	struct gw_lpm4_key stale = { .prefixlen = 16, .bytes = { 10, 9 } };
	struct gw_entry e, junk = { .tables = 1, .counter = 99 };
	struct mapindex mi, again;
	uint8_t b;

	if (maps.index4 < 0 || maps.classes < 0 || maps.index6 < 0 || maps.config < 0 ||
	    maps.nets4 < 0 || maps.nets6 < 0) {
		CHECK_SKIP("no BPF maps (not root?)", "counted networks on real maps");
		goto out;
	}
	/* An earlier run's entry, which the first publish must take away. */
	CHECK(!bpf_map_update_elem(maps.nets4, &stale, &junk, BPF_ANY), "a stale gw_nets4 entry");
	CHECK_INT(mapindex_init(&mi, &maps), 0, "init on maps");
	CHECK_INT(mapindex_publish(&mi), 0, "first publish");
	CHECK_INT(nets4_count(&mi), 0, "the first publish pruned the stale entry");

	CHECK_INT(net(&mi, "198.51.0.0/16", 1, 7), 0, "a counted /16");
	CHECK_INT(slot_of_text(&mi, "198.51.0.1"), GW_CLASS_NET + 16, "first /24: the /16 by length");
	CHECK_INT(kernel_slot(&mi, "198.51.255.1"), GW_CLASS_NET + 16, "last /24, as published");
	CHECK_INT(kernel_slot(&mi, "198.52.0.1"), 0, "the next /24 is in none");
	CHECK(!nets4_entry(&mi, "198.51.0.0/16", &e) && e.tables == 1 && e.counter == 7,
	      "gw_nets4 holds its tables and counter slot");

	CHECK_INT(net(&mi, "198.51.100.0/24", 3, 8), 0, "a counted /24 inside");
	CHECK_INT(kernel_slot(&mi, "198.51.100.1"), GW_CLASS_NET + 24, "the /24 wins its slot");
	CHECK_INT(kernel_slot(&mi, "198.51.101.1"), GW_CLASS_NET + 16, "the /16 keeps the rest");
	CHECK_INT(net(&mi, "198.51.7.0/25", 1, 9), 0, "a counted /25 inside");
	CHECK_INT(kernel_slot(&mi, "198.51.7.1"), GW_CLASS_TRIE, "a /25's /24 asks the trie");
	CHECK_INT(nets4_entry(&mi, "198.51.7.0/25", &e), -ENOENT, "a /25 is not in gw_nets4");
	CHECK_INT(net(&mi, "198.51.8.0/22", 5, 0), 0, "an uncounted /22 inside");
	b = kernel_slot(&mi, "198.51.9.1");
	CHECK(b >= 1 && b < GW_CLASS_NET && mi.class_tables[b] == 5,
	      "an uncounted network gets a table class (%u)", b);
	CHECK_INT(nets4_entry(&mi, "198.51.8.0/22", &e), -ENOENT, "and no gw_nets4 entry");

	CHECK_INT(net(&mi, "198.51.0.0/16", 1, 11), 0, "the /16's counter slot changes");
	CHECK(!nets4_entry(&mi, "198.51.0.0/16", &e) && e.counter == 11, "gw_nets4 follows");
	CHECK_INT(net(&mi, "198.51.100.0/24", 0, 0), 0, "the /24 goes");
	CHECK_INT(kernel_slot(&mi, "198.51.100.1"), GW_CLASS_NET + 16, "its slot names the /16");
	CHECK_INT(nets4_entry(&mi, "198.51.100.0/24", &e), -ENOENT, "it left gw_nets4");

	CHECK_INT(net(&mi, "10.0.0.0/8", 2, 12), 0, "a counted /8");
	CHECK_INT(kernel_slot(&mi, "10.255.255.1"), GW_CLASS_NET + 8, "painted over 65,536 /24s");
	CHECK_INT(nets4_count(&mi), 2, "with one gw_nets4 entry (the /8 and the /16)");

	CHECK_INT(net(&mi, "203.0.113.0/24", 1, 13), 0, "a third");
	CHECK_INT(net(&mi, "192.0.2.0/24", 1, 14), 0, "a fourth");
	CHECK_INT(net(&mi, "192.0.2.0/23", 1, 15), 0, "a fifth: gw_nets4 (4 entries) is full");
	CHECK_INT(nets4_entry(&mi, "192.0.2.0/23", &e), -ENOENT, "the fifth is not in it");
	b = kernel_slot(&mi, "192.0.3.1");
	CHECK(b >= 1 && b < GW_CLASS_NET, "its /24s get a table class (%u): the trie counts", b);
	CHECK_INT(net(&mi, "203.0.113.0/24", 0, 0), 0, "one goes");
	CHECK_INT(net(&mi, "192.0.2.0/23", 1, 15), 0, "the fifth is written again");
	CHECK_INT(nets4_entry(&mi, "192.0.2.0/23", &e), -ENOENT,
		  "unchanged networks are not retried until something repaints them");
	CHECK_INT(net(&mi, "192.0.2.0/23", 1, 16), 0, "its counter slot changes");
	CHECK(!nets4_entry(&mi, "192.0.2.0/23", &e) && e.counter == 16, "now it is in gw_nets4");
	CHECK_INT(kernel_slot(&mi, "192.0.3.1"), GW_CLASS_NET + 23, "and named by length");

	/* A restart: a new mirror on the same maps, rebuilt from the model. */
	CHECK_INT(mapindex_init(&again, &maps), 0, "a second index on the same maps");
	{
		struct addr_prefix a = v4_net("198.51.0.0/16"), c = v4_net("10.0.0.0/8");

		CHECK_INT(mapindex_net(&again, &a, 1, 11), 0, "the /16 again");
		CHECK_INT(mapindex_net(&again, &c, 2, 12), 0, "the /8 again");
	}
	CHECK_INT(mapindex_publish(&again), 0, "its first publish");
	CHECK_INT(nets4_count(&again), 2, "gw_nets4 holds exactly the two networks");
	CHECK_INT(kernel_slot(&again, "192.0.3.1"), 0, "what the model lost is gone from the index");
	CHECK_INT(kernel_slot(&again, "198.51.9.1"), GW_CLASS_NET + 16, "the /16 is named");
	mapindex_free(&again);
	test_ipv6_networks(&mi);
	mapindex_free(&mi);
out:
	maps_close(&maps);
}

enum { FIND6_NONE, FIND6_SLOT, FIND6_HASH };

/* What the data path's gw_index6_find() answers for key, from the kernel's maps. */
static int find6(const struct mapindex *mi, uint32_t key, struct gw_index6_slot *out)
{
	uint32_t b = gw_index6_bucket_of(key), cfg = GW_CFG_FLAGS;
	struct gw_index6_bucket bk;
	uint64_t flags = 0;

	if (bpf_map_lookup_elem(mi->maps.config, &cfg, &flags) ||
	    !(flags & GW_CFG_F_INDEX6_SLOTS))
		return FIND6_HASH;
	if (bpf_map_lookup_elem(mi->maps.index6_slots, &b, &bk))
		return FIND6_HASH;
	for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++) {
		if (bk.slot[i].key != key || bk.slot[i].state == GW_SLOT6_EMPTY)
			continue;
		if (bk.slot[i].state != GW_SLOT6_LIVE)
			return FIND6_HASH;
		*out = bk.slot[i];
		return FIND6_SLOT;
	}
	return bk.spill ? FIND6_HASH : FIND6_NONE;
}

/*
 * Disagreements between gw_index6_slots and gw_index6 in the kernel: a
 * LIVE slot must say what gw_index6 says, every gw_index6 key must be in a
 * slot or counted in its bucket's spill, and the spill counts exact.
 */
static int slots6_disagree(const struct mapindex *mi, uint32_t *nspill)
{
	static uint32_t spill[GW_INDEX6_BUCKETS];
	uint32_t key, next, *prev = NULL;
	int bad = 0;

	memset(spill, 0, sizeof(spill));
	*nspill = 0;
	while (!bpf_map_get_next_key(mi->maps.index6, prev, &next)) {
		struct gw_index6_entry e;
		struct gw_index6_slot s;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(mi->maps.index6, &key, &e)) {
			bad++;
			continue;
		}
		switch (find6(mi, key, &s)) {
		case FIND6_SLOT:
			bad += s.flags != (uint8_t)(e.flags | (e.tables ? GW_SLOT6_TABLES : 0)) ||
			       s.net_plen != e.net_plen;
			break;
		case FIND6_HASH:
			spill[gw_index6_bucket_of(key)]++;
			(*nspill)++;
			break;
		default:
			bad++;	/* a listed /32 the slots call unlisted */
		}
	}
	for (uint32_t b = 0; b < GW_INDEX6_BUCKETS; b++) {
		struct gw_index6_bucket bk;

		if (bpf_map_lookup_elem(mi->maps.index6_slots, &b, &bk)) {
			bad++;
			continue;
		}
		bad += bk.spill != spill[b];
		for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++) {
			struct gw_index6_entry e;

			if (bk.slot[i].state == GW_SLOT6_EMPTY)
				continue;
			/* No BUSY left behind, no slot for a key gw_index6 lacks. */
			bad += bk.slot[i].state != GW_SLOT6_LIVE ||
			       bpf_map_lookup_elem(mi->maps.index6, &bk.slot[i].key, &e);
		}
	}
	return bad;
}

static struct addr_prefix v6_in(uint32_t key, uint8_t last)
{
	struct addr_prefix p = { .family = AF_INET6, .plen = 128 };

	memcpy(p.bytes, &key, 4);
	p.bytes[15] = last;
	return p;
}

static int host6(struct mapindex *mi, uint32_t key, bool present)
{
	struct addr_prefix p = v6_in(key, 1);
	int err = mapindex_host(mi, &p, present);

	return err ? err : mapindex_publish(mi);
}

/* /32 keys of one bucket: key[0..n) all in bucket_of(key[0]), starting from seed. */
static void same_bucket(uint32_t seed, uint32_t *key, int n)
{
	uint32_t b = gw_index6_bucket_of(seed);
	int i = 0;

	for (uint32_t k = seed; i < n; k++)
		if (gw_index6_bucket_of(k) == b)
			key[i++] = k;
}

/* gw_index6_slots: buckets, spill to gw_index6, deletion, migration, restart. */
static void test_index6_slots(void)
{
	struct mapindex_maps maps = maps_create(65536, 16);
	uint32_t key[10], other, nspill, b, cfg = GW_CFG_FLAGS;
	struct gw_index6_bucket bk, junk;
	struct gw_index6_slot s;
	struct mapindex mi, again;
	uint64_t flags;
	int bad = 0;

	if (maps.index4 < 0 || maps.classes < 0 || maps.index6 < 0 || maps.config < 0 ||
	    maps.nets4 < 0 || maps.nets6 < 0 || maps.index6_slots < 0) {
		CHECK_SKIP("no BPF maps (not root?)", "gw_index6_slots on real maps");
		goto out;
	}
	same_bucket(0x0020ff3fu, key, 10);
	b = gw_index6_bucket_of(key[0]);
	for (other = key[0] + 1; gw_index6_bucket_of(other) == b; other++)
		;
	/* Garbage from an earlier version that did not keep the slots: rewritten. */
	memset(&junk, 0, sizeof(junk));
	junk.slot[0] = (struct gw_index6_slot){ .key = other, .state = GW_SLOT6_LIVE };
	b = gw_index6_bucket_of(other);
	CHECK(!bpf_map_update_elem(maps.index6_slots, &b, &junk, BPF_ANY), "a stale slot");
	CHECK_INT(mapindex_init(&mi, &maps), 0, "init on maps");
	CHECK_INT(mapindex_publish(&mi), 0, "first publish");
	CHECK(!bpf_map_lookup_elem(maps.config, &cfg, &flags) && (flags & GW_CFG_F_INDEX6_SLOTS),
	      "the data path may read the slots");
	CHECK_INT(find6(&mi, other, &s), FIND6_NONE, "the stale slot is gone");

	CHECK_INT(host6(&mi, key[0], true), 0, "a host in a /32");
	CHECK(find6(&mi, key[0], &s) == FIND6_SLOT && s.flags == GW_INDEX6_HOSTS,
	      "its slot says hosts");
	for (int i = 1; i < 7; i++)
		bad += host6(&mi, key[i], true) != 0;
	CHECK_INT(bad, 0, "six more /32s of the same bucket");
	for (int i = 0; i < 7; i++)
		bad += find6(&mi, key[i], &s) != FIND6_SLOT;
	CHECK_INT(bad, 0, "all seven have a slot");
	CHECK_INT(find6(&mi, key[9], &s), FIND6_NONE, "an unlisted /32 of the full bucket: none");
	CHECK_INT(host6(&mi, key[7], true), 0, "an eighth: the bucket is full");
	CHECK_INT(host6(&mi, key[8], true), 0, "a ninth");
	CHECK_INT(find6(&mi, key[7], &s), FIND6_HASH, "the eighth: ask gw_index6");
	CHECK_INT(find6(&mi, key[9], &s), FIND6_HASH, "so must every other /32 of that bucket");
	CHECK_INT(slots6_disagree(&mi, &nspill), 0, "slots and gw_index6 agree");
	CHECK_INT(nspill, 2, "two spilled");

	CHECK_INT(host6(&mi, key[3], false), 0, "a slotted /32 loses its host");
	CHECK_INT(find6(&mi, key[3], &s), FIND6_HASH, "its slot is empty; the spill still asks");
	CHECK_INT(slots6_disagree(&mi, &nspill), 0, "agree after the deletion");
	{
		struct addr_prefix net = v6_in(key[7], 0);

		net.plen = 48;
		addr_mask(&net);
		CHECK_INT(mapindex_net(&mi, &net, 2, 0), 0, "a /48 inside the eighth /32");
		CHECK_INT(mapindex_publish(&mi), 0, "published");
	}
	CHECK(find6(&mi, key[7], &s) == FIND6_SLOT &&
		      s.flags == (GW_INDEX6_HOSTS | GW_INDEX6_NET) && s.net_plen == 48,
	      "its entry changed: it moved into the free slot (flags %#x)", s.flags);
	CHECK_INT(slots6_disagree(&mi, &nspill), 0, "agree after the move");
	CHECK_INT(nspill, 1, "one spilled");
	CHECK_INT(host6(&mi, key[8], false), 0, "the spilled one goes");
	CHECK_INT(find6(&mi, key[9], &s), FIND6_NONE, "the bucket stops asking gw_index6");
	CHECK_INT(find6(&mi, key[8], &s), FIND6_NONE, "the gone /32 is in none");
	CHECK_INT(slots6_disagree(&mi, &nspill), 0, "agree, none spilled");
	CHECK_INT(nspill, 0, "none spilled");
	{
		struct addr_prefix net = v6_in(key[1], 0);

		net.plen = 32;
		addr_mask(&net);
		CHECK_INT(mapindex_net(&mi, &net, 4, 0), 0, "a /32 network on a slotted /32");
		CHECK_INT(mapindex_publish(&mi), 0, "published");
		CHECK(find6(&mi, key[1], &s) == FIND6_SLOT &&
			      s.flags == (GW_INDEX6_HOSTS | GW_SLOT6_TABLES),
		      "the slot sends the data path to gw_index6 for its tables (%#x)", s.flags);
	}
	CHECK_INT(host6(&mi, key[8], true), 0, "the ninth again (8 /32s in 7 slots)");
	CHECK_INT(slots6_disagree(&mi, &nspill), 0, "agree");
	CHECK_INT(nspill, 1, "it spilled again");

	/* A restart: a new mirror adopts the slots and drops what the model lost. */
	CHECK_INT(mapindex_init(&again, &maps), 0, "a second index on the same maps");
	for (int i = 0; i < 9; i++) {
		struct addr_prefix p = v6_in(key[i], 1);

		if (i != 3 && i != 0)
			bad += mapindex_host(&again, &p, true) != 0;
	}
	CHECK_INT(bad, 0, "the model, without key[0]'s host and the nets");
	CHECK_INT(mapindex_publish(&again), 0, "its first publish");
	CHECK_INT(slots6_disagree(&again, &nspill), 0, "agree after the restart");
	CHECK_INT(nspill, 1, "the ninth stays spilled (key[0]'s slot freed after it)");
	CHECK_INT(find6(&again, key[0], &s), FIND6_HASH, "key[0] is in none (gw_index6 says so)");
	CHECK(find6(&again, key[1], &s) == FIND6_SLOT && s.flags == GW_INDEX6_HOSTS,
	      "key[1] lost its tables (%#x)", s.flags);
	CHECK_INT(host6(&again, key[8], false), 0, "the ninth goes");
	CHECK_INT(find6(&again, key[0], &s), FIND6_NONE, "and the bucket answers alone");

	/* A publish whose slot write fails: the data path stops reading the slots. */
	mapindex_free(&mi);
	b = gw_index6_bucket_of(key[9]);
	{
		int fd = again.maps.index6_slots;

		again.maps.index6_slots = -1;
		CHECK(host6(&again, key[9], true) != 0, "a failed slot write fails the publish");
		CHECK(!bpf_map_lookup_elem(maps.config, &cfg, &flags) &&
			      !(flags & GW_CFG_F_INDEX6_SLOTS),
		      "and turns the slots off");
		again.maps.index6_slots = fd;
	}
	CHECK_INT(mapindex_publish(&again), 0, "the next publish rewrites them");
	CHECK(!bpf_map_lookup_elem(maps.config, &cfg, &flags) && (flags & GW_CFG_F_INDEX6_SLOTS),
	      "and turns them on");
	CHECK(!bpf_map_lookup_elem(maps.index6_slots, &b, &bk), "the bucket");
	CHECK_INT(slots6_disagree(&again, &nspill), 0, "agree after the rewrite");
	CHECK(find6(&again, key[9], &s) == FIND6_SLOT && s.flags == GW_INDEX6_HOSTS,
	      "the /32 the failed publish added has its slot");
	mapindex_free(&again);
out:
	maps_close(&maps);
}

int main(void)
{
	struct mapindex_maps maps = { -1, -1, -1, -1, -1, -1, -1 };
	uint32_t net = 0xc0000200u, slot = net >> 8;	/* 192.0.2.0/24 */
	struct mapindex mi;
	int bad = 0;

	CHECK_INT(mapindex_init(&mi, &maps), 0, "init");
	CHECK(!hosts_bit(&mi, slot), "no hosts at first");
	for (uint32_t i = 0; i < 256; i++) {
		struct addr_prefix p = v4_host(net + i);

		bad += mapindex_host(&mi, &p, true) != 0;
	}
	CHECK_INT(bad, 0, "all 256 hosts of a /24 appear");
	CHECK(hosts_bit(&mi, slot), "the /24 has hosts");
	CHECK(mi.page_dirty[slot >> 8], "its page is to be written");
	CHECK(!hosts_bit(&mi, slot + 1) && !hosts_bit(&mi, slot - 1), "the neighbours have none");
	for (uint32_t i = 0; i < 255; i++) {
		struct addr_prefix p = v4_host(net + i);

		bad += mapindex_host(&mi, &p, false) != 0;
		if (!hosts_bit(&mi, slot))
			bad++;
	}
	CHECK_INT(bad, 0, "255 of them go and the bit stays");
	{
		struct addr_prefix last = v4_host(net + 255), other = v4_host(net + 1000);

		CHECK_INT(mapindex_host(&mi, &other, false), 0, "a host that never was goes");
		CHECK(hosts_bit(&mi, slot), "the bit stays after it");
		CHECK_INT(mapindex_host(&mi, &last, false), 0, "the last one goes");
		CHECK(!hosts_bit(&mi, slot), "the /24 has no hosts now");
		CHECK_INT(mapindex_host(&mi, &last, false), 0, "going twice is harmless");
		CHECK(!hosts_bit(&mi, slot), "and changes nothing");
		CHECK_INT(mapindex_host(&mi, &last, true), 0, "it comes back");
		CHECK(hosts_bit(&mi, slot), "the bit is set again");
	}
	mapindex_reset(&mi);
	CHECK(!hosts_bit(&mi, slot), "reset forgets the hosts");
	{
		struct addr_prefix p = v4_host(net + 7);

		CHECK_INT(mapindex_host(&mi, &p, true), 0, "a host after the reset");
		CHECK_INT(mapindex_host(&mi, &p, false), 0, "and it goes");
		CHECK(!hosts_bit(&mi, slot), "counted from zero after the reset");
	}
	mapindex_free(&mi);
	test_counted_networks();
	test_index6_slots();
	return check_done();
}
