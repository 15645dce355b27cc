// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/atomicfile.h"
#include "lib/gzipcopy.h"

/* zlib's windowBits for a gzip wrapper rather than zlib's own. */
#define GZIP_WINDOW_BITS (15 + 16)

static int deflate_fd(int in, FILE *out)
{
	unsigned char src[16384], dst[16384];
	z_stream z = { 0 };
	int flush, zret, ret = 0;

	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	do {
		ssize_t n = read(in, src, sizeof(src));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		flush = n ? Z_NO_FLUSH : Z_FINISH;
		z.next_in = src;
		z.avail_in = (uInt)n;
		do {
			z.next_out = dst;
			z.avail_out = sizeof(dst);
			zret = deflate(&z, flush);
			if (zret == Z_STREAM_ERROR) {
				ret = -EIO;
				break;
			}
			if (fwrite(dst, 1, sizeof(dst) - z.avail_out, out) !=
			    sizeof(dst) - z.avail_out) {
				ret = -EIO;
				break;
			}
		} while (z.avail_out == 0);
	} while (!ret && flush != Z_FINISH);
	deflateEnd(&z);
	return ret;
}

int gzip_copy_file(const char *path, mode_t mode)
{
	char gz[PATH_MAX];
	struct atomic_file af;
	int in, ret;

	if ((size_t)snprintf(gz, sizeof(gz), "%s.gz", path) >= sizeof(gz))
		return -ENAMETOOLONG;
	in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	ret = atomic_file_open(&af, gz, mode);
	if (ret) {
		close(in);
		return ret;
	}
	ret = deflate_fd(in, af.fp);
	close(in);
	if (!ret && ferror(af.fp))
		ret = -EIO;
	if (ret) {
		atomic_file_abort(&af);
		return ret;
	}
	return atomic_file_commit(&af);
}
