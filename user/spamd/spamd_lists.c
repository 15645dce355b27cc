// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The lists' loads, seen from the parent's event loop: see spamd_lists.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spamd/blacklist.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"
#include "spamd/spamd_lists.h"

/* Read at most this much a wakeup, so a big set does not hold the loop. */
#define READ_PER_WAKEUP (1024 * 1024)

/* Forget the running load, if any; stop: the loader, if still there, is told to stop. */
static void load_end(struct daemon *d, bool stop)
{
	struct spamd_lists_load *ld = &d->spamd->load;

	if (ld->fd >= 0) {
		if (d->epoll_fd >= 0)
			epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, ld->fd, NULL);
		close(ld->fd);
		ld->fd = -1;
	}
	/* Its SIGTERM handler kills the command it runs too; the reaper collects it. */
	if (stop && ld->pid > 0)
		kill(ld->pid, SIGTERM);
	blacklist_receiver_free(ld->receiver);
	ld->receiver = NULL;
}

int spamd_lists_start(struct daemon *d, const struct list_def *defs, size_t n,
		      const struct blacklist_options *opts, char *err, size_t errlen)
{
	struct spamd *s = d->spamd;
	struct spamd_lists_load *ld = &s->load;
	int timeout_s = (opts->timeout_ms > 0 ? opts->timeout_ms : BLACKLIST_TIMEOUT_MS) / 1000;
	size_t nsources = 0;
	int ret;

	load_end(d, true);
	ld->pid = 0;
	ret = blacklist_receiver_new(defs, n, opts, &ld->receiver, err, errlen);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "lists: out of memory");
		return ret;
	}
	ret = blacklist_loader_start(defs, n, opts, SPAMD_CHILD_USER, &ld->pid, &ld->fd);
	if (ret) {
		snprintf(err, errlen, "lists: starting the loader: %s", strerror(-ret));
		blacklist_receiver_free(ld->receiver);
		ld->receiver = NULL;
		ld->pid = 0;
		return ret;
	}
	for (size_t i = 0; i < n; i++)
		nsources += defs[i].nsources;
	/* Each source has its timeout; one more for the reading and the sending. */
	ld->deadline = (int64_t)time(NULL) + (int64_t)(nsources + 1) * timeout_s;
	clock_gettime(CLOCK_MONOTONIC, &ld->started);
	if (d->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = ld->fd };

		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, ld->fd, &ev);
	}
	log_info("lists: loading %zu lists in the background (loader pid %d)", n, (int)ld->pid);
	return 0;
}

static void log_lists(const struct blacklist_set *set)
{
	for (size_t i = 0; i < blacklist_set_count(set); i++) {
		const struct list_stats *st = blacklist_set_stats(set, i);
		const char *name = blacklist_set_name(set, i);

		if (st->error[0] && st->kept_previous)
			log_warn("list %s: %s (refused: its last good version stays, %zu networks)",
				 name, st->error, st->cidrs);
		else if (st->error[0])
			log_warn("list %s: %s (the list is empty until it loads)", name, st->error);
		else
			log_info("list %s: %zu entries, %zu bad lines, %zu networks", name,
				 st->entries, st->bad_lines, st->cidrs);
	}
}

/* The tarpit waits for the first set: it serves from now on, with or without lists. */
static void start_tarpit(struct daemon *d)
{
	char err[512];

	if (spamd_child_start(d, err, sizeof(err)))
		log_err("%s", err);
}

/*
 * The load ended, whole (set) or not (NULL, why says what went wrong; the
 * loader is stopped if it still runs).
 */
static void load_done(struct daemon *d, struct blacklist_set *set, const char *why)
{
	struct spamd *s = d->spamd;
	struct timespec now;
	bool first = !s->lists;

	clock_gettime(CLOCK_MONOTONIC, &now);
	load_end(d, !set);
	if (!set && first) {
		log_err("lists: %s; the tarpit starts without lists (reload to try again)", why);
		if (blacklist_set_build(NULL, 0, NULL, &set, NULL, 0))
			return;
	} else if (!set) {
		log_err("lists: %s; the lists in force stay", why);
		return;
	} else {
		log_lists(set);
		log_info("lists: loaded in %.1f s",
			 (double)(now.tv_sec - s->load.started.tv_sec) +
				 (double)(now.tv_nsec - s->load.started.tv_nsec) / 1e9);
	}
	blacklist_set_free(s->lists);
	s->lists = set;
	/* New lists may hold white sources: the next tick's scan takes them out. */
	s->next_scan = 0;
	if (first)
		start_tarpit(d);
}

void spamd_lists_read(struct daemon *d)
{
	struct spamd_lists_load *ld = &d->spamd->load;
	char buf[64 * 1024], err[256] = "";
	size_t total = 0;

	while (ld->fd >= 0 && total < READ_PER_WAKEUP) {
		ssize_t n = read(ld->fd, buf, sizeof(buf));
		struct blacklist_set *set;
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			snprintf(err, sizeof(err), "reading from the loader: %s", strerror(errno));
			load_done(d, NULL, err);
			return;
		}
		if (n == 0) {
			ret = blacklist_receiver_finish(ld->receiver, &set);
			load_done(d, ret ? NULL : set,
				  "the loader ended before it sent every list");
			return;
		}
		total += (size_t)n;
		ret = blacklist_receiver_feed(ld->receiver, buf, (size_t)n, err, sizeof(err));
		if (ret) {
			char why[320];

			snprintf(why, sizeof(why), "the loader sent a bad set (%s)",
				 ret == -ENOMEM ? "out of memory" : err);
			load_done(d, NULL, why);
			return;
		}
	}
}

bool spamd_lists_reaped(struct daemon *d, pid_t pid, int status)
{
	struct spamd_lists_load *ld = d->spamd ? &d->spamd->load : NULL;

	if (!ld || !ld->pid || pid != ld->pid)
		return false;
	ld->pid = 0;
	if (WIFSIGNALED(status))
		log_err("lists: the loader (pid %d) was killed by signal %d", (int)pid,
			WTERMSIG(status));
	else if (WEXITSTATUS(status))
		log_err("lists: the loader (pid %d) exited with status %d", (int)pid,
			WEXITSTATUS(status));
	return true;
}

void spamd_lists_periodic(struct daemon *d, int64_t now)
{
	struct spamd_lists_load *ld = &d->spamd->load;

	if (ld->fd < 0 || now < ld->deadline)
		return;
	load_done(d, NULL, "the loader ran past its deadline and was stopped");
}

void spamd_lists_stop(struct daemon *d)
{
	pid_t pid = d->spamd->load.pid;

	load_end(d, true);
	/* On the way out nobody reaps it later: it ends at once on SIGTERM. */
	if (pid > 0)
		waitpid(pid, NULL, 0);
	d->spamd->load.pid = 0;
}

bool spamd_lists_loading(const struct daemon *d)
{
	return d->spamd && d->spamd->load.fd >= 0;
}
