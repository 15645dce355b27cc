#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The tarpit (spamd block) through its own listeners, as a client sees it:
# greylisting with a passtime of seconds, whitelisting by the scan, trap
# hits, a blacklisted source stuttered and answered with its list message,
# IPv6, spamdb, candidates and callback probes, maxrcpt and maxtuples
# against a flood of RCPTs, the privilege-dropped child and its restart.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwspamd$$
. tests/lib/gw.sh

gw_setup_tarpit || exit 1
cl ip addr add 192.0.2.77/24 dev veth1 # the RCPT flood's source
printf 'example.org\n' >"$ETC/alloweddomains"
printf 'user@example.org\npostmaster@example.org\n' >"$ETC/valid"
echo "203.0.113.0/24" >"$ETC/black.txt"
# maxblack 0: black clients get whole replies, so dialogues take no minutes;
# the stutter itself is checked at the end with maxblack 700.
spamd_config() { gw_write_config "spamd {
	listen 192.0.2.1 port 8025
	listen 2001:db8::1 port 8025
	hostname \"mx.example.org\"
	passtime 2s
	greyexp 1h
	scan-interval 1s
	greystutter 0s
	maxblack $maxblack
	maxtuples 50
	spamtraps file \"$ETC/spamtraps\"
	alloweddomains file \"$ETC/alloweddomains\"
	valid-recipients file \"$ETC/valid\"
	blacklist testlist { file \"$ETC/black.txt\" msg \"Your address %A is on testlist\" }
}"; }
maxblack=0
spamd_config
gw_start || exit 1

# hasf "message" "fixed text" "text": a line starts with the text (spamdb lines hold '|')
hasf() {
	if printf '%s\n' "$3" | grep -qF -- "$2" && printf '%s\n' "$3" | grep -F -- "$2" |
		awk -v w="$2" 'index($0, w) == 1 { f = 1 } END { exit !f }'; then
		ok 0 "$1"
	else
		ok 1 "$1"
		printf '%s\n' "$3" | tail -8 | sed 's/^/#   /'
	fi
}
chat() { # SRC DST LINE...: an SMTP dialogue with the tarpit on DST port 8025
	local src=$1 dst=$2
	shift 2
	cl "$GW_TOOLS/gwnet" chat "$src" "$dst" 8025 "$@"
}
grey_dialogue() { # SRC DST TO
	chat "$1" "$2" "HELO client.example.net" "MAIL FROM:<a@example.net>" "RCPT TO:<$3>" DATA
}
# The tarpit: the greywalld process (of this test's config) whose parent is greywalld.
child_pid() { gw_tarpit_pid; }

# --- the child: another user, no capabilities, before it serves anyone
pid=$(child_pid)
ev "[ -n '$pid' ]" "the tarpit child runs (pid ${pid:-none})"
status=$(cat "/proc/$pid/status" 2>/dev/null)
has "the child's uid is greywall's" "^Uid:[[:space:]]+$(id -u greywall)[[:space:]]" "$status"
has "no effective capabilities" "^CapEff:[[:space:]]*0000000000000000$" "$status"
has "no permitted capabilities" "^CapPrm:[[:space:]]*0000000000000000$" "$status"
has "an empty bounding set" "^CapBnd:[[:space:]]*0000000000000000$" "$status"
has "no_new_privs set" "^NoNewPrivs:[[:space:]]*1$" "$status"
ev "! ls -l /proc/$pid/fd 2>/dev/null | grep -q greywall.db" "the child holds no store descriptor"

# --- greylisting: 451 at DATA, the tuple in the store, whitelisted after passtime
out=$(grey_dialogue 192.0.2.10 192.0.2.1 user@example.org)
has "banner with the hostname" "^< 220 mx.example.org ESMTP greywall" "$out"
has "first attempt greylisted: 451 at DATA" "^< 451 " "$out"
hasf "spamdb lists the GREY tuple" "GREY|192.0.2.10|client.example.net|<a@example.net>|<user@example.org>|" "$(ctl spamdb)"
ev "! ctl table spamd-white test 192.0.2.10 >/dev/null" "not white before passtime"
# Greylisting is about time itself: the retry must come later than passtime (2 s).
sleep 3
out=$(grey_dialogue 192.0.2.10 192.0.2.1 user@example.org)
has "the retry after passtime still gets 451 (the scan whitelists)" "^< 451 " "$out"
wait_for 5 ctl table spamd-white test 192.0.2.10
ok $? "the scan put 192.0.2.10 into <spamd-white>"
hasf "spamdb lists it WHITE" "WHITE|192.0.2.10|||" "$(ctl spamdb)"
has "why says the greylist whitelisted it" "retried after passtime" "$(ctl why 192.0.2.10)"

# --- IPv6
out=$(grey_dialogue 2001:db8::10 2001:db8::1 user@example.org)
has "IPv6 client greylisted" "^< 451 " "$out"
hasf "IPv6 tuple stored" "GREY|2001:db8::10|client.example.net|" "$(ctl spamdb)"

# --- a flood: 1000 RCPTs in one session get 452 after maxrcpt (100), 421 at
# the 20th 452; the source keeps at most maxtuples (50) tuples; a retry
# still whitelists it
flood=()
for i in $(seq 0 999); do flood+=("RCPT TO:<u$i@example.org>"); done
out=$(chat 192.0.2.77 192.0.2.1 "HELO flood.example.net" "MAIL FROM:<f@example.net>" "${flood[@]}" DATA)
n=$(printf '%s\n' "$out" | grep -c '^< 250 2.1.5')
ev "[ $n -eq 100 ]" "maxrcpt 100: 100 of 1000 RCPTs noted ($n)"
n=$(printf '%s\n' "$out" | grep -c '^< 452 4.5.3 Too many recipients')
ev "[ $n -eq 19 ]" "the next 19 get 452 4.5.3 ($n)"
has "and the 20th 421: a flood ends its session" "^< 421 4.7.0 mx.example.org Too many bad commands" "$out"
flood_tuples() { ctl spamdb | grep -c '^GREY|192.0.2.77|'; }
wait_for 5 grep -q "192.0.2.77: has maxtuples (50)" "$GW_RUN/greywalld.log"
n=$(flood_tuples)
ev "[ $n -eq 50 ]" "maxtuples 50: 50 tuples of the flooding source in spamdb ($n)"
n=$(grep -c "192.0.2.77: has maxtuples (50)" "$GW_RUN/greywalld.log")
ev "[ $n -eq 1 ]" "the bound is logged once, not per RCPT ($n)"
n=$(grep -c "(GREY) 192.0.2.77:" "$GW_RUN/greywalld.log")
ev "[ $n -eq 100 ]" "the tarpit logs the 100 RCPTs it noted, not the 900 refused ($n)"
sleep 3
out=$(chat 192.0.2.77 192.0.2.1 "HELO flood.example.net" "MAIL FROM:<f@example.net>" \
	"RCPT TO:<u0@example.org>" DATA)
has "a retry of a stored tuple after passtime" "^< 451 " "$out"
wait_for 5 ctl table spamd-white test 192.0.2.77
ok $? "still whitelists the source that hit maxtuples"

# --- a spamtrap: the session turns black, the source goes to <spamd-greytrap>
out=$(chat 198.51.100.7 192.0.2.1 "HELO spammer.example.net" "MAIL FROM:<s@example.net>" \
	"RCPT TO:<Trap@Example.org>" DATA "+Subject: hi" "+" "+hello" ".")
has "trapped client gets 354 at DATA" "^< 354 " "$out"
has "then a 450 naming its address" "^< 450[- ].*198.51.100.7" "$out"
ev "ctl table spamd-greytrap test 198.51.100.7 >/dev/null" "198.51.100.7 is in <spamd-greytrap>"
why=$(ctl why 198.51.100.7)
has "evidence: the trap address, helo and from" "greytrap: spamtrap <Trap@Example.org>: helo spammer.example.net, from <s@example.net>" "$why"
hasf "spamdb lists it TRAPPED" "TRAPPED|198.51.100.7|" "$(ctl spamdb)"
out=$(grey_dialogue 198.51.100.7 192.0.2.1 user@example.org)
has "its next connection gets the blacklist treatment" "^< 354 " "$out"

# --- a blacklisted source: stuttered throughout, then the list's message
out=$(chat 203.0.113.9 192.0.2.1 "HELO bl.example.net" "MAIL FROM:<b@example.net>" \
	"RCPT TO:<user@example.org>" DATA "+x" ".")
has "450 with the list message, %A expanded" "^< 450 Your address 203.0.113.9 is on testlist" "$out"
# logged "message" "extended regex": the tarpit's lines reach the log through the parent: wait for them
logged() { wait_for 5 grep -qE -- "$2" "$GW_RUN/greywalld.log"; ok $? "$1"; }
logged "spamd's connect log line names the list" "203.0.113.9: connected (.*), lists: testlist"
logged "spamd's (BLACK) log line" "\(BLACK\) 203.0.113.9: <b@example.net> -> <user@example.org>"
logged "spamd's (GREY) log line" "\(GREY\) 192.0.2.10: <a@example.net> -> <user@example.org>"
logged "spamd's disconnect log line" "192.0.2.10: disconnected after [0-9]* seconds."
logged "spamd's new entry line, paths as the client wrote them" \
	"new entry 192.0.2.10 from <a@example.net> to <user@example.org>, helo client.example.net"
# --- the spamtraps file's addresses are in spamdb's listing, as in spamd's database
hasf "spamdb lists the file's spamtrap" "SPAMTRAP|trap@example.org" "$(ctl spamdb)"
out=$(ctl spamdb -d trap@example.org 2>&1)
has "spamdb -d of a file's spamtrap says it cannot" "in a spamtraps file, not deleted" "$out"

# --- spamtrap candidates and callback probes (greywallctl traps, callbacks)
grey_dialogue 192.0.2.66 192.0.2.1 nobody@example.org >/dev/null
has "a recipient in our domain that is not valid is a spamtrap candidate" "^nobody@example.org .*sources 1" "$(ctl traps candidates)"
has "with the source that used it" "192.0.2.66" "$(ctl traps candidates)"
chat 192.0.2.66 192.0.2.1 "HELO mx42.example.net" "MAIL FROM:<>" \
	"RCPT TO:<mx42.example.net-1503146097-testing@example.org>" QUIT >/dev/null
has "a callback probe is listed by greywallctl callbacks" "probe-host mx42.example.net .*rcpt <mx42.example.net-1503146097-testing@example.org>" "$(ctl callbacks)"
ev "! ctl traps candidates | grep -q testing" "a callback probe is never a candidate"
has "traps add promotes the candidate" "1/1 spamtraps added" "$(ctl traps add nobody@example.org)"
hasf "the candidate is now a spamtrap" "SPAMTRAP|nobody@example.org" "$(ctl spamdb)"
out=$(chat 192.0.2.66 192.0.2.1 "HELO h" "MAIL FROM:<a@example.net>" "RCPT TO:<nobody@example.org>" DATA)
has "the child traps on the promoted address at once" "^< 354 " "$out"

# --- spamdb -a / -d
ev "ctl spamdb -a 2001:db8:beef::9" "spamdb -a whitelists an address"
ev "ctl table spamd-white test 2001:db8:beef::9 >/dev/null" "and the data path's <spamd-white> follows"
ev "ctl spamdb -d 2001:db8:beef::9" "spamdb -d deletes it"
ev "! ctl table spamd-white test 2001:db8:beef::9 >/dev/null" "gone from <spamd-white>"
ev "ctl spamdb -a 2001:db8:beef::9" "whitelisted again"
chat 2001:db8:beef::9 2001:db8::1 "HELO h" "MAIL FROM:<a@example.net>" "RCPT TO:<trap@example.org>" QUIT >/dev/null
ev "! ctl table spamd-white test 2001:db8:beef::9 >/dev/null" \
	"a white source that hits a spamtrap leaves <spamd-white> at once"
ev "ctl table spamd-greytrap test 2001:db8:beef::9 >/dev/null" "and is in <spamd-greytrap>"
# As spamd's scan does: a blacklisted source whitelisted by hand leaves the whitelist.
ev "ctl spamdb -a 203.0.113.200" "spamdb -a whitelists a blacklisted address"
wait_for 5 bash -c "! '$GW_BIN/greywallctl' -s '$GW_SOCK' table spamd-white test 203.0.113.200"
ok $? "the next scan takes it out of <spamd-white> (spamd: blacklisted, removing from whitelist)"

# --- lists are reloaded: a changed list applies, a removed list disappears
echo "198.51.100.8" >"$ETC/black2.txt"
gw_write_config "$(sed -n '/^spamd {/,/^}/p' "$GW_CONF" | sed '$d')
	blacklist second { file \"$ETC/black2.txt\" msg \"second list\" }
}"
has "reload with a second list" "configuration reloaded" "$(ctl reload)"
# Lists load in the background: the loader's result is logged when it is in.
wait_for 5 grep -q "list second: 1 entries" "$GW_RUN/greywalld.log"
ok $? "the log counts the second list"
out=$(grey_dialogue 198.51.100.8 192.0.2.1 user@example.org)
has "the new list applies: 198.51.100.8 gets the blacklist treatment" "^< 354 " "$out"
gw_write_config "$(sed -n '/^spamd {/,/^}/p' "$GW_CONF" | grep -v 'blacklist ')"
loads=$(grep -c "lists: loaded in" "$GW_RUN/greywalld.log")
has "reload without the lists" "configuration reloaded" "$(ctl reload)"
# The empty set, too, comes from the loader in the background.
loads_above() { [ "$(grep -c 'lists: loaded in' "$GW_RUN/greywalld.log")" -gt "$1" ]; }
wait_for 5 loads_above "$loads"
ok $? "the loader's empty set is in"
out=$(grey_dialogue 203.0.113.9 192.0.2.1 user@example.org)
has "a removed list disappears: 203.0.113.9 is greylisted again" "^< 451 " "$out"
out=$(grey_dialogue 198.51.100.8 192.0.2.1 user@example.org)
has "and so does the second list: 198.51.100.8 greylisted" "^< 451 " "$out"

# --- killing the child: the parent starts a new one, the store is intact
old=$(child_pid)
kill -9 "$old"
child_replaced() {
	new=$(child_pid)
	[ -n "$new" ] && [ "$new" != "$old" ]
}
wait_for 5 child_replaced
new=$(child_pid)
ev "[ -n '$new' ] && [ '$new' != '$old' ]" "a killed tarpit child is restarted ($old -> ${new:-none})"
out=$(grey_dialogue 198.51.100.8 192.0.2.1 user@example.org)
has "the new child serves" "^< 451 " "$out"
hasf "the store kept its entries" "WHITE|192.0.2.10|||" "$(ctl spamdb)"

# --- restart of greywalld: greylist and tables survive; black clients stuttered
gw_stop
maxblack=700
spamd_config
gw_start || exit 1
out=$(GWNET_MAX_BYTES=4 chat 203.0.113.9 192.0.2.1 "HELO bl.example.net")
set -- $(echo "$out" | sed -n 's/^# first-bytes-ms //p')
ev "[ $# -ge 4 ] && [ $(($4 - $2)) -ge 1800 ] && [ $(($4 - $2)) -le 2500 ]" \
	"blacklisted client stuttered: bytes 2 and 4 arrive $(($4 - ${2:-0})) ms apart (2 s expected)"
[ "$(($4 - ${2:-0}))" -ge 1800 ] || { echo "$out" | sed 's/^/#   /'; tail -5 "$GW_RUN/greywalld.log" | sed 's/^/#   /'; }
hasf "TRAPPED survives a restart" "TRAPPED|198.51.100.7|" "$(ctl spamdb)"
ev "ctl table spamd-white test 192.0.2.10 >/dev/null" "<spamd-white> rebuilt after a restart"
tap_done
