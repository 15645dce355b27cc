// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <xdp/libxdp.h>

#include "log.h"

static bool log_foreground = true;
static bool log_verbose;

void log_init(const char *ident, bool foreground, bool verbose)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	if (log_foreground) {
		/* sd-daemon(3) priority prefixes: journald keeps the level. */
		fprintf(stderr, "<%d>", priority);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(priority, fmt, ap);
	}
}

#define LOG_FN(name, priority, gate)                    \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		if (!(gate))                            \
			return;                         \
		va_start(ap, fmt);                      \
		log_vwrite(priority, fmt, ap);          \
		va_end(ap);                             \
	}

LOG_FN(log_info, LOG_INFO, 1)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_err, LOG_ERR, 1)
LOG_FN(log_debug, LOG_DEBUG, log_verbose)

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !log_verbose)
		return 0;
	/*
	 * Expected on every start: netlink's notes when clsact already exists
	 * or is queried before it does, and libxdp's own ELF sections.
	 */
	if (!log_verbose && (strstr(fmt, "Kernel error message") ||
			     strstr(fmt, "skipping unrecognized data section")))
		return 0;
	log_vwrite(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_WARN && !log_verbose)
		return 0;
	log_vwrite(level == LIBXDP_WARN ? LOG_WARNING : LOG_DEBUG, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
