// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Overload events into tables. The order in overload_apply_batch() matters: the
 * table first (the source's next SYNs meet the rules for its new table),
 * then the flush (its flows still in the handshake die with the rest), and
 * only then the source's `overloaded` mark is cleared. Until then the data
 * path refuses every handshake of the source for the rule, so a handshake
 * admitted by the old rule cannot complete between the table and the flush.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/array.h"
#include "daemon/daemon.h"
#include "tables/dump.h"
#include "datapath/flush.h"
#include "lib/log.h"
#include "datapath/overload.h"
#include "datapath/sweeper.h"

void overload_evidence_text(const struct config_rule *r, const struct gw_event *ev,
			    int64_t when, char *buf, size_t len)
{
	const struct gw_rule *g = &r->rule;
	char t[32];

	dump_format_time(when, t, sizeof(t));
	if (ev->type == GW_EV_OVERLOAD_RATE)
		snprintf(buf, len, "rule %d: max-src-conn-rate %u/%u exceeded (%u/%u) at %s",
			 r->number, g->max_src_conn_rate, g->max_src_conn_rate_seconds,
			 ev->rate_count, g->max_src_conn_rate * 1000, t);
	else
		snprintf(buf, len, "rule %d: max-src-conn %u exceeded (%u established) at %s",
			 r->number, g->max_src_conn, ev->conns, t);
}

/* The compiled parts of the written rule that compiled rule `index` belongs to. */
static void rule_parts(const struct config *cfg, uint32_t index, struct gw_ruleset *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t j = 0; j < cfg->nrules && j < GW_MAX_RULES; j++)
		if (cfg->rules[j].number == cfg->rules[index].number)
			out->bits[j / 64] |= 1ULL << (j % 64);
}

/* Let the data path send this source's next trigger for the rule. */
static int clear_overloaded(int src_track_fd, const struct gw_event *ev)
{
	struct gw_src_key key = { .addr = ev->addr, .rule = ev->rule };
	struct gw_src_track st;

	if (bpf_map_lookup_elem_flags(src_track_fd, &key, &st, BPF_F_LOCK))
		return errno == ENOENT ? 0 : -errno;
	if (!st.overloaded)
		return 0;
	st.overloaded = 0;
	if (bpf_map_update_elem(src_track_fd, &key, &st, BPF_EXIST | BPF_F_LOCK))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

/* Put the source into the overload table (uncommitted): 1 added, 0 there already, -errno. */
static int add_to_table(struct daemon *d, const struct config_rule *r, const char *detail,
			const struct addr_prefix *src, int64_t now)
{
	int table = r->rule.overload_table;
	int64_t evidence;

	if (table == GW_NO_TABLE || table >= (int)d->tables.ntables)
		return 0;
	if (addrmap_get(&d->tables.table[table].entries, src))
		return 0;
	evidence = tables_evidence(&d->tables, "overload", detail, now);
	if (evidence < 0)
		return (int)evidence;
	return tables_add(&d->tables, table, src, evidence, now);
}

/* What happened to one event of a batch, for its log line and the return value. */
struct applied {
	char detail[256];
	int added;			/* add_to_table() */
	int flush;			/* index into the flush requests, or -1 */
};

static void log_applied(const struct daemon *d, const struct gw_event *ev, const struct applied *a,
			const struct flush_request *fr)
{
	const struct config_rule *r = &d->cfg.rules[ev->rule];
	char text[ADDR_STRLEN], flush[96] = "no flush";
	struct addr_prefix src;

	addr_from_key(&ev->addr, &src);
	addr_format(&src, text, sizeof(text));
	if (a->flush >= 0)
		snprintf(flush, sizeof(flush), "flush%s killed %zu flows, %zu sockets",
			 fr->global ? " global" : "", fr->result.flows, fr->result.sockets);
	log_info("overload: %s %s; %s%s%s; %s", text, a->detail,
		 a->added > 0 ? "added to <" : a->added == 0 ? "no table change" : "the table refused it",
		 a->added > 0 ? d->tables.table[r->rule.overload_table].name : "",
		 a->added > 0 ? ">" : "", flush);
}

int overload_apply_batch(struct daemon *d, const struct gw_event *evs, size_t n, int64_t now)
{
	uint64_t clock_ns = sweeper_clock_ns(d->dp.config), clock_s = clock_ns / SWEEPER_NSEC;
	struct flush_request *reqs = calloc(n ? n : 1, sizeof(*reqs));
	struct applied *done = calloc(n ? n : 1, sizeof(*done));
	size_t nreqs = 0;
	int ret = 0, added = 0;

	if (!reqs || !done) {
		free(reqs);
		free(done);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct gw_event *ev = &evs[i];
		const struct config_rule *r;
		struct addr_prefix src;

		done[i].flush = -1;
		if (ev->rule >= d->cfg.nrules)
			continue;
		r = &d->cfg.rules[ev->rule];
		addr_from_key(&ev->addr, &src);
		/* The event carries the data path's time; the evidence wants the wall clock. */
		overload_evidence_text(r, ev,
				       now - (int64_t)(clock_s > ev->when ? clock_s - ev->when : 0),
				       done[i].detail, sizeof(done[i].detail));
		done[i].added = add_to_table(d, r, done[i].detail, &src, now);
		if (done[i].added < 0 && !ret)
			ret = done[i].added;
		added += done[i].added > 0;
		if (!r->rule.flush)
			continue;
		done[i].flush = (int)nreqs;
		reqs[nreqs].source = src;
		reqs[nreqs].global = r->rule.flush == 2;
		if (!reqs[nreqs].global)
			rule_parts(&d->cfg, ev->rule, &reqs[nreqs].rules);
		nreqs++;
	}
	/* One commit for the batch: the tables first, so the next SYNs meet them. */
	if (added) {
		int err = tables_commit(&d->tables);

		if (err && !ret)
			ret = err;
	}
	if (nreqs) {
		int err = flush_sources(d->dp.flows, d->dp.src_track, reqs, nreqs, clock_ns);

		if (err && !ret)
			ret = err;
	}
	for (size_t i = 0; i < n; i++) {
		int err = clear_overloaded(d->dp.src_track, &evs[i]);

		if (err && !ret)
			ret = err;
		/* An event of rules a reload replaced: its mark goes, nothing else. */
		if (evs[i].rule < d->cfg.nrules)
			log_applied(d, &evs[i], &done[i], done[i].flush >= 0 ? &reqs[done[i].flush] : NULL);
	}
	free(reqs);
	free(done);
	return ret ? ret : added;
}

int overload_apply(struct daemon *d, const struct gw_event *ev, int64_t now)
{
	int ret = overload_apply_batch(d, ev, 1, now);

	return ret >= 0 && ev->rule >= d->cfg.nrules ? -ESTALE : ret;
}

static int ring_event(void *ctx, void *data, size_t size)
{
	struct overload *ov = ctx;

	if (size < sizeof(struct gw_event))
		return 0;
	if (array_room(&ov->pending, &ov->cap, ov->n + 1, sizeof(*ov->pending), 64))
		return -ENOMEM;
	memcpy(&ov->pending[ov->n++], data, sizeof(struct gw_event));
	return 0;
}

int overload_open(struct overload *ov, struct daemon *d)
{
	memset(ov, 0, sizeof(*ov));
	ov->d = d;
	ov->ring = ring_buffer__new(d->dp.events, ring_event, ov, NULL);
	if (!ov->ring)
		return -errno;
	ov->lost_seen = datapath_stat(&d->dp, GW_STAT_EVENTS_LOST);
	return 0;
}

void overload_close(struct overload *ov)
{
	ring_buffer__free(ov->ring);
	ov->ring = NULL;
	free(ov->pending);
	ov->pending = NULL;
	ov->n = ov->cap = 0;
}

int overload_fd(const struct overload *ov)
{
	return ring_buffer__epoll_fd(ov->ring);
}

int overload_poll(struct overload *ov)
{
	int ret = ring_buffer__consume(ov->ring);
	size_t n = ov->n;

	/* Everything the ring held is applied as one batch: one table commit, one flow walk. */
	ov->n = 0;
	if (n) {
		int err = overload_apply_batch(ov->d, ov->pending, n, (int64_t)time(NULL));

		ov->applied += n;
		if (err < 0) {
			log_err("overload: applying %zu events: %s", n, strerror(-err));
			if (ret >= 0)
				ret = err;
		}
	}
	return ret < 0 ? ret : (int)n;
}

int overload_periodic(struct overload *ov)
{
	uint64_t lost = datapath_stat(&ov->d->dp, GW_STAT_EVENTS_LOST);

	/*
	 * The data path unmarks a source whose event found the ring full, so
	 * its next offending handshake sends the event again: say so, once.
	 */
	if (lost != ov->lost_seen)
		log_warn("overload: %" PRIu64 " events found the ring full; their sources "
			 "trigger again on their next handshake", lost - ov->lost_seen);
	ov->lost_seen = lost;
	return overload_poll(ov);
}
