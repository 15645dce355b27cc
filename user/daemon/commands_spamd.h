/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywallctl verbs of the tarpit: spamdb, traps, callbacks. The command
 * table (verbs.h) names these handlers; commands.c calls them once the
 * arguments fit the synopsis.
 */
#ifndef __GREYWALL_COMMANDS_SPAMD_H
#define __GREYWALL_COMMANDS_SPAMD_H

#include <stdbool.h>

#include "daemon/control.h"

struct daemon;

int commands_spamdb(struct daemon *d, struct control_request *req);
/* spamdb only lists unless given -a or -d (what commands_spamdb() parses). */
bool commands_spamdb_only_lists(int argc, char *const argv[]);
int commands_traps_candidates(struct daemon *d, struct control_request *req);
int commands_traps_add(struct daemon *d, struct control_request *req);
int commands_callbacks(struct daemon *d, struct control_request *req);

#endif /* __GREYWALL_COMMANDS_SPAMD_H */
