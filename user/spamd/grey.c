// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The greylist in SQLite, on the store's connection. Every statement is
 * prepared once at open, and every value from the tarpit is a bound
 * parameter: a tuple is hostile input and never becomes SQL text.
 *
 * Tables (created if missing, next to the store's own):
 *   grey_tuples      GREY entries, keyed by (family, addr, helo, mfrom,
 *                    rcpt); the address is a blob of its native length,
 *                    so the tuples of a prefix are one key range.
 *   grey_addrs       WHITE and TRAPPED entries keyed by (family, addr,
 *                    plen), told apart as spamd does: pcount -1 is
 *                    TRAPPED. One table, because spamdb moves an entry
 *                    between the two (spamdb -a on a TRAPPED host makes
 *                    it WHITE). helo/mfrom/rcpt hold a trap's evidence.
 *   grey_spamtraps   SPAMTRAP addresses, normalised.
 *   grey_candidates, grey_candidate_sources
 *                    spamtrap candidates and who used them.
 *   grey_callbacks   callback probes seen.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sqlite3.h>

#include "lib/array.h"
#include "spamd/grey.h"
#include "store/sql.h"
#include "store/store.h"
#include "spamd/trap.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS grey_tuples("
    " family INTEGER NOT NULL, addr BLOB NOT NULL,"
    " helo TEXT NOT NULL, mfrom TEXT NOT NULL, rcpt TEXT NOT NULL,"
    " first INTEGER NOT NULL, pass INTEGER NOT NULL, expire INTEGER NOT NULL,"
    " bcount INTEGER NOT NULL, pcount INTEGER NOT NULL,"
    " PRIMARY KEY(family, addr, helo, mfrom, rcpt)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grey_addrs("
    " family INTEGER NOT NULL, addr BLOB NOT NULL, plen INTEGER NOT NULL,"
    " first INTEGER NOT NULL, pass INTEGER NOT NULL, expire INTEGER NOT NULL,"
    " bcount INTEGER NOT NULL, pcount INTEGER NOT NULL,"
    " helo TEXT NOT NULL DEFAULT '', mfrom TEXT NOT NULL DEFAULT '',"
    " rcpt TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(family, addr, plen)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grey_spamtraps("
    " address TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grey_candidates("
    " address TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " hits INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grey_candidate_sources("
    " address TEXT NOT NULL, family INTEGER NOT NULL, addr BLOB NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, hits INTEGER NOT NULL,"
    " PRIMARY KEY(address, family, addr)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grey_callbacks("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " family INTEGER NOT NULL, addr BLOB NOT NULL, helo TEXT NOT NULL,"
    " rcpt TEXT NOT NULL, host TEXT NOT NULL, epoch INTEGER NOT NULL);";

/* The columns every WHITE/TRAPPED read returns, in struct grey_entry order. */
#define ADDR_COLUMNS "family, addr, plen, first, pass, expire, bcount, pcount, helo, mfrom, rcpt"
#define ADDR_INSERT  "INSERT INTO grey_addrs(" ADDR_COLUMNS ") "
#define ADDR_KEY     "family = ?1 AND addr = ?2 AND plen = ?3"
#define TUPLE_KEY    "family = ?1 AND addr = ?2 AND helo = ?6 AND mfrom = ?7 AND rcpt = ?8"

enum grey_stmt {
	STMT_LOOKUP,
	STMT_WHITE_BUMP,
	STMT_TUPLE_INSERT,
	STMT_TUPLE_SEEN,
	STMT_TUPLES_LIVE,
	STMT_TRAP,
	STMT_WHITE_ADD,
	STMT_TRAPPED_ADD,
	STMT_WHITE_SYNC,
	STMT_ADDR_DELETE,
	STMT_ADDR_GET,
	STMT_ADDRS_ALL,
	STMT_TUPLES_ALL,
	STMT_TUPLES_DELETE_RANGE,
	STMT_EXPIRE_TUPLES,
	STMT_EXPIRE_ADDRS,
	STMT_EXPIRE_CALLBACKS,
	STMT_EXPIRE_CANDIDATES,
	STMT_EXPIRE_SOURCES,
	STMT_PASSED,
	STMT_WHITEN,
	STMT_SPAMTRAP_ADD,
	STMT_SPAMTRAP_DELETE,
	STMT_SPAMTRAP_GET,
	STMT_SPAMTRAPS_ALL,
	STMT_CANDIDATE_NOTE,
	STMT_SOURCE_NOTE,
	STMT_CANDIDATES_ALL,
	STMT_SOURCES_OF,
	STMT_CANDIDATE_DELETE,
	STMT_SOURCES_DELETE,
	STMT_CALLBACK_ADD,
	STMT_CALLBACKS_ALL,
	STMT_TUPLES_COUNT,
	STMT_MAX,
};

static const char *const stmt_sql[STMT_MAX] = {
    /* A WHITE entry of the host (?3 = its plen) or of its white prefix
     * (?4/?5), and the tuple itself: both primary-key probes, one step. */
    [STMT_LOOKUP] = "SELECT 1, plen, 0 FROM grey_addrs WHERE family = ?1 AND pcount >= 0"
		    " AND ((addr = ?2 AND plen = ?3) OR (addr = ?4 AND plen = ?5))"
		    " UNION ALL SELECT 0, 0, first FROM grey_tuples WHERE " TUPLE_KEY,
    [STMT_WHITE_BUMP] = "UPDATE grey_addrs SET pcount = pcount + 1, expire = ?4"
			" WHERE " ADDR_KEY,
    [STMT_TUPLE_INSERT] = "INSERT INTO grey_tuples(family, addr, first, pass, expire, helo,"
			  " mfrom, rcpt, bcount, pcount) VALUES(?1, ?2, ?3, ?4, ?4, ?6, ?7, ?8,"
			  " 1, 0)",
    /* A source's tuples are one range of the primary key; ?4 caps the rows read. */
    [STMT_TUPLES_COUNT] = "SELECT count(*) FROM grey_tuples",
    [STMT_TUPLES_LIVE] = "SELECT count(*) FROM (SELECT 1 FROM grey_tuples"
			 " WHERE family = ?1 AND addr = ?2 AND expire > ?3 LIMIT ?4)",
    /* ?3: the new pass time, or NULL to keep it. */
    [STMT_TUPLE_SEEN] = "UPDATE grey_tuples SET bcount = bcount + 1,"
			" pass = coalesce(?3, pass) WHERE " TUPLE_KEY,
    /* Trapped again: one more hit, expiry kept (spamd); WHITE turns
     * TRAPPED with this trap's expiry and evidence. */
    [STMT_TRAP] = ADDR_INSERT "VALUES(?1, ?2, ?3, ?4, ?5, ?5, 1, -1, ?6, ?7, ?8)"
			      " ON CONFLICT(family, addr, plen) DO UPDATE SET bcount = bcount + 1,"
			      " expire = iif(pcount >= 0, excluded.expire, expire),"
			      " helo = iif(pcount >= 0, excluded.helo, helo),"
			      " mfrom = iif(pcount >= 0, excluded.mfrom, mfrom),"
			      " rcpt = iif(pcount >= 0, excluded.rcpt, rcpt), pcount = -1",
    /* spamdb -a: pcount++ (a TRAPPED -1 so becomes 0, WHITE). */
    [STMT_WHITE_ADD] =
	ADDR_INSERT "VALUES(?1, ?2, ?3, ?4, ?4, ?5, 1, 0, '', '', '')"
		    " ON CONFLICT(family, addr, plen) DO UPDATE SET pcount = pcount + 1,"
		    " pass = excluded.pass, expire = excluded.expire",
    [STMT_TRAPPED_ADD] = ADDR_INSERT "VALUES(?1, ?2, ?3, ?4, 0, ?5, 1, -1, '', '', '')"
				     " ON CONFLICT(family, addr, plen) DO UPDATE SET pcount = -1,"
				     " expire = excluded.expire",
    /* A WHITE record from a sync peer (spamd's twupdate): new, it expires
     * as the record says; existing, pcount++ and the expiry kept. Unlike
     * spamd, a TRAPPED entry stays TRAPPED: the network cannot untrap. */
    [STMT_WHITE_SYNC] = ADDR_INSERT "VALUES(?1, ?2, ?3, ?4, ?4, ?5, 1, 0, '', '', '')"
				    " ON CONFLICT(family, addr, plen) DO UPDATE"
				    " SET pcount = pcount + 1 WHERE pcount >= 0",
    /* ?4: 1 to delete a TRAPPED entry, 0 a WHITE one. */
    [STMT_ADDR_DELETE] = "DELETE FROM grey_addrs WHERE " ADDR_KEY " AND (pcount < 0) = ?4",
    [STMT_ADDR_GET] = "SELECT " ADDR_COLUMNS " FROM grey_addrs WHERE " ADDR_KEY,
    [STMT_ADDRS_ALL] = "SELECT " ADDR_COLUMNS " FROM grey_addrs"
		       " ORDER BY pcount < 0, family, addr, plen",
    [STMT_TUPLES_ALL] = "SELECT family, addr, helo, mfrom, rcpt, first, pass, expire, bcount,"
			" pcount FROM grey_tuples ORDER BY family, addr, helo, mfrom, rcpt",
    [STMT_TUPLES_DELETE_RANGE] = "DELETE FROM grey_tuples WHERE family = ?1"
				 " AND addr BETWEEN ?2 AND ?3",
    [STMT_EXPIRE_TUPLES] = "DELETE FROM grey_tuples WHERE expire <= ?1",
    [STMT_EXPIRE_ADDRS] = "DELETE FROM grey_addrs WHERE expire <= ?1",
    [STMT_EXPIRE_CALLBACKS] = "DELETE FROM grey_callbacks WHERE at <= ?1",
    [STMT_EXPIRE_CANDIDATES] = "DELETE FROM grey_candidates WHERE last <= ?1",
    [STMT_EXPIRE_SOURCES] = "DELETE FROM grey_candidate_sources WHERE last <= ?1",
    [STMT_PASSED] = "SELECT family, addr, first, pass, bcount, pcount FROM grey_tuples"
		    " WHERE pass <= ?1 AND first + ?2 < pass",
    /* A TRAPPED entry at the same key stays TRAPPED. */
    [STMT_WHITEN] = ADDR_INSERT "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', '', '')"
				" ON CONFLICT(family, addr, plen) DO UPDATE"
				" SET expire = max(expire, excluded.expire) WHERE pcount >= 0",
    [STMT_SPAMTRAP_ADD] = "INSERT OR IGNORE INTO grey_spamtraps(address) VALUES(?1)",
    [STMT_SPAMTRAP_DELETE] = "DELETE FROM grey_spamtraps WHERE address = ?1",
    [STMT_SPAMTRAP_GET] = "SELECT address FROM grey_spamtraps WHERE address = ?1",
    [STMT_SPAMTRAPS_ALL] = "SELECT address FROM grey_spamtraps ORDER BY address",
    [STMT_CANDIDATE_NOTE] = "INSERT INTO grey_candidates(address, first, last, hits)"
			    " VALUES(?1, ?2, ?2, 1) ON CONFLICT(address) DO UPDATE"
			    " SET last = excluded.last, hits = hits + 1",
    [STMT_SOURCE_NOTE] = "INSERT INTO grey_candidate_sources(address, family, addr, first,"
			 " last, hits) VALUES(?1, ?3, ?4, ?2, ?2, 1)"
			 " ON CONFLICT(address, family, addr) DO UPDATE"
			 " SET last = excluded.last, hits = hits + 1",
    [STMT_CANDIDATES_ALL] = "SELECT c.address, c.first, c.last, c.hits,"
			    " (SELECT count(*) FROM grey_candidate_sources s"
			    " WHERE s.address = c.address)"
			    " FROM grey_candidates c ORDER BY c.address",
    [STMT_SOURCES_OF] = "SELECT family, addr, first, last, hits FROM grey_candidate_sources"
			" WHERE address = ?1 ORDER BY first, family, addr",
    [STMT_CANDIDATE_DELETE] = "DELETE FROM grey_candidates WHERE address = ?1",
    [STMT_SOURCES_DELETE] = "DELETE FROM grey_candidate_sources WHERE address = ?1",
    [STMT_CALLBACK_ADD] = "INSERT INTO grey_callbacks(at, family, addr, helo, rcpt, host,"
			  " epoch) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_CALLBACKS_ALL] = "SELECT at, family, addr, helo, rcpt, host, epoch"
			   " FROM grey_callbacks ORDER BY at, id",
};

/*
 * For recent sources, an upper bound of their live tuples, so that a new
 * tuple costs no count of its source's key range (that count was a fifth
 * of a decision). A slot is set from a count and grows with each insert;
 * nothing else adds a tuple (spamd's peers' tuples come through
 * grey_update too) and expiry, deletion, a rolled-back insert and time
 * only lower the true count. So a source under maxtuples by its bound is
 * under it indeed; one whose bound reaches maxtuples is counted again.
 * Direct-mapped and of fixed size: a collision costs one count, never
 * memory.
 */
#define GREY_SOURCE_SLOTS 16384

struct source_slot {
	uint32_t tuples;
	uint8_t family;		/* 0: empty */
	uint8_t bytes[16];
};

struct grey {
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_MAX];
	struct source_slot sources[GREY_SOURCE_SLOTS];
};

void grey_params_default(struct grey_params *p)
{
	p->passtime = GREY_PASSTIME;
	p->greyexp = GREY_GREYEXP;
	p->whiteexp = GREY_WHITEEXP;
	p->trapexp = GREY_TRAPEXP;
	p->white_plen4 = 32;
	p->white_plen6 = 128;
	p->maxtuples = GREY_MAXTUPLES;
}

static int addr_bytes(int family)
{
	return addr_max_plen(family) / 8;
}

/*
 * Values are bound SQLITE_STATIC, pointing at the caller's memory: every
 * function binds every parameter of its statement before stepping it, so
 * a pointer left behind after a call is never read.
 */

/* Bind (family, addr, plen) as ?1, ?2, ?3: the key of grey_addrs. */
static void bind_addr_key(sqlite3_stmt *s, const struct addr_prefix *a)
{
	sql_bind_addr(s, 1, a);
	sqlite3_bind_int(s, 3, a->plen);
}

static void bind_text(sqlite3_stmt *s, int at, const char *text)
{
	sqlite3_bind_text(s, at, text, -1, SQLITE_STATIC);
}

int grey_open(struct store *st, struct grey **out)
{
	struct grey *g;
	int err;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->st = st;
	g->db = store_sqlite(st);
	err = sql_exec(g->db, schema_sql);
	if (!err)
		err = sql_prepare_all(g->db, stmt_sql, g->stmt, STMT_MAX);
	if (err) {
		grey_close(g);
		return err;
	}
	*out = g;
	return 0;
}

void grey_close(struct grey *g)
{
	if (!g)
		return;
	sql_finalize_all(g->stmt, STMT_MAX);
	free(g);
}

/* A tuple's source must be one address. */
static int check_tuple(const struct addr_prefix *ip)
{
	if ((ip->family != AF_INET && ip->family != AF_INET6) || !addr_is_host(ip))
		return -EINVAL;
	return 0;
}

/* The WHITE key that covers a source: the source itself or its /N. */
static int white_prefix(const struct grey_params *p, const struct addr_prefix *ip,
			struct addr_prefix *out)
{
	int plen = ip->family == AF_INET ? p->white_plen4 : p->white_plen6;

	if (plen < 1 || plen > addr_max_plen(ip->family))
		return -EINVAL;
	*out = *ip;
	out->plen = (uint8_t)plen;
	addr_mask(out);
	return 0;
}

/*
 * A client's field as stored: its first GREY_FIELD_MAX bytes, whatever
 * they are. Cut, never refused, so that no field can make a trap or a
 * tuple fail; the cut is the same every time, so the key stays exact.
 */
static void bind_field(sqlite3_stmt *s, int at, const char *text)
{
	sqlite3_bind_text(s, at, text, (int)strnlen(text, GREY_FIELD_MAX), SQLITE_STATIC);
}

static void bind_tuple_fields(sqlite3_stmt *s, const char *helo, const char *from, const char *to)
{
	bind_field(s, 6, helo);
	bind_field(s, 7, from);
	bind_field(s, 8, to);
}

/* ip's slot in g->sources (a host: its family and address bytes are the key). */
static struct source_slot *source_slot(struct grey *g, const struct addr_prefix *ip)
{
	/* FNV-1a over the address bytes, then a final mix. */
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)ip->family;
	size_t n = ip->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ip->bytes[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return &g->sources[h % GREY_SOURCE_SLOTS];
}

static bool slot_holds(const struct source_slot *slot, const struct addr_prefix *ip)
{
	return slot->family == ip->family &&
	       !memcmp(slot->bytes, ip->bytes, ip->family == AF_INET ? 4 : 16);
}

/*
 * 1 when ip has p->maxtuples live tuples already, 0 when it may have one
 * more, or -errno. Leaves ip's slot holding ip (the caller counts its
 * insert there) unless counting failed.
 */
static int source_full(struct grey *g, int64_t now, const struct grey_params *p,
		       const struct addr_prefix *ip)
{
	sqlite3_stmt *s = g->stmt[STMT_TUPLES_LIVE];
	struct source_slot *slot = source_slot(g, ip);
	int64_t live;
	int err;

	if (!p->maxtuples)
		return 0;
	if (slot_holds(slot, ip) && slot->tuples < p->maxtuples)
		return 0;
	sql_bind_addr(s, 1, ip);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, p->maxtuples);
	err = sql_row_int64(s, &live);
	if (err) {
		slot->family = 0;
		return err;
	}
	slot->family = ip->family;
	memcpy(slot->bytes, ip->bytes, sizeof(slot->bytes));
	/* The count stops at maxtuples: beyond it, the bound is unknown. */
	slot->tuples = live < p->maxtuples ? (uint32_t)live : UINT32_MAX;
	return live >= p->maxtuples;
}

/* One tuple more for ip: its bound grows (source_full() left the slot to ip). */
static void source_added(struct grey *g, const struct addr_prefix *ip)
{
	struct source_slot *slot = source_slot(g, ip);

	if (slot_holds(slot, ip) && slot->tuples < UINT32_MAX)
		slot->tuples++;
}

/* What STMT_LOOKUP found for a tuple: its source's WHITE entry, the tuple itself. */
struct lookup {
	int host_plen;
	int white_plen;		/* of the WHITE entry that covers the source; -1: none */
	bool seen;
	int64_t first;
};

static int lookup_row(sqlite3_stmt *s, void *ctx)
{
	struct lookup *l = ctx;

	if (sqlite3_column_int(s, 0)) {
		/* The host's own entry wins over its prefix's. */
		if (l->white_plen != l->host_plen)
			l->white_plen = sqlite3_column_int(s, 1);
	} else {
		l->seen = true;
		l->first = sqlite3_column_int64(s, 2);
	}
	return 0;
}

static int update_tuple(struct grey *g, int64_t now, const struct grey_params *p,
			const struct addr_prefix *ip, const char *helo, const char *from,
			const char *to, int64_t *first)
{
	struct lookup l = { .host_plen = ip->plen, .white_plen = -1 };
	sqlite3_stmt *s = g->stmt[STMT_LOOKUP];
	struct addr_prefix white;
	bool passed;
	int err;

	err = check_tuple(ip);
	if (!err)
		err = white_prefix(p, ip, &white);
	if (err)
		return err;
	bind_addr_key(s, ip);
	sqlite3_bind_blob(s, 4, white.bytes, addr_bytes(white.family), SQLITE_STATIC);
	sqlite3_bind_int(s, 5, white.plen);
	bind_tuple_fields(s, helo, from, to);
	err = sql_rows(s, lookup_row, &l);
	if (err)
		return err;

	if (l.white_plen >= 0) {
		s = g->stmt[STMT_WHITE_BUMP];
		bind_addr_key(s, l.white_plen == ip->plen ? ip : &white);
		sqlite3_bind_int64(s, 4, now + p->whiteexp);
		err = sql_run(s);
		return err ? err : GREY_WHITE;
	}
	if (!l.seen) {
		err = source_full(g, now, p, ip);
		if (err)
			return err < 0 ? err : GREY_FULL;
		s = g->stmt[STMT_TUPLE_INSERT];
		sql_bind_addr(s, 1, ip);
		sqlite3_bind_int64(s, 3, now);
		sqlite3_bind_int64(s, 4, now + p->greyexp);
		bind_tuple_fields(s, helo, from, to);
		err = sql_run(s);
		if (err)
			return err;
		source_added(g, ip);
		return GREY_NEW;
	}
	passed = l.first + p->passtime < now;
	*first = l.first;
	s = g->stmt[STMT_TUPLE_SEEN];
	sql_bind_addr(s, 1, ip);
	if (passed)
		sqlite3_bind_int64(s, 3, now);
	else
		sqlite3_bind_null(s, 3);
	bind_tuple_fields(s, helo, from, to);
	err = sql_run(s);
	return err ? err : passed ? GREY_PASSED : GREY_SEEN;
}

int grey_update_first(struct grey *g, int64_t now, const struct grey_params *p,
		      const struct addr_prefix *ip, const char *helo, const char *from,
		      const char *to, int64_t *first)
{
	int64_t seen = now;
	bool own;
	int err = store_begin_own(g->st, &own);

	/* Lookup and write in one transaction: less locking than two, and
	 * nothing changes in between. */
	if (err)
		return err;
	err = store_end_own(g->st, own, update_tuple(g, now, p, ip, helo, from, to, &seen));
	if (first)
		*first = seen;
	return err;
}

int grey_update(struct grey *g, int64_t now, const struct grey_params *p,
		const struct addr_prefix *ip, const char *helo, const char *from, const char *to)
{
	return grey_update_first(g, now, p, ip, helo, from, to, NULL);
}

int grey_trap(struct grey *g, int64_t now, const struct addr_prefix *ip, int64_t expire,
	      const char *helo, const char *from, const char *to)
{
	sqlite3_stmt *s = g->stmt[STMT_TRAP];
	int err = check_tuple(ip);

	if (err)
		return err;
	bind_addr_key(s, ip);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, expire);
	bind_tuple_fields(s, helo, from, to);
	return sql_run(s);
}

static bool valid_prefix(const struct addr_prefix *a)
{
	struct addr_prefix masked = *a;

	if ((a->family != AF_INET && a->family != AF_INET6) || a->plen > addr_max_plen(a->family))
		return false;
	addr_mask(&masked);
	return addr_equal(&masked, a);
}

/* spamdb -a and -a -t: ?4 = now, ?5 = the expiry. */
static int addr_add(struct grey *g, enum grey_stmt which, int64_t now, int64_t expire,
		    const struct addr_prefix *a)
{
	sqlite3_stmt *s = g->stmt[which];

	if (!valid_prefix(a))
		return -EINVAL;
	bind_addr_key(s, a);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_int64(s, 5, expire);
	return sql_run(s);
}

int grey_white_add(struct grey *g, int64_t now, const struct grey_params *p,
		   const struct addr_prefix *a)
{
	return addr_add(g, STMT_WHITE_ADD, now, now + p->whiteexp, a);
}

int grey_trapped_add(struct grey *g, int64_t now, const struct grey_params *p,
		     const struct addr_prefix *a)
{
	return addr_add(g, STMT_TRAPPED_ADD, now, now + p->trapexp, a);
}

int grey_white_sync(struct grey *g, int64_t now, const struct addr_prefix *a, int64_t expire)
{
	if (!addr_is_host(a))
		return -EINVAL;
	return addr_add(g, STMT_WHITE_SYNC, now, expire, a);
}

static int addr_delete(struct grey *g, const struct addr_prefix *a, bool trapped)
{
	sqlite3_stmt *s = g->stmt[STMT_ADDR_DELETE];

	if (!valid_prefix(a))
		return -EINVAL;
	bind_addr_key(s, a);
	sqlite3_bind_int(s, 4, trapped);
	return sql_run_changing(s);
}

int grey_white_delete(struct grey *g, const struct addr_prefix *a)
{
	return addr_delete(g, a, false);
}

int grey_trapped_delete(struct grey *g, const struct addr_prefix *a)
{
	return addr_delete(g, a, true);
}

/* Delete the GREY tuples of every address inside prefix a. */
static int tuples_delete_range(struct grey *g, const struct addr_prefix *a)
{
	sqlite3_stmt *s = g->stmt[STMT_TUPLES_DELETE_RANGE];
	struct addr_prefix last = *a;
	int len = addr_bytes(a->family);

	for (int bit = a->plen; bit < len * 8; bit++)
		last.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	sql_bind_addr(s, 1, a);
	sqlite3_bind_blob(s, 3, last.bytes, len, SQLITE_STATIC);
	return sql_run_changing(s);
}

int grey_tuples_delete(struct grey *g, const struct addr_prefix *ip)
{
	if (!valid_prefix(ip) || !addr_is_host(ip))
		return -EINVAL;
	return tuples_delete_range(g, ip);
}

/* Normalise a stored address (spamtrap, candidate) into buf. */
static int normal_address(const char *address, char buf[TRAP_ADDRESS_MAX + 1])
{
	int len = trap_normalize(address, buf, TRAP_ADDRESS_MAX + 1);

	return len < 0 ? -EINVAL : 0;
}

/* Run statement `which` with a normalised address as ?1. */
static int run_address(struct grey *g, enum grey_stmt which, const char *address, bool changing)
{
	char norm[TRAP_ADDRESS_MAX + 1];
	sqlite3_stmt *s = g->stmt[which];
	int err = normal_address(address, norm);

	if (err)
		return err;
	bind_text(s, 1, norm);
	err = changing ? sql_run_changing(s) : sql_run(s);
	return err;
}

int grey_spamtrap_add(struct grey *g, const char *address)
{
	if (!strchr(address, '@'))
		return -EINVAL;
	return run_address(g, STMT_SPAMTRAP_ADD, address, false);
}

int grey_spamtrap_delete(struct grey *g, const char *address)
{
	return run_address(g, STMT_SPAMTRAP_DELETE, address, true);
}

static int load_spamtrap_row(sqlite3_stmt *s, void *set)
{
	return trap_set_add(set, sql_column_text(s, 0));
}

int grey_spamtraps_load(struct grey *g, struct trap_set *set)
{
	return sql_rows(g->stmt[STMT_SPAMTRAPS_ALL], load_spamtrap_row, set);
}

struct entry_walk {
	grey_entry_cb cb;
	void *ctx;
	int rows;
};

static int tuple_row(sqlite3_stmt *s, void *ctx)
{
	struct entry_walk *w = ctx;
	struct grey_entry e = {.kind = GREY_KIND_GREY};
	int err;

	err = sql_column_addr(s, 0, -1, &e.addr);
	if (err)
		return err;
	e.helo = sql_column_text(s, 2);
	e.from = sql_column_text(s, 3);
	e.to = sql_column_text(s, 4);
	e.address = "";
	e.first = sqlite3_column_int64(s, 5);
	e.pass = sqlite3_column_int64(s, 6);
	e.expire = sqlite3_column_int64(s, 7);
	e.bcount = sqlite3_column_int(s, 8);
	e.pcount = sqlite3_column_int(s, 9);
	w->rows++;
	return w->cb(w->ctx, &e);
}

/* A row of ADDR_COLUMNS. */
static int addr_row(sqlite3_stmt *s, void *ctx)
{
	struct entry_walk *w = ctx;
	struct grey_entry e;
	int err;

	memset(&e, 0, sizeof(e));
	err = sql_column_addr(s, 0, sqlite3_column_int(s, 2), &e.addr);
	if (err)
		return err;
	e.first = sqlite3_column_int64(s, 3);
	e.pass = sqlite3_column_int64(s, 4);
	e.expire = sqlite3_column_int64(s, 5);
	e.bcount = sqlite3_column_int(s, 6);
	e.pcount = sqlite3_column_int(s, 7);
	e.kind = e.pcount < 0 ? GREY_KIND_TRAPPED : GREY_KIND_WHITE;
	e.helo = sql_column_text(s, 8);
	e.from = sql_column_text(s, 9);
	e.to = sql_column_text(s, 10);
	e.address = "";
	w->rows++;
	return w->cb(w->ctx, &e);
}

static int spamtrap_row(sqlite3_stmt *s, void *ctx)
{
	struct entry_walk *w = ctx;
	struct grey_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = GREY_KIND_SPAMTRAP;
	e.helo = e.from = e.to = "";
	e.address = sql_column_text(s, 0);
	e.pcount = -2;
	w->rows++;
	return w->cb(w->ctx, &e);
}

int grey_foreach(struct grey *g, grey_entry_cb cb, void *ctx)
{
	struct entry_walk w = {cb, ctx, 0};
	int ret = sql_rows(g->stmt[STMT_TUPLES_ALL], tuple_row, &w);

	if (!ret)
		ret = sql_rows(g->stmt[STMT_ADDRS_ALL], addr_row, &w);
	if (!ret)
		ret = sql_rows(g->stmt[STMT_SPAMTRAPS_ALL], spamtrap_row, &w);
	return ret;
}

int grey_get(struct grey *g, const struct addr_prefix *a, grey_entry_cb cb, void *ctx)
{
	struct entry_walk w = {cb, ctx, 0};
	sqlite3_stmt *s = g->stmt[STMT_ADDR_GET];
	int ret;

	if (!valid_prefix(a))
		return -EINVAL;
	bind_addr_key(s, a);
	ret = sql_rows(s, addr_row, &w);
	return ret ? ret : w.rows ? 0 : -ENOENT;
}

int grey_spamtrap_get(struct grey *g, const char *address, grey_entry_cb cb, void *ctx)
{
	struct entry_walk w = {cb, ctx, 0};
	char norm[TRAP_ADDRESS_MAX + 1];
	sqlite3_stmt *s = g->stmt[STMT_SPAMTRAP_GET];
	int ret = normal_address(address, norm);

	if (ret)
		return ret;
	bind_text(s, 1, norm);
	ret = sql_rows(s, spamtrap_row, &w);
	return ret ? ret : w.rows ? 0 : -ENOENT;
}

/* A growable array of prefixes. */
struct prefix_list {
	struct addr_prefix *items;
	size_t count;
	size_t cap;
};

static int prefix_list_add(struct prefix_list *l, const struct addr_prefix *p)
{
	int err = array_room(&l->items, &l->cap, l->count + 1, sizeof(*l->items), 64);

	if (!err)
		l->items[l->count++] = *p;
	return err;
}

/* A tuple whose pass has come, as read before any row is changed. */
struct passed_tuple {
	struct addr_prefix ip;
	int64_t first;
	int64_t pass;
	int bcount;
	int pcount;
};

struct passed_list {
	struct passed_tuple *items;
	size_t count;
	size_t cap;
};

static int passed_row(sqlite3_stmt *s, void *ctx)
{
	struct passed_list *l = ctx;
	struct passed_tuple t;
	int err = sql_column_addr(s, 0, -1, &t.ip);

	if (!err)
		err = array_room(&l->items, &l->cap, l->count + 1, sizeof(*l->items), 64);
	if (err)
		return err;
	t.first = sqlite3_column_int64(s, 2);
	t.pass = sqlite3_column_int64(s, 3);
	t.bcount = sqlite3_column_int(s, 4);
	t.pcount = sqlite3_column_int(s, 5);
	l->items[l->count++] = t;
	return 0;
}

static int trapped_check_row(sqlite3_stmt *s, void *ctx)
{
	*(bool *)ctx = sqlite3_column_int(s, 7) < 0;
	return 0;
}

/* Set *trapped when the host has a TRAPPED entry. */
static int host_trapped(struct grey *g, const struct addr_prefix *ip, bool *trapped)
{
	sqlite3_stmt *s = g->stmt[STMT_ADDR_GET];

	*trapped = false;
	bind_addr_key(s, ip);
	return sql_rows(s, trapped_check_row, trapped);
}

static bool holds_black(const struct grey_black *black, const struct addr_prefix *a)
{
	return black && black->holds_black(black->ctx, a);
}

/*
 * Whitelist the source of one passed tuple; spamd's greyscan, by prefix.
 * A black source is never whitelisted: its tuples go, as spamd removes a
 * blacklisted source's entries. A prefix that holds a black source is
 * narrowed to the passed host, so no network is whitened over it.
 */
static int whitelist_tuple(struct grey *g, int64_t now, const struct grey_params *p,
			   const struct grey_black *black, const struct passed_tuple *t,
			   size_t *whitelisted)
{
	sqlite3_stmt *s = g->stmt[STMT_WHITEN];
	struct addr_prefix white;
	bool trapped;
	int err = white_prefix(p, &t->ip, &white);

	if (!err)
		err = host_trapped(g, &t->ip, &trapped);
	if (err || trapped)
		return err;
	if (holds_black(black, &t->ip)) {
		err = tuples_delete_range(g, &t->ip);
		return err == -ENOENT ? 0 : err;
	}
	if (white.plen != t->ip.plen && holds_black(black, &white))
		white = t->ip;
	bind_addr_key(s, &white);
	sqlite3_bind_int64(s, 4, t->first);
	sqlite3_bind_int64(s, 5, t->pass);
	sqlite3_bind_int64(s, 6, now + p->whiteexp);
	sqlite3_bind_int(s, 7, t->bcount);
	sqlite3_bind_int(s, 8, t->pcount);
	err = sql_run(s);
	if (!err && sqlite3_changes(g->db)) {
		(*whitelisted)++;
		err = tuples_delete_range(g, &white);
		if (err == -ENOENT) /* an earlier tuple of the prefix took them */
			err = 0;
	}
	return err;
}

static int expire_all(struct grey *g, int64_t now, int64_t whiteexp, size_t *expired)
{
	static const enum grey_stmt counted[] = {STMT_EXPIRE_TUPLES, STMT_EXPIRE_ADDRS};
	static const enum grey_stmt stale[] = {STMT_EXPIRE_CALLBACKS, STMT_EXPIRE_CANDIDATES,
					       STMT_EXPIRE_SOURCES};
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(counted) / sizeof(counted[0]); i++) {
		sqlite3_bind_int64(g->stmt[counted[i]], 1, now);
		err = sql_run(g->stmt[counted[i]]);
		*expired += err ? 0 : (size_t)sqlite3_changes(g->db);
	}
	for (size_t i = 0; !err && i < sizeof(stale) / sizeof(stale[0]); i++) {
		sqlite3_bind_int64(g->stmt[stale[i]], 1, now - whiteexp);
		err = sql_run(g->stmt[stale[i]]);
	}
	return err;
}

struct set_walk {
	struct prefix_list white;
	struct prefix_list trapped;
	struct prefix_list unwhite; /* WHITE entries that hold a black source */
	const struct grey_black *black;
};

static int set_row(void *ctx, const struct grey_entry *e)
{
	struct set_walk *w = ctx;

	if (e->kind == GREY_KIND_TRAPPED)
		return prefix_list_add(&w->trapped, &e->addr);
	if (holds_black(w->black, &e->addr))
		return prefix_list_add(&w->unwhite, &e->addr);
	return prefix_list_add(&w->white, &e->addr);
}

/* spamd's "blacklisted, removing from whitelist", for entries and networks alike. */
static int unwhite_all(struct grey *g, const struct prefix_list *l, size_t *removed)
{
	int err = 0;

	for (size_t i = 0; !err && i < l->count; i++) {
		err = addr_delete(g, &l->items[i], false);
		if (err == -ENOENT)
			err = 0;
		else if (!err)
			(*removed)++;
	}
	return err;
}

int grey_scan(struct grey *g, int64_t now, const struct grey_params *p,
	      const struct grey_black *black, struct grey_sets *out)
{
	struct passed_list passed = {0};
	struct set_walk sets = {.black = black};
	struct entry_walk w = {set_row, &sets, 0};
	sqlite3_stmt *s = g->stmt[STMT_PASSED];
	int err;

	bool own;

	memset(out, 0, sizeof(*out));
	err = store_begin_own(g->st, &own);
	if (err)
		return err;
	err = expire_all(g, now, p->whiteexp, &out->expired);
	if (!err) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, p->passtime);
		err = sql_rows(s, passed_row, &passed);
	}
	for (size_t i = 0; !err && i < passed.count; i++)
		err = whitelist_tuple(g, now, p, black, &passed.items[i], &out->whitelisted);
	if (!err)
		err = sql_rows(g->stmt[STMT_ADDRS_ALL], addr_row, &w);
	if (!err)
		err = unwhite_all(g, &sets.unwhite, &out->unwhitened);
	if (!err) {
		int64_t grey = 0;

		err = sql_row_int64(g->stmt[STMT_TUPLES_COUNT], &grey);
		out->ngrey = (size_t)grey;
	}
	err = store_end_own(g->st, own, err);
	free(passed.items);
	free(sets.unwhite.items);
	if (err) {
		free(sets.white.items);
		free(sets.trapped.items);
		memset(out, 0, sizeof(*out));
		return err;
	}
	/* ADDRS_ALL lists WHITE before TRAPPED, each in address order. */
	out->white = sets.white.items;
	out->nwhite = sets.white.count;
	out->trapped = sets.trapped.items;
	out->ntrapped = sets.trapped.count;
	return 0;
}

void grey_sets_free(struct grey_sets *sets)
{
	free(sets->white);
	free(sets->trapped);
	memset(sets, 0, sizeof(*sets));
}

int grey_candidate_note(struct grey *g, int64_t now, const char *rcpt, const struct addr_prefix *ip)
{
	char norm[TRAP_ADDRESS_MAX + 1];
	int err = normal_address(rcpt, norm);
	sqlite3_stmt *s;
	bool own;

	if (!err && (!valid_prefix(ip) || !addr_is_host(ip)))
		err = -EINVAL;
	if (!err)
		err = store_begin_own(g->st, &own);
	if (err)
		return err;
	s = g->stmt[STMT_CANDIDATE_NOTE];
	bind_text(s, 1, norm);
	sqlite3_bind_int64(s, 2, now);
	err = sql_run(s);
	if (!err) {
		s = g->stmt[STMT_SOURCE_NOTE];
		bind_text(s, 1, norm);
		sqlite3_bind_int64(s, 2, now);
		sql_bind_addr(s, 3, ip);
		err = sql_run(s);
	}
	return store_end_own(g->st, own, err);
}

struct candidate_walk {
	grey_candidate_cb cb;
	grey_source_cb source_cb;
	void *ctx;
};

static int candidate_row(sqlite3_stmt *s, void *ctx)
{
	struct candidate_walk *w = ctx;
	struct grey_candidate c = {
	    .address = sql_column_text(s, 0),
	    .first = sqlite3_column_int64(s, 1),
	    .last = sqlite3_column_int64(s, 2),
	    .hits = sqlite3_column_int(s, 3),
	    .nsources = sqlite3_column_int(s, 4),
	};

	return w->cb(w->ctx, &c);
}

int grey_candidate_foreach(struct grey *g, grey_candidate_cb cb, void *ctx)
{
	struct candidate_walk w = {.cb = cb, .ctx = ctx};

	return sql_rows(g->stmt[STMT_CANDIDATES_ALL], candidate_row, &w);
}

static int source_row(sqlite3_stmt *s, void *ctx)
{
	struct candidate_walk *w = ctx;
	struct grey_candidate_source src;
	int err = sql_column_addr(s, 0, -1, &src.ip);

	if (err)
		return err;
	src.first = sqlite3_column_int64(s, 2);
	src.last = sqlite3_column_int64(s, 3);
	src.hits = sqlite3_column_int(s, 4);
	return w->source_cb(w->ctx, &src);
}

int grey_candidate_sources(struct grey *g, const char *address, grey_source_cb cb, void *ctx)
{
	struct candidate_walk w = {.source_cb = cb, .ctx = ctx};
	char norm[TRAP_ADDRESS_MAX + 1];
	sqlite3_stmt *s = g->stmt[STMT_SOURCES_OF];
	int err = normal_address(address, norm);

	if (err)
		return err;
	bind_text(s, 1, norm);
	err = sql_rows(s, source_row, &w);
	return err;
}

/* Forget a candidate and its sources; -ENOENT if it was not one. */
static int candidate_forget(struct grey *g, const char *address)
{
	int err = run_address(g, STMT_CANDIDATE_DELETE, address, true);

	if (!err)
		err = run_address(g, STMT_SOURCES_DELETE, address, false);
	return err;
}

int grey_candidate_delete(struct grey *g, const char *address)
{
	bool own;
	int err = store_begin_own(g->st, &own);

	return err ? err : store_end_own(g->st, own, candidate_forget(g, address));
}

int grey_candidate_promote(struct grey *g, const char *address)
{
	bool own;
	int err;

	/* Checked first, so that nothing is forgotten for an invalid address. */
	if (!strchr(address, '@'))
		return -EINVAL;
	err = store_begin_own(g->st, &own);
	if (err)
		return err;
	err = candidate_forget(g, address);
	if (!err)
		err = grey_spamtrap_add(g, address);
	return store_end_own(g->st, own, err);
}

int grey_callback_note(struct grey *g, int64_t now, const struct addr_prefix *ip, const char *helo,
		       const char *rcpt, const char *probe_host, int64_t probe_epoch)
{
	sqlite3_stmt *s = g->stmt[STMT_CALLBACK_ADD];

	if (!valid_prefix(ip) || !addr_is_host(ip))
		return -EINVAL;
	sqlite3_bind_int64(s, 1, now);
	sql_bind_addr(s, 2, ip);
	bind_field(s, 4, helo);
	bind_field(s, 5, rcpt);
	bind_field(s, 6, probe_host);
	sqlite3_bind_int64(s, 7, probe_epoch);
	return sql_run(s);
}

struct callback_walk {
	grey_callback_cb cb;
	void *ctx;
};

static int callback_row(sqlite3_stmt *s, void *ctx)
{
	struct callback_walk *w = ctx;
	struct grey_callback c;
	int err = sql_column_addr(s, 1, -1, &c.ip);

	if (err)
		return err;
	c.when = sqlite3_column_int64(s, 0);
	c.helo = sql_column_text(s, 3);
	c.rcpt = sql_column_text(s, 4);
	c.probe_host = sql_column_text(s, 5);
	c.probe_epoch = sqlite3_column_int64(s, 6);
	return w->cb(w->ctx, &c);
}

int grey_callback_foreach(struct grey *g, grey_callback_cb cb, void *ctx)
{
	struct callback_walk w = {cb, ctx};

	return sql_rows(g->stmt[STMT_CALLBACKS_ALL], callback_row, &w);
}
