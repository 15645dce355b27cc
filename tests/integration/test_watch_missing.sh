#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# A watcher's source that is not there never keeps greywalld from
# starting: a log file whose directory does not exist yet (a daemon not
# installed yet) and a journal directory not written yet (as
# systemd-journal-remote's before its first entry). `watch show` says so,
# and once they appear, once a second at most, they are read from their
# first line: a trap name in each lists its source.
. "$(dirname "$0")/../lib/gw.sh"

REMOTE=
for r in /usr/lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-remote; do
	[ -x "$r" ] && REMOTE=$r
done
[ -n "$REMOTE" ] || skip_all "systemd-journal-remote is not installed"

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
LOGDIR=$GW_RUN/later/dovecot
JDIR=$GW_RUN/later/journal
printf 'luochun\n' >"$GW_RUN/trap-users"
gw_write_config '
table <longterm> persist
trap-users file "'"$GW_RUN"'/trap-users"
watch pop3 {
	file "'"$LOGDIR"'/dovecot.log"
	pattern dovecot
	on-trap <longterm>
}
watch ssh {
	journal unit "ssh.service" directory "'"$JDIR"'"
	pattern sshd
	on-trap <longterm>
}'
check "greywalld -n accepts sources that are not there" gw "$GW_BIN/greywalld" -n -f "$GW_CONF"
gw_start
ok $? "greywalld starts with a file in a missing directory and a missing journal directory"
show=$(ctl watch show)
has "watch show: the file is not there yet" "file .*/later/dovecot/dovecot.log: not there yet" "$show"
has "watch show: the journal is not there yet" "journal .*/later/journal unit ssh.service: not there yet" "$show"

in_table() { ctl table longterm test "$1" >/dev/null 2>&1; }
mkdir -p "$LOGDIR"
printf '%s pop3-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): user=<luochun>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, session=<abc>\n' \
	"$(date '+%b %d %T')" >>"$LOGDIR/dovecot.log"
wait_for 5 in_table 198.51.100.7
ok $? "the file in a directory made after the start is read: its trap name is listed"

mkdir -p "$JDIR"
printf '__REALTIME_TIMESTAMP=%s000000\n_HOSTNAME=gw\n_SYSTEMD_UNIT=ssh.service\nMESSAGE=Invalid user luochun from 203.0.113.9 port 40000\n\n' \
	"$(date +%s)" | "$REMOTE" -o "$JDIR/remote.journal" - 2>/dev/null
ok $? "systemd-journal-remote writes the journal"
wait_for 5 in_table 203.0.113.9
ok $? "the journal directory made after the start is read from its first entry"
has "watch show: the journal is open" "journal .*/later/journal unit ssh.service, cursor s=" "$(ctl watch show)"
has "the log says when it opened" "watch ssh: journal .* opened" "$(cat "$GW_RUN/greywalld.log")"
has "why: the journal's line" "evidence: log: ssh: trap user luochun: Invalid user luochun from 203\.0\.113\.9" \
	"$(ctl why 203.0.113.9)"
check "a reload keeps both" ctl reload
check "greywalld is still running" kill -0 "$GW_PID"
tap_done
