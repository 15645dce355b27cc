// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Every prefix (0..128 bytes) of several base packets (all TCP or UDP),
 * under three rule sets. The expectations, derived from each packet's
 * layout:
 *  - before the IP header (with its options) is complete: XDP_PASS, counted
 *    in GW_STAT_UNPARSED (the kernel drops what is left of the packet);
 *  - from there until the whole L4 header is there: XDP_DROP whatever the
 *    rules, counted by one of the scrub's reasons (scrub.c);
 *  - with the whole header: XDP_PASS without rules, XDP_DROP under "block
 *    from <block>" with the source listed and under "block port 25";
 *  - the TC program always returns TC_ACT_OK.
 * Frames shorter than an Ethernet header (0..13 bytes) never reach the
 * program: BPF_PROG_TEST_RUN refuses them with EINVAL (as drivers do not
 * deliver them), which is asserted instead. The same holds for TC, which
 * also refuses an IPv4/IPv6 skb too short for the IP header.
 * One check per base packet and rule set, naming the lengths that failed.
 */
#include <errno.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"

#define TRUNC_MAX 128

struct trunc_base {
	const char *desc;
	struct pkt_spec pkt;
	size_t ip_end;		/* offset where the IP header (with options) ends */
	size_t l4_hdr;		/* bytes of L4 header the parser needs */
};

static const struct trunc_base trunc_bases[] = {
	{ "tcp4 SYN", TCP4(.payload = 40), 14 + 20, 20 },
	{ "tcp4 with 12 option bytes in 802.1Q", TCP4(.ip_opts_len = 12, .nvlan = 1, .payload = 30),
	  18 + 32, 20 },
	{ "udp4 in 802.1ad + 802.1Q", UDP4(.dport = 25, .nvlan = 2, .payload = 40,
					   .vlan_tpid = { ETH_P_8021AD, ETH_P_8021Q }),
	  22 + 20, 8 },
	{ "tcp6 behind hop-by-hop and first fragment",
	  TCP6(.next = 2, .ext = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT }, .ext_frag = { 0, 1 }),
	  14 + 40, 20 },
	{ "udp6 plain", UDP6(.dport = 25, .payload = 60), 14 + 40, 8 },
	{ "tcp6 behind 16-byte dest options", TCP6(.next = 1, .ext = { IPPROTO_DSTOPTS },
						   .ext_len = { 1 }, .payload = 20),
	  14 + 40, 20 },
};

enum { SET_NONE, SET_SOURCE, SET_PORT, SET_MAX };
static const char *set_names[SET_MAX] = { "no rules", "block from <block>", "block port 25" };

static void append_len(char *buf, size_t cap, size_t len)
{
	size_t used = strlen(buf);

	if (used + 8 < cap)
		snprintf(buf + used, cap - used, " %zu", len);
}

SELFTEST(truncation)
{
	struct gw_rule source_rule = BLOCK_FROM(T_BLOCK);
	struct gw_rule port_rule = RULE(GW_ACT_BLOCK_DROP, .dport_lo = 25, .dport_hi = 25);

	for (size_t b = 0; b < sizeof(trunc_bases) / sizeof(trunc_bases[0]); b++) {
		const struct trunc_base *base = &trunc_bases[b];
		struct pkt_layout layout;
		uint8_t pkt[PKT_MAX];
		size_t full = pkt_build(&base->pkt, pkt, &layout);
		size_t l4_end = layout.l4_off + base->l4_hdr;
		char bad_tc[256] = "";

		CHECK(full > TRUNC_MAX / 2, "%s: builds (%zu bytes)", base->desc, full);
		for (int set = 0; set < SET_MAX; set++) {
			char bad[512] = "";

			for (size_t len = 0; len <= TRUNC_MAX && len <= full; len++) {
				int want, got;
				uint64_t unparsed = len < base->ip_end;
				uint64_t scrubbed = len >= base->ip_end && len < l4_end;

				fx_reset();
				fx_put("198.51.100.7", T_BLOCK);
				fx_put("2001:db8:1::7", T_BLOCK);
				if (set == SET_SOURCE)
					fx_rules(&source_rule, 1);
				else if (set == SET_PORT)
					fx_rules(&port_rule, 1);
				if (len < 14)
					want = -EINVAL;
				else if (len < base->ip_end)
					want = XDP_PASS;
				else if (scrubbed || set != SET_NONE)
					want = XDP_DROP;
				else
					want = XDP_PASS;
				got = fx_run_xdp(pkt, len, NULL, NULL);
				if (len < 14)
					unparsed = 0;
				if (got != want || fx_stat(GW_STAT_UNPARSED) != unparsed ||
				    fx_scrub_drops() != scrubbed ||
				    fx_stat(GW_STAT_PACKETS) != (len >= 14) ||
				    fx_stat(GW_STAT_NON_IP) != 0)
					append_len(bad, sizeof(bad), len);
				if (set == SET_NONE) {
					int tc = fx_run_tc(pkt, len);

					if (tc != TC_ACT_OK && (len >= base->ip_end || tc != -EINVAL))
						append_len(bad_tc, sizeof(bad_tc), len);
				}
			}
			CHECK(bad[0] == '\0', "%s, %s: every length 0..%zu as expected%s%s",
			      base->desc, set_names[set], full < TRUNC_MAX ? full : TRUNC_MAX,
			      bad[0] ? "; wrong at" : "", bad);
		}
		CHECK(bad_tc[0] == '\0', "%s: tc egress returns TC_ACT_OK at every length%s%s",
		      base->desc, bad_tc[0] ? "; not at" : "", bad_tc);
	}
}

/*
 * The shortest frames the program can see: an Ethernet header whose
 * ethertype promises more than follows. Unparsed, never non-IP.
 */
SELFTEST(truncation_bare_ethernet)
{
	static const uint16_t types[] = { ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD };
	struct gw_rule block_all = RULE(GW_ACT_BLOCK_DROP);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t frame[18] = { 0 };

		frame[12] = types[i] >> 8;
		frame[13] = types[i] & 0xff;
		frame[14] = 0x08;	/* a VLAN tag promising IPv4, then nothing */
		for (size_t len = 14; len <= 17; len++) {
			fx_reset();
			fx_rules(&block_all, 1);
			CHECK(fx_run_xdp(frame, len, NULL, NULL) == XDP_PASS &&
				      fx_stat(GW_STAT_UNPARSED) == 1 &&
				      fx_stat(GW_STAT_NON_IP) == 0 && fx_stat(GW_STAT_PASS) == 1,
			      "ethertype 0x%04x, %zu-byte frame: passes, UNPARSED", types[i], len);
		}
	}
}
