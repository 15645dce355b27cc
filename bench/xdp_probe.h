/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Asking the XDP program attached to an interface what it does with a
 * source's next TCP SYN, without sending one: the frame built here, run
 * through BPF_PROG_TEST_RUN with the interface as its ingress (the
 * latency benchmarks poll this until the verdict is XDP_DROP).
 */
#ifndef __GREYWALL_BENCH_XDP_PROBE_H
#define __GREYWALL_BENCH_XDP_PROBE_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdint.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/checksum.h"

/*
 * Ethernet + IPv4 or IPv6 (as src is) + a TCP SYN from src port 40000 to
 * dst4 or dst6 port dport, into buf (128 bytes at least), its checksums
 * right (so that a stack it reaches takes it); returns its length.
 */
static inline uint32_t bench_syn_frame(uint8_t *buf, const char *src, const char *dst4,
				       const char *dst6, uint16_t dport)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct tcphdr *tcp;
	uint32_t len, sum;
	/* The pseudo header's length and next header, as 16-bit words. */
	uint16_t tail[2] = { htons(sizeof(*tcp)), htons(IPPROTO_TCP) };

	memset(buf, 0, 128);
	eth->h_dest[0] = 0x02;
	eth->h_source[0] = 0x02;
	eth->h_source[5] = 2;
	if (strchr(src, ':')) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons(sizeof(*tcp));
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, src, &ip6->saddr);
		inet_pton(AF_INET6, dst6, &ip6->daddr);
		tcp = (struct tcphdr *)(ip6 + 1);
		len = sizeof(*eth) + sizeof(*ip6) + sizeof(*tcp);
		sum = checksum_add(&ip6->saddr, 32, 0);
	} else {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + sizeof(*tcp));
		ip->id = htons(1);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		inet_pton(AF_INET, src, &ip->saddr);
		inet_pton(AF_INET, dst4, &ip->daddr);
		ip->check = htons(checksum(ip, sizeof(*ip), 0));
		tcp = (struct tcphdr *)(ip + 1);
		len = sizeof(*eth) + sizeof(*ip) + sizeof(*tcp);
		sum = checksum_add(&ip->saddr, 8, 0);
	}
	tcp->source = htons(40000);
	tcp->dest = htons(dport);
	tcp->seq = htonl(1);
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(64240);
	sum = checksum_add(tail, sizeof(tail), sum);
	tcp->check = htons(checksum(tcp, sizeof(*tcp), sum));
	return len;
}

/*
 * Whether the XDP program prog_fd drops the frame arriving on ifindex: 1
 * dropped, 0 not, -errno. data_end must be set in the context: without
 * it the kernel runs the program on nothing and it passes everything.
 */
static inline int bench_xdp_drops(int prog_fd, int ifindex, const uint8_t *pkt, uint32_t len)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = (uint32_t)ifindex };
	uint8_t out[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return opts.retval == XDP_DROP;
}

#endif /* __GREYWALL_BENCH_XDP_PROBE_H */
