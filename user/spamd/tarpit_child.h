/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tarpit child as its own process image. greywalld forks, keeps in
 * the child only the listening sockets and its ends of the two
 * socketpairs (the bulk channel, and the one for CLASSIFY and CLASS
 * alone), and executes itself again (/proc/self/exe: the image the parent
 * runs, even after an upgrade replaced the file) as
 *
 *   greywalld --tarpit-child <empty-dir> <parent-fd> <class-fd> <listen-fd>...
 *
 * so that every child has a fresh address-space layout and stack canary
 * and holds nothing of the parent's memory: no mapping of a BPF map, of
 * the ring buffer or of the store. The new image, still root, raises its
 * descriptor limit, loads the time zone, looks up SPAMD_CHILD_USER,
 * chroots to the empty directory, drops privileges (privsep.h), reads its
 * settings (the first message must be CONFIG), installs the seccomp filter
 * (sandbox.h) and runs the tarpit (tarpit.h), its log lines going to the
 * parent as LOG messages. The option is not for people: it only serves
 * descriptors greywalld handed over.
 */
#ifndef __GREYWALL_TARPIT_CHILD_H
#define __GREYWALL_TARPIT_CHILD_H

#define TARPIT_CHILD_OPTION "--tarpit-child"
/* How the child exits when it cannot be set up as above (EX_SOFTWARE). */
#define TARPIT_CHILD_EXIT_SETUP 70

/* main() for argv[1] == TARPIT_CHILD_OPTION; returns the exit status. */
int tarpit_child_main(int argc, char **argv);

#endif /* __GREYWALL_TARPIT_CHILD_H */
