// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The store's schema (PRAGMA user_version = STORE_SCHEMA_VERSION):
 *   evidence  why an entry exists; entries and history point at it by id.
 *   entries   table entries, packed into buckets: one row per (bucket,
 *             table) whose blob holds every entry of that table whose
 *             address hashes to the bucket (record.h). A load of a million
 *             entries writes some 65,536 rows instead of a million, and a
 *             single entry costs the rewrite of one blob of a few hundred bytes.
 *   history   every removal, zero, ... of an address (history.c).
 *
 * Version 1 kept one row per entry and one history row per addition; it
 * is converted on open. Version 2 kept the greylist's (user/spamd/grey.c)
 * MAIL FROM and RCPT TO paths without their angle brackets; version 3
 * keeps them as spamd does, as the client wrote them ("<a@b>", "<>").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/internal.h"
#include "store/sql.h"

#define STORE_SCHEMA_VERSION 3

static const char evidence_sql[] =
	"CREATE TABLE evidence("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" source TEXT NOT NULL,"
	" detail TEXT NOT NULL);";

static const char entries_sql[] =
	"CREATE TABLE entries("
	" bucket INTEGER NOT NULL,"
	" tbl TEXT NOT NULL,"
	" data BLOB NOT NULL,"
	" PRIMARY KEY(bucket, tbl)) WITHOUT ROWID;";

static const char history_sql[] =
	"CREATE TABLE history("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" tbl TEXT NOT NULL,"
	" family INTEGER NOT NULL,"
	" addr BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" action TEXT NOT NULL,"
	" evidence_id INTEGER NOT NULL,"
	" added_at INTEGER,"
	" added_evidence INTEGER);"
	"CREATE INDEX history_by_addr ON history(family, addr, plen);";

/* Version 1 to 2, before its entries are copied (entries_v1 goes after). */
static const char upgrade_v1_sql[] =
	"ALTER TABLE entries RENAME TO entries_v1;"
	"ALTER TABLE history ADD COLUMN added_at INTEGER;"
	"ALTER TABLE history ADD COLUMN added_evidence INTEGER;"
	/* The additions of present entries: their records say it now. */
	"DELETE FROM history WHERE action = 'add' AND EXISTS("
	" SELECT 1 FROM entries_v1 e WHERE e.tbl = history.tbl AND e.family = history.family"
	" AND e.addr = history.addr AND e.plen = history.plen AND e.added = history.at"
	" AND e.evidence_id = history.evidence_id);";

/* Version 1's baseline column: struct gw_counters order, little-endian. */
#define BASELINE_BLOB_SIZE (2 * GW_DIR_MAX * 8)

/* Version 1's baseline column; NULL means all zero. */
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

/*
 * Version 2 to 3: the greylist's paths get spamd's angle brackets (the
 * null sender, stored empty, becomes "<>"). Paths that have them already
 * (from a spamd sync peer) stay. Should a tuple then exist twice (once
 * from the tarpit, once from a spamd peer), the converted one goes: the
 * peer's row keeps the key. The greylist's tables exist only in stores a
 * spamd block has used (grey_open() makes them in the current form).
 */
#define BRACKETED(col) "(" col " LIKE '<%>')"
#define BRACKET(col) col " = CASE WHEN " BRACKETED(col) " THEN " col " ELSE '<' || " col " || '>' END"

static const char upgrade_v2_sql[] =
	"UPDATE OR IGNORE grey_tuples SET " BRACKET("mfrom") ", " BRACKET("rcpt")
	" WHERE NOT (" BRACKETED("mfrom") " AND " BRACKETED("rcpt") ");"
	"DELETE FROM grey_tuples WHERE NOT (" BRACKETED("mfrom") " AND " BRACKETED("rcpt") ");"
	/* A TRAPPED entry's evidence; an entry added by hand has none. */
	"UPDATE grey_addrs SET " BRACKET("mfrom") ", " BRACKET("rcpt") " WHERE rcpt != '';"
	"UPDATE grey_callbacks SET " BRACKET("rcpt") " WHERE rcpt != '';";

static int upgrade_v2(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int64_t n = 0;
	int err = sql_errno(st->db, sqlite3_prepare_v2(st->db,
						       "SELECT count(*) FROM sqlite_master WHERE"
						       " type = 'table' AND name IN ('grey_tuples',"
						       " 'grey_addrs', 'grey_callbacks')",
						       -1, &s, NULL));

	if (!err)
		err = sql_row_int64(s, &n);
	sqlite3_finalize(s);
	if (err || n == 0)
		return err;
	/* The three come and go together (grey_open()); a store with some only is not ours. */
	return n == 3 ? sql_exec(st->db, upgrade_v2_sql) : -EBADMSG;
}

static int read_user_version(struct store *st, int *version)
{
	sqlite3_stmt *s = NULL;
	int64_t v;
	int err = sql_errno(st->db, sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL));

	if (!err)
		err = sql_row_int64(s, &v);
	sqlite3_finalize(s);
	if (!err)
		*version = (int)v;
	return err;
}

/* One entry of version 1's table, put into its bucket. */
static int v1_entry_row(sqlite3_stmt *s, void *ctx)
{
	struct gw_counters baseline;
	struct addr_prefix p;
	struct entry_meta m;
	int err = sql_column_addr(s, 1, sqlite3_column_int(s, 3), &p);

	if (!err)
		err = column_baseline(s, 8, &baseline);
	if (err)
		return err;
	m.added = sqlite3_column_int64(s, 4);
	m.cleared = sqlite3_column_int64(s, 5);
	m.last_seen = sqlite3_column_int64(s, 6);
	m.evidence_id = sqlite3_column_int64(s, 7);
	return store_entry_put(ctx, sql_column_text(s, 0), &p, &m, &baseline);
}

/* Copy version 1's one row per entry into buckets. */
static int upgrade_v1(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int err;

	err = sql_exec(st->db, upgrade_v1_sql);
	if (!err)
		err = sql_exec(st->db, entries_sql);
	if (!err)
		err = store_prepare(st);
	if (!err)
		err = sql_errno(st->db,
				sqlite3_prepare_v2(st->db,
						   "SELECT tbl, family, addr, plen, added, cleared, "
						   "last_seen, evidence_id, baseline FROM entries_v1",
						   -1, &s, NULL));
	if (!err)
		err = sql_rows(s, v1_entry_row, st);
	sqlite3_finalize(s);
	if (!err)
		err = cache_flush(st);
	if (!err)
		err = sql_exec(st->db, "DROP TABLE entries_v1");
	return err;
}

/* Create, upgrade or check the schema. Two processes opening a new store
 * at once both get here; the write lock of BEGIN IMMEDIATE serialises them. */
int store_migrate(struct store *st)
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
	err = sql_exec(st->db, "BEGIN IMMEDIATE");
	if (err)
		return err;
	err = read_user_version(st, &version);
	if (!err && version == 0) {
		err = sql_exec(st->db, evidence_sql);
		if (!err)
			err = sql_exec(st->db, entries_sql);
		if (!err)
			err = sql_exec(st->db, history_sql);
	} else if (!err) {
		if (version == 1)
			err = upgrade_v1(st);
		if (!err && version <= 2)
			err = upgrade_v2(st);
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if (!err)
		err = sql_exec(st->db, sql);
	if (!err)
		err = sql_exec(st->db, "COMMIT");
	if (err) {
		cache_drop(st);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return err;
}

