// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The SQLite store. One connection per struct store, every statement
 * prepared once at open and reset after each use, so a load of a million
 * entries pays for B-tree work only, not for SQL parsing.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION):
 *   evidence  why an entry exists; entries and history point at it by id.
 *   entries   one row per (table, address/prefix). Addresses are stored as
 *             blobs of their native length (4 or 16 bytes) so that rows of
 *             the same family sort in address order. The baseline counters
 *             are one blob of 64 bytes (struct gw_counters order, each
 *             value little-endian), NULL while all of them are zero, which
 *             they are for most entries: fewer columns make bulk loads
 *             measurably faster than eight integer columns did.
 *   history   every add/delete/expire/... of an address, for `greywallctl
 *             why`; indexed by address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 5000
/* Page cache per connection, in KiB (negative cache_size). A table of a
 * million hosts is about 50 MiB on disk; with its pages cached, bulk loads
 * and the start-up scan never wait for the disk. Pages are only allocated
 * as they are used, so a small store costs little. */
#define STORE_CACHE_KIB 131072
/* Keep the WAL from staying at the size of the largest load. */
#define STORE_JOURNAL_SIZE_LIMIT (64 * 1024 * 1024)

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS evidence("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" source TEXT NOT NULL,"
	" detail TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS entries("
	" tbl TEXT NOT NULL,"
	" family INTEGER NOT NULL,"
	" plen INTEGER NOT NULL,"
	" addr BLOB NOT NULL,"
	" added INTEGER NOT NULL,"
	" cleared INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" evidence_id INTEGER NOT NULL,"
	" baseline BLOB,"
	" PRIMARY KEY(tbl, family, addr, plen)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS history("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" tbl TEXT NOT NULL,"
	" family INTEGER NOT NULL,"
	" addr BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" action TEXT NOT NULL,"
	" evidence_id INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_by_addr ON history(family, addr, plen);";

#define BASELINE_BLOB_SIZE (2 * GW_DIR_MAX * 8)

enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_EVIDENCE_ADD,
	STMT_EVIDENCE_GET,
	STMT_ENTRY_PUT,
	STMT_ENTRY_DELETE,
	STMT_TABLE_DELETE_ALL,
	STMT_ENTRIES_ALL,
	STMT_HISTORY_ADD,
	STMT_HISTORY_GET,
	STMT_MAX,
};

static const char *const stmt_sql[STMT_MAX] = {
	/* IMMEDIATE: take the write lock now, so that a writer never has to
	 * upgrade a read lock, which SQLite can only refuse with SQLITE_BUSY. */
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_EVIDENCE_ADD] = "INSERT INTO evidence(at, source, detail) VALUES(?1, ?2, ?3)",
	[STMT_EVIDENCE_GET] = "SELECT at, source, detail FROM evidence WHERE id = ?1",
	[STMT_ENTRY_PUT] = "INSERT OR REPLACE INTO entries(tbl, family, plen, addr, added, "
			   "cleared, last_seen, evidence_id, baseline) "
			   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_ENTRY_DELETE] = "DELETE FROM entries "
			      "WHERE tbl = ?1 AND family = ?2 AND addr = ?3 AND plen = ?4",
	[STMT_TABLE_DELETE_ALL] = "DELETE FROM entries WHERE tbl = ?1",
	[STMT_ENTRIES_ALL] = "SELECT tbl, family, plen, addr, added, cleared, last_seen, "
			     "evidence_id, baseline FROM entries",
	[STMT_HISTORY_ADD] = "INSERT INTO history(at, tbl, family, addr, plen, action, "
			     "evidence_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_HISTORY_GET] = "SELECT h.at, h.tbl, h.action, h.evidence_id, "
			     "e.at, e.source, e.detail "
			     "FROM history h LEFT JOIN evidence e ON e.id = h.evidence_id "
			     "WHERE h.family = ?1 AND h.addr = ?2 AND h.plen = ?3 "
			     "ORDER BY h.at, h.id",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_MAX];
};

/* Map an SQLite result code to -errno; the OS error wins where there is one. */
static int store_errno(struct store *st, int rc)
{
	int sys = st && st->db ? sqlite3_system_errno(st->db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return sys ? -sys : -ENOENT;
	case SQLITE_IOERR:
		return sys ? -sys : -EIO;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

const char *store_errmsg(struct store *st)
{
	return st && st->db ? sqlite3_errmsg(st->db) : "no store";
}

struct sqlite3 *store_sqlite(struct store *st)
{
	return st->db;
}

static int exec_sql(struct store *st, const char *sql)
{
	return store_errno(st, sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

/* Run a statement that returns no rows (or whose rows are ignored). */
static int step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_errno(st, rc);
}

static int read_user_version(struct store *st, int *version)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);

	if (rc != SQLITE_OK)
		return store_errno(st, rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_errno(st, rc);
}

/* Create or check the schema. Two processes opening a new store at once
 * both get here; the write lock of BEGIN IMMEDIATE serialises them. */
static int migrate(struct store *st)
{
	char sql[64];
	int version, err;

	err = read_user_version(st, &version);
	if (err)
		return err;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version > STORE_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;	/* written by a newer greywall */
	err = exec_sql(st, "BEGIN IMMEDIATE");
	if (err)
		return err;
	err = read_user_version(st, &version);
	if (!err && version < STORE_SCHEMA_VERSION) {
		err = exec_sql(st, schema_sql);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		if (!err)
			err = exec_sql(st, sql);
	}
	if (!err)
		err = exec_sql(st, "COMMIT");
	if (err)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

int store_open(const char *path, struct store **out)
{
	char pragmas[256];
	struct store *st;
	int rc, err;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	/* The file is created if missing; its directory is not (that is the
	 * operator's state-dir, whose ownership and mode we must not guess). */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_errno(st, rc);
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
		 "PRAGMA journal_size_limit = %d;",
		 STORE_CACHE_KIB, STORE_JOURNAL_SIZE_LIMIT);
	err = exec_sql(st, pragmas);
	if (!err)
		err = migrate(st);
	for (int i = 0; !err && i < STMT_MAX; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		err = store_errno(st, rc);
	}
	if (err)
		goto fail;
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
	for (int i = 0; i < STMT_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

int store_begin(struct store *st)
{
	return step_done(st, st->stmt[STMT_BEGIN]);
}

int store_commit(struct store *st)
{
	return step_done(st, st->stmt[STMT_COMMIT]);
}

int store_rollback(struct store *st)
{
	return step_done(st, st->stmt[STMT_ROLLBACK]);
}

static int addr_len(const struct addr_prefix *p)
{
	return p->family == AF_INET ? 4 : 16;
}

/* Bind family, address and plen at the given parameter indexes. */
static void bind_prefix(sqlite3_stmt *s, int family_at, int addr_at, int plen_at,
			const struct addr_prefix *p)
{
	sqlite3_bind_int(s, family_at, p->family);
	sqlite3_bind_blob(s, addr_at, p->bytes, addr_len(p), SQLITE_STATIC);
	sqlite3_bind_int(s, plen_at, p->plen);
}

/* Rebuild a prefix from its columns; -EBADMSG if they cannot be one. */
static int column_prefix(sqlite3_stmt *s, int family_at, int addr_at, int plen_at,
			 struct addr_prefix *p)
{
	const void *blob = sqlite3_column_blob(s, addr_at);
	int len = sqlite3_column_bytes(s, addr_at);
	int plen = sqlite3_column_int(s, plen_at);

	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)sqlite3_column_int(s, family_at);
	if ((p->family != AF_INET && p->family != AF_INET6) || len != addr_len(p) || !blob ||
	    plen < 0 || plen > addr_max_plen(p->family))
		return -EBADMSG;
	p->plen = (uint8_t)plen;
	memcpy(p->bytes, blob, (size_t)len);
	return 0;
}

static void column_text(sqlite3_stmt *s, int at, char *buf, size_t len)
{
	const unsigned char *text = sqlite3_column_text(s, at);

	snprintf(buf, len, "%s", text ? (const char *)text : "");
}

/* Encode counters into blob; false (and nothing to store) when all are zero. */
static bool baseline_encode(const struct gw_counters *c, uint8_t blob[BASELINE_BLOB_SIZE])
{
	const __u64 *values[2] = { c->packets, c->bytes };
	bool any = false;

	for (int half = 0; half < 2; half++) {
		for (int d = 0; d < GW_DIR_MAX; d++) {
			__u64 v = values[half][d];
			uint8_t *out = blob + (half * GW_DIR_MAX + d) * 8;

			any |= v != 0;
			for (int b = 0; b < 8; b++)
				out[b] = (uint8_t)(v >> (8 * b));
		}
	}
	return any;
}

static int column_baseline(sqlite3_stmt *s, int at, struct gw_counters *c)
{
	const uint8_t *blob;
	int len;

	memset(c, 0, sizeof(*c));
	if (sqlite3_column_type(s, at) == SQLITE_NULL)
		return 0;
	blob = sqlite3_column_blob(s, at);
	len = sqlite3_column_bytes(s, at);
	if (len != BASELINE_BLOB_SIZE || !blob)
		return -EBADMSG;
	for (int i = 0; i < 2 * GW_DIR_MAX; i++) {
		__u64 v = 0;

		for (int b = 7; b >= 0; b--)
			v = v << 8 | blob[i * 8 + b];
		if (i < GW_DIR_MAX)
			c->packets[i] = v;
		else
			c->bytes[i - GW_DIR_MAX] = v;
	}
	return 0;
}

int64_t store_evidence_add(struct store *st, const struct evidence *ev)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_ADD];
	int err;

	sqlite3_bind_int64(s, 1, ev->when);
	sqlite3_bind_text(s, 2, ev->source, (int)strnlen(ev->source, sizeof(ev->source)),
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->detail, (int)strnlen(ev->detail, sizeof(ev->detail)),
			  SQLITE_STATIC);
	err = step_done(st, s);
	if (err)
		return err;
	return sqlite3_last_insert_rowid(st->db);
}

int store_evidence_get(struct store *st, int64_t id, struct evidence *out)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_GET];
	int rc, err = 0;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = id;
		out->when = sqlite3_column_int64(s, 0);
		column_text(s, 1, out->source, sizeof(out->source));
		column_text(s, 2, out->detail, sizeof(out->detail));
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : store_errno(st, rc);
	}
	sqlite3_reset(s);
	return err;
}

int store_entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		    const struct entry_meta *m)
{
	sqlite3_stmt *s = st->stmt[STMT_ENTRY_PUT];
	uint8_t blob[BASELINE_BLOB_SIZE];

	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	bind_prefix(s, 2, 4, 3, p);
	sqlite3_bind_int64(s, 5, m->added);
	sqlite3_bind_int64(s, 6, m->cleared);
	sqlite3_bind_int64(s, 7, m->last_seen);
	sqlite3_bind_int64(s, 8, m->evidence_id);
	if (baseline_encode(&m->baseline, blob))
		sqlite3_bind_blob(s, 9, blob, sizeof(blob), SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 9);
	return step_done(st, s);
}

int store_entry_delete(struct store *st, const char *table, const struct addr_prefix *p)
{
	sqlite3_stmt *s = st->stmt[STMT_ENTRY_DELETE];
	int err;

	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	bind_prefix(s, 2, 3, 4, p);
	err = step_done(st, s);
	if (err)
		return err;
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int store_table_delete_all(struct store *st, const char *table)
{
	sqlite3_stmt *s = st->stmt[STMT_TABLE_DELETE_ALL];

	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	return step_done(st, s);
}

/*
 * The callback must not call store_entries_foreach() itself (the statement
 * is in use); other store calls are fine, though rows it changes may or may
 * not be visited.
 */
int store_entries_foreach(struct store *st, store_entry_cb cb, void *ctx)
{
	sqlite3_stmt *s = st->stmt[STMT_ENTRIES_ALL];
	int rc = SQLITE_DONE, ret = 0;

	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(s, 0);
		struct addr_prefix p;
		struct entry_meta m;

		ret = column_prefix(s, 1, 3, 2, &p);
		if (ret)
			break;
		m.added = sqlite3_column_int64(s, 4);
		m.cleared = sqlite3_column_int64(s, 5);
		m.last_seen = sqlite3_column_int64(s, 6);
		m.evidence_id = sqlite3_column_int64(s, 7);
		ret = column_baseline(s, 8, &m.baseline);
		if (ret)
			break;
		ret = cb(ctx, table ? table : "", &p, &m);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(st, rc);
	sqlite3_reset(s);
	return ret;
}

int store_history_add(struct store *st, int64_t when, const char *table,
		      const struct addr_prefix *p, const char *action, int64_t evidence_id)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_ADD];

	sqlite3_bind_int64(s, 1, when);
	sqlite3_bind_text(s, 2, table, -1, SQLITE_STATIC);
	bind_prefix(s, 3, 4, 5, p);
	sqlite3_bind_text(s, 6, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, evidence_id);
	return step_done(st, s);
}

/*
 * Oldest first (by time, then by insertion). An event whose evidence row
 * is missing gets an evidence with its id, time 0 and empty texts.
 */
int store_history_foreach(struct store *st, const struct addr_prefix *p, store_history_cb cb,
			  void *ctx)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_GET];
	int rc = SQLITE_DONE, ret = 0;

	bind_prefix(s, 1, 2, 3, p);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(s, 1);
		const char *action = (const char *)sqlite3_column_text(s, 2);
		struct evidence ev;

		memset(&ev, 0, sizeof(ev));
		ev.id = sqlite3_column_int64(s, 3);
		ev.when = sqlite3_column_int64(s, 4);
		column_text(s, 5, ev.source, sizeof(ev.source));
		column_text(s, 6, ev.detail, sizeof(ev.detail));
		ret = cb(ctx, sqlite3_column_int64(s, 0), table ? table : "",
			 action ? action : "", &ev);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_errno(st, rc);
	sqlite3_reset(s);
	return ret;
}
