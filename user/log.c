// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Most lines fit; a longer one (escaped SMTP fields) is formatted on the heap. */
#define LOG_LINE_STACK 1024

/*
 * One write(2) per line: stderr is unbuffered, and the tarpit logs several
 * lines per SMTP dialogue, so three writes a line were a fifth of its
 * system calls. Whole lines also keep two processes' lines apart.
 */
static void log_stderr(int priority, const char *fmt, va_list ap)
{
	char stack[LOG_LINE_STACK], *line = stack;
	/* sd-daemon(3) priority prefixes: journald keeps the level. */
	int prefix = snprintf(stack, sizeof(stack), "<%d>", priority), len;
	va_list again;

	va_copy(again, ap);
	len = vsnprintf(stack + prefix, sizeof(stack) - (size_t)prefix, fmt, ap);
	if (len >= 0 && (size_t)(prefix + len + 1) >= sizeof(stack)) {
		line = malloc((size_t)prefix + (size_t)len + 2);
		if (line) {
			memcpy(line, stack, (size_t)prefix);
			vsnprintf(line + prefix, (size_t)len + 1, fmt, again);
		} else {
			/* Cut short rather than lost. */
			line = stack;
			len = (int)sizeof(stack) - prefix - 2;
		}
	}
	va_end(again);
	if (len < 0)
		len = 0;
	line[prefix + len] = '\n';
	fwrite(line, 1, (size_t)prefix + (size_t)len + 1, stderr);
	if (line != stack)
		free(line);
}

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	/* vsyslog() sends each message whole already. */
	if (log_foreground)
		log_stderr(priority, fmt, ap);
	else
		vsyslog(priority, fmt, ap);
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
