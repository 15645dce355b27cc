// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

static int fill_address(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int control_listen(const char *path)
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
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (err || listen(fd, 64)) {
		err = -errno;
		close(fd);
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
	uint32_t n = (uint32_t)argc;
	struct iovec iov = { .iov_base = &n, .iov_len = sizeof(n) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int err;

	if (pass_fd >= 0) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
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
}

int control_read_request(int sock, struct control_request *req)
{
	uint32_t argc;
	struct iovec iov = { .iov_base = &argc, .iov_len = sizeof(argc) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	ssize_t n;
	int err = 0;

	memset(req, 0, sizeof(*req));
	req->fd = -1;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&req->fd, CMSG_DATA(cmsg), sizeof(int));
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
