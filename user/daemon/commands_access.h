/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Who may run which greywallctl command: root everything, members of
 * `set control-group` the read-only ones, nobody else anything.
 */
#ifndef __GREYWALL_COMMANDS_ACCESS_H
#define __GREYWALL_COMMANDS_ACCESS_H

#include <stdbool.h>

#include "daemon/control.h"

/* Does the command (argv[0] its verb) only read? Unknown commands do not. */
bool commands_read_only(int argc, char *const argv[]);

/*
 * May the peer run the request? Returns 0, or CTL_EXIT_NOPERM after
 * writing "greywallctl: permission denied: ..." to req->err.
 */
int commands_authorize(const struct control_peer *peer, bool has_group,
		       struct control_request *req);

#endif /* __GREYWALL_COMMANDS_ACCESS_H */
