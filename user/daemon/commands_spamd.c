// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywallctl's verbs for the tarpit: spamdb (spamdb(8) compatible),
 * traps candidates|add, callbacks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/commands_spamd.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "tables/dump.h"
#include "lib/escape.h"
#include "spamd/spamd.h"
#include "spamd/spamd_child.h"
#include "spamd/spamdb.h"
#include "watch/watch.h"

static struct grey *require_grey(struct daemon *d, struct control_request *req)
{
	struct grey *g = spamd_grey(d);

	if (!g)
		fprintf(req->err, "greywallctl: %s: no spamd block in the configuration\n",
			req->argv[0]);
	return g;
}

/* Spamtraps changed: the child's copy and the tables follow at once. */
static void spamtraps_changed(struct daemon *d)
{
	struct spamd *s = d->spamd;

	grey_spamtraps_load(s->grey, s->spamtraps);
	spamd_child_send_traps(d);
	watch_traps_changed(d);
}

bool commands_spamdb_only_lists(int argc, char *const argv[])
{
	struct spamdb_command cmd;

	return !spamdb_parse(argc - 1, argv + 1, &cmd) && cmd.action == SPAMDB_LIST;
}

int commands_spamdb(struct daemon *d, struct control_request *req)
{
	struct grey *g = require_grey(d, req);
	struct spamdb_command cmd;
	int64_t now = (int64_t)time(NULL);
	int status;

	if (!g)
		return CTL_EXIT_FAIL;
	if (spamdb_parse(req->argc - 1, req->argv + 1, &cmd)) {
		verb_print_usage(req->err, VERB_SPAMDB);
		return CTL_EXIT_USAGE;
	}
	status = spamdb_run(g, d->spamd->file_spamtraps, now, spamd_params(d), &cmd, req->out,
			    req->err);
	if (cmd.action != SPAMDB_LIST) {
		/* The data path follows the greylist now, not at the next scan. */
		spamd_scan(d, now);
		if (cmd.type == SPAMDB_SPAMTRAP)
			spamtraps_changed(d);
	}
	return status;
}

struct candidates_ctx {
	struct grey *grey;
	FILE *out;
};

static int print_source(void *ctx, const struct grey_candidate_source *src)
{
	FILE *out = ctx;
	char addr[ADDR_STRLEN], first[32], last[32];

	addr_format(&src->ip, addr, sizeof(addr));
	dump_format_time(src->first, first, sizeof(first));
	dump_format_time(src->last, last, sizeof(last));
	fprintf(out, "    %-39s first %s  last %s  hits %d\n", addr, first, last, src->hits);
	return 0;
}

/* A client's string for the operator's terminal (escape.h); empty ones as "-". */
static const char *printable(const char *text, char out[ESCAPE_SIZE(GREY_FIELD_MAX)])
{
	if (!text[0])
		return "-";
	escape_vis(out, ESCAPE_SIZE(GREY_FIELD_MAX), text, NULL);
	return out;
}

static int print_candidate(void *ctx, const struct grey_candidate *c)
{
	struct candidates_ctx *cc = ctx;
	char first[32], last[32], address[ESCAPE_SIZE(GREY_FIELD_MAX)];

	dump_format_time(c->first, first, sizeof(first));
	dump_format_time(c->last, last, sizeof(last));
	fprintf(cc->out, "%s  first %s  last %s  hits %d  sources %d\n",
		printable(c->address, address), first, last, c->hits, c->nsources);
	return grey_candidate_sources(cc->grey, c->address, print_source, cc->out);
}

int commands_traps_candidates(struct daemon *d, struct control_request *req)
{
	struct grey *g = require_grey(d, req);
	struct candidates_ctx cc = { g, req->out };

	if (!g)
		return CTL_EXIT_FAIL;
	return grey_candidate_foreach(g, print_candidate, &cc) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int commands_traps_add(struct daemon *d, struct control_request *req)
{
	struct grey *g = require_grey(d, req);
	int status = CTL_EXIT_OK, added = 0;

	if (!g)
		return CTL_EXIT_FAIL;
	for (int i = 2; i < req->argc; i++) {
		/* A candidate is promoted (and forgotten); any other address just added. */
		int ret = grey_candidate_promote(g, req->argv[i]);

		if (ret == -ENOENT)
			ret = grey_spamtrap_add(g, req->argv[i]);
		if (ret) {
			fprintf(req->err, "greywallctl: traps add %s: %s\n", req->argv[i],
				strerror(-ret));
			status = CTL_EXIT_FAIL;
			continue;
		}
		added++;
	}
	if (added)
		spamtraps_changed(d);
	fprintf(req->out, "%d/%d spamtraps added.\n", added, req->argc - 2);
	return status;
}

static int print_callback(void *ctx, const struct grey_callback *c)
{
	FILE *out = ctx;
	char addr[ADDR_STRLEN], when[32], epoch[32], helo[ESCAPE_SIZE(GREY_FIELD_MAX)],
		host[ESCAPE_SIZE(GREY_FIELD_MAX)], rcpt[ESCAPE_SIZE(GREY_FIELD_MAX)];

	addr_format(&c->ip, addr, sizeof(addr));
	dump_format_time(c->when, when, sizeof(when));
	dump_format_time(c->probe_epoch, epoch, sizeof(epoch));
	fprintf(out, "%s  %-39s  helo %s  probe-host %s  probe-time %s  rcpt %s\n", when, addr,
		printable(c->helo, helo), printable(c->probe_host, host), epoch,
		c->rcpt[0] ? printable(c->rcpt, rcpt) : "");
	return 0;
}

int commands_callbacks(struct daemon *d, struct control_request *req)
{
	struct grey *g = require_grey(d, req);

	if (!g)
		return CTL_EXIT_FAIL;
	return grey_callback_foreach(g, print_callback, req->out) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
