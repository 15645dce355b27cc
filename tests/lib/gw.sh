# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Shared by the integration tests and the demo: a gateway and a client in
# network namespaces joined by a veth pair, a private bpffs shared by every
# `ip netns exec`, greywalld started as a user would, TAP helpers, and a
# cleanup that runs also when a test fails.
#
#   client (ns $GW_CLIENT)                       gateway (ns $GW_NS)
#   veth1: 192.0.2.10 192.0.2.66 198.51.100.7    veth0: 192.0.2.1
#          2001:db8::10 2001:db8:bad::7                 2001:db8::1
#          203.0.113.9 ...                       routes to the client's other nets

GW_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GW_BIN=$GW_TOP
GW_TOOLS=$GW_TOP/.output/tools
# gw_names: the names of gateway $GW_ID (namespaces, directories, socket)
gw_names() {
	GW_NS=$GW_ID-gw
	GW_CLIENT=$GW_ID-cl
	GW_RUN=/run/$GW_ID
	GW_BPFFS=$GW_RUN/bpffs
	GW_CONF=$GW_RUN/greywall.conf
	GW_SOCK=$GW_RUN/control.sock
	export LIBXDP_BPFFS=$GW_BPFFS GREYWALL_SOCKET=$GW_SOCK
}
GW_ID=${GW_ID:-gwt$$}
gw_names
GW_PID=

# Several gateways in one test: gw_use NAME makes the helpers below (gw, cl,
# ctl, gw_start, gw_cleanup, ...) act on gateway NAME, each with its own
# namespaces, bpffs, run directory and greywalld ($GW_BASE_ID + NAME).
GW_BASE_ID=$GW_ID
declare -A GW_PIDS
gw_use() {
	[ -n "${GW_CUR:-}" ] && GW_PIDS[$GW_CUR]=$GW_PID
	GW_CUR=$1
	GW_ID=$GW_BASE_ID$1
	gw_names
	GW_PID=${GW_PIDS[$1]:-}
}

tap_n=0
tap_failed=0
ok() { # condition-result message...
	local rc=$1
	shift
	tap_n=$((tap_n + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $tap_n - $*"
	else
		echo "not ok $tap_n - $*"
		tap_failed=$((tap_failed + 1))
	fi
}
# check "message" command...: passes when the command succeeds
check() {
	local msg=$1
	shift
	"$@" >/dev/null 2>&1
	ok $? "$msg"
}
# check_output "message" "expected" command...: exact output comparison
check_output() {
	local msg=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then
		ok 0 "$msg"
	else
		ok 1 "$msg"
		echo "#   want: $(printf '%s' "$want" | sed -n '1,20p' | tr '\n' '|')"
		echo "#   got:  $(printf '%s' "$got" | sed -n '1,20p' | tr '\n' '|')"
	fi
}
# has "message" "extended regex" "text": passes when a line of the text matches
has() { text_matches "$1" "$3" grep -qE -- "$2"; }
# has_lines "message" "perl regex" "text": the same over the whole text at
# once, where \n matches a line end (output whose lines must come in order)
has_lines() { text_matches "$1" "$3" grep -Pzq -- "$2"; }
# text_matches "message" "text" matcher...: passes when the matcher accepts the text
text_matches() {
	local msg=$1 text=$2
	shift 2
	if printf '%s\n' "$text" | "$@"; then
		ok 0 "$msg"
	else
		ok 1 "$msg"
		printf '%s\n' "$text" | tail -8 | sed 's/^/#   /'
	fi
}
# skip "reason" "message": a check this machine cannot run (a kernel
# feature or a tool missing), TAP's "# SKIP", counted apart by tests/run.sh
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $2 # SKIP $1"
}
# skip_all "reason": the whole test cannot run here; TAP's empty plan, and exit
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
# gw_require COMMAND...: skip the whole test unless every command is installed
gw_require() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
	done
}
# gw_user_db useradd|userdel|groupadd|groupdel ARG...: the command, tried
# again while another test (another checkout's, too) holds the lock on
# /etc/passwd or /etc/group; any other failure is returned at once.
gw_user_db() {
	local try out rc
	for try in $(seq 50); do
		out=$("$@" 2>&1)
		rc=$?
		case "$rc:$out" in
		0:*) return 0 ;;
		*"cannot lock"*) sleep 0.1 ;;
		*)
			[ -n "$out" ] && printf '%s\n' "$out" >&2
			return "$rc"
			;;
		esac
	done
	printf '%s\n' "$out" >&2
	return "$rc"
}
# The unprivileged user greywalld's tarpit drops to (deploy/greywall.sysusers on real systems).
# Two tests may make it at once: the one that finds it made by the other is content.
gw_tarpit_user() {
	id greywall >/dev/null 2>&1 ||
		gw_user_db useradd --system --no-create-home --shell /usr/sbin/nologin greywall ||
		id greywall >/dev/null 2>&1
}
# gw_setup_tarpit: gw_setup_net, the tarpit's user, and $ETC (in $GW_RUN)
# with a spamtraps file that lists trap@example.org
gw_setup_tarpit() {
	gw_setup_net || return 1
	gw_tarpit_user || return 1
	ETC=$GW_RUN/etc
	mkdir -p "$ETC" && echo "trap@example.org" >"$ETC/spamtraps"
}
# gw_spamd_config "spamd lines" ["lines before the spamd block"]: the config
# of a tarpit on 192.0.2.1 port 8025 named mx.example.org that sends whole
# replies (greystutter 0s, maxblack 0: dialogues take no minutes), scans the
# greylist every second and traps $ETC/spamtraps (gw_setup_tarpit)
gw_spamd_config() {
	gw_write_config "$2
spamd {
	listen 192.0.2.1 port 8025
	hostname \"mx.example.org\"
	scan-interval 1s
	greystutter 0s
	maxblack 0
	spamtraps file \"$ETC/spamtraps\"
$1
}"
}
# The tarpit child of this test's greywalld (exec'd with its state dir's empty root), or nothing.
gw_tarpit_pid() { pgrep -f -- "--tarpit-child $GW_RUN/" | head -1; }
# refute command...: succeeds when the command fails (for use with check)
refute() { ! "$@"; }
# ev "shell condition" "message": eval the condition, one TAP line
ev() {
	eval "$1" >/dev/null 2>&1
	ok $? "$2"
}
tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

gw() { ip netns exec "$GW_NS" "$@"; }
cl() { ip netns exec "$GW_CLIENT" "$@"; }
ctl() { "$GW_BIN/greywallctl" -s "$GW_SOCK" "$@"; }

# listens gw|cl PORT: something listens on TCP PORT in that namespace
# (ss itself succeeds either way: wait_for needs a command that can fail)
listens() { [ -n "$("$1" ss -Hltn "sport = :$2")" ]; }

# wait_for SECONDS command...: poll until the command succeeds; the one way
# a test waits for something to happen (a fixed sleep only where the time
# that passes is itself what is tested)
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

gw_cleanup() {
	set +e
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill -9 "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
	# Whatever runs with this test's config (greywalld, its tarpit child) ends here.
	pkill -9 -f -- "-f $GW_CONF" 2>/dev/null
	if [ -f "$GW_CONF" ]; then
		gw "$GW_BIN/greywalld" -f "$GW_CONF" --detach >/dev/null 2>&1
	fi
	for job in $(jobs -p); do kill "$job" 2>/dev/null; done
	# Servers started with `gw CMD &` outlive their subshell: end all that run in the namespaces.
	for pid in $(ip netns pids "$GW_NS" 2>/dev/null) $(ip netns pids "$GW_CLIENT" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	ip netns del "$GW_NS" 2>/dev/null
	ip netns del "$GW_CLIENT" 2>/dev/null
	umount "$GW_BPFFS" 2>/dev/null
	rm -rf "$GW_RUN"
}

gw_setup_net() {
	trap gw_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$GW_RUN/state" "$GW_BPFFS"
	mount -t bpf bpf "$GW_BPFFS" || return 1
	ip netns add "$GW_NS" || return 1
	ip netns add "$GW_CLIENT" || return 1
	ip link add veth0 netns "$GW_NS" type veth peer name veth1 netns "$GW_CLIENT" || return 1
	gw ip link set lo up
	cl ip link set lo up
	gw ip addr add 192.0.2.1/24 dev veth0
	gw ip addr add 2001:db8::1/64 dev veth0 nodad
	cl ip addr add 192.0.2.10/24 dev veth1
	cl ip addr add 192.0.2.66/24 dev veth1
	for a in 198.51.100.7 198.51.100.8 203.0.113.9 203.0.113.200; do
		cl ip addr add $a/32 dev veth1
	done
	cl ip addr add 2001:db8::10/64 dev veth1 nodad
	cl ip addr add 2001:db8:bad::7/128 dev veth1 nodad
	cl ip addr add 2001:db8:beef::9/128 dev veth1 nodad
	gw ip link set veth0 up
	cl ip link set veth1 up
	gw ip route add 198.51.100.0/24 dev veth0
	gw ip route add 203.0.113.0/24 dev veth0
	gw ip -6 route add 2001:db8:bad::/48 dev veth0
	gw ip -6 route add 2001:db8:beef::/48 dev veth0
	cl ip route add default dev veth1 src 192.0.2.10
	cl ip -6 route add default dev veth1
}

# gw_write_config "extra config lines"
gw_write_config() {
	cat >"$GW_CONF" <<CONF
set interface veth0
set state-dir "$GW_RUN/state"
set bpf-dir "$GW_BPFFS/greywall"
set control-socket "$GW_SOCK"
set dump-dir "$GW_RUN/pub"
set contact "postmaster@example.org"
$1
CONF
}

# GW_WRAP, when set: a command (and its arguments) greywalld is started under,
# such as setpriv with the unit's capability bounding set; it must exec greywalld.
gw_start() {
	# ip itself, not the gw function: `ip netns exec` execs greywalld, so $! is its pid.
	# shellcheck disable=SC2086 # GW_WRAP is split into its words on purpose.
	ip netns exec "$GW_NS" ${GW_WRAP:-} "$GW_BIN/greywalld" -d -f "$GW_CONF" \
		>>"$GW_RUN/greywalld.log" 2>&1 &
	GW_PID=$!
	wait_for 20 ctl status || {
		echo "# greywalld did not become ready:"
		sed 's/^/#   /' "$GW_RUN/greywalld.log" | tail -20
		return 1
	}
}

gw_stop() { # signal
	[ -n "$GW_PID" ] || return 0
	kill "-${1:-TERM}" "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
	GW_PID=
}

# connect SRC DST [PORT]: exit 0 when a TCP connection from SRC succeeds
connect() { cl "$GW_TOOLS/gwnet" connect "$1" "$2" "${3:-8080}" 700; }
# blocked SRC DST [PORT]: exit 0 when the connection times out (dropped)
blocked() {
	cl "$GW_TOOLS/gwnet" connect "$1" "$2" "${3:-8080}" 700
	[ $? -eq 2 ]
}
