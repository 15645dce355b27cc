// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The `policy { ... }` block of greywall.conf: where greywalld serves
 * Postfix's SMTPD policy delegation protocol, and how it words its
 * answers. The service greylists on the spamd block's greylist, so it
 * needs that block (checked once the whole file is read: the two may come
 * in either order).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config/parse.h"
#include "lib/array.h"

/* The policy child takes this many sockets (policy/policy_child.h's POLICY_LISTEN_MAX). */
#define MAX_POLICY_LISTEN 16
/* The defer text goes into a one-line action of at most 2048 bytes, %r and %s expanded. */
#define MAX_DEFER_MESSAGE 400

struct policy_parse {
	struct config_policy *pol;
	const struct lex_token *defer_message, *header;
	size_t listen_cap;
};

/* A unix socket's mode: octal digits, at most 0777. */
static int parse_mode(struct parser *p, mode_t *out)
{
	const struct lex_token *t = next(p);
	unsigned long v = 0;

	if (t->type != LEX_WORD || !t->text[0] || strlen(t->text) > 4)
		return perr(p, t, "mode \"%s\" is not an octal mode such as 0660", q(p, t->text));
	for (const char *c = t->text; *c; c++) {
		if (*c < '0' || *c > '7')
			return perr(p, t, "mode \"%s\" is not an octal mode such as 0660",
				    q(p, t->text));
		v = v * 8 + (unsigned long)(*c - '0');
	}
	if (v > 0777)
		return perr(p, t, "mode \"%s\": only permission bits (at most 0777)", q(p, t->text));
	*out = (mode_t)v;
	return 0;
}

/* The socket's group, looked up now as `set control-group` is. */
static int parse_group(struct parser *p, struct config_policy_listen *l)
{
	const struct lex_token *t = peek(p);
	struct group *gr;
	int ret = parse_string(p, "group", &l->group);

	if (ret)
		return ret;
	errno = 0;
	gr = getgrnam(t->text);
	if (!gr)
		return perr(p, t, "group \"%s\": %s", q(p, t->text),
			    errno && errno != ENOENT && errno != ESRCH ? strerror(errno)
								       : "no such group");
	l->gid = gr->gr_gid;
	return 0;
}

/* `unix "path" [mode M] [group G]`, after `listen`. */
static int parse_listen_unix(struct parser *p, struct config_policy_listen *l)
{
	const struct lex_token *t = peek(p);
	bool mode = false;
	int ret = parse_string(p, "socket path", &l->path);

	if (ret)
		return ret;
	if (l->path[0] != '/')
		return perr(p, t, "socket path \"%s\" is not absolute", q(p, l->path));
	if (strlen(l->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return perr(p, t, "socket path \"%s\" is too long (at most %zu bytes)",
			    q(p, l->path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	l->mode = CONFIG_POLICY_MODE;
	for (;;) {
		t = peek(p);
		if (is_kw(t, "mode") && !mode) {
			mode = true;
			next(p);
			ret = parse_mode(p, &l->mode);
		} else if (is_kw(t, "group") && !l->group) {
			next(p);
			ret = parse_group(p, l);
		} else if (is_kw(t, "mode") || is_kw(t, "group")) {
			return perr(p, t, "duplicate \"%s\"", t->text);
		} else {
			return 0;
		}
		if (ret)
			return ret;
	}
}

/* `listen ADDR [port N]`. */
static int parse_listen_inet(struct parser *p, struct config_policy_listen *l)
{
	const struct lex_token *at;
	char text[ADDR_STRLEN];
	uint64_t v;
	int ret = parse_address(p, &l->addr, &at);

	if (ret)
		return ret;
	if (!addr_is_host(&l->addr)) {
		addr_format(&l->addr, text, sizeof(text));
		return perr(p, at, "listen \"%s\" is a network, not an address", text);
	}
	l->port = CONFIG_POLICY_PORT;
	if (!is_kw(peek(p), "port"))
		return 0;
	next(p);
	ret = parse_number(p, "port", 1, 65535, &v);
	l->port = (uint16_t)v;
	return ret;
}

static bool same_listen(const struct config_policy_listen *a, const struct config_policy_listen *b)
{
	if (a->path || b->path)
		return a->path && b->path && !strcmp(a->path, b->path);
	return a->port == b->port && addr_equal(&a->addr, &b->addr);
}

static int parse_policy_listen(struct parser *p, struct policy_parse *pp)
{
	struct config_policy *pol = pp->pol;
	const struct lex_token *kw = next(p);
	struct config_policy_listen *l;
	int ret;

	if (pol->nlisten == MAX_POLICY_LISTEN)
		return perr(p, kw, "more than %d policy listen sockets", MAX_POLICY_LISTEN);
	if (array_room(&pol->listen, &pp->listen_cap, pol->nlisten + 1, sizeof(*pol->listen),
		       ARRAY_FIRST))
		return no_memory(p);
	l = memset(&pol->listen[pol->nlisten++], 0, sizeof(*l));
	l->line = kw->line;
	if (is_kw(peek(p), "unix")) {
		next(p);
		ret = parse_listen_unix(p, l);
	} else {
		ret = parse_listen_inet(p, l);
	}
	if (ret)
		return ret;
	for (size_t i = 0; i + 1 < pol->nlisten; i++)
		if (same_listen(&pol->listen[i], l))
			return perr(p, kw, "duplicate policy listen socket");
	return 0;
}

/*
 * The defer text goes into Postfix's reply: no control character (it
 * would end the action line), no '%' but %r, %s and %%.
 */
static int parse_defer_message(struct parser *p, struct config_policy *pol)
{
	const struct lex_token *t = peek(p);
	int ret = parse_string(p, "defer-message", &pol->defer_message);

	if (ret)
		return ret;
	if (strlen(pol->defer_message) > MAX_DEFER_MESSAGE)
		return perr(p, t, "defer-message is too long (at most %d characters)",
			    MAX_DEFER_MESSAGE);
	for (const unsigned char *c = (const unsigned char *)pol->defer_message; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return perr(p, t, "invalid character in defer-message \"%s\"",
				    q(p, pol->defer_message));
		if (*c == '%' && c[1] != 'r' && c[1] != 's' && c[1] != '%')
			return perr(p, t, "defer-message \"%s\": %% is followed by r, s or %%",
				    q(p, pol->defer_message));
		if (*c == '%')
			c++;
	}
	return 0;
}

static int parse_yes_no(struct parser *p, const char *what, bool *out)
{
	const struct lex_token *t = peek(p);

	if (is_kw(t, "yes") || is_kw(t, "no")) {
		*out = is_kw(t, "yes");
		next(p);
		return 0;
	}
	return expected(p, what);
}

static int parse_policy_option(struct parser *p, void *ctx)
{
	struct policy_parse *pp = ctx;
	const struct lex_token *t = peek(p);

	if (is_kw(t, "listen"))
		return parse_policy_listen(p, pp);
	next(p);
	if (is_kw(t, "defer-message")) {
		if (pp->defer_message)
			return perr(p, t, "duplicate \"defer-message\"");
		pp->defer_message = t;
		free(pp->pol->defer_message);
		pp->pol->defer_message = NULL;
		return parse_defer_message(p, pp->pol);
	}
	if (is_kw(t, "x-greylist-header"))
		return parse_once(p, t, &pp->header)
			   ?: parse_yes_no(p, "yes or no", &pp->pol->x_greylist_header);
	return unknown_keyword(p, t);
}

int parse_policy_block(struct parser *p)
{
	struct policy_parse pp = {0};
	const struct lex_token *kw = next(p);
	struct config_policy *pol;
	int ret;

	if (p->cfg->policy)
		return perr(p, kw, "a second policy block");
	pol = p->cfg->policy = calloc(1, sizeof(*pol));
	if (!pol)
		return no_memory(p);
	pp.pol = pol;
	pol->line = kw->line;
	pol->col = kw->col;
	pol->x_greylist_header = true;
	pol->defer_message = strdup(CONFIG_POLICY_DEFER_MESSAGE);
	if (!pol->defer_message)
		return no_memory(p);
	ret = parse_block(p, parse_policy_option, &pp) ?: expect_end(p);
	if (!ret && !pol->nlisten)
		ret = perr(p, kw, "policy has no listen socket");
	return ret;
}

int policy_block_finish(struct parser *p)
{
	const struct config_policy *pol = p->cfg->policy;

	if (!pol || p->cfg->spamd)
		return 0;
	return lex_error(&p->lx, pol->line, pol->col,
			    "the policy service greylists on the spamd block's greylist: add a "
			    "spamd block (spamd { tarpit no } for no tarpit)");
}

void config_policy_free(struct config_policy *pol)
{
	if (!pol)
		return;
	for (size_t i = 0; i < pol->nlisten; i++) {
		free(pol->listen[i].path);
		free(pol->listen[i].group);
	}
	free(pol->listen);
	free(pol->defer_message);
	free(pol);
}

void policy_block_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const words[] = {
	    "listen", "unix", "mode", "group", "port", "defer-message", "x-greylist-header",
	    "yes", "no", NULL,
	};

	keywords_each("policy", words, fn, ctx);
}
