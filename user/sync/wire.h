/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The spamd sync wire format: OpenBSD spamd's protocol version 2 (sync.h
 * 1.3, sync.c 1.14), byte for byte, with greyd's delete records and
 * greywall's own TLVs for IPv6 and for the replay window. Pure: bytes in,
 * records out (and back); no socket, clock or log. The key comes from
 * key.h.
 *
 * THE DATAGRAM
 *
 * Every field is in network byte order; nothing is aligned but what is
 * said. One datagram is at most 1408 bytes (spamd's receive buffer,
 * SPAM_SYNC_MAXSIZE): a record that does not fit is not sent
 * (sync_encode() returns -EMSGSIZE), never cut.
 *
 *   header, 32 bytes
 *     0  u8    version        2
 *     1  u8    af             2 (AF_INET), in every datagram, IPv6 ones too
 *     2  u16   length         of the whole datagram, header included
 *     4  u32   counter        the sender's, one more per datagram
 *     8  [20]  hmac           HMAC-SHA1 of bytes [0, length) with these
 *                             20 bytes zeroed, keyed with the 40 hex
 *                             digits of the SHA-1 of the key file
 *                             (the empty key when there is no file)
 *     28 [4]   pad            zero
 *   then TLVs: u16 type, u16 length (of the whole TLV, its 4-byte head
 *   included), up to an END; then, greywall's only, a trailer of TLVs.
 *
 *   0x0000 END, 4 bytes: the last record.
 *
 *   0x0001 GREY, IPv4 greylist tuple (spamd)
 *     4  u32   timestamp      when the sender saw it
 *     8  [4]   address
 *     12 u16   from length    each length counts the string's NUL
 *     14 u16   to length
 *     16 u16   helo length
 *     18       from, to, helo, each NUL-terminated; then zero bytes up
 *              to a multiple of 16: length = (18 + strings + 15) & ~15
 *
 *   0x0002 WHITE, 0x0003 TRAPPED, 16 bytes (spamd)
 *     4  u32   timestamp
 *     8  u32   expire         absolute, unix seconds
 *     12 [4]   address
 *
 *   0x0004 DELETE WHITE, 0x0005 DELETE TRAPPED, 16 bytes (greyd): laid
 *   out as WHITE; received, never sent by greywall.
 *
 *   0x4701 GREY6 (greywall): GREY with a 16-byte address
 *     4  u32   timestamp
 *     8  [16]  address
 *     24 u16   from length
 *     26 u16   to length
 *     28 u16   helo length
 *     30       from, to, helo; zero bytes up to a multiple of 16
 *
 *   0x4702 WHITE6, 0x4703 TRAPPED6 (greywall), 28 bytes
 *     4  u32   timestamp
 *     8  u32   expire
 *     12 [16]  address
 *
 *   0x4720 SENDER (greywall, trailer only), 12 bytes
 *     4  u32   epoch          the sender's counter epoch, unix seconds
 *     8  u32   sent           when the datagram was sent, unix seconds
 *
 * spamd stops at the first type it does not know ("invalid type") and at
 * END, keeping what it took before. So: one record per datagram, as spamd
 * sends; an IPv6 record goes in a datagram of its own, which spamd takes
 * nothing from (its af is still AF_INET: the header frames the protocol,
 * the TLV type says the family, and AF_INET6's number differs between
 * systems: 10 on Linux, 24 on OpenBSD, 28 on FreeBSD). The SENDER TLV goes
 * after END, where spamd and greyd never look, so a datagram with an IPv4
 * record is exactly spamd's up to END and spamd logs nothing about it.
 *
 * The replay window (the receiver's, per peer): a sender picks a new epoch
 * when it starts and whenever its counter would wrap, always later than
 * its last one, and restarts the counter at 0; so (epoch, counter) grows
 * with every datagram. A receiver rejects a datagram whose (epoch, counter)
 * it has seen or passed, and one whose sent time is too far from its own
 * clock. spamd and greyd send no SENDER TLV and start their counter at 0
 * whenever they start: from them only the records' own timestamps can be
 * checked.
 *
 * THE RECEIVER'S CHECKS
 *
 * spamd's: at least 32 bytes, version 2, af AF_INET, length no more than
 * was received, the HMAC (compared in constant time), GREY string lengths
 * within the TLV, WHITE and TRAPPED 16 bytes long; an unknown type stops
 * the walk, END ends it. Ours too: no more than 1408 bytes, length at least
 * header plus END, every TLV at least 4 bytes and within length, each
 * string exactly NUL-terminated where its length says (no NUL before), a
 * GREY's padding as spamd makes it (exact length, zero bytes), END 4 bytes
 * long and present, no IPv4-mapped address in an IPv6 record, after END
 * only trailer TLVs (SENDER at most once; an unknown one ends the
 * trailer). Any failure drops the whole datagram, with a reason; bytes
 * past length are not authenticated and never read.
 */
#ifndef __GREYWALL_SYNC_WIRE_H
#define __GREYWALL_SYNC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"
#include "sync/key.h"

#define SYNC_VERSION	  2
#define SYNC_AF_INET	  2
#define SYNC_HMAC_LEN	  20
#define SYNC_HMAC_OFFSET  8 /* in the header */
#define SYNC_HEADER_LEN	  32
#define SYNC_MAX_DATAGRAM 1408
#define SYNC_ALIGN(n)	  (((size_t)(n) + 15) & ~(size_t)15)
/* Room for the most records one datagram can hold (16 bytes each). */
#define SYNC_MAX_RECORDS ((SYNC_MAX_DATAGRAM - SYNC_HEADER_LEN) / 16)
/* The default UDP port (the spamd-sync service) and multicast group. */
#define SYNC_PORT	 8025
#define SYNC_MCAST_GROUP "224.0.1.240"

enum sync_tlv_type {
	SYNC_TLV_END = 0x0000,
	SYNC_TLV_GREY = 0x0001,
	SYNC_TLV_WHITE = 0x0002,
	SYNC_TLV_TRAPPED = 0x0003,
	SYNC_TLV_DELETE_WHITE = 0x0004,
	SYNC_TLV_DELETE_TRAPPED = 0x0005,
	SYNC_TLV_GREY6 = 0x4701,
	SYNC_TLV_WHITE6 = 0x4702,
	SYNC_TLV_TRAPPED6 = 0x4703,
	SYNC_TLV_SENDER = 0x4720,
};

/* TLV sizes: fixed ones whole, GREY's before its strings. */
#define SYNC_TLV_HEAD_LEN   4
#define SYNC_GREY_HEAD_LEN  18
#define SYNC_GREY6_HEAD_LEN 30
#define SYNC_ADDR_LEN	    16
#define SYNC_ADDR6_LEN	    28
#define SYNC_SENDER_LEN	    12
#define SYNC_END_LEN	    4

enum sync_record_type {
	SYNC_RECORD_GREY,
	SYNC_RECORD_WHITE,
	SYNC_RECORD_TRAPPED,
	SYNC_RECORD_DELETE_WHITE,
	SYNC_RECORD_DELETE_TRAPPED,
};

/*
 * One record. addr is a host (plen 32 or 128); its family picks the TLV
 * (GREY or GREY6, ...). A decoded GREY's strings point into the datagram
 * given to sync_decode() (each NUL-terminated there), so they live as long
 * as it does; other records have them NULL and GREY has expire 0.
 */
struct sync_record {
	enum sync_record_type type;
	struct addr_prefix addr;
	uint32_t timestamp;
	uint32_t expire;
	const char *helo;
	const char *from;
	const char *to;
};

/* The SENDER trailer (see the replay window above). */
struct sync_sender {
	uint32_t epoch;
	uint32_t sent;
};

/* Why a datagram was dropped; SYNC_OK when it was not. */
enum sync_drop {
	SYNC_OK,
	SYNC_DROP_OVERSIZED,	  /* more than 1408 bytes received */
	SYNC_DROP_SHORT,	  /* fewer than the 32 of the header */
	SYNC_DROP_BAD_VERSION,	  /* version not 2 */
	SYNC_DROP_BAD_AF,	  /* af not AF_INET */
	SYNC_DROP_BAD_LENGTH,	  /* header length under header + END */
	SYNC_DROP_TRUNCATED,	  /* header length over what was received */
	SYNC_DROP_BAD_HMAC,	  /* the HMAC does not match */
	SYNC_DROP_BAD_TLV_LENGTH, /* a TLV under 4 bytes, past the end or not its type's size */
	SYNC_DROP_BAD_STRING,	  /* a GREY string not NUL-terminated where its length says */
	SYNC_DROP_BAD_PADDING,	  /* a GREY's padding not as spamd makes it */
	SYNC_DROP_BAD_ADDRESS,	  /* an IPv4-mapped address in an IPv6 record */
	SYNC_DROP_NO_END,	  /* no END before the header's length */
	SYNC_DROP_MISPLACED_TLV,  /* SENDER before END or twice, a record after END */
	SYNC_DROP_CRYPTO_ERROR,	  /* libcrypto failed: nothing is taken unchecked */
	SYNC_DROP__COUNT,
};

/* What one datagram held. */
struct sync_message {
	uint32_t counter;
	bool has_sender;
	struct sync_sender sender;
	/* Set when the walk stopped at a type it does not know, as spamd's does. */
	bool stopped;
	uint16_t stopped_type;
	size_t nrecords;
	struct sync_record records[SYNC_MAX_RECORDS];
};

/*
 * Build the datagram carrying rec into buf (size bytes) under key, with
 * the SENDER trailer when sender is not NULL. Returns its length, or
 * -EMSGSIZE when it would pass 1408 bytes, -ENOBUFS when it does not fit
 * in size, -EINVAL for a record that cannot be sent (a GREY without its
 * three strings, an address that is not a host, an IPv6 delete record),
 * -EIO when libcrypto fails.
 */
ssize_t sync_encode(const struct sync_key *key, uint32_t counter, const struct sync_record *rec,
		    const struct sync_sender *sender, uint8_t *buf, size_t size);

/*
 * Check and read the len bytes of one received datagram into msg. Returns
 * SYNC_OK with msg filled, or the reason the whole datagram is dropped
 * (then msg holds nothing to use).
 */
enum sync_drop sync_decode(const struct sync_key *key, const uint8_t *buf, size_t len,
			   struct sync_message *msg);

/* "bad_hmac", ...: the drop reasons' names, for counters and logs. */
const char *sync_drop_name(enum sync_drop reason);
/* "grey", "white", "trapped", "delete_white", "delete_trapped". */
const char *sync_record_type_name(enum sync_record_type type);

#endif /* __GREYWALL_SYNC_WIRE_H */
