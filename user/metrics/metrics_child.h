/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The metrics child: greywalld executed again to serve the Prometheus
 * endpoint (`set metrics-listen`) on the socket the parent opened, as the
 * policy child serves Postfix (docs/DESIGN.md, privilege separation):
 *
 *   greywalld --metrics-child <empty-dir> <parent-fd> <listen-fd>...
 *
 * It chroots into empty-dir, drops to the user greywall with no
 * capabilities and no_new_privs, installs the seccomp filter, then serves
 * HTTP (server.h). For each scrape it sends the parent METRICS over
 * parent-fd (a SOCK_STREAM socketpair, privsep.h) and answers with the
 * text that comes back. Its log lines go to the parent as LOG. It ends
 * when the parent closes parent-fd or on SIGTERM. The checks and the
 * confinement are child/child_main.h's, its exit statuses too.
 */
#ifndef __GREYWALL_METRICS_CHILD_H
#define __GREYWALL_METRICS_CHILD_H

#define METRICS_CHILD_OPTION "--metrics-child"

/* main() for argv[1] == METRICS_CHILD_OPTION; returns the exit status. */
int metrics_child_main(int argc, char **argv);

#endif /* __GREYWALL_METRICS_CHILD_H */
