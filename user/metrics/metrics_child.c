// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The exec'd metrics child: its descriptors checked, confinement, then the
 * server. See metrics_child.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/sandbox.h"
#include "metrics/metrics_child.h"
#include "metrics/server.h"
#include "spamd/privsep.h"
#include "spamd/spamd_child.h"

/* Exit status for a command line greywalld did not write (EX_USAGE). */
#define METRICS_CHILD_EXIT_USAGE 64

int metrics_child_main(int argc, char **argv)
{
	int listeners[METRICS_LISTEN_MAX], parent_fd;
	struct metrics_server_config cfg;
	const char *step = "";
	size_t nlisten = 0;
	int ret;

	/* The kernel named us after /proc/self/exe: "exe". */
	prctl(PR_SET_NAME, "greywalld", 0, 0, 0);
	parent_fd = argc >= 4 ? sandbox_parse_fd(argv[3]) : -1;
	if (argc < 5 || argc - 4 > METRICS_LISTEN_MAX || parent_fd < 0 ||
	    !sandbox_is_socket(parent_fd, SOCK_STREAM, false)) {
		fprintf(stderr, "greywalld: %s is for greywalld's own use\n", METRICS_CHILD_OPTION);
		return METRICS_CHILD_EXIT_USAGE;
	}
	log_set_sink(privsep_log_early, &parent_fd);
	for (int i = 4; i < argc; i++) {
		int fd = sandbox_parse_fd(argv[i]);
		bool seen = false;

		for (size_t j = 0; j < nlisten; j++)
			seen |= listeners[j] == fd;
		if (fd < 0 || fd == parent_fd || seen || !sandbox_is_socket(fd, SOCK_STREAM, true)) {
			log_err("metrics: \"%s\" is no listening socket of its own", argv[i]);
			return METRICS_CHILD_EXIT_SETUP;
		}
		listeners[nlisten++] = fd;
	}
	signal(SIGPIPE, SIG_IGN);
	ret = privsep_confine(SPAMD_CHILD_USER, argv[2], &step);
	if (!ret) {
		step = "installing the seccomp filter";
		ret = sandbox_seccomp();
	}
	if (ret) {
		log_err("metrics: %s: %s", step, strerror(-ret));
		return METRICS_CHILD_EXIT_SETUP;
	}
	cfg = (struct metrics_server_config){
		.listen_fds = listeners,
		.nlisten = nlisten,
		.parent_fd = parent_fd,
		.log_to_parent = true,
	};
	ret = metrics_server_run(&cfg);
	if (ret)
		log_err("metrics: %s", strerror(-ret));
	return ret ? 1 : 0;
}
