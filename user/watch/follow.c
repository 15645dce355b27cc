// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Following log files with inotify on their directories (see follow.h).
 *
 * A follower holds up to two open files: `cur`, the file at its path, and
 * `old`, one that was moved away or deleted and may still be written to
 * by a daemon that has not reopened its log yet (logrotate creates the new
 * file before its postrotate script tells the daemon). The old file is
 * read first, always to its end, and closed once the new file has data
 * (the writer has moved on) or once nobody can write to it any more (it
 * was deleted); only then is the new file read, so the one line buffer
 * always belongs to exactly one file and no line is handed over twice.
 *
 * Symbolic links: the file is opened with O_NOFOLLOW. inotify reports the
 * writes of the directory a file lives in, so a log path that is a link
 * into another directory would never wake its follower; and a log
 * directory is often writable by the daemon that logs there, whose user
 * must not be able to point greywalld (root) at another file. A link in
 * the directory part of the path is fine: inotify and open follow it, and
 * the events are the real directory's. The configuration names the file
 * itself, not a link to it (follow_new says -ELOOP).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch/follow.h"

#define FOLLOW_EVENTS                                                                      \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | \
	 IN_ONLYDIR)

struct follow_file {
	int fd;				/* -1: not open */
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;		/* bytes read from it (the buffer may hold some) */
	uint32_t fp_len;
	uint8_t fingerprint[FOLLOW_FINGERPRINT];
};

struct follow {
	struct follow *next;		/* every follower of the process, see watch_shared() */
	int inotify_fd;
	int wd;				/* -1: the directory is not watched */
	char *path;
	char *dir;
	const char *base;		/* in path */
	size_t base_len;
	struct follow_file cur;
	struct follow_file old;
	bool ready;
	bool skipping;			/* dropping the rest of a cut line */
	size_t len;			/* bytes in buf: the start of a line */
	struct follow_stats stats;
	/* One more than the longest line, so that a line of exactly WATCH_LINE_MAX
	 * bytes and its newline are not taken for a cut one. */
	char buf[WATCH_LINE_MAX + 1];
};

/*
 * inotify gives a directory one watch per descriptor, whoever asks for it,
 * and removing it removes it for everyone: a follower may remove the watch
 * only when no other follower of the same descriptor shares it. The
 * daemon is single-threaded; this list is how follow_free() knows.
 */
static struct follow *followers;

static bool watch_shared(const struct follow *f)
{
	const struct follow *o;

	for (o = followers; o; o = o->next)
		if (o != f && o->inotify_fd == f->inotify_fd && o->wd == f->wd)
			return true;
	return false;
}

int follow_inotify_open(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void file_close(struct follow_file *file)
{
	if (file->fd >= 0)
		close(file->fd);
	memset(file, 0, sizeof(*file));
	file->fd = -1;
}

/*
 * The first bytes of the file, as they are now: while the file is shorter
 * than FOLLOW_FINGERPRINT they grow with it (follow_read() calls this
 * again), so the fingerprint saved is as long as the file allows.
 */
static int file_fingerprint(struct follow_file *file)
{
	ssize_t n = pread(file->fd, file->fingerprint, FOLLOW_FINGERPRINT, 0);

	if (n < 0)
		return -errno;
	file->fp_len = (uint32_t)n;
	return 0;
}

/* Whether the file still starts with the bytes it started with. */
static bool file_same_start(int fd, const uint8_t *fingerprint, uint32_t fp_len)
{
	uint8_t now[FOLLOW_FINGERPRINT];

	if (fp_len > FOLLOW_FINGERPRINT)
		return false;
	return pread(fd, now, fp_len, 0) == (ssize_t)fp_len && !memcmp(now, fingerprint, fp_len);
}

/*
 * Open name (relative to the follower's directory when dirfd is given) at
 * offset. O_NONBLOCK: a FIFO put where the log was must not block the
 * loop in open(); it is refused below, as is anything but a regular file,
 * whose offsets would mean nothing.
 */
static int file_open(struct follow_file *file, int dirfd, const char *name, uint64_t offset)
{
	struct stat st;
	int fd, err;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (err) {
		close(fd);
		return err;
	}
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	file->fd = fd;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->offset = offset;
	return file_fingerprint(file);
}

static void hand_over(struct follow *f, const char *line, size_t len, follow_line_fn fn,
		      void *ctx, long *lines)
{
	f->stats.lines++;
	(*lines)++;
	fn(line, len, ctx);
}

/*
 * The file the buffer belongs to ends without a newline and will not grow
 * (moved away, truncated): its last line is whole as it is.
 */
static void flush_partial(struct follow *f, follow_line_fn fn, void *ctx, long *lines)
{
	if (f->len && !f->skipping)
		hand_over(f, f->buf, f->len, fn, ctx, lines);
	f->len = 0;
	f->skipping = false;
}

/*
 * Hand over the whole lines in the buffer; keep the start of the last one.
 * A line may end in CR LF: sshd -E writes its log file so (OpenSSH's log.c
 * ends every message with "\r\n"), and the patterns, anchored at the end
 * of the line, must not see the CR.
 */
static void split_lines(struct follow *f, follow_line_fn fn, void *ctx, long *lines)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(f->buf + start, '\n', f->len - start))) {
		size_t end = (size_t)(nl - f->buf);
		size_t len = end - start;

		if (len && f->buf[end - 1] == '\r')
			len--;
		if (!f->skipping)
			hand_over(f, f->buf + start, len, fn, ctx, lines);
		f->skipping = false;
		start = end + 1;
	}
	f->len -= start;
	memmove(f->buf, f->buf + start, f->len);
	if (f->len < sizeof(f->buf))
		return;
	/* A full buffer without a newline: the line is longer than WATCH_LINE_MAX. */
	if (!f->skipping) {
		f->stats.cut++;
		hand_over(f, f->buf, WATCH_LINE_MAX, fn, ctx, lines);
	}
	f->skipping = true;
	f->len = 0;
}

/*
 * Read file until its end or until *budget is spent. Returns 1 at its end,
 * 0 when the budget ran out first, or -errno.
 */
static int read_file(struct follow *f, struct follow_file *file, size_t *budget,
		     follow_line_fn fn, void *ctx, long *lines)
{
	while (*budget) {
		size_t want = sizeof(f->buf) - f->len;
		ssize_t n;

		if (want > *budget)
			want = *budget;
		n = read(file->fd, f->buf + f->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		*budget -= (size_t)n;
		file->offset += (uint64_t)n;
		f->stats.bytes += (uint64_t)n;
		f->len += (size_t)n;
		split_lines(f, fn, ctx, lines);
	}
	return 0;
}

/*
 * Open the file now at the path, if there is one: it is new, read it from
 * its start. One that cannot be opened (a link, a FIFO, no permission) is
 * counted and waited for as if it were not there: the next event retries.
 */
static void open_current(struct follow *f)
{
	int err = file_open(&f->cur, AT_FDCWD, f->path, 0);

	if (err && err != -ENOENT)
		f->stats.errors++;
}

/*
 * The current file was truncated in place (copytruncate), or truncated and
 * written again past where it was read (its first bytes changed): read it
 * again from its start.
 */
static int check_truncated(struct follow *f, follow_line_fn fn, void *ctx, long *lines)
{
	struct stat st;

	if (fstat(f->cur.fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size >= f->cur.offset &&
	    file_same_start(f->cur.fd, f->cur.fingerprint, f->cur.fp_len))
		return 0;
	f->stats.truncations++;
	flush_partial(f, fn, ctx, lines);
	if (lseek(f->cur.fd, 0, SEEK_SET) < 0)
		return -errno;
	f->cur.offset = 0;
	return file_fingerprint(&f->cur);
}

/* Whether the path names another file than the one open (or none). */
static bool current_replaced(const struct follow *f)
{
	struct stat st;

	return lstat(f->path, &st) < 0 || st.st_dev != f->cur.dev || st.st_ino != f->cur.ino;
}

/*
 * The old file, read to its end, can be closed: the writer has moved on to
 * the new file (it has data), or nobody can open the old one any more.
 */
static bool old_done(const struct follow *f)
{
	struct stat st;

	if (fstat(f->old.fd, &st) < 0 || st.st_nlink == 0)
		return true;
	return f->cur.fd >= 0 && fstat(f->cur.fd, &st) == 0 && st.st_size > 0;
}

static int read_all(struct follow *f, size_t *budget, follow_line_fn fn, void *ctx, long *lines)
{
	int err;

	for (;;) {
		if (f->old.fd >= 0) {
			err = read_file(f, &f->old, budget, fn, ctx, lines);
			if (err <= 0)
				return err;
			if (f->cur.fd < 0)
				open_current(f);
			if (!old_done(f))
				return 1;
			flush_partial(f, fn, ctx, lines);
			file_close(&f->old);
		}
		if (f->cur.fd < 0)
			open_current(f);
		if (f->cur.fd < 0)
			return 1;
		if ((err = check_truncated(f, fn, ctx, lines)))
			return err;
		err = read_file(f, &f->cur, budget, fn, ctx, lines);
		if (err <= 0)
			return err;
		if (f->cur.fp_len < FOLLOW_FINGERPRINT && (err = file_fingerprint(&f->cur)))
			return err;
		if (!current_replaced(f))
			return 1;
		/* Moved away or deleted: what is still written to it comes before the new file. */
		f->stats.rotations++;
		f->old = f->cur;
		f->cur.fd = -1;
		file_close(&f->cur);
	}
}

static void restore(struct follow *f, const struct follow_pos *saved);

long follow_read(struct follow *f, size_t budget, follow_line_fn fn, void *ctx)
{
	struct follow_pos pos;
	long lines = 0;
	int err;

	if (f->wd < 0) {
		/* The directory went away and came back: watch it again. */
		f->wd = inotify_add_watch(f->inotify_fd, f->dir, FOLLOW_EVENTS);
		if (f->wd < 0) {
			/* Not back yet: nothing here wakes the loop again for it. */
			f->ready = false;
			return -errno;
		}
	}
	err = read_all(f, &budget, fn, ctx, &lines);
	if (err >= 0) {
		/* At the end of everything: the next write is the next event. */
		f->ready = err == 0;
		return lines;
	}
	/* Start again from where it stood; wait for the next event, not loop on the error. */
	f->stats.errors++;
	follow_position(f, &pos);
	file_close(&f->old);
	file_close(&f->cur);
	f->len = 0;
	f->skipping = false;
	restore(f, &pos);
	f->ready = false;
	return err;
}

/*
 * The saved file, rotated meanwhile: in the directory, named after the
 * base name (log.1), with the saved inode and first bytes. A compressed
 * one (log.2.gz) is another inode; an inode reused by another file has
 * other first bytes, and is not read from an offset that means nothing in it.
 */
static int open_rotated(struct follow *f, const struct follow_pos *saved)
{
	struct dirent *de;
	int err = -ENOENT;
	DIR *d;

	d = opendir(f->dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_ino != saved->ino || strncmp(de->d_name, f->base, f->base_len))
			continue;
		if (!file_open(&f->old, dirfd(d), de->d_name, 0) && f->old.dev == saved->dev &&
		    f->old.ino == saved->ino &&
		    file_same_start(f->old.fd, saved->fingerprint, saved->fp_len)) {
			err = 0;
			break;
		}
		file_close(&f->old);
	}
	closedir(d);
	return err;
}

/*
 * Where a previous run stopped: in the file at the path, or in one rotated
 * meanwhile (read its rest first, then the new file from its start). A
 * file whose first bytes are not the saved ones, or that is shorter than
 * the offset, is another file on a reused inode (or truncated): from 0.
 */
static void restore(struct follow *f, const struct follow_pos *saved)
{
	struct follow_file *file = &f->old;
	struct stat st;
	int err;

	if (lstat(f->path, &st) == 0 && st.st_dev == saved->dev && st.st_ino == saved->ino) {
		file = &f->cur;
	} else {
		err = saved->ino ? open_rotated(f, saved) : -ENOENT;
		if (!err)
			f->stats.rotations++;
		else if (err != -ENOENT)
			f->stats.errors++;
	}
	open_current(f);
	f->ready = follow_is_open(f);
	if (file->fd < 0)
		return;
	if (fstat(file->fd, &st) == 0 && saved->offset <= (uint64_t)st.st_size &&
	    file_same_start(file->fd, saved->fingerprint, saved->fp_len) &&
	    lseek(file->fd, (off_t)saved->offset, SEEK_SET) >= 0)
		file->offset = saved->offset;
	else
		f->stats.truncations++;
}

/*
 * No saved position: start at the end of the file as it is now. A last
 * line without its newline is being written: skip it, it is not whole.
 */
static int start_at_end(struct follow *f)
{
	struct stat st;
	char last;
	int err;

	err = file_open(&f->cur, AT_FDCWD, f->path, 0);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (fstat(f->cur.fd, &st) < 0)
		return -errno;
	f->cur.offset = (uint64_t)st.st_size;
	if (lseek(f->cur.fd, st.st_size, SEEK_SET) < 0)
		return -errno;
	f->skipping = st.st_size > 0 && pread(f->cur.fd, &last, 1, st.st_size - 1) == 1 &&
		      last != '\n';
	return 0;
}

int follow_new(struct follow **out, int inotify_fd, const char *path,
	       const struct follow_pos *saved)
{
	struct follow *f;
	const char *slash;
	struct stat st;
	char *copy;
	int err;

	f = calloc(1, sizeof(*f));
	copy = strdup(path);
	if (!f || !copy || !(f->path = strdup(path)) || !(f->dir = strdup(dirname(copy)))) {
		free(copy);
		err = -ENOMEM;
		goto fail;
	}
	free(copy);
	slash = strrchr(f->path, '/');
	f->base = slash ? slash + 1 : f->path;
	f->base_len = strlen(f->base);
	f->inotify_fd = inotify_fd;
	f->cur.fd = f->old.fd = -1;
	if (!f->base_len) {
		err = -EINVAL;
		goto fail;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		err = -ELOOP;
		goto fail;
	}
	/*
	 * A directory not there yet (a daemon not installed or not started
	 * yet) is no error: follow_read() watches it once it is there, as
	 * after the directory went away.
	 */
	f->wd = inotify_add_watch(inotify_fd, f->dir, FOLLOW_EVENTS);
	if (f->wd < 0 && errno != ENOENT) {
		err = -errno;
		goto fail;
	}
	f->next = followers;
	followers = f;
	err = 0;
	if (saved)
		restore(f, saved);
	else
		err = start_at_end(f);
	if (err) {
		follow_free(f);
		return err;
	}
	*out = f;
	return 0;
fail:
	if (f) {
		free(f->path);
		free(f->dir);
	}
	free(f);
	return err;
}

void follow_free(struct follow *f)
{
	struct follow **p;

	if (!f)
		return;
	for (p = &followers; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			break;
		}
	}
	if (f->wd >= 0 && !watch_shared(f))
		inotify_rm_watch(f->inotify_fd, f->wd);
	file_close(&f->cur);
	file_close(&f->old);
	free(f->path);
	free(f->dir);
	free(f);
}

/*
 * Whether an event about name in f's directory concerns f: its own file,
 * or while a rotated file is open, a file named after it (log.1), which
 * its writer may still be appending to.
 */
static bool event_concerns(const struct follow *f, const struct inotify_event *ev)
{
	size_t name_len;

	if (ev->mask & IN_Q_OVERFLOW)
		return true;
	if (ev->wd != f->wd)
		return false;
	if (!ev->len)
		return true;
	name_len = strlen(ev->name);
	if (name_len == f->base_len)
		return !memcmp(ev->name, f->base, name_len);
	return f->old.fd >= 0 && name_len > f->base_len && !memcmp(ev->name, f->base, f->base_len);
}

int follow_event(int inotify_fd, struct follow **list, size_t n)
{
	char buf[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t len;
	size_t i;

	for (;;) {
		len = read(inotify_fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (char *p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			for (i = 0; i < n; i++) {
				if (!event_concerns(list[i], ev))
					continue;
				list[i]->ready = true;
				/* The directory is gone: follow_read() watches it again. */
				if (ev->mask & IN_IGNORED)
					list[i]->wd = -1;
			}
		}
	}
}

bool follow_ready(const struct follow *f)
{
	return f->ready;
}

void follow_position(const struct follow *f, struct follow_pos *pos)
{
	/* While a rotated file is still read, the position is in it: a restart finds it
	 * by its inode and reads its rest, then the new file from its start. */
	const struct follow_file *file = f->old.fd >= 0 ? &f->old : &f->cur;

	memset(pos, 0, sizeof(*pos));
	if (file->fd < 0)
		return;
	pos->dev = file->dev;
	pos->ino = file->ino;
	pos->offset = file->offset - f->len;
	pos->fp_len = file->fp_len;
	memcpy(pos->fingerprint, file->fingerprint, file->fp_len);
}

const char *follow_path(const struct follow *f)
{
	return f->path;
}

bool follow_is_open(const struct follow *f)
{
	return f->cur.fd >= 0 || f->old.fd >= 0;
}

const struct follow_stats *follow_stats(const struct follow *f)
{
	return &f->stats;
}
