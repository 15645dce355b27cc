/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The state greywalld's parts share: config, store, tables, data path. */
#ifndef __GREYWALL_DAEMON_H
#define __GREYWALL_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "daemon/control.h"
#include "datapath/datapath.h"
#include "datapath/queues.h"
#include "store/store.h"
#include "tables/tables.h"

#define GREYWALL_VERSION "0.1"

/* greywallctl's exit codes (greywallctl(8), EXIT STATUS). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,	/* the command failed; the message says why */
	CTL_EXIT_NO_MATCH = 2,	/* `table T test`: not every address matched */
	CTL_EXIT_USAGE = 64,	/* bad command line (EX_USAGE) */
	CTL_EXIT_NOINPUT = 66,	/* the -f file cannot be used (EX_NOINPUT) */
	CTL_EXIT_UNAVAILABLE = 69, /* greywalld not reachable (EX_UNAVAILABLE) */
	CTL_EXIT_NOPERM = 77,	/* the caller may not run the command (EX_NOPERM) */
};

struct spamd;

struct daemon {
	struct config cfg;
	const char *config_path;
	struct store *store;
	struct tables tables;
	struct datapath dp;
	struct spamd *spamd;	/* NULL without a spamd block */
	struct queues queues;	/* the config's queues' last measurements */
	int epoll_fd;		/* the event loop's, for descriptors that come and go; -1 */
	int64_t started;
	int64_t next_dump;
	int64_t next_minute;
	bool stop;
	bool detach;		/* remove enforcement on the way out */
	bool reload;
	int store_err_logged;	/* the tables' store error last logged; 0: in step */
	uid_t peer_uid;		/* the client of the command being run */
};

/* Run one greywallctl command; returns its exit status. */
int commands_run(struct daemon *d, struct control_request *req);

/* Periodic and on-demand work (greywalld.c). */
int daemon_dump(struct daemon *d, int64_t now, FILE *report);
/*
 * Reload the config. On failure err says what runs: "running config kept:
 * <why>", or, when even going back failed, both causes and the state.
 */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

#endif /* __GREYWALL_DAEMON_H */
