/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The children's confinement. The tarpit's, the policy child's and the
 * metrics child's past their privilege drop: an empty root directory and
 * a seccomp filter allowing only the system calls their event loops make
 * (tarpit.c, smtp.c, child/child_loop.c, policy/server.c,
 * metrics/server.c, privsep.c, malloc). Any other call kills
 * the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS): the parent
 * logs it as a seccomp violation and starts a new child.
 */
#ifndef __GREYWALL_SANDBOX_H
#define __GREYWALL_SANDBOX_H

#include <stdbool.h>

/*
 * Make path (mode 0555, ours) when it is missing, check that it is a
 * directory owned by root (or by us), writable by nobody else and empty,
 * and make it our root and working directory. Needs CAP_SYS_CHROOT.
 * Returns 0, -ENOTEMPTY, -EPERM for a directory others could write, or
 * -errno.
 */
int sandbox_chroot(const char *path);

/*
 * Install the children's seccomp filter for good (no_new_privs is set on
 * the way). Besides the system calls, it refuses other ABIs (x32, i386 on
 * x86_64) and mmap of executable memory. Returns 0 or -errno.
 */
int sandbox_seccomp(void);

/*
 * A descriptor number a child was given on its command line: digits only,
 * above stderr, below 2^20. Returns it, or -1.
 */
int sandbox_parse_fd(const char *text);

/*
 * Whether fd is a socket of type (SOCK_STREAM, ...) that is listening or,
 * with listening false, is not: what a child checks of the descriptors it
 * was handed before it trusts them.
 */
bool sandbox_is_socket(int fd, int type, bool listening);

/*
 * A child holds a descriptor per connection: its soft descriptor limit
 * goes as high as the hard one (quietly left as it is when that fails).
 */
void sandbox_raise_fd_limit(void);

#endif /* __GREYWALL_SANDBOX_H */
