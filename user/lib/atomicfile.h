/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The one atomic file writer: write to a temporary file in the same
 * directory, fsync, rename over the target, fsync the directory. Readers
 * see the old file or the new one, never half of one.
 */
#ifndef __GREYWALL_ATOMICFILE_H
#define __GREYWALL_ATOMICFILE_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

/* The rw bits: the writer never makes an executable, setuid, setgid or
 * sticky file, whatever mode it is asked for. */
#define ATOMIC_FILE_MODE_MASK 0666

struct atomic_file {
	FILE *fp;			/* write through this */
	int dirfd;			/* the target's directory, held open */
	char path[PATH_MAX];
	char tmp[PATH_MAX];		/* the temporary's path, "" once gone */
	const char *base;		/* the target's name in dirfd (in path) */
	const char *tmp_base;		/* the temporary's name in dirfd (in tmp) */
};

/* Mode is masked by ATOMIC_FILE_MODE_MASK, not by the umask. Returns 0 or -errno. */
int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode);
/* Flush, fsync, rename. Returns 0 or -errno (the temporary is removed). */
int atomic_file_commit(struct atomic_file *af);
/* Drop the temporary file; the target is untouched. */
void atomic_file_abort(struct atomic_file *af);

#endif /* __GREYWALL_ATOMICFILE_H */
