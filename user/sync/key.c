// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sync/key.h"

/* Lowercase hex, as SHA1File writes it. */
static void key_set(struct sync_key *key, const unsigned char *digest)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < SYNC_KEY_HEX_LEN / 2; i++) {
		key->hex[2 * i] = digits[digest[i] >> 4];
		key->hex[2 * i + 1] = digits[digest[i] & 15];
	}
	key->hex[SYNC_KEY_HEX_LEN] = '\0';
	key->len = SYNC_KEY_HEX_LEN;
}

int sync_key_from_bytes(const void *data, size_t len, struct sync_key *key)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (!EVP_Digest(data, len, digest, &dlen, EVP_sha1(), NULL) || dlen != SYNC_KEY_HEX_LEN / 2)
		return -EIO;
	key_set(key, digest);
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

int sync_key_load(const char *path, struct sync_key *key)
{
	unsigned char buf[4096], digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	int fd, ret = 0;
	ssize_t n;

	memset(key, 0, sizeof(*key));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL)) {
		ret = -EIO;
		goto out;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			ret = -EIO;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, digest, &dlen) || dlen != SYNC_KEY_HEX_LEN / 2) {
		ret = -EIO;
		goto out;
	}
	key_set(key, digest);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(digest, sizeof(digest));
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}
