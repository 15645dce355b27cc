/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywallctl verbs of the table exchange: `table NAME exchange`, and the
 * daemon's side of it (reading the peers at start, reload and on time).
 * The command table (verbs.h) names the handler.
 */
#ifndef __GREYWALL_COMMANDS_EXCHANGE_H
#define __GREYWALL_COMMANDS_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/control.h"

struct daemon;

/*
 * `table T exchange`: answered later (CONTROL_DEFERRED), once the read of
 * the table's peers started for it is merged; the loop goes on meanwhile.
 */
int commands_table_exchange(struct daemon *d, struct control_request *req, int table,
			    char **args, int nargs);

/* Start or reconfigure the exchange from d->cfg. Returns 0 or -errno with err. */
int exchange_daemon_reload(struct daemon *d, char *err, size_t errlen);
/* The loop's once-a-second: read the peers that are due. */
void exchange_daemon_periodic(struct daemon *d, int64_t now);
/* The reader thread is done: merge. */
void exchange_daemon_event(struct daemon *d);
/* A waiting `table T exchange` client's connection: fd is one; its event. */
bool exchange_daemon_owns_fd(const struct daemon *d, int fd);
void exchange_daemon_client_event(struct daemon *d, int fd);
/* Stop; waiting `table T exchange` requests are answered with a failure. */
void exchange_daemon_close(struct daemon *d);

#endif /* __GREYWALL_COMMANDS_EXCHANGE_H */
