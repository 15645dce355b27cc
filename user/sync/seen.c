// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The datagrams taken lately, by HMAC: an open-addressing set with linear
 * probing, emptied of what is older than keep whenever it is half full,
 * doubled when that frees too little. See seen.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync/seen.h"

#define SEEN_MIN_CAP 1024

static uint64_t key_of(const uint8_t *hmac)
{
	uint64_t k;

	memcpy(&k, hmac, sizeof(k));
	/* The HMAC is keyed: its bytes are as good as random; 0 marks a free slot. */
	return k ? k : 1;
}

void sync_seen_init(struct sync_seen *s, int64_t keep)
{
	memset(s, 0, sizeof(*s));
	s->keep = keep;
}

void sync_seen_free(struct sync_seen *s)
{
	free(s->keys);
	free(s->times);
	s->keys = NULL;
	s->times = NULL;
	s->cap = s->n = 0;
}

static bool fresh(const struct sync_seen *s, size_t i, int64_t now)
{
	return s->times[i] > now - s->keep;
}

bool sync_seen_has(const struct sync_seen *s, const uint8_t *hmac, int64_t now)
{
	uint64_t k = key_of(hmac);

	if (!s->cap)
		return false;
	for (size_t i = k & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->keys[i])
			return false;
		if (s->keys[i] == k)
			return fresh(s, i, now);
	}
}

static void put(uint64_t *keys, int64_t *times, size_t cap, uint64_t k, int64_t t)
{
	size_t i = k & (cap - 1);

	while (keys[i] && keys[i] != k)
		i = (i + 1) & (cap - 1);
	keys[i] = k;
	times[i] = t;
}

/* Into a table of cap slots, keeping what is fresh at now. */
static int rebuild(struct sync_seen *s, size_t cap, int64_t now)
{
	uint64_t *keys = calloc(cap, sizeof(*keys));
	int64_t *times = calloc(cap, sizeof(*times));
	size_t n = 0;

	if (!keys || !times) {
		free(keys);
		free(times);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->keys[i] && fresh(s, i, now)) {
			put(keys, times, cap, s->keys[i], s->times[i]);
			n++;
		}
	free(s->keys);
	free(s->times);
	s->keys = keys;
	s->times = times;
	s->cap = cap;
	s->n = n;
	return 0;
}

int sync_seen_add(struct sync_seen *s, const uint8_t *hmac, int64_t now)
{
	size_t fresh_n = 0, cap;
	int ret;

	if (s->n + 1 > s->cap / 2) {
		for (size_t i = 0; i < s->cap; i++)
			fresh_n += s->keys[i] && fresh(s, i, now);
		if (fresh_n + 1 > SYNC_SEEN_MAX)
			return -ENOSPC;
		/* Grow when more than a quarter stays: no rebuild every few adds. */
		cap = !s->cap ? SEEN_MIN_CAP : s->cap;
		if (fresh_n + 1 > cap / 4 && cap < 2 * (size_t)SYNC_SEEN_MAX)
			cap *= 2;
		ret = rebuild(s, cap, now);
		if (ret)
			return ret;
	}
	{
		uint64_t k = key_of(hmac);
		size_t i = k & (s->cap - 1);

		while (s->keys[i] && s->keys[i] != k)
			i = (i + 1) & (s->cap - 1);
		s->n += !s->keys[i];
		s->keys[i] = k;
		s->times[i] = now;
	}
	return 0;
}
