// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The log watchers' tables in the store: positions and promoted trap names.
 * A file's position is its device, inode, offset and fingerprint; the
 * journal's is its cursor, kept under the empty path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "spamd/trap.h"
#include "store/sql.h"
#include "store/store.h"
#include "watch/watch_store.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS watch_positions("
    " watcher TEXT NOT NULL, path TEXT NOT NULL,"
    " dev INTEGER NOT NULL, ino INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " fingerprint BLOB NOT NULL, cursor TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(watcher, path)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS watch_traps("
    " name TEXT PRIMARY KEY, added INTEGER NOT NULL) WITHOUT ROWID;";

/* A path no file has: the journal's cursor. */
#define JOURNAL_KEY ""

enum watch_stmt {
	STMT_POS_GET,
	STMT_POS_PUT,
	STMT_TRAPS_ALL,
	STMT_TRAP_ADD,
	STMT_MAX,
};

static const char *const stmt_sql[STMT_MAX] = {
    [STMT_POS_GET] = "SELECT dev, ino, offset, fingerprint, cursor FROM watch_positions"
		     " WHERE watcher = ?1 AND path = ?2",
    [STMT_POS_PUT] = "INSERT OR REPLACE INTO watch_positions"
		     "(watcher, path, dev, ino, offset, fingerprint, cursor)"
		     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_TRAPS_ALL] = "SELECT name FROM watch_traps ORDER BY name",
    [STMT_TRAP_ADD] = "INSERT OR IGNORE INTO watch_traps(name, added) VALUES(?1, ?2)",
};

struct watch_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_MAX];
};

int watch_store_open(struct store *st, struct watch_store **out)
{
	struct watch_store *ws = calloc(1, sizeof(*ws));
	int err;

	*out = NULL;
	if (!ws)
		return -ENOMEM;
	ws->db = store_sqlite(st);
	err = sql_exec(ws->db, schema_sql);
	if (!err)
		err = sql_prepare_all(ws->db, stmt_sql, ws->stmt, STMT_MAX);
	if (err) {
		watch_store_close(ws);
		return err;
	}
	*out = ws;
	return 0;
}

void watch_store_close(struct watch_store *ws)
{
	if (!ws)
		return;
	sql_finalize_all(ws->stmt, STMT_MAX);
	free(ws);
}

struct pos_row {
	struct follow_pos *pos;
	char *cursor;
	size_t len;
};

static int pos_row(sqlite3_stmt *s, void *ctx)
{
	struct pos_row *r = ctx;
	int n = sqlite3_column_bytes(s, 3);

	if (r->pos) {
		if (n < 0 || n > FOLLOW_FINGERPRINT)
			return -EBADMSG;
		memset(r->pos, 0, sizeof(*r->pos));
		r->pos->dev = (uint64_t)sqlite3_column_int64(s, 0);
		r->pos->ino = (uint64_t)sqlite3_column_int64(s, 1);
		r->pos->offset = (uint64_t)sqlite3_column_int64(s, 2);
		r->pos->fp_len = (uint32_t)n;
		if (n)
			memcpy(r->pos->fingerprint, sqlite3_column_blob(s, 3), (size_t)n);
	}
	if (r->cursor) {
		const char *c = sql_column_text(s, 4);

		if (strlen(c) >= r->len)
			return -EBADMSG;
		strcpy(r->cursor, c);
	}
	return 0;
}

static int get(struct watch_store *ws, const char *watcher, const char *path, struct pos_row *r)
{
	sqlite3_stmt *s = ws->stmt[STMT_POS_GET];

	sqlite3_bind_text(s, 1, watcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	return sql_row(s, pos_row, r);
}

static int put(struct watch_store *ws, const char *watcher, const char *path,
	       const struct follow_pos *pos, const char *cursor)
{
	sqlite3_stmt *s = ws->stmt[STMT_POS_PUT];

	sqlite3_bind_text(s, 1, watcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)pos->dev);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)pos->ino);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)pos->offset);
	sqlite3_bind_blob(s, 6, pos->fingerprint, (int)pos->fp_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, cursor, -1, SQLITE_STATIC);
	return sql_run(s);
}

int watch_store_get_file(struct watch_store *ws, const char *watcher, const char *path,
			 struct follow_pos *pos)
{
	struct pos_row r = { .pos = pos };

	return get(ws, watcher, path, &r);
}

int watch_store_put_file(struct watch_store *ws, const char *watcher, const char *path,
			 const struct follow_pos *pos)
{
	return put(ws, watcher, path, pos, "");
}

int watch_store_get_cursor(struct watch_store *ws, const char *watcher, char *cursor,
			   size_t len)
{
	struct pos_row r = { .cursor = cursor, .len = len };

	return get(ws, watcher, JOURNAL_KEY, &r);
}

int watch_store_put_cursor(struct watch_store *ws, const char *watcher, const char *cursor)
{
	static const struct follow_pos none;

	return put(ws, watcher, JOURNAL_KEY, &none, cursor);
}

static int trap_row(sqlite3_stmt *s, void *ctx)
{
	int err = trap_set_add(ctx, sql_column_text(s, 0));

	/* A name the set refuses (a control character) is not a trap; the rest load. */
	return err == -EINVAL || err == -ENAMETOOLONG || err == -ENODATA ? 0 : err;
}

int watch_store_traps_load(struct watch_store *ws, struct trap_set *set)
{
	return sql_rows(ws->stmt[STMT_TRAPS_ALL], trap_row, set);
}

int watch_store_trap_add(struct watch_store *ws, const char *name, int64_t now)
{
	sqlite3_stmt *s = ws->stmt[STMT_TRAP_ADD];
	int err;

	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	err = sql_run_changing(s);
	return err == -ENOENT ? 0 : err ? err : 1;
}
