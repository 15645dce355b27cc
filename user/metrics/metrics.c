// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics child, seen from the parent: the socket, fork and exec, the
 * METRICS answers, restarts. See metrics.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "child/child_process.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "metrics/render.h"
#include "spamd/tarpit.h"

static struct metrics *metrics_of(const struct daemon *d)
{
	return d->metrics;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int metrics_attach(struct daemon *d, int fd, pid_t pid)
{
	return child_process_attach(&metrics_of(d)->child, d->epoll_fd, fd, pid);
}

static void log_started(const struct metrics *m)
{
	log_info("metrics endpoint started (pid %d)", (int)m->child.pid);
}

/* Fork and exec the child with the socket (child_process.h). */
static int start_child(struct daemon *d, char *err, size_t errlen)
{
	struct metrics *m = metrics_of(d);
	int ret = child_process_start(&m->child, d->epoll_fd, d->cfg.state_dir, &m->listen_fd, 1,
				      err, errlen);

	if (!ret)
		log_started(m);
	return ret;
}

int metrics_start(struct daemon *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	char addr[ADDR_STRLEN];
	socklen_t len;
	int ret;

	if (!d->cfg.metrics || d->metrics)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics: out of memory");
		return -ENOMEM;
	}
	child_process_init(&m->child, "metrics", METRICS_CHILD_OPTION);
	m->listen_fd = -1;
	expo_init(&m->text, PRIVSEP_METRICS_MAX);
	d->metrics = m;
	len = addr_to_sockaddr(&d->cfg.metrics_addr, d->cfg.metrics_port, &ss);
	m->listen_fd = tarpit_listen((struct sockaddr *)&ss, len, false);
	if (m->listen_fd < 0) {
		ret = m->listen_fd;
		addr_format(&d->cfg.metrics_addr, addr, sizeof(addr));
		snprintf(err, errlen, "metrics: listen %s port %u: %s", addr, d->cfg.metrics_port,
			 strerror(-ret));
		metrics_stop(d);
		return ret;
	}
	ret = start_child(d, err, errlen);
	if (ret)
		metrics_stop(d);
	return ret;
}

void metrics_stop(struct daemon *d)
{
	struct metrics *m = metrics_of(d);

	if (!m)
		return;
	child_process_stop(&m->child, d->epoll_fd);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	expo_free(&m->text);
	free(m);
	d->metrics = NULL;
}

bool metrics_listen_changed(const struct daemon *d, const struct config *next)
{
	if (!d->metrics || !next->metrics)
		return false;
	return d->cfg.metrics_port != next->metrics_port ||
	       !addr_equal(&d->cfg.metrics_addr, &next->metrics_addr);
}

int metrics_reload(struct daemon *d, char *err, size_t errlen)
{
	if (!d->cfg.metrics) {
		if (d->metrics)
			log_info("metrics endpoint stopped: no metrics-listen any more");
		metrics_stop(d);
		return 0;
	}
	return metrics_start(d, err, errlen);
}

bool metrics_owns_fd(const struct daemon *d, int fd)
{
	return d->metrics && fd >= 0 && fd == d->metrics->child.fd;
}

static void child_failed(struct daemon *d, int err)
{
	struct metrics *m = metrics_of(d);

	if (err != -EPIPE)
		log_err("metrics: the child's channel failed (%s): restarting it", strerror(-err));
	child_process_restart(&m->child, d->epoll_fd);
}

/* The text in pieces, then its end: queued, sent as the socket takes it. */
static int send_text(struct metrics *m, uint32_t req_id)
{
	struct privsep_msg msg = { .type = PRIVSEP_METRICS_PART };
	char piece[PRIVSEP_FIELD_MAX + 1];
	int ret = 0;

	privsep_cork(&m->child.writer);
	msg.metrics.req_id = req_id;
	msg.metrics.text = piece;
	for (size_t off = 0; !ret && off < m->text.len; off += PRIVSEP_FIELD_MAX) {
		size_t n = m->text.len - off < PRIVSEP_FIELD_MAX ? m->text.len - off
								 : PRIVSEP_FIELD_MAX;

		memcpy(piece, m->text.buf + off, n);
		piece[n] = '\0';
		ret = privsep_send(&m->child.writer, &msg);
	}
	if (!ret) {
		msg.type = PRIVSEP_METRICS_END;
		msg.metrics.length = m->text.len;
		ret = privsep_send(&m->child.writer, &msg);
	}
	if (!ret || ret == -EAGAIN)
		ret = privsep_flush(&m->child.writer);
	return ret == -EAGAIN ? 0 : ret;
}

static int answer(struct daemon *d, uint32_t req_id)
{
	struct metrics *m = metrics_of(d);
	uint64_t now = monotonic_ms();
	int ret = 0;

	m->scrapes++;
	if (!m->rendered_ms || now - m->rendered_ms >= METRICS_RENDER_MIN_MS || m->text.err) {
		ret = metrics_render(d, &m->text, m);
		m->rendered_ms = now;
		m->renders++;
	}
	if (ret) {
		/* A text that is not whole is not served: an empty one makes the child answer 503. */
		m->render_errors++;
		log_err("metrics: rendering: %s", strerror(-ret));
		expo_reset(&m->text);
	}
	return send_text(m, req_id);
}

void metrics_io(struct daemon *d)
{
	struct metrics *m = metrics_of(d);
	struct privsep_msg msg;
	int ret, n = 0;

	if (!m || m->child.fd < 0)
		return;
	ret = privsep_flush(&m->child.writer);
	if (ret && ret != -EAGAIN) {
		child_failed(d, ret);
		return;
	}
	/* A few messages a wakeup (the child sends one METRICS at a time); the rest next round. */
	m->child.paused = false;
	while (n++ < METRICS_READ_BATCH && (ret = privsep_receive(&m->child.reader, &msg)) == 1) {
		if (msg.type == PRIVSEP_LOG) {
			log_tarpit_line(msg.log.priority, msg.log.text);
		} else if (msg.type == PRIVSEP_METRICS) {
			ret = answer(d, msg.metrics.req_id);
			if (ret)
				break;
		} else {
			ret = -EPROTO;
			break;
		}
	}
	if (ret < 0) {
		child_failed(d, ret);
		return;
	}
	m->child.paused = ret == 1;
	child_process_want_write(&m->child, d->epoll_fd, privsep_queued(&m->child.writer) > 0);
}

bool metrics_pending(const struct daemon *d)
{
	return d->metrics && d->metrics->child.paused && d->metrics->child.fd >= 0;
}

bool metrics_reaped(struct daemon *d, pid_t pid, int status)
{
	struct metrics *m = metrics_of(d);

	return m && child_process_reaped(&m->child, d->epoll_fd, pid, status);
}

void metrics_periodic(struct daemon *d, int64_t now)
{
	struct metrics *m = metrics_of(d);

	if (m && child_process_periodic(&m->child, d->epoll_fd, now, d->cfg.state_dir,
					&m->listen_fd, 1) > 0)
		log_started(m);
}
