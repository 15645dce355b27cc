// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics child's event loop: see server.h. Connections live in a
 * fixed array of slots; a slot's generation is in its epoll tag, so an
 * event fetched for a connection closed since is recognised and dropped.
 * Deadlines are checked by one scan of the slots a second: there are few.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child/child_loop.h"
#include "lib/listener.h"
#include "lib/log.h"
#include "metrics/http.h"
#include "metrics/server.h"
#include "spamd/privsep.h"

#define EVENT_BATCH 64
#define HEAD_MAX 256

/* A connection's epoll tag, past child_loop.h's: + the slot, + generation << 32. */
#define TAG_CONN (CHILD_TAG_LISTEN + METRICS_LISTEN_MAX)

/* An answer's text, shared by the connections that send it. */
struct body {
	uint32_t refs;
	size_t len;
	char text[];
};

enum conn_state {
	CONN_FREE,
	CONN_READING,	/* the request's head is coming */
	CONN_WAITING,	/* for the parent's text */
	CONN_WRITING,	/* the answer is going out */
};

struct conn {
	int fd;
	uint32_t gen;
	enum conn_state state;
	bool head_only;			/* HEAD: the answer without its body */
	uint64_t accepted_ms;
	size_t in_len;
	char in[HTTP_REQUEST_MAX];
	/* The answer: head, then the body (a shared text or a constant). */
	char head[HEAD_MAX];
	size_t head_len, sent;
	struct body *body;
	const char *static_body;
	size_t body_len;
};

struct server {
	const struct child_server_config *cfg;
	struct child_loop loop;	/* epoll, SIGTERM, listeners, the parent's channel */
	bool stop;
	uint64_t now_ms, last_scan_ms;
	struct conn conns[METRICS_CONN_MAX];
	size_t nconns;
	/* The METRICS in flight (0: none), when it was sent, and its text so far. */
	uint32_t asked, next_id;
	uint64_t asked_ms;
	struct body *part;
	int err;
};

static void clock_update(struct server *t)
{
	t->now_ms = child_loop_now_ms(&t->loop);
}

static void body_put(struct body *b)
{
	if (b && !--b->refs)
		free(b);
}

static uint64_t conn_tag(const struct server *t, const struct conn *c)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(TAG_CONN + (c - t->conns));
}

static void conn_watch(struct server *t, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = conn_tag(t, c) };

	epoll_ctl(t->loop.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct server *t, struct conn *c)
{
	epoll_ctl(t->loop.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	listener_drain(c->fd);
	close(c->fd);
	body_put(c->body);
	c->body = NULL;
	c->state = CONN_FREE;
	c->gen++;
	t->nconns--;
}

/* Send what the socket takes; close once all is out. */
static void conn_write(struct server *t, struct conn *c)
{
	size_t total = c->head_len + (c->head_only ? 0 : c->body_len);

	while (c->sent < total) {
		const char *from;
		size_t n;
		ssize_t w;

		if (c->sent < c->head_len) {
			from = c->head + c->sent;
			n = c->head_len - c->sent;
		} else {
			from = (c->body ? c->body->text : c->static_body) + (c->sent - c->head_len);
			n = total - c->sent;
		}
		w = send(c->fd, from, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_watch(t, c, EPOLLOUT);
			return;
		}
		if (w <= 0)
			break;
		c->sent += (size_t)w;
	}
	conn_close(t, c);
}

static void conn_answer(struct server *t, struct conn *c, int head_len, struct body *body,
			const char *static_body, size_t body_len)
{
	if (head_len < 0) {
		conn_close(t, c);
		return;
	}
	c->state = CONN_WRITING;
	c->head_len = (size_t)head_len;
	c->sent = 0;
	c->body = body;
	if (body)
		body->refs++;
	c->static_body = static_body;
	c->body_len = body_len;
	conn_write(t, c);
}

static void conn_error(struct server *t, struct conn *c, enum http_result r)
{
	const char *text = http_error_body(&r);

	c->head_only = false;
	conn_answer(t, c, http_answer_head(r, strlen(text), c->head, sizeof(c->head)), NULL, text,
		    strlen(text));
}

static void conn_unavailable(struct server *t, struct conn *c)
{
	const char *text = http_error_body(NULL);

	conn_answer(t, c, http_unavailable_head(strlen(text), c->head, sizeof(c->head)), NULL,
		    text, strlen(text));
}

/* Ask the parent for the text, unless a request is in flight already. */
static void ask_parent(struct server *t)
{
	struct privsep_msg m = { .type = PRIVSEP_METRICS };
	int ret;

	if (t->asked)
		return;
	t->next_id = t->next_id + 1 ? t->next_id + 1 : 1;
	m.metrics.req_id = t->next_id;
	ret = privsep_send(&t->loop.writer, &m);
	if (ret && ret != -EAGAIN) {
		t->err = ret;
		return;
	}
	t->asked = t->next_id;
	t->asked_ms = t->now_ms;
}

static void conn_read(struct server *t, struct conn *c)
{
	enum http_result r;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* Gone before its request was whole: nobody to answer. */
			conn_close(t, c);
			return;
		}
		c->in_len += (size_t)n;
		r = http_parse(c->in, c->in_len, &c->head_only);
		if (r == HTTP_INCOMPLETE)
			continue;
		if (r != HTTP_SERVE) {
			conn_error(t, c, r);
			return;
		}
		c->state = CONN_WAITING;
		/* Nothing more is read from it: what it sends after the head is dropped at close. */
		conn_watch(t, c, 0);
		ask_parent(t);
		return;
	}
}

static void accept_connections(struct server *t, int lfd)
{
	for (int i = 0; i < METRICS_CONN_MAX; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = NULL;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0) {
			int what = listeners_accept_error(errno);

			if (what > 0)
				listeners_pause(&t->loop.listen, true, t->now_ms);
			if (what)
				return;
			continue;
		}
		for (size_t s = 0; s < METRICS_CONN_MAX && !c; s++)
			if (t->conns[s].state == CONN_FREE)
				c = &t->conns[s];
		if (!c) {
			/* Full: closed at once, so the scraper sees it now and not at its timeout. */
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = CONN_READING;
		c->in_len = 0;
		c->head_only = false;
		c->body = NULL;
		c->accepted_ms = t->now_ms;
		ev.data.u64 = conn_tag(t, c);
		if (epoll_ctl(t->loop.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			c->state = CONN_FREE;
			continue;
		}
		t->nconns++;
	}
}

/* The parent's answer is whole: every waiting scrape gets it. */
static void answer_waiting(struct server *t, struct body *b)
{
	for (size_t i = 0; i < METRICS_CONN_MAX; i++) {
		struct conn *c = &t->conns[i];

		if (c->state != CONN_WAITING)
			continue;
		if (!b) {
			conn_unavailable(t, c);
			continue;
		}
		conn_answer(t, c, http_answer_head(HTTP_SERVE, b->len, c->head, sizeof(c->head)), b,
			    NULL, b->len);
	}
}

static int take_part(struct server *t, const struct privsep_metrics *m)
{
	size_t n = strlen(m->text);
	struct body *b = t->part;

	if (!b) {
		b = malloc(sizeof(*b) + PRIVSEP_METRICS_MAX + 1);
		if (!b)
			return -ENOMEM;
		b->refs = 1;
		b->len = 0;
		t->part = b;
	}
	if (b->len + n > PRIVSEP_METRICS_MAX)
		return -EPROTO;
	memcpy(b->text + b->len, m->text, n);
	b->len += n;
	return 0;
}

static int take_end(struct server *t, const struct privsep_metrics *m)
{
	struct body *b = t->part, *done;

	if ((b ? b->len : 0) != m->length)
		return -EPROTO;
	/* Kept at its size: the next answer gets a buffer of its own. */
	/* An empty text: the parent has none to give (metrics.h). */
	done = m->length ? malloc(sizeof(*done) + m->length + 1) : NULL;
	if (!done) {
		answer_waiting(t, NULL);
	} else {
		done->refs = 1;
		done->len = m->length;
		if (m->length)
			memcpy(done->text, b->text, m->length);
		answer_waiting(t, done);
		body_put(done);
	}
	if (b)
		b->len = 0;
	t->asked = 0;
	return 0;
}

static void parent_input(struct server *t)
{
	struct privsep_msg m;
	int ret;

	while ((ret = privsep_receive(&t->loop.reader, &m)) == 1) {
		bool ours = t->asked && m.metrics.req_id == t->asked;

		if (m.type == PRIVSEP_METRICS_PART) {
			/* A late answer to a request given up on is read and dropped. */
			ret = ours ? take_part(t, &m.metrics) : 0;
		} else if (m.type == PRIVSEP_METRICS_END) {
			ret = ours ? take_end(t, &m.metrics) : 0;
		} else {
			ret = -EPROTO;
		}
		if (ret)
			break;
	}
	if (ret == -EPIPE) {
		t->stop = true;
		ret = 0;
	}
	if (ret < 0 && !t->err)
		t->err = ret;
}

/* Once a second: deadlines, and a parent that does not answer. */
static void scan(struct server *t)
{
	if (t->now_ms - t->last_scan_ms < 1000)
		return;
	t->last_scan_ms = t->now_ms;
	if (t->loop.listen.resume_ms && t->now_ms >= t->loop.listen.resume_ms)
		listeners_pause(&t->loop.listen, false, t->now_ms);
	if (t->asked && t->now_ms - t->asked_ms >= METRICS_PARENT_TIMEOUT * 1000ull) {
		log_warn("metrics: the parent gave no answer within %ds", METRICS_PARENT_TIMEOUT);
		/* Its answer, should it come, belongs to nobody. */
		t->asked = 0;
		if (t->part)
			t->part->len = 0;
		answer_waiting(t, NULL);
	}
	for (size_t i = 0; i < METRICS_CONN_MAX; i++) {
		struct conn *c = &t->conns[i];
		uint64_t age = t->now_ms - c->accepted_ms;

		if ((c->state == CONN_READING && age >= METRICS_REQUEST_TIMEOUT * 1000ull) ||
		    (c->state == CONN_WRITING && age >= METRICS_ANSWER_TIMEOUT * 1000ull))
			conn_close(t, c);
	}
}

static void dispatch(struct server *t, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;

	if (tag == CHILD_TAG_SIGNAL) {
		if (child_loop_signalled(&t->loop))
			t->stop = true;
	} else if (tag == CHILD_TAG_PARENT) {
		if (ev->events & EPOLLOUT)
			privsep_flush(&t->loop.writer);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			parent_input(t);
	} else if (tag >= CHILD_TAG_LISTEN && tag < CHILD_TAG_LISTEN + t->cfg->nlisten) {
		accept_connections(t, t->cfg->listen_fds[tag - CHILD_TAG_LISTEN]);
	} else if ((tag & UINT32_MAX) >= TAG_CONN &&
		   (tag & UINT32_MAX) < TAG_CONN + METRICS_CONN_MAX) {
		struct conn *c = &t->conns[(tag & UINT32_MAX) - TAG_CONN];

		if (c->state == CONN_FREE || c->gen != (uint32_t)(tag >> 32))
			return;
		if (c->state == CONN_READING)
			conn_read(t, c);
		else if (c->state == CONN_WRITING)
			conn_write(t, c);
	}
}

static void server_teardown(struct server *t)
{
	for (size_t i = 0; i < METRICS_CONN_MAX; i++)
		if (t->conns[i].state != CONN_FREE)
			conn_close(t, &t->conns[i]);
	body_put(t->part);
	child_loop_teardown(&t->loop);
}

int metrics_server_run(const struct child_server_config *cfg, const struct child_clock *clock)
{
	struct epoll_event events[EVENT_BATCH];
	struct server *t;
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = cfg;
	ret = child_loop_init(&t->loop, cfg, METRICS_LISTEN_MAX, clock);
	if (ret) {
		free(t);
		return ret;
	}
	clock_update(t);
	t->last_scan_ms = t->now_ms;
	ret = child_loop_setup(&t->loop);
	while (!ret && !t->stop && !t->err) {
		int n;

		privsep_flush(&t->loop.writer);
		n = epoll_wait(t->loop.epfd, events, EVENT_BATCH, 1000);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		clock_update(t);
		for (int i = 0; i < n && !t->stop && !t->err; i++)
			dispatch(t, &events[i]);
		scan(t);
	}
	if (!ret)
		ret = t->err;
	server_teardown(t);
	free(t);
	return ret;
}
