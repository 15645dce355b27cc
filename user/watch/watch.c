// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The log watchers in greywalld's event loop (watch.h). One inotify
 * descriptor serves every watched file; each journal has its own. A line
 * goes through the watcher's pattern; a failure with a source address is
 * judged (ignore table, trap name, threshold) and a source to list goes
 * through tables_evidence()/tables_add(), committed once per piece read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "spamd/spamd.h"
#include "spamd/trap.h"
#include "tables/dump.h"
#include "watch/attempts.h"
#include "watch/count.h"
#include "watch/follow.h"
#include "watch/internal.h"
#include "watch/journal.h"
#include "watch/pattern.h"
#include "watch/watch.h"
#include "watch/watch_store.h"

/* What a line handler needs. */
struct line_ctx {
	struct daemon *d;
	struct watcher *w;
	int64_t now;
};

static void epoll_add(struct watch_set *ws, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (ws->epoll_fd >= 0 && fd >= 0 && epoll_ctl(ws->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		log_err("watch: epoll: %s", strerror(errno));
}

static void epoll_del(struct watch_set *ws, int fd)
{
	if (ws->epoll_fd >= 0 && fd >= 0)
		epoll_ctl(ws->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static int table_of(struct daemon *d, int cfg_index)
{
	if (cfg_index < 0 || (size_t)cfg_index >= d->cfg.ntables)
		return -1;
	return tables_find(&d->tables, d->cfg.tables[cfg_index].name);
}

static const char *table_name(struct daemon *d, int cfg_index)
{
	return cfg_index >= 0 ? d->cfg.tables[cfg_index].name : "";
}

/* A login name is a trap: a name of the set, or a whole spamtrap address. */
bool watch_is_trap(struct daemon *d, const char *user)
{
	char norm[TRAP_ADDRESS_MAX + 1];

	if (trap_normalize(user, norm, sizeof(norm)) < 0)
		return false;
	if (trap_set_contains(d->watch->names, norm))
		return true;
	return strchr(norm, '@') && d->spamd && d->spamd->spamtraps &&
	       trap_set_contains(d->spamd->spamtraps, norm);
}

/*
 * Put src into the table at cfg_index with the line as evidence. The
 * evidence names the watcher and the rule; the line is kept as read (it is
 * escaped on output) and cut to what the evidence holds.
 */
static void list_source(struct line_ctx *c, int cfg_index, const struct addr_prefix *src,
			const char *rule, const char *line, size_t len, uint64_t *listed)
{
	struct daemon *d = c->d;
	struct watcher *w = c->w;
	int idx = table_of(d, cfg_index);
	char detail[sizeof(((struct evidence *)0)->detail)], addr[ADDR_STRLEN];
	int64_t ev;
	int n, ret;

	if (idx < 0)
		return;
	addr_format(src, addr, sizeof(addr));
	n = snprintf(detail, sizeof(detail), "%s: %s: ", w->name, rule);
	if (n > 0 && (size_t)n < sizeof(detail)) {
		size_t room = sizeof(detail) - 1 - (size_t)n;

		if (len > room)
			len = room;
		memcpy(detail + n, line, len);
		detail[(size_t)n + len] = '\0';
	}
	ev = tables_evidence(&d->tables, "log", detail, c->now);
	if (ev < 0)
		log_err("watch %s: %s: evidence not stored: %s", w->name, addr, strerror((int)-ev));
	ret = tables_add(&d->tables, idx, src, ev < 0 ? 0 : ev, c->now);
	d->watch->commit = true;
	if (ret > 0) {
		(*listed)++;
		log_info("watch %s: %s added to <%s>: %s", w->name, addr, table_name(d, cfg_index),
			 rule);
	} else if (ret == 0) {
		w->st.already++;
	} else {
		w->st.refused++;
		log_err("watch %s: %s not added to <%s>: %s", w->name, addr,
			table_name(d, cfg_index), strerror(-ret));
	}
}

static void threshold_rule(const struct watcher *w, char *buf, size_t len)
{
	const struct config_watch *cw = w->cfg;
	char first[32], last[32];

	dump_format_time(w->times[0], first, sizeof(first));
	dump_format_time(w->times[cw->threshold - 1], last, sizeof(last));
	snprintf(buf, len, "%" PRIu32 " failures within %" PRIu32 "s (first %s, last %s)",
		 cw->threshold, cw->window, first, last);
}

/*
 * Whether the failure is another line of a connection counted already
 * (within the window): sshd writes up to three lines for one.
 */
static bool seen_connection(struct watcher *w, const struct watch_match *m, int64_t now)
{
	uint32_t h = m->port * 2654435761u;
	struct conn_seen *slot;

	if (!m->port)
		return false;
	for (size_t i = 0; i < sizeof(m->source.bytes); i++)
		h = (h ^ m->source.bytes[i]) * 16777619u;
	slot = &w->conns[h % CONN_SLOTS];
	if (slot->port == m->port && addr_equal(&slot->src, &m->source) &&
	    now - slot->when < (int64_t)(w->cfg->window ? w->cfg->window : WATCH_DAY))
		return true;
	slot->src = m->source;
	slot->port = m->port;
	slot->when = now;
	return false;
}

static void on_line(const char *line, size_t len, void *ctx)
{
	struct line_ctx *c = ctx;
	struct watcher *w = c->w;
	const struct config_watch *cw = w->cfg;
	struct watch_match m;
	char rule[160];
	int ignore = table_of(c->d, cw->ignore_table), ret;
	bool trap;

	w->st.lines++;
	w->unsaved = true;
	ret = watch_pattern_match(w->pat, line, len, &m);
	if (ret < 0)
		w->st.match_errors++;
	if (ret <= 0)
		return;
	w->st.matched++;
	if (ignore >= 0 && (tables_lookup(&c->d->tables, &m.source) & (1ull << ignore))) {
		w->st.ignored++;
		watch_count_forget(w->count, &m.source);
		return;
	}
	trap = m.has_user && !m.user_cut && watch_is_trap(c->d, m.user);
	if (trap) {
		w->st.traps++;
		if (cw->trap_table >= 0) {
			/* The name goes into the evidence escaped as the line is, on output. */
			snprintf(rule, sizeof(rule), "trap user %.100s", m.user);
			list_source(c, cw->trap_table, &m.source, rule, line, len,
				    &w->st.listed_trap);
			watch_count_forget(w->count, &m.source);
			return;
		}
	}
	if (seen_connection(w, &m, c->now)) {
		w->st.same_connection++;
		return;
	}
	/* Published as counted: one per connection, traps listed at once aside. */
	if (watch_attempts_note(w->attempts, &m.source, m.has_user ? m.user : "", c->now))
		w->st.match_errors++;
	if (!trap && m.has_user && m.user[0] && !m.user_cut) {
		ret = watch_count_user(w->count, m.user, &m.source, c->now);
		if (ret)
			w->st.match_errors++;
	}
	ret = watch_count_failure(w->count, &m.source, c->now, w->times);
	if (ret > 0 && cw->threshold && cw->fail_table >= 0) {
		threshold_rule(w, rule, sizeof(rule));
		list_source(c, cw->fail_table, &m.source, rule, line, len, &w->st.listed_failures);
	} else if (ret < 0) {
		w->st.match_errors++;
	}
}

static void commit(struct daemon *d)
{
	int ret;

	if (!d->watch->commit)
		return;
	d->watch->commit = false;
	ret = tables_commit(&d->tables);
	if (ret)
		log_err("watch: writing the tables: %s", strerror(-ret));
}

/*
 * Read one watcher's pending lines, a budget's worth. True while more waits.
 * journal_woke: the journal's descriptor woke the loop. journal_ready()
 * only knows of entries it has seen; new ones are found by journal_read(),
 * which also acknowledges the wakeup (without it the descriptor stays
 * readable and the loop spins).
 */
static bool read_watcher(struct daemon *d, struct watcher *w, bool journal_woke)
{
	struct line_ctx c = { .d = d, .w = w, .now = (int64_t)time(NULL) };
	bool more = false;

	for (size_t i = 0; i < w->nfiles; i++) {
		if (!follow_ready(w->files[i]))
			continue;
		if (follow_read(w->files[i], READ_BUDGET, on_line, &c) < 0)
			w->st.read_errors++;
		more |= follow_ready(w->files[i]);
	}
	if (w->journal && (journal_woke || journal_ready(w->journal))) {
		if (journal_read(w->journal, JOURNAL_BUDGET, on_line, &c) < 0)
			w->st.read_errors++;
		more |= journal_ready(w->journal);
	}
	commit(d);
	return more;
}

static void save_positions(struct daemon *d, struct watcher *w)
{
	struct watch_store *st = d->watch->store;
	int ret = 0;

	if (!st || !w->unsaved)
		return;
	for (size_t i = 0; i < w->nfiles && !ret; i++) {
		struct follow_pos pos;

		follow_position(w->files[i], &pos);
		ret = watch_store_put_file(st, w->name, follow_path(w->files[i]), &pos);
	}
	if (!ret && w->journal)
		ret = watch_store_put_cursor(st, w->name, journal_cursor(w->journal));
	if (ret)
		log_err("watch %s: saving positions: %s", w->name, strerror(-ret));
	else
		w->unsaved = false;
}

static void watcher_free(struct watch_set *ws, struct watcher *w)
{
	for (size_t i = 0; i < w->nfiles; i++)
		follow_free(w->files[i]);
	free(w->files);
	if (w->journal) {
		epoll_del(ws, w->journal_fd);
		journal_free(w->journal);
	}
	watch_count_free(w->count);
	watch_attempts_free(w->attempts);
	watch_pattern_free(w->pat);
	free(w->times);
	free(w->conns);
	memset(w, 0, sizeof(*w));
}

static bool same_sources(const struct config_watch *a, const struct config_watch *b)
{
	if (a->nfiles != b->nfiles || a->journal != b->journal || a->nunits != b->nunits ||
	    !a->journal_dir != !b->journal_dir ||
	    (a->journal_dir && strcmp(a->journal_dir, b->journal_dir)))
		return false;
	for (size_t i = 0; i < a->nfiles; i++)
		if (strcmp(a->files[i], b->files[i]))
			return false;
	for (size_t i = 0; i < a->nunits; i++)
		if (strcmp(a->units[i], b->units[i]))
			return false;
	return true;
}

static bool same_counting(const struct config_watch *a, const struct config_watch *b)
{
	return a->threshold == b->threshold && a->window == b->window &&
	       a->max_sources == b->max_sources;
}

/*
 * Open the watcher's journal and register its descriptor, continuing after
 * the stored cursor; without one, after the last entry there now, or from
 * the first when late (its directory appeared after the start). A stored
 * cursor the journal does not take (-EINVAL) is forgotten, with a
 * warning: the journal is followed from its end. Returns 0 or -errno, also kept in
 * journal_err for watch show (-ENOENT: the directory is not there yet);
 * watch_periodic() tries again each second.
 */
static int open_journal(struct watch_set *ws, struct watcher *w, bool late)
{
	const struct config_watch *cw = w->cfg;
	char cursor[JOURNAL_CURSOR_MAX] = "";
	bool saved = ws->store &&
		     !watch_store_get_cursor(ws->store, w->name, cursor, sizeof(cursor)) &&
		     cursor[0];
	const char *dir = cw->journal_dir ? cw->journal_dir : "";
	const char *sep = cw->journal_dir ? " " : "";
	int ret;

	ret = journal_new(&w->journal, cw->journal_dir, cw->units, cw->nunits,
			  saved || late ? cursor : NULL);
	if (ret == -EINVAL && saved) {
		log_warn("watch %s: journal%s%s: the stored cursor: %s; following from its end",
			 w->name, sep, dir, strerror(-ret));
		ret = journal_new(&w->journal, cw->journal_dir, cw->units, cw->nunits, NULL);
	}
	if (!ret) {
		w->journal_fd = journal_fd(w->journal);
		ret = w->journal_fd < 0 ? w->journal_fd : 0;
	}
	if (ret) {
		journal_free(w->journal);
		w->journal = NULL;
		w->journal_fd = -1;
		w->journal_err = ret;
		return ret;
	}
	w->journal_err = 0;
	epoll_add(ws, w->journal_fd);
	return 0;
}

static int open_sources(struct daemon *d, struct watcher *w, char *err, size_t errlen)
{
	const struct config_watch *cw = w->cfg;
	struct watch_set *ws = d->watch;
	int ret;

	w->files = calloc(cw->nfiles ? cw->nfiles : 1, sizeof(*w->files));
	if (!w->files)
		return -ENOMEM;
	for (size_t i = 0; i < cw->nfiles; i++) {
		struct follow_pos pos;
		bool saved = ws->store &&
			     !watch_store_get_file(ws->store, w->name, cw->files[i], &pos);

		ret = follow_new(&w->files[i], ws->inotify_fd, cw->files[i], saved ? &pos : NULL);
		if (ret) {
			snprintf(err, errlen, "watch %s: file \"%s\": %s", w->name, cw->files[i],
				 strerror(-ret));
			return ret;
		}
		w->nfiles++;
	}
	if (cw->journal) {
		const char *dir = cw->journal_dir ? cw->journal_dir : "";
		const char *sep = cw->journal_dir ? " " : "";

		/*
		 * A journal that cannot be opened (its directory is not there
		 * yet: systemd-journal-remote has not written one) keeps
		 * greywalld from starting no more than a missing file does:
		 * watch_periodic() opens it once it can, and watch show says why
		 * it is not open.
		 */
		ret = open_journal(ws, w, false);
		if (ret == -ENOENT)
			log_info("watch %s: journal%s%s: not there yet", w->name, sep, dir);
		else if (ret)
			log_warn("watch %s: journal%s%s: %s; tried again each second", w->name, sep,
				 dir, strerror(-ret));
	}
	return 0;
}

static int new_counting(struct watcher *w)
{
	const struct config_watch *cw = w->cfg;
	struct watch_count_limits lim = {
		.threshold = cw->threshold,
		.window = cw->window,
		.max_sources = cw->max_sources ? cw->max_sources : WATCH_SOURCES_DEFAULT,
		.max_users = WATCH_USERS_DEFAULT,
	};

	w->times = calloc(cw->threshold ? cw->threshold : 1, sizeof(*w->times));
	w->conns = calloc(CONN_SLOTS, sizeof(*w->conns));
	if (!w->times || !w->conns)
		return -ENOMEM;
	return watch_count_new(&w->count, &lim);
}

/*
 * Set up the watcher for cw, taking over what old (the watcher of the same
 * name before a reload, or NULL) can give: its files and journal when they
 * are the same, its counts when they count the same way, its statistics.
 */
static int watcher_init(struct daemon *d, struct watcher *w, const struct config_watch *cw,
			struct watcher *old, char *err, size_t errlen)
{
	int ret;

	snprintf(w->name, sizeof(w->name), "%s", cw->name);
	w->cfg = cw;
	w->journal_fd = -1;
	ret = watch_pattern_new(&w->pat, (enum watch_builtin)cw->pattern, cw->regex, err,
				errlen);
	if (ret)
		return ret;
	if (old) {
		w->st = old->st;
		old->moved = true;
		/* The pairs are for publication: they go on whatever else changed. */
		w->attempts = old->attempts;
		old->attempts = NULL;
	}
	if (!w->attempts) {
		ret = watch_attempts_new(WATCH_ATTEMPTS_MAX, &w->attempts);
		if (ret) {
			snprintf(err, errlen, "watch %s: %s", cw->name, strerror(-ret));
			return ret;
		}
	}
	/* A journal that could not be opened is tried again. */
	if (old && same_sources(old->cfg, cw) && (!cw->journal || old->journal)) {
		w->files = old->files;
		w->nfiles = old->nfiles;
		w->journal = old->journal;
		w->journal_fd = old->journal_fd;
		w->unsaved = old->unsaved;
		old->files = NULL;
		old->nfiles = 0;
		old->journal = NULL;
	} else {
		ret = open_sources(d, w, err, errlen);
		if (ret)
			return ret;
	}
	if (old && same_counting(old->cfg, cw)) {
		w->count = old->count;
		w->times = old->times;
		w->conns = old->conns;
		old->count = NULL;
		old->times = NULL;
		old->conns = NULL;
		return 0;
	}
	return new_counting(w);
}

/* Login names that are traps: spamd's spamtraps' local parts, trap-users, promoted. */
static int load_names(struct daemon *d, struct trap_set **out, char *err, size_t errlen)
{
	struct trap_set *set;
	int ret = trap_set_new(&set);

	if (ret)
		return ret;
	for (size_t i = 0; !ret && d->spamd && d->spamd->spamtraps &&
			   i < trap_set_count(d->spamd->spamtraps);
	     i++) {
		const char *trap = trap_set_entry(d->spamd->spamtraps, i);
		const char *at = strrchr(trap, '@');
		char local[TRAP_ADDRESS_MAX + 1];

		if (!at || at == trap)
			continue;
		snprintf(local, sizeof(local), "%.*s", (int)(at - trap), trap);
		ret = trap_set_add(set, local);
		if (ret == -EINVAL || ret == -ENODATA)
			ret = 0;
	}
	for (size_t i = 0; !ret && i < d->cfg.ntrap_users; i++)
		ret = trap_set_load(set, d->cfg.trap_users[i], err, errlen);
	if (ret && !err[0])
		snprintf(err, errlen, "trap-users: %s", strerror(-ret));
	if (!ret && d->watch->store) {
		ret = watch_store_traps_load(d->watch->store, set);
		if (ret)
			snprintf(err, errlen, "trap names in the store: %s", strerror(-ret));
	}
	if (ret) {
		trap_set_free(set);
		return ret;
	}
	*out = set;
	return 0;
}

static int collect_followers(struct watch_set *ws)
{
	size_t n = 0;
	struct follow **all;

	for (size_t i = 0; i < ws->n; i++)
		n += ws->w[i].nfiles;
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < ws->n; i++)
		for (size_t j = 0; j < ws->w[i].nfiles; j++)
			all[n++] = ws->w[i].files[j];
	free(ws->all);
	ws->all = all;
	ws->nall = n;
	return 0;
}

/*
 * Build the watchers of d->cfg; old (n_old of them, may be none) are the
 * watchers before a reload, whose parts the new ones take over and which
 * are freed here either way.
 */
static int build(struct daemon *d, struct watcher *old, size_t n_old, char *err, size_t errlen)
{
	struct watch_set *ws = d->watch;
	struct trap_set *names = NULL;
	int ret = load_names(d, &names, err, errlen);

	if (!ret) {
		ws->w = calloc(d->cfg.nwatches ? d->cfg.nwatches : 1, sizeof(*ws->w));
		if (!ws->w)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < d->cfg.nwatches; i++) {
		const struct config_watch *cw = &d->cfg.watches[i];
		struct watcher *prev = NULL;

		for (size_t j = 0; j < n_old; j++)
			if (!strcmp(old[j].name, cw->name))
				prev = &old[j];
		ret = watcher_init(d, &ws->w[i], cw, prev, err, errlen);
		ws->n++;
	}
	for (size_t j = 0; j < n_old; j++) {
		if (!old[j].moved && old[j].name[0])
			log_info("watch %s: stopped", old[j].name);
		watcher_free(ws, &old[j]);
	}
	free(old);
	if (!ret)
		ret = collect_followers(ws);
	if (ret) {
		trap_set_free(names);
		return ret;
	}
	trap_set_free(ws->names);
	ws->names = names;
	return 0;
}

int watch_start(struct daemon *d, char *err, size_t errlen)
{
	struct watch_set *ws;
	int ret;

	err[0] = '\0';
	if (!d->cfg.nwatches)
		return 0;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->epoll_fd = d->epoll_fd;
	ws->inotify_fd = follow_inotify_open();
	d->watch = ws;
	if (ws->inotify_fd < 0) {
		ret = ws->inotify_fd;
		snprintf(err, errlen, "watch: inotify: %s", strerror(-ret));
		watch_close(d);
		return ret;
	}
	epoll_add(ws, ws->inotify_fd);
	if (d->store) {
		ret = watch_store_open(d->store, &ws->store);
		if (ret) {
			snprintf(err, errlen, "watch: the store's tables: %s", strerror(-ret));
			watch_close(d);
			return ret;
		}
	}
	ret = build(d, NULL, 0, err, errlen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "watch: %s", strerror(-ret));
		watch_close(d);
		return ret;
	}
	for (size_t i = 0; i < ws->n; i++)
		log_info("watch %s: %s, %zu file(s)%s", ws->w[i].name,
			 watch_builtin_name((enum watch_builtin)ws->w[i].cfg->pattern),
			 ws->w[i].nfiles, ws->w[i].cfg->journal ? " and the journal" : "");
	return 0;
}

int watch_reload(struct daemon *d, char *err, size_t errlen)
{
	struct watch_set *ws = d->watch;
	struct watcher *old;
	size_t n_old;

	err[0] = '\0';
	if (!ws)
		return watch_start(d, err, errlen);
	if (!d->cfg.nwatches) {
		watch_close(d);
		return 0;
	}
	for (size_t i = 0; i < ws->n; i++)
		save_positions(d, &ws->w[i]);
	old = ws->w;
	n_old = ws->n;
	ws->w = NULL;
	ws->n = 0;
	return build(d, old, n_old, err, errlen);
}

void watch_close(struct daemon *d)
{
	struct watch_set *ws = d->watch;

	if (!ws)
		return;
	for (size_t i = 0; i < ws->n; i++) {
		save_positions(d, &ws->w[i]);
		watcher_free(ws, &ws->w[i]);
	}
	free(ws->w);
	free(ws->all);
	trap_set_free(ws->names);
	watch_store_close(ws->store);
	if (ws->inotify_fd >= 0) {
		epoll_del(ws, ws->inotify_fd);
		close(ws->inotify_fd);
	}
	free(ws);
	d->watch = NULL;
}

bool watch_owns_fd(const struct daemon *d, int fd)
{
	const struct watch_set *ws = d->watch;

	if (!ws || fd < 0)
		return false;
	if (fd == ws->inotify_fd)
		return true;
	for (size_t i = 0; i < ws->n; i++)
		if (ws->w[i].journal && fd == ws->w[i].journal_fd)
			return true;
	return false;
}

void watch_event(struct daemon *d, int fd)
{
	struct watch_set *ws = d->watch;

	if (fd == ws->inotify_fd) {
		int ret = follow_event(ws->inotify_fd, ws->all, ws->nall);

		if (ret)
			log_err("watch: inotify: %s", strerror(-ret));
	}
	for (size_t i = 0; i < ws->n; i++)
		if (ws->w[i].journal && fd == ws->w[i].journal_fd)
			read_watcher(d, &ws->w[i], true);
	watch_work(d);
}

bool watch_work(struct daemon *d)
{
	struct watch_set *ws = d->watch;
	bool more = false;

	if (!ws)
		return false;
	for (size_t i = 0; i < ws->n; i++)
		more |= read_watcher(d, &ws->w[i], false);
	return more;
}

bool watch_pending(const struct daemon *d)
{
	const struct watch_set *ws = d->watch;

	if (!ws)
		return false;
	for (size_t i = 0; i < ws->nall; i++)
		if (follow_ready(ws->all[i]))
			return true;
	for (size_t i = 0; i < ws->n; i++)
		if (ws->w[i].journal && journal_ready(ws->w[i].journal))
			return true;
	return false;
}

void watch_periodic(struct daemon *d, int64_t now)
{
	struct watch_set *ws = d->watch;

	if (!ws)
		return;
	for (size_t i = 0; i < ws->n; i++) {
		struct watcher *w = &ws->w[i];
		struct line_ctx c = { .d = d, .w = w, .now = now };

		/*
		 * A file that is not there is watched through its directory; a
		 * directory removed and made again is watched anew only when the
		 * follower tries, which it does here, once a second.
		 */
		for (size_t j = 0; j < w->nfiles; j++)
			if (!follow_is_open(w->files[j]))
				follow_read(w->files[j], READ_BUDGET, on_line, &c);
		/* A journal directory that was not there: tried once a second too. */
		if (w->cfg->journal && !w->journal && !open_journal(ws, w, true))
			log_info("watch %s: journal%s%s opened", w->name,
				 w->cfg->journal_dir ? " " : "",
				 w->cfg->journal_dir ? w->cfg->journal_dir : "");
		save_positions(d, w);
	}
	commit(d);
}

void watch_traps_changed(struct daemon *d)
{
	struct trap_set *names;
	char err[256] = "";

	if (!d->watch)
		return;
	if (load_names(d, &names, err, sizeof(err))) {
		log_err("watch: trap names kept as they were: %s", err);
		return;
	}
	trap_set_free(d->watch->names);
	d->watch->names = names;
}
