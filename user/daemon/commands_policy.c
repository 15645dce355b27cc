// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* greywallctl's verb of the policy service; what show prints is policy.c's. */
#include "daemon/commands_policy.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"
#include "policy/policy.h"

int commands_policy_show(struct daemon *d, struct control_request *req)
{
	if (req->argc != 2) {
		verb_print_usage(req->err, VERB_POLICY_SHOW);
		return CTL_EXIT_USAGE;
	}
	if (!d->cfg.policy) {
		fprintf(req->err, "policy: no policy block in the configuration\n");
		return CTL_EXIT_FAIL;
	}
	policy_show(d, req->out);
	return CTL_EXIT_OK;
}
