// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The watchers' (address, login name) pairs: counting, the bound and
 * which pair a full table drops, and the CSV byte for byte with hostile
 * login names (places: tests/unit/test_location.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "watch/attempts.h"

static struct addr_prefix host(const char *text)
{
	struct addr_prefix p;

	if (addr_parse(text, &p))
		abort();
	return p;
}

static const char *csv(const struct watch_attempts *a)
{
	static char *buf;
	size_t len = 0;
	FILE *fp;

	free(buf);
	buf = NULL;
	fp = open_memstream(&buf, &len);
	if (watch_attempts_write_csv(a, fp, NULL))
		fputs("(error)", fp);
	fclose(fp);
	return buf;
}

static void test_counting(void)
{
	struct watch_attempts *a;
	struct addr_prefix x = host("198.51.100.7"), y = host("2001:db8::7");
	int64_t t = 1795338000;	/* 2026-11-22T09:00:00Z */

	CHECK_INT(watch_attempts_new(0, &a), -EINVAL, "a table of 0 pairs: refused");
	CHECK_INT(watch_attempts_new(100, &a), 0, "a table of 100 pairs");
	watch_attempts_note(a, &x, "root", t);
	watch_attempts_note(a, &x, "root", t + 5);
	watch_attempts_note(a, &x, "Root", t + 6);
	watch_attempts_note(a, &y, "admin", t + 7);
	watch_attempts_note(a, &x, "=cmd|' /C calc'!A0", t + 8);
	watch_attempts_note(a, &x, "", t + 9);
	watch_attempts_note(a, &y, "a,\"b\"\tc", t + 10);
	watch_attempts_note(a, &y, "-1+1", t + 11);
	watch_attempts_note(a, &y, "@x", t + 12);
	watch_attempts_note(a, &y, "\rline", t + 13);
	CHECK_INT(watch_attempts_count(a), 9, "nine pairs (names compared as logged)");
	CHECK_STR(csv(a),
		  "address,user,attempts,first_seen,last_seen,network,asn,country\r\n"
		  "198.51.100.7,\"\",1,2026-11-22T09:00:09Z,2026-11-22T09:00:09Z,--,--,--\r\n"
		  "198.51.100.7,\"'=cmd|' /C calc'!A0\",1,2026-11-22T09:00:08Z,"
		  "2026-11-22T09:00:08Z,--,--,--\r\n"
		  "198.51.100.7,\"Root\",1,2026-11-22T09:00:06Z,2026-11-22T09:00:06Z,--,--,--\r\n"
		  "198.51.100.7,\"root\",2,2026-11-22T09:00:00Z,2026-11-22T09:00:05Z,--,--,--\r\n"
		  "2001:db8::7,\"'\\rline\",1,2026-11-22T09:00:13Z,2026-11-22T09:00:13Z,--,--,--\r\n"
		  "2001:db8::7,\"'-1+1\",1,2026-11-22T09:00:11Z,2026-11-22T09:00:11Z,--,--,--\r\n"
		  "2001:db8::7,\"'@x\",1,2026-11-22T09:00:12Z,2026-11-22T09:00:12Z,--,--,--\r\n"
		  "2001:db8::7,\"a,\"\"b\"\"\\tc\",1,2026-11-22T09:00:10Z,2026-11-22T09:00:10Z,"
		  "--,--,--\r\n"
		  "2001:db8::7,\"admin\",1,2026-11-22T09:00:07Z,2026-11-22T09:00:07Z,--,--,--\r\n",
		  "the CSV: sorted, quoted, escaped, formulas guarded");
	watch_attempts_free(a);
	CHECK_INT(watch_attempts_new(3, &a), 0, "empty table");
	CHECK_STR(csv(a), "address,user,attempts,first_seen,last_seen,network,asn,country\r\n",
		  "an empty table: the header row alone");
	watch_attempts_free(a);
}

static void test_bound(void)
{
	struct watch_attempts *a;
	struct addr_prefix p = host("198.51.100.0");
	const char *out;
	int64_t t = 1795338000;

	watch_attempts_new(3, &a);
	watch_attempts_note(a, &p, "a", t);
	watch_attempts_note(a, &p, "b", t + 1);
	watch_attempts_note(a, &p, "c", t + 2);
	watch_attempts_note(a, &p, "a", t + 3);	/* a is now the most recent */
	watch_attempts_note(a, &p, "d", t + 4);	/* drops b, the least recent */
	CHECK_INT(watch_attempts_count(a), 3, "at most 3 pairs");
	out = csv(a);
	CHECK(strstr(out, ",\"a\",2,") && strstr(out, ",\"c\",") && strstr(out, ",\"d\",") &&
		      !strstr(out, ",\"b\","),
	      "the pair seen least recently was dropped, a kept with its count");
	watch_attempts_note(a, &p, "b", t + 5);	/* drops c */
	out = csv(a);
	CHECK(strstr(out, ",\"b\",1,") && !strstr(out, ",\"c\","), "b anew, c dropped");
	watch_attempts_free(a);

	/* A flood of new pairs: the table stays at its bound, every pair findable. */
	watch_attempts_new(WATCH_ATTEMPTS_MAX, &a);
	for (uint32_t i = 0; i < 5 * WATCH_ATTEMPTS_MAX; i++) {
		struct addr_prefix q = p;
		char user[16];

		q.bytes[2] = (uint8_t)(i >> 8);
		q.bytes[3] = (uint8_t)i;
		snprintf(user, sizeof(user), "u%u", i);
		watch_attempts_note(a, &q, user, t + i);
	}
	CHECK_INT(watch_attempts_count(a), WATCH_ATTEMPTS_MAX, "a flood: the table stays at %d",
		  WATCH_ATTEMPTS_MAX);
	{
		struct addr_prefix q = p;

		q.bytes[2] = (uint8_t)((5 * WATCH_ATTEMPTS_MAX - 1) >> 8);
		q.bytes[3] = (uint8_t)(5 * WATCH_ATTEMPTS_MAX - 1);
		watch_attempts_note(a, &q, "u49999", t);
		CHECK_INT(watch_attempts_count(a), WATCH_ATTEMPTS_MAX,
			  "the newest pair is found again, not added");
	}
	watch_attempts_free(a);
}

int main(void)
{
	test_counting();
	test_bound();
	return check_done();
}
