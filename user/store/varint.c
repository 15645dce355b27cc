// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Unsigned LEB128 (varint.h).
 */
#include <errno.h>

#include "store/varint.h"

size_t varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int varint_get(const uint8_t **pos, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64 && *pos < end; shift += 7) {
		uint8_t b = *(*pos)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}
