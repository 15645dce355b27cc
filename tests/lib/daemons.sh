# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Real login daemons for the log watchers' tests and benchmarks: Debian 12's
# Dovecot (pop3 and imap) and OpenSSH's sshd, each from a private
# configuration in a directory the caller owns, listening inside a network
# namespace the caller made, logging to a file the caller names. Nothing here
# reads or changes /etc/dovecot or /etc/ssh, and no system user is added.
#
#   dovecot_start NETNS DIR LOG ADDR...   pop3 on 110, imap on 143 at each ADDR
#   dovecot_stop DIR                      stop it (waits for every process)
#   sshd_start NETNS DIR LOG PORT ADDR... sshd on PORT at each ADDR
#   sshd_stop DIR                         stop it
#   sshd_client_key DIR                   the private key sshd_start authorized
#
# NETNS  a namespace that exists (ip netns add), where the daemon runs.
# DIR    an empty directory (under a mktemp -d), the daemon's configuration,
#        keys, sockets and pid file; one daemon of each kind per DIR. Dovecot's
#        auth and mail processes run as the dovecot user: DIR's parents must
#        be searchable by it (mktemp -d makes 0700: chmod 755 it).
# LOG    the log file: Dovecot's log_path ("Dec 07 07:30:01 pop3-login:
#        Info: ..."), sshd's -E file ("Invalid user x from A port P": no
#        time stamp, no "sshd[pid]: ", each line ending in CR LF, as OpenSSH
#        logs to stderr). Both daemons append.
# ADDR   addresses of NETNS to listen on; IPv6 ones without brackets.
#
# Dovecot has one user, $DOVECOT_USER with password $DOVECOT_PASS (default
# alice / secret), in a passwd-file passdb, plaintext logins allowed without
# TLS (a test network), auth_verbose=yes as a site that reads its logs runs
# it. sshd accepts passwords (PasswordAuthentication yes, UsePAM no: any
# password of an account without one in /etc/shadow fails) and, for any
# account, the key sshd_client_key prints, so a test can log in successfully.
#
# The stop functions are safe to call twice and on a DIR whose daemon never
# started; callers put them in their EXIT trap, beside their namespace's
# removal.
#
# Dovecot slows failed logins down twice, which makes a test that fails
# many logins from one source slow: auth_failure_delay (2 s by default)
# before it answers a failed login, and the auth penalty, a delay per
# source IP that doubles with each failure from it (2, 4, 8 s, at most
# 15 s). A test that counts failures, not waits, sets
#   DOVECOT_FAILURE_DELAY   auth_failure_delay (default Dovecot's 2 secs)
#   DOVECOT_PENALTY=no      no auth penalty (default yes, Dovecot's): the
#                           anvil-auth-penalty listener is not made, which
#                           is how Dovecot's documentation turns it off
# before dovecot_start. Neither changes what Dovecot logs.

DOVECOT_USER=${DOVECOT_USER:-alice}
DOVECOT_PASS=${DOVECOT_PASS:-secret}
DOVECOT_FAILURE_DELAY=${DOVECOT_FAILURE_DELAY:-2 secs}
DOVECOT_PENALTY=${DOVECOT_PENALTY:-yes}

# Wait up to about five seconds for a pid file to name a live process.
daemons_wait_pid() { # pidfile
	local i pid
	for i in $(seq 50); do
		pid=$(cat "$1" 2>/dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Stop the process a pid file names and wait for it (a daemon that gets
# TERM stops its children first), killing it after about five seconds.
daemons_stop_pid() { # pidfile
	local i pid
	pid=$(cat "$1" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$1"
}

dovecot_start() {
	local netns=$1 dir=$2 log=$3 listen
	shift 3
	listen=$(IFS=,; echo "$*")
	mkdir -p "$dir/run" "$dir/mail" || return 1
	chmod 755 "$dir" "$dir/run" || return 1
	chown dovecot "$dir/mail" || return 1
	touch "$log" || return 1
	# {PLAIN}: a test password; a site would use a hashed scheme.
	echo "$DOVECOT_USER:{PLAIN}$DOVECOT_PASS" >"$dir/users"
	chmod 644 "$dir/users"
	cat >"$dir/dovecot.conf" <<CONF
protocols = pop3 imap
listen = $listen
base_dir = $dir/run
instance_name = dovecot-$(basename "$dir")
log_path = $log
info_log_path = $log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = $DOVECOT_FAILURE_DELAY
mail_location = mbox:$dir/mail/%u:INBOX=$dir/mail/%u/inbox
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/mail/%u
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
}
CONF
	if [ "$DOVECOT_PENALTY" = no ]; then
		cat >>"$dir/dovecot.conf" <<CONF
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
CONF
	fi
	ip netns exec "$netns" dovecot -c "$dir/dovecot.conf" || return 1
	daemons_wait_pid "$dir/run/master.pid"
}

dovecot_stop() { # dir
	daemons_stop_pid "$1/run/master.pid"
}

sshd_start() {
	local netns=$1 dir=$2 log=$3 port=$4 addr opts=()
	shift 4
	mkdir -p "$dir" || return 1
	# Debian's sshd is built with /run/sshd as its privilege separation
	# directory, which no sshd made here since nothing runs at boot.
	mkdir -p /run/sshd && chmod 755 /run/sshd || return 1
	[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" || return 1
	[ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" ||
		return 1
	cp "$dir/client_key.pub" "$dir/authorized_keys"
	chmod 755 "$dir"
	chmod 644 "$dir/authorized_keys"
	for addr in "$@"; do
		opts+=(-o "ListenAddress=[$addr]:$port")
	done
	: >"$dir/sshd_config"
	ip netns exec "$netns" /usr/sbin/sshd -f "$dir/sshd_config" -E "$log" \
		-o "HostKey=$dir/host_key" -o "PidFile=$dir/sshd.pid" \
		-o PasswordAuthentication=yes -o KbdInteractiveAuthentication=no \
		-o UsePAM=no -o PermitRootLogin=prohibit-password -o StrictModes=no \
		-o "AuthorizedKeysFile=$dir/authorized_keys" -o UseDNS=no \
		-o MaxStartups=100 -o LogLevel=INFO "${opts[@]}" || return 1
	daemons_wait_pid "$dir/sshd.pid"
}

sshd_stop() { # dir
	daemons_stop_pid "$1/sshd.pid"
}

sshd_client_key() { echo "$1/client_key"; }
