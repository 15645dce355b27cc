#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# A log watcher on the journal: a journal directory the test writes with
# systemd-journal-remote (Journal Export Format on its stdin), as journald
# would write the system's. A trap line of the watched unit lists its
# source, another unit's line is not read; the entries written while
# greywalld was down are read once each after a restart (the cursor is
# kept in the store); a stored cursor that is not valid, or a journal that
# cannot be opened, does not keep greywalld from starting.
. "$(dirname "$0")/../lib/gw.sh"
REMOTE=
for r in /usr/lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-remote; do
	[ -x "$r" ] && REMOTE=$r && break
done
[ -n "$REMOTE" ] || skip_all "systemd-journal-remote is not installed"
gw_require sqlite3

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
JDIR=$GW_RUN/journal
mkdir -p "$JDIR"
printf 'luochun\n' >"$GW_RUN/trap-users"
config() { # journal directory
	gw_write_config '
table <longterm> persist
table <bruteforce> persist
block drop quick from <longterm>
block drop quick from <bruteforce>
trap-users file "'"$GW_RUN"'/trap-users"
watch ssh {
	journal unit "ssh.service" directory "'"$1"'"
	pattern sshd
	on-trap <longterm>
	on-failures 5 within 10m <bruteforce>
}'
}
config "$JDIR"

# entry UNIT USER SOURCE...: one journal entry per source, sshd's "Invalid
# user" line as its MESSAGE, for the unit; one systemd-journal-remote run
# appends them all to the journal file.
n=0
entry() {
	local unit=$1 user=$2 src
	shift 2
	for src; do
		n=$((n + 1))
		printf '__REALTIME_TIMESTAMP=%s\n_HOSTNAME=gw\n_SYSTEMD_UNIT=%s\n' \
			"$(date +%s%6N)" "$unit"
		printf 'SYSLOG_IDENTIFIER=sshd\n_PID=%d\n' $((1000 + n))
		printf 'MESSAGE=Invalid user %s from %s port %d\n\n' "$user" "$src" $((40000 + n))
	done >"$GW_RUN/entries"
	"$REMOTE" --output="$JDIR/remote.journal" - <"$GW_RUN/entries" 2>/dev/null
}
lines() { ctl watch show | awk '$1 == "lines" { print $2; exit }'; }
lines_are() { [ "$(lines)" = "$1" ]; }
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }
DB=$GW_RUN/state/greywall.db
stored_cursor() { sqlite3 "$DB" "SELECT cursor FROM watch_positions WHERE watcher = 'ssh'"; }

entry ssh.service root 203.0.113.99
ok $? "systemd-journal-remote writes a journal"
gw_start
ok $? "greywalld starts with a journal watcher"
has "watch show names the journal and its unit" "journal .*/journal unit ssh\.service, cursor -" \
	"$(ctl watch show)"
sleep 0.3
check_output "what the journal held before the start is not read" "0" lines

entry ssh.service luochun 198.51.100.7
wait_for 5 in_table longterm 198.51.100.7
ok $? "a trap line of ssh.service lists its source in <longterm>"
has "why names the watcher, the rule and the MESSAGE" \
	"evidence: log: ssh: trap user luochun: Invalid user luochun from 198\.51\.100\.7 port" \
	"$(ctl why 198.51.100.7)"
check "the data path drops the source" blocked 198.51.100.7 192.0.2.1

# Another unit's entry is not read at all; the ssh.service entry after it is.
entry cron.service luochun 198.51.100.8
entry ssh.service admin 203.0.113.9
wait_for 5 lines_are 2
ok $? "the next ssh.service entry is read (2 lines)"
sleep 0.3
check_output "another unit's entry is not read (still 2 lines)" "2" lines
check "another unit's trap line lists nothing" refute in_table longterm 198.51.100.8
# The journal's descriptor, once it woke the loop, must be acknowledged.
cpu() { awk '{ print $14 + $15 }' "/proc/$GW_PID/stat"; }
t0=$(cpu)
sleep 2
t1=$(cpu)
echo "# greywalld's CPU time over 2 s of a quiet journal: $((t1 - t0)) ticks of $(getconf CLK_TCK)/s"
ev "[ $((t1 - t0)) -lt 20 ]" "greywalld idles while the journal is quiet (under 10% CPU)"
has "watch show has a cursor" "journal .* unit ssh\.service, cursor s=" "$(ctl watch show)"

# Down, entries written, up: each read once.
gw_stop TERM
ok $? "greywalld stops"
[ -n "$(stored_cursor)" ]
ok $? "the journal's cursor is in the store"
# Four failures of one source while down: were one read twice, the fifth
# would list it.
entry ssh.service admin 203.0.113.50 203.0.113.50 203.0.113.50
entry cron.service admin 203.0.113.50
entry ssh.service admin 203.0.113.50
gw_start
ok $? "greywalld restarts"
wait_for 5 lines_are 4
ok $? "the four ssh.service entries written while down are read (4 lines)"
sleep 0.5
check_output "none twice: still 4" "4" lines
has "each matched once" "lines 4 matched 4 " "$(ctl watch show)"
check "four failures counted, not five: not listed" refute in_table bruteforce 203.0.113.50
entry ssh.service admin 203.0.113.50
wait_for 5 in_table bruteforce 203.0.113.50
ok $? "the fifth lists the source"

# A stored cursor that is not a cursor: greywalld warns and starts at the end.
gw_stop TERM
sqlite3 "$DB" "UPDATE watch_positions SET cursor = 's=nonsense' WHERE watcher = 'ssh'"
check_output "the stored cursor is spoiled" "s=nonsense" stored_cursor
entry ssh.service luochun 203.0.113.200
gw_start
ok $? "greywalld starts with an invalid stored cursor"
has "it warns about the cursor" "watch ssh: journal .*: the stored cursor: .*; following from its end" "$(cat "$GW_RUN/greywalld.log")"
sleep 0.3
check_output "it starts at the end of the journal: nothing read" "0" lines
check "the entry written before the start is not read" refute in_table longterm 203.0.113.200
entry ssh.service luochun 2001:db8:bad::7
wait_for 5 in_table longterm 2001:db8:bad::7
ok $? "and follows the journal from there (an IPv6 source listed)"

# A journal directory that is not there: greywalld starts, says so, and
# follows it once it appears (tried each second), from its first entry.
gw_stop TERM
config "$GW_RUN/journal-later"
gw_start
ok $? "greywalld starts with a journal directory that is not there"
has "watch show says the journal is not there yet" "journal .*/journal-later unit ssh\.service: not there yet" \
	"$(ctl watch show)"
mkdir -p "$GW_RUN/journal-later"
journal_open() { ctl watch show | grep -q "journal .*/journal-later unit ssh\.service, cursor"; }
wait_for 5 journal_open
ok $? "once the directory is there the journal is open"
JDIR=$GW_RUN/journal-later
entry ssh.service luochun 203.0.113.201
wait_for 5 in_table longterm 203.0.113.201
ok $? "and its entries are read"
check "greywalld still answers" ctl status

tap_done
