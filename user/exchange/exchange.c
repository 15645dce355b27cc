// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The table exchange: peers' lists read on a thread of their own, merged
 * into the tables in the event loop. exchange.h states the merge's rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exchange/exchange.h"
#include "lib/array.h"
#include "lib/fetch.h"
#include "lib/log.h"
#include "spamd/privsep.h"
#include "spamd/spamd_child.h"
#include "tables/listformat.h"

struct read_ctx {
	struct exchange_copy *copy;
};

static int read_entry(void *ctx, const struct listformat_entry *e)
{
	struct read_ctx *c = ctx;
	int created;
	int64_t *when = addrmap_put(&c->copy->listed, &e->prefix, &created);

	if (!when)
		return -ENOMEM;
	if (created) {
		*when = e->added;
		c->copy->entries++;
	} else if (e->added > *when) {
		/* Listed twice: the later time is the peer's latest word on it. */
		*when = e->added;
	}
	return 0;
}

void exchange_copy_free(struct exchange_copy *copy)
{
	addrmap_free(&copy->listed);
	memset(copy, 0, sizeof(*copy));
}

static void stamp_of(const struct stat *sb, struct exchange_stamp *out)
{
	*out = (struct exchange_stamp){ .valid = true, .dev = sb->st_dev, .ino = sb->st_ino,
					.size = sb->st_size,
					.mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 +
						    sb->st_mtim.tv_nsec };
}

static bool stamp_equal(const struct exchange_stamp *a, const struct exchange_stamp *b)
{
	return a->valid && b->valid && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int exchange_read(const char *source, size_t max_entries, struct exchange_copy *copy, char *err,
		  size_t errlen)
{
	return exchange_read_changed(source, max_entries, NULL, NULL, copy, err, errlen);
}

/*
 * Read the list in fd (a regular file of size bytes, at its start) into
 * copy, initialised by the caller. Nothing at all is a publisher that
 * failed, not an empty table.
 */
static int read_opened(int fd, const char *source, off_t size, size_t max_entries,
		       struct exchange_copy *copy, char *err, size_t errlen)
{
	struct listformat_options opts = { .mode = LISTFORMAT_ANY,
					   .max_size = EXCHANGE_MAX_BYTES,
					   .max_entries = max_entries };
	struct listformat_stats st;
	struct read_ctx ctx = { copy };
	/*
	 * One allocation up front instead of a dozen doublings: a plain list
	 * has a dozen or more bytes a line, never more entries than the bound.
	 */
	size_t guess = (size_t)size / 12 + 16;
	int ret;

	if (size == 0) {
		snprintf(err, errlen, "%s: empty file", source);
		return -ENODATA;
	}
	addrmap_reserve(&copy->listed, max_entries && guess > max_entries ? max_entries : guess);
	ret = listformat_read_fd(fd, source, &opts, read_entry, &ctx, &st, err, errlen);
	if (!ret && st.bad_lines)
		ret = -EBADMSG;
	if (ret == -E2BIG)
		snprintf(err, errlen, "%s: more than %zu entries", source, max_entries);
	else if (ret && !err[0])
		snprintf(err, errlen, "%s: %s", source, strerror(-ret));
	return ret;
}

int exchange_read_changed(const char *source, size_t max_entries,
			  const struct exchange_stamp *prev, struct exchange_stamp *stamp,
			  struct exchange_copy *copy, char *err, size_t errlen)
{
	struct exchange_stamp now;
	struct stat sb;
	int fd, ret;

	err[0] = '\0';
	memset(copy, 0, sizeof(*copy));
	ret = addrmap_init(&copy->listed, sizeof(int64_t));
	if (ret)
		return ret;
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the reader. */
	fd = open(source, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", source, strerror(-ret));
		goto fail;
	}
	if (fstat(fd, &sb)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", source, strerror(-ret));
	} else if (!S_ISREG(sb.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", source);
	} else if (sb.st_size > EXCHANGE_MAX_BYTES) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: %lld bytes, more than %lld", source,
			 (long long)sb.st_size, (long long)EXCHANGE_MAX_BYTES);
	} else if (stamp_of(&sb, &now),
		   prev && stamp_equal(prev, &now)) {
		ret = EXCHANGE_UNCHANGED;
	} else {
		ret = read_opened(fd, source, sb.st_size, max_entries, copy, err, errlen);
	}
	close(fd);
	if (!ret && stamp)
		*stamp = now;
	if (!ret)
		return 0;
fail:
	exchange_copy_free(copy);
	return ret;
}

bool exchange_source_is_url(const char *source)
{
	return !strncmp(source, "http://", 7) || !strncmp(source, "https://", 8);
}

bool exchange_source_is_exec(const char *source)
{
	return !strncmp(source, "exec ", 5);
}

/* Where a fetch's output goes: the spool file, bounded, and its digest. */
struct spool {
	int fd;
	uint64_t bytes, max_bytes;
	EVP_MD_CTX *md;
};

static int spool_write(void *ctx, const unsigned char *data, size_t len, char *err,
		       size_t errlen)
{
	struct spool *sp = ctx;

	(void)err;
	(void)errlen;
	if (len > sp->max_bytes - sp->bytes)
		return -EFBIG;
	sp->bytes += len;
	if (!EVP_DigestUpdate(sp->md, data, len))
		return -ENOMEM;
	while (len) {
		ssize_t n = write(sp->fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int exchange_fetch(const char *url, const struct exchange_fetcher *f, size_t max_entries,
		   const struct exchange_stamp *prev, struct exchange_stamp *stamp,
		   struct exchange_copy *copy, char *err, size_t errlen)
{
	struct fetch_run run = { .timeout_ms = f->timeout_ms, .drop = f->drop, .uid = f->uid,
				 .gid = f->gid };
	struct spool sp = { .fd = -1, .max_bytes = f->max_bytes };
	struct exchange_stamp now = { .valid = true, .fetched = true };
	/* A conditional fetch (a %t in the fetcher) asks for what is newer than the last good copy. */
	bool conditional = f->command && !exchange_source_is_exec(url) &&
			   fetch_command_has_since(f->command) && prev && prev->valid && prev->fetched;
	char why[256], since[64] = "";
	struct timespec ts;
	unsigned int dlen = 0;
	int ret;

	err[0] = '\0';
	memset(copy, 0, sizeof(*copy));
	ret = addrmap_init(&copy->listed, sizeof(int64_t));
	if (ret)
		return ret;
	if (!f->command && !exchange_source_is_exec(url)) {
		ret = -ENOPROTOOPT;
		snprintf(err, errlen, "%s: no fetch command", url);
		goto out;
	}
	if (!f->spool_dir) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: no state directory to spool in", url);
		goto out;
	}
	if (!f->drop) {
		ret = -EPERM;
		snprintf(err, errlen, "%s: not fetched, %s", url, f->user_err);
		goto out;
	}
	sp.md = EVP_MD_CTX_new();
	if (!sp.md || !EVP_DigestInit_ex(sp.md, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	/* An unnamed file: nothing is left behind, whatever happens. */
	sp.fd = open(f->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp.fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: spooling in %s: %s", url, f->spool_dir, strerror(-ret));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now.mtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (conditional) {
		time_t t = (time_t)(prev->mtime_ns / 1000000000);
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(since, sizeof(since), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	}
	if (exchange_source_is_exec(url)) {
		/* As the blacklists' exec sources: sh -c, as greywall, bounded alike. */
		char *argv[] = { "sh", "-c", (char *)url + 5, NULL };

		ret = fetch_run("/bin/sh", argv, &run, spool_write, &sp, why, sizeof(why));
	} else {
		ret = fetch_url_since(f->command, url, since[0] ? since : NULL, &run, spool_write,
				      &sp, why, sizeof(why));
	}
	if (ret == -EFBIG) {
		snprintf(err, errlen, "%s: more than %llu bytes (fetch-max-bytes)", url,
			 (unsigned long long)f->max_bytes);
		goto out;
	}
	if (ret) {
		snprintf(err, errlen, "%s: %s", url, why[0] ? why : strerror(-ret));
		goto out;
	}
	/* Nothing newer than the last good copy: a conditional fetch writes nothing (curl on a 304). */
	if (conditional && !sp.bytes) {
		ret = EXCHANGE_UNCHANGED;
		goto out;
	}
	if (!EVP_DigestFinal_ex(sp.md, now.digest, &dlen) || dlen != sizeof(now.digest)) {
		ret = -ENOMEM;
		goto out;
	}
	now.size = (off_t)sp.bytes;
	if (prev && prev->valid && prev->fetched && prev->size == now.size &&
	    !memcmp(prev->digest, now.digest, sizeof(now.digest))) {
		ret = EXCHANGE_UNCHANGED;
		goto out;
	}
	if (lseek(sp.fd, 0, SEEK_SET) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", url, strerror(-ret));
		goto out;
	}
	ret = read_opened(sp.fd, url, now.size, max_entries, copy, err, errlen);
	if (!ret && stamp)
		*stamp = now;
out:
	if (sp.fd >= 0)
		close(sp.fd);
	EVP_MD_CTX_free(sp.md);
	if (ret)
		exchange_copy_free(copy);
	if (ret && ret != EXCHANGE_UNCHANGED && !err[0])
		snprintf(err, errlen, "%s: %s", url, strerror(-ret));
	return ret;
}

int exchange_init(struct exchange *x)
{
	memset(x, 0, sizeof(*x));
	x->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return x->done_fd < 0 ? -errno : 0;
}

static void job_free(struct exchange_job *job)
{
	if (!job)
		return;
	free(job->fetcher.command);
	free(job->fetcher.spool_dir);
	for (size_t i = 0; i < job->n; i++) {
		free(job->items[i].source);
		exchange_copy_free(&job->items[i].copy);
	}
	free(job->items);
	free(job);
}

/* Join a running read; the job is left in x->job for the caller. */
static void join_reader(struct exchange *x)
{
	uint64_t v;

	if (!x->running)
		return;
	pthread_join(x->thread, NULL);
	x->running = false;
	/* The thread's word, read so the descriptor is quiet again. */
	if (read(x->done_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("exchange: reading its eventfd: %s", strerror(errno));
}

static void peer_free(struct exchange_peer *p)
{
	free(p->source);
	exchange_copy_free(&p->copy);
}

/* The config's fetch command, `set fetch`'s first, and its bounds. */
static int exchange_configure_fetch(struct exchange *x, const struct config *cfg)
{
	const char *command = cfg->fetch ? cfg->fetch : cfg->spamd ? cfg->spamd->fetch : NULL;
	char *fetch = command ? strdup(command) : NULL;
	char *state_dir = strdup(cfg->state_dir);

	if ((command && !fetch) || !state_dir) {
		free(fetch);
		free(state_dir);
		return -ENOMEM;
	}
	free(x->fetch);
	free(x->state_dir);
	x->fetch = fetch;
	x->state_dir = state_dir;
	x->fetch_timeout_ms = (int)cfg->fetch_timeout * 1000;
	x->fetch_max_bytes = cfg->fetch_max_bytes;
	return 0;
}

int exchange_configure(struct exchange *x, const struct config *cfg, int64_t now)
{
	struct exchange_peer *next = NULL;
	size_t n = 0, cap = 0;

	/* Peer indexes are about to change: a read in flight is dropped. */
	join_reader(x);
	job_free(x->job);
	x->job = NULL;
	for (size_t i = 0; i < cfg->ntables; i++) {
		const struct config_table *tab = &cfg->tables[i];

		for (size_t k = 0; k < tab->npeers; k++) {
			struct exchange_peer *p = NULL;

			if (array_room(&next, &cap, n + 1, sizeof(*next), 8))
				goto nomem;
			/* The same table and source keep their copy and schedule. */
			for (size_t o = 0; o < x->npeers && !p; o++)
				if (x->peers[o].source && !strcmp(x->peers[o].table, tab->name) &&
				    !strcmp(x->peers[o].source, tab->peers[k].source))
					p = &x->peers[o];
			if (p) {
				next[n] = *p;
				memset(p, 0, sizeof(*p));
			} else {
				next[n] = (struct exchange_peer){ .next_run = now };
				snprintf(next[n].table, sizeof(next[n].table), "%s", tab->name);
				next[n].source = strdup(tab->peers[k].source);
				if (!next[n].source)
					goto nomem;
			}
			if (next[n].every != tab->peers[k].every && next[n].every)
				next[n].next_run = now;
			next[n].every = tab->peers[k].every;
			next[n].queued = false;
			n++;
		}
	}
	for (size_t o = 0; o < x->npeers; o++)
		peer_free(&x->peers[o]);
	free(x->peers);
	x->peers = next;
	x->npeers = n;
	x->max_entries = (size_t)cfg->limit_table_hosts + cfg->limit_table_prefixes;
	return exchange_configure_fetch(x, cfg);
nomem:
	for (size_t i = 0; i < n; i++)
		peer_free(&next[i]);
	free(next);
	return -ENOMEM;
}

void exchange_free(struct exchange *x)
{
	join_reader(x);
	job_free(x->job);
	for (size_t i = 0; i < x->npeers; i++)
		peer_free(&x->peers[i]);
	free(x->peers);
	free(x->fetch);
	free(x->state_dir);
	if (x->done_fd >= 0)
		close(x->done_fd);
	memset(x, 0, sizeof(*x));
	x->done_fd = -1;
}

/* Whether a peer of table `name` other than `except` lists p. */
static bool listed_elsewhere(const struct exchange *x, const char *name, size_t except,
			     const struct addr_prefix *p)
{
	for (size_t i = 0; i < x->npeers; i++)
		if (i != except && !strcmp(x->peers[i].table, name) &&
		    addrmap_get(&x->peers[i].copy.listed, p))
			return true;
	return false;
}

static bool all_have_copies(const struct exchange *x, const char *name)
{
	for (size_t i = 0; i < x->npeers; i++)
		if (!strcmp(x->peers[i].table, name) && !x->peers[i].have_copy)
			return false;
	return true;
}

/* What the new copy lists and the table lacks goes in, with the peer's evidence. */
static int merge_additions(struct exchange_peer *p, struct tables *t, int idx,
			   const struct exchange_copy *copy, int64_t now,
			   struct exchange_result *res)
{
	const struct table *tb = &t->table[idx];
	const struct addr_prefix *key;
	int64_t evidence = 0;
	void *value;

	for (size_t pos = 0; addrmap_next(&copy->listed, &pos, &key, &value);) {
		int64_t when = *(int64_t *)value, added;
		int ret;

		if (tables_entry(t, idx, key))
			continue;
		/* The peer's time, never one in our future. */
		added = when > 0 && when <= now ? when : now;
		if (tb->timeout && now - added > (int64_t)tb->timeout) {
			res->too_old++;
			continue;
		}
		if (!evidence) {
			evidence = tables_peer_evidence(t, p->source, now);
			if (evidence < 0)
				return (int)evidence;
		}
		ret = tables_add(t, idx, key, evidence, added);
		if (ret > 0)
			res->added++;
		else if (ret == -ENOSPC)
			res->refused++;
		else if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Entries only peers gave that no peer of the table lists any more leave.
 * Only once every peer of the table has a good copy: one not read yet may
 * list them still.
 */
static int merge_removals(struct exchange *x, size_t peer, struct tables *t, int idx,
			  int64_t now, struct exchange_result *res)
{
	const struct exchange_peer *p = &x->peers[peer];
	const struct table *tb = &t->table[idx];
	struct addr_list gone = { 0 };
	const struct addr_prefix *key;
	int64_t evidence = 0;
	void *value;
	int ret = 0;

	if (!all_have_copies(x, p->table))
		return 0;
	for (size_t pos = 0; addrmap_next(&tb->entries, &pos, &key, &value);) {
		const struct entry_meta *m = value;

		if (!tables_evidence_is_peer(t, m->evidence_id) ||
		    addrmap_get(&p->copy.listed, key) || listed_elsewhere(x, p->table, peer, key))
			continue;
		ret = addr_list_push(&gone, key);
		if (ret)
			goto out;
	}
	for (size_t i = 0; i < gone.n; i++) {
		if (!evidence) {
			char detail[sizeof(((struct evidence *)0)->detail)];

			snprintf(detail, sizeof(detail), "%s: no peer lists it any more", p->source);
			evidence = tables_evidence(t, "peer", detail, now);
			if (evidence < 0) {
				ret = (int)evidence;
				goto out;
			}
		}
		ret = tables_delete(t, idx, &gone.items[i], "delete", evidence, now);
		if (ret < 0)
			goto out;
		res->removed += (size_t)ret;
		ret = 0;
	}
out:
	addr_list_free(&gone);
	return ret;
}

int exchange_merge(struct exchange *x, struct tables *t, size_t peer, struct exchange_copy *copy,
		   int64_t now, struct exchange_result *res)
{
	struct exchange_peer *p = &x->peers[peer];
	int idx = tables_find(t, p->table), ret, commit;

	memset(res, 0, sizeof(*res));
	/* The copy is the peer's last good one now, whatever the tables say. */
	exchange_copy_free(&p->copy);
	p->copy = *copy;
	memset(copy, 0, sizeof(*copy));
	p->have_copy = true;
	if (idx < 0)
		return 0;
	ret = merge_additions(p, t, idx, &p->copy, now, res);
	if (!ret)
		ret = merge_removals(x, peer, t, idx, now, res);
	commit = tables_commit(t);
	p->last_added = res->added;
	p->last_removed = res->removed;
	return ret ? ret : commit;
}

static void *reader_thread(void *arg)
{
	struct exchange_job *job = arg;
	uint64_t one = 1;

	for (size_t i = 0; i < job->n; i++) {
		struct exchange_job_item *it = &job->items[i];

		if (exchange_source_is_url(it->source) || exchange_source_is_exec(it->source))
			it->ret = exchange_fetch(it->source, &job->fetcher, job->max_entries,
						 &it->prev, &it->stamp, &it->copy, it->err,
						 sizeof(it->err));
		else
			it->ret = exchange_read_changed(it->source, job->max_entries, &it->prev,
							&it->stamp, &it->copy, it->err,
							sizeof(it->err));
	}
	if (write(job->done_fd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only on overflow; the join still happens. */
	}
	return NULL;
}

/*
 * The job's copy of how URLs are fetched; the user is looked up here, in
 * the loop's thread (getpwnam() is not thread-safe), and again at every
 * job: a user created after start counts.
 */
static int job_fetcher(const struct exchange *x, struct exchange_job *job)
{
	struct exchange_fetcher *f = &job->fetcher;
	int ret;

	f->timeout_ms = x->fetch_timeout_ms;
	f->max_bytes = x->fetch_max_bytes;
	f->command = x->fetch ? strdup(x->fetch) : NULL;
	f->spool_dir = x->state_dir ? strdup(x->state_dir) : NULL;
	if ((x->fetch && !f->command) || (x->state_dir && !f->spool_dir))
		return -ENOMEM;
	ret = privsep_lookup(SPAMD_CHILD_USER, &f->uid, &f->gid);
	if (ret)
		snprintf(f->user_err, sizeof(f->user_err), "user \"%s\": %s", SPAMD_CHILD_USER,
			 ret == -ENOENT ? "no such user" : strerror(-ret));
	f->drop = !ret;
	return 0;
}

int exchange_kick(struct exchange *x, const char *only, int64_t now)
{
	struct exchange_job *job;
	size_t cap = 0;
	int ret;

	if (x->running || x->job)
		return 0;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->max_entries = x->max_entries;
	job->done_fd = x->done_fd;
	ret = job_fetcher(x, job);
	if (ret) {
		job_free(job);
		return ret;
	}
	for (size_t i = 0; i < x->npeers; i++) {
		struct exchange_peer *p = &x->peers[i];
		struct exchange_job_item *it;

		if (only ? strcmp(p->table, only) : p->next_run > now)
			continue;
		if (array_room(&job->items, &cap, job->n + 1, sizeof(*job->items), 4))
			goto nomem;
		it = &job->items[job->n];
		memset(it, 0, sizeof(*it));
		it->peer = i;
		it->source = strdup(p->source);
		if (!it->source)
			goto nomem;
		if (p->have_copy)
			it->prev = p->stamp;
		job->n++;
		p->queued = true;
		p->last_try = now;
	}
	if (!job->n) {
		job_free(job);
		return 0;
	}
	ret = pthread_create(&x->thread, NULL, reader_thread, job);
	if (ret) {
		job_free(job);
		for (size_t i = 0; i < x->npeers; i++)
			x->peers[i].queued = false;
		return -ret;
	}
	x->job = job;
	x->running = true;
	return 1;
nomem:
	job_free(job);
	for (size_t i = 0; i < x->npeers; i++)
		x->peers[i].queued = false;
	return -ENOMEM;
}

/* Merge what the finished job read; log each peer's outcome once. */
static int apply_job(struct exchange *x, struct tables *t, int64_t now)
{
	struct exchange_job *job = x->job;
	int first = 0;

	x->job = NULL;
	for (size_t i = 0; job && i < job->n; i++) {
		struct exchange_job_item *it = &job->items[i];
		struct exchange_peer *p = &x->peers[it->peer];
		struct exchange_result res;
		int ret;

		p->queued = false;
		p->reads++;
		p->next_run = now + p->every;
		if (it->ret == EXCHANGE_UNCHANGED) {
			/* Nothing new from it: what it gave is in, what it dropped is out. */
			p->last_error[0] = '\0';
			p->last_good = now;
			p->last_added = p->last_removed = 0;
			continue;
		}
		if (it->ret) {
			p->failures++;
			snprintf(p->last_error, sizeof(p->last_error), "%s", it->err);
			log_warn("exchange <%s>: peer %s refused, %s; %s", p->table, p->source,
				 it->err,
				 p->have_copy ? "its last good copy stays"
					      : "nothing from it until a good copy");
			continue;
		}
		p->last_error[0] = '\0';
		p->last_good = now;
		ret = exchange_merge(x, t, it->peer, &it->copy, now, &res);
		/* A merge that failed is done again at the next read, changed or not. */
		p->stamp = it->stamp;
		p->stamp.valid = !ret;
		if (ret) {
			log_err("exchange <%s>: peer %s: merging: %s", p->table, p->source,
				strerror(-ret));
			if (!first)
				first = ret;
			continue;
		}
		log_info("exchange <%s>: peer %s lists %zu: %zu added, %zu removed%s", p->table,
			 p->source, p->copy.entries, res.added, res.removed,
			 res.refused ? " (some refused: table full)" : "");
	}
	job_free(job);
	return first;
}

int exchange_collect(struct exchange *x, struct tables *t, int64_t now)
{
	join_reader(x);
	return apply_job(x, t, now);
}

int exchange_wait(struct exchange *x, struct tables *t, int64_t now)
{
	return exchange_collect(x, t, now);
}

size_t exchange_holders(const struct exchange *x, const char *name, const struct addr_prefix *p,
			char *buf, size_t len)
{
	size_t n = 0, used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < x->npeers; i++) {
		int w;

		if (strcmp(x->peers[i].table, name) || !addrmap_get(&x->peers[i].copy.listed, p))
			continue;
		if (used < len) {
			w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "",
				     x->peers[i].source);
			used += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

void exchange_report(const struct exchange *x, const char *name, FILE *out)
{
	for (size_t i = 0; i < x->npeers; i++) {
		const struct exchange_peer *p = &x->peers[i];

		if (strcmp(p->table, name))
			continue;
		fprintf(out, "peer %s: ", p->source);
		if (p->last_error[0])
			fprintf(out, "refused, %s; ", p->last_error);
		if (p->have_copy)
			fprintf(out, "lists %zu, %zu added, %zu removed\n", p->copy.entries,
				p->last_error[0] ? 0 : p->last_added,
				p->last_error[0] ? 0 : p->last_removed);
		else
			fprintf(out, "no good copy yet\n");
	}
}
