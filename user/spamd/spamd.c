// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The greylister and trapper of the privileged parent: decisions on what
 * the tarpit child reports, and the tables that follow from them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spamd/blacklist.h"
#include "daemon/daemon.h"
#include "lib/log.h"
#include "metrics/expo.h"
#include "spamd/spamd.h"
#include "sync/sync.h"
#include "spamd/spamd_child.h"
#include "datapath/steer.h"
#include "spamd/trap.h"

/* How a trapped source is told, when no list of its own matched. */
#define TRAPPED_MESSAGE "Your address %A has sent mail to a spamtrap address; try again later."

/* Low-priority MX traps only after this long: a restart must not trap the world (spamd -M). */
#define LOWPRIO_GRACE 60

/* Sources named in the log for maxtuples per scan interval; further ones are only counted. */
#define FULL_SOURCES_LOGGED 1024

static int load_trap_files(struct trap_set **set, char *const *paths, size_t n, char *err,
			   size_t errlen)
{
	int ret = trap_set_new(set);

	for (size_t i = 0; !ret && i < n; i++)
		ret = trap_set_load(*set, paths[i], err, errlen);
	return ret;
}

/* Start loading the config's list blocks, as blacklist.c wants them, in the background. */
static int build_lists(struct daemon *d, char *err, size_t errlen)
{
	const struct config_spamd *cs = d->cfg.spamd;
	struct blacklist_options opts = {
		.fetcher = cs->fetch,
		.max_bytes = cs->list_max_bytes,
		.max_entries = cs->list_max_entries,
		.previous = d->spamd->lists,
	};
	struct list_def *defs = calloc(cs->nlists ? cs->nlists : 1, sizeof(*defs));
	struct list_source **sources = calloc(cs->nlists ? cs->nlists : 1, sizeof(*sources));
	int ret = defs && sources ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < cs->nlists; i++) {
		const struct config_list *l = &cs->lists[i];
		size_t n = 0;

		sources[i] = calloc(l->nfiles + l->nexecs + l->nurls + 1, sizeof(**sources));
		if (!sources[i]) {
			ret = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < l->nfiles; j++)
			sources[i][n++] = (struct list_source){ LIST_SOURCE_FILE, l->files[j] };
		for (size_t j = 0; j < l->nexecs; j++)
			sources[i][n++] = (struct list_source){ LIST_SOURCE_EXEC, l->execs[j] };
		for (size_t j = 0; j < l->nurls; j++)
			sources[i][n++] = (struct list_source){ LIST_SOURCE_URL, l->urls[j] };
		defs[i] = (struct list_def){ l->name, l->white, l->msg, sources[i], n };
	}
	if (!ret)
		ret = spamd_lists_start(d, defs, cs->nlists, &opts, err, errlen);
	else
		snprintf(err, errlen, "lists: out of memory");
	for (size_t i = 0; sources && i < cs->nlists; i++)
		free(sources[i]);
	free(sources);
	free(defs);
	return ret;
}

static void spamd_rules_free(struct spamd *s)
{
	trap_set_free(s->spamtraps);
	trap_set_free(s->file_spamtraps);
	trap_set_free(s->domains);
	trap_set_free(s->valid);
	s->spamtraps = s->file_spamtraps = s->domains = s->valid = NULL;
}

/* Trap files and the store's spamtraps, from d->cfg. */
static int spamd_rules_load(struct daemon *d, struct spamd *s, char *err, size_t errlen)
{
	const struct config_spamd *cs = d->cfg.spamd;
	int ret;

	ret = load_trap_files(&s->spamtraps, cs->spamtraps, cs->nspamtraps, err, errlen);
	if (!ret)
		ret = load_trap_files(&s->file_spamtraps, cs->spamtraps, cs->nspamtraps, err,
				      errlen);
	if (!ret)
		ret = load_trap_files(&s->domains, cs->alloweddomains, cs->nalloweddomains, err,
				      errlen);
	if (!ret && cs->nvalid_recipients)
		ret = load_trap_files(&s->valid, cs->valid_recipients, cs->nvalid_recipients, err,
				      errlen);
	if (!ret) {
		ret = grey_spamtraps_load(s->grey, s->spamtraps);
		if (ret)
			snprintf(err, errlen, "spamtraps from the store: %s", strerror(-ret));
	}
	s->rules = (struct trap_rules){ s->spamtraps, s->domains, s->valid };
	return ret;
}

static void params_from_config(const struct config_spamd *cs, struct grey_params *p)
{
	grey_params_default(p);
	p->passtime = cs->passtime;
	p->greyexp = cs->greyexp;
	p->whiteexp = cs->whiteexp;
	p->trapexp = cs->trapexp;
	p->white_plen4 = cs->white_prefix4;
	p->white_plen6 = cs->white_prefix6;
	p->maxtuples = cs->maxtuples;
}

int spamd_open(struct daemon *d, char *err, size_t errlen)
{
	struct spamd *s;
	int ret;

	if (!d->cfg.spamd)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->child_fd = -1;
	s->class_fd = -1;
	s->load.fd = -1;
	s->started = d->started;
	params_from_config(d->cfg.spamd, &s->params);
	ret = grey_open(d->store, &s->grey);
	if (ret)
		snprintf(err, errlen, "greylist store: %s", strerror(-ret));
	if (!ret && (rcpt_queue_init(&s->rcpts) || rcpt_queue_init(&s->traps_unsaved) ||
		     addrmap_init(&s->full_sources, sizeof(uint32_t))))
		snprintf(err, errlen, "spamd: %s", strerror(-(ret = -ENOMEM)));
	if (!ret)
		ret = spamd_rules_load(d, s, err, errlen);
	if (ret) {
		spamd_rules_free(s);
		rcpt_queue_free(&s->rcpts);
		rcpt_queue_free(&s->traps_unsaved);
		addrmap_free(&s->full_sources);
		grey_close(s->grey);
		free(s);
		return ret;
	}
	d->spamd = s;
	return 0;
}

int spamd_start(struct daemon *d, char *err, size_t errlen)
{
	if (!d->spamd)
		return 0;
	return build_lists(d, err, errlen) ?: spamd_child_start(d, err, errlen);
}

void spamd_close(struct daemon *d)
{
	struct spamd *s = d->spamd;

	if (!s)
		return;
	/* What the child reported is stored before we go. */
	spamd_child_drain(d);
	spamd_lists_stop(d);
	spamd_child_stop(d);
	blacklist_set_free(s->lists);
	spamd_rules_free(s);
	rcpt_queue_free(&s->rcpts);
	if (s->traps_unsaved.count)
		log_err("greylist: %zu TRAPPED entries not saved at exit (%s)",
			s->traps_unsaved.count, store_path(d->store));
	rcpt_queue_free(&s->traps_unsaved);
	addrmap_free(&s->full_sources);
	grey_close(s->grey);
	free(s);
	d->spamd = NULL;
}

size_t spamd_unsaved(struct daemon *d)
{
	struct spamd *s = d->spamd;

	return s ? (s->store_err ? s->rcpts.count : 0) + s->traps_unsaved.count : 0;
}

int spamd_store_error(struct daemon *d)
{
	return d->spamd ? d->spamd->store_err : 0;
}

/* The greylist's writes failed (err) or went through (0): logged when that changes. */
void spamd_store_result(struct daemon *d, int err, int64_t now)
{
	struct spamd *s = d->spamd;

	/* TRAPPED entries still waiting keep the greylist behind. */
	if (!err && s->traps_unsaved.count)
		return;
	if (err && !s->store_err)
		log_err("greylist: %s: %s: records kept and retried every second",
			store_path(d->store), strerror(-err));
	else if (!err && s->store_err)
		log_info("greylist: %s: writes go through again", store_path(d->store));
	s->store_err = err;
	s->store_retry_at = err ? now + 1 : 0;
}

/*
 * Write the TRAPPED entries a full store refused, oldest first. Until they
 * are in, the greylist scan leaves <spamd-greytrap> alone: it would take
 * out the sources whose TRAPPED entry is missing.
 */
static void traps_retry(struct daemon *d, int64_t now)
{
	struct spamd *s = d->spamd;
	const struct rcpt_record *r;
	int err = 0;

	while (!err && (r = rcpt_queue_peek(&s->traps_unsaved))) {
		err = grey_trap(s->grey, r->when, &r->client, r->when + s->params.trapexp, r->helo,
				r->from, r->to);
		if (!err)
			rcpt_queue_pop(&s->traps_unsaved);
	}
	spamd_store_result(d, err, now);
}

int spamd_reload(struct daemon *d, char *err, size_t errlen)
{
	struct spamd *s = d->spamd;
	struct spamd next = { 0 };
	int ret;

	if (!d->cfg.spamd) {
		spamd_close(d);
		return spamd_child_steer(d, err, errlen);
	}
	if (!s)
		return spamd_open(d, err, errlen) ?: spamd_start(d, err, errlen);
	/* Build the new rules aside: a trap file that fails to load keeps the old ones. */
	next.grey = s->grey;
	ret = spamd_rules_load(d, &next, err, errlen);
	if (ret) {
		spamd_rules_free(&next);
		return ret;
	}
	spamd_rules_free(s);
	s->spamtraps = next.spamtraps;
	s->file_spamtraps = next.file_spamtraps;
	s->domains = next.domains;
	s->valid = next.valid;
	s->rules = (struct trap_rules){ s->spamtraps, s->domains, s->valid };
	params_from_config(d->cfg.spamd, &s->params);
	/* The tables were rebuilt: their numbers may have moved. */
	ret = spamd_child_steer(d, err, errlen);
	if (!ret)
		ret = spamd_child_send_config(d);
	if (!ret)
		ret = spamd_child_send_traps(d);
	return ret ? ret : build_lists(d, err, errlen);
}

struct grey *spamd_grey(struct daemon *d)
{
	return d->spamd ? d->spamd->grey : NULL;
}

const struct grey_params *spamd_params(struct daemon *d)
{
	return d->spamd ? &d->spamd->params : NULL;
}

static bool in_table(struct daemon *d, const char *name, const struct addr_prefix *ip)
{
	int idx = tables_find(&d->tables, name);

	return idx >= 0 && (tables_lookup(&d->tables, ip) & (1ULL << idx));
}

/*
 * Whether addr (a host, or a network about to be whitelisted) holds a
 * source that must stay in the tarpit: one on a blacklist, or, for a
 * host, one in <spamd-greytrap>. (A trapped host inside a white network
 * stays tarpitted anyway: sk_lookup looks at the trap table first.)
 */
static bool holds_black(void *ctx, const struct addr_prefix *addr)
{
	struct daemon *d = ctx;
	struct spamd *s = d->spamd;

	if (s->lists && blacklist_set_overlaps(s->lists, addr))
		return true;
	return addr_is_host(addr) && in_table(d, CONFIG_TABLE_SPAMD_GREYTRAP, addr);
}

int spamd_classify(struct daemon *d, const struct addr_prefix *ip, bool *black, char *msg,
		   size_t msglen, char *names, size_t nameslen)
{
	struct spamd *s = d->spamd;
	size_t idx[32], n = 0;
	int len = 0;

	*black = false;
	msg[0] = names[0] = '\0';
	if (!s)
		return -ENOENT;
	if (s->lists)
		n = blacklist_set_match(s->lists, ip, idx, sizeof(idx) / sizeof(idx[0]));
	if (n > sizeof(idx) / sizeof(idx[0]))
		n = sizeof(idx) / sizeof(idx[0]);
	if (n) {
		int ret = blacklist_set_messages(s->lists, idx, n, msg, msglen);

		if (ret < 0)
			snprintf(msg, msglen, "%s", blacklist_set_msg(s->lists, idx[0]));
		for (size_t i = 0; i < n && len >= 0 && (size_t)len < nameslen; i++)
			len += snprintf(names + len, nameslen - (size_t)len, "%s%s", i ? " " : "",
					blacklist_set_name(s->lists, idx[i]));
		*black = true;
	}
	if (in_table(d, CONFIG_TABLE_SPAMD_GREYTRAP, ip)) {
		if (!*black)
			snprintf(msg, msglen, "%s", TRAPPED_MESSAGE);
		if (len >= 0 && (size_t)len < nameslen)
			snprintf(names + len, nameslen - (size_t)len, "%s%s", len ? " " : "",
				 CONFIG_TABLE_SPAMD_GREYTRAP);
		*black = true;
	}
	return 0;
}

/*
 * Put ip into <spamd-greytrap> with the evidence, and mark it TRAPPED in
 * the greylist. The trap rests on the client's address alone: a step that
 * fails (the greylist write, the evidence) is logged and the others still
 * happen, with evidence that names no client field when the full one
 * cannot be stored. Returns the first error, after doing all it could.
 */
static int trap_enforce(struct daemon *d, int64_t now, const struct addr_prefix *ip,
			int64_t expire, const char *source, const char *why, const char *detail,
			const char *helo, const char *from, const char *to)
{
	struct spamd *s = d->spamd;
	int idx = tables_find(&d->tables, CONFIG_TABLE_SPAMD_GREYTRAP);
	char addr[ADDR_STRLEN];
	int64_t ev;
	int ret, err;

	addr_format(ip, addr, sizeof(addr));
	log_info("%s: trapped (%s)", addr, detail);
	err = grey_trap(s->grey, now, ip, expire, helo, from, to);
	if (err) {
		/* Kept for the retry: the table entry below rests on it at the next scan. */
		int kept = rcpt_queue_push(&s->traps_unsaved, now, ip, ip, helo, from, to);

		log_err("%s: TRAPPED entry not written (%s: %s): %s", addr, store_path(d->store),
			strerror(-err), kept ? "not kept either" : "kept and retried every second");
		if (kept)
			s->traps_lost++;
		spamd_store_result(d, err, now);
	}
	if (idx < 0)
		return err;
	ev = tables_evidence(&d->tables, source, detail, now);
	if (ev < 0) {
		log_err("%s: trap evidence not stored: %s", addr, strerror((int)-ev));
		err = err ?: (int)ev;
		ev = tables_evidence(&d->tables, source, why, now);
	}
	ret = tables_add(&d->tables, idx, ip, ev < 0 ? 0 : ev, now);
	if (ret < 0) {
		log_err("%s: not added to <%s>: %s", addr, CONFIG_TABLE_SPAMD_GREYTRAP,
			strerror(-ret));
		err = err ?: ret;
	}
	/* A white source that hits a trap is steered to the tarpit from its next connection. */
	idx = tables_find(&d->tables, CONFIG_TABLE_SPAMD_WHITE);
	if (idx >= 0) {
		ret = tables_delete(&d->tables, idx, ip, "delete", ev < 0 ? 0 : ev, now);
		if (ret < 0 && ret != -ENOENT)
			err = err ?: ret;
	}
	/* The group opened above is always closed, whatever failed in it. */
	ret = tables_commit(&d->tables);
	return err ?: ret;
}

/* A trap here: enforced, with the client's fields as evidence, and told to the sync peers. */
static int trap_source(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		       const char *why, const char *helo, const char *from, const char *to)
{
	int64_t expire = now + d->spamd->params.trapexp;
	char detail[512];

	/* Fields are kept raw and bounded; whoever prints them escapes them. */
	snprintf(detail, sizeof(detail), "%s %.200s: helo %.100s, from %.150s", why, to,
		 helo[0] ? helo : "-", from);
	sync_send_trapped(d, now, ip, expire);
	return trap_enforce(d, now, ip, expire, "greytrap", why, detail, helo, from, to);
}

static bool to_lowprio_mx(const struct config_spamd *cs, const struct addr_prefix *local)
{
	return cs->lowprio_mx.family && local && addr_equal(local, &cs->lowprio_mx);
}

/*
 * A new tuple maxtuples refused: counted, and logged once per source and
 * scan interval, since a flood of them is what the bound is for.
 */
static void tuple_refused(struct spamd *s, const struct addr_prefix *ip, const char *addr)
{
	uint32_t *count = addrmap_get(&s->full_sources, ip);
	int created = 0;

	s->refused++;
	if (!count && s->full_sources.count < FULL_SOURCES_LOGGED)
		count = addrmap_put(&s->full_sources, ip, &created);
	if (!count) {
		s->refused_unlogged++;
		return;
	}
	(*count)++;
	if (created)
		log_warn("%s: has maxtuples (%u) greylist tuples: its new ones are not stored"
			 " until some expire", addr, s->params.maxtuples);
}

/* The scan interval's refusals (maxtuples) and drops (a full queue) in a line each. */
static void report_refused(struct spamd *s)
{
	if (s->rcpts_dropped)
		log_warn("greylist: %llu RCPTs dropped since the last scan: the queue was full",
			 (unsigned long long)s->rcpts_dropped);
	s->rcpts_dropped = 0;
	if (!s->refused)
		return;
	log_info("greylist: %llu new tuples refused by maxtuples since the last scan, from %zu"
		 " sources logged%s", (unsigned long long)s->refused, s->full_sources.count,
		 s->refused_unlogged ? " and more not named" : "");
	s->refused = s->refused_unlogged = 0;
	addrmap_clear(&s->full_sources);
}

bool spamd_rcpt_may_trap(struct daemon *d, const struct addr_prefix *local, const char *from,
			 const char *to)
{
	enum trap_verdict v = trap_classify(&d->spamd->rules, from, to, NULL);

	return v == TRAP_SPAMTRAP || v == TRAP_DOMAIN || to_lowprio_mx(d->cfg.spamd, local);
}

bool spamd_passes(struct daemon *d, const struct addr_prefix *ip)
{
	return in_table(d, CONFIG_TABLE_SPAMD_WHITE, ip) || in_table(d, CONFIG_TABLE_NOSPAMD, ip);
}

int spamd_tuple(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		const struct addr_prefix *local, const char *helo, const char *from,
		const char *to, unsigned int flags, struct spamd_tuple_result *res)
{
	struct spamd *s = d->spamd;
	const struct config_spamd *cs = d->cfg.spamd;
	struct trap_probe probe;
	char addr[ADDR_STRLEN], why[64];
	const char *via = flags & SPAMD_TUPLE_POLICY ? " via policy" : "";
	int ret;

	*res = (struct spamd_tuple_result){ .first = now };
	if (!s)
		return -ENOENT;
	/* Every step below rests on the client's address: never trap what is no host. */
	if (!addr_is_host(ip))
		return -EINVAL;
	addr_format(ip, addr, sizeof(addr));
	res->trap = flags & SPAMD_TUPLE_NO_TRAPS ? TRAP_GREY
						 : (int)trap_classify(&s->rules, from, to, &probe);
	switch (res->trap) {
	case TRAP_SPAMTRAP:
		snprintf(why, sizeof(why), "spamtrap%s", via);
		return trap_source(d, now, ip, why, helo, from, to);
	case TRAP_DOMAIN:
		snprintf(why, sizeof(why), "recipient outside alloweddomains%s", via);
		return trap_source(d, now, ip, why, helo, from, to);
	case TRAP_CALLBACK:
		log_info("%s: callback probe from %s (epoch %lld) for %s", addr, probe.host,
			 (long long)probe.epoch, to);
		ret = grey_callback_note(s->grey, now, ip, helo, to, probe.host, probe.epoch);
		if (ret)
			return ret;
		break;
	case TRAP_CANDIDATE:
		ret = grey_candidate_note(s->grey, now, to, ip);
		if (ret)
			return ret;
		break;
	case TRAP_GREY:
		break;
	}
	/* A tuple sent to the low-priority MX by a source not yet white: spamd -M. */
	if (to_lowprio_mx(cs, local) && now - s->started >= LOWPRIO_GRACE &&
	    !in_table(d, CONFIG_TABLE_SPAMD_WHITE, ip)) {
		res->trap = TRAP_SPAMTRAP;
		return trap_source(d, now, ip, "mail to the low-priority MX for", helo, from, to);
	}
	/*
	 * A blacklisted or trapped source gets no tuple, so no retry can
	 * whitelist it (spamd greylists only clients that match no list).
	 * The parent decides this itself: the child is not trusted to.
	 */
	if (holds_black(d, ip)) {
		res->black = true;
		return 0;
	}
	if (flags & SPAMD_TUPLE_TRAPS_ONLY)
		return 0;
	ret = grey_update_first(s->grey, now, &s->params, ip, helo, from, to, &res->first);
	if (ret < 0)
		return ret;
	res->grey = ret;
	if (ret == GREY_NEW)
		log_info("new entry %s from %s to %s, helo %s", addr, from, to, helo);
	else if (ret == GREY_FULL)
		tuple_refused(s, ip, addr);
	/* As spamd's greyupdate: every update goes to the peers, so retries pass there too. */
	if (ret == GREY_NEW || ret == GREY_SEEN || ret == GREY_PASSED)
		sync_send_grey(d, now, ip, helo, from, to);
	return 0;
}

int spamd_rcpt(struct daemon *d, int64_t now, const struct addr_prefix *ip,
	       const struct addr_prefix *local, const char *helo, const char *from,
	       const char *to)
{
	struct spamd_tuple_result res;
	int ret = spamd_tuple(d, now, ip, local, helo, from, to, 0, &res);

	return ret ? ret : res.trap;
}

int spamd_sync_grey(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		    const char *helo, const char *from, const char *to, const char *peer)
{
	struct spamd *s = d->spamd;
	char addr[ADDR_STRLEN];
	int ret;

	if (!s)
		return -ENOENT;
	/* As for a local tuple: a black or trapped source gets none. */
	if (holds_black(d, ip))
		return 1;
	ret = grey_update(s->grey, now, &s->params, ip, helo, from, to);
	if (ret == GREY_NEW) {
		addr_format(ip, addr, sizeof(addr));
		log_info("new entry %s from %s to %s, helo %s (sync from %s)", addr, from, to,
			 helo, peer);
	}
	/* maxtuples holds for a peer's tuples as for ours: refused, not stored. */
	return ret < 0 ? ret : ret == GREY_FULL ? 1 : 0;
}

int spamd_sync_trapped(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		       int64_t expire, const char *detail)
{
	if (!d->spamd)
		return -ENOENT;
	return trap_enforce(d, now, ip, expire, "sync", "sync", detail, "", "", "");
}

int spamd_sync_white(struct daemon *d, int64_t now, const struct addr_prefix *ip,
		     int64_t expire, const char *detail)
{
	int idx = tables_find(&d->tables, CONFIG_TABLE_SPAMD_WHITE);
	int64_t ev;
	int ret;

	if (!d->spamd)
		return -ENOENT;
	ret = grey_white_sync(d->spamd->grey, now, ip, expire);
	/* A black or trapped source stays out of the whitelist (the scan agrees). */
	if (ret || idx < 0 || holds_black(d, ip))
		return ret;
	ev = tables_evidence(&d->tables, "sync", detail, now);
	if (ev < 0)
		return (int)ev;
	ret = tables_add(&d->tables, idx, ip, ev, now);
	return ret < 0 ? ret : tables_commit(&d->tables);
}

int spamd_outbound(struct daemon *d, int64_t now, const struct addr_prefix *dst)
{
	struct spamd *s = d->spamd;
	int idx = tables_find(&d->tables, CONFIG_TABLE_SPAMD_WHITE);
	char addr[ADDR_STRLEN], detail[128];
	int64_t ev;
	int ret;

	if (!s)
		return -ENOENT;
	ret = grey_white_add(s->grey, now, &s->params, dst);
	if (!ret)
		sync_send_white(d, now, dst, now + s->params.whiteexp);
	if (ret || idx < 0)
		return ret;
	addr_format(dst, addr, sizeof(addr));
	snprintf(detail, sizeof(detail), "outbound SMTP connection to %s", addr);
	ev = tables_evidence(&d->tables, "spamlogd", detail, now);
	if (ev < 0)
		return (int)ev;
	ret = tables_add(&d->tables, idx, dst, ev, now);
	return ret < 0 ? ret : tables_commit(&d->tables);
}

static int compare_prefix(const void *a, const void *b)
{
	return addr_compare(a, b);
}

/*
 * Make table name hold exactly want[0..n): additions carry one evidence
 * record for the scan, removals are "expire" events.
 */
static int sync_table(struct daemon *d, int64_t now, const char *name, struct addr_prefix *want,
		      size_t n, const char *detail)
{
	int idx = tables_find(&d->tables, name);
	struct addr_prefix *have = NULL;
	size_t i = 0, j = 0, added = 0, removed = 0;
	int64_t ev = 0;
	long nhave;
	int ret = 0;

	if (idx < 0)
		return 0;
	nhave = tables_sorted_entries(&d->tables, idx, &have);
	if (nhave < 0)
		return (int)nhave;
	qsort(want, n, sizeof(*want), compare_prefix);
	while (!ret && (i < n || j < (size_t)nhave)) {
		int c = i == n ? 1 : j == (size_t)nhave ? -1 : addr_compare(&want[i], &have[j]);

		if (c == 0) {
			i++;
			j++;
		} else if (c < 0) {
			if (!ev)
				ev = tables_evidence(&d->tables, "greylist", detail, now);
			ret = ev < 0 ? (int)ev : tables_add(&d->tables, idx, &want[i++], ev, now);
			ret = ret > 0 ? 0 : ret;
			added++;
		} else {
			ret = tables_delete(&d->tables, idx, &have[j++], "expire", 0, now);
			ret = ret == -ENOENT || ret > 0 ? 0 : ret;
			removed++;
		}
	}
	free(have);
	if (added || removed)
		log_debug("<%s>: %zu added, %zu removed by the greylist scan", name, added,
			  removed);
	return ret;
}

int spamd_scan(struct daemon *d, int64_t now)
{
	struct spamd *s = d->spamd;
	struct grey_sets sets;
	int ret;

	if (!s)
		return -ENOENT;
	/* Every tuple the child reported is in the store before the scan looks. */
	spamd_child_drain(d);
	report_refused(s);
	ret = grey_scan(s->grey, now, &s->params, &(struct grey_black){ holds_black, d }, &sets);
	if (ret)
		return ret;
	if (sets.unwhitened)
		log_info("greylist scan: %zu WHITE entries held blacklisted or trapped sources: "
			 "removed from the whitelist", sets.unwhitened);
	ret = sync_table(d, now, CONFIG_TABLE_SPAMD_WHITE, sets.white, sets.nwhite,
			 "retried after passtime, whitelisted");
	/* A trap whose TRAPPED entry waits for the store must not leave the table. */
	if (!ret && !s->traps_unsaved.count)
		ret = sync_table(d, now, CONFIG_TABLE_SPAMD_GREYTRAP, sets.trapped, sets.ntrapped,
				 "TRAPPED entry in the greylist");
	if (!ret)
		ret = tables_commit(&d->tables);
	if (sets.whitelisted || sets.expired)
		log_info("greylist scan: %zu tuples whitelisted, %zu entries expired",
			 sets.whitelisted, sets.expired);
	s->scan_white = sets.nwhite;
	s->scan_trapped = sets.ntrapped;
	s->scan_grey = sets.ngrey;
	s->scan_whitelisted += sets.whitelisted;
	s->scan_expired += sets.expired;
	grey_sets_free(&sets);
	return ret;
}

/* spamlogd's job: destinations our MTA opened SMTP connections to are whitelisted. */
static void whitelist_outbound(struct daemon *d, int64_t now)
{
	struct steer_dest dests[256];
	int n;

	while ((n = steer_drain_outbound(&d->dp, dests, sizeof(dests) / sizeof(dests[0]))) > 0) {
		for (int i = 0; i < n; i++) {
			int ret = spamd_outbound(d, now, &dests[i].addr);

			if (ret)
				log_err("whitelisting an outbound SMTP destination: %s",
					strerror(-ret));
		}
		if (n < (int)(sizeof(dests) / sizeof(dests[0])))
			break;
	}
}

/* Once a second: what the tarpit holds now counts toward this hour's most. */
static void note_tarpit_hour(struct spamd *s, int64_t now)
{
	int64_t hour = now / 3600;
	size_t slot;

	if (hour <= 0 || (s->child_fd < 0 && !s->tarpit_held))
		return;
	slot = (size_t)(hour % SPAMD_TARPIT_HOURS);
	if (s->tarpit_hour_of[slot] != hour) {
		s->tarpit_hour_of[slot] = hour;
		s->tarpit_hour_peak[slot] = 0;
	}
	if (s->tarpit_hour_peak[slot] < s->tarpit_held)
		s->tarpit_hour_peak[slot] = s->tarpit_held;
}

void spamd_periodic(struct daemon *d, int64_t now)
{
	struct spamd *s = d->spamd;

	if (!s)
		return;
	note_tarpit_hour(s, now);
	if (s->traps_unsaved.count && now >= s->store_retry_at)
		traps_retry(d, now);
	if (now >= s->next_scan) {
		int ret;

		whitelist_outbound(d, now);
		ret = spamd_scan(d, now);

		if (ret)
			log_err("greylist scan: %s", strerror(-ret));
		s->scans++;
		s->next_scan = now + d->cfg.spamd->scan_interval;
	}
	spamd_lists_periodic(d, now);
	spamd_child_periodic(d, now);
}

void spamd_metrics(struct daemon *d, struct expo *e)
{
	struct spamd *s = d->spamd;

	if (!s)
		return;
	expo_family(e, "greywall_greylist_scans_total", EXPO_COUNTER, "Greylist scans run.");
	expo_sample(e, NULL, 0, s->scans);
	expo_family(e, "greywall_greylist_sources", EXPO_GAUGE,
		    "WHITE and TRAPPED sources of the greylist, as the last scan found them.");
	expo_sample2(e, "state", "white", NULL, NULL, s->scan_white);
	expo_sample2(e, "state", "trapped", NULL, NULL, s->scan_trapped);
	expo_family(e, "greywall_greylist_tuples", EXPO_GAUGE,
		    "GREY tuples (source, helo, from, to) waiting to be retried, as the last scan left them.");
	expo_sample(e, NULL, 0, s->scan_grey);
	expo_family(e, "greywall_greylist_whitelisted_total", EXPO_COUNTER,
		    "Greylisted tuples the scans whitelisted (retried after passtime).");
	expo_sample(e, NULL, 0, s->scan_whitelisted);
	expo_family(e, "greywall_greylist_expired_total", EXPO_COUNTER,
		    "Greylist entries the scans removed as expired.");
	expo_sample(e, NULL, 0, s->scan_expired);
	expo_family(e, "greywall_greylist_refused_total", EXPO_COUNTER,
		    "New tuples refused because their source had maxtuples already.");
	expo_sample(e, NULL, 0, s->refused);
	if (s->child_fd < 0 && !s->tarpit_peak)
		return;
	/* As the tarpit child last said (once a second, when it changed). */
	expo_family(e, "greywall_tarpit_connections", EXPO_GAUGE,
		    "Connections the tarpit holds, black (listed or trapped) or grey.");
	expo_sample2(e, "state", "black", NULL, NULL, s->tarpit_black);
	expo_sample2(e, "state", "grey", NULL, NULL, s->tarpit_held - s->tarpit_black);
	expo_family(e, "greywall_tarpit_connections_peak", EXPO_GAUGE,
		    "The most connections the tarpit held at once since greywalld started.");
	expo_sample(e, NULL, 0, s->tarpit_peak);
}
