// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/array.h"
#include "tables/tablefile.h"
#include "tables/tables.h"

/*
 * One node per distinct address or prefix in any table. `own` is the set
 * of tables the key itself is in; the data path holds the effective set
 * (own plus every covering prefix's own) in `in_map`.
 */
struct table_node {
	uint64_t own;
	uint64_t in_map;	/* effective set written to the map; 0 = absent */
	/* In+out packets at the last last-seen check, modulo 2^63: the flag
	 * shares the word, a node is 24 bytes and a million-entry map 16 MiB
	 * smaller than with a word of its own. */
	uint64_t seen_packets : 63;
	uint64_t queued : 1;	/* in t->changed */
};

_Static_assert(sizeof(struct table_node) == 24, "a node is three words");

/* Beyond this many changed prefixes a commit recomputes every node. */
#define TARGETED_RECOMPUTE_MAX 64
/* Host map writes are sent in batches of this many entries. */
#define MAP_BATCH 8192
/*
 * Loops over many keys ask for the slots of the key this many places
 * ahead: the probes of a million-entry map miss the cache, and this way
 * several misses are under way at once instead of one after the other.
 */
#define PREFETCH_AHEAD 8
/* From this many changed keys on, the store commits beside the map writes. */
#define COMMIT_BESIDE_MIN 4096
/* From this many addresses on, a load's new map pages are faulted in beside it. */
#define POPULATE_BESIDE_MIN 65536
/*
 * Unsaved keys that are in no table any more, at most, per table entry
 * the limits allow: removals an outsider can churn (overload entries that
 * expire while the disk is full) must not grow memory without end. Keys
 * still in a table are always kept; the model bounds them.
 */
#define UNSAVED_REMOVALS_PER_LIMIT 2

static int family_index(const struct addr_prefix *p)
{
	return p->family == AF_INET ? 0 : 1;
}

static bool table_stored(const struct tables *t, int idx)
{
	return t->store && !(t->table[idx].flags & CONFIG_TABLE_ANONYMOUS);
}

int tables_find(const struct tables *t, const char *name)
{
	for (size_t i = 0; i < t->ntables; i++)
		if (!strcmp(t->table[i].name, name))
			return (int)i;
	return -1;
}

/* Note an evidence id in a sorted set; ids come ascending, but keep the order whatever comes. */
static int evidence_ids_note(struct evidence_ids *set, int64_t id)
{
	size_t at = set->n;

	if (array_room(&set->ids, &set->cap, set->n + 1, sizeof(*set->ids), 64))
		return -ENOMEM;
	while (at > 0 && set->ids[at - 1] >= id) {
		if (set->ids[at - 1] == id)
			return 0;
		at--;
	}
	memmove(&set->ids[at + 1], &set->ids[at], (set->n - at) * sizeof(*set->ids));
	set->ids[at] = id;
	set->n++;
	return 0;
}

static bool evidence_ids_has(const struct evidence_ids *set, int64_t id)
{
	size_t lo = 0, hi = set->n;

	if (id <= 0)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->ids[mid] == id)
			return true;
		if (set->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int peer_evidence_note(void *ctx, int64_t id)
{
	return evidence_ids_note(&((struct tables *)ctx)->peer_evidence, id);
}

static int crowdsec_evidence_note(void *ctx, int64_t id)
{
	return evidence_ids_note(&((struct tables *)ctx)->crowdsec_evidence, id);
}

bool tables_evidence_is_peer(const struct tables *t, int64_t id)
{
	return evidence_ids_has(&t->peer_evidence, id);
}

bool tables_evidence_is_crowdsec(const struct tables *t, int64_t id)
{
	return evidence_ids_has(&t->crowdsec_evidence, id);
}

/* Evidence that yields to a local writer's: a peer's or CrowdSec's. */
static bool evidence_yields(const struct tables *t, int64_t id)
{
	return tables_evidence_is_peer(t, id) || tables_evidence_is_crowdsec(t, id);
}

/* Evidence of a remote writer (peer, CrowdSec): recorded, and its id noted in set. */
static int64_t remote_evidence(struct tables *t, struct evidence_ids *set, const char *source,
			       const char *detail, int64_t now)
{
	int64_t id = tables_evidence(t, source, detail, now);
	int err;

	if (id <= 0)
		return id;
	err = evidence_ids_note(set, id);
	return err ? err : id;
}

int64_t tables_peer_evidence(struct tables *t, const char *detail, int64_t now)
{
	return remote_evidence(t, &t->peer_evidence, "peer", detail, now);
}

int64_t tables_crowdsec_evidence(struct tables *t, const char *detail, int64_t now)
{
	return remote_evidence(t, &t->crowdsec_evidence, "crowdsec", detail, now);
}

const struct entry_meta *tables_entry(const struct tables *t, int idx, const struct addr_prefix *p)
{
	return addrmap_get(&t->table[idx].entries, p);
}

int tables_init(struct tables *t, const struct config *cfg, struct store *st,
		const struct tables_maps *maps)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->store = st;
	t->maps = *maps;
	t->limit_hosts = cfg->limit_table_hosts;
	t->limit_prefixes = cfg->limit_table_prefixes;
	err = addrmap_init(&t->nodes, sizeof(struct table_node));
	if (!err)
		err = counter_slots_init(&t->counter_slots, maps->counters, maps->counters_spill);
	if (!err)
		err = addrmap_init(&t->unsaved, sizeof(struct unsaved_key));
	if (!err)
		err = addrmap_init(&t->group_removed, sizeof(struct unsaved_key));
	if (!err)
		err = mapindex_init(&t->index, &maps->index);
	if (!err && st)
		err = store_evidence_ids(st, "peer", peer_evidence_note, t);
	if (!err && st)
		err = store_evidence_ids(st, "crowdsec", crowdsec_evidence_note, t);
	for (size_t i = 0; !err && i < cfg->ntables && i < GW_MAX_TABLES; i++) {
		struct table *tb = &t->table[i];

		snprintf(tb->name, sizeof(tb->name), "%s", cfg->tables[i].name);
		tb->flags = cfg->tables[i].flags;
		if (tb->flags & CONFIG_TABLE_COUNTERS)
			t->counted_tables |= 1ULL << i;
		tb->timeout = cfg->tables[i].timeout;
		if (cfg->tables[i].nfiles) {
			tb->save_path = strdup(cfg->tables[i].files[0]);
			if (!tb->save_path)
				err = -ENOMEM;
		}
		if (!err)
			err = addrmap_init(&tb->entries, sizeof(struct entry_meta));
		if (!err)
			err = addrmap_init(&tb->baselines, sizeof(struct gw_counters));
		t->ntables = i + 1;
	}
	if (err)
		tables_free(t);
	return err;
}

void tables_free(struct tables *t)
{
	for (size_t i = 0; i < t->ntables; i++) {
		addrmap_free(&t->table[i].entries);
		addrmap_free(&t->table[i].baselines);
		addr_list_free(&t->table[i].unstore);
		free(t->table[i].save_path);
	}
	addrmap_free(&t->nodes);
	counter_slots_free(&t->counter_slots);
	addrmap_free(&t->unsaved);
	addrmap_free(&t->group_removed);
	addr_list_free(&t->changed);
	if (t->index.slots)
		mapindex_free(&t->index);
	free(t->peer_evidence.ids);
	free(t->crowdsec_evidence.ids);
	memset(t, 0, sizeof(*t));
}

static int group_open(struct tables *t)
{
	if (t->in_group)
		return 0;
	t->in_group = true;
	return t->store ? store_begin(t->store) : 0;
}

int tables_begin(struct tables *t)
{
	return group_open(t);
}

const char *const tables_source_names[TABLES_SOURCES] = {
	"manual",   "import", "config", "overload", "greytrap", "greylist",
	"spamlogd", "log",    "sync",   "peer",	    "crowdsec", "other",
};

/* Remember which source an evidence id is, for the additions that follow it. */
static void source_note(struct tables *t, int64_t id, const char *source)
{
	size_t i = 0;

	while (i < TABLES_SOURCES - 1 && strcmp(tables_source_names[i], source))
		i++;
	t->recent_evidence[t->recent_next] = (struct tables_recent_evidence){ id, (uint8_t)i };
	t->recent_next = (t->recent_next + 1) % TABLES_RECENT_EVIDENCE;
}

/* An addition counted by its evidence's source: one of the last ids made, else "other". */
static void count_addition(struct tables *t, int64_t id)
{
	size_t source = TABLES_SOURCES - 1;

	for (size_t i = 0; i < TABLES_RECENT_EVIDENCE; i++)
		if (id > 0 && t->recent_evidence[i].id == id)
			source = t->recent_evidence[i].source;
	t->added[source]++;
}

int64_t tables_evidence(struct tables *t, const char *source, const char *detail, int64_t now)
{
	struct evidence ev = { .when = now };
	int64_t id;
	int err;

	if (!t->store)
		return 0;
	err = group_open(t);
	if (err)
		return err;
	snprintf(ev.source, sizeof(ev.source), "%s", source);
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	id = store_evidence_add(t->store, &ev);
	if (id > 0)
		source_note(t, id, source);
	return id;
}

/* Queue a node whose own membership changed for the next commit, once. */
static int mark_changed(struct tables *t, struct table_node *node, const struct addr_prefix *p)
{
	int err;

	/* Until the first sync, which applies every node, there is no queue. */
	if (node->queued || !t->maps_synced)
		return 0;
	err = addr_list_push(&t->changed, p);
	if (err)
		return err;
	node->queued = true;
	if (!addr_is_host(p))
		t->changed_prefixes++;
	return 0;
}

/* Membership bookkeeping shared by add and restore. */
static int node_join(struct tables *t, int idx, const struct addr_prefix *p,
		     struct table_node **out)
{
	struct table_node *node;
	int created;

	node = addrmap_put(&t->nodes, p, &created);
	if (!node)
		return -ENOMEM;
	if (created && !addr_is_host(p))
		t->prefix_lengths[family_index(p)][p->plen]++;
	node->own |= 1ULL << idx;
	*out = node;
	return mark_changed(t, node, p);
}

static int node_leave(struct tables *t, int idx, const struct addr_prefix *p)
{
	struct table_node *node = addrmap_get(&t->nodes, p);

	if (!node)
		return 0;
	node->own &= ~(1ULL << idx);
	/* The node itself goes at commit time, after its map entry is gone. */
	return mark_changed(t, node, p);
}

static void table_count(struct table *tb, const struct addr_prefix *p, int delta)
{
	if (addr_is_host(p))
		tb->nhosts += delta;
	else
		tb->nprefixes += delta;
}

int tables_reserve(struct tables *t, int idx, size_t n)
{
	int err = addrmap_reserve(&t->table[idx].entries, n);

	if (!err)
		err = addrmap_reserve(&t->nodes, n);
	if (!err && t->maps_synced)
		err = addr_list_reserve(&t->changed, n);
	return err;
}

/*
 * Put p with *meta into table idx unless it is there: 1 with the entry's
 * metadata and node, 0 when it was there, -ENOSPC when the table is full.
 * One probe of each map: this is the path of million-entry loads.
 */
static int entry_add(struct tables *t, int idx, const struct addr_prefix *p,
		     const struct entry_meta *meta, struct entry_meta **out,
		     struct table_node **node)
{
	struct table *tb = &t->table[idx];
	struct entry_meta *m;
	int created, err;

	m = addrmap_put(&tb->entries, p, &created);
	if (!m)
		return -ENOMEM;
	if (!created)
		return 0;
	if (addr_is_host(p) ? tb->nhosts >= t->limit_hosts : tb->nprefixes >= t->limit_prefixes) {
		addrmap_delete(&tb->entries, p);
		tb->refused_full++;
		return -ENOSPC;
	}
	*m = *meta;
	table_count(tb, p, 1);
	if (tb->timeout) {
		int64_t due = m->cleared + (int64_t)tb->timeout + 1;

		if (!tb->next_expiry || due < tb->next_expiry)
			tb->next_expiry = due;
	}
	err = node_join(t, idx, p, node);
	if (err)
		return err;
	*out = m;
	return 1;
}

/* Record an entry's baseline; the side map holds only non-zero ones. */
static int set_baseline(struct table *tb, const struct addr_prefix *p,
			const struct gw_counters *c)
{
	struct gw_counters *kept;
	bool any = false;

	for (int d = 0; d < GW_DIR_MAX; d++)
		any |= c->packets[d] || c->bytes[d];
	if (!any) {
		addrmap_delete(&tb->baselines, p);
		return 0;
	}
	kept = addrmap_put(&tb->baselines, p, NULL);
	if (!kept)
		return -ENOMEM;
	*kept = *c;
	return 0;
}

/* Write an entry to the store, if its table is kept there. */
static int entry_store(struct tables *t, int idx, const struct addr_prefix *p,
		       const struct entry_meta *m)
{
	struct table *tb = &t->table[idx];

	if (!table_stored(t, idx))
		return 0;
	return store_entry_put(t->store, tb->name, p, m, addrmap_get(&tb->baselines, p));
}

int tables_restore(struct tables *t, int idx, const struct addr_prefix *p,
		   const struct entry_meta *meta, const struct gw_counters *baseline)
{
	struct table_node *node;
	struct entry_meta *m;
	int ret = entry_add(t, idx, p, meta, &m, &node);

	if (ret > 0 && baseline) {
		int err = set_baseline(&t->table[idx], p, baseline);

		if (err)
			return err;
	}
	return ret;
}

/* A key for whichever map holds p: the host map or a family's trie. */
union map_key {
	struct gw_addr host;
	struct gw_lpm4_key v4;
	struct gw_lpm6_key v6;
};

static int map_key_for(const struct tables *t, const struct addr_prefix *p, union map_key *key)
{
	if (addr_is_host(p)) {
		addr_to_key(p, &key->host);
		return t->maps.hosts;
	}
	if (p->family == AF_INET) {
		addr_to_lpm4(p, &key->v4);
		return t->maps.prefix4;
	}
	addr_to_lpm6(p, &key->v6);
	return t->maps.prefix6;
}

/*
 * Current counters of a node: its map entry's slot, summed over the CPUs;
 * zero when it has no slot (in no `counters` table).
 */
static int node_read_counters(const struct tables *t, const struct addr_prefix *p,
			      struct gw_counters *out)
{
	struct gw_entry entry;
	union map_key key;
	int fd = map_key_for(t, p, &key);

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, &entry))
		return -errno;
	return counter_slots_read(&t->counter_slots, entry.counter, out);
}

/*
 * The counter slot an entry of effective set tables_set should have, given
 * the one it has (0: none): kept while the set has a `counters` table, a
 * new one when it gains one, none when it has none. A slot that runs out
 * leaves the entry enforced, without counters.
 */
static uint32_t node_counter_slot(struct tables *t, uint64_t tables_set, uint32_t had)
{
	uint32_t slot = 0;

	if (!(tables_set & t->counted_tables))
		return 0;
	if (had)
		return had;
	counter_slots_take(&t->counter_slots, &slot);
	return slot;
}

/*
 * p is in table idx already. If only a peer or CrowdSec listed it and this writer is
 * neither, the entry becomes this writer's: its evidence and time, the
 * clock of the table's timeout restarted. Returns 0 or -errno.
 */
static int entry_take_local(struct tables *t, int idx, const struct addr_prefix *p,
			    int64_t evidence_id, int64_t now)
{
	struct table *tb = &t->table[idx];
	struct entry_meta *m = addrmap_get(&tb->entries, p);

	int ret;

	if (!m || !evidence_yields(t, m->evidence_id) || evidence_yields(t, evidence_id) ||
	    evidence_id <= 0)
		return 0;
	m->evidence_id = evidence_id;
	m->added = m->cleared = now;
	tb->dirty = true;
	ret = entry_store(t, idx, p, m);
	if (!ret && t->on_add)
		t->on_add(t->on_add_ctx, idx, p, evidence_id, now);
	return ret;
}

int tables_add(struct tables *t, int idx, const struct addr_prefix *p, int64_t evidence_id,
	       int64_t now)
{
	struct entry_meta meta = { .added = now, .cleared = now, .evidence_id = evidence_id };
	struct table_node *node;
	struct entry_meta *m;
	int ret = group_open(t);

	if (ret)
		return ret;
	ret = entry_add(t, idx, p, &meta, &m, &node);
	if (ret == 0)
		return entry_take_local(t, idx, p, evidence_id, now);
	if (ret < 0)
		return ret;
	/*
	 * The address may already be counted for another table: start this
	 * entry's counters from what the data path holds now.
	 */
	if (node->in_map) {
		struct gw_counters now_counted;

		node_read_counters(t, p, &now_counted);
		ret = set_baseline(&t->table[idx], p, &now_counted);
		if (ret)
			return ret;
	}
	/* The entry records its addition; the history gets it on removal. */
	ret = entry_store(t, idx, p, m);
	if (ret)
		return ret;
	t->table[idx].dirty = true;
	count_addition(t, evidence_id);
	if (t->on_add && !evidence_yields(t, evidence_id))
		t->on_add(t->on_add_ctx, idx, p, evidence_id, now);
	return 1;
}

/* The pages of the maps a load fills, faulted in on a thread of its own. */
struct populate_job {
	struct addrmap_pages pages[2];
};

static void *populate_thread(void *arg)
{
	struct populate_job *job = arg;

	/* Advice only: the load faults in what is not populated. */
	for (int i = 0; i < 2; i++)
		addrmap_populate(job->pages[i]);
	return NULL;
}

int tables_add_list(struct tables *t, int idx, const struct addr_prefix *list, size_t n,
		    int64_t evidence_id, int64_t now, size_t *added, size_t *refused)
{
	struct populate_job job;
	bool populating = false;
	pthread_t thread;
	int ret = 0;

	*added = *refused = 0;
	/* One allocation up front instead of a dozen doublings on a big load. */
	if (n > 1024)
		tables_reserve(t, idx, n);
	/*
	 * A large load fills maps of hundreds of MiB at random, and the first
	 * touch of a page costs more than the probe that touches it: another
	 * thread faults the pages in meanwhile.
	 */
	if (n >= POPULATE_BESIDE_MIN) {
		job.pages[0] = addrmap_pages(&t->table[idx].entries);
		job.pages[1] = addrmap_pages(&t->nodes);
		populating = !pthread_create(&thread, NULL, populate_thread, &job);
	}
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n) {
			addrmap_prefetch(&t->table[idx].entries, &list[i + PREFETCH_AHEAD]);
			addrmap_prefetch(&t->nodes, &list[i + PREFETCH_AHEAD]);
		}
		ret = tables_add(t, idx, &list[i], evidence_id, now);
		if (ret > 0)
			(*added)++;
		else if (ret == -ENOSPC)
			(*refused)++;
		else if (ret < 0)
			break;
	}
	if (populating)
		pthread_join(thread, NULL);
	return ret < 0 && ret != -ENOSPC ? ret : 0;
}

/* Note that p left table idx, for the store to catch up with should its write fail. */
static int removal_note(struct addrmap *m, int idx, const struct addr_prefix *p, int64_t when,
			const char *action, int64_t evidence_id)
{
	struct unsaved_key *u = addrmap_put(m, p, NULL);

	if (!u)
		return -ENOMEM;
	u->when = when;
	u->evidence_id = evidence_id;
	u->action = action;
	u->removed_from |= 1ULL << idx;
	return 0;
}

int tables_delete(struct tables *t, int idx, const struct addr_prefix *p, const char *action,
		  int64_t evidence_id, int64_t now)
{
	struct table *tb = &t->table[idx];
	int err;

	if (addrmap_delete(&tb->entries, p))
		return 0;
	addrmap_delete(&tb->baselines, p);
	err = group_open(t);
	if (err)
		return err;
	table_count(tb, p, -1);
	tb->dirty = true;
	err = node_leave(t, idx, p);
	if (!err && table_stored(t, idx)) {
		err = removal_note(&t->group_removed, idx, p, now, action, evidence_id);
		if (!err)
			err = store_entry_remove(t->store, now, tb->name, p, action, evidence_id);
		if (err == -ENOENT)
			err = 0;
	}
	return err ? err : 1;
}

int tables_zero(struct tables *t, int idx, const struct addr_prefix *p, int64_t now)
{
	struct entry_meta *m = addrmap_get(&t->table[idx].entries, p);
	struct gw_counters now_counted;
	int err;

	if (!m)
		return 0;
	err = group_open(t);
	if (err)
		return err;
	node_read_counters(t, p, &now_counted);
	m->cleared = now;
	/* Queued though its membership stays: a failed commit then keeps the key. */
	err = mark_changed(t, addrmap_get(&t->nodes, p), p);
	if (!err)
		err = set_baseline(&t->table[idx], p, &now_counted);
	if (!err)
		err = entry_store(t, idx, p, m);
	if (!err && table_stored(t, idx))
		err = store_history_add(t->store, now, t->table[idx].name, p, "zero", 0);
	return err ? err : 1;
}

/* Own membership of every prefix that covers p (strictly shorter). */
static uint64_t covering_membership(const struct tables *t, const struct addr_prefix *p)
{
	const uint32_t *lengths = t->prefix_lengths[family_index(p)];
	uint64_t set = 0;

	for (int len = 0; len < p->plen; len++) {
		struct addr_prefix cut;
		struct table_node *node;

		if (!lengths[len])
			continue;
		cut = *p;
		cut.plen = (uint8_t)len;
		addr_mask(&cut);
		node = addrmap_get(&t->nodes, &cut);
		if (node)
			set |= node->own;
	}
	return set;
}

uint64_t tables_lookup(const struct tables *t, const struct addr_prefix *addr)
{
	struct table_node *node = addrmap_get(&t->nodes, addr);

	return (node ? node->own : 0) | covering_membership(t, addr);
}

/*
 * Write one node's entry; its counter slot, and so its counters, are
 * carried over from the map while it stays in a `counters` table.
 */
static int map_write(struct tables *t, const struct addr_prefix *p, uint64_t tables_set,
		     bool exists)
{
	struct gw_entry entry = { .tables = tables_set };
	uint32_t had = 0;
	union map_key key;
	int fd = map_key_for(t, p, &key);

	if (exists) {
		struct gw_entry old;

		if (!bpf_map_lookup_elem(fd, &key, &old))
			had = old.counter;
	}
	entry.counter = node_counter_slot(t, tables_set, had);
	if (bpf_map_update_elem(fd, &key, &entry, BPF_ANY)) {
		int err = -errno;

		if (entry.counter != had)
			counter_slots_give(&t->counter_slots, entry.counter);
		return err;
	}
	if (had != entry.counter)
		counter_slots_give(&t->counter_slots, had);
	if (!addr_is_host(p))
		return mapindex_net(&t->index, p, tables_set, entry.counter);
	return exists ? 0 : mapindex_host(&t->index, p, true);
}

static int map_remove(struct tables *t, const struct addr_prefix *p, bool was_there)
{
	struct gw_entry old = { 0 };
	union map_key key;
	int fd = map_key_for(t, p, &key);

	if (was_there && bpf_map_lookup_elem(fd, &key, &old))
		old.counter = 0;
	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		return -errno;
	counter_slots_give(&t->counter_slots, old.counter);
	if (!was_there)
		return 0;
	if (!addr_is_host(p))
		return mapindex_net(&t->index, p, 0, 0);
	return mapindex_host(&t->index, p, false);
}

/* New host entries, written in batches (the path of large loads). */
struct host_batch {
	struct gw_addr keys[MAP_BATCH];
	struct gw_entry values[MAP_BATCH];
	struct addr_prefix prefixes[MAP_BATCH];
	uint32_t n;
};

static void drop_everywhere(struct tables *t, const struct addr_prefix *p);

static int host_batch_flush(struct tables *t, struct host_batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t done = 0;
	int err = 0;

	while (done < b->n) {
		uint32_t count = b->n - done;
		int failed = bpf_map_update_batch(t->maps.hosts, &b->keys[done], &b->values[done],
						  &count, &opts);

		for (uint32_t k = done; k < done + count && !err; k++)
			err = mapindex_host(&t->index, &b->prefixes[k], true);
		done += count;
		if (!failed)
			continue;
		/* The entry at done failed (map full): take it out. */
		if (done < b->n) {
			struct table_node *node = addrmap_get(&t->nodes, &b->prefixes[done]);

			if (node)
				node->in_map = 0;
			counter_slots_give(&t->counter_slots, b->values[done].counter);
			drop_everywhere(t, &b->prefixes[done]);
			t->map_write_failures++;
			err = -ENOSPC;
			done++;
		}
	}
	b->n = 0;
	return err;
}

/* Take a key out of every table after the data path refused it. */
static void drop_everywhere(struct tables *t, const struct addr_prefix *p)
{
	struct table_node *node = addrmap_get(&t->nodes, p);

	if (!node)
		return;
	for (size_t i = 0; i < t->ntables; i++) {
		if (!(node->own & (1ULL << i)))
			continue;
		if (!addrmap_delete(&t->table[i].entries, p)) {
			addrmap_delete(&t->table[i].baselines, p);
			table_count(&t->table[i], p, -1);
			t->table[i].refused_full++;
			/* Out of the store after the commit: it may be under way. */
			if (table_stored(t, (int)i))
				addr_list_push(&t->table[i].unstore, p);
		}
	}
	if (!addr_is_host(p))
		t->prefix_lengths[family_index(p)][p->plen]--;
	addrmap_delete(&t->nodes, p);
}

/*
 * Bring one node's map entry in line. Nodes without membership are removed
 * from the map and the index; new hosts go to the batch.
 */
static int node_apply(struct tables *t, const struct addr_prefix *p, struct host_batch *batch,
		      struct addr_list *gone)
{
	struct table_node *node = addrmap_get(&t->nodes, p);
	uint64_t want;
	int err;

	if (!node)
		return 0;
	node->queued = false;
	if (!node->own) {
		err = map_remove(t, p, node->in_map != 0);
		if (err)
			return err;
		node->in_map = 0;
		/* Deleting now would move entries under an ongoing iteration. */
		return addr_list_push(gone, p);
	}
	want = node->own | covering_membership(t, p);
	if (want == node->in_map)
		return 0;
	if (!node->in_map && addr_is_host(p)) {
		uint32_t i = batch->n++;

		addr_to_key(p, &batch->keys[i]);
		memset(&batch->values[i], 0, sizeof(batch->values[i]));
		batch->values[i].tables = want;
		batch->values[i].counter = node_counter_slot(t, want, 0);
		batch->prefixes[i] = *p;
		node->in_map = want;
		return batch->n == MAP_BATCH ? host_batch_flush(t, batch) : 0;
	}
	err = map_write(t, p, want, node->in_map != 0);
	if (err) {
		if (!node->in_map) {
			drop_everywhere(t, p);
			t->map_write_failures++;
			return -ENOSPC;
		}
		return err;
	}
	node->in_map = want;
	return 0;
}

static bool covered_by_one_of(const struct addr_list *nets, const struct addr_prefix *p)
{
	for (size_t i = 0; i < nets->n; i++)
		if (addr_contains(&nets->items[i], p) && !addr_equal(&nets->items[i], p))
			return true;
	return false;
}

/* Every node (all) or every node under a changed prefix, collected. */
static int collect_covered(struct tables *t, bool all, struct addr_list *todo)
{
	struct addr_list nets = { 0 };
	const struct addr_prefix *key;
	int err = 0;

	for (size_t i = 0; !all && !err && i < t->changed.n; i++)
		if (!addr_is_host(&t->changed.items[i]))
			err = addr_list_push(&nets, &t->changed.items[i]);
	for (size_t i = 0; !err && addrmap_next(&t->nodes, &i, &key, NULL);)
		if (all || covered_by_one_of(&nets, key))
			err = addr_list_push(todo, key);
	addr_list_free(&nets);
	return err;
}

static int apply_all(struct tables *t, bool everything)
{
	struct host_batch *batch = calloc(1, sizeof(*batch));
	struct addr_list gone = { 0 }, todo = { 0 };
	int err, first_err = 0;

	if (!batch)
		return -ENOMEM;
	/*
	 * Changed keys first, then (when prefixes changed) every node under
	 * them, or every node at all when many prefixes changed. Each node's
	 * effective set is computed from the model, not from the map, so the
	 * order of writes does not matter for correctness.
	 */
	for (size_t i = 0; i < t->changed.n; i++) {
		if (i + PREFETCH_AHEAD < t->changed.n)
			addrmap_prefetch(&t->nodes, &t->changed.items[i + PREFETCH_AHEAD]);
		err = node_apply(t, &t->changed.items[i], batch, &gone);
		if (err && !first_err)
			first_err = err;
	}
	if (everything || t->changed_prefixes) {
		/* Collect first: node_apply may delete refused nodes. */
		err = collect_covered(t, everything || t->changed_prefixes > TARGETED_RECOMPUTE_MAX,
				      &todo);
		if (err)
			goto out;
		for (size_t i = 0; i < todo.n; i++) {
			err = node_apply(t, &todo.items[i], batch, &gone);
			if (err && !first_err)
				first_err = err;
		}
	}
	err = host_batch_flush(t, batch);
	if (err && !first_err)
		first_err = err;
	for (size_t i = 0; i < gone.n; i++) {
		const struct addr_prefix *p = &gone.items[i];
		struct table_node *node = addrmap_get(&t->nodes, p);

		if (node && !node->own) {
			if (!addr_is_host(p))
				t->prefix_lengths[family_index(p)][p->plen]--;
			addrmap_delete(&t->nodes, p);
		}
	}
	err = first_err;
out:
	addr_list_free(&todo);
	addr_list_free(&gone);
	free(batch);
	return err;
}

/* Table bits of the tables kept in the store. */
static uint64_t stored_tables(const struct tables *t)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < t->ntables; i++)
		if (table_stored(t, (int)i))
			mask |= 1ULL << i;
	return mask;
}

/* Keep p for the store to catch up with; removal, when not NULL, says how it left. */
static void unsaved_keep(struct tables *t, const struct addr_prefix *p,
			 const struct unsaved_key *removal)
{
	const struct table_node *node = addrmap_get(&t->nodes, p);
	size_t bound = UNSAVED_REMOVALS_PER_LIMIT *
		       ((size_t)t->limit_hosts + (size_t)t->limit_prefixes);
	struct unsaved_key *u;

	if (!(node && (node->own & stored_tables(t))) && t->unsaved.count >= bound &&
	    !addrmap_get(&t->unsaved, p)) {
		t->unsaved_dropped++;
		return;
	}
	u = addrmap_put(&t->unsaved, p, NULL);
	if (!u) {
		t->unsaved_dropped++;
		return;
	}
	if (removal) {
		u->when = removal->when;
		u->evidence_id = removal->evidence_id;
		u->action = removal->action;
		u->removed_from |= removal->removed_from;
	}
}

/* A commit failed: every key it wrote, or all of them before the first sync. */
static void unsaved_keep_group(struct tables *t, const struct addr_list *group, bool all)
{
	const struct addr_prefix *key;
	void *value;

	for (size_t i = 0; i < group->n; i++)
		unsaved_keep(t, &group->items[i], NULL);
	for (size_t i = 0; all && addrmap_next(&t->nodes, &i, &key, NULL);)
		unsaved_keep(t, key, NULL);
	for (size_t i = 0; addrmap_next(&t->group_removed, &i, &key, &value);)
		unsaved_keep(t, key, value);
}

/* Write every unsaved key into the open transaction, as the model has it now. */
static int unsaved_write(struct tables *t)
{
	const struct addr_prefix *key;
	void *value;
	int err = 0;

	for (size_t i = 0; !err && addrmap_next(&t->unsaved, &i, &key, &value);) {
		const struct unsaved_key *u = value;

		for (size_t idx = 0; !err && idx < t->ntables; idx++) {
			const struct table *tb = &t->table[idx];
			const struct entry_meta *m;

			if (!table_stored(t, (int)idx))
				continue;
			m = addrmap_get(&tb->entries, key);
			if (m)
				err = entry_store(t, (int)idx, key, m);
			else if (!(u->removed_from & (1ULL << idx)))
				continue;
			else if (u->action)
				err = store_entry_remove(t->store, u->when, tb->name, key, u->action,
							 u->evidence_id);
			else
				err = store_entry_delete(t->store, tb->name, key);
			if (err == -ENOENT)
				err = 0;
		}
	}
	return err;
}

void tables_unsaved(const struct tables *t, struct tables_unsaved_count *out)
{
	uint64_t stored = stored_tables(t);
	const struct addr_prefix *key;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; addrmap_next(&t->unsaved, &i, &key, NULL);) {
		const struct table_node *node = addrmap_get(&t->nodes, key);

		if (node && (node->own & stored))
			out->entries++;
		else
			out->removals++;
	}
}

/*
 * Delete from the store the entries the maps refused (see drop_everywhere()).
 * Those it cannot delete wait with the unsaved keys.
 */
static int unstore_refused(struct tables *t)
{
	bool any = false, own;
	int err = 0;

	for (size_t i = 0; i < t->ntables; i++)
		any |= t->table[i].unstore.n != 0;
	if (!any)
		return 0;
	own = !t->in_group;
	if (own)
		err = store_begin(t->store);
	for (size_t i = 0; i < t->ntables; i++) {
		struct table *tb = &t->table[i];

		for (size_t k = 0; !err && k < tb->unstore.n; k++) {
			err = store_entry_delete(t->store, tb->name, &tb->unstore.items[k]);
			if (err == -ENOENT)
				err = 0;
		}
	}
	if (own && !err)
		err = store_commit(t->store);
	else if (own)
		store_rollback(t->store);
	for (size_t i = 0; i < t->ntables; i++) {
		struct table *tb = &t->table[i];
		struct unsaved_key gone = { .removed_from = 1ULL << i };

		for (size_t k = 0; err && k < tb->unstore.n; k++)
			unsaved_keep(t, &tb->unstore.items[k], &gone);
		addr_list_free(&tb->unstore);
	}
	return err;
}

/* A store commit run on a thread of its own. */
struct store_commit_job {
	struct store *store;
	int err;
};

static void *store_commit_thread(void *arg)
{
	struct store_commit_job *job = arg;

	job->err = store_commit(job->store);
	return NULL;
}

int tables_commit(struct tables *t)
{
	struct store_commit_job job = { .store = t->store };
	bool store_open = t->in_group && t->store, beside = false, synced = t->maps_synced;
	int err = 0, store_err = 0, unsaved_err = 0;
	struct addr_list group;
	pthread_t thread;

	if (!t->in_group && !t->changed.n)
		return 0;
	/* What earlier commits failed to save goes into this one. */
	if (store_open && t->unsaved.count)
		unsaved_err = unsaved_write(t);
	/*
	 * Before the first sync the maps may still hold an earlier run's
	 * entries and counters: leave them to tables_sync_maps().
	 */
	if (t->maps_synced) {
		int index_err;

		/*
		 * A large group's store commit (its buckets, the SQLite commit)
		 * runs on a thread of its own beside the map writes, which the
		 * kernel takes one entry at a time: a load of a million entries
		 * waits for the longer of the two, not for both. Until the join
		 * nothing else touches the store.
		 */
		if (store_open && t->changed.n >= COMMIT_BESIDE_MIN)
			beside = !pthread_create(&thread, NULL, store_commit_thread, &job);
		err = apply_all(t, false);
		index_err = mapindex_publish(&t->index);
		if (!err)
			err = index_err;
	}
	/* The group's keys, for the unsaved ones should the store fail. */
	group = t->changed;
	memset(&t->changed, 0, sizeof(t->changed));
	t->changed_prefixes = 0;
	if (beside) {
		pthread_join(thread, NULL);
		store_err = job.err;
	} else if (store_open) {
		store_err = store_commit(t->store);
	}
	t->in_group = false;
	if (store_open) {
		if (store_err)
			unsaved_keep_group(t, &group, !synced);
		else if (!unsaved_err)
			addrmap_clear(&t->unsaved);
		addrmap_clear(&t->group_removed);
		t->store_err = store_err ? store_err : unsaved_err;
	}
	addr_list_free(&group);
	if (t->store) {
		int unstore_err = unstore_refused(t);

		if (unstore_err && !t->store_err)
			t->store_err = unstore_err;
	}
	return err;
}

void tables_rollback(struct tables *t)
{
	if (t->in_group && t->store)
		store_rollback(t->store);
	t->in_group = false;
	addr_list_free(&t->changed);
	t->changed_prefixes = 0;
	addrmap_clear(&t->group_removed);
}

int tables_store_retry(struct tables *t)
{
	int err;

	if (!t->store ||
	    (!t->store_err && !t->unsaved.count && !store_unsaved_evidence(t->store)))
		return 0;
	err = group_open(t);
	if (err) {
		t->in_group = false;
		t->store_err = err;
		return err;
	}
	tables_commit(t);
	return t->store_err;
}

/*
 * Walk one map: note in each model node what the map holds for it, and
 * delete entries whose key the model does not have.
 */
static int scan_map(struct tables *t, int fd, size_t key_size, int kind)
{
	unsigned char key[sizeof(struct gw_lpm6_key)], next[sizeof(struct gw_lpm6_key)];
	unsigned char *stale = NULL;
	size_t nstale = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		struct addr_prefix p = { 0 };
		struct table_node *node;
		struct gw_entry entry;

		memcpy(key, next, key_size);
		prev = key;
		if (kind == 0) {
			addr_from_key((struct gw_addr *)key, &p);
		} else {
			struct gw_lpm6_key k6 = { 0 };

			memcpy(&k6, key, key_size);
			p.family = kind == 4 ? AF_INET : AF_INET6;
			p.plen = (uint8_t)k6.prefixlen;
			memcpy(p.bytes, k6.bytes, kind == 4 ? 4 : 16);
		}
		node = addrmap_get(&t->nodes, &p);
		if (node) {
			/* An exact key: the lookup answers with this very entry. */
			if (bpf_map_lookup_elem(fd, key, &entry))
				continue;
			node->in_map = entry.tables ? entry.tables : ~0ULL;
			counter_slots_mark(&t->counter_slots, entry.counter);
			/*
			 * Its table gained or lost `counters` (a reload): rewritten
			 * with a slot or without, whatever its membership.
			 */
			if (!entry.counter != !(entry.tables & t->counted_tables))
				node->in_map = ~0ULL;
			continue;
		}
		if (array_room(&stale, &cap, nstale + 1, key_size, 256)) {
			free(stale);
			return -ENOMEM;
		}
		memcpy(stale + nstale++ * key_size, key, key_size);
	}
	for (size_t i = 0; i < nstale; i++)
		if (bpf_map_delete_elem(fd, stale + i * key_size) && errno != ENOENT)
			err = -errno;
	free(stale);
	return err;
}

/* Describe to the index every entry the maps now hold (entries of an earlier run too). */
static int index_rebuild(struct tables *t)
{
	const struct addr_prefix *key;
	void *value;
	int err = 0;

	mapindex_reset(&t->index);
	for (size_t i = 0; !err && addrmap_next(&t->nodes, &i, &key, &value);) {
		const struct table_node *node = value;

		if (!node->in_map)
			continue;
		if (addr_is_host(key)) {
			err = mapindex_host(&t->index, key, true);
		} else {
			/* The counter slot the entry has in the map (carried over, or new). */
			struct gw_entry entry = { 0 };
			union map_key mk;
			int fd = map_key_for(t, key, &mk);

			if (bpf_map_lookup_elem(fd, &mk, &entry))
				entry.counter = 0;
			err = mapindex_net(&t->index, key, node->in_map, entry.counter);
		}
	}
	return err;
}

int tables_sync_maps(struct tables *t)
{
	const struct addr_prefix *key;
	void *value;
	int err;

	for (size_t i = 0; addrmap_next(&t->nodes, &i, &key, &value);)
		((struct table_node *)value)->in_map = 0;
	counter_slots_forget(&t->counter_slots);
	/*
	 * Entries from an earlier run stay in place while the model is
	 * compared with them: unchanged ones are not touched, changed ones
	 * keep their counters, stale ones go. Enforcement never lapses.
	 */
	err = scan_map(t, t->maps.hosts, sizeof(struct gw_addr), 0);
	if (!err)
		err = scan_map(t, t->maps.prefix4, sizeof(struct gw_lpm4_key), 4);
	if (!err)
		err = scan_map(t, t->maps.prefix6, sizeof(struct gw_lpm6_key), 6);
	/* Counters of entries gone (stale ones, an earlier run's leftovers) go too. */
	if (!err)
		err = counter_slots_prune(&t->counter_slots);
	if (!err)
		err = apply_all(t, true);
	if (!err || err == -ENOSPC) {
		int index_err = index_rebuild(t);

		if (!index_err)
			index_err = mapindex_publish(&t->index);
		if (index_err)
			err = index_err;
	}
	addr_list_free(&t->changed);
	t->changed_prefixes = 0;
	t->maps_synced = true;
	if (t->store) {
		int unstore_err = unstore_refused(t);

		/* Their keys wait with the unsaved ones: a store error, not the maps'. */
		if (unstore_err && !t->store_err)
			t->store_err = unstore_err;
	}
	return err;
}

int tables_counters(const struct tables *t, int idx, const struct addr_prefix *p,
		    struct gw_counters *out)
{
	const struct gw_counters *kept = addrmap_get(&t->table[idx].baselines, p);
	struct gw_counters now, base = { 0 };

	memset(out, 0, sizeof(*out));
	if (!addrmap_get(&t->table[idx].entries, p))
		return -ENOENT;
	if (node_read_counters(t, p, &now))
		return 0;
	if (kept)
		base = *kept;
	for (int d = 0; d < GW_DIR_MAX; d++) {
		/* A map made anew (after a detach) restarts below the baseline. */
		if (now.packets[d] >= base.packets[d] && now.bytes[d] >= base.bytes[d]) {
			out->packets[d] = now.packets[d] - base.packets[d];
			out->bytes[d] = now.bytes[d] - base.bytes[d];
		} else {
			out->packets[d] = now.packets[d];
			out->bytes[d] = now.bytes[d];
		}
	}
	return 0;
}

static int prefix_sort_compare(const void *a, const void *b)
{
	return addr_compare(a, b);
}

long tables_sorted_entries(const struct tables *t, int idx, struct addr_prefix **out)
{
	const struct addrmap *entries = &t->table[idx].entries;
	const struct addr_prefix *key;
	struct addr_prefix *list = malloc((entries->count ? entries->count : 1) * sizeof(*list));
	size_t n = 0;

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; addrmap_next(entries, &i, &key, NULL);)
		list[n++] = *key;
	qsort(list, n, sizeof(*list), prefix_sort_compare);
	*out = list;
	return (long)n;
}

long tables_expire_due(struct tables *t, int64_t now)
{
	long expired = 0;

	for (size_t idx = 0; idx < t->ntables; idx++) {
		struct table *tb = &t->table[idx];
		const struct addr_prefix *key;
		struct addr_list due = { 0 };
		void *value;

		if (!tb->timeout || !tb->next_expiry || now < tb->next_expiry)
			continue;
		tb->next_expiry = 0;
		for (size_t i = 0; addrmap_next(&tb->entries, &i, &key, &value);) {
			const struct entry_meta *m = value;

			if (now - m->cleared <= (int64_t)tb->timeout) {
				int64_t due = m->cleared + (int64_t)tb->timeout + 1;

				if (!tb->next_expiry || due < tb->next_expiry)
					tb->next_expiry = due;
				continue;
			}
			if (addr_list_push(&due, key)) {
				/* Out of memory: the rest on the next call. */
				tb->next_expiry = now + 1;
				break;
			}
		}
		for (size_t i = 0; i < due.n; i++)
			if (tables_delete(t, (int)idx, &due.items[i], "expire", 0, now) > 0)
				expired++;
		addr_list_free(&due);
	}
	return expired;
}

/* The entry of table idx at key counted with c now: what it adds to the table's sum. */
static void sum_entry(const struct table *tb, const struct addr_prefix *key,
		      const struct gw_counters *c, struct gw_counters *sum)
{
	const struct gw_counters *base = addrmap_get(&tb->baselines, key);

	for (int d = 0; d < GW_DIR_MAX; d++) {
		/* As tables_counters(): a map made anew restarts below the baseline. */
		bool above = base && c->packets[d] >= base->packets[d] &&
			     c->bytes[d] >= base->bytes[d];

		sum->packets[d] += c->packets[d] - (above ? base->packets[d] : 0);
		sum->bytes[d] += c->bytes[d] - (above ? base->bytes[d] : 0);
	}
}

int tables_update_last_seen(struct tables *t, int64_t now)
{
	struct gw_counters sums[GW_MAX_TABLES] = { 0 };
	const struct addr_prefix *key;
	void *value;

	for (size_t i = 0; addrmap_next(&t->nodes, &i, &key, &value);) {
		struct table_node *node = value;
		struct gw_counters c;
		uint64_t total = 0;

		/* Only entries of `counters` tables have counters to read. */
		if (!(node->in_map & t->counted_tables) || node_read_counters(t, key, &c))
			continue;
		/* The same read gives each counters table its entries' sum (the metrics). */
		for (size_t idx = 0; idx < t->ntables; idx++)
			if (node->own & t->counted_tables & (1ULL << idx))
				sum_entry(&t->table[idx], key, &c, &sums[idx]);
		for (int d = 0; d < GW_DIR_MAX; d++)
			total += c.packets[d];
		total &= ~(1ULL << 63);
		if (total == node->seen_packets)
			continue;
		node->seen_packets = total;
		for (size_t idx = 0; idx < t->ntables; idx++) {
			struct entry_meta *m;

			if (!(node->own & (1ULL << idx)))
				continue;
			m = addrmap_get(&t->table[idx].entries, key);
			if (!m)
				continue;
			m->last_seen = now;
			if (table_stored(t, (int)idx) && !group_open(t))
				entry_store(t, (int)idx, key, m);
		}
	}
	memcpy(t->counter_sums, sums, sizeof(sums));
	t->counter_sums_at = now;
	return tables_commit(t);
}

int tables_save_files(struct tables *t, bool force)
{
	int first_err = 0;

	for (size_t idx = 0; idx < t->ntables; idx++) {
		struct table *tb = &t->table[idx];
		struct addr_prefix *list;
		long n;
		int err;

		/* Const tables are read from their file, never written to it. */
		if (!tb->save_path || (tb->flags & CONFIG_TABLE_CONST) || (!tb->dirty && !force))
			continue;
		n = tables_sorted_entries(t, (int)idx, &list);
		if (n < 0)
			return (int)n;
		err = tablefile_write(tb->save_path, list, (size_t)n);
		free(list);
		if (err && !first_err)
			first_err = err;
		if (!err)
			tb->dirty = false;
	}
	return first_err;
}
