/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flow tracking for max-src-conn and max-src-conn-rate, shared by
 * XDP and TC egress. A connection counts only once its three-way handshake
 * really completed: XDP sees the client's SYN and creates the flow, TC
 * egress sees the server's SYN-ACK and records its sequence number, and the
 * client's ACK must acknowledge exactly that number. Nobody who forges a
 * source address ever sees the SYN-ACK, so spoofed SYNs and guessed ACKs
 * count nothing. The ACK that completes an offending handshake is dropped
 * here, before the server's socket becomes established.
 */
#ifndef __GREYWALL_FLOW_H
#define __GREYWALL_FLOW_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"
#include "maps.h"
#include "parse.h"

#define GW_NSEC_PER_SEC 1000000000ULL
/* PF_THRESHOLD_MULT: the rate counter counts connections in thousandths. */
#define GW_RATE_MULT 1000

/* What gw_flow_ingress() decided. */
enum gw_flow_verdict {
	GW_FLOW_NONE = 0,	/* not a tracked flow's packet: the rules decide */
	GW_FLOW_PASS,
	GW_FLOW_DROP,
	GW_FLOW_SLOW,		/* gw_flow_fast(): gw_flow_ingress() decides */
};

/*
 * The data path's clock in ns: CLOCK_MONOTONIC as userspace reads it,
 * unless a test set GW_CFG_CLOCK (whole seconds). The coarse clock: every
 * packet of a tracked flow reads it, and reading the fine one costs twice
 * a whole pass verdict where the clocksource is a hypervisor's (kvm-clock);
 * timeouts and rates are in whole seconds.
 */
static __always_inline __u64 gw_now_ns(void)
{
	__u64 sec = gw_config_get(GW_CFG_CLOCK);

	return sec ? sec * GW_NSEC_PER_SEC : bpf_ktime_get_coarse_ns();
}

/* Whether pkt is a TCP segment whose header was parsed. */
static __always_inline int gw_is_tcp(const struct gw_pkt *pkt)
{
	return pkt->l4 == GW_L4_OK && pkt->proto == IPPROTO_TCP;
}

/* A SYN that opens a connection: SYN without ACK, as `flags S/SA` means. */
static __always_inline int gw_is_syn(const struct gw_pkt *pkt)
{
	return (pkt->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN;
}

/* The sequence and acknowledgment numbers of pkt's TCP header; 0 or -1. */
static __always_inline int gw_tcp_seq_ack(void *data, void *data_end, const struct gw_pkt *pkt,
					  __u32 *seq, __u32 *ack)
{
	__u32 off = pkt->l4_off;
	struct tcphdr *th;

	if (off > GW_L4_OFF_MAX)
		return -1;
	th = data + off;
	if ((void *)(th + 1) > data_end)
		return -1;
	*seq = bpf_ntohl(th->seq);
	*ack = bpf_ntohl(th->ack_seq);
	return 0;
}

/* gw_flows' seed and size, and the tick (struct gw_flow_conf). */
static __always_inline const struct gw_flow_conf *gw_flow_conf_get(void)
{
	return &GW_MAP_FLOW_CONF;
}

/*
 * The flow tuple of pkt, and its home slot in gw_flows. Ingress packets
 * come from the client (it sent the SYN from outside); egress packets come
 * from the server: reversed.
 */
static __always_inline __u32 gw_flow_tuple(struct gw_flow_tuple *t, const struct gw_pkt *pkt,
					   int from_client, const struct gw_flow_conf *conf)
{
	if (from_client) {
		__builtin_memcpy(&t->client, &pkt->src, sizeof(t->client));
		__builtin_memcpy(&t->server, &pkt->dst, sizeof(t->server));
		t->client_port = pkt->sport;
		t->server_port = pkt->dport;
	} else {
		__builtin_memcpy(&t->client, &pkt->dst, sizeof(t->client));
		__builtin_memcpy(&t->server, &pkt->src, sizeof(t->server));
		t->client_port = pkt->dport;
		t->server_port = pkt->sport;
	}
	t->pad = 0;
	if (pkt->family == 4)
		return gw_flow_home(gw_flow_hash4(t, &conf->seed, conf->v4_terms), conf->mask);
	return gw_flow_home(gw_flow_hash(t, &conf->seed), conf->mask);
}

static __always_inline int gw_flow_tuple_equal(const struct gw_flow_tuple *a,
					       const struct gw_flow_tuple *b)
{
	__u64 diff = 0;
	__u32 i;

	for (i = 0; i < GW_FLOW_SEED_WORDS; i++)
		diff |= a->words[i] ^ b->words[i];
	return diff == 0;
}

/* Slot i of the GW_FLOW_PROBE slots from home, or NULL. */
static __always_inline struct gw_flow *gw_flow_slot(const struct gw_flow_conf *conf, __u32 home,
						    __u32 i)
{
	__u32 slot = (home + i) & conf->mask;

	return bpf_map_lookup_elem(&GW_MAP_FLOWS, &slot);
}

/* Whether slot f holds the flow of tuple t. */
static __always_inline int gw_flow_holds(const struct gw_flow *f, const struct gw_flow_tuple *t)
{
	/* The ports' word first: it tells most other flows apart. */
	return f && f->tuple.words[4] == t->words[4] && f->state != GW_FLOW_FREE &&
	       gw_flow_tuple_equal(&f->tuple, t);
}

/* The flow of tuple t, whose home slot is home, or NULL. */
static __always_inline struct gw_flow *gw_flow_lookup(const struct gw_flow_conf *conf, __u32 home,
						      const struct gw_flow_tuple *t)
{
	struct gw_flow *f = gw_flow_slot(conf, home, 0);
	__u32 i;

	/* Most flows sit in their home slot. */
	if (gw_flow_holds(f, t))
		return f;
	/* Unrolled: no probe's slot address waits on the one before. */
#pragma unroll
	for (i = 1; i < GW_FLOW_PROBE; i++) {
		f = gw_flow_slot(conf, home, i);
		if (gw_flow_holds(f, t))
			return f;
	}
	return NULL;
}

static __always_inline struct gw_src_track *gw_src_track_get(const struct gw_flow *f)
{
	struct gw_src_key sk = { .rule = f->rule };

	__builtin_memcpy(&sk.addr, &f->tuple.client, sizeof(sk.addr));
	return bpf_map_lookup_elem(&GW_MAP_SRC_TRACK, &sk);
}

/* A slot's claim word with these fields (struct gw_flow). */
static __always_inline __u64 gw_flow_claim_word(__u8 state, __u8 rule, __u8 counted,
						__u8 halfopen, __u32 gen)
{
	struct gw_flow w = { .state = state, .rule = rule, .counted = counted,
			     .halfopen = halfopen, .gen = gen };

	return w.claim;
}

/* The key of the client of flow tuple t under rule. */
static __always_inline void gw_src_key_of(struct gw_src_key *k, const struct gw_flow_tuple *t,
					  __u32 rule)
{
	__builtin_memcpy(&k->addr, &t->client, sizeof(k->addr));
	k->rule = rule;
}

/* Give back one of the source's half-open flows (struct gw_src_halfopen). */
static __always_inline void gw_halfopen_give(const struct gw_src_key *k)
{
	struct gw_src_halfopen *h = bpf_map_lookup_elem(&GW_MAP_SRC_HALFOPEN, k);

	/* Never below 0 by a give-back of a count that was reset meanwhile. */
	if (h && h->count > 0)
		__sync_fetch_and_add(&h->count, -1);
}

/*
 * Give back the half-open flow f holds in its source's count, once: the
 * flag is taken from the claim word atomically, so of two CPUs closing or
 * completing f at once only one gives it back.
 */
static __always_inline void gw_flow_halfopen_release(struct gw_flow *f)
{
	__u64 bit = gw_flow_claim_word(0, 0, 0, 1, 0);
	struct gw_src_key k;

	if (!f->halfopen || !(__sync_fetch_and_and(&f->claim, ~bit) & bit))
		return;
	gw_src_key_of(&k, &f->tuple, f->rule);
	gw_halfopen_give(&k);
}

/*
 * Take one of the source's half-open flows under rule r: 1 taken, 0 not
 * counted (the LRU map refused an entry: the flow table's bound still
 * holds), -1 refused, the source holds its bound: max-src-states counts
 * its half-open and its counted flows, else GW_SRC_HALFOPEN_DEFAULT its
 * half-open ones.
 */
static __always_inline int gw_halfopen_take(const struct gw_src_key *k, const struct gw_rule *r,
					    __u64 now_sec)
{
	struct gw_src_halfopen *h = bpf_map_lookup_elem(&GW_MAP_SRC_HALFOPEN, k);
	__s64 held, limit = GW_SRC_HALFOPEN_DEFAULT;

	if (!h) {
		struct gw_src_halfopen fresh = { .last_sec = (__u32)now_sec };

		bpf_map_update_elem(&GW_MAP_SRC_HALFOPEN, k, &fresh, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&GW_MAP_SRC_HALFOPEN, k);
		if (!h)
			return 0;
	}
	if ((__u32)now_sec - h->last_sec > GW_SRC_HALFOPEN_STALE)
		h->count = 0;
	held = h->count;
	if (r->max_src_states) {
		struct gw_src_track *t = bpf_map_lookup_elem(&GW_MAP_SRC_TRACK, k);

		limit = r->max_src_states;
		if (t)
			held += t->conns;
	}
	if (held >= limit)
		return -1;
	__sync_fetch_and_add(&h->count, 1);
	h->last_sec = (__u32)now_sec;
	return 1;
}

/*
 * Give back the slot a counted flow holds in its source's conns, once:
 * `counted` changes only under the source's lock.
 */
static __always_inline void gw_flow_release(struct gw_flow *f)
{
	struct gw_src_track *t;

	if (!f->counted)
		return;
	t = gw_src_track_get(f);
	if (!t) {
		/* Userspace removed the source's entry: nothing left to give back. */
		f->counted = 0;
		return;
	}
	bpf_spin_lock(&t->lock);
	if (f->counted) {
		f->counted = 0;
		if (t->conns)
			t->conns--;
	}
	bpf_spin_unlock(&t->lock);
}

/* FIN or RST, either way: the connection no longer counts. Killed flows stay killed. */
static __always_inline void gw_flow_close(struct gw_flow *f)
{
	if (f->state == GW_FLOW_KILLED)
		return;
	f->state = GW_FLOW_CLOSING;
	gw_flow_release(f);
	gw_flow_halfopen_release(f);
}

/* Write a new flow's numbers into slot f, which the caller holds. */
static __always_inline void gw_flow_start(struct gw_flow *f, const struct gw_flow_tuple *t,
					  __u32 client_isn, __u64 now_ns)
{
	__builtin_memcpy(&f->tuple, t, sizeof(f->tuple));
	f->client_isn = client_isn;
	f->server_isn = 0;
	f->counted = 0;
	/* Last: a stamp of 0 tells the sweeper a SYN is still writing the slot. */
	f->last_ns = now_ns;
}

/* How readily a slot's flow gives way to a new SYN: 0 never, else the lower the sooner. */
static __always_inline __u32 gw_flow_yield_class(__u64 word)
{
	struct gw_flow w = { .claim = word };

	/* A counted flow, even closing, holds its source's conns until it gives them back. */
	if (w.counted)
		return 0;
	switch (w.state) {
	case GW_FLOW_CLOSING:
		return 1;
	case GW_FLOW_SYN:
		return 2;
	case GW_FLOW_SYNACK:
		return 3;
	}
	return 0;
}

/*
 * A slot for a new flow among the GW_FLOW_PROBE from home, taken with the
 * claim word claim (gen 0): the first free one, else the one whose flow
 * gives way soonest (gw_flow_yield_class(): closing before half-open, a
 * SYN the server has not answered before one it has, oldest first), whose
 * half-open count goes back to its source. NULL: every slot holds an
 * established or killed flow (or a SYN still writing it), or another CPU
 * took the chosen slot first.
 */
static __always_inline struct gw_flow *gw_flow_claim(const struct gw_flow_conf *conf, __u32 home,
						     __u64 claim)
{
	struct gw_flow *f, *victim = NULL, old;
	__u64 word, victim_word = 0, victim_ns = 0;
	__u32 i, class, victim_class = 4;
	struct gw_src_key k;

	for (i = 0; i < GW_FLOW_PROBE; i++) {
		f = gw_flow_slot(conf, home, i);
		if (!f || f->claim)
			continue;
		if (!__sync_val_compare_and_swap(&f->claim, 0, claim))
			return f;
	}
	gw_stat_inc(GW_STAT_FLOWS_FULL);
	for (i = 0; i < GW_FLOW_PROBE; i++) {
		f = gw_flow_slot(conf, home, i);
		if (!f)
			continue;
		word = f->claim;
		class = gw_flow_yield_class(word);
		/* A last_ns of 0: a SYN is still writing the slot. */
		if (!class || !f->last_ns || class > victim_class ||
		    (class == victim_class && f->last_ns >= victim_ns))
			continue;
		victim = f;
		victim_word = word;
		victim_class = class;
		victim_ns = f->last_ns;
	}
	if (!victim)
		return NULL;
	/* The slot's own gen, counted up: a later look at it knows it changed hands. */
	old.claim = victim_word;
	claim |= gw_flow_claim_word(0, 0, 0, 0, old.gen + 1);
	if (__sync_val_compare_and_swap(&victim->claim, victim_word, claim) != victim_word)
		return NULL;
	if (old.halfopen) {
		gw_src_key_of(&k, &victim->tuple, old.rule);
		gw_halfopen_give(&k);
	}
	gw_stat_inc(GW_STAT_FLOWS_EVICTED);
	return victim;
}

/*
 * A client SYN that rule `rule` passed: track it when the rule tracks
 * flows. Returns 0 to pass it, -1 to drop it: the source holds its bound
 * of half-open flows (GW_STAT_SRC_STATES_DROPS), or no slot could be had
 * (GW_STAT_FLOWS_FULL_DROPS). A SYN the data path cannot track is never
 * passed: its connection would escape the limits. An existing
 * flow of the same tuple is a closed one (others never reach the rules),
 * so it starts over in its slot; otherwise the SYN takes a slot by
 * compare-and-swap (gw_flow_claim()), so a SYN on another CPU never writes
 * over it. Global, as gw_flow_ingress().
 */
__noinline int gw_flow_syn(struct xdp_md *ctx, const struct gw_pkt *pkt, __u32 rule)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 claim = gw_flow_claim_word(GW_FLOW_SYN, (__u8)rule, 0, 0, 0), word;
	const struct gw_flow_conf *conf;
	struct gw_flow_tuple t;
	struct gw_flow *f, old;
	struct gw_src_key k;
	struct gw_rule *r;
	__u32 home, isn, ack;
	int held;
	__u64 now;

	if (!pkt)
		return 0;
	r = bpf_map_lookup_elem(&GW_MAP_RULES, &rule);
	conf = gw_flow_conf_get();
	if (!r || !gw_rule_tracks_flows(r))
		return 0;
	if (gw_tcp_seq_ack(data, data_end, pkt, &isn, &ack))
		return 0;
	now = gw_now_ns();
	home = gw_flow_tuple(&t, pkt, 1, conf);
	gw_src_key_of(&k, &t, rule);
	held = gw_halfopen_take(&k, r, now / GW_NSEC_PER_SEC);
	if (held < 0) {
		gw_stat_inc(GW_STAT_SRC_STATES_DROPS);
		return -1;
	}
	claim |= gw_flow_claim_word(0, 0, 0, (__u8)held, 0);
	f = gw_flow_lookup(conf, home, &t);
	if (f) {
		/* Closed and uncounted, else another CPU moved it on: this SYN waits for none. */
		word = f->claim;
		old.claim = word;
		claim |= gw_flow_claim_word(0, 0, 0, 0, old.gen);
		if (gw_flow_yield_class(word) != 1 ||
		    __sync_val_compare_and_swap(&f->claim, word, claim) != word)
			f = NULL;
	} else {
		f = gw_flow_claim(conf, home, claim);
	}
	if (!f) {
		if (held)
			gw_halfopen_give(&k);
		gw_stat_inc(GW_STAT_FLOWS_FULL_DROPS);
		return -1;
	}
	gw_flow_start(f, &t, isn, now);
	/* After the flow is stamped: a sweeper that reads this count sees the flow too. */
	gw_stat_inc(GW_STAT_FLOWS_CREATED);
	return 0;
}

/* Tell greywalld; on a full ring the next handshake tries again. */
static __always_inline void gw_flow_overload_event(const struct gw_flow *f,
						   struct gw_src_track *t, __u32 type,
						   __u32 rule, __u32 conns, __u32 count,
						   __u64 now_sec)
{
	struct gw_rule_stats *st;
	struct gw_event ev = {
		.type = type,
		.rule = rule,
		.conns = conns,
		.rate_count = count,
		.when = now_sec,
	};

	__builtin_memcpy(&ev.addr, &f->tuple.client, sizeof(ev.addr));
	if (bpf_ringbuf_output(&GW_MAP_EVENTS, &ev, sizeof(ev), 0)) {
		gw_stat_inc(GW_STAT_EVENTS_LOST);
		t->overloaded = 0;
		return;
	}
	st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &rule);
	if (st)
		st->overloads++;
}

/*
 * The client's ACK acknowledged the server's SYN-ACK: the connection is
 * established. Count it against the source's limits for the rule (PF's
 * pf_src_connlimit with its decaying rate); an offending handshake
 * is refused: its ACK dropped, the flow killed, and nothing of it left in
 * the counts. Returns GW_FLOW_PASS or GW_FLOW_DROP.
 */
static __always_inline int gw_flow_admit(struct gw_flow *f, __u64 now_ns)
{
	struct gw_src_key sk = { .rule = f->rule };
	__u64 now_sec = now_ns / GW_NSEC_PER_SEC, count, elapsed, limit, seconds;
	__u32 rule = f->rule, conns, over = 0, notify = 0, refused = 0;
	struct gw_src_track *t;
	struct gw_flow before;
	struct gw_rule *r;
	__u64 word;

	r = bpf_map_lookup_elem(&GW_MAP_RULES, &rule);
	if (!r)
		return GW_FLOW_PASS;
	t = gw_src_track_get(f);
	if (!t) {
		struct gw_src_track fresh = {};

		__builtin_memcpy(&sk.addr, &f->tuple.client, sizeof(sk.addr));
		/* EEXIST: another CPU created it meanwhile; the lookup finds it. */
		bpf_map_update_elem(&GW_MAP_SRC_TRACK, &sk, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&GW_MAP_SRC_TRACK, &sk);
		if (!t) {
			/* Full: established but counted nowhere, never blocked for it. */
			gw_stat_inc(GW_STAT_SRC_TRACK_FULL);
			f->state = GW_FLOW_ESTABLISHED;
			f->last_ns = now_ns;
			gw_flow_halfopen_release(f);
			return GW_FLOW_PASS;
		}
	}
	seconds = r->max_src_conn_rate_seconds;
	limit = (__u64)r->max_src_conn_rate * GW_RATE_MULT;

	bpf_spin_lock(&t->lock);
	word = f->claim;
	before.claim = word;
	if (before.state != GW_FLOW_SYNACK) {
		/* A duplicate ACK on another CPU got here first. */
		refused = before.state == GW_FLOW_KILLED;
		bpf_spin_unlock(&t->lock);
		return refused ? GW_FLOW_DROP : GW_FLOW_PASS;
	}
	conns = t->conns + 1;
	/* The rate is PF's pf_add_threshold(), kept only for a rule with a rate limit. */
	count = 0;
	if (limit && seconds) {
		count = t->rate_count;
		elapsed = now_sec > t->rate_last ? now_sec - t->rate_last : 0;
		if (elapsed >= seconds)
			count = 0;
		else
			count -= count * elapsed / seconds;
		count += GW_RATE_MULT;
	}
	if (r->max_src_conn && conns > r->max_src_conn)
		over = GW_EV_OVERLOAD_CONN;
	else if (limit && count > limit)
		over = GW_EV_OVERLOAD_RATE;
	refused = over || t->overloaded;
	/*
	 * The flow's new state by compare-and-swap: a SYN that took the slot
	 * over since it was found (gw_flow_claim()) keeps it, and nothing is
	 * counted for a slot that is no longer this flow's.
	 */
	if (__sync_val_compare_and_swap(&f->claim, word,
					gw_flow_claim_word(refused ? GW_FLOW_KILLED
								   : GW_FLOW_ESTABLISHED,
							   before.rule, !refused, 0, before.gen)) !=
	    word) {
		bpf_spin_unlock(&t->lock);
		return GW_FLOW_DROP;
	}
	if (refused) {
		/* One event per source and rule until userspace has applied it. */
		notify = over && !t->overloaded;
		if (notify)
			t->overloaded = 1;
	} else {
		t->conns = conns;
		t->rate_count = (__u32)count;
		t->rate_last = now_sec;
	}
	f->last_ns = now_ns;
	bpf_spin_unlock(&t->lock);
	if (before.halfopen) {
		gw_src_key_of(&sk, &f->tuple, rule);
		gw_halfopen_give(&sk);
	}

	if (!refused) {
		gw_stat_inc(GW_STAT_HANDSHAKES);
		return GW_FLOW_PASS;
	}
	gw_stat_inc(GW_STAT_OVERLOAD_DROPS);
	if (notify)
		gw_flow_overload_event(f, t, over, rule, conns, (__u32)count, now_sec);
	return GW_FLOW_DROP;
}

/*
 * What generation gen's rules track on TCP port (struct gw_flow_port),
 * NULL when nothing: other TCP traffic skips the flow lookup, whose
 * misses probe GW_FLOW_PROBE slots.
 */
static __always_inline const struct gw_flow_port *gw_flow_port(__u32 gen, __u8 flag, __u16 port)
{
	__u32 k = gen * GW_FLOW_PORT_KEYS + port;
	const struct gw_flow_port *p = bpf_map_lookup_elem(&GW_MAP_FLOW_PORTS, &k);

	return p && (p->flags & flag) ? p : NULL;
}

/*
 * A packet of flow f that changes nothing else: its time, from the
 * sweeper's tick, which changes once a second: no write (and no cache
 * line taken from the other CPUs) for the packets in between.
 */
static __always_inline void gw_flow_touch(struct gw_flow *f, const struct gw_flow_conf *conf)
{
	__u64 now = conf->tick_ns ? conf->tick_ns : gw_now_ns();

	if (f->last_ns != now)
		f->last_ns = now;
}

/* A flow's packet of len bytes on the counters st of its rule (NULL: none). */
static __always_inline void gw_flow_count(struct gw_rule_stats *st, __u64 len)
{
	if (st) {
		st->packets++;
		st->bytes += len;
	}
}

/*
 * Most packets of tracked flows: those of an established flow, neither
 * SYN, FIN nor RST. Inline, before the rules: GW_FLOW_PASS when it took
 * the packet, GW_FLOW_NONE when the port's rules track no flows or the
 * packet has none, GW_FLOW_SLOW when gw_flow_ingress() must decide. The counters of the
 * port's likely rule are looked up while the flow is found, off the chain
 * of loads that finds it; the flow's own rule's only when the guess was
 * wrong.
 */
static __always_inline int gw_flow_fast(const struct gw_pkt *pkt, __u32 gen, __u64 len)
{
	const struct gw_flow_port *port;
	const struct gw_flow_conf *conf;
	struct gw_rule_stats *st;
	struct gw_flow_tuple t;
	struct gw_flow *f;
	__u32 rule;

	port = gw_flow_port(gen, GW_FLOW_PORT_STATEFUL, pkt->dport);
	if (!port)
		return GW_FLOW_NONE;
	/*
	 * Straight to gw_flow_ingress(), not a lookup here and another there:
	 * a SYN mostly has no flow yet (a flood of them, none), and FIN and
	 * RST change their flow's state.
	 */
	if (pkt->tcp_flags & (GW_TCP_SYN | GW_TCP_FIN | GW_TCP_RST))
		return GW_FLOW_SLOW;
	conf = gw_flow_conf_get();
	rule = port->rule;
	st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &rule);
	f = gw_flow_lookup(conf, gw_flow_tuple(&t, pkt, 1, conf), &t);
	/* No flow: the rules decide, as gw_flow_ingress() would say after probing again. */
	if (!f)
		return GW_FLOW_NONE;
	if (f->state != GW_FLOW_ESTABLISHED)
		return GW_FLOW_SLOW;
	gw_flow_touch(f, conf);
	if (f->rule != rule) {
		rule = f->rule;
		st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &rule);
	}
	gw_flow_count(st, len);
	return GW_FLOW_PASS;
}

/*
 * An ingress TCP packet on a port whose rules track flows that
 * gw_flow_fast() did not take: the verdict of its flow, or GW_FLOW_NONE
 * when it belongs to none (or opens a new connection on a closed flow's
 * ports) and the rules decide. A tracked flow's packets skip the rules, as
 * PF's state match does; the rule that created the flow gets their packets
 * and bytes. A global function: the verifier checks it once, not once per
 * path through the rule decision around it.
 */
__noinline int gw_flow_ingress(struct xdp_md *ctx, const struct gw_pkt *pkt, __u64 len)
{
	struct gw_flow_tuple t;
	struct gw_flow *f;
	int verdict = GW_FLOW_PASS, ack_only;
	const struct gw_flow_conf *conf;
	__u32 seq, ack, rule;

	if (!pkt)
		return GW_FLOW_NONE;
	conf = gw_flow_conf_get();
	ack_only = (pkt->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_ACK;
	f = gw_flow_lookup(conf, gw_flow_tuple(&t, pkt, 1, conf), &t);
	if (!f)
		return GW_FLOW_NONE;
	if (f->state == GW_FLOW_ESTABLISHED && !(pkt->tcp_flags & (GW_TCP_FIN | GW_TCP_RST))) {
		/* Most packets, first. */
		gw_flow_touch(f, conf);
	} else if (f->state == GW_FLOW_KILLED) {
		gw_flow_release(f);
		gw_stat_inc(GW_STAT_FLOW_KILLED_DROPS);
		return GW_FLOW_DROP;
	} else if (pkt->tcp_flags & (GW_TCP_FIN | GW_TCP_RST)) {
		gw_flow_close(f);
		f->last_ns = gw_now_ns();
	} else if (f->state == GW_FLOW_CLOSING) {
		if (gw_is_syn(pkt))
			return GW_FLOW_NONE;
		f->last_ns = gw_now_ns();
	} else if (f->state == GW_FLOW_SYNACK && ack_only) {
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;

		if (gw_tcp_seq_ack(data, data_end, pkt, &seq, &ack) || ack != f->server_isn + 1) {
			/* Guessed or stale: it changes nothing, the server's TCP judges it. */
			gw_stat_inc(GW_STAT_BAD_ACK);
			return GW_FLOW_PASS;
		}
		verdict = gw_flow_admit(f, gw_now_ns());
	} else if (f->state == GW_FLOW_SYN && ack_only) {
		/* An ACK before any SYN-ACK went out can only be a guess. */
		gw_stat_inc(GW_STAT_BAD_ACK);
		return GW_FLOW_PASS;
	} else {
		gw_flow_touch(f, conf);
	}
	rule = f->rule;
	gw_flow_count(bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &rule), len);
	return verdict;
}

/* A packet of flow f leaves through the queue of f's rule (`set queue`), if it has one. */
static __always_inline void gw_flow_queue(struct __sk_buff *skb, const struct gw_flow *f)
{
	__u32 rule = f->rule;
	struct gw_rule *r = bpf_map_lookup_elem(&GW_MAP_RULES, &rule);

	if (r && r->queue)
		skb->priority = GW_QUEUE_CLASSID(r->queue);
}

/*
 * An egress TCP packet from the server: its SYN-ACK gives the number the
 * client's ACK must acknowledge; its FIN or RST closes the flow; on the
 * ports of a queued rule every packet goes to its flow's queue. Other
 * egress packets do not look flows up.
 */
static __always_inline void gw_flow_egress(struct __sk_buff *skb, void *data, void *data_end,
					   const struct gw_pkt *pkt)
{
	__u8 flags = pkt->tcp_flags;
	const struct gw_flow_conf *conf;
	struct gw_flow_tuple t;
	struct gw_flow *f, before;
	__u32 seq, ack;
	int state, queued;
	__u64 word;

	state = (flags & (GW_TCP_SYN | GW_TCP_ACK)) == (GW_TCP_SYN | GW_TCP_ACK) ||
		(flags & (GW_TCP_FIN | GW_TCP_RST));
	queued = !!gw_flow_port(gw_config_get(GW_CFG_RULE_GEN) & 1, GW_FLOW_PORT_QUEUED, pkt->sport);
	if (!state && !queued)
		return;
	conf = gw_flow_conf_get();
	f = gw_flow_lookup(conf, gw_flow_tuple(&t, pkt, 0, conf), &t);
	if (!f)
		return;
	if (queued)
		gw_flow_queue(skb, f);
	if (!state)
		return;
	if (flags & (GW_TCP_FIN | GW_TCP_RST)) {
		gw_flow_close(f);
		return;
	}
	/* A retransmitted SYN-ACK may carry a new number (the client's SYN was new too). */
	word = f->claim;
	before.claim = word;
	if ((before.state != GW_FLOW_SYN && before.state != GW_FLOW_SYNACK) ||
	    gw_tcp_seq_ack(data, data_end, pkt, &seq, &ack))
		return;
	f->server_isn = seq;
	/* Not over a handshake completing, or a SYN taking the slot over, meanwhile. */
	if (before.state == GW_FLOW_SYN &&
	    __sync_val_compare_and_swap(&f->claim, word,
					gw_flow_claim_word(GW_FLOW_SYNACK, before.rule, before.counted,
							   before.halfopen, before.gen)) != word)
		return;
	f->last_ns = gw_now_ns();
}

#endif /* __GREYWALL_FLOW_H */
