// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Table files: read by the list reader in its strict plain mode
 * (listformat.h), written here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "tables/listformat.h"
#include "tables/tablefile.h"

/* A new table file: lists of addresses are nobody else's business. */
#define TABLEFILE_MODE 0640
/* The bits an existing table file's mode passes on to its replacement. */
#define TABLEFILE_MODE_KEPT 0660

struct plain_reader {
	tablefile_cb cb;
	void *ctx;
};

static int deliver_entry(void *ctx, const struct listformat_entry *e)
{
	struct plain_reader *pr = ctx;

	return pr->cb(pr->ctx, &e->prefix, e->line);
}

int tablefile_read_fd(int fd, const char *name, off_t max_size, tablefile_cb cb, void *ctx,
		      char *err, size_t errlen)
{
	struct listformat_options opts = {
		.mode = LISTFORMAT_PLAIN,
		.max_size = max_size == TABLEFILE_NO_LIMIT ? 0 : max_size,
	};
	struct plain_reader pr = { .cb = cb, .ctx = ctx };

	return listformat_read_fd(fd, name, &opts, deliver_entry, &pr, NULL, err, errlen);
}

int tablefile_read(const char *path, tablefile_cb cb, void *ctx, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (err && errlen)
		err[0] = '\0';
	if (fd < 0)
		return -errno;
	ret = tablefile_read_fd(fd, path, TABLEFILE_NO_LIMIT, cb, ctx, err, errlen);
	close(fd);
	return ret;
}

int tablefile_write(const char *path, const struct addr_prefix *entries, size_t n)
{
	struct atomic_file af;
	char text[ADDR_STRLEN];
	mode_t mode = TABLEFILE_MODE;
	struct stat st;
	int err;

	/*
	 * Keep the read and write bits an operator gave an existing file for
	 * its owner and group, never more: lstat, because the mode of what a
	 * symlink planted at the path points to (a setuid program, a file
	 * anyone may write) must not become the new file's mode.
	 */
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		mode = st.st_mode & TABLEFILE_MODE_KEPT;
	err = atomic_file_open(&af, path, mode);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		addr_format(&entries[i], text, sizeof(text));
		fputs(text, af.fp);
		putc('\n', af.fp);
	}
	if (ferror(af.fp)) {
		atomic_file_abort(&af);
		return -EIO;
	}
	return atomic_file_commit(&af);
}
