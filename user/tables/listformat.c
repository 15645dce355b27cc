// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The list reader (listformat.h has the line forms). Loading a
 * million-line list must cost little more than parsing the addresses, so
 * the file comes through one buffer with read(2), lines are split in place
 * and nothing is allocated per line. A line's text is never written to,
 * and never read past its end: tokens are copied into small buffers of
 * their own before anything parses them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/addrrange.h"
#include "lib/escape.h"
#include "tables/listformat.h"

/*
 * How much one read takes; the fuzz harness sets a small one so that its
 * inputs straddle reads. A line of LISTFORMAT_LINE_MAX bytes must fit.
 */
#ifndef READ_BUFSIZE
#define READ_BUFSIZE (1 << 20)
#endif
_Static_assert(READ_BUFSIZE > LISTFORMAT_LINE_MAX, "a longest line fits the read buffer");
/* The longest token worth handing to addr_parse: an IPv6 address and "/128". */
#define TOKEN_MAX (ADDR_STRLEN + 8)
/* The most of a bad line quoted in a message, before escaping. */
#define QUOTE_MAX 80
/* Fields of a greywall <table>_full.txt row (dump.c). */
#define FULL_DUMP_FIELDS 8

static const char greywall_header[] = "# greywall table ";
static const char dshield_header[] = "Start\tEnd\tNetblock";
/* The lines `pfctl -vT show` prints under an address, each indented. */
static const char *const pfctl_detail_labels[] = {
	"Cleared:",	"In/Block:",	 "In/Match:",	   "In/Pass:",	  "In/XPass:",
	"Out/Block:",	"Out/Match:",	 "Out/Pass:",	   "Out/XPass:",  "Active States:",
	"Weight:",	"Interface:",
};

struct reader {
	const struct listformat_options *opts;
	const char *name;
	listformat_cb cb;
	void *ctx;
	struct listformat_stats *st;
	char *err;
	size_t errlen;
	int lineno;
	/* In the comment block that opens a greywall dump: "# N entries" counts. */
	bool in_dump_header;
};

/* What one line is. */
enum line_kind { LINE_SKIP, LINE_ENTRY, LINE_RANGE, LINE_BAD };

struct parsed_line {
	enum line_kind kind;
	unsigned int form;
	const char *reason; /* LINE_BAD */
	struct addr_prefix first, last;
	int64_t added;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The bytes an address is written with; a table, as every line scans one. */
static const bool addr_chars[256] = {
	['0' ... '9'] = true, ['a' ... 'f'] = true, ['A' ... 'F'] = true, [':'] = true, ['.'] = true,
};

static bool is_addr_char(char c)
{
	return addr_chars[(unsigned char)c];
}

static bool any_mode(const struct reader *r)
{
	return r->opts->mode == LISTFORMAT_ANY;
}

static bool is_comment_start(const struct reader *r, char c)
{
	return c == '#' || (c == ';' && any_mode(r));
}

static bool starts_with(const char *s, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - s) >= n && !memcmp(s, prefix, n);
}

/* The length of an address token at s: address characters, then "/digits". */
static size_t token_length(const char *s, const char *end)
{
	const char *p = s;

	while (p < end && is_addr_char(*p))
		p++;
	if (p < end && *p == '/') {
		p++;
		while (p < end && is_digit(*p))
			p++;
	}
	return (size_t)(p - s);
}

/* addr_parse on s[0..len), which is not NUL-terminated. */
static bool parse_token(const char *s, size_t len, struct addr_prefix *p)
{
	char buf[TOKEN_MAX + 1];

	if (!len || len > TOKEN_MAX)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return addr_parse(buf, p) == 0;
}

/* A decimal number of 1 to max_digits digits filling [s, end). */
static bool parse_decimal(const char *s, const char *end, int max_digits, unsigned long long *v)
{
	if (s == end || end - s > max_digits)
		return false;
	*v = 0;
	for (; s < end; s++) {
		if (!is_digit(*s))
			return false;
		*v = *v * 10 + (unsigned long long)(*s - '0');
	}
	return true;
}

/* dump.c's time field: "2026-11-22T09:00:00Z" (UTC), or "-" for never (0). */
static bool parse_dump_time(const char *s, const char *end, int64_t *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	unsigned long long year, mon, day, hour, min, sec;
	struct tm tm = { 0 };

	if (end - s == 1 && *s == '-') {
		*t = 0;
		return true;
	}
	if (end - s != (ptrdiff_t)sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
			return false;
	parse_decimal(s, s + 4, 4, &year);
	parse_decimal(s + 5, s + 7, 2, &mon);
	parse_decimal(s + 8, s + 10, 2, &day);
	parse_decimal(s + 11, s + 13, 2, &hour);
	parse_decimal(s + 14, s + 16, 2, &min);
	parse_decimal(s + 17, s + 19, 2, &sec);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
	    sec > 60)
		return false;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = (int)mon - 1;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hour;
	tm.tm_min = (int)min;
	tm.tm_sec = (int)sec;
	*t = (int64_t)timegm(&tm);
	return *t > 0;
}

/* dump.c's counter field: "<packets>/<bytes>", two decimals. */
static bool is_counter_pair(const char *s, const char *end)
{
	const char *slash = memchr(s, '/', (size_t)(end - s));
	unsigned long long v;

	return slash && parse_decimal(s, slash, 20, &v) && parse_decimal(slash + 1, end, 20, &v);
}

/* Split [s, end) at tabs into at most max fields; returns how many there are. */
static int split_tabs(const char *s, const char *end, const char **field, const char **field_end,
		      int max)
{
	int n = 0;

	for (;;) {
		const char *tab = memchr(s, '\t', (size_t)(end - s));

		if (n == max)
			return max + 1;
		field[n] = s;
		field_end[n] = tab ? tab : end;
		n++;
		if (!tab)
			return n;
		s = tab + 1;
	}
}

static void set_bad(struct parsed_line *pl, const char *reason)
{
	pl->kind = LINE_BAD;
	pl->reason = reason;
}

/*
 * A tab after the first address: a DShield row (the second field is an
 * address) or a greywall _full.txt row (the second field is a time).
 */
static void parse_tab_row(const char *s, const char *end, struct parsed_line *pl)
{
	const char *field[FULL_DUMP_FIELDS], *field_end[FULL_DUMP_FIELDS];
	int n = split_tabs(s, end, field, field_end, FULL_DUMP_FIELDS);
	unsigned long long plen;
	int64_t seen;

	if (n >= 2 && parse_dump_time(field[1], field_end[1], &pl->added)) {
		pl->form = LISTFORMAT_FORM_FULL_DUMP;
		if (n != FULL_DUMP_FIELDS || !parse_dump_time(field[2], field_end[2], &seen) ||
		    field[7] == field_end[7]) {
			set_bad(pl, "malformed greywall dump row");
			return;
		}
		for (int i = 3; i < 7; i++) {
			if (!is_counter_pair(field[i], field_end[i])) {
				set_bad(pl, "malformed greywall dump row");
				return;
			}
		}
		pl->kind = LINE_ENTRY;
		return;
	}
	pl->form = LISTFORMAT_FORM_DSHIELD;
	if (n < 3 || !parse_token(field[1], (size_t)(field_end[1] - field[1]), &pl->last) ||
	    !parse_decimal(field[2], field_end[2], 3, &plen)) {
		set_bad(pl, "unexpected text after the address");
		return;
	}
	/*
	 * Which of start..end and start/LEN the publisher meant cannot be
	 * known: neither is taken.
	 */
	if (!addr_range_is_block(&pl->first, &pl->last, (int)plen)) {
		set_bad(pl, "start and end are not the block the length says");
		return;
	}
	pl->first.plen = (uint8_t)plen;
	pl->kind = LINE_ENTRY;
}

/*
 * One line of a LISTFORMAT_ANY list: s..end is trimmed and neither empty
 * nor a comment; indented says it had leading blanks.
 */
static void parse_any(const struct reader *r, const char *s, const char *end, bool indented,
		      struct parsed_line *pl)
{
	size_t len;
	const char *p;

	pl->form = LISTFORMAT_FORM_PLAIN;
	if (*s == '!') {
		set_bad(pl, "negated entries are not supported");
		return;
	}
	if (indented && !is_digit(*s)) {
		for (size_t i = 0; i < sizeof(pfctl_detail_labels) / sizeof(*pfctl_detail_labels);
		     i++) {
			if (starts_with(s, end, pfctl_detail_labels[i])) {
				pl->form = LISTFORMAT_FORM_PFCTL_VERBOSE;
				pl->kind = LINE_SKIP;
				return;
			}
		}
	}
	if (*s == dshield_header[0] && starts_with(s, end, dshield_header)) {
		pl->form = LISTFORMAT_FORM_DSHIELD;
		pl->kind = LINE_SKIP;
		return;
	}
	len = token_length(s, end);
	if (!parse_token(s, len, &pl->first)) {
		set_bad(pl, "invalid address");
		return;
	}
	p = s + len;
	if (p < end && *p == '\t' && p + 1 < end && !is_blank(p[1]) && !is_comment_start(r, p[1])) {
		parse_tab_row(s, end, pl);
		return;
	}
	while (p < end && is_blank(*p))
		p++;
	if (p == end || is_comment_start(r, *p)) {
		pl->kind = LINE_ENTRY;
		return;
	}
	if (*p != '-') {
		set_bad(pl, "unexpected text after the address");
		return;
	}
	pl->form = LISTFORMAT_FORM_RANGE;
	p++;
	while (p < end && is_blank(*p))
		p++;
	len = token_length(p, end);
	if (!addr_is_host(&pl->first) || !parse_token(p, len, &pl->last) ||
	    !addr_is_host(&pl->last) || pl->last.family != pl->first.family) {
		set_bad(pl, "a range's ends must be two addresses of one family");
		return;
	}
	p += len;
	while (p < end && is_blank(*p))
		p++;
	if (p != end && !is_comment_start(r, *p)) {
		set_bad(pl, "unexpected text after the range");
		return;
	}
	if (addr_compare(&pl->last, &pl->first) < 0) {
		set_bad(pl, "reversed range");
		return;
	}
	pl->kind = LINE_RANGE;
}

/* One line of a table's own file: an address or network, then a comment. */
static void parse_plain(const struct reader *r, const char *s, const char *end,
			struct parsed_line *pl)
{
	size_t len = token_length(s, end);
	const char *p = s + len;

	pl->form = LISTFORMAT_FORM_PLAIN;
	while (p < end && is_blank(*p))
		p++;
	if ((p != end && !is_comment_start(r, *p)) || !parse_token(s, len, &pl->first)) {
		set_bad(pl, "invalid address");
		return;
	}
	pl->kind = LINE_ENTRY;
}

/*
 * Note a bad line; its text is quoted up to its comment, escaped, as
 * addresses are what it should have held and it came from outside.
 */
static void record_bad(struct reader *r, const char *s, const char *end, const char *reason)
{
	struct listformat_stats *st = r->st;
	char text[QUOTE_MAX + 1], quoted[ESCAPE_SIZE(QUOTE_MAX)];
	const char *stop = s;
	size_t n;

	if (st->bad_lines < LISTFORMAT_BAD_KEPT)
		st->bad_line[st->bad_lines] = r->lineno;
	st->bad_lines++;
	if (st->bad_lines > 1)
		return;
	while (stop < end && !is_comment_start(r, *stop))
		stop++;
	while (stop > s && is_blank(stop[-1]))
		stop--;
	n = (size_t)(stop - s);
	if (n > QUOTE_MAX)
		n = QUOTE_MAX;
	memcpy(text, s, n);
	text[n] = '\0';
	/* A NUL in the line ends the quote: it is escaped up to there. */
	escape_vis(quoted, sizeof(quoted), text, NULL);
	snprintf(st->first_bad, sizeof(st->first_bad), "%d: %s \"%s%s\"", r->lineno, reason,
		 quoted, (size_t)(stop - s) > QUOTE_MAX ? "..." : "");
}

static int deliver(struct reader *r, const struct addr_prefix *p, int64_t added)
{
	struct listformat_entry e = { .prefix = *p, .added = added, .line = r->lineno };

	if (r->opts->max_entries && r->st->entries >= r->opts->max_entries) {
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen, "%s:%d: more than %zu entries", r->name,
				 r->lineno, r->opts->max_entries);
		return -E2BIG;
	}
	r->st->entries++;
	return r->cb(r->ctx, &e);
}

/*
 * A comment: only the header of a greywall dump says anything to the
 * reader, and only in LISTFORMAT_ANY mode: a table's own file keeps the
 * rule that comments are ignored.
 */
static void handle_comment(struct reader *r, const char *s, const char *end)
{
	unsigned long long n;
	const char *digits;

	if (!any_mode(r))
		return;
	if (r->lineno == 1 && starts_with(s, end, greywall_header)) {
		r->st->forms |= LISTFORMAT_FORM_GREYWALL_HEADER;
		r->in_dump_header = true;
		return;
	}
	if (!r->in_dump_header || !starts_with(s, end, "# ") || end - s < 10 ||
	    memcmp(end - 8, " entries", 8))
		return;
	digits = s + 2;
	if (parse_decimal(digits, end - 8, 18, &n))
		r->st->declared = (long)n;
}

static void bad_line_message(struct reader *r)
{
	const struct listformat_stats *st = r->st;
	size_t used;

	if (!r->err || !r->errlen)
		return;
	snprintf(r->err, r->errlen, "%s:%s", r->name, st->first_bad);
	if (st->bad_lines < 2)
		return;
	used = strlen(r->err);
	snprintf(r->err + used, r->errlen - used, "; %zu bad lines (", st->bad_lines);
	for (size_t i = 0; i < st->bad_lines && i < LISTFORMAT_BAD_KEPT; i++) {
		used = strlen(r->err);
		snprintf(r->err + used, r->errlen - used, "%s%d", i ? ", " : "", st->bad_line[i]);
	}
	used = strlen(r->err);
	snprintf(r->err + used, r->errlen - used, "%s)",
		 st->bad_lines > LISTFORMAT_BAD_KEPT ? ", ..." : "");
}

/* Handle one line (without its '\n'). Returns 0, a callback's value or -errno. */
static int handle_line(struct reader *r, const char *line, size_t len)
{
	const char *s = line, *end = line + len;
	struct addr_prefix cidrs[ADDR_RANGE_MAX_CIDRS];
	struct parsed_line pl = { .kind = LINE_SKIP };
	int ret = 0, n;

	if (r->lineno < INT_MAX)
		r->lineno++;
	r->st->lines++;
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	if (s == end)
		return 0;
	if (is_comment_start(r, *s)) {
		handle_comment(r, s, end);
		return 0;
	}
	r->in_dump_header = false;
	if (any_mode(r))
		parse_any(r, s, end, s > line, &pl);
	else
		parse_plain(r, s, end, &pl);
	r->st->forms |= pl.form;
	switch (pl.kind) {
	case LINE_SKIP:
		return 0;
	case LINE_BAD:
		record_bad(r, s, end, pl.reason);
		if (any_mode(r))
			return 0;
		/* The table file's message, as it always was. */
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen, "%s:%s", r->name, r->st->first_bad);
		return -EINVAL;
	case LINE_ENTRY:
		r->st->entry_lines++;
		return deliver(r, &pl.first, pl.added);
	case LINE_RANGE:
		r->st->entry_lines++;
		n = addr_range_to_cidrs(&pl.first, &pl.last, cidrs);
		for (int i = 0; i < n && !ret; i++)
			ret = deliver(r, &cidrs[i], 0);
		return ret;
	}
	return 0;
}

/*
 * A line longer than LISTFORMAT_LINE_MAX: a comment is skipped, anything
 * else is bad, judged by its first bytes; the rest is dropped unread.
 */
static int handle_long_line(struct reader *r, const char *start, size_t len)
{
	const char *s = start, *end = start + len;

	if (r->lineno < INT_MAX)
		r->lineno++;
	r->st->lines++;
	while (s < end && is_blank(*s))
		s++;
	if (s < end && is_comment_start(r, *s))
		return 0;
	r->in_dump_header = false;
	record_bad(r, s, end, "line too long");
	if (any_mode(r))
		return 0;
	if (r->err && r->errlen)
		snprintf(r->err, r->errlen, "%s:%d: line longer than %d bytes", r->name, r->lineno,
			 LISTFORMAT_LINE_MAX);
	return -EINVAL;
}

static int finish(struct reader *r)
{
	const struct listformat_stats *st = r->st;

	if (st->declared >= 0 && (size_t)st->declared != st->entry_lines + st->bad_lines) {
		if (r->err && r->errlen)
			snprintf(r->err, r->errlen,
				 "%s: the header says %ld entries, the file holds %zu", r->name,
				 st->declared, st->entry_lines + st->bad_lines);
		return -EBADMSG;
	}
	if (st->bad_lines)
		bad_line_message(r);
	return 0;
}

int listformat_read_fd(int fd, const char *name, const struct listformat_options *opts,
		       listformat_cb cb, void *ctx, struct listformat_stats *st, char *err,
		       size_t errlen)
{
	struct listformat_stats own;
	struct reader r = { .opts = opts, .name = name, .cb = cb, .ctx = ctx,
			    .st = st ? st : &own, .err = err, .errlen = errlen };
	off_t total = 0;
	size_t have = 0;
	/* Inside a long line whose verdict is in: drop bytes up to its '\n'. */
	bool skipping = false;
	int ret = 0;
	char *buf;

	memset(r.st, 0, sizeof(*r.st));
	r.st->declared = -1;
	if (err && errlen)
		err[0] = '\0';
	buf = malloc(READ_BUFSIZE);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		char *line, *nl;
		ssize_t n = read(fd, buf + have, READ_BUFSIZE - have);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		/* The size was checked before, but the file may grow while it is read. */
		total += n;
		if (opts->max_size && total > opts->max_size) {
			if (err && errlen)
				snprintf(err, errlen, "%s: grew beyond %lld bytes while read", name,
					 (long long)opts->max_size);
			ret = -EFBIG;
			break;
		}
		if (n == 0) {
			/* The last line may lack its '\n'. */
			if (have && !skipping)
				ret = handle_line(&r, buf, have);
			if (!ret)
				ret = finish(&r);
			break;
		}
		have += (size_t)n;
		line = buf;
		while (!ret && (nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
			if (skipping)
				skipping = false;
			else
				ret = handle_line(&r, line, (size_t)(nl - line));
			line = nl + 1;
		}
		if (ret)
			break;
		have = (size_t)(buf + have - line);
		if (!skipping && have > LISTFORMAT_LINE_MAX) {
			ret = handle_long_line(&r, line, have);
			skipping = true;
		}
		if (ret)
			break;
		if (skipping)
			have = 0;
		memmove(buf, line, have);
	}
	free(buf);
	return ret;
}

int listformat_read(const char *path, const struct listformat_options *opts, listformat_cb cb,
		    void *ctx, struct listformat_stats *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (err && errlen)
		err[0] = '\0';
	if (fd < 0)
		return -errno;
	ret = listformat_read_fd(fd, path, opts, cb, ctx, st, err, errlen);
	close(fd);
	return ret;
}
