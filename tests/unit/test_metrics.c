// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics endpoint's pure parts and the parent's render: the
 * exposition writer (HELP and TYPE lines, samples, label and HELP
 * escaping, name checks, its bound), the HTTP request parser and answer
 * heads, and metrics_render() over a daemon built here (config from a
 * string, a store in a temporary directory, tables without maps) with
 * real per-CPU maps for the data path's counters, checked line by line
 * against the format and for the values it put there.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon.h"
#include "metrics/expo.h"
#include "metrics/http.h"
#include "metrics/render.h"
#include "metrics/server.h"
#include "spamd/privsep.h"
#include "spamd/spamd.h"

static char *text_of(const struct expo *e)
{
	static char buf[1 << 16];

	snprintf(buf, sizeof(buf), "%.*s", (int)e->len, e->buf ? e->buf : "");
	return buf;
}

static void test_expo_format(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	CHECK_INT(expo_family(&e, "greywall_x_total", EXPO_COUNTER, "Things, counted."), 0,
		  "a counter family");
	CHECK_INT(expo_sample(&e, NULL, 0, 7), 0, "a sample without labels");
	CHECK_INT(expo_family(&e, "greywall_y", EXPO_GAUGE, "A level."), 0, "a gauge family");
	CHECK_INT(expo_sample2(&e, "table", "a", "kind", "host", 18446744073709551615ull), 0,
		  "a sample with two labels, the largest value");
	CHECK_STR(text_of(&e),
		  "# HELP greywall_x_total Things, counted.\n"
		  "# TYPE greywall_x_total counter\n"
		  "greywall_x_total 7\n"
		  "# HELP greywall_y A level.\n"
		  "# TYPE greywall_y gauge\n"
		  "greywall_y{table=\"a\",kind=\"host\"} 18446744073709551615\n",
		  "HELP, TYPE and samples as the format writes them");

	expo_reset(&e);
	expo_family(&e, "greywall_z", EXPO_GAUGE, "Back\\slash and\nline break, \"quoted\".");
	expo_sample2(&e, "watcher", "a\\b\"c\nd", NULL, NULL, 1);
	CHECK_STR(text_of(&e),
		  "# HELP greywall_z Back\\\\slash and\\nline break, \"quoted\".\n"
		  "# TYPE greywall_z gauge\n"
		  "greywall_z{watcher=\"a\\\\b\\\"c\\nd\"} 1\n",
		  "HELP escapes backslash and line break, a label value the quote too");
	expo_free(&e);
}

static void test_expo_refusals(void)
{
	struct expo e;

	expo_init(&e, 1 << 20);
	CHECK_INT(expo_sample(&e, NULL, 0, 1), -EINVAL, "a sample before any family");
	expo_reset(&e);
	CHECK_INT(expo_family(&e, "greywall_x", EXPO_COUNTER, "h"), -EINVAL,
		  "a counter without _total");
	expo_reset(&e);
	CHECK_INT(expo_family(&e, "greywall_x_total", EXPO_GAUGE, "h"), -EINVAL,
		  "a gauge with _total");
	expo_reset(&e);
	CHECK_INT(expo_family(&e, "9lives", EXPO_GAUGE, "h"), -EINVAL,
		  "a name that begins with a digit");
	expo_reset(&e);
	CHECK_INT(expo_family(&e, "greywall-x", EXPO_GAUGE, "h"), -EINVAL, "a name with a dash");
	expo_reset(&e);
	expo_family(&e, "greywall_x", EXPO_GAUGE, "h");
	CHECK_INT(expo_sample2(&e, "__name__", "v", NULL, NULL, 1), -EINVAL,
		  "a reserved label name");
	expo_reset(&e);
	expo_family(&e, "greywall_x", EXPO_GAUGE, "h");
	CHECK_INT(expo_sample2(&e, "a:b", "v", NULL, NULL, 1), -EINVAL,
		  "a label name with a colon");
	CHECK_INT(expo_family(&e, "greywall_y", EXPO_GAUGE, "h"), -EINVAL,
		  "after an error every call fails");
	CHECK(expo_name_valid("greywall:x_y9", 0), "a metric name may hold a colon");
	expo_free(&e);

	expo_init(&e, 64);
	expo_family(&e, "greywall_x", EXPO_GAUGE, "h");
	for (int i = 0; i < 10; i++)
		expo_sample(&e, NULL, 0, 1);
	CHECK_INT(e.err, -E2BIG, "the text stops at its bound");
	CHECK(e.len <= 64, "and holds no more than it (%zu)", e.len);
	expo_free(&e);
}

static void check_http(const char *req, enum http_result want, bool want_head, const char *what)
{
	bool head = !want_head;

	CHECK_INT(http_parse(req, strlen(req), &head), want, "%s", what);
	if (want == HTTP_SERVE)
		CHECK(head == want_head, "%s: HEAD %s", what, want_head ? "seen" : "not seen");
}

static void test_http(void)
{
	char big[HTTP_REQUEST_MAX + 1], many[HTTP_REQUEST_MAX], head[256];
	size_t n = 0;
	bool h;

	check_http("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_SERVE, false, "GET /metrics");
	check_http("HEAD /metrics HTTP/1.0\r\n\r\n", HTTP_SERVE, true, "HEAD /metrics");
	check_http("GET /metrics?name[]=x HTTP/1.1\n\n", HTTP_SERVE, false,
		   "a query, bare line feeds");
	check_http("GET /metrics HTTP/1.1\r\nHost: x\r\n", HTTP_INCOMPLETE, false,
		   "no empty line yet");
	check_http("GET /metr", HTTP_INCOMPLETE, false, "half a request line");
	check_http("GET / HTTP/1.1\r\n\r\n", HTTP_NOT_FOUND, false, "another path");
	check_http("GET /metricsx HTTP/1.1\r\n\r\n", HTTP_NOT_FOUND, false, "a longer path");
	check_http("GET http://h/metrics HTTP/1.1\r\n\r\n", HTTP_NOT_FOUND, false,
		   "the absolute form");
	check_http("POST /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", HTTP_BAD_METHOD, false,
		   "POST");
	check_http("get /metrics HTTP/1.1\r\n\r\n", HTTP_BAD_METHOD, false,
		   "methods are case-sensitive");
	check_http("GET /metrics HTTP/2.0\r\n\r\n", HTTP_BAD_VERSION, false, "HTTP/2.0");
	check_http("GET /metrics HTTP/1.1 \r\n\r\n", HTTP_BAD_REQUEST, false,
		   "a space after the version");
	check_http("GET  /metrics HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, false, "two spaces");
	check_http("GET /metrics\r\n\r\n", HTTP_BAD_REQUEST, false, "HTTP/0.9's form");
	check_http("GET /metrics FTP/1.1\r\n", HTTP_BAD_REQUEST, false,
		   "a bad request line is refused before the head ends");
	check_http("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "an obsolete line folding");
	check_http("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "a header without a colon");
	check_http("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "a space before the colon");
	check_http("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "a CR inside a line");
	check_http("GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "a control byte in a value");
	check_http("GET /metrics HTTP/1.1\r\nA: b\rc", HTTP_BAD_REQUEST, false,
		   "a CR inside a partial line");
	check_http("\r\nGET /metrics HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST, false,
		   "an empty line first");
	CHECK_INT(http_parse("GET /metrics HTTP/1.1\r\nA: \0\r\n\r\n", 30, &h), HTTP_BAD_REQUEST,
		  "a NUL byte");

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	CHECK_INT(http_parse(big, HTTP_REQUEST_MAX, &h), HTTP_TOO_LARGE,
		  "no end within HTTP_REQUEST_MAX");
	CHECK_INT(http_parse(big, sizeof(big), &h), HTTP_TOO_LARGE, "more than HTTP_REQUEST_MAX");
	n = (size_t)snprintf(many, sizeof(many), "GET /metrics HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "A: b\r\n");
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	CHECK_INT(http_parse(many, n, &h), HTTP_TOO_LARGE, "more than HTTP_HEADERS_MAX headers");

	CHECK(http_answer_head(HTTP_BAD_METHOD, 5, head, sizeof(head)) > 0, "405's head");
	CHECK(strstr(head, "HTTP/1.1 405 Method Not Allowed\r\n") == head, "405's status line");
	CHECK(strstr(head, "\r\nAllow: GET, HEAD\r\n"), "405 says what is allowed");
	CHECK(http_answer_head(HTTP_SERVE, 1234, head, sizeof(head)) > 0, "200's head");
	CHECK(strstr(head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
	      "200 names the exposition format");
	CHECK(strstr(head, "\r\nContent-Length: 1234\r\n"), "200 gives the length");
	CHECK(strstr(head, "\r\nConnection: close\r\n\r\n"), "every answer closes");
	CHECK_INT(http_answer_head(HTTP_SERVE, 1, head, 20), -ENOSPC, "a head too long for out");
	CHECK(http_unavailable_head(3, head, sizeof(head)) > 0 &&
		      strstr(head, "HTTP/1.1 503 Service Unavailable\r\n") == head,
	      "503's head");
}

/*
 * The text, line by line, as Prometheus reads it: HELP, then TYPE, of a
 * family named once, then its samples (name{labels} value) and nothing
 * else. Returns the number of bad lines (and says which).
 */
static int format_errors(const char *text)
{
	char family[128] = "", line[4096], seen[64][128];
	size_t nseen = 0;
	int bad = 0, want = 0; /* 0: HELP or sample, 1: TYPE */

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char name[128];

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (nl ? 1 : 0);
		if (sscanf(line, "# HELP %127s ", name) == 1 && want == 0) {
			for (size_t i = 0; i < nseen; i++)
				bad += !strcmp(seen[i], name);
			if (nseen < 64)
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			snprintf(family, sizeof(family), "%s", name);
			want = 1;
			continue;
		}
		if (want == 1) {
			char type[16];

			want = 0;
			if (sscanf(line, "# TYPE %127s %15s", name, type) == 2 &&
			    !strcmp(name, family) &&
			    (!strcmp(type, "counter") || !strcmp(type, "gauge")))
				continue;
		} else if (family[0] && !strncmp(line, family, strlen(family)) &&
			   (line[strlen(family)] == ' ' || line[strlen(family)] == '{')) {
			const char *value = strrchr(line, ' ');
			char *end;

			if (value && value[1] && (strtoull(value + 1, &end, 10), !*end))
				continue;
		}
		printf("# bad line: %s\n", line);
		bad++;
	}
	return bad;
}

static int percpu_array(uint32_t value_size, uint32_t entries)
{
	return bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, NULL, 4, value_size, entries, NULL);
}

static void test_render(void)
{
	static const char conf_fmt[] = "set state-dir \"%s\"\n"
				       "table <bruteforce> persist counters\n"
				       "table <nets> const { 192.0.2.0/24 }\n"
				       "block drop quick from <bruteforce>\n"
				       "pass in proto tcp to port { 25, 587 }\n";
	static char dir[] = "/tmp/gw-metrics-XXXXXX";
	struct daemon d = DAEMON_INIT("test.conf");
	struct tables_maps maps = { -1, -1, -1, -1, -1, { -1, -1, -1, -1, -1, -1, -1 } };
	char conf[2 * PATH_MAX], db[PATH_MAX], err[256] = "", cmd[PATH_MAX + 16];
	int ncpus = libbpf_num_possible_cpus();
	struct gw_stats *per_cpu = calloc((size_t)ncpus, sizeof(struct gw_stats));
	struct gw_rule_stats *rs = calloc((size_t)ncpus, sizeof(*rs));
	struct addr_prefix p;
	char want[256];
	struct expo e;
	uint32_t key;
	const char *text;

	if (!mkdtemp(dir) || !per_cpu || !rs) {
		perror("set up");
		exit(2);
	}
	snprintf(conf, sizeof(conf), conf_fmt, dir);
	snprintf(db, sizeof(db), "%s/greywall.db", dir);
	if (config_load_string(d.config_path, conf, &d.cfg, err, sizeof(err)) ||
	    store_open(db, &d.store) || tables_init(&d.tables, &d.cfg, d.store, &maps)) {
		fprintf(stderr, "cannot set up: %s\n", err);
		exit(2);
	}
	memset(&d.dp, -1, sizeof(d.dp));
	d.dp.stats = percpu_array(sizeof(struct gw_stats), 1);
	d.dp.rule_stats = percpu_array(sizeof(struct gw_rule_stats), GW_MAX_RULES);
	if (d.dp.stats < 0 || d.dp.rule_stats < 0) {
		CHECK_SKIP("no BPF maps here (needs root)", "render");
		goto out;
	}
	for (int c = 0; c < ncpus; c++)
		per_cpu[c].v[GW_STAT_DROP] = 3;
	key = 0;
	bpf_map_update_elem(d.dp.stats, &key, per_cpu, BPF_ANY);
	/* The second written rule is compiled into two (ports 25 and 587): summed. */
	for (int c = 0; c < ncpus; c++)
		rs[c] = (struct gw_rule_stats){ .matches = 2, .overloads = 1 };
	for (key = 1; key <= 2; key++)
		bpf_map_update_elem(d.dp.rule_stats, &key, rs, BPF_ANY);
	/* The const table's entries, as start-up adds them from the config. */
	for (size_t e = 0; e < d.cfg.tables[1].nentries; e++)
		tables_add(&d.tables, 1, &d.cfg.tables[1].entries[e], 0, 0);
	addr_parse("198.51.100.7", &p);
	tables_add(&d.tables, 0, &p, tables_evidence(&d.tables, "manual", "test", 1), 1);
	addr_parse("198.51.100.8", &p);
	tables_add(&d.tables, 0, &p, tables_evidence(&d.tables, "overload", "test", 1), 1);
	tables_commit(&d.tables);
	d.started = 1700000000;

	expo_init(&e, PRIVSEP_METRICS_MAX);
	CHECK_INT(metrics_render(&d, &e, NULL), 0, "the render succeeds");
	text = text_of(&e);
	CHECK_INT(format_errors(text), 0, "every line is HELP, TYPE or a sample of its family");
	snprintf(want, sizeof(want), "\ngreywall_packets_verdict_total{verdict=\"drop\"} %d\n",
		 3 * ncpus);
	CHECK(strstr(text, want), "the drop counter, summed over the CPUs");
	CHECK(strstr(text, "\n# TYPE greywall_packets_verdict_total counter\n"),
	      "its TYPE line");
	CHECK(strstr(text, "\ngreywall_table_entries{table=\"bruteforce\",kind=\"host\"} 2\n"),
	      "the table's hosts");
	CHECK(strstr(text, "\ngreywall_table_entries{table=\"nets\",kind=\"network\"} 1\n"),
	      "the const table's network");
	CHECK(strstr(text, "\ngreywall_table_additions_total{reason=\"manual\"} 1\n") &&
		      strstr(text, "\ngreywall_table_additions_total{reason=\"overload\"} 1\n"),
	      "additions by the source of their evidence");
	snprintf(want, sizeof(want), "\ngreywall_rule_matches_total{rule=\"2\"} %d\n", 4 * ncpus);
	CHECK(strstr(text, want), "a written rule's parts summed");
	snprintf(want, sizeof(want), "\ngreywall_rule_overloads_total{rule=\"2\"} %d\n", 2 * ncpus);
	CHECK(strstr(text, want), "overload events per rule");
	CHECK(strstr(text, "\ngreywall_rule_matches_total{rule=\"1\"} 0\n"), "rule 1's");
	CHECK(strstr(text, "\ngreywall_start_time_seconds 1700000000\n"), "the start time");
	CHECK(!strstr(text, "greywall_greylist_"), "no greylist families without a spamd block");
	CHECK(!strstr(text, "greywall_table_packets"),
	      "no per-table sums before the walk that makes them");
	CHECK(!strstr(text, "\ngreywall_datapath_events_total{event=\"dropped\"}"),
	      "a counter with a family of its own is not repeated in the generic one");
	CHECK(strstr(text, "\ngreywall_datapath_events_total{event=\"flows-evicted\"} 0\n"),
	      "the generic family names counters as greywallctl stats does");
	expo_free(&e);

	/* A tarpit child that said (CONNS) it holds 5, 2 of them black, and held 9 at most. */
	{
		struct spamd s = { .child_fd = 3, .tarpit_held = 5, .tarpit_black = 2,
				   .tarpit_peak = 9, .scan_grey = 7 };

		d.spamd = &s;
		expo_init(&e, PRIVSEP_METRICS_MAX);
		CHECK_INT(metrics_render(&d, &e, NULL), 0, "the render with a spamd block");
		text = text_of(&e);
		CHECK_INT(format_errors(text), 0, "every line still HELP, TYPE or a sample");
		CHECK(strstr(text, "\ngreywall_tarpit_connections{state=\"black\"} 2\n") &&
			      strstr(text, "\ngreywall_tarpit_connections{state=\"grey\"} 3\n"),
		      "the tarpit's connections by state");
		CHECK(strstr(text, "\ngreywall_tarpit_connections_peak 9\n"), "and the most it held");
		CHECK(strstr(text, "\ngreywall_greylist_tuples 7\n"), "the GREY tuples of the last scan");
		expo_free(&e);
		d.spamd = NULL;
	}
out:
	close(d.dp.stats);
	close(d.dp.rule_stats);
	tables_free(&d.tables);
	store_close(d.store);
	config_free(&d.cfg);
	free(per_cpu);
	free(rs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The server's clock runs 20 times as fast: its 10 s deadlines pass in half a second. */
static uint64_t fast_clock(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) * 20;
}

struct served {
	pid_t pid;
	int parent;		/* our end: we are the server's parent */
	struct sockaddr_in addr;
	struct privsep_reader reader;
	struct privsep_writer writer;
};

static void serve(struct served *sv)
{
	socklen_t len = sizeof(sv->addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), pair[2];

	sv->addr = (struct sockaddr_in){ .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sv->addr, len) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sv->addr, &len) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, pair)) {
		perror("server set-up");
		exit(2);
	}
	sv->pid = fork();
	if (sv->pid == 0) {
		struct child_server_config cfg = { .listen_fds = &lfd, .nlisten = 1,
						   .parent_fd = pair[1] };
		struct child_clock clock = { .monotonic_ms = fast_clock };

		close(pair[0]);
		_exit(metrics_server_run(&cfg, &clock) ? 1 : 0);
	}
	close(lfd);
	close(pair[1]);
	sv->parent = pair[0];
	privsep_reader_init(&sv->reader, sv->parent);
	privsep_writer_init(&sv->writer, sv->parent);
}

/* The server's exit status, after it is told to stop (parent closed) or on its own. */
static int unserve(struct served *sv)
{
	int status = -1;

	privsep_reader_free(&sv->reader);
	privsep_writer_free(&sv->writer);
	close(sv->parent);
	waitpid(sv->pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int client(const struct served *sv, const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)&sv->addr, sizeof(sv->addr)) ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		perror("client");
		exit(2);
	}
	return fd;
}

/* Everything the server sends before it closes. */
static char *answer_of(int fd)
{
	static char buf[8192];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* The next METRICS from the server, its id; 0 for anything else or none within 2 s. */
static uint32_t asked(struct served *sv)
{
	struct privsep_msg m;
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(sv->parent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return privsep_receive(&sv->reader, &m) == 1 && m.type == PRIVSEP_METRICS
		       ? m.metrics.req_id
		       : 0;
}

static void give(struct served *sv, uint32_t id, const char *text, uint64_t length)
{
	struct privsep_msg m = { .type = PRIVSEP_METRICS_PART, .metrics = { id, text, 0 } };

	if (*text)
		privsep_send(&sv->writer, &m);
	m = (struct privsep_msg){ .type = PRIVSEP_METRICS_END, .metrics = { id, NULL, length } };
	privsep_send(&sv->writer, &m);
	while (privsep_flush(&sv->writer) == -EAGAIN)
		usleep(1000);
}

static void test_server(void)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char text[] = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n";
	struct served sv;
	char *got, want[256];
	uint32_t id;
	int a, b;

	serve(&sv);
	a = client(&sv, get);
	id = asked(&sv);
	CHECK(id != 0, "a scrape asks the parent METRICS");
	b = client(&sv, "HEAD /metrics HTTP/1.0\r\n\r\n");
	usleep(100000);
	give(&sv, id, text, strlen(text));
	got = answer_of(a);
	snprintf(want, sizeof(want), "Content-Length: %zu\r\n", strlen(text));
	CHECK(!strncmp(got, "HTTP/1.1 200 OK\r\n", 17) && strstr(got, want) &&
		      strstr(got, "\r\n\r\n") && !strcmp(strstr(got, "\r\n\r\n") + 4, text),
	      "the parent's text is the answer's body");
	got = answer_of(b);
	CHECK(!strncmp(got, "HTTP/1.1 200 OK\r\n", 17) && strstr(got, want) &&
		      !strcmp(strstr(got, "\r\n\r\n"), "\r\n\r\n"),
	      "a scrape that came meanwhile shares the answer (HEAD: the head alone)");

	a = client(&sv, "GET /other HTTP/1.1\r\n\r\n");
	got = answer_of(a);
	CHECK(!strncmp(got, "HTTP/1.1 404 Not Found\r\n", 24), "404 from the server itself");

	a = client(&sv, get);
	CHECK((id = asked(&sv)) != 0, "one METRICS a scrape: the last answer is not kept");
	give(&sv, id, "", 0);
	got = answer_of(a);
	CHECK(!strncmp(got, "HTTP/1.1 503 ", 13), "an empty text from the parent: 503");

	a = client(&sv, get);
	id = asked(&sv);
	got = answer_of(a);
	CHECK(!strncmp(got, "HTTP/1.1 503 ", 13), "a parent that does not answer: 503");
	give(&sv, id, text, strlen(text));
	a = client(&sv, get);
	id = asked(&sv);
	give(&sv, id, text, strlen(text));
	got = answer_of(a);
	CHECK(!strncmp(got, "HTTP/1.1 200 ", 13),
	      "the late answer is dropped and the next scrape served");

	a = client(&sv, "GET /metrics HTTP/1.1\r\n");
	got = answer_of(a);
	CHECK(!*got, "a request not whole within its deadline is closed unanswered");

	a = client(&sv, get);
	id = asked(&sv);
	give(&sv, id, text, strlen(text) + 1);
	answer_of(a);
	CHECK_INT(unserve(&sv), 1, "a length that is not the text's ends the server");

	serve(&sv);
	CHECK_INT(unserve(&sv), 0, "the parent closing ends the server");
}

int main(void)
{
	test_expo_format();
	test_expo_refusals();
	test_http();
	test_render();
	test_server();
	return check_done();
}
