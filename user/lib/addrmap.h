/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A hash map from struct addr_prefix to a fixed-size value stored inline:
 * open addressing with linear probing and backward-shift deletion, so a
 * million entries cost one allocation and no per-entry malloc. And a
 * growable list of addresses.
 */
#ifndef __GREYWALL_ADDRMAP_H
#define __GREYWALL_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

struct addrmap {
	unsigned char *slots;	/* capacity * slot_size bytes */
	size_t slot_size;	/* used flag + key + value, aligned */
	size_t value_size;
	size_t capacity;	/* power of two */
	size_t count;
};

int addrmap_init(struct addrmap *m, size_t value_size);
void addrmap_free(struct addrmap *m);
/* The value for p, or NULL. */
void *addrmap_get(const struct addrmap *m, const struct addr_prefix *p);
/*
 * The value for p, created zero-filled if absent (*created set to 1).
 * Returns NULL on allocation failure. Pointers stay valid until the next
 * insertion or deletion.
 */
void *addrmap_put(struct addrmap *m, const struct addr_prefix *p, int *created);
/* Start loading p's slot into the cache: for loops that probe many keys. */
void addrmap_prefetch(const struct addrmap *m, const struct addr_prefix *p);
/* Make room for `more` further entries without growing on the way. */
int addrmap_reserve(struct addrmap *m, size_t more);
/*
 * Bytes of slots a map of value_size values holds once it has grown to
 * `entries` entries: a bound for callers that cap their entries.
 */
size_t addrmap_bytes_for(size_t value_size, size_t entries);
/*
 * Where the slots lie, page-aligned inward, for addrmap_populate(): taken
 * before another thread populates them, as the map may move afterwards.
 */
struct addrmap_pages {
	void *start;
	size_t len;
};
struct addrmap_pages addrmap_pages(const struct addrmap *m);
/*
 * Fault the pages in now, writable, without touching their contents: safe
 * on another thread while this one fills the map (if the map moves, the
 * old pages are populated for nothing). Returns 0 or -errno.
 */
int addrmap_populate(struct addrmap_pages pages);
/* Returns 0, or -ENOENT. */
int addrmap_delete(struct addrmap *m, const struct addr_prefix *p);
void addrmap_clear(struct addrmap *m);

/*
 * Iteration: `for (size_t i = 0; addrmap_next(m, &i, &key, &value);)`.
 * Deleting the entry just returned is not allowed during iteration;
 * collect keys first.
 */
int addrmap_next(const struct addrmap *m, size_t *pos, const struct addr_prefix **key,
		 void **value);

/* A growable array of addresses/prefixes, in the order they were pushed. */
struct addr_list {
	struct addr_prefix *items;
	size_t n, cap;
};

/* Make room for `more` further items. Returns 0 or -ENOMEM. */
int addr_list_reserve(struct addr_list *l, size_t more);
int addr_list_push(struct addr_list *l, const struct addr_prefix *p);
/* Free the items; the list is empty and usable again. */
void addr_list_free(struct addr_list *l);

#endif /* __GREYWALL_ADDRMAP_H */
