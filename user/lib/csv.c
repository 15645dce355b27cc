// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/escape.h"

/* What a spreadsheet reads as the start of a formula (OWASP's list). */
static bool starts_formula(const char *s)
{
	return s[0] && strchr("=+-@\t\r", s[0]);
}

static void put_quoted(FILE *fp, const char *guard, const char *s)
{
	putc('"', fp);
	fputs(guard, fp);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

int csv_put_field(FILE *fp, const char *field, bool as_text)
{
	char stack[256], *escaped = stack;
	size_t need;

	if (!as_text) {
		if (strpbrk(field, ",\"\r\n"))
			put_quoted(fp, "", field);
		else
			fputs(field, fp);
		return ferror(fp) ? -EIO : 0;
	}
	need = ESCAPE_SIZE(strlen(field));
	if (need > sizeof(stack)) {
		escaped = malloc(need);
		if (!escaped)
			return -ENOMEM;
	}
	escape_vis(escaped, need, field, NULL);
	put_quoted(fp, starts_formula(field) ? "'" : "", escaped);
	if (escaped != stack)
		free(escaped);
	return ferror(fp) ? -EIO : 0;
}

void csv_end_record(FILE *fp)
{
	fputs("\r\n", fp);
}
