// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The primitives of greywall.conf's grammars: errors that name the token,
 * numbers and durations range-checked, strings, names, addresses, and the
 * one reader of "{ a, b }" lists and of "{ option ... }" blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "lib/array.h"

int perr(struct parser *p, const struct lex_token *t, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lex_verror(&p->lx, t->line, t->col, fmt, ap);
	va_end(ap);
	return ret;
}

int no_memory(struct parser *p)
{
	if (!p->lx.failed && p->lx.err && p->lx.errlen) {
		snprintf(p->lx.err, p->lx.errlen, "%s: out of memory", p->lx.name);
		p->lx.failed = true;
	}
	return -ENOMEM;
}

/* The current token is not what the grammar needs: name it, or the one before the end. */
int expected(struct parser *p, const char *what)
{
	const struct lex_token *t = peek(p);

	if (t->type == LEX_END && p->i > 0) {
		t = &p->tok[p->i - 1];
		return perr(p, t, "missing %s after \"%s\"", what, q(p, t->text));
	}
	return perr(p, t, "expected %s, not \"%s\"", what, q(p, t->text));
}

int unexpected(struct parser *p, const struct lex_token *t)
{
	return perr(p, t, "unexpected \"%s\"", q(p, t->text));
}

int unknown_keyword(struct parser *p, const struct lex_token *t)
{
	if (t->type != LEX_WORD)
		return unexpected(p, t);
	return perr(p, t, "unknown keyword \"%s\"", q(p, t->text));
}

int expect_end(struct parser *p)
{
	const struct lex_token *t = peek(p);

	return t->type == LEX_END ? 0 : unexpected(p, t);
}

int expect_punct(struct parser *p, char c)
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
bool parse_digits(const char *s, const char **end, uint64_t *out)
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

int check_range(struct parser *p, const struct lex_token *t, const char *what, uint64_t v,
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
int parse_number(struct parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
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

int parse_duration(struct parser *p, const char *what, uint32_t min, uint32_t max, uint32_t *out)
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
int parse_string(struct parser *p, const char *what, char **out)
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
int parse_string_item(struct parser *p, const char *what, char ***list, size_t *n, size_t *cap)
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

void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Table and queue names: PF_TABLE_NAME_SIZE, letters, digits, "_" and "-". */
int check_name(struct parser *p, const struct lex_token *t, const char *what)
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
int parse_name(struct parser *p, const char *what, const struct lex_token **name)
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
int parse_address(struct parser *p, struct addr_prefix *out, const struct lex_token **at)
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
int parse_list(struct parser *p, char close, const char *what,
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

/* Linux's dev_valid_name(), plus "egress", which names the configured set. */
int check_ifname(struct parser *p, const struct lex_token *t)
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

int add_warning(struct parser *p, const struct lex_token *t, const char *what)
{
	struct config *cfg = p->cfg;
	char *w;

	if (array_room(&cfg->warnings, &p->warnings_cap, cfg->nwarnings + 1, sizeof(*cfg->warnings),
		       ARRAY_FIRST))
		return no_memory(p);
	if (asprintf(&w, "%s:%d:%d: warning: \"%s\" is not implemented, ignored", p->lx.name,
		     t->line, t->col, what) < 0)
		return no_memory(p);
	cfg->warnings[cfg->nwarnings++] = w;
	return 0;
}

/* A `{ ... }` block of options: option() once per option, until the closing brace. */
int parse_once(struct parser *p, const struct lex_token *kw, const struct lex_token **seen)
{
	if (*seen)
		return perr(p, kw, "duplicate \"%s\"", kw->text);
	*seen = kw;
	return 0;
}

int parse_block(struct parser *p, int (*option)(struct parser *p, void *ctx), void *ctx)
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

void keywords_each(const char *grammar, const char *const *list, config_keyword_fn fn, void *ctx)
{
	for (; *list; list++)
		fn(grammar, *list, ctx);
}

/* A byte count: digits, then nothing or K, M or G (powers of 1024), in [min, max]. */
int parse_size(struct parser *p, const char *what, uint64_t min, uint64_t max, uint64_t *out)
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
