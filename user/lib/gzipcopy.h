/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A gzip copy of a file beside it (`set dump-gzip`), written atomically. */
#ifndef __GREYWALL_GZIPCOPY_H
#define __GREYWALL_GZIPCOPY_H

#include <sys/types.h>

/*
 * Write <path>.gz, the gzip of the regular file at path, through the atomic
 * file writer with the given mode: readers see the old copy or the new one.
 * The gzip header carries no name and no time, so the same file always
 * gives the same bytes. zlib's fastest level: dumps are written in the
 * daemon's loop, and level 1 is about three times faster than the default
 * for files some 20% larger. Returns 0 or -errno.
 */
int gzip_copy_file(const char *path, mode_t mode);

#endif /* __GREYWALL_GZIPCOPY_H */
