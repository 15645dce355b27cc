// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The watchers' findings published with the dumps: <watcher>_attempts.csv. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "daemon/daemon.h"
#include "lib/atomicfile.h"
#include "lib/gzipcopy.h"
#include "tables/dump.h"
#include "watch/attempts.h"
#include "watch/internal.h"
#include "watch/watch.h"

static int write_attempts(const struct watcher *w, const char *dir, bool gzip,
			  struct location *loc)
{
	char path[PATH_MAX];
	struct atomic_file af;
	int ret;

	/* Watcher names are letters, digits, "_" and "-" (config): a file name as they are. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s_attempts.csv", dir, w->name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	ret = atomic_file_open(&af, path, DUMP_FILE_MODE);
	if (ret)
		return ret;
	ret = watch_attempts_write_csv(w->attempts, af.fp, loc);
	if (ret) {
		atomic_file_abort(&af);
		return ret;
	}
	ret = atomic_file_commit(&af);
	if (!ret && gzip)
		ret = gzip_copy_file(path, DUMP_FILE_MODE);
	return ret;
}

int watch_dump_attempts(struct daemon *d, const char *dir, bool gzip, struct location *loc)
{
	int first = 0;

	if (!d->watch)
		return 0;
	for (size_t i = 0; i < d->watch->n; i++) {
		int ret;

		if (!d->watch->w[i].attempts)
			continue;
		ret = write_attempts(&d->watch->w[i], dir, gzip, loc);
		if (ret && !first)
			first = ret;
	}
	return first;
}
