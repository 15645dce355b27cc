/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Running the commands that fetch lists: the spamd block's exec and url
 * sources (in the list loader) and the table exchange's URL peers (on the
 * exchange's reader thread), one implementation for both.
 *
 * A command runs with stdin from /dev/null, its stdout into a pipe read
 * here, PATH=FETCH_PATH for its whole environment, default signal handling,
 * in a process group of its own (a timeout kills the whole pipeline) and,
 * when asked, as an unprivileged user with no capabilities and
 * no_new_privs. It runs under a keeper process started with no exit signal
 * that never executes anything: a parent whose event loop reaps every child
 * with waitpid(-1) never takes its status (the command is the keeper's
 * child, not the caller's); only the caller waits for the keeper, through
 * a pidfd, and the keeper ends as the command ended.
 */
#ifndef __GREYWALL_FETCH_H
#define __GREYWALL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The whole environment of the commands, and where a fetch command
 * without a slash is looked up: nothing of the daemon's environment leaks
 * into programs that handle what a list server sends.
 */
#define FETCH_PATH "/usr/bin:/bin"

/*
 * Where the output goes, a chunk at a time, as it arrives. 0 to go on;
 * -errno to stop: the command is killed and fetch_run() returns that
 * error (with err as the sink left it).
 */
typedef int (*fetch_sink_fn)(void *ctx, const unsigned char *data, size_t len, char *err,
			     size_t errlen);

struct fetch_run {
	int timeout_ms; /* from the start to the exit status; > 0 */
	bool drop;	/* run as uid:gid with no capabilities; false: as the caller */
	uid_t uid;
	gid_t gid;
};

/*
 * Whether fetcher is a usable fetch command: words split at blanks (no
 * shell, no quoting) ending with the arguments "--" and "%s", no other
 * '%' but words "%t". "curl -sf -- %s": the URL replaces the %s as one
 * argument of its own, after the "--" that keeps it from being read as an
 * option. "curl -sf -z %t -- %s": a conditional fetch, %t the time of the
 * last good copy as an HTTP date (fetch_url_since()); a fetcher that gets
 * nothing new writes nothing and exits 0 (curl on a 304).
 */
bool fetch_command_valid(const char *fetcher);
/* Whether it has a word "%t": its fetches are conditional. */
bool fetch_command_has_since(const char *fetcher);

#define FETCH_SINCE "%t"
/* What %t becomes with no good copy yet: a time everything is newer than. */
#define FETCH_SINCE_NEVER "Thu, 01 Jan 1970 00:00:00 GMT"

/*
 * Run argv at path and feed its output to sink until it ends; the command
 * must then exit with status 0, all before run->timeout_ms. Returns 0, or
 * -errno with err saying what ("exit status 22", "timed out after 60000
 * ms", "killed by signal 9", "cannot run PATH: ..."), except the sink's
 * -EFBIG and -E2BIG, which are left for the caller to describe.
 */
int fetch_run(const char *path, char *const argv[], const struct fetch_run *run, fetch_sink_fn sink,
	      void *ctx, char *err, size_t errlen);

/*
 * Fetch url with fetcher (fetch_command_valid()): its program, named
 * without a slash, is looked up in FETCH_PATH. Returns as fetch_run().
 */
int fetch_url(const char *fetcher, const char *url, const struct fetch_run *run, fetch_sink_fn sink,
	      void *ctx, char *err, size_t errlen);
/* The same, since (an HTTP date, or NULL: FETCH_SINCE_NEVER) in place of each %t. */
int fetch_url_since(const char *fetcher, const char *url, const char *since,
		    const struct fetch_run *run, fetch_sink_fn sink, void *ctx, char *err,
		    size_t errlen);

/*
 * Kill the process group of the command running now, if any: for a
 * process told to stop while it waits (async-signal-safe).
 */
void fetch_kill_running(void);

#endif /* __GREYWALL_FETCH_H */
