// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit's SMTP dialogue, scripted: every reply is compared byte for
 * byte, whatever the way the input is split or the output is drained.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "spamd/smtp.h"

/*
 * Allocation failures on demand: every allocation goes through here, and
 * the fail_after-th one from now returns NULL (-1: none fails).
 */
extern void *__libc_malloc(size_t n);
extern void *__libc_realloc(void *p, size_t n);
static volatile int fail_after = -1;

static bool allocation_fails(void)
{
	if (fail_after < 0)
		return false;
	return fail_after-- == 0;
}

void *malloc(size_t n)
{
	return allocation_fails() ? NULL : __libc_malloc(n);
}

void *realloc(void *p, size_t n)
{
	return allocation_fails() ? NULL : __libc_realloc(p, n);
}

#define DATE	"Thu, 1 Jan 2026 00:00:00 +0000"
#define BANNER	"220 mx.example.org ESMTP greywall IP-based SPAM blocker; " DATE "\r\n"
#define HELO_OK "250 mx.example.org Hello, pleased to meet you. Slowly.\r\n"
#define MAIL_OK "250 2.1.0 Sender noted. Your time will be spent here.\r\n"
#define RCPT_OK "250 2.1.5 Recipient noted. This may take a while.\r\n"
#define NOOP_OK "250 2.0.0 OK, nothing done, at length.\r\n"
#define RSET_OK "250 2.0.0 Starting over.\r\n"
#define QUIT_OK "221 2.0.0 mx.example.org closing connection.\r\n"
#define DATA_GO "354 Enter the message, end with \".\" on a line by itself.\r\n"
#define GREY451 "451 Temporary failure, please try again later.\r\n"
#define UNKNOWN "500 5.5.1 Command unrecognized.\r\n"
#define TOOLONG "500 5.5.2 Line too long.\r\n"
#define HAS_NUL "500 5.5.2 NUL byte in command.\r\n"
#define HELO501 "501 5.5.4 HELO and EHLO need a domain name.\r\n"
#define MAIL501 "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
#define RCPT501 "501 5.5.4 Syntax: RCPT TO:<address>\r\n"
#define NESTED  "503 5.5.1 Sender already given.\r\n"
#define NO_MAIL "503 5.5.1 Need MAIL before RCPT.\r\n"
#define NO_RCPT "503 5.5.1 Need RCPT before DATA.\r\n"
#define TOO_BAD "421 4.7.0 mx.example.org Too many bad commands, closing connection.\r\n"

/* What the rcpt hook saw, and how it answers. */
struct hook_log {
	int calls;
	char seen[1024];	/* "helo|from|to|black\n" per call */
	const char *trap_to;	/* a RCPT to this address traps */
	const char *trap_message;
	int error;		/* returned instead of a verdict when set */
	int grey, black;	/* accepted RCPTs by the colour they leave the session in */
};

static int rcpt_hook(void *ctx, const struct smtp_tuple *t, bool black, const char **message)
{
	struct hook_log *log = ctx;
	size_t used = strlen(log->seen);

	log->calls++;
	snprintf(log->seen + used, sizeof(log->seen) - used, "%s|%s|%s|%d\n", t->helo, t->from,
		 t->to, black);
	if (log->error)
		return log->error;
	if (log->trap_to && !strcmp(t->to, log->trap_to)) {
		*message = log->trap_message;
		log->black++;
		return SMTP_RCPT_TRAP;
	}
	if (black)
		log->black++;
	else
		log->grey++;
	return SMTP_RCPT_ACCEPT;
}

static struct smtp_params params = {
	.hostname = "mx.example.org",
	.banner = "greywall IP-based SPAM blocker",
	.black_code = 450,
	.max_data = 10 << 20,
	.stutter = 1,
	.greystutter = 10,
	.rcpt = rcpt_hook,
};

/* One whole connection and what came out of it. */
struct run {
	bool black;
	const char *black_message;
	const char *client;	/* default 192.0.2.9 */
	size_t chunk;		/* input pieces of this size; 0: all at once */
	size_t out_step;	/* output taken this many bytes at a time; 0: all */
	bool eof;		/* the client half-closes after its input */
	struct hook_log log;

	char out[1 << 17];
	size_t out_len;
	int err;		/* first error returned */
	bool closed;		/* should_close at the end */
	bool idle_buffers;	/* no buffer held whenever nothing was pending */
	size_t max_pending;	/* most reply bytes pending after an input call */
	struct smtp_session end; /* the session's fields just before it was freed */
	char last_tuple[1024];	/* "helo|from|to" of the last RCPT, or "none" */
};

static void drain(struct smtp_session *s, struct run *r)
{
	const char *data;
	size_t n;

	while ((n = smtp_session_pending(s, &data)) > 0) {
		if (r->out_step && n > r->out_step)
			n = r->out_step;
		if (r->out_len + n < sizeof(r->out)) {
			memcpy(r->out + r->out_len, data, n);
			r->out_len += n;
		}
		smtp_session_consume(s, n);
	}
	if (s->out)
		r->idle_buffers = false;
	r->out[r->out_len] = '\0';
}

static int feed(struct smtp_session *s, struct run *r, const char *in, size_t len)
{
	size_t off = 0;
	const char *data;

	while (off < len) {
		size_t n = r->chunk && len - off > r->chunk ? r->chunk : len - off;
		ssize_t used = smtp_session_input(s, in + off, n, &r->log);

		if (used < 0)
			return (int)used;
		if (smtp_session_pending(s, &data) > r->max_pending)
			r->max_pending = smtp_session_pending(s, &data);
		if (used == 0 && !smtp_session_pending(s, &data))
			return -EDEADLK;
		off += (size_t)used;
		drain(s, r);
		/* The line buffer exists exactly while a partial line does. */
		if (!s->in != !s->in_len)
			r->idle_buffers = false;
	}
	return 0;
}

/* Run the input through a fresh session; the result is in r. */
static void talk(struct run *r, const char *in, size_t len)
{
	struct smtp_session s;
	struct addr_prefix client;
	struct smtp_tuple t;

	addr_parse(r->client ? r->client : "192.0.2.9", &client);
	r->out_len = 0;
	r->out[0] = '\0';
	r->idle_buffers = true;
	r->max_pending = 0;
	r->log.grey = r->log.black = 0;
	r->err = smtp_session_init(&s, &params, &client, DATE, r->black, r->black_message);
	if (r->err)
		return;
	drain(&s, r);
	r->err = feed(&s, r, in, len);
	if (!r->err && r->eof)
		r->err = smtp_session_eof(&s, &r->log);
	drain(&s, r);
	r->closed = smtp_session_should_close(&s);
	if (smtp_session_last_tuple(&s, &t))
		snprintf(r->last_tuple, sizeof(r->last_tuple), "%s|%s|%s", t.helo, t.from, t.to);
	else
		strcpy(r->last_tuple, "none");
	/* Its pointers die with it: only the numbers and flags are looked at. */
	r->end = s;
	smtp_session_free(&s);
}

static const char *talk_text(struct run *r, const char *in)
{
	talk(r, in, strlen(in));
	return r->out;
}

/*
 * What the "(GREY)" and "(BLACK)" log lines would say: the hook's verdicts
 * and the black flag it is told, the way the tarpit's hook logs them.
 */
static void check_recipients(const struct run *r, const char *what, int grey, int black)
{
	CHECK_INT(r->log.grey, grey, "%s: %d GREY recipients", what, grey);
	CHECK_INT(r->log.black, black, "%s: %d BLACK recipients", what, black);
}

static void test_size(void)
{
	printf("# sizeof(struct smtp_session) = %zu\n", sizeof(struct smtp_session));
	/* The tarpit's whole connection (session, fd, times, flags) fits 88 bytes. */
	CHECK(sizeof(struct smtp_session) <= 72, "an idle session is at most 72 bytes");
}

#define DIALOGUE "HELO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\n"

/* 16-bit reply offsets: a message whose final reply could overflow them is refused. */
static void test_message_bound(void)
{
	static char text[SMTP_MESSAGE_MAX + 1];
	struct smtp_shared *message = NULL;
	const char *data;
	struct smtp_session s;
	struct addr_prefix client;
	struct hook_log log = { 0 };
	size_t n;

	memset(text, 'x', SMTP_MESSAGE_MAX);
	CHECK_INT(smtp_message_new(text, &message), 0, "bound: 4096 plain bytes are a message");
	smtp_shared_put(message);
	for (size_t i = 0; i + 1 < SMTP_MESSAGE_MAX; i += 2)
		memcpy(text + i, "%A", 2);
	CHECK_INT(smtp_message_new(text, &message), -EINVAL,
		  "bound: 2048 \"%%A\" could exceed SMTP_FINAL_REPLY_MAX: refused");
	/* Lines of one byte: 7 reply bytes per 2 message bytes, within the bound. */
	for (size_t i = 0; i + 1 < SMTP_MESSAGE_MAX; i += 2)
		memcpy(text + i, "%\n", 2);
	addr_parse("2001:db8:1:2:3:4:5:6", &client);
	CHECK_INT(smtp_session_init(&s, &params, &client, DATE, true, text), 0,
		  "bound: 2048 one-byte lines are a message");
	smtp_session_consume(&s, smtp_session_pending(&s, &data));
	smtp_session_input(&s, DIALOGUE, strlen(DIALOGUE), &log);
	n = smtp_session_pending(&s, &data);
	data += n - 2048 * 7;
	CHECK(n > 2048 * 7 && !memcmp(data, "450-%\r\n", 7) &&
		      !memcmp(data + 2047 * 7, "450 %\r\n", 7) && smtp_session_should_close(&s) == false,
	      "bound: its final reply is queued whole (%zu bytes pending)", n);
	smtp_session_free(&s);
}

/*
 * What many sessions send alike is pointed at, not copied: the banner, a
 * blacklist's message and constant replies cost a session no allocation.
 */
static void test_shared(void)
{
	struct smtp_shared *banner, *message;
	struct smtp_session a, b;
	struct addr_prefix client;
	const char *data;
	size_t in_use, n;

	addr_parse("192.0.2.9", &client);
	CHECK_INT(smtp_banner_new(&params, DATE, &banner), 0, "shared: banner made");
	CHECK_STR(banner->text, BANNER, "shared: the banner's text");
	CHECK_INT(smtp_message_new("Go away %A", &message), 0, "shared: message made");
	in_use = mallinfo2().uordblks;
	smtp_session_start(&a, &params, &client, banner, true, message);
	smtp_session_start(&b, &params, &client, banner, true, message);
	CHECK(mallinfo2().uordblks == in_use, "shared: starting two sessions allocates nothing");
	n = smtp_session_pending(&a, &data);
	CHECK(data == banner->text && n == strlen(BANNER) && banner->refs == 3 &&
		      message->refs == 3,
	      "shared: both sessions point at one banner and one message");
	smtp_session_consume(&a, n);
	CHECK(banner->refs == 2, "shared: a sent banner is let go");
	smtp_session_consume(&b, 4);
	smtp_session_input(&b, "NOOP\r\n", 6, NULL);
	n = smtp_session_pending(&b, &data);
	CHECK(n == strlen(BANNER) - 4 + strlen(NOOP_OK) && data != banner->text + 4 &&
		      banner->refs == 1 && !memcmp(data, BANNER + 4, n - strlen(NOOP_OK)),
	      "shared: a reply after an unsent banner copies the rest, then lets it go");
	smtp_session_consume(&b, n);
	in_use = mallinfo2().uordblks;
	smtp_session_input(&a, "NOOP\r\n", 6, NULL);
	CHECK(mallinfo2().uordblks == in_use && smtp_session_pending(&a, &data) == strlen(NOOP_OK),
	      "shared: a constant reply allocates nothing");
	smtp_session_free(&a);
	smtp_session_free(&b);
	CHECK(banner->refs == 1 && message->refs == 1, "shared: sessions freed, references dropped");
	smtp_shared_put(banner);
	smtp_shared_put(message);
}

static void test_grey_dialogue(void)
{
	struct run r = { 0 };

	CHECK_STR(talk_text(&r, "HELO client.example\r\n"
				"MAIL FROM:<Spammer@Example.COM>\r\n"
				"RCPT TO:<User@Example.ORG>\r\n"
				"NOOP\r\n"
				"RSET\r\n"
				"MAIL FROM: <a@b.example> SIZE=1000\r\n"
				"RCPT TO:<c@d.example>\r\n"
				"DATA\r\n"
				"Subject: never read\r\n"),
		  BANNER HELO_OK MAIL_OK RCPT_OK NOOP_OK RSET_OK MAIL_OK RCPT_OK GREY451,
		  "grey dialogue: 451 at DATA");
	CHECK(r.closed, "grey dialogue: closed after 451");
	CHECK_STR(r.log.seen,
		  "client.example|<Spammer@Example.COM>|<User@Example.ORG>|0\n"
		  "client.example|<a@b.example>|<c@d.example>|0\n",
		  "grey dialogue: every RCPT reported, exactly as received, brackets kept as spamd keeps them");
	check_recipients(&r, "grey dialogue", 2, 0);
	CHECK_INT(r.end.bad_commands, 0, "grey dialogue: no bad command");
	CHECK(r.idle_buffers, "grey dialogue: no buffer kept between replies");
}

static void test_commands(void)
{
	static const struct {
		const char *in, *out, *what;
	} cases[] = {
		{ "ehlo client.example\r\nQUIT\r\n", HELO_OK QUIT_OK, "EHLO, lower case" },
		{ "HeLo x\nquit\n", HELO_OK QUIT_OK, "bare LF line ends" },
		{ "HELO\r\nHELO  \r\nEHLO\t\r\n", HELO501 HELO501 HELO501, "HELO needs an argument" },
		{ "QUIT\r\nNOOP\r\n", QUIT_OK, "nothing after QUIT" },
		{ "QUIT now\r\n", QUIT_OK, "QUIT with an argument" },
		{ "NOOP\r\nNOOP hello\r\nnoop\r\n", NOOP_OK NOOP_OK NOOP_OK, "NOOP" },
		{ "RSET\r\n", RSET_OK, "RSET before anything" },
		{ "VRFY root\r\nDATAX\r\n\r\n HELO x\r\n", UNKNOWN UNKNOWN UNKNOWN UNKNOWN,
		  "unknown commands, empty line, leading blank" },
		{ "RCPT TO:<a@b>\r\n", NO_MAIL, "RCPT before MAIL" },
		{ "HELO x\r\nDATA\r\n", HELO_OK NO_RCPT, "DATA before RCPT" },
		{ "MAIL FROM:<a@b>\r\nDATA\r\n", MAIL_OK NO_RCPT, "DATA after MAIL only" },
		{ "MAIL FROM:<a@b>\r\nMAIL FROM:<c@d>\r\n", MAIL_OK NESTED, "second MAIL" },
		{ "MAIL FROM:<a@b>\r\nRSET\r\nRCPT TO:<c@d>\r\n", MAIL_OK RSET_OK NO_MAIL,
		  "RSET ends the transaction" },
		{ "MAIL FROM:<a@b>\r\nHELO x\r\nRCPT TO:<c@d>\r\n", MAIL_OK HELO_OK NO_MAIL,
		  "HELO ends the transaction" },
		{ "MAIL\r\nMAIL TO:<a@b>\r\nMAIL FROM:\r\nMAIL FROM:<a@b\r\n",
		  MAIL501 MAIL501 MAIL501 MAIL501, "MAIL syntax errors" },
		{ "MAIL FROM:<>\r\nRCPT\r\nRCPT TO:<>\r\nRCPT FROM:<a@b>\r\nRCPT TO:\r\n",
		  MAIL_OK RCPT501 RCPT501 RCPT501 RCPT501, "RCPT syntax errors" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = { 0 };

		CHECK_STR(talk_text(&r, cases[i].in) + strlen(BANNER), cases[i].out, "%s",
			  cases[i].what);
	}
}

static void test_paths(void)
{
	struct run r = { 0 };

	talk_text(&r, "MAIL from:<>\r\nRCPT to: <Postmaster>\r\nRSET\r\n"
		      "MAIL FROM:bare@example.com\r\nRCPT TO:x@example.org NOTIFY=NEVER\r\n"
		      "RCPT TO:<Trap@Example.org> ORCPT=rfc822;y\r\n");
	CHECK_STR(r.log.seen,
		  "|<>|<Postmaster>|0\n"
		  "|bare@example.com|x@example.org|0\n"
		  "|bare@example.com|<Trap@Example.org>|0\n",
		  "paths: brackets kept (<> the null sender), parameters dropped, no HELO gives an empty helo");
	CHECK_STR(r.last_tuple, "|bare@example.com|<Trap@Example.org>",
		  "paths: the last RCPT's tuple kept for the log");
	talk_text(&r, "HELO a\r\nMAIL FROM:<b@c>\r\nRCPT TO:<d@e>\r\nRSET\r\n");
	CHECK_STR(r.last_tuple, "a|<b@c>|<d@e>", "paths: RSET keeps the last tuple");
	talk_text(&r, "HELO a\r\nMAIL FROM:<b@c>\r\nRCPT TO:<d@e>\r\nRSET\r\nMAIL FROM:<f@g>\r\n");
	CHECK_STR(r.last_tuple, "none", "paths: a new MAIL forgets the last tuple");
}

static void test_bad_commands(void)
{
	char in[1024] = "", want[4096] = BANNER;
	struct run r = { 0 };

	for (int i = 1; i < SMTP_MAX_BAD_COMMANDS; i++) {
		strcat(in, "BOGUS\r\n");
		strcat(want, UNKNOWN);
	}
	strcat(in, "NOOP\r\n");
	strcat(want, NOOP_OK);
	CHECK_STR(talk_text(&r, in), want, "19 bad commands are answered");
	CHECK(!r.closed, "19 bad commands do not close");
	CHECK_INT(r.end.bad_commands, 19, "19 bad commands counted");

	strcpy(in + strlen(in) - strlen("NOOP\r\n"), "HELO\r\nNOOP\r\n");
	strcpy(want + strlen(want) - strlen(NOOP_OK), TOO_BAD);
	CHECK_STR(talk_text(&r, in), want, "the 20th bad command gets 421");
	CHECK(r.closed, "the 20th bad command closes");
}

static void test_long_lines(void)
{
	size_t max = SMTP_LINE_MAX;
	char *in = malloc(3 * max + 64);
	struct run r = { 0 };

	memset(in, 'x', max);
	strcpy(in + max, "\r\nNOOP\r\n");
	CHECK_STR(talk_text(&r, in) + strlen(BANNER), UNKNOWN NOOP_OK,
		  "a line of SMTP_LINE_MAX bytes is read as a command");
	r.chunk = 1000;
	CHECK_STR(talk_text(&r, in) + strlen(BANNER), UNKNOWN NOOP_OK,
		  "a line of SMTP_LINE_MAX bytes in pieces is read as a command");

	memset(in, 'x', max + 1);
	strcpy(in + max + 1, "\r\nNOOP\r\n");
	r.chunk = 0;
	CHECK_STR(talk_text(&r, in) + strlen(BANNER), TOOLONG NOOP_OK,
		  "a line of SMTP_LINE_MAX + 1 bytes is too long, the next one is read");
	r.chunk = 1;
	CHECK_STR(talk_text(&r, in) + strlen(BANNER), TOOLONG NOOP_OK,
		  "a line of SMTP_LINE_MAX + 1 bytes, byte by byte, is too long");
	CHECK_INT(r.end.bad_commands, 1, "a long line is one bad command");

	memset(in, 'x', 3 * max);
	strcpy(in + 3 * max, "\nNOOP\n");
	r.chunk = 100;
	CHECK_STR(talk_text(&r, in) + strlen(BANNER), TOOLONG NOOP_OK,
		  "a line three times too long is dropped, not buffered");
	free(in);
}

static void test_long_line_memory(void)
{
	static char block[4096];
	struct smtp_session s;
	struct addr_prefix client;
	bool bounded = true;
	const char *data;
	ssize_t used;

	addr_parse("192.0.2.9", &client);
	smtp_session_init(&s, &params, &client, DATE, false, NULL);
	memset(block, 'y', sizeof(block));
	for (int i = 0; i < 100; i++) {
		used = smtp_session_input(&s, block, sizeof(block), NULL);
		bounded &= used == (ssize_t)sizeof(block) && s.in_len <= SMTP_LINE_MAX + 1;
	}
	CHECK(bounded, "400 KB without a newline: all consumed, at most one line held");
	CHECK(!s.in, "the over-long line's buffer is freed");
	smtp_session_consume(&s, smtp_session_pending(&s, &data));
	smtp_session_input(&s, "\r\n", 2, NULL);
	CHECK_INT(smtp_session_pending(&s, &data), strlen(TOOLONG), "then one 500 reply");
	smtp_session_free(&s);
}

static void test_nul_bytes(void)
{
	static const char in[] = "NO\0OP\r\nHELO a\0b\r\n\0\r\nNOOP\r\n";
	struct run r = { 0 };

	talk(&r, in, sizeof(in) - 1);
	CHECK_STR(r.out + strlen(BANNER), HAS_NUL HAS_NUL HAS_NUL NOOP_OK,
		  "a line with a NUL byte is a bad command, the next line is read");
	CHECK_INT(r.end.bad_commands, 3, "NUL lines counted as bad commands");
	CHECK_STR(r.last_tuple, "none", "NUL lines: no tuple");
}

static const char pipelined[] = "EHLO relay.example\r\n"
				"MAIL FROM:<bounce@relay.example>\r\n"
				"RCPT TO:<a@example.org>\r\n"
				"RCPT TO:<spamtrap@example.org>\r\n"
				"RCPT TO:<b@example.org>\r\n"
				"NOOP\r\n"
				"DATA\r\n"
				"Subject: hello\r\n"
				"\r\n"
				"..a dot-stuffed line\r\n"
				".\tnot the end\r\n"
				"body.\r\n"
				".\r\n"
				"QUIT\r\n";

static void test_trap_and_splits(void)
{
	const char *want = BANNER HELO_OK MAIL_OK RCPT_OK RCPT_OK RCPT_OK NOOP_OK DATA_GO
		"450-Trapped: 192.0.2.9 wrote to a spamtrap, 100% sure.\r\n"
		"450 See https://example.org/lookup?192.0.2.9 %B\r\n";
	size_t len = strlen(pipelined);
	bool all_same = true, one_pending_bound = true;
	struct run r = {
		.log.trap_to = "<spamtrap@example.org>",
		.log.trap_message = "Trapped: %A wrote to a spamtrap, 100%% sure.\r\n\n"
				    "See https://example.org/lookup?%A %B\n",
	};

	CHECK_STR(talk_text(&r, pipelined), want, "trap mid-session: 354, then 450 with %%A");
	CHECK(r.closed, "trap mid-session: closed after the final reply");
	CHECK_STR(r.log.seen,
		  "relay.example|<bounce@relay.example>|<a@example.org>|0\n"
		  "relay.example|<bounce@relay.example>|<spamtrap@example.org>|0\n"
		  "relay.example|<bounce@relay.example>|<b@example.org>|1\n",
		  "trap mid-session: the hook learns the session turned black");
	check_recipients(&r, "trap mid-session", 1, 2);
	CHECK_INT(r.end.data_bytes, 65, "trap mid-session: message bytes counted");

	/* The same dialogue cut in two at every byte, and fed byte by byte. */
	for (size_t cut = 1; cut < len; cut++) {
		struct smtp_session s;
		struct addr_prefix client;
		ssize_t a, b;

		addr_parse("192.0.2.9", &client);
		r.out_len = 0;
		r.log.seen[0] = '\0';
		smtp_session_init(&s, &params, &client, DATE, false, NULL);
		a = smtp_session_input(&s, pipelined, cut, &r.log);
		b = smtp_session_input(&s, pipelined + cut, len - cut, &r.log);
		drain(&s, &r);
		all_same &= a == (ssize_t)cut && b == (ssize_t)(len - cut) && !strcmp(r.out, want);
		smtp_session_free(&s);
	}
	CHECK(all_same, "split at every byte: the same replies");
	r.chunk = 1;
	r.out_step = 1;
	CHECK_STR(talk_text(&r, pipelined), want, "one byte in, one byte out: the same replies");
	one_pending_bound = r.max_pending <= 2 * SMTP_REPLY_MAX;
	CHECK(one_pending_bound, "byte by byte: never more than one reply pending");
	CHECK(r.idle_buffers, "byte by byte: buffers freed whenever idle");
}

static void test_black(void)
{
	struct run r = {
		.black = true,
		.client = "2001:db8::7",
		.black_message = "Your address %A is on the spamtrap list\n"
				 "of example.org since %A 50%",
	};
	const char *want = BANNER HELO_OK MAIL_OK RCPT_OK DATA_GO
		"450-Your address 2001:db8::7 is on the spamtrap list\r\n"
		"450 of example.org since 2001:db8::7 50%\r\n";

	CHECK_STR(talk_text(&r, "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
				"To: c@d\r\n\r\n.\r\nQUIT\r\n"),
		  want, "black at connect: 354, message read, 450 multi-line, IPv6 %%A");
	CHECK(r.closed, "black at connect: closed after the final reply");
	check_recipients(&r, "black at connect", 0, 1);
	CHECK_STR(r.log.seen, "x|<a@b>|<c@d>|1\n", "black at connect: the hook still hears the RCPT");

	r.black_message = NULL;
	params.black_code = 550;
	CHECK_STR(talk_text(&r, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\n.\n") +
			  strlen(BANNER MAIL_OK RCPT_OK DATA_GO),
		  "550-Your address 2001:db8::7 is listed as a source of spam.\r\n"
		  "550 No mail from it is accepted here.\r\n",
		  "black without a message: the default text, code 550");
	r.black_message = "\n\r\n";
	CHECK_STR(talk_text(&r, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\n.\n") +
			  strlen(BANNER MAIL_OK RCPT_OK DATA_GO),
		  "550-Your address 2001:db8::7 is listed as a source of spam.\r\n"
		  "550 No mail from it is accepted here.\r\n",
		  "black with an empty message: the default text");
	params.black_code = 450;
}

static void test_data_limit(void)
{
	char in[4096] = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
	const char *final = "450 Enough.\r\n";
	struct run r = { .black = true, .black_message = "Enough." };
	size_t head = strlen(in);

	memset(in + head, 'z', 1000);
	in[head + 1000] = '\0';
	params.max_data = 100;
	r.chunk = 7;
	talk_text(&r, in);
	params.max_data = 10 << 20;
	CHECK_STR(r.out + strlen(BANNER MAIL_OK RCPT_OK DATA_GO), final,
		  "DATA beyond max_data: the final reply");
	CHECK_INT(r.end.data_bytes, 100, "DATA beyond max_data: exactly max_data bytes read");
	CHECK(r.closed, "DATA beyond max_data: closed");
}

static void test_half_close(void)
{
	struct run r = { .eof = true };

	CHECK_STR(talk_text(&r, "HELO x\r\nQUIT") + strlen(BANNER), HELO_OK QUIT_OK,
		  "EOF: the unterminated last line is answered");
	CHECK(r.closed, "EOF after QUIT: closed");
	CHECK_STR(talk_text(&r, "HELO x\r\nMAIL FROM:<a@b>\r\n") + strlen(BANNER),
		  HELO_OK MAIL_OK, "EOF mid-dialogue: no extra reply");
	CHECK(r.closed, "EOF mid-dialogue: closed once the replies are sent");
	CHECK(!r.end.in && !r.end.out, "EOF: no buffer left");

	r.black = true;
	r.black_message = "Bye %A";
	CHECK_STR(talk_text(&r, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nunfinished") +
			  strlen(BANNER),
		  MAIL_OK RCPT_OK DATA_GO "450 Bye 192.0.2.9\r\n",
		  "EOF in a black client's DATA: the final reply");
	CHECK(r.closed, "EOF in DATA: closed");

	r.black = false;
	r.out_step = 1;
	r.chunk = 0;
	r.eof = false;
	talk_text(&r, "NOOP\r\n");
	CHECK(!r.closed, "no EOF, no QUIT: the session stays open");
}

static void test_backpressure(void)
{
	size_t n = 3000, len = n * strlen("NOOP\r\n");
	char *in = malloc(len + 1), *want = malloc(strlen(BANNER) + n * strlen(NOOP_OK) + 1);
	struct run *r = calloc(1, sizeof(*r));
	struct smtp_session s;
	struct addr_prefix client;
	const char *data;
	ssize_t used;

	strcpy(want, BANNER);
	for (size_t i = 0; i < n; i++) {
		strcpy(in + i * 6, "NOOP\r\n");
		strcat(want, NOOP_OK);
	}
	addr_parse("192.0.2.9", &client);
	smtp_session_init(&s, &params, &client, DATE, false, NULL);
	used = smtp_session_input(&s, in, len, NULL);
	CHECK(used > 0 && used < (ssize_t)len, "3000 pipelined NOOPs: input stops early (%zd)",
	      used);
	CHECK(smtp_session_pending(&s, &data) <= SMTP_OUTPUT_HIGH + SMTP_REPLY_MAX,
	      "3000 pipelined NOOPs: pending output stays bounded");
	CHECK_INT(smtp_session_input(&s, in + used, len - (size_t)used, NULL), 0,
		  "nothing more is consumed until replies are sent");
	smtp_session_free(&s);

	talk(r, in, len);
	CHECK(r->err == 0 && !strcmp(r->out, want),
	      "3000 pipelined NOOPs: every reply, in order, once drained");
	CHECK(r->max_pending <= SMTP_OUTPUT_HIGH + SMTP_REPLY_MAX,
	      "3000 pipelined NOOPs: at most %zu bytes pending", r->max_pending);
	free(in);
	free(want);
	free(r);
}

static void test_stutter(void)
{
	struct smtp_session s = { .params = &params };
	struct smtp_params no_stutter = params;

	CHECK(smtp_session_stuttered(&s, 0, false), "grey: stuttered at first");
	CHECK(smtp_session_stuttered(&s, 9, false), "grey: stuttered for greystutter seconds");
	CHECK(!smtp_session_stuttered(&s, 10, false), "grey: whole replies after greystutter");
	CHECK(!smtp_session_stuttered(&s, 0, true), "grey: whole replies when slots are few");
	s.black = true;
	CHECK(smtp_session_stuttered(&s, 100000, false), "black: stuttered throughout");
	CHECK(!smtp_session_stuttered(&s, 100000, true), "black: whole replies when slots are few");
	no_stutter.stutter = 0;
	s.params = &no_stutter;
	CHECK(!smtp_session_stuttered(&s, 0, false), "stutter 0: never stuttered");
}

static void test_errors(void)
{
	struct smtp_params bad = params;
	struct smtp_session s;
	struct addr_prefix client;
	char *huge = malloc(SMTP_MESSAGE_MAX + 2);
	struct run r = { .log.error = -EIO };

	addr_parse("192.0.2.9", &client);
	bad.black_code = 421;
	CHECK_INT(smtp_session_init(&s, &bad, &client, DATE, false, NULL), -EINVAL,
		  "black_code other than 450/550 refused");
	bad = params;
	bad.hostname = "mx\r\n250 forged";
	CHECK_INT(smtp_session_init(&s, &bad, &client, DATE, false, NULL), -EINVAL,
		  "a hostname with a line break refused");
	CHECK_INT(smtp_session_init(&s, &params, &client, NULL, false, NULL), -EINVAL,
		  "no date refused");
	memset(huge, 'm', SMTP_MESSAGE_MAX + 1);
	huge[SMTP_MESSAGE_MAX + 1] = '\0';
	CHECK_INT(smtp_session_init(&s, &params, &client, DATE, true, huge), -EINVAL,
		  "a black message over SMTP_MESSAGE_MAX refused");
	huge[SMTP_MESSAGE_MAX] = '\0';
	CHECK_INT(smtp_session_init(&s, &params, &client, DATE, true, huge), 0,
		  "a black message of SMTP_MESSAGE_MAX accepted");
	smtp_session_free(&s);
	free(huge);

	talk_text(&r, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	CHECK_INT(r.err, -EIO, "the hook's error ends the session");
}

/* Every allocation that can fail, failing in turn, in a whole black dialogue. */
static void test_out_of_memory(void)
{
	static const char in[] = "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\n";
	struct run *r = calloc(1, sizeof(*r));
	bool only_enomem = true, no_leak = true;
	int failures = 0, n;
	void *volatile probe;

	/* valgrind, for one, puts its own malloc in place of the one above. */
	fail_after = 0;
	probe = malloc(1);
	fail_after = -1;
	if (probe) {
		printf("# out of memory: not tested, malloc is not ours here\n");
		free(probe);
		free(r);
		return;
	}
	r->black = true;
	r->black_message = "Go away %A";
	r->chunk = 3;
	for (n = 0; n < 100; n++) {
		size_t in_use = mallinfo2().uordblks;

		fail_after = n;
		talk(r, in, strlen(in));
		fail_after = -1;
		no_leak &= mallinfo2().uordblks == in_use;
		if (!r->err)
			break;
		failures++;
		only_enomem &= r->err == -ENOMEM;
	}
	CHECK(failures > 5, "out of memory: %d allocations could fail", failures);
	CHECK(only_enomem, "out of memory: always reported as -ENOMEM");
	CHECK(no_leak, "out of memory: everything freed after every failure");
	CHECK_STR(r->out + strlen(BANNER), HELO_OK MAIL_OK RCPT_OK DATA_GO "450 Go away 192.0.2.9\r\n",
		  "out of memory: with enough memory the dialogue completes");
	free(r);
}

int main(void)
{
	test_size();
	test_message_bound();
	test_shared();
	test_grey_dialogue();
	test_commands();
	test_paths();
	test_bad_commands();
	test_long_lines();
	test_long_line_memory();
	test_nul_bytes();
	test_trap_and_splits();
	test_black();
	test_data_limit();
	test_half_close();
	test_backpressure();
	test_stutter();
	test_errors();
	test_out_of_memory();
	return check_done();
}
