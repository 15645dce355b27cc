// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics child, seen from the parent: the socket, fork and exec, the
 * METRICS answers, restarts. See metrics.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child/child_main.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "metrics/render.h"
#include "spamd/spamd_child.h"
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

static void watch_child(struct daemon *d, bool write)
{
	struct metrics *m = metrics_of(d);
	struct epoll_event ev = { .events = EPOLLIN | (write ? EPOLLOUT : 0), .data.fd = m->child_fd };

	if (d->epoll_fd < 0 || m->want_write == write)
		return;
	if (!epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, m->child_fd, &ev))
		m->want_write = write;
}

int metrics_attach(struct daemon *d, int fd, pid_t pid)
{
	struct metrics *m = metrics_of(d);
	int ret = privsep_reader_init(&m->reader, fd);

	if (ret)
		return ret;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	privsep_writer_init(&m->writer, fd);
	m->child_fd = fd;
	m->child_pid = pid;
	m->restart_at = 0;
	m->want_write = false;
	m->paused = false;
	if (d->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

static int fork_child(struct daemon *d, char *err, size_t errlen)
{
	struct metrics *m = metrics_of(d);
	char empty_dir[PATH_MAX], parent_fd[16], listen_fd[16];
	char *argv[6];
	int keep[2], sv[2], ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(err, errlen, "metrics: socketpair: %s", strerror(errno));
		return -errno;
	}
	/* The child's command line, made before the fork (metrics_child.h). */
	snprintf(empty_dir, sizeof(empty_dir), "%s/" SPAMD_CHILD_ROOT, d->cfg.state_dir);
	snprintf(parent_fd, sizeof(parent_fd), "%d", sv[1]);
	snprintf(listen_fd, sizeof(listen_fd), "%d", m->listen_fd);
	argv[0] = "greywalld";
	argv[1] = METRICS_CHILD_OPTION;
	argv[2] = empty_dir;
	argv[3] = parent_fd;
	argv[4] = listen_fd;
	argv[5] = NULL;
	keep[0] = sv[1];
	keep[1] = m->listen_fd;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "metrics: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
		spamd_child_exec("metrics", keep, 2, argv, CHILD_EXIT_SETUP);
	}
	close(sv[1]);
	ret = metrics_attach(d, sv[0], pid);
	if (ret) {
		close(sv[0]);
		kill(pid, SIGTERM);
		snprintf(err, errlen, "metrics: %s", strerror(-ret));
		return ret;
	}
	if (m->started)
		m->restarts++;
	m->started = true;
	log_info("metrics endpoint started (pid %d)", (int)pid);
	return 0;
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
	m->child_fd = -1;
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
	ret = fork_child(d, err, errlen);
	if (ret)
		metrics_stop(d);
	return ret;
}

static void drop_child_io(struct daemon *d)
{
	struct metrics *m = metrics_of(d);

	if (m->child_fd < 0)
		return;
	if (d->epoll_fd >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, m->child_fd, NULL);
	close(m->child_fd);
	m->child_fd = -1;
	m->want_write = false;
	m->paused = false;
	privsep_reader_free(&m->reader);
	privsep_writer_free(&m->writer);
}

void metrics_stop(struct daemon *d)
{
	struct metrics *m = metrics_of(d);

	if (!m)
		return;
	drop_child_io(d);
	if (m->child_pid > 0) {
		kill(m->child_pid, SIGTERM);
		waitpid(m->child_pid, NULL, 0);
	}
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
	return d->metrics && fd >= 0 && fd == d->metrics->child_fd;
}

static void child_failed(struct daemon *d, int err)
{
	struct metrics *m = metrics_of(d);

	if (err != -EPIPE)
		log_err("metrics: the child's channel failed (%s): restarting it", strerror(-err));
	if (m->child_pid > 0)
		kill(m->child_pid, SIGTERM);
	drop_child_io(d);
	if (!m->restart_at)
		m->restart_at = (int64_t)time(NULL) + METRICS_RESTART_DELAY;
}

/* The text in pieces, then its end: queued, sent as the socket takes it. */
static int send_text(struct metrics *m, uint32_t req_id)
{
	struct privsep_msg msg = { .type = PRIVSEP_METRICS_PART };
	char piece[PRIVSEP_FIELD_MAX + 1];
	int ret = 0;

	privsep_cork(&m->writer);
	msg.metrics.req_id = req_id;
	msg.metrics.text = piece;
	for (size_t off = 0; !ret && off < m->text.len; off += PRIVSEP_FIELD_MAX) {
		size_t n = m->text.len - off < PRIVSEP_FIELD_MAX ? m->text.len - off
								 : PRIVSEP_FIELD_MAX;

		memcpy(piece, m->text.buf + off, n);
		piece[n] = '\0';
		ret = privsep_send(&m->writer, &msg);
	}
	if (!ret) {
		msg.type = PRIVSEP_METRICS_END;
		msg.metrics.length = m->text.len;
		ret = privsep_send(&m->writer, &msg);
	}
	if (!ret || ret == -EAGAIN)
		ret = privsep_flush(&m->writer);
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

	if (!m || m->child_fd < 0)
		return;
	ret = privsep_flush(&m->writer);
	if (ret && ret != -EAGAIN) {
		child_failed(d, ret);
		return;
	}
	/* A few messages a wakeup (the child sends one METRICS at a time); the rest next round. */
	m->paused = false;
	while (n++ < METRICS_READ_BATCH && (ret = privsep_receive(&m->reader, &msg)) == 1) {
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
	m->paused = ret == 1;
	watch_child(d, privsep_queued(&m->writer) > 0);
}

bool metrics_pending(const struct daemon *d)
{
	return d->metrics && d->metrics->paused && d->metrics->child_fd >= 0;
}

bool metrics_reaped(struct daemon *d, pid_t pid, int status)
{
	struct metrics *m = metrics_of(d);
	bool setup;

	if (!m || pid != m->child_pid)
		return false;
	setup = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_SETUP;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_err("metrics child (pid %d) killed by SIGSYS: a seccomp violation: restarting it",
			(int)pid);
	else if (WIFSIGNALED(status))
		log_err("metrics child (pid %d) killed by signal %d: restarting it", (int)pid,
			WTERMSIG(status));
	else
		log_err("metrics child (pid %d) exited with status %d: restarting it in %ds",
			(int)pid, WEXITSTATUS(status),
			setup ? METRICS_SETUP_DELAY : METRICS_RESTART_DELAY);
	m->child_pid = 0;
	drop_child_io(d);
	if (!m->restart_at)
		m->restart_at = (int64_t)time(NULL) +
				(setup ? METRICS_SETUP_DELAY : METRICS_RESTART_DELAY);
	return true;
}

void metrics_periodic(struct daemon *d, int64_t now)
{
	struct metrics *m = metrics_of(d);
	char err[256];

	if (!m)
		return;
	if (m->restart_at && now >= m->restart_at && m->child_pid <= 0) {
		m->restart_at = 0;
		if (fork_child(d, err, sizeof(err))) {
			log_err("%s", err);
			m->restart_at = now + METRICS_RESTART_DELAY;
		}
	}
}
