#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make demo: a gateway in a network namespace runs greywalld with the
# default config (deploy/greywall.conf, interface and paths moved into the
# sandbox); simulated attackers and a legitimate client connect to its
# services; greywallctl shows what greywall did about them.
set -u
. "$(dirname "$0")/../tests/lib/gw.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
try() { # label src dst port
	if connect "$2" "$3" "$4"; then
		printf '  %-34s %-18s -> port %-4s served\n' "$1" "$2" "$4"
	else
		printf '  %-34s %-18s -> port %-4s DROPPED\n' "$1" "$2" "$4"
	fi
}

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, XDP)"; exit 1; }
gw_setup_net || { echo "demo: network setup failed"; exit 1; }

# The default config, pointed at the sandbox's interface and directories.
sed -e '/^set interface /d' \
	-e "s|/var/lib/greywall|$GW_RUN/state|g" "$GW_TOP/deploy/greywall.conf" |
	grep -v '^set \(state-dir\|bpf-dir\|control-socket\|dump-dir\)' >"$GW_RUN/default.conf"
gw_write_config "$(cat "$GW_RUN/default.conf")"

say "The gateway (192.0.2.1, 2001:db8::1) runs greywalld with the default config"
(echo "set interface veth0"; grep -v "^\s*#" "$GW_RUN/default.conf" | grep -v "^\s*$") | sed "s/^/  /"
gw "$GW_TOOLS/gwnet" listen 25 >"$GW_RUN/smtp.log" 2>&1 &
gw "$GW_TOOLS/gwnet" listen 110 >"$GW_RUN/pop3.log" 2>&1 &
gw "$GW_TOOLS/gwnet" listen 22 >"$GW_RUN/ssh.log" 2>&1 &
gw_start || exit 1
run "$GW_BIN/greywallctl" status

say "Before any entry, everybody reaches the mail, pop3 and ssh ports"
try "mail client" 192.0.2.10 192.0.2.1 25
try "password groper" 198.51.100.7 192.0.2.1 110
try "ssh brute-forcer (IPv6)" 2001:db8:bad::7 2001:db8::1 22
try "spam network host" 203.0.113.9 192.0.2.1 25

say "The operator lists the groper and the brute-forcer's /48, and imports a published list"
run "$GW_BIN/greywallctl" table bruteforce add 198.51.100.7 2001:db8:bad::/48
printf '# a list somebody published, with evidence\n203.0.113.0/24\n' >"$GW_RUN/published.txt"
run "$GW_BIN/greywallctl" table longterm load -f "$GW_RUN/published.txt"

say "From the next packet on, XDP drops the listed sources; the mail client is still served"
try "mail client" 192.0.2.10 192.0.2.1 25
try "mail client (IPv6)" 2001:db8::10 2001:db8::1 25
try "password groper" 198.51.100.7 192.0.2.1 110
try "ssh brute-forcer (IPv6)" 2001:db8:bad::7 2001:db8::1 22
try "spam network host" 203.0.113.9 192.0.2.1 25
try "its neighbour, not listed" 198.51.100.8 192.0.2.1 110

say "Per-entry counters, as pfctl -vvsTables shows them"
run "$GW_BIN/greywallctl" table bruteforce show -v

say "Every entry carries its evidence"
run "$GW_BIN/greywallctl" why 198.51.100.7
run "$GW_BIN/greywallctl" why 203.0.113.9

say "greywalld is killed with SIGKILL: enforcement stays attached"
gw_stop KILL
try "password groper, daemon down" 198.51.100.7 192.0.2.1 110
try "mail client, daemon down" 192.0.2.10 192.0.2.1 25
gw_start && echo "  greywalld restarted over the pinned maps; entries and evidence kept:"
run "$GW_BIN/greywallctl" tables

say "Published lists (written every dump-interval and on demand)"
run "$GW_BIN/greywallctl" dump
run cat "$GW_RUN/pub/bruteforce.txt"
run cat "$GW_RUN/pub/bruteforce_full.txt"

say "What the data path counted"
run "$GW_BIN/greywallctl" stats
printf '\nThe services accepted: %s SMTP, %s pop3, %s ssh connections; none from a listed source.\n' \
	"$(grep -c . "$GW_RUN/smtp.log")" "$(grep -c . "$GW_RUN/pop3.log")" "$(grep -c . "$GW_RUN/ssh.log")"
say "Cleaning up: greywallctl detach removes programs and pins"
run "$GW_BIN/greywallctl" detach
wait "$GW_PID" 2>/dev/null
GW_PID=
