#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The log watchers on a log the test writes in sshd's format: a trap login
# name lists its source at once and the data path drops it; the fifth
# failure within the window lists, the fourth does not, and the window
# slides; addresses a login name carries are never listed; IPv6 and
# IPv4-mapped sources; the ignore table; evidence in `why`; every line
# exactly once across mv-rotation, copytruncate, a file that appears late,
# restarts (also with a rotation while greywalld was down) and reloads;
# promoted trap names; candidates; cut lines. The real daemons' lines are
# test_watch_daemons.sh's.
. "$(dirname "$0")/../lib/gw.sh"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
LOGDIR=$GW_RUN/log
LOG=$LOGDIR/auth.log
mkdir -p "$LOGDIR"
printf 'luochun\n' >"$GW_RUN/trap-users"
config() {
	gw_write_config '
table <longterm> persist
table <bruteforce> persist
table <friends> { 192.0.2.66 }
block drop quick from <longterm>
block drop quick from <bruteforce>
trap-users file "'"$GW_RUN"'/trap-users"
watch ssh {
	file "'"$LOG"'"
	pattern sshd
	on-trap <longterm>
	on-failures 5 within 4s <bruteforce>
	ignore <friends>
}'"$1"
}
config ''
gw "$GW_TOOLS/gwnet" listen 8080 >/dev/null 2>&1 &

# sshd's lines as a syslog file has them.
n=0
line() { # user source [file]
	n=$((n + 1))
	printf '%s gw sshd[%d]: Invalid user %s from %s port %d\n' "$(date '+%b %e %T')" \
		$((1000 + n)) "$1" "$2" $((40000 + n)) >>"${3:-$LOG}"
}
lines() { ctl watch show | awk '$1 == "lines" { print $2; exit }'; }
lines_are() { [ "$(lines)" = "$1" ]; }
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }

gw_start
ok $? "greywalld starts with a watcher whose file is not there yet"
has "watch show says the file is not there yet" "file .*/auth.log: not there yet" "$(ctl watch show)"

line luochun 198.51.100.7
wait_for 5 in_table longterm 198.51.100.7
ok $? "a trap login name in a file that appeared lists its source in <longterm>"
check "the data path drops the source's next connection" blocked 198.51.100.7 192.0.2.1
why=$(ctl why 198.51.100.7)
has "why names the watcher, the rule and the line" \
	"evidence: log: ssh: trap user luochun: .*sshd\[[0-9]+\]: Invalid user luochun from 198\.51\.100\.7 port" "$why"
check "a connection from an unlisted source still passes" connect 192.0.2.10 192.0.2.1

# The threshold: four failures do not list, the fifth does.
for _ in 1 2 3 4; do line admin 203.0.113.9; done
wait_for 5 lines_are 5
ok $? "every line is read once (5)"
check "four failures within the window do not list" refute in_table bruteforce 203.0.113.9
has "watch show -v shows the source counting" "203\.0\.113\.9 4 in the window" "$(ctl watch show -v)"
line admin 203.0.113.9
wait_for 5 in_table bruteforce 203.0.113.9
ok $? "the fifth failure within the window lists the source in <bruteforce>"
has "its evidence is the threshold with the deciding line" \
	"evidence: log: ssh: 5 failures within 4s \(first .*, last .*\): .*Invalid user admin from 203\.0\.113\.9" \
	"$(ctl why 203.0.113.9)"

# The window slides: failures older than 4 s no longer count.
for _ in 1 2 3 4; do line oracle 2001:db8:bad::7; done
wait_for 5 lines_are 10
sleep 4.5
line oracle 2001:db8:bad::7
wait_for 5 lines_are 11
check "a failure after the window has slid does not list (IPv6)" refute in_table bruteforce 2001:db8:bad::7
for _ in 1 2 3 4; do line oracle 2001:db8:bad::7; done
wait_for 5 in_table bruteforce 2001:db8:bad::7
ok $? "five within the window list an IPv6 source"

# sshd writes up to three lines for one connection: they count once.
conn() { # user source port
	local t
	t="$(date '+%b %e %T') gw sshd[$3]:"
	{
		printf '%s Invalid user %s from %s port %d\n' "$t" "$1" "$2" "$3"
		printf '%s Failed password for invalid user %s from %s port %d ssh2\n' "$t" "$1" "$2" "$3"
		printf '%s Connection closed by invalid user %s %s port %d [preauth]\n' "$t" "$1" "$2" "$3"
	} >>"$LOG"
	n=$((n + 3))
}
for p in 50001 50002 50003 50004; do conn test 2001:db8:beef::9 $p; done
wait_for 5 lines_are 27
check "four connections of three lines each do not list" refute in_table bruteforce 2001:db8:beef::9
has "the other lines of a connection are not counted again" "matched 27 \(same connection 8\)" "$(ctl watch show)"
conn test 2001:db8:beef::9 50005
wait_for 5 in_table bruteforce 2001:db8:beef::9
ok $? "the fifth connection lists the source"

# An address inside the login name is the attacker's text, never the source.
for _ in 1 2 3 4 5; do line "x from 192.0.2.77 port 22" 198.51.100.8; done
wait_for 5 in_table bruteforce 198.51.100.8
ok $? "a login name carrying an address: the real source is counted and listed"
has "the injected address is in no table" "192\.0\.2\.77 is in no table" "$(ctl why 192.0.2.77)"

# IPv4-mapped IPv6 is the IPv4 address; the ignore table is never listed.
line luochun ::ffff:203.0.113.200
wait_for 5 in_table longterm 203.0.113.200
ok $? "an IPv4-mapped source is listed as IPv4"
line luochun 192.0.2.66
wait_for 5 lines_are 37
check "a source in the ignore table is not listed" refute in_table longterm 192.0.2.66
has "and counted as ignored" "ignored 1 " "$(ctl watch show)"

# Rotation: mv + a new file (logrotate's default); lines written to the
# moved file before the new one exists are read too; then copytruncate.
mv "$LOG" "$LOG.1"
line guest 203.0.113.50 "$LOG.1"
line guest 203.0.113.51 "$LOG.1"
line guest 203.0.113.52
line guest 203.0.113.53
wait_for 5 lines_are 41
ok $? "mv + create: every line once (41)"
cp "$LOG" "$LOG.2" && : >"$LOG"
line guest 203.0.113.54
wait_for 5 lines_are 42
ok $? "copytruncate: every line once (42)"
has "watch show counts the rotation and the truncation" "rotations 1, truncations 1" "$(ctl watch show)"

# A restart continues where it stopped, also past a rotation while down.
gw_stop TERM
line guest 203.0.113.55
line guest 203.0.113.56
mv "$LOG" "$LOG.1"
line guest 203.0.113.57
gw_start
ok $? "greywalld restarts"
wait_for 5 lines_are 3
ok $? "after a restart: the lines written while down, once each, also those of the rotated file (3)"
sleep 0.5
check_output "and no more" "3" lines

# A reload that adds a watcher keeps the position and counts of the one that stays.
printf 'luochun\n' >"$LOGDIR/other.log"
config '
watch other {
	file "'"$LOGDIR"'/other.log"
	pattern sshd
	on-trap <longterm>
}'
check "reload with a second watcher" ctl reload
line guest 203.0.113.58
wait_for 5 lines_are 4
ok $? "the watcher that stays kept its position and counts (4)"
has "the new watcher is there" "^other: pattern sshd" "$(ctl watch show)"

# Promoted trap names, and candidates.
line root 198.51.100.99
line root 198.51.100.98
wait_for 5 lines_are 6
cand=$(ctl watch candidates)
has "candidates: a login name tried from two sources" "^ssh root 2 sources, 2 attempts" "$cand"
has "candidates: a source below the threshold today" "^ssh 198\.51\.100\.99 1 failures" "$cand"
check_output "watch add-traps" "1/1 names added as traps." ctl watch add-traps Root
line root 203.0.113.60
wait_for 5 in_table longterm 203.0.113.60
ok $? "a promoted name lists at once, whatever its case"
check "a promoted name is no candidate any more" refute sh -c \
	"'$GW_BIN/greywallctl' -s '$GW_SOCK' watch candidates | grep -q '^ssh root '"

# A line longer than the limit is cut, counted, and does not stop the reading.
head -c 10000 /dev/zero | tr '\0' 'x' >>"$LOG"
echo >>"$LOG"
line luochun 203.0.113.61
wait_for 5 in_table longterm 203.0.113.61
ok $? "a line after a 10000-byte line is read"
has "the long line was cut and counted" "cut 1 " "$(ctl watch show)"

tap_done
