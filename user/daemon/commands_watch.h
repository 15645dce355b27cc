/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywallctl verbs of the log watchers: watch show, candidates, add-traps.
 * The command table (verbs.h) names these handlers.
 */
#ifndef __GREYWALL_COMMANDS_WATCH_H
#define __GREYWALL_COMMANDS_WATCH_H

#include "daemon/control.h"

struct daemon;

int commands_watch_show(struct daemon *d, struct control_request *req);
int commands_watch_candidates(struct daemon *d, struct control_request *req);
int commands_watch_add_traps(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_WATCH_H */
