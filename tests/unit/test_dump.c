// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "tables/dump.h"

static char base[] = "/tmp/gw-dump-XXXXXX";
static char dir[PATH_MAX];

/* dump_write_table() with a contact alone: no location, no gzip. */
static int write_table(const char *to, const char *table, const char *contact, int64_t now,
		       const struct dump_entry *entries, size_t n)
{
	const struct dump_options opts = { .contact = contact };

	return dump_write_table(to, table, &opts, now, entries, n);
}

static const char *slurp(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_small_file(path);
}

static mode_t mode_of(const char *name)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void set_entry(struct dump_entry *e, const char *addr, int64_t added, int64_t last_seen,
		      const char *source, const char *detail)
{
	memset(e, 0, sizeof(*e));
	if (addr_parse(addr, &e->prefix) < 0) {
		fprintf(stderr, "bad test address %s\n", addr);
		exit(2);
	}
	e->meta.added = added;
	e->meta.cleared = added;
	e->meta.last_seen = last_seen;
	snprintf(e->evidence.source, sizeof(e->evidence.source), "%s", source);
	snprintf(e->evidence.detail, sizeof(e->evidence.detail), "%s", detail);
}

int main(void)
{
	/* 2026-11-22T09:00:00Z */
	const int64_t now = 1795338000;
	struct dump_entry e[4];
	char buf[32];

	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	/* Two levels that do not exist yet: the writer creates them. */
	snprintf(dir, sizeof(dir), "%s/pub/lists", base);
	/* greywalld's own umask, which must not reach the published directories. */
	umask(027);

	dump_format_time(now, buf, sizeof(buf));
	CHECK_STR(buf, "2026-11-22T09:00:00Z", "dump_format_time");
	dump_format_time(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00Z", "dump_format_time epoch");

	set_entry(&e[0], "198.51.100.7", now - 3600, now - 60, "overload",
		  "rule 3: max-src-conn-rate 6/3 exceeded (7/6)");
	e[0].counters.packets[GW_DIR_IN_BLOCK] = 12;
	e[0].counters.bytes[GW_DIR_IN_BLOCK] = 720;
	e[0].counters.packets[GW_DIR_IN_PASS] = 7;
	e[0].counters.bytes[GW_DIR_IN_PASS] = 420;
	e[0].counters.packets[GW_DIR_OUT_BLOCK] = 0;
	e[0].counters.bytes[GW_DIR_OUT_BLOCK] = 0;
	e[0].counters.packets[GW_DIR_OUT_PASS] = 6;
	e[0].counters.bytes[GW_DIR_OUT_PASS] = 18446744073709551615ull;
	set_entry(&e[1], "203.0.113.0/24", now - 86400, 0, "log",
		  "sshd:\tFailed password for root\nfrom 203.0.113.9\r");
	set_entry(&e[2], "2001:db8::1", now - 7200, now, "manual", "");
	set_entry(&e[3], "2001:db8:bad::/48", now - 10, 0, "", "");

	CHECK_INT(write_table(dir, "bruteforce", "abuse@example.org", now, e, 4), 0,
		  "write a table with a contact");
	CHECK_STR(slurp("bruteforce.txt"),
		  "# greywall table bruteforce\n"
		  "# generated 2026-11-22T09:00:00Z\n"
		  "# 4 entries\n"
		  "# contact: abuse@example.org\n"
		  "198.51.100.7\n"
		  "203.0.113.0/24\n"
		  "2001:db8::1\n"
		  "2001:db8:bad::/48\n",
		  "bruteforce.txt bytes");
	CHECK_STR(slurp("bruteforce_full.txt"),
		  "# greywall table bruteforce\n"
		  "# generated 2026-11-22T09:00:00Z\n"
		  "# 4 entries\n"
		  "# contact: abuse@example.org\n"
		  "# columns: address added last_seen in_block in_pass out_block out_pass "
		  "evidence\n"
		  "198.51.100.7\t2026-11-22T08:00:00Z\t2026-11-22T08:59:00Z\t12/720\t7/420\t0/0\t"
		  "6/18446744073709551615\toverload: rule 3: max-src-conn-rate 6/3 exceeded (7/6)\n"
		  "203.0.113.0/24\t2026-11-21T09:00:00Z\t-\t0/0\t0/0\t0/0\t0/0\t"
		  "log: sshd:\\tFailed password for root\\nfrom 203.0.113.9\\r\n"
		  "2001:db8::1\t2026-11-22T07:00:00Z\t2026-11-22T09:00:00Z\t0/0\t0/0\t0/0\t0/0\t"
		  "manual\n"
		  "2001:db8:bad::/48\t2026-11-22T08:59:50Z\t-\t0/0\t0/0\t0/0\t0/0\t-\n",
		  "bruteforce_full.txt bytes");
	CHECK_INT(mode_of("."), 0755, "dump-dir created 0755 despite umask 027");
	CHECK_INT(mode_of(".."), 0755, "its missing parent created 0755 too");
	CHECK_INT(mode_of("bruteforce.txt"), 0644, "list mode 0644");
	CHECK_INT(mode_of("bruteforce_full.txt"), 0644, "full list mode 0644");

	/* Replace with fewer entries and no contact. */
	CHECK_INT(write_table(dir, "bruteforce", NULL, now + 3600, e, 1), 0,
		  "rewrite without contact");
	CHECK_STR(slurp("bruteforce.txt"),
		  "# greywall table bruteforce\n"
		  "# generated 2026-11-22T10:00:00Z\n"
		  "# 1 entries\n"
		  "198.51.100.7\n",
		  "replaced list, no contact line");
	CHECK_STR(slurp("bruteforce_full.txt"),
		  "# greywall table bruteforce\n"
		  "# generated 2026-11-22T10:00:00Z\n"
		  "# 1 entries\n"
		  "# columns: address added last_seen in_block in_pass out_block out_pass "
		  "evidence\n"
		  "198.51.100.7\t2026-11-22T08:00:00Z\t2026-11-22T08:59:00Z\t12/720\t7/420\t0/0\t"
		  "6/18446744073709551615\toverload: rule 3: max-src-conn-rate 6/3 exceeded (7/6)\n",
		  "replaced full list, no contact line");
	CHECK_INT(count_dir_entries(dir), 2, "no temporary files left behind");

	CHECK_INT(write_table(dir, "empty", "line one\nline two", now, NULL, 0), 0,
		  "write an empty table");
	CHECK_STR(slurp("empty.txt"),
		  "# greywall table empty\n"
		  "# generated 2026-11-22T09:00:00Z\n"
		  "# 0 entries\n"
		  "# contact: line one\\nline two\n",
		  "empty table, contact kept on one line");

	CHECK_INT(write_table(dir, "../escape", NULL, now, e, 1), -EINVAL,
		  "table name with a slash is refused");
	CHECK_INT(write_table(dir, ".hidden", NULL, now, e, 1), -EINVAL,
		  "table name starting with a dot is refused");
	CHECK_INT(count_dir_entries(dir), 4, "nothing written for refused names");

	/* Whoever may write to dump-dir (a web server) plants a symlink where a
	 * dump goes: it is replaced, what it points to is untouched. */
	{
		char victim[PATH_MAX + 16], planted[PATH_MAX + 16];
		struct stat st;
		FILE *fp;

		snprintf(victim, sizeof(victim), "%s/victim", base);
		snprintf(planted, sizeof(planted), "%s/planted.txt", dir);
		fp = fopen(victim, "w");
		fputs("victim\n", fp);
		fclose(fp);
		chmod(victim, 0600);
		CHECK(symlink(victim, planted) == 0, "plant a symlink in dump-dir");
		CHECK_INT(write_table(dir, "planted", NULL, now, e, 1), 0,
			  "dump over the planted name");
		CHECK(lstat(planted, &st) == 0 && S_ISREG(st.st_mode) &&
			      (st.st_mode & 07777) == 0644,
		      "the symlink became a dump of mode 0644");
		CHECK_STR(read_small_file(victim), "victim\n", "the link target is untouched");
		CHECK(stat(victim, &st) == 0 && (st.st_mode & 07777) == 0600,
		      "the link target's mode is untouched");
	}

	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", base);
	}
	return check_done();
}
