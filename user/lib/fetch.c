// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Running fetch commands with bounds: fetch.h says how they run. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
/* The child's stack until it executes the command. */
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
	int out;		/* the pipe's write end */
	int error;		/* errno of the step that failed; 0: executed */
};

/*
 * The child, sharing the caller's memory until it executes the command
 * (CLONE_VM | CLONE_VFORK, as posix_spawn does): system calls only, no
 * allocation, no lock. The identity changes through raw system calls
 * because glibc's wrappers would try to change every thread of the
 * parent's it still believes are there.
 */
static int child_main(void *arg)
{
	static char *const clean_env[] = { "PATH=" FETCH_PATH, NULL };
	struct child_args *a = arg;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null;

	if (setpgid(0, 0))
		goto fail;
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(a->out, STDOUT_FILENO) < 0)
		goto fail;
	if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 0))
		goto fail;
	if (a->run->drop) {
		gid_t gid = a->run->gid;

		if (chdir("/") || syscall(SYS_setgroups, 1, &gid) ||
		    syscall(SYS_setresgid, gid, gid, gid) ||
		    syscall(SYS_setresuid, a->run->uid, a->run->uid, a->run->uid))
			goto fail;
		/* No set-user-ID program can give back what was left. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			goto fail;
	}
	/* Default handling of every signal; the reserved ones refuse, and stay as they are. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(a->path, a->argv, clean_env);
fail:
	a->error = errno ? errno : EINVAL;
	_exit(127);
}

/*
 * Start the command with no exit signal, so that only a wait for its pidfd
 * (__WALL) reaps it. Returns 0 with *pid, *pidfd and *outfd, or -errno.
 */
static int spawn(const char *path, char *const argv[], const struct fetch_run *run, pid_t *pid,
		 int *pidfd, int *outfd)
{
	struct child_args a = { .path = path, .argv = argv, .run = run };
	sigset_t all, saved;
	void *stack;
	int fds[2], ret = 0;
	pid_t child;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			     MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	a.out = fds[1];
	*pidfd = -1;
	/* No handler of the caller's may run on the child's side of the shared memory. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	child = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | CLONE_PIDFD,
		      &a, pidfd);
	if (child < 0) {
		ret = -errno;
	} else if (a.error) {
		/* It has exited: reap it, then say why. */
		siginfo_t si;

		while (waitid(P_PIDFD, *pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		close(*pidfd);
		ret = -a.error;
	} else {
		running_group = child;
		*pid = child;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	munmap(stack, CHILD_STACK);
out:
	close(fds[1]);
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
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
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
	const struct timespec pause = { 0, 2 * 1000 * 1000 };

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

int fetch_run(const char *path, char *const argv[], const struct fetch_run *run,
	      fetch_sink_fn sink, void *ctx, char *err, size_t errlen)
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

bool fetch_command_valid(const char *fetcher)
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

int fetch_url(const char *fetcher, const char *url, const struct fetch_run *run,
	      fetch_sink_fn sink, void *ctx, char *err, size_t errlen)
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
		argv[argc++] = strcmp(w, "%s") ? w : (char *)url;
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
