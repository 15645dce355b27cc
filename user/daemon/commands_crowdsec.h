/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* greywallctl's verbs of the CrowdSec client: crowdsec show, crowdsec pull. verbs.h names them. */
#ifndef __GREYWALL_COMMANDS_CROWDSEC_H
#define __GREYWALL_COMMANDS_CROWDSEC_H

#include "daemon/control.h"

struct daemon;

int commands_crowdsec_show(struct daemon *d, struct control_request *req);
int commands_crowdsec_pull(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_CROWDSEC_H */
