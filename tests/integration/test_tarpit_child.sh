#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# The tarpit child confined (greywalld(8)): a new image at every start, with
# no mapping of a BPF map or of the store, chrooted to state-dir/empty,
# under a seccomp filter; killed by SIGSYS it is restarted, with a new
# address-space layout, and the parent names the seccomp violation. And a
# reload reaches it: every spamd setting it uses takes effect on the next
# connection, and a reload that moves the listen addresses is refused.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwtchild$$
. tests/lib/gw.sh

gw_setup_tarpit || exit 1
echo "203.0.113.0/24" >"$ETC/black.txt"
# spamd_config NAME BANNER CODE MAXBLACK STUTTER GREYSTUTTER MAXRCPT IDLE MAXCON [PORT]
spamd_config() { gw_write_config "spamd {
	listen 192.0.2.1 port ${10:-8025}
	hostname \"$1\"
	banner \"$2\"
	black-code $3
	maxblack $4
	stutter $5
	greystutter $6
	maxrcpt $7
	idle-timeout $8
	maxcon $9
	passtime 1h
	spamtraps file \"$ETC/spamtraps\"
	blacklist testlist { file \"$ETC/black.txt\" msg \"Your address %A is on testlist\" }
}"; }
spamd_config a.example.org "banner a" 450 700 1 10 100 400s 800
gw_start || exit 1

chat() { # SRC LINE...: an SMTP dialogue with the tarpit on 192.0.2.1 port 8025
	local src=$1
	shift
	cl timeout 30 "$GW_TOOLS/gwnet" chat "$src" 192.0.2.1 8025 "$@"
}
# sixth_ms OUTPUT: when the banner's sixth byte arrived, in ms after connect
sixth_ms() { printf '%s\n' "$1" | awk '$2 == "first-bytes-ms" { print $8 }'; }
# exe_base PID: where the greywalld image starts in the process's memory
exe_base() { awk '$6 ~ /greywalld/ { print $1; exit }' "/proc/$1/maps" 2>/dev/null; }
heap_base() { awk '$6 == "[heap]" { print $1; exit }' "/proc/$1/maps" 2>/dev/null; }
log() { cat "$GW_RUN/greywalld.log"; }

# --- confinement
pid=$(gw_tarpit_pid)
ev "[ -n '$pid' ]" "the tarpit child runs as greywalld --tarpit-child (pid ${pid:-none})"
maps=$(cat "/proc/$pid/maps" 2>/dev/null)
ev "[ -n \"\$maps\" ]" "its memory map is readable"
ev "! printf '%s\n' \"\$maps\" | grep -qE 'anon_inode:bpf|/sys/fs/bpf|$GW_BPFFS'" \
	"it maps no BPF map and no ring buffer (anon_inode:bpf-map)"
ev "! printf '%s\n' \"\$maps\" | grep -q 'greywall\.db'" "it maps no greywall.db, -shm or -wal"
ev "! ls -l /proc/$pid/fd | grep -qE 'bpf|greywall\.db|\.sock'" "it holds no map, store or control descriptor"
ev "[ \"\$(readlink /proc/$pid/root)\" = '$GW_RUN/state/empty' ]" \
	"its root is state-dir/empty ($(readlink "/proc/$pid/root"))"
ev "[ \"\$(stat -c '%a %U' '$GW_RUN/state/empty')\" = '555 root' ] && [ -z \"\$(ls -A '$GW_RUN/state/empty')\" ]" \
	"state-dir/empty: mode 0555, owned by root, empty"
status=$(cat "/proc/$pid/status" 2>/dev/null)
has "it runs under a seccomp filter (Seccomp: 2)" "^Seccomp:[[:space:]]+2$" "$status"
has "as greywall, with no_new_privs" "^Uid:[[:space:]]+$(id -u greywall)[[:space:]]" "$status"
has "named greywalld" "^Name:[[:space:]]+greywalld$" "$status"
out=$(chat 192.0.2.10 QUIT)
has "it serves: banner a" "^< 220 a.example.org ESMTP banner a" "$out"
# Its lines reach the parent's log a few milliseconds later (batched): wait for it.
wait_for 5 grep -q "192.0.2.10: disconnected after" "$GW_RUN/greywalld.log"
ok $? "it logs through the parent"

# --- a forbidden system call kills it (SIGSYS): the parent logs the violation and restarts it
old=$pid old_exe=$(exe_base "$pid") old_heap=$(heap_base "$pid")
kill -SYS "$old"
restarted() { new=$(gw_tarpit_pid); [ -n "$new" ] && [ "$new" != "$old" ]; }
wait_for 10 restarted
new=$(gw_tarpit_pid)
ev "[ -n '$new' ] && [ '$new' != '$old' ]" "the child killed by SIGSYS is restarted ($old -> ${new:-none})"
has "the parent logs it as a seccomp violation" "tarpit \(pid $old\) killed by SIGSYS: a seccomp violation" "$(log)"
wait_for 5 grep -q "^Seccomp:[[:space:]]*2" "/proc/$new/status"
new_exe=$(exe_base "$new") new_heap=$(heap_base "$new")
ev "[ -n '$old_exe' ] && [ -n '$new_exe' ] && [ '$old_exe' != '$new_exe' ]" \
	"the new child's image lies elsewhere ($old_exe -> $new_exe): a fresh layout"
ev "[ '$old_heap' != '$new_heap' ]" "and its heap too ($old_heap -> $new_heap)"
has "the new child serves" "^< 220 a.example.org ESMTP banner a" "$(chat 192.0.2.10 QUIT)"

# --- before the reload: the settings it started with
out=$(GWNET_MAX_BYTES=6 chat 203.0.113.9 QUIT)
t=$(sixth_ms "$out")
ev "[ -n '$t' ] && [ $t -ge 4000 ]" "maxblack 700, stutter 1: a black client's sixth byte comes after $t ms"

# --- reload: each setting on the next connection
spamd_config b.example.org "banner b" 550 0 1 0 2 3s 800
has "reload with new spamd settings" "configuration reloaded" "$(ctl reload 2>&1)"
wait_for 5 grep -q "settings changed: maxcon 800, maxblack 0" "$GW_RUN/greywalld.log"
ok $? "the child logs its new settings"
out=$(chat 192.0.2.10 QUIT)
has "hostname and banner: 220 b.example.org ESMTP banner b" "^< 220 b.example.org ESMTP banner b" "$out"
has "hostname in the QUIT reply" "^< 221 2.0.0 b.example.org closing" "$out"
t=$(sixth_ms "$out")
ev "[ -n '$t' ] && [ $t -lt 1000 ]" "greystutter 0: a grey client's banner comes whole (sixth byte after $t ms)"
out=$(chat 203.0.113.9 QUIT)
t=$(sixth_ms "$out")
ev "[ -n '$t' ] && [ $t -lt 1000 ]" "maxblack 0: a black client is not stuttered (sixth byte after $t ms)"
out=$(chat 198.51.100.8 "HELO t.example.net" "MAIL FROM:<s@example.net>" "RCPT TO:<trap@example.org>" \
	DATA "+x" ".")
has "black-code 550: a client trapped in its session gets 550" "^< 550[- ].*198.51.100.8" "$out"
out=$(chat 192.0.2.10 "HELO c.example.net" "MAIL FROM:<a@example.net>" "RCPT TO:<u1@example.org>" \
	"RCPT TO:<u2@example.org>" "RCPT TO:<u3@example.org>" QUIT)
has "maxrcpt 2: the third RCPT gets 452" "^< 452 4.5.3 Too many recipients" "$out"
n=$(printf '%s\n' "$out" | grep -c '^< 250 2.1.5')
ev "[ $n -eq 2 ]" "maxrcpt 2: two RCPTs accepted ($n)"
start=$SECONDS
cl timeout 20 bash -c 'exec 3<>/dev/tcp/192.0.2.1/8025 && cat <&3' >/dev/null 2>&1
elapsed=$((SECONDS - start))
ev "[ $elapsed -le 8 ]" "idle-timeout 3s: a silent client is closed after ${elapsed} s"

# --- listen addresses change only with a restart: the reload says so, the old ones stay
spamd_config b.example.org "banner b" 550 0 1 0 2 3s 800 8026
out=$(ctl reload 2>&1)
has "a reload that moves listen is refused, naming the restart" \
	"reload failed.*spamd listen addresses change only with a restart" "$out"
has "the tarpit still listens on port 8025" "^< 220 b.example.org" "$(chat 192.0.2.10 QUIT)"

# maxcon 1: a second connection while one is held is closed at once
spamd_config b.example.org "banner b" 550 0 1 0 2 30s 1
has "reload with maxcon 1" "configuration reloaded" "$(ctl reload 2>&1)"
wait_for 5 grep -q "settings changed: maxcon 1," "$GW_RUN/greywalld.log"
connected() { grep -c ': connected (' "$GW_RUN/greywalld.log"; }
before=$(connected)
# Not through cl (a function: $! would be its subshell), and sleep without
# the socket: killing the holder closes it.
ip netns exec "$GW_CLIENT" timeout 15 bash -c 'exec 3<>/dev/tcp/192.0.2.1/8025 && sleep 10 3>&-' \
	>/dev/null 2>&1 &
holder=$!
more_connected() { [ "$(connected)" -gt "$before" ]; }
wait_for 5 more_connected
out=$(chat 192.0.2.66 QUIT)
ev "! printf '%s\n' \"\$out\" | grep -q '^< 220'" "maxcon 1: a second connection gets no banner"
# The child tells the parent what it holds once a second (CONNS): status says it.
held() { ctl status 2>/dev/null | grep -q "^tarpit: $1 connections held, 0 black"; }
check "status: the tarpit holds the one connection" wait_for 5 held 1
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check "status: and none once it is gone" wait_for 5 held 0
has "status: the most held at once" "^tarpit: 0 connections held, 0 black \(at most [1-9]" \
	"$(ctl status 2>&1)"

tap_done
