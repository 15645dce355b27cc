#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make checks the build's Debian packages before it builds anything
# (deploy/check-deps.sh, the Makefile's BUILD_NEEDS): silent on this
# machine, where they are installed; with a file missing (a root, DEPS_ROOT,
# that lacks it) or a command missing (a PATH without it), make stops with
# one message naming exactly the missing packages and how to install them,
# before a compiler runs and before make install copies anything.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/gw.sh

# Run by make check, the makes below would be sub-makes ("make[1]: ***",
# the outer make's jobserver): they run as a user's make does.
unset MAKELEVEL MAKEFLAGS MFLAGS

TMP=$(mktemp -d "/tmp/$GW_ID-check-deps.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

out=$(make -s --no-print-directory check-deps 2>&1)
ok $? "make check-deps passes on this machine${out:+: $out}"
check_output "and says nothing" "" echo "$out"

# The Makefile's own lists, PACKAGE:WHAT each: the build's, and make deb's.
needs=$(make -s --no-print-directory --eval 'gw-print-needs: ; @echo $(BUILD_NEEDS)' \
	gw-print-needs)
deb_needs=$(make -s --no-print-directory --eval 'gw-print-needs: ; @echo $(DEB_NEEDS)' \
	gw-print-needs)
has "BUILD_NEEDS names libxdp-dev's header" '(^| )libxdp-dev:/usr/include/xdp/libxdp.h( |$)' \
	"$needs"

# A root with every file of the lists but libxdp-dev's.
ROOT=$TMP/root
for need in $needs $deb_needs; do
	what=${need#*:}
	case "$need" in libxdp-dev:*) continue ;; esac
	case "$what" in /*) mkdir -p "$ROOT$(dirname "$what")" && touch "$ROOT$what" ;; esac
done
out=$(make -s --no-print-directory check-deps DEPS_ROOT="$ROOT" 2>&1)
ok $(($? == 0)) "make check-deps fails with libxdp-dev's header missing"
check_output "the message names libxdp-dev alone, make build-deps and apt-get install" \
	"greywall: the build needs Debian packages that are not installed: libxdp-dev
Install them as root with 'make build-deps' (or: apt-get install libxdp-dev), then run make again.
make: *** [Makefile:$(grep -n '^check-deps:' Makefile | cut -d: -f1 | awk '{print $1 + 1}'): check-deps] Error 1" \
	echo "$out"

# Nothing there at all: every file package is named once, in the list's order.
want=$(for need in $needs; do
	case "${need#*:}" in /*) echo "${need%%:*}" ;; esac
done | awk '!seen[$0]++' | tr '\n' ' ')
out=$(make -s --no-print-directory check-deps DEPS_ROOT="$TMP/empty" 2>&1)
has "an empty root: every package with a file in the list is named" \
	"not installed: ${want% }$" "$out"

# A PATH without clang (the commands the Makefile itself runs are there).
mkdir -p "$TMP/bin"
for c in cat uname sed cc gcc; do
	ln -s "$(command -v "$c")" "$TMP/bin/$c" || exit 1
done
out=$(PATH=$TMP/bin "$(command -v make)" -s --no-print-directory check-deps 2>&1)
ok $(($? == 0)) "make check-deps fails with no clang in PATH"
has "and names clang alone" '^greywall: the build needs Debian packages that are not installed: clang$' \
	"$out"

# make itself stops there: no compiler runs, make install copies nothing.
make --no-print-directory -j2 all DEPS_ROOT="$ROOT" >"$TMP/make.log" 2>&1
ok $(($? == 0)) "make all fails with libxdp-dev's header missing"
check "and stops before compiling anything" refute grep -qE '^  (CC|BPF|BINARY|TEST) ' "$TMP/make.log"
has "with the message" 'not installed: libxdp-dev$' "$(cat "$TMP/make.log")"
make --no-print-directory install DESTDIR="$TMP/dest" DEPS_ROOT="$ROOT" >"$TMP/make.log" 2>&1
ok $(($? == 0)) "make install fails with libxdp-dev's header missing"
check "and installs nothing" test ! -e "$TMP/dest"
make --no-print-directory deb DEPS_ROOT="$ROOT" >"$TMP/make.log" 2>&1
ok $(($? == 0)) "make deb fails with libxdp-dev's header missing"
has "with the message" 'not installed: libxdp-dev$' "$(cat "$TMP/make.log")"

out=$(./deploy/check-deps.sh libxdp-dev 2>&1)
ok $(($? != 2)) "an argument without :WHAT is refused (exit 2)${out:+: $out}"
tap_done
