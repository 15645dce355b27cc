// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `table NAME add --network`, and the deadlines of --for. The file
 * <state-dir>/network-deadlines holds one line per deadline,
 *   <until, unix seconds> TAB <table> TAB <network>
 * written atomically whenever the list changes; at most
 * NETWORK_DEADLINES_MAX lines are read, a line that does not parse is
 * skipped (and said once).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/commands.h"
#include "daemon/commands_location.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "lib/array.h"
#include "lib/atomicfile.h"
#include "lib/location.h"
#include "lib/log.h"
#include "tables/dump.h"

#define DEADLINES_FILE "network-deadlines"
#define DEADLINES_MODE 0640

static int deadlines_path(const struct daemon *d, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/" DEADLINES_FILE, d->cfg.state_dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int deadlines_save(struct daemon *d)
{
	char path[PATH_MAX], text[ADDR_STRLEN];
	struct atomic_file af;
	int ret = deadlines_path(d, path, sizeof(path));

	if (!ret)
		ret = atomic_file_open(&af, path, DEADLINES_MODE);
	if (ret)
		return ret;
	for (size_t i = 0; i < d->ndeadlines; i++) {
		addr_format(&d->deadlines[i].network, text, sizeof(text));
		fprintf(af.fp, "%" PRId64 "\t%s\t%s\n", d->deadlines[i].until,
			d->deadlines[i].table, text);
	}
	if (ferror(af.fp)) {
		atomic_file_abort(&af);
		return -EIO;
	}
	return atomic_file_commit(&af);
}

static int deadlines_push(struct daemon *d, const struct network_deadline *nd)
{
	if (d->ndeadlines >= NETWORK_DEADLINES_MAX)
		return -ENOSPC;
	if (array_room(&d->deadlines, &d->deadlines_cap, d->ndeadlines + 1,
		       sizeof(*d->deadlines), 16))
		return -ENOMEM;
	d->deadlines[d->ndeadlines++] = *nd;
	return 0;
}

/* "<until> TAB <table> TAB <network>"; -EINVAL for anything else. */
static int parse_deadline(char *line, struct network_deadline *nd)
{
	char *table, *network, *end;
	long long until;

	line[strcspn(line, "\n")] = '\0';
	table = strchr(line, '\t');
	if (!table)
		return -EINVAL;
	*table++ = '\0';
	network = strchr(table, '\t');
	if (!network)
		return -EINVAL;
	*network++ = '\0';
	errno = 0;
	until = strtoll(line, &end, 10);
	if (errno || end == line || *end || until <= 0 || !table[0] ||
	    strlen(table) >= sizeof(nd->table) || addr_parse(network, &nd->network))
		return -EINVAL;
	nd->until = until;
	memcpy(nd->table, table, strlen(table) + 1);
	return 0;
}

int network_deadlines_load(struct daemon *d)
{
	char path[PATH_MAX], line[256];
	size_t bad = 0;
	FILE *fp;
	int ret = deadlines_path(d, path, sizeof(path));

	if (ret)
		return ret;
	d->ndeadlines = 0;
	fp = fopen(path, "re");
	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), fp)) {
		struct network_deadline nd;

		if (!strchr(line, '\n') && !feof(fp)) {
			int c;

			/* A line too long for any deadline: skip the rest of it. */
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			bad++;
			continue;
		}
		if (parse_deadline(line, &nd)) {
			bad++;
			continue;
		}
		ret = deadlines_push(d, &nd);
		if (ret == -ENOSPC) {
			log_warn("%s: more than %d deadlines: the rest are not read", path,
				 NETWORK_DEADLINES_MAX);
			ret = 0;
			break;
		}
		if (ret)
			break;
	}
	fclose(fp);
	if (bad)
		log_warn("%s: %zu lines skipped that are not \"<until> <table> <network>\"", path,
			 bad);
	return ret;
}

long network_deadlines_expire(struct daemon *d, int64_t now)
{
	size_t kept = 0;
	long removed = 0;
	int ret;

	for (size_t i = 0; i < d->ndeadlines; i++) {
		const struct network_deadline *nd = &d->deadlines[i];
		int idx;

		if (nd->until > now) {
			d->deadlines[kept++] = *nd;
			continue;
		}
		/* A table gone with a reload, or the entry deleted by hand: nothing to do. */
		idx = tables_find(&d->tables, nd->table);
		if (idx >= 0 && tables_delete(&d->tables, idx, &nd->network, "expire", 0, now) > 0)
			removed++;
	}
	if (kept == d->ndeadlines)
		return 0;
	d->ndeadlines = kept;
	ret = deadlines_save(d);
	if (ret)
		log_err("%s/" DEADLINES_FILE ": %s", d->cfg.state_dir, strerror(-ret));
	return removed;
}

int commands_table_add_network(struct daemon *d, struct control_request *req, int idx,
			       char **args, int n)
{
	struct network_deadline nd = { 0 };
	struct location_place place;
	struct addr_prefix addr;
	char text[ADDR_STRLEN], net[ADDR_STRLEN], as_name[LOCATION_AS_NAME_MAX], detail[512];
	char until[32] = "";
	const char *table = d->tables.table[idx].name;
	int64_t now = (int64_t)time(NULL), ev;
	uint32_t seconds = 0;
	bool present;
	int status, ret;

	if (n == 2 || (n == 3 && strcmp(args[1], "--for"))) {
		verb_print_usage(req->err, VERB_TABLE_ADD_NETWORK);
		return CTL_EXIT_USAGE;
	}
	if (n == 3 && (config_parse_duration(args[2], &seconds) || !seconds)) {
		fprintf(req->err, "greywallctl: invalid duration \"%s\"\n", args[2]);
		return CTL_EXIT_FAIL;
	}
	if (addr_parse(args[0], &addr)) {
		fprintf(req->err, "greywallctl: invalid address \"%s\"\n", args[0]);
		return CTL_EXIT_FAIL;
	}
	if (!d->location) {
		fprintf(req->err, "greywallctl: %s\n",
			d->cfg.location_db ? "the location database could not be read (see the log)"
					   : "no location database (set location-db)");
		return CTL_EXIT_FAIL;
	}
	addr_format(&addr, text, sizeof(text));
	if (location_lookup(d->location, &addr, &place)) {
		fprintf(req->err, "greywallctl: the location database places %s in no network\n",
			text);
		return CTL_EXIT_FAIL;
	}
	addr_format(&place.network, net, sizeof(net));
	present = addrmap_get(&d->tables.table[idx].entries, &place.network) != NULL;
	if (seconds && !present && d->ndeadlines >= NETWORK_DEADLINES_MAX) {
		fprintf(req->err, "greywallctl: %d networks wait for their --for already\n",
			NETWORK_DEADLINES_MAX);
		return CTL_EXIT_FAIL;
	}
	if (location_as_name(d->location, place.asn, as_name, sizeof(as_name)))
		snprintf(as_name, sizeof(as_name), "%s", LOCATION_NONE);
	if (seconds)
		dump_format_time(now + seconds, until, sizeof(until));
	snprintf(detail, sizeof(detail),
		 "greywallctl table %s add --network %s (uid %u): %s, AS%" PRIu32 " %s, %s%s%s",
		 table, text, (unsigned)d->peer_uid, net, place.asn, as_name, place.country,
		 seconds ? ", until " : "", until);
	ev = tables_evidence(&d->tables, "manual", detail, now);
	status = commands_add_list(d, req, idx, &place.network, 1, ev, now);
	if (status != CTL_EXIT_OK || !seconds)
		return status;
	/* An entry that was there before keeps the time it had: --for is for what it adds. */
	if (present) {
		fprintf(req->err, "greywallctl: %s was in <%s> already: --for not applied\n", net,
			table);
		return CTL_EXIT_OK;
	}
	nd.until = now + seconds;
	snprintf(nd.table, sizeof(nd.table), "%s", table);
	nd.network = place.network;
	ret = deadlines_push(d, &nd);
	if (ret) {
		fprintf(req->err, "greywallctl: %s stays in <%s>: its deadline: %s\n", net, table,
			strerror(-ret));
		return CTL_EXIT_FAIL;
	}
	ret = deadlines_save(d);
	if (ret) {
		fprintf(req->err, "greywallctl: %s/" DEADLINES_FILE ": %s: a restart before %s "
				  "forgets when %s leaves\n",
			d->cfg.state_dir, strerror(-ret), until, net);
		return CTL_EXIT_FAIL;
	}
	fprintf(req->out, "%s leaves <%s> at %s.\n", net, table, until);
	return CTL_EXIT_OK;
}
