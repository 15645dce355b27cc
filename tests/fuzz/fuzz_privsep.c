// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the parent/child line protocol (privsep.h). The
 * child is the side an outsider talks to, so whatever it sends the parent
 * must be decoded or refused, never misread; and whatever either side
 * encodes must reach the other exactly. Three properties, on every input:
 *
 * - Each line of the input decodes to a message or -EPROTO. A message that
 *   decodes encodes again, and that line decodes to the same message, field
 *   by field, and encodes to itself.
 * - A message built from the input (the first byte picks the type and the
 *   flags, which name the types past the low bits' eight: LOG, POLICY,
 *   VERDICT and the metrics child's three; the rest split at NUL bytes
 *   gives the strings and addresses) encodes, or is refused: -EMSGSIZE only when too long, -EINVAL only for
 *   an IPv4-mapped IPv6 address (which decode refuses); and it decodes to
 *   exactly what was built: every byte value but NUL survives escaping.
 * - The input streamed through a socketpair in pseudo-random chunks gives,
 *   through privsep_receive(), the same messages and errors as the lines
 *   decoded one by one, and -EMSGSIZE for a line beyond PRIVSEP_LINE_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spamd/privsep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A line and its room to grow by one NUL; the reader's buffer is no bigger. */
#define LINE_ROOM (PRIVSEP_LINE_MAX + 2)

static bool same_string(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool same_host(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/*
 * Field by field, as decode fills them: an absent message or list is "",
 * so a and b must both come from privsep_decode() or be built that way.
 */
static bool same_message(const struct privsep_msg *a, const struct privsep_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PRIVSEP_CLASSIFY:
		return a->classify.conn_id == b->classify.conn_id &&
		       same_host(&a->classify.client, &b->classify.client);
	case PRIVSEP_RCPT:
		return same_host(&a->rcpt.client, &b->rcpt.client) &&
		       same_host(&a->rcpt.local, &b->rcpt.local) &&
		       same_string(a->rcpt.helo, b->rcpt.helo) &&
		       same_string(a->rcpt.from, b->rcpt.from) &&
		       same_string(a->rcpt.to, b->rcpt.to);
	case PRIVSEP_CLASS:
		if (a->class.conn_id != b->class.conn_id || a->class.black != b->class.black)
			return false;
		if (!a->class.black)
			return true;
		return a->class.code == b->class.code &&
		       same_string(a->class.message, b->class.message) &&
		       same_string(a->class.lists, b->class.lists);
	case PRIVSEP_TRAPS:
		return a->generation == b->generation;
	case PRIVSEP_SPAMTRAP:
	case PRIVSEP_DOMAIN:
	case PRIVSEP_VALID:
		return same_string(a->entry, b->entry);
	case PRIVSEP_TRAPS_END:
		return true;
	case PRIVSEP_CONFIG:
		return a->config.maxcon == b->config.maxcon &&
		       a->config.maxblack == b->config.maxblack &&
		       a->config.stutter == b->config.stutter &&
		       a->config.greystutter == b->config.greystutter &&
		       a->config.idle_timeout == b->config.idle_timeout &&
		       a->config.maxrcpt == b->config.maxrcpt &&
		       a->config.max_data == b->config.max_data &&
		       a->config.black_code == b->config.black_code &&
		       same_string(a->config.hostname, b->config.hostname) &&
		       same_string(a->config.banner, b->config.banner);
	case PRIVSEP_LOG:
		return a->log.priority == b->log.priority && same_string(a->log.text, b->log.text);
	case PRIVSEP_POLICY:
		return a->policy.req_id == b->policy.req_id &&
		       same_string(a->policy.request, b->policy.request) &&
		       same_string(a->policy.state, b->policy.state) &&
		       same_string(a->policy.client, b->policy.client) &&
		       same_string(a->policy.helo, b->policy.helo) &&
		       same_string(a->policy.sender, b->policy.sender) &&
		       same_string(a->policy.recipient, b->policy.recipient) &&
		       same_string(a->policy.rcpt_count, b->policy.rcpt_count) &&
		       same_string(a->policy.instance, b->policy.instance);
	case PRIVSEP_VERDICT:
		return a->verdict.req_id == b->verdict.req_id &&
		       same_string(a->verdict.action, b->verdict.action);
	case PRIVSEP_METRICS:
		return a->metrics.req_id == b->metrics.req_id;
	case PRIVSEP_METRICS_PART:
		return a->metrics.req_id == b->metrics.req_id &&
		       same_string(a->metrics.text, b->metrics.text);
	case PRIVSEP_METRICS_END:
		return a->metrics.req_id == b->metrics.req_id &&
		       a->metrics.length == b->metrics.length;
	case PRIVSEP_CONNS:
		return a->conns.held == b->conns.held && a->conns.black == b->conns.black;
	}
	return false;
}

/* Encode msg into line (LINE_ROOM bytes), NUL-terminated without its '\n'. */
static int encode_line(const struct privsep_msg *msg, char *line)
{
	int n = privsep_encode(msg, line, LINE_ROOM - 1);

	if (n > 0) {
		if (n > PRIVSEP_LINE_MAX + 1 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
			abort();
		line[n - 1] = '\0';
		n--;
	}
	return n;
}

/* Re-encoding a decoded message, and decoding that, must give it back. */
static void check_round_trip(const struct privsep_msg *msg, size_t came_len)
{
	/* back's strings point into again, so its encoding goes to a third buffer. */
	static char line[LINE_ROOM], again[LINE_ROOM], third[LINE_ROOM];
	struct privsep_msg back;
	int n = encode_line(msg, line), m;

	/*
	 * Canonical numbers and escapes are never longer than what came, but
	 * an address may print longer than it was written ("::1:0" is
	 * "::0.1.0.0"): only a line that was near the limit may not fit again.
	 */
	if (n < 0 && (n != -EMSGSIZE || came_len + 64 < PRIVSEP_LINE_MAX))
		abort();
	if (n < 0)
		return;
	memcpy(again, line, (size_t)n + 1);
	if (privsep_decode(again, (size_t)n, &back) || !same_message(msg, &back))
		abort();
	m = encode_line(&back, third);
	if (m != n || memcmp(line, third, (size_t)n))
		abort();
}

/* What decoding one line gave, for the stream to be compared with. */
struct outcome {
	int ret; /* 1, or the error privsep_receive() returns */
	struct privsep_msg msg;
	char line[LINE_ROOM]; /* msg's strings point in here */
};

/* Decode line (n bytes, not terminated) into o, and check what decoded. */
static void decode_one(const uint8_t *line, size_t n, struct outcome *o)
{
	int ret;

	if (n > PRIVSEP_LINE_MAX) {
		o->ret = -EMSGSIZE;
		return;
	}
	memcpy(o->line, line, n);
	o->line[n] = '\0';
	ret = privsep_decode(o->line, n, &o->msg);
	if (ret && ret != -EPROTO)
		abort();
	o->ret = ret ? ret : 1;
	if (!ret)
		check_round_trip(&o->msg, n);
}

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 16;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The next outcome the reader must give: that of the next whole line, or,
 * at the end of the stream, -EMSGSIZE for a partial line too long to
 * buffer and otherwise 0 (nothing whole yet) or -EPIPE after the close.
 */
static int expected_next(const uint8_t *data, size_t size, size_t *off, bool closed,
			 struct outcome *o)
{
	const uint8_t *nl = memchr(data + *off, '\n', size - *off);
	size_t len = nl ? (size_t)(nl - data) - *off : size - *off;

	if (len > PRIVSEP_LINE_MAX)
		return -EMSGSIZE;
	if (!nl)
		return closed ? -EPIPE : 0;
	decode_one(data + *off, len, o);
	*off += len + 1;
	return o->ret;
}

/*
 * Stream data through a socketpair in chunks of 1 to 4096 bytes, draining
 * the reader after each, and compare every result with the lines decoded
 * apart. Only whole lines (written out) count before the close.
 */
static void check_stream(const uint8_t *data, size_t size, uint32_t random)
{
	static struct outcome want;
	struct privsep_reader r;
	struct privsep_msg got;
	size_t sent = 0, expected_off = 0;
	bool closed = false;
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) || fcntl(fds[1], F_SETFL, 0) ||
	    privsep_reader_init(&r, fds[0]))
		abort();
	for (;;) {
		int ret = privsep_receive(&r, &got), exp;

		/* Only what has been written can have been decoded. */
		exp = expected_next(data, sent, &expected_off, closed, &want);
		if (ret != exp)
			abort();
		if (ret == 1 && !same_message(&got, &want.msg))
			abort();
		if (ret < 0)
			break;
		if (ret == 0) {
			size_t n = 1 + next_random(&random) % 4096;

			if (sent == size) {
				close(fds[1]);
				fds[1] = -1;
				closed = true;
				continue;
			}
			if (n > size - sent)
				n = size - sent;
			write_all(fds[1], data + sent, n);
			sent += n;
		}
	}
	privsep_reader_free(&r);
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

/* The next string of the input, up to a NUL or its end; "" once used up. */
static const char *next_field(const uint8_t **p, const uint8_t *end, char *store, size_t *used)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = store + *used;

	memcpy(s, *p, n);
	s[n] = '\0';
	*used += n + 1;
	*p += nul ? n + 1 : n;
	return s;
}

/*
 * A host from the input's next bytes: IPv4 or IPv6 as v6 says. Sets
 * *mapped for an IPv4-mapped IPv6 address, which the protocol refuses.
 */
static void next_host(const uint8_t **p, const uint8_t *end, bool v6, struct addr_prefix *h,
		      bool *mapped)
{
	static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
	size_t n = v6 ? 16 : 4;

	memset(h, 0, sizeof(*h));
	h->family = v6 ? AF_INET6 : AF_INET;
	h->plen = (uint8_t)(n * 8);
	if ((size_t)(end - *p) < n)
		n = (size_t)(end - *p);
	memcpy(h->bytes, *p, n);
	*p += n;
	if (v6 && !memcmp(h->bytes, v4_mapped, sizeof(v4_mapped)))
		*mapped = true;
}

static uint64_t next_number(const uint8_t **p, const uint8_t *end, size_t bytes)
{
	uint64_t v = 0;

	while (bytes-- && *p < end)
		v = v << 8 | *(*p)++;
	return v;
}

/*
 * A message made of the input's bytes: byte 0 picks the type (low 3 bits)
 * and the flags; the strings are NUL-separated runs of the rest.
 */
static void check_built(const uint8_t *data, size_t size)
{
	static char line[LINE_ROOM];
	static const uint16_t codes[] = {0, 450, 550, 550};
	const uint8_t *p = data + 1, *end = data + size;
	struct privsep_msg msg = {.type = (enum privsep_type)(data[0] & 7)}, back;
	uint8_t flags = data[0] >> 3;
	/* An IPv4-mapped address, a bad action, an over-long short field: refused by design. */
	bool mapped = false, refusable = false;
	/* Every field's bytes and its NUL: at most the input and eight NULs (POLICY's). */
	char *store = malloc(size + 8);
	size_t used = 0;
	int n;

	if (!store)
		return;
	switch (msg.type) {
	case PRIVSEP_CLASSIFY:
		msg.classify.conn_id = (uint32_t)next_number(&p, end, 4);
		next_host(&p, end, flags & 1, &msg.classify.client, &mapped);
		break;
	case PRIVSEP_RCPT:
		next_host(&p, end, flags & 1, &msg.rcpt.client, &mapped);
		next_host(&p, end, flags & 2, &msg.rcpt.local, &mapped);
		msg.rcpt.helo = next_field(&p, end, store, &used);
		msg.rcpt.from = next_field(&p, end, store, &used);
		msg.rcpt.to = next_field(&p, end, store, &used);
		break;
	case PRIVSEP_CLASS:
		msg.class.conn_id = (uint32_t)next_number(&p, end, 4);
		msg.class.black = flags & 1;
		if (msg.class.black) {
			msg.class.code = codes[(flags >> 1) & 3];
			msg.class.message = next_field(&p, end, store, &used);
			msg.class.lists = next_field(&p, end, store, &used);
		}
		break;
	case PRIVSEP_TRAPS:
		msg.generation = next_number(&p, end, 8);
		break;
	case PRIVSEP_SPAMTRAP:
	case PRIVSEP_DOMAIN:
	case PRIVSEP_VALID:
		msg.entry = next_field(&p, end, store, &used);
		break;
	case PRIVSEP_TRAPS_END:
		/*
		 * Its flag bits make a LOG line, a POLICY, a VERDICT, a METRICS
		 * message or a CONNS instead:
		 * type 7 is the last the low bits name.
		 */
		if (flags & 1) {
			msg.type = PRIVSEP_LOG;
			msg.log.priority = (flags >> 1) & 7;
			msg.log.text = next_field(&p, end, store, &used);
			/* A log line has a bound of its own (PRIVSEP_LOG_MAX). */
			if (strlen(msg.log.text) > PRIVSEP_LOG_MAX)
				refusable = true;
		} else if (flags & 2) {
			msg.type = PRIVSEP_POLICY;
			msg.policy.req_id = (uint32_t)next_number(&p, end, 4);
			msg.policy.request = next_field(&p, end, store, &used);
			msg.policy.state = next_field(&p, end, store, &used);
			msg.policy.client = next_field(&p, end, store, &used);
			msg.policy.helo = next_field(&p, end, store, &used);
			msg.policy.sender = next_field(&p, end, store, &used);
			msg.policy.recipient = next_field(&p, end, store, &used);
			msg.policy.rcpt_count = next_field(&p, end, store, &used);
			msg.policy.instance = next_field(&p, end, store, &used);
			/*
			 * Its fields have bounds of their own: helo, sender and
			 * recipient PRIVSEP_FIELD_MAX, the others PRIVSEP_SHORT_MAX.
			 */
			if (strlen(msg.policy.helo) > PRIVSEP_FIELD_MAX ||
			    strlen(msg.policy.sender) > PRIVSEP_FIELD_MAX ||
			    strlen(msg.policy.recipient) > PRIVSEP_FIELD_MAX)
				refusable = true;
			for (const char *const *f = (const char *const[]){ msg.policy.request,
									   msg.policy.state,
									   msg.policy.client,
									   msg.policy.rcpt_count,
									   msg.policy.instance, NULL };
			     *f; f++)
				if (strlen(*f) > PRIVSEP_SHORT_MAX)
					refusable = true;
		} else if (flags & 4) {
			msg.type = PRIVSEP_VERDICT;
			msg.verdict.req_id = (uint32_t)next_number(&p, end, 4);
			msg.verdict.action = next_field(&p, end, store, &used);
			/* An action must be one non-empty line: encode refuses others. */
			for (const char *c = msg.verdict.action; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					refusable = true;
			if (!*msg.verdict.action || strlen(msg.verdict.action) > PRIVSEP_ACTION_MAX)
				refusable = true;
		} else if (flags & 8) {
			/* The metrics child's pair: METRICS, METRICS-PART or METRICS-END. */
			static const enum privsep_type kinds[] = { PRIVSEP_METRICS,
								   PRIVSEP_METRICS_PART,
								   PRIVSEP_METRICS_END };

			msg.type = kinds[next_number(&p, end, 1) % 3];
			msg.metrics.req_id = (uint32_t)next_number(&p, end, 4);
			if (msg.type == PRIVSEP_METRICS_PART) {
				msg.metrics.text = next_field(&p, end, store, &used);
				/* A piece is 1 to PRIVSEP_FIELD_MAX bytes. */
				if (!*msg.metrics.text ||
				    strlen(msg.metrics.text) > PRIVSEP_FIELD_MAX)
					refusable = true;
			} else if (msg.type == PRIVSEP_METRICS_END) {
				msg.metrics.length = next_number(&p, end, 3);
				if (msg.metrics.length > PRIVSEP_METRICS_MAX)
					refusable = true;
			}
		} else if (flags & 16) {
			/* The tarpit's CONNS: black more than held is refused by design. */
			msg.type = PRIVSEP_CONNS;
			msg.conns.held = (uint32_t)next_number(&p, end, 4);
			msg.conns.black = (uint32_t)next_number(&p, end, 4);
			if (msg.conns.black > msg.conns.held)
				refusable = true;
		}
		break;
	case PRIVSEP_CONFIG:
	case PRIVSEP_LOG:
	case PRIVSEP_POLICY:
	case PRIVSEP_VERDICT:
	case PRIVSEP_METRICS:
	case PRIVSEP_METRICS_PART:
	case PRIVSEP_METRICS_END:
	case PRIVSEP_CONNS:
		break;
	}
	n = encode_line(&msg, line);
	/*
	 * Refused only when it does not fit: each byte escapes to at most
	 * three, and the type, two addresses and the spaces take under 128.
	 */
	if ((n == -EMSGSIZE && (3 * size + 128 > PRIVSEP_LINE_MAX || refusable)) ||
	    (n == -EINVAL && (mapped || refusable))) {
		free(store);
		return;
	}
	if (n < 0 || privsep_decode(line, (size_t)n, &back) || !same_message(&msg, &back))
		abort();
	free(store);
}

/* Escaping is exact about its room: 3 * strlen + 2 always does. */
static void check_escape(const uint8_t *data, size_t size)
{
	static char in[256], out[3 * sizeof(in) + 2];
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1, len;
	int ret;

	memcpy(in, data, n);
	in[n] = '\0';
	len = strlen(in);
	ret = privsep_escape(in, out, 3 * len + 2);
	if (ret < 0 || (size_t)ret > 3 * len + 1 || strlen(out) != (size_t)ret)
		abort();
	if (ret > 0 && privsep_escape(in, out, (size_t)ret) != -ENOSPC)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	check_escape(data, size);
	check_built(data, size);
	check_stream(data, size, data[0]);
	return 0;
}
