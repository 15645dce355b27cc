// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The one atomic file writer. The temporary file lives in the target's
 * directory so that rename(2) is atomic (same file system), and is hidden
 * (".<base>.XXXXXX") so that a directory listing served to the public
 * never shows a half-written list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

/* Split path into its directory ("." when there is none) and base name. */
static int split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, dirlen, ".");
		*base = path;
	} else if (slash == path) {
		snprintf(dir, dirlen, "/");
		*base = slash + 1;
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= dirlen)
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
		*base = slash + 1;
	}
	return **base ? 0 : -EISDIR;
}

int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, err;

	memset(af, 0, sizeof(*af));
	err = split_path(path, dir, sizeof(dir), &base);
	if (err)
		return err;
	if (strlen(path) >= sizeof(af->path))
		return -ENAMETOOLONG;
	if ((size_t)snprintf(af->tmp, sizeof(af->tmp), "%s/.%s.XXXXXX", dir, base) >=
	    sizeof(af->tmp))
		return -ENAMETOOLONG;
	snprintf(af->path, sizeof(af->path), "%s", path);

	fd = mkstemp(af->tmp);
	if (fd < 0) {
		err = -errno;
		af->tmp[0] = '\0';
		return err;
	}
	/* fchmod, unlike open's mode, is not reduced by the umask. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	af->fp = fdopen(fd, "w");
	if (!af->fp)
		goto fail;
	return 0;
fail:
	err = -errno;
	close(fd);
	unlink(af->tmp);
	af->tmp[0] = '\0';
	return err;
}

static int fsync_directory_of(const char *path)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, err = split_path(path, dir, sizeof(dir), &base);

	if (err)
		return err;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return err;
}

int atomic_file_commit(struct atomic_file *af)
{
	int err = 0;

	if (!af->fp)
		return -EBADF;
	if (fflush(af->fp) != 0)
		err = -errno;
	else if (ferror(af->fp))
		err = -EIO;
	else if (fsync(fileno(af->fp)) < 0)
		err = -errno;
	if (fclose(af->fp) != 0 && !err)
		err = -errno;
	af->fp = NULL;
	if (!err && rename(af->tmp, af->path) < 0)
		err = -errno;
	if (err) {
		unlink(af->tmp);
		af->tmp[0] = '\0';
		return err;
	}
	af->tmp[0] = '\0';
	/* Without this the rename itself may not survive a crash. */
	return fsync_directory_of(af->path);
}

void atomic_file_abort(struct atomic_file *af)
{
	if (af->fp) {
		fclose(af->fp);
		af->fp = NULL;
	}
	if (af->tmp[0]) {
		unlink(af->tmp);
		af->tmp[0] = '\0';
	}
}
