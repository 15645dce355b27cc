// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A watcher's bounded counting state (count.h).
 *
 * Sources and login names live in record pools of fixed stride: a pool
 * grows by doubling up to its limit and never past it, and a record keeps
 * its index for life, so the least-recently-seen order is an intrusive
 * doubly linked list of indexes that survives the pool's reallocation and
 * the address map's growth (addrmap moves its values; it holds only the
 * index here). Times are 32-bit offsets in seconds from an epoch a day
 * before the first time seen.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/addrmap.h"
#include "watch/count.h"
#include "watch/pattern.h"

#define NO_INDEX       UINT32_MAX
#define DAY_BUCKETS    24
#define BUCKET_SECONDS (WATCH_DAY / DAY_BUCKETS)
#define POOL_FIRST     256 /* records a pool starts with */

/* Every record begins with these: its place in the least-recently-seen list. */
struct lru_links {
	uint32_t prev; /* towards the most recently seen */
	uint32_t next; /* towards the least recently seen */
};

struct lru {
	uint32_t head; /* most recently seen */
	uint32_t tail; /* least recently seen: the next to be evicted */
};

/*
 * Records of one stride, indexes stable for life. Freed records (forget)
 * are chained through lru_links.next for reuse.
 */
struct pool {
	unsigned char *mem;
	size_t stride;
	uint32_t n;   /* records ever handed out (the high-water mark) */
	uint32_t cap; /* records allocated */
	uint32_t max;
	uint32_t used; /* live records */
	uint32_t free_head;
	struct lru lru;
};

/*
 * A source. The ring holds the times of its last failures, at most
 * `threshold`, oldest at ring_start. The day is DAY_BUCKETS hourly counts:
 * day[h % 24] counts the failures of hour h, for the hours hour-23..hour.
 */
struct source {
	struct lru_links links;
	struct addr_prefix addr;
	uint16_t ring_start;
	uint16_t ring_count;
	uint32_t first; /* first failure since the day's counts were last empty */
	uint32_t last;
	uint32_t hour; /* of the newest bucket */
	uint16_t day[DAY_BUCKETS];
	uint32_t ring[]; /* threshold entries */
};

/* A login name that is not a trap; sources holds keyed hashes of distinct addresses. */
struct user {
	struct lru_links links;
	uint32_t hash;
	uint32_t first;
	uint32_t last;
	uint32_t attempts;
	uint32_t nsources;
	uint32_t sources[WATCH_USER_SOURCES_MAX];
	char name[WATCH_USER_MAX + 1];
};

/*
 * The bounds count.h promises: a record rounded up to 8 bytes, plus the
 * index's share, whose load factor is above 5/16 once grown (32 bytes a
 * slot for sources: 3.2 slots at most; 4 bytes a slot for names, fewer
 * than 4 slots). Small maps start bigger than that: the fixed part pays.
 */
_Static_assert(sizeof(struct source) + 7 + 103 <= WATCH_SOURCE_BYTES(0), "source bound");
_Static_assert(sizeof(struct user) + 7 + 16 <= WATCH_USER_BYTES, "user bound");

struct watch_count {
	struct watch_count_limits lim;
	int64_t epoch; /* 0 until the first time is seen */
	uint64_t seed; /* keys the name and source hashes: a groper cannot aim at collisions */
	struct addrmap index; /* source address -> uint32 record index */
	struct pool sources;
	struct pool users;
	uint32_t *user_slots;  /* open addressing, linear probing: record index + 1, 0 empty */
	size_t user_slots_cap; /* a power of two, at least twice max_users */
	uint64_t sources_evicted;
	uint64_t users_evicted;
};

static void *pool_at(const struct pool *pl, uint32_t i)
{
	return pl->mem + (size_t)i * pl->stride;
}

static struct lru_links *links_of(const struct pool *pl, uint32_t i)
{
	return pool_at(pl, i);
}

static void lru_unlink(struct pool *pl, uint32_t i)
{
	struct lru_links *l = links_of(pl, i);

	if (l->prev != NO_INDEX)
		links_of(pl, l->prev)->next = l->next;
	else
		pl->lru.head = l->next;
	if (l->next != NO_INDEX)
		links_of(pl, l->next)->prev = l->prev;
	else
		pl->lru.tail = l->prev;
}

static void lru_push_front(struct pool *pl, uint32_t i)
{
	struct lru_links *l = links_of(pl, i);

	l->prev = NO_INDEX;
	l->next = pl->lru.head;
	if (pl->lru.head != NO_INDEX)
		links_of(pl, pl->lru.head)->prev = i;
	else
		pl->lru.tail = i;
	pl->lru.head = i;
}

/* Seen now: to the front of the list. */
static void lru_touch(struct pool *pl, uint32_t i)
{
	if (pl->lru.head == i)
		return;
	lru_unlink(pl, i);
	lru_push_front(pl, i);
}

static void pool_init(struct pool *pl, size_t stride, size_t max)
{
	memset(pl, 0, sizeof(*pl));
	pl->stride = (stride + 7) & ~(size_t)7;
	pl->max = (uint32_t)max;
	pl->free_head = NO_INDEX;
	pl->lru.head = pl->lru.tail = NO_INDEX;
}

/* Full: a new key first evicts the least recently seen, pool_oldest(). */
static bool pool_full(const struct pool *pl)
{
	return pl->free_head == NO_INDEX && pl->n == pl->max;
}

static uint32_t pool_oldest(const struct pool *pl)
{
	return pl->lru.tail;
}

/*
 * A record for a new key, zeroed and at the front of the list: a freed one
 * or a new one (the caller evicts first when the pool is full). Returns its
 * index, or NO_INDEX when memory ran out.
 */
static uint32_t pool_take(struct pool *pl)
{
	uint32_t i;

	if (pl->free_head != NO_INDEX) {
		i = pl->free_head;
		pl->free_head = links_of(pl, i)->next;
	} else if (pl->n < pl->max) {
		if (pl->n == pl->cap) {
			/* Doubling, but never past max: the bound is the pool's size. */
			uint32_t cap = !pl->cap		       ? POOL_FIRST
				       : pl->cap > pl->max / 2 ? pl->max
							       : pl->cap * 2;
			unsigned char *mem;

			if (cap > pl->max)
				cap = pl->max;
			mem = realloc(pl->mem, (size_t)cap * pl->stride);
			if (!mem)
				return NO_INDEX;
			pl->mem = mem;
			pl->cap = cap;
		}
		i = pl->n++;
	} else {
		return NO_INDEX;
	}
	memset(pool_at(pl, i), 0, pl->stride);
	lru_push_front(pl, i);
	pl->used++;
	return i;
}

static void pool_release(struct pool *pl, uint32_t i)
{
	lru_unlink(pl, i);
	links_of(pl, i)->next = pl->free_head;
	pl->free_head = i;
	pl->used--;
}

static size_t pool_bytes(const struct pool *pl)
{
	return (size_t)pl->cap * pl->stride;
}

static size_t source_stride(uint32_t threshold)
{
	return sizeof(struct source) + (size_t)threshold * sizeof(uint32_t);
}

static size_t next_pow2(size_t n)
{
	size_t p = 16;

	while (p < n)
		p *= 2;
	return p;
}

int watch_count_new(struct watch_count **out, const struct watch_count_limits *lim)
{
	struct watch_count *c;

	if (lim->threshold > WATCH_THRESHOLD_MAX || (lim->threshold && !lim->window) ||
	    !lim->max_sources || lim->max_sources >= NO_INDEX || !lim->max_users ||
	    lim->max_users >= NO_INDEX / 2)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lim = *lim;
	/* Without randomness the hashes are still correct, only predictable. */
	if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) != sizeof(c->seed))
		c->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
	pool_init(&c->sources, source_stride(lim->threshold), lim->max_sources);
	pool_init(&c->users, sizeof(struct user), lim->max_users);
	c->user_slots_cap = next_pow2(lim->max_users * 2);
	c->user_slots = calloc(c->user_slots_cap, sizeof(*c->user_slots));
	if (!c->user_slots || addrmap_init(&c->index, sizeof(uint32_t))) {
		free(c->user_slots);
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void watch_count_free(struct watch_count *c)
{
	if (!c)
		return;
	addrmap_free(&c->index);
	free(c->sources.mem);
	free(c->users.mem);
	free(c->user_slots);
	free(c);
}

/* now as an offset from the epoch, which the first call sets a day back. */
static uint32_t offset_of(struct watch_count *c, int64_t now)
{
	if (!c->epoch)
		c->epoch = now - WATCH_DAY;
	/* Not 0: a record's first failure at 0 would read as none. */
	if (now <= c->epoch)
		return 1;
	if (now - c->epoch > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(now - c->epoch);
}

/* An offset as the caller's time; the const listings convert without setting the epoch. */
static int64_t time_of(const struct watch_count *c, uint32_t off)
{
	return c->epoch + off;
}

static uint32_t offset_now(const struct watch_count *c, int64_t now)
{
	if (!c->epoch || now < c->epoch)
		return 0;
	return now - c->epoch > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - c->epoch);
}

/*
 * Failures of the day at hour `hour`: the buckets of hours hour-23..hour
 * that the source has (its newest is s->hour).
 */
static uint32_t day_count(const struct source *s, uint32_t hour)
{
	uint32_t sum = 0, age = hour > s->hour ? hour - s->hour : 0;

	if (!s->first || age >= DAY_BUCKETS)
		return 0;
	for (uint32_t k = 0; k < DAY_BUCKETS - age; k++)
		sum += s->day[(s->hour + DAY_BUCKETS - k) % DAY_BUCKETS];
	return sum;
}

static void day_add(struct source *s, uint32_t off)
{
	uint32_t hour = off / BUCKET_SECONDS;

	if (!s->first || hour - s->hour >= DAY_BUCKETS) {
		memset(s->day, 0, sizeof(s->day));
		s->first = off;
	} else {
		for (uint32_t h = s->hour + 1; h <= hour; h++)
			s->day[h % DAY_BUCKETS] = 0;
	}
	s->hour = hour;
	if (s->day[hour % DAY_BUCKETS] < UINT16_MAX)
		s->day[hour % DAY_BUCKETS]++;
}

/* Failures of the ring within the window ending at off (newer than off - window). */
static uint32_t in_window(const struct watch_count *c, const struct source *s, uint32_t off)
{
	uint32_t n = 0;

	for (uint32_t k = s->ring_count; k > 0; k--) {
		uint32_t t = s->ring[(s->ring_start + k - 1) % c->lim.threshold];

		if (off - t >= c->lim.window)
			break;
		n++;
	}
	return n;
}

static struct source *source_find(const struct watch_count *c, const struct addr_prefix *src,
				  uint32_t *index)
{
	uint32_t *i = addrmap_get(&c->index, src);

	if (!i)
		return NULL;
	*index = *i;
	return pool_at(&c->sources, *i);
}

static struct source *source_get(struct watch_count *c, const struct addr_prefix *src)
{
	uint32_t index, *slot;
	struct source *s = source_find(c, src, &index);
	int created;

	if (s) {
		lru_touch(&c->sources, index);
		return s;
	}
	if (pool_full(&c->sources)) {
		index = pool_oldest(&c->sources);
		addrmap_delete(&c->index, &((struct source *)pool_at(&c->sources, index))->addr);
		pool_release(&c->sources, index);
		c->sources_evicted++;
	}
	index = pool_take(&c->sources);
	if (index == NO_INDEX)
		return NULL;
	slot = addrmap_put(&c->index, src, &created);
	if (!slot) {
		pool_release(&c->sources, index);
		return NULL;
	}
	*slot = index;
	s = pool_at(&c->sources, index);
	s->addr = *src;
	return s;
}

int watch_count_failure(struct watch_count *c, const struct addr_prefix *src, int64_t now,
			int64_t *times)
{
	uint32_t off = offset_of(c, now), thr = c->lim.threshold;
	struct source *s = source_get(c, src);

	if (!s)
		return -ENOMEM;
	if (s->first && off < s->last)
		off = s->last;
	s->last = off;
	day_add(s, off);
	if (!thr)
		return 0;
	if (s->ring_count == thr) {
		s->ring_start = (uint16_t)((s->ring_start + 1) % thr);
		s->ring_count--;
	}
	s->ring[(s->ring_start + s->ring_count) % thr] = off;
	s->ring_count++;
	if (s->ring_count < thr || off - s->ring[s->ring_start] >= c->lim.window)
		return 0;
	for (uint32_t k = 0; k < thr; k++)
		times[k] = time_of(c, s->ring[(s->ring_start + k) % thr]);
	s->ring_count = 0;
	s->ring_start = 0;
	return 1;
}

void watch_count_forget(struct watch_count *c, const struct addr_prefix *src)
{
	uint32_t index;

	if (!source_find(c, src, &index))
		return;
	addrmap_delete(&c->index, src);
	pool_release(&c->sources, index);
}

/* FNV-1a from the seed, then a final mix: the same hash for names and addresses. */
static uint32_t keyed_hash(const struct watch_count *c, const void *data, size_t len)
{
	const unsigned char *b = data;
	uint64_t h = 1469598103934665603ULL ^ c->seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* A name lower-cased (ASCII) into buf, cut to WATCH_USER_MAX. Returns its length. */
static size_t name_fold(const char *name, char *buf)
{
	size_t n = 0;

	for (; name[n] && n < WATCH_USER_MAX; n++)
		buf[n] = (name[n] >= 'A' && name[n] <= 'Z') ? (char)(name[n] - 'A' + 'a') : name[n];
	buf[n] = '\0';
	return n;
}

static struct user *user_at(const struct watch_count *c, uint32_t i)
{
	return pool_at(&c->users, i);
}

/* The slot holding the folded name, or the empty slot where it would go. */
static size_t user_slot(const struct watch_count *c, const char *folded, uint32_t hash)
{
	size_t mask = c->user_slots_cap - 1, i = hash & mask;

	for (; c->user_slots[i]; i = (i + 1) & mask) {
		const struct user *u = user_at(c, c->user_slots[i] - 1);

		if (u->hash == hash && !strcmp(u->name, folded))
			break;
	}
	return i;
}

/* Backward-shift deletion, as addrmap does: no tombstones to lengthen probes. */
static void user_drop(struct watch_count *c, uint32_t index)
{
	const struct user *u = user_at(c, index);
	size_t mask = c->user_slots_cap - 1, i = user_slot(c, u->name, u->hash), j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!c->user_slots[j])
			break;
		home = user_at(c, c->user_slots[j] - 1)->hash & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			c->user_slots[i] = c->user_slots[j];
			i = j;
		}
	}
	c->user_slots[i] = 0;
	pool_release(&c->users, index);
}

int watch_count_user(struct watch_count *c, const char *name, const struct addr_prefix *src,
		     int64_t now)
{
	char folded[WATCH_USER_MAX + 1];
	size_t len = name_fold(name, folded), slot;
	uint32_t hash, off, index, source;
	struct user *u;

	if (!len)
		return -EINVAL;
	off = offset_of(c, now);
	hash = keyed_hash(c, folded, len);
	slot = user_slot(c, folded, hash);
	if (c->user_slots[slot]) {
		index = c->user_slots[slot] - 1;
		lru_touch(&c->users, index);
		u = user_at(c, index);
		if (off < u->last)
			off = u->last;
		/* A day after its first attempt, a name's counts start anew. */
		if (off - u->first >= WATCH_DAY) {
			u->first = off;
			u->attempts = 0;
			u->nsources = 0;
		}
	} else {
		if (pool_full(&c->users)) {
			user_drop(c, pool_oldest(&c->users));
			c->users_evicted++;
			slot = user_slot(c, folded, hash);
		}
		index = pool_take(&c->users);
		if (index == NO_INDEX)
			return -ENOMEM;
		u = user_at(c, index);
		u->hash = hash;
		u->first = off;
		memcpy(u->name, folded, len + 1);
		c->user_slots[slot] = index + 1;
	}
	u->last = off;
	if (u->attempts < UINT32_MAX)
		u->attempts++;
	source = keyed_hash(c, src, sizeof(*src));
	for (uint32_t k = 0; k < u->nsources; k++)
		if (u->sources[k] == source)
			return 0;
	if (u->nsources < WATCH_USER_SOURCES_MAX)
		u->sources[u->nsources++] = source;
	return 0;
}

void watch_count_user_forget(struct watch_count *c, const char *name)
{
	char folded[WATCH_USER_MAX + 1];
	size_t len = name_fold(name, folded), slot;

	if (!len)
		return;
	slot = user_slot(c, folded, keyed_hash(c, folded, len));
	if (c->user_slots[slot])
		user_drop(c, c->user_slots[slot] - 1);
}

/* One line of a listing, sorted by count (descending), then the latest first. */
struct ranked {
	uint32_t count;
	uint32_t last;
	uint32_t index;
};

static int ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sort the n ranked records; how many to hand out, at most max. Without
 * memory for the sort (n is at most a pool's size) none; the total still counts.
 */
static size_t ranked_sort(struct ranked *r, size_t n, size_t max)
{
	if (!r)
		return 0;
	qsort(r, n, sizeof(*r), ranked_cmp);
	return n < max ? n : max;
}

size_t watch_count_sources(const struct watch_count *c, int64_t now, bool window_only, size_t max,
			   void (*fn)(const struct watch_count_source *s, void *ctx), void *ctx)
{
	uint32_t off = offset_now(c, now), thr = c->lim.threshold;
	struct ranked *r = malloc((c->sources.used ?: 1) * sizeof(*r));
	const struct addr_prefix *key;
	size_t n = 0, shown;
	void *value;

	for (size_t pos = 0; addrmap_next(&c->index, &pos, &key, &value);) {
		uint32_t index = *(uint32_t *)value;
		const struct source *s = pool_at(&c->sources, index);
		uint32_t win = thr ? in_window(c, s, off) : 0;
		uint32_t day = day_count(s, off / BUCKET_SECONDS);

		if ((window_only ? !win : !day) || (thr && win >= thr))
			continue;
		if (r)
			r[n] = (struct ranked){window_only ? win : day, s->last, index};
		n++;
	}
	shown = ranked_sort(r, n, max);
	for (size_t k = 0; k < shown; k++) {
		const struct source *s = pool_at(&c->sources, r[k].index);
		uint32_t oldest = (off / BUCKET_SECONDS - (DAY_BUCKETS - 1)) * BUCKET_SECONDS;
		struct watch_count_source out = {
		    .addr = s->addr,
		    .in_window = thr ? in_window(c, s, off) : 0,
		    .day = day_count(s, off / BUCKET_SECONDS),
		    /* An older first failure has left the day: its oldest hour stands for it. */
		    .first = time_of(c, s->first > oldest ? s->first : oldest),
		    .last = time_of(c, s->last),
		};

		fn(&out, ctx);
	}
	free(r);
	return n;
}

size_t watch_count_users(const struct watch_count *c, int64_t now, uint32_t min_sources, size_t max,
			 void (*fn)(const struct watch_count_user *u, void *ctx), void *ctx)
{
	uint32_t off = offset_now(c, now);
	struct ranked *r = malloc((c->users.used ?: 1) * sizeof(*r));
	size_t n = 0, shown;

	for (size_t i = 0; i < c->user_slots_cap; i++) {
		const struct user *u;

		if (!c->user_slots[i])
			continue;
		u = user_at(c, c->user_slots[i] - 1);
		if (u->nsources < min_sources || (off > u->last && off - u->last >= WATCH_DAY))
			continue;
		if (r)
			r[n] = (struct ranked){u->nsources, u->last, c->user_slots[i] - 1};
		n++;
	}
	shown = ranked_sort(r, n, max);
	for (size_t k = 0; k < shown; k++) {
		const struct user *u = user_at(c, r[k].index);
		struct watch_count_user out = {
		    .name = u->name,
		    .sources = u->nsources,
		    .attempts = u->attempts,
		    .first = time_of(c, u->first),
		    .last = time_of(c, u->last),
		};

		fn(&out, ctx);
	}
	free(r);
	return n;
}

void watch_count_stats(const struct watch_count *c, struct watch_count_stats *out)
{
	size_t fixed = sizeof(*c) + c->user_slots_cap * sizeof(*c->user_slots);

	out->sources = c->sources.used;
	out->users = c->users.used;
	out->sources_evicted = c->sources_evicted;
	out->users_evicted = c->users_evicted;
	out->memory = fixed + pool_bytes(&c->sources) + pool_bytes(&c->users) +
		      c->index.capacity * c->index.slot_size;
	out->memory_max = fixed + (size_t)c->sources.max * c->sources.stride +
			  (size_t)c->users.max * c->users.stride +
			  addrmap_bytes_for(sizeof(uint32_t), c->sources.max);
}
