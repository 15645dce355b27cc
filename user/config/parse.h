/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The parser's state and the primitives its grammars share (tokens,
 * numbers, durations, strings, names, addresses, lists and blocks). Only
 * user/config/ includes this header: the grammars are options.c (`set`),
 * rules.c (tables, queues, rules), spamd_block.c (the `spamd { }` block),
 * watch_block.c (log watchers), crowdsec_block.c (CrowdSec),
 * policy_block.c (the policy service), and config.c reads the file and hands each statement to one of them.
 *
 * Functions return 0 or -errno; the first error writes the one message the
 * caller of config_load_*() gets, naming file, line, column and token.
 */
#ifndef __GREYWALL_CONFIG_PARSE_H
#define __GREYWALL_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "config/lexer.h"

#define NAME_MAX_LEN 31 /* tables and queues */
#define ARRAY_FIRST  8	/* items a config array starts with */
/* Entries of ignored_state_options[] in rules.c. */
#define IGNORED_STATE_OPTIONS 1

/* A `set queue NAME` waiting for the end of the file, where queues are known. */
struct queue_ref {
	char name[NAME_MAX_LEN + 1];
	size_t first_rule;
	size_t nrules;
	int line;
	int col;
};

struct parser {
	struct lexer lx;
	struct config *cfg;
	struct lex_token *tok; /* the current statement, ending with LEX_END */
	size_t i;	       /* the next token */
	int rule_number;
	unsigned int nanon;
	size_t tables_cap, rules_cap, queues_cap, warnings_cap, watches_cap, trap_users_cap;
	struct queue_ref *qrefs;
	size_t nqrefs, qrefs_cap;
	bool warned[IGNORED_STATE_OPTIONS];
	char quoted[4][LEX_QUOTE_MAX];
	unsigned int nquoted;
};

/* Escape a token for a message; four buffers so one message may quote several. */
static inline const char *q(struct parser *p, const char *s)
{
	char *buf = p->quoted[p->nquoted++ % 4];

	lex_quote(s, buf, LEX_QUOTE_MAX);
	return buf;
}

static inline struct lex_token *peek(struct parser *p)
{
	return &p->tok[p->i];
}

static inline struct lex_token *next(struct parser *p)
{
	struct lex_token *t = &p->tok[p->i];

	if (t->type != LEX_END)
		p->i++;
	return t;
}

static inline bool is_kw(const struct lex_token *t, const char *kw)
{
	return t->type == LEX_WORD && !strcmp(t->text, kw);
}

static inline bool is_punct(const struct lex_token *t, char c)
{
	return t->type == LEX_PUNCT && t->text[0] == c;
}

__attribute__((format(printf, 3, 4))) int perr(struct parser *p, const struct lex_token *t,
					       const char *fmt, ...);

int no_memory(struct parser *p);

/* The current token is not what the grammar needs: name it, or the one before the end. */
int expected(struct parser *p, const char *what);

int unexpected(struct parser *p, const struct lex_token *t);

int unknown_keyword(struct parser *p, const struct lex_token *t);

int expect_end(struct parser *p);

int expect_punct(struct parser *p, char c);

/*
 * Decimal digits only (no sign, no space, no 0x): the strtonum(3) idea.
 * Values past UINT64_MAX saturate, so they read as "too large".
 */
bool parse_digits(const char *s, const char **end, uint64_t *out);

int check_range(struct parser *p, const struct lex_token *t, const char *what, uint64_t v,
		uint64_t min, uint64_t max);

/* Take the next token as a number in [min, max]. */
int parse_number(struct parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out);

int parse_duration(struct parser *p, const char *what, uint32_t min, uint32_t max, uint32_t *out);

/* A byte count: digits, then nothing or K, M or G (powers of 1024), in [min, max]. */
int parse_size(struct parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out);

/* A string setting: quoted, or a bare word. */
int parse_string(struct parser *p, const char *what, char **out);

/* A string setting that may be repeated: appended to list[n], of capacity *cap. */
int parse_string_item(struct parser *p, const char *what, char ***list, size_t *n, size_t *cap);

void free_strings(char **list, size_t n);

/* Table and queue names: PF_TABLE_NAME_SIZE, letters, digits, "_" and "-". */
int check_name(struct parser *p, const struct lex_token *t, const char *what);

/* The name after a keyword, such as a queue's or a list's. */
int parse_name(struct parser *p, const char *what, const struct lex_token **name);

/* An address or network: a word, optionally followed by "/" and a length. */
int parse_address(struct parser *p, struct addr_prefix *out, const struct lex_token **at);

/*
 * The items of "{ a, b c }" or "(a, b)" (commas optional, as pfctl reads
 * lists), one call of item() each; the opening brace or parenthesis is the
 * next token and `close` ends the list. item() sees every other token, the
 * end of the statement too, and consumes it or fails. An empty list is an
 * error "empty <what> list" when `what` is given.
 */
int parse_list(struct parser *p, char close, const char *what,
	       int (*item)(struct parser *p, void *ctx), void *ctx);

/* Linux's dev_valid_name(), plus "egress", which names the configured set. */
int check_ifname(struct parser *p, const struct lex_token *t);

int add_warning(struct parser *p, const struct lex_token *t, const char *what);

/* An option that may be given once: remember where (*seen), refuse the second. */
int parse_once(struct parser *p, const struct lex_token *kw, const struct lex_token **seen);

/* A `{ ... }` block of options: option() once per option, until the closing brace. */
int parse_block(struct parser *p, int (*option)(struct parser *p, void *ctx), void *ctx);

/* options.c: `set ...`. */
int parse_set(struct parser *p);

/* rules.c: tables, queues and rules. */
int table_new(struct parser *p, const struct lex_token *t, const char *name, unsigned int flags,
	      int *index);
int parse_table(struct parser *p);
/* "<name>": the table, created as PF does when no `table` line declares it (yet). */
int parse_table_ref(struct parser *p, int *index);
int parse_queue(struct parser *p);
int parse_rule(struct parser *p);
int resolve_queue_refs(struct parser *p);

/* spamd_block.c: `spamd { ... }`. */
int parse_spamd_block(struct parser *p);
void config_spamd_free(struct config_spamd *s);

/* watch_block.c: `watch NAME { ... }` and `trap-users file "path"`. */
int parse_watch_block(struct parser *p);
int parse_trap_users(struct parser *p);
void config_watches_free(struct config *cfg);
/* The name of a watcher that lists sources in the table, or NULL. */
const char *watch_writing_table(const struct config *cfg, int table);

/* crowdsec_block.c: `crowdsec { ... }`. */
int parse_crowdsec_block(struct parser *p);
void config_crowdsec_free(struct config_crowdsec *c);

/* policy_block.c: `policy { ... }`; checked against the spamd block at the end. */
int parse_policy_block(struct parser *p);
int policy_block_finish(struct parser *p);
void config_policy_free(struct config_policy *pol);

/* Each grammar's keywords, for config_keywords(); a list ends with NULL. */
void keywords_each(const char *grammar, const char *const *list, config_keyword_fn fn, void *ctx);
void options_keywords(config_keyword_fn fn, void *ctx);
void rules_keywords(config_keyword_fn fn, void *ctx);
void spamd_block_keywords(config_keyword_fn fn, void *ctx);
void watch_block_keywords(config_keyword_fn fn, void *ctx);
void crowdsec_block_keywords(config_keyword_fn fn, void *ctx);
void policy_block_keywords(config_keyword_fn fn, void *ctx);

#endif /* __GREYWALL_CONFIG_PARSE_H */
