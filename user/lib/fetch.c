// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Running fetch commands with bounds: fetch.h says how they run. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fetch.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* What one read() of the output takes. */
#define FETCH_CHUNK (64 * 1024)
/* The keeper's stack. */
#define CHILD_STACK (64 * 1024)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process group of the command running now, for a process told to stop meanwhile. */
static volatile pid_t running_group;

void fetch_kill_running(void)
{
	pid_t group = running_group;

	if (group > 0)
		kill(-group, SIGKILL);
}

struct child_args {
	const char *path;
	char *const *argv;
	const struct fetch_run *run;
	int out;    /* the output pipe's write end */
	int report; /* where a failure's errno goes; closed once the command runs */
};

/* Tell the caller why the command did not start, and end. */
static void __attribute__((noreturn)) child_fail(int report, int error)
{
	if (write(report, &error, sizeof(error)) < 0) {
		/* The caller then sees the pipe close and an exit status of 127. */
	}
	_exit(127);
}

/*
 * The keeper: a copy of the caller (clone() without CLONE_VM) that sets up
 * the command's process, starts it with vfork() and waits for it, then
 * ends as it ended. It started with no exit signal and never executes
 * anything, so it stays a child only the caller's pidfd wait reaps; the
 * command, its child, is none of the caller's. It was copied from a
 * process that may have other threads: system calls only, no allocation,
 * no lock, and the identity changes through raw system calls because
 * glibc's wrappers would try to change threads that are not there.
 */
static int keeper_main(void *arg)
{
	static char *const clean_env[] = {"PATH=" FETCH_PATH, NULL};
	struct child_args *a = arg;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	volatile int exec_error = 0;
	sigset_t none;
	int null, status;
	pid_t pid;

	/* The report pipe goes to fd 3, the output to 1; nothing else stays. */
	if (dup2(a->report, 3) < 0)
		_exit(127);
	if (setpgid(0, 0))
		child_fail(3, errno);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(a->out, STDOUT_FILENO) < 0 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) || syscall(SYS_close_range, 4, ~0U, 0))
		child_fail(3, errno);
	if (a->run->drop) {
		gid_t gid = a->run->gid;

		if (chdir("/") || syscall(SYS_setgroups, 1, &gid) ||
		    syscall(SYS_setresgid, gid, gid, gid) ||
		    syscall(SYS_setresuid, a->run->uid, a->run->uid, a->run->uid))
			child_fail(3, errno);
		/* No set-user-ID program can give back what was left. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			child_fail(3, errno);
	}
	/* Default handling of every signal; the reserved ones refuse, and stay as they are. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	pid = vfork();
	if (pid == 0) {
		execve(a->path, a->argv, clean_env);
		exec_error = errno;
		_exit(127);
	}
	if (pid < 0)
		child_fail(3, errno);
	if (exec_error)
		child_fail(3, exec_error);
	/* It runs: the caller stops waiting for a report. */
	close(3);
	close(STDOUT_FILENO);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	if (WIFSIGNALED(status)) {
		/* End as the command ended, so the caller sees its signal. */
		kill(getpid(), WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/*
 * Start the keeper and, through it, the command. Returns 0 with *pid (the
 * keeper's, also the process group's), *pidfd and *outfd, or -errno.
 */
static int spawn(const char *path, char *const argv[], const struct fetch_run *run, pid_t *pid,
		 int *pidfd, int *outfd)
{
	struct child_args a = {.path = path, .argv = argv, .run = run};
	int fds[2], report[2], error = 0, ret = 0;
	sigset_t all, saved;
	siginfo_t si;
	void *stack;
	pid_t child;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	if (pipe2(report, O_CLOEXEC)) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	a.out = fds[1];
	a.report = report[1];
	*pidfd = -1;
	/* The keeper starts with every signal blocked, and sets them up itself. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	child = clone(keeper_main, (char *)stack + CHILD_STACK, CLONE_PIDFD, &a, pidfd);
	if (child < 0)
		ret = -errno;
	else
		running_group = child;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	munmap(stack, CHILD_STACK);
	if (ret)
		goto out;
	close(report[1]);
	report[1] = -1;
	/* Until the command runs or the keeper says why it does not. */
	do
		n = read(report[0], &error, sizeof(error));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		ret = n == sizeof(error) && error > 0 ? -error : -EIO;
		while (waitid(P_PIDFD, *pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		close(*pidfd);
		running_group = 0;
	} else {
		*pid = child;
	}
out:
	close(fds[1]);
	close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	if (ret)
		close(fds[0]);
	else
		*outfd = fds[0];
	return ret;
}

/* Feed fd's data to the sink until its end, before the deadline. */
static int stream_until(int fd, long long deadline, fetch_sink_fn sink, void *ctx, char *err,
			size_t errlen)
{
	unsigned char *buf = malloc(FETCH_CHUNK);
	int ret = buf ? 1 : -ENOMEM;

	while (ret > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left)) < 0) {
			if (errno != EINTR)
				ret = -errno;
			continue;
		}
		if (!pfd.revents)
			continue;
		n = read(fd, buf, FETCH_CHUNK);
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				ret = -errno;
			continue;
		}
		if (n == 0)
			ret = 0;
		else
			ret = sink(ctx, buf, (size_t)n, err, errlen) ?: 1;
	}
	free(buf);
	return ret;
}

/* Reap the command before the deadline. It has closed its output, so it is about to exit. */
static int wait_until(int pidfd, long long deadline, siginfo_t *si)
{
	const struct timespec pause = {0, 2 * 1000 * 1000};

	for (;;) {
		memset(si, 0, sizeof(*si));
		if (waitid(P_PIDFD, pidfd, si, WEXITED | WNOHANG | __WALL) < 0) {
			if (errno != EINTR)
				return -errno;
		} else if (si->si_pid) {
			return 0;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

int fetch_run(const char *path, char *const argv[], const struct fetch_run *run, fetch_sink_fn sink,
	      void *ctx, char *err, size_t errlen)
{
	long long deadline = now_ms() + run->timeout_ms;
	int fd = -1, pidfd = -1, ret;
	siginfo_t si;
	pid_t pid = 0;

	err[0] = '\0';
	ret = spawn(path, argv, run, &pid, &pidfd, &fd);
	if (ret) {
		snprintf(err, errlen, "cannot run %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = stream_until(fd, deadline, sink, ctx, err, errlen);
	close(fd);
	if (!ret)
		ret = wait_until(pidfd, deadline, &si);
	if (ret) {
		kill(-pid, SIGKILL);
		while (waitid(P_PIDFD, pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		if (ret == -ETIMEDOUT)
			snprintf(err, errlen, "timed out after %d ms", run->timeout_ms);
		else if (!err[0] && ret != -EFBIG && ret != -E2BIG)
			snprintf(err, errlen, "%s", strerror(-ret));
	} else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
		snprintf(err, errlen, "killed by signal %d", si.si_status);
		ret = -EIO;
	} else if (si.si_status) {
		snprintf(err, errlen, "exit status %d", si.si_status);
		ret = -EIO;
	}
	running_group = 0;
	close(pidfd);
	return ret;
}

static bool command_valid(const char *fetcher);

/*
 * The fetcher with each word "%t" (FETCH_SINCE) written "T": what is left
 * must then be a fetcher without it. NULL without memory.
 */
static char *mask_since(const char *fetcher)
{
	char *s = strdup(fetcher);

	for (char *t = s; t && (t = strstr(t, FETCH_SINCE)); t += 2)
		if ((t == s || isblank((unsigned char)t[-1])) && (!t[2] || isblank((unsigned char)t[2])))
			memcpy(t, "T ", 2);
	return s;
}

bool fetch_command_has_since(const char *fetcher)
{
	char *s = mask_since(fetcher);
	bool has = s && strcmp(s, fetcher);

	free(s);
	return has;
}

bool fetch_command_valid(const char *fetcher)
{
	char *masked = mask_since(fetcher);
	bool valid = masked && command_valid(masked);

	free(masked);
	return valid;
}

static bool command_valid(const char *fetcher)
{
	const char *p = strchr(fetcher, '%');

	/* One '%', in the last argument "%s"... */
	if (!p || strcmp(p, "%s") || p == fetcher || !isblank((unsigned char)p[-1]))
		return false;
	/* ...after an argument "--"... */
	while (p > fetcher && isblank((unsigned char)p[-1]))
		p--;
	if (p - fetcher < 3 || strncmp(p - 2, "--", 2) || !isblank((unsigned char)p[-3]))
		return false;
	/* ...after the program. */
	for (p -= 3; p > fetcher && isblank((unsigned char)p[-1]);)
		p--;
	return p > fetcher;
}

/* A program named without a slash, looked up in FETCH_PATH: 0 with path filled. */
static int find_program(const char *name, char *path, size_t len)
{
	const char *dir = FETCH_PATH;

	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return 0;
	}
	while (*dir) {
		size_t n = strcspn(dir, ":");

		snprintf(path, len, "%.*s/%s", (int)n, dir, name);
		if (!access(path, X_OK))
			return 0;
		dir += n + (dir[n] == ':');
	}
	return -ENOENT;
}

int fetch_url(const char *fetcher, const char *url, const struct fetch_run *run, fetch_sink_fn sink,
	      void *ctx, char *err, size_t errlen)
{
	return fetch_url_since(fetcher, url, NULL, run, sink, ctx, err, errlen);
}

int fetch_url_since(const char *fetcher, const char *url, const char *since,
		    const struct fetch_run *run, fetch_sink_fn sink, void *ctx, char *err,
		    size_t errlen)
{
	char *words = strdup(fetcher), **argv = calloc(strlen(fetcher) / 2 + 2, sizeof(*argv));
	char path[PATH_MAX], *save = NULL;
	size_t argc = 0;
	int ret;

	err[0] = '\0';
	if (!words || !argv) {
		ret = -ENOMEM;
		goto out;
	}
	for (char *w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		argv[argc++] = !strcmp(w, "%s")		? (char *)url
			       : !strcmp(w, FETCH_SINCE) ? (char *)(since ? since : FETCH_SINCE_NEVER)
							 : w;
	if (!argc) {
		ret = -EINVAL;
		snprintf(err, errlen, "empty fetch command");
		goto out;
	}
	ret = find_program(argv[0], path, sizeof(path));
	if (ret)
		snprintf(err, errlen, "fetch command \"%s\" not found in %s", argv[0], FETCH_PATH);
	else
		ret = fetch_run(path, argv, run, sink, ctx, err, errlen);
out:
	free(argv);
	free(words);
	return ret;
}
