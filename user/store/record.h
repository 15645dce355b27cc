/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The store's entry records and the buckets that hold them: the file
 * format of the entries table. Each row of `entries` is one bucket of one
 * table, a blob of records back to back; an entry lives in the bucket
 * bucket_of() names for its address. See record_encode() for a record.
 */
#ifndef __GREYWALL_RECORD_H
#define __GREYWALL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/varint.h"

/* Buckets per table: part of the file format, like bucket_of(). */
#define STORE_BUCKETS 65536u
/* A record's length, flags and plen bytes. */
#define RECORD_HEADER 3
/* Longest record: header, 16 address bytes, 4 + 8 varints. */
#define RECORD_MAX (RECORD_HEADER + 16 + 12 * VARINT_MAX)
_Static_assert(RECORD_MAX <= 255, "a record's length fits its first byte");

enum record_flag {
	RECORD_IPV6 = 1,
	RECORD_LAST_SEEN = 2,
	RECORD_BASELINE = 4,
};

/* One bucket of one table: the blob of its entries row, as changed so far. */
struct bucket {
	uint8_t *data;
	size_t len, cap;
	bool dirty;
};

/* The address bytes of a prefix in a record or a key: 4 or 16. */
int record_addr_len(const struct addr_prefix *p);
uint32_t bucket_of(const struct addr_prefix *p);

/* Encode an entry into out (RECORD_MAX bytes); returns its length. */
size_t record_encode(uint8_t *out, const struct addr_prefix *p, const struct entry_meta *m,
		     const struct gw_counters *baseline);
/*
 * Decode the record at *pos and move past it; -EBADMSG if it is not one.
 * *has_baseline tells whether the record has one (else *baseline is zero).
 */
int record_decode(const uint8_t **pos, const uint8_t *end, struct addr_prefix *p,
		  struct entry_meta *m, struct gw_counters *baseline, bool *has_baseline);
/*
 * Find p's record in a bucket: 1 with its offset and length (and its
 * metadata in *m when m is not NULL), 0 when absent, -EBADMSG.
 */
int record_find(const struct bucket *b, const struct addr_prefix *p, size_t *offset, size_t *len,
		struct entry_meta *m);
/* Replace len bytes at offset with the n bytes of repl (n may be 0); marks it dirty. */
int bucket_splice(struct bucket *b, size_t offset, size_t len, const uint8_t *repl, size_t n);
/* Put a record into its bucket, in place of the entry's old one if any. */
int bucket_put(struct bucket *b, const uint8_t *record);

#endif /* __GREYWALL_RECORD_H */
