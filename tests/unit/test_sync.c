// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spamd sync's receiver (sync/sync.h): the replay window on greywall's
 * SENDER TLV, as a table of datagrams taken in order, the datagrams taken
 * lately by HMAC whoever sent them (seen.h), the reasons' names,
 * and what a reload counts as a changed sync block.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "config/config.h"
#include "sync/seen.h"
#include "sync/sync.h"

#define NOW 1800000000

struct window_case {
	const char *what;
	bool has_sender;
	uint32_t epoch, counter;
	int64_t sent; /* relative to NOW */
	int want;
};

/* One sender's datagrams in the order they arrive; each taken when it passes. */
static const struct window_case window_cases[] = {
    {"spamd's datagram (no SENDER) before any SENDER", false, 0, 0, 0, SYNC_OK},
    {"the first SENDER", true, 1000, 5, 0, SYNC_OK},
    {"the next counter", true, 1000, 6, 0, SYNC_OK},
    {"the same counter again: a replay", true, 1000, 6, 0, SYNC_REJECT_REPLAY},
    {"an earlier counter: a replay", true, 1000, 2, 0, SYNC_REJECT_REPLAY},
    {"a skipped counter (loss) passes", true, 1000, 9, 0, SYNC_OK},
    {"an earlier epoch, higher counter: a replay", true, 999, 100, 0, SYNC_REJECT_REPLAY},
    {"a later epoch restarts the counter", true, 1001, 0, 0, SYNC_OK},
    {"sent 61 s ago: stale", true, 1001, 1, -61, SYNC_REJECT_STALE},
    {"sent 60 s ago: within the window", true, 1001, 1, -60, SYNC_OK},
    {"sent 61 s ahead: stale", true, 1001, 2, 61, SYNC_REJECT_STALE},
    {"sent 60 s ahead: within the window", true, 1001, 2, 60, SYNC_OK},
    {"no SENDER from a sender that sent one", false, 0, 0, 0, SYNC_REJECT_NO_SENDER},
    {"a stale replay counts as stale", true, 1001, 2, -3600, SYNC_REJECT_STALE},
    {"the counter's last value", true, 1001, UINT32_MAX, 0, SYNC_OK},
    {"after it, only a later epoch", true, 1001, 0, 0, SYNC_REJECT_REPLAY},
    {"the later epoch", true, 1002, 0, 0, SYNC_OK},
};

static void test_window(void)
{
	struct sync_window w = {0};
	static struct sync_message msg;

	for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]); i++) {
		const struct window_case *c = &window_cases[i];
		int got;

		memset(&msg, 0, sizeof(msg));
		msg.has_sender = c->has_sender;
		msg.counter = c->counter;
		msg.sender.epoch = c->epoch;
		msg.sender.sent = (uint32_t)(NOW + c->sent);
		got = sync_window_check(&w, &msg, NOW);
		CHECK_INT(got, c->want, "%zu: %s: %s", i, c->what, sync_reject_name(got));
		if (got == SYNC_OK)
			sync_window_take(&w, &msg);
	}
	CHECK(w.has_window && w.epoch == 1002 && w.counter == 0, "the window ends at (1002, 0)");
}

static void test_names(void)
{
	CHECK_STR(sync_reject_name(SYNC_DROP_BAD_HMAC), "bad_hmac", "a wire reason's name");
	CHECK_STR(sync_reject_name(SYNC_REJECT_OWN), "own", "own");
	CHECK_STR(sync_reject_name(SYNC_REJECT_REPLAY), "replay", "replay");
	CHECK_STR(sync_reject_name(SYNC_REJECT_STALE), "stale", "stale");
	CHECK_STR(sync_reject_name(SYNC_REJECT_NO_SENDER), "no_sender", "no_sender");
	CHECK_STR(sync_reject_name(SYNC_REJECT_SENDERS_FULL), "senders_full", "senders_full");
	CHECK_STR(sync_reject_name(SYNC_REJECT__COUNT), "unknown", "past the last");
	CHECK_STR(sync_reject_name(-1), "unknown", "negative");
}

static int load(const char *text, struct config *cfg)
{
	char err[256];
	int ret = config_load_string("t.conf", text, cfg, err, sizeof(err));

	CHECK_INT(ret, 0, "loads: %s", err);
	return ret;
}

static void test_config_changed(void)
{
	static const char *const configs[] = {
	    "spamd { sync { peer 192.0.2.2 } }",
	    "spamd { sync { peer 192.0.2.3 } }",
	    "spamd { sync { peer { 192.0.2.2 192.0.2.3 } } }",
	    "spamd { sync { peer 192.0.2.2 listen 192.0.2.1 } }",
	    "spamd { sync { peer 192.0.2.2 listen 192.0.2.1 port 9000 } }",
	    "spamd { sync { peer 192.0.2.2 listen eth0 } }",
	    "spamd { sync { peer 192.0.2.2 key \"/k\" } }",
	    "spamd { sync { multicast eth0 } }",
	    "spamd { sync { multicast eth0 ttl 2 } }",
	    "spamd { sync { multicast eth0 group 233.252.0.1 } }",
	    "spamd { }",
	    "",
	};
	size_t n = sizeof(configs) / sizeof(configs[0]);
	struct config a, b;

	for (size_t i = 0; i < n; i++) {
		if (load(configs[i], &a))
			continue;
		for (size_t j = 0; j < n; j++) {
			bool same = i == j || (i >= n - 2 && j >= n - 2);

			if (load(configs[j], &b))
				continue;
			CHECK(sync_config_changed(&a, &b) == !same, "\"%s\" -> \"%s\": %s",
			      configs[i], configs[j], same ? "unchanged" : "changed");
			config_free(&b);
		}
		config_free(&a);
	}
}

/* A distinct 20-byte HMAC per i, as a keyed hash's output would be. */
static void hmac_of(uint32_t i, uint8_t out[20])
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;

	for (int b = 0; b < 20; b++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		out[b] = (uint8_t)(x >> 56);
	}
}

static void test_seen(void)
{
	struct sync_seen s;
	uint8_t h[20], other[20];
	bool all = true;
	int ret = 0;

	sync_seen_init(&s, 2 * SYNC_WINDOW_SECONDS);
	hmac_of(1, h);
	hmac_of(2, other);
	CHECK(!sync_seen_has(&s, h, NOW), "seen: an empty set has nothing");
	CHECK_INT(sync_seen_add(&s, h, NOW), 0, "seen: a datagram taken");
	CHECK(sync_seen_has(&s, h, NOW), "seen: the same HMAC again is seen");
	CHECK(sync_seen_has(&s, h, NOW + 2 * SYNC_WINDOW_SECONDS - 1),
	      "seen: still seen while its sent time could pass the window");
	CHECK(!sync_seen_has(&s, h, NOW + 2 * SYNC_WINDOW_SECONDS),
	      "seen: forgotten once the window would call it stale");
	CHECK(!sync_seen_has(&s, other, NOW), "seen: another HMAC is not");

	/* Many within the window: each remembered across the rebuilds. */
	for (uint32_t i = 10; i < 100010 && !ret; i++) {
		hmac_of(i, h);
		ret = sync_seen_add(&s, h, NOW + (i % 60));
	}
	CHECK_INT(ret, 0, "seen: 100000 datagrams within the window added");
	for (uint32_t i = 10; i < 100010; i++) {
		hmac_of(i, h);
		all &= sync_seen_has(&s, h, NOW + 60);
	}
	CHECK(all, "seen: every one of them is still seen");
	CHECK(s.cap <= 2 * (size_t)SYNC_SEEN_MAX && s.n <= s.cap / 2 + 1,
	      "seen: the table holds them at most half full (%zu in %zu)", s.n, s.cap);
	/* Much later: the old ones make room, the set does not grow. */
	{
		size_t cap = s.cap;

		for (uint32_t i = 200000; i < 300000 && !ret; i++) {
			hmac_of(i, h);
			ret = sync_seen_add(&s, h, NOW + 10000);
		}
		CHECK_INT(ret, 0, "seen: 100000 more, an hour later, added");
		CHECK(s.cap == cap, "seen: in the room the forgotten ones left (%zu, was %zu)", s.cap,
		      cap);
		hmac_of(10, h);
		CHECK(!sync_seen_has(&s, h, NOW + 10000), "seen: an old one is forgotten");
	}
	sync_seen_free(&s);

	/* Full: SYNC_SEEN_MAX within the window, and the next is refused, not let in. */
	sync_seen_init(&s, 2 * SYNC_WINDOW_SECONDS);
	ret = 0;
	for (uint32_t i = 0; i < SYNC_SEEN_MAX && !ret; i++) {
		hmac_of(1000000 + i, h);
		ret = sync_seen_add(&s, h, NOW);
	}
	CHECK_INT(ret, 0, "seen: SYNC_SEEN_MAX datagrams fit");
	hmac_of(5000000, h);
	CHECK_INT(sync_seen_add(&s, h, NOW), -ENOSPC, "seen: one more within the window is refused");
	CHECK(s.cap == 2 * (size_t)SYNC_SEEN_MAX, "seen: the table stopped at its bound (%zu slots)",
	      s.cap);
	CHECK_INT(sync_seen_add(&s, h, NOW + 2 * SYNC_WINDOW_SECONDS), 0,
		  "seen: once the others are forgotten it is taken");
	sync_seen_free(&s);
}

int main(void)
{
	test_window();
	test_seen();
	test_names();
	test_config_changed();
	return check_done();
}
