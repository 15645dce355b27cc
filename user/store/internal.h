/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the files of the store share and no one else sees: struct store,
 * its prepared statements, and the functions one file of user/store/
 * offers another. The public interface is store.h.
 *
 *   store.c     open and close, transactions, entry writes and reads
 *   record.c    the entries table's format: records in buckets
 *   cache.c     the write-back cache of buckets and the put log of a transaction
 *   evidence.c  evidence rows, and the unsaved ones of failed commits
 *   history.c   the history table and `greywallctl why`
 *   migrate.c   the schema: creation and upgrades
 *   sql.c       the SQLite helpers, shared with the greylist
 */
#ifndef __GREYWALL_STORE_INTERNAL_H
#define __GREYWALL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/record.h"
#include "store/store.h"

enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_EVIDENCE_ADD,
	STMT_EVIDENCE_MAX,
	STMT_EVIDENCE_GET,
	STMT_BUCKET_GET,
	STMT_BUCKET_PUT,
	STMT_BUCKET_DELETE,
	STMT_BUCKETS_AT,
	STMT_TABLE_BUCKETS,
	STMT_TABLE_DELETE_ALL,
	STMT_ENTRIES_ALL,
	STMT_HISTORY_ADD,
	STMT_HISTORY_GET,
	STMT_MAX,
};

/* The buckets of one table read in the open transaction. */
struct pending_table {
	char *name;
	struct bucket **bucket;		/* STORE_BUCKETS pointers; NULL: not read */
	uint32_t *touched;		/* the numbers of the buckets read */
	size_t ntouched, cap;
	bool complete;			/* every bucket read: NULL ones are empty */
};

/* A put not yet applied to its bucket. */
struct logged_put {
	uint32_t offset;		/* of its record in put_log.records */
	uint16_t bucket;
	uint16_t table;			/* index in store.pending */
};

_Static_assert(STORE_BUCKETS <= 65536, "a bucket number fits 16 bits");

/*
 * The puts of the open transaction, applied bucket by bucket before
 * anything reads the buckets: a load of a million entries then visits each
 * bucket once, in order, instead of a million times at random.
 */
struct put_log {
	uint8_t *records;		/* encoded records, back to back */
	size_t len, cap;
	struct logged_put *puts;
	size_t n, nmax;
};

/* Evidence rows written in memory only so far. */
struct evidence_list {
	struct evidence *items;
	size_t n, cap;
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_MAX];
	struct pending_table *pending;
	size_t npending;
	size_t pending_cap;
	struct put_log log;
	/*
	 * Evidence ids are handed out here and never twice, even when the
	 * transaction that wrote one is rolled back: the tables keep the ids
	 * of entries a failed commit did not save, and must not find them
	 * naming another row later.
	 */
	int64_t next_evidence_id;
	struct evidence_list txn_evidence;	/* written in the open transaction */
	struct evidence_list unsaved_evidence;	/* of failed commits, written with the next */
	size_t evidence_dropped;		/* refused at STORE_UNSAVED_EVIDENCE_MAX */
	int write_err;				/* of the last commit; 0 once one succeeds */
	/* SQLite's message for write_err: the rollback after it clears SQLite's own. */
	char commit_errmsg[256];
};

/* store.c */
/* Prepare what is not prepared yet (a migration needs them before open does). */
int store_prepare(struct store *st);

/* cache.c */
/* The table's cache, created on first use; NULL when out of memory. */
struct pending_table *cache_table(struct store *st, const char *table);
/* Bucket `number` of a table, read from the database on first use. */
int cache_bucket(struct store *st, struct pending_table *pt, uint32_t number,
		 struct bucket **out);
/* Log a put of an encoded record (n bytes) of p into the table. */
int cache_put(struct store *st, struct pending_table *pt, const struct addr_prefix *p,
	      const uint8_t *record, size_t n);
/* Apply the logged puts to their buckets, before anything reads them. */
int cache_apply(struct store *st);
/* Write every changed bucket, then forget them. */
int cache_flush(struct store *st);
/* Forget the buckets read in the transaction and the puts not applied. */
void cache_drop(struct store *st);
void cache_free(struct store *st);

/* A copy of a row's (table, bucket): callbacks may write while the row is read. */
struct row_copy {
	char *table;
	struct bucket data;
};
/* Copy the row at columns 0 (table) and 1 (blob) of s. */
int row_copy_take(struct row_copy *c, sqlite3_stmt *s);
void row_copy_free(struct row_copy *c);

/* evidence.c */
/* Write the evidence of failed commits into this one, before its entries. */
int evidence_replay(struct store *st);
/* A commit failed: keep its evidence rows for the next one, as many as allowed. */
void evidence_keep(struct store *st);

/* history.c */
/* A history row; added: the removed entry's addition, or NULL. */
int history_insert(struct store *st, int64_t when, const char *table,
		   const struct addr_prefix *p, const char *action, int64_t evidence_id,
		   const struct entry_meta *added);

/* migrate.c */
/* Create, upgrade or check the schema. */
int store_migrate(struct store *st);

#endif /* __GREYWALL_STORE_INTERNAL_H */
