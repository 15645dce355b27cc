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
/* Route libbpf's and libxdp's messages here; quiet unless verbose. */
void log_route_libbpf(void);

#endif /* __GREYWALL_LOG_H */
