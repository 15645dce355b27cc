/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The control socket between greywallctl and greywalld (a Unix stream
 * socket, mode 0600 root, or 0660 root:GROUP with `set control-group`).
 * A request is the command's words:
 *   u32 argc, then argc times (u32 length, bytes)
 * with at most one file descriptor (for `-f FILE`) passed alongside the
 * first bytes by SCM_RIGHTS; a request with more is refused. The reply is a series of frames:
 *   u8 type ('o' standard output, 'e' standard error, 'x' exit status),
 *   u32 length, bytes
 * ending with one 'x' frame whose 4 bytes are the exit status.
 * Numbers are in host order: both ends are on the same machine.
 */
#ifndef __GREYWALL_CONTROL_H
#define __GREYWALL_CONTROL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define CONTROL_MAX_ARGS 4096
#define CONTROL_MAX_ARG_LEN 4096
/* Descriptors one request may carry: the file of `-f FILE`. */
#define CONTROL_MAX_FDS 1
/* The largest file `table T load|replace -f` reads (greywallctl(8)). */
#define CONTROL_MAX_FILE_SIZE ((off_t)256 << 20)

/* Listen at path, mode 0600 or 0660 root:group. Returns the socket or -errno. */
int control_listen(const char *path, gid_t group, bool has_group);
/* Set the socket file's group and mode again (on reload). 0 or -errno. */
int control_set_group(const char *path, gid_t group, bool has_group);
int control_connect(const char *path);

/* Client side. pass_fd < 0: none. Returns 0 or -errno. */
int control_send_request(int sock, int argc, char *const argv[], int pass_fd);
/*
 * The same with nfds descriptors (at most CONTROL_SEND_FDS_MAX) in one
 * message: greywalld takes one and closes the others, which the tests
 * that send several check. Returns 0 or -errno.
 */
#define CONTROL_SEND_FDS_MAX 16
int control_send_request_fds(int sock, int argc, char *const argv[], const int *fds, int nfds);
/*
 * Copy the reply's frames to out and err; returns the exit status (>= 0)
 * or -errno when the connection broke.
 */
int control_read_reply(int sock, FILE *out, FILE *err);

/* Server side: a request and the buffers its reply is written into. */
struct control_request {
	int sock;		/* the connection it came on (not the request's to close) */
	int argc;
	char **argv;
	int fd;			/* passed file descriptor, or -1 */
	FILE *out;		/* what the command prints */
	FILE *err;		/* its error messages */
	char *out_buf, *err_buf;
	size_t out_len, err_len;
};

/* Who is on the other end, as the kernel recorded it at connect(). */
struct control_peer {
	uid_t uid;		/* (uid_t)-1 when unknown */
	pid_t pid;
	bool in_group;		/* primary or supplementary member of the control group */
};

int control_peer_get(int sock, gid_t group, bool has_group, struct control_peer *peer);

/*
 * May a descriptor passed for `-f FILE` be read? Only a regular file open
 * for reading and at most max_size bytes long. Returns 0, or -EBADF (not
 * readable, e.g. O_PATH), -EINVAL (not a regular file), -EFBIG, with the
 * reason in why ("a FIFO or pipe, not a regular file").
 */
int control_passed_file_check(int fd, off_t max_size, char *why, size_t len);

/* Returns 0 or -errno (malformed request, more than one descriptor, timeout). */
int control_read_request(int sock, struct control_request *req);
/* Send everything printed, then the exit status; frees the request. */
int control_finish(int sock, struct control_request *req, int status);
void control_request_free(struct control_request *req);

/*
 * A request answered later: a command that waits for work done outside the
 * event loop (a thread, a child) takes the request and its connection over
 * with control_defer() and returns CONTROL_DEFERRED, which tells the loop
 * to neither answer nor close. What the command prints goes on into the
 * request's buffers; control_deferred_answer() sends it all, as
 * control_finish() would, when the work is done. Until then the client's
 * end is watched (control_deferred_gone()): a client that went away is
 * dropped without an answer.
 */
#define CONTROL_DEFERRED (-1)

struct control_deferred {
	struct control_request req;
	int sock;
	int state;			/* the caller's: what it waits for */
	char what[64];			/* the caller's: e.g. a table name */
	struct control_deferred *next;
};

/*
 * Take req and its connection (req->sock) over: req is left empty and
 * control_request_free() on it does nothing. Returns NULL (req untouched)
 * when out of memory.
 */
struct control_deferred *control_defer(struct control_request *req);
/* Send the reply, close the connection and free p. 0 or -errno of the send. */
int control_deferred_answer(struct control_deferred *p, int status);
/* Close the connection without an answer and free p. */
void control_deferred_drop(struct control_deferred *p);
/*
 * Whether the client hung up (or sent bytes it should not have): its end
 * is readable. Does not block.
 */
bool control_deferred_gone(const struct control_deferred *p);

#endif /* __GREYWALL_CONTROL_H */
