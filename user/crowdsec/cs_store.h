/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The CrowdSec client's tables in the store: the decisions the pull table
 * holds (id, address, end, origin, scope) and what CrowdSec holds from us
 * (address, end), and the push queue while greywalld is stopped. Written on the store's connection, so inside the tables'
 * open transaction when there is one. A failed write is logged by the
 * caller's next start at worst: the next startup pull puts the state right.
 */
#ifndef __GREYWALL_CS_STORE_H
#define __GREYWALL_CS_STORE_H

#include <stdint.h>

#include "lib/addr.h"
#include "store/store.h"

struct cs_store;

int cs_store_open(struct store *st, struct cs_store **out);
/* NULL is accepted by every function below and does nothing. */
void cs_store_close(struct cs_store *cs);

typedef int (*cs_store_decision_fn)(void *ctx, int64_t id, const struct addr_prefix *p,
				    int64_t until, const char *origin, int scope);
typedef int (*cs_store_pushed_fn)(void *ctx, const struct addr_prefix *p, int64_t until);

/* Every stored decision (rows that do not parse are skipped). Returns 0 or -errno. */
int cs_store_decisions(struct cs_store *cs, cs_store_decision_fn fn, void *ctx);
int cs_store_decision_put(struct cs_store *cs, int64_t id, const struct addr_prefix *p,
			  int64_t until, const char *origin, int scope);
int cs_store_decision_delete(struct cs_store *cs, int64_t id);

int cs_store_pushed(struct cs_store *cs, cs_store_pushed_fn fn, void *ctx);
int cs_store_pushed_put(struct cs_store *cs, const struct addr_prefix *p, int64_t until);
int cs_store_pushed_delete(struct cs_store *cs, const struct addr_prefix *p);

/*
 * The push queue across a restart: put at stop (in order), taken (read and
 * emptied) at start.
 */
typedef int (*cs_store_queued_fn)(void *ctx, const struct addr_prefix *p, const char *table,
				  int64_t evidence_id, int64_t added);
int cs_store_queue_put(struct cs_store *cs, int64_t pos, const struct addr_prefix *p,
		       const char *table, int64_t evidence_id, int64_t added);
int cs_store_queue_take(struct cs_store *cs, cs_store_queued_fn fn, void *ctx);

#endif /* __GREYWALL_CS_STORE_H */
