// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The journal follower against a journal this test writes: the machine
 * runs no journald, so systemd-journal-remote turns entries in the export
 * format into a journal file in a temporary directory, and appends to it
 * while the follower has it open, as journald would.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "watch/journal.h"
#include "check.h"
#include "seen.h"

#define EVENT_TIMEOUT_MS 5000

static const char *const remote_paths[] = {
	"/usr/lib/systemd/systemd-journal-remote",
	"/lib/systemd/systemd-journal-remote",
};

static char dir[] = "/tmp/gw-journal-XXXXXX";
static const char *remote;
static unsigned long long seconds = 1700000000;

/*
 * Append entries to DIR/file: "unit message" per entry, the unit "-" for
 * an entry without one. One systemd-journal-remote run per call; a run
 * appends to the file an earlier one wrote.
 */
static int append_to(const char *file, const char *const *entries, size_t n)
{
	char cmd[PATH_MAX * 2];
	size_t i;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -o %s/%s - 2>/dev/null", remote, dir, file);
	p = popen(cmd, "w");
	if (!p)
		return -errno;
	for (i = 0; i < n; i++) {
		const char *space = strchr(entries[i], ' ');
		int unit_len = (int)(space - entries[i]);

		fprintf(p, "__REALTIME_TIMESTAMP=%llu000000\n_HOSTNAME=gw-test\n", seconds++);
		if (strncmp(entries[i], "-", unit_len))
			fprintf(p, "_SYSTEMD_UNIT=%.*s\n", unit_len, entries[i]);
		fprintf(p, "MESSAGE=%s\n\n", space + 1);
	}
	return pclose(p) == 0 ? 0 : -EIO;
}

static int append(const char *const *entries, size_t n)
{
	return append_to("remote.journal", entries, n);
}

/* Whether the journal's descriptor wakes within timeout_ms. */
static bool wakes(struct journal *j, int timeout_ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	bool woke;

	woke = ep >= 0 && !epoll_ctl(ep, EPOLL_CTL_ADD, journal_fd(j), &ev) &&
	       epoll_wait(ep, &ev, 1, timeout_ms) == 1;
	if (ep >= 0)
		close(ep);
	return woke;
}

/* The descriptor wakes, then everything new is read. */
static bool wake_and_read(struct journal *j, struct seen *s)
{
	bool woke = wakes(j, EVENT_TIMEOUT_MS);

	do {
		if (journal_read(j, 100, collect, s) < 0)
			return false;
	} while (journal_ready(j));
	return woke;
}

static struct journal *open_journal(char *const *units, size_t n, const char *cursor)
{
	struct journal *j = NULL;
	int err = journal_new(&j, dir, units, n, cursor);

	if (err)
		printf("# journal_new: %s\n", strerror(-err));
	return j;
}

int main(void)
{
	static const char *const before[] = { "dovecot.service written before the start" };
	static const char *const batch1[] = {
		"dovecot.service imap-login: one",
		"ssh.service sshd: two",
		"cron.service cron: three",
		"- kernel: four",
		"dovecot.service pop3-login: five",
	};
	static const char *const batch2[] = {
		"dovecot.service six",
		"ssh.service seven",
	};
	char *dovecot[] = { "dovecot.service" };
	char *two_units[] = { "dovecot.service", "ssh.service" };
	char cursor[JOURNAL_CURSOR_MAX], cmd[PATH_MAX + 16], *long_entry;
	struct journal *all, *one, *both, *again;
	struct seen s = { 0 };
	size_t i;

	for (i = 0; i < sizeof(remote_paths) / sizeof(remote_paths[0]); i++)
		if (!access(remote_paths[i], X_OK))
			remote = remote_paths[i];
	if (!remote) {
		printf("1..0 # SKIP systemd-journal-remote is not installed\n");
		return 0;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT(append(before, 1), 0, "a journal file written by systemd-journal-remote");

	all = open_journal(NULL, 0, NULL);
	one = open_journal(dovecot, 1, NULL);
	both = open_journal(two_units, 2, NULL);
	CHECK(all && one && both, "opened the directory's journal, with and without units");
	if (!all || !one || !both)
		goto out;
	CHECK(journal_fd(all) >= 0, "a descriptor to wait on");
	CHECK(!journal_ready(all), "no cursor: not ready, it starts at the end");
	CHECK_INT(journal_read(all, 100, collect, &s), 0, "no cursor: what was there is not read");
	CHECK_STR(journal_cursor(all), "", "no cursor before the first entry");
	CHECK(!wakes(all, 0), "no new entry: the descriptor does not wake");

	CHECK_INT(append(batch1, 5), 0, "appended to the journal file while it is open");
	CHECK(wake_and_read(all, &s), "the append wakes the descriptor");
	CHECK_STR(taken(&s),
		  "imap-login: one\nsshd: two\ncron: three\nkernel: four\npop3-login: five\n",
		  "every new MESSAGE, in order");
	CHECK(wake_and_read(one, &s), "unit: the append wakes it too");
	CHECK_STR(taken(&s), "imap-login: one\npop3-login: five\n", "unit: only dovecot.service's");
	CHECK(wake_and_read(both, &s), "units: woken");
	CHECK_STR(taken(&s), "imap-login: one\nsshd: two\npop3-login: five\n",
		  "units: dovecot.service's and ssh.service's");
	CHECK_INT(journal_stats(all)->lines, 5, "five lines counted");

	/* Stop after one of two new entries, restart from its cursor. */
	journal_free(both);
	both = open_journal(two_units, 2, NULL);
	journal_free(one);
	one = NULL;
	CHECK_INT(append(batch2, 2), 0, "appended again");
	CHECK(both != NULL, "units: opened again");
	if (!both)
		goto out;
	CHECK(wake_and_read(all, &s), "a second append wakes the descriptor");
	CHECK_STR(taken(&s), "six\nseven\n", "the second append's entries");
	CHECK_INT(journal_read(both, 1, collect, &s), 1, "read one entry of two");
	CHECK(journal_ready(both), "more are waiting");
	snprintf(cursor, sizeof(cursor), "%s", journal_cursor(both));
	CHECK(strlen(cursor) > 0, "the cursor of the entry handed over");
	journal_free(both);
	CHECK_INT(append((const char *const[]){ "ssh.service eight (while stopped)" }, 1), 0,
		  "appended while the reader is stopped");
	again = open_journal(two_units, 2, cursor);
	CHECK(again && journal_ready(again), "restarted from the cursor, ready at once");
	both = again;
	if (!again)
		goto out;
	while (journal_ready(again))
		journal_read(again, 100, collect, &s);
	CHECK_STR(taken(&s), "six\nseven\neight (while stopped)\n",
		  "restart: the entry at the cursor is not read again, none after it is lost");

	/* A MESSAGE longer than WATCH_LINE_MAX is cut there (and counted). */
	long_entry = malloc(WATCH_LINE_MAX * 2 + 32);
	if (!long_entry)
		goto out;
	strcpy(long_entry, "dovecot.service ");
	memset(long_entry + 16, 'x', WATCH_LINE_MAX * 2);
	long_entry[16 + WATCH_LINE_MAX * 2] = '\0';
	CHECK_INT(append((const char *const *)&long_entry, 1), 0, "a long MESSAGE");
	free(long_entry);
	CHECK(wake_and_read(again, &s), "woken for it");
	CHECK(s.longest == WATCH_LINE_MAX && s.len == WATCH_LINE_MAX + 1, "cut to WATCH_LINE_MAX");
	CHECK_INT(journal_stats(again)->cut, 1, "and counted");
	taken(&s);

	/* A new journal file in the directory (journald rotates to one) is found. */
	CHECK_INT(append_to("rotated.journal", (const char *const[]){ "ssh.service nine" }, 1), 0,
		  "a second journal file");
	CHECK(wake_and_read(again, &s), "a new file wakes the descriptor");
	CHECK_STR(taken(&s), "nine\n", "its entry");

	/* An empty cursor: from the first entry there (a directory that appeared late). */
	journal_free(one);
	one = open_journal((char *[]){ "ssh.service" }, 1, "");
	CHECK(one && journal_ready(one), "empty cursor: ready at once");
	if (!one)
		goto out;
	while (journal_ready(one))
		journal_read(one, 100, collect, &s);
	CHECK_STR(taken(&s), "sshd: two\nseven\neight (while stopped)\nnine\n",
		  "empty cursor: every entry from the first");
	journal_free(one);
	one = NULL;
	CHECK_INT(journal_new(&one, "/nonexistent/gw-journal", NULL, 0, NULL), -ENOENT,
		  "a directory that is not there: -ENOENT");
	one = NULL;

	/* A cursor from elsewhere is refused, not taken for the start. */
	CHECK(journal_new(&one, dir, NULL, 0, "s=nonsense") < 0, "a malformed cursor is an error");
	one = NULL;
out:
	journal_free(all);
	journal_free(one);
	journal_free(both);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		perror("rm");
	return check_done();
}
