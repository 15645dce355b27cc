#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The tarpit's lists load in the background (greywalld(8), LISTS): at start
# the tarpit waits for them, so a listed source is not greylisted meanwhile;
# on reload a list whose command sleeps 30 s delays neither greywallctl nor
# the tarpit, the lists in force serve until the new ones are in, and then
# the new list applies.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwlists
. tests/lib/gw.sh

gw_setup_net || exit 1
gw_tarpit_user

# ms_of command...: run it, print how many milliseconds it took (its output is dropped)
ms_of() {
	local t0
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	echo $((($(date +%s%N) - t0) / 1000000))
}
chat() { # SRC LINE...: an SMTP dialogue with the tarpit on 192.0.2.1 port 8025
	local src=$1
	shift
	cl "$GW_TOOLS/gwnet" chat "$src" 192.0.2.1 8025 "$@"
}
black_dialogue() { # SRC
	chat "$1" "HELO bl.example.net" "MAIL FROM:<b@example.net>" "RCPT TO:<user@example.org>" \
		DATA "+x" "."
}
# ok_within "message" MAX_MS MS
ok_within() {
	[ "$3" -le "$2" ]
	ok $? "$1 ($3 ms, at most $2)"
}

lists_config() { gw_write_config "spamd {
	listen 192.0.2.1 port 8025
	passtime 1h
	greystutter 0s
	maxblack 0
	blacklist early { exec \"sleep 2; echo 198.51.100.7\" msg \"early %A\" }
	$1
}"; }

# --- start: the tarpit serves once the first lists are in, not before
lists_config ""
gw_start || exit 1
out=$(black_dialogue 198.51.100.7)
has "a source listed by a list still loading at start gets the blacklist treatment" \
	"^< 450 early 198.51.100.7" "$out"
has "its connection was classified with the list in" "198.51.100.7: connected (.*), lists: early" \
	"$(cat "$GW_RUN/greywalld.log")"
has "the log says when the lists are in" "lists: loaded in" "$(cat "$GW_RUN/greywalld.log")"

# --- reload with a list whose command sleeps 30 s
lists_config "blacklist slow { exec \"sleep 30; echo 203.0.113.9\" msg \"slow %A\" }"
reload_out=$GW_RUN/reload.out
ms=$(ms_of ctl reload)
ok_within "greywallctl reload returns at once" 2000 "$ms"
ctl status >"$reload_out" 2>&1
has "status says the lists are loading" "^lists: loading in the background" "$(cat "$reload_out")"
ms=$(ms_of ctl status)
ok_within "greywallctl status answers during the load" 1000 "$ms"
ms=$(ms_of chat 192.0.2.10)
ok_within "an unlisted source gets its banner during the load" 1000 "$ms"
out=$(chat 192.0.2.10)
has "that banner is the tarpit's" "^< 220 " "$out"
out=$(black_dialogue 198.51.100.7)
has "the lists in force still serve during the load" "^< 450 early 198.51.100.7" "$out"
out=$(chat 203.0.113.9 "HELO a.example.net" "MAIL FROM:<a@example.net>" "RCPT TO:<user@example.org>" DATA)
has "203.0.113.9, not listed yet, is greylisted" "^< 451 " "$out"

# --- after the load, the new list applies
check "the slow list comes in" wait_for 45 grep -q "list slow: 1 entries" "$GW_RUN/greywalld.log"
has "status says the lists are loaded" "^lists: loaded" "$(ctl status)"
out=$(black_dialogue 203.0.113.9)
has "203.0.113.9 gets the blacklist treatment after the load" "^< 450 slow 203.0.113.9" "$out"

# --- a list past a bound keeps its last good version
lists_config "blacklist slow { exec \"seq 1 5 | sed 's/^/203.0.113./'\" msg \"slow %A\" }
	list-max-entries 3"
check "reload with a list past list-max-entries" ctl reload
check "the refusal is logged, naming the bound" wait_for 20 grep -q \
	"list slow: exec .*more than 3 entries (list-max-entries) (refused: its last good version stays" \
	"$GW_RUN/greywalld.log"
out=$(black_dialogue 203.0.113.9)
has "203.0.113.9 stays listed" "^< 450 slow 203.0.113.9" "$out"

# --- the loader runs as the tarpit's user
lists_config "blacklist slow { exec \"sleep 30\" msg \"slow %A\" }"
ctl reload >/dev/null
loader=$(pgrep -f -- "-f $GW_CONF" | while read -r p; do
	[ "$(awk '{print $4}' "/proc/$p/stat")" = "$GW_PID" ] &&
		[ "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" != 0 ] && echo "$p"
done | head -1)
ev_uid=$(awk '/^Uid:/ {print $2}' "/proc/${loader:-0}/status" 2>/dev/null)
check "a loader runs as greywall (pid ${loader:-none})" test "${ev_uid:-x}" = "$(id -u greywall)"

gw_stop
tap_done
