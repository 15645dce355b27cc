// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * A confined listener child's main(): its descriptors checked,
 * confinement, then its server. See child_main.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "child/child_main.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "spamd/privsep.h"
#include "spamd/spamd_child.h"

/* Everything before the server runs; 0 or -errno with what failed in *step. */
static int confine(const char *empty_dir, const char **step)
{
	int ret = privsep_confine(SPAMD_CHILD_USER, empty_dir, step);

	if (ret)
		return ret;
	*step = "installing the seccomp filter";
	return sandbox_seccomp();
}

int child_main(const struct child_main_spec *spec, int argc, char **argv)
{
	int listeners[CHILD_LISTEN_MAX], parent_fd;
	size_t listen_max = spec->listen_max < CHILD_LISTEN_MAX ? spec->listen_max
								: CHILD_LISTEN_MAX;
	struct child_server_config cfg;
	const char *step = "";
	size_t nlisten = 0;
	int ret;

	/* The kernel named us after /proc/self/exe: "exe". */
	prctl(PR_SET_NAME, "greywalld", 0, 0, 0);
	parent_fd = argc >= 4 ? sandbox_parse_fd(argv[3]) : -1;
	if (argc < 5 || (size_t)(argc - 4) > listen_max || parent_fd < 0 ||
	    !sandbox_is_socket(parent_fd, SOCK_STREAM, false)) {
		fprintf(stderr, "greywalld: %s is for greywalld's own use\n", spec->option);
		return CHILD_EXIT_USAGE;
	}
	log_set_sink(privsep_log_early, &parent_fd);
	for (int i = 4; i < argc; i++) {
		int fd = sandbox_parse_fd(argv[i]);
		bool seen = false;

		for (size_t j = 0; j < nlisten; j++)
			seen |= listeners[j] == fd;
		if (fd < 0 || fd == parent_fd || seen || !sandbox_is_socket(fd, SOCK_STREAM, true)) {
			log_err("%s: \"%s\" is no listening socket of its own", spec->name, argv[i]);
			return CHILD_EXIT_SETUP;
		}
		listeners[nlisten++] = fd;
	}
	signal(SIGPIPE, SIG_IGN);
	ret = confine(argv[2], &step);
	if (ret) {
		log_err("%s: %s: %s", spec->name, step, strerror(-ret));
		return CHILD_EXIT_SETUP;
	}
	cfg = (struct child_server_config){
		.listen_fds = listeners,
		.nlisten = nlisten,
		.parent_fd = parent_fd,
		.log_to_parent = true,
	};
	ret = spec->serve(&cfg, NULL);
	if (ret)
		log_err("%s: %s", spec->name, strerror(-ret));
	return ret ? 1 : 0;
}
