// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The one place that says which greywallctl commands only read. A command
 * missing here is root's alone, so a verb added to the dispatchers without
 * a line here can never be opened to the control group by mistake.
 */
#include <string.h>

#include "daemon/commands_access.h"
#include "daemon/daemon.h"
#include "spamd/spamdb.h"

struct command_access {
	const char *verb;	/* argv[0] */
	int sub_index;		/* the word naming the sub-command; 0: none */
	const char *sub;	/* what that word must be */
	bool read_only;
	/* For verbs whose options make them write: read-only only when this says so. */
	bool (*only_reads)(int argc, char *const argv[]);
};

/* spamdb lists unless given -a or -d (spamdb_parse is what cmd_spamdb runs). */
static bool spamdb_only_lists(int argc, char *const argv[])
{
	struct spamdb_command cmd;

	return !spamdb_parse(argc - 1, argv + 1, &cmd) && cmd.action == SPAMDB_LIST;
}

static const struct command_access commands[] = {
	{ "tables", 0, NULL, true, NULL },
	{ "table", 2, "show", true, NULL },
	{ "table", 2, "test", true, NULL },
	{ "table", 2, "add", false, NULL },
	{ "table", 2, "delete", false, NULL },
	{ "table", 2, "replace", false, NULL },
	{ "table", 2, "load", false, NULL },
	{ "table", 2, "flush", false, NULL },
	{ "table", 2, "zero", false, NULL },
	{ "table", 2, "expire", false, NULL },
	{ "why", 0, NULL, true, NULL },
	{ "rules", 0, NULL, true, NULL },
	{ "queue", 1, "show", true, NULL },
	{ "stats", 0, NULL, true, NULL },
	{ "status", 0, NULL, true, NULL },
	{ "spamdb", 0, NULL, true, spamdb_only_lists },
	{ "traps", 1, "candidates", true, NULL },
	{ "traps", 1, "add", false, NULL },
	{ "callbacks", 0, NULL, true, NULL },
	{ "dump", 0, NULL, false, NULL },
	{ "reload", 0, NULL, false, NULL },
	{ "detach", 0, NULL, false, NULL },
};

static const struct command_access *find_command(int argc, char *const argv[])
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command_access *c = &commands[i];

		if (strcmp(argv[0], c->verb))
			continue;
		if (c->sub_index && (argc <= c->sub_index || strcmp(argv[c->sub_index], c->sub)))
			continue;
		return c;
	}
	return NULL;
}

bool commands_read_only(int argc, char *const argv[])
{
	const struct command_access *c = argc > 0 ? find_command(argc, argv) : NULL;

	if (!c || !c->read_only)
		return false;
	return !c->only_reads || c->only_reads(argc, argv);
}

int commands_authorize(const struct control_peer *peer, bool has_group,
		       struct control_request *req)
{
	/* The words that name the command: "table T add", "spamdb -a", "reload". */
	int nwords = !strcmp(req->argv[0], "table") ? 3 : 2;

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
