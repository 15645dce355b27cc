// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * SMTP steering (sk_lookup): a new TCP connection to the steered port from
 * a source outside the pass tables gets the tarpit listener of its family;
 * everything else is left to the normal lookup (the real MTA). And
 * spamlogd's half in TC egress: the SYNs this host sends to the SMTP port
 * record their destination, which steer_drain_outbound() hands out once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "cases.h"
#include "datapath/datapath.h"
#include "datapath/steer.h"

#define T_WHITE (1ULL << 2)	/* <spamd-white> */
#define T_NOSPAMD (1ULL << 3)	/* <nospamd> */
#define T_TRAP (1ULL << 4)	/* <spamd-greytrap>: the tarpit, pass tables or not */
#define T_NEITHER (1ULL << 5)	/* a table that is neither */
#define PASS_TABLES (T_WHITE | T_NOSPAMD)
#define TARPIT_TABLES T_TRAP

/* Which tarpit listeners a case provides. */
#define L4 (1 << 0)
#define L6 (1 << 1)

enum steer_to {
	TO_MTA = 0,		/* no socket chosen: the normal lookup decides */
	TO_TARPIT,		/* the tarpit listener of the connection's family */
};

struct steer_case {
	const char *desc;
	const char *src;	/* the connecting client; its family is the lookup's */
	uint16_t local_port;
	int protocol;
	struct fx_entry before[4];
	uint16_t spamd_port;	/* GW_CFG_SPAMD_PORT */
	int listeners;		/* L4 | L6 */
	enum steer_to to;
	int stat;		/* the steering stat it counts, enum gw_stat + 1; 0: none */
};

#define STEER_STAT(s) ((int)(s) + 1)

static const struct steer_case steer_cases[] = {
	{ "unlisted ipv4 source goes to the tarpit", "198.51.100.7", 25, IPPROTO_TCP, {}, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "unlisted ipv6 source goes to the tarpit", "2001:db8:1::7", 25, IPPROTO_TCP, {}, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "ipv4 host in <spamd-white> reaches the MTA", "198.51.100.7", 25, IPPROTO_TCP,
	  { { "198.51.100.7", T_WHITE } }, 25, L4 | L6, TO_MTA, STEER_STAT(GW_STAT_STEER_PASS) },
	{ "ipv6 host in <spamd-white> reaches the MTA", "2001:db8:1::7", 25, IPPROTO_TCP,
	  { { "2001:db8:1::7", T_WHITE } }, 25, L4 | L6, TO_MTA, STEER_STAT(GW_STAT_STEER_PASS) },
	{ "ipv4 source in a <nospamd> network reaches the MTA", "198.51.100.7", 25, IPPROTO_TCP,
	  { { "198.51.100.0/24", T_NOSPAMD } }, 25, L4 | L6, TO_MTA,
	  STEER_STAT(GW_STAT_STEER_PASS) },
	{ "ipv6 source in a <nospamd> network reaches the MTA", "2001:db8:1::7", 25, IPPROTO_TCP,
	  { { "2001:db8:1::/48", T_NOSPAMD } }, 25, L4 | L6, TO_MTA,
	  STEER_STAT(GW_STAT_STEER_PASS) },
	{ "a pass table among others passes", "198.51.100.7", 25, IPPROTO_TCP,
	  { { "198.51.100.7", T_NEITHER | T_WHITE } }, 25, L4 | L6, TO_MTA,
	  STEER_STAT(GW_STAT_STEER_PASS) },
	{ "ipv4 source in a table that is not a pass table goes to the tarpit", "198.51.100.7", 25,
	  IPPROTO_TCP, { { "198.51.100.7", T_NEITHER } }, 25, L4 | L6, TO_TARPIT,
	  STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "ipv6 network not a pass table goes to the tarpit", "2001:db8:1::7", 25, IPPROTO_TCP,
	  { { "2001:db8:1::/48", T_NEITHER } }, 25, L4 | L6, TO_TARPIT,
	  STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "a trapped host that is also white goes to the tarpit", "198.51.100.7", 25, IPPROTO_TCP,
	  { { "198.51.100.7", T_TRAP | T_WHITE } }, 25, L4 | L6, TO_TARPIT,
	  STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "a trapped ipv4 host inside a white network goes to the tarpit", "198.51.100.7", 25,
	  IPPROTO_TCP, { { "198.51.100.0/24", T_WHITE }, { "198.51.100.7", T_TRAP } }, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "its untrapped neighbour in the white network reaches the MTA", "198.51.100.8", 25,
	  IPPROTO_TCP, { { "198.51.100.0/24", T_WHITE }, { "198.51.100.7", T_TRAP } }, 25,
	  L4 | L6, TO_MTA, STEER_STAT(GW_STAT_STEER_PASS) },
	{ "a trapped ipv6 host inside a white network goes to the tarpit", "2001:db8:1::7", 25,
	  IPPROTO_TCP, { { "2001:db8:1::/64", T_WHITE }, { "2001:db8:1::7", T_TRAP } }, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "a trapped host inside a <nospamd> network goes to the tarpit", "198.51.100.7", 25,
	  IPPROTO_TCP, { { "198.51.100.0/24", T_NOSPAMD }, { "198.51.100.7", T_TRAP } }, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "the white neighbour of a source does not pass it", "198.51.100.8", 25, IPPROTO_TCP,
	  { { "198.51.100.7", T_WHITE } }, 25, L4 | L6, TO_TARPIT,
	  STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "another local port is not steered", "198.51.100.7", 587, IPPROTO_TCP, {}, 25, L4 | L6,
	  TO_MTA, 0 },
	{ "ipv6 to another local port is not steered", "2001:db8:1::7", 80, IPPROTO_TCP, {}, 25,
	  L4 | L6, TO_MTA, 0 },
	{ "a steered port other than 25", "198.51.100.7", 2525, IPPROTO_TCP, {}, 2525, L4 | L6,
	  TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "steering off (port 0): nothing is steered", "198.51.100.7", 25, IPPROTO_TCP, {}, 0,
	  L4 | L6, TO_MTA, 0 },
	{ "UDP to the SMTP port is not steered", "198.51.100.7", 25, IPPROTO_UDP, {}, 25, L4 | L6,
	  TO_MTA, 0 },
	{ "no tarpit listener: the MTA answers, counted", "198.51.100.7", 25, IPPROTO_TCP, {}, 25,
	  0, TO_MTA, STEER_STAT(GW_STAT_STEER_NO_TARPIT) },
	{ "ipv6 without an ipv6 listener is not given the ipv4 one", "2001:db8:1::7", 25,
	  IPPROTO_TCP, {}, 25, L4, TO_MTA, STEER_STAT(GW_STAT_STEER_NO_TARPIT) },
	{ "ipv4 without an ipv4 listener is not given the ipv6-only one", "198.51.100.7", 25,
	  IPPROTO_TCP, {}, 25, L6, TO_MTA, STEER_STAT(GW_STAT_STEER_NO_TARPIT) },
	{ "ipv4 with only its own listener", "198.51.100.7", 25, IPPROTO_TCP, {}, 25, L4,
	  TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
	{ "the host connecting to its own ipv4 address is not steered", "192.0.2.1", 25,
	  IPPROTO_TCP, {}, 25, L4 | L6, TO_MTA, STEER_STAT(GW_STAT_STEER_LOCAL) },
	{ "the host connecting to its own ipv6 address is not steered", "2001:db8::1", 25,
	  IPPROTO_TCP, {}, 25, L4 | L6, TO_MTA, STEER_STAT(GW_STAT_STEER_LOCAL) },
	{ "a neighbour of our ipv6 address is steered", "2001:db8::2", 25, IPPROTO_TCP, {}, 25,
	  L4 | L6, TO_TARPIT, STEER_STAT(GW_STAT_STEER_TARPIT) },
};

static const enum gw_stat steer_stats[] = { GW_STAT_STEER_TARPIT, GW_STAT_STEER_PASS,
					    GW_STAT_STEER_NO_TARPIT, GW_STAT_STEER_LOCAL };

/* A listening TCP socket on loopback, as the tarpit has; its cookie in *cookie. */
static int tarpit_listener(int family, uint64_t *cookie)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(*cookie);
	int on = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if ((family == AF_INET ? bind(fd, (struct sockaddr *)&in4, sizeof(in4))
			       : bind(fd, (struct sockaddr *)&in6, sizeof(in6))) ||
	    listen(fd, 8) || getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A lookup for a connection from c->src to 192.0.2.1 or 2001:db8::1, local port c->local_port. */
static void lookup_ctx(const struct steer_case *c, struct bpf_sk_lookup *ctx)
{
	struct addr_prefix src, dst;

	memset(ctx, 0, sizeof(*ctx));
	if (addr_parse(c->src, &src))
		CHECK(0, "%s: source %s parses", c->desc, c->src);
	ctx->family = src.family;
	ctx->protocol = (uint32_t)c->protocol;
	ctx->remote_port = htons(40000);
	ctx->local_port = c->local_port;
	if (src.family == AF_INET) {
		addr_parse("192.0.2.1", &dst);
		memcpy(&ctx->remote_ip4, src.bytes, 4);
		memcpy(&ctx->local_ip4, dst.bytes, 4);
	} else {
		addr_parse("2001:db8::1", &dst);
		memcpy(ctx->remote_ip6, src.bytes, 16);
		memcpy(ctx->local_ip6, dst.bytes, 16);
	}
}

static void run_steer_case(const struct steer_case *c, const int fds[2],
			   const uint64_t cookies[2], bool index)
{
	struct bpf_sk_lookup ctx;
	struct datapath dp;
	uint64_t want = 0;
	char desc[200];
	int verdict, err;

	snprintf(desc, sizeof(desc), "%s [%s]", c->desc, index ? "index" : "no index");
	fx_reset();
	fx_index_mode(index);
	fx_put_all(c->before);
	fx_datapath(&dp);
	err = steer_set_port(&dp, c->spamd_port, PASS_TABLES, TARPIT_TABLES);
	if (!err)
		err = steer_set_tarpit(&dp, c->listeners & L4 ? fds[0] : -1,
				       c->listeners & L6 ? fds[1] : -1);
	CHECK_INT(err, 0, "%s: steer_set_port, steer_set_tarpit", desc);
	lookup_ctx(c, &ctx);
	verdict = fx_run_sk_lookup(&ctx);
	CHECK_INT(verdict, SK_PASS, "%s: SK_PASS", desc);
	if (c->to == TO_TARPIT)
		want = ctx.family == AF_INET ? cookies[0] : cookies[1];
	CHECK(ctx.cookie == want, "%s: %s (socket cookie %llu, want %llu)", desc,
	      c->to == TO_TARPIT ? "the tarpit listener is chosen" : "no socket is chosen",
	      (unsigned long long)ctx.cookie, (unsigned long long)want);
	for (size_t i = 0; i < sizeof(steer_stats) / sizeof(steer_stats[0]); i++)
		CHECK_INT(fx_stat(steer_stats[i]), c->stat == STEER_STAT(steer_stats[i]),
			  "%s: steering stat %d", desc, steer_stats[i]);
}

SELFTEST(sk_lookup)
{
	uint64_t cookies[2] = { 0, 0 };
	int fds[2];

	fds[0] = tarpit_listener(AF_INET, &cookies[0]);
	fds[1] = tarpit_listener(AF_INET6, &cookies[1]);
	CHECK(fds[0] >= 0 && fds[1] >= 0 && cookies[0] && cookies[1] &&
		      cookies[0] != cookies[1],
	      "two tarpit listeners with distinct cookies (%d, %d)", fds[0], fds[1]);
	if (fds[0] < 0 || fds[1] < 0)
		return;
	for (size_t i = 0; i < sizeof(steer_cases) / sizeof(steer_cases[0]); i++) {
		run_steer_case(&steer_cases[i], fds, cookies, true);
		run_steer_case(&steer_cases[i], fds, cookies, false);
	}
	fx_index_mode(true);
	close(fds[0]);
	close(fds[1]);
}

/* A closed tarpit socket leaves its slot on its own: no stale socket is ever chosen. */
SELFTEST(sk_lookup_tarpit_closed)
{
	struct steer_case c = { "closed listener", "198.51.100.7", 25, IPPROTO_TCP };
	struct bpf_sk_lookup ctx;
	struct datapath dp;
	uint64_t cookie;
	int fd = tarpit_listener(AF_INET, &cookie);

	fx_datapath(&dp);
	CHECK(fd >= 0, "listener");
	CHECK_INT(steer_set_port(&dp, 25, PASS_TABLES, TARPIT_TABLES), 0, "steer_set_port");
	CHECK_INT(steer_set_tarpit(&dp, fd, -1), 0, "steer_set_tarpit");
	lookup_ctx(&c, &ctx);
	fx_run_sk_lookup(&ctx);
	CHECK(ctx.cookie == cookie, "the open listener is chosen");
	close(fd);
	lookup_ctx(&c, &ctx);
	CHECK_INT(fx_run_sk_lookup(&ctx), SK_PASS, "after close: SK_PASS");
	CHECK_INT(ctx.cookie, 0, "after close: no socket is chosen");
	CHECK_INT(fx_stat(GW_STAT_STEER_NO_TARPIT), 1, "after close: counted as no tarpit");
	CHECK_INT(steer_set_tarpit(&dp, -1, -1), 0, "emptying empty slots is no error");
}

/* Only listening TCP sockets can be a tarpit: anything else is refused. */
SELFTEST(sk_lookup_tarpit_refused)
{
	struct datapath dp;
	int pipefd[2], udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	fx_datapath(&dp);
	CHECK(pipe(pipefd) == 0 && udp >= 0, "a pipe and an unbound UDP socket");
	CHECK(steer_set_tarpit(&dp, pipefd[0], -1) < 0, "a pipe is refused");
	CHECK(steer_set_tarpit(&dp, -1, udp) < 0, "an unbound UDP socket is refused");
	close(pipefd[0]);
	close(pipefd[1]);
	close(udp);
}

/* spamlogd: which packets leaving through TC egress record their destination. */
struct outbound_case {
	const char *desc;
	struct pkt_spec pkt;
	uint16_t spamd_port;
	const char *recorded;	/* the destination drained afterwards, or NULL for none */
	int64_t mta_uid;	/* steer_set_mta_uid(): a test run's socket is root's (0) */
};

static const struct outbound_case outbound_cases[] = {
	{ "our SYN to port 25 records the destination",
	  TCP4(.src = "192.0.2.1", .dst = "203.0.113.25"), 25, "203.0.113.25" },
	{ "our ipv6 SYN to port 25 records the destination",
	  TCP6(.src = "2001:db8::1", .dst = "2001:db8:25::25"), 25, "2001:db8:25::25" },
	{ "a SYN to the configured port other than 25",
	  TCP4(.src = "192.0.2.1", .dst = "203.0.113.25", .dport = 2525), 2525, "203.0.113.25" },
	{ "SYN-ACK (our MTA answering) records nothing",
	  TCP4(.src = "192.0.2.1", .dst = "203.0.113.25", .tcp_flags = 0x12), 25, NULL },
	{ "an ACK of an open connection records nothing",
	  TCP4(.src = "192.0.2.1", .dst = "203.0.113.25", .tcp_flags = 0x10, .payload = 20), 25,
	  NULL },
	{ "a SYN to another port records nothing",
	  TCP6(.src = "2001:db8::1", .dst = "2001:db8:25::25", .dport = 587), 25, NULL },
	{ "steering off: nothing recorded", TCP4(.src = "192.0.2.1", .dst = "203.0.113.25"), 0,
	  NULL },
	{ "UDP to port 25 records nothing",
	  UDP4(.src = "192.0.2.1", .dst = "203.0.113.25", .dport = 25), 25, NULL },
	{ "a SYN of a user other than the MTA's records nothing",
	  TCP4(.src = "192.0.2.1", .dst = "203.0.113.25"), 25, NULL, 108 },
	{ "an ipv6 SYN of a user other than the MTA's records nothing",
	  TCP6(.src = "2001:db8::1", .dst = "2001:db8:25::25"), 25, NULL, 65534 },
	{ "no MTA user: nothing recorded", TCP4(.src = "192.0.2.1", .dst = "203.0.113.25"), 25,
	  NULL, -1 },
};

SELFTEST(outbound_smtp)
{
	for (size_t i = 0; i < sizeof(outbound_cases) / sizeof(outbound_cases[0]); i++) {
		const struct outbound_case *c = &outbound_cases[i];
		struct steer_dest got[4];
		uint8_t pkt[PKT_MAX];
		size_t len = pkt_build(&c->pkt, pkt, NULL);
		struct datapath dp;
		char text[ADDR_STRLEN] = "";
		int n;

		fx_reset();
		fx_datapath(&dp);
		steer_set_port(&dp, c->spamd_port, PASS_TABLES, TARPIT_TABLES);
		CHECK_INT(steer_set_mta_uid(&dp, c->mta_uid), 0, "%s: MTA uid %lld", c->desc,
			  (long long)c->mta_uid);
		CHECK_INT(fx_run_tc(pkt, len), TC_ACT_OK, "%s: TC_ACT_OK", c->desc);
		n = steer_drain_outbound(&dp, got, 4);
		if (n > 0)
			addr_format(&got[0].addr, text, sizeof(text));
		if (c->recorded) {
			CHECK(n == 1 && !strcmp(text, c->recorded), "%s: drained %s (got %d, %s)",
			      c->desc, c->recorded, n, text);
			CHECK_INT(fx_stat(GW_STAT_OUTBOUND_SMTP), 1, "%s: counted", c->desc);
		} else {
			CHECK_INT(n, 0, "%s: nothing drained", c->desc);
			CHECK_INT(fx_stat(GW_STAT_OUTBOUND_SMTP), 0, "%s: not counted", c->desc);
		}
		CHECK_INT(steer_drain_outbound(&dp, got, 4), 0, "%s: a second drain is empty",
			  c->desc);
	}
}

/* One entry per destination however often we connect; drains hand out at most max. */
SELFTEST(outbound_smtp_drain)
{
	static const char *const dests[] = { "203.0.113.1", "203.0.113.2", "2001:db8:25::1" };
	struct steer_dest got[8];
	struct datapath dp;
	time_t before = time(NULL), after;
	bool seen[3] = { false, false, false };
	int n, total = 0;

	fx_datapath(&dp);
	steer_set_port(&dp, 25, PASS_TABLES, TARPIT_TABLES);
	steer_set_mta_uid(&dp, 0);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < 3; i++) {
			struct pkt_spec s = TCP4(.src = "192.0.2.1", .dst = dests[i]);
			struct pkt_spec s6 = TCP6(.src = "2001:db8::1", .dst = dests[i]);
			uint8_t pkt[PKT_MAX];
			size_t len = pkt_build(strchr(dests[i], ':') ? &s6 : &s, pkt, NULL);

			fx_run_tc(pkt, len);
		}
	after = time(NULL);
	CHECK_INT(fx_stat(GW_STAT_OUTBOUND_SMTP), 9, "every SYN is counted");
	n = steer_drain_outbound(&dp, got, 2);
	CHECK_INT(n, 2, "a drain of at most 2 returns 2");
	total += n > 0 ? n : 0;
	n = steer_drain_outbound(&dp, got + 2, 6);
	CHECK_INT(n, 1, "the next drain returns the rest");
	total += n > 0 ? n : 0;
	for (int i = 0; i < total; i++) {
		char text[ADDR_STRLEN];

		addr_format(&got[i].addr, text, sizeof(text));
		for (size_t j = 0; j < 3; j++)
			if (!strcmp(text, dests[j]))
				seen[j] = true;
		CHECK(got[i].first_seen >= before - 1 && got[i].first_seen <= after + 1,
		      "%s first seen at %lld, within [%lld, %lld]", text,
		      (long long)got[i].first_seen, (long long)before, (long long)after);
	}
	CHECK(seen[0] && seen[1] && seen[2], "each destination drained once");
	CHECK_INT(steer_drain_outbound(&dp, got, 8), 0, "then the map is empty");
}
