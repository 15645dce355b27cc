// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The SQLite store. One connection per struct store, every statement
 * prepared once at open and reset after each use.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION):
 *   evidence  why an entry exists; entries and history point at it by id.
 *   entries   table entries, packed into buckets: one row per (bucket,
 *             table) whose blob holds every entry of that table whose
 *             address hashes to the bucket (see bucket_of() and the record
 *             format above record_encode()). A load of a million entries
 *             writes some 65,536 rows instead of a million, and a single
 *             entry costs the rewrite of one blob of a few hundred bytes.
 *   history   every removal, zero, ... of an address, for `greywallctl
 *             why`, indexed by address. An entry's addition is in its own
 *             record while it exists and goes into the history row of its
 *             removal (added_at, added_evidence).
 *
 * Inside a transaction, entry writes work on buckets held in memory and
 * reach the database at commit, each changed bucket written once; puts are
 * only logged at first and applied bucket by bucket (see log_apply()).
 * Outside one, each write is a transaction of its own.
 *
 * Version 1 kept one row per entry and one history row per addition; it
 * is converted on open.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/array.h"
#include "store/store.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_TIMEOUT_MS 5000
/* The database and its -wal and -shm files: evidence quotes log lines and
 * SMTP dialogues, so no one but root and the group may read them. */
#define STORE_FILE_MODE 0640
/* Page cache per connection, in KiB (negative cache_size). With the pages
 * of a large table cached, bulk loads and the start-up scan never wait for
 * the disk. Pages are only allocated as they are used, so a small store
 * costs little. */
#define STORE_CACHE_KIB 131072
/* Keep the WAL from staying at the size of the largest load. */
#define STORE_JOURNAL_SIZE_LIMIT (64 * 1024 * 1024)
/* Buckets per table: part of the file format, like bucket_of(). */
#define STORE_BUCKETS 65536u
/* A record's length, flags and plen bytes. */
#define RECORD_HEADER 3
/* Longest record: header, 16 address bytes, 4 + 8 varints of <= 10 bytes. */
#define RECORD_MAX (RECORD_HEADER + 16 + 12 * 10)
_Static_assert(RECORD_MAX <= 255, "a record's length fits its first byte");
/* How far ahead applying the put log fetches records. */
#define LOG_PREFETCH_AHEAD 8
/* Longest table name kept in a history event. */
#define STORE_TABLE_NAME_MAX 64
/*
 * Evidence rows of failed commits kept in memory to be written with the
 * next commit, at most (about 560 bytes each). Beyond it store_evidence_add()
 * refuses new ones inside a transaction: an outsider who keeps tripping
 * traps or overloads while the disk is full must not grow this.
 */
#define STORE_UNSAVED_EVIDENCE_MAX 65536

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

enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_EVIDENCE_ADD,
	STMT_EVIDENCE_MAX,
	STMT_EVIDENCE_GET,
	STMT_BUCKET_GET,
	STMT_BUCKET_PUT,
	STMT_BUCKET_DELETE,
	STMT_BUCKETS_AT,
	STMT_TABLE_BUCKETS,
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
	[STMT_EVIDENCE_ADD] = "INSERT OR REPLACE INTO evidence(id, at, source, detail) "
			      "VALUES(?4, ?1, ?2, ?3)",
	[STMT_EVIDENCE_MAX] = "SELECT max(id) FROM evidence",
	[STMT_EVIDENCE_GET] = "SELECT at, source, detail FROM evidence WHERE id = ?1",
	[STMT_BUCKET_GET] = "SELECT data FROM entries WHERE bucket = ?1 AND tbl = ?2",
	[STMT_BUCKET_PUT] = "INSERT OR REPLACE INTO entries(bucket, tbl, data) VALUES(?1, ?2, ?3)",
	[STMT_BUCKET_DELETE] = "DELETE FROM entries WHERE bucket = ?1 AND tbl = ?2",
	[STMT_BUCKETS_AT] = "SELECT tbl, data FROM entries WHERE bucket = ?1",
	[STMT_TABLE_BUCKETS] = "SELECT bucket, data FROM entries WHERE tbl = ?1",
	[STMT_TABLE_DELETE_ALL] = "DELETE FROM entries WHERE tbl = ?1",
	[STMT_ENTRIES_ALL] = "SELECT tbl, data FROM entries",
	[STMT_HISTORY_ADD] = "INSERT INTO history(at, tbl, family, addr, plen, action, "
			     "evidence_id, added_at, added_evidence) "
			     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_HISTORY_GET] = "SELECT h.id, h.at, h.tbl, h.action, h.evidence_id, "
			     "e.at, e.source, e.detail, h.added_at, h.added_evidence, "
			     "a.at, a.source, a.detail "
			     "FROM history h LEFT JOIN evidence e ON e.id = h.evidence_id "
			     "LEFT JOIN evidence a ON a.id = h.added_evidence "
			     "WHERE h.family = ?1 AND h.addr = ?2 AND h.plen = ?3 "
			     "ORDER BY h.at, h.id",
};

/* One bucket of one table: the blob of its entries row, as changed so far. */
struct bucket {
	uint8_t *data;
	size_t len, cap;
	bool dirty;
};

/* The buckets of one table read in the open transaction. */
struct pending_table {
	char *name;
	struct bucket **bucket;		/* STORE_BUCKETS pointers; NULL: not read */
	uint32_t *touched;		/* the numbers of the buckets read */
	size_t ntouched, cap;
	bool complete;			/* every bucket read: NULL ones are empty */
};

/* A put not yet applied to its bucket. */
struct logged_put {
	uint32_t offset;		/* of its record in put_log.records */
	uint16_t bucket;
	uint16_t table;			/* index in store.pending */
};

_Static_assert(STORE_BUCKETS <= 65536, "a bucket number fits 16 bits");

/*
 * The puts of the open transaction, applied bucket by bucket before
 * anything reads the buckets: a load of a million entries then visits each
 * bucket once, in order, instead of a million times at random.
 */
struct put_log {
	uint8_t *records;		/* encoded records, back to back */
	size_t len, cap;
	struct logged_put *puts;
	size_t n, nmax;
};

/* Evidence rows written in memory only so far. */
struct evidence_list {
	struct evidence *items;
	size_t n, cap;
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_MAX];
	struct pending_table *pending;
	size_t npending;
	size_t pending_cap;
	struct put_log log;
	/*
	 * Evidence ids are handed out here and never twice, even when the
	 * transaction that wrote one is rolled back: the tables keep the ids
	 * of entries a failed commit did not save, and must not find them
	 * naming another row later.
	 */
	int64_t next_evidence_id;
	struct evidence_list txn_evidence;	/* written in the open transaction */
	struct evidence_list unsaved_evidence;	/* of failed commits, written with the next */
	size_t evidence_dropped;		/* refused at STORE_UNSAVED_EVIDENCE_MAX */
	int write_err;				/* of the last commit; 0 once one succeeds */
};

int store_errno(struct store *st, int rc)
{
	return store_sqlite_errno(st ? st->db : NULL, rc);
}

/* Map an SQLite result code to -errno; the OS error wins where there is one. */
int store_sqlite_errno(struct sqlite3 *db, int rc)
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

const char *store_errmsg(struct store *st)
{
	return st && st->db ? sqlite3_errmsg(st->db) : "no store";
}

const char *store_path(const struct store *st)
{
	return st && st->path ? st->path : "store";
}

int store_write_error(const struct store *st)
{
	return st ? st->write_err : 0;
}

size_t store_unsaved_evidence(const struct store *st)
{
	return st ? st->unsaved_evidence.n : 0;
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
 * The bucket of an address or prefix: FNV-1a over its family, length and
 * address, then a final mix. Part of the file format: entries are looked
 * up only in the bucket this names.
 */
static uint32_t bucket_of(const struct addr_prefix *p)
{
	uint32_t h = 2166136261u;

	h = (h ^ (p->family == AF_INET6)) * 16777619u;
	h = (h ^ p->plen) * 16777619u;
	for (int i = 0; i < addr_len(p); i++)
		h = (h ^ p->bytes[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & (STORE_BUCKETS - 1);
}

/* Unsigned LEB128. */
static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static int get_varint(const uint8_t **pos, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64 && *pos < end; shift += 7) {
		uint8_t b = *(*pos)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

/* Signed values as varints: small magnitudes of either sign stay short. */
static uint64_t zigzag(uint64_t v)
{
	return v << 1 ^ (uint64_t)-(int64_t)(v >> 63);
}

static uint64_t unzigzag(uint64_t v)
{
	return v >> 1 ^ (uint64_t)-(int64_t)(v & 1);
}

enum record_flag {
	RECORD_IPV6 = 1,
	RECORD_LAST_SEEN = 2,
	RECORD_BASELINE = 4,
};

/*
 * An entry in a bucket: its length in bytes (this byte included), a flags
 * byte (enum record_flag), plen, the 4 or 16 address bytes, then varints:
 * added, cleared - added, [last_seen - added], evidence_id (all zigzag),
 * [the baseline's 4 packet and 4 byte counters]. Differences are taken
 * modulo 2^64. A fresh entry is about 16 bytes.
 */
static size_t record_encode(uint8_t *out, const struct addr_prefix *p, const struct entry_meta *m,
			    const struct gw_counters *baseline)
{
	const __u64 *counters[2] = { baseline ? baseline->packets : NULL,
				     baseline ? baseline->bytes : NULL };
	uint64_t added = (uint64_t)m->added;
	size_t n = RECORD_HEADER;
	bool any = false;

	for (int d = 0; baseline && d < GW_DIR_MAX; d++)
		any |= baseline->packets[d] || baseline->bytes[d];
	if (!any)
		baseline = NULL;

	out[1] = (uint8_t)((p->family == AF_INET6 ? RECORD_IPV6 : 0) |
			   (m->last_seen ? RECORD_LAST_SEEN : 0) | (baseline ? RECORD_BASELINE : 0));
	out[2] = p->plen;
	memcpy(out + n, p->bytes, (size_t)addr_len(p));
	n += (size_t)addr_len(p);
	n += put_varint(out + n, zigzag(added));
	n += put_varint(out + n, zigzag((uint64_t)m->cleared - added));
	if (m->last_seen)
		n += put_varint(out + n, zigzag((uint64_t)m->last_seen - added));
	n += put_varint(out + n, zigzag((uint64_t)m->evidence_id));
	for (int half = 0; baseline && half < 2; half++)
		for (int d = 0; d < GW_DIR_MAX; d++)
			n += put_varint(out + n, counters[half][d]);
	out[0] = (uint8_t)n;
	return n;
}

/*
 * Decode the record at *pos and move past it; -EBADMSG if it is not one.
 * *has_baseline tells whether the record has one (else *baseline is zero).
 */
static int record_decode(const uint8_t **pos, const uint8_t *end, struct addr_prefix *p,
			 struct entry_meta *m, struct gw_counters *baseline, bool *has_baseline)
{
	__u64 *counters[2] = { baseline->packets, baseline->bytes };
	uint64_t added, cleared, last_seen = 0, evidence;
	const uint8_t *at = *pos;
	uint8_t flags;
	int err;

	if (end - at < RECORD_HEADER || at[0] > end - at)
		return -EBADMSG;
	end = at + at[0];
	flags = at[1];
	memset(p, 0, sizeof(*p));
	p->family = flags & RECORD_IPV6 ? AF_INET6 : AF_INET;
	p->plen = at[2];
	at += RECORD_HEADER;
	if (p->plen > addr_max_plen(p->family) || end - at < addr_len(p))
		return -EBADMSG;
	memcpy(p->bytes, at, (size_t)addr_len(p));
	at += addr_len(p);
	err = get_varint(&at, end, &added);
	if (!err)
		err = get_varint(&at, end, &cleared);
	if (!err && (flags & RECORD_LAST_SEEN))
		err = get_varint(&at, end, &last_seen);
	if (!err)
		err = get_varint(&at, end, &evidence);
	if (err)
		return err;
	added = unzigzag(added);
	m->added = (int64_t)added;
	m->cleared = (int64_t)(added + unzigzag(cleared));
	m->last_seen = flags & RECORD_LAST_SEEN ? (int64_t)(added + unzigzag(last_seen)) : 0;
	m->evidence_id = (int64_t)unzigzag(evidence);
	memset(baseline, 0, sizeof(*baseline));
	*has_baseline = flags & RECORD_BASELINE;
	for (int half = 0; (flags & RECORD_BASELINE) && half < 2; half++) {
		for (int d = 0; d < GW_DIR_MAX; d++) {
			uint64_t v;

			err = get_varint(&at, end, &v);
			if (err)
				return err;
			counters[half][d] = v;
		}
	}
	if (at != end)
		return -EBADMSG;
	*pos = at;
	return 0;
}

/*
 * Find p's record in a bucket: 1 with its offset and length (and its
 * metadata in *m when m is not NULL), 0 when absent, -EBADMSG. Other
 * records are stepped over by their length, without decoding them.
 */
static int record_find(const struct bucket *b, const struct addr_prefix *p, size_t *offset,
		       size_t *len, struct entry_meta *m)
{
	uint8_t flags = p->family == AF_INET6 ? RECORD_IPV6 : 0;
	const uint8_t *pos = b->data, *end = b->data + b->len;
	size_t alen = (size_t)addr_len(p);

	while (pos < end) {
		if (end - pos < RECORD_HEADER || pos[0] < RECORD_HEADER || pos[0] > end - pos)
			return -EBADMSG;
		if ((pos[1] & RECORD_IPV6) == flags && pos[2] == p->plen &&
		    pos[0] >= RECORD_HEADER + alen && !memcmp(pos + RECORD_HEADER, p->bytes, alen)) {
			const uint8_t *at = pos;
			struct gw_counters baseline;
			struct addr_prefix key;
			struct entry_meta meta;
			bool has_baseline;
			int err = record_decode(&at, end, &key, m ? m : &meta, &baseline,
						&has_baseline);

			if (err)
				return err;
			*offset = (size_t)(pos - b->data);
			*len = pos[0];
			return 1;
		}
		pos += pos[0];
	}
	return 0;
}

/* Replace len bytes at offset with the n bytes of repl (n may be 0). */
static int bucket_splice(struct bucket *b, size_t offset, size_t len, const uint8_t *repl,
			 size_t n)
{
	size_t want = b->len - len + n;
	int err = array_room(&b->data, &b->cap, want, 1, 64);

	if (err)
		return err;
	memmove(b->data + offset + n, b->data + offset + len, b->len - offset - len);
	memcpy(b->data + offset, repl, n);
	b->len = want;
	b->dirty = true;
	return 0;
}

static void log_free(struct put_log *log)
{
	free(log->records);
	free(log->puts);
	memset(log, 0, sizeof(*log));
}

/* Forget the buckets read in the transaction and the puts not applied. */
static void pending_drop(struct store *st)
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

static void pending_free(struct store *st)
{
	pending_drop(st);
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

static struct pending_table *pending_table(struct store *st, const char *table)
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

/* Bucket `number` of a table, read from the database on first use. */
static int bucket_get(struct store *st, struct pending_table *pt, uint32_t number,
		      struct bucket **out)
{
	sqlite3_stmt *s = st->stmt[STMT_BUCKET_GET];
	struct bucket *b = pt->bucket[number];
	int rc, err = 0;

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
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			err = bucket_splice(b, 0, 0, sqlite3_column_blob(s, 0),
					    (size_t)sqlite3_column_bytes(s, 0));
		else if (rc != SQLITE_DONE)
			err = store_errno(st, rc);
		sqlite3_reset(s);
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

/*
 * Read every bucket of a table in one pass (for a transaction that puts
 * many entries into it) instead of one query per bucket; the buckets not
 * read are empty. Cached buckets are kept: they may have changed.
 */
static int table_read_all(struct store *st, struct pending_table *pt)
{
	sqlite3_stmt *s = st->stmt[STMT_TABLE_BUCKETS];
	int rc, err = 0;

	if (pt->complete)
		return 0;
	sqlite3_bind_text(s, 1, pt->name, -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int number = sqlite3_column_int(s, 0);
		struct bucket *b;

		if (number < 0 || number >= (int)STORE_BUCKETS) {
			err = -EBADMSG;
			break;
		}
		if (pt->bucket[number])
			continue;
		b = bucket_add(pt, (uint32_t)number);
		if (!b) {
			err = -ENOMEM;
			break;
		}
		err = bucket_splice(b, 0, 0, sqlite3_column_blob(s, 1),
				    (size_t)sqlite3_column_bytes(s, 1));
		b->dirty = false;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_errno(st, rc);
	sqlite3_reset(s);
	if (!err)
		pt->complete = true;
	return err;
}

/* Put a record into its bucket, in place of the entry's old one if any. */
static int bucket_put(struct bucket *b, const uint8_t *record)
{
	struct addr_prefix p = { .family = record[1] & RECORD_IPV6 ? AF_INET6 : AF_INET,
				 .plen = record[2] };
	size_t offset = b->len, len = 0;
	int found;

	memcpy(p.bytes, record + RECORD_HEADER, (size_t)addr_len(&p));
	found = record_find(b, &p, &offset, &len, NULL);
	if (found < 0)
		return found;
	if (!found) {
		offset = b->len;
		len = 0;
	}
	return bucket_splice(b, offset, len, record, record[0]);
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
static int log_apply(struct store *st)
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
		err = bucket_get(st, &st->pending[put->table], put->bucket, &b);
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
static int log_put(struct store *st, struct pending_table *pt, const struct addr_prefix *p,
		   const uint8_t *record, size_t n)
{
	struct put_log *log = &st->log;
	int err;

	if (log->len + n > UINT32_MAX || log->n == UINT32_MAX) {
		err = log_apply(st);
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
static int pending_flush(struct store *st)
{
	int err = log_apply(st);

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
			err = step_done(st, s);
		}
	}
	pending_drop(st);
	return err;
}

/* Prepare what is not prepared yet (a migration needs them before open does). */
static int prepare_statements(struct store *st)
{
	for (int i = 0; i < STMT_MAX; i++) {
		int rc;

		if (st->stmt[i])
			continue;
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_errno(st, rc);
	}
	return 0;
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

/* Copy version 1's one row per entry into buckets. */
static int upgrade_v1(struct store *st)
{
	sqlite3_stmt *s;
	int rc, err;

	err = exec_sql(st, upgrade_v1_sql);
	if (!err)
		err = exec_sql(st, entries_sql);
	if (!err)
		err = prepare_statements(st);
	if (err)
		return err;
	rc = sqlite3_prepare_v2(st->db,
				"SELECT tbl, family, plen, addr, added, cleared, last_seen, "
				"evidence_id, baseline FROM entries_v1",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_errno(st, rc);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(s, 0);
		struct gw_counters baseline;
		struct addr_prefix p;
		struct entry_meta m;

		err = column_prefix(s, 1, 3, 2, &p);
		if (!err)
			err = column_baseline(s, 8, &baseline);
		if (err)
			break;
		m.added = sqlite3_column_int64(s, 4);
		m.cleared = sqlite3_column_int64(s, 5);
		m.last_seen = sqlite3_column_int64(s, 6);
		m.evidence_id = sqlite3_column_int64(s, 7);
		err = store_entry_put(st, table ? table : "", &p, &m, &baseline);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_errno(st, rc);
	sqlite3_finalize(s);
	if (!err)
		err = pending_flush(st);
	if (!err)
		err = exec_sql(st, "DROP TABLE entries_v1");
	return err;
}

/* Create, upgrade or check the schema. Two processes opening a new store
 * at once both get here; the write lock of BEGIN IMMEDIATE serialises them. */
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
	if (!err && version == 0) {
		err = exec_sql(st, evidence_sql);
		if (!err)
			err = exec_sql(st, entries_sql);
		if (!err)
			err = exec_sql(st, history_sql);
	} else if (!err && version == 1) {
		err = upgrade_v1(st);
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if (!err)
		err = exec_sql(st, sql);
	if (!err)
		err = exec_sql(st, "COMMIT");
	if (err) {
		pending_drop(st);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return err;
}

/*
 * Create name with STORE_FILE_MODE (the umask can only make it stricter)
 * when create is set and it is missing; take the bits beyond
 * STORE_FILE_MODE from a file that exists (an older version's, or made
 * under another umask). A symlink at the name is refused, never followed.
 *
 * The existing file is looked at through an O_PATH descriptor: closing an
 * ordinary one would drop every POSIX lock this process holds on the file,
 * those of an SQLite connection already open on it included.
 */
static int restrict_store_file(const char *name, bool create)
{
	char self[64];
	struct stat st;
	int fd, err = 0;

	fd = open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!create)
			return 0;
		fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  STORE_FILE_MODE);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (S_ISLNK(st.st_mode))
		err = -ELOOP;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((st.st_mode & 07777) & ~STORE_FILE_MODE) {
		/* fchmod refuses O_PATH descriptors; the /proc link names this
		 * very file, not whatever the name points to by now. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (chmod(self, st.st_mode & STORE_FILE_MODE) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

/*
 * SQLite creates the -wal and -shm files with the database's own mode, so
 * making the database file first, with our mode, settles all three.
 */
static int restrict_store_files(const char *path)
{
	char name[PATH_MAX];
	int err = restrict_store_file(path, true);

	for (int i = 0; !err && i < 2; i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path, i ? "-shm" : "-wal") >=
		    sizeof(name))
			return -ENAMETOOLONG;
		err = restrict_store_file(name, false);
	}
	return err;
}

int store_open(const char *path, struct store **out)
{
	char pragmas[256];
	struct store *st;
	int rc, err;

	*out = NULL;
	/* The file is created if missing; its directory is not (that is the
	 * operator's state-dir, whose ownership and mode we must not guess). */
	err = restrict_store_files(path);
	if (err)
		return err;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
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
	if (!err)
		err = prepare_statements(st);
	if (err)
		goto fail;
	st->path = strdup(path);
	if (!st->path) {
		err = -ENOMEM;
		goto fail;
	}
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
	pending_free(st);
	free(st->txn_evidence.items);
	free(st->unsaved_evidence.items);
	for (int i = 0; i < STMT_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int store_begin(struct store *st)
{
	st->txn_evidence.n = 0;
	return step_done(st, st->stmt[STMT_BEGIN]);
}

static int evidence_insert(struct store *st, const struct evidence *ev)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_ADD];

	sqlite3_bind_int64(s, 1, ev->when);
	sqlite3_bind_text(s, 2, ev->source, (int)strnlen(ev->source, sizeof(ev->source)),
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->detail, (int)strnlen(ev->detail, sizeof(ev->detail)),
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, ev->id);
	return step_done(st, s);
}

/* The evidence of failed commits goes into this one, before its entries. */
static int evidence_replay(struct store *st)
{
	int err = 0;

	for (size_t i = 0; !err && i < st->unsaved_evidence.n; i++)
		err = evidence_insert(st, &st->unsaved_evidence.items[i]);
	return err;
}

/* A commit failed: keep its evidence rows for the next one, as many as allowed. */
static void evidence_keep(struct store *st)
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

static int rollback(struct store *st)
{
	pending_drop(st);
	return step_done(st, st->stmt[STMT_ROLLBACK]);
}

int store_commit(struct store *st)
{
	int err = evidence_replay(st);

	if (!err)
		err = pending_flush(st);
	if (!err)
		err = step_done(st, st->stmt[STMT_COMMIT]);
	st->write_err = err;
	if (err) {
		evidence_keep(st);
		rollback(st);
		return err;
	}
	st->txn_evidence.n = 0;
	st->unsaved_evidence.n = 0;
	return 0;
}

int store_rollback(struct store *st)
{
	/* Given up on purpose: its evidence goes with it. */
	st->txn_evidence.n = 0;
	return rollback(st);
}

/* A single entry write outside a transaction gets one of its own. */
static int single_begin(struct store *st, bool *own)
{
	*own = sqlite3_get_autocommit(st->db);
	return *own ? store_begin(st) : 0;
}

static int single_end(struct store *st, bool own, int ret)
{
	int err;

	if (!own)
		return ret;
	if (ret < 0) {
		store_rollback(st);
		return ret;
	}
	err = store_commit(st);
	return err ? err : ret;
}

/* The next id no row has and this connection never handed out. */
static int evidence_next_id(struct store *st, int64_t *id)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_MAX];
	int rc = sqlite3_step(s);
	int64_t max = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;

	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return store_errno(st, rc);
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

int store_evidence_get(struct store *st, int64_t id, struct evidence *out)
{
	sqlite3_stmt *s = st->stmt[STMT_EVIDENCE_GET];
	int rc, err = 0;

	if (evidence_unsaved_get(st, id, out))
		return 0;
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

static int entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		     const struct entry_meta *m, const struct gw_counters *baseline)
{
	struct pending_table *pt = pending_table(st, table);
	uint8_t record[RECORD_MAX];

	if (!pt)
		return -ENOMEM;
	return log_put(st, pt, p, record, record_encode(record, p, m, baseline));
}

int store_entry_put(struct store *st, const char *table, const struct addr_prefix *p,
		    const struct entry_meta *m, const struct gw_counters *baseline)
{
	bool own;
	int err = single_begin(st, &own);

	if (err)
		return err;
	return single_end(st, own, entry_put(st, table, p, m, baseline));
}

/* Take p's record out of its bucket; its metadata goes to *m. */
static int entry_take(struct store *st, const char *table, const struct addr_prefix *p,
		      struct entry_meta *m)
{
	struct pending_table *pt = pending_table(st, table);
	size_t offset, len;
	struct bucket *b;
	int err, found;

	if (!pt)
		return -ENOMEM;
	err = log_apply(st);
	if (!err)
		err = bucket_get(st, pt, bucket_of(p), &b);
	if (err)
		return err;
	found = record_find(b, p, &offset, &len, m);
	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	return bucket_splice(b, offset, len, NULL, 0);
}

int store_entry_delete(struct store *st, const char *table, const struct addr_prefix *p)
{
	struct entry_meta m;
	bool own;
	int err = single_begin(st, &own);

	if (err)
		return err;
	return single_end(st, own, entry_take(st, table, p, &m));
}

static int history_insert(struct store *st, int64_t when, const char *table,
			  const struct addr_prefix *p, const char *action, int64_t evidence_id,
			  const struct entry_meta *added)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_ADD];

	sqlite3_bind_int64(s, 1, when);
	sqlite3_bind_text(s, 2, table, -1, SQLITE_STATIC);
	bind_prefix(s, 3, 4, 5, p);
	sqlite3_bind_text(s, 6, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, evidence_id);
	if (added) {
		sqlite3_bind_int64(s, 8, added->added);
		sqlite3_bind_int64(s, 9, added->evidence_id);
	} else {
		sqlite3_bind_null(s, 8);
		sqlite3_bind_null(s, 9);
	}
	return step_done(st, s);
}

int store_entry_remove(struct store *st, int64_t when, const char *table,
		       const struct addr_prefix *p, const char *action, int64_t evidence_id)
{
	struct entry_meta m;
	bool own;
	int err = single_begin(st, &own);

	if (err)
		return err;
	err = entry_take(st, table, p, &m);
	if (!err)
		err = history_insert(st, when, table, p, action, evidence_id, &m);
	return single_end(st, own, err);
}

int store_table_delete_all(struct store *st, const char *table)
{
	sqlite3_stmt *s = st->stmt[STMT_TABLE_DELETE_ALL];
	int err = log_apply(st);

	if (!err) {
		sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
		err = step_done(st, s);
	}
	for (size_t i = 0; !err && i < st->npending; i++) {
		struct pending_table *pt = &st->pending[i];

		if (strcmp(pt->name, table))
			continue;
		/* The cached buckets are as empty as the rows now: nothing to write. */
		for (size_t k = 0; k < pt->ntouched; k++) {
			pt->bucket[pt->touched[k]]->len = 0;
			pt->bucket[pt->touched[k]]->dirty = false;
		}
		pt->complete = true;
	}
	return err;
}

/* Copy of a row's bucket: the callbacks may write while the row is read. */
struct row_copy {
	char *table;
	struct bucket data;
};

static int row_copy_take(struct row_copy *c, sqlite3_stmt *s)
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

static void row_copy_free(struct row_copy *c)
{
	free(c->table);
	free(c->data.data);
}

/*
 * The callback must not call store_entries_foreach() itself (the statement
 * is in use); other store calls are fine, though entries it changes may or
 * may not be visited.
 */
int store_entries_foreach(struct store *st, store_entry_cb cb, void *ctx)
{
	sqlite3_stmt *s = st->stmt[STMT_ENTRIES_ALL];
	struct row_copy row = { 0 };
	int rc = SQLITE_DONE, ret = pending_flush(st);

	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const uint8_t *pos, *end;

		ret = row_copy_take(&row, s);
		pos = row.data.data;
		end = pos + row.data.len;
		while (!ret && pos < end) {
			struct gw_counters baseline;
			struct addr_prefix p;
			struct entry_meta m;
			bool has_baseline;

			ret = record_decode(&pos, end, &p, &m, &baseline, &has_baseline);
			if (!ret)
				ret = cb(ctx, row.table, &p, &m, has_baseline ? &baseline : NULL);
		}
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_errno(st, rc);
	sqlite3_reset(s);
	row_copy_free(&row);
	return ret;
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
	column_text(s, at + 1, ev->source, sizeof(ev->source));
	column_text(s, at + 2, ev->detail, sizeof(ev->detail));
}

static int history_rows(struct store *st, const struct addr_prefix *p, struct history_events *l)
{
	sqlite3_stmt *s = st->stmt[STMT_HISTORY_GET];
	int rc, err = 0;

	bind_prefix(s, 1, 2, 3, p);
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const char *table = (const char *)sqlite3_column_text(s, 2);
		struct history_event *e;

		if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
			e = event_push(l, sqlite3_column_int64(s, 8), id * 2, table, "add");
			if (!e) {
				err = -ENOMEM;
				break;
			}
			column_evidence(s, sqlite3_column_int64(s, 9), 10, &e->ev);
		}
		e = event_push(l, sqlite3_column_int64(s, 1), id * 2 + 1, table,
			       (const char *)sqlite3_column_text(s, 3));
		if (!e) {
			err = -ENOMEM;
			break;
		}
		column_evidence(s, sqlite3_column_int64(s, 4), 5, &e->ev);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_errno(st, rc);
	sqlite3_reset(s);
	return err;
}

/* The additions of p's present entries, from their records. */
static int history_present(struct store *st, const struct addr_prefix *p,
			   struct history_events *l)
{
	sqlite3_stmt *s = st->stmt[STMT_BUCKETS_AT];
	struct row_copy row = { 0 };
	int rc, err = 0;

	sqlite3_bind_int(s, 1, (int)bucket_of(p));
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct history_event *e;
		struct entry_meta m;
		size_t offset, len;
		int found;

		err = row_copy_take(&row, s);
		found = err ? 0 : record_find(&row.data, p, &offset, &len, &m);
		if (found <= 0) {
			err = found < 0 ? found : err;
			continue;
		}
		e = event_push(l, m.added, INT64_MAX, row.table, "add");
		if (!e)
			err = -ENOMEM;
		else if (m.evidence_id && store_evidence_get(st, m.evidence_id, &e->ev))
			e->ev.id = m.evidence_id;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_errno(st, rc);
	sqlite3_reset(s);
	row_copy_free(&row);
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
	int ret = pending_flush(st);

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
