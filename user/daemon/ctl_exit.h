/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * greywallctl's exit codes (greywallctl(8), EXIT STATUS): what the daemon
 * answers a command with and what greywallctl exits with on its own. A
 * header of its own so that greywallctl needs nothing of the daemon.
 */
#ifndef __GREYWALL_CTL_EXIT_H
#define __GREYWALL_CTL_EXIT_H

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,	/* the command failed; the message says why */
	CTL_EXIT_NO_MATCH = 2,	/* `table T test`: not every address matched */
	CTL_EXIT_USAGE = 64,	/* bad command line (EX_USAGE) */
	CTL_EXIT_NOINPUT = 66,	/* the -f file cannot be used (EX_NOINPUT) */
	CTL_EXIT_UNAVAILABLE = 69, /* greywalld not reachable (EX_UNAVAILABLE) */
	CTL_EXIT_NOPERM = 77,	/* the caller may not run the command (EX_NOPERM) */
};

#endif /* __GREYWALL_CTL_EXIT_H */
