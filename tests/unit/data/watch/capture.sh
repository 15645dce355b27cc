#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# Captures the daemons' own lines that dovecot.log and sshd.log were made
# from: a real Dovecot and sshd (tests/lib/daemons.sh) in a namespace, real
# clients failing and succeeding from another, injection attempts included.
# Prints the raw log files' paths; README here says what is made of them.
#
#   tests/unit/data/watch/capture.sh OUTDIR
set -u
cd "$(dirname "$0")/../../../.."
. tests/lib/daemons.sh
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/gwpat.XXXXXX)
# Dovecot's auth and mail processes run as the dovecot user.
chmod 755 "$tmp"
ns_s=gwpats$$ ns_c=gwpatc$$
cleanup() {
	dovecot_stop "$tmp/dovecot"
	sshd_stop "$tmp/sshd"
	ip netns del "$ns_s" 2>/dev/null
	ip netns del "$ns_c" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns_s" && ip netns add "$ns_c" || exit 1
ip -n "$ns_s" link add gwp0 type veth peer name gwp1 netns "$ns_c"
ip -n "$ns_s" link set lo up; ip -n "$ns_c" link set lo up
ip -n "$ns_s" link set gwp0 up; ip -n "$ns_c" link set gwp1 up
ip -n "$ns_s" addr add 192.0.2.1/24 dev gwp0
ip -n "$ns_s" addr add 2001:db8::1/64 dev gwp0 nodad
ip -n "$ns_c" addr add 198.51.100.9/24 dev gwp1
ip -n "$ns_c" addr add 2001:db8:1::9/64 dev gwp1 nodad
ip -n "$ns_s" route add 198.51.100.0/24 dev gwp0
ip -n "$ns_c" route add 192.0.2.0/24 dev gwp1
ip -n "$ns_s" route add 2001:db8:1::/64 dev gwp0
ip -n "$ns_c" route add 2001:db8::/64 dev gwp1

mkdir -p "$tmp/dovecot" "$tmp/sshd"
# "::" listens on a v6 socket that also takes IPv4: the daemon then sees
# (and may log) an IPv4-mapped source.
dovecot_start "$ns_s" "$tmp/dovecot" "$out/dovecot.raw" 192.0.2.1 2001:db8::1 || exit 1
sshd_start "$ns_s" "$tmp/sshd" "$out/sshd.raw" 2222 192.0.2.1 2001:db8::1 || exit 1
sleep 0.5

ip netns exec "$ns_c" python3 - <<'PY'
import poplib, imaplib, base64, socket, time
def pop(host, user, pw):
    try:
        p = poplib.POP3(host, 110, timeout=30)
        p.user(user)
        p.pass_(pw)
        p.quit()
    except Exception as e:
        try: p.quit()
        except Exception: pass
def imap_login(host, user, pw):
    try:
        m = imaplib.IMAP4(host, 143, timeout=30)
        m.login(user, pw)
        m.logout()
    except Exception:
        try: m.logout()
        except Exception: pass
def imap_plain(host, user, pw):
    # By hand: the name may hold any byte, which base64 carries.
    s = socket.create_connection((host, 143), timeout=30)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'a AUTHENTICATE PLAIN\r\n')
    f.readline()
    s.sendall(base64.b64encode(('\0%s\0%s' % (user, pw)).encode()) + b'\r\n')
    f.readline()
    s.sendall(b'b LOGOUT\r\n')
    f.readline(); f.readline()
    s.close()
def imap_login_raw(host, user, pw):
    # imaplib sends a name with spaces unquoted: a quoted string by hand.
    s = socket.create_connection((host, 143), timeout=30)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'a LOGIN "%s" "%s"\r\nb LOGOUT\r\n' % (user.encode(), pw.encode()))
    f.readline(); f.readline(); f.readline()
    s.close()
def pop_two_fails(host, user):
    p = poplib.POP3(host, 110, timeout=30)
    for pw in ('bad1', 'bad2'):
        try:
            p.user(user); p.pass_(pw)
        except Exception: pass
    p.sock.close()
def pop_connect_only(host):
    p = poplib.POP3(host, 110, timeout=30); p.quit()
for host in ('192.0.2.1', '2001:db8::1'):
    pop(host, 'alice', 'secret')
    pop(host, 'alice', 'wrong')
    pop(host, 'luochun', 'wrong')
    imap_login(host, 'alice', 'secret')
    imap_login(host, 'bob', 'wrong')
    imap_plain(host, 'carol', 'wrong')
    imap_plain(host, 'alice', 'secret')
    pop_two_fails(host, 'dave')
    pop_connect_only(host)
# injections
pop('192.0.2.1', 'x rip=192.0.2.77', 'wrong')
pop('192.0.2.1', 'x>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc', 'wrong')
imap_login_raw('192.0.2.1', 'x rip=192.0.2.77', 'wrong')
imap_plain('192.0.2.1', 'x>, method=PLAIN, rip=192.0.2.77, lip=192.0.2.1, session=<abc', 'wrong')
imap_plain('192.0.2.1', 'y\nrip=192.0.2.77', 'wrong')
time.sleep(0.5)
PY

askpass=$tmp/askpass
printf '#!/bin/sh\necho wrong-password\n' >"$askpass"
chmod 755 "$askpass"
sshtry() { # host user [opts]
	local host=$1 user=$2
	shift 2
	SSH_ASKPASS=$askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		timeout 10 ip netns exec "$ns_c" ssh -p 2222 -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o NumberOfPasswordPrompts=1 \
		-o PreferredAuthentications=password -o PubkeyAuthentication=no \
		"$@" -l "$user" "$host" true </dev/null >/dev/null 2>&1
}
for host in 192.0.2.1 2001:db8::1; do
	sshtry "$host" luochun
	sshtry "$host" root
	sshtry "$host" 'x from 192.0.2.77 port 22'
	# BatchMode: no password at all, the connection closes in preauth.
	timeout 10 ip netns exec "$ns_c" ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -l nosuchuser "$host" true </dev/null >/dev/null 2>&1
	timeout 10 ip netns exec "$ns_c" ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -i "$(sshd_client_key "$tmp/sshd")" -l root \
		"$host" true </dev/null >/dev/null 2>&1
done
sleep 0.5
echo "$out/dovecot.raw $out/sshd.raw"
