// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The file follower against real files in a temporary directory: the
 * writes, renames and truncations a daemon and logrotate do, and the
 * inotify events they really cause (waited for with epoll: a missing
 * event is a failed check after a timeout, never a sleep that hopes).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch/follow.h"
#include "check.h"
#include "seen.h"

/* Long enough for a loaded machine; only a missing event ever waits this long. */
#define EVENT_TIMEOUT_MS 5000

static char dir[] = "/tmp/gw-follow-XXXXXX";
static int inotify_fd, epoll_fd;

static void path_of(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/* A daemon's log descriptor: appends, kept open across a rotation. */
static int writer_open(const char *name)
{
	char path[PATH_MAX];

	path_of(path, name);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void put(int fd, const char *text)
{
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror("write");
}

static void put_file(const char *name, const char *text)
{
	int fd = writer_open(name);

	put(fd, text);
	close(fd);
}

/* Wait for an event that makes f ready (events for others are routed too). */
static bool wait_ready(struct follow **all, size_t n, struct follow *f)
{
	struct epoll_event ev;

	while (!follow_ready(f)) {
		if (epoll_wait(epoll_fd, &ev, 1, EVENT_TIMEOUT_MS) != 1)
			return false;
		if (follow_event(inotify_fd, all, n) < 0)
			return false;
	}
	return true;
}

static void read_all(struct follow *f, struct seen *s)
{
	while (follow_ready(f))
		if (follow_read(f, 1 << 20, collect, s) < 0)
			break;
}

/* Wait for the event the last change caused, then read what it announced. */
static bool pump(struct follow *f, struct seen *s)
{
	struct follow *all[] = { f };

	if (!wait_ready(all, 1, f))
		return false;
	read_all(f, s);
	return true;
}

/* No event waiting and nothing to read. */
static bool quiet(struct follow *f)
{
	struct epoll_event ev;
	struct seen s = { 0 };

	return epoll_wait(epoll_fd, &ev, 1, 0) == 0 && !follow_ready(f) &&
	       follow_read(f, 1 << 20, collect, &s) == 0 && s.len == 0;
}

/* Events of earlier steps still queued are routed and read, so a step starts clean. */
static void settle(struct follow *f, struct seen *s)
{
	struct follow *all[] = { f };
	struct epoll_event ev;

	while (epoll_wait(epoll_fd, &ev, 1, 0) == 1 && follow_event(inotify_fd, all, 1) == 0)
		read_all(f, s);
	read_all(f, s);
}

static struct follow *start(const char *name, const struct follow_pos *saved)
{
	char path[PATH_MAX];
	struct follow *f = NULL;
	int err;

	path_of(path, name);
	err = follow_new(&f, inotify_fd, path, saved);
	if (err)
		printf("# follow_new %s: %s\n", path, strerror(-err));
	return f;
}

static void test_pieces(void)
{
	struct seen s = { 0 };
	struct follow *f;
	int w;

	put_file("pieces.log", "written before\npartial before");
	f = start("pieces.log", NULL);
	CHECK(f && follow_is_open(f) && !follow_ready(f), "pieces: open at the end, not ready");
	if (!f)
		return;
	w = writer_open("pieces.log");
	put(w, " the start\nab");
	CHECK(pump(f, &s), "pieces: a write is an event");
	CHECK_STR(taken(&s), "", "pieces: the old log and its partial last line are not read");
	put(w, "c\nde");
	CHECK(pump(f, &s), "pieces: a second write is an event");
	CHECK_STR(taken(&s), "abc\n", "pieces: a line in two writes is handed over once, whole");
	put(w, "f\n");
	CHECK(pump(f, &s), "pieces: the newline is an event");
	CHECK_STR(taken(&s), "def\n", "pieces: the partial line waited for its newline");
	put(w, "sshd -E\r\n\r\n");
	CHECK(pump(f, &s), "pieces: CR LF lines are an event");
	CHECK_STR(taken(&s), "sshd -E\n\n", "pieces: a CR before the newline is no part of the line");
	settle(f, &s);
	CHECK(quiet(f), "pieces: no write, no event, not ready, nothing read");
	CHECK_INT(follow_stats(f)->lines, 4, "pieces: four lines counted");
	close(w);
	follow_free(f);
}

static void test_move_create(void)
{
	struct seen s = { 0 };
	struct follow *f;
	char from[PATH_MAX], to[PATH_MAX];
	int w, nw;

	put_file("mv.log", "");
	f = start("mv.log", NULL);
	if (!f)
		return;
	w = writer_open("mv.log");
	put(w, "one\n");
	CHECK(pump(f, &s), "mv: first line is an event");
	path_of(from, "mv.log");
	path_of(to, "mv.log.1");
	CHECK_INT(rename(from, to), 0, "mv: the log moved away");
	put(w, "two (old file, after the mv)\n");
	CHECK(pump(f, &s), "mv: the move and the old file's write are events");
	nw = writer_open("mv.log");
	CHECK(pump(f, &s), "mv: the new file's creation is an event");
	put(w, "three (old file, after the create)\nlast without newline");
	CHECK(pump(f, &s), "mv: a write to the rotated file is an event");
	put(nw, "four (new file)\n");
	CHECK(pump(f, &s), "mv: the new file's write is an event");
	CHECK_STR(taken(&s),
		  "one\ntwo (old file, after the mv)\nthree (old file, after the create)\n"
		  "last without newline\nfour (new file)\n",
		  "mv: every line once, in order, the old file's partial last line included");
	CHECK_INT(follow_stats(f)->rotations, 1, "mv: one rotation counted");
	put(nw, "five\n");
	CHECK(pump(f, &s), "mv: the new file is followed");
	CHECK_STR(taken(&s), "five\n", "mv: its next line");
	close(w);
	close(nw);
	follow_free(f);
}

static void test_copytruncate(void)
{
	struct seen s = { 0 };
	struct follow *f;
	char path[PATH_MAX];
	int w;

	put_file("ct.log", "");
	f = start("ct.log", NULL);
	if (!f)
		return;
	path_of(path, "ct.log");
	w = writer_open("ct.log");
	put(w, "before the copy\n");
	CHECK(pump(f, &s), "copytruncate: first line");
	CHECK_INT(truncate(path, 0), 0, "copytruncate: truncated");
	put(w, "after\n");
	CHECK(pump(f, &s), "copytruncate: the truncation and the write are events");
	CHECK_STR(taken(&s), "before the copy\nafter\n", "copytruncate: the new start is read");
	CHECK_INT(follow_stats(f)->truncations, 1, "copytruncate: counted");

	/* Truncated and written past where it was read before the follower looked. */
	settle(f, &s);
	CHECK_INT(truncate(path, 0), 0, "copytruncate: truncated again");
	put(w, "a longer line written before the follower read anything\n");
	CHECK(pump(f, &s), "copytruncate: events");
	CHECK_STR(taken(&s), "a longer line written before the follower read anything\n",
		  "copytruncate: the other first bytes tell the truncation, the line is whole");
	CHECK_INT(follow_stats(f)->truncations, 2, "copytruncate: counted again");
	close(w);
	follow_free(f);
}

static void test_appears_later(void)
{
	struct seen s = { 0 };
	struct follow *f;
	char path[PATH_MAX];

	f = start("later.log", NULL);
	CHECK(f && !follow_is_open(f) && !follow_ready(f), "later: waits for a file not there");
	if (!f)
		return;
	put_file("later.log", "first line of a new file\n");
	CHECK(pump(f, &s), "later: its creation is an event");
	CHECK_STR(taken(&s), "first line of a new file\n", "later: read from its start");

	/* Deleted and created again: the new one from its start too. */
	path_of(path, "later.log");
	CHECK_INT(unlink(path), 0, "delete: removed");
	put_file("later.log", "recreated\n");
	CHECK(pump(f, &s), "delete: the removal and the creation are events");
	settle(f, &s);
	CHECK_STR(taken(&s), "recreated\n", "delete: the recreated file is read from its start");
	CHECK(follow_is_open(f), "delete: the new file is open");
	follow_free(f);
}

/*
 * A file in a directory not there yet (a daemon installed later): no
 * error; the caller's periodic try watches the directory once it is
 * there, and the file is read from its start when it appears.
 */
static void test_dir_appears_later(void)
{
	struct seen s = { 0 };
	struct follow *f;
	char sub[PATH_MAX];

	f = start("later.d/daemon.log", NULL);
	CHECK(f && !follow_is_open(f) && !follow_ready(f),
	      "no directory: followed all the same, not open");
	if (!f)
		return;
	CHECK(follow_read(f, 1 << 20, collect, &s) < 0 && s.len == 0,
	      "no directory: a try reads nothing, says it is not there");
	path_of(sub, "later.d");
	CHECK_INT(mkdir(sub, 0755), 0, "no directory: made");
	CHECK_INT(follow_read(f, 1 << 20, collect, &s), 0,
		  "no directory: the try after it appeared watches it");
	put_file("later.d/daemon.log", "first line in a new directory\n");
	CHECK(pump(f, &s), "no directory: the file's creation is an event");
	CHECK_STR(taken(&s), "first line in a new directory\n",
		  "no directory: the new file is read from its start");
	follow_free(f);
}

static void test_restart(void)
{
	struct seen s = { 0 };
	struct follow_pos pos;
	struct follow *f;
	char from[PATH_MAX], to[PATH_MAX];
	int fd;

	/* Stopped in the middle of a partial line: continue exactly. */
	put_file("rs.log", "");
	f = start("rs.log", NULL);
	if (!f)
		return;
	put_file("rs.log", "a\nb\nc");
	CHECK(pump(f, &s), "restart: lines");
	CHECK_STR(taken(&s), "a\nb\n", "restart: two whole lines");
	follow_position(f, &pos);
	CHECK_INT(pos.offset, 4, "restart: the position is after the whole lines");
	follow_free(f);
	put_file("rs.log", "d\ne\n");
	f = start("rs.log", &pos);
	CHECK(f && follow_ready(f), "restart: ready at once, lines were written meanwhile");
	if (!f)
		return;
	read_all(f, &s);
	CHECK_STR(taken(&s), "cd\ne\n", "restart: continued exactly, nothing twice or lost");

	/* Rotated while stopped: the rest of log.1, then the new log. */
	follow_position(f, &pos);
	follow_free(f);
	put_file("rs.log", "f (before the rotation)\n");
	path_of(from, "rs.log");
	path_of(to, "rs.log.1");
	rename(from, to);
	put_file("rs.log.2.gz", "not a log\n");
	put_file("rs.log", "g (new file)\n");
	f = start("rs.log", &pos);
	if (!f)
		return;
	read_all(f, &s);
	CHECK_STR(taken(&s), "f (before the rotation)\ng (new file)\n",
		  "restart: the rotated file's rest, then the new one from its start");
	CHECK_INT(follow_stats(f)->rotations, 1, "restart: the rotation counted");

	/* The inode now holds another file (other first bytes): from 0. */
	follow_position(f, &pos);
	follow_free(f);
	fd = open(from, O_WRONLY | O_TRUNC);
	put(fd, "another file on the same inode\nsecond\n");
	close(fd);
	f = start("rs.log", &pos);
	if (!f)
		return;
	read_all(f, &s);
	CHECK_STR(taken(&s), "another file on the same inode\nsecond\n",
		  "restart: a reused inode is read from its start");
	follow_free(f);

	/* The position of a file that was not there: a new file, from its start. */
	memset(&pos, 0, sizeof(pos));
	f = start("rs-none.log", &pos);
	if (!f)
		return;
	put_file("rs-none.log", "new\n");
	CHECK(pump(f, &s), "restart: a file created after a restart");
	CHECK_STR(taken(&s), "new\n", "restart: read from its start");
	follow_free(f);
}

static void test_long_lines(void)
{
	static char text[3 * WATCH_LINE_MAX];
	struct seen s = { 0 };
	struct follow *f;
	int w;

	put_file("long.log", "");
	f = start("long.log", NULL);
	if (!f)
		return;
	w = writer_open("long.log");
	memset(text, 'x', 2 * WATCH_LINE_MAX + 10);
	strcpy(text + 2 * WATCH_LINE_MAX + 10, "\nshort\n");
	put(w, text);
	CHECK(pump(f, &s), "long: events");
	CHECK_INT(s.longest, WATCH_LINE_MAX, "long: cut to WATCH_LINE_MAX");
	CHECK(!strcmp(s.text + WATCH_LINE_MAX, "\nshort\n"),
	      "long: handed over once, then the next line");
	CHECK_INT(follow_stats(f)->cut, 1, "long: counted");
	taken(&s);
	memset(text, 'y', WATCH_LINE_MAX);
	strcpy(text + WATCH_LINE_MAX, "\n");
	put(w, text);
	CHECK(pump(f, &s), "long: events");
	CHECK(s.longest == WATCH_LINE_MAX && s.len == WATCH_LINE_MAX + 1,
	      "long: a line of exactly WATCH_LINE_MAX is whole");
	CHECK_INT(follow_stats(f)->cut, 1, "long: and not counted");
	close(w);
	follow_free(f);
}

static void test_budget(void)
{
	struct seen s = { 0 };
	struct follow *f;
	struct follow *all[1];
	uint64_t bytes;
	int w, i;

	put_file("budget.log", "");
	f = start("budget.log", NULL);
	if (!f)
		return;
	all[0] = f;
	w = writer_open("budget.log");
	for (i = 0; i < 10; i++)
		put(w, "123456789\n");
	CHECK(wait_ready(all, 1, f), "budget: event");
	bytes = follow_stats(f)->bytes;
	CHECK_INT(follow_read(f, 35, collect, &s), 3, "budget: 35 bytes are three lines");
	CHECK_INT(follow_stats(f)->bytes - bytes, 35, "budget: 35 bytes read");
	CHECK(follow_ready(f), "budget: still ready");
	CHECK_INT(follow_read(f, 35, collect, &s), 4, "budget: the next 35 bytes");
	CHECK_INT(follow_read(f, 1000, collect, &s), 3, "budget: the rest");
	CHECK(!follow_ready(f), "budget: caught up");
	CHECK_INT(follow_stats(f)->lines, 10, "budget: ten lines in all");
	close(w);
	follow_free(f);
}

/* Two followers in one directory share its watch; freeing one keeps the other's. */
static void test_shared_watch(void)
{
	struct seen s = { 0 };
	struct follow *a, *b;
	struct follow *all[2];

	a = start("shared-a.log", NULL);
	b = start("shared-b.log", NULL);
	if (!a || !b)
		return;
	all[0] = a;
	all[1] = b;
	put_file("shared-b.log", "for b\n");
	CHECK(wait_ready(all, 2, b), "shared: b's event");
	CHECK(!follow_ready(a), "shared: not a's");
	read_all(b, &s);
	follow_free(a);
	CHECK(quiet(b), "shared: freeing a leaves the directory's watch (no IN_IGNORED)");
	all[0] = b;
	put_file("shared-b.log", "still for b\n");
	CHECK(wait_ready(all, 1, b), "shared: b still has events after a is freed");
	read_all(b, &s);
	CHECK_STR(taken(&s), "for b\nstill for b\n", "shared: b's lines");
	follow_free(b);
}

static void test_symlink(void)
{
	char target[PATH_MAX], link[PATH_MAX];
	struct follow *f = NULL;
	struct seen s = { 0 };

	path_of(target, "target.log");
	path_of(link, "link.log");
	put_file("target.log", "x\n");
	CHECK_INT(symlink(target, link), 0, "symlink: made");
	CHECK_INT(follow_new(&f, inotify_fd, link, NULL), -ELOOP,
		  "symlink: refused, name the file");

	/* A link put where a missing file is awaited is not opened. */
	f = start("later-link.log", NULL);
	CHECK(f && !follow_is_open(f), "symlink later: waits for the file");
	if (!f)
		return;
	path_of(link, "later-link.log");
	CHECK_INT(symlink(target, link), 0, "symlink later: a link made where the file was awaited");
	settle(f, &s);
	CHECK(!follow_is_open(f), "symlink later: the link is not opened");
	CHECK_STR(taken(&s), "", "symlink later: nothing of the target is read");
	CHECK_INT(unlink(link), 0, "symlink later: the link removed");
	put_file("later-link.log", "a real file\n");
	settle(f, &s);
	CHECK(follow_is_open(f), "symlink later: the regular file that replaced it is open");
	CHECK_STR(taken(&s), "a real file\n", "symlink later: read from its start");
	follow_free(f);
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char cmd[PATH_MAX + 16];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	inotify_fd = follow_inotify_open();
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(inotify_fd >= 0 && epoll_fd >= 0 &&
	      !epoll_ctl(epoll_fd, EPOLL_CTL_ADD, inotify_fd, &ev),
	      "inotify descriptor in an epoll");

	test_pieces();
	test_move_create();
	test_copytruncate();
	test_appears_later();
	test_dir_appears_later();
	test_restart();
	test_long_lines();
	test_budget();
	test_shared_watch();
	test_symlink();

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		perror("rm");
	return check_done();
}
