// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The first-level address index: a userspace mirror of gw_index4 (one byte
 * per IPv4 /24) and gw_index6 (one entry per IPv6 /32), rebuilt from the
 * networks in the tries and the host counts, and written to the maps by
 * difference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "datapath/mapindex.h"
#include "lib/array.h"

#define SLOTS4 (1u << 24)
#define PAGES4 65536u
#define PAGE_BATCH 1024

int mapindex_init(struct mapindex *mi, const struct mapindex_maps *maps)
{
	int err;

	memset(mi, 0, sizeof(*mi));
	mi->maps = *maps;
	mi->dirty4_lo = SLOTS4;
	mi->slots = calloc(SLOTS4, 1);
	mi->page_dirty = calloc(PAGES4, 1);
	/* Untouched pages of it cost no memory: only /24s with hosts count. */
	mi->hosts4 = calloc(SLOTS4, 1);
	mi->bk6 = calloc(GW_INDEX6_BUCKETS, sizeof(*mi->bk6));
	if (!mi->slots || !mi->page_dirty || !mi->hosts4 || !mi->bk6) {
		mapindex_free(mi);
		return -ENOMEM;
	}
	err = addrmap_init(&mi->hosts6, sizeof(uint32_t));
	if (!err)
		err = addrmap_init(&mi->nets4, sizeof(struct gw_entry));
	if (!err)
		err = addrmap_init(&mi->nets6, sizeof(struct gw_entry));
	if (!err)
		err = addrmap_init(&mi->nets4_pub, sizeof(struct gw_entry));
	if (!err)
		err = addrmap_init(&mi->nets6_pub, sizeof(struct gw_entry));
	if (!err)
		err = addrmap_init(&mi->index6, sizeof(struct gw_index6_entry));
	if (!err)
		err = addrmap_init(&mi->dirty6, 1);
	if (!err)
		err = addrmap_init(&mi->spill6, 1);
	if (err)
		mapindex_free(mi);
	return err;
}

void mapindex_free(struct mapindex *mi)
{
	free(mi->slots);
	free(mi->page_dirty);
	free(mi->hosts4);
	addrmap_free(&mi->hosts6);
	addrmap_free(&mi->nets4);
	addrmap_free(&mi->nets6);
	addrmap_free(&mi->nets4_pub);
	addrmap_free(&mi->nets6_pub);
	addrmap_free(&mi->index6);
	addrmap_free(&mi->dirty6);
	addrmap_free(&mi->spill6);
	free(mi->bk6);
	mi->bk6 = NULL;
	mi->slots = mi->page_dirty = mi->hosts4 = NULL;
}

static uint32_t slot_of(const struct addr_prefix *p)
{
	return (uint32_t)p->bytes[0] << 16 | (uint32_t)p->bytes[1] << 8 | p->bytes[2];
}

/* One past the last /24 slot an IPv4 network covers. */
static uint32_t slot_end(const struct addr_prefix *p)
{
	return slot_of(p) + (p->plen <= 24 ? 1u << (24 - p->plen) : 1u);
}

/* The /24s under an IPv4 network need repainting. */
static void mark4(struct mapindex *mi, const struct addr_prefix *p)
{
	if (slot_of(p) < mi->dirty4_lo)
		mi->dirty4_lo = slot_of(p);
	if (slot_end(p) > mi->dirty4_hi)
		mi->dirty4_hi = slot_end(p);
}

/*
 * Whether net's entry belongs in gw_nets4 (of /24 or shorter, with a
 * counter slot) or gw_nets6 (/33../64: the index can name their length).
 */
static bool net_wanted(const struct addr_prefix *net, const struct gw_entry *e)
{
	if (net->family == AF_INET)
		return net->plen <= GW_CLASS_NET_MAX_PLEN && e->counter;
	return net->plen >= GW_INDEX6_NET_MIN_PLEN && net->plen <= GW_INDEX6_NET_MAX_PLEN;
}

/* Whether the index may name net: its gw_nets4/6 entry is the trie's. */
static bool net_published(const struct addrmap *pub, const struct addr_prefix *net,
			  const struct gw_entry *e)
{
	const struct gw_entry *p = addrmap_get(pub, net);

	return p && !memcmp(p, e, sizeof(*e));
}

/* A gw_nets4 or gw_nets6 key. */
union net_key {
	struct gw_lpm4_key k4;
	struct gw_lpm6_key k6;
};

void mapindex_reset(struct mapindex *mi)
{
	const struct addr_prefix *key;

	/* Repaint where networks were; the rest of the slots hold no class. */
	for (size_t i = 0; addrmap_next(&mi->nets4, &i, &key, NULL);)
		mark4(mi, key);
	addrmap_clear(&mi->hosts6);
	addrmap_clear(&mi->nets4);
	addrmap_clear(&mi->nets6);
	addrmap_clear(&mi->dirty6);
	for (uint32_t i = 0; i < SLOTS4; i++) {
		if (mi->slots[i] & GW_SLOT_HOSTS) {
			mi->slots[i] &= (uint8_t)~GW_SLOT_HOSTS;
			mi->page_dirty[i >> 8] = 1;
		}
	}
	mi->nets6_dirty = true;
}

/* The /24 (IPv4) or /32 (IPv6) that holds p, as a map key. */
static struct addr_prefix bucket_of(const struct addr_prefix *p)
{
	struct addr_prefix b = *p;

	b.plen = p->family == AF_INET ? 24 : 32;
	addr_mask(&b);
	return b;
}

/*
 * IPv4: the count lives next to the slot's GW_SLOT_HOSTS bit, one byte per
 * /24 in a flat array: a million hosts cost no hash probes and a fraction
 * of a map's memory.
 */
static void host4(struct mapindex *mi, const struct addr_prefix *host, bool present)
{
	uint32_t s = slot_of(host);
	bool any = mi->slots[s] & GW_SLOT_HOSTS;

	if (present && any) {
		if (mi->hosts4[s] < UINT8_MAX)
			mi->hosts4[s]++;
		return;
	}
	if (!present && (!any || mi->hosts4[s])) {
		if (any)
			mi->hosts4[s]--;
		return;
	}
	/* The count crosses zero. */
	mi->hosts4[s] = 0;
	if (present)
		mi->slots[s] |= GW_SLOT_HOSTS;
	else
		mi->slots[s] &= (uint8_t)~GW_SLOT_HOSTS;
	mi->page_dirty[s >> 8] = 1;
}

int mapindex_host(struct mapindex *mi, const struct addr_prefix *host, bool present)
{
	struct addr_prefix b;
	uint32_t *n;
	bool crossed;

	if (host->family == AF_INET) {
		host4(mi, host, present);
		return 0;
	}
	b = bucket_of(host);
	if (present) {
		n = addrmap_put(&mi->hosts6, &b, NULL);
		if (!n)
			return -ENOMEM;
		crossed = (*n)++ == 0;
	} else {
		n = addrmap_get(&mi->hosts6, &b);
		if (!n)
			return 0;
		crossed = --(*n) == 0;
		if (crossed)
			addrmap_delete(&mi->hosts6, &b);
	}
	if (!crossed)
		return 0;
	return addrmap_put(&mi->dirty6, &b, NULL) ? 0 : -ENOMEM;
}

int mapindex_net(struct mapindex *mi, const struct addr_prefix *net, uint64_t tables,
		 uint32_t counter)
{
	bool v4 = net->family == AF_INET;
	struct addrmap *nets = v4 ? &mi->nets4 : &mi->nets6;
	struct gw_entry *v;

	if (tables) {
		v = addrmap_put(nets, net, NULL);
		if (!v)
			return -ENOMEM;
		if (v->tables == tables && v->counter == counter)
			return 0;
		v->tables = tables;
		v->counter = counter;
	} else if (addrmap_delete(nets, net)) {
		return 0;
	}
	if (v4) {
		mark4(mi, net);
	} else {
		mi->nets6_dirty = true;
	}
	return 0;
}

/*
 * The class naming tables: an existing live one, or a free number whose
 * gw_classes entry is written now, before any page refers to it. Numbers
 * live before this rebuild are never reused by it, so a page not yet
 * rewritten keeps meaning what it meant.
 */
static uint8_t class_for(struct mapindex *mi, uint64_t tables, bool *referenced)
{
	uint32_t free_id = 0;

	for (uint32_t id = 1; id < GW_CLASS_NET; id++) {
		if ((mi->class_used[id] || referenced[id]) && mi->class_tables[id] == tables) {
			referenced[id] = true;
			return (uint8_t)id;
		}
		if (!free_id && !mi->class_used[id] && !referenced[id])
			free_id = id;
	}
	if (!free_id || bpf_map_update_elem(mi->maps.classes, &free_id, &tables, BPF_ANY)) {
		mi->classes_short = true;
		return GW_CLASS_TRIE;	/* out of classes: the trie answers, correctly */
	}
	mi->class_tables[free_id] = tables;
	referenced[free_id] = true;
	return (uint8_t)free_id;
}

static int compare_plen(const void *a, const void *b)
{
	const struct addr_prefix *x = a, *y = b;

	return (int)x->plen - (int)y->plen;
}

/*
 * Repaint the /24s in the dirty range from the networks that touch it,
 * shortest first so that longer networks win, and mark changed pages.
 */
static int rebuild4(struct mapindex *mi)
{
	uint32_t lo = mi->dirty4_lo, hi = mi->dirty4_hi;
	size_t n = 0, cap = 0;
	bool referenced[GW_CLASSES] = { false };
	struct addr_prefix *nets = NULL;
	const struct addr_prefix *key;
	uint8_t *paint;

	if (lo >= hi)
		return 0;
	paint = calloc(hi - lo, 1);
	if (!paint)
		return -ENOMEM;
	for (size_t i = 0; addrmap_next(&mi->nets4, &i, &key, NULL);) {
		if (slot_end(key) <= lo || slot_of(key) >= hi)
			continue;
		if (array_room(&nets, &cap, n + 1, sizeof(*nets), 256)) {
			free(nets);
			free(paint);
			return -ENOMEM;
		}
		nets[n++] = *key;
	}
	qsort(nets, n, sizeof(*nets), compare_plen);
	/* Classes still on pages outside the range stay live. */
	for (uint32_t id = 0; id < GW_CLASSES; id++)
		referenced[id] = lo > 0 || hi < SLOTS4 ? mi->class_used[id] : false;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = slot_of(&nets[i]), end = slot_end(&nets[i]);
		uint8_t class = GW_CLASS_TRIE;

		if (nets[i].plen <= GW_CLASS_NET_MAX_PLEN) {
			const struct gw_entry *e = addrmap_get(&mi->nets4, &nets[i]);

			/* Counted: the entry itself, from gw_nets4 when it is there. */
			if (net_wanted(&nets[i], e) && net_published(&mi->nets4_pub, &nets[i], e))
				class = (uint8_t)(GW_CLASS_NET + nets[i].plen);
			else
				class = class_for(mi, e->tables, referenced);
		}
		s = s < lo ? lo : s;
		end = end > hi ? hi : end;
		memset(paint + (s - lo), class, end - s);
	}
	for (uint32_t s = lo; s < hi; s++) {
		uint8_t want = paint[s - lo] | (mi->slots[s] & GW_SLOT_HOSTS);

		if (want != mi->slots[s]) {
			mi->slots[s] = want;
			mi->page_dirty[s >> 8] = 1;
		}
	}
	free(paint);
	free(nets);
	/* Takes effect after the pages are written: see mapindex_publish(). */
	memcpy(mi->class_used, referenced, sizeof(referenced));
	mi->dirty4_lo = SLOTS4;
	mi->dirty4_hi = 0;
	/*
	 * A partial repaint keeps every earlier class live; when they ran out,
	 * a full one finds those no page uses any more.
	 */
	if (mi->classes_short && (lo > 0 || hi < SLOTS4)) {
		mi->classes_short = false;
		mi->dirty4_lo = 0;
		mi->dirty4_hi = SLOTS4;
		return rebuild4(mi);
	}
	mi->classes_short = false;
	return 0;
}

struct net_map {
	struct addrmap *nets, *pub;
	int fd;
};

static struct net_map net_map(struct mapindex *mi, int family)
{
	if (family == AF_INET)
		return (struct net_map){ &mi->nets4, &mi->nets4_pub, mi->maps.nets4 };
	return (struct net_map){ &mi->nets6, &mi->nets6_pub, mi->maps.nets6 };
}

static void net_key(const struct addr_prefix *net, union net_key *key)
{
	if (net->family == AF_INET)
		addr_to_lpm4(net, &key->k4);
	else
		addr_to_lpm6(net, &key->k6);
}

/*
 * Before the index is rewritten: write the gw_nets4/6 entries that are new
 * or changed (a changed one is replaced in place, so an index entry naming
 * it sees the old entry or the new one). An entry the map refuses (full)
 * is not published: the index does not name it (the trie answers), and
 * its old copy, if any, goes after the rewrite with the others that went.
 */
static int nets_write(struct mapindex *mi, int family)
{
	struct net_map m = net_map(mi, family);
	const struct addr_prefix *key;
	void *value;

	if (m.fd < 0)
		return 0;
	for (size_t i = 0; addrmap_next(m.nets, &i, &key, &value);) {
		union net_key k = { 0 };
		const struct gw_entry *e = value;
		struct gw_entry *pub;

		if (!net_wanted(key, e) || net_published(m.pub, key, e))
			continue;
		pub = addrmap_get(m.pub, key);
		net_key(key, &k);
		if (bpf_map_update_elem(m.fd, &k, e, BPF_ANY)) {
			if (pub) {
				/* Stale now: the index must not name it until it is rewritten. */
				memset(pub, 0, sizeof(*pub));
				if (family == AF_INET)
					mark4(mi, key);
			}
			continue;
		}
		pub = addrmap_put(m.pub, key, NULL);
		if (!pub)
			return -ENOMEM;
		*pub = *e;
	}
	return 0;
}

/* After the index is rewritten: delete the gw_nets4/6 entries it no longer names. */
static int nets_delete(struct mapindex *mi, int family)
{
	struct net_map m = net_map(mi, family);
	struct addr_prefix *gone = NULL;
	const struct addr_prefix *key;
	size_t n = 0, cap = 0;
	void *value;
	int err = 0;

	if (m.fd < 0)
		return 0;
	for (size_t i = 0; addrmap_next(m.pub, &i, &key, &value);) {
		const struct gw_entry *e = addrmap_get(m.nets, key);

		if (e && net_wanted(key, e) && !memcmp(e, value, sizeof(*e)))
			continue;
		if (array_room(&gone, &cap, n + 1, sizeof(*gone), 64)) {
			free(gone);
			return -ENOMEM;
		}
		gone[n++] = *key;
	}
	for (size_t i = 0; i < n; i++) {
		union net_key k = { 0 };

		net_key(&gone[i], &k);
		if (bpf_map_delete_elem(m.fd, &k) && errno != ENOENT)
			err = -errno;
		else
			addrmap_delete(m.pub, &gone[i]);
	}
	free(gone);
	return err;
}

/* Delete gw_nets4/6 keys the mirror does not have (left by an earlier run). */
static int nets_prune_kernel(struct mapindex *mi, int family)
{
	struct net_map m = net_map(mi, family);
	size_t key_size = family == AF_INET ? sizeof(struct gw_lpm4_key)
					    : sizeof(struct gw_lpm6_key);
	struct gw_lpm6_key key, next;	/* the larger of the two */
	uint8_t *stale = NULL;
	size_t n = 0, cap = 0;
	bool first = true;
	int err = 0;

	if (m.fd < 0)
		return 0;
	while (!bpf_map_get_next_key(m.fd, first ? NULL : &key, &next)) {
		struct addr_prefix p = { .family = (uint8_t)family };

		first = false;
		memcpy(&key, &next, key_size);
		p.plen = (uint8_t)next.prefixlen;
		memcpy(p.bytes, next.bytes, family == AF_INET ? 4 : 16);
		if (next.prefixlen <= (family == AF_INET ? 32u : 128u) && addrmap_get(m.pub, &p))
			continue;
		if (array_room(&stale, &cap, n + 1, key_size, 64)) {
			free(stale);
			return -ENOMEM;
		}
		memcpy(stale + n++ * key_size, &next, key_size);
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(m.fd, stale + i * key_size) && errno != ENOENT)
			err = -errno;
	free(stale);
	return err;
}

static int write_pages(struct mapindex *mi)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	static uint32_t keys[PAGE_BATCH];
	static struct gw_index4_page values[PAGE_BATCH];
	uint32_t n = 0;

	for (uint32_t page = 0; page < PAGES4; page++) {
		if (mi->page_dirty[page]) {
			keys[n] = page;
			memcpy(values[n].slot, mi->slots + ((size_t)page << 8), 256);
			n++;
		}
		if (n == PAGE_BATCH || (page == PAGES4 - 1 && n)) {
			uint32_t count = n;

			if (bpf_map_update_batch(mi->maps.index4, keys, values, &count, &opts))
				return -errno;
			n = 0;
		}
	}
	memset(mi->page_dirty, 0, PAGES4);
	return 0;
}

/*
 * One bucket as the mirror has it. Should a write fail, the data path
 * stops asking gw_index6_slots (gw_index6 answers) until the next publish
 * has rewritten it from the mirror.
 */
static int bucket6_write(struct mapindex *mi, uint32_t b)
{
	uint32_t key = GW_CFG_FLAGS;
	uint64_t flags;
	int err;

	if (!bpf_map_update_elem(mi->maps.index6_slots, &b, &mi->bk6[b], BPF_ANY))
		return 0;
	err = -errno;
	mi->slots6_bad = true;
	/* The kernel's flags: before the first publish, an earlier run's. */
	if (bpf_map_lookup_elem(mi->maps.config, &key, &flags) ||
	    !(flags & GW_CFG_F_INDEX6_SLOTS))
		return err;
	flags &= ~(uint64_t)GW_CFG_F_INDEX6_SLOTS;
	if (!bpf_map_update_elem(mi->maps.config, &key, &flags, BPF_ANY) && mi->published)
		mi->flags = flags;
	return err;
}

/* The slot of key in its bucket, or NULL. */
static struct gw_index6_slot *slot6_find(struct mapindex *mi, uint32_t key)
{
	struct gw_index6_bucket *bk = &mi->bk6[gw_index6_bucket_of(key)];

	for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++)
		if (bk->slot[i].state != GW_SLOT6_EMPTY && bk->slot[i].key == key)
			return &bk->slot[i];
	return NULL;
}

static struct gw_index6_slot *slot6_free(struct mapindex *mi, uint32_t key)
{
	struct gw_index6_bucket *bk = &mi->bk6[gw_index6_bucket_of(key)];

	for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++)
		if (bk->slot[i].state == GW_SLOT6_EMPTY)
			return &bk->slot[i];
	return NULL;
}

static int spill6_add(struct mapindex *mi, const struct addr_prefix *p, uint32_t key, int delta)
{
	uint32_t b = gw_index6_bucket_of(key);

	if (delta > 0 && !addrmap_put(&mi->spill6, p, NULL))
		return -ENOMEM;
	if (delta < 0)
		addrmap_delete(&mi->spill6, p);
	mi->bk6[b].spill += (uint32_t)delta;
	return bucket6_write(mi, b);
}

/*
 * Make key's slot say e (gw_index6 has it already): a slot changes only
 * through BUSY, each step one bucket write, so the data path reads the
 * slot as it was, as BUSY (gw_index6 answers) or as it is now.
 */
static int slot6_put(struct mapindex *mi, const struct addr_prefix *p, uint32_t key,
		     const struct gw_index6_entry *e)
{
	uint32_t b = gw_index6_bucket_of(key);
	struct gw_index6_slot want = {
		.key = key,
		.state = GW_SLOT6_LIVE,
		.flags = (uint8_t)(e->flags | (e->tables ? GW_SLOT6_TABLES : 0)),
		.net_plen = (uint8_t)e->net_plen,
	};
	struct gw_index6_slot *s = slot6_find(mi, key);
	bool spilled = addrmap_get(&mi->spill6, p) != NULL;
	int err;

	if (s && !memcmp(s, &want, sizeof(want)))
		return 0;
	if (!s) {
		s = slot6_free(mi, key);
		if (!s)
			return spilled ? 0 : spill6_add(mi, p, key, 1);
	} else if (s->state == GW_SLOT6_LIVE) {
		s->state = GW_SLOT6_BUSY;
		err = bucket6_write(mi, b);
		if (err)
			return err;
	}
	*s = want;
	s->state = GW_SLOT6_BUSY;
	err = bucket6_write(mi, b);
	if (err)
		return err;
	s->state = GW_SLOT6_LIVE;
	err = bucket6_write(mi, b);
	/* A key that had no room is in its slot now: its bucket may stop asking. */
	if (!err && spilled)
		err = spill6_add(mi, p, key, -1);
	return err;
}

/* Before gw_index6 deletes key: its slot empties (one byte) or its spill count drops. */
static int slot6_delete(struct mapindex *mi, const struct addr_prefix *p, uint32_t key)
{
	struct gw_index6_slot *s = slot6_find(mi, key);

	if (s) {
		s->state = GW_SLOT6_EMPTY;
		return bucket6_write(mi, gw_index6_bucket_of(key));
	}
	if (addrmap_get(&mi->spill6, p))
		return spill6_add(mi, p, key, -1);
	return 0;
}

static int index6_write(struct mapindex *mi, const struct addr_prefix *key,
			const struct gw_index6_entry *e)
{
	uint32_t k;
	int err;

	memcpy(&k, key->bytes, 4);
	if (!e->tables && !e->flags) {
		err = slot6_delete(mi, key, k);
		if (err)
			return err;
		if (bpf_map_delete_elem(mi->maps.index6, &k) && errno != ENOENT)
			return -errno;
		addrmap_delete(&mi->index6, key);
		return 0;
	}
	if (bpf_map_update_elem(mi->maps.index6, &k, e, BPF_ANY))
		return -errno;
	struct gw_index6_entry *pub = addrmap_put(&mi->index6, key, NULL);

	if (!pub)
		return -ENOMEM;
	*pub = *e;
	return slot6_put(mi, key, k, e);
}

/*
 * Before the first publish: take gw_index6_slots as it is when the data
 * path uses it (an earlier run wrote it in step with gw_index6), counting
 * gw_index6's keys without a slot as spilled; else empty it, unused.
 */
static int slots6_adopt(struct mapindex *mi)
{
	uint32_t key = GW_CFG_FLAGS, k, next, *prev = NULL;
	uint64_t flags = 0;

	addrmap_clear(&mi->spill6);
	memset(mi->bk6, 0, GW_INDEX6_BUCKETS * sizeof(*mi->bk6));
	if (!mi->published && bpf_map_lookup_elem(mi->maps.config, &key, &flags))
		flags = 0;
	if (!(flags & GW_CFG_F_INDEX6_SLOTS) || mi->slots6_bad) {
		const struct addr_prefix *p;
		void *value;

		/* Unused by the data path: written whole, from the mirror. */
		if (mi->published && (mi->flags & GW_CFG_F_INDEX6_SLOTS)) {
			flags = mi->flags & ~(uint64_t)GW_CFG_F_INDEX6_SLOTS;
			if (bpf_map_update_elem(mi->maps.config, &key, &flags, BPF_ANY))
				return -errno;
			mi->flags = flags;
		}
		mi->slots6_bad = false;
		for (uint32_t b = 0; b < GW_INDEX6_BUCKETS; b++) {
			int err = bucket6_write(mi, b);

			if (err)
				return err;
		}
		for (size_t i = 0; addrmap_next(&mi->index6, &i, &p, &value);) {
			uint32_t k;
			int err;

			memcpy(&k, p->bytes, 4);
			err = slot6_put(mi, p, k, value);
			if (err)
				return err;
		}
		return 0;
	}
	for (uint32_t b = 0; b < GW_INDEX6_BUCKETS; b++) {
		if (bpf_map_lookup_elem(mi->maps.index6_slots, &b, &mi->bk6[b]))
			return -errno;
		mi->bk6[b].spill = 0;
	}
	while (!bpf_map_get_next_key(mi->maps.index6, prev, &next)) {
		struct addr_prefix p = { .family = AF_INET6, .plen = 32 };

		k = next;
		prev = &k;
		if (slot6_find(mi, k))
			continue;
		memcpy(p.bytes, &k, 4);
		if (!addrmap_put(&mi->spill6, &p, NULL))
			return -ENOMEM;
		mi->bk6[gw_index6_bucket_of(k)].spill++;
	}
	/* The spill counts as gw_index6 holds keys now; the slots as they were. */
	for (uint32_t b = 0; b < GW_INDEX6_BUCKETS; b++) {
		struct gw_index6_bucket kb;

		if (bpf_map_lookup_elem(mi->maps.index6_slots, &b, &kb))
			return -errno;
		if (kb.spill != mi->bk6[b].spill) {
			int err = bucket6_write(mi, b);

			if (err)
				return err;
		}
	}
	return 0;
}

/* Delete kernel keys the mirror does not have (left by an earlier run). */
static int index6_prune_kernel(struct mapindex *mi)
{
	uint32_t key, next, *prev = NULL;
	uint32_t *stale = NULL;
	size_t n = 0, cap = 0, ngone = 0, gcap = 0;
	const struct addr_prefix *p6;
	struct addr_prefix *gone = NULL;
	int err = 0;

	/* Slots and spill counts first: they stop naming a key before it goes. */
	for (uint32_t b = 0; b < GW_INDEX6_BUCKETS && !err; b++) {
		struct gw_index6_bucket *bk = &mi->bk6[b];
		bool dirty = false;

		for (int i = 0; i < GW_INDEX6_BUCKET_SLOTS; i++) {
			struct addr_prefix p = { .family = AF_INET6, .plen = 32 };

			if (bk->slot[i].state == GW_SLOT6_EMPTY)
				continue;
			memcpy(p.bytes, &bk->slot[i].key, 4);
			if (addrmap_get(&mi->index6, &p))
				continue;
			bk->slot[i].state = GW_SLOT6_EMPTY;
			dirty = true;
		}
		if (dirty)
			err = bucket6_write(mi, b);
	}
	for (size_t i = 0; !err && addrmap_next(&mi->spill6, &i, &p6, NULL);) {
		if (addrmap_get(&mi->index6, p6))
			continue;
		if (array_room(&gone, &gcap, ngone + 1, sizeof(*gone), 64)) {
			err = -ENOMEM;
			break;
		}
		gone[ngone++] = *p6;
	}
	for (size_t i = 0; !err && i < ngone; i++) {
		uint32_t k;

		memcpy(&k, gone[i].bytes, 4);
		err = spill6_add(mi, &gone[i], k, -1);
	}
	free(gone);
	if (err)
		return err;
	while (!bpf_map_get_next_key(mi->maps.index6, prev, &next)) {
		struct addr_prefix p = { .family = AF_INET6, .plen = 32 };

		key = next;
		prev = &key;
		memcpy(p.bytes, &key, 4);
		if (addrmap_get(&mi->index6, &p))
			continue;
		if (array_room(&stale, &cap, n + 1, sizeof(*stale), 64)) {
			free(stale);
			return -ENOMEM;
		}
		stale[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(mi->maps.index6, &stale[i]) && errno != ENOENT)
			err = -errno;
	free(stale);
	return err;
}

/* Recompute every /32 entry; returns whether a network too short to spread exists. */
static int rebuild6(struct mapindex *mi, bool *short_net)
{
	const struct addr_prefix *key;
	struct addrmap want;
	void *value;
	int err;

	*short_net = false;
	err = addrmap_init(&want, sizeof(struct gw_index6_entry));
	if (err)
		return err;
	for (int plen = 0; plen <= 128 && !err; plen++) {
		for (size_t i = 0; addrmap_next(&mi->nets6, &i, &key, &value);) {
			struct gw_index6_entry *e;
			struct addr_prefix b;

			if (key->plen != plen)
				continue;
			if (plen < GW_INDEX6_MIN_PLEN) {
				*short_net = true;
				continue;
			}
			b = bucket_of(key);
			if (plen > 32) {
				e = addrmap_put(&want, &b, NULL);
				if (!e) {
					err = -ENOMEM;
					break;
				}
				/* Networks of one length in gw_nets6: named by it; else the trie. */
				if (!(e->flags & GW_INDEX6_TRIE) && net_wanted(key, value) &&
				    net_published(&mi->nets6_pub, key, value) &&
				    (!(e->flags & GW_INDEX6_NET) || e->net_plen == (uint32_t)plen)) {
					e->flags |= GW_INDEX6_NET;
					e->net_plen = (uint32_t)plen;
					continue;
				}
				e->flags = (e->flags & ~(uint32_t)GW_INDEX6_NET) | GW_INDEX6_TRIE;
				e->net_plen = 0;
				continue;
			}
			for (uint64_t k = 0; k < (1ULL << (32 - plen)); k++) {
				uint32_t top = ((uint32_t)key->bytes[0] << 24 | key->bytes[1] << 16 |
						key->bytes[2] << 8 | key->bytes[3]) +
					       (uint32_t)k;

				b.bytes[0] = (uint8_t)(top >> 24);
				b.bytes[1] = (uint8_t)(top >> 16);
				b.bytes[2] = (uint8_t)(top >> 8);
				b.bytes[3] = (uint8_t)top;
				e = addrmap_put(&want, &b, NULL);
				if (!e) {
					err = -ENOMEM;
					break;
				}
				e->tables = ((const struct gw_entry *)value)->tables;
			}
		}
	}
	for (size_t i = 0; !err && addrmap_next(&mi->hosts6, &i, &key, NULL);) {
		struct gw_index6_entry *e = addrmap_put(&want, key, NULL);

		if (!e)
			err = -ENOMEM;
		else
			e->flags |= GW_INDEX6_HOSTS;
	}
	/* New and changed entries first, then the ones that went. */
	for (size_t i = 0; !err && addrmap_next(&want, &i, &key, &value);) {
		struct gw_index6_entry *pub = addrmap_get(&mi->index6, key);

		if (!pub || memcmp(pub, value, sizeof(*pub)))
			err = index6_write(mi, key, value);
	}
	if (!err) {
		struct addr_prefix *gone = NULL;
		size_t n = 0, cap = 0;

		for (size_t i = 0; addrmap_next(&mi->index6, &i, &key, NULL);) {
			if (addrmap_get(&want, key))
				continue;
			if (array_room(&gone, &cap, n + 1, sizeof(*gone), 64)) {
				err = -ENOMEM;
				break;
			}
			gone[n++] = *key;
		}
		for (size_t i = 0; !err && i < n; i++) {
			struct gw_index6_entry none = { 0 };

			err = index6_write(mi, &gone[i], &none);
		}
		free(gone);
	}
	addrmap_free(&want);
	return err;
}

/* /32 keys whose host count crossed zero, without a network change. */
static int update_hosts6(struct mapindex *mi)
{
	const struct addr_prefix *key;
	int err = 0;

	for (size_t i = 0; !err && addrmap_next(&mi->dirty6, &i, &key, NULL);) {
		struct gw_index6_entry *pub = addrmap_get(&mi->index6, key);
		struct gw_index6_entry e = pub ? *pub : (struct gw_index6_entry){ 0 };

		if (addrmap_get(&mi->hosts6, key))
			e.flags |= GW_INDEX6_HOSTS;
		else
			e.flags &= ~(uint32_t)GW_INDEX6_HOSTS;
		if (!pub || memcmp(pub, &e, sizeof(e)))
			err = index6_write(mi, key, &e);
	}
	return err;
}

int mapindex_publish(struct mapindex *mi)
{
	bool short_net = (mi->flags & GW_CFG_F_INDEX6_OFF) != 0;
	uint32_t key = GW_CFG_FLAGS;
	uint64_t flags;
	bool repaint;
	int err = 0;

	if (!mi->published) {
		memset(mi->page_dirty, 1, PAGES4);
		mi->dirty4_lo = 0;
		mi->dirty4_hi = SLOTS4;
		mi->nets6_dirty = true;
	}
	/* gw_nets4 entries are written before a page names them and deleted after none does. */
	repaint = mi->dirty4_lo < mi->dirty4_hi;
	if (repaint)
		err = nets_write(mi, AF_INET);
	if (!err)
		err = rebuild4(mi);
	if (!err)
		err = write_pages(mi);
	if (!err && repaint)
		err = nets_delete(mi, AF_INET);
	if (!err && !mi->published)
		err = nets_prune_kernel(mi, AF_INET);
	if (err)
		return err;
	if (!mi->published || mi->slots6_bad) {
		err = slots6_adopt(mi);
		if (err)
			return err;
	}
	if (mi->nets6_dirty) {
		err = nets_write(mi, AF_INET6);
		if (!err)
			err = rebuild6(mi, &short_net);
		if (!err)
			err = nets_delete(mi, AF_INET6);
		if (!err && !mi->published)
			err = index6_prune_kernel(mi);
		if (!err && !mi->published)
			err = nets_prune_kernel(mi, AF_INET6);
	} else {
		err = update_hosts6(mi);
	}
	if (err)
		return err;
	mi->nets6_dirty = false;
	addrmap_clear(&mi->dirty6);
	flags = GW_CFG_F_INDEX_READY | (short_net ? GW_CFG_F_INDEX6_OFF : 0) |
		(mi->slots6_bad ? 0 : GW_CFG_F_INDEX6_SLOTS);
	if (!mi->published || flags != mi->flags) {
		if (bpf_map_update_elem(mi->maps.config, &key, &flags, BPF_ANY))
			return -errno;
		mi->flags = flags;
	}
	mi->published = true;
	return 0;
}
