// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The table exchange in greywalld: its schedule in the loop and `table NAME exchange`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "daemon/commands_exchange.h"
#include "daemon/ctl_exit.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "exchange/exchange.h"
#include "lib/log.h"

/*
 * `table T exchange` requests waiting for their read: the reader thread
 * runs one read at a time, so a request waits for the read running when
 * it came (PENDING_WAITING), then for the read of its table's peers
 * started for it (PENDING_KICKED), and is answered once that read is
 * merged. The loop goes on meanwhile. greywalld has one daemon and one
 * exchange: the list is the process's.
 */
enum { PENDING_WAITING = 1, PENDING_KICKED };

/* Requests waiting at once, each a connection and its buffers: more are refused. */
#define PENDING_MAX 64

static struct control_deferred *pending;

static size_t pending_count(void)
{
	size_t n = 0;

	for (const struct control_deferred *p = pending; p; p = p->next)
		n++;
	return n;
}

static bool table_has_peers(const struct exchange *x, const char *name)
{
	for (size_t i = 0; x && i < x->npeers; i++)
		if (!strcmp(x->peers[i].table, name))
			return true;
	return false;
}

static void pending_unlink(struct daemon *d, struct control_deferred *p)
{
	for (struct control_deferred **pp = &pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (d->epoll_fd >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, p->sock, NULL);
}

/* What `table T exchange` says once its read is merged (merge_err: the merge's). */
static int exchange_status(const struct exchange *x, const char *name, int merge_err, FILE *out,
			   FILE *err)
{
	exchange_report(x, name, out);
	if (merge_err) {
		fprintf(err, "greywallctl: exchange: merging: %s\n", strerror(-merge_err));
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < x->npeers; i++)
		if (!strcmp(x->peers[i].table, name) && x->peers[i].last_error[0])
			return CTL_EXIT_FAIL;
	return CTL_EXIT_OK;
}

static void pending_answer(struct daemon *d, struct control_deferred *p, int status)
{
	int ret;

	pending_unlink(d, p);
	ret = control_deferred_answer(p, status);
	if (ret)
		log_debug("control socket: answering `table exchange`: %s", strerror(-ret));
}

static void pending_fail(struct daemon *d, struct control_deferred *p, const char *fmt,
			 const char *what)
{
	fprintf(p->req.err, fmt, what);
	pending_answer(d, p, CTL_EXIT_FAIL);
}

/*
 * No read runs: start the read of the first waiting request's table, for
 * every request waiting for that table. A table that lost its peers (a
 * reload) or a read that cannot start answers its requests at once.
 */
static void pending_start(struct daemon *d)
{
	struct exchange *x = d->exchange;

	while (pending && !(x && (x->running || x->job))) {
		struct control_deferred *first = NULL;
		char name[sizeof(first->what)];
		int ret;

		for (struct control_deferred *p = pending; p; p = p->next)
			if (p->state == PENDING_WAITING) {
				first = p;
				break;
			}
		if (!first)
			return;
		if (!table_has_peers(x, first->what)) {
			pending_fail(d, first, "greywallctl: table <%s> has no exchange peers\n",
				     first->what);
			continue;
		}
		memcpy(name, first->what, sizeof(name));
		ret = exchange_kick(x, name, (int64_t)time(NULL));
		for (struct control_deferred *p = pending, *next; p; p = next) {
			next = p->next;
			if (p->state != PENDING_WAITING || strcmp(p->what, name))
				continue;
			if (ret > 0)
				p->state = PENDING_KICKED;
			else if (ret < 0)
				pending_fail(d, p, "greywallctl: exchange: %s\n", strerror(-ret));
			else
				pending_answer(d, p, exchange_status(x, name, 0, p->req.out,
								     p->req.err));
		}
	}
}

int exchange_daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	int ret;

	if (!d->exchange) {
		d->exchange = malloc(sizeof(*d->exchange));
		if (!d->exchange) {
			snprintf(err, errlen, "exchange: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		ret = exchange_init(d->exchange);
		if (ret) {
			free(d->exchange);
			d->exchange = NULL;
			snprintf(err, errlen, "exchange: %s", strerror(-ret));
			return ret;
		}
	}
	ret = exchange_configure(d->exchange, &d->cfg, (int64_t)time(NULL));
	if (ret)
		snprintf(err, errlen, "exchange: %s", strerror(-ret));
	/* A running read was dropped: the requests kicked for it are read again. */
	for (struct control_deferred *p = pending; p; p = p->next)
		p->state = PENDING_WAITING;
	pending_start(d);
	return ret;
}

void exchange_daemon_periodic(struct daemon *d, int64_t now)
{
	int ret;

	if (!d->exchange || !d->exchange->npeers)
		return;
	pending_start(d);
	ret = exchange_kick(d->exchange, NULL, now);
	if (ret < 0)
		log_err("exchange: starting the reader: %s", strerror(-ret));
}

void exchange_daemon_event(struct daemon *d)
{
	struct exchange *x = d->exchange;
	int ret = exchange_collect(x, &d->tables, (int64_t)time(NULL));

	/* The read just merged is the one the kicked requests waited for. */
	for (struct control_deferred *p = pending, *next; p; p = next) {
		next = p->next;
		if (p->state == PENDING_KICKED)
			pending_answer(d, p, exchange_status(x, p->what, ret, p->req.out,
							     p->req.err));
	}
	pending_start(d);
}

bool exchange_daemon_owns_fd(const struct daemon *d, int fd)
{
	(void)d;
	for (struct control_deferred *p = pending; p; p = p->next)
		if (p->sock == fd)
			return true;
	return false;
}

void exchange_daemon_client_event(struct daemon *d, int fd)
{
	for (struct control_deferred *p = pending; p; p = p->next)
		if (p->sock == fd) {
			if (!control_deferred_gone(p))
				return;
			log_debug("control socket: a `table <%s> exchange` client went away",
				  p->what);
			pending_unlink(d, p);
			control_deferred_drop(p);
			return;
		}
}

void exchange_daemon_close(struct daemon *d)
{
	/* Stopping: the waiting requests hear so; the read is not merged. */
	while (pending)
		pending_fail(d, pending, "greywallctl: greywalld %s before the read ended\n",
			     "stopped");
	if (!d->exchange)
		return;
	exchange_free(d->exchange);
	free(d->exchange);
	d->exchange = NULL;
}

int commands_table_exchange(struct daemon *d, struct control_request *req, int table,
			    char **args, int nargs)
{
	const char *name = d->tables.table[table].name;
	struct exchange *x = d->exchange;
	struct control_deferred *p;
	int ret = 0;

	(void)args;
	if (nargs) {
		verb_print_usage(req->err, VERB_TABLE_EXCHANGE);
		return CTL_EXIT_USAGE;
	}
	if (!table_has_peers(x, name)) {
		fprintf(req->err, "greywallctl: table <%s> has no exchange peers\n", name);
		return CTL_EXIT_FAIL;
	}
	if (pending_count() >= PENDING_MAX) {
		fprintf(req->err, "greywallctl: %d exchanges are waiting already: try again later\n",
			PENDING_MAX);
		return CTL_EXIT_FAIL;
	}
	/* No read runs: this table's peers, now; else after the running one is merged. */
	if (!x->running && !x->job) {
		ret = exchange_kick(x, name, (int64_t)time(NULL));
		if (ret < 0) {
			fprintf(req->err, "greywallctl: exchange: %s\n", strerror(-ret));
			return CTL_EXIT_FAIL;
		}
	}
	/* Without a loop (a test) or a connection, wait here as before. */
	if (d->epoll_fd < 0 || req->sock < 0 || strlen(name) >= sizeof(p->what) ||
	    !(p = control_defer(req))) {
		if (!ret) {
			exchange_wait(x, &d->tables, (int64_t)time(NULL));
			ret = exchange_kick(x, name, (int64_t)time(NULL));
			if (ret < 0) {
				fprintf(req->err, "greywallctl: exchange: %s\n", strerror(-ret));
				return CTL_EXIT_FAIL;
			}
		}
		ret = exchange_wait(x, &d->tables, (int64_t)time(NULL));
		return exchange_status(x, name, ret, req->out, req->err);
	}
	snprintf(p->what, sizeof(p->what), "%s", name);
	p->state = ret > 0 ? PENDING_KICKED : PENDING_WAITING;
	{
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = p->sock };

		if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, p->sock, &ev))
			log_debug("control socket: watching a waiting client: %s",
				  strerror(errno));
	}
	p->next = pending;
	pending = p;
	return CONTROL_DEFERRED;
}
