// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The control socket's defences without a daemon: which descriptors a
 * `-f FILE` request may carry and which of them may be read, the peer's
 * group membership from the kernel, and the one table of read-only verbs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/commands_access.h"
#include "daemon/control.h"
#include "daemon/ctl_exit.h"
#include "tables/tablefile.h"

static char dir[] = "/tmp/gw-control-XXXXXX";

static int open_fds(void)
{
	int n = 0;
	char path[64];

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (!access(path, F_OK))
			n++;
	}
	return n;
}

/* Send the request "status" with nfds copies of fd; returns the server's end. */
static int request_with_fds(int fd, int nfds)
{
	char *argv[] = {"status"};
	int sv[2], fds[8];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	for (int i = 0; i < nfds; i++)
		fds[i] = fd;
	if (control_send_request_fds(sv[0], 1, argv, fds, nfds))
		return -1;
	close(sv[0]);
	return sv[1];
}

static void test_passed_fds(void)
{
	int file = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int before = open_fds();

	for (int n = 0; n <= 6; n++) {
		struct control_request req;
		int sock = request_with_fds(file, n);
		int ret = control_read_request(sock, &req);

		if (n <= CONTROL_MAX_FDS) {
			CHECK_INT(ret, 0, "a request with %d descriptor(s) is read", n);
			CHECK(n ? req.fd >= 0 : req.fd == -1, "... and carries %s",
			      n ? "it" : "none");
			control_request_free(&req);
		} else {
			CHECK_INT(ret, -EPROTO, "a request with %d descriptors is refused", n);
		}
		close(sock);
		CHECK_INT(open_fds(), before, "... and leaves no descriptor open (%d sent)", n);
	}
	close(file);
}

static void test_passed_file_check(void)
{
	char path[PATH_MAX], why[256];
	int fd;

	snprintf(path, sizeof(path), "%s/list", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "192.0.2.1\n", 10) == 10, "write a table file");
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), -EBADF,
		  "a write-only descriptor is refused");
	close(fd);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), 0,
		  "a regular file open for reading is accepted");
	CHECK_INT(control_passed_file_check(fd, 9, why, sizeof(why)), -EFBIG,
		  "... but not when larger than the limit");
	CHECK_STR(why, "larger than the limit of 0 MiB", "... which the reason says");
	close(fd);

	fd = open(path, O_PATH | O_CLOEXEC);
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), -EBADF,
		  "an O_PATH descriptor of a regular file is refused");
	CHECK_STR(why, "the descriptor is not open for reading", "... as not open for reading");
	close(fd);

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), -EINVAL,
		  "a directory is refused");
	CHECK_STR(why, "a directory, not a regular file", "... as a directory");
	close(fd);

	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(!mkfifo(path, 0600), "mkfifo");
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), -EINVAL,
		  "a FIFO is refused");
	CHECK_STR(why, "a FIFO or pipe, not a regular file", "... as a FIFO");
	close(fd);

	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK_INT(control_passed_file_check(fd, 1024, why, sizeof(why)), -EINVAL,
		  "a character device is refused (/dev/zero would never end)");
	close(fd);
}

static int count_entry(void *ctx, const struct addr_prefix *p, int line)
{
	(void)p;
	(void)line;
	++*(int *)ctx;
	return 0;
}

static void test_read_bound(void)
{
	char path[PATH_MAX], err[256];
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/grown", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "192.0.2.1\n192.0.2.2\n", 20) == 20 && !lseek(fd, 0, SEEK_SET),
	      "write a 20-byte table file");
	CHECK_INT(tablefile_read_fd(fd, "grown", 19, count_entry, &n, err, sizeof(err)), -EFBIG,
		  "reading stops with -EFBIG past the bound (a file that grew after the check)");
	lseek(fd, 0, SEEK_SET);
	n = 0;
	CHECK_INT(tablefile_read_fd(fd, "grown", 20, count_entry, &n, err, sizeof(err)), 0,
		  "a file of exactly the bound is read");
	CHECK_INT(n, 2, "... with both entries");
	close(fd);
}

static void test_peer(void)
{
	struct control_peer peer;
	int sv[2];

	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	CHECK_INT(control_peer_get(sv[0], 0, false, &peer), 0, "peer credentials are read");
	CHECK_INT(peer.uid, getuid(), "... its uid is ours");
	CHECK_INT(peer.pid, getpid(), "... its pid is ours");
	CHECK(!peer.in_group, "... and no group is in question without a control group");
	CHECK_INT(control_peer_get(sv[0], getgid(), true, &peer), 0, "asked about our group");
	CHECK(peer.in_group, "... the peer is a member");
	CHECK_INT(control_peer_get(sv[0], 4242424, true, &peer), 0, "asked about another group");
	CHECK(!peer.in_group, "... the peer is not");
	close(sv[0]);
	close(sv[1]);
}

/*
 * A deferred request: taken over with its connection, printed into after
 * the command returned, answered later with what was printed and the
 * status; a client that hung up is seen as gone.
 */
static void test_deferred(void)
{
	char *argv[] = {"table", "t", "exchange"};
	struct control_request req;
	struct control_deferred *p;
	char *out_buf = NULL, *err_buf = NULL;
	size_t out_len = 0, err_len = 0;
	FILE *out, *err;
	int sv[2], before = open_fds();

	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	CHECK_INT(control_send_request(sv[0], 3, argv, -1), 0, "a request sent");
	CHECK_INT(control_read_request(sv[1], &req), 0, "... and read");
	CHECK_INT(req.sock, sv[1], "the request knows its connection");
	fprintf(req.out, "before ");
	p = control_defer(&req);
	CHECK(p != NULL, "deferred");
	CHECK(req.argv == NULL && req.out == NULL && req.sock == -1 && req.fd == -1,
	      "... the request left empty");
	control_request_free(&req);
	CHECK(!control_deferred_gone(p), "a client still waiting is not gone");
	fprintf(p->req.out, "after");
	fprintf(p->req.err, "late\n");
	CHECK_INT(control_deferred_answer(p, CTL_EXIT_FAIL), 0, "answered later");
	out = open_memstream(&out_buf, &out_len);
	err = open_memstream(&err_buf, &err_len);
	CHECK_INT(control_read_reply(sv[0], out, err), CTL_EXIT_FAIL, "the status arrives");
	fclose(out);
	fclose(err);
	CHECK_STR(out_buf, "before after", "... with what was printed before and after");
	CHECK_STR(err_buf, "late\n", "... and the errors");
	free(out_buf);
	free(err_buf);
	CHECK_INT(control_read_reply(sv[0], stdout, stderr), -ECONNRESET,
		  "the connection is closed after the answer");
	close(sv[0]);

	/* A client that hangs up: gone; dropped, nothing leaks. */
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	CHECK_INT(control_send_request(sv[0], 3, argv, -1), 0, "a request sent");
	CHECK_INT(control_read_request(sv[1], &req), 0, "... and read");
	p = control_defer(&req);
	CHECK(p != NULL, "deferred");
	close(sv[0]);
	CHECK(control_deferred_gone(p), "a client that hung up is gone");
	control_deferred_drop(p);
	CHECK_INT(open_fds(), before, "no descriptor left behind");
}

struct verb_case {
	const char *words[4];
	bool read_only;
};

static const struct verb_case verb_cases[] = {
	{ { "tables" }, true },
	{ { "table", "T", "show" }, true },
	{ { "table", "T", "show", "-v" }, true },
	{ { "table", "T", "test", "192.0.2.1" }, true },
	{ { "why", "192.0.2.1" }, true },
	{ { "rules" }, true },
	{ { "stats" }, true },
	{ { "status" }, true },
	{ { "queue", "show" }, true },
	{ { "queue", "show", "-v" }, true },
	{ { "spamdb" }, true },
	{ { "spamdb", "192.0.2.1" }, true },
	{ { "traps", "candidates" }, true },
	{ { "callbacks" }, true },
	{ { "table", "T", "add", "192.0.2.1" }, false },
	{ { "table", "T", "delete", "192.0.2.1" }, false },
	{ { "table", "T", "load", "-f" }, false },
	{ { "table", "T", "replace", "-f" }, false },
	{ { "table", "T", "flush" }, false },
	{ { "table", "T", "zero" }, false },
	{ { "table", "T", "expire", "60" }, false },
	{ { "table", "show" }, false },	/* no table name: "show" is the name */
	{ { "table" }, false },
	{ { "queue" }, false },
	{ { "traps", "add", "trap@example.org" }, false },
	{ { "traps" }, false },
	{ { "spamdb", "-a", "192.0.2.1" }, false },
	{ { "spamdb", "-d", "192.0.2.1" }, false },
	{ { "spamdb", "-Ta", "trap@example.org" }, false },
	{ { "spamdb", "--", "-a" }, true },	/* "-a" is a key after "--" */
	{ { "dump" }, false },
	{ { "reload" }, false },
	{ { "detach" }, false },
	{ { "frobnicate" }, false },
};

static int count_words(const struct verb_case *c)
{
	int n = 0;

	while (n < 4 && c->words[n])
		n++;
	return n;
}

static void test_verbs(void)
{
	for (size_t i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
		const struct verb_case *c = &verb_cases[i];
		char *argv[5] = { 0 };
		char text[128] = "";

		for (int w = 0; w < count_words(c); w++) {
			argv[w] = (char *)c->words[w];
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s",
				 w ? " " : "", c->words[w]);
		}
		CHECK(commands_read_only(count_words(c), argv) == c->read_only, "'%s' is %s", text,
		      c->read_only ? "read-only" : "root's");
	}
}

/* Authorize words as a peer; returns the status and the message in msg. */
static int authorize(const struct control_peer *peer, bool has_group, const char *const *words,
		     int n, char *msg, size_t len)
{
	struct control_request req = { .argc = n, .argv = (char **)words, .fd = -1 };
	char *buf = NULL;
	size_t size = 0;
	int status;

	req.err = open_memstream(&buf, &size);
	status = commands_authorize(peer, has_group, &req);
	fclose(req.err);
	snprintf(msg, len, "%s", buf ? buf : "");
	free(buf);
	return status;
}

static void test_authorize(void)
{
	static const char *const add[] = { "table", "bruteforce", "add", "192.0.2.1" };
	static const char *const show[] = { "table", "bruteforce", "show" };
	static const char *const spamdb_add[] = { "spamdb", "-a", "192.0.2.1" };
	const struct control_peer root = { .uid = 0 }, member = { .uid = 1000, .in_group = true },
				  stranger = { .uid = 1001 };
	char msg[256];

	CHECK_INT(authorize(&root, false, add, 4, msg, sizeof(msg)), 0, "root may add");
	CHECK_INT(authorize(&member, true, show, 3, msg, sizeof(msg)), 0, "a member may show");
	CHECK_INT(authorize(&member, true, add, 4, msg, sizeof(msg)), CTL_EXIT_NOPERM,
		  "a member may not add");
	CHECK_STR(msg, "greywallctl: permission denied: 'table bruteforce add' needs root\n",
		  "... and is told why");
	CHECK_INT(authorize(&member, true, spamdb_add, 3, msg, sizeof(msg)), CTL_EXIT_NOPERM,
		  "a member may not spamdb -a");
	CHECK_STR(msg, "greywallctl: permission denied: 'spamdb -a' needs root\n",
		  "... and is told why");
	CHECK_INT(authorize(&member, false, show, 3, msg, sizeof(msg)), CTL_EXIT_NOPERM,
		  "without a control group membership counts for nothing");
	CHECK_INT(authorize(&stranger, true, show, 3, msg, sizeof(msg)), CTL_EXIT_NOPERM,
		  "a stranger may not even show");
	CHECK_STR(msg,
		  "greywallctl: permission denied: greywalld takes commands from root and its "
		  "control-group only\n",
		  "... and is told so");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_passed_fds();
	test_passed_file_check();
	test_read_bound();
	test_peer();
	test_deferred();
	test_verbs();
	test_authorize();
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return check_done();
}
