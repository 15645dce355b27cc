// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The SQLite store: opening it, transactions, and the entry writes and
 * reads of store.h. One connection per struct store, every statement
 * prepared once at open and reset after each use. The other concerns have
 * files of their own (internal.h lists them): the schema in migrate.c,
 * the entries table's format in record.c, the cache of a transaction's
 * entry writes in cache.c, evidence and history in evidence.c and
 * history.c.
 *
 * Inside a transaction, entry writes go through the cache and reach the
 * database at commit. Outside one, each write is a transaction of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/sql.h"

#define STORE_BUSY_TIMEOUT_MS 5000
/* The database and its -wal and -shm files: evidence quotes log lines and
 * SMTP dialogues, so no one but root and the group may read them. */
#define STORE_FILE_MODE 0640
/* Page cache per connection, in KiB (negative cache_size). With the pages
 * of a large table cached, bulk loads and the start-up scan never wait for
 * the disk. Pages are only allocated as they are used, so a small store
 * costs little. */
#define STORE_CACHE_KIB 131072
/* Keep the WAL from staying at the size of the largest load. */
#define STORE_JOURNAL_SIZE_LIMIT (64 * 1024 * 1024)
/*
 * The daemon checkpoints once a second (store_checkpoint()); SQLite's own
 * checkpoint after a commit is only the backstop, at that size in pages.
 * Its default, 1000 pages, checkpointed inside every fiftieth commit of a
 * busy greylist: a fifth of each policy decision's time went to writing
 * the same hot pages back, and to the fsyncs with them.
 */
#define STORE_WAL_AUTOCHECKPOINT 16384

static const char *const stmt_sql[STMT_MAX] = {
	/* IMMEDIATE: take the write lock now, so that a writer never has to
	 * upgrade a read lock, which SQLite can only refuse with SQLITE_BUSY. */
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_EVIDENCE_ADD] = "INSERT OR REPLACE INTO evidence(id, at, source, detail) "
			      "VALUES(?4, ?1, ?2, ?3)",
	[STMT_EVIDENCE_MAX] = "SELECT max(id) FROM evidence",
	[STMT_EVIDENCE_GET] = "SELECT at, source, detail FROM evidence WHERE id = ?1",
	[STMT_BUCKET_GET] = "SELECT data FROM entries WHERE bucket = ?1 AND tbl = ?2",
	[STMT_BUCKET_PUT] = "INSERT OR REPLACE INTO entries(bucket, tbl, data) VALUES(?1, ?2, ?3)",
	[STMT_BUCKET_DELETE] = "DELETE FROM entries WHERE bucket = ?1 AND tbl = ?2",
	[STMT_BUCKETS_AT] = "SELECT tbl, data FROM entries WHERE bucket = ?1",
	[STMT_TABLE_BUCKETS] = "SELECT bucket, data FROM entries WHERE tbl = ?1",
	[STMT_TABLE_DELETE_ALL] = "DELETE FROM entries WHERE tbl = ?1",
	[STMT_ENTRIES_ALL] = "SELECT tbl, data FROM entries",
	[STMT_HISTORY_ADD] = "INSERT INTO history(at, tbl, family, addr, plen, action, "
			     "evidence_id, added_at, added_evidence) "
			     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_HISTORY_GET] = "SELECT h.id, h.at, h.tbl, h.action, h.evidence_id, "
			     "e.at, e.source, e.detail, h.added_at, h.added_evidence, "
			     "a.at, a.source, a.detail "
			     "FROM history h LEFT JOIN evidence e ON e.id = h.evidence_id "
			     "LEFT JOIN evidence a ON a.id = h.added_evidence "
			     "WHERE h.family = ?1 AND h.addr = ?2 AND h.plen = ?3 "
			     "ORDER BY h.at, h.id",
};

const char *store_errmsg(struct store *st)
{
	if (!st || !st->db)
		return "no store";
	if (st->write_err && st->commit_errmsg[0])
		return st->commit_errmsg;
	return sqlite3_errmsg(st->db);
}

const char *store_path(const struct store *st)
{
	return st && st->path ? st->path : "store";
}

int store_write_error(const struct store *st)
{
	return st ? st->write_err : 0;
}

size_t store_unsaved_evidence(const struct store *st)
{
	return st ? st->unsaved_evidence.n : 0;
}

struct sqlite3 *store_sqlite(struct store *st)
{
	return st->db;
}

int store_prepare(struct store *st)
{
	return sql_prepare_all(st->db, stmt_sql, st->stmt, STMT_MAX);
}

/*
 * Create name with STORE_FILE_MODE (the umask can only make it stricter)
 * when create is set and it is missing; take the bits beyond
 * STORE_FILE_MODE from a file that exists (an older version's, or made
 * under another umask). A symlink at the name is refused, never followed.
 *
 * The existing file is looked at through an O_PATH descriptor: closing an
 * ordinary one would drop every POSIX lock this process holds on the file,
 * those of an SQLite connection already open on it included.
 */
static int restrict_store_file(const char *name, bool create)
{
	char self[64];
	struct stat st;
	int fd, err = 0;

	fd = open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create)
			return 0;
		fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  STORE_FILE_MODE);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (S_ISLNK(st.st_mode))
		err = -ELOOP;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((st.st_mode & 07777) & ~STORE_FILE_MODE) {
		/* fchmod refuses O_PATH descriptors; the /proc link names this
		 * very file, not whatever the name points to by now. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (chmod(self, st.st_mode & STORE_FILE_MODE) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

/*
 * SQLite creates the -wal and -shm files with the database's own mode, so
 * making the database file first, with our mode, settles all three.
 */
static int restrict_store_files(const char *path)
{
	char name[PATH_MAX];
	int err = restrict_store_file(path, true);

	for (int i = 0; !err && i < 2; i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, i ? "-shm" : "-wal") >=
		    sizeof(name))
			return -ENAMETOOLONG;
		err = restrict_store_file(name, false);
	}
	return err;
}

int store_open(const char *path, struct store **out)
{
	char pragmas[256];
	struct store *st;
	int rc, err;

	*out = NULL;
	/* The file is created if missing; its directory is not (that is the
	 * operator's state-dir, whose ownership and mode we must not guess). */
	err = restrict_store_files(path);
	if (err)
		return err;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = sql_errno(st->db, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 0);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* journal_mode is the first statement to read the file header, so a
	 * file that is not a database fails here. */
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode = WAL;"
		 "PRAGMA synchronous = NORMAL;"
		 "PRAGMA temp_store = MEMORY;"
		 "PRAGMA cache_size = -%d;"
		 "PRAGMA journal_size_limit = %d;"
		 "PRAGMA wal_autocheckpoint = %d;",
		 STORE_CACHE_KIB, STORE_JOURNAL_SIZE_LIMIT, STORE_WAL_AUTOCHECKPOINT);
	err = sql_exec(st->db, pragmas);
	if (!err)
		err = store_migrate(st);
	if (!err)
		err = store_prepare(st);
	if (err)
		goto fail;
	st->path = strdup(path);
	if (!st->path) {
		err = -ENOMEM;
		goto fail;
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return err ? err : -EIO;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	cache_free(st);
	free(st->txn_evidence.items);
	free(st->unsaved_evidence.items);
	sql_finalize_all(st->stmt, STMT_MAX);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int store_begin(struct store *st)
{
	st->txn_evidence.n = 0;
	return sql_run(st->stmt[STMT_BEGIN]);
}

static int rollback(struct store *st)
{
	cache_drop(st);
	return sql_run(st->stmt[STMT_ROLLBACK]);
}

int store_commit(struct store *st)
{
	int err = evidence_replay(st);

	if (!err)
		err = cache_flush(st);
	if (!err)
		err = sql_run(st->stmt[STMT_COMMIT]);
	st->write_err = err;
	if (err) {
		snprintf(st->commit_errmsg, sizeof(st->commit_errmsg), "%s", sqlite3_errmsg(st->db));
		evidence_keep(st);
		rollback(st);
		return err;
	}
	st->txn_evidence.n = 0;
	st->unsaved_evidence.n = 0;
	return 0;
}

int store_checkpoint(struct store *st, int *frames, int *done)
{
	int log = 0, ckpt = 0;
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);

	if (frames)
		*frames = log;
	if (done)
		*done = ckpt;
	return rc == SQLITE_OK ? 0 : sql_errno(st->db, rc);
}

int store_rollback(struct store *st)
{
	/* Given up on purpose: its evidence goes with it. */
	st->txn_evidence.n = 0;
	return rollback(st);
}

int store_begin_own(struct store *st, bool *own)
{
	*own = sqlite3_get_autocommit(st->db);
	return *own ? store_begin(st) : 0;
}

/* store_commit() rolls back a commit that fails: nothing is left to roll back. */
int store_end_own(struct store *st, bool own, int ret)
{
	int err;

	if (!own)
		return ret;
	if (ret < 0) {
		store_rollback(st);
		return ret;
	}
	err = store_commit(st);
	return err ? err : ret;
}

static int entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		     const struct entry_meta *m, const struct gw_counters *baseline)
{
	struct pending_table *pt = cache_table(st, table);
	uint8_t record[RECORD_MAX];

	if (!pt)
		return -ENOMEM;
	return cache_put(st, pt, p, record, record_encode(record, p, m, baseline));
}

int store_entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		    const struct entry_meta *m, const struct gw_counters *baseline)
{
	bool own;
	int err = store_begin_own(st, &own);

	if (err)
		return err;
	return store_end_own(st, own, entry_put(st, table, p, m, baseline));
}

/* Take p's record out of its bucket; its metadata goes to *m. */
static int entry_take(struct store *st, const char *table, const struct addr_prefix *p,
		      struct entry_meta *m)
{
	struct pending_table *pt = cache_table(st, table);
	size_t offset, len;
	struct bucket *b;
	int err, found;

	if (!pt)
		return -ENOMEM;
	err = cache_apply(st);
	if (!err)
		err = cache_bucket(st, pt, bucket_of(p), &b);
	if (err)
		return err;
	found = record_find(b, p, &offset, &len, m);
	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	return bucket_splice(b, offset, len, NULL, 0);
}

int store_entry_delete(struct store *st, const char *table, const struct addr_prefix *p)
{
	struct entry_meta m;
	bool own;
	int err = store_begin_own(st, &own);

	if (err)
		return err;
	return store_end_own(st, own, entry_take(st, table, p, &m));
}

int store_entry_remove(struct store *st, int64_t when, const char *table,
		       const struct addr_prefix *p, const char *action, int64_t evidence_id)
{
	struct entry_meta m;
	bool own;
	int err = store_begin_own(st, &own);

	if (err)
		return err;
	err = entry_take(st, table, p, &m);
	if (!err)
		err = history_insert(st, when, table, p, action, evidence_id, &m);
	return store_end_own(st, own, err);
}

int store_table_delete_all(struct store *st, const char *table)
{
	sqlite3_stmt *s = st->stmt[STMT_TABLE_DELETE_ALL];
	int err = cache_apply(st);

	if (!err) {
		sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
		err = sql_run(s);
	}
	for (size_t i = 0; !err && i < st->npending; i++) {
		struct pending_table *pt = &st->pending[i];

		if (strcmp(pt->name, table))
			continue;
		/* The cached buckets are as empty as the rows now: nothing to write. */
		for (size_t k = 0; k < pt->ntouched; k++) {
			pt->bucket[pt->touched[k]]->len = 0;
			pt->bucket[pt->touched[k]]->dirty = false;
		}
		pt->complete = true;
	}
	return err;
}

struct entries_walk {
	store_entry_cb cb;
	void *ctx;
	struct row_copy row;
};

/* One bucket row: each of its entries to the callback. */
static int entries_row(sqlite3_stmt *s, void *ctx)
{
	struct entries_walk *w = ctx;
	const uint8_t *pos, *end;
	int ret = row_copy_take(&w->row, s);

	pos = w->row.data.data;
	end = pos + w->row.data.len;
	while (!ret && pos < end) {
		struct gw_counters baseline;
		struct addr_prefix p;
		struct entry_meta m;
		bool has_baseline;

		ret = record_decode(&pos, end, &p, &m, &baseline, &has_baseline);
		if (!ret)
			ret = w->cb(w->ctx, w->row.table, &p, &m, has_baseline ? &baseline : NULL);
	}
	return ret;
}

/*
 * The callback must not call store_entries_foreach() itself (the statement
 * is in use); other store calls are fine, though entries it changes may or
 * may not be visited.
 */
int store_entries_foreach(struct store *st, store_entry_cb cb, void *ctx)
{
	struct entries_walk w = { .cb = cb, .ctx = ctx };
	int ret = cache_flush(st);

	if (!ret)
		ret = sql_rows(st->stmt[STMT_ENTRIES_ALL], entries_row, &w);
	row_copy_free(&w.row);
	return ret;
}
