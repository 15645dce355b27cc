// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Table files. Loading a million-line list must cost little more than
 * parsing the addresses, so the reader pulls the file through one large
 * buffer with read(2), splits lines in place and never allocates per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/atomicfile.h"
#include "tables/tablefile.h"

#define TABLEFILE_BUFSIZE (1 << 20)
/* A new table file: lists of addresses are nobody else's business. */
#define TABLEFILE_MODE 0640
/* The bits an existing table file's mode passes on to its replacement. */
#define TABLEFILE_MODE_KEPT 0660

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Handle one line (without its '\n'), which may be modified in place; the
 * byte at line[len] is writable. Returns 0, a callback's value or -EINVAL.
 */
static int handle_line(char *line, size_t len, int lineno, const char *path,
		       tablefile_cb cb, void *ctx, char *err, size_t errlen)
{
	char *hash = memchr(line, '#', len);
	char *start = line, *end;
	struct addr_prefix p;

	if (hash)
		len = (size_t)(hash - line);
	end = line + len;
	while (start < end && is_blank(*start))
		start++;
	while (end > start && is_blank(end[-1]))
		end--;
	if (start == end)
		return 0;
	*end = '\0';
	/* A NUL inside the entry would hide the rest of it from the parser. */
	if (strlen(start) != (size_t)(end - start) || addr_parse(start, &p) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: invalid address \"%.*s\"", path, lineno,
				 (int)strnlen(start, (size_t)(end - start)), start);
		return -EINVAL;
	}
	return cb(ctx, &p, lineno);
}

int tablefile_read_fd(int fd, const char *name, off_t max_size, tablefile_cb cb, void *ctx,
		      char *err, size_t errlen)
{
	size_t cap = TABLEFILE_BUFSIZE, have = 0;
	int lineno = 0, ret = 0;
	off_t total = 0;
	bool eof = false;
	char *buf;

	if (err && errlen)
		err[0] = '\0';
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	while (!ret && !eof) {
		char *line, *nl;
		ssize_t n;

		/*
		 * One line longer than the buffer: grow it rather than fail. The
		 * '\n' added at the end of the file fits, as a read left room.
		 */
		if (have == cap && array_room(&buf, &cap, cap + 1, 1, 0)) {
			ret = -ENOMEM;
			break;
		}
		n = read(fd, buf + have, cap - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		/* The size was checked before, but the file may grow while it is read. */
		total += n;
		if (total > max_size) {
			ret = -EFBIG;
			break;
		}
		if (n == 0) {
			eof = true;
			/* The last line may lack its '\n'. */
			if (have)
				buf[have++] = '\n';
		}
		have += (size_t)n;

		line = buf;
		while (!ret && (nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
			ret = handle_line(line, (size_t)(nl - line), ++lineno, name, cb, ctx, err,
					  errlen);
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
	}
	free(buf);
	return ret;
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
