/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The state greywalld's parts share: config, store, tables, data path. */
#ifndef __GREYWALL_DAEMON_H
#define __GREYWALL_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "daemon/ctl_exit.h"
#include "daemon/control.h"
#include "datapath/datapath.h"
#include "datapath/overload.h"
#include "datapath/queues.h"
#include "datapath/sweeper.h"
#include "store/store.h"
#include "tables/tables.h"

/* The Makefile passes it, from the file VERSION (the package's version too). */
#ifndef GREYWALL_VERSION
#error "GREYWALL_VERSION is not defined: build with the Makefile (-DGREYWALL_VERSION=...)"
#endif

struct spamd;
struct sync;
struct watch_set;
struct exchange;
struct crowdsec;
struct policy;
struct metrics;
struct location;

struct daemon {
	struct config cfg;
	const char *config_path;
	struct store *store;
	struct tables tables;
	struct datapath dp;
	struct spamd *spamd;	/* NULL without a spamd block */
	struct sync *sync;	/* NULL without a sync block in it (sync/sync.h) */
	struct watch_set *watch; /* NULL without watch blocks */
	struct exchange *exchange; /* the table exchange's peers; NULL before the first config */
	struct crowdsec *crowdsec; /* the CrowdSec client; NULL without a crowdsec block */
	struct policy *policy;	/* the policy service; NULL without a policy block */
	struct metrics *metrics; /* the metrics endpoint; NULL without metrics-listen */
	struct location *location; /* `set location-db`; NULL without one, or a broken one */
	/* Networks added with `table add --network --for`: when each leaves (commands_location.c). */
	struct network_deadline *deadlines;
	size_t ndeadlines, deadlines_cap;
	struct queues queues;	/* the config's queues' last measurements */
	struct overload overload; /* the overload event ring; its ring NULL outside the loop */
	struct sweeper_watch sweep_watch; /* whether the flow table is known empty */
	int control_fd;		/* the control socket listening; -1 */
	int epoll_fd;		/* the event loop's, for descriptors that come and go; -1 */
	int64_t started;
	int64_t next_dump;
	int64_t next_minute;
	bool stop;
	int store_err_logged;	/* the tables' store error last logged; 0: in step */
	int store_ckpt_err_logged;	/* the last checkpoint error logged; 0: none */
	uid_t peer_uid;		/* the client of the command being run */
};

/* How a struct daemon starts out, before daemon_load_config(). */
#define DAEMON_INIT(path) { .config_path = (path), .control_fd = -1, .epoll_fd = -1 }

/*
 * Load d->config_path into d->cfg and refuse what the data path cannot
 * enforce as written. Returns 0 or -errno with the message in err.
 */
int daemon_load_config(struct daemon *d, char *err, size_t errlen);

/*
 * Everything before the event loop: the state-dir and store, the data path
 * attached, the tables filled from the store and the config's files, the
 * queues, the tarpit's state, the control socket listening. Returns 0 or
 * -errno with the message in err; the process is expected to exit then.
 */
int daemon_start(struct daemon *d, char *err, size_t errlen);

/*
 * Announce readiness and serve the control socket, signals, overload
 * events and the tarpit until d->stop (loop.c). Returns 0 or -errno.
 */
int daemon_run(struct daemon *d);

/* Save what is not saved, close and free everything; enforcement stays. */
void daemon_close(struct daemon *d);

/*
 * Remove enforcement: the programs, the pinned maps and the bpf-dir, then
 * the queues, of every interface of cfg. Returns 0 or -errno with the
 * message in err. `greywalld --detach` and `greywallctl detach` both run it.
 */
int daemon_detach(const struct config *cfg, char *err, size_t errlen);

/*
 * Write every table's dump and the changed table files. report (or NULL)
 * gets greywallctl's lines. Returns 0 or -errno.
 */
int daemon_dump(struct daemon *d, int64_t now, FILE *report);
/*
 * Reload the config. On failure err says what runs: "running config kept:
 * <why>", or, when even going back failed, both causes and the state.
 */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

#endif /* __GREYWALL_DAEMON_H */
