// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The spamd sync wire format (sync/wire.h) and its key (sync/key.h).
 *
 * The datagrams below were built from the published layout (spamd's
 * sync.h 1.3: ../shared/ref/spamd-pf-facts.md section 5, and wire.h for
 * greywall's TLVs) by a separate Python script with struct.pack, signed
 * with Python's hmac module and checked against
 * `openssl dgst -sha1 -mac HMAC -macopt key:KEY` (which cannot take the
 * empty key: trapped4_nokey is Python's alone). KEY is `sha1sum` of a file
 * holding "greywall test key\n". Each must decode to its record and
 * encode back byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include "check.h"
#include "files.h"
#include "sync/key.h"
#include "sync/wire.h"

#define KEY_FILE_TEXT "greywall test key\n"
#define KEY_HEX	      "629c54bd7fe06aba8e7e0c8fca93e7cf8760ec6f"
#define T	      1700000000u

/* 116 bytes */
static const uint8_t grey4[] = {
	0x02, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x07, 0xe3, 0x8d, 0xd5, 0xc9,
	0x2e, 0xea, 0x0e, 0x7c, 0xa4, 0x17, 0x14, 0xe4, 0x40, 0x20, 0xc1, 0x24,
	0xdd, 0xc9, 0x79, 0xd6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x50,
	0x65, 0x53, 0xf1, 0x00, 0xc0, 0x00, 0x02, 0x0a, 0x00, 0x12, 0x00, 0x10,
	0x00, 0x0f, 0x61, 0x6c, 0x69, 0x63, 0x65, 0x40, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x62, 0x6f, 0x62, 0x40,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6e, 0x65, 0x74, 0x00,
	0x6d, 0x78, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f,
	0x72, 0x67, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
};
/* 52 bytes */
static const uint8_t white4[] = {
	0x02, 0x02, 0x00, 0x34, 0x00, 0x00, 0x00, 0x08, 0xe3, 0x9e, 0xaa, 0x3a,
	0xad, 0xa2, 0xf3, 0xe2, 0x93, 0x05, 0x58, 0xb7, 0x41, 0x46, 0x4a, 0xa6,
	0x4d, 0xb5, 0x5a, 0x97, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x10,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x83, 0x67, 0x00, 0xc6, 0x33, 0x64, 0x07,
	0x00, 0x00, 0x00, 0x04,
};
/* 52 bytes */
static const uint8_t trapped4_nokey[] = {
	0x02, 0x02, 0x00, 0x34, 0x00, 0x00, 0x00, 0x09, 0x3c, 0x2d, 0xc6, 0x7c,
	0x42, 0x14, 0x47, 0x6f, 0x7a, 0x3e, 0x8d, 0x00, 0xa0, 0xf9, 0x55, 0xf5,
	0xa2, 0x94, 0x67, 0xae, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x10,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42, 0x80, 0xcb, 0x00, 0x71, 0x05,
	0x00, 0x00, 0x00, 0x04,
};
/* 52 bytes */
static const uint8_t delete_white4[] = {
	0x02, 0x02, 0x00, 0x34, 0x00, 0x00, 0x00, 0x0a, 0x3b, 0xf7, 0xc0, 0xdc,
	0xa5, 0x4c, 0x02, 0x49, 0x92, 0xca, 0x55, 0xed, 0x68, 0x39, 0xc2, 0x0b,
	0x54, 0x2c, 0x69, 0xad, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x10,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x53, 0xf1, 0x3c, 0xc0, 0x00, 0x02, 0x0b,
	0x00, 0x00, 0x00, 0x04,
};
/* 52 bytes */
static const uint8_t delete_trapped4[] = {
	0x02, 0x02, 0x00, 0x34, 0x00, 0x00, 0x00, 0x0b, 0xea, 0x8b, 0xf2, 0x99,
	0x4e, 0x07, 0x3d, 0xf2, 0x19, 0x7d, 0xc3, 0x1b, 0x82, 0x6c, 0x44, 0x37,
	0x29, 0xa7, 0x16, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x10,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x53, 0xf1, 0x3c, 0xc0, 0x00, 0x02, 0x0c,
	0x00, 0x00, 0x00, 0x04,
};
/* 144 bytes */
static const uint8_t grey6[] = {
	0x02, 0x02, 0x00, 0x90, 0x00, 0x00, 0x00, 0x03, 0x21, 0x2d, 0x86, 0xb4,
	0x2f, 0x6e, 0x78, 0x3e, 0x24, 0x0c, 0xdf, 0xa3, 0xb7, 0x07, 0xed, 0x2e,
	0x4a, 0x64, 0x02, 0xa8, 0x00, 0x00, 0x00, 0x00, 0x47, 0x01, 0x00, 0x60,
	0x65, 0x53, 0xf1, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x25, 0x00, 0x12, 0x00, 0x11,
	0x00, 0x13, 0x63, 0x61, 0x72, 0x6f, 0x6c, 0x40, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x64, 0x61, 0x76, 0x65,
	0x40, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67,
	0x00, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
	0x47, 0x20, 0x00, 0x0c, 0x65, 0x53, 0xc9, 0xf0, 0x65, 0x53, 0xf1, 0x01,
};
/* 76 bytes */
static const uint8_t white6[] = {
	0x02, 0x02, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x04, 0xf6, 0x37, 0x1a, 0x20,
	0xd4, 0x90, 0x90, 0x15, 0x0c, 0xc2, 0xea, 0x3f, 0x77, 0xb8, 0xd1, 0x54,
	0xf5, 0x2c, 0x8a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x47, 0x02, 0x00, 0x1c,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x53, 0xff, 0x10, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x04, 0x47, 0x20, 0x00, 0x0c, 0x65, 0x53, 0xc9, 0xf0,
	0x65, 0x53, 0xf1, 0x02,
};
/* 76 bytes */
static const uint8_t trapped6[] = {
	0x02, 0x02, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x05, 0x7e, 0x8d, 0x72, 0x79,
	0xca, 0x41, 0x03, 0x76, 0xf6, 0x67, 0x18, 0xbe, 0xd5, 0x43, 0xa0, 0xc5,
	0xa6, 0xe9, 0xcd, 0xc9, 0x00, 0x00, 0x00, 0x00, 0x47, 0x03, 0x00, 0x1c,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42, 0x80, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x00, 0x00, 0x00, 0x04, 0x47, 0x20, 0x00, 0x0c, 0x65, 0x53, 0xc9, 0xf0,
	0x65, 0x53, 0xf1, 0x03,
};
/* 64 bytes */
static const uint8_t trapped4_sender[] = {
	0x02, 0x02, 0x00, 0x40, 0xff, 0xff, 0xff, 0xfe, 0xa0, 0xdc, 0x6c, 0x41,
	0x9d, 0xbe, 0x92, 0x2a, 0x25, 0x6f, 0x2b, 0xff, 0xb1, 0xc7, 0x1e, 0xfa,
	0xda, 0x6d, 0xc3, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x10,
	0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42, 0x80, 0xcb, 0x00, 0x71, 0x06,
	0x00, 0x00, 0x00, 0x04, 0x47, 0x20, 0x00, 0x0c, 0x65, 0x53, 0x60, 0x00,
	0x65, 0x53, 0xf1, 0x04,
};

static struct sync_key key, empty_key;
static struct sync_message msg;

static struct addr_prefix host(const char *text)
{
	struct addr_prefix a;

	if (addr_parse(text, &a))
		abort();
	return a;
}

static bool same_addr(const struct sync_record *r, const char *text)
{
	struct addr_prefix a = host(text);

	return addr_equal(&r->addr, &a);
}

/* Recompute the HMAC of a datagram a test has changed (its header length says how much). */
static void resign(uint8_t *buf, const struct sync_key *k)
{
	size_t total = (size_t)buf[2] << 8 | buf[3];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;

	memset(buf + 8, 0, SYNC_HMAC_LEN);
	if (!HMAC(EVP_sha1(), k->hex, (int)k->len, buf, total, mac, &maclen))
		abort();
	memcpy(buf + 8, mac, SYNC_HMAC_LEN);
}

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The vector's bytes in a writable buffer of SYNC_MAX_DATAGRAM + 16. */
static uint8_t work[SYNC_MAX_DATAGRAM + 16];
#define LOAD(v) (memset(work, 0, sizeof(work)), memcpy(work, v, sizeof(v)), sizeof(v))

static void test_key(void)
{
	char dir[] = "/tmp/gw-syncwire-XXXXXX", path[PATH_MAX];
	struct sync_key k;
	char *big;
	int fd;

	if (make_temp_path(dir, path, sizeof(path), "spamd.key") < 0)
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, KEY_FILE_TEXT, strlen(KEY_FILE_TEXT)) < 0 || close(fd))
		abort();
	CHECK_INT(sync_key_load(path, &k), 0, "key: a key file loads");
	CHECK_STR(k.hex, KEY_HEX, "key: the lowercase hex SHA-1 of the file (as sha1sum)");
	CHECK_INT(k.len, 40, "key: 40 characters");
	key = k;

	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || close(fd))
		abort();
	CHECK(!sync_key_load(path, &k) && !strcmp(k.hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
	      "key: an empty file is the SHA-1 of nothing, not the empty key");

	/* Larger than one read, against the one-shot digest. */
	big = malloc(1 << 20);
	for (int i = 0; i < 1 << 20; i++)
		big[i] = (char)(i * 7 + 3);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, big, 1 << 20) != 1 << 20 || close(fd))
		abort();
	{
		struct sync_key whole;

		CHECK(!sync_key_load(path, &k) && !sync_key_from_bytes(big, 1 << 20, &whole) &&
			  !strcmp(k.hex, whole.hex),
		      "key: a 1 MiB file read in pieces gives the one-shot digest");
	}
	free(big);
	unlink(path);

	memset(&k, 'x', sizeof(k));
	CHECK(!sync_key_load(path, &k) && k.len == 0 && k.hex[0] == '\0',
	      "key: a missing file is the empty key, as spamd");
	CHECK_INT(sync_key_load(dir, &k), -EISDIR, "key: a directory is an error");
	snprintf(path, sizeof(path), "/proc/self/status/x");
	CHECK_INT(sync_key_load(path, &k), -ENOTDIR, "key: a path through a file is an error");
	rmdir(dir);
	empty_key = (struct sync_key){.hex = "", .len = 0};
}

/* Encode rec (with sender when given) and compare with want. */
static void check_encodes_to(const char *what, uint32_t counter, const struct sync_record *rec,
			     const struct sync_sender *sender, const struct sync_key *k,
			     const uint8_t *want, size_t want_len)
{
	uint8_t out[SYNC_MAX_DATAGRAM];
	ssize_t n = sync_encode(k, counter, rec, sender, out, sizeof(out));

	CHECK(n == (ssize_t)want_len && !memcmp(out, want, want_len),
	      "encode: %s, byte for byte (%zd bytes)", what, n);
}

static void test_spamd_vectors(void)
{
	struct sync_record r;

	CHECK_INT(sync_decode(&key, grey4, sizeof(grey4), &msg), SYNC_OK, "grey4: decodes");
	r = msg.records[0];
	CHECK(msg.counter == 7 && msg.nrecords == 1 && !msg.has_sender && !msg.stopped,
	      "grey4: counter 7, one record, no sender");
	CHECK(r.type == SYNC_RECORD_GREY && r.timestamp == T && r.expire == 0 &&
		  same_addr(&r, "192.0.2.10"),
	      "grey4: a GREY of 192.0.2.10 at its timestamp");
	CHECK(r.from && !strcmp(r.from, "alice@example.org") && !strcmp(r.to, "bob@example.net") &&
		  !strcmp(r.helo, "mx.example.org"),
	      "grey4: from, to, helo");
	CHECK((const uint8_t *)r.from == grey4 + 50, "grey4: the strings point into the datagram");
	check_encodes_to("grey4", 7, &r, NULL, &key, grey4, sizeof(grey4));

	CHECK_INT(sync_decode(&key, white4, sizeof(white4), &msg), SYNC_OK, "white4: decodes");
	r = msg.records[0];
	CHECK(msg.counter == 8 && msg.nrecords == 1 && r.type == SYNC_RECORD_WHITE &&
		  r.timestamp == T && r.expire == T + 864 * 3600 && same_addr(&r, "198.51.100.7") &&
		  !r.from && !r.to && !r.helo,
	      "white4: a WHITE of 198.51.100.7 with its absolute expiry");
	check_encodes_to("white4", 8, &r, NULL, &key, white4, sizeof(white4));

	CHECK_INT(sync_decode(&empty_key, trapped4_nokey, sizeof(trapped4_nokey), &msg), SYNC_OK,
		  "trapped4: decodes under the empty key");
	r = msg.records[0];
	CHECK(msg.counter == 9 && r.type == SYNC_RECORD_TRAPPED && r.expire == T + 86400 &&
		  same_addr(&r, "203.0.113.5"),
	      "trapped4: a TRAPPED of 203.0.113.5");
	check_encodes_to("trapped4 under the empty key", 9, &r, NULL, &empty_key, trapped4_nokey,
			 sizeof(trapped4_nokey));
	CHECK_INT(sync_decode(&key, trapped4_nokey, sizeof(trapped4_nokey), &msg), SYNC_DROP_BAD_HMAC,
		  "trapped4: the empty key's datagram fails under a real key");
	CHECK_INT(sync_decode(&empty_key, white4, sizeof(white4), &msg), SYNC_DROP_BAD_HMAC,
		  "white4: a keyed datagram fails under the empty key");

	CHECK_INT(sync_decode(&key, delete_white4, sizeof(delete_white4), &msg), SYNC_OK,
		  "greyd delete white (0x0004): decodes");
	r = msg.records[0];
	CHECK(r.type == SYNC_RECORD_DELETE_WHITE && same_addr(&r, "192.0.2.11") &&
		  r.expire == T + 60 && r.timestamp == T,
	      "greyd delete white: 192.0.2.11");
	check_encodes_to("greyd delete white", 10, &r, NULL, &key, delete_white4,
			 sizeof(delete_white4));
	CHECK_INT(sync_decode(&key, delete_trapped4, sizeof(delete_trapped4), &msg), SYNC_OK,
		  "greyd delete trapped (0x0005): decodes");
	r = msg.records[0];
	CHECK(r.type == SYNC_RECORD_DELETE_TRAPPED && same_addr(&r, "192.0.2.12"),
	      "greyd delete trapped: 192.0.2.12");
	check_encodes_to("greyd delete trapped", 11, &r, NULL, &key, delete_trapped4,
			 sizeof(delete_trapped4));
}

static void test_greywall_vectors(void)
{
	struct sync_sender s;
	struct sync_record r;

	CHECK_INT(sync_decode(&key, grey6, sizeof(grey6), &msg), SYNC_OK, "grey6: decodes");
	r = msg.records[0];
	s = msg.sender;
	CHECK(msg.counter == 3 && msg.nrecords == 1 && r.type == SYNC_RECORD_GREY &&
		  same_addr(&r, "2001:db8::25") && r.timestamp == T &&
		  r.from && !strcmp(r.from, "carol@example.com") && !strcmp(r.to, "dave@example.org") &&
		  !strcmp(r.helo, "client.example.com"),
	      "grey6: a GREY of 2001:db8::25 with its strings");
	CHECK(msg.has_sender && s.epoch == 1699990000 && s.sent == T + 1,
	      "grey6: the SENDER trailer's epoch and time");
	check_encodes_to("grey6 with its sender", 3, &r, &s, &key, grey6, sizeof(grey6));

	CHECK_INT(sync_decode(&key, white6, sizeof(white6), &msg), SYNC_OK, "white6: decodes");
	r = msg.records[0];
	s = msg.sender;
	CHECK(r.type == SYNC_RECORD_WHITE && same_addr(&r, "2001:db8:1::7") && r.expire == T + 3600 &&
		  msg.has_sender && s.sent == T + 2,
	      "white6: a WHITE of 2001:db8:1::7");
	check_encodes_to("white6", 4, &r, &s, &key, white6, sizeof(white6));

	CHECK_INT(sync_decode(&key, trapped6, sizeof(trapped6), &msg), SYNC_OK, "trapped6: decodes");
	r = msg.records[0];
	s = msg.sender;
	CHECK(r.type == SYNC_RECORD_TRAPPED && same_addr(&r, "2001:db8:2::9") &&
		  r.expire == T + 86400,
	      "trapped6: a TRAPPED of 2001:db8:2::9");
	check_encodes_to("trapped6", 5, &r, &s, &key, trapped6, sizeof(trapped6));

	CHECK_INT(sync_decode(&key, trapped4_sender, sizeof(trapped4_sender), &msg), SYNC_OK,
		  "trapped4 with a sender: decodes");
	r = msg.records[0];
	s = msg.sender;
	CHECK(msg.counter == 0xfffffffe && same_addr(&r, "203.0.113.6") && msg.has_sender &&
		  s.epoch == 0x65536000,
	      "trapped4 with a sender: the full 32-bit counter and the epoch");
	check_encodes_to("trapped4 with a sender", 0xfffffffe, &r, &s, &key, trapped4_sender,
			 sizeof(trapped4_sender));
	/* What spamd reads of it: the same 52 bytes up to END as its own datagram would be. */
	CHECK(trapped4_sender[33] == SYNC_TLV_TRAPPED && trapped4_sender[48] == 0 &&
		  trapped4_sender[49] == 0 && trapped4_sender[51] == 4,
	      "trapped4 with a sender: the record, then END, then the trailer spamd never reads");
}

/* Every prefix of a valid datagram is dropped, short or truncated, never read. */
static void test_truncations(void)
{
	const struct {
		const char *name;
		const uint8_t *d;
		size_t len;
	} v[] = {{"grey4", grey4, sizeof(grey4)},
		 {"grey6", grey6, sizeof(grey6)},
		 {"white4", white4, sizeof(white4)}};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bool all = true;

		for (size_t n = 0; n < v[i].len; n++) {
			/* On the heap, exactly n bytes: ASan sees any read past them. */
			uint8_t *copy = malloc(n ? n : 1);
			enum sync_drop d;

			memcpy(copy, v[i].d, n);
			d = sync_decode(&key, copy, n, &msg);
			all &= (n < SYNC_HEADER_LEN ? d == SYNC_DROP_SHORT : d == SYNC_DROP_TRUNCATED);
			free(copy);
		}
		CHECK(all, "truncated: every prefix of %s is short or truncated", v[i].name);
	}
}

static void test_header_drops(void)
{
	size_t n;

	n = LOAD(white4);
	CHECK_INT(sync_decode(&key, work, SYNC_MAX_DATAGRAM + 1, &msg), SYNC_DROP_OVERSIZED,
		  "header: 1409 bytes received is oversized");
	CHECK_INT(sync_decode(&key, work, n + 16, &msg), SYNC_OK,
		  "header: bytes after the header's length are not read (as spamd)");
	work[n] = 0xff;
	CHECK_INT(sync_decode(&key, work, n + 16, &msg), SYNC_OK,
		  "header: nor changing them (they are not authenticated)");
	CHECK_INT(sync_decode(&key, work, 0, &msg), SYNC_DROP_SHORT, "header: 0 bytes is short");
	CHECK_INT(sync_decode(&key, work, 31, &msg), SYNC_DROP_SHORT, "header: 31 bytes is short");

	n = LOAD(white4);
	work[0] = 1;
	resign(work, &key);
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_VERSION,
		  "header: version 1, signed, is bad_version");
	n = LOAD(white4);
	work[1] = 24;
	resign(work, &key);
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_AF,
		  "header: af 24 (OpenBSD's AF_INET6), signed, is bad_af");
	n = LOAD(white4);
	put16(work + 2, 35);
	resign(work, &key);
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_LENGTH,
		  "header: length 35 (no room for END) is bad_length");
	put16(work + 2, 0);
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_LENGTH,
		  "header: length 0 is bad_length");
	n = LOAD(white4);
	put16(work + 2, 53);
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_TRUNCATED,
		  "header: length one past what was received is truncated");

	n = LOAD(white4);
	work[8] ^= 1;
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_HMAC,
		  "hmac: one bit of the HMAC flipped");
	n = LOAD(white4);
	work[47] ^= 1;
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_HMAC,
		  "hmac: one bit of the address flipped");
	n = LOAD(white4);
	work[4] ^= 0x80;
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_HMAC,
		  "hmac: the counter changed (a replay with a new counter needs the key)");
	n = LOAD(white4);
	work[30] = 1;
	CHECK_INT(sync_decode(&key, work, n, &msg), SYNC_DROP_BAD_HMAC,
		  "hmac: the header's pad is authenticated too");
	{
		struct sync_key other;

		sync_key_from_bytes("another key\n", 12, &other);
		CHECK_INT(sync_decode(&other, white4, sizeof(white4), &msg), SYNC_DROP_BAD_HMAC,
			  "hmac: another key");
	}
}

/* A datagram of one header and the given TLV bytes, signed with key. */
static size_t build(const uint8_t *tlvs, size_t len)
{
	memset(work, 0, sizeof(work));
	work[0] = SYNC_VERSION;
	work[1] = SYNC_AF_INET;
	put16(work + 2, (unsigned int)(SYNC_HEADER_LEN + len));
	memcpy(work + SYNC_HEADER_LEN, tlvs, len);
	resign(work, &key);
	return SYNC_HEADER_LEN + len;
}

#define END_TLV 0x00, 0x00, 0x00, 0x04
#define WHITE_TLV(last) 0x00, 0x02, 0x00, 0x10, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42, 0x80, \
	0xc0, 0x00, 0x02, last
#define SENDER_TLV 0x47, 0x20, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x65, 0x53, 0xf1, 0x00

static void test_tlv_drops(void)
{
	const uint8_t zero_len[] = {0x00, 0x02, 0x00, 0x00, WHITE_TLV(1), END_TLV};
	const uint8_t three_len[] = {0x00, 0x02, 0x00, 0x03, WHITE_TLV(1), END_TLV};
	const uint8_t past_end[] = {0x00, 0x02, 0x00, 0x20, WHITE_TLV(1)};
	const uint8_t white_20[] = {0x00, 0x02, 0x00, 0x14, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42,
				    0x80, 0xc0, 0x00, 0x02, 0x01, 0, 0, 0, 0, END_TLV};
	const uint8_t trapped_12[] = {0x00, 0x03, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, END_TLV};
	const uint8_t end_8[] = {WHITE_TLV(1), 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0};
	const uint8_t end_0[] = {WHITE_TLV(1), 0x00, 0x00, 0x00, 0x00};
	const uint8_t grey_short[] = {0x00, 0x01, 0x00, 0x10, 0, 0, 0, 0, 192, 0, 2, 1, 0, 1, 0, 1,
				      END_TLV};
	const uint8_t no_end[] = {WHITE_TLV(1)};
	const uint8_t two_bytes_left[] = {WHITE_TLV(1), 0x00, 0x00};
	const uint8_t two_white[] = {WHITE_TLV(1), WHITE_TLV(2), END_TLV};
	const uint8_t unknown_stops[] = {WHITE_TLV(1), 0x00, 0x09, 0x00, 0x04, WHITE_TLV(2), END_TLV};
	const uint8_t unknown_first[] = {0x47, 0x7f, 0x00, 0x08, 0, 0, 0, 0, WHITE_TLV(2), END_TLV};
	const uint8_t unknown_bad_len[] = {WHITE_TLV(1), 0x00, 0x09, 0x00, 0x40, END_TLV};
	const uint8_t sender_first[] = {SENDER_TLV, WHITE_TLV(1), END_TLV};
	const uint8_t two_senders[] = {WHITE_TLV(1), END_TLV, SENDER_TLV, SENDER_TLV};
	const uint8_t record_after_end[] = {WHITE_TLV(1), END_TLV, WHITE_TLV(2)};
	const uint8_t end_after_end[] = {WHITE_TLV(1), END_TLV, END_TLV};
	const uint8_t sender_len_16[] = {WHITE_TLV(1), END_TLV, 0x47, 0x20, 0x00, 0x10, 0, 0, 0, 1,
					 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 0};
	const uint8_t trailer_zero_len[] = {WHITE_TLV(1), END_TLV, 0x47, 0x7f, 0x00, 0x00};
	const uint8_t trailer_odd_bytes[] = {WHITE_TLV(1), END_TLV, SENDER_TLV, 0x00};
	const uint8_t trailer_unknown[] = {WHITE_TLV(1), END_TLV, SENDER_TLV, 0x47, 0x7f, 0x00, 0x08,
					   1, 2, 3, 4};
	const uint8_t white6_16[] = {0x47, 0x02, 0x00, 0x10, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42,
				     0x80, 0x20, 0x01, 0x0d, 0xb8, END_TLV};
	const uint8_t white6_mapped[] = {0x47, 0x02, 0x00, 0x1c, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55,
					 0x42, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0,
					 2, 1, END_TLV};
	const uint8_t delete_white_28[] = {0x00, 0x04, 0x00, 0x1c, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55,
					   0x42, 0x80, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0, 1, END_TLV};
	size_t n;

#define DROP(tlvs, want, ...) CHECK_INT(sync_decode(&key, work, build(tlvs, sizeof(tlvs)), &msg), want, __VA_ARGS__)
	DROP(zero_len, SYNC_DROP_BAD_TLV_LENGTH, "tlv: length 0 (a walk that would not move)");
	DROP(three_len, SYNC_DROP_BAD_TLV_LENGTH, "tlv: length 3, under its own head");
	DROP(past_end, SYNC_DROP_BAD_TLV_LENGTH, "tlv: length past the datagram's");
	DROP(white_20, SYNC_DROP_BAD_TLV_LENGTH, "tlv: WHITE of 20 bytes, not 16 (spamd's check)");
	DROP(trapped_12, SYNC_DROP_BAD_TLV_LENGTH, "tlv: TRAPPED of 12 bytes");
	DROP(end_8, SYNC_DROP_BAD_TLV_LENGTH, "tlv: END of 8 bytes");
	DROP(end_0, SYNC_DROP_BAD_TLV_LENGTH, "tlv: END of 0 bytes");
	DROP(grey_short, SYNC_DROP_BAD_TLV_LENGTH, "tlv: GREY shorter than its 18-byte head");
	DROP(white6_16, SYNC_DROP_BAD_TLV_LENGTH, "tlv: WHITE6 of 16 bytes, not 28");
	DROP(delete_white_28, SYNC_DROP_BAD_TLV_LENGTH, "tlv: greyd's delete of 28 bytes, not 16");
	DROP(white6_mapped, SYNC_DROP_BAD_ADDRESS, "tlv: WHITE6 of ::ffff:192.0.2.1 is bad_address");
	DROP(no_end, SYNC_DROP_NO_END, "tlv: a record and no END");
	DROP(two_bytes_left, SYNC_DROP_NO_END, "tlv: two bytes where END should be");
	DROP(sender_first, SYNC_DROP_MISPLACED_TLV, "tlv: SENDER before END (spamd would stop at it)");
	DROP(two_senders, SYNC_DROP_MISPLACED_TLV, "tlv: two SENDERs");
	DROP(record_after_end, SYNC_DROP_MISPLACED_TLV, "tlv: a WHITE after END (spamd never sees it)");
	DROP(end_after_end, SYNC_DROP_MISPLACED_TLV, "tlv: a second END");
	DROP(sender_len_16, SYNC_DROP_BAD_TLV_LENGTH, "tlv: SENDER of 16 bytes, not 12");
	DROP(trailer_zero_len, SYNC_DROP_BAD_TLV_LENGTH, "tlv: a trailer TLV of length 0");
	DROP(trailer_odd_bytes, SYNC_DROP_BAD_TLV_LENGTH, "tlv: one stray byte after the trailer");
	DROP(unknown_bad_len, SYNC_DROP_BAD_TLV_LENGTH,
	     "tlv: an unknown type whose length runs past the datagram");

	DROP(two_white, SYNC_OK, "walk: two records in one datagram (spamd's receiver takes both)");
	CHECK(msg.nrecords == 2 && msg.records[0].addr.bytes[3] == 1 &&
		  msg.records[1].addr.bytes[3] == 2 && !msg.stopped,
	      "walk: both, in order");
	DROP(unknown_stops, SYNC_OK, "walk: an unknown type stops the walk, no drop");
	CHECK(msg.nrecords == 1 && msg.records[0].addr.bytes[3] == 1 && msg.stopped &&
		  msg.stopped_type == 9,
	      "walk: the record before it is kept, the one after it is not read");
	DROP(unknown_first, SYNC_OK, "walk: an unknown type first");
	CHECK(msg.nrecords == 0 && msg.stopped && msg.stopped_type == 0x477f,
	      "walk: nothing is taken");
	DROP(trailer_unknown, SYNC_OK, "trailer: an unknown trailer TLV ends the trailer");
	CHECK(msg.nrecords == 1 && msg.has_sender && msg.sender.epoch == 1,
	      "trailer: the SENDER before it stands");
#undef DROP

	/* Drops leave nothing that looks like a record. */
	n = build(no_end, sizeof(no_end));
	CHECK(sync_decode(&key, work, n, &msg) != SYNC_OK && msg.counter == 0 && !msg.has_sender,
	      "drop: the message is not left half-filled with the header's fields");
}

/* grey4 with one of its GREY fields changed, re-signed. */
static enum sync_drop grey_variant(void (*change)(uint8_t *tlv))
{
	size_t n = LOAD(grey4);

	change(work + SYNC_HEADER_LEN);
	resign(work, &key);
	return sync_decode(&key, work, n, &msg);
}

/* grey4's strings are at TLV offsets 18 (from, 18), 36 (to, 16), 52 (helo, 15); 67..79 pad. */
static void from_past_tlv(uint8_t *t) { put16(t + 12, 200); }
static void helo_huge(uint8_t *t) { put16(t + 16, 0xffff); }
static void from_zero(uint8_t *t) { put16(t + 12, 0); }
static void from_unterminated(uint8_t *t) { t[18 + 17] = 'x'; }
static void helo_embedded_nul(uint8_t *t) { t[52 + 3] = '\0'; }
static void lengths_shifted(uint8_t *t) { put16(t + 12, 17); put16(t + 14, 17); }
static void pad_nonzero(uint8_t *t) { t[79] = 1; }
static void tlv_unaligned(uint8_t *t) { put16(t + 2, 68); }

static void test_grey_drops(void)
{
	size_t n;

	CHECK_INT(grey_variant(from_past_tlv), SYNC_DROP_BAD_STRING,
		  "grey: a from length past the TLV (spamd's check)");
	CHECK_INT(grey_variant(helo_huge), SYNC_DROP_BAD_STRING, "grey: a helo length of 65535");
	CHECK_INT(grey_variant(from_zero), SYNC_DROP_BAD_STRING,
		  "grey: a from of length 0 (no room for its NUL)");
	CHECK_INT(grey_variant(from_unterminated), SYNC_DROP_BAD_STRING,
		  "grey: a from whose last byte is not NUL");
	CHECK_INT(grey_variant(helo_embedded_nul), SYNC_DROP_BAD_STRING,
		  "grey: a helo with a NUL before its end (two readings of one string)");
	CHECK_INT(grey_variant(lengths_shifted), SYNC_DROP_BAD_STRING,
		  "grey: lengths that split the strings elsewhere");
	CHECK_INT(grey_variant(pad_nonzero), SYNC_DROP_BAD_PADDING, "grey: a padding byte not zero");
	CHECK_INT(grey_variant(tlv_unaligned), SYNC_DROP_BAD_PADDING,
		  "grey: a TLV length not spamd's multiple of 16");

	/* A longer GREY TLV with the extra bytes zero: spamd would take it, we want its own size. */
	n = LOAD(grey4);
	memmove(work + SYNC_HEADER_LEN + 96, work + SYNC_HEADER_LEN + 80, 4);
	memset(work + SYNC_HEADER_LEN + 80, 0, 16);
	put16(work + SYNC_HEADER_LEN + 2, 96);
	put16(work + 2, (unsigned int)n + 16);
	resign(work, &key);
	CHECK_INT(sync_decode(&key, work, n + 16, &msg), SYNC_DROP_BAD_PADDING,
		  "grey: 16 more bytes of zero padding than spamd sends");
}

static void fill(char *s, size_t len, char c)
{
	memset(s, c, len);
	s[len] = '\0';
}

/* A GREY whose strings (NULs counted) total strings bytes, split over three. */
static ssize_t encode_grey_of(const char *addr, size_t strings, const struct sync_sender *sender,
			      uint8_t *out, size_t size)
{
	static char from[2048], to[16], helo[16];
	struct sync_record r = {.type = SYNC_RECORD_GREY, .addr = host(addr), .timestamp = T,
				.from = from, .to = to, .helo = helo};

	fill(to, 5, 't');
	fill(helo, 7, 'h');
	fill(from, strings - 6 - 8 - 1, 'f');
	return sync_encode(&key, 1, &r, sender, out, size);
}

static void test_size_limit(void)
{
	struct sync_sender s = {.epoch = 1, .sent = T};
	uint8_t out[SYNC_MAX_DATAGRAM];
	ssize_t n;

	n = encode_grey_of("192.0.2.1", 1342, &s, out, sizeof(out));
	CHECK_INT(n, SYNC_MAX_DATAGRAM, "limit: a GREY with 1342 bytes of strings and a sender is 1408 bytes");
	CHECK(sync_decode(&key, out, (size_t)n, &msg) == SYNC_OK && msg.nrecords == 1 &&
		  msg.records[0].from && strlen(msg.records[0].from) == 1342 - 15 && msg.has_sender,
	      "limit: and decodes whole");
	CHECK_INT(encode_grey_of("192.0.2.1", 1343, &s, out, sizeof(out)), -EMSGSIZE,
		  "limit: 1343 bytes of strings is refused (EMSGSIZE), not cut");
	CHECK_INT(encode_grey_of("192.0.2.1", 1342, NULL, out, sizeof(out)), 1396,
		  "limit: without the sender, 1396 bytes (spamd's datagram)");
	CHECK_INT(encode_grey_of("192.0.2.1", 1343, NULL, out, sizeof(out)), -EMSGSIZE,
		  "limit: 1343 is refused without the sender too (padding to 16)");
	n = encode_grey_of("2001:db8::1", 1330, &s, out, sizeof(out));
	CHECK_INT(n, SYNC_MAX_DATAGRAM, "limit: a GREY6 with 1330 bytes of strings is 1408 bytes");
	CHECK(n > 0 && sync_decode(&key, out, (size_t)n, &msg) == SYNC_OK,
	      "limit: and decodes whole");
	CHECK_INT(encode_grey_of("2001:db8::1", 1331, &s, out, sizeof(out)), -EMSGSIZE,
		  "limit: a GREY6 with 1331 bytes is refused");
	CHECK_INT(encode_grey_of("192.0.2.1", 100, NULL, out, 100), -ENOBUFS,
		  "limit: a buffer too small for the datagram is ENOBUFS");
	{
		char *huge = malloc(1 << 20);
		struct sync_record r = {.type = SYNC_RECORD_GREY, .addr = host("192.0.2.1"),
					.from = huge, .to = "", .helo = ""};

		fill(huge, (1 << 20) - 1, 'x');
		CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EMSGSIZE,
			  "limit: a 1 MiB from is refused, no length wraps");
		free(huge);
	}
}

static void test_encode_refusals(void)
{
	uint8_t out[SYNC_MAX_DATAGRAM];
	struct sync_record r = {.type = SYNC_RECORD_GREY, .addr = host("192.0.2.1"),
				.from = "a@example.org", .to = NULL, .helo = "h"};

	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: a GREY without its to is EINVAL");
	r = (struct sync_record){.type = SYNC_RECORD_WHITE, .addr = host("192.0.2.0/24")};
	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: a network, not a host, is EINVAL");
	r = (struct sync_record){.type = SYNC_RECORD_DELETE_WHITE, .addr = host("2001:db8::1")};
	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: an IPv6 delete record (greyd has none) is EINVAL");
	r = (struct sync_record){.type = SYNC_RECORD_WHITE, .addr = host("2001:db8::1")};
	r.addr.bytes[10] = r.addr.bytes[11] = 0xff;
	memset(r.addr.bytes, 0, 10);
	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: an IPv4-mapped IPv6 address is EINVAL");
	r = (struct sync_record){.type = SYNC_RECORD_WHITE, .addr = host("192.0.2.1")};
	r.addr.family = AF_UNIX;
	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: another family is EINVAL");
	r = (struct sync_record){.type = (enum sync_record_type)42, .addr = host("192.0.2.1")};
	CHECK_INT(sync_encode(&key, 1, &r, NULL, out, sizeof(out)), -EINVAL,
		  "encode: an unknown record type is EINVAL");
}

/* Every type in both families through encode and decode, with and without a sender. */
static void test_round_trips(void)
{
	const char *addrs[] = {"198.51.100.200", "2001:db8:ffff::abcd"};
	const enum sync_record_type types[] = {SYNC_RECORD_GREY, SYNC_RECORD_WHITE,
					       SYNC_RECORD_TRAPPED, SYNC_RECORD_DELETE_WHITE,
					       SYNC_RECORD_DELETE_TRAPPED};
	bool all = true;
	int cases = 0;

	for (int a = 0; a < 2; a++)
		for (int t = 0; t < 5; t++)
			for (int with_sender = 0; with_sender < 2; with_sender++) {
				struct sync_sender s = {.epoch = 0x80000001u, .sent = 0xfffffff0u};
				struct sync_record r = {.type = types[t], .addr = host(addrs[a]),
							.timestamp = T + (uint32_t)t,
							.expire = types[t] == SYNC_RECORD_GREY ? 0 : 0xffffffffu};
				const struct sync_record *d = &msg.records[0];
				uint8_t out[SYNC_MAX_DATAGRAM];
				ssize_t n;

				if (types[t] == SYNC_RECORD_GREY) {
					r.from = "";
					r.to = "x";
					r.helo = "helo\001\177\377";
				}
				n = sync_encode(&key, 0xffffffffu, &r, with_sender ? &s : NULL, out,
						sizeof(out));
				if (a == 1 && t >= 3) {
					all &= n == -EINVAL;
					continue;
				}
				cases++;
				all &= n > 0 && sync_decode(&key, out, (size_t)n, &msg) == SYNC_OK &&
				       msg.nrecords == 1 && msg.counter == 0xffffffffu &&
				       msg.has_sender == (bool)with_sender &&
				       (!with_sender || (msg.sender.epoch == s.epoch &&
							 msg.sender.sent == s.sent)) &&
				       d->type == r.type && addr_equal(&d->addr, &r.addr) &&
				       d->timestamp == r.timestamp && d->expire == r.expire &&
				       (r.type != SYNC_RECORD_GREY ||
					(d->from && !strcmp(d->from, r.from) && !strcmp(d->to, r.to) &&
					 !strcmp(d->helo, r.helo)));
			}
	CHECK(all && cases == 16, "round trip: %d records of every type and family (control and "
				  "8-bit bytes in a helo, empty from) come back as sent", cases);
}

static void test_names(void)
{
	bool all = true;

	for (int d = 0; d < SYNC_DROP__COUNT; d++) {
		const char *name = sync_drop_name((enum sync_drop)d);

		all &= name && strcmp(name, "unknown") && !strchr(name, ' ');
		for (int e = 0; e < d; e++)
			all &= strcmp(name, sync_drop_name((enum sync_drop)e)) != 0;
	}
	CHECK(all, "names: every drop reason has its own one-word name");
	CHECK_STR(sync_drop_name(SYNC_DROP_BAD_HMAC), "bad_hmac", "names: bad_hmac");
	CHECK_STR(sync_drop_name(SYNC_DROP__COUNT), "unknown", "names: out of range");
	CHECK_STR(sync_record_type_name(SYNC_RECORD_DELETE_TRAPPED), "delete_trapped",
		  "names: delete_trapped");
}

int main(void)
{
	test_key();
	test_spamd_vectors();
	test_greywall_vectors();
	test_truncations();
	test_header_drops();
	test_tlv_drops();
	test_grey_drops();
	test_size_limit();
	test_encode_refusals();
	test_round_trips();
	test_names();
	return check_done();
}
