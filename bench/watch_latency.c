// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * From a failed login's log line to the drop of its source's next packet.
 * Each trial appends one sshd line, "Invalid user NAME from ADDR port P"
 * in the syslog form, for a source never used before (write(2) on an
 * O_APPEND descriptor, the clock read just before), then asks until the
 * source is blocked:
 *
 *   xdp IFNAME   the XDP program attached to IFNAME (libxdp's dispatcher,
 *                which calls greywalld's program, or that program alone) is run with
 *                BPF_PROG_TEST_RUN on a TCP SYN from ADDR to DST, as if
 *                received on IFNAME, every POLL_US; blocked when it
 *                returns XDP_DROP. This is the program that judges the
 *                source's next real packet, with the maps as they are.
 *   file PATH    PATH (a ban action's output) holds a line "ADDR": for
 *                fail2ban, whose action writes it.
 *
 * Before each trial the source must not be blocked. Sources: 198.51.100.1
 * to .254, 203.0.113.1 to .254, then 2001:db8:14::1 onwards, so at most
 * 508 trials are IPv4. A trial that sees no drop within 2 s counts as a
 * timeout. Every 100th trial's source is printed ("SAMPLE ADDR") for the
 * caller to check with a real connection.
 *
 * Usage: watch_latency xdp IFNAME | file PATH   LOG NAME TRIALS GAP_MS DST4 DST6 LABEL
 * Output: "RESULT watch=latency_LABEL trials=N timeouts=T median_ms=.. p90_ms=..
 * p99_ms=.. max_ms=.. min_ms=.."
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "xdp_probe.h"
#include "lib/checksum.h"

#define POLL_US 20
#define TIMEOUT_S 2.0

struct target {
	bool xdp;
	int prog_fd;
	int ifindex;
	const char *path;	/* file mode */
	const char *dst4, *dst6;
};

static void source_of(unsigned int i, char *buf, size_t len)
{
	if (i < 254)
		snprintf(buf, len, "198.51.100.%u", i + 1);
	else if (i < 508)
		snprintf(buf, len, "203.0.113.%u", i - 253);
	else
		snprintf(buf, len, "2001:db8:14::%x", i - 507);
}

/* 1 blocked, 0 not, -errno */
static int blocked(const struct target *t, const char *src, const uint8_t *pkt, uint32_t len)
{
	if (t->xdp)
		return bench_xdp_drops(t->prog_fd, t->ifindex, pkt, len);
	char line[128];
	size_t n = strlen(src);
	FILE *f = fopen(t->path, "r");
	int found = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, src, n) && (line[n] == '\n' || line[n] == ' ');
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct target t = { 0 };
	unsigned int trials, gap_ms, n = 0, timeouts = 0;
	const char *name;
	double *lat;
	int log_fd;

	if (argc != 10 || (strcmp(argv[1], "xdp") && strcmp(argv[1], "file"))) {
		fprintf(stderr, "usage: watch_latency xdp IFNAME | file PATH   LOG NAME TRIALS GAP_MS "
				"DST4 DST6 LABEL\n");
		return 2;
	}
	t.xdp = !strcmp(argv[1], "xdp");
	name = argv[4];
	trials = (unsigned int)atoi(argv[5]);
	gap_ms = (unsigned int)atoi(argv[6]);
	t.dst4 = argv[7];
	t.dst6 = argv[8];
	if (t.xdp) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		uint32_t id;

		/* What the interface runs: libxdp's dispatcher (which calls greywall's
		 * program) or greywall's program alone, in whichever mode. */
		t.ifindex = (int)if_nametoindex(argv[2]);
		if (!t.ifindex || bpf_xdp_query(t.ifindex, 0, &q)) {
			fprintf(stderr, "watch_latency: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		id = q.prog_id ? q.prog_id : q.skb_prog_id ? q.skb_prog_id : q.drv_prog_id;
		t.prog_fd = id ? bpf_prog_get_fd_by_id(id) : -1;
		if (t.prog_fd < 0) {
			fprintf(stderr, "watch_latency: no XDP program on %s\n", argv[2]);
			return 1;
		}
	} else {
		t.path = argv[2];
	}
	log_fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	lat = calloc(trials ? trials : 1, sizeof(*lat));
	if (log_fd < 0 || !lat) {
		fprintf(stderr, "watch_latency: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	for (unsigned int i = 0; i < trials; i++) {
		struct timespec poll = { 0, POLL_US * 1000 }, gap = { gap_ms / 1000,
								     (long)(gap_ms % 1000) * 1000000 };
		char src[64], line[256], stamp[32];
		uint8_t pkt[128];
		uint32_t len;
		time_t now = time(NULL);
		double t0, dt;
		int len_line, r;

		source_of(i, src, sizeof(src));
		len = bench_syn_frame(pkt, src, t.dst4, t.dst6, 8080);
		if (blocked(&t, src, pkt, len) != 0) {
			fprintf(stderr, "watch_latency: %s is blocked (or cannot be asked) before its line\n",
				src);
			return 1;
		}
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", localtime(&now));
		len_line = snprintf(line, sizeof(line),
				    "%s gw sshd[%u]: Invalid user %s from %s port %u\n", stamp,
				    2000 + i, name, src, 40000 + i % 20000);
		t0 = bench_now();
		if (write(log_fd, line, (size_t)len_line) != len_line) {
			fprintf(stderr, "watch_latency: write: %s\n", strerror(errno));
			return 1;
		}
		while ((r = blocked(&t, src, pkt, len)) == 0 && bench_now() - t0 < TIMEOUT_S)
			nanosleep(&poll, NULL);
		dt = bench_now() - t0;
		if (r < 0) {
			fprintf(stderr, "watch_latency: asking for %s: %s\n", src, strerror(-r));
			return 1;
		}
		if (r)
			lat[n++] = dt * 1e3;
		else
			timeouts++;
		if (i % 100 == 0)
			printf("SAMPLE %s %s\n", src, r ? "blocked" : "timeout");
		nanosleep(&gap, NULL);
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	if (!n) {
		printf("RESULT watch=latency_%s trials=%u timeouts=%u\n", argv[9], trials, timeouts);
		return 1;
	}
	printf("RESULT watch=latency_%s trials=%u timeouts=%u median_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f min_ms=%.3f\n",
	       argv[9], trials, timeouts, bench_percentile(lat, n, 50), bench_percentile(lat, n, 90), bench_percentile(lat, n, 99),
	       lat[n - 1], lat[0]);
	return timeouts ? 1 : 0;
}
