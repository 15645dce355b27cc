// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * spamd sync between two gateways, measured (bench/sync.sh runs it):
 *
 *   follow LOG COUNT [STALL_S]
 *       count greywalld's "new entry " lines appended to LOG from now on,
 *       polled every 1 ms, until COUNT (or nothing new for STALL_S
 *       seconds after the first, default 30; 30 before it); print
 *       the CLOCK_MONOTONIC times of the first and the last, so that two
 *       followers (A's log, B's log) compare on one clock
 *   flood SRC DST PORT KEYFILE RATE SECONDS EPOCH COUNTER INDEX
 *       send RATE*SECONDS signed GREY datagrams from SRC to DST, paced
 *       every millisecond at RATE a second, built by greywall's own
 *       encoder (user/sync/wire.c) as a peer sends them: one record,
 *       SENDER (EPOCH, now) trailer, counters from COUNTER on; tuple i
 *       (from INDEX on) is (source i % 380, flood.example.net,
 *       <flood@example.net>, <f-i@example.org>), new each time; the
 *       sources are latency's 380 (a peer keeps at most 200 live tuples
 *       a source, GREY_MAXTUPLES: the caller keeps INDEX under 76,000)
 *   latency IFNAME NETNS PORT TRAP TRIALS GAP_MS DST LABEL
 *       run in B's namespace: each trial opens an SMTP dialogue in NETNS
 *       (A's namespace) from a fresh source to A's tarpit on
 *       127.0.0.1:PORT, reads the banner, HELO and MAIL replies, takes the
 *       clock and sends RCPT TO:<TRAP> (the trap hit), then runs the XDP
 *       program attached to IFNAME (B's, libxdp's dispatcher or
 *       greywall's alone) with BPF_PROG_TEST_RUN on a TCP SYN from the
 *       source to DST port 8080 every 20 us until it returns XDP_DROP
 *       (2 s: a timeout). Before each trial the source must not be
 *       dropped. Sources: 192.0.2.1 to .254, then 198.51.100.1 to .126
 *       (at most 380 trials); A's namespace has them as local routes on
 *       lo. Every 50th is printed as "SAMPLE ADDR blocked|timeout".
 *
 * Output: "RESULT sync=..." lines for bench/sync.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "xdp_probe.h"
#include "lib/addr.h"
#include "lib/checksum.h"
#include "sync/key.h"
#include "sync/wire.h"

#define MARK "new entry "
#define STALL_S 30.0
#define POLL_US 20
#define TIMEOUT_S 2.0
#define MAX_TRIALS 380

/* ---- follow ---------------------------------------------------------------- */

static int follow(const char *path, unsigned long want, double stall)
{
	const size_t mlen = strlen(MARK);
	static char buf[1 << 16];
	double first = 0, last = 0, moved = bench_now(), t0 = moved;
	unsigned long count = 0;
	size_t carry = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || lseek(fd, 0, SEEK_END) < 0) {
		fprintf(stderr, "sync_bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (count < want && bench_now() - moved < (count ? stall : STALL_S)) {
		ssize_t n = read(fd, buf + carry, sizeof(buf) - carry - 1);

		if (n <= 0) {
			usleep(1000);
			continue;
		}
		size_t len = carry + (size_t)n;
		unsigned long before = count;
		char *p = buf;

		buf[len] = '\0';
		while ((p = memmem(p, len - (size_t)(p - buf), MARK, mlen))) {
			count++;
			p += mlen;
		}
		if (count != before) {
			moved = last = bench_now();
			if (!first)
				first = last;
		}
		carry = len < mlen - 1 ? len : mlen - 1;
		memmove(buf, buf + len - carry, carry);
	}
	close(fd);
	printf("RESULT sync=follow count=%lu start=%.6f first=%.6f last=%.6f\n", count, t0, first,
	       last);
	return count == want ? 0 : 1;
}

/* The sources: 192.0.2.1 to .254, then 198.51.100.1 to .126. */
static void source_of(unsigned int i, char *buf, size_t len)
{
	if (i < 254)
		snprintf(buf, len, "192.0.2.%u", i + 1);
	else
		snprintf(buf, len, "198.51.100.%u", i - 253);
}

/* ---- flood ----------------------------------------------------------------- */

static int flood(char **argv)
{
	const char *src = argv[0], *dst = argv[1];
	unsigned int port = (unsigned int)atoi(argv[2]);
	double rate = atof(argv[4]), seconds = atof(argv[5]);
	uint32_t epoch = (uint32_t)strtoul(argv[6], NULL, 10);
	uint32_t counter = (uint32_t)strtoul(argv[7], NULL, 10);
	uint32_t index = (uint32_t)strtoul(argv[8], NULL, 10);
	unsigned long total = (unsigned long)(rate * seconds), sent = 0, errors = 0;
	struct sockaddr_in s = { .sin_family = AF_INET }, d = { .sin_family = AF_INET,
								 .sin_port = htons(port) };
	struct sync_key key;
	double t0, t1;
	int fd, err;

	err = sync_key_load(argv[3], &key);
	if (err) {
		fprintf(stderr, "sync_bench: key %s: %s\n", argv[3], strerror(-err));
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || inet_pton(AF_INET, src, &s.sin_addr) != 1 ||
	    inet_pton(AF_INET, dst, &d.sin_addr) != 1 || bind(fd, (struct sockaddr *)&s, sizeof(s)) ||
	    connect(fd, (struct sockaddr *)&d, sizeof(d))) {
		fprintf(stderr, "sync_bench: flood socket %s -> %s: %s\n", src, dst, strerror(errno));
		return 1;
	}
	t0 = bench_now();
	while (sent + errors < total) {
		unsigned long due = (unsigned long)((bench_now() - t0) * rate) + 1;

		if (due > total)
			due = total;
		while (sent + errors < due) {
			uint32_t i = index + (uint32_t)(sent + errors);
			char to[64], from_ip[32];
			uint8_t buf[SYNC_MAX_DATAGRAM];
			struct sync_record rec = { .type = SYNC_RECORD_GREY,
						   .timestamp = (uint32_t)time(NULL),
						   .helo = "flood.example.net",
						   .from = "flood@example.net",
						   .to = to };
			struct sync_sender snd = { .epoch = epoch, .sent = (uint32_t)time(NULL) };
			ssize_t len;

			snprintf(to, sizeof(to), "f-%u@example.org", i);
			source_of(i % MAX_TRIALS, from_ip, sizeof(from_ip));
			if (addr_parse(from_ip, &rec.addr))
				return 1;
			len = sync_encode(&key, counter++, &rec, &snd, buf, sizeof(buf));
			if (len < 0) {
				fprintf(stderr, "sync_bench: sync_encode: %s\n", strerror((int)-len));
				return 1;
			}
			if (send(fd, buf, (size_t)len, 0) == len)
				sent++;
			else
				errors++;
		}
		usleep(1000);
	}
	t1 = bench_now();
	close(fd);
	printf("RESULT sync=flood offered=%.0f sent=%lu send_errors=%lu seconds=%.3f counter=%u "
	       "index=%u\n",
	       rate, sent, errors, t1 - t0, counter, index + (uint32_t)(sent + errors));
	return 0;
}

/* ---- latency --------------------------------------------------------------- */

/* Read one SMTP reply (its last line "NNN "); 0, or -errno / -EPROTO. */
static int smtp_reply(int fd, char *code)
{
	char buf[2048];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
		char *line, *nl;

		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		len += (size_t)n;
		buf[len] = '\0';
		/* The last complete line decides. */
		for (line = buf; (nl = strstr(line, "\r\n")); line = nl + 2) {
			if (nl - line >= 4 && line[3] == ' ') {
				memcpy(code, line, 3);
				code[3] = '\0';
				return 0;
			}
		}
		if (len >= sizeof(buf) - 1)
			return -EPROTO;
	}
}

static int say(int fd, const char *text, char *code)
{
	size_t len = strlen(text);

	if (write(fd, text, len) != (ssize_t)len)
		return -errno;
	return code ? smtp_reply(fd, code) : 0;
}

/* A dialogue from src to 127.0.0.1:port in namespace a_ns, up to MAIL; the fd or -errno. */
static int open_dialogue(int a_ns, int own_ns, const char *src, unsigned int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET }, d = { .sin_family = AF_INET,
								 .sin_port = htons(port) };
	struct timeval tv = { 2, 0 };
	char code[4];
	int fd, err;

	if (setns(a_ns, CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	if (setns(own_ns, CLONE_NEWNET)) {
		fprintf(stderr, "sync_bench: setns back: %s\n", strerror(errno));
		exit(1);
	}
	if (err)
		return err;
	inet_pton(AF_INET, src, &s.sin_addr);
	d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) ||
	    connect(fd, (struct sockaddr *)&d, sizeof(d)))
		err = -errno;
	if (!err)
		err = smtp_reply(fd, code);
	if (!err && strcmp(code, "220"))
		err = -EPROTO;
	if (!err)
		err = say(fd, "HELO trap.example.net\r\n", code);
	if (!err && strcmp(code, "250"))
		err = -EPROTO;
	if (!err)
		err = say(fd, "MAIL FROM:<s@example.net>\r\n", code);
	if (!err && strcmp(code, "250"))
		err = -EPROTO;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int latency(char **argv)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	unsigned int port = (unsigned int)atoi(argv[2]), trials = (unsigned int)atoi(argv[4]);
	unsigned int gap_ms = (unsigned int)atoi(argv[5]), n = 0, timeouts = 0;
	const char *trap = argv[3], *dst = argv[6], *label = argv[7];
	int ifindex = (int)if_nametoindex(argv[0]), prog_fd, a_ns, own_ns;
	char path[256], rcpt[300];
	double *lat;
	uint32_t id;

	if (!ifindex || bpf_xdp_query(ifindex, 0, &q)) {
		fprintf(stderr, "sync_bench: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	id = q.prog_id ? q.prog_id : q.skb_prog_id ? q.skb_prog_id : q.drv_prog_id;
	prog_fd = id ? bpf_prog_get_fd_by_id(id) : -1;
	snprintf(path, sizeof(path), "/run/netns/%s", argv[1]);
	a_ns = open(path, O_RDONLY | O_CLOEXEC);
	own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	lat = calloc(trials ? trials : 1, sizeof(*lat));
	if (prog_fd < 0 || a_ns < 0 || own_ns < 0 || !lat || !trials || trials > MAX_TRIALS) {
		fprintf(stderr, "sync_bench: no XDP program on %s, no namespace %s, or trials "
				"not 1 to %d\n",
			argv[0], argv[1], MAX_TRIALS);
		return 1;
	}
	snprintf(rcpt, sizeof(rcpt), "RCPT TO:<%s>\r\n", trap);
	for (unsigned int i = 0; i < trials; i++) {
		struct timespec poll = { 0, POLL_US * 1000 }, gap = { gap_ms / 1000,
								     (long)(gap_ms % 1000) * 1000000 };
		char src[64];
		uint8_t pkt[128];
		uint32_t len;
		double t0, dt;
		int fd, r;

		source_of(i, src, sizeof(src));
		len = bench_syn_frame(pkt, src, dst, dst, 8080);
		if (bench_xdp_drops(prog_fd, ifindex, pkt, len) != 0) {
			fprintf(stderr, "sync_bench: %s is dropped (or cannot be asked) before its trap hit\n",
				src);
			return 1;
		}
		fd = open_dialogue(a_ns, own_ns, src, port);
		if (fd < 0) {
			fprintf(stderr, "sync_bench: dialogue from %s: %s\n", src, strerror(-fd));
			return 1;
		}
		t0 = bench_now();
		if (say(fd, rcpt, NULL)) {
			fprintf(stderr, "sync_bench: RCPT from %s: %s\n", src, strerror(errno));
			return 1;
		}
		while ((r = bench_xdp_drops(prog_fd, ifindex, pkt, len)) == 0 && bench_now() - t0 < TIMEOUT_S)
			nanosleep(&poll, NULL);
		dt = bench_now() - t0;
		close(fd);
		if (r < 0) {
			fprintf(stderr, "sync_bench: asking for %s: %s\n", src, strerror(-r));
			return 1;
		}
		if (r)
			lat[n++] = dt * 1e3;
		else
			timeouts++;
		if (i % 50 == 0)
			printf("SAMPLE %s %s\n", src, r ? "blocked" : "timeout");
		nanosleep(&gap, NULL);
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	if (!n) {
		printf("RESULT sync=latency_%s trials=%u timeouts=%u\n", label, trials, timeouts);
		return 1;
	}
	printf("RESULT sync=latency_%s trials=%u timeouts=%u median_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f min_ms=%.3f\n",
	       label, trials, timeouts, bench_percentile(lat, n, 50), bench_percentile(lat, n, 90), bench_percentile(lat, n, 99),
	       lat[n - 1], lat[0]);
	return timeouts ? 1 : 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "follow"))
		return follow(argv[2], strtoul(argv[3], NULL, 10), argc == 5 ? atof(argv[4]) : STALL_S);
	if (argc == 11 && !strcmp(argv[1], "flood"))
		return flood(argv + 2);
	if (argc == 10 && !strcmp(argv[1], "latency"))
		return latency(argv + 2);
	fprintf(stderr, "usage: sync_bench follow LOG COUNT [STALL_S]\n"
			"       sync_bench flood SRC DST PORT KEYFILE RATE SECONDS EPOCH COUNTER INDEX\n"
			"       sync_bench latency IFNAME NETNS PORT TRAP TRIALS GAP_MS DST LABEL\n");
	return 2;
}
