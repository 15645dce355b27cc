// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The parent/child protocol: every message through encode and decode,
 * hostile fields, malformed and over-long lines, a reader fed in pieces,
 * a writer whose peer does not read; and the privilege drop, checked in a
 * child through /proc/self/status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "spamd/privsep.h"

static struct addr_prefix host(const char *text)
{
	struct addr_prefix p = { 0 };

	addr_parse(text, &p);
	return p;
}

/* Encode, check the line's shape, decode, and hand back the decoded copy. */
static bool round_trip(const struct privsep_msg *in, struct privsep_msg *out, char *line,
		       size_t len)
{
	int n = privsep_encode(in, line, len);

	if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
		return false;
	line[n - 1] = '\0';
	for (int i = 0; i < n - 1; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			return false;
	return privsep_decode(line, (size_t)n - 1, out) == 0 && out->type == in->type;
}

static bool same_text(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Field texts that must survive: empty, "-", separators, escapes, bytes outside ASCII. */
static const char *const hostile[] = {
	"",
	"-",
	"--",
	"a b",
	"line\r\nRCPT 1.2.3.4 1.2.3.4 x y z",
	"100%",
	"%41%%",
	"\x01\x1f\x7f\x80\xff",
	"caf\xc3\xa9@exampl\xc3\xa9.org",
	"<User@Example.ORG>",
	"tab\there",
};

#define HOSTILE_COUNT (sizeof(hostile) / sizeof(hostile[0]))

static void test_round_trips(void)
{
	char line[PRIVSEP_LINE_MAX + 1];
	struct privsep_msg in, out;
	bool ok = true;

	in = (struct privsep_msg){ .type = PRIVSEP_CLASSIFY,
				   .classify = { UINT32_MAX, host("2001:db8::1") } };
	CHECK(round_trip(&in, &out, line, sizeof(line)) && out.classify.conn_id == UINT32_MAX &&
		      addr_equal(&out.classify.client, &in.classify.client),
	      "CLASSIFY round trip (IPv6, largest id)");
	in.classify = (struct privsep_classify){ 7, host("192.0.2.9") };
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "CLASSIFY 7 192.0.2.9\n", "CLASSIFY on the wire");

	for (size_t i = 0; i < HOSTILE_COUNT; i++) {
		for (size_t j = 0; j < HOSTILE_COUNT; j++) {
			in = (struct privsep_msg){
				.type = PRIVSEP_RCPT,
				.rcpt = { host("192.0.2.9"), host("2001:db8::25"), hostile[i],
					  hostile[j], hostile[(i + j) % HOSTILE_COUNT] },
			};
			ok &= round_trip(&in, &out, line, sizeof(line)) &&
			      addr_equal(&out.rcpt.client, &in.rcpt.client) &&
			      addr_equal(&out.rcpt.local, &in.rcpt.local) &&
			      same_text(out.rcpt.helo, in.rcpt.helo) &&
			      same_text(out.rcpt.from, in.rcpt.from) &&
			      same_text(out.rcpt.to, in.rcpt.to);
		}
	}
	CHECK(ok, "RCPT round trips with every pair of hostile fields");
	ok = true;
	in = (struct privsep_msg){ .type = PRIVSEP_RCPT,
				   .rcpt = { host("192.0.2.9"), host("198.51.100.1"), "",
					     "-", "a b\r\n100%\xff" } };
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "RCPT 192.0.2.9 198.51.100.1 - %2D a%20b%0D%0A100%25%FF\n",
		  "RCPT on the wire: empty as -, - as %%2D, escapes");

	in = (struct privsep_msg){ .type = PRIVSEP_CLASS, .class = { 42, false } };
	CHECK(round_trip(&in, &out, line, sizeof(line)) && out.class.conn_id == 42 &&
		      !out.class.black,
	      "CLASS GREY round trip");
	for (size_t i = 0; i < HOSTILE_COUNT; i++) {
		static const uint16_t codes[] = { 0, 450, 550 };

		in = (struct privsep_msg){
			.type = PRIVSEP_CLASS,
			.class = { (uint32_t)i, true, codes[i % 3], hostile[i], hostile[i] },
		};
		ok &= round_trip(&in, &out, line, sizeof(line)) && out.class.black &&
		      out.class.conn_id == i && out.class.code == codes[i % 3] &&
		      same_text(out.class.message, hostile[i]) &&
		      same_text(out.class.lists, hostile[i]);
	}
	CHECK(ok, "CLASS BLACK round trips: codes, hostile messages and list names");
	ok = true;
	in = (struct privsep_msg){ .type = PRIVSEP_CLASS,
				   .class = { 3, true, 550, "Your address %A\nis listed", NULL } };
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "CLASS 3 BLACK 550 Your%20address%20%25A%0Ais%20listed\n",
		  "CLASS BLACK on the wire, no lists field when there are none");
	in.class.message = NULL;
	in.class.lists = "spamhaus traplist";
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "CLASS 3 BLACK 550 - spamhaus%20traplist\n",
		  "CLASS BLACK: default message, list names");

	in = (struct privsep_msg){ .type = PRIVSEP_TRAPS, .generation = UINT64_MAX };
	CHECK(round_trip(&in, &out, line, sizeof(line)) && out.generation == UINT64_MAX,
	      "TRAPS round trip (largest generation)");
	for (int type = PRIVSEP_SPAMTRAP; type <= PRIVSEP_VALID; type++)
		for (size_t i = 0; i < HOSTILE_COUNT; i++) {
			in = (struct privsep_msg){ .type = type, .entry = hostile[i] };
			ok &= round_trip(&in, &out, line, sizeof(line)) &&
			      same_text(out.entry, hostile[i]);
		}
	CHECK(ok, "SPAMTRAP, DOMAIN and VALID round trips with hostile entries");
	in = (struct privsep_msg){ .type = PRIVSEP_TRAPS_END };
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "TRAPS-END\n", "TRAPS-END on the wire");

	for (size_t i = 0; i < HOSTILE_COUNT; i++) {
		in = (struct privsep_msg){ .type = PRIVSEP_CONFIG };
		in.config = (struct tarpit_config){
			.maxcon = UINT32_MAX, .maxblack = 0, .stutter = 1, .greystutter = 10,
			.idle_timeout = 400, .maxrcpt = 2, .max_data = 1 << 20,
			.black_code = i % 2 ? 550 : 450, .hostname = hostile[i],
			.banner = hostile[HOSTILE_COUNT - 1 - i],
		};
		ok &= round_trip(&in, &out, line, sizeof(line)) &&
		      out.config.maxcon == UINT32_MAX && out.config.maxblack == 0 &&
		      out.config.stutter == 1 && out.config.greystutter == 10 &&
		      out.config.idle_timeout == 400 && out.config.maxrcpt == 2 &&
		      out.config.max_data == 1 << 20 && out.config.black_code == in.config.black_code &&
		      same_text(out.config.hostname, in.config.hostname) &&
		      same_text(out.config.banner, in.config.banner) && !out.config.listen_fds;
	}
	CHECK(ok, "CONFIG round trips: every setting, hostile hostnames and banners");
	in.config.black_code = 450;
	in.config.hostname = "mx.example.org";
	in.config.banner = "spam trap";
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "CONFIG 4294967295 0 1 10 400 2 1048576 450 mx.example.org spam%20trap\n",
		  "CONFIG on the wire");
	for (size_t i = 0; i < HOSTILE_COUNT; i++) {
		in = (struct privsep_msg){ .type = PRIVSEP_LOG, .log = { (int)(i % 8), hostile[i] } };
		ok &= round_trip(&in, &out, line, sizeof(line)) && out.log.priority == (int)(i % 8) &&
		      same_text(out.log.text, hostile[i]);
	}
	CHECK(ok, "LOG round trips: priorities 0..7, hostile text");
	in.log = (struct privsep_log){ 6, "192.0.2.9: connected (1/0)" };
	line[privsep_encode(&in, line, sizeof(line))] = '\0';
	CHECK_STR(line, "LOG 6 192.0.2.9:%20connected%20(1/0)\n", "LOG on the wire");
}

static void test_encode_errors(void)
{
	static char line[2 * PRIVSEP_LINE_MAX], big[PRIVSEP_LINE_MAX];
	struct privsep_msg m = { .type = PRIVSEP_CLASS, .class = { 1, true, 451, "x", NULL } };
	size_t fit = PRIVSEP_LINE_MAX - strlen("SPAMTRAP ");

	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "code 451 refused");
	m = (struct privsep_msg){ .type = PRIVSEP_CLASSIFY,
				  .classify = { 1, host("198.51.100.0/24") } };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "a network is no client");
	m = (struct privsep_msg){ .type = PRIVSEP_CLASSIFY };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "an unset address refused");
	/* Found by fuzz_privsep: decode refuses it, so the peer would drop the link. */
	m = (struct privsep_msg){ .type = PRIVSEP_CLASSIFY, .classify = { 1 } };
	m.classify.client.family = AF_INET6;
	m.classify.client.plen = 128;
	memcpy(m.classify.client.bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01", 16);
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL,
		  "an IPv4-mapped IPv6 client (::ffff:192.0.2.1) refused, as decode does");
	/* add_host() takes an IPv4 host without parsing it again: its check stands in. */
	m = (struct privsep_msg){ .type = PRIVSEP_CLASSIFY, .classify = { 1, host("192.0.2.1") } };
	m.classify.client.bytes[9] = 1;
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL,
		  "an IPv4 client with bytes past its four refused (decode would not give it back)");
	m = (struct privsep_msg){ .type = PRIVSEP_RCPT,
				  .rcpt = { host("192.0.2.1"), host("192.0.2.2"), NULL, "", "x" } };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "a NULL field refused");
	m = (struct privsep_msg){ .type = PRIVSEP_CONFIG };
	m.config = (struct tarpit_config){ .maxcon = 1, .idle_timeout = 1, .black_code = 451,
					   .hostname = "h", .banner = "b" };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "CONFIG: code 451 refused");
	m.config.black_code = 550;
	m.config.banner = NULL;
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "CONFIG: a NULL banner refused");
	m = (struct privsep_msg){ .type = PRIVSEP_LOG, .log = { 8, "x" } };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "LOG: priority 8 refused");
	memset(big, '\x01', PRIVSEP_LOG_MAX);
	big[PRIVSEP_LOG_MAX] = '\0';
	m.log = (struct privsep_log){ 3, big };
	CHECK(privsep_encode(&m, line, sizeof(line)) > 0,
	      "LOG: PRIVSEP_LOG_MAX bytes, every one escaped, fit a line");
	big[PRIVSEP_LOG_MAX] = 'a';
	big[PRIVSEP_LOG_MAX + 1] = '\0';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE,
		  "LOG: one byte past PRIVSEP_LOG_MAX refused");

	memset(big, 'a', fit);
	m = (struct privsep_msg){ .type = PRIVSEP_SPAMTRAP, .entry = big };
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), PRIVSEP_LINE_MAX + 1,
		  "a line of exactly PRIVSEP_LINE_MAX bytes");
	CHECK_INT(privsep_encode(&m, line, PRIVSEP_LINE_MAX), -EMSGSIZE,
		  "a buffer one byte short");
	big[fit] = 'a';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE,
		  "one byte more than PRIVSEP_LINE_MAX refused");
	memset(big, ' ', fit / 3 + 1);
	big[fit / 3 + 1] = '\0';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE,
		  "escaping counts: a third of the line in spaces is too long");
}

static void test_decode_errors(void)
{
	static const char *const bad[] = {
		"",
		"CLASS",
		"CLASS 1",
		"CLASS 1 GREY extra",
		"CLASS  1 GREY",
		"CLASS 1 GREY ",
		" CLASS 1 GREY",
		"CLASS x GREY",
		"CLASS 01x GREY",
		"CLASS -1 GREY",
		"CLASS +1 GREY",
		"CLASS 4294967296 GREY",
		"CLASS 1 WHITE",
		"CLASS 1 grey",
		"CLASS 1 BLACK 451 -",
		"CLASS 1 BLACK 450",
		"CLASS 1 BLACK 450 - a b",
		"class 1 GREY",
		"LOG hello",
		"CLASSIFY 1 198.51.100.0/24",
		"CLASSIFY 1 example.org",
		"CLASSIFY 1 ::ffff:192.0.2.1",
		"CLASSIFY 1",
		"RCPT 192.0.2.1 192.0.2.2 h f",
		"RCPT 192.0.2.1 192.0.2.2 h f t u",
		"SPAMTRAP a%0",
		"SPAMTRAP a%",
		"SPAMTRAP a%G0",
		"SPAMTRAP a%00b",
		"SPAMTRAP a\x01z",
		"SPAMTRAP a\x7fz",
		"SPAMTRAP a\xffz",
		"SPAMTRAP a\rz",
		"SPAMTRAP",
		"TRAPS",
		"TRAPS 18446744073709551616",
		"TRAPS-END x",
		"CONFIG 800 700 1 10 400 100 1048576 450 mx",
		"CONFIG 800 700 1 10 400 100 1048576 451 mx b",
		"CONFIG 800 700 1 10 400 100 1048576 450 mx b c",
		"CONFIG 4294967296 700 1 10 400 100 1 450 mx b",
		"CONFIG -1 700 1 10 400 100 1 450 mx b",
		"LOG 8 x",
		"LOG -1 x",
		"LOG 6",
		"LOG 6 a b",
	};
	struct privsep_msg m;
	char line[64];
	bool all = true;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;

		snprintf(line, sizeof(line), "%s", bad[i]);
		ret = privsep_decode(line, strlen(line), &m);
		if (ret != -EPROTO)
			printf("# \"%s\" gave %d\n", bad[i], ret);
		all &= ret == -EPROTO;
	}
	CHECK(all, "%zu malformed lines refused", sizeof(bad) / sizeof(bad[0]));
	memcpy(line, "SPAMTRAP a\0b", 13);
	CHECK_INT(privsep_decode(line, 12, &m), -EPROTO, "a raw NUL byte refused");
	snprintf(line, sizeof(line), "SPAMTRAP %%2d%%7E");
	CHECK(!privsep_decode(line, strlen(line), &m) && !strcmp(m.entry, "-~"),
	      "lower-case hex and needless escapes accepted");
	snprintf(line, sizeof(line), "CLASS 4294967295 BLACK 0 %%2D");
	CHECK(!privsep_decode(line, strlen(line), &m) && m.class.conn_id == UINT32_MAX &&
		      m.class.code == 0 && !strcmp(m.class.message, "-") && !*m.class.lists,
	      "CLASS BLACK with the largest id, the default code, a message \"-\"");
}

static void write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

static void test_reader(void)
{
	static char big[PRIVSEP_LINE_MAX + 2];
	struct privsep_reader r;
	struct privsep_msg m;
	int sv[2];
	bool pieces = true;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	privsep_reader_init(&r, sv[0]);
	CHECK_INT(privsep_receive(&r, &m), 0, "reader: nothing yet");
	write_all(sv[1], "CLASS 7 GR", 10);
	CHECK_INT(privsep_receive(&r, &m), 0, "reader: half a line is not a message");
	write_all(sv[1], "EY\nTRAPS 3\nSPAM", 15);
	CHECK(privsep_receive(&r, &m) == 1 && m.type == PRIVSEP_CLASS && m.class.conn_id == 7 &&
		      !m.class.black,
	      "reader: the line completed by the next read");
	CHECK(privsep_receive(&r, &m) == 1 && m.type == PRIVSEP_TRAPS && m.generation == 3,
	      "reader: a second line from the same read");
	CHECK_INT(privsep_receive(&r, &m), 0, "reader: the rest waits");

	/* One byte per read: every prefix is kept. */
	for (const char *p = "TRAP trap@example.org\n"; *p; p++) {
		write_all(sv[1], p, 1);
		pieces &= privsep_receive(&r, &m) == (p[1] ? 0 : 1);
	}
	CHECK(pieces && m.type == PRIVSEP_SPAMTRAP && !strcmp(m.entry, "trap@example.org"),
	      "reader: a line fed byte by byte");

	memcpy(big, "SPAMTRAP ", 9);
	memset(big + 9, 'x', PRIVSEP_LINE_MAX - 9);
	big[PRIVSEP_LINE_MAX] = '\n';
	write_all(sv[1], big, PRIVSEP_LINE_MAX + 1);
	CHECK(privsep_receive(&r, &m) == 1 && strlen(m.entry) == PRIVSEP_LINE_MAX - 9,
	      "reader: a line of exactly PRIVSEP_LINE_MAX bytes");
	write_all(sv[1], "CLASS 1 BLUE\n", 13);
	CHECK_INT(privsep_receive(&r, &m), -EPROTO, "reader: a malformed line");
	big[PRIVSEP_LINE_MAX] = 'x';
	write_all(sv[1], big, PRIVSEP_LINE_MAX + 1);
	CHECK_INT(privsep_receive(&r, &m), -EMSGSIZE, "reader: one byte over is too long");
	privsep_reader_free(&r);
	close(sv[0]);
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	privsep_reader_init(&r, sv[0]);
	write_all(sv[1], "TRAPS-END\nTRAPS", 15);
	close(sv[1]);
	CHECK_INT(privsep_receive(&r, &m), 1, "reader: a line before the peer closed");
	CHECK_INT(privsep_receive(&r, &m), -EPIPE, "reader: the peer closed, partial line dropped");
	privsep_reader_free(&r);
	close(sv[0]);
}

static void test_writer(void)
{
	struct privsep_writer w;
	struct privsep_reader r;
	struct privsep_msg m = { .type = PRIVSEP_RCPT };
	int sv[2], sent = 0, received = 0, ret = 0, bufsize = 4096;
	bool in_order = true;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	privsep_writer_init(&w, sv[0]);
	privsep_reader_init(&r, sv[1]);
	m.rcpt = (struct privsep_rcpt){ host("192.0.2.9"), host("192.0.2.25"), "helo.example",
					"a@b.example", NULL };
	/* The peer does not read: lines queue up to the bound. */
	while (ret == 0 && sent < 1000000) {
		char to[32];

		snprintf(to, sizeof(to), "rcpt%d@example.org", sent);
		m.rcpt.to = to;
		ret = privsep_send(&w, &m);
		if (!ret)
			sent++;
	}
	CHECK_INT(ret, -ENOBUFS, "writer: -ENOBUFS once PRIVSEP_QUEUE_MAX bytes wait");
	CHECK(w.end - w.start >= PRIVSEP_QUEUE_MAX && w.end - w.start < PRIVSEP_QUEUE_MAX + 100,
	      "writer: the queue stops at its bound (%zu bytes)", w.end - w.start);
	CHECK_INT(privsep_flush(&w), -EAGAIN, "writer: flush says what waits");

	/* Now the peer reads: everything arrives, once, in order. */
	while (received < sent) {
		struct privsep_msg got;
		char want[32];
		int n = privsep_receive(&r, &got);

		if (n < 0)
			break;
		if (n == 0) {
			privsep_flush(&w);
			continue;
		}
		snprintf(want, sizeof(want), "rcpt%d@example.org", received++);
		in_order &= got.type == PRIVSEP_RCPT && !strcmp(got.rcpt.to, want);
	}
	CHECK(received == sent && in_order, "writer: %d queued lines arrive in order", sent);
	CHECK_INT(privsep_flush(&w), 0, "writer: flushed");
	CHECK(w.buf == NULL, "writer: a burst's buffer is let go once empty");

	close(sv[1]);
	m.rcpt.to = "late@example.org";
	CHECK_INT(privsep_send(&w, &m), -EPIPE, "writer: the peer is gone");
	privsep_writer_free(&w);
	privsep_reader_free(&r);
	close(sv[0]);
}

/* The value of "Name:" in a /proc status text, tabs as spaces, or "". */
static const char *status_field(const char *status, const char *name, char *out, size_t len)
{
	const char *p = status;
	size_t n = strlen(name), i = 0;

	out[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " \t");
			for (; *p && *p != '\n' && i + 1 < len; p++)
				out[i++] = *p == '\t' ? ' ' : *p;
			while (i && out[i - 1] == ' ')
				i--;
			out[i] = '\0';
			break;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return out;
}

static void test_drop(void)
{
	static char uids[64], gids[64], group[16];
	/* nobody's ids everywhere; no capability in any set, no way to gain one. */
	const struct {
		const char *field, *value;
	} want[] = {
		{ "Uid", uids },
		{ "Gid", gids },
		{ "Groups", group },
		{ "CapInh", "0000000000000000" },
		{ "CapPrm", "0000000000000000" },
		{ "CapEff", "0000000000000000" },
		{ "CapBnd", "0000000000000000" },
		{ "CapAmb", "0000000000000000" },
		{ "NoNewPrivs", "1" },
	};
	static char status[8192];
	struct passwd *pw;
	char value[128], cwd[64] = "";
	int pipefd[2], wstatus, ret = 1;
	size_t len = 0;
	pid_t pid;

	CHECK_INT(privsep_drop("no-such-user-greywall"), -ENOENT, "drop: unknown user refused");
	if (geteuid() != 0 || !(pw = getpwnam("nobody"))) {
		printf("# drop: not root or no user nobody, the drop itself is not tested\n");
		return;
	}
	snprintf(uids, sizeof(uids), "%u %u %u %u", pw->pw_uid, pw->pw_uid, pw->pw_uid, pw->pw_uid);
	snprintf(gids, sizeof(gids), "%u %u %u %u", pw->pw_gid, pw->pw_gid, pw->pw_gid, pw->pw_gid);
	snprintf(group, sizeof(group), "%u", pw->pw_gid);
	pipe(pipefd);
	pid = fork();
	if (pid == 0) {
		char buf[8192];
		int fd, n = 0;

		close(pipefd[0]);
		ret = privsep_drop("nobody");
		/* What is left: the drop's result, cwd, setuid(0)'s fate, the status file. */
		dprintf(pipefd[1], "%d %s %d\n", ret, getcwd(cwd, sizeof(cwd)) ? cwd : "?",
			setuid(0) == 0);
		fd = open("/proc/self/status", O_RDONLY);
		if (fd >= 0)
			n = (int)read(fd, buf, sizeof(buf));
		if (n > 0)
			write_all(pipefd[1], buf, (size_t)n);
		_exit(0);
	}
	close(pipefd[1]);
	for (ssize_t n; (n = read(pipefd[0], status + len, sizeof(status) - 1 - len)) > 0;)
		len += (size_t)n;
	status[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &wstatus, 0);

	{
		int setuid_worked = 1;

		sscanf(status, "%d %63s %d", &ret, cwd, &setuid_worked);
		CHECK_INT(ret, 0, "drop: privsep_drop(\"nobody\") succeeded");
		CHECK_STR(cwd, "/", "drop: cwd is /");
		CHECK_INT(setuid_worked, 0, "drop: setuid(0) fails afterwards");
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(status_field(status, want[i].field, value, sizeof(value)), want[i].value,
			  "drop: %s is %s", want[i].field, want[i].value);
}

/*
 * The longest RCPT a client can cause: three fields of PRIVSEP_FIELD_MAX
 * bytes that all need escaping, from the longest addresses. It fits a
 * line, and comes back whole.
 */
static void test_worst_rcpt(void)
{
	static char helo[PRIVSEP_FIELD_MAX + 1], from[PRIVSEP_FIELD_MAX + 1],
		to[PRIVSEP_FIELD_MAX + 1], line[PRIVSEP_LINE_MAX + 1];
	struct privsep_msg m = { .type = PRIVSEP_RCPT }, back;
	int n;

	memset(helo, 0x01, PRIVSEP_FIELD_MAX);
	memset(from, '\r', PRIVSEP_FIELD_MAX);
	memset(to, 0xff, PRIVSEP_FIELD_MAX);
	m.rcpt = (struct privsep_rcpt){
		.client = host("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"),
		.local = host("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.254"),
		.helo = helo, .from = from, .to = to,
	};
	n = privsep_encode(&m, line, sizeof(line));
	if (n > 0)
		line[n - 1] = '\0';
	CHECK(n > 9 * PRIVSEP_FIELD_MAX, "the worst RCPT (3 x 8192 escaped bytes) encodes: %d bytes", n);
	CHECK(n > 0 && privsep_decode(line, (size_t)n - 1, &back) == 0 &&
		      back.type == PRIVSEP_RCPT && !strcmp(back.rcpt.helo, helo) &&
		      !strcmp(back.rcpt.from, from) && !strcmp(back.rcpt.to, to),
	      "and decodes to the same fields");
}

static void test_policy(void)
{
	static char helo[PRIVSEP_FIELD_MAX + 2], sender[PRIVSEP_FIELD_MAX + 1],
		rcpt[PRIVSEP_FIELD_MAX + 1], shorty[PRIVSEP_SHORT_MAX + 2], line[PRIVSEP_LINE_MAX + 1];
	struct privsep_msg m = { .type = PRIVSEP_POLICY }, back;
	char small[256], action[PRIVSEP_ACTION_MAX + 2];
	int n;

	m.policy = (struct privsep_policy){ 7, "smtpd_access_policy", "RCPT", "192.0.2.7",
					    "a.example.net", "", "u@example.org", "0",
					    "123.4567.89ab.0" };
	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n : 0] = '\0';
	CHECK_STR(small, "POLICY 7 smtpd_access_policy RCPT 192.0.2.7 a.example.net - "
		  "u@example.org 0 123.4567.89ab.0\n", "POLICY on the wire (the null sender empty)");
	small[n - 1] = '\0';
	CHECK(!privsep_decode(small, (size_t)n - 1, &back) && back.type == PRIVSEP_POLICY &&
		      back.policy.req_id == 7 && !strcmp(back.policy.state, "RCPT") &&
		      !*back.policy.sender && !strcmp(back.policy.recipient, "u@example.org") &&
		      !strcmp(back.policy.instance, "123.4567.89ab.0"),
	      "POLICY decodes to the same fields");
	/* The worst: three long fields and five short ones, every byte escaped. */
	memset(helo, 0x01, PRIVSEP_FIELD_MAX);
	memset(sender, ' ', PRIVSEP_FIELD_MAX);
	memset(rcpt, 0xff, PRIVSEP_FIELD_MAX);
	memset(shorty, '%', PRIVSEP_SHORT_MAX);
	m.policy = (struct privsep_policy){ UINT32_MAX, shorty, shorty, shorty, helo, sender, rcpt,
					    shorty, shorty };
	n = privsep_encode(&m, line, sizeof(line));
	if (n > 0)
		line[n - 1] = '\0';
	CHECK(n > 0 && privsep_decode(line, (size_t)n - 1, &back) == 0 &&
		      !strcmp(back.policy.helo, helo) && !strcmp(back.policy.sender, sender) &&
		      !strcmp(back.policy.instance, shorty),
	      "the worst POLICY fits a line and decodes: %d bytes", n);
	helo[PRIVSEP_FIELD_MAX] = 'a';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE, "POLICY: a helo too long");
	helo[PRIVSEP_FIELD_MAX] = '\0';
	shorty[PRIVSEP_SHORT_MAX] = 'a';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE,
		  "POLICY: a short field one byte too long");
	snprintf(line, sizeof(line), "POLICY 1 a b %s d e f g h", shorty);
	CHECK_INT(privsep_decode(line, strlen(line), &back), -EPROTO,
		  "POLICY: a client address over PRIVSEP_SHORT_MAX refused on decode");
	snprintf(small, sizeof(small), "POLICY 1 a b c d e f g");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO, "POLICY: a field missing");

	m = (struct privsep_msg){ .type = PRIVSEP_VERDICT,
				  .verdict = { 9, "DEFER_IF_PERMIT 4.7.1 Greylisted, see x" } };
	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n : 0] = '\0';
	CHECK_STR(small, "VERDICT 9 DEFER_IF_PERMIT%204.7.1%20Greylisted,%20see%20x\n",
		  "VERDICT on the wire");
	small[n - 1] = '\0';
	CHECK(!privsep_decode(small, (size_t)n - 1, &back) && back.verdict.req_id == 9 &&
		      !strcmp(back.verdict.action, "DEFER_IF_PERMIT 4.7.1 Greylisted, see x"),
	      "VERDICT decodes");
	m.verdict.action = "DUNNO\naction=OK";
	CHECK_INT(privsep_encode(&m, small, sizeof(small)), -EINVAL,
		  "VERDICT: an action of two lines refused");
	m.verdict.action = "";
	CHECK_INT(privsep_encode(&m, small, sizeof(small)), -EINVAL, "VERDICT: an empty action");
	memset(action, 'A', PRIVSEP_ACTION_MAX + 1);
	action[PRIVSEP_ACTION_MAX + 1] = '\0';
	m.verdict.action = action;
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EINVAL, "VERDICT: an action too long");
	snprintf(small, sizeof(small), "VERDICT 1 DUNNO%%0Aaction=OK");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO,
		  "VERDICT: an escaped line break refused on decode");
	snprintf(small, sizeof(small), "VERDICT 1 -");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO,
		  "VERDICT: an empty action refused on decode");
}

/* The metrics child's pair: METRICS, and the text back in pieces with its length. */
static void test_metrics(void)
{
	static char line[PRIVSEP_LINE_MAX + 2], piece[PRIVSEP_FIELD_MAX + 2];
	struct privsep_msg m = { .type = PRIVSEP_METRICS, .metrics = { .req_id = 7 } }, back;
	char small[256];
	int n;

	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n : 0] = '\0';
	CHECK_STR(small, "METRICS 7\n", "METRICS on the wire");
	small[n - 1] = '\0';
	CHECK(!privsep_decode(small, (size_t)n - 1, &back) && back.type == PRIVSEP_METRICS &&
		      back.metrics.req_id == 7,
	      "METRICS decodes");

	m = (struct privsep_msg){ .type = PRIVSEP_METRICS_PART,
				  .metrics = { 7, "# TYPE x counter\nx{a=\"b c\"} 1\n" } };
	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n : 0] = '\0';
	CHECK_STR(small, "METRICS-PART 7 #%20TYPE%20x%20counter%0Ax{a=\"b%20c\"}%201%0A\n",
		  "METRICS-PART escapes the text's spaces and line breaks");
	small[n - 1] = '\0';
	CHECK(!privsep_decode(small, (size_t)n - 1, &back) && back.metrics.req_id == 7 &&
		      !strcmp(back.metrics.text, "# TYPE x counter\nx{a=\"b c\"} 1\n"),
	      "METRICS-PART decodes to the text");
	m.metrics.text = "";
	CHECK_INT(privsep_encode(&m, small, sizeof(small)), -EINVAL, "METRICS-PART: an empty piece");
	memset(piece, '\n', PRIVSEP_FIELD_MAX);
	piece[PRIVSEP_FIELD_MAX] = '\0';
	m.metrics.text = piece;
	n = privsep_encode(&m, line, sizeof(line));
	CHECK(n > 0, "METRICS-PART: a piece of PRIVSEP_FIELD_MAX line breaks fits a line");
	line[n > 0 ? n - 1 : 0] = '\0';
	CHECK(n > 0 && !privsep_decode(line, (size_t)n - 1, &back) &&
		      strlen(back.metrics.text) == PRIVSEP_FIELD_MAX,
	      "and decodes whole");
	piece[PRIVSEP_FIELD_MAX] = 'x';
	piece[PRIVSEP_FIELD_MAX + 1] = '\0';
	CHECK_INT(privsep_encode(&m, line, sizeof(line)), -EMSGSIZE,
		  "METRICS-PART: a piece one byte too long");
	snprintf(line, sizeof(line), "METRICS-PART 1 %s", piece);
	CHECK_INT(privsep_decode(line, strlen(line), &back), -EPROTO,
		  "METRICS-PART: a piece one byte too long refused on decode");
	snprintf(small, sizeof(small), "METRICS-PART 1 -");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO,
		  "METRICS-PART: an empty piece refused on decode");

	m = (struct privsep_msg){ .type = PRIVSEP_METRICS_END,
				  .metrics = { .req_id = 7, .length = PRIVSEP_METRICS_MAX } };
	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n - 1 : 0] = '\0';
	CHECK(!privsep_decode(small, (size_t)n - 1, &back) &&
		      back.metrics.length == PRIVSEP_METRICS_MAX,
	      "METRICS-END with the largest length");
	m.metrics.length = PRIVSEP_METRICS_MAX + 1;
	CHECK_INT(privsep_encode(&m, small, sizeof(small)), -EMSGSIZE,
		  "METRICS-END: a length past PRIVSEP_METRICS_MAX");
	snprintf(small, sizeof(small), "METRICS-END 1 %d", PRIVSEP_METRICS_MAX + 1);
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO,
		  "METRICS-END: a length past PRIVSEP_METRICS_MAX refused on decode");
	snprintf(small, sizeof(small), "METRICS 1 2");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO, "METRICS: a field too many");
	snprintf(small, sizeof(small), "METRICS-END 1");
	CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO,
		  "METRICS-END: its length missing");
}

/* The tarpit's CONNS: held and black, black never more than held. */
static void test_conns(void)
{
	struct privsep_msg m = { .type = PRIVSEP_CONNS, .conns = { 50000, 800 } }, back;
	static const char *const bad[] = { "CONNS 3 4", "CONNS 3", "CONNS 3 1 1", "CONNS -1 0",
					   "CONNS 4294967296 0", "CONNS x 0", "CONNS 3 -" };
	char small[64];
	int n;

	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n : 0] = '\0';
	CHECK_STR(small, "CONNS 50000 800\n", "CONNS on the wire");
	small[n > 0 ? n - 1 : 0] = '\0';
	CHECK(n > 0 && !privsep_decode(small, (size_t)n - 1, &back) && back.type == PRIVSEP_CONNS &&
		      back.conns.held == 50000 && back.conns.black == 800,
	      "CONNS decodes");
	m.conns = (struct privsep_conns){ 0, 0 };
	n = privsep_encode(&m, small, sizeof(small));
	small[n > 0 ? n - 1 : 0] = '\0';
	CHECK(n > 0 && !privsep_decode(small, (size_t)n - 1, &back) && !back.conns.held,
	      "CONNS 0 0: the tarpit is empty");
	m.conns = (struct privsep_conns){ 3, 4 };
	CHECK_INT(privsep_encode(&m, small, sizeof(small)), -EINVAL,
		  "CONNS: more black than held is not sent");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(small, sizeof(small), "%s", bad[i]);
		CHECK_INT(privsep_decode(small, strlen(small), &back), -EPROTO, "refused: %s", bad[i]);
	}
}

int main(void)
{
	test_round_trips();
	test_encode_errors();
	test_decode_errors();
	test_reader();
	test_writer();
	test_drop();
	test_worst_rcpt();
	test_policy();
	test_metrics();
	test_conns();
	return check_done();
}
