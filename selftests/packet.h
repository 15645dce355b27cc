/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A small packet builder for the selftests: Ethernet, up to two VLAN tags,
 * IPv4 with options and fragment bits, IPv6 with any chain of extension
 * headers, TCP/UDP/ICMP/ICMPv6 with correct checksums. Truncation is the
 * caller's: run the first N bytes of what pkt_build() wrote.
 */
#ifndef __GREYWALL_PACKET_H
#define __GREYWALL_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048
#define PKT_EXT_MAX 10

struct pkt_spec {
	int family;			/* 4, 6; 0 = raw ethertype with payload only */
	uint16_t ethertype;		/* used when family == 0 (e.g. ETH_P_ARP) */
	int nvlan;			/* 0..2 tags; the outer one first */
	uint16_t vlan_tpid[2];		/* 0 = 802.1Q */
	uint16_t vlan_id[2];
	const char *src;		/* addresses as text; defaults per family */
	const char *dst;
	uint8_t ip_opts_len;		/* IPv4 option bytes (multiple of 4, <= 40) */
	uint16_t ip_frag;		/* IPv4 frag_off field, host order (offset | MF) */
	uint8_t ttl;			/* 0 = 64 */
	int next;			/* number of IPv6 extension headers */
	uint8_t ext[PKT_EXT_MAX];	/* their types, in order */
	uint8_t ext_len[PKT_EXT_MAX];	/* hdrlen field (options, routing, AH) */
	uint16_t ext_frag[PKT_EXT_MAX];	/* fragment header frag_off field, host order */
	uint8_t proto;			/* IPPROTO_*; the upper layer */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint8_t icmp_type, icmp_code;
	uint16_t payload;		/* payload bytes after the L4 header */
	uint8_t tcp_doff;		/* TCP data offset field; 0 = 5 (the header is 20 bytes
					   either way: the rest is payload) */
	/*
	 * When non-zero, the datagram is cut to ip_len bytes from the start of
	 * its IP header, and its IP length field says so: a tiny first
	 * fragment, a cut header or header chain (checksummed as the whole).
	 */
	uint16_t ip_len;
	/*
	 * Bytes of frame after the datagram, which the kernel trims: what
	 * ip_len cut off, then zeros (Ethernet padding, a sender's trailer).
	 */
	uint16_t trailer;
};

/* Offsets pkt_build() reports, for assertions on bytes. */
struct pkt_layout {
	size_t len;
	size_t l3_off;
	size_t l4_off;
};

/* Build the packet into buf (PKT_MAX bytes); returns its length, 0 on error. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *layout);

/* Verify the IPv4 header and TCP/UDP/ICMP checksums of a built or returned packet. */
int pkt_checksums_ok(const uint8_t *buf, size_t len, size_t l3_off);

#endif /* __GREYWALL_PACKET_H */
