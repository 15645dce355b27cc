/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `table NAME add --network ADDRESS [--for DURATION]`: the network the
 * location database places an address in, and when the networks added
 * with --for leave their tables again. The deadlines are kept in
 * <state-dir>/network-deadlines, so a restart keeps them.
 */
#ifndef __GREYWALL_COMMANDS_LOCATION_H
#define __GREYWALL_COMMANDS_LOCATION_H

#include <stdint.h>

#include "config/config.h"
#include "daemon/control.h"
#include "lib/addr.h"

struct daemon;

/* The most deadlines kept: --for beyond it is refused, the add with it. */
#define NETWORK_DEADLINES_MAX 10000

struct network_deadline {
	int64_t until;
	char table[CONFIG_TABLE_NAME_MAX];
	struct addr_prefix network;
};

int commands_table_add_network(struct daemon *d, struct control_request *req, int table,
			       char **args, int nargs);

/* Read <state-dir>/network-deadlines at start (absent: none). Returns 0 or -errno. */
int network_deadlines_load(struct daemon *d);
/* Remove the networks whose time is up; how many left their tables (uncommitted). */
long network_deadlines_expire(struct daemon *d, int64_t now);

#endif /* __GREYWALL_COMMANDS_LOCATION_H */
