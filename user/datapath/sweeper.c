// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The flow sweeper. Maps are read in batches (a full gw_flows is 262,144
 * flows, read every second); a flow or source entry is written back or
 * deleted one at a time. The data path changes the same entries
 * concurrently; what it changes between our read and our write is lost,
 * which costs at most one connection of one source being counted wrong
 * once, in a race of microseconds against an entry that timed out.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "lib/array.h"
#include "store/store.h"
#include "datapath/stats.h"
#include "datapath/sweeper.h"

/* Entries per batch: more than any hash bucket holds, few enough to stay small. */
#define SWEEPER_BATCH 4096

uint64_t sweeper_clock_ns(int config_fd)
{
	uint32_t key = GW_CFG_CLOCK;
	uint64_t seconds = 0;
	struct timespec ts;

	if (config_fd >= 0 && !bpf_map_lookup_elem(config_fd, &key, &seconds) && seconds)
		return seconds * SWEEPER_NSEC;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SWEEPER_NSEC + (uint64_t)ts.tv_nsec;
}

uint32_t sweeper_flow_timeout(uint8_t state)
{
	switch (state) {
	case GW_FLOW_SYN:
		return SWEEPER_TCP_FIRST;
	case GW_FLOW_SYNACK:
		return SWEEPER_TCP_OPENING;
	case GW_FLOW_ESTABLISHED:
		return SWEEPER_TCP_ESTABLISHED;
	case GW_FLOW_CLOSING:
	case GW_FLOW_KILLED:
		return SWEEPER_TCP_CLOSED;
	default:
		return 0;
	}
}

uint32_t sweeper_flow_timeout_adaptive(uint8_t state, const struct sweeper_fill *fill)
{
	uint64_t timeout = sweeper_flow_timeout(state), used, start, end;

	if (state != GW_FLOW_SYN && state != GW_FLOW_SYNACK && state != GW_FLOW_CLOSING)
		return (uint32_t)timeout;
	used = (fill->slots - fill->free) * 100;
	start = (uint64_t)fill->slots * SWEEPER_ADAPTIVE_START;
	end = (uint64_t)fill->slots * SWEEPER_ADAPTIVE_END;
	if (used <= start)
		return (uint32_t)timeout;
	if (used >= end)
		return 0;
	return (uint32_t)(timeout * (end - used) / (end - start));
}

uint32_t sweeper_rate_decayed(uint32_t count, uint64_t last_s, uint64_t now_s, uint32_t seconds)
{
	uint64_t elapsed = now_s > last_s ? now_s - last_s : 0;

	if (!seconds || elapsed >= seconds)
		return 0;
	return count - (uint32_t)((uint64_t)count * elapsed / seconds);
}

int sweeper_flow_conf_init(int conf_fd, int flows_fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), zero = 0, slots;
	struct gw_flow_conf conf = { 0 };
	uint64_t any = 0;

	if (bpf_obj_get_info_by_fd(flows_fd, &info, &len))
		return -errno;
	slots = info.max_entries;
	if (!slots || (slots & (slots - 1)))
		return -EINVAL;
	if (bpf_map_lookup_elem(conf_fd, &zero, &conf))
		return -errno;
	for (uint32_t i = 0; i < GW_FLOW_SEED_WORDS; i++)
		any |= conf.seed.k[i];
	if (any && conf.mask == slots - 1)
		return 0;
	if (!any) {
		struct gw_flow_seed seed;

		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			return -errno;
		gw_flow_conf_seed(&conf, &seed);
	}
	conf.mask = slots - 1;
	if (bpf_map_update_elem(conf_fd, &zero, &conf, BPF_ANY))
		return -errno;
	return 0;
}

int sweeper_flow_tick(int conf_fd, uint64_t now_ns)
{
	struct gw_flow_conf conf;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(conf_fd, &zero, &conf))
		return -errno;
	conf.tick_ns = now_ns;
	return bpf_map_update_elem(conf_fd, &zero, &conf, BPF_ANY) ? -errno : 0;
}

int sweeper_flow_home(int conf_fd, const struct gw_flow_tuple *tuple, uint32_t *home,
		      uint32_t *mask)
{
	struct gw_flow_conf conf;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(conf_fd, &zero, &conf))
		return -errno;
	*home = gw_flow_home(gw_flow_hash(tuple, &conf.seed), conf.mask);
	*mask = conf.mask;
	return 0;
}

/*
 * The slot of tuple's flow among its GW_FLOW_PROBE, read into *out; else
 * -ENOENT and *free_slot the first free slot (UINT32_MAX: none).
 */
static int flow_find(int flows_fd, int conf_fd, const struct gw_flow_tuple *tuple,
		     struct gw_flow *out, uint32_t *slot, uint32_t *free_slot)
{
	uint32_t home, mask;
	int ret = sweeper_flow_home(conf_fd, tuple, &home, &mask);

	*free_slot = UINT32_MAX;
	for (uint32_t i = 0; i < GW_FLOW_PROBE && !ret; i++) {
		*slot = (home + i) & mask;
		if (bpf_map_lookup_elem(flows_fd, slot, out))
			return -errno;
		if (out->state == GW_FLOW_FREE) {
			if (*free_slot == UINT32_MAX)
				*free_slot = *slot;
		} else if (!memcmp(&out->tuple, tuple, sizeof(*tuple))) {
			return 0;
		}
	}
	return ret ? ret : -ENOENT;
}

int sweeper_flow_get(int flows_fd, int conf_fd, const struct gw_flow_tuple *tuple,
		     struct gw_flow *out, uint32_t *slot)
{
	uint32_t found, free_slot;
	int ret = flow_find(flows_fd, conf_fd, tuple, out, &found, &free_slot);

	if (!ret && slot)
		*slot = found;
	return ret;
}

int sweeper_flow_put(int flows_fd, int conf_fd, const struct gw_flow *flow)
{
	uint32_t slot, free_slot;
	struct gw_flow old;
	int ret = flow_find(flows_fd, conf_fd, &flow->tuple, &old, &slot, &free_slot);

	if (ret == -ENOENT) {
		if (free_slot == UINT32_MAX)
			return -ENOSPC;
		slot = free_slot;
		ret = 0;
	}
	if (!ret && bpf_map_update_elem(flows_fd, &slot, flow, BPF_ANY))
		ret = -errno;
	return ret;
}

int sweeper_flow_reread(int flows_fd, uint32_t slot, struct gw_flow *flow)
{
	struct gw_flow now;

	if (bpf_map_lookup_elem(flows_fd, &slot, &now))
		return -errno;
	if (now.state == GW_FLOW_FREE || memcmp(&now.tuple, &flow->tuple, sizeof(now.tuple)))
		return -ENOENT;
	*flow = now;
	return 0;
}

int sweeper_flow_free(int flows_fd, uint32_t slot)
{
	struct gw_flow zero = { 0 };

	return bpf_map_update_elem(flows_fd, &slot, &zero, BPF_ANY) ? -errno : 0;
}

/*
 * gw_flows mapped into memory, for the map whose id is asked for: the
 * syscall copies a slot in ~80 ns, reading it in place takes a few, and
 * the sweep reads them all every second. One mapping is kept, for the one flow table a process uses;
 * greywalld uses it from its main loop only.
 */
static struct {
	uint32_t id;
	uint32_t slots;
	const struct gw_flow *flows;
} flow_map;

static int flow_map_get(int flows_fd)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	void *p;

	if (bpf_obj_get_info_by_fd(flows_fd, &info, &len))
		return -errno;
	if (flow_map.flows && flow_map.id == info.id)
		return 0;
	if (info.value_size != sizeof(struct gw_flow) || !(info.map_flags & BPF_F_MMAPABLE))
		return -EINVAL;
	p = mmap(NULL, (size_t)info.max_entries * sizeof(struct gw_flow), PROT_READ, MAP_SHARED,
		 flows_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (flow_map.flows)
		munmap((void *)flow_map.flows, (size_t)flow_map.slots * sizeof(struct gw_flow));
	flow_map.id = info.id;
	flow_map.slots = info.max_entries;
	flow_map.flows = p;
	return 0;
}

int sweeper_flow_foreach(int flows_fd, sweeper_visit_cb cb, void *ctx)
{
	int ret = flow_map_get(flows_fd);

	for (uint32_t slot = 0; !ret && slot < flow_map.slots; slot++) {
		struct gw_flow f;

		/* Free, or a SYN still writing it (it stamps last_ns last). */
		if (flow_map.flows[slot].state == GW_FLOW_FREE)
			continue;
		memcpy(&f, &flow_map.flows[slot], sizeof(f));
		if (f.state != GW_FLOW_FREE && f.last_ns)
			ret = cb(ctx, &slot, &f);
	}
	return ret;
}

int sweeper_flow_fill(int flows_fd, struct sweeper_fill *out)
{
	int ret = flow_map_get(flows_fd);

	memset(out, 0, sizeof(*out));
	if (ret)
		return ret;
	out->slots = flow_map.slots;
	for (uint32_t slot = 0; slot < flow_map.slots; slot++) {
		switch (flow_map.flows[slot].state) {
		case GW_FLOW_FREE:
			out->free++;
			break;
		case GW_FLOW_SYN:
		case GW_FLOW_SYNACK:
			out->halfopen++;
			break;
		case GW_FLOW_ESTABLISHED:
			out->established++;
			break;
		case GW_FLOW_CLOSING:
			out->closing++;
			break;
		default:
			out->killed++;
			break;
		}
	}
	return 0;
}

int sweeper_release_halfopen(int halfopen_fd, struct gw_flow *flow)
{
	struct gw_src_key skey = { .addr = flow->tuple.client, .rule = flow->rule };
	struct gw_src_halfopen h;

	if (!flow->halfopen)
		return 0;
	flow->halfopen = 0;
	if (bpf_map_lookup_elem(halfopen_fd, &skey, &h))
		return errno == ENOENT ? 0 : -errno;
	if (h.count > 0)
		h.count--;
	if (bpf_map_update_elem(halfopen_fd, &skey, &h, BPF_EXIST))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

int sweeper_release(int src_track_fd, struct gw_flow *flow)
{
	struct gw_src_key skey = { .addr = flow->tuple.client, .rule = flow->rule };
	struct gw_src_track st;

	if (!flow->counted)
		return 0;
	flow->counted = 0;
	if (bpf_map_lookup_elem_flags(src_track_fd, &skey, &st, BPF_F_LOCK))
		return errno == ENOENT ? 0 : -errno;
	if (st.conns)
		st.conns--;
	if (bpf_map_update_elem(src_track_fd, &skey, &st, BPF_EXIST | BPF_F_LOCK))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

int sweeper_map_foreach(int fd, size_t key_size, size_t value_size, uint64_t lookup_flags,
			sweeper_visit_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = lookup_flags);
	char *keys = malloc(SWEEPER_BATCH * key_size), *values = malloc(SWEEPER_BATCH * value_size);
	uint64_t cursor = 0;
	bool first = true, last = false;
	int ret = 0;

	if (!keys || !values) {
		ret = -ENOMEM;
		goto out;
	}
	while (!last && !ret) {
		uint32_t count = SWEEPER_BATCH;

		/* The cursor of a hash map is a bucket number: entries the callback
		 * deletes lie behind it. */
		if (bpf_map_lookup_batch(fd, first ? NULL : &cursor, &cursor, keys, values, &count,
					 &opts)) {
			if (errno != ENOENT) {
				ret = -errno;
				break;
			}
			last = true;
		}
		first = false;
		for (uint32_t i = 0; i < count && !ret; i++)
			ret = cb(ctx, keys + i * key_size, values + i * value_size);
	}
out:
	free(keys);
	free(values);
	return ret;
}

struct sweep {
	int flows_fd;
	int src_track_fd;
	int halfopen_fd;
	const struct config *cfg;
	uint64_t now_ns;
	struct sweeper_result *res;
	int error;			/* the first failed write; the walk goes on */
};

static void note_error(struct sweep *s, int err)
{
	if (err < 0 && !s->error)
		s->error = err;
}

/* Delete an expired entry; true when this call deleted it. */
static bool sweep_delete(struct sweep *s, int fd, const void *key)
{
	if (!bpf_map_delete_elem(fd, key))
		return true;
	if (errno != ENOENT)
		note_error(s, -errno);
	return false;
}

static int sweep_flow(void *ctx, const void *key, void *value)
{
	struct sweep *s = ctx;
	struct gw_flow *f = value;
	uint64_t timeout = (uint64_t)sweeper_flow_timeout_adaptive(f->state, &s->res->fill) *
			   SWEEPER_NSEC,
		 seen;
	uint32_t slot = *(const uint32_t *)key;
	int ret;

	s->res->flows++;
	/* A flow stamped after our clock was read is fresh. */
	if (f->last_ns >= s->now_ns || s->now_ns - f->last_ns <= timeout)
		return 0;
	/* A packet since the batch was read keeps it; a new flow in the slot is not ours. */
	seen = f->last_ns;
	ret = sweeper_flow_reread(s->flows_fd, slot, f);
	if (ret || f->last_ns != seen) {
		note_error(s, ret == -ENOENT ? 0 : ret);
		return 0;
	}
	ret = sweeper_release(s->src_track_fd, f);
	note_error(s, ret);
	if (ret > 0)
		s->res->slots_released++;
	note_error(s, sweeper_release_halfopen(s->halfopen_fd, f));
	ret = sweeper_flow_free(s->flows_fd, slot);
	note_error(s, ret);
	if (!ret)
		s->res->flows_expired++;
	return 0;
}

static int sweep_source(void *ctx, const void *key, void *value)
{
	const struct gw_src_key *k = key;
	const struct gw_src_track *st = value;
	struct sweep *s = ctx;
	uint32_t window = 0;

	s->res->sources++;
	/* An overload is cleared by the overload path once its table is applied. */
	if (st->conns || st->overloaded)
		return 0;
	/* A rule that is gone (or has no rate) keeps no count worth waiting for. */
	if (k->rule < s->cfg->nrules)
		window = s->cfg->rules[k->rule].rule.max_src_conn_rate_seconds;
	if (sweeper_rate_decayed(st->rate_count, st->rate_last, s->now_ns / SWEEPER_NSEC, window))
		return 0;
	if (sweep_delete(s, s->src_track_fd, key))
		s->res->sources_deleted++;
	return 0;
}

/* One sweep; the flow table's only when flows. */
static int sweep_maps(int flows_fd, int src_track_fd, int halfopen_fd, const struct config *cfg,
		      uint64_t now_ns, struct sweeper_result *out, bool flows)
{
	struct sweep s = { flows_fd, src_track_fd, halfopen_fd, cfg, now_ns, out, 0 };
	int ret = 0;

	memset(out, 0, sizeof(*out));
	/* A pass over the mapped table first: the timeouts adapt to its fill. */
	if (flows)
		ret = sweeper_flow_fill(flows_fd, &out->fill);
	if (!ret && flows)
		ret = sweeper_flow_foreach(flows_fd, sweep_flow, &s);
	if (!ret)
		ret = sweeper_map_foreach(src_track_fd, sizeof(struct gw_src_key),
					  sizeof(struct gw_src_track), BPF_F_LOCK, sweep_source, &s);
	return ret ? ret : s.error;
}

int sweeper_run(int flows_fd, int src_track_fd, int halfopen_fd, const struct config *cfg,
		uint64_t now_ns, struct sweeper_result *out)
{
	return sweep_maps(flows_fd, src_track_fd, halfopen_fd, cfg, now_ns, out, true);
}

/* GW_STAT_FLOWS_CREATED summed over the CPUs. */
static int flows_created(int stats_fd, uint64_t *out)
{
	struct gw_stats sum;
	int ret = stats_read(stats_fd, &sum);

	*out = ret ? 0 : sum.v[GW_STAT_FLOWS_CREATED];
	return ret;
}

int sweeper_run_watched(struct sweeper_watch *w, int stats_fd, int flows_fd, int src_track_fd,
			int halfopen_fd, const struct config *cfg, uint64_t now_ns,
			struct sweeper_result *out, bool *skipped)
{
	uint64_t created;
	int ret = flows_created(stats_fd, &created);

	*skipped = !ret && w->empty && created == w->created;
	w->empty = false;
	ret = sweep_maps(flows_fd, src_track_fd, halfopen_fd, cfg, now_ns, out, !*skipped) ?: ret;
	if (ret)
		return ret;
	/* Every slot free once the expired ones are: empty until a flow is counted. */
	w->empty = *skipped || out->fill.free + out->flows_expired >= out->fill.slots;
	w->created = created;
	return 0;
}

struct moved_source {
	struct gw_src_key key;		/* the old key */
	struct gw_src_track value;
	int to;				/* new rule index, -1: gone */
};

struct remap {
	int flows_fd;
	int src_track_fd;
	int halfopen_fd;
	const int *new_index;
	size_t nold;
	struct moved_source *moved;	/* source entries whose key changes */
	size_t n, cap;
	int error;
};

static void remap_error(struct remap *r)
{
	if (!r->error)
		r->error = -errno;
}

static int remap_target(const struct remap *r, uint32_t rule)
{
	return rule < r->nold ? r->new_index[rule] : -1;
}

static int remap_flow(void *ctx, const void *key, void *value)
{
	struct remap *r = ctx;
	struct gw_flow *f = value;
	uint32_t slot = *(const uint32_t *)key;
	int to = remap_target(r, f->rule), ret;

	if (to == f->rule)
		return 0;
	ret = sweeper_flow_reread(r->flows_fd, slot, f);
	if (ret == -ENOENT)
		return 0;
	/* Its half-open count is kept under the old index, which another rule may now have. */
	if (!ret && sweeper_release_halfopen(r->halfopen_fd, f) < 0 && !r->error)
		r->error = -errno;
	if (!ret && to < 0) {
		/* Its source entry goes too, so there is no slot to give back. */
		ret = sweeper_flow_free(r->flows_fd, slot);
	} else if (!ret) {
		f->rule = (uint8_t)to;
		if (bpf_map_update_elem(r->flows_fd, &slot, f, BPF_ANY))
			ret = -errno;
	}
	if (ret && !r->error)
		r->error = ret;
	return 0;
}

static int remap_collect_source(void *ctx, const void *key, void *value)
{
	const struct gw_src_key *k = key;
	struct remap *r = ctx;
	int to = remap_target(r, k->rule);

	if (to == (int)k->rule)
		return 0;
	if (array_room(&r->moved, &r->cap, r->n + 1, sizeof(*r->moved), 64))
		return -ENOMEM;
	r->moved[r->n++] = (struct moved_source){ *k, *(struct gw_src_track *)value, to };
	return 0;
}

int sweeper_remap_rules(int flows_fd, int src_track_fd, int halfopen_fd, const int *new_index,
			size_t nold)
{
	struct remap r = { flows_fd, src_track_fd, halfopen_fd, new_index, nold, NULL, 0, 0, 0 };
	int ret;

	ret = sweeper_flow_foreach(flows_fd, remap_flow, &r);
	if (!ret)
		ret = sweeper_map_foreach(src_track_fd, sizeof(struct gw_src_key),
					  sizeof(struct gw_src_track), BPF_F_LOCK,
					  remap_collect_source, &r);
	/* Every old key goes before any new one is made: rule 0 may move to 3 as 3 moves on. */
	for (size_t i = 0; !ret && i < r.n; i++)
		if (bpf_map_delete_elem(src_track_fd, &r.moved[i].key) && errno != ENOENT)
			remap_error(&r);
	for (size_t i = 0; !ret && i < r.n; i++) {
		struct gw_src_key key = r.moved[i].key;

		if (r.moved[i].to < 0)
			continue;
		key.rule = (uint32_t)r.moved[i].to;
		/* An entry the new rules made since they went live wins. */
		if (bpf_map_update_elem(src_track_fd, &key, &r.moved[i].value, BPF_NOEXIST) &&
		    errno != EEXIST)
			remap_error(&r);
	}
	free(r.moved);
	return ret ? ret : r.error;
}

static bool same_rule(const struct config_rule *a, const struct config_rule *b)
{
	return !strcmp(a->text, b->text) && a->rule.dport_lo == b->rule.dport_lo &&
	       a->rule.dport_hi == b->rule.dport_hi;
}

bool sweeper_rule_map(const struct config *old, const struct config *new, int *new_index)
{
	bool claimed[GW_MAX_RULES] = { false }, moved = false;

	for (size_t i = 0; i < old->nrules && i < GW_MAX_RULES; i++) {
		new_index[i] = -1;
		for (size_t j = 0; j < new->nrules && j < GW_MAX_RULES; j++) {
			if (!claimed[j] && same_rule(&old->rules[i], &new->rules[j])) {
				claimed[j] = true;
				new_index[i] = (int)j;
				break;
			}
		}
		moved |= new_index[i] != (int)i;
	}
	return moved;
}
