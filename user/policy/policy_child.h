/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The policy child: greywalld executed again to serve Postfix's policy
 * protocol (SMTPD_POLICY_README) on the sockets the parent opened, as the
 * tarpit child serves SMTP (docs/DESIGN.md, privilege separation):
 *
 *   greywalld --policy-child <empty-dir> <parent-fd> <listen-fd>...
 *
 * It chroots into empty-dir, drops to the user greywall with no
 * capabilities and no_new_privs, installs the seccomp filter, then reads
 * requests from every client of every listening socket (unix or TCP) and
 * hands each to the parent as a POLICY message over parent-fd (a
 * SOCK_STREAM socketpair, privsep.h); the parent's VERDICT becomes the
 * client's "action=...". Its log lines go to the parent as LOG. It ends
 * when the parent closes parent-fd or on SIGTERM. The checks and the
 * confinement are child/child_main.h's, its exit statuses too.
 */
#ifndef __GREYWALL_POLICY_CHILD_H
#define __GREYWALL_POLICY_CHILD_H

#define POLICY_CHILD_OPTION "--policy-child"
/* Listening sockets the child takes at most. */
#define POLICY_LISTEN_MAX 16

/* main() for argv[1] == POLICY_CHILD_OPTION; returns the exit status. */
int policy_child_main(int argc, char **argv);

#endif /* __GREYWALL_POLICY_CHILD_H */
