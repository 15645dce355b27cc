// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The options of greywall.conf: `set interface`, `set state-dir`, `set limit` and the rest. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>

#include "config/parse.h"
#include "lib/fetch.h"

#define MAX_TABLE_LIMIT 1000000000ULL /* `set limit table-*` */

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

/* `set fetch "COMMAND -- %s"`: how URL peers are fetched (lib/fetch.h). */
static int parse_set_fetch(struct parser *p)
{
	const struct lex_token *t = peek(p);
	int ret;

	if (p->cfg->fetch)
		return perr(p, t, "fetch set twice");
	ret = parse_string(p, "fetch", &p->cfg->fetch);
	if (!ret && !fetch_command_valid(t->text))
		ret = perr(p, t, "fetch \"%s\" must end with \"-- %%s\" and hold no other %% but words %%t",
			   q(p, t->text));
	return ret;
}

/* `set metrics-listen ADDR [port N]`: one endpoint, on an address of this host. */
static int parse_metrics_listen(struct parser *p)
{
	struct config *cfg = p->cfg;
	const struct lex_token *at;
	char text[ADDR_STRLEN];
	uint64_t v;
	int ret;

	if (cfg->metrics)
		return perr(p, peek(p), "metrics-listen set twice");
	ret = parse_address(p, &cfg->metrics_addr, &at);
	if (ret)
		return ret;
	if (!addr_is_host(&cfg->metrics_addr)) {
		addr_format(&cfg->metrics_addr, text, sizeof(text));
		return perr(p, at, "metrics-listen \"%s\" is a network, not an address", text);
	}
	cfg->metrics = true;
	cfg->metrics_port = CONFIG_METRICS_PORT;
	if (!is_kw(peek(p), "port"))
		return 0;
	next(p);
	ret = parse_number(p, "port", 1, 65535, &v);
	cfg->metrics_port = (uint16_t)v;
	return ret;
}

int parse_set(struct parser *p)
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
	} else if (is_kw(t, "location-db")) {
		ret = parse_string(p, "location-db", &cfg->location_db);
	} else if (is_kw(t, "dump-gzip")) {
		if (!is_kw(peek(p), "yes") && !is_kw(peek(p), "no"))
			return expected(p, "yes or no");
		cfg->dump_gzip = is_kw(next(p), "yes");
		ret = 0;
	} else if (is_kw(t, "fetch")) {
		ret = parse_set_fetch(p);
	} else if (is_kw(t, "fetch-timeout")) {
		ret = parse_duration(p, "fetch-timeout", 1, CONFIG_FETCH_TIMEOUT_MAX,
				     &cfg->fetch_timeout);
	} else if (is_kw(t, "fetch-max-bytes")) {
		ret = parse_size(p, "fetch-max-bytes", 1024, CONFIG_FETCH_MAX_BYTES,
				 &cfg->fetch_max_bytes);
	} else if (is_kw(t, "metrics-listen")) {
		ret = parse_metrics_listen(p);
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

void options_keywords(config_keyword_fn fn, void *ctx)
{
	static const char *const set[] = {
	    "interface", "state-dir",	  "bpf-dir", "control-socket", "control-group",	 "dump-dir",
	    "contact",	 "dump-interval", "limit",   "table-entries",  "table-prefixes", "fetch",
	    "fetch-timeout", "fetch-max-bytes", "metrics-listen", "port", "location-db",
	    "dump-gzip", "yes", "no", NULL,
	};

	keywords_each("set", set, fn, ctx);
}
