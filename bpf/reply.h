/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * `block return` (PF's return, greywall.conf(5)): the blocked frame is rewritten in
 * place into the answer and sent back out of the interface it came in on
 * (XDP_TX). TCP gets a RST as a TCP stack sends one (RFC 793); every other
 * protocol gets PF's default return-icmp, port unreachable (ICMP type 3
 * code 3, ICMPv6 type 1 code 4), quoting the IP header and the first 8
 * bytes after it, which is what the sender's stack needs to find the socket.
 * Ethernet addresses and IP addresses are swapped, VLAN tags stay as
 * received. What must never be answered is only dropped: ICMP (errors are
 * not answered with errors), RSTs, multicast and broadcast, non-first
 * fragments and packets whose headers were not parsed whole.
 */
#ifndef __GREYWALL_REPLY_H
#define __GREYWALL_REPLY_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"
#include "maps.h"
#include "parse.h"

#define GW_REPLY_TTL 64
/* The link-layer header: Ethernet and up to GW_VLAN_MAX tags. */
#define GW_REPLY_L2_MAX (ETH_HLEN + GW_VLAN_MAX * 4)
/*
 * The longest quote: an IPv4 header with options or an IPv6 header with up
 * to 80 bytes of extension headers, plus 8 bytes. A packet that needs more
 * is dropped unanswered.
 */
#define GW_REPLY_QUOTE_MAX 128
/* The quote is summed in pieces of this size (the stack is short). */
#define GW_REPLY_CHUNK 32

/* The reply's headers after the link layer, as written to the frame. */
struct gw_reply4 {
	struct iphdr ip;
	union {
		struct tcphdr tcp;
		struct icmphdr icmp;
	};
};

struct gw_reply6 {
	struct ipv6hdr ip;
	union {
		struct tcphdr tcp;
		struct icmp6hdr icmp;
	};
};

_Static_assert(sizeof(struct gw_reply4) == 40, "no padding between IPv4 and L4 header");
_Static_assert(sizeof(struct gw_reply6) == 60, "no padding between IPv6 and L4 header");

union gw_reply_hdr {
	struct gw_reply4 v4;
	struct gw_reply6 v6;
};

/* The tail of a pseudo-header after the two addresses, as TCP and ICMPv6 sum it. */
struct gw_pseudo4 {
	__u8 zero;
	__u8 proto;
	__be16 len;
};

struct gw_pseudo6 {
	__be32 len;
	__u8 zero[3];
	__u8 nexthdr;
};

/* A 32-bit partial sum folded into the Internet checksum. */
static __always_inline __u16 gw_csum_fold(__u64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* sum plus the words of buf[0..len), len a multiple of 4; -1 on error. */
static __always_inline __s64 gw_csum_add(void *buf, __u32 len, __s64 sum)
{
	if (sum < 0)
		return sum;
	return bpf_csum_diff(NULL, 0, buf, len, (__wsum)sum);
}

/*
 * Whether pkt may be answered: a unicast frame between unicast addresses
 * that a reply can reach. Multicast and broadcast (RFC 1122 3.2.2, RFC
 * 4443 2.4) and the unspecified source are not answered.
 */
static __always_inline int gw_reply_allowed(const struct gw_pkt *pkt, const __u8 *macs)
{
	const __u8 *src = pkt->src.bytes, *dst = pkt->dst.bytes;

	/* The group bit of either MAC address: a multicast or broadcast frame. */
	if ((macs[0] | macs[6]) & 1)
		return 0;
	if (pkt->family == 4) {
		/* 224/4 multicast, 240/4 reserved and 255.255.255.255, 0/8 "this network". */
		return src[12] && src[12] < 224 && dst[12] && dst[12] < 224;
	}
	if (src[0] == 0xff || dst[0] == 0xff)
		return 0;
	for (int i = 0; i < 16; i++)
		if (src[i])
			return 1;
	return 0;
}

/* Swap source and destination of the IP header in r (as received). */
static __always_inline void gw_reply_swap_ip(union gw_reply_hdr *r, int family)
{
	if (family == 4) {
		__be32 a = r->v4.ip.saddr;

		r->v4.ip.saddr = r->v4.ip.daddr;
		r->v4.ip.daddr = a;
		return;
	}
	{
		struct in6_addr a = r->v6.ip.saddr;

		r->v6.ip.saddr = r->v6.ip.daddr;
		r->v6.ip.daddr = a;
	}
}

/*
 * Fill in the reply's IP header in r (addresses already swapped) for an
 * upper layer of l4len bytes of protocol proto; returns the sum of the
 * upper layer's pseudo-header (ICMP over IPv4 has none: 0).
 */
static __always_inline __s64 gw_reply_ip(union gw_reply_hdr *r, int family, __u8 proto,
					 __u32 l4len)
{
	if (family == 4) {
		struct gw_pseudo4 ph = { .proto = proto, .len = bpf_htons(l4len) };
		struct iphdr *ip = &r->v4.ip;

		ip->version = 4;
		ip->ihl = 5;
		ip->tos = 0;
		ip->tot_len = bpf_htons(sizeof(*ip) + l4len);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = GW_REPLY_TTL;
		ip->protocol = proto;
		ip->check = 0;
		ip->check = gw_csum_fold(bpf_csum_diff(NULL, 0, (void *)ip, sizeof(*ip), 0));
		if (proto == IPPROTO_ICMP)
			return 0;
		return gw_csum_add(&ph, sizeof(ph), gw_csum_add(&ip->saddr, 8, 0));
	}
	{
		struct gw_pseudo6 ph = { .len = bpf_htonl(l4len), .nexthdr = proto };
		struct ipv6hdr *ip6 = &r->v6.ip;

		/* Version 6, traffic class and flow label 0. */
		*(__be32 *)ip6 = bpf_htonl(6U << 28);
		ip6->payload_len = bpf_htons(l4len);
		ip6->nexthdr = proto;
		ip6->hop_limit = GW_REPLY_TTL;
		return gw_csum_add(&ph, sizeof(ph), gw_csum_add(&ip6->saddr, 32, 0));
	}
}

/* The Ethernet header's addresses swapped in place: macs[0..12). */
static __always_inline void gw_reply_swap_macs(__u8 *macs)
{
	for (int i = 0; i < ETH_ALEN; i++) {
		__u8 b = macs[i];

		macs[i] = macs[ETH_ALEN + i];
		macs[ETH_ALEN + i] = b;
	}
}

/* Cut or grow the frame to len bytes; 0 or -1. */
static __always_inline int gw_reply_resize(struct xdp_md *ctx, __u32 len)
{
	__u32 now = bpf_xdp_get_buff_len(ctx);

	return bpf_xdp_adjust_tail(ctx, (int)len - (int)now) ? -1 : 0;
}

/*
 * The RST for a TCP segment (RFC 793 "Reset Generation", as Linux's
 * tcp_v4_send_reset): a segment with ACK gets RST with seq = its ack;
 * otherwise RST|ACK with seq 0 acknowledging all it occupied. The frame
 * becomes link layer, IP header (options and extension headers gone), TCP
 * header without options. Returns 0 or -1.
 */
static __always_inline int gw_reply_rst(struct xdp_md *ctx, const struct gw_pkt *pkt, __u32 l3,
					union gw_reply_hdr *r, __u8 *l2)
{
	__u32 l4 = pkt->l4_off, iplen, hlen, seq_len;
	struct tcphdr th, *rst;
	__s64 sum;
	int plen;

	iplen = pkt->family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	hlen = iplen + sizeof(struct tcphdr);
	if (bpf_xdp_load_bytes(ctx, l4, &th, sizeof(th)) || bpf_xdp_load_bytes(ctx, l3, r, iplen))
		return -1;
	/* The payload, from the IP header's length (a short frame may carry padding). */
	if (pkt->family == 4)
		plen = (int)bpf_ntohs(r->v4.ip.tot_len) - (int)(l4 - l3);
	else
		plen = (int)bpf_ntohs(r->v6.ip.payload_len) - (int)(l4 - l3 - iplen);
	plen -= th.doff * 4;
	if (plen < 0)
		return -1;
	seq_len = (__u32)plen + th.syn + th.fin;

	gw_reply_swap_ip(r, pkt->family);
	rst = pkt->family == 4 ? &r->v4.tcp : &r->v6.tcp;
	__builtin_memset(rst, 0, sizeof(*rst));
	rst->source = th.dest;
	rst->dest = th.source;
	rst->doff = sizeof(*rst) / 4;
	rst->rst = 1;
	if (th.ack) {
		rst->seq = th.ack_seq;
	} else {
		rst->ack = 1;
		rst->ack_seq = bpf_htonl(bpf_ntohl(th.seq) + seq_len);
	}
	sum = gw_reply_ip(r, pkt->family, IPPROTO_TCP, sizeof(*rst));
	sum = gw_csum_add(rst, sizeof(*rst), sum);
	if (sum < 0)
		return -1;
	rst->check = gw_csum_fold(sum);

	if (gw_reply_resize(ctx, l3 + hlen) || bpf_xdp_store_bytes(ctx, 0, l2, 2 * ETH_ALEN) ||
	    bpf_xdp_store_bytes(ctx, l3, r, hlen))
		return -1;
	gw_stat_inc(GW_STAT_RETURN_RST);
	return 0;
}

/*
 * Port unreachable for any other protocol: new IP and ICMP headers go in
 * front of the received IP header, which becomes the quote where it lies;
 * the link-layer header moves to the new front. Returns 0 or -1.
 */
static __always_inline int gw_reply_unreach(struct xdp_md *ctx, const struct gw_pkt *pkt,
					    __u32 l3, union gw_reply_hdr *r, __u8 *l2)
{
	__u32 quote = pkt->l4_off + 8 - l3, iplen, hlen, done;
	__u8 chunk[GW_REPLY_CHUNK];
	struct icmphdr *icmp;
	__u8 proto;
	__s64 sum;

	if (pkt->l4_off + 8 > bpf_xdp_get_buff_len(ctx) || quote > GW_REPLY_QUOTE_MAX ||
	    quote & 3)
		return -1;
	if (pkt->family == 4) {
		iplen = sizeof(struct iphdr);
		proto = IPPROTO_ICMP;
	} else {
		iplen = sizeof(struct ipv6hdr);
		proto = IPPROTO_ICMPV6;
	}
	hlen = iplen + sizeof(*icmp);
	/* The tags and the EtherType, behind the addresses already in l2. */
	if (bpf_xdp_load_bytes(ctx, l3, r, iplen) ||
	    bpf_xdp_load_bytes(ctx, 2 * ETH_ALEN, l2 + 2 * ETH_ALEN, l3 - 2 * ETH_ALEN))
		return -1;
	gw_reply_swap_ip(r, pkt->family);
	sum = gw_reply_ip(r, pkt->family, proto, sizeof(*icmp) + quote);

	/* struct icmp6hdr has the same layout: type, code, checksum, 4 unused bytes. */
	icmp = pkt->family == 4 ? &r->v4.icmp : (struct icmphdr *)&r->v6.icmp;
	__builtin_memset(icmp, 0, sizeof(*icmp));
	if (pkt->family == 4) {
		icmp->type = ICMP_DEST_UNREACH;
		icmp->code = ICMP_PORT_UNREACH;
	} else {
		icmp->type = ICMPV6_DEST_UNREACH;
		icmp->code = ICMPV6_PORT_UNREACH;
	}
	sum = gw_csum_add(icmp, sizeof(*icmp), sum);
	for (done = 0; done < GW_REPLY_QUOTE_MAX; done += GW_REPLY_CHUNK) {
		__u32 n = quote - done;

		if (done >= quote)
			break;
		if (n > GW_REPLY_CHUNK)
			n = GW_REPLY_CHUNK;
		if (bpf_xdp_load_bytes(ctx, l3 + done, chunk, n))
			return -1;
		sum = gw_csum_add(chunk, n, sum);
	}
	if (sum < 0)
		return -1;
	icmp->checksum = gw_csum_fold(sum);

	if (bpf_xdp_adjust_head(ctx, -(int)hlen) || gw_reply_resize(ctx, l3 + hlen + quote) ||
	    bpf_xdp_store_bytes(ctx, 0, l2, l3) || bpf_xdp_store_bytes(ctx, l3, r, hlen))
		return -1;
	gw_stat_inc(GW_STAT_RETURN_ICMP);
	return 0;
}

/*
 * Answer pkt, which a `block return` rule blocked: XDP_TX with the frame
 * rewritten into the reply, or XDP_DROP when it is not to be answered (or
 * the frame could not be rewritten). A global function, as
 * gw_flow_ingress(): the verifier checks it once, not once per path
 * through the rules before it.
 */
__noinline int gw_block_return(struct xdp_md *ctx, const struct gw_pkt *pkt)
{
	union gw_reply_hdr r;
	__u8 l2[GW_REPLY_L2_MAX] = {};
	__u32 l3;
	int err;

	if (!pkt || pkt->l4 != GW_L4_OK || pkt->proto == IPPROTO_ICMP ||
	    pkt->proto == IPPROTO_ICMPV6)
		return XDP_DROP;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & GW_TCP_RST))
		return XDP_DROP;
	l3 = pkt->l3_off;
	if (l3 < ETH_HLEN || l3 > GW_REPLY_L2_MAX || bpf_xdp_load_bytes(ctx, 0, l2, 2 * ETH_ALEN))
		return XDP_DROP;
	if (!gw_reply_allowed(pkt, l2))
		return XDP_DROP;
	gw_reply_swap_macs(l2);
	if (pkt->proto == IPPROTO_TCP)
		err = gw_reply_rst(ctx, pkt, l3, &r, l2);
	else
		err = gw_reply_unreach(ctx, pkt, l3, &r, l2);
	return err ? XDP_DROP : XDP_TX;
}

#endif /* __GREYWALL_REPLY_H */
