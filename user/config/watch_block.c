// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The `watch NAME { ... }` blocks of greywall.conf (log watchers) and the
 * `trap-users file "path"` statement. A watcher reads files or the
 * journal, never both: one position store per watcher, and a line that
 * reached both would count twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "lib/array.h"
#include "watch/count.h"
#include "watch/pattern.h"

#define WATCH_WINDOW_MAX   (7 * 86400)
#define WATCH_SOURCES_MAX  10000000
#define WATCH_REGEX_ERRLEN 160

/* Where each option was given: for duplicates and the checks at the end. */
struct watch_parse {
	struct config_watch *w;
	const struct lex_token *name;
	const struct lex_token *journal, *directory, *pattern, *on_trap, *on_failures, *ignore,
	    *max_sources;
	size_t files_cap, units_cap;
};

const char *watch_writing_table(const struct config *cfg, int table)
{
	for (size_t i = 0; i < cfg->nwatches; i++)
		if (cfg->watches[i].trap_table == table || cfg->watches[i].fail_table == table)
			return cfg->watches[i].name;
	return NULL;
}

/* A table the watcher lists sources in: not a const one, which nothing may change. */
static int parse_written_table(struct parser *p, struct watch_parse *wp, int *index)
{
	size_t at = p->i + 1; /* the name, after "<" */
	int ret = parse_table_ref(p, index);

	if (ret)
		return ret;
	if (p->cfg->tables[*index].flags & CONFIG_TABLE_CONST)
		return perr(p, &p->tok[at],
			    "table <%s> is const: watch \"%s\" cannot list sources in it",
			    p->cfg->tables[*index].name, wp->w->name);
	return 0;
}

/* Files or the journal, not both: say so on the second kind. */
static int check_one_kind(struct parser *p, struct watch_parse *wp, const struct lex_token *kw)
{
	if ((is_kw(kw, "file") && wp->journal) || (is_kw(kw, "journal") && wp->w->nfiles))
		return perr(p, kw, "watch \"%s\" reads files or the journal, not both",
			    wp->w->name);
	return 0;
}

/* `journal [unit "u"]... [directory "d"]`. */
static int parse_watch_journal(struct parser *p, struct watch_parse *wp)
{
	struct config_watch *w = wp->w;
	const struct lex_token *t;
	int ret = 0;

	w->journal = true;
	while (!ret) {
		t = peek(p);
		if (is_kw(t, "unit")) {
			next(p);
			ret = parse_string_item(p, "unit name", &w->units, &w->nunits,
						&wp->units_cap);
		} else if (is_kw(t, "directory")) {
			next(p);
			ret = parse_once(p, t, &wp->directory)
				  ?: parse_string(p, "directory", &w->journal_dir);
		} else {
			break;
		}
	}
	return ret;
}

/* `pattern NAME` (built in) or `pattern regex "..."`, compiled now to refuse a bad one here. */
static int parse_watch_pattern(struct parser *p, struct watch_parse *wp)
{
	struct config_watch *w = wp->w;
	const struct lex_token *t = peek(p);
	struct watch_pattern *pat = NULL;
	char why[WATCH_REGEX_ERRLEN] = "";
	int ret;

	if (t->type == LEX_END || is_punct(t, '}'))
		return expected(p, "a pattern");
	next(p);
	if (is_kw(t, "regex")) {
		t = peek(p);
		ret = parse_string(p, "regex", &w->regex);
		if (ret)
			return ret;
		w->pattern = WATCH_PATTERN_REGEX;
	} else {
		w->pattern = t->type == LEX_WORD ? watch_builtin_find(t->text) : -1;
		if (w->pattern < 0 || w->pattern == WATCH_PATTERN_REGEX)
			return perr(p, t,
				    "unknown pattern \"%s\" (dovecot, sshd, postfix-sasl or "
				    "regex \"...\")",
				    q(p, t->text));
		return 0;
	}
	ret = watch_pattern_new(&pat, WATCH_PATTERN_REGEX, w->regex, why, sizeof(why));
	watch_pattern_free(pat);
	if (ret == -ENOMEM)
		return no_memory(p);
	if (ret)
		return perr(p, t, "invalid regex \"%s\": %s", q(p, t->text), why);
	return 0;
}

/* `on-failures N within T <table>`. */
static int parse_watch_failures(struct parser *p, struct watch_parse *wp)
{
	struct config_watch *w = wp->w;
	uint64_t n;
	int ret = parse_number(p, "on-failures", 1, WATCH_THRESHOLD_MAX, &n);

	if (ret)
		return ret;
	w->threshold = (uint32_t)n;
	if (!is_kw(peek(p), "within"))
		return expected(p, "\"within\"");
	next(p);
	return parse_duration(p, "within", 1, WATCH_WINDOW_MAX, &w->window)
		   ?: parse_written_table(p, wp, &w->fail_table);
}

static int parse_watch_option(struct parser *p, void *ctx)
{
	struct watch_parse *wp = ctx;
	struct config_watch *w = wp->w;
	const struct lex_token *t = next(p);
	uint64_t n = 0;
	int ret;

	if (is_kw(t, "file"))
		return check_one_kind(p, wp, t)
			   ?: parse_string_item(p, "file name", &w->files, &w->nfiles,
						&wp->files_cap);
	if (is_kw(t, "journal"))
		return parse_once(p, t, &wp->journal) ?: check_one_kind(p, wp, t)
						    ?: parse_watch_journal(p, wp);
	if (is_kw(t, "pattern"))
		return parse_once(p, t, &wp->pattern) ?: parse_watch_pattern(p, wp);
	if (is_kw(t, "on-trap"))
		return parse_once(p, t, &wp->on_trap) ?: parse_written_table(p, wp, &w->trap_table);
	if (is_kw(t, "on-failures"))
		return parse_once(p, t, &wp->on_failures) ?: parse_watch_failures(p, wp);
	if (is_kw(t, "ignore"))
		return parse_once(p, t, &wp->ignore) ?: parse_table_ref(p, &w->ignore_table);
	if (is_kw(t, "max-sources")) {
		ret = parse_once(p, t, &wp->max_sources)
			  ?: parse_number(p, "max-sources", 1, WATCH_SOURCES_MAX, &n);
		if (!ret)
			w->max_sources = (uint32_t)n;
		return ret;
	}
	return unknown_keyword(p, t);
}

static int watch_finish(struct parser *p, struct watch_parse *wp)
{
	const char *name = wp->w->name;

	if (!wp->w->nfiles && !wp->journal)
		return perr(p, wp->name, "watch \"%s\" has no file or journal", name);
	if (!wp->pattern)
		return perr(p, wp->name, "watch \"%s\" has no pattern", name);
	if (!wp->on_trap && !wp->on_failures)
		return perr(p, wp->name, "watch \"%s\" has no on-trap or on-failures", name);
	return 0;
}

int parse_watch_block(struct parser *p)
{
	struct config *cfg = p->cfg;
	struct watch_parse wp = {0};
	struct config_watch *w;
	int ret;

	next(p);
	ret = parse_name(p, "watch", &wp.name);
	if (ret)
		return ret;
	for (size_t i = 0; i < cfg->nwatches; i++)
		if (!strcmp(cfg->watches[i].name, wp.name->text))
			return perr(p, wp.name, "watch \"%s\" declared twice", wp.name->text);
	if (array_room(&cfg->watches, &p->watches_cap, cfg->nwatches + 1, sizeof(*cfg->watches),
		       ARRAY_FIRST))
		return no_memory(p);
	w = wp.w = memset(&cfg->watches[cfg->nwatches++], 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", wp.name->text);
	w->pattern = -1;
	w->trap_table = w->fail_table = w->ignore_table = -1;
	w->max_sources = WATCH_SOURCES_DEFAULT;
	w->line = wp.name->line;
	return parse_block(p, parse_watch_option, &wp) ?: expect_end(p) ?: watch_finish(p, &wp);
}

/* `trap-users file "path"`: may repeat, the files add up. */
int parse_trap_users(struct parser *p)
{
	struct config *cfg = p->cfg;

	next(p);
	if (!is_kw(peek(p), "file"))
		return expected(p, "\"file\"");
	next(p);
	return parse_string_item(p, "file name", &cfg->trap_users, &cfg->ntrap_users,
				 &p->trap_users_cap)
		   ?: expect_end(p);
}

void config_watches_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nwatches; i++) {
		struct config_watch *w = &cfg->watches[i];

		free_strings(w->files, w->nfiles);
		free_strings(w->units, w->nunits);
		free(w->journal_dir);
		free(w->regex);
	}
	free(cfg->watches);
	free_strings(cfg->trap_users, cfg->ntrap_users);
}

void watch_block_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const watch[] = {
	    "file",    "journal",     "unit",	"directory", "pattern",	    "regex",
	    "on-trap", "on-failures", "within", "ignore",    "max-sources", NULL,
	};

	keywords_each("watch", watch, fn, ctx);
	fn("trap-users", "file", ctx);
}
