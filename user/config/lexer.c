// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/lexer.h"
#include "lib/array.h"

/*
 * Bounds that keep a hostile file (or the fuzzer) from making one statement
 * cost more than a few megabytes: macros can refer to macros through quoted
 * values, so both the nesting and the total work are capped.
 */
#define LEX_MAX_TOKENS	   100000
#define LEX_MAX_DEPTH	   16
#define LEX_MAX_EXPANSIONS 4096

void lex_init(struct lexer *lx, const char *name, const char *src, char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->name = name;
	lx->in.src = src;
	lx->in.len = strlen(src);
	lx->in.line = 1;
	lx->in.col = 1;
	lx->err = err;
	lx->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

static void clear_statement(struct lexer *lx)
{
	for (size_t i = 0; i < lx->ntokens; i++)
		free(lx->tokens[i].text);
	lx->ntokens = 0;
	lx->textlen = 0;
	if (lx->text)
		lx->text[0] = '\0';
	lx->depth = 0;
	lx->expansions = 0;
}

void lex_free(struct lexer *lx)
{
	clear_statement(lx);
	free(lx->tokens);
	free(lx->text);
	for (size_t i = 0; i < lx->nmacros; i++) {
		free(lx->macros[i].name);
		free(lx->macros[i].value);
	}
	free(lx->macros);
	lx->tokens = NULL;
	lx->cap = 0;
	lx->text = NULL;
	lx->textcap = 0;
	lx->macros = NULL;
	lx->nmacros = 0;
	lx->macros_cap = 0;
}

int lex_verror(struct lexer *lx, int line, int col, const char *fmt, va_list ap)
{
	int n;

	if (lx->failed || !lx->err || !lx->errlen)
		return -EINVAL;
	lx->failed = true;
	n = snprintf(lx->err, lx->errlen, "%s:%d:%d: ", lx->name, line, col);
	if (n >= 0 && (size_t)n < lx->errlen)
		vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

int lex_error(struct lexer *lx, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = lex_verror(lx, line, col, fmt, ap);
	va_end(ap);
	return ret;
}

static int out_of_memory(struct lexer *lx)
{
	if (!lx->failed && lx->err && lx->errlen) {
		snprintf(lx->err, lx->errlen, "%s: out of memory", lx->name);
		lx->failed = true;
	}
	return -ENOMEM;
}

void lex_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char piece[8];
		size_t n;

		if (ch == '"' || ch == '\\')
			snprintf(piece, sizeof(piece), "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			snprintf(piece, sizeof(piece), "\\x%02x", ch);
		else
			snprintf(piece, sizeof(piece), "%c", ch);
		n = strlen(piece);
		/* Leave room for "..." and the NUL in case the next piece does not fit. */
		if (o + n + 4 > len || o + n > LEX_QUOTE_MAX - 8) {
			if (o + 4 <= len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(buf + o, piece, n);
		o += n;
	}
	buf[o] = '\0';
}

int lex_define(struct lexer *lx, const char *name, const char *value)
{
	struct lex_macro *m;
	char *copy = strdup(value);

	if (!copy)
		return out_of_memory(lx);
	for (size_t i = 0; i < lx->nmacros; i++) {
		if (!strcmp(lx->macros[i].name, name)) {
			free(lx->macros[i].value);
			lx->macros[i].value = copy;
			return 0;
		}
	}
	if (array_room(&lx->macros, &lx->macros_cap, lx->nmacros + 1, sizeof(*lx->macros), 8)) {
		free(copy);
		return out_of_memory(lx);
	}
	m = lx->macros;
	m[lx->nmacros].name = strdup(name);
	if (!m[lx->nmacros].name) {
		free(copy);
		return out_of_memory(lx);
	}
	m[lx->nmacros].value = copy;
	lx->nmacros++;
	return 0;
}

static int peekc(const struct lex_cursor *c, size_t ahead)
{
	return c->pos + ahead < c->len ? (unsigned char)c->src[c->pos + ahead] : -1;
}

static void advance(struct lex_cursor *c, size_t n)
{
	while (n-- && c->pos < c->len) {
		if (c->src[c->pos] == '\n') {
			c->line++;
			c->col = 1;
		} else {
			c->col++;
		}
		c->pos++;
	}
}

/*
 * Length of a "\" line continuation at the cursor, or 0. Blanks between the
 * backslash and the newline are forgiven: rules copied from web pages often
 * carry a trailing space there, and pfctl would silently end the rule.
 */
static size_t continuation(const struct lex_cursor *c)
{
	size_t i = c->pos;

	if (i >= c->len || c->src[i] != '\\')
		return 0;
	for (i++; i < c->len && (c->src[i] == ' ' || c->src[i] == '\t' || c->src[i] == '\r'); i++)
		;
	if (i >= c->len)
		return i - c->pos;
	if (c->src[i] == '\n')
		return i + 1 - c->pos;
	return 0;
}

static bool is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool is_special(int ch)
{
	return ch > 0 && strchr("{}()<>!=/,", ch);
}

static bool is_word_char(int ch)
{
	if (ch <= 0 || ch >= 0x7f)
		return false;
	return isalnum(ch) || (ispunct(ch) && !strchr("{}()<>!=/,#\"'", ch));
}

/* Skip blanks, continuations and comments. Returns true if anything was skipped. */
static bool skip_blanks(struct lex_cursor *c)
{
	bool skipped = false;
	size_t n;
	int ch;

	for (;;) {
		ch = peekc(c, 0);
		if (is_blank(ch)) {
			advance(c, 1);
		} else if ((n = continuation(c))) {
			advance(c, n);
		} else if (ch == '#') {
			/* As in pfctl, a continuation continues a comment too. */
			while ((ch = peekc(c, 0)) != -1 && ch != '\n')
				advance(c, continuation(c) ? continuation(c) : 1);
		} else {
			return skipped;
		}
		skipped = true;
	}
}

static int push(struct lexer *lx, enum lex_type type, const char *text, size_t n, int line, int col)
{
	struct lex_token *t;

	if (type != LEX_END && lx->ntokens + 2 > LEX_MAX_TOKENS)
		return lex_error(lx, line, col, "statement too long");
	/* One slot always stays free for the LEX_END token. */
	if (array_room(&lx->tokens, &lx->cap, lx->ntokens + 2, sizeof(*lx->tokens), 32))
		return out_of_memory(lx);
	t = &lx->tokens[lx->ntokens];
	t->text = strndup(text, n);
	if (!t->text)
		return out_of_memory(lx);
	t->type = type;
	t->line = line;
	t->col = col;
	lx->ntokens++;
	if (type == LEX_PUNCT && text[0] == '{') {
		if (lx->depth++ == 0) {
			lx->open_line = line;
			lx->open_col = col;
		}
	} else if (type == LEX_PUNCT && text[0] == '}' && lx->depth > 0) {
		lx->depth--;
	}
	return 0;
}

static int scan_string(struct lexer *lx, struct lex_cursor *c, int line, int col)
{
	int quote = peekc(c, 0), ch, ret;
	size_t n = 0, cap = 0, k;
	char *buf = NULL;

	if (array_room(&buf, &cap, 1, 1, 64))
		return out_of_memory(lx);
	advance(c, 1);
	for (;;) {
		ch = peekc(c, 0);
		if (ch == -1 || ch == '\n') {
			free(buf);
			return lex_error(lx, line, col, "unterminated quoted string");
		}
		if (ch == quote) {
			advance(c, 1);
			break;
		}
		if (ch == '\\') {
			if ((k = continuation(c))) {
				advance(c, k);
				continue;
			}
			if (peekc(c, 1) == quote || peekc(c, 1) == '\\') {
				advance(c, 1);
				ch = peekc(c, 0);
			}
		}
		if (array_room(&buf, &cap, n + 1, 1, 64)) {
			free(buf);
			return out_of_memory(lx);
		}
		buf[n++] = (char)ch;
		advance(c, 1);
	}
	ret = push(lx, LEX_STRING, buf, n, line, col);
	free(buf);
	return ret;
}

static int scan_all(struct lexer *lx, struct lex_cursor *c, int depth);

static int expand_macro(struct lexer *lx, struct lex_cursor *c, int depth, int line, int col)
{
	const struct lex_macro *m = NULL;
	struct lex_cursor sub;
	size_t start, n;
	int ch;

	advance(c, 1);
	start = c->pos;
	while ((ch = peekc(c, 0)) != -1 && ch < 0x7f && (isalnum(ch) || ch == '_'))
		advance(c, 1);
	n = c->pos - start;
	if (!n)
		return lex_error(lx, line, col, "unexpected \"$\"");
	for (size_t i = 0; i < lx->nmacros && !m; i++)
		if (strlen(lx->macros[i].name) == n &&
		    !memcmp(lx->macros[i].name, c->src + start, n))
			m = &lx->macros[i];
	if (n > LEX_QUOTE_MAX / 2)
		n = LEX_QUOTE_MAX / 2;
	if (!m)
		return lex_error(lx, line, col, "undefined macro \"%.*s\"", (int)n, c->src + start);
	if (depth >= LEX_MAX_DEPTH)
		return lex_error(lx, line, col, "macro \"%s\" expands too deeply", m->name);
	if (++lx->expansions > LEX_MAX_EXPANSIONS)
		return lex_error(lx, line, col, "too many macro expansions");
	sub = (struct lex_cursor){
	    .src = m->value,
	    .len = strlen(m->value),
	    .line = 1,
	    .col = 1,
	    .fixed_line = line,
	    .fixed_col = col,
	};
	return scan_all(lx, &sub, depth + 1);
}

static int scan_token(struct lexer *lx, struct lex_cursor *c, int depth)
{
	int ch = peekc(c, 0);
	int line = c->fixed_line ? c->fixed_line : c->line;
	int col = c->fixed_line ? c->fixed_col : c->col;
	size_t start = c->pos;

	if (ch == '"' || ch == '\'')
		return scan_string(lx, c, line, col);
	if (ch == '$')
		return expand_macro(lx, c, depth, line, col);
	if (is_special(ch)) {
		advance(c, 1);
		return push(lx, LEX_PUNCT, c->src + start, 1, line, col);
	}
	if (!is_word_char(ch)) {
		char s[2] = {(char)ch, '\0'}, q[LEX_QUOTE_MAX];

		lex_quote(s, q, sizeof(q));
		return lex_error(lx, line, col, "unexpected character \"%s\"", q);
	}
	while ((ch = peekc(c, 0)) != -1 && is_word_char(ch) && !continuation(c))
		advance(c, 1);
	return push(lx, LEX_WORD, c->src + start, c->pos - start, line, col);
}

/* Scan a macro value: every token, newlines included, belongs to the statement. */
static int scan_all(struct lexer *lx, struct lex_cursor *c, int depth)
{
	int ret;

	for (;;) {
		skip_blanks(c);
		if (peekc(c, 0) == -1)
			return 0;
		if (peekc(c, 0) == '\n') {
			advance(c, 1);
			continue;
		}
		ret = scan_token(lx, c, depth);
		if (ret)
			return ret;
	}
}

static int append_text(struct lexer *lx, const char *raw, size_t n, bool space)
{
	/* The text, a space before it and the NUL after it. */
	if (array_room(&lx->text, &lx->textcap, lx->textlen + n + 2, 1, 128))
		return out_of_memory(lx);
	if (space && lx->textlen)
		lx->text[lx->textlen++] = ' ';
	for (size_t i = 0; i < n; i++)
		lx->text[lx->textlen++] =
		    is_blank((unsigned char)raw[i]) || raw[i] == '\n' ? ' ' : raw[i];
	lx->text[lx->textlen] = '\0';
	return 0;
}

int lex_statement(struct lexer *lx)
{
	struct lex_cursor *c = &lx->in;
	int end_line = c->line, end_col = c->col, ret, ch;
	bool space = false;

	if (lx->failed)
		return -EINVAL;
	clear_statement(lx);
	for (;;) {
		size_t start;

		if (skip_blanks(c))
			space = true;
		ch = peekc(c, 0);
		if (ch == -1) {
			if (lx->depth > 0)
				return lex_error(lx, lx->open_line, lx->open_col, "unclosed \"{\"");
			break;
		}
		if (ch == '\n') {
			advance(c, 1);
			space = true;
			if (lx->textlen && !lx->depth)
				break;
			continue;
		}
		start = c->pos;
		ret = scan_token(lx, c, 0);
		if (!ret)
			ret = append_text(lx, c->src + start, c->pos - start, space);
		if (ret)
			return ret;
		space = false;
		end_line = c->line;
		end_col = c->col;
	}
	if (!lx->textlen)
		return 0;
	ret = push(lx, LEX_END, "", 0, end_line, end_col);
	return ret ? ret : 1;
}
