#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make install as a packager runs it (DESTDIR, PREFIX=/usr): exactly the
# expected files with their modes, a unit that names /usr/sbin/greywalld,
# tmpfiles.d and sysusers.d entries that systemd-tmpfiles and
# systemd-sysusers apply to an empty root, and a make uninstall that takes
# it all away again. An install into a real PREFIX then gives a unit that
# systemd-analyze verify accepts, its commands being there.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/gw.sh
gw_require systemd-analyze systemd-sysusers systemd-tmpfiles

TMP=$(mktemp -d "/tmp/$GW_ID-install.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/dest

make --no-print-directory install DESTDIR="$DEST" PREFIX=/usr >"$TMP/make.log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr succeeds"
[ $? -eq 0 ] || sed 's/^/#   /' "$TMP/make.log" | tail -20

# Mode and path of every file, with what the tree says should be there.
want=$({
	for b in greywalld greywallctl; do echo "755 /usr/sbin/$b"; done
	for o in bpf/*.bpf.c; do
		o=${o#bpf/}
		echo "644 /usr/lib/greywall/${o%.c}.o"
	done
	for m in man/*.[0-9]; do echo "644 /usr/share/man/man${m##*.}/${m#man/}"; done
	echo "644 /usr/lib/systemd/system/greywalld.service"
	echo "644 /usr/lib/tmpfiles.d/greywall.conf"
	echo "644 /usr/lib/sysusers.d/greywall.conf"
} | sort)
check_output "the installed files and their modes" "$want" \
	sh -c "cd '$DEST' && find . -type f -printf '%m %P\n' | sed 's| | /|' | sort"
check "no file is written outside DESTDIR/usr" \
	test "$(find "$DEST" -mindepth 1 -maxdepth 1)" = "$DEST/usr"

UNIT=$DEST/usr/lib/systemd/system/greywalld.service
out=$(grep -E '^Exec' "$UNIT")
has "ExecStart names /usr/sbin/greywalld" '^ExecStart=/usr/sbin/greywalld -d$' "$out"
has "ExecStartPre names /usr/sbin/greywalld" '^ExecStartPre=/usr/sbin/greywalld -n$' "$out"
check "no /usr/local is left in the installed unit" refute grep -q /usr/local "$UNIT"
check_output "the installed unit differs from deploy/ in the binary paths only" "" \
	sh -c "sed 's|/usr/local/sbin/|/usr/sbin/|g' deploy/greywalld.service | diff - '$UNIT'"
check_output "the man pages are installed unchanged" "" \
	sh -c "for m in man/*.[0-9]; do cmp \"\$m\" '$DEST/usr/share/man/'man\${m##*.}/\${m#man/}; done"

# The tmpfiles and sysusers entries applied to an empty root: the
# directories greywalld writes to and the user its tarpit child drops to.
ROOT=$TMP/root
mkdir -p "$ROOT/etc" "$ROOT/run" "$ROOT/var/lib"
systemd-sysusers --root="$ROOT" "$DEST/usr/lib/sysusers.d/greywall.conf" >"$TMP/sysusers.log" 2>&1
ok $? "systemd-sysusers applies the sysusers.d file"
check "it makes the user greywall the tarpit child drops to" grep -q '^greywall:' "$ROOT/etc/passwd"
systemd-tmpfiles --root="$ROOT" --create "$DEST/usr/lib/tmpfiles.d/greywall.conf" \
	>"$TMP/tmpfiles.log" 2>&1
ok $? "systemd-tmpfiles applies the tmpfiles.d file"
modes=$(cd "$ROOT" && stat -c '%a %U %n' run/greywall var/lib/greywall var/lib/greywall/pub \
	var/lib/greywall/empty 2>&1)
check_output "the run, state, dump and chroot directories, their modes and owner" \
	"755 root run/greywall
751 root var/lib/greywall
755 root var/lib/greywall/pub
555 root var/lib/greywall/empty" echo "$modes"

make --no-print-directory uninstall DESTDIR="$DEST" PREFIX=/usr >"$TMP/make.log" 2>&1
ok $? "make uninstall succeeds"
check_output "make uninstall leaves no file behind" "" find "$DEST" -type f

# Installed where the commands really are, the unit passes systemd's checks.
make --no-print-directory install PREFIX="$TMP/prefix" >"$TMP/make.log" 2>&1
ok $? "make install PREFIX=<a directory> succeeds"
UNIT=$TMP/prefix/lib/systemd/system/greywalld.service
has "its unit names that prefix's greywalld" "^ExecStart=$TMP/prefix/sbin/greywalld -d$" \
	"$(grep '^ExecStart=' "$UNIT")"
out=$(systemd-analyze verify --man=no "$UNIT" 2>&1)
ok $? "systemd-analyze verify accepts the installed unit${out:+: $out}"
tap_done
