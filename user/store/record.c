// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Entry records and buckets (record.h): the format of the entries table.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/array.h"
#include "store/record.h"

int record_addr_len(const struct addr_prefix *p)
{
	return p->family == AF_INET ? 4 : 16;
}

/*
 * The bucket of an address or prefix: FNV-1a over its family, length and
 * address, then a final mix. Part of the file format: entries are looked
 * up only in the bucket this names.
 */
uint32_t bucket_of(const struct addr_prefix *p)
{
	uint32_t h = 2166136261u;

	h = (h ^ (p->family == AF_INET6)) * 16777619u;
	h = (h ^ p->plen) * 16777619u;
	for (int i = 0; i < record_addr_len(p); i++)
		h = (h ^ p->bytes[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h & (STORE_BUCKETS - 1);
}


/*
 * An entry in a bucket: its length in bytes (this byte included), a flags
 * byte (enum record_flag), plen, the 4 or 16 address bytes, then varints:
 * added, cleared - added, [last_seen - added], evidence_id (all zigzag),
 * [the baseline's 4 packet and 4 byte counters]. Differences are taken
 * modulo 2^64. A fresh entry is about 16 bytes.
 */
size_t record_encode(uint8_t *out, const struct addr_prefix *p, const struct entry_meta *m,
		     const struct gw_counters *baseline)
{
	const __u64 *counters[2] = { baseline ? baseline->packets : NULL,
				     baseline ? baseline->bytes : NULL };
	uint64_t added = (uint64_t)m->added;
	size_t n = RECORD_HEADER;
	bool any = false;

	for (int d = 0; baseline && d < GW_DIR_MAX; d++)
		any |= baseline->packets[d] || baseline->bytes[d];
	if (!any)
		baseline = NULL;

	out[1] = (uint8_t)((p->family == AF_INET6 ? RECORD_IPV6 : 0) |
			   (m->last_seen ? RECORD_LAST_SEEN : 0) | (baseline ? RECORD_BASELINE : 0));
	out[2] = p->plen;
	memcpy(out + n, p->bytes, (size_t)record_addr_len(p));
	n += (size_t)record_addr_len(p);
	n += varint_put(out + n, zigzag_encode(added));
	n += varint_put(out + n, zigzag_encode((uint64_t)m->cleared - added));
	if (m->last_seen)
		n += varint_put(out + n, zigzag_encode((uint64_t)m->last_seen - added));
	n += varint_put(out + n, zigzag_encode((uint64_t)m->evidence_id));
	for (int half = 0; baseline && half < 2; half++)
		for (int d = 0; d < GW_DIR_MAX; d++)
			n += varint_put(out + n, counters[half][d]);
	out[0] = (uint8_t)n;
	return n;
}

/*
 * Decode the record at *pos and move past it; -EBADMSG if it is not one.
 * *has_baseline tells whether the record has one (else *baseline is zero).
 */
int record_decode(const uint8_t **pos, const uint8_t *end, struct addr_prefix *p,
		  struct entry_meta *m, struct gw_counters *baseline, bool *has_baseline)
{
	__u64 *counters[2] = { baseline->packets, baseline->bytes };
	uint64_t added, cleared, last_seen = 0, evidence;
	const uint8_t *at = *pos;
	uint8_t flags;
	int err;

	if (end - at < RECORD_HEADER || at[0] > end - at)
		return -EBADMSG;
	end = at + at[0];
	flags = at[1];
	memset(p, 0, sizeof(*p));
	p->family = flags & RECORD_IPV6 ? AF_INET6 : AF_INET;
	p->plen = at[2];
	at += RECORD_HEADER;
	if (p->plen > addr_max_plen(p->family) || end - at < record_addr_len(p))
		return -EBADMSG;
	memcpy(p->bytes, at, (size_t)record_addr_len(p));
	at += record_addr_len(p);
	err = varint_get(&at, end, &added);
	if (!err)
		err = varint_get(&at, end, &cleared);
	if (!err && (flags & RECORD_LAST_SEEN))
		err = varint_get(&at, end, &last_seen);
	if (!err)
		err = varint_get(&at, end, &evidence);
	if (err)
		return err;
	added = zigzag_decode(added);
	m->added = (int64_t)added;
	m->cleared = (int64_t)(added + zigzag_decode(cleared));
	m->last_seen = flags & RECORD_LAST_SEEN ? (int64_t)(added + zigzag_decode(last_seen)) : 0;
	m->evidence_id = (int64_t)zigzag_decode(evidence);
	memset(baseline, 0, sizeof(*baseline));
	*has_baseline = flags & RECORD_BASELINE;
	for (int half = 0; (flags & RECORD_BASELINE) && half < 2; half++) {
		for (int d = 0; d < GW_DIR_MAX; d++) {
			uint64_t v;

			err = varint_get(&at, end, &v);
			if (err)
				return err;
			counters[half][d] = v;
		}
	}
	if (at != end)
		return -EBADMSG;
	*pos = at;
	return 0;
}

/*
 * Find p's record in a bucket: 1 with its offset and length (and its
 * metadata in *m when m is not NULL), 0 when absent, -EBADMSG. Other
 * records are stepped over by their length, without decoding them.
 */
int record_find(const struct bucket *b, const struct addr_prefix *p, size_t *offset, size_t *len,
		struct entry_meta *m)
{
	uint8_t flags = p->family == AF_INET6 ? RECORD_IPV6 : 0;
	const uint8_t *pos = b->data, *end = b->data + b->len;
	size_t alen = (size_t)record_addr_len(p);

	while (pos < end) {
		if (end - pos < RECORD_HEADER || pos[0] < RECORD_HEADER || pos[0] > end - pos)
			return -EBADMSG;
		if ((pos[1] & RECORD_IPV6) == flags && pos[2] == p->plen &&
		    pos[0] >= RECORD_HEADER + alen && !memcmp(pos + RECORD_HEADER, p->bytes, alen)) {
			const uint8_t *at = pos;
			struct gw_counters baseline;
			struct addr_prefix key;
			struct entry_meta meta;
			bool has_baseline;
			int err = record_decode(&at, end, &key, m ? m : &meta, &baseline,
						&has_baseline);

			if (err)
				return err;
			*offset = (size_t)(pos - b->data);
			*len = pos[0];
			return 1;
		}
		pos += pos[0];
	}
	return 0;
}

/* Replace len bytes at offset with the n bytes of repl (n may be 0). */
int bucket_splice(struct bucket *b, size_t offset, size_t len, const uint8_t *repl, size_t n)
{
	size_t want = b->len - len + n;
	int err = array_room(&b->data, &b->cap, want, 1, 64);

	if (err)
		return err;
	memmove(b->data + offset + n, b->data + offset + len, b->len - offset - len);
	memcpy(b->data + offset, repl, n);
	b->len = want;
	b->dirty = true;
	return 0;
}

/* Put a record into its bucket, in place of the entry's old one if any. */
int bucket_put(struct bucket *b, const uint8_t *record)
{
	struct addr_prefix p = { .family = record[1] & RECORD_IPV6 ? AF_INET6 : AF_INET,
				 .plen = record[2] };
	size_t offset = b->len, len = 0;
	int found;

	memcpy(p.bytes, record + RECORD_HEADER, (size_t)record_addr_len(&p));
	found = record_find(b, &p, &offset, &len, NULL);
	if (found < 0)
		return found;
	if (!found) {
		offset = b->len;
		len = 0;
	}
	return bucket_splice(b, offset, len, record, record[0]);
}

