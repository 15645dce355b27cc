// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The Internet checksum (checksum.h).
 */
#include "lib/checksum.h"

uint32_t checksum_add(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t checksum(const void *buf, size_t len, uint32_t sum)
{
	return checksum_fold(checksum_add(buf, len, sum));
}
