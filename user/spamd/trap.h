/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Greytrapping decisions, pure functions: spamtrap
 * matching, spamd's alloweddomains rule, recognition of SMTP callback
 * probes and the choice of spamtrap candidates. Nothing here touches the
 * store; grey.c keeps what these functions decide.
 */
#ifndef __GREYWALL_TRAP_H
#define __GREYWALL_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest address considered, as spamd's MAX_MAIL. */
#define TRAP_ADDRESS_MAX 1024
/* Longest probe host name kept (a DNS name is at most 253 bytes). */
#define TRAP_HOST_MAX 256

/*
 * Normalise an address as spamd compares them: white space around it and
 * one pair of angle brackets stripped, ASCII lower-cased. "<User@Ex.ORG> "
 * becomes "user@ex.org". out needs TRAP_ADDRESS_MAX + 1 bytes to hold any
 * result. Returns the length, -ENODATA when nothing is left (the null
 * sender "<>"), -EINVAL for a control character, -ENAMETOOLONG when longer
 * than TRAP_ADDRESS_MAX or than out.
 */
int trap_normalize(const char *in, char *out, size_t outlen);

/*
 * A set of normalised strings with hashed lookup, in insertion order.
 * Used for spamtrap addresses, for alloweddomains suffixes and for the
 * valid recipients.
 */
struct trap_set;

int trap_set_new(struct trap_set **out);
void trap_set_free(struct trap_set *set);
/* Normalise and add text; adding an entry again is not an error. */
int trap_set_add(struct trap_set *set, const char *text);
/* text must already be normalised (trap_normalize). */
bool trap_set_contains(const struct trap_set *set, const char *text);
size_t trap_set_count(const struct trap_set *set);
/* The i-th entry added, normalised. */
const char *trap_set_entry(const struct trap_set *set, size_t i);

/*
 * Add the entries of a file: one a line, surrounding white space ignored,
 * blank lines and lines starting with `#` skipped (spamd's rules for
 * spamd.alloweddomains). Returns 0, -errno for I/O, or -EINVAL with err
 * set to "/etc/greywall/spamtraps:7: entry too long".
 */
int trap_set_load(struct trap_set *set, const char *path, char *err, size_t errlen);

/*
 * spamd's alloweddomains rule: true when the normalised address ends with
 * one of the entries, compared without regard to case. Entries are plain
 * suffixes, exactly as spamd(8) describes: "@example.org" matches only
 * user@example.org; "example.org" matches user@example.org and
 * user@mx.example.org (and, being a bare suffix, user@badexample.org);
 * ".example.org" matches only subdomains.
 */
bool trap_domains_match(const struct trap_set *domains, const char *rcpt);

enum trap_probe_kind {
	TRAP_PROBE_NONE,
	/* Exim's callout random local part, its default
	 * callout_random_local_part "$primary_hostname-$tod_epoch-testing",
	 * sent from <> (or from <postmaster@...> with use_postmaster). */
	TRAP_PROBE_EXIM_RANDOM,
	/* Postfix address verification (verify(8)): the probe comes from
	 * address_verify_sender, by default <double-bounce@$myorigin>, with
	 * any address_verify_sender_ttl suffix on the local part. */
	TRAP_PROBE_POSTFIX_VERIFY,
};

struct trap_probe {
	enum trap_probe_kind kind;
	char host[TRAP_HOST_MAX]; /* the prober's host name, lower case */
	int64_t epoch;		  /* when it says it probed; 0 if unknown */
};

/*
 * Recognise an SMTP callback probe from MAIL FROM and RCPT TO as received.
 * Returns true and fills probe, or false (probe->kind = TRAP_PROBE_NONE).
 * Example: from "<>", rcpt "<mx42.example.net-1503146097-testing@our.domain>"
 * gives TRAP_PROBE_EXIM_RANDOM, host "mx42.example.net", epoch 1503146097.
 */
bool trap_callback_probe(const char *from, const char *rcpt, struct trap_probe *probe);

/* Which sets apply; any may be NULL. */
struct trap_rules {
	const struct trap_set *spamtraps;
	/* alloweddomains, NULL or empty when not set; also "our domains" for
	 * candidates, so without it there are none. */
	const struct trap_set *domains;
	const struct trap_set *valid; /* valid recipients; NULL: no candidates */
};

enum trap_verdict {
	TRAP_GREY,	/* greylist as usual */
	TRAP_CANDIDATE, /* greylist; the recipient is a spamtrap candidate */
	TRAP_CALLBACK,	/* a callback probe: record it, never trap */
	TRAP_SPAMTRAP,	/* trap: the recipient is a spamtrap */
	TRAP_DOMAIN,	/* trap: the recipient is outside alloweddomains */
};

/*
 * Decide what a tuple's MAIL FROM and RCPT TO mean, in spamd's order: a
 * recipient outside a set alloweddomains traps, then a spamtrap traps,
 * whatever the sender (a sender costs a spammer nothing to forge, so a
 * probe's "<>" or "<double-bounce@...>" buys no way past a trap). Only
 * then is a callback probe recognised: recorded, never a candidate. A
 * recipient in our domains that is neither valid nor a spamtrap is a
 * candidate. A recipient that cannot be normalised (empty, too long) is
 * in none of our domains: it traps when alloweddomains is set, as in
 * spamd, and greylists otherwise. probe may be NULL.
 */
enum trap_verdict trap_classify(const struct trap_rules *rules, const char *from, const char *rcpt,
				struct trap_probe *probe);

#endif /* __GREYWALL_TRAP_H */
