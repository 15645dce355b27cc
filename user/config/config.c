// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywall.conf: statements from the lexer, one at a time, into struct
 * config; rules compiled into struct gw_rule. Internal functions return 0 or
 * -errno; the first error writes the one message the caller gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spamd/blacklist.h"
#include "config/config.h"
#include "config/lexer.h"
#include "lib/array.h"

#define DEFAULT_STATE_DIR      "/var/lib/greywall"
#define DEFAULT_BPF_DIR	       "/sys/fs/bpf/greywall"
#define DEFAULT_CONTROL_SOCKET CONFIG_DEFAULT_SOCKET
#define DEFAULT_DUMP_DIR       "/var/lib/greywall/pub"
#define DEFAULT_DUMP_INTERVAL  3600
#define DEFAULT_TABLE_HOSTS    1000000
#define DEFAULT_TABLE_PREFIXES 200000

#define NAME_MAX_LEN	 31		     /* tables and queues */
#define MAX_QUEUES	 255		     /* gw_rule.queue is a __u8, 0 = none */
#define MAX_TABLE_LIMIT	 1000000000ULL	     /* `set limit table-*` */
#define MAX_BANDWIDTH	 1000000000000ULL    /* 1 Tbit/s */
#define MAX_RATE_CONNS	 (UINT32_MAX / 1000) /* PF_THRESHOLD_MAX: counts are kept x1000 */
#define MAX_RATE_SECONDS 86400
#define MAX_FILE_SIZE	 (64 << 20)
#define ARRAY_FIRST	 8		     /* items a config array starts with */

#define MAX_SPAMD_CONNECTIONS 1000000 /* maxcon: a held connection costs a few hundred bytes */
/* maxrcpt and maxtuples: more than any real sender needs, few enough to stay a bound. */
#define MAX_SPAMD_RCPTS 100000
#define MAX_SPAMD_TUPLES 100000
#define MAX_SPAMD_HOSTNAME    255     /* RFC 1035 */
/* "220 <hostname> ESMTP <banner>; <date>" must fit a 512-byte reply line. */
#define MAX_SPAMD_BANNER 200
#define MAX_USER_NAME	 32 /* useradd's limit */
#define MAX_SPAMD_MSG	 1024

/*
 * Tokens greywall accepts in keep-state options without implementing them.
 * Each one is reported once per load, at its first use.
 */
static const char *const ignored_state_options[] = {
    "pflow",
};

#define NIGNORED (sizeof(ignored_state_options) / sizeof(ignored_state_options[0]))

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
	size_t tables_cap, rules_cap, queues_cap, warnings_cap;
	struct queue_ref *qrefs;
	size_t nqrefs, qrefs_cap;
	bool warned[NIGNORED];
	char quoted[4][LEX_QUOTE_MAX];
	unsigned int nquoted;
};

/* Rule parts in pf.conf order; the filter options at the end come in any order. */
enum rule_phase {
	PHASE_ACTION = 0,
	PHASE_DIRECTION,
	PHASE_LOG_QUICK,
	PHASE_ON,
	PHASE_FAMILY,
	PHASE_PROTO,
	PHASE_FROM,
	PHASE_TO,
	PHASE_OPTIONS,
};

enum rule_seen {
	SEEN_DIRECTION = 1 << 0,
	SEEN_LOG = 1 << 1,
	SEEN_QUICK = 1 << 2,
	SEEN_ON = 1 << 3,
	SEEN_FAMILY = 1 << 4,
	SEEN_PROTO = 1 << 5,
	SEEN_FROM = 1 << 6,
	SEEN_TO = 1 << 7,
	SEEN_FLAGS = 1 << 8,
	SEEN_KEEP = 1 << 9,
	SEEN_QUEUE = 1 << 10,
};

struct rule_parse {
	struct gw_rule r;
	char ifname[IF_NAMESIZE];
	enum rule_phase phase;
	const struct lex_token *phase_tok;
	unsigned int seen; /* enum rule_seen */
	uint16_t ports[GW_MAX_RULES][2];
	size_t nports;
	const struct lex_token *queue_tok;
};

/* Escape a token for a message; four buffers so one message may quote several. */
static const char *q(struct parser *p, const char *s)
{
	char *buf = p->quoted[p->nquoted++ % 4];

	lex_quote(s, buf, LEX_QUOTE_MAX);
	return buf;
}

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, const struct lex_token *t,
						      const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lex_verror(&p->lx, t->line, t->col, fmt, ap);
	va_end(ap);
	return ret;
}

static int no_memory(struct parser *p)
{
	if (!p->lx.failed && p->lx.err && p->lx.errlen) {
		snprintf(p->lx.err, p->lx.errlen, "%s: out of memory", p->lx.name);
		p->lx.failed = true;
	}
	return -ENOMEM;
}

static struct lex_token *peek(struct parser *p)
{
	return &p->tok[p->i];
}

static struct lex_token *next(struct parser *p)
{
	struct lex_token *t = &p->tok[p->i];

	if (t->type != LEX_END)
		p->i++;
	return t;
}

static bool is_kw(const struct lex_token *t, const char *kw)
{
	return t->type == LEX_WORD && !strcmp(t->text, kw);
}

static bool is_punct(const struct lex_token *t, char c)
{
	return t->type == LEX_PUNCT && t->text[0] == c;
}

/* The current token is not what the grammar needs: name it, or the one before the end. */
static int expected(struct parser *p, const char *what)
{
	const struct lex_token *t = peek(p);

	if (t->type == LEX_END && p->i > 0) {
		t = &p->tok[p->i - 1];
		return perr(p, t, "missing %s after \"%s\"", what, q(p, t->text));
	}
	return perr(p, t, "expected %s, not \"%s\"", what, q(p, t->text));
}

static int unexpected(struct parser *p, const struct lex_token *t)
{
	return perr(p, t, "unexpected \"%s\"", q(p, t->text));
}

static int unknown_keyword(struct parser *p, const struct lex_token *t)
{
	if (t->type != LEX_WORD)
		return unexpected(p, t);
	return perr(p, t, "unknown keyword \"%s\"", q(p, t->text));
}

static int expect_end(struct parser *p)
{
	const struct lex_token *t = peek(p);

	return t->type == LEX_END ? 0 : unexpected(p, t);
}

static int expect_punct(struct parser *p, char c)
{
	char what[4] = {'"', c, '"', '\0'};

	if (!is_punct(peek(p), c))
		return expected(p, what);
	next(p);
	return 0;
}

/*
 * Decimal digits only (no sign, no space, no 0x): the strtonum(3) idea.
 * Values past UINT64_MAX saturate, so they read as "too large".
 */
static bool parse_digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *c = s;

	for (; *c >= '0' && *c <= '9'; c++)
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(*c - '0');
	*out = v;
	if (end)
		*end = c;
	return c != s;
}

static int check_range(struct parser *p, const struct lex_token *t, const char *what, uint64_t v,
		       uint64_t min, uint64_t max)
{
	if (v < min)
		return perr(p, t, "%s \"%s\" is too small (minimum %llu)", what, q(p, t->text),
			    (unsigned long long)min);
	if (v > max)
		return perr(p, t, "%s \"%s\" is too large (maximum %llu)", what, q(p, t->text),
			    (unsigned long long)max);
	return 0;
}

/* Take the next token as a number in [min, max]. */
static int parse_number(struct parser *p, const char *what, uint64_t min, uint64_t max,
			uint64_t *out)
{
	const struct lex_token *t = peek(p);
	const char *end;

	if (t->type == LEX_END)
		return expected(p, what);
	next(p);
	if (t->type != LEX_WORD || !parse_digits(t->text, &end, out) || *end)
		return perr(p, t, "invalid %s \"%s\"", what, q(p, t->text));
	return check_range(p, t, what, *out, min, max);
}

int config_parse_duration(const char *text, uint32_t *seconds)
{
	uint64_t v, unit = 1;
	const char *end;

	if (!parse_digits(text, &end, &v))
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > UINT32_MAX || v * unit > UINT32_MAX)
		return -ERANGE;
	*seconds = (uint32_t)(v * unit);
	return 0;
}

static int parse_duration(struct parser *p, const char *what, uint32_t min, uint32_t max,
			  uint32_t *out)
{
	const struct lex_token *t = peek(p);
	int ret;

	if (t->type == LEX_END)
		return expected(p, "a duration");
	next(p);
	ret = t->type == LEX_WORD ? config_parse_duration(t->text, out) : -EINVAL;
	if (ret == -ERANGE)
		return perr(p, t, "duration \"%s\" is too large", q(p, t->text));
	if (ret)
		return perr(p, t, "invalid duration \"%s\"", q(p, t->text));
	if (*out < min)
		return perr(p, t, "%s \"%s\" is too small (minimum %us)", what, q(p, t->text), min);
	if (*out > max)
		return perr(p, t, "%s \"%s\" is too large (maximum %us)", what, q(p, t->text), max);
	return 0;
}

/* A string setting: quoted, or a bare word. */
static int parse_string(struct parser *p, const char *what, char **out)
{
	const struct lex_token *t = peek(p);
	char *copy;

	if (t->type != LEX_STRING && t->type != LEX_WORD)
		return expected(p, what);
	next(p);
	if (!t->text[0])
		return perr(p, t, "empty %s", what);
	copy = strdup(t->text);
	if (!copy)
		return no_memory(p);
	free(*out);
	*out = copy;
	return 0;
}

/* A string setting that may be repeated: appended to list[n], of capacity *cap. */
static int parse_string_item(struct parser *p, const char *what, char ***list, size_t *n,
			     size_t *cap)
{
	char *s = NULL;
	int ret = parse_string(p, what, &s);

	if (ret)
		return ret;
	if (array_room(list, cap, *n + 1, sizeof(**list), ARRAY_FIRST)) {
		free(s);
		return no_memory(p);
	}
	(*list)[(*n)++] = s;
	return 0;
}

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Table and queue names: PF_TABLE_NAME_SIZE, letters, digits, "_" and "-". */
static int check_name(struct parser *p, const struct lex_token *t, const char *what)
{
	size_t n = strlen(t->text);

	if (t->type != LEX_WORD || !n)
		return perr(p, t, "invalid %s name \"%s\"", what, q(p, t->text));
	if (n > NAME_MAX_LEN)
		return perr(p, t, "%s name \"%s\" is too long (at most %d characters)", what,
			    q(p, t->text), NAME_MAX_LEN);
	for (size_t i = 0; i < n; i++) {
		char c = t->text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return perr(p, t, "invalid %s name \"%s\"", what, q(p, t->text));
	}
	return 0;
}

/* The name after a keyword, such as a queue's or a list's. */
static int parse_name(struct parser *p, const char *what, const struct lex_token **name)
{
	char need[32];

	if (peek(p)->type == LEX_END) {
		snprintf(need, sizeof(need), "a %s name", what);
		return expected(p, need);
	}
	*name = next(p);
	return check_name(p, *name, what);
}

/* An address or network: a word, optionally followed by "/" and a length. */
static int parse_address(struct parser *p, struct addr_prefix *out, const struct lex_token **at)
{
	const struct lex_token *t = peek(p), *len;
	char text[128];

	if (t->type != LEX_WORD)
		return expected(p, "an address");
	next(p);
	*at = t;
	if (is_punct(peek(p), '/')) {
		next(p);
		len = peek(p);
		if (len->type != LEX_WORD)
			return expected(p, "a prefix length");
		next(p);
		snprintf(text, sizeof(text), "%.60s/%.60s", t->text, len->text);
	} else {
		snprintf(text, sizeof(text), "%.120s", t->text);
	}
	if (strlen(t->text) > 60 || addr_parse(text, out))
		return perr(p, t, "invalid address \"%s\"", q(p, text));
	return 0;
}

/*
 * The items of "{ a, b c }" or "(a, b)" (commas optional, as pfctl reads
 * lists), one call of item() each; the opening brace or parenthesis is the
 * next token and `close` ends the list. item() sees every other token, the
 * end of the statement too, and consumes it or fails. An empty list is an
 * error "empty <what> list" when `what` is given.
 */
static int parse_list(struct parser *p, char close, const char *what,
		      int (*item)(struct parser *p, void *ctx), void *ctx)
{
	const struct lex_token *t;
	int ret;

	next(p);
	for (bool empty = true;; empty = false) {
		t = peek(p);
		if (is_punct(t, close)) {
			if (empty && what)
				return perr(p, t, "empty %s list", what);
			next(p);
			return 0;
		}
		if (is_punct(t, ',')) {
			next(p);
			continue;
		}
		ret = item(p, ctx);
		if (ret)
			return ret;
	}
}

int config_table_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntables; i++)
		if (!strcmp(cfg->tables[i].name, name))
			return (int)i;
	return -1;
}

static int table_new(struct parser *p, const struct lex_token *t, const char *name,
		     unsigned int flags, int *index)
{
	struct config *cfg = p->cfg;
	struct config_table *tab;

	if (cfg->ntables >= GW_MAX_TABLES)
		return perr(p, t, "too many tables (at most %d)", GW_MAX_TABLES);
	if (array_room(&cfg->tables, &p->tables_cap, cfg->ntables + 1, sizeof(*cfg->tables),
		       ARRAY_FIRST))
		return no_memory(p);
	tab = &cfg->tables[cfg->ntables];
	memset(tab, 0, sizeof(*tab));
	snprintf(tab->name, sizeof(tab->name), "%s", name);
	tab->flags = flags;
	tab->line = t->line;
	*index = (int)cfg->ntables++;
	return 0;
}

/* "<name>": the name token of a table. */
static int parse_table_name(struct parser *p, const struct lex_token **out)
{
	const struct lex_token *name;
	int ret;

	ret = expect_punct(p, '<');
	if (ret)
		return ret;
	name = peek(p);
	if (name->type != LEX_WORD)
		return expected(p, "a table name");
	next(p);
	ret = check_name(p, name, "table");
	if (!ret)
		ret = expect_punct(p, '>');
	if (!ret)
		*out = name;
	return ret;
}

/* "<name>": the table, created as PF does when no `table` line declares it (yet). */
static int parse_table_ref(struct parser *p, int *index)
{
	const struct lex_token *name;
	int ret;

	ret = parse_table_name(p, &name);
	if (ret)
		return ret;
	*index = config_table_index(p->cfg, name->text);
	if (*index >= 0)
		return 0;
	return table_new(p, name, name->text, 0, index);
}

/*
 * An anonymous table for addresses written in a rule. A rule that repeats
 * another's list shares its table: bits are scarce.
 */
static int table_anonymous(struct parser *p, const struct lex_token *t, struct addr_prefix *entries,
			   size_t n, int *index)
{
	struct config *cfg = p->cfg;
	char name[CONFIG_TABLE_NAME_MAX];
	int ret;

	for (size_t i = 0; i < cfg->ntables; i++) {
		const struct config_table *tab = &cfg->tables[i];

		if ((tab->flags & CONFIG_TABLE_ANONYMOUS) && tab->nentries == n &&
		    !memcmp(tab->entries, entries, n * sizeof(*entries))) {
			*index = (int)i;
			free(entries);
			return 0;
		}
	}
	snprintf(name, sizeof(name), "__anon%u", p->nanon);
	ret = table_new(p, t, name, CONFIG_TABLE_ANONYMOUS, index);
	if (ret) {
		free(entries);
		return ret;
	}
	p->nanon++;
	cfg->tables[*index].entries = entries;
	cfg->tables[*index].nentries = n;
	return 0;
}

static int push_entry(struct parser *p, struct addr_prefix **entries, size_t *n, size_t *cap,
		      const struct addr_prefix *a)
{
	if (array_room(entries, cap, *n + 1, sizeof(**entries), ARRAY_FIRST))
		return no_memory(p);
	(*entries)[(*n)++] = *a;
	return 0;
}

/* A table declaration being parsed: its entries and files arrive in one statement. */
struct table_parse {
	struct config_table *tab;
	size_t entries_cap;
	size_t files_cap;
};

/* One address of "{ addr, addr ... }" in a table declaration; the list may be empty. */
static int entry_item(struct parser *p, void *ctx)
{
	struct table_parse *tp = ctx;
	const struct lex_token *t = peek(p), *at;
	struct addr_prefix a;

	if (is_punct(t, '!'))
		return perr(p, t, "negated table entries are not supported");
	if (t->type != LEX_WORD)
		return expected(p, "an address or \"}\"");
	return parse_address(p, &a, &at)
	       ?: push_entry(p, &tp->tab->entries, &tp->tab->nentries, &tp->entries_cap, &a);
}

static int parse_table(struct parser *p)
{
	const struct lex_token *kw = next(p), *name, *t;
	struct table_parse tp = {0};
	struct config_table *tab;
	int index, ret;

	ret = parse_table_name(p, &name);
	if (ret)
		return ret;
	if (!strncmp(name->text, "__", 2))
		return perr(p, name, "table name \"%s\" is reserved", q(p, name->text));
	index = config_table_index(p->cfg, name->text);
	if (index >= 0 && (p->cfg->tables[index].flags & CONFIG_TABLE_DECLARED))
		return perr(p, kw, "table <%s> declared twice", name->text);
	if (index < 0) {
		ret = table_new(p, name, name->text, 0, &index);
		if (ret)
			return ret;
	}
	tab = tp.tab = &p->cfg->tables[index];
	tab->flags |= CONFIG_TABLE_DECLARED;
	tab->line = kw->line;

	for (;;) {
		unsigned int flag = 0;

		t = peek(p);
		if (t->type == LEX_END)
			return 0;
		if (is_kw(t, "persist"))
			flag = CONFIG_TABLE_PERSIST;
		else if (is_kw(t, "const"))
			flag = CONFIG_TABLE_CONST;
		else if (is_kw(t, "counters"))
			flag = CONFIG_TABLE_COUNTERS;
		if (flag) {
			next(p);
			if (tab->flags & flag)
				return perr(p, t, "duplicate \"%s\"", t->text);
			tab->flags |= flag;
		} else if (is_kw(t, "timeout")) {
			next(p);
			if (tab->timeout)
				return perr(p, t, "duplicate \"timeout\"");
			ret = parse_duration(p, "timeout", 1, UINT32_MAX, &tab->timeout);
			if (ret)
				return ret;
		} else if (is_kw(t, "file")) {
			next(p);
			ret = parse_string_item(p, "file name", &tab->files, &tab->nfiles,
						&tp.files_cap);
			if (ret)
				return ret;
		} else if (is_punct(t, '{')) {
			ret = parse_list(p, '}', NULL, entry_item, &tp);
			if (ret)
				return ret;
		} else {
			return unknown_keyword(p, t);
		}
	}
}

/* Bandwidth in bit/s: digits and an optional K, M or G. */
static int parse_bandwidth(struct parser *p, bool nonzero, uint64_t *out)
{
	const struct lex_token *t = peek(p);
	const char *end;
	uint64_t v, unit = 1;

	if (t->type == LEX_END)
		return expected(p, "a bandwidth");
	next(p);
	if (t->type != LEX_WORD || !parse_digits(t->text, &end, &v))
		return perr(p, t, "invalid bandwidth \"%s\"", q(p, t->text));
	if (*end == 'K')
		unit = 1000;
	else if (*end == 'M')
		unit = 1000000;
	else if (*end == 'G')
		unit = 1000000000;
	else if (*end)
		return perr(p, t, "invalid bandwidth \"%s\"", q(p, t->text));
	if (*end && end[1])
		return perr(p, t, "invalid bandwidth \"%s\"", q(p, t->text));
	if (v > MAX_BANDWIDTH / unit)
		return perr(p, t, "bandwidth \"%s\" is too large", q(p, t->text));
	if (nonzero && !v)
		return perr(p, t, "bandwidth \"%s\" must be greater than zero", q(p, t->text));
	*out = v * unit;
	return 0;
}

static int parse_queue(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct lex_token *kw = next(p), *name = NULL, *t;
	struct config_queue qu = {0};
	bool have_bandwidth = false, have_min = false, have_max = false;
	uint64_t v;
	int ret;

	ret = parse_name(p, "queue", &name);
	if (ret)
		return ret;
	for (size_t i = 0; i < cfg->nqueues; i++)
		if (!strcmp(cfg->queues[i].name, name->text))
			return perr(p, kw, "queue \"%s\" declared twice", name->text);
	snprintf(qu.name, sizeof(qu.name), "%s", name->text);
	qu.line = kw->line;

	while ((t = peek(p))->type != LEX_END) {
		bool *seen = NULL;

		if (is_kw(t, "bandwidth"))
			seen = &have_bandwidth;
		else if (is_kw(t, "min"))
			seen = &have_min;
		else if (is_kw(t, "max"))
			seen = &have_max;
		else if (!is_kw(t, "qlimit"))
			return unknown_keyword(p, t);
		next(p);
		if (seen) {
			if (*seen)
				return perr(p, t, "duplicate \"%s\"", t->text);
			*seen = true;
			ret = parse_bandwidth(p, seen == &have_bandwidth,
					      seen == &have_bandwidth ? &qu.bandwidth
					      : seen == &have_min     ? &qu.min
								      : &qu.max);
		} else {
			if (qu.qlimit)
				return perr(p, t, "duplicate \"qlimit\"");
			ret = parse_number(p, "qlimit", 1, 65535, &v);
			qu.qlimit = (uint32_t)v;
		}
		if (ret)
			return ret;
	}
	if (!have_bandwidth)
		return perr(p, name, "queue \"%s\" has no bandwidth", name->text);
	if (cfg->nqueues >= MAX_QUEUES)
		return perr(p, name, "too many queues (at most %d)", MAX_QUEUES);
	if (array_room(&cfg->queues, &p->queues_cap, cfg->nqueues + 1, sizeof(*cfg->queues),
		       ARRAY_FIRST))
		return no_memory(p);
	cfg->queues[cfg->nqueues++] = qu;
	return 0;
}

/* Linux's dev_valid_name(), plus "egress", which names the configured set. */
static int check_ifname(struct parser *p, const struct lex_token *t)
{
	if (t->type != LEX_WORD)
		return expected(p, "an interface name");
	if (strlen(t->text) >= IF_NAMESIZE)
		return perr(p, t, "interface name \"%s\" is too long (at most %d characters)",
			    q(p, t->text), IF_NAMESIZE - 1);
	if (strchr(t->text, ':') || !strcmp(t->text, ".") || !strcmp(t->text, ".."))
		return perr(p, t, "invalid interface name \"%s\"", q(p, t->text));
	return 0;
}

static int add_interface(struct parser *p, const struct lex_token *t)
{
	struct config *cfg = p->cfg;
	int ret = check_ifname(p, t);

	if (ret)
		return ret;
	if (!strcmp(t->text, "egress"))
		return perr(p, t, "interface name \"egress\" is reserved");
	for (size_t i = 0; i < cfg->ninterfaces; i++)
		if (!strcmp(cfg->interfaces[i], t->text))
			return perr(p, t, "interface \"%s\" listed twice", t->text);
	if (cfg->ninterfaces >= CONFIG_MAX_INTERFACES)
		return perr(p, t, "too many interfaces (at most %d)", CONFIG_MAX_INTERFACES);
	snprintf(cfg->interfaces[cfg->ninterfaces++], IF_NAMESIZE, "%s", t->text);
	next(p);
	return 0;
}

static int interface_item(struct parser *p, void *ctx)
{
	(void)ctx;
	return add_interface(p, peek(p));
}

static int parse_set_interface(struct parser *p)
{
	if (!is_punct(peek(p), '{'))
		return add_interface(p, peek(p));
	return parse_list(p, '}', "interface", interface_item, NULL);
}

static int parse_limit_item(struct parser *p, void *ctx)
{
	const struct lex_token *t = peek(p);
	uint64_t v;
	int ret;

	(void)ctx;
	if (t->type != LEX_WORD)
		return expected(p, "a limit");
	if (is_kw(t, "table-entries") || is_kw(t, "table-prefixes")) {
		next(p);
		ret = parse_number(p, t->text, 1, MAX_TABLE_LIMIT, &v);
		if (ret)
			return ret;
		if (is_kw(t, "table-entries"))
			p->cfg->limit_table_hosts = (uint32_t)v;
		else
			p->cfg->limit_table_prefixes = (uint32_t)v;
		return 0;
	}
	return perr(p, t, "unknown limit \"%s\"", q(p, t->text));
}

/*
 * `set control-group NAME`: resolved now, at start and at every reload, so
 * that a group that does not exist is an error naming it rather than a
 * socket nobody can use.
 */
static int parse_control_group(struct parser *p)
{
	const struct lex_token *t = peek(p);
	struct group *gr;
	int ret = parse_string(p, "control-group", &p->cfg->control_group);

	if (ret)
		return ret;
	errno = 0;
	gr = getgrnam(t->text);
	if (!gr)
		return perr(p, t, "control-group \"%s\": %s", q(p, t->text),
			    errno && errno != ENOENT && errno != ESRCH ? strerror(errno)
								       : "no such group");
	p->cfg->control_gid = gr->gr_gid;
	return 0;
}

static int parse_set(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct lex_token *t;
	int ret;

	next(p);
	t = peek(p);
	if (t->type != LEX_WORD)
		return expected(p, "an option");
	next(p);
	if (is_kw(t, "interface")) {
		ret = parse_set_interface(p);
	} else if (is_kw(t, "state-dir")) {
		ret = parse_string(p, "state-dir", &cfg->state_dir);
	} else if (is_kw(t, "bpf-dir")) {
		ret = parse_string(p, "bpf-dir", &cfg->bpf_dir);
	} else if (is_kw(t, "control-socket")) {
		ret = parse_string(p, "control-socket", &cfg->control_socket);
	} else if (is_kw(t, "control-group")) {
		ret = parse_control_group(p);
	} else if (is_kw(t, "dump-dir")) {
		ret = parse_string(p, "dump-dir", &cfg->dump_dir);
	} else if (is_kw(t, "contact")) {
		ret = parse_string(p, "contact", &cfg->contact);
	} else if (is_kw(t, "dump-interval")) {
		ret = parse_duration(p, "dump-interval", 1, UINT32_MAX, &cfg->dump_interval);
	} else if (is_kw(t, "limit")) {
		if (!is_punct(peek(p), '{'))
			ret = parse_limit_item(p, NULL);
		else
			ret = parse_list(p, '}', NULL, parse_limit_item, NULL);
	} else {
		return perr(p, t, "unknown set option \"%s\"", q(p, t->text));
	}
	return ret ? ret : expect_end(p);
}

static int add_warning(struct parser *p, const struct lex_token *t, const char *what)
{
	struct config *cfg = p->cfg;
	char *w;

	if (array_room(&cfg->warnings, &p->warnings_cap, cfg->nwarnings + 1,
		       sizeof(*cfg->warnings), ARRAY_FIRST))
		return no_memory(p);
	if (asprintf(&w, "%s:%d:%d: warning: \"%s\" is not implemented, ignored", p->lx.name,
		     t->line, t->col, what) < 0)
		return no_memory(p);
	cfg->warnings[cfg->nwarnings++] = w;
	return 0;
}

/* Enforce pf.conf's order of rule parts and reject repeated ones. */
static int rule_part(struct parser *p, struct rule_parse *rp, const struct lex_token *t,
		     enum rule_phase phase, unsigned int seen)
{
	if (rp->seen & seen)
		return perr(p, t, "duplicate \"%s\"", q(p, t->text));
	if (phase < rp->phase)
		return perr(p, t, "\"%s\" must come before \"%s\"", q(p, t->text),
			    q(p, rp->phase_tok->text));
	rp->seen |= seen;
	rp->phase = phase;
	rp->phase_tok = t;
	return 0;
}

/* One option of `log (all)`: "all" is the only one, and changes nothing here. */
static int log_item(struct parser *p, void *ctx)
{
	const struct lex_token *t = peek(p);

	(void)ctx;
	if (is_kw(t, "all")) {
		next(p);
		return 0;
	}
	if (t->type == LEX_END)
		return expected(p, "\")\"");
	return perr(p, t, "unknown log option \"%s\"", q(p, t->text));
}

static int parse_log(struct parser *p)
{
	if (!is_punct(peek(p), '('))
		return 0;
	return parse_list(p, ')', NULL, log_item, NULL);
}

static int parse_proto_item(struct parser *p, struct rule_parse *rp)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} protos[] = {
	    {"tcp", GW_PROTO_TCP},	{"udp", GW_PROTO_UDP},		{"icmp", GW_PROTO_ICMP},
	    {"icmp6", GW_PROTO_ICMPV6}, {"ipv6-icmp", GW_PROTO_ICMPV6},
	};
	const struct lex_token *t = peek(p);

	if (t->type != LEX_WORD)
		return expected(p, "a protocol");
	next(p);
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(t->text, protos[i].name)) {
			rp->r.proto_mask |= protos[i].bit;
			return 0;
		}
	}
	return perr(p, t, "unknown protocol \"%s\"", q(p, t->text));
}

static int proto_item(struct parser *p, void *ctx)
{
	return parse_proto_item(p, ctx);
}

static int parse_proto(struct parser *p, struct rule_parse *rp)
{
	if (!is_punct(peek(p), '{'))
		return parse_proto_item(p, rp);
	return parse_list(p, '}', "protocol", proto_item, rp);
}

/* One port as a number or an /etc/services name for the rule's protocol. */
static int resolve_port(struct parser *p, struct rule_parse *rp, const struct lex_token *t,
			const char *text, uint16_t *port)
{
	const char *proto =
	    rp->r.proto_mask & GW_PROTO_UDP && !(rp->r.proto_mask & GW_PROTO_TCP) ? "udp" : "tcp";
	const struct servent *se;
	const char *end;
	uint64_t v;

	if (parse_digits(text, &end, &v) && !*end) {
		if (v > 65535)
			return perr(p, t, "port \"%s\" is too large (maximum 65535)", q(p, text));
		*port = (uint16_t)v;
		return 0;
	}
	se = *text ? getservbyname(text, proto) : NULL;
	if (!se)
		return perr(p, t, "unknown port \"%s\"", q(p, text));
	*port = ntohs((uint16_t)se->s_port);
	return 0;
}

/* "N", "name" or "N:M" (inclusive, as pfctl reads it). */
static int parse_port_item(struct parser *p, struct rule_parse *rp)
{
	const struct lex_token *t = peek(p);
	char lo[LEX_QUOTE_MAX], *colon;
	uint16_t a, b;
	int ret;

	if (t->type != LEX_WORD)
		return expected(p, "a port");
	next(p);
	if (rp->nports >= GW_MAX_RULES)
		return perr(p, t, "too many ports (at most %d)", GW_MAX_RULES);
	colon = strchr(t->text, ':');
	if (!colon) {
		ret = resolve_port(p, rp, t, t->text, &a);
		b = a;
	} else {
		if (strlen(t->text) >= sizeof(lo) || strchr(colon + 1, ':') || colon == t->text ||
		    !colon[1])
			return perr(p, t, "invalid port range \"%s\"", q(p, t->text));
		memcpy(lo, t->text, (size_t)(colon - t->text));
		lo[colon - t->text] = '\0';
		ret = resolve_port(p, rp, t, lo, &a);
		if (!ret)
			ret = resolve_port(p, rp, t, colon + 1, &b);
		if (!ret && a > b)
			return perr(p, t, "invalid port range \"%s\"", q(p, t->text));
	}
	if (ret)
		return ret;
	rp->ports[rp->nports][0] = a;
	rp->ports[rp->nports][1] = b;
	rp->nports++;
	return 0;
}

static int port_item(struct parser *p, void *ctx)
{
	return parse_port_item(p, ctx);
}

static int parse_port(struct parser *p, struct rule_parse *rp, const struct lex_token *kw)
{
	if (rp->r.proto_mask & ~(uint32_t)(GW_PROTO_TCP | GW_PROTO_UDP))
		return perr(p, kw, "\"port\" requires proto tcp or udp");
	if (!is_punct(peek(p), '{'))
		return parse_port_item(p, rp);
	return parse_list(p, '}', "port", port_item, rp);
}

static int check_family(struct parser *p, const struct rule_parse *rp, const struct lex_token *t,
			const struct addr_prefix *a)
{
	if ((rp->r.flags & GW_RULE_INET) && a->family != AF_INET)
		return perr(p, t, "address \"%s\" does not match \"inet\"", q(p, t->text));
	if ((rp->r.flags & GW_RULE_INET6) && a->family != AF_INET6)
		return perr(p, t, "address \"%s\" does not match \"inet6\"", q(p, t->text));
	return 0;
}

/* A from/to host being parsed: the addresses for an anonymous table, and named tables. */
struct host_list {
	struct rule_parse *rp;
	struct addr_prefix *entries;
	size_t n, cap;
	__u64 tables; /* bits of the tables named in a list */
};

static int host_address(struct parser *p, struct host_list *hl)
{
	const struct lex_token *at;
	struct addr_prefix a;

	return parse_address(p, &a, &at) ?: check_family(p, hl->rp, at, &a)
		   ?: push_entry(p, &hl->entries, &hl->n, &hl->cap, &a);
}

static int host_item(struct parser *p, void *ctx)
{
	struct host_list *hl = ctx;
	const struct lex_token *t = peek(p);
	int index, ret;

	if (is_punct(t, '!'))
		return perr(p, t, "negated list entries are not supported");
	if (is_punct(t, '<')) {
		ret = parse_table_ref(p, &index);
		if (!ret)
			hl->tables |= 1ULL << index;
		return ret;
	}
	if (t->type != LEX_WORD)
		return expected(p, "an address, a table or \"}\"");
	return host_address(p, hl);
}

/*
 * The host part of from/to, as table bits: "any" is 0, "<t>" its bit, an
 * address or a list an anonymous table's bit (tables in a list OR-ed in).
 */
static int parse_host(struct parser *p, struct rule_parse *rp, uint32_t not_flag, __u64 *mask)
{
	struct host_list hl = {.rp = rp};
	const struct lex_token *t = peek(p);
	int index, ret;

	*mask = 0;
	if (is_kw(t, "any")) {
		next(p);
		return 0;
	}
	if (is_punct(t, '!')) {
		rp->r.flags |= not_flag;
		next(p);
		t = peek(p);
		if (is_kw(t, "any"))
			return perr(p, t, "\"any\" cannot be negated");
	}
	if (is_punct(t, '<')) {
		ret = parse_table_ref(p, &index);
		if (!ret)
			*mask = 1ULL << index;
		return ret;
	}
	if (t->type == LEX_WORD && !is_kw(t, "any") && !is_kw(t, "port"))
		ret = host_address(p, &hl);
	else if (is_punct(t, '{'))
		ret = parse_list(p, '}', NULL, host_item, &hl);
	else
		return expected(p, "an address, a table or \"any\"");
	if (ret) {
		free(hl.entries);
		return ret;
	}
	/* t is the address, or the "{" of the list. */
	*mask = hl.tables;
	if (!hl.n && !*mask)
		return perr(p, t, "empty address list");
	if (!hl.n)
		return 0;
	ret = table_anonymous(p, t, hl.entries, hl.n, &index);
	if (!ret)
		*mask |= 1ULL << index;
	return ret;
}

static int parse_from(struct parser *p, struct rule_parse *rp)
{
	const struct lex_token *t;
	int ret;

	if (is_kw(peek(p), "port"))
		return perr(p, peek(p), "source ports are not supported");
	ret = parse_host(p, rp, GW_RULE_SRC_NOT, &rp->r.src_tables);
	if (ret)
		return ret;
	t = peek(p);
	if (is_kw(t, "port"))
		return perr(p, t, "source ports are not supported");
	return 0;
}

static int parse_to(struct parser *p, struct rule_parse *rp)
{
	const struct lex_token *t = peek(p);
	int ret;

	if (!is_kw(t, "port")) {
		ret = parse_host(p, rp, GW_RULE_DST_NOT, &rp->r.dst_tables);
		if (ret)
			return ret;
		t = peek(p);
	}
	if (!is_kw(t, "port"))
		return 0;
	next(p);
	return parse_port(p, rp, t);
}

/* The options of `keep state (...)` given so far. */
struct state_parse {
	struct rule_parse *rp;
	const struct lex_token *overload;
	bool have_conn, have_rate, have_states;
};

static int state_item(struct parser *p, void *ctx)
{
	struct state_parse *sp = ctx;
	struct rule_parse *rp = sp->rp;
	const struct lex_token *t = peek(p);
	uint64_t v;
	int index, ret;

	if (t->type == LEX_END)
		return expected(p, "\")\"");
	if (t->type != LEX_WORD)
		return unexpected(p, t);
	next(p);
	if (is_kw(t, "max-src-conn")) {
		if (sp->have_conn)
			return perr(p, t, "duplicate \"max-src-conn\"");
		sp->have_conn = true;
		ret = parse_number(p, "max-src-conn", 1, UINT32_MAX, &v);
		rp->r.max_src_conn = (uint32_t)v;
		return ret;
	}
	if (is_kw(t, "max-src-conn-rate")) {
		const struct lex_token *n = peek(p);

		if (sp->have_rate)
			return perr(p, t, "duplicate \"max-src-conn-rate\"");
		sp->have_rate = true;
		if (n->type == LEX_END)
			return expected(p, "N/S");
		if (n->type != LEX_WORD || !is_punct(&p->tok[p->i + 1], '/'))
			return perr(p, n, "invalid max-src-conn-rate \"%s\" (expected N/S)",
				    q(p, n->text));
		ret = parse_number(p, "max-src-conn-rate", 1, MAX_RATE_CONNS, &v);
		if (ret)
			return ret;
		rp->r.max_src_conn_rate = (uint32_t)v;
		next(p);
		ret = parse_number(p, "max-src-conn-rate seconds", 1, MAX_RATE_SECONDS, &v);
		rp->r.max_src_conn_rate_seconds = (uint32_t)v;
		return ret;
	}
	if (is_kw(t, "max-src-states")) {
		if (sp->have_states)
			return perr(p, t, "duplicate \"max-src-states\"");
		sp->have_states = true;
		/* The data path compares it with signed counts. */
		ret = parse_number(p, "max-src-states", 1, INT32_MAX, &v);
		rp->r.max_src_states = (uint32_t)v;
		return ret;
	}
	if (is_kw(t, "overload")) {
		if (sp->overload)
			return perr(p, t, "duplicate \"overload\"");
		sp->overload = t;
		ret = parse_table_ref(p, &index);
		if (ret)
			return ret;
		rp->r.overload_table = (uint8_t)index;
		if (is_kw(peek(p), "flush")) {
			next(p);
			rp->r.flush = 1;
			if (is_kw(peek(p), "global")) {
				next(p);
				rp->r.flush = 2;
			}
		}
		return 0;
	}
	for (size_t k = 0; k < NIGNORED; k++) {
		if (strcmp(t->text, ignored_state_options[k]))
			continue;
		if (p->warned[k])
			return 0;
		p->warned[k] = true;
		return add_warning(p, t, t->text);
	}
	return perr(p, t, "unknown state option \"%s\"", q(p, t->text));
}

static int parse_state_options(struct parser *p, struct rule_parse *rp)
{
	struct state_parse sp = {.rp = rp};
	int ret;

	if (!is_punct(peek(p), '('))
		return 0;
	ret = parse_list(p, ')', NULL, state_item, &sp);
	if (ret)
		return ret;
	if (sp.overload && !sp.have_conn && !sp.have_rate)
		return perr(p, sp.overload,
			    "\"overload\" requires max-src-conn or max-src-conn-rate");
	return 0;
}

static int parse_flags(struct parser *p, struct rule_parse *rp, const struct lex_token *kw)
{
	const struct lex_token *t = peek(p), *set = NULL, *of = NULL;
	char spec[128];

	if (t->type == LEX_WORD)
		set = next(p);
	if (is_punct(peek(p), '/')) {
		next(p);
		if (peek(p)->type != LEX_WORD)
			return expected(p, "flags");
		of = next(p);
	}
	if (!set && !of)
		return expected(p, "flags");
	snprintf(spec, sizeof(spec), "%.60s%s%.60s", set ? set->text : "", of ? "/" : "",
		 of ? of->text : "");
	if (strcmp(spec, "S/SA"))
		return perr(p, t, "flags \"%s\" are not supported (only S/SA)", q(p, spec));
	if (rp->r.proto_mask != GW_PROTO_TCP)
		return perr(p, kw, "\"flags\" requires proto tcp");
	rp->r.flags |= GW_RULE_FLAGS_S_SA;
	return 0;
}

static int parse_interface_on(struct parser *p, struct rule_parse *rp)
{
	const struct lex_token *t = peek(p);
	int ret = check_ifname(p, t);

	if (ret)
		return ret;
	next(p);
	if (strcmp(t->text, "egress"))
		snprintf(rp->ifname, sizeof(rp->ifname), "%s", t->text);
	return 0;
}

/* One rule part; returns 0 when consumed, -EINVAL otherwise. */
static int parse_rule_part(struct parser *p, struct rule_parse *rp)
{
	const struct lex_token *t = next(p);
	int ret;

	if (is_kw(t, "in"))
		return rule_part(p, rp, t, PHASE_DIRECTION, SEEN_DIRECTION);
	if (is_kw(t, "out"))
		return perr(p, t, "\"out\" is not supported");
	if (is_kw(t, "quick")) {
		ret = rule_part(p, rp, t, PHASE_LOG_QUICK, SEEN_QUICK);
		rp->r.flags |= GW_RULE_QUICK;
		return ret;
	}
	if (is_kw(t, "log")) {
		ret = rule_part(p, rp, t, PHASE_LOG_QUICK, SEEN_LOG);
		rp->r.flags |= GW_RULE_LOG;
		return ret ?: parse_log(p);
	}
	if (is_kw(t, "on"))
		return rule_part(p, rp, t, PHASE_ON, SEEN_ON) ?: parse_interface_on(p, rp);
	if (is_kw(t, "inet") || is_kw(t, "inet6")) {
		if (rp->seen & SEEN_FAMILY)
			return perr(p, t, "duplicate address family \"%s\"", t->text);
		rp->r.flags |= is_kw(t, "inet") ? GW_RULE_INET : GW_RULE_INET6;
		return rule_part(p, rp, t, PHASE_FAMILY, SEEN_FAMILY);
	}
	if (is_kw(t, "proto"))
		return rule_part(p, rp, t, PHASE_PROTO, SEEN_PROTO) ?: parse_proto(p, rp);
	if (is_kw(t, "all"))
		return rule_part(p, rp, t, PHASE_TO, SEEN_FROM | SEEN_TO);
	if (is_kw(t, "from"))
		return rule_part(p, rp, t, PHASE_FROM, SEEN_FROM) ?: parse_from(p, rp);
	if (is_kw(t, "to"))
		return rule_part(p, rp, t, PHASE_TO, SEEN_TO) ?: parse_to(p, rp);
	if (is_kw(t, "flags"))
		return rule_part(p, rp, t, PHASE_OPTIONS, SEEN_FLAGS) ?: parse_flags(p, rp, t);
	if (is_kw(t, "keep")) {
		ret = rule_part(p, rp, t, PHASE_OPTIONS, SEEN_KEEP);
		if (ret)
			return ret;
		if (!is_kw(peek(p), "state"))
			return expected(p, "\"state\"");
		next(p);
		if (rp->r.action != GW_ACT_PASS)
			return perr(p, t, "\"keep state\" is not valid on a block rule");
		rp->r.flags |= GW_RULE_KEEP_STATE;
		return parse_state_options(p, rp);
	}
	if (is_kw(t, "set")) {
		ret = rule_part(p, rp, t, PHASE_OPTIONS, SEEN_QUEUE);
		if (ret)
			return ret;
		if (!is_kw(peek(p), "queue"))
			return expected(p, "\"queue\"");
		next(p);
		if (rp->r.action != GW_ACT_PASS)
			return perr(p, t, "\"set queue\" is not valid on a block rule");
		return parse_name(p, "queue", &rp->queue_tok);
	}
	return unknown_keyword(p, t);
}

static int add_queue_ref(struct parser *p, const struct lex_token *t, size_t first, size_t n)
{
	struct queue_ref *refs;

	if (array_room(&p->qrefs, &p->qrefs_cap, p->nqrefs + 1, sizeof(*p->qrefs), ARRAY_FIRST))
		return no_memory(p);
	refs = p->qrefs;
	refs[p->nqrefs] = (struct queue_ref){
	    .first_rule = first,
	    .nrules = n,
	    .line = t->line,
	    .col = t->col,
	};
	snprintf(refs[p->nqrefs].name, sizeof(refs[0].name), "%s", t->text);
	p->nqrefs++;
	return 0;
}

static int parse_rule(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct lex_token *action = next(p);
	struct rule_parse rp = {0};
	size_t n, first = cfg->nrules;
	int ret;

	rp.r.overload_table = GW_NO_TABLE;
	rp.r.action = GW_ACT_PASS;
	rp.phase_tok = action;
	if (is_kw(action, "block")) {
		rp.r.action = GW_ACT_BLOCK_DROP;
		if (is_kw(peek(p), "drop")) {
			next(p);
		} else if (is_kw(peek(p), "return")) {
			next(p);
			rp.r.action = GW_ACT_BLOCK_RETURN;
		}
	}
	while (peek(p)->type != LEX_END) {
		ret = parse_rule_part(p, &rp);
		if (ret)
			return ret;
	}

	n = rp.nports ? rp.nports : 1;
	if (cfg->nrules + n > GW_MAX_RULES)
		return perr(p, action, "too many rules (at most %d)", GW_MAX_RULES);
	p->rule_number++;
	for (size_t i = 0; i < n; i++) {
		struct config_rule *cr;

		if (array_room(&cfg->rules, &p->rules_cap, cfg->nrules + 1, sizeof(*cfg->rules),
			       ARRAY_FIRST))
			return no_memory(p);
		cr = &cfg->rules[cfg->nrules];
		memset(cr, 0, sizeof(*cr));
		cr->rule = rp.r;
		cr->rule.dport_lo = rp.nports ? rp.ports[i][0] : 0;
		cr->rule.dport_hi = rp.nports ? rp.ports[i][1] : 65535;
		cr->rule.line = (uint32_t)action->line;
		memcpy(cr->ifname, rp.ifname, sizeof(cr->ifname));
		cr->number = p->rule_number;
		cr->line = action->line;
		cr->text = strdup(p->lx.text);
		if (!cr->text)
			return no_memory(p);
		cfg->nrules++;
	}
	if (rp.queue_tok)
		return add_queue_ref(p, rp.queue_tok, first, n);
	return 0;
}

/* `name = value`: the value tokens joined by spaces, as pfctl's varstring. */
static int parse_macro(struct parser *p)
{
	const struct lex_token *name = next(p);
	size_t len = 1;
	char *value;
	int ret;

	for (const char *c = name->text; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
		      (c != name->text && *c >= '0' && *c <= '9')))
			return perr(p, name, "invalid macro name \"%s\"", q(p, name->text));
	next(p);
	if (peek(p)->type == LEX_END)
		return expected(p, "a value");
	for (size_t i = p->i; p->tok[i].type != LEX_END; i++)
		len += strlen(p->tok[i].text) + 1;
	value = calloc(1, len);
	if (!value)
		return no_memory(p);
	for (const struct lex_token *t; (t = next(p))->type != LEX_END;) {
		if (*value)
			strcat(value, " ");
		strcat(value, t->text);
	}
	ret = lex_define(&p->lx, name->text, value);
	free(value);
	return ret;
}

/* A `{ ... }` block of options: option() once per option, until the closing brace. */
static int parse_block(struct parser *p, int (*option)(struct parser *p, void *ctx), void *ctx)
{
	const struct lex_token *t;
	int ret = expect_punct(p, '{');

	while (!ret) {
		t = peek(p);
		if (is_punct(t, '}')) {
			next(p);
			return 0;
		}
		if (t->type == LEX_END)
			return expected(p, "\"}\"");
		ret = option(p, ctx);
	}
	return ret;
}

/*
 * The spamd block's settings that take one value and may be given once: a
 * table, so that defaults, parsing and the duplicate check are one loop each.
 */
enum spamd_kind {
	SPAMD_NUMBER,	/* digits in [min, max] */
	SPAMD_DURATION, /* seconds in [min, max] */
	SPAMD_TEXT,	/* goes into SMTP replies; at most max characters */
	SPAMD_WORD,	/* the same, without spaces */
	SPAMD_COMMAND,	/* the fetch command */
	SPAMD_HOST,	/* an address, not a network */
	SPAMD_SIZE,	/* bytes in [min, max], with an optional K, M or G (powers of 1024) */
};

enum spamd_setting_id {
	SPAMD_SMTP_PORT,
	SPAMD_BLACK_CODE,
	SPAMD_PASSTIME,
	SPAMD_GREYEXP,
	SPAMD_WHITEEXP,
	SPAMD_TRAPEXP,
	SPAMD_SCAN_INTERVAL,
	SPAMD_STUTTER,
	SPAMD_GREYSTUTTER,
	SPAMD_IDLE_TIMEOUT,
	SPAMD_MAXCON,
	SPAMD_MAXBLACK,
	SPAMD_MAXRCPT,
	SPAMD_MAXTUPLES,
	SPAMD_WHITE_PREFIX4,
	SPAMD_WHITE_PREFIX6,
	SPAMD_HOSTNAME,
	SPAMD_BANNER,
	SPAMD_FETCH,
	SPAMD_LOWPRIO_MX,
	SPAMD_MTA_USER,
	SPAMD_LIST_MAX_BYTES,
	SPAMD_LIST_MAX_ENTRIES,
	NSPAMD_SETTINGS,
};

struct spamd_setting {
	const char *name;
	enum spamd_kind kind;
	size_t offset; /* in struct config_spamd */
	size_t size;
	uint64_t min, max, def;
	const char *def_text;
};

#define SPAMD_FIELD(f)                                                                             \
	.offset = offsetof(struct config_spamd, f), .size = sizeof(((struct config_spamd *)0)->f)
#define SPAMD_VALUE(n, k, f, lo, hi, d)                                                            \
	.name = n, .kind = k, SPAMD_FIELD(f), .min = lo, .max = hi, .def = d
#define SPAMD_STRING(n, k, f, len, d)                                                              \
	.name = n, .kind = k, SPAMD_FIELD(f), .max = len, .def_text = d

/* The defaults are spamd's (SPEC section 6); the ranges of stutter and greystutter too. */
static const struct spamd_setting spamd_settings[NSPAMD_SETTINGS] = {
    [SPAMD_SMTP_PORT] = {SPAMD_VALUE("smtp-port", SPAMD_NUMBER, smtp_port, 1, 65535, 25)},
    [SPAMD_BLACK_CODE] = {SPAMD_VALUE("black-code", SPAMD_NUMBER, black_code, 450, 550, 450)},
    [SPAMD_PASSTIME] = {SPAMD_VALUE("passtime", SPAMD_DURATION, passtime, 0, UINT32_MAX, 1500)},
    [SPAMD_GREYEXP] = {SPAMD_VALUE("greyexp", SPAMD_DURATION, greyexp, 1, UINT32_MAX, 14400)},
    [SPAMD_WHITEEXP] = {SPAMD_VALUE("whiteexp", SPAMD_DURATION, whiteexp, 1, UINT32_MAX,
				    864 * 3600)},
    [SPAMD_TRAPEXP] = {SPAMD_VALUE("trapexp", SPAMD_DURATION, trapexp, 1, UINT32_MAX, 86400)},
    [SPAMD_SCAN_INTERVAL] = {SPAMD_VALUE("scan-interval", SPAMD_DURATION, scan_interval, 1,
					 UINT32_MAX, 60)},
    [SPAMD_STUTTER] = {SPAMD_VALUE("stutter", SPAMD_DURATION, stutter, 0, 10, 1)},
    [SPAMD_GREYSTUTTER] = {SPAMD_VALUE("greystutter", SPAMD_DURATION, greystutter, 0, 90, 10)},
    [SPAMD_IDLE_TIMEOUT] = {SPAMD_VALUE("idle-timeout", SPAMD_DURATION, idle_timeout, 1, UINT32_MAX,
					400)},
    [SPAMD_MAXCON] = {SPAMD_VALUE("maxcon", SPAMD_NUMBER, maxcon, 1, MAX_SPAMD_CONNECTIONS, 800)},
    /* The default depends on maxcon: see spamd_finish(). */
    [SPAMD_MAXBLACK] = {SPAMD_VALUE("maxblack", SPAMD_NUMBER, maxblack, 0, MAX_SPAMD_CONNECTIONS,
				    0)},
    /* RFC 5321 4.5.3.1.8: a server must take at least 100 recipients. */
    [SPAMD_MAXRCPT] = {SPAMD_VALUE("maxrcpt", SPAMD_NUMBER, maxrcpt, 1, MAX_SPAMD_RCPTS, 100)},
    [SPAMD_MAXTUPLES] = {SPAMD_VALUE("maxtuples", SPAMD_NUMBER, maxtuples, 1, MAX_SPAMD_TUPLES,
				     200)},
    [SPAMD_WHITE_PREFIX4] = {SPAMD_VALUE("white-prefix4", SPAMD_NUMBER, white_prefix4, 8, 32, 32)},
    [SPAMD_WHITE_PREFIX6] = {SPAMD_VALUE("white-prefix6", SPAMD_NUMBER, white_prefix6, 16, 128,
					 128)},
    [SPAMD_HOSTNAME] = {SPAMD_STRING("hostname", SPAMD_WORD, hostname, MAX_SPAMD_HOSTNAME, NULL)},
    [SPAMD_BANNER] = {SPAMD_STRING("banner", SPAMD_TEXT, banner, MAX_SPAMD_BANNER,
				   "greywall IP-based SPAM blocker")},
    [SPAMD_FETCH] = {SPAMD_STRING("fetch", SPAMD_COMMAND, fetch, 0, NULL)},
    [SPAMD_LOWPRIO_MX] = {SPAMD_STRING("lowprio-mx", SPAMD_HOST, lowprio_mx, 0, NULL)},
    [SPAMD_MTA_USER] = {SPAMD_STRING("mta-user", SPAMD_WORD, mta_user, MAX_USER_NAME, "postfix")},
    /* The loader's bounds (blacklist.h): a list past one keeps its last good version. */
    [SPAMD_LIST_MAX_BYTES] = {SPAMD_VALUE("list-max-bytes", SPAMD_SIZE, list_max_bytes, 1024,
					  1ull << 40, 64ull << 20)},
    [SPAMD_LIST_MAX_ENTRIES] = {SPAMD_VALUE("list-max-entries", SPAMD_NUMBER, list_max_entries, 1,
					    100000000, 1000000)},
};

/* Where each setting was given (for duplicates and the checks at the end). */
struct spamd_parse {
	struct config_spamd *s;
	const struct lex_token *seen[NSPAMD_SETTINGS];
	const struct lex_token *first_url;
	const struct lex_token *sync;
	const struct lex_token *keyword;	/* `spamd`: where implicit tables are declared */
	/* Capacities of the block's arrays: one block fills them all. */
	size_t listen_cap, lists_cap, spamtraps_cap, alloweddomains_cap, valid_recipients_cap;
};

static void store_uint(void *field, size_t size, uint64_t v)
{
	if (size == sizeof(uint8_t))
		*(uint8_t *)field = (uint8_t)v;
	else if (size == sizeof(uint16_t))
		*(uint16_t *)field = (uint16_t)v;
	else if (size == sizeof(uint32_t))
		*(uint32_t *)field = (uint32_t)v;
	else
		*(uint64_t *)field = v;
}

/* A byte count: digits, then nothing or K, M or G (powers of 1024), in [min, max]. */
static int parse_size(struct parser *p, const char *what, uint64_t min, uint64_t max,
		      uint64_t *out)
{
	const struct lex_token *t = peek(p);
	static const char units[] = "KMG";
	const char *end, *unit;
	int shift = 0;

	if (t->type == LEX_END)
		return expected(p, what);
	next(p);
	if (t->type != LEX_WORD || !parse_digits(t->text, &end, out))
		return perr(p, t, "invalid %s \"%s\"", what, q(p, t->text));
	if (*end) {
		unit = strchr(units, *end);
		if (!unit || end[1])
			return perr(p, t, "invalid %s \"%s\"", what, q(p, t->text));
		shift = 10 * (int)(unit - units + 1);
		if (*out > (UINT64_MAX >> shift))
			return perr(p, t, "%s \"%s\" is too large (maximum %llu)", what,
				    q(p, t->text), (unsigned long long)max);
		*out <<= shift;
	}
	return check_range(p, t, what, *out, min, max);
}

/*
 * Text that goes into SMTP replies: a control character could end a reply
 * line early or forge another one, and a reply line has at most 512 bytes.
 */
static int check_reply_text(struct parser *p, const struct lex_token *t, const char *what,
			    size_t max, bool spaces)
{
	if (strlen(t->text) > max)
		return perr(p, t, "%s \"%s\" is too long (at most %zu characters)", what,
			    q(p, t->text), max);
	for (const unsigned char *c = (const unsigned char *)t->text; *c; c++)
		if (*c < 0x20 || *c == 0x7f || (*c == ' ' && !spaces))
			return perr(p, t, "invalid character in %s \"%s\"", what, q(p, t->text));
	return 0;
}

/*
 * The fetch command runs without a shell, its words its arguments; the
 * URL becomes the last one, after a "--" that keeps it from being an option.
 */
static int check_fetch(struct parser *p, const struct lex_token *t)
{
	if (!blacklist_fetcher_valid(t->text))
		return perr(p, t, "fetch \"%s\" must end with \"-- %%s\" and hold no other %%",
			    q(p, t->text));
	return 0;
}

/* A host address: the tarpit binds to it, or compares a connection's destination with it. */
static int parse_host_address(struct parser *p, const char *what, struct addr_prefix *out)
{
	const struct lex_token *at;
	char text[ADDR_STRLEN];
	int ret = parse_address(p, out, &at);

	if (ret)
		return ret;
	if (!addr_is_host(out)) {
		addr_format(out, text, sizeof(text));
		return perr(p, at, "%s \"%s\" is a network, not an address", what, text);
	}
	return 0;
}

static int parse_spamd_setting(struct parser *p, struct spamd_parse *sp, enum spamd_setting_id id)
{
	const struct spamd_setting *set = &spamd_settings[id];
	const struct lex_token *kw = next(p), *value = peek(p);
	void *field = (char *)sp->s + set->offset;
	uint64_t v;
	int ret;

	if (sp->seen[id])
		return perr(p, kw, "duplicate \"%s\"", set->name);
	sp->seen[id] = kw;
	switch (set->kind) {
	case SPAMD_NUMBER:
		ret = parse_number(p, set->name, set->min, set->max, &v);
		if (!ret && id == SPAMD_BLACK_CODE && v != 450 && v != 550)
			ret = perr(p, value, "black-code \"%s\" must be 450 or 550",
				   q(p, value->text));
		if (!ret)
			store_uint(field, set->size, v);
		return ret;
	case SPAMD_DURATION:
		return parse_duration(p, set->name, (uint32_t)set->min, (uint32_t)set->max, field);
	case SPAMD_TEXT:
	case SPAMD_WORD:
		return parse_string(p, set->name, field)
			   ?: check_reply_text(p, value, set->name, set->max,
					       set->kind == SPAMD_TEXT);
	case SPAMD_COMMAND:
		return parse_string(p, set->name, field) ?: check_fetch(p, value);
	case SPAMD_HOST:
		return parse_host_address(p, set->name, field);
	case SPAMD_SIZE:
		ret = parse_size(p, set->name, set->min, set->max, &v);
		if (!ret)
			store_uint(field, set->size, v);
		return ret;
	}
	return unknown_keyword(p, kw);
}

static int spamd_defaults(struct parser *p, struct config_spamd *s)
{
	for (size_t i = 0; i < NSPAMD_SETTINGS; i++) {
		const struct spamd_setting *set = &spamd_settings[i];
		void *field = (char *)s + set->offset;

		if (set->kind == SPAMD_NUMBER || set->kind == SPAMD_DURATION ||
		    set->kind == SPAMD_SIZE)
			store_uint(field, set->size, set->def);
		else if (set->def_text && !(*(char **)field = strdup(set->def_text)))
			return no_memory(p);
	}
	return 0;
}

/* `listen ADDR [port N]`; the first one replaces the default sockets. */
static int parse_spamd_listen(struct parser *p, struct spamd_parse *sp)
{
	struct config_spamd *s = sp->s;
	struct config_listen l = {.port = CONFIG_SPAMD_LISTEN_PORT};
	const struct lex_token *kw = next(p);
	char text[ADDR_STRLEN];
	uint64_t v;
	int ret = parse_host_address(p, "listen", &l.addr);

	if (!ret && is_kw(peek(p), "port")) {
		next(p);
		ret = parse_number(p, "port", 1, 65535, &v);
		l.port = (uint16_t)v;
	}
	if (ret)
		return ret;
	for (size_t i = 0; i < s->nlisten; i++) {
		if (s->listen[i].port == l.port && addr_equal(&s->listen[i].addr, &l.addr)) {
			addr_format(&l.addr, text, sizeof(text));
			return perr(p, kw, "duplicate \"listen %s port %u\"", text, l.port);
		}
	}
	if (array_room(&s->listen, &sp->listen_cap, s->nlisten + 1, sizeof(*s->listen),
		       ARRAY_FIRST))
		return no_memory(p);
	s->listen[s->nlisten++] = l;
	return 0;
}

/* `spamtraps file "path"` and the like: several files add up. */
static int parse_spamd_file(struct parser *p, char ***list, size_t *n, size_t *cap)
{
	next(p);
	if (!is_kw(peek(p), "file"))
		return expected(p, "\"file\"");
	next(p);
	return parse_string_item(p, "file name", list, n, cap);
}

struct list_parse {
	struct spamd_parse *sp;
	struct config_list *l;
	size_t files_cap, execs_cap, urls_cap;
};

static int parse_list_option(struct parser *p, void *ctx)
{
	struct list_parse *lp = ctx;
	struct config_list *l = lp->l;
	const struct lex_token *t = next(p), *value = peek(p);

	if (is_kw(t, "file"))
		return parse_string_item(p, "file name", &l->files, &l->nfiles, &lp->files_cap);
	if (is_kw(t, "exec"))
		return parse_string_item(p, "command", &l->execs, &l->nexecs, &lp->execs_cap);
	if (is_kw(t, "url")) {
		if (!lp->sp->first_url)
			lp->sp->first_url = t;
		return parse_string_item(p, "URL", &l->urls, &l->nurls, &lp->urls_cap);
	}
	if (!is_kw(t, "msg"))
		return unknown_keyword(p, t);
	if (l->white)
		return perr(p, t, "\"msg\" is not valid in a whitelist");
	if (l->msg)
		return perr(p, t, "duplicate \"msg\"");
	return parse_string(p, "msg", &l->msg)
		   ?: check_reply_text(p, value, "msg", MAX_SPAMD_MSG, true);
}

/* `blacklist NAME { sources msg "text" }` or `whitelist NAME { sources }`. */
static int parse_spamd_list(struct parser *p, struct spamd_parse *sp)
{
	struct config_spamd *s = sp->s;
	const struct lex_token *kw = next(p), *name = NULL;
	bool white = is_kw(kw, "whitelist"), black_before = false;
	struct list_parse lp = {.sp = sp};
	int ret;

	ret = parse_name(p, "list", &name);
	if (ret)
		return ret;
	for (size_t i = 0; i < s->nlists; i++) {
		if (!strcmp(s->lists[i].name, name->text))
			return perr(p, name, "list \"%s\" declared twice", name->text);
		black_before |= !s->lists[i].white;
	}
	/* spamd-setup subtracts a whitelist from the blacklists before it: here there are none. */
	if (white && !black_before)
		return perr(p, kw, "whitelist \"%s\" follows no blacklist", name->text);
	if (array_room(&s->lists, &sp->lists_cap, s->nlists + 1, sizeof(*s->lists), ARRAY_FIRST))
		return no_memory(p);
	lp.l = memset(&s->lists[s->nlists++], 0, sizeof(*lp.l));
	lp.l->white = white;
	lp.l->line = kw->line;
	lp.l->name = strdup(name->text);
	if (!lp.l->name)
		return no_memory(p);
	ret = parse_block(p, parse_list_option, &lp);
	if (ret)
		return ret;
	if (!lp.l->nfiles && !lp.l->nexecs && !lp.l->nurls)
		return perr(p, name, "%s \"%s\" has no file, exec or url", kw->text, name->text);
	if (!white && !lp.l->msg)
		return perr(p, name, "blacklist \"%s\" has no msg", name->text);
	return 0;
}

/* spamd's sync is not implemented: its block is skipped with one warning. */
static int parse_spamd_sync(struct parser *p, struct spamd_parse *sp)
{
	const struct lex_token *kw = next(p), *t;
	int depth = 1, ret;

	if (sp->sync)
		return perr(p, kw, "duplicate \"sync\"");
	sp->sync = kw;
	ret = expect_punct(p, '{');
	if (ret)
		return ret;
	while (depth) {
		t = peek(p);
		if (t->type == LEX_END)
			return expected(p, "\"}\"");
		next(p);
		if (is_punct(t, '{'))
			depth++;
		else if (is_punct(t, '}'))
			depth--;
	}
	return add_warning(p, kw, "sync");
}

static int parse_spamd_option(struct parser *p, void *ctx)
{
	struct spamd_parse *sp = ctx;
	struct config_spamd *s = sp->s;
	const struct lex_token *t = peek(p);

	for (size_t i = 0; i < NSPAMD_SETTINGS; i++)
		if (is_kw(t, spamd_settings[i].name))
			return parse_spamd_setting(p, sp, (enum spamd_setting_id)i);
	if (is_kw(t, "listen"))
		return parse_spamd_listen(p, sp);
	if (is_kw(t, "spamtraps"))
		return parse_spamd_file(p, &s->spamtraps, &s->nspamtraps, &sp->spamtraps_cap);
	if (is_kw(t, "alloweddomains"))
		return parse_spamd_file(p, &s->alloweddomains, &s->nalloweddomains,
					&sp->alloweddomains_cap);
	if (is_kw(t, "valid-recipients"))
		return parse_spamd_file(p, &s->valid_recipients, &s->nvalid_recipients,
					&sp->valid_recipients_cap);
	if (is_kw(t, "blacklist") || is_kw(t, "whitelist"))
		return parse_spamd_list(p, sp);
	if (is_kw(t, "sync"))
		return parse_spamd_sync(p, sp);
	return unknown_keyword(p, t);
}

/* What depends on several settings, checked once all of them are known. */
static const char *const spamd_tables[] = { CONFIG_TABLE_SPAMD_WHITE, CONFIG_TABLE_SPAMD_GREYTRAP,
					    CONFIG_TABLE_NOSPAMD };

static int spamd_finish(struct parser *p, struct spamd_parse *sp)
{
	static const struct config_listen default_listen[] = {
	    {.addr = {.family = AF_INET, .plen = 32, .bytes = {127, 0, 0, 1}},
	     .port = CONFIG_SPAMD_LISTEN_PORT},
	    {.addr = {.family = AF_INET6, .plen = 128, .bytes = {[15] = 1}},
	     .port = CONFIG_SPAMD_LISTEN_PORT},
	};
	struct config_spamd *s = sp->s;
	const struct lex_token *grey = sp->seen[SPAMD_PASSTIME] ?: sp->seen[SPAMD_GREYEXP];

	if (!sp->seen[SPAMD_MAXBLACK])
		s->maxblack = s->maxcon > 100 ? s->maxcon - 100 : 0;
	else if (s->maxblack > s->maxcon)
		return perr(p, sp->seen[SPAMD_MAXBLACK], "maxblack %u is greater than maxcon %u",
			    s->maxblack, s->maxcon);
	/* Otherwise every greylist entry expires before its retry could pass. */
	if (grey && s->passtime >= s->greyexp)
		return perr(p, grey, "passtime %us must be shorter than greyexp %us", s->passtime,
			    s->greyexp);
	if (sp->first_url && !s->fetch)
		return perr(p, sp->first_url, "\"url\" needs a \"fetch\" command");
	/*
	 * The tables the greylister fills (and <nospamd>, which the operator
	 * fills), unless the config declares them itself, before or after.
	 */
	for (size_t i = 0; i < sizeof(spamd_tables) / sizeof(spamd_tables[0]); i++) {
		int index, ret = 0;

		if (config_table_index(p->cfg, spamd_tables[i]) < 0)
			ret = table_new(p, sp->keyword, spamd_tables[i], 0, &index);
		if (ret)
			return ret;
	}
	if (s->nlisten)
		return 0;
	s->listen = malloc(sizeof(default_listen));
	if (!s->listen)
		return no_memory(p);
	memcpy(s->listen, default_listen, sizeof(default_listen));
	s->nlisten = sizeof(default_listen) / sizeof(default_listen[0]);
	return 0;
}

static int parse_spamd(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct lex_token *kw = next(p);
	struct spamd_parse sp = {0};

	if (cfg->spamd)
		return perr(p, kw, "\"spamd\" block declared twice");
	cfg->spamd = calloc(1, sizeof(*cfg->spamd));
	if (!cfg->spamd)
		return no_memory(p);
	sp.s = cfg->spamd;
	sp.s->line = kw->line;
	sp.keyword = kw;
	return spamd_defaults(p, sp.s) ?: parse_block(p, parse_spamd_option, &sp)
					 ?: expect_end(p) ?: spamd_finish(p, &sp);
}

static void spamd_free(struct config_spamd *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nlists; i++) {
		free(s->lists[i].name);
		free(s->lists[i].msg);
		free_strings(s->lists[i].files, s->lists[i].nfiles);
		free_strings(s->lists[i].execs, s->lists[i].nexecs);
		free_strings(s->lists[i].urls, s->lists[i].nurls);
	}
	free(s->lists);
	free(s->listen);
	free(s->hostname);
	free(s->banner);
	free(s->fetch);
	free(s->mta_user);
	free_strings(s->spamtraps, s->nspamtraps);
	free_strings(s->alloweddomains, s->nalloweddomains);
	free_strings(s->valid_recipients, s->nvalid_recipients);
	free(s);
}

static int parse_statement(struct parser *p)
{
	const struct lex_token *t = peek(p);

	if (t->type == LEX_END)
		return 0;
	if (t->type == LEX_WORD && is_punct(&p->tok[1], '='))
		return parse_macro(p);
	if (is_kw(t, "set"))
		return parse_set(p);
	if (is_kw(t, "table"))
		return parse_table(p);
	if (is_kw(t, "queue"))
		return parse_queue(p);
	if (is_kw(t, "block") || is_kw(t, "pass"))
		return parse_rule(p);
	if (is_kw(t, "spamd"))
		return parse_spamd(p);
	return unknown_keyword(p, t);
}

/* `set queue NAME` may name a queue declared further down, as in pf.conf. */
static int resolve_queue_refs(struct parser *p)
{
	struct config *cfg = p->cfg;

	for (size_t r = 0; r < p->nqrefs; r++) {
		const struct queue_ref *ref = &p->qrefs[r];
		size_t i;

		for (i = 0; i < cfg->nqueues; i++)
			if (!strcmp(cfg->queues[i].name, ref->name))
				break;
		if (i == cfg->nqueues)
			return lex_error(&p->lx, ref->line, ref->col,
					 "queue \"%s\" is not declared", ref->name);
		for (size_t k = 0; k < ref->nrules; k++)
			cfg->rules[ref->first_rule + k].rule.queue = (uint8_t)(i + 1);
	}
	return 0;
}

static int config_init(struct config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->state_dir = strdup(DEFAULT_STATE_DIR);
	cfg->bpf_dir = strdup(DEFAULT_BPF_DIR);
	cfg->control_socket = strdup(DEFAULT_CONTROL_SOCKET);
	cfg->dump_dir = strdup(DEFAULT_DUMP_DIR);
	cfg->path = strdup(name);
	cfg->dump_interval = DEFAULT_DUMP_INTERVAL;
	cfg->limit_table_hosts = DEFAULT_TABLE_HOSTS;
	cfg->limit_table_prefixes = DEFAULT_TABLE_PREFIXES;
	if (!cfg->state_dir || !cfg->bpf_dir || !cfg->control_socket || !cfg->dump_dir ||
	    !cfg->path)
		return -ENOMEM;
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntables; i++) {
		free_strings(cfg->tables[i].files, cfg->tables[i].nfiles);
		free(cfg->tables[i].entries);
	}
	for (size_t i = 0; i < cfg->nrules; i++)
		free(cfg->rules[i].text);
	for (size_t i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->tables);
	free(cfg->rules);
	free(cfg->queues);
	spamd_free(cfg->spamd);
	free(cfg->warnings);
	free(cfg->state_dir);
	free(cfg->bpf_dir);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->dump_dir);
	free(cfg->contact);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_string(const char *name, const char *text, struct config *cfg, char *err,
		       size_t errlen)
{
	struct parser p = {.cfg = cfg};
	int ret;

	lex_init(&p.lx, name, text, err, errlen);
	ret = config_init(cfg, name);
	if (ret) {
		no_memory(&p);
	} else {
		while ((ret = lex_statement(&p.lx)) > 0) {
			p.tok = p.lx.tokens;
			p.i = 0;
			ret = parse_statement(&p);
			if (ret)
				break;
		}
		if (!ret)
			ret = resolve_queue_refs(&p);
	}
	lex_free(&p.lx);
	free(p.qrefs);
	if (ret)
		config_free(cfg);
	return ret;
}

int config_load_file(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *text, *nul;
	size_t n = 0;
	ssize_t got;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		goto fail_io;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto fail_io;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		ret = -ENOMEM;
		goto fail_io;
	}
	while (n < (size_t)st.st_size && (got = read(fd, text + n, (size_t)st.st_size - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			free(text);
			goto fail_io;
		}
		n += (size_t)got;
	}
	close(fd);
	text[n] = '\0';
	nul = memchr(text, '\0', n);
	if (nul) {
		int line = 1, col = 1;

		for (const char *c = text; c < nul; c++, col++)
			if (*c == '\n')
				line++, col = 0;
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: unexpected character \"\\x00\"", path,
				 line, col);
		free(text);
		return -EINVAL;
	}
	ret = config_load_string(path, text, cfg, err, errlen);
	free(text);
	return ret;

fail_io:
	if (fd >= 0)
		close(fd);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EINVAL ? "not a regular file" : strerror(-ret));
	return ret;
}
