// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy child's event loop: see server.h for what it does. Its shape
 * is the tarpit's (spamd/tarpit.c), much smaller: connections live in one
 * array of slots reserved at start, free slots form a stack, timers are
 * whole seconds served by one scan of the slots a second, and sockets are
 * registered once, edge-triggered. A slot's generation is in its epoll tag,
 * so an event fetched for a connection closed since (its slot perhaps
 * taken again) is recognised and dropped.
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
#include "policy/request.h"
#include "policy/server.h"
#include "spamd/privsep.h"

#define EVENT_BATCH 128
/* Connections taken from one listener per wakeup, so the others get a turn. */
#define ACCEPT_BATCH 64
#define READ_CHUNK 4096
/*
 * Requests one connection has answered by the server itself per turn: a
 * client streaming malformed requests waits for the next round instead of
 * holding the loop. Good requests need no bound: one is in flight at most.
 */
#define TURN_ANSWERS 16
/* A request id: a count above, the slot in the low bits. */
#define SLOT_BITS 10

_Static_assert(POLICY_CONN_MAX == 1 << SLOT_BITS, "a request id holds its slot");
_Static_assert(POLICY_REQUEST_MAX <= UINT16_MAX && POLICY_ANSWER_MAX <= UINT16_MAX,
	       "a connection's buffers are counted in 16 bits");
/*
 * Each POLICY adds at most one line to the queue past the mark, so the
 * writer never refuses one for a full queue.
 */
_Static_assert(POLICY_PARENT_QUEUE_HIGH + 2 * (PRIVSEP_LINE_MAX + 1) < PRIVSEP_QUEUE_MAX,
	       "a POLICY must fit the parent's queue past the mark");

/*
 * A connection's epoll tag, past child_loop.h's: + the slot, + its
 * generation << 32.
 */
#define TAG_CONN (CHILD_TAG_LISTEN + POLICY_LISTEN_MAX)

#define SLOT_NONE UINT32_MAX

enum conn_flag {
	CONN_LIVE = 1 << 0,
	CONN_IN_FLIGHT = 1 << 1,   /* its POLICY sent, the VERDICT awaited (req_id) */
	CONN_WAIT_PARENT = 1 << 2, /* a whole request waits for the parent's queue to drain */
	CONN_READS_OVER = 1 << 3,  /* EOF seen */
	CONN_CLOSING = 1 << 4,	   /* closed once its output is out */
	CONN_READY = 1 << 5,	   /* its turn ran out: served again next round */
	CONN_DRAINED = 1 << 6,	   /* a read came back short: no input until the next edge */
	CONN_HUP = 1 << 7,	   /* the peer hung up: read to the end, whatever came short */
};

struct conn {
	int fd;
	uint32_t gen;		/* counts the slot's uses: its tag's high half */
	union {
		uint32_t req_id; /* CONN_IN_FLIGHT: the request's id */
		uint32_t next;	/* free: the next free slot */
	};
	uint32_t due;		/* the second of its deadline */
	uint32_t since;		/* the second its buffered request began */
	uint16_t in_len, in_cap, out_len, out_off;
	uint8_t flags;		/* enum conn_flag */
	char *in;		/* input not yet taken, NULL when none */
	char *out;		/* an answer the socket did not take whole, NULL when none */
};

_Static_assert(sizeof(struct conn) <= 48, "an idle connection must stay small");

struct server {
	const struct child_server_config *cfg;
	struct child_loop loop;	/* epoll, SIGTERM, listeners, the parent's channel */
	uint64_t start_ms, now_ms;
	uint32_t now;		/* seconds since start */
	uint32_t scanned;	/* the last second whose deadlines were served */
	struct conn slots[POLICY_CONN_MAX];
	uint32_t used, free_top, clients, nready, next_request;
	bool input_waits;	/* a connection waits for the parent to read */
	bool stop;
	int err;
	/* Fault lines in the current second, and those left out past the burst. */
	uint32_t log_second, logged, suppressed;
	struct policy_request request;
	char scratch[READ_CHUNK];
	char answer[POLICY_ANSWER_MAX];
};

static void clock_update(struct server *t)
{
	t->now_ms = child_loop_now_ms(&t->loop);
	t->now = (uint32_t)((t->now_ms - t->start_ms) / 1000);
}

static uint32_t slot_of(const struct server *t, const struct conn *c)
{
	return (uint32_t)(c - t->slots);
}

/* The lines a client can cause, POLICY_LOG_BURST a second at most. */
static bool fault_log_allowed(struct server *t)
{
	if (t->log_second != t->now) {
		if (t->suppressed)
			log_warn("policy: %u more faults in a second not logged", t->suppressed);
		t->log_second = t->now;
		t->logged = t->suppressed = 0;
	}
	if (t->logged >= POLICY_LOG_BURST) {
		t->suppressed++;
		return false;
	}
	t->logged++;
	return true;
}

static bool parent_congested(const struct server *t)
{
	return privsep_queued(&t->loop.writer) > POLICY_PARENT_QUEUE_HIGH;
}

static void conn_close(struct server *t, struct conn *c)
{
	if (!(c->flags & CONN_LIVE))
		return;
	if (!(c->flags & CONN_READS_OVER))
		listener_drain(c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_len = c->in_cap = c->out_len = c->out_off = 0;
	if (c->flags & CONN_READY)
		t->nready--;
	c->flags = 0;
	c->next = t->free_top;
	t->free_top = slot_of(t, c);
	t->clients--;
}

/* Drop the first n bytes of the input; a request left begins now. */
static void input_consume(struct server *t, struct conn *c, size_t n)
{
	c->in_len = (uint16_t)(c->in_len - n);
	if (!c->in_len) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
		return;
	}
	memmove(c->in, c->in + n, c->in_len);
	c->since = t->now;
}

/*
 * Write "action=<action>\n\n" to the client; what the socket does not take
 * now waits in c->out. The output is empty when this is called: nothing
 * is read, so nothing answered, while an answer waits. An answer that
 * fails closes the connection (CONN_CLOSING).
 */
static void conn_answer(struct server *t, struct conn *c, const char *action)
{
	int len = policy_answer(action, t->answer, sizeof(t->answer));
	ssize_t sent;

	if (len < 0)
		len = policy_answer(POLICY_ANSWER_NO_VERDICT, t->answer, sizeof(t->answer));
	sent = send(c->fd, t->answer, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		sent = 0;
	if (sent < 0) {
		c->flags |= CONN_CLOSING;
		return;
	}
	if (sent == len)
		return;
	c->out = malloc((size_t)(len - sent));
	if (!c->out) {
		c->flags |= CONN_CLOSING;
		return;
	}
	memcpy(c->out, t->answer + sent, (size_t)(len - sent));
	c->out_len = (uint16_t)(len - sent);
	c->out_off = 0;
}

/* The rest of an answer: 0 once it is out, -EAGAIN while the socket is full, -errno. */
static int conn_write_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t sent = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		c->out_off = (uint16_t)(c->out_off + sent);
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/*
 * Read one chunk into the input. Returns the bytes read, 0 when there is
 * nothing now, -EPIPE at the end, -errno. The caller has seen that a
 * request is not whole yet, so the input holds less than
 * POLICY_REQUEST_MAX bytes and room is left.
 */
static ssize_t conn_read(struct server *t, struct conn *c)
{
	size_t room = POLICY_REQUEST_MAX - c->in_len;
	size_t want = room < sizeof(t->scratch) ? room : sizeof(t->scratch);
	ssize_t n;

	if (c->flags & CONN_DRAINED)
		return 0;
	do
		n = recv(c->fd, t->scratch, want, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	/* The socket was empty then: what comes later raises a new edge, unless a FIN did. */
	if ((size_t)n < want && !(c->flags & CONN_HUP))
		c->flags |= CONN_DRAINED;
	if (c->in_len + (size_t)n > c->in_cap) {
		size_t cap = c->in_cap ? 2 * (size_t)c->in_cap : 1024;
		char *p;

		while (cap < c->in_len + (size_t)n)
			cap *= 2;
		if (cap > POLICY_REQUEST_MAX)
			cap = POLICY_REQUEST_MAX;
		p = realloc(c->in, cap);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_cap = (uint16_t)cap;
	}
	if (!c->in_len)
		c->since = t->now;
	memcpy(c->in + c->in_len, t->scratch, (size_t)n);
	c->in_len = (uint16_t)(c->in_len + n);
	return n;
}

/* A good request to the parent as POLICY; 0, or -errno from the writer. */
static int conn_request(struct server *t, struct conn *c)
{
	const char *const *v = t->request.value;
	struct privsep_msg m = {
		.type = PRIVSEP_POLICY,
		.policy = {
			.request = v[POLICY_ATTR_REQUEST],
			.state = v[POLICY_ATTR_STATE],
			.client = v[POLICY_ATTR_CLIENT],
			.helo = v[POLICY_ATTR_HELO],
			.sender = v[POLICY_ATTR_SENDER],
			.recipient = v[POLICY_ATTR_RECIPIENT],
			.rcpt_count = v[POLICY_ATTR_RCPT_COUNT],
			.instance = v[POLICY_ATTR_INSTANCE],
		},
	};
	int ret;

	t->next_request = (t->next_request + 1) & (UINT32_MAX >> SLOT_BITS);
	m.policy.req_id = t->next_request << SLOT_BITS | slot_of(t, c);
	ret = privsep_send(&t->loop.writer, &m);
	if (ret)
		return ret;
	c->req_id = m.policy.req_id;
	c->flags |= CONN_IN_FLIGHT;
	c->due = t->now + POLICY_VERDICT_TIMEOUT;
	return 0;
}

/* Serve c again next round: its turn ran out with input left. */
static void conn_ready(struct server *t, struct conn *c)
{
	if (!(c->flags & CONN_READY)) {
		c->flags |= CONN_READY;
		t->nready++;
	}
	c->due = t->now + POLICY_STALL_TIMEOUT;
}

/*
 * Whatever can be done for c now: write out a waiting answer, take the
 * next request (send it to the parent, or answer it when malformed), read
 * more input; and set its deadline, or close it.
 */
static void conn_serve(struct server *t, struct conn *c)
{
	unsigned int answered = 0;

	while (c->flags & CONN_LIVE) {
		ssize_t n;
		int ret;

		if (c->out) {
			ret = conn_write_out(c);
			if (ret == -EAGAIN) {
				c->due = t->now + POLICY_STALL_TIMEOUT;
				return;
			}
			if (ret) {
				conn_close(t, c);
				return;
			}
		}
		if (c->flags & CONN_CLOSING) {
			conn_close(t, c);
			return;
		}
		if (c->flags & (CONN_IN_FLIGHT | CONN_WAIT_PARENT))
			return;
		if (answered == TURN_ANSWERS) {
			conn_ready(t, c);
			return;
		}
		n = c->in_len ? policy_request_parse(c->in, c->in_len, &t->request) : 0;
		if (n > 0 && t->request.fault == POLICY_GOOD) {
			if (parent_congested(t)) {
				/* parent_drained() goes on; the deadline answers it meanwhile. */
				c->flags |= CONN_WAIT_PARENT;
				t->input_waits = true;
				c->due = t->now + POLICY_VERDICT_TIMEOUT;
				return;
			}
			ret = conn_request(t, c);
			input_consume(t, c, (size_t)n);
			if (!ret)
				return;
			log_warn("policy: a request not sent to the parent: %s", strerror(-ret));
			conn_answer(t, c, POLICY_ANSWER_NO_VERDICT);
			answered++;
			continue;
		}
		if (n > 0) {
			if (fault_log_allowed(t))
				log_warn("policy: malformed request (%s, line %u) answered with a "
					 "temporary failure",
					 policy_fault_text(t->request.fault), t->request.fault_line);
			input_consume(t, c, (size_t)n);
			conn_answer(t, c, POLICY_ANSWER_MALFORMED);
			answered++;
			continue;
		}
		if (n == -EMSGSIZE) {
			if (fault_log_allowed(t))
				log_warn("policy: request over %d bytes answered with a temporary "
					 "failure, connection closed",
					 POLICY_REQUEST_MAX);
			input_consume(t, c, c->in_len);
			conn_answer(t, c, POLICY_ANSWER_MALFORMED);
			c->flags |= CONN_CLOSING;
			continue;
		}
		if (c->flags & CONN_READS_OVER) {
			/* A partial request at the end is dropped: no one is left to answer. */
			conn_close(t, c);
			return;
		}
		n = conn_read(t, c);
		if (n > 0)
			continue;
		if (n == -EPIPE) {
			c->flags |= CONN_READS_OVER;
			continue;
		}
		if (n < 0) {
			conn_close(t, c);
			return;
		}
		c->due = c->in_len ? c->since + POLICY_STALL_TIMEOUT : t->now + POLICY_IDLE_TIMEOUT;
		return;
	}
}

/* The parent's answer: to its request's client, when it still waits for it. */
static void verdict(struct server *t, const struct privsep_verdict *v)
{
	struct conn *c = &t->slots[v->req_id & (POLICY_CONN_MAX - 1)];

	if (!(c->flags & CONN_LIVE) || !(c->flags & CONN_IN_FLIGHT) || c->req_id != v->req_id)
		return;
	c->flags &= (uint8_t)~CONN_IN_FLIGHT;
	conn_answer(t, c, v->action);
	conn_serve(t, c);
}

static void parent_input(struct server *t)
{
	struct privsep_msg m;
	int ret;

	while ((ret = privsep_receive(&t->loop.reader, &m)) == 1) {
		if (m.type != PRIVSEP_VERDICT) {
			ret = -EPROTO;
			break;
		}
		verdict(t, &m.verdict);
	}
	if (ret == -EPIPE) {
		t->stop = true;
	} else if (ret < 0) {
		log_err("policy: the parent's channel failed: %s", strerror(-ret));
		t->err = ret;
		t->stop = true;
	}
}

/* The parent read what was queued: requests that waited for it go on. */
static void parent_drained(struct server *t)
{
	if (!t->input_waits || parent_congested(t))
		return;
	t->input_waits = false;
	for (uint32_t i = 0; i < t->used; i++) {
		struct conn *c = &t->slots[i];

		if ((c->flags & CONN_LIVE) && (c->flags & CONN_WAIT_PARENT)) {
			c->flags &= (uint8_t)~CONN_WAIT_PARENT;
			conn_serve(t, c);
		}
	}
}

/* A deadline came: a request unanswered or waiting, a stall, or idleness. */
static void conn_timeout(struct server *t, struct conn *c)
{
	ssize_t n;

	if (c->flags & CONN_IN_FLIGHT) {
		if (fault_log_allowed(t))
			log_warn("policy: no verdict within %d seconds, answered with a temporary "
				 "failure",
				 POLICY_VERDICT_TIMEOUT);
		c->flags &= (uint8_t)~CONN_IN_FLIGHT;
		conn_answer(t, c, POLICY_ANSWER_NO_VERDICT);
		conn_serve(t, c);
		return;
	}
	if (c->flags & CONN_WAIT_PARENT) {
		/* Its request is whole in the input: answered, the next one may wait again. */
		n = policy_request_parse(c->in, c->in_len, &t->request);
		if (fault_log_allowed(t))
			log_warn("policy: the parent took no request for %d seconds, one answered "
				 "with a temporary failure",
				 POLICY_VERDICT_TIMEOUT);
		c->flags &= (uint8_t)~CONN_WAIT_PARENT;
		if (n > 0)
			input_consume(t, c, (size_t)n);
		conn_answer(t, c, POLICY_ANSWER_NO_VERDICT);
		conn_serve(t, c);
		return;
	}
	if (c->in_len && !c->out && fault_log_allowed(t))
		log_warn("policy: a request not complete within %d seconds, connection closed",
			 POLICY_STALL_TIMEOUT);
	conn_close(t, c);
}

/* Once a second: serve every connection whose deadline has come. */
static void run_timers(struct server *t)
{
	if (t->scanned == t->now)
		return;
	t->scanned = t->now;
	for (uint32_t i = 0; i < t->used; i++) {
		struct conn *c = &t->slots[i];

		if ((c->flags & CONN_LIVE) && !(c->flags & CONN_READY) && c->due <= t->now)
			conn_timeout(t, c);
	}
	/* The count of lines left out last second, should nothing else log it. */
	if (t->suppressed && t->log_second != t->now)
		fault_log_allowed(t);
}

/* The connections whose turn ran out last round: one more turn each. */
static void serve_ready(struct server *t)
{
	for (uint32_t i = 0; t->nready && i < t->used; i++) {
		struct conn *c = &t->slots[i];

		if (c->flags & CONN_READY) {
			c->flags &= (uint8_t)~CONN_READY;
			t->nready--;
			conn_serve(t, c);
		}
	}
}

static struct conn *slot_take(struct server *t)
{
	struct conn *c;

	if (t->free_top != SLOT_NONE) {
		c = &t->slots[t->free_top];
		t->free_top = c->next;
	} else if (t->used < POLICY_CONN_MAX) {
		c = &t->slots[t->used++];
	} else {
		return NULL;
	}
	c->gen++;
	c->req_id = 0;
	c->flags = CONN_LIVE;
	return c;
}

static void conn_accept(struct server *t, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct conn *c = slot_take(t);

	if (!c) {
		if (fault_log_allowed(t))
			log_warn("policy: %d connections already, a new one closed", POLICY_CONN_MAX);
		close(fd);
		return;
	}
	c->fd = fd;
	c->due = t->now + POLICY_IDLE_TIMEOUT;
	t->clients++;
	ev.data.u64 = TAG_CONN + slot_of(t, c) + ((uint64_t)c->gen << 32);
	/*
	 * The request is usually here already (a TCP listener accepts only
	 * once data came, TCP_DEFER_ACCEPT): served now, not a round of the
	 * loop later. What comes after this read is reported by the
	 * registration itself.
	 */
	conn_serve(t, c);
	if (!(c->flags & CONN_LIVE))
		return;
	if (epoll_ctl(t->loop.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		log_warn("policy: cannot watch a connection: %s", strerror(errno));
		conn_close(t, c);
	}
}

static void accept_connections(struct server *t, int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_accept(t, fd);
			continue;
		}
		if (!listeners_accept_error(errno))
			continue;
		if (listeners_accept_error(errno) > 0) {
			log_warn("policy: accept: %s, accepting again in a second", strerror(errno));
			listeners_pause(&t->loop.listen, true, t->now_ms);
		}
		/* EAGAIN: none left; another error: the listener reports it again. */
		return;
	}
}

static void conn_event(struct server *t, uint64_t tag, uint32_t events)
{
	uint32_t slot = (uint32_t)(tag & UINT32_MAX) - TAG_CONN;
	struct conn *c;

	if (slot >= t->used)
		return;
	c = &t->slots[slot];
	/* Closed since the event was fetched, perhaps taken again. */
	if (!(c->flags & CONN_LIVE) || c->gen != (uint32_t)(tag >> 32))
		return;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->flags |= CONN_HUP;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->flags &= (uint8_t)~CONN_DRAINED;
	else if (!c->out)
		return; /* room to write, and nothing to write */
	if (!(c->flags & CONN_READY))
		conn_serve(t, c);
}

static void flush_parent(struct server *t)
{
	int ret = privsep_flush(&t->loop.writer);

	/* -EAGAIN: the rest goes on EPOLLOUT; a gone parent shows on reading. */
	if (ret && ret != -EAGAIN && ret != -EPIPE)
		log_warn("policy: writing to the parent: %s", strerror(-ret));
}

static void dispatch(struct server *t, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;

	if (tag == CHILD_TAG_SIGNAL) {
		if (child_loop_signalled(&t->loop))
			t->stop = true;
	} else if (tag == CHILD_TAG_PARENT) {
		if (ev->events & EPOLLOUT)
			flush_parent(t);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			parent_input(t);
	} else if (tag >= CHILD_TAG_LISTEN && tag < CHILD_TAG_LISTEN + t->cfg->nlisten) {
		accept_connections(t, t->cfg->listen_fds[tag - CHILD_TAG_LISTEN]);
	} else if ((tag & UINT32_MAX) >= TAG_CONN) {
		conn_event(t, tag, ev->events);
	}
}

static void server_teardown(struct server *t)
{
	for (uint32_t i = 0; i < t->used; i++)
		conn_close(t, &t->slots[i]);
	child_loop_teardown(&t->loop);
}

int policy_server_run(const struct child_server_config *cfg, const struct child_clock *clock)
{
	struct epoll_event events[EVENT_BATCH];
	struct server *t;
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ret = child_loop_init(&t->loop, cfg, POLICY_LISTEN_MAX, clock);
	if (ret) {
		free(t);
		return ret;
	}
	t->cfg = cfg;
	t->free_top = SLOT_NONE;
	/* POLICY and LOG lines go out once a round (flush_parent()). */
	privsep_cork(&t->loop.writer);
	t->start_ms = child_loop_now_ms(&t->loop);
	clock_update(t);
	ret = child_loop_setup(&t->loop);
	while (!ret && !t->stop) {
		int timeout, n;

		flush_parent(t);
		clock_update(t);
		/* Wake at the next second, when the deadlines are served. */
		timeout = t->nready ? 0 : 1000 - (int)((t->now_ms - t->start_ms) % 1000);
		n = epoll_wait(t->loop.epfd, events, EVENT_BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		clock_update(t);
		for (int i = 0; i < n; i++)
			dispatch(t, &events[i]);
		parent_drained(t);
		run_timers(t);
		serve_ready(t);
		if (t->loop.listen.resume_ms && t->now_ms >= t->loop.listen.resume_ms)
			listeners_pause(&t->loop.listen, false, t->now_ms);
	}
	flush_parent(t);
	if (!ret)
		ret = t->err;
	server_teardown(t);
	free(t);
	return ret;
}
