// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"

static int fill_address(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/*
 * Give the socket file its group and mode: 0600 root for root alone, 0660
 * root:GROUP with a control group. greywalld has CAP_SETGID but not
 * CAP_CHOWN: an owner may give its file to its own effective group, so
 * the group is taken as the effective one for the chown and dropped again.
 */
int control_set_group(const char *path, gid_t group, bool has_group)
{
	gid_t own = getegid();
	int err = 0;

	/* Narrow the mode first: a group that goes never sees a wider one. */
	if (!has_group && chmod(path, 0600))
		return -errno;
	if (!has_group)
		group = own;
	if (group != own && setegid(group))
		return -errno;
	if (chown(path, (uid_t)-1, group))
		err = -errno;
	if (group != own && setegid(own) && !err)
		err = -errno;
	if (!err && has_group && chmod(path, 0660))
		err = -errno;
	return err;
}

int control_listen(const char *path, gid_t group, bool has_group)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int fd, err = fill_address(&sun, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket file left by an earlier run would make bind fail. */
	unlink(path);
	/* Born 0600: nobody but root connects before the group is in place. */
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	err = control_set_group(path, group, has_group);
	if (!err && listen(fd, 64))
		err = -errno;
	if (err) {
		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

int control_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, err = fill_address(&sun, path);

	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int control_send_request(int sock, int argc, char *const argv[], int pass_fd)
{
	return control_send_request_fds(sock, argc, argv, &pass_fd, pass_fd >= 0 ? 1 : 0);
}

int control_send_request_fds(int sock, int argc, char *const argv[], const int *fds, int nfds)
{
	uint32_t n = (uint32_t)argc;
	struct iovec iov = { .iov_base = &n, .iov_len = sizeof(n) };
	union {
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_SEND_FDS_MAX)];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int err;

	if (nfds < 0 || nfds > CONTROL_SEND_FDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != sizeof(n))
		return -errno;
	for (int i = 0; i < argc; i++) {
		uint32_t len = (uint32_t)strlen(argv[i]);

		err = write_all(sock, &len, sizeof(len));
		if (!err)
			err = write_all(sock, argv[i], len);
		if (err)
			return err;
	}
	return 0;
}

int control_read_reply(int sock, FILE *out, FILE *err)
{
	char buf[65536];

	for (;;) {
		unsigned char type;
		uint32_t len;
		int ret = read_all(sock, &type, 1);

		if (!ret)
			ret = read_all(sock, &len, sizeof(len));
		if (ret)
			return ret;
		if (type == 'x') {
			uint32_t status;

			if (len != sizeof(status))
				return -EPROTO;
			ret = read_all(sock, &status, sizeof(status));
			return ret ? ret : (int)status;
		}
		while (len) {
			size_t chunk = len < sizeof(buf) ? len : sizeof(buf);

			ret = read_all(sock, buf, chunk);
			if (ret)
				return ret;
			fwrite(buf, 1, chunk, type == 'e' ? err : out);
			len -= (uint32_t)chunk;
		}
	}
}

void control_request_free(struct control_request *req)
{
	for (int i = 0; i < req->argc && req->argv; i++)
		free(req->argv[i]);
	free(req->argv);
	if (req->out)
		fclose(req->out);
	if (req->err)
		fclose(req->err);
	free(req->out_buf);
	free(req->err_buf);
	if (req->fd >= 0)
		close(req->fd);
	memset(req, 0, sizeof(*req));
	req->fd = -1;
	req->sock = -1;
}

/*
 * Take the descriptors that came with the request's first bytes. greywallctl
 * passes at most one; any beyond it, or a control message cut short
 * (MSG_CTRUNC: the kernel closed what did not fit), makes the request
 * malformed, and every descriptor received is closed so none piles up in
 * the daemon.
 */
static int take_passed_fds(struct msghdr *msg, int *fd)
{
	int fds[CONTROL_MAX_FDS + 1], nfds = 0;

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t n;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int one;

			memcpy(&one, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (nfds < CONTROL_MAX_FDS + 1)
				fds[nfds++] = one;
			else
				close(one);
		}
	}
	if (nfds > CONTROL_MAX_FDS || (msg->msg_flags & MSG_CTRUNC)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	if (nfds)
		*fd = fds[0];
	return 0;
}

int control_read_request(int sock, struct control_request *req)
{
	uint32_t argc;
	struct iovec iov = { .iov_base = &argc, .iov_len = sizeof(argc) };
	/* Room for one descriptor more than allowed, to see (and close) extras. */
	union {
		char buf[CMSG_SPACE(sizeof(int) * (CONTROL_MAX_FDS + 1))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	int err = 0;

	memset(req, 0, sizeof(*req));
	req->fd = -1;
	req->sock = sock;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	err = take_passed_fds(&msg, &req->fd);
	if (err)
		goto fail;
	if (n != sizeof(argc) || argc == 0 || argc > CONTROL_MAX_ARGS) {
		err = -EPROTO;
		goto fail;
	}
	req->argv = calloc(argc + 1, sizeof(char *));
	if (!req->argv) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < argc; i++) {
		uint32_t len;

		err = read_all(sock, &len, sizeof(len));
		if (!err && len > CONTROL_MAX_ARG_LEN)
			err = -EPROTO;
		if (err)
			goto fail;
		req->argv[i] = malloc(len + 1);
		if (!req->argv[i]) {
			err = -ENOMEM;
			goto fail;
		}
		req->argc = (int)i + 1;
		err = read_all(sock, req->argv[i], len);
		if (err)
			goto fail;
		req->argv[i][len] = '\0';
	}
	req->out = open_memstream(&req->out_buf, &req->out_len);
	req->err = open_memstream(&req->err_buf, &req->err_len);
	if (!req->out || !req->err) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	control_request_free(req);
	return err;
}

static int send_frame(int sock, char type, const void *data, size_t len)
{
	unsigned char t = (unsigned char)type;
	uint32_t n = (uint32_t)len;
	int err = write_all(sock, &t, 1);

	if (!err)
		err = write_all(sock, &n, sizeof(n));
	if (!err && len)
		err = write_all(sock, data, len);
	return err;
}

int control_finish(int sock, struct control_request *req, int status)
{
	uint32_t st = (uint32_t)status;
	int err;

	fflush(req->out);
	fflush(req->err);
	err = send_frame(sock, 'o', req->out_buf, req->out_len);
	if (!err)
		err = send_frame(sock, 'e', req->err_buf, req->err_len);
	if (!err)
		err = send_frame(sock, 'x', &st, sizeof(st));
	control_request_free(req);
	return err;
}

/*
 * A memory stream at *buf, *len with what the old one held: a stream of
 * open_memstream() writes through pointers into the request, which does
 * not move with a copy of the request.
 */
static FILE *stream_move(FILE **old, char **old_buf, size_t *old_len, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		return NULL;
	fclose(*old);
	*old = NULL;
	if (*old_len && fwrite(*old_buf, 1, *old_len, f) != *old_len) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return NULL;
	}
	free(*old_buf);
	*old_buf = NULL;
	*old_len = 0;
	return f;
}

struct control_deferred *control_defer(struct control_request *req)
{
	struct control_deferred *p = calloc(1, sizeof(*p));
	struct control_request *r;

	if (!p)
		return NULL;
	r = &p->req;
	/* What the streams held so far lands in out_buf/out_len. */
	fflush(req->out);
	fflush(req->err);
	r->out = stream_move(&req->out, &req->out_buf, &req->out_len, &r->out_buf, &r->out_len);
	if (r->out)
		r->err = stream_move(&req->err, &req->err_buf, &req->err_len, &r->err_buf,
				     &r->err_len);
	if (!r->out || !r->err) {
		/* req keeps what it had: its output stream, if moved, comes back. */
		if (!req->out)
			req->out = open_memstream(&req->out_buf, &req->out_len);
		if (r->out) {
			fflush(r->out);
			if (req->out && r->out_len)
				fwrite(r->out_buf, 1, r->out_len, req->out);
			fclose(r->out);
			free(r->out_buf);
		}
		free(p);
		return NULL;
	}
	r->sock = req->sock;
	r->fd = req->fd;
	r->argc = req->argc;
	r->argv = req->argv;
	p->sock = req->sock;
	memset(req, 0, sizeof(*req));
	req->fd = -1;
	req->sock = -1;
	return p;
}

int control_deferred_answer(struct control_deferred *p, int status)
{
	int err = control_finish(p->sock, &p->req, status);

	close(p->sock);
	free(p);
	return err;
}

void control_deferred_drop(struct control_deferred *p)
{
	control_request_free(&p->req);
	close(p->sock);
	free(p);
}

bool control_deferred_gone(const struct control_deferred *p)
{
	char c;
	ssize_t n = recv(p->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	/* 0: end of file; bytes: not a client of this protocol; errors but EAGAIN: broken. */
	return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/*
 * The kernel's record of the peer, taken when it connected: SO_PEERCRED for
 * uid and gid, SO_PEERGROUPS for the supplementary groups. Neither can be
 * spoofed by the peer, and neither races with the peer exiting and its pid
 * being reused, as /proc/PID/status would; getgrouplist() would answer
 * from the group database instead of the groups the process really holds
 * (a service that dropped its groups would still count as a member).
 */
int control_peer_get(int sock, gid_t group, bool has_group, struct control_peer *peer)
{
	gid_t small[64], *groups = small;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int err = 0;

	memset(peer, 0, sizeof(*peer));
	peer->uid = (uid_t)-1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	peer->uid = cred.uid;
	peer->pid = cred.pid;
	if (!has_group)
		return 0;
	if (cred.gid == group) {
		peer->in_group = true;
		return 0;
	}
	len = sizeof(small);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno != ERANGE || len > NGROUPS_MAX * sizeof(gid_t))
			return -errno;
		/* len now says how much room the peer's groups need. */
		groups = malloc(len);
		if (!groups)
			return -ENOMEM;
		if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
			err = -errno;
	}
	for (size_t i = 0; !err && i < len / sizeof(gid_t); i++)
		if (groups[i] == group)
			peer->in_group = true;
	if (groups != small)
		free(groups);
	return err;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO or pipe";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

int control_passed_file_check(int fd, off_t max_size, char *why, size_t len)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -EBADF;
	}
	/*
	 * An O_PATH descriptor names a file without the right to read it: the
	 * peer may hold one for a file only root can read.
	 */
	if ((flags & O_PATH) || (flags & O_ACCMODE) == O_WRONLY) {
		snprintf(why, len, "the descriptor is not open for reading");
		return -EBADF;
	}
	if (fstat(fd, &st)) {
		snprintf(why, len, "%s", strerror(errno));
		return -EBADF;
	}
	/* A FIFO or a device could block the daemon's one thread for good. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s, not a regular file", file_kind(st.st_mode));
		return -EINVAL;
	}
	if (st.st_size > max_size) {
		snprintf(why, len, "larger than the limit of %lld MiB",
			 (long long)(max_size >> 20));
		return -EFBIG;
	}
	return 0;
}
