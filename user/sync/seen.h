/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The datagrams taken lately, by their HMAC, whoever sent them: a replay
 * window kept per sender address alone could be passed by replaying a
 * datagram from a forged source address the receiver has not heard yet.
 * A datagram with greywall's SENDER trailer is taken at most once within
 * the time its sent time is accepted (sync.h's SYNC_WINDOW_SECONDS either
 * side of the clock); older ones are rejected as stale anyway, so they are
 * forgotten.
 *
 * Bounded: at most SYNC_SEEN_MAX datagrams are remembered (16 bytes a
 * slot, at least half the slots free: 64 MiB at the most, as the rate
 * needs it); when that many were taken within the
 * window the set is full and sync_seen_add() refuses, the caller counts
 * and rejects: a replay is never let through for want of room.
 */
#ifndef __GREYWALL_SYNC_SEEN_H
#define __GREYWALL_SYNC_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 17,000 datagrams a second, each held for two minutes: past what one
 * receiver applies (bench/sync.sh) and a tarpit sends. */
#define SYNC_SEEN_MAX (1u << 21)

struct sync_seen {
	uint64_t *keys;	 /* 0: a free slot */
	int64_t *times;
	size_t cap;	 /* a power of two; 0 before the first add */
	size_t n;
	int64_t keep;	 /* seconds a datagram is remembered */
};

/* keep: how long a datagram is remembered, in seconds. */
void sync_seen_init(struct sync_seen *s, int64_t keep);
void sync_seen_free(struct sync_seen *s);
/*
 * Whether a datagram with this HMAC (its first 8 bytes are the key) was
 * taken within keep seconds before now.
 */
bool sync_seen_has(const struct sync_seen *s, const uint8_t *hmac, int64_t now);
/*
 * Remember it at now. Returns 0, or -ENOSPC when SYNC_SEEN_MAX datagrams
 * are remembered and none is old enough to forget, -ENOMEM.
 */
int sync_seen_add(struct sync_seen *s, const uint8_t *hmac, int64_t now);

#endif /* __GREYWALL_SYNC_SEEN_H */
