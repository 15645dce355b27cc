/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The SQLite store (WAL mode) under the state directory: table entry
 * metadata, the evidence for every entry, and the event history that
 * `greywallctl why` reads. The kernel maps are rebuilt from it at start.
 * All functions return 0 (or an id) on success and -errno on failure.
 *
 * An entry records its own addition (added, evidence_id): adding writes no
 * history row, so a load of a million addresses writes only the entries.
 * When the entry leaves (store_entry_remove), its addition goes into the
 * history together with the removal.
 */
#ifndef __GREYWALL_STORE_H
#define __GREYWALL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "greywall.h"

struct store;
struct sqlite3;

/* Why an entry exists. source is one of "manual", "overload", "greytrap",
 * "log", "sync", "import", "peer"; detail is free text ("rule 3: max-src-conn-rate
 * 6/3 exceeded (7000/6000)", "/var/lib/greywall/bruteforce line 12", ...). */
struct evidence {
	int64_t id;
	int64_t when;		/* unix seconds */
	char source[32];
	char detail[512];
};

struct entry_meta {
	int64_t added;		/* unix seconds */
	int64_t cleared;	/* added, or the last `zero` */
	int64_t last_seen;	/* last time its counters moved; 0 = never */
	int64_t evidence_id;
};

/*
 * Open (creating the file, never its directory) and migrate the schema.
 * The database, -wal and -shm files get mode 0640 at most, whatever the
 * umask (existing ones lose the bits beyond it). -EBADMSG: not a database
 * or corrupt; -EPROTONOSUPPORT: written by a newer greywall; -ELOOP: a
 * symlink at one of the names; -EINVAL: not a regular file; otherwise the
 * OS error (-ENOENT, -EACCES, ...).
 */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);
/*
 * SQLite's message for the last failed call, for the caller's log line:
 * after a failed commit, the commit's (its rollback cleared SQLite's).
 */
const char *store_errmsg(struct store *st);
/* The database file's path, for messages that name what failed. */
const char *store_path(const struct store *st);
/* The last commit's error: 0 once a commit succeeds again. */
int store_write_error(const struct store *st);
/* Evidence rows of failed commits, kept in memory for the next commit. */
size_t store_unsaved_evidence(const struct store *st);
/* The open connection, for modules that keep their own tables in the same
 * file (grey.c); they must not close it. */
struct sqlite3 *store_sqlite(struct store *st);

/*
 * Group many writes in one transaction (loads of a million entries).
 * Entry writes inside a transaction are collected in memory and written
 * at store_commit(), so a failed commit leaves the transaction rolled back.
 * The evidence rows of a failed commit are kept (up to a bound) and written
 * by the next commit; store_rollback() drops them.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);
/*
 * Copy what the WAL holds back into the database, as far as no reader
 * needs it (a passive checkpoint: it never waits). The daemon calls it
 * once a second, which bounds what a power loss can take (commits are not
 * synced one by one) and keeps checkpoints out of the busy commits.
 * *frames and *done (either may be NULL): the WAL's frames, and how many
 * of them are in the database now. Returns 0 or -errno.
 */
int store_checkpoint(struct store *st, int *frames, int *done);
/*
 * Writes that must happen together (an entry write, a greylist update)
 * run in a transaction of their own, or, when the caller has one open,
 * simply inside the caller's. store_begin_own() begins one only when none
 * is open and says so in *own; store_end_own() ends what it began: commit
 * when ret >= 0, else roll back. Returns ret, or the commit's error.
 */
int store_begin_own(struct store *st, bool *own);
int store_end_own(struct store *st, bool own, int ret);

/*
 * Returns the new evidence id (> 0) or -errno. An id is never handed out
 * twice, even after a rollback; until its commit succeeds the row is read
 * back from memory. -ENOSPC inside a transaction when too many rows of
 * failed commits wait already.
 */
int64_t store_evidence_add(struct store *st, const struct evidence *ev);
int store_evidence_get(struct store *st, int64_t id, struct evidence *out);
/*
 * The id of every evidence row of this source (saved ones in id order,
 * then those of failed commits). A non-zero callback return stops and is
 * returned. The table exchange finds its own rows this way at start.
 */
typedef int (*store_evidence_id_cb)(void *ctx, int64_t id);
int store_evidence_ids(struct store *st, const char *source, store_evidence_id_cb cb, void *ctx);

/*
 * Insert or replace the entry (table, p). baseline: the counter values at
 * `cleared` (shown counters are current - baseline); NULL when all zero,
 * as they are for most entries.
 */
int store_entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		    const struct entry_meta *m, const struct gw_counters *baseline);
/* Delete without a trace in the history. -ENOENT when there was no such entry. */
int store_entry_delete(struct store *st, const char *table, const struct addr_prefix *p);
/*
 * The entry leaves its table: delete it and record, in one history row,
 * action ("delete", "expire", ...) with its evidence at `when` and the
 * entry's addition. -ENOENT when there was no such entry.
 */
int store_entry_remove(struct store *st, int64_t when, const char *table,
		       const struct addr_prefix *p, const char *action, int64_t evidence_id);
int store_table_delete_all(struct store *st, const char *table);

/* baseline is NULL when all its counters are zero. */
typedef int (*store_entry_cb)(void *ctx, const char *table, const struct addr_prefix *p,
			      const struct entry_meta *m, const struct gw_counters *baseline);
/* Every entry of every table; a non-zero callback return stops and is returned. */
int store_entries_foreach(struct store *st, store_entry_cb cb, void *ctx);

/* History: action is "add", "delete", "expire", "flush", "zero", "replace". */
int store_history_add(struct store *st, int64_t when, const char *table,
		      const struct addr_prefix *p, const char *action, int64_t evidence_id);
typedef int (*store_history_cb)(void *ctx, int64_t when, const char *table, const char *action,
				const struct evidence *ev);
/*
 * History of exactly this address/prefix, oldest first: the recorded events
 * and the addition of every entry it has now ("add", from the entry).
 */
int store_history_foreach(struct store *st, const struct addr_prefix *p, store_history_cb cb,
			  void *ctx);


#endif /* __GREYWALL_STORE_H */
