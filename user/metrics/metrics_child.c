// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The exec'd metrics child: child/child_main.c checks its descriptors and
 * confines it, then the HTTP server runs. See metrics_child.h.
 */
#include "child/child_main.h"
#include "metrics/metrics_child.h"
#include "metrics/server.h"

_Static_assert(METRICS_LISTEN_MAX <= CHILD_LISTEN_MAX, "child_main() takes every socket");

int metrics_child_main(int argc, char **argv)
{
	static const struct child_main_spec spec = {
		.name = "metrics",
		.option = METRICS_CHILD_OPTION,
		.listen_max = METRICS_LISTEN_MAX,
		.serve = metrics_server_run,
	};

	return child_main(&spec, argc, argv);
}
