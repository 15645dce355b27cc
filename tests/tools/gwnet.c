// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * gwnet: the traffic tool of the integration tests and the demo.
 *   gwnet listen PORT             accept TCP and read UDP on [::]:PORT (IPv4 too);
 *                                 print "tcp SRC" per connection, "udp SRC" per datagram
 *   gwnet serve PORT              a TCP server on [::]:PORT (IPv4 too) that holds every
 *                                 connection: "accept SRC" per connection, then "reset SRC"
 *                                 when one is reset or aborted (SOCK_DESTROY), "close SRC"
 *                                 when the client closes it
 *   gwnet hold SRC DST PORT N [US]  open N TCP connections from SRC, one every US
 *                                 microseconds (default 0), without waiting for any, and
 *                                 hold them all until killed
 *   gwnet synflood DST PORT N     N forged SYNs to DST, each from a random source in the
 *                                 documentation ranges of DST's family (198.51.100.0/24
 *                                 and 203.0.113.0/24, or 2001:db8::/32), each followed by
 *                                 an ACK with a guessed acknowledgment number (raw sockets)
 *   gwnet synburst SRC|forged DST PORT[,PORT...] SECONDS  SYNs alone, as fast as one
 *                                 raw socket sends them, for SECONDS, to the ports in turn,
 *                                 from SRC (random source ports) or from forged sources as
 *                                 synflood's; print "sent N rate R/s"
 *   gwnet fragsyn SRC DST PORT SPLIT [EXT [MS]]  a SYN carrying 16 bytes of data from
 *                                 SRC (an address of this host) to DST:PORT over a raw
 *                                 socket, split into two IP fragments after its first
 *                                 SPLIT bytes (a multiple of 8; 0: not fragmented), behind
 *                                 EXT IPv6 destination options headers (default 0); then
 *                                 wait MS ms (default 1000) for the SYN-ACK. Exit 0 and
 *                                 "syn-ack" when it came, 2 and "no answer" when not
 *   gwnet connect SRC DST PORT [MS]  TCP connect from SRC; exit 0 connected,
 *                                 1 refused/unreachable, 2 timed out (default 1000 ms)
 *   gwnet send SRC DST PORT N US  send N UDP datagrams from SRC, one every US microseconds
 *   gwnet chat SRC DST PORT LINE...  an SMTP dialogue: read the banner, then send each
 *                                 LINE and read its whole reply; print "< reply" and
 *                                 "> line" ("+line": data, no reply awaited), then "# first-bytes-ms T1 T2 ..." (arrival
 *                                 of the first 6 bytes, ms after connect). Exit 0 when
 *                                 the server answered every line, 1 when it closed early
 *                                 (or GWNET_MAX_BYTES bytes were read); with
 *                                 GWNET_PIPELINE set, every LINE goes out in one write
 *                                 right after the banner
 *   gwnet refused tcp|udp SRC DST PORT [MS]  whether DST refuses within MS ms (default
 *                                 1000): a TCP connect, or a datagram on a connected UDP
 *                                 socket then a recv, ends in ECONNREFUSED (a RST, an ICMP
 *                                 port unreachable). Exit 0 refused, 1 anything else,
 *                                 2 timed out
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/checksum.h"

static int parse_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return AF_INET6;
	}
	fprintf(stderr, "gwnet: bad address %s\n", addr);
	exit(64);
}

static void print_source(const char *kind, const struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		/* IPv4 peers of a dual-stack socket show as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof(text));
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof(text));
	}
	printf("%s %s\n", kind, text);
	fflush(stdout);
}

/* A dual-stack TCP listener on [::]:port, or -1. */
static int tcp_listener(int port)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int off = 0, on = 1, t = socket(AF_INET6, SOCK_STREAM, 0);

	setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(t, (struct sockaddr *)&any, sizeof(any)) || listen(t, 1024))
		return -1;
	return t;
}

static int do_listen(int port)
{
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int off = 0;
	int t = tcp_listener(port), u = socket(AF_INET6, SOCK_DGRAM, 0);

	setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (t < 0 || bind(u, (struct sockaddr *)&any, sizeof(any))) {
		perror("gwnet listen");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = t, .events = POLLIN }, { .fd = u, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			int c = accept(t, (struct sockaddr *)&ss, &len);

			if (c >= 0) {
				print_source("tcp", &ss);
				/* Hold it briefly open and close: the test only counts. */
				close(c);
			}
		}
		if (p[1].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			char buf[2048];

			if (recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len) >= 0)
				print_source("udp", &ss);
		}
	}
}

static int bound_socket(const char *src, int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (parse_sockaddr(src, 0, &ss, &len) != family) {
		fprintf(stderr, "gwnet: source and destination families differ\n");
		exit(64);
	}
	fd = socket(family, type, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len)) {
		perror("gwnet bind");
		exit(1);
	}
	return fd;
}

static int do_connect(const char *src, const char *dst, int port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_STREAM | SOCK_NONBLOCK), err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (!connect(fd, (struct sockaddr *)&ss, len))
		return 0;
	if (errno != EINPROGRESS)
		return 1;
	if (poll(&p, 1, ms) == 0)
		return 2;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	return err ? 1 : 0;
}

/* Holds until killed. */
_Noreturn static void do_hold(const char *src, const char *dst, int port, int n, long us)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	struct timespec gap = { us / 1000000, (us % 1000000) * 1000 };

	for (int i = 0; i < n; i++) {
		int fd = bound_socket(src, family, SOCK_STREAM | SOCK_NONBLOCK);

		/* The kernel completes (or retries) the handshake on its own. */
		if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
			perror("gwnet hold connect");
		if (us)
			nanosleep(&gap, NULL);
	}
	printf("started %d\n", n);
	fflush(stdout);
	for (;;)
		pause();
}

/* A forged source in the documentation ranges of the family. */
static void forged_source(int family, uint8_t *addr)
{
	uint32_t r = (uint32_t)random();

	if (family == AF_INET) {
		static const uint8_t nets[2][3] = { { 198, 51, 100 }, { 203, 0, 113 } };

		memcpy(addr, nets[r & 1], 3);
		addr[3] = (uint8_t)(r >> 8);
		return;
	}
	addr[0] = 0x20;
	addr[1] = 0x01;
	addr[2] = 0x0d;
	addr[3] = 0xb8;
	for (int i = 4; i < 16; i++)
		addr[i] = (uint8_t)random();
}

/* One forged TCP segment (SYN, or ACK with a guessed number) from src. */
static int send_forged(int fd, int family, const uint8_t *src, const struct sockaddr_storage *dst,
		       socklen_t dlen, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		       uint8_t flags)
{
	uint8_t pkt[sizeof(struct ip6_hdr) + sizeof(struct tcphdr)] = { 0 };
	struct tcphdr *th;
	size_t iplen;
	uint32_t sum;

	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->tot_len = htons(sizeof(*ip) + sizeof(*th));
		memcpy(&ip->saddr, src, 4);
		ip->daddr = ((const struct sockaddr_in *)dst)->sin_addr.s_addr;
		iplen = sizeof(*ip);
		/* Pseudo-header: both addresses, protocol, TCP length. */
		sum = checksum_add(&ip->saddr, 8, 0);
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt;

		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(sizeof(*th));
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		ip6->ip6_dst = ((const struct sockaddr_in6 *)dst)->sin6_addr;
		iplen = sizeof(*ip6);
		sum = checksum_add(&ip6->ip6_src, 32, 0);
	}
	sum += IPPROTO_TCP + sizeof(*th);
	th = (struct tcphdr *)(pkt + iplen);
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = 5;
	th->syn = !!(flags & TH_SYN);
	th->ack = !!(flags & TH_ACK);
	th->window = htons(64240);
	th->check = htons(checksum(th, sizeof(*th), sum));
	return sendto(fd, pkt, iplen + sizeof(*th), 0, (const struct sockaddr *)dst, dlen) < 0 ? -1
												   : 0;
}

static int do_synflood(const char *dst, int port, long n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, 0, &ss, &len);
	int fd = socket(family, SOCK_RAW, IPPROTO_RAW);
	long sent = 0;

	if (fd < 0) {
		perror("gwnet synflood");
		return 1;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	for (long i = 0; i < n; i++) {
		uint8_t src[16];
		uint16_t sport = (uint16_t)(1024 + random() % 64000);
		uint32_t seq = (uint32_t)random();

		forged_source(family, src);
		if (!send_forged(fd, family, src, &ss, len, sport, (uint16_t)port, seq, 0, TH_SYN) &&
		    !send_forged(fd, family, src, &ss, len, sport, (uint16_t)port, seq + 1,
				 (uint32_t)random(), TH_ACK))
			sent++;
	}
	printf("forged %ld\n", sent);
	return sent == n ? 0 : 1;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int do_synburst(const char *src, const char *dst, const char *ports, double seconds)
{
	uint16_t port[16];
	struct sockaddr_storage ss;
	struct timespec t0;
	uint8_t from[16] = { 0 };
	int nports = 0, family, fd, forged = !strcmp(src, "forged");
	long sent = 0, failed = 0;
	socklen_t len;
	double took;

	family = parse_sockaddr(dst, 0, &ss, &len);
	if (!forged && inet_pton(family, src, from) != 1) {
		fprintf(stderr, "gwnet: bad address %s\n", src);
		return 64;
	}
	for (const char *p = ports; *p && nports < 16; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
		port[nports++] = (uint16_t)atoi(p);
	fd = socket(family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || !nports) {
		perror("gwnet synburst");
		return 1;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The clock once per 256 SYNs: reading it costs more than building one. */
	do {
		for (int i = 0; i < 256; i++) {
			uint16_t sport = (uint16_t)(1024 + random() % 64000);

			if (forged)
				forged_source(family, from);
			if (send_forged(fd, family, from, &ss, len, sport, port[sent % nports],
					(uint32_t)random(), 0, TH_SYN))
				failed++;
			else
				sent++;
		}
	} while ((took = seconds_since(&t0)) < seconds);
	printf("sent %ld rate %.0f/s failed %ld\n", sent, sent / took, failed);
	return sent ? 0 : 1;
}

#define FRAGSYN_DATA 16			/* bytes of data after the SYN's header */
#define FRAGSYN_SEGMENT (sizeof(struct tcphdr) + FRAGSYN_DATA)
#define FRAGSYN_EXT_MAX 16

/*
 * One IP packet of the split SYN: the bytes [from, to) of the segment,
 * behind the IP header, next_ext destination options headers and (when
 * fragmented) a fragment header. Returns the packet's length.
 */
static size_t fragsyn_packet(uint8_t *pkt, int family, const uint8_t *src,
			     const struct sockaddr_storage *dst, int next_ext, int fragmented,
			     uint32_t id, const uint8_t *segment, size_t from, size_t to)
{
	int more = fragmented && to < FRAGSYN_SEGMENT;
	size_t off;

	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->id = htons((uint16_t)id);
		ip->protocol = IPPROTO_TCP;
		ip->frag_off = htons((uint16_t)((more ? IP_MF : 0) | from / 8));
		ip->tot_len = htons((uint16_t)(sizeof(*ip) + to - from));
		memcpy(&ip->saddr, src, 4);
		ip->daddr = ((const struct sockaddr_in *)dst)->sin_addr.s_addr;
		off = sizeof(*ip);
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt;
		uint8_t *next = &ip6->ip6_nxt;

		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		ip6->ip6_dst = ((const struct sockaddr_in6 *)dst)->sin6_addr;
		off = sizeof(*ip6);
		/* Each header 8 bytes: next header, length 0, a PadN option over the rest. */
		for (int i = 0; i < next_ext; i++) {
			*next = IPPROTO_DSTOPTS;
			next = pkt + off;
			memcpy(pkt + off, (const uint8_t[]){ 0, 0, 1, 4, 0, 0, 0, 0 }, 8);
			off += 8;
		}
		if (fragmented) {
			struct ip6_frag *fh = (struct ip6_frag *)(pkt + off);

			*next = IPPROTO_FRAGMENT;
			next = &fh->ip6f_nxt;
			fh->ip6f_reserved = 0;
			fh->ip6f_offlg = htons((uint16_t)(from | (more ? 1 : 0)));
			fh->ip6f_ident = htonl(id);
			off += sizeof(*fh);
		}
		*next = IPPROTO_TCP;
		ip6->ip6_plen = htons((uint16_t)(off - sizeof(*ip6) + to - from));
	}
	memcpy(pkt + off, segment + from, to - from);
	return off + to - from;
}

/* Whether pkt (TCP, behind an IPv4 header for AF_INET) is the SYN-ACK to the SYN sent. */
static int fragsyn_is_answer(const uint8_t *pkt, ssize_t len, int family, uint16_t sport,
			     uint16_t dport, uint32_t seq)
{
	const struct tcphdr *th;
	size_t off = 0;

	if (family == AF_INET) {
		if (len < (ssize_t)sizeof(struct iphdr))
			return 0;
		off = (size_t)((const struct iphdr *)pkt)->ihl * 4;
	}
	if (len < (ssize_t)(off + sizeof(*th)))
		return 0;
	th = (const struct tcphdr *)(pkt + off);
	return th->source == htons(dport) && th->dest == htons(sport) && th->syn && th->ack &&
	       th->ack_seq == htonl(seq + 1);
}

static int do_fragsyn(const char *src, const char *dst, int port, int split, int next_ext,
		      int ms)
{
	struct sockaddr_storage ss, sa;
	socklen_t len, slen;
	int family = parse_sockaddr(dst, 0, &ss, &len);
	uint8_t segment[FRAGSYN_SEGMENT] = { 0 }, pkt[512], saddr[16];
	struct tcphdr *th = (struct tcphdr *)segment;
	uint16_t sport;
	uint32_t seq, id, sum;
	struct timespec t0, now;
	int out, in;

	if (parse_sockaddr(src, 0, &sa, &slen) != family || split < 0 || split % 8 ||
	    split >= (int)FRAGSYN_SEGMENT || next_ext < 0 || next_ext > FRAGSYN_EXT_MAX ||
	    (family == AF_INET && next_ext)) {
		fprintf(stderr, "gwnet fragsyn: bad source, split or extension headers\n");
		return 64;
	}
	out = socket(family, SOCK_RAW, IPPROTO_RAW);
	in = socket(family, SOCK_RAW, IPPROTO_TCP);
	if (out < 0 || in < 0) {
		perror("gwnet fragsyn");
		return 1;
	}
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	sport = (uint16_t)(1024 + random() % 64000);
	seq = (uint32_t)random();
	/* Fragment ids of two runs in one second must not meet in a reassembly queue. */
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint32_t)random();
	if (family == AF_INET) {
		memcpy(saddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
		sum = checksum_add(&((struct sockaddr_in *)&ss)->sin_addr, 4, checksum_add(saddr, 4, 0));
	} else {
		memcpy(saddr, &((struct sockaddr_in6 *)&sa)->sin6_addr, 16);
		sum = checksum_add(&((struct sockaddr_in6 *)&ss)->sin6_addr, 16,
				   checksum_add(saddr, 16, 0));
	}
	sum += IPPROTO_TCP + FRAGSYN_SEGMENT;
	th->source = htons(sport);
	th->dest = htons((uint16_t)port);
	th->seq = htonl(seq);
	th->doff = 5;
	th->syn = 1;
	th->window = htons(64240);
	memset(segment + sizeof(*th), 'g', FRAGSYN_DATA);
	th->check = htons(checksum(segment, sizeof(segment), sum));

	if (split) {
		size_t n = fragsyn_packet(pkt, family, saddr, &ss, next_ext, 1, id, segment, 0,
					  (size_t)split);

		if (sendto(out, pkt, n, 0, (struct sockaddr *)&ss, len) < 0)
			goto fail;
	}
	{
		size_t n = fragsyn_packet(pkt, family, saddr, &ss, next_ext, split > 0, id, segment,
					  (size_t)split, sizeof(segment));

		if (sendto(out, pkt, n, 0, (struct sockaddr *)&ss, len) < 0)
			goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		long left;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = recv(in, pkt, sizeof(pkt), 0);
		if (fragsyn_is_answer(pkt, r, family, sport, (uint16_t)port, seq)) {
			printf("syn-ack\n");
			return 0;
		}
	}
	printf("no answer\n");
	return 2;
fail:
	perror("gwnet fragsyn send");
	return 1;
}

static int do_send(const char *src, const char *dst, int port, long n, long us)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_DGRAM);
	struct timespec gap = { us / 1000000, (us % 1000000) * 1000 };

	for (long i = 0; i < n; i++) {
		sendto(fd, "greywall", 8, 0, (struct sockaddr *)&ss, len);
		if (us)
			nanosleep(&gap, NULL);
	}
	return 0;
}

#define SERVE_MAX 4096

static int do_serve(int port)
{
	static struct pollfd p[SERVE_MAX];
	static struct sockaddr_storage peer[SERVE_MAX];
	int t = tcp_listener(port);
	nfds_t n = 1;

	if (t < 0) {
		perror("gwnet serve");
		return 1;
	}
	p[0] = (struct pollfd){ .fd = t, .events = POLLIN };
	for (;;) {
		if (poll(p, n, -1) < 0 && errno != EINTR)
			return 1;
		for (nfds_t i = n; i-- > 1;) {
			char buf[512];
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			print_source(r == 0 ? "close" : "reset", &peer[i]);
			close(p[i].fd);
			p[i] = p[--n];
			peer[i] = peer[n];
		}
		if ((p[0].revents & POLLIN) && n < SERVE_MAX) {
			socklen_t len = sizeof(peer[n]);
			int c = accept(t, (struct sockaddr *)&peer[n], &len);

			if (c >= 0) {
				print_source("accept", &peer[n]);
				p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
			}
		}
	}
}

/* GWNET_MAX_BYTES: chat stops after reading this many bytes (stutter timing). */
static long max_bytes, got_bytes;
/* GWNET_PIPELINE: chat sends every line at once after the banner (RFC 2920 style). */
static bool pipeline;

/* One SMTP reply (up to its last line "ddd ...\r\n"); returns 0, or -1 at EOF/timeout. */
static int chat_reply(int fd, const struct timespec *t0, double *times, int *ntimes)
{
	char line[8200];
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec now;
		char c;

		if (poll(&p, 1, 120000) <= 0 || read(fd, &c, 1) != 1)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (max_bytes && ++got_bytes > max_bytes)
			return -1;
		if (*ntimes < 6)
			times[(*ntimes)++] = (double)(now.tv_sec - t0->tv_sec) * 1e3 +
					     (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
		if (n < sizeof(line) - 1)
			line[n++] = c;
		if (c != '\n')
			continue;
		line[n] = '\0';
		printf("< %s", line);
		fflush(stdout);
		if (n >= 4 && line[3] == ' ')
			return 0;
		n = 0;
	}
}

static int do_chat(const char *src, const char *dst, int port, char **lines, int nlines)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int family = parse_sockaddr(dst, port, &ss, &len);
	int fd = bound_socket(src, family, SOCK_STREAM), ntimes = 0, ret = 0;
	double times[6];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		perror("gwnet connect");
		return 1;
	}
	if (chat_reply(fd, &t0, times, &ntimes))
		ret = 1;
	if (!ret && pipeline) {
		/* Every line in one write, as a spam engine sends them, then the replies. */
		char *all = NULL;
		size_t alllen = 0;
		FILE *fp = open_memstream(&all, &alllen);

		for (int i = 0; fp && i < nlines; i++)
			fprintf(fp, "%s\r\n", lines[i][0] == '+' ? lines[i] + 1 : lines[i]);
		if (!fp || fclose(fp) || write(fd, all, alllen) != (ssize_t)alllen)
			ret = 1;
		free(all);
		for (int i = 0; !ret && i < nlines; i++) {
			printf("> %s\n", lines[i][0] == '+' ? lines[i] + 1 : lines[i]);
			if (lines[i][0] != '+' && chat_reply(fd, &t0, times, &ntimes))
				ret = 1;
		}
		nlines = 0;
	}
	for (int i = 0; !ret && i < nlines; i++) {
		/* "+text": a line of message data, which gets no reply of its own. */
		const char *text = lines[i][0] == '+' ? lines[i] + 1 : lines[i];

		dprintf(fd, "%s\r\n", text);
		printf("> %s\n", text);
		if (lines[i][0] != '+' && chat_reply(fd, &t0, times, &ntimes))
			ret = 1;
	}
	printf("# first-bytes-ms");
	for (int i = 0; i < ntimes; i++)
		printf(" %.0f", times[i]);
	printf("\n");
	close(fd);
	return ret;
}

static int do_refused(const char *proto, const char *src, const char *dst, int port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len, elen = sizeof(int);
	int family = parse_sockaddr(dst, port, &ss, &len), udp = !strcmp(proto, "udp"), err = 0;
	int fd = bound_socket(src, family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK);
	struct pollfd p = { .fd = fd, .events = udp ? POLLIN : POLLOUT };
	char c;

	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		err = errno;
	else if (udp && send(fd, "greywall", 8, 0) < 0)
		err = errno;
	else if (poll(&p, 1, ms) == 0)
		return 2;
	else if (!udp)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	else if (recv(fd, &c, 1, 0) < 0)
		err = errno;
	printf("%s\n", err ? strerror(err) : "answered");
	return err == ECONNREFUSED ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return do_serve(atoi(argv[2]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "hold"))
		do_hold(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argc == 7 ? atol(argv[6]) : 0);
	if (argc == 5 && !strcmp(argv[1], "synflood"))
		return do_synflood(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "synburst"))
		return do_synburst(argv[2], argv[3], argv[4], atof(argv[5]));
	if (argc >= 6 && argc <= 8 && !strcmp(argv[1], "fragsyn"))
		return do_fragsyn(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]),
				  argc >= 7 ? atoi(argv[6]) : 0, argc == 8 ? atoi(argv[7]) : 1000);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 1000);
	if (argc == 7 && !strcmp(argv[1], "send"))
		return do_send(argv[2], argv[3], atoi(argv[4]), atol(argv[5]), atol(argv[6]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "refused"))
		return do_refused(argv[2], argv[3], argv[4], atoi(argv[5]),
				  argc == 7 ? atoi(argv[6]) : 1000);
	if (getenv("GWNET_MAX_BYTES"))
		max_bytes = atol(getenv("GWNET_MAX_BYTES"));
	pipeline = getenv("GWNET_PIPELINE") != NULL;
	if (argc >= 5 && !strcmp(argv[1], "chat"))
		return do_chat(argv[2], argv[3], atoi(argv[4]), argv + 5, argc - 5);
	fprintf(stderr, "usage: gwnet listen PORT | serve PORT | connect SRC DST PORT [MS] | "
			"hold SRC DST PORT N [US] | synflood DST PORT N | "
			"synburst SRC|forged DST PORT[,PORT...] SECONDS | "
			"fragsyn SRC DST PORT SPLIT [EXT [MS]] | "
			"send SRC DST PORT N US | chat SRC DST PORT LINE... | "
			"refused tcp|udp SRC DST PORT [MS]\n");
	return 64;
}
