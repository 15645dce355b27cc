// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The `spamd { ... }` block of greywall.conf: the tarpit's and the
 * greylister's settings, spamd(8)'s flags and spamd-setup(8)'s lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/parse.h"
#include "lib/array.h"
#include "spamd/blacklist.h"
#include "sync/wire.h"

#define MAX_SPAMD_CONNECTIONS 1000000 /* maxcon: a held connection costs a few hundred bytes */
/* maxrcpt and maxtuples: more than any real sender needs, few enough to stay a bound. */
#define MAX_SPAMD_RCPTS	   100000
#define MAX_SPAMD_TUPLES   100000
#define MAX_SPAMD_HOSTNAME 255 /* RFC 1035 */
/* "220 <hostname> ESMTP <banner>; <date>" must fit a 512-byte reply line. */
#define MAX_SPAMD_BANNER 200
#define MAX_USER_NAME	 32 /* useradd's limit */
#define MAX_SPAMD_MSG	 1024

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

/* The defaults are spamd(8)'s; the ranges of stutter and greystutter too. */
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
	const struct lex_token *tarpit;
	const struct lex_token *keyword; /* `spamd`: where implicit tables are declared */
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
		return perr(p, t, "fetch \"%s\" must end with \"-- %%s\" and hold no other %% but words %%t",
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
	const struct lex_token *policy;
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
	if (is_kw(t, "policy")) {
		if (l->white)
			return perr(p, t, "\"policy\" is not valid in a whitelist");
		if (lp->policy)
			return perr(p, t, "duplicate \"policy\"");
		lp->policy = t;
		if (!is_kw(value, "defer") && !is_kw(value, "reject"))
			return expected(p, "defer or reject");
		l->policy_defer = is_kw(value, "defer");
		next(p);
		return 0;
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

#define MAX_SYNC_HOST 253 /* RFC 1035, a name without its last dot */

struct sync_parse {
	struct config_sync *y;
	const struct lex_token *listen, *multicast, *key;
	size_t peers_cap;
};

/* `listen ADDR|IFNAME [port N]`: a host address, else an interface name. */
static int parse_sync_listen(struct parser *p, struct sync_parse *yp)
{
	struct config_sync *y = yp->y;
	const struct lex_token *kw = next(p), *t = peek(p);
	uint64_t v;
	int ret;

	if (yp->listen)
		return perr(p, kw, "duplicate \"listen\"");
	yp->listen = kw;
	if (t->type != LEX_WORD)
		return expected(p, "an address or an interface name");
	if (strlen(t->text) <= 60 && !addr_parse(t->text, &y->listen_addr)) {
		ret = parse_host_address(p, "sync listen", &y->listen_addr);
	} else {
		ret = check_ifname(p, t);
		if (!ret) {
			snprintf(y->listen_ifname, sizeof(y->listen_ifname), "%s", t->text);
			next(p);
		}
	}
	if (!ret && is_kw(peek(p), "port")) {
		next(p);
		ret = parse_number(p, "port", 1, 65535, &v);
		y->port = (uint16_t)v;
	}
	return ret;
}

/* A peer: an address, or a host name resolved when the daemon starts. */
static int check_sync_host(struct parser *p, const struct lex_token *t)
{
	struct addr_prefix a;
	size_t len = strlen(t->text);

	if (!addr_parse(t->text, &a))
		return addr_is_host(&a)
			   ? 0
			   : perr(p, t, "peer \"%s\" is a network, not a host", q(p, t->text));
	if (!len || len > MAX_SYNC_HOST || t->text[0] == '-' || t->text[0] == '.')
		return perr(p, t, "invalid peer \"%s\"", q(p, t->text));
	for (const char *c = t->text; *c; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && *c != '-' && *c != '.')
			return perr(p, t, "invalid peer \"%s\"", q(p, t->text));
	return 0;
}

static int parse_sync_peer_item(struct parser *p, void *ctx)
{
	struct sync_parse *yp = ctx;
	struct config_sync *y = yp->y;
	const struct lex_token *t = peek(p);
	int ret;

	if (t->type != LEX_WORD)
		return expected(p, "a host");
	ret = check_sync_host(p, t);
	if (!ret && is_punct(&t[1], '/'))
		ret = perr(p, t, "peer \"%s\" is a network, not a host", q(p, t->text));
	for (size_t i = 0; !ret && i < y->npeers; i++)
		if (!strcmp(y->peers[i], t->text))
			ret = perr(p, t, "duplicate peer \"%s\"", q(p, t->text));
	return ret ?: parse_string_item(p, "peer", &y->peers, &y->npeers, &yp->peers_cap);
}

/* `peer HOST` or `peer { HOST ... }`; repeatable. */
static int parse_sync_peers(struct parser *p, struct sync_parse *yp)
{
	next(p);
	if (is_punct(peek(p), '{'))
		return parse_list(p, '}', "peer", parse_sync_peer_item, yp);
	return parse_sync_peer_item(p, yp);
}

/* `multicast IFNAME [group ADDR] [ttl N]`: spamd's -Y IFNAME[:ttl]. */
static int parse_sync_multicast(struct parser *p, struct sync_parse *yp)
{
	struct config_sync *y = yp->y;
	const struct lex_token *kw = next(p), *t = peek(p), *at;
	bool group = false, ttl = false;
	uint64_t v;
	int ret;

	if (yp->multicast)
		return perr(p, kw, "duplicate \"multicast\"");
	yp->multicast = kw;
	ret = check_ifname(p, t);
	if (ret)
		return ret;
	snprintf(y->mcast_ifname, sizeof(y->mcast_ifname), "%s", t->text);
	next(p);
	for (;;) {
		t = peek(p);
		if (is_kw(t, "group") && !group) {
			group = true;
			next(p);
			ret = parse_address(p, &y->mcast_group, &at);
			if (!ret &&
			    (y->mcast_group.family != AF_INET || y->mcast_group.plen != 32 ||
			     (y->mcast_group.bytes[0] & 0xf0) != 0xe0))
				ret = perr(p, at, "group \"%s\" is not an IPv4 multicast address",
					   q(p, at->text));
		} else if (is_kw(t, "ttl") && !ttl) {
			ttl = true;
			next(p);
			ret = parse_number(p, "ttl", 1, 255, &v);
			y->mcast_ttl = (uint8_t)v;
		} else if (is_kw(t, "group") || is_kw(t, "ttl")) {
			return perr(p, t, "duplicate \"%s\"", t->text);
		} else {
			return 0;
		}
		if (ret)
			return ret;
	}
}

static int parse_sync_option(struct parser *p, void *ctx)
{
	struct sync_parse *yp = ctx;
	const struct lex_token *t = peek(p);

	if (is_kw(t, "listen"))
		return parse_sync_listen(p, yp);
	if (is_kw(t, "peer"))
		return parse_sync_peers(p, yp);
	if (is_kw(t, "multicast"))
		return parse_sync_multicast(p, yp);
	if (!is_kw(t, "key"))
		return unknown_keyword(p, t);
	next(p);
	if (yp->key)
		return perr(p, t, "duplicate \"key\"");
	yp->key = t;
	free(yp->y->key_path);
	yp->y->key_path = NULL;
	return parse_string(p, "key file name", &yp->y->key_path);
}

/*
 * `sync { listen ... peer ... multicast ... key "path" }`: spamd's -y and
 * -Y. Sending needs a peer or a multicast interface; receiving needs a
 * listen (or the multicast interface, which listens on its group too).
 */
static int parse_spamd_sync(struct parser *p, struct spamd_parse *sp)
{
	const struct lex_token *kw = next(p);
	struct sync_parse yp = {0};
	struct config_sync *y;
	int ret;

	if (sp->sync)
		return perr(p, kw, "duplicate \"sync\"");
	sp->sync = kw;
	y = sp->s->sync = calloc(1, sizeof(*y));
	if (!y)
		return no_memory(p);
	yp.y = y;
	y->line = kw->line;
	y->port = SYNC_PORT;
	y->mcast_ttl = 1;
	addr_parse(SYNC_MCAST_GROUP, &y->mcast_group);
	y->key_path = strdup(CONFIG_SYNC_KEY_PATH);
	if (!y->key_path)
		return no_memory(p);
	ret = parse_block(p, parse_sync_option, &yp);
	if (ret)
		return ret;
	if (!y->npeers && !y->mcast_ifname[0])
		return perr(p, kw,
			    "sync has neither \"peer\" nor \"multicast\": nothing to send to");
	return 0;
}

static void config_sync_free(struct config_sync *y)
{
	if (!y)
		return;
	free_strings(y->peers, y->npeers);
	free(y->key_path);
	free(y);
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
	if (is_kw(t, "tarpit")) {
		next(p);
		if (sp->tarpit)
			return perr(p, t, "duplicate \"tarpit\"");
		sp->tarpit = t;
		if (!is_kw(peek(p), "yes") && !is_kw(peek(p), "no"))
			return expected(p, "yes or no");
		s->tarpit = is_kw(next(p), "yes");
		return 0;
	}
	return unknown_keyword(p, t);
}

/* What depends on several settings, checked once all of them are known. */
static const char *const spamd_tables[] = {CONFIG_TABLE_SPAMD_WHITE, CONFIG_TABLE_SPAMD_GREYTRAP,
					   CONFIG_TABLE_NOSPAMD};

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

int parse_spamd_block(struct parser *p)
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
	sp.s->tarpit = true;
	sp.keyword = kw;
	return spamd_defaults(p, sp.s) ?: parse_block(p, parse_spamd_option, &sp)
					 ?: expect_end(p) ?: spamd_finish(p, &sp);
}

void config_spamd_free(struct config_spamd *s)
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
	config_sync_free(s->sync);
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

void spamd_block_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const spamd[] = {
	    "listen", "port",	   "spamtraps", "alloweddomains", "valid-recipients",
	    "file",   "blacklist", "whitelist", "sync",		  "tarpit",
	    "yes",    "no",	   NULL,
	};
	static const char *const list[] = {"file", "exec", "url", "msg", "policy", "defer",
					   "reject", NULL};
	static const char *const sync[] = {"listen", "port", "peer", "multicast",
					   "group",  "ttl",  "key",  NULL};

	for (size_t i = 0; i < NSPAMD_SETTINGS; i++)
		fn("spamd", spamd_settings[i].name, ctx);
	keywords_each("spamd", spamd, fn, ctx);
	keywords_each("list", list, fn, ctx);
	keywords_each("sync", sync, fn, ctx);
}
