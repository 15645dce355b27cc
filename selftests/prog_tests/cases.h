/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Base packets and rules the prog_tests share; fields given after them override. */
#ifndef __GREYWALL_CASES_H
#define __GREYWALL_CASES_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "test_progs.h"

/* A SYN to port 25 from 198.51.100.7 / 2001:db8:1::7 (see packet.c defaults). */
#define TCP4(...) { .family = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 25, \
		    .tcp_flags = 0x02, .seq = 1000, __VA_ARGS__ }
#define TCP6(...) { .family = 6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 25, \
		    .tcp_flags = 0x02, .seq = 1000, __VA_ARGS__ }
#define UDP4(...) { .family = 4, .proto = IPPROTO_UDP, .sport = 40000, .dport = 53, \
		    .payload = 12, __VA_ARGS__ }
#define UDP6(...) { .family = 6, .proto = IPPROTO_UDP, .sport = 40000, .dport = 53, \
		    .payload = 12, __VA_ARGS__ }
#define ICMP4(...) { .family = 4, .proto = IPPROTO_ICMP, .icmp_type = 8, __VA_ARGS__ }
#define ICMP6(...) { .family = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 128, __VA_ARGS__ }

#define T_BLOCK (1ULL << 0)	/* the table the "block from <block>" rule uses */
#define T_OTHER (1ULL << 1)
#define T_THIRD (1ULL << 5)

/* block drop from <block>: the one rule most lookup cases need. */
#define BLOCK_FROM(tables) RULE(GW_ACT_BLOCK_DROP, .src_tables = (tables))

#endif /* __GREYWALL_CASES_H */
