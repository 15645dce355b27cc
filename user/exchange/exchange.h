/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The table exchange: a table's `exchange { peer "SOURCE" [every D] }`
 * peers publish lists (greywall's own dumps, plain lists, pfctl output,
 * ranges, DShield; the list reader's formats), read every D, at start and
 * on `greywallctl table T exchange`, and merged into the table:
 *
 * - A peer's list is taken whole or not at all: a bad line, a dump whose
 *   header count does not match, a file past the size or entry bound, a
 *   missing or unreadable file keeps the peer's last good copy, and the
 *   table stays as it was.
 * - What a good copy lists and the table lacks is added with evidence
 *   `peer SOURCE` (one evidence row per merge that adds), at the peer's own
 *   time when its format carries one (a _full.txt row's added), so the
 *   table's timeout counts from there: a listing older than the timeout is
 *   not added at all. An entry the table has already is left as it is.
 * - An entry with a peer's evidence that no peer of the table lists any
 *   more is removed, once every peer of the table has a good copy (a peer
 *   not read yet since start might still list it). An entry any other
 *   writer added, or added again after a peer (tables_add() gives it that
 *   writer's evidence), is never removed nor shortened by a peer.
 *
 * A URL peer is fetched by the fetch command (`set fetch`, else the spamd
 * block's fetch) run as the user greywall with no capabilities, a timeout
 * (`set fetch-timeout`) and a byte bound (`set fetch-max-bytes`); its
 * output is spooled into an unnamed file in the state directory and read
 * from there as a peer's file is. A failed fetch (exit status, timeout,
 * too big) is a failed read: the last good copy stays. A fetch whose bytes
 * are the last good copy's (SHA-256) is not read again.
 *
 * Peers are read on a thread of their own (a local file of a million
 * lines takes tens of milliseconds to parse); the merge runs in the event
 * loop once the thread says it is done through an eventfd.
 */
#ifndef __GREYWALL_EXCHANGE_H
#define __GREYWALL_EXCHANGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config/config.h"
#include "lib/addrmap.h"
#include "tables/tables.h"

/* The largest peer file read (bytes): a _full.txt dump of a million entries fits. */
#define EXCHANGE_MAX_BYTES (512LL << 20)

/*
 * Which file a good copy was read from: an unchanged one is not read again.
 * A URL peer's: its size and the SHA-256 of its bytes.
 */
struct exchange_stamp {
	bool valid;
	bool fetched;
	unsigned char digest[32];
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;	/* a file's; a fetched copy's: when it was fetched */
};

/* One read of a peer's list. */
struct exchange_copy {
	/* addr_prefix -> int64_t: the peer's time for it (0: none given). */
	struct addrmap listed;
	size_t entries;
};

struct exchange_peer {
	char table[CONFIG_TABLE_NAME_MAX];
	char *source;
	uint32_t every;
	int64_t next_run;
	bool have_copy;			/* a good copy read since start */
	struct exchange_copy copy;	/* the last good copy */
	struct exchange_stamp stamp;	/* of the file it was read from */
	int64_t last_try;
	int64_t last_good;
	uint64_t reads;
	uint64_t failures;
	char last_error[320];		/* "" after a good read */
	size_t last_added;		/* by the last merge */
	size_t last_removed;
	bool queued;			/* in the running job */
};

/* How URL peers are fetched (lib/fetch.h), in a job of the reader thread. */
struct exchange_fetcher {
	char *command;			/* "curl -sf -- %s"; NULL: URL peers fail */
	char *spool_dir;		/* where the bytes go (an O_TMPFILE file) */
	int timeout_ms;
	uint64_t max_bytes;
	bool drop;			/* run as uid:gid; false with user_err: not at all */
	uid_t uid;
	gid_t gid;
	char user_err[96];		/* why the user could not be looked up */
};

/* A job of the reader thread: the peers due, read one after the other. */
struct exchange_job_item {
	size_t peer;
	char *source;
	struct exchange_stamp prev;	/* the peer's good copy's; unchanged: not read */
	struct exchange_stamp stamp;
	struct exchange_copy copy;
	int ret;
	char err[320];
};

struct exchange_job {
	struct exchange_job_item *items;
	size_t n;
	size_t max_entries;
	struct exchange_fetcher fetcher;
	int done_fd;
};

struct exchange {
	struct exchange_peer *peers;
	size_t npeers;
	size_t max_entries;		/* a peer's list at most: what a table may hold */
	char *fetch;			/* the config's fetch command, or NULL */
	char *state_dir;
	int fetch_timeout_ms;
	uint64_t fetch_max_bytes;
	int done_fd;			/* eventfd: the reader thread finished */
	bool running;
	pthread_t thread;
	struct exchange_job *job;
};

/* What one merge did. */
struct exchange_result {
	size_t added;
	size_t removed;
	size_t refused;			/* table full */
	size_t too_old;			/* listed longer ago than the table's timeout */
};

/*
 * Read one peer's list into copy (initialised here). The whole list or
 * nothing: a bad line, a count mismatch, a bound passed, an I/O error.
 * Returns 0 or -errno with err saying what ("SOURCE:7: reversed range ...").
 */
int exchange_read(const char *source, size_t max_entries, struct exchange_copy *copy, char *err,
		  size_t errlen);
void exchange_copy_free(struct exchange_copy *copy);
/*
 * exchange_read() that first compares the file with prev (the stamp of the
 * last good copy, or NULL): EXCHANGE_UNCHANGED when it is the same file,
 * same size and same modification time, and copy is left empty. stamp
 * gets the file's stamp after a good read.
 */
#define EXCHANGE_UNCHANGED 1
int exchange_read_changed(const char *source, size_t max_entries,
			  const struct exchange_stamp *prev, struct exchange_stamp *stamp,
			  struct exchange_copy *copy, char *err, size_t errlen);

/* Whether a peer's source is a URL (fetched) rather than a path (read). */
bool exchange_source_is_url(const char *source);
/* Whether it is "exec COMMAND": the command's output, run as a fetch is. */
bool exchange_source_is_exec(const char *source);

/*
 * Fetch url with f (or run an exec source's command, "exec COMMAND", with
 * sh -c as f says) and read what came as exchange_read_changed() reads a
 * file: whole or nothing, EXCHANGE_UNCHANGED when the bytes are those of
 * prev's. err says what failed: "URL: exit status 22", "URL: timed out
 * after 120000 ms", "URL: more than N bytes (fetch-max-bytes)", a bad line.
 */
int exchange_fetch(const char *url, const struct exchange_fetcher *f, size_t max_entries,
		   const struct exchange_stamp *prev, struct exchange_stamp *stamp,
		   struct exchange_copy *copy, char *err, size_t errlen);

/*
 * (Re)build the peers from cfg. Peers of the same table and source keep
 * their last good copy and schedule; new ones are due at `now`. A running
 * read is waited for and its results dropped (those peers are due again).
 * Returns 0 or -ENOMEM.
 */
int exchange_configure(struct exchange *x, const struct config *cfg, int64_t now);
/* An exchange with no peers and its eventfd. Returns 0 or -errno. */
int exchange_init(struct exchange *x);
void exchange_free(struct exchange *x);

/*
 * Merge a peer's new good copy (taken over: copy is left empty) into the
 * tables and commit. Returns 0 or -errno of the tables.
 */
int exchange_merge(struct exchange *x, struct tables *t, size_t peer, struct exchange_copy *copy,
		   int64_t now, struct exchange_result *res);

/*
 * Start the reader thread on the peers due at `now`, or, when only is not
 * NULL, on every peer of the table of that name. Returns 1 when started,
 * 0 when nothing is due or a read runs already, -errno.
 */
int exchange_kick(struct exchange *x, const char *only, int64_t now);
/*
 * The reader thread is done (done_fd readable): join it and merge what it
 * read. Returns 0 or -errno of the tables; failures are logged.
 */
int exchange_collect(struct exchange *x, struct tables *t, int64_t now);
/* Wait for a running read, then merge it; for commands and shutdown. */
int exchange_wait(struct exchange *x, struct tables *t, int64_t now);

/*
 * The peers of table `name` that list p, as "SOURCE, SOURCE" into buf.
 * Returns how many.
 */
size_t exchange_holders(const struct exchange *x, const char *name, const struct addr_prefix *p,
			char *buf, size_t len);

/* `greywallctl table T exchange`'s report of table `name`'s peers. */
void exchange_report(const struct exchange *x, const char *name, FILE *out);

#endif /* __GREYWALL_EXCHANGE_H */
