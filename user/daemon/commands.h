/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl's commands as greywalld runs them (the table is verbs.h). */
#ifndef __GREYWALL_COMMANDS_H
#define __GREYWALL_COMMANDS_H

#include "daemon/control.h"

struct daemon;

/*
 * Run one request: find its command, check the arguments against its
 * synopsis, run its handler. The output goes to req->out and req->err;
 * returns the exit status (ctl_exit.h). Who may run it is
 * commands_authorize()'s to say, before.
 */
int commands_run(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_H */
