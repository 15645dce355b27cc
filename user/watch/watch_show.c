// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What greywallctl's watch verbs print and change: `watch show [-v]`,
 * `watch candidates`, `watch add-traps NAME...` (greywallctl(8), WATCH).
 * Login names and log text are an outsider's: printed escaped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "lib/escape.h"
#include "metrics/expo.h"
#include "spamd/trap.h"
#include "tables/dump.h"
#include "watch/count.h"
#include "watch/follow.h"
#include "watch/internal.h"
#include "watch/journal.h"
#include "watch/pattern.h"
#include "watch/watch_store.h"

static const char *table(struct daemon *d, int cfg_index)
{
	return cfg_index >= 0 && (size_t)cfg_index < d->cfg.ntables ? d->cfg.tables[cfg_index].name
								     : "?";
}

static void show_actions(struct daemon *d, const struct config_watch *cw, FILE *out)
{
	const char *sep = "\t";

	if (cw->trap_table >= 0) {
		fprintf(out, "%son-trap <%s>", sep, table(d, cw->trap_table));
		sep = ", ";
	}
	if (cw->threshold) {
		fprintf(out, "%son-failures %" PRIu32 " within %" PRIu32 "s <%s>", sep,
			cw->threshold, cw->window, table(d, cw->fail_table));
		sep = ", ";
	}
	if (cw->ignore_table >= 0)
		fprintf(out, "%signore <%s>", sep, table(d, cw->ignore_table));
	fputc('\n', out);
}

static void show_file(const struct follow *f, FILE *out)
{
	const struct follow_stats *fs = follow_stats(f);
	struct follow_pos pos;

	follow_position(f, &pos);
	fputs("\tfile ", out);
	escape_vis_file(out, follow_path(f), NULL);
	if (follow_is_open(f))
		fprintf(out, ": open, inode %" PRIu64 ", offset %" PRIu64, pos.ino, pos.offset);
	else
		fputs(": not there yet", out);
	fprintf(out, ", rotations %" PRIu64 ", truncations %" PRIu64 ", cut %" PRIu64 "\n",
		fs->rotations, fs->truncations, fs->cut);
}

static void show_source(const struct watch_count_source *s, void *ctx)
{
	FILE *out = ctx;
	char addr[ADDR_STRLEN], last[32];

	addr_format(&s->addr, addr, sizeof(addr));
	dump_format_time(s->last, last, sizeof(last));
	fprintf(out, "\t\t%s %" PRIu32 " in the window, %" PRIu32 " today, last %s\n", addr,
		s->in_window, s->day, last);
}

static void show_watcher(struct daemon *d, struct watcher *w, bool verbose, FILE *out)
{
	const struct config_watch *cw = w->cfg;
	const struct watch_stats *st = &w->st;
	struct watch_count_stats cs;
	uint64_t cut = 0;

	fprintf(out, "%s: pattern %s\n", w->name,
		watch_builtin_name((enum watch_builtin)cw->pattern));
	for (size_t i = 0; i < w->nfiles; i++) {
		show_file(w->files[i], out);
		cut += follow_stats(w->files[i])->cut;
	}
	if (cw->journal) {
		fputs("\tjournal", out);
		if (cw->journal_dir) {
			fputc(' ', out);
			escape_vis_file(out, cw->journal_dir, NULL);
		}
		for (size_t i = 0; i < cw->nunits; i++) {
			fputs(" unit ", out);
			escape_vis_file(out, cw->units[i], NULL);
		}
		if (!w->journal) {
			if (w->journal_err == -ENOENT)
				fputs(": not there yet\n", out);
			else
				fprintf(out, ": not open (%s), tried again each second\n",
					strerror(-w->journal_err));
		} else {
			fputs(", cursor ", out);
			escape_vis_file(out,
					journal_cursor(w->journal)[0] ? journal_cursor(w->journal) : "-",
					NULL);
			fputc('\n', out);
			cut += journal_stats(w->journal)->cut;
		}
	}
	show_actions(d, cw, out);
	fprintf(out,
		"\tlines %" PRIu64 " matched %" PRIu64 " (same connection %" PRIu64 ") traps %" PRIu64
		" listed %" PRIu64
		" (on-trap %" PRIu64 ", on-failures %" PRIu64 ") already %" PRIu64
		" ignored %" PRIu64 " refused %" PRIu64 " cut %" PRIu64 " errors %" PRIu64 "\n",
		st->lines, st->matched, st->same_connection, st->traps, st->listed_trap + st->listed_failures,
		st->listed_trap, st->listed_failures, st->already, st->ignored, st->refused, cut,
		st->match_errors + st->read_errors);
	watch_count_stats(w->count, &cs);
	fprintf(out,
		"\tcounting %zu sources (%" PRIu64 " evicted), %zu login names (%" PRIu64
		" evicted), %zu bytes (at most %zu)\n",
		cs.sources, cs.sources_evicted, cs.users, cs.users_evicted, cs.memory,
		cs.memory_max);
	if (verbose && cw->threshold) {
		fputs("\tsources counting toward the threshold:\n", out);
		watch_count_sources(w->count, (int64_t)time(NULL), true, CANDIDATES_MAX,
				    show_source, out);
	}
}

void watch_show(struct daemon *d, bool verbose, FILE *out)
{
	struct watch_set *ws = d->watch;

	if (!ws || !ws->n) {
		fputs("no watchers\n", out);
		return;
	}
	for (size_t i = 0; i < ws->n; i++)
		show_watcher(d, &ws->w[i], verbose, out);
}

struct candidates_ctx {
	struct daemon *d;
	const struct watcher *w;
	FILE *out;
};

static void candidate_source(const struct watch_count_source *s, void *ctx)
{
	struct candidates_ctx *c = ctx;
	char addr[ADDR_STRLEN], first[32], last[32];

	addr_format(&s->addr, addr, sizeof(addr));
	dump_format_time(s->first, first, sizeof(first));
	dump_format_time(s->last, last, sizeof(last));
	fprintf(c->out, "%s %s %" PRIu32 " failures, first %s, last %s\n", c->w->name, addr,
		s->day, first, last);
}

static void candidate_user(const struct watch_count_user *u, void *ctx)
{
	struct candidates_ctx *c = ctx;
	char first[32], last[32];

	/* A name promoted since it was counted is no candidate any more. */
	if (watch_is_trap(c->d, u->name))
		return;
	dump_format_time(u->first, first, sizeof(first));
	dump_format_time(u->last, last, sizeof(last));
	fprintf(c->out, "%s ", c->w->name);
	escape_vis_file(c->out, u->name, " ");
	fprintf(c->out, " %" PRIu32 " sources, %" PRIu32 " attempts, first %s, last %s\n",
		u->sources, u->attempts, first, last);
}

void watch_candidates(struct daemon *d, FILE *out)
{
	struct watch_set *ws = d->watch;
	int64_t now = (int64_t)time(NULL);

	if (!ws || !ws->n) {
		fputs("no watchers\n", out);
		return;
	}
	fputs("sources that failed over the last day, below the threshold:\n", out);
	for (size_t i = 0; i < ws->n; i++) {
		struct candidates_ctx c = { .d = d, .w = &ws->w[i], .out = out };

		watch_count_sources(ws->w[i].count, now, false, CANDIDATES_MAX, candidate_source,
				    &c);
	}
	fprintf(out, "login names tried from %d or more sources, not traps:\n",
		USER_CANDIDATE_SOURCES);
	for (size_t i = 0; i < ws->n; i++) {
		struct candidates_ctx c = { .d = d, .w = &ws->w[i], .out = out };

		watch_count_users(ws->w[i].count, now, USER_CANDIDATE_SOURCES, CANDIDATES_MAX,
				  candidate_user, &c);
	}
}

int watch_add_traps(struct daemon *d, char *const names[], int n, FILE *out, FILE *err)
{
	struct watch_set *ws = d->watch;
	int64_t now = (int64_t)time(NULL);
	int added = 0, ret = 0;

	if (!ws || !ws->store) {
		fputs("greywallctl: watch add-traps: no watchers\n", err);
		return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		char norm[TRAP_ADDRESS_MAX + 1];
		int r = trap_normalize(names[i], norm, sizeof(norm));

		if (r < 0) {
			fputs("greywallctl: watch add-traps: not a login name: ", err);
			escape_vis_file(err, names[i], NULL);
			fputc('\n', err);
			ret = -EINVAL;
			continue;
		}
		r = watch_store_trap_add(ws->store, norm, now);
		if (r >= 0)
			r = trap_set_add(ws->names, norm) ?: r;
		if (r < 0) {
			fprintf(err, "greywallctl: watch add-traps: %s\n", strerror(-r));
			return r;
		}
		added += r;
	}
	fprintf(out, "%d/%d names added as traps.\n", added, n);
	return ret ? ret : added;
}

void watch_metrics(struct daemon *d, struct expo *e)
{
	static const struct {
		const char *name, *help;
		size_t offset;		/* SIZE_MAX: the listings, by reason */
	} families[] = {
		{ "greywall_watcher_lines_total", "Log lines the watcher read.",
		  offsetof(struct watch_stats, lines) },
		{ "greywall_watcher_matches_total", "Lines that matched: failures with a source address.",
		  offsetof(struct watch_stats, matched) },
		{ "greywall_watcher_trap_matches_total", "Matches whose login name is a trap.",
		  offsetof(struct watch_stats, traps) },
		{ "greywall_watcher_listed_total", "Sources the watcher put into a table.",
		  SIZE_MAX },
		{ "greywall_watcher_refused_total",
		  "Sources the watcher decided to list that the table refused (full) or failed.",
		  offsetof(struct watch_stats, refused) },
	};
	struct watch_set *ws = d->watch;

	if (!ws || !ws->n)
		return;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		expo_family(e, families[f].name, EXPO_COUNTER, families[f].help);
		for (size_t i = 0; i < ws->n; i++) {
			const struct watch_stats *st = &ws->w[i].st;

			if (families[f].offset == SIZE_MAX) {
				expo_sample2(e, "watcher", ws->w[i].name, "reason", "trap",
					     st->listed_trap);
				expo_sample2(e, "watcher", ws->w[i].name, "reason", "failures",
					     st->listed_failures);
				continue;
			}
			expo_sample2(e, "watcher", ws->w[i].name, NULL, NULL,
				     *(const uint64_t *)((const char *)st + families[f].offset));
		}
	}
}
