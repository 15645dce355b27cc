/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The policy service's decision on one request of Postfix's SMTPD access
 * policy protocol, made in the parent on the spamd block's greylist,
 * traps and lists, so that a tuple the tarpit saw and one Postfix asks
 * about are one tuple (spamd's form: "<from>", "<to>", "<>" the null
 * sender).
 */
#ifndef __GREYWALL_POLICY_DECIDE_H
#define __GREYWALL_POLICY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spamd/privsep.h"

struct daemon;

/* What an answer was, for the counters and the log. */
enum policy_answer {
	POLICY_DUNNO,		/* not ours to decide (not a RCPT or DATA, a null sender's probe) */
	POLICY_PASS,		/* whitelisted, passed or white: DUNNO or PREPEND X-Greylist */
	POLICY_GREYLIST,	/* DEFER_IF_PERMIT 4.7.1 with the defer message */
	POLICY_REJECT,		/* a trap, a blacklist, a trapped source */
	POLICY_DEFER,		/* a blacklist that says `policy defer` */
	POLICY_TEMPFAIL,	/* DEFER_IF_PERMIT 4.3.x: what cannot be judged now */
	POLICY_ANSWERS
};

/* Names for the log and `greywallctl policy show`. */
extern const char *const policy_answer_names[POLICY_ANSWERS];

/* The messages' instances given X-Greylist: a message gets it once, whatever its recipients. */
#define POLICY_INSTANCES 64
#define POLICY_INSTANCE_MAX 64

struct policy_instances {
	char seen[POLICY_INSTANCES][POLICY_INSTANCE_MAX];
	size_t next;
};

/*
 * Decide req at now, writing the action (one line, at most
 * PRIVSEP_ACTION_MAX bytes, what follows "action=") to action, of len
 * bytes, and logging one line as postgrey does. Greylists and traps
 * through spamd_tuple() with SPAMD_TUPLE_POLICY; instances (or NULL)
 * remembers which messages had their X-Greylist. A store error is
 * POLICY_TEMPFAIL, never a pass. Returns the answer.
 */
enum policy_answer policy_decide(struct daemon *d, int64_t now, const struct privsep_policy *req,
				 struct policy_instances *instances, char *action, size_t len);

/*
 * Whether deciding req may trap its source, and so write the tables,
 * which run transactions of their own: the caller ends its batch's
 * transaction first (as spamd_rcpt_may_trap()). Errs on the side of true.
 */
bool policy_may_trap(struct daemon *d, const struct privsep_policy *req);

#endif /* __GREYWALL_POLICY_DECIDE_H */
