// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The history table: every removal, zero, ... of an address, for
 * `greywallctl why`, indexed by address. An entry's addition is in its own
 * record while it exists and goes into the history row of its removal
 * (added_at, added_evidence).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "store/internal.h"
#include "store/sql.h"

/* Longest table name kept in a history event. */
#define STORE_TABLE_NAME_MAX 64

/* Bind family, address and plen at three parameters from family_at on. */
static void bind_prefix(sqlite3_stmt *s, int family_at, const struct addr_prefix *p)
{
	sql_bind_addr(s, family_at, p);
	sqlite3_bind_int(s, family_at + 2, p->plen);
}

int history_insert(struct store *st, int64_t when, const char *table,
		   const struct addr_prefix *p, const char *action, int64_t evidence_id,
		   const struct entry_meta *added)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_ADD];

	sqlite3_bind_int64(s, 1, when);
	sqlite3_bind_text(s, 2, table, -1, SQLITE_STATIC);
	bind_prefix(s, 3, p);
	sqlite3_bind_text(s, 6, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, evidence_id);
	if (added) {
		sqlite3_bind_int64(s, 8, added->added);
		sqlite3_bind_int64(s, 9, added->evidence_id);
	} else {
		sqlite3_bind_null(s, 8);
		sqlite3_bind_null(s, 9);
	}
	return sql_run(s);
}

int store_history_add(struct store *st, int64_t when, const char *table,
		      const struct addr_prefix *p, const char *action, int64_t evidence_id)
{
	return history_insert(st, when, table, p, action, evidence_id, NULL);
}

/* One event of store_history_foreach(), collected to be put in order. */
struct history_event {
	int64_t when;
	int64_t order;		/* history row id * 2 (+ 1 for a removal), or INT64_MAX */
	char table[STORE_TABLE_NAME_MAX];
	char action[16];
	struct evidence ev;
};

struct history_events {
	struct history_event *items;
	size_t n, cap;
};

static struct history_event *event_push(struct history_events *l, int64_t when, int64_t order,
					const char *table, const char *action)
{
	struct history_event *e;

	if (array_room(&l->items, &l->cap, l->n + 1, sizeof(*l->items), 16))
		return NULL;
	e = &l->items[l->n++];
	memset(e, 0, sizeof(*e));
	e->when = when;
	e->order = order;
	snprintf(e->table, sizeof(e->table), "%s", table ? table : "");
	snprintf(e->action, sizeof(e->action), "%s", action ? action : "");
	return e;
}

/* An evidence from a LEFT JOIN's columns; a missing row keeps only its id. */
static void column_evidence(sqlite3_stmt *s, int64_t id, int at, struct evidence *ev)
{
	ev->id = id;
	if (sqlite3_column_type(s, at) == SQLITE_NULL)
		return;
	ev->when = sqlite3_column_int64(s, at);
	snprintf(ev->source, sizeof(ev->source), "%s", sql_column_text(s, at + 1));
	snprintf(ev->detail, sizeof(ev->detail), "%s", sql_column_text(s, at + 2));
}

/* One history row: the removed entry's addition (if recorded), then the event. */
static int history_row(sqlite3_stmt *s, void *ctx)
{
	struct history_events *l = ctx;
	int64_t id = sqlite3_column_int64(s, 0);
	const char *table = (const char *)sqlite3_column_text(s, 2);
	struct history_event *e;

	if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
		e = event_push(l, sqlite3_column_int64(s, 8), id * 2, table, "add");
		if (!e)
			return -ENOMEM;
		column_evidence(s, sqlite3_column_int64(s, 9), 10, &e->ev);
	}
	e = event_push(l, sqlite3_column_int64(s, 1), id * 2 + 1, table,
		       (const char *)sqlite3_column_text(s, 3));
	if (!e)
		return -ENOMEM;
	column_evidence(s, sqlite3_column_int64(s, 4), 5, &e->ev);
	return 0;
}

static int history_rows(struct store *st, const struct addr_prefix *p, struct history_events *l)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_GET];

	bind_prefix(s, 1, p);
	return sql_rows(s, history_row, l);
}

struct present_walk {
	struct store *st;
	const struct addr_prefix *p;
	struct history_events *l;
	struct row_copy row;
};

/* A bucket row of any table: the addition of p's entry in it, if it has one. */
static int present_row(sqlite3_stmt *s, void *ctx)
{
	struct present_walk *w = ctx;
	struct history_event *e;
	struct entry_meta m;
	size_t offset, len;
	int found, err = row_copy_take(&w->row, s);

	if (err)
		return err;
	found = record_find(&w->row.data, w->p, &offset, &len, &m);
	if (found <= 0)
		return found;
	e = event_push(w->l, m.added, INT64_MAX, w->row.table, "add");
	if (!e)
		return -ENOMEM;
	if (m.evidence_id && store_evidence_get(w->st, m.evidence_id, &e->ev))
		e->ev.id = m.evidence_id;
	return 0;
}

/* The additions of p's present entries, from their records. */
static int history_present(struct store *st, const struct addr_prefix *p,
			   struct history_events *l)
{
	struct present_walk w = { .st = st, .p = p, .l = l };
	sqlite3_stmt *s = st->stmt[STMT_BUCKETS_AT];
	int err;

	sqlite3_bind_int(s, 1, (int)bucket_of(p));
	err = sql_rows(s, present_row, &w);
	row_copy_free(&w.row);
	return err;
}

static int compare_events(const void *a, const void *b)
{
	const struct history_event *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->table, y->table);
}

/*
 * Oldest first; events of the same second in the order they were recorded,
 * an addition taken from a removal's row just before that removal, and the
 * additions of present entries last. An event whose evidence row is missing
 * gets an evidence with its id, time 0 and empty texts.
 */
int store_history_foreach(struct store *st, const struct addr_prefix *p, store_history_cb cb,
			  void *ctx)
{
	struct history_events l = { 0 };
	int ret = cache_flush(st);

	if (!ret)
		ret = history_rows(st, p, &l);
	if (!ret)
		ret = history_present(st, p, &l);
	if (!ret)
		qsort(l.items, l.n, sizeof(*l.items), compare_events);
	for (size_t i = 0; !ret && i < l.n; i++)
		ret = cb(ctx, l.items[i].when, l.items[i].table, l.items[i].action,
			 &l.items[i].ev);
	free(l.items);
	return ret;
}
