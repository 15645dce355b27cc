// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * greywalld: loads and attaches the data path, keeps the tables (store,
 * files, maps) and answers greywallctl. Enforcement stays attached when it
 * exits; `greywalld --detach` or `greywallctl detach` removes it. This file
 * is the command line only: the lifecycle is daemon/daemon.c, the event
 * loop daemon/loop.c.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowdsec/client.h"
#include "daemon/daemon.h"
#include "lib/location.h"
#include "lib/log.h"
#include "metrics/metrics_child.h"
#include "policy/policy_child.h"
#include "spamd/tarpit_child.h"

/* No permissions for others, no write for the group (greywalld(8), FILES). */
#define GREYWALLD_UMASK 0027

static void usage(void)
{
	fprintf(stderr, "usage: greywalld [-dnv] [-f file] [--detach]\n"
			"       greywalld --version\n");
	exit(CTL_EXIT_USAGE);
}

/*
 * -n: a location-db that cannot be read is not an error (greywalld runs
 * without places, and says so in the log), but the operator checking the
 * config is told now.
 */
static void check_location_db(const struct config *cfg)
{
	struct location *loc;
	char why[128];
	int ret;

	if (!cfg->location_db)
		return;
	ret = location_open(cfg->location_db, &loc, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "greywalld: warning: location-db %s: %s%s%s: the dumps would go on "
				"without countries and networks\n",
			cfg->location_db, strerror(-ret), why[0] ? ", " : "", why);
		return;
	}
	location_close(loc);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = DAEMON_INIT(CONFIG_DEFAULT_PATH);
	bool foreground = false, check_only = false, verbose = false, detach = false;
	char errbuf[1024];
	int opt, ret;

	/* The tarpit child, exec'd by spamd_child.c: nothing of the daemon's start-up runs. */
	if (argc > 1 && !strcmp(argv[1], TARPIT_CHILD_OPTION))
		_exit(tarpit_child_main(argc, argv));
	/* The policy child (policy/policy_child.h), exec'd the same way. */
	if (argc > 1 && !strcmp(argv[1], POLICY_CHILD_OPTION))
		_exit(policy_child_main(argc, argv));
	/* The metrics child (metrics/metrics_child.h): the only part that speaks HTTP to scrapers. */
	if (argc > 1 && !strcmp(argv[1], METRICS_CHILD_OPTION))
		_exit(metrics_child_main(argc, argv));
	/* The crowdsec child (crowdsec/client.h): the only part that speaks HTTP to CrowdSec. */
	if (argc > 1 && !strcmp(argv[1], CROWDSEC_CHILD_OPTION))
		_exit(crowdsec_child_exec_main(argc, argv));
	/*
	 * Whatever umask greywalld was started with: what it creates (the
	 * store, the state-dir, pinned maps, the files of fetch commands) is
	 * no one else's to read or write. Files meant for others, the dumps,
	 * get their mode set explicitly.
	 */
	umask(GREYWALLD_UMASK);
	while ((opt = getopt_long(argc, argv, "dnvf:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'f':
			d.config_path = optarg;
			break;
		case 'D':
			detach = true;
			break;
		case 'V':
			printf("greywalld %s\n", GREYWALL_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("greywalld", foreground || check_only || detach, verbose);
	log_route_libbpf();

	ret = daemon_load_config(&d, errbuf, sizeof(errbuf));
	/* A config the data path cannot enforce still has its warnings shown. */
	for (size_t i = 0; i < d.cfg.nwarnings; i++)
		fprintf(stderr, "greywalld: %s\n", d.cfg.warnings[i]);
	if (ret)
		errx(1, "%s", errbuf);
	if (check_only) {
		check_location_db(&d.cfg);
		printf("%s: configuration OK\n", d.config_path);
		return 0;
	}
	if (detach) {
		if (daemon_detach(&d.cfg, errbuf, sizeof(errbuf)))
			errx(1, "detach: %s", errbuf);
		printf("greywall detached from %zu interface(s); maps in %s removed\n",
		       d.cfg.ninterfaces, d.cfg.bpf_dir);
		return 0;
	}
	if (daemon_start(&d, errbuf, sizeof(errbuf)))
		errx(1, "%s", errbuf);
	if (!foreground && daemon(0, 0))
		err(1, "daemon");
	ret = daemon_run(&d);
	daemon_close(&d);
	if (ret)
		log_err("event loop: %s", strerror(-ret));
	return ret ? 1 : 0;
}
