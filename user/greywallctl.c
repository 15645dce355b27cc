// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywallctl: the operator's tool. It sends the command's words to
 * greywalld over the control socket (and, for -f FILE, the open file) and
 * prints what comes back. Usage and `help` come from the command table
 * (daemon/verbs.h), which greywallctl(8)'s SYNOPSIS mirrors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/control.h"
#include "daemon/ctl_exit.h"
#include "daemon/verbs.h"

/* The synopses of the command table (verbs.h), as greywallctl(8) shows them. */
static void usage(void)
{
	verbs_print_list(stderr, false);
	exit(CTL_EXIT_USAGE);
}

/*
 * greywalld reads only regular files (a pipe could block it), so `-f -`
 * from a pipe or a FIFO is copied here, as the caller, into a memory file.
 * Returns a descriptor to pass, or -errno (-EFBIG over the size limit).
 */
static int regular_file_of(int fd)
{
	char buf[65536];
	struct stat st;
	off_t total = 0;
	int copy, err = 0;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode))
		return fd;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	copy = memfd_create("greywallctl-f", MFD_CLOEXEC);
	if (copy < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		else if ((total += n) > CONTROL_MAX_FILE_SIZE)
			err = -EFBIG;
		else if (n && write(copy, buf, (size_t)n) != n)
			err = -ENOSPC;
		if (err || !n)
			break;
	}
	if (!err && lseek(copy, 0, SEEK_SET))
		err = -errno;
	close(fd);
	if (err) {
		close(copy);
		return err;
	}
	return copy;
}

int main(int argc, char **argv)
{
	const char *socket_path = getenv("GREYWALL_SOCKET");
	int opt, sock, status, file_fd = -1;

	if (!socket_path || !*socket_path)
		socket_path = CONFIG_DEFAULT_SOCKET;
	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	/* Help needs no daemon: the table is linked in. */
	if (argc == 1 && !strcmp(argv[0], "help")) {
		verbs_print_list(stdout, true);
		return CTL_EXIT_OK;
	}
	/*
	 * `-f FILE` is opened here, with the caller's rights and cwd: greywalld
	 * reads the descriptor and never opens the name itself.
	 */
	for (int i = 0; i + 1 < argc; i++) {
		int fd;

		if (strcmp(argv[i], "-f"))
			continue;
		fd = strcmp(argv[i + 1], "-") ? open(argv[i + 1], O_RDONLY | O_CLOEXEC)
					      : dup(STDIN_FILENO);
		file_fd = fd < 0 ? -errno : regular_file_of(fd);
		if (file_fd < 0) {
			if (file_fd == -EFBIG)
				fprintf(stderr,
					"greywallctl: %s: larger than the limit of %lld MiB\n",
					argv[i + 1], (long long)(CONTROL_MAX_FILE_SIZE >> 20));
			else
				fprintf(stderr, "greywallctl: %s: %s\n", argv[i + 1],
					strerror(-file_fd));
			return CTL_EXIT_NOINPUT;
		}
		break;
	}
	sock = control_connect(socket_path);
	if (sock < 0) {
		fprintf(stderr, "greywallctl: cannot reach greywalld at %s: %s\n", socket_path,
			strerror(-sock));
		/* The socket's mode keeps out who is neither root nor in control-group. */
		return sock == -EACCES || sock == -EPERM ? CTL_EXIT_NOPERM : CTL_EXIT_UNAVAILABLE;
	}
	if (control_send_request(sock, argc, argv, file_fd)) {
		fprintf(stderr, "greywallctl: sending to greywalld: %s\n", strerror(errno));
		return CTL_EXIT_UNAVAILABLE;
	}
	status = control_read_reply(sock, stdout, stderr);
	close(sock);
	if (status < 0) {
		fprintf(stderr, "greywallctl: greywalld closed the connection: %s\n",
			strerror(-status));
		return CTL_EXIT_UNAVAILABLE;
	}
	return status;
}
