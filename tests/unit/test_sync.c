// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spamd sync's receiver (sync/sync.h): the replay window on greywall's
 * SENDER TLV, as a table of datagrams taken in order, the reasons' names,
 * and what a reload counts as a changed sync block.
 */
#include <string.h>

#include "check.h"
#include "config/config.h"
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

int main(void)
{
	test_window();
	test_names();
	test_config_changed();
	return check_done();
}
