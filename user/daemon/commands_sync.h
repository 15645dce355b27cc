/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl's verb of spamd sync: sync show. The command table (verbs.h) names it. */
#ifndef __GREYWALL_COMMANDS_SYNC_H
#define __GREYWALL_COMMANDS_SYNC_H

#include "daemon/control.h"

struct daemon;

int commands_sync_show(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_SYNC_H */
