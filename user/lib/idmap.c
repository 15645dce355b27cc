// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* A hash map from positive 64-bit ids to inline values (idmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/idmap.h"

#define IDMAP_FIRST 64

static size_t slot_size_for(size_t value_size)
{
	return (sizeof(int64_t) + value_size + 7) & ~(size_t)7;
}

int idmap_init(struct idmap *m, size_t value_size)
{
	memset(m, 0, sizeof(*m));
	m->value_size = value_size;
	m->slot_size = slot_size_for(value_size);
	return 0;
}

void idmap_free(struct idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->capacity = m->count = 0;
}

static unsigned char *slot(const struct idmap *m, size_t i)
{
	return m->slots + i * m->slot_size;
}

static int64_t slot_id(const struct idmap *m, size_t i)
{
	int64_t id;

	memcpy(&id, slot(m, i), sizeof(id));
	return id;
}

/* splitmix64's finaliser: ids come in order, the slots must not. */
static size_t home(const struct idmap *m, int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x & (m->capacity - 1);
}

void *idmap_get(const struct idmap *m, int64_t id)
{
	if (id <= 0 || !m->capacity)
		return NULL;
	for (size_t i = home(m, id);; i = (i + 1) & (m->capacity - 1)) {
		int64_t k = slot_id(m, i);

		if (k == id)
			return slot(m, i) + sizeof(int64_t);
		if (k == 0)
			return NULL;
	}
}

static int grow(struct idmap *m)
{
	size_t cap = m->capacity ? m->capacity * 2 : IDMAP_FIRST;
	struct idmap bigger = *m;

	if (cap > SIZE_MAX / m->slot_size)
		return -ENOMEM;
	bigger.slots = calloc(cap, m->slot_size);
	if (!bigger.slots)
		return -ENOMEM;
	bigger.capacity = cap;
	bigger.count = 0;
	for (size_t i = 0; i < m->capacity; i++) {
		int64_t k = slot_id(m, i);
		int created;
		void *v;

		if (!k)
			continue;
		v = idmap_put(&bigger, k, &created);
		memcpy(v, slot(m, i) + sizeof(int64_t), m->value_size);
	}
	free(m->slots);
	*m = bigger;
	return 0;
}

void *idmap_put(struct idmap *m, int64_t id, int *created)
{
	*created = 0;
	if (id <= 0)
		return NULL;
	/* At most 3/4 full. */
	if ((m->count + 1) * 4 > m->capacity * 3 && grow(m))
		return NULL;
	for (size_t i = home(m, id);; i = (i + 1) & (m->capacity - 1)) {
		int64_t k = slot_id(m, i);

		if (k == id)
			return slot(m, i) + sizeof(int64_t);
		if (k == 0) {
			memcpy(slot(m, i), &id, sizeof(id));
			memset(slot(m, i) + sizeof(int64_t), 0, m->value_size);
			m->count++;
			*created = 1;
			return slot(m, i) + sizeof(int64_t);
		}
	}
}

int idmap_delete(struct idmap *m, int64_t id)
{
	size_t mask = m->capacity - 1, i, j;

	if (id <= 0 || !m->capacity)
		return -ENOENT;
	for (i = home(m, id);; i = (i + 1) & mask) {
		int64_t k = slot_id(m, i);

		if (k == id)
			break;
		if (k == 0)
			return -ENOENT;
	}
	/* Backward shift: move later members of the run into the hole. */
	for (j = (i + 1) & mask;; j = (j + 1) & mask) {
		int64_t k = slot_id(m, j);
		size_t h;

		if (k == 0)
			break;
		h = home(m, k);
		/* k may move to i if its home is not in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			memcpy(slot(m, i), slot(m, j), m->slot_size);
			i = j;
		}
	}
	memset(slot(m, i), 0, m->slot_size);
	m->count--;
	return 0;
}

int idmap_next(const struct idmap *m, size_t *pos, int64_t *id, void **value)
{
	for (; *pos < m->capacity; (*pos)++) {
		int64_t k = slot_id(m, *pos);

		if (k) {
			*id = k;
			*value = slot(m, *pos) + sizeof(int64_t);
			(*pos)++;
			return 1;
		}
	}
	return 0;
}

size_t idmap_bytes(const struct idmap *m)
{
	return m->capacity * m->slot_size;
}
