// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywallctl's verbs as greywalld runs them, dispatched through the
 * command table (verbs.h). Output formats follow pfctl(8) where pfctl has
 * the verb; greywallctl(8) specifies them.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/commands.h"
#include "daemon/commands_exchange.h"
#include "daemon/commands_location.h"
#include "exchange/exchange.h"
#include "daemon/commands_spamd.h"
#include "daemon/commands_sync.h"
#include "daemon/commands_crowdsec.h"
#include "daemon/commands_policy.h"
#include "daemon/commands_watch.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "datapath/sweeper.h"
#include "lib/array.h"
#include "lib/escape.h"
#include "spamd/spamd.h"
#include "spamd/spamd_lists.h"
#include "tables/dump.h"
#include "tables/dump_location.h"
#include "tables/listformat.h"

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

static int usage_error(struct control_request *req, const char *msg)
{
	fprintf(req->err, "greywallctl: %s\n", msg);
	return CTL_EXIT_USAGE;
}

/* The command's synopsis, for arguments it cannot take. */
static int usage_of(struct control_request *req, enum verb_id id)
{
	verb_print_usage(req->err, id);
	return CTL_EXIT_USAGE;
}

/* Parse every address first: a bad one means nothing is done. */
static int parse_addresses(struct control_request *req, char **words, int n,
			   struct addr_prefix **out)
{
	struct addr_prefix *list = calloc(n ? (size_t)n : 1, sizeof(*list));

	if (!list) {
		fprintf(req->err, "greywallctl: out of memory\n");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (addr_parse(words[i], &list[i])) {
			fprintf(req->err, "greywallctl: invalid address \"%s\"\n", words[i]);
			free(list);
			return -EINVAL;
		}
	}
	*out = list;
	return 0;
}

static int collect_entry(void *ctx, const struct listformat_entry *e)
{
	return addr_list_push(ctx, &e->prefix);
}

/*
 * Read the file passed with -f: the descriptor greywallctl opened with its
 * caller's rights, read as it is (never reopened, which would read it with
 * ours), and only when it is a regular file within the size limit. Every
 * format of the list reader is taken (greywallctl(8), LIST FORMATS); a file
 * with a bad line is refused whole, as pfctl refuses it, and so is one
 * with more entries than the table could ever hold (its hosts and
 * networks limits), which also bounds what a file of ranges costs in
 * memory. Returns 0, or the exit status after the message.
 */
static int read_passed_file(struct daemon *d, struct control_request *req, const char *name,
			    struct addr_list *list)
{
	struct listformat_options opts = {
		.mode = LISTFORMAT_ANY,
		.max_size = CONTROL_MAX_FILE_SIZE,
		.max_entries = (size_t)d->tables.limit_hosts + d->tables.limit_prefixes,
	};
	struct listformat_stats st;
	char err[1024];
	int ret;

	if (req->fd < 0) {
		fprintf(req->err, "greywallctl: -f %s: no file was passed\n", name);
		return CTL_EXIT_NOINPUT;
	}
	if (control_passed_file_check(req->fd, CONTROL_MAX_FILE_SIZE, err, sizeof(err))) {
		fprintf(req->err, "greywallctl: %s: %s\n", name, err);
		return CTL_EXIT_NOINPUT;
	}
	ret = listformat_read_fd(req->fd, name, &opts, collect_entry, list, &st, err, sizeof(err));
	if (!ret && st.bad_lines) {
		fprintf(req->err, "greywallctl: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	if (ret == -E2BIG) {
		fprintf(req->err, "greywallctl: %s: more than %zu entries, more than a table can "
				  "hold (table-entries, table-prefixes)\n",
			name, opts.max_entries);
		return CTL_EXIT_FAIL;
	}
	if (ret == -EBADMSG) {
		fprintf(req->err, "greywallctl: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	if (ret) {
		fprintf(req->err, "greywallctl: %s: %s\n", name,
			ret == -EFBIG ? "grew beyond the size limit while being read"
				      : strerror(-ret));
		return ret == -EFBIG ? CTL_EXIT_NOINPUT : CTL_EXIT_FAIL;
	}
	return 0;
}

static int64_t manual_evidence(struct daemon *d, const char *what, const char *table,
			       int64_t now)
{
	char detail[256];

	snprintf(detail, sizeof(detail), "greywallctl table %s %s (uid %u)", table, what,
		 (unsigned)d->peer_uid);
	return tables_evidence(&d->tables, "manual", detail, now);
}

/*
 * What the store has not caught up with, as "N entries enforced but not
 * saved[, M removals not saved][, ...]"; false when nothing waits.
 */
static bool store_lag(struct daemon *d, char *buf, size_t len)
{
	struct tables_unsaved_count c;
	size_t evidence = store_unsaved_evidence(d->store), rcpts = spamd_unsaved(d);
	int n;

	tables_unsaved(&d->tables, &c);
	if (!d->tables.store_err && !c.entries && !c.removals && !evidence && !rcpts &&
	    !spamd_store_error(d))
		return false;
	n = snprintf(buf, len, "%zu entries enforced but not saved", c.entries);
	if (c.removals && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %zu removals not saved", c.removals);
	if (evidence && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %zu evidence records waiting",
			      evidence);
	if (rcpts && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %zu greylist records waiting", rcpts);
	return true;
}

/* The error the store last failed with: the tables' or the greylist's. */
static int store_error(struct daemon *d)
{
	return d->tables.store_err ? d->tables.store_err : spamd_store_error(d);
}

/*
 * Apply the command's changes and say what did not take: entries the data
 * path refused (its maps full), and entries enforced but not saved (the
 * store's file by its path and its error; retried every second).
 */
static int commit_or_report(struct daemon *d, struct control_request *req, int idx)
{
	int err = tables_commit(&d->tables), status = CTL_EXIT_OK;
	char lag[256];

	if (err == -ENOSPC && d->tables.map_write_failures) {
		fprintf(req->err, "greywallctl: the data path map is full: %" PRIu64
				  " entries refused\n", d->tables.map_write_failures);
		d->tables.map_write_failures = 0;
		status = CTL_EXIT_FAIL;
	} else if (err) {
		fprintf(req->err, "greywallctl: %s\n", strerror(-err));
		status = CTL_EXIT_FAIL;
	}
	if (d->tables.store_err && store_lag(d, lag, sizeof(lag))) {
		fprintf(req->err, "greywallctl: %s: %s: %s (retried every second)\n",
			store_path(d->store), strerror(-d->tables.store_err), lag);
		status = CTL_EXIT_FAIL;
	}
	/* Small tables go back to their file at once; large ones each minute. */
	if (!err && d->tables.table[idx].entries.count < 100000)
		tables_save_files(&d->tables, false);
	return status;
}

/*
 * Commit, then say how many addresses the command changed: "D/N addresses
 * deleted.", or "D addresses deleted." when total < 0 (a flush).
 */
static int commit_and_count(struct daemon *d, struct control_request *req, int idx,
			    size_t done, long total, const char *what)
{
	int status = commit_or_report(d, req, idx);

	if (total < 0)
		fprintf(req->out, "%zu addresses %s.\n", done, what);
	else
		fprintf(req->out, "%zu/%ld addresses %s.\n", done, total, what);
	return status;
}

int commands_add_list(struct daemon *d, struct control_request *req, int idx,
		      const struct addr_prefix *list, size_t n, int64_t evidence, int64_t now)
{
	size_t added, refused;
	int status, ret;

	ret = tables_add_list(&d->tables, idx, list, n, evidence, now, &added, &refused);
	if (ret) {
		tables_commit(&d->tables);
		fprintf(req->err, "greywallctl: %s\n", strerror(-ret));
		return CTL_EXIT_FAIL;
	}
	status = commit_and_count(d, req, idx, added, (long)n, "added");
	if (refused) {
		fprintf(req->err, "greywallctl: table <%s> is full: %zu addresses refused\n",
			d->tables.table[idx].name, refused);
		status = CTL_EXIT_FAIL;
	}
	return status;
}

static int cmd_table_add(struct daemon *d, struct control_request *req, int idx, char **args,
			 int n)
{
	struct addr_prefix *list;
	int64_t now = now_seconds(), ev;
	int status;

	if (parse_addresses(req, args, n, &list))
		return CTL_EXIT_FAIL;
	ev = manual_evidence(d, "add", d->tables.table[idx].name, now);
	status = commands_add_list(d, req, idx, list, (size_t)n, ev, now);
	free(list);
	return status;
}

static int cmd_table_load(struct daemon *d, struct control_request *req, int idx, char **args,
			  int n)
{
	struct addr_list list = { 0 };
	int64_t now = now_seconds(), ev;
	char detail[600];
	int status;

	if (n != 2 || strcmp(args[0], "-f"))
		return usage_of(req, VERB_TABLE_LOAD);
	status = read_passed_file(d, req, args[1], &list);
	if (status) {
		free(list.items);
		return status;
	}
	snprintf(detail, sizeof(detail), "%s (greywallctl load, uid %u)", args[1],
		 (unsigned)d->peer_uid);
	ev = tables_evidence(&d->tables, "import", detail, now);
	status = commands_add_list(d, req, idx, list.items, list.n, ev, now);
	free(list.items);
	return status;
}

static int cmd_table_delete(struct daemon *d, struct control_request *req, int idx,
			    char **args, int n)
{
	struct addr_prefix *list;
	int64_t now = now_seconds(), ev;
	size_t deleted = 0;

	if (parse_addresses(req, args, n, &list))
		return CTL_EXIT_FAIL;
	ev = manual_evidence(d, "delete", d->tables.table[idx].name, now);
	for (int i = 0; i < n; i++)
		if (tables_delete(&d->tables, idx, &list[i], "delete", ev, now) > 0)
			deleted++;
	free(list);
	return commit_and_count(d, req, idx, deleted, n, "deleted");
}

static int cmd_table_flush(struct daemon *d, struct control_request *req, int idx,
			   char **args, int nargs)
{
	struct addr_prefix *list;
	int64_t now = now_seconds(), ev;
	long n = tables_sorted_entries(&d->tables, idx, &list);
	size_t deleted = 0;

	(void)args;
	if (nargs)
		return usage_of(req, VERB_TABLE_FLUSH);
	if (n < 0)
		return CTL_EXIT_FAIL;
	ev = manual_evidence(d, "flush", d->tables.table[idx].name, now);
	for (long i = 0; i < n; i++)
		if (tables_delete(&d->tables, idx, &list[i], "flush", ev, now) > 0)
			deleted++;
	free(list);
	return commit_and_count(d, req, idx, deleted, -1, "deleted");
}

static int cmd_table_replace(struct daemon *d, struct control_request *req, int idx,
			     char **args, int n)
{
	struct addr_list list = { 0 };
	struct addrmap keep;
	struct addr_prefix *old;
	int64_t now = now_seconds(), ev;
	size_t added = 0, deleted = 0;
	char detail[600];
	long nold;
	int status;

	if (n != 2 || strcmp(args[0], "-f"))
		return usage_of(req, VERB_TABLE_REPLACE);
	status = read_passed_file(d, req, args[1], &list);
	if (status) {
		free(list.items);
		return status;
	}
	if (addrmap_init(&keep, 1)) {
		free(list.items);
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < list.n; i++)
		addrmap_put(&keep, &list.items[i], NULL);
	snprintf(detail, sizeof(detail), "%s (greywallctl replace, uid %u)", args[1],
		 (unsigned)d->peer_uid);
	ev = tables_evidence(&d->tables, "import", detail, now);
	nold = tables_sorted_entries(&d->tables, idx, &old);
	for (long i = 0; i < nold; i++)
		if (!addrmap_get(&keep, &old[i]) &&
		    tables_delete(&d->tables, idx, &old[i], "replace", ev, now) > 0)
			deleted++;
	if (nold >= 0)
		free(old);
	addrmap_free(&keep);
	for (size_t i = 0; i < list.n; i++)
		if (tables_add(&d->tables, idx, &list.items[i], ev, now) > 0)
			added++;
	free(list.items);
	status = commit_or_report(d, req, idx);
	if (added)
		fprintf(req->out, "%zu addresses added.\n", added);
	if (deleted)
		fprintf(req->out, "%zu addresses deleted.\n", deleted);
	if (!added && !deleted)
		fprintf(req->out, "no changes.\n");
	return status;
}

static int cmd_table_test(struct daemon *d, struct control_request *req, int idx, char **args,
			  int n)
{
	struct addr_prefix *list;
	int matched = 0;

	if (parse_addresses(req, args, n, &list))
		return CTL_EXIT_FAIL;
	for (int i = 0; i < n; i++)
		if (tables_lookup(&d->tables, &list[i]) & (1ULL << idx))
			matched++;
	free(list);
	fprintf(req->out, "%d/%d addresses match.\n", matched, n);
	return matched == n ? CTL_EXIT_OK : CTL_EXIT_NO_MATCH;
}

static int cmd_table_zero(struct daemon *d, struct control_request *req, int idx, char **args,
			  int n)
{
	int64_t now = now_seconds();
	struct addr_prefix *list;
	long count = n;
	size_t zeroed = 0;

	if (n) {
		if (parse_addresses(req, args, n, &list))
			return CTL_EXIT_FAIL;
	} else {
		count = tables_sorted_entries(&d->tables, idx, &list);
		if (count < 0)
			return CTL_EXIT_FAIL;
	}
	for (long i = 0; i < count; i++)
		if (tables_zero(&d->tables, idx, &list[i], now) > 0)
			zeroed++;
	free(list);
	return commit_and_count(d, req, idx, zeroed, count, "zeroed");
}

static int cmd_table_expire(struct daemon *d, struct control_request *req, int idx,
			    char **args, int n)
{
	int64_t now = now_seconds(), age, ev;
	struct addr_prefix *list;
	char *end, detail[128];
	size_t expired = 0;
	long count;

	if (n != 1)
		return usage_of(req, VERB_TABLE_EXPIRE);
	errno = 0;
	age = strtoll(args[0], &end, 10);
	if (errno || *end || end == args[0] || age < 0)
		return usage_error(req, "table expire: SECONDS must be a number >= 0");
	count = tables_sorted_entries(&d->tables, idx, &list);
	if (count < 0)
		return CTL_EXIT_FAIL;
	snprintf(detail, sizeof(detail), "greywallctl table %s expire %" PRId64 " (uid %u)",
		 d->tables.table[idx].name, age, (unsigned)d->peer_uid);
	ev = tables_evidence(&d->tables, "manual", detail, now);
	for (long i = 0; i < count; i++) {
		const struct entry_meta *m = addrmap_get(&d->tables.table[idx].entries, &list[i]);

		/* Strictly older than SECONDS, as pfctl -T expire. */
		if (m && now - m->cleared > age &&
		    tables_delete(&d->tables, idx, &list[i], "expire", ev, now) > 0)
			expired++;
	}
	free(list);
	return commit_and_count(d, req, idx, expired, count, "expired");
}

static void print_stats_line(FILE *out, const char *label, uint64_t packets, uint64_t bytes)
{
	fprintf(out, "\t%-12s [ Packets: %-18llu Bytes: %-18llu ]\n", label,
		(unsigned long long)packets, (unsigned long long)bytes);
}

/* The exchange peers whose last good copy lists p, on a line of its own. */
static void print_peers(struct daemon *d, FILE *out, const char *label, const char *table,
			const struct addr_prefix *p)
{
	char peers[1024];

	if (d->exchange && exchange_holders(d->exchange, table, p, peers, sizeof(peers)))
		fprintf(out, "%s%s\n", label, peers);
}

static int cmd_table_show(struct daemon *d, struct control_request *req, int idx, char **args,
			  int n)
{
	static const char *const labels[GW_DIR_MAX] = { "In/Block:", "In/Pass:", "Out/Block:",
							"Out/Pass:" };
	const struct table *tb = &d->tables.table[idx];
	bool verbose = n == 1 && !strcmp(args[0], "-v");
	struct addr_prefix *list;
	long count;

	if (n && !verbose)
		return usage_of(req, VERB_TABLE_SHOW);
	count = tables_sorted_entries(&d->tables, idx, &list);
	if (count < 0)
		return CTL_EXIT_FAIL;
	for (long i = 0; i < count; i++) {
		char text[ADDR_STRLEN];

		addr_format(&list[i], text, sizeof(text));
		fprintf(req->out, "   %s\n", text);
		if (verbose) {
			const struct entry_meta *m = addrmap_get(&tb->entries, &list[i]);
			time_t cleared = (time_t)m->cleared;
			char when[64];
			struct tm tm;

			localtime_r(&cleared, &tm);
			strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
			fprintf(req->out, "\tCleared:     %s\n", when);
			print_peers(d, req->out, "\tPeers:       ", tb->name, &list[i]);
			if (tb->flags & CONFIG_TABLE_COUNTERS) {
				struct gw_counters c;

				tables_counters(&d->tables, idx, &list[i], &c);
				for (int dir = 0; dir < GW_DIR_MAX; dir++)
					print_stats_line(req->out, labels[dir], c.packets[dir],
							 c.bytes[dir]);
			}
		}
	}
	free(list);
	return CTL_EXIT_OK;
}

static void format_duration(uint32_t seconds, char *buf, size_t len)
{
	if (!seconds)
		snprintf(buf, len, "-");
	else if (seconds % 86400 == 0)
		snprintf(buf, len, "%ud", seconds / 86400);
	else if (seconds % 3600 == 0)
		snprintf(buf, len, "%uh", seconds / 3600);
	else if (seconds % 60 == 0)
		snprintf(buf, len, "%um", seconds / 60);
	else
		snprintf(buf, len, "%us", seconds);
}

static int cmd_tables(struct daemon *d, struct control_request *req)
{
	fprintf(req->out, "%-24s %9s %9s %5s %7s %s\n", "TABLE", "HOSTS", "PREFIXES", "FLAGS",
		"TIMEOUT", "REFUSED");
	for (size_t i = 0; i < d->tables.ntables; i++) {
		const struct table *tb = &d->tables.table[i];
		char flags[8], timeout[16];

		if (tb->flags & CONFIG_TABLE_ANONYMOUS)
			continue;
		snprintf(flags, sizeof(flags), "%c%c%c", tb->flags & CONFIG_TABLE_PERSIST ? 'p' : '-',
			 tb->flags & CONFIG_TABLE_CONST ? 'c' : '-',
			 tb->flags & CONFIG_TABLE_COUNTERS ? 'C' : '-');
		format_duration(tb->timeout, timeout, sizeof(timeout));
		fprintf(req->out, "%-24s %9zu %9zu %5s %7s %" PRIu64 "\n", tb->name, tb->nhosts,
			tb->nprefixes, flags, timeout, tb->refused_full);
	}
	return CTL_EXIT_OK;
}

/* One history row of `why`, collected so every covering entry's rows go in time order. */
struct why_row {
	int64_t when;
	struct addr_prefix key;
	char table[CONFIG_TABLE_NAME_MAX];
	char action[16];
	struct evidence ev;
	size_t seq;
};

struct why_history {
	const struct addr_prefix *key;
	struct why_row *rows;
	size_t n, cap;
};

static int collect_history(void *ctx, int64_t when, const char *table, const char *action,
			   const struct evidence *ev)
{
	struct why_history *h = ctx;
	struct why_row *r;

	if (array_room(&h->rows, &h->cap, h->n + 1, sizeof(*h->rows), 16))
		return -ENOMEM;
	r = &h->rows[h->n];
	memset(r, 0, sizeof(*r));
	r->when = when;
	r->key = *h->key;
	snprintf(r->table, sizeof(r->table), "%s", table);
	snprintf(r->action, sizeof(r->action), "%s", action);
	if (ev)
		r->ev = *ev;
	r->seq = h->n++;
	return 0;
}

/*
 * Time order; within one second, evidence ids (they grow with time) order
 * what happened in it: an overload into <popflooders> and the next one into
 * <longterm> often share their second.
 */
static int compare_rows(const void *a, const void *b)
{
	const struct why_row *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if (x->ev.id != y->ev.id)
		return x->ev.id < y->ev.id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * "<source>: <detail>", escaped (escape.h): a trap's detail holds the
 * client's HELO and addresses, which must not reach the terminal raw.
 */
static void print_evidence(FILE *out, const char *prefix, const struct evidence *ev)
{
	fputs(prefix, out);
	escape_vis_file(out, ev->source, NULL);
	fputs(": ", out);
	escape_vis_file(out, ev->detail, NULL);
}

static void print_history(FILE *out, struct store *st, const struct addr_prefix *keys,
			  size_t nkeys)
{
	struct why_history h = { 0 };

	for (size_t k = 0; k < nkeys; k++) {
		h.key = &keys[k];
		store_history_foreach(st, &keys[k], collect_history, &h);
	}
	qsort(h.rows, h.n, sizeof(*h.rows), compare_rows);
	fprintf(out, "history:\n");
	for (size_t i = 0; i < h.n; i++) {
		const struct why_row *r = &h.rows[i];
		char t[32], text[ADDR_STRLEN];

		dump_format_time(r->when, t, sizeof(t));
		addr_format(&r->key, text, sizeof(text));
		fprintf(out, "  %s %-7s <%s> %s", t, r->action, r->table, text);
		if (r->ev.id)
			print_evidence(out, ": ", &r->ev);
		fputc('\n', out);
	}
	free(h.rows);
}

static int cmd_why(struct daemon *d, struct control_request *req)
{
	struct addr_prefix addr, keys[130];
	size_t nkeys = 0, found = 0;
	char text[ADDR_STRLEN];

	if (addr_parse(req->argv[1], &addr)) {
		fprintf(req->err, "greywallctl: invalid address \"%s\"\n", req->argv[1]);
		return CTL_EXIT_FAIL;
	}
	/* The address itself and every prefix that covers it, longest first. */
	for (int len = addr.plen; len >= 0; len--) {
		struct addr_prefix cut = addr;

		cut.plen = (uint8_t)len;
		addr_mask(&cut);
		keys[nkeys++] = cut;
	}
	addr_format(&addr, text, sizeof(text));
	for (size_t k = 0; k < nkeys; k++) {
		for (size_t i = 0; i < d->tables.ntables; i++) {
			const struct table *tb = &d->tables.table[i];
			const struct entry_meta *m = addrmap_get(&tb->entries, &keys[k]);
			struct evidence ev = { 0 };
			char entry[ADDR_STRLEN], added[32];

			if (!m)
				continue;
			found++;
			addr_format(&keys[k], entry, sizeof(entry));
			dump_format_time(m->added, added, sizeof(added));
			fprintf(req->out, "%s is in <%s> as %s since %s\n", text, tb->name, entry,
				added);
			if (m->evidence_id && d->store &&
			    !store_evidence_get(d->store, m->evidence_id, &ev)) {
				print_evidence(req->out, "  evidence: ", &ev);
				fputc('\n', req->out);
			} else
				fprintf(req->out, "  evidence: %s\n",
					tb->flags & CONFIG_TABLE_ANONYMOUS ? "config"
									   : "none recorded");
			print_peers(d, req->out, "  peers: ", tb->name, &keys[k]);
		}
	}
	if (!found)
		fprintf(req->out, "%s is in no table\n", text);
	if (d->location) {
		fputs("location: ", req->out);
		dump_print_place(req->out, d->location, &addr);
		fputc('\n', req->out);
	} else if (d->cfg.location_db) {
		fputs("location: the location database could not be read (see the log)\n",
		      req->out);
	}
	if (d->store)
		print_history(req->out, d->store, keys, nkeys);
	return found ? CTL_EXIT_OK : CTL_EXIT_NO_MATCH;
}

static int cmd_status(struct daemon *d, struct control_request *req)
{
	int64_t up = now_seconds() - d->started;
	char lag[256];

	fprintf(req->out, "greywalld %s running, pid %d, up %" PRId64 " s\n", GREYWALL_VERSION,
		(int)getpid(), up);
	fprintf(req->out, "config: %s\n", d->config_path);
	fprintf(req->out, "bpf-dir: %s\n", d->cfg.bpf_dir);
	for (size_t i = 0; i < d->cfg.ninterfaces; i++) {
		struct datapath_link link;

		if (datapath_link_status(d->cfg.interfaces[i], &link)) {
			fprintf(req->out, "interface %s: missing\n", d->cfg.interfaces[i]);
			continue;
		}
		if (link.xdp_attached)
			fprintf(req->out, "interface %s: xdp attached (%s, %s), tc egress %s\n",
				link.ifname, link.xdp_mode,
				link.xdp_dispatcher ? "libxdp dispatcher" : "single program",
				link.tc_attached ? "attached" : "not attached");
		else
			fprintf(req->out, "interface %s: xdp not attached, tc egress %s\n",
				link.ifname, link.tc_attached ? "attached" : "not attached");
	}
	fprintf(req->out, "tables: %zu, rules: %zu\n", d->tables.ntables, d->cfg.nrules);
	if (d->spamd) {
		fprintf(req->out, "lists: %s\n",
			spamd_lists_loading(d) ? "loading in the background" : "loaded");
		fprintf(req->out, "greylist scans: %" PRIu64 "\n", d->spamd->scans);
		if (d->spamd->child_fd >= 0)
			fprintf(req->out, "tarpit: %u connections held, %u black (at most %u)\n",
				d->spamd->tarpit_held, d->spamd->tarpit_black,
				d->spamd->tarpit_peak);
	}
	if (store_lag(d, lag, sizeof(lag)))
		fprintf(req->out, "store: degraded (%s: %s: %s; retried every second)\n",
			store_path(d->store), strerror(-(store_error(d) ?: -EAGAIN)), lag);
	else
		fprintf(req->out, "store: %s: ok\n", store_path(d->store));
	return CTL_EXIT_OK;
}

static int cmd_stats(struct daemon *d, struct control_request *req)
{
	struct sweeper_fill fill;

	for (int i = 0; i < GW_STAT_MAX; i++)
		fprintf(req->out, "%-24s %" PRIu64 "\n", datapath_stat_name((enum gw_stat)i),
			datapath_stat(&d->dp, (enum gw_stat)i));
	/* The flow table's fill, as the sweeper's adaptive timeouts see it. */
	if (!sweeper_flow_fill(d->dp.flows, &fill)) {
		fprintf(req->out, "%-24s %zu\n", "flow-slots", fill.slots);
		fprintf(req->out, "%-24s %zu\n", "flows-free", fill.free);
		fprintf(req->out, "%-24s %zu\n", "flows-half-open", fill.halfopen);
		fprintf(req->out, "%-24s %zu\n", "flows-established", fill.established);
		fprintf(req->out, "%-24s %zu\n", "flows-closing", fill.closing);
		fprintf(req->out, "%-24s %zu\n", "flows-killed", fill.killed);
	}
	return CTL_EXIT_OK;
}

/* Per compiled rule: the sources tracked and their established connections. */
struct rule_usage {
	uint64_t sources[GW_MAX_RULES];
	uint64_t conns[GW_MAX_RULES];
};

static int count_source(void *ctx, const void *key, void *value)
{
	const struct gw_src_key *k = key;
	const struct gw_src_track *st = value;
	struct rule_usage *u = ctx;

	if (k->rule < GW_MAX_RULES) {
		u->sources[k->rule]++;
		u->conns[k->rule] += st->conns;
	}
	return 0;
}

static int cmd_rules(struct daemon *d, struct control_request *req)
{
	struct rule_usage *usage = calloc(1, sizeof(*usage));
	int last = -1;

	if (!usage) {
		fprintf(req->err, "greywallctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	sweeper_map_foreach(d->dp.src_track, sizeof(struct gw_src_key), sizeof(struct gw_src_track),
			    BPF_F_LOCK, count_source, usage);
	for (size_t i = 0; i < d->cfg.nrules; i++) {
		const struct config_rule *r = &d->cfg.rules[i];
		struct gw_rule_stats sum = { 0 };
		uint64_t sources = 0, conns = 0;

		if (r->number == last)
			continue;
		last = r->number;
		/* Expanded port lists count as the one rule the operator wrote. */
		for (size_t j = i; j < d->cfg.nrules && d->cfg.rules[j].number == r->number; j++) {
			struct gw_rule_stats s;

			if (!datapath_rule_stats(&d->dp, (uint32_t)j, &s)) {
				/* The written rule is evaluated when its first part is. */
				if (j == i)
					sum.evaluations = s.evaluations;
				sum.matches += s.matches;
				sum.packets += s.packets;
				sum.bytes += s.bytes;
				sum.overloads += s.overloads;
			}
			if (j < GW_MAX_RULES) {
				sources += usage->sources[j];
				conns += usage->conns[j];
			}
		}
		fprintf(req->out, "@%d %s\n", r->number, r->text);
		fprintf(req->out,
			"  [ Evaluations: %-10llu Packets: %-10llu Bytes: %-10llu Matches: %-10llu ]\n",
			(unsigned long long)sum.evaluations, (unsigned long long)sum.packets,
			(unsigned long long)sum.bytes, (unsigned long long)sum.matches);
		/* PF's source tracking, for the rules that have limits. */
		if (gw_rule_tracks_flows(&r->rule))
			fprintf(req->out,
				"  [ Overloads: %-10llu Sources: %-10llu Established: %-10llu ]\n",
				(unsigned long long)sum.overloads, (unsigned long long)sources,
				(unsigned long long)conns);
	}
	free(usage);
	return CTL_EXIT_OK;
}

/* `queue show [-v]`: pfctl -sq's lines; -v adds -vvsq's counters and measured rates. */
static int cmd_queue_show(struct daemon *d, struct control_request *req)
{
	bool verbose = req->argc == 3 && !strcmp(req->argv[2], "-v");
	struct queue_counters *c;
	int ret;

	if (req->argc == 3 && !verbose)
		return usage_of(req, VERB_QUEUE_SHOW);
	c = calloc(d->cfg.nqueues ? d->cfg.nqueues : 1, sizeof(*c));
	if (!c) {
		fprintf(req->err, "greywallctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	ret = verbose ? queues_read_all(&d->cfg, d->cfg.nqueues, c) : 0;
	if (ret) {
		fprintf(req->err, "greywallctl: queue counters: %s\n", strerror(-ret));
		free(c);
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < d->cfg.nqueues; i++) {
		const struct config_queue *q = &d->cfg.queues[i];
		uint32_t qlimit = q->qlimit ? q->qlimit : QUEUES_DEFAULT_QLIMIT;
		char bw[32];

		queues_format_bandwidth(q->bandwidth, bw, sizeof(bw));
		fprintf(req->out, "queue %s bandwidth %s", q->name, bw);
		if (q->min) {
			queues_format_bandwidth(q->min, bw, sizeof(bw));
			fprintf(req->out, " min %s", bw);
		}
		if (q->max) {
			queues_format_bandwidth(q->max, bw, sizeof(bw));
			fprintf(req->out, " max %s", bw);
		}
		fprintf(req->out, " qlimit %u\n", qlimit);
		if (!verbose)
			continue;
		fprintf(req->out,
			"  [ pkts: %10llu  bytes: %10llu  dropped pkts: %6llu bytes: %6llu ]\n",
			(unsigned long long)c[i].packets, (unsigned long long)c[i].bytes,
			(unsigned long long)c[i].drops, (unsigned long long)c[i].drop_bytes);
		fprintf(req->out, "  [ qlength: %3u/%3u ]\n", c[i].qlen, qlimit);
		if (i < d->queues.n && d->queues.sample[i].measured)
			fprintf(req->out, "  [ measured: %10.1f packets/s, %.0f b/s ]\n",
				d->queues.sample[i].pps, d->queues.sample[i].bps);
	}
	free(c);
	return CTL_EXIT_OK;
}

static int cmd_dump(struct daemon *d, struct control_request *req)
{
	return daemon_dump(d, now_seconds(), req->out) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

static int cmd_reload(struct daemon *d, struct control_request *req)
{
	char err[512];

	if (daemon_reload(d, err, sizeof(err))) {
		fprintf(req->err, "greywallctl: reload failed, %s\n", err);
		return CTL_EXIT_FAIL;
	}
	fprintf(req->out, "configuration reloaded.\n");
	/* A spamd block without lists loads none: nothing to say. */
	if (spamd_lists_loading(d) && d->cfg.spamd && d->cfg.spamd->nlists)
		fprintf(req->out, "lists load in the background; those in force serve "
				  "until they are in.\n");
	return CTL_EXIT_OK;
}

static int cmd_detach(struct daemon *d, struct control_request *req)
{
	char err[512];

	d->stop = true;
	datapath_close(&d->dp);
	if (daemon_detach(&d->cfg, err, sizeof(err))) {
		fprintf(req->err, "greywallctl: detach: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	fprintf(req->out, "detached: programs removed, maps unpinned; greywalld exits.\n");
	return CTL_EXIT_OK;
}

/* greywallctl answers `help` itself; this is for clients that ask the daemon. */
static int cmd_help(struct daemon *d, struct control_request *req)
{
	(void)d;
	verbs_print_list(req->out, true);
	return CTL_EXIT_OK;
}

/* A command's handler: on the daemon, or on the table its NAME word names. */
struct command {
	int (*run)(struct daemon *d, struct control_request *req);
	int (*run_on_table)(struct daemon *d, struct control_request *req, int table,
			    char **args, int nargs);
};

#define RUN(fn) { .run = fn }
#define ON_TABLE(fn) { .run_on_table = fn }
#define COMMAND(id, words, args, read_only, only_reads, handler, help) [VERB_##id] = handler,
static const struct command commands[VERB_COUNT] = { GREYWALL_VERBS(COMMAND) };
#undef COMMAND
#undef ON_TABLE
#undef RUN

/*
 * The table argv[1] names, when it exists and the command may use it: a
 * const table only answers the commands that read. Returns its index, or
 * -1 after the message.
 */
static int command_table(struct daemon *d, struct control_request *req, enum verb_id id)
{
	const char *name = req->argv[1];
	int idx = tables_find(&d->tables, name);

	if (idx < 0 || (d->tables.table[idx].flags & CONFIG_TABLE_ANONYMOUS)) {
		fprintf(req->err, "greywallctl: table <%s> does not exist\n", name);
		return -1;
	}
	if ((d->tables.table[idx].flags & CONFIG_TABLE_CONST) && !verbs[id].read_only) {
		fprintf(req->err, "greywallctl: table <%s> is const\n", name);
		return -1;
	}
	return idx;
}

int commands_run(struct daemon *d, struct control_request *req)
{
	int id = req->argc > 0 ? verb_find(req->argc, req->argv) : -1, nwords, idx;

	if (id < 0) {
		/* "table x frob" or "queue": say what the first word can be followed by. */
		if (req->argc < 1 || !verbs_print_usage_named(req->err, req->argv[0]))
			fprintf(req->err, "greywallctl: unknown command \"%s\"\n",
				req->argc ? req->argv[0] : "");
		return CTL_EXIT_USAGE;
	}
	nwords = verb_nwords(id);
	if (!verb_args_fit(id, req->argc - nwords))
		return usage_of(req, id);
	if (commands[id].run)
		return commands[id].run(d, req);
	idx = command_table(d, req, id);
	if (idx < 0)
		return CTL_EXIT_FAIL;
	return commands[id].run_on_table(d, req, idx, req->argv + nwords, req->argc - nwords);
}
