/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Logging: stderr in the foreground (journald under systemd), syslog otherwise. */
#ifndef __GREYWALL_LOG_H
#define __GREYWALL_LOG_H

#include <stdbool.h>

void log_init(const char *ident, bool foreground, bool verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A line the tarpit child sent (LOG, privsep.h), logged as the parent's
 * own are, escaped; under syslog with facility mail, as the tarpit's were.
 */
void log_tarpit_line(int priority, const char *text);
/*
 * Where lines go instead of stderr or syslog: sink gets each line as
 * formatted, before escaping, and returns 0 once it took it; any other
 * return writes the line the usual way. NULL restores the usual way.
 */
typedef int (*log_sink_fn)(void *ctx, int priority, const char *text);
void log_set_sink(log_sink_fn sink, void *ctx);
/*
 * From now on, lines for stderr gather in a buffer (whole lines, 64 KiB)
 * until log_flush(), which an event loop calls once a round, or until it
 * is full: a flood of log lines costs a write(2) per round, not per line.
 * The buffer is flushed at exit too. No effect under syslog.
 */
void log_buffer_lines(void);
void log_flush(void);
/* Route libbpf's and libxdp's messages here; quiet unless verbose. */
void log_route_libbpf(void);

#endif /* __GREYWALL_LOG_H */
