#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make demo: a gateway in a network namespace runs greywalld with the
# default config (deploy/greywall.conf, interface and paths moved into the
# sandbox, a shorter passtime) in front of a real Postfix; a Postfix sender
# is greylisted by the tarpit and delivered on retry, a spammer hits a
# spamtrap and is stuttered at, attackers of other services are listed and
# dropped by XDP; greywallctl shows what greywall did about each of them.
set -u
. "$(dirname "$0")/../tests/lib/gw.sh"
. "$GW_TOP/tests/lib/mta.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
die() {
	printf '\ndemo failed: %s\n' "$*"
	echo "greywalld's log (last lines):"
	tail -15 "$GW_RUN/greywalld.log" 2>/dev/null | sed 's/^/  /'
	exit 1
}
try() { # label src dst port
	if connect "$2" "$3" "$4"; then
		printf '  %-34s %-18s -> port %-4s served\n' "$1" "$2" "$4"
	else
		printf '  %-34s %-18s -> port %-4s DROPPED\n' "$1" "$2" "$4"
	fi
}
# The tarpit's log lines about one source, from greywalld's log.
tarpit_log() { grep -F -e "$1:" -e " $1 " "$GW_RUN/greywalld.log" | sed 's/^<[0-7]>/  /'; }
# gwnet chat's "# first-bytes-ms T1 T2 ..." as one line of arrival times.
arrivals() {
	awk '/^# first-bytes-ms/ {
		printf "  bytes arrived at"
		for (i = 3; i <= NF; i++)
			printf " %.1fs", $i / 1000
		print ""
	}'
}

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, XDP)"; exit 1; }
gw_setup_net || { echo "demo: network setup failed"; exit 1; }
# Also when the demo fails half-way: the Postfix instances, greywalld, the namespaces.
trap 'mta_stop_all; gw_cleanup' EXIT

# The default config, pointed at the sandbox's interface and directories,
# with a spamtraps file and a passtime of seconds, not 25 minutes.
mkdir -p "$GW_RUN/etc"
echo "trap@example.org" >"$GW_RUN/etc/spamtraps"
sed -e '/^set interface /d' \
	-e "s|/var/lib/greywall|$GW_RUN/state|g" \
	-e 's|^\(\s*passtime\s\+\)25m.*|\15s\t\t# demo: 25m by default, too long to watch|' \
	-e 's|^\(\s*scan-interval\s\+\)60s.*|\12s\t# demo: 60s by default|' \
	-e "s|^spamd {|&\n\tspamtraps file \"$GW_RUN/etc/spamtraps\"\t# demo: one spamtrap|" \
	"$GW_TOP/deploy/greywall.conf" |
	grep -v '^set \(state-dir\|bpf-dir\|control-socket\|dump-dir\)' >"$GW_RUN/default.conf"
grep -q '^\s*passtime 5s' "$GW_RUN/default.conf" || die "deploy/greywall.conf has no passtime 25m"
gw_write_config "$(cat "$GW_RUN/default.conf")"

say "The gateway (192.0.2.1, 2001:db8::1) runs greywalld with the default config"
note "deploy/greywall.conf without its comments; the lines marked \"demo:\" are the"
note "sandbox's changes (the default config has no spamtraps: the demo adds one)."
(echo "set interface veth0"; grep -v "^\s*#" "$GW_RUN/default.conf" | grep -v "^\s*$") | sed "s/^/  /"

if ! id greywall >/dev/null 2>&1; then
	note "The tarpit child drops privileges to the user greywall, which"
	note "deploy/greywall.sysusers creates on an installed system; creating it now:"
	run useradd --system --no-create-home --shell /usr/sbin/nologin greywall ||
		die "cannot create the user greywall"
fi
gw "$GW_TOOLS/gwnet" listen 110 >"$GW_RUN/pop3.log" 2>&1 &
gw "$GW_TOOLS/gwnet" listen 22 >"$GW_RUN/ssh.log" 2>&1 &
# The gateway's MTA owns port 25; greywalld steers SMTP from sources that are
# not whitelisted to its tarpit in front of it.
mta_start gateway "$GW_NS" 192.0.2.1 2001:db8::1 -- mydestination=example.org ||
	die "the gateway's Postfix did not start"
# A mail client's MTA in the client namespace, relaying example.org to the gateway.
mta_start sender "$GW_CLIENT" -- smtp_bind_address=192.0.2.10 \
	"transport_maps=inline:{ example.org=smtp:[192.0.2.1]:25 }" ||
	die "the sender's Postfix did not start"
note "Postfix on the gateway listens on port 25 for example.org; a Postfix"
note "sender on 192.0.2.10 relays example.org to it."
gw_start || die "greywalld did not start"
run "$GW_BIN/greywallctl" status

say "A new mail client: greylisted by the tarpit, delivered when it retries"
printf '$ sendmail -f sender@client.example alice@example.org   # on 192.0.2.10, "Subject: hello through greywall"\n'
mta_send sender@client.example alice@example.org "hello through greywall" ||
	die "sendmail did not queue the message"
wait_for 40 grep -q 'said: 451' "$(mta_dir sender)/maillog" ||
	die "the sender was not greylisted"
note "The first attempt reached the tarpit (stuttered for greystutter) and was"
note "deferred at DATA; the sender's Postfix log:"
grep -m1 'said: 451' "$(mta_dir sender)/maillog" | sed 's/^.*\]: /  /'
note "Postfix retries; after passtime the retry passes, the greylist scan"
note "whitelists 192.0.2.10, and the next attempt goes straight to the MTA..."
mta_wait_delivered alice "^Subject: hello through greywall$" 90 ||
	die "the message was not delivered"
note "...which delivers it to alice's mailbox:"
grep -m1 '^From ' "$MTA_MAIL/alice" | sed 's/^/  /'
sed -n '/^Received: from /,/^[^[:space:]]/p' "$MTA_MAIL/alice" | sed '$d' | sed 's/^/  /'
grep -m1 '^Subject: ' "$MTA_MAIL/alice" | sed 's/^/  /'
note "The tarpit's log of this client (spamd's log lines):"
tarpit_log 192.0.2.10
run "$GW_BIN/greywallctl" spamdb
run "$GW_BIN/greywallctl" why 192.0.2.10

say "A spammer mails a spamtrap, and is trapped"
note "A new source, so the tarpit stutters the banner for greystutter (10s); the"
note "spammer sends its RCPT to the spamtrap and, not waiting for replies, hangs up."
printf '$ swaks --local-interface 192.0.2.66 --server 192.0.2.1 --to trap@example.org --drop-after-send RCPT\n'
swaks_run 192.0.2.66 192.0.2.1 --to trap@example.org --drop-after-send RCPT >/dev/null
grep -E '^ *(<-|->|<\*\*|\*\*\*) ' "$GW_RUN/swaks.last" | sed 's/^/  /'
wait_for 5 "$GW_BIN/greywallctl" table spamd-greytrap test 192.0.2.66 ||
	die "192.0.2.66 was not trapped"
run "$GW_BIN/greywallctl" table spamd-greytrap show
run "$GW_BIN/greywallctl" why 192.0.2.66
run "$GW_BIN/greywallctl" spamdb

say "The trapped spammer comes back: the blacklist treatment, one byte a second"
note "The tarpit answers it a byte per stutter interval (1s) for the whole dialogue;"
note "the client gives up after 5 bytes:"
printf '$ GWNET_MAX_BYTES=5 gwnet chat 192.0.2.66 192.0.2.1 25\n'
GWNET_MAX_BYTES=5 cl "$GW_TOOLS/gwnet" chat 192.0.2.66 192.0.2.1 25 | arrivals
note "The whitelisted mail client gets Postfix's banner at once:"
printf '$ gwnet chat 192.0.2.10 192.0.2.1 25 QUIT\n'
cl "$GW_TOOLS/gwnet" chat 192.0.2.10 192.0.2.1 25 QUIT | tee "$GW_RUN/chat.white" |
	grep '^[<>]' | sed 's/^/  /'
arrivals <"$GW_RUN/chat.white"
note "The tarpit's log of the spammer: \"connected (clients/blacklisted)\""
tarpit_log 192.0.2.66

say "Before the operator lists anything, everybody reaches the mail, pop3 and ssh ports"
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
gw_start || die "greywalld did not restart"
echo "  greywalld restarted over the pinned maps; entries and evidence kept:"
run "$GW_BIN/greywallctl" tables

say "Published lists (written every dump-interval and on demand)"
run "$GW_BIN/greywallctl" dump
run cat "$GW_RUN/pub/bruteforce.txt"
run cat "$GW_RUN/pub/bruteforce_full.txt"

say "What the data path counted"
run "$GW_BIN/greywallctl" stats
printf '\nConnections accepted: Postfix %s (SMTP), the tarpit %s, pop3 %s, ssh %s.\n' \
	"$(grep -c 'postfix-gateway/smtpd.*: connect from' "$(mta_dir gateway)/maillog")" \
	"$(grep -c ': connected (' "$GW_RUN/greywalld.log")" \
	"$(grep -c . "$GW_RUN/pop3.log")" "$(grep -c . "$GW_RUN/ssh.log")"
say "Cleaning up: greywallctl detach removes programs and pins"
run "$GW_BIN/greywallctl" detach
wait "$GW_PID" 2>/dev/null
GW_PID=
