/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The sync HMAC key, as spamd makes it (SHA1File): the 40 lowercase hex
 * digits of the SHA-1 of the key file's contents, or the empty key when
 * the file does not exist. HMAC pads a key with zero bytes, so the empty
 * key is also the key of 64 zero bytes; spamd and greyd agree on both.
 */
#ifndef __GREYWALL_SYNC_KEY_H
#define __GREYWALL_SYNC_KEY_H

#include <stddef.h>

#define SYNC_KEY_HEX_LEN 40

struct sync_key {
	char hex[SYNC_KEY_HEX_LEN + 1];
	size_t len; /* 0 (the empty key) or SYNC_KEY_HEX_LEN */
};

/*
 * The key of the file at path. 0 with the key, the empty one when the file
 * does not exist (ENOENT); -errno for any other failure (a directory, a
 * read error, no permission), -EIO when libcrypto fails.
 */
int sync_key_load(const char *path, struct sync_key *key);
/* The key of a key file holding these bytes; -EIO when libcrypto fails. */
int sync_key_from_bytes(const void *data, size_t len, struct sync_key *key);

#endif /* __GREYWALL_SYNC_KEY_H */
