// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Who may run which greywallctl command, from the command table
 * (verbs.h): a command is open to the control group only when its row says
 * read-only. A command the table does not know is root's alone, so a verb
 * can never be opened to the group by mistake.
 */
#include <string.h>

#include "daemon/commands_access.h"
#include "daemon/commands_exchange.h"
#include "daemon/commands_spamd.h"
#include "daemon/commands_sync.h"
#include "daemon/commands_crowdsec.h"
#include "daemon/commands_watch.h"
#include "daemon/ctl_exit.h"
#include "daemon/verbs.h"

typedef bool (*only_reads_fn)(int argc, char *const argv[]);

#define ONLY_READS(id, words, args, read_only, only_reads, handler, help) [VERB_##id] = only_reads,
static const only_reads_fn only_reads[VERB_COUNT] = { GREYWALL_VERBS(ONLY_READS) };
#undef ONLY_READS

bool commands_read_only(int argc, char *const argv[])
{
	int id = argc > 0 ? verb_find(argc, argv) : -1;

	if (id < 0 || !verbs[id].read_only)
		return false;
	return !only_reads[id] || only_reads[id](argc, argv);
}

int commands_authorize(const struct control_peer *peer, bool has_group,
		       struct control_request *req)
{
	int id = req->argc > 0 ? verb_find(req->argc, req->argv) : -1;
	/* The words that name the command: "table T add", "spamdb -a", "reload". */
	int nwords = id >= 0 && verb_nwords(id) > 2 ? verb_nwords(id) : 2;

	if (peer->uid == 0)
		return 0;
	if (!has_group || !peer->in_group) {
		fprintf(req->err, "greywallctl: permission denied: greywalld takes commands from "
				  "root%s only\n", has_group ? " and its control-group" : "");
		return CTL_EXIT_NOPERM;
	}
	if (commands_read_only(req->argc, req->argv))
		return 0;
	if (nwords > req->argc)
		nwords = req->argc;
	fprintf(req->err, "greywallctl: permission denied: '");
	for (int i = 0; i < nwords; i++)
		fprintf(req->err, "%s%.64s", i ? " " : "", req->argv[i]);
	fprintf(req->err, "' needs root\n");
	return CTL_EXIT_NOPERM;
}
