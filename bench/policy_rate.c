// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Policy decisions per second and their latency: one client of Postfix's
 * SMTPD access policy protocol, the same for every server it is pointed at
 * (greywall's policy service, postgrey), on the same tuples.
 *
 * Tuple i is (client_address A(i), helo "mail.example.net", sender
 * "sender@example.net", recipient "rcpt-<base+i>@example.org"), where
 * A(i) walks the documentation networks 192.0.2.0/24, 198.51.100.0/24 and
 * 203.0.113.0/24 (hosts 1..254 of each). Each request carries the
 * attributes Postfix 3.7 sends at RCPT, an instance of its own per tuple.
 * Run twice with the same -b and the second run's tuples are repeated ones.
 *
 *   policy_rate (-t ADDR:PORT | -u PATH) [-n N] [-c C] [-1] [-b BASE]
 *               [-e EXPECT] [-N NAME]
 *
 * -c connections at a time; each keeps its connection for its next
 * request, as Postfix's policy client does, or with -1 opens one per
 * request. Every answer must start with "action=" EXPECT (default
 * DEFER_IF_PERMIT); others are counted as errors and printed (the first
 * few).
 *
 * Output: a summary line and
 *   RESULT policy=NAME_persistent|NAME_per-request n=N rate=R p50_us=P
 *          p99_us=Q errors=E
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/un.h>

#include "bench.h"

#define SLOTS_MAX 1024
#define ANSWER_MAX 4096
#define STALL_SECONDS 30
#define ERRORS_SHOWN 5

struct slot {
	int fd;
	uint32_t tuple;
	double sent;		/* when the request went (or the connect began) */
	size_t len;
	char answer[ANSWER_MAX];
};

static struct sockaddr_storage server;
static socklen_t server_len;
static unsigned int opt_n = 10000, opt_conc = 32, opt_base;
static bool opt_per_request;
static const char *opt_expect = "DEFER_IF_PERMIT";
static const char *opt_name = "server";

static uint32_t next_tuple, done, errors;
static double *latency;

/* Tuple i's client address: hosts .1 to .254 of the three documentation /24s in turn. */
static void tuple_client(uint32_t i, char *buf, size_t len)
{
	static const char *const nets[] = { "192.0.2", "198.51.100", "203.0.113" };

	snprintf(buf, len, "%s.%u", nets[i % 3], 1 + (i / 3) % 254);
}

static int request_text(uint32_t i, char *buf, size_t len)
{
	char client[32];

	tuple_client(i, client, sizeof(client));
	return snprintf(buf, len,
			"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
			"client_address=%s\nclient_name=unknown\nclient_port=%u\n"
			"reverse_client_name=unknown\nserver_address=192.0.2.1\nserver_port=25\n"
			"helo_name=mail.example.net\nsender=sender@example.net\n"
			"recipient=rcpt-%u@example.org\nrecipient_count=0\nqueue_id=\n"
			"instance=%x.%x.0\nsize=0\netrn_domain=\nstress=\nsasl_method=\n"
			"sasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\n"
			"ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\n"
			"encryption_cipher=\nencryption_keysize=0\npolicy_context=\n"
			"compatibility_level=3.6\nmail_version=3.7.11\n\n",
			client, 40000 + i % 20000, opt_base + i, opt_base + i, 0x5f3c9d1eu);
}

static int parse_target(const char *text, bool unix_path)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&server;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&server;
	const char *colon = strrchr(text, ':');
	char host[64];
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;

	memset(&server, 0, sizeof(server));
	if (unix_path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&server;

		if (strlen(text) >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, text);
		server_len = sizeof(*sun);
		return 0;
	}
	if (!colon || port <= 0 || port > 65535 || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		server_len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		server_len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static int open_connection(int epfd, struct slot *s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
	int fd = socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* A blocking connect: loopback and unix sockets complete it at once. */
	if (connect(fd, (struct sockaddr *)&server, server_len) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		close(fd);
		return err;
	}
	s->fd = fd;
	return 0;
}

static void close_connection(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* The slot's next tuple: (a connection and) its request. 1 when none is left. */
static int start_next(int epfd, struct slot *s)
{
	char req[2048];
	int len, ret;

	if (next_tuple >= opt_n) {
		close_connection(s);
		return 1;
	}
	s->tuple = next_tuple++;
	s->len = 0;
	s->sent = bench_now();
	if (s->fd < 0) {
		ret = open_connection(epfd, s);
		if (ret)
			return ret;
	}
	len = request_text(s->tuple, req, sizeof(req));
	/* The socket's buffer is empty: the server answered everything before. */
	if (write(s->fd, req, (size_t)len) != len)
		return -EIO;
	return 0;
}

/* Read what came: 1 with a whole answer ("...\n\n"), 0 for more, -errno. */
static int read_answer(struct slot *s)
{
	ssize_t n = read(s->fd, s->answer + s->len, sizeof(s->answer) - 1 - s->len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	s->len += (size_t)n;
	s->answer[s->len] = '\0';
	if (strstr(s->answer, "\n\n"))
		return 1;
	return s->len == sizeof(s->answer) - 1 ? -EMSGSIZE : 0;
}

static void check_answer(struct slot *s, double now)
{
	size_t elen = strlen(opt_expect);

	latency[done + errors] = now - s->sent;
	if (!strncmp(s->answer, "action=", 7) && !strncmp(s->answer + 7, opt_expect, elen)) {
		done++;
		return;
	}
	if (errors++ < ERRORS_SHOWN)
		fprintf(stderr, "policy_rate: tuple %u: %.*s\n", s->tuple,
			(int)strcspn(s->answer, "\n"), s->answer);
}

static int run(double *elapsed)
{
	static struct slot slots[SLOTS_MAX];
	struct epoll_event evs[64];
	double start, last_move;
	int epfd = epoll_create1(EPOLL_CLOEXEC), ret = 0;
	unsigned int active = 0;

	if (epfd < 0)
		return -errno;
	start = last_move = bench_now();
	for (unsigned int i = 0; i < opt_conc && !ret; i++) {
		slots[i].fd = -1;
		ret = start_next(epfd, &slots[i]);
		if (ret == 0)
			active++;
		else if (ret == 1)
			ret = 0;
	}
	while (!ret && active) {
		int n = epoll_wait(epfd, evs, 64, 1000);
		double now = bench_now();

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (n <= 0 && now - last_move > STALL_SECONDS) {
			fprintf(stderr, "policy_rate: no answer for %d s\n", STALL_SECONDS);
			ret = -ETIMEDOUT;
			break;
		}
		for (int e = 0; e < n && !ret; e++) {
			struct slot *s = evs[e].data.ptr;
			int r = read_answer(s);

			if (r == 0)
				continue;
			if (r < 0) {
				fprintf(stderr, "policy_rate: tuple %u: connection: %s\n", s->tuple,
					strerror(-r));
				ret = r;
				break;
			}
			last_move = now;
			check_answer(s, now);
			if (opt_per_request)
				close_connection(s);
			r = start_next(epfd, s);
			if (r == 1)
				active--;
			else if (r < 0)
				ret = r;
		}
	}
	*elapsed = bench_now() - start;
	for (unsigned int i = 0; i < opt_conc && i < SLOTS_MAX; i++)
		close_connection(&slots[i]);
	close(epfd);
	return ret;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s (-t ADDR:PORT | -u PATH) [-n N] [-c C] [-1] [-b BASE] [-e EXPECT]"
		" [-N NAME]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *target = NULL;
	bool unix_path = false;
	double elapsed;
	unsigned int answered;
	int opt, ret;

	while ((opt = getopt(argc, argv, "t:u:n:c:1b:e:N:")) != -1) {
		switch (opt) {
		case 't':
		case 'u':
			target = optarg;
			unix_path = opt == 'u';
			break;
		case 'n':
			opt_n = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opt_conc = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case '1':
			opt_per_request = true;
			break;
		case 'b':
			opt_base = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			opt_expect = optarg;
			break;
		case 'N':
			opt_name = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!target || !opt_n || !opt_conc || opt_conc > SLOTS_MAX || parse_target(target, unix_path))
		usage(argv[0]);
	bench_fd_limit();
	latency = calloc(opt_n, sizeof(*latency));
	if (!latency)
		return 1;
	ret = run(&elapsed);
	answered = done + errors;
	if (answered)
		qsort(latency, answered, sizeof(*latency), bench_cmp_double);
	printf("%s: %u policy requests (%s connections, %u at a time) in %.2f s: %.0f/s; p50 %.0f us,"
	       " p99 %.0f us; %u answered action=%s, %u otherwise%s\n",
	       opt_name, answered, opt_per_request ? "one per request" : "persistent", opt_conc,
	       elapsed, answered / elapsed,
	       answered ? 1e6 * bench_percentile(latency, answered, 50) : 0,
	       answered ? 1e6 * bench_percentile(latency, answered, 99) : 0, done, opt_expect,
	       errors, ret ? " (run failed)" : "");
	printf("RESULT policy=%s_%s n=%u rate=%.0f p50_us=%.0f p99_us=%.0f errors=%u\n",
	       opt_name, opt_per_request ? "per-request" : "persistent", answered,
	       answered / elapsed, answered ? 1e6 * bench_percentile(latency, answered, 50) : 0,
	       answered ? 1e6 * bench_percentile(latency, answered, 99) : 0,
	       errors + (ret ? 1 : 0));
	free(latency);
	return ret || errors || answered != opt_n ? 1 : 0;
}
