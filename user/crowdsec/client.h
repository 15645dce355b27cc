/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The crowdsec child: greywalld's only part that speaks HTTP to CrowdSec's
 * Local API (libcurl) and reads its JSON (lapi.h). It runs as its own
 * process, exec'd as `greywalld --crowdsec-child FD`, unprivileged, and
 * talks to the parent over FD with the messages of proto.h.
 */
#ifndef __GREYWALL_CROWDSEC_CLIENT_H
#define __GREYWALL_CROWDSEC_CLIENT_H

#define CROWDSEC_CHILD_OPTION "--crowdsec-child"
/* The user the child runs as when started as root. */
#define CROWDSEC_CHILD_USER "greywall"
/* The most alerts one push batch may hold; more is a protocol error. */
#define CROWDSEC_BATCH_MAX 1000
/* A token expiring sooner than this is renewed before a push. */
#define CROWDSEC_TOKEN_MARGIN 60

/* Exit statuses of the child. */
#define CROWDSEC_EXIT_EOF   0  /* the parent closed FD */
#define CROWDSEC_EXIT_FATAL 1  /* out of memory, libcurl would not start */
#define CROWDSEC_EXIT_PROTO 2  /* the parent sent something proto.h does not allow */
#define CROWDSEC_EXIT_USAGE 64 /* bad command line, or the privilege drop failed */

/*
 * The child's loop over fd (a SOCK_SEQPACKET socket): reads CS_MSG_CONFIG
 * first, then pulls (if configured) at once with startup=true and every
 * `every` seconds with startup=false, backing off after a failure as
 * proto.h says; serves pushes and PULL_NOW between pulls. A later
 * CS_MSG_CONFIG replaces the settings (a new login, a startup pull at
 * once). Blocks; returns one of the exit statuses above.
 */
int crowdsec_child_main(int fd);

/*
 * main() for argv[1] == CROWDSEC_CHILD_OPTION, argv[2] the fd: as root,
 * drops to CROWDSEC_CHILD_USER (privsep_drop(): groups, ids,
 * capabilities); sets no_new_privs; empties the environment (so libcurl
 * takes no proxy or other setting from it); runs crowdsec_child_main().
 */
int crowdsec_child_exec_main(int argc, char **argv);

#endif /* __GREYWALL_CROWDSEC_CLIENT_H */
