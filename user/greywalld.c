// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywalld: loads and attaches the data path, keeps the tables (store,
 * files, maps) and answers greywallctl. Enforcement stays attached when it
 * exits; `greywalld --detach` or `greywallctl detach` removes it.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/commands_access.h"
#include "daemon/commands_spamd.h"
#include "daemon/daemon.h"
#include "tables/dump.h"
#include "lib/log.h"
#include "daemon/notify.h"
#include "datapath/overload.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"
#include "spamd/tarpit_child.h"
#include "datapath/sweeper.h"
#include "tables/tablefile.h"

/* No permissions for others, no write for the group (greywalld(8), FILES). */
#define GREYWALLD_UMASK 0027

/* The overload event ring, read by the event loop; NULL ring before it runs. */
static struct overload overload;

static void usage(void)
{
	fprintf(stderr, "usage: greywalld [-dnv] [-f file] [--detach]\n");
	exit(CTL_EXIT_USAGE);
}

static int mkdir_parents(const char *path, mode_t mode, bool include_last)
{
	char buf[PATH_MAX];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	if (!include_last) {
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return 0;
		*slash = '\0';
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Rules the parser accepts but the data path cannot enforce as written:
 * queues find a connection's replies by its flow, and only `keep state`
 * rules have flows.
 */
static int check_supported(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct config_rule *r = &cfg->rules[i];

		if (r->rule.queue && !(r->rule.flags & GW_RULE_KEEP_STATE)) {
			snprintf(err, errlen, "%s:%d: \"set queue\" needs \"keep state\"",
				 cfg->path ? cfg->path : "config", r->line);
			return -ENOTSUP;
		}
	}
	return 0;
}

struct restore_ctx {
	struct daemon *d;
	size_t restored, unknown, refused;
};

static int restore_entry(void *ctx, const char *table, const struct addr_prefix *p,
			 const struct entry_meta *m, const struct gw_counters *baseline)
{
	struct restore_ctx *r = ctx;
	int idx = tables_find(&r->d->tables, table), ret;

	if (idx < 0 || (r->d->tables.table[idx].flags & CONFIG_TABLE_ANONYMOUS)) {
		r->unknown++;
		return 0;
	}
	ret = tables_restore(&r->d->tables, idx, p, m, baseline);
	if (ret == -ENOSPC)
		r->refused++;
	else if (ret < 0)
		return ret;
	else
		r->restored += (size_t)ret;
	return 0;
}

struct import_ctx {
	struct daemon *d;
	int idx;
	int64_t evidence;
	int64_t now;
	size_t added, refused;
};

static int import_entry(void *ctx, const struct addr_prefix *p, int line)
{
	struct import_ctx *im = ctx;
	int ret = tables_add(&im->d->tables, im->idx, p, im->evidence, im->now);

	(void)line;
	if (ret == -ENOSPC)
		im->refused++;
	else if (ret < 0)
		return ret;
	else
		im->added += (size_t)ret;
	return 0;
}

/*
 * Fill the tables: first what the store remembers (with its evidence and
 * times), then what the config's files and inline lists add.
 */
static int tables_fill(struct daemon *d, char *err, size_t errlen)
{
	struct restore_ctx r = { .d = d };
	int64_t now = (int64_t)time(NULL);
	int ret;

	ret = store_entries_foreach(d->store, restore_entry, &r);
	if (ret) {
		snprintf(err, errlen, "reading the store: %s", strerror(-ret));
		return ret;
	}
	if (r.unknown)
		log_warn("store: %zu entries of tables no longer in the config were left out",
			 r.unknown);
	for (size_t i = 0; i < d->cfg.ntables; i++) {
		const struct config_table *ct = &d->cfg.tables[i];
		struct import_ctx im = { .d = d, .idx = (int)i, .now = now };
		char detail[PATH_MAX + 64];

		for (size_t f = 0; f < ct->nfiles; f++) {
			char ferr[512];

			snprintf(detail, sizeof(detail), "%s (table file)", ct->files[f]);
			im.evidence = tables_evidence(&d->tables, "import", detail, now);
			ret = tablefile_read(ct->files[f], import_entry, &im, ferr, sizeof(ferr));
			if (ret == -ENOENT) {
				/* A table file is created on the first save. */
				continue;
			}
			if (ret) {
				snprintf(err, errlen, "table <%s>: %s", ct->name,
					 ret == -EINVAL ? ferr : strerror(-ret));
				/* Nothing of a config that does not start stays in the store. */
				tables_rollback(&d->tables);
				return ret;
			}
		}
		if (ct->nentries) {
			snprintf(detail, sizeof(detail), "%s line %d",
				 d->cfg.path ? d->cfg.path : "config", ct->line);
			im.evidence = tables_evidence(&d->tables, "config", detail, now);
			for (size_t e = 0; e < ct->nentries; e++) {
				ret = import_entry(&im, &ct->entries[e], ct->line);
				if (ret)
					break;
			}
		}
		if (im.refused)
			log_warn("table <%s>: full, %zu entries from its files refused", ct->name,
				 im.refused);
	}
	ret = tables_commit(&d->tables);
	if (ret && ret != -ENOSPC) {
		snprintf(err, errlen, "tables: %s", strerror(-ret));
		return ret;
	}
	log_info("tables: %zu entries restored from the store", r.restored);
	return 0;
}

/* Build tables from config, store and files, and bring the maps in line. */
static int tables_start(struct daemon *d, char *err, size_t errlen)
{
	struct tables_maps maps = {
		d->dp.hosts, d->dp.prefix4, d->dp.prefix6,
		{ d->dp.index4, d->dp.classes, d->dp.index6, d->dp.config },
	};
	int ret = tables_init(&d->tables, &d->cfg, d->store, &maps);

	if (ret) {
		snprintf(err, errlen, "tables: %s", strerror(-ret));
		return ret;
	}
	ret = tables_fill(d, err, errlen);
	if (!ret) {
		ret = tables_sync_maps(&d->tables);
		if (ret && ret != -ENOSPC)
			snprintf(err, errlen, "writing the tables to the data path: %s",
				 strerror(-ret));
		else
			ret = 0;
	}
	if (!ret) {
		ret = datapath_set_rules(&d->dp, &d->cfg);
		if (ret)
			snprintf(err, errlen, "writing the rules to the data path: %s",
				 strerror(-ret));
	}
	return ret;
}

/* The config's queues on every interface, measured from now on. */
static int queues_start(struct daemon *d, char *err, size_t errlen)
{
	const char *ifname = NULL;
	int ret = queues_attach(&d->cfg, &ifname);

	if (ret)
		snprintf(err, errlen, "queues on %s: %s", ifname, strerror(-ret));
	else if ((ret = queues_init(&d->queues, &d->cfg)))
		snprintf(err, errlen, "queues: %s", strerror(-ret));
	return ret;
}

/*
 * Build tables, rules, queues and the tarpit's settings from d->cfg: what
 * start-up does after the data path is attached. The store holds every
 * entry with its evidence, so the tables are rebuilt from it; the maps
 * keep their counters.
 */
static int config_apply(struct daemon *d, char *err, size_t errlen)
{
	int ret = tables_start(d, err, errlen);

	if (!ret)
		ret = queues_start(d, err, errlen);
	if (!ret)
		ret = spamd_reload(d, err, errlen);
	return ret;
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	int rule_map[GW_MAX_RULES];
	struct config next, old;
	char why[512];
	bool moved;
	int ret;

	notify_systemd("RELOADING=1");
	ret = config_load_file(d->config_path, &next, err, errlen);
	if (!ret)
		ret = check_supported(&next, err, errlen);
	if (!ret && (strcmp(next.bpf_dir, d->cfg.bpf_dir) ||
		     next.ninterfaces != d->cfg.ninterfaces ||
		     memcmp(next.interfaces, d->cfg.interfaces, sizeof(next.interfaces)))) {
		snprintf(err, errlen, "interfaces and bpf-dir change only with a restart");
		ret = -EINVAL;
	}
	if (!ret && spamd_child_listen_changed(d, &next)) {
		snprintf(err, errlen, "spamd listen addresses change only with a restart");
		ret = -EINVAL;
	}
	/*
	 * The new tables are rebuilt from the store: entries it has not saved
	 * would leave the tables and the maps with the old ones.
	 */
	if (!ret && tables_store_retry(&d->tables)) {
		ret = d->tables.store_err;
		snprintf(err, errlen, "%s: %s: the store has not saved every entry yet; reload"
			 " once it has caught up (greywallctl status)", store_path(d->store),
			 strerror(-ret));
	}
	if (ret) {
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "running config kept: %s", why);
		config_free(&next);
		notify_systemd("READY=1");
		return ret;
	}
	for (size_t i = 0; i < next.nwarnings; i++)
		log_warn("%s", next.warnings[i]);
	/*
	 * The socket follows a changed control-group now; should that fail,
	 * each command is still judged by the new group alone.
	 */
	if ((next.control_group != NULL) != (d->cfg.control_group != NULL) ||
	    next.control_gid != d->cfg.control_gid) {
		int gret = control_set_group(d->cfg.control_socket, next.control_gid,
					     next.control_group != NULL);

		if (gret)
			log_err("reload: control socket %s: setting its group: %s",
				d->cfg.control_socket, strerror(-gret));
	}
	/* Events waiting in the ring name rules by their index under the old config. */
	if (overload.ring)
		overload_poll(&overload);
	moved = sweeper_rule_map(&d->cfg, &next, rule_map);
	tables_save_files(&d->tables, false);
	tables_free(&d->tables);
	old = d->cfg;
	d->cfg = next;
	ret = config_apply(d, err, errlen);
	if (ret) {
		int back;

		/*
		 * What failed (a table file, a queue, a listener) is known only
		 * once the new config is being applied: go back to the old one
		 * the same way, so that what the message says is what runs.
		 */
		snprintf(why, sizeof(why), "%s", err);
		tables_free(&d->tables);
		config_free(&d->cfg);
		d->cfg = old;
		back = config_apply(d, err, errlen);
		if (back) {
			char back_why[512];

			snprintf(back_why, sizeof(back_why), "%s", err);
			snprintf(err, errlen,
				 "%s; going back to the running config failed too (%s): its rules"
				 " and tables are in place as far as they were rebuilt, fix the cause"
				 " and reload",
				 why, back_why);
		} else {
			snprintf(err, errlen, "running config kept: %s", why);
		}
		notify_systemd("READY=1");
		return ret;
	}
	/* Connection counts follow their rules to the new indices. */
	if (moved) {
		int mret = sweeper_remap_rules(d->dp.flows, d->dp.src_track, d->dp.src_halfopen,
					       rule_map, old.nrules);

		if (mret)
			log_err("reload: moving connection tracking to the new rules: %s",
				strerror(-mret));
	}
	config_free(&old);
	notify_systemd("READY=1");
	log_info("configuration reloaded from %s", d->config_path);
	return 0;
}

static int64_t evidence_lookup(struct daemon *d, int64_t id, struct evidence *ev,
			       int64_t *cached_id)
{
	if (id == *cached_id)
		return 0;
	memset(ev, 0, sizeof(*ev));
	*cached_id = id;
	if (id && d->store)
		return store_evidence_get(d->store, id, ev);
	return 0;
}

int daemon_dump(struct daemon *d, int64_t now, FILE *report)
{
	size_t ntables = 0;
	int ret;

	ret = dump_make_directory(d->cfg.dump_dir);
	if (ret) {
		log_err("dump-dir %s: %s", d->cfg.dump_dir, strerror(-ret));
		if (report)
			fprintf(report, "dump-dir %s: %s\n", d->cfg.dump_dir, strerror(-ret));
		return ret;
	}
	tables_update_last_seen(&d->tables, now);
	for (size_t i = 0; i < d->tables.ntables; i++) {
		const struct table *tb = &d->tables.table[i];
		struct dump_entry *entries;
		struct addr_prefix *list;
		struct evidence ev = { 0 };
		int64_t cached = -1;
		long n;

		if (tb->flags & CONFIG_TABLE_ANONYMOUS)
			continue;
		n = tables_sorted_entries(&d->tables, (int)i, &list);
		if (n < 0)
			return (int)n;
		entries = calloc(n ? (size_t)n : 1, sizeof(*entries));
		if (!entries) {
			free(list);
			return -ENOMEM;
		}
		for (long e = 0; e < n; e++) {
			const struct entry_meta *m = addrmap_get(&tb->entries, &list[e]);

			entries[e].prefix = list[e];
			entries[e].meta = *m;
			if (tb->flags & CONFIG_TABLE_COUNTERS)
				tables_counters(&d->tables, (int)i, &list[e], &entries[e].counters);
			evidence_lookup(d, m->evidence_id, &ev, &cached);
			entries[e].evidence = ev;
		}
		ret = dump_write_table(d->cfg.dump_dir, tb->name, d->cfg.contact, now, entries,
				       (size_t)n);
		free(entries);
		free(list);
		if (ret) {
			log_err("dump <%s> to %s: %s", tb->name, d->cfg.dump_dir, strerror(-ret));
			if (report)
				fprintf(report, "dump <%s>: %s\n", tb->name, strerror(-ret));
			return ret;
		}
		ntables++;
	}
	ret = tables_save_files(&d->tables, false);
	if (ret)
		log_err("saving table files: %s", strerror(-ret));
	if (report)
		fprintf(report, "%zu tables dumped to %s.\n", ntables, d->cfg.dump_dir);
	return 0;
}

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
	/* The tarpit's verbs first; every other verb is the tables' and the data path's. */
	if (!status)
		status = commands_spamd_run(d, &req);
	if (status < 0)
		status = commands_run(d, &req);
	control_finish(sock, &req, status);
	close(sock);
}

/* Once a second: pending overload events, then flow and source timeouts. */
static void sweep(struct daemon *d)
{
	struct sweeper_result res;
	uint64_t now;
	int ret;

	ret = overload_periodic(&overload);
	if (ret < 0)
		log_err("overload events: %s", strerror(-ret));
	now = sweeper_clock_ns(d->dp.config);
	ret = sweeper_flow_tick(d->dp.flow_conf, now);
	if (ret)
		log_err("flow clock tick: %s", strerror(-ret));
	ret = sweeper_run(d->dp.flows, d->dp.src_track, d->dp.src_halfopen, &d->cfg, now, &res);
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

	long expired = tables_expire_due(&d->tables, now);

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
	spamd_periodic(d, now);
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
		if (!spamd_lists_reaped(d, pid, status))
			spamd_child_reaped(d, pid, status);
}

static int event_loop(struct daemon *d, int listen_fd)
{
	struct itimerspec tick = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int ep, sfd, tfd, ret;

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
	ret = overload_open(&overload, d);
	if (ret) {
		log_err("overload event ring: %s", strerror(-ret));
		return ret;
	}
	ev.data.fd = overload_fd(&overload);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (d->spamd) {
		char err[512];

		ret = spamd_start(d, err, sizeof(err));

		if (ret) {
			log_err("%s", err);
			return ret;
		}
	}

	while (!d->stop) {
		struct epoll_event events[8];
		/* Queued RCPTs are stored a batch per round, after what is ready is served. */
		int n;

		log_flush();
		n = epoll_wait(ep, events, 8, spamd_child_pending(d) ? 0 : -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !d->stop; i++) {
			int fd = events[i].data.fd;

			if (fd == listen_fd) {
				handle_client(d, listen_fd);
			} else if (fd == overload_fd(&overload)) {
				ret = overload_poll(&overload);
				if (ret < 0)
					log_err("overload events: %s", strerror(-ret));
			} else if (d->spamd && (fd == d->spamd->child_fd || fd == d->spamd->class_fd)) {
				spamd_child_read(d);
			} else if (d->spamd && fd == d->spamd->load.fd) {
				spamd_lists_read(d);
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
	}
	overload_close(&overload);
	d->epoll_fd = -1;
	close(ep);
	close(sfd);
	close(tfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .config_path = CONFIG_DEFAULT_PATH, .epoll_fd = -1 };
	bool foreground = false, check_only = false, verbose = false, detach = false;
	char errbuf[1024], path[PATH_MAX];
	int opt, ret, listen_fd;

	/* The tarpit child, exec'd by spamd_child.c: nothing of the daemon's start-up runs. */
	if (argc > 1 && !strcmp(argv[1], TARPIT_CHILD_OPTION))
		_exit(tarpit_child_main(argc, argv));
	/*
	 * Whatever umask greywalld was started with: what it creates (the
	 * store, the state-dir, pinned maps, the files of fetch commands) is
	 * no one else's to read or write. Files meant for others, the dumps,
	 * get their mode set explicitly.
	 */
	umask(GREYWALLD_UMASK);
	while ((opt = getopt_long(argc, argv, "dnvf:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'f':
			d.config_path = optarg;
			break;
		case 'D':
			detach = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("greywalld", foreground || check_only || detach, verbose);
	log_route_libbpf();

	if (config_load_file(d.config_path, &d.cfg, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);
	for (size_t i = 0; i < d.cfg.nwarnings; i++)
		fprintf(stderr, "greywalld: %s\n", d.cfg.warnings[i]);
	if (check_supported(&d.cfg, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);
	if (check_only) {
		printf("%s: configuration OK\n", d.config_path);
		return 0;
	}
	if (detach) {
		const char *ifname = NULL;

		if (datapath_detach(&d.cfg, errbuf, sizeof(errbuf)))
			errx(1, "detach: %s", errbuf);
		ret = queues_detach(&d.cfg, &ifname);
		if (ret)
			errx(1, "detach: queues on %s: %s", ifname, strerror(-ret));
		printf("greywall detached from %zu interface(s); maps in %s removed\n",
		       d.cfg.ninterfaces, d.cfg.bpf_dir);
		return 0;
	}
	if (!d.cfg.ninterfaces)
		errx(1, "%s: no `set interface` line: nothing to attach to", d.config_path);

	ret = mkdir_parents(d.cfg.state_dir, 0750, true);
	if (ret)
		errx(1, "state-dir \"%s\": %s", d.cfg.state_dir, strerror(-ret));
	snprintf(path, sizeof(path), "%s/greywall.db", d.cfg.state_dir);
	ret = store_open(path, &d.store);
	if (ret)
		errx(1, "store \"%s\": %s", path, strerror(-ret));
	if (datapath_attach(&d.dp, &d.cfg, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);
	if (d.dp.stale_maps[0])
		log_warn("maps of an older layout made anew (an upgrade): %s; the programs are "
			 "replaced once the tables are refilled from the store; tracked connections "
			 "and counters start over",
			 d.dp.stale_maps);
	if (tables_start(&d, errbuf, sizeof(errbuf)) ||
	    datapath_attach_deferred(&d.dp, &d.cfg, errbuf, sizeof(errbuf)) ||
	    queues_start(&d, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);
	d.started = (int64_t)time(NULL);
	if (spamd_open(&d, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);

	ret = mkdir_parents(d.cfg.control_socket, 0755, false);
	listen_fd = ret ? ret
			: control_listen(d.cfg.control_socket, d.cfg.control_gid,
					 d.cfg.control_group != NULL);
	if (listen_fd < 0)
		errx(1, "control socket \"%s\": %s", d.cfg.control_socket, strerror(-listen_fd));

	d.started = (int64_t)time(NULL);
	d.next_minute = d.started + 60;
	d.next_dump = d.started + d.cfg.dump_interval;
	if (!foreground && daemon(0, 0))
		err(1, "daemon");
	log_info("started: %zu tables, %zu rules, %zu interface(s)", d.tables.ntables,
		 d.cfg.nrules, d.cfg.ninterfaces);
	notify_systemd("READY=1");

	ret = event_loop(&d, listen_fd);
	notify_systemd("STOPPING=1");
	spamd_close(&d);
	if (tables_store_retry(&d.tables)) {
		struct tables_unsaved_count c;

		tables_unsaved(&d.tables, &c);
		log_err("store %s: %s: exiting with %zu entries enforced but not saved: the next"
			" start rebuilds the maps from the store without them",
			store_path(d.store), strerror(-d.tables.store_err), c.entries);
	}
	tables_save_files(&d.tables, false);
	close(listen_fd);
	unlink(d.cfg.control_socket);
	tables_free(&d.tables);
	queues_free(&d.queues);
	datapath_close(&d.dp);
	store_close(d.store);
	config_free(&d.cfg);
	if (ret)
		log_err("event loop: %s", strerror(-ret));
	return ret ? 1 : 0;
}
