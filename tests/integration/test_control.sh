#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The control socket as a hostile or mistaken client meets it: descriptors
# passed with `table T load -f` that are not regular files (a FIFO that
# would block greywalld, an O_PATH descriptor of a file only root may
# read, a directory, a file over the size limit), several descriptors in
# one request (none may stay open in greywalld), and the read-only role:
# members of `set control-group` run the listings and nothing else, other
# users nothing at all. The users and the group are made here and removed
# on exit.
. "$(dirname "$0")/../lib/gw.sh"
gw_require setpriv useradd groupadd

RO_GROUP=${GW_ID}ro
RO_USER=${GW_ID}ro
RO_PRIMARY=${GW_ID}rp
OTHER_USER=${GW_ID}no

control_cleanup() {
	gw_cleanup
	for u in "$RO_USER" "$RO_PRIMARY" "$OTHER_USER"; do
		gw_user_db userdel "$u" >/dev/null 2>&1
	done
	gw_user_db groupdel "$RO_GROUP" >/dev/null 2>&1
}

# A greywalld that hangs (as one did on a FIFO) fails the checks, not the run.
ctl() { timeout 10 "$GW_BIN/greywallctl" -s "$GW_SOCK" "$@"; }

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
trap control_cleanup EXIT
gw_tarpit_user
gw_user_db groupadd "$RO_GROUP" || { echo "not ok 1 - groupadd"; exit 1; }
# A member through a supplementary group, one through the primary group, and a stranger.
gw_user_db useradd -M -N -s /usr/sbin/nologin -G "$RO_GROUP" "$RO_USER" &&
	gw_user_db useradd -M -N -s /usr/sbin/nologin -g "$RO_GROUP" "$RO_PRIMARY" &&
	gw_user_db useradd -M -N -s /usr/sbin/nologin "$OTHER_USER" || { echo "not ok 1 - useradd"; exit 1; }

CTLSEND=$GW_TOOLS/ctlsend
BASE='
table <bruteforce> persist
block drop quick from <bruteforce>
spamd {
	listen 192.0.2.1 port 8025
}'
gw_write_config "$BASE"
gw_start
ok $? "greywalld starts without a control-group"

# as USER command...: run as that user with the groups the database gives it
as() {
	local user=$1
	shift
	timeout 10 setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups "$@"
}
# status_is "message" WANT command...: the command's exit status is WANT
status_is() {
	local msg=$1 want=$2 got
	shift 2
	"$@" >/dev/null 2>&1
	got=$?
	ok $([ "$got" -eq "$want" ] && echo 0 || echo 1) "$msg (status $got, want $want)"
}
fd_count() { ls "/proc/$GW_PID/fd" | wc -l; }
# still_answers: greywalld takes the next command at once
still_answers() { timeout 5 "$GW_BIN/greywallctl" -s "$GW_SOCK" status >/dev/null 2>&1; }

check_output "the socket is 0600 root:root without a control-group" "600 root root" \
	stat -c '%a %U %G' "$GW_SOCK"

# Descriptors beyond the one a request may carry are closed, not kept.
# (`tables`, not `status`: libxdp 1.3's xdp_multiprog__get_from_ifindex
# leaks a program descriptor per call, which is not the socket's doing.)
printf '192.0.2.90\n' >"$GW_RUN/one.txt"
before=$(fd_count)
"$CTLSEND" "$GW_SOCK" -n 100 -d "file:$GW_RUN/one.txt" -d "file:$GW_RUN/one.txt" \
	-d "file:$GW_RUN/one.txt" -- tables >/dev/null 2>&1
"$CTLSEND" "$GW_SOCK" -n 100 -d "file:$GW_RUN/one.txt" -d "file:$GW_RUN/one.txt" \
	-- table bruteforce load -f one.txt >/dev/null 2>&1
"$CTLSEND" "$GW_SOCK" -n 100 -d "file:$GW_RUN/one.txt" -- tables >/dev/null 2>&1
after=$(fd_count)
ok $([ "$after" -eq "$before" ] && echo 0 || echo 1) \
	"300 requests with 1 to 3 descriptors leave greywalld's open descriptors as they were ($before -> $after)"
check_output "a request with two descriptors loads nothing" "0/1 addresses match." \
	ctl table bruteforce test 192.0.2.90

# An O_PATH descriptor opens no file for reading: root's secret stays unread.
printf '192.0.2.91\n' >"$GW_RUN/secret.txt"
chmod 0600 "$GW_RUN/secret.txt"
check_output "an O_PATH descriptor is refused" \
	"greywallctl: secret.txt: the descriptor is not open for reading" \
	"$CTLSEND" "$GW_SOCK" -d "path:$GW_RUN/secret.txt" -- table bruteforce load -f secret.txt
status_is "an O_PATH descriptor exits 66" 66 \
	"$CTLSEND" "$GW_SOCK" -d "path:$GW_RUN/secret.txt" -- table bruteforce load -f secret.txt
check_output "nothing of the O_PATH file was loaded" "0/1 addresses match." \
	ctl table bruteforce test 192.0.2.91
check_output "a write-only descriptor is refused" \
	"greywallctl: secret.txt: the descriptor is not open for reading" \
	"$CTLSEND" "$GW_SOCK" -d "wronly:$GW_RUN/secret.txt" -- table bruteforce replace -f secret.txt
check_output "a directory is refused" \
	"greywallctl: dir: a directory, not a regular file" \
	"$CTLSEND" "$GW_SOCK" -d "dir:$GW_RUN" -- table bruteforce load -f dir
# Sparse: its size is over the limit, its blocks cost nothing.
truncate -s $((256 * 1024 * 1024 + 1)) "$GW_RUN/huge.txt"
check_output "a regular file over 256 MiB is refused" \
	"greywallctl: huge.txt: larger than the limit of 256 MiB" \
	timeout 10 "$CTLSEND" "$GW_SOCK" -d "file:$GW_RUN/huge.txt" -- table bruteforce load -f huge.txt
status_is "greywallctl refuses it too, with 66" 66 ctl table bruteforce load -f "$GW_RUN/huge.txt"
rm -f "$GW_RUN/huge.txt"
printf '192.0.2.92\n' >"$GW_RUN/good.txt"
check_output "a regular file's descriptor is read" "1/1 addresses added." \
	"$CTLSEND" "$GW_SOCK" -d "file:$GW_RUN/good.txt" -- table bruteforce load -f good.txt
check_output "-f - from a pipe still loads (greywallctl copies it)" "1/1 addresses added." \
	sh -c "printf '192.0.2.93\n' | '$GW_BIN/greywallctl' -s '$GW_SOCK' table bruteforce load -f -"
check_output "greywallctl refuses a directory itself" "greywallctl: $GW_RUN: Is a directory" \
	ctl table bruteforce load -f "$GW_RUN"

# A FIFO would block greywalld's one thread in open() or read(): refused at once.
mkfifo "$GW_RUN/fifo"
start=$SECONDS
check_output "a FIFO is refused" "greywallctl: fifo: a FIFO or pipe, not a regular file" \
	timeout 5 "$CTLSEND" "$GW_SOCK" -d "fifo:$GW_RUN/fifo" -- table bruteforce load -f fifo
ok $([ $((SECONDS - start)) -le 2 ] && echo 0 || echo 1) "the FIFO is refused at once"
check "greywalld answers status right after the FIFO" still_answers

# The read-only role.
printf 'set interface veth0\nset control-group %s\n' "${GW_ID}zz" >"$GW_RUN/badgroup.conf"
check "a config naming an unknown group is an error" \
	refute gw "$GW_BIN/greywalld" -n -f "$GW_RUN/badgroup.conf"
check_output "the error names file, line and group" \
	"greywalld: $GW_RUN/badgroup.conf:2:19: control-group \"${GW_ID}zz\": no such group" \
	gw "$GW_BIN/greywalld" -n -f "$GW_RUN/badgroup.conf"
check_output "a stranger cannot connect to the 0600 socket" \
	"greywallctl: cannot reach greywalld at $GW_SOCK: Permission denied" \
	as "$OTHER_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" status
status_is "... and greywallctl exits 77" 77 as "$OTHER_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" status

gw_write_config "set control-group $RO_GROUP
$BASE"
check_output "reload takes the control-group" "configuration reloaded." ctl reload
check_output "the socket is 0660 root:$RO_GROUP" "660 root $RO_GROUP" \
	stat -c '%a %U %G' "$GW_SOCK"

for who in "$RO_USER" "$RO_PRIMARY"; do
	rctl() { as "$who" "$GW_BIN/greywallctl" -s "$GW_SOCK" "$@"; }
	out=$(rctl tables 2>&1)
	has "$who: tables" "^bruteforce +2 " "$out"
	check_output "$who: table show" "   192.0.2.92
   192.0.2.93" rctl table bruteforce show
	check_output "$who: table test" "1/1 addresses match." rctl table bruteforce test 192.0.2.92
	out=$(rctl why 192.0.2.92 2>&1)
	has "$who: why" "^192.0.2.92 is in <bruteforce> as 192.0.2.92 since" "$out"
	out=$(rctl stats 2>&1)
	has "$who: stats" "^packets +[0-9]+$" "$out"
	out=$(rctl status 2>&1)
	has "$who: status" "^greywalld .* running, pid $GW_PID" "$out"
	check "$who: rules" rctl rules
	check "$who: queue show" rctl queue show
	check "$who: spamdb lists" rctl spamdb
	check "$who: traps candidates" rctl traps candidates
	check "$who: callbacks" rctl callbacks
	check_output "$who: table add needs root" \
		"greywallctl: permission denied: 'table bruteforce add' needs root" \
		rctl table bruteforce add 192.0.2.95
	status_is "$who: ... and exits 77" 77 rctl table bruteforce add 192.0.2.95
	check_output "$who: reload needs root" "greywallctl: permission denied: 'reload' needs root" \
		rctl reload
	check_output "$who: spamdb -a needs root" \
		"greywallctl: permission denied: 'spamdb -a' needs root" rctl spamdb -a 192.0.2.96
	status_is "$who: table load -f needs root" 77 rctl table bruteforce load -f /dev/null
	status_is "$who: table flush needs root" 77 rctl table bruteforce flush
	status_is "$who: traps add needs root" 77 rctl traps add trap@example.org
	status_is "$who: dump needs root" 77 rctl dump
	status_is "$who: detach needs root" 77 rctl detach
	status_is "$who: an unknown verb needs root" 77 rctl frobnicate
done
check_output "the refused commands changed nothing" "0/1 addresses match." \
	ctl table bruteforce test 192.0.2.95
check_output "spamdb -a by a member added nothing" "" ctl spamdb 192.0.2.96
check_output "a stranger still cannot connect" \
	"greywallctl: cannot reach greywalld at $GW_SOCK: Permission denied" \
	as "$OTHER_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" status
# Should the socket's mode ever let a stranger in, the daemon still says no.
chmod 0666 "$GW_SOCK"
check_output "greywalld refuses a stranger who got through the mode" \
	"greywallctl: permission denied: greywalld takes commands from root and its control-group only" \
	as "$OTHER_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" status
status_is "... with 77" 77 as "$OTHER_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" tables
check_output "root still runs everything" "1/1 addresses added." ctl table bruteforce add 192.0.2.97

gw_write_config "$BASE"
check_output "reload without control-group" "configuration reloaded." ctl reload
check_output "the socket is 0600 root:root again" "600 root root" stat -c '%a %U %G' "$GW_SOCK"
chmod 0666 "$GW_SOCK"
check_output "a former member is refused by greywalld itself" \
	"greywallctl: permission denied: greywalld takes commands from root only" \
	as "$RO_USER" "$GW_BIN/greywallctl" -s "$GW_SOCK" tables
tap_done
