/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The control socket between greywallctl and greywalld (a Unix stream
 * socket, mode 0600). A request is the command's words:
 *   u32 argc, then argc times (u32 length, bytes)
 * with at most one file descriptor (for `-f FILE`) passed alongside by
 * SCM_RIGHTS. The reply is a series of frames:
 *   u8 type ('o' standard output, 'e' standard error, 'x' exit status),
 *   u32 length, bytes
 * ending with one 'x' frame whose 4 bytes are the exit status.
 * Numbers are in host order: both ends are on the same machine.
 */
#ifndef __GREYWALL_CONTROL_H
#define __GREYWALL_CONTROL_H

#include <stdio.h>

#define CONTROL_MAX_ARGS 4096
#define CONTROL_MAX_ARG_LEN 4096

int control_listen(const char *path);
int control_connect(const char *path);

/* Client side. pass_fd < 0: none. Returns 0 or -errno. */
int control_send_request(int sock, int argc, char *const argv[], int pass_fd);
/*
 * Copy the reply's frames to out and err; returns the exit status (>= 0)
 * or -errno when the connection broke.
 */
int control_read_reply(int sock, FILE *out, FILE *err);

/* Server side: a request and the buffers its reply is written into. */
struct control_request {
	int argc;
	char **argv;
	int fd;			/* passed file descriptor, or -1 */
	FILE *out;		/* what the command prints */
	FILE *err;		/* its error messages */
	char *out_buf, *err_buf;
	size_t out_len, err_len;
};

/* Returns 0 or -errno (malformed request, timeout). */
int control_read_request(int sock, struct control_request *req);
/* Send everything printed, then the exit status; frees the request. */
int control_finish(int sock, struct control_request *req, int status);
void control_request_free(struct control_request *req);

#endif /* __GREYWALL_CONTROL_H */
