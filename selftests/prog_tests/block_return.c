// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * `block return` (bpf/reply.h): TCP answered with a RST, other protocols
 * with ICMP or ICMPv6 port unreachable, sent back with XDP_TX; what must
 * not be answered (RSTs, ICMP, multicast and broadcast, fragments, cut
 * headers) is dropped. Each case runs twice: through fx_run_case() for the
 * verdict, the counters and the rule stats of a block, and once more for
 * the frame that leaves, checked field by field against the one that came
 * in, its checksums recomputed.
 */
#include <string.h>

#include <linux/icmp.h>
#include <linux/icmpv6.h>

#include "cases.h"

enum reply_kind {
	NO_REPLY = 0,
	REPLY_RST,
	REPLY_UNREACH,
};

struct return_case {
	const char *desc;
	struct pkt_spec pkt;
	size_t trunc;		/* run only the first trunc bytes (0: the whole packet) */
	int reply;		/* enum reply_kind */
	bool scrubbed;		/* dropped before the rules (scrub.c): none evaluated */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define RETURN_RULE RULE(GW_ACT_BLOCK_RETURN, .src_tables = T_BLOCK)
#define VLAN1 .nvlan = 1, .vlan_id = { 7 }
#define QINQ .nvlan = 2, .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }, .vlan_id = { 100, 200 }
#define FRAG_NON_FIRST (185 << 3)
#define ESTABLISHED .tcp_flags = TCP_ACK | TCP_PSH, .seq = 5000, .ack = 0xfffffff0, .payload = 100

static const struct return_case return_cases[] = {
	{ "ipv4 SYN: RST|ACK acknowledging the SYN", TCP4(), 0, REPLY_RST },
	{ "ipv4 ACK with 100 bytes: RST at its ack", TCP4(ESTABLISHED), 0, REPLY_RST },
	{ "ipv4 FIN with 10 bytes, no ACK: RST|ACK past data and FIN",
	  TCP4(.tcp_flags = TCP_FIN | TCP_PSH, .seq = 0xfffffffa, .payload = 10), 0, REPLY_RST },
	{ "ipv4 SYN with 12 bytes of IP options: RST without options",
	  TCP4(.ip_opts_len = 12), 0, REPLY_RST },
	{ "ipv4 SYN in an 802.1Q tag: RST keeps the tag", TCP4(VLAN1), 0, REPLY_RST },
	{ "ipv4 ACK in 802.1ad + 802.1Q: RST keeps both tags", TCP4(QINQ, ESTABLISHED), 0,
	  REPLY_RST },
	{ "ipv6 SYN: RST|ACK", TCP6(), 0, REPLY_RST },
	{ "ipv6 ACK with 100 bytes: RST at its ack", TCP6(ESTABLISHED), 0, REPLY_RST },
	{ "ipv6 SYN behind a hop-by-hop header: RST without it",
	  TCP6(.next = 1, .ext = { IPPROTO_HOPOPTS }), 0, REPLY_RST },
	{ "ipv6 SYN in an 802.1Q tag: RST keeps the tag", TCP6(VLAN1), 0, REPLY_RST },
	{ "ipv4 UDP: port unreachable quoting IP header + 8", UDP4(), 0, REPLY_UNREACH },
	{ "ipv4 UDP with 40 bytes of IP options: the quote has them", UDP4(.ip_opts_len = 40), 0,
	  REPLY_UNREACH },
	{ "ipv4 UDP in an 802.1Q tag: unreachable keeps the tag", UDP4(VLAN1), 0, REPLY_UNREACH },
	{ "ipv4 other protocol (GRE): port unreachable",
	  { .family = 4, .proto = 47, .payload = 20 }, 0, REPLY_UNREACH },
	{ "ipv6 UDP: ICMPv6 port unreachable", UDP6(), 0, REPLY_UNREACH },
	{ "ipv6 UDP behind destination options: the quote has them",
	  UDP6(.next = 1, .ext = { IPPROTO_DSTOPTS }, .ext_len = { 1 }), 0, REPLY_UNREACH },
	{ "ipv6 UDP in 802.1ad + 802.1Q: unreachable keeps both tags", UDP6(QINQ), 0,
	  REPLY_UNREACH },
	{ "ipv4 RST is not answered", TCP4(.tcp_flags = TCP_RST | TCP_ACK, .ack = 9), 0, NO_REPLY },
	{ "ipv6 RST is not answered", TCP6(.tcp_flags = TCP_RST), 0, NO_REPLY },
	{ "ipv4 echo request is not answered", ICMP4(), 0, NO_REPLY },
	{ "ipv4 ICMP error is not answered", ICMP4(.icmp_type = 3, .icmp_code = 3), 0, NO_REPLY },
	{ "ipv6 echo request is not answered", ICMP6(), 0, NO_REPLY },
	{ "ipv6 ICMPv6 error is not answered", ICMP6(.icmp_type = 1, .icmp_code = 4), 0,
	  NO_REPLY },
	{ "truncated ipv4 TCP header is not answered", TCP4(), 14 + 20 + 10, NO_REPLY, true },
	{ "truncated ipv6 UDP header is not answered", UDP6(), 14 + 40 + 4, NO_REPLY, true },
	{ "tiny ipv4 first fragment is not answered", TCP4(.ip_frag = 0x2000, .ip_len = 20 + 8),
	  0, NO_REPLY, true },
	{ "other protocol with under 8 bytes to quote is not answered",
	  { .family = 4, .proto = 47, .payload = 4 }, 0, NO_REPLY },
	{ "ipv4 non-first fragment is not answered", UDP4(.ip_frag = 3), 0, NO_REPLY },
	{ "ipv6 non-first fragment is not answered",
	  UDP6(.next = 1, .ext = { IPPROTO_FRAGMENT }, .ext_frag = { FRAG_NON_FIRST }), 0,
	  NO_REPLY },
	{ "ipv4 UDP to a multicast group is not answered", UDP4(.dst = "224.0.0.251"), 0,
	  NO_REPLY },
	{ "ipv4 UDP to the broadcast address is not answered", UDP4(.dst = "255.255.255.255"), 0,
	  NO_REPLY },
	{ "ipv4 TCP from 0.0.0.0 is not answered", TCP4(.src = "0.0.0.0"), 0, NO_REPLY },
	{ "ipv4 UDP from a multicast address is not answered", UDP4(.src = "239.1.2.3"), 0,
	  NO_REPLY },
	{ "ipv6 UDP to a multicast group is not answered", UDP6(.dst = "ff02::fb"), 0, NO_REPLY },
	{ "ipv6 TCP from :: is not answered", TCP6(.src = "::"), 0, NO_REPLY },
	{ "ipv6 quote over 128 bytes is not answered",
	  UDP6(.next = 1, .ext = { IPPROTO_DSTOPTS }, .ext_len = { 10 }), 0, NO_REPLY },
};

/* The packet's source as pkt_build() writes it: the address the rule's table holds. */
static const char *source(const struct pkt_spec *s)
{
	if (s->src)
		return s->src;
	return s->family == 6 ? "2001:db8:1::7" : "198.51.100.7";
}

/* Verdict, stats, counters and rule stats: those of a block, plus the reply's counter. */
static void run_verdict(const struct return_case *c)
{
	struct xdp_case x = {
		.desc = c->desc,
		.pkt = c->pkt,
		.trunc = c->trunc,
		.before = { { source(&c->pkt), T_BLOCK } },
		.rules = { RETURN_RULE },
		.nrules = 1,
		.counter_tables = T_BLOCK,
		.verdict = c->reply ? XDP_TX : XDP_DROP,
		.stats = { FX_STAT(GW_STAT_RETURN_RST, c->reply == REPLY_RST),
			   FX_STAT(GW_STAT_RETURN_ICMP, c->reply == REPLY_UNREACH),
			   FX_STAT(GW_STAT_DROP, c->reply == NO_REPLY), FX_STAT(GW_STAT_PASS, 0) },
		.counters = { { source(&c->pkt), GW_DIR_IN_BLOCK, 1 } },
		.rule_stats = { FX_RULE_STATS(0, !c->scrubbed, !c->scrubbed) },
	};

	fx_run_case(&x);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/*
 * The link layer and IP header of a reply: MACs swapped, tags and
 * EtherType as received, addresses swapped, TTL 64, the upper layer proto,
 * lengths that end where the frame ends. Returns the IP header's length.
 */
static size_t check_ip(const char *desc, const uint8_t *in, const struct pkt_layout *lay,
		       const uint8_t *out, uint32_t out_len, uint8_t proto)
{
	size_t l3 = lay->l3_off, alen, iplen;
	const uint8_t *ip = out + l3, *orig = in + l3;
	int family = orig[0] >> 4;

	CHECK(!memcmp(out, in + 6, 6) && !memcmp(out + 6, in, 6), "%s: MACs swapped", desc);
	CHECK(!memcmp(out + 12, in + 12, l3 - 12), "%s: tags and EtherType as received", desc);
	if (family == 4) {
		alen = 4;
		iplen = 20;
		CHECK_INT(ip[0], 0x45, "%s: IPv4 header without options", desc);
		CHECK_INT(ip[8], 64, "%s: TTL 64", desc);
		CHECK_INT(ip[9], proto, "%s: protocol", desc);
		CHECK_INT(get16(ip + 2), out_len - l3, "%s: total length is the frame's", desc);
		CHECK(!memcmp(ip + 12, orig + 16, alen) && !memcmp(ip + 16, orig + 12, alen),
		      "%s: addresses swapped", desc);
	} else {
		alen = 16;
		iplen = 40;
		CHECK_INT(ip[0] >> 4, 6, "%s: IPv6", desc);
		CHECK_INT(ip[7], 64, "%s: hop limit 64", desc);
		CHECK_INT(ip[6], proto, "%s: next header, no extension headers", desc);
		CHECK_INT(get16(ip + 4) + 40, out_len - l3, "%s: payload length is the frame's",
			  desc);
		CHECK(!memcmp(ip + 8, orig + 24, alen) && !memcmp(ip + 24, orig + 8, alen),
		      "%s: addresses swapped", desc);
	}
	CHECK(pkt_checksums_ok(out, out_len, l3), "%s: checksums (recomputed)", desc);
	return iplen;
}

/* RFC 793: RST at the segment's ack, or RST|ACK for all the segment occupied. */
static void check_rst(const char *desc, const struct return_case *c, const uint8_t *in,
		      const struct pkt_layout *lay, const uint8_t *out, uint32_t out_len)
{
	const struct pkt_spec *s = &c->pkt;
	size_t iplen = check_ip(desc, in, lay, out, out_len, IPPROTO_TCP);
	const uint8_t *th = out + lay->l3_off + iplen, *orig = in + lay->l4_off;
	uint32_t occupied = s->payload + !!(s->tcp_flags & TCP_SYN) + !!(s->tcp_flags & TCP_FIN);

	CHECK_INT(out_len, lay->l3_off + iplen + 20, "%s: RST without options or payload", desc);
	CHECK(get16(th) == get16(orig + 2) && get16(th + 2) == get16(orig),
	      "%s: ports swapped", desc);
	CHECK_INT(th[12] >> 4, 5, "%s: data offset 5", desc);
	if (s->tcp_flags & TCP_ACK) {
		CHECK_INT(th[13], TCP_RST, "%s: flags RST", desc);
		CHECK_INT(get32(th + 4), s->ack, "%s: seq is the segment's ack", desc);
		CHECK_INT(get32(th + 8), 0, "%s: no ack", desc);
	} else {
		CHECK_INT(th[13], TCP_RST | TCP_ACK, "%s: flags RST|ACK", desc);
		CHECK_INT(get32(th + 4), 0, "%s: seq 0", desc);
		CHECK_INT(get32(th + 8), (uint32_t)(s->seq + occupied),
			  "%s: ack = seq + payload + SYN + FIN", desc);
	}
}

/* ICMP 3/3 or ICMPv6 1/4 quoting the IP header (options, extensions) + 8 bytes. */
static void check_unreach(const char *desc, const uint8_t *in, const struct pkt_layout *lay,
			  const uint8_t *out, uint32_t out_len)
{
	int family = in[lay->l3_off] >> 4;
	uint8_t proto = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	size_t iplen = check_ip(desc, in, lay, out, out_len, proto);
	size_t quote = lay->l4_off + 8 - lay->l3_off;
	const uint8_t *icmp = out + lay->l3_off + iplen;

	CHECK_INT(out_len, lay->l3_off + iplen + 8 + quote, "%s: IP header + 8 bytes quoted",
		  desc);
	if (family == 4) {
		CHECK(icmp[0] == ICMP_DEST_UNREACH && icmp[1] == ICMP_PORT_UNREACH,
		      "%s: ICMP type 3 code 3", desc);
	} else {
		CHECK(icmp[0] == ICMPV6_DEST_UNREACH && icmp[1] == ICMPV6_PORT_UNREACH,
		      "%s: ICMPv6 type 1 code 4", desc);
	}
	CHECK_INT(get32(icmp + 4), 0, "%s: unused word 0", desc);
	CHECK(!memcmp(icmp + 8, in + lay->l3_off, quote), "%s: quote is the packet as received",
	      desc);
}

/* From a clean fixture, run pkt from src, which is in <block>, under rule alone. */
static int run_listed(const char *src, struct gw_rule rule, const uint8_t *pkt, size_t len,
		      uint8_t *out, uint32_t *out_len)
{
	fx_reset();
	if (fx_put(src, T_BLOCK))
		CHECK(0, "fixture: put %s", src);
	fx_rules(&rule, 1);
	return fx_run_xdp(pkt, len, out, out_len);
}

/* The frame that leaves with XDP_TX. */
static void run_reply(const struct return_case *c)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	struct pkt_layout lay;
	uint32_t out_len = 0;
	size_t len = pkt_build(&c->pkt, in, &lay);
	int verdict = run_listed(source(&c->pkt), (struct gw_rule)RETURN_RULE, in, len, out,
				 &out_len);

	CHECK_INT(verdict, XDP_TX, "%s: answered", c->desc);
	if (verdict != XDP_TX)
		return;
	if (c->reply == REPLY_RST)
		check_rst(c->desc, c, in, &lay, out, out_len);
	else
		check_unreach(c->desc, in, &lay, out, out_len);
}

SELFTEST(block_return)
{
	for (size_t i = 0; i < sizeof(return_cases) / sizeof(return_cases[0]); i++) {
		run_verdict(&return_cases[i]);
		if (return_cases[i].reply)
			run_reply(&return_cases[i]);
	}
}

/* A frame sent to the Ethernet broadcast address is not answered, whatever its IP header. */
SELFTEST(block_return_broadcast_frame)
{
	struct pkt_spec udp = UDP4();
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&udp, pkt, NULL);

	memset(pkt, 0xff, 6);
	CHECK_INT(run_listed(source(&udp), (struct gw_rule)RETURN_RULE, pkt, len, NULL, NULL),
		  XDP_DROP, "broadcast frame: dropped");
	CHECK_INT(fx_stat(GW_STAT_RETURN_ICMP), 0, "broadcast frame: no unreachable sent");
	CHECK_INT(fx_stat(GW_STAT_DROP), 1, "broadcast frame: counted as a drop");
}

/* A block drop rule never answers, whatever the protocol. */
SELFTEST(block_return_only_return)
{
	struct pkt_spec syn = TCP4();
	uint8_t pkt[PKT_MAX];
	size_t len = pkt_build(&syn, pkt, NULL);

	CHECK_INT(run_listed(source(&syn), (struct gw_rule)BLOCK_FROM(T_BLOCK), pkt, len, NULL,
			     NULL),
		  XDP_DROP, "block drop: SYN dropped");
	CHECK_INT(fx_stat(GW_STAT_RETURN_RST), 0, "block drop: no RST");
}
