/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The frame of bench/wire.sh's flood, for its sender (wire_send) and for
 * xdp_dispatch, which runs the same frame through the attached program.
 */
#ifndef __GREYWALL_WIRE_FRAME_H
#define __GREYWALL_WIRE_FRAME_H

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "lib/checksum.h"

#define FRAME_LEN (sizeof(struct ether_header) + sizeof(struct iphdr) + sizeof(struct tcphdr))

/* The SYN: Ethernet (dst, src), IPv4 (src, dst, DF, TTL 64), TCP (port 40000 to port). */
static inline void build_syn(uint8_t *frame, const uint8_t dst_mac[6], const uint8_t src_mac[6],
		      struct in_addr src, struct in_addr dst, uint16_t port)
{
	struct ether_header *eth = (struct ether_header *)frame;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
	struct {
		uint32_t src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) pseudo;

	memset(frame, 0, FRAME_LEN);
	memcpy(eth->ether_dhost, dst_mac, 6);
	memcpy(eth->ether_shost, src_mac, 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*tcp));
	ip->id = htons(1);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = htons(checksum(ip, sizeof(*ip), 0));
	tcp->source = htons(40000);
	tcp->dest = htons(port);
	tcp->seq = htonl(0x12345678);
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(64240);
	pseudo.src = src.s_addr;
	pseudo.dst = dst.s_addr;
	pseudo.zero = 0;
	pseudo.proto = IPPROTO_TCP;
	pseudo.len = htons(sizeof(*tcp));
	tcp->check = htons(checksum(tcp, sizeof(*tcp), checksum_add(&pseudo, sizeof(pseudo), 0)));
}

#endif /* __GREYWALL_WIRE_FRAME_H */
