/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The Internet checksum (RFC 1071) of IPv4 headers and TCP/UDP/ICMP
 * segments, for the programs that build packets: the selftests, the
 * benchmarks and the test tools.
 */
#ifndef __GREYWALL_CHECKSUM_H
#define __GREYWALL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Add buf's bytes to sum as big-endian 16-bit words (an odd last byte is
 * padded with zero), without folding: sums of a pseudo-header and a
 * segment add up. Good for 128 KiB at least before it can overflow.
 */
uint32_t checksum_add(const void *buf, size_t len, uint32_t sum);
/* Fold a sum to 16 bits and complement it: the checksum, in host order. */
uint16_t checksum_fold(uint32_t sum);
/* checksum_fold(checksum_add(buf, len, sum)). */
uint16_t checksum(const void *buf, size_t len, uint32_t sum);

#endif /* __GREYWALL_CHECKSUM_H */
