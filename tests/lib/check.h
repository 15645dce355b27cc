/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The tiny harness every C test uses. Each check prints one TAP line
 * ("ok N - what" / "not ok N - what", "ok N - what # SKIP why");
 * tests/run.sh counts them across every layer into the final
 * "N passed, N failed, N skipped" line.
 */
#ifndef __GREYWALL_CHECK_H
#define __GREYWALL_CHECK_H

#include <stdio.h>
#include <string.h>

/* A program whose checks lie in several files (selftests/test_progs)
 * defines CHECK_SHARED_COUNTERS before including this, and the two
 * counters once, so that every file counts into one plan. */
#ifdef CHECK_SHARED_COUNTERS
extern int check_count;
extern int check_failures;
#else
static int check_count;
static int check_failures;
#endif

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		int __ok = !!(cond);                                          \
		check_count++;                                                \
		if (!__ok)                                                    \
			check_failures++;                                     \
		printf("%s %d - ", __ok ? "ok" : "not ok", check_count);      \
		printf(__VA_ARGS__);                                          \
		printf("\n");                                                 \
		if (!__ok)                                                    \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__,  \
			       #cond);                                        \
		fflush(stdout);                                               \
	} while (0)

#define CHECK_STR(got, want, ...)                                             \
	do {                                                                  \
		const char *__g = (got), *__w = (want);                       \
		int __same = __g && __w && !strcmp(__g, __w);                 \
		CHECK(__same, __VA_ARGS__);                                   \
		if (!__same)                                                    \
			printf("#   got:  \"%s\"\n#   want: \"%s\"\n",           \
			       __g ? __g : "(null)", __w ? __w : "(null)");   \
	} while (0)

#define CHECK_INT(got, want, ...)                                             \
	do {                                                                  \
		long long __g = (long long)(got), __w = (long long)(want);    \
		CHECK(__g == __w, __VA_ARGS__);                               \
		if (__g != __w)                                               \
			printf("#   got:  %lld\n#   want: %lld\n", __g, __w);     \
	} while (0)

/*
 * A check this machine cannot run (a kernel feature, a privilege or a tool
 * missing): TAP's "ok N - what # SKIP reason", which tests/run.sh counts
 * as skipped, not passed. The reason comes first so that it can be a
 * format string's argument-less literal.
 */
#define CHECK_SKIP(reason, ...)                                               \
	do {                                                                  \
		check_count++;                                                \
		printf("ok %d - ", check_count);                              \
		printf(__VA_ARGS__);                                          \
		printf(" # SKIP %s\n", reason);                               \
		fflush(stdout);                                               \
	} while (0)

static inline int check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failures ? 1 : 0;
}

#endif /* __GREYWALL_CHECK_H */
