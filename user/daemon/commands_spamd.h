/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl verbs of the tarpit: spamdb, traps, callbacks. */
#ifndef __GREYWALL_COMMANDS_SPAMD_H
#define __GREYWALL_COMMANDS_SPAMD_H

#include "daemon/control.h"

struct daemon;

/* The verb's exit status, or -1 when req->argv[0] is not one of these verbs. */
int commands_spamd_run(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_SPAMD_H */
