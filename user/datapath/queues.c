// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Queues over rtnetlink (rtnetlink(7), tc-htb(8)): the messages `tc qdisc
 * add`, `tc class add` and `tc -s class show` would send, without tc.
 * Rates are given with a link layer (ethernet), so the kernel computes
 * transmission times itself and needs no rate tables.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/gen_stats.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datapath/datapath.h"
#include "lib/netlink.h"
#include "queue_drops.skel.h"
#include "datapath/queues.h"

#define NL_BUF 8192
/* An ethernet frame with some slack, as tc's default `mtu`; also HTB's quantum. */
#define QUEUE_FRAME 1600
/* The timer's granularity the bucket covers: 10 ms of the rate (tc: rate/HZ). */
#define QUEUE_BURST_DIV 100
#define PSCHED_SHIFT 6		/* the kernel's psched ticks: 64 ns */

struct nl_msg {
	union {
		struct nlmsghdr nlh;
		char buf[NL_BUF];
	};
};

static struct tcmsg *nl_start(struct nl_msg *m, int type, int flags, int ifindex,
			      uint32_t parent, uint32_t handle)
{
	struct tcmsg *tcm;

	memset(m, 0, NLMSG_SPACE(sizeof(*tcm)));
	m->nlh.nlmsg_len = NLMSG_LENGTH(sizeof(*tcm));
	m->nlh.nlmsg_type = (__u16)type;
	m->nlh.nlmsg_flags = (__u16)(NLM_F_REQUEST | flags);
	tcm = NLMSG_DATA(&m->nlh);
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	return tcm;
}

/* Append attribute type; returns it (for nesting) or NULL when the buffer is full. */
static struct nlattr *nl_put(struct nl_msg *m, int type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + NLMSG_ALIGN(m->nlh.nlmsg_len));
	size_t total = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + len);

	if (total > sizeof(m->buf))
		return NULL;
	a->nla_type = (__u16)type;
	a->nla_len = (__u16)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nlh.nlmsg_len = (__u32)total;
	return a;
}

/* Close a nested attribute opened with nl_put(m, type | NLA_F_NESTED, NULL, 0). */
static void nl_end(struct nl_msg *m, struct nlattr *nest)
{
	nest->nla_len = (__u16)(m->buf + m->nlh.nlmsg_len - (char *)nest);
}

/* Send m on a socket of its own and read the answers (netlink_request()). */
static int nl_talk(struct nl_msg *m, netlink_msg_fn fn, void *ctx)
{
	int fd = netlink_open(NETLINK_ROUTE), ret;

	if (fd < 0)
		return fd;
	ret = netlink_request(fd, m->buf, m->nlh.nlmsg_len, fn, ctx);
	close(fd);
	return ret;
}

void queues_rates(const struct config_queue *q, uint64_t *rate, uint64_t *ceil)
{
	*rate = q->min ? q->min : q->bandwidth;
	*ceil = q->max ? q->max : q->bandwidth;
	if (*ceil < *rate)
		*ceil = *rate;
}

/*
 * The bucket of HTB's token bucket in bytes for a rate of bytes/s: what
 * a class that was idle may send at once. tc's default is rate/HZ + mtu:
 * the frame lets one full packet through without waiting, rate/HZ covers
 * the timer's granularity. At the field's 1 kbit/s a 1600-byte bucket is
 * 12.8 s of the rate: a throttled client that paused would get that much
 * in one go, 43% over the rate in a 30 s window. So the frame is capped
 * at one second of the rate. A packet larger than the bucket still
 * passes (HTB sends whenever the bucket is not in debt and then owes the
 * packet's time), so small rates keep working with full-sized frames.
 */
static uint64_t queue_burst(uint64_t bytes)
{
	return bytes / QUEUE_BURST_DIV + (bytes < QUEUE_FRAME ? bytes : QUEUE_FRAME);
}

/* A tc_ratespec and the HTB buffer (in psched ticks) for bits/s; bytes/s past 32 bits go in *rate64. */
static uint32_t queue_rate(uint64_t bits, struct tc_ratespec *spec, uint64_t *rate64)
{
	uint64_t bytes = bits / 8 ? bits / 8 : 1;
	uint64_t ticks = queue_burst(bytes) * 1000000000ull / bytes >> PSCHED_SHIFT;

	spec->linklayer = TC_LINKLAYER_ETHERNET;
	spec->rate = bytes >= UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	*rate64 = bytes;
	return ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
}

static int add_root(int ifindex)
{
	struct tc_htb_glob glob = { .version = 3, .rate2quantum = 10, .defcls = 0 };
	struct nlattr *opts;
	struct nl_msg m;

	nl_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, ifindex, TC_H_ROOT,
		 QUEUES_HANDLE << 16);
	nl_put(&m, TCA_KIND, "htb", 4);
	opts = nl_put(&m, TCA_OPTIONS | NLA_F_NESTED, NULL, 0);
	nl_put(&m, TCA_HTB_INIT, &glob, sizeof(glob));
	nl_end(&m, opts);
	return nl_talk(&m, NULL, NULL);
}

static int add_class(int ifindex, uint32_t id, const struct config_queue *q)
{
	struct tc_htb_opt opt = { 0 };
	uint64_t rate, ceil, rate64, ceil64;
	struct nlattr *opts;
	struct nl_msg m;

	queues_rates(q, &rate, &ceil);
	opt.buffer = queue_rate(rate, &opt.rate, &rate64);
	opt.cbuffer = queue_rate(ceil, &opt.ceil, &ceil64);
	/* One frame per round: HTB's rate/r2q would be tiny for the field's 1 kbit/s. */
	opt.quantum = QUEUE_FRAME;
	nl_start(&m, RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, ifindex,
		 QUEUES_HANDLE << 16, GW_QUEUE_CLASSID(id));
	nl_put(&m, TCA_KIND, "htb", 4);
	opts = nl_put(&m, TCA_OPTIONS | NLA_F_NESTED, NULL, 0);
	nl_put(&m, TCA_HTB_PARMS, &opt, sizeof(opt));
	if (rate64 > UINT32_MAX)
		nl_put(&m, TCA_HTB_RATE64, &rate64, sizeof(rate64));
	if (ceil64 > UINT32_MAX)
		nl_put(&m, TCA_HTB_CEIL64, &ceil64, sizeof(ceil64));
	nl_end(&m, opts);
	return nl_talk(&m, NULL, NULL);
}

static int add_fifo(int ifindex, uint32_t id, uint32_t qlimit)
{
	struct tc_fifo_qopt fifo = { .limit = qlimit ? qlimit : QUEUES_DEFAULT_QLIMIT };
	struct nl_msg m;

	/* Handle 0: the kernel picks one. */
	nl_start(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, ifindex,
		 GW_QUEUE_CLASSID(id), 0);
	nl_put(&m, TCA_KIND, "pfifo", 6);
	nl_put(&m, TCA_OPTIONS, &fifo, sizeof(fifo));
	return nl_talk(&m, NULL, NULL);
}

int queues_remove(int ifindex)
{
	struct nl_msg m;
	int ret;

	nl_start(&m, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_ROOT, QUEUES_HANDLE << 16);
	ret = nl_talk(&m, NULL, NULL);
	/* ENOENT: the default root; EINVAL: a root with another handle, not ours. */
	return ret == -ENOENT || ret == -EINVAL ? 0 : ret;
}

int queues_apply(const struct config *cfg, int ifindex)
{
	int ret = queues_remove(ifindex);

	if (ret || !cfg->nqueues)
		return ret;
	ret = add_root(ifindex);
	for (size_t i = 0; !ret && i < cfg->nqueues; i++) {
		ret = add_class(ifindex, (uint32_t)i + 1, &cfg->queues[i]);
		if (!ret)
			ret = add_fifo(ifindex, (uint32_t)i + 1, cfg->queues[i].qlimit);
	}
	/* Half a set of queues shapes nothing right: none at all. */
	if (ret)
		queues_remove(ifindex);
	return ret;
}

static int for_each_interface(const struct config *cfg, bool attach, const char **failed)
{
	for (size_t i = 0; i < cfg->ninterfaces; i++) {
		int ifindex = (int)if_nametoindex(cfg->interfaces[i]);
		int ret;

		/* An interface that is gone took its qdiscs with it: nothing to remove. */
		if (!ifindex && !attach)
			continue;
		ret = !ifindex ? -ENODEV : attach ? queues_apply(cfg, ifindex)
						  : queues_remove(ifindex);
		if (ret) {
			*failed = cfg->interfaces[i];
			return ret;
		}
	}
	return 0;
}

/* Remove the drop counter's pins: unpinned and held by no one, the link detaches. */
static int drops_detach(const char *dir)
{
	static const char *const pins[] = { QUEUES_DROPS_LINK, QUEUES_DROPS_MAP };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		int ret = datapath_pin_path(path, sizeof(path), dir, pins[i]);

		if (ret)
			return ret;
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * Load bpf/queue_drops.bpf.c for this network namespace with a new map
 * and pin both in dir, in place of an earlier one: the queues were just
 * rebuilt, so their dropped bytes start from zero as HTB's counters do.
 */
static int drops_attach(const char *dir)
{
	char map_path[PATH_MAX], link_path[PATH_MAX];
	struct bpf_link *link = NULL;
	struct gw_queue_drops *skel;
	struct stat netns;
	int ret;

	ret = datapath_pin_path(map_path, sizeof(map_path), dir, QUEUES_DROPS_MAP);
	if (!ret)
		ret = datapath_pin_path(link_path, sizeof(link_path), dir, QUEUES_DROPS_LINK);
	if (!ret && stat("/proc/self/ns/net", &netns))
		ret = -errno;
	if (!ret)
		ret = drops_detach(dir);
	if (ret)
		return ret;
	skel = gw_queue_drops__open();
	if (!skel)
		return -errno;
	skel->rodata->netns_inum = (uint32_t)netns.st_ino;
	ret = gw_queue_drops__load(skel);
	if (!ret) {
		link = bpf_program__attach(skel->progs.greywall_queue_drop);
		ret = link ? 0 : -errno;
	}
	if (!ret)
		ret = bpf_map__pin(skel->maps.gw_queue_drops, map_path);
	/* The pin keeps the program attached after greywalld lets go of the link. */
	if (!ret)
		ret = bpf_link__pin(link, link_path);
	bpf_link__destroy(link);
	gw_queue_drops__destroy(skel);
	if (ret)
		drops_detach(dir);
	return ret;
}

int queues_attach(const struct config *cfg, const char **failed)
{
	int ret = for_each_interface(cfg, true, failed);

	if (ret)
		return ret;
	ret = cfg->nqueues ? drops_attach(cfg->bpf_dir) : drops_detach(cfg->bpf_dir);
	if (ret)
		*failed = QUEUES_DROPS_TRACEPOINT;
	return ret;
}

int queues_detach(const struct config *cfg, const char **failed)
{
	int ret = drops_detach(cfg->bpf_dir);

	if (ret) {
		*failed = QUEUES_DROPS_TRACEPOINT;
		return ret;
	}
	return for_each_interface(cfg, false, failed);
}

struct read_ctx {
	size_t n;
	struct queue_counters *out;
};

/* One RTM_NEWTCLASS of the dump: our classes' TCA_STATS2. */
static int read_class(const struct nlmsghdr *h, void *arg)
{
	const struct tcmsg *tcm = NLMSG_DATA(h);
	struct read_ctx *ctx = arg;
	const struct nlattr *a, *s;
	struct queue_counters *c;
	int len, slen;
	uint32_t id;

	if (h->nlmsg_type != RTM_NEWTCLASS || h->nlmsg_len < NLMSG_LENGTH(sizeof(*tcm)))
		return 0;
	id = TC_H_MIN(tcm->tcm_handle);
	if (TC_H_MAJ(tcm->tcm_handle) != QUEUES_HANDLE << 16 || !id || id > ctx->n)
		return 0;
	c = &ctx->out[id - 1];
	len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*tcm)));
	for (a = (const void *)((const char *)tcm + NLMSG_ALIGN(sizeof(*tcm)));
	     len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len), a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len))) {
		uint64_t pkt64 = 0;
		bool have_pkt64 = false;
		uint32_t pkt32 = 0;

		if ((a->nla_type & NLA_TYPE_MASK) != TCA_STATS2)
			continue;
		slen = a->nla_len - NLA_HDRLEN;
		for (s = (const void *)((const char *)a + NLA_HDRLEN);
		     slen >= NLA_HDRLEN && s->nla_len >= NLA_HDRLEN && s->nla_len <= slen;
		     slen -= NLA_ALIGN(s->nla_len),
		     s = (const void *)((const char *)s + NLA_ALIGN(s->nla_len))) {
			const void *data = (const char *)s + NLA_HDRLEN;
			size_t dlen = s->nla_len - NLA_HDRLEN;

			if (s->nla_type == TCA_STATS_BASIC && dlen >= 12) {
				const struct gnet_stats_basic *b = data;

				c->bytes += b->bytes;
				pkt32 = b->packets;
			} else if (s->nla_type == TCA_STATS_PKT64 && dlen >= 8) {
				memcpy(&pkt64, data, 8);
				have_pkt64 = true;
			} else if (s->nla_type == TCA_STATS_QUEUE && dlen >= sizeof(struct gnet_stats_queue)) {
				const struct gnet_stats_queue *q = data;

				c->drops += q->drops;
				c->qlen += q->qlen;
			}
		}
		/* The basic stats' packet count is 32 bits; newer kernels add the 64-bit one. */
		c->packets += have_pkt64 ? pkt64 : pkt32;
	}
	return 0;
}

int queues_read(int ifindex, size_t n, struct queue_counters *out)
{
	struct read_ctx ctx = { n, out };
	struct nl_msg m;

	nl_start(&m, RTM_GETTCLASS, NLM_F_DUMP, ifindex, QUEUES_HANDLE << 16, 0);
	return nl_talk(&m, read_class, &ctx);
}

/* The dropped bytes of queue ids 1..n, summed over the CPUs, into out[0..n-1]. */
static int drops_read(const char *dir, size_t n, struct queue_counters *out)
{
	int ncpus = libbpf_num_possible_cpus(), fd, ret = 0;
	char path[PATH_MAX];
	uint64_t *bytes;

	if (ncpus < 0)
		return ncpus;
	ret = datapath_pin_path(path, sizeof(path), dir, QUEUES_DROPS_MAP);
	if (ret)
		return ret;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	bytes = calloc((size_t)ncpus, sizeof(*bytes));
	if (!bytes)
		ret = -ENOMEM;
	for (uint32_t id = 1; !ret && id <= n; id++) {
		if (bpf_map_lookup_elem(fd, &id, bytes)) {
			ret = -errno;
			break;
		}
		out[id - 1].drop_bytes = 0;
		for (int cpu = 0; cpu < ncpus; cpu++)
			out[id - 1].drop_bytes += bytes[cpu];
	}
	free(bytes);
	close(fd);
	return ret;
}

int queues_read_all(const struct config *cfg, size_t n, struct queue_counters *out)
{
	int ret = 0;

	memset(out, 0, n * sizeof(*out));
	for (size_t i = 0; !ret && i < cfg->ninterfaces; i++) {
		int ifindex = (int)if_nametoindex(cfg->interfaces[i]);

		ret = ifindex ? queues_read(ifindex, n, out) : -ENODEV;
	}
	if (!ret && n)
		ret = drops_read(cfg->bpf_dir, n, out);
	return ret;
}

void queues_format_bandwidth(uint64_t bits, char *buf, size_t len)
{
	static const char units[] = "GMK";
	uint64_t div = 1000000000;

	for (const char *u = units; *u; u++, div /= 1000)
		if (bits >= div && bits % div == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(bits / div), *u);
			return;
		}
	snprintf(buf, len, "%llu", (unsigned long long)bits);
}

int queues_init(struct queues *q, const struct config *cfg)
{
	struct queue_sample *s = calloc(cfg->nqueues ? cfg->nqueues : 1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	free(q->sample);
	q->sample = s;
	q->n = cfg->nqueues;
	return 0;
}

void queues_free(struct queues *q)
{
	free(q->sample);
	q->sample = NULL;
	q->n = 0;
}

int queues_sample(struct queues *q, const struct config *cfg, int64_t now_ns)
{
	struct queue_counters *now;
	int ret = 0;

	if (!q->n)
		return 0;
	now = calloc(q->n, sizeof(*now));
	if (!now)
		return -ENOMEM;
	ret = queues_read_all(cfg, q->n, now);
	for (size_t i = 0; !ret && i < q->n; i++) {
		struct queue_sample *s = &q->sample[i];
		double secs = (double)(now_ns - s->when_ns) / 1e9;

		s->measured = s->when_ns && secs > 0 && now[i].packets >= s->c.packets &&
			      now[i].bytes >= s->c.bytes;
		if (s->measured) {
			s->pps = (double)(now[i].packets - s->c.packets) / secs;
			s->bps = (double)(now[i].bytes - s->c.bytes) * 8 / secs;
		}
		s->c = now[i];
		s->when_ns = now_ns;
	}
	free(now);
	return ret;
}
