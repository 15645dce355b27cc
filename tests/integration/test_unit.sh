#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# deploy/greywalld.service: systemd's offline security analysis rates it
# 4.0 or better and `systemd-analyze verify` accepts it; greywalld does its
# whole job (XDP and TC attached, a table entry dropped, the tarpit behind
# sk_lookup answering, queues' drop counting, a restart that takes over,
# --detach, log watchers reading a syslog-style file of another user's
# through the unit's supplementary group, and a journal) with exactly the
# unit's capability bounding set and groups; and every
# system call it makes meanwhile (traced by strace, tarpit child and fetch
# command included) is one the unit's SystemCallFilter= allows. PID 1 is
# not systemd here, so the unit's sandbox itself is not applied: the
# filter is checked against what greywalld calls, not enforced.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwunit$$
. tests/lib/gw.sh
gw_require systemd-analyze strace setpriv

UNIT=deploy/greywalld.service
MAX_EXPOSURE=4.0

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }

level=$(systemd-analyze security --offline=yes "$UNIT" 2>/dev/null |
	sed -n 's/^→ Overall exposure level for greywalld.service: \([0-9.]*\) .*/\1/p')
awk -v l="$level" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(l != "" && l <= max) }'
ok $? "systemd-analyze security --offline rates the unit ${level:-(no level)}, at most $MAX_EXPOSURE"
# verify wants the commands to exist: point them at this build.
sed "s|/usr/local/sbin/greywalld|$GW_TOP/greywalld|g" "$UNIT" >"$GW_RUN/greywalld.service"
out=$(systemd-analyze verify --man=no "$GW_RUN/greywalld.service" 2>&1)
ok $? "systemd-analyze verify accepts the unit${out:+: $out}"

# CAP_SYS_ADMIN CAP_NET_ADMIN ... as setpriv's "+sys_admin,+net_admin,..."
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
setpriv_caps=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
want_caps=$(echo "$caps" | tr 'A-Z ' 'a-z\n' | sort | tr '\n' ' ')
ok $([ -n "$caps" ] && echo 0 || echo 1) "the unit has a bounding set ($caps)"
groups=$(sed -n 's/^SupplementaryGroups=//p' "$UNIT")
ok $([ "$groups" = adm ] && echo 0 || echo 1) "the unit's supplementary group is adm (${groups:-none}), which reads /var/log"
setpriv_groups="--groups $(echo "$groups" | tr ' ' ',')"

# A log as rsyslog keeps it on Debian: owned by another user, readable by
# the group adm (0640 syslog:adm); nobody stands in for syslog. And a
# journal directory, written by systemd-journal-remote as journald would.
REMOTE=
for r in /usr/lib/systemd/systemd-journal-remote /lib/systemd/systemd-journal-remote; do
	[ -x "$r" ] && REMOTE=$r && break
done
mkdir -p "$GW_RUN/log" "$GW_RUN/journal"
chmod 0755 "$GW_RUN/log"
: >"$GW_RUN/log/auth.log"
chown nobody:adm "$GW_RUN/log/auth.log"
chmod 0640 "$GW_RUN/log/auth.log"
printf 'luochun\n' >"$GW_RUN/trap-users"

gw_tarpit_user
printf '#!/bin/sh\necho 203.0.113.200\n' >"$GW_RUN/fetch.sh"
chmod 0755 "$GW_RUN/fetch.sh"
gw_write_config '
table <bad> persist
queue slow bandwidth 200K
pass in on veth0 proto tcp to port 9010 keep state set queue slow
block drop quick from <bad>
spamd {
	hostname "mx.example.org"
	greystutter 0s
	maxblack 0
	fetch "'"$GW_RUN"'/fetch.sh -- %s"
	blacklist fetched { url "https://list.example.org/black.txt" msg "listed" }
}
trap-users file "'"$GW_RUN"'/trap-users"
watch ssh {
	file "'"$GW_RUN"'/log/auth.log"
	pattern sshd
	on-trap <bad>
}
watch journal {
	journal unit "ssh.service" directory "'"$GW_RUN"'/journal"
	pattern sshd
	on-trap <bad>
}'
gw "$GW_TOOLS/gwnet" listen 8080 >"$GW_RUN/server.log" 2>&1 &
# strace runs inside the capability set, as greywalld's parent: it records
# every system call of greywalld and its children, which it traces from birth.
GW_WRAP="setpriv --bounding-set=-all,$setpriv_caps --inh-caps=-all $setpriv_groups --
	strace -f -qq -o $GW_RUN/strace.log --"
gw_start
ok $? "greywalld starts with the unit's bounding set, traced by strace"
daemon_pid() { # the greywalld that strace started
	local p
	for p in $(pgrep -P "$GW_PID"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = greywalld ] && echo "$p" && return
	done
}
pid=$(daemon_pid)
effective=$(capsh --decode="$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" |
	sed 's/.*=//' | tr ',' '\n' | sort | tr '\n' ' ')
check_output "greywalld's effective capabilities are the unit's set" "$want_caps" \
	echo "$effective"

out=$(ctl status)
has "XDP and TC are attached" "^interface veth0: xdp attached .*, tc egress attached$" "$out"
check "a source connects before it is listed" connect 198.51.100.7 192.0.2.1
check_output "add it to a table" "1/1 addresses added." ctl table bad add 198.51.100.7
check "the listed source is dropped" blocked 198.51.100.7 192.0.2.1
check "queues: kfree_skb drop counting is attached (tp_btf)" \
	test -e "$GW_BPFFS/greywall/link_queue_drops"
out=$(cl "$GW_TOOLS/gwnet" chat 192.0.2.10 192.0.2.1 25 "HELO client.example.net" QUIT 2>&1)
has "the tarpit answers on port 25 through sk_lookup" "^< 220 mx.example.org" "$out"
cl "$GW_TOOLS/gwnet" chat 203.0.113.200 192.0.2.1 25 "HELO bl.example.net" QUIT >/dev/null 2>&1
# The child's lines reach the parent's log a few milliseconds later (batched): wait for it.
wait_for 5 grep -qE "203.0.113.200: connected .*, lists: fetched" "$GW_RUN/greywalld.log"
ok $? "the fetch command ran: the tarpit knows its list"
in_bad() { ctl table bad test "$1" >/dev/null 2>&1; }
printf 'Dec  7 12:00:00 gw sshd[1001]: Invalid user luochun from 198.51.100.8 port 40001\n' \
	>>"$GW_RUN/log/auth.log"
wait_for 5 in_bad 198.51.100.8
ok $? "a log watcher reads a 0640 nobody:adm log through the group adm and lists a trap login"
if [ -n "$REMOTE" ]; then
	printf '__REALTIME_TIMESTAMP=%s\n_SYSTEMD_UNIT=ssh.service\nMESSAGE=Invalid user luochun from 198.51.100.9 port 40002\n\n' \
		"$(date +%s%6N)" | "$REMOTE" --output="$GW_RUN/journal/remote.journal" - 2>/dev/null
	wait_for 5 in_bad 198.51.100.9
	ok $? "a journal watcher reads the journal and lists a trap login"
else
	skip "a journal watcher reads the journal (systemd-journal-remote is not installed)"
fi

# The traced run ends: strace exits once greywalld and its children have.
kill -TERM "$pid"
wait_for 20 sh -c "! kill -0 $GW_PID 2>/dev/null"
ok $? "greywalld, its children and strace end on SIGTERM"
gw_stop KILL

# A restart (untraced) takes over the running programs: libxdp finds them by id.
GW_WRAP="setpriv --bounding-set=-all,$setpriv_caps --inh-caps=-all $setpriv_groups --"
gw_start
ok $? "greywalld starts again with the same set"
out=$(ctl status)
has "after the restart XDP is still found attached" "^interface veth0: xdp attached " "$out"
check "the listed source is still dropped" blocked 198.51.100.7 192.0.2.1
check_output "detach" "detached: programs removed, maps unpinned; greywalld exits." ctl detach
wait "$GW_PID" 2>/dev/null
GW_PID=
check "the source connects after detach" connect 198.51.100.7 192.0.2.1

# Every system call made is one SystemCallFilter= allows.
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
expand() { # a filter's entries, sets expanded, one system call a line
	local entry
	for entry in "$@"; do
		case "$entry" in
		@*) systemd-analyze syscall-filter "$entry" |
			awk 'NR > 1 && NF && $1 !~ /^#/ { print $1 }' | while read -r e; do
				expand "$e"
			done ;;
		*) echo "$entry" ;;
		esac
	done
}
# shellcheck disable=SC2086 # the filter's entries are its words
allowed=$(expand $filter | sort -u)
used=$(sed -n 's/^[0-9][0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$GW_RUN/strace.log" | sort -u)
denied=$(comm -23 <(echo "$used") <(echo "$allowed") | tr '\n' ' ')
ok $([ "$(echo "$used" | wc -l)" -gt 40 ] && echo 0 || echo 1) \
	"strace saw greywalld's system calls ($(echo "$used" | wc -l) different ones)"
ok $([ -z "$denied" ] && echo 0 || echo 1) \
	"each is allowed by SystemCallFilter=$filter${denied:+ (denied: $denied)}"
tap_done
