// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A SYN flood from one source, as fast as one CPU can send it, for
 * bench/wire.sh: one Ethernet/IPv4/TCP SYN frame (54 bytes, checksums
 * right) written over and over to an AF_PACKET socket bound to a veth,
 * with PACKET_QDISC_BYPASS (the frame goes straight to the driver's
 * xmit, no qdisc) and sendmmsg() of a batch of frames per system call.
 * The frame is the same every time: each send is still its own skb, and
 * the receiver's enforcer decides on the source address alone.
 *
 * The sender pins itself to one CPU (-c) and sends for a fixed time (-t).
 * A full veth ring is not an error: the kernel drops the frame and counts
 * it (the receiving side reports it); a send that fails with ENOBUFS or
 * EAGAIN is retried and counted as "busy".
 *
 * Nothing leaves the namespace the socket is in: the frame goes to the
 * veth given, and wire.sh only gives it documentation addresses.
 *
 * Usage: wire_send -i IF -s SRC -d DST -m DSTMAC [-t SECONDS] [-c CPU] [-b BATCH] [-p PORT]
 * With -x the frames are sent as XDP frames instead (see send_live()).
 *
 * Output: "RESULT wire_send sent=N busy=N seconds=S pps=R".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "bench.h"
#include "wire_frame.h"

#define BATCH_MAX 1024
/* BPF_PROG_TEST_RUN repeats per call in -x mode: about 10-50 ms of sending. */
#define LIVE_REPEAT (1U << 15)

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IF -s SRC -d DST -m DSTMAC [-t SECONDS] [-c CPU] [-b BATCH] [-p PORT]\n"
		"  -i IF       the interface to send on (AF_PACKET, qdisc bypassed)\n"
		"  -s SRC      the IPv4 source of the SYNs\n"
		"  -d DST      the IPv4 destination\n"
		"  -m DSTMAC   the destination MAC (the receiving veth's)\n"
		"  -t SECONDS  how long to send (default 5)\n"
		"  -c CPU      pin to this CPU (default: not pinned)\n"
		"  -b BATCH    frames per sendmmsg() (default 256, at most %d)\n"
		"  -p PORT     the TCP destination port (default 25)\n"
		"  -x          send as XDP frames (BPF_PROG_TEST_RUN live frames redirected\n"
		"              to IF) instead of AF_PACKET\n",
		prog, BATCH_MAX);
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "wire_send: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/*
 * -x: the frame handed to the driver as an XDP frame, as a NIC's receive
 * path would have it. A four-instruction XDP program returns
 * bpf_redirect(IF) and BPF_PROG_TEST_RUN runs it in live-frames mode
 * (what xdp-trafficgen does): each repeat puts the frame into a page of
 * the test run's pool and redirects it out of IF, a veth, whose peer
 * receives it as an xdp_frame, not an skb. Returns the frames sent.
 */
static unsigned long long send_live(int ifindex, uint8_t *frame, double end)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = ifindex },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct xdp_md ctx = { .data_end = FRAME_LEN };
	unsigned long long sent = 0;
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "wire_send", "GPL", prog, sizeof(prog) / sizeof(prog[0]),
			   NULL);
	if (fd < 0)
		die("load the redirect program");
	do {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = FRAME_LEN,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = LIVE_REPEAT,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(fd, &opts))
			die("BPF_PROG_TEST_RUN (live frames)");
		sent += LIVE_REPEAT;
	} while (bench_now() < end);
	close(fd);
	return sent;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *src_s = NULL, *dst_s = NULL, *mac_s = NULL;
	double seconds = 5;
	int cpu = -1, opt, fd, one = 1;
	bool live = false;
	unsigned int batch = 256;
	uint16_t port = 25;
	uint8_t frame[FRAME_LEN], dst_mac[6], src_mac[6];
	struct in_addr src, dst;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	struct ifreq ifr;
	static struct mmsghdr msgs[BATCH_MAX];
	struct iovec iov;
	unsigned long long sent = 0, busy = 0;
	double t0, t1, end;

	while ((opt = getopt(argc, argv, "i:s:d:m:t:c:b:p:xh")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 's': src_s = optarg; break;
		case 'd': dst_s = optarg; break;
		case 'm': mac_s = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		case 'b': batch = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'x': live = true; break;
		default: usage(argv[0]);
		}
	}
	if (!ifname || !src_s || !dst_s || !mac_s || seconds <= 0 || !batch || batch > BATCH_MAX)
		usage(argv[0]);
	if (inet_pton(AF_INET, src_s, &src) != 1 || inet_pton(AF_INET, dst_s, &dst) != 1) {
		fprintf(stderr, "wire_send: not an IPv4 address: %s or %s\n", src_s, dst_s);
		return 2;
	}
	if (parse_mac(mac_s, dst_mac)) {
		fprintf(stderr, "wire_send: not a MAC address: %s\n", mac_s);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("sched_setaffinity");
	}

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		die("socket(AF_PACKET)");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		die(ifname);
	memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_protocol = htons(ETH_P_IP);
	memcpy(sll.sll_addr, dst_mac, 6);
	if (!sll.sll_ifindex)
		die(ifname);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind");
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("PACKET_QDISC_BYPASS");

	build_syn(frame, dst_mac, src_mac, src, dst, port);
	iov.iov_base = frame;
	iov.iov_len = FRAME_LEN;
	for (unsigned int i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = bench_now();
	end = t0 + seconds;
	if (live) {
		sent = send_live(sll.sll_ifindex, frame, end);
		goto done;
	}
	do {
		/* The clock is read once a batch: about every 100 us at full speed. */
		int n = sendmmsg(fd, msgs, batch, 0);

		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
				die("sendmmsg");
			busy++;
			continue;
		}
		sent += (unsigned int)n;
	} while (bench_now() < end);
done:
	t1 = bench_now();
	close(fd);
	printf("RESULT wire_send sent=%llu busy=%llu seconds=%.3f pps=%.0f\n", sent, busy, t1 - t0,
	       (double)sent / (t1 - t0));
	return 0;
}
