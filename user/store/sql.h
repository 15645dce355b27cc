/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one layer of SQLite helpers: every module that runs SQL on the
 * store's connection (the store itself, the greylist) prepares, steps and
 * maps errors through these, so that a result code means the same -errno
 * everywhere and a statement is always reset after use.
 *
 * Statements are prepared once (SQLITE_PREPARE_PERSISTENT) from a table
 * of SQL texts indexed by an enum, and reset after every step: a statement
 * left unreset would hold a read transaction open.
 */
#ifndef __GREYWALL_SQL_H
#define __GREYWALL_SQL_H

#include <stdint.h>

struct addr_prefix;
struct sqlite3;
struct sqlite3_stmt;

/*
 * An SQLite result code as -errno; 0 for SQLITE_OK, SQLITE_ROW and
 * SQLITE_DONE. SQLITE_FULL is -ENOSPC (-EDQUOT over a quota); an I/O or
 * open error is the OS error where the connection (db, may be NULL) has one.
 */
int sql_errno(struct sqlite3 *db, int rc);

/* Run SQL text (schema, pragmas) that binds nothing; 0 or -errno. */
int sql_exec(struct sqlite3 *db, const char *sql);

/*
 * Prepare each of the n statements sql[i] into stmt[i] that is not
 * prepared yet (NULL). On failure the ones prepared stay, for
 * sql_finalize_all().
 */
int sql_prepare_all(struct sqlite3 *db, const char *const sql[], struct sqlite3_stmt *stmt[],
		    int n);
void sql_finalize_all(struct sqlite3_stmt *stmt[], int n);

/*
 * Step a statement whose rows, if any, are not wanted (INSERT, DELETE,
 * BEGIN, ...), then reset it. 0 or -errno.
 */
int sql_run(struct sqlite3_stmt *s);
/* As sql_run(), but -ENOENT when the statement changed no row. */
int sql_run_changing(struct sqlite3_stmt *s);

/* Called with the statement on a row; a non-zero return stops the query. */
typedef int (*sql_row_fn)(struct sqlite3_stmt *s, void *ctx);

/*
 * Step a query to its end, calling row() on each row, then reset it.
 * Returns 0, row()'s non-zero return, or -errno.
 */
int sql_rows(struct sqlite3_stmt *s, sql_row_fn row, void *ctx);
/*
 * A query of one row: row() on its first, then reset. -ENOENT when it has
 * none (also for a query that always has one: no row is never success).
 */
int sql_row(struct sqlite3_stmt *s, sql_row_fn row, void *ctx);
/* A one-row query's first column as an integer (a count, max(id), a pragma). */
int sql_row_int64(struct sqlite3_stmt *s, int64_t *out);

/* A text column, "" for NULL; valid until the next step or reset. */
const char *sql_column_text(struct sqlite3_stmt *s, int at);

/*
 * An address as two parameters, family at family_at and its 4 or 16 bytes
 * (a blob, bound SQLITE_STATIC: a's memory must outlive the step) at
 * family_at + 1.
 */
void sql_bind_addr(struct sqlite3_stmt *s, int family_at, const struct addr_prefix *a);
/*
 * The address at columns family_at and family_at + 1, with prefix length
 * plen (-1: a host). -EBADMSG if the columns cannot be one.
 */
int sql_column_addr(struct sqlite3_stmt *s, int family_at, int plen, struct addr_prefix *a);

#endif /* __GREYWALL_SQL_H */
