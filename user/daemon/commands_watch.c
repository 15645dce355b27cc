// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* greywallctl's verbs for the log watchers; what they print is watch_show.c's. */
#include <stdbool.h>
#include <string.h>

#include "daemon/commands_watch.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "watch/watch.h"

int commands_watch_show(struct daemon *d, struct control_request *req)
{
	bool verbose = req->argc == 3 && !strcmp(req->argv[2], "-v");

	if (req->argc == 3 && !verbose) {
		verb_print_usage(req->err, VERB_WATCH_SHOW);
		return CTL_EXIT_USAGE;
	}
	watch_show(d, verbose, req->out);
	return CTL_EXIT_OK;
}

int commands_watch_candidates(struct daemon *d, struct control_request *req)
{
	watch_candidates(d, req->out);
	return CTL_EXIT_OK;
}

int commands_watch_add_traps(struct daemon *d, struct control_request *req)
{
	int ret = watch_add_traps(d, req->argv + 2, req->argc - 2, req->out, req->err);

	return ret < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
