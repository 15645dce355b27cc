// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The spamd sync wire format; wire.h describes the layout and the checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sync/wire.h"


static const char *const drop_names[SYNC_DROP__COUNT] = {
    [SYNC_OK] = "ok",
    [SYNC_DROP_OVERSIZED] = "oversized",
    [SYNC_DROP_SHORT] = "short",
    [SYNC_DROP_BAD_VERSION] = "bad_version",
    [SYNC_DROP_BAD_AF] = "bad_af",
    [SYNC_DROP_BAD_LENGTH] = "bad_length",
    [SYNC_DROP_TRUNCATED] = "truncated",
    [SYNC_DROP_BAD_HMAC] = "bad_hmac",
    [SYNC_DROP_BAD_TLV_LENGTH] = "bad_tlv_length",
    [SYNC_DROP_BAD_STRING] = "bad_string",
    [SYNC_DROP_BAD_PADDING] = "bad_padding",
    [SYNC_DROP_BAD_ADDRESS] = "bad_address",
    [SYNC_DROP_NO_END] = "no_end",
    [SYNC_DROP_MISPLACED_TLV] = "misplaced_tlv",
    [SYNC_DROP_CRYPTO_ERROR] = "crypto_error",
};

const char *sync_drop_name(enum sync_drop reason)
{
	return (unsigned int)reason < SYNC_DROP__COUNT ? drop_names[reason] : "unknown";
}

const char *sync_record_type_name(enum sync_record_type type)
{
	switch (type) {
	case SYNC_RECORD_GREY:
		return "grey";
	case SYNC_RECORD_WHITE:
		return "white";
	case SYNC_RECORD_TRAPPED:
		return "trapped";
	case SYNC_RECORD_DELETE_WHITE:
		return "delete_white";
	case SYNC_RECORD_DELETE_TRAPPED:
		return "delete_trapped";
	}
	return "unknown";
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * An IPv4 address in IPv6 clothes: IPv4 records have their own TLVs, and a
 * second spelling of one address would make a second entry for it.
 */
static bool is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(a, prefix, sizeof(prefix));
}

/* HMAC-SHA1 of buf's len bytes, whose hmac field the caller has zeroed. */
static int compute_hmac(const struct sync_key *key, const uint8_t *buf, size_t len,
			uint8_t mac[SYNC_HMAC_LEN])
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int outlen = 0;

	/* The key's array is never NULL: libcrypto takes the empty key so. */
	if (!HMAC(EVP_sha1(), key->hex, (int)key->len, buf, len, out, &outlen) ||
	    outlen != SYNC_HMAC_LEN)
		return -EIO;
	memcpy(mac, out, SYNC_HMAC_LEN);
	return 0;
}

/* The TLV type of rec, and its length (0 when rec cannot be sent). */
static uint16_t record_tlv(const struct sync_record *rec, bool v6, size_t *tlv_len, size_t lens[3])
{
	size_t head = v6 ? SYNC_GREY6_HEAD_LEN : SYNC_GREY_HEAD_LEN;

	*tlv_len = 0;
	switch (rec->type) {
	case SYNC_RECORD_GREY:
		if (!rec->from || !rec->to || !rec->helo)
			return 0;
		/* Bounded before adding, so that no sum can wrap. */
		lens[0] = strnlen(rec->from, SYNC_MAX_DATAGRAM) + 1;
		lens[1] = strnlen(rec->to, SYNC_MAX_DATAGRAM) + 1;
		lens[2] = strnlen(rec->helo, SYNC_MAX_DATAGRAM) + 1;
		*tlv_len = SYNC_ALIGN(head + lens[0] + lens[1] + lens[2]);
		return v6 ? SYNC_TLV_GREY6 : SYNC_TLV_GREY;
	case SYNC_RECORD_WHITE:
		*tlv_len = v6 ? SYNC_ADDR6_LEN : SYNC_ADDR_LEN;
		return v6 ? SYNC_TLV_WHITE6 : SYNC_TLV_WHITE;
	case SYNC_RECORD_TRAPPED:
		*tlv_len = v6 ? SYNC_ADDR6_LEN : SYNC_ADDR_LEN;
		return v6 ? SYNC_TLV_TRAPPED6 : SYNC_TLV_TRAPPED;
	case SYNC_RECORD_DELETE_WHITE:
	case SYNC_RECORD_DELETE_TRAPPED:
		/* greyd's delete records have no IPv6 form. */
		if (v6)
			return 0;
		*tlv_len = SYNC_ADDR_LEN;
		return rec->type == SYNC_RECORD_DELETE_WHITE ? SYNC_TLV_DELETE_WHITE
							     : SYNC_TLV_DELETE_TRAPPED;
	}
	return 0;
}

ssize_t sync_encode(const struct sync_key *key, uint32_t counter, const struct sync_record *rec,
		    const struct sync_sender *sender, uint8_t *buf, size_t size)
{
	const struct addr_prefix *a = &rec->addr;
	bool v6 = a->family == AF_INET6;
	size_t tlv_len, total, lens[3] = {0, 0, 0}, alen = v6 ? 16 : 4;
	uint8_t *p;
	uint16_t type;
	int ret;

	if ((a->family != AF_INET && !v6) || !addr_is_host(a) || (v6 && is_v4_mapped(a->bytes)))
		return -EINVAL;
	type = record_tlv(rec, v6, &tlv_len, lens);
	if (!tlv_len)
		return -EINVAL;
	total = SYNC_HEADER_LEN + tlv_len + SYNC_END_LEN + (sender ? SYNC_SENDER_LEN : 0);
	if (total > SYNC_MAX_DATAGRAM)
		return -EMSGSIZE;
	if (total > size)
		return -ENOBUFS;

	/* Zero first: the pad, the hmac field while it is computed, the GREY padding. */
	memset(buf, 0, total);
	buf[0] = SYNC_VERSION;
	buf[1] = SYNC_AF_INET;
	put16(buf + 2, total);
	put32(buf + 4, counter);

	p = buf + SYNC_HEADER_LEN;
	put16(p, type);
	put16(p + 2, tlv_len);
	put32(p + 4, rec->timestamp);
	if (rec->type == SYNC_RECORD_GREY) {
		const char *strings[3] = {rec->from, rec->to, rec->helo};
		uint8_t *s = p + 8 + alen + 6;

		memcpy(p + 8, a->bytes, alen);
		for (int i = 0; i < 3; i++) {
			put16(p + 8 + alen + 2 * i, lens[i]);
			memcpy(s, strings[i], lens[i]);
			s += lens[i];
		}
	} else {
		put32(p + 8, rec->expire);
		memcpy(p + 12, a->bytes, alen);
	}
	p += tlv_len;
	put16(p, SYNC_TLV_END);
	put16(p + 2, SYNC_END_LEN);
	p += SYNC_END_LEN;
	if (sender) {
		put16(p, SYNC_TLV_SENDER);
		put16(p + 2, SYNC_SENDER_LEN);
		put32(p + 4, sender->epoch);
		put32(p + 8, sender->sent);
	}

	ret = compute_hmac(key, buf, total, buf + SYNC_HMAC_OFFSET);
	return ret ? ret : (ssize_t)total;
}

/* Each of n strings, back to back at s, NUL-terminated exactly where its length says. */
static bool strings_ok(const uint8_t *s, const size_t *lens, int n)
{
	for (int i = 0; i < n; i++) {
		if (!lens[i] || s[lens[i] - 1] || memchr(s, '\0', lens[i] - 1))
			return false;
		s += lens[i];
	}
	return true;
}

static enum sync_drop read_grey(const uint8_t *p, size_t tlen, bool v6, struct sync_record *rec)
{
	size_t alen = v6 ? 16 : 4, head = v6 ? SYNC_GREY6_HEAD_LEN : SYNC_GREY_HEAD_LEN;
	size_t lens[3], strings;
	const uint8_t *s = p + head;

	if (tlen < head)
		return SYNC_DROP_BAD_TLV_LENGTH;
	for (int i = 0; i < 3; i++)
		lens[i] = get16(p + 8 + alen + 2 * i);
	strings = lens[0] + lens[1] + lens[2];
	if (head + strings > tlen || !strings_ok(s, lens, 3))
		return SYNC_DROP_BAD_STRING;
	/* As spamd pads: to the next multiple of 16, with zero bytes. */
	if (tlen != SYNC_ALIGN(head + strings))
		return SYNC_DROP_BAD_PADDING;
	for (size_t i = head + strings; i < tlen; i++)
		if (p[i])
			return SYNC_DROP_BAD_PADDING;
	rec->type = SYNC_RECORD_GREY;
	rec->timestamp = get32(p + 4);
	memcpy(rec->addr.bytes, p + 8, alen);
	rec->from = (const char *)s;
	rec->to = rec->from + lens[0];
	rec->helo = rec->to + lens[1];
	return SYNC_OK;
}

static enum sync_drop read_addr(const uint8_t *p, size_t tlen, bool v6, struct sync_record *rec)
{
	if (tlen != (v6 ? SYNC_ADDR6_LEN : SYNC_ADDR_LEN))
		return SYNC_DROP_BAD_TLV_LENGTH;
	rec->timestamp = get32(p + 4);
	rec->expire = get32(p + 8);
	memcpy(rec->addr.bytes, p + 12, v6 ? 16 : 4);
	return SYNC_OK;
}

/*
 * The record in the TLV at p (tlen bytes, within the datagram). *known is
 * false for a type no record has, which stops the walk.
 */
static enum sync_drop read_record(const uint8_t *p, size_t tlen, uint16_t type,
				  struct sync_record *rec, bool *known)
{
	bool v6 = type == SYNC_TLV_GREY6 || type == SYNC_TLV_WHITE6 || type == SYNC_TLV_TRAPPED6;
	enum sync_drop drop;

	memset(rec, 0, sizeof(*rec));
	rec->addr.family = v6 ? AF_INET6 : AF_INET;
	rec->addr.plen = v6 ? 128 : 32;
	*known = true;
	switch (type) {
	case SYNC_TLV_GREY:
	case SYNC_TLV_GREY6:
		drop = read_grey(p, tlen, v6, rec);
		break;
	case SYNC_TLV_WHITE:
	case SYNC_TLV_WHITE6:
		rec->type = SYNC_RECORD_WHITE;
		drop = read_addr(p, tlen, v6, rec);
		break;
	case SYNC_TLV_TRAPPED:
	case SYNC_TLV_TRAPPED6:
		rec->type = SYNC_RECORD_TRAPPED;
		drop = read_addr(p, tlen, v6, rec);
		break;
	case SYNC_TLV_DELETE_WHITE:
		rec->type = SYNC_RECORD_DELETE_WHITE;
		drop = read_addr(p, tlen, false, rec);
		break;
	case SYNC_TLV_DELETE_TRAPPED:
		rec->type = SYNC_RECORD_DELETE_TRAPPED;
		drop = read_addr(p, tlen, false, rec);
		break;
	case SYNC_TLV_SENDER:
		/* Only in the trailer: before END spamd would stop at it. */
		return SYNC_DROP_MISPLACED_TLV;
	default:
		*known = false;
		return SYNC_OK;
	}
	if (drop == SYNC_OK && v6 && is_v4_mapped(rec->addr.bytes))
		return SYNC_DROP_BAD_ADDRESS;
	return drop;
}

/* The trailer: from after END to the header's length, greywall's TLVs only. */
static enum sync_drop read_trailer(const uint8_t *buf, size_t off, size_t total,
				   struct sync_message *msg)
{
	while (off < total) {
		const uint8_t *p = buf + off;
		uint16_t type, tlen;

		if (total - off < SYNC_TLV_HEAD_LEN)
			return SYNC_DROP_BAD_TLV_LENGTH;
		type = get16(p);
		tlen = get16(p + 2);
		if (tlen < SYNC_TLV_HEAD_LEN || tlen > total - off)
			return SYNC_DROP_BAD_TLV_LENGTH;
		switch (type) {
		case SYNC_TLV_SENDER:
			if (tlen != SYNC_SENDER_LEN)
				return SYNC_DROP_BAD_TLV_LENGTH;
			if (msg->has_sender)
				return SYNC_DROP_MISPLACED_TLV;
			msg->has_sender = true;
			msg->sender.epoch = get32(p + 4);
			msg->sender.sent = get32(p + 8);
			break;
		case SYNC_TLV_END:
		case SYNC_TLV_GREY:
		case SYNC_TLV_WHITE:
		case SYNC_TLV_TRAPPED:
		case SYNC_TLV_DELETE_WHITE:
		case SYNC_TLV_DELETE_TRAPPED:
		case SYNC_TLV_GREY6:
		case SYNC_TLV_WHITE6:
		case SYNC_TLV_TRAPPED6:
			/* A record spamd and greyd would never see. */
			return SYNC_DROP_MISPLACED_TLV;
		default:
			/* A later greywall's trailer TLV: what is known so far stands. */
			return SYNC_OK;
		}
		off += tlen;
	}
	return SYNC_OK;
}

/* The header's checks, spamd's then ours, and the HMAC. */
static enum sync_drop check_header(const struct sync_key *key, const uint8_t *buf, size_t len,
				   size_t *total)
{
	uint8_t copy[SYNC_MAX_DATAGRAM], mac[SYNC_HMAC_LEN];
	int ret;

	if (len > SYNC_MAX_DATAGRAM)
		return SYNC_DROP_OVERSIZED;
	if (len < SYNC_HEADER_LEN)
		return SYNC_DROP_SHORT;
	if (buf[0] != SYNC_VERSION)
		return SYNC_DROP_BAD_VERSION;
	if (buf[1] != SYNC_AF_INET)
		return SYNC_DROP_BAD_AF;
	*total = get16(buf + 2);
	if (*total < SYNC_HEADER_LEN + SYNC_END_LEN)
		return SYNC_DROP_BAD_LENGTH;
	if (*total > len)
		return SYNC_DROP_TRUNCATED;

	memcpy(copy, buf, *total);
	memset(copy + SYNC_HMAC_OFFSET, 0, SYNC_HMAC_LEN);
	ret = compute_hmac(key, copy, *total, mac);
	if (ret)
		return SYNC_DROP_CRYPTO_ERROR;
	if (CRYPTO_memcmp(mac, buf + SYNC_HMAC_OFFSET, SYNC_HMAC_LEN))
		return SYNC_DROP_BAD_HMAC;
	return SYNC_OK;
}

enum sync_drop sync_decode(const struct sync_key *key, const uint8_t *buf, size_t len,
			   struct sync_message *msg)
{
	size_t total = 0, off = SYNC_HEADER_LEN;
	enum sync_drop drop;

	msg->counter = 0;
	msg->has_sender = false;
	msg->sender = (struct sync_sender){0, 0};
	msg->stopped = false;
	msg->stopped_type = 0;
	msg->nrecords = 0;

	drop = check_header(key, buf, len, &total);
	if (drop != SYNC_OK)
		return drop;
	msg->counter = get32(buf + 4);

	for (;;) {
		const uint8_t *p = buf + off;
		uint16_t type, tlen;
		bool known;

		if (total - off < SYNC_TLV_HEAD_LEN)
			return SYNC_DROP_NO_END;
		type = get16(p);
		tlen = get16(p + 2);
		/* At least its own head, so that every step moves forward. */
		if (tlen < SYNC_TLV_HEAD_LEN || tlen > total - off)
			return SYNC_DROP_BAD_TLV_LENGTH;
		if (type == SYNC_TLV_END) {
			if (tlen != SYNC_END_LEN)
				return SYNC_DROP_BAD_TLV_LENGTH;
			return read_trailer(buf, off + tlen, total, msg);
		}
		/* Cannot happen (a record is 16 bytes at least): a bound all the same. */
		if (msg->nrecords == SYNC_MAX_RECORDS)
			return SYNC_DROP_BAD_TLV_LENGTH;
		drop = read_record(p, tlen, type, &msg->records[msg->nrecords], &known);
		if (drop != SYNC_OK)
			return drop;
		if (!known) {
			/* As spamd: stop at a type we do not know, keep what came before. */
			msg->stopped = true;
			msg->stopped_type = type;
			return SYNC_OK;
		}
		msg->nrecords++;
		off += tlen;
	}
}
