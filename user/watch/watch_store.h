/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the log watchers keep in the store, in tables of their own on the
 * store's connection: where each watcher's files and journal stopped, and
 * the login names `greywallctl watch add-traps` made traps.
 */
#ifndef __GREYWALL_WATCH_STORE_H
#define __GREYWALL_WATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "watch/follow.h"

struct store;
struct trap_set;
struct watch_store;

int watch_store_open(struct store *st, struct watch_store **out);
void watch_store_close(struct watch_store *ws);

/* A file's position (key: watcher and path). -ENOENT when none is kept. */
int watch_store_get_file(struct watch_store *ws, const char *watcher, const char *path,
			 struct follow_pos *pos);
int watch_store_put_file(struct watch_store *ws, const char *watcher, const char *path,
			 const struct follow_pos *pos);
/* A journal's cursor. -ENOENT when none is kept. */
int watch_store_get_cursor(struct watch_store *ws, const char *watcher, char *cursor,
			   size_t len);
int watch_store_put_cursor(struct watch_store *ws, const char *watcher, const char *cursor);

/* Add every promoted trap name to set. */
int watch_store_traps_load(struct watch_store *ws, struct trap_set *set);
/* Promote a name (normalised). 1 when new, 0 when it was a trap already. */
int watch_store_trap_add(struct watch_store *ws, const char *name, int64_t now);

#endif /* __GREYWALL_WATCH_STORE_H */
