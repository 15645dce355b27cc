#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Ways a remote sender could walk past the tarpit, each closed: a
# blacklisted or trapped source that retries after passtime is never
# whitelisted; a callback probe's sender does not exempt a spamtrap or a
# recipient outside alloweddomains; a white network (white-prefix4) never
# lets a trapped or blacklisted host inside it reach the MTA.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwgate$$
. tests/lib/gw.sh

gw_setup_tarpit || exit 1
for a in 198.51.100.20 198.51.100.21 198.51.100.30 198.51.100.31 192.0.2.77 192.0.2.78; do
	cl ip addr add $a/32 dev veth1
done

printf 'example.org\n' >"$ETC/alloweddomains"
printf '203.0.113.9\n192.0.2.77\n' >"$ETC/black.txt"
# A passtime of 2 s and a scan every second make retries count quickly.
gw_spamd_config "	passtime 2s
	greyexp 1h
	white-prefix4 24
	alloweddomains file \"$ETC/alloweddomains\"
	blacklist testlist { file \"$ETC/black.txt\" msg \"Your address %A is on testlist\" }"
gw_start || exit 1
# The MTA's stand-in on port 25: it prints "tcp SRC" for every connection it gets.
gw "$GW_TOOLS/gwnet" listen 25 >"$GW_RUN/mta.log" 2>&1 &
wait_for 5 listens gw 25

# pipelined SRC LINE...: the lines in one write after the banner, as a spam engine sends them
pipelined() { GWNET_PIPELINE=1 cl "$GW_TOOLS/gwnet" chat "$1" 192.0.2.1 8025 "${@:2}"; }
chat() { cl "$GW_TOOLS/gwnet" chat "$1" 192.0.2.1 8025 "${@:2}"; }
grey_dialogue() { chat "$1" "HELO client.example.net" "MAIL FROM:<a@example.net>" "RCPT TO:<$2>" DATA; }
spamdb_has() { ctl spamdb | grep -qF -- "$1"; }
# reaches_mta SRC: a connection to port 25 from SRC gets the MTA, not the tarpit
reaches_mta() {
	local before after
	before=$(grep -c "^tcp $1$" "$GW_RUN/mta.log")
	cl "$GW_TOOLS/gwnet" connect "$1" 192.0.2.1 25 3000 || return 1
	mta_saw() { [ "$(grep -c "^tcp $1$" "$GW_RUN/mta.log")" -gt "$before" ]; }
	wait_for 5 mta_saw "$1"
}
# tarpitted SRC: a connection to port 25 from SRC gets the tarpit's banner
tarpitted() { cl timeout 10 "$GW_TOOLS/gwnet" chat "$1" 192.0.2.1 25 QUIT | grep -q '^< 220 mx.example.org'; }
# Two greylist scans after the call: one that starts after what was sent is stored.
scans() { ctl status | awk '$1 == "greylist" && $2 == "scans:" { print $3 }'; }
scans_at_least() { [ "$(scans)" -ge "$1" ]; }
scanned() { wait_for 10 scans_at_least $(($(scans) + 2)); }

# --- a blacklisted source retries past passtime: no GREY, no WHITE, still tarpitted
pipelined 203.0.113.9 "HELO bl.example.net" "MAIL FROM:<b@example.net>" "RCPT TO:<user@example.org>" >/dev/null
ev "! spamdb_has 'GREY|203.0.113.9|'" "a blacklisted source's pipelined RCPT creates no GREY tuple"
# Greylisting is about time: the retry must come later than passtime (2 s, in
# whole seconds: 3 s of sleep).
sleep 3
pipelined 203.0.113.9 "HELO bl.example.net" "MAIL FROM:<b@example.net>" "RCPT TO:<user@example.org>" >/dev/null
scanned
ev "! spamdb_has 'GREY|203.0.113.9|'" "nor does its retry after passtime"
ev "! ctl spamdb | grep -q '^WHITE|203\.0\.113\.'" "the scan does not whitelist it, alone or in a network"
ev "! ctl table spamd-white test 203.0.113.9" "it is not in <spamd-white>"
ev "tarpitted 203.0.113.9" "its next SMTP connection still gets the tarpit"
has "and the blacklist treatment" "^< 450 Your address 203.0.113.9 is on testlist" \
	"$(chat 203.0.113.9 "HELO bl.example.net" "MAIL FROM:<b@example.net>" "RCPT TO:<user@example.org>" DATA "+x" .)"

# --- a trapped source retries past passtime: no GREY, no WHITE, still tarpitted
chat 198.51.100.7 "HELO s.example.net" "MAIL FROM:<s@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
ev "ctl table spamd-greytrap test 198.51.100.7" "a spamtrap hit puts 198.51.100.7 in <spamd-greytrap>"
pipelined 198.51.100.7 "HELO s.example.net" "MAIL FROM:<s@example.net>" "RCPT TO:<user@example.org>" >/dev/null
sleep 3
pipelined 198.51.100.7 "HELO s.example.net" "MAIL FROM:<s@example.net>" "RCPT TO:<user@example.org>" >/dev/null
scanned
ev "! spamdb_has 'GREY|198.51.100.7|'" "a trapped source's RCPTs create no GREY tuple"
ev "! spamdb_has 'WHITE|198.51.100.7|'" "the scan does not whitelist a trapped source"
ev "tarpitted 198.51.100.7" "the trapped source still gets the tarpit"

# --- a callback probe's sender exempts nobody
chat 198.51.100.20 "HELO mx.example.com" "MAIL FROM:<double-bounce@mx.example.com>" \
	"RCPT TO:<trap@example.org>" QUIT >/dev/null
ev "ctl table spamd-greytrap test 198.51.100.20" \
	"MAIL FROM:<double-bounce@...> to a spamtrap traps the source"
has "with the spamtrap as evidence" "greytrap: spamtrap <trap@example.org>" "$(ctl why 198.51.100.20)"
chat 198.51.100.21 "HELO mx.example.com" "MAIL FROM:<>" \
	"RCPT TO:<mx.example.com-1503146097-testing@elsewhere.example>" QUIT >/dev/null
ev "ctl table spamd-greytrap test 198.51.100.21" \
	"a null-sender probe of a domain outside alloweddomains traps the source"
ev "! ctl callbacks | grep -q 198.51.100.2[01]" "neither is listed as a callback probe"

# --- white-prefix4 24: a trapped host inside a white network stays in the tarpit
chat 198.51.100.30 "HELO s.example.net" "MAIL FROM:<s@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
ev "ctl table spamd-greytrap test 198.51.100.30" "198.51.100.30 is trapped"
grey_dialogue 198.51.100.31 user@example.org >/dev/null
sleep 3
grey_dialogue 198.51.100.31 user@example.org >/dev/null
wait_for 5 spamdb_has "WHITE|198.51.100.0/24|"
ok $? "its neighbour's retry whitelists 198.51.100.0/24"
wait_for 5 ctl table spamd-white test 198.51.100.31
ev "reaches_mta 198.51.100.31" "the whitelisted neighbour reaches the MTA"
ev "tarpitted 198.51.100.30" "the trapped host inside the white /24 still gets the tarpit"
ev "! reaches_mta 198.51.100.30" "and never the MTA"

# --- white-prefix4 24: no white network over a blacklisted host
grey_dialogue 192.0.2.78 user@example.org >/dev/null
sleep 3
grey_dialogue 192.0.2.78 user@example.org >/dev/null
wait_for 5 spamdb_has "WHITE|192.0.2.78|"
ok $? "a /24 holding a blacklisted host is narrowed: WHITE|192.0.2.78 alone"
ev "! spamdb_has 'WHITE|192.0.2.0/24|'" "no WHITE 192.0.2.0/24 over the blacklisted 192.0.2.77"
ev "reaches_mta 192.0.2.78" "the whitelisted host reaches the MTA"
ev "tarpitted 192.0.2.77" "the blacklisted host beside it still gets the tarpit"

# --- a list reloaded to hold a host of a white network: the network leaves the whitelist
printf '203.0.113.9\n192.0.2.77\n198.51.100.99\n' >"$ETC/black.txt"
has "reload with the list holding 198.51.100.99" "configuration reloaded" "$(ctl reload)"
wait_for 5 bash -c "! $GW_BIN/greywallctl -s $GW_SOCK spamdb | grep -qF 'WHITE|198.51.100.0/24|'"
ok $? "the white /24 over the newly listed host is removed by the next scan"
has "the log says why" "held blacklisted or trapped sources: removed from the whitelist" \
	"$(cat "$GW_RUN/greywalld.log")"
ev "! ctl table spamd-white test 198.51.100.31" "and <spamd-white> follows"
tap_done
