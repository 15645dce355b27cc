/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The frame of bench/wire.sh's flood, for its sender (wire_send) and for
 * xdp_dispatch, which runs the same frame through the attached program.
 */
#ifndef __GREYWALL_WIRE_FRAME_H
#define __GREYWALL_WIRE_FRAME_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "xdp_probe.h"

#define FRAME_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))

/* The SYN (bench_syn_frame's) from src to dst port, between these MAC addresses. */
static inline void build_syn(uint8_t *frame, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			     struct in_addr src, struct in_addr dst, uint16_t port)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	uint8_t buf[128];
	struct ethhdr *eth = (struct ethhdr *)buf;

	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	bench_syn_frame(buf, s, d, NULL, port);
	memcpy(eth->h_dest, dst_mac, 6);
	memcpy(eth->h_source, src_mac, 6);
	memcpy(frame, buf, FRAME_LEN);
}

#endif /* __GREYWALL_WIRE_FRAME_H */
