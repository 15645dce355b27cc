/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl's commands as greywalld runs them (the table is verbs.h). */
#ifndef __GREYWALL_COMMANDS_H
#define __GREYWALL_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/control.h"
#include "lib/addr.h"

struct daemon;

/*
 * Run one request: find its command, check the arguments against its
 * synopsis, run its handler. The output goes to req->out and req->err;
 * returns the exit status (ctl_exit.h). Who may run it is
 * commands_authorize()'s to say, before.
 */
int commands_run(struct daemon *d, struct control_request *req);

/*
 * Add n entries to table idx with one evidence, commit, and print "A/N
 * addresses added." (and what was refused). Returns the exit status.
 */
int commands_add_list(struct daemon *d, struct control_request *req, int idx,
		      const struct addr_prefix *list, size_t n, int64_t evidence, int64_t now);

#endif /* __GREYWALL_COMMANDS_H */
