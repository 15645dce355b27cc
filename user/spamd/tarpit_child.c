// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The exec'd tarpit child: confinement, then the tarpit. See tarpit_child.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "spamd/privsep.h"
#include "lib/sandbox.h"
#include "spamd/spamd_child.h"
#include "spamd/tarpit.h"
#include "spamd/tarpit_child.h"

/* Seconds the child waits for its first CONFIG: the parent sends it right after the fork. */
#define CONFIG_WAIT_MS 10000

/*
 * The first message, which must be CONFIG, read whole and no further: the
 * bytes after it (TRAPS) are the tarpit's reader's. Its strings point into
 * line. Returns 0, -ETIMEDOUT, -EPIPE, -EPROTO.
 */
static int read_config(int fd, char *line, struct privsep_msg *msg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		ssize_t n = recv(fd, line, PRIVSEP_LINE_MAX + 1, MSG_PEEK);
		char *nl = n > 0 ? memchr(line, '\n', (size_t)n) : NULL;
		size_t len;

		if (n == 0)
			return -EPIPE;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (!nl && n > PRIVSEP_LINE_MAX)
			return -EPROTO;
		if (!nl) {
			int ret = poll(&p, 1, CONFIG_WAIT_MS);

			if (ret == 0)
				return -ETIMEDOUT;
			if (ret < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		len = (size_t)(nl - line);
		if (recv(fd, line, len + 1, 0) != (ssize_t)(len + 1))
			return -EIO;
		line[len] = '\0';
		if (privsep_decode(line, len, msg) || msg->type != PRIVSEP_CONFIG)
			return -EPROTO;
		return 0;
	}
}

/* Everything before the tarpit runs; returns 0 or -errno with what failed in *step. */
static int confine(const char *empty_dir, int parent_fd, char *line, struct privsep_msg *config,
		   const char **step)
{
	int ret;

	/* The banner's date needs the zone: /etc/localtime is out of reach after chroot. */
	tzset();
	ret = privsep_confine(SPAMD_CHILD_USER, empty_dir, step);
	if (ret)
		return ret;
	*step = "reading the settings from the parent";
	ret = read_config(parent_fd, line, config);
	if (ret)
		return ret;
	*step = "installing the seccomp filter";
	return sandbox_seccomp();
}

int tarpit_child_main(int argc, char **argv)
{
	int listeners[TARPIT_LISTEN_MAX], parent_fd, class_fd;
	struct privsep_msg config;
	struct tarpit_config tc;
	const char *step = "";
	size_t nlisten = 0;
	char *line;
	int ret;

	/* The kernel named us after /proc/self/exe: "exe". */
	prctl(PR_SET_NAME, "greywalld", 0, 0, 0);
	parent_fd = argc >= 4 ? sandbox_parse_fd(argv[3]) : -1;
	class_fd = argc >= 5 ? sandbox_parse_fd(argv[4]) : -1;
	if (argc < 6 || argc - 5 > TARPIT_LISTEN_MAX || parent_fd < 0 || class_fd < 0 ||
	    class_fd == parent_fd || !sandbox_is_socket(parent_fd, SOCK_STREAM, false) ||
	    !sandbox_is_socket(class_fd, SOCK_STREAM, false)) {
		fprintf(stderr, "greywalld: %s is for greywalld's own use\n", TARPIT_CHILD_OPTION);
		return 64;
	}
	log_set_sink(privsep_log_early, &parent_fd);
	for (int i = 5; i < argc; i++) {
		int fd = sandbox_parse_fd(argv[i]);

		if (fd < 0 || !sandbox_is_socket(fd, SOCK_STREAM, true)) {
			log_err("tarpit: \"%s\" is no listening socket", argv[i]);
			return TARPIT_CHILD_EXIT_SETUP;
		}
		listeners[nlisten++] = fd;
	}
	signal(SIGPIPE, SIG_IGN);
	line = malloc(PRIVSEP_LINE_MAX + 1);
	ret = line ? confine(argv[2], parent_fd, line, &config, &step) : -ENOMEM;
	if (ret) {
		log_err("tarpit: %s: %s", step, strerror(-ret));
		return TARPIT_CHILD_EXIT_SETUP;
	}
	tc = config.config;
	tc.listen_fds = listeners;
	tc.nlisten = nlisten;
	tc.parent_fd = parent_fd;
	tc.class_fd = class_fd;
	tc.log_to_parent = true;
	ret = tarpit_run(&tc, NULL);
	if (ret)
		log_err("tarpit: %s", strerror(-ret));
	return ret ? 1 : 0;
}
