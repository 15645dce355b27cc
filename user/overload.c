// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Overload events into tables. The order in overload_apply() matters: the
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
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "dump.h"
#include "flush.h"
#include "log.h"
#include "overload.h"
#include "sweeper.h"

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

/* Put the source into the overload table; 1 added, 0 there already, -errno. */
static int add_to_table(struct daemon *d, const struct config_rule *r, const char *detail,
			const struct addr_prefix *src, int64_t now)
{
	int table = r->rule.overload_table, ret, err;
	int64_t evidence;

	if (table == GW_NO_TABLE || table >= (int)d->tables.ntables)
		return 0;
	if (addrmap_get(&d->tables.table[table].entries, src))
		return 0;
	evidence = tables_evidence(&d->tables, "overload", detail, now);
	if (evidence < 0)
		return (int)evidence;
	ret = tables_add(&d->tables, table, src, evidence, now);
	err = tables_commit(&d->tables);
	return ret < 0 ? ret : err < 0 ? err : ret;
}

int overload_apply(struct daemon *d, const struct gw_event *ev, int64_t now)
{
	uint64_t clock_s = sweeper_clock_ns(d->dp.config) / SWEEPER_NSEC;
	const struct config_rule *r;
	struct flush_result fr = { 0 };
	struct gw_ruleset parts;
	struct addr_prefix src;
	char text[ADDR_STRLEN], detail[256], flush[96];
	int added, flushed = 0, cleared;

	if (ev->rule >= d->cfg.nrules) {
		/* Sent under rules a reload replaced: the mark goes, nothing else. */
		clear_overloaded(d->dp.src_track, ev);
		return -ESTALE;
	}
	r = &d->cfg.rules[ev->rule];
	addr_from_key(&ev->addr, &src);
	addr_format(&src, text, sizeof(text));
	/* The event carries the data path's time; the evidence wants the wall clock. */
	overload_evidence_text(r, ev, now - (int64_t)(clock_s > ev->when ? clock_s - ev->when : 0),
			       detail, sizeof(detail));
	added = add_to_table(d, r, detail, &src, now);
	if (r->rule.flush) {
		if (r->rule.flush == 1)
			rule_parts(&d->cfg, ev->rule, &parts);
		flushed = flush_source(d->dp.flows, d->dp.src_track, &src,
				       r->rule.flush == 1 ? &parts : NULL,
				       sweeper_clock_ns(d->dp.config), &fr);
	}
	cleared = clear_overloaded(d->dp.src_track, ev);
	if (r->rule.flush)
		snprintf(flush, sizeof(flush), "flush%s killed %zu flows, %zu sockets",
			 r->rule.flush == 2 ? " global" : "", fr.flows, fr.sockets);
	log_info("overload: %s %s; %s%s%s; %s", text, detail,
		 added > 0 ? "added to <" : added == 0 ? "no table change" : "the table refused it",
		 added > 0 ? d->tables.table[r->rule.overload_table].name : "", added > 0 ? ">" : "",
		 r->rule.flush ? flush : "no flush");
	if (added < 0)
		return added;
	if (flushed < 0)
		return flushed;
	return cleared < 0 ? cleared : added;
}

static int ring_event(void *ctx, void *data, size_t size)
{
	struct overload *ov = ctx;
	struct gw_event ev;
	int ret;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	ret = overload_apply(ov->d, &ev, (int64_t)time(NULL));
	if (ret < 0 && ret != -ESTALE) {
		ov->error = ret;
		log_err("overload event of rule %u: %s", ev.rule + 1, strerror(-ret));
	}
	ov->applied++;
	/* One failed event must not hold back the others in the ring. */
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
}

int overload_fd(const struct overload *ov)
{
	return ring_buffer__epoll_fd(ov->ring);
}

int overload_poll(struct overload *ov)
{
	return ring_buffer__consume(ov->ring);
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
