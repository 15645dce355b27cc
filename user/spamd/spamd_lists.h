/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tarpit's black and white lists, loaded in the background: at start
 * and on every reload the parent forks a loader (blacklist_loader_start())
 * and reads the set it sends from the event loop, a piece per wakeup, so
 * the tarpit, the control socket and the overload ring are answered
 * meanwhile. The set in force serves until the new one is complete; a
 * list that fails keeps its last good version. The tarpit child starts
 * only once the first load is in: until then connections wait in the
 * listeners' backlog, and no listed source is greylisted for want of
 * its list.
 */
#ifndef __GREYWALL_SPAMD_LISTS_H
#define __GREYWALL_SPAMD_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct blacklist_options;
struct blacklist_receiver;
struct daemon;
struct list_def;

struct spamd_lists_load {
	pid_t pid;		/* the loader, until it is reaped; 0: none */
	int fd;			/* its pipe; -1: no load running */
	struct blacklist_receiver *receiver;
	int64_t deadline;	/* wall clock: a loader still running then is stopped */
	struct timespec started;
};

/*
 * Start loading defs (n of them) with opts into d->spamd->lists, in
 * place of a load still running. Returns 0 or -errno with err set.
 */
int spamd_lists_start(struct daemon *d, const struct list_def *defs, size_t n,
		      const struct blacklist_options *opts, char *err, size_t errlen);
/* The loader's pipe is readable. */
void spamd_lists_read(struct daemon *d);
/* A child ended: true when it was the loader. */
bool spamd_lists_reaped(struct daemon *d, pid_t pid, int status);
/* Once a second: stop a loader past its deadline. */
void spamd_lists_periodic(struct daemon *d, int64_t now);
/* Stop a load (spamd_close()). */
void spamd_lists_stop(struct daemon *d);
bool spamd_lists_loading(const struct daemon *d);

#endif /* __GREYWALL_SPAMD_LISTS_H */
