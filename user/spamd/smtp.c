// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit's SMTP dialogue: see smtp.h for the choices made.
 * Reply texts are greywall's own; codes and their order follow spamd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spamd/smtp.h"

#define REPLY_HELO	 "250 %s Hello, pleased to meet you. Slowly.\r\n"
#define REPLY_MAIL	 "250 2.1.0 Sender noted. Your time will be spent here.\r\n"
#define REPLY_RCPT	 "250 2.1.5 Recipient noted. This may take a while.\r\n"
#define REPLY_NOOP	 "250 2.0.0 OK, nothing done, at length.\r\n"
#define REPLY_RSET	 "250 2.0.0 Starting over.\r\n"
#define REPLY_QUIT	 "221 2.0.0 %s closing connection.\r\n"
#define REPLY_DATA_BLACK "354 Enter the message, end with \".\" on a line by itself.\r\n"
#define REPLY_DATA_GREY	 "451 Temporary failure, please try again later.\r\n"
#define REPLY_UNKNOWN	 "500 5.5.1 Command unrecognized.\r\n"
#define REPLY_TOO_LONG	 "500 5.5.2 Line too long.\r\n"
#define REPLY_NUL	 "500 5.5.2 NUL byte in command.\r\n"
#define REPLY_HELO_ARG	 "501 5.5.4 HELO and EHLO need a domain name.\r\n"
#define REPLY_MAIL_ARG	 "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
#define REPLY_RCPT_ARG	 "501 5.5.4 Syntax: RCPT TO:<address>\r\n"
#define REPLY_NESTED	 "503 5.5.1 Sender already given.\r\n"
#define REPLY_NO_MAIL	 "503 5.5.1 Need MAIL before RCPT.\r\n"
#define REPLY_NO_RCPT	 "503 5.5.1 Need RCPT before DATA.\r\n"
#define REPLY_TOO_MANY	 "452 4.5.3 Too many recipients.\r\n"
#define REPLY_TOO_BAD	 "421 4.7.0 %s Too many bad commands, closing connection.\r\n"

/* The final reply's lines when the caller gave none. */
static const char default_black_message[] =
	"Your address %A is listed as a source of spam.\n"
	"No mail from it is accepted here.";

/* Whose bytes smtp_session.out points at. */
enum out_kind {
	OUT_OWN,		/* our own buffer (or none) */
	OUT_CONSTANT,		/* a constant reply: never freed */
	OUT_SHARED,		/* the text of a struct smtp_shared we hold a reference on */
};

/* The fields of smtp_session.tuple, in order. */
enum tuple_field {
	TUPLE_HELO,
	TUPLE_FROM,
	TUPLE_TO,
};

/* Where the DATA reader stands, to spot the "." line in any split. */
enum data_position {
	DATA_LINE_START,
	DATA_DOT,		/* "." at the start of the line */
	DATA_DOT_CR,		/* ".\r" */
	DATA_MIDDLE,
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t word_length(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && !is_blank(p[n]))
		n++;
	return n;
}

static size_t pending_bytes(const struct smtp_session *s)
{
	return s->out_end - s->out_start;
}

int smtp_shared_new(const char *text, size_t len, struct smtp_shared **out)
{
	struct smtp_shared *shared;

	if (len > UINT32_MAX - sizeof(*shared) - 1)
		return -ENOMEM;
	shared = malloc(sizeof(*shared) + len + 1);
	if (!shared)
		return -ENOMEM;
	shared->refs = 1;
	shared->len = (uint32_t)len;
	memcpy(shared->text, text, len);
	shared->text[len] = '\0';
	*out = shared;
	return 0;
}

struct smtp_shared *smtp_shared_get(struct smtp_shared *shared)
{
	shared->refs++;
	return shared;
}

void smtp_shared_put(struct smtp_shared *shared)
{
	if (shared && !--shared->refs)
		free(shared);
}

/* Let go of the reply bytes, sent or not. */
static void out_release(struct smtp_session *s)
{
	if (s->out_kind == OUT_SHARED)
		smtp_shared_put((struct smtp_shared *)(s->out - offsetof(struct smtp_shared, text)));
	else if (s->out_kind == OUT_OWN)
		free(s->out);
	s->out = NULL;
	s->out_start = s->out_end = 0;
	s->out_cap_log = 0;
	s->out_kind = OUT_OWN;
}

/* Send text that outlives the session without copying it; nothing may be pending. */
static void out_borrow(struct smtp_session *s, const char *text, size_t len, enum out_kind kind)
{
	out_release(s);
	/* Borrowed bytes are only read: out_reserve() copies them before a write. */
	s->out = (char *)text;
	s->out_end = (uint16_t)len;
	s->out_kind = (uint8_t)kind;
}

#define OUT_CAP_MIN 128

static size_t out_grown_capacity(size_t cap, size_t need)
{
	for (cap = cap ? cap : OUT_CAP_MIN; cap < need; cap *= 2)
		;
	return cap;
}

/* How much our own buffer holds: a power of two, kept as its log. */
static size_t out_capacity(const struct smtp_session *s)
{
	return s->out_kind == OUT_OWN && s->out ? (size_t)OUT_CAP_MIN << s->out_cap_log : 0;
}

static void out_set_capacity(struct smtp_session *s, size_t cap)
{
	uint8_t log = 0;

	while (((size_t)OUT_CAP_MIN << log) < cap)
		log++;
	s->out_cap_log = log;
}

/* Room for more bytes after the pending ones, which move to the front of our own buffer. */
static int out_reserve(struct smtp_session *s, size_t more)
{
	size_t used = pending_bytes(s), cap;
	char *bigger;

	if (used + more > SMTP_OUT_MAX)
		return -ENOMEM;
	if (s->out_kind != OUT_OWN) {
		cap = out_grown_capacity(0, used + more);
		bigger = malloc(cap);
		if (!bigger)
			return -ENOMEM;
		memcpy(bigger, s->out + s->out_start, used);
		out_release(s);
		s->out = bigger;
		s->out_end = (uint16_t)used;
		out_set_capacity(s, cap);
		return 0;
	}
	if (s->out_start) {
		memmove(s->out, s->out + s->out_start, used);
		s->out_start = 0;
		s->out_end = (uint16_t)used;
	}
	if (used + more <= out_capacity(s))
		return 0;
	cap = out_grown_capacity(out_capacity(s), used + more);
	bigger = realloc(s->out, cap);
	if (!bigger)
		return -ENOMEM;
	s->out = bigger;
	out_set_capacity(s, cap);
	return 0;
}

static int out_append(struct smtp_session *s, const char *p, size_t n)
{
	int ret = n ? out_reserve(s, n) : 0;

	if (ret || !n)
		return ret;
	memcpy(s->out + s->out_end, p, n);
	s->out_end += (uint16_t)n;
	return 0;
}

/* A constant reply: pointed at when nothing else is pending, else appended. */
static int reply_constant(struct smtp_session *s, const char *text)
{
	if (pending_bytes(s))
		return out_append(s, text, strlen(text));
	out_borrow(s, text, strlen(text), OUT_CONSTANT);
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	ret = out_reserve(s, (size_t)n + 1);
	if (ret)
		return ret;
	va_start(ap, fmt);
	vsnprintf(s->out + s->out_end, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->out_end += (uint16_t)n;
	return 0;
}

/* A 5xx answer; the last one allowed is 421 and ends the session. */
static int bad_command(struct smtp_session *s, const char *text)
{
	if (++s->bad_commands >= SMTP_MAX_BAD_COMMANDS) {
		s->state = SMTP_CLOSING;
		return reply(s, REPLY_TOO_BAD, s->params->hostname);
	}
	return reply_constant(s, text);
}

/* Field i of the tuple; "" when it was not received. */
static const char *tuple_field(const struct smtp_session *s, unsigned int i)
{
	const char *p = s->tuple;

	if (i >= s->tuple_fields)
		return "";
	while (i--)
		p += strlen(p) + 1;
	return p;
}

/*
 * Set field i to n bytes, keeping the fields before it and dropping those
 * after: HELO starts over, MAIL forgets the recipient. One allocation for
 * the three, so an idle session holds one pointer, not three. On failure
 * the tuple is unchanged.
 */
static int tuple_set(struct smtp_session *s, enum tuple_field i, const char *p, size_t n)
{
	size_t keep = 0, off = 0;
	unsigned int f;
	char *tuple;

	for (f = 0; f < i; f++)
		keep += strlen(tuple_field(s, f)) + 1;
	tuple = malloc(keep + n + 1);
	if (!tuple)
		return -ENOMEM;
	for (f = 0; f < i; f++) {
		const char *field = tuple_field(s, f);
		size_t len = strlen(field) + 1;

		memcpy(tuple + off, field, len);
		off += len;
	}
	memcpy(tuple + off, p, n);
	tuple[off + n] = '\0';
	free(s->tuple);
	s->tuple = tuple;
	s->tuple_fields = (uint8_t)(i + 1);
	return 0;
}

/* NULL, or a string of at most max bytes without line breaks. */
static bool valid_text(const char *t, size_t max)
{
	size_t n;

	if (!t)
		return false;
	n = strnlen(t, max + 1);
	return n <= max && strcspn(t, "\r\n") == n;
}

/* A trapped session turns black; message (copied) or NULL for the default text. */
static int set_black(struct smtp_session *s, const char *message)
{
	int ret = 0;

	if (message)
		ret = smtp_message_new(message, &s->black_message);
	if (!ret)
		s->black = true;
	return ret;
}

/* The next non-empty line of text at or after *pos. */
static bool message_line(const char *text, size_t *pos, const char **line, size_t *len)
{
	const char *p = text + *pos;

	p += strspn(p, "\r\n");
	if (!*p)
		return false;
	*line = p;
	*len = strcspn(p, "\r\n");
	*pos = (size_t)(p + *len - text);
	return true;
}

/* One message line with "%A" as the client address and "%%" as "%". */
static int append_expanded(struct smtp_session *s, const char *line, size_t len)
{
	char addr[ADDR_STRLEN];
	size_t i = 0;
	int ret = 0;

	addr_format(&s->client, addr, sizeof(addr));
	while (!ret && i < len) {
		const char *pct = memchr(line + i, '%', len - i);
		size_t run = pct ? (size_t)(pct - line) - i : len - i;

		ret = out_append(s, line + i, run);
		i += run;
		if (ret || i == len)
			break;
		/* line[i] is '%'. */
		if (i + 1 < len && line[i + 1] == 'A') {
			ret = out_append(s, addr, strlen(addr));
			i += 2;
		} else if (i + 1 < len && line[i + 1] == '%') {
			ret = out_append(s, "%", 1);
			i += 2;
		} else {
			ret = out_append(s, "%", 1);
			i++;
		}
	}
	return ret;
}

/* The black client's final multi-line reply; the session then closes. */
static int black_reply(struct smtp_session *s)
{
	const char *text = s->black_message ? s->black_message->text : NULL, *line, *next;
	size_t pos = 0, len, next_len;
	bool more;
	int ret = 0;

	s->state = SMTP_CLOSING;
	if (!text || !message_line(text, &pos, &line, &len)) {
		text = default_black_message;
		pos = 0;
		message_line(text, &pos, &line, &len);
	}
	do {
		more = message_line(text, &pos, &next, &next_len);
		ret = reply(s, "%d%c", s->params->black_code, more ? '-' : ' ');
		if (!ret)
			ret = append_expanded(s, line, len);
		if (!ret)
			ret = out_append(s, "\r\n", 2);
		line = next;
		len = next_len;
	} while (!ret && more);
	return ret;
}

/*
 * The path as the client wrote it, as spamd keeps it: "<...>" with its
 * angle brackets (possibly "<>"), or else the first word. *empty says
 * whether it names no address ("<>").
 */
static int parse_path(const char *arg, size_t len, const char **addr, size_t *n, bool *empty)
{
	const char *gt;

	while (len && is_blank(*arg)) {
		arg++;
		len--;
	}
	*addr = arg;
	if (len && *arg == '<') {
		gt = memchr(arg, '>', len);
		if (!gt)
			return -EINVAL;
		*n = (size_t)(gt - arg) + 1;
		*empty = *n == 2;
		return 0;
	}
	*n = word_length(arg, len);
	*empty = false;
	return *n ? 0 : -EINVAL;
}

/* Whether arg starts with keyword (case-insensitive), e.g. "FROM:". */
static bool has_keyword(const char *arg, size_t len, const char *keyword)
{
	size_t n = strlen(keyword);

	return len >= n && !strncasecmp(arg, keyword, n);
}

static void end_transaction(struct smtp_session *s)
{
	s->in_transaction = false;
	s->has_rcpt = false;
}

static int command_helo(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	size_t n = word_length(arg, len);
	int ret;

	(void)ctx;
	if (!n)
		return bad_command(s, REPLY_HELO_ARG);
	ret = tuple_set(s, TUPLE_HELO, arg, n);
	if (ret)
		return ret;
	end_transaction(s);
	return reply(s, REPLY_HELO, s->params->hostname);
}

static int command_mail(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	const char *addr;
	bool empty;
	size_t n;
	int ret;

	(void)ctx;
	if (s->in_transaction)
		return bad_command(s, REPLY_NESTED);
	if (!has_keyword(arg, len, "FROM:") || parse_path(arg + 5, len - 5, &addr, &n, &empty))
		return bad_command(s, REPLY_MAIL_ARG);
	ret = tuple_set(s, TUPLE_FROM, addr, n);
	if (ret)
		return ret;
	s->in_transaction = true;
	s->has_rcpt = false;
	return reply_constant(s, REPLY_MAIL);
}

static int command_rcpt(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	const char *addr, *message = NULL;
	struct smtp_tuple t;
	bool empty;
	size_t n;
	int ret, verdict = SMTP_RCPT_ACCEPT;

	if (!s->in_transaction)
		return bad_command(s, REPLY_NO_MAIL);
	if (!has_keyword(arg, len, "TO:") || parse_path(arg + 3, len - 3, &addr, &n, &empty) ||
	    empty)
		return bad_command(s, REPLY_RCPT_ARG);
	/*
	 * Every RCPT the hook sees is a write in the parent: a session gets
	 * maxrcpt. A client that goes on regardless is flooding, so each 452
	 * counts as a bad command and the session ends at the limit.
	 */
	if (s->params->maxrcpt && s->rcpts >= s->params->maxrcpt)
		return bad_command(s, REPLY_TOO_MANY);
	ret = tuple_set(s, TUPLE_TO, addr, n);
	if (ret)
		return ret;
	smtp_session_last_tuple(s, &t);
	if (s->params->rcpt)
		verdict = s->params->rcpt(ctx, &t, s->black, &message);
	if (verdict < 0)
		return verdict;
	if (verdict == SMTP_RCPT_TRAP && !s->black)
		ret = set_black(s, message);
	else if (verdict != SMTP_RCPT_ACCEPT && verdict != SMTP_RCPT_TRAP)
		ret = -EINVAL;
	if (ret)
		return ret;
	s->rcpts++;
	s->has_rcpt = true;
	return reply_constant(s, REPLY_RCPT);
}

static int command_data(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	(void)arg;
	(void)len;
	(void)ctx;
	if (!s->has_rcpt)
		return bad_command(s, REPLY_NO_RCPT);
	if (!s->black) {
		s->state = SMTP_CLOSING;
		return reply_constant(s, REPLY_DATA_GREY);
	}
	s->state = SMTP_DATA;
	s->data_line = DATA_LINE_START;
	s->data_bytes = 0;
	return reply_constant(s, REPLY_DATA_BLACK);
}

static int command_noop(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	(void)arg;
	(void)len;
	(void)ctx;
	return reply_constant(s, REPLY_NOOP);
}

static int command_rset(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	(void)arg;
	(void)len;
	(void)ctx;
	end_transaction(s);
	return reply_constant(s, REPLY_RSET);
}

static int command_quit(struct smtp_session *s, const char *arg, size_t len, void *ctx)
{
	(void)arg;
	(void)len;
	(void)ctx;
	s->state = SMTP_CLOSING;
	return reply(s, REPLY_QUIT, s->params->hostname);
}

static const struct {
	const char *verb;
	int (*handle)(struct smtp_session *s, const char *arg, size_t len, void *ctx);
} commands[] = {
	{ "HELO", command_helo }, { "EHLO", command_helo }, { "MAIL", command_mail },
	{ "RCPT", command_rcpt }, { "DATA", command_data }, { "NOOP", command_noop },
	{ "RSET", command_rset }, { "QUIT", command_quit },
};

/* One command line without its '\n'. */
static int handle_line(struct smtp_session *s, const char *line, size_t len, void *ctx)
{
	size_t verb_len;

	if (s->line_too_long) {
		s->line_too_long = false;
		return bad_command(s, REPLY_TOO_LONG);
	}
	if (len && line[len - 1] == '\r')
		len--;
	if (len > SMTP_LINE_MAX)
		return bad_command(s, REPLY_TOO_LONG);
	if (memchr(line, '\0', len))
		return bad_command(s, REPLY_NUL);
	verb_len = word_length(line, len);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *arg = line + verb_len;
		size_t arg_len = len - verb_len;

		if (verb_len != strlen(commands[i].verb) ||
		    strncasecmp(line, commands[i].verb, verb_len))
			continue;
		while (arg_len && is_blank(*arg)) {
			arg++;
			arg_len--;
		}
		while (arg_len && is_blank(arg[arg_len - 1]))
			arg_len--;
		return commands[i].handle(s, arg, arg_len, ctx);
	}
	return bad_command(s, REPLY_UNKNOWN);
}

static void line_drop(struct smtp_session *s)
{
	free(s->in);
	s->in = NULL;
	s->in_len = 0;
}

/*
 * What the partial line's buffer holds: it grows by doubling from 64 as
 * the line does and is freed with it, so its length implies its size.
 */
static size_t in_capacity(size_t len)
{
	size_t cap = 64;

	if (!len)
		return 0;
	while (cap < len)
		cap *= 2;
	return cap < SMTP_LINE_MAX + 1 ? cap : SMTP_LINE_MAX + 1;
}

/*
 * Add to the partial line. Past the longest line (with room for its
 * '\r') the bytes are dropped and the line is marked too long instead.
 */
static int line_append(struct smtp_session *s, const char *p, size_t n)
{
	size_t need = s->in_len + n, cap;
	char *bigger;

	if (s->line_too_long || !n)
		return 0;
	if (need > SMTP_LINE_MAX + 1) {
		s->line_too_long = true;
		line_drop(s);
		return 0;
	}
	cap = in_capacity(need);
	if (cap > in_capacity(s->in_len)) {
		bigger = realloc(s->in, cap);
		if (!bigger)
			return -ENOMEM;
		s->in = bigger;
	}
	memcpy(s->in + s->in_len, p, n);
	s->in_len = (uint16_t)need;
	return 0;
}

/* The line ends with these n bytes: from the caller's buffer when it can. */
static int line_complete(struct smtp_session *s, const char *p, size_t n, void *ctx)
{
	int ret;

	if (!s->in_len && !s->line_too_long)
		return handle_line(s, p, n, ctx);
	ret = line_append(s, p, n);
	if (!ret)
		ret = handle_line(s, s->in, s->in_len, ctx);
	line_drop(s);
	return ret;
}

/*
 * Count message bytes up to the "." line or max_data, whichever comes
 * first; the content is never kept. Returns the bytes consumed.
 */
static size_t data_read(struct smtp_session *s, const char *p, size_t len, bool *done)
{
	uint32_t room = s->params->max_data - s->data_bytes;
	size_t n = len < room ? len : (size_t)room, i = 0;

	*done = false;
	while (i < n && !*done) {
		const char *nl;
		char c;

		if (s->data_line == DATA_MIDDLE) {
			nl = memchr(p + i, '\n', n - i);
			i = nl ? (size_t)(nl - p) + 1 : n;
			if (nl)
				s->data_line = DATA_LINE_START;
			continue;
		}
		c = p[i++];
		if (c == '\n')
			*done = s->data_line == DATA_DOT || s->data_line == DATA_DOT_CR;
		if (c == '\n')
			s->data_line = DATA_LINE_START;
		else if (c == '.' && s->data_line == DATA_LINE_START)
			s->data_line = DATA_DOT;
		else if (c == '\r' && s->data_line == DATA_DOT)
			s->data_line = DATA_DOT_CR;
		else
			s->data_line = DATA_MIDDLE;
	}
	s->data_bytes += (uint32_t)i;
	if (s->data_bytes >= s->params->max_data)
		*done = true;
	return i;
}

static bool params_valid(const struct smtp_params *p)
{
	return p && valid_text(p->hostname, SMTP_HOSTNAME_MAX) &&
	       valid_text(p->banner, SMTP_BANNER_MAX) &&
	       (p->black_code == 450 || p->black_code == 550);
}

int smtp_banner_new(const struct smtp_params *p, const char *date, struct smtp_shared **out)
{
	char text[SMTP_HOSTNAME_MAX + SMTP_BANNER_MAX + SMTP_DATE_MAX + 32];
	int n;

	if (!params_valid(p) || !valid_text(date, SMTP_DATE_MAX))
		return -EINVAL;
	n = snprintf(text, sizeof(text), "220 %s ESMTP %s; %s\r\n", p->hostname, p->banner, date);
	return smtp_shared_new(text, (size_t)n, out);
}

/*
 * The most bytes black_reply() can make of text: per line its code, a
 * separator and "\r\n", and every "%A" as the longest address.
 */
static size_t final_reply_max(const char *text)
{
	size_t pos = 0, len, total = 0;
	const char *line;

	while (message_line(text, &pos, &line, &len)) {
		total += 4 + len + 2;
		for (size_t i = 0; i + 1 < len; i++)
			if (line[i] == '%' && line[i + 1] == 'A')
				total += ADDR_STRLEN - 2;
	}
	return total;
}

int smtp_message_new(const char *text, struct smtp_shared **out)
{
	size_t len = strnlen(text, SMTP_MESSAGE_MAX + 1);

	if (len > SMTP_MESSAGE_MAX || final_reply_max(text) > SMTP_FINAL_REPLY_MAX)
		return -EINVAL;
	return smtp_shared_new(text, len, out);
}

int smtp_session_start(struct smtp_session *s, const struct smtp_params *p,
		       const struct addr_prefix *client, struct smtp_shared *banner, bool black,
		       struct smtp_shared *black_message)
{
	memset(s, 0, sizeof(*s));
	if (!params_valid(p) || !client || !banner)
		return -EINVAL;
	s->params = p;
	s->client = *client;
	s->black = black;
	if (black && black_message)
		s->black_message = smtp_shared_get(black_message);
	out_borrow(s, banner->text, banner->len, OUT_SHARED);
	smtp_shared_get(banner);
	return 0;
}

int smtp_session_classify(struct smtp_session *s, const struct smtp_params *p, bool black,
			  struct smtp_shared *black_message)
{
	if (!params_valid(p))
		return -EINVAL;
	/* Fed nothing yet: no line begun, no command answered, no tuple. */
	if (!s->params || s->in || s->tuple_fields || s->bad_commands || s->in_transaction ||
	    s->state != SMTP_COMMANDS || s->black || s->black_message)
		return -EBUSY;
	s->params = p;
	s->black = black;
	if (black && black_message)
		s->black_message = smtp_shared_get(black_message);
	return 0;
}

int smtp_session_init(struct smtp_session *s, const struct smtp_params *p,
		      const struct addr_prefix *client, const char *date, bool black,
		      const char *black_message)
{
	struct smtp_shared *banner = NULL, *message = NULL;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = smtp_banner_new(p, date, &banner);
	if (!ret && black && black_message)
		ret = smtp_message_new(black_message, &message);
	if (!ret)
		ret = smtp_session_start(s, p, client, banner, black, message);
	smtp_shared_put(banner);
	smtp_shared_put(message);
	return ret;
}

ssize_t smtp_session_input(struct smtp_session *s, const char *buf, size_t len, void *ctx)
{
	size_t used = 0;
	int ret = 0;

	while (!ret && used < len) {
		const char *p = buf + used, *nl;
		size_t rest = len - used;
		bool done;

		switch (s->state) {
		case SMTP_COMMANDS:
			nl = memchr(p, '\n', rest);
			if (!nl) {
				ret = line_append(s, p, rest);
				used = len;
				break;
			}
			if (pending_bytes(s) > SMTP_OUTPUT_HIGH)
				return (ssize_t)used;
			used += (size_t)(nl - p) + 1;
			ret = line_complete(s, p, (size_t)(nl - p), ctx);
			break;
		case SMTP_DATA:
			used += data_read(s, p, rest, &done);
			if (done)
				ret = black_reply(s);
			break;
		default:
			/* Whatever follows the end of the dialogue is ignored. */
			used = len;
			break;
		}
	}
	return ret ? ret : (ssize_t)used;
}

int smtp_session_eof(struct smtp_session *s, void *ctx)
{
	int ret = 0;

	if (s->state == SMTP_COMMANDS && (s->in_len || s->line_too_long))
		ret = line_complete(s, NULL, 0, ctx);
	if (!ret && s->state == SMTP_DATA)
		ret = black_reply(s);
	s->state = SMTP_CLOSING;
	line_drop(s);
	return ret;
}

size_t smtp_session_pending(const struct smtp_session *s, const char **data)
{
	*data = s->out ? s->out + s->out_start : NULL;
	return pending_bytes(s);
}

void smtp_session_consume(struct smtp_session *s, size_t n)
{
	size_t pending = pending_bytes(s);

	s->out_start += (uint16_t)(n < pending ? n : pending);
	if (s->out_start == s->out_end)
		out_release(s);
}

bool smtp_session_should_close(const struct smtp_session *s)
{
	return s->state == SMTP_CLOSING && !pending_bytes(s);
}

bool smtp_session_stuttered(const struct smtp_session *s, uint64_t elapsed, bool whole_replies)
{
	if (whole_replies || !s->params->stutter)
		return false;
	return s->black || elapsed < s->params->greystutter;
}

bool smtp_session_last_tuple(const struct smtp_session *s, struct smtp_tuple *t)
{
	t->helo = tuple_field(s, TUPLE_HELO);
	t->from = tuple_field(s, TUPLE_FROM);
	t->to = tuple_field(s, TUPLE_TO);
	return s->tuple_fields > TUPLE_TO;
}

void smtp_session_free(struct smtp_session *s)
{
	line_drop(s);
	out_release(s);
	free(s->tuple);
	s->tuple = NULL;
	s->tuple_fields = 0;
	smtp_shared_put(s->black_message);
	s->black_message = NULL;
}
