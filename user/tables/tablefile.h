/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Table files: one address or CIDR network per line, `#` comments (also
 * after an entry), blank lines, leading and trailing white space ignored.
 * They are read by the list reader's strict plain mode (listformat.h): a
 * table's file is written back by greywalld in this format, so the other
 * formats `greywallctl table T load -f` takes would not survive a save.
 */
#ifndef __GREYWALL_TABLEFILE_H
#define __GREYWALL_TABLEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"

/* Called once per entry; a non-zero return stops reading and is returned. */
typedef int (*tablefile_cb)(void *ctx, const struct addr_prefix *p, int line);

/*
 * Read `path`. Returns 0, a callback's non-zero value, -errno for I/O, or
 * -EINVAL for the first bad line with err set to
 *   "/path/file:7: invalid address \"198.51.100.300\"" (or, for a line of
 *   more than LISTFORMAT_LINE_MAX bytes that is not a comment,
 *   "/path/file:7: line longer than 8192 bytes").
 */
int tablefile_read(const char *path, tablefile_cb cb, void *ctx, char *err, size_t errlen);

/* max_size for files that are the configuration's own. */
#define TABLEFILE_NO_LIMIT ((off_t)INT64_MAX)

/*
 * Read an open file from its current offset, naming it `name` in messages.
 * More than max_size bytes (the file grew while it was read): -EFBIG.
 */
int tablefile_read_fd(int fd, const char *name, off_t max_size, tablefile_cb cb, void *ctx,
		      char *err, size_t errlen);

/*
 * Write entries one per line, atomically. A new file gets mode 0640; a
 * file that exists keeps its owner's and group's rw bits (mode & 0660).
 * A symlink at the path is replaced, not written through. Returns 0 or
 * -errno.
 */
int tablefile_write(const char *path, const struct addr_prefix *entries, size_t n);

#endif /* __GREYWALL_TABLEFILE_H */
