// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The exec'd metrics child: child/child_main.c checks its descriptors and
 * confines it, then the HTTP server runs. See metrics_child.h.
 */
#include <stdbool.h>

#include "child/child_main.h"
#include "metrics/metrics_child.h"
#include "metrics/server.h"

_Static_assert(METRICS_LISTEN_MAX <= CHILD_LISTEN_MAX, "child_main() takes every socket");

static int serve(const int *listen_fds, size_t nlisten, int parent_fd)
{
	struct metrics_server_config cfg = {
		.listen_fds = listen_fds,
		.nlisten = nlisten,
		.parent_fd = parent_fd,
		.log_to_parent = true,
	};

	return metrics_server_run(&cfg);
}

int metrics_child_main(int argc, char **argv)
{
	static const struct child_main_spec spec = {
		.name = "metrics",
		.option = METRICS_CHILD_OPTION,
		.listen_max = METRICS_LISTEN_MAX,
		.serve = serve,
	};

	return child_main(&spec, argc, argv);
}
