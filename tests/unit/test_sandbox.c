// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit child's confinement (sandbox.h), each case in a forked
 * process: the seccomp filter lets the tarpit's calls through and kills
 * the process with SIGSYS at the first call it forbids; the empty root is
 * made, checked and entered, and refused when not empty or writable by
 * others.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/sandbox.h"

enum outcome { EXITED_0, KILLED_BY_SIGSYS, OTHER };

/* A connected pair made before the filter, as the tarpit's sockets are. */
static int pair[2];

/* Run fn in a child under the filter; how the child ended. */
static enum outcome filtered(int (*fn)(void))
{
	struct rlimit no_core = { 0, 0 };
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (sandbox_seccomp())
			_exit(3);
		_exit(fn());
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EXITED_0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		return KILLED_BY_SIGSYS;
	return OTHER;
}

/* What the tarpit's loop does: sockets, epoll, the clock, malloc, the limit. */
static int tarpit_calls(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct timespec ts;
	struct rlimit rl;
	char buf[8];
	void *big;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pair[1], &ev))
		return 4;
	if (send(pair[0], "x", 1, MSG_NOSIGNAL) != 1 || epoll_wait(ep, &ev, 1, 1000) != 1 ||
	    recv(pair[1], buf, sizeof(buf), MSG_PEEK) != 1 || recv(pair[1], buf, 1, 0) != 1 ||
	    getsockname(pair[1], (struct sockaddr *)&ss, &len) ||
	    fcntl(pair[1], F_SETFL, O_NONBLOCK))
		return 5;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (time(NULL) <= 0 || getrlimit(RLIMIT_NOFILE, &rl))
		return 6;
	big = malloc(1 << 22); /* mmap */
	if (!big)
		return 7;
	memset(big, 1, 1 << 22);
	free(big);
	big = malloc(100);
	big = realloc(big, 1 << 20);
	free(big);
	if (write(2, "", 0) < 0 || read(0, buf, 0) < 0)
		return 8;
	close(ep);
	return 0;
}

static int call_open(void)
{
	return open("/dev/null", O_RDONLY) >= 0 ? 0 : 9;
}

static int call_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 9;
}

static int call_exec_mmap(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
			       MAP_FAILED
		       ? 0
		       : 9;
}

static int call_mprotect(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	return mprotect(page, sizeof(page), PROT_READ | PROT_EXEC) ? 9 : 0;
}

static int call_execve(void)
{
	char *argv[] = { "true", NULL };

	execv("/bin/true", argv);
	return 9;
}

static int call_kill(void)
{
	return kill(getppid(), 0) ? 9 : 0;
}

static void test_seccomp(void)
{
	static const struct {
		const char *what;
		int (*fn)(void);
	} forbidden[] = {
		{ "open", call_open },
		{ "socket", call_socket },
		{ "mmap of executable memory", call_exec_mmap },
		{ "mprotect", call_mprotect },
		{ "execve", call_execve },
		{ "kill", call_kill },
	};

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
	CHECK_INT(filtered(tarpit_calls), EXITED_0,
		  "seccomp: the tarpit's calls (epoll, send, recv, clock, malloc, rlimit) pass");
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		CHECK_INT(filtered(forbidden[i].fn), KILLED_BY_SIGSYS,
			  "seccomp: %s kills the process with SIGSYS", forbidden[i].what);
}

/* sandbox_chroot(path) in a child: its result, and 100 + what it saw when it succeeded. */
static int chrooted(const char *path)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int ret = sandbox_chroot(path);
		char cwd[64];

		if (ret)
			_exit(-ret);
		/* Inside: nothing of the host, and "/" is where we are. */
		_exit(access("/etc/passwd", F_OK) == 0 ? 98 :
		      getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/") ? 100 : 99);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_chroot(void)
{
	char dir[] = "/tmp/gw-sandbox-XXXXXX", path[64], file[80];
	struct stat st;

	if (geteuid() != 0) {
		CHECK_SKIP("chroot needs root", "chroot into an empty directory");
		return;
	}
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/empty", dir);
	CHECK_INT(chrooted(path), 100, "chroot: a missing directory is made and entered");
	CHECK(!stat(path, &st) && (st.st_mode & 07777) == 0555 && st.st_uid == 0,
	      "chroot: made mode 0555, owned by root");
	CHECK_INT(chrooted(path), 100, "chroot: an existing empty one is entered again");
	chmod(path, 0775);
	CHECK_INT(chrooted(path), EPERM, "chroot: a group-writable directory is refused");
	chmod(path, 0755);
	snprintf(file, sizeof(file), "%s/left", path);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	CHECK_INT(chrooted(path), ENOTEMPTY, "chroot: a directory with a file in it is refused");
	unlink(file);
	rmdir(path);
	symlink("/etc", path);
	CHECK_INT(chrooted(path), ENOTDIR, "chroot: a symbolic link is not followed");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_seccomp();
	test_chroot();
	return check_done();
}
