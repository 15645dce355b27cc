/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Tables: the in-memory model of every table's entries, kept in step with
 * the data path's maps and the store. Every writer (operator, overload,
 * tarpit, watcher, peer, import) goes through tables_add()/tables_delete()
 * with an evidence id, so no entry exists without a reason.
 *
 * Changes are grouped: operations between the first call and
 * tables_commit() form one store transaction and one map update pass.
 */
#ifndef __GREYWALL_TABLES_H
#define __GREYWALL_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/addrmap.h"
#include "config/config.h"
#include "greywall.h"
#include "datapath/counters.h"
#include "datapath/mapindex.h"
#include "store/store.h"

struct table {
	char name[CONFIG_TABLE_NAME_MAX];
	unsigned int flags;		/* enum config_table_flag */
	uint32_t timeout;		/* seconds; 0 = never expires */
	char *save_path;		/* first `file`, written back on save */
	struct addrmap entries;		/* addr_prefix -> struct entry_meta */
	/* addr_prefix -> struct gw_counters: the entries whose baseline (the
	 * counters at `cleared`) is not zero, a few of them. */
	struct addrmap baselines;
	/* Entries the data path refused, to leave the store after the commit. */
	struct addr_list unstore;
	size_t nhosts;
	size_t nprefixes;
	uint64_t refused_full;		/* additions refused: table or map full */
	bool dirty;			/* changed since the file was saved */
	int64_t next_expiry;		/* earliest time an entry may expire; 0 = none */
};

/*
 * A key whose store records lag the model because a commit failed. Every
 * later commit writes the key again as the model then has it (present:
 * put; absent from a table in removed_from: removed, with this action in
 * the history, or deleted without one when action is NULL).
 */
struct unsaved_key {
	int64_t when;
	int64_t evidence_id;
	uint64_t removed_from;		/* table bits */
	const char *action;		/* a string constant, or NULL */
};

/* File descriptors of the data path maps the tables write. */
struct tables_maps {
	int hosts;
	int prefix4;
	int prefix6;
	int counters;			/* gw_counters, the per-CPU counters by slot */
	int counters_spill;		/* gw_counters_spill, those of slots beyond it */
	struct mapindex_maps index;	/* the first-level index in front of them */
};

/* A sorted set of evidence ids. */
struct evidence_ids {
	int64_t *ids;
	size_t n, cap;
};

/*
 * The sources of evidence (docs/DESIGN.md, evidence for every entry) that
 * tables_add() counts additions by, "other" last: tables_source_names.
 */
#define TABLES_SOURCES 12
extern const char *const tables_source_names[TABLES_SOURCES];
/* Evidence ids remembered with their source: a writer adds right after it makes one. */
#define TABLES_RECENT_EVIDENCE 8

struct tables_recent_evidence {
	int64_t id;
	uint8_t source;			/* index into tables_source_names */
};

struct tables {
	struct table table[GW_MAX_TABLES];
	size_t ntables;
	/* Every distinct address/prefix in any table -> struct table_node. */
	struct addrmap nodes;
	/* Number of prefix nodes per family (0 IPv4, 1 IPv6) and length. */
	uint32_t prefix_lengths[2][129];
	struct tables_maps maps;
	struct mapindex index;
	/* Counter slots of the entries in `counters` tables (the others have none). */
	struct counter_slots counter_slots;
	uint64_t counted_tables;	/* table bits of the `counters` tables */
	struct store *store;		/* may be NULL (tests, const tables) */
	uint32_t limit_hosts;
	uint32_t limit_prefixes;
	/* The open change group. */
	bool in_group;
	struct addr_list changed;	/* keys whose own membership changed, once each */
	size_t changed_prefixes;
	uint64_t map_write_failures;
	/* Until the first tables_sync_maps(), commits touch only the store. */
	bool maps_synced;
	/*
	 * The store catching up: keys of failed commits (addr_prefix ->
	 * struct unsaved_key), written again with every commit until one
	 * succeeds; the open group's removals, for them; the last commit's
	 * store error (0 once the store is in step); removals beyond the
	 * bound that could not be kept.
	 */
	struct addrmap unsaved;
	struct addrmap group_removed;
	int store_err;
	uint64_t unsaved_dropped;
	/*
	 * The ids of evidence that yields to any other writer's (tables_add()):
	 * the peers' (source "peer", the table exchange) and CrowdSec's
	 * decisions (source "crowdsec"), each ascending. Read from the store at
	 * tables_init(), added to by tables_peer_evidence() and
	 * tables_crowdsec_evidence().
	 */
	struct evidence_ids peer_evidence;
	struct evidence_ids crowdsec_evidence;
	/*
	 * Called once for every entry that becomes a table's with a local
	 * writer's evidence (tables_add() adding it, or taking it from a peer
	 * or CrowdSec): what the CrowdSec client pushes. NULL: nobody listens.
	 * Bulk loads (tables_add_list(), tables_restore()) do not call it.
	 */
	void (*on_add)(void *ctx, int idx, const struct addr_prefix *p, int64_t evidence_id,
		       int64_t now);
	void *on_add_ctx;
	/*
	 * Each `counters` table's entries' counters summed (as
	 * tables_counters() gives each) by the last tables_update_last_seen(),
	 * which reads them all anyway, and when (0: never): the metrics.
	 */
	struct gw_counters counter_sums[GW_MAX_TABLES];
	int64_t counter_sums_at;
	/* Entries added since start, by their evidence's source (the metrics). */
	uint64_t added[TABLES_SOURCES];
	struct tables_recent_evidence recent_evidence[TABLES_RECENT_EVIDENCE];
	size_t recent_next;
};

/* Counts of the keys the store has not caught up with (tables_unsaved()). */
struct tables_unsaved_count {
	size_t entries;			/* enforced, not saved */
	size_t removals;		/* left a table, still in the store */
};

/*
 * Set up tables from the config. The maps must exist; they are not
 * touched until tables_commit(). Returns 0 or -errno.
 */
int tables_init(struct tables *t, const struct config *cfg, struct store *st,
		const struct tables_maps *maps);
void tables_free(struct tables *t);

/* Index of the table called name, or -1. */
int tables_find(const struct tables *t, const char *name);

/*
 * Open the change group now: the store's writes of a table writer's own
 * (on the store's connection) join the group's transaction. Returns 0 or
 * -errno; tables_commit() ends it.
 */
int tables_begin(struct tables *t);

/* Record evidence (with the store; 0 without one). Returns id or -errno. */
int64_t tables_evidence(struct tables *t, const char *source, const char *detail, int64_t now);

/*
 * Record evidence for a peer's additions (source "peer", detail the peer's
 * source and what it says): tables_evidence() that also marks the id as a
 * peer's. Returns the id or -errno; 0 without a store.
 */
int64_t tables_peer_evidence(struct tables *t, const char *detail, int64_t now);
/* Whether evidence id is a peer's (table exchange). */
bool tables_evidence_is_peer(const struct tables *t, int64_t id);
/*
 * Record evidence for a CrowdSec decision (source "crowdsec"): like a
 * peer's, it yields to any local writer. Returns the id, -errno, 0 without
 * a store.
 */
int64_t tables_crowdsec_evidence(struct tables *t, const char *detail, int64_t now);
bool tables_evidence_is_crowdsec(const struct tables *t, int64_t id);
/* The metadata of p in table idx, or NULL when it is not there. */
const struct entry_meta *tables_entry(const struct tables *t, int idx, const struct addr_prefix *p);

/*
 * Add p to table idx. When p is there already with a peer's or CrowdSec's
 * evidence and this evidence is neither, p takes this evidence and time (a
 * local reason replaces the remote one, so no peer or CrowdSec decision can
 * remove it later) and 0 is returned. Returns 1 when added, 0 when already there,
 * -ENOSPC when the table is full (counted in refused_full), -errno.
 */
int tables_add(struct tables *t, int idx, const struct addr_prefix *p, int64_t evidence_id,
	       int64_t now);
/* Make room for n more entries in table idx (before a bulk load). */
int tables_reserve(struct tables *t, int idx, size_t n);
/*
 * tables_add() for every address of a list (a load), faster. *added and
 * *refused (table full) count them. Returns 0, or the first error other
 * than -ENOSPC, which stops the list there.
 */
int tables_add_list(struct tables *t, int idx, const struct addr_prefix *list, size_t n,
		    int64_t evidence_id, int64_t now, size_t *added, size_t *refused);
/* Add an entry restored from the store with its metadata (baseline may be NULL). */
int tables_restore(struct tables *t, int idx, const struct addr_prefix *p,
		   const struct entry_meta *meta, const struct gw_counters *baseline);
/*
 * Remove p from table idx; action ("delete", "expire", "flush", "replace")
 * goes into the history. Returns 1 when removed, 0 when absent.
 */
int tables_delete(struct tables *t, int idx, const struct addr_prefix *p, const char *action,
		  int64_t evidence_id, int64_t now);
/* Restart an entry's clock and counters. Returns 1, 0 when absent. */
int tables_zero(struct tables *t, int idx, const struct addr_prefix *p, int64_t now);

/*
 * Apply the open change group: commit the store transaction and bring the
 * maps in line (effective memberships, counters kept). Returns 0, -ENOSPC
 * when the maps refused entries (those entries are taken out again,
 * counted in refused_full and map_write_failures), or -errno of the maps.
 *
 * A failed store commit is not an error of the commit: the entries stay
 * enforced, their keys join t->unsaved, t->store_err says why, and every
 * later commit writes them again (tables_store_retry() when nothing else
 * commits). t->store_err is 0 after a commit that saved everything.
 */
int tables_commit(struct tables *t);
/*
 * Give the open change group up: its store transaction is rolled back.
 * Only before the first tables_sync_maps(), when the maps are not touched.
 */
void tables_rollback(struct tables *t);
/* Commit the unsaved keys now, if there are any. Returns t->store_err. */
int tables_store_retry(struct tables *t);
/* Count the unsaved keys by kind. */
void tables_unsaved(const struct tables *t, struct tables_unsaved_count *out);

/*
 * Bring the maps in line with the model as a whole: write what differs,
 * delete what the model does not have. Used at start-up over pinned maps
 * from an earlier run, so enforcement never lapses and counters survive.
 */
int tables_sync_maps(struct tables *t);

/* Counters of an entry since it was added or zeroed (current - baseline). */
int tables_counters(const struct tables *t, int idx, const struct addr_prefix *p,
		    struct gw_counters *out);


/*
 * Entries of table idx sorted by address. *out is malloc'd, caller frees.
 * Returns the count or -errno.
 */
long tables_sorted_entries(const struct tables *t, int idx, struct addr_prefix **out);

/* Effective membership of an address as the data path sees it. */
uint64_t tables_lookup(const struct tables *t, const struct addr_prefix *addr);

/*
 * Remove entries older than their table's timeout (age strictly greater
 * than the timeout). Cheap to call every second: a table is scanned only
 * once its earliest entry is due. Returns how many.
 */
long tables_expire_due(struct tables *t, int64_t now);

/*
 * Note the time of entries whose counters moved since the last call, and
 * keep each `counters` table's sum of its entries' counters (counter_sums)
 * from the same reads. Every minute and at each dump.
 */
int tables_update_last_seen(struct tables *t, int64_t now);

/* Write the tables with a file back to it if changed. Returns 0 or -errno. */
int tables_save_files(struct tables *t, bool force);

#endif /* __GREYWALL_TABLES_H */
