#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The log watchers on real daemons' logs: Debian's Dovecot (pop3, imap) and
# OpenSSH's sshd in the gateway namespace, real clients (Python's poplib and
# imaplib, OpenSSH's ssh) failing logins from the client namespace. A trap
# login name lists its source at once and the data path drops it; the
# fifth failure within the window lists, the fourth does not, and the
# window slides; an sshd connection's lines count once; an address a login
# name carries is never listed, the real source is; IPv6; `why` shows the
# daemon's own line. test_watch.sh covers rotation, restarts and reloads
# on a log it writes itself.
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/daemons.sh"
gw_require dovecot sshd python3 ssh

# Failed logins are what is counted here, not Dovecot's delays (daemons.sh).
# shellcheck disable=SC2034 # read by dovecot_start
DOVECOT_FAILURE_DELAY=0
# shellcheck disable=SC2034
DOVECOT_PENALTY=no
WINDOW=4

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
DAEMONS=$GW_RUN/daemons
trap 'dovecot_stop "$DAEMONS/dovecot"; sshd_stop "$DAEMONS/sshd"; gw_cleanup' EXIT
mkdir -p "$DAEMONS" "$GW_RUN/log" && chmod 755 "$GW_RUN" "$DAEMONS"
DLOG=$GW_RUN/log/dovecot.log
SLOG=$GW_RUN/log/sshd.log
# More client sources, one per case: a listed source cannot connect again.
for a in 198.51.100.21 198.51.100.23 198.51.100.24 203.0.113.21 203.0.113.22 203.0.113.23; do
	cl ip addr add $a/32 dev veth1
done

# Trap names: "x" catches a capture that stops at the first " from " or
# "rip=" of a hostile name (it would list 192.0.2.77 as a trap's source);
# the whole hostile names are traps so that the right capture lists the
# real source at once.
printf '%s\n' luochun x 'x from 192.0.2.77 port 22' 'x rip=192.0.2.77' >"$GW_RUN/trap-users"
gw_write_config '
table <longterm> persist
table <bruteforce> persist
block drop quick from <longterm>
block drop quick from <bruteforce>
trap-users file "'"$GW_RUN"'/trap-users"
watch dovecot {
	file "'"$DLOG"'"
	pattern dovecot
	on-trap <longterm>
	on-failures 5 within '$WINDOW's <bruteforce>
}
watch sshd {
	file "'"$SLOG"'"
	pattern sshd
	on-trap <longterm>
	on-failures 5 within '$WINDOW's <bruteforce>
}'

dovecot_start "$GW_NS" "$DAEMONS/dovecot" "$DLOG" 192.0.2.1 2001:db8::1
ok $? "Dovecot starts (pop3 110, imap 143)"
sshd_start "$GW_NS" "$DAEMONS/sshd" "$SLOG" 22 192.0.2.1 2001:db8::1
ok $? "sshd starts (22)"
wait_for 5 listens gw 110 && wait_for 5 listens gw 143 && wait_for 5 listens gw 22
ok $? "the daemons listen"
gw_start
ok $? "greywalld starts with a watcher on each daemon's log"

# fail PROTO SRC DST USER [N]: N (default 1) logins with a wrong password,
# one connection each, from SRC, through Python's poplib or imaplib; exit 0
# when every one was refused by the server (not when the connection failed).
fail() {
	cl python3 - "$@" <<'PY'
import imaplib, poplib, socket, sys

proto, src, dst, user = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 1

def bound(self, timeout):
    return socket.create_connection((self.host, self.port), 5, source_address=(src, 0))

class POP3(poplib.POP3):
    _create_socket = bound

class IMAP4(imaplib.IMAP4):
    _create_socket = bound

for _ in range(n):
    if proto == "pop3":
        c = POP3(dst, 110, timeout=5)
        c.user(user)
        try:
            c.pass_("wrong")
            sys.exit("pop3: the login succeeded")
        except poplib.error_proto as e:
            if b"Authentication failed" not in e.args[0]:
                raise
        c.quit()
    else:
        c = IMAP4(dst, 143, timeout=5)
        try:
            # imaplib sends the name as it is: quote it (RFC 3501's quoted string).
            c.login('"%s"' % user.replace("\\", "\\\\").replace('"', '\\"'), "wrong")
            sys.exit("imap: the login succeeded")
        except imaplib.IMAP4.error as e:
            if "Authentication failed" not in str(e):
                raise
        c.logout()
PY
}
# ssh_fail SRC USER: one ssh connection from SRC that cannot log in
# (BatchMode: no password asked; the user is not an account or has no key)
ssh_fail() {
	cl ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o LogLevel=ERROR -b "$1" -l "$2" 192.0.2.1 true 2>/dev/null
	[ $? -eq 255 ]
}
in_table() { ctl table "$1" test "$2" >/dev/null 2>&1; }
# matched WATCHER: the watcher's count of matching lines (watch show)
matched() {
	ctl watch show | awk -v w="$1:" '$1 == w { on = 1; next }
		/^[^\t]/ { on = 0 } on && $1 == "lines" { print $4; exit }'
}
matched_is() { [ "$(matched "$1")" = "$2" ]; }
# why_is SRC WATCHER RULE LINE: `why` names the watcher, the rule and the line
why_is() {
	has "why $1: watcher $2, $3, the daemon's line" "evidence: log: $2: $3: $4" \
		"$(ctl why "$1")"
}
src_re() { printf '%s' "$1" | sed 's/\./\\./g'; }

# pop3: a trap name lists at once. Two pollers say how long the line took
# from the log file to the table: one reads the file about every
# millisecond, the other runs `greywallctl table longterm test` back to
# back; the entry appeared after the start of the last run that did not
# find it and before the end of the first that did. Separate processes on
# one clock (CLOCK_MONOTONIC); a rough number: the benchmark measures this
# precisely.
SRC=198.51.100.7
poll() { # line|table: print the monotonic times (ms) the poller saw it at
	python3 - "$1" "$DLOG" "$SRC" "$GW_BIN/greywallctl" "$GW_SOCK" <<'PY'
import os, subprocess, sys, time

what, log, src, ctl, sock = sys.argv[1:]
deadline = time.monotonic() + 20
if what == "line":
    needle = ("user=<luochun>, method=PLAIN, rip=%s," % src).encode()
    f = open(log, "rb")
    f.seek(0, os.SEEK_END)
    buf = b""
    while time.monotonic() < deadline:
        buf += f.read()
        if needle in buf:
            print("%.3f" % (time.monotonic() * 1e3))
            break
        time.sleep(0.001)
else:
    miss = None
    while time.monotonic() < deadline:
        t = time.monotonic()
        if subprocess.call([ctl, "-s", sock, "table", "longterm", "test", src],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
            if miss is not None:
                print("%.3f %.3f" % (miss * 1e3, time.monotonic() * 1e3))
            break
        miss = t
PY
}
cl true # the namespace's first exec is slower; not part of the time
poll line >"$GW_RUN/latency.line" &
poll_line=$!
poll table >"$GW_RUN/latency.table" &
poll_table=$!
sleep 0.3 # the pollers are at the file's end and testing the table
check "pop3: a login with a trap name fails" fail pop3 $SRC 192.0.2.1 luochun
wait_for 5 in_table longterm $SRC
ok $? "pop3: a trap login name lists the source in <longterm>"
wait "$poll_line" "$poll_table"
read -r t_line <"$GW_RUN/latency.line"
read -r t_miss t_hit <"$GW_RUN/latency.table"
if [ -n "$t_line" ] && [ -n "$t_hit" ]; then
	awk -v l="$t_line" -v m="$t_miss" -v h="$t_hit" 'BEGIN {
		printf "# log line in the file -> entry in <longterm>: after %.1f ms, by %.1f ms" \
			" (greywallctl runs %.1f ms apart)\n", m - l, h - l, h - m }'
else
	echo "# the pollers saw no line or no entry within 20 s"
fi
check "the data path drops the source's next connection (to pop3)" blocked $SRC 192.0.2.1 110
why_is $SRC dovecot "trap user luochun" \
	".*pop3-login: Info: Disconnected.*\(auth failed, 1 attempts in [0-9]+ secs\): user=<luochun>, method=PLAIN, rip=$(src_re $SRC), lip=192\.0\.2\.1, session=<"
check "a source that did not fail still reaches pop3" connect 192.0.2.10 192.0.2.1 110

# imap: four failures of an ordinary name do not list, the fifth does.
SRC=203.0.113.9
base=$(matched dovecot)
check "imap: four failed logins" fail imap $SRC 192.0.2.1 admin 4
wait_for 5 matched_is dovecot $((base + 4))
ok $? "imap: Dovecot's four lines are matched"
check "imap: four failures within the window do not list" refute in_table bruteforce $SRC
has "watch show -v: the source has 4 in the window" "$(src_re $SRC) 4 in the window" \
	"$(ctl watch show -v)"
check "imap: the fifth failed login" fail imap $SRC 192.0.2.1 admin
wait_for 5 in_table bruteforce $SRC
ok $? "imap: the fifth failure within the window lists the source in <bruteforce>"
why_is $SRC dovecot "5 failures within ${WINDOW}s \(first .*, last .*\)" \
	".*imap-login: .*user=<admin>, method=PLAIN, rip=$(src_re $SRC), lip=192\.0\.2\.1"
check "the data path drops its next imap connection" blocked $SRC 192.0.2.1 143

# imap: failures older than the window no longer count.
SRC=203.0.113.21
base=$(matched dovecot)
check "imap: four failed logins (a second source)" fail imap $SRC 192.0.2.1 oracle 4
wait_for 5 matched_is dovecot $((base + 4))
sleep $((WINDOW + 1))
check "imap: a fifth after the window" fail imap $SRC 192.0.2.1 oracle
wait_for 5 matched_is dovecot $((base + 5))
check "imap: a failure after the window has slid does not list" refute in_table bruteforce $SRC
check "imap: four more" fail imap $SRC 192.0.2.1 oracle 4
wait_for 5 in_table bruteforce $SRC
ok $? "imap: five within the window list"

# sshd: a trap name; five connections of an invalid user list, four do not.
SRC=198.51.100.21
check "ssh: a login with a trap name fails" ssh_fail $SRC luochun
wait_for 5 in_table longterm $SRC
ok $? "sshd: a trap login name lists the source in <longterm>"
why_is $SRC sshd "trap user luochun" "Invalid user luochun from $(src_re $SRC) port [0-9]+"
check "the data path drops its next ssh connection" blocked $SRC 192.0.2.1 22
SRC=203.0.113.22
base=$(matched sshd)
for _ in 1 2 3 4; do ssh_fail $SRC guest || break; done
ok $? "ssh: four connections of an invalid user fail"
wait_for 5 sh -c "grep -c 'Connection closed by invalid user guest $SRC port' '$SLOG' | grep -qx 4"
ok $? "sshd logs four connections"
# With BatchMode sshd writes two lines per connection (Invalid user,
# Connection closed by invalid user), both matched, the second not counted.
lines=$(grep -cE "(Invalid user guest from|Connection closed by invalid user guest) $SRC port" "$SLOG")
echo "# sshd wrote $lines matching lines for the four connections"
wait_for 5 matched_is sshd $((base + lines))
ok $? "every one of them is matched"
check "ssh: four connections do not list" refute in_table bruteforce $SRC
has "the other lines of a connection are not counted again" \
	"matched $((base + lines)) \(same connection $((lines - 4))\)" "$(ctl watch show | sed -n '/^sshd:/,$p')"
has "watch show -v: the source has 4 in the window" "$(src_re $SRC) 4 in the window" \
	"$(ctl watch show -v | sed -n '/^sshd:/,$p')"
check "ssh: a fifth connection" ssh_fail $SRC guest
wait_for 5 in_table bruteforce $SRC
ok $? "sshd: the fifth connection lists the source in <bruteforce>"
why_is $SRC sshd "5 failures within ${WINDOW}s \(first .*, last .*\)" \
	"(Invalid user guest from|Connection closed by invalid user guest) $(src_re $SRC) port [0-9]+"

# Hostile names: an address inside the login name is the attacker's text.
SRC=198.51.100.8
check "ssh: a login name carrying an address" ssh_fail $SRC 'x from 192.0.2.77 port 22'
wait_for 5 in_table longterm $SRC
ok $? "sshd: the real source of a name carrying 'from 192.0.2.77 port 22' is listed"
why_is $SRC sshd "trap user x from 192\.0\.2\.77 port 22" \
	"Invalid user x from 192\.0\.2\.77 port 22 from $(src_re $SRC) port [0-9]+"
SRC=198.51.100.23
check "pop3: a login name carrying rip=" fail pop3 $SRC 192.0.2.1 'x rip=192.0.2.77'
wait_for 5 in_table longterm $SRC
ok $? "dovecot: the real source of a name carrying 'rip=192.0.2.77' is listed"
why_is $SRC dovecot "trap user x rip=192\.0\.2\.77" \
	".*pop3-login: .*user=<x rip=192\.0\.2\.77>, method=PLAIN, rip=$(src_re $SRC), lip=192\.0\.2\.1, session=<"
SRC=198.51.100.24
base=$(matched dovecot)
check "imap: a login name carrying a whole fake tail" \
	fail imap $SRC 192.0.2.1 'x>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc'
wait_for 5 matched_is dovecot $((base + 1))
ok $? "dovecot: its line is matched"
has "dovecot: the real source of a name with a fake tail is counted" \
	"^		$(src_re $SRC) 1 in the window" "$(ctl watch show -v | sed -n '/^dovecot:/,/^sshd:/p')"
show=$(ctl watch show -v)
check "the injected address is counted nowhere" refute grep -q "192\.0\.2\.77 " <<<"$show"
has "the injected address is in no table" "192\.0\.2\.77 is in no table" "$(ctl why 192.0.2.77)"

# IPv6 through Dovecot.
SRC=2001:db8:bad::7
check "imap over IPv6: a login with a trap name fails" fail imap $SRC 2001:db8::1 luochun
wait_for 5 in_table longterm $SRC
ok $? "dovecot: an IPv6 source is listed in <longterm>"
why_is $SRC dovecot "trap user luochun" \
	".*imap-login: .*user=<luochun>, method=PLAIN, rip=2001:db8:bad::7, lip=2001:db8::1, session=<"
check "the data path drops its next IPv6 connection" blocked $SRC 2001:db8::1 143

has "no line gave an error" "errors 0$" "$(ctl watch show | sed -n '/^dovecot:/,/^sshd:/p')"
has "no line gave an error (sshd)" "errors 0$" "$(ctl watch show | sed -n '/^sshd:/,$p')"
tap_done
