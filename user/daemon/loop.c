// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywalld's event loop: the control socket, signals, the overload ring,
 * the tarpit and policy children and the list loader on one epoll, and the work done
 * once a second. Nothing here ends the process on a per-event error.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/commands.h"
#include "daemon/commands_access.h"
#include "daemon/commands_exchange.h"
#include "daemon/commands_location.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "datapath/sweeper.h"
#include "exchange/exchange.h"
#include "crowdsec/crowdsec.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"
#include "sync/sync.h"
#include "watch/watch.h"

static void handle_client(struct daemon *d, int listen_fd)
{
	struct timeval timeout = { .tv_sec = 5 };
	struct control_request req;
	struct control_peer peer;
	bool has_group = d->cfg.control_group != NULL;
	int sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), status, ret;

	if (sock < 0)
		return;
	/* A client that stops talking must not hold the daemon. */
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	/* Unknown credentials are nobody's: uid -1 is refused everything. */
	ret = control_peer_get(sock, d->cfg.control_gid, has_group, &peer);
	if (ret)
		log_warn("control socket: peer credentials: %s", strerror(-ret));
	d->peer_uid = peer.uid;
	if (control_read_request(sock, &req)) {
		close(sock);
		return;
	}
	status = commands_authorize(&peer, has_group, &req);
	if (status)
		log_warn("control socket: a command of uid %d (pid %d) refused: %s",
			 (int)peer.uid, (int)peer.pid,
			 peer.in_group ? "it needs root" : "not in the control group");
	if (!status)
		status = commands_run(d, &req);
	/* The command took the request and its connection; it answers later. */
	if (status == CONTROL_DEFERRED)
		return;
	control_finish(sock, &req, status);
	close(sock);
}

/* Once a second: pending overload events, then flow and source timeouts. */
static void sweep(struct daemon *d)
{
	struct sweeper_result res;
	bool idle;
	uint64_t now;
	int ret;

	ret = overload_periodic(&d->overload);
	if (ret < 0)
		log_err("overload events: %s", strerror(-ret));
	now = sweeper_clock_ns(d->dp.config);
	ret = sweeper_flow_tick(d->dp.flow_conf, now);
	if (ret)
		log_err("flow clock tick: %s", strerror(-ret));
	ret = sweeper_run_watched(&d->sweep_watch, d->dp.stats, d->dp.flows, d->dp.src_track,
				  d->dp.src_halfopen, &d->cfg, now, &res, &idle);
	if (ret)
		log_err("flow sweep: %s", strerror(-ret));
	if (res.flows_expired || res.sources_deleted)
		log_debug("flow sweep: %zu/%zu flows expired (%zu slots given back), "
			  "%zu/%zu sources deleted",
			  res.flows_expired, res.flows, res.slots_released, res.sources_deleted,
			  res.sources);
}

/*
 * Once a second while the store lags behind the tables (a full disk): write
 * what it missed again, and log when that starts and when it is over.
 */
static void store_catch_up(struct daemon *d)
{
	int err = tables_store_retry(&d->tables);
	struct tables_unsaved_count c;

	if (err && err != d->store_err_logged) {
		tables_unsaved(&d->tables, &c);
		log_err("store %s: %s: %zu entries enforced but not saved, %zu removals not saved;"
			" retried every second", store_path(d->store), strerror(-err), c.entries,
			c.removals);
	} else if (!err && d->store_err_logged) {
		log_info("store %s: caught up, every entry saved", store_path(d->store));
	}
	if (d->tables.unsaved_dropped) {
		log_err("store %s: %" PRIu64 " removals beyond the bound not kept: those entries"
			" come back from the store at the next start", store_path(d->store),
			d->tables.unsaved_dropped);
		d->tables.unsaved_dropped = 0;
	}
	d->store_err_logged = err;
}

static void periodic(struct daemon *d, int64_t now)
{
	struct timespec mono;
	int ret;

	long expired = tables_expire_due(&d->tables, now) + network_deadlines_expire(d, now);

	if (expired > 0) {
		log_info("expired %ld table entries", expired);
		tables_commit(&d->tables);
	}
	if (now >= d->next_minute) {
		tables_update_last_seen(&d->tables, now);
		tables_save_files(&d->tables, false);
		d->next_minute = now + 60;
	}
	if (now >= d->next_dump) {
		daemon_dump(d, now, NULL);
		d->next_dump = now + d->cfg.dump_interval;
	}
	store_catch_up(d);
	ret = store_checkpoint(d->store, NULL, NULL);
	if (ret && ret != d->store_ckpt_err_logged)
		log_warn("store %s: checkpoint: %s", store_path(d->store), strerror(-ret));
	d->store_ckpt_err_logged = ret;
	spamd_periodic(d, now);
	sync_periodic(d, now);
	watch_periodic(d, now);
	exchange_daemon_periodic(d, now);
	crowdsec_periodic(d, now);
	policy_periodic(d, now);
	metrics_periodic(d, now);
	sweep(d);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ret = queues_sample(&d->queues, &d->cfg, mono.tv_sec * 1000000000ll + mono.tv_nsec);
	if (ret)
		log_debug("queue counters: %s", strerror(-ret));
}

/* SIGCHLD: reap every child that ended (the tarpit, the list loader). */
static void reap_children(struct daemon *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (!spamd_lists_reaped(d, pid, status) && !crowdsec_reaped(d, pid, status) &&
		    !policy_reaped(d, pid, status) && !metrics_reaped(d, pid, status))
			spamd_child_reaped(d, pid, status);
}

int daemon_run(struct daemon *d)
{
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	int listen_fd = d->control_fd;
	sigset_t mask;
	int ep, sfd, tfd, ret;

	log_info("started: %zu tables, %zu rules, %zu interface(s)", d->tables.ntables,
		 d->cfg.nrules, d->cfg.ninterfaces);
	notify_systemd("READY=1");

	/* Lines gather for the round: log_flush() before each epoll_wait(). */
	log_buffer_lines();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &tick, NULL))
		return -errno;
	ev.data.fd = listen_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	d->epoll_fd = ep;
	ret = overload_open(&d->overload, d);
	if (ret) {
		log_err("overload event ring: %s", strerror(-ret));
		return ret;
	}
	ev.data.fd = overload_fd(&d->overload);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (d->spamd) {
		char err[512];

		ret = spamd_start(d, err, sizeof(err));

		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}
	if (d->cfg.policy) {
		char err[512];

		/* After spamd's: its greylist decides. */
		ret = policy_start(d, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}
	if (d->cfg.metrics) {
		char err[512];

		ret = metrics_start(d, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}
	if (d->spamd) {
		char err[512];

		/* After spamd's, whose greylist applies what the peers send. */
		ret = sync_start(d, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}
	{
		char err[512];

		/* After spamd's: the trap names start from its spamtraps. */
		ret = watch_start(d, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}

	if (d->cfg.crowdsec) {
		char err[512];

		/* After the watchers': their additions may be pushed from the start. */
		ret = crowdsec_start(d, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}

	/* The exchange's reader thread says through it that a read is done. */
	if (d->exchange) {
		ev.data.fd = d->exchange->done_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}

	while (!d->stop) {
		struct epoll_event events[8];
		/* Queued RCPTs are stored a batch per round, after what is ready is served. */
		int n;

		log_flush();
		n = epoll_wait(ep, events, 8,
			       spamd_child_pending(d) || watch_pending(d) || crowdsec_pending(d) ||
					   policy_pending(d) || metrics_pending(d)
				   ? 0
				   : -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !d->stop; i++) {
			int fd = events[i].data.fd;

			if (fd == listen_fd) {
				handle_client(d, listen_fd);
			} else if (fd == overload_fd(&d->overload)) {
				ret = overload_poll(&d->overload);
				if (ret < 0)
					log_err("overload events: %s", strerror(-ret));
			} else if (d->spamd &&
				   (fd == d->spamd->child_fd || fd == d->spamd->class_fd)) {
				spamd_child_read(d);
			} else if (policy_owns_fd(d, fd)) {
				policy_read(d);
			} else if (metrics_owns_fd(d, fd)) {
				metrics_io(d);
			} else if (d->spamd && fd == d->spamd->load.fd) {
				spamd_lists_read(d);
			} else if (sync_owns_fd(d, fd)) {
				sync_read(d, fd);
			} else if (d->exchange && fd == d->exchange->done_fd) {
				exchange_daemon_event(d);
			} else if (exchange_daemon_owns_fd(d, fd)) {
				exchange_daemon_client_event(d, fd);
			} else if (watch_owns_fd(d, fd)) {
				watch_event(d, fd);
			} else if (fd == crowdsec_fd(d)) {
				crowdsec_read(d);
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD) {
					reap_children(d);
				} else if (si.ssi_signo == SIGHUP) {
					char err[512];

					if (daemon_reload(d, err, sizeof(err)))
						log_err("reload failed, %s", err);
				} else {
					log_info("signal %u: exiting, enforcement stays attached",
						 si.ssi_signo);
					d->stop = true;
				}
			} else if (fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
					periodic(d, (int64_t)time(NULL));
			}
		}
		spamd_child_work(d);
		watch_work(d);
		if (crowdsec_pending(d))
			crowdsec_read(d);
		if (policy_pending(d))
			policy_read(d);
		if (metrics_pending(d))
			metrics_io(d);
	}
	overload_close(&d->overload);
	d->epoll_fd = -1;
	close(ep);
	close(sfd);
	close(tfd);
	return 0;
}
