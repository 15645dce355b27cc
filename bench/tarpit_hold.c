// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit's holding benchmark: many concurrent connections, each sent about
 * a byte a second, held by greywall's tarpit or by endlessh, and what that
 * costs the server: resident memory per held connection and CPU time.
 *
 *   greywall  tarpit_run() (user/spamd/tarpit.c), the tarpit child's own server,
 *             with this program in the parent's place on the socketpair: it
 *             answers every CLASSIFY with CLASS BLACK, so every connection
 *             is stuttered one byte per second for its whole banner (the
 *             banner is made long enough to outlast the run).
 *   endlessh  Debian's endlessh -d 1000 -l 3: one 3-byte line per client per
 *             second, the closest it comes to one byte a second with one
 *             write a second per client (its shortest line is 3 bytes).
 *
 * A process here may hold at most 20,000 descriptors (a hard limit), so
 * neither server can hold 50,000 connections in one process: both run as
 * -w processes. greywall's share one port through SO_REUSEPORT listeners
 * (127.0.0.1 and ::1, as the tarpit listens); endlessh has no SO_REUSEPORT,
 * so each instance has its own port and the clients spread over them.
 * Memory and CPU are summed over the server processes.
 *
 * Everything runs in a network namespace of its own (unshare), on its
 * loopback: nothing leaves the machine, and nothing else sees the ports.
 * Clients (-c processes, epoll, read and discard) connect from 127.1.0.0 + i
 * and, every -6th, from ::1, at most CONNECTING_MAX connects in flight per
 * process. Once every connection has received its first byte, the run
 * settles for SETTLE_SECONDS, then samples for -t seconds:
 *
 *   RSS   VmRSS of the servers at the end, minus their VmRSS when idle
 *         (before any connection), divided by the connections held
 *   CPU   utime + stime the servers used in the window, % of one core
 *   rate  bytes the clients received in the window, per connection and
 *         second
 *   held  connections open at the end, from the clients' side, checked
 *         against the servers' open descriptors
 *
 * Output: a summary, then one "RESULT tarpit=..." line for bench/run.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "bench.h"
#include "spamd/privsep.h"
#include "spamd/tarpit.h"

#define SERVERS_MAX 8
#define CLIENTS_MAX 16
/* Connects in flight per client process: the listen queues stay short. */
#define CONNECTING_MAX 256
#define SETTLE_SECONDS 3
/* Descriptors a server keeps for itself: listeners, epoll, signalfd, stdio. */
#define SERVER_SPARE_FDS 32
#define PROGRESS_SECONDS 5

/*
 * The banner text: the longest a banner may be (SMTP_BANNER_MAX), so a
 * black client's stuttered banner lasts over 300 seconds, longer than a run.
 */
#define BANNER "greywall IP-based SPAM blocker. This host tarpits senders on its " \
	"blacklists: every byte of this reply is sent one second after the one before " \
	"it, for as long as the client stays, and the dialogue ends with a 450. Mail " \
	"from listed hosts is refused."

enum server_kind { GREYWALL, ENDLESSH };

static enum server_kind opt_kind;
static unsigned int opt_conns = 50000;
static unsigned int opt_servers = 3;
static unsigned int opt_clients = 4;
static unsigned int opt_seconds = 40;
static unsigned int opt_v6_every = 10;
static unsigned int opt_timeout = 240;
static uint16_t opt_port = 2525;
static const char *opt_endlessh = "endlessh";

/* What a client process reports, in shared memory; only it writes. */
struct client_stats {
	uint64_t bytes;		/* received */
	uint32_t connected;	/* handshakes completed */
	uint32_t fed;		/* connections that received at least one byte */
	uint32_t closed;	/* closed or reset by the server */
	uint32_t failed;	/* connects that failed */
	uint32_t waiting;	/* connecting, or connected and not fed yet */
	uint32_t done;		/* every connect was made */
	int first_error;	/* errno of the first failure */
};

struct server {
	pid_t pid;
	int fd;			/* greywall: our end of its socketpair; -1 */
	struct privsep_reader reader;
	struct privsep_writer writer;
	long idle_rss_kb, idle_fds;
	long rss_kb, fds;
	unsigned long long ticks0, ticks1;
	unsigned long long utime, stime;
};

static struct server servers[SERVERS_MAX];
static pid_t client_pids[CLIENTS_MAX];
static struct client_stats *stats;
static char log_path[] = "/tmp/gw-tarpit-hold-XXXXXX";

/* ---- /proc ------------------------------------------------------------ */

static long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return kb;
}

/* utime and stime, in clock ticks; 0 when the process is gone. */
static void proc_cpu(pid_t pid, unsigned long long *utime, unsigned long long *stime)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	*utime = *stime = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* After "(comm)", which may hold spaces: state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", utime, stime);
}

static long proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether a TCP socket listens on port in this namespace (endlessh's, dual stack). */
static bool port_listening(uint16_t port)
{
	const char *files[] = { "/proc/self/net/tcp6", "/proc/self/net/tcp" };
	char line[512], want[16];
	bool found = false;

	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(files[i], "r");

		while (f && !found && fgets(line, sizeof(line), f)) {
			char local[64], state[8];

			if (sscanf(line, "%*s %63s %*s %7s", local, state) == 2)
				found = strstr(local, want) && !strcmp(state, "0A");
		}
		if (f)
			fclose(f);
	}
	return found;
}

/* ---- the namespace -------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* A network namespace of our own with its loopback up and long listen queues. */
static int netns_setup(void)
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(fd);
	if (!ret)
		ret = write_file("/proc/sys/net/core/somaxconn", "65535");
	return ret;
}

/* ---- servers ------------------------------------------------------------ */

/* A listener as the tarpit's, sharing the port with the other servers. */
static int listen_on(bool v6, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = bench_server(v6, port, &ss);

	return tarpit_listen((struct sockaddr *)&ss, len, true);
}

/* In a child: stdout and stderr to the log, no descriptor of its siblings. */
static void child_prepare(unsigned int nservers)
{
	int logfd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);

	for (unsigned int i = 0; i < nservers; i++)
		if (servers[i].fd >= 0)
			close(servers[i].fd);
	if (logfd >= 0) {
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		close(logfd);
	}
	signal(SIGPIPE, SIG_IGN);
	bench_fd_limit();
}

static int greywall_start(unsigned int i)
{
	struct server *s = &servers[i];
	int listeners[2], sv[2];

	listeners[0] = listen_on(false, opt_port);
	listeners[1] = listen_on(true, opt_port);
	if (listeners[0] < 0 || listeners[1] < 0)
		return listeners[0] < 0 ? listeners[0] : listeners[1];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		struct tarpit_config cfg = {
			.listen_fds = listeners,
			.nlisten = 2,
			.parent_fd = sv[1],
			.hostname = "mx.example.org",
			.banner = BANNER,
			.black_code = 450,
			.stutter = 1,
			.greystutter = 10,
			.idle_timeout = 400,
			.max_data = 10 * 1024 * 1024,
		};
		int ret;

		close(sv[0]);
		child_prepare(i);
		cfg.maxcon = cfg.maxblack = (uint32_t)(bench_fd_limit() - SERVER_SPARE_FDS);
		ret = tarpit_run(&cfg, NULL);
		_exit(ret ? 1 : 0);
	}
	close(listeners[0]);
	close(listeners[1]);
	close(sv[1]);
	s->fd = sv[0];
	fcntl(s->fd, F_SETFL, O_NONBLOCK);
	privsep_writer_init(&s->writer, s->fd);
	return privsep_reader_init(&s->reader, s->fd);
}

static int endlessh_start(unsigned int i)
{
	struct server *s = &servers[i];
	uint16_t port = (uint16_t)(opt_port + i);
	char portstr[16], maxstr[16];

	s->fd = -1;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		child_prepare(i);
		snprintf(portstr, sizeof(portstr), "%u", port);
		snprintf(maxstr, sizeof(maxstr), "%llu",
			 (unsigned long long)(bench_fd_limit() - SERVER_SPARE_FDS));
		execlp(opt_endlessh, "endlessh", "-d", "1000", "-l", "3", "-m", maxstr, "-p",
		       portstr, (char *)NULL);
		fprintf(stderr, "tarpit_hold: cannot run %s: %s\n", opt_endlessh, strerror(errno));
		_exit(127);
	}
	for (int tries = 0; tries < 100; tries++) {
		if (port_listening(port))
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -ECHILD;
		}
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

/* The parent's part for greywall's servers: every connection is black. */
static void answer_servers(void)
{
	for (unsigned int i = 0; i < opt_servers; i++) {
		struct server *s = &servers[i];
		struct privsep_msg m;

		if (s->fd < 0)
			continue;
		while (privsep_receive(&s->reader, &m) == 1) {
			struct privsep_msg class = {
				.type = PRIVSEP_CLASS,
				.class = { .conn_id = m.classify.conn_id, .black = true,
					   .message = "", .lists = "bench" },
			};

			/* RCPTs never come: the clients send nothing. */
			if (m.type == PRIVSEP_CLASSIFY)
				privsep_send(&s->writer, &class);
		}
		privsep_flush(&s->writer);
	}
}

/* Serve the socketpairs (greywall) or just wait, for ms. */
static void serve(int ms)
{
	double until = bench_now() + ms / 1000.0;
	struct pollfd p[SERVERS_MAX];
	nfds_t n = 0;

	for (unsigned int i = 0; i < opt_servers; i++)
		if (servers[i].fd >= 0)
			p[n++] = (struct pollfd){ .fd = servers[i].fd, .events = POLLIN };
	for (;;) {
		double left = until - bench_now();

		if (left <= 0)
			break;
		if (!n) {
			usleep((useconds_t)(left * 1e6));
			break;
		}
		if (poll(p, n, (int)(left * 1000) + 1) > 0)
			answer_servers();
	}
}

/* Busy and total jiffies of the whole machine, from /proc/stat's "cpu" line. */
static void machine_cpu(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4]; /* not idle, not iowait */
	}
	fclose(f);
}

static unsigned long long clients_ticks(void)
{
	unsigned long long sum = 0, u, t;

	for (unsigned int k = 0; k < opt_clients; k++) {
		proc_cpu(client_pids[k], &u, &t);
		sum += u + t;
	}
	return sum;
}

static bool servers_alive(void)
{
	for (unsigned int i = 0; i < opt_servers; i++)
		if (servers[i].pid <= 0 || waitpid(servers[i].pid, NULL, WNOHANG) == servers[i].pid)
			return false;
	return true;
}

static void servers_stop(void)
{
	for (unsigned int i = 0; i < opt_servers; i++)
		if (servers[i].pid > 0)
			kill(servers[i].pid, SIGTERM);
	for (unsigned int i = 0; i < opt_servers; i++) {
		struct server *s = &servers[i];

		if (s->pid <= 0)
			continue;
		for (int tries = 0; tries < 100 && waitpid(s->pid, NULL, WNOHANG) != s->pid;
		     tries++) {
			if (tries == 99) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, NULL, 0);
			}
			usleep(50 * 1000);
		}
		s->pid = 0;
		if (s->fd >= 0) {
			privsep_reader_free(&s->reader);
			privsep_writer_free(&s->writer);
			close(s->fd);
			s->fd = -1;
		}
	}
}

/* ---- clients ------------------------------------------------------------ */

enum conn_state { C_CONNECTING = 1, C_CONNECTED, C_FED, C_CLOSED };

/* Client process k: connections k, k + C, k + 2C, ...; reads and discards. */
static void __attribute__((noreturn)) client_main(unsigned int k)
{
	struct client_stats *st = &stats[k], local = { 0 };
	uint32_t count = (opt_conns - k + opt_clients - 1) / opt_clients, next = 0;
	uint8_t *state = calloc(count, 1);
	int *fds = calloc(count, sizeof(*fds)), epfd = epoll_create1(EPOLL_CLOEXEC);
	uint32_t connecting = 0;
	struct epoll_event ev[256];
	static char buf[4096];

	if (!state || !fds || epfd < 0)
		_exit(2);
	for (;;) {
		while (next < count && connecting < CONNECTING_MAX) {
			uint32_t j = k + next * opt_clients;
			bool v6 = opt_v6_every && j % opt_v6_every == opt_v6_every - 1;
			uint16_t port = (uint16_t)(opt_port + (opt_kind == ENDLESSH ? j % opt_servers : 0));
			struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
						 .data.u32 = next };
			int fd = bench_connect(j, v6, port);

			if (fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e)) {
				close(fd);
				fd = -errno;
			}
			if (fd < 0) {
				local.failed++;
				if (!local.first_error)
					local.first_error = -fd;
				state[next++] = C_CLOSED;
				continue;
			}
			fds[next] = fd;
			state[next++] = C_CONNECTING;
			connecting++;
			local.waiting++;
		}
		local.done = next == count;
		for (int n = epoll_wait(epfd, ev, 256, 100), i = 0; i < n; i++) {
			uint32_t m = ev[i].data.u32;

			if (state[m] == C_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);

				if (!(ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				connecting--;
				getsockopt(fds[m], SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					local.failed++;
					local.waiting--;
					if (!local.first_error)
						local.first_error = err;
					close(fds[m]);
					state[m] = C_CLOSED;
					continue;
				}
				state[m] = C_CONNECTED;
				local.connected++;
			}
			while (state[m] == C_CONNECTED || state[m] == C_FED) {
				ssize_t got = read(fds[m], buf, sizeof(buf));

				if (got < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (got > 0) {
					local.bytes += (uint64_t)got;
					if (state[m] == C_CONNECTED) {
						state[m] = C_FED;
						local.fed++;
						local.waiting--;
					}
					continue;
				}
				local.waiting -= state[m] == C_CONNECTED;
				local.closed++;
				close(fds[m]);
				state[m] = C_CLOSED;
			}
		}
		__atomic_store_n(&st->bytes, local.bytes, __ATOMIC_RELAXED);
		__atomic_store_n(&st->connected, local.connected, __ATOMIC_RELAXED);
		__atomic_store_n(&st->fed, local.fed, __ATOMIC_RELAXED);
		__atomic_store_n(&st->closed, local.closed, __ATOMIC_RELAXED);
		__atomic_store_n(&st->failed, local.failed, __ATOMIC_RELAXED);
		__atomic_store_n(&st->waiting, local.waiting, __ATOMIC_RELAXED);
		__atomic_store_n(&st->first_error, local.first_error, __ATOMIC_RELAXED);
		__atomic_store_n(&st->done, local.done, __ATOMIC_RELEASE);
	}
}

static int clients_start(void)
{
	for (unsigned int k = 0; k < opt_clients; k++) {
		client_pids[k] = fork();
		if (client_pids[k] < 0)
			return -errno;
		if (client_pids[k] == 0) {
			child_prepare(opt_servers);
			client_main(k);
		}
	}
	return 0;
}

static void clients_stop(void)
{
	for (unsigned int k = 0; k < opt_clients; k++)
		if (client_pids[k] > 0)
			kill(client_pids[k], SIGKILL);
	for (unsigned int k = 0; k < opt_clients; k++)
		if (client_pids[k] > 0)
			waitpid(client_pids[k], NULL, 0);
}

/* The clients' counters, summed. */
static struct client_stats clients_sum(void)
{
	struct client_stats sum = { .done = 1 };

	for (unsigned int k = 0; k < opt_clients; k++) {
		const struct client_stats *st = &stats[k];
		int err = __atomic_load_n(&st->first_error, __ATOMIC_RELAXED);

		sum.done &= __atomic_load_n(&st->done, __ATOMIC_ACQUIRE);
		sum.bytes += __atomic_load_n(&st->bytes, __ATOMIC_RELAXED);
		sum.connected += __atomic_load_n(&st->connected, __ATOMIC_RELAXED);
		sum.fed += __atomic_load_n(&st->fed, __ATOMIC_RELAXED);
		sum.closed += __atomic_load_n(&st->closed, __ATOMIC_RELAXED);
		sum.failed += __atomic_load_n(&st->failed, __ATOMIC_RELAXED);
		sum.waiting += __atomic_load_n(&st->waiting, __ATOMIC_RELAXED);
		if (!sum.first_error)
			sum.first_error = err;
	}
	return sum;
}

/* ---- the run ------------------------------------------------------------- */

static void log_tail(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "tail -5 %s | sed 's/^/  server log: /' >&2", log_path);
	if (system(cmd) < 0)
		perror("tail");
}

/* Open every connection and wait until each has had its first byte. */
static bool connect_all(double *seconds)
{
	double start = bench_now(), report = start + PROGRESS_SECONDS;
	struct client_stats sum;

	for (;;) {
		serve(100);
		sum = clients_sum();
		if (sum.done && !sum.waiting)
			break;
		if (!servers_alive()) {
			fprintf(stderr, "tarpit_hold: a server process ended\n");
			return false;
		}
		if (bench_now() >= report) {
			fprintf(stderr, "  %.0f s: %u connected, %u fed, %u closed, %u failed\n",
				bench_now() - start, sum.connected, sum.fed, sum.closed, sum.failed);
			report += PROGRESS_SECONDS;
		}
		if (bench_now() - start > opt_timeout) {
			fprintf(stderr, "tarpit_hold: not every connection was fed in %u s\n",
				opt_timeout);
			break;
		}
	}
	*seconds = bench_now() - start;
	if (sum.failed)
		fprintf(stderr, "tarpit_hold: %u connects failed (first: %s)\n", sum.failed,
			strerror(sum.first_error));
	return true;
}

static void sample_servers(bool end)
{
	for (unsigned int i = 0; i < opt_servers; i++) {
		struct server *s = &servers[i];
		unsigned long long u, t;

		proc_cpu(s->pid, &u, &t);
		if (!end) {
			s->ticks0 = u + t;
			s->utime = u;
			s->stime = t;
			continue;
		}
		s->ticks1 = u + t;
		s->utime = u - s->utime;
		s->stime = t - s->stime;
		s->rss_kb = proc_status_kb(s->pid, "VmRSS");
		s->fds = proc_fds(s->pid);
	}
}

static const char *kind_name(void)
{
	return opt_kind == GREYWALL ? "greywall" : "endlessh";
}

static int run(void)
{
	struct client_stats before, after;
	double connect_s, t0, t1, window, rate, cpu_s, writes, busy, clients_pct;
	unsigned long long ticks = 0, utime = 0, stime = 0, busy0, busy1, total0, total1;
	unsigned long long client0, client1;
	/* What one write sends: a stuttered byte, or an endlessh line of 3. */
	unsigned int write_bytes = opt_kind == GREYWALL ? 1 : 3;
	long idle_kb = 0, rss_kb = 0, server_held = 0;
	long hz = sysconf(_SC_CLK_TCK);
	uint32_t held;
	int ret = 0;

	for (unsigned int i = 0; i < opt_servers; i++)
		servers[i].fd = -1;
	for (unsigned int i = 0; i < opt_servers && !ret; i++)
		ret = opt_kind == GREYWALL ? greywall_start(i) : endlessh_start(i);
	if (ret) {
		fprintf(stderr, "tarpit_hold: starting %s: %s\n", kind_name(), strerror(-ret));
		log_tail();
		return ret;
	}
	serve(1000);
	for (unsigned int i = 0; i < opt_servers; i++) {
		servers[i].idle_rss_kb = proc_status_kb(servers[i].pid, "VmRSS");
		servers[i].idle_fds = proc_fds(servers[i].pid);
	}
	ret = clients_start();
	if (ret || !connect_all(&connect_s)) {
		log_tail();
		return ret ? ret : -EIO;
	}
	serve(SETTLE_SECONDS * 1000);
	before = clients_sum();
	sample_servers(false);
	machine_cpu(&busy0, &total0);
	client0 = clients_ticks();
	t0 = bench_now();
	serve((int)opt_seconds * 1000);
	after = clients_sum();
	sample_servers(true);
	machine_cpu(&busy1, &total1);
	client1 = clients_ticks();
	t1 = bench_now();
	window = t1 - t0;

	held = after.connected - after.closed;
	printf("%s: %u server processes%s, %u connections from %u client processes "
	       "(every %u%s over IPv6), sampled %.1f s\n",
	       kind_name(), opt_servers,
	       opt_kind == GREYWALL ? " on one port (SO_REUSEPORT)" : " on their own ports",
	       opt_conns, opt_clients, opt_v6_every, opt_v6_every == 1 ? "st" : "th", window);
	if (opt_kind == ENDLESSH)
		printf("endlessh -d 1000 -l 3 -m %llu (one 3-byte line per client a second)\n",
		       (unsigned long long)(bench_fd_limit() - SERVER_SPARE_FDS));
	else
		printf("tarpit_run, every client black: stutter 1 s, banner text of %zu bytes\n",
		       strlen(BANNER));
	printf("connecting: %u connected in %.1f s, %u failed, %u closed by then\n",
	       before.connected, connect_s, before.failed, before.closed);
	printf("%-8s %8s %8s %12s %12s %10s %10s\n", "server", "pid", "conns", "idle RSS kB",
	       "RSS kB", "user s", "system s");
	for (unsigned int i = 0; i < opt_servers; i++) {
		struct server *s = &servers[i];

		printf("%-8u %8d %8ld %12ld %12ld %10.2f %10.2f\n", i, (int)s->pid,
		       s->fds - s->idle_fds, s->idle_rss_kb, s->rss_kb, (double)s->utime / hz,
		       (double)s->stime / hz);
		ticks += s->ticks1 - s->ticks0;
		utime += s->utime;
		stime += s->stime;
		idle_kb += s->idle_rss_kb;
		rss_kb += s->rss_kb;
		server_held += s->fds - s->idle_fds;
	}
	printf("held connections:        %u (the servers hold %ld descriptors more than idle)\n",
	       held, server_held);
	printf("connections lost in the window: %u\n", after.closed - before.closed);
	if (!held) {
		fprintf(stderr, "tarpit_hold: no connection held\n");
		return -EIO;
	}
	cpu_s = (double)ticks / hz;
	rate = (double)(after.bytes - before.bytes) / window / held;
	writes = (double)(after.bytes - before.bytes) / write_bytes;
	printf("RSS per held connection: %.1f bytes (%ld kB held, idle %ld kB)\n",
	       (double)(rss_kb - idle_kb) * 1024 / held, rss_kb, idle_kb);
	printf("CPU:                     %.1f%% of one core (%.2f s in %.1f s: user %.2f s, "
	       "system %.2f s)\n",
	       cpu_s / window * 100, cpu_s, window, (double)utime / hz, (double)stime / hz);
	printf("delivered:               %.2f bytes/s per connection (%llu bytes), "
	       "%.2f writes/s per connection\n",
	       rate, (unsigned long long)(after.bytes - before.bytes), rate / write_bytes);
	printf("CPU per write:           %.2f us\n", writes ? cpu_s / writes * 1e6 : 0);
	busy = total1 > total0 ? (double)(busy1 - busy0) / (double)(total1 - total0) * 100 : 0;
	clients_pct = (double)(client1 - client0) / hz / window * 100;
	printf("machine:                 %.0f%% of %ld CPUs busy in the window; the clients "
	       "%.0f%% of one core\n",
	       busy, sysconf(_SC_NPROCESSORS_ONLN), clients_pct);
	printf("RESULT tarpit=%s conns=%u held=%u server_held=%ld rss_per_conn=%.1f cpu_pct=%.2f "
	       "bytes_per_s=%.3f writes_per_s=%.3f cpu_us_per_write=%.2f connect_s=%.1f lost=%u "
	       "failed=%u busy_pct=%.0f clients_pct=%.0f\n",
	       kind_name(), opt_conns, held, server_held, (double)(rss_kb - idle_kb) * 1024 / held,
	       cpu_s / window * 100, rate, rate / write_bytes, writes ? cpu_s / writes * 1e6 : 0,
	       connect_s, after.closed - before.closed, after.failed, busy, clients_pct);
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n conns] [-w servers] [-c clients] [-t seconds] [-6 every] [-p port]\n"
		"          [-T timeout] [-e endlessh] greywall|endlessh\n"
		"  -n conns     connections to hold (default 50000)\n"
		"  -w servers   server processes (default 3; at most %d)\n"
		"  -c clients   client processes (default 4; at most %d)\n"
		"  -t seconds   sampling window (default 40)\n"
		"  -6 every     every Nth connection over IPv6 from ::1 (default 10; 0: none)\n"
		"  -p port      greywall's port, endlessh's first (default 2525)\n"
		"  -T timeout   seconds to wait for every connection's first byte (default 240)\n"
		"  -e endlessh  the endlessh binary (default: endlessh from PATH)\n"
		"Runs in a network namespace of its own: needs root.\n",
		prog, SERVERS_MAX, CLIENTS_MAX);
	exit(2);
}

int main(int argc, char **argv)
{
	rlim_t limit;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:w:c:t:6:p:T:e:")) != -1) {
		switch (opt) {
		case 'n':
			opt_conns = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			opt_servers = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			opt_clients = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			opt_seconds = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case '6':
			opt_v6_every = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			opt_port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			opt_timeout = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			opt_endlessh = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc - 1 || !opt_conns || !opt_servers || opt_servers > SERVERS_MAX ||
	    !opt_clients || opt_clients > CLIENTS_MAX || !opt_seconds || opt_port < 1024 ||
	    opt_port + opt_servers > 65535)
		usage(argv[0]);
	if (!strcmp(argv[optind], "greywall"))
		opt_kind = GREYWALL;
	else if (!strcmp(argv[optind], "endlessh"))
		opt_kind = ENDLESSH;
	else
		usage(argv[0]);
	limit = bench_fd_limit();
	if ((rlim_t)opt_conns / opt_clients + 64 > limit ||
	    (rlim_t)opt_conns / opt_servers * 21 / 20 + SERVER_SPARE_FDS > limit) {
		fprintf(stderr, "tarpit_hold: %u connections need more processes: %llu descriptors "
			"each at most\n", opt_conns, (unsigned long long)limit);
		return 2;
	}
	if (opt_conns > 0xffffff) {
		fprintf(stderr, "tarpit_hold: at most %u connections (127.1.0.0 + i)\n", 0xffffff);
		return 2;
	}
	ret = netns_setup();
	if (ret) {
		fprintf(stderr, "tarpit_hold: a network namespace of our own: %s (root?)\n",
			strerror(-ret));
		return 1;
	}
	stats = mmap(NULL, CLIENTS_MAX * sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ret = mkstemp(log_path);
	if (stats == MAP_FAILED || ret < 0) {
		perror("tarpit_hold");
		return 1;
	}
	close(ret);
	signal(SIGPIPE, SIG_IGN);
	fflush(stdout);
	ret = run();
	clients_stop();
	servers_stop();
	unlink(log_path);
	return ret ? 1 : 0;
}
