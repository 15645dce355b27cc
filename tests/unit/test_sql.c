// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The SQLite helpers of store/sql.h, on an in-memory database: the one
 * place where SQLITE_ROW/SQLITE_DONE handling and error mapping are
 * decided for the store and the greylist alike.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "store/sql.h"

enum {
	T_INSERT,
	T_DELETE,
	T_ALL,
	T_ONE,
	T_COUNT,
	T_MAX,
};

static const char *const sql[T_MAX] = {
	[T_INSERT] = "INSERT INTO t(k, v) VALUES(?1, ?2)",
	[T_DELETE] = "DELETE FROM t WHERE k = ?1",
	[T_ALL] = "SELECT k, v FROM t ORDER BY k",
	[T_ONE] = "SELECT v FROM t WHERE k = ?1",
	[T_COUNT] = "SELECT count(*) FROM t",
};

static int append_row(sqlite3_stmt *s, void *ctx)
{
	char *buf = ctx;
	size_t used = strlen(buf);

	snprintf(buf + used, 256 - used, "%d=%s;", sqlite3_column_int(s, 0),
		 sql_column_text(s, 1));
	return 0;
}

/* Stops the walk at the first row. */
static int stop_row(sqlite3_stmt *s, void *ctx)
{
	(void)s;
	++*(int *)ctx;
	return -ECANCELED;
}

static int insert(sqlite3_stmt *s, int k, const char *v)
{
	sqlite3_bind_int(s, 1, k);
	if (v)
		sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	return sql_run(s);
}

int main(void)
{
	sqlite3_stmt *stmt[T_MAX] = { 0 };
	char text[256] = "";
	int64_t n = -1;
	int calls = 0;
	sqlite3 *db;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return 2;
	CHECK_INT(sql_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)"), 0, "sql_exec");
	CHECK_INT(sql_exec(db, "CREATE TABLE t(k)"), -EIO, "a plain SQL error is -EIO");
	CHECK_INT(sql_prepare_all(db, sql, stmt, T_MAX), 0, "prepare a table of statements");
	CHECK_INT(sql_prepare_all(db, sql, stmt, T_MAX), 0, "prepared ones are kept, not redone");

	CHECK_INT(sql_row_int64(stmt[T_COUNT], &n), 0, "count of an empty table");
	CHECK_INT(n, 0, "is 0");
	/* The two copies of this layer differed here: a query that returns no
	 * row was success with nothing read in one of them. */
	CHECK_INT(sqlite3_bind_int(stmt[T_ONE], 1, 7), SQLITE_OK, "bind a key");
	n = 42;
	CHECK_INT(sql_row_int64(stmt[T_ONE], &n), -ENOENT, "a one-row query without a row: -ENOENT");
	CHECK_INT(n, 42, "and nothing read");

	CHECK_INT(insert(stmt[T_INSERT], 1, "one"), 0, "insert");
	CHECK_INT(insert(stmt[T_INSERT], 2, NULL), 0, "insert a NULL");
	CHECK_INT(insert(stmt[T_INSERT], 1, "again"), -EEXIST, "a constraint is -EEXIST");
	CHECK_INT(sql_rows(stmt[T_ALL], append_row, text), 0, "walk every row");
	CHECK_STR(text, "1=one;2=;", "every row once, NULL text as \"\"");
	CHECK_INT(sql_rows(stmt[T_ALL], stop_row, &calls), -ECANCELED,
		  "a row callback's error stops the walk and is returned");
	CHECK_INT(calls, 1, "after one row");
	CHECK_INT(sql_row_int64(stmt[T_COUNT], &n), 0, "the statements were reset: count again");
	CHECK_INT(n, 2, "two rows");

	sqlite3_bind_int(stmt[T_DELETE], 1, 2);
	CHECK_INT(sql_run_changing(stmt[T_DELETE]), 0, "delete a row");
	sqlite3_bind_int(stmt[T_DELETE], 1, 2);
	CHECK_INT(sql_run_changing(stmt[T_DELETE]), -ENOENT, "delete it again: -ENOENT");
	CHECK_INT(sql_run(stmt[T_ALL]), 0, "sql_run ignores the rows of a query");

	CHECK_INT(sql_errno(NULL, SQLITE_DONE), 0, "SQLITE_DONE is success");
	CHECK_INT(sql_errno(NULL, SQLITE_ROW), 0, "SQLITE_ROW is success");
	CHECK_INT(sql_errno(NULL, SQLITE_BUSY), -EBUSY, "SQLITE_BUSY: -EBUSY");
	CHECK_INT(sql_errno(NULL, SQLITE_FULL), -ENOSPC, "SQLITE_FULL: -ENOSPC");
	CHECK_INT(sql_errno(NULL, SQLITE_NOTADB), -EBADMSG, "SQLITE_NOTADB: -EBADMSG");
	CHECK_INT(sql_errno(NULL, SQLITE_IOERR_WRITE), -EIO, "an extended I/O code without an OS error: -EIO");

	sql_finalize_all(stmt, T_MAX);
	CHECK(!stmt[0] && !stmt[T_MAX - 1], "finalized statements are NULL");
	CHECK_INT(sqlite3_close(db), SQLITE_OK, "nothing left open on the connection");
	return check_done();
}
