/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The main() of a confined listener child: the policy child and the
 * metrics child, greywalld executed again by the parent
 * (child/child_process.h) as
 *
 *   greywalld <option> <empty-dir> <parent-fd> <listen-fd>...
 *
 * It checks the descriptors it was handed (parent-fd a connected stream
 * socket, each listen-fd a listening stream socket of its own), sends its
 * log lines to the parent from then on, ignores SIGPIPE, chroots into
 * empty-dir, drops to SPAMD_CHILD_USER with no capabilities and
 * no_new_privs, installs the seccomp filter (lib/sandbox.h), and only then
 * runs the child's own server. The tarpit child (spamd/tarpit_child.c)
 * takes a second socketpair and its settings before the seccomp filter,
 * and has a main of its own.
 */
#ifndef __GREYWALL_CHILD_MAIN_H
#define __GREYWALL_CHILD_MAIN_H

#include <stddef.h>

#include "child/child_loop.h"

/* Listening sockets a child takes at most, whatever its own bound. */
#define CHILD_LISTEN_MAX 16
/* Exit status for a command line greywalld did not write (EX_USAGE). */
#define CHILD_EXIT_USAGE 64
/* Exit status when setting up failed (the parent logs it and retries later). */
#define CHILD_EXIT_SETUP 70

struct child_main_spec {
	const char *name;	/* "policy": the prefix of its log lines */
	const char *option;	/* "--policy-child": argv[1] */
	size_t listen_max;	/* listening sockets it takes, 1..CHILD_LISTEN_MAX */
	/*
	 * The server, once confined, given the descriptors with log_to_parent
	 * and the default clock. Returns 0 when it ended well, or -errno
	 * (logged as "<name>: <error>").
	 */
	int (*serve)(const struct child_server_config *cfg, const struct child_clock *clock);
};

/*
 * main() for argv[1] == spec->option. Returns the exit status:
 * CHILD_EXIT_USAGE, CHILD_EXIT_SETUP, 1 when the server failed, 0.
 */
int child_main(const struct child_main_spec *spec, int argc, char **argv);

#endif /* __GREYWALL_CHILD_MAIN_H */
