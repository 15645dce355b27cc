// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <xdp/libxdp.h>

#include "lib/escape.h"
#include "lib/log.h"

static bool log_foreground = true;
static bool log_verbose;
/* log_buffer_lines(): whole lines waiting for log_flush(). */
#define LOG_BUFFER_SIZE (64 * 1024)
static char *log_buf;
static size_t log_buf_len;

static log_sink_fn log_sink;
static void *log_sink_ctx;

void log_init(const char *ident, bool foreground, bool verbose)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Most lines fit; a longer one (long SMTP fields) is formatted on the heap. */
#define LOG_LINE_STACK 1024

/* The message, in stack when it fits; otherwise on the heap (free it), or cut short. */
static char *format_message(char *stack, size_t size, const char *fmt, va_list ap)
{
	char *text = stack;
	va_list again;
	int len;

	va_copy(again, ap);
	len = vsnprintf(stack, size, fmt, ap);
	if (len >= 0 && (size_t)len >= size) {
		text = malloc((size_t)len + 1);
		if (text)
			vsnprintf(text, (size_t)len + 1, fmt, again);
		else
			text = stack; /* cut short rather than lost */
	}
	va_end(again);
	if (len < 0)
		stack[0] = '\0';
	return text;
}

void log_flush(void)
{
	if (log_buf_len)
		fwrite(log_buf, 1, log_buf_len, stderr);
	log_buf_len = 0;
}

/* A forked child's copy holds its parent's lines: dropped, not written twice; it writes at once. */
static void log_forked(void)
{
	free(log_buf);
	log_buf = NULL;
	log_buf_len = 0;
}

void log_buffer_lines(void)
{
	if (log_buf)
		return;
	log_buf = malloc(LOG_BUFFER_SIZE);
	if (!log_buf)
		return;
	atexit(log_flush);
	pthread_atfork(NULL, NULL, log_forked);
}

/* A whole line to stderr: into the buffer when there is one, else at once. */
static void log_put(const char *line, size_t len)
{
	if (log_buf && log_buf_len + len > LOG_BUFFER_SIZE)
		log_flush();
	if (log_buf && len <= LOG_BUFFER_SIZE) {
		memcpy(log_buf + log_buf_len, line, len);
		log_buf_len += len;
		return;
	}
	fwrite(line, 1, len, stderr);
}

/*
 * One write(2) per line, or per buffer of whole lines: stderr is
 * unbuffered, and the tarpit logs several lines per SMTP dialogue, so
 * three writes a line were a fifth of its system calls. Whole lines also
 * keep two processes' lines apart.
 */
static void log_stderr(int priority, const char *text)
{
	char stack[LOG_LINE_STACK], *line = stack;
	/* sd-daemon(3) priority prefixes: journald keeps the level. */
	size_t len = (size_t)snprintf(stack, sizeof(stack), "<%d>%s\n", LOG_PRI(priority), text);

	if (len >= sizeof(stack)) {
		line = malloc(len + 1);
		if (line) {
			snprintf(line, len + 1, "<%d>%s\n", LOG_PRI(priority), text);
		} else {
			line = stack;
			len = sizeof(stack) - 1;
			stack[len - 1] = '\n';
		}
	}
	log_put(line, len);
	if (line != stack)
		free(line);
}

/*
 * Every line is escaped whole (escape.h), so that what a client sent (a
 * HELO, an address) can neither end a log line early nor reach the
 * reader's terminal as control bytes, whichever caller logged it.
 */
static void log_line(int priority, const char *text)
{
	char escaped_stack[LOG_LINE_STACK], *escaped = escaped_stack;
	size_t need;

	if (log_sink && !log_sink(log_sink_ctx, LOG_PRI(priority), text))
		return;
	need = escape_vis(escaped_stack, sizeof(escaped_stack), text, NULL);
	if (need >= sizeof(escaped_stack)) {
		escaped = malloc(need + 1);
		if (escaped)
			escape_vis(escaped, need + 1, text, NULL);
		else
			escaped = escaped_stack; /* cut between two escapes */
	}
	/* syslog() sends each message whole already. */
	if (log_foreground)
		log_stderr(priority, escaped);
	else
		syslog(priority, "%s", escaped);
	if (escaped != escaped_stack)
		free(escaped);
}

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	char stack[LOG_LINE_STACK];
	char *text = format_message(stack, sizeof(stack), fmt, ap);
	size_t len = strlen(text);

	/* libbpf's messages end in a newline of their own: the line gets one anyway. */
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	log_line(priority, text);
	if (text != stack)
		free(text);
}

static void log_write(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(priority, fmt, ap);
	va_end(ap);
}

void log_tarpit_line(int priority, const char *text)
{
	size_t len = strlen(text);

	/* The child's lines come formatted: only one that ends in a newline is copied to cut it. */
	if (len && text[len - 1] == '\n')
		log_write(LOG_MAIL | LOG_PRI(priority), "%s", text);
	else
		log_line(LOG_MAIL | LOG_PRI(priority), text);
}

void log_set_sink(log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
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
