// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* greywallctl's verbs of the CrowdSec client; what show prints is crowdsec.c's. */
#include <errno.h>
#include <string.h>

#include "crowdsec/crowdsec.h"
#include "daemon/commands_crowdsec.h"
#include "daemon/daemon.h"
#include "daemon/verbs.h"

int commands_crowdsec_show(struct daemon *d, struct control_request *req)
{
	if (req->argc != 2) {
		verb_print_usage(req->err, VERB_CROWDSEC_SHOW);
		return CTL_EXIT_USAGE;
	}
	crowdsec_show(d, req->out);
	return CTL_EXIT_OK;
}

int commands_crowdsec_pull(struct daemon *d, struct control_request *req)
{
	int ret;

	if (req->argc != 2) {
		verb_print_usage(req->err, VERB_CROWDSEC_PULL);
		return CTL_EXIT_USAGE;
	}
	ret = crowdsec_pull_now(d);
	if (ret == -ENOENT) {
		fprintf(req->err, "crowdsec: no pull configured (crowdsec { bouncer-key ... table ... })\n");
		return CTL_EXIT_FAIL;
	}
	if (ret) {
		fprintf(req->err, "crowdsec: the client is not running (%s); it starts again shortly\n",
			strerror(-ret));
		return CTL_EXIT_FAIL;
	}
	fprintf(req->out, "crowdsec: pulling now\n");
	return CTL_EXIT_OK;
}
