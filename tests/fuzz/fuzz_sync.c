// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer harness for the spamd sync decoder (sync/wire.h): a datagram
 * comes from anyone who can reach the sync port, key or not.
 *
 * Each input is decoded twice: as it is (it fails the HMAC but for the
 * header checks before it), and signed with the harness's key, so that
 * the fuzzer reaches the TLV walk. An accepted datagram must hold what
 * the decoder promises: records within the bound, GREY strings
 * NUL-terminated inside the authenticated bytes, hosts of either family
 * and no IPv4-mapped IPv6 one. Each record must encode again (with the
 * datagram's counter and sender) and decode to itself; a datagram of one
 * record laid out as greywall sends it must re-encode to its very bytes.
 * Last, the signed datagram with one byte changed (one the input picks)
 * must be dropped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/hmac.h>

#include "sync/key.h"
#include "sync/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sync_key key;
static struct sync_message msg, again;

/* Sign buf (its header's length of it) in place, as a peer with the key would. */
static void sign(uint8_t *buf)
{
	size_t total = (size_t)buf[2] << 8 | buf[3];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;

	memset(buf + 8, 0, SYNC_HMAC_LEN);
	if (!HMAC(EVP_sha1(), key.hex, (int)key.len, buf, total, mac, &maclen))
		abort();
	memcpy(buf + 8, mac, SYNC_HMAC_LEN);
}

static bool same_record(const struct sync_record *a, const struct sync_record *b)
{
	if (a->type != b->type || !addr_equal(&a->addr, &b->addr) ||
	    a->timestamp != b->timestamp || a->expire != b->expire)
		return false;
	if (a->type != SYNC_RECORD_GREY)
		return !a->from && !b->from && !a->to && !b->to && !a->helo && !b->helo;
	return !strcmp(a->from, b->from) && !strcmp(a->to, b->to) && !strcmp(a->helo, b->helo);
}

/* A GREY string: inside the authenticated bytes, its NUL there too. */
static void check_string(const char *s, const uint8_t *buf, size_t total)
{
	const uint8_t *p = (const uint8_t *)s;

	if (!s || p < buf + SYNC_HEADER_LEN || p >= buf + total ||
	    !memchr(p, '\0', (size_t)(buf + total - p)))
		abort();
}

static void check_accepted(const uint8_t *buf, size_t total)
{
	const struct sync_sender *sender = msg.has_sender ? &msg.sender : NULL;
	size_t expect_len = 0;

	if (msg.nrecords > SYNC_MAX_RECORDS || (msg.stopped && msg.has_sender))
		abort();
	for (size_t i = 0; i < msg.nrecords; i++) {
		const struct sync_record *r = &msg.records[i];
		uint8_t out[SYNC_MAX_DATAGRAM];
		ssize_t n;

		if ((r->addr.family != AF_INET && r->addr.family != AF_INET6) ||
		    !addr_is_host(&r->addr))
			abort();
		if (r->type == SYNC_RECORD_GREY) {
			check_string(r->from, buf, total);
			check_string(r->to, buf, total);
			check_string(r->helo, buf, total);
			if (r->expire)
				abort();
		}
		n = sync_encode(&key, msg.counter, r, sender, out, sizeof(out));
		if (n <= 0)
			abort();
		expect_len = (size_t)n;
		if (sync_decode(&key, out, (size_t)n, &again) != SYNC_OK || again.nrecords != 1 ||
		    again.counter != msg.counter || again.has_sender != msg.has_sender ||
		    !same_record(&again.records[0], r))
			abort();
		/* One record, nothing after it but what greywall puts there: the same bytes. */
		if (msg.nrecords == 1 && !msg.stopped && expect_len == total &&
		    !memcmp(buf + 28, "\0\0\0\0", 4) && memcmp(out, buf, total))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *signed_copy;
	size_t total;

	if (!key.len && sync_key_from_bytes("fuzz key\n", 9, &key))
		abort();

	/* As received: only the header's checks can pass, the HMAC cannot. */
	if (sync_decode(&key, data, size, &msg) == SYNC_OK)
		check_accepted(data, (size_t)data[2] << 8 | data[3]);

	if (size < SYNC_HEADER_LEN || size > SYNC_MAX_DATAGRAM)
		return 0;
	total = (size_t)data[2] << 8 | data[3];
	if (total < SYNC_HEADER_LEN || total > size)
		return 0;
	/* Exactly size bytes on the heap: ASan sees a read past them. */
	signed_copy = malloc(size);
	if (!signed_copy)
		abort();
	memcpy(signed_copy, data, size);
	sign(signed_copy);
	if (sync_decode(&key, signed_copy, size, &msg) == SYNC_OK) {
		size_t at = data[size - 1] % total;

		check_accepted(signed_copy, total);
		/* Any byte changed in the authenticated part: never accepted. */
		signed_copy[at] ^= (uint8_t)(data[size - 2] | 1);
		if (sync_decode(&key, signed_copy, size, &msg) == SYNC_OK)
			abort();
	}
	free(signed_copy);
	return 0;
}
