// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The parent/child line protocol and the child's privilege drop: see
 * privsep.h for the wire format.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/sandbox.h"
#include "spamd/privsep.h"

/*
 * A writer keeps at most this much buffer once its queue is empty again:
 * its first buffer, so that a send costs no allocation, only a burst's.
 */
#define WRITER_KEEP (2 * (PRIVSEP_LINE_MAX + 1))
/* The most fields a message has: CONFIG's eleven. */
#define FIELDS_MAX 11
#define POLICY_FIELDS 10

static const char *const type_names[] = {
	[PRIVSEP_CLASSIFY] = "CLASSIFY", [PRIVSEP_RCPT] = "RCPT",
	[PRIVSEP_CLASS] = "CLASS",	 [PRIVSEP_TRAPS] = "TRAPS",
	[PRIVSEP_SPAMTRAP] = "SPAMTRAP", [PRIVSEP_DOMAIN] = "DOMAIN",
	[PRIVSEP_VALID] = "VALID",	 [PRIVSEP_TRAPS_END] = "TRAPS-END",
	[PRIVSEP_CONFIG] = "CONFIG",	 [PRIVSEP_LOG] = "LOG",
	[PRIVSEP_POLICY] = "POLICY",	 [PRIVSEP_VERDICT] = "VERDICT",
	[PRIVSEP_METRICS] = "METRICS",	 [PRIVSEP_METRICS_PART] = "METRICS-PART",
	[PRIVSEP_METRICS_END] = "METRICS-END", [PRIVSEP_CONNS] = "CONNS",
};

#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

static bool needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%' || c >= 0x80;
}

int privsep_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (!*in || !strcmp(in, "-")) {
		const char *word = *in ? "%2D" : "-";

		if (strlen(word) >= outlen)
			return -ENOSPC;
		strcpy(out, word);
		return (int)strlen(word);
	}
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;

		if (n + (needs_escape(c) ? 3 : 1) >= outlen)
			return -ENOSPC;
		if (needs_escape(c)) {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return (int)n;
}

/* A line being encoded: after each field, buf[pos] holds the escaper's NUL. */
struct line_out {
	char *buf;
	size_t cap, pos;
	int err;
};

static void add_field(struct line_out *l, const char *text)
{
	int n;

	if (l->err)
		return;
	if (!text) {
		l->err = -EINVAL;
		return;
	}
	if (l->pos)
		l->buf[l->pos++] = ' ';
	n = l->pos < l->cap ? privsep_escape(text, l->buf + l->pos, l->cap - l->pos) : -ENOSPC;
	if (n < 0)
		l->err = -EMSGSIZE;
	else
		l->pos += (size_t)n;
}

static void add_number(struct line_out *l, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	add_field(l, text);
}

static const uint8_t zero_tail[12];

static void add_host(struct line_out *l, const struct addr_prefix *host)
{
	char text[ADDR_STRLEN];
	struct addr_prefix back;

	if ((host->family != AF_INET && host->family != AF_INET6) || !addr_is_host(host))
		goto invalid;
	addr_format(host, text, sizeof(text));
	/*
	 * Send only what the peer's parse_host() takes back: it refuses an
	 * IPv4-mapped IPv6 address, and a refused line makes it drop us. An
	 * IPv4 address comes back whole when the bytes past its four are
	 * zero, as addr_parse() leaves them: no need to parse it again.
	 */
	if (host->family == AF_INET ? memcmp(host->bytes + 4, zero_tail, sizeof(zero_tail))
				    : addr_parse(text, &back) || !addr_equal(host, &back))
		goto invalid;
	add_field(l, text);
	return;
invalid:
	if (!l->err)
		l->err = -EINVAL;
}

static void add_class(struct line_out *l, const struct privsep_class *c)
{
	add_number(l, c->conn_id);
	if (!c->black) {
		add_field(l, "GREY");
		return;
	}
	if (c->code != 0 && c->code != 450 && c->code != 550)
		l->err = -EINVAL;
	add_field(l, "BLACK");
	add_number(l, c->code);
	add_field(l, c->message ? c->message : "");
	if (c->lists && *c->lists)
		add_field(l, c->lists);
}

static void add_config(struct line_out *l, const struct tarpit_config *c)
{
	if (c->black_code != 450 && c->black_code != 550)
		l->err = -EINVAL;
	add_number(l, c->maxcon);
	add_number(l, c->maxblack);
	add_number(l, c->stutter);
	add_number(l, c->greystutter);
	add_number(l, c->idle_timeout);
	add_number(l, c->maxrcpt);
	add_number(l, c->max_data);
	add_number(l, (uint64_t)c->black_code);
	add_field(l, c->hostname);
	add_field(l, c->banner);
}

static void add_log(struct line_out *l, const struct privsep_log *log)
{
	if (log->priority < 0 || log->priority > 7)
		l->err = -EINVAL;
	else if (log->text && strlen(log->text) > PRIVSEP_LOG_MAX)
		l->err = -EMSGSIZE;
	add_number(l, (uint64_t)(log->priority < 0 ? 0 : log->priority));
	add_field(l, log->text);
}

static void add_bounded(struct line_out *l, const char *text, size_t max)
{
	if (text && strlen(text) > max)
		l->err = -EMSGSIZE;
	add_field(l, text);
}

/* POLICY's i-th string field: helo, sender and recipient are the long ones. */
static size_t policy_field_max(size_t i)
{
	return i >= 3 && i <= 5 ? PRIVSEP_FIELD_MAX : PRIVSEP_SHORT_MAX;
}

static void add_policy(struct line_out *l, const struct privsep_policy *p)
{
	const char *fields[] = { p->request, p->state,	   p->client,	  p->helo,
				 p->sender,  p->recipient, p->rcpt_count, p->instance };

	add_number(l, p->req_id);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		add_bounded(l, fields[i], policy_field_max(i));
}

/* One line of text: no control byte, at most PRIVSEP_ACTION_MAX. */
static bool action_valid(const char *action)
{
	size_t n = 0;

	if (!action || !*action)
		return false;
	for (; action[n]; n++)
		if ((unsigned char)action[n] < 0x20 || action[n] == 0x7f)
			return false;
	return n <= PRIVSEP_ACTION_MAX;
}

int privsep_encode(const struct privsep_msg *msg, char *buf, size_t len)
{
	struct line_out l = { .buf = buf, .cap = len < PRIVSEP_LINE_MAX + 1 ? len : PRIVSEP_LINE_MAX + 1 };

	if ((size_t)msg->type >= TYPE_COUNT)
		return -EINVAL;
	add_field(&l, type_names[msg->type]);
	switch (msg->type) {
	case PRIVSEP_CLASSIFY:
		add_number(&l, msg->classify.conn_id);
		add_host(&l, &msg->classify.client);
		break;
	case PRIVSEP_RCPT:
		add_host(&l, &msg->rcpt.client);
		add_host(&l, &msg->rcpt.local);
		add_field(&l, msg->rcpt.helo);
		add_field(&l, msg->rcpt.from);
		add_field(&l, msg->rcpt.to);
		break;
	case PRIVSEP_CLASS:
		add_class(&l, &msg->class);
		break;
	case PRIVSEP_TRAPS:
		add_number(&l, msg->generation);
		break;
	case PRIVSEP_SPAMTRAP:
	case PRIVSEP_DOMAIN:
	case PRIVSEP_VALID:
		add_field(&l, msg->entry);
		break;
	case PRIVSEP_TRAPS_END:
		break;
	case PRIVSEP_CONFIG:
		add_config(&l, &msg->config);
		break;
	case PRIVSEP_LOG:
		add_log(&l, &msg->log);
		break;
	case PRIVSEP_POLICY:
		add_policy(&l, &msg->policy);
		break;
	case PRIVSEP_VERDICT:
		if (!action_valid(msg->verdict.action))
			l.err = -EINVAL;
		add_number(&l, msg->verdict.req_id);
		add_field(&l, msg->verdict.action);
		break;
	case PRIVSEP_METRICS:
		add_number(&l, msg->metrics.req_id);
		break;
	case PRIVSEP_METRICS_PART:
		/* An empty piece would say nothing; a longer one breaks the child's bound. */
		if (!msg->metrics.text || !*msg->metrics.text)
			l.err = -EINVAL;
		add_number(&l, msg->metrics.req_id);
		add_bounded(&l, msg->metrics.text, PRIVSEP_FIELD_MAX);
		break;
	case PRIVSEP_METRICS_END:
		if (msg->metrics.length > PRIVSEP_METRICS_MAX)
			l.err = -EMSGSIZE;
		add_number(&l, msg->metrics.req_id);
		add_number(&l, msg->metrics.length);
		break;
	case PRIVSEP_CONNS:
		if (msg->conns.black > msg->conns.held)
			l.err = -EINVAL;
		add_number(&l, msg->conns.held);
		add_number(&l, msg->conns.black);
		break;
	}
	if (l.err)
		return l.err;
	/* The NUL after the last field has room: it becomes the newline. */
	l.buf[l.pos] = '\n';
	return (int)l.pos + 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo privsep_escape() in place; a byte that should have been escaped is an error. */
static int unescape(char *field)
{
	char *out = field;
	const char *in = field;

	if (!strcmp(field, "-")) {
		*field = '\0';
		return 0;
	}
	for (; *in; in++) {
		int hi, lo;

		if (*in != '%') {
			if (needs_escape((unsigned char)*in))
				return -EPROTO;
			*out++ = *in;
			continue;
		}
		hi = hex_value(in[1]);
		lo = hi < 0 ? -1 : hex_value(in[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -EPROTO;
		*out++ = (char)(hi << 4 | lo);
		in += 2;
	}
	*out = '\0';
	return 0;
}

/* Decimal digits only, at most max. */
static int parse_number(const char *text, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*text)
		return -EPROTO;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -EPROTO;
		if ((uint64_t)(*text - '0') > max || v > (max - (uint64_t)(*text - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*text - '0');
	}
	*out = v;
	return 0;
}

static int parse_conn_id(const char *text, uint32_t *out)
{
	uint64_t v = 0;
	int ret = parse_number(text, UINT32_MAX, &v);

	*out = (uint32_t)v;
	return ret;
}

static int parse_host(const char *text, struct addr_prefix *out)
{
	if (addr_parse(text, out) || !addr_is_host(out))
		return -EPROTO;
	return 0;
}

static int decode_class(char **f, size_t n, struct privsep_class *c)
{
	uint64_t code;

	memset(c, 0, sizeof(*c));
	if (n < 3 || parse_conn_id(f[1], &c->conn_id))
		return -EPROTO;
	if (!strcmp(f[2], "GREY"))
		return n == 3 ? 0 : -EPROTO;
	if (strcmp(f[2], "BLACK") || (n != 5 && n != 6) || parse_number(f[3], 550, &code) ||
	    (code != 0 && code != 450 && code != 550))
		return -EPROTO;
	c->black = true;
	c->code = (uint16_t)code;
	c->message = f[4];
	c->lists = n == 6 ? f[5] : "";
	return 0;
}

static int parse_u32(const char *text, uint32_t *out)
{
	uint64_t v = 0;
	int ret = parse_number(text, UINT32_MAX, &v);

	*out = (uint32_t)v;
	return ret;
}

/* CONFIG's fields after the type; the tarpit checks the values (tarpit_run's rules). */
static int decode_config(char **f, size_t n, struct tarpit_config *c)
{
	uint32_t code = 0;

	if (n != 11 || parse_u32(f[1], &c->maxcon) || parse_u32(f[2], &c->maxblack) ||
	    parse_u32(f[3], &c->stutter) || parse_u32(f[4], &c->greystutter) ||
	    parse_u32(f[5], &c->idle_timeout) || parse_u32(f[6], &c->maxrcpt) ||
	    parse_u32(f[7], &c->max_data) || parse_u32(f[8], &code) ||
	    (code != 450 && code != 550))
		return -EPROTO;
	c->black_code = (int)code;
	c->hostname = f[9];
	c->banner = f[10];
	return 0;
}

int privsep_decode(char *line, size_t len, struct privsep_msg *msg)
{
	char *f[FIELDS_MAX], *p = line;
	size_t n = 0, type;

	if (len > PRIVSEP_LINE_MAX || strlen(line) != len)
		return -EPROTO;
	/* Split at single spaces: an empty field (two spaces, a space at an end) is malformed. */
	for (;;) {
		char *space = strchr(p, ' ');

		if (n == FIELDS_MAX || (space ? space == p : !*p))
			return -EPROTO;
		f[n++] = p;
		if (!space)
			break;
		*space = '\0';
		p = space + 1;
	}
	for (type = 0; type < TYPE_COUNT && strcmp(f[0], type_names[type]); type++)
		;
	if (type == TYPE_COUNT)
		return -EPROTO;
	for (size_t i = 1; i < n; i++)
		if (unescape(f[i]))
			return -EPROTO;
	memset(msg, 0, sizeof(*msg));
	msg->type = (enum privsep_type)type;
	switch (msg->type) {
	case PRIVSEP_CLASSIFY:
		if (n != 3 || parse_conn_id(f[1], &msg->classify.conn_id) ||
		    parse_host(f[2], &msg->classify.client))
			return -EPROTO;
		return 0;
	case PRIVSEP_RCPT:
		if (n != 6 || parse_host(f[1], &msg->rcpt.client) ||
		    parse_host(f[2], &msg->rcpt.local))
			return -EPROTO;
		msg->rcpt.helo = f[3];
		msg->rcpt.from = f[4];
		msg->rcpt.to = f[5];
		return 0;
	case PRIVSEP_CLASS:
		return decode_class(f, n, &msg->class);
	case PRIVSEP_TRAPS:
		return n == 2 ? parse_number(f[1], UINT64_MAX, &msg->generation) : -EPROTO;
	case PRIVSEP_SPAMTRAP:
	case PRIVSEP_DOMAIN:
	case PRIVSEP_VALID:
		if (n != 2)
			return -EPROTO;
		msg->entry = f[1];
		return 0;
	case PRIVSEP_TRAPS_END:
		return n == 1 ? 0 : -EPROTO;
	case PRIVSEP_CONFIG:
		return decode_config(f, n, &msg->config);
	case PRIVSEP_LOG: {
		uint64_t priority;

		if (n != 3 || parse_number(f[1], 7, &priority) || strlen(f[2]) > PRIVSEP_LOG_MAX)
			return -EPROTO;
		msg->log.priority = (int)priority;
		msg->log.text = f[2];
		return 0;
	}
	case PRIVSEP_POLICY: {
		const char **out[] = { &msg->policy.request, &msg->policy.state,
				       &msg->policy.client,  &msg->policy.helo,
				       &msg->policy.sender,  &msg->policy.recipient,
				       &msg->policy.rcpt_count, &msg->policy.instance };

		if (n != POLICY_FIELDS || parse_conn_id(f[1], &msg->policy.req_id))
			return -EPROTO;
		for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
			if (strlen(f[2 + i]) > policy_field_max(i))
				return -EPROTO;
			*out[i] = f[2 + i];
		}
		return 0;
	}
	case PRIVSEP_VERDICT:
		if (n != 3 || parse_conn_id(f[1], &msg->verdict.req_id) || !action_valid(f[2]))
			return -EPROTO;
		msg->verdict.action = f[2];
		return 0;
	case PRIVSEP_METRICS:
		return n == 2 ? parse_conn_id(f[1], &msg->metrics.req_id) : -EPROTO;
	case PRIVSEP_METRICS_PART:
		if (n != 3 || parse_conn_id(f[1], &msg->metrics.req_id) || !*f[2] ||
		    strlen(f[2]) > PRIVSEP_FIELD_MAX)
			return -EPROTO;
		msg->metrics.text = f[2];
		return 0;
	case PRIVSEP_METRICS_END:
		if (n != 3 || parse_conn_id(f[1], &msg->metrics.req_id) ||
		    parse_number(f[2], PRIVSEP_METRICS_MAX, &msg->metrics.length))
			return -EPROTO;
		return 0;
	case PRIVSEP_CONNS: {
		uint64_t held, black;

		if (n != 3 || parse_number(f[1], UINT32_MAX, &held) ||
		    parse_number(f[2], held, &black))
			return -EPROTO;
		msg->conns.held = (uint32_t)held;
		msg->conns.black = (uint32_t)black;
		return 0;
	}
	}
	return -EPROTO;
}

int privsep_reader_init(struct privsep_reader *r, int fd)
{
	r->fd = fd;
	r->start = r->end = 0;
	r->buf = malloc(PRIVSEP_LINE_MAX + 1);
	return r->buf ? 0 : -ENOMEM;
}

int privsep_receive(struct privsep_reader *r, struct privsep_msg *msg)
{
	for (;;) {
		char *line = r->buf + r->start, *nl = memchr(line, '\n', r->end - r->start);
		ssize_t n;
		int ret;

		if (nl) {
			*nl = '\0';
			r->start += (size_t)(nl - line) + 1;
			ret = privsep_decode(line, (size_t)(nl - line), msg);
			return ret ? ret : 1;
		}
		if (r->end - r->start > PRIVSEP_LINE_MAX)
			return -EMSGSIZE;
		memmove(r->buf, line, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		n = read(r->fd, r->buf + r->end, PRIVSEP_LINE_MAX + 1 - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (n == 0)
			return -EPIPE;
		r->end += (size_t)n;
	}
}

void privsep_reader_free(struct privsep_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->start = r->end = 0;
}

void privsep_writer_init(struct privsep_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
}

/* Room for one more line of any length at w->end. */
static int writer_reserve(struct privsep_writer *w)
{
	size_t queued = w->end - w->start;

	if (w->start) {
		memmove(w->buf, w->buf + w->start, queued);
		w->start = 0;
		w->end = queued;
	}
	return array_room(&w->buf, &w->cap, w->end + PRIVSEP_LINE_MAX + 1, 1,
			  2 * (PRIVSEP_LINE_MAX + 1));
}

int privsep_send(struct privsep_writer *w, const struct privsep_msg *msg)
{
	int n, ret;

	if (w->end - w->start >= PRIVSEP_QUEUE_MAX)
		return -ENOBUFS;
	ret = writer_reserve(w);
	if (ret)
		return ret;
	n = privsep_encode(msg, w->buf + w->end, w->cap - w->end);
	if (n < 0)
		return n;
	w->end += (size_t)n;
	if (w->corked && w->end - w->start < PRIVSEP_CORK_MAX)
		return 0;
	ret = privsep_flush(w);
	return ret == -EAGAIN ? 0 : ret;
}

void privsep_cork(struct privsep_writer *w)
{
	w->corked = true;
}

size_t privsep_queued(const struct privsep_writer *w)
{
	return w->end - w->start;
}

int privsep_flush(struct privsep_writer *w)
{
	while (w->start < w->end) {
		ssize_t n = send(w->fd, w->buf + w->start, w->end - w->start, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		w->start += (size_t)n;
	}
	w->start = w->end = 0;
	/* A burst's buffer is not kept for good. */
	if (w->cap > WRITER_KEEP) {
		free(w->buf);
		w->buf = NULL;
		w->cap = 0;
	}
	return 0;
}

void privsep_writer_free(struct privsep_writer *w)
{
	bool corked = w->corked;

	free(w->buf);
	privsep_writer_init(w, w->fd);
	w->corked = corked;
}

/*
 * Walk the bounding set, emptying it when drop is set (which only works
 * while CAP_SETPCAP is held, so before leaving root). Returns how many
 * capabilities it held, or -errno.
 */
static int bounding_set(bool drop)
{
	int held = 0;

	for (int cap = 0;; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			return errno == EINVAL ? held : -errno; /* past the last capability */
		held += in;
		if (in && drop && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
}

static int capabilities(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3], bool set)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(set ? SYS_capset : SYS_capget, &header, data) ? -errno : 0;
}

/* The ambient set needs no look: it is always within permitted and inheritable. */
static bool no_capability_left(void)
{
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (capabilities(data, false) || bounding_set(false) != 0)
		return false;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return false;
	return true;
}

int privsep_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno && errno != ENOENT ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int privsep_log_early(void *ctx, int priority, const char *text)
{
	struct privsep_msg m = { .type = PRIVSEP_LOG, .log = { priority, text } };
	int fd = *(int *)ctx, n;
	char *line = malloc(PRIVSEP_LINE_MAX + 1);

	if (!line)
		return -ENOMEM;
	n = privsep_encode(&m, line, PRIVSEP_LINE_MAX + 1);
	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		n = -EIO;
	free(line);
	return n < 0 ? n : 0;
}

int privsep_drop(const char *user)
{
	uid_t uid;
	gid_t gid;
	int ret = privsep_lookup(user, &uid, &gid);

	return ret ? ret : privsep_drop_ids(uid, gid);
}

int privsep_drop_ids(uid_t uid, gid_t gid)
{
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = { 0 };
	int ret;

	if (chdir("/"))
		return -errno;
	ret = bounding_set(true);
	if (ret < 0)
		return ret;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		return -errno;
	if (setgroups(1, &gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -errno;
	/* Leaving root cleared the rest; a non-root parent's capabilities go here. */
	ret = capabilities(none, true);
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if ((uid != 0 && !setuid(0)) || !no_capability_left())
		return -EPERM;
	return 0;
}

int privsep_confine(const char *user, const char *root, const char **step)
{
	uid_t uid;
	gid_t gid;
	int ret;

	sandbox_raise_fd_limit();
	*step = "looking up the user";
	ret = privsep_lookup(user, &uid, &gid);
	if (ret)
		return ret;
	*step = "chroot";
	ret = sandbox_chroot(root);
	if (ret)
		return ret;
	*step = "dropping privileges";
	return privsep_drop_ids(uid, gid);
}
