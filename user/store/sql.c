// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * SQLite helpers shared by the store and the greylist (sql.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <sqlite3.h>

#include "lib/addr.h"
#include "store/sql.h"

/* The OS error wins where there is one: it says more than SQLite's code. */
int sql_errno(struct sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

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
		/* A full disk, or the database at SQLite's own size limit. */
		return sys == EDQUOT ? -EDQUOT : -ENOSPC;
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

int sql_exec(struct sqlite3 *db, const char *sql)
{
	return sql_errno(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int sql_prepare_all(struct sqlite3 *db, const char *const sql[], struct sqlite3_stmt *stmt[],
		    int n)
{
	for (int i = 0; i < n; i++) {
		int rc;

		if (stmt[i])
			continue;
		rc = sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sql_errno(db, rc);
	}
	return 0;
}

void sql_finalize_all(struct sqlite3_stmt *stmt[], int n)
{
	for (int i = 0; i < n; i++) {
		sqlite3_finalize(stmt[i]);
		stmt[i] = NULL;
	}
}

int sql_run(struct sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_errno(sqlite3_db_handle(s), rc);
}

int sql_run_changing(struct sqlite3_stmt *s)
{
	int err = sql_run(s);

	return err ? err : sqlite3_changes(sqlite3_db_handle(s)) ? 0 : -ENOENT;
}

int sql_rows(struct sqlite3_stmt *s, sql_row_fn row, void *ctx)
{
	int rc = SQLITE_DONE, ret = 0;

	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = row(s, ctx);
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(sqlite3_db_handle(s), rc);
	sqlite3_reset(s);
	return ret;
}

int sql_row(struct sqlite3_stmt *s, sql_row_fn row, void *ctx)
{
	int rc = sqlite3_step(s), ret;

	if (rc == SQLITE_ROW)
		ret = row(s, ctx);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = sql_errno(sqlite3_db_handle(s), rc);
	sqlite3_reset(s);
	return ret;
}

static int take_int64(struct sqlite3_stmt *s, void *out)
{
	*(int64_t *)out = sqlite3_column_int64(s, 0);
	return 0;
}

int sql_row_int64(struct sqlite3_stmt *s, int64_t *out)
{
	return sql_row(s, take_int64, out);
}

const char *sql_column_text(struct sqlite3_stmt *s, int at)
{
	const unsigned char *text = sqlite3_column_text(s, at);

	return text ? (const char *)text : "";
}

static int addr_bytes(int family)
{
	return addr_max_plen(family) / 8;
}

void sql_bind_addr(struct sqlite3_stmt *s, int family_at, const struct addr_prefix *a)
{
	sqlite3_bind_int(s, family_at, a->family);
	sqlite3_bind_blob(s, family_at + 1, a->bytes, addr_bytes(a->family), SQLITE_STATIC);
}

int sql_column_addr(struct sqlite3_stmt *s, int family_at, int plen, struct addr_prefix *a)
{
	int family = sqlite3_column_int(s, family_at);
	const void *blob = sqlite3_column_blob(s, family_at + 1);
	int len = sqlite3_column_bytes(s, family_at + 1);

	memset(a, 0, sizeof(*a));
	if (family != AF_INET && family != AF_INET6)
		return -EBADMSG;
	if (plen == -1)
		plen = addr_max_plen(family);
	if (!blob || len != addr_bytes(family) || plen < 0 || plen > addr_max_plen(family))
		return -EBADMSG;
	a->family = (uint8_t)family;
	a->plen = (uint8_t)plen;
	memcpy(a->bytes, blob, (size_t)len);
	return 0;
}
