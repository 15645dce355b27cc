// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sk_lookup on the daemon's network namespace: a new SMTP connection from a
 * source that is not in a pass table (<spamd-white>, <nospamd>), or that is
 * in a tarpit table (<spamd-greytrap>) whatever else holds it, is handed
 * to the tarpit's listener; every other lookup goes on as if this program
 * were not there, so the real MTA keeps the same port. No NAT, no port
 * rewriting: the tarpit sees the client's own addresses.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "greywall.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"

/* The socket families of struct bpf_sk_lookup (no libc headers here). */
#define GW_AF_INET 2
#define GW_AF_INET6 10

/* Every namespace numbers its loopback device 1. */
#define GW_LOOPBACK_IFINDEX 1

/*
 * Mail the host sends itself (local submission, cron) is not SMTP from the
 * Internet; spamd(8) sees only what PF diverts on egress. The kernel
 * delivers it on loopback, or, to an address of another interface, from
 * that very address and with that interface as ingress. A SYN from the
 * wire that forges our own address as its source gains nothing: the
 * SYN-ACK comes back to us, so no SMTP dialogue can follow.
 */
static __always_inline int gw_from_self(const struct bpf_sk_lookup *ctx)
{
	if (ctx->ingress_ifindex == GW_LOOPBACK_IFINDEX)
		return 1;
	if (ctx->family == GW_AF_INET)
		return ctx->remote_ip4 == ctx->local_ip4;
	return ctx->remote_ip6[0] == ctx->local_ip6[0] && ctx->remote_ip6[1] == ctx->local_ip6[1] &&
	       ctx->remote_ip6[2] == ctx->local_ip6[2] && ctx->remote_ip6[3] == ctx->local_ip6[3];
}

SEC("sk_lookup")
int greywall_sk_lookup(struct bpf_sk_lookup *ctx)
{
	__u64 port = gw_config_get(GW_CFG_SPAMD_PORT);
	struct gw_member src;
	struct gw_addr addr;
	struct bpf_sock *sk;
	__u32 slot;
	__u8 family;
	long err;

	if (!port || ctx->protocol != IPPROTO_TCP || ctx->local_port != port)
		return SK_PASS;
	if (gw_from_self(ctx)) {
		gw_stat_inc(GW_STAT_STEER_LOCAL);
		return SK_PASS;
	}
	if (ctx->family == GW_AF_INET) {
		gw_addr_from_ipv4(&addr, ctx->remote_ip4);
		family = 4;
		slot = GW_TARPIT_INET;
	} else if (ctx->family == GW_AF_INET6) {
		struct in6_addr v6;

		/* Context fields are read one load each; the helper wants memory. */
		v6.in6_u.u6_addr32[0] = ctx->remote_ip6[0];
		v6.in6_u.u6_addr32[1] = ctx->remote_ip6[1];
		v6.in6_u.u6_addr32[2] = ctx->remote_ip6[2];
		v6.in6_u.u6_addr32[3] = ctx->remote_ip6[3];
		gw_addr_from_ipv6(&addr, &v6);
		family = 6;
		slot = GW_TARPIT_INET6;
	} else {
		return SK_PASS;
	}
	/*
	 * Nothing is counted per entry here, so the index's table sets are
	 * enough: no trie walk for networks of counters tables.
	 */
	gw_lookup(&addr, family, gw_config_get(GW_CFG_FLAGS), 0, &src);
	gw_count_hit(NULL, &src);
	/*
	 * A trapped host stays in the tarpit inside a white network (a
	 * white-prefix entry made before, or beside, its trap).
	 */
	if ((src.tables & gw_config_get(GW_CFG_SPAMD_PASS_TABLES)) &&
	    !(src.tables & gw_config_get(GW_CFG_SPAMD_TARPIT_TABLES))) {
		gw_stat_inc(GW_STAT_STEER_PASS);
		return SK_PASS;
	}
	sk = bpf_map_lookup_elem(&GW_MAP_TARPIT, &slot);
	if (!sk) {
		/* The tarpit is restarting or not configured: the MTA answers. */
		gw_stat_inc(GW_STAT_STEER_NO_TARPIT);
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	gw_stat_inc(err ? GW_STAT_STEER_NO_TARPIT : GW_STAT_STEER_TARPIT);
	return SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
