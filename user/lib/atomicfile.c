// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The one atomic file writer. The temporary file lives in the target's
 * directory so that rename(2) is atomic (same file system), and is hidden
 * (".<base>.XXXXXX") so that a directory listing served to the public
 * never shows a half-written list.
 *
 * The directory may be one others can write to (a dump-dir a web server
 * serves, a table file's directory): nothing here opens a name in it that
 * someone else could have made, so a planted symlink is never written
 * through, and the file's mode comes from the caller, never from whatever
 * the target's name points to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomicfile.h"

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

/*
 * Create the temporary ".<base>.XXXXXX" in dirfd. O_EXCL (and O_NOFOLLOW,
 * which says so) means a name planted in the directory, a symlink above
 * all, is never opened: the next random name is tried instead.
 */
static int create_temporary(struct atomic_file *af)
{
	static const char letters[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *x = af->tmp + strlen(af->tmp) - 6;

	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[6];
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		for (size_t i = 0; i < sizeof(rnd); i++)
			x[i] = letters[rnd[i] % (sizeof(letters) - 1)];
		fd = openat(af->dirfd, af->tmp_base,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	const char *base;
	int fd, err;

	memset(af, 0, sizeof(*af));
	af->dirfd = -1;
	err = split_path(path, dir, sizeof(dir), &base);
	if (err)
		return err;
	if (strlen(path) >= sizeof(af->path))
		return -ENAMETOOLONG;
	if ((size_t)snprintf(af->tmp, sizeof(af->tmp), "%s/.%s.XXXXXX", dir, base) >=
	    sizeof(af->tmp))
		return -ENAMETOOLONG;
	snprintf(af->path, sizeof(af->path), "%s", path);
	af->base = af->path + (base - path);
	af->tmp_base = strrchr(af->tmp, '/') + 1;

	/* The temporary is created, renamed and synced relative to this one
	 * descriptor, so both names stay in the same directory even if its
	 * path is changed under us meanwhile. */
	af->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (af->dirfd < 0) {
		err = -errno;
		goto fail_dir;
	}
	fd = create_temporary(af);
	if (fd < 0) {
		err = fd;
		goto fail_dir;
	}
	/* fchmod, unlike open's mode, is not reduced by the umask. */
	if (fchmod(fd, mode & ATOMIC_FILE_MODE_MASK) < 0)
		goto fail;
	af->fp = fdopen(fd, "w");
	if (!af->fp)
		goto fail;
	return 0;
fail:
	err = -errno;
	close(fd);
	unlinkat(af->dirfd, af->tmp_base, 0);
fail_dir:
	if (af->dirfd >= 0)
		close(af->dirfd);
	af->dirfd = -1;
	af->tmp[0] = '\0';
	return err;
}

/* Remove the temporary (if any) and let go of the directory. */
static void release(struct atomic_file *af, bool remove_temporary)
{
	if (remove_temporary && af->tmp[0])
		unlinkat(af->dirfd, af->tmp_base, 0);
	af->tmp[0] = '\0';
	if (af->dirfd >= 0)
		close(af->dirfd);
	af->dirfd = -1;
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
	/* rename(2) replaces a symlink at the target; it never writes through one. */
	if (!err && renameat(af->dirfd, af->tmp_base, af->dirfd, af->base) < 0)
		err = -errno;
	/* Without this the rename itself may not survive a crash. */
	if (!err && fsync(af->dirfd) < 0) {
		release(af, false);
		return -errno;
	}
	release(af, err != 0);
	return err;
}

void atomic_file_abort(struct atomic_file *af)
{
	if (af->fp) {
		fclose(af->fp);
		af->fp = NULL;
	}
	release(af, true);
}
