// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* watch/count.c: the sliding window, the day, eviction, login names, the memory bound. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "watch/count.h"
#include "check.h"

#define T0 1700000000 /* any time: the counts take the caller's clock */

static struct addr_prefix v4(uint32_t n)
{
	struct addr_prefix p = {.family = AF_INET, .plen = 32};
	uint32_t be = htonl(n);

	memcpy(p.bytes, &be, 4);
	return p;
}

static struct watch_count *counts(uint32_t threshold, uint32_t window, size_t sources, size_t users)
{
	struct watch_count_limits lim = {threshold, window, sources, users};
	struct watch_count *c = NULL;

	if (watch_count_new(&c, &lim))
		return NULL;
	return c;
}

static void test_window(void)
{
	struct watch_count *c = counts(5, 600, 100, 10);
	struct addr_prefix a = v4(0xc6336407); /* 198.51.100.7 */
	int64_t times[5] = {0};
	int ret = 0;

	for (int k = 0; k < 4; k++)
		ret |= watch_count_failure(c, &a, T0 + k * 100, times);
	CHECK_INT(ret, 0, "4 failures within 10m: below the threshold");
	CHECK_INT(watch_count_failure(c, &a, T0 + 400, times), 1, "the 5th within 10m reaches it");
	CHECK(times[0] == T0 && times[1] == T0 + 100 && times[4] == T0 + 400,
	      "the deciding times, oldest first (%lld .. %lld)", (long long)times[0],
	      (long long)times[4]);
	CHECK_INT(watch_count_failure(c, &a, T0 + 401, times), 0,
		  "after a hit the window starts anew");
	for (int k = 2; k < 5; k++)
		ret |= watch_count_failure(c, &a, T0 + 400 + k, times);
	CHECK_INT(ret, 0, "4 new failures: below again");
	CHECK_INT(watch_count_failure(c, &a, T0 + 405, times), 1, "5 new ones reach it again");
	watch_count_free(c);

	/* The window slides: the oldest drops out exactly at window seconds. */
	c = counts(5, 600, 100, 10);
	for (int k = 0; k < 4; k++)
		watch_count_failure(c, &a, T0 + k * 150, times);
	CHECK_INT(watch_count_failure(c, &a, T0 + 600, times), 0,
		  "the 5th 600 s after the first: the first has left a 600 s window");
	CHECK_INT(watch_count_failure(c, &a, T0 + 601, times), 1,
		  "one more: the last 5 lie within 600 s");
	CHECK(times[0] == T0 + 150 && times[4] == T0 + 601, "times are the last 5 (%lld .. %lld)",
	      (long long)times[0], (long long)times[4]);
	/* Time going backwards counts as the last time seen. */
	for (int k = 0; k < 4; k++)
		watch_count_failure(c, &a, T0 + 5000, times);
	CHECK_INT(watch_count_failure(c, &a, T0 + 10, times), 1,
		  "an earlier time counts as the latest");
	CHECK_INT(times[4], T0 + 5000, "and is reported as it");
	watch_count_free(c);

	/* Threshold 1 lists on every failure; 0 never. */
	c = counts(1, 1, 100, 10);
	CHECK_INT(watch_count_failure(c, &a, T0, times), 1, "threshold 1: the first failure");
	watch_count_free(c);
	c = counts(0, 0, 100, 10);
	CHECK_INT(watch_count_failure(c, &a, T0, times), 0, "threshold 0: never");
	watch_count_free(c);
}

static void test_eviction(void)
{
	struct watch_count *c = counts(3, 600, 4, 10);
	struct addr_prefix a = v4(0xc0000201), b = v4(0xc0000202), d = v4(0xc0000204);
	struct addr_prefix e = v4(0xcb007109);
	struct watch_count_stats st;
	int64_t times[3];

	/* 192.0.2.1 .. 192.0.2.4, two failures each, in that order. */
	for (uint32_t k = 0; k < 4; k++) {
		struct addr_prefix x = v4(0xc0000201 + k);

		watch_count_failure(c, &x, T0 + k, times);
		watch_count_failure(c, &x, T0 + k, times);
	}
	CHECK_INT(watch_count_failure(c, &a, T0 + 10, times), 1,
		  "192.0.2.1's third: seen again, now the most recent");
	watch_count_failure(c, &e, T0 + 11, times);
	watch_count_stats(c, &st);
	CHECK_INT(st.sources, 4, "a fifth source at capacity 4: still 4");
	CHECK_INT(st.sources_evicted, 1, "one eviction, counted");
	CHECK_INT(watch_count_failure(c, &b, T0 + 12, times), 0,
		  "192.0.2.2, the least recently seen, lost its counts");
	CHECK_INT(watch_count_failure(c, &d, T0 + 13, times), 1,
		  "192.0.2.4, seen after it, kept its two (third reaches 3)");
	watch_count_stats(c, &st);
	CHECK_INT(st.sources_evicted, 2, "192.0.2.2 back evicted 192.0.2.3");
	watch_count_forget(c, &d);
	watch_count_stats(c, &st);
	CHECK_INT(st.sources, 3, "forget drops a source");
	watch_count_failure(c, &d, T0 + 14, times);
	watch_count_stats(c, &st);
	CHECK(st.sources == 4 && st.sources_evicted == 2,
	      "a forgotten source's record is reused, nothing evicted");
	watch_count_free(c);
}

struct listing {
	char text[512];
	size_t n;
};

static void list_source(const struct watch_count_source *s, void *ctx)
{
	struct listing *l = ctx;
	char a[ADDR_STRLEN];
	size_t used = strlen(l->text);

	addr_format(&s->addr, a, sizeof(a));
	snprintf(l->text + used, sizeof(l->text) - used, "%s%s:%u/%u", used ? " " : "", a,
		 s->in_window, s->day);
	l->n++;
}

static void list_user(const struct watch_count_user *u, void *ctx)
{
	struct listing *l = ctx;
	size_t used = strlen(l->text);

	snprintf(l->text + used, sizeof(l->text) - used, "%s%s:%u/%u", used ? " " : "", u->name,
		 u->sources, u->attempts);
	l->n++;
}

static void test_listings(void)
{
	struct watch_count *c = counts(5, 600, 100, 10);
	struct addr_prefix a = v4(0xc0000201), b = v4(0xc0000202), d = v4(0xc0000203);
	struct listing l = {0};
	int64_t times[5];
	size_t n;

	watch_count_failure(c, &a, T0, times);
	for (int k = 0; k < 3; k++)
		watch_count_failure(c, &b, T0 + 1100 + k, times);
	for (int k = 0; k < 2; k++)
		watch_count_failure(c, &d, T0 + 1500 + k, times);
	n = watch_count_sources(c, T0 + 1600, true, 10, list_source, &l);
	CHECK_INT(n, 2, "two sources within the window");
	CHECK_STR(l.text, "192.0.2.2:3/3 192.0.2.3:2/2", "most failures first, 192.0.2.1 left it");
	memset(&l, 0, sizeof(l));
	n = watch_count_sources(c, T0 + 1600, false, 2, list_source, &l);
	CHECK_INT(n, 3, "three within the day");
	CHECK_STR(l.text, "192.0.2.2:3/3 192.0.2.3:2/2", "at most max of them");
	memset(&l, 0, sizeof(l));
	n = watch_count_sources(c, T0 + WATCH_DAY + 3600, false, 10, list_source, &l);
	CHECK_INT(n, 0, "a day and an hour later: none");
	/* Failures spread over a day: the hourly buckets of the last 24 hours count. */
	for (int h = 0; h < 30; h++)
		watch_count_failure(c, &a, T0 + 2 * WATCH_DAY + h * 3600, times);
	memset(&l, 0, sizeof(l));
	watch_count_sources(c, T0 + 2 * WATCH_DAY + 29 * 3600, false, 10, list_source, &l);
	CHECK_STR(l.text, "192.0.2.1:1/24", "one an hour for 30 hours: 24 within the day");
	watch_count_free(c);
}

static void test_users(void)
{
	struct watch_count *c = counts(5, 600, 100, 3);
	struct listing l = {0};
	struct watch_count_stats st;
	size_t n;

	for (uint32_t k = 0; k < 3; k++) {
		struct addr_prefix a = v4(0xc0000201 + k);

		watch_count_user(c, k ? "Luochun" : "luochun", &a, T0 + k);
		watch_count_user(c, "LUOCHUN", &a, T0 + k);
	}
	watch_count_user(c, "admin", &(struct addr_prefix){0}, T0 + 5);
	watch_count_user(c, "admin", &(struct addr_prefix){0}, T0 + 6);
	n = watch_count_users(c, T0 + 10, 2, 10, list_user, &l);
	CHECK_INT(n, 1, "one name from 2 sources or more");
	CHECK_STR(l.text, "luochun:3/6", "case folded: 3 distinct sources, 6 attempts");
	memset(&l, 0, sizeof(l));
	watch_count_users(c, T0 + 10, 1, 10, list_user, &l);
	CHECK_STR(l.text, "luochun:3/6 admin:1/2", "most sources first");
	for (uint32_t k = 0; k < 100; k++) {
		struct addr_prefix a = v4(0xcb007100 + k);

		watch_count_user(c, "luochun", &a, T0 + 20);
	}
	memset(&l, 0, sizeof(l));
	watch_count_users(c, T0 + 20, 2, 10, list_user, &l);
	CHECK_STR(l.text, "luochun:64/106", "distinct sources saturate at WATCH_USER_SOURCES_MAX");
	watch_count_user(c, "root", &(struct addr_prefix){0}, T0 + 30);
	watch_count_user(c, "oper", &(struct addr_prefix){0}, T0 + 31);
	watch_count_stats(c, &st);
	CHECK(st.users == 3 && st.users_evicted == 1, "a fourth name at capacity 3 evicts one");
	memset(&l, 0, sizeof(l));
	watch_count_users(c, T0 + 40, 1, 10, list_user, &l);
	CHECK_STR(l.text, "luochun:64/106 oper:1/1 root:1/1",
		  "admin, the least recently seen, went");
	watch_count_user_forget(c, "LuoChun");
	memset(&l, 0, sizeof(l));
	watch_count_users(c, T0 + 40, 1, 10, list_user, &l);
	CHECK_STR(l.text, "oper:1/1 root:1/1", "a name made a trap is forgotten");
	memset(&l, 0, sizeof(l));
	n = watch_count_users(c, T0 + 31 + WATCH_DAY, 1, 10, list_user, &l);
	CHECK_INT(n, 0, "a day after their last attempt, no name is listed");
	CHECK_INT(watch_count_user(c, "", &(struct addr_prefix){0}, T0), -EINVAL, "empty name");
	watch_count_free(c);
}

/* A flood: 1,000,000 failures from 100,000 sources within the bound. */
static void test_flood(void)
{
	struct watch_count *c = counts(5, 600, 100000, WATCH_USERS_DEFAULT);
	struct watch_count_stats st;
	struct timespec t0, t1;
	uint64_t hits = 0;
	int64_t times[5];
	size_t bound;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t k = 0; k < 1000000; k++) {
		/* Sources from 2001:db8::/32, the lot visited in a scattered order. */
		struct addr_prefix a = {
		    .family = AF_INET6, .plen = 128, .bytes = {0x20, 0x01, 0x0d, 0xb8}};
		uint32_t id = (uint32_t)((k * 7919ull) % 100000);

		memcpy(a.bytes + 12, &id, 4);
		hits += watch_count_failure(c, &a, T0 + k / 1000, times) == 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	watch_count_stats(c, &st);
	bound = WATCH_COUNT_FIXED_BYTES + 100000 * WATCH_SOURCE_BYTES(5) +
		WATCH_USERS_DEFAULT * WATCH_USER_BYTES;
	printf("# flood: %.3f s, %zu sources, %llu hits, memory %zu, max %zu, bound %zu\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       st.sources, (unsigned long long)hits, st.memory, st.memory_max, bound);
	CHECK_INT(st.sources, 100000, "100,000 sources counted");
	CHECK_INT(st.sources_evicted, 0, "none evicted at max-sources 100000");
	CHECK_INT(hits, 200000,
		  "10 failures each, 100 s apart: the 5th and the 10th reach 5 in 10m");
	CHECK(st.memory <= st.memory_max, "memory %zu within memory_max %zu", st.memory,
	      st.memory_max);
	CHECK(st.memory_max <= bound, "memory_max %zu within the stated bound %zu", st.memory_max,
	      bound);
	watch_count_free(c);

	/* Twice as many sources as room: evictions, memory still within the bound. */
	c = counts(5, 600, 50000, 10);
	for (uint32_t k = 0; k < 1000000; k++) {
		struct addr_prefix a = v4(0xc6330000 + (uint32_t)((k * 7919ull) % 100000));

		watch_count_failure(c, &a, T0 + k / 1000, times);
	}
	watch_count_stats(c, &st);
	CHECK(st.sources == 50000 && st.sources_evicted > 0,
	      "capacity 50000: %zu sources, %llu evicted", st.sources,
	      (unsigned long long)st.sources_evicted);
	CHECK(st.memory <= st.memory_max, "memory %zu within memory_max %zu", st.memory,
	      st.memory_max);
	watch_count_free(c);
}

int main(void)
{
	test_window();
	test_eviction();
	test_listings();
	test_users();
	test_flood();
	return check_done();
}
