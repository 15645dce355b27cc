// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit child's event loop: see tarpit.h for what it does.
 *
 * Connections live in one array of fixed-size slots (struct conn, 88
 * bytes), reserved once for as many as can be held and touched only as
 * slots are used, so a held connection costs its slot and nothing else: no
 * allocator header, no list links. Free slots form a stack (the most
 * recently used first, so the touched pages stay few); a closed
 * connection's slot is freed after the current batch of events, which may
 * still hold an event for it. Timers are whole seconds: once a second
 * every slot in use is looked at, and a connection whose deadline (the
 * next stuttered byte, the end of its idle time, the wait for CLASS) has
 * come is served. That scan reads 88 bytes per connection a second, far
 * less than the one send() a second a stuttered connection costs anyway.
 * Sockets are registered once, edge-triggered for input and output, so a
 * connection costs no epoll_ctl() after its accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/listener.h"
#include "lib/log.h"
#include "spamd/privsep.h"
#include "spamd/smtp.h"
#include "spamd/tarpit.h"
#include "spamd/trap.h"

#define EVENT_BATCH 128
/* Connections taken from one listener per wakeup, so the others get a turn. */
#define ACCEPT_BATCH 64
#define READ_CHUNK 4096
/* As spamd: replies go out whole when fewer free slots than this remain. */
#define WHOLE_REPLY_SLOTS 5
/* Distinct blacklist messages kept for sharing between connections. */
#define MESSAGES_MAX 32
/*
 * Past this many bytes queued for the parent, clients' input waits until
 * it has read them: every RCPT must reach it (a trap above all), and one
 * read of a client's input adds at most about 40 RCPTs of at most
 * PRIVSEP_LINE_MAX bytes each, which the rest of PRIVSEP_QUEUE_MAX holds.
 */
#define PARENT_QUEUE_HIGH (PRIVSEP_QUEUE_MAX / 8)
/*
 * What goes to the parent goes at most once per this many milliseconds
 * (or once this many bytes wait), so that under load the parent wakes
 * once for many RCPTs and stores them in one transaction, instead of once
 * per round of ours. A RCPT goes at once when none went in the last
 * PARENT_FLUSH_MS: a lone dialogue's tuple is with the parent before its
 * client reads the 451 (greywallctl spamdb shows it then), as before. A
 * trap's RCPT always goes at once; log lines wait for a RCPT, or for
 * PARENT_FLUSH_MS.
 */
#define PARENT_FLUSH_MS 2
#define PARENT_FLUSH_BYTES (16 * 1024)
/*
 * Input bytes one connection is served per round of the event loop (and
 * the most one read peeks): a client pipelining commands as fast as it can
 * waits for the next round rather than holding the loop, so another
 * client's command waits at most one slice per busy connection.
 */
#define TURN_BYTES 512
/*
 * Input bytes one source's connections are served per second, together:
 * a whole grey dialogue is a few hundred bytes, so no sender that waits
 * for its replies comes near it, while a client pipelining a flood of
 * RCPTs (30 bytes each) gets about 2,000 a second and its input waits in
 * its sockets: one source cannot take the tarpit's and the parent's CPU
 * from everyone else. Sources are counted in SOURCE_BUCKETS buckets by a
 * hash with a random key; two sources in one bucket share its budget.
 * An IPv6 source is its /64.
 */
#define SOURCE_RATE (64 * 1024)
#define SOURCE_BUCKETS 4096

/* A RCPT's fields are SMTP lines: the protocol's limit must hold any of them. */
_Static_assert(SMTP_LINE_MAX <= PRIVSEP_FIELD_MAX, "a RCPT field must fit a privsep line");

/* epoll data: what woke us. */
enum {
	TAG_SIGNAL = 1,
	TAG_PARENT = 2,
	TAG_CLASS = 3,
	TAG_LISTEN = 16,	/* + the listener's index */
	TAG_CONN = TAG_LISTEN + TARPIT_LISTEN_MAX, /* + the connection's slot */
};

/* No slot: the end of the free and dead stacks. */
#define SLOT_NONE UINT32_MAX

enum conn_flag {
	CONN_CLASSIFYING = 1 << 0,   /* waiting for CLASS: see conn_accept() */
	CONN_WHOLE_REPLIES = 1 << 1, /* black beyond maxblack: never stuttered */
	CONN_WRITE_BLOCKED = 1 << 2, /* the socket took no more: wait for EPOLLOUT */
	CONN_INPUT_BLOCKED = 1 << 3, /* the session took no more: read once replies are out */
	CONN_READS_OVER = 1 << 4,    /* EOF seen, or the session ignores input now */
	CONN_DEAD = 1 << 5,	     /* closed; its slot is freed after this batch of events */
	CONN_TIMED = 1 << 6,	     /* due is set */
	CONN_FREE = 1 << 7,	     /* the slot holds no connection */
};

/* One held connection: the slot it costs. */
struct conn {
	struct smtp_session session;
	int fd;
	uint32_t started;	/* tarpit second of the accept */
	union {
		uint32_t due;	/* CONN_TIMED: the second of its next deadline */
		/*
		 * While classifying: its name in CLASSIFY and CLASS, the slot
		 * in the low slot_bits and a count of accepts above, so a late
		 * CLASS does not fit a later connection in the same slot.
		 */
		uint32_t id;
		uint32_t next;	/* free or dead: the next slot of its stack */
	};
	uint8_t flags;		/* enum conn_flag */
	uint8_t ready : 1;	/* in the ready list: input left for the next round */
	uint8_t throttled : 1;	/* its source's second is used: reads on at the next */
	/*
	 * While classifying: input (or the client's FIN) raised its edge, so
	 * the socket is read once the dialogue begins; without it there is
	 * nothing to read yet, and the first command raises an edge of its own.
	 */
	uint8_t early_input : 1;
};

/* endlessh's client is a glibc chunk of 96 bytes; a slot costs no header. */
_Static_assert(sizeof(struct conn) <= 88, "a held connection must fit 88 bytes");

struct tarpit {
	/*
	 * The settings in force: conf, with hostname and banner our own
	 * copies, so a CONFIG from the parent can replace them.
	 */
	const struct tarpit_config *cfg;
	struct tarpit_config conf;
	char *hostname, *banner_text;
	struct tarpit_clock clock;
	struct smtp_params params[2]; /* final reply 450, 550 */
	int epfd, sigfd;
	sigset_t old_mask;	/* restored on the way out, when saved */
	bool mask_saved;
	uint64_t start_ms, now_ms;
	uint32_t now;		/* seconds since start */
	uint32_t scanned;	/* the last second whose deadlines were served */
	struct conn *slots;	/* nslots reserved, used ever touched */
	uint32_t nslots, used, slot_bits;
	uint32_t free_top, dead_top; /* stacks through conn.next */
	uint32_t clients, blacks, next_id;
	/* What the last CONNS told the parent (report_conns()); 0 0 before any, as it assumes. */
	uint32_t told_held, told_black;
	struct listeners listen;	/* the listening sockets, paused or not */
	struct smtp_shared *banner;
	int64_t banner_time;
	struct smtp_shared *messages[MESSAGES_MAX];
	size_t nmessages;
	/* The trap rules in force, and those a TRAPS block is building. */
	struct trap_set *spamtraps, *domains, *valid;
	struct trap_set *new_spamtraps, *new_domains, *new_valid;
	struct trap_rules rules;
	struct privsep_reader reader;
	struct privsep_writer writer;
	/* CLASSIFY out, CLASS in: class_fd's, or parent_fd's when it has none. */
	struct privsep_reader class_reader;
	struct privsep_writer class_writer, *classify;
	/*
	 * Slots whose input was cut at TURN_BYTES, served next round: at most
	 * every slot once, plus the ones re-queued while a round serves the
	 * list (hence twice the slots).
	 */
	uint32_t *ready, nready, ready_cap;
	uint32_t turn_left;	/* input bytes the connection being served may still take */
	/* Input bytes per source this second (SOURCE_RATE). */
	struct source_budget {
		uint32_t second, used;
	} *budgets;
	uint64_t budget_seed;
	bool input_waits;	/* a connection stopped reading until the parent reads */
	uint64_t flush_at_ms;	/* when what is queued for the parent goes; 0: nothing queued */
	uint64_t rcpt_flushed_ms; /* when the last RCPT went to the parent */
	bool rcpt_queued;	/* a RCPT waits in writer */
	bool flush_now;		/* a trap's RCPT is queued: it goes this round */
	bool stop;
	int err;
	char buf[READ_CHUNK];
};

/* What the RCPT hook needs: smtp_session_input()'s ctx. */
struct hook_ctx {
	struct tarpit *t;
	struct conn *c;
};

static uint32_t slot_of(const struct tarpit *t, const struct conn *c)
{
	return (uint32_t)(c - t->slots);
}

static bool slot_live(const struct conn *c)
{
	return !(c->flags & (CONN_DEAD | CONN_FREE));
}

static uint64_t system_monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t system_wall(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void clock_update(struct tarpit *t)
{
	t->now_ms = t->clock.monotonic_ms(t->clock.ctx);
	t->now = (uint32_t)((t->now_ms - t->start_ms) / 1000);
}

/* The banner of the current second, made when the second changes. */
static int banner_refresh(struct tarpit *t)
{
	int64_t now = t->clock.wall(t->clock.ctx);
	time_t seconds = (time_t)now;
	struct smtp_shared *banner;
	char date[SMTP_DATE_MAX];
	struct tm tm;
	int ret;

	if (t->banner && t->banner_time == now)
		return 0;
	if (!localtime_r(&seconds, &tm) ||
	    !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm))
		return -EINVAL;
	ret = smtp_banner_new(&t->params[0], date, &banner);
	if (ret)
		return ret;
	smtp_shared_put(t->banner);
	t->banner = banner;
	t->banner_time = now;
	return 0;
}

/* Messages nobody but the cache holds make room for new ones. */
static void messages_prune(struct tarpit *t)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->nmessages; i++) {
		if (t->messages[i]->refs == 1)
			smtp_shared_put(t->messages[i]);
		else
			t->messages[kept++] = t->messages[i];
	}
	t->nmessages = kept;
}

/*
 * A reference to the shared copy of a blacklist message, so connections
 * from the same lists hold one copy between them. NULL for the default
 * text (an empty message, or one too long to send).
 */
static struct smtp_shared *message_get(struct tarpit *t, const char *text)
{
	struct smtp_shared *message;

	if (!*text)
		return NULL;
	for (size_t i = 0; i < t->nmessages; i++)
		if (!strcmp(t->messages[i]->text, text))
			return smtp_shared_get(t->messages[i]);
	if (smtp_message_new(text, &message)) {
		log_warn("tarpit: a blacklist message could not be used, sending the default");
		return NULL;
	}
	if (t->nmessages == MESSAGES_MAX)
		messages_prune(t);
	if (t->nmessages < MESSAGES_MAX)
		t->messages[t->nmessages++] = smtp_shared_get(message);
	return message;
}

static void conn_schedule(struct conn *c, uint32_t due)
{
	c->due = due;
	c->flags |= CONN_TIMED;
}

static const char *conn_ip(const struct conn *c, char *buf)
{
	addr_format(&c->session.client, buf, ADDR_STRLEN);
	return buf;
}

static void conn_close(struct tarpit *t, struct conn *c)
{
	char ip[ADDR_STRLEN];

	if (c->flags & CONN_DEAD)
		return;
	if (!(c->flags & CONN_CLASSIFYING))
		log_info("%s: disconnected after %u seconds.", conn_ip(c, ip), t->now - c->started);
	listener_drain(c->fd);
	close(c->fd);
	t->clients--;
	if (c->session.black)
		t->blacks--;
	smtp_session_free(&c->session);
	c->flags = CONN_DEAD;
	c->next = t->dead_top;
	t->dead_top = slot_of(t, c);
}

static void slot_give_back(struct tarpit *t, struct conn *c)
{
	c->flags = CONN_FREE;
	c->next = t->free_top;
	t->free_top = slot_of(t, c);
}

static void free_dead(struct tarpit *t)
{
	while (t->dead_top != SLOT_NONE) {
		struct conn *c = &t->slots[t->dead_top];

		t->dead_top = c->next;
		slot_give_back(t, c);
	}
}

/* A connection turned black: it is stuttered unless maxblack are already. */
static void count_black(struct tarpit *t, struct conn *c)
{
	if (t->blacks >= t->cfg->maxblack)
		c->flags |= CONN_WHOLE_REPLIES;
	t->blacks++;
}

static bool conn_stuttered(const struct tarpit *t, const struct conn *c)
{
	/* A reload may have set maxcon below the connections held. */
	bool whole = (c->flags & CONN_WHOLE_REPLIES) ||
		     (uint64_t)t->clients + WHOLE_REPLY_SLOTS > t->cfg->maxcon;

	return smtp_session_stuttered(&c->session, t->now - c->started, whole);
}

/*
 * The RCPT hook: decide a trap with the parent's rules, log the tuple as
 * spamd does, and report it to the parent, which classifies it again for
 * its records.
 */
static int conn_rcpt(void *ctx, const struct smtp_tuple *tuple, bool black,
		     const char **black_message)
{
	struct hook_ctx *h = ctx;
	struct tarpit *t = h->t;
	struct conn *c = h->c;
	enum trap_verdict verdict = trap_classify(&t->rules, tuple->from, tuple->to, NULL);
	bool trapped = !black && (verdict == TRAP_SPAMTRAP || verdict == TRAP_DOMAIN);
	struct privsep_msg m = { .type = PRIVSEP_RCPT };
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	char ip[ADDR_STRLEN];
	int ret;

	(void)black_message; /* the default text: no list named a trapped client */
	conn_ip(c, ip);
	/* The log escapes the client's bytes (log.c). */
	log_info("(%s) %s: %s -> %s", black || trapped ? "BLACK" : "GREY", ip, tuple->from,
		 tuple->to);
	m.rcpt = (struct privsep_rcpt){ .client = c->session.client, .helo = tuple->helo,
					.from = tuple->from, .to = tuple->to };
	ret = getsockname(c->fd, (struct sockaddr *)&local, &len) ? -errno : 0;
	if (!ret)
		ret = addr_from_sockaddr((struct sockaddr *)&local, len, &m.rcpt.local);
	if (!ret)
		ret = privsep_send(&t->writer, &m);
	if (ret)
		log_warn("%s: RCPT to %s not reported to the parent: %s", ip, tuple->to,
			 strerror(-ret));
	t->rcpt_queued = true;
	if (trapped)
		t->flush_now = true;
	return trapped ? SMTP_RCPT_TRAP : SMTP_RCPT_ACCEPT;
}

/*
 * The budget of c's source for this second: an IPv4 address, or an IPv6
 * /64 (one host holds a whole /64, and would otherwise have 2^64 budgets).
 */
static struct source_budget *source_budget(struct tarpit *t, const struct conn *c)
{
	const struct addr_prefix *a = &c->session.client;
	uint64_t word, h = t->budget_seed ^ a->family;
	struct source_budget *sb;

	/* An IPv4 address's other bytes are zero (addr_from_sockaddr()). */
	memcpy(&word, a->bytes, sizeof(word));
	h ^= word;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	sb = &t->budgets[h % SOURCE_BUCKETS];
	if (sb->second != t->now) {
		sb->second = t->now;
		sb->used = 0;
	}
	return sb;
}

/* A new slice of input for the connection about to be served. */
static void conn_turn(struct tarpit *t)
{
	t->turn_left = TURN_BYTES;
}

/*
 * Serve c again next round. Should the list be full (slots closed and
 * taken again within one round), c is left to its next edge or deadline
 * rather than the list growing.
 */
static void conn_ready(struct tarpit *t, struct conn *c)
{
	if (c->ready || t->nready == t->ready_cap)
		return;
	c->ready = true;
	t->ready[t->nready++] = slot_of(t, c);
}

static bool parent_congested(const struct tarpit *t)
{
	return privsep_queued(&t->writer) > PARENT_QUEUE_HIGH;
}

/*
 * Feed the session what the client sent, peeking so that what the session
 * does not take yet stays in the socket, not in a buffer of ours. Stops at
 * EAGAIN, EOF, or when the session takes no more; and, unless drain, once
 * a read comes back short: the socket was empty then, and what arrives
 * after it raises a new edge. A FIN reported with the data it followed
 * does not, so an event with EPOLLRDHUP drains to the EOF. 0 or -errno
 * (close).
 */
static int conn_read(struct tarpit *t, struct conn *c, bool drain)
{
	struct hook_ctx ctx = { t, c };
	bool was_black = c->session.black;
	int ret = 0;

	while (!ret && !(c->flags & (CONN_READS_OVER | CONN_INPUT_BLOCKED))) {
		struct source_budget *budget;
		ssize_t n, used;
		size_t want;

		/* The input stays in the socket until parent_drained(). */
		if (parent_congested(t)) {
			c->flags |= CONN_INPUT_BLOCKED;
			t->input_waits = true;
			break;
		}
		/* This round's slice is used: the rest waits in the socket for the next. */
		if (!t->turn_left) {
			c->flags |= CONN_INPUT_BLOCKED;
			conn_ready(t, c);
			break;
		}
		budget = source_budget(t, c);
		if (budget->used >= SOURCE_RATE) {
			/* Its source's second is used: conn_progress() waits for the next. */
			c->flags |= CONN_INPUT_BLOCKED;
			c->throttled = 1;
			break;
		}
		want = t->turn_left < sizeof(t->buf) ? t->turn_left : sizeof(t->buf);
		if (want > SOURCE_RATE - budget->used)
			want = SOURCE_RATE - budget->used;
		n = recv(c->fd, t->buf, want, MSG_PEEK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
			break;
		}
		if (n == 0) {
			c->flags |= CONN_READS_OVER;
			ret = smtp_session_eof(&c->session, &ctx);
			break;
		}
		used = smtp_session_input(&c->session, t->buf, (size_t)n, &ctx);
		if (used < 0) {
			ret = (int)used;
			break;
		}
		if (used > 0 && recv(c->fd, t->buf, (size_t)used, 0) != used) {
			ret = -EIO;
			break;
		}
		t->turn_left -= (uint32_t)used;
		budget->used += (uint32_t)used;
		if (used < n)
			c->flags |= CONN_INPUT_BLOCKED;
		if (c->session.state == SMTP_CLOSING)
			c->flags |= CONN_READS_OVER;
		if (!drain && (size_t)n < want)
			break;
	}
	/* Counted once the session is black: a trap verdict can still fail in smtp.c. */
	if (!was_black && c->session.black)
		count_black(t, c);
	return ret;
}

/* Send up to max pending bytes. 0, -EAGAIN (now waiting for EPOLLOUT) or -errno. */
static int conn_send(struct tarpit *t, struct conn *c, size_t max)
{
	const char *data;
	size_t n = smtp_session_pending(&c->session, &data);
	ssize_t sent = send(c->fd, data, n < max ? n : max, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->flags |= CONN_WRITE_BLOCKED;
		conn_schedule(c, t->now + t->cfg->idle_timeout);
		return -EAGAIN;
	}
	if (sent < 0)
		return errno == EINTR ? 0 : -errno;
	smtp_session_consume(&c->session, (size_t)sent);
	return 0;
}

/*
 * After anything happened to a classified connection: send what may be
 * sent now, read what was held back, and put it in the wheel slot of its
 * next deadline, or close it.
 */
static void conn_progress(struct tarpit *t, struct conn *c)
{
	for (;;) {
		const char *data;
		size_t pending;
		int ret;

		if (smtp_session_should_close(&c->session)) {
			conn_close(t, c);
			return;
		}
		pending = smtp_session_pending(&c->session, &data);
		if (!pending && c->throttled) {
			/* conn_timer() reads on at the next second, when its source may send again. */
			conn_schedule(c, t->now + 1);
			return;
		}
		if (!pending && (c->flags & CONN_INPUT_BLOCKED) && parent_congested(t)) {
			/* parent_drained() reads on. */
			t->input_waits = true;
			conn_schedule(c, t->now + t->cfg->idle_timeout);
			return;
		}
		if (!pending && (c->flags & CONN_INPUT_BLOCKED) && !t->turn_left) {
			/* This round's slice is used: serve_ready() reads on next round. */
			conn_ready(t, c);
			conn_schedule(c, t->now + t->cfg->idle_timeout);
			return;
		}
		if (!pending && (c->flags & CONN_INPUT_BLOCKED)) {
			c->flags &= ~CONN_INPUT_BLOCKED;
			ret = conn_read(t, c, true);
			if (ret) {
				conn_close(t, c);
				return;
			}
			continue;
		}
		if (!pending) {
			conn_schedule(c, t->now + t->cfg->idle_timeout);
			return;
		}
		if (c->flags & CONN_WRITE_BLOCKED)
			return;
		if (conn_stuttered(t, c)) {
			/* An earlier byte's deadline stands: input must not delay it. */
			if (!(c->flags & CONN_TIMED) || c->due > t->now + t->cfg->stutter)
				conn_schedule(c, t->now + t->cfg->stutter);
			return;
		}
		ret = conn_send(t, c, pending);
		if (ret == -EAGAIN)
			return;
		if (ret) {
			conn_close(t, c);
			return;
		}
	}
}

/* A deadline came: the next stuttered byte, or the end of the wait. */
static void conn_timer(struct tarpit *t, struct conn *c)
{
	const char *data;
	int ret;

	if (c->throttled) {
		/* A new second: its source may send again. */
		c->throttled = 0;
		conn_progress(t, c);
		return;
	}
	if (!smtp_session_pending(&c->session, &data) || (c->flags & CONN_WRITE_BLOCKED)) {
		conn_close(t, c);
		return;
	}
	if (conn_stuttered(t, c)) {
		ret = conn_send(t, c, 1);
		if (ret == -EAGAIN)
			return;
		if (ret) {
			conn_close(t, c);
			return;
		}
		conn_schedule(c, t->now + t->cfg->stutter);
	}
	conn_progress(t, c);
}

/* CLASS came, or its wait ran out: the dialogue begins. */
static void conn_classified(struct tarpit *t, struct conn *c, const struct privsep_class *class)
{
	struct addr_prefix client = c->session.client;
	int code = class->black && class->code ? class->code : t->cfg->black_code;
	struct smtp_shared *message = class->black ? message_get(t, class->message) : NULL;
	char ip[ADDR_STRLEN];
	int ret;

	if (c->session.params) {
		/* Started at accept, its banner maybe out: the class is all it lacks. */
		ret = smtp_session_classify(&c->session, &t->params[code == 550], class->black,
					    message);
	} else {
		ret = banner_refresh(t);
		if (!ret)
			ret = smtp_session_start(&c->session, &t->params[code == 550], &client,
						 t->banner, class->black, message);
	}
	smtp_shared_put(message);
	conn_ip(c, ip);
	if (ret) {
		log_warn("%s: cannot start the dialogue: %s", ip, strerror(-ret));
		c->session.client = client;
		conn_close(t, c);
		return;
	}
	c->flags &= (uint8_t)~CONN_CLASSIFYING;
	if (class->black)
		count_black(t, c);
	log_info("%s: connected (%u/%u)%s%s", ip, t->clients, t->blacks,
		 class->black && *class->lists ? ", lists: " : "",
		 class->black ? class->lists : "");
	/*
	 * Input that came before the banner raised its one edge already, and
	 * was noted then; a client that waits for the banner sent nothing, and
	 * a read now would only find the socket empty.
	 */
	if (c->early_input) {
		c->early_input = 0;
		conn_turn(t);
		ret = conn_read(t, c, true);
		if (ret) {
			conn_close(t, c);
			return;
		}
	}
	conn_progress(t, c);
}

/* Tell the parent what the tarpit holds, when that changed (once a second). */
static void report_conns(struct tarpit *t)
{
	struct privsep_msg m = { .type = PRIVSEP_CONNS, .conns = { t->clients, t->blacks } };
	int ret;

	if (t->clients == t->told_held && t->blacks == t->told_black)
		return;
	/* blacks never passes clients; the message refuses it if it ever did. */
	if (m.conns.black > m.conns.held)
		m.conns.black = m.conns.held;
	ret = privsep_send(&t->writer, &m);
	if (ret) {
		log_warn("tarpit: telling the parent its connections: %s", strerror(-ret));
		return;
	}
	t->told_held = t->clients;
	t->told_black = t->blacks;
}

/* Once a second: serve every connection whose deadline has come. */
static void run_timers(struct tarpit *t)
{
	if (t->scanned == t->now)
		return;
	t->scanned = t->now;
	report_conns(t);
	for (uint32_t i = 0; i < t->used; i++) {
		struct conn *c = &t->slots[i];

		if (!slot_live(c))
			continue;
		if (c->flags & CONN_CLASSIFYING) {
			struct privsep_class grey = { .conn_id = c->id, .message = "", .lists = "" };

			if (c->started + TARPIT_CLASSIFY_TIMEOUT <= t->now)
				conn_classified(t, c, &grey);
		} else if ((c->flags & CONN_TIMED) && c->due <= t->now) {
			c->flags &= (uint8_t)~CONN_TIMED;
			conn_turn(t);
			conn_timer(t, c);
		}
	}
}

/* A free slot, zeroed; NULL when every slot is taken (dead ones not yet freed). */
static struct conn *slot_take(struct tarpit *t)
{
	struct conn *c;

	if (t->free_top != SLOT_NONE) {
		c = &t->slots[t->free_top];
		t->free_top = c->next;
	} else if (t->used < t->nslots) {
		c = &t->slots[t->used++];
	} else {
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	return c;
}

/* Start c's session as grey (conn_classified() gives it its class) and send the banner. */
static void banner_now(struct tarpit *t, struct conn *c)
{
	struct addr_prefix client = c->session.client;
	const char *data;
	int ret = banner_refresh(t);

	if (!ret)
		ret = smtp_session_start(&c->session, &t->params[0], &client, t->banner, false,
					 NULL);
	if (ret) {
		/* conn_classified() tries again. */
		c->session.client = client;
		return;
	}
	ret = conn_send(t, c, smtp_session_pending(&c->session, &data));
	/* -EAGAIN: the rest goes once classified; a send that failed shows again then. */
	(void)ret;
}

static void conn_accept(struct tarpit *t, int fd, const struct sockaddr_storage *ss,
			socklen_t len)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct conn *c = slot_take(t);
	struct privsep_msg m = { .type = PRIVSEP_CLASSIFY };
	uint32_t slot;
	char ip[ADDR_STRLEN];
	int ret;

	if (!c) {
		close(fd);
		return;
	}
	slot = slot_of(t, c);
	ev.data.u64 = TAG_CONN + (uint64_t)slot;
	if (addr_from_sockaddr((const struct sockaddr *)ss, len, &c->session.client) ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		slot_give_back(t, c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->started = t->now;
	c->id = (uint32_t)(((uint64_t)++t->next_id << t->slot_bits) | slot);
	c->flags = CONN_CLASSIFYING;
	t->clients++;
	m.classify.conn_id = c->id;
	m.classify.client = c->session.client;
	/* Queued: accept_connections() sends the batch's CLASSIFYs together. */
	ret = privsep_send(t->classify, &m);
	if (ret)
		log_warn("%s: not classified by the parent: %s", conn_ip(c, ip), strerror(-ret));
	/*
	 * Until CLASS comes, the client's input waits in the socket and only
	 * session.client is set; but with stutter 0 the banner is the same
	 * bytes at once for black and grey, so it goes out now, and the
	 * parent's round trip overlaps the client's own.
	 */
	if (!t->cfg->stutter)
		banner_now(t, c);
}

/* The CLASSIFYs queued so far, in one system call when the socket takes them all. */
static void flush_classify(struct tarpit *t)
{
	int ret = privsep_flush(t->classify);

	/* -EAGAIN: the rest goes on EPOLLOUT; a gone parent shows on reading. */
	if (ret && ret != -EAGAIN && ret != -EPIPE)
		log_warn("tarpit: writing to the parent: %s", strerror(-ret));
}

static void accept_connections(struct tarpit *t, int listen_fd)
{
	for (int i = 0; i < ACCEPT_BATCH && !t->listen.resume_ms; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(listen_fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && listeners_accept_error(errno) > 0) {
			log_warn("tarpit: accept: %s, pausing", strerror(errno));
			listeners_pause(&t->listen, true, t->now_ms);
			break;
		}
		/* Connections that died in the backlog. */
		if (fd < 0 && !listeners_accept_error(errno))
			continue;
		if (fd < 0)
			break;
		if (t->clients >= t->cfg->maxcon)
			close(fd);
		else
			conn_accept(t, fd, &ss, len);
	}
	flush_classify(t);
}

static void conn_event(struct tarpit *t, struct conn *c, uint32_t events)
{
	int ret;

	if (c->flags & CONN_DEAD)
		return;
	if (c->flags & CONN_CLASSIFYING) {
		/* An early banner's rest may go now (conn_progress() once classified). */
		if (events & EPOLLOUT)
			c->flags &= (uint8_t)~CONN_WRITE_BLOCKED;
		/* Input waits for the class; only a connection gone for good ends it. */
		if (events & (EPOLLHUP | EPOLLERR))
			conn_close(t, c);
		else if (events & (EPOLLIN | EPOLLRDHUP))
			c->early_input = 1;
		return;
	}
	if (events & EPOLLERR) {
		conn_close(t, c);
		return;
	}
	if (events & EPOLLOUT)
		c->flags &= (uint8_t)~CONN_WRITE_BLOCKED;
	conn_turn(t);
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
		ret = conn_read(t, c, events & (EPOLLRDHUP | EPOLLHUP));
		if (ret) {
			conn_close(t, c);
			return;
		}
	}
	conn_progress(t, c);
}

static struct conn *classifying(struct tarpit *t, uint32_t id)
{
	uint32_t slot = t->slot_bits < 32 ? id & ((1u << t->slot_bits) - 1) : id;
	struct conn *c = slot < t->used ? &t->slots[slot] : NULL;

	if (c && slot_live(c) && (c->flags & CONN_CLASSIFYING) && c->id == id)
		return c;
	return NULL;
}

static void trap_sets_free(struct trap_set **spamtraps, struct trap_set **domains,
			   struct trap_set **valid)
{
	trap_set_free(*spamtraps);
	trap_set_free(*domains);
	trap_set_free(*valid);
	*spamtraps = *domains = *valid = NULL;
}

static int trap_sets_new(struct trap_set **spamtraps, struct trap_set **domains,
			 struct trap_set **valid)
{
	int ret = trap_set_new(spamtraps);

	if (!ret)
		ret = trap_set_new(domains);
	if (!ret)
		ret = trap_set_new(valid);
	if (ret)
		trap_sets_free(spamtraps, domains, valid);
	return ret;
}

/* TRAPS-END: the new rules replace the old ones whole. */
static void traps_install(struct tarpit *t)
{
	trap_sets_free(&t->spamtraps, &t->domains, &t->valid);
	t->spamtraps = t->new_spamtraps;
	t->domains = t->new_domains;
	t->valid = t->new_valid;
	t->new_spamtraps = t->new_domains = t->new_valid = NULL;
	t->rules = (struct trap_rules){ t->spamtraps, t->domains, t->valid };
}

static bool settings_valid(const struct tarpit_config *cfg)
{
	return cfg->maxcon >= 1 && cfg->idle_timeout >= 1 &&
	       (cfg->black_code == 450 || cfg->black_code == 550);
}

/*
 * Take cfg's settings (not its descriptors): new connections get them,
 * held ones go on with theirs, except that hostname, banner-free replies
 * and stutter are read through the shared params as they are sent.
 * Invalid settings (a banner or hostname smtp refuses) change nothing.
 */
static int settings_apply(struct tarpit *t, const struct tarpit_config *cfg)
{
	char *hostname = strdup(cfg->hostname ? cfg->hostname : "");
	char *banner = strdup(cfg->banner ? cfg->banner : "");
	struct smtp_params params[2];
	struct smtp_shared *probe = NULL;
	struct rlimit nofile;
	int ret = hostname && banner ? 0 : -ENOMEM;

	for (int i = 0; i < 2; i++)
		params[i] = (struct smtp_params){
			.hostname = hostname,
			.banner = banner,
			.black_code = i ? 550 : 450,
			.max_data = cfg->max_data,
			.stutter = cfg->stutter,
			.greystutter = cfg->greystutter,
			.maxrcpt = cfg->maxrcpt,
			.rcpt = conn_rcpt,
		};
	if (!ret && !settings_valid(cfg))
		ret = -EINVAL;
	/* A banner that cannot be made would fail every connection: refuse it now. */
	if (!ret)
		ret = smtp_banner_new(&params[0], "Thu, 01 Jan 1970 00:00:00 +0000", &probe);
	smtp_shared_put(probe);
	if (ret) {
		free(hostname);
		free(banner);
		return ret;
	}
	t->conf.hostname = hostname;
	t->conf.banner = banner;
	t->conf.black_code = cfg->black_code;
	t->conf.stutter = cfg->stutter;
	t->conf.greystutter = cfg->greystutter;
	t->conf.maxcon = cfg->maxcon;
	t->conf.maxblack = cfg->maxblack;
	t->conf.idle_timeout = cfg->idle_timeout;
	t->conf.max_data = cfg->max_data;
	t->conf.maxrcpt = cfg->maxrcpt;
	/* Sessions point at params: they read the new strings from now on. */
	memcpy(t->params, params, sizeof(params));
	free(t->hostname);
	free(t->banner_text);
	t->hostname = hostname;
	t->banner_text = banner;
	/* The next connection's banner is made with the new text. */
	smtp_shared_put(t->banner);
	t->banner = NULL;
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < (rlim_t)cfg->maxcon + 64)
		log_warn("tarpit: open files limited to %llu: fewer than maxcon %u connections",
			 (unsigned long long)nofile.rlim_cur, cfg->maxcon);
	return 0;
}

static int parent_message(struct tarpit *t, const struct privsep_msg *m)
{
	struct trap_set *set = NULL;
	struct conn *c;
	int ret;

	switch (m->type) {
	case PRIVSEP_CLASS:
		c = classifying(t, m->class.conn_id);
		/* Not found: the client left, or its wait ran out first. */
		if (c)
			conn_classified(t, c, &m->class);
		return 0;
	case PRIVSEP_TRAPS:
		trap_sets_free(&t->new_spamtraps, &t->new_domains, &t->new_valid);
		return trap_sets_new(&t->new_spamtraps, &t->new_domains, &t->new_valid);
	case PRIVSEP_SPAMTRAP:
		set = t->new_spamtraps;
		break;
	case PRIVSEP_DOMAIN:
		set = t->new_domains;
		break;
	case PRIVSEP_VALID:
		set = t->new_valid;
		break;
	case PRIVSEP_TRAPS_END:
		if (!t->new_spamtraps)
			return -EPROTO;
		traps_install(t);
		return 0;
	case PRIVSEP_CONFIG:
		ret = settings_apply(t, &m->config);
		if (ret == -EINVAL)
			log_err("tarpit: new settings refused, the old ones kept");
		else if (!ret)
			log_info("tarpit: settings changed: maxcon %u, maxblack %u, stutter %u, "
				 "greystutter %u, idle timeout %u, maxrcpt %u, code %d",
				 t->conf.maxcon, t->conf.maxblack, t->conf.stutter,
				 t->conf.greystutter, t->conf.idle_timeout, t->conf.maxrcpt,
				 t->conf.black_code);
		return ret == -EINVAL ? 0 : ret;
	default:
		return -EPROTO;
	}
	if (!set)
		return -EPROTO; /* an entry outside TRAPS ... TRAPS-END */
	ret = trap_set_add(set, m->entry);
	if (ret == -EINVAL || ret == -ENAMETOOLONG || ret == -ENODATA) {
		log_warn("tarpit: trap entry ignored: %s", strerror(-ret));
		ret = 0;
	}
	return ret;
}

/* What the parent sent on one channel: the class channel carries CLASS alone. */
static void parent_input(struct tarpit *t, struct privsep_reader *r, bool class_only)
{
	struct privsep_msg m;
	int ret;

	while ((ret = privsep_receive(r, &m)) == 1) {
		ret = class_only && m.type != PRIVSEP_CLASS ? -EPROTO : parent_message(t, &m);
		if (ret)
			break;
	}
	/* The parent closed its end (with our messages unread: -ECONNRESET): it is gone. */
	if (ret == -EPIPE || ret == -ECONNRESET) {
		t->stop = true;
	} else if (ret < 0) {
		log_err("tarpit: the parent's channel failed: %s", strerror(-ret));
		t->err = ret;
		t->stop = true;
	}
}

/* The parent read what was queued: connections that stopped reading for it go on. */
static void parent_drained(struct tarpit *t)
{
	if (!t->input_waits || parent_congested(t))
		return;
	t->input_waits = false;
	for (uint32_t i = 0; i < t->used; i++) {
		struct conn *c = &t->slots[i];
		const char *data;

		if (slot_live(c) && !(c->flags & CONN_CLASSIFYING) &&
		    (c->flags & CONN_INPUT_BLOCKED) && !smtp_session_pending(&c->session, &data)) {
			conn_turn(t);
			conn_progress(t, c);
		}
	}
}

/* The connections whose slice ran out last round: a slice each, in turn. */
static void serve_ready(struct tarpit *t)
{
	uint32_t n = t->nready;

	for (uint32_t i = 0; i < n; i++) {
		struct conn *c = &t->slots[t->ready[i]];

		/* Not ready: served already through a later entry of a reused slot. */
		if (!c->ready)
			continue;
		c->ready = false;
		if (!slot_live(c) || (c->flags & CONN_CLASSIFYING))
			continue;
		conn_turn(t);
		conn_progress(t, c);
	}
	memmove(t->ready, t->ready + n, (t->nready - n) * sizeof(*t->ready));
	t->nready -= n;
}

static void dispatch(struct tarpit *t, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;
	int ret;

	if (tag == TAG_SIGNAL) {
		struct signalfd_siginfo info;

		/* Taken, or it would be delivered when the old mask comes back. */
		if (read(t->sigfd, &info, sizeof(info)) == (ssize_t)sizeof(info))
			t->stop = true;
	} else if (tag == TAG_PARENT) {
		ret = ev->events & EPOLLOUT ? privsep_flush(&t->writer) : 0;
		if (ret && ret != -EAGAIN)
			log_warn("tarpit: writing to the parent: %s", strerror(-ret));
		parent_drained(t);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			parent_input(t, &t->reader, false);
	} else if (tag == TAG_CLASS) {
		ret = ev->events & EPOLLOUT ? privsep_flush(&t->class_writer) : 0;
		if (ret && ret != -EAGAIN)
			log_warn("tarpit: writing to the parent: %s", strerror(-ret));
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			parent_input(t, &t->class_reader, true);
	} else if (tag >= TAG_LISTEN && tag < TAG_LISTEN + t->cfg->nlisten) {
		accept_connections(t, t->cfg->listen_fds[tag - TAG_LISTEN]);
	} else if (tag >= TAG_CONN && tag - TAG_CONN < t->used) {
		conn_event(t, &t->slots[tag - TAG_CONN], ev->events);
	}
}

/* What was queued for the parent, in one system call when it takes it all. */
static void flush_parent(struct tarpit *t)
{
	int ret = privsep_flush(&t->writer);

	/* -EAGAIN: the rest goes on EPOLLOUT; a gone parent shows on reading. */
	if (ret && ret != -EAGAIN && ret != -EPIPE)
		log_warn("tarpit: writing to the parent: %s", strerror(-ret));
	if (t->rcpt_queued)
		t->rcpt_flushed_ms = t->now_ms;
	t->rcpt_queued = t->flush_now = false;
	t->flush_at_ms = 0;
}

/*
 * Before waiting: send what is queued for the parent once its time has
 * come (PARENT_FLUSH_MS), and the longest the wait may be in milliseconds
 * so that what stays queued goes in time.
 */
static int flush_parent_due(struct tarpit *t, int timeout)
{
	size_t queued = privsep_queued(&t->writer);
	uint64_t due;

	if (!queued) {
		t->flush_at_ms = 0;
		t->rcpt_queued = false;
		return timeout;
	}
	if (!t->flush_at_ms)
		t->flush_at_ms = t->now_ms + PARENT_FLUSH_MS;
	due = t->flush_at_ms;
	if (t->rcpt_queued && t->rcpt_flushed_ms + PARENT_FLUSH_MS < due)
		due = t->rcpt_flushed_ms + PARENT_FLUSH_MS;
	if (t->flush_now || queued >= PARENT_FLUSH_BYTES || t->now_ms >= due) {
		flush_parent(t);
		return timeout;
	}
	return timeout < (int)(due - t->now_ms) ? timeout : (int)(due - t->now_ms);
}

static void close_all(struct tarpit *t)
{
	for (uint32_t i = 0; t->slots && i < t->used; i++)
		if (slot_live(&t->slots[i]))
			conn_close(t, &t->slots[i]);
	free_dead(t);
}

static bool config_valid(const struct tarpit_config *cfg)
{
	return cfg->nlisten >= 1 && cfg->nlisten <= TARPIT_LISTEN_MAX && settings_valid(cfg);
}

static int epoll_add(struct tarpit *t, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * Slots for every connection that can be held: as many as there are
 * descriptors (a CONFIG may raise maxcon up to that), or maxcon when the
 * descriptors are not limited, plus room for a batch of closed ones whose
 * slots are not free yet. Only the slots used are ever touched.
 */
static int slots_reserve(struct tarpit *t)
{
	uint64_t n = t->cfg->maxcon;
	struct rlimit nofile;
	void *p;

	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur != RLIM_INFINITY)
		n = nofile.rlim_cur;
	n += EVENT_BATCH;
	if (n > UINT32_MAX - TAG_CONN)
		n = UINT32_MAX - TAG_CONN;
	p = mmap(NULL, n * sizeof(struct conn), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->slots = p;
	t->nslots = (uint32_t)n;
	p = mmap(NULL, 2 * n * sizeof(uint32_t), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->ready = p;
	t->ready_cap = (uint32_t)(2 * n);
	while (t->slot_bits < 32 && (1ull << t->slot_bits) < n)
		t->slot_bits++;
	return 0;
}

static int class_channel_setup(struct tarpit *t)
{
	int fd = t->cfg->class_fd, flags = fcntl(fd, F_GETFL), ret;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	ret = epoll_add(t, fd, EPOLLIN | EPOLLOUT | EPOLLET, TAG_CLASS);
	if (!ret)
		ret = privsep_reader_init(&t->class_reader, fd);
	if (!ret)
		t->classify = &t->class_writer;
	return ret;
}

static int tarpit_setup(struct tarpit *t)
{
	sigset_t term;
	int ret, flags;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &t->old_mask))
		return -errno;
	t->mask_saved = true;
	t->sigfd = signalfd(-1, &term, SFD_NONBLOCK | SFD_CLOEXEC);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->sigfd < 0 || t->epfd < 0)
		return -errno;
	t->listen = (struct listeners){ t->epfd, t->cfg->listen_fds, t->cfg->nlisten, TAG_LISTEN, 0 };
	flags = fcntl(t->cfg->parent_fd, F_GETFL);
	if (flags < 0 || fcntl(t->cfg->parent_fd, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	ret = epoll_add(t, t->sigfd, EPOLLIN, TAG_SIGNAL);
	if (!ret)
		ret = epoll_add(t, t->cfg->parent_fd, EPOLLIN | EPOLLOUT | EPOLLET, TAG_PARENT);
	for (size_t i = 0; !ret && i < t->cfg->nlisten; i++)
		ret = epoll_add(t, t->cfg->listen_fds[i], EPOLLIN, TAG_LISTEN + i);
	if (!ret)
		ret = slots_reserve(t);
	if (!ret) {
		t->budgets = calloc(SOURCE_BUCKETS, sizeof(*t->budgets));
		ret = t->budgets ? 0 : -ENOMEM;
	}
	/* The buckets' key: a sender cannot choose addresses that share one. */
	if (!ret && getrandom(&t->budget_seed, sizeof(t->budget_seed), 0) != sizeof(t->budget_seed))
		ret = -errno;
	if (!ret)
		ret = privsep_reader_init(&t->reader, t->cfg->parent_fd);
	if (!ret && t->cfg->class_fd > 0)
		ret = class_channel_setup(t);
	if (!ret)
		ret = trap_sets_new(&t->spamtraps, &t->domains, &t->valid);
	t->rules = (struct trap_rules){ t->spamtraps, t->domains, t->valid };
	if (!ret)
		ret = banner_refresh(t);
	return ret;
}

/*
 * The log's lines to the parent, behind the messages before them. A line
 * too long for one message is cut (it is a log line, never a RCPT).
 */
static int log_to_parent(void *ctx, int priority, const char *text)
{
	struct tarpit *t = ctx;
	struct privsep_msg m = { .type = PRIVSEP_LOG, .log = { priority, text } };
	char *cut = NULL;
	int ret;

	if (strlen(text) > PRIVSEP_LOG_MAX) {
		cut = strndup(text, PRIVSEP_LOG_MAX);
		if (!cut)
			return -ENOMEM;
		m.log.text = cut;
	}
	ret = privsep_send(&t->writer, &m);
	free(cut);
	return ret;
}

static void tarpit_teardown(struct tarpit *t)
{
	close_all(t);
	if (t->slots)
		munmap(t->slots, (size_t)t->nslots * sizeof(struct conn));
	if (t->ready)
		munmap(t->ready, (size_t)t->ready_cap * sizeof(uint32_t));
	free(t->budgets);
	for (size_t i = 0; i < t->nmessages; i++)
		smtp_shared_put(t->messages[i]);
	smtp_shared_put(t->banner);
	trap_sets_free(&t->spamtraps, &t->domains, &t->valid);
	trap_sets_free(&t->new_spamtraps, &t->new_domains, &t->new_valid);
	if (t->cfg->log_to_parent)
		log_set_sink(NULL, NULL);
	privsep_reader_free(&t->reader);
	privsep_writer_free(&t->writer);
	privsep_reader_free(&t->class_reader);
	privsep_writer_free(&t->class_writer);
	free(t->hostname);
	free(t->banner_text);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->sigfd >= 0)
		close(t->sigfd);
	if (t->mask_saved)
		sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
}

int tarpit_run(const struct tarpit_config *cfg, const struct tarpit_clock *clock)
{
	struct epoll_event events[EVENT_BATCH];
	struct tarpit *t;
	int ret;

	if (!config_valid(cfg))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->conf = *cfg;
	t->cfg = &t->conf;
	t->clock.monotonic_ms = clock && clock->monotonic_ms ? clock->monotonic_ms
							     : system_monotonic_ms;
	t->clock.wall = clock && clock->wall ? clock->wall : system_wall;
	t->clock.ctx = clock ? clock->ctx : NULL;
	t->epfd = t->sigfd = -1;
	t->free_top = t->dead_top = SLOT_NONE;
	privsep_writer_init(&t->writer, cfg->parent_fd);
	/* RCPTs and log lines go out together (flush_parent_due()). */
	privsep_cork(&t->writer);
	privsep_writer_init(&t->class_writer, cfg->class_fd > 0 ? cfg->class_fd : -1);
	/* A batch of accepts sends its CLASSIFYs at once (accept_connections()). */
	privsep_cork(&t->class_writer);
	t->classify = &t->writer;
	if (cfg->log_to_parent)
		log_set_sink(log_to_parent, t);
	t->start_ms = t->clock.monotonic_ms(t->clock.ctx);
	clock_update(t);
	ret = settings_apply(t, cfg);
	if (!ret)
		ret = tarpit_setup(t);
	while (!ret && !t->stop) {
		int timeout, n;

		/* Wake at the next second, when the wheel turns. */
		clock_update(t);
		timeout = t->nready ? 0 : 1000 - (int)((t->now_ms - t->start_ms) % 1000);
		timeout = flush_parent_due(t, timeout);
		n = epoll_wait(t->epfd, events, EVENT_BATCH, timeout);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		clock_update(t);
		for (int i = 0; i < n; i++)
			dispatch(t, &events[i]);
		free_dead(t);
		parent_drained(t);
		run_timers(t);
		serve_ready(t);
		if (t->listen.resume_ms && t->now_ms >= t->listen.resume_ms)
			listeners_pause(&t->listen, false, t->now_ms);
		free_dead(t);
	}
	/* What the last round queued (a trap's RCPT among them) goes before we do. */
	flush_parent(t);
	if (!ret)
		ret = t->err;
	tarpit_teardown(t);
	free(t);
	return ret;
}

int tarpit_listen(const struct sockaddr *addr, socklen_t len, bool reuseport)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, len) || listen(fd, SOMAXCONN)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
