// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* greywallctl's verb of spamd sync; what it prints is sync.c's. */
#include "daemon/commands_sync.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "sync/sync.h"

int commands_sync_show(struct daemon *d, struct control_request *req)
{
	if (req->argc != 2) {
		verb_print_usage(req->err, VERB_SYNC_SHOW);
		return CTL_EXIT_USAGE;
	}
	sync_show(d, req->out);
	return CTL_EXIT_OK;
}
