#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make demo: a gateway in a network namespace runs greywalld with the
# default config (deploy/greywall.conf, interface and paths moved into the
# sandbox, a shorter passtime, the log watchers on files) in front of a
# real Postfix, Dovecot and sshd; a Postfix sender is greylisted by the
# tarpit and delivered on retry, a spammer hits a spamtrap and is stuttered
# at; pop3 gropers meet the field's rules (too fast: <popflooders> and the
# 1K queue, then <longterm>) and the log watcher (a spamtrap's name:
# <longterm>; five failed logins: <bruteforce>); the operator lists an ssh
# brute-forcer's /48 by hand and imports a published list; XDP drops them
# all; greywallctl shows what greywall did about each of them and why.
set -u
. "$(dirname "$0")/../tests/lib/gw.sh"
. "$GW_TOP/tests/lib/mta.sh"
. "$GW_TOP/tests/lib/daemons.sh"

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
# The demo's pop3 clients (python3 poplib and sockets) in the client namespace.
gropers() { cl python3 "$GW_TOP/deploy/demo-gropers.py" "$@"; }
in_table() { "$GW_BIN/greywallctl" table "$1" test "$2" >/dev/null 2>&1; }
# Dovecot's log lines about one source.
dovecot_log() { grep -F "rip=$1," "$DOVECOT_LOG" | sed 's/^/  /'; }
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
# Dovecot's and sshd's configuration, sockets and logs (Dovecot's user must
# be able to search the directories: gw_setup_net's are 0755).
DOVECOT_DIR=$GW_RUN/dovecot
SSHD_DIR=$GW_RUN/sshd
DOVECOT_LOG=$GW_RUN/log/dovecot.log
SSHD_LOG=$GW_RUN/log/sshd.log
# Also when the demo fails half-way: Dovecot, sshd, the Postfix instances,
# greywalld, the namespaces.
trap 'dovecot_stop "$DOVECOT_DIR"; sshd_stop "$SSHD_DIR"; mta_stop_all; gw_cleanup' EXIT
# The pop3 gropers' addresses besides gw.sh's 198.51.100.7: one that tries
# a spamtrap's name, one that guesses slowly.
for a in 198.51.100.50 198.51.100.51; do
	cl ip addr add $a/32 dev veth1 || die "cannot add $a to the client"
done

# The default config, pointed at the sandbox's interface and directories,
# with a spamtraps file, a passtime of seconds, not 25 minutes, and the
# watchers on the log files of the sandbox's Dovecot and sshd, not the journal.
mkdir -p "$GW_RUN/etc" "$GW_RUN/log"
echo "trap@example.org" >"$GW_RUN/etc/spamtraps"
sed -e '/^set interface /d' \
	-e "s|/var/lib/greywall|$GW_RUN/state|g" \
	-e 's|^\(\s*passtime\s\+\)25m.*|\15s\t\t# demo: 25m by default, too long to watch|' \
	-e 's|^\(\s*scan-interval\s\+\)60s.*|\12s\t# demo: 60s by default|' \
	-e "s|^spamd {|&\n\tspamtraps file \"$GW_RUN/etc/spamtraps\"\t# demo: one spamtrap|" \
	-e "s|^\(\s*\)journal unit \"dovecot.service\"|\1file \"$DOVECOT_LOG\"\t# demo: not the journal|" \
	-e "s|^\(\s*\)journal unit \"ssh.service\"|\1file \"$SSHD_LOG\"\t# demo: not the journal|" \
	"$GW_TOP/deploy/greywall.conf" |
	grep -v '^set \(state-dir\|bpf-dir\|control-socket\|dump-dir\)' >"$GW_RUN/default.conf"
grep -q '^\s*passtime 5s' "$GW_RUN/default.conf" || die "deploy/greywall.conf has no passtime 25m"
grep -qF "file \"$DOVECOT_LOG\"" "$GW_RUN/default.conf" && grep -qF "file \"$SSHD_LOG\"" "$GW_RUN/default.conf" ||
	die "deploy/greywall.conf has no journal watchers for dovecot.service and ssh.service"
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
dovecot_start "$GW_NS" "$DOVECOT_DIR" "$DOVECOT_LOG" 192.0.2.1 2001:db8::1 ||
	die "Dovecot did not start"
sshd_start "$GW_NS" "$SSHD_DIR" "$SSHD_LOG" 22 192.0.2.1 2001:db8::1 || die "sshd did not start"
note "Dovecot on the gateway serves pop3 (110) and imap (143), logging to"
note "$DOVECOT_LOG; sshd serves port 22, logging to $SSHD_LOG."
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

say "A pop3 groper opens connections too fast: <popflooders>, its connections flushed"
note "The pop3 rules let one source hold 5 connections and open 6 within 3s. The"
note "groper 198.51.100.7 opens one every 0.2s and holds them:"
printf '$ demo-gropers.py burst 198.51.100.7 192.0.2.1 6 0.2   # from the client, python3 sockets\n'
gropers burst 198.51.100.7 192.0.2.1 6 0.2
wait_for 5 in_table popflooders 198.51.100.7 || die "198.51.100.7 is not in <popflooders>"
note "Five got going. The 6th, completing its handshake, broke max-src-conn 5: the source"
note "went into <popflooders>, the 6th never reached Dovecot (as PF drops the packet that"
note "breaks a limit), and flush global reset the five under Dovecot, which logged:"
dovecot_log 198.51.100.7
run "$GW_BIN/greywallctl" table popflooders show
run "$GW_BIN/greywallctl" why 198.51.100.7

say "Its next connection is served through the 1K spamd queue"
note "A pop3 session (banner, CAPA, a wrong password, QUIT) from a source that is in no"
note "table waits only for Dovecot's delay after a wrong password (up to 2s):"
printf '$ demo-gropers.py login 198.51.100.8 192.0.2.1 alice wrong capa   # python3 poplib\n'
gropers login 198.51.100.8 192.0.2.1 alice wrong capa | tee "$GW_RUN/pop3.unlisted"
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the pop3 session from 198.51.100.8 failed"
# The quick rule allows one connection a second.
sleep 1
note "The same session from the groper: the quick rule for <popflooders> admits it, and"
note "its replies share the queue of 1 kbit/s, qlimit 300, with the tarpit's spammers:"
printf '$ demo-gropers.py login 198.51.100.7 192.0.2.1 alice wrong capa\n'
gropers login 198.51.100.7 192.0.2.1 alice wrong capa | tee "$GW_RUN/pop3.groper"
[ "${PIPESTATUS[0]}" -eq 0 ] || die "the groper's pop3 session failed"
note "The same dialogue took the groper $(awk '/^  took/ { print $2 }' "$GW_RUN/pop3.groper"), the unlisted source $(awk '/^  took/ { print $2 }' "$GW_RUN/pop3.unlisted");"
note "the queue counts what it sent and dropped (pfctl -vvsq's numbers):"
run "$GW_BIN/greywallctl" queue show -v

say "It breaks the quick rule's stricter limits: <longterm>, every packet dropped"
note "The quick rule for <popflooders> allows 1 connection at a time and 1 a second; the"
note "groper opens two at once. Their SYN-ACKs, banners and resets wait in the 1K queue"
note "too; the second to complete its handshake breaks max-src-conn 1:"
printf '$ demo-gropers.py burst 198.51.100.7 192.0.2.1 2 0 8   # held until 8s pass in silence\n'
gropers burst 198.51.100.7 192.0.2.1 2 0 8
wait_for 10 in_table longterm 198.51.100.7 || die "198.51.100.7 is not in <longterm>"
run "$GW_BIN/greywallctl" why 198.51.100.7
try "pop3 groper, in <longterm>" 198.51.100.7 192.0.2.1 110

say "Another groper logs in as a spamtrap's name: <longterm> at once, from Dovecot's log"
note "trap@example.org is a spamtrap, so \"trap\" is a trap name to the pop3 watcher:"
printf '$ demo-gropers.py login 198.51.100.50 192.0.2.1 trap 123456   # python3 poplib\n'
gropers login 198.51.100.50 192.0.2.1 trap 123456 || die "the trap-name groper's session failed"
wait_for 5 in_table longterm 198.51.100.50 || die "198.51.100.50 is not in <longterm>"
note "Dovecot's line when it logged out, which the watcher read:"
dovecot_log 198.51.100.50
run "$GW_BIN/greywallctl" why 198.51.100.50
try "trap-name groper, in <longterm>" 198.51.100.50 192.0.2.1 110

say "A slow groper: five failed logins within 10 minutes, <bruteforce>"
note "198.51.100.51 tries five common names, one connection each, never too fast for the"
note "pop3 rules; the fifth failure in Dovecot's log lists it:"
printf '$ demo-gropers.py guesses 198.51.100.51 192.0.2.1 admin test info sales office\n'
gropers guesses 198.51.100.51 192.0.2.1 admin test info sales office
wait_for 5 in_table bruteforce 198.51.100.51 || die "198.51.100.51 is not in <bruteforce>"
run "$GW_BIN/greywallctl" why 198.51.100.51
run "$GW_BIN/greywallctl" watch show

say "The ssh brute-forcer and a spam network still reach their ports"
try "mail client" 192.0.2.10 192.0.2.1 25
try "ssh brute-forcer (IPv6)" 2001:db8:bad::7 2001:db8::1 22
try "spam network host" 203.0.113.9 192.0.2.1 25

say "The operator lists the brute-forcer's /48 by hand, and imports a published list"
run "$GW_BIN/greywallctl" table bruteforce add 2001:db8:bad::/48
printf '# a list somebody published, with evidence\n203.0.113.0/24\n' >"$GW_RUN/published.txt"
run "$GW_BIN/greywallctl" table longterm load -f "$GW_RUN/published.txt"

say "From the next packet on, XDP drops the listed sources; the mail client is still served"
try "mail client" 192.0.2.10 192.0.2.1 25
try "mail client (IPv6)" 2001:db8::10 2001:db8::1 25
try "pop3 groper (<longterm>)" 198.51.100.7 192.0.2.1 110
try "trap-name groper (<longterm>)" 198.51.100.50 192.0.2.1 110
try "slow groper (<bruteforce>)" 198.51.100.51 192.0.2.1 110
try "ssh brute-forcer (IPv6)" 2001:db8:bad::7 2001:db8::1 22
try "spam network host" 203.0.113.9 192.0.2.1 25
try "a neighbour, not listed" 198.51.100.8 192.0.2.1 110

say "Per-entry counters, as pfctl -vvsTables shows them"
run "$GW_BIN/greywallctl" table longterm show -v
run "$GW_BIN/greywallctl" table bruteforce show -v

say "Every entry carries its evidence, also the imported ones"
run "$GW_BIN/greywallctl" why 203.0.113.9

say "greywalld is killed with SIGKILL: enforcement stays attached"
gw_stop KILL
try "pop3 groper, daemon down" 198.51.100.7 192.0.2.1 110
try "mail client, daemon down" 192.0.2.10 192.0.2.1 25
gw_start || die "greywalld did not restart"
echo "  greywalld restarted over the pinned maps; entries and evidence kept:"
run "$GW_BIN/greywallctl" tables

say "Published lists (written every dump-interval and on demand)"
run "$GW_BIN/greywallctl" dump
note "(the field's pop3gropers.txt and pop3gropers_full.txt are popflooders'):"
run cat "$GW_RUN/pub/popflooders.txt"
run cat "$GW_RUN/pub/bruteforce_full.txt"

say "What the data path counted"
run "$GW_BIN/greywallctl" stats
printf '\nConnections accepted: Postfix %s (SMTP), the tarpit %s, Dovecot %s (pop3), sshd %s.\n' \
	"$(grep -c 'postfix-gateway/smtpd.*: connect from' "$(mta_dir gateway)/maillog")" \
	"$(grep -c ': connected (' "$GW_RUN/greywalld.log")" \
	"$(grep -c 'pop3-login: .* rip=' "$DOVECOT_LOG")" \
	"$(grep -cE 'Connection closed by [0-9a-f.:]+ port' "$SSHD_LOG")"
say "Cleaning up: greywallctl detach removes programs and pins"
run "$GW_BIN/greywallctl" detach
wait "$GW_PID" 2>/dev/null
GW_PID=
