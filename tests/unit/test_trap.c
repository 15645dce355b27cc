// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "spamd/trap.h"

static struct trap_set *set_of(const char *const *entries)
{
	struct trap_set *set;

	if (trap_set_new(&set)) {
		fprintf(stderr, "trap_set_new failed\n");
		exit(2);
	}
	for (; entries && *entries; entries++)
		if (trap_set_add(set, *entries)) {
			fprintf(stderr, "trap_set_add %s failed\n", *entries);
			exit(2);
		}
	return set;
}

static void test_normalize(void)
{
	char out[TRAP_ADDRESS_MAX + 1], big[TRAP_ADDRESS_MAX + 8];

	CHECK_INT(trap_normalize("<User@Example.ORG>", out, sizeof(out)), 16, "brackets: length");
	CHECK_STR(out, "user@example.org", "brackets stripped, lower-cased");
	trap_normalize(" \t< Spam.Trap@Example.org >\r\n", out, sizeof(out));
	CHECK_STR(out, "spam.trap@example.org", "spaces outside and inside the brackets stripped");
	trap_normalize("plain@x.org", out, sizeof(out));
	CHECK_STR(out, "plain@x.org", "no brackets: unchanged");
	trap_normalize("<half@x.org", out, sizeof(out));
	CHECK_STR(out, "half@x.org", "an opening bracket alone is stripped, as spamd does");
	CHECK_INT(trap_normalize("<>", out, sizeof(out)), -ENODATA,
		  "the null sender is no address");
	CHECK_INT(trap_normalize("  ", out, sizeof(out)), -ENODATA, "blank is no address");
	CHECK_INT(trap_normalize("a\x01@b", out, sizeof(out)), -EINVAL,
		  "control character refused");
	CHECK_INT(trap_normalize("a@b", out, 3), -ENAMETOOLONG, "too long for the buffer");

	memset(big, 'a', TRAP_ADDRESS_MAX);
	big[TRAP_ADDRESS_MAX] = '\0';
	CHECK_INT(trap_normalize(big, out, sizeof(out)), TRAP_ADDRESS_MAX, "1024 bytes accepted");
	big[TRAP_ADDRESS_MAX] = 'a';
	big[TRAP_ADDRESS_MAX + 1] = '\0';
	CHECK_INT(trap_normalize(big, out, sizeof(out)), -ENAMETOOLONG, "1025 bytes refused");
}

static void test_set(void)
{
	static const char *const traps[] = {"<Trap@Example.org>", "other@example.org",
					    "trap@example.org", NULL};
	struct trap_set *set = set_of(traps);
	char name[64];
	bool all = true;

	CHECK_INT(trap_set_count(set), 2, "a repeated address (other case, brackets) counts once");
	CHECK(trap_set_contains(set, "trap@example.org"), "contains the normalised address");
	CHECK(!trap_set_contains(set, "trap@example.net"), "does not contain another one");
	CHECK_STR(trap_set_entry(set, 0), "trap@example.org", "entries kept normalised, in order");
	CHECK(trap_set_entry(set, 2) == NULL, "no entry past the end");
	CHECK_INT(trap_set_add(set, "<>"), -ENODATA, "an empty address is not added");

	/* Enough entries to rehash several times. */
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "User%d@Example.org", i);
		trap_set_add(set, name);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "user%d@example.org", i);
		all &= trap_set_contains(set, name);
	}
	CHECK(all, "5000 entries all found after growing");
	CHECK(!trap_set_contains(set, "user5000@example.org"), "and no more");
	CHECK_INT(trap_set_count(set), 5002, "count after growing");
	trap_set_free(set);
}

static void test_load(void)
{
	char path[] = "/tmp/gw-trap-XXXXXX", err[256], line[TRAP_ADDRESS_MAX + 16];
	struct trap_set *set = set_of(NULL);
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");

	fputs("# spamtraps\n\n  <Alpha@Example.org>  \n\t# indented comment\nbeta@example.org\r\n",
	      fp);
	fclose(fp);
	CHECK_INT(trap_set_load(set, path, err, sizeof(err)), 0, "load a spamtrap file");
	CHECK_INT(trap_set_count(set), 2, "comments and blank lines skipped");
	CHECK(trap_set_contains(set, "alpha@example.org"), "entry normalised");
	CHECK(trap_set_contains(set, "beta@example.org"), "CRLF line ends stripped");

	fp = fopen(path, "w");
	memset(line, 'x', TRAP_ADDRESS_MAX + 1);
	line[TRAP_ADDRESS_MAX + 1] = '\0';
	fprintf(fp, "ok@example.org\n%s\n", line);
	fclose(fp);
	CHECK_INT(trap_set_load(set, path, err, sizeof(err)), -EINVAL, "a 1025-byte line fails");
	snprintf(line, sizeof(line), "%s:2: entry too long", path);
	CHECK_STR(err, line, "the message names file and line");

	unlink(path);
	CHECK_INT(trap_set_load(set, path, err, sizeof(err)), -ENOENT, "missing file: -ENOENT");
	trap_set_free(set);
}

static void test_domains(void)
{
	/* The example of spamd(8)'s GREYTRAPPING section. */
	static const char *const allowed[] = {"@humpingforjesus.com", "obtuse.com", NULL};
	static const char *const dotted[] = {".example.org", NULL};
	struct trap_set *domains = set_of(allowed), *sub = set_of(dotted);

	CHECK(trap_domains_match(domains, "beardedclams@humpingforjesus.com"),
	      "\"@domain\" matches that domain");
	CHECK(trap_domains_match(domains, "beck@obtuse.com"), "\"obtuse.com\" matches itself");
	CHECK(trap_domains_match(domains, "beck@snouts.obtuse.com"),
	      "\"obtuse.com\" matches a subdomain");
	CHECK(!trap_domains_match(domains, "peter@apostles.humpingforjesus.com"),
	      "\"@domain\" does not match a subdomain");
	CHECK(!trap_domains_match(domains, "bigbutts@bofh.ucs.ualberta.ca"),
	      "another domain does not match");
	CHECK(trap_domains_match(domains, "beck@notobtuse.com"),
	      "a bare suffix matches any address ending in it, as in spamd");
	CHECK(trap_domains_match(domains, "Beck@OBTUSE.COM"), "compared without case");
	CHECK(trap_domains_match(sub, "user@mx.example.org"), "\".example.org\": a subdomain");
	CHECK(!trap_domains_match(sub, "user@example.org"),
	      "\".example.org\": not the domain itself");
	CHECK(!trap_domains_match(sub, "org"), "an address shorter than the suffix");
	trap_set_free(domains);
	trap_set_free(sub);
}

static const struct probe_case {
	const char *from;
	const char *rcpt;
	enum trap_probe_kind kind;
	const char *host;
	long long epoch;
	const char *what;
} probe_cases[] = {
    {"<>", "<mx42.example.net-1503146097-testing@our.domain>", TRAP_PROBE_EXIM_RANDOM,
     "mx42.example.net", 1503146097, "Exim callout random local part (the classic probe)"},
    {" <> ", "MX.Example.NET-1503146097-TESTING@Our.Domain", TRAP_PROBE_EXIM_RANDOM,
     "mx.example.net", 1503146097, "case and spacing do not matter; host lower-cased"},
    {"", "mail-1503146097-testing@our.domain", TRAP_PROBE_EXIM_RANDOM, "mail", 1503146097,
     "an empty MAIL FROM is the null sender; an unqualified host counts"},
    {"<postmaster@mx.example.net>", "mx.example.net-1503146097-testing@our.domain",
     TRAP_PROBE_EXIM_RANDOM, "mx.example.net", 1503146097, "Exim use_postmaster sender"},
    {"<joe@example.net>", "mx.example.net-1503146097-testing@our.domain", TRAP_PROBE_NONE, "", 0,
     "an ordinary sender is not a probe"},
    {"<>", "foo-1-testing@our.domain", TRAP_PROBE_NONE, "", 0, "a short number is no epoch"},
    {"<>", "mx-150314609712-testing@our.domain", TRAP_PROBE_NONE, "", 0,
     "twelve digits are no epoch"},
    {"<>", "-1503146097-testing@our.domain", TRAP_PROBE_NONE, "", 0, "a host is needed"},
    {"<>", "m!x-1503146097-testing@our.domain", TRAP_PROBE_NONE, "", 0, "a host name has no '!'"},
    {"<>", "mx.example.net-1503146097@our.domain", TRAP_PROBE_NONE, "", 0, "no -testing, no probe"},
    {"<>", "joe@our.domain", TRAP_PROBE_NONE, "", 0, "a bounce to an address is no probe"},
    {"<double-bounce@mx.example.com>", "<anyone@our.domain>", TRAP_PROBE_POSTFIX_VERIFY,
     "mx.example.com", 0, "Postfix address verification; host from the sender's domain"},
    {"double-bounce1700000@mx.example.com", "a@our.domain", TRAP_PROBE_POSTFIX_VERIFY,
     "mx.example.com", 0, "Postfix probe with an address_verify_sender_ttl suffix"},
    {"double-bounce", "a@our.domain", TRAP_PROBE_NONE, "", 0,
     "double-bounce without a domain is no probe"},
};

static void test_probes(void)
{
	for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++) {
		const struct probe_case *c = &probe_cases[i];
		struct trap_probe probe;
		bool is = trap_callback_probe(c->from, c->rcpt, &probe);

		CHECK(is == (c->kind != TRAP_PROBE_NONE) && probe.kind == c->kind &&
			  !strcmp(probe.host, c->host) && probe.epoch == c->epoch,
		      "%s (%s / %s: kind %d host \"%s\" epoch %lld)", c->what, c->from, c->rcpt,
		      probe.kind, probe.host, (long long)probe.epoch);
	}
}

/* Which sets a classify case applies. */
enum rules_kind { RULES_ALL, RULES_ONLY_TRAPS, RULES_NO_VALID };

static const struct classify_case {
	enum rules_kind rules;
	const char *from;
	const char *rcpt;
	enum trap_verdict verdict;
	const char *what;
} classify_cases[] = {
    {RULES_ALL, "<a@b.c>", "<joe@our.domain>", TRAP_GREY, "a valid recipient greylists"},
    {RULES_ALL, "<a@b.c>", "<TRAP@Our.Domain>", TRAP_SPAMTRAP,
     "a spamtrap traps, whatever its case"},
    {RULES_ALL, "<a@b.c>", "<x@elsewhere.org>", TRAP_DOMAIN,
     "a recipient outside alloweddomains traps"},
    {RULES_ALL, "<a@b.c>", "<nobody@our.domain>", TRAP_CANDIDATE,
     "an unknown recipient in our domain is a candidate"},
    {RULES_ALL, "<>", "<mx.example.net-1503146097-testing@our.domain>", TRAP_CALLBACK,
     "a callback probe is a callback, not a candidate"},
    {RULES_ALL, "<double-bounce@mx.example.com>", "<trap@our.domain>", TRAP_SPAMTRAP,
     "a Postfix probe's sender does not exempt a spamtrap recipient"},
    {RULES_ALL, "<>", "<trap@our.domain>", TRAP_SPAMTRAP,
     "a null sender does not exempt a spamtrap recipient"},
    {RULES_ALL, "<double-bounce@mx.example.com>", "<x@elsewhere.org>", TRAP_DOMAIN,
     "a Postfix probe's sender does not exempt a recipient outside alloweddomains"},
    {RULES_ALL, "<>", "<mx.example.net-1503146097-testing@elsewhere.org>", TRAP_DOMAIN,
     "an Exim probe of a domain outside alloweddomains traps"},
    {RULES_ONLY_TRAPS, "<>", "<mx.example.net-1503146097-testing@our.domain>", TRAP_CALLBACK,
     "without alloweddomains an Exim probe is a callback"},
    {RULES_ALL, "<double-bounce@mx.example.com>", "<joe@our.domain>", TRAP_CALLBACK,
     "a Postfix probe of a valid recipient is a callback"},
    {RULES_ONLY_TRAPS, "<a@b.c>", "<x@elsewhere.org>", TRAP_GREY,
     "without alloweddomains any domain greylists"},
    {RULES_ONLY_TRAPS, "<a@b.c>", "trap@our.domain", TRAP_SPAMTRAP,
     "without alloweddomains spamtraps still trap"},
    {RULES_NO_VALID, "<a@b.c>", "<nobody@our.domain>", TRAP_GREY,
     "without a valid-recipients list there are no candidates"},
    {RULES_ALL, "<a@b.c>", "<>", TRAP_DOMAIN, "an empty recipient is outside alloweddomains"},
    {RULES_ONLY_TRAPS, "<a@b.c>", "<>", TRAP_GREY,
     "an empty recipient greylists without alloweddomains"},
};

static void test_classify(void)
{
	static const char *const traps[] = {"trap@our.domain", NULL};
	static const char *const ours[] = {"@our.domain", NULL};
	static const char *const valid[] = {"joe@our.domain", NULL};
	struct trap_set *spamtraps = set_of(traps), *domains = set_of(ours),
			*valid_set = set_of(valid);
	const struct trap_rules rules[] = {
	    [RULES_ALL] = {spamtraps, domains, valid_set},
	    [RULES_ONLY_TRAPS] = {spamtraps, NULL, NULL},
	    [RULES_NO_VALID] = {spamtraps, domains, NULL},
	};
	struct trap_probe probe;

	for (size_t i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++) {
		const struct classify_case *c = &classify_cases[i];

		CHECK_INT(trap_classify(&rules[c->rules], c->from, c->rcpt, NULL), c->verdict, "%s",
			  c->what);
	}
	trap_classify(&rules[RULES_ALL], "<>", "<mx.example.net-1503146097-testing@our.domain>",
		      &probe);
	CHECK_STR(probe.host, "mx.example.net", "classify fills the probe");
	trap_set_free(spamtraps);
	trap_set_free(domains);
	trap_set_free(valid_set);
}

int main(void)
{
	test_normalize();
	test_set();
	test_load();
	test_domains();
	test_probes();
	test_classify();
	return check_done();
}
