// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The `crowdsec { ... }` block of greywall.conf: a CrowdSec Local API to
 * pull ban decisions from (as a bouncer) and to push our additions to (as
 * a machine). Secrets come from files only, read at start by greywalld:
 * the config file may be readable by more people than the key should be.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "crowdsec/proto.h"

#define CROWDSEC_EVERY_MAX	86400
#define CROWDSEC_TIMEOUT_MAX	3600
#define CROWDSEC_QUEUE_MAX	10000000
#define CROWDSEC_DURATION_MAX	(365 * 86400)

struct crowdsec_parse {
	struct config_crowdsec *c;
	const struct lex_token *kw;
	const struct lex_token *url, *ca_file, *bouncer_key, *table, *every, *timeout, *max_bytes,
	    *machine, *push, *push_queue, *push_duration;
};

/* `url "http://host:port/"`: http or https, no user or password in it, "/" added at the end. */
static int parse_crowdsec_url(struct parser *p, struct config_crowdsec *c)
{
	const struct lex_token *t = peek(p);
	size_t len;
	char *url;
	int ret = parse_string(p, "url", &c->url);

	if (ret)
		return ret;
	len = strlen(c->url);
	if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
		return perr(p, t, "url \"%s\" is not http:// or https://", q(p, c->url));
	if (strchr(c->url, '@'))
		return perr(p, t, "url \"%s\": give no credentials in the url", q(p, c->url));
	if (strpbrk(c->url, " \t\r\n?#"))
		return perr(p, t, "url \"%s\": no spaces, query or fragment", q(p, c->url));
	if (len + 2 > CS_URL_MAX - 32)
		return perr(p, t, "url too long");
	if (c->url[len - 1] == '/')
		return 0;
	url = realloc(c->url, len + 2);
	if (!url)
		return no_memory(p);
	url[len] = '/';
	url[len + 1] = '\0';
	c->url = url;
	return 0;
}

/* `file "path"` after bouncer-key and password. */
static int parse_secret_file(struct parser *p, const char *what, char **out)
{
	if (!is_kw(peek(p), "file"))
		return expected(p, "\"file\" (secrets are read from files)");
	next(p);
	return parse_string(p, what, out);
}

/* A table decisions go to or additions come from: not a const one for pulls. */
static int parse_pull_table(struct parser *p, struct config_crowdsec *c)
{
	size_t at = p->i + 1;
	int ret = parse_table_ref(p, &c->table);

	if (ret)
		return ret;
	if (p->cfg->tables[c->table].flags & CONFIG_TABLE_CONST)
		return perr(p, &p->tok[at], "table <%s> is const: crowdsec cannot list sources in it",
			    p->cfg->tables[c->table].name);
	return 0;
}

static int parse_push_tables(struct parser *p, struct config_crowdsec *c)
{
	int n = 0, index, ret;

	while (is_punct(peek(p), '<')) {
		ret = parse_table_ref(p, &index);
		if (ret)
			return ret;
		c->push_tables |= 1ULL << index;
		n++;
	}
	return n ? 0 : expected(p, "a table (<name>)");
}

static int parse_crowdsec_option(struct parser *p, void *ctx)
{
	struct crowdsec_parse *cp = ctx;
	struct config_crowdsec *c = cp->c;
	const struct lex_token *t = next(p);
	uint64_t n;
	int ret;

	if (is_kw(t, "url"))
		return parse_once(p, t, &cp->url) ?: parse_crowdsec_url(p, c);
	if (is_kw(t, "ca-file"))
		return parse_once(p, t, &cp->ca_file) ?: parse_string(p, "ca-file", &c->ca_file);
	if (is_kw(t, "bouncer-key"))
		return parse_once(p, t, &cp->bouncer_key)
			   ?: parse_secret_file(p, "bouncer-key file", &c->bouncer_key_file);
	if (is_kw(t, "table"))
		return parse_once(p, t, &cp->table) ?: parse_pull_table(p, c);
	if (is_kw(t, "every"))
		return parse_once(p, t, &cp->every)
			   ?: parse_duration(p, "every", 1, CROWDSEC_EVERY_MAX, &c->every);
	if (is_kw(t, "timeout"))
		return parse_once(p, t, &cp->timeout)
			   ?: parse_duration(p, "timeout", 1, CROWDSEC_TIMEOUT_MAX, &c->timeout);
	if (is_kw(t, "max-bytes"))
		return parse_once(p, t, &cp->max_bytes)
			   ?: parse_size(p, "max-bytes", 4096, CONFIG_FETCH_MAX_BYTES, &c->max_bytes);
	if (is_kw(t, "machine")) {
		ret = parse_once(p, t, &cp->machine) ?: parse_string(p, "machine", &c->machine);
		if (ret)
			return ret;
		if (!c->machine[0] || strlen(c->machine) >= CS_MACHINE_MAX)
			return perr(p, t, "machine id must be 1 to %d bytes", CS_MACHINE_MAX - 1);
		if (!is_kw(peek(p), "password"))
			return expected(p, "\"password\"");
		next(p);
		return parse_secret_file(p, "password file", &c->password_file);
	}
	if (is_kw(t, "push"))
		return parse_once(p, t, &cp->push) ?: parse_push_tables(p, c);
	if (is_kw(t, "push-queue")) {
		ret = parse_once(p, t, &cp->push_queue)
			  ?: parse_number(p, "push-queue", 1, CROWDSEC_QUEUE_MAX, &n);
		if (!ret)
			c->push_queue = (uint32_t)n;
		return ret;
	}
	if (is_kw(t, "push-duration"))
		return parse_once(p, t, &cp->push_duration)
			   ?: parse_duration(p, "push-duration", 1, CROWDSEC_DURATION_MAX,
					     &c->push_duration);
	return unknown_keyword(p, t);
}

static int crowdsec_finish(struct parser *p, struct crowdsec_parse *cp)
{
	struct config_crowdsec *c = cp->c;
	bool pull = cp->bouncer_key || cp->table, push = cp->machine || cp->push;

	if (!cp->url)
		return perr(p, cp->kw, "crowdsec has no url");
	if (!pull && !push)
		return perr(p, cp->kw,
			    "crowdsec has neither bouncer-key and table (pull) nor machine and "
			    "push (push)");
	if (pull && !cp->bouncer_key)
		return perr(p, cp->table, "crowdsec table without bouncer-key file");
	if (pull && !cp->table)
		return perr(p, cp->bouncer_key, "crowdsec bouncer-key without a table");
	if (push && !cp->machine)
		return perr(p, cp->push, "crowdsec push without machine and password");
	if (push && !cp->push)
		return perr(p, cp->machine, "crowdsec machine without push tables");
	/* A decision pulled and pushed back would come round again: no loops. */
	if (pull && (c->push_tables & (1ULL << c->table)))
		return perr(p, cp->push, "crowdsec cannot push <%s>, the table it pulls into",
			    p->cfg->tables[c->table].name);
	return 0;
}

int parse_crowdsec_block(struct parser *p)
{
	struct crowdsec_parse cp = {0};
	struct config_crowdsec *c;

	cp.kw = next(p);
	if (p->cfg->crowdsec)
		return perr(p, cp.kw, "a second crowdsec block");
	c = p->cfg->crowdsec = calloc(1, sizeof(*c));
	if (!c)
		return no_memory(p);
	cp.c = c;
	c->table = -1;
	c->every = CONFIG_CROWDSEC_EVERY_DEFAULT;
	c->timeout = CONFIG_CROWDSEC_TIMEOUT_DEFAULT;
	c->max_bytes = CONFIG_CROWDSEC_MAX_BYTES_DEFAULT;
	c->push_queue = CONFIG_CROWDSEC_PUSH_QUEUE_DEFAULT;
	c->push_duration = CONFIG_CROWDSEC_PUSH_DURATION_DEFAULT;
	c->line = cp.kw->line;
	return parse_block(p, parse_crowdsec_option, &cp) ?: expect_end(p)
							    ?: crowdsec_finish(p, &cp);
}

void config_crowdsec_free(struct config_crowdsec *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->ca_file);
	free(c->bouncer_key_file);
	free(c->machine);
	free(c->password_file);
	free(c);
}

void crowdsec_block_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const words[] = {
	    "url",	     "ca-file",	 "bouncer-key", "file",	      "table",
	    "every",	     "timeout",	 "max-bytes",	"machine",    "password",
	    "push",	     "push-queue", "push-duration", NULL,
	};

	keywords_each("crowdsec", words, fn, ctx);
}
