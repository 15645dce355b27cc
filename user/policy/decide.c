// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The policy service's decisions: Postfix's request mapped to spamd's
 * tuple and judged as the tarpit judges a RCPT (spamd.c), the answer
 * worded as postgrey words it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "lib/log.h"
#include "policy/decide.h"
#include "spamd/grey.h"
#include "spamd/spamd.h"
#include "spamd/trap.h"

#define TRAP_TEXT "5.7.1 Your address %A has sent mail to a spamtrap address"
#define STARTING_TEXT "4.3.0 Greylisting is starting, try again later"
#define STORE_TEXT "4.3.0 Greylisting is failing here, try again later"
#define CLIENT_TEXT "4.3.5 Cannot judge the client address"
/* A recipient's domain in the defer message at most (RFC 1035's name). */
#define DOMAIN_MAX 255

const char *const policy_answer_names[POLICY_ANSWERS] = {
	[POLICY_DUNNO] = "dunno",	[POLICY_PASS] = "pass",	  [POLICY_GREYLIST] = "greylist",
	[POLICY_REJECT] = "reject",	[POLICY_DEFER] = "defer", [POLICY_TEMPFAIL] = "tempfail",
};

/* An action being written: bounded, one line, cut short rather than overflowing. */
struct action {
	char *buf;
	size_t len, cap;
};

/* One byte of someone else's text: no control character or non-ASCII byte reaches Postfix. */
static void put_byte(struct action *a, unsigned char c)
{
	if (c < 0x20 || c >= 0x7f)
		c = '?';
	if (a->len + 1 < a->cap) {
		a->buf[a->len++] = (char)c;
		a->buf[a->len] = '\0';
	}
}

static void put_text(struct action *a, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++)
		put_byte(a, (unsigned char)s[i]);
}

static void put_fmt(struct action *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_fmt(struct action *a, const char *fmt, ...)
{
	char tmp[PRIVSEP_ACTION_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put_text(a, tmp, sizeof(tmp));
}

/* A list's message: %A the client, its lines joined with "; " (an action is one line). */
static void put_message(struct action *a, const char *msg, const char *client)
{
	for (const char *c = msg; *c; c++) {
		if (c[0] == '%' && c[1] == 'A') {
			put_text(a, client, ADDR_STRLEN);
			c++;
		} else if (*c == '\n') {
			if (c[1])
				put_text(a, "; ", 2);
		} else {
			put_byte(a, (unsigned char)*c);
		}
	}
}

/* Postfix's sender and recipient carry no angle brackets; spamd's tuples do. */
static void spamd_form(const char *address, char *out, size_t len)
{
	if (!address[0])
		snprintf(out, len, "<>");
	else
		snprintf(out, len, "<%s>", address);
}

/* Postfix writes IPv4 clients of an IPv6 socket plainly, but take the mapped form too. */
static int parse_client(const char *text, struct addr_prefix *ip)
{
	if (!strncasecmp(text, "::ffff:", 7) && strchr(text + 7, '.') && !strchr(text + 7, ':'))
		text += 7;
	if (addr_parse(text, ip) || !addr_is_host(ip))
		return -EINVAL;
	return 0;
}

/*
 * A black source's answer: DEFER when every list that holds it says
 * `policy defer`, else REJECT (a trapped source, <spamd-greytrap>, is
 * always rejected); the lists' messages as the text.
 */
static enum policy_answer black_answer(struct daemon *d, const char *msg, const char *names,
				       const char *client, struct action *a)
{
	const struct config_spamd *cs = d->cfg.spamd;
	bool defer = names[0] != '\0';
	char name[256];

	for (const char *n = names; defer && *n;) {
		size_t len = strcspn(n, " ");
		bool found = false;

		snprintf(name, sizeof(name), "%.*s", (int)len, n);
		for (size_t i = 0; cs && i < cs->nlists && !found; i++) {
			if (!cs->lists[i].white && !strcmp(cs->lists[i].name, name)) {
				found = true;
				defer = cs->lists[i].policy_defer;
			}
		}
		defer = defer && found;
		n += len;
		n += *n == ' ';
	}
	put_text(a, defer ? "DEFER " : "REJECT ", 7);
	put_message(a, msg, client);
	return defer ? POLICY_DEFER : POLICY_REJECT;
}

/* The domain of Postfix's recipient, for %r. */
static const char *recipient_domain(const char *recipient)
{
	const char *at = strrchr(recipient, '@');

	return at ? at + 1 : "";
}

/* "DEFER_IF_PERMIT 4.7.1 <defer-message>", %r and %s expanded as postgrey does. */
static void put_defer(struct daemon *d, const struct privsep_policy *req, int64_t left,
		      struct action *a)
{
	const struct config_policy *pol = d->cfg.policy;
	const char *text = pol ? pol->defer_message : CONFIG_POLICY_DEFER_MESSAGE;

	put_text(a, "DEFER_IF_PERMIT 4.7.1 ", 22);
	for (const char *c = text; *c; c++) {
		if (c[0] != '%' || !c[1]) {
			put_byte(a, (unsigned char)*c);
			continue;
		}
		c++;
		if (*c == 'r')
			put_text(a, recipient_domain(req->recipient), DOMAIN_MAX);
		else if (*c == 's')
			put_fmt(a, "%lld", (long long)(left > 0 ? left : 0));
		else
			put_byte(a, (unsigned char)*c);
	}
}

/* Whether the message of this instance already has its X-Greylist; remembers it if not. */
static bool instance_seen(struct policy_instances *in, const char *instance)
{
	char key[POLICY_INSTANCE_MAX];

	if (!in || !instance[0])
		return false;
	snprintf(key, sizeof(key), "%s", instance);
	for (size_t i = 0; i < POLICY_INSTANCES; i++)
		if (!strcmp(in->seen[i], key))
			return true;
	memcpy(in->seen[in->next], key, sizeof(key));
	in->next = (in->next + 1) % POLICY_INSTANCES;
	return false;
}

/* "PREPEND X-Greylist: delayed N seconds by greywall at HOST; DATE", as postgrey's. */
static void put_header(struct daemon *d, int64_t now, int64_t delay, struct action *a)
{
	const struct config_spamd *cs = d->cfg.spamd;
	char host[256], date[64];
	time_t t = (time_t)now;
	struct tm tm;

	if (cs && cs->hostname)
		snprintf(host, sizeof(host), "%s", cs->hostname);
	else if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (!localtime_r(&t, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm))
		date[0] = '\0';
	put_fmt(a, "PREPEND X-Greylist: delayed %lld seconds by greywall at ",
		(long long)(delay > 0 ? delay : 0));
	put_text(a, host, sizeof(host));
	put_text(a, "; ", 2);
	put_text(a, date, sizeof(date));
}

bool policy_may_trap(struct daemon *d, const struct privsep_policy *req)
{
	char from[PRIVSEP_FIELD_MAX + 3], to[PRIVSEP_FIELD_MAX + 3];

	if (!d->spamd)
		return false;
	spamd_form(req->sender, from, sizeof(from));
	spamd_form(req->recipient, to, sizeof(to));
	return spamd_rcpt_may_trap(d, NULL, from, to);
}

static void log_decision(enum policy_answer answer, const char *reason,
			 const struct privsep_policy *req)
{
	/* Not ours to judge: every DATA of a non-null sender comes here, so only with -v. */
	void (*log)(const char *, ...) = answer == POLICY_DUNNO ? log_debug : log_info;

	log("policy: action=%s, reason=%s, client_address=%.64s, helo=%.100s, sender=%.200s,"
	    " recipient=%.200s", policy_answer_names[answer], reason, req->client, req->helo,
	    req->sender[0] ? req->sender : "<>", req->recipient);
}

enum policy_answer policy_decide(struct daemon *d, int64_t now, const struct privsep_policy *req,
				 struct policy_instances *instances, char *action, size_t len)
{
	struct action a = { action, 0, len < PRIVSEP_ACTION_MAX + 1 ? len : PRIVSEP_ACTION_MAX + 1 };
	char from[PRIVSEP_FIELD_MAX + 3], to[PRIVSEP_FIELD_MAX + 3];
	char msg[SPAMD_MESSAGE_MAX], names[512], client[ADDR_STRLEN], reason[128];
	bool rcpt = !strcmp(req->state, "RCPT"), black = false;
	struct spamd_tuple_result res;
	enum policy_answer answer;
	unsigned int flags = SPAMD_TUPLE_POLICY;
	struct addr_prefix ip;
	int ret;

	if (!len)
		return POLICY_TEMPFAIL;
	action[0] = '\0';
	if (strcmp(req->request, "smtpd_access_policy") || (!rcpt && strcmp(req->state, "DATA"))) {
		put_text(&a, "DUNNO", 5);
		log_decision(POLICY_DUNNO, "neither RCPT nor DATA", req);
		return POLICY_DUNNO;
	}
	if (parse_client(req->client, &ip)) {
		put_fmt(&a, "DEFER_IF_PERMIT %s", CLIENT_TEXT);
		log_decision(POLICY_TEMPFAIL, "client_address does not parse", req);
		return POLICY_TEMPFAIL;
	}
	/* DATA of a non-null sender: its recipients were judged at RCPT. */
	if (!rcpt && req->sender[0]) {
		put_text(&a, "DUNNO", 5);
		log_decision(POLICY_DUNNO, "DATA of a sender judged at RCPT", req);
		return POLICY_DUNNO;
	}
	addr_format(&ip, client, sizeof(client));
	if (!d->spamd || !d->spamd->lists) {
		/* Without its lists a listed source would be greylisted like any other. */
		put_fmt(&a, "DEFER_IF_PERMIT %s", d->spamd ? STARTING_TEXT : STORE_TEXT);
		log_decision(POLICY_TEMPFAIL, "the lists are not loaded yet", req);
		return POLICY_TEMPFAIL;
	}
	if (spamd_passes(d, &ip)) {
		put_text(&a, "DUNNO", 5);
		log_decision(POLICY_PASS, "whitelisted", req);
		return POLICY_PASS;
	}
	spamd_classify(d, &ip, &black, msg, sizeof(msg), names, sizeof(names));
	if (black) {
		answer = black_answer(d, msg, names, client, &a);
		snprintf(reason, sizeof(reason), "listed in %.100s", names);
		log_decision(answer, reason, req);
		return answer;
	}
	spamd_form(req->sender, from, sizeof(from));
	spamd_form(req->recipient, to, sizeof(to));
	if (rcpt && !req->sender[0]) {
		/* Sender verification probes must pass: the null sender greylists at DATA. */
		flags |= SPAMD_TUPLE_TRAPS_ONLY;
	} else if (!rcpt) {
		/*
		 * DATA of the null sender: its recipients met the traps at RCPT,
		 * and the tuple's "<>" for several of them must not count as a
		 * recipient outside alloweddomains.
		 */
		flags |= SPAMD_TUPLE_NO_TRAPS;
	}
	ret = spamd_tuple(d, now, &ip, NULL, req->helo, from, to, flags, &res);
	if (res.trap == TRAP_SPAMTRAP || res.trap == TRAP_DOMAIN) {
		/* Trapped, even when a step of it failed: the source is judged by its address. */
		put_text(&a, "REJECT ", 7);
		put_message(&a, TRAP_TEXT, client);
		log_decision(POLICY_REJECT,
			     res.trap == TRAP_SPAMTRAP ? "spamtrap" : "outside alloweddomains", req);
		return POLICY_REJECT;
	}
	if (ret < 0) {
		put_fmt(&a, "DEFER_IF_PERMIT %s", STORE_TEXT);
		snprintf(reason, sizeof(reason), "store error: %s", strerror(-ret));
		log_decision(POLICY_TEMPFAIL, reason, req);
		return POLICY_TEMPFAIL;
	}
	if (res.black) {
		spamd_classify(d, &ip, &black, msg, sizeof(msg), names, sizeof(names));
		answer = black_answer(d, msg, names, client, &a);
		log_decision(answer, "listed", req);
		return answer;
	}
	switch (res.grey) {
	case GREY_NEW:
	case GREY_SEEN:
		put_defer(d, req, res.first + (int64_t)d->spamd->params.passtime - now, &a);
		snprintf(reason, sizeof(reason), "%s",
			 res.grey == GREY_NEW ? "new" : "early-retry");
		log_decision(POLICY_GREYLIST, reason, req);
		return POLICY_GREYLIST;
	case GREY_FULL:
		put_defer(d, req, (int64_t)d->spamd->params.passtime, &a);
		log_decision(POLICY_GREYLIST, "maxtuples", req);
		return POLICY_GREYLIST;
	case GREY_PASSED:
		if (d->cfg.policy && d->cfg.policy->x_greylist_header &&
		    !instance_seen(instances, req->instance))
			put_header(d, now, now - res.first, &a);
		else
			put_text(&a, "DUNNO", 5);
		snprintf(reason, sizeof(reason), "triplet found, delay=%lld",
			 (long long)(now - res.first));
		log_decision(POLICY_PASS, reason, req);
		return POLICY_PASS;
	case GREY_WHITE:
		put_text(&a, "DUNNO", 5);
		log_decision(POLICY_PASS, "white", req);
		return POLICY_PASS;
	default:
		/* Traps only: the null sender's RCPT, greylisted at DATA. */
		put_text(&a, "DUNNO", 5);
		log_decision(POLICY_DUNNO, "null sender at RCPT, greylisted at DATA", req);
		return POLICY_DUNNO;
	}
}
