// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The write-back cache of a transaction's entry writes. Inside a
 * transaction, entry writes work on buckets held in memory and reach the
 * database at commit, each changed bucket written once; puts are only
 * logged at first and applied bucket by bucket (see cache_apply()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "store/internal.h"
#include "store/sql.h"

/* How far ahead applying the put log fetches records. */
#define LOG_PREFETCH_AHEAD 8

static void log_free(struct put_log *log)
{
	free(log->records);
	free(log->puts);
	memset(log, 0, sizeof(*log));
}

/* Forget the buckets read in the transaction and the puts not applied. */
void cache_drop(struct store *st)
{
	log_free(&st->log);
	for (size_t i = 0; i < st->npending; i++) {
		struct pending_table *pt = &st->pending[i];

		for (size_t k = 0; k < pt->ntouched; k++) {
			struct bucket *b = pt->bucket[pt->touched[k]];

			free(b->data);
			free(b);
			pt->bucket[pt->touched[k]] = NULL;
		}
		pt->ntouched = 0;
		pt->complete = false;
	}
}

void cache_free(struct store *st)
{
	cache_drop(st);
	for (size_t i = 0; i < st->npending; i++) {
		free(st->pending[i].name);
		free(st->pending[i].bucket);
		free(st->pending[i].touched);
	}
	free(st->pending);
	st->pending = NULL;
	st->npending = 0;
	st->pending_cap = 0;
}

static int compare_bucket_numbers(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct pending_table *cache_table(struct store *st, const char *table)
{
	struct pending_table *pt;

	for (size_t i = 0; i < st->npending; i++)
		if (!strcmp(st->pending[i].name, table))
			return &st->pending[i];
	if (st->npending == UINT16_MAX)
		return NULL;
	if (array_room(&st->pending, &st->pending_cap, st->npending + 1, sizeof(*st->pending), 4))
		return NULL;
	pt = &st->pending[st->npending];
	memset(pt, 0, sizeof(*pt));
	pt->name = strdup(table);
	pt->bucket = calloc(STORE_BUCKETS, sizeof(*pt->bucket));
	if (!pt->name || !pt->bucket) {
		free(pt->name);
		free(pt->bucket);
		return NULL;
	}
	st->npending++;
	return pt;
}

/* Cache an empty bucket `number` of the table, not cached yet. */
static struct bucket *bucket_add(struct pending_table *pt, uint32_t number)
{
	struct bucket *b;

	if (array_room(&pt->touched, &pt->cap, pt->ntouched + 1, sizeof(*pt->touched), 256))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pt->bucket[number] = b;
	pt->touched[pt->ntouched++] = number;
	return b;
}

/* A bucket's row: its blob into the empty bucket ctx. */
static int bucket_row(sqlite3_stmt *s, void *ctx)
{
	return bucket_splice(ctx, 0, 0, sqlite3_column_blob(s, 0),
			     (size_t)sqlite3_column_bytes(s, 0));
}

int cache_bucket(struct store *st, struct pending_table *pt, uint32_t number,
		 struct bucket **out)
{
	sqlite3_stmt *s = st->stmt[STMT_BUCKET_GET];
	struct bucket *b = pt->bucket[number];
	int err = 0;

	if (b) {
		*out = b;
		return 0;
	}
	b = bucket_add(pt, number);
	if (!b)
		return -ENOMEM;
	if (!pt->complete) {
		sqlite3_bind_int(s, 1, (int)number);
		sqlite3_bind_text(s, 2, pt->name, -1, SQLITE_STATIC);
		err = sql_row(s, bucket_row, b);
		/* No row: the bucket is empty. */
		if (err == -ENOENT)
			err = 0;
		b->dirty = false;
	}
	if (err) {
		/* Not cached: an empty copy would be written over the row. */
		pt->bucket[number] = NULL;
		pt->ntouched--;
		free(b->data);
		free(b);
		return err;
	}
	*out = b;
	return 0;
}

/* One row (bucket, blob) of a table: cached unless it is already. */
static int table_row(sqlite3_stmt *s, void *ctx)
{
	struct pending_table *pt = ctx;
	int number = sqlite3_column_int(s, 0);
	struct bucket *b;
	int err;

	if (number < 0 || number >= (int)STORE_BUCKETS)
		return -EBADMSG;
	if (pt->bucket[number])
		return 0;
	b = bucket_add(pt, (uint32_t)number);
	if (!b)
		return -ENOMEM;
	err = bucket_splice(b, 0, 0, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
	b->dirty = false;
	return err;
}

/*
 * Read every bucket of a table in one pass (for a transaction that puts
 * many entries into it) instead of one query per bucket; the buckets not
 * read are empty. Cached buckets are kept: they may have changed.
 */
static int table_read_all(struct store *st, struct pending_table *pt)
{
	sqlite3_stmt *s = st->stmt[STMT_TABLE_BUCKETS];
	int err;

	if (pt->complete)
		return 0;
	sqlite3_bind_text(s, 1, pt->name, -1, SQLITE_STATIC);
	err = sql_rows(s, table_row, pt);
	if (!err)
		pt->complete = true;
	return err;
}

/* Length of the i-th logged record: records lie back to back in log order. */
static size_t logged_len(const struct put_log *log, size_t i)
{
	return (i + 1 < log->n ? log->puts[i + 1].offset : log->len) - log->puts[i].offset;
}

/*
 * Apply the logged puts bucket by bucket: a counting sort by bucket number
 * (stable, so the last put of an entry wins), each bucket sized once for
 * all its puts, and a table that receives many puts read in one pass.
 */
int cache_apply(struct store *st)
{
	struct put_log *log = &st->log;
	uint32_t *start = NULL, *bytes = NULL;
	struct logged_put *sorted = NULL;
	size_t *per_table = NULL;
	int err = 0;

	if (!log->n)
		return 0;
	start = calloc(STORE_BUCKETS + 1, sizeof(*start));
	bytes = calloc(STORE_BUCKETS, sizeof(*bytes));
	per_table = calloc(st->npending, sizeof(*per_table));
	sorted = malloc(log->n * sizeof(*sorted));
	if (!start || !bytes || !per_table || !sorted) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < log->n; i++) {
		start[log->puts[i].bucket + 1]++;
		bytes[log->puts[i].bucket] += (uint32_t)logged_len(log, i);
		per_table[log->puts[i].table]++;
	}
	for (uint32_t b = 0; b < STORE_BUCKETS; b++)
		start[b + 1] += start[b];
	for (size_t i = 0; i < log->n; i++)
		sorted[start[log->puts[i].bucket]++] = log->puts[i];
	for (size_t t = 0; !err && t < st->npending; t++)
		if (per_table[t] >= STORE_BUCKETS / 8)
			err = table_read_all(st, &st->pending[t]);
	for (size_t k = 0; !err && k < log->n; k++) {
		const struct logged_put *put = &sorted[k];
		struct bucket *b;

		/* The records lie in log order: fetch ahead of the sorted walk. */
		if (k + LOG_PREFETCH_AHEAD < log->n)
			__builtin_prefetch(log->records + sorted[k + LOG_PREFETCH_AHEAD].offset);
		err = cache_bucket(st, &st->pending[put->table], put->bucket, &b);
		/* Sized once, at the first of its puts, for all of them. */
		if (!err && (!k || sorted[k - 1].bucket != put->bucket ||
			     sorted[k - 1].table != put->table))
			err = array_room(&b->data, &b->cap, b->len + bytes[put->bucket], 1,
					 b->len + bytes[put->bucket]);
		if (!err)
			err = bucket_put(b, log->records + put->offset);
	}
out:
	free(start);
	free(bytes);
	free(per_table);
	free(sorted);
	log_free(log);
	return err;
}

/* Log a put; a full log is applied first. */
int cache_put(struct store *st, struct pending_table *pt, const struct addr_prefix *p,
	      const uint8_t *record, size_t n)
{
	struct put_log *log = &st->log;
	int err;

	if (log->len + n > UINT32_MAX || log->n == UINT32_MAX) {
		err = cache_apply(st);
		if (err)
			return err;
	}
	err = array_room(&log->records, &log->cap, log->len + n, 1, 4096);
	if (!err)
		err = array_room(&log->puts, &log->nmax, log->n + 1, sizeof(*log->puts), 256);
	if (err)
		return err;
	memcpy(log->records + log->len, record, n);
	log->puts[log->n++] = (struct logged_put){ .offset = (uint32_t)log->len,
						    .bucket = (uint16_t)bucket_of(p),
						    .table = (uint16_t)(pt - st->pending) };
	log->len += n;
	return 0;
}

/* Write every changed bucket (in key order: B-tree appends), then forget them. */
int cache_flush(struct store *st)
{
	int err = cache_apply(st);

	for (size_t i = 0; !err && i < st->npending; i++) {
		struct pending_table *pt = &st->pending[i];

		qsort(pt->touched, pt->ntouched, sizeof(*pt->touched), compare_bucket_numbers);
		for (size_t k = 0; !err && k < pt->ntouched; k++) {
			const struct bucket *b = pt->bucket[pt->touched[k]];
			sqlite3_stmt *s;

			if (!b->dirty)
				continue;
			s = st->stmt[b->len ? STMT_BUCKET_PUT : STMT_BUCKET_DELETE];
			sqlite3_bind_int(s, 1, (int)pt->touched[k]);
			sqlite3_bind_text(s, 2, pt->name, -1, SQLITE_STATIC);
			if (b->len)
				sqlite3_bind_blob(s, 3, b->data, (int)b->len, SQLITE_STATIC);
			err = sql_run(s);
		}
	}
	cache_drop(st);
	return err;
}


int row_copy_take(struct row_copy *c, sqlite3_stmt *s)
{
	const char *table = (const char *)sqlite3_column_text(s, 0);
	char *name = strdup(table ? table : "");

	if (!name)
		return -ENOMEM;
	free(c->table);
	c->table = name;
	c->data.len = 0;
	return bucket_splice(&c->data, 0, 0, sqlite3_column_blob(s, 1),
			     (size_t)sqlite3_column_bytes(s, 1));
}

void row_copy_free(struct row_copy *c)
{
	free(c->table);
	free(c->data.data);
}
