/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one packet parser of the data path, shared by XDP and TC. It works
 * on (data, data_end) and never reads past data_end: every header is
 * bounds-checked before it is touched. It reports what it found and what it
 * could not parse; the caller decides (XDP drops a TCP or UDP header it
 * cannot read, TC egress never drops).
 */
#ifndef __GREYWALL_PARSE_H
#define __GREYWALL_PARSE_H

#include <linux/bpf.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"

#define GW_VLAN_MAX 2		/* 802.1ad outer + 802.1Q inner */
#define GW_IPV6_EXT_MAX 8	/* extension headers walked before giving up */

/* Layer-4 offsets beyond this are not followed (keeps the verifier's ranges small). */
#define GW_L4_OFF_MAX 4096

#define GW_IP_MF 0x2000
#define GW_IP_OFFSET 0x1fff
#define GW_IP6_OFFSET 0xfff8	/* fragment offset bits of frag_off, network order masked */
#define GW_IP6_MF 0x0001	/* more-fragments bit of frag_off */

/*
 * The end of the datagram when its length field says nothing: an IPv4
 * total length or an IPv6 payload length of 0, which BIG TCP's GSO packets
 * carry on egress (and which the kernel drops on ingress).
 */
#define GW_IP_END_UNKNOWN 0xffffffffU

enum gw_parse_status {
	GW_PARSE_NON_IP = 0,	/* not IPv4/IPv6: nothing known */
	GW_PARSE_BAD,		/* link or IP header truncated or malformed: nothing known */
	GW_PARSE_IP,		/* IP header parsed: family, addresses, proto (see l4) */
};

enum gw_l4_status {
	GW_L4_OK = 0,		/* TCP/UDP/ICMP/ICMPv6 header parsed, or another protocol */
	GW_L4_FRAGMENT,		/* non-first fragment: no L4 header by design */
	GW_L4_TRUNCATED,	/* L4 header cut short: proto known, ports and flags not */
	GW_L4_UNKNOWN,		/* IPv6 extension chain cut short or too long: proto unknown */
};

/* gw_pkt.frag: what the fragment fields said. */
enum gw_frag_flag {
	GW_FRAG_FIRST = 1 << 0,		/* first fragment: offset 0, more fragments follow */
	GW_FRAG_OFFSET1 = 1 << 1,	/* IPv4 offset 1 (8 bytes): overlaps the TCP flags */
};

struct gw_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct gw_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/*
 * What the parser found. src and dst come first and the struct is 8-byte
 * aligned: they are used as map keys straight from the stack.
 */
struct gw_pkt {
	struct gw_addr src;
	struct gw_addr dst;
	__u16 l3_off;		/* offset of the IP header */
	__u16 l4_off;		/* offset of the L4 header (valid when l4 == GW_L4_OK) */
	__u16 sport;		/* host order, TCP/UDP */
	__u16 dport;		/* host order, TCP/UDP */
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* IPPROTO_* of the final header (not valid if GW_L4_UNKNOWN) */
	__u8 l4;		/* enum gw_l4_status */
	__u8 tcp_flags;		/* byte 13 of the TCP header */
	__u8 ipv6_ext;		/* IPv6 extension headers seen */
	__u8 frag;		/* enum gw_frag_flag */
} __attribute__((aligned(8)));

#define GW_TCP_FIN 0x01
#define GW_TCP_SYN 0x02
#define GW_TCP_RST 0x04
#define GW_TCP_ACK 0x10

static __always_inline void gw_addr_from_ipv4(struct gw_addr *a, __be32 v4)
{
	__u32 *w = (__u32 *)a->bytes;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = v4;
}

static __always_inline void gw_addr_from_ipv6(struct gw_addr *a, const struct in6_addr *v6)
{
	__u32 *w = (__u32 *)a->bytes;

	w[0] = v6->in6_u.u6_addr32[0];
	w[1] = v6->in6_u.u6_addr32[1];
	w[2] = v6->in6_u.u6_addr32[2];
	w[3] = v6->in6_u.u6_addr32[3];
}

/*
 * Parse the L4 header at off; sets pkt->l4 and the ports and flags. The
 * header must lie within the frame (data_end) and within the datagram as
 * its IP length gives it (ip_end, an offset from data): the kernel trims a
 * frame to that length, so bytes past it (Ethernet padding, or whatever a
 * sender appends to a tiny fragment) are no header. A TCP header counts
 * with its options (doff), as the kernel wants it before it reads one.
 */
static __always_inline void gw_parse_l4(void *data, void *data_end, __u32 off, __u32 ip_end,
					struct gw_pkt *pkt)
{
	void *l4;

	if (off > GW_L4_OFF_MAX) {
		pkt->l4 = GW_L4_TRUNCATED;
		return;
	}
	l4 = data + off;
	pkt->l4_off = off;
	pkt->l4 = GW_L4_OK;
	switch (pkt->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < 5 ||
		    off + ((__u32)th->doff << 2) > ip_end) {
			pkt->l4 = GW_L4_TRUNCATED;
			return;
		}
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || off + sizeof(*uh) > ip_end) {
			pkt->l4 = GW_L4_TRUNCATED;
			return;
		}
		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Type, code and checksum: what any ICMP rule could look at. */
		if (l4 + 4 > data_end || off + 4 > ip_end)
			pkt->l4 = GW_L4_TRUNCATED;
		break;
	default:
		break;
	}
}

/*
 * Walk the IPv6 extension headers starting at *off with next header
 * *nexthdr, within the frame and the datagram (ip_end). Returns the L4
 * status; on GW_L4_OK *off and *nexthdr describe the upper-layer header.
 */
static __always_inline int gw_skip_ipv6_ext(void *data, void *data_end, __u32 *off,
					    __u8 *nexthdr, __u32 ip_end, struct gw_pkt *pkt)
{
	__u32 o = *off;
	__u8 nh = *nexthdr;
	int i;

	for (i = 0; i < GW_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *h;
		__u32 len;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT && nh != IPPROTO_AH)
			break;
		/* Every extension header is at least 8 bytes long. */
		if (o > GW_L4_OFF_MAX)
			return GW_L4_UNKNOWN;
		h = data + o;
		if ((void *)h + 8 > data_end || o + 8 > ip_end)
			return GW_L4_UNKNOWN;
		pkt->ipv6_ext++;
		if (nh == IPPROTO_FRAGMENT) {
			struct gw_ipv6_frag_hdr *fh = (void *)h;

			nh = fh->nexthdr;
			o += 8;
			if (fh->frag_off & bpf_htons(GW_IP6_OFFSET)) {
				*nexthdr = nh;
				*off = o;
				return GW_L4_FRAGMENT;
			}
			if (fh->frag_off & bpf_htons(GW_IP6_MF))
				pkt->frag |= GW_FRAG_FIRST;
			continue;
		}
		if (nh == IPPROTO_AH)
			len = ((__u32)h->hdrlen + 2) << 2;
		else
			len = ((__u32)h->hdrlen + 1) << 3;
		/* A header that ends past the datagram cuts the chain short. */
		if ((void *)h + len > data_end || o + len > ip_end)
			return GW_L4_UNKNOWN;
		nh = h->nexthdr;
		o += len;
	}
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_FRAGMENT:
	case IPPROTO_AH:
		/* More extension headers than we follow: the upper layer is unknown. */
		return GW_L4_UNKNOWN;
	}
	*off = o;
	*nexthdr = nh;
	return GW_L4_OK;
}

/*
 * Parse Ethernet, up to two VLAN tags, IPv4 or IPv6 and the L4 header.
 * Returns enum gw_parse_status; with GW_PARSE_IP the addresses, family
 * and pkt->l4 are valid.
 */
static __always_inline int gw_parse(void *data, void *data_end, struct gw_pkt *pkt)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	pkt->sport = 0;
	pkt->dport = 0;
	pkt->tcp_flags = 0;
	pkt->ipv6_ext = 0;
	pkt->frag = 0;
	pkt->l4_off = 0;
	if ((void *)(eth + 1) > data_end)
		return GW_PARSE_BAD;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < GW_VLAN_MAX; i++) {
		struct gw_vlan_hdr *vh;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return GW_PARSE_BAD;
		proto = vh->encap_proto;
		off += sizeof(*vh);
	}
	/* A third tag is more than we follow: unparsed rather than "not IP". */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return GW_PARSE_BAD;
	pkt->l3_off = off;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + off;
		__u32 hlen, tot_len;
		__be16 frag;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return GW_PARSE_BAD;
		hlen = (__u32)iph->ihl << 2;
		if ((void *)iph + hlen > data_end)
			return GW_PARSE_BAD;
		pkt->family = 4;
		pkt->proto = iph->protocol;
		gw_addr_from_ipv4(&pkt->src, iph->saddr);
		gw_addr_from_ipv4(&pkt->dst, iph->daddr);
		frag = iph->frag_off & bpf_htons(GW_IP_MF | GW_IP_OFFSET);
		if (frag & bpf_htons(GW_IP_OFFSET)) {
			pkt->l4 = GW_L4_FRAGMENT;
			if ((frag & bpf_htons(GW_IP_OFFSET)) == bpf_htons(1))
				pkt->frag = GW_FRAG_OFFSET1;
			return GW_PARSE_IP;
		}
		if (frag)
			pkt->frag = GW_FRAG_FIRST;
		tot_len = bpf_ntohs(iph->tot_len);
		gw_parse_l4(data, data_end, off + hlen, tot_len ? off + tot_len : GW_IP_END_UNKNOWN,
			    pkt);
		return GW_PARSE_IP;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = data + off;
		__u32 ip_end;
		__u8 nexthdr;
		int l4;

		if ((void *)(ip6h + 1) > data_end || ip6h->version != 6)
			return GW_PARSE_BAD;
		pkt->family = 6;
		gw_addr_from_ipv6(&pkt->src, &ip6h->saddr);
		gw_addr_from_ipv6(&pkt->dst, &ip6h->daddr);
		nexthdr = ip6h->nexthdr;
		off += sizeof(*ip6h);
		ip_end = ip6h->payload_len ? off + bpf_ntohs(ip6h->payload_len) : GW_IP_END_UNKNOWN;
		l4 = gw_skip_ipv6_ext(data, data_end, &off, &nexthdr, ip_end, pkt);
		pkt->proto = nexthdr;
		pkt->l4 = l4;
		if (l4 == GW_L4_OK)
			gw_parse_l4(data, data_end, off, ip_end, pkt);
		return GW_PARSE_IP;
	}
	return GW_PARSE_NON_IP;
}

#endif /* __GREYWALL_PARSE_H */
