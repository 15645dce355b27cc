// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The CrowdSec client's tables in the store (cs_store.h). */
#include <errno.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "crowdsec/cs_store.h"
#include "store/sql.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS crowdsec_decisions("
    " id INTEGER PRIMARY KEY, value TEXT NOT NULL, until INTEGER NOT NULL,"
    " origin TEXT NOT NULL, scope INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS crowdsec_pushed("
    " value TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS crowdsec_queue("
    " pos INTEGER PRIMARY KEY, value TEXT NOT NULL, tbl TEXT NOT NULL,"
    " evidence INTEGER NOT NULL, added INTEGER NOT NULL);";

enum cs_stmt {
	STMT_DEC_ALL,
	STMT_DEC_PUT,
	STMT_DEC_DEL,
	STMT_PUSHED_ALL,
	STMT_PUSHED_PUT,
	STMT_PUSHED_DEL,
	STMT_QUEUE_ALL,
	STMT_QUEUE_PUT,
	STMT_QUEUE_CLEAR,
	STMT_MAX,
};

static const char *const stmt_sql[STMT_MAX] = {
    [STMT_DEC_ALL] = "SELECT id, value, until, origin, scope FROM crowdsec_decisions",
    [STMT_DEC_PUT] = "INSERT OR REPLACE INTO crowdsec_decisions(id, value, until, origin, scope)"
		     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [STMT_DEC_DEL] = "DELETE FROM crowdsec_decisions WHERE id = ?1",
    [STMT_PUSHED_ALL] = "SELECT value, until FROM crowdsec_pushed",
    [STMT_PUSHED_PUT] = "INSERT OR REPLACE INTO crowdsec_pushed(value, until) VALUES(?1, ?2)",
    [STMT_PUSHED_DEL] = "DELETE FROM crowdsec_pushed WHERE value = ?1",
    [STMT_QUEUE_ALL] = "SELECT value, tbl, evidence, added FROM crowdsec_queue ORDER BY pos",
    [STMT_QUEUE_PUT] = "INSERT INTO crowdsec_queue(pos, value, tbl, evidence, added)"
		       " VALUES(?1, ?2, ?3, ?4, ?5)",
    [STMT_QUEUE_CLEAR] = "DELETE FROM crowdsec_queue",
};

struct cs_store {
	sqlite3_stmt *stmt[STMT_MAX];
};

int cs_store_open(struct store *st, struct cs_store **out)
{
	struct cs_store *cs = calloc(1, sizeof(*cs));
	sqlite3 *db = store_sqlite(st);
	int err;

	*out = NULL;
	if (!cs)
		return -ENOMEM;
	err = sql_exec(db, schema_sql);
	if (!err)
		err = sql_prepare_all(db, stmt_sql, cs->stmt, STMT_MAX);
	if (err) {
		cs_store_close(cs);
		return err;
	}
	*out = cs;
	return 0;
}

void cs_store_close(struct cs_store *cs)
{
	if (!cs)
		return;
	sql_finalize_all(cs->stmt, STMT_MAX);
	free(cs);
}

struct rows_ctx {
	cs_store_decision_fn dec;
	cs_store_pushed_fn pushed;
	cs_store_queued_fn queued;
	void *ctx;
};

static int decision_row(sqlite3_stmt *s, void *arg)
{
	struct rows_ctx *c = arg;
	const char *value = sql_column_text(s, 1), *origin = sql_column_text(s, 3);
	struct addr_prefix p;

	if (!value || !origin || addr_parse(value, &p))
		return 0;
	return c->dec(c->ctx, sqlite3_column_int64(s, 0), &p, sqlite3_column_int64(s, 2), origin,
		      sqlite3_column_int(s, 4));
}

static int pushed_row(sqlite3_stmt *s, void *arg)
{
	struct rows_ctx *c = arg;
	const char *value = sql_column_text(s, 0);
	struct addr_prefix p;

	if (!value || addr_parse(value, &p))
		return 0;
	return c->pushed(c->ctx, &p, sqlite3_column_int64(s, 1));
}

int cs_store_decisions(struct cs_store *cs, cs_store_decision_fn fn, void *ctx)
{
	struct rows_ctx c = { .dec = fn, .ctx = ctx };

	if (!cs)
		return 0;
	return sql_rows(cs->stmt[STMT_DEC_ALL], decision_row, &c);
}

int cs_store_pushed(struct cs_store *cs, cs_store_pushed_fn fn, void *ctx)
{
	struct rows_ctx c = { .pushed = fn, .ctx = ctx };

	if (!cs)
		return 0;
	return sql_rows(cs->stmt[STMT_PUSHED_ALL], pushed_row, &c);
}

int cs_store_decision_put(struct cs_store *cs, int64_t id, const struct addr_prefix *p,
			  int64_t until, const char *origin, int scope)
{
	char value[ADDR_STRLEN];
	sqlite3_stmt *s;

	if (!cs)
		return 0;
	s = cs->stmt[STMT_DEC_PUT];
	addr_format(p, value, sizeof(value));
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, until);
	sqlite3_bind_text(s, 4, origin, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 5, scope);
	return sql_run(s);
}

int cs_store_decision_delete(struct cs_store *cs, int64_t id)
{
	sqlite3_stmt *s;

	if (!cs)
		return 0;
	s = cs->stmt[STMT_DEC_DEL];
	sqlite3_bind_int64(s, 1, id);
	return sql_run(s);
}

int cs_store_pushed_put(struct cs_store *cs, const struct addr_prefix *p, int64_t until)
{
	char value[ADDR_STRLEN];
	sqlite3_stmt *s;

	if (!cs)
		return 0;
	s = cs->stmt[STMT_PUSHED_PUT];
	addr_format(p, value, sizeof(value));
	sqlite3_bind_text(s, 1, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, until);
	return sql_run(s);
}

int cs_store_pushed_delete(struct cs_store *cs, const struct addr_prefix *p)
{
	char value[ADDR_STRLEN];
	sqlite3_stmt *s;

	if (!cs)
		return 0;
	s = cs->stmt[STMT_PUSHED_DEL];
	addr_format(p, value, sizeof(value));
	sqlite3_bind_text(s, 1, value, -1, SQLITE_TRANSIENT);
	return sql_run(s);
}

static int queued_row(sqlite3_stmt *s, void *arg)
{
	struct rows_ctx *c = arg;
	const char *value = sql_column_text(s, 0), *table = sql_column_text(s, 1);
	struct addr_prefix p;

	if (!value || !table || addr_parse(value, &p))
		return 0;
	return c->queued(c->ctx, &p, table, sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3));
}

int cs_store_queue_take(struct cs_store *cs, cs_store_queued_fn fn, void *ctx)
{
	struct rows_ctx c = { .queued = fn, .ctx = ctx };
	int err;

	if (!cs)
		return 0;
	err = sql_rows(cs->stmt[STMT_QUEUE_ALL], queued_row, &c);
	return err ? err : sql_run(cs->stmt[STMT_QUEUE_CLEAR]);
}

int cs_store_queue_put(struct cs_store *cs, int64_t pos, const struct addr_prefix *p,
		       const char *table, int64_t evidence_id, int64_t added)
{
	char value[ADDR_STRLEN];
	sqlite3_stmt *s;

	if (!cs)
		return 0;
	s = cs->stmt[STMT_QUEUE_PUT];
	addr_format(p, value, sizeof(value));
	sqlite3_bind_int64(s, 1, pos);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, table, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, evidence_id);
	sqlite3_bind_int64(s, 5, added);
	return sql_run(s);
}
