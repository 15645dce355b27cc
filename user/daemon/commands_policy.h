/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl's verb of the Postfix policy service: policy show. verbs.h names it. */
#ifndef __GREYWALL_COMMANDS_POLICY_H
#define __GREYWALL_COMMANDS_POLICY_H

#include "daemon/control.h"

struct daemon;

int commands_policy_show(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_POLICY_H */
