// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The exec'd policy child: child/child_main.c checks its descriptors and
 * confines it, then the policy server runs. See policy_child.h.
 */
#include "child/child_main.h"
#include "policy/policy_child.h"
#include "policy/server.h"

_Static_assert(POLICY_LISTEN_MAX <= CHILD_LISTEN_MAX, "child_main() takes every socket");

int policy_child_main(int argc, char **argv)
{
	static const struct child_main_spec spec = {
		.name = "policy",
		.option = POLICY_CHILD_OPTION,
		.listen_max = POLICY_LISTEN_MAX,
		.serve = policy_server_run,
	};

	return child_main(&spec, argc, argv);
}
