// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/notify.h"

int notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t addrlen;
	int fd, err = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(sun.sun_path, path, len);
	/* An abstract socket is named with a leading NUL. */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, addrlen) < 0)
		err = -errno;
	close(fd);
	return err;
}
