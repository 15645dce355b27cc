/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A hash map from a positive 64-bit id to a fixed-size value stored
 * inline: open addressing with linear probing and backward-shift deletion,
 * as addrmap is for addresses. The CrowdSec client keys decisions by the
 * LAPI's ids with it.
 */
#ifndef __GREYWALL_IDMAP_H
#define __GREYWALL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	unsigned char *slots;	/* capacity * slot_size bytes; key 0 = empty */
	size_t slot_size;	/* key + value, aligned */
	size_t value_size;
	size_t capacity;	/* power of two, or 0 */
	size_t count;
};

int idmap_init(struct idmap *m, size_t value_size);
void idmap_free(struct idmap *m);
/* The value for id (> 0), or NULL. */
void *idmap_get(const struct idmap *m, int64_t id);
/*
 * The value for id (> 0), created zero-filled if absent (*created set to
 * 1). NULL on allocation failure or id <= 0. Pointers stay valid until the
 * next insertion or deletion.
 */
void *idmap_put(struct idmap *m, int64_t id, int *created);
/* Returns 0, or -ENOENT. */
int idmap_delete(struct idmap *m, int64_t id);
/*
 * Iteration: `for (size_t i = 0; idmap_next(m, &i, &id, &value);)`.
 * Deleting during iteration is not allowed; collect ids first.
 */
int idmap_next(const struct idmap *m, size_t *pos, int64_t *id, void **value);
/* Bytes the slots take now. */
size_t idmap_bytes(const struct idmap *m);

#endif /* __GREYWALL_IDMAP_H */
