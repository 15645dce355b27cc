// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A control-socket client that passes what greywallctl never would: any
 * number of descriptors, opened in any way, with a request. The tests use
 * it to play a hostile or mistaken client.
 *
 *   ctlsend SOCKET [-n COUNT] [-d KIND:PATH]... -- WORD...
 *
 * KIND is how PATH is opened: file (O_RDONLY), path (O_PATH), fifo
 * (O_RDWR, which does not wait for a writer), dir (O_RDONLY|O_DIRECTORY),
 * wronly (O_WRONLY). The request is sent COUNT times (default 1); the
 * last reply is printed and its status is the exit status; 69 when
 * greywalld closed the connection without a reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/control.h"


static int open_kind(const char *spec)
{
	static const struct {
		const char *kind;
		int flags;
	} kinds[] = {
		{ "file", O_RDONLY },	 { "path", O_PATH },	       { "fifo", O_RDWR },
		{ "dir", O_RDONLY | O_DIRECTORY }, { "wronly", O_WRONLY },
	};
	const char *colon = strchr(spec, ':');

	for (size_t i = 0; colon && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].kind) == (size_t)(colon - spec) &&
		    !strncmp(spec, kinds[i].kind, (size_t)(colon - spec)))
			return open(colon + 1, kinds[i].flags | O_CLOEXEC);
	errno = EINVAL;
	return -1;
}

static int send_words(int sock, int argc, char **argv, const int *fds, int nfds)
{
	return control_send_request_fds(sock, argc, argv, fds, nfds) ? -1 : 0;
}

int main(int argc, char **argv)
{
	int fds[CONTROL_SEND_FDS_MAX], nfds = 0, count = 1, status = 0, opt;
	FILE *devnull = fopen("/dev/null", "w");
	const char *path;

	if (argc < 2 || !devnull) {
		fprintf(stderr, "usage: ctlsend SOCKET [-n COUNT] [-d KIND:PATH]... -- WORD...\n");
		return 64;
	}
	path = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:d:")) != -1) {
		switch (opt) {
		case 'n':
			count = atoi(optarg);
			break;
		case 'd':
			if (nfds == CONTROL_SEND_FDS_MAX) {
				fprintf(stderr, "ctlsend: at most %d descriptors\n", CONTROL_SEND_FDS_MAX);
				return 64;
			}
			fds[nfds] = open_kind(optarg);
			if (fds[nfds] < 0) {
				fprintf(stderr, "ctlsend: %s: %s\n", optarg, strerror(errno));
				return 64;
			}
			nfds++;
			break;
		default:
			return 64;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ctlsend: no command\n");
		return 64;
	}
	for (int i = 0; i < count; i++) {
		int sock = control_connect(path);

		if (sock < 0) {
			fprintf(stderr, "ctlsend: %s: %s\n", path, strerror(-sock));
			return 69;
		}
		if (send_words(sock, argc - optind, argv + optind, fds, nfds)) {
			fprintf(stderr, "ctlsend: sending: %s\n", strerror(errno));
			close(sock);
			return 69;
		}
		/* Only the last reply is shown. */
		status = control_read_reply(sock, i + 1 == count ? stdout : devnull,
					    i + 1 == count ? stderr : devnull);
		close(sock);
		if (status < 0)
			status = 69;
	}
	return status;
}
