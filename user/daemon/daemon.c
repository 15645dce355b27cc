// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywalld's lifecycle: load and check the config, start (store, data
 * path, tables, queues, tarpit, control socket), reload, dump, detach and
 * close. The event loop that drives it between start and close is in
 * loop.c; greywalld.c only parses options and calls these in order.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/commands_exchange.h"
#include "daemon/commands_location.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "datapath/sweeper.h"
#include "lib/location.h"
#include "lib/log.h"
#include "spamd/spamd.h"
#include "sync/sync.h"
#include "crowdsec/crowdsec.h"
#include "watch/watch.h"
#include "metrics/metrics.h"
#include "policy/policy.h"
#include "spamd/spamd_child.h"
#include "tables/dump.h"
#include "tables/dump_location.h"
#include "report/report.h"
#include "tables/tablefile.h"

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

/*
 * Count what putting one entry into a table did (1 added, 0 there already,
 * -ENOSPC refused: the table is full). Any other error stops the filling.
 */
static int count_entry(int ret, size_t *added, size_t *refused)
{
	if (ret == -ENOSPC)
		(*refused)++;
	else if (ret < 0)
		return ret;
	else
		*added += (size_t)ret;
	return 0;
}

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
	return count_entry(ret, &r->restored, &r->refused);
}

struct import_ctx {
	struct daemon *d;
	int idx;
	int64_t evidence;
	int64_t now;
	size_t added, refused;
	bool table_file;	/* the table's own file, written back from it */
};

static int import_entry(void *ctx, const struct addr_prefix *p, int line)
{
	struct import_ctx *im = ctx;
	int ret;

	(void)line;
	/*
	 * A table file mirrors the table: what it holds that the table has
	 * already is no new reason, and must not make an entry only a peer
	 * gave a local one (tables_add() would), or no peer could remove it.
	 */
	if (im->table_file && tables_entry(&im->d->tables, im->idx, p))
		return 0;
	ret = tables_add(&im->d->tables, im->idx, p, im->evidence, im->now);
	return count_entry(ret, &im->added, &im->refused);
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
			im.table_file = true;
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
			im.table_file = false;
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
		d->dp.hosts, d->dp.prefix4, d->dp.prefix6, d->dp.counters, d->dp.counters_spill,
		{ d->dp.index4, d->dp.classes, d->dp.index6, d->dp.config, d->dp.nets4,
		  d->dp.nets6, d->dp.index6_slots },
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
 * (Re)open `set location-db`, at start and at each reload (so a database
 * updated in place of the old one, by rename, is read). A missing or broken
 * file is said once, here; the dumps go on without places.
 */
static void location_reload(struct daemon *d)
{
	char why[128];
	int ret;

	location_close(d->location);
	d->location = NULL;
	if (!d->cfg.location_db)
		return;
	ret = location_open(d->cfg.location_db, &d->location, why, sizeof(why));
	if (ret)
		log_err("location-db %s: %s%s%s: the dumps go on without countries and networks",
			d->cfg.location_db, strerror(-ret), why[0] ? ", " : "", why);
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

	location_reload(d);
	if (!ret)
		ret = queues_start(d, err, errlen);
	if (!ret)
		ret = spamd_reload(d, err, errlen);
	if (!ret)
		ret = watch_reload(d, err, errlen);
	if (!ret)
		ret = exchange_daemon_reload(d, err, errlen);
	/* In the loop only: crowdsec_start() starts the client there. */
	if (!ret && d->epoll_fd >= 0 && (d->crowdsec || d->cfg.crowdsec))
		ret = crowdsec_reload(d, err, errlen);
	/* In the loop only, as at start: policy_start() runs there. */
	if (!ret && d->epoll_fd >= 0)
		ret = policy_reload(d, err, errlen);
	if (!ret && d->epoll_fd >= 0)
		ret = metrics_reload(d, err, errlen);
	return ret;
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	int rule_map[GW_MAX_RULES];
	uint64_t added[TABLES_SOURCES];
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
		snprintf(err, errlen, "spamd listen addresses change only with a restart (so does tarpit)");
		ret = -EINVAL;
	}
	if (!ret && metrics_listen_changed(d, &next)) {
		snprintf(err, errlen, "metrics-listen changes only with a restart");
		ret = -EINVAL;
	}
	if (!ret && policy_listen_changed(d, &next)) {
		snprintf(err, errlen, "policy listen sockets change only with a restart");
		ret = -EINVAL;
	}
	if (!ret && sync_config_changed(&d->cfg, &next)) {
		snprintf(err, errlen, "spamd sync changes only with a restart");
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
	if (d->overload.ring)
		overload_poll(&d->overload);
	moved = sweeper_rule_map(&d->cfg, &next, rule_map);
	tables_save_files(&d->tables, false);
	/* The additions' counters are the metrics' and go on across the rebuild. */
	memcpy(added, d->tables.added, sizeof(added));
	tables_free(&d->tables);
	old = d->cfg;
	d->cfg = next;
	ret = config_apply(d, err, errlen);
	for (size_t i = 0; i < TABLES_SOURCES; i++)
		d->tables.added[i] += added[i];
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

/* report.html and report.json from the entries gathered and the store's history. */
static int dump_report(struct daemon *d, struct report *rep, FILE *report)
{
	int ret = d->store ? report_read_store(rep, store_sqlite(d->store)) : 0;

	if (ret)
		log_err("report: reading %s: %s", store_path(d->store), strerror(-ret));
	report_finish(rep);
	if (!ret)
		ret = report_write(rep, d->cfg.dump_dir);
	if (ret) {
		log_err("report.html in %s: %s", d->cfg.dump_dir, strerror(-ret));
		if (report)
			fprintf(report, "report.html: %s\n", strerror(-ret));
	}
	return ret;
}

int daemon_dump(struct daemon *d, int64_t now, FILE *report)
{
	/* The rows the report points at until it is written (one dump at a time). */
	static struct dump_place_row top_countries[REPORT_PLACES_TOP], top_networks[REPORT_PLACES_TOP];
	struct report rep;
	struct dump_places places;
	struct dump_options opts = {
		.contact = d->cfg.contact,
		.location = d->location,
		.gzip = d->cfg.dump_gzip,
	};
	size_t ntables = 0;
	int ret, report_ret;

	ret = dump_make_directory(d->cfg.dump_dir);
	if (ret) {
		log_err("dump-dir %s: %s", d->cfg.dump_dir, strerror(-ret));
		if (report)
			fprintf(report, "dump-dir %s: %s\n", d->cfg.dump_dir, strerror(-ret));
		return ret;
	}
	ret = report_init(&rep, now);
	if (ret)
		return ret;
	/* The report's top countries and networks, from the same lookups as the dumps'. */
	if (d->location && !dump_places_init(&places))
		opts.places = &places;
	tables_update_last_seen(&d->tables, now);
	for (size_t i = 0; i < d->tables.ntables; i++) {
		const struct table *tb = &d->tables.table[i];
		struct dump_entry *entries;
		struct addr_prefix *list;
		struct evidence ev = { 0 };
		int64_t cached = -1;
		int rt;
		long n;

		if (tb->flags & CONFIG_TABLE_ANONYMOUS)
			continue;
		n = tables_sorted_entries(&d->tables, (int)i, &list);
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		entries = calloc(n ? (size_t)n : 1, sizeof(*entries));
		if (!entries) {
			free(list);
			ret = -ENOMEM;
			goto out;
		}
		/* Past REPORT_TABLES_MAX a table is dumped but not charted. */
		rt = report_add_table(&rep, tb->name);
		for (long e = 0; e < n; e++) {
			const struct entry_meta *m = addrmap_get(&tb->entries, &list[e]);

			entries[e].prefix = list[e];
			entries[e].meta = *m;
			if (tb->flags & CONFIG_TABLE_COUNTERS)
				tables_counters(&d->tables, (int)i, &list[e], &entries[e].counters);
			evidence_lookup(d, m->evidence_id, &ev, &cached);
			entries[e].evidence = ev;
			report_entry(&rep, rt, m->added, ev.source);
		}
		ret = dump_write_table(d->cfg.dump_dir, tb->name, &opts, now, entries, (size_t)n);
		free(entries);
		free(list);
		if (ret) {
			log_err("dump <%s> to %s: %s", tb->name, d->cfg.dump_dir, strerror(-ret));
			if (report)
				fprintf(report, "dump <%s>: %s\n", tb->name, strerror(-ret));
			goto out;
		}
		ntables++;
	}
	if (opts.places) {
		ret = dump_places_top(&places, d->location, top_countries, &rep.ncountries,
				      top_networks, &rep.nnetworks, REPORT_PLACES_TOP);
		rep.countries = top_countries;
		rep.networks = top_networks;
		rep.have_places = !ret;
		if (ret)
			log_err("report: the top places: %s", strerror(-ret));
	}
	/* The tarpit's hourly peaks, kept in memory since greywalld started. */
	for (size_t h = 0; d->spamd && h < SPAMD_TARPIT_HOURS; h++)
		if (d->spamd->tarpit_hour_of[h])
			report_tarpit_hour(&rep, d->spamd->tarpit_hour_of[h] * 3600,
					   d->spamd->tarpit_hour_peak[h]);
	report_ret = dump_report(d, &rep, report);
	report_free(&rep);
	if (opts.places)
		dump_places_free(&places);
	ret = watch_dump_attempts(d, d->cfg.dump_dir, d->cfg.dump_gzip, d->location);
	if (ret) {
		log_err("dump of the watchers' attempts to %s: %s", d->cfg.dump_dir,
			strerror(-ret));
		if (report)
			fprintf(report, "watchers' attempts: %s\n", strerror(-ret));
	}
	ret = tables_save_files(&d->tables, false);
	if (ret)
		log_err("saving table files: %s", strerror(-ret));
	if (report)
		fprintf(report, "%zu tables dumped to %s.\n", ntables, d->cfg.dump_dir);
	return report_ret;
out:
	report_free(&rep);
	if (opts.places)
		dump_places_free(&places);
	return ret;
}

int daemon_load_config(struct daemon *d, char *err, size_t errlen)
{
	int ret = config_load_file(d->config_path, &d->cfg, err, errlen);

	if (!ret)
		ret = check_supported(&d->cfg, err, errlen);
	return ret;
}

int daemon_start(struct daemon *d, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	if (!d->cfg.ninterfaces) {
		snprintf(err, errlen, "%s: no `set interface` line: nothing to attach to",
			 d->config_path);
		return -EINVAL;
	}
	ret = mkdir_parents(d->cfg.state_dir, 0750, true);
	if (ret) {
		snprintf(err, errlen, "state-dir \"%s\": %s", d->cfg.state_dir, strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/greywall.db", d->cfg.state_dir);
	ret = store_open(path, &d->store);
	if (ret) {
		snprintf(err, errlen, "store \"%s\": %s", path, strerror(-ret));
		return ret;
	}
	ret = datapath_attach(&d->dp, &d->cfg, err, errlen);
	if (ret)
		return ret;
	if (d->dp.stale_maps[0])
		log_warn("maps of an older layout made anew (an upgrade): %s; the programs are "
			 "replaced once the tables are refilled from the store; tracked connections "
			 "and counters start over",
			 d->dp.stale_maps);
	ret = tables_start(d, err, errlen);
	location_reload(d);
	if (!ret) {
		int dret = network_deadlines_load(d);

		/* Enforcement does not wait for it: what it would expire stays listed. */
		if (dret)
			log_err("%s/network-deadlines: %s: the networks added with --for stay until "
				"deleted",
				d->cfg.state_dir, strerror(-dret));
	}
	if (!ret)
		ret = datapath_attach_deferred(&d->dp, &d->cfg, err, errlen);
	if (!ret)
		ret = queues_start(d, err, errlen);
	if (ret)
		return ret;
	/* The tarpit counts its grace period for the low-priority MX from here. */
	d->started = (int64_t)time(NULL);
	ret = spamd_open(d, err, errlen);
	if (!ret)
		ret = exchange_daemon_reload(d, err, errlen);
	if (ret)
		return ret;

	ret = mkdir_parents(d->cfg.control_socket, 0755, false);
	d->control_fd = ret ? ret
			    : control_listen(d->cfg.control_socket, d->cfg.control_gid,
					     d->cfg.control_group != NULL);
	if (d->control_fd < 0) {
		snprintf(err, errlen, "control socket \"%s\": %s", d->cfg.control_socket,
			 strerror(-d->control_fd));
		return d->control_fd;
	}
	d->started = (int64_t)time(NULL);
	d->next_minute = d->started + 60;
	d->next_dump = d->started + d->cfg.dump_interval;
	return 0;
}

int daemon_detach(const struct config *cfg, char *err, size_t errlen)
{
	const char *ifname = NULL;
	int ret = datapath_detach(cfg, err, errlen);

	if (ret)
		return ret;
	ret = queues_detach(cfg, &ifname);
	if (ret)
		snprintf(err, errlen, "queues on %s: %s", ifname, strerror(-ret));
	return ret;
}

void daemon_close(struct daemon *d)
{
	notify_systemd("STOPPING=1");
	watch_close(d);
	sync_close(d);
	crowdsec_close(d);
	exchange_daemon_close(d);
	metrics_stop(d);
	/* Before the greylist it decides on goes. */
	policy_stop(d);
	spamd_close(d);
	if (tables_store_retry(&d->tables)) {
		struct tables_unsaved_count c;

		tables_unsaved(&d->tables, &c);
		log_err("store %s: %s: exiting with %zu entries enforced but not saved: the next"
			" start rebuilds the maps from the store without them",
			store_path(d->store), strerror(-d->tables.store_err), c.entries);
	}
	tables_save_files(&d->tables, false);
	if (d->control_fd >= 0) {
		close(d->control_fd);
		unlink(d->cfg.control_socket);
	}
	tables_free(&d->tables);
	location_close(d->location);
	free(d->deadlines);
	queues_free(&d->queues);
	datapath_close(&d->dp);
	store_close(d->store);
	config_free(&d->cfg);
}
