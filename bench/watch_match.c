// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The log watchers' matcher alone: a file read line by line as greywalld
 * reads it (user/watch/follow.c's follower, from the file's start, 256 KiB
 * a call as greywalld's event loop reads) and every line given to
 * watch_pattern_match() with a built-in pattern, as watch.c does. Run
 * RUNS times; each run reads the file once without matching (the reading
 * alone) and once with it. Checks that the failures matched are the
 * expected count.
 *
 * Usage: watch_match PATTERN FILE EXPECTED [RUNS]
 * Output: per run "RESULT watch=match_PATTERN lines=N matched=M seconds=S
 * lines_per_s=R read_seconds=S2"; exit 1 when the count is not EXPECTED.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "watch/follow.h"
#include "watch/pattern.h"

/* What greywalld reads of a file per round of its loop (READ_BUDGET, user/watch/internal.h). */
#define READ_BUDGET (256 * 1024)

struct tally {
	struct watch_pattern *pat;	/* NULL: read only */
	unsigned long lines;
	unsigned long matched;
	unsigned long errors;
};

static void on_line(const char *line, size_t len, void *ctx)
{
	struct tally *t = ctx;
	struct watch_match m;
	int r;

	t->lines++;
	if (!t->pat)
		return;
	r = watch_pattern_match(t->pat, line, len, &m);
	if (r > 0)
		t->matched++;
	else if (r < 0)
		t->errors++;
}

/* The position a previous run would have saved at the file's start. */
static int start_of(const char *path, struct follow_pos *pos)
{
	struct stat st;
	ssize_t n;
	int fd;

	memset(pos, 0, sizeof(*pos));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	n = pread(fd, pos->fingerprint, FOLLOW_FINGERPRINT, 0);
	close(fd);
	if (n < 0)
		return -errno;
	pos->dev = st.st_dev;
	pos->ino = st.st_ino;
	pos->fp_len = (uint32_t)n;
	return 0;
}

/* One pass over the file; seconds, or <0 on error. */
static double pass(const char *path, struct tally *t)
{
	struct follow_pos pos;
	struct follow *f;
	double t0;
	long n;
	int ifd, err;

	err = start_of(path, &pos);
	if (err)
		return err;
	ifd = follow_inotify_open();
	if (ifd < 0)
		return ifd;
	err = follow_new(&f, ifd, path, &pos);
	if (err) {
		close(ifd);
		return err;
	}
	t0 = bench_now();
	do
		n = follow_read(f, READ_BUDGET, on_line, t);
	while (n > 0 || (n == 0 && follow_ready(f)));
	t0 = bench_now() - t0;
	follow_free(f);
	close(ifd);
	return n < 0 ? (double)n : t0;
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	unsigned long expected;
	int b, runs, r, fail = 0;
	char err[256];

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: watch_match PATTERN FILE EXPECTED [RUNS]\n");
		return 2;
	}
	b = watch_builtin_find(argv[1]);
	expected = strtoul(argv[3], NULL, 10);
	runs = argc == 5 ? atoi(argv[4]) : 3;
	if (b < 0 || b == WATCH_PATTERN_REGEX) {
		fprintf(stderr, "watch_match: no built-in pattern \"%s\"\n", argv[1]);
		return 2;
	}
	if (watch_pattern_new(&t.pat, (enum watch_builtin)b, NULL, err, sizeof(err))) {
		fprintf(stderr, "watch_match: %s\n", err);
		return 1;
	}
	for (r = 0; r < runs; r++) {
		struct tally raw = { 0 };
		double read_s = pass(argv[2], &raw), s;

		t.lines = t.matched = t.errors = 0;
		s = pass(argv[2], &t);
		if (read_s < 0 || s < 0) {
			fprintf(stderr, "watch_match: %s: %s\n", argv[2],
				strerror((int)-(s < 0 ? s : read_s)));
			return 1;
		}
		if (t.matched != expected || t.errors || raw.lines != t.lines) {
			fprintf(stderr, "watch_match: %s: %lu lines, %lu matched, %lu errors; expected %lu matched\n",
				argv[2], t.lines, t.matched, t.errors, expected);
			fail = 1;
		}
		printf("RESULT watch=match_%s lines=%lu matched=%lu seconds=%.3f lines_per_s=%.0f read_seconds=%.3f\n",
		       argv[1], t.lines, t.matched, s, (double)t.lines / s, read_s);
		fflush(stdout);
	}
	watch_pattern_free(t.pat);
	return fail;
}
