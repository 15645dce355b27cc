/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flow tracking for max-src-conn and max-src-conn-rate (SPEC 4), shared by
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
#include <linux/errno.h>

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

/*
 * The flow tuple of pkt, and its key in gw_flows. Ingress packets come
 * from the client (it sent the SYN from outside); egress packets come from
 * the server: reversed.
 */
static __always_inline __u64 gw_flow_tuple(struct gw_flow_tuple *t, const struct gw_pkt *pkt,
					   int from_client)
{
	struct gw_flow_seed seed;
	__u32 i;

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
	for (i = 0; i < GW_FLOW_SEED_WORDS; i++)
		seed.k[i] = gw_config_get(GW_CFG_FLOW_SEED + i);
	return gw_flow_hash(t, &seed);
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

/* The flow of tuple t under key, or NULL: none, or the key holds another tuple's flow. */
static __always_inline struct gw_flow *gw_flow_lookup(__u64 key, const struct gw_flow_tuple *t)
{
	struct gw_flow *f = bpf_map_lookup_elem(&GW_MAP_FLOWS, &key);

	return f && gw_flow_tuple_equal(&f->tuple, t) ? f : NULL;
}

static __always_inline struct gw_src_track *gw_src_track_get(const struct gw_flow *f)
{
	struct gw_src_key sk = { .rule = f->rule };

	__builtin_memcpy(&sk.addr, &f->tuple.client, sizeof(sk.addr));
	return bpf_map_lookup_elem(&GW_MAP_SRC_TRACK, &sk);
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
}

/*
 * A client SYN that rule `rule` passed: track it when the rule has limits.
 * An existing flow of the same tuple is a closed one (others never reach
 * the rules), so it is replaced. Another tuple's flow under the key is
 * never replaced, whatever its state: a SYN, forged or not, must not evict
 * a flow or undo a kill; this one goes untracked, as on a full table
 * (SPEC 4). Global, as gw_flow_ingress().
 */
__noinline int gw_flow_syn(struct xdp_md *ctx, const struct gw_pkt *pkt, __u32 rule)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gw_flow f = { .state = GW_FLOW_SYN, .rule = (__u8)rule };
	struct gw_flow *old;
	struct gw_rule *r;
	__u64 key;
	__u32 ack;
	long err;

	if (!pkt)
		return 0;
	r = bpf_map_lookup_elem(&GW_MAP_RULES, &rule);
	if (!r || !gw_rule_tracks_flows(r))
		return 0;
	if (gw_tcp_seq_ack(data, data_end, pkt, &f.client_isn, &ack))
		return 0;
	f.last_ns = gw_now_ns();
	key = gw_flow_tuple(&f.tuple, pkt, 1);
	old = bpf_map_lookup_elem(&GW_MAP_FLOWS, &key);
	if (old && !gw_flow_tuple_equal(&old->tuple, &f.tuple)) {
		gw_stat_inc(GW_STAT_FLOW_COLLISIONS);
		return 0;
	}
	err = bpf_map_update_elem(&GW_MAP_FLOWS, &key, &f, old ? BPF_EXIST : BPF_NOEXIST);
	if (!err)
		return 1;
	/* EEXIST: a SYN on another CPU took the key meanwhile; its flow stays. */
	gw_stat_inc(err == -EEXIST ? GW_STAT_FLOW_COLLISIONS : GW_STAT_FLOWS_FULL);
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
 * pf_src_connlimit with SPEC 4's decaying rate); an offending handshake
 * is refused: its ACK dropped, the flow killed, and nothing of it left in
 * the counts. Returns GW_FLOW_PASS or GW_FLOW_DROP.
 */
static __always_inline int gw_flow_admit(struct gw_flow *f, __u64 now_ns)
{
	struct gw_src_key sk = { .rule = f->rule };
	__u64 now_sec = now_ns / GW_NSEC_PER_SEC, count, elapsed, limit, seconds;
	__u32 rule = f->rule, conns, over = 0, notify = 0, refused = 0;
	struct gw_src_track *t;
	struct gw_rule *r;

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
			return GW_FLOW_PASS;
		}
	}
	seconds = r->max_src_conn_rate_seconds;
	limit = (__u64)r->max_src_conn_rate * GW_RATE_MULT;

	bpf_spin_lock(&t->lock);
	if (f->state != GW_FLOW_SYNACK) {
		/* A duplicate ACK on another CPU got here first. */
		refused = f->state == GW_FLOW_KILLED;
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
	if (over || t->overloaded) {
		/* One event per source and rule until userspace has applied it. */
		notify = over && !t->overloaded;
		if (notify)
			t->overloaded = 1;
		f->state = GW_FLOW_KILLED;
		refused = 1;
	} else {
		t->conns = conns;
		t->rate_count = (__u32)count;
		t->rate_last = now_sec;
		f->state = GW_FLOW_ESTABLISHED;
		f->counted = 1;
	}
	f->last_ns = now_ns;
	bpf_spin_unlock(&t->lock);

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
 * Whether a TCP packet of port may belong to a flow of the rules in rule
 * index key rix (GW_RIX_STATEFUL, GW_RIX_QUEUED): some of those rules of
 * generation gen cover the port. Other TCP traffic skips the flow lookup,
 * which costs more than a whole pass verdict.
 */
static __always_inline int gw_port_in(__u32 gen, __u32 rix, __u16 port)
{
	__u32 k = gen * GW_RIX_MAX + rix, w;
	struct gw_ruleset *stateful, *ports;
	__u64 any = 0;

	stateful = bpf_map_lookup_elem(&GW_MAP_RULE_INDEX, &k);
	k = gen * GW_RULE_PORT_KEYS + port;
	ports = bpf_map_lookup_elem(&GW_MAP_RULE_PORTS, &k);
	if (!stateful || !ports)
		return 0;
	for (w = 0; w < GW_RULE_WORDS; w++)
		any |= stateful->bits[w] & ports->bits[w];
	return any != 0;
}

/*
 * An ingress TCP packet: the verdict of its flow, or GW_FLOW_NONE when it
 * belongs to none (or opens a new connection on a closed flow's ports) and
 * the rules decide. A tracked flow's packets skip the rules, as PF's state
 * match does; the rule that created the flow gets their packets and bytes.
 * A global function: the verifier checks it once, not once per path
 * through the rule decision around it.
 */
__noinline int gw_flow_ingress(struct xdp_md *ctx, const struct gw_pkt *pkt, __u32 gen, __u64 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gw_flow_tuple t;
	struct gw_rule_stats *st;
	struct gw_flow *f;
	int verdict = GW_FLOW_PASS, ack_only;
	__u32 seq, ack, rule;
	__u64 key;

	if (!pkt || !gw_port_in(gen & 1, GW_RIX_STATEFUL, pkt->dport))
		return GW_FLOW_NONE;
	ack_only = (pkt->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_ACK;
	key = gw_flow_tuple(&t, pkt, 1);
	f = gw_flow_lookup(key, &t);
	if (!f)
		return GW_FLOW_NONE;
	if (f->state == GW_FLOW_KILLED) {
		gw_flow_release(f);
		gw_stat_inc(GW_STAT_FLOW_KILLED_DROPS);
		return GW_FLOW_DROP;
	}
	if (pkt->tcp_flags & (GW_TCP_FIN | GW_TCP_RST)) {
		gw_flow_close(f);
		f->last_ns = gw_now_ns();
	} else if (f->state == GW_FLOW_CLOSING) {
		if (gw_is_syn(pkt))
			return GW_FLOW_NONE;
		f->last_ns = gw_now_ns();
	} else if (f->state == GW_FLOW_SYNACK && ack_only) {
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
		f->last_ns = gw_now_ns();
	}
	rule = f->rule;
	st = bpf_map_lookup_elem(&GW_MAP_RULE_STATS, &rule);
	if (st) {
		st->packets++;
		st->bytes += len;
	}
	return verdict;
}

/* A packet of flow f leaves through the queue of f's rule, if it has one (SPEC 5). */
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
	struct gw_flow_tuple t;
	struct gw_flow *f;
	__u32 seq, ack;
	int state, queued;

	state = (flags & (GW_TCP_SYN | GW_TCP_ACK)) == (GW_TCP_SYN | GW_TCP_ACK) ||
		(flags & (GW_TCP_FIN | GW_TCP_RST));
	queued = gw_port_in(gw_config_get(GW_CFG_RULE_GEN) & 1, GW_RIX_QUEUED, pkt->sport);
	if (!state && !queued)
		return;
	f = gw_flow_lookup(gw_flow_tuple(&t, pkt, 0), &t);
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
	if ((f->state != GW_FLOW_SYN && f->state != GW_FLOW_SYNACK) ||
	    gw_tcp_seq_ack(data, data_end, pkt, &seq, &ack))
		return;
	f->server_isn = seq;
	f->state = GW_FLOW_SYNACK;
	f->last_ns = gw_now_ns();
}

#endif /* __GREYWALL_FLOW_H */
