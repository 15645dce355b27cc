#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# The Debian package as an operator gets it: make deb builds it, lintian
# finds nothing that is not overridden with a reason, apt-get installs it
# (offline: its dependencies are this machine's), the files are in place,
# postinst made the user and the directories and started nothing, and
# greywalld -n passes on the shipped config. The installed greywalld, run
# with the shipped config, leaves its programs attached and its maps
# pinned when stopped; an upgrade (a reinstall) keeps them; a remove whose
# detach fails (a broken config) is refused with the package kept; a
# remove detaches them and unpins everything; a purge leaves nothing of
# greywall behind.
#
# It installs into the real system, so it runs in a mount and network
# namespace of its own: a bpffs of its own on /sys/fs/bpf (the shipped
# config's bpf-dir and libxdp's pins) and a veth named eth0 (the shipped
# config's interface). Nothing it installs is started; the package is
# purged also when a check fails. It skips when greywall is installed on
# this machine otherwise (not this test's to remove).
cd "$(dirname "$0")/../.." || exit 1
if [ -z "${GW_DEB_UNSHARED:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
	command -v unshare >/dev/null || { echo "1..0 # SKIP unshare is not installed"; exit 0; }
	GW_DEB_UNSHARED=1 exec unshare --mount --net --propagation private bash "$0" "$@"
fi
. tests/lib/gw.sh
gw_require dpkg-buildpackage dh lintian apt-get systemd-sysusers bpftool
# gw.sh points libxdp and greywallctl at a test's private bpffs and socket:
# this test is about the defaults, and dpkg's scripts inherit the environment.
unset LIBXDP_BPFFS GREYWALL_SOCKET

PKG_FILES="/usr/sbin/greywalld /usr/sbin/greywallctl /etc/greywall /var/lib/greywall
/run/greywall /lib/systemd/system/greywalld.service /usr/lib/tmpfiles.d/greywall.conf
/usr/lib/sysusers.d/greywall.conf /usr/lib/greywall /usr/share/doc/greywall"
if dpkg-query -W -f='${db:Status-Abbrev}' greywall 2>/dev/null | grep -q '^[a-z]i'; then
	skip_all "a greywall package is installed on this machine"
fi
for f in $PKG_FILES; do
	[ -e "$f" ] && skip_all "$f exists on this machine (not this test's)"
done

TMP=$(mktemp -d "/tmp/$GW_ID-deb.XXXXXX") || exit 1
APT=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
DAEMON_PID=
CONF=/etc/greywall/greywall.conf
installed() { dpkg-query -W -f='${db:Status-Abbrev}' greywall 2>/dev/null | grep -q '^.i'; }
cleanup() {
	set +e
	if [ -n "$DAEMON_PID" ]; then
		kill -9 "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if installed || dpkg-query -W greywall >/dev/null 2>&1; then
		# A config this test broke would stop prerm's detach, and so the purge.
		[ -d /etc/greywall ] && cp deploy/greywall.conf "$CONF"
		"${APT[@]}" purge greywall >>"$TMP/cleanup.log" 2>&1 ||
			echo "# cleanup: apt-get purge greywall failed: $(tail -3 "$TMP/cleanup.log")"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This namespace's own bpffs, loopback and eth0.
mount -t bpf bpf /sys/fs/bpf || skip_all "cannot mount a bpffs"
ip link set lo up
ip link add eth0 type veth peer name gwdebpeer || exit 1
ip link set eth0 up && ip link set gwdebpeer up
ip addr add 192.0.2.1/24 dev eth0
NETNS_INO=$(stat -L -c %i /proc/self/ns/net)

# The build: the tree again, with two CPUs and no tests (~1 min).
DEB_BUILD_OPTIONS="parallel=2 nocheck" make --no-print-directory deb >"$TMP/deb.log" 2>&1
ok $? "make deb builds the package"
VERSION=$(cat VERSION)
DEB=$PWD/.output/deb/greywall_${VERSION}_$(dpkg --print-architecture).deb
check "it is $DEB" test -f "$DEB"
[ -f "$DEB" ] || { sed 's/^/#   /' "$TMP/deb.log" | tail -20; tap_done; exit 1; }
check "the source tree has no debian/ directory" test ! -e debian
check_output "the package's version is VERSION's" "$VERSION" dpkg-deb -f "$DEB" Version
has "its Depends come from dpkg-shlibdeps (libxdp1, libbpf1) and sysusers" \
	'libxdp1 .*systemd \| systemd-standalone-sysusers' "$(dpkg-deb -f "$DEB" Depends)"

# lintian: errors and warnings fail; what remains is overridden with a reason
# in deploy/debian/greywall.lintian-overrides.
lintian --fail-on error,warning "$DEB" >"$TMP/lintian.log" 2>&1
ok $? "lintian finds no error or warning$(grep -v 'running with root privileges' \
	"$TMP/lintian.log" | tr '\n' ' ' | sed 's/^./: &/')"
check_output "lintian has no tag at all left, info and pedantic ones too" "" \
	sh -c "lintian -I --pedantic '$DEB' 2>&1 | grep -v 'running with root privileges'"

"${APT[@]}" install "$DEB" >"$TMP/install.log" 2>&1
ok $? "apt-get install ./greywall_${VERSION}_*.deb"
installed || { sed 's/^/#   /' "$TMP/install.log" | tail -20; tap_done; exit 1; }

want="755 /usr/sbin/greywalld
755 /usr/sbin/greywallctl
644 /etc/greywall/greywall.conf
644 /lib/systemd/system/greywalld.service
644 /usr/lib/tmpfiles.d/greywall.conf
644 /usr/lib/sysusers.d/greywall.conf"
for m in man/*.[0-9]; do want="$want
644 /usr/share/man/man${m##*.}/${m#man/}.gz"; done
check_output "the binaries, config, unit, tmpfiles, sysusers and man pages with their modes" \
	"$want" sh -c "echo '$want' | while read -r mode path; do stat -c '%a %n' \"\$path\"; done"
check "the config is deploy/greywall.conf" cmp deploy/greywall.conf "$CONF"
has "it is a conffile" "^ $CONF [0-9a-f]+$" "$(dpkg-query -W -f='${Conffiles}\n' greywall)"
has "the unit runs /usr/sbin/greywalld" '^ExecStart=/usr/sbin/greywalld -d$' \
	"$(cat /lib/systemd/system/greywalld.service)"
check "postinst made the user greywall (sysusers)" id greywall
modes=$(stat -c '%a %U %n' /run/greywall /var/lib/greywall /var/lib/greywall/pub \
	/var/lib/greywall/empty 2>&1)
check_output "postinst made the run, state, dump and chroot directories (tmpfiles)" \
	"755 root /run/greywall
751 root /var/lib/greywall
755 root /var/lib/greywall/pub
555 root /var/lib/greywall/empty" echo "$modes"
check "the unit is not enabled" \
	sh -c '! ls /etc/systemd/system/*.wants/greywalld.service 2>/dev/null | grep -q .'
check_output "nothing of the package runs" "" pgrep -f '^/usr/sbin/greywalld'
check_output "greywalld --version is the package's" "greywalld $VERSION" /usr/sbin/greywalld --version
check_output "the man pages name that version" "" \
	sh -c "grep -H '^\.TH' man/*.[0-9] | grep -v '\"greywall $VERSION\"'"
out=$(/usr/sbin/greywalld -n -f "$CONF" 2>&1)
ok $? "greywalld -n passes on the shipped config${out:+: $out}"

# prerm's detach must not fail on a config whose interface is gone (greywalld(8), --detach).
sed -e 's/^set interface eth0$/set interface gwdebgone0/' "$CONF" >"$TMP/gone.conf"
echo 'set bpf-dir "/sys/fs/bpf/gwdebgone"' >>"$TMP/gone.conf"
out=$(/usr/sbin/greywalld --detach -f "$TMP/gone.conf" 2>&1)
ok $? "greywalld --detach skips an interface that is gone: $out"

# The installed greywalld with the shipped config, on this namespace's eth0.
/usr/sbin/greywalld -d -f "$CONF" >"$TMP/greywalld.log" 2>&1 &
DAEMON_PID=$!
if ! wait_for 30 /usr/sbin/greywallctl status; then
	echo "# greywalld did not become ready:"
	sed 's/^/#   /' "$TMP/greywalld.log" | tail -20
fi
check "greywalld runs with the shipped config" /usr/sbin/greywallctl status
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
DAEMON_PID=
# attached: XDP on eth0 (libxdp's dispatcher), TC egress, the pins, the sk_lookup link
attached() {
	ip -d link show eth0 | grep -q 'prog/xdp' &&
		[ -n "$(tc filter show dev eth0 egress)" ] &&
		[ -n "$(ls /sys/fs/bpf/greywall 2>/dev/null)" ] &&
		bpftool -j link show | grep -q "\"netns_ino\":$NETNS_INO"
}
# detached: none of it left (bpftool's netns links: this namespace's only)
detached() {
	! ip -d link show eth0 | grep -q 'prog/xdp' &&
		[ -z "$(tc filter show dev eth0 egress)" ] &&
		[ ! -e /sys/fs/bpf/greywall ] &&
		! bpftool -j link show | grep -q "\"netns_ino\":$NETNS_INO"
}
check "stopped, greywalld leaves XDP, TC, the pins and the sk_lookup link in place" attached

"${APT[@]}" install --reinstall "$DEB" >"$TMP/upgrade.log" 2>&1
ok $? "apt-get install --reinstall (an upgrade: prerm upgrade, postinst configure)"
check "enforcement survives the upgrade" attached

echo "this is not greywall.conf" >>"$CONF"
"${APT[@]}" remove greywall >"$TMP/remove.log" 2>&1
ok $(($? == 0)) "apt-get remove fails while prerm cannot detach (a broken config)"
has "prerm says why and what to do" "could not detach greywall's programs and pins" \
	"$(cat "$TMP/remove.log")"
check "the package stays installed" installed
check "and enforcement stays attached" attached
cp deploy/greywall.conf "$CONF"

"${APT[@]}" remove greywall >"$TMP/remove.log" 2>&1
ok $? "apt-get remove greywall"
check "prerm detached XDP, TC, the pins and the sk_lookup link" detached
check "the binaries are gone" test ! -e /usr/sbin/greywalld -a ! -e /usr/sbin/greywallctl
check "the conffile and the state stay until purge" test -f "$CONF" -a -d /var/lib/greywall

"${APT[@]}" purge greywall >"$TMP/purge.log" 2>&1
ok $? "apt-get purge greywall"
check "dpkg knows no greywall" refute dpkg-query -W greywall
left=$(for f in $PKG_FILES $(dpkg-deb -c "$DEB" | awk '{print substr($6, 2)}' |
	grep -E 'greywall|greywalld'); do
	[ -e "$f" ] && echo "$f"
done)
check_output "no file of greywall is left (binaries, config, state, run directory, man pages)" \
	"" echo "$left"
check_output "no systemd state of greywalld is left" "" \
	sh -c 'ls -d /var/lib/systemd/deb-systemd-helper-*/greywalld* /etc/systemd/system/*/greywalld* 2>/dev/null'
check "and nothing attached" detached
tap_done
