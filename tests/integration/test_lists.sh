#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The tarpit's lists load in the background (greywalld(8), LISTS): at start
# the tarpit waits for them, so a listed source is not greylisted meanwhile;
# on reload a list whose command sleeps 30 s delays neither greywallctl nor
# the tarpit, the lists in force serve until the new ones are in, and then
# the new list applies.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwl$$
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
# The tarpit's lines reach the log through the parent: wait for them.
wait_for 5 grep -qE "198.51.100.7: connected (.*), lists: early" "$GW_RUN/greywalld.log"
ok $? "its connection was classified with the list in"
has "the log says when the lists are in" "lists: loaded in" "$(cat "$GW_RUN/greywalld.log")"

# --- reload with a list whose command sleeps 30 s
lists_config "blacklist slow { exec \"sleep 30; echo 203.0.113.9\" msg \"slow %A\" }"
reload_out=$GW_RUN/reload.out
# In the background, so that a reload that held the daemon could not hide it.
t0=$(date +%s%N)
(ctl reload >"$reload_out" 2>&1; echo $((($(date +%s%N) - t0) / 1000000)) >"$reload_out.ms") &
reload_job=$!
# The list's command, sleeping: the load is under way.
sleeper() {
	local p
	for p in $(ip netns pids "$GW_NS"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && echo "$p" && return 0
	done
	return 1
}
check "the load is under way" wait_for 5 sleeper
ms=$(ms_of chat 192.0.2.10)
ok_within "an unlisted source gets its banner during the load" 1000 "$ms"
ms=$(ms_of ctl status)
ok_within "greywallctl status answers during the load" 1000 "$ms"
has "status says the lists are loading" "^lists: loading in the background" "$(ctl status)"
sleeper=$(sleeper)
check "the list's command runs as greywall (pid ${sleeper:-none})" \
	test "$(awk '/^Uid:/ {print $2}' "/proc/${sleeper:-0}/status" 2>/dev/null)" = "$(id -u greywall)"
wait "$reload_job"
ok_within "greywallctl reload returned at once" 2000 "$(cat "$reload_out.ms")"
has "and said the lists load in the background" "^lists load in the background" \
	"$(cat "$reload_out")"
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

gw_stop
tap_done
