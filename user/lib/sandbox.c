// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The tarpit child's empty root and seccomp filter: see sandbox.h. The
 * filter is classic BPF written out by hand, so the daemon needs no
 * libseccomp: the list is short and read top to bottom.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#else
#error "sandbox.c: add this architecture's AUDIT_ARCH and check its system call list"
#endif

/*
 * What the tarpit's and the policy child's loops call once they are set
 * up, and what glibc calls for them: the sockets (accept4, recv and send are recvfrom and sendto),
 * epoll and the signalfd for SIGTERM, the clock (the vDSO's fallback),
 * malloc (brk, mmap without PROT_EXEC, munmap, mremap, madvise), the
 * descriptor limit read at start, and the way out. No open, no socket,
 * no connect, no exec, no mprotect.
 */
static const int allowed[] = {
	__NR_read,
	__NR_write,
	__NR_close,
	__NR_recvfrom,
	__NR_sendto,
	__NR_accept4,
	__NR_getsockname,
	__NR_fcntl,
	__NR_epoll_create1,
	__NR_epoll_ctl,
	__NR_epoll_pwait,
#ifdef __NR_epoll_wait
	__NR_epoll_wait,
#endif
#ifdef __NR_epoll_pwait2
	__NR_epoll_pwait2,
#endif
	__NR_signalfd4,
	__NR_rt_sigprocmask,
	__NR_rt_sigreturn,
	__NR_restart_syscall,
	__NR_clock_gettime,
	__NR_gettimeofday,
#ifdef __NR_time
	__NR_time,
#endif
	__NR_brk,
	__NR_munmap,
	__NR_mremap,
	__NR_madvise,
	__NR_prlimit64,
#ifdef __NR_getrlimit
	__NR_getrlimit,
#endif
	__NR_getrandom,
	__NR_futex,
	__NR_exit,
	__NR_exit_group,
};

#define ALLOWED_COUNT (sizeof(allowed) / sizeof(allowed[0]))
/* The arch check (3), the number and x32 check (2), one per call, mmap's four, the kill. */
#define FILTER_MAX (5 + ALLOWED_COUNT + 4 + 1)

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define ARG_LOW(n) (offsetof(struct seccomp_data, args[n]))

int sandbox_seccomp(void)
{
	struct sock_filter f[FILTER_MAX];
	struct sock_fprog prog = { .filter = f };
	size_t n = 0;

	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0);
	f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 calls share the arch value: their numbers carry this bit. */
	f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, (uint8_t)(ALLOWED_COUNT + 4), 0);
#endif
	for (size_t i = 0; i < ALLOWED_COUNT; i++)
		/* Matched: past the rest of the list and mmap's first three, to ALLOW. */
		f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)allowed[i],
			      (uint8_t)(ALLOWED_COUNT - 1 - i + 3), 0);
	/* mmap: only memory that cannot run code (the low word of prot is enough). */
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(2));
	f[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0);
	f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog.len = (unsigned short)n;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) ? -errno : 0;
}

static int directory_empty(int dirfd)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int ret = 0;

	if (!dir) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ret = -ENOTEMPTY;
	closedir(dir);
	return ret;
}

int sandbox_chroot(const char *path)
{
	struct stat st;
	bool created = !mkdir(path, 0555);
	int fd, ret = 0;

	if (!created && errno != EEXIST)
		return -errno;
	/* Opened once and checked through the descriptor: no path swapped in between. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* spamd's /var/empty is 0555 whatever greywalld's umask (0027) took off. */
	if (created && fchmod(fd, 0555))
		ret = -errno;
	else if (fstat(fd, &st))
		ret = -errno;
	else if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		ret = -EPERM;
	if (!ret)
		ret = directory_empty(fd);
	if (!ret && (fchdir(fd) || chroot(".") || chdir("/")))
		ret = -errno;
	close(fd);
	return ret;
}

int sandbox_parse_fd(const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v <= 2 || v > 1 << 20)
		return -1;
	return (int)v;
}

bool sandbox_is_socket(int fd, int type, bool listening)
{
	int value = 0;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) || value != type)
		return false;
	len = sizeof(value);
	return !getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) && !!value == listening;
}

void sandbox_raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
