// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The pf.conf part of greywall.conf: tables, queues and rules, the rules
 * compiled into struct gw_rule for the data path.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/parse.h"
#include "lib/array.h"

#define MAX_QUEUES	 255		     /* gw_rule.queue is a __u8, 0 = none */
#define MAX_BANDWIDTH	 1000000000000ULL    /* 1 Tbit/s */
#define MAX_RATE_CONNS	 (UINT32_MAX / 1000) /* PF_THRESHOLD_MAX: counts are kept x1000 */
#define MAX_RATE_SECONDS 86400

/*
 * Tokens greywall accepts in keep-state options without implementing them.
 * Each one is reported once per load, at its first use.
 */
static const char *const ignored_state_options[] = {
    "pflow",
};

_Static_assert(sizeof(ignored_state_options) / sizeof(ignored_state_options[0]) ==
		   IGNORED_STATE_OPTIONS,
	       "parse.h counts the ignored state options");

/* `proto` names; protocols by number are not supported. */
static const struct {
	const char *name;
	uint32_t bit;
} protos[] = {
    {"tcp", GW_PROTO_TCP},	{"udp", GW_PROTO_UDP},		{"icmp", GW_PROTO_ICMP},
    {"icmp6", GW_PROTO_ICMPV6}, {"ipv6-icmp", GW_PROTO_ICMPV6},
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

int config_table_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ntables; i++)
		if (!strcmp(cfg->tables[i].name, name))
			return (int)i;
	return -1;
}

int table_new(struct parser *p, const struct lex_token *t, const char *name, unsigned int flags,
	      int *index)
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

int parse_table_ref(struct parser *p, int *index)
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
	size_t peers_cap;
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

/* The longest peer source (a path or URL) accepted. */
#define PEER_SOURCE_MAX 2048

/*
 * An optional ";" between peers (`peer "a" every 30m; peer "b"`): the
 * tokenizer makes ";" part of a word, so it may also end the duration.
 */
static bool is_semicolon(const struct lex_token *t)
{
	return t->type == LEX_WORD && !strcmp(t->text, ";");
}

static void skip_semicolon(struct parser *p)
{
	if (is_semicolon(peek(p)))
		next(p);
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/*
 * One `peer "SOURCE" [every DURATION]` or `peer exec "COMMAND" [every
 * DURATION]` of `exchange { }`. An exec peer's source is "exec COMMAND":
 * paths start with '/' and URLs with "http", so no source is both.
 */
static int exchange_option(struct parser *p, void *ctx)
{
	struct table_parse *tp = ctx;
	struct config_table *tab = tp->tab;
	const struct lex_token *kw = next(p), *src;
	struct config_peer *peer;
	char *source;
	bool exec = false;
	int ret;

	if (is_semicolon(kw))
		return 0;
	if (!is_kw(kw, "peer"))
		return unknown_keyword(p, kw);
	if (is_kw(peek(p), "exec")) {
		next(p);
		exec = true;
	}
	src = peek(p);
	if (src->type != LEX_STRING)
		return expected(p, exec ? "a command in quotes" : "a peer's path or URL in quotes");
	if (exec && !src->text[strspn(src->text, " \t")])
		return perr(p, src, "empty command");
	if (!exec && src->text[0] != '/' && !is_url(src->text))
		return perr(p, src, "peer \"%s\" is neither an absolute path nor an http(s) URL",
			    q(p, src->text));
	if (strlen(src->text) > PEER_SOURCE_MAX - 5)
		return perr(p, src, "peer is longer than %d characters", PEER_SOURCE_MAX - 5);
	for (const char *c = src->text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || (is_url(src->text) && *c == ' '))
			return perr(p, src, "peer \"%s\" holds a control character or a blank",
				    q(p, src->text));
	source = malloc(strlen(src->text) + 6);
	if (source)
		sprintf(source, "%s%s", exec ? "exec " : "", src->text);
	for (size_t i = 0; source && i < tab->npeers; i++)
		if (!strcmp(tab->peers[i].source, source)) {
			free(source);
			return perr(p, src, "peer \"%s\" given twice", q(p, src->text));
		}
	next(p);
	if (!source || array_room(&tab->peers, &tp->peers_cap, tab->npeers + 1, sizeof(*tab->peers),
				  ARRAY_FIRST)) {
		free(source);
		return no_memory(p);
	}
	peer = &tab->peers[tab->npeers++];
	*peer = (struct config_peer){ .source = source, .every = CONFIG_EXCHANGE_EVERY_DEFAULT,
				      .line = src->line, .col = src->col };
	if (is_kw(peek(p), "every")) {
		struct lex_token *d;
		size_t len;

		next(p);
		d = peek(p);
		len = d->type == LEX_WORD ? strlen(d->text) : 0;
		if (len > 1 && d->text[len - 1] == ';')
			d->text[len - 1] = '\0';
		ret = parse_duration(p, "every", CONFIG_EXCHANGE_EVERY_MIN,
				     CONFIG_EXCHANGE_EVERY_MAX, &peer->every);
		if (ret)
			return ret;
	}
	skip_semicolon(p);
	return 0;
}

int parse_table(struct parser *p)
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
			if (flag == CONFIG_TABLE_CONST && tab->npeers)
				return perr(p, t, "table <%s> is const: peers cannot add to it",
					    tab->name);
			if (flag == CONFIG_TABLE_CONST && watch_writing_table(p->cfg, index))
				return perr(p, t,
					    "table <%s> is const: watch \"%s\" cannot list "
					    "sources in it",
					    tab->name, watch_writing_table(p->cfg, index));
			if (flag == CONFIG_TABLE_CONST && p->cfg->crowdsec &&
			    p->cfg->crowdsec->table == index)
				return perr(p, t,
					    "table <%s> is const: crowdsec cannot list sources in it",
					    tab->name);
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
		} else if (is_kw(t, "exchange")) {
			next(p);
			if (tab->flags & CONFIG_TABLE_CONST)
				return perr(p, t, "table <%s> is const: peers cannot add to it",
					    tab->name);
			if (tab->npeers)
				return perr(p, t, "duplicate \"exchange\"");
			ret = parse_block(p, exchange_option, &tp);
			if (ret)
				return ret;
			if (!tab->npeers)
				return perr(p, t, "empty exchange: name a peer");
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

int parse_queue(struct parser *p)
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
	for (size_t k = 0; k < IGNORED_STATE_OPTIONS; k++) {
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

int parse_rule(struct parser *p)
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

/* `set queue NAME` may name a queue declared further down, as in pf.conf. */
int resolve_queue_refs(struct parser *p)
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

void rules_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const table[] = {
	    "persist", "const", "counters", "timeout", "file", "exchange", NULL,
	};
	static const char *const exchange[] = {"peer", "exec", "every", NULL};
	static const char *const queue[] = {"bandwidth", "min", "max", "qlimit", NULL};
	static const char *const rule[] = {
	    "block", "drop",   "return", "pass",  "in",	   "quick", "log", "all",
	    "on",    "egress", "inet",	 "inet6", "proto", "from",  "to",  "any",
	    "port",  "flags",  "keep",	 "state", "set",   "queue", NULL,
	};
	static const char *const state[] = {
	    "max-src-conn", "max-src-conn-rate", "max-src-states", "overload", "flush", "global",
	    NULL,
	};

	keywords_each("table", table, fn, ctx);
	keywords_each("exchange", exchange, fn, ctx);
	keywords_each("queue", queue, fn, ctx);
	keywords_each("rule", rule, fn, ctx);
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		fn("protocol", protos[i].name, ctx);
	keywords_each("keep state", state, fn, ctx);
	for (size_t i = 0; i < IGNORED_STATE_OPTIONS; i++)
		fn("keep state", ignored_state_options[i], ctx);
}
