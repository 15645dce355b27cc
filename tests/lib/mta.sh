# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Real MTAs for the integration tests: private Postfix instances started
# inside the namespaces of gw.sh (source it first), and swaks run from a
# chosen client address. Nothing here touches the host's /etc/postfix or a
# system MTA: every instance has its own configuration, queue, data and log
# under $GW_RUN/postfix-NAME, and there is no DNS; next hops are IP literals.
#
#   mta_start NAME NETNS ADDR... [-- PARAM=VALUE...]   start an instance
#   mta_stop NAME                                      stop it (also at exit)
#   mta_running NAME                                   its master is up
#   mta_send FROM TO SUBJECT                           inject into $MTA_SENDER
#   mta_wait_delivered USER PATTERN SECONDS            poll USER's mailbox
#   mta_log NAME                                       the instance's log
#   swaks_run SRC SERVER [SWAKS-ARGS...]               transcript on stdout
#   swaks_reply COMMAND < transcript                   the code that answered
#   swaks_expect COMMAND CODE < transcript             succeeds when it is CODE

MTA_MAIL=$GW_RUN/mail
# Local parts that exist on an instance with a mydestination; each one's mail
# is appended to the mbox file $MTA_MAIL/<user>.
MTA_USERS=${MTA_USERS:-postmaster alice bob}
# The instance mta_send injects into.
MTA_SENDER=${MTA_SENDER:-sender}
MTA_NAMES=()

mta_dir() { echo "$GW_RUN/postfix-$1"; }

# An instance that resolves nothing (no DNS, no reverse lookups, next hops
# are IP literals), logs to its own file, and retries deferred mail every
# second or two, so that a greylisted message is retried within seconds of
# passtime rather than after Postfix's default five minutes.
mta_write_main_cf() { # dir name addr...
	local dir=$1 name=$2 interfaces aliases="" user
	shift 2
	interfaces=$(IFS=,; echo "${*:-loopback-only}")
	for user in $MTA_USERS; do
		aliases="$aliases${aliases:+, }$user=$MTA_MAIL/$user"
	done
	cat >"$dir/conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
meta_directory = /etc/postfix
myhostname = $name.example
mydomain = example
myorigin = \$myhostname
mydestination =
inet_interfaces = $interfaces
inet_protocols = all
mynetworks_style = host
maillog_file = $dir/maillog
maillog_file_prefixes = $GW_RUN
syslog_name = postfix-$name
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
alias_maps = inline:{ $aliases }
alias_database =
local_recipient_maps = \$alias_maps
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
CONF
}

# One line per service, chroot off: the queue lives under /run and the
# instance must not depend on files copied into a jail.
mta_write_master_cf() { # dir listen
	{
		[ "$2" = yes ] && echo "smtp      inet  n - n - -    smtpd"
		cat <<'CONF'
pickup    unix  n - n 60 1   pickup
cleanup   unix  n - n - 0    cleanup
qmgr      unix  n - n 300 1  qmgr
rewrite   unix  - - n - -    trivial-rewrite
bounce    unix  - - n - 0    bounce
defer     unix  - - n - 0    bounce
trace     unix  - - n - 0    bounce
verify    unix  - - n - 1    verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - -    proxymap
proxywrite unix - - n - 1    proxymap
smtp      unix  - - n - -    smtp
relay     unix  - - n - -    smtp
showq     unix  n - n - -    showq
error     unix  - - n - -    error
retry     unix  - - n - -    error
discard   unix  - - n - -    discard
local     unix  - n n - -    local
anvil     unix  - - n - 1    anvil
scache    unix  - - n - 1    scache
postlog   unix-dgram n - n - 1 postlogd
CONF
	} >"$dir/conf/master.cf"
}

# The master writes its pid right-aligned in a fixed-width field.
mta_master_pid() { tr -d ' ' 2>/dev/null <"$(mta_dir "$1")/queue/pid/master.pid"; }

# mta_start NAME NETNS ADDR... [-- PARAM=VALUE...]: a Postfix instance whose
# smtpd listens on the addresses (none: no listener, a pure sender), with
# postconf settings on top, e.g. mydestination=example.org for a final
# destination, or "transport_maps=inline:{ example.org=smtp:[192.0.2.1]:25 }".
mta_start() {
	local name=$1 netns=$2 dir addrs=() listen=no
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		addrs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	dir=$(mta_dir "$name")
	[ ${#addrs[@]} -gt 0 ] && listen=yes
	mkdir -p "$dir/conf" "$dir/queue" "$dir/data" "$MTA_MAIL" || return 1
	chown postfix "$dir/data" || return 1
	mta_write_main_cf "$dir" "$name" "${addrs[@]}"
	mta_write_master_cf "$dir" "$listen"
	# postconf checks inet_interfaces against the interfaces it sees.
	if [ $# -gt 0 ]; then
		ip netns exec "$netns" postconf -c "$dir/conf" -e "$@" || return 1
	fi
	# local(8) writes to mailbox files named in aliases as default_privs.
	chown "$(ip netns exec "$netns" postconf -c "$dir/conf" -h default_privs)" "$MTA_MAIL" ||
		return 1
	echo "$netns" >"$dir/netns"
	MTA_NAMES+=("$name")
	trap 'mta_stop_all; gw_cleanup' EXIT
	mta_postfix "$name" start >>"$dir/start.log" 2>&1 || {
		echo "# postfix $name did not start:"
		sed 's/^/#   /' "$dir/start.log" "$dir/maillog" 2>/dev/null | tail -20
		return 1
	}
}

mta_postfix() { # name postfix-args...: the postfix(1) command for the instance
	local dir
	dir=$(mta_dir "$1")
	shift
	ip netns exec "$(cat "$dir/netns")" postfix -c "$dir/conf" "$@"
}

# mta_running NAME: asks the master's lock, which a zombie no longer holds.
mta_running() { mta_postfix "$1" status >/dev/null 2>&1; }

# postfix stop waits for the master and its children to go and kills the
# whole process group after five seconds; the fallback is for a namespace
# that has gone already.
mta_stop() { # name
	local pid
	pid=$(mta_master_pid "$1")
	[ -n "$pid" ] || return 0
	mta_postfix "$1" stop >/dev/null 2>&1 || kill -KILL -- "-$pid" 2>/dev/null
	rm -f "$(mta_dir "$1")/queue/pid/master.pid"
}

mta_stop_all() {
	local name
	for name in "${MTA_NAMES[@]}"; do
		mta_stop "$name"
	done
}

# mta_send FROM TO SUBJECT: submit a message through the sender instance's
# sendmail(1), as a local program would.
mta_send() {
	local dir
	dir=$(mta_dir "$MTA_SENDER")
	printf 'From: <%s>\nTo: <%s>\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@%s.example>\n\n%s\n' \
		"$1" "$2" "$3" "$(date -R)" "$(date +%s%N)" "$RANDOM" "$MTA_SENDER" \
		"greywall test message: $3" |
		sendmail -C "$dir/conf" -i -f "$1" -- "$2"
}

mta_mailbox_has() { grep -q -- "$2" "$MTA_MAIL/$1" 2>/dev/null; }

# mta_wait_delivered USER PATTERN SECONDS: succeeds once USER's mailbox holds
# a line matching PATTERN (a grep regular expression).
mta_wait_delivered() { wait_for "$3" mta_mailbox_has "$1" "$2"; }

mta_log() { cat "$(mta_dir "$1")/maillog" 2>/dev/null; }

# swaks_run SRC SERVER [ARGS...]: one SMTP dialogue from the client namespace
# bound to SRC; later ARGS override the defaults. The transcript is printed
# and also kept in $GW_RUN/swaks.last for a failing test to show.
swaks_run() {
	local src=$1 server=$2
	shift 2
	cl swaks --local-interface "$src" --server "$server" --port 25 \
		--helo client.example.net --from sender@example.net --to alice@example.org \
		--timeout 20 "$@" 2>&1 | tee "$GW_RUN/swaks.last"
	return "${PIPESTATUS[0]}"
}

# swaks_reply COMMAND: reads a transcript and prints the code of the reply to
# the first client line that starts with COMMAND ("RCPT TO", "DATA", "." for
# the end of the message, "" for the greeting).
swaks_reply() {
	awk -v cmd="$1" '
		BEGIN { want = (cmd == "") }
		/^ *-> / && !want {
			line = $0
			sub(/^ *-> /, "", line)
			head = toupper(substr(line, 1, length(cmd)))
			rest = substr(line, length(cmd) + 1, 1)
			if (head == toupper(cmd) && (rest == "" || rest ~ /[ :]/))
				want = 1
			next
		}
		want && /^<[-*~]+ / { print $2; exit }'
}

swaks_expect() { # command code
	[ "$(swaks_reply "$1")" = "$2" ]
}
