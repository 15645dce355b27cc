// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywall.conf: the file read, the lexer's statements handed one at a
 * time to the grammar each begins (parse.h), the config's lifecycle and the
 * keywords the grammars accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/parse.h"

#define DEFAULT_STATE_DIR      "/var/lib/greywall"
#define DEFAULT_BPF_DIR	       "/sys/fs/bpf/greywall"
#define DEFAULT_CONTROL_SOCKET CONFIG_DEFAULT_SOCKET
#define DEFAULT_DUMP_DIR       "/var/lib/greywall/pub"
#define DEFAULT_DUMP_INTERVAL  3600
#define DEFAULT_TABLE_HOSTS    1000000
#define DEFAULT_TABLE_PREFIXES 200000
#define MAX_FILE_SIZE	       (64 << 20)

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

/* The word a statement begins with, and the grammar that reads it. */
static const struct {
	const char *keyword;
	int (*parse)(struct parser *p);
} statements[] = {
    {"set", parse_set},	   {"table", parse_table}, {"queue", parse_queue},
    {"block", parse_rule}, {"pass", parse_rule},   {"spamd", parse_spamd_block},
    {"watch", parse_watch_block}, {"trap-users", parse_trap_users},
    {"crowdsec", parse_crowdsec_block}, {"policy", parse_policy_block},
};

#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

static int parse_statement(struct parser *p)
{
	const struct lex_token *t = peek(p);

	if (t->type == LEX_END)
		return 0;
	if (t->type == LEX_WORD && is_punct(&p->tok[1], '='))
		return parse_macro(p);
	for (size_t i = 0; i < NSTATEMENTS; i++)
		if (is_kw(t, statements[i].keyword))
			return statements[i].parse(p);
	return unknown_keyword(p, t);
}

void config_keywords(config_keyword_fn fn, void *ctx)
{
	for (size_t i = 0; i < NSTATEMENTS; i++)
		fn("statement", statements[i].keyword, ctx);
	options_keywords(fn, ctx);
	rules_keywords(fn, ctx);
	spamd_block_keywords(fn, ctx);
	watch_block_keywords(fn, ctx);
	crowdsec_block_keywords(fn, ctx);
	policy_block_keywords(fn, ctx);
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
	cfg->fetch_timeout = CONFIG_FETCH_TIMEOUT_DEFAULT;
	cfg->fetch_max_bytes = CONFIG_FETCH_MAX_BYTES;
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
		for (size_t k = 0; k < cfg->tables[i].npeers; k++)
			free(cfg->tables[i].peers[k].source);
		free(cfg->tables[i].peers);
	}
	for (size_t i = 0; i < cfg->nrules; i++)
		free(cfg->rules[i].text);
	for (size_t i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->tables);
	free(cfg->rules);
	free(cfg->queues);
	config_spamd_free(cfg->spamd);
	config_watches_free(cfg);
	config_crowdsec_free(cfg->crowdsec);
	config_policy_free(cfg->policy);
	free(cfg->warnings);
	free(cfg->state_dir);
	free(cfg->bpf_dir);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->dump_dir);
	free(cfg->contact);
	free(cfg->location_db);
	free(cfg->fetch);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

static int error_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lex_verror(&p->lx, line, col, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * A URL peer is fetched with `set fetch` or the spamd block's fetch, which
 * may come after the table in the file: checked once all is read.
 */
static int check_url_peers(struct parser *p)
{
	const struct config *cfg = p->cfg;

	if (cfg->fetch || (cfg->spamd && cfg->spamd->fetch))
		return 0;
	for (size_t i = 0; i < cfg->ntables; i++)
		for (size_t k = 0; k < cfg->tables[i].npeers; k++) {
			const struct config_peer *peer = &cfg->tables[i].peers[k];

			if (peer->source[0] != '/' && strncmp(peer->source, "exec ", 5))
				return error_at(p, peer->line, peer->col,
						"peer \"%s\" is a URL and nothing fetches it: "
						"set fetch \"COMMAND -- %%s\" (or the spamd "
						"block's fetch)",
						q(p, peer->source));
		}
	return 0;
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
		if (!ret)
			ret = check_url_peers(&p);
		if (!ret)
			ret = policy_block_finish(&p);
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
