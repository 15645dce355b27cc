/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The integer codec of the store's entry records: unsigned LEB128
 * varints, and zigzag for signed values so that small magnitudes of
 * either sign stay short. Part of the file format (record.h).
 */
#ifndef __GREYWALL_VARINT_H
#define __GREYWALL_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* The longest varint: a 64-bit value in 7-bit groups. */
#define VARINT_MAX 10

/* Write v at out (VARINT_MAX bytes of room); returns the bytes written. */
size_t varint_put(uint8_t *out, uint64_t v);
/* Read a varint at *pos, before end, and move past it; -EBADMSG if cut or too long. */
int varint_get(const uint8_t **pos, const uint8_t *end, uint64_t *v);

static inline uint64_t zigzag_encode(uint64_t v)
{
	return v << 1 ^ (uint64_t)-(int64_t)(v >> 63);
}

static inline uint64_t zigzag_decode(uint64_t v)
{
	return v >> 1 ^ (uint64_t)-(int64_t)(v & 1);
}

#endif /* __GREYWALL_VARINT_H */
