// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the tarpit's SMTP dialogue. The first two bytes
 * pick the session (black or grey, 450 or 550, a small DATA cap, EOF at
 * the end) and the seed of the cuts; the rest is what the client sends.
 * The stream is fed once whole and once cut at pseudo-random points with
 * the replies taken a byte or a few at a time: both must give the same
 * replies, keep every buffer within its bound and free everything.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spamd/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * More than 16384 input bytes (run.sh's -max_len) can draw out: a command
 * draws at most about ten times its length in replies ("NOOP\n", 41 bytes).
 */
#define TRANSCRIPT_MAX (1 << 20)

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
	int err;
	bool closed;
};

/* RCPT TO:<...trap...> traps the client; RCPT TO:<fail> makes the hook fail. */
static int rcpt_hook(void *ctx, const struct smtp_tuple *t, bool black, const char **message)
{
	(void)ctx;
	(void)black;
	if (!t->helo || !t->from || !t->to || !t->to[0])
		abort();
	if (!strcmp(t->to, "fail"))
		return -EIO;
	if (strstr(t->to, "trap")) {
		*message = "Trapped %A\nfor %A, 100%% %";
		return SMTP_RCPT_TRAP;
	}
	return SMTP_RCPT_ACCEPT;
}

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 16;
}

/* What a session holds must match what it is doing. */
static void check_bounds(const struct smtp_session *s)
{
	const char *data;
	size_t pending = smtp_session_pending(s, &data);

	if (!s->in != !s->in_len || s->in_len > SMTP_LINE_MAX + 1)
		abort();
	if (!s->out != !pending || (pending && !data))
		abort();
	if (s->state != SMTP_CLOSING &&
	    (pending > SMTP_OUTPUT_HIGH + SMTP_REPLY_MAX || s->bad_commands >= SMTP_MAX_BAD_COMMANDS))
		abort();
	/* One counter, two meanings: message bytes after 354, RCPTs given to the hook before. */
	if (s->state == SMTP_DATA && s->data_bytes > s->params->max_data)
		abort();
	if (s->state == SMTP_COMMANDS && s->params->maxrcpt && s->rcpts > s->params->maxrcpt)
		abort();
}

/* Take the pending replies, step bytes at a time (0: all at once). */
static void drain(struct smtp_session *s, struct transcript *t, uint32_t *random)
{
	const char *data;
	size_t n;

	while ((n = smtp_session_pending(s, &data)) > 0) {
		size_t step = random ? 1 + next_random(random) % 8 : n;

		if (step < n)
			n = step;
		if (t->len + n > TRANSCRIPT_MAX)
			abort();
		memcpy(t->text + t->len, data, n);
		t->len += n;
		smtp_session_consume(s, n);
	}
	if (s->out)
		abort();
}

static void run(const struct smtp_params *p, bool black, bool eof, const uint8_t *in, size_t len,
		uint32_t *random, struct transcript *t)
{
	struct smtp_session s;
	struct addr_prefix client;
	const char *pending;
	size_t off = 0;

	t->len = 0;
	addr_parse("192.0.2.9", &client);
	t->err = smtp_session_init(&s, p, &client, "Thu, 1 Jan 2026 00:00:00 +0000", black, NULL);
	if (t->err)
		abort();
	drain(&s, t, random);
	while (off < len && !t->err) {
		size_t n = random ? 1 + next_random(random) % 300 : len - off;
		ssize_t used;
		bool closing;

		if (n > len - off)
			n = len - off;
		closing = smtp_session_should_close(&s);
		used = smtp_session_input(&s, (const char *)in + off, n, NULL);
		if (used < 0) {
			t->err = (int)used;
			break;
		}
		if ((size_t)used > n || (closing && (size_t)used != n))
			abort();
		/* Only pending replies stop the input. */
		if ((size_t)used < n && smtp_session_pending(&s, &pending) <= SMTP_OUTPUT_HIGH)
			abort();
		check_bounds(&s);
		off += (size_t)used;
		drain(&s, t, random);
		check_bounds(&s);
	}
	if (!t->err && eof)
		t->err = smtp_session_eof(&s, NULL);
	drain(&s, t, random);
	t->closed = smtp_session_should_close(&s);
	if (eof && !t->err && !t->closed)
		abort();
	smtp_session_free(&s);
}

/* Every reply line is "ddd " or "ddd-" and ends in CRLF; nothing else. */
static void check_replies(const struct transcript *t)
{
	size_t i = 0;

	while (i < t->len) {
		const char *line = t->text + i, *nl = memchr(line, '\n', t->len - i);
		size_t n;

		if (!nl)
			abort();
		n = (size_t)(nl - line) + 1;
		if (n < 6 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-') ||
		    line[n - 2] != '\r' || memchr(line, '\r', n - 2) || memchr(line, '\0', n))
			abort();
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct transcript whole, cut;
	struct smtp_params p = {
		.hostname = "mx.example.org",
		.banner = "greywall IP-based SPAM blocker",
		.stutter = 1,
		.greystutter = 10,
		.rcpt = rcpt_hook,
	};
	uint32_t random;
	bool black, eof;

	if (size < 2)
		return 0;
	black = data[0] & 1;
	eof = data[0] & 2;
	p.black_code = data[0] & 4 ? 550 : 450;
	p.max_data = data[0] & 8 ? 1 + (data[0] >> 4) * 16 : 10 << 20;
	/* Half the inputs bound RCPTs, from 1 to 8, so the 452s past maxrcpt are fuzzed too. */
	p.maxrcpt = data[1] & 0x80 ? 1 + (data[1] & 7) : 0;
	random = data[1];

	run(&p, black, eof, data + 2, size - 2, NULL, &whole);
	run(&p, black, eof, data + 2, size - 2, &random, &cut);
	if (whole.err != cut.err || whole.closed != cut.closed || whole.len != cut.len ||
	    memcmp(whole.text, cut.text, whole.len))
		abort();
	if (whole.err && whole.err != -EIO)
		abort();
	check_replies(&whole);
	return 0;
}
