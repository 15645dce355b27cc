// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "check.h"
#include "files.h"

static char dir[] = "/tmp/gw-atomic-XXXXXX";

static int write_file(const char *path, const char *text, mode_t mode)
{
	struct atomic_file af;
	int err = atomic_file_open(&af, path, mode);

	if (err)
		return err;
	fputs(text, af.fp);
	return atomic_file_commit(&af);
}

int main(void)
{
	char path[PATH_MAX], tmp[PATH_MAX], victim[PATH_MAX];
	struct atomic_file af;
	struct stat st;
	int err;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	snprintf(path, sizeof(path), "%s/list.txt", dir);

	CHECK_INT(write_file(path, "first\n", 0644), 0, "write a new file");
	CHECK_STR(read_small_file(path), "first\n", "new file has its content");
	CHECK_INT(write_file(path, "second\n", 0644), 0, "replace the file");
	CHECK_STR(read_small_file(path), "second\n", "replaced file has the new content");
	CHECK_INT(count_dir_entries(dir), 1, "no temporary file left behind after commit");

	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode 0644");
	CHECK_INT(write_file(path, "third\n", 0600), 0, "replace with mode 0600");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600");
	/* fchmod is not reduced by the umask: 0666 stays 0666. */
	CHECK_INT(write_file(path, "fourth\n", 0666), 0, "replace with mode 0666");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0666, "mode 0666 despite umask");

	err = atomic_file_open(&af, path, 0644);
	CHECK_INT(err, 0, "open for a write that is aborted");
	if (!err) {
		snprintf(tmp, sizeof(tmp), "%s", af.tmp);
		CHECK(!strncmp(tmp, dir, strlen(dir)) && strstr(tmp, "/.list.txt."),
		      "temporary is hidden in the same directory (%s)", tmp);
		fputs("never seen\n", af.fp);
		fflush(af.fp);
		CHECK_STR(read_small_file(path), "fourth\n", "target unchanged while writing");
		atomic_file_abort(&af);
		CHECK_STR(read_small_file(path), "fourth\n", "abort leaves the target untouched");
		CHECK(access(tmp, F_OK) < 0 && errno == ENOENT, "abort removes the temporary");
		CHECK_INT(count_dir_entries(dir), 1, "nothing else left in the directory");
	}

	/* The writer makes no executable or setuid file, whatever it is asked. */
	CHECK_INT(write_file(path, "fifth\n", 04755), 0, "replace asking for mode 04755");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "only the rw bits: 0644");

	/* A symlink planted at the target's name is replaced, not written through. */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	CHECK_INT(write_file(victim, "victim\n", 0600), 0, "a file a symlink points to");
	unlink(path);
	CHECK(symlink(victim, path) == 0, "plant a symlink at the target's name");
	CHECK_INT(write_file(path, "sixth\n", 0644), 0, "write to the planted name");
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the symlink became a file");
	CHECK_STR(read_small_file(path), "sixth\n", "the file has the new content");
	CHECK_STR(read_small_file(victim), "victim\n", "the link target is untouched");
	CHECK(stat(victim, &st) == 0 && (st.st_mode & 07777) == 0600,
	      "the link target's mode is untouched");
	unlink(victim);

	snprintf(path, sizeof(path), "%s/missing/list.txt", dir);
	CHECK_INT(atomic_file_open(&af, path, 0644), -ENOENT, "missing directory is -ENOENT");

	snprintf(path, sizeof(path), "%s/list.txt", dir);
	unlink(path);
	rmdir(dir);
	return check_done();
}
