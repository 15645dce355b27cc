/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tokenizer of greywall.conf, modelled on pfctl's: it hands the parser
 * one statement at a time, with "\" continuations joined, `#` comments
 * dropped and $macros expanded. A statement ends at a newline outside
 * braces, so `{ ... }` lists (and, later, blocks) may span lines.
 *
 * Words break at white space and at the characters { } ( ) , < > ! = /
 * which are tokens of their own, so "198.51.100.0/24" arrives as three
 * tokens and "S/SA" as three, exactly as pfctl's grammar sees them.
 */
#ifndef __GREYWALL_LEXER_H
#define __GREYWALL_LEXER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum lex_type {
	LEX_WORD,   /* keyword, number, address, name */
	LEX_STRING, /* quoted with " or ', quotes removed */
	LEX_PUNCT,  /* one of { } ( ) , < > ! = / */
	LEX_END,    /* end of the statement; always the last token */
};

struct lex_token {
	enum lex_type type;
	char *text;
	int line; /* a token from a macro has the position of its $name */
	int col;
};

/* Where the scanner is: the file itself, or a macro value being expanded. */
struct lex_cursor {
	const char *src;
	size_t len;
	size_t pos;
	int line;
	int col;
	int fixed_line; /* non-zero: every token gets this position */
	int fixed_col;
};

struct lex_macro {
	char *name;
	char *value;
};

struct lexer {
	const char *name; /* file name for messages */
	struct lex_cursor in;

	struct lex_macro *macros;
	size_t nmacros;
	size_t macros_cap;

	/* The current statement, filled by lex_statement(). */
	struct lex_token *tokens;
	size_t ntokens;
	size_t cap;
	char *text; /* as written (before expansion), white space folded */
	size_t textlen;
	size_t textcap;
	int depth;     /* brace nesting */
	int open_line; /* where the outermost open "{" is */
	int open_col;
	unsigned int expansions;

	char *err;
	size_t errlen;
	bool failed; /* a message is already in err */
};

void lex_init(struct lexer *lx, const char *name, const char *src, char *err, size_t errlen);
void lex_free(struct lexer *lx);

/*
 * Read the next statement into lx->tokens (ending with a LEX_END token) and
 * lx->text. Returns 1 for a statement, 0 at the end of the input, or -EINVAL
 * / -ENOMEM with the message in lx->err.
 */
int lex_statement(struct lexer *lx);

/* Define or redefine a macro. Returns 0 or -ENOMEM. */
int lex_define(struct lexer *lx, const char *name, const char *value);

/*
 * Write "name:line:col: message" to lx->err and return -EINVAL. Only the
 * first message of a parse is kept.
 */
int lex_error(struct lexer *lx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int lex_verror(struct lexer *lx, int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Copy s into buf escaped for a message between double quotes: \" \\ and
 * \xNN for anything unprintable, cut with "..." when too long.
 */
#define LEX_QUOTE_MAX 96 /* buffer size that always holds lex_quote()'s output */
void lex_quote(const char *s, char *buf, size_t len);

#endif /* __GREYWALL_LEXER_H */
