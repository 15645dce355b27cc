// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Evidence rows: why an entry exists. Ids are handed out by the store
 * (struct store's next_evidence_id), and the rows of a commit that failed
 * stay in memory, readable, until a later commit writes them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/array.h"
#include "store/internal.h"
#include "store/sql.h"

/*
 * Evidence rows of failed commits kept in memory to be written with the
 * next commit, at most (about 560 bytes each). Beyond it store_evidence_add()
 * refuses new ones inside a transaction: an outsider who keeps tripping
 * traps or overloads while the disk is full must not grow this.
 */
#define STORE_UNSAVED_EVIDENCE_MAX 65536

static int evidence_insert(struct store *st, const struct evidence *ev)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_ADD];

	sqlite3_bind_int64(s, 1, ev->when);
	sqlite3_bind_text(s, 2, ev->source, (int)strnlen(ev->source, sizeof(ev->source)),
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->detail, (int)strnlen(ev->detail, sizeof(ev->detail)),
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, ev->id);
	return sql_run(s);
}

/* The evidence of failed commits goes into this one, before its entries. */
int evidence_replay(struct store *st)
{
	int err = 0;

	for (size_t i = 0; !err && i < st->unsaved_evidence.n; i++)
		err = evidence_insert(st, &st->unsaved_evidence.items[i]);
	return err;
}

/* A commit failed: keep its evidence rows for the next one, as many as allowed. */
void evidence_keep(struct store *st)
{
	struct evidence_list *u = &st->unsaved_evidence;

	for (size_t i = 0; i < st->txn_evidence.n; i++) {
		if (u->n >= STORE_UNSAVED_EVIDENCE_MAX ||
		    array_room(&u->items, &u->cap, u->n + 1, sizeof(*u->items), 16)) {
			st->evidence_dropped += st->txn_evidence.n - i;
			break;
		}
		u->items[u->n++] = st->txn_evidence.items[i];
	}
	st->txn_evidence.n = 0;
}

/* The next id no row has and this connection never handed out. */
static int evidence_next_id(struct store *st, int64_t *id)
{
	int64_t max;
	int err = sql_row_int64(st->stmt[STMT_EVIDENCE_MAX], &max);

	if (err)
		return err;
	*id = max + 1 > st->next_evidence_id ? max + 1 : st->next_evidence_id;
	return 0;
}

int64_t store_evidence_add(struct store *st, const struct evidence *ev)
{
	bool in_txn = !sqlite3_get_autocommit(st->db);
	struct evidence_list *t = &st->txn_evidence;
	struct evidence row = *ev;
	int err;

	/* Rows that a failed commit would have to keep, and no room to keep them. */
	if (in_txn && st->unsaved_evidence.n + t->n >= STORE_UNSAVED_EVIDENCE_MAX)
		return -ENOSPC;
	err = evidence_next_id(st, &row.id);
	if (!err && in_txn)
		err = array_room(&t->items, &t->cap, t->n + 1, sizeof(*t->items), 16);
	if (!err)
		err = evidence_insert(st, &row);
	if (err)
		return err;
	st->next_evidence_id = row.id + 1;
	if (in_txn)
		t->items[t->n++] = row;
	return row.id;
}

/* An evidence row not in the database yet, from memory. */
static bool evidence_unsaved_get(const struct store *st, int64_t id, struct evidence *out)
{
	const struct evidence_list *lists[2] = { &st->unsaved_evidence, &st->txn_evidence };

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < lists[l]->n; i++) {
			if (lists[l]->items[i].id == id) {
				*out = lists[l]->items[i];
				return true;
			}
		}
	}
	return false;
}

/* An evidence row's columns (at, source, detail) into ctx. */
static int evidence_row(sqlite3_stmt *s, void *ctx)
{
	struct evidence *out = ctx;

	out->when = sqlite3_column_int64(s, 0);
	snprintf(out->source, sizeof(out->source), "%s", sql_column_text(s, 1));
	snprintf(out->detail, sizeof(out->detail), "%s", sql_column_text(s, 2));
	return 0;
}

int store_evidence_get(struct store *st, int64_t id, struct evidence *out)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_GET];
	struct evidence row = { .id = id };
	int err;

	if (evidence_unsaved_get(st, id, out))
		return 0;
	sqlite3_bind_int64(s, 1, id);
	err = sql_row(s, evidence_row, &row);
	if (!err)
		*out = row;
	return err;
}

struct ids_ctx {
	store_evidence_id_cb cb;
	void *ctx;
};

static int evidence_id_row(sqlite3_stmt *s, void *ctx)
{
	struct ids_ctx *c = ctx;

	return c->cb(c->ctx, sqlite3_column_int64(s, 0));
}

int store_evidence_ids(struct store *st, const char *source, store_evidence_id_cb cb, void *ctx)
{
	const struct evidence_list *lists[2] = { &st->unsaved_evidence, &st->txn_evidence };
	struct ids_ctx c = { cb, ctx };
	sqlite3_stmt *s;
	int err, rc;

	/* Once, at start: not worth a statement kept prepared. */
	rc = sqlite3_prepare_v2(st->db, "SELECT id FROM evidence WHERE source = ?1 ORDER BY id", -1,
				&s, NULL);
	if (rc != SQLITE_OK)
		return sql_errno(st->db, rc);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	err = sql_rows(s, evidence_id_row, &c);
	sqlite3_finalize(s);
	for (int l = 0; l < 2 && !err; l++)
		for (size_t i = 0; i < lists[l]->n && !err; i++)
			if (!strcmp(lists[l]->items[i].source, source))
				err = cb(ctx, lists[l]->items[i].id);
	return err;
}
